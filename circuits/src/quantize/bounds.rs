//! Static bounds: the largest magnitude each tensor can hold whatever the prover does, which
//! is what makes packing public values injective.

use super::{Layer, QTensor, Tables};
use crate::model::{Activation, TensorId};
use crate::ops::{table_bounds, Bounds};

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
    let mut bound = vec![0u128; tensors.len()];
    let table_bounds = table_bounds(tables);
    let identity = Bounds {
        tables: &table_bounds,
        of: &bound,
    }
    .table(Activation::Identity);
    for t in inputs {
        bound[*t] = identity;
    }
    for layer in layers {
        let op = layer.op();
        bound[op.output()] = op.bound(&Bounds {
            tables: &table_bounds,
            of: &bound,
        });
    }
    bound
}
