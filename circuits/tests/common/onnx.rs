//! ONNX models written by tests: value infos, constants, attributes and graphs, as bytes a
//! user's exporter would write.

use prost::Message;
use tract_onnx::pb;

/// A float tensor's value info of static shape `dims`.
pub(crate) fn info(name: &str, dims: &[usize]) -> pb::ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| pb::tensor_shape_proto::Dimension {
            value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(
                *d as i64,
            )),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A float constant.
pub(crate) fn constant(name: &str, dims: &[usize], values: Vec<f32>) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.iter().map(|d| *d as i64).collect(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: values,
        ..Default::default()
    }
}

/// An int64 constant.
pub(crate) fn int_constant(name: &str, values: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: vec![values.len() as i64],
        data_type: pb::tensor_proto::DataType::Int64 as i32,
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

/// An `ints` attribute.
pub(crate) fn ints(name: &str, v: &[usize]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: v.iter().map(|x| *x as i64).collect(),
        ..Default::default()
    }
}

/// An `int` attribute.
pub(crate) fn int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

/// A node of `op` reading `inputs` and writing `output`.
pub(crate) fn node(
    op: &str,
    inputs: &[&str],
    output: &str,
    attribute: Vec<pb::AttributeProto>,
) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| (*s).to_owned()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

/// A `float` attribute.
pub(crate) fn float(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Float as i32,
        f: v,
        ..Default::default()
    }
}

/// A model (opset 13) of `nodes` with float `inputs` and `outputs` (name, shape), as bytes.
pub(crate) fn model(
    nodes: Vec<pb::NodeProto>,
    inputs: &[(&str, &[usize])],
    outputs: &[(&str, &[usize])],
    initializer: Vec<pb::TensorProto>,
) -> Vec<u8> {
    model_at(13, nodes, inputs, outputs, initializer)
}

/// [`model`] at another opset (an older exporter's).
pub(crate) fn model_at(
    opset: i64,
    nodes: Vec<pb::NodeProto>,
    inputs: &[(&str, &[usize])],
    outputs: &[(&str, &[usize])],
    initializer: Vec<pb::TensorProto>,
) -> Vec<u8> {
    pb::ModelProto {
        ir_version: if opset < 7 { 3 } else { 8 },
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(pb::GraphProto {
            name: "random".into(),
            node: nodes,
            input: inputs.iter().map(|(n, d)| info(n, d)).collect(),
            output: outputs.iter().map(|(n, d)| info(n, d)).collect(),
            initializer,
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Multiples of 1/16 in [-1, 1) from seeds.
pub(crate) fn dyadic(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s % 32) as f32 - 16.0) / 16.0
        })
        .collect()
}
