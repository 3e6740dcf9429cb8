//! Range checks: one lookup into a `range(bits)` table, or, for checks wider than the model's
//! limb width, one row per limb through the dot-product gate; signed checks of fresh
//! witnesses by the identity table, its limbs, or split rows (row shapes in the module docs).

use super::{act_tag, range_tag, Builder, CellRef};
use crate::fixed_point::{from_field, to_field};
use crate::gadgets::{Checked, Range};
use crate::model::Activation;
use crate::Fr;

impl Builder {
    /// Checks `0 ≤ value(cell) < 2^bits`: one lookup, or limbs (see [`Self::limbs`]).
    pub(super) fn range_check(&mut self, cell: CellRef, bits: u32) -> Checked {
        if self.tables.limbed(bits) {
            self.limbs(cell, bits, 0);
        } else {
            let r = self.row();
            self.copy(cell, CellRef { col: 0, row: r });
            self.plan.tag[r] = range_tag(bits);
            self.plan.lookup[r] = true;
        }
        Checked::laid_out(cell, Range::Unsigned(bits))
    }

    /// Checks `−2^(bits−1) ≤ value(cell) < 2^(bits−1)` by limbs.
    pub(super) fn signed_check(&mut self, cell: CellRef, bits: u32) -> Checked {
        self.limbs(cell, bits, 1i128 << (bits - 1));
        Checked::laid_out(cell, Range::Signed(bits))
    }

    /// Checks `0 ≤ value(cell) + offset < 2^bits` with one row per limb, lowest first:
    /// ```text
    /// | l_j | 0 | .. | acc = [acc(prev) +] l_j·2^(Σ widths below) [− offset] |  (range(width_j), l_j, 0) ∈ table
    /// ```
    /// the first row's bias is `−offset` and the last accumulator is copy-constrained to the
    /// cell, so the limbs, each in its range, recompose the value.
    pub(super) fn limbs(&mut self, cell: CellRef, bits: u32, offset: i128) {
        let widths = self.tables.limbs(bits);
        let last = self.limbs_of(self.int(cell), &widths, offset);
        self.plan.copies.push((cell, last));
    }

    /// A fresh witness value of a segment's boundary input, range-checked to `bits` signed
    /// bits by limbs of [`crate::model::Tables::boundary_limbs`]: the last limb row's
    /// accumulator is the value.
    /// With the one-row rescale's gate (models with `one_row_rescale`), a check of at most
    /// two limbs is one split row instead (`v + 2^(bits−1) = hi·2^lo_w + lo`, both halves
    /// looked up in the same range tables), whose accumulator is the value.
    pub(super) fn boundary_witness(&mut self, v: i64, bits: u32) -> Checked {
        let widths = self.tables.boundary_limbs(bits);
        if let (&[lo_w, hi_w], true) = (&widths[..], self.plan.one_row_rescale) {
            return self.split_row(Err(to_field(i128::from(v))), lo_w, hi_w);
        }
        let cell = self.limbs_of(i128::from(v), &widths, 1i128 << (bits - 1));
        Checked::laid_out(cell, Range::Signed(bits))
    }

    /// The limb rows of `value + offset` for [`Self::limbs`] with the limb widths given;
    /// returns the last accumulator, which holds `value`.
    fn limbs_of(&mut self, value: i128, widths: &[u32], offset: i128) -> CellRef {
        let w = self.plan.width;
        let u = value + offset;
        let mut acc = to_field(-offset);
        let mut low = 0;
        let mut last = None;
        for (j, width) in widths.iter().copied().enumerate() {
            let limb = (u >> low) & ((1i128 << width) - 1);
            let r = self.row();
            if j == 0 {
                self.plan.dot_first[r] = true;
                self.plan.bias[r] = -offset;
            } else {
                self.plan.dot_next[r] = true;
                self.plan.bias[r] = 1;
            }
            self.set(0, r, to_field(limb));
            self.plan.weights[0][r] = 1i64 << low;
            acc += to_field(limb) * to_field(1i128 << low);
            self.set(w, r, acc);
            self.plan.tag[r] = range_tag(width);
            self.plan.lookup[r] = true;
            low += width;
            last = Some(CellRef { col: w, row: r });
        }
        last.expect("a check has at least one limb")
    }

    /// A fresh witness value, range-checked by the identity table (or its limbs).
    pub(super) fn checked_witness(&mut self, v: i128) -> Checked {
        if self.tables.identity_split.is_some() {
            return self.split_check(Err(to_field(v)));
        }
        let r = self.row();
        self.set(0, r, to_field(v));
        let cell = CellRef { col: 0, row: r };
        match self.tables.limbed_identity() {
            Some(bits) => self.signed_check(cell, bits),
            None => {
                self.set(1, r, to_field(v));
                self.plan.tag[r] = act_tag(&self.tables, Activation::Identity);
                self.plan.lookup[r] = true;
                let bits = self.tables.activations[&Activation::Identity];
                Checked::laid_out(cell, Range::Signed(bits))
            }
        }
    }

    /// A split identity check ([`Tables::identity_split`]) of a value copied from a cell
    /// (`Ok`) or placed as a fresh witness (`Err`) in the accumulator of one row of the
    /// one-row rescale's gate: `v + 2^(b−1) = hi·2^lo_w + lo`, `lo` looked up in
    /// `range(lo_w)` by the second lookup, `hi` in `range(hi_w)` by the first (no `hi`, and a
    /// zero divisor, when `hi_w = 0`). Returns the accumulator cell, the checked value.
    pub(super) fn split_check(&mut self, v: std::result::Result<CellRef, Fr>) -> Checked {
        let (lo_w, hi_w) = self.tables.split_identity().expect("split identity checks");
        self.split_row(v, lo_w, hi_w)
    }

    /// The row of a signed check of `lo_w + hi_w` bits split in two lookups (see
    /// [`Self::split_check`]).
    fn split_row(&mut self, v: std::result::Result<CellRef, Fr>, lo_w: u32, hi_w: u32) -> Checked {
        let w = self.plan.width;
        let r = self.row();
        let cell = CellRef { col: w, row: r };
        let value = match v {
            Ok(src) => {
                self.copy(src, cell);
                self.int(src)
            }
            Err(f) => {
                self.set(w, r, f);
                if self.plan.witness {
                    from_field(&f).expect("checked values are small integers")
                } else {
                    0
                }
            }
        };
        let u = value + (1i128 << (lo_w + hi_w - 1));
        let (hi, lo) = (u >> lo_w, u & ((1i128 << lo_w) - 1));
        self.set(2, r, to_field(lo));
        let p = &mut self.plan;
        p.rescale_one[r] = true;
        p.weights[1][r] = 1i64 << (lo_w + hi_w - 1);
        p.weights[2][r] = range_tag(lo_w) as i64;
        if hi_w > 0 {
            p.weights[0][r] = 1i64 << lo_w;
            p.tag[r] = range_tag(hi_w);
            p.lookup[r] = true;
            self.set(0, r, to_field(hi));
        }
        Checked::laid_out(cell, Range::Signed(lo_w + hi_w))
    }

    /// Checks the identity rescale outputs waiting for split rows.
    pub(super) fn flush_splits(&mut self) {
        for q in std::mem::take(&mut self.pending_splits) {
            self.split_check(Ok(q));
        }
    }
}
