//! Element-wise sums: `Add` (two tensors at one scale, `sub` for the difference) and
//! `AddConst` (a constant per element, at the tensor's scale; a model parameter).
//!
//! Rows: one dot row per element (`AddConst` with private weights: a parameter row for the
//! constant, then the dot row).

use super::lower::Lowering;
use super::{Bounds, Check, Exec, Kind, LayOut, Op};
use crate::error::Result;
use crate::fixed_point::quantize;
use crate::gadgets::{CellRef, Gadgets};
use crate::model::layers::{Add, AddConst};
use crate::model::TensorId;
use crate::model::{Activation, FloatOp, Layer};

impl Op for Add {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::Linear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        let o = cx.numel(self.output)?;
        cx.len_is("left operand", cx.numel(self.a)?, o)?;
        cx.len_is("right operand", cx.numel(self.b)?, o)
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        cx.of[self.a].saturating_add(cx.of[self.b])
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        let sign = if self.sub { -1 } else { 1 };
        cx.values[self.a]
            .iter()
            .zip(&cx.values[self.b])
            .map(|(x, y)| cx.narrow(i128::from(*x) + sign * i128::from(*y)))
            .collect()
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        let sign = if self.sub { -1 } else { 1 };
        cx.cells[self.a]
            .iter()
            .zip(&cx.cells[self.b])
            .map(|(ca, cb)| g.dot(&[(*ca, 1), (*cb, sign)], 0))
            .collect()
    }
}

impl Op for AddConst {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::Linear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        let o = cx.numel(self.output)?;
        cx.len_is("input", cx.numel(self.input)?, o)?;
        cx.len_is("constant", self.constant.len(), o)
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        let c = self
            .constant
            .iter()
            .map(|c| u128::from(c.unsigned_abs()))
            .max()
            .unwrap_or(0);
        cx.of[self.input].saturating_add(c)
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        cx.values[self.input]
            .iter()
            .zip(&self.constant)
            .map(|(x, c)| cx.narrow(i128::from(*x) + i128::from(*c)))
            .collect()
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        cx.cells[self.input]
            .iter()
            .zip(&self.constant)
            .enumerate()
            .map(|(e, (c, k))| g.add_param(*c, cx.param(e, *k)))
            .collect()
    }
}

/// Lowers a sum or difference of two computed tensors (at the coarser of their scales, the
/// finer one rounded to it) or of a tensor and a constant (at the tensor's scale). Never fuses.
pub(crate) fn lower(l: &mut Lowering<'_>, op: &FloatOp) -> bool {
    match op {
        FloatOp::Add {
            node,
            a,
            b,
            output,
            sub,
        } => {
            let target = l.common_scale(&[*a, *b]);
            let a = l.at_scale(*a, target, Activation::Identity, node, None);
            let b = l.at_scale(*b, target, Activation::Identity, node, None);
            l.tensors[*output].scale_bits = target;
            l.layers.push(Layer::Add(Add {
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
            // A constant that is not whole makes a whole-number tensor's sum fractional.
            let input = &match constant.iter().any(|c| f64::from(*c).fract() != 0.0) {
                true => l.at_least_activation_scale(*input, node),
                false => *input,
            };
            let scale = l.scale(*input);
            l.tensors[*output].scale_bits = scale;
            let constant = constant.iter().map(|c| quantize(*c, scale)).collect();
            l.layers.push(Layer::AddConst(AddConst {
                node: node.clone(),
                input: *input,
                constant,
                output: *output,
            }));
        }
        _ => unreachable!("the driver sends Add and AddConst here"),
    }
    false
}
