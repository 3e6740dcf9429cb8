//! Lowering: the float graph at a chosen activation and weight scale becomes circuit layers,
//! per-tensor scales and the lookup and range tables they need.

use super::{
    bounds, CompiledModel, IoSpec, LayoutParams, QTensor, QuantReport, Tables, Visibility,
    FORMAT_VERSION,
};
use crate::error::{CircuitError, Result};
use crate::model::{Activation, FloatGraph, FloatOp, InputType, TensorId, MAX_GAIN};
use crate::ops::lower::{bits_for, Lowering};
use crate::ops::{
    activation, division, elementwise, features, integer, linear, pooling, product, shape,
};
use std::collections::BTreeMap;

/// Extra output bits of each activation: a function that compresses its range (sigmoid, tanh,
/// exp of non-positive values) gets as many as its inputs' width exceeds its outputs' on the
/// calibration data, so that its results keep the precision their table's inputs had.
fn gains(graph: &FloatGraph, s: u32, max_abs: &[f64]) -> BTreeMap<Activation, u32> {
    let mut gains = BTreeMap::new();
    for op in &graph.ops {
        if let FloatOp::Activation {
            act, input, output, ..
        } = op
        {
            let g = bits_for(max_abs[*input], s)
                .saturating_sub(bits_for(max_abs[*output], s))
                .min(MAX_GAIN);
            if g > 0 && !act.exact_at(s) {
                let e = gains.entry(*act).or_insert(g);
                *e = (*e).max(g);
            }
        }
    }
    gains
}

/// The largest magnitude of each feature (the last axis) of each model input over the
/// calibration samples' float values (`float_values`: every tensor's, by sample); zero for a
/// feature that is zero in more than half of its values (a sparse pixel, a count): its few
/// others say little about its range.
pub(super) fn feature_maxima(graph: &FloatGraph, float_values: &[Vec<Vec<f32>>]) -> Vec<Vec<f64>> {
    graph
        .inputs
        .iter()
        .map(|t| {
            let n = graph.tensors[*t].shape.last().copied().unwrap_or(1).max(1);
            let (mut widest, mut zeros, mut rows) = (vec![0f64; n], vec![0usize; n], 0);
            for (k, x) in float_values.iter().flat_map(|v| v[*t].iter().enumerate()) {
                widest[k % n] = widest[k % n].max(f64::from(x.abs()));
                zeros[k % n] += usize::from(*x == 0.0);
                rows += usize::from(k % n == 0);
            }
            widest
                .iter()
                .zip(&zeros)
                .map(|(m, z)| if 2 * z > rows { 0.0 } else { *m })
                .collect()
        })
        .collect()
}

/// Lowers the float graph at a given scale. Tensors are at the activation scale `s`, except
/// the results of compressing activations (finer: `s` + their gain), of divisions (the
/// dividend's scale) and linear results kept unrounded as model outputs; whatever reads two
/// tensors at different scales takes the coarser one. `features`: [`feature_maxima`], or empty
/// where no input feature is to be quantized finer.
pub(super) fn lower(
    graph: &FloatGraph,
    s: u32,
    sw: u32,
    max_abs: &[f64],
    features: &[Vec<f64>],
    limb_bits: Option<u32>,
) -> Result<CompiledModel> {
    // Float inputs whose features are narrower than their widest are quantized finer where
    // the linear layers reading them can take it (tabular data): the bits of each such input,
    // and of each copy of its features a linear layer reads.
    let feature_bits: BTreeMap<TensorId, Vec<u32>> = graph
        .inputs
        .iter()
        .zip(features)
        .enumerate()
        .filter(|(i, (_, f))| graph.input_type(*i) == InputType::Float && !f.is_empty())
        .flat_map(|(_, (t, f))| features::finer_features(graph, *t, s, sw, max_abs[*t], f))
        .collect();
    let mut l = Lowering {
        graph,
        readers: graph.readers(),
        s,
        sw,
        max_abs: max_abs.to_vec(),
        feature_bits,
        tensors: graph
            .tensors
            .iter()
            .map(|t| QTensor {
                name: t.name.clone(),
                shape: t.shape.clone(),
                scale_bits: s,
            })
            .collect(),
        tables: Tables {
            scale_bits: s,
            gains: gains(graph, s, max_abs),
            ..Tables::default()
        },
        ranges: Vec::new(),
        layers: Vec::new(),
        limb_bits,
    };
    // An integer or boolean model input is held as the whole numbers it is: its range check
    // and the tables reading it (a token id compared with each row of an embedding) span its
    // values, not those values at the activation scale.
    for (i, t) in graph.inputs.iter().enumerate() {
        if graph.input_type(i) != InputType::Float {
            l.tensors[*t].scale_bits = 0;
        }
    }
    // Each op's lowering lives with the op (`ops/`); this is the registry, one line per
    // float op. A linear op or a product may fuse the activation after it (`true`: skip it).
    let mut i = 0;
    while i < graph.ops.len() {
        let fused = match &graph.ops[i] {
            op @ (FloatOp::Dense { .. } | FloatOp::Conv { .. } | FloatOp::Affine { .. }) => {
                linear::lower(&mut l, i, op)
            }
            FloatOp::Product { .. } => product::lower(&mut l, i, &graph.ops[i]),
            FloatOp::Div { .. } => division::lower(&mut l, &graph.ops[i])?,
            FloatOp::FloorDiv { .. } => integer::lower(&mut l, &graph.ops[i])?,
            FloatOp::Select { .. } | FloatOp::Reshape { .. } => shape::lower(&mut l, &graph.ops[i]),
            FloatOp::MaxPool { .. } | FloatOp::Sum { .. } => pooling::lower(&mut l, &graph.ops[i]),
            FloatOp::Add { .. } | FloatOp::AddConst { .. } => {
                elementwise::lower(&mut l, &graph.ops[i])
            }
            FloatOp::Activation { .. } => activation::lower(&mut l, &graph.ops[i]),
        };
        i += 1 + usize::from(fused);
    }
    let Lowering {
        tensors,
        mut tables,
        ranges,
        layers,
        feature_bits,
        ..
    } = l;
    // Public inputs are range-checked by the identity table, sized to the calibration data
    // (a finer feature's reach doubled: its check covers four times its calibrated range).
    for (i, t) in graph.inputs.iter().enumerate() {
        let reach = feature_bits.get(t).map_or(0.0, |bits| {
            features
                .get(i)
                .into_iter()
                .flatten()
                .zip(bits)
                .fold(0f64, |r, (m, e)| r.max(2.0 * m * f64::from(*e).exp2()))
        });
        let bits = bits_for(max_abs[*t].max(reach), tensors[*t].scale_bits);
        let e = tables
            .activations
            .entry(Activation::Identity)
            .or_insert(bits);
        *e = (*e).max(bits);
    }
    // Limbs only where some check is wider than one: otherwise the model compiles exactly as
    // it did before limbs existed.
    let identity = tables.activations.get(&Activation::Identity).copied();
    tables.limb_bits = limb_bits.filter(|l| ranges.iter().chain(&identity).any(|b| b > l));
    for bits in ranges {
        tables.need_range(bits);
    }
    if let Some(bits) = tables.limbed_identity() {
        tables.need_range(bits);
    }
    // A table no SRS holds is refused before its bounds are scanned (2^31 entries take
    // minutes).
    super::within_srs(&tables, 0)?;
    let bounds = bounds::static_bounds(&tensors, &layers, &graph.inputs, &tables);
    let io = |ids: &[TensorId]| {
        ids.iter()
            .map(|t| IoSpec {
                tensor: *t,
                visibility: Visibility::Public,
                // A value bound to zero (a constant zero output) still packs as a sign and
                // a bit: the narrowest width a build may hold.
                pack_bits: bounds::signed_bits(bounds[*t]).max(2),
                dtype: InputType::Float,
                boundary: false,
                feature_bits: Vec::new(),
            })
            .collect::<Vec<_>>()
    };
    if let Some(spec) = io(&graph.outputs).iter().find(|s| s.pack_bits > 126) {
        return Err(CircuitError::InvalidModel {
            node: tensors[spec.tensor].name.clone(),
            reason: format!(
                "output values may need {} bits; at most 126 are supported",
                spec.pack_bits
            ),
        });
    }
    Ok(CompiledModel {
        format: FORMAT_VERSION,
        name: graph.name.clone(),
        source_sha256: String::new(),
        scale_bits: s,
        weight_scale_bits: sw,
        tensors,
        inputs: io(&graph.inputs)
            .into_iter()
            .enumerate()
            .map(|(i, spec)| IoSpec {
                dtype: graph.input_type(i),
                feature_bits: feature_bits.get(&spec.tensor).cloned().unwrap_or_default(),
                ..spec
            })
            .collect(),
        outputs: io(&graph.outputs),
        weights: Visibility::Fixed,
        weights_salt: None,
        layers,
        tables,
        layout: LayoutParams {
            width: 0,
            k: 0,
            one_row_rescale: false,
        },
        rows: 0,
        report: QuantReport::default(),
    })
}
