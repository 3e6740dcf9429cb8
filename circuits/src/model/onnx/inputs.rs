//! The model's declared inputs: their static shapes (a symbolic dimension is the batch, 1)
//! and element types (floats, integers, booleans).

use super::checked_shape;
use crate::error::{CircuitError, Result};
use crate::model::InputType;
use tract_onnx::pb::{self, tensor_proto::DataType, type_proto};

/// The element type of a model input: floats, or the integer and boolean types an input
/// file gives as whole numbers.
fn input_type(name: &str, elem_type: i32) -> Result<InputType> {
    Ok(match DataType::try_from(elem_type) {
        Ok(DataType::Float | DataType::Double | DataType::Float16 | DataType::Bfloat16) => {
            InputType::Float
        }
        Ok(DataType::Bool) => InputType::Bool,
        Ok(DataType::Int8) => InputType::Int {
            bits: 8,
            signed: true,
        },
        Ok(DataType::Uint8) => InputType::Int {
            bits: 8,
            signed: false,
        },
        Ok(DataType::Int16) => InputType::Int {
            bits: 16,
            signed: true,
        },
        Ok(DataType::Uint16) => InputType::Int {
            bits: 16,
            signed: false,
        },
        Ok(DataType::Int32) => InputType::Int {
            bits: 32,
            signed: true,
        },
        Ok(DataType::Uint32) => InputType::Int {
            bits: 32,
            signed: false,
        },
        Ok(DataType::Int64) => InputType::Int {
            bits: 64,
            signed: true,
        },
        Ok(DataType::Uint64) => InputType::Int {
            bits: 64,
            signed: false,
        },
        other => {
            return Err(CircuitError::InvalidModel {
                node: name.to_owned(),
                reason: format!(
                    "model inputs of type {} are not supported (floats, integers and booleans are)",
                    other.map_or_else(|_| elem_type.to_string(), |t| format!("{t:?}"))
                ),
            })
        }
    })
}

pub(super) fn value_info_shape(info: &pb::ValueInfoProto) -> Result<(Vec<usize>, InputType)> {
    let bad = |reason: &str| CircuitError::InvalidModel {
        node: info.name.clone(),
        reason: reason.into(),
    };
    let Some(type_proto::Value::TensorType(tensor)) =
        info.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(bad("the input is not a tensor"));
    };
    let dtype = input_type(&info.name, tensor.elem_type)?;
    let shape = tensor
        .shape
        .as_ref()
        .ok_or_else(|| bad("the input has no shape"))?;
    let dims: Vec<i64> = shape
        .dim
        .iter()
        .map(|d| match d.value {
            Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) => v,
            // A symbolic or unknown dimension is the batch: we prove one sample at a time.
            _ => 1,
        })
        .collect();
    Ok((checked_shape(&info.name, &dims, false)?, dtype))
}
