//! `FloorDiv`: floor division and floor modulus by a constant, the integer ops of real
//! models — `Mod` (`fmod = 0`), `BitShift` right, `BitwiseAnd` with a mask of low bits — on
//! computed tensors (token ids, indices, counters). Exact on any fixed-point value, integer
//! or not: `x − d·⌊x / d⌋` is the floor modulus of the real value.
//!
//! Rows per element (`d` the divisor at the operand's scale `s`):
//!
//! ```text
//! q              a witness, range-checked by the identity table
//! r = x − d·q    a dot row, range-checked to range_bits
//! d − 1 − r      a dot row, range-checked to range_bits      (0 ≤ r < d pins q = ⌊x / d⌋)
//! q·2^s          a dot row (the quotient at the operand's scale; the remainder is r itself)
//! ```

use super::lower::{Lowering, MAX_RANGE_BITS};
use super::{Bounds, Check, Exec, Kind, LayOut, Op};
use crate::error::{CircuitError, Result};
use crate::gadgets::{CellRef, Gadgets};
use crate::model::layers::FloorDiv;
use crate::model::{Activation, FloatOp, Layer, TensorId};

impl Op for FloorDiv {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::NonLinear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        cx.len_is("operand", cx.numel(self.input)?, cx.numel(self.output)?)?;
        if self.divisor <= 0 {
            return Err(format!("divisor {} is not positive", self.divisor));
        }
        if self.range_bits > MAX_RANGE_BITS || (self.divisor as u128) > 1u128 << self.range_bits {
            return Err(format!(
                "divisor {} does not fit its {}-bit remainder checks",
                self.divisor, self.range_bits
            ));
        }
        if !cx.has_range(self.range_bits) || !cx.has_table(Activation::Identity) {
            return Err("no range table for its remainders".into());
        }
        Ok(())
    }

    /// The remainder is below the divisor `d`; the quotient `q` passes the identity table,
    /// and its output `q·2^s` is bounded with `2^s ≤ d` (lowering refuses divisors below one).
    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        let d = self.divisor.max(1) as u128;
        if self.remainder {
            d
        } else {
            cx.table(Activation::Identity).saturating_mul(d)
        }
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        let s = cx.model.tensors[self.input].scale_bits;
        let d = i128::from(self.divisor);
        cx.values[self.input]
            .iter()
            .map(|x| {
                let x = i128::from(*x);
                let q = x.div_euclid(d);
                cx.check_range(Activation::Identity, q)?;
                cx.narrow(if self.remainder { x - d * q } else { q << s })
            })
            .collect()
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        let s = cx.model.tensors[self.input].scale_bits;
        cx.cells[self.input]
            .iter()
            .map(|x| {
                let (q, r) = g.floor_div(*x, self.divisor, self.range_bits);
                if self.remainder {
                    r.cell()
                } else {
                    g.dot(&[(q.cell(), 1i64 << s)], 0)
                }
            })
            .collect()
    }
}

/// Lowers `⌊x / divisor⌋` (or the floor modulus): the divisor at the operand's scale must be a
/// whole number of at least one unit (`divisor·2^s`), and its remainder checks fit a range
/// table of at most [`MAX_RANGE_BITS`] bits; otherwise the op is refused, naming the divisor.
/// Never fuses.
pub(crate) fn lower(l: &mut Lowering<'_>, op: &FloatOp) -> Result<bool> {
    let FloatOp::FloorDiv {
        node,
        input,
        output,
        divisor,
        remainder,
    } = op
    else {
        unreachable!("the driver sends FloorDiv here")
    };
    let s = l.scale(*input);
    let scaled = divisor * f64::from(1u32 << s);
    let refuse = |why: String| CircuitError::UnsupportedOp {
        op: "FloorDiv".into(),
        node: node.clone(),
        detail: format!(": divisor {divisor} {why}"),
    };
    if scaled.fract() != 0.0 || scaled < 1.0 || *divisor < 1.0 {
        return Err(refuse(format!(
            "is not a whole number of units at scale 2^-{s} (integer divisors of at least 1 are)"
        )));
    }
    let d = scaled as i64;
    // `r` and `d − 1 − r` in [0, 2^bits).
    let range_bits = (64 - (d as u64 - 1).leading_zeros()).max(1);
    if range_bits > MAX_RANGE_BITS {
        return Err(refuse(format!(
            "needs a {range_bits}-bit range table for its remainders at scale 2^-{s} (at most {MAX_RANGE_BITS})"
        )));
    }
    l.ranges.push(range_bits);
    // The quotient is an integer checked by the identity table.
    l.need(Activation::Identity, l.max_abs[*input] / divisor + 1.0, 0);
    l.tensors[*output].scale_bits = s;
    l.layers.push(Layer::FloorDiv(FloorDiv {
        node: node.clone(),
        input: *input,
        output: *output,
        divisor: d,
        remainder: *remainder,
        range_bits,
    }));
    Ok(false)
}
