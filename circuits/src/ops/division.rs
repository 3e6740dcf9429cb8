//! `Div`: element-wise `round(a·2^s / b)` for a computed `b > 0` (`s` the divisor's scale, so
//! the quotient keeps the dividend's): softmax and layer normalization denominators. A
//! *whole* division (dynamic quantization's `x / scale`) takes `s` the divisor's scale less
//! the dividend's: the quotient is rounded to a whole number, at 0 fractional bits, and its
//! range check spans the quotient's whole values only.
//!
//! Rows per element: the quotient `q` (a witness, identity-checked), `t = q·b` (a product
//! row), `r = 2^(s+1)·a + b − 2t` and `2b − 1 − r` (dot rows), both range-checked to
//! `range_bits`, which pins `q` to the rounded quotient.

use super::lower::{bits_for, Lowering, MAX_RANGE_BITS};
use super::{Bounds, Check, Exec, Kind, LayOut, Op};
use crate::error::{CircuitError, Result};
use crate::fixed_point::divide;
use crate::gadgets::{CellRef, Gadgets};
use crate::model::layers::Div;
use crate::model::{Activation, TensorId};
use crate::model::{CompiledModel, FloatOp, Layer};

impl Op for Div {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::NonLinear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        let o = cx.numel(self.output)?;
        cx.len_is("dividend", cx.numel(self.a)?, o)?;
        cx.len_is("divisor", cx.numel(self.b)?, o)?;
        if !cx.has_range(self.range_bits) || !cx.has_table(Activation::Identity) {
            return Err("no range table for its remainders".into());
        }
        Ok(())
    }

    /// The quotient is range-checked by the identity table.
    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        cx.table(Activation::Identity)
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        let shift = self.shift(cx.model);
        cx.values[self.a]
            .iter()
            .zip(&cx.values[self.b])
            .map(|(x, y)| {
                let (x, y) = (i128::from(*x), i128::from(*y));
                if y <= 0 {
                    return Err(CircuitError::BadValue {
                        what: format!("node `{}`", cx.node),
                        reason: format!("division by a value that is not positive ({y})"),
                    });
                }
                // Both remainders r and 2b − 1 − r must fit the range table.
                if 2 * y > 1i128 << self.range_bits {
                    return Err(CircuitError::Overflow {
                        at: format!("node `{}`", cx.node),
                        value: y,
                        bits: self.range_bits,
                    });
                }
                let (q, _) = divide(x, y, shift);
                cx.check_range(Activation::Identity, q)?;
                cx.narrow(q)
            })
            .collect()
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        let shift = self.shift(cx.model);
        cx.cells[self.a]
            .iter()
            .zip(&cx.cells[self.b])
            .map(|(ca, cb)| g.divide(*ca, *cb, shift, self.range_bits).cell())
            .collect()
    }
}

impl Div {
    /// The `s` of `round(a·2^s / b)` (see the module's doc).
    fn shift(&self, model: &CompiledModel) -> u32 {
        let sb = model.tensors[self.b].scale_bits;
        if self.whole {
            sb.saturating_sub(model.tensors[self.a].scale_bits)
        } else {
            sb
        }
    }
}

/// Lowers a division `q = round(a·2^sb / b)`: the quotient keeps the dividend's scale, and
/// the remainders `r` and `2b − 1 − r` take a range table wide enough for the largest divisor
/// calibration allows (with the usual margin); a divisor too wide for one is refused. Never
/// fuses.
pub(crate) fn lower(l: &mut Lowering<'_>, op: &FloatOp) -> Result<bool> {
    let FloatOp::Div {
        node,
        a,
        b,
        output,
        whole,
    } = op
    else {
        unreachable!("the driver sends Div here")
    };
    // A fractional quotient of a whole-number dividend keeps the activation scale's bits.
    let a = &match *whole {
        true => *a,
        false => l.at_least_activation_scale(*a, node),
    };
    let sa = l.scale(*a);
    // A whole quotient needs the divisor at least as fine as the dividend: raised exactly.
    let b = &match *whole && l.scale(*b) < sa {
        true => l.at_scale(*b, sa, Activation::Identity, node, None),
        false => *b,
    };
    let sb = l.scale(*b);
    let range_bits = bits_for(l.max_abs[*b], sb);
    if range_bits > MAX_RANGE_BITS {
        return Err(CircuitError::UnsupportedOp {
            op: "Div".into(),
            node: node.clone(),
            detail: format!(
                ": divisors up to {:.1} need a {range_bits}-bit range table (at most {MAX_RANGE_BITS}); lower the scale",
                l.max_abs[*b]
            ),
        });
    }
    l.ranges.push(range_bits);
    let scale = if *whole { 0 } else { sa };
    l.need(Activation::Identity, l.max_abs[*output], scale);
    l.tensors[*output].scale_bits = scale;
    l.layers.push(Layer::Div(Div {
        node: node.clone(),
        a: *a,
        b: *b,
        output: *output,
        range_bits,
        whole: *whole,
    }));
    Ok(false)
}
