//! Convolution geometry: which input elements and weights make each output element, for any
//! number of spatial dimensions, strides, paddings, dilations and groups (depthwise included).
//! The float interpreter, the reference execution, the layout and the static bounds all walk
//! the same terms, so they cannot disagree.

use serde::{Deserialize, Serialize};

/// The shape of a convolution `[N, C, spatial…] → [N, O, spatial'…]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvGeometry {
    /// Batch size.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Input spatial extent.
    pub in_spatial: Vec<usize>,
    /// Output channels.
    pub out_channels: usize,
    /// Output spatial extent.
    pub out_spatial: Vec<usize>,
    /// Kernel extent.
    pub kernel: Vec<usize>,
    /// Strides.
    pub strides: Vec<usize>,
    /// Padding at the start of each spatial axis (the end padding only shapes the output).
    pub pads_begin: Vec<usize>,
    /// Dilations.
    pub dilations: Vec<usize>,
    /// Groups: input and output channels split into this many independent parts.
    pub group: usize,
}

impl ConvGeometry {
    /// Builds the geometry, computing the output extent; `None` when the parameters do not fit.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input: &[usize],
        out_channels: usize,
        kernel: &[usize],
        strides: &[usize],
        pads_begin: &[usize],
        pads_end: &[usize],
        dilations: &[usize],
        group: usize,
    ) -> Option<Self> {
        let d = input.len().checked_sub(2).filter(|d| *d >= 1)?;
        let lens_ok = [
            kernel.len(),
            strides.len(),
            pads_begin.len(),
            pads_end.len(),
            dilations.len(),
        ]
        .iter()
        .all(|l| *l == d);
        if !lens_ok || group == 0 || input[1] % group != 0 || out_channels % group != 0 {
            return None;
        }
        let mut out_spatial = Vec::with_capacity(d);
        for a in 0..d {
            let span = dilations[a] * (kernel[a].checked_sub(1)?) + 1;
            let padded = input[a + 2] + pads_begin[a] + pads_end[a];
            if strides[a] == 0 || padded < span {
                return None;
            }
            out_spatial.push((padded - span) / strides[a] + 1);
        }
        Some(Self {
            batch: input[0],
            in_channels: input[1],
            in_spatial: input[2..].to_vec(),
            out_channels,
            out_spatial,
            kernel: kernel.to_vec(),
            strides: strides.to_vec(),
            pads_begin: pads_begin.to_vec(),
            dilations: dilations.to_vec(),
            group,
        })
    }

    /// Output shape `[N, O, spatial'…]`.
    pub fn output_shape(&self) -> Vec<usize> {
        [
            vec![self.batch, self.out_channels],
            self.out_spatial.clone(),
        ]
        .concat()
    }

    /// Number of weights: `O · (C / group) · Πkernel`.
    pub fn weight_len(&self) -> usize {
        self.out_channels * (self.in_channels / self.group) * self.kernel.iter().product::<usize>()
    }

    /// Calls `f(output index, output channel, terms)` for every output element in row-major
    /// order, where `terms` lists `(input index, weight index)` pairs (padding contributes none).
    pub fn for_each_output(&self, mut f: impl FnMut(usize, usize, &[(usize, usize)])) {
        let d = self.in_spatial.len();
        let cpg = self.in_channels / self.group;
        let opg = self.out_channels / self.group;
        let kernel_len: usize = self.kernel.iter().product();
        let in_len: usize = self.in_spatial.iter().product();
        let out_len: usize = self.out_spatial.iter().product();
        let mut terms = Vec::with_capacity(cpg * kernel_len);
        // Positions unravelled once (this loop runs for every term of every output).
        let kernel_positions: Vec<Vec<usize>> =
            (0..kernel_len).map(|q| unravel(q, &self.kernel)).collect();
        let out_positions: Vec<Vec<usize>> = (0..out_len)
            .map(|p| unravel(p, &self.out_spatial))
            .collect();
        let mut out_index = 0;
        for n in 0..self.batch {
            for o in 0..self.out_channels {
                let g = o / opg;
                for pos in &out_positions {
                    terms.clear();
                    for c_local in 0..cpg {
                        let c = g * cpg + c_local;
                        for (q, kpos) in kernel_positions.iter().enumerate() {
                            let mut inside = true;
                            let mut flat = 0;
                            for a in 0..d {
                                let i = (pos[a] * self.strides[a] + kpos[a] * self.dilations[a])
                                    as isize
                                    - self.pads_begin[a] as isize;
                                if i < 0 || i >= self.in_spatial[a] as isize {
                                    inside = false;
                                    break;
                                }
                                flat = flat * self.in_spatial[a] + i as usize;
                            }
                            if inside {
                                let input = (n * self.in_channels + c) * in_len + flat;
                                let weight = (o * cpg + c_local) * kernel_len + q;
                                terms.push((input, weight));
                            }
                        }
                    }
                    f(out_index, o, &terms);
                    out_index += 1;
                }
            }
        }
    }
}

/// The row-major position of flat index `i` in a tensor of shape `dims` (the importer's shape
/// arithmetic in `onnx/dims.rs` shares it).
pub(crate) fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut pos = vec![0; dims.len()];
    for a in (0..dims.len()).rev() {
        pos[a] = i % dims[a];
        i /= dims[a];
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_extent_and_terms_follow_the_onnx_formula() {
        // 1×1×4×4, 3×3 kernel, stride 1, pad 1: 4×4 output; the corner sees a 2×2 patch.
        let g = ConvGeometry::new(
            &[1, 1, 4, 4],
            1,
            &[3, 3],
            &[1, 1],
            &[1, 1],
            &[1, 1],
            &[1, 1],
            1,
        )
        .unwrap();
        assert_eq!(g.output_shape(), vec![1, 1, 4, 4]);
        let mut first = Vec::new();
        g.for_each_output(|i, _, t| {
            if i == 0 {
                first = t.to_vec();
            }
        });
        assert_eq!(first, vec![(0, 4), (1, 5), (4, 7), (5, 8)]);
        // Stride 2, dilation 2, no padding on 7: (7 - 5) / 2 + 1 = 2.
        let g = ConvGeometry::new(&[1, 2, 7], 2, &[3], &[2], &[0], &[0], &[2], 2).unwrap();
        assert_eq!(g.output_shape(), vec![1, 2, 2]);
        assert_eq!(g.weight_len(), 2 * 3);
        assert!(ConvGeometry::new(
            &[1, 3, 4, 4],
            2,
            &[3, 3],
            &[1, 1],
            &[0, 0],
            &[0, 0],
            &[1, 1],
            2
        )
        .is_none());
    }
}
