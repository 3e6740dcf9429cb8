//! Randomized (Freivalds) checks of matrix products with constant weights, in the circuit's
//! second phase.
//!
//! `Y = W·X + b` (`W`: `n × m` constants, `X`: `m × P` cells, `b`: `n` constants) costs one
//! dot product per element of `Y` when checked directly: `n·P·⌈m/W⌉` rows. Here the prover
//! places `Y` as witnesses (first phase, with everything else) and, once the first phase is
//! committed, two challenges `r` and `s` check
//!
//! ```text
//! Σ_o s^(n−1−o) · Σ_p r^(P−1−p) · Y[o,p]  =  Σ_j v_j · (X·r)_j        (j over m + 1)
//!     v_j = Σ_o s^(n−1−o) · W[o,j],  (X·r)_j = Σ_p r^(P−1−p) · X[j,p],  X[m,p] = 1, W[o,m] = b_o
//! ```
//!
//! at a cost of `(n + m + 1)·⌈P/W⌉ + (m + 1)·⌈n/W⌉ + n + m + 2` rows. Both sides are
//! polynomials in `(r, s)` of degree below `P` and `n`; if `Y ≠ W·X + b` they differ, and by
//! Schwartz–Zippel the identity holds at the random point with probability at most
//! `(P + n − 2)/|F|` (below 2^−230 for any layer that fits a circuit).
//!
//! Second-phase columns `h`, `e1`, `e2` (advice), gates (each row's `bias` fixed cell `f` is 0
//! on a chain's first row, 1 on the next):
//! ```text
//! horner over cells:    | x0 .. x(W-1) | h = f·h(prev)·r^W + Σ xi·r^(W−1−i)   (x: first phase)
//! horner over weights:  | w0 .. w(W-1) | h = f·h(prev)·s^W + Σ wi·s^(W−1−i)   (w: fixed)
//! horner over results:  | e1           | h = f·h(prev)·s + e1
//! products:             | e1 e2        | h = f·h(prev) + e1·e2
//! check:                | e1 e2        | e1 = e2
//! ```
//! Sequences shorter than a multiple of `W` are padded at the front (higher powers) with a
//! constrained zero, so every row holds `W` terms.
//!
//! With one-row rescales, a product whose outputs are rescaled is **fused** with its rescales:
//! `Y` (without the bias) is not placed in rows of its own but is the accumulator `a` of each
//! output's rescale row, the bias is added by that row's fixed `half` (`w1 = half + b_o`), and
//! a sixth gate chains the rows of each output row `o`:
//! ```text
//! horner over accumulators: | q | y | r | .. | a | h = f·h(prev)·r + a   (rescale rows)
//! ```
//! which saves `Y`'s `n·⌈P/W⌉` rows and the bias's chains (`⌈P/W⌉ + ⌈n/W⌉ + 1` rows): the
//! identity is then `Σ_o s^(n−1−o) Σ_p r^(P−1−p) Y[o,p] = Σ_j v_j (X·r)_j` over `j < m`.

use super::{Builder, CellRef, Plan};
use crate::fixed_point::to_field;
use crate::gadgets::MatrixProduct;
use crate::Fr;
use halo2_proofs::halo2curves::ff::Field;

/// The gate of a row in the second-phase columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FGate {
    /// No second-phase gate.
    #[default]
    None,
    /// Horner step over first-phase cells with `r`.
    Cells,
    /// Horner step over the fixed weight columns with `s`.
    Weights,
    /// Horner step over one second-phase value (in `e1`) with `s`.
    Results,
    /// Sum of products `e1·e2`.
    Products,
    /// `e1 = e2`.
    Check,
    /// Horner step over the accumulator column with `r` (rescale rows of a fused product).
    Accs,
}

/// Second-phase column offsets from the first one (`h`, `e1`, `e2`).
const H: usize = 0;
const E1: usize = 1;
const E2: usize = 2;

impl Builder {
    /// The column index of second-phase column `k` (`H`, `E1`, `E2`).
    fn phase2_col(&self, k: usize) -> usize {
        self.plan.advice.len() + k
    }

    /// A first-phase row of the second-phase gate `gate`; `chained` is its `f`.
    fn phase2_row(&mut self, gate: FGate, chained: bool) -> usize {
        let r = self.row();
        self.plan.fgate[r] = gate;
        self.plan.bias[r] = i128::from(chained);
        r
    }

    /// Copies the second-phase cell `src` (an `h` cell) into `e1` or `e2` of row `row`.
    fn phase2_copy(&mut self, src: CellRef, row: usize, k: usize) {
        let dst = CellRef {
            col: self.phase2_col(k),
            row,
        };
        self.plan.copies.push((src, dst));
        self.plan.fcopies.push((row, k, src.row));
    }

    /// Horner over a sequence of first-phase values, `W` per row: each item is a cell to copy,
    /// or a fresh witness (`Err(value)`, placed in the row and its cell returned). Returns the
    /// `h` cell of the result and the cells of the fresh witnesses.
    fn horner_cells(&mut self, items: &[Result<CellRef, Fr>]) -> (CellRef, Vec<CellRef>) {
        let w = self.plan.width;
        let pad = (w - items.len() % w) % w;
        let mut padded: Vec<Result<CellRef, Fr>> = Vec::with_capacity(pad + items.len());
        if pad > 0 {
            let zero = self.zero();
            padded.extend(std::iter::repeat_n(Ok(zero), pad));
        }
        padded.extend_from_slice(items);
        let mut fresh = Vec::new();
        let mut row = 0;
        for (i, chunk) in padded.chunks(w).enumerate() {
            row = self.phase2_row(FGate::Cells, i > 0);
            for (slot, item) in chunk.iter().enumerate() {
                let dst = CellRef { col: slot, row };
                match item {
                    Ok(src) => self.copy(*src, dst),
                    Err(v) => {
                        self.set(slot, row, *v);
                        fresh.push(dst);
                    }
                }
            }
        }
        let h = CellRef {
            col: self.phase2_col(H),
            row,
        };
        (h, fresh)
    }

    /// Horner over a sequence of constants with `s`, `W` per row in the weight columns.
    fn horner_weights(&mut self, values: &[i64]) -> CellRef {
        let w = self.plan.width;
        let pad = (w - values.len() % w) % w;
        let padded: Vec<i64> = std::iter::repeat_n(0, pad)
            .chain(values.iter().copied())
            .collect();
        let mut row = 0;
        for (i, chunk) in padded.chunks(w).enumerate() {
            row = self.phase2_row(FGate::Weights, i > 0);
            for (slot, v) in chunk.iter().enumerate() {
                self.plan.weights[slot][row] = *v;
            }
        }
        CellRef {
            col: self.phase2_col(H),
            row,
        }
    }

    /// `Y = W·X + b` checked by the randomized identity of the module docs; returns `Y`'s
    /// cells, `[n][P]` row-major, rescaled by `mp.rescale` when there is one.
    pub(super) fn freivalds(&mut self, mp: &MatrixProduct<'_>) -> Vec<CellRef> {
        let (n, m, p) = (mp.n_out, mp.n_in, mp.cols);
        self.plan.freivalds = true;
        // Fused where the rescale takes one row (not an identity checked by limbs) and each
        // bias fits the fixed `half` column beside the rounding half (else not fused: no panic
        // on a model file with absurd biases).
        let offsets_fit = |shift: u32| {
            let half = if shift == 0 { 0 } else { 1i128 << (shift - 1) };
            mp.bias
                .iter()
                .all(|b| i64::try_from(half + i128::from(*b)).is_ok())
        };
        let fused = mp
            .rescale
            .filter(|r| self.limbed_identity(r.act).is_none() && offsets_fit(r.shift));
        if fused.is_some() && !self.plan.one_row_rescale {
            // What fusing would save with one-row rescales (see the module docs).
            let w = self.plan.width;
            let saved = (n + 1) * p.div_ceil(w) + n.div_ceil(w) + 1;
            self.plan.one_row_savings += saved;
            self.plan.fused_savings += saved;
        }
        let fused = fused.filter(|_| self.plan.one_row_rescale);
        // Y, natively (zeros without a witness); a test fault lies about one accumulator.
        let mut y = vec![Fr::ZERO; n * p];
        if self.plan.witness {
            let xv: Vec<Fr> =
                mp.x.iter()
                    .map(|c| c.map_or(Fr::ZERO, |c| self.value(c)))
                    .collect();
            for o in 0..n {
                for col in 0..p {
                    let bias = if fused.is_some() { 0 } else { mp.bias[o] };
                    let mut acc = to_field(i128::from(bias));
                    for j in 0..m {
                        let wv = mp.weights[o * m + j];
                        if wv != 0 {
                            acc += xv[j * p + col] * to_field(i128::from(wv));
                        }
                    }
                    y[o * p + col] = acc;
                }
            }
        }
        if let Some(f) = self
            .fault
            .filter(|f| f.layer == self.layer && f.accumulator)
        {
            if let Some(v) = y.get_mut(f.element) {
                *v += to_field(f.delta);
            }
        }
        // Left side: u_o = Σ_p r^(P−1−p)·Y[o,p] (Y placed here, or in the rescale rows of a
        // fused product), then Σ_o s^(n−1−o)·u_o.
        let mut y_cells = Vec::with_capacity(n * p);
        let mut u = Vec::with_capacity(n);
        for o in 0..n {
            if let Some(rescale) = fused {
                let mut row = 0;
                for col in 0..p {
                    let a = y[o * p + col];
                    let offset = i128::from(mp.bias[o]);
                    let (top, out) = self.rescale_row(Err(a), rescale.shift, rescale.act, offset);
                    self.plan.fgate[top] = FGate::Accs;
                    self.plan.bias[top] = i128::from(col > 0);
                    y_cells.push(out);
                    row = top;
                }
                // Split checks of identity outputs after the chain, which must stay unbroken.
                self.flush_splits();
                u.push(CellRef {
                    col: self.phase2_col(H),
                    row,
                });
                continue;
            }
            let items: Vec<Result<CellRef, Fr>> =
                y[o * p..(o + 1) * p].iter().map(|v| Err(*v)).collect();
            let (h, cells) = self.horner_cells(&items);
            u.push(h);
            y_cells.extend(cells);
        }
        let mut left = None;
        for (o, uo) in u.iter().enumerate() {
            let row = self.phase2_row(FGate::Results, o > 0);
            self.phase2_copy(*uo, row, E1);
            left = Some(CellRef {
                col: self.phase2_col(H),
                row,
            });
        }
        // Right side: (X·r)_j and v_j for every j, the bias as j = m over a row of ones (not
        // in a fused product, whose rescale rows add the bias).
        let zero = self.zero();
        let one = self.constant(1);
        let mut pairs = Vec::with_capacity(m + 1);
        let last = if fused.is_some() { m - 1 } else { m };
        for j in 0..=last {
            let items: Vec<Result<CellRef, Fr>> = if j < m {
                mp.x[j * p..(j + 1) * p]
                    .iter()
                    .map(|c| Ok(c.unwrap_or(zero)))
                    .collect()
            } else {
                vec![Ok(one); p]
            };
            let (xr, _) = self.horner_cells(&items);
            let column: Vec<i64> = if j < m {
                (0..n).map(|o| mp.weights[o * m + j]).collect()
            } else {
                mp.bias.to_vec()
            };
            let v = self.horner_weights(&column);
            pairs.push((v, xr));
        }
        let mut right = None;
        for (j, (v, xr)) in pairs.into_iter().enumerate() {
            let row = self.phase2_row(FGate::Products, j > 0);
            self.phase2_copy(v, row, E1);
            self.phase2_copy(xr, row, E2);
            right = Some(CellRef {
                col: self.phase2_col(H),
                row,
            });
        }
        let row = self.phase2_row(FGate::Check, false);
        self.phase2_copy(left.expect("n ≥ 1"), row, E1);
        self.phase2_copy(right.expect("m ≥ 1"), row, E2);
        match mp.rescale {
            Some(r) if fused.is_none() => y_cells
                .into_iter()
                .map(|c| self.rescale(c, r.shift, r.act))
                .collect(),
            _ => y_cells,
        }
    }
}

impl Plan {
    /// The second-phase columns `[h, e1, e2]` for challenges `r` and `s`, computed row by row
    /// from the first-phase cells, the fixed columns and earlier second-phase cells.
    pub fn phase_two(&self, r: Fr, s: Fr) -> [Vec<Fr>; 3] {
        let w = self.width;
        // powers(c)[i] = c^(W−1−i), and c^W.
        let powers = |c: Fr| -> (Vec<Fr>, Fr) {
            let mut p = vec![Fr::ONE; w];
            for i in (0..w - 1).rev() {
                p[i] = p[i + 1] * c;
            }
            let top = p[0] * c;
            (p, top)
        };
        let ((r_pow, r_w), (s_pow, s_w)) = (powers(r), powers(s));
        let mut cols = [
            vec![Fr::ZERO; self.rows],
            vec![Fr::ZERO; self.rows],
            vec![Fr::ZERO; self.rows],
        ];
        let mut copies = self.fcopies.iter().peekable();
        for row in 0..self.rows {
            while let Some((_, k, src)) = copies.next_if(|c| c.0 == row) {
                cols[*k][row] = cols[H][*src];
            }
            let prev = if row > 0 && self.bias[row] != 0 {
                cols[H][row - 1]
            } else {
                Fr::ZERO
            };
            cols[H][row] = match self.fgate[row] {
                FGate::None | FGate::Check => continue,
                FGate::Cells => {
                    (0..w).fold(prev * r_w, |acc, i| acc + self.advice[i][row] * r_pow[i])
                }
                FGate::Weights => (0..w).fold(prev * s_w, |acc, i| {
                    acc + to_field(i128::from(self.weights[i][row])) * s_pow[i]
                }),
                FGate::Results => prev * s + cols[E1][row],
                FGate::Products => prev + cols[E1][row] * cols[E2][row],
                FGate::Accs => prev * r + self.advice[w][row],
            };
        }
        cols
    }
}
