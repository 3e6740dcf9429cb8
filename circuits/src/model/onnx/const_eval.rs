//! General constant folding: a node whose inputs are all constants, of an op the folder in
//! `fold` does not evaluate itself (a Gather, ReduceSum, ScatterND or Pow of constants, as
//! every hummingbird-converted tree ensemble has, or any other ONNX op), is run by tract on a
//! one-node model at import time. Its outputs become constants, so a constant subgraph costs
//! nothing in the circuit, whatever the ops in it.

use super::{check_elements, invalid, Const, Importer};
use crate::error::Result;
use std::collections::HashMap;
use tract_onnx::pb::{self, tensor_proto::DataType, NodeProto};
use tract_onnx::prelude::{
    DatumType, Framework, InferenceModelExt, IntoRunnable, IntoTensor, Tensor, TractResult,
};

/// The ONNX element types of constants, by tensor name, where the folder needs more than
/// [`Const::integer`] says (booleans, narrow integers, doubles); absent: int64 or float.
pub(super) type ConstTypes = HashMap<String, DataType>;

/// The comparison and logic ops: their outputs are booleans.
const BOOLEAN_OPS: &[&str] = &[
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "And",
    "Or",
    "Xor",
    "Not",
    "IsNaN",
    "IsInf",
];

impl Importer {
    /// Whether every input `node` names is a constant (and it has at least one): tract can
    /// evaluate it now.
    pub(super) fn all_inputs_constant(&self, node: &NodeProto) -> bool {
        let mut named = node.input.iter().filter(|n| !n.is_empty()).peekable();
        named.peek().is_some() && named.all(|n| self.consts.contains_key(n))
    }

    /// Records the element type of a constant read from the model (an initializer, a
    /// `Constant` node's value).
    pub(super) fn record_proto_type(&mut self, name: &str, data_type: i32) {
        match DataType::try_from(data_type) {
            Ok(t) => self.const_types.insert(name.to_owned(), t),
            Err(_) => self.const_types.remove(name),
        };
    }

    /// The element type of constant `name`.
    pub(super) fn const_type(&self, name: &str, value: &Const) -> DataType {
        self.const_types
            .get(name)
            .copied()
            .unwrap_or(if value.integer {
                DataType::Int64
            } else {
                DataType::Float
            })
    }

    /// Records the element type of the output of `node`, which the folder in `fold`
    /// evaluated: booleans for comparisons and logic, the target of a Cast, else the type of
    /// its first input where that agrees with the value.
    pub(super) fn record_folded_type(&mut self, node: &NodeProto, output: &str, value: &Const) {
        let op = node.op_type.as_str();
        let dtype = if BOOLEAN_OPS.contains(&op) {
            Some(DataType::Bool)
        } else if op == "Cast" {
            DataType::try_from(super::attr_int(node, "to").unwrap_or(0) as i32).ok()
        } else {
            node.input
                .iter()
                .find(|n| !n.is_empty())
                .and_then(|n| self.consts.get(n).map(|c| (n, c)))
                .filter(|(_, c)| c.integer == value.integer)
                .map(|(n, c)| self.const_type(n, c))
        };
        match dtype {
            Some(t) => self.const_types.insert(output.to_owned(), t),
            None => self.const_types.remove(output),
        };
    }

    /// Evaluates `node`, whose inputs are all constants, with tract; its outputs become
    /// constants. A node tract cannot evaluate is refused, naming it and tract's reason.
    pub(super) fn evaluate_constant(&mut self, node: &NodeProto) -> Result<()> {
        let mut initializer = Vec::new();
        for name in node.input.iter().filter(|n| !n.is_empty()) {
            if initializer
                .iter()
                .any(|t: &pb::TensorProto| &t.name == name)
            {
                continue;
            }
            let value = &self.consts[name];
            initializer.push(to_proto(name, value, self.const_type(name, value)));
        }
        let outputs: Vec<&String> = node.output.iter().filter(|n| !n.is_empty()).collect();
        if outputs.is_empty() {
            return Err(invalid(node, "the node has no output".into()));
        }
        let proto = pb::ModelProto {
            ir_version: 8,
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: self.opset,
            }],
            graph: Some(pb::GraphProto {
                name: "constant".into(),
                node: vec![node.clone()],
                initializer,
                output: outputs
                    .iter()
                    .map(|name| pb::ValueInfoProto {
                        name: (*name).clone(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let run = || -> TractResult<Vec<Tensor>> {
            let plan = tract_onnx::onnx()
                .model_for_proto_model(&proto)?
                .into_optimized()?
                .into_runnable()?;
            Ok(plan
                .run(Default::default())?
                .into_iter()
                .map(|t| t.into_tensor())
                .collect())
        };
        // tract panics on some malformed nodes: a panic is a refusal like an error.
        let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
            Ok(Ok(values)) => Ok(values),
            Ok(Err(e)) => Err(format!("{e:#}")),
            Err(_) => Err("tract panicked on it".to_owned()),
        };
        let values = outcome.map_err(|reason| {
            if reason.contains(&format!("Unimplemented({})", node.op_type)) {
                return super::unsupported(
                    node,
                    "on constant operands, and tract cannot evaluate it either",
                );
            }
            invalid(
                node,
                format!(
                    "cannot evaluate this node of constant operands at import: {}",
                    reason.lines().next().unwrap_or("tract refused it")
                ),
            )
        })?;
        for (name, tensor) in outputs.into_iter().zip(values) {
            let (value, dtype) = from_tensor(&tensor)
                .map_err(|reason| invalid(node, format!("output `{name}`: {reason}")))?;
            check_elements(name, &value.shape)?;
            self.const_types.insert(name.clone(), dtype);
            self.consts.insert(name.clone(), value);
        }
        Ok(())
    }
}

/// Constant `value` as an ONNX tensor named `name` of element type `dtype`.
fn to_proto(name: &str, value: &Const, dtype: DataType) -> pb::TensorProto {
    let mut t = pb::TensorProto {
        name: name.to_owned(),
        dims: value.shape.iter().map(|d| *d as i64).collect(),
        data_type: dtype as i32,
        ..Default::default()
    };
    match dtype {
        DataType::Double => t.double_data = value.data.clone(),
        DataType::Int64 => t.int64_data = value.data.iter().map(|v| *v as i64).collect(),
        DataType::Int32 | DataType::Int16 | DataType::Int8 | DataType::Uint8 | DataType::Bool => {
            t.int32_data = value.data.iter().map(|v| *v as i32).collect();
        }
        _ => {
            t.data_type = DataType::Float as i32;
            t.float_data = value.data.iter().map(|v| *v as f32).collect();
        }
    }
    t
}

/// A tract tensor as a constant and its ONNX element type; a type the importer cannot hold
/// (strings, complex numbers) is refused.
fn from_tensor(t: &Tensor) -> std::result::Result<(Const, DataType), String> {
    let (dtype, integer) = match t.datum_type() {
        DatumType::F32 | DatumType::F16 => (DataType::Float, false),
        DatumType::F64 => (DataType::Double, false),
        DatumType::Bool => (DataType::Bool, true),
        DatumType::I8 => (DataType::Int8, true),
        DatumType::U8 => (DataType::Uint8, true),
        DatumType::I32 => (DataType::Int32, true),
        DatumType::I16 | DatumType::U16 | DatumType::U32 | DatumType::I64 | DatumType::U64 => {
            (DataType::Int64, true)
        }
        other => return Err(format!("a constant of type {other:?} is not supported")),
    };
    let wide = if t.datum_type() == DatumType::Bool {
        t.cast_to::<u8>()
            .and_then(|b| b.cast_to::<f64>().map(|c| c.into_owned()))
    } else {
        t.cast_to::<f64>().map(|c| c.into_owned())
    }
    .map_err(|e| format!("cannot read the value: {e}"))?;
    let data: Vec<f64> = wide
        .to_plain_array_view::<f64>()
        .map_err(|e| format!("cannot read the value: {e}"))?
        .iter()
        .copied()
        .collect();
    Ok((
        Const {
            shape: t.shape().to_vec(),
            data,
            integer,
        },
        dtype,
    ))
}
