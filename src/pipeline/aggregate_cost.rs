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
        let scale = scale(k);
        let circuits = layers.iter().map(Vec::len).sum();
        let prove: f64 = layers.iter().flatten().map(|&p| step_seconds(p, k)).sum();
        let widest = layers.iter().flatten().copied().max().unwrap_or(1).max(2);
        let above = match layers.len() {
            0..=2 => 0.0,
            l => 2.8 + 1.6 * (l - 3) as f64,
        };
        let peak_gib = (3.7 * widest as f64 + above) * scale;
        Self {
            circuits,
            prove_s: prove.round() as u64,
            keygen_s: (keygen_seconds(k) * layers.len() as f64).round() as u64,
            peak_mib: (peak_gib * 1024.0).round() as u64,
        }
    }

    /// Whether it is long or large enough to say so before starting.
    pub fn worth_a_warning(&self) -> bool {
        self.prove_s + self.keygen_s > WARN_SECONDS || self.peak_mib > WARN_MIB
    }
}

fn scale(k: u32) -> f64 {
    2f64.powi(k as i32 - 21)
}

/// Seconds to prove one aggregation circuit of `proofs` inner proofs at `k`, its keys made.
pub fn step_seconds(proofs: usize, k: u32) -> f64 {
    (100.0 * proofs as f64).max(200.0) * scale(k)
}

/// Seconds to generate one aggregation circuit's keys at `k`.
pub fn keygen_seconds(k: u32) -> f64 {
    90.0 * scale(k)
}

/// Peak memory of one aggregation circuit of `proofs` proofs proven alone (a task), MiB.
pub fn step_peak_mib(proofs: usize, k: u32) -> u64 {
    (3.7 * proofs.max(2) as f64 * scale(k) * 1024.0).round() as u64
}

/// Wall seconds of an aggregation tree of `n` proofs on `machines` machines, a step a task:
/// each layer's steps spread over the machines (longest first, onto the machine free soonest),
/// a layer when the one below is done; each step generates its keys first when `keygen`.
pub fn tree_seconds(n: usize, layout: Layout, k: u32, machines: usize, keygen: bool) -> f64 {
    let keys = if keygen { keygen_seconds(k) } else { 0.0 };
    layout
        .layers(n)
        .iter()
        .map(|groups| {
            let steps: Vec<f64> = groups.iter().map(|&p| keys + step_seconds(p, k)).collect();
            snarkml_circuits::split::wall_time(&steps, machines)
        })
        .sum()
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

    #[test]
    fn a_tree_on_more_machines_takes_a_round_per_layer() {
        let pairs = Layout::default();
        // 13 proofs: 7, 4, 2, 1 and 1 steps of 200 s.
        let one = tree_seconds(13, pairs, 21, 1, false);
        assert_eq!(one, 15.0 * 200.0);
        assert_eq!(one, AggregationCost::predict(13, pairs, 21).prove_s as f64);
        assert_eq!(tree_seconds(13, pairs, 21, 8, false), 5.0 * 200.0);
        assert_eq!(tree_seconds(13, pairs, 21, 4, false), (2.0 + 4.0) * 200.0);
        assert_eq!(tree_seconds(13, pairs, 21, 8, true), 5.0 * 290.0);
        assert_eq!(step_peak_mib(1, 21), step_peak_mib(2, 21));
    }
}
