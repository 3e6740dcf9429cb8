//! Split proving by channels (issue #20): a chain of convolutions (expand → depthwise →
//! project) cut into groups of its middle channels computes exactly what the chain computes,
//! its circuit is satisfied (the carried partial sums constrained), a cut between two groups
//! carries the chain's input and one partial sum instead of the expanded tensor, and a memory
//! budget no cut at layer boundaries meets is met by splitting chains first.

mod common;

use common::compile_with;
use common::segments::{inverted_block, position, prove_segments, salts, sized};
use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::exec;
use snarkml_circuits::layout::optimize::{Columns, CostModel};
use snarkml_circuits::model::layers::Layer;
use snarkml_circuits::model::TensorId;
use snarkml_circuits::prover::{failure_row, mock_failures};
use snarkml_circuits::quantize::{CompileOptions, CompiledModel};
use snarkml_circuits::split::channels::{chains, split_chains, Chain};
use snarkml_circuits::split::check_chain;
use snarkml_circuits::split::{boundary, choose_cuts, plan, predict, split, Budget};

/// `model` with its chains split into `groups` (one count per chain), sized.
fn split_sized(model: &CompiledModel, groups: &[usize]) -> CompiledModel {
    let (m, done) = split_chains(model, &chains(model), groups);
    assert_eq!(done.len(), groups.iter().filter(|g| **g > 1).count());
    sized(m)
}

#[test]
fn chains_split_by_channels_compute_the_same_outputs_and_prove() {
    let (model, q) = compile_with("corpus/inverted_residual", &CompileOptions::default());
    // Both blocks are chains of three convolutions over 12 expanded channels.
    let found = chains(&model);
    let nodes = |c: &Chain| -> Vec<String> {
        model.layers[c.first..=c.last]
            .iter()
            .map(|l| l.node().to_owned())
            .collect()
    };
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(nodes(&found[0]), ["expand0", "dw0", "project0"]);
    assert_eq!(nodes(&found[1]), ["expand1", "dw1", "project1"]);
    assert!(found.iter().all(|c| c.channels == 12));

    let split_model = split_sized(&model, &[3, 2]);
    split_model.validate().unwrap();
    assert_eq!(split_model.layers.len(), model.layers.len() + 3 * 2 + 3);
    // The same integers: every output, and the chains' outputs, equal the unsplit model's.
    let whole = exec::run(&model, &q).unwrap();
    let parts = exec::run(&split_model, &q).unwrap();
    assert_eq!(parts.outputs(&split_model), whole.outputs(&model));
    for c in &found {
        let out = model.layers[c.last].op().output();
        assert_eq!(parts.values[out], whole.values[out]);
    }
    // The last group continues the others' partial sums and rescales; the first adds the bias.
    let project = |g: &str| match &split_model.layers[position(&split_model, g)] {
        Layer::Conv(c) => c.clone(),
        other => panic!("{other:?}"),
    };
    let (first, last) = (
        project("project0 [channels 0..4]"),
        project("project0 [channels 8..12]"),
    );
    assert!(first.accumulator.is_none() && first.rescale.is_none());
    assert!(last.accumulator.is_some() && last.rescale.is_some());
    assert!(last.bias.iter().all(|b| *b == 0));

    // The circuit is satisfied, and the carried partial sum is constrained: a prover who
    // writes another value where the last group reads it fails.
    let circuit = ModelCircuit::with_salts(&split_model, Some(&q), &[]).unwrap();
    assert!(mock_failures(&split_model, &circuit).unwrap().is_empty());
    assert_eq!(circuit.plan.outputs, whole.outputs(&model));
    let carried: TensorId = last.accumulator.unwrap();
    let value = snarkml_circuits::fixed_point::to_field(parts.values[carried][0].into());
    let at = &circuit.plan.layers[position(&split_model, "project0 [channels 8..12]") + 1];
    let width = split_model.layout.width;
    let (slot, row) = (at.start..at.end)
        .flat_map(|r| (0..width).map(move |s| (s, r)))
        .find(|(s, r)| circuit.plan.weights[*s][*r] == 1 && circuit.plan.advice[*s][*r] == value)
        .expect("the carried partial sum in the last group's first dot row");
    let mut tampered = circuit.clone();
    let plan = std::sync::Arc::make_mut(&mut tampered.plan);
    plan.advice[slot][row] += snarkml_circuits::Fr::from(1);
    let failures = mock_failures(&split_model, &tampered).unwrap();
    assert!(
        failures.iter().filter_map(failure_row).any(|r| r == row),
        "{failures:?}"
    );
}

#[test]
fn a_cut_between_groups_carries_the_chain_input_and_one_partial_sum() {
    let (model, q) = compile_with("corpus/inverted_residual", &CompileOptions::default());
    let split_model = split_sized(&model, &[3, 1]);
    let cut = position(&split_model, "expand0 [channels 4..8]");
    let crossing = boundary(&split_model, cut);
    let input = model.layers[chains(&model)[0].first].inputs()[0];
    let partial = match &split_model.layers[position(&split_model, "project0 [channels 4..8]")] {
        Layer::Conv(c) => c.accumulator.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(crossing, vec![input, partial]);
    // 4 + 4 channels of 8×8 instead of the 12 expanded ones a cut inside the block carried.
    let values: usize = crossing
        .iter()
        .map(|t| split_model.tensors[*t].numel())
        .sum();
    let inside = boundary(&model, position(&model, "dw0"));
    let expanded: usize = inside.iter().map(|t| model.tensors[*t].numel()).sum();
    assert_eq!((values, expanded), (2 * 4 * 64, (4 + 12) * 64));

    // Segments cut there chain to the whole model's outputs.
    let (segments, _) = split(&split_model, &[cut]).unwrap();
    let (files, values) = prove_segments(&segments, &q, None);
    check_chain(&segments, &files).unwrap();
    let whole = exec::run(&model, &q).unwrap();
    for spec in &model.outputs {
        assert_eq!(values[&spec.tensor], whole.values[spec.tensor]);
    }
    // With one-row rescales, a boundary value of two limbs is checked by one split row; a
    // value past its packing width written there fails it.
    let seg = &segments[1];
    assert!(seg.layout.one_row_rescale);
    let spec = &seg.inputs[0];
    assert_eq!(seg.tables.boundary_limbs(spec.pack_bits).len(), 2);
    let ins: Vec<Vec<i64>> = seg
        .inputs
        .iter()
        .map(|s| values[&s.tensor].clone())
        .collect();
    let mut tampered = ModelCircuit::with_salts(seg, Some(&ins), &salts(seg)).unwrap();
    let plan = std::sync::Arc::make_mut(&mut tampered.plan);
    let row = (plan.layers[0].start..plan.layers[0].end)
        .find(|r| plan.rescale_one[*r])
        .expect("a split check row among the inputs");
    let past = 1i128 << (spec.pack_bits - 1);
    plan.advice[seg.layout.width][row] = snarkml_circuits::fixed_point::to_field(past);
    let failures = mock_failures(seg, &tampered).unwrap();
    assert!(
        failures.iter().filter_map(failure_row).any(|r| r == row),
        "{failures:?}"
    );
}

#[test]
fn each_layers_error_follows_it_through_chains_split_by_channels_and_into_segments() {
    let (model, _) = compile_with("corpus/inverted_residual", &CompileOptions::default());
    let error_of = |m: &CompiledModel, t: TensorId| {
        (m.layers.iter().zip(&m.report.layer_errors))
            .find(|(l, _)| l.op().output() == t)
            .and_then(|(_, e)| *e)
    };
    let split_model = split_sized(&model, &[3, 1]);
    assert_eq!(
        split_model.report.layer_errors.len(),
        split_model.layers.len()
    );
    // A layer writing a tensor of the model as compiled has that tensor's error; a group's
    // partial sum, the split's own, has none.
    for (layer, error) in split_model
        .layers
        .iter()
        .zip(&split_model.report.layer_errors)
    {
        let t = layer.op().output();
        let original = (t < model.tensors.len())
            .then(|| error_of(&model, t))
            .flatten();
        assert_eq!(*error, original, "{}", layer.node());
    }
    assert!(split_model.report.layer_errors.iter().any(Option::is_none));
    // Each segment keeps its own layers' errors.
    let cut = position(&split_model, "expand0 [channels 4..8]");
    let (segments, _) = split(&split_model, &[cut]).unwrap();
    for segment in &segments {
        assert_eq!(segment.report.layer_errors.len(), segment.layers.len());
        for (layer, error) in segment.layers.iter().zip(&segment.report.layer_errors) {
            assert_eq!(
                *error,
                error_of(&split_model, layer.op().output()),
                "{}",
                layer.node()
            );
        }
    }
}

#[test]
fn a_tensor_goes_from_the_segment_that_computes_it_to_each_segment_that_reads_it() {
    let (model, q) = compile_with("corpus/inverted_residual", &CompileOptions::default());
    let split_model = split_sized(&model, &[3, 1]);
    let cuts = [
        position(&split_model, "expand0 [channels 4..8]"),
        position(&split_model, "expand0 [channels 8..12]"),
    ];
    let (segments, _) = split(&split_model, &cuts).unwrap();
    let partial = |g: &str| match &split_model.layers[position(&split_model, g)] {
        Layer::Conv(c) => c.accumulator.unwrap(),
        other => panic!("{other:?}"),
    };
    let (input, p1, p2) = (
        model.inputs[0].tensor,
        partial("project0 [channels 4..8]"),
        partial("project0 [channels 8..12]"),
    );
    let ids = |specs: &[snarkml_circuits::model::IoSpec]| -> Vec<TensorId> {
        specs.iter().map(|s| s.tensor).collect()
    };
    // The block's input (the model's) goes from the first segment to the second and the
    // third; the second gives out only its partial sum.
    assert_eq!(ids(&segments[0].outputs), [input, p1]);
    assert_eq!(ids(&segments[1].inputs), [input, p1]);
    assert_eq!(ids(&segments[1].outputs), [p2]);
    assert_eq!(ids(&segments[2].inputs), [input, p2]);

    let (files, _) = prove_segments(&segments, &q, None);
    check_chain(&segments, &files).unwrap();
    // The third segment run on another input is caught against the first's commitment.
    let (files, _) = prove_segments(&segments, &q, Some((2, |ins| ins[0][0] += 1)));
    match check_chain(&segments, &files).unwrap_err() {
        CircuitError::BrokenChain { segment, reason } => {
            assert_eq!(segment, 3);
            assert!(
                reason.contains("not the tensor segment 1 computed"),
                "{reason}"
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_memory_budget_no_layer_cut_or_band_meets_is_met_by_splitting_chains() {
    // A block over one row of 64 (rows cannot be split into bands) whose products outweigh
    // what crosses a cut: expand 8 → 256 channels, a 1×5 depthwise convolution.
    let model = inverted_block((8, 256), (1, 64), (1, 5), 32.0);
    let columns = Columns::of(&model, model.layout.width);
    let memory = |k| CostModel::MEASURED.predict(k, columns).1;
    let k = model.layout.k - 1;
    // No cut at layer boundaries fits: every cut inside the block carries 256 channels.
    match choose_cuts(&model, Budget::MaxMemory(memory(k))).unwrap_err() {
        CircuitError::BadOption { option, reason } => {
            assert_eq!(option, "max-memory");
            let refused = format!("no cut of the model at layer boundaries fits k = {k}");
            assert!(reason.starts_with(&refused), "{reason}");
        }
        other => panic!("{other}"),
    }
    let chosen = plan(&model, Budget::MaxMemory(memory(k))).unwrap();
    assert!(chosen.tile_splits.is_empty(), "one row: no bands");
    assert_eq!(
        chosen.channel_splits.len(),
        1,
        "{:?}",
        chosen.channel_splits
    );
    let done = &chosen.channel_splits[0];
    assert_eq!((done.channels, done.nodes.len()), (256, 3));
    assert!(done.groups >= 2, "{done:?}");
    assert!(!chosen.cuts.is_empty());
    let (segments, _) = split(&chosen.model, &chosen.cuts).unwrap();
    assert!(segments.iter().all(|s| s.layout.k <= k));
    assert!(predict(&segments).iter().all(|(_, b)| *b <= memory(k)));
    // The split model computes the same outputs.
    let q = model
        .quantize_inputs(&[common::onnx::dyadic(9, 8 * 64)])
        .unwrap();
    assert_eq!(
        exec::run(&chosen.model, &q).unwrap().outputs(&chosen.model),
        exec::run(&model, &q).unwrap().outputs(&model)
    );
}
