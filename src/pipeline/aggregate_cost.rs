//! What an aggregation is predicted to cost before it starts, so that a user about to wait a
//! quarter of an hour and most of a machine's memory is told so first.

use super::aggregate::Layout;
use super::aggregate_tree::layer_specs;
use eyre::Result;
use snarkml_circuits::aggregation::{Expose, ACCUMULATOR_INSTANCES};

/// Seconds of proving, and of key generation, per public instance of the inner proofs a step
/// verifies (each is witnessed and hashed into the transcript): the MobileNetV2 1.0/224 steps
/// that carry its image's 11,584 instances took 221–231 s of keys and 297–312 s of proof
/// against 88–95 s and 172–180 s for the same steps without them (BENCHMARKS.md "MobileNetV2
/// 1.0 / 224"). Not scaled by `k`: the instances' cells are the same at any size.
const SECONDS_PER_INSTANCE: f64 = 0.012;
/// MiB of peak memory per public instance of the inner proofs: the same steps took 4.4 GB more.
const MIB_PER_INSTANCE: f64 = 0.36;

/// One aggregation step of a tree: how many proofs it verifies and the public instances they
/// carry together (accumulators included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepLoad {
    /// Inner proofs.
    pub proofs: usize,
    /// Their public instances, together.
    pub instances: usize,
}

/// The steps of an aggregation tree, layer by layer (in the order of [`Layout::layers`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeLoad {
    /// Each layer's steps.
    pub layers: Vec<Vec<StepLoad>>,
}

impl TreeLoad {
    /// The tree `layout` makes of inner proofs with `leaves[i]` public instances each (their
    /// claims: the instances an expose spec reads), each node carrying up what `expose` exposes
    /// at its layer and an accumulator.
    pub fn new(leaves: &[usize], expose: &Expose, layout: Layout) -> Result<Self> {
        let groups = layout.layers(leaves.len());
        let specs = layer_specs(expose, &groups)?;
        // Each proof of the layer at hand: (its claims, whether it carries an accumulator).
        let mut level: Vec<(usize, bool)> = leaves.iter().map(|&n| (n, false)).collect();
        let mut layers = Vec::with_capacity(groups.len());
        for (sizes, specs) in groups.iter().zip(&specs) {
            let mut at = 0;
            let mut steps = Vec::with_capacity(sizes.len());
            let mut next = Vec::with_capacity(sizes.len());
            for (&size, spec) in sizes.iter().zip(specs) {
                let children = &level[at..at + size];
                at += size;
                let claims: Vec<usize> = children.iter().map(|c| c.0).collect();
                let instances = children
                    .iter()
                    .map(|&(n, acc)| n + if acc { ACCUMULATOR_INSTANCES } else { 0 })
                    .sum();
                steps.push(StepLoad {
                    proofs: size,
                    instances,
                });
                next.push((spec.exposed_len(&claims), true));
            }
            layers.push(steps);
            level = next;
        }
        Ok(Self { layers })
    }

    /// The tree of `n` proofs with few public instances each (the cost measured without them).
    pub fn few(n: usize, layout: Layout) -> Self {
        Self {
            layers: layout
                .layers(n)
                .iter()
                .map(|sizes| {
                    sizes
                        .iter()
                        .map(|&proofs| StepLoad {
                            proofs,
                            instances: 0,
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// The steps, every layer's in order.
    pub fn steps(&self) -> impl Iterator<Item = StepLoad> + '_ {
        self.layers.iter().flatten().copied()
    }
}

/// A prediction of an aggregation's cost on the project's 2-core machine (AMD EPYC, 24 GiB),
/// from the figures measured in BENCHMARKS.md "Aggregation" at `k = 21`, scaled by
/// `2^(k − 21)`: about 200 s to prove each aggregation circuit of at most two proofs (100 s
/// per inner proof in a wider one), 90 s to generate each layer's keys when they are not
/// cached, and a peak of 3.7 GiB per proof of the widest circuit plus what the layers above
/// keep (7.4 GiB for two proofs, 10.2 GiB for four, 11.8 GiB for eight, as measured); plus,
/// per public instance of the inner proofs, [`SECONDS_PER_INSTANCE`] of each and
/// [`MIB_PER_INSTANCE`].
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
    /// The prediction for `n` proofs with few public instances in `layout` at `k`.
    pub fn predict(n: usize, layout: Layout, k: u32) -> Self {
        Self::of_tree(&TreeLoad::few(n, layout), k)
    }

    /// The prediction for the steps of `tree` at `k`, one after another on one machine.
    pub fn of_tree(tree: &TreeLoad, k: u32) -> Self {
        let scale = scale(k);
        let prove: f64 = tree.steps().map(|s| step_seconds(s, k)).sum();
        // Keys are made once per distinct circuit of a layer (a step carrying other instances
        // is another circuit).
        let keygen: f64 = tree
            .layers
            .iter()
            .map(|steps| {
                let mut distinct = steps.clone();
                distinct.sort_by_key(|s| (s.proofs, s.instances));
                distinct.dedup();
                distinct
                    .iter()
                    .map(|s| keygen_seconds(s.instances, k))
                    .sum::<f64>()
            })
            .sum();
        let widest = tree.steps().map(|s| s.proofs).max().unwrap_or(1).max(2);
        let instances = tree.steps().map(|s| s.instances).max().unwrap_or(0);
        let above = match tree.layers.len() {
            0..=2 => 0.0,
            l => 2.8 + 1.6 * (l - 3) as f64,
        };
        let peak_gib = (3.7 * widest as f64 + above) * scale;
        Self {
            circuits: tree.layers.iter().map(Vec::len).sum(),
            prove_s: prove.round() as u64,
            keygen_s: keygen.round() as u64,
            peak_mib: (peak_gib * 1024.0 + MIB_PER_INSTANCE * instances as f64).round() as u64,
        }
    }

    /// The prediction for one step proven alone (a task).
    pub fn of_step(step: StepLoad, k: u32) -> Self {
        Self {
            circuits: 1,
            prove_s: step_seconds(step, k).round() as u64,
            keygen_s: keygen_seconds(step.instances, k).round() as u64,
            peak_mib: step_peak_mib(step, k),
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

/// Seconds to prove one aggregation step at `k`, its keys made.
pub fn step_seconds(step: StepLoad, k: u32) -> f64 {
    (100.0 * step.proofs as f64).max(200.0) * scale(k)
        + SECONDS_PER_INSTANCE * step.instances as f64
}

/// Seconds to generate the keys of an aggregation circuit at `k` whose inner proofs carry
/// `instances` public instances.
pub fn keygen_seconds(instances: usize, k: u32) -> f64 {
    90.0 * scale(k) + SECONDS_PER_INSTANCE * instances as f64
}

/// Peak memory of one aggregation step proven alone (a task), MiB.
pub fn step_peak_mib(step: StepLoad, k: u32) -> u64 {
    (3.7 * step.proofs.max(2) as f64 * scale(k) * 1024.0 + MIB_PER_INSTANCE * step.instances as f64)
        .round() as u64
}

/// Wall seconds of an aggregation tree on `machines` machines, a step a task: each layer's
/// steps spread over the machines (longest first, onto the machine free soonest), a layer when
/// the one below is done; each step generates its keys first when `keygen`.
pub fn tree_seconds(tree: &TreeLoad, k: u32, machines: usize, keygen: bool) -> f64 {
    tree.layers
        .iter()
        .map(|steps| {
            let steps: Vec<f64> = steps
                .iter()
                .map(|&s| {
                    let keys = if keygen {
                        keygen_seconds(s.instances, k)
                    } else {
                        0.0
                    };
                    keys + step_seconds(s, k)
                })
                .collect();
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
        let few = TreeLoad::few(13, pairs);
        let one = tree_seconds(&few, 21, 1, false);
        assert_eq!(one, 15.0 * 200.0);
        assert_eq!(one, AggregationCost::predict(13, pairs, 21).prove_s as f64);
        assert_eq!(tree_seconds(&few, 21, 8, false), 5.0 * 200.0);
        assert_eq!(tree_seconds(&few, 21, 4, false), (2.0 + 4.0) * 200.0);
        assert_eq!(tree_seconds(&few, 21, 8, true), 5.0 * 290.0);
        let pair = |instances| StepLoad {
            proofs: 2,
            instances,
        };
        let lone = StepLoad {
            proofs: 1,
            instances: 0,
        };
        assert_eq!(step_peak_mib(lone, 21), step_peak_mib(pair(0), 21));
    }

    /// MobileNetV2 1.0/224 in 13 segments (BENCHMARKS.md "MobileNetV2 1.0 / 224"): segment 1
    /// shows the image (11,584 packed instances) and gives out two boundary commitments, the
    /// middle segments take and give commitments, segment 13 shows the 1,000 logits (168).
    #[test]
    fn the_steps_that_carry_an_image_are_predicted_as_measured() {
        let mut counts = vec![11_584 + 2];
        counts.extend(std::iter::repeat_n(4, 11));
        counts.push(2 + 168);
        // As `aggregation_expose` makes it: segment 1's image, each segment's outputs linked
        // to the next one's inputs, segment 13's logits.
        let mut items: Vec<String> = (0..11_584).map(|i| format!("instance:0:{i}")).collect();
        for j in 0..12 {
            let (out, input) = if j == 0 { (11_584, 0) } else { (2, 0) };
            items.push(format!("link:{j}:{out}:{}:{input}", j + 1));
            items.push(format!("link:{j}:{}:{}:{}", out + 1, j + 1, input + 1));
        }
        items.extend((2..170).map(|i| format!("instance:12:{i}")));
        let expose: Expose = items.join(",").parse().unwrap();
        let tree = TreeLoad::new(&counts, &expose, Layout::default()).unwrap();
        let sizes: Vec<usize> = tree.layers.iter().map(Vec::len).collect();
        assert_eq!(sizes, [7, 4, 2, 1, 1]);
        // Every step on the image's path carries it (plus the accumulators above layer 0).
        for (l, steps) in tree.layers.iter().enumerate() {
            assert!(steps[0].instances >= 11_584, "{l}: {:?}", steps[0]);
        }
        assert_eq!(tree.layers[0][1].instances, 8);
        // Measured at k = 21: 0:0 221 s of keys and 297 s of proof, 17.3 GB; 0:1 95 s, 180 s.
        let image = AggregationCost::of_step(tree.layers[0][0], 21);
        assert!((200..260).contains(&image.keygen_s), "{image:?}");
        assert!((300..360).contains(&image.prove_s), "{image:?}");
        assert!((11_000..12_500).contains(&image.peak_mib), "{image:?}");
        let plain = AggregationCost::of_step(tree.layers[0][1], 21);
        assert_eq!((plain.keygen_s, plain.prove_s), (90, 200));
        // Each round waits for the step carrying the image: 8 machines take what the measured
        // rounds took (3,030 s), not the 1,450 s of steps without instances.
        let eight = tree_seconds(&tree, 21, 8, true);
        assert!((2_600..3_300).contains(&(eight as u64)), "{eight}");
        assert!(eight > 1.8 * tree_seconds(&TreeLoad::few(13, Layout::default()), 21, 8, true));
    }
}
