//! Reductions (ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceSumSquare, ReduceL1,
//! ReduceL2, ReduceLogSumExp) and what is built from them: Softmax, LogSoftmax and
//! LayerNormalization. Each becomes sums and maxima over windows, element-wise lookups,
//! products and one division per element, with broadcasts back as copies.

use super::dims::{axis_index, broadcast, unravel};
use super::{attr_float, attr_int, attr_ints, invalid, node_name, unsupported, Importer};
use crate::error::Result;
use crate::model::{Activation, FloatOp, ProductDims, TensorId};
use tract_onnx::pb::NodeProto;

/// A reduction of a tensor over some of its axes.
#[derive(Clone)]
pub(super) struct Reduction {
    /// The input shape with the reduced axes kept as 1.
    pub(super) kept: Vec<usize>,
    /// The input shape with the reduced axes removed.
    pub(super) dropped: Vec<usize>,
    /// For each output element, the input elements it reduces, in increasing index order.
    pub(super) windows: Vec<Vec<u32>>,
    /// For each input element, the output element that reduces it (the broadcast back).
    pub(super) owner: Vec<Option<(u32, u32)>>,
    /// Elements per window.
    pub(super) count: usize,
}

impl Reduction {
    pub(super) fn new(shape: &[usize], axes: &[usize]) -> Self {
        let kept: Vec<usize> = shape
            .iter()
            .enumerate()
            .map(|(a, d)| if axes.contains(&a) { 1 } else { *d })
            .collect();
        let dropped = shape
            .iter()
            .enumerate()
            .filter(|(a, _)| !axes.contains(a))
            .map(|(_, d)| *d)
            .collect();
        let out_len: usize = kept.iter().product();
        let mut windows = vec![Vec::new(); out_len];
        let numel: usize = shape.iter().product();
        let mut owner = Vec::with_capacity(numel);
        for i in 0..numel {
            let o = unravel(i, shape)
                .iter()
                .zip(&kept)
                .fold(0, |f, (x, d)| f * d + if *d == 1 { 0 } else { *x });
            windows[o].push(i as u32);
            owner.push(Some((0, o as u32)));
        }
        let count = numel / out_len.max(1);
        Self {
            kept,
            dropped,
            windows,
            owner,
            count,
        }
    }
}

impl Importer {
    /// The axes a reduction node names (attribute, or input 1 from opset 18 and for
    /// ReduceSum from 13), normalized; all axes when none are given.
    fn reduce_axes(&self, node: &NodeProto, rank: usize) -> Result<Option<Vec<usize>>> {
        let listed: Option<Vec<i64>> = match node.input.get(1).filter(|s| !s.is_empty()) {
            Some(_) => Some(
                self.constant(node, 1, "computed axes")?
                    .data
                    .iter()
                    .map(|v| *v as i64)
                    .collect(),
            ),
            None => attr_ints(node, "axes"),
        };
        match listed.filter(|a| !a.is_empty()) {
            Some(axes) => axes
                .iter()
                .map(|a| {
                    axis_index(*a, rank)
                        .ok_or_else(|| invalid(node, format!("axis {a} out of range")))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            None if attr_int(node, "noop_with_empty_axes").unwrap_or(0) != 0 => Ok(None),
            None => Ok(Some((0..rank).collect())),
        }
    }

    /// CumSum: each element the sum of the input elements up to it along the axis (from the
    /// end with `reverse`): a window sum per element, no lookup. With `exclusive` the element
    /// itself is left out: the inclusive sums shifted by one along the axis, a zero first (a
    /// rearrangement: no rows).
    pub(super) fn cum_sum(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let axis = match self.constant(node, 1, "a computed axis")?.data[..] {
            [a] => axis_index(a as i64, shape.len())
                .ok_or_else(|| invalid(node, format!("axis {a} out of range")))?,
            _ => return Err(invalid(node, "the axis is one value".into())),
        };
        let reverse = attr_int(node, "reverse").unwrap_or(0) != 0;
        let exclusive = attr_int(node, "exclusive").unwrap_or(0) != 0;
        let n = shape[axis];
        let inner: usize = shape[axis + 1..].iter().product();
        let numel: usize = shape.iter().product();
        // The element at position `q` along the axis, in the same line as element `i`.
        let at = |i: usize, q: usize| (i - (i / inner % n) * inner + q * inner) as u32;
        let windows: Vec<Vec<u32>> = (0..numel)
            .map(|i| {
                let p = i / inner % n;
                let line = if reverse { p..n } else { 0..p + 1 };
                line.map(|q| at(i, q)).collect()
            })
            .collect();
        if !exclusive {
            return self.push(node, shape, |output| FloatOp::Sum {
                node: name,
                input: x,
                output,
                windows,
            });
        }
        let inclusive = self.sum_step(node, x, windows, shape.clone(), "inclusive")?;
        let map = (0..numel)
            .map(|i| {
                let p = i / inner % n;
                let before = if reverse { p + 1 < n } else { p > 0 };
                let q = if reverse { p + 1 } else { p.wrapping_sub(1) };
                before.then(|| (0, at(i, q)))
            })
            .collect();
        self.push(node, shape, |output| FloatOp::Select {
            node: name,
            inputs: vec![inclusive],
            output,
            map,
        })
    }

    /// The ONNX reductions.
    pub(super) fn reduce(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let Some(axes) = self.reduce_axes(node, shape.len())? else {
            return self.push(node, shape, |output| FloatOp::Reshape {
                node: name,
                input: x,
                output,
            });
        };
        let r = Reduction::new(&shape, &axes);
        let out_shape = if attr_int(node, "keepdims").unwrap_or(1) != 0 {
            r.kept.clone()
        } else {
            r.dropped.clone()
        };
        let out_len = r.windows.len();
        match node.op_type.as_str() {
            "ReduceSum" => self.push(node, out_shape, |output| FloatOp::Sum {
                node: name,
                input: x,
                output,
                windows: r.windows,
            }),
            "ReduceMean" => {
                let sum = self.window_sum(node, x, &r, "sum")?;
                self.push(node, out_shape, |output| FloatOp::Affine {
                    node: name,
                    input: sum,
                    output,
                    scale: vec![1.0 / r.count as f32; out_len],
                    shift: vec![0f32; out_len],
                })
            }
            "ReduceMax" | "ReduceMin" => {
                let min = node.op_type == "ReduceMin";
                self.push(node, out_shape, |output| FloatOp::MaxPool {
                    node: name,
                    input: x,
                    output,
                    windows: r.windows,
                    min,
                })
            }
            "ReduceSumSquare" | "ReduceL2" => {
                let sq = self.mul_step(node, "square", x, x)?;
                if node.op_type == "ReduceSumSquare" {
                    return self.push(node, out_shape, |output| FloatOp::Sum {
                        node: name,
                        input: sq,
                        output,
                        windows: r.windows,
                    });
                }
                let sum = self.window_sum(node, sq, &r, "sum")?;
                self.push(node, out_shape, |output| FloatOp::Activation {
                    node: name,
                    act: Activation::Sqrt,
                    input: sum,
                    output,
                })
            }
            "ReduceProd" => {
                // A chain of element-wise products over the positions of each window.
                let order: Vec<usize> = (0..r.count).collect();
                let at = self.positions(node, x, &r, &order)?;
                let mut acc = at[0];
                for (k, t) in at.iter().enumerate().skip(1) {
                    acc = self.mul_step(node, &format!("prod{k}"), acc, *t)?;
                }
                self.push(node, out_shape, |output| FloatOp::Reshape {
                    node: name,
                    input: acc,
                    output,
                })
            }
            "ReduceL1" => {
                let abs = self.lookup(node, x, Activation::Abs, "abs")?;
                self.push(node, out_shape, |output| FloatOp::Sum {
                    node: name,
                    input: abs,
                    output,
                    windows: r.windows,
                })
            }
            _ => {
                // ReduceLogSumExp: m + log Σ exp(x − m), with m the maximum.
                let (max, _, exp) = self.shifted_exp(node, x, &r)?;
                let sum = self.window_sum(node, exp, &r, "sum")?;
                let log = self.lookup(node, sum, Activation::Log, "log")?;
                self.push(node, out_shape, |output| FloatOp::Add {
                    node: name,
                    a: log,
                    b: max,
                    output,
                    sub: false,
                })
            }
        }
    }

    /// Softmax and LogSoftmax over their axis (opset ≥ 13), or over every axis from it on
    /// (opset < 13, where the input is read as a matrix).
    pub(super) fn softmax(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let rank = shape.len();
        let default = if self.opset >= 13 { -1 } else { 1 };
        let axis = axis_index(attr_int(node, "axis").unwrap_or(default), rank)
            .ok_or_else(|| invalid(node, "axis out of range".into()))?;
        let axes: Vec<usize> = if self.opset >= 13 {
            vec![axis]
        } else {
            (axis..rank).collect()
        };
        let r = Reduction::new(&shape, &axes);
        if let Some(masked) = self.masked_input(x) {
            return self.masked_softmax(node, name, masked, &r, shape);
        }
        let (_, shifted, exp) = self.shifted_exp(node, x, &r)?;
        let sum = self.window_sum(node, exp, &r, "sum")?;
        if node.op_type == "Softmax" {
            let total = self.spread(node, sum, &r, &shape, "sum_broadcast")?;
            return self.push(node, shape, |output| FloatOp::Div {
                node: name,
                a: exp,
                b: total,
                output,
                whole: false,
            });
        }
        let log = self.lookup(node, sum, Activation::Log, "log")?;
        let log = self.spread(node, log, &r, &shape, "log_broadcast")?;
        self.push(node, shape, |output| FloatOp::Add {
            node: name,
            a: shifted,
            b: log,
            output,
            sub: true,
        })
    }

    /// LayerNormalization (opset 17) over the axes from `axis` on:
    /// `(x − mean)·rsqrt(var + ε)·scale + bias`.
    pub(super) fn layer_norm(&mut self, node: &NodeProto, name: String) -> Result<()> {
        if node.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(unsupported(node, "the Mean and InvStdDev outputs"));
        }
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let rank = shape.len();
        let axis = axis_index(attr_int(node, "axis").unwrap_or(-1), rank)
            .ok_or_else(|| invalid(node, "axis out of range".into()))?;
        let numel: usize = shape.iter().product();
        let constant = |this: &Self, i: usize, default: f64| -> Result<Vec<f32>> {
            match node.input.get(i).filter(|s| !s.is_empty()) {
                None => Ok(vec![default as f32; numel]),
                Some(_) => {
                    let c = this.constant(node, i, "a computed scale or bias")?;
                    broadcast(&c.shape, &c.data, &shape)
                        .map(|v| v.into_iter().map(|x| x as f32).collect())
                        .ok_or_else(|| invalid(node, "cannot broadcast the scale or bias".into()))
                }
            }
        };
        let (gamma, beta) = (constant(self, 1, 1.0)?, constant(self, 2, 0.0)?);
        let normed = self.normalize(node, x, &(axis..rank).collect::<Vec<_>>())?;
        self.scale_shift(node, name, normed, gamma, beta)
    }

    /// InstanceNormalization: each channel of each sample normalized over its spatial axes,
    /// then a per-channel scale and bias.
    pub(super) fn instance_norm(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        if shape.len() < 3 {
            return Err(invalid(
                node,
                format!("input {shape:?} has no spatial axes"),
            ));
        }
        let channels = shape[1];
        let inner: usize = shape[2..].iter().product();
        let numel: usize = shape.iter().product();
        let per_channel = |this: &Self, i: usize| -> Result<Vec<f32>> {
            let c = this.constant(node, i, "a computed scale or bias")?;
            if c.data.len() != channels {
                return Err(invalid(
                    node,
                    "scale or bias is not one value per channel".into(),
                ));
            }
            Ok((0..numel)
                .map(|e| c.data[e / inner % channels] as f32)
                .collect())
        };
        let (gamma, beta) = (per_channel(self, 1)?, per_channel(self, 2)?);
        let normed = self.normalize(node, x, &(2..shape.len()).collect::<Vec<_>>())?;
        self.scale_shift(node, name, normed, gamma, beta)
    }

    /// GroupNormalization: the channels of each sample split into `num_groups` groups, each
    /// normalized over its channels and spatial positions (a reshape to `[N, G, C/G·…]`, no
    /// rows), then a scale and bias per group (opset 18) or per channel (opset 21).
    pub(super) fn group_norm(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        if shape.len() < 2 {
            return Err(invalid(
                node,
                format!("input {shape:?} has no channel axis"),
            ));
        }
        let (batch, channels) = (shape[0], shape[1]);
        let groups = attr_int(node, "num_groups")
            .ok_or_else(|| invalid(node, "num_groups is missing".into()))?;
        let groups = usize::try_from(groups)
            .ok()
            .filter(|g| *g >= 1 && channels % g == 0)
            .ok_or_else(|| {
                invalid(
                    node,
                    format!("num_groups {groups} does not divide the {channels} channels"),
                )
            })?;
        let inner: usize = shape[2..].iter().product();
        let per_group = channels / groups;
        let numel: usize = shape.iter().product();
        let expand = |this: &Self, i: usize| -> Result<Vec<f32>> {
            let c = this.constant(node, i, "a computed scale or bias")?;
            let of_channel = |ch: usize| match c.data.len() {
                n if n == channels => Some(c.data[ch]),
                n if n == groups => Some(c.data[ch / per_group]),
                _ => None,
            };
            (0..numel)
                .map(|e| of_channel(e / inner % channels).map(|v| v as f32))
                .collect::<Option<Vec<f32>>>()
                .ok_or_else(|| {
                    invalid(
                        node,
                        format!(
                            "scale or bias has {} values, not one per group ({groups}) or per channel ({channels})",
                            c.data.len()
                        ),
                    )
                })
        };
        let (gamma, beta) = (expand(self, 1)?, expand(self, 2)?);
        let n = node_name(node);
        let grouped = self.step(
            node,
            "grouped",
            vec![batch, groups, per_group * inner],
            |output| FloatOp::Reshape {
                node: n,
                input: x,
                output,
            },
        )?;
        let normed = self.normalize(node, grouped, &[2])?;
        let n = node_name(node);
        let back = self.step(node, "ungrouped", shape, |output| FloatOp::Reshape {
            node: n,
            input: normed,
            output,
        })?;
        self.scale_shift(node, name, back, gamma, beta)
    }

    /// LRN (AlexNet's, GoogLeNet's local response normalization):
    /// `x · (bias + alpha/size · Σ x²)^(−beta)`, the sum over the `size` channels around each
    /// one (fewer at the edges): a square, a window sum, an affine map, one power lookup and
    /// an element-wise product.
    pub(super) fn lrn(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let size = attr_int(node, "size")
            .filter(|s| *s >= 1)
            .ok_or_else(|| invalid(node, "size (at least 1) is required".into()))?
            as usize;
        if shape.len() < 2 {
            return Err(invalid(node, "the input has no channel axis".into()));
        }
        let alpha = attr_float(node, "alpha").unwrap_or(1e-4) as f32;
        let beta = attr_float(node, "beta").unwrap_or(0.75) as f32;
        let bias = attr_float(node, "bias").unwrap_or(1.0) as f32;
        let (channels, inner) = (shape[1], shape[2..].iter().product::<usize>());
        let numel: usize = shape.iter().product();
        let (below, above) = ((size - 1) / 2, (size - 1).div_ceil(2));
        let windows: Vec<Vec<u32>> = (0..numel)
            .map(|i| {
                let c = i / inner % channels;
                let base = i - c * inner;
                (c.saturating_sub(below)..(c + above + 1).min(channels))
                    .map(|k| (base + k * inner) as u32)
                    .collect()
            })
            .collect();
        let sq = self.mul_step(node, "square", x, x)?;
        let sum = self.sum_step(node, sq, windows, shape.clone(), "window")?;
        let n = name.clone();
        let base = self.step(node, "base", shape.clone(), |output| FloatOp::Affine {
            node: n,
            input: sum,
            output,
            scale: vec![alpha / size as f32; numel],
            shift: vec![bias; numel],
        })?;
        let act = Activation::Pow {
            exponent: crate::model::Param::new(-beta),
        };
        let factor = self.lookup(node, base, act, "factor")?;
        self.push(node, shape, |output| FloatOp::Product {
            node: name,
            a: x,
            b: factor,
            output,
            dims: ProductDims::elementwise(numel),
        })
    }

    /// LpNormalization: `x / ‖x‖_p` along one axis (p = 1 or 2).
    pub(super) fn lp_normalization(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let axis = axis_index(attr_int(node, "axis").unwrap_or(-1), shape.len())
            .ok_or_else(|| invalid(node, "axis out of range".into()))?;
        let r = Reduction::new(&shape, &[axis]);
        let norm = match attr_int(node, "p").unwrap_or(2) {
            1 => {
                let abs = self.lookup(node, x, Activation::Abs, "abs")?;
                self.window_sum(node, abs, &r, "norm")?
            }
            2 => {
                let sq = self.mul_step(node, "square", x, x)?;
                let sum = self.window_sum(node, sq, &r, "sum")?;
                self.lookup(node, sum, Activation::Sqrt, "norm")?
            }
            p => return Err(unsupported(node, &format!("p = {p} (only 1 and 2)"))),
        };
        let norm = self.spread(node, norm, &r, &shape, "norm_broadcast")?;
        self.push(node, shape, |output| FloatOp::Div {
            node: name,
            a: x,
            b: norm,
            output,
            whole: false,
        })
    }

    /// `(x − mean)·rsqrt(var + ε)` over `axes` (ε from the node, default 1e-5), as an
    /// intermediate tensor.
    fn normalize(&mut self, node: &NodeProto, x: TensorId, axes: &[usize]) -> Result<TensorId> {
        let shape = self.graph.tensors[x].shape.clone();
        let eps = attr_float(node, "epsilon").unwrap_or(1e-5) as f32;
        let r = Reduction::new(&shape, axes);
        let mean = self.window_mean(node, x, &r, 0.0, "mean")?;
        let mean = self.spread(node, mean, &r, &shape, "mean_broadcast")?;
        let name = node_name(node);
        let n = name.clone();
        let centred = self.step(node, "centred", shape.clone(), |output| FloatOp::Add {
            node: n,
            a: x,
            b: mean,
            output,
            sub: true,
        })?;
        let sq = self.mul_step(node, "square", centred, centred)?;
        let var = self.window_mean(node, sq, &r, eps, "variance")?;
        let inv = self.lookup(node, var, Activation::Rsqrt, "rsqrt")?;
        let inv = self.spread(node, inv, &r, &shape, "rsqrt_broadcast")?;
        let dims = ProductDims::elementwise(shape.iter().product());
        self.step(node, "normalized", shape, |output| FloatOp::Product {
            node: name,
            a: centred,
            b: inv,
            output,
            dims,
        })
    }

    /// The node's output: `x·gamma + beta` (element-wise constants), or `x` itself when they
    /// are one and zero.
    fn scale_shift(
        &mut self,
        node: &NodeProto,
        name: String,
        x: TensorId,
        gamma: Vec<f32>,
        beta: Vec<f32>,
    ) -> Result<()> {
        let shape = self.graph.tensors[x].shape.clone();
        if gamma.iter().all(|g| *g == 1.0) && beta.iter().all(|b| *b == 0.0) {
            return self.push(node, shape, |output| FloatOp::Reshape {
                node: name,
                input: x,
                output,
            });
        }
        self.push(node, shape, |output| FloatOp::Affine {
            node: name,
            input: x,
            output,
            scale: gamma,
            shift: beta,
        })
    }

    /// The sum over the reduction's windows, as an intermediate tensor.
    pub(super) fn window_sum(
        &mut self,
        node: &NodeProto,
        x: TensorId,
        r: &Reduction,
        suffix: &str,
    ) -> Result<TensorId> {
        self.sum_step(node, x, r.windows.clone(), r.kept.clone(), suffix)
    }

    /// The sum of `x`'s elements over each of `windows`, as an intermediate tensor of `shape`.
    fn sum_step(
        &mut self,
        node: &NodeProto,
        x: TensorId,
        windows: Vec<Vec<u32>>,
        shape: Vec<usize>,
        suffix: &str,
    ) -> Result<TensorId> {
        let name = node_name(node);
        self.step(node, suffix, shape, |output| FloatOp::Sum {
            node: name,
            input: x,
            output,
            windows,
        })
    }

    /// `max`, `x − max` (broadcast back) and `exp(x − max)` over the reduction's windows: the
    /// start of every softmax-like op (its exponentials lie in (0, 1]).
    fn shifted_exp(
        &mut self,
        node: &NodeProto,
        x: TensorId,
        r: &Reduction,
    ) -> Result<(TensorId, TensorId, TensorId)> {
        let shape = self.graph.tensors[x].shape.clone();
        let name = node_name(node);
        let max = self.window_extreme(node, x, r, false)?;
        let spread = self.spread(node, max, r, &shape, "max_broadcast")?;
        let shifted = self.step(node, "shifted", shape.clone(), |output| FloatOp::Add {
            node: name,
            a: x,
            b: spread,
            output,
            sub: true,
        })?;
        let exp = self.lookup(node, shifted, Activation::Exp, "exp")?;
        Ok((max, shifted, exp))
    }

    /// The maximum (or minimum) over the reduction's windows.
    pub(super) fn window_extreme(
        &mut self,
        node: &NodeProto,
        x: TensorId,
        r: &Reduction,
        min: bool,
    ) -> Result<TensorId> {
        let name = node_name(node);
        let windows = r.windows.clone();
        let suffix = if min { "min" } else { "max" };
        self.step(node, suffix, r.kept.clone(), |output| FloatOp::MaxPool {
            node: name,
            input: x,
            output,
            windows,
            min,
        })
    }

    /// The mean over the reduction's windows, plus `shift`: a window sum, then one affine
    /// map.
    fn window_mean(
        &mut self,
        node: &NodeProto,
        x: TensorId,
        r: &Reduction,
        shift: f32,
        suffix: &str,
    ) -> Result<TensorId> {
        let name = node_name(node);
        let sum = self.window_sum(node, x, r, &format!("{suffix}_sum"))?;
        let len = r.windows.len();
        let scale = vec![1.0 / r.count as f32; len];
        self.step(node, suffix, r.kept.clone(), |output| FloatOp::Affine {
            node: name,
            input: sum,
            output,
            scale,
            shift: vec![shift; len],
        })
    }

    /// A reduced tensor copied back to the full `shape` (each element gets its window's value).
    pub(super) fn spread(
        &mut self,
        node: &NodeProto,
        t: TensorId,
        r: &Reduction,
        shape: &[usize],
        suffix: &str,
    ) -> Result<TensorId> {
        let map = r.owner.clone();
        self.copies(node, suffix, shape.to_vec(), vec![t], map)
    }

    /// `act(x)` by lookup, as an intermediate tensor.
    pub(super) fn lookup(
        &mut self,
        node: &NodeProto,
        x: TensorId,
        act: Activation,
        suffix: &str,
    ) -> Result<TensorId> {
        let shape = self.graph.tensors[x].shape.clone();
        let name = node_name(node);
        self.step(node, suffix, shape, |output| FloatOp::Activation {
            node: name,
            act,
            input: x,
            output,
        })
    }
}
