//! Gather of a constant table by computed indices: token ids into an embedding, a per-class
//! constant picked by a computed label. The indices become one-hot rows (one is-zero lookup
//! per index and table row, `Importer::class_hits`), and the rows times the table are one
//! dense layer: `out[i, :] = Σ_j [ids_i = j]·table[j, :]`, exact for whole-number indices
//! and zero for an index outside the table.

use super::shape::axis_index;
use super::{attr_int, invalid, unsupported, Importer};
use crate::error::Result;
use crate::model::FloatOp;
use tract_onnx::pb::NodeProto;

impl Importer {
    /// Gather with a constant `data` (input 0) and computed `indices` (input 1), along axis 0.
    pub(super) fn gather_computed(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let table = self
            .constant(node, 0, "computed data and computed indices")?
            .clone();
        let ids = self.var(node, 1)?;
        let axis = axis_index(attr_int(node, "axis").unwrap_or(0), table.shape.len())
            .ok_or_else(|| invalid(node, "axis out of range".into()))?;
        if axis != 0 {
            return Err(unsupported(
                node,
                "computed indices along an axis other than the first",
            ));
        }
        let rows = table.shape[0];
        if rows == 0 {
            return Err(invalid(node, "the table is empty".into()));
        }
        let width: usize = table.shape[1..].iter().product();
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
            weight: table.data.iter().map(|v| *v as f32).collect(),
            bias: vec![0.0; width],
        })?;
        let mut out_shape = id_shape;
        out_shape.extend_from_slice(&table.shape[1..]);
        self.push(node, out_shape, |output| FloatOp::Reshape {
            node: name,
            input: picked,
            output,
        })
    }
}
