//! Gather and GatherElements by computed indices: token ids into an embedding, a per-class
//! constant picked by a computed label, values picked by an arg-max. The indices become one-hot
//! rows (one is-zero lookup per index and candidate, `Importer::class_hits`), and the output is
//! the sum of the candidates weighted by them: exact for whole-number indices (negative ones
//! count from the end, as in ONNX) and zero for an index outside the axis.
//!
//! - A constant table along axis 0 (an embedding): the one-hot rows times the table are one
//!   dense layer, `out[i, :] = Σ_j [ids_i = j]·table[j, :]`.
//! - Any other constant data: per output element, its candidates scaled by the hits, summed.
//! - Computed data: per output element, one dot product of its hits with its candidates.

use super::shape::{axis_index, ravel, unravel};
use super::{attr_int, invalid, Importer, Operand};
use crate::error::Result;
use crate::model::{FloatOp, ProductDims, TensorId};
use tract_onnx::pb::NodeProto;

/// Where the candidates of a pick come from.
enum Data {
    Computed(TensorId),
    Constant(Vec<f64>),
}

impl Importer {
    /// Gather (input 0 the data, input 1 computed indices) or GatherElements.
    pub(super) fn gather_computed(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let ids = self.var(node, 1)?;
        let (data, shape) = match self.operand(node, 0)? {
            Operand::Var(t) => (Data::Computed(t), self.graph.tensors[t].shape.clone()),
            Operand::Const(c) => (Data::Constant(c.data.clone()), c.shape.clone()),
        };
        let rank = shape.len();
        let axis = axis_index(attr_int(node, "axis").unwrap_or(0), rank)
            .ok_or_else(|| invalid(node, "axis out of range".into()))?;
        let depth = shape[axis];
        if depth == 0 {
            return Err(invalid(node, "the data is empty along the axis".into()));
        }
        let id_shape = self.graph.tensors[ids].shape.clone();
        if node.op_type == "GatherElements" {
            if id_shape.len() != rank || (0..rank).any(|k| k != axis && id_shape[k] > shape[k]) {
                return Err(invalid(
                    node,
                    format!("indices {id_shape:?} do not fit data {shape:?} along axis {axis}"),
                ));
            }
            // Output element o (shaped as the indices) picks data[o with axis -> j].
            let source = |o: usize, j: usize| {
                let mut at = unravel(o, &id_shape);
                at[axis] = j;
                ravel(&at, &shape)
            };
            return self.pick_by_index(
                node,
                &name,
                ids,
                depth,
                id_shape.clone(),
                |o| o,
                source,
                data,
            );
        }
        if let (Data::Constant(table), 0) = (&data, axis) {
            return self.embedding(node, name, ids, table.clone(), &shape);
        }
        // Gather: output (pre, i, post) picks data[pre, j, post] by index i.
        let (pre, post) = (&shape[..axis], &shape[axis + 1..]);
        let out_shape = [pre, &id_shape[..], post].concat();
        let (n_idx, n_post) = (
            id_shape.iter().product::<usize>(),
            post.iter().product::<usize>(),
        );
        let index_of = |o: usize| o / n_post % n_idx;
        let source = |o: usize, j: usize| {
            let (p, q) = (o / (n_idx * n_post), o % n_post);
            (p * depth + j) * n_post + q
        };
        self.pick_by_index(node, &name, ids, depth, out_shape, index_of, source, data)
    }

    /// `out[o] = Σ_j [ids[index_of(o)] = j]·data[source(o, j)]` over the `j` of the axis.
    #[allow(clippy::too_many_arguments)]
    fn pick_by_index(
        &mut self,
        node: &NodeProto,
        name: &str,
        ids: TensorId,
        depth: usize,
        out_shape: Vec<usize>,
        index_of: impl Fn(usize) -> usize,
        source: impl Fn(usize, usize) -> usize,
        data: Data,
    ) -> Result<()> {
        let n: usize = out_shape.iter().product();
        let hits = self.class_hits(node, name, ids, depth)?;
        let map = (0..n * depth)
            .map(|e| Some(((e % depth) as u32, index_of(e / depth) as u32)))
            .collect();
        let one_hot = self.copies(node, "one_hot", vec![n, depth], hits, map)?;
        let nm = name.to_owned();
        match data {
            Data::Computed(t) => {
                let map = (0..n * depth)
                    .map(|e| Some((0, source(e / depth, e % depth) as u32)))
                    .collect();
                let candidates = self.copies(node, "candidates", vec![n, depth], vec![t], map)?;
                self.push(node, out_shape, |output| FloatOp::Product {
                    node: nm,
                    a: one_hot,
                    b: candidates,
                    output,
                    dims: ProductDims {
                        batch: n,
                        m: 1,
                        k: depth,
                        n: 1,
                    },
                })
            }
            Data::Constant(values) => {
                let scale = (0..n * depth)
                    .map(|e| values[source(e / depth, e % depth)] as f32)
                    .collect();
                let nm2 = nm.clone();
                let weighted =
                    self.step(node, "weighted", vec![n, depth], |output| FloatOp::Affine {
                        node: nm2,
                        input: one_hot,
                        output,
                        scale,
                        shift: vec![0.0; n * depth],
                    })?;
                let windows = (0..n)
                    .map(|o| ((o * depth) as u32..((o + 1) * depth) as u32).collect())
                    .collect();
                self.push(node, out_shape, |output| FloatOp::Sum {
                    node: nm,
                    input: weighted,
                    output,
                    windows,
                })
            }
        }
    }

    /// Gather of a constant table along axis 0: one-hot rows times the table, one dense layer.
    fn embedding(
        &mut self,
        node: &NodeProto,
        name: String,
        ids: TensorId,
        table: Vec<f64>,
        shape: &[usize],
    ) -> Result<()> {
        let rows = shape[0];
        let width: usize = shape[1..].iter().product();
        let id_shape = self.graph.tensors[ids].shape.clone();
        let n: usize = id_shape.iter().product();
        let hits = self.class_hits(node, &name, ids, rows)?;
        // `[n, rows]`: element (i, j) is hit j of index i.
        let map = (0..n * rows)
            .map(|e| Some(((e % rows) as u32, (e / rows) as u32)))
            .collect();
        let one_hot = self.copies(node, "one_hot", vec![n, rows], hits, map)?;
        let nm = name.clone();
        let picked = self.step(node, "rows", vec![n, width], |output| FloatOp::Dense {
            node: nm,
            input: one_hot,
            output,
            n_in: rows,
            n_out: width,
            weight: table.iter().map(|v| *v as f32).collect(),
            bias: vec![0.0; width],
        })?;
        let mut out_shape = id_shape;
        out_shape.extend_from_slice(&shape[1..]);
        self.push(node, out_shape, |output| FloatOp::Reshape {
            node: name,
            input: picked,
            output,
        })
    }
}
