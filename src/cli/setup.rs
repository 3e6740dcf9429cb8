use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use std::path::PathBuf;

/// `snarkml setup`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml setup build/ --srs srs.bin\n  snarkml setup build/            # a development SRS of the build's k, made once and cached"
)]
pub struct SetupCmd {
    /// Build directory (from `snarkml compile`).
    pub build: PathBuf,
    /// The SRS file (from `snarkml srs gen` or `srs import`) [default: the development SRS of
    /// exactly the build's k, made once into $SNARKML_SRS_CACHE or ~/.cache/snarkml/srs]
    #[arg(long)]
    pub srs: Option<PathBuf>,
    /// Print JSON: {build, k, vk_hash, seconds, srs, srs_made, development_srs} (a split
    /// build: {build, segments: [{build, k, vk_hash}], seconds, development_srs}).
    #[arg(long)]
    pub json: bool,
}

impl SetupCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::new(&self.build);
        if build.is_split() {
            return self.run_split(&build);
        }
        let (srs, made) = match self.srs {
            Some(srs) => (srs, None),
            None => {
                let (path, made) =
                    super::timed("sizing the SRS", || pipeline::dev_srs_for(&build))?.0;
                if !self.json {
                    println!(
                        "no --srs: {} the development SRS {} (anyone can forge proofs with it: local anvil only)",
                        if made { "made" } else { "using the cached" },
                        path.display()
                    );
                }
                (path, Some(made))
            }
        };
        let predicted = super::predicted(&build, pipeline::predicted_keygen_seconds);
        let (info, secs) = super::timed_predicted("generating keys", predicted, || {
            pipeline::setup(&build, &srs).map_err(|e| {
                use snarkml_circuits::error::CircuitError;
                match e.downcast_ref::<CircuitError>() {
                    Some(small)
                        if matches!(small.content(), CircuitError::SrsTooSmall { .. }) =>
                    {
                        eyre::eyre!(
                            "{small}: `snarkml srs gen --for {}` makes one of exactly its size (or leave out --srs on a local anvil)",
                            self.build.display()
                        )
                    }
                    _ => e,
                }
            })
        })?;
        let value = serde_json::json!({
            "build": build.root().display().to_string(),
            "k": info.k,
            "vk_hash": info.vk_hash,
            "seconds": secs,
            "srs": srs.display().to_string(),
            "srs_made": made,
            "development_srs": info.srs_insecure,
        });
        super::print(self.json, value, || {
            println!(
                "keys written to {} in {secs:.2}s (k = {}, vk {}…)",
                build.root().display(),
                info.k,
                &info.vk_hash[..16]
            );
            if info.srs_insecure {
                println!("note: the SRS is a development one: fine for a local anvil (chain id 31337), refused elsewhere without --insecure-srs");
            }
        })
    }

    /// Every segment of a split build, each with the SRS given (trimmed to its k) or the
    /// development SRS of its k.
    fn run_split(self, build: &BuildDir) -> eyre::Result<()> {
        let (infos, secs) = super::timed("generating keys of every segment", || {
            pipeline::split::setup_split(build, self.srs.as_deref())
        })?;
        let segments: Vec<_> = infos
            .iter()
            .enumerate()
            .map(|(j, info)| {
                serde_json::json!({
                    "build": build.segment(j).root().display().to_string(),
                    "k": info.k,
                    "vk_hash": info.vk_hash,
                })
            })
            .collect();
        let insecure = infos.iter().any(|i| i.srs_insecure);
        let value = serde_json::json!({
            "build": build.root().display().to_string(),
            "segments": segments,
            "seconds": secs,
            "development_srs": insecure,
        });
        super::print(self.json, value, || {
            println!("keys of {} segments written in {secs:.2}s:", infos.len());
            for (j, info) in infos.iter().enumerate() {
                println!(
                    "  {}: k = {}, vk {}…",
                    build.segment(j).root().display(),
                    info.k,
                    &info.vk_hash[..16]
                );
            }
            if insecure {
                println!("note: the SRS is a development one: fine for a local anvil (chain id 31337), refused elsewhere without --insecure-srs");
            }
        })
    }
}
