//! Resize in its interpolating modes, `linear` (bilinear, trilinear…) and `cubic` (PyTorch's
//! `interpolate(mode="bilinear"/"bicubic")`, `nn.Upsample`, MobileViT's patch resizing): with
//! constant scales or sizes each output is a constant weighted sum of inputs, separable by
//! axis. Each resized axis is one dense layer over that axis (moved last by copies, and back):
//! `out[…, j] = Σ_i W[i, j]·in[…, i]`, `W` from ONNX's coordinate transformation and the
//! mode's kernel. Nearest-neighbour resizing is copies (`shape.rs`) of the input indices
//! computed here; both share the target size and the coordinate transformation.

use super::{attr_float, attr_int, attr_ints, attr_string, invalid, unsupported, Importer};
use crate::error::Result;
use crate::model::FloatOp;
use tract_onnx::pb::NodeProto;

/// The weights `W[i·n_out + j]` of output `j` on input `i` along one axis.
fn axis_weights(
    node: &NodeProto,
    mode: &str,
    n_in: usize,
    n_out: usize,
    scale: f64,
) -> Result<Vec<f32>> {
    let a = attr_float(node, "cubic_coeff_a").unwrap_or(-0.75);
    let exclude_outside = attr_int(node, "exclude_outside").unwrap_or(0) != 0;
    let last = n_in as i64 - 1;
    let mut w = vec![0f64; n_in * n_out];
    for j in 0..n_out {
        let x = resize_source(node, j, n_in, n_out, scale)?;
        // (input index, weight) taps, indices possibly outside the axis.
        let taps: Vec<(i64, f64)> = if mode == "linear" {
            // ONNX clamps the source coordinate to the axis for linear interpolation.
            let x = x.clamp(0.0, last as f64);
            let i0 = x.floor();
            let t = x - i0;
            vec![(i0 as i64, 1.0 - t), (i0 as i64 + 1, t)]
        } else {
            let i0 = x.floor();
            let t = x - i0;
            let cubic = |d: f64| {
                let d = d.abs();
                if d <= 1.0 {
                    ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0
                } else if d < 2.0 {
                    ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a
                } else {
                    0.0
                }
            };
            (-1..=2)
                .map(|k| (i0 as i64 + k, cubic(t - k as f64)))
                .collect()
        };
        let inside = |i: i64| (0..=last).contains(&i);
        let total: f64 = if exclude_outside {
            taps.iter()
                .filter(|(i, _)| inside(*i))
                .map(|(_, c)| c)
                .sum()
        } else {
            1.0
        };
        for (i, c) in taps {
            if c == 0.0 || (exclude_outside && !inside(i)) {
                continue;
            }
            // Outside taps read the edge (the reference pads by replicating it).
            let i = i.clamp(0, last) as usize;
            w[i * n_out + j] += c / total;
        }
    }
    Ok(w.into_iter().map(|v| v as f32).collect())
}

/// The input coordinate of output index `x` along an axis resized from `n_in` to `n_out` by
/// `scale` (ONNX's `coordinate_transformation_mode`).
fn resize_source(node: &NodeProto, x: usize, n_in: usize, n_out: usize, scale: f64) -> Result<f64> {
    let transform =
        attr_string(node, "coordinate_transformation_mode").unwrap_or_else(|| "half_pixel".into());
    let x = x as f64;
    Ok(match transform.as_str() {
        "half_pixel" => (x + 0.5) / scale - 0.5,
        "pytorch_half_pixel" if n_out > 1 => (x + 0.5) / scale - 0.5,
        "pytorch_half_pixel" => 0.0,
        "align_corners" if n_out > 1 => x * (n_in - 1) as f64 / (n_out - 1) as f64,
        "align_corners" => 0.0,
        "asymmetric" => x / scale,
        "tf_half_pixel_for_nn" => (x + 0.5) / scale,
        other => {
            return Err(unsupported(
                node,
                &format!("coordinate_transformation_mode={other}"),
            ))
        }
    })
}

impl Importer {
    /// The output shape of a nearest-neighbour Resize and, per axis, the input index of each
    /// output index (ONNX's coordinate transformations and rounding modes).
    pub(super) fn nearest_resize(
        &self,
        node: &NodeProto,
        shape: &[usize],
    ) -> Result<(Vec<usize>, Vec<Vec<usize>>)> {
        if attr_string(node, "mode").is_some_and(|m| m != "nearest") {
            return Err(unsupported(node, "interpolating modes (only nearest)"));
        }
        let (out, scales) = self.resize_target(node, shape)?;
        let rounding =
            attr_string(node, "nearest_mode").unwrap_or_else(|| "round_prefer_floor".into());
        let mut index = Vec::with_capacity(shape.len());
        for a in 0..shape.len() {
            let (n_in, n_out, scale) = (shape[a], out[a], scales[a]);
            let mut axis = Vec::with_capacity(n_out);
            for x in 0..n_out {
                let original = resize_source(node, x, n_in, n_out, scale)?;
                let half = original.fract() == 0.5 || original.fract() == -0.5;
                let i = match rounding.as_str() {
                    "round_prefer_floor" if half => original.floor(),
                    "round_prefer_ceil" if half => original.ceil(),
                    "round_prefer_floor" | "round_prefer_ceil" => original.round(),
                    "floor" => original.floor(),
                    "ceil" => original.ceil(),
                    other => return Err(unsupported(node, &format!("nearest_mode={other}"))),
                };
                axis.push(i.clamp(0.0, (n_in - 1) as f64) as usize);
            }
            index.push(axis);
        }
        Ok((out, index))
    }

    /// A Resize's output shape and, per axis, its scale (from constant `scales` or `sizes`).
    pub(super) fn resize_target(
        &self,
        node: &NodeProto,
        shape: &[usize],
    ) -> Result<(Vec<usize>, Vec<f64>)> {
        if attr_int(node, "antialias").unwrap_or(0) != 0 {
            return Err(unsupported(node, "antialias=1"));
        }
        if attr_ints(node, "axes").is_some() {
            return Err(unsupported(node, "the axes attribute (give every axis)"));
        }
        if attr_string(node, "keep_aspect_ratio_policy").is_some_and(|p| p != "stretch") {
            return Err(unsupported(
                node,
                "keep_aspect_ratio_policy other than stretch",
            ));
        }
        let given = |i: usize| -> Result<Option<Vec<f64>>> {
            match node.input.get(i).filter(|s| !s.is_empty()) {
                Some(_) => {
                    let c = self.constant(node, i, "computed scales or sizes")?;
                    Ok((!c.data.is_empty()).then(|| c.data.clone()))
                }
                None => Ok(None),
            }
        };
        let (out, scales): (Vec<usize>, Vec<f64>) = match (given(3)?, given(2)?) {
            (Some(sizes), _) => {
                let out: Vec<usize> = sizes.iter().map(|v| *v as usize).collect();
                let scales = out
                    .iter()
                    .zip(shape)
                    .map(|(o, i)| *o as f64 / *i as f64)
                    .collect();
                (out, scales)
            }
            (None, Some(scales)) => (
                shape
                    .iter()
                    .zip(&scales)
                    .map(|(d, s)| (*d as f64 * s).floor() as usize)
                    .collect(),
                scales,
            ),
            (None, None) => return Err(invalid(node, "neither scales nor sizes".into())),
        };
        if out.len() != shape.len() || out.contains(&0) {
            return Err(invalid(
                node,
                format!("bad output size {out:?} for {shape:?}"),
            ));
        }
        Ok((out, scales))
    }

    /// Resize with `mode` linear or cubic: one dense layer per resized axis.
    pub(super) fn resize_interpolating(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let mode = attr_string(node, "mode").unwrap_or_default();
        if attr_string(node, "coordinate_transformation_mode").as_deref()
            == Some("tf_crop_and_resize")
        {
            return Err(unsupported(
                node,
                "coordinate_transformation_mode=tf_crop_and_resize",
            ));
        }
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let (out, scales) = self.resize_target(node, &shape)?;
        let rank = shape.len();
        let resized: Vec<usize> = (0..rank)
            .filter(|a| out[*a] != shape[*a] || scales[*a] != 1.0)
            .collect();
        let mut cur = x;
        if resized.is_empty() {
            return self.push(node, shape, |output| FloatOp::Reshape {
                node: name,
                input: cur,
                output,
            });
        }
        for (step, &a) in resized.iter().enumerate() {
            let (n_in, n_out) = (shape[a], out[a]);
            let weight = axis_weights(node, &mode, n_in, n_out, scales[a])?;
            // Axis `a` last, the dense layer, then back.
            let mut perm: Vec<usize> = (0..rank).filter(|d| *d != a).collect();
            perm.push(a);
            let moved = self.permute_var(node, cur, &perm, &format!("axis{a}_last"))?;
            let mut dense_shape = self.graph.tensors[moved].shape.clone();
            *dense_shape.last_mut().expect("rank ≥ 1") = n_out;
            let n = name.clone();
            let dense = self.step(node, &format!("axis{a}"), dense_shape, |output| {
                FloatOp::Dense {
                    node: n,
                    input: moved,
                    output,
                    n_in,
                    n_out,
                    weight,
                    bias: vec![0.0; n_out],
                }
            })?;
            let mut back = vec![0; rank];
            for (d, p) in perm.iter().enumerate() {
                back[*p] = d;
            }
            cur = self.permute_var(node, dense, &back, &format!("axis{a}_back"))?;
            if step + 1 == resized.len() {
                let last = cur;
                return self.push(node, out, |output| FloatOp::Reshape {
                    node: name,
                    input: last,
                    output,
                });
            }
        }
        unreachable!("the last resized axis returns")
    }
}
