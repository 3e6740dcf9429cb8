use super::{block_on, RpcOpts};
use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use std::path::PathBuf;

/// `snarkml deploy`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml deploy build/\n  snarkml deploy build/ --shared-verifier 0x5FbDB2315678afecb367f032d93F642f64180aa3\n  snarkml deploy build/ --rpc-url https://rpc.example --private-key $KEY"
)]
pub struct DeployCmd {
    /// Build directory (after `snarkml gen-verifier`).
    pub build: PathBuf,
    #[command(flatten)]
    rpc: RpcOpts,
    /// Allow keys from a development SRS on a chain other than a local anvil (chain id 31337):
    /// anyone could forge proofs.
    #[arg(long)]
    pub insecure_srs: bool,
    /// Reusable verifier only: the `Halo2Verifier` already deployed on this chain (by default a
    /// new one is deployed).
    #[arg(long, value_name = "ADDRESS")]
    pub shared_verifier: Option<String>,
    /// Print JSON: the deployment record (BUILD/deployment.json's fields).
    #[arg(long)]
    pub json: bool,
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
    /// Print JSON: {accepted, address, gas_used}.
    #[arg(long)]
    pub json: bool,
}

impl DeployCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::new(&self.build);
        let cfg = self.rpc.config()?;
        let shared = self
            .shared_verifier
            .as_deref()
            .map(pipeline::parse_address)
            .transpose()?;
        let d = block_on(pipeline::deploy(&build, &cfg, self.insecure_srs, shared))?;
        super::print(self.json, serde_json::to_value(&d)?, || {
            println!(
                "verifier deployed on chain {} at {} (IVerifier)",
                d.chain_id, d.verifier
            );
            println!(
                "  verifier {} ({} bytes runtime), deployment gas {}",
                d.raw_verifier, d.raw_runtime_size, d.deploy_gas
            );
            if let (Some(at), Some(hash)) = (&d.vk_artifact, &d.vk_artifact_hash) {
                println!("  verifying-key artifact {at}, keccak 0x{hash}");
            }
        })
    }
}

impl VerifyOnchainCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::new(&self.build);
        let address = pipeline::verifier_address(&build, self.address.as_deref())?;
        let cfg = self.rpc.config()?;
        let verdict = block_on(pipeline::verify_onchain(&build, &self.proof, address, &cfg))?;
        if !verdict.valid {
            eyre::bail!(
                "the on-chain verifier at {address} rejected {}",
                self.proof.display()
            );
        }
        let value = serde_json::json!({
            "accepted": true,
            "address": address.to_string(),
            "gas_used": verdict.gas_used,
        });
        super::print(self.json, value, || {
            let gas = verdict
                .gas_used
                .map(|g| format!(", gas used {g}"))
                .unwrap_or_default();
            println!("proof accepted on-chain by {address}{gas}");
        })
    }
}

/// `snarkml status`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml status\n  snarkml status --rpc-url https://rpc.example --json"
)]
pub struct StatusCmd {
    /// JSON-RPC endpoint [default: a local anvil at http://127.0.0.1:8545].
    #[arg(long, env = "SNARKML_RPC_URL")]
    rpc_url: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl StatusCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        use crate::deployments::{Contract, Deployments, Lookup};
        let url = self
            .rpc_url
            .unwrap_or_else(|| super::DEFAULT_RPC_URL.to_owned());
        let path = Deployments::path();
        let file = Deployments::load(&path)?;
        let (id, genesis) = block_on(crate::chain::chain_identity(&url))?;
        let mut rows = Vec::new();
        for c in Contract::ALL {
            let (address, state) = match file.lookup(id, genesis, c) {
                Lookup::Found(a) => {
                    let code = block_on(crate::chain::code_at(&url, a))?;
                    let state = if code.is_empty() {
                        "no code at this address".to_owned()
                    } else {
                        format!("deployed ({} bytes of code)", code.len())
                    };
                    (Some(a), state)
                }
                Lookup::OtherGenesis => (
                    None,
                    format!("recorded on another chain with this id (a restarted anvil?): run `{}` again", c.deployed_by()),
                ),
                Lookup::Missing => (None, format!("not recorded: `{}`", c.deployed_by())),
            };
            rows.push((c, address, state));
        }
        let others: Vec<&String> = file
            .chains
            .keys()
            .filter(|k| **k != id.to_string())
            .collect();
        super::print(
            self.json,
            serde_json::json!({
                "chain_id": id,
                "genesis": genesis.to_string(),
                "rpc_url": crate::chain::redact_url(&url),
                "deployments_file": path.display().to_string(),
                "contracts": rows.iter().map(|(c, a, state)| serde_json::json!({
                    "contract": c.name(),
                    "address": a.map(|a| a.to_string()),
                    "state": state,
                })).collect::<Vec<_>>(),
                "other_chains": others,
            }),
            || {
                println!(
                    "chain {id} at {} (genesis {genesis})",
                    crate::chain::redact_url(&url)
                );
                println!("deployments file {}", path.display());
                for (c, a, state) in &rows {
                    let a = a.map_or("-".to_owned(), |a| a.to_string());
                    println!("  {:<18} {a:<42} {state}", c.name());
                }
                if !others.is_empty() {
                    let list: Vec<&str> = others.iter().map(|s| s.as_str()).collect();
                    println!("also recorded: chain {}", list.join(", chain "));
                }
            },
        )
    }
}
