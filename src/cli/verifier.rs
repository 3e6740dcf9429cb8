use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use snarkml_verifier_gen::MAX_RUNTIME_SIZE;
use std::path::PathBuf;

/// `snarkml gen-verifier`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml gen-verifier build/ -o contracts/generated/\n  snarkml gen-verifier aggr/ --aggregated -o contracts/generated/aggr/"
)]
pub struct GenVerifierCmd {
    /// Build directory (after `snarkml setup`), or aggregation directory (after `snarkml
    /// aggregate`).
    pub build: PathBuf,
    /// Expect an aggregation directory (an aggregation directory is recognised anyway; this
    /// makes a model build directory an error).
    #[arg(long)]
    pub aggregated: bool,
    /// Directory for the Solidity source and ABI.
    #[arg(short, long, default_value = "contracts/generated")]
    pub out: PathBuf,
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
        let (a, secs) = super::timed("generating verifier", || {
            pipeline::gen_verifier(&build, &self.out)
        })?;
        println!("verifier written to {} in {secs:.2}s", self.out.display());
        println!(
            "  Halo2Verifier runtime {} bytes (EIP-170 limit {MAX_RUNTIME_SIZE}), adapter {} bytes, {} public instances",
            a.verifier_runtime_size, a.adapter_runtime_size, a.num_instances
        );
        if a.verifier_runtime_size > MAX_RUNTIME_SIZE {
            println!("WARNING: the verifier exceeds the EIP-170 limit and will not deploy on Ethereum mainnet; use a narrower --width");
        }
        Ok(())
    }
}
