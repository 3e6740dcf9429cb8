//! Reading an ONNX node's attributes: integers, lists, strings and floats by name, and the
//! pads an `auto_pad` sets.

use super::{invalid, unsupported};
use crate::error::Result;
use tract_onnx::pb::NodeProto;

pub(super) fn attr_int(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

pub(super) fn attr_ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.ints.clone())
}

pub(super) fn attr_string(node: &NodeProto, name: &str) -> Option<String> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

/// The pads of a forward window op (Conv, pooling) set by its `auto_pad`: `None` for NOTSET
/// (the `pads` attribute holds them), zeros for VALID, and ONNX's SAME split otherwise: the
/// output is ⌈input / stride⌉ and SAME_UPPER puts the odd unit of padding at the end.
pub(super) fn auto_pads(
    node: &NodeProto,
    spatial: &[usize],
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
) -> Result<Option<Vec<usize>>> {
    let mode = attr_string(node, "auto_pad").unwrap_or_else(|| "NOTSET".into());
    let d = spatial.len();
    if mode == "NOTSET" {
        return Ok(None);
    }
    if mode == "VALID" {
        return Ok(Some(vec![0; 2 * d]));
    }
    if mode != "SAME_UPPER" && mode != "SAME_LOWER" {
        return Err(unsupported(node, &format!("auto_pad={mode}")));
    }
    if [kernel.len(), strides.len(), dilations.len()] != [d; 3] || strides.contains(&0) {
        return Err(invalid(
            node,
            "kernel, strides and dilations do not match the input rank".into(),
        ));
    }
    let mut pads = vec![0; 2 * d];
    for a in 0..d {
        let out = spatial[a].div_ceil(strides[a]);
        let span = dilations[a] * kernel[a].saturating_sub(1) + 1;
        let total = ((out.max(1) - 1) * strides[a] + span).saturating_sub(spatial[a]);
        let (start, end) = if mode == "SAME_UPPER" {
            (total / 2, total - total / 2)
        } else {
            (total - total / 2, total / 2)
        };
        pads[a] = start;
        pads[d + a] = end;
    }
    Ok(Some(pads))
}

pub(super) fn attr_float(node: &NodeProto, name: &str) -> Option<f64> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| f64::from(a.f))
}
