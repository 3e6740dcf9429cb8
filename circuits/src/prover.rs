//! Keys, proofs and verification. Proofs use SHPLONK over KZG with one of two Fiat–Shamir
//! transcripts: Keccak, the one the on-chain verifier replays, or Poseidon, the one the
//! aggregation circuit replays cheaply in-circuit.

use crate::circuit::{CircuitParams, ModelCircuit};
use crate::error::{CircuitError, Result};
use crate::model::CompiledModel;
use crate::{Bn256, Fr, G1Affine};
use halo2_proofs::dev::{FailureLocation, MockProver, VerifyFailure};
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk_custom, verify_proof, ProvingKey, VerifyingKey,
};
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{TranscriptReadBuffer, TranscriptWriterBuffer};
use halo2_proofs::SerdeFormat;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::loader::native::NativeLoader;
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The Fiat–Shamir transcript of a proof.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transcript {
    /// Keccak-256: what the Solidity verifier replays (proofs checked on the EVM).
    #[default]
    Keccak,
    /// Poseidon: what the aggregation circuit replays (proofs meant for aggregation).
    Poseidon,
}

impl Transcript {
    /// The name written in proof files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Keccak => "keccak256",
            Self::Poseidon => "poseidon",
        }
    }

    /// Parses [`Transcript::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "keccak256" => Some(Self::Keccak),
            "poseidon" => Some(Self::Poseidon),
            _ => None,
        }
    }
}

/// Proves one circuit with SHPLONK and the given transcript; `instances` fill the single
/// instance column. The proof is verified natively against `pk`'s verifying key before it is
/// returned: a proof that would not verify is [`CircuitError::ProofSelfCheck`], never bytes.
pub fn create_shplonk_proof<C: halo2_proofs::plonk::Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
    transcript: Transcript,
) -> Result<Vec<u8>> {
    let proof = create_unchecked_proof(params, pk, circuit, instances, transcript)?;
    verify_with(params, pk.get_vk(), instances, &proof, transcript)
        .map_err(|e| CircuitError::ProofSelfCheck(e.to_string()))?;
    Ok(proof)
}

/// [`create_shplonk_proof`] without the check: what a dishonest prover runs on a circuit whose
/// constraints fail (tests forge proofs this way to show every verifier refuses them).
pub fn create_unchecked_proof<C: halo2_proofs::plonk::Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
    transcript: Transcript,
) -> Result<Vec<u8>> {
    let halo2 = |e: halo2_proofs::plonk::Error| CircuitError::Halo2 {
        stage: "proving",
        reason: e.to_string(),
    };
    match transcript {
        Transcript::Keccak => {
            let mut t = TranscriptWriterBuffer::<_, G1Affine, _>::init(Vec::new());
            create_proof::<
                KZGCommitmentScheme<Bn256>,
                ProverSHPLONK<'_, Bn256>,
                _,
                _,
                EvmTranscript<_, _, _, _>,
                _,
            >(params, pk, &[circuit], &[&[instances]], OsRng, &mut t)
            .map_err(halo2)?;
            Ok(t.finalize())
        }
        Transcript::Poseidon => {
            let mut t = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(
                Vec::new(),
                POSEIDON_SPEC.clone(),
            );
            create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
                params,
                pk,
                &[circuit],
                &[&[instances]],
                OsRng,
                &mut t,
            )
            .map_err(halo2)?;
            Ok(t.finalize())
        }
    }
}

/// Generates the proving key (which holds the verifying key) of a compiled model.
pub fn keygen(params: &ParamsKZG<Bn256>, model: &CompiledModel) -> Result<ProvingKey<G1Affine>> {
    check_k(params, model)?;
    keygen_circuit(params, &ModelCircuit::new(model, None)?)
}

/// Generates only the verifying key of a compiled model: what a verifier needs, without the
/// proving key's evaluations. It is the verifying key [`keygen`]'s proving key holds.
pub fn keygen_vk(
    params: &ParamsKZG<Bn256>,
    model: &CompiledModel,
) -> Result<VerifyingKey<G1Affine>> {
    check_k(params, model)?;
    keygen_vk_custom(params, &ModelCircuit::new(model, None)?, true).map_err(|e| {
        CircuitError::Halo2 {
            stage: "verifying key generation",
            reason: e.to_string(),
        }
    })
}

/// Generates the keys of a witness-free circuit (a model's, or an audit chunk's); `params`
/// must have the circuit's `k`.
pub fn keygen_circuit(
    params: &ParamsKZG<Bn256>,
    circuit: &ModelCircuit,
) -> Result<ProvingKey<G1Affine>> {
    let vk = keygen_vk_custom(params, circuit, true).map_err(|e| CircuitError::Halo2 {
        stage: "verifying key generation",
        reason: e.to_string(),
    })?;
    keygen_pk(params, vk, circuit).map_err(|e| CircuitError::Halo2 {
        stage: "proving key generation",
        reason: e.to_string(),
    })
}

fn check_k(params: &ParamsKZG<Bn256>, model: &CompiledModel) -> Result<()> {
    if params.k() != model.layout.k {
        return Err(CircuitError::WrongK {
            circuit: "the model".into(),
            want: model.layout.k,
            got: params.k(),
        });
    }
    Ok(())
}

/// A proof and the public instances it proves.
#[derive(Clone, Debug)]
pub struct Proof {
    /// The proof bytes.
    pub proof: Vec<u8>,
    /// The transcript they were made with.
    pub transcript: Transcript,
    /// Public inputs then public outputs (packed values, or a commitment when hashed).
    pub instances: Vec<Fr>,
    /// The quantized outputs, one vector per model output (private and hashed ones included).
    pub outputs: Vec<Vec<i64>>,
    /// The commitments of the hashed inputs then outputs, in order.
    pub commitments: Vec<Fr>,
}

/// Proves `model(inputs)` with the Keccak transcript (for the EVM) and salt zero for any
/// hashed input or output; see [`prove_with`].
pub fn prove(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    model: &CompiledModel,
    inputs: &[Vec<i64>],
) -> Result<Proof> {
    prove_with(params, pk, model, inputs, &[], Transcript::Keccak)
}

/// Proves `model(inputs)`; `inputs` are quantized, one vector per model input. The circuit's
/// outputs are checked against the reference execution before any proving work. `salts` are
/// those of the hashed inputs then outputs, in order (missing ones are zero).
pub fn prove_with(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    model: &CompiledModel,
    inputs: &[Vec<i64>],
    salts: &[Fr],
    transcript: Transcript,
) -> Result<Proof> {
    check_k(params, model)?;
    let expected = crate::exec::run(model, inputs)?.outputs(model);
    let circuit = ModelCircuit::with_salts(model, Some(inputs), salts)?;
    let commitments = circuit.plan.commitments.clone();
    let outputs = circuit.plan.outputs.clone();
    if outputs != expected {
        return Err(CircuitError::Internal(
            "circuit layout and reference execution disagree",
        ));
    }
    let instances = circuit.instance_column();
    let proof = create_shplonk_proof(params, pk, circuit, &instances, transcript)?;
    Ok(Proof {
        proof,
        transcript,
        instances,
        outputs,
        commitments,
    })
}

/// Verifies a Keccak-transcript proof against a verifying key and public instances.
pub fn verify(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
) -> Result<()> {
    verify_with(params, vk, instances, proof, Transcript::Keccak)
}

/// Verifies a proof made with `transcript` against a verifying key and public instances. The
/// proof must be read to its last byte: anything after it is
/// [`CircuitError::TrailingProofBytes`], as the on-chain verifier refuses it.
pub fn verify_with(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
    transcript: Transcript,
) -> Result<()> {
    // The transcripts read from `rest`, which is left holding what they did not read.
    let mut rest = proof;
    let run = |rest: &mut &[u8]| match transcript {
        Transcript::Keccak => {
            let mut t = TranscriptReadBuffer::<_, G1Affine, _>::init(rest);
            verify_proof::<
                KZGCommitmentScheme<Bn256>,
                VerifierSHPLONK<'_, Bn256>,
                _,
                EvmTranscript<_, _, _, _>,
                _,
            >(
                params.verifier_params(),
                vk,
                SingleStrategy::new(params),
                &[&[instances]],
                &mut t,
            )
        }
        Transcript::Poseidon => {
            let mut t = PoseidonTranscript::<NativeLoader, &mut &[u8]>::from_spec(
                rest,
                POSEIDON_SPEC.clone(),
            );
            verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
                params.verifier_params(),
                vk,
                SingleStrategy::new(params),
                &[&[instances]],
                &mut t,
            )
        }
    };
    match catch_unwind(AssertUnwindSafe(|| run(&mut rest))) {
        Ok(Ok(())) if rest.is_empty() => Ok(()),
        Ok(Ok(())) => Err(CircuitError::TrailingProofBytes { extra: rest.len() }),
        Ok(Err(e)) => Err(CircuitError::ProofRejected(e.to_string())),
        Err(_) => Err(CircuitError::ProofRejected("malformed proof".into())),
    }
}

/// Checks every constraint with halo2's MockProver, without a proof. On failure the message
/// names the layer of the first failing row.
pub fn mock(model: &CompiledModel, inputs: &[Vec<i64>]) -> Result<()> {
    let circuit = ModelCircuit::new(model, Some(inputs))?;
    let failures = mock_failures(model, &circuit)?;
    match failures.first() {
        None => Ok(()),
        Some(first) => {
            let row = failure_row(first);
            let layer = row.and_then(|r| circuit.plan.layer_at(r)).unwrap_or("?");
            Err(CircuitError::ProofRejected(format!(
                "{} constraint failure(s); first in layer `{layer}`: {first}",
                failures.len()
            )))
        }
    }
}

/// Runs MockProver on a circuit and returns every failure.
pub fn mock_failures(model: &CompiledModel, circuit: &ModelCircuit) -> Result<Vec<VerifyFailure>> {
    let prover = MockProver::run(model.layout.k, circuit, vec![circuit.instance_column()])
        .map_err(|e| CircuitError::Halo2 {
            stage: "mock synthesis",
            reason: e.to_string(),
        })?;
    Ok(prover.verify().err().unwrap_or_default())
}

/// The absolute row of a failure, when it has one.
pub fn failure_row(f: &VerifyFailure) -> Option<usize> {
    let loc = match f {
        VerifyFailure::ConstraintNotSatisfied { location, .. }
        | VerifyFailure::Lookup { location, .. }
        | VerifyFailure::Permutation { location, .. } => location,
        _ => return None,
    };
    match loc {
        FailureLocation::InRegion { offset, .. } => Some(*offset),
        FailureLocation::OutsideRegion { row } => Some(*row),
    }
}

/// Serializes a verifying key.
pub fn vk_to_bytes(vk: &VerifyingKey<G1Affine>) -> Vec<u8> {
    vk.to_bytes(SerdeFormat::RawBytes)
}

/// SHA-256 of the serialized verifying key, hex: the identity of a circuit.
pub fn vk_hash(vk: &VerifyingKey<G1Affine>) -> String {
    hex::encode(Sha256::digest(vk_to_bytes(vk)))
}

/// Reads a verifying key for a circuit of the given shape ([`CircuitParams::of`] the model).
pub fn vk_from_bytes(bytes: &[u8], params: CircuitParams) -> Result<VerifyingKey<G1Affine>> {
    let mut r = bytes;
    catch_unwind(AssertUnwindSafe(|| {
        VerifyingKey::read::<_, ModelCircuit>(&mut r, SerdeFormat::RawBytes, params)
    }))
    .map_err(|_| CircuitError::corrupt_key("verifying key", None))?
    .map_err(|e| CircuitError::corrupt_key("verifying key", Some(&e)))
}

/// Serializes a proving key.
pub fn pk_to_bytes(pk: &ProvingKey<G1Affine>) -> Vec<u8> {
    pk.to_bytes(SerdeFormat::RawBytes)
}

/// Writes a proving key as [`pk_to_bytes`] does, without holding its bytes in memory.
pub fn write_pk(pk: &ProvingKey<G1Affine>, w: &mut impl std::io::Write) -> std::io::Result<()> {
    pk.write(w, SerdeFormat::RawBytes)
}

/// Reads a proving key for a circuit of the given shape ([`CircuitParams::of`] the model).
pub fn pk_from_bytes(bytes: &[u8], params: CircuitParams) -> Result<ProvingKey<G1Affine>> {
    read_pk(&mut &bytes[..], params)
}

/// Reads a proving key for a circuit of the given shape from a reader (a buffered file: no
/// copy of its bytes in memory).
pub fn read_pk(r: &mut impl std::io::Read, params: CircuitParams) -> Result<ProvingKey<G1Affine>> {
    catch_unwind(AssertUnwindSafe(|| {
        ProvingKey::read::<_, ModelCircuit>(r, SerdeFormat::RawBytes, params)
    }))
    .map_err(|_| CircuitError::corrupt_key("proving key", None))?
    .map_err(|e| CircuitError::corrupt_key("proving key", Some(&e)))
}
