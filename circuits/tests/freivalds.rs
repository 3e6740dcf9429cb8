//! Randomized (Freivalds) checks of linear layers in the circuit's second phase: the same
//! outputs as dot products with fewer rows, a wrong accumulator caught by the check's gate,
//! and real proofs that verify (and refuse a changed output).

mod common;

use common::{compile, compile_stem};
use common::{failures, fixture, fixture_samples, srs, unsatisfied_constraints};
use snarkml_circuits::layout::{FGate, Fault, Plan};
use snarkml_circuits::model::layers::Rescale;
use snarkml_circuits::model::{Activation, Layer, LinearCheck};
use snarkml_circuits::prover;
use snarkml_circuits::quantize::{
    choose_checks, with_one_row_rescales, CompileOptions, CompiledModel, LinearMode, Visibility,
};

/// A fixture compiled with `linear`, at the scales `like` chose when given; its input quantized.
fn build(
    stem: &str,
    linear: LinearMode,
    like: Option<&CompiledModel>,
) -> (CompiledModel, Vec<Vec<i64>>) {
    let opts = CompileOptions {
        linear,
        scale_bits: like.map(|m| m.scale_bits),
        weight_scale_bits: like.map(|m| m.weight_scale_bits),
        ..CompileOptions::default()
    };
    let model = compile_stem(stem, &fixture_samples(stem), &opts).unwrap();
    let input = common::input_file(&fixture(&format!("{stem}.input.json"))).unwrap();
    let q = model.quantize_inputs(&input.input_data).unwrap();
    (model, q)
}

/// `model` in the compact layout (one-row rescales, randomized checks fused with them).
fn compact(model: &CompiledModel) -> CompiledModel {
    if model.layout.one_row_rescale {
        return model.clone();
    }
    let two_rows = Plan::build(model, model.layout.width, None).unwrap();
    with_one_row_rescales(model.clone(), &two_rows).unwrap()
}

fn checks(model: &CompiledModel) -> Vec<LinearCheck> {
    model
        .layers
        .iter()
        .filter_map(|l| match l {
            Layer::Dense(d) => Some(d.check),
            Layer::Conv(c) => Some(c.check),
            _ => None,
        })
        .collect()
}

/// Convolutions with padding, strides, groups and dilation (ConvTranspose lowers to a
/// grouped, dilated Conv), with biases, and dense layers over one row and over several.
const MODELS: [&str; 5] = [
    "corpus/conv_pool_auto_pad",
    "corpus/cnn_digits",
    "corpus/conv_transpose",
    "corpus/prelu_channels",
    "corpus/transformer_block",
];

#[test]
fn randomized_linear_layers_compute_what_dot_products_do_and_satisfy_the_circuit() {
    for stem in MODELS {
        let (direct, q) = build(stem, LinearMode::Direct, None);
        let (randomized, _) = build(stem, LinearMode::Freivalds, Some(&direct));
        assert!(
            checks(&randomized)
                .iter()
                .all(|c| *c == LinearCheck::Freivalds),
            "{stem}"
        );
        if checks(&randomized).is_empty() {
            assert!(!randomized.uses_freivalds(), "{stem}");
            continue;
        }
        assert!(randomized.uses_freivalds(), "{stem}");
        let a = Plan::build(&direct, direct.layout.width, Some(&q)).unwrap();
        let b = Plan::build(&randomized, randomized.layout.width, Some(&q)).unwrap();
        assert_eq!(a.outputs, b.outputs, "{stem}: outputs differ");
        assert_eq!(a.instances, b.instances, "{stem}: public values differ");
        assert!(b.freivalds && b.fgate.contains(&FGate::Check), "{stem}");
        if stem.ends_with("transformer_block") {
            let rows_of_input = randomized.layers.iter().any(|l| match l {
                Layer::Dense(d) => randomized.tensors[d.input].numel() > d.n_in,
                _ => false,
            });
            assert!(rows_of_input, "a dense layer over several rows");
        }
        let f = failures(&randomized, b);
        assert!(f.is_empty(), "{stem}: {f:#?}");
        // Fused with one-row rescales: the same values, in fewer rows.
        let fused = compact(&randomized);
        let c = Plan::build(&fused, fused.layout.width, Some(&q)).unwrap();
        assert_eq!(a.outputs, c.outputs, "{stem}: fused outputs differ");
        assert_eq!(
            a.instances, c.instances,
            "{stem}: fused public values differ"
        );
        // Fused wherever a rescale takes one row (not a rescale to an identity checked by limbs).
        let one_row = |r: &Option<Rescale>| {
            r.is_some_and(|r| {
                r.act != Activation::Identity || fused.tables.limbed_identity().is_none()
            })
        };
        let rescaled = randomized.layers.iter().any(|l| match l {
            Layer::Dense(d) => one_row(&d.rescale),
            Layer::Conv(c) => one_row(&c.rescale),
            _ => false,
        });
        assert_eq!(c.fgate.contains(&FGate::Accs), rescaled, "{stem}");
        let f = failures(&fused, c);
        assert!(f.is_empty(), "{stem} fused: {f:#?}");
    }
}

#[test]
fn auto_takes_randomized_checks_per_layer_where_they_save_rows_and_only_if_k_drops() {
    // Per layer: whichever check takes fewer rows.
    let (direct, _) = build("corpus/cnn_digits", LinearMode::Direct, None);
    let w = direct.layout.width;
    let mut per_layer = direct.clone();
    choose_checks(&mut per_layer, LinearMode::Auto, w);
    let mut saw_conv = false;
    for layer in &per_layer.layers {
        match layer {
            Layer::Conv(c) => {
                let (dot, randomized) = c.check_rows(w);
                let expected = if randomized < dot {
                    LinearCheck::Freivalds
                } else {
                    LinearCheck::Direct
                };
                assert_eq!(c.check, expected, "{}: {dot} vs {randomized} rows", c.node);
                saw_conv |= c.check == LinearCheck::Freivalds;
            }
            // One row of input: a randomized check costs more than the dot products.
            Layer::Dense(d) => assert_eq!(d.check, LinearCheck::Direct, "{}", d.node),
            _ => {}
        }
    }
    assert!(saw_conv, "the first 3×3 convolution saves rows");
    // For the whole model only where k drops: the digits CNN's k is its tables', so auto
    // compiles it exactly as direct (the same circuit); LeNet-5's is its rows', and drops.
    let (auto, _) = build("corpus/cnn_digits", LinearMode::Auto, Some(&direct));
    assert!(!auto.uses_freivalds());
    assert_eq!((auto.rows, auto.layout.k), (direct.rows, direct.layout.k));
    let (direct, _) = build("corpus/lenet5", LinearMode::Direct, None);
    let (auto, _) = build("corpus/lenet5", LinearMode::Auto, Some(&direct));
    assert!(auto.uses_freivalds());
    assert!(
        auto.layout.k < direct.layout.k,
        "k {} vs {}",
        auto.layout.k,
        direct.layout.k
    );

    // Randomized checks need constant weights: with private weights every layer is direct.
    let opts = CompileOptions {
        linear: LinearMode::Freivalds,
        weights: Visibility::Private,
        ..CompileOptions::default()
    };
    let private = compile_stem(
        "corpus/cnn_digits",
        &fixture_samples("corpus/cnn_digits"),
        &opts,
    )
    .unwrap();
    assert!(!private.uses_freivalds());
}

#[test]
fn an_accumulator_off_by_one_fails_only_the_freivalds_check() {
    let (model, q) = build("corpus/cnn_digits", LinearMode::Freivalds, None);
    let layer = model
        .layers
        .iter()
        .position(|l| matches!(l, Layer::Conv(c) if c.geometry.group == 1))
        .expect("an ungrouped convolution");
    // The prover claims one accumulator one unit higher and computes everything after it
    // (rescale, activation, the public outputs) honestly from the lie.
    let fault = Fault {
        layer,
        element: 5,
        delta: 1,
        accumulator: true,
    };
    let honest = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
    only_the_check_fails(&model, &q, fault);
    // The honest plan satisfies the circuit.
    assert!(failures(&model, honest).is_empty());
    // The same lie where the accumulators are the rescale rows' (the fused layout): the
    // rescale rows are consistent with it, and only the check fails.
    let fused = compact(&model);
    assert!(Plan::build(&fused, fused.layout.width, None)
        .unwrap()
        .fgate
        .contains(&FGate::Accs));
    only_the_check_fails(&fused, &q, fault);
}

/// `model` laid out with `fault` (a lying accumulator) fails one constraint: the "freivalds
/// check" gate on the check row of the faulty layer.
fn only_the_check_fails(model: &CompiledModel, q: &[Vec<i64>], fault: Fault) {
    let plan = Plan::build_with_fault(model, model.layout.width, Some(q), Some(fault)).unwrap();
    // `plan.layers[0]` is the inputs: layer `i` is at `i + 1`.
    let rows = &plan.layers[fault.layer + 1];
    let check_row = (rows.start..rows.end)
        .find(|r| plan.fgate[*r] == FGate::Check)
        .expect("the layer's check row");
    let f = failures(model, plan);
    let unsatisfied = unsatisfied_constraints(&f);
    assert_eq!(unsatisfied.len(), 1, "{f:#?}");
    let (name, row) = &unsatisfied[0];
    assert!(name.ends_with("('freivalds check')"), "{name}");
    assert_eq!(*row, check_row);
}

#[test]
fn a_randomized_check_proves_verifies_and_refuses_another_output() {
    let (model, q) = build("corpus/conv_pool_auto_pad", LinearMode::Freivalds, None);
    assert!(model.uses_freivalds());
    let params = srs(model.layout.k).params;
    let pk = prover::keygen(&params, &model).unwrap();
    let proof = prover::prove(&params, &pk, &model, &q).unwrap();
    prover::verify(&params, pk.get_vk(), &proof.instances, &proof.proof).unwrap();
    let mut other = proof.instances.clone();
    let last = other.len() - 1;
    other[last] += snarkml_circuits::Fr::from(1);
    let err = prover::verify(&params, pk.get_vk(), &other, &proof.proof).unwrap_err();
    assert!(err.to_string().starts_with("proof rejected"), "{err}");
    // The key has the second phase: three more advice columns and two challenges.
    let cs = pk.get_vk().cs();
    assert_eq!(cs.num_challenges(), 2);
    assert_eq!(
        cs.advice_column_phase().iter().filter(|p| **p == 1).count(),
        3
    );
}

#[test]
fn an_unknown_linear_mode_is_refused_by_name() {
    let err = "dense".parse::<LinearMode>().unwrap_err();
    assert_eq!(
        err,
        "unknown linear check `dense` (expected direct, freivalds or auto)"
    );
    assert_eq!("auto".parse::<LinearMode>(), Ok(LinearMode::Auto));
}

mod random_shapes {
    //! Randomized checks against dot products on convolutions and matrix products of random
    //! shapes, written as ONNX and compiled as a user's model is.
    use super::*;
    use crate::common::onnx::{constant, dyadic, ints, model as graph};
    use proptest::prelude::*;
    use snarkml_circuits::prover;
    use tract_onnx::pb;

    /// One op `y = op(x, w, b)` as an ONNX model.
    fn model(
        node: pb::NodeProto,
        x: &[usize],
        y: &[usize],
        inits: Vec<pb::TensorProto>,
    ) -> Vec<u8> {
        graph(vec![node], &[("x", x)], &[("y", y)], inits)
    }

    /// Compiles `onnx` both ways at the same scales and checks they agree and the randomized
    /// circuit holds.
    fn agree(onnx: &[u8], input: Vec<f32>) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx");
        std::fs::write(&path, onnx).unwrap();
        let samples = vec![vec![input.clone()]];
        let direct = compile(
            &path,
            &samples,
            &CompileOptions {
                linear: LinearMode::Direct,
                ..CompileOptions::default()
            },
        )
        .unwrap();
        let randomized = compile(
            &path,
            &samples,
            &CompileOptions {
                linear: LinearMode::Freivalds,
                scale_bits: Some(direct.scale_bits),
                weight_scale_bits: Some(direct.weight_scale_bits),
                ..CompileOptions::default()
            },
        )
        .unwrap();
        prop_assert!(randomized.uses_freivalds());
        let q = direct.quantize_inputs(&[input]).unwrap();
        let a = Plan::build(&direct, direct.layout.width, Some(&q)).unwrap();
        // In the two-row layout, then fused with one-row rescales.
        for model in [randomized.clone(), compact(&randomized)] {
            let b = Plan::build(&model, model.layout.width, Some(&q)).unwrap();
            prop_assert_eq!(&a.outputs, &b.outputs);
            prop_assert_eq!(&a.instances, &b.instances);
            let circuit = snarkml_circuits::circuit::ModelCircuit::with_plan(&model, b);
            let f = prover::mock_failures(&model, &circuit).unwrap();
            prop_assert!(f.is_empty(), "{:#?}", f);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        #[test]
        fn randomized_checks_agree_with_dot_products_on_random_convolutions(
            batch in 1usize..3, groups in 1usize..3, c_per in 1usize..3, o_per in 1usize..3,
            kernel in 1usize..4, stride in 1usize..3, pad in 0usize..2, dilation in 1usize..3,
            h in 4usize..8, w in 4usize..8, bias in any::<bool>(), seed in any::<u64>(),
        ) {
            let (c, o) = (groups * c_per, groups * o_per);
            let span = dilation * (kernel - 1) + 1;
            prop_assume!(h + 2 * pad >= span && w + 2 * pad >= span);
            let out = |d: usize| (d + 2 * pad - span) / stride + 1;
            let (oh, ow) = (out(h), out(w));
            let mut inputs = vec!["x".to_string(), "w".to_string()];
            let mut inits = vec![constant(
                "w",
                &[o, c_per, kernel, kernel],
                dyadic(seed, o * c_per * kernel * kernel),
            )];
            if bias {
                inputs.push("b".into());
                inits.push(constant("b", &[o], dyadic(seed + 1, o)));
            }
            let node = pb::NodeProto {
                op_type: "Conv".into(),
                input: inputs,
                output: vec!["y".into()],
                attribute: vec![
                    ints("strides", &[stride, stride]),
                    ints("pads", &[pad, pad, pad, pad]),
                    ints("dilations", &[dilation, dilation]),
                    ints("kernel_shape", &[kernel, kernel]),
                    pb::AttributeProto {
                        name: "group".into(),
                        r#type: pb::attribute_proto::AttributeType::Int as i32,
                        i: groups as i64,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            };
            let onnx = model(node, &[batch, c, h, w], &[batch, o, oh, ow], inits);
            agree(&onnx, dyadic(seed + 2, batch * c * h * w))?;
        }

        #[test]
        fn randomized_checks_agree_with_dot_products_on_random_matrix_products(
            rows in 1usize..6, n_in in 1usize..9, n_out in 1usize..6, seed in any::<u64>(),
        ) {
            let node = pb::NodeProto {
                op_type: "MatMul".into(),
                input: vec!["x".into(), "w".into()],
                output: vec!["y".into()],
                ..Default::default()
            };
            let inits = vec![constant("w", &[n_in, n_out], dyadic(seed, n_in * n_out))];
            let onnx = model(node, &[rows, n_in], &[rows, n_out], inits);
            agree(&onnx, dyadic(seed + 2, rows * n_in))?;
        }
    }
}
