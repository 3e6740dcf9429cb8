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

use super::{attr_int, dims, invalid, unsupported, Importer, Operand};
use crate::error::Result;
use crate::model::{Activation, FloatOp, Param, TensorId};
use tract_onnx::pb::{tensor_proto::DataType, NodeProto};

/// Each element's scale and zero point, and the integer type's range (lowest, highest).
#[derive(Clone, Debug, PartialEq)]
struct Quantization {
    scale: Vec<f64>,
    zero: Vec<f64>,
    range: (f64, f64),
}

/// A QuantizeLinear's output: the tensor in steps (`x / s`) it rounded and clipped, and its
/// quantization.
#[derive(Clone, Debug)]
pub(super) struct Quantized {
    steps: TensorId,
    quantization: Quantization,
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
        let Quantization {
            scale,
            zero,
            range: (lo, hi),
        } = self.quantization(node, &shape)?;
        let numel = scale.len();
        let nm = name.clone();
        let quantization = Quantization {
            scale: scale.clone(),
            zero: zero.clone(),
            range: (lo, hi),
        };
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
                quantization,
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
        if let Some(steps) = self.fake_quantization(x, &quantization) {
            return self.dequantize_steps(node, name, steps, shape, &quantization);
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

    /// The tensor in steps behind `x` when `x` is a QuantizeLinear's output quantized as
    /// `quantization` says, per tensor (one scale and one zero point).
    fn fake_quantization(&self, x: TensorId, quantization: &Quantization) -> Option<TensorId> {
        let q = self.quantized.get(&x)?;
        let uniform = |v: &[f64]| v.iter().all(|e| *e == v[0]);
        (q.quantization == *quantization
            && uniform(&quantization.scale)
            && uniform(&quantization.zero))
        .then_some(q.steps)
    }

    /// A DequantizeLinear of a QuantizeLinear's output: one [`Activation::Dequantize`] of
    /// the tensor in steps, placed right after the op that makes it (so that a linear op
    /// there fuses it into its rescale). The QuantizeLinear's own ops are then read by
    /// nothing else, usually, and go (`graph_folds::prune_dead`).
    fn dequantize_steps(
        &mut self,
        node: &NodeProto,
        name: String,
        steps: TensorId,
        shape: Vec<usize>,
        q: &Quantization,
    ) -> Result<()> {
        let (s, z) = (q.scale[0], q.zero[0]);
        let act = Activation::Dequantize {
            step: Param::new(s as f32),
            lo: Param::new((q.range.0 - z) as f32),
            hi: Param::new((q.range.1 - z) as f32),
            fraction: 0,
        };
        self.push(node, shape, |output| FloatOp::Activation {
            node: name,
            act,
            input: steps,
            output,
        })?;
        let at = (self.graph.ops.iter())
            .rposition(|op| op.output() == steps)
            .map_or(0, |i| i + 1);
        let op = self.graph.ops.pop().expect("just pushed");
        self.graph.ops.insert(at, op);
        Ok(())
    }
}
