//! Audit proofs: the dataset is cut into chunks of consecutive samples, each chunk is proven on
//! its own (any chunk, on any machine, in any order), and `audit aggregate` joins the chunk
//! proofs into one aggregated proof exposing `(C_W, h_0, C_D, n, correct)`, the instances the
//! `AuditBounty` contract checks.
//!
//! ```text
//! audit/
//!   chunk-0000.json    chunk proofs (format `snarkml-audit-chunk/1`)
//!   vk-225.bin         the verifying key of chunks of 225 samples (one per chunk size)
//! ```
//!
//! Chunk proving keys are cached under `<cache>/audit/<key>/pk.bin`, the key hashing the
//! compiled model, the chunk size and the SRS.

use super::aggregate::{self, AggregationTarget, InnerSet, Stage};
use super::key_cache::{self, CacheNote, KeyCache};
use super::{compiled_model, Aggregated};
use crate::artifacts::{read_bytes, read_json, write_bytes, BuildDir};
use crate::stored::{SrsFile, Stored};
use eyre::{bail, Result, WrapErr};
use halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use snarkml_circuits::aggregation::Expose;
use snarkml_circuits::audit::chunk::{self, ChunkProofFile};
use snarkml_circuits::audit::{self, Dataset, CHAIN_START};
use snarkml_circuits::fixed_point::field_to_hex;
use snarkml_circuits::halo2_proofs;
use snarkml_circuits::prover::{self, Transcript};
use snarkml_circuits::quantize::CompiledModel;
use snarkml_circuits::srs::Srs;
use snarkml_circuits::G1Affine;
use std::path::{Path, PathBuf};

/// Version of the chunk key cache layout; bump when the chunk circuit changes.
const CACHE_VERSION: &str = "snarkml-audit-chunk-cache/1";
/// The cache's directory of chunk keys.
const CACHE_KIND: &str = "audit";

/// What the aggregated audit proof exposes after the accumulator: `C_W` (equal in every
/// chunk), the chain's start and end (`h_0`, `C_D`), the sample count and the correct count.
pub const AUDIT_EXPOSE: &str = "equal:0,chain:1:2,sum:3,sum:4";

/// What [`prove_chunks`] is asked to do.
#[derive(Clone, Debug)]
pub struct AuditProveRequest {
    /// The model's build directory (compiled with `--weights hashed`).
    pub build: PathBuf,
    /// The dataset.
    pub dataset: PathBuf,
    /// An SRS file large enough for a chunk.
    pub srs: PathBuf,
    /// Samples per chunk (the last chunk takes the rest).
    pub chunk_size: usize,
    /// Prove only these chunks (all when empty).
    pub only: Vec<usize>,
    /// The audit directory to write chunk proofs into.
    pub out: PathBuf,
    /// Where chunk proving keys are cached.
    pub cache: KeyCache,
    /// The plan the chunks must follow (from [`plan`]): the model, the chunking and every
    /// chunk's chain values are checked against it before anything is proven.
    pub plan: Option<AuditPlan>,
    /// Prove again chunks whose proof file is already there and valid (skipped otherwise).
    pub force: bool,
}

/// `format` of an audit plan.
pub const PLAN_FORMAT: &str = "snarkml-audit-plan/1";

/// Every chunk of an audit, decided before any proof: what a scheduler hands out as independent
/// jobs (`audit prove --plan plan.json --chunk J`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPlan {
    /// [`PLAN_FORMAT`].
    pub format: String,
    /// Model name.
    pub model: String,
    /// SHA-256 of the build's `model.json`.
    pub model_sha256: String,
    /// The build directory, as an absolute path (jobs run from anywhere).
    pub build: PathBuf,
    /// The dataset, as an absolute path.
    pub dataset: PathBuf,
    /// `C_D`, the end of the dataset's hash chain, `0x` hex.
    pub dataset_commitment: String,
    /// Samples in the dataset.
    pub samples: usize,
    /// Samples per chunk (the last takes the rest).
    pub chunk_size: usize,
    /// The chunks, in order.
    pub chunks: Vec<PlannedChunk>,
}

/// One chunk of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChunk {
    /// Its index.
    pub index: usize,
    /// Its first sample.
    pub first: usize,
    /// Its sample count.
    pub samples: usize,
    /// The chain value before it, `0x` hex.
    pub h_in: String,
    /// The chain value after it, `0x` hex.
    pub h_out: String,
}

/// A dataset quantized for a build's model, with its hash chain.
struct Quantized {
    model: CompiledModel,
    model_sha256: String,
    samples: Vec<(Vec<i64>, u32)>,
    chain: Vec<snarkml_circuits::Fr>,
}

fn quantize(build: &Path, dataset: &Path) -> Result<Quantized> {
    let dir = BuildDir::new(build);
    let model = compiled_model(&dir)?;
    let model_sha256 = hex::encode(Sha256::digest(read_bytes(&dir.model())?));
    let samples = Dataset::load(dataset)?
        .quantize(&model)
        .wrap_err_with(|| format!("{}", dataset.display()))?;
    let chain = audit::chain(CHAIN_START, &samples, model.inputs[0].pack_bits);
    Ok(Quantized {
        model,
        model_sha256,
        samples,
        chain,
    })
}

fn planned(q: &Quantized, ranges: &[(usize, usize)]) -> Vec<PlannedChunk> {
    ranges
        .iter()
        .enumerate()
        .map(|(index, &(first, end))| PlannedChunk {
            index,
            first,
            samples: end - first,
            h_in: field_to_hex(&q.chain[first]),
            h_out: field_to_hex(&q.chain[end]),
        })
        .collect()
}

/// Plans the audit of `dataset` by the model of `build` in chunks of `chunk_size` samples.
pub fn plan(build: &Path, dataset: &Path, chunk_size: usize) -> Result<AuditPlan> {
    let q = quantize(build, dataset)?;
    let ranges = chunk_ranges(q.samples.len(), chunk_size)?;
    Ok(AuditPlan {
        format: PLAN_FORMAT.into(),
        model: q.model.name.clone(),
        model_sha256: q.model_sha256.clone(),
        build: absolute(build)?,
        dataset: absolute(dataset)?,
        dataset_commitment: field_to_hex(q.chain.last().expect("the chain starts with h_0")),
        samples: q.samples.len(),
        chunk_size,
        chunks: planned(&q, &ranges),
    })
}

fn absolute(path: &Path) -> Result<PathBuf> {
    path.canonicalize()
        .wrap_err_with(|| format!("cannot resolve {}", path.display()))
}

/// Reads a plan file.
pub fn load_plan(path: &Path) -> Result<AuditPlan> {
    let plan: AuditPlan = read_json(path)?;
    if plan.format != PLAN_FORMAT {
        bail!(
            "{}: not an audit plan (format `{}`)",
            path.display(),
            plan.format
        );
    }
    Ok(plan)
}

/// Checks that the build and dataset at hand are the plan's.
fn check_plan(plan: &AuditPlan, q: &Quantized, ranges: &[(usize, usize)]) -> Result<()> {
    if plan.model_sha256 != q.model_sha256 {
        bail!("this build's model.json is not the one the plan was made with");
    }
    if plan.samples != q.samples.len() || plan.chunks != planned(q, ranges) {
        bail!(
            "this dataset is not the one the plan was made with (its samples or hash chain differ)"
        );
    }
    Ok(())
}

/// The stages [`prove_chunks`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkStage {
    /// Keys for chunks of `samples` samples (`2^k` rows) are being generated.
    Keygen {
        /// Samples per chunk.
        samples: usize,
        /// The chunk circuit's `k`.
        k: u32,
    },
    /// Storing the keys just generated in the cache removed older entries, or could not
    /// store them (the audit goes on).
    Cache(CacheNote),
    /// Chunk `chunk` of `chunks` is being proven.
    Prove {
        /// Which chunk.
        chunk: usize,
        /// How many the dataset has.
        chunks: usize,
    },
}

/// One proven chunk.
#[derive(Clone, Debug)]
pub struct ChunkReport {
    /// Where its proof was written.
    pub path: PathBuf,
    /// The proof file.
    pub file: ChunkProofFile,
    /// The chunk circuit's `k`.
    pub k: u32,
    /// Seconds spent proving it.
    pub prove_secs: f64,
    /// Whether a valid proof was already there (not proven again).
    pub skipped: bool,
}

/// The chunk proof file of chunk `j` in an audit directory.
pub fn chunk_path(dir: &Path, j: usize) -> PathBuf {
    dir.join(format!("chunk-{j:04}.json"))
}

/// The verifying-key file of chunks of `samples` samples in an audit directory.
pub fn chunk_vk_path(dir: &Path, samples: usize) -> PathBuf {
    dir.join(format!("vk-{samples}.bin"))
}

/// The `[first, end)` sample ranges of the chunks of `n` samples.
pub fn chunk_ranges(n: usize, chunk_size: usize) -> Result<Vec<(usize, usize)>> {
    if chunk_size == 0 {
        bail!("--chunk-size must be at least 1");
    }
    Ok((0..n.div_ceil(chunk_size))
        .map(|j| (j * chunk_size, ((j + 1) * chunk_size).min(n)))
        .collect())
}

struct ChunkKeys {
    k: u32,
    params: halo2_proofs::poly::kzg::commitment::ParamsKZG<snarkml_circuits::Bn256>,
    srs_id: String,
    pk: ProvingKey<G1Affine>,
}

/// Chunk keys for `samples` samples: from the cache, else generated and cached.
fn chunk_keys(
    req: &AuditProveRequest,
    model: &CompiledModel,
    samples: usize,
    progress: &mut impl FnMut(ChunkStage),
) -> Result<ChunkKeys> {
    let k = chunk::chunk_k(model, samples)?;
    let srs = super::srs_for_k(&req.srs, k, req.cache.dir())
        .wrap_err_with(|| format!("a chunk of {samples} samples needs an SRS of k ≥ {k}"))?;
    if srs.k() < k {
        bail!(
            "a chunk of {samples} samples needs k={k}, {} has only k={}; generate a larger SRS or use a smaller --chunk-size",
            req.srs.display(),
            srs.k()
        );
    }
    let srs_id = srs.id();
    let mut h = Sha256::new();
    h.update(CACHE_VERSION);
    h.update(read_bytes(&BuildDir::new(&req.build).model())?);
    h.update(format!("|{samples}|{srs_id}"));
    let key = hex::encode(h.finalize());
    let params = srs.params;
    let cached = req.cache.load(CACHE_KIND, &key, |entry| {
        prover::read_pk(
            &mut key_cache::reader(&entry.join("pk.bin"))?,
            chunk::chunk_params(model),
        )
        .ok()
    });
    let pk = match cached {
        Some(pk) => pk,
        None => {
            progress(ChunkStage::Keygen { samples, k });
            let pk = chunk::keygen(&params, model, samples)?;
            let write = |mut w: &mut dyn std::io::Write| prover::write_pk(&pk, &mut w);
            for note in req.cache.store(CACHE_KIND, &key, &[("pk.bin", &write)]) {
                progress(ChunkStage::Cache(note));
            }
            pk
        }
    };
    Ok(ChunkKeys {
        k,
        params,
        srs_id,
        pk,
    })
}

/// Proves the chunks of an audit (all of them, or those of `req.only`), writing one proof file
/// per chunk and each chunk size's verifying key into `req.out`.
pub fn prove_chunks(
    req: &AuditProveRequest,
    mut progress: impl FnMut(ChunkStage),
) -> Result<Vec<ChunkReport>> {
    let q = quantize(&req.build, &req.dataset)?;
    let ranges = chunk_ranges(q.samples.len(), req.chunk_size)?;
    if let Some(plan) = &req.plan {
        check_plan(plan, &q, &ranges)?;
    }
    let Quantized {
        model,
        samples,
        chain,
        ..
    } = q;
    let chunks = ranges.len();
    if let Some(j) = req.only.iter().find(|j| **j >= chunks) {
        bail!(
            "there is no chunk {j}: {} samples in chunks of {} make {chunks} (0 to {})",
            samples.len(),
            req.chunk_size,
            chunks - 1
        );
    }
    std::fs::create_dir_all(&req.out)
        .wrap_err_with(|| format!("cannot create {}", req.out.display()))?;
    let mut keys: Option<(usize, ChunkKeys)> = None;
    let mut reports = Vec::new();
    for (j, &(first, end)) in ranges.iter().enumerate() {
        if !req.only.is_empty() && !req.only.contains(&j) {
            continue;
        }
        let count = end - first;
        if keys.as_ref().is_none_or(|(c, _)| *c != count) {
            let loaded = chunk_keys(req, &model, count, &mut progress)?;
            let vk_path = chunk_vk_path(&req.out, count);
            write_bytes(&vk_path, &prover::vk_to_bytes(loaded.pk.get_vk()))?;
            keys = Some((count, loaded));
        }
        let (_, k) = keys.as_ref().expect("keys were just loaded");
        let path = chunk_path(&req.out, j);
        if !req.force {
            if let Some(file) = already_proven(&path, (j, chunks, first, count), chain[first], k) {
                reports.push(ChunkReport {
                    path,
                    file,
                    k: k.k,
                    prove_secs: 0.0,
                    skipped: true,
                });
                continue;
            }
        }
        progress(ChunkStage::Prove { chunk: j, chunks });
        let start = std::time::Instant::now();
        let proof = chunk::prove(
            &k.params,
            &k.pk,
            &model,
            &samples[first..end],
            chain[first],
            Transcript::Poseidon,
        )?;
        let prove_secs = start.elapsed().as_secs_f64();
        let file = ChunkProofFile::new(
            &model.name,
            &prover::vk_hash(k.pk.get_vk()),
            &k.srs_id,
            (j, chunks, first),
            &proof,
        );
        file.save(&path)?;
        reports.push(ChunkReport {
            path,
            file,
            k: k.k,
            prove_secs,
            skipped: false,
        });
    }
    Ok(reports)
}

/// The proof file at `path` when it is already a valid proof of chunk `(j, chunks, first,
/// samples)` starting from `h_in` under these keys, so proving it again can be skipped.
fn already_proven(
    path: &Path,
    (j, chunks, first, samples): (usize, usize, usize, usize),
    h_in: snarkml_circuits::Fr,
    keys: &ChunkKeys,
) -> Option<ChunkProofFile> {
    let file = ChunkProofFile::load(path).ok()?;
    let fits = file.chunk == j
        && file.chunks == chunks
        && file.first == first
        && file.samples == samples as u64
        && file.h_in == field_to_hex(&h_in)
        && file.vk_hash == prover::vk_hash(keys.pk.get_vk())
        && file.srs_id == keys.srs_id;
    (fits && chunk::verify(&keys.params, keys.pk.get_vk(), &file).is_ok()).then_some(file)
}

/// What [`aggregate_audit`] is asked to do.
#[derive(Clone, Debug)]
pub struct AuditAggregateRequest {
    /// The audit directory holding every chunk proof and the chunks' verifying keys.
    pub dir: PathBuf,
    /// The model's build directory.
    pub build: PathBuf,
    /// The SRS the chunks were proven with, with at least `2^k` points.
    pub srs: PathBuf,
    /// `log2` of the aggregation circuit's rows.
    pub k: u32,
    /// How the chunk proofs are arranged into aggregation circuits.
    pub layout: aggregate::Layout,
    /// Where aggregation proving keys are cached.
    pub cache: KeyCache,
    /// One node of the aggregation tree to prove, or the whole tree.
    pub step: Option<aggregate::NodeId>,
}

/// Reads every chunk proof of an audit directory, in order, checking that they are all there
/// and cover the dataset without gap.
pub fn load_chunks(dir: &Path) -> Result<Vec<(PathBuf, ChunkProofFile)>> {
    let entries = std::fs::read_dir(dir)
        .wrap_err_with(|| format!("cannot read the audit directory {}", dir.display()))?;
    let any = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("chunk-") && n.ends_with(".json"))
        })
        .min()
        .ok_or_else(|| {
            eyre::eyre!(
                "{} has no chunk proofs: run `snarkml audit prove` first",
                dir.display()
            )
        })?;
    let head = ChunkProofFile::load(&any)?;
    let mut out = Vec::with_capacity(head.chunks);
    let mut next_sample = 0u64;
    for j in 0..head.chunks {
        let path = chunk_path(dir, j);
        if !path.exists() {
            bail!(
                "chunk {j} of {} is missing: {} (prove it with `snarkml audit prove --chunk {j}`)",
                head.chunks,
                path.display()
            );
        }
        let file = ChunkProofFile::load(&path)?;
        if file.chunk != j || file.chunks != head.chunks || file.first as u64 != next_sample {
            bail!(
                "{} is chunk {} of {} from sample {}, expected chunk {j} of {} from sample {next_sample}",
                path.display(),
                file.chunk,
                file.chunks,
                file.first,
                head.chunks
            );
        }
        next_sample += file.samples;
        out.push((path, file));
    }
    Ok(out)
}

/// The verifying key of chunks of `samples` samples in an audit directory.
fn chunk_vk(dir: &Path, model: &CompiledModel, samples: u64) -> Result<VerifyingKey<G1Affine>> {
    let path = chunk_vk_path(dir, samples as usize);
    prover::vk_from_bytes(&read_bytes(&path)?, chunk::chunk_params(model))
        .wrap_err_with(|| format!("{}", path.display()))
}

/// Aggregates every chunk proof of an audit directory into `out`; the proof exposes
/// [`AUDIT_EXPOSE`].
pub fn aggregate_audit(
    req: &AuditAggregateRequest,
    out: &BuildDir,
    progress: impl FnMut(Stage),
) -> Result<Aggregated> {
    let model = compiled_model(&BuildDir::new(&req.build))?;
    let chunks = load_chunks(&req.dir)?;
    let srs = Srs::load_trimmed(&req.srs, req.k)?;
    let id = srs.id();
    let mut set = InnerSet::default();
    // One verifying key per chunk size, read once.
    let mut vks: Vec<(u64, VerifyingKey<G1Affine>)> = Vec::new();
    for (path, file) in &chunks {
        if file.srs_id != id {
            bail!(
                "{} was proven with another SRS than {}: chunk and aggregation keys must come from one SRS",
                path.display(),
                req.srs.display()
            );
        }
        if file.model != model.name {
            bail!(
                "{} is a chunk of model `{}`, {} holds `{}`",
                path.display(),
                file.model,
                req.build.display(),
                model.name
            );
        }
        let at = match vks.iter().position(|(n, _)| *n == file.samples) {
            Some(at) => at,
            None => {
                vks.push((file.samples, chunk_vk(&req.dir, &model, file.samples)?));
                vks.len() - 1
            }
        };
        let vk = &vks[at].1;
        if prover::vk_hash(vk) != file.vk_hash {
            bail!(
                "{} is not the verifying key chunk {} was proven with",
                chunk_vk_path(&req.dir, file.samples as usize).display(),
                file.chunk
            );
        }
        set.push(
            path,
            &file.model,
            (&file.vk_hash, Some(vk.clone())),
            file.instance_fields()?,
            file.proof_bytes()?,
        );
    }
    let expose: Expose = AUDIT_EXPOSE.parse()?;
    let target = AggregationTarget {
        k: req.k,
        expose: &expose,
        layout: req.layout,
        cache: &req.cache,
        step: req.step,
    };
    aggregate::aggregate_set(srs, set, &target, out, progress)
}
