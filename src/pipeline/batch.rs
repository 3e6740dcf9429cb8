//! Batches of inference requests proven as independent jobs, on one machine or fanned out on a
//! cluster (`scripts/ray_audit.py` takes batch plans too): a plan lists every request and
//! groups them into jobs; proving a job is idempotent, so a retried or repeated job redoes only
//! what is missing.
//!
//! ```text
//! proofs/
//!   request-00000.json          the proof of request 0 (as `snarkml prove` writes it)
//!   request-00000.done.json     its receipt: the input's SHA-256 and the verifying key
//! ```
//!
//! A request counts as done when its receipt names the plan's input hash and verifying key and
//! its proof verifies; the receipt is written after the proof, so a job killed half-way leaves
//! the request to be proven again.

use super::{load, BuildDir, BuildProver};
use crate::artifacts::{read_bytes, read_json, write_bytes_atomic};
use crate::stored::Stored;
use eyre::{bail, ensure, Result, WrapErr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use snarkml_circuits::io::{InputFile, ProofFile};
use snarkml_circuits::prover::Transcript;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The format tag of a batch plan.
pub const BATCH_PLAN_FORMAT: &str = "snarkml-batch-plan/1";

/// Every request of a batch, grouped into jobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPlan {
    /// [`BATCH_PLAN_FORMAT`].
    pub format: String,
    /// The model's name.
    pub model: String,
    /// The build directory (absolute).
    pub build: PathBuf,
    /// SHA-256 of the verifying key the proofs are made for.
    pub vk_hash: String,
    /// `keccak256` (proofs for the EVM) or `poseidon` (proofs to aggregate).
    pub transcript: String,
    /// Requests per job (the last job takes the rest).
    pub per_job: usize,
    /// The jobs, in order.
    pub jobs: Vec<BatchJob>,
}

/// One job: requests proven one after the other by one task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchJob {
    /// Its index in the plan.
    pub index: usize,
    /// Its requests.
    pub requests: Vec<BatchRequest>,
}

/// One inference request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// Its index in the batch.
    pub index: usize,
    /// The input file (absolute).
    pub input: PathBuf,
    /// SHA-256 of the input file.
    pub input_sha256: String,
    /// The proof's file name in the output directory.
    pub proof: String,
}

/// What proving one request did.
#[derive(Clone, Debug, Serialize)]
pub struct ProvedRequest {
    /// The request's index in the batch.
    pub index: usize,
    /// The proof file.
    pub proof: PathBuf,
    /// True when a valid proof was already there.
    pub skipped: bool,
    /// Seconds spent proving (0 when skipped).
    pub prove_secs: f64,
}

/// The receipt written beside a finished proof.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Receipt {
    input_sha256: String,
    vk_hash: String,
}

fn sha256_file(path: &Path) -> Result<String> {
    Ok(hex::encode(Sha256::digest(read_bytes(path)?)))
}

fn absolute(path: &Path) -> Result<PathBuf> {
    path.canonicalize()
        .wrap_err_with(|| format!("cannot resolve {}", path.display()))
}

/// Plans proofs of `inputs` by the model of `build` (set up already), `per_job` requests per
/// job. Every input is checked against the model now, so a bad one fails here, by name,
/// rather than in a job on some node.
pub fn plan(
    build: &Path,
    inputs: &[PathBuf],
    per_job: usize,
    transcript: Transcript,
) -> Result<BatchPlan> {
    ensure!(per_job > 0, "--per-job must be at least 1");
    ensure!(!inputs.is_empty(), "give at least one input file to plan");
    let dir = BuildDir::new(build);
    let loaded = load(&dir)?;
    let mut requests = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        let file = InputFile::load(input)?;
        loaded
            .model
            .quantize_inputs(&file.input_data)
            .wrap_err_with(|| format!("{}", input.display()))?;
        requests.push(BatchRequest {
            index,
            input: absolute(input)?,
            input_sha256: sha256_file(input)?,
            proof: format!("request-{index:05}.json"),
        });
    }
    let jobs = requests
        .chunks(per_job)
        .enumerate()
        .map(|(index, r)| BatchJob {
            index,
            requests: r.to_vec(),
        })
        .collect();
    Ok(BatchPlan {
        format: BATCH_PLAN_FORMAT.into(),
        model: loaded.model.name.clone(),
        build: absolute(build)?,
        vk_hash: loaded.info.vk_hash,
        transcript: transcript.name().into(),
        per_job,
        jobs,
    })
}

/// Reads a batch plan.
pub fn load_plan(path: &Path) -> Result<BatchPlan> {
    let value: serde_json::Value = read_json(path)?;
    let format = value["format"].as_str().unwrap_or_default();
    if format != BATCH_PLAN_FORMAT {
        bail!("{}: not a batch plan (format `{format}`)", path.display());
    }
    serde_json::from_value(value)
        .wrap_err_with(|| format!("{}: malformed batch plan", path.display()))
}

fn receipt_path(proof: &Path) -> PathBuf {
    proof.with_extension("done.json")
}

/// True when `proof` is a finished, valid proof of `request` for the plan's key.
fn done(prover: &BuildProver, plan: &BatchPlan, request: &BatchRequest, proof: &Path) -> bool {
    let expected = Receipt {
        input_sha256: request.input_sha256.clone(),
        vk_hash: plan.vk_hash.clone(),
    };
    read_json::<Receipt>(&receipt_path(proof)).is_ok_and(|r| r == expected)
        && ProofFile::load(proof).is_ok_and(|f| f.transcript == plan.transcript)
        && prover.verify(proof).is_ok()
}

/// Proves job `job` of `plan` into `out`, skipping requests already proven (unless `force`).
/// The build and every input must still be the plan's.
pub fn prove_job(
    plan: &BatchPlan,
    job: usize,
    out: &Path,
    force: bool,
) -> Result<Vec<ProvedRequest>> {
    let Some(job) = plan.jobs.get(job) else {
        bail!("there is no job {job}: the plan has {}", plan.jobs.len());
    };
    let transcript = Transcript::from_name(&plan.transcript)
        .ok_or_else(|| eyre::eyre!("the plan names an unknown transcript `{}`", plan.transcript))?;
    // The build's keys are read once for the whole job.
    let prover = BuildProver::load(&BuildDir::new(&plan.build))?;
    if prover.info().vk_hash != plan.vk_hash {
        bail!(
            "{} has other keys than the plan was made for (set up again?)",
            plan.build.display()
        );
    }
    std::fs::create_dir_all(out).wrap_err_with(|| format!("cannot create {}", out.display()))?;
    let mut rows = Vec::with_capacity(job.requests.len());
    for r in &job.requests {
        if sha256_file(&r.input)? != r.input_sha256 {
            bail!(
                "{} changed since the plan was made (request {})",
                r.input.display(),
                r.index
            );
        }
        let proof = out.join(&r.proof);
        if !force && done(&prover, plan, r, &proof) {
            rows.push(ProvedRequest {
                index: r.index,
                proof,
                skipped: true,
                prove_secs: 0.0,
            });
            continue;
        }
        // A stale receipt must not vouch for the proof being replaced.
        std::fs::remove_file(receipt_path(&proof)).ok();
        let start = Instant::now();
        prover.prove(&r.input, &proof, transcript)?;
        let prove_secs = start.elapsed().as_secs_f64();
        let receipt = Receipt {
            input_sha256: r.input_sha256.clone(),
            vk_hash: plan.vk_hash.clone(),
        };
        write_bytes_atomic(&receipt_path(&proof), &serde_json::to_vec(&receipt)?)?;
        rows.push(ProvedRequest {
            index: r.index,
            proof,
            skipped: false,
            prove_secs,
        });
    }
    Ok(rows)
}
