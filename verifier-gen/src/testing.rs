//! Fixtures of this crate's tests: models compiled from the repository, their keys on a
//! development SRS, and real proofs of the shipped digits model.

use crate::artifact::VkArtifact;
use halo2_proofs::plonk::{keygen_vk, ProvingKey, VerifyingKey};
use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::prover::Proof;
use snarkml_circuits::quantize::{compile, CompileOptions, CompiledModel, LinearMode, Visibility};
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
    let read = |path: &str| std::fs::read(repo.join(path)).unwrap();
    let samples = snarkml_circuits::io::parse_calibration(&read(calibration)).unwrap();
    let onnx = snarkml_circuits::model::onnx::OnnxBytes {
        bytes: &read(model),
        name: "model",
    };
    let m = compile(onnx, &samples, opts).unwrap();
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

/// Proofs of the digits model, plain, with hashed inputs and weights (more advice columns,
/// the Poseidon gates) and with randomized checks of its linear layers (a second phase: three
/// more advice columns, two challenges): made once per test binary, shared by the tests that
/// read them.
pub(crate) fn digits_proofs() -> &'static [Proven] {
    static PROOFS: std::sync::OnceLock<Vec<Proven>> = std::sync::OnceLock::new();
    PROOFS.get_or_init(make_digits_proofs)
}

fn make_digits_proofs() -> Vec<Proven> {
    let randomized = CompileOptions {
        linear: LinearMode::Freivalds,
        ..CompileOptions::default()
    };
    [
        ("plain", CompileOptions::default()),
        ("hashed", hashed()),
        ("randomized", randomized),
    ]
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

/// The proof's byte ranges, by section: (name, start, item size, count).
pub(crate) fn sections(a: &VkArtifact) -> Vec<(&'static str, usize, usize, usize)> {
    let [adv, l, z, q] =
        [a.advice, a.lookups, a.permutation_sets, a.quotient_pieces].map(usize::from);
    let mut at = 0;
    let mut out = Vec::new();
    for (name, size, count) in [
        ("advice", 64, adv),
        ("permuted", 64, 2 * l),
        ("permutation z", 64, z),
        ("lookup z", 64, l),
        ("random", 64, 1),
        ("quotient", 64, q),
        ("evaluations", 32, a.program.evals as usize),
        ("W", 64, 1),
        ("W'", 64, 1),
    ] {
        out.push((name, at, size, count));
        at += size * count;
    }
    out
}

/// Every way the tests change a proof: per item of every section, a valid but different
/// encoding (a scalar plus one, a point doubled: "… changed") and a flipped byte
/// ("… flipped").
pub(crate) fn tampered(a: &VkArtifact, proof: &[u8]) -> Vec<(String, Vec<u8>)> {
    use crate::encoding::{point_from_be, point_to_be, scalar_from_be, scalar_to_be};
    use halo2_proofs::halo2curves::ff::Field;
    use halo2_proofs::halo2curves::group::Curve;
    let mut out = Vec::new();
    for (name, start, size, count) in sections(a) {
        for i in 0..count {
            let at = start + i * size;
            let mut bad = proof.to_vec();
            if size == 32 {
                let v = scalar_from_be(&bad[at..at + 32]).expect("a canonical scalar");
                bad[at..at + 32].copy_from_slice(&scalar_to_be(&(v + snarkml_circuits::Fr::ONE)));
            } else {
                let q = point_from_be(&bad[at..at + 64]).expect("a point");
                bad[at..at + 64].copy_from_slice(&point_to_be(&(q + q).to_affine()));
            }
            out.push((format!("{name} {i} changed"), bad));
            let mut flipped = proof.to_vec();
            flipped[at + size / 2] ^= 0x10;
            out.push((format!("{name} {i} flipped"), flipped));
        }
    }
    out
}
