//! Graph folds after import, before lowering: biases, per-channel affine maps (batch
//! normalization, `Mul`/`Add` by constants) and average-pool factors merged into the linear
//! op next to them, each saving the rows of a layer. Every fold keeps the float graph's
//! values (the whole import is checked against tract on the calibration samples).

use crate::model::{Activation, ConvGeometry, FloatGraph, FloatOp, Param};

/// Removes the ops whose results nothing reads (no op, no model output): a QuantizeLinear
/// whose only reader became fake quantization (`qdq.rs`), an exporter's unused branch. Each
/// would cost rows and tables for a value no output depends on.
pub(super) fn prune_dead(graph: &mut FloatGraph) {
    loop {
        let readers = graph.readers();
        let before = graph.ops.len();
        graph.ops.retain(|op| readers[op.output()] > 0);
        if graph.ops.len() == before {
            return;
        }
    }
}

/// Folds a ReLU before fake quantization (`Relu → Affine(x/s) → Dequantize`, the
/// QuantizeLinear after a ReLU that every int8 export writes) into the quantization's lowest
/// level: `relu` commutes with a positive scale and with rounding, and clamping a count of
/// steps that is at least zero to `[lo, hi]` is clamping it to `[max(lo, 0), hi]`. The affine
/// map then reads the ReLU's input, so that a convolution before it folds it in
/// ([`fold_affine`]) and ends in the quantization's table: one layer for conv, ReLU and QDQ.
pub(super) fn fold_relu_into_quantization(graph: &mut FloatGraph) {
    let readers = graph.readers();
    let single = |t: usize| readers[t] == 1 && !graph.outputs.contains(&t);
    let mut i = 0;
    while i + 2 < graph.ops.len() {
        let fold = match &graph.ops[i..i + 3] {
            [FloatOp::Activation {
                act: Activation::Relu,
                input: a,
                output: r,
                ..
            }, FloatOp::Affine {
                input: ar,
                output: u,
                scale,
                shift,
                ..
            }, FloatOp::Activation {
                act: Activation::Dequantize { lo, hi, .. },
                input: du,
                ..
            }] if ar == r
                && du == u
                && single(*r)
                && single(*u)
                && scale.iter().all(|c| *c > 0.0)
                && shift.iter().all(|b| *b == 0.0)
                && hi.get() >= 0.0 =>
            {
                Some(*a)
            }
            _ => None,
        };
        let Some(a) = fold else {
            i += 1;
            continue;
        };
        graph.ops.remove(i);
        if let FloatOp::Affine { input, .. } = &mut graph.ops[i] {
            *input = a;
        }
        if let FloatOp::Activation {
            act: Activation::Dequantize { lo, .. },
            ..
        } = &mut graph.ops[i + 1]
        {
            *lo = Param::new(lo.get().max(0.0) as f32);
        }
    }
}

/// Folds `Affine → Affine` (a batch normalization's `Mul` and the QuantizeLinear after it, a
/// `Mul` then a `Div` by constants) into one affine map: `a₂·(a₁·x + b₁) + b₂`. Saves the
/// rows of a layer, one or two per element.
pub(super) fn fold_affine_pairs(graph: &mut FloatGraph) {
    let readers = graph.readers();
    let mut i = 0;
    while i + 1 < graph.ops.len() {
        let fold = match (&graph.ops[i], &graph.ops[i + 1]) {
            (
                FloatOp::Affine {
                    output,
                    scale: a1,
                    shift: b1,
                    ..
                },
                FloatOp::Affine {
                    input,
                    scale: a2,
                    shift: b2,
                    output: out2,
                    ..
                },
            ) if input == output
                && readers[*output] == 1
                && !graph.outputs.contains(output)
                && a1.len() == a2.len() =>
            {
                let scale = a1.iter().zip(a2).map(|(a1, a2)| a1 * a2).collect();
                let shift = (b1.iter().zip(a2).zip(b2))
                    .map(|((b1, a2), b2)| b1 * a2 + b2)
                    .collect();
                Some((scale, shift, *out2))
            }
            _ => None,
        };
        let Some((scale, shift, out2)) = fold else {
            i += 1;
            continue;
        };
        graph.ops.remove(i + 1);
        if let FloatOp::Affine {
            scale: a,
            shift: b,
            output,
            ..
        } = &mut graph.ops[i]
        {
            (*a, *b, *output) = (scale, shift, out2);
        }
    }
}

/// Folds `Dense → AddConst` (a constant that is the same for every row) into the dense bias.
pub(super) fn fold_biases(graph: &mut FloatGraph) {
    let readers = graph.readers();
    let mut i = 0;
    while i + 1 < graph.ops.len() {
        let fold = match (&graph.ops[i], &graph.ops[i + 1]) {
            (
                FloatOp::Dense { output, n_out, .. },
                FloatOp::AddConst {
                    input, constant, ..
                },
            ) if input == output
                && readers[*output] == 1
                && !graph.outputs.contains(output)
                && constant
                    .chunks(*n_out)
                    .all(|row| row == &constant[..*n_out]) =>
            {
                Some(constant[..*n_out].to_vec())
            }
            _ => None,
        };
        if let Some(extra) = fold {
            let FloatOp::AddConst {
                output: new_out, ..
            } = graph.ops.remove(i + 1)
            else {
                unreachable!()
            };
            if let FloatOp::Dense { bias, output, .. } = &mut graph.ops[i] {
                bias.iter_mut().zip(&extra).for_each(|(b, e)| *b += e);
                *output = new_out;
            }
        } else {
            i += 1;
        }
    }
}

/// Folds `Conv/Dense → Affine` (an affine map constant per output channel, such as inference
/// batch normalization) into the linear op's weights and bias.
pub(super) fn fold_affine(graph: &mut FloatGraph) {
    let readers = graph.readers();
    let mut i = 0;
    while i + 1 < graph.ops.len() {
        let fold = match (&graph.ops[i], &graph.ops[i + 1]) {
            (
                FloatOp::Conv {
                    output, geometry, ..
                },
                FloatOp::Affine {
                    input,
                    scale,
                    shift,
                    ..
                },
            ) if input == output && readers[*output] == 1 && !graph.outputs.contains(output) => {
                let inner: usize = geometry.out_spatial.iter().product();
                per_channel(
                    scale,
                    shift,
                    |e| e / inner % geometry.out_channels,
                    geometry.out_channels,
                )
            }
            (
                FloatOp::Dense { output, n_out, .. },
                FloatOp::Affine {
                    input,
                    scale,
                    shift,
                    ..
                },
            ) if input == output && readers[*output] == 1 && !graph.outputs.contains(output) => {
                per_channel(scale, shift, |e| e % n_out, *n_out)
            }
            _ => None,
        };
        let Some((a, b)) = fold else {
            i += 1;
            continue;
        };
        let FloatOp::Affine {
            output: new_out, ..
        } = graph.ops.remove(i + 1)
        else {
            unreachable!()
        };
        match &mut graph.ops[i] {
            FloatOp::Conv {
                weight,
                bias,
                output,
                geometry,
                ..
            } => {
                let per_out = geometry.weight_len() / geometry.out_channels;
                weight
                    .iter_mut()
                    .enumerate()
                    .for_each(|(k, w)| *w *= a[k / per_out]);
                bias.iter_mut()
                    .enumerate()
                    .for_each(|(o, v)| *v = *v * a[o] + b[o]);
                *output = new_out;
            }
            FloatOp::Dense {
                weight,
                bias,
                output,
                n_out,
                ..
            } => {
                let n = *n_out;
                weight
                    .iter_mut()
                    .enumerate()
                    .for_each(|(k, w)| *w *= a[k % n]);
                bias.iter_mut()
                    .enumerate()
                    .for_each(|(j, v)| *v = *v * a[j] + b[j]);
                *output = new_out;
            }
            _ => unreachable!("matched Conv or Dense"),
        }
    }
}

/// The per-channel `(factor, offset)` of an affine map, if it depends on the channel only.
pub(super) fn per_channel(
    scale: &[f32],
    shift: &[f32],
    channel: impl Fn(usize) -> usize,
    channels: usize,
) -> Option<(Vec<f32>, Vec<f32>)> {
    let mut a = vec![None; channels];
    let mut b = vec![0f32; channels];
    for (e, (s, t)) in scale.iter().zip(shift).enumerate() {
        let c = channel(e);
        match a[c] {
            None => {
                a[c] = Some(*s);
                b[c] = *t;
            }
            Some(prev) if prev == *s && b[c] == *t => {}
            Some(_) => return None,
        }
    }
    Some((a.into_iter().map(|v| v.unwrap_or(1.0)).collect(), b))
}

/// Whether a convolution reads no padding: every window lies inside the input.
fn reads_no_padding(g: &ConvGeometry) -> bool {
    (0..g.in_spatial.len()).all(|a| {
        g.pads_begin[a] == 0
            && g.out_spatial[a].saturating_sub(1) * g.strides[a]
                + g.kernel[a].saturating_sub(1) * g.dilations[a]
                < g.in_spatial[a]
    })
}

/// The op that reads tensor `t`, through any reshapes, if it is the only reader at each step,
/// `t` is no graph output, and it is a Dense or a Conv that reads no padding: what a
/// per-channel affine map of `t` can be folded into (`W·(a∘x + b) + c = (W·diag(a))·x +
/// (W·b + c)`; a padded zero would not pass through the map).
fn linear_reader(
    graph: &FloatGraph,
    readers: &[usize],
    mut t: usize,
    from: usize,
) -> Option<usize> {
    let mut j = from;
    loop {
        if readers[t] != 1 || graph.outputs.contains(&t) {
            return None;
        }
        j += 1 + graph.ops[j + 1..]
            .iter()
            .position(|op| op.inputs().contains(&t))?;
        match &graph.ops[j] {
            FloatOp::Reshape { output, .. } => t = *output,
            FloatOp::Conv { geometry, .. } if reads_no_padding(geometry) => return Some(j),
            FloatOp::Dense { .. } => return Some(j),
            _ => return None,
        }
    }
}

/// Folds the affine map `x ↦ scale∘x + shift` (per element of the linear op's input) into
/// the linear op `op`, if the map is constant per input channel (per input index of a
/// Dense); returns whether it did.
fn absorb_affine(op: &mut FloatOp, scale: &[f32], shift: &[f32]) -> bool {
    match op {
        FloatOp::Conv {
            weight,
            bias,
            geometry,
            ..
        } => {
            let inner: usize = geometry.in_spatial.iter().product();
            let channels = geometry.in_channels;
            let Some((a, b)) = per_channel(scale, shift, |e| e / inner % channels, channels) else {
                return false;
            };
            let cpg = channels / geometry.group;
            let opg = geometry.out_channels / geometry.group;
            let kernel: usize = geometry.kernel.iter().product();
            for (k, w) in weight.iter_mut().enumerate() {
                let (o, c_local) = (k / (cpg * kernel), k / kernel % cpg);
                let c = o / opg * cpg + c_local;
                bias[o] += *w * b[c];
                *w *= a[c];
            }
            true
        }
        FloatOp::Dense {
            weight,
            bias,
            n_in,
            n_out,
            ..
        } => {
            let (m, n) = (*n_in, *n_out);
            let Some((a, b)) = per_channel(scale, shift, |e| e % m, m) else {
                return false;
            };
            for (k, w) in weight.iter_mut().enumerate() {
                let (row, col) = (k / n, k % n);
                bias[col] += *w * b[row];
                *w *= a[row];
            }
            true
        }
        _ => false,
    }
}

/// Replaces the reader of `old` (op `j`'s operand, or a reshape's on the way) by `new`.
fn rewire(graph: &mut FloatGraph, from: usize, old: usize, new: usize) {
    if let Some(op) = graph.ops[from + 1..]
        .iter_mut()
        .find(|op| op.inputs().contains(&old))
    {
        match op {
            FloatOp::Reshape { input, .. }
            | FloatOp::Conv { input, .. }
            | FloatOp::Dense { input, .. } => *input = new,
            _ => unreachable!("a linear reader or a reshape"),
        }
    }
}

/// Folds `Affine → Conv/Dense` (through reshapes; an affine map constant per input channel,
/// such as a batch normalization after a pooling layer) into the linear op's weights and
/// bias. Saves the affine layer's rows, one or two per element.
pub(super) fn fold_affine_forward(graph: &mut FloatGraph) {
    // A fold moves the reader of the affine's output to its input, which loses the affine
    // as a reader: no other tensor's count of readers changes.
    let readers = graph.readers();
    let mut i = 0;
    while i < graph.ops.len() {
        let FloatOp::Affine {
            input: source,
            output: mid,
            scale,
            shift,
            ..
        } = &graph.ops[i]
        else {
            i += 1;
            continue;
        };
        let (source, mid, scale, shift) = (*source, *mid, scale.clone(), shift.clone());
        let folded = linear_reader(graph, &readers, mid, i)
            .is_some_and(|j| absorb_affine(&mut graph.ops[j], &scale, &shift));
        if folded {
            rewire(graph, i, mid, source);
            graph.ops.remove(i);
        } else {
            i += 1;
        }
    }
}

/// Folds the factor of an average pool into the linear op that reads it: a depthwise
/// convolution with one weight per channel (`c_g·Σ window + b_g`, an average pool with any
/// batch normalization folded into it) read by a Dense or a padding-free Conv becomes a
/// window sum, and `c_g`, `b_g` move into the reader's weights and bias. The sum needs no
/// rescale (its scale is its input's), which saves a rescale and a range check per element.
pub(super) fn fold_pool_factor(graph: &mut FloatGraph) {
    // A fold replaces an op by one with the same operand and result: readers stay as they are.
    let readers = graph.readers();
    for i in 0..graph.ops.len() {
        let FloatOp::Conv {
            node,
            input,
            output,
            geometry: g,
            weight,
            bias,
        } = &graph.ops[i]
        else {
            continue;
        };
        let kernel: usize = g.kernel.iter().product();
        let depthwise = g.group == g.in_channels && g.out_channels == g.in_channels;
        if !depthwise || kernel < 2 || !weight.chunks(kernel).all(|w| w.iter().all(|v| *v == w[0]))
        {
            continue;
        }
        let Some(j) = linear_reader(graph, &readers, *output, i) else {
            continue;
        };
        let inner: usize = g.out_spatial.iter().product();
        let n = g.batch * g.out_channels * inner;
        let channel = |e: usize| e / inner % g.out_channels;
        let scale: Vec<f32> = (0..n).map(|e| weight[channel(e) * kernel]).collect();
        let shift: Vec<f32> = (0..n).map(|e| bias[channel(e)]).collect();
        let mut windows = Vec::with_capacity(n);
        g.for_each_output(|_, _, terms| {
            windows.push(terms.iter().map(|(x, _)| *x as u32).collect::<Vec<u32>>())
        });
        let sum = FloatOp::Sum {
            node: node.clone(),
            input: *input,
            output: *output,
            windows,
        };
        if absorb_affine(&mut graph.ops[j], &scale, &shift) {
            graph.ops[i] = sum;
        }
    }
}

/// Folds `Affine → AddConst` into the affine map's offsets, and `Conv → AddConst` (a constant
/// per output channel, such as the shift of a batch normalization that TFLite converters
/// write as a separate Add) into the convolution's bias: one layer less, each costing a row
/// per element.
pub(super) fn fold_add_const(graph: &mut FloatGraph) {
    let readers = graph.readers();
    let mut i = 0;
    while i + 1 < graph.ops.len() {
        let (first, second) = (&graph.ops[i], &graph.ops[i + 1]);
        let FloatOp::AddConst {
            input, constant, ..
        } = second
        else {
            i += 1;
            continue;
        };
        let fold = match first {
            FloatOp::Affine { output, .. } | FloatOp::Conv { output, .. }
                if output != input || readers[*output] != 1 || graph.outputs.contains(output) =>
            {
                None
            }
            FloatOp::Affine { .. } => Some(constant.clone()),
            FloatOp::Conv { geometry, .. } => {
                let inner: usize = geometry.out_spatial.iter().product();
                per_channel(
                    &vec![1f32; constant.len()],
                    constant,
                    |e| e / inner % geometry.out_channels,
                    geometry.out_channels,
                )
                .map(|(_, b)| b)
            }
            _ => None,
        };
        let Some(extra) = fold else {
            i += 1;
            continue;
        };
        let FloatOp::AddConst {
            output: new_out, ..
        } = graph.ops.remove(i + 1)
        else {
            unreachable!()
        };
        match &mut graph.ops[i] {
            FloatOp::Affine { shift, output, .. } => {
                shift.iter_mut().zip(&extra).for_each(|(s, e)| *s += e);
                *output = new_out;
            }
            FloatOp::Conv { bias, output, .. } => {
                bias.iter_mut().zip(&extra).for_each(|(b, e)| *b += e);
                *output = new_out;
            }
            _ => unreachable!("matched Affine or Conv"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TensorDef;

    fn relu(node: &str, input: usize, output: usize) -> FloatOp {
        FloatOp::Activation {
            node: node.into(),
            act: Activation::Relu,
            input,
            output,
        }
    }

    #[test]
    fn dead_ops_go_and_every_op_an_output_depends_on_stays() {
        // 0 → a → 1 (output); 0 → b → 2 → c → 3 (read by nothing); 1 → d → 4 (output).
        let ops = vec![
            relu("a", 0, 1),
            relu("b", 0, 2),
            relu("c", 2, 3),
            relu("d", 1, 4),
        ];
        let mut graph = graph(ops, vec![1, 4]);
        prune_dead(&mut graph);
        let kept: Vec<usize> = graph.ops.iter().map(FloatOp::output).collect();
        assert_eq!(kept, vec![1, 4]);
    }

    fn affine(node: &str, input: usize, output: usize, scale: f32, shift: f32) -> FloatOp {
        FloatOp::Affine {
            node: node.into(),
            input,
            output,
            scale: vec![scale; 2],
            shift: vec![shift; 2],
        }
    }

    fn graph(ops: Vec<FloatOp>, outputs: Vec<usize>) -> FloatGraph {
        FloatGraph {
            tensors: (0..6)
                .map(|i| TensorDef {
                    name: format!("t{i}"),
                    shape: vec![2],
                })
                .collect(),
            inputs: vec![0],
            outputs,
            ops,
            ..FloatGraph::default()
        }
    }

    fn dequantize(input: usize, output: usize, lo: f32) -> FloatOp {
        FloatOp::Activation {
            node: "dq".into(),
            act: Activation::Dequantize {
                step: Param::new(0.5),
                lo: Param::new(lo),
                hi: Param::new(127.0),
                fraction: 0,
            },
            input,
            output,
        }
    }

    #[test]
    fn a_relu_before_fake_quantization_becomes_its_lowest_level_and_keeps_the_values() {
        let ops = vec![
            relu("r", 0, 1),
            affine("s", 1, 2, 2.0, 0.0),
            dequantize(2, 3, -128.0),
        ];
        let mut g = graph(ops, vec![3]);
        let x = vec![vec![-3.3f32, 1.6]];
        let before = g.run_f32(&x);
        fold_relu_into_quantization(&mut g);
        assert_eq!(g.ops.len(), 2);
        assert!(matches!(
            g.ops[1],
            FloatOp::Activation { act: Activation::Dequantize { lo, .. }, .. } if lo.get() == 0.0
        ));
        assert_eq!(g.run_f32(&x), before);
        // Not when the ReLU's result is read elsewhere, nor for a negative scale.
        for (ops, outputs) in [
            (
                vec![
                    relu("r", 0, 1),
                    affine("s", 1, 2, 2.0, 0.0),
                    dequantize(2, 3, -128.0),
                ],
                vec![3, 1],
            ),
            (
                vec![
                    relu("r", 0, 1),
                    affine("s", 1, 2, -2.0, 0.0),
                    dequantize(2, 3, -128.0),
                ],
                vec![3],
            ),
        ] {
            let mut g = graph(ops, outputs);
            fold_relu_into_quantization(&mut g);
            assert_eq!(g.ops.len(), 3);
        }
    }

    #[test]
    fn two_affine_maps_in_a_row_become_one_with_the_same_values() {
        let mut g = graph(
            vec![affine("a", 0, 1, 3.0, 0.5), affine("b", 1, 2, -0.25, 2.0)],
            vec![2],
        );
        let x = vec![vec![1.5f32, -2.0]];
        let before = g.run_f32(&x);
        fold_affine_pairs(&mut g);
        assert_eq!(g.ops.len(), 1);
        assert_eq!(g.run_f32(&x), before);
        // Not when the first map's result is a model output too.
        let mut g = graph(
            vec![affine("a", 0, 1, 3.0, 0.5), affine("b", 1, 2, -0.25, 2.0)],
            vec![2, 1],
        );
        fold_affine_pairs(&mut g);
        assert_eq!(g.ops.len(), 2);
    }
}
