//! The op-coverage corpus (`tests/fixtures/corpus/`, made by `scripts/make_corpus.py`): every
//! model compiles, its circuit computes exactly the quantized reference execution, MockProver
//! accepts it, and its dequantized outputs stay close to onnxruntime's float outputs.

mod common;

use common::compile_stem;
use common::corpus::{assert_quotient_lie_fails_its_remainder_check, corpus_model};
use common::{
    failures, first_element_off_by, fixture, fixture_samples, srs, unsatisfied_constraints,
};
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::exec;
use snarkml_circuits::halo2_proofs::dev::VerifyFailure;
use snarkml_circuits::layout::{range_tag, Plan};
use snarkml_circuits::prover::{self, failure_row};
use snarkml_circuits::quantize::{CompileOptions, Layer};
use snarkml_circuits::Fr;

/// Σ|quantized − float| / Σ|float| over the calibration samples (the compiler's own report)
/// that every corpus model stays under: the compiler's default target.
const MEAN_RELATIVE_ERROR: f64 = 0.01;
/// The same measure on the one input file against onnxruntime, a second float engine (one
/// sample with small outputs is noisier than the eight of the calibration set).
const INPUT_RELATIVE_ERROR: f64 = 0.05;

fn corpus() -> Vec<String> {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("corpus/INDEX.json")).unwrap())
            .unwrap();
    index
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_corpus_model_proves_its_quantized_reference_and_tracks_float() {
    let names = corpus();
    assert!(names.len() >= 30, "the corpus lists {} models", names.len());
    let mut report = Vec::new();
    for name in names {
        let stem = format!("corpus/{name}");
        let model = compile_stem(&stem, &fixture_samples(&stem), &CompileOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = common::input_file(&fixture(&format!("{stem}.input.json"))).unwrap();
        let q = model.quantize_inputs(&input.input_data).unwrap();
        let reference = exec::run(&model, &q)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .outputs(&model);
        let plan = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
        assert_eq!(
            plan.outputs, reference,
            "{name}: circuit and reference differ"
        );
        prover::mock(&model, &q).unwrap_or_else(|e| panic!("{name}: {e}"));

        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{stem}.expected.json"))).unwrap(),
        )
        .unwrap();
        // Our float reading of the graph is onnxruntime's model (tract, the compiler's own
        // cross-check, evaluates reverse-direction GRUs as forward ones).
        let graph = common::parse_onnx(&fixture(&format!("{stem}.onnx"))).unwrap();
        for (ours, want) in graph
            .run_f32(&input.input_data)
            .iter()
            .zip(expected["output_data"].as_array().unwrap())
        {
            for (a, b) in ours.iter().zip(want.as_array().unwrap()) {
                let b = b.as_f64().unwrap();
                assert!(
                    (f64::from(*a) - b).abs() <= 1e-4 * b.abs().max(1.0),
                    "{name}: our float reading gives {a}, onnxruntime {b}"
                );
            }
        }
        let (mut err, mut mag, mut count) = (0f64, 0f64, 0usize);
        for (spec, (got, want)) in model.outputs.iter().zip(
            reference
                .iter()
                .zip(expected["output_data"].as_array().unwrap()),
        ) {
            let scale = (1u64 << model.tensors[spec.tensor].scale_bits) as f64;
            let want = want.as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{name}: output length");
            for (g, w) in got.iter().zip(want) {
                let w = w.as_f64().unwrap();
                err += (*g as f64 / scale - w).abs();
                mag += w.abs();
                count += 1;
            }
        }
        let relative = err / mag.max(1e-9);
        report.push(format!(
            "{name}: k={} rows={} scale={} calibration relative={:.4} input relative={:.4} (mean |err| {:.4})",
            model.layout.k,
            model.rows,
            model.scale_bits,
            model.report.mean_rel_error,
            relative,
            err / count as f64
        ));
        assert!(
            model.report.mean_rel_error <= model.report.max_rel_error,
            "{name}: the mean relative error {} exceeds the worst sample's {}",
            model.report.mean_rel_error,
            model.report.max_rel_error
        );
        assert!(
            model.report.mean_rel_error <= MEAN_RELATIVE_ERROR,
            "{name}: mean relative error {:.4} on the calibration samples, over {MEAN_RELATIVE_ERROR}\n{}",
            model.report.mean_rel_error,
            report.join("\n")
        );
        assert!(
            relative <= INPUT_RELATIVE_ERROR,
            "{name}: relative error {relative:.4} against onnxruntime, over {INPUT_RELATIVE_ERROR}\n{}",
            report.join("\n")
        );
    }
    println!("{}", report.join("\n"));
}

/// Every model of the fixtures and of the corpus, compiled on its calibration samples, keeps
/// its pinned verifying key (`tests/fixtures/pins/model_vk_hashes.json`; rewritten with
/// `SNARKML_UPDATE_PINS=1`): a change of the compiler that alters any model's circuit — one
/// gate, one table, one fixed cell, one copy — fails here, naming the models it changed.
#[test]
fn every_fixture_and_corpus_circuit_keeps_its_pinned_verifying_key() {
    let mut stems: Vec<String> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".onnx").map(str::to_owned))
        // The two fixtures made to be refused: not ONNX, and an op we do not support.
        .filter(|stem| !matches!(stem.as_str(), "not_onnx" | "unsupported_op"))
        .collect();
    stems.extend(corpus().into_iter().map(|n| format!("corpus/{n}")));
    stems.sort();
    let mut actual = std::collections::BTreeMap::new();
    for stem in &stems {
        let model = compile_stem(stem, &fixture_samples(stem), &CompileOptions::default())
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        let vk = prover::keygen_vk(&srs(model.layout.k).params, &model).unwrap();
        actual.insert(stem.clone(), prover::vk_hash(&vk));
    }
    let path = common::pin::pin_path("model_vk_hashes");
    if std::env::var_os(common::pin::UPDATE_PINS).is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
    }
    let pinned: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let changed: Vec<&String> = stems
        .iter()
        .filter(|s| pinned.get(*s) != actual.get(*s))
        .collect();
    assert!(
        changed.is_empty() && pinned.len() == actual.len(),
        "verifying keys changed for {changed:?} (pinned {} models, made {}); if deliberate, \
         explain it and rerun with {}=1",
        pinned.len(),
        actual.len(),
        common::pin::UPDATE_PINS
    );
}

#[test]
fn a_softmax_quotient_off_by_one_fails_the_remainder_range_check() {
    let (model, q) = corpus_model("softmax_last");
    let layer = model
        .layers
        .iter()
        .position(|l| matches!(l, Layer::Div { .. }))
        .expect("softmax divides");
    // The prover claims the first probability one unit higher and computes the rest (the
    // public outputs included) from it.
    assert_quotient_lie_fails_its_remainder_check(&model, &q, layer);
}

#[test]
fn a_floor_quotient_off_by_one_fails_its_remainder_range_checks() {
    // `Mod` of token ids: the prover claims the first quotient one unit higher, so the
    // remainder `x − d·q` it must then show is negative (and `d − 1 − r` is too large).
    let (model, q) = corpus_model("integer_ops");
    let layer = model
        .layers
        .iter()
        .position(|l| matches!(l, Layer::FloorDiv(_)))
        .expect("Mod lowers to a floor division");
    let plan = first_element_off_by(&model, &q, layer, 1);
    // layers[0] of the plan is the inputs.
    let rows = plan.layers[layer + 1].start..plan.layers[layer + 1].end;
    let f = failures(&model, plan);
    assert!(!f.is_empty(), "a wrong quotient is accepted");
    // Only the range checks of the layer's rows object: a lookup outside the range table,
    // or (with limbs) the copy of the value into its limb chain.
    for e in &f {
        assert!(
            matches!(e, VerifyFailure::Lookup { name, .. } if name == "activation and range table")
                || matches!(e, VerifyFailure::Permutation { .. }),
            "{f:#?}"
        );
        let row = failure_row(e).expect("a row");
        assert!(
            rows.contains(&row),
            "row {row} outside the layer's {rows:?}: {f:#?}"
        );
    }
}

/// Compiles ONNX `bytes` on one sample and runs the circuit's reference execution: the
/// outputs in floats.
fn compile_and_run(bytes: &[u8], sample: Vec<Vec<f32>>) -> Vec<Vec<f64>> {
    let onnx = snarkml_circuits::model::onnx::OnnxBytes { bytes, name: "old" };
    let model = snarkml_circuits::quantize::compile(
        onnx,
        std::slice::from_ref(&sample),
        &CompileOptions::default(),
    )
    .unwrap();
    let q = model.quantize_inputs(&sample).unwrap();
    prover::mock(&model, &q).unwrap();
    let outputs = exec::run(&model, &q).unwrap().outputs(&model);
    outputs
        .iter()
        .zip(&model.outputs)
        .map(|(o, spec)| {
            let scale = (1u64 << model.tensors[spec.tensor].scale_bits) as f64;
            o.iter().map(|v| *v as f64 / scale).collect()
        })
        .collect()
}

#[test]
fn calibration_values_fixed_point_cannot_hold_are_refused_naming_the_tensor() {
    use common::onnx::{model, node};
    // What the ONNX suite's test inputs of uninitialized doubles hold (2.4e198 is inf as f32),
    // and a finite value beyond any table: refused before any table is sized (a table of
    // 2^65 rows once overflowed a shift).
    let bytes = model(
        vec![node("Exp", &["x"], "o", vec![])],
        &[("x", &[1, 2])],
        &[("o", &[1, 2])],
        vec![],
    );
    for (v, tensor) in [(f32::INFINITY, "x"), (3e9, "x"), (30.0, "o")] {
        let onnx = snarkml_circuits::model::onnx::OnnxBytes {
            bytes: &bytes,
            name: "big",
        };
        let err = snarkml_circuits::quantize::compile(
            onnx,
            &[vec![vec![v, 0.5]]],
            &CompileOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, CircuitError::BadValue { what, reason }
                if *what == format!("tensor `{tensor}`") && reason.contains("below 2^31")),
            "{v}: {err}"
        );
    }
}

#[test]
fn old_exporters_attributes_are_honoured_legacy_broadcast_and_pad_values() {
    use common::onnx::{constant, float, int, model_at, node};
    use tract_onnx::pb;
    // Opset 6 (PyTorch's exports of 2017): `broadcast = 1, axis = 0` aligns y with x's first
    // axis, where numpy's rule would align it with the last (a computed and a constant y).
    let legacy = |op: &str, inputs: &[&str], out: &str| {
        node(op, inputs, out, vec![int("broadcast", 1), int("axis", 0)])
    };
    let bytes = model_at(
        6,
        vec![
            legacy("Add", &["x", "y"], "s"),
            legacy("Mul", &["s", "w"], "o"),
        ],
        &[("x", &[3, 3]), ("y", &[3])],
        &[("o", &[3, 3])],
        vec![constant("w", &[3], vec![1.0, 2.0, 3.0])],
    );
    let x: Vec<f32> = (0..9).map(|i| i as f32 / 8.0).collect();
    let y = vec![0.5, -0.25, 1.0];
    let want: Vec<f64> = (0..9)
        .map(|i| f64::from(x[i] + y[i / 3]) * (i / 3 + 1) as f64)
        .collect();
    assert_eq!(compile_and_run(&bytes, vec![x.clone(), y]), vec![want]);
    // Pad's constant: the `value` attribute (opset < 11) and the third input (opset 11), not
    // zeros.
    let pad = |opset: i64, nodes, inits| {
        let bytes = model_at(opset, nodes, &[("x", &[1, 2])], &[("o", &[1, 5])], inits);
        compile_and_run(&bytes, vec![vec![0.25, -0.5]])
    };
    let attr = pad(
        7,
        vec![node(
            "Pad",
            &["x"],
            "o",
            vec![
                common::onnx::ints("pads", &[0, 1, 0, 2]),
                float("value", 2.0),
            ],
        )],
        vec![],
    );
    assert_eq!(attr, vec![vec![2.0, 0.25, -0.5, 2.0, 2.0]]);
    let input = pad(
        11,
        vec![node("Pad", &["x", "pads", "v"], "o", vec![])],
        vec![
            common::onnx::int_constant("pads", &[0, 1, 0, 2]),
            constant("v", &[], vec![-0.75]),
        ],
    );
    assert_eq!(input, vec![vec![-0.75, 0.25, -0.5, -0.75, -0.75]]);
    // Pad's other modes (copies), Slice's attributes (opset < 10), Shrink, and Gemm with a
    // computed right operand (PyTorch's old `mm`), each against its ONNX definition.
    let one = |opset: i64, nodes, out: &[usize], inits| {
        let bytes = model_at(opset, nodes, &[("x", &[1, 3])], &[("o", out)], inits);
        compile_and_run(&bytes, vec![vec![0.25, -0.5, 0.75]])
    };
    let pads = |mode: &str| {
        let mode = pb::AttributeProto {
            name: "mode".into(),
            r#type: pb::attribute_proto::AttributeType::String as i32,
            s: mode.as_bytes().to_vec(),
            ..Default::default()
        };
        let nodes = vec![node(
            "Pad",
            &["x"],
            "o",
            vec![common::onnx::ints("pads", &[0, 2, 0, 1]), mode],
        )];
        one(7, nodes, &[1, 6], vec![])
    };
    assert_eq!(
        pads("reflect"),
        vec![vec![0.75, -0.5, 0.25, -0.5, 0.75, -0.5]]
    );
    assert_eq!(pads("edge"), vec![vec![0.25, 0.25, 0.25, -0.5, 0.75, 0.75]]);
    let slice = vec![node(
        "Slice",
        &["x"],
        "o",
        vec![
            common::onnx::ints("starts", &[1]),
            common::onnx::ints("ends", &[3]),
            common::onnx::ints("axes", &[1]),
        ],
    )];
    assert_eq!(one(9, slice, &[1, 2], vec![]), vec![vec![-0.5, 0.75]]);
    let shrink = vec![node(
        "Shrink",
        &["x"],
        "o",
        vec![float("lambd", 0.4), float("bias", 0.125)],
    )];
    assert_eq!(
        one(13, shrink, &[1, 3], vec![]),
        vec![vec![0.0, -0.375, 0.625]]
    );
    // x·(xᵀ) scaled by alpha plus beta·C: [0.25² + 0.5² + 0.75²]·2 + 0.5·1.
    let gemm = vec![
        node("Transpose", &["x"], "xt", vec![]),
        node(
            "Gemm",
            &["x", "xt", "c"],
            "o",
            vec![float("alpha", 2.0), float("beta", 0.5)],
        ),
    ];
    let c = vec![constant("c", &[1, 1], vec![1.0])];
    assert_eq!(one(13, gemm, &[1, 1], c), vec![vec![2.25]]);
    // A mask of low bits first or second (BitwiseAnd commutes): 0.75 mod 4 after ×8 → 6 & 3.
    for inputs in [["m", "y"], ["y", "m"]] {
        let nodes = vec![
            node("Mul", &["x", "eight"], "y", vec![]),
            node("BitwiseAnd", &inputs, "o", vec![]),
        ];
        let inits = vec![
            constant("eight", &[], vec![8.0]),
            constant("m", &[], vec![3.0]),
        ];
        assert_eq!(one(18, nodes, &[1, 3], inits), vec![vec![2.0, 0.0, 2.0]]);
    }
}

#[test]
fn a_product_accumulator_claimed_wrong_fails_exactly_the_product_gates() {
    let (model, q) = corpus_model("matmul_qk");
    let mut plan = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
    let row = (0..plan.rows)
        .find(|r| plan.prod_first[*r] && plan.prod_next[*r + 1])
        .expect("a two-row product");
    let acc = model.layout.width;
    plan.advice[acc][row] += Fr::one();
    let f = failures(&model, plan);
    let described = unsatisfied_constraints(&f);
    assert_eq!(described.len(), 2, "{described:?}");
    assert!(described[0].0.contains("product (first row)") && described[0].1 == row);
    assert!(described[1].0.contains("product (chained row)") && described[1].1 == row + 1);
}

#[test]
fn an_unused_product_slot_cannot_smuggle_in_a_term() {
    // Element-wise products use one pair of the row's two: the other pair's left cell is tied
    // to a constrained zero, so a prover cannot fill it and add a term the gate would accept.
    let (model, q) = corpus_model("silu_gate");
    assert_eq!(model.layout.width / 2, 2);
    let mut plan = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
    let row = (0..plan.rows)
        .find(|r| plan.prod_first[*r] && !plan.prod_next[*r + 1])
        .expect("a one-row product");
    let (w, h) = (model.layout.width, model.layout.width / 2);
    plan.advice[1][row] = Fr::from(3);
    plan.advice[h + 1][row] = Fr::from(5);
    plan.advice[w][row] += Fr::from(15); // the gate itself still holds
    let f = failures(&model, plan);
    assert!(!f.is_empty());
    for x in &f {
        assert!(matches!(x, VerifyFailure::Permutation { .. }), "{x}");
    }
}

#[test]
fn transformer_block_real_proof_verifies_and_tampering_is_rejected() {
    let (model, q) = corpus_model("transformer_block");
    assert!(model.uses_products());
    let params = srs(model.layout.k).trimmed(model.layout.k).unwrap();
    let pk = prover::keygen(&params, &model).unwrap();
    let proof = prover::prove(&params, &pk, &model, &q).unwrap();
    prover::verify(&params, pk.get_vk(), &proof.instances, &proof.proof).unwrap();
    assert_eq!(
        proof.outputs,
        exec::run(&model, &q).unwrap().outputs(&model),
        "the proven outputs are the reference execution's"
    );

    let mut flipped = proof.proof.clone();
    flipped[proof.proof.len() / 3] ^= 1;
    assert!(matches!(
        prover::verify(&params, pk.get_vk(), &proof.instances, &flipped),
        Err(CircuitError::ProofRejected(_))
    ));
    let mut wrong_output = proof.instances.clone();
    let last = wrong_output.len() - 1;
    wrong_output[last] += Fr::one();
    assert!(matches!(
        prover::verify(&params, pk.get_vk(), &wrong_output, &proof.proof),
        Err(CircuitError::ProofRejected(_))
    ));
}

#[test]
fn the_report_gives_each_layers_error_and_the_last_is_the_outputs() {
    // cnn_digits: one error per layer, each the same measure as the report's on that layer's
    // output; its last layer writes the model's output, so its error is the report's.
    let (model, _) = corpus_model("cnn_digits");
    let errors = &model.report.layer_errors;
    assert_eq!(errors.len(), model.layers.len());
    assert!(
        errors
            .iter()
            .all(|e| e.is_some_and(|e| e.is_finite() && e >= 0.0)),
        "{errors:?}"
    );
    let last = errors.last().unwrap().unwrap();
    assert!(
        (last - model.report.mean_rel_error).abs() < 1e-12,
        "{last} vs {}",
        model.report.mean_rel_error
    );
    // The first convolution's error is its own rounding alone, below the output's.
    assert!(errors[0].unwrap() < last, "{errors:?}");
    // dynamic_quant: the least element and a zero, `fq/lo`, is zero on every calibration
    // sample (the tensor is a ReLU's), so it has no relative error.
    let (model, _) = corpus_model("dynamic_quant");
    let lo = (model.layers.iter())
        .position(|l| model.tensors[l.op().output()].name == "fq/lo")
        .unwrap();
    assert_eq!(model.report.layer_errors[lo], None);
}

#[test]
fn a_model_tract_cannot_run_compiles_with_its_import_reported_unchecked() {
    // tract 0.23.9 has no LpPool: the float cross-check is skipped and says why, instead of
    // refusing a model our own float reading (checked against onnxruntime above) handles.
    let (model, _) = corpus_model("instance_lp_norm");
    let why = model
        .report
        .import_unchecked
        .expect("tract cannot run LpPool");
    assert!(why.contains("LpPool"), "{why}");
    let (checked, _) = corpus_model("conv_transpose");
    assert_eq!(checked.report.import_unchecked, None);
    assert!(checked.report.import_max_diff < 1e-4);
}

#[test]
fn a_limb_outside_its_range_fails_its_lookup_even_when_the_sum_is_kept() {
    // softmax_last checks its wide division remainders with 10-bit limbs. Moving 2^10 from the
    // second limb into the first (and into the first row's partial sum) keeps the recomposed
    // value, every gate and every copy intact; only the first limb's lookup can tell that it
    // left its range.
    let (model, q) = corpus_model("softmax_last");
    let limb = model.tables.limb_bits.expect("the model uses limbs");
    let mut plan = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
    let row = (0..plan.rows)
        .find(|r| {
            plan.dot_first[*r]
                && plan.lookup[*r]
                && plan.tag[*r] == range_tag(limb)
                && plan.dot_next[*r + 1]
                && plan.lookup[*r + 1]
                && plan.advice[0][*r + 1] != Fr::zero()
        })
        .expect("a limb chain whose second limb is not zero");
    let acc = model.layout.width;
    plan.advice[0][row] += Fr::from(1u64 << limb);
    plan.advice[acc][row] += Fr::from(1u64 << limb);
    plan.advice[0][row + 1] -= Fr::one();
    let f = failures(&model, plan);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(
        matches!(&f[0], VerifyFailure::Lookup { name, .. } if name == "activation and range table"),
        "{f:#?}"
    );
    assert_eq!(failure_row(&f[0]), Some(row), "{f:#?}");
}

#[test]
fn comparisons_of_wide_computed_values_read_them_shifted_through_narrow_step_tables() {
    // Features up to 2,000 compared with each other at the activation scale would need step
    // tables of about 20 bits (k ≥ 20); each difference is shifted right first, its sign
    // kept exactly (the corpus model matches onnxruntime's comparisons: `every_corpus_model…`).
    let (model, _) = corpus_model("hummingbird_gemm_trees");
    let span = 2000f64 * f64::from(model.scale_bits).exp2();
    assert!(span.log2() > 16.0, "scale {}", model.scale_bits);
    for act in [
        snarkml_circuits::model::Activation::Step,
        snarkml_circuits::model::Activation::StepInclusive,
    ] {
        let bits = model.tables.activations[&act];
        assert!(bits <= 12, "{act:?}: {bits} bits");
    }
    assert!(model.layout.k <= 14, "k = {}", model.layout.k);
}

#[test]
fn integer_and_boolean_inputs_take_only_whole_numbers_of_their_type() {
    let (model, q) = corpus_model("text_embedding");
    assert_eq!(
        model.inputs[0].dtype,
        snarkml_circuits::model::InputType::Int {
            bits: 64,
            signed: true
        }
    );
    assert_eq!(
        model.inputs[1].dtype,
        snarkml_circuits::model::InputType::Bool
    );
    // Held as the whole numbers they are (scale 0): the ids' range check spans ids, not ids at
    // the activation scale, and so does the is-zero table comparing them with each row.
    assert!(model.scale_bits > 0);
    for io in &model.inputs {
        assert_eq!(model.tensors[io.tensor].scale_bits, 0);
    }
    let activations = &model.tables.activations;
    let is_zero = activations[&snarkml_circuits::model::Activation::IsZero];
    assert!(is_zero <= 8, "{activations:?}");
    assert_eq!(q[0], vec![9, 7, 8, 10, 4, 9, 1, 6]);
    // An input file with booleans as `true`/`false` reads as the numbers.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("input.json");
    std::fs::write(
        &file,
        r#"{"input_data": [[9, 7, 8, 10, 4, 9, 1, 6], [false, true, false, true, true, true, false, false]]}"#,
    )
    .unwrap();
    let input = common::input_file(&file).unwrap();
    assert_eq!(model.quantize_inputs(&input.input_data).unwrap(), q);
    let refused =
        |ids: Vec<f32>, mask: Vec<f32>, needle: &str| match model.quantize_inputs(&[ids, mask]) {
            Err(CircuitError::BadValue { what, reason }) => {
                assert!(reason.contains(needle), "{what}: {reason}");
                what
            }
            other => panic!("expected BadValue, got {other:?}"),
        };
    let ones = vec![1.0; 8];
    assert_eq!(
        refused(vec![2.5; 8], ones.clone(), "not a whole number"),
        "input `ids`"
    );
    assert_eq!(
        refused(vec![1.0; 8], vec![2.0; 8], "outside its bool type"),
        "input `mask`"
    );
    // Compile refuses a calibration sample that is not of the type, naming the input.
    let err = compile_stem(
        "corpus/text_embedding",
        &[vec![vec![0.5; 8], ones]],
        &CompileOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, CircuitError::BadValue { what, .. } if what == "input `ids`"),
        "{err}"
    );
}
