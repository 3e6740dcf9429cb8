//! Split proving by bands of rows (issue #20): a run of convolutions cut into bands of its
//! output rows computes exactly what the run computes (halos recomputed, padding only at the
//! real edges), its circuit is satisfied, a cut between bands carries bands, and a memory
//! budget no cut at layer boundaries meets is met by splitting runs into bands.

mod common;

use common::compile_with;
use common::segments::{inverted_block, position, prove_segments, sized};
use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::exec;
use snarkml_circuits::layout::optimize::{Columns, CostModel};
use snarkml_circuits::prover::mock_failures;
use snarkml_circuits::quantize::{CompileOptions, CompiledModel};
use snarkml_circuits::split::tiles::{runs, split_runs};
use snarkml_circuits::split::{boundary, check_chain, choose_cuts, plan, predict, split, Budget};

/// `model` with its runs split into `bands` (one count per run), sized.
fn split_sized(model: &CompiledModel, bands: &[usize]) -> CompiledModel {
    let (m, done) = split_runs(model, &runs(model), bands);
    assert_eq!(done.len(), bands.iter().filter(|g| **g > 1).count());
    sized(m)
}

#[test]
fn runs_split_into_bands_compute_the_same_outputs_and_prove() {
    let (model, q) = compile_with("corpus/inverted_residual", &CompileOptions::default());
    // Each block's three convolutions are a run; the second block's (stride 2) has 4 rows.
    let found = runs(&model);
    let nodes: Vec<Vec<&str>> = found
        .iter()
        .map(|r| {
            model.layers[r.first..=r.last]
                .iter()
                .map(|l| l.node())
                .collect()
        })
        .collect();
    assert_eq!(
        nodes,
        [
            ["expand0", "dw0", "project0"],
            ["expand1", "dw1", "project1"]
        ]
    );
    assert_eq!(found.iter().map(|r| r.rows).collect::<Vec<_>>(), [8, 4]);

    let banded = split_sized(&model, &[3, 2]);
    banded.validate().unwrap();
    // Three bands of rows 0..2, 2..5, 5..8: the 3×3 depthwise convolution reads a row more on
    // each inner side, so the expansion before it is computed on those rows too.
    for node in [
        "expand0 [rows 0..3]",
        "dw0 [rows 0..2]",
        "expand0 [rows 1..6]",
        "dw0 [rows 2..5]",
        "expand0 [rows 4..8]",
        "project0 [rows 5..8]",
        "project0 [bands joined]",
        "expand1 [rows 0..4]",
        "dw1 [rows 0..2]",
        "expand1 [rows 3..8]",
        "project1 [bands joined]",
    ] {
        position(&banded, node);
    }
    // Every layer keeps a name of its own (failures and profiles name layers by it).
    let names: std::collections::BTreeSet<&str> = banded.layers.iter().map(|l| l.node()).collect();
    assert_eq!(names.len(), banded.layers.len());
    // The same integers in every output and in every run's output.
    let whole = exec::run(&model, &q).unwrap();
    let parts = exec::run(&banded, &q).unwrap();
    assert_eq!(parts.outputs(&banded), whole.outputs(&model));
    for r in &found {
        let out = model.layers[r.last].op().output();
        assert_eq!(parts.values[out], whole.values[out]);
    }
    let circuit = ModelCircuit::with_salts(&banded, Some(&q), &[]).unwrap();
    assert!(mock_failures(&banded, &circuit).unwrap().is_empty());
    assert_eq!(circuit.plan.outputs, whole.outputs(&model));
}

#[test]
fn a_cut_between_bands_carries_bands_and_the_segments_chain() {
    let (model, q) = compile_with("corpus/inverted_residual", &CompileOptions::default());
    let banded = split_sized(&model, &[2, 1]);
    // After the first band: the second band's input rows (3..8, halo included) and the first
    // band's output rows (0..4) cross, besides the block input the residual adds.
    let cut = position(&banded, "project0 [rows 0..4]") + 1;
    let crossing: Vec<&str> = boundary(&banded, cut)
        .iter()
        .map(|t| banded.tensors[*t].name.as_str())
        .collect();
    let input = &model.tensors[model.inputs[0].tensor].name;
    let project = &model.tensors[model.layers[runs(&model)[0].last].op().output()].name;
    assert_eq!(
        crossing,
        [
            input.clone(),
            format!("{input}[rows 3..8]"),
            format!("{project}[rows 0..4]")
        ]
    );
    let (segments, _) = split(&banded, &[cut]).unwrap();
    let (files, values) = prove_segments(&segments, &q, None);
    check_chain(&segments, &files).unwrap();
    let whole = exec::run(&model, &q).unwrap();
    for spec in &model.outputs {
        assert_eq!(values[&spec.tensor], whole.values[spec.tensor]);
    }
}

#[test]
fn a_memory_budget_no_layer_cut_meets_is_met_by_splitting_runs_into_bands() {
    // A block at 16×16 whose products outweigh what crosses a cut: expand 4 → 64 channels,
    // a 3×3 depthwise convolution.
    let model = inverted_block((4, 64), (16, 16), (3, 3), 8.0);
    let columns = Columns::of(&model, model.layout.width);
    let memory = |k| CostModel::MEASURED.predict(k, columns).1;
    let k = model.layout.k - 1;
    // No cut at layer boundaries fits: every cut inside the block carries 64 channels.
    match choose_cuts(&model, Budget::MaxMemory(memory(k))).unwrap_err() {
        CircuitError::BadOption { option, reason } => {
            assert_eq!(option, "max-memory");
            let refused = format!("no cut of the model at layer boundaries fits k = {k}");
            assert!(reason.starts_with(&refused), "{reason}");
        }
        other => panic!("{other}"),
    }
    let chosen = plan(&model, Budget::MaxMemory(memory(k))).unwrap();
    assert_eq!(chosen.tile_splits.len(), 1, "{:?}", chosen.tile_splits);
    assert!(chosen.channel_splits.is_empty());
    let done = &chosen.tile_splits[0];
    assert_eq!((done.rows, done.nodes.len()), (16, 3));
    assert!(done.bands >= 2, "{done:?}");
    assert!(!chosen.cuts.is_empty());
    let (segments, _) = split(&chosen.model, &chosen.cuts).unwrap();
    assert!(segments.iter().all(|s| s.layout.k <= k));
    assert!(predict(&segments).iter().all(|(_, b)| *b <= memory(k)));
    // The split model computes the same outputs.
    let q = model
        .quantize_inputs(&[common::onnx::dyadic(9, 4 * 16 * 16)])
        .unwrap();
    assert_eq!(
        exec::run(&chosen.model, &q).unwrap().outputs(&chosen.model),
        exec::run(&model, &q).unwrap().outputs(&model)
    );
    // A budget the whole model meets is met without a cut or a split.
    let whole = plan(&model, Budget::MaxMemory(memory(model.layout.k))).unwrap();
    assert!(whole.cuts.is_empty() && whole.tile_splits.is_empty());
    assert_eq!(whole.model, model);
}
