//! The layout optimizer: for a compiled model, try every dot-product width, size each layout
//! (rows, `k`), predict its proving time and memory with a cost model, and keep the fastest
//! that fits the memory budget and the EVM's contract-size limit.
//!
//! The cost model follows the prover's work: every polynomial of the circuit is committed
//! (an MSM over `2^k` points) and evaluated on the extended domain (FFTs over a multiple of
//! `2^k`), so both time and memory are `2^k · (fixed part + per-advice-column part)`. The
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

/// Proving time and memory per circuit row (`2^k` of them), as a fixed part plus a part per
/// advice column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostModel {
    /// Seconds per row, whatever the width.
    pub base_s: f64,
    /// Seconds per row and advice column.
    pub column_s: f64,
    /// Bytes of peak memory per row, whatever the width.
    pub base_bytes: f64,
    /// Bytes of peak memory per row and advice column.
    pub column_bytes: f64,
}

impl CostModel {
    /// Least-squares fit to nine `snarkml bench` proofs (LeNet-5 at widths 3, 4, 8 and 16,
    /// the transformer block at 4, 8 and 16, the digits CNN at 4 and 12; k from 15 to 18;
    /// release build, 2 cores; BENCHMARKS.md "Layout optimizer"): every time within 12 % and
    /// every memory within 25 % of the measured.
    pub const MEASURED: Self = Self {
        base_s: 7.65e-5,
        column_s: 7.49e-6,
        base_bytes: 3_074.0,
        column_bytes: 501.0,
    };

    /// Predicted proving seconds and peak bytes of a circuit of `2^k` rows and `advice`
    /// advice columns.
    pub fn predict(&self, k: u32, advice: usize) -> (f64, f64) {
        let n = (1u64 << k) as f64;
        let a = advice as f64;
        (
            n * (self.base_s + self.column_s * a),
            n * (self.base_bytes + self.column_bytes * a),
        )
    }
}

/// One layout the optimizer considered.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Multiply-accumulates per dot-product row.
    pub width: usize,
    /// Rows the layout uses.
    pub rows: usize,
    /// The circuit has `2^k` rows.
    pub k: u32,
    /// Advice columns.
    pub advice: usize,
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
        let rows = Plan::build(model, width, None)?.rows;
        out.push(Candidate::new(model, width, rows, cost));
    }
    Ok(out)
}

impl Candidate {
    /// `model`'s layout at `width` in `rows` rows (its tables as they are), with its cost.
    pub fn new(model: &CompiledModel, width: usize, rows: usize, cost: &CostModel) -> Self {
        let k = min_k(rows, model.tables.rows());
        let advice = if model.private_weights() {
            2 * width + 2
        } else {
            width + 1
        };
        let (prove_s, memory_bytes) = cost.predict(k, advice);
        Candidate {
            width,
            rows,
            k,
            advice,
            prove_s,
            memory_bytes,
            verifier_bytes: verifier_bytes(advice, model.num_instances(), model.uses_products()),
        }
    }

    /// Whether the rows alone would fit a smaller `k` (the table sets it): compiled at this
    /// width, the scale search may find tables that fit that `k` too.
    pub fn table_bound(&self) -> bool {
        min_k(self.rows, 0) < self.k
    }

    /// The predicted proving time if the table did not set `k`: no compile at this width can
    /// do better.
    pub fn best_case_s(&self, cost: &CostModel) -> f64 {
        cost.predict(min_k(self.rows, 0), self.advice).0
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

/// Runtime bytes of snark-verifier's generated verifier for the model circuit: fitted to the
/// verifiers of the 3-element ReLU, the digits MLP and LeNet-5 (14,967, 15,825 and 23,993
/// bytes at width 4 with 2, 5 and 55 instances), with ~900 bytes per further advice column
/// (TOOLCHAIN.md) and ~600 for the product gates; within a few hundred bytes of those.
pub fn verifier_bytes(advice: usize, instances: usize, products: bool) -> usize {
    9_400
        + 900 * advice.saturating_sub(1)
        + 1_950
        + 163 * instances
        + if products { 600 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_grows_with_rows_and_columns() {
        let c = CostModel::MEASURED;
        let (t12, m12) = c.predict(12, 5);
        let (t13, m13) = c.predict(13, 5);
        assert!((t13 / t12 - 2.0).abs() < 1e-9 && (m13 / m12 - 2.0).abs() < 1e-9);
        assert!(c.predict(12, 9).0 > t12);
    }

    #[test]
    fn choice_respects_memory_and_the_evm_limit() {
        let cand = |width, prove_s, memory_bytes, verifier_bytes| Candidate {
            width,
            rows: 0,
            k: 10,
            advice: width + 1,
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
