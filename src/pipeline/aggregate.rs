//! Aggregation: many proof files (made with `prove --for-aggregation`) become one aggregated
//! proof in an aggregation directory, which `gen-verifier`, `deploy` and `verify-onchain`
//! accept like a build directory.
//!
//! ```text
//! aggr/
//!   aggregation.json  what was aggregated: inner verifying keys, expose spec, circuit shape
//!   vk.bin            the aggregation circuit's verifying key
//!   params.bin        the four SRS points a verifier needs (G1, [τ]G1, G2, [τ]G2)
//!   proof.json        the aggregated proof
//! ```
//!
//! Proving keys are cached under `<cache>/aggregation/<key>/`, the key hashing the SRS, `k`,
//! the inner verifying-key hashes in order and the expose spec.

use super::{load, load_vk};
use crate::artifacts::{
    read_bytes, read_json, write_bytes, write_bytes_atomic, write_json, BuildDir,
};
use eyre::{bail, Result, WrapErr};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use snarkml_circuits::aggregation::{
    self, AggregationKeys, AggregationShape, Expose, InnerProof, ACCUMULATOR_INSTANCES,
};
use snarkml_circuits::fixed_point::field_to_hex;
use snarkml_circuits::halo2_proofs;
use snarkml_circuits::io::{AggregatedProofFile, ProofFile, AGGREGATED_PROOF_FORMAT};
use snarkml_circuits::prover::{self, Transcript};
use snarkml_circuits::srs::{read_params, srs_id, write_params, Srs};
use snarkml_circuits::{Bn256, Fr, G1Affine};
use std::path::{Path, PathBuf};

/// Version of the cache layout; bump when the aggregation circuit changes.
const CACHE_VERSION: &str = "snarkml-aggregation-cache/1";

/// What `aggregate` records about an aggregation directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggregationInfo {
    /// The aggregation circuit has `2^k` rows.
    pub k: u32,
    /// Identifier of the SRS.
    pub srs_id: String,
    /// True when the SRS is a development one.
    pub srs_insecure: bool,
    /// SHA-256 of the aggregation circuit's verifying key.
    pub vk_hash: String,
    /// Public instances of the aggregated proof (accumulator included).
    pub num_instances: usize,
    /// The circuit's shape (configuration, break points, expose spec).
    pub shape: AggregationShape,
    /// The inner circuits, in order.
    pub inner: Vec<InnerInfo>,
    /// The proving-key cache entry.
    pub cache_key: String,
}

/// One aggregated inner proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InnerInfo {
    /// The proof file as given.
    pub proof: String,
    /// Its model.
    pub model: String,
    /// Its circuit's verifying-key hash.
    pub vk_hash: String,
    /// Its public instances.
    pub num_instances: usize,
}

/// What [`aggregate`] is asked to do.
#[derive(Clone, Debug)]
pub struct AggregateRequest {
    /// The inner proof files, in order.
    pub proofs: Vec<PathBuf>,
    /// Build directories whose verifying keys the proofs were made with.
    pub builds: Vec<PathBuf>,
    /// An SRS file with at least `2^k` points, the one the inner keys came from.
    pub srs: PathBuf,
    /// `log2` of the aggregation circuit's rows.
    pub k: u32,
    /// What the aggregated proof exposes.
    pub expose: Expose,
    /// Where proving keys are cached.
    pub cache_dir: PathBuf,
}

/// What [`aggregate`] did.
#[derive(Clone, Debug)]
pub struct AggregateReport {
    /// The aggregated proof file.
    pub proof: AggregatedProofFile,
    /// What was recorded.
    pub info: AggregationInfo,
    /// True when the proving key came from the cache.
    pub cache_hit: bool,
    /// Seconds spent generating keys (0 on a cache hit).
    pub keygen_secs: f64,
    /// Seconds spent proving.
    pub prove_secs: f64,
}

/// The stages [`aggregate`] reports to a progress callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Inner proofs are being checked.
    CheckInner,
    /// Aggregation keys are being generated.
    Keygen,
    /// Aggregation keys are being read from the cache.
    LoadKeys,
    /// The aggregated proof is being made.
    Prove,
}

/// The default proving-key cache: `$SNARKML_CACHE_DIR`, else `$XDG_CACHE_HOME/snarkml`, else
/// `~/.cache/snarkml`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SNARKML_CACHE_DIR") {
        return d.into();
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("snarkml");
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/snarkml"))
        .unwrap_or_else(|| std::env::temp_dir().join("snarkml-cache"))
}

/// Inner proofs ready to aggregate, with what the aggregation directory records of them.
#[derive(Default)]
pub(crate) struct InnerSet {
    /// The proofs with their verifying keys.
    pub proofs: Vec<InnerProof>,
    /// Their records, in the same order.
    pub info: Vec<InnerInfo>,
}

impl InnerSet {
    /// Adds the proof read from `path` (of `model`, made for the verifying key `vk`, whose
    /// hash is `vk_hash`).
    pub(crate) fn push(
        &mut self,
        path: &Path,
        model: &str,
        (vk_hash, vk): (&str, &VerifyingKey<G1Affine>),
        instances: Vec<Fr>,
        proof: Vec<u8>,
    ) {
        self.info.push(InnerInfo {
            proof: path.display().to_string(),
            model: model.to_owned(),
            vk_hash: vk_hash.to_owned(),
            num_instances: instances.len(),
        });
        self.proofs.push(InnerProof {
            label: path.display().to_string(),
            vk: vk.clone(),
            instances,
            proof,
        });
    }
}

/// Reads the proof files and matches each with the verifying key of one of the builds.
fn load_inner(req: &AggregateRequest, srs_id: &str) -> Result<InnerSet> {
    if req.proofs.is_empty() {
        bail!("give at least one proof file to aggregate");
    }
    if req.builds.is_empty() {
        bail!("give the build directory of the proofs' model with --build");
    }
    let mut keys: Vec<(String, VerifyingKey<G1Affine>, PathBuf)> = Vec::new();
    for b in &req.builds {
        let build = BuildDir::new(b);
        let loaded = load(&build)?;
        let vk = load_vk(&build, &loaded.info, &loaded.model)?;
        if loaded.info.srs_id != srs_id {
            bail!(
                "{} was set up with a different SRS than {}: inner and aggregation keys must come from one SRS",
                b.display(),
                req.srs.display()
            );
        }
        keys.push((loaded.info.vk_hash, vk, b.clone()));
    }
    let mut set = InnerSet::default();
    for path in &req.proofs {
        let file = ProofFile::load(path)?;
        if file.transcript_kind()? != Transcript::Poseidon {
            bail!(
                "{} uses the {} transcript: proofs to aggregate are made with `snarkml prove --for-aggregation`",
                path.display(),
                file.transcript
            );
        }
        let Some((hash, vk, _)) = keys.iter().find(|(h, _, _)| *h == file.vk_hash) else {
            bail!(
                "{} was made for verifying key {}…, which none of the --build directories has",
                path.display(),
                file.vk_hash.get(..12).unwrap_or(&file.vk_hash)
            );
        };
        set.push(
            path,
            &file.model,
            (hash, vk),
            file.instance_fields()?,
            file.proof_bytes()?,
        );
    }
    Ok(set)
}

fn cache_key(srs_id: &str, k: u32, inner: &[InnerInfo], expose: &Expose) -> String {
    let mut h = Sha256::new();
    h.update(CACHE_VERSION);
    h.update(format!("|{srs_id}|{k}|{expose}|"));
    for i in inner {
        h.update(format!("{}:{};", i.vk_hash, i.num_instances));
    }
    hex::encode(h.finalize())
}

/// Aggregates proof files into `out`, reusing cached keys when the same circuits were
/// aggregated before. Every inner proof is checked before any heavy work.
pub fn aggregate(
    req: &AggregateRequest,
    out: &BuildDir,
    progress: impl FnMut(Stage),
) -> Result<AggregateReport> {
    let srs = Srs::load_trimmed(&req.srs, req.k)?;
    let id = srs_id(&srs.params);
    let inner = load_inner(req, &id)?;
    let target = AggregationTarget {
        k: req.k,
        expose: &req.expose,
        cache_dir: &req.cache_dir,
    };
    aggregate_set(srs, inner, &target, out, progress)
}

/// Where and how [`aggregate_set`] aggregates.
pub(crate) struct AggregationTarget<'a> {
    /// `log2` of the aggregation circuit's rows.
    pub k: u32,
    /// What the aggregated proof exposes.
    pub expose: &'a Expose,
    /// Where proving keys are cached.
    pub cache_dir: &'a Path,
}

/// Aggregates loaded inner proofs (made with `srs`, already trimmed to the target's `k`) into
/// `out`.
pub(crate) fn aggregate_set(
    srs: Srs,
    inner: InnerSet,
    target: &AggregationTarget<'_>,
    out: &BuildDir,
    mut progress: impl FnMut(Stage),
) -> Result<AggregateReport> {
    let params = srs.params;
    let id = srs_id(&params);
    progress(Stage::CheckInner);
    let counts: Vec<usize> = inner.info.iter().map(|i| i.num_instances).collect();
    target.expose.check(&counts)?;
    let instances: Vec<Vec<Fr>> = inner.proofs.iter().map(|p| p.instances.clone()).collect();
    target.expose.evaluate(&instances)?;
    aggregation::check_inner(&params, &inner.proofs)?;

    let key = cache_key(&id, target.k, &inner.info, target.expose);
    let entry = target.cache_dir.join("aggregation").join(&key);
    let (keys, cache_hit, keygen_secs) = match load_cached(&entry) {
        Some(keys) => {
            progress(Stage::LoadKeys);
            (keys, true, 0.0)
        }
        None => {
            progress(Stage::Keygen);
            let start = std::time::Instant::now();
            let keys = aggregation::keygen(&params, &inner.proofs, target.expose, target.k)?;
            let secs = start.elapsed().as_secs_f64();
            store_cached(&entry, &keys)?;
            (keys, false, secs)
        }
    };
    progress(Stage::Prove);
    let start = std::time::Instant::now();
    let proof = aggregation::prove(&params, &keys, &inner.proofs)?;
    let prove_secs = start.elapsed().as_secs_f64();
    let vk = keys.pk.get_vk();
    let info = AggregationInfo {
        k: target.k,
        srs_id: id.clone(),
        srs_insecure: srs.insecure,
        vk_hash: prover::vk_hash(vk),
        num_instances: keys.shape.num_instances,
        shape: keys.shape.clone(),
        inner: inner.info,
        cache_key: key,
    };
    let hex: Vec<String> = proof.instances.iter().map(field_to_hex).collect();
    let file = AggregatedProofFile {
        format: AGGREGATED_PROOF_FORMAT.into(),
        vk_hash: info.vk_hash.clone(),
        srs_id: id,
        transcript: Transcript::Keccak.name().into(),
        proof: format!("0x{}", hex::encode(&proof.proof)),
        exposed: hex[ACCUMULATOR_INSTANCES..].to_vec(),
        instances: hex,
        expose: target.expose.to_string(),
        inner: info.inner.iter().map(|i| i.proof.clone()).collect(),
    };
    std::fs::create_dir_all(out.root())
        .wrap_err_with(|| format!("cannot create {}", out.root().display()))?;
    let mut small = params.clone();
    small.downsize(1);
    write_params(&out.params(), &small, srs.insecure)?;
    write_bytes(&out.vk(), &prover::vk_to_bytes(vk))?;
    write_json(&out.aggregation(), &info)?;
    file.save(&out.proof())?;
    Ok(AggregateReport {
        proof: file,
        info,
        cache_hit,
        keygen_secs,
        prove_secs,
    })
}

fn load_cached(entry: &Path) -> Option<AggregationKeys> {
    let shape: AggregationShape = read_json(&entry.join("shape.json")).ok()?;
    let bytes = read_bytes(&entry.join("pk.bin")).ok()?;
    let pk = aggregation::pk_from_bytes(&bytes, &shape).ok()?;
    Some(AggregationKeys { pk, shape })
}

fn store_cached(entry: &Path, keys: &AggregationKeys) -> Result<()> {
    std::fs::create_dir_all(entry)
        .wrap_err_with(|| format!("cannot create the key cache {}", entry.display()))?;
    // The shape last: an entry is read only when both files are there.
    write_bytes_atomic(&entry.join("pk.bin"), &aggregation::pk_to_bytes(&keys.pk))?;
    write_bytes_atomic(
        &entry.join("shape.json"),
        &serde_json::to_vec_pretty(&keys.shape)?,
    )
}

/// The artifacts of an aggregation directory, checked against each other.
pub struct LoadedAggregation {
    /// What `aggregate` recorded.
    pub info: AggregationInfo,
    /// The verifying key.
    pub vk: VerifyingKey<G1Affine>,
    /// Verifier parameters (four SRS points, claiming `2^k` rows).
    pub params: ParamsKZG<Bn256>,
}

/// Loads an aggregation directory.
pub fn load_aggregation(dir: &BuildDir) -> Result<LoadedAggregation> {
    dir.require(&dir.aggregation(), "aggregate")?;
    let info: AggregationInfo = read_json(&dir.aggregation())?;
    dir.require(&dir.vk(), "aggregate")?;
    let vk = aggregation::vk_from_bytes(&read_bytes(&dir.vk())?, &info.shape)?;
    if prover::vk_hash(&vk) != info.vk_hash {
        bail!(
            "{} does not match the verifying-key hash in aggregation.json",
            dir.vk().display()
        );
    }
    let (small, _) = read_params(&dir.params())?;
    if srs_id(&small) != info.srs_id {
        bail!(
            "{} does not hold the SRS the keys were made with",
            dir.params().display()
        );
    }
    let params = aggregation::verifier_params(&small, info.k);
    Ok(LoadedAggregation { info, vk, params })
}

/// Reads an aggregated proof file and checks it belongs to this aggregation.
pub fn load_aggregated_proof(
    info: &AggregationInfo,
    proof: &Path,
) -> Result<(AggregatedProofFile, Vec<Fr>, Vec<u8>)> {
    let file = AggregatedProofFile::load(proof)?;
    if file.vk_hash != info.vk_hash {
        bail!(
            "{} was made for aggregation key {}…, this directory's is {}…",
            proof.display(),
            file.vk_hash.get(..12).unwrap_or(&file.vk_hash),
            &info.vk_hash[..12]
        );
    }
    let instances = file.instance_fields()?;
    if instances.len() != info.num_instances {
        bail!(
            "{} has {} public instances, the aggregation circuit has {}",
            proof.display(),
            instances.len(),
            info.num_instances
        );
    }
    let bytes = file.proof_bytes()?;
    Ok((file, instances, bytes))
}

/// Verifies an aggregated proof natively (the proof and its accumulator's pairing).
pub fn verify_aggregated(dir: &BuildDir, proof: &Path) -> Result<AggregatedProofFile> {
    let LoadedAggregation { info, vk, params } = load_aggregation(dir)?;
    let (file, instances, bytes) = load_aggregated_proof(&info, proof)?;
    aggregation::verify(&params, &vk, &instances, &bytes)
        .wrap_err_with(|| format!("{}", proof.display()))?;
    Ok(file)
}
