//! `profile`: where a build's rows go, layer by layer and by kind of work, and the proving
//! time the cost model of `compile --optimize` predicts for them.

use crate::artifacts::BuildDir;
use eyre::Result;
use serde::Serialize;
use snarkml_circuits::layout::{optimize, Plan};
use snarkml_circuits::quantize::CompiledModel;
use std::collections::BTreeMap;

/// One layer's rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerRows {
    /// The layer's node.
    pub node: String,
    /// Its kind of work (`dot`, `lookup`, … or `inputs/outputs`).
    pub kind: String,
    /// Rows it takes.
    pub rows: usize,
    /// Its share of the predicted proving time.
    pub predicted_s: f64,
    /// Its output's relative error against the float model on the calibration samples
    /// ([`snarkml_circuits::model::QuantReport::layer_errors`]), where it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<f64>,
}

/// A build's profile (`snarkml profile --json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    /// The model's name.
    pub model: String,
    /// The circuit has `2^k` rows.
    pub k: u32,
    /// Multiply-accumulates per dot-product row.
    pub width: usize,
    /// Rows the layout uses.
    pub rows: usize,
    /// Rows of the lookup tables (beside the layout, in their own columns).
    pub table_rows: usize,
    /// Each layer's rows, in order.
    pub layers: Vec<LayerRows>,
    /// Rows by kind of work.
    pub by_kind: BTreeMap<String, usize>,
    /// The predicted proving time of the whole circuit.
    pub predicted_prove_s: f64,
    /// A split build's segments, each profiled as the circuit it is (the fields above are the
    /// whole model's, as one circuit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitProfile>,
}

/// The segments of a split build (`split` in `snarkml profile --json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SplitProfile {
    /// Each segment's profile, in order, with the whole model's layers `[first, end)` it holds.
    pub segments: Vec<SegmentProfile>,
    /// Rows of every segment together.
    pub rows: usize,
    /// What the cuts add to the whole model's rows: the tensors crossing them packed and
    /// hashed on both sides and range-checked after.
    pub boundary_rows: usize,
}

/// One segment of a split build.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentProfile {
    /// The whole model's layers it holds: `[first, end)`.
    pub layers: [usize; 2],
    /// Its profile (`snarkml profile BUILD/segment-J`).
    pub profile: Profile,
}

impl Profile {
    /// Predicted seconds per row: every one of the `2^k` rows costs the same share.
    pub fn seconds_per_row(&self) -> f64 {
        self.predicted_prove_s / (1u64 << self.k) as f64
    }
}

/// The proving time the cost model of `compile --optimize` predicts for `model`'s circuit on a
/// 2-core machine: from its `k` and columns alone (no layout).
pub fn predicted_prove_seconds(model: &CompiledModel) -> f64 {
    let columns = optimize::Columns::of(model, model.layout.width);
    optimize::CostModel::MEASURED
        .predict(model.layout.k, columns)
        .0
}

/// Key generation against proving time on the same circuit, as measured in BENCHMARKS.md
/// (digits MLP 0.48, CNN 0.46, transformer block 0.47, MobileNetV2 0.42 and 0.34).
const KEYGEN_PER_PROVE: f64 = 0.45;

/// What the cost model predicts `setup` (key generation) takes on a 2-core machine, in
/// seconds: a measured fraction of the proving time it predicts.
pub fn predicted_keygen_seconds(model: &CompiledModel) -> f64 {
    KEYGEN_PER_PROVE * predicted_prove_seconds(model)
}

/// The profile of the compiled model in `build` (no keys needed), with each segment's when
/// the build is split.
pub fn profile(build: &BuildDir) -> Result<Profile> {
    let mut whole = profile_of(&super::compiled_model(build)?)?;
    if build.is_split() {
        let (manifest, models) = super::split::segments(build)?;
        let segments = manifest
            .segments
            .iter()
            .zip(&models)
            .map(|(info, model)| {
                Ok(SegmentProfile {
                    layers: info.layers,
                    profile: profile_of(model)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rows = segments.iter().map(|s| s.profile.rows).sum();
        whole.split = Some(SplitProfile {
            segments,
            rows,
            boundary_rows: rows.saturating_sub(whole.rows),
        });
    }
    Ok(whole)
}

/// The profile of one circuit: `model`'s.
fn profile_of(model: &CompiledModel) -> Result<Profile> {
    let plan = Plan::build(model, model.layout.width, None)?;
    let predicted = predicted_prove_seconds(model);
    let per_row = predicted / (1u64 << model.layout.k) as f64;
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    // The plan's layers are the inputs, the model's layers in order, then the outputs (and a
    // weights commitment).
    let layers = plan
        .layers
        .iter()
        .enumerate()
        .map(|(i, rows)| {
            let index = i.checked_sub(1).filter(|j| *j < model.layers.len());
            let layer = index.map(|j| &model.layers[j]);
            let kind = layer.map_or("inputs/outputs", |l| l.op().kind().name());
            let n = rows.end - rows.start;
            *by_kind.entry(kind.to_owned()).or_default() += n;
            LayerRows {
                node: rows.node.clone(),
                kind: kind.to_owned(),
                rows: n,
                predicted_s: n as f64 * per_row,
                error: index.and_then(|j| model.report.layer_errors.get(j).copied().flatten()),
            }
        })
        .collect();
    Ok(Profile {
        model: model.name.clone(),
        k: model.layout.k,
        width: model.layout.width,
        rows: plan.rows,
        table_rows: model.tables.rows(),
        layers,
        by_kind,
        predicted_prove_s: predicted,
        split: None,
    })
}
