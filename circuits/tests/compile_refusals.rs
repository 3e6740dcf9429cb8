//! What compile refuses, and how it chooses its scale: the refused fixtures
//! (`tests/fixtures/refused/`, made by `scripts/make_corpus.py`) each give one line naming the
//! node and the reason; the scale search passes over scales at which calibration cannot run,
//! refuses circuits no SRS holds and accuracy it cannot keep.

mod common;

use common::compile;
use common::{fixture, fixture_samples};
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::quantize::CompileOptions;

/// The one-line error compiling `tests/fixtures/refused/NAME.onnx` (made by
/// scripts/make_corpus.py: ONNX the compiler refuses), checked to contain every `needle`.
fn refusal(name: &str, needles: &[&str]) {
    let err = compile(
        &fixture(&format!("refused/{name}.onnx")),
        &[vec![vec![0.0f32; 16]]],
        &CompileOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(needles.iter().all(|n| err.contains(n)), "{name}: {err}");
    assert_eq!(err.lines().count(), 1, "{name}: {err}");
}

#[test]
fn a_top_k_whose_k_is_out_of_range_or_computed_is_refused_naming_the_node() {
    refusal(
        "topk_k_too_large",
        &["`output`", "K must be one integer in 1..=8"],
    );
    refusal("topk_computed_k", &["TopK", "a computed K"]);
}

#[test]
fn integer_ops_the_circuit_cannot_express_are_refused_naming_the_node() {
    refusal(
        "mod_fmod_computed",
        &["Mod", "`output`", "fmod=1", "fmod=0"],
    );
    refusal("mod_computed_divisor", &["Mod", "a computed divisor"]);
    refusal(
        "bitshift_left_computed",
        &["BitShift", "LEFT", "RIGHT is supported"],
    );
    refusal("bitwise_and_mask", &["BitwiseAnd", "mask 6", "2^k − 1"]);
    refusal(
        "div_integer_computed",
        &[
            "Div",
            "`quotient`",
            "integer division of two computed tensors",
        ],
    );
    refusal(
        "div_integer_by_computed",
        &[
            "Div",
            "`quotient`",
            "integer division of a constant by a computed tensor",
        ],
    );
}

#[test]
fn a_tree_classifier_with_base_values_and_one_scored_class_is_refused_naming_the_node() {
    refusal(
        "tree_classifier_binary_base",
        &[
            "TreeEnsembleClassifier",
            "`binary`",
            "base_values with class 1 scored",
        ],
    );
}

#[test]
fn ml_models_asking_for_what_the_circuit_does_not_compute_are_refused_naming_the_node() {
    refusal(
        "linear_classifier_strings",
        &["LinearClassifier", "`output`", "string class labels"],
    );
    refusal(
        "normalizer_max",
        &["Normalizer", "`output`", "norm MAX (only L1 and L2)"],
    );
    refusal(
        "linear_regressor_probit",
        &["LinearRegressor", "`output`", "post_transform PROBIT"],
    );
    refusal(
        "svm_unknown_kernel",
        &["SVMRegressor", "`output`", "kernel_type LAPLACE"],
    );
    refusal(
        "svm_classifier_probabilities",
        &["SVMClassifier", "`output`", "probability estimates"],
    );
}

#[test]
fn string_encoders_a_negative_pow_base_and_a_nested_subgraph_are_refused_naming_the_node() {
    refusal(
        "label_encoder_strings",
        &["LabelEncoder", "`output`", "keys_strings"],
    );
    refusal(
        "one_hot_encoder_strings",
        &[
            "OneHotEncoder",
            "`output`",
            "cats_strings (string categories)",
        ],
    );
    refusal(
        "pow_negative_base",
        &[
            "Pow",
            "`output`",
            "a constant base that is not one positive number",
        ],
    );
    refusal(
        "scan_nested",
        &["Scan", "`state`", "a subgraph holding subgraphs of its own"],
    );
}

#[test]
fn a_quantization_whose_scale_is_computed_from_the_data_is_refused_naming_the_node() {
    refusal(
        "quantize_computed_scale",
        &["QuantizeLinear", "`output`", "a computed scale"],
    );
    refusal(
        "qlinear_computed_scale",
        &["QLinearMatMul", "`output`", "a computed scale"],
    );
    refusal(
        "qlinear_channels_last",
        &["QLinearGlobalAveragePool", "`output`", "channels_last=1"],
    );
    refusal(
        "dynamic_lstm_zero_points",
        &[
            "`output`",
            "its input weights' zero point has 5 values, not 1 (per tensor) or 12 (per gate row)",
        ],
    );
    refusal(
        "matmul_integer_row_zero_points",
        &[
            "MatMulInteger",
            "`p`",
            "a computed operand with a zero point per channel",
        ],
    );
}

#[test]
fn a_loop_whose_condition_is_computed_from_the_data_is_refused_naming_the_node() {
    // A while loop cannot be unrolled to a count fixed before the data is seen.
    refusal(
        "loop_computed_condition",
        &[
            "Loop",
            "`output`",
            "a loop condition computed from the data",
        ],
    );
}

#[test]
fn a_group_norm_whose_groups_do_not_divide_the_channels_is_refused_naming_the_node() {
    refusal(
        "group_norm_bad_groups",
        &["`output`", "num_groups 3 does not divide the 8 channels"],
    );
}

#[test]
fn a_crop_and_resize_is_refused_naming_the_node() {
    // Linear and cubic Resize compile (corpus model `resize_interpolating`); cropping to a
    // region of interest does not.
    refusal(
        "resize_crop",
        &[
            "`output`",
            "coordinate_transformation_mode=tf_crop_and_resize",
        ],
    );
}

#[test]
fn a_log_softmax_of_masked_scores_is_refused_naming_the_node() {
    // −∞ where masked has no fixed-point value (a Softmax of the same scores compiles:
    // corpus model `masked_attention`).
    refusal(
        "masked_log_softmax",
        &["`output`", "a LogSoftmax of masked scores"],
    );
}

#[test]
fn a_cast_of_computed_values_to_an_unsigned_type_is_refused_naming_the_node() {
    refusal("cast_unsigned", &["`Cast`", "`output`", "signed integer"]);
}

#[test]
fn a_constant_subgraph_that_cannot_be_evaluated_is_refused_naming_the_node() {
    refusal(
        "constant_unknown_op",
        &[
            "unsupported ONNX op `Frobnicate` at node `weight`",
            "tract cannot evaluate it either",
        ],
    );
    refusal(
        "constant_scatter_out_of_range",
        &[
            "`weight`",
            "cannot evaluate this node of constant operands at import",
        ],
    );
}

/// A scale at which a calibration sample cannot run at all is a miss, not the end of the
/// search: inputs within ±1/16 make every square of the L2 LpNormalization round to zero at
/// the first scale (2^6), so its norm is zero and divides; compile takes finer scales until every
/// sample runs. Given by hand, that scale is refused, naming the division.
#[test]
fn a_scale_at_which_calibration_cannot_run_is_passed_over_when_compile_chooses() {
    let stem = "corpus/instance_lp_norm";
    let path = fixture(&format!("{stem}.onnx"));
    let small: Vec<Vec<Vec<f32>>> = fixture_samples(stem)
        .into_iter()
        .map(|s| {
            s.into_iter()
                .map(|t| t.into_iter().map(|v| v / 16.0).collect())
                .collect()
        })
        .collect();
    let chosen = compile(&path, &small, &CompileOptions::default()).unwrap();
    assert!(chosen.scale_bits > 6, "chose 2^{}", chosen.scale_bits);
    let given = CompileOptions {
        scale_bits: Some(6),
        ..CompileOptions::default()
    };
    match compile(&path, &small, &given) {
        Err(CircuitError::BadValue { what, reason }) => {
            assert_eq!(what, "node `l2`");
            assert!(
                reason.contains("division by a value that is not positive (0)"),
                "{reason}"
            );
        }
        other => panic!(
            "expected the division refused, got {:?}",
            other.map(|m| m.scale_bits)
        ),
    }
}

/// Calibration values 2^20 times the corpus model's (an SGD classifier of raw, unscaled
/// features scores in the millions) make a lookup table over their range longer than any SRS: refused
/// by name, the table named, before the table is scanned (it once took minutes and then
/// wrote a build of k = 33 that nothing could load).
#[test]
fn a_circuit_no_srs_can_hold_is_refused_naming_its_widest_table() {
    let stem = "corpus/argmax_classifier";
    let path = fixture(&format!("{stem}.onnx"));
    let wide: Vec<Vec<Vec<f32>>> = fixture_samples(stem)
        .into_iter()
        .map(|s| {
            s.into_iter()
                .map(|t| t.into_iter().map(|v| v * 1_048_576.0).collect())
                .collect()
        })
        .collect();
    let started = std::time::Instant::now();
    match compile(&path, &wide, &CompileOptions::default()) {
        Err(CircuitError::CircuitTooLarge { k, max, widest }) => {
            assert!(k > max, "k {k}, max {max}");
            assert!(widest.contains("table spans 2^"), "{widest}");
        }
        other => panic!(
            "expected CircuitTooLarge, got {:?}",
            other.map(|m| m.layout.k)
        ),
    }
    println!("refused in {:?}", started.elapsed());
}

#[test]
fn a_model_that_misses_the_accuracy_target_is_refused_unless_the_error_is_allowed() {
    let stem = "corpus/softmax_last";
    let (path, samples) = (fixture(&format!("{stem}.onnx")), fixture_samples(stem));
    let strict = CompileOptions {
        target_error: 1e-7,
        ..CompileOptions::default()
    };
    match compile(&path, &samples, &strict) {
        Err(CircuitError::AccuracyMissed {
            mean_rel_error,
            target,
            scale_bits,
            chosen: true,
            ..
        }) => {
            assert!(mean_rel_error > target, "{mean_rel_error} vs {target}");
            // The search went as far as it could before refusing.
            assert!(scale_bits > 6, "refused at only {scale_bits} bits");
        }
        other => panic!(
            "expected AccuracyMissed, got {:?}",
            other.map(|m| m.scale_bits)
        ),
    }
    // A scale given by hand is refused too, and named as given.
    let given = CompileOptions {
        scale_bits: Some(4),
        ..strict.clone()
    };
    assert!(matches!(
        compile(&path, &samples, &given),
        Err(CircuitError::AccuracyMissed {
            scale_bits: 4,
            chosen: false,
            ..
        })
    ));
    let allowed = compile(
        &path,
        &samples,
        &CompileOptions {
            allow_error: true,
            ..strict
        },
    )
    .unwrap();
    assert!(allowed.report.mean_rel_error > 1e-7);
    assert!(allowed.report.mean_rel_error <= allowed.report.max_rel_error);
}

#[test]
fn a_model_over_its_target_at_twelve_bits_takes_finer_activations_while_its_size_holds() {
    // Batched products of computed matrices: their rounding shrinks with every bit, and 13
    // and 14 bits cost them no larger circuit than 12.
    let stem = "corpus/einsum_batched";
    let (path, samples) = (fixture(&format!("{stem}.onnx")), fixture_samples(stem));
    let strict = CompileOptions {
        target_error: 1e-7,
        allow_error: true,
        ..CompileOptions::default()
    };
    let at_twelve = CompileOptions {
        scale_bits: Some(12),
        ..strict.clone()
    };
    let twelve = compile(&path, &samples, &at_twelve).unwrap();
    let chosen = compile(&path, &samples, &strict).unwrap();
    // Past the automatic search's 12 bits, at the circuit size 12 bits have.
    assert!(chosen.scale_bits > 12, "stopped at {}", chosen.scale_bits);
    assert!(chosen.layout.k <= twelve.layout.k);
    assert!(
        chosen.report.mean_rel_error < twelve.report.mean_rel_error,
        "{} vs {}",
        chosen.report.mean_rel_error,
        twelve.report.mean_rel_error
    );
}

#[test]
fn a_worst_sample_target_takes_more_bits_or_is_refused_naming_the_worst_sample() {
    let stem = "corpus/tabular_narrow";
    let (path, samples) = (fixture(&format!("{stem}.onnx")), fixture_samples(stem));
    let with = |target_worst_error: Option<f64>| CompileOptions {
        target_worst_error,
        ..CompileOptions::default()
    };
    // The mean meets the default 1 % target while the worst sample is further off.
    let plain = compile(&path, &samples, &with(None)).unwrap();
    assert!(plain.report.max_rel_error > 0.01, "{:?}", plain.report);
    let bounded = compile(&path, &samples, &with(Some(0.01))).unwrap();
    assert!(bounded.report.max_rel_error <= 0.01, "{:?}", bounded.report);
    assert!(bounded.scale_bits > plain.scale_bits);
    match compile(&path, &samples, &with(Some(1e-9))) {
        Err(CircuitError::WorstSampleMissed {
            max_rel_error,
            target,
            chosen: true,
            ..
        }) => assert!(max_rel_error > target, "{max_rel_error} vs {target}"),
        other => panic!(
            "expected WorstSampleMissed, got {:?}",
            other.map(|m| m.scale_bits)
        ),
    }
    let allowed = CompileOptions {
        allow_error: true,
        ..with(Some(1e-9))
    };
    assert!(compile(&path, &samples, &allowed).is_ok());
    for bad in [0.0, -0.5, f64::NAN] {
        match compile(&path, &samples, &with(Some(bad))) {
            Err(CircuitError::BadOption { option, .. }) => {
                assert_eq!(option, "target_worst_error")
            }
            other => panic!("{bad}: expected BadOption, got {:?}", other.is_ok()),
        }
    }
}
