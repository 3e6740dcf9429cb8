//! Finer input features: how many extra fractional bits each narrow feature of a model input
//! takes (tabular data: features of very different ranges), and whose weights take them off
//! (the dense layers and affine maps reading it, through copies of its columns). The linear
//! layers' lowering ([`super::linear::lower`]) then quantizes each weight at the weight scale
//! less its feature's bits.

use crate::model::{FloatGraph, FloatOp, TensorId};

/// The most extra bits a feature takes: [`finer_features`] caps them at
/// [`super::lower::MAX_SCALE_BITS`] (16) less the activation scale, and at the weight scale
/// unless the feature's weights are whole numbers.
const MAX_FEATURE_BITS: usize = 16;

/// A feature whose weights all stay exact (a tree's branches: comparisons with thresholds)
/// takes extra bits until its calibrated reach spans `2^12` quantization steps, where the
/// input's range no longer allows them: on features of one range (the diabetes data) the
/// input's rounding, not the thresholds', flips branches (measured: 2^13 and 2^15 bought no more
/// there, and 2^15 cost the iris forest a `k`). Its input check grows to about 15 bits.
const EXACT_FEATURE_STEPS: u32 = 12;

/// The weights a feature of a model input meets, at weight scale `sw`: the largest `|w|`,
/// and for each number `e` of extra bits the feature could take, the largest error of one
/// of them rounded at `sw − e` bits (zero for weights that stay exact: a tree branch's ±1).
#[derive(Clone, Copy, Debug, PartialEq)]
struct FeatureWeights {
    widest: f64,
    rounding: [f64; MAX_FEATURE_BITS + 1],
    /// Every weight a whole number (a tree branch's ±1): exact at any scale, even one past
    /// the weight scale (the layer's accumulator then takes the feature's bits, see [`lower`]).
    integral: bool,
}

impl FeatureWeights {
    const NONE: Self = Self {
        widest: 0.0,
        rounding: [0.0; MAX_FEATURE_BITS + 1],
        integral: true,
    };

    /// `scales[e]`: `2^(sw − e)`, the weights' scale with `e` extra bits on the feature.
    fn meet(&mut self, w: f32, scales: &[f64; MAX_FEATURE_BITS + 1]) {
        let w = f64::from(w);
        self.widest = self.widest.max(w.abs());
        self.integral &= w.fract() == 0.0;
        for (r, step) in self.rounding.iter_mut().zip(scales) {
            *r = r.max((w - (w * step).round() / step).abs());
        }
    }

    fn join(&mut self, other: &Self) {
        self.widest = self.widest.max(other.widest);
        self.integral &= other.integral;
        for (r, o) in self.rounding.iter_mut().zip(&other.rounding) {
            *r = r.max(*o);
        }
    }
}

/// The weights of each feature (last axis, `n` of them) of tensor `t` among the dense layers
/// and affine maps reading it; `None` if anything else reads it (but a copy, whose readers
/// are counted on their own).
fn feature_weights(
    graph: &FloatGraph,
    t: TensorId,
    n: usize,
    sw: u32,
) -> Option<Vec<FeatureWeights>> {
    let mut seen = vec![FeatureWeights::NONE; n];
    let scales = std::array::from_fn(|e| f64::from(sw).exp2() / (e as f64).exp2());
    for op in graph.ops.iter().filter(|op| op.inputs().contains(&t)) {
        match op {
            FloatOp::Select { .. } => {}
            FloatOp::Dense {
                input,
                n_in,
                n_out,
                weight,
                ..
            } if *input == t && *n_in == n => {
                for (k, w) in weight.iter().enumerate() {
                    seen[k / n_out].meet(*w, &scales);
                }
            }
            FloatOp::Affine { input, scale, .. } if *input == t && n > 0 => {
                for (k, w) in scale.iter().enumerate() {
                    seen[k % n].meet(*w, &scales);
                }
            }
            _ => return None,
        }
    }
    Some(seen)
}

/// The extra fractional bits of each feature (last axis) of model input `t`, given the largest
/// magnitude of each feature on the calibration samples (`features`), and those of each copy
/// of `t`'s features (a constant Gather, ArrayFeatureExtractor or Concat in front of the
/// linear layer, or a copy of such a copy: an isolation forest's columns, then its trees'
/// gathered comparisons), by tensor: empty unless every reader of `t`, or of such a copy, is a dense
/// layer or an affine map (whose weights can absorb a per-feature scale) and some feature
/// gains a bit. Feature `j`, at most `m_j` where the tensor reaches `M` (`m_j = 0`, or no
/// weight reads it: keep the input's scale), takes `e_j` more bits, no more than keep twice
/// its reach within that of the tensor or of a value of magnitude one, whichever is wider
/// (`2·m_j·2^e_j ≤ max(M, 1)`: the activation scale is chosen for values of that order; the
/// input check then covers four times the feature's calibrated range, the tensor's own
/// margin doubled; a feature only compared with thresholds goes on to [`EXACT_FEATURE_STEPS`]),
/// and within that as many as make the error of its products least: the
/// input's rounding `w_j·2^−(s+e+1)` (`w_j` its widest weight) falls with `e` while its
/// weights, which lose `e` bits, round by up to `δ_j(e)` each, `m_j·δ_j(e)`, computed from
/// the weights themselves (about `2^2e = w_j·2^(sw−s)/m_j` for weights in general; weights
/// that stay exact, a tree branch's ±1, let `e_j` go as far as the range allows).
pub(crate) fn finer_features(
    graph: &FloatGraph,
    t: TensorId,
    s: u32,
    sw: u32,
    max_abs: f64,
    features: &[f64],
) -> Vec<(TensorId, Vec<u32>)> {
    let n = features.len();
    if graph.outputs.contains(&t) || max_abs <= 0.0 || n == 0 {
        return Vec::new();
    }
    // Who carries the weights: `t` itself, or copies of its features (a Select of `t` alone,
    // or of such a copy alone: a Gather of columns, then a tree's gathered comparisons), each
    // feature of a copy the input feature its elements copy (the same in every row; `None`:
    // zeros).
    let mut carriers: Vec<(TensorId, Vec<Option<usize>>)> = Vec::new();
    if !graph.ops.iter().any(|op| op.inputs().contains(&t)) {
        return Vec::new();
    }
    let mut queue = vec![(t, (0..n).map(Some).collect::<Vec<_>>())];
    while let Some((c, from)) = queue.pop() {
        for op in graph.ops.iter().filter(|op| op.inputs().contains(&c)) {
            match op {
                FloatOp::Dense { .. } | FloatOp::Affine { .. } => {}
                FloatOp::Select {
                    inputs,
                    output,
                    map,
                    ..
                } if !graph.outputs.contains(output) && inputs.iter().all(|i| *i == c) => {
                    let width = graph.tensors[*output].shape.last().copied().unwrap_or(1);
                    if width == 0 {
                        return Vec::new();
                    }
                    let mut source: Vec<Option<Option<usize>>> = vec![None; width];
                    for (k, m) in map.iter().enumerate() {
                        let f = m.and_then(|(_, e)| from[e as usize % from.len()]);
                        match source[k % width] {
                            None => source[k % width] = Some(f),
                            Some(g) if g == f => {}
                            Some(_) => return Vec::new(),
                        }
                    }
                    queue.push((*output, source.into_iter().map(Option::flatten).collect()));
                }
                _ => return Vec::new(),
            }
        }
        carriers.push((c, from));
    }
    let mut weights = vec![FeatureWeights::NONE; n];
    for (c, source) in &carriers {
        let Some(w) = feature_weights(graph, *c, source.len(), sw) else {
            return Vec::new();
        };
        for (j, f) in source.iter().enumerate() {
            if let Some(f) = f {
                weights[*f].join(&w[j]);
            }
        }
    }
    let scale_cap = super::lower::MAX_SCALE_BITS
        .saturating_sub(s)
        .min(MAX_FEATURE_BITS as u32);
    let bits: Vec<u32> = features
        .iter()
        .zip(&weights)
        .map(|(&m, w)| {
            if m <= 0.0 || w.widest <= 0.0 {
                return 0;
            }
            // How far the feature's quantized reach `m·2^(s+e)` may grow: half the input's,
            // or for a feature only compared with thresholds (its weights stay exact at every
            // bit it could take) 2^12 steps, whichever is more.
            let mut reach = max_abs.max(1.0) * f64::from(s).exp2() / 2.0;
            // Whole weights stay exact past the weight scale; others lose a bit per bit.
            let cap = if w.integral {
                reach = reach.max(f64::from(EXACT_FEATURE_STEPS).exp2());
                scale_cap
            } else {
                scale_cap.min(sw)
            };
            let range = (reach / (m * f64::from(s).exp2())).log2().floor();
            let most = range.clamp(0.0, f64::from(cap)) as u32;
            // The product's error at `e` bits: the input's rounding times the widest weight,
            // the weights' own rounding times the feature's reach (ties: fewer bits).
            let error = |e: u32| {
                let rounding = if w.integral {
                    0.0
                } else {
                    w.rounding[e as usize]
                };
                w.widest * f64::from(s + e + 1).exp2().recip() + m * rounding
            };
            (0..=most)
                .min_by(|a, b| error(*a).total_cmp(&error(*b)))
                .unwrap_or(0)
        })
        .collect();
    if bits.iter().all(|b| *b == 0) {
        return Vec::new();
    }
    let copies: Vec<(TensorId, Vec<u32>)> = carriers
        .into_iter()
        .filter(|(c, _)| *c != t)
        .map(|(c, source)| (c, source.iter().map(|f| f.map_or(0, |f| bits[f])).collect()))
        .collect();
    std::iter::once((t, bits)).chain(copies).collect()
}
