//! `Activation`: a non-linearity applied by lookup, without rescaling (ReLU, sigmoid, tanh,
//! exp, GELU… at the table's scale and gain; see [`crate::model::Activation`]).
//!
//! Rows: one lookup row per element, `(tag, x, y)` in the table, which also range-checks `x`
//! to the table's width.

use super::{Bounds, Check, Exec, Kind, LayOut, Op};
use crate::error::Result;
use crate::gadgets::{CellRef, Gadgets};
use crate::model::layers::Lookup;
use crate::model::TensorId;

impl Op for Lookup {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::NonLinear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        cx.len_is("input", cx.numel(self.input)?, cx.numel(self.output)?)?;
        if !cx.has_table(self.act) {
            return Err("no table for its activation".into());
        }
        Ok(())
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        cx.table(self.act)
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        cx.values[self.input]
            .iter()
            .map(|x| {
                cx.check_range(self.act, i128::from(*x))?;
                cx.narrow(cx.model.tables.apply(self.act, i128::from(*x)))
            })
            .collect()
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        cx.cells[self.input]
            .iter()
            .map(|c| g.activation(*c, self.act))
            .collect()
    }
}
