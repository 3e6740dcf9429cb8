//! The model's layers in the plan (each laid out by its op), and their parameters: fixed
//! values, or private cells whose every use is tied to one.

use super::{Builder, CellRef, LayerRows};
use crate::fixed_point::to_field;
use crate::gadgets::Param;
use crate::model::CompiledModel;
use crate::ops::LayOut;

impl Builder {
    /// `bias + Σ value(cell)·weight` where the weights and the bias are model parameters: fixed
    /// values as in [`Self::dot`], or with private weights advice cells in `wv`/`bv` under the
    /// parameter-dot gates, every use of a parameter copy-constrained to its first one.
    pub(super) fn param_dot(&mut self, terms: &[(CellRef, Param)], bias: Param) -> CellRef {
        if !self.private_weights {
            let fixed: Vec<(CellRef, i64)> =
                terms.iter().map(|(c, p)| (*c, p.value as i64)).collect();
            return self.dot(&fixed, bias.value);
        }
        let w = self.plan.width;
        let mut acc = to_field(bias.value);
        let first = self.row();
        self.plan.pdot_first[first] = true;
        self.place_param(
            bias,
            CellRef {
                col: 2 * w + 1,
                row: first,
            },
        );
        let mut r = first;
        for (i, chunk) in terms.chunks(w).enumerate() {
            if i > 0 {
                r = self.row();
                self.plan.pdot_next[r] = true;
            }
            for (slot, (src, weight)) in chunk.iter().enumerate() {
                self.copy(*src, CellRef { col: slot, row: r });
                self.place_param(
                    *weight,
                    CellRef {
                        col: w + 1 + slot,
                        row: r,
                    },
                );
                if self.plan.witness {
                    acc += self.value(*src) * to_field(weight.value);
                }
            }
            self.set(w, r, acc);
        }
        self.set(w, r, acc);
        CellRef { col: w, row: r }
    }

    /// `value(start) + bias + Σ value(cell)·weight`: with fixed weights the partial sum is
    /// one more term of the chain (weight 1; free where the last row has room), with private
    /// weights one dot row after it.
    pub(super) fn param_dot_onto(
        &mut self,
        start: CellRef,
        terms: &[(CellRef, Param)],
        bias: Param,
    ) -> CellRef {
        if self.private_weights {
            let acc = self.param_dot(terms, bias);
            return self.dot(&[(acc, 1), (start, 1)], 0);
        }
        let fixed: Vec<(CellRef, i64)> = terms
            .iter()
            .map(|(c, p)| (*c, p.value as i64))
            .chain([(start, 1)])
            .collect();
        self.dot(&fixed, bias.value)
    }

    /// `value(cell) + k` for a model parameter `k`.
    pub(super) fn add_param(&mut self, cell: CellRef, k: Param) -> CellRef {
        if !self.private_weights {
            return self.dot(&[(cell, 1)], k.value);
        }
        let constant = self.param_dot(&[], k);
        self.dot(&[(cell, 1), (constant, 1)], 0)
    }

    /// Writes a model parameter into an advice cell, tied to the parameter's first cell.
    pub(super) fn place_param(&mut self, p: Param, cell: CellRef) {
        self.set(cell.col, cell.row, to_field(p.value));
        match self.param_cells[p.index] {
            Some(first) => self.plan.copies.push((first, cell)),
            None => self.param_cells[p.index] = Some(cell),
        }
    }

    /// Lays out every layer of `model` on the cells of its inputs (`cells[tensor]`), filling
    /// in the cells of every other tensor, each layer by its [`crate::ops::Op::lay_out`].
    /// Parameter uses are tied across calls, so several samples laid out in one plan share
    /// one set of private weights.
    pub(super) fn run_layers(&mut self, model: &CompiledModel, cells: &mut [Vec<CellRef>]) {
        let mut params = 0usize;
        for (index, layer) in model.layers.iter().enumerate() {
            let start = self.plan.rows;
            self.layer = index;
            self.element = 0;
            let op = layer.op();
            let out = op.lay_out(
                self,
                &LayOut {
                    model,
                    cells,
                    params,
                },
            );
            cells[op.output()] = out;
            params += layer.parameter_count();
            self.plan.layers.push(LayerRows {
                node: layer.node().to_owned(),
                start,
                end: self.plan.rows,
            });
        }
    }
}
