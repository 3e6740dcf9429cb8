//! Splitting a run of convolutions into bands of output rows, so that a cut can fall inside
//! it and carry only a band: the answer for the early, high-resolution layers of a CNN, where
//! every tensor (not only the expanded ones) is too large to cross a cut whole.
//!
//! A run is one or more convolutions, each reading only the one before, each tensor between
//! read by nothing else. Its last output's first spatial axis (rows) is cut into `T` bands;
//! band `b` computes its rows of every tensor of the run from the rows of the run's input it
//! needs (a halo of `kernel − stride` rows more per 3×3 convolution, computed twice at band
//! edges), with the run's own padding only at the input's real edges. Selects (no rows) cut
//! the input into bands and put the output bands together again, so the layers after the run
//! read the tensor they read before, with the same integers. A cut between bands carries the
//! bands still to be read and those made (each crosses once: [`super::split`] carries a
//! tensor from the segment that makes it to each that reads it).

use crate::model::layers::{Conv, Layer, Select};
use crate::model::{CompiledModel, ConvGeometry, QTensor, TensorId};
use serde::{Deserialize, Serialize};

/// A run of convolutions split into bands of rows: what the split manifest records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TileSplit {
    /// The ONNX nodes of the run, first to last.
    pub nodes: Vec<String>,
    /// Rows of its output.
    pub rows: usize,
    /// Bands they were split into.
    pub bands: usize,
}

/// A run found in a model: layers `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Run {
    /// Its first layer.
    pub first: usize,
    /// Its last layer.
    pub last: usize,
    /// Rows of its output.
    pub rows: usize,
}

fn conv(layer: &Layer) -> Option<&Conv> {
    match layer {
        Layer::Conv(c) if c.accumulator.is_none() && !c.geometry.in_spatial.is_empty() => Some(c),
        _ => None,
    }
}

/// The runs of `model`, in layer order, none overlapping.
pub fn runs(model: &CompiledModel) -> Vec<Run> {
    let readers = super::readers(model);
    let mut found = Vec::new();
    let mut i = 0;
    while i < model.layers.len() {
        if conv(&model.layers[i]).is_none() {
            i += 1;
            continue;
        }
        let mut j = i;
        while let Some(next) = model.layers.get(j + 1).and_then(conv) {
            let prev = model.layers[j].op().output();
            if next.input != prev || readers[prev] != 1 {
                break;
            }
            j += 1;
        }
        let rows = conv(&model.layers[j]).map_or(0, |c| c.geometry.out_spatial[0]);
        found.push(Run {
            first: i,
            last: j,
            rows,
        });
        i = j + 1;
    }
    found
}

/// The input rows `[lo, hi)` a convolution of geometry `g` reads for its output rows
/// `[a, b)`, and the padding before the first of them in band coordinates.
fn input_rows(g: &ConvGeometry, a: usize, b: usize) -> (usize, usize, usize) {
    let (s, p, d) = (g.strides[0], g.pads_begin[0], g.dilations[0]);
    let reach = (g.kernel[0] - 1) * d;
    let start = (a * s) as isize - p as isize;
    let lo = start.max(0) as usize;
    let hi = ((b - 1) * s + reach + 1)
        .saturating_sub(p)
        .min(g.in_spatial[0]);
    (lo, hi, (lo as isize - start) as usize)
}

/// Element `(n, c, row, rest)` of a tensor of shape `[N, C, rows, rest…]` as a flat index.
fn flat(shape: &[usize], n: usize, c: usize, row: usize, rest: usize) -> u32 {
    let inner: usize = shape[3..].iter().product();
    (((n * shape[1] + c) * shape[2] + row) * inner + rest) as u32
}

/// The Select taking rows `[lo, hi)` of tensor `from` (shape `shape`) into `to`.
fn band_select(
    node: String,
    from: TensorId,
    shape: &[usize],
    lo: usize,
    hi: usize,
    to: TensorId,
) -> Layer {
    let inner: usize = shape[3..].iter().product();
    let mut map = Vec::with_capacity(shape[0] * shape[1] * (hi - lo) * inner);
    for n in 0..shape[0] {
        for c in 0..shape[1] {
            for r in lo..hi {
                for e in 0..inner {
                    map.push(Some((0, flat(shape, n, c, r, e))));
                }
            }
        }
    }
    Layer::Select(Select {
        node,
        inputs: vec![from],
        output: to,
        map,
    })
}

/// `model` with each run `runs[i]` split into `bands[i]` bands of rows (a run of one band is
/// left as it is). Rows and `k` are those of the old model: size it again.
pub fn split_runs(
    model: &CompiledModel,
    runs: &[Run],
    bands: &[usize],
) -> (CompiledModel, Vec<TileSplit>) {
    let spans: Vec<(usize, usize, usize)> = runs
        .iter()
        .zip(bands)
        .map(|(r, b)| (r.first, r.last, (*b).min(r.rows)))
        .collect();
    super::rewrite_spans(model, &spans, |out, convs, t| {
        let rows = convs[convs.len() - 1].geometry.out_spatial[0];
        split_one(out, convs, rows, t);
        TileSplit {
            nodes: convs.iter().map(|c| c.node.clone()).collect(),
            rows,
            bands: t,
        }
    })
}

fn add_tensor(out: &mut CompiledModel, like: TensorId, name: String, rows: usize) -> TensorId {
    let old = &out.tensors[like];
    let mut shape = old.shape.clone();
    shape[2] = rows;
    let t = QTensor {
        name,
        shape,
        scale_bits: old.scale_bits,
    };
    out.tensors.push(t);
    out.tensors.len() - 1
}

/// Appends to `out` the layers of the run `convs` split into `bands` bands of its `rows`
/// output rows, and the tensors they write.
fn split_one(out: &mut CompiledModel, convs: &[&Conv], rows: usize, bands: usize) {
    let input = convs[0].input;
    let in_shape = out.tensors[input].shape.clone();
    let output = convs[convs.len() - 1].output;
    // Per band: the rows of the run's input it reads, then each convolution's output rows and
    // the padding rows before them (worked out from the last convolution back).
    let plans: Vec<Vec<(usize, usize, usize)>> = (0..bands)
        .map(|b| {
            let (mut a, mut e) = (rows * b / bands, rows * (b + 1) / bands);
            let mut spans = Vec::with_capacity(convs.len());
            for c in convs.iter().rev() {
                let (lo, hi, pad) = input_rows(&c.geometry, a, e);
                spans.push((a, e, pad));
                (a, e) = (lo, hi);
            }
            spans.reverse();
            // The input band, as the span of a layer -1.
            spans.insert(0, (a, e, 0));
            spans
        })
        .collect();
    let label = |node: &str, a: usize, e: usize| format!("{node} [rows {a}..{e}]");
    // The input bands, first: whichever segment holds them gives out only bands.
    let mut band_inputs = Vec::with_capacity(bands);
    for spans in &plans {
        let (lo, hi, _) = spans[0];
        let name = format!("{}[rows {lo}..{hi}]", out.tensors[input].name);
        let t = add_tensor(out, input, name, hi - lo);
        out.layers.push(band_select(
            format!("{} [input rows {lo}..{hi}]", convs[0].node),
            input,
            &in_shape,
            lo,
            hi,
            t,
        ));
        band_inputs.push(t);
    }
    let mut band_outputs = Vec::with_capacity(bands);
    for (spans, mut src) in plans.iter().zip(band_inputs) {
        for (i, c) in convs.iter().enumerate() {
            let (a, e, pad) = spans[i + 1];
            let (lo, hi, _) = spans[i];
            let mut geometry = c.geometry.clone();
            geometry.in_spatial[0] = hi - lo;
            geometry.out_spatial[0] = e - a;
            geometry.pads_begin[0] = pad;
            let name = format!("{}[rows {a}..{e}]", out.tensors[c.output].name);
            let t = add_tensor(out, c.output, name, e - a);
            out.layers.push(Layer::Conv(Conv {
                node: label(&c.node, a, e),
                input: src,
                output: t,
                geometry,
                weight: c.weight.clone(),
                bias: c.bias.clone(),
                rescale: c.rescale,
                check: c.check,
                accumulator: None,
            }));
            src = t;
        }
        band_outputs.push(src);
    }
    // The output, put together again from the bands.
    let shape = out.tensors[output].shape.clone();
    let inner: usize = shape[3..].iter().product();
    let mut map = Vec::with_capacity(shape.iter().product());
    for n in 0..shape[0] {
        for c in 0..shape[1] {
            for r in 0..rows {
                let b = (0..bands)
                    .find(|b| r < rows * (b + 1) / bands)
                    .expect("every row in a band");
                let (a, e, _) = plans[b][convs.len()];
                let mut band_shape = shape.clone();
                band_shape[2] = e - a;
                for i in 0..inner {
                    map.push(Some((b as u32, flat(&band_shape, n, c, r - a, i))));
                }
            }
        }
    }
    out.layers.push(Layer::Select(Select {
        node: format!("{} [bands joined]", convs[convs.len() - 1].node),
        inputs: band_outputs,
        output,
        map,
    }));
}
