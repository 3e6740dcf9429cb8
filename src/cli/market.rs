//! `snarkml contracts | model | infer`: the model registry and pay-per-verified-inference.

use super::human::{ether, hash, utc, word};
use super::print;
use super::{block_on, timed_predicted, RpcOpts};
use crate::artifacts::BuildDir;
use crate::chain::escrow::{self, ModelEntry, RequestEntry};
use crate::deployments::Contract;
use crate::pipeline::{self, market};
use crate::stored::Stored;
use alloy::primitives::{Address, U256};
use clap::{Args, Subcommand};
use serde_json::json;
use snarkml_circuits::fixed_point::field_to_hex;
use std::path::PathBuf;

/// `snarkml contracts`.
#[derive(Debug, Subcommand)]
pub enum ContractsCmd {
    /// Deploy a ModelRegistry, and an InferenceEscrow and an AuditBounty bound to it.
    #[command(
        after_help = "Examples:\n  snarkml contracts deploy\n  snarkml contracts deploy --rpc-url https://rpc.example --private-key $KEY --json"
    )]
    Deploy {
        #[command(flatten)]
        rpc: RpcOpts,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `snarkml model`.
#[derive(Debug, Subcommand)]
pub enum ModelCmd {
    /// Register a build's model (its deployed verifier and verifying-key hash).
    #[command(
        after_help = "Examples:\n  snarkml deploy build/\n  snarkml model register build/ --metadata-uri ipfs://…"
    )]
    Register {
        /// Build directory (after `snarkml deploy`, unless --verifier is given).
        build: PathBuf,
        /// The ModelRegistry [default: the one `contracts deploy` recorded for this chain].
        #[arg(long, env = "SNARKML_REGISTRY")]
        registry: Option<String>,
        /// The model's IVerifier [default: the one in BUILD/deployment.json].
        #[arg(long)]
        verifier: Option<String>,
        /// Where the model is described.
        #[arg(long, default_value = "")]
        metadata_uri: String,
        #[command(flatten)]
        rpc: RpcOpts,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a registered model.
    #[command(after_help = "Examples:\n  snarkml model show 1")]
    Show {
        /// The model id.
        id: u64,
        /// The ModelRegistry [default: the one `contracts deploy` recorded for this chain].
        #[arg(long, env = "SNARKML_REGISTRY")]
        registry: Option<String>,
        #[command(flatten)]
        rpc: RpcOpts,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Options every `infer` command shares.
#[derive(Debug, Args)]
pub struct EscrowOpts {
    /// The InferenceEscrow [default: the one `contracts deploy` recorded for this chain].
    #[arg(long, env = "SNARKML_ESCROW")]
    escrow: Option<String>,
    #[command(flatten)]
    rpc: RpcOpts,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl EscrowOpts {
    /// The InferenceEscrow: `--escrow` / `SNARKML_ESCROW`, else the recorded one.
    fn address(&self, cfg: &crate::chain::ChainConfig) -> eyre::Result<Address> {
        super::contract_address(self.escrow.as_deref(), Contract::Escrow, "--escrow", cfg)
    }
}

/// `snarkml infer`.
#[derive(Debug, Subcommand)]
pub enum InferCmd {
    /// Write a request's input file: the values of INPUT with a fresh random salt for every
    /// hashed input of the build. Give the file to the provider only: with it, anyone can
    /// open the input's commitment.
    #[command(after_help = "Examples:\n  snarkml infer salt build/ --input x.json -o in.json")]
    Salt {
        /// The model's build directory (compiled with --inputs hashed).
        build: PathBuf,
        /// The input values (an input file; salts it already has are kept).
        #[arg(long)]
        input: PathBuf,
        /// The salted input file to write (never overwritten).
        #[arg(short, long)]
        out: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Open a request for a registered model on an input, escrowing the fee.
    #[command(
        after_help = "Examples:\n  snarkml infer request build/ --model 1 --input in.json --fee 0.01ether --ttl 3600"
    )]
    Request {
        /// The model's build directory (its compiled model and keys' hash).
        build: PathBuf,
        /// The registered model.
        #[arg(long)]
        model: u64,
        /// Input file; a hashed input needs its salt in "salts".
        #[arg(long)]
        input: PathBuf,
        /// The fee: wei, or a number with `gwei` or `ether`.
        #[arg(long)]
        fee: String,
        /// Seconds until the deadline.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        #[command(flatten)]
        escrow: EscrowOpts,
    },
    /// Prove a request's inference and submit it; the model's owner is credited the fee.
    #[command(
        after_help = "Examples:\n  snarkml infer fulfill 1 build/ --input in.json -o proof.json"
    )]
    Fulfill {
        /// The request id.
        id: u64,
        /// The model's build directory (after `setup`).
        build: PathBuf,
        /// The request's input file.
        #[arg(long)]
        input: PathBuf,
        /// Proof file: used if it exists, else written.
        #[arg(short, long, default_value = "proof.json")]
        out: PathBuf,
        #[command(flatten)]
        escrow: EscrowOpts,
    },
    /// Show a request.
    #[command(after_help = "Examples:\n  snarkml infer show 1")]
    Show {
        /// The request id.
        id: u64,
        #[command(flatten)]
        escrow: EscrowOpts,
    },
    /// Credit an expired, unfulfilled request's fee back to its requester.
    #[command(after_help = "Examples:\n  snarkml infer refund 1")]
    Refund {
        /// The request id.
        id: u64,
        #[command(flatten)]
        escrow: EscrowOpts,
    },
    /// Withdraw everything the escrow credited to the sender.
    #[command(after_help = "Examples:\n  snarkml infer withdraw --private-key $KEY")]
    Withdraw {
        #[command(flatten)]
        escrow: EscrowOpts,
    },
}

/// Parses a fee: an integer number of wei, or a decimal number followed by `wei`, `gwei` or
/// `ether` (`eth`).
pub(crate) fn parse_fee(text: &str) -> eyre::Result<U256> {
    let t = text.trim().to_lowercase();
    let (number, decimals) = [("ether", 18), ("eth", 18), ("gwei", 9), ("wei", 0)]
        .iter()
        .find_map(|(unit, d)| t.strip_suffix(unit).map(|n| (n.trim().to_owned(), *d)))
        .unwrap_or((t.clone(), 0));
    let bad = || eyre::eyre!("invalid fee `{text}`: expected wei, or a number with gwei or ether");
    let (whole, frac) = number.split_once('.').unwrap_or((&number, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
        || frac.len() > decimals
    {
        return Err(bad());
    }
    let digits = format!("{whole}{frac:0<decimals$}");
    U256::from_str_radix(&digits, 10).map_err(|_| bad())
}

pub(super) fn address(text: &str, what: &str) -> eyre::Result<Address> {
    pipeline::parse_address(text).map_err(|e| eyre::eyre!("{what}: {e}"))
}

/// The ModelRegistry: `given` (`--registry` / `SNARKML_REGISTRY`), else the recorded one.
pub(super) fn registry_address(
    given: Option<&str>,
    cfg: &crate::chain::ChainConfig,
) -> eyre::Result<Address> {
    super::contract_address(given, Contract::Registry, "--registry", cfg)
}

fn model_json(m: &ModelEntry) -> serde_json::Value {
    json!({
        "id": m.id,
        "owner": m.owner.to_string(),
        "verifier": m.verifier.to_string(),
        "vk_hash": hash(m.vk_hash),
        "code_hash": hash(m.code_hash),
        "instance_count": m.instance_count,
        "weights_commitment": word(m.weights_commitment),
        "metadata_uri": m.metadata_uri,
    })
}

fn request_json(r: &RequestEntry) -> serde_json::Value {
    json!({
        "id": r.id,
        "requester": r.requester.to_string(),
        "model": r.model_id,
        "fee_wei": r.fee.to_string(),
        "deadline": r.deadline,
        "deadline_utc": utc(r.deadline),
        "status": r.status,
        "input_instances": r.input_count,
        "input_digest": hash(r.input_digest),
    })
}

fn print_model(json_out: bool, m: &ModelEntry) -> eyre::Result<()> {
    print(json_out, model_json(m), || {
        println!("model {}", m.id);
        println!("  owner {}", m.owner);
        println!("  verifier {}", m.verifier);
        println!("  verifying key {}", hash(m.vk_hash));
        println!(
            "  verifier code {} ({} public instances)",
            hash(m.code_hash),
            m.instance_count
        );
        println!("  weights commitment {}", word(m.weights_commitment));
        println!("  metadata {}", m.metadata_uri);
    })
}

fn print_request(json_out: bool, r: &RequestEntry) -> eyre::Result<()> {
    print(json_out, request_json(r), || {
        println!("request {} ({})", r.id, r.status);
        println!("  requester {}", r.requester);
        println!("  model {}", r.model_id);
        println!("  fee {}, deadline {}", ether(r.fee), utc(r.deadline));
        println!(
            "  input: {} instance(s), digest {}",
            r.input_count,
            hash(r.input_digest)
        );
    })
}

impl ContractsCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let ContractsCmd::Deploy { rpc, json: j } = self;
        let cfg = rpc.config()?;
        let m = block_on(escrow::deploy_market(&cfg))?;
        let file = super::record_deployments(
            &cfg,
            &[
                (Contract::Registry, m.registry),
                (Contract::Escrow, m.escrow),
                (Contract::Bounty, m.bounty),
            ],
        )?;
        print(
            j,
            json!({
                "registry": m.registry.to_string(),
                "escrow": m.escrow.to_string(),
                "bounty": m.bounty.to_string(),
                "recorded_in": file.display().to_string(),
            }),
            || {
                println!("ModelRegistry {}", m.registry);
                println!("InferenceEscrow {}", m.escrow);
                println!("AuditBounty {}", m.bounty);
                println!(
                    "recorded in {} (later commands on this chain use them)",
                    file.display()
                );
            },
        )
    }
}

impl ModelCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        match self {
            ModelCmd::Register {
                build,
                registry,
                verifier,
                metadata_uri,
                rpc,
                json: j,
            } => {
                let cfg = rpc.config()?;
                let registry = registry_address(registry.as_deref(), &cfg)?;
                let verifier = verifier.map(|v| address(&v, "--verifier")).transpose()?;
                let build = BuildDir::new(&build);
                let m = block_on(market::register(
                    &build,
                    &cfg,
                    registry,
                    verifier,
                    &metadata_uri,
                ))?;
                print_model(j, &m)
            }
            ModelCmd::Show {
                id,
                registry,
                rpc,
                json: j,
            } => {
                let cfg = rpc.config()?;
                let registry = registry_address(registry.as_deref(), &cfg)?;
                print_model(j, &block_on(escrow::model(&cfg, registry, id))?)
            }
        }
    }
}

impl InferCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        match self {
            InferCmd::Salt {
                build,
                input,
                out,
                json: j,
            } => {
                let salted = market::salt_input(&BuildDir::new(&build), &input, &out)?;
                let commitments: Vec<_> = salted
                    .iter()
                    .map(|s| json!({"input": s.name, "commitment": field_to_hex(&s.commitment)}))
                    .collect();
                print(
                    j,
                    json!({"file": out.display().to_string(), "inputs": commitments}),
                    || {
                        println!(
                            "wrote {}: keep it private; give it to the provider only",
                            out.display()
                        );
                        for s in &salted {
                            println!(
                                "  input `{}` commitment {}",
                                s.name,
                                field_to_hex(&s.commitment)
                            );
                        }
                    },
                )
            }
            InferCmd::Request {
                build,
                model,
                input,
                fee,
                ttl,
                escrow: e,
            } => {
                let cfg = e.rpc.config()?;
                let build = BuildDir::new(&build);
                let req = market::NewRequest {
                    build: &build,
                    escrow: e.address(&cfg)?,
                    model_id: model,
                    input: &input,
                    fee: parse_fee(&fee)?,
                    ttl,
                };
                print_request(e.json, &block_on(market::open_request(&cfg, &req))?)
            }
            InferCmd::Fulfill {
                id,
                build,
                input,
                out,
                escrow: e,
            } => {
                let cfg = e.rpc.config()?;
                let escrow_address = e.address(&cfg)?;
                let build = BuildDir::new(&build);
                let predicted = super::predicted(&build, pipeline::predicted_prove_seconds);
                let (f, secs) = timed_predicted("proving and fulfilling", predicted, || {
                    block_on(market::fulfill(
                        &build,
                        &cfg,
                        escrow_address,
                        id,
                        &input,
                        &out,
                    ))
                })?;
                let outputs: Vec<String> = f.outputs.iter().map(|o| word(*o)).collect();
                // The proof file holds the outputs dequantized, as `verify` shows them.
                let file = snarkml_circuits::io::ProofFile::load(&out)?;
                print(
                    e.json,
                    json!({
                        "id": id,
                        "payee": f.payee.to_string(),
                        "output_instances": outputs,
                        "outputs": super::prove::outputs_json(&file),
                        "gas_used": f.gas_used,
                        "tx": hash(f.tx_hash),
                        "proof": out.display().to_string(),
                    }),
                    || {
                        println!(
                            "request {id} fulfilled in {secs:.1}s; fee credited to {}",
                            f.payee
                        );
                        super::prove::print_outputs(&file);
                        println!("  gas used {}, proof {}", f.gas_used, out.display());
                    },
                )
            }
            InferCmd::Show { id, escrow: e } => {
                let cfg = e.rpc.config()?;
                let escrow_address = e.address(&cfg)?;
                print_request(
                    e.json,
                    &block_on(escrow::request(&cfg, escrow_address, id))?,
                )
            }
            InferCmd::Refund { id, escrow: e } => {
                let cfg = e.rpc.config()?;
                let escrow_address = e.address(&cfg)?;
                let tx = block_on(escrow::refund(&cfg, escrow_address, id))?;
                print(e.json, json!({"id": id, "tx": hash(tx)}), || {
                    println!("request {id} refunded: the fee is credited to its requester (withdraw to collect)");
                })
            }
            InferCmd::Withdraw { escrow: e } => {
                let cfg = e.rpc.config()?;
                let escrow_address = e.address(&cfg)?;
                let amount = block_on(escrow::withdraw(&cfg, escrow_address))?;
                print(e.json, json!({"withdrawn_wei": amount.to_string()}), || {
                    println!("withdrew {}", ether(amount));
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_fee;
    use alloy::primitives::U256;

    #[test]
    fn fees_parse_in_wei_gwei_and_ether() {
        assert_eq!(parse_fee("42").unwrap(), U256::from(42));
        assert_eq!(parse_fee("42wei").unwrap(), U256::from(42));
        assert_eq!(parse_fee("1.5gwei").unwrap(), U256::from(1_500_000_000u64));
        assert_eq!(
            parse_fee("0.01 ether").unwrap(),
            U256::from(10_000_000_000_000_000u64)
        );
        assert_eq!(
            parse_fee("2ETH").unwrap(),
            U256::from(2_000_000_000_000_000_000u128)
        );
        for bad in [
            "",
            "ether",
            "1.5",
            "1e18",
            "-1",
            "0.0000000001gwei",
            "one ether",
        ] {
            let err = parse_fee(bad).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("invalid fee `{bad}`: expected wei, or a number with gwei or ether")
            );
        }
    }
}
