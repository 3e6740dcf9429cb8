//! Splitting a chain of convolutions by the channels between them, so that a cut can fall
//! inside it: the answer when a layer, or the tensor a cut inside an inverted-residual block
//! would carry, is too large for one segment.
//!
//! A chain is a convolution (ungrouped), any number of depthwise convolutions after it, and an
//! ungrouped convolution that ends it, each reading only the one before and each tensor
//! between them read by nothing else (MobileNet's expand → depthwise → project; ResNet's
//! 1×1 → 3×3 → 1×1 reads as a chain of two). Its middle channels `C` are cut into `G` groups;
//! group `g` computes its channels of every middle tensor from the chain's input, and the
//! last convolution over them as a partial sum that continues group `g − 1`'s
//! ([`crate::model::layers::Conv::accumulator`]): the first group adds the bias, the last
//! rescales. The integers are exactly the chain's (the same sums in another order), so the
//! rewritten model computes the same outputs; what a cut between two groups carries is the
//! chain's input and one partial sum (`in + out` values) instead of the middle tensor (the
//! expanded `6·in` of an inverted residual).

use crate::model::layers::{Conv, Layer};
use crate::model::{CompiledModel, QTensor, TensorId};
use serde::{Deserialize, Serialize};

/// A chain of convolutions split by channels: what the split manifest records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelSplit {
    /// The ONNX nodes of the chain, first to last.
    pub nodes: Vec<String>,
    /// Channels between its convolutions.
    pub channels: usize,
    /// Groups of channels it was split into.
    pub groups: usize,
}

/// A chain found in a model: layers `first..=last`, `channels` between them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chain {
    /// Its first layer.
    pub first: usize,
    /// Its last layer.
    pub last: usize,
    /// Channels between its convolutions.
    pub channels: usize,
}

fn conv(layer: &Layer) -> Option<&Conv> {
    match layer {
        Layer::Conv(c) if c.accumulator.is_none() => Some(c),
        _ => None,
    }
}

/// The chains of `model`, in layer order, none overlapping.
pub fn chains(model: &CompiledModel) -> Vec<Chain> {
    let readers = super::readers(model);
    let only_next = |i: usize| readers[model.layers[i].op().output()] == 1;
    let mut found = Vec::new();
    let mut i = 0;
    while i < model.layers.len() {
        let Some(first) = conv(&model.layers[i]).filter(|c| c.geometry.group == 1) else {
            i += 1;
            continue;
        };
        let channels = first.geometry.out_channels;
        let mut j = i;
        // Depthwise convolutions over the middle channels.
        while let Some(c) = model.layers.get(j + 1).and_then(conv) {
            let g = &c.geometry;
            let reads_prev = c.input == model.layers[j].op().output() && only_next(j);
            if !(reads_prev && g.group == channels && g.in_channels == channels)
                || g.out_channels != channels
            {
                break;
            }
            j += 1;
        }
        let last = model.layers.get(j + 1).and_then(conv).filter(|c| {
            c.geometry.group == 1
                && c.geometry.in_channels == channels
                && c.input == model.layers[j].op().output()
                && only_next(j)
        });
        // Middle tensors have rescaled values (the working scale) and more than one channel.
        let middle_rescaled =
            (i..=j).all(|m| conv(&model.layers[m]).is_some_and(|c| c.rescale.is_some()));
        if last.is_some() && channels > 1 && middle_rescaled {
            found.push(Chain {
                first: i,
                last: j + 1,
                channels,
            });
            i = j + 2;
        } else {
            i += 1;
        }
    }
    found
}

/// `shape` with its channel axis (1) set to `channels`.
fn with_channels(shape: &[usize], channels: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s[1] = channels;
    s
}

/// `model` with each chain `chains[i]` split into `groups[i]` groups of channels (a chain of
/// one group is left as it is). Rows and `k` are those of the old model: size it again.
pub fn split_chains(
    model: &CompiledModel,
    chains: &[Chain],
    groups: &[usize],
) -> (CompiledModel, Vec<ChannelSplit>) {
    let spans: Vec<(usize, usize, usize)> = chains
        .iter()
        .zip(groups)
        .map(|(c, g)| (c.first, c.last, (*g).min(c.channels)))
        .collect();
    super::rewrite_spans(model, &spans, |out, convs, g| {
        let channels = convs[0].geometry.out_channels;
        split_one(out, convs, channels, g);
        ChannelSplit {
            nodes: convs.iter().map(|c| c.node.clone()).collect(),
            channels,
            groups: g,
        }
    })
}

/// Appends to `out` the layers of the chain `convs` split into `groups` groups of its
/// `channels`, and the tensors they write.
fn split_one(out: &mut CompiledModel, convs: &[&Conv], channels: usize, groups: usize) {
    let (middle, last) = convs.split_at(convs.len() - 1);
    let last = last[0];
    fn add_tensor(out: &mut CompiledModel, t: QTensor) -> TensorId {
        out.tensors.push(t);
        out.tensors.len() - 1
    }
    let mut partial: Option<TensorId> = None;
    for g in 0..groups {
        let (c0, c1) = (channels * g / groups, channels * (g + 1) / groups);
        let cg = c1 - c0;
        let label = |node: &str| format!("{node} [channels {c0}..{c1}]");
        // Each middle convolution's output channels c0..c1 (a depthwise one's input too).
        let mut input = middle[0].input;
        for c in middle {
            let m = c.weight.len() / c.geometry.out_channels;
            let mut geometry = c.geometry.clone();
            geometry.out_channels = cg;
            if geometry.group > 1 {
                geometry.group = cg;
                geometry.in_channels = cg;
            }
            let old = &out.tensors[c.output];
            let tensor = QTensor {
                name: format!("{}[{c0}..{c1}]", old.name),
                shape: with_channels(&old.shape, cg),
                scale_bits: old.scale_bits,
            };
            let output = add_tensor(out, tensor);
            out.layers.push(Layer::Conv(Conv {
                node: label(&c.node),
                input,
                output,
                geometry,
                weight: c.weight[c0 * m..c1 * m].to_vec(),
                bias: c.bias[c0..c1].to_vec(),
                rescale: c.rescale,
                check: c.check,
                accumulator: None,
            }));
            input = output;
        }
        // The last convolution over input channels c0..c1, continuing the partial sum.
        let kernel: usize = last.geometry.kernel.iter().product();
        let weight: Vec<i64> = (0..last.geometry.out_channels)
            .flat_map(|o| {
                let row = o * channels * kernel;
                last.weight[row + c0 * kernel..row + c1 * kernel]
                    .iter()
                    .copied()
            })
            .collect();
        let mut geometry = last.geometry.clone();
        geometry.in_channels = cg;
        let final_group = g + 1 == groups;
        let output = if final_group {
            last.output
        } else {
            let old = &out.tensors[last.output];
            let tensor = QTensor {
                name: format!("{} (partial sum over channels ..{c1})", old.name),
                shape: old.shape.clone(),
                scale_bits: old.scale_bits + last.rescale.map_or(0, |r| r.shift),
            };
            add_tensor(out, tensor)
        };
        out.layers.push(Layer::Conv(Conv {
            node: label(&last.node),
            input,
            output,
            geometry,
            weight,
            bias: if g == 0 {
                last.bias.clone()
            } else {
                vec![0; last.bias.len()]
            },
            rescale: if final_group { last.rescale } else { None },
            check: last.check,
            accumulator: partial,
        }));
        partial = Some(output);
    }
}
