//! Recursive aggregation: many inner proofs (of one circuit or several) verified inside
//! snark-verifier's aggregation circuit, which produces one proof for the EVM.
//!
//! The aggregated proof's public instances are the KZG accumulator (12 limbs, checked by the
//! on-chain verifier's final pairing) followed by what an [`Expose`] spec selects from the
//! inner proofs' instances: all of them, none, or values computed and constrained inside the
//! aggregation circuit (a sum across proofs, an equality, a hash chain between consecutive
//! proofs). Inner proofs must use the Poseidon transcript ([`Transcript::Poseidon`]).

use crate::error::{CircuitError, Result};
use crate::prover::{self, Transcript};
use crate::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{keygen_pk, keygen_vk, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::GateChip;
use snark_verifier_sdk::snark_verifier::loader::native::NativeLoader;
use snark_verifier_sdk::snark_verifier::pcs::kzg::KzgDecidingKey;
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::snark_verifier::util::transcript::TranscriptRead;
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::snark_verifier::verifier::SnarkVerifier;
use snark_verifier_sdk::{CircuitExt, PlonkVerifier, Snark, SHPLONK};
use std::panic::{catch_unwind, AssertUnwindSafe};

mod expose;
pub use expose::{combine, Expose, ExposeItem};

/// Public instances the accumulator takes at the front of every aggregated proof.
pub const ACCUMULATOR_INSTANCES: usize = 12;
/// Blinding rows halo2-base keeps free at the bottom of the circuit.
const MINIMUM_ROWS: usize = 20;
/// The default `log2` of the aggregation circuit's rows.
pub const DEFAULT_K: u32 = 21;

/// An inner proof to aggregate.
#[derive(Clone, Debug)]
pub struct InnerProof {
    /// A name for error messages (the proof file's path).
    pub label: String,
    /// The verifying key of its circuit.
    pub vk: VerifyingKey<G1Affine>,
    /// Its public instances (one column).
    pub instances: Vec<Fr>,
    /// The proof bytes (Poseidon transcript).
    pub proof: Vec<u8>,
    /// True when the inner proof is itself an aggregated proof (made with the Poseidon
    /// transcript): its first [`ACCUMULATOR_INSTANCES`] instances are a KZG accumulator, which
    /// the aggregation circuit folds into its own instead of exposing.
    pub accumulator: bool,
}

impl InnerProof {
    /// The instances an [`Expose`] spec reads: all of them, or those after the accumulator.
    pub fn claims(&self) -> &[Fr] {
        &self.instances[self.skip()..]
    }

    fn skip(&self) -> usize {
        if self.accumulator {
            ACCUMULATOR_INSTANCES
        } else {
            0
        }
    }
}

/// Verifies every inner proof natively (Poseidon transcript) before any heavy work, and turns
/// them into snark-verifier's [`Snark`]s. The error names the first proof that fails.
pub fn check_inner(params: &ParamsKZG<Bn256>, inner: &[InnerProof]) -> Result<Vec<Snark>> {
    if inner.is_empty() {
        return Err(CircuitError::Incompatible("nothing to aggregate".into()));
    }
    inner
        .iter()
        .map(|p| {
            // Verifying needs only G1, [τ]G1 and the G2 points of the one SRS every key came
            // from, whatever the inner circuit's size (an inner aggregation has the outer k):
            // no Lagrange basis, which trimming would recompute with a slow FFT over G1.
            let k = p.vk.get_domain().k();
            let small = verifier_params(params, k);
            let checked = if p.accumulator {
                verify(&small, &p.vk, &p.instances, &p.proof, Transcript::Poseidon)
            } else {
                prover::verify_with(&small, &p.vk, &p.instances, &p.proof, Transcript::Poseidon)
            };
            checked.map_err(|e| {
                CircuitError::ProofRejected(format!(
                    "{} does not verify, nothing aggregated ({e}); is it a `--for-aggregation` proof made with this SRS?",
                    p.label
                ))
            })?;
            let mut config = Config::kzg().with_num_instance(vec![p.instances.len()]);
            if p.accumulator {
                config = config.with_accumulator_indices(AggregationCircuit::accumulator_indices());
            }
            let protocol = compile(&small, &p.vk, config);
            Ok(Snark::new(
                protocol,
                vec![p.instances.clone()],
                p.proof.clone(),
            ))
        })
        .collect()
}

/// The shape of an aggregation circuit: what keygen fixed and proving must reuse.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggregationShape {
    /// halo2-base configuration (k, columns, lookup bits).
    pub config: AggregationConfigParams,
    /// Where halo2-base breaks its virtual columns into real ones.
    pub break_points: Vec<Vec<usize>>,
    /// What the proof exposes after the accumulator.
    pub expose: Expose,
    /// Public instances of the aggregated proof (accumulator included).
    pub num_instances: usize,
}

/// Keys of an aggregation circuit.
pub struct AggregationKeys {
    /// The proving key (holding the verifying key).
    pub pk: ProvingKey<G1Affine>,
    /// The circuit shape.
    pub shape: AggregationShape,
}

fn catch<T>(stage: &'static str, f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| CircuitError::Halo2 {
        stage,
        reason: p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "internal panic".into()),
    })
}

fn build_circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    (inner, snarks): (&[InnerProof], Vec<Snark>),
    expose: &Expose,
) -> Result<AggregationCircuit> {
    catch("aggregation circuit synthesis", || {
        let mut circuit = AggregationCircuit::new::<SHPLONK>(
            stage,
            config,
            params,
            snarks,
            VerifierUniversality::None,
        );
        // An inner aggregation's accumulator is folded into this circuit's own (by
        // snark-verifier); only its claims are combined.
        let previous: Vec<Vec<_>> = circuit
            .previous_instances()
            .iter()
            .zip(inner)
            .map(|(cells, p)| cells[p.skip()..].to_vec())
            .collect();
        let gate = GateChip::default();
        let exposed = combine(circuit.builder.main(0), &gate, &previous, expose);
        circuit.builder.assigned_instances[0].extend(exposed);
        circuit
    })
}

/// Generates the aggregation circuit's keys for these inner proofs (their circuits and count
/// fix the keys; any other proofs of the same circuits, in the same order, reuse them).
/// `k` is the `log2` of the aggregation circuit's rows; `params` must hold at least `2^k`
/// points of the SRS the inner proofs were made with.
pub fn keygen(
    params: &ParamsKZG<Bn256>,
    inner: &[InnerProof],
    expose: &Expose,
    k: u32,
) -> Result<AggregationKeys> {
    let snarks = check_inner(params, inner)?;
    let counts: Vec<usize> = inner.iter().map(|p| p.claims().len()).collect();
    expose.check(&counts)?;
    if k != params.k() {
        return Err(CircuitError::WrongK {
            circuit: "the aggregation circuit".into(),
            want: k,
            got: params.k(),
        });
    }
    let start = AggregationConfigParams {
        degree: k,
        lookup_bits: k as usize - 1,
        ..Default::default()
    };
    let mut circuit = build_circuit(
        CircuitBuilderStage::Keygen,
        start,
        params,
        (inner, snarks),
        expose,
    )?;
    let config = catch("aggregation layout", || {
        circuit.calculate_params(Some(MINIMUM_ROWS))
    })?;
    let vk = catch("aggregation verifying key generation", || {
        keygen_vk(params, &circuit)
    })?
    .map_err(|e| CircuitError::Halo2 {
        stage: "aggregation verifying key generation",
        reason: e.to_string(),
    })?;
    let pk = catch("aggregation proving key generation", || {
        keygen_pk(params, vk, &circuit)
    })?
    .map_err(|e| CircuitError::Halo2 {
        stage: "aggregation proving key generation",
        reason: e.to_string(),
    })?;
    let num_instances = circuit.num_instance()[0];
    Ok(AggregationKeys {
        pk,
        shape: AggregationShape {
            config,
            break_points: circuit.break_points(),
            expose: expose.clone(),
            num_instances,
        },
    })
}

/// An aggregated proof: with the Keccak transcript it is verifiable on the EVM, with the
/// Poseidon transcript it can itself be aggregated (a layer of an aggregation tree).
#[derive(Clone, Debug)]
pub struct AggregatedProof {
    /// Proof bytes.
    pub proof: Vec<u8>,
    /// The accumulator limbs, then the exposed values.
    pub instances: Vec<Fr>,
}

/// Aggregates the inner proofs with keys from [`keygen`] (for the same circuits, in the same
/// order), writing the proof with `transcript`. Every inner proof is verified natively first,
/// and the aggregated proof (with its accumulator) after.
pub fn prove(
    params: &ParamsKZG<Bn256>,
    keys: &AggregationKeys,
    inner: &[InnerProof],
    transcript: Transcript,
) -> Result<AggregatedProof> {
    let snarks = check_inner(params, inner)?;
    let claims: Vec<Vec<Fr>> = inner.iter().map(|p| p.claims().to_vec()).collect();
    let exposed = keys.shape.expose.evaluate(&claims)?;
    let mut circuit = build_circuit(
        CircuitBuilderStage::Prover,
        keys.shape.config,
        params,
        (inner, snarks),
        &keys.shape.expose,
    )?;
    circuit.set_break_points(keys.shape.break_points.clone());
    let instances = circuit.instances().remove(0);
    if instances.len() != keys.shape.num_instances
        || instances[ACCUMULATOR_INSTANCES..] != exposed[..]
    {
        return Err(CircuitError::Incompatible(
            "these inner proofs do not fit the aggregation keys (other circuits or order?)".into(),
        ));
    }
    let proof = catch("aggregation proving", || {
        prover::create_shplonk_proof(params, &keys.pk, circuit, &instances, transcript)
    })??;
    // `create_shplonk_proof` checked the proof; the accumulator it carries is checked too.
    verify(params, keys.pk.get_vk(), &instances, &proof, transcript)
        .map_err(|e| CircuitError::ProofSelfCheck(e.to_string()))?;
    Ok(AggregatedProof { proof, instances })
}

/// KZG parameters that hold only what verifying an aggregated proof needs (`G1`, `[τ]G1`,
/// `G2`, `[τ]G2`) but claim `2^k` rows: taken from `params` (any size, at least 2 points).
pub fn verifier_params(params: &ParamsKZG<Bn256>, k: u32) -> ParamsKZG<Bn256> {
    let g = params.get_g()[..2].to_vec();
    params.from_parts(k, g.clone(), Some(g), params.g2(), params.s_g2())
}

/// Verifies an aggregated proof natively: the proof itself (written with `transcript`: Keccak
/// for the EVM, Poseidon for a layer of a tree), read to its last byte (anything after it is
/// [`CircuitError::TrailingProofBytes`]), and the pairing check of the accumulator it carries
/// in its instances. `params` may be [`verifier_params`].
pub fn verify(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
    transcript: Transcript,
) -> Result<()> {
    if instances.len() < ACCUMULATOR_INSTANCES {
        return Err(CircuitError::ProofRejected(format!(
            "{} public instances cannot hold the {ACCUMULATOR_INSTANCES}-limb accumulator",
            instances.len()
        )));
    }
    let params = verifier_params(params, vk.get_domain().k());
    let protocol = compile(
        &params,
        vk,
        Config::kzg()
            .with_num_instance(vec![instances.len()])
            .with_accumulator_indices(AggregationCircuit::accumulator_indices()),
    );
    let dk: KzgDecidingKey<Bn256> = (params.get_g()[0], params.g2(), params.s_g2()).into();
    let instances = [instances.to_vec()];
    // Reads the proof from either transcript, then checks it and the accumulator's pairing.
    fn check<T: TranscriptRead<G1Affine, NativeLoader>>(
        (dk, protocol, instances): (&KzgDecidingKey<Bn256>, &PlonkProtocol<G1Affine>, &[Vec<Fr>]),
        t: &mut T,
    ) -> std::result::Result<(), snark_verifier_sdk::snark_verifier::Error> {
        let proof = PlonkVerifier::<SHPLONK>::read_proof(dk, protocol, instances, t)?;
        PlonkVerifier::<SHPLONK>::verify(dk, protocol, instances, &proof)
    }
    let what = (&dk, &protocol, &instances[..]);
    // The transcripts read from `rest`, which is left holding what they did not read.
    let mut rest = proof;
    let run = |rest: &mut &[u8]| match transcript {
        Transcript::Keccak => check(
            what,
            &mut EvmTranscript::<G1Affine, NativeLoader, _, _>::new(rest),
        ),
        Transcript::Poseidon => check(
            what,
            &mut PoseidonTranscript::<NativeLoader, &mut &[u8]>::from_spec(
                rest,
                POSEIDON_SPEC.clone(),
            ),
        ),
    };
    match catch_unwind(AssertUnwindSafe(|| run(&mut rest))) {
        Ok(Ok(())) if rest.is_empty() => Ok(()),
        Ok(Ok(())) => Err(CircuitError::TrailingProofBytes { extra: rest.len() }),
        Ok(Err(e)) => Err(CircuitError::ProofRejected(format!("{e:?}"))),
        Err(_) => Err(CircuitError::ProofRejected(
            "malformed proof or accumulator".into(),
        )),
    }
}

/// Serializes a proving key of the aggregation circuit.
pub fn pk_to_bytes(pk: &ProvingKey<G1Affine>) -> Vec<u8> {
    pk.to_bytes(SerdeFormat::RawBytesUnchecked)
}

/// Writes a proving key of the aggregation circuit as [`pk_to_bytes`] does, without holding
/// its bytes in memory (2-3 GB at k = 21).
pub fn write_pk(pk: &ProvingKey<G1Affine>, w: &mut impl std::io::Write) -> std::io::Result<()> {
    pk.write(w, SerdeFormat::RawBytesUnchecked)
}

/// Reads a proving key of the aggregation circuit with the given shape.
pub fn pk_from_bytes(bytes: &[u8], shape: &AggregationShape) -> Result<ProvingKey<G1Affine>> {
    read_pk(&mut &bytes[..], shape)
}

/// Reads a proving key of the aggregation circuit with the given shape from a reader (a
/// buffered file: no copy of its bytes in memory).
pub fn read_pk(
    r: &mut impl std::io::Read,
    shape: &AggregationShape,
) -> Result<ProvingKey<G1Affine>> {
    catch_unwind(AssertUnwindSafe(|| {
        ProvingKey::read::<_, AggregationCircuit>(r, SerdeFormat::RawBytesUnchecked, shape.config)
    }))
    .map_err(|_| CircuitError::corrupt_key("aggregation proving key", None))?
    .map_err(|e| CircuitError::corrupt_key("aggregation proving key", Some(&e)))
}

/// Reads a verifying key of the aggregation circuit with the given shape.
pub fn vk_from_bytes(bytes: &[u8], shape: &AggregationShape) -> Result<VerifyingKey<G1Affine>> {
    let mut r = bytes;
    catch_unwind(AssertUnwindSafe(|| {
        VerifyingKey::read::<_, AggregationCircuit>(&mut r, SerdeFormat::RawBytes, shape.config)
    }))
    .map_err(|_| CircuitError::corrupt_key("aggregation verifying key", None))?
    .map_err(|e| CircuitError::corrupt_key("aggregation verifying key", Some(&e)))
}
