//! Keys, proofs and proof files of audit chunks.
//!
//! A chunk proves, for consecutive samples of a dataset, how many of them the model with
//! committed weights classifies correctly, and the dataset hash chain's step over them. Its
//! public instances are `(C_W, h_in, h_out, n, correct)` ([`ChunkInstances`]); aggregation
//! chains `h_out` of one chunk to `h_in` of the next and sums `n` and `correct`. Chunks are
//! independent jobs: each needs only the model, its samples and the chain value before them,
//! which anyone holding the dataset computes natively.

use super::chain;
use crate::circuit::{CircuitParams, ModelCircuit};
use crate::error::{CircuitError, Result};
use crate::fixed_point::{field_from_hex, field_to_hex};
use crate::io::{from_json, to_json};
use crate::layout::Plan;
use crate::model::{min_k, CompiledModel};
use crate::prover::{self, Transcript};
use crate::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The circuit of an audit chunk of `count` samples starting from chain value `h_in`; without
/// `samples`, the witness-free circuit key generation uses.
pub fn chunk_circuit(
    model: &CompiledModel,
    samples: Option<&[(Vec<i64>, u32)]>,
    count: usize,
    h_in: Fr,
) -> Result<ModelCircuit> {
    let plan = Plan::build_audit(model, model.layout.width, samples, count, h_in)?;
    Ok(ModelCircuit {
        plan: Arc::new(plan),
        tables: Arc::new(model.tables.clone()),
    })
}

/// `log2` of the rows a chunk of `count` samples needs.
pub fn chunk_k(model: &CompiledModel, count: usize) -> Result<u32> {
    let circuit = chunk_circuit(model, None, count, Fr::ZERO)?;
    Ok(min_k(circuit.plan.rows, model.tables.rows()))
}

/// The circuit parameters of `model`'s audit chunks (to read their keys back).
pub fn chunk_params(model: &CompiledModel) -> CircuitParams {
    CircuitParams::of(model)
}

/// Generates the keys of `model`'s chunks of `count` samples. `params` must have exactly
/// [`chunk_k`] (trim a larger SRS first). The keys do not depend on the weights' values.
pub fn keygen(
    params: &ParamsKZG<Bn256>,
    model: &CompiledModel,
    count: usize,
) -> Result<ProvingKey<G1Affine>> {
    let circuit = chunk_circuit(model, None, count, Fr::ZERO)?;
    let k = min_k(circuit.plan.rows, model.tables.rows());
    if params.k() != k {
        return Err(CircuitError::WrongK {
            circuit: format!("a chunk of {count} samples"),
            want: k,
            got: params.k(),
        });
    }
    prover::keygen_circuit(params, &circuit)
}

/// The public instances of a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkInstances {
    /// The weights commitment `C_W`.
    pub weights_commitment: Fr,
    /// The chain value before the chunk's first sample.
    pub h_in: Fr,
    /// The chain value after its last sample.
    pub h_out: Fr,
    /// Its samples.
    pub samples: u64,
    /// How many of them the model classifies correctly.
    pub correct: u64,
}

impl ChunkInstances {
    /// In the order of the instance column.
    pub fn to_vec(self) -> Vec<Fr> {
        vec![
            self.weights_commitment,
            self.h_in,
            self.h_out,
            Fr::from(self.samples),
            Fr::from(self.correct),
        ]
    }
}

/// A chunk proof.
#[derive(Clone, Debug)]
pub struct ChunkProof {
    /// The proof bytes.
    pub proof: Vec<u8>,
    /// What it proves.
    pub instances: ChunkInstances,
}

/// Proves a chunk: `samples` (quantized, labelled) following chain value `h_in`. The instances
/// are computed natively first (reference execution and chain) and must equal the circuit's.
pub fn prove(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    model: &CompiledModel,
    samples: &[(Vec<i64>, u32)],
    h_in: Fr,
    transcript: Transcript,
) -> Result<ChunkProof> {
    let expected = ChunkInstances {
        weights_commitment: model.weights_commitment()?.ok_or_else(|| {
            CircuitError::Incompatible(
                "an audit needs a model compiled with --weights hashed".into(),
            )
        })?,
        h_in,
        h_out: *chain(h_in, samples, model.inputs[0].pack_bits)
            .last()
            .expect("the chain has its start"),
        samples: samples.len() as u64,
        correct: super::correct_count(model, samples)? as u64,
    };
    let circuit = chunk_circuit(model, Some(samples), samples.len(), h_in)?;
    let instances = circuit.instance_column();
    if instances != expected.to_vec() {
        return Err(CircuitError::Internal(
            "audit chunk layout and reference execution disagree",
        ));
    }
    let proof = prover::create_shplonk_proof(params, pk, circuit, &instances, transcript)?;
    Ok(ChunkProof {
        proof,
        instances: expected,
    })
}

/// Version tag of chunk proof files.
pub const CHUNK_PROOF_FORMAT: &str = "snarkml-audit-chunk/1";

/// A chunk proof file (always the Poseidon transcript: chunks are proven to be aggregated).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkProofFile {
    /// [`CHUNK_PROOF_FORMAT`].
    pub format: String,
    /// Model name.
    pub model: String,
    /// SHA-256 of the chunk circuit's verifying key.
    pub vk_hash: String,
    /// Identifier of the SRS the keys came from.
    pub srs_id: String,
    /// `poseidon`.
    pub transcript: String,
    /// Which chunk (0-based).
    pub chunk: usize,
    /// How many chunks the dataset has.
    pub chunks: usize,
    /// Index of the chunk's first sample in the dataset.
    pub first: usize,
    /// Proof bytes, `0x` hex.
    pub proof: String,
    /// Public instances, 32-byte big-endian `0x` hex: `C_W, h_in, h_out, n, correct`.
    pub instances: Vec<String>,
    /// `C_W`, `0x` hex.
    pub weights_commitment: String,
    /// Chain value before the chunk, `0x` hex.
    pub h_in: String,
    /// Chain value after the chunk, `0x` hex.
    pub h_out: String,
    /// Samples in the chunk.
    pub samples: u64,
    /// Samples classified correctly.
    pub correct: u64,
}

impl ChunkProofFile {
    /// The file of chunk `chunk` of `chunks` (its first sample `first`).
    pub fn new(
        model: &str,
        vk_hash: &str,
        srs_id: &str,
        (chunk, chunks, first): (usize, usize, usize),
        proof: &ChunkProof,
    ) -> Self {
        let i = proof.instances;
        Self {
            format: CHUNK_PROOF_FORMAT.into(),
            model: model.into(),
            vk_hash: vk_hash.into(),
            srs_id: srs_id.into(),
            transcript: Transcript::Poseidon.name().into(),
            chunk,
            chunks,
            first,
            proof: format!("0x{}", hex::encode(&proof.proof)),
            instances: i.to_vec().iter().map(field_to_hex).collect(),
            weights_commitment: field_to_hex(&i.weights_commitment),
            h_in: field_to_hex(&i.h_in),
            h_out: field_to_hex(&i.h_out),
            samples: i.samples,
            correct: i.correct,
        }
    }

    /// Parses a chunk proof file and checks it is self-consistent: the values it shows must be
    /// the proof's public instances.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let file: Self = from_json(bytes, "audit chunk proof file")?;
        if file.format != CHUNK_PROOF_FORMAT {
            return Err(CircuitError::UnsupportedFormat {
                what: "audit chunk proof",
                found: file.format,
                expected: CHUNK_PROOF_FORMAT.into(),
                hint: "",
            });
        }
        if file.transcript != Transcript::Poseidon.name() {
            return Err(CircuitError::malformed(format!(
                "transcript `{}` is not poseidon",
                file.transcript
            )));
        }
        if file.chunk >= file.chunks {
            return Err(CircuitError::malformed(format!(
                "chunk {} of {} does not exist",
                file.chunk, file.chunks
            )));
        }
        file.proof_bytes()?;
        let shown = [&file.weights_commitment, &file.h_in, &file.h_out]
            .iter()
            .map(|s| field_from_hex(s))
            .collect::<Option<Vec<Fr>>>()
            .ok_or_else(|| {
                CircuitError::malformed("a commitment or chain value is not a field element")
            })?;
        let shown = ChunkInstances {
            weights_commitment: shown[0],
            h_in: shown[1],
            h_out: shown[2],
            samples: file.samples,
            correct: file.correct,
        };
        if file.correct > file.samples || file.instance_fields()? != shown.to_vec() {
            return Err(CircuitError::malformed(
                "the values shown do not match the proof's public instances (edited file?)",
            ));
        }
        Ok(file)
    }

    /// The file's bytes.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self, "audit chunk proof file")
    }

    /// The proof bytes.
    pub fn proof_bytes(&self) -> Result<Vec<u8>> {
        crate::io::decode_proof(&self.proof)
    }

    /// The public instances as field elements.
    pub fn instance_fields(&self) -> Result<Vec<Fr>> {
        crate::io::decode_instances(&self.instances)
    }
}

/// Verifies a chunk proof natively against its circuit's verifying key (`params` trimmed to
/// the chunk's `k`).
pub fn verify(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    file: &ChunkProofFile,
) -> Result<()> {
    prover::verify_with(
        params,
        vk,
        &file.instance_fields()?,
        &file.proof_bytes()?,
        Transcript::Poseidon,
    )
}
