//! Rearrangements (Transpose, Slice, Concat, Gather, Pad): pure copy constraints, and the
//! shape arithmetic of the importer.

use super::{attr_int, attr_ints, attr_string, invalid, unsupported, Importer, SourceFn};
use crate::error::Result;
use crate::model::{FloatOp, TensorId};
use tract_onnx::pb::NodeProto;

impl Importer {
    /// Transpose, Slice, Concat, Gather (constant indices) and constant Pad: rearrangements.
    pub(super) fn select(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let op = node.op_type.as_str();
        let inputs: Vec<TensorId> = if op == "Concat" {
            (0..node.input.len())
                .map(|i| self.var(node, i))
                .collect::<Result<_>>()?
        } else {
            vec![self.var(node, 0)?]
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
                        let mut src = vec![0; o.len()];
                        for (d, a) in perm2.iter().enumerate() {
                            src[*a] = o[d];
                        }
                        Some((0, src))
                    }),
                )
            }
            "Slice" => {
                let starts = ints(1, "computed starts")?
                    .ok_or_else(|| unsupported(node, "attribute-style Slice (opset < 10)"))?;
                let ends =
                    ints(2, "computed ends")?.ok_or_else(|| invalid(node, "no ends".into()))?;
                let axes =
                    ints(3, "computed axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
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
                for s2 in &shapes {
                    let same = s2.len() == shape.len()
                        && (0..shape.len()).all(|a| a == axis || s2[a] == shape[a]);
                    if !same {
                        return Err(invalid(
                            node,
                            format!("cannot concatenate {shape:?} and {s2:?} on axis {axis}"),
                        ));
                    }
                }
                let mut out = shape.clone();
                out[axis] = shapes.iter().map(|s2| s2[axis]).sum();
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
            "Pad" => {
                if attr_string(node, "mode").is_some_and(|m| m != "constant") {
                    return Err(unsupported(node, "reflect/edge padding"));
                }
                if let Some(v) =
                    ints(2, "a computed pad value")?.filter(|v| v.iter().any(|x| *x != 0))
                {
                    return Err(unsupported(
                        node,
                        &format!("padding with {v:?} (only zero)"),
                    ));
                }
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
                let inner = shape.clone();
                (
                    out,
                    Box::new(move |o: &[usize]| {
                        let src: Option<Vec<usize>> = o
                            .iter()
                            .enumerate()
                            .map(|(a, i)| i.checked_sub(before[a]).filter(|x| *x < inner[a]))
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
        let map = (0..numel)
            .map(|i| {
                source(&unravel(i, &out_shape)).map(|(k, src)| {
                    let flat = src.iter().zip(&shapes[k]).fold(0, |f, (i, d)| f * d + i);
                    (k as u32, flat as u32)
                })
            })
            .collect();
        self.push(node, out_shape, |output| FloatOp::Select {
            node: name,
            inputs,
            output,
            map,
        })
    }
}

/// Numpy-style broadcast of `data` (shape `from`) to shape `to`.
pub(super) fn broadcast(from: &[usize], data: &[f64], to: &[usize]) -> Option<Vec<f64>> {
    if from.len() > to.len() {
        // Leading 1s may be dropped (a `[1, n]` bias for `[n]` outputs).
        let extra = from.len() - to.len();
        if from[..extra].iter().any(|d| *d != 1) {
            return None;
        }
        return broadcast(&from[extra..], data, to);
    }
    let pad = to.len() - from.len();
    let from: Vec<usize> = std::iter::repeat_n(1, pad)
        .chain(from.iter().copied())
        .collect();
    if from.iter().zip(to).any(|(f, t)| *f != 1 && f != t) {
        return None;
    }
    let numel: usize = to.iter().product();
    let mut out = Vec::with_capacity(numel);
    for flat in 0..numel {
        let (mut rem, mut src, mut stride) = (flat, 0usize, 1usize);
        let mut src_strides = vec![0usize; to.len()];
        for d in (0..to.len()).rev() {
            src_strides[d] = stride;
            stride *= from[d];
        }
        for d in (0..to.len()).rev() {
            let idx = rem % to[d];
            rem /= to[d];
            if from[d] != 1 {
                src += idx * src_strides[d];
            }
        }
        out.push(data[src]);
    }
    Some(out)
}

pub(super) fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut pos = vec![0; dims.len()];
    for a in (0..dims.len()).rev() {
        pos[a] = i % dims[a];
        i /= dims[a];
    }
    pos
}

pub(super) fn squeeze(from: &[usize], axes: &[i64]) -> Option<Vec<usize>> {
    let rank = from.len() as i64;
    let axes: Vec<usize> = axes
        .iter()
        .map(|a| if *a < 0 { a + rank } else { *a })
        .map(|a| usize::try_from(a).ok())
        .collect::<Option<_>>()?;
    if axes.is_empty() {
        return Some(from.iter().copied().filter(|d| *d != 1).collect());
    }
    if axes.iter().any(|a| from.get(*a) != Some(&1)) {
        return None;
    }
    Some(
        from.iter()
            .enumerate()
            .filter(|(a, _)| !axes.contains(a))
            .map(|(_, d)| *d)
            .collect(),
    )
}

pub(super) fn unsqueeze(from: &[usize], axes: &[i64]) -> Option<Vec<usize>> {
    let rank = (from.len() + axes.len()) as i64;
    let mut axes: Vec<usize> = axes
        .iter()
        .map(|a| if *a < 0 { a + rank } else { *a })
        .map(|a| usize::try_from(a).ok())
        .collect::<Option<_>>()?;
    axes.sort_unstable();
    let mut out = from.to_vec();
    for a in axes {
        if a > out.len() {
            return None;
        }
        out.insert(a, 1);
    }
    Some(out)
}

pub(super) fn reshape_target(from: &[usize], target: &[i64]) -> Option<Vec<usize>> {
    let numel: usize = from.iter().product();
    let mut shape = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, d) in target.iter().enumerate() {
        match *d {
            0 => shape.push(*from.get(i)?),
            -1 if infer.is_none() => {
                infer = Some(i);
                shape.push(1);
            }
            d if d > 0 => shape.push(d as usize),
            _ => return None,
        }
    }
    let known: usize = shape.iter().product();
    if let Some(i) = infer {
        if known == 0 || numel % known != 0 {
            return None;
        }
        shape[i] = numel / known;
    }
    (shape.iter().product::<usize>() == numel).then_some(shape)
}

pub(super) fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 {
        axis + rank as i64 - 1
    } else {
        axis
    };
    (0..rank as i64).contains(&a).then_some(a as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy_rules() {
        assert_eq!(
            broadcast(&[3], &[1.0, 2.0, 3.0], &[2, 3]).unwrap(),
            vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
        );
        assert_eq!(
            broadcast(&[2, 1], &[1.0, 2.0], &[2, 3]).unwrap(),
            vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
        );
        assert_eq!(
            broadcast(&[1, 3], &[1.0, 2.0, 3.0], &[3]).unwrap(),
            vec![1.0, 2.0, 3.0]
        );
        assert!(broadcast(&[2], &[1.0, 2.0], &[3]).is_none());
    }

    #[test]
    fn squeeze_and_unsqueeze_follow_onnx_axes() {
        assert_eq!(squeeze(&[1, 3, 1, 2], &[0, -2]), Some(vec![3, 2]));
        assert_eq!(squeeze(&[1, 3, 1], &[]), Some(vec![3]));
        assert_eq!(squeeze(&[2, 3], &[0]), None);
        assert_eq!(unsqueeze(&[3, 2], &[0, 3]), Some(vec![1, 3, 2, 1]));
        assert_eq!(unsqueeze(&[3], &[-1]), Some(vec![3, 1]));
    }

    #[test]
    fn reshape_target_handles_zero_and_minus_one() {
        assert_eq!(reshape_target(&[1, 2, 4], &[0, -1]), Some(vec![1, 8]));
        assert_eq!(reshape_target(&[1, 3], &[3]), Some(vec![3]));
        assert_eq!(reshape_target(&[1, 3], &[2, -1]), None);
    }
}
