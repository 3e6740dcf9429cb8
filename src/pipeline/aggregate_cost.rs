//! What an aggregation is predicted to cost before it starts, so that a user about to wait a
//! quarter of an hour and most of a machine's memory is told so first.

use super::aggregate::Layout;

/// A prediction of an aggregation's cost on the project's 2-core machine (AMD EPYC, 24 GiB),
/// from the figures measured in BENCHMARKS.md "Aggregation" at `k = 21`, scaled by
/// `2^(k − 21)`: about 200 s to prove each aggregation circuit of at most two proofs (100 s
/// per inner proof in a wider one), 90 s to generate each layer's keys when they are not
/// cached, and a peak of 3.7 GiB per proof of the widest circuit plus what the layers above
/// keep (7.4 GiB for two proofs, 10.2 GiB for four, 11.8 GiB for eight, as measured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregationCost {
    /// Aggregation circuits to prove.
    pub circuits: usize,
    /// Seconds of proving.
    pub prove_s: u64,
    /// Seconds of key generation when no key is cached.
    pub keygen_s: u64,
    /// Peak memory, MiB.
    pub peak_mib: u64,
}

/// Above either, the CLI says what the aggregation will cost and how to avoid it.
pub const WARN_SECONDS: u64 = 600;
/// See [`WARN_SECONDS`]: 8 GiB.
pub const WARN_MIB: u64 = 8 * 1024;

impl AggregationCost {
    /// The prediction for `n` proofs in `layout` at `k`.
    pub fn predict(n: usize, layout: Layout, k: u32) -> Self {
        let layers = layout.layers(n);
        let scale = 2f64.powi(k as i32 - 21);
        let circuits = layers.iter().map(Vec::len).sum();
        let prove: f64 = layers
            .iter()
            .flatten()
            .map(|&p| (100.0 * p as f64).max(200.0))
            .sum();
        let widest = layers.iter().flatten().copied().max().unwrap_or(1).max(2);
        let above = match layers.len() {
            0..=2 => 0.0,
            l => 2.8 + 1.6 * (l - 3) as f64,
        };
        let peak_gib = (3.7 * widest as f64 + above) * scale;
        Self {
            circuits,
            prove_s: (prove * scale).round() as u64,
            keygen_s: (90.0 * layers.len() as f64 * scale).round() as u64,
            peak_mib: (peak_gib * 1024.0).round() as u64,
        }
    }

    /// Whether it is long or large enough to say so before starting.
    pub fn worth_a_warning(&self) -> bool {
        self.prove_s + self.keygen_s > WARN_SECONDS || self.peak_mib > WARN_MIB
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_follow_the_measured_aggregations() {
        let pairs = Layout::default();
        // BENCHMARKS.md "Aggregation", k = 21: N = 2, 4, 8 proved in 393 s, 803 s, 1,722 s
        // with 7.4, 10.2 and 11.8 GiB peaks.
        let two = AggregationCost::predict(2, pairs, 21);
        assert_eq!((two.circuits, two.prove_s, two.peak_mib), (2, 400, 7578));
        let four = AggregationCost::predict(4, pairs, 21);
        assert_eq!((four.circuits, four.prove_s), (4, 800));
        assert!((10_000..10_800).contains(&four.peak_mib), "{four:?}");
        let eight = AggregationCost::predict(8, pairs, 21);
        assert_eq!((eight.circuits, eight.prove_s), (8, 1600));
        assert!((11_500..12_700).contains(&eight.peak_mib), "{eight:?}");
        // Two proofs: just under 10 minutes with fresh keys and under 8 GiB: no warning.
        assert!(!two.worth_a_warning());
        assert!(four.worth_a_warning() && eight.worth_a_warning());
        // A smaller aggregation circuit is quick.
        assert!(!AggregationCost::predict(2, pairs, 18).worth_a_warning());
    }
}
