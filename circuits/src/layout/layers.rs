//! The model's layers in the plan, and their parameters: fixed values, or private cells
//! whose every use is tied to one.

use super::{Builder, CellRef, LayerRows};
use crate::fixed_point::to_field;
use crate::model::Activation;
use crate::model::{CompiledModel, Layer};

/// A model parameter in a dot product: its value and its index in
/// [`CompiledModel::parameters`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Param {
    pub(super) value: i128,
    pub(super) index: usize,
}

/// How many model parameters `layer` has (see [`CompiledModel::parameters`]).
pub(super) fn layer_parameters(layer: &Layer) -> usize {
    match layer {
        Layer::Dense { weight, bias, .. }
        | Layer::Conv { weight, bias, .. }
        | Layer::Affine { weight, bias, .. } => weight.len() + bias.len(),
        Layer::AddConst { constant, .. } => constant.len(),
        _ => 0,
    }
}

impl Builder {
    /// `bias + Σ value(cell)·weight` where the weights and the bias are model parameters: fixed
    /// values as in [`Self::dot`], or with private weights advice cells in `wv`/`bv` under the
    /// parameter-dot gates, every use of a parameter copy-constrained to its first one.
    pub(super) fn param_dot(&mut self, terms: &[(CellRef, Param)], bias: Param) -> CellRef {
        if !self.private_weights {
            let fixed: Vec<(CellRef, i64)> =
                terms.iter().map(|(c, p)| (*c, p.value as i64)).collect();
            return self.dot(&fixed, bias.value);
        }
        let w = self.plan.width;
        let mut acc = to_field(bias.value);
        let first = self.row();
        self.plan.pdot_first[first] = true;
        self.place_param(
            bias,
            CellRef {
                col: 2 * w + 1,
                row: first,
            },
        );
        let mut r = first;
        for (i, chunk) in terms.chunks(w).enumerate() {
            if i > 0 {
                r = self.row();
                self.plan.pdot_next[r] = true;
            }
            for (slot, (src, weight)) in chunk.iter().enumerate() {
                self.copy(*src, CellRef { col: slot, row: r });
                self.place_param(
                    *weight,
                    CellRef {
                        col: w + 1 + slot,
                        row: r,
                    },
                );
                acc += self.value(*src) * to_field(weight.value);
            }
            self.plan.advice[w][r] = acc;
        }
        self.plan.advice[w][r] = acc;
        CellRef { col: w, row: r }
    }

    /// `value(cell) + k` for a model parameter `k`.
    pub(super) fn add_param(&mut self, cell: CellRef, k: Param) -> CellRef {
        if !self.private_weights {
            return self.dot(&[(cell, 1)], k.value);
        }
        let constant = self.param_dot(&[], k);
        self.dot(&[(cell, 1), (constant, 1)], 0)
    }

    /// Writes a model parameter into an advice cell, tied to the parameter's first cell.
    pub(super) fn place_param(&mut self, p: Param, cell: CellRef) {
        self.plan.advice[cell.col][cell.row] = to_field(p.value);
        match self.param_cells[p.index] {
            Some(first) => self.plan.copies.push((first, cell)),
            None => self.param_cells[p.index] = Some(cell),
        }
    }

    /// Lays out every layer of `model` on the cells of its inputs (`cells[tensor]`), filling
    /// in the cells of every other tensor. Parameter uses are tied across calls, so several
    /// samples laid out in one plan share one set of private weights.
    pub(super) fn run_layers(&mut self, model: &CompiledModel, cells: &mut [Vec<CellRef>]) {
        let mut param_base = 0usize;
        let param = |base: usize, i: usize, v: i64| Param {
            value: i128::from(v),
            index: base + i,
        };
        for (index, layer) in model.layers.iter().enumerate() {
            let start = self.plan.rows;
            self.layer = index;
            self.element = 0;
            match layer {
                Layer::Dense {
                    input,
                    output,
                    n_in,
                    n_out,
                    weight,
                    bias,
                    rescale,
                    ..
                } => {
                    let src = cells[*input].clone();
                    let mut out = Vec::with_capacity(src.len() / n_in * n_out);
                    for row in src.chunks(*n_in) {
                        for j in 0..*n_out {
                            let terms: Vec<(CellRef, Param)> = row
                                .iter()
                                .enumerate()
                                .map(|(i, c)| {
                                    let k = i * n_out + j;
                                    (*c, param(param_base, k, weight[k]))
                                })
                                .collect();
                            let bias = param(param_base + weight.len(), j, bias[j]);
                            let acc = self.param_dot(&terms, bias);
                            out.push(match rescale {
                                Some(r) => self.rescale(acc, r.shift, r.act),
                                None => acc,
                            });
                        }
                    }
                    cells[*output] = out;
                }
                Layer::Conv {
                    input,
                    output,
                    geometry,
                    weight,
                    bias,
                    rescale,
                    ..
                } => {
                    let src = cells[*input].clone();
                    let mut out = Vec::with_capacity(geometry.output_shape().iter().product());
                    geometry.for_each_output(|_, o, terms| {
                        let terms: Vec<(CellRef, Param)> = terms
                            .iter()
                            .map(|(xi, wi)| (src[*xi], param(param_base, *wi, weight[*wi])))
                            .collect();
                        let bias = param(param_base + weight.len(), o, bias[o]);
                        let acc = self.param_dot(&terms, bias);
                        out.push(match rescale {
                            Some(r) => self.rescale(acc, r.shift, r.act),
                            None => acc,
                        });
                    });
                    cells[*output] = out;
                }
                Layer::Affine {
                    input,
                    output,
                    weight,
                    bias,
                    rescale,
                    ..
                } => {
                    let src = cells[*input].clone();
                    cells[*output] = src
                        .iter()
                        .zip(weight.iter().zip(bias))
                        .enumerate()
                        .map(|(e, (c, (w, k)))| {
                            let acc = self.param_dot(
                                &[(*c, param(param_base, e, *w))],
                                param(param_base + weight.len(), e, *k),
                            );
                            match rescale {
                                Some(r) => self.rescale(acc, r.shift, r.act),
                                None => acc,
                            }
                        })
                        .collect();
                }
                Layer::MaxPool {
                    input,
                    output,
                    windows,
                    min,
                    ..
                } => {
                    let src = cells[*input].clone();
                    // max(acc, x) = acc + relu(x − acc); min(acc, x) = acc − relu(acc − x)
                    let sign = if *min { -1 } else { 1 };
                    cells[*output] = windows
                        .iter()
                        .map(|w| {
                            w[1..].iter().fold(src[w[0] as usize], |acc, i| {
                                let diff = self.dot(&[(src[*i as usize], sign), (acc, -sign)], 0);
                                let gain = self.activation(diff, Activation::Relu);
                                self.dot(&[(acc, 1), (gain, sign)], 0)
                            })
                        })
                        .collect();
                }
                Layer::Sum {
                    input,
                    output,
                    windows,
                    ..
                } => {
                    let src = cells[*input].clone();
                    cells[*output] = windows
                        .iter()
                        .map(|w| {
                            let terms: Vec<(CellRef, i64)> =
                                w.iter().map(|i| (src[*i as usize], 1)).collect();
                            self.dot(&terms, 0)
                        })
                        .collect();
                }
                Layer::Product {
                    a,
                    b,
                    output,
                    dims,
                    rescale,
                    ..
                } => {
                    let (xa, xb) = (cells[*a].clone(), cells[*b].clone());
                    let mut out = Vec::with_capacity(dims.lens().2);
                    dims.for_each(|_, pairs| {
                        let pairs: Vec<(CellRef, CellRef)> =
                            pairs.iter().map(|(i, j)| (xa[*i], xb[*j])).collect();
                        let acc = self.product(&pairs);
                        out.push(match rescale {
                            Some(r) => self.rescale(acc, r.shift, r.act),
                            None => acc,
                        });
                    });
                    cells[*output] = out;
                }
                Layer::Div {
                    a,
                    b,
                    output,
                    range_bits,
                    ..
                } => {
                    let (xa, xb) = (cells[*a].clone(), cells[*b].clone());
                    let shift = model.tensors[*b].scale_bits;
                    cells[*output] = xa
                        .iter()
                        .zip(&xb)
                        .map(|(ca, cb)| self.divide(*ca, *cb, shift, *range_bits))
                        .collect();
                }
                Layer::Select {
                    inputs,
                    output,
                    map,
                    ..
                } => {
                    let mut out = Vec::with_capacity(map.len());
                    for m in map {
                        out.push(match m {
                            Some((a, i)) => cells[inputs[*a as usize]][*i as usize],
                            None => self.zero(),
                        });
                    }
                    cells[*output] = out;
                }
                Layer::Add {
                    a,
                    b: rhs,
                    output,
                    sub,
                    ..
                } => {
                    let (xa, xb) = (cells[*a].clone(), cells[*rhs].clone());
                    let sign = if *sub { -1 } else { 1 };
                    cells[*output] = xa
                        .iter()
                        .zip(&xb)
                        .map(|(ca, cb)| self.dot(&[(*ca, 1), (*cb, sign)], 0))
                        .collect();
                }
                Layer::AddConst {
                    input,
                    constant,
                    output,
                    ..
                } => {
                    let x = cells[*input].clone();
                    cells[*output] = x
                        .iter()
                        .zip(constant)
                        .enumerate()
                        .map(|(e, (c, k))| self.add_param(*c, param(param_base, e, *k)))
                        .collect();
                }
                Layer::Activation {
                    act, input, output, ..
                } => {
                    let x = cells[*input].clone();
                    cells[*output] = x.iter().map(|c| self.activation(*c, *act)).collect();
                }
                Layer::Reshape { input, output, .. } => cells[*output] = cells[*input].clone(),
            }
            param_base += layer_parameters(layer);
            self.plan.layers.push(LayerRows {
                node: layer.node().to_owned(),
                start,
                end: self.plan.rows,
            });
        }
    }
}
