//! Rearrangements (Transpose, Slice, Concat, Split, Gather, GatherElements, GatherND, ScatterND,
//! ScatterElements, Pad, Expand, Tile, Trilu, nearest Resize: its indices in `resize.rs`): pure
//! copy constraints, and the shape arithmetic of the importer.

use super::dims::{axis_index, ravel, unravel};
use super::{
    attr_float, attr_int, attr_ints, attr_string, invalid, unsupported, Importer, Operand, SourceFn,
};
use crate::error::Result;
use crate::model::{FloatOp, TensorId};
use tract_onnx::pb::NodeProto;

impl Importer {
    /// Rearrangements with constant indices: every output element is a copy of an input
    /// element or zero.
    pub(super) fn select(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let op = node.op_type.as_str();
        if op == "Concat"
            && (0..node.input.len()).any(|i| matches!(self.operand(node, i), Ok(Operand::Const(_))))
        {
            return self.concat_with_constants(node, name);
        }
        let inputs: Vec<TensorId> = match op {
            "Concat" => (0..node.input.len())
                .map(|i| self.var(node, i))
                .collect::<Result<_>>()?,
            "ScatterND" | "ScatterElements" => vec![self.var(node, 0)?, self.var(node, 2)?],
            _ => vec![self.var(node, 0)?],
        };
        let shape = self.graph.tensors[inputs[0]].shape.clone();
        let rank = shape.len() as i64;
        let axis_of = |a: i64| -> Result<usize> {
            let a = if a < 0 { a + rank } else { a };
            (0..rank)
                .contains(&a)
                .then_some(a as usize)
                .ok_or_else(|| invalid(node, format!("axis {a} out of range")))
        };
        // Pad's constant (input #2, or the `value` attribute before opset 11): the padded
        // places hold it (zeros from the rearrangement, then the constant added).
        let mut pad_value = 0.0;
        let ints = |i: usize, what: &str| -> Result<Option<Vec<i64>>> {
            match node.input.get(i).filter(|s| !s.is_empty()) {
                Some(_) => Ok(Some(
                    self.constant(node, i, what)?
                        .data
                        .iter()
                        .map(|v| *v as i64)
                        .collect(),
                )),
                None => Ok(None),
            }
        };
        // Output shape and, per output multi-index, the source: (operand, source multi-index).
        let (out_shape, source): (Vec<usize>, SourceFn) = match op {
            "Transpose" => {
                let perm: Vec<usize> = match attr_ints(node, "perm") {
                    Some(p) => p.iter().map(|a| axis_of(*a)).collect::<Result<_>>()?,
                    None => (0..shape.len()).rev().collect(),
                };
                let mut sorted = perm.clone();
                sorted.sort_unstable();
                if sorted != (0..shape.len()).collect::<Vec<_>>() {
                    return Err(invalid(node, format!("perm {perm:?} is not a permutation")));
                }
                let out: Vec<usize> = perm.iter().map(|a| shape[*a]).collect();
                let perm2 = perm.clone();
                (
                    out,
                    Box::new(move |o: &[usize]| {
                        Some((0, super::elementwise::permuted_source(&perm2, o)))
                    }),
                )
            }
            "Slice" => {
                // Inputs since opset 10; attributes before.
                let given = |i: usize, what: &str, attr: &str| -> Result<Option<Vec<i64>>> {
                    Ok(ints(i, what)?.or_else(|| attr_ints(node, attr)))
                };
                let starts = given(1, "computed starts", "starts")?
                    .ok_or_else(|| invalid(node, "no starts".into()))?;
                let ends = given(2, "computed ends", "ends")?
                    .ok_or_else(|| invalid(node, "no ends".into()))?;
                let axes = given(3, "computed axes", "axes")?
                    .unwrap_or_else(|| (0..starts.len() as i64).collect());
                let steps = ints(4, "computed steps")?.unwrap_or_else(|| vec![1; starts.len()]);
                let mut begin = vec![0i64; shape.len()];
                let mut step = vec![1i64; shape.len()];
                let mut out = shape.clone();
                for (((s, e), a), st) in starts.iter().zip(&ends).zip(&axes).zip(&steps) {
                    let a = axis_of(*a)?;
                    let dim = shape[a] as i64;
                    if *st == 0 {
                        return Err(invalid(node, "slice step 0".into()));
                    }
                    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
                    let norm = |v: i64| if v < 0 { v + dim } else { v };
                    let (b, e) = if *st > 0 {
                        (clamp(norm(*s), 0, dim), clamp(norm(*e), 0, dim))
                    } else {
                        (clamp(norm(*s), -1, dim - 1), clamp(norm(*e), -1, dim - 1))
                    };
                    let len = if *st > 0 {
                        (e - b + st - 1).max(0) / st
                    } else {
                        (b - e - st - 1).max(0) / -st
                    };
                    begin[a] = b;
                    step[a] = *st;
                    out[a] = len as usize;
                }
                (
                    out,
                    Box::new(move |o: &[usize]| {
                        Some((
                            0,
                            o.iter()
                                .enumerate()
                                .map(|(a, i)| (begin[a] + *i as i64 * step[a]) as usize)
                                .collect(),
                        ))
                    }),
                )
            }
            "Concat" => {
                let axis = axis_of(
                    attr_int(node, "axis")
                        .ok_or_else(|| invalid(node, "Concat without axis".into()))?,
                )?;
                let shapes: Vec<Vec<usize>> = inputs
                    .iter()
                    .map(|t| self.graph.tensors[*t].shape.clone())
                    .collect();
                let out = concat_shape(node, &shapes, axis)?;
                (
                    out,
                    Box::new(move |o: &[usize]| {
                        let mut at = o[axis];
                        for (k, s2) in shapes.iter().enumerate() {
                            if at < s2[axis] {
                                let mut src = o.to_vec();
                                src[axis] = at;
                                return Some((k, src));
                            }
                            at -= s2[axis];
                        }
                        None
                    }),
                )
            }
            "Gather" => {
                let axis = axis_of(attr_int(node, "axis").unwrap_or(0))?;
                let idx = self.constant(node, 1, "computed indices")?;
                let dim = shape[axis] as i64;
                let indices: Vec<usize> = idx
                    .data
                    .iter()
                    .map(|v| {
                        let v = *v as i64;
                        let v = if v < 0 { v + dim } else { v };
                        (0..dim)
                            .contains(&v)
                            .then_some(v as usize)
                            .ok_or_else(|| invalid(node, format!("index {v} out of range")))
                    })
                    .collect::<Result<_>>()?;
                let idx_shape = idx.shape.clone();
                let out = [&shape[..axis], &idx_shape[..], &shape[axis + 1..]].concat();
                let k = idx_shape.len();
                (
                    out,
                    Box::new(move |o: &[usize]| {
                        let flat = o[axis..axis + k]
                            .iter()
                            .zip(&idx_shape)
                            .fold(0, |f, (i, d)| f * d + i);
                        let src = [&o[..axis], &[indices[flat]][..], &o[axis + k..]].concat();
                        Some((0, src))
                    }),
                )
            }
            "Expand" => {
                let target: Vec<usize> = ints(1, "a computed shape")?
                    .ok_or_else(|| invalid(node, "no shape".into()))?
                    .iter()
                    .map(|d| (*d).max(0) as usize)
                    .collect();
                let out =
                    super::elementwise::broadcast_shapes(&shape, &target).ok_or_else(|| {
                        invalid(node, format!("cannot expand {shape:?} to {target:?}"))
                    })?;
                let pad = out.len() - shape.len();
                let inner = shape.clone();
                (
                    out,
                    Box::new(move |o: &[usize]| {
                        let src = (0..inner.len())
                            .map(|a| if inner[a] == 1 { 0 } else { o[a + pad] })
                            .collect();
                        Some((0, src))
                    }),
                )
            }
            "Tile" => {
                let reps = ints(1, "computed repeats")?
                    .ok_or_else(|| invalid(node, "no repeats".into()))?;
                if reps.len() != shape.len() || reps.iter().any(|r| *r < 0) {
                    return Err(invalid(node, format!("bad repeats {reps:?}")));
                }
                let out = shape
                    .iter()
                    .zip(&reps)
                    .map(|(d, r)| d * *r as usize)
                    .collect();
                let inner = shape.clone();
                (
                    out,
                    Box::new(move |o: &[usize]| {
                        Some((0, o.iter().zip(&inner).map(|(i, d)| i % d).collect()))
                    }),
                )
            }
            "Trilu" => {
                let r = shape.len();
                if r < 2 {
                    return Err(invalid(node, "Trilu needs at least two axes".into()));
                }
                let k = ints(1, "a computed diagonal")?.map_or(0, |v| v[0]);
                let upper = attr_int(node, "upper").unwrap_or(1) != 0;
                (
                    shape.clone(),
                    Box::new(move |o: &[usize]| {
                        let d = o[r - 1] as i64 - o[r - 2] as i64;
                        let keep = if upper { d >= k } else { d <= k };
                        keep.then(|| (0, o.to_vec()))
                    }),
                )
            }
            "GatherElements" => {
                let axis = axis_of(attr_int(node, "axis").unwrap_or(0))?;
                let idx = self.constant(node, 1, "computed indices")?;
                if idx.shape.len() != shape.len() {
                    return Err(invalid(node, "indices and data ranks differ".into()));
                }
                let data = checked_indices(node, &idx.data, shape[axis])?;
                let idx_shape = idx.shape.clone();
                (
                    idx_shape.clone(),
                    Box::new(move |o: &[usize]| {
                        let mut src = o.to_vec();
                        src[axis] = data[ravel(o, &idx_shape)];
                        Some((0, src))
                    }),
                )
            }
            "GatherND" => {
                if attr_int(node, "batch_dims").unwrap_or(0) != 0 {
                    return Err(unsupported(node, "batch_dims other than 0"));
                }
                let idx = self.constant(node, 1, "computed indices")?;
                let (tuples, r) = nd_indices(node, &idx.data, &idx.shape, &shape)?;
                let lead = idx.shape[..idx.shape.len() - 1].to_vec();
                let out = [&lead[..], &shape[r..]].concat();
                (
                    out,
                    Box::new(move |o: &[usize]| {
                        let t = ravel(&o[..lead.len()], &lead);
                        Some((0, [&tuples[t][..], &o[lead.len()..]].concat()))
                    }),
                )
            }
            "ScatterND" | "ScatterElements" => {
                if attr_string(node, "reduction").is_some_and(|r| r != "none") {
                    return Err(unsupported(node, "a scatter with a reduction"));
                }
                let updates = self.graph.tensors[inputs[1]].shape.clone();
                let idx = self.constant(node, 1, "computed indices")?;
                // Output element (multi-index) -> the update element written there.
                let mut written = std::collections::HashMap::new();
                if op == "ScatterND" {
                    let (tuples, r) = nd_indices(node, &idx.data, &idx.shape, &shape)?;
                    let lead = idx.shape.len() - 1;
                    let want = [&idx.shape[..lead], &shape[r..]].concat();
                    if updates != want {
                        return Err(invalid(
                            node,
                            format!("updates {updates:?}, expected {want:?}"),
                        ));
                    }
                    for u in 0..updates.iter().product() {
                        let p = unravel(u, &updates);
                        let t = ravel(&p[..lead], &idx.shape[..lead]);
                        written.insert([&tuples[t][..], &p[lead..]].concat(), p);
                    }
                } else {
                    let axis = axis_of(attr_int(node, "axis").unwrap_or(0))?;
                    if idx.shape != updates || updates.len() != shape.len() {
                        return Err(invalid(node, "indices, updates and data disagree".into()));
                    }
                    let data = checked_indices(node, &idx.data, shape[axis])?;
                    for (u, target) in data.iter().enumerate() {
                        let p = unravel(u, &updates);
                        let mut at = p.clone();
                        at[axis] = *target;
                        written.insert(at, p);
                    }
                }
                (
                    shape.clone(),
                    Box::new(move |o: &[usize]| {
                        Some(match written.get(o) {
                            Some(p) => (1, p.clone()),
                            None => (0, o.to_vec()),
                        })
                    }),
                )
            }
            "DepthToSpace" | "SpaceToDepth" => {
                let b = attr_int(node, "blocksize")
                    .filter(|b| *b > 0)
                    .ok_or_else(|| invalid(node, "no blocksize".into()))?
                    as usize;
                let [n, c, h, w] = shape[..] else {
                    return Err(invalid(
                        node,
                        format!("input {shape:?} is not [N, C, H, W]"),
                    ));
                };
                let crd = attr_string(node, "mode").is_some_and(|m| m == "CRD");
                if op == "DepthToSpace" {
                    if c % (b * b) != 0 {
                        return Err(invalid(
                            node,
                            format!("{c} channels do not split into {b}×{b} blocks"),
                        ));
                    }
                    let cs = c / (b * b);
                    (
                        vec![n, cs, h * b, w * b],
                        Box::new(move |o: &[usize]| {
                            let (i, j) = (o[2] % b, o[3] % b);
                            let ch = if crd {
                                o[1] * b * b + i * b + j
                            } else {
                                (i * b + j) * cs + o[1]
                            };
                            Some((0, vec![o[0], ch, o[2] / b, o[3] / b]))
                        }),
                    )
                } else {
                    if h % b != 0 || w % b != 0 {
                        return Err(invalid(
                            node,
                            format!("{h}×{w} does not split into {b}×{b} blocks"),
                        ));
                    }
                    (
                        vec![n, c * b * b, h / b, w / b],
                        Box::new(move |o: &[usize]| {
                            let (blk, ch) = (o[1] / c, o[1] % c);
                            let (i, j) = (blk / b, blk % b);
                            Some((0, vec![o[0], ch, o[2] * b + i, o[3] * b + j]))
                        }),
                    )
                }
            }
            "Resize" => {
                let (out, index) = self.nearest_resize(node, &shape)?;
                (
                    out,
                    Box::new(move |o: &[usize]| {
                        Some((0, o.iter().enumerate().map(|(a, i)| index[a][*i]).collect()))
                    }),
                )
            }
            "Pad" => {
                let mode = match attr_string(node, "mode").as_deref() {
                    None | Some("constant") => PadMode::Constant,
                    Some("edge") => PadMode::Edge,
                    Some("reflect") => PadMode::Reflect,
                    Some("wrap") => PadMode::Wrap,
                    Some(other) => {
                        return Err(unsupported(node, &format!("padding mode {other:?}")))
                    }
                };
                pad_value = match node.input.get(2).filter(|s| !s.is_empty()) {
                    Some(_) => {
                        let c = self.constant(node, 2, "a computed pad value")?;
                        c.data.first().copied().unwrap_or(0.0)
                    }
                    None => attr_float(node, "value").unwrap_or(0.0),
                };
                let pads = match ints(1, "computed pads")? {
                    Some(p) => p,
                    None => {
                        attr_ints(node, "pads").ok_or_else(|| invalid(node, "no pads".into()))?
                    }
                };
                let d = shape.len();
                if pads.len() != 2 * d || pads.iter().any(|p| *p < 0) {
                    return Err(unsupported(node, "negative or malformed pads"));
                }
                let before: Vec<usize> = pads[..d].iter().map(|p| *p as usize).collect();
                let out: Vec<usize> = (0..d)
                    .map(|a| shape[a] + before[a] + pads[d + a] as usize)
                    .collect();
                if mode == PadMode::Reflect {
                    if let Some(a) = (0..d).find(|a| {
                        let most = shape[*a].saturating_sub(1) as i64;
                        pads[*a] > most || pads[d + *a] > most
                    }) {
                        return Err(invalid(
                            node,
                            format!("reflect padding of axis {a} by more than its length − 1"),
                        ));
                    }
                }
                let inner = shape.clone();
                (
                    out,
                    Box::new(move |o: &[usize]| {
                        let src: Option<Vec<usize>> = o
                            .iter()
                            .enumerate()
                            .map(|(a, i)| mode.source(*i as i64 - before[a] as i64, inner[a]))
                            .collect();
                        src.map(|s| (0, s))
                    }),
                )
            }
            _ => return Err(unsupported(node, "")),
        };
        let shapes: Vec<Vec<usize>> = inputs
            .iter()
            .map(|t| self.graph.tensors[*t].shape.clone())
            .collect();
        let numel: usize = out_shape.iter().product();
        let map: Vec<Option<(u32, u32)>> = (0..numel)
            .map(|i| {
                source(&unravel(i, &out_shape)).map(|(k, src)| {
                    let flat = src.iter().zip(&shapes[k]).fold(0, |f, (i, d)| f * d + i);
                    (k as u32, flat as u32)
                })
            })
            .collect();
        if pad_value != 0.0 && map.iter().any(Option::is_none) {
            let constant = map
                .iter()
                .map(|m| if m.is_none() { pad_value as f32 } else { 0.0 })
                .collect();
            let zero_padded = self.step(node, "zero_padded", out_shape.clone(), |output| {
                FloatOp::Select {
                    node: name.clone(),
                    inputs,
                    output,
                    map,
                }
            })?;
            return self.push(node, out_shape, |output| FloatOp::AddConst {
                node: name,
                input: zero_padded,
                constant,
                output,
            });
        }
        self.push(node, out_shape, |output| FloatOp::Select {
            node: name,
            inputs,
            output,
            map,
        })
    }
}

impl Importer {
    /// Concat of computed tensors and constants (scikit-learn's PolynomialFeatures puts a
    /// column of ones first): the computed parts copied, zeros in the constants' places, the
    /// constants added after.
    fn concat_with_constants(&mut self, node: &NodeProto, name: String) -> Result<()> {
        /// Where an operand's elements come from.
        enum Part {
            Var(u32),
            Const(Vec<f64>),
        }
        let mut vars = Vec::new();
        let mut parts = Vec::new();
        for i in 0..node.input.len() {
            match self.operand(node, i)? {
                Operand::Var(t) => {
                    parts.push((
                        self.graph.tensors[t].shape.clone(),
                        Part::Var(vars.len() as u32),
                    ));
                    vars.push(t);
                }
                Operand::Const(c) => parts.push((c.shape.clone(), Part::Const(c.data.clone()))),
            }
        }
        let shape = parts[0].0.clone();
        let axis =
            attr_int(node, "axis").ok_or_else(|| invalid(node, "Concat without axis".into()))?;
        let axis = axis_index(axis, shape.len())
            .ok_or_else(|| invalid(node, format!("axis {axis} out of range")))?;
        let shapes: Vec<Vec<usize>> = parts.iter().map(|(s2, _)| s2.clone()).collect();
        let out = concat_shape(node, &shapes, axis)?;
        let numel: usize = out.iter().product();
        let mut map = Vec::with_capacity(numel);
        let mut constant = Vec::with_capacity(numel);
        for i in 0..numel {
            let mut src = unravel(i, &out);
            let mut k = 0;
            while src[axis] >= parts[k].0[axis] {
                src[axis] -= parts[k].0[axis];
                k += 1;
            }
            let flat = ravel(&src, &parts[k].0);
            match &parts[k].1 {
                Part::Var(v) => {
                    map.push(Some((*v, flat as u32)));
                    constant.push(0.0);
                }
                Part::Const(data) => {
                    map.push(None);
                    constant.push(data[flat] as f32);
                }
            }
        }
        let zeros = self.step(node, "with_zeros", out.clone(), |output| FloatOp::Select {
            node: name.clone(),
            inputs: vars,
            output,
            map,
        })?;
        self.push(node, out, |output| FloatOp::AddConst {
            node: name,
            input: zeros,
            constant,
            output,
        })
    }
}

/// The shape of `shapes` concatenated on `axis`, or the pair that differs off the axis.
fn concat_shape(node: &NodeProto, shapes: &[Vec<usize>], axis: usize) -> Result<Vec<usize>> {
    let shape = &shapes[0];
    for s2 in shapes {
        let same =
            s2.len() == shape.len() && (0..shape.len()).all(|a| a == axis || s2[a] == shape[a]);
        if !same {
            return Err(invalid(
                node,
                format!("cannot concatenate {shape:?} and {s2:?} on axis {axis}"),
            ));
        }
    }
    let mut out = shape.clone();
    out[axis] = shapes.iter().map(|s2| s2[axis]).sum();
    Ok(out)
}

/// How Pad fills the places outside the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PadMode {
    /// With the constant (zeros in the rearrangement, the constant added after).
    Constant,
    /// With the nearest edge element.
    Edge,
    /// With the elements mirrored about the edge (the edge itself not repeated).
    Reflect,
    /// With the elements of the other end, as if the axis were circular.
    Wrap,
}

impl PadMode {
    /// The input index along an axis of length `n` that output offset `j` (its index minus
    /// the padding before) copies, or `None` for the constant.
    fn source(self, j: i64, n: usize) -> Option<usize> {
        let n = n as i64;
        if (0..n).contains(&j) {
            return Some(j as usize);
        }
        match self {
            Self::Constant => None,
            Self::Edge => Some(j.clamp(0, n - 1) as usize),
            Self::Wrap => Some(j.rem_euclid(n) as usize),
            Self::Reflect if n == 1 => Some(0),
            Self::Reflect => {
                let period = 2 * (n - 1);
                let k = j.rem_euclid(period);
                Some(if k < n { k } else { period - k } as usize)
            }
        }
    }
}

impl Importer {
    /// Split: each output a slice of the input along `axis` (sizes from the `split` input or
    /// attribute, else equal parts).
    pub(super) fn split(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let input = self.var(node, 0)?;
        let shape = self.graph.tensors[input].shape.clone();
        let axis = axis_index(attr_int(node, "axis").unwrap_or(0), shape.len())
            .ok_or_else(|| invalid(node, "axis out of range".into()))?;
        let outputs: Vec<String> = node.output.clone();
        let dim = shape[axis];
        let sizes: Vec<usize> = match node.input.get(1).filter(|s| !s.is_empty()) {
            Some(_) => self
                .constant(node, 1, "computed split sizes")?
                .data
                .iter()
                .map(|v| *v as usize)
                .collect(),
            None => match attr_ints(node, "split") {
                Some(v) => v.iter().map(|x| *x as usize).collect(),
                None => {
                    let n = outputs.len().max(1);
                    let part = dim.div_ceil(n);
                    (0..n)
                        .map(|k| part.min(dim - (part * k).min(dim)))
                        .collect()
                }
            },
        };
        if sizes.len() != outputs.len() || sizes.iter().sum::<usize>() != dim {
            return Err(invalid(
                node,
                format!("split sizes {sizes:?} do not cover axis {axis} of {shape:?}"),
            ));
        }
        let mut offset = 0;
        for (out_name, size) in outputs.iter().zip(sizes) {
            let mut out_shape = shape.clone();
            out_shape[axis] = size;
            let map = (0..out_shape.iter().product())
                .map(|i| {
                    let mut src = unravel(i, &out_shape);
                    src[axis] += offset;
                    Some((0, ravel(&src, &shape) as u32))
                })
                .collect();
            offset += size;
            if out_name.is_empty() {
                continue;
            }
            let output = self.add_tensor(out_name, out_shape);
            self.graph.ops.push(FloatOp::Select {
                node: name.clone(),
                inputs: vec![input],
                output,
                map,
            });
        }
        Ok(())
    }
}

/// Constant indices into an axis of length `dim` (negative ones count from the end).
fn checked_indices(node: &NodeProto, data: &[f64], dim: usize) -> Result<Vec<usize>> {
    data.iter()
        .map(|v| {
            let v = *v as i64;
            let v = if v < 0 { v + dim as i64 } else { v };
            (0..dim as i64)
                .contains(&v)
                .then_some(v as usize)
                .ok_or_else(|| invalid(node, format!("index {v} out of range")))
        })
        .collect()
}

/// GatherND/ScatterND index tuples: each of length `r` (the last axis of the indices), each
/// component checked against its data axis.
fn nd_indices(
    node: &NodeProto,
    data: &[f64],
    idx_shape: &[usize],
    shape: &[usize],
) -> Result<(Vec<Vec<usize>>, usize)> {
    let r = *idx_shape
        .last()
        .ok_or_else(|| invalid(node, "scalar indices".into()))?;
    if r == 0 || r > shape.len() {
        return Err(invalid(node, format!("index tuples of length {r}")));
    }
    let tuples = data
        .chunks(r)
        .map(|t| {
            t.iter()
                .zip(shape)
                .map(|(v, d)| checked_indices(node, &[*v], *d).map(|x| x[0]))
                .collect()
        })
        .collect::<Result<_>>()?;
    Ok((tuples, r))
}
