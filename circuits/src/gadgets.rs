//! The instructions an op lays out its rows with: the gadgets of the model circuit's gate set
//! (dot products, parameter dot products, rescale and activation lookups, products of two
//! computed values, division). [`crate::ops`] speaks only this interface;
//! [`crate::layout`]'s builder implements it (the row shapes are in its module docs), so an op
//! never sees columns, selectors or the witness of anything but its own cells.

use crate::model::Activation;

/// An advice cell: column index (`0..W` are `x`, `W` is `acc`) and row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CellRef {
    /// Advice column index.
    pub col: usize,
    /// Row.
    pub row: usize,
}

/// The range a [`Checked`] cell's value was constrained to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// `0 ≤ v < 2^bits`.
    Unsigned(u32),
    /// `−2^(bits−1) ≤ v < 2^(bits−1)`.
    Signed(u32),
}

/// A cell whose value the circuit constrains to a [`Range`] (halo2-lib's `SafeType`): what a
/// range check returns, so that a signature taking or returning one says the check was laid
/// out. Only the range-checking gadgets make one (`Checked::laid_out` is for their
/// implementation); everything else reads it as a plain cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    cell: CellRef,
    range: Range,
}

impl Checked {
    /// `cell`, whose range check to `range` the caller has just laid out.
    pub(crate) fn laid_out(cell: CellRef, range: Range) -> Self {
        Self { cell, range }
    }

    /// The cell.
    pub fn cell(self) -> CellRef {
        self.cell
    }

    /// The range its value is in.
    pub fn range(self) -> Range {
        self.range
    }
}

/// A model parameter in a dot product: its value and its index in
/// [`crate::model::CompiledModel::parameters`] (with private weights, every use of one index
/// is tied to its first cell).
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// The parameter's value.
    pub value: i128,
    /// Its index among the model's parameters.
    pub index: usize,
}

/// The gadgets of the model circuit. Every method lays out the rows it needs and returns the
/// cell of its result; the values follow the witness when there is one.
pub trait Gadgets {
    /// `bias + Σ value(cell)·weight` for constant weights, over as many rows as needed.
    fn dot(&mut self, terms: &[(CellRef, i64)], bias: i128) -> CellRef;
    /// `bias + Σ value(cell)·weight` where the weights and the bias are model parameters
    /// (fixed values, or advice cells tied to each parameter's first use).
    fn param_dot(&mut self, terms: &[(CellRef, Param)], bias: Param) -> CellRef;
    /// `value(start) + bias + Σ value(cell)·weight`: a parameter dot product continuing a
    /// partial sum (a convolution split by channels). By default one more dot row adds it;
    /// a layout with room in the chain's rows takes it as one more term.
    fn param_dot_onto(
        &mut self,
        start: CellRef,
        terms: &[(CellRef, Param)],
        bias: Param,
    ) -> CellRef {
        let acc = self.param_dot(terms, bias);
        self.dot(&[(acc, 1), (start, 1)], 0)
    }
    /// `value(cell) + k` for a model parameter `k`.
    fn add_param(&mut self, cell: CellRef, k: Param) -> CellRef;
    /// `act(round(value(acc) / 2^shift))`: the division's remainder range-checked, the
    /// activation by lookup.
    fn rescale(&mut self, acc: CellRef, shift: u32, act: Activation) -> CellRef;
    /// `act(value(src))` by lookup (which also range-checks the input).
    fn activation(&mut self, src: CellRef, act: Activation) -> CellRef;
    /// `Σ value(a)·value(b)` over pairs of computed cells.
    fn product(&mut self, pairs: &[(CellRef, CellRef)]) -> CellRef;
    /// `round(value(a)·2^shift / value(b))` for `value(b) > 0`, the remainders range-checked
    /// to `range_bits`; the quotient is checked by the identity's range.
    fn divide(&mut self, a: CellRef, b: CellRef, shift: u32, range_bits: u32) -> Checked;
    /// `(q, r)` with `q = ⌊value(a) / d⌋` and `r = value(a) − d·q` for a constant `d > 0`:
    /// `q` a witness range-checked by the identity table, `r` and `d − 1 − r` range-checked
    /// to `range_bits` (so `0 ≤ r < d`, which pins `q`).
    fn floor_div(&mut self, a: CellRef, d: i64, range_bits: u32) -> (Checked, Checked);
    /// A cell constrained to zero (shared).
    fn zero(&mut self) -> CellRef;
    /// The accumulators `Y = W·X + b` of a matrix product with constant weights, checked by
    /// one randomized (Freivalds) identity in the circuit's second phase instead of a dot
    /// product per element; returns `Y`'s cells, `[n_out][cols]` row-major (rescaled by
    /// `product.rescale` when it has one; a test fault's element then counts in that order).
    fn freivalds(&mut self, product: &MatrixProduct<'_>) -> Vec<CellRef>;
}

/// `Y = W·X + b` for [`Gadgets::freivalds`].
#[derive(Clone, Copy, Debug)]
pub struct MatrixProduct<'a> {
    /// `W`, `[n_out][n_in]` row-major.
    pub weights: &'a [i64],
    /// `b`, `[n_out]`, at the accumulator's scale.
    pub bias: &'a [i64],
    /// `X`, `[n_in][cols]` row-major; `None` is a zero (padding).
    pub x: &'a [Option<CellRef>],
    /// Rows of `W` and `Y`.
    pub n_out: usize,
    /// Columns of `W`, rows of `X`.
    pub n_in: usize,
    /// Columns of `X` and `Y`.
    pub cols: usize,
    /// The rescale (and activation) of every element of `Y`, if any: the gadget then returns
    /// the rescaled outputs, fused with the check where the layout allows (see
    /// [`crate::layout`]'s `freivalds` module).
    pub rescale: Option<crate::model::layers::Rescale>,
}

/// Rows of a [`Gadgets::freivalds`] check of `Y = W·X + b` (`n × m` weights, `p` columns) at
/// width `w` (the shared zero and one cells aside): Horner chains over `Y`'s and `X`'s rows
/// (`⌈p/w⌉` rows each) and over `W`'s columns (`⌈n/w⌉` each), then one row per result and
/// product, and the check.
pub fn freivalds_rows(n: usize, m: usize, p: usize, w: usize) -> usize {
    (n + m + 1) * p.div_ceil(w) + (m + 1) * n.div_ceil(w) + n + (m + 1) + 1
}
