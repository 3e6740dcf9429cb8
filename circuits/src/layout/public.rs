//! Public values: an input element range-checked as it enters, inputs and outputs packed into
//! instances (row shape in the module docs) or committed, as their visibility says.

use super::{Builder, CellRef};
use crate::fixed_point::values_per_instance;
use crate::model::{IoSpec, Visibility};
use crate::Fr;

impl Builder {
    /// A public input element, range-checked by the identity table.
    pub(super) fn input(&mut self, v: i64) -> CellRef {
        self.checked_witness(i128::from(v)).cell()
    }

    /// Packs the values at `cells` (signed, `bits` bits each) into instances.
    pub(super) fn expose(&mut self, cells: &[CellRef], bits: u32) {
        for packed in self.pack(cells, bits) {
            self.make_public(packed);
        }
    }

    /// Packs the values at `cells` (signed, `bits` bits each) as [`crate::fixed_point::pack`]
    /// does, by chained dot rows of `per_row` values (weights `2^(bits·(per_row−1−i))`, the
    /// accumulator multiplied by `2^(bits·per_row)` at each chained row); returns the packed
    /// cells. `per_row` is one, or in the compact layout (with one-row rescales) as many as
    /// the fixed weights allow, the shorter first row padded with zeros in front.
    pub(super) fn pack(&mut self, cells: &[CellRef], bits: u32) -> Vec<CellRef> {
        let compact = (62 / bits as usize + 1).clamp(1, self.plan.width);
        let mut out = Vec::new();
        for chunk in cells.chunks(values_per_instance(bits)) {
            let per_row = if self.plan.one_row_rescale {
                compact
            } else {
                self.plan.one_row_savings += chunk.len() - chunk.len().div_ceil(compact);
                1
            };
            let pad = (per_row - chunk.len() % per_row) % per_row;
            let mut padded = Vec::with_capacity(pad + chunk.len());
            if pad > 0 {
                let zero = self.zero();
                padded.extend(std::iter::repeat_n(zero, pad));
            }
            padded.extend_from_slice(chunk);
            let terms: Vec<(CellRef, i64)> = padded
                .into_iter()
                .enumerate()
                .map(|(i, c)| (c, 1i64 << (bits as usize * (per_row - 1 - i % per_row))))
                .collect();
            out.push(self.chain(&terms, 0, 1i128 << (bits as usize * per_row), per_row));
        }
        out
    }
    /// Makes the value at `cell` the next public instance.
    pub(super) fn make_public(&mut self, cell: CellRef) {
        let value = self.value(cell);
        self.plan
            .to_instance
            .push((cell, self.plan.instances.len()));
        self.plan.instances.push(value);
    }

    /// Makes an input or output visible as its spec says: packed public values, one
    /// commitment, or nothing.
    pub(super) fn publish(&mut self, spec: &IoSpec, cells: &[CellRef], salt: Fr) {
        match spec.visibility {
            Visibility::Public => self.expose(cells, spec.pack_bits),
            Visibility::Hashed => {
                // A boundary of a split model is hashed packed (`IoSpec::commitment`).
                let digest = if spec.boundary {
                    let packed = self.pack(cells, spec.pack_bits);
                    self.commit(&packed, salt)
                } else {
                    self.commit(cells, salt)
                };
                self.plan
                    .to_instance
                    .push((digest, self.plan.instances.len()));
                self.plan.instances.push(self.value(digest));
            }
            Visibility::Private | Visibility::Fixed => {}
        }
    }
}
