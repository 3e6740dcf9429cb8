//! Our verifiers on the circuit shapes the compiler makes: a tiny model, the digits MLP at the
//! widest layout the optimizer considers, a CNN and a transformer block. Each is proved for real;
//! the self-contained verifier must fit EIP-170, and it and the reusable verifier accept the
//! proof and refuse tampered ones, as the Rust reference does.

use crate::artifact::VkArtifact;
use crate::evm::Evm;
use crate::reusable::{compile_key, compile_reusable, compile_single, verify_calldata};
use crate::testing::{compiled, DIGITS};
use crate::verify::verify;
use crate::MAX_RUNTIME_SIZE;
use snarkml_circuits::quantize::CompileOptions;

#[test]
fn our_verifiers_check_every_circuit_shape_the_compiler_makes() {
    let solc = crate::find_solc().expect("the pinned solc (scripts/setup)");
    let corpus = |name: &'static str| -> (&'static str, &'static str) {
        match name {
            "cnn_digits" => (
                "tests/fixtures/corpus/cnn_digits.onnx",
                "tests/fixtures/corpus/cnn_digits.calibration.json",
            ),
            _ => (
                "tests/fixtures/corpus/transformer_block.onnx",
                "tests/fixtures/corpus/transformer_block.calibration.json",
            ),
        }
    };
    // The widest layout `compile --optimize` considers (32 multiply-accumulates per row: 33
    // advice columns).
    let widest = CompileOptions {
        width: 32,
        ..CompileOptions::default()
    };
    let mut evm = Evm::default();
    let verifier = evm
        .deploy(compile_reusable(&solc).unwrap().initcode)
        .unwrap();
    let key = compile_key(&solc).unwrap();
    for (label, model, opts) in [
        (
            "tiny (relu3)",
            (
                "tests/fixtures/relu3.onnx",
                "tests/fixtures/relu3.input.json",
            ),
            CompileOptions::default(),
        ),
        ("digits MLP, width 32", DIGITS, widest),
        ("CNN", corpus("cnn_digits"), CompileOptions::default()),
        (
            "transformer block",
            corpus("transformer_block"),
            CompileOptions::default(),
        ),
    ] {
        let (m, samples, srs) = compiled(model, &opts);
        let pk = snarkml_circuits::prover::keygen(&srs.params, &m).unwrap();
        let input = m.quantize_inputs(&samples[0]).unwrap();
        let proof = snarkml_circuits::prover::prove(&srs.params, &pk, &m, &input).unwrap();
        let (instances, bytes) = (&proof.instances, &proof.proof);
        let artifact = VkArtifact::from_vk(&srs.params, pk.get_vk(), instances.len()).unwrap();
        verify(&artifact, instances, bytes).unwrap_or_else(|e| panic!("{label}: {e}"));

        let (_, single) = compile_single(&artifact, &solc).unwrap();
        assert!(single.runtime.len() <= MAX_RUNTIME_SIZE, "{label}");
        let at = evm.deploy(single.initcode).unwrap();
        let call = |evm: &mut Evm, to, proof: &[u8]| {
            let c = evm
                .call(to, verify_calldata(proof, instances, false))
                .unwrap();
            (c.output[31] == 1, c.gas)
        };
        let (ok, single_gas) = call(&mut evm, at, bytes);
        assert!(ok, "{label}: self-contained");

        let encoded = artifact.encode().unwrap();
        let (_, bound) = evm.deploy_key(&key.initcode, verifier, &encoded).unwrap();
        let (ok, reusable_gas) = call(&mut evm, bound, bytes);
        assert!(ok, "{label}: reusable");
        // A sample of tampered proofs: one per section at least.
        for (what, bad) in crate::testing::tampered(&artifact, bytes)
            .into_iter()
            .step_by(5)
        {
            assert!(
                verify(&artifact, instances, &bad).is_err(),
                "{label}: {what}"
            );
            assert!(!call(&mut evm, at, &bad).0, "{label}: {what}");
            assert!(!call(&mut evm, bound, &bad).0, "{label}: {what}");
        }
        println!(
            "{label}: k {}, {} advice, proof {} bytes, artifact {} bytes, {} ops; self-contained {} bytes, {single_gas} gas; reusable {reusable_gas} gas",
            artifact.k,
            artifact.advice,
            bytes.len(),
            encoded.len(),
            artifact.program.ops.len(),
            single.runtime.len()
        );
    }
}
