//! Reading an aggregation directory back: its record and verifying key checked against each
//! other, an aggregated proof file checked to belong to it, and the proof verified natively.

use super::aggregate::AggregationInfo;
use crate::artifacts::{read_bytes, read_json, BuildDir};
use crate::stored::Stored;
use eyre::{bail, Result, WrapErr};
use snarkml_circuits::aggregation;
use snarkml_circuits::halo2_proofs::plonk::VerifyingKey;
use snarkml_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snarkml_circuits::io::AggregatedProofFile;
use snarkml_circuits::prover::{self, Transcript};
use snarkml_circuits::{Bn256, Fr, G1Affine};
use std::path::Path;

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
    let small = super::read_params_of(&dir.params(), &info.srs_id)?;
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
    if file.srs_id != info.srs_id {
        bail!(
            "{} was made with a different SRS than this aggregation's keys",
            proof.display()
        );
    }
    // What the file shows of the inner proofs is what this aggregation was made of.
    let inner: Vec<&str> = info.inner.iter().map(|i| i.proof.as_str()).collect();
    if file.inner != inner {
        bail!(
            "{}: proof file field `inner` lists {} proof(s), this aggregation was made of {} ({}) (edited file?)",
            proof.display(),
            file.inner.len(),
            inner.len(),
            inner.join(", ")
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
    aggregation::verify(&params, &vk, &instances, &bytes, Transcript::Keccak)
        .wrap_err_with(|| format!("{}", proof.display()))?;
    Ok(file)
}
