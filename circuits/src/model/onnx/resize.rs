//! Resize in its interpolating modes, `linear` (bilinear, trilinear…) and `cubic` (PyTorch's
//! `interpolate(mode="bilinear"/"bicubic")`, `nn.Upsample`, MobileViT's patch resizing): with
//! constant scales or sizes each output is a constant weighted sum of inputs, separable by
//! axis. Each resized axis is one dense layer over that axis (moved last by copies, and back):
//! `out[…, j] = Σ_i W[i, j]·in[…, i]`, `W` from ONNX's coordinate transformation and the
//! mode's kernel. (Nearest-neighbour resizing is copies: `shape.rs`.)

use super::shape::resize_source;
use super::{attr_float, attr_int, attr_string, unsupported, Importer};
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

impl Importer {
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
