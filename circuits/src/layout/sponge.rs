//! Poseidon in the plan: the sponge's rows (see the module header of [`super`]), commitments
//! to cells, and the weights commitment.

use super::{Builder, CellRef, LayerRows, WEIGHT_RANGE_TAG};
use crate::error::Result;
use crate::fixed_point::to_field;
use crate::model::CompiledModel;
use crate::poseidon;
use crate::Fr;
use halo2_proofs::halo2curves::ff::Field;

/// A Poseidon gate of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoseidonGate {
    /// The sponge's initial state `[c0, 0, 0]`.
    Init,
    /// `s' = s + [0, c1·m1, c2·m2]`.
    Absorb,
    /// A full round with constants `c`.
    Full,
    /// A partial round with constants `c`.
    Partial,
}

/// One enabled Poseidon gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoseidonRow {
    /// The row.
    pub row: usize,
    /// The gate.
    pub gate: PoseidonGate,
    /// What the gate reads from the fixed columns `c0..c2` at this row (`Init` uses `c0`,
    /// `Absorb` `c1`, `c2`; both may share a row).
    pub constants: [Fr; 3],
}

/// An element of a message to hash: a cell of the plan (copied into the sponge), or a free
/// private witness (a salt, or a parameter no row uses).
#[derive(Clone, Copy, Debug)]
pub(super) enum Element {
    Cell(CellRef),
    Free(Fr),
}

impl Builder {
    /// With hashed weights, lays out the weights commitment (every parameter, in order, then
    /// the salt) and makes it the next instance.
    pub(super) fn commit_weights(&mut self, model: &CompiledModel) -> Result<()> {
        if let Some(digest) = self.weights_digest(model)? {
            self.make_public(digest);
        }
        Ok(())
    }

    /// With hashed weights, lays out the weights commitment; returns its digest cell.
    pub(super) fn weights_digest(&mut self, model: &CompiledModel) -> Result<Option<CellRef>> {
        if let Some(salt) = model.weights_salt()? {
            // The weights commitment (`CompiledModel::weights_message`): the weights,
            // range-checked and packed, then the biases and constants, then the salt.
            let start = self.plan.rows;
            let bits = model.weight_bits();
            let mut weights = Vec::new();
            let mut others = Vec::new();
            for (i, (v, is_weight)) in model.parameter_kinds().into_iter().enumerate() {
                let cell = match self.param_cells[i] {
                    Some(c) => c,
                    None => self.witness(to_field(i128::from(v))),
                };
                if is_weight {
                    let r = self.row();
                    self.copy(cell, CellRef { col: 0, row: r });
                    self.plan.tag[r] = WEIGHT_RANGE_TAG;
                    self.plan.lookup[r] = true;
                    weights.push(cell);
                } else {
                    others.push(cell);
                }
            }
            let mut message: Vec<Element> = self
                .pack(&weights, bits)
                .into_iter()
                .chain(others)
                .map(Element::Cell)
                .collect();
            message.push(Element::Free(salt));
            let digest = self.hash(&message);
            self.plan.layers.push(LayerRows {
                node: "weights commitment".into(),
                start,
                end: self.plan.rows,
            });
            return Ok(Some(digest));
        }
        Ok(None)
    }

    /// Lays out the Poseidon commitment `hash(values at cells ‖ salt)`; returns the digest cell.
    pub(super) fn commit(&mut self, cells: &[CellRef], salt: Fr) -> CellRef {
        let mut message: Vec<Element> = cells.iter().copied().map(Element::Cell).collect();
        message.push(Element::Free(salt));
        self.hash(&message)
    }

    /// Lays out the Poseidon hash of `message` ([`poseidon::hash_with`] over [`Rows`]);
    /// returns the digest cell.
    pub(super) fn hash(&mut self, message: &[Element]) -> CellRef {
        let digest = poseidon::hash_with(&mut Rows(self), message);
        let value = self.value(digest);
        self.plan.commitments.push(value);
        digest
    }

    pub(super) fn set_state(&mut self, row: usize, state: &[Fr; poseidon::T]) {
        for (j, v) in state.iter().enumerate() {
            self.set(j, row, *v);
        }
    }

    pub(super) fn poseidon_gate(&mut self, row: usize, gate: PoseidonGate, constants: [Fr; 3]) {
        self.plan.poseidon_rows.push(PoseidonRow {
            row,
            gate,
            constants,
        });
    }
}

/// The sponge's state in the plan: the row holding it (columns `0..T`) and its values.
pub(super) struct RowState {
    row: usize,
    values: [Fr; poseidon::T],
}

/// The model circuit's Poseidon rows as a [`poseidon::Sponge`]: the state in one row, an
/// `Absorb` gate on it and the message pair in the row below, a `Full` or `Partial` gate per
/// round (the S-box squares beside the state, or in the row below it) whose next state is the
/// following row; the values are witnessed natively a round at a time.
pub(super) struct Rows<'a>(&'a mut Builder);

impl poseidon::Sponge for Rows<'_> {
    type Element = Element;
    type State = RowState;
    type Out = CellRef;

    fn start(&mut self, init: [Fr; poseidon::T]) -> RowState {
        let b = &mut *self.0;
        let row = b.row();
        b.set_state(row, &init);
        b.poseidon_gate(row, PoseidonGate::Init, [init[0], Fr::ZERO, Fr::ZERO]);
        RowState { row, values: init }
    }

    fn absorb(&mut self, state: &mut RowState, pair: &[Element]) {
        let b = &mut *self.0;
        let masks = [1, 2].map(|j| Fr::from(u64::from(pair.len() >= j)));
        b.poseidon_gate(
            state.row,
            PoseidonGate::Absorb,
            [Fr::ZERO, masks[0], masks[1]],
        );
        let m = b.row();
        for (j, element) in pair.iter().enumerate() {
            let dst = CellRef { col: 1 + j, row: m };
            let v = match element {
                Element::Cell(src) => {
                    b.copy(*src, dst);
                    b.value(*src)
                }
                Element::Free(v) => {
                    b.set(dst.col, dst.row, *v);
                    *v
                }
            };
            state.values[1 + j] += v;
        }
        state.row = b.row();
        b.set_state(state.row, &state.values);
    }

    fn permute(&mut self, state: &mut RowState) {
        let b = &mut *self.0;
        let one_row_full = poseidon::full_round_in_one_row(b.plan.advice.len());
        let c = poseidon::constants();
        for round in 0..poseidon::ROUNDS {
            let rc = c.round_constants[round];
            let full = poseidon::is_full_round(round);
            let gate = if full {
                PoseidonGate::Full
            } else {
                PoseidonGate::Partial
            };
            b.poseidon_gate(state.row, gate, rc);
            // The squares beside the state, or in the row below it.
            let (a, first) = if !full || one_row_full {
                (state.row, poseidon::T)
            } else {
                (b.row(), 0)
            };
            for (j, (v, c)) in state.values.iter().zip(rc).enumerate() {
                if full || j == 0 {
                    b.set(first + j, a, (*v + c).square());
                }
            }
            poseidon::round(&mut state.values, round);
            state.row = b.row();
            b.set_state(state.row, &state.values);
        }
    }

    fn squeeze(&mut self, state: &RowState, j: usize) -> CellRef {
        CellRef {
            col: 1 + j,
            row: state.row,
        }
    }
}
