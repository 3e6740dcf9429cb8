//! Lowering: the float graph at a chosen activation and weight scale becomes circuit layers,
//! per-tensor scales and the lookup and range tables they need.

use super::{
    bounds, CompiledModel, IoSpec, Layer, LayoutParams, QTensor, QuantReport, Rescale, Tables,
    Visibility, FORMAT_VERSION, MAX_RANGE_BITS, RANGE_MARGIN,
};
use crate::error::{CircuitError, Result};
use crate::fixed_point::quantize;
use crate::model::{layers, Activation, FloatGraph, FloatOp, InputType, TensorId};
use std::collections::BTreeMap;

fn bits_for(max_abs: f64, scale_bits: u32) -> u32 {
    let m = (max_abs * (1u64 << scale_bits) as f64 * RANGE_MARGIN)
        .ceil()
        .max(1.0) as u64;
    (64 - m.leading_zeros()) + 1
}

use crate::model::MAX_GAIN;

/// One lowering in progress: the quantized tensors, tables, layers and range widths so far.
struct Lowering {
    /// Calibrated magnitudes, one per tensor (those the lowering adds included).
    max_abs: Vec<f64>,
    tensors: Vec<QTensor>,
    tables: Tables,
    /// Widths of the range checks, in the order met (the order of the tables).
    ranges: Vec<u32>,
    layers: Vec<Layer>,
}

impl Lowering {
    fn scale(&self, t: TensorId) -> u32 {
        self.tensors[t].scale_bits
    }

    /// Makes `act`'s table cover values of magnitude `max` at `scale`.
    fn need(&mut self, act: Activation, max: f64, scale: u32) {
        let bits = bits_for(max, scale);
        let e = self.tables.activations.entry(act).or_insert(bits);
        *e = (*e).max(bits);
    }

    /// `t` at `target` fractional bits through `act` (the identity: only the scale changes),
    /// written to `into` (else a new tensor): element-wise, weight one, rescaled and rounded
    /// down from a finer scale, or multiplied up exactly (identity only) from a coarser one.
    fn at_scale(
        &mut self,
        t: TensorId,
        target: u32,
        act: Activation,
        node: &str,
        into: Option<TensorId>,
    ) -> TensorId {
        let from = self.scale(t);
        // Only the identity ever goes up (to align a coarser operand); every lookup input is
        // at the activation scale or finer.
        debug_assert!(from >= target || act == Activation::Identity);
        if from == target && act == Activation::Identity && into.is_none() {
            return t;
        }
        let out = into.unwrap_or_else(|| {
            self.tensors.push(QTensor {
                name: format!("{}@{target}", self.tensors[t].name),
                shape: self.tensors[t].shape.clone(),
                scale_bits: target,
            });
            self.max_abs.push(self.max_abs[t]);
            self.tensors.len() - 1
        });
        let n = self.tensors[t].numel();
        let (weight, rescale) = if from >= target {
            let shift = from - target;
            self.need(act, self.max_abs[t], target);
            self.ranges.push(shift.max(1));
            // A shift of 0 still goes through the rescale gate: scale up by 2 and back.
            let (w, shift) = if shift == 0 { (2, 1) } else { (1, shift) };
            (w, Some(Rescale { shift, act }))
        } else {
            (1i64 << (target - from), None)
        };
        self.tensors[out].scale_bits = target + self.tables.gain(act);
        self.layers.push(Layer::Affine(layers::Affine {
            node: node.to_owned(),
            input: t,
            output: out,
            weight: vec![weight; n],
            bias: vec![0; n],
            rescale,
        }));
        out
    }
}

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

/// Lowers the float graph at a given scale. Tensors are at the activation scale `s`, except
/// the results of compressing activations (finer: `s` + their gain), of divisions (the
/// dividend's scale) and linear results kept unrounded as model outputs; whatever reads two
/// tensors at different scales takes the coarser one.
pub(super) fn lower(
    graph: &FloatGraph,
    s: u32,
    sw: u32,
    max_abs: &[f64],
    limb_bits: Option<u32>,
) -> Result<CompiledModel> {
    let readers = graph.readers();
    let mut l = Lowering {
        max_abs: max_abs.to_vec(),
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
    };
    let mut i = 0;
    while i < graph.ops.len() {
        let op = &graph.ops[i];
        match op {
            FloatOp::Dense {
                node,
                input,
                output,
                weight,
                bias,
                ..
            }
            | FloatOp::Conv {
                node,
                input,
                output,
                weight,
                bias,
                ..
            }
            | FloatOp::Affine {
                node,
                input,
                output,
                scale: weight,
                shift: bias,
                ..
            } => {
                let acc_scale = l.scale(*input) + sw;
                let (rescale, out, fused) = ending(graph, &readers, i, *output);
                i += usize::from(fused);
                // Back to the activation scale (the input may be finer).
                let shift = acc_scale - s;
                if let Some(r) = rescale {
                    l.need(r.act, max_abs[*output], s);
                    l.ranges.push(shift);
                }
                let rescale = rescale.map(|r| Rescale { shift, ..r });
                l.tensors[out].scale_bits = match rescale {
                    Some(r) => s + l.tables.gain(r.act),
                    None => acc_scale,
                };
                let weight = weight.iter().map(|w| quantize(*w, sw)).collect();
                let bias = bias.iter().map(|b| quantize(*b, acc_scale)).collect();
                l.layers.push(match op {
                    FloatOp::Dense { n_in, n_out, .. } => Layer::Dense(layers::Dense {
                        node: node.clone(),
                        input: *input,
                        output: out,
                        n_in: *n_in,
                        n_out: *n_out,
                        weight,
                        bias,
                        rescale,
                        check: layers::LinearCheck::Direct,
                    }),
                    FloatOp::Conv { geometry, .. } => Layer::Conv(layers::Conv {
                        node: node.clone(),
                        input: *input,
                        output: out,
                        geometry: geometry.clone(),
                        weight,
                        bias,
                        rescale,
                        check: layers::LinearCheck::Direct,
                    }),
                    FloatOp::Affine { .. } => Layer::Affine(layers::Affine {
                        node: node.clone(),
                        input: *input,
                        output: out,
                        weight,
                        bias,
                        rescale,
                    }),
                    _ => unreachable!("matched Dense, Conv or Affine above"),
                });
            }
            FloatOp::Select {
                node,
                inputs,
                output,
                map,
            } => {
                let target = inputs.iter().map(|t| l.scale(*t)).min().unwrap_or(s);
                let inputs = inputs
                    .iter()
                    .map(|t| l.at_scale(*t, target, Activation::Identity, node, None))
                    .collect();
                l.tensors[*output].scale_bits = target;
                l.layers.push(Layer::Select(layers::Select {
                    node: node.clone(),
                    inputs,
                    output: *output,
                    map: map.clone(),
                }));
            }
            FloatOp::MaxPool {
                node,
                input,
                output,
                windows,
                min,
            } => {
                let scale = l.scale(*input);
                // The ReLU table must cover differences of two window elements.
                l.need(Activation::Relu, 2.0 * max_abs[*input], scale);
                l.tensors[*output].scale_bits = scale;
                l.layers.push(Layer::MaxPool(layers::MaxPool {
                    node: node.clone(),
                    input: *input,
                    output: *output,
                    windows: windows.clone(),
                    min: *min,
                }));
            }
            FloatOp::Sum {
                node,
                input,
                output,
                windows,
            } => {
                l.tensors[*output].scale_bits = l.scale(*input);
                l.layers.push(Layer::Sum(layers::Sum {
                    node: node.clone(),
                    input: *input,
                    output: *output,
                    windows: windows.clone(),
                }));
            }
            FloatOp::Product {
                node,
                a,
                b,
                output,
                dims,
            } => {
                let (sa, sb) = (l.scale(*a), l.scale(*b));
                let (rescale, out, fused) = ending(graph, &readers, i, *output);
                i += usize::from(fused);
                let shift = sa + sb - s;
                if let Some(r) = rescale {
                    l.need(r.act, max_abs[*output], s);
                    l.ranges.push(shift);
                }
                let rescale = rescale.map(|r| Rescale { shift, ..r });
                l.tensors[out].scale_bits = match rescale {
                    Some(r) => s + l.tables.gain(r.act),
                    None => sa + sb,
                };
                l.layers.push(Layer::Product(layers::Product {
                    node: node.clone(),
                    a: *a,
                    b: *b,
                    output: out,
                    dims: *dims,
                    rescale,
                }));
            }
            FloatOp::Div { node, a, b, output } => {
                // q = round(a·2^sb / b): the quotient keeps the dividend's scale.
                let (sa, sb) = (l.scale(*a), l.scale(*b));
                // The remainders r and 2b − 1 − r lie in [0, 2b): wide enough for the largest
                // divisor calibration allows (with the usual margin).
                let range_bits = bits_for(max_abs[*b], sb);
                if range_bits > MAX_RANGE_BITS {
                    return Err(CircuitError::UnsupportedOp {
                        op: "Div".into(),
                        node: node.clone(),
                        detail: format!(
                            ": divisors up to {:.1} need a {range_bits}-bit range table (at most {MAX_RANGE_BITS}); lower the scale",
                            max_abs[*b]
                        ),
                    });
                }
                l.ranges.push(range_bits);
                l.need(Activation::Identity, max_abs[*output], sa);
                l.tensors[*output].scale_bits = sa;
                l.layers.push(Layer::Div(layers::Div {
                    node: node.clone(),
                    a: *a,
                    b: *b,
                    output: *output,
                    range_bits,
                }));
            }
            FloatOp::Add {
                node,
                a,
                b,
                output,
                sub,
            } => {
                let target = l.scale(*a).min(l.scale(*b));
                let a = l.at_scale(*a, target, Activation::Identity, node, None);
                let b = l.at_scale(*b, target, Activation::Identity, node, None);
                l.tensors[*output].scale_bits = target;
                l.layers.push(Layer::Add(layers::Add {
                    node: node.clone(),
                    a,
                    b,
                    output: *output,
                    sub: *sub,
                }));
            }
            FloatOp::AddConst {
                node,
                input,
                constant,
                output,
            } => {
                let scale = l.scale(*input);
                l.tensors[*output].scale_bits = scale;
                let constant = constant.iter().map(|c| quantize(*c, scale)).collect();
                l.layers.push(Layer::AddConst(layers::AddConst {
                    node: node.clone(),
                    input: *input,
                    constant,
                    output: *output,
                }));
            }
            FloatOp::Activation {
                node,
                act,
                input,
                output,
            } => {
                let scale = l.scale(*input);
                if scale != s && !act.is_scale_free() {
                    // A finer input is rescaled to the table's scale in the same lookup.
                    l.at_scale(*input, s, *act, node, Some(*output));
                } else {
                    l.need(*act, max_abs[*input], scale);
                    l.tensors[*output].scale_bits = scale + l.tables.gain(*act);
                    l.layers.push(Layer::Activation(layers::Lookup {
                        node: node.clone(),
                        act: *act,
                        input: *input,
                        output: *output,
                    }));
                }
            }
            FloatOp::Reshape {
                node,
                input,
                output,
            } => {
                l.tensors[*output].scale_bits = l.scale(*input);
                l.layers.push(Layer::Reshape(layers::Reshape {
                    node: node.clone(),
                    input: *input,
                    output: *output,
                }));
            }
        }
        i += 1;
    }
    let Lowering {
        tensors,
        mut tables,
        ranges,
        layers,
        ..
    } = l;
    // Public inputs are range-checked by the identity table, sized to the calibration data.
    for t in &graph.inputs {
        let bits = bits_for(max_abs[*t], tensors[*t].scale_bits);
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

/// How an op whose result is at a doubled scale (a linear op or a product) ends, and the tensor
/// that then holds its result: rescaled and fused with the activation that is its only reader;
/// kept at the doubled scale when it is only a model output (no rounding, no lookup); or
/// rescaled through the identity table. The rescale's shift is the caller's to fill in; the
/// flag says whether the activation op was fused (and is to be skipped).
fn ending(
    graph: &FloatGraph,
    readers: &[usize],
    i: usize,
    output: TensorId,
) -> (Option<Rescale>, TensorId, bool) {
    let is_output = graph.outputs.contains(&output);
    match graph.ops.get(i + 1) {
        Some(FloatOp::Activation {
            act,
            input,
            output: a_out,
            ..
        }) if *input == output && readers[output] == 1 && !is_output => (
            Some(Rescale {
                shift: 0,
                act: *act,
            }),
            *a_out,
            true,
        ),
        _ if is_output && readers[output] == 1 => (None, output, false),
        _ => (
            Some(Rescale {
                shift: 0,
                act: Activation::Identity,
            }),
            output,
            false,
        ),
    }
}
