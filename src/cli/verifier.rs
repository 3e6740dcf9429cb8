use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use snarkml_verifier_gen::{VerifierForm, MAX_RUNTIME_SIZE};
use std::path::PathBuf;

/// `snarkml gen-verifier`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml gen-verifier build/ -o contracts/generated/\n  snarkml gen-verifier build/ --reusable\n  snarkml gen-verifier aggr/ --aggregated -o contracts/generated/aggr/"
)]
pub struct GenVerifierCmd {
    /// Build directory (after `snarkml setup`), or aggregation directory (after `snarkml
    /// aggregate`).
    pub build: PathBuf,
    /// Expect an aggregation directory (an aggregation directory is recognised anyway; this
    /// makes a model build directory an error).
    #[arg(long)]
    pub aggregated: bool,
    /// The reusable form: one `Halo2Verifier` for every circuit (deployed once) plus this
    /// circuit's verifying-key artifact and its `Halo2VerifyingKey` [default: one
    /// self-contained verifier for this circuit].
    #[arg(long, conflicts_with = "snark_verifier")]
    pub reusable: bool,
    /// snark-verifier's unrolled verifier behind an adapter (for comparison).
    #[arg(long)]
    pub snark_verifier: bool,
    /// Directory for the Solidity sources and ABI [default: contracts/generated/NAME, NAME
    /// being the build directory's name, so two builds never overwrite each other's].
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Print JSON: {out, seconds, form, verifier_runtime_size, adapter_runtime_size,
    /// vk_artifact_hash, num_instances, over_eip170}.
    #[arg(long)]
    pub json: bool,
}

impl GenVerifierCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::new(&self.build);
        if self.aggregated && !build.is_aggregation() {
            eyre::bail!(
                "{} is not an aggregation directory (no aggregation.json): run `snarkml aggregate` first",
                self.build.display()
            );
        }
        let out = self.out.clone().unwrap_or_else(|| default_out(&self.build));
        let form = if self.reusable {
            VerifierForm::Reusable
        } else if self.snark_verifier {
            VerifierForm::SnarkVerifier
        } else {
            VerifierForm::default()
        };
        let (a, secs) = super::timed("generating verifier", || {
            pipeline::gen_verifier(&build, &out, form)
        })?;
        let over = a.verifier_runtime_size > MAX_RUNTIME_SIZE;
        let value = serde_json::json!({
            "out": out.display().to_string(),
            "seconds": secs,
            "form": form,
            "verifier_runtime_size": a.verifier_runtime_size,
            "adapter_runtime_size": a.adapter_runtime_size,
            "vk_artifact_hash": a.vk_artifact_hash.as_deref().map(|h| format!("0x{h}")),
            "num_instances": a.num_instances,
            "over_eip170": over,
        });
        if self.json {
            return super::print(true, value, || {});
        }
        println!("verifier written to {} in {secs:.2}s", out.display());
        match form {
            VerifierForm::SelfContained => println!(
                "  self-contained Halo2VerifierSingle: runtime {} bytes (EIP-170 limit {MAX_RUNTIME_SIZE}), {} public instances",
                a.verifier_runtime_size, a.num_instances
            ),
            VerifierForm::Reusable => println!(
                "  reusable Halo2Verifier: runtime {} bytes (deployed once); Halo2VerifyingKey {} bytes; verifying-key artifact {} bytes, keccak 0x{}; {} public instances",
                a.verifier_runtime_size,
                a.adapter_runtime_size,
                a.vk_artifact.as_deref().map_or(0, |h| h.len() / 2),
                a.vk_artifact_hash.as_deref().unwrap_or_default(),
                a.num_instances
            ),
            VerifierForm::SnarkVerifier => println!(
                "  snark-verifier's Halo2Verifier runtime {} bytes (EIP-170 limit {MAX_RUNTIME_SIZE}), adapter {} bytes, {} public instances",
                a.verifier_runtime_size, a.adapter_runtime_size, a.num_instances
            ),
        }
        if over {
            println!("WARNING: the verifier exceeds the EIP-170 limit and will not deploy on Ethereum mainnet; use a narrower --width");
        }
        Ok(())
    }
}

/// `contracts/generated/NAME` for the build directory `.../NAME` (`build` for `.` or `/`).
fn default_out(build: &std::path::Path) -> PathBuf {
    let name = std::path::absolute(build)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_owned()))
        .unwrap_or_else(|| "build".into());
    PathBuf::from("contracts/generated").join(name)
}

#[cfg(test)]
mod tests {
    use super::default_out;
    use std::path::PathBuf;

    #[test]
    fn each_build_gets_its_own_default_verifier_directory() {
        let gen = |b: &str| default_out(std::path::Path::new(b));
        assert_eq!(gen("build/"), PathBuf::from("contracts/generated/build"));
        assert_eq!(gen("work/aggr"), PathBuf::from("contracts/generated/aggr"));
        assert_ne!(gen("build"), gen("aggr/"));
    }
}
