//! The model circuit end to end inside the circuits crate: import, quantization, the
//! reference execution, MockProver negative tests and real proofs.

use common::compile;
use snarkml_circuits::circuit::CircuitParams;
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::exec;
use snarkml_circuits::fixed_point::{from_field, to_field};
use snarkml_circuits::halo2_proofs::dev::VerifyFailure;
use snarkml_circuits::halo2_proofs::plonk::ProvingKey;
use snarkml_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snarkml_circuits::io::InputFile;
use snarkml_circuits::layout::Plan;
use snarkml_circuits::prover::{self, failure_row};
use snarkml_circuits::quantize::{CompileOptions, CompiledModel};
use snarkml_circuits::{Bn256, Fr, G1Affine};
use std::path::{Path, PathBuf};

mod common;
use common::{
    compile_fixture, compile_stem, failures, first_element_off_by, fixture, fixture_samples, srs,
    unsatisfied_constraints,
};

fn models(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(name)
}

fn expected(path: &Path) -> Vec<Vec<f32>> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(v["output_data"].clone()).unwrap()
}

fn digits() -> (CompiledModel, Vec<Vec<f32>>) {
    let samples = common::load_calibration(&models("digits_mlp/calibration.json")).unwrap();
    let model = compile(
        &models("digits_mlp/model.onnx"),
        &samples,
        &CompileOptions::default(),
    )
    .unwrap();
    let input = common::input_file(&models("digits_mlp/input.json")).unwrap();
    (model, input.input_data)
}

fn dequantize(model: &CompiledModel, outputs: &[Vec<i64>]) -> Vec<Vec<f64>> {
    model
        .outputs
        .iter()
        .zip(outputs)
        .map(|(o, q)| {
            let s = model.tensors[o.tensor].scale_bits;
            q.iter()
                .map(|v| snarkml_circuits::fixed_point::dequantize(*v, s))
                .collect()
        })
        .collect()
}

#[test]
fn circuit_outputs_equal_reference_execution_and_float_within_tolerance() {
    // (fixture, tolerance on |quantized - float| per output element)
    for (stem, tol) in [("relu3", 0.01), ("linear", 0.01), ("mlp_flatten", 0.05)] {
        check_fixture(stem, tol);
    }
}

#[test]
fn digits_mlp_matches_float_inference_and_classifies_like_it() {
    let (model, input) = digits();
    assert!(
        model.report.import_max_diff < 1e-4,
        "our graph reading disagrees with tract: {}",
        model.report.import_max_diff
    );
    assert_eq!(model.report.top1_agreement, Some(1.0));
    // Stated tolerance: logits (range about ±24) within 0.1 of float inference.
    assert!(
        model.report.max_abs_error < 0.1,
        "max abs error {}",
        model.report.max_abs_error
    );
    let q = model.quantize_inputs(&input).unwrap();
    let out = exec::run(&model, &q).unwrap().outputs(&model);
    let float = expected(&models("digits_mlp/expected.json"));
    let deq = &dequantize(&model, &out)[0];
    let f: Vec<f64> = float[0].iter().map(|x| f64::from(*x)).collect();
    assert_eq!(
        snarkml_circuits::quantize::argmax(deq),
        snarkml_circuits::quantize::argmax(&f)
    );
    for (a, b) in deq.iter().zip(&f) {
        assert!((a - b).abs() < 0.1, "{a} vs {b}");
    }
    prover::mock(&model, &q).unwrap();
}

#[test]
fn tiny_relu_model_needs_a_small_circuit() {
    let (model, _) = compile_fixture("relu3");
    assert!(
        model.layout.k <= 12,
        "a 3-element ReLU compiled to k={}",
        model.layout.k
    );
}

#[test]
fn corrupted_dot_product_accumulator_fails_exactly_its_two_gates() {
    let (model, input) = compile_fixture("linear");
    let model = {
        let opts = CompileOptions {
            width: 3,
            ..CompileOptions::default()
        };
        let m = compile(&fixture("linear.onnx"), std::slice::from_ref(&input), &opts).unwrap();
        assert_ne!(m, model);
        m
    };
    let q = model.quantize_inputs(&input).unwrap();
    let mut plan = Plan::build(&model, 3, Some(&q)).unwrap();
    let row = (0..plan.rows)
        .find(|r| plan.dot_first[*r] && plan.dot_next[*r + 1])
        .expect("a two-row dot product");
    plan.advice[3][row] += Fr::one(); // the accumulator after the first three products
    let f = failures(&model, plan);
    assert_eq!(f.len(), 2, "{f:#?}");
    let described = unsatisfied_constraints(&f);
    assert!(
        described[0].0.contains("dot product (first row)") && described[0].1 == row,
        "{described:?}"
    );
    assert!(
        described[1].0.contains("dot product (chained row)") && described[1].1 == row + 1,
        "{described:?}"
    );
}

#[test]
fn relu_output_claimed_wrong_fails_exactly_the_lookup() {
    let (model, input) = compile_fixture("relu3");
    let q = model.quantize_inputs(&input).unwrap();
    // A cheating prover claims relu(x) + 1 for the first element and computes everything after
    // it (the packed public output included) consistently: only the lookup can catch it.
    let plan = first_element_off_by(&model, &q, 0, 1);
    let relu_row = plan.layers.iter().find(|l| l.node == "relu").unwrap().start;
    let f = failures(&model, plan);
    assert_eq!(f.len(), 1, "{f:#?}");
    match &f[0] {
        VerifyFailure::Lookup { name, .. } => {
            assert_eq!(name, "activation and range table");
            assert_eq!(failure_row(&f[0]), Some(relu_row));
        }
        other => panic!("expected a lookup failure, got {other}"),
    }
}

#[test]
fn shifting_a_rescale_quotient_is_caught_by_both_lookups() {
    let (model, input) = digits();
    let q = model.quantize_inputs(&input).unwrap();
    let mut plan = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
    let shift = model.weight_scale_bits;
    // A rescale row with q > 1: claim q - 1 with remainder r + 2^s. The rescale gate still
    // holds; the range check on r and the activation lookup on (q, y) must not.
    let top = (0..plan.rows)
        .find(|r| plan.rescale[*r] && from_field(&plan.advice[0][*r]).unwrap() > 1)
        .unwrap();
    plan.advice[0][top] -= Fr::one();
    plan.advice[0][top + 1] += to_field(1 << shift);
    let f = failures(&model, plan);
    let rows: Vec<usize> = f
        .iter()
        .map(|x| match x {
            VerifyFailure::Lookup { name, .. } if name == "activation and range table" => {
                failure_row(x).unwrap()
            }
            other => panic!("unexpected failure {other}"),
        })
        .collect();
    assert_eq!(rows, vec![top, top + 1]);
}

#[test]
fn real_proof_verifies_and_tampering_is_rejected() {
    let (model, input) = compile_fixture("mlp_flatten");
    let srs = srs(model.layout.k);
    let params = srs.trimmed(model.layout.k).unwrap();
    let pk = prover::keygen(&params, &model).unwrap();
    let q = model.quantize_inputs(&input).unwrap();
    let proof = prover::prove(&params, &pk, &model, &q).unwrap();
    prover::verify(&params, pk.get_vk(), &proof.instances, &proof.proof).unwrap();

    let mut flipped = proof.proof.clone();
    flipped[proof.proof.len() / 2] ^= 1;
    assert!(matches!(
        prover::verify(&params, pk.get_vk(), &proof.instances, &flipped),
        Err(CircuitError::ProofRejected(_))
    ));

    let mut wrong_output = proof.instances.clone();
    let last = wrong_output.len() - 1;
    wrong_output[last] += snarkml_circuits::Fr::one();
    assert!(matches!(
        prover::verify(&params, pk.get_vk(), &wrong_output, &proof.proof),
        Err(CircuitError::ProofRejected(_))
    ));

    assert!(matches!(
        prover::verify(&params, pk.get_vk(), &proof.instances, &proof.proof[..100]),
        Err(CircuitError::ProofRejected(_))
    ));

    // The verifying key round-trips through its serialization.
    let vk = prover::vk_from_bytes(&prover::vk_to_bytes(pk.get_vk()), CircuitParams::of(&model))
        .unwrap();
    assert_eq!(prover::vk_hash(&vk), prover::vk_hash(pk.get_vk()));
    prover::verify(&params, &vk, &proof.instances, &proof.proof).unwrap();
}

#[test]
fn bad_models_and_inputs_are_named_in_errors() {
    let opts = CompileOptions::default();
    let sample = vec![vec![0.5f32; 4]];
    // (A missing file is the reader's to name: `tests/cli.rs` in the root package.)
    let not_onnx = compile(
        &fixture("not_onnx.onnx"),
        std::slice::from_ref(&sample),
        &opts,
    )
    .unwrap_err();
    assert!(
        matches!(not_onnx, CircuitError::NotOnnx { .. }),
        "{not_onnx}"
    );

    let unsupported = compile(&fixture("unsupported_op.onnx"), &[sample], &opts).unwrap_err();
    assert_eq!(
        unsupported.to_string(),
        "unsupported ONNX op `Det` at node `det`"
    );

    let (model, _) = digits();
    let bad = common::input_file(&fixture("bad_shape.input.json")).unwrap();
    let err = model.quantize_inputs(&bad.input_data).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input `input`: expected 64 values (shape [1, 64]), got 3"
    );
}

#[test]
fn an_input_nested_in_its_shape_reads_as_the_flat_one_and_other_json_is_named() {
    let read = |text: &str| serde_json::from_str::<InputFile>(text);
    let nested = read(r#"{"input_data": [[[1, 2], [3, 4.5]], [7]]}"#).unwrap();
    assert_eq!(nested.input_data, vec![vec![1.0, 2.0, 3.0, 4.5], vec![7.0]]);
    let err = read(r#"{"input_data": [1, 2]}"#).unwrap_err().to_string();
    assert!(err.contains("input_data[0] is not an array"), "{err}");
    let err = read(r#"{"input_data": [[1, "2"]]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("input_data[0]: expected a number, a boolean or an array, got \"2\""),
        "{err}"
    );
}

#[test]
fn input_outside_the_calibrated_range_is_an_overflow_error() {
    let (model, _) = compile_fixture("relu3");
    let q = model.quantize_inputs(&[vec![1e6, 0.0, 0.0]]).unwrap();
    // Named as the input it is (once quoted), not as a node.
    assert!(matches!(
        exec::run(&model, &q),
        Err(CircuitError::Overflow { at, .. }) if at.starts_with("input `") && !at.contains("node")
    ));
}

#[test]
fn quantized_digits_model_keeps_float_accuracy_on_the_test_split() {
    let (model, _) = digits();
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(models("digits_test.json")).unwrap())
            .unwrap();
    let inputs: Vec<Vec<f32>> = serde_json::from_value(data["inputs"].clone()).unwrap();
    let labels: Vec<usize> = serde_json::from_value(data["labels"].clone()).unwrap();
    let reference = snarkml_circuits::model::onnx::FloatReference::new(
        &common::read(&models("digits_mlp/model.onnx")),
        &[vec![1, 64]],
    )
    .unwrap();
    let (mut float_ok, mut quant_ok) = (0, 0);
    for (x, label) in inputs.iter().zip(&labels) {
        let f: Vec<f64> = reference.run(std::slice::from_ref(x)).unwrap()[0]
            .iter()
            .map(|v| f64::from(*v))
            .collect();
        float_ok += usize::from(snarkml_circuits::quantize::argmax(&f) == *label);
        let q = model.quantize_inputs(std::slice::from_ref(x)).unwrap();
        let out = exec::run(&model, &q).unwrap().outputs(&model);
        quant_ok +=
            usize::from(snarkml_circuits::quantize::argmax(&dequantize(&model, &out)[0]) == *label);
    }
    println!("digits test split: float {float_ok}/450, quantized {quant_ok}/450");
    assert_eq!(labels.len(), 450);
    assert_eq!(
        float_ok, 437,
        "the shipped model's float accuracy is 437/450"
    );
    assert!(
        quant_ok + 2 >= float_ok,
        "quantization lost accuracy: {quant_ok} vs {float_ok}"
    );
}

/// The shipped example circuits, pinned (`tests/fixtures/pins/`, see [`common::pin::check_pin`]):
/// their verifying keys are unchanged and a proof made by an earlier version still verifies.
/// Every other fixture's key is pinned by `ops_corpus.rs`.
#[test]
fn pinned_verifying_keys_have_not_changed_and_stored_proofs_verify() {
    let (relu3, relu3_input) = compile_fixture("relu3");
    let (digits, digits_input) = digits();
    for (name, model, input) in [
        ("relu3", relu3, relu3_input),
        ("digits_mlp", digits, digits_input),
    ] {
        let params = srs(model.layout.k).trimmed(model.layout.k).unwrap();
        let pk = prover::keygen(&params, &model).unwrap();
        let fresh = || {
            let q = model.quantize_inputs(&input).unwrap();
            let proof = prover::prove(&params, &pk, &model, &q).unwrap();
            (proof.instances, proof.proof)
        };
        common::pin::check_pin(
            name,
            &prover::vk_hash(pk.get_vk()),
            fresh,
            |instances, proof| prover::verify(&params, pk.get_vk(), instances, proof),
        );
    }
}

/// Compiles a fixture with its calibration file, then checks that the circuit's outputs equal
/// the reference execution exactly, that MockProver is satisfied, and that the outputs are
/// within `tol` of onnxruntime's float outputs.
fn check_fixture(stem: &str, tol: f64) {
    let model = compile_stem(stem, &fixture_samples(stem), &CompileOptions::default())
        .unwrap_or_else(|e| panic!("{stem}: {e}"));
    assert!(
        model.report.import_max_diff < 1e-4,
        "{stem}: import differs from tract by {}",
        model.report.import_max_diff
    );
    let input = common::input_file(&fixture(&format!("{stem}.input.json"))).unwrap();
    let q = model.quantize_inputs(&input.input_data).unwrap();
    let reference = exec::run(&model, &q).unwrap().outputs(&model);
    let plan = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
    assert_eq!(
        plan.outputs, reference,
        "{stem}: circuit outputs differ from the reference"
    );
    prover::mock(&model, &q).unwrap_or_else(|e| panic!("{stem}: {e}"));
    let float = expected(&fixture(&format!("{stem}.expected.json")));
    for (got, want) in dequantize(&model, &reference).iter().zip(&float) {
        assert_eq!(got.len(), want.len(), "{stem}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - f64::from(*w)).abs() <= tol,
                "{stem}: quantized {g} vs float {w}"
            );
        }
    }
}

#[test]
fn convolutions_match_reference_exactly_and_float_closely() {
    for stem in [
        "conv_basic",
        "conv_stride_pad",
        "conv_dilation_group",
        "conv_depthwise_mlp",
        "conv_1d",
    ] {
        check_fixture(stem, 0.05);
    }
}

/// Compiles a fixture with its calibration file, makes keys and a real proof of its input,
/// and checks the proof verifies; returns what a tampering test needs.
fn prove_fixture(stem: &str) -> (ParamsKZG<Bn256>, ProvingKey<G1Affine>, prover::Proof) {
    let samples = common::load_calibration(&fixture(&format!("{stem}.calibration.json"))).unwrap();
    let model = compile_stem(stem, &samples, &CompileOptions::default()).unwrap();
    let input = common::input_file(&fixture(&format!("{stem}.input.json"))).unwrap();
    let q = model.quantize_inputs(&input.input_data).unwrap();
    let params = srs(model.layout.k).trimmed(model.layout.k).unwrap();
    let pk = prover::keygen(&params, &model).unwrap();
    let proof = prover::prove(&params, &pk, &model, &q).unwrap();
    prover::verify(&params, pk.get_vk(), &proof.instances, &proof.proof).unwrap();
    (params, pk, proof)
}

#[test]
fn small_cnn_proof_verifies_and_a_flipped_byte_does_not() {
    let (params, pk, proof) = prove_fixture("conv_depthwise_mlp");
    let mut flipped = proof.proof.clone();
    flipped[100] ^= 1;
    assert!(matches!(
        prover::verify(&params, pk.get_vk(), &proof.instances, &flipped),
        Err(CircuitError::ProofRejected(_))
    ));
}

#[test]
fn every_activation_matches_reference_exactly_and_float_closely() {
    let names = [
        "sigmoid",
        "tanh",
        "leakyrelu",
        "elu",
        "selu",
        "celu",
        "hardsigmoid",
        "hardswish",
        "softplus",
        "softsign",
        "clip",
        "abs",
        "neg",
        "erf",
    ];
    for name in names {
        check_fixture(&format!("act_{name}"), 0.05);
    }
}

#[test]
fn compiled_models_round_trip_through_model_json() {
    for stem in ["relu3", "act_leakyrelu", "act_clip", "conv_dilation_group"] {
        let samples = fixture_samples(stem);
        let model = compile_stem(stem, &samples, &CompileOptions::default()).unwrap();
        let mut loaded = CompiledModel::from_json(&model.to_json().unwrap()).unwrap();
        // The measured errors are reported numbers (JSON floats parse to within an ulp); the
        // circuit itself must come back exactly.
        assert!((loaded.report.mean_abs_error - model.report.mean_abs_error).abs() < 1e-12);
        assert!((loaded.report.max_abs_error - model.report.max_abs_error).abs() < 1e-12);
        loaded.report = model.report.clone();
        assert_eq!(loaded, model, "{stem}");
    }
}

#[test]
fn affine_and_shape_ops_match_reference_exactly_and_float_closely() {
    for stem in [
        "ops_affine",
        "ops_sub_from_const",
        "conv_bn",
        "ops_shape",
        "ops_concat_gather",
        "ops_pad",
    ] {
        check_fixture(stem, 0.05);
    }
}

#[test]
fn batch_normalization_folds_into_the_convolution() {
    let samples = common::load_calibration(&fixture("conv_bn.calibration.json")).unwrap();
    let model = compile(
        &fixture("conv_bn.onnx"),
        &samples,
        &CompileOptions::default(),
    )
    .unwrap();
    let kinds: Vec<&str> = model
        .layers
        .iter()
        .map(|l| match l {
            snarkml_circuits::quantize::Layer::Conv { .. } => "conv",
            snarkml_circuits::quantize::Layer::Affine { .. } => "affine",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        vec!["conv"],
        "Conv → BatchNorm → Relu should be one fused layer"
    );
}

#[test]
fn average_pooling_matches_reference_exactly_and_float_closely() {
    for stem in [
        "pool_avg",
        "pool_avg_pad",
        "pool_avg_pad_incl",
        "pool_global",
    ] {
        check_fixture(stem, 0.05);
    }
}

#[test]
fn max_pooling_and_a_lenet_shaped_cnn_match_reference_exactly_and_float_closely() {
    for stem in ["pool_max", "pool_max_pad", "pool_global_max", "lenet_tiny"] {
        check_fixture(stem, 0.05);
    }
}

#[test]
fn lenet_shaped_cnn_proves_and_verifies() {
    prove_fixture("lenet_tiny");
}

/// An edit to a JSON document.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn corrupted_model_json_is_refused_with_the_reason_not_a_panic() {
    let (model, _) = digits();
    let good: serde_json::Value = serde_json::from_slice(&model.to_json().unwrap()).unwrap();
    let cases: Vec<(&str, Edit)> = vec![
        (
            "tensor id 99 out of range",
            Box::new(|v| v["layers"][0]["input"] = 99.into()),
        ),
        (
            "weights: 3 values",
            Box::new(|v| v["layers"][0]["weight"] = serde_json::json!([1, 2, 3])),
        ),
        (
            "bias: 0 values",
            Box::new(|v| v["layers"][1]["bias"] = serde_json::json!([])),
        ),
        (
            "pack width 0",
            Box::new(|v| v["outputs"][0]["pack_bits"] = 0.into()),
        ),
    ];
    for (want, edit) in cases {
        let mut v = good.clone();
        edit(&mut v);
        let err = CompiledModel::from_json(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "expected `{want}` in: {err}");
    }
}

/// `model` laid out with one-row rescales (what the compiler picks where they lower `k`).
fn with_one_row_rescales(model: CompiledModel) -> CompiledModel {
    let two_rows = Plan::build(&model, model.layout.width, None).unwrap();
    assert!(two_rows.one_row_savings > 0);
    let one_row = snarkml_circuits::quantize::with_one_row_rescales(model, &two_rows).unwrap();
    assert_eq!(one_row.rows, two_rows.rows - two_rows.one_row_savings);
    one_row
}

/// Asserts that among the failures `f` the lookup `name` fails on `row`.
fn assert_lookup_fails_at(f: &[VerifyFailure], name: &str, row: usize) {
    assert!(
        f.iter().any(
            |e| matches!(e, VerifyFailure::Lookup { name: n, .. } if n == name)
                && failure_row(e) == Some(row)
        ),
        "{f:#?}"
    );
}

/// A corpus model compiled as the CLI does with its calibration file, and its first sample.
fn compile_corpus(stem: &str) -> (CompiledModel, Vec<Vec<f32>>) {
    let samples = fixture_samples(stem);
    let model = compile_stem(stem, &samples, &CompileOptions::default()).unwrap();
    (model, samples[0].clone())
}

#[test]
fn one_row_rescales_satisfy_the_circuit_and_a_remainder_out_of_range_fails_its_lookup() {
    let (direct, data) = compile_corpus("corpus/lenet5");
    let model = with_one_row_rescales(direct.clone());
    let q = model.quantize_inputs(&data).unwrap();
    let plan = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
    let honest = Plan::build(&direct, direct.layout.width, Some(&q)).unwrap();
    assert_eq!(plan.outputs, honest.outputs);
    assert!(plan.rescale_one.iter().any(|b| *b));
    assert!(failures(&model, plan.clone()).is_empty());

    // The prover moves 2^s from the remainder into the quotient's place: r + 2^s, q − 1 keep
    // the rescale's sum, but r is out of its range.
    let row = (0..plan.rows)
        .find(|r| plan.rescale_one[*r] && from_field(&plan.advice[0][*r]).unwrap() > 0)
        .unwrap();
    let divisor = i128::from(plan.weights[0][row]);
    let mut bad = plan;
    let (qv, rv) = (
        from_field(&bad.advice[0][row]).unwrap(),
        from_field(&bad.advice[2][row]).unwrap(),
    );
    bad.advice[0][row] = to_field(qv - 1);
    bad.advice[2][row] = to_field(rv + divisor);
    let f = failures(&model, bad);
    assert_lookup_fails_at(&f, "remainder range table", row);
    assert!(f.iter().all(|e| failure_row(e) == Some(row)), "{f:#?}");
    // A remainder off by one breaks the rescale's sum: that gate, on that row, only.
    let mut plan = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
    plan.advice[2][row] += Fr::one();
    let f = failures(&model, plan);
    let unsatisfied = unsatisfied_constraints(&f);
    assert_eq!(unsatisfied.len(), 1, "{f:#?}");
    assert!(
        unsatisfied[0].0.ends_with("('rescale (one row)')"),
        "{f:#?}"
    );
    assert_eq!(unsatisfied[0].1, row);
}

#[test]
fn split_identity_checks_replace_the_identity_table_and_a_lie_fails_the_named_constraint() {
    let (direct, data) = compile_corpus("corpus/conv_transpose_auto_pad");
    let one_row = with_one_row_rescales(direct.clone());
    let model = snarkml_circuits::quantize::with_split_identity(one_row.clone()).unwrap();
    let (lo, hi) = model
        .tables
        .split_identity()
        .expect("the identity is split");
    assert!(lo > 0 && model.tables.rows() < one_row.tables.rows());
    assert!(model.validate().is_ok());
    let q = model.quantize_inputs(&data).unwrap();
    let plan = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
    let honest = Plan::build(&direct, direct.layout.width, Some(&q)).unwrap();
    assert_eq!(plan.outputs, honest.outputs);
    assert_eq!(plan.instances, honest.instances);
    assert!(failures(&model, plan.clone()).is_empty());

    // The first input's check: | hi | 0 | lo | .. | x |. Moving 2^lo from lo into hi keeps
    // the gate's sum, but lo is negative: the remainder lookup fails, on that row only.
    let acc = model.layout.width;
    let row = (0..plan.rows).find(|r| plan.rescale_one[*r]).unwrap();
    assert_eq!(
        plan.weights[1][row],
        1i64 << (lo + hi - 1),
        "the check's offset"
    );
    let mut bad = plan.clone();
    bad.advice[0][row] += Fr::one();
    bad.advice[2][row] -= to_field(1i128 << lo);
    let f = failures(&model, bad);
    assert_lookup_fails_at(&f, "remainder range table", row);
    assert!(f.iter().all(|e| failure_row(e) == Some(row)), "{f:#?}");
    // An input out of range, its parts consistent with it: the high part is past its table.
    let mut bad = plan.clone();
    let x = from_field(&bad.advice[acc][row]).unwrap();
    let far = x + (1i128 << (lo + hi));
    let u = far + (1i128 << (lo + hi - 1));
    bad.advice[acc][row] = to_field(far);
    bad.advice[0][row] = to_field(u >> lo);
    bad.advice[2][row] = to_field(u & ((1i128 << lo) - 1));
    let f = failures(&model, bad);
    assert_lookup_fails_at(&f, "activation and range table", row);

    // A lie about a rescale to the identity (the logits): its one-row rescale gate fails.
    let layer = model
        .layers
        .iter()
        .rposition(|l| serde_json::to_value(l).unwrap()["rescale"]["act"]["fn"] == "identity")
        .expect("the model has a rescale to the identity");
    let lying = first_element_off_by(&model, &q, layer, 1);
    let f = failures(&model, lying);
    let unsatisfied = unsatisfied_constraints(&f);
    assert_eq!(unsatisfied.len(), 1, "{f:#?}");
    assert!(
        unsatisfied[0].0.ends_with("('rescale (one row)')"),
        "{f:#?}"
    );
}
