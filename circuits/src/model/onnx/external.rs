//! ONNX external data: tensors whose values live in files beside the model (what
//! `torch.onnx.export` writes by default since PyTorch 2.9, and `onnx.save` with
//! `save_as_external_data=True` for any large model). [`inline_external_data`] reads them into
//! the model so everything after import sees one self-contained protobuf.

use super::read_proto;
use crate::error::{CircuitError, Result};
use prost::Message;
use std::collections::HashMap;
use tract_onnx::pb::{self, tensor_proto::DataLocation, TensorProto};

/// Reads an external data file named by its `location` (a path relative to the model's folder,
/// as the ONNX format defines it); the error is one line naming what is wrong.
pub type ExternalReader<'a> = dyn FnMut(&str) -> std::result::Result<Vec<u8>, String> + 'a;

/// Whether tensor `t` keeps its values in an external data file.
pub(super) fn is_external(t: &TensorProto) -> bool {
    t.data_location == Some(DataLocation::External as i32)
}

/// The `location` of an external tensor (empty when the model names none).
pub(super) fn location(t: &TensorProto) -> &str {
    entry(t, "location").unwrap_or("")
}

fn entry<'t>(t: &'t TensorProto, key: &str) -> Option<&'t str> {
    t.external_data
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.value.as_str())
}

/// The model in `bytes` with every tensor kept in external data (initializers, `Constant`
/// values, and those of subgraphs) read through `read` and stored inline; `None` when the model
/// has no external data (its bytes serve as they are), or the bytes are no ONNX model ([`parse`]
/// says why). Each file is read once however many tensors it holds; a tensor's `offset` and
/// `length` must lie inside its file.
///
/// [`parse`]: super::parse
pub fn inline_external_data(
    bytes: &[u8],
    read: &mut ExternalReader<'_>,
) -> Result<Option<Vec<u8>>> {
    let Ok(mut proto) = read_proto(bytes) else {
        return Ok(None);
    };
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    let mut inlined = 0usize;
    if let Some(graph) = proto.graph.as_mut() {
        inline_graph(graph, &mut |t| {
            inline_tensor(t, &mut files, read)?;
            inlined += 1;
            Ok(())
        })?;
    }
    Ok((inlined > 0).then(|| proto.encode_to_vec()))
}

/// Calls `f` on every external tensor of `graph` and of its subgraphs.
fn inline_graph(
    graph: &mut pb::GraphProto,
    f: &mut dyn FnMut(&mut TensorProto) -> Result<()>,
) -> Result<()> {
    for t in graph.initializer.iter_mut().filter(|t| is_external(t)) {
        f(t)?;
    }
    for node in &mut graph.node {
        for attr in &mut node.attribute {
            for t in attr.t.iter_mut().chain(attr.tensors.iter_mut()) {
                if is_external(t) {
                    f(t)?;
                }
            }
            for g in attr.g.iter_mut().chain(attr.graphs.iter_mut()) {
                inline_graph(g, f)?;
            }
        }
    }
    Ok(())
}

fn inline_tensor(
    t: &mut TensorProto,
    files: &mut HashMap<String, Vec<u8>>,
    read: &mut ExternalReader<'_>,
) -> Result<()> {
    let location = location(t).to_owned();
    let bad = |reason: String| CircuitError::InvalidModel {
        node: t.name.clone(),
        reason: format!("its values are in the external data file `{location}`: {reason}"),
    };
    if location.is_empty() {
        return Err(CircuitError::InvalidModel {
            node: t.name.clone(),
            reason: "its values are in external data that names no file (no `location`)".into(),
        });
    }
    let number = |key: &str| -> Result<Option<usize>> {
        entry(t, key)
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| bad(format!("its {key} `{v}` is not a byte count")))
            })
            .transpose()
    };
    let offset = number("offset")?.unwrap_or(0);
    let length = number("length")?;
    if !files.contains_key(&location) {
        let data = read(&location).map_err(&bad)?;
        files.insert(location.clone(), data);
    }
    let file = &files[&location];
    let end = match length {
        Some(n) => offset.checked_add(n),
        None => Some(file.len()),
    };
    let values = end
        .filter(|end| offset <= *end && *end <= file.len())
        .map(|end| &file[offset..end])
        .ok_or_else(|| {
            bad(format!(
                "bytes {offset}..{} are past its end ({} bytes)",
                length.map_or("end".into(), |n| offset.saturating_add(n).to_string()),
                file.len()
            ))
        })?;
    t.raw_data = values.to_vec();
    t.data_location = None;
    t.external_data.clear();
    Ok(())
}
