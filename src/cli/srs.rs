use crate::pipeline;
use crate::stored::Stored;
use clap::{Args, Subcommand};
use snarkml_circuits::srs::DEV_SEEDS;
use std::path::PathBuf;

/// `snarkml srs …`.
#[derive(Debug, Subcommand)]
pub enum SrsCmd {
    /// Generate a development SRS (INSECURE: its secret is derived from a known seed).
    Gen(SrsGenCmd),
    /// Import a Powers-of-Tau ceremony file (.ptau, snarkjs / Hermez format), checked by pairings.
    Import(SrsImportCmd),
    /// Show what an SRS file holds.
    Info(SrsInfoCmd),
}

/// `snarkml srs import`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml srs import powersOfTau28_hez_final_20.ptau --k 16 -o srs.bin"
)]
pub struct SrsImportCmd {
    /// The .ptau file.
    pub ptau: PathBuf,
    /// Keep 2^k points [default: all the file has].
    #[arg(long)]
    pub k: Option<u32>,
    /// Output file.
    #[arg(short, long, default_value = "srs.bin")]
    pub out: PathBuf,
    /// Print JSON: {path, k, id, development, development_seed, seconds}.
    #[arg(long)]
    pub json: bool,
}

/// `snarkml srs info`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  snarkml srs info srs.bin")]
pub struct SrsInfoCmd {
    /// The SRS file.
    pub srs: PathBuf,
    /// Print JSON: {path, k, id, development, development_seed, seconds}.
    #[arg(long)]
    pub json: bool,
}

/// `snarkml srs gen`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml srs gen --k 12 -o srs.bin\n  snarkml srs gen --for build/ -o srs.bin"
)]
pub struct SrsGenCmd {
    /// log2 of the number of points (the circuit's k, or more).
    #[arg(long, required_unless_present = "for_build")]
    pub k: Option<u32>,
    /// Size it for this compiled build: exactly its k.
    #[arg(long = "for", value_name = "BUILD", conflicts_with = "k")]
    pub for_build: Option<PathBuf>,
    /// Output file.
    #[arg(short, long, default_value = "srs.bin")]
    pub out: PathBuf,
    /// Seed of the secret, below 256: an SRS of these seeds is recognised as a development one
    /// by its points, whatever its file says.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(..DEV_SEEDS))]
    pub seed: u64,
    /// Print JSON: {path, k, id, development, development_seed, seconds}.
    #[arg(long)]
    pub json: bool,
}

/// An SRS file as `--json` shows it.
fn srs_json(
    path: &std::path::Path,
    srs: &snarkml_circuits::srs::Srs,
    secs: Option<f64>,
) -> serde_json::Value {
    serde_json::json!({
        "path": path.display().to_string(),
        "k": srs.k(),
        "id": srs.id(),
        "development": srs.development_seed().is_some() || srs.insecure,
        "development_seed": srs.development_seed(),
        "seconds": secs,
    })
}

impl SrsCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        match self {
            SrsCmd::Import(c) => {
                let (srs, secs) =
                    super::timed("importing", || pipeline::srs_import(&c.ptau, c.k, &c.out))?;
                super::print(c.json, srs_json(&c.out, &srs, Some(secs)), || {
                    println!(
                        "imported {} -> {} (k = {}, {secs:.2}s, id {}); pairing check passed",
                        c.ptau.display(),
                        c.out.display(),
                        srs.k(),
                        &srs.id()[..16]
                    );
                })
            }
            SrsCmd::Info(c) => {
                let srs = snarkml_circuits::srs::Srs::load(&c.srs)?;
                // `insecure` holds when the flag is set or the points are a development seed's.
                let kind = match (srs.development_seed(), srs.insecure) {
                    (Some(seed), _) => {
                        format!("development (INSECURE: secret known, seed {seed})")
                    }
                    (None, true) => "development (INSECURE: secret known)".to_owned(),
                    (None, false) => "ceremony".to_owned(),
                };
                super::print(c.json, srs_json(&c.srs, &srs, None), || {
                    println!(
                        "{}: k = {}, {kind}, id {}",
                        c.srs.display(),
                        srs.k(),
                        srs.id()
                    );
                })
            }
            SrsCmd::Gen(c) => {
                let k = match (c.k, &c.for_build) {
                    (Some(k), _) => k,
                    (None, Some(b)) => {
                        pipeline::compiled_model(&crate::artifacts::BuildDir::new(b))?
                            .layout
                            .k
                    }
                    (None, None) => eyre::bail!("give --k or --for BUILD"),
                };
                let (srs, secs) =
                    super::timed("generating SRS", || pipeline::srs_gen(k, c.seed, &c.out))?;
                super::print(c.json, srs_json(&c.out, &srs, Some(secs)), || {
                    println!(
                        "wrote {} (k = {}, {secs:.2}s, id {})",
                        c.out.display(),
                        srs.k(),
                        &srs.id()[..16]
                    );
                    println!("WARNING: this is a development SRS: its secret comes from seed {}, so anyone can forge proofs against keys made from it. Use it for tests and demos only.", c.seed);
                })
            }
        }
    }
}
