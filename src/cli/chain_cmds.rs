use super::{block_on, RpcOpts};
use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use std::path::PathBuf;

/// `snarkml deploy`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml deploy build/\n  snarkml deploy build/ --rpc-url https://rpc.example --private-key $KEY"
)]
pub struct DeployCmd {
    /// Build directory (after `snarkml gen-verifier`).
    pub build: PathBuf,
    #[command(flatten)]
    rpc: RpcOpts,
    /// Allow a development SRS on a non-local chain (anyone could forge proofs).
    #[arg(long)]
    pub insecure_srs: bool,
}

/// `snarkml verify-onchain`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml verify-onchain build/ proof.json --address 0x5FbDB2315678afecb367f032d93F642f64180aa3"
)]
pub struct VerifyOnchainCmd {
    /// Build directory.
    pub build: PathBuf,
    /// Proof file.
    pub proof: PathBuf,
    /// The deployed IVerifier [default: the one in BUILD/deployment.json].
    #[arg(long)]
    pub address: Option<String>,
    #[command(flatten)]
    rpc: RpcOpts,
}

impl DeployCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::new(&self.build);
        let cfg = self.rpc.config()?;
        let d = block_on(pipeline::deploy(&build, &cfg, self.insecure_srs))?;
        println!(
            "verifier deployed on chain {} at {}",
            d.chain_id, d.verifier
        );
        println!(
            "  raw verifier {} ({} bytes runtime), deployment gas {}",
            d.raw_verifier, d.raw_runtime_size, d.deploy_gas
        );
        Ok(())
    }
}

impl VerifyOnchainCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::new(&self.build);
        let address = match &self.address {
            Some(a) => pipeline::parse_address(a)?,
            None => {
                build.require(&build.deployment(), "deploy")?;
                let d: crate::artifacts::Deployment =
                    crate::artifacts::read_json(&build.deployment())?;
                pipeline::parse_address(&d.verifier)?
            }
        };
        let cfg = self.rpc.config()?;
        let verdict = block_on(pipeline::verify_onchain(&build, &self.proof, address, &cfg))?;
        if !verdict.valid {
            eyre::bail!(
                "the on-chain verifier at {address} rejected {}",
                self.proof.display()
            );
        }
        let gas = verdict
            .gas_used
            .map(|g| format!(", gas used {g}"))
            .unwrap_or_default();
        println!("proof accepted on-chain by {address}{gas}");
        Ok(())
    }
}
