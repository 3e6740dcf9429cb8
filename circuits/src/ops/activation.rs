//! `Activation`: a non-linearity applied by lookup, without rescaling (ReLU, sigmoid, tanh,
//! exp, GELU… at the table's scale and gain; see [`crate::model::Activation`]).
//!
//! Rows: one lookup row per element, `(tag, x, y)` in the table, which also range-checks `x`
//! to the table's width.

use super::linear::step_offset;
use super::lower::bits_for;
use super::lower::Lowering;
use super::{Bounds, Check, Exec, Kind, LayOut, Op};
use crate::error::Result;
use crate::gadgets::{CellRef, Gadgets};
use crate::model::layers::{Affine, Lookup, Reshape};
use crate::model::Rescale;
use crate::model::{Activation, TensorId};
use crate::model::{FloatOp, Layer};

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

/// The widest step table a comparison reads its input through directly; a wider one reads
/// it shifted right (exactly: see [`lower`]).
const WIDEST_STEP_BITS: u32 = 14;

/// Lowers an activation: one lookup per element, its table covering the calibrated inputs at
/// their scale; a finer input (not of a scale-free function) is rescaled to the activation
/// scale in the same lookup (fake quantization's, read in steps, to scale 0). Never fuses (a
/// linear op or product before it may fuse it).
pub(crate) fn lower(l: &mut Lowering<'_>, op: &FloatOp) -> bool {
    let FloatOp::Activation {
        node,
        act,
        input,
        output,
    } = op
    else {
        unreachable!("the driver sends Activation here")
    };
    let scale = l.scale(*input);
    if let Activation::Dequantize { step, lo, hi, .. } = *act {
        // Its table reads counts of steps, rounded to whole steps in the same lookup (the
        // op before it, which divided by the step, has rounded already: no exact ties are
        // left to break); the output at the activation scale.
        let act = Activation::Dequantize {
            step,
            lo,
            hi,
            fraction: 0,
        };
        l.at_scale(*input, 0, act, node, Some(*output));
        l.tensors[*output].scale_bits = l.s;
    } else if scale < l.s
        && matches!(
            act,
            Activation::Floor | Activation::Ceil | Activation::Trunc | Activation::Round
        )
    {
        // Rounding a whole number (a Cast of an integer input) leaves it as it is: no rows.
        l.tensors[*output].scale_bits = scale;
        l.layers.push(Layer::Reshape(Reshape {
            node: node.clone(),
            input: *input,
            output: *output,
        }));
    } else if matches!(act, Activation::Step | Activation::StepInclusive)
        && bits_for(l.max_abs[*input], scale) > WIDEST_STEP_BITS
    {
        // A comparison of wide values (features in the thousands at a fine scale, gathered
        // and compared with thresholds: hummingbird's tree traversal) reads the sign of its
        // input shifted right, exactly (the bias makes the rescale's rounding a floor, as a
        // linear layer ending in a step does: `step_offset`): the step table spans the
        // shifted values, the remainder a range check (limbs where they are on).
        let bits = bits_for(l.max_abs[*input], scale);
        let shift = match l.limb_bits {
            Some(limb) if bits > 2 * limb => bits - limb,
            _ => bits / 2,
        };
        l.need(*act, l.max_abs[*input] / f64::from(shift).exp2(), scale);
        l.ranges.push(shift);
        l.tensors[*output].scale_bits = l.s;
        let n = l.tensors[*input].numel();
        l.layers.push(Layer::Affine(Affine {
            node: node.clone(),
            input: *input,
            output: *output,
            weight: vec![1; n],
            bias: vec![step_offset(*act, shift); n],
            rescale: Some(Rescale { shift, act: *act }),
        }));
    } else if scale < l.s && act.reads_sign_only() {
        // A whole-number input (an integer model input's comparisons, a token id against
        // each candidate) reads its table at its own scale: the table spans its values, not
        // those values at the activation scale.
        l.need(*act, l.max_abs[*input], scale);
        l.tensors[*output].scale_bits = l.s;
        l.layers.push(Layer::Activation(Lookup {
            node: node.clone(),
            act: *act,
            input: *input,
            output: *output,
        }));
    } else if scale != l.s && !act.is_scale_free() {
        let input = l.at_least_activation_scale(*input, node);
        l.at_scale(input, l.s, *act, node, Some(*output));
    } else {
        l.need(*act, l.max_abs[*input], scale);
        l.tensors[*output].scale_bits = scale + l.tables.gain(*act);
        l.layers.push(Layer::Activation(Lookup {
            node: node.clone(),
            act: *act,
            input: *input,
            output: *output,
        }));
    }
    false
}
