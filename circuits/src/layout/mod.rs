//! The layout planner: a compiled model (and, when proving, its inputs) becomes a [`Plan`] —
//! every advice value, fixed value, selector and copy constraint of the circuit, decided
//! natively before halo2 sees anything. The circuit then only writes the plan out, which
//! keeps synthesis trivial and lets tests corrupt any single cell.
//!
//! Columns: `x[0..W]` and `acc` (advice), `w[0..W]`, `bias`, `tag` (fixed), one instance
//! column, and a three-column lookup table `(tag, in, out)`.
//!
//! Row shapes:
//! ```text
//! dot product, first row:  | x0 .. x(W-1) | acc = bias + Σ xi·wi          |  w0 .. w(W-1), bias
//! dot product, next rows:  | x0 .. x(W-1) | acc = acc(prev)·m + Σ xi·wi   |  w0 .. w(W-1), m in bias
//!                          (m = 1 for dot products, m = 2^B when packing public values)
//! rescale (2 rows):        | q | y | .. | a |  a + half = q·2^s + r     |  w0 = 2^s, w1 = half, tag = f
//!                          | r | 0 | .. |   |  (range(s), r, 0) ∈ table, (f, q, y) ∈ table
//! rescale (1 row):         | q | y | r .. | a |  a + half = q·2^s + r   |  w0 = 2^s, w1 = half, tag = f,
//!                          (f, q, y) ∈ table; (w2, r, 0) ∈ table by a second lookup    w2 = range(s)
//!                          (models compiled with `one_row_rescale`, where it lowers k)
//! activation:              | x | y | .. |   |  (f, x, y) ∈ table
//! public input element:    | x | x | .. |   |  (identity, x, x) ∈ table: x is in range
//! product, first row:      | a0 .. a(h-1) | b0 .. b(h-1) | acc = Σ ai·bi        |  h = ⌊W/2⌋
//! product, next rows:      | a0 .. a(h-1) | b0 .. b(h-1) | acc = acc(prev) + Σ ai·bi |
//! range check:             | v | 0 | .. |   |  (range(bits), v, 0) ∈ table
//! limbed range check:      | l_j | 0 | .. | acc = [acc(prev) +] l_j·2^(Σ widths below) |  (range(width_j), l_j, 0) ∈ table
//!                          (one row per limb, lowest first; the first row's bias is −offset,
//!                          2^(B−1) for a signed check; the last acc is copied to the value)
//! segment boundary input:  the limbed check's rows alone (limbs of `Tables::boundary_limbs`,
//!                          offset 2^(B−1)), its last acc the input value (a split model's
//!                          boundary, `IoSpec::boundary`: B is its packing width, then the
//!                          values are packed and hashed as a hashed input's cells are); with
//!                          one-row rescales and at most two limbs, one split check row instead
//!                          (below, `s` the low limb's width, `b − s` the high one's)
//! split identity check:    | hi | 0 | lo | .. | v |  v + 2^(b−1) = hi·2^s + lo   |  w0 = 2^s (0 without hi), w1 = 2^(b−1),
//!                          (range(b−s), hi, 0), (w2, lo, 0) ∈ table               w2 = range(s), tag = range(b−s)
//!                          (the one-row rescale's gate and lookups; models with `Tables::identity_split`:
//!                          every identity check — inputs, quotients, rescales to the identity — is
//!                          such a row, and the `2^b`-row identity table is never built)
//! ```
//! Models compiled with [`Tables::limb_bits`] check ranges wider than it by limbs, and their
//! identity "table" of such a width is never built: its checks (inputs, quotients, rescales to
//! the identity) are signed limb checks.
//! The product gates (two computed operands: attention, gating, layer normalization) exist only
//! in circuits of models that multiply two computed tensors, so other verifying keys do not
//! change. Division by a computed `b > 0` is `q` (identity-checked), `t = q·b` (product row),
//! `r = 2^(s+1)·a + b − 2t` and `2b − 1 − r` (dot rows), both range-checked.
//! Private or hashed weights add advice columns `wv0 .. wv(W-1)`, `bv` and two gates:
//! ```text
//! parameter dot, first row: | x0 .. x(W-1) | acc = bv + Σ xi·wvi        | wv0 .. wv(W-1) | bv
//! parameter dot, next rows: | x0 .. x(W-1) | acc = acc(prev) + Σ xi·wvi | wv0 .. wv(W-1) |
//! ```
//! every use of a parameter copy-constrained to its first; with hashed weights, the first cells
//! are hashed (in [`CompiledModel::parameters`] order, then the salt) into the last instance.
//!
//! Poseidon (only in circuits with a hashed input or output; `s` in `x0..x2`, the squares `a`
//! beside it in `x3..x5`, constants in the fixed columns `c0..c2`):
//! ```text
//! sponge start + absorb:   | s0 s1 s2 |             s = [len, 0, 0]; c0 = len, c1/c2 = 1 or 0
//!                          | .  m1 m2 |             message pair
//!                          | s' ...   |             s' = s + [0, c1·m1, c2·m2] (round 0 here)
//! partial round (1 row):   | s0 s1 s2 | a0 |        c = round constants, a0 = (s0 + c0)²
//!                          | next s   |             = MDS · [(s0 + c0)·a0², s1 + c1, s2 + c2]
//! full round (1 row):      | s0 s1 s2 | a0 a1 a2 |  a = (s + c)², next s = MDS · ((s + c)·a²)
//! full round, fewer than 6 advice columns (2 rows): the squares in the row below the state
//! (`x0..x2`), the next state in the row after (`poseidon::full_round_in_one_row`).
//! ```
//! The digest is `s1` after the last permutation; it goes to an instance.
//!
//! Linear layers compiled with randomized checks ([`crate::model::LinearCheck::Freivalds`])
//! add three second-phase advice columns and five gates (six with one-row rescales): see the
//! `freivalds` module.
//!
//! Public values are packed, `⌊252 / B⌋` signed `B`-bit values per instance, by chained dot
//! rows with multiplier `2^B` (see [`crate::fixed_point::pack`]); in the compact layout (with
//! one-row rescales) up to `W` values per row, weights `2^(B·(W−1−i))` and multiplier
//! `2^(B·W)`, the first row padded in front with zeros. Inputs are range-checked by
//! the identity table and outputs have static bounds, so the packing is injective. Shape ops
//! (reshape, flatten) reuse cells and cost no rows.

mod audit;
mod freivalds;
mod layers;
pub mod optimize;
mod public;
mod ranges;
mod sponge;

pub use freivalds::FGate;
pub use sponge::{PoseidonGate, PoseidonRow};

use crate::error::Result;
use crate::fixed_point::{divide, from_field, rescale, to_field};
pub use crate::gadgets::CellRef;
use crate::gadgets::{Checked, Gadgets, MatrixProduct, Param};
use crate::model::Activation;
use crate::model::{CompiledModel, IoSpec, Tables, Visibility};
use crate::Fr;
use halo2_proofs::halo2curves::ff::Field;

/// Table tag of an activation function: its position among the model's tables, from 1.
pub fn act_tag(tables: &Tables, act: Activation) -> u64 {
    let index = tables
        .activations
        .keys()
        .position(|a| *a == act)
        .expect("every activation used has a table");
    1 + index as u64
}

/// Table tag of the weights' signed range check (private and hashed weights).
pub const WEIGHT_RANGE_TAG: u64 = 200;

/// Table tag of the range check `0 ≤ r < 2^shift`.
pub fn range_tag(shift: u32) -> u64 {
    64 + u64::from(shift)
}

/// Every row of the lookup table `(tag, in, out)`; the all-zero row first (the value seen by
/// rows that do not look anything up).
pub fn table_rows(tables: &Tables) -> Vec<(u64, i128, i128)> {
    let mut rows = vec![(0, 0, 0)];
    if let Some(bits) = tables.weight_bits {
        let half = 1i128 << (bits - 1);
        rows.extend((-half..half).map(|x| (WEIGHT_RANGE_TAG, x, 0)));
    }
    for shift in &tables.range_shifts {
        rows.extend((0..1i128 << shift).map(|r| (range_tag(*shift), r, 0)));
    }
    for (index, (act, bits)) in tables.activations.iter().enumerate() {
        if tables.limbed_table(*act, *bits) {
            continue;
        }
        let half = 1i128 << (bits - 1);
        let tag = 1 + index as u64;
        rows.extend((-half..half).map(|x| (tag, x, tables.apply(*act, x))));
    }
    rows
}

/// The rows a layer occupies, for naming a failing constraint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRows {
    /// The ONNX node (or `inputs` / `outputs`).
    pub node: String,
    /// First row.
    pub start: usize,
    /// One past the last row.
    pub end: usize,
}

/// The whole circuit, decided natively.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Multiply-accumulates per row.
    pub width: usize,
    /// Rows used.
    pub rows: usize,
    /// Whether advice values are a real witness (false for key generation).
    pub witness: bool,
    /// Advice values, `[W + 1][rows]` (empty columns when there is no witness).
    pub advice: Vec<Vec<Fr>>,
    /// Fixed weight columns, `[W][rows]`.
    pub weights: Vec<Vec<i64>>,
    /// Fixed bias column (first dot rows) / accumulator multiplier (chained dot rows).
    pub bias: Vec<i128>,
    /// Fixed lookup tag column.
    pub tag: Vec<u64>,
    /// Selector of first dot-product rows.
    pub dot_first: Vec<bool>,
    /// Selector of chained dot-product rows.
    pub dot_next: Vec<bool>,
    /// Selector of first parameter-dot rows (private weights only).
    pub pdot_first: Vec<bool>,
    /// Selector of chained parameter-dot rows (private weights only).
    pub pdot_next: Vec<bool>,
    /// Selector of first product rows (two computed operands).
    pub prod_first: Vec<bool>,
    /// Selector of chained product rows.
    pub prod_next: Vec<bool>,
    /// Selector of rescale rows.
    pub rescale: Vec<bool>,
    /// Selector of lookup rows.
    pub lookup: Vec<bool>,
    /// Selector of one-row rescales (their remainder looked up by the second lookup).
    pub rescale_one: Vec<bool>,
    /// Whether the circuit has the one-row rescale gate and the second lookup.
    pub one_row_rescale: bool,
    /// Rows the compact layout (one-row rescales) would save over this plan: each rescale its
    /// remainder's row (and the limb rows of a remainder checked by limbs), each randomized
    /// check fused with its rescales `Y`'s rows, packing several public values per row the
    /// rest.
    pub one_row_savings: usize,
    /// The part of `one_row_savings` from fusing randomized checks with their rescales (which
    /// checking those layers directly would not have).
    pub fused_savings: usize,
    /// Rescales to the identity checked by its table: each would take one more row (its
    /// output's check) with split identity checks ([`Tables::identity_split`]).
    pub identity_rescales: usize,
    /// The shifts of the plan's rescales (the range tables one-row rescales look up).
    pub rescale_shifts: std::collections::BTreeSet<u32>,
    /// Copy constraints between advice cells.
    pub copies: Vec<(CellRef, CellRef)>,
    /// Advice cells exposed at instance rows (packed inputs, then packed outputs).
    pub to_instance: Vec<(CellRef, usize)>,
    /// The public instance values.
    pub instances: Vec<Fr>,
    /// The quantized model outputs the circuit computes, one vector per output.
    pub outputs: Vec<Vec<i64>>,
    /// Where each layer lives.
    pub layers: Vec<LayerRows>,
    /// Whether the circuit has the Poseidon gates.
    pub poseidon: bool,
    /// Whether the weights are advice (`wv`, `bv` columns and the parameter-dot gates).
    pub private_weights: bool,
    /// Whether the circuit has the product gates.
    pub products: bool,
    /// Poseidon rows: where each Poseidon gate is enabled, and its constants.
    pub poseidon_rows: Vec<PoseidonRow>,
    /// The commitments of hashed inputs then outputs, in order.
    pub commitments: Vec<Fr>,
    /// Whether the circuit has the second-phase columns and gates of randomized checks.
    pub freivalds: bool,
    /// The second-phase gate of each row (see [`freivalds`]).
    pub fgate: Vec<FGate>,
    /// Second-phase copies into `e1`/`e2`, in row order: (row, 1 or 2, source row in `h`).
    pub fcopies: Vec<(usize, usize, usize)>,
}

/// A deliberate lie, for tests: the output of one activation lookup is off by `delta` and
/// everything downstream (public outputs included) is computed honestly from it, as a
/// cheating prover would do. Only the lookup can catch it.
#[derive(Clone, Copy, Debug)]
pub struct Fault {
    /// Index of the layer in `CompiledModel::layers`.
    pub layer: usize,
    /// Element of the layer's output (with `accumulator`, of its randomized-checked product
    /// `Y`, `[n][P]` row-major).
    pub element: usize,
    /// What is added to the true value.
    pub delta: i128,
    /// Whether the lie is about an accumulator checked by a randomized (Freivalds) check
    /// instead of an activation output.
    pub accumulator: bool,
}

struct Builder {
    plan: Plan,
    tables: Tables,
    fault: Option<Fault>,
    layer: usize,
    element: usize,
    /// Weights are advice (`wv`, `bv` columns) instead of fixed values.
    private_weights: bool,
    /// The first cell holding each model parameter (private weights only).
    param_cells: Vec<Option<CellRef>>,
    /// Cells constrained to constants, each made once it is needed.
    constants: std::collections::HashMap<i128, CellRef>,
    /// Rescale outputs to the identity still to be checked by split rows (after the rescale
    /// rows of a fused product, whose chain must stay unbroken).
    pending_splits: Vec<CellRef>,
}

impl Builder {
    fn row(&mut self) -> usize {
        let p = &mut self.plan;
        let r = p.rows;
        p.rows += 1;
        if p.witness {
            p.advice.iter_mut().for_each(|c| c.push(Fr::ZERO));
        }
        p.weights.iter_mut().for_each(|c| c.push(0));
        p.bias.push(0);
        p.tag.push(0);
        p.fgate.push(FGate::None);
        for sel in [
            &mut p.dot_first,
            &mut p.dot_next,
            &mut p.pdot_first,
            &mut p.pdot_next,
            &mut p.prod_first,
            &mut p.prod_next,
            &mut p.rescale,
            &mut p.lookup,
            &mut p.rescale_one,
        ] {
            sel.push(false);
        }
        r
    }

    /// The value at a cell: zero in a plan without a witness, which stores no advice values.
    fn value(&self, c: CellRef) -> Fr {
        if !self.plan.witness {
            return Fr::ZERO;
        }
        self.plan.advice[c.col][c.row]
    }

    /// Writes the value at a cell (nothing without a witness: a plan for key generation or
    /// for counting rows has no advice values, which is most of a plan's memory).
    fn set(&mut self, col: usize, row: usize, v: Fr) {
        if self.plan.witness {
            self.plan.advice[col][row] = v;
        }
    }

    /// The value of a cell as a small integer (every value but a packed one is).
    fn int(&self, c: CellRef) -> i128 {
        from_field(&self.value(c)).expect("unpacked values are small integers")
    }

    /// The activation output of the current element, with the test fault applied if it is this one.
    fn activate(&mut self, act: Activation, x: i128) -> i128 {
        self.tables.apply(act, x) + self.next_fault()
    }

    /// Moves on to the layer's next element; the test fault's lie if it is this one, else 0.
    fn next_fault(&mut self) -> i128 {
        let e = self.element;
        self.element += 1;
        self.fault
            .filter(|f| f.layer == self.layer && f.element == e && !f.accumulator)
            .map_or(0, |f| f.delta)
    }

    /// Places a copy of `src` at `dst`.
    fn copy(&mut self, src: CellRef, dst: CellRef) {
        self.set(dst.col, dst.row, self.value(src));
        self.plan.copies.push((src, dst));
    }

    /// Lays out `bias + Σ value(cell)·weight` over as many rows as needed; returns the cell of
    /// the final accumulator.
    fn dot(&mut self, terms: &[(CellRef, i64)], bias: i128) -> CellRef {
        self.chain(terms, bias, 1, self.plan.width)
    }

    /// Like [`Self::dot`], `per_row` terms per row, with the accumulator multiplied by
    /// `multiplier` at each chained row.
    fn chain(
        &mut self,
        terms: &[(CellRef, i64)],
        bias: i128,
        multiplier: i128,
        per_row: usize,
    ) -> CellRef {
        let w = self.plan.width;
        let mut acc = to_field(bias);
        let first = self.row();
        self.plan.dot_first[first] = true;
        self.plan.bias[first] = bias;
        let mut r = first;
        for (i, chunk) in terms.chunks(per_row).enumerate() {
            if i > 0 {
                r = self.row();
                self.plan.dot_next[r] = true;
                self.plan.bias[r] = multiplier;
                acc *= to_field(multiplier);
            }
            for (slot, (src, weight)) in chunk.iter().enumerate() {
                self.copy(*src, CellRef { col: slot, row: r });
                self.plan.weights[slot][r] = *weight;
                if self.plan.witness {
                    acc += self.value(*src) * to_field(i128::from(*weight));
                }
            }
            self.set(w, r, acc);
        }
        self.set(w, r, acc);
        CellRef { col: w, row: r }
    }

    /// Rescales the accumulator at `acc` by `2^shift` and applies `act`; returns the output cell.
    fn rescale(&mut self, acc: CellRef, shift: u32, act: Activation) -> CellRef {
        let out = self.rescale_row(Ok(acc), shift, act, 0).1;
        self.flush_splits();
        out
    }

    /// Rescales `a + offset` by `2^shift` and applies `act`, where `a` is copied from a cell
    /// (`Ok`) or placed as a fresh witness (`Err`) in the accumulator of the rescale's top
    /// row, and `offset` (a constant; only one-row rescales take a non-zero one) is added by
    /// the row's fixed `half`. Returns the top row and the output cell.
    fn rescale_row(
        &mut self,
        acc: std::result::Result<CellRef, Fr>,
        shift: u32,
        act: Activation,
        offset: i128,
    ) -> (usize, CellRef) {
        let w = self.plan.width;
        let a = match acc {
            Ok(cell) => self.int(cell),
            Err(v) if self.plan.witness => from_field(&v).expect("accumulators are small integers"),
            Err(_) => 0,
        };
        let (q, r) = rescale(a + offset, shift);
        let y = self.activate(act, q);
        let limbed = self.tables.limbed(shift);
        let top = self.row();
        match acc {
            Ok(cell) => self.copy(cell, CellRef { col: w, row: top }),
            Err(v) => self.set(w, top, v),
        }
        self.set(0, top, to_field(q));
        self.set(1, top, to_field(y));
        let half = if shift == 0 { 0 } else { 1i128 << (shift - 1) };
        debug_assert!(offset == 0 || self.plan.one_row_rescale);
        let p = &mut self.plan;
        p.weights[0][top] = 1i64 << shift;
        p.weights[1][top] = i64::try_from(half + offset).expect("a rescale offset fits 63 bits");
        let q_cell = CellRef { col: 0, row: top };
        self.plan.rescale_shifts.insert(shift);
        if self.plan.one_row_rescale {
            // r beside q and y, looked up in the whole range(shift) table by the second
            // lookup, its tag in w2.
            self.set(2, top, to_field(r));
            self.plan.weights[2][top] = range_tag(shift) as i64;
            self.plan.rescale_one[top] = true;
        } else {
            let bottom = self.row();
            self.set(0, bottom, to_field(r));
            self.plan.rescale[top] = true;
            let r_cell = CellRef {
                col: 0,
                row: bottom,
            };
            self.plan.one_row_savings += 1;
            if limbed {
                self.plan.one_row_savings += self.tables.limbs(shift).len();
                self.range_check(r_cell, shift);
            } else {
                self.plan.tag[bottom] = range_tag(shift);
                self.plan.lookup[bottom] = true;
            }
        }
        let split = act == Activation::Identity && self.tables.identity_split.is_some();
        match self.limbed_identity(act) {
            // A rescale to the identity only bounds q: with limbs or split checks, q itself is
            // the output (the fault, for tests, is then a lie about q), checked after the row.
            Some(bits) => {
                if y != q {
                    self.set(0, top, to_field(y));
                }
                self.signed_check(q_cell, bits);
                (top, q_cell)
            }
            None if split => {
                if y != q {
                    self.set(0, top, to_field(y));
                }
                self.pending_splits.push(q_cell);
                (top, q_cell)
            }
            None => {
                self.plan.identity_rescales += usize::from(act == Activation::Identity);
                self.plan.tag[top] = act_tag(&self.tables, act);
                self.plan.lookup[top] = true;
                (top, CellRef { col: 1, row: top })
            }
        }
    }

    /// The identity's signed width when `act` is the identity and its checks are limbs.
    fn limbed_identity(&self, act: Activation) -> Option<u32> {
        (act == Activation::Identity)
            .then(|| self.tables.limbed_identity())
            .flatten()
    }

    /// Applies `act` to the value at `src` by lookup; returns the output cell.
    fn activation(&mut self, src: CellRef, act: Activation) -> CellRef {
        let y = self.activate(act, self.int(src));
        if act == Activation::Identity && self.tables.identity_split.is_some() {
            // The value itself, in a split check's row (a lie, for tests, breaks the copy).
            let c = self.split_check(Err(to_field(y))).cell();
            self.plan.copies.push((src, c));
            return c;
        }
        if self.limbed_identity(act).is_some() {
            // The value itself, checked by limbs (a lie, for tests, breaks the copy).
            let c = self.checked_witness(y).cell();
            self.plan.copies.push((src, c));
            return c;
        }
        let r = self.row();
        self.copy(src, CellRef { col: 0, row: r });
        self.set(1, r, to_field(y));
        self.plan.tag[r] = act_tag(&self.tables, act);
        self.plan.lookup[r] = true;
        CellRef { col: 1, row: r }
    }

    /// `Σ value(a)·value(b)` over pairs of computed cells, `⌊W/2⌋` pairs per row through the
    /// product gates; returns the accumulator cell.
    fn product(&mut self, pairs: &[(CellRef, CellRef)]) -> CellRef {
        let w = self.plan.width;
        let h = w / 2;
        let mut acc = Fr::ZERO;
        let mut r = 0;
        for (i, chunk) in pairs.chunks(h).enumerate() {
            r = self.row();
            if i == 0 {
                self.plan.prod_first[r] = true;
            } else {
                self.plan.prod_next[r] = true;
            }
            for (slot, (a, b)) in chunk.iter().enumerate() {
                self.copy(*a, CellRef { col: slot, row: r });
                self.copy(
                    *b,
                    CellRef {
                        col: h + slot,
                        row: r,
                    },
                );
                acc += self.value(*a) * self.value(*b);
            }
            // Unused pairs would let a prover add any product: their left cells are tied to a
            // constrained zero.
            for slot in chunk.len()..h {
                let zero = self.zero();
                self.copy(zero, CellRef { col: slot, row: r });
            }
            self.set(w, r, acc);
        }
        CellRef { col: w, row: r }
    }

    /// A cell constrained to zero, made once.
    fn zero(&mut self) -> CellRef {
        self.constant(0)
    }

    /// A cell constrained to `v` (a first dot-product row with bias `v` and no terms), made
    /// once per value.
    fn constant(&mut self, v: i128) -> CellRef {
        if let Some(c) = self.constants.get(&v) {
            return *c;
        }
        let c = self.dot(&[], v);
        self.constants.insert(v, c);
        c
    }

    /// `round(value(a)·2^s / value(b))` for `value(b) > 0` (`s`: the divisor's scale, so that
    /// the quotient keeps the dividend's; see the module docs): the quotient
    /// is identity-checked, the remainders range-checked to `bits`.
    fn divide(&mut self, a: CellRef, b: CellRef, s: u32, bits: u32) -> Checked {
        // Without a witness every value is zero; with one, the reference execution has
        // already refused a divisor that is not positive.
        let (divisor, dividend) = (self.int(b), self.int(a));
        let q = if divisor > 0 {
            divide(dividend, divisor, s).0
        } else {
            0
        };
        let lie = self.next_fault();
        let q = self.checked_witness(q + lie);
        let t = self.product(&[(q.cell(), b)]);
        let r = self.dot(&[(a, 1i64 << (s + 1)), (b, 1), (t, -2)], 0);
        self.range_check(r, bits);
        let slack = self.dot(&[(b, 2), (r, -1)], -1);
        self.range_check(slack, bits);
        q
    }

    fn floor_div(&mut self, a: CellRef, d: i64, bits: u32) -> (Checked, Checked) {
        let q = if d > 0 {
            self.int(a).div_euclid(i128::from(d))
        } else {
            0
        };
        let lie = self.next_fault();
        let q = self.checked_witness(q + lie);
        let r = self.dot(&[(a, 1), (q.cell(), -d)], 0);
        let r = self.range_check(r, bits);
        let slack = self.dot(&[(r.cell(), -1)], i128::from(d) - 1);
        self.range_check(slack, bits);
        (q, r)
    }
}

impl Builder {
    /// A builder for `model` at `width`, carrying a witness or not.
    fn new(model: &CompiledModel, width: usize, witness: bool, fault: Option<Fault>) -> Self {
        let private_weights = model.private_weights();
        let parameters = model.parameters();
        Builder {
            plan: Plan {
                width,
                rows: 0,
                witness,
                advice: vec![
                    Vec::new();
                    if private_weights {
                        2 * width + 2
                    } else {
                        width + 1
                    }
                ],
                weights: vec![Vec::new(); width],
                bias: Vec::new(),
                tag: Vec::new(),
                dot_first: Vec::new(),
                dot_next: Vec::new(),
                pdot_first: Vec::new(),
                pdot_next: Vec::new(),
                prod_first: Vec::new(),
                prod_next: Vec::new(),
                rescale: Vec::new(),
                lookup: Vec::new(),
                rescale_one: Vec::new(),
                one_row_rescale: model.layout.one_row_rescale,
                one_row_savings: 0,
                fused_savings: 0,
                identity_rescales: 0,
                rescale_shifts: Default::default(),
                copies: Vec::new(),
                to_instance: Vec::new(),
                instances: Vec::new(),
                outputs: Vec::new(),
                layers: Vec::new(),
                poseidon: model.uses_poseidon(),
                private_weights,
                products: model.uses_products(),
                poseidon_rows: Vec::new(),
                commitments: Vec::new(),
                freivalds: false,
                fgate: Vec::new(),
                fcopies: Vec::new(),
            },
            tables: model.tables.clone(),
            fault,
            layer: 0,
            element: 0,
            private_weights,
            param_cells: vec![None; parameters.len()],
            constants: Default::default(),
            pending_splits: Vec::new(),
        }
    }
}

/// The gadgets ops lay out their rows with (see [`crate::gadgets`]): the builder's own.
impl Gadgets for Builder {
    fn dot(&mut self, terms: &[(CellRef, i64)], bias: i128) -> CellRef {
        Builder::dot(self, terms, bias)
    }

    fn param_dot(&mut self, terms: &[(CellRef, Param)], bias: Param) -> CellRef {
        Builder::param_dot(self, terms, bias)
    }

    fn param_dot_onto(
        &mut self,
        start: CellRef,
        terms: &[(CellRef, Param)],
        bias: Param,
    ) -> CellRef {
        Builder::param_dot_onto(self, start, terms, bias)
    }

    fn add_param(&mut self, cell: CellRef, k: Param) -> CellRef {
        Builder::add_param(self, cell, k)
    }

    fn rescale(&mut self, acc: CellRef, shift: u32, act: Activation) -> CellRef {
        Builder::rescale(self, acc, shift, act)
    }

    fn activation(&mut self, src: CellRef, act: Activation) -> CellRef {
        Builder::activation(self, src, act)
    }

    fn product(&mut self, pairs: &[(CellRef, CellRef)]) -> CellRef {
        Builder::product(self, pairs)
    }

    fn divide(&mut self, a: CellRef, b: CellRef, shift: u32, range_bits: u32) -> Checked {
        Builder::divide(self, a, b, shift, range_bits)
    }

    fn floor_div(&mut self, a: CellRef, d: i64, range_bits: u32) -> (Checked, Checked) {
        Builder::floor_div(self, a, d, range_bits)
    }

    fn zero(&mut self) -> CellRef {
        Builder::zero(self)
    }

    fn freivalds(&mut self, product: &MatrixProduct<'_>) -> Vec<CellRef> {
        Builder::freivalds(self, product)
    }
}

impl Plan {
    /// Plans the circuit of `model` with `width` multiply-accumulates per row. With `inputs`
    /// (quantized, one vector per model input) the plan carries the witness; without, it
    /// carries zeros and is only good for key generation.
    pub fn build(model: &CompiledModel, width: usize, inputs: Option<&[Vec<i64>]>) -> Result<Plan> {
        Self::build_full(model, width, inputs, &[], None)
    }

    /// [`Plan::build`] with the salts of the hashed inputs then outputs, in order (missing
    /// salts are zero).
    pub fn build_salted(
        model: &CompiledModel,
        width: usize,
        inputs: Option<&[Vec<i64>]>,
        salts: &[Fr],
    ) -> Result<Plan> {
        Self::build_full(model, width, inputs, salts, None)
    }

    /// [`Plan::build`] with a deliberate [`Fault`] (for negative tests).
    pub fn build_with_fault(
        model: &CompiledModel,
        width: usize,
        inputs: Option<&[Vec<i64>]>,
        fault: Option<Fault>,
    ) -> Result<Plan> {
        Self::build_full(model, width, inputs, &[], fault)
    }

    fn build_full(
        model: &CompiledModel,
        width: usize,
        inputs: Option<&[Vec<i64>]>,
        salts: &[Fr],
        fault: Option<Fault>,
    ) -> Result<Plan> {
        let mut salts = salts.iter().copied();
        let mut next_salt = |spec: &IoSpec| match spec.visibility {
            Visibility::Hashed => salts.next().unwrap_or(Fr::ZERO),
            _ => Fr::ZERO,
        };
        let mut b = Builder::new(model, width, inputs.is_some(), fault);
        let mut cells: Vec<Vec<CellRef>> = vec![Vec::new(); model.tensors.len()];

        // Public inputs: range-checked, then packed into instances.
        let start = b.plan.rows;
        for (i, spec) in model.inputs.iter().enumerate() {
            let n = model.tensors[spec.tensor].numel();
            let data = inputs.map(|all| all[i].as_slice());
            let value = |e: usize| data.map_or(0, |d| d[e]);
            cells[spec.tensor] = if spec.boundary {
                (0..n)
                    .map(|e| b.boundary_witness(value(e), spec.pack_bits).cell())
                    .collect()
            } else {
                (0..n).map(|e| b.input(value(e))).collect()
            };
        }
        for spec in &model.inputs {
            let c = cells[spec.tensor].clone();
            let salt = next_salt(spec);
            b.publish(spec, &c, salt);
        }
        b.plan.layers.push(LayerRows {
            node: "inputs".into(),
            start,
            end: b.plan.rows,
        });

        b.run_layers(model, &mut cells);

        let start = b.plan.rows;
        for spec in &model.outputs {
            let c = cells[spec.tensor].clone();
            let values = c.iter().map(|cell| b.int(*cell) as i64).collect();
            b.plan.outputs.push(values);
            let salt = next_salt(spec);
            b.publish(spec, &c, salt);
        }
        b.plan.layers.push(LayerRows {
            node: "outputs".into(),
            start,
            end: b.plan.rows,
        });

        b.commit_weights(model)?;
        Ok(b.plan)
    }

    /// The layer that owns `row`.
    pub fn layer_at(&self, row: usize) -> Option<&str> {
        self.layers
            .iter()
            .find(|l| (l.start..l.end).contains(&row))
            .map(|l| l.node.as_str())
    }
}
