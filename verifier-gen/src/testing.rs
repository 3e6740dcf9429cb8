//! Fixtures of this crate's tests: models compiled from the repository, their keys on a
//! development SRS, and real proofs of the shipped digits model.

use crate::artifact::VkArtifact;
use crate::CompiledContract;
use halo2_proofs::plonk::{keygen_vk, ProvingKey, VerifyingKey};
use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::prover::Proof;
use snarkml_circuits::quantize::{compile, CompileOptions, CompiledModel, Visibility};
use snarkml_circuits::srs::Srs;
use snarkml_circuits::G1Affine;
use std::path::PathBuf;

/// The shipped digits model and its calibration file.
pub(crate) const DIGITS: (&str, &str) = (
    "models/digits_mlp/model.onnx",
    "models/digits_mlp/calibration.json",
);

/// Options with hashed inputs and weights (the Poseidon and parameter-dot gates).
pub(crate) fn hashed() -> CompileOptions {
    CompileOptions {
        inputs: Visibility::Hashed,
        weights: Visibility::Hashed,
        ..CompileOptions::default()
    }
}

/// `model` compiled with `opts` on `calibration` (repository paths), its calibration samples
/// and a development SRS of its `k`.
pub(crate) fn compiled(
    (model, calibration): (&str, &str),
    opts: &CompileOptions,
) -> (CompiledModel, Vec<Vec<Vec<f32>>>, Srs) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let samples = snarkml_circuits::io::load_calibration(&repo.join(calibration)).unwrap();
    let m = compile(&repo.join(model), &samples, opts).unwrap();
    let srs = Srs::generate_insecure(m.layout.k, 1).unwrap();
    (m, samples, srs)
}

/// The verifying key of `model` compiled with `opts`, its SRS and its public instance count.
pub(crate) fn vk_of(
    model: (&str, &str),
    opts: &CompileOptions,
) -> (VerifyingKey<G1Affine>, Srs, usize) {
    let (m, _, srs) = compiled(model, opts);
    let circuit = ModelCircuit::new(&m, None).unwrap();
    let instances = m.num_instances();
    (keygen_vk(&srs.params, &circuit).unwrap(), srs, instances)
}

/// A real proof (Keccak transcript) of the digits model on its first calibration sample.
pub(crate) struct Proven {
    /// Plain or hashed inputs and weights.
    pub(crate) label: &'static str,
    pub(crate) srs: Srs,
    pub(crate) pk: ProvingKey<G1Affine>,
    pub(crate) proof: Proof,
    pub(crate) artifact: VkArtifact,
}

/// Proofs of the digits model, plain and with hashed inputs and weights (more advice columns,
/// the Poseidon gates): made once per test binary, shared by the tests that read them.
pub(crate) fn digits_proofs() -> &'static [Proven] {
    static PROOFS: std::sync::OnceLock<Vec<Proven>> = std::sync::OnceLock::new();
    PROOFS.get_or_init(make_digits_proofs)
}

fn make_digits_proofs() -> Vec<Proven> {
    [("plain", CompileOptions::default()), ("hashed", hashed())]
        .into_iter()
        .map(|(label, opts)| {
            let (m, samples, srs) = compiled(DIGITS, &opts);
            let pk = snarkml_circuits::prover::keygen(&srs.params, &m).unwrap();
            let input = m.quantize_inputs(&samples[0]).unwrap();
            let proof = snarkml_circuits::prover::prove(&srs.params, &pk, &m, &input).unwrap();
            let artifact =
                VkArtifact::from_vk(&srs.params, pk.get_vk(), proof.instances.len()).unwrap();
            Proven {
                label,
                srs,
                pk,
                proof,
                artifact,
            }
        })
        .collect()
}

/// The data-driven verifier's contracts, as `contracts/src` holds them.
const SOURCES: [(&str, &str); 3] = [
    (
        "ConstraintVM.sol",
        include_str!("../../contracts/src/ConstraintVM.sol"),
    ),
    (
        "TranscriptCheck.sol",
        include_str!("../../contracts/src/TranscriptCheck.sol"),
    ),
    (
        "FieldChecks.sol",
        include_str!("../../contracts/src/FieldChecks.sol"),
    ),
];

/// Contract `name` (of `contracts/src/NAME.sol`) compiled with the pinned solc.
pub(crate) fn contract(name: &str, optimize: bool) -> CompiledContract {
    crate::find_solc()
        .expect("the pinned solc (scripts/setup)")
        .compile_with(&SOURCES, &format!("{name}.sol"), name, optimize)
        .unwrap()
}

/// The 4-byte selector of a Solidity error, in hex, checked to be the one the contracts'
/// assembly reverts with.
pub(crate) fn selector(signature: &str) -> String {
    use sha3::{Digest, Keccak256};
    let s = hex::encode(&Keccak256::digest(signature.as_bytes())[..4]);
    assert!(
        SOURCES
            .iter()
            .any(|(_, src)| src.contains(&format!("0x{s}"))),
        "no contract reverts with {signature} (0x{s})"
    );
    s
}
