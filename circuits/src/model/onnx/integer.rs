//! Integer ops of a computed tensor and a constant: `Mod` (the floor modulus, `fmod = 0`),
//! `BitShift` right and `BitwiseAnd` with a mask of low bits (`2^k − 1`). Each is one floor
//! division or floor modulus by a constant ([`FloatOp::FloorDiv`], `ops/integer.rs`); a
//! negative `Mod` divisor negates before and after. Of two constants they are folded. And
//! `Div` of integers by a constant, which truncates toward zero.

use super::elementwise::broadcast_shapes;
use super::{attr_int, attr_string, invalid, unsupported, Importer, Operand};
use crate::error::Result;
use crate::model::{Activation, FloatOp, ProductDims, TensorId};
use tract_onnx::pb::NodeProto;

impl Importer {
    /// `Mod`, `BitShift` and `BitwiseAnd` of a computed tensor by a constant.
    pub(super) fn integer_op(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let what = match node.op_type.as_str() {
            "Mod" => "a computed divisor",
            "BitShift" => "a computed shift",
            _ => "two computed operands (a constant mask is supported)",
        };
        // BitwiseAnd commutes: the mask may come first.
        let (xi, ci) = match (node.op_type.as_str(), self.operand(node, 0)?) {
            ("BitwiseAnd", Operand::Const(_)) => (1, 0),
            _ => (0, 1),
        };
        let (x, value, shape) = self.by_one_constant(node, xi, ci, what)?;
        let (divisor, remainder) = match node.op_type.as_str() {
            "Mod" => {
                if attr_int(node, "fmod").unwrap_or(0) != 0 {
                    return Err(unsupported(
                        node,
                        "fmod=1 (the remainder with the dividend's sign) of a computed tensor; the floor modulus (fmod=0) is supported",
                    ));
                }
                if value == 0.0 {
                    return Err(invalid(node, "modulus by zero".into()));
                }
                if value < 0.0 {
                    // x mod d = −((−x) mod |d|) for d < 0: the result takes the divisor's sign.
                    return self.negative_mod(node, name, x, shape, -value);
                }
                (value, true)
            }
            "BitShift" => {
                let direction = attr_string(node, "direction").unwrap_or_default();
                if direction != "RIGHT" {
                    return Err(unsupported(
                        node,
                        &format!("direction {direction:?} of a computed tensor (it wraps at the element type's width); RIGHT is supported"),
                    ));
                }
                if value.fract() != 0.0 || !(0.0..=30.0).contains(&value) {
                    return Err(invalid(node, format!("shift {value} is not 0 to 30 bits")));
                }
                (f64::from(1u32 << value as u32), false)
            }
            _ => {
                let modulus = value + 1.0;
                let low_bits = modulus >= 1.0
                    && modulus.fract() == 0.0
                    && modulus <= f64::from(1u32 << 30)
                    && (modulus as u64).is_power_of_two();
                if !low_bits {
                    return Err(unsupported(
                        node,
                        &format!("mask {value} (a mask of low bits, 2^k − 1, is supported)"),
                    ));
                }
                (modulus, true)
            }
        };
        self.push(node, shape, |output| FloatOp::FloorDiv {
            node: name,
            input: x,
            output,
            divisor,
            remainder,
        })
    }

    /// The computed operand `xi` of `node` (broadcast to the result's shape), the one value of
    /// its constant operand `ci` (`what` names a computed one in the refusal), and the
    /// result's shape.
    fn by_one_constant(
        &mut self,
        node: &NodeProto,
        xi: usize,
        ci: usize,
        what: &str,
    ) -> Result<(TensorId, f64, Vec<usize>)> {
        let x = self.var(node, xi)?;
        let c = self.constant(node, ci, what)?;
        let value = match c.data.split_first() {
            Some((first, rest)) if rest.iter().all(|v| v == first) => *first,
            _ => return Err(unsupported(node, "a constant that differs per element")),
        };
        let xs = self.graph.tensors[x].shape.clone();
        let shape = broadcast_shapes(&xs, &c.shape)
            .ok_or_else(|| invalid(node, format!("cannot broadcast {xs:?} with {:?}", c.shape)))?;
        let x = self.broadcast_var(node, x, &shape, "broadcast")?;
        Ok((x, value, shape))
    }

    /// `Div` of integers, a computed dividend by a constant divisor: ONNX's (and
    /// onnxruntime's) integer division truncates toward zero, so it is
    /// `sign(x)·floor(|x| / |d|)`, negated for `d < 0` (an `Abs` and a `Sign` lookup, one
    /// [`FloatOp::FloorDiv`], an elementwise product).
    pub(super) fn integer_div(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let (x, d, shape) = self.by_one_constant(node, 0, 1, "a computed divisor")?;
        if d == 0.0 {
            return Err(invalid(node, "division by zero".into()));
        }
        let numel = shape.iter().product();
        let magnitude = self.lookup(node, x, Activation::Abs, "abs")?;
        let sign = self.lookup(node, x, Activation::Sign, "sign")?;
        let quotient = self.step(node, "quotient", shape.clone(), |output| {
            FloatOp::FloorDiv {
                node: name.clone(),
                input: magnitude,
                output,
                divisor: d.abs(),
                remainder: false,
            }
        })?;
        let product = |node: String, output| FloatOp::Product {
            node,
            a: sign,
            b: quotient,
            output,
            dims: ProductDims::elementwise(numel),
        };
        if d > 0.0 {
            return self.push(node, shape, |output| product(name, output));
        }
        let truncated = self.step(node, "truncated", shape.clone(), |output| {
            product(name.clone(), output)
        })?;
        self.push_negated(node, name, truncated, shape)
    }

    /// `node`'s output: `−x`.
    fn push_negated(
        &mut self,
        node: &NodeProto,
        name: String,
        x: TensorId,
        shape: Vec<usize>,
    ) -> Result<()> {
        let numel = shape.iter().product();
        self.push(node, shape, |output| FloatOp::Affine {
            node: name,
            input: x,
            output,
            scale: vec![-1.0; numel],
            shift: vec![0.0; numel],
        })
    }

    /// `x mod −d = −((−x) mod d)` for `d > 0`.
    fn negative_mod(
        &mut self,
        node: &NodeProto,
        name: String,
        x: TensorId,
        shape: Vec<usize>,
        d: f64,
    ) -> Result<()> {
        let numel = shape.iter().product();
        let neg = self.step(node, "negated", shape.clone(), |output| FloatOp::Affine {
            node: name.clone(),
            input: x,
            output,
            scale: vec![-1.0; numel],
            shift: vec![0.0; numel],
        })?;
        let m = self.step(node, "modulus", shape.clone(), |output| FloatOp::FloorDiv {
            node: name.clone(),
            input: neg,
            output,
            divisor: d,
            remainder: true,
        })?;
        self.push_negated(node, name, m, shape)
    }
}
