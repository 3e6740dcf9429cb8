//! The audit chunk circuit: several samples through one set of committed private weights,
//! first-argmax against private one-hot labels, one step of the dataset hash chain per sample;
//! public `(C_W, h_in, h_out, n, correct)`.

mod common;

use common::circuit_with;
use snarkml_circuits::audit::{argmax, chain, correct_count, CHAIN_START};
use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::layout::Plan;
use snarkml_circuits::prover::mock_failures;
use snarkml_circuits::quantize::{min_k, CompileOptions, CompiledModel, Visibility};
use snarkml_circuits::Fr;

/// `mlp_flatten` (8 inputs, 3 classes) with hashed weights, and four labelled samples: two
/// labelled with the model's prediction, two with another class.
fn chunk() -> (CompiledModel, Vec<(Vec<i64>, u32)>) {
    let opts = CompileOptions {
        weights: Visibility::Hashed,
        weights_salt: Some(Fr::from(7)),
        width: 3,
        ..CompileOptions::default()
    };
    let (model, _) = common::compile_with("mlp_flatten", &opts);
    let inputs: Vec<Vec<f32>> = (0..4)
        .map(|s| (0..8).map(|e| ((s * 8 + e) as f32 * 0.37).sin()).collect())
        .collect();
    let samples = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let q = model
                .quantize_inputs(std::slice::from_ref(x))
                .unwrap()
                .remove(0);
            let out = snarkml_circuits::exec::run(&model, std::slice::from_ref(&q))
                .unwrap()
                .outputs(&model);
            let predicted = argmax(&out[0]) as u32;
            let label = if i % 2 == 0 {
                predicted
            } else {
                (predicted + 1) % 3
            };
            (q, label)
        })
        .collect();
    (model, samples)
}

fn plan(model: &CompiledModel, samples: &[(Vec<i64>, u32)], h_in: Fr) -> Plan {
    Plan::build_audit(model, 3, Some(samples), samples.len(), h_in).unwrap()
}

/// MockProver failures of an audit plan, at the plan's own `k`.
fn failures(
    model: &CompiledModel,
    plan: Plan,
) -> Vec<snarkml_circuits::halo2_proofs::dev::VerifyFailure> {
    let mut sized = model.clone();
    sized.layout.k = min_k(plan.rows, model.tables.rows());
    mock_failures(&sized, &circuit_with(&sized, plan)).unwrap()
}

#[test]
fn chunk_proves_the_reference_count_and_chain_step() {
    let (model, samples) = chunk();
    let plan = plan(&model, &samples, CHAIN_START);
    let expected = vec![
        model.weights_commitment().unwrap().unwrap(),
        CHAIN_START,
        *chain(CHAIN_START, &samples, model.inputs[0].pack_bits)
            .last()
            .unwrap(),
        Fr::from(4),
        Fr::from(correct_count(&model, &samples).unwrap() as u64),
    ];
    assert_eq!(correct_count(&model, &samples).unwrap(), 2);
    assert_eq!(plan.instances, expected);
    let found = failures(&model, plan);
    assert!(found.is_empty(), "{found:?}");

    // Chunks chain: the second half continues from the first half's end.
    let first = *chain(CHAIN_START, &samples[..2], model.inputs[0].pack_bits)
        .last()
        .unwrap();
    let second = plan_instances(&model, &samples[2..], first);
    assert_eq!(second[1], first);
    assert_eq!(second[2], expected[2]);
}

fn plan_instances(model: &CompiledModel, samples: &[(Vec<i64>, u32)], h_in: Fr) -> Vec<Fr> {
    let p = plan(model, samples, h_in);
    assert!(failures(model, p.clone()).is_empty());
    p.instances
}

#[test]
fn claiming_more_correct_or_another_chain_fails() {
    let (model, samples) = chunk();
    let honest = plan(&model, &samples, CHAIN_START);
    for (i, what) in [
        (1, "h_in"),
        (2, "h_out"),
        (3, "n"),
        (4, "correct"),
        (0, "C_W"),
    ] {
        let mut p = honest.clone();
        p.instances[i] += Fr::one();
        assert!(
            !failures(&model, p).is_empty(),
            "a changed {what} was accepted"
        );
    }
}

#[test]
fn a_label_that_is_not_one_hot_fails() {
    let (model, samples) = chunk();
    let honest = plan(&model, &samples, CHAIN_START);
    // The first sample's one-hot cells are the witnesses right after its layers: find the
    // rows holding a lone 0/1 in column 0 that belong to sample 0 and set a second hot class.
    let sample0 = honest.layers.iter().find(|l| l.node == "sample 0").unwrap();
    let w = honest.width;
    let mut p = honest.clone();
    let candidates: Vec<usize> = (sample0.start..sample0.end)
        .filter(|r| {
            !p.dot_first[*r]
                && !p.dot_next[*r]
                && !p.pdot_first[*r]
                && !p.pdot_next[*r]
                && !p.lookup[*r]
                && !p.rescale[*r]
                && p.advice[0][*r] == Fr::zero()
                && p.advice[w][*r] == Fr::zero()
        })
        .collect();
    assert!(!candidates.is_empty());
    p.advice[0][candidates[0]] = Fr::one();
    assert!(!failures(&model, p).is_empty(), "two hot classes accepted");
}

#[test]
fn keygen_plan_has_the_proving_plans_shape() {
    let (model, samples) = chunk();
    let with = plan(&model, &samples, CHAIN_START);
    let without = Plan::build_audit(&model, 3, None, samples.len(), Fr::zero()).unwrap();
    assert_eq!(with.rows, without.rows);
    assert_eq!(with.copies, without.copies);
    assert_eq!(with.instances.len(), without.instances.len());
    let c = ModelCircuit::new(&model, None).unwrap();
    assert!(
        c.plan.rows < with.rows,
        "the chunk lays the model out once per sample"
    );
    let err = Plan::build_audit(&model, 3, Some(&samples[..1]), 2, Fr::zero()).unwrap_err();
    assert!(err.to_string().contains("1 samples where the chunk has 2"));
}

#[test]
fn chunk_proofs_verify_with_their_keys_and_edited_files_are_refused() {
    use snarkml_circuits::audit::chunk::{self, ChunkProofFile};
    use snarkml_circuits::prover::{self, Transcript};
    use snarkml_circuits::srs::Srs;

    let (model, samples) = chunk();
    let k = chunk::chunk_k(&model, samples.len()).unwrap();
    let srs = Srs::generate_insecure(k, 3).unwrap();
    let pk = chunk::keygen(&srs.params, &model, samples.len()).unwrap();
    let err =
        chunk::keygen(&Srs::generate_insecure(k + 1, 3).unwrap().params, &model, 4).unwrap_err();
    assert!(err.to_string().contains(&format!("needs k={k}")), "{err}");

    // The second half of the samples, from the first half's chain value.
    let h_in = chain(CHAIN_START, &samples[..2], model.inputs[0].pack_bits)[2];
    let pk2 = chunk::keygen(&srs.params, &model, 2).unwrap();
    let half = chunk::prove(
        &srs.params,
        &pk2,
        &model,
        &samples[2..],
        h_in,
        Transcript::Poseidon,
    )
    .unwrap();
    assert_eq!(half.instances.h_in, h_in);
    assert_eq!(half.instances.samples, 2);

    let proof = chunk::prove(
        &srs.params,
        &pk,
        &model,
        &samples,
        CHAIN_START,
        Transcript::Poseidon,
    )
    .unwrap();
    assert_eq!(proof.instances.correct, 2);
    let vk_hash = prover::vk_hash(pk.get_vk());
    let through_bytes = |f: &ChunkProofFile| ChunkProofFile::from_json(&f.to_json().unwrap());
    let file = through_bytes(&ChunkProofFile::new(
        &model.name,
        &vk_hash,
        &srs.id(),
        (0, 1, 0),
        &proof,
    ))
    .unwrap();
    chunk::verify(&srs.params, pk.get_vk(), &file).unwrap();
    // The key is pinned, and a proof of an earlier version still verifies with it.
    common::pin::check_pin(
        "audit_chunk_mlp_flatten_4",
        &vk_hash,
        || (proof.instances.to_vec(), proof.proof.clone()),
        |instances, bytes| {
            prover::verify_with(
                &srs.params,
                pk.get_vk(),
                instances,
                bytes,
                Transcript::Poseidon,
            )
        },
    );
    // Another chunk size is another circuit: its key does not verify this proof.
    assert!(matches!(
        chunk::verify(&srs.params, pk2.get_vk(), &file),
        Err(CircuitError::ProofRejected(_))
    ));

    // A count raised consistently in the shown values and the instances: the file loads, the
    // proof does not verify.
    let mut raised = file.clone();
    raised.correct = 3;
    raised.instances[4] = snarkml_circuits::fixed_point::field_to_hex(&Fr::from(3));
    let loaded = through_bytes(&raised).unwrap();
    assert!(matches!(
        chunk::verify(&srs.params, pk.get_vk(), &loaded),
        Err(CircuitError::ProofRejected(_))
    ));
    // A count raised in the shown values only: the file is refused.
    let mut shown = file.clone();
    shown.correct = 3;
    let err = through_bytes(&shown).unwrap_err().to_string();
    assert!(err.contains("edited file?"), "{err}");
    let mut bad = file;
    bad.chunk = 1;
    let err = through_bytes(&bad).unwrap_err().to_string();
    assert!(err.contains("chunk 1 of 1 does not exist"), "{err}");
}
