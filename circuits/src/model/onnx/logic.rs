//! Comparisons, boolean logic, Where, ArgMax and ArgMin on computed tensors. Booleans are the
//! fixed-point values 0 and 1: a comparison is a step (or is-zero) lookup of a difference,
//! `and` a product, `not` (and any logic with a constant side) an affine map; Where is `y + c·(x − y)` (copies when `c` is
//! constant); ArgMax counts the positions before the first maximum with a running product.

use super::dims::broadcast;
use super::elementwise::broadcast_shapes;
use super::{attr_int, invalid, node_name, unsupported, Const, Importer, Operand};
use crate::error::Result;
use crate::model::{Activation, FloatOp, ProductDims, TensorId};
use tract_onnx::pb::NodeProto;

/// An operand broadcast to the result's shape: a computed tensor or constant values.
enum Side {
    Var(TensorId),
    Const(Vec<f32>),
}

impl Importer {
    /// Inputs `idx` of `node` broadcast to one shape: the shape and each side.
    fn sides(&mut self, node: &NodeProto, idx: &[usize]) -> Result<(Vec<usize>, Vec<Side>)> {
        let operands: Vec<(Option<TensorId>, Option<Const>)> = idx
            .iter()
            .map(|i| {
                Ok(match self.operand(node, *i)? {
                    Operand::Var(t) => (Some(t), None),
                    Operand::Const(c) => (None, Some(c.clone())),
                })
            })
            .collect::<Result<_>>()?;
        let mut shape: Vec<usize> = vec![];
        for (t, c) in &operands {
            let s = match (t, c) {
                (Some(t), _) => self.graph.tensors[*t].shape.clone(),
                (_, Some(c)) => c.shape.clone(),
                _ => unreachable!("one of the two"),
            };
            shape = broadcast_shapes(&shape, &s)
                .ok_or_else(|| invalid(node, format!("cannot broadcast {shape:?} with {s:?}")))?;
        }
        let mut sides = Vec::with_capacity(operands.len());
        for (k, (t, c)) in operands.into_iter().enumerate() {
            sides.push(match (t, c) {
                (Some(t), _) => Side::Var(self.broadcast_var(node, t, &shape, &format!("b{k}"))?),
                (_, Some(c)) => Side::Const(
                    broadcast(&c.shape, &c.data, &shape)
                        .ok_or_else(|| invalid(node, "cannot broadcast a constant".into()))?
                        .into_iter()
                        .map(|v| v as f32)
                        .collect(),
                ),
                _ => unreachable!("one of the two"),
            });
        }
        Ok((shape, sides))
    }

    /// `a − b` for two sides of one shape (not both constant).
    fn difference(
        &mut self,
        node: &NodeProto,
        suffix: &str,
        shape: &[usize],
        a: &Side,
        b: &Side,
    ) -> Result<TensorId> {
        let name = node_name(node);
        let shape = shape.to_vec();
        match (a, b) {
            (Side::Var(a), Side::Var(b)) => {
                let (a, b) = (*a, *b);
                self.step(node, suffix, shape, |output| FloatOp::Add {
                    node: name,
                    a,
                    b,
                    output,
                    sub: true,
                })
            }
            (Side::Var(a), Side::Const(c)) => {
                let input = *a;
                let constant = c.iter().map(|v| -v).collect();
                self.step(node, suffix, shape, |output| FloatOp::AddConst {
                    node: name,
                    input,
                    constant,
                    output,
                })
            }
            (Side::Const(c), Side::Var(b)) => {
                self.affine_step(node, suffix, *b, vec![-1.0; c.len()], c.clone())
            }
            (Side::Const(_), Side::Const(_)) => Err(unsupported(node, "two constant operands")),
        }
    }

    /// Greater, Less, GreaterOrEqual, LessOrEqual and Equal: a lookup of the difference.
    pub(super) fn compare(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let (shape, sides) = self.sides(node, &[0, 1])?;
        let (act, flip) = match node.op_type.as_str() {
            "Greater" => (Activation::Step, false),
            "Less" => (Activation::Step, true),
            "GreaterOrEqual" => (Activation::StepInclusive, false),
            "LessOrEqual" => (Activation::StepInclusive, true),
            _ => (Activation::IsZero, false),
        };
        let (a, b) = if flip {
            (&sides[1], &sides[0])
        } else {
            (&sides[0], &sides[1])
        };
        let diff = self.difference(node, "difference", &shape, a, b)?;
        self.push(node, shape, |output| FloatOp::Activation {
            node: name,
            act,
            input: diff,
            output,
        })
    }

    /// Not, And, Or and Xor of computed booleans.
    pub(super) fn logic(&mut self, node: &NodeProto, name: String) -> Result<()> {
        if node.op_type == "Not" {
            let x = self.var(node, 0)?;
            let shape = self.graph.tensors[x].shape.clone();
            let n = shape.iter().product();
            return self.push(node, shape, |output| FloatOp::Affine {
                node: name,
                input: x,
                output,
                scale: vec![-1.0; n],
                shift: vec![1.0; n],
            });
        }
        let (shape, sides) = self.sides(node, &[0, 1])?;
        let (a, b) = match (&sides[0], &sides[1]) {
            (Side::Var(a), Side::Var(b)) => (*a, *b),
            (Side::Var(x), Side::Const(c)) | (Side::Const(c), Side::Var(x)) => {
                // With one constant side each element is x, its negation, or a constant:
                // and = c·x, or = (1 − c)·x + c, xor = (1 − 2c)·x + c.
                let input = *x;
                let c: Vec<f32> = c.iter().map(|v| f32::from(u8::from(*v != 0.0))).collect();
                let (scale, shift) = match node.op_type.as_str() {
                    "And" => (c.clone(), vec![0.0; c.len()]),
                    "Or" => (c.iter().map(|c| 1.0 - c).collect(), c),
                    _ => (c.iter().map(|c| 1.0 - 2.0 * c).collect(), c),
                };
                return self.push(node, shape, |output| FloatOp::Affine {
                    node: name,
                    input,
                    output,
                    scale,
                    shift,
                });
            }
            (Side::Const(_), Side::Const(_)) => {
                return Err(unsupported(node, "two constant operands"))
            }
        };
        let numel = shape.iter().product();
        let n = name.clone();
        let both = self.step(node, "both", shape.clone(), |output| FloatOp::Product {
            node: n,
            a,
            b,
            output,
            dims: ProductDims::elementwise(numel),
        })?;
        if node.op_type == "And" {
            return self.push(node, shape, |output| FloatOp::Reshape {
                node: name,
                input: both,
                output,
            });
        }
        let n = name.clone();
        let sum = self.step(node, "sum", shape.clone(), |output| FloatOp::Add {
            node: n,
            a,
            b,
            output,
            sub: false,
        })?;
        // or = a + b − ab, xor = a + b − 2ab
        let overlap = if node.op_type == "Xor" {
            let n = name.clone();
            self.step(node, "twice", shape.clone(), |output| FloatOp::Add {
                node: n,
                a: both,
                b: both,
                output,
                sub: false,
            })?
        } else {
            both
        };
        self.push(node, shape, |output| FloatOp::Add {
            node: name,
            a: sum,
            b: overlap,
            output,
            sub: true,
        })
    }

    /// Where(c, x, y): copies when `c` is constant, else `y + c·(x − y)`.
    pub(super) fn select_where(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let (shape, sides) = self.sides(node, &[0, 1, 2])?;
        let numel: usize = shape.iter().product();
        let (c, x, y) = (&sides[0], &sides[1], &sides[2]);
        if let Side::Const(cond) = c {
            // Copies of the computed branch, zero elsewhere, plus the constant branch.
            let mut inputs = Vec::new();
            let mut slot = |side: &Side| match side {
                Side::Var(t) => {
                    inputs.push(*t);
                    Some(inputs.len() as u32 - 1)
                }
                Side::Const(_) => None,
            };
            let (sx, sy) = (slot(x), slot(y));
            let map = (0..numel)
                .map(|e| {
                    let pick = if cond[e] != 0.0 { sx } else { sy };
                    pick.map(|k| (k, e as u32))
                })
                .collect();
            let constant: Vec<f32> = (0..numel)
                .map(|e| match (cond[e] != 0.0, x, y) {
                    (true, Side::Const(v), _) | (false, _, Side::Const(v)) => v[e],
                    _ => 0.0,
                })
                .collect();
            if constant.iter().all(|v| *v == 0.0) {
                return self.push(node, shape, |output| FloatOp::Select {
                    node: name,
                    inputs,
                    output,
                    map,
                });
            }
            let picked = self.copies(node, "picked", shape.clone(), inputs, map)?;
            return self.push(node, shape, |output| FloatOp::AddConst {
                node: name,
                input: picked,
                constant,
                output,
            });
        }
        let Side::Var(c) = c else {
            unreachable!("constant handled")
        };
        let c = *c;
        let gate = match (x, y) {
            (Side::Const(a), Side::Const(b)) => {
                // c·(x − y) with constants: an affine map of c.
                let input = c;
                let scale = a.iter().zip(b).map(|(p, q)| p - q).collect();
                let n = name.clone();
                self.step(node, "gated", shape.clone(), |output| FloatOp::Affine {
                    node: n,
                    input,
                    output,
                    scale,
                    shift: vec![0.0; numel],
                })?
            }
            _ => {
                let d = self.difference(node, "difference", &shape, x, y)?;
                let n = name.clone();
                self.step(node, "gated", shape.clone(), |output| FloatOp::Product {
                    node: n,
                    a: c,
                    b: d,
                    output,
                    dims: ProductDims::elementwise(numel),
                })?
            }
        };
        match y {
            Side::Var(y) => {
                let y = *y;
                self.push(node, shape, |output| FloatOp::Add {
                    node: name,
                    a: y,
                    b: gate,
                    output,
                    sub: false,
                })
            }
            Side::Const(v) => {
                let constant = v.clone();
                self.push(node, shape, |output| FloatOp::AddConst {
                    node: name,
                    input: gate,
                    constant,
                    output,
                })
            }
        }
    }

    /// ArgMax and ArgMin over one axis: the positions before the first extreme value (or
    /// after the last, with `select_last_index`), counted by a running product of
    /// "not seen yet" over is-zero lookups of `x − max`.
    pub(super) fn argmax(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let axis = super::dims::axis_index(attr_int(node, "axis").unwrap_or(0), shape.len())
            .ok_or_else(|| invalid(node, "axis out of range".into()))?;
        let last = attr_int(node, "select_last_index").unwrap_or(0) != 0;
        let min = node.op_type == "ArgMin";
        let r = super::reduce::Reduction::new(&shape, &[axis]);
        let out_shape = if attr_int(node, "keepdims").unwrap_or(1) != 0 {
            r.kept.clone()
        } else {
            r.dropped.clone()
        };
        let extreme = self.window_extreme(node, x, &r, min)?;
        let full = shape.clone();
        let spread = self.spread(node, extreme, &r, &full, "extreme_broadcast")?;
        let diff = self.add_step(node, "difference", x, spread, true)?;
        let hit = self.lookup(node, diff, Activation::IsZero, "hit")?;
        let count = r.count;
        let outs = r.windows.len();
        let order: Vec<usize> = if last {
            (0..count).rev().collect()
        } else {
            (0..count).collect()
        };
        let hits = self.positions(node, hit, &r, &order[..count.saturating_sub(1)])?;
        let unseen = self.running_misses(node, &hits, outs)?;
        if unseen.is_empty() {
            // One position: the index is 0 (a zero through a select).
            return self.push(node, out_shape, |output| FloatOp::Select {
                node: name,
                inputs: vec![x],
                output,
                map: vec![None; outs],
            });
        }
        let m = unseen.len();
        let map = (0..m)
            .flat_map(|k| (0..outs).map(move |o| Some((k as u32, o as u32))))
            .collect();
        let stacked = self.copies(node, "unseen", vec![m * outs], unseen, map)?;
        let windows: Vec<Vec<u32>> = (0..outs)
            .map(|o| (0..m).map(|k| (k * outs + o) as u32).collect())
            .collect();
        if !last {
            return self.push(node, out_shape, |output| FloatOp::Sum {
                node: name,
                input: stacked,
                output,
                windows,
            });
        }
        let n = name.clone();
        let after = self.step(node, "after_last", r.kept.clone(), |output| FloatOp::Sum {
            node: n,
            input: stacked,
            output,
            windows,
        })?;
        self.push(node, out_shape, |output| FloatOp::Affine {
            node: name,
            input: after,
            output,
            scale: vec![-1.0; outs],
            shift: vec![(count - 1) as f32; outs],
        })
    }

    /// Hardmax: one at the first maximum along the axis, zero elsewhere (the first hit times
    /// "not seen before").
    pub(super) fn hardmax(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let default = if self.opset >= 13 { -1 } else { 1 };
        let axis = super::dims::axis_index(attr_int(node, "axis").unwrap_or(default), shape.len())
            .ok_or_else(|| invalid(node, "axis out of range".into()))?;
        let axes: Vec<usize> = if self.opset >= 13 {
            vec![axis]
        } else {
            (axis..shape.len()).collect()
        };
        let r = super::reduce::Reduction::new(&shape, &axes);
        let extreme = self.window_extreme(node, x, &r, false)?;
        let spread = self.spread(node, extreme, &r, &shape, "max_broadcast")?;
        let diff = self.add_step(node, "difference", x, spread, true)?;
        let hit = self.lookup(node, diff, Activation::IsZero, "hit")?;
        let outs = r.windows.len();
        let order: Vec<usize> = (0..r.count).collect();
        let hits = self.positions(node, hit, &r, &order)?;
        let unseen = self.running_misses(node, &hits[..hits.len() - 1], outs)?;
        // first_0 = hit_0, first_k = unseen_(k−1) · hit_k
        let mut first = vec![hits[0]];
        for k in 1..hits.len() {
            first.push(self.mul_step(node, &format!("first{k}"), unseen[k - 1], hits[k])?);
        }
        let mut map = vec![None; shape.iter().product()];
        for (o, w) in r.windows.iter().enumerate() {
            for (k, e) in w.iter().enumerate() {
                map[*e as usize] = Some((k as u32, o as u32));
            }
        }
        self.push(node, shape, |output| FloatOp::Select {
            node: name,
            inputs: first,
            output,
            map,
        })
    }

    /// For each listed position along a reduction's windows, the tensor (one value per
    /// window) of `t` at that position.
    pub(super) fn positions(
        &mut self,
        node: &NodeProto,
        t: TensorId,
        r: &super::reduce::Reduction,
        order: &[usize],
    ) -> Result<Vec<TensorId>> {
        order
            .iter()
            .map(|k| {
                let map = r.windows.iter().map(|w| Some((0, w[*k]))).collect();
                self.copies(node, &format!("at{k}"), r.kept.clone(), vec![t], map)
            })
            .collect()
    }

    /// `unseen_k = Π_{j ≤ k} (1 − hit_j)` for booleans `hits` of `len` elements each.
    fn running_misses(
        &mut self,
        node: &NodeProto,
        hits: &[TensorId],
        len: usize,
    ) -> Result<Vec<TensorId>> {
        let mut unseen: Vec<TensorId> = Vec::with_capacity(hits.len());
        for (k, hit) in hits.iter().enumerate() {
            let miss = self.affine_step(
                node,
                &format!("miss{k}"),
                *hit,
                vec![-1.0; len],
                vec![1.0; len],
            )?;
            let next = match unseen.last() {
                None => miss,
                Some(prev) => self.mul_step(node, &format!("unseen{k}"), *prev, miss)?,
            };
            unseen.push(next);
        }
        Ok(unseen)
    }

    /// For each class `j < depth`, a tensor shaped as the computed indices `x` that is 1 where
    /// `x = j` or `x = j − depth` (ONNX's negative indices) and 0 elsewhere: one is-zero lookup
    /// of each difference per element, and their sum. `tag` prefixes the intermediate tensors'
    /// names (a node that takes several sets of hits gives each its own).
    pub(super) fn class_hits(
        &mut self,
        node: &NodeProto,
        name: &str,
        x: TensorId,
        depth: usize,
        tag: &str,
    ) -> Result<Vec<TensorId>> {
        let in_shape = self.graph.tensors[x].shape.clone();
        let n: usize = in_shape.iter().product();
        let mut hits = Vec::with_capacity(depth);
        for j in 0..depth {
            let mut matched = Vec::new();
            for (suffix, target) in [("pos", j as f32), ("neg", j as f32 - depth as f32)] {
                let nm = name.to_owned();
                let diff = self.step(
                    node,
                    &format!("{tag}{suffix}{j}"),
                    in_shape.clone(),
                    |output| FloatOp::AddConst {
                        node: nm,
                        input: x,
                        constant: vec![-target; n],
                        output,
                    },
                )?;
                matched.push(self.lookup(
                    node,
                    diff,
                    Activation::IsZero,
                    &format!("{tag}is{suffix}{j}"),
                )?);
            }
            hits.push(self.add_step(
                node,
                &format!("{tag}hit{j}"),
                matched[0],
                matched[1],
                false,
            )?);
        }
        Ok(hits)
    }

    /// OneHot of computed indices: for each class `j`, an is-zero lookup of `index − j` (and of
    /// `index − j + depth`, ONNX's negative indices), placed along the new axis, then mapped to
    /// the off/on values.
    pub(super) fn one_hot(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let depth = self
            .constant(node, 1, "a computed depth")?
            .data
            .first()
            .copied()
            .filter(|d| *d >= 1.0)
            .ok_or_else(|| invalid(node, "depth must be a positive constant".into()))?
            as usize;
        let values = self
            .constant(node, 2, "computed off/on values")?
            .data
            .clone();
        let [off, on] = values[..] else {
            return Err(invalid(node, "values must be [off, on]".into()));
        };
        let in_shape = self.graph.tensors[x].shape.clone();
        let rank = in_shape.len() + 1;
        let axis = super::dims::axis_index(attr_int(node, "axis").unwrap_or(-1), rank)
            .ok_or_else(|| invalid(node, "axis out of range".into()))?;
        let hits = self.class_hits(node, &name, x, depth, "")?;
        let mut out_shape = in_shape.clone();
        out_shape.insert(axis, depth);
        let (outer, inner) = (
            in_shape[..axis].iter().product::<usize>(),
            in_shape[axis..].iter().product::<usize>(),
        );
        let map = (0..outer * depth * inner)
            .map(|e| {
                let (o, j, i) = (e / (depth * inner), e / inner % depth, e % inner);
                Some((j as u32, (o * inner + i) as u32))
            })
            .collect();
        if off == 0.0 && on == 1.0 {
            return self.push(node, out_shape, |output| FloatOp::Select {
                node: name,
                inputs: hits,
                output,
                map,
            });
        }
        let placed = self.copies(node, "placed", out_shape.clone(), hits, map)?;
        let len = out_shape.iter().product();
        self.push(node, out_shape, |output| FloatOp::Affine {
            node: name,
            input: placed,
            output,
            scale: vec![(on - off) as f32; len],
            shift: vec![off as f32; len],
        })
    }
}

impl Importer {
    /// TopK with a constant K: each element's rank along the axis — how many elements come
    /// before it in the output order (greater ones, and equal ones at a lower index; smaller
    /// ones for `largest = 0`) — from one step lookup per pair, `before_ij = [x_i ≥ x_j]`
    /// for `i < j` (`rank_j` counts it, `rank_i` counts its complement); then output `r` is
    /// the element whose rank is `r` (is-zero lookups of `rank − r`): its value by products,
    /// its index by a weighted sum. Outputs are sorted (what `sorted = 0` also allows).
    pub(super) fn top_k(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let axis = super::dims::axis_index(attr_int(node, "axis").unwrap_or(-1), shape.len())
            .ok_or_else(|| invalid(node, "axis out of range".into()))?;
        let largest = attr_int(node, "largest").unwrap_or(1) != 0;
        let n = shape[axis];
        let k = match self.constant(node, 1, "a computed K")?.data.as_slice() {
            [k] if k.fract() == 0.0 && *k >= 1.0 && *k <= n as f64 => *k as usize,
            other => {
                return Err(invalid(
                    node,
                    format!("K must be one integer in 1..={n}, not {other:?}"),
                ))
            }
        };
        let r = super::reduce::Reduction::new(&shape, &[axis]);
        let outs = r.windows.len();
        let at = self.positions(node, x, &r, &(0..n).collect::<Vec<_>>())?;
        // Pairs i < j in order; before[p] = [x_i ≥ x_j] (largest) or [x_i ≤ x_j].
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .collect();
        let mut before = Vec::with_capacity(pairs.len());
        for (i, j) in &pairs {
            let (a, b) = if largest {
                (at[*i], at[*j])
            } else {
                (at[*j], at[*i])
            };
            let d = self.add_step(node, &format!("d{i}_{j}"), a, b, true)?;
            before.push(self.lookup(node, d, Activation::StepInclusive, &format!("b{i}_{j}"))?);
        }
        let ranks = if pairs.is_empty() {
            // One element per window: rank 0 (a zero through a select).
            self.copies(node, "rank", vec![n * outs], vec![x], vec![None; n * outs])?
        } else {
            let m = pairs.len();
            let map = (0..m)
                .flat_map(|p| (0..outs).map(move |o| Some((p as u32, o as u32))))
                .collect();
            let s = self.copies(node, "before", vec![m * outs], before, map)?;
            let neg =
                self.affine_step(node, "after", s, vec![-1.0; m * outs], vec![0.0; m * outs])?;
            let map = (0..2 * m * outs)
                .map(|e| Some(((e / (m * outs)) as u32, (e % (m * outs)) as u32)))
                .collect();
            let both = self.copies(node, "signed", vec![2 * m * outs], vec![s, neg], map)?;
            // rank_i = Σ_{j<i} before_ji + Σ_{j>i} (1 − before_ij)
            let windows: Vec<Vec<u32>> = (0..n)
                .flat_map(|i| {
                    let pairs = &pairs;
                    (0..outs).map(move |o| {
                        pairs
                            .iter()
                            .enumerate()
                            .filter_map(|(p, (a, b))| {
                                let e = p * outs + o;
                                if *b == i {
                                    Some(e as u32)
                                } else if *a == i {
                                    Some((m * outs + e) as u32)
                                } else {
                                    None
                                }
                            })
                            .collect()
                    })
                })
                .collect();
            let n_ = node_name(node);
            let sums = self.step(node, "later", vec![n * outs], |output| FloatOp::Sum {
                node: n_,
                input: both,
                output,
                windows,
            })?;
            let n_ = node_name(node);
            let constant = (0..n)
                .flat_map(|i| std::iter::repeat_n((n - 1 - i) as f32, outs))
                .collect();
            self.step(node, "rank", vec![n * outs], |output| FloatOp::AddConst {
                node: n_,
                input: sums,
                constant,
                output,
            })?
        };
        let map = (0..n * outs)
            .map(|e| Some(((e / outs) as u32, (e % outs) as u32)))
            .collect();
        let values = self.copies(node, "values", vec![n * outs], at, map)?;
        let by_window: Vec<Vec<u32>> = (0..outs)
            .map(|o| (0..n).map(|i| (i * outs + o) as u32).collect())
            .collect();
        let (mut picked, mut index) = (Vec::with_capacity(k), Vec::with_capacity(k));
        for rr in 0..k {
            let n_ = node_name(node);
            let shifted = self.step(node, &format!("rank-{rr}"), vec![n * outs], |output| {
                FloatOp::AddConst {
                    node: n_,
                    input: ranks,
                    constant: vec![-(rr as f32); n * outs],
                    output,
                }
            })?;
            let is = self.lookup(node, shifted, Activation::IsZero, &format!("is{rr}"))?;
            let v = self.mul_step(node, &format!("v{rr}"), values, is)?;
            let w = self.affine_step(
                node,
                &format!("i{rr}"),
                is,
                (0..n * outs).map(|e| (e / outs) as f32).collect(),
                vec![0.0; n * outs],
            )?;
            for (t, out, what) in [(v, &mut picked, "value"), (w, &mut index, "index")] {
                let n_ = node_name(node);
                let windows = by_window.clone();
                out.push(
                    self.step(node, &format!("{what}{rr}"), r.kept.clone(), |output| {
                        FloatOp::Sum {
                            node: n_,
                            input: t,
                            output,
                            windows,
                        }
                    })?,
                );
            }
        }
        // Output element (…, r, …) is window o's r-th pick.
        let mut out_shape = shape.clone();
        out_shape[axis] = k;
        let map: Vec<Option<(u32, u32)>> = (0..out_shape.iter().product())
            .map(|e| {
                let mut c = super::dims::unravel(e, &out_shape);
                let rr = c[axis];
                c[axis] = 0;
                let o = super::dims::ravel(&c, &r.kept);
                Some((rr as u32, o as u32))
            })
            .collect();
        if let Some(indices) = node.output.get(1).filter(|s| !s.is_empty()) {
            let output = self.add_tensor(indices, out_shape.clone());
            self.graph.ops.push(FloatOp::Select {
                node: name.clone(),
                inputs: index,
                output,
                map: map.clone(),
            });
        }
        self.push(node, out_shape, |output| FloatOp::Select {
            node: name,
            inputs: picked,
            output,
            map,
        })
    }
}

impl Importer {
    /// Cast of computed values to a signed integer type (rounded toward zero, as onnxruntime
    /// casts: a trunc lookup) or to bool (`x ≠ 0`: one minus an is-zero lookup). The values
    /// stay fixed-point numbers in the circuit. Unsigned and other types are refused.
    pub(super) fn cast_computed(&mut self, node: &NodeProto, name: String) -> Result<()> {
        use tract_onnx::pb::tensor_proto::DataType;
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let n: usize = shape.iter().product();
        match DataType::try_from(attr_int(node, "to").unwrap_or(0) as i32) {
            Ok(DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64) => {
                self.push(node, shape, |output| FloatOp::Activation {
                    node: name,
                    act: Activation::Trunc,
                    input: x,
                    output,
                })
            }
            Ok(DataType::Bool) => {
                let zero = self.lookup(node, x, Activation::IsZero, "is_zero")?;
                self.push(node, shape, |output| FloatOp::Affine {
                    node: name,
                    input: zero,
                    output,
                    scale: vec![-1.0; n],
                    shift: vec![1.0; n],
                })
            }
            _ => Err(unsupported(
                node,
                "a cast of computed values to a type other than float, a signed integer or bool",
            )),
        }
    }
}
