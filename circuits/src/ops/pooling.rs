//! Window reductions: `MaxPool` (the maximum, or with `min` the minimum, over each window)
//! and `Sum` (window sums: average pools before their rescale, reductions).
//!
//! Rows: `MaxPool` folds each window pairwise, `max(acc, x) = acc + relu(x − acc)` and
//! `min(acc, x) = acc − relu(acc − x)`: per comparison a dot row for the difference, a ReLU
//! lookup and a dot row for the sum. `Sum` is one dot product with weights 1 per window.

use super::lower::Lowering;
use super::{Bounds, Check, Exec, Kind, LayOut, Op};
use crate::error::Result;
use crate::gadgets::{CellRef, Gadgets};
use crate::model::layers::{MaxPool, Sum};
use crate::model::{Activation, TensorId};
use crate::model::{FloatOp, Layer};

/// That there is one window per output element and each is non-empty and inside the input.
fn check_windows(
    cx: &Check<'_>,
    input: TensorId,
    output: TensorId,
    windows: &[Vec<u32>],
) -> std::result::Result<(), String> {
    let size = cx.numel(input)?;
    cx.len_is("windows", windows.len(), cx.numel(output)?)?;
    if windows
        .iter()
        .any(|w| w.is_empty() || w.iter().any(|i| *i as usize >= size))
    {
        return Err("a window is empty or points outside the input".into());
    }
    Ok(())
}

impl Op for MaxPool {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::NonLinear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        check_windows(cx, self.input, self.output, &self.windows)?;
        if !cx.has_table(Activation::Relu) {
            return Err("no ReLU table for the comparisons".into());
        }
        Ok(())
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        cx.of[self.input]
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        let x = &cx.values[self.input];
        self.windows
            .iter()
            .map(|w| {
                // As the circuit computes it: each difference goes through the ReLU table
                // (max: acc + relu(x − acc); min: acc − relu(acc − x)).
                let mut acc = i128::from(x[w[0] as usize]);
                for i in &w[1..] {
                    let x = i128::from(x[*i as usize]);
                    let diff = if self.min { acc - x } else { x - acc };
                    cx.check_range(Activation::Relu, diff)?;
                    acc += if self.min { -diff.max(0) } else { diff.max(0) };
                }
                cx.narrow(acc)
            })
            .collect()
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        let src = &cx.cells[self.input];
        let sign = if self.min { -1 } else { 1 };
        self.windows
            .iter()
            .map(|w| {
                w[1..].iter().fold(src[w[0] as usize], |acc, i| {
                    let diff = g.dot(&[(src[*i as usize], sign), (acc, -sign)], 0);
                    let gain = g.activation(diff, Activation::Relu);
                    g.dot(&[(acc, 1), (gain, sign)], 0)
                })
            })
            .collect()
    }
}

impl Op for Sum {
    fn output(&self) -> TensorId {
        self.output
    }

    fn kind(&self) -> Kind {
        Kind::Linear
    }

    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String> {
        check_windows(cx, self.input, self.output, &self.windows)
    }

    fn bound(&self, cx: &Bounds<'_>) -> u128 {
        let widest = self.windows.iter().map(Vec::len).max().unwrap_or(0) as u128;
        cx.of[self.input].saturating_mul(widest)
    }

    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>> {
        let x = &cx.values[self.input];
        self.windows
            .iter()
            .map(|w| cx.narrow(w.iter().map(|i| i128::from(x[*i as usize])).sum()))
            .collect()
    }

    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef> {
        let src = &cx.cells[self.input];
        self.windows
            .iter()
            .map(|w| {
                let terms: Vec<(CellRef, i64)> = w.iter().map(|i| (src[*i as usize], 1)).collect();
                g.dot(&terms, 0)
            })
            .collect()
    }
}

/// Lowers a max (or min) pool, whose comparisons need the ReLU table to cover differences of
/// two window elements, or a window sum. Both keep their input's scale; never fuse.
pub(crate) fn lower(l: &mut Lowering<'_>, op: &FloatOp) -> bool {
    match op {
        FloatOp::MaxPool {
            node,
            input,
            output,
            windows,
            min,
        } => {
            let scale = l.scale(*input);
            l.need(Activation::Relu, 2.0 * l.max_abs[*input], scale);
            l.tensors[*output].scale_bits = scale;
            l.layers.push(Layer::MaxPool(MaxPool {
                node: node.clone(),
                input: *input,
                output: *output,
                windows: windows.clone(),
                min: *min,
            }));
        }
        FloatOp::Sum {
            node,
            input,
            output,
            windows,
        } => {
            l.tensors[*output].scale_bits = l.scale(*input);
            l.layers.push(Layer::Sum(Sum {
                node: node.clone(),
                input: *input,
                output: *output,
                windows: windows.clone(),
            }));
        }
        _ => unreachable!("the driver sends MaxPool and Sum here"),
    }
    false
}
