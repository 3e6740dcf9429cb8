//! QuantizeLinear and DequantizeLinear of computed tensors: the QDQ form of quantized models
//! (TFLite int8 models as tf2onnx converts them, onnxruntime's `quantize_static`), where each
//! quantized activation is a QuantizeLinear and a DequantizeLinear around float ops (the
//! weights' DequantizeLinear has constant operands and is folded at import):
//!
//! ```text
//! QuantizeLinear:    y = clip(round(x / s) + z, lo, hi)   an affine map, a Round lookup (ties to
//!                                                         even, as ONNX rounds), an affine map
//!                                                         and a Clip lookup to the type's range
//! DequantizeLinear:  x = (y − z) · s                      an affine map
//! ```
//!
//! `s` and `z` are constants, one for the tensor or one per channel along `axis`. The integer
//! type is the zero point's (uint8 without one); 4-bit, float8 and blocked forms are refused.
//!
//! Those are the forms of a lone QuantizeLinear (a model's integer output) or DequantizeLinear
//! (a model's integer input). A DequantizeLinear of a QuantizeLinear's output, per tensor, is
//! *fake quantization* instead: one [`Activation::Dequantize`] of the tensor in steps `x / s`,
//! whose table holds the type's levels (see [`Importer::fake_quantization`]). The QOperator
//! form's QLinear ops are imported as their float op between the two ([`Importer::qlinear`]).

use super::ml::{int_attr, synthetic};
use super::{attr_int, dims, invalid, unsupported, Importer, Operand};
use crate::error::Result;
use crate::model::{Activation, FloatOp, Param, TensorId};
use tract_onnx::pb::{tensor_proto::DataType, NodeProto};

/// Each element's scale and zero point, and the integer type's range (lowest, highest).
struct Quantization {
    scale: Vec<f64>,
    zero: Vec<f64>,
    range: (f64, f64),
}

/// One scale and zero point for a whole tensor, and the integer type's range.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PerTensor {
    scale: f64,
    zero: f64,
    range: (f64, f64),
}

impl Quantization {
    /// The quantization, if it is the same for every element.
    fn per_tensor(&self) -> Option<PerTensor> {
        let uniform = |v: &[f64]| v.iter().all(|e| *e == v[0]);
        (uniform(&self.scale) && uniform(&self.zero)).then(|| PerTensor {
            scale: self.scale[0],
            zero: self.zero[0],
            range: self.range,
        })
    }
}

/// A QuantizeLinear's output: the tensor in steps (`x / s`) it rounded and clipped, its
/// quantization when per tensor, and its fake quantization once a DequantizeLinear made it.
#[derive(Clone, Debug)]
pub(super) struct Quantized {
    steps: TensorId,
    per_tensor: Option<PerTensor>,
    dequantized: Option<TensorId>,
}

impl Importer {
    /// Each element's scale and zero point (inputs 1 and 2 of `node`, per tensor or per
    /// channel along `axis`) for a computed input of `shape`, and the integer type's range.
    fn quantization(&self, node: &NodeProto, shape: &[usize]) -> Result<Quantization> {
        if attr_int(node, "block_size").is_some_and(|b| b != 0) {
            return Err(unsupported(node, "blocked quantization (block_size)"));
        }
        let scale = self.constant(node, 1, "a computed scale")?.data.clone();
        let (zero, dtype) = match node.input.get(2).filter(|z| !z.is_empty()) {
            None => (vec![0.0], DataType::Uint8),
            Some(name) => {
                let z = self.constant(node, 2, "a computed zero point")?;
                (z.data.clone(), self.const_type(name, z))
            }
        };
        let range = match dtype {
            DataType::Uint8 => (0.0, 255.0),
            DataType::Int8 => (-128.0, 127.0),
            DataType::Uint16 => (0.0, 65_535.0),
            DataType::Int16 => (-32_768.0, 32_767.0),
            DataType::Int32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
            other => {
                return Err(unsupported(
                    node,
                    &format!("quantization to {other:?} (int8, uint8, int16, uint16, int32)"),
                ))
            }
        };
        let numel: usize = shape.iter().product();
        let per_element = |v: &[f64], what: &str| -> Result<Vec<f64>> {
            match v.len() {
                0 => Err(invalid(node, format!("an empty {what}"))),
                1 => Ok(vec![v[0]; numel]),
                n => {
                    let axis = dims::axis_index(attr_int(node, "axis").unwrap_or(1), shape.len())
                        .filter(|a| shape[*a] == n)
                        .ok_or_else(|| {
                            invalid(node, format!("{n} values of {what} for a {shape:?} input"))
                        })?;
                    let inner: usize = shape[axis + 1..].iter().product();
                    Ok((0..numel).map(|e| v[e / inner % n]).collect())
                }
            }
        };
        let scale = per_element(&scale, "scale")?;
        if scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(invalid(node, "a scale that is not positive".into()));
        }
        Ok(Quantization {
            scale,
            zero: per_element(&zero, "zero point")?,
            range,
        })
    }

    /// QuantizeLinear of a computed tensor (see the module's doc).
    pub(super) fn quantize_linear(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let quantization = self.quantization(node, &shape)?;
        let per_tensor = quantization.per_tensor();
        let Quantization {
            scale,
            zero,
            range: (lo, hi),
        } = quantization;
        let numel = scale.len();
        let nm = name.clone();
        let scaled = self.step(node, "scaled", shape.clone(), |output| FloatOp::Affine {
            node: nm,
            input: x,
            output,
            scale: scale.iter().map(|s| (1.0 / s) as f32).collect(),
            shift: vec![0.0; numel],
        })?;
        let rounded = self.lookup(node, scaled, Activation::Round, "rounded")?;
        let nm = name.clone();
        let shifted = self.step(node, "shifted", shape.clone(), |output| FloatOp::Affine {
            node: nm,
            input: rounded,
            output,
            scale: vec![1.0; numel],
            shift: zero.iter().map(|z| *z as f32).collect(),
        })?;
        let act = Activation::Clip {
            min: Param::new(lo as f32),
            max: Param::new(hi as f32),
        };
        self.push(node, shape, |output| FloatOp::Activation {
            node: name,
            act,
            input: shifted,
            output,
        })?;
        let output = self.graph.tensors.len() - 1;
        self.quantized.insert(
            output,
            Quantized {
                steps: scaled,
                per_tensor,
                dequantized: None,
            },
        );
        Ok(())
    }

    /// DequantizeLinear of a computed tensor: one affine map (a constant one is folded).
    pub(super) fn dequantize_linear(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let Operand::Var(x) = self.operand(node, 0)? else {
            return Err(unsupported(
                node,
                "a constant input with computed parameters",
            ));
        };
        let shape = self.graph.tensors[x].shape.clone();
        let quantization = self.quantization(node, &shape)?;
        if let Some(per_tensor) = quantization.per_tensor() {
            let out = self.output_name(node)?.to_owned();
            if self
                .fake_quantization(x, per_tensor, &name, Some(&out))
                .is_some()
            {
                return Ok(());
            }
        }
        let Quantization { scale, zero, .. } = quantization;
        self.push(node, shape, |output| FloatOp::Affine {
            node: name,
            input: x,
            output,
            scale: scale.iter().map(|s| *s as f32).collect(),
            shift: scale
                .iter()
                .zip(&zero)
                .map(|(s, z)| (-s * z) as f32)
                .collect(),
        })
    }

    /// `x` dequantized, as a tensor named `out` (else a new name), when `x` is a
    /// QuantizeLinear's output quantized as `quantization` says (one scale and one zero point
    /// for the tensor), or is made of such outputs by rearrangements only (reshapes, and
    /// selections without zeros: transposes, concatenations, tiles; a quantized tensor's
    /// layout ops in the QOperator and TFLite forms). Each QuantizeLinear output becomes one
    /// [`Activation::Dequantize`] of its tensor in steps, placed right after the op that makes
    /// that (so that a linear op there fuses it into its rescale), and the rearrangements are
    /// made again of those (they commute with an element-wise map). The QuantizeLinear's own
    /// ops are then read by nothing else, usually, and go (`graph_folds::prune_dead`); so do
    /// ops made on the way when `x` turns out not to be one.
    fn fake_quantization(
        &mut self,
        x: TensorId,
        quantization: PerTensor,
        node: &str,
        out: Option<&str>,
    ) -> Option<TensorId> {
        let name = out.map_or_else(
            || format!("{}/dequantized", self.graph.tensors[x].name),
            str::to_owned,
        );
        let shape = self.graph.tensors[x].shape.clone();
        if let Some(q) = self.quantized.get(&x) {
            // The QuantizeLinear's parameters are the DequantizeLinear's.
            if q.per_tensor != Some(quantization) {
                return None;
            }
            // One fake quantization per QuantizeLinear: a second DequantizeLinear names it.
            if let Some(d) = q.dequantized {
                if let Some(out) = out {
                    self.ids.insert(out.to_owned(), d);
                }
                return Some(d);
            }
            let PerTensor {
                scale: s,
                zero: z,
                range: (lo, hi),
            } = quantization;
            let steps = q.steps;
            let output = self.add_tensor(&name, shape);
            let at = (self.graph.ops.iter())
                .rposition(|op| op.output() == steps)
                .map_or(0, |i| i + 1);
            let act = Activation::Dequantize {
                step: Param::new(s as f32),
                lo: Param::new((lo - z) as f32),
                hi: Param::new((hi - z) as f32),
                fraction: 0,
            };
            let op = FloatOp::Activation {
                node: node.to_owned(),
                act,
                input: steps,
                output,
            };
            self.graph.ops.insert(at, op);
            if let Some(q) = self.quantized.get_mut(&x) {
                q.dequantized = Some(output);
            }
            return Some(output);
        }
        let op = self
            .graph
            .ops
            .iter()
            .rev()
            .find(|op| op.output() == x)?
            .clone();
        let op = match op {
            FloatOp::Reshape { node, input, .. } => {
                let input = self.fake_quantization(input, quantization, &node, None)?;
                FloatOp::Reshape {
                    node,
                    input,
                    output: self.add_tensor(&name, shape),
                }
            }
            FloatOp::Select {
                node, inputs, map, ..
            } if map.iter().all(Option::is_some) => {
                let inputs = (inputs.into_iter())
                    .map(|t| self.fake_quantization(t, quantization, &node, None))
                    .collect::<Option<Vec<_>>>()?;
                FloatOp::Select {
                    node,
                    inputs,
                    output: self.add_tensor(&name, shape),
                    map,
                }
            }
            _ => return None,
        };
        let output = op.output();
        self.graph.ops.push(op);
        Some(output)
    }
}

/// Where a QLinear op keeps its operands: each quantized operand's value (its scale and zero
/// point the next two inputs), the output's scale (its zero point next), and the float op it
/// computes between them.
struct QLinear {
    float_op: &'static str,
    operands: Vec<usize>,
    output_scale: usize,
}

fn qlinear_layout(node: &NodeProto) -> Option<QLinear> {
    let (float_op, operands, output_scale) = match node.op_type.as_str() {
        "QLinearConv" => ("Conv", vec![0, 3], 6),
        "QLinearMatMul" => ("MatMul", vec![0, 3], 6),
        "QLinearAdd" => ("Add", vec![0, 3], 6),
        "QLinearMul" => ("Mul", vec![0, 3], 6),
        "QLinearSigmoid" => ("Sigmoid", vec![0], 3),
        "QLinearLeakyRelu" => ("LeakyRelu", vec![0], 3),
        "QLinearGlobalAveragePool" => ("GlobalAveragePool", vec![0], 3),
        "QLinearAveragePool" => ("AveragePool", vec![0], 3),
        // Y's scale and zero point first, then a triple per input.
        "QLinearConcat" => ("Concat", (2..node.input.len()).step_by(3).collect(), 0),
        _ => return None,
    };
    Some(QLinear {
        float_op,
        operands,
        output_scale,
    })
}

impl Importer {
    /// A QLinear op (the QOperator form of quantized models: QLinearConv and QLinearMatMul,
    /// and onnxruntime's com.microsoft QLinearAdd, QLinearMul, QLinearSigmoid,
    /// QLinearLeakyRelu, QLinearGlobalAveragePool, QLinearAveragePool and QLinearConcat):
    /// its float op between a DequantizeLinear of each operand and a QuantizeLinear of the
    /// result, imported as those nodes. A DequantizeLinear of the previous op's
    /// QuantizeLinear is then fake quantization (one rescale and a table of levels), and the
    /// weights' DequantizeLinear, of constants, folds. QLinearConv's int32 bias is at the
    /// scale `x_scale · w_scale`.
    pub(super) fn qlinear(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let layout = qlinear_layout(node).ok_or_else(|| unsupported(node, "this QLinear op"))?;
        if attr_int(node, "channels_last").is_some_and(|c| c != 0) {
            return Err(unsupported(node, "channels_last=1"));
        }
        let input = |i: usize| -> Result<&str> {
            node.input
                .get(i)
                .map(String::as_str)
                .ok_or_else(|| invalid(node, format!("no input {i}")))
        };
        let output = self.output_name(node)?.to_owned();
        let mut float_inputs = Vec::new();
        for (k, &i) in layout.operands.iter().enumerate() {
            let dq = format!("{output}/dequantized{k}");
            let mut attrs = Vec::new();
            // Per-channel weights: a convolution's along its output channels, a matrix
            // product's right operand along its columns.
            let scale = self.constant(node, i + 1, "a computed scale")?;
            if scale.data.len() > 1 {
                let rank = match self.operand(node, i)? {
                    Operand::Const(c) => c.shape.len(),
                    Operand::Var(t) => self.graph.tensors[t].shape.len(),
                };
                let axis = match layout.float_op {
                    "MatMul" => rank as i64 - 1,
                    _ => 0,
                };
                attrs.push(int_attr("axis", axis));
            }
            let zero = node.input.get(i + 2).map_or("", String::as_str);
            self.node(&synthetic(
                "DequantizeLinear",
                &name,
                &[input(i)?, input(i + 1)?, zero],
                &dq,
                attrs,
            ))?;
            float_inputs.push(dq);
        }
        if layout.float_op == "Conv" && node.input.get(8).is_some_and(|b| !b.is_empty()) {
            let b = self.constant(node, 8, "a computed bias")?;
            let x_scale = self.constant(node, 1, "a computed scale")?.data.clone();
            let w_scale = self.constant(node, 4, "a computed scale")?.data.clone();
            let data = (b.data.iter().enumerate())
                .map(|(c, v)| v * x_scale[0] * w_scale[c % w_scale.len()])
                .collect();
            let shape = b.shape.clone();
            float_inputs.push(self.synthetic_constant(&format!("{output}/bias"), shape, data));
        }
        let y = format!("{output}/float");
        let inputs: Vec<&str> = float_inputs.iter().map(String::as_str).collect();
        let attrs = node
            .attribute
            .iter()
            .filter(|a| a.name != "channels_last")
            .cloned()
            .collect();
        self.node(&synthetic(layout.float_op, &name, &inputs, &y, attrs))?;
        let s = layout.output_scale;
        let zero = node.input.get(s + 1).map_or("", String::as_str);
        self.node(&synthetic(
            "QuantizeLinear",
            &name,
            &[&y, input(s)?, zero],
            &output,
            vec![],
        ))
    }
}
