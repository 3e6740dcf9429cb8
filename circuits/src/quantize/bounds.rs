//! Static bounds: the largest magnitude each tensor can hold whatever the prover does, which
//! is what makes packing public values injective.

use super::{Layer, QTensor, Tables};
use crate::model::{Activation, TensorId};

/// Bits of a signed value whose magnitude is at most `bound`.
pub(super) fn signed_bits(bound: u128) -> u32 {
    (128 - bound.leading_zeros()) + 1
}

/// An upper bound on the magnitude of every tensor that holds no matter what the prover does:
/// inputs and activation outputs are bounded by their lookup tables, everything else by
/// arithmetic on those bounds. Public outputs are packed with these widths.
pub(super) fn static_bounds(
    tensors: &[QTensor],
    layers: &[Layer],
    inputs: &[TensorId],
    tables: &Tables,
) -> Vec<u128> {
    let table = |act: &Activation| {
        tables.activations.get(act).map_or(0, |b| {
            if *act == Activation::Identity {
                return 1u128 << (b - 1);
            }
            let half = 1i128 << (b - 1);
            (-half..half)
                .map(|x| tables.apply(*act, x).unsigned_abs())
                .max()
                .unwrap_or(0)
        })
    };
    let mut bound = vec![0u128; tensors.len()];
    for t in inputs {
        bound[*t] = table(&Activation::Identity);
    }
    for layer in layers {
        match layer {
            Layer::Dense {
                input,
                output,
                n_in,
                n_out,
                weight,
                bias,
                rescale,
                ..
            } => {
                bound[*output] = match rescale {
                    Some(r) => table(&r.act),
                    None => (0..*n_out)
                        .map(|j| {
                            let w: u128 = (0..*n_in)
                                .map(|i| u128::from(weight[i * n_out + j].unsigned_abs()))
                                .sum();
                            w.saturating_mul(bound[*input])
                                .saturating_add(u128::from(bias[j].unsigned_abs()))
                        })
                        .max()
                        .unwrap_or(0),
                };
            }
            Layer::Conv {
                input,
                output,
                geometry,
                weight,
                bias,
                rescale,
                ..
            } => {
                bound[*output] = match rescale {
                    Some(r) => table(&r.act),
                    None => {
                        let mut max = 0u128;
                        geometry.for_each_output(|_, o, terms| {
                            let w: u128 = terms
                                .iter()
                                .map(|(_, wi)| u128::from(weight[*wi].unsigned_abs()))
                                .sum();
                            max = max.max(
                                w.saturating_mul(bound[*input])
                                    .saturating_add(u128::from(bias[o].unsigned_abs())),
                            );
                        });
                        max
                    }
                };
            }
            Layer::Affine {
                input,
                output,
                weight,
                bias,
                rescale,
                ..
            } => {
                bound[*output] = match rescale {
                    Some(r) => table(&r.act),
                    None => weight
                        .iter()
                        .zip(bias)
                        .map(|(w, b)| {
                            u128::from(w.unsigned_abs())
                                .saturating_mul(bound[*input])
                                .saturating_add(u128::from(b.unsigned_abs()))
                        })
                        .max()
                        .unwrap_or(0),
                };
            }
            Layer::MaxPool { input, output, .. } => bound[*output] = bound[*input],
            Layer::Select { inputs, output, .. } => {
                bound[*output] = inputs.iter().map(|t| bound[*t]).max().unwrap_or(0)
            }
            Layer::Add { a, b, output, .. } => bound[*output] = bound[*a].saturating_add(bound[*b]),
            Layer::AddConst {
                input,
                constant,
                output,
                ..
            } => {
                let c = constant
                    .iter()
                    .map(|c| u128::from(c.unsigned_abs()))
                    .max()
                    .unwrap_or(0);
                bound[*output] = bound[*input].saturating_add(c);
            }
            Layer::Activation { act, output, .. } => bound[*output] = table(act),
            Layer::Sum {
                input,
                output,
                windows,
                ..
            } => {
                let widest = windows.iter().map(Vec::len).max().unwrap_or(0) as u128;
                bound[*output] = bound[*input].saturating_mul(widest);
            }
            Layer::Product {
                a,
                b,
                output,
                dims,
                rescale,
                ..
            } => {
                bound[*output] = match rescale {
                    Some(r) => table(&r.act),
                    None => bound[*a]
                        .saturating_mul(bound[*b])
                        .saturating_mul(dims.k as u128),
                };
            }
            // The quotient is range-checked by the identity table.
            Layer::Div { output, .. } => bound[*output] = table(&Activation::Identity),
            Layer::Reshape { input, output, .. } => bound[*output] = bound[*input],
        }
    }
    bound
}
