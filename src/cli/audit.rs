//! `snarkml audit | bounty`: dataset commitments, sample sizes, and audit bounties.

use super::market::{address, parse_fee, print};
use super::{block_on, RpcOpts};
use crate::artifacts::BuildDir;
use crate::chain::bounty::{self, BountyEntry};
use crate::pipeline::audit;
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;

/// `snarkml audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Commit to a labelled dataset: the Poseidon hash chain over its samples, quantized as the
    /// model's input (prints C_D and the quantized model's correct count).
    #[command(
        after_help = "Examples:\n  snarkml audit commit-dataset models/digits_test.json --build build/\n  snarkml audit commit-dataset data.json --build build/ --json"
    )]
    CommitDataset {
        /// Dataset: {"inputs": [[…], …], "labels": […]}.
        data: PathBuf,
        /// The model's build directory (its input quantization).
        #[arg(long)]
        build: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// How many samples an audit needs (Hoeffding: n = ln(2/δ) / (2ε²), δ = 1 − confidence).
    #[command(
        after_help = "Examples:\n  snarkml audit sample-size --epsilon 0.01 --confidence 0.9"
    )]
    SampleSize {
        /// Largest difference between measured and true accuracy.
        #[arg(long)]
        epsilon: f64,
        /// Probability that the difference is at most epsilon.
        #[arg(long)]
        confidence: f64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Options every `bounty` command shares.
#[derive(Debug, Args)]
pub struct BountyOpts {
    /// The AuditBounty contract.
    #[arg(long)]
    bounty: String,
    #[command(flatten)]
    rpc: RpcOpts,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `snarkml bounty`.
#[derive(Debug, Subcommand)]
pub enum BountyCmd {
    /// Escrow a reward for proof that a registered model reaches an accuracy on a dataset.
    #[command(
        after_help = "Examples:\n  snarkml bounty open --bounty 0x9fE4… --model 1 --verifier 0xCf7E… --build build/ --dataset models/digits_test.json --threshold 0.9 --reward 1ether --ttl 86400"
    )]
    Open {
        /// The registered model (with hashed weights).
        #[arg(long)]
        model: u64,
        /// The verifier of aggregated audit proofs.
        #[arg(long)]
        verifier: String,
        /// The model's build directory (the dataset's quantization).
        #[arg(long)]
        build: PathBuf,
        /// The dataset.
        #[arg(long)]
        dataset: PathBuf,
        /// Accuracy threshold: 0.9, 90% or 9/10.
        #[arg(long)]
        threshold: String,
        /// The reward: wei, or a number with `gwei` or `ether`.
        #[arg(long)]
        reward: String,
        /// Seconds until the deadline.
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
        #[command(flatten)]
        opts: BountyOpts,
    },
    /// Claim a bounty with an aggregated audit proof; the model's owner is credited.
    #[command(after_help = "Examples:\n  snarkml bounty claim 1 aggr/proof.json --bounty 0x9fE4…")]
    Claim {
        /// The bounty id.
        id: u64,
        /// The aggregated audit proof file.
        proof: PathBuf,
        #[command(flatten)]
        opts: BountyOpts,
    },
    /// Credit an expired, unclaimed bounty back to its sponsor.
    #[command(after_help = "Examples:\n  snarkml bounty reclaim 1 --bounty 0x9fE4…")]
    Reclaim {
        /// The bounty id.
        id: u64,
        #[command(flatten)]
        opts: BountyOpts,
    },
    /// Show a bounty.
    #[command(after_help = "Examples:\n  snarkml bounty show 1 --bounty 0x9fE4… --json")]
    Show {
        /// The bounty id.
        id: u64,
        #[command(flatten)]
        opts: BountyOpts,
    },
    /// Withdraw everything the bounty contract credited to the sender.
    #[command(
        after_help = "Examples:\n  snarkml bounty withdraw --bounty 0x9fE4… --private-key $KEY"
    )]
    Withdraw {
        #[command(flatten)]
        opts: BountyOpts,
    },
}

fn print_bounty(json_out: bool, b: &BountyEntry) -> eyre::Result<()> {
    let value = json!({
        "id": b.id,
        "sponsor": b.sponsor.to_string(),
        "status": b.status,
        "model": b.model_id,
        "verifier": b.verifier.to_string(),
        "dataset_commitment": format!("{:#x}", b.dataset_commitment),
        "samples": b.samples,
        "threshold": format!("{}/{}", b.threshold.0, b.threshold.1),
        "reward_wei": b.reward.to_string(),
        "deadline": b.deadline,
    });
    print(json_out, value, || {
        println!("bounty {} ({})", b.id, b.status);
        println!(
            "  sponsor {}, reward {} wei, deadline {}",
            b.sponsor, b.reward, b.deadline
        );
        println!("  model {}, audit verifier {}", b.model_id, b.verifier);
        println!(
            "  dataset {:#x} ({} samples), threshold {}/{}",
            b.dataset_commitment, b.samples, b.threshold.0, b.threshold.1
        );
    })
}

impl AuditCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        match self {
            AuditCmd::CommitDataset { data, build, json } => {
                let c = audit::commit_dataset(&BuildDir::new(&build), &data)?;
                print(json, serde_json::to_value(&c)?, || {
                    println!("dataset commitment C_D = {}", c.commitment);
                    println!(
                        "  {} samples; the quantized model classifies {} correctly ({:.2}%)",
                        c.samples,
                        c.quantized_correct,
                        100.0 * c.quantized_correct as f64 / c.samples as f64
                    );
                })
            }
            AuditCmd::SampleSize {
                epsilon,
                confidence,
                json,
            } => {
                let n = snarkml_circuits::audit::sample_size(epsilon, confidence)?;
                print(
                    json,
                    json!({"epsilon": epsilon, "confidence": confidence, "samples": n}),
                    || {
                        println!(
                            "{n} samples: the measured accuracy is within {epsilon} of the true one with probability {confidence}"
                        );
                    },
                )
            }
        }
    }
}

impl BountyCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        match self {
            BountyCmd::Open {
                model,
                verifier,
                build,
                dataset,
                threshold,
                reward,
                ttl,
                opts,
            } => {
                let cfg = opts.rpc.config()?;
                let build = BuildDir::new(&build);
                let req = audit::BountyRequest {
                    bounty: address(&opts.bounty, "--bounty")?,
                    model_id: model,
                    verifier: address(&verifier, "--verifier")?,
                    dataset: (&build, &dataset),
                    threshold: audit::parse_threshold(&threshold)?,
                    reward: parse_fee(&reward)?,
                    ttl,
                };
                print_bounty(opts.json, &block_on(audit::open_bounty(&cfg, &req))?)
            }
            BountyCmd::Claim { id, proof, opts } => {
                let cfg = opts.rpc.config()?;
                let b = address(&opts.bounty, "--bounty")?;
                let p = block_on(audit::claim(&cfg, b, id, &proof))?;
                print(
                    opts.json,
                    json!({
                        "id": id,
                        "payee": p.payee.to_string(),
                        "correct": p.correct.to_string(),
                        "gas_used": p.gas_used,
                        "tx": format!("{:x}", p.tx_hash),
                    }),
                    || {
                        println!(
                            "bounty {id} paid: {} correct; reward credited to {} (gas {})",
                            p.correct, p.payee, p.gas_used
                        );
                    },
                )
            }
            BountyCmd::Reclaim { id, opts } => {
                let cfg = opts.rpc.config()?;
                let b = address(&opts.bounty, "--bounty")?;
                let tx = block_on(bounty::reclaim(&cfg, b, id))?;
                print(
                    opts.json,
                    json!({"id": id, "tx": format!("{tx:x}")}),
                    || {
                        println!("bounty {id} reclaimed: the reward is credited to its sponsor (withdraw to collect)");
                    },
                )
            }
            BountyCmd::Show { id, opts } => {
                let cfg = opts.rpc.config()?;
                let b = address(&opts.bounty, "--bounty")?;
                print_bounty(opts.json, &block_on(bounty::get(&cfg, b, id))?)
            }
            BountyCmd::Withdraw { opts } => {
                let cfg = opts.rpc.config()?;
                let b = address(&opts.bounty, "--bounty")?;
                let amount = block_on(bounty::withdraw(&cfg, b))?;
                print(
                    opts.json,
                    json!({"withdrawn_wei": amount.to_string()}),
                    || {
                        println!("withdrew {amount} wei");
                    },
                )
            }
        }
    }
}
