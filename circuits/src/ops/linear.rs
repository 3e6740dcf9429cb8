//! Linear layers with model parameters: `Dense` (a matrix product with a weight matrix),
//! `Conv` (a convolution, padding free) and `Affine` (one weight and bias per element).
//!
//! Rows: each output element is one parameter dot product `bias + Σ x·w` (⌈terms / W⌉ rows,
//! fixed weights in the fixed columns or private ones in advice; see [`crate::layout`]), then,
//! with a rescale, two rows that divide by `2^shift` (remainder range-checked) and apply the
//! fused activation by lookup. Without a rescale the output keeps the doubled scale (final
//! layers, and the partial sums of a convolution split by channels). A `Conv` with an
//! `accumulator` continues a partial sum: `acc + bias + Σ x·w` (one more term of the chain
//! with fixed weights, a dot row otherwise; see `crate::split::channels`).
//!
//! With [`LinearCheck::Freivalds`] (constant weights only) the accumulators of a Dense or Conv
//! are witnesses checked together by one randomized identity per product (per group of a
//! grouped convolution) instead; see [`crate::layout`]'s `freivalds` module.

use super::lower::Lowering;
use super::{finish_cell, Bounds, Check, Exec, Kind, LayOut, Op};
use crate::error::Result;
use crate::fixed_point::quantize;
use crate::gadgets::{freivalds_rows, CellRef, Gadgets, MatrixProduct, Param};
use crate::model::layers::{Affine, Conv, Dense, LinearCheck, Rescale};
use crate::model::TensorId;
use crate::model::{Activation, FloatOp, Layer};

fn abs(w: i64) -> u128 {
    u128::from(w.unsigned_abs())
}

impl Op for Dense {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::Linear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        let (i, o) = (cx.numel(self.input)?, cx.numel(self.output)?);
        cx.len_is("weights", self.weight.len(), self.n_in * self.n_out)?;
        cx.len_is("bias", self.bias.len(), self.n_out)?;
        if self.n_in == 0 || i % self.n_in != 0 || o != i / self.n_in * self.n_out {
            return Err("input and output sizes do not fit the matrix".into());
        }
        cx.rescale_ok(self.rescale)
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        if let Some(r) = self.rescale {
            return cx.table(r.act);
        }
        (0..self.n_out)
            .map(|j| {
                let w = (0..self.n_in)
                    .map(|i| abs(self.weight[i * self.n_out + j]))
                    .sum();
                cx.accumulator(self.input, w, self.bias[j])
            })
            .max()
            .unwrap_or(0)
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        let (n_in, n_out) = (self.n_in, self.n_out);
        let x = &cx.values[self.input];
        let mut out = Vec::with_capacity(x.len() / n_in * n_out);
        for row in x.chunks(n_in) {
            for j in 0..n_out {
                let acc = row
                    .iter()
                    .enumerate()
                    .fold(i128::from(self.bias[j]), |acc, (i, v)| {
                        acc + i128::from(*v) * i128::from(self.weight[i * n_out + j])
                    });
                out.push(cx.finish(acc, self.rescale)?);
            }
        }
        Ok(out)
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        let (n_in, n_out) = (self.n_in, self.n_out);
        let src = &cx.cells[self.input];
        if self.check == LinearCheck::Freivalds {
            // X[i][b] = x[b][i], W[o][i] = weight[i][o]; Y[o][b] is output [b][o].
            let cols = src.len() / n_in;
            let x: Vec<Option<CellRef>> = (0..n_in)
                .flat_map(|i| (0..cols).map(move |b| Some(src[b * n_in + i])))
                .collect();
            let weights: Vec<i64> = (0..n_out)
                .flat_map(|o| (0..n_in).map(move |i| self.weight[i * n_out + o]))
                .collect();
            let y = g.freivalds(&MatrixProduct {
                weights: &weights,
                bias: &self.bias,
                x: &x,
                n_out,
                n_in,
                cols,
                rescale: self.rescale,
            });
            let mut out = vec![None; y.len()];
            for (e, cell) in y.into_iter().enumerate() {
                let (o, b) = (e / cols, e % cols);
                out[b * n_out + o] = Some(cell);
            }
            return out
                .into_iter()
                .map(|c| c.expect("every output placed"))
                .collect();
        }
        let mut out = Vec::with_capacity(src.len() / n_in * n_out);
        for row in src.chunks(n_in) {
            for j in 0..n_out {
                let terms: Vec<(CellRef, Param)> = row
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let k = i * n_out + j;
                        (*c, cx.param(k, self.weight[k]))
                    })
                    .collect();
                let bias = cx.param(self.weight.len() + j, self.bias[j]);
                let acc = g.param_dot(&terms, bias);
                out.push(finish_cell(g, acc, self.rescale));
            }
        }
        out
    }
}

impl Op for Conv {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::Linear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        let g = &self.geometry;
        let in_shape = [vec![g.batch, g.in_channels], g.in_spatial.clone()].concat();
        cx.len_is("input", cx.numel(self.input)?, in_shape.iter().product())?;
        cx.len_is(
            "output",
            cx.numel(self.output)?,
            g.output_shape().iter().product(),
        )?;
        cx.len_is("weights", self.weight.len(), g.weight_len())?;
        cx.len_is("bias", self.bias.len(), g.out_channels)?;
        if let Some(a) = self.accumulator {
            cx.len_is(
                "accumulator",
                cx.numel(a)?,
                g.output_shape().iter().product(),
            )?;
        }
        cx.rescale_ok(self.rescale)
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        if let Some(r) = self.rescale {
            return cx.table(r.act);
        }
        let carried = self.accumulator.map_or(0, |a| cx.of[a]);
        let mut max = 0u128;
        self.geometry.for_each_output(|_, o, terms| {
            let w = terms.iter().map(|(_, wi)| abs(self.weight[*wi])).sum();
            max = max.max(cx.accumulator(self.input, w, self.bias[o]));
        });
        max.saturating_add(carried)
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        let x = &cx.values[self.input];
        let carried = self.accumulator.map(|a| &cx.values[a]);
        let mut out = vec![0i64; self.geometry.output_shape().iter().product()];
        let mut err = None;
        self.geometry.for_each_output(|i, o, terms| {
            let start = i128::from(self.bias[o]) + carried.map_or(0, |c| i128::from(c[i]));
            let acc = terms.iter().fold(start, |acc, (xi, wi)| {
                acc + i128::from(x[*xi]) * i128::from(self.weight[*wi])
            });
            match cx.finish(acc, self.rescale) {
                Ok(y) => out[i] = y,
                Err(e) => err = err.take().or(Some(e)),
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        let src = &cx.cells[self.input];
        let carried = self.accumulator.map(|a| &cx.cells[a]);
        if self.check == LinearCheck::Freivalds {
            let Some(carried) = carried else {
                return self.lay_out_freivalds(g, src, self.rescale);
            };
            // The randomized check covers the products; each carried partial sum is added by
            // a dot row before the rescale.
            let y = self.lay_out_freivalds(g, src, None);
            return y
                .iter()
                .zip(carried)
                .map(|(y, c)| {
                    let acc = g.dot(&[(*y, 1), (*c, 1)], 0);
                    finish_cell(g, acc, self.rescale)
                })
                .collect();
        }
        let mut out = Vec::with_capacity(self.geometry.output_shape().iter().product());
        self.geometry.for_each_output(|i, o, terms| {
            let terms: Vec<(CellRef, Param)> = terms
                .iter()
                .map(|(xi, wi)| (src[*xi], cx.param(*wi, self.weight[*wi])))
                .collect();
            let bias = cx.param(self.weight.len() + o, self.bias[o]);
            let acc = match carried {
                Some(c) => g.param_dot_onto(c[i], &terms, bias),
                None => g.param_dot(&terms, bias),
            };
            out.push(finish_cell(g, acc, self.rescale));
        });
        out
    }
}

impl Conv {
    /// One randomized check per group: `Y_g = W_g·X_g + b_g` with `X_g` the group's patches
    /// (`[C/group · kernel][N · spatial]`, `None` where the window is padding).
    fn lay_out_freivalds(
        &self,
        g: &mut dyn Gadgets,
        src: &[CellRef],
        rescale: Option<Rescale>,
    ) -> Vec<CellRef> {
        let geo = &self.geometry;
        let (groups, opg) = (geo.group, geo.out_channels / geo.group);
        let m = self.weight.len() / geo.out_channels;
        let len: usize = geo.out_spatial.iter().product();
        let cols = geo.batch * len;
        let mut x = vec![vec![None; m * cols]; groups];
        self.geometry.for_each_output(|i, o, terms| {
            if o % opg == 0 {
                let (n, p) = (i / (geo.out_channels * len), i % len);
                for (xi, wi) in terms {
                    x[o / opg][(wi - o * m) * cols + n * len + p] = Some(src[*xi]);
                }
            }
        });
        let mut out = vec![None; geo.out_channels * cols];
        for (group, x) in x.iter().enumerate() {
            let o0 = group * opg;
            let y = g.freivalds(&MatrixProduct {
                weights: &self.weight[o0 * m..(o0 + opg) * m],
                bias: &self.bias[o0..o0 + opg],
                x,
                n_out: opg,
                n_in: m,
                cols,
                rescale,
            });
            for (e, cell) in y.into_iter().enumerate() {
                let (o, col) = (o0 + e / cols, e % cols);
                let (n, p) = (col / len, col % len);
                out[(n * geo.out_channels + o) * len + p] = Some(cell);
            }
        }
        out.into_iter()
            .map(|c| c.expect("every output placed"))
            .collect()
    }

    /// Rows of the products by each check at width `w`: (direct, randomized).
    pub fn check_rows(&self, w: usize) -> (usize, usize) {
        let geo = &self.geometry;
        let m = self.weight.len() / geo.out_channels.max(1);
        let cols = geo.batch * geo.out_spatial.iter().product::<usize>();
        let opg = geo.out_channels / geo.group.max(1);
        // One dot chain per output over the terms inside the input (padding costs nothing).
        let carried = usize::from(self.accumulator.is_some());
        let mut direct = 0;
        geo.for_each_output(|_, _, terms| direct += (terms.len() + carried).div_ceil(w).max(1));
        // A carried partial sum costs the randomized check one dot row per output.
        let randomized =
            geo.group * freivalds_rows(opg, m, cols, w) + carried * geo.out_channels * cols;
        (direct, randomized)
    }
}

impl Dense {
    /// Rows of the products by each check at width `w`: (direct, randomized).
    pub fn check_rows(&self, w: usize, input_len: usize) -> (usize, usize) {
        let cols = input_len / self.n_in.max(1);
        (
            self.n_out * cols * self.n_in.div_ceil(w).max(1),
            freivalds_rows(self.n_out, self.n_in, cols, w),
        )
    }
}

impl Op for Affine {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::Linear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        let o = cx.numel(self.output)?;
        cx.len_is("input", cx.numel(self.input)?, o)?;
        cx.len_is("weights", self.weight.len(), o)?;
        cx.len_is("bias", self.bias.len(), o)?;
        cx.rescale_ok(self.rescale)
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        if let Some(r) = self.rescale {
            return cx.table(r.act);
        }
        self.weight
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| cx.accumulator(self.input, abs(*w), *b))
            .max()
            .unwrap_or(0)
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        cx.values[self.input]
            .iter()
            .zip(self.weight.iter().zip(&self.bias))
            .map(|(x, (w, b))| {
                let acc = i128::from(*b) + i128::from(*x) * i128::from(*w);
                cx.finish(acc, self.rescale)
            })
            .collect()
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        let n = self.weight.len();
        cx.cells[self.input]
            .iter()
            .zip(self.weight.iter().zip(&self.bias))
            .enumerate()
            .map(|(e, (c, (w, k)))| {
                let acc = g.param_dot(&[(*c, cx.param(e, *w))], cx.param(n + e, *k));
                finish_cell(g, acc, self.rescale)
            })
            .collect()
    }
}

/// Which check the linear layers get (see [`LinearCheck`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LinearMode {
    /// Every layer by dot products.
    Direct,
    /// Every Dense and Conv with constant weights by a randomized check.
    Freivalds,
    /// Per layer, whichever check takes fewer rows at the model's width, and only if that
    /// lowers the circuit's `k` (else every layer direct).
    #[default]
    Auto,
}

impl std::str::FromStr for LinearMode {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "direct" => Ok(Self::Direct),
            "freivalds" => Ok(Self::Freivalds),
            "auto" => Ok(Self::Auto),
            other => Err(format!(
                "unknown linear check `{other}` (expected direct, freivalds or auto)"
            )),
        }
    }
}

/// Rows the direct check would take beyond the randomized one, over the layers of `model`
/// checked by randomized checks, at width `width`.
pub fn randomized_savings(model: &crate::model::CompiledModel, width: usize) -> usize {
    use crate::model::Layer;
    let saved = |(direct, randomized): (usize, usize)| direct.saturating_sub(randomized);
    model
        .layers
        .iter()
        .map(|layer| match layer {
            Layer::Dense(d) if !d.check.is_direct() => {
                saved(d.check_rows(width, model.tensors[d.input].numel()))
            }
            Layer::Conv(c) if !c.check.is_direct() => saved(c.check_rows(width)),
            _ => 0,
        })
        .sum()
}

/// Sets the check of every Dense and Conv of `model` by `mode` at width `width`. Randomized
/// checks need constant weights: with private or hashed weights every layer is direct.
pub fn choose_checks(model: &mut crate::model::CompiledModel, mode: LinearMode, width: usize) {
    use crate::model::Layer;
    let constant = !model.private_weights();
    let pick = |(direct, randomized): (usize, usize)| match mode {
        LinearMode::Freivalds if constant => LinearCheck::Freivalds,
        LinearMode::Auto if constant && randomized < direct => LinearCheck::Freivalds,
        _ => LinearCheck::Direct,
    };
    let lengths: Vec<usize> = model.tensors.iter().map(|t| t.numel()).collect();
    for layer in &mut model.layers {
        match layer {
            Layer::Dense(d) => d.check = pick(d.check_rows(width, lengths[d.input])),
            Layer::Conv(c) => c.check = pick(c.check_rows(width)),
            _ => {}
        }
    }
}

/// What a linear layer whose rescale ends in a step adds to each bias so that the step reads
/// the sign of the accumulator itself rather than of its rounded quotient (a tree's branch, a
/// comparison with a constant: decided at the accumulator's precision, not the activation's).
/// The rescale computes `q = ⌊(acc + h)/2^shift⌋` with `h = 2^(shift−1)` (0 for no shift):
/// `q ≥ 0 ⇔ acc − h + h ≥ 0`, so `acc ≥ 0` (StepInclusive) is `q ≥ 0` of `acc − h`; and
/// `acc > 0` (Step, `q ≥ 1`) is that of `acc + 2^shift − h − 1`.
pub(crate) fn step_offset(act: Activation, shift: u32) -> i64 {
    let half = if shift == 0 { 0 } else { 1i64 << (shift - 1) };
    match act {
        Activation::StepInclusive => -half,
        Activation::Step => (1i64 << shift) - half - 1,
        _ => 0,
    }
}

/// The fractional bits at which `acc / 2^acc_scale` is exact whatever the (integer) inputs:
/// `acc_scale` less the power of two that divides every weight and bias (a division by a
/// power-of-two step, as fake quantization's often is, leaves few).
fn exact_bits(weights: &[i64], bias: &[f32], acc_scale: u32) -> u32 {
    let twos = weights
        .iter()
        .copied()
        .chain(bias.iter().map(|b| quantize(*b, acc_scale)))
        .filter(|v| *v != 0)
        .map(i64::trailing_zeros)
        .min()
        .unwrap_or(acc_scale);
    acc_scale.saturating_sub(twos)
}

/// Lowers a dense layer, a convolution or a constant affine map (op `i` of the graph):
/// weights at the weight scale, biases at the accumulator's, the result rescaled back to the
/// activation scale (fused with the activation that reads it) or kept as a model output.
/// Returns whether the next op was fused.
pub(crate) fn lower(l: &mut Lowering<'_>, i: usize, op: &FloatOp) -> bool {
    let (node, input, output, weight, bias) = match op {
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
        } => (node, *input, *output, weight, bias),
        _ => unreachable!("the driver sends Dense, Conv and Affine here"),
    };
    // A model input quantized finer per feature: each weight of a feature `e` bits finer is
    // `e` bits coarser, so that every product lands at the accumulator's scale; a feature
    // finer than the weight scale (whole weights only, see `features::finer_features`) raises the
    // accumulator's scale to its own.
    let finer = l.feature_bits.get(&input).cloned().unwrap_or_default();
    let extra = |k: usize| match op {
        _ if finer.is_empty() => 0,
        FloatOp::Dense { n_out, .. } => finer[k / n_out],
        FloatOp::Affine { .. } => finer[k % finer.len()],
        _ => unreachable!("finer_features gives a convolution's input none"),
    };
    let sw = finer.iter().copied().fold(l.sw, u32::max);
    // A whole-number input (at 0 fractional bits: dynamic quantization's levels) times weights
    // no finer than the activations would leave nothing to rescale: raised exactly first.
    let input = if l.scale(input) + sw <= l.s {
        l.at_scale(input, l.s, Activation::Identity, node, None)
    } else {
        input
    };
    let acc_scale = l.scale(input) + sw;
    let quantized: Vec<i64> = weight
        .iter()
        .enumerate()
        .map(|(k, w)| quantize(*w, sw - extra(k)))
        .collect();
    let exact_bits = exact_bits(&quantized, bias, acc_scale);
    let (rescale, out, fused) = l.end_at(i, output, acc_scale, true, exact_bits);
    let offset = rescale.map_or(0, |r| step_offset(r.act, r.shift));
    // An element-wise comparison with a constant (`w·x + b` read by a step: a tree's branch
    // `x ≤ t`, a Greater with a constant) compares `x` with `t = −b/w` quantized as `x` is,
    // so that a value equal to the threshold (skl2onnx's float32 thresholds often equal data
    // values) lands on it exactly and takes the inclusive side, as onnxruntime's does.
    let compares = matches!(op, FloatOp::Affine { .. })
        && rescale.is_some_and(|r| matches!(r.act, Activation::Step | Activation::StepInclusive));
    let bias = bias
        .iter()
        .enumerate()
        .map(|(k, b)| {
            let (w, wq) = (weight[k], quantized[k]);
            let at_input = (compares && w != 0.0 && wq != 0)
                .then(|| wq.checked_mul(quantize(*b / w, l.scale(input) + extra(k))))
                .flatten();
            at_input.unwrap_or_else(|| quantize(*b, acc_scale)) + offset
        })
        .collect();
    let node = node.clone();
    l.layers.push(match op {
        FloatOp::Dense { n_in, n_out, .. } => Layer::Dense(Dense {
            node,
            input,
            output: out,
            n_in: *n_in,
            n_out: *n_out,
            weight: quantized,
            bias,
            rescale,
            check: LinearCheck::Direct,
        }),
        FloatOp::Conv { geometry, .. } => Layer::Conv(Conv {
            node,
            input,
            output: out,
            geometry: geometry.clone(),
            weight: quantized,
            bias,
            rescale,
            check: LinearCheck::Direct,
            accumulator: None,
        }),
        _ => Layer::Affine(Affine {
            node,
            input,
            output: out,
            weight: quantized,
            bias,
            rescale,
        }),
    });
    fused
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed_point::rescale;

    #[test]
    fn a_step_after_a_rescale_reads_the_sign_of_the_accumulator() {
        for shift in 0..6 {
            for acc in -100i64..100 {
                let step = |act| {
                    let (q, _) = rescale(i128::from(acc + step_offset(act, shift)), shift);
                    act.apply(q, 0)
                };
                assert_eq!(
                    step(Activation::Step),
                    i128::from(acc > 0),
                    "{acc} >> {shift}"
                );
                assert_eq!(
                    step(Activation::StepInclusive),
                    i128::from(acc >= 0),
                    "{acc} >> {shift}"
                );
            }
        }
        assert_eq!(step_offset(Activation::Relu, 4), 0);
    }
}
