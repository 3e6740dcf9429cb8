//! Quantized models as exporters write them, through the corpus's QDQ and dynamic
//! quantization models (`tests/fixtures/corpus/`) and onnxruntime's quantized LSTM
//! (`tests/fixtures/dynamic/`): the levels each form rounds to are ONNX's, a level or quotient
//! claimed wrong fails its lookup or range check, and the lowering of whole-number levels
//! stays valid at any scale.

mod common;

use common::corpus::{assert_quotient_lie_fails_its_remainder_check, corpus_at, corpus_model};
use common::{
    compile, failures, first_element_off_by, fixture, fixture_samples, input_file, parse_onnx,
};
use snarkml_circuits::exec;
use snarkml_circuits::halo2_proofs::dev::VerifyFailure;
use snarkml_circuits::model::layers::Div;
use snarkml_circuits::model::Activation;
use snarkml_circuits::prover::{self, failure_row};
use snarkml_circuits::quantize::{CompileOptions, CompiledModel, Layer};

/// `corpus/name` at `scale` fractional bits, weights at `weights`: the model, its input
/// file's values and the input quantized.
fn corpus_at_bits(
    name: &str,
    scale: u32,
    weights: u32,
) -> (CompiledModel, Vec<f32>, Vec<Vec<i64>>) {
    let opts = CompileOptions {
        scale_bits: Some(scale),
        weight_scale_bits: Some(weights),
        ..CompileOptions::default()
    };
    corpus_at(name, &opts)
}

/// `corpus/qdq_conv` at 2^7 (weights 2^12), its input file's values and the input quantized.
fn qdq_conv_at_7_bits() -> (CompiledModel, Vec<f32>, Vec<Vec<i64>>) {
    corpus_at_bits("qdq_conv", 7, 12)
}

#[test]
fn a_quantize_dequantize_pair_is_a_rescale_into_a_table_of_levels_that_rounds_ties_to_even() {
    // `corpus/qdq_conv`: the input and the convolution's sigmoid each through QuantizeLinear
    // and DequantizeLinear (steps 1/8 and 1/32, zero points −3 and 0); the input file's
    // values lie on a 1/64 grid, so a step of 1/8 meets exact ties, which ONNX rounds to
    // even.
    let (model, x, q) = qdq_conv_at_7_bits();
    // Each pair is the rescale of the op before it (the affine map that divides by the step,
    // the convolution's sigmoid) into one table of the type's levels: no Round or Clip table
    // spanning the values at the activation scale.
    assert_eq!(model.layers.len(), 3, "{:#?}", model.layers);
    let acts = &model.tables.activations;
    assert!(
        !acts
            .keys()
            .any(|a| matches!(a, Activation::Round | Activation::Clip { .. })),
        "{acts:?}"
    );
    let levels: Vec<(Activation, u32)> = acts
        .iter()
        .filter(|(a, _)| matches!(a, Activation::Dequantize { .. }))
        .map(|(a, b)| (*a, *b))
        .collect();
    assert_eq!(levels.len(), 2, "{acts:?}");
    for (act, bits) in &levels {
        assert!(*bits <= 13, "{act:?}: {bits} bits");
    }
    // The input's dequantized levels are ONNX's, ties to even, element for element.
    let ties = x.iter().filter(|v| (*v * 8.0).fract().abs() == 0.5).count();
    assert!(ties > 0, "the input file meets no exact tie");
    let Layer::Affine(first) = &model.layers[0] else {
        panic!("the input's fake quantization is an affine rescale")
    };
    let fraction = match first.rescale.map(|r| r.act) {
        Some(Activation::Dequantize { fraction, .. }) => fraction,
        other => panic!("{other:?}"),
    };
    assert_eq!(fraction, 4, "the count's exact bits");
    let values = &exec::run(&model, &q).unwrap().values[first.output];
    let scale = f64::from(model.tensors[first.output].scale_bits).exp2();
    for (e, (v, x)) in values.iter().zip(&x).enumerate() {
        let want = 0.125 * (f64::from(*x) * 8.0).round_ties_even().clamp(-125.0, 130.0);
        assert_eq!(*v as f64 / scale, want, "element {e} ({x})");
    }
    prover::mock(&model, &q).unwrap();
}

#[test]
fn a_fake_quantized_level_one_unit_off_fails_its_table_lookup() {
    let (model, _, q) = qdq_conv_at_7_bits();
    let layer = model
        .layers
        .iter()
        .position(|l| {
            matches!(l, Layer::Affine(a) if a.rescale.is_some_and(|r| matches!(r.act, Activation::Dequantize { .. })))
        })
        .expect("the input's QuantizeLinear and DequantizeLinear are one affine rescale");
    // The first element claimed one level (1/8, 16 units at 2^7) higher than its count.
    let plan = first_element_off_by(&model, &q, layer, 16);
    let rows = plan.layers[layer + 1].start..plan.layers[layer + 1].end;
    let f = failures(&model, plan);
    assert!(!f.is_empty(), "a wrong level is accepted");
    for e in &f {
        assert!(
            matches!(e, VerifyFailure::Lookup { name, .. } if name == "activation and range table"),
            "{f:#?}"
        );
        let row = failure_row(e).expect("a row");
        assert!(rows.contains(&row), "row {row} outside {rows:?}: {f:#?}");
    }
}

#[test]
fn dynamic_quantization_rounds_to_its_computed_levels_and_its_scale_cancels() {
    // `corpus/dynamic_quant`: onnxruntime's quantize_dynamic form. Each DynamicQuantizeLinear's
    // levels `y − z = round(x / s)` are a whole division of `255·x` by its range (at 0
    // fractional bits), dequantized by `256·s` (one division per tensor); each integer
    // product's `P / s` is never computed (its cast times `s·c` is `c·P`), and nothing reads
    // the zero points: `y` itself is not computed.
    let (model, x, q) = corpus_at("dynamic_quant", &CompileOptions::default());
    let divisions: Vec<&Div> = (model.layers.iter())
        .filter_map(|l| match l {
            Layer::Div(d) => Some(d),
            _ => None,
        })
        .collect();
    let (whole, other): (Vec<&Div>, Vec<&Div>) = divisions.iter().partition(|d| d.whole);
    let name = |d: &Div| model.tensors[d.output].name.clone();
    assert_eq!(
        whole.iter().map(|d| name(d)).collect::<Vec<_>>(),
        ["xq/rounded", "fq/rounded"]
    );
    assert_eq!(
        other.iter().map(|d| name(d)).collect::<Vec<_>>(),
        ["xq/step256", "fq/step256"]
    );
    let levels = model
        .tensors
        .iter()
        .position(|t| t.name == "xq/rounded")
        .unwrap();
    assert_eq!(model.tensors[levels].scale_bits, 0);
    // The input's levels are ONNX's (round(x / s), with s from the input's own range), an
    // exact tie rounded up (ONNX rounds it to even); with the zero point, within uint8.
    let x: Vec<f64> = x.iter().map(|v| f64::from(*v)).collect();
    let lo = x.iter().copied().fold(0f64, f64::min);
    let hi = x.iter().copied().fold(0f64, f64::max);
    let zero = (-lo * 255.0 / (hi - lo)).round_ties_even();
    let values = &exec::run(&model, &q).unwrap().values[levels];
    assert_eq!(values.len(), x.len());
    let mut ties = 0;
    for (e, (v, x)) in values.iter().zip(&x).enumerate() {
        let steps = x * 255.0 / (hi - lo);
        if steps.fract().abs() == 0.5 {
            ties += 1;
            assert_eq!(*v as f64, (steps + 0.5).floor(), "element {e} ({x})");
        } else {
            assert_eq!(*v as f64, steps.round_ties_even(), "element {e} ({x})");
        }
        assert!(
            (0.0..=255.0).contains(&(*v as f64 + zero)),
            "element {e}: {v}"
        );
    }
    assert!(ties > 0, "the input file meets no exact tie");
}

#[test]
fn a_whole_quotient_off_by_one_fails_the_remainder_range_check() {
    // A level of dynamic quantization claimed one higher than `255·x / (hi − lo)` rounds to
    // (the matrix product's input: the convolution's, through a ReLU, may not show a lie).
    let (model, q) = corpus_model("dynamic_quant");
    let layer = (model.layers.iter())
        .position(|l| matches!(l, Layer::Div(d) if d.whole && model.tensors[d.output].name == "fq/rounded"))
        .expect("the levels are a whole quotient");
    assert_quotient_lie_fails_its_remainder_check(&model, &q, layer);
}

#[test]
fn dynamic_quantization_levels_times_weights_no_finer_than_the_activations_still_rescale() {
    // The levels are whole numbers (0 fractional bits): an affine map or a product of them
    // by weights at the activation scale accumulates at that scale, with nothing to shift
    // away. They are raised to the activation scale first, so the build is valid and proves.
    let (model, _, q) = corpus_at_bits("dynamic_quant", 10, 10);
    model.validate().unwrap();
    prover::mock(&model, &q).unwrap();
}

/// Σ|got − want| / Σ|want| over every output.
fn relative_error(got: &[Vec<f64>], want: &[Vec<f64>]) -> f64 {
    let (mut err, mut mag) = (0.0, 0.0);
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len());
        for (a, b) in g.iter().zip(w) {
            err += (a - b).abs();
            mag += b.abs();
        }
    }
    err / mag
}

#[test]
fn a_dynamically_quantized_lstm_is_the_lstm_of_its_int8_weights() {
    // corpus/lstm_small as onnxruntime's quantize_dynamic writes it per channel: a
    // com.microsoft DynamicQuantizeLSTM, its int8 weights stored transposed with a scale and
    // zero point per gate row; and onnxruntime's outputs of it.
    let path = fixture("dynamic/lstm_small.onnx");
    let input = input_file(&fixture("corpus/lstm_small.input.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixture("dynamic/lstm_small.expected.json")).unwrap(),
    )
    .unwrap();
    let onnxruntime: Vec<Vec<f64>> = expected["output_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            o.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect();
    // Our float reading, the LSTM of the dequantized weights, is onnxruntime's output but for
    // the uint8 rounding of x and h its kernel adds at every step (apart, yet within 1 %).
    let graph = parse_onnx(&path).unwrap();
    let float: Vec<Vec<f64>> = (graph.run_f32(&input.input_data).iter())
        .map(|o| o.iter().map(|v| f64::from(*v)).collect())
        .collect();
    let apart = relative_error(&float, &onnxruntime);
    assert!(
        apart > 0.0 && apart < 0.01,
        "float reading {apart} from onnxruntime"
    );
    // It is not the float model's reading: the weights read are the int8 ones.
    let original = parse_onnx(&fixture("corpus/lstm_small.onnx")).unwrap();
    let original: Vec<Vec<f64>> = (original.run_f32(&input.input_data).iter())
        .map(|o| o.iter().map(|v| f64::from(*v)).collect())
        .collect();
    assert!(relative_error(&float, &original) > 0.0);
    // Compiled on lstm_small's calibration samples, it proves, within 1 % of onnxruntime.
    let samples = fixture_samples("corpus/lstm_small");
    let model = compile(&path, &samples, &CompileOptions::default()).unwrap();
    let q = model.quantize_inputs(&input.input_data).unwrap();
    prover::mock(&model, &q).unwrap();
    let outputs = exec::run(&model, &q).unwrap().outputs(&model);
    let circuit: Vec<Vec<f64>> = (model.outputs.iter().zip(&outputs))
        .map(|(spec, values)| spec.dequantize(&model.tensors[spec.tensor], values))
        .collect();
    let error = relative_error(&circuit, &onnxruntime);
    assert!(error < 0.01, "the circuit is {error} from onnxruntime");
}
