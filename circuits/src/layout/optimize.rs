//! The layout optimizer: for a compiled model, try every dot-product width, size each layout
//! (rows, `k`), predict its proving time and memory with a cost model, and keep the fastest
//! that fits the memory budget and the EVM's contract-size limit.
//!
//! The cost model follows the prover's work: every polynomial of the circuit is committed
//! (an MSM over `2^k` points) and evaluated on the extended domain (FFTs over a multiple of
//! `2^k`), so both time and memory are `2^k · (fixed part + a part per advice column, per
//! second-phase column and per lookup argument)`. The
//! constants are fitted to proofs measured on the project's 2-core machine (BENCHMARKS.md,
//! "Layout optimizer"); `snarkml compile --optimize --measure` prints predicted against
//! measured for the chosen layout.

use super::Plan;
use crate::error::Result;
use crate::model::{min_k, CompiledModel};

/// The widths the optimizer tries.
pub const WIDTHS: &[usize] = &[3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32];

/// EIP-170's limit on deployed contract code, in bytes.
pub const EVM_CODE_LIMIT: usize = 24_576;

/// What a circuit commits and extends beside its `2^k` rows: the proving cost grows with each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns {
    /// First-phase advice columns.
    pub advice: usize,
    /// Second-phase advice columns (the randomized checks': 3, or 0).
    pub phase2: usize,
    /// Lookup arguments (2 with one-row rescales, else 1).
    pub lookups: usize,
}

impl Columns {
    /// The columns of `model`'s circuit laid out at `width`.
    pub fn of(model: &CompiledModel, width: usize) -> Self {
        Self {
            advice: if model.private_weights() {
                2 * width + 2
            } else {
                width + 1
            },
            phase2: if model.uses_freivalds() { 3 } else { 0 },
            lookups: if model.layout.one_row_rescale { 2 } else { 1 },
        }
    }
}

/// Proving time and memory: the process's own, plus per circuit row (`2^k` of them) a fixed
/// part and parts per first-phase advice column, per second-phase column and per lookup
/// argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostModel {
    /// Seconds whatever the circuit.
    pub fixed_s: f64,
    /// Seconds per row, whatever the columns.
    pub base_s: f64,
    /// Seconds per row and advice column.
    pub column_s: f64,
    /// Seconds per row and second-phase column.
    pub phase2_s: f64,
    /// Seconds per row and lookup argument.
    pub lookup_s: f64,
    /// Bytes of peak memory whatever the circuit.
    pub fixed_bytes: f64,
    /// Bytes of peak memory per row, whatever the columns.
    pub base_bytes: f64,
    /// Bytes of peak memory per row and advice column.
    pub column_bytes: f64,
    /// Bytes of peak memory per row and second-phase column.
    pub phase2_bytes: f64,
    /// Bytes of peak memory per row and lookup argument.
    pub lookup_bytes: f64,
}

impl CostModel {
    /// Relative least-squares fit to proofs measured by `scripts/fit-cost-model` (release
    /// build, 2 cores; BENCHMARKS.md "Cost model fit", which lists every point's error).
    pub const MEASURED: Self = Self {
        fixed_s: FIT[0],
        base_s: FIT[1],
        column_s: FIT[2],
        phase2_s: FIT[3],
        lookup_s: FIT[4],
        fixed_bytes: FIT[5],
        base_bytes: FIT[6],
        column_bytes: FIT[7],
        phase2_bytes: FIT[8],
        lookup_bytes: FIT[9],
    };

    /// Predicted proving seconds and peak bytes of a circuit of `2^k` rows and `columns`.
    pub fn predict(&self, k: u32, columns: Columns) -> (f64, f64) {
        let n = (1u64 << k) as f64;
        let (a, p, l) = (
            columns.advice as f64,
            columns.phase2 as f64,
            columns.lookups as f64,
        );
        (
            self.fixed_s
                + n * (self.base_s + self.column_s * a + self.phase2_s * p + self.lookup_s * l),
            self.fixed_bytes
                + n * (self.base_bytes
                    + self.column_bytes * a
                    + self.phase2_bytes * p
                    + self.lookup_bytes * l),
        )
    }
}

/// `scripts/fit-cost-model`'s output, in [`CostModel`]'s field order (2026-12-04, 16 proofs:
/// every time within 6 % and every memory within 5 %).
const FIT: [f64; 10] = [
    0.0751035,
    1.803889e-05,
    4.544173e-06,
    5.419827e-06,
    8.687913e-06,
    25090185.7,
    1793.59,
    371.182,
    368.14,
    136.448,
];

/// One layout the optimizer considered.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Multiply-accumulates per dot-product row.
    pub width: usize,
    /// Rows the layout uses.
    pub rows: usize,
    /// Rows the compact layout (one-row rescales) would use (`rows` when it is compact).
    pub compact_rows: usize,
    /// The circuit has `2^k` rows.
    pub k: u32,
    /// Everything the proving cost grows with beside `2^k` (the advice columns among them).
    pub columns: Columns,
    /// Predicted proving time, seconds.
    pub prove_s: f64,
    /// Predicted peak memory of proving, bytes.
    pub memory_bytes: f64,
    /// Estimated runtime size of the generated single-proof verifier, bytes.
    pub verifier_bytes: usize,
}

/// Every width's layout for `model` (its tables and visibilities as compiled), with its
/// predicted cost.
pub fn candidates(model: &CompiledModel, cost: &CostModel) -> Result<Vec<Candidate>> {
    let mut out = Vec::with_capacity(WIDTHS.len());
    for &width in WIDTHS {
        let plan = Plan::build(model, width, None)?;
        let mut c = Candidate::new(model, width, plan.rows, cost);
        c.compact_rows = plan.rows - plan.one_row_savings;
        out.push(c);
    }
    Ok(out)
}

impl Candidate {
    /// `model`'s layout at `width` in `rows` rows (its tables as they are), with its cost.
    pub fn new(model: &CompiledModel, width: usize, rows: usize, cost: &CostModel) -> Self {
        let k = min_k(rows, model.tables.rows());
        let columns = Columns::of(model, width);
        let (prove_s, memory_bytes) = cost.predict(k, columns);
        Candidate {
            width,
            rows,
            compact_rows: rows,
            k,
            columns,
            prove_s,
            memory_bytes,
            verifier_bytes: verifier_bytes(
                columns.advice,
                model.num_instances(),
                model.uses_products(),
            ),
        }
    }

    /// Whether a compile at this width might find a smaller `k`: the rows alone, or those of
    /// the compact layout (one-row rescales), fit one, and only the tables (which its own
    /// scale search sizes) stand in the way.
    pub fn could_shrink(&self) -> bool {
        min_k(self.rows.min(self.compact_rows), 0) < self.k
    }

    /// The predicted proving time if the tables did not set `k`, in this layout or the
    /// compact one (a second lookup): no compile at this width can do better.
    pub fn best_case_s(&self, cost: &CostModel) -> f64 {
        let compact = Columns {
            lookups: 2,
            ..self.columns
        };
        cost.predict(min_k(self.rows, 0), self.columns)
            .0
            .min(cost.predict(min_k(self.compact_rows, 0), compact).0)
    }
}

/// The fastest candidate within `max_memory` bytes whose verifier fits the EVM limit (or
/// any verifier size with `ignore_evm_limit`); ties go to the narrower layout.
pub fn choose(
    candidates: &[Candidate],
    max_memory: Option<f64>,
    ignore_evm_limit: bool,
) -> Option<&Candidate> {
    candidates
        .iter()
        .filter(|c| max_memory.is_none_or(|m| c.memory_bytes <= m))
        .filter(|c| ignore_evm_limit || c.verifier_bytes <= EVM_CODE_LIMIT)
        .min_by(|a, b| a.prove_s.total_cmp(&b.prove_s).then(a.width.cmp(&b.width)))
}

/// Runtime bytes of the verifier `gen-verifier` makes by default (ours, self-contained:
/// `Halo2VerifierSingle`): 14,141 bytes with 5 advice columns, about 450 more per further
/// column while its numerator is straight-line code (19,500 with 17), which the generator
/// turns into an interpreted loop before it would pass EIP-170's limit (18,182 bytes with
/// 33); the instances are one loop whatever their number (MobileNetV2's 2,270: 18,470
/// bytes). A rough estimate (the second phase's gates and a second lookup add more:
/// MobileNetV2 at width 10 with both is 22,237 bytes), but the limit it guards never binds
/// for this form. BENCHMARKS.md "Our verifier vs snark-verifier's". snark-verifier's verifier
/// (`gen-verifier --snark-verifier`) grows ~900 bytes per column and 163 per instance and
/// passes the limit from width 16.
pub fn verifier_bytes(advice: usize, _instances: usize, products: bool) -> usize {
    let straight = 14_141 + 450 * advice.saturating_sub(5) + if products { 600 } else { 0 };
    straight.min(19_500)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_grows_with_rows_and_columns() {
        let c = CostModel::MEASURED;
        let cols = |advice, phase2, lookups| Columns {
            advice,
            phase2,
            lookups,
        };
        let (t12, m12) = c.predict(12, cols(5, 0, 1));
        let (t13, m13) = c.predict(13, cols(5, 0, 1));
        // The per-row part doubles with k; the process's own does not.
        assert!(((t13 - c.fixed_s) / (t12 - c.fixed_s) - 2.0).abs() < 1e-9);
        assert!(((m13 - c.fixed_bytes) / (m12 - c.fixed_bytes) - 2.0).abs() < 1e-9);
        assert!(c.predict(12, cols(9, 0, 1)).0 > t12);
        assert!(c.predict(12, cols(5, 3, 1)).0 > t12);
        assert!(c.predict(12, cols(5, 0, 2)).0 > t12);
    }

    #[test]
    fn choice_respects_memory_and_the_evm_limit() {
        let cand = |width, prove_s, memory_bytes, verifier_bytes| Candidate {
            width,
            rows: 0,
            compact_rows: 0,
            k: 10,
            columns: Columns {
                advice: width + 1,
                phase2: 0,
                lookups: 1,
            },
            prove_s,
            memory_bytes,
            verifier_bytes,
        };
        let all = [
            cand(4, 3.0, 1e9, 15_000),
            cand(8, 2.0, 3e9, 19_000),
            cand(32, 1.0, 2e9, 40_000),
        ];
        assert_eq!(choose(&all, None, false).unwrap().width, 8);
        assert_eq!(choose(&all, None, true).unwrap().width, 32);
        assert_eq!(choose(&all, Some(2e9), false).unwrap().width, 4);
        assert!(choose(&all, Some(1e8), false).is_none());
    }
}
