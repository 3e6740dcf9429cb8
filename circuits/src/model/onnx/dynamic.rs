//! Dynamic quantization (onnxruntime's `quantize_dynamic`, the int8 form of most exported
//! transformers): the activations' scale and zero point are computed from the data at run
//! time, the weights' are constants.
//!
//! ```text
//! DynamicQuantizeLinear(x) = (y, s, z):
//!     lo = min(0, min x),  hi = max(0, max x)
//!     s = (hi − lo) / 255                       z = round(−lo / s)
//!     y = clip(round(x / s) + z, 0, 255)        (uint8; rounding ties to even)
//! MatMulInteger(a, b, a_z, b_z) = (a − a_z) · (b − b_z)    int32
//! ConvInteger(x, w, x_z, w_z)   = conv(x − x_z, w − w_z)   int32; padding is x_z, so 0 after
//! ```
//!
//! and the product, cast to float, is multiplied by `s` times the weights' scale.
//!
//! `s` is small (a 255th of the range), so fixed point must not divide by it or multiply by
//! it alone. `lo` and `hi` are the least and greatest of x's elements and a zero (one copy, two
//! reductions); the levels are `round(255·x / (hi − lo)) + z`, each a *whole* division (the
//! quotient rounded at 0 fractional bits: `ops/division.rs`; an exact tie rounds up where ONNX
//! rounds it to even), and the clip to `[0, 255]` is left out: it never binds, as
//! `round(lo / s) = −z` and `round(hi / s) = 255 − z`. `y` dequantized, `d = s·(y − z)`, is
//! the levels over 256 (exact) times `256·s`, computed once per tensor by a division (a
//! constant factor 1/255 would be rounded to the weights' scale, or folded into the next op's
//! weights at 8 bits' cost).
//!
//! An integer product of `y` and constant weights is then `P / s`, with `P` the float
//! product of `d` and the weights less their zero point (per tensor, per column of a matrix,
//! per output channel of a convolution's weights; shifted at import). When its cast is
//! multiplied by `s·c` (`c` a constant: the weights' scale), the result is `c·P`, placed
//! right after `P` so that `c` folds into the weights, and `s` cancels. Any other reader of
//! the integer product reads `255·P / (hi − lo)`; other operands (computed on both sides, or
//! a quantized input of the model) take the integer ops literally. An input that is zero
//! throughout has no scale (ONNX divides by zero there); such a model's calibration is
//! refused by the division.

use super::dims::broadcast;
use super::ml::{int_attr, synthetic};
use super::{invalid, unsupported, Const, Importer, Operand};
use crate::error::Result;
use crate::model::{FloatOp, TensorId};
use tract_onnx::pb::NodeProto;

/// A DynamicQuantizeLinear's output `y`: its range `hi − lo`, scale and zero point tensors,
/// and `y` dequantized once an integer product made it.
#[derive(Clone, Debug)]
pub(super) struct Dynamic {
    /// `round(x / s)`: `y − z`.
    levels: TensorId,
    range: TensorId,
    scale: TensorId,
    zero: TensorId,
    dequantized: Option<TensorId>,
}

/// An integer product of a dynamically quantized operand and constant weights: `P / s`.
#[derive(Clone, Copy, Debug)]
pub(super) struct OverScale {
    product: TensorId,
    scale: TensorId,
}

impl Importer {
    /// Imports `op` of `inputs` (names; empty ones skipped) as a synthetic node of `name`
    /// writing `output`; returns the tensor.
    fn synthetic_op(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        output: &str,
        attrs: Vec<tract_onnx::pb::AttributeProto>,
    ) -> Result<TensorId> {
        let inputs: Vec<&str> = inputs.iter().copied().filter(|i| !i.is_empty()).collect();
        let node = synthetic(op, name, &inputs, output, attrs);
        self.node(&node)?;
        self.ids
            .get(output)
            .copied()
            .ok_or_else(|| invalid(&node, "no computed output".into()))
    }

    /// onnxruntime's DynamicQuantizeLSTM (`quantize_dynamic`'s form of an LSTM): an LSTM whose
    /// weights are int8 and stored transposed (`[dirs, input, 4·hidden]` and `[dirs, hidden,
    /// 4·hidden]`), with a scale and a zero point each (inputs 8-11) per tensor or per
    /// direction and gate row. Imported as the LSTM of its weights dequantized, `(w − z)·s`
    /// in ONNX's layout: the int8 weights exactly. Inside its kernel onnxruntime also
    /// quantizes `X` and `h` to uint8 at every step; the circuit keeps the activations at its
    /// own fixed point instead (BENCHMARKS.md, "Dynamic quantization", measures the two
    /// apart).
    pub(super) fn dynamic_quantize_lstm(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let mut lstm = node.clone();
        lstm.input.truncate(8);
        for (i, scale, zero) in [(1, 8, 9), (2, 10, 11)] {
            let what = if i == 1 { "input" } else { "recurrence" };
            let q = self.constant(node, i, "computed weights")?.clone();
            let [dirs, rows, cols] = q.shape[..] else {
                return Err(invalid(
                    node,
                    format!(
                        "{what} weights of shape {:?} are not [directions, rows, 4·hidden]",
                        q.shape
                    ),
                ));
            };
            let present = |j: usize| node.input.get(j).is_some_and(|s| !s.is_empty());
            if !present(scale) {
                return Err(invalid(node, format!("no scale for the {what} weights")));
            }
            let s = self.constant(node, scale, "a computed scale")?.data.clone();
            let z = match present(zero) {
                true => (self.constant(node, zero, "a computed zero point")?.data).clone(),
                false => vec![0.0],
            };
            // A scale or zero point per tensor, or one per direction and gate row.
            let rows_of = dirs * cols;
            let per_row = |v: Vec<f64>, which: &str| match v.len() {
                1 => Ok(vec![v[0]; rows_of]),
                n if n == rows_of => Ok(v),
                n => {
                    let reason = format!(
                        "its {what} weights' {which} has {n} values, not 1 (per tensor) or \
                         {rows_of} (per gate row)"
                    );
                    Err(invalid(node, reason))
                }
            };
            let (s, z) = (per_row(s, "scale")?, per_row(z, "zero point")?);
            let mut data = vec![0.0; q.data.len()];
            for d in 0..dirs {
                for r in 0..rows {
                    for c in 0..cols {
                        let k = d * cols + c;
                        data[(d * cols + c) * rows + r] =
                            (q.data[(d * rows + r) * cols + c] - z[k]) * s[k];
                    }
                }
            }
            lstm.input[i] = self.synthetic_constant(
                &format!("{name}/{what}_weights"),
                vec![dirs, cols, rows],
                data,
            );
        }
        self.recurrent(&lstm, name)
    }

    /// DynamicQuantizeLinear (see the module's doc): outputs `y` (at 0 fractional bits), its
    /// scale and its zero point, the latter two of shape `[1]` (one per tensor, broadcasting
    /// as ONNX's scalars do).
    pub(super) fn dynamic_quantize_linear(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = node
            .input
            .first()
            .filter(|x| !x.is_empty())
            .ok_or_else(|| invalid(node, "no input".into()))?
            .clone();
        if !matches!(self.operand(node, 0)?, Operand::Var(_)) {
            return Err(unsupported(node, "a constant input"));
        }
        let y = self.output_name(node)?.to_owned();
        let t = |suffix: &str| format!("{y}/{suffix}");
        let out = |i: usize, suffix: &str| {
            node.output
                .get(i)
                .filter(|o| !o.is_empty())
                .cloned()
                .unwrap_or_else(|| t(suffix))
        };
        let (scale, zero) = (out(1, "scale"), out(2, "zero_point"));
        let c255 = self.synthetic_constant(&t("levels"), vec![], vec![255.0]);
        let minus_c255 = self.synthetic_constant(&t("minus_levels"), vec![], vec![-255.0]);
        // lo and hi: the least and the greatest of x's elements and a zero (a copy: no rows).
        let x_id = self.var(node, 0)?;
        let numel = self.graph.tensors[x_id].numel();
        let map = (0..numel as u32)
            .map(|e| Some((0, e)))
            .chain([None])
            .collect();
        self.copies(node, "with_zero", vec![numel + 1], vec![x_id], map)?;
        let keep = || vec![int_attr("keepdims", 1)];
        let mut op = |op: &str, inputs: &[&str], output: &str, attrs| {
            self.synthetic_op(op, &name, inputs, output, attrs)
        };
        op("ReduceMin", &[&t("with_zero")], &t("lo"), keep())?;
        op("ReduceMax", &[&t("with_zero")], &t("hi"), keep())?;
        let range = op("Sub", &[&t("hi"), &t("lo")], &t("range"), vec![])?;
        let scale_id = op("Div", &[&t("range"), &c255], &scale, vec![])?;
        op(
            "Mul",
            &[&t("lo"), &minus_c255],
            &t("negated_lo_levels"),
            vec![],
        )?;
        op("Mul", &[&x, &c255], &t("levels_of_x"), vec![])?;
        let zero_id = self.whole_quotient(&name, &t("negated_lo_levels"), &t("range"), &zero)?;
        let levels = self.whole_quotient(&name, &t("levels_of_x"), &t("range"), &t("rounded"))?;
        // clip(·, 0, 255) would change nothing: round(x / s) ≥ round(lo / s) = −z and
        // ≤ round(hi / s) = 255 − z.
        let y_id = self.synthetic_op("Add", &name, &[&t("rounded"), &zero], &y, vec![])?;
        self.dynamic.insert(
            y_id,
            Dynamic {
                levels,
                range,
                scale: scale_id,
                zero: zero_id,
                dequantized: None,
            },
        );
        Ok(())
    }

    /// `round(a / b)` (half up; names of computed tensors, broadcast), a whole number at 0
    /// fractional bits (see `ops/division.rs`), as the tensor `output`.
    fn whole_quotient(&mut self, name: &str, a: &str, b: &str, output: &str) -> Result<TensorId> {
        let node = synthetic("Div", name, &[a, b], output, vec![]);
        let (a, b, shape) = self.broadcast_operands(&node)?;
        self.push(&node, shape, |output| FloatOp::Div {
            node: name.to_owned(),
            a,
            b,
            output,
            whole: true,
        })?;
        Ok(self.graph.tensors.len() - 1)
    }

    /// `y` of a DynamicQuantizeLinear dequantized, `(y − z)·s`, made once: the levels
    /// `round(x / s)` (`y − z`, whole) over 256 (exact from 8 fractional bits on) times
    /// `256·s = 256·(hi − lo) / 255`, computed once per tensor (a constant factor 1/255 would be
    /// rounded to the weights' scale: 128.5 units at 2^15, 0.4 % off; folded into the next
    /// op's weights, it would cost them 8 bits). That division is by the computed constant
    /// 255/16 of `16·(hi − lo)`: a divisor of 255 would need a range table past the largest.
    fn dynamic_dequantized(&mut self, y: TensorId, name: &str) -> Result<TensorId> {
        let q = self.dynamic[&y].clone();
        if let Some(d) = q.dequantized {
            return Ok(d);
        }
        let names = |t: TensorId| self.graph.tensors[t].name.clone();
        let (yn, ln, rn) = (names(y), names(q.levels), names(q.range));
        let t = |suffix: &str| format!("{yn}/{suffix}");
        let c = |this: &mut Self, suffix: &str, v: f64| {
            this.synthetic_constant(&t(suffix), vec![], vec![v])
        };
        let (per_256, sixteen) = (c(self, "per_256", 1.0 / 256.0), c(self, "sixteen", 16.0));
        self.synthetic_op("Mul", name, &[&ln, &per_256], &t("levels_per_256"), vec![])?;
        self.synthetic_op("Mul", name, &[&rn, &sixteen], &t("range16"), vec![])?;
        let shape = self.graph.tensors[q.range].shape.clone();
        let divisor = self.add_tensor(&t("levels_per_16"), shape);
        self.graph.ops.push(FloatOp::Affine {
            node: name.to_owned(),
            input: q.range,
            output: divisor,
            scale: vec![0.0],
            shift: vec![255.0 / 16.0],
        });
        let (range16, per_16) = (t("range16"), t("levels_per_16"));
        self.synthetic_op("Div", name, &[&range16, &per_16], &t("step256"), vec![])?;
        let d = self.synthetic_op(
            "Mul",
            name,
            &[&t("levels_per_256"), &t("step256")],
            &t("dequantized"),
            vec![],
        )?;
        if let Some(q) = self.dynamic.get_mut(&y) {
            q.dequantized = Some(d);
        }
        Ok(d)
    }

    /// MatMulInteger and ConvInteger (see the module's doc).
    pub(super) fn integer_product(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let (float_op, weight_axis) = match node.op_type.as_str() {
            "MatMulInteger" => ("MatMul", WeightAxis::Last),
            "ConvInteger" => ("Conv", WeightAxis::First),
            _ => return Err(unsupported(node, "this integer op")),
        };
        let output = self.output_name(node)?.to_owned();
        let input = |k: usize| node.input.get(k).filter(|v| !v.is_empty()).cloned();
        let attrs = || {
            if float_op == "Conv" {
                node.attribute.clone()
            } else {
                vec![]
            }
        };
        // The weights (input 1) less their zero point, when constant.
        let b = input(1).ok_or_else(|| invalid(node, "no input 1".into()))?;
        let weights = match (self.operand(node, 1)?, input(3)) {
            (Operand::Const(_), None) => Some(b.clone()),
            (Operand::Const(v), Some(_)) => match self.operand(node, 3)? {
                Operand::Const(z) => {
                    let data = zero_shifted(v, z, weight_axis).ok_or_else(|| {
                        invalid(
                            node,
                            format!(
                                "a zero point of {} values for weights of shape {:?}",
                                z.data.len(),
                                v.shape
                            ),
                        )
                    })?;
                    let shape = v.shape.clone();
                    Some(self.synthetic_constant(&format!("{output}/weights"), shape, data))
                }
                Operand::Var(_) => None,
            },
            (Operand::Var(_), _) => None,
        };
        // A dynamically quantized input with its own zero point, times constant weights:
        // `P / s` (see the module's doc).
        let a = self.var(node, 0)?;
        let a_zero = match input(2) {
            Some(_) => match self.operand(node, 2)? {
                Operand::Var(z) => Some(z),
                Operand::Const(_) => None,
            },
            None => None,
        };
        if let (Some(weights), Some(q)) = (&weights, self.dynamic.get(&a)) {
            if a_zero == Some(q.zero) {
                let (range, scale) = (q.range, q.scale);
                let d = self.dynamic_dequantized(a, &name)?;
                let dn = self.graph.tensors[d].name.clone();
                let p = format!("{output}/times_scale");
                let product = self.synthetic_op(float_op, &name, &[&dn, weights], &p, attrs())?;
                let rn = self.graph.tensors[range].name.clone();
                let c255 =
                    self.synthetic_constant(&format!("{output}/levels"), vec![], vec![255.0]);
                let levels = format!("{output}/levels_of_product");
                self.synthetic_op("Mul", &name, &[&p, &c255], &levels, vec![])?;
                // Named apart: the integer product's own name is typed int32, and ONNX
                // division of integers truncates.
                let quotient = format!("{output}/over_scale");
                let out = self.synthetic_op("Div", &name, &[&levels, &rn], &quotient, vec![])?;
                self.ids.insert(output.clone(), out);
                self.over_scale.insert(out, OverScale { product, scale });
                return Ok(());
            }
        }
        // Otherwise literally: each operand less its zero point, then the float op.
        let mut operands = Vec::with_capacity(2);
        for k in [0, 1] {
            let value = input(k).ok_or_else(|| invalid(node, format!("no input {k}")))?;
            match (k, &weights, input(k + 2)) {
                (1, Some(w), _) => operands.push(w.clone()),
                (_, _, None) => operands.push(value),
                (_, _, Some(zero)) => {
                    if let Operand::Const(z) = self.operand(node, k + 2)? {
                        if z.data.len() > 1 {
                            return Err(unsupported(
                                node,
                                "a computed operand with a zero point per channel",
                            ));
                        }
                    }
                    let shifted = format!("{output}/operand{k}");
                    self.synthetic_op("Sub", &name, &[&value, &zero], &shifted, vec![])?;
                    operands.push(shifted);
                }
            }
        }
        let inputs: Vec<&str> = operands.iter().map(String::as_str).collect();
        self.synthetic_op(float_op, &name, &inputs, &output, attrs())?;
        Ok(())
    }

    /// `a · b` when one is an integer product `P / s` (through casts) and the other `s·c`
    /// for a constant `c` (the weights' scale): `c·P`, pushed as `node`'s output. `None`
    /// (nothing pushed) otherwise.
    pub(super) fn scale_cancelling_product(
        &mut self,
        node: &NodeProto,
        name: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<Option<()>> {
        for (p, m) in [(a, b), (b, a)] {
            let Some(over) = self.over_scale.get(&self.through_casts(p)).copied() else {
                continue;
            };
            let Some((scale, shape)) = self.scaled_copy_of(m, over.scale) else {
                continue;
            };
            let to = self.graph.tensors[over.product].shape.clone();
            // `c` must broadcast to the product, whose shape the result keeps.
            let Some(scale) = broadcast(&shape, &scale, &to) else {
                continue;
            };
            // Placed right after the product, so that it folds into the weights
            // (`graph_folds::fold_affine`) once the product's other reader, `P / s`, goes
            // unread.
            let numel = scale.len();
            let output = self.add_tensor(self.output_name(node)?, to);
            let at = (self.graph.ops.iter())
                .position(|op| op.output() == over.product)
                .map_or(self.graph.ops.len(), |i| i + 1);
            let op = FloatOp::Affine {
                node: name.to_owned(),
                input: over.product,
                output,
                scale: scale.iter().map(|v| *v as f32).collect(),
                shift: vec![0.0; numel],
            };
            self.graph.ops.insert(at, op);
            return Ok(Some(()));
        }
        Ok(None)
    }

    /// The tensor `t` is a copy of, through Reshapes of the same shape (casts) and
    /// broadcasts of one element (a per-tensor scale times a per-channel one).
    fn through_casts(&self, mut t: TensorId) -> TensorId {
        loop {
            let source = match self.graph.ops.iter().rev().find(|op| op.output() == t) {
                Some(FloatOp::Reshape { input, .. })
                    if self.graph.tensors[*input].shape == self.graph.tensors[t].shape =>
                {
                    *input
                }
                Some(FloatOp::Select { inputs, map, .. })
                    if inputs.len() == 1
                        && self.graph.tensors[inputs[0]].numel() == 1
                        && map.iter().all(|m| *m == Some((0, 0))) =>
                {
                    inputs[0]
                }
                _ => return t,
            };
            t = source;
        }
    }

    /// `c` and `m`'s shape when `m = c·s` element-wise (an affine map of `s` without shift),
    /// or `m` is `s` itself (`c = 1`).
    fn scaled_copy_of(&self, m: TensorId, s: TensorId) -> Option<(Vec<f64>, Vec<usize>)> {
        let shape = self.graph.tensors[m].shape.clone();
        if self.through_casts(m) == s {
            return Some((vec![1.0; shape.iter().product()], shape));
        }
        match self.graph.ops.iter().rev().find(|op| op.output() == m)? {
            FloatOp::Affine {
                input,
                scale,
                shift,
                ..
            } if self.through_casts(*input) == s && shift.iter().all(|v| *v == 0.0) => {
                Some((scale.iter().map(|v| f64::from(*v)).collect(), shape))
            }
            _ => None,
        }
    }
}

/// Which axis of a constant operand a zero point of several values runs along: a matrix's
/// columns (the last axis) or a convolution's output channels (the first).
#[derive(Clone, Copy)]
enum WeightAxis {
    Last,
    First,
}

/// `v − z`, element by element, `z` one value or one per `axis` of `v`; `None` when `z`'s
/// length fits neither.
fn zero_shifted(v: &Const, z: &Const, axis: WeightAxis) -> Option<Vec<f64>> {
    let n = z.data.len();
    let (len, inner) = match axis {
        WeightAxis::Last => (v.shape.last().copied().unwrap_or(1), 1),
        WeightAxis::First => (
            v.shape.first().copied().unwrap_or(1),
            v.shape.iter().skip(1).product(),
        ),
    };
    if n != 1 && n != len {
        return None;
    }
    Some(
        (v.data.iter().enumerate())
            .map(|(e, x)| x - z.data[if n == 1 { 0 } else { e / inner % n }])
            .collect(),
    )
}
