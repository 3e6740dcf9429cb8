//! Split proving (issue #20): a compiled model cut into segments chained by commitments. The
//! segments together compute what the whole model computes, every segment's circuit is
//! satisfied on the chained values, consecutive segments expose one commitment per boundary
//! tensor, and a segment run on another tensor breaks the chain by name.

mod common;

use common::compile_with;
use common::segments::{prove_segments as run_chain, salt, salts};
use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::exec;
use snarkml_circuits::layout::optimize::{Columns, CostModel};
use snarkml_circuits::prover::mock_failures;
use snarkml_circuits::quantize::{CompileOptions, CompiledModel, Visibility};
use snarkml_circuits::split::{
    boundary, check_chain, choose_cuts, predict, split, wall_time, Budget, SPLIT_FORMAT,
};

/// Six 96×96 dense layers with ReLU, compiled (about 16,000 rows of dot products against a
/// 4,096-row ReLU table).
fn deep_mlp() -> CompiledModel {
    use common::onnx::{constant, dyadic, model, node};
    const N: usize = 96;
    let mut nodes = Vec::new();
    let mut inits = Vec::new();
    let mut x = "x".to_owned();
    for l in 0..6 {
        let (w, b, y, r) = (
            format!("w{l}"),
            format!("b{l}"),
            format!("y{l}"),
            format!("r{l}"),
        );
        let weights = dyadic(l, N * N).iter().map(|v| v / 8.0).collect();
        inits.push(constant(&w, &[N, N], weights));
        inits.push(constant(&b, &[N], dyadic(100 + l, N)));
        nodes.push(node("Gemm", &[&x, &w, &b], &y, vec![]));
        nodes.push(node("Relu", &[&y], &r, vec![]));
        x = r;
    }
    let onnx = model(nodes, &[("x", &[1, N])], &[(&x, &[1, N])], inits);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.onnx");
    std::fs::write(&path, onnx).unwrap();
    let samples = vec![vec![dyadic(7, N)]];
    common::compile(&path, &samples, &CompileOptions::default()).unwrap()
}

#[test]
fn segments_compute_what_the_whole_model_computes_and_chain_by_commitments() {
    for stem in ["corpus/transformer_block", "corpus/cnn_digits"] {
        let (model, q) = compile_with(stem, &CompileOptions::default());
        let cuts = choose_cuts(&model, Budget::Segments(3)).unwrap();
        let (segments, manifest) = split(&model, &cuts).unwrap();
        assert_eq!(manifest.format, SPLIT_FORMAT);
        assert_eq!(segments.len(), 3, "{stem}");
        // The segments hold every layer once, in order.
        let covered: Vec<[usize; 2]> = manifest.segments.iter().map(|s| s.layers).collect();
        assert_eq!(covered[0][0], 0);
        assert_eq!(covered[2][1], model.layers.len());
        assert!(covered.windows(2).all(|w| w[0][1] == w[1][0]));
        for (seg, info) in segments.iter().zip(&manifest.segments) {
            seg.validate().unwrap();
            assert_eq!((seg.layout.k, seg.rows), (info.k, info.rows));
            assert!(
                seg.rows < model.rows,
                "{stem}: a segment is smaller than the model"
            );
            assert!(
                seg.tables.rows() <= model.tables.rows() + 1024,
                "{stem}: {:?}",
                seg.tables
            );
            let text = serde_json::to_string(seg).unwrap();
            let read: CompiledModel = serde_json::from_str(&text).unwrap();
            assert_eq!(
                (&read.inputs, &read.outputs, &read.layers, &read.tables),
                (&seg.inputs, &seg.outputs, &seg.layers, &seg.tables)
            );
        }
        // The model's inputs and outputs keep their specs; every cut is hashed both sides.
        assert_eq!(segments[0].inputs, model.inputs);
        assert_eq!(segments[2].outputs, model.outputs);
        for (j, cut) in cuts.iter().enumerate() {
            let crossing = boundary(&model, *cut);
            assert!(!crossing.is_empty());
            for specs in [&segments[j].outputs, &segments[j + 1].inputs] {
                let ids: Vec<usize> = specs.iter().map(|s| s.tensor).collect();
                assert_eq!(ids, crossing, "{stem}: cut {cut}");
                assert!(specs
                    .iter()
                    .all(|s| s.boundary && s.visibility == Visibility::Hashed));
            }
        }

        let (files, values) = run_chain(&segments, &q, None);
        let whole = exec::run(&model, &q).unwrap();
        for spec in &model.outputs {
            assert_eq!(values[&spec.tensor], whole.values[spec.tensor], "{stem}");
        }
        // Each boundary's commitment is the packed one, the same on both sides of its cut.
        for j in 1..segments.len() {
            for (spec, shown) in segments[j].inputs.iter().zip(&files[j].inputs) {
                let expected = spec.commitment(&whole.values[spec.tensor], salt(spec.tensor));
                let hex = snarkml_circuits::fixed_point::field_to_hex(&expected);
                assert_eq!(shown.commitment.as_deref(), Some(hex.as_str()));
            }
        }
        check_chain(&segments, &files).unwrap();
    }
}

#[test]
fn a_segment_run_on_another_tensor_breaks_the_chain_by_name() {
    let (model, q) = compile_with("corpus/cnn_digits", &CompileOptions::default());
    let (segments, _) = split(&model, &choose_cuts(&model, Budget::Segments(2)).unwrap()).unwrap();
    // Segment 2's own circuit is satisfied on the changed tensor: only the chain catches it.
    let (files, _) = run_chain(
        &segments,
        &q,
        Some((1, |ins: &mut Vec<Vec<i64>>| ins[0][0] += 1)),
    );
    let name = &segments[1].tensors[segments[1].inputs[0].tensor].name;
    match check_chain(&segments, &files).unwrap_err() {
        CircuitError::BrokenChain { segment, reason } => {
            assert_eq!(segment, 2);
            assert!(reason.contains(&format!("`{name}`")), "{reason}");
            assert!(reason.contains("commitments differ"), "{reason}");
        }
        other => panic!("{other}"),
    }
    // Proofs missing or in another order break it too.
    let err = check_chain(&segments, &files[..1]).unwrap_err();
    assert!(matches!(err, CircuitError::BrokenChain { .. }), "{err}");
    let (honest, _) = run_chain(&segments, &q, None);
    let swapped = vec![honest[1].clone(), honest[0].clone()];
    let err = check_chain(&segments, &swapped).unwrap_err();
    assert!(
        matches!(err, CircuitError::BrokenChain { segment: 2, .. }),
        "{err}"
    );
}

#[test]
fn a_boundary_value_outside_its_packing_width_does_not_prove() {
    let (model, q) = compile_with("corpus/cnn_digits", &CompileOptions::default());
    let (segments, _) = split(&model, &choose_cuts(&model, Budget::Segments(2)).unwrap()).unwrap();
    let seg = &segments[1];
    let spec = &seg.inputs[0];
    let whole = exec::run(&model, &q).unwrap();
    let mut ins: Vec<Vec<i64>> = seg
        .inputs
        .iter()
        .map(|s| whole.values[s.tensor].clone())
        .collect();
    // The value one past the width, which would spill into the next value's packed digits.
    let past = 1i64 << (spec.pack_bits - 1);
    let honest = ins.clone();
    ins[0][0] = past;
    match exec::run(seg, &ins).unwrap_err() {
        CircuitError::Overflow { at, bits, .. } => {
            assert_eq!(bits, spec.pack_bits);
            assert!(at.contains(&seg.tensors[spec.tensor].name), "{at}");
        }
        other => panic!("{other}"),
    }
    // A prover who writes it into the input's cell anyway (the last limb row's accumulator,
    // or the split check row's with one-row rescales and two limbs) fails the rows that must
    // recompose it.
    let mut circuit = ModelCircuit::with_salts(seg, Some(&honest), &salts(seg)).unwrap();
    let plan = std::sync::Arc::make_mut(&mut circuit.plan);
    let first = (plan.layers[0].start..plan.rows)
        .find(|r| (plan.dot_first[*r] && plan.lookup[*r]) || plan.rescale_one[*r])
        .expect("the first check row");
    let limbs = seg.tables.boundary_limbs(spec.pack_bits).len();
    let last = if plan.rescale_one[first] {
        assert_eq!(limbs, 2, "a split row checks two limbs");
        first
    } else {
        first + limbs - 1
    };
    let width = seg.layout.width;
    plan.advice[width][last] = snarkml_circuits::fixed_point::to_field(past.into());
    let failures = mock_failures(seg, &circuit).unwrap();
    let row = failures
        .iter()
        .find_map(snarkml_circuits::prover::failure_row)
        .expect("a failing row");
    assert_eq!(circuit.plan.layer_at(row), Some("inputs"), "{failures:?}");
}

#[test]
fn the_wall_time_of_segments_on_several_machines_schedules_longest_first() {
    let secs = [40.0, 10.0, 30.0, 20.0];
    assert_eq!(wall_time(&secs, 1), 100.0);
    assert_eq!(wall_time(&secs, 2), 50.0); // 40 + 10 and 30 + 20
    assert_eq!(wall_time(&secs, 4), 40.0);
    assert_eq!(wall_time(&secs, 8), 40.0);
    assert_eq!(wall_time(&[], 3), 0.0);
}

#[test]
fn cuts_follow_the_budget_and_bad_ones_are_refused() {
    let (model, _) = compile_with("corpus/cnn_digits", &CompileOptions::default());
    let layers = model.layers.len();
    for n in [0, 1, layers + 1] {
        match choose_cuts(&model, Budget::Segments(n)).unwrap_err() {
            CircuitError::BadOption { option, reason } => {
                assert_eq!(option, "segments");
                assert!(reason.contains(&format!("{n} segments asked")), "{reason}");
            }
            other => panic!("{other}"),
        }
    }
    for cuts in [vec![0], vec![layers], vec![3, 2]] {
        let err = split(&model, &cuts).unwrap_err();
        assert!(
            matches!(
                err,
                CircuitError::BadOption {
                    option: "segments",
                    ..
                }
            ),
            "{err}"
        );
    }
    // LeNet-5's first layer alone needs its k: no cut makes it smaller.
    let (lenet, _) = compile_with("corpus/lenet5", &CompileOptions::default());
    let columns = Columns::of(&lenet, lenet.layout.width);
    let memory = |k| CostModel::MEASURED.predict(k, columns).1;
    match choose_cuts(&lenet, Budget::MaxMemory(memory(lenet.layout.k - 1))).unwrap_err() {
        CircuitError::BadOption { option, reason } => {
            assert_eq!(option, "max-memory");
            // Named: the layer that fits worst alone, with what crosses into and out of it.
            let k = lenet.layout.k - 1;
            assert!(
                reason.starts_with(&format!(
                    "no cut of the model at layer boundaries fits k = {k}"
                )),
                "{reason}"
            );
            let named = lenet
                .layers
                .iter()
                .filter(|l| reason.contains(&format!("layer `{}` alone is", l.node())))
                .count();
            assert_eq!(named, 1, "{reason}");
            assert!(
                reason.contains("values crossing into and out of it"),
                "{reason}"
            );
        }
        other => panic!("{other}"),
    }
    // A deep MLP's rows, not its tables, set its k. A memory budget it fits: no cut; one
    // size smaller: every segment fits.
    let model = deep_mlp();
    assert!(
        choose_cuts(&model, Budget::MaxMemory(memory(model.layout.k)))
            .unwrap()
            .is_empty()
    );
    let k = model.layout.k - 1;
    let cuts = choose_cuts(&model, Budget::MaxMemory(memory(k))).unwrap();
    assert!(!cuts.is_empty());
    let (segments, _) = split(&model, &cuts).unwrap();
    assert!(segments.iter().all(|s| s.layout.k <= k));
    // The cost model's prediction: every segment within the budget it was cut for.
    let predicted = predict(&segments);
    assert!(predicted.iter().all(|(_, bytes)| *bytes <= memory(k)));
    match choose_cuts(&model, Budget::MaxMemory(1.0)).unwrap_err() {
        CircuitError::BadOption { option, .. } => assert_eq!(option, "max-memory"),
        other => panic!("{other}"),
    }
}
