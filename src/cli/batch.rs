use super::print;
use crate::pipeline::batch;
use clap::Subcommand;
use serde_json::json;
use snarkml_circuits::prover::Transcript;
use std::path::PathBuf;

/// `snarkml batch`: many inference requests proven as independent jobs.
#[derive(Debug, Subcommand)]
pub enum BatchCmd {
    /// Plan proofs of many inputs, grouped into jobs (each one task on a cluster).
    #[command(
        after_help = "Examples:\n  snarkml batch plan requests/*.json --build build/ --per-job 4 -o plan.json\n  snarkml batch prove --plan plan.json --job 0 -o proofs/\n  .venv-ray/bin/python scripts/ray_audit.py --snarkml target/release/snarkml --plan plan.json --audit proofs/ --cache cache/"
    )]
    Plan {
        /// The input files (as `snarkml prove --input` takes them), in order.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// The model's build directory (set up already).
        #[arg(long)]
        build: PathBuf,
        /// Requests per job; the last job takes the rest.
        #[arg(long, default_value_t = 1)]
        per_job: usize,
        /// Make the proofs with the Poseidon transcript, to aggregate them afterwards.
        #[arg(long)]
        for_aggregation: bool,
        /// Plan file to write.
        #[arg(short, long)]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prove one job of a plan; requests already proven (valid proof, same input and keys)
    /// are skipped.
    Prove {
        /// The plan file.
        #[arg(long)]
        plan: PathBuf,
        /// Which job.
        #[arg(long)]
        job: usize,
        /// Directory of the proofs (shared by every job).
        #[arg(short, long)]
        out: PathBuf,
        /// Prove again even what is already proven.
        #[arg(long)]
        force: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl BatchCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        match self {
            Self::Plan {
                inputs,
                build,
                per_job,
                for_aggregation,
                out,
                json,
            } => {
                let transcript = if for_aggregation {
                    Transcript::Poseidon
                } else {
                    Transcript::Keccak
                };
                let plan = batch::plan(&build, &inputs, per_job, transcript)?;
                crate::artifacts::write_json(&out, &plan)?;
                let requests: usize = plan.jobs.iter().map(|j| j.requests.len()).sum();
                print(
                    json,
                    json!({
                        "plan": out,
                        "requests": requests,
                        "jobs": plan.jobs.len(),
                        "transcript": plan.transcript,
                    }),
                    || {
                        println!(
                            "{requests} requests in {} jobs of {} -> {}",
                            plan.jobs.len(),
                            plan.per_job,
                            out.display()
                        );
                    },
                )
            }
            Self::Prove {
                plan,
                job,
                out,
                force,
                json,
            } => {
                let plan = batch::load_plan(&plan)?;
                let rows = super::stdout_to_stderr(|| batch::prove_job(&plan, job, &out, force))?;
                print(json, json!({ "job": job, "requests": rows }), || {
                    for r in &rows {
                        if r.skipped {
                            println!("request {}: already proven, {}", r.index, r.proof.display());
                        } else {
                            println!(
                                "request {}: proven in {:.2}s, {}",
                                r.index,
                                r.prove_secs,
                                r.proof.display()
                            );
                        }
                    }
                })
            }
        }
    }
}
