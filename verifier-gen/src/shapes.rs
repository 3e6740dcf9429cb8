//! Our verifiers on the circuit shapes the compiler makes: a tiny model, the digits MLP at the
//! widest layout the optimizer considers, a CNN (also with randomized checks of its linear
//! layers and one-row rescales, whose forged proof of a lying accumulator every verifier
//! refuses) and a transformer block. Each is proved for real;
//! the self-contained verifier must fit EIP-170, and it and the reusable verifier accept the
//! proof and refuse, as the Rust reference does, a changed item and a flipped byte in every
//! section of the proof, a wrong instance and a proof made for another key.

use crate::artifact::VkArtifact;
use crate::evm::Evm;
use crate::reusable::{compile_key, compile_reusable, compile_single, verify_calldata};
use crate::testing::{compiled, DIGITS};
use crate::verify::verify;
use crate::MAX_RUNTIME_SIZE;
use halo2_proofs::halo2curves::ff::Field;
use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::layout::{Fault, Plan};
use snarkml_circuits::model::Layer;
use snarkml_circuits::prover::{create_shplonk_proof, create_unchecked_proof};
use snarkml_circuits::quantize::{with_one_row_rescales, CompileOptions, LinearMode};
use snarkml_circuits::Fr;

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
    let mut previous: Option<(Vec<u8>, Vec<Fr>)> = None;
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
        // Convolutions and dense layers by randomized checks (a second phase, two
        // challenges) and one-row rescales (a second lookup).
        (
            "CNN, randomized checks, one-row rescales",
            corpus("cnn_digits"),
            CompileOptions {
                linear: LinearMode::Freivalds,
                ..CompileOptions::default()
            },
        ),
        (
            "transformer block",
            corpus("transformer_block"),
            CompileOptions::default(),
        ),
    ] {
        let (mut m, samples, mut srs) = compiled(model, &opts);
        if label.contains("one-row") {
            let two_rows = Plan::build(&m, m.layout.width, None).unwrap();
            m = with_one_row_rescales(m, &two_rows).unwrap();
            srs = snarkml_circuits::srs::Srs::generate_insecure(m.layout.k, 1).unwrap();
        }
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
        // In every section of the proof, its first and last item changed (a valid encoding,
        // so only the algebra can object) and with a byte flipped; a wrong instance; the
        // previous circuit's proof (made for another key).
        let mut bad: Vec<(String, Vec<u8>)> = Vec::new();
        let all = crate::testing::tampered(&artifact, bytes);
        for (name, _, _, count) in crate::testing::sections(&artifact) {
            for item in [0, count - 1] {
                for how in ["changed", "flipped"] {
                    let what = format!("{name} {item} {how}");
                    let at = all.iter().position(|(w, _)| *w == what).expect("listed");
                    bad.push(all[at].clone());
                }
            }
        }
        for (what, proof) in &bad {
            assert!(
                verify(&artifact, instances, proof).is_err(),
                "{label}: {what}"
            );
            assert!(!call(&mut evm, at, proof).0, "{label}: {what}");
            assert!(!call(&mut evm, bound, proof).0, "{label}: {what}");
        }
        let mut wrong = instances.clone();
        wrong[0] += Fr::ONE;
        assert_eq!(
            verify(&artifact, &wrong, bytes),
            Err(crate::verify::VerifyError::Rejected),
            "{label}"
        );
        for to in [at, bound] {
            let c = evm.call(to, verify_calldata(bytes, &wrong, false)).unwrap();
            assert_eq!(c.output[31], 0, "{label}: a wrong instance");
        }
        if let Some((other_proof, other_instances)) = &previous {
            // Another circuit's proof reads (the same proof length) but fails the pairing, or
            // does not read at all.
            assert!(
                matches!(
                    verify(&artifact, other_instances, other_proof),
                    Err(crate::verify::VerifyError::Rejected | crate::verify::VerifyError::Proof(_))
                ),
                "{label}: another circuit's proof"
            );
            for to in [at, bound] {
                let c = evm
                    .call(to, verify_calldata(other_proof, other_instances, false))
                    .unwrap();
                assert_eq!(c.output[31], 0, "{label}: another key's proof");
            }
        }
        if m.uses_freivalds() {
            // A prover lying about one accumulator of the first convolution, everything after
            // it (the public outputs included) computed honestly from the lie: only the
            // randomized check objects, and no verifier accepts the proof.
            let layer = m
                .layers
                .iter()
                .position(|l| matches!(l, Layer::Conv(_)))
                .expect("a convolution");
            let fault = Fault {
                layer,
                element: 3,
                // Big enough to survive the rescale (an accumulator is at scale 2^(s + w)).
                delta: 1 << 21,
                accumulator: true,
            };
            let plan =
                Plan::build_with_fault(&m, m.layout.width, Some(&input), Some(fault)).unwrap();
            let circuit = ModelCircuit::with_plan(&m, plan);
            let lied = circuit.instance_column();
            assert_ne!(&lied, instances, "{label}: the lie reaches the outputs");
            // The honest prover refuses to finish it (its self-check); a dishonest one need not.
            let refused = create_shplonk_proof(
                &srs.params,
                &pk,
                circuit.clone(),
                &lied,
                snarkml_circuits::prover::Transcript::Keccak,
            )
            .unwrap_err();
            assert!(refused.to_string().contains("proof rejected"), "{refused}");
            let forged = create_unchecked_proof(
                &srs.params,
                &pk,
                circuit,
                &lied,
                snarkml_circuits::prover::Transcript::Keccak,
            )
            .unwrap();
            let native = snarkml_circuits::prover::verify(&srs.params, pk.get_vk(), &lied, &forged)
                .unwrap_err();
            assert!(native.to_string().starts_with("proof rejected"), "{native}");
            assert_eq!(
                verify(&artifact, &lied, &forged),
                Err(crate::verify::VerifyError::Rejected),
                "{label}: a lying accumulator"
            );
            for to in [at, bound] {
                let c = evm
                    .call(to, verify_calldata(&forged, &lied, false))
                    .unwrap();
                assert_eq!(c.output[31], 0, "{label}: a lying accumulator");
            }
        }
        previous = Some((bytes.clone(), instances.clone()));
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
