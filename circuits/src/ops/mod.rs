//! The primitives of a compiled model, one file per family. Each layer type of
//! [`crate::model::layers`] (its data, the `model.json` format) implements [`Op`] here:
//! structural checks, static bounds, integer execution and the rows it lays out; and each
//! file's `lower` makes its layers from the float graph's ops (`lower::Lowering` holds what
//! they share). The drivers only loop: `quantize` lowers, [`crate::exec::run`] executes, `quantize` bounds, [`crate::layout::Plan::build`]
//! lays out and [`crate::model::CompiledModel::validate`] checks, each by calling the op of
//! every layer in order.
//!
//! | file | layers | rows |
//! |---|---|---|
//! | [`linear`] | `Dense`, `Conv`, `Affine` | parameter dot products, then a rescale lookup |
//! | [`product`] | `Product` | dot products of two computed tensors, then a rescale |
//! | [`division`] | `Div` | a checked quotient, a product and two remainder range checks |
//! | [`integer`] | `FloorDiv` | a checked quotient by a constant, two remainder range checks |
//! | [`pooling`] | `MaxPool`, `Sum` | pairwise comparisons through the ReLU table; window sums |
//! | [`elementwise`] | `Add`, `AddConst` | one dot row per element |
//! | [`activation`] | `Activation` | one lookup per element |
//! | [`shape`] | `Select`, `Reshape` | none: the same cells (a zero costs one shared row) |
//!
//! Adding a primitive: its data struct and [`Layer`] variant in `model/layers.rs` (that is
//! the file format), one file here implementing [`Op`], and one line in [`Layer::op`]. The
//! walk-through is `docs/ops.md`.

pub mod activation;
pub mod division;
pub mod elementwise;
pub(crate) mod features;
pub mod integer;
pub mod linear;
pub(crate) mod lower;
pub mod pooling;
pub mod product;
pub mod shape;
mod validate;

use crate::error::{CircuitError, Result};
use crate::fixed_point::rescale;
use crate::gadgets::{CellRef, Gadgets, Param};
use crate::model::{Activation, CompiledModel, Layer, QTensor, Rescale, Tables, TensorId};
use std::collections::BTreeMap;

/// What `profile` counts a layer's rows as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Dot products, sums and products.
    Linear,
    /// Lookups, comparisons and division.
    NonLinear,
    /// Rearrangements (no rows).
    Shape,
}

impl Kind {
    /// The name `profile` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::NonLinear => "non-linear",
            Self::Shape => "shape",
        }
    }
}

/// Everything a primitive does once lowered.
pub trait Op {
    /// The tensor the layer writes.
    fn output(&self) -> TensorId;
    /// What its rows count as.
    fn kind(&self) -> Kind;
    /// Checks what a hand-edited or corrupted `model.json` could break (tensor sizes, lengths,
    /// tables), so that nothing later indexes out of range. The message names the problem;
    /// the caller adds the layer.
    fn validate(&self, cx: &Check<'_>) -> std::result::Result<(), String>;
    /// The largest magnitude its output can hold whatever the prover does.
    fn bound(&self, cx: &Bounds<'_>) -> u128;
    /// Its output on integers, with exactly the arithmetic the circuit constrains.
    fn execute(&self, cx: &Exec<'_>) -> Result<Vec<i64>>;
    /// Lays out its rows; returns the cells of its output.
    fn lay_out(&self, g: &mut dyn Gadgets, cx: &LayOut<'_>) -> Vec<CellRef>;
}

impl Layer {
    /// The layer's primitive (the registry: one line per layer type).
    pub fn op(&self) -> &dyn Op {
        match self {
            Self::Dense(op) => op,
            Self::Conv(op) => op,
            Self::Affine(op) => op,
            Self::Select(op) => op,
            Self::MaxPool(op) => op,
            Self::Add(op) => op,
            Self::Product(op) => op,
            Self::Div(op) => op,
            Self::FloorDiv(op) => op,
            Self::Sum(op) => op,
            Self::AddConst(op) => op,
            Self::Activation(op) => op,
            Self::Reshape(op) => op,
        }
    }
}

/// What [`Op::validate`] checks against.
pub struct Check<'a> {
    /// The model being checked (its tensors and tables).
    pub model: &'a CompiledModel,
}

impl Check<'_> {
    /// Number of elements of tensor `t`, or why there is no such tensor.
    pub fn numel(&self, t: TensorId) -> std::result::Result<usize, String> {
        let n = self.model.tensors.len();
        self.model
            .tensors
            .get(t)
            .map(QTensor::numel)
            .ok_or_else(|| format!("tensor id {t} out of range (there are {n})"))
    }

    /// That `what` has `want` values.
    pub fn len_is(&self, what: &str, got: usize, want: usize) -> std::result::Result<(), String> {
        if got == want {
            Ok(())
        } else {
            Err(format!("{what}: {got} values where {want} are needed"))
        }
    }

    /// Whether the tables hold `act`.
    pub fn has_table(&self, act: Activation) -> bool {
        self.model.tables.activations.contains_key(&act)
    }

    /// That a fused rescale's activation has its table.
    pub fn rescale_ok(&self, rescale: Option<Rescale>) -> std::result::Result<(), String> {
        let tables = &self.model.tables;
        match rescale {
            Some(r) if !self.has_table(r.act) => Err("no table for its activation".into()),
            Some(r)
                if self.model.layout.one_row_rescale && !tables.range_shifts.contains(&r.shift) =>
            {
                Err("a one-row rescale without the range table of its shift".into())
            }
            _ => Ok(()),
        }
    }

    /// Whether every limb of a `bits`-bit range check has its range table.
    pub fn has_range(&self, bits: u32) -> bool {
        let tables = &self.model.tables;
        tables
            .limbs(bits)
            .iter()
            .all(|b| tables.range_shifts.contains(b))
    }
}

/// What [`Op::bound`] computes from: the tables and the bounds of the tensors before it.
pub struct Bounds<'a> {
    /// The largest magnitude each activation's table outputs (see [`table_bounds`]).
    pub tables: &'a BTreeMap<Activation, u128>,
    /// The bound of every tensor computed so far, by id.
    pub of: &'a [u128],
}

/// The largest magnitude each activation's table can output (the identity's: its range),
/// computed once for a model: each is a scan of the whole table.
pub fn table_bounds(tables: &Tables) -> BTreeMap<Activation, u128> {
    tables
        .activations
        .iter()
        .map(|(act, b)| {
            let bound = if *act == Activation::Identity {
                1u128 << (b - 1)
            } else {
                let half = 1i128 << (b - 1);
                (-half..half)
                    .map(|x| tables.apply(*act, x).unsigned_abs())
                    .max()
                    .unwrap_or(0)
            };
            (*act, bound)
        })
        .collect()
}

impl Bounds<'_> {
    /// The largest magnitude `act`'s table can output (0 without a table).
    pub fn table(&self, act: Activation) -> u128 {
        self.tables.get(&act).copied().unwrap_or(0)
    }

    /// The bound of an accumulator `bias + Σ x·w` whose `x` are bounded by `input`'s bound
    /// and whose weights sum to `weights_abs` in magnitude.
    pub fn accumulator(&self, input: TensorId, weights_abs: u128, bias: i64) -> u128 {
        weights_abs
            .saturating_mul(self.of[input])
            .saturating_add(u128::from(bias.unsigned_abs()))
    }
}

/// What [`Op::execute`] reads: the model (tables, tensor scales) and every tensor so far.
pub struct Exec<'a> {
    /// The model.
    pub model: &'a CompiledModel,
    /// The values of every tensor computed so far, by id.
    pub values: &'a [Vec<i64>],
    /// The layer's ONNX node (for errors).
    pub node: &'a str,
}

impl Exec<'_> {
    /// Checks that `value` fits the signed lookup table of `act`.
    pub fn check_range(&self, act: Activation, value: i128) -> Result<()> {
        check_range_at(self.model, act, value, || format!("node `{}`", self.node))
    }

    /// Rescales (and activates) an accumulator, or keeps it when there is no rescale; the
    /// value as stored.
    pub fn finish(&self, acc: i128, rs: Option<Rescale>) -> Result<i64> {
        let v = match rs {
            Some(r) => {
                let (q, _) = rescale(acc, r.shift);
                self.check_range(r.act, q)?;
                self.model.tables.apply(r.act, q)
            }
            None => acc,
        };
        self.narrow(v)
    }

    /// A value as stored (64 bits), or an overflow naming the node.
    pub fn narrow(&self, v: i128) -> Result<i64> {
        i64::try_from(v).map_err(|_| CircuitError::Overflow {
            at: format!("node `{}`", self.node),
            value: v,
            bits: 64,
        })
    }
}

/// Checks that `value` fits the signed `bits`-bit lookup table of `act`, naming the place
/// `at()` on overflow.
pub fn check_range_at(
    model: &CompiledModel,
    act: Activation,
    value: i128,
    at: impl FnOnce() -> String,
) -> Result<()> {
    let bits = model.tables.activations.get(&act).copied().unwrap_or(0);
    if !crate::fixed_point::fits_signed(value, bits) {
        return Err(CircuitError::Overflow {
            at: at(),
            value,
            bits,
        });
    }
    Ok(())
}

/// What [`Op::lay_out`] reads: the model, the cells of every tensor so far, and where the
/// layer's parameters start among the model's.
pub struct LayOut<'a> {
    /// The model.
    pub model: &'a CompiledModel,
    /// The cells of every tensor laid out so far, by id.
    pub cells: &'a [Vec<CellRef>],
    /// Index of the layer's first parameter in [`CompiledModel::parameters`].
    pub params: usize,
}

impl LayOut<'_> {
    /// The layer's `i`-th parameter, of value `v`.
    pub fn param(&self, i: usize, v: i64) -> Param {
        Param {
            value: i128::from(v),
            index: self.params + i,
        }
    }
}

/// Rescales (and activates) an accumulator cell, or keeps it when there is no rescale.
pub fn finish_cell(g: &mut dyn Gadgets, acc: CellRef, rescale: Option<Rescale>) -> CellRef {
    match rescale {
        Some(r) => g.rescale(acc, r.shift, r.act),
        None => acc,
    }
}
