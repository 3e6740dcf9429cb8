//! Rearrangements: `Select` (transpose, slice, concat, gather, zero padding: each output
//! element is an element of one operand, or zero) and `Reshape`.
//!
//! Rows: none; the output reuses its operands' cells (a zero is one shared constrained row).

use super::lower::Lowering;
use super::{Bounds, Check, Exec, Kind, LayOut, Op};
use crate::error::Result;
use crate::gadgets::{CellRef, Gadgets};
use crate::model::layers::{Reshape, Select};
use crate::model::TensorId;
use crate::model::{Activation, FloatOp, Layer};

impl Op for Select {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::Shape
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        cx.len_is("map", self.map.len(), cx.numel(self.output)?)?;
        let sizes = self
            .inputs
            .iter()
            .map(|t| cx.numel(*t))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if self
            .map
            .iter()
            .flatten()
            .any(|(a, i)| sizes.get(*a as usize).is_none_or(|s| *i as usize >= *s))
        {
            return Err("an index points outside its operand".into());
        }
        Ok(())
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        self.inputs.iter().map(|t| cx.of[*t]).max().unwrap_or(0)
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        Ok(self
            .map
            .iter()
            .map(|m| m.map_or(0, |(a, i)| cx.values[self.inputs[a as usize]][i as usize]))
            .collect())
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        let mut out = Vec::with_capacity(self.map.len());
        for m in &self.map {
            out.push(match m {
                Some((a, i)) => cx.cells[self.inputs[*a as usize]][*i as usize],
                None => g.zero(),
            });
        }
        out
    }
}

impl Op for Reshape {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::Shape
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        cx.len_is("input", cx.numel(self.input)?, cx.numel(self.output)?)
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        cx.of[self.input]
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        Ok(cx.values[self.input].clone())
    }

    fn lay_out(&self, _: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        cx.cells[self.input].clone()
    }
}

/// Lowers a rearrangement: a selection takes the coarsest of its inputs' scales (finer ones
/// rounded to it), a reshape its input's. Never fuses.
pub(crate) fn lower(l: &mut Lowering<'_>, op: &FloatOp) -> bool {
    match op {
        FloatOp::Select {
            node,
            inputs,
            output,
            map,
        } => {
            let target = l.common_scale(inputs);
            let inputs = inputs
                .iter()
                .map(|t| l.at_scale(*t, target, Activation::Identity, node, None))
                .collect();
            l.tensors[*output].scale_bits = target;
            l.layers.push(Layer::Select(Select {
                node: node.clone(),
                inputs,
                output: *output,
                map: map.clone(),
            }));
        }
        FloatOp::Reshape {
            node,
            input,
            output,
        } => {
            l.tensors[*output].scale_bits = l.scale(*input);
            l.layers.push(Layer::Reshape(Reshape {
                node: node.clone(),
                input: *input,
                output: *output,
            }));
        }
        _ => unreachable!("the driver sends Select and Reshape here"),
    }
    false
}
