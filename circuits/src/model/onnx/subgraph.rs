//! Ops that hold graphs of their own, imported by inlining them: `Scan` and `Loop` unrolled
//! (a fixed count of iterations, each body imported as ordinary nodes), and `If` (the branch a
//! constant condition picks, or both branches and a `Where` of their outputs).
//!
//! ```text
//! Scan iteration i:  body(states, scan inputs sliced at i) → new states, this step's outputs
//!                    slices: Gather(scan input, index i, axis) (folded for a constant input)
//! Loop iteration i:  body(i, cond, states) → cond, new states, this step's outputs
//!                    (M a constant; cond constant at each step: false ends the loop)
//! outputs:           final states; each scan output the steps' outputs Unsqueezed and
//!                    Concatenated along its axis (Scan's direction 1 reverses them)
//! If:                cond constant: the branch it names; computed: both, then Where(cond, …)
//! ```
//!
//! skl2onnx writes its nearest-neighbours models as a Scan (the distance from the input to
//! each training row, one iteration per row). A body's own names are made unique per
//! iteration or branch (`{output}/{i}/{name}`); names it reads from the enclosing graph stay as
//! they are. A body holding graphs of its own (a nested Scan, Loop or If) is refused.

use super::ml::{int_attr, synthetic};
use super::{attr_int, attr_ints, invalid, node_name, unsupported, Const, Importer, Operand};
use crate::error::Result;
use std::collections::{BTreeSet, HashMap, HashSet};
use tract_onnx::pb::{self, GraphProto, NodeProto};

/// The most iterations unrolled: each copies the body's ops into the circuit.
const MAX_ITERATIONS: usize = 65_536;

/// A graph attribute of `node` (`body`, `then_branch`, `else_branch`), checked to hold no
/// graphs of its own.
fn graph<'a>(node: &'a NodeProto, name: &str) -> Result<&'a GraphProto> {
    let g = node
        .attribute
        .iter()
        .find(|a| a.name == name)
        .and_then(|a| a.g.as_ref())
        .ok_or_else(|| invalid(node, format!("no `{name}` graph")))?;
    if g.node
        .iter()
        .any(|b| b.attribute.iter().any(|a| a.g.is_some()))
    {
        return Err(unsupported(node, "a subgraph holding subgraphs of its own"));
    }
    Ok(g)
}

fn scalar(v: f64) -> Const {
    Const {
        shape: vec![],
        data: vec![v],
        integer: true,
    }
}

/// The names a graph reads from the graph around it: its nodes' inputs (and, recursively,
/// their subgraphs' reads) that none of its nodes, inputs or initializers defines.
fn outer_reads(g: &GraphProto) -> Vec<String> {
    let mut defined: HashSet<&str> = (g.input.iter().map(|i| i.name.as_str()))
        .chain(g.initializer.iter().map(|i| i.name.as_str()))
        .collect();
    let mut reads = Vec::new();
    for n in &g.node {
        let nested = n
            .attribute
            .iter()
            .filter_map(|a| a.g.as_ref())
            .flat_map(outer_reads);
        for name in n.input.iter().cloned().chain(nested) {
            if !name.is_empty() && !defined.contains(name.as_str()) {
                reads.push(name);
            }
        }
        defined.extend(n.output.iter().map(String::as_str));
    }
    reads
}

/// `nodes` in an order where each comes after the nodes making what it reads, its subgraphs'
/// reads of the enclosing graph included (ONNX orders nodes by their explicit inputs only,
/// and onnxruntime's quantizer, re-sorting a graph so, puts a Loop before the node making a
/// value its body reads): the given order wherever it already is one (the earliest ready node
/// first).
pub(super) fn in_dependency_order(nodes: &[NodeProto]) -> Vec<&NodeProto> {
    let maker: HashMap<&str, usize> = (nodes.iter().enumerate())
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect();
    let mut waiting = vec![0usize; nodes.len()];
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        let nested = n
            .attribute
            .iter()
            .filter_map(|a| a.g.as_ref())
            .flat_map(outer_reads);
        let needs: HashSet<usize> = (n.input.iter().cloned().chain(nested))
            .filter_map(|name| maker.get(name.as_str()).copied())
            .filter(|m| *m != i)
            .collect();
        waiting[i] = needs.len();
        for m in needs {
            readers[m].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..nodes.len()).filter(|i| waiting[*i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_first() {
        order.push(&nodes[i]);
        for &r in &readers[i] {
            waiting[r] -= 1;
            if waiting[r] == 0 {
                ready.insert(r);
            }
        }
    }
    // A cycle: the rest as given (their import names what is never defined).
    if order.len() < nodes.len() {
        let placed: HashSet<*const NodeProto> = order.iter().map(|n| *n as *const _).collect();
        order.extend(nodes.iter().filter(|n| !placed.contains(&(*n as *const _))));
    }
    order
}

impl Importer {
    /// `body`'s initializers, imported once under `prefix`: the outer name of each.
    fn body_constants(
        &mut self,
        body: &GraphProto,
        prefix: &str,
    ) -> Result<HashMap<String, String>> {
        let mut names = HashMap::new();
        for init in &body.initializer {
            let name = format!("{prefix}/{}", init.name);
            let value = super::tensor_from_proto(init, &name)?;
            self.record_proto_type(&name, init.data_type);
            self.consts.insert(name.clone(), value);
            names.insert(init.name.clone(), name);
        }
        Ok(names)
    }

    /// Imports `body`'s nodes, each name it defines made `{prefix}/{name}`; `names` maps the
    /// body's inputs and initializers to the outer names they take (names the body reads from
    /// the enclosing graph stay). Returns the outer names of the body's outputs.
    fn inline(
        &mut self,
        body: &GraphProto,
        prefix: &str,
        mut names: HashMap<String, String>,
    ) -> Result<Vec<String>> {
        for b in &body.node {
            let mut step = b.clone();
            step.input = (b.input.iter())
                .map(|v| names.get(v).cloned().unwrap_or_else(|| v.clone()))
                .collect();
            for out in &b.output {
                names.insert(out.clone(), format!("{prefix}/{out}"));
            }
            step.output = b.output.iter().map(|v| names[v].clone()).collect();
            step.name = format!("{prefix}/{}", node_name(b));
            self.node(&step)?;
        }
        Ok((body.output.iter())
            .map(|v| {
                names
                    .get(&v.name)
                    .cloned()
                    .unwrap_or_else(|| v.name.clone())
            })
            .collect())
    }

    /// The outputs of a Scan or Loop: the final `states` under the node's first outputs, and
    /// each scan output's steps (`steps[j]`, in order) Unsqueezed and Concatenated along
    /// `axes[j]` under the rest.
    fn stack_outputs(
        &mut self,
        node: &NodeProto,
        states: Vec<String>,
        steps: Vec<Vec<String>>,
        axes: &[i64],
    ) -> Result<()> {
        let name = node_name(node);
        for (state, out) in states.iter().zip(&node.output) {
            self.node(&synthetic("Identity", &name, &[state], out, vec![]))?;
        }
        let outputs = &node.output[states.len()..];
        for (j, (outs, out)) in steps.into_iter().zip(outputs).enumerate() {
            // Each step's output gains the scan axis, and the steps are stacked along it.
            let mut parts = Vec::with_capacity(outs.len());
            for (i, o) in outs.iter().enumerate() {
                let part = format!("{out}/{i}/step");
                let axes = pb::AttributeProto {
                    name: "axes".into(),
                    r#type: pb::attribute_proto::AttributeType::Ints as i32,
                    ints: vec![axes[j]],
                    ..Default::default()
                };
                self.node(&synthetic("Unsqueeze", &name, &[o], &part, vec![axes]))?;
                parts.push(part);
            }
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            let axis = int_attr("axis", axes[j]);
            self.node(&synthetic("Concat", &name, &parts, out, vec![axis]))?;
        }
        Ok(())
    }

    /// `Scan` (opset ≥ 9), unrolled over the scan inputs' length.
    pub(super) fn scan(&mut self, node: &NodeProto) -> Result<()> {
        let body = graph(node, "body")?;
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

        // The scan inputs' axes and the iteration count they agree on.
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

        let name = node_name(node);
        let scan = node.output.first().cloned().unwrap_or_default();
        let shared = self.body_constants(body, &format!("{scan}/body"))?;
        let mut states: Vec<String> = node.input[..n].to_vec();
        let mut steps: Vec<Vec<String>> = vec![Vec::with_capacity(count); k];
        for i in 0..count {
            let prefix = format!("{scan}/{i}");
            let mut names = shared.clone();
            for (s, input) in states.iter().zip(&body.input) {
                names.insert(input.name.clone(), s.clone());
            }
            for (j, input) in body.input[n..].iter().enumerate() {
                let at = if in_dirs[j] == 1 { count - 1 - i } else { i };
                let index = format!("{prefix}/{}/index", input.name);
                self.consts.insert(index.clone(), scalar(at as f64));
                let slice = format!("{prefix}/{}", input.name);
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
            let outs = self.inline(body, &prefix, names)?;
            states = outs[..n].to_vec();
            for (j, out) in outs[n..].iter().enumerate() {
                steps[j].push(out.clone());
            }
        }
        for (j, outs) in steps.iter_mut().enumerate() {
            if out_dirs[j] == 1 {
                outs.reverse();
            }
        }
        self.stack_outputs(node, states, steps, &out_axes)
    }

    /// `Loop` with a constant trip count `M` (or none, where the condition ends it) and a
    /// condition that is a constant at every iteration (the body's own cond output folded, as
    /// exporters write a `for` loop): unrolled; a condition computed from the data is refused.
    pub(super) fn loop_op(&mut self, node: &NodeProto) -> Result<()> {
        let body = graph(node, "body")?;
        let optional = |i: usize| node.input.get(i).filter(|s| !s.is_empty());
        let trips = match optional(0) {
            None => None,
            Some(_) => match self.operand(node, 0)? {
                Operand::Const(c) => Some(c.data.first().copied().unwrap_or(0.0).max(0.0) as usize),
                Operand::Var(_) => return Err(unsupported(node, "a computed trip count M")),
            },
        };
        let n = node.input.len().saturating_sub(2);
        if body.input.len() != n + 2 || body.output.len() < n + 1 || node.output.len() < n {
            return Err(invalid(
                node,
                format!(
                    "the body takes {} inputs and gives {} outputs for {n} loop-carried values",
                    body.input.len(),
                    body.output.len()
                ),
            ));
        }
        let k = body.output.len() - 1 - n;
        let out = node.output.first().cloned().unwrap_or_default();
        let mut cond = match optional(1) {
            Some(c) => c.clone(),
            None => {
                let always = format!("{out}/cond");
                self.consts.insert(always.clone(), scalar(1.0));
                always
            }
        };
        let shared = self.body_constants(body, &format!("{out}/body"))?;
        let mut states: Vec<String> = node.input[2..].to_vec();
        let mut steps: Vec<Vec<String>> = vec![Vec::new(); k];
        let mut i = 0;
        loop {
            if trips.is_some_and(|m| i >= m) {
                break;
            }
            let going = match self.consts.get(&cond) {
                Some(c) => c.data.first().is_some_and(|v| *v != 0.0),
                None => return Err(unsupported(node, "a loop condition computed from the data")),
            };
            if !going {
                break;
            }
            if i >= MAX_ITERATIONS {
                return Err(unsupported(
                    node,
                    &format!("more than {MAX_ITERATIONS} iterations (they are unrolled)"),
                ));
            }
            let prefix = format!("{out}/{i}");
            let mut names = shared.clone();
            let iteration = format!("{prefix}/iteration");
            self.consts.insert(iteration.clone(), scalar(i as f64));
            names.insert(body.input[0].name.clone(), iteration);
            names.insert(body.input[1].name.clone(), cond.clone());
            for (s, input) in states.iter().zip(&body.input[2..]) {
                names.insert(input.name.clone(), s.clone());
            }
            let outs = self.inline(body, &prefix, names)?;
            cond = outs[0].clone();
            states = outs[1..=n].to_vec();
            for (j, o) in outs[n + 1..].iter().enumerate() {
                steps[j].push(o.clone());
            }
            i += 1;
        }
        if i == 0 && k > 0 {
            return Err(unsupported(
                node,
                "a loop that runs no iteration, with scan outputs",
            ));
        }
        self.stack_outputs(node, states, steps, &vec![0; k])
    }

    /// `If`: the branch a constant condition names, imported in the node's place; with a
    /// computed condition both branches, each output a `Where` of theirs.
    pub(super) fn if_op(&mut self, node: &NodeProto) -> Result<()> {
        let (then, other) = (graph(node, "then_branch")?, graph(node, "else_branch")?);
        let name = node_name(node);
        let out = node.output.first().cloned().unwrap_or_default();
        if then.output.len() != node.output.len() || other.output.len() != node.output.len() {
            return Err(invalid(
                node,
                "branches whose outputs differ from the node's".into(),
            ));
        }
        let cond = node.input.first().cloned().unwrap_or_default();
        let known = match self.operand(node, 0)? {
            Operand::Const(c) => Some(c.data.first().is_some_and(|v| *v != 0.0)),
            Operand::Var(_) => None,
        };
        let import = |importer: &mut Self, g: &GraphProto, tag: &str| -> Result<Vec<String>> {
            let prefix = format!("{out}/{tag}");
            let names = importer.body_constants(g, &prefix)?;
            importer.inline(g, &prefix, names)
        };
        if let Some(taken) = known {
            let outs = import(self, if taken { then } else { other }, "branch")?;
            for (o, to) in outs.iter().zip(&node.output) {
                self.node(&synthetic("Identity", &name, &[o], to, vec![]))?;
            }
            return Ok(());
        }
        let yes = import(self, then, "then")?;
        let no = import(self, other, "else")?;
        for ((y, n), to) in yes.iter().zip(&no).zip(&node.output) {
            self.node(&synthetic("Where", &name, &[&cond, y, n], to, vec![]))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
        synthetic(op, output, inputs, output, vec![])
    }

    fn names(order: &[&NodeProto]) -> Vec<String> {
        order.iter().map(|n| n.output[0].clone()).collect()
    }

    #[test]
    fn a_node_whose_subgraph_reads_a_later_value_moves_after_its_maker_and_nothing_else_moves() {
        // `b` reads nothing explicitly, but its branch reads `v`, made after it.
        let branch = GraphProto {
            node: vec![node("Neg", &["v"], "inner")],
            output: vec![pb::ValueInfoProto {
                name: "inner".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut b = node("If", &["c"], "b");
        b.attribute.push(pb::AttributeProto {
            name: "then_branch".into(),
            g: Some(branch),
            ..Default::default()
        });
        let nodes = vec![
            node("Relu", &["x"], "a"),
            b,
            node("Abs", &["a"], "v"),
            node("Add", &["b", "v"], "y"),
        ];
        assert_eq!(names(&in_dependency_order(&nodes)), ["a", "v", "b", "y"]);
        // Already in order: as given (the earliest ready node first, not any topological order).
        let sorted = vec![
            node("Relu", &["x"], "p"),
            node("Abs", &["x"], "q"),
            node("Add", &["q", "p"], "r"),
        ];
        assert_eq!(names(&in_dependency_order(&sorted)), ["p", "q", "r"]);
        // A cycle keeps the rest in place, for the import to name what is undefined.
        let cycle = vec![node("Neg", &["t"], "s"), node("Neg", &["s"], "t")];
        assert_eq!(names(&in_dependency_order(&cycle)), ["s", "t"]);
    }
}
