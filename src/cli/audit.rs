//! `snarkml audit | bounty`: dataset commitments, sample sizes, and audit bounties.

use super::aggregate::CacheOpts;
use super::human::{ether, hash, utc, word};
use super::market::{address, parse_fee};
use super::print;
use super::{block_on, RpcOpts};
use crate::artifacts::BuildDir;
use crate::chain::bounty::{self, BountyEntry};
use crate::pipeline::aggregate_cost::TreeLoad;
use crate::pipeline::{audit, audit_proof};
use crate::stored::Stored;
use clap::{Args, Subcommand};
use serde_json::json;
use snarkml_circuits::aggregation::DEFAULT_K;
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
    /// Prove the audit's chunks: each proves, for consecutive samples, the model's correct
    /// count and the dataset hash chain's step (chunks are independent jobs: prove some here
    /// with --chunk, others elsewhere, then gather the files in one directory).
    #[command(
        after_help = "Examples:\n  snarkml audit prove --build build/ --dataset models/digits_test.json --srs srs21.bin --chunk-size 225 -o audit/\n  snarkml audit prove --build build/ --dataset data.json --srs srs21.bin --chunk-size 100 --chunk 3 -o audit/"
    )]
    Prove {
        /// An audit plan (after `audit plan`): its build, dataset and chunk size, checked.
        #[arg(
            long,
            conflicts_with = "chunk_size",
            required_unless_present = "chunk_size"
        )]
        plan: Option<PathBuf>,
        /// The model's build directory (compiled with --weights hashed) [default: the plan's].
        #[arg(long, required_unless_present = "plan")]
        build: Option<PathBuf>,
        /// The dataset [default: the plan's].
        #[arg(long, required_unless_present = "plan")]
        dataset: Option<PathBuf>,
        /// SRS file (the one the aggregation will use; it must cover a chunk's k).
        #[arg(long)]
        srs: PathBuf,
        /// Samples per chunk; the last chunk takes the rest.
        #[arg(long)]
        chunk_size: Option<usize>,
        /// Prove only this chunk (0-based; repeat for several) [default: every chunk].
        #[arg(long = "chunk")]
        chunks: Vec<usize>,
        /// Prove again chunks whose proof file is already there and valid [default: skip them].
        #[arg(long)]
        force: bool,
        /// The audit directory to write chunk proofs into.
        #[arg(short, long, default_value = "audit")]
        out: PathBuf,
        #[command(flatten)]
        cache: CacheOpts,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Plan an audit: every chunk's sample range and chain values, for a scheduler to hand out
    /// as independent `audit prove --plan plan.json --chunk J` jobs.
    #[command(
        after_help = "Examples:\n  snarkml audit plan --build build/ --dataset models/digits_test.json -o plan.json   # chunk size chosen\n  snarkml audit plan --build build/ --dataset data.json --machines 8 --max-memory 8GiB -o plan.json\n  snarkml audit plan --build build/ --dataset models/digits_test.json --chunk-size 225 -o plan.json"
    )]
    Plan {
        /// The model's build directory.
        #[arg(long)]
        build: PathBuf,
        /// The dataset.
        #[arg(long)]
        dataset: PathBuf,
        /// Samples per chunk; the last chunk takes the rest [default: the size the cost model
        /// predicts fastest for --machines within --max-memory, proving and aggregating].
        #[arg(long)]
        chunk_size: Option<usize>,
        /// Machines like this one proving chunks in parallel (for choosing the chunk size).
        #[arg(long, default_value_t = 1, conflicts_with = "chunk_size")]
        machines: usize,
        /// Memory of each machine for one chunk proof, e.g. 8GiB (for choosing the chunk size)
        /// [default: no limit].
        #[arg(long, value_parser = super::compile::parse_bytes, conflicts_with = "chunk_size")]
        max_memory: Option<u64>,
        /// `log2` of the aggregation circuit's rows (for choosing the chunk size).
        #[arg(long, default_value_t = 21, conflicts_with = "chunk_size")]
        aggregate_k: u32,
        /// Plan file to write.
        #[arg(short, long)]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Join every chunk proof of an audit directory into one aggregated proof exposing
    /// (C_W, h_0, C_D, n, correct): what `bounty claim` submits.
    #[command(
        after_help = "Examples:\n  snarkml audit aggregate audit/ --build build/ --srs srs21.bin -o aggr/\n  snarkml gen-verifier aggr/ --aggregated && snarkml deploy aggr/"
    )]
    Aggregate {
        /// The audit directory (chunk proofs and their verifying keys).
        dir: PathBuf,
        /// The model's build directory.
        #[arg(long)]
        build: PathBuf,
        /// The SRS the chunks were proven with, with at least 2^k points.
        #[arg(long)]
        srs: PathBuf,
        /// log2 of the aggregation circuit's rows.
        #[arg(long, default_value_t = DEFAULT_K)]
        k: u32,
        #[command(flatten)]
        layout: super::aggregate::LayoutOpts,
        #[command(flatten)]
        steps: super::aggregate::StepOpts,
        /// Aggregation directory to write.
        #[arg(short, long, default_value = "aggr")]
        out: PathBuf,
        #[command(flatten)]
        cache: CacheOpts,
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

impl BountyOpts {
    /// The AuditBounty: `--bounty` / `SNARKML_BOUNTY`, else the recorded one.
    fn address(&self, cfg: &crate::chain::ChainConfig) -> eyre::Result<alloy::primitives::Address> {
        super::contract_address(
            self.bounty.as_deref(),
            crate::deployments::Contract::Bounty,
            "--bounty",
            cfg,
        )
    }
}

/// Options every `bounty` command shares.
#[derive(Debug, Args)]
pub struct BountyOpts {
    /// The AuditBounty [default: the one `contracts deploy` recorded for this chain].
    #[arg(long, env = "SNARKML_BOUNTY")]
    bounty: Option<String>,
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
        after_help = "Examples:\n  snarkml bounty open --model 1 --aggregation aggr/ --build build/ --dataset models/digits_test.json --threshold 0.9 --reward 1ether --ttl 86400"
    )]
    Open {
        /// The registered model (with hashed weights).
        #[arg(long)]
        model: u64,
        /// The verifier of aggregated audit proofs [default: the one `snarkml deploy` recorded
        /// for --aggregation].
        #[arg(long, required_unless_present = "aggregation")]
        verifier: Option<String>,
        /// The aggregation directory whose generated verifier `--verifier` must be exactly
        /// (`audit aggregate`, then `gen-verifier`): its code is compared before the reward
        /// moves.
        #[arg(long, required_unless_present = "unchecked_verifier")]
        aggregation: Option<PathBuf>,
        /// Open the bounty without comparing `--verifier`'s code with a generated one (you
        /// checked it yourself): a verifier that accepts anything would pay the reward for
        /// nothing.
        #[arg(long, conflicts_with = "aggregation")]
        unchecked_verifier: bool,
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
    #[command(after_help = "Examples:\n  snarkml bounty claim 1 aggr/proof.json")]
    Claim {
        /// The bounty id.
        id: u64,
        /// The aggregated audit proof file.
        proof: PathBuf,
        #[command(flatten)]
        opts: BountyOpts,
    },
    /// Credit an expired, unclaimed bounty back to its sponsor.
    #[command(after_help = "Examples:\n  snarkml bounty reclaim 1")]
    Reclaim {
        /// The bounty id.
        id: u64,
        #[command(flatten)]
        opts: BountyOpts,
    },
    /// Show a bounty.
    #[command(after_help = "Examples:\n  snarkml bounty show 1 --json")]
    Show {
        /// The bounty id.
        id: u64,
        #[command(flatten)]
        opts: BountyOpts,
    },
    /// Withdraw everything the bounty contract credited to the sender.
    #[command(after_help = "Examples:\n  snarkml bounty withdraw --private-key $KEY")]
    Withdraw {
        #[command(flatten)]
        opts: BountyOpts,
    },
}

/// The chunk sizes `audit plan` weighed, and the one it took.
fn print_chunk_options(
    options: &[crate::pipeline::audit_chunks::ChunkOption],
    chosen: usize,
    machines: usize,
) {
    println!(
        "chunk sizes (cost model fitted on the project's 2-core machine; {machines} machine(s) proving chunks, aggregation keys cached):"
    );
    println!("  samples  chunks   k   prove/chunk   memory/chunk   aggregate   total");
    for o in options {
        println!(
            "  {:>7}  {:>6}  {:>2}  {:>10.0} s  {:>9.0} MiB  {:>8.0} s  {:>6.0} s{}",
            o.chunk_size,
            o.chunks,
            o.k,
            o.chunk_prove_s,
            o.chunk_memory_bytes / 1048576.0,
            o.aggregate_s,
            o.total_s,
            if o.chunk_size == chosen {
                "  <- chosen"
            } else {
                ""
            }
        );
    }
}

fn print_bounty(json_out: bool, b: &BountyEntry) -> eyre::Result<()> {
    let value = json!({
        "id": b.id,
        "sponsor": b.sponsor.to_string(),
        "status": b.status,
        "model": b.model_id,
        "verifier": b.verifier.to_string(),
        "dataset_commitment": word(b.dataset_commitment),
        "samples": b.samples,
        "threshold": format!("{}/{}", b.threshold.0, b.threshold.1),
        "reward_wei": b.reward.to_string(),
        "deadline": b.deadline,
        "deadline_utc": utc(b.deadline),
    });
    print(json_out, value, || {
        println!("bounty {} ({})", b.id, b.status);
        println!(
            "  sponsor {}, reward {}, deadline {}",
            b.sponsor,
            ether(b.reward),
            utc(b.deadline)
        );
        println!("  model {}, audit verifier {}", b.model_id, b.verifier);
        println!(
            "  dataset {} ({} samples), threshold {}/{}",
            word(b.dataset_commitment),
            b.samples,
            b.threshold.0,
            b.threshold.1
        );
    })
}

/// Proves an audit's chunks with a progress bar (one step per chunk).
fn prove_chunks(req: &audit_proof::AuditProveRequest, json_out: bool) -> eyre::Result<()> {
    let bar = super::progress_bar(0);
    let reports = audit_proof::prove_chunks(req, |stage| {
        if let audit_proof::ChunkStage::Cache(note) = &stage {
            return super::progress_note(&bar, &format!("note: {note}"));
        }
        let Some(b) = &bar else { return };
        match stage {
            audit_proof::ChunkStage::Keygen { samples, k } => b.set_message(format!(
                "generating keys for chunks of {samples} samples (k={k}; cached for next time)"
            )),
            audit_proof::ChunkStage::Prove { chunk, chunks } => {
                if b.length() == Some(0) {
                    let todo = if req.only.is_empty() {
                        chunks
                    } else {
                        req.only.len()
                    };
                    b.set_length(todo as u64);
                } else {
                    b.inc(1);
                }
                b.set_message(format!("proving chunk {chunk} of {chunks}"));
            }
            audit_proof::ChunkStage::Cache(_) => {}
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let reports = reports?;
    let rows: Vec<_> = reports
        .iter()
        .map(|r| {
            json!({
                "chunk": r.file.chunk,
                "chunks": r.file.chunks,
                "first": r.file.first,
                "samples": r.file.samples,
                "correct": r.file.correct,
                "k": r.k,
                "prove_secs": r.prove_secs,
                "skipped": r.skipped,
                "proof": r.path,
            })
        })
        .collect();
    print(json_out, json!({ "chunks": rows }), || {
        for r in &reports {
            if r.skipped {
                println!(
                    "chunk {} of {}: already proven and valid, skipped ({})",
                    r.file.chunk,
                    r.file.chunks,
                    r.path.display()
                );
                continue;
            }
            println!(
                "chunk {} of {}: samples {}..{}, {} correct of {} (k={}, {:.1}s) -> {}",
                r.file.chunk,
                r.file.chunks,
                r.file.first,
                r.file.first + r.file.samples as usize,
                r.file.correct,
                r.file.samples,
                r.k,
                r.prove_secs,
                r.path.display()
            );
        }
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
            AuditCmd::Prove {
                plan,
                build,
                dataset,
                srs,
                chunk_size,
                chunks,
                force,
                out,
                cache,
                json,
            } => {
                let plan = plan.map(|p| audit_proof::load_plan(&p)).transpose()?;
                let (build, dataset, chunk_size) = match &plan {
                    Some(p) => (
                        build.unwrap_or_else(|| p.build.clone()),
                        dataset.unwrap_or_else(|| p.dataset.clone()),
                        p.chunk_size,
                    ),
                    None => (
                        build.expect("clap requires --build without --plan"),
                        dataset.expect("clap requires --dataset without --plan"),
                        chunk_size.expect("clap requires --chunk-size without --plan"),
                    ),
                };
                let req = audit_proof::AuditProveRequest {
                    build,
                    dataset,
                    srs,
                    chunk_size,
                    only: chunks,
                    out,
                    cache: cache.cache(),
                    plan,
                    force,
                };
                prove_chunks(&req, json)
            }
            AuditCmd::Plan {
                build,
                dataset,
                chunk_size,
                machines,
                max_memory,
                aggregate_k,
                out,
                json,
            } => {
                let mut options = Vec::new();
                let chunk_size = match chunk_size {
                    Some(size) => size,
                    None => {
                        let model = crate::pipeline::compiled_model(&BuildDir::new(&build))?;
                        let samples = snarkml_circuits::audit::Dataset::load(&dataset)?
                            .inputs
                            .len();
                        options = crate::pipeline::audit_chunks::options(
                            &model,
                            samples,
                            machines,
                            aggregate_k,
                        )?;
                        let chosen = crate::pipeline::audit_chunks::choose(
                            &options,
                            max_memory.map(|m| m as f64),
                        )
                        .ok_or_else(|| {
                            eyre::eyre!("no chunk size fits --max-memory (even one sample per chunk needs more): give a larger budget")
                        })?;
                        if !json {
                            print_chunk_options(&options, chosen.chunk_size, machines);
                        }
                        chosen.chunk_size
                    }
                };
                let plan = audit_proof::plan(&build, &dataset, chunk_size)?;
                crate::artifacts::write_json(&out, &plan)?;
                print(
                    json,
                    json!({
                        "plan": out.display().to_string(),
                        "samples": plan.samples,
                        "chunks": plan.chunks.len(),
                        "dataset_commitment": plan.dataset_commitment,
                        "chunk_size": plan.chunk_size,
                        "options": options,
                    }),
                    || {
                        println!(
                            "{} samples in {} chunks of {} -> {}",
                            plan.samples,
                            plan.chunks.len(),
                            plan.chunk_size,
                            out.display()
                        );
                        println!("  dataset commitment C_D = {}", plan.dataset_commitment);
                    },
                )
            }
            AuditCmd::Aggregate {
                dir,
                build,
                srs,
                k,
                layout,
                steps,
                out,
                cache,
                json,
            } => {
                if steps.tree {
                    let counts: Vec<usize> = audit_proof::load_chunks(&dir)?
                        .iter()
                        .map(|(_, chunk)| chunk.instances.len())
                        .collect();
                    let expose = audit_proof::AUDIT_EXPOSE.parse()?;
                    let load = TreeLoad::new(&counts, &expose, layout.layout())?;
                    return super::aggregate::print_tree(json, k, &load, steps.machines);
                }
                let req = audit_proof::AuditAggregateRequest {
                    dir,
                    build,
                    srs,
                    k,
                    layout: layout.layout(),
                    cache: cache.cache(),
                    step: steps.step,
                };
                let out = BuildDir::new(&out);
                let made = super::aggregate::with_progress(|p| {
                    audit_proof::aggregate_audit(&req, &out, p)
                })?;
                super::aggregate::print_aggregated(json, &out, &made)
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
                aggregation,
                unchecked_verifier: _,
                build,
                dataset,
                threshold,
                reward,
                ttl,
                opts,
            } => {
                let cfg = opts.rpc.config()?;
                let build = BuildDir::new(&build);
                let aggregation = aggregation.map(BuildDir::new);
                let verifier = match (&verifier, &aggregation) {
                    (Some(v), _) => address(v, "--verifier")?,
                    (None, Some(aggr)) => crate::pipeline::verifier_address(aggr, None)?,
                    (None, None) => unreachable!("clap requires --verifier or --aggregation"),
                };
                let req = audit::BountyRequest {
                    bounty: opts.address(&cfg)?,
                    model_id: model,
                    verifier,
                    aggregation: aggregation.as_ref(),
                    dataset: (&build, &dataset),
                    threshold: audit::parse_threshold(&threshold)?,
                    reward: parse_fee(&reward)?,
                    ttl,
                };
                print_bounty(opts.json, &block_on(audit::open_bounty(&cfg, &req))?)
            }
            BountyCmd::Claim { id, proof, opts } => {
                let cfg = opts.rpc.config()?;
                let b = opts.address(&cfg)?;
                let p = block_on(audit::claim(&cfg, b, id, &proof))?;
                print(
                    opts.json,
                    json!({
                        "id": id,
                        "payee": p.payee.to_string(),
                        "correct": p.correct.to_string(),
                        "gas_used": p.gas_used,
                        "tx": hash(p.tx_hash),
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
                let b = opts.address(&cfg)?;
                let tx = block_on(bounty::reclaim(&cfg, b, id))?;
                print(opts.json, json!({"id": id, "tx": hash(tx)}), || {
                    println!("bounty {id} reclaimed: the reward is credited to its sponsor (withdraw to collect)");
                })
            }
            BountyCmd::Show { id, opts } => {
                let cfg = opts.rpc.config()?;
                let b = opts.address(&cfg)?;
                print_bounty(opts.json, &block_on(bounty::get(&cfg, b, id))?)
            }
            BountyCmd::Withdraw { opts } => {
                let cfg = opts.rpc.config()?;
                let b = opts.address(&cfg)?;
                let amount = block_on(bounty::withdraw(&cfg, b))?;
                print(
                    opts.json,
                    json!({"withdrawn_wei": amount.to_string()}),
                    || {
                        println!("withdrew {}", ether(amount));
                    },
                )
            }
        }
    }
}
