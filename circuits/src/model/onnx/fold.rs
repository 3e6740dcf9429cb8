//! Constant folding: nodes whose inputs are all constants (or only the static shape of a
//! computed tensor: `Shape`, `Size`) are evaluated at import time, so the shape arithmetic
//! exporters emit (Shape → Gather → Unsqueeze → Concat → Reshape, ConstantOfShape, Range) costs
//! nothing in the circuit. Whatever this folder does not evaluate itself, tract does
//! (`const_eval`).

use super::dims::{axis_index, broadcast, unravel};
use super::elementwise::broadcast_shapes;
use super::{attr_int, attr_ints, invalid, Const, Importer, Operand};
use crate::error::Result;
use tract_onnx::pb::NodeProto;

/// The ops the folder evaluates.
const FOLDABLE: &[&str] = &[
    "Shape",
    "Size",
    "ConstantOfShape",
    "Range",
    "Cast",
    "Identity",
    "Unsqueeze",
    "Squeeze",
    "Reshape",
    "Concat",
    "Gather",
    "Slice",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Neg",
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "And",
    "Or",
    "Xor",
    "Where",
    "Not",
    "Min",
    "Max",
    "Floor",
    "Ceil",
    "Sqrt",
    "Expand",
    "IsNaN",
    "IsInf",
];

fn int_scalar(v: usize) -> Const {
    Const {
        shape: vec![],
        data: vec![v as f64],
        integer: true,
    }
}

impl Importer {
    /// Evaluates `node` if it can be folded: its value, or `None` when it computes on
    /// computed values.
    pub(super) fn fold(&self, node: &NodeProto) -> Result<Option<Const>> {
        let op = node.op_type.as_str();
        if !FOLDABLE.contains(&op) {
            return Ok(None);
        }
        let inputs: Vec<Option<Operand<'_>>> = node
            .input
            .iter()
            .enumerate()
            .map(|(i, name)| {
                if name.is_empty() {
                    Ok(None)
                } else {
                    self.operand(node, i).map(Some)
                }
            })
            .collect::<Result<_>>()?;
        // A fixed-point value is never NaN nor infinite: IsNaN and IsInf of a computed tensor
        // are all false (attention masks test a softmax for the NaN of a fully masked row).
        if let (Some(Some(Operand::Var(t))), "IsNaN" | "IsInf") = (inputs.first(), op) {
            let shape = self.graph.tensors[*t].shape.clone();
            let n = shape.iter().product();
            return Ok(Some(Const {
                shape,
                data: vec![0.0; n],
                integer: true,
            }));
        }
        // Shape and Size read only the static shape of their operand.
        if let (Some(Some(first)), "Shape" | "Size") = (inputs.first(), op) {
            let shape = match first {
                Operand::Var(t) => self.graph.tensors[*t].shape.clone(),
                Operand::Const(c) => c.shape.clone(),
            };
            let dims: Vec<f64> = shape.iter().map(|d| *d as f64).collect();
            if op == "Size" {
                return Ok(Some(int_scalar(shape.iter().product())));
            }
            let rank = dims.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
            let start = clamp(attr_int(node, "start").unwrap_or(0));
            let end = clamp(attr_int(node, "end").unwrap_or(rank));
            let dims = dims[start..end.max(start)].to_vec();
            return Ok(Some(Const {
                shape: vec![dims.len()],
                data: dims,
                integer: true,
            }));
        }
        let mut consts = Vec::with_capacity(inputs.len());
        for input in &inputs {
            match input {
                Some(Operand::Const(c)) => consts.push(Some((*c).clone())),
                Some(Operand::Var(_)) => return Ok(None),
                None => consts.push(None),
            }
        }
        let c = |i: usize| -> Result<&Const> {
            consts
                .get(i)
                .and_then(Option::as_ref)
                .ok_or_else(|| invalid(node, format!("missing input #{i}")))
        };
        let ints = |k: &Const| -> Vec<i64> { k.data.iter().map(|v| *v as i64).collect() };
        let value = match op {
            "ConstantOfShape" => {
                let shape = super::checked_shape(self.output_name(node)?, &ints(c(0)?), true)?;
                let fill = node
                    .attribute
                    .iter()
                    .find(|a| a.name == "value")
                    .and_then(|a| a.t.as_ref())
                    .map(|t| super::tensor_from_proto(t, &node.name))
                    .transpose()?;
                let (value, integer) = fill.map_or((0.0, false), |t| {
                    (t.data.first().copied().unwrap_or(0.0), t.integer)
                });
                Const {
                    data: vec![value; shape.iter().product()],
                    shape,
                    integer,
                }
            }
            "Range" => {
                let scalar = |i: usize| -> Result<f64> {
                    c(i)?.data.first().copied().ok_or_else(|| {
                        invalid(node, format!("input #{i} of Range is empty, not a scalar"))
                    })
                };
                let (start, limit, delta) = (scalar(0)?, scalar(1)?, scalar(2)?);
                if delta == 0.0 {
                    return Err(invalid(node, "range with step 0".into()));
                }
                let n = ((limit - start) / delta).ceil().max(0.0);
                super::checked_shape(
                    self.output_name(node)?,
                    &[n.min(i64::MAX as f64) as i64],
                    true,
                )?;
                let n = n as usize;
                let data: Vec<f64> = (0..n).map(|i| start + i as f64 * delta).collect();
                Const {
                    shape: vec![data.len()],
                    data,
                    integer: c(0)?.integer,
                }
            }
            "Identity" => c(0)?.clone(),
            "Cast" => {
                use tract_onnx::pb::tensor_proto::DataType;
                let x = c(0)?;
                let to = DataType::try_from(attr_int(node, "to").unwrap_or(0) as i32);
                match to {
                    Ok(DataType::Float | DataType::Double | DataType::Float16) => Const {
                        integer: false,
                        ..x.clone()
                    },
                    Ok(DataType::Bool) => Const {
                        data: x.data.iter().map(|v| f64::from(*v != 0.0)).collect(),
                        integer: true,
                        ..x.clone()
                    },
                    _ => Const {
                        data: x.data.iter().map(|v| v.trunc()).collect(),
                        integer: true,
                        ..x.clone()
                    },
                }
            }
            "Unsqueeze" | "Squeeze" | "Reshape" => {
                let from = c(0)?;
                let axes: Vec<i64> = match consts.get(1).and_then(Option::as_ref) {
                    Some(k) => ints(k),
                    None => attr_ints(node, "axes").unwrap_or_default(),
                };
                let shape = match op {
                    "Unsqueeze" => super::dims::unsqueeze(&from.shape, &axes),
                    "Squeeze" => super::dims::squeeze(&from.shape, &axes),
                    _ => super::dims::reshape_target(&from.shape, &axes),
                }
                .ok_or_else(|| invalid(node, format!("bad shape {axes:?} for {:?}", from.shape)))?;
                Const {
                    shape,
                    data: from.data.clone(),
                    integer: from.integer,
                }
            }
            "Concat" => {
                let parts: Vec<&Const> = consts.iter().flatten().collect();
                let rank = parts.first().map_or(0, |p| p.shape.len());
                let axis = axis_index(attr_int(node, "axis").unwrap_or(0), rank)
                    .ok_or_else(|| invalid(node, "axis out of range".into()))?;
                let outer: usize = parts[0].shape[..axis].iter().product();
                let mut shape = parts[0].shape.clone();
                shape[axis] = parts.iter().map(|p| p.shape[axis]).sum();
                let mut data = Vec::new();
                for o in 0..outer {
                    for p in &parts {
                        let chunk: usize = p.shape[axis..].iter().product();
                        data.extend_from_slice(&p.data[o * chunk..(o + 1) * chunk]);
                    }
                }
                Const {
                    shape,
                    data,
                    integer: parts.iter().all(|p| p.integer),
                }
            }
            "Gather" => {
                let (data, idx) = (c(0)?, c(1)?);
                let axis = axis_index(attr_int(node, "axis").unwrap_or(0), data.shape.len())
                    .ok_or_else(|| invalid(node, "axis out of range".into()))?;
                let dim = data.shape[axis] as i64;
                let shape = [&data.shape[..axis], &idx.shape[..], &data.shape[axis + 1..]].concat();
                let numel: usize = shape.iter().product();
                let k = idx.shape.len();
                let mut out = Vec::with_capacity(numel);
                for i in 0..numel {
                    let o = unravel(i, &shape);
                    let flat = o[axis..axis + k]
                        .iter()
                        .zip(&idx.shape)
                        .fold(0, |f, (i, d)| f * d + i);
                    let j = idx.data[flat] as i64;
                    let j = if j < 0 { j + dim } else { j };
                    if !(0..dim).contains(&j) {
                        return Err(invalid(node, format!("index {j} out of range")));
                    }
                    let src = [&o[..axis], &[j as usize][..], &o[axis + k..]].concat();
                    let at = src.iter().zip(&data.shape).fold(0, |f, (i, d)| f * d + i);
                    out.push(data.data[at]);
                }
                Const {
                    shape,
                    data: out,
                    integer: data.integer,
                }
            }
            "Slice" => {
                let data = c(0)?;
                if data.shape.len() != 1 {
                    return Ok(None); // tract evaluates it (`const_eval`)
                }
                let (start, end) = (ints(c(1)?)[0], ints(c(2)?)[0]);
                let step = consts
                    .get(4)
                    .and_then(Option::as_ref)
                    .map_or(1, |k| ints(k)[0]);
                if step != 1 {
                    return Ok(None);
                }
                let n = data.data.len() as i64;
                let norm = |v: i64| (if v < 0 { v + n } else { v }).clamp(0, n) as usize;
                let (s, e) = (norm(start), norm(end));
                let out = data.data[s..e.max(s)].to_vec();
                Const {
                    shape: vec![out.len()],
                    data: out,
                    integer: data.integer,
                }
            }
            "Neg" | "Not" | "Floor" | "Ceil" | "Sqrt" => {
                let x = c(0)?;
                let f = |v: f64| match op {
                    "Neg" => -v,
                    "Not" => f64::from(v == 0.0),
                    "Floor" => v.floor(),
                    "Ceil" => v.ceil(),
                    _ => v.sqrt(),
                };
                Const {
                    shape: x.shape.clone(),
                    data: x.data.iter().map(|v| f(*v)).collect(),
                    integer: x.integer || op == "Not",
                }
            }
            "Where" => {
                let (cond, a, b) = (c(0)?, c(1)?, c(2)?);
                let shape = broadcast_shapes(&cond.shape, &a.shape)
                    .and_then(|s| broadcast_shapes(&s, &b.shape))
                    .ok_or_else(|| invalid(node, "operands do not broadcast".into()))?;
                let integer = a.integer && b.integer;
                let expand = |k: &Const| broadcast(&k.shape, &k.data, &shape);
                let (Some(cond), Some(a), Some(b)) = (expand(cond), expand(a), expand(b)) else {
                    return Err(invalid(node, "operands do not broadcast".into()));
                };
                let data = cond
                    .iter()
                    .zip(a.iter().zip(&b))
                    .map(|(c, (x, y))| if *c != 0.0 { *x } else { *y })
                    .collect();
                Const {
                    shape,
                    data,
                    integer,
                }
            }
            "Expand" => {
                let x = c(0)?;
                let target: Vec<usize> = ints(c(1)?).iter().map(|d| *d as usize).collect();
                let shape = broadcast_shapes(&x.shape, &target)
                    .ok_or_else(|| invalid(node, "cannot expand".into()))?;
                let data = broadcast(&x.shape, &x.data, &shape)
                    .ok_or_else(|| invalid(node, "cannot expand".into()))?;
                Const {
                    shape,
                    data,
                    integer: x.integer,
                }
            }
            "IsNaN" | "IsInf" => {
                let x = c(0)?;
                let negative = attr_int(node, "detect_negative").unwrap_or(1) != 0;
                let positive = attr_int(node, "detect_positive").unwrap_or(1) != 0;
                let hit = |v: f64| match op {
                    "IsNaN" => v.is_nan(),
                    _ => v.is_infinite() && if v > 0.0 { positive } else { negative },
                };
                Const {
                    shape: x.shape.clone(),
                    data: x
                        .data
                        .iter()
                        .map(|v| f64::from(u8::from(hit(*v))))
                        .collect(),
                    integer: true,
                }
            }
            _ => {
                // Binary arithmetic and comparisons, broadcast.
                let (a, b) = (c(0)?, c(1)?);
                let shape = broadcast_shapes(&a.shape, &b.shape)
                    .ok_or_else(|| invalid(node, "operands do not broadcast".into()))?;
                let (Some(x), Some(y)) = (
                    broadcast(&a.shape, &a.data, &shape),
                    broadcast(&b.shape, &b.data, &shape),
                ) else {
                    return Err(invalid(node, "operands do not broadcast".into()));
                };
                let integer = a.integer && b.integer;
                let comparison = matches!(
                    op,
                    "Equal"
                        | "Less"
                        | "Greater"
                        | "LessOrEqual"
                        | "GreaterOrEqual"
                        | "And"
                        | "Or"
                        | "Xor"
                );
                let f = |p: f64, q: f64| match op {
                    "Add" => p + q,
                    "Sub" => p - q,
                    "Mul" => p * q,
                    "Div" if integer => (p / q).trunc(),
                    "Div" => p / q,
                    "Equal" => f64::from(p == q),
                    "Less" => f64::from(p < q),
                    "Greater" => f64::from(p > q),
                    "LessOrEqual" => f64::from(p <= q),
                    "GreaterOrEqual" => f64::from(p >= q),
                    "And" => f64::from(p != 0.0 && q != 0.0),
                    "Or" => f64::from(p != 0.0 || q != 0.0),
                    "Xor" => f64::from((p != 0.0) != (q != 0.0)),
                    "Min" => p.min(q),
                    _ => p.max(q),
                };
                Const {
                    shape,
                    data: x.iter().zip(&y).map(|(p, q)| f(*p, *q)).collect(),
                    integer: integer || comparison,
                }
            }
        };
        Ok(Some(value))
    }
}
