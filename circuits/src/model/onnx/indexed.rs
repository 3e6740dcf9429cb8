//! Gather, GatherElements and GatherND by computed indices: token ids into an embedding, a per-class
//! constant picked by a computed label, values picked by an arg-max. The indices become one-hot
//! rows (one is-zero lookup per index and candidate, `Importer::class_hits`), and the output is
//! the sum of the candidates weighted by them: exact for whole-number indices (negative ones
//! count from the end, as in ONNX) and zero for an index outside the axis.
//!
//! - A constant table along axis 0 (an embedding): the one-hot rows times the table are one
//!   dense layer, `out[i, :] = Σ_j [ids_i = j]·table[j, :]`.
//! - Any other constant data: per output element, its candidates scaled by the hits, summed.
//! - Computed data: per output element, one dot product of its hits with its candidates.

use super::dims::{axis_index, ravel, unravel};
use super::{attr_int, invalid, unsupported, Importer, Operand};
use crate::error::Result;
use crate::model::{FloatOp, ProductDims, TensorId};
use tract_onnx::pb::NodeProto;

/// Which update a scatter's output element takes in a slot: the hit tensor and the update's
/// element, or none.
type Target = dyn Fn(usize, usize) -> Option<(u32, u32)>;

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
        if node.op_type == "GatherND" {
            return self.gather_nd_computed(node, &name, ids, id_shape, shape, data);
        }
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

    /// GatherND (batch dims 0) by computed index tuples: one set of hits per component of the
    /// tuples, and for every candidate slice the product of its components' hits (one product
    /// per component after the first).
    fn gather_nd_computed(
        &mut self,
        node: &NodeProto,
        name: &str,
        ids: TensorId,
        id_shape: Vec<usize>,
        shape: Vec<usize>,
        data: Data,
    ) -> Result<()> {
        if attr_int(node, "batch_dims").unwrap_or(0) != 0 {
            return Err(unsupported(node, "batch_dims other than 0"));
        }
        let q = tuple_len(node, &id_shape, shape.len())?;
        let lead = &id_shape[..id_shape.len() - 1];
        let tuples: usize = lead.iter().product();
        let (axes, rest) = (&shape[..q], &shape[q..]);
        let n_rest: usize = rest.iter().product();
        let hits = self.tuple_hits(node, name, ids, tuples, axes)?;
        let out_shape = [lead, rest].concat();
        let index_of = |o: usize| o / n_rest;
        let source = |o: usize, c: usize| c * n_rest + o % n_rest;
        self.pick_with_hits(node, name, hits, out_shape, index_of, source, data)
    }

    /// The hits of GatherND/ScatterND index tuples `ids` (`[.., q]`) into `axes`: for every
    /// candidate position (row-major over `axes`), a tensor over the tuples that is 1 where the
    /// tuple names it (the product of its components' hits).
    fn tuple_hits(
        &mut self,
        node: &NodeProto,
        name: &str,
        ids: TensorId,
        tuples: usize,
        axes: &[usize],
    ) -> Result<Vec<TensorId>> {
        let q = axes.len();
        let mut per_axis = Vec::with_capacity(q);
        for (k, &d) in axes.iter().enumerate() {
            let map = (0..tuples).map(|t| Some((0, (t * q + k) as u32))).collect();
            let component =
                self.copies(node, &format!("index{k}"), vec![tuples], vec![ids], map)?;
            per_axis.push(self.class_hits(node, name, component, d, &format!("c{k}"))?);
        }
        let candidates: usize = axes.iter().product();
        let mut hits = Vec::with_capacity(candidates);
        for c in 0..candidates {
            let at = unravel(c, axes);
            let mut joint = per_axis[0][at[0]];
            for k in 1..q {
                joint = self.mul_step(node, &format!("joint{c}_{k}"), joint, per_axis[k][at[k]])?;
            }
            hits.push(joint);
        }
        Ok(hits)
    }

    /// ScatterElements and ScatterND (no reduction) by computed indices:
    /// `out[p] = Σ_u [u targets p]·updates[u] + (1 − Σ_u [u targets p])·data[p]`, exact when
    /// no two indices target the same element (ONNX leaves that case undefined). Constant data
    /// or updates become computed tensors first (one row per element).
    pub(super) fn scatter_computed(&mut self, node: &NodeProto, name: String) -> Result<()> {
        if super::attr_string(node, "reduction").is_some_and(|r| r != "none") {
            return Err(unsupported(node, "a scatter with a reduction"));
        }
        let ids = self.var(node, 1)?;
        let data = self.as_computed(node, 0, ids)?;
        let updates = self.as_computed(node, 2, ids)?;
        let shape = self.graph.tensors[data].shape.clone();
        let id_shape = self.graph.tensors[ids].shape.clone();
        let upd_shape = self.graph.tensors[updates].shape.clone();
        let n: usize = shape.iter().product();
        // (hits, the candidates per output, which hit and which update each one is)
        let (hits, slots, target): (Vec<TensorId>, usize, Box<Target>) =
            if node.op_type == "ScatterElements" {
                let axis = axis_index(attr_int(node, "axis").unwrap_or(0), shape.len())
                    .ok_or_else(|| invalid(node, "axis out of range".into()))?;
                if id_shape != upd_shape
                    || id_shape.len() != shape.len()
                    || (0..shape.len()).any(|k| k != axis && id_shape[k] > shape[k])
                {
                    return Err(invalid(node, "indices, updates and data disagree".into()));
                }
                let hits = self.class_hits(node, &name, ids, shape[axis], "")?;
                let (shape, id_shape) = (shape.clone(), id_shape.clone());
                let slots = id_shape[axis];
                // Output p, slot i: the update at p with its axis coordinate i, if there is one.
                let target = move |p: usize, i: usize| -> Option<(u32, u32)> {
                    let mut at = unravel(p, &shape);
                    let j = at[axis];
                    at[axis] = i;
                    let inside = at.iter().zip(&id_shape).all(|(a, d)| a < d);
                    inside.then(|| (j as u32, ravel(&at, &id_shape) as u32))
                };
                (hits, slots, Box::new(target))
            } else {
                let q = tuple_len(node, &id_shape, shape.len())?;
                let lead = &id_shape[..id_shape.len() - 1];
                let want = [lead, &shape[q..]].concat();
                if upd_shape != want {
                    return Err(invalid(
                        node,
                        format!("updates {upd_shape:?}, expected {want:?}"),
                    ));
                }
                let tuples: usize = lead.iter().product();
                let hits = self.tuple_hits(node, &name, ids, tuples, &shape[..q])?;
                let n_rest: usize = shape[q..].iter().product();
                // Output p, slot t: tuple t's update at p's place in the slice, if t targets it.
                let target = move |p: usize, t: usize| -> Option<(u32, u32)> {
                    Some(((p / n_rest) as u32, (t * n_rest + p % n_rest) as u32))
                };
                (hits, tuples, Box::new(target))
            };
        // The hit of each slot (the update's cell is the hit's element for ScatterElements, the
        // tuple for ScatterND).
        let hit_of = |p: usize, i: usize| -> Option<(u32, u32)> {
            let (h, u) = target(p, i)?;
            Some(match node.op_type.as_str() {
                "ScatterElements" => (h, u),
                _ => (h, i as u32),
            })
        };
        let map = (0..n * slots)
            .map(|e| hit_of(e / slots, e % slots))
            .collect();
        let targeted = self.copies(node, "targeted", vec![n, slots], hits.clone(), map)?;
        let nm = name.clone();
        let windows = (0..n)
            .map(|p| ((p * slots) as u32..((p + 1) * slots) as u32).collect())
            .collect();
        let written = self.step(node, "written", shape.clone(), |output| FloatOp::Sum {
            node: nm.clone(),
            input: targeted,
            output,
            windows,
        })?;
        let kept = self.step(node, "kept", shape.clone(), |output| FloatOp::Affine {
            node: nm,
            input: written,
            output,
            scale: vec![-1.0; n],
            shift: vec![1.0; n],
        })?;
        let kept_at = hits.len() as u32;
        let mut all_hits = hits;
        all_hits.push(kept);
        self.weighted_pick(
            node,
            &name,
            (all_hits, vec![updates, data], slots + 1),
            shape,
            |p, i| {
                if i == slots {
                    Some((kept_at, p as u32))
                } else {
                    hit_of(p, i)
                }
            },
            |p, i| {
                if i == slots {
                    Some((1, p as u32))
                } else {
                    target(p, i).map(|(_, u)| (0, u))
                }
            },
        )
    }

    /// Operand `i` of `node` as a computed tensor: itself, or a constant added to zeros (copies
    /// of nothing, shaped like it) so that it can be picked from.
    fn as_computed(&mut self, node: &NodeProto, i: usize, like: TensorId) -> Result<TensorId> {
        let c = match self.operand(node, i)? {
            Operand::Var(t) => return Ok(t),
            Operand::Const(c) => c.clone(),
        };
        let n = c.data.len();
        let zeros = self.copies(
            node,
            &format!("zeros{i}"),
            c.shape.clone(),
            vec![like],
            vec![None; n],
        )?;
        let nm = super::node_name(node);
        self.step(node, &format!("constant{i}"), c.shape.clone(), |output| {
            FloatOp::AddConst {
                node: nm,
                input: zeros,
                constant: c.data.iter().map(|v| *v as f32).collect(),
                output,
            }
        })
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
        let hits = self.class_hits(node, name, ids, depth, "")?;
        self.pick_with_hits(node, name, hits, out_shape, index_of, source, data)
    }

    /// `out[o] = Σ_j hits[j][index_of(o)]·data[source(o, j)]`: the candidates weighted by
    /// one-hot rows (one tensor per candidate `j`, each 0 or 1).
    #[allow(clippy::too_many_arguments)]
    fn pick_with_hits(
        &mut self,
        node: &NodeProto,
        name: &str,
        hits: Vec<TensorId>,
        out_shape: Vec<usize>,
        index_of: impl Fn(usize) -> usize,
        source: impl Fn(usize, usize) -> usize,
        data: Data,
    ) -> Result<()> {
        let depth = hits.len();
        let hit_at = |o: usize, j: usize| Some((j as u32, index_of(o) as u32));
        let values = match data {
            Data::Computed(t) => {
                let candidate = |o: usize, j: usize| Some((0, source(o, j) as u32));
                return self.weighted_pick(
                    node,
                    name,
                    (hits, vec![t], depth),
                    out_shape,
                    hit_at,
                    candidate,
                );
            }
            Data::Constant(values) => values,
        };
        let n: usize = out_shape.iter().product();
        let map = (0..n * depth)
            .map(|e| hit_at(e / depth, e % depth))
            .collect();
        let one_hot = self.copies(node, "one_hot", vec![n, depth], hits, map)?;
        let scale = (0..n * depth)
            .map(|e| values[source(e / depth, e % depth)] as f32)
            .collect();
        let nm = name.to_owned();
        let weighted = self.step(node, "weighted", vec![n, depth], |output| FloatOp::Affine {
            node: nm.clone(),
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

    /// `out[o] = Σ_j hit(o, j)·candidate(o, j)` over `depth` slots, `hit_at` and `candidate`
    /// naming cells of `hits` and `sources` (none: a zero): one dot product per output.
    fn weighted_pick(
        &mut self,
        node: &NodeProto,
        name: &str,
        (hits, sources, depth): (Vec<TensorId>, Vec<TensorId>, usize),
        out_shape: Vec<usize>,
        hit_at: impl Fn(usize, usize) -> Option<(u32, u32)>,
        candidate: impl Fn(usize, usize) -> Option<(u32, u32)>,
    ) -> Result<()> {
        let n: usize = out_shape.iter().product();
        let map = (0..n * depth)
            .map(|e| hit_at(e / depth, e % depth))
            .collect();
        let one_hot = self.copies(node, "one_hot", vec![n, depth], hits, map)?;
        let map = (0..n * depth)
            .map(|e| candidate(e / depth, e % depth))
            .collect();
        let candidates = self.copies(node, "candidates", vec![n, depth], sources, map)?;
        let nm = name.to_owned();
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
        let hits = self.class_hits(node, &name, ids, rows, "")?;
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

/// The length of GatherND/ScatterND index tuples (the last axis of the indices), checked to
/// name at least one and at most every axis of data of rank `rank`.
fn tuple_len(node: &NodeProto, id_shape: &[usize], rank: usize) -> Result<usize> {
    let q = id_shape.last().copied().unwrap_or(0);
    if q == 0 || q > rank {
        return Err(invalid(
            node,
            format!("index tuples of length {q} into data of rank {rank}"),
        ));
    }
    Ok(q)
}
