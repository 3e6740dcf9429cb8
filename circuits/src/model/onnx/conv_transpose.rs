//! ConvTranspose as a rearrangement and a convolution: the input is spread out by the stride
//! (zeros between elements) and padded by copies, then convolved with the flipped kernel
//! (input and output channels swapped) at stride 1.

use super::dims::unravel;
use super::{attr_int, attr_ints, attr_string, invalid, unsupported, Importer};
use crate::error::Result;
use crate::model::{ConvGeometry, FloatOp};
use tract_onnx::pb::NodeProto;

impl Importer {
    /// ConvTranspose (any spatial rank, strides, pads or auto_pad or output_shape, dilations,
    /// output padding, groups).
    pub(super) fn conv_transpose(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let w = self.constant(node, 1, "computed weights")?.clone();
        let in_shape = self.graph.tensors[x].shape.clone();
        let d = in_shape.len().saturating_sub(2);
        if d == 0 || w.shape.len() != d + 2 {
            return Err(invalid(
                node,
                format!("input {in_shape:?} and weights {:?} do not fit", w.shape),
            ));
        }
        let auto_pad = attr_string(node, "auto_pad").unwrap_or_else(|| "NOTSET".into());
        if !["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"].contains(&auto_pad.as_str()) {
            return Err(unsupported(node, &format!("auto_pad {auto_pad}")));
        }
        let group = attr_int(node, "group").unwrap_or(1).max(1) as usize;
        let (channels, per_group_out) = (w.shape[0], w.shape[1]);
        if channels != in_shape[1] || channels % group != 0 {
            return Err(invalid(
                node,
                "weights do not match the input channels".into(),
            ));
        }
        let kernel = w.shape[2..].to_vec();
        let list = |attr: &str, default: i64, len: usize| -> Result<Vec<usize>> {
            attr_ints(node, attr)
                .unwrap_or_else(|| vec![default; len])
                .into_iter()
                .map(|v| usize::try_from(v).map_err(|_| invalid(node, format!("negative {attr}"))))
                .collect()
        };
        let strides = list("strides", 1, d)?;
        let dilations = list("dilations", 1, d)?;
        let extra = list("output_padding", 0, d)?;
        if [strides.len(), dilations.len(), extra.len()] != [d; 3] {
            return Err(invalid(node, "attributes do not match the rank".into()));
        }
        // An output shape (given, or the input's times the strides for SAME_*) fixes the
        // padding: the total is what the full output exceeds it by, split as ONNX specifies.
        let target: Option<Vec<usize>> = match attr_ints(node, "output_shape") {
            Some(shape) => {
                let shape = &shape[shape.len().saturating_sub(d)..];
                Some(
                    shape
                        .iter()
                        .map(|v| usize::try_from(*v))
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|_| invalid(node, "negative output_shape".into()))?,
                )
            }
            None if auto_pad.starts_with("SAME") => {
                Some((0..d).map(|a| in_shape[a + 2] * strides[a]).collect())
            }
            None => None,
        };
        let pads = match target {
            Some(target) if target.len() == d => {
                let mut pads = vec![0; 2 * d];
                for a in 0..d {
                    let full = strides[a] * (in_shape[a + 2] - 1)
                        + extra[a]
                        + dilations[a] * (kernel[a] - 1)
                        + 1;
                    let total = full.checked_sub(target[a]).ok_or_else(|| {
                        invalid(
                            node,
                            format!("output_shape {target:?} is larger than the full output"),
                        )
                    })?;
                    let (start, end) = if auto_pad == "SAME_UPPER" {
                        (total / 2, total - total / 2)
                    } else {
                        (total - total / 2, total / 2)
                    };
                    pads[a] = start;
                    pads[d + a] = end;
                }
                pads
            }
            Some(target) => {
                return Err(invalid(
                    node,
                    format!("output_shape {target:?} does not match the rank"),
                ))
            }
            None if auto_pad == "VALID" => vec![0; 2 * d],
            None => list("pads", 0, 2 * d)?,
        };
        if pads.len() != 2 * d {
            return Err(invalid(node, "pads do not match the rank".into()));
        }
        // Per axis: the spread-out, padded input (signed lead: negative means cropped).
        let mut lead = Vec::with_capacity(d);
        let mut padded = Vec::with_capacity(d);
        for a in 0..d {
            let span = dilations[a] * (kernel[a] - 1);
            let l = span as i64 - pads[a] as i64;
            let t = span as i64 - pads[d + a] as i64 + extra[a] as i64;
            let len = ((in_shape[a + 2] - 1) * strides[a] + 1) as i64 + l + t;
            if len < (span + 1) as i64 {
                return Err(invalid(node, "the padding leaves no output".into()));
            }
            lead.push(l);
            padded.push(len as usize);
        }
        let spread_shape = [&in_shape[..2], &padded[..]].concat();
        let numel: usize = spread_shape.iter().product();
        let map = (0..numel)
            .map(|i| {
                let p = unravel(i, &spread_shape);
                let mut src = vec![p[0], p[1]];
                for a in 0..d {
                    let q = p[a + 2] as i64 - lead[a];
                    let s = strides[a] as i64;
                    if q < 0 || q % s != 0 || q / s >= in_shape[a + 2] as i64 {
                        return None;
                    }
                    src.push((q / s) as usize);
                }
                let flat = src.iter().zip(&in_shape).fold(0, |f, (i, d)| f * d + i);
                Some((0, flat as u32))
            })
            .collect();
        let spread = self.copies(node, "spread", spread_shape.clone(), vec![x], map)?;
        let out_channels = per_group_out * group;
        let zeros = vec![0; d];
        let geometry = ConvGeometry::new(
            &spread_shape,
            out_channels,
            &kernel,
            &vec![1; d],
            &zeros,
            &zeros,
            &dilations,
            group,
        )
        .ok_or_else(|| invalid(node, "inconsistent transposed convolution".into()))?;
        // Conv weight [M, C/G, k…] from ConvTranspose weight [C, M/G, k…], kernel flipped.
        let (cg, ksize) = (channels / group, kernel.iter().product::<usize>());
        let mut weight = vec![0f32; out_channels * cg * ksize];
        for m in 0..out_channels {
            let (g, ml) = (m / per_group_out, m % per_group_out);
            for cl in 0..cg {
                let c = g * cg + cl;
                for k in 0..ksize {
                    let src = (c * per_group_out + ml) * ksize + (ksize - 1 - k);
                    weight[(m * cg + cl) * ksize + k] = w.data[src] as f32;
                }
            }
        }
        let bias = self.conv_bias(node, out_channels)?;
        let shape = geometry.output_shape();
        self.push(node, shape, |output| FloatOp::Conv {
            node: name,
            input: spread,
            output,
            geometry,
            weight,
            bias,
        })
    }
}
