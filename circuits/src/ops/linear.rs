//! Linear layers with model parameters: `Dense` (a matrix product with a weight matrix),
//! `Conv` (a convolution, padding free) and `Affine` (one weight and bias per element).
//!
//! Rows: each output element is one parameter dot product `bias + Σ x·w` (⌈terms / W⌉ rows,
//! fixed weights in the fixed columns or private ones in advice; see [`crate::layout`]), then,
//! with a rescale, two rows that divide by `2^shift` (remainder range-checked) and apply the
//! fused activation by lookup. Without a rescale the output keeps the doubled scale (final
//! layers).

use super::{finish_cell, Bounds, Check, Exec, Kind, LayOut, Op};
use crate::error::Result;
use crate::gadgets::{CellRef, Gadgets, Param};
use crate::model::layers::{Affine, Conv, Dense};
use crate::model::TensorId;

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
        cx.rescale_ok(self.rescale)
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        if let Some(r) = self.rescale {
            return cx.table(r.act);
        }
        let mut max = 0u128;
        self.geometry.for_each_output(|_, o, terms| {
            let w = terms.iter().map(|(_, wi)| abs(self.weight[*wi])).sum();
            max = max.max(cx.accumulator(self.input, w, self.bias[o]));
        });
        max
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        let x = &cx.values[self.input];
        let mut out = vec![0i64; self.geometry.output_shape().iter().product()];
        let mut err = None;
        self.geometry.for_each_output(|i, o, terms| {
            let acc = terms
                .iter()
                .fold(i128::from(self.bias[o]), |acc, (xi, wi)| {
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
        let mut out = Vec::with_capacity(self.geometry.output_shape().iter().product());
        self.geometry.for_each_output(|_, o, terms| {
            let terms: Vec<(CellRef, Param)> = terms
                .iter()
                .map(|(xi, wi)| (src[*xi], cx.param(*wi, self.weight[*wi])))
                .collect();
            let bias = cx.param(self.weight.len() + o, self.bias[o]);
            let acc = g.param_dot(&terms, bias);
            out.push(finish_cell(g, acc, self.rescale));
        });
        out
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
