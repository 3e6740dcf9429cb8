//! `Product`: a batched matrix product of two computed tensors (an element-wise product when
//! `m = k = n = 1`): attention scores, gating, layer normalization.
//!
//! Rows: each output element is one product chain `Σ a·b` over the product gates
//! (⌈k / ⌊W/2⌋⌉ rows, the operands copied in), then, with a rescale, the two rescale rows.

use super::lower::Lowering;
use super::{finish_cell, Bounds, Check, Exec, Kind, LayOut, Op};
use crate::error::Result;
use crate::gadgets::{CellRef, Gadgets};
use crate::model::layers::Product;
use crate::model::{Activation, TensorId};
use crate::model::{FloatOp, Layer};

impl Op for Product {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::Linear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        let (la, lb, lo) = self.dims.lens();
        cx.len_is("left operand", cx.numel(self.a)?, la)?;
        cx.len_is("right operand", cx.numel(self.b)?, lb)?;
        cx.len_is("output", cx.numel(self.output)?, lo)?;
        if self.dims.k == 0 {
            return Err("an empty contraction".into());
        }
        cx.rescale_ok(self.rescale)
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        match self.rescale {
            Some(r) => cx.table(r.act),
            None => cx.of[self.a]
                .saturating_mul(cx.of[self.b])
                .saturating_mul(self.dims.k as u128),
        }
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        let (x, y) = (&cx.values[self.a], &cx.values[self.b]);
        let mut out = vec![0i64; self.dims.lens().2];
        let mut err = None;
        self.dims.for_each(|o, pairs| {
            let acc = pairs
                .iter()
                .map(|(i, j)| i128::from(x[*i]) * i128::from(y[*j]))
                .sum();
            match cx.finish(acc, self.rescale) {
                Ok(v) => out[o] = v,
                Err(e) => err = err.take().or(Some(e)),
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        let (xa, xb) = (&cx.cells[self.a], &cx.cells[self.b]);
        let mut out = Vec::with_capacity(self.dims.lens().2);
        self.dims.for_each(|_, pairs| {
            let pairs: Vec<(CellRef, CellRef)> =
                pairs.iter().map(|(i, j)| (xa[*i], xb[*j])).collect();
            let acc = g.product(&pairs);
            out.push(finish_cell(g, acc, self.rescale));
        });
        out
    }
}

/// Lowers a product of two computed tensors (op `i` of the graph): the result at the sum of
/// their scales, rescaled back (fused with the activation that reads it) or kept as a model
/// output. Returns whether the next op was fused.
pub(crate) fn lower(l: &mut Lowering<'_>, i: usize, op: &FloatOp) -> bool {
    let FloatOp::Product {
        node,
        a,
        b,
        output,
        dims,
    } = op
    else {
        unreachable!("the driver sends Product here")
    };
    // A whole-number operand (at 0 fractional bits: dynamic quantization's levels) times one
    // at the activation scale would leave nothing to rescale: raised exactly first.
    let (mut a, mut b) = (*a, *b);
    if l.scale(a) + l.scale(b) <= l.s {
        for t in [&mut a, &mut b] {
            if l.scale(*t) < l.s {
                *t = l.at_scale(*t, l.s, Activation::Identity, node, None);
            }
        }
    }
    let acc_scale = l.scale(a) + l.scale(b);
    let (rescale, out, fused) = l.end_at(i, *output, acc_scale, false, 0);
    l.layers.push(Layer::Product(Product {
        node: node.clone(),
        a,
        b,
        output: out,
        dims: *dims,
        rescale,
    }));
    fused
}
