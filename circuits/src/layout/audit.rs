//! The audit chunk: several samples through one set of hashed private weights, private
//! one-hot labels, exact first-argmax, and the dataset hash chain in-circuit.

use super::sponge::Element;
use super::{range_tag, Builder, CellRef, LayerRows, Plan};
use crate::error::Result;
use crate::fixed_point::to_field;
use crate::model::{CompiledModel, Visibility};
use crate::Fr;
use halo2_proofs::halo2curves::ff::Field;

impl Builder {
    /// A free private witness in a row of its own.
    pub(super) fn witness(&mut self, v: Fr) -> CellRef {
        let r = self.row();
        self.set(0, r, v);
        CellRef { col: 0, row: r }
    }

    /// `Σ aᵢ·bᵢ` of advice cells, through the parameter-dot gates (private weights only);
    /// `zero` is a cell constrained to zero (the first row's `bv`).
    pub(super) fn advice_product(
        &mut self,
        pairs: &[(CellRef, CellRef)],
        zero: CellRef,
    ) -> CellRef {
        let w = self.plan.width;
        let first = self.row();
        self.plan.pdot_first[first] = true;
        self.copy(
            zero,
            CellRef {
                col: 2 * w + 1,
                row: first,
            },
        );
        let mut acc = Fr::ZERO;
        let mut r = first;
        for (i, chunk) in pairs.chunks(w).enumerate() {
            if i > 0 {
                r = self.row();
                self.plan.pdot_next[r] = true;
            }
            for (slot, (a, b)) in chunk.iter().enumerate() {
                self.copy(*a, CellRef { col: slot, row: r });
                self.copy(
                    *b,
                    CellRef {
                        col: w + 1 + slot,
                        row: r,
                    },
                );
                acc += self.value(*a) * self.value(*b);
            }
            self.set(w, r, acc);
        }
        self.set(w, r, acc);
        CellRef { col: w, row: r }
    }

    /// Constrains the value at `cell` to be 0 or 1 (`c·c = c`).
    pub(super) fn boolean(&mut self, cell: CellRef, zero: CellRef) {
        let square = self.advice_product(&[(cell, cell)], zero);
        self.plan.copies.push((square, cell));
    }

    /// `⌊a / 2^shift⌋` through the rescale gate with no rounding; the remainder is
    /// range-checked by the table of `shift`. The quotient is unique once bounded.
    pub(super) fn floor_shift(&mut self, a: CellRef, shift: u32) -> CellRef {
        let w = self.plan.width;
        let v = self.int(a);
        let q = v.div_euclid(1i128 << shift);
        let r = v.rem_euclid(1i128 << shift);
        let top = self.row();
        let bottom = self.row();
        self.copy(a, CellRef { col: w, row: top });
        self.set(0, top, to_field(q));
        self.set(0, bottom, to_field(r));
        let p = &mut self.plan;
        p.weights[0][top] = 1i64 << shift;
        p.rescale[top] = true;
        p.tag[bottom] = range_tag(shift);
        p.lookup[bottom] = true;
        CellRef { col: 0, row: top }
    }

    /// `[value(d) ≥ 0]` for `|d| < 2^bits`: floor divisions by `2^shift` until the quotient is
    /// −1 or 0 (checked boolean after adding one).
    pub(super) fn nonnegative(
        &mut self,
        d: CellRef,
        bits: u32,
        shift: u32,
        zero: CellRef,
    ) -> CellRef {
        let mut q = d;
        for _ in 0..bits.div_ceil(shift).max(1) {
            q = self.floor_shift(q, shift);
        }
        let s = self.dot(&[(q, 1)], 1);
        self.boolean(s, zero);
        s
    }
}

impl Plan {
    /// Plans an audit chunk of `model` (hashed weights, one input, one output of class scores):
    /// every sample of `samples` (quantized input, label) is run through the model with the
    /// same private weights, its label is a private one-hot, its prediction the first arg-max,
    /// and it takes one step of the dataset hash chain from `h_in`. The public instances are
    /// `(C_W, h_in, h_out, n, correct)`. Without `samples` (key generation) `count` zero
    /// samples are planned.
    pub fn build_audit(
        model: &CompiledModel,
        width: usize,
        samples: Option<&[(Vec<i64>, u32)]>,
        count: usize,
        h_in: Fr,
    ) -> Result<Plan> {
        let bad = crate::error::CircuitError::Incompatible;
        if model.weights != Visibility::Hashed {
            return Err(bad(
                "an audit needs a model compiled with --weights hashed".into()
            ));
        }
        if model.inputs.len() != 1 || model.outputs.len() != 1 {
            return Err(bad(
                "an audit needs a model with one input and one output".into()
            ));
        }
        if let Some(s) = samples {
            if s.len() != count {
                return Err(bad(format!(
                    "{} samples where the chunk has {count}",
                    s.len()
                )));
            }
        }
        let shift = *model.tables.range_shifts.iter().max().ok_or_else(|| {
            bad("an audit needs a model with a rescaled layer (its range table)".into())
        })?;
        let (input, output) = (model.inputs[0].tensor, model.outputs[0].tensor);
        let (n_in, classes) = (model.tensors[input].numel(), model.tensors[output].numel());
        let (in_bits, out_bits) = (model.inputs[0].pack_bits, model.outputs[0].pack_bits);
        let mut b = Builder::new(model, width, samples.is_some(), None);
        let zero = b.dot(&[], 0);
        let h_start = b.witness(h_in);
        let mut h = h_start;
        let mut correct = Vec::with_capacity(count);
        for i in 0..count {
            let start = b.plan.rows;
            let (x, label) = samples.map_or((None, 0), |s| (Some(&s[i].0), s[i].1));
            let mut cells: Vec<Vec<CellRef>> = vec![Vec::new(); model.tensors.len()];
            cells[input] = (0..n_in).map(|e| b.input(x.map_or(0, |x| x[e]))).collect();
            let x_cells = cells[input].clone();
            b.run_layers(model, &mut cells);
            let y = cells[output].clone();
            // The label, a private one-hot.
            let one_hot: Vec<CellRef> = (0..classes)
                .map(|j| b.witness(Fr::from(u64::from(j as u32 == label))))
                .collect();
            for c in &one_hot {
                b.boolean(*c, zero);
            }
            let terms: Vec<(CellRef, i64)> = one_hot.iter().map(|c| (*c, 1)).collect();
            let sum = b.dot(&terms, -1);
            b.plan.copies.push((sum, zero));
            let indexed: Vec<(CellRef, i64)> = one_hot
                .iter()
                .enumerate()
                .map(|(j, c)| (*c, j as i64))
                .collect();
            let label_cell = b.dot(&indexed, 0);
            // Correct iff the label's score is the first largest: y_L ≥ y_j + [j < L].
            let pairs: Vec<(CellRef, CellRef)> =
                y.iter().copied().zip(one_hot.iter().copied()).collect();
            let y_label = b.advice_product(&pairs, zero);
            let mut all = None;
            for j in 0..classes {
                let above: Vec<(CellRef, i64)> = one_hot[j + 1..].iter().map(|c| (*c, 1)).collect();
                let before_label = b.dot(&above, 0);
                let d = b.dot(&[(y_label, 1), (y[j], -1), (before_label, -1)], 0);
                let s = b.nonnegative(d, out_bits + 1, shift, zero);
                all = Some(match all {
                    None => s,
                    Some(m) => b.advice_product(&[(m, s)], zero),
                });
            }
            correct.push(all.expect("at least one class"));
            // One step of the dataset hash chain.
            let packed = b.pack(&x_cells, in_bits);
            let mut message = vec![Element::Cell(h)];
            message.extend(packed.into_iter().map(Element::Cell));
            message.push(Element::Cell(label_cell));
            h = b.hash(&message);
            b.plan.layers.push(LayerRows {
                node: format!("sample {i}"),
                start,
                end: b.plan.rows,
            });
        }
        let n = b.dot(&[], count as i128);
        let counts: Vec<(CellRef, i64)> = correct.iter().map(|c| (*c, 1)).collect();
        let total = b.dot(&counts, 0);
        let digest = b
            .weights_digest(model)?
            .expect("hashed weights have a digest");
        for cell in [digest, h_start, h, n, total] {
            b.make_public(cell);
        }
        Ok(b.plan)
    }
}
