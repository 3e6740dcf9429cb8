//! Private and hashed weights: the weights become a witness the verifying key does not reveal,
//! every use of a parameter is tied to one cell, and hashed weights expose the Poseidon
//! commitment the native code computes.

mod common;

use common::circuit_with;

use common::compile;
use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::halo2_proofs::dev::VerifyFailure;
use snarkml_circuits::halo2_proofs::halo2curves::ff::Field;
use snarkml_circuits::layout::Plan;
use snarkml_circuits::model::layers::Dense;
use snarkml_circuits::prover::{self, mock_failures};
use snarkml_circuits::quantize::{CompileOptions, CompiledModel, Layer, Visibility};
use snarkml_circuits::srs::Srs;
use snarkml_circuits::Fr;

fn compiled(stem: &str, weights: Visibility) -> (CompiledModel, Vec<Vec<i64>>) {
    let opts = CompileOptions {
        weights,
        weights_salt: Some(Fr::from(99)),
        width: 3,
        ..CompileOptions::default()
    };
    common::compile_with(stem, &opts)
}

#[test]
fn hashed_weights_prove_every_layer_kind_and_expose_the_native_commitment() {
    for stem in [
        "linear",
        "mlp_flatten",
        "conv_basic",
        "conv_bn",
        "conv_depthwise_mlp",
        "ops_affine",
        "ops_sub_from_const",
        "pool_avg",
    ] {
        let (model, q) = compiled(stem, Visibility::Hashed);
        let circuit = ModelCircuit::new(&model, Some(&q)).unwrap();
        let expected = snarkml_circuits::poseidon::hash(&model.weights_message(Fr::from(99)));
        assert_eq!(
            model.weights_commitment().unwrap(),
            Some(expected),
            "{stem}"
        );
        assert_eq!(circuit.instance_column().last(), Some(&expected), "{stem}");
        assert_eq!(
            circuit.instance_column().len(),
            model.num_instances(),
            "{stem}"
        );
        let failures = mock_failures(&model, &circuit).unwrap();
        assert!(failures.is_empty(), "{stem}: {failures:?}");
        // The circuit computes exactly the quantized reference execution.
        let reference = snarkml_circuits::exec::run(&model, &q)
            .unwrap()
            .outputs(&model);
        assert_eq!(circuit.plan.outputs, reference, "{stem}");
    }
}

#[test]
fn weights_are_packed_before_hashing_and_range_checked() {
    let (model, q) = compiled("mlp_flatten", Visibility::Hashed);
    let (weights, others) = model.split_parameters();
    let others = others.len();
    let bits = model.tables.weight_bits.unwrap();
    assert_eq!(bits, model.weight_bits_needed());
    let per = (252 / bits) as usize;
    let message = model.weights_message(Fr::from(99));
    assert_eq!(message.len(), weights.len().div_ceil(per) + others + 1);
    assert_eq!(
        &message[..weights.len().div_ceil(per)],
        &snarkml_circuits::fixed_point::pack(&weights, bits)[..]
    );

    // A weight outside the range is refused by the lookup even with the commitment recomputed.
    let honest = Plan::build(&model, 3, Some(&q)).unwrap();
    let range_row = (0..honest.rows)
        .find(|r| honest.lookup[*r] && honest.tag[*r] == snarkml_circuits::layout::WEIGHT_RANGE_TAG)
        .unwrap();
    let mut p = honest.clone();
    p.advice[0][range_row] += Fr::from(1u64 << bits);
    assert!(!mock_failures(&model, &circuit_with(&model, p))
        .unwrap()
        .is_empty());
}

#[test]
fn private_weights_are_not_in_the_verifying_key() {
    let (model, _) = compiled("mlp_flatten", Visibility::Private);
    let mut changed = model.clone();
    if let Some(Layer::Dense(Dense { weight, .. })) = changed
        .layers
        .iter_mut()
        .find(|l| matches!(l, Layer::Dense { .. }))
    {
        weight[0] += 3;
    } else {
        panic!("mlp_flatten has a dense layer");
    }
    let srs = Srs::generate_insecure(model.layout.k, 5).unwrap();
    let vk = |m: &CompiledModel| prover::vk_hash(prover::keygen(&srs.params, m).unwrap().get_vk());
    assert_eq!(
        vk(&model),
        vk(&changed),
        "the verifying key depends on private weights"
    );

    let (fixed, _) = compiled("mlp_flatten", Visibility::Fixed);
    let mut fixed_changed = fixed.clone();
    if let Some(Layer::Dense(Dense { weight, .. })) = fixed_changed
        .layers
        .iter_mut()
        .find(|l| matches!(l, Layer::Dense { .. }))
    {
        weight[0] += 3;
    }
    assert_ne!(
        vk(&fixed),
        vk(&fixed_changed),
        "fixed weights are bound by the verifying key"
    );
}

#[test]
fn one_use_of_a_shared_weight_cannot_differ_from_the_others() {
    // A convolution uses each kernel weight at every output position.
    let (model, q) = compiled("conv_basic", Visibility::Private);
    let honest = Plan::build(&model, 3, Some(&q)).unwrap();
    let w = honest.width;
    // The second row holding weight values in the first `wv` column is a second use.
    let rows: Vec<usize> = (0..honest.rows)
        .filter(|r| honest.pdot_first[*r] && honest.advice[w + 1][*r] != Fr::ZERO)
        .collect();
    assert!(rows.len() >= 2, "conv_basic reuses its kernel");
    let mut plan = honest.clone();
    plan.advice[w + 1][rows[1]] += Fr::ONE;
    let failures = mock_failures(&model, &circuit_with(&model, plan)).unwrap();
    assert!(
        failures
            .iter()
            .any(|f| matches!(f, VerifyFailure::Permutation { .. })),
        "a changed use of a shared weight went unnoticed: {failures:?}"
    );
}

#[test]
fn other_weights_cannot_claim_the_committed_ones() {
    let (model, q) = compiled("linear", Visibility::Hashed);
    let committed = model.weights_commitment().unwrap().unwrap();
    // A prover who runs other weights computes another commitment; claiming the registered one
    // fails.
    let mut other = model.clone();
    if let Some(Layer::Dense(Dense { bias, .. })) = other
        .layers
        .iter_mut()
        .find(|l| matches!(l, Layer::Dense { .. }))
    {
        bias[0] += 1;
    } else {
        panic!("linear has a dense layer");
    }
    let mut plan = Plan::build(&other, 3, Some(&q)).unwrap();
    assert_ne!(plan.instances.last(), Some(&committed));
    *plan.instances.last_mut().unwrap() = committed;
    assert!(!mock_failures(&other, &circuit_with(&other, plan))
        .unwrap()
        .is_empty());
}

#[test]
fn weights_cannot_be_public_and_hashed_weights_need_a_salt() {
    let data = common::fixture_samples("linear").remove(0);
    let opts = CompileOptions {
        weights: Visibility::Public,
        ..CompileOptions::default()
    };
    let err = compile(&common::fixture("linear.onnx"), &[data], &opts).unwrap_err();
    assert!(
        err.to_string()
            .contains("weights are fixed, private or hashed"),
        "{err}"
    );
    let (mut model, _) = compiled("linear", Visibility::Hashed);
    model.weights_salt = None;
    assert!(model.validate().unwrap_err().contains("without a salt"));
}
