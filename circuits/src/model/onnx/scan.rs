//! `Scan` (opset ≥ 9), unrolled: a loop of a fixed count (the scan inputs' length along their
//! scan axis, known once the input shape is), so each iteration's body is imported as ordinary
//! nodes. skl2onnx writes its nearest-neighbours models this way (the distance from the input
//! to each training row, one iteration per row):
//!
//! ```text
//! iteration i:  body(states, scan inputs sliced at i)  →  new states, this step's outputs
//! slices:       Gather(scan input, index i, axis)         (folded where the input is constant)
//! outputs:      final states; each scan output the steps' outputs Unsqueezed and Concatenated
//!               along its scan output axis (reversed for direction 1)
//! ```
//!
//! A body's own names are made unique per iteration (`{scan}/{i}/{name}`); its initializers
//! are imported once; names it reads from the enclosing graph stay as they are.

use super::ml::{int_attr, synthetic};
use super::{attr_int, attr_ints, invalid, node_name, unsupported, Const, Importer, Operand};
use crate::error::Result;
use std::collections::HashMap;
use tract_onnx::pb::{self, NodeProto};

/// The most iterations unrolled: each copies the body's ops into the circuit.
const MAX_ITERATIONS: usize = 65_536;

impl Importer {
    pub(super) fn scan(&mut self, node: &NodeProto) -> Result<()> {
        let name = node_name(node);
        let body = node
            .attribute
            .iter()
            .find(|a| a.name == "body")
            .and_then(|a| a.g.as_ref())
            .ok_or_else(|| invalid(node, "a Scan without a body graph".into()))?;
        if self.opset < 9 {
            return Err(unsupported(
                node,
                "the opset-8 form (a sequence_lens input)",
            ));
        }
        let m = attr_int(node, "num_scan_inputs")
            .filter(|m| *m >= 1)
            .ok_or_else(|| invalid(node, "num_scan_inputs must be at least 1".into()))?
            as usize;
        let n = node
            .input
            .len()
            .checked_sub(m)
            .ok_or_else(|| invalid(node, format!("{m} scan inputs but fewer inputs")))?;
        let k = node.output.len().saturating_sub(n);
        if body.input.len() != n + m || body.output.len() != n + k || node.output.len() < n {
            return Err(invalid(
                node,
                format!(
                    "the body takes {} inputs and gives {} outputs, the node {} and {}",
                    body.input.len(),
                    body.output.len(),
                    n + m,
                    node.output.len()
                ),
            ));
        }
        if body
            .node
            .iter()
            .any(|b| b.attribute.iter().any(|a| a.g.is_some()))
        {
            return Err(unsupported(node, "a Scan body with subgraphs of its own"));
        }
        let per = |attr: &str, count: usize| -> Result<Vec<i64>> {
            let v = attr_ints(node, attr).unwrap_or_else(|| vec![0; count]);
            if v.len() == count {
                Ok(v)
            } else {
                Err(invalid(
                    node,
                    format!("{attr} has {} entries, not {count}", v.len()),
                ))
            }
        };
        let (in_axes, in_dirs) = (per("scan_input_axes", m)?, per("scan_input_directions", m)?);
        let (out_axes, out_dirs) = (
            per("scan_output_axes", k)?,
            per("scan_output_directions", k)?,
        );

        // The scan inputs' shapes and the iteration count they agree on.
        let mut axes = Vec::with_capacity(m);
        let mut count = None;
        for (j, &axis) in in_axes.iter().enumerate() {
            let shape = match self.operand(node, n + j)? {
                Operand::Var(id) => self.graph.tensors[id].shape.clone(),
                Operand::Const(c) => c.shape.clone(),
            };
            let a = super::dims::normalize_axis(axis, shape.len())
                .ok_or_else(|| invalid(node, format!("scan axis {axis} of a {shape:?} input")))?;
            if count.is_some_and(|c| c != shape[a]) {
                return Err(invalid(node, "scan inputs of different lengths".into()));
            }
            count = Some(shape[a]);
            axes.push(a);
        }
        let count = count.unwrap_or(0);
        if count == 0 || count > MAX_ITERATIONS {
            return Err(unsupported(
                node,
                &format!("{count} iterations (1 to {MAX_ITERATIONS} are unrolled)"),
            ));
        }

        let scan = node.output.first().cloned().unwrap_or_default();
        let own = |i: usize, name: &str| format!("{scan}/{i}/{name}");
        // The body's constants, once for every iteration.
        let mut shared: HashMap<String, String> = HashMap::new();
        for init in &body.initializer {
            let name = format!("{scan}/body/{}", init.name);
            let value = super::tensor_from_proto(init, &name)?;
            self.record_proto_type(&name, init.data_type);
            self.consts.insert(name.clone(), value);
            shared.insert(init.name.clone(), name);
        }
        let mut states: Vec<String> = node.input[..n].to_vec();
        let mut steps: Vec<Vec<String>> = vec![Vec::with_capacity(count); k];
        for i in 0..count {
            let mut names = shared.clone();
            for (s, input) in states.iter().zip(&body.input) {
                names.insert(input.name.clone(), s.clone());
            }
            for (j, input) in body.input[n..].iter().enumerate() {
                let at = if in_dirs[j] == 1 { count - 1 - i } else { i };
                let index = own(i, &format!("{}/index", input.name));
                self.consts.insert(
                    index.clone(),
                    Const {
                        shape: vec![],
                        data: vec![at as f64],
                        integer: true,
                    },
                );
                let slice = own(i, &input.name);
                let axis = int_attr("axis", axes[j] as i64);
                let source = &node.input[n + j];
                self.node(&synthetic(
                    "Gather",
                    &name,
                    &[source, &index],
                    &slice,
                    vec![axis],
                ))?;
                names.insert(input.name.clone(), slice);
            }
            for b in &body.node {
                for out in &b.output {
                    names.insert(out.clone(), own(i, out));
                }
                let rename = |v: &String| names.get(v).cloned().unwrap_or_else(|| v.clone());
                let mut step = b.clone();
                step.name = own(i, &b.name);
                step.input = b.input.iter().map(rename).collect();
                step.output = b.output.iter().map(rename).collect();
                self.node(&step)?;
            }
            let result = |v: &pb::ValueInfoProto| {
                names
                    .get(&v.name)
                    .cloned()
                    .unwrap_or_else(|| v.name.clone())
            };
            states = body.output[..n].iter().map(result).collect();
            for (j, out) in body.output[n..].iter().enumerate() {
                steps[j].push(result(out));
            }
        }
        for (state, out) in states.into_iter().zip(&node.output) {
            self.node(&synthetic("Identity", &name, &[&state], out, vec![]))?;
        }
        for (j, mut outs) in steps.into_iter().enumerate() {
            if out_dirs[j] == 1 {
                outs.reverse();
            }
            // Each step's output gains the scan axis, and the steps are stacked along it.
            let mut parts = Vec::with_capacity(count);
            for (i, o) in outs.into_iter().enumerate() {
                let part = own(i, &format!("scan_output{j}"));
                let axes = pb::AttributeProto {
                    name: "axes".into(),
                    r#type: pb::attribute_proto::AttributeType::Ints as i32,
                    ints: vec![out_axes[j]],
                    ..Default::default()
                };
                self.node(&synthetic("Unsqueeze", &name, &[&o], &part, vec![axes]))?;
                parts.push(part);
            }
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            let axis = int_attr("axis", out_axes[j]);
            self.node(&synthetic(
                "Concat",
                &name,
                &parts,
                &node.output[n + j],
                vec![axis],
            ))?;
        }
        Ok(())
    }
}
