//! Range checks: one lookup into a `range(bits)` table, or, for checks wider than the model's
//! limb width, one row per limb through the dot-product gate (row shape in the module docs).

use super::{range_tag, Builder, CellRef};
use crate::fixed_point::to_field;

impl Builder {
    /// Checks `0 ≤ value(cell) < 2^bits`: one lookup, or limbs (see [`Self::limbs`]).
    pub(super) fn range_check(&mut self, cell: CellRef, bits: u32) {
        if self.tables.limbed(bits) {
            self.limbs(cell, bits, 0);
            return;
        }
        let r = self.row();
        self.copy(cell, CellRef { col: 0, row: r });
        self.plan.tag[r] = range_tag(bits);
        self.plan.lookup[r] = true;
    }

    /// Checks `−2^(bits−1) ≤ value(cell) < 2^(bits−1)` by limbs.
    pub(super) fn signed_check(&mut self, cell: CellRef, bits: u32) {
        self.limbs(cell, bits, 1i128 << (bits - 1));
    }

    /// Checks `0 ≤ value(cell) + offset < 2^bits` with one row per limb, lowest first:
    /// ```text
    /// | l_j | 0 | .. | acc = [acc(prev) +] l_j·2^(Σ widths below) [− offset] |  (range(width_j), l_j, 0) ∈ table
    /// ```
    /// the first row's bias is `−offset` and the last accumulator is copy-constrained to the
    /// cell, so the limbs, each in its range, recompose the value.
    pub(super) fn limbs(&mut self, cell: CellRef, bits: u32, offset: i128) {
        let w = self.plan.width;
        let u = self.int(cell) + offset;
        let mut acc = to_field(-offset);
        let mut low = 0;
        let mut last = cell;
        for (j, width) in self.tables.limbs(bits).into_iter().enumerate() {
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
            last = CellRef { col: w, row: r };
        }
        self.plan.copies.push((cell, last));
    }
}
