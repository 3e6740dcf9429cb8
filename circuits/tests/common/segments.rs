//! Proving a split model's segments one after the other in tests (MockProver; the proof
//! files carry the instances only, which is all a chain check reads).

use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::exec;
use snarkml_circuits::io::ProofFile;
use snarkml_circuits::prover::{mock_failures, Proof, Transcript};
use snarkml_circuits::quantize::{CompiledModel, Visibility};
use snarkml_circuits::Fr;
use std::collections::BTreeMap;

/// `model` (rewritten by a split) sized again: its rows and `k`.
pub(crate) fn sized(mut model: CompiledModel) -> CompiledModel {
    let plan = snarkml_circuits::layout::Plan::build(&model, model.layout.width, None).unwrap();
    model.rows = plan.rows;
    model.layout.k = snarkml_circuits::model::min_k(model.rows, model.tables.rows());
    model
}

/// The index of `model`'s layer made from node `node`.
pub(crate) fn position(model: &CompiledModel, node: &str) -> usize {
    model
        .layers
        .iter()
        .position(|l| l.node() == node)
        .unwrap_or_else(|| panic!("no layer `{node}`"))
}

/// A change to the values a segment receives.
pub(crate) type Tamper = fn(&mut Vec<Vec<i64>>);

/// The salt of hashed tensor `t` in these tests.
pub(crate) fn salt(t: usize) -> Fr {
    Fr::from(1000 + t as u64)
}

/// The salts of a segment's hashed inputs then outputs.
pub(crate) fn salts(segment: &CompiledModel) -> Vec<Fr> {
    segment
        .inputs
        .iter()
        .chain(&segment.outputs)
        .filter(|s| s.visibility == Visibility::Hashed)
        .map(|s| salt(s.tensor))
        .collect()
}

/// Each segment's "proof" file (its circuit satisfied, MockProver), run one after the other,
/// each on what the segments before it computed (`inputs`: the model's); `tamper` changes
/// the values the segment it names receives. Also every tensor the segments gave out.
pub(crate) fn prove_segments(
    segments: &[CompiledModel],
    inputs: &[Vec<i64>],
    tamper: Option<(usize, Tamper)>,
) -> (Vec<ProofFile>, BTreeMap<usize, Vec<i64>>) {
    let mut values: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    let mut files = Vec::new();
    for (j, seg) in segments.iter().enumerate() {
        let mut ins: Vec<Vec<i64>> = if j == 0 {
            inputs.to_vec()
        } else {
            seg.inputs
                .iter()
                .map(|s| values[&s.tensor].clone())
                .collect()
        };
        if let Some((_, change)) = tamper.filter(|(at, _)| *at == j) {
            change(&mut ins);
        }
        let circuit = ModelCircuit::with_salts(seg, Some(&ins), &salts(seg)).unwrap();
        let failures = mock_failures(seg, &circuit).unwrap();
        assert!(failures.is_empty(), "segment {}: {failures:?}", j + 1);
        let outputs = exec::run(seg, &ins).unwrap().outputs(seg);
        assert_eq!(outputs, circuit.plan.outputs, "segment {}", j + 1);
        for (spec, v) in seg.outputs.iter().zip(&outputs) {
            values.insert(spec.tensor, v.clone());
        }
        let proof = Proof {
            proof: Vec::new(),
            transcript: Transcript::Keccak,
            instances: circuit.instance_column(),
            outputs,
            commitments: circuit.plan.commitments.clone(),
        };
        files.push(ProofFile::new(seg, &proof, &ins, "vk", "srs"));
    }
    (files, values)
}

/// One inverted residual block (no residual) over `[1, c, h, w]`, compiled: a 1×1 expansion
/// to `e` channels and ReLU, a depthwise `kh × kw` convolution ("same" padding) and ReLU, a
/// 1×1 projection back to `c` (weights scaled by `project_scale`). Big enough, its rows (not
/// its tables) set its `k`: what the split budget tests need.
pub(crate) fn inverted_block(
    (c, e): (usize, usize),
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    project_scale: f32,
) -> CompiledModel {
    use super::onnx::{constant, dyadic, int, ints, model, node};
    let scaled = |seed, n: usize, by: f32| dyadic(seed, n).iter().map(|v| v / by).collect();
    let inits = vec![
        constant("we", &[e, c, 1, 1], scaled(1, e * c, 4.0)),
        constant("be", &[e], dyadic(2, e)),
        constant("wd", &[e, 1, kh, kw], scaled(3, e * kh * kw, 4.0)),
        constant("bd", &[e], dyadic(4, e)),
        constant("wp", &[c, e, 1, 1], scaled(5, c * e, project_scale)),
        constant("bp", &[c], dyadic(6, c)),
    ];
    let strides = || ints("strides", &[1, 1]);
    let (ph, pw) = (kh / 2, kw / 2);
    let nodes = vec![
        node("Conv", &["x", "we", "be"], "e", vec![strides()]),
        node("Relu", &["e"], "er", vec![]),
        node(
            "Conv",
            &["er", "wd", "bd"],
            "d",
            vec![
                strides(),
                ints("pads", &[ph, pw, ph, pw]),
                int("group", e as i64),
            ],
        ),
        node("Relu", &["d"], "dr", vec![]),
        node("Conv", &["dr", "wp", "bp"], "y", vec![strides()]),
    ];
    let onnx = model(
        nodes,
        &[("x", &[1, c, h, w])],
        &[("y", &[1, c, h, w])],
        inits,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("block.onnx");
    std::fs::write(&path, onnx).unwrap();
    let samples = vec![vec![dyadic(7, c * h * w)]];
    super::compile(
        &path,
        &samples,
        &snarkml_circuits::quantize::CompileOptions::default(),
    )
    .unwrap()
}
