//! Quantization: floats become fixed-point integers, ops become circuit layers, and the
//! lookup tables are sized to the values calibration inputs actually produce.
//!
//! The compiled-model types it produces (what `model.json` stores) live in
//! [`crate::model::compiled`], which nothing here imports back; `lower` turns the float graph
//! into layers and tables at a given scale, `bounds` the static bounds of every tensor,
//! `sizing` the layout (checks, rescale rows, identity splits) that gives the smallest `k`.

mod bounds;
mod lower;
mod sizing;

use sizing::size;
pub use sizing::{with_one_row_rescales, with_split_identity};

pub use crate::model::{
    min_k, CompiledModel, IoSpec, Layer, LayoutParams, QTensor, QuantReport, Rescale, Tables,
    Visibility, FORMAT_VERSION, LIMB_BITS, MAX_GAIN, RESERVED_ROWS,
};

use crate::error::{CircuitError, Result};
use crate::exec;
use crate::fixed_point::dequantize;
use crate::layout;
use crate::model::onnx::{self, FloatReference, OnnxBytes};
use crate::model::{FloatGraph, MAX_K};
pub use crate::ops::linear::{choose_checks, randomized_savings, LinearMode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use crate::ops::lower::{MAX_RANGE_BITS, MAX_SCALE_BITS, RANGE_MARGIN};
/// The default lower bound of the automatically chosen scale (fractional bits).
pub const MIN_AUTO_SCALE_BITS: u32 = 6;
/// The largest scale the compiler chooses by itself.
pub const MAX_AUTO_SCALE_BITS: u32 = 12;
/// The fewest calibration samples from which compile learns each input feature's own range
/// (and quantizes narrow features finer: [`crate::model::IoSpec::feature_bits`]). A finer
/// feature is range-checked nearer its own calibrated range (four times its largest value or
/// more, where the input's check covers twice the input's largest), so a few example inputs,
/// which say little about which features are narrow, do not narrow any.
pub const MIN_FEATURE_SAMPLES: usize = 32;
/// The default accuracy target of an automatically chosen scale: 1 % mean relative error.
pub const DEFAULT_TARGET_ERROR: f64 = 0.01;

/// Options of [`compile`].
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Fixed-point fractional bits of activations; `None` chooses from the calibration data.
    pub scale_bits: Option<u32>,
    /// Fractional bits of weights; `None` chooses (as many as fit without a bigger circuit).
    pub weight_scale_bits: Option<u32>,
    /// Multiply-accumulates per dot-product row.
    pub width: usize,
    /// Visibility of every model input (public, private or hashed).
    pub inputs: Visibility,
    /// Visibility of every model output (public, private or hashed).
    pub outputs: Visibility,
    /// How the weights are held: fixed (circuit constants), private or hashed.
    pub weights: Visibility,
    /// The salt of hashed weights [default: random].
    pub weights_salt: Option<crate::Fr>,
    /// When the scale is chosen automatically: the mean relative error (see
    /// [`QuantReport::mean_rel_error`]) on the calibration samples above which the compiler
    /// takes more fractional bits, up to [`MAX_AUTO_SCALE_BITS`], even at the cost of a bigger
    /// circuit.
    pub target_error: f64,
    /// When the scale is chosen automatically, also a bound on the worst calibration sample's
    /// relative error ([`QuantReport::max_rel_error`]): a model whose mean meets
    /// `target_error` while single samples are far off (a tree ensemble whose features lie
    /// within a quantization step of a threshold) takes more bits until it meets both.
    pub target_worst_error: Option<f64>,
    /// Keep a model that misses `target_error` or `target_worst_error` (else [`compile`]
    /// refuses it: [`CircuitError::AccuracyMissed`], [`CircuitError::WorstSampleMissed`]).
    pub allow_error: bool,
    /// How Dense and Conv layers are checked: dot products, randomized (Freivalds) checks in
    /// a second proof phase, or per layer whichever takes fewer rows.
    pub linear: LinearMode,
    /// Quantize every input element at the activation scale, never a narrow feature finer
    /// (see [`MIN_FEATURE_SAMPLES`]): for inputs whose narrow features may reach far past
    /// their calibrated range.
    pub uniform_inputs: bool,
    /// The model's name in the build, its proofs and reports; `None`: the ONNX graph's name
    /// (else the name [`OnnxBytes`] gives). Exporters often write a generic one (PyTorch:
    /// `main_graph`).
    pub name: Option<String>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            scale_bits: None,
            weight_scale_bits: None,
            width: 4,
            inputs: Visibility::Public,
            outputs: Visibility::Public,
            weights: Visibility::Fixed,
            weights_salt: None,
            target_error: DEFAULT_TARGET_ERROR,
            target_worst_error: None,
            allow_error: false,
            linear: LinearMode::Auto,
            uniform_inputs: false,
            name: None,
        }
    }
}

/// The largest magnitude a tensor may reach on the calibration samples: beyond it no lookup
/// table could cover its values at any scale.
const MAX_MAGNITUDE: f64 = (1u64 << 31) as f64;

/// The largest magnitude every tensor of `model` can hold whatever the prover does, by tensor
/// id (inputs bounded by the identity table, every layer's output by its op's bound).
pub fn tensor_bounds(model: &CompiledModel) -> Vec<u128> {
    let inputs: Vec<_> = model.inputs.iter().map(|s| s.tensor).collect();
    bounds::static_bounds(&model.tensors, &model.layers, &inputs, &model.tables)
}

/// Bits of a signed value whose magnitude is at most `bound`.
pub fn signed_bits(bound: u128) -> u32 {
    bounds::signed_bits(bound)
}

/// Compiles an ONNX model: imports it, quantizes with calibration samples (each sample is one
/// flat vector per model input) and sizes the circuit.
pub fn compile(
    onnx: OnnxBytes<'_>,
    samples: &[Vec<Vec<f32>>],
    opts: &CompileOptions,
) -> Result<CompiledModel> {
    if [opts.inputs, opts.outputs].contains(&Visibility::Fixed) {
        return Err(CircuitError::bad_option(
            "visibility",
            "inputs and outputs are public, private or hashed, never fixed",
        ));
    }
    if opts.weights == Visibility::Public {
        return Err(CircuitError::bad_option(
            "weights",
            "weights are fixed, private or hashed (fixed weights are already public: the verifying key holds them)",
        ));
    }
    let weights_salt = (opts.weights == Visibility::Hashed).then(|| {
        use halo2_proofs::halo2curves::ff::Field;
        crate::fixed_point::field_to_hex(
            &opts
                .weights_salt
                .unwrap_or_else(|| crate::Fr::random(rand::rngs::OsRng)),
        )
    });
    for (option, what, target) in [
        ("target_error", "accuracy target", Some(opts.target_error)),
        (
            "target_worst_error",
            "worst-sample accuracy target",
            opts.target_worst_error,
        ),
    ] {
        if let Some(t) = target.filter(|t| !(t.is_finite() && *t > 0.0)) {
            return Err(CircuitError::bad_option(
                option,
                format!("{what} {t} is not a positive fraction (0.01 = 1 %)"),
            ));
        }
    }
    if !(3..=64).contains(&opts.width) {
        return Err(CircuitError::bad_option(
            "width",
            format!("width {} is out of range 3..=64", opts.width),
        ));
    }
    let mut graph = onnx::parse(onnx)?;
    if let Some(name) = &opts.name {
        if name.trim().is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(CircuitError::bad_option(
                "name",
                format!(
                    "model name {name:?}: 1 to 128 characters, not blank, no control characters"
                ),
            ));
        }
        graph.name = name.clone();
    }
    if samples.is_empty() {
        return Err(CircuitError::bad_option(
            "calibration",
            "at least one calibration sample is needed",
        ));
    }
    for sample in samples {
        check_inputs(&graph, sample)?;
    }
    let input_shapes: Vec<Vec<usize>> = graph
        .inputs
        .iter()
        .map(|t| graph.tensors[*t].shape.clone())
        .collect();
    let float_values: Vec<Vec<Vec<f32>>> = samples.iter().map(|s| graph.run_f32_all(s)).collect();
    let import = cross_check(onnx.bytes, &graph, &input_shapes, samples, &float_values)?;

    // Quantization loss is measured against the float model as compiled (checked against
    // tract just above: `import_max_diff`).
    let float_outputs: Vec<Vec<Vec<f32>>> = float_values
        .iter()
        .map(|v| graph.outputs.iter().map(|id| v[*id].clone()).collect())
        .collect();
    let mut max_abs: Vec<f64> = (0..graph.tensors.len())
        .map(|t| {
            float_values
                .iter()
                .flat_map(|v| v[t].iter())
                .fold(0f64, |m, x| m.max(f64::from(x.abs())))
        })
        .collect();
    // Fixed point holds what lookup tables can cover: a tensor beyond that on the calibration
    // samples (an input of uninitialized doubles, an exponential blowing up) is refused by
    // name before any table is sized.
    if let Some((t, m)) = max_abs
        .iter()
        .enumerate()
        .find(|(_, m)| !m.is_finite() || **m >= MAX_MAGNITUDE)
    {
        return Err(CircuitError::BadValue {
            what: format!("tensor `{}`", graph.tensors[t].name),
            reason: format!(
                "it reaches {m:e} on the calibration samples; fixed point holds magnitudes below 2^{} (calibrate on inputs like the real ones)",
                MAX_MAGNITUDE.log2()
            ),
        });
    }
    // A boolean or byte input is range-checked to its whole type, not only to the values
    // calibration saw: every value of its type proves. (Wider integers: calibration's range.)
    for (i, t) in graph.inputs.iter().enumerate() {
        if let Some((lo, hi)) = graph.input_type(i).bounds().filter(|(_, hi)| *hi < 256.0) {
            max_abs[*t] = max_abs[*t].max(lo.abs()).max(hi.abs());
        }
    }

    // Each input feature's own range, from a calibration set large enough to say which
    // features are narrow.
    let features = if samples.len() >= MIN_FEATURE_SAMPLES && !opts.uniform_inputs {
        lower::feature_maxima(&graph, &float_values)
    } else {
        Vec::new()
    };

    let source_sha256 = hex::encode(Sha256::digest(onnx.bytes));
    let finish = |mut model: CompiledModel| -> Result<CompiledModel> {
        model.source_sha256 = source_sha256.clone();
        model
            .inputs
            .iter_mut()
            .for_each(|io| io.visibility = opts.inputs);
        model
            .outputs
            .iter_mut()
            .for_each(|io| io.visibility = opts.outputs);
        model.weights = opts.weights;
        model.weights_salt = weights_salt.clone();
        if model.private_weights() {
            model.tables.weight_bits = Some(model.weight_bits_needed());
        }
        size(model, opts.linear, opts.width)
    };
    for bits in [opts.scale_bits, opts.weight_scale_bits]
        .into_iter()
        .flatten()
    {
        if !(1..=MAX_SCALE_BITS).contains(&bits) {
            return Err(CircuitError::bad_option(
                "scale",
                format!("scale {bits} is out of range 1..={MAX_SCALE_BITS}"),
            ));
        }
    }
    // A lowering that needs no limbs is the same with limbs allowed or not: each is laid out
    // once (the two searches run at once: a search asking for a scale the other is laying
    // out waits for it, by the scale's own lock).
    // Whether a model's errors on the calibration samples miss the accuracy targets.
    let misses = |r: &QuantReport| {
        r.mean_rel_error > opts.target_error
            || opts.target_worst_error.is_some_and(|w| r.max_rel_error > w)
    };
    type Slot = Arc<Mutex<Option<CompiledModel>>>;
    let without_limbs: Mutex<HashMap<(u32, u32), Slot>> = Mutex::default();
    let search = |limbs: Option<u32>| -> Result<CompiledModel> {
        let build = |scale_bits: u32, weight_bits: u32| -> Result<CompiledModel> {
            let lowered =
                lower::lower(&graph, scale_bits, weight_bits, &max_abs, &features, limbs)?;
            if lowered.tables.limb_bits.is_some() {
                return finish(lowered);
            }
            let slot = Slot::clone(
                without_limbs
                    .lock()
                    .expect("no search panics holding the map")
                    .entry((scale_bits, weight_bits))
                    .or_default(),
            );
            let mut laid_out = slot.lock().expect("no search panics laying out");
            if let Some(m) = laid_out.as_ref() {
                return Ok(m.clone());
            }
            let model = finish(lowered)?;
            *laid_out = Some(model.clone());
            Ok(model)
        };
        // Precision first: the smallest acceptable scale fixes k (and the layout); then take
        // every extra bit of precision that does not make the circuit bigger, for
        // activations, then for weights (weights only cost range-table rows, so they usually
        // get more).
        let grow = |mut best: CompiledModel,
                    next: &dyn Fn(&CompiledModel) -> Option<(u32, u32)>|
         -> Result<CompiledModel> {
            while let Some((sa, sw)) = next(&best) {
                // A finer scale whose tables no SRS holds ends the growth.
                let Ok(candidate) = build(sa, sw) else { break };
                if footprint(&candidate) > footprint(&best) {
                    break;
                }
                best = candidate;
            }
            Ok(best)
        };
        let activations = match opts.scale_bits {
            Some(sa) => build(sa, opts.weight_scale_bits.unwrap_or(sa))?,
            None => {
                let first = build(
                    MIN_AUTO_SCALE_BITS,
                    opts.weight_scale_bits.unwrap_or(MIN_AUTO_SCALE_BITS),
                )?;
                grow(first, &|m| {
                    (m.scale_bits < MAX_AUTO_SCALE_BITS).then(|| {
                        (
                            m.scale_bits + 1,
                            opts.weight_scale_bits.unwrap_or(m.scale_bits + 1),
                        )
                    })
                })?
            }
        };
        let mut model = match opts.weight_scale_bits {
            Some(_) => activations,
            None => grow(activations, &|m| {
                (m.weight_scale_bits < MAX_AUTO_SCALE_BITS)
                    .then(|| (m.scale_bits, m.weight_scale_bits + 1))
            })?,
        };

        // Then accuracy: the smallest circuit may round too coarsely (products of two computed
        // values, divisions, long chains); take more bits until the target is met. A scale at
        // which a calibration sample cannot run at all (a norm that rounds to zero, then
        // divides) misses it too, when the scale is ours to choose.
        let mut failed = match measure(&model, samples, &float_outputs, &import) {
            Ok(report) => {
                model.report = report;
                None
            }
            Err(e) if opts.scale_bits.is_none() => Some(e),
            Err(e) => return Err(e),
        };
        // One more activation bit (weights as fine, unless given).
        let one_bit_finer = |m: &CompiledModel| {
            let sa = m.scale_bits + 1;
            (
                sa,
                opts.weight_scale_bits
                    .unwrap_or(m.weight_scale_bits.max(sa)),
            )
        };
        if opts.scale_bits.is_none() {
            while (failed.is_some() || misses(&model.report))
                && model.scale_bits < MAX_AUTO_SCALE_BITS
            {
                let (sa, sw) = one_bit_finer(&model);
                // A scale whose tables would not fit (a division's range, a table past the widths a
                // compiled model may hold) ends the search.
                let Ok(mut next) = build(sa, sw) else { break };
                if next.validate().is_err() {
                    break;
                }
                match measure(&next, samples, &float_outputs, &import) {
                    Ok(report) => {
                        next.report = report;
                        failed = None;
                    }
                    Err(e) => failed = Some(e),
                }
                model = next;
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        // Still missed: finer weights, past the activations' limit, cost only range-table
        // rows; take them while they miss the target and keep the circuit's size
        // (MobileNetV2: 2.3 % at 12 bits, 0.6 % at 14, same k). Then finer activations past
        // their limit too, on the same terms (a randomly initialized transformer's values of
        // a few hundredths: GPT-2 5 % at 12 bits, 1.1 % at 14, same k).
        let finer = |model: &CompiledModel, sa: u32, sw: u32| -> Option<CompiledModel> {
            let mut next = build(sa, sw).ok()?;
            if next.validate().is_err() || footprint(&next) > footprint(model) {
                return None;
            }
            next.report = measure(&next, samples, &float_outputs, &import).ok()?;
            Some(next)
        };
        if opts.weight_scale_bits.is_none() {
            while misses(&model.report) && model.weight_scale_bits < MAX_SCALE_BITS {
                let Some(next) = finer(&model, model.scale_bits, model.weight_scale_bits + 1)
                else {
                    break;
                };
                model = next;
            }
        }
        if opts.scale_bits.is_none() {
            while misses(&model.report) && model.scale_bits < MAX_SCALE_BITS {
                let (sa, sw) = one_bit_finer(&model);
                let Some(next) = finer(&model, sa, sw) else {
                    break;
                };
                model = next;
            }
        }
        Ok(model)
    };
    // The whole search twice, on two threads: wide range checks as one lookup each (tables as
    // wide as the ranges), and as limbs (more rows, small tables). Limbs are kept only for a
    // smaller circuit that meets the accuracy target as well, so models that do not need them
    // compile exactly as before.
    let (plain, limbed) = std::thread::scope(|scope| {
        let limbed = scope.spawn(|| search(Some(LIMB_BITS)));
        let plain = search(None);
        (
            plain,
            limbed
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    });
    let (plain, limbed) = (plain?, limbed?);
    let meets = |m: &CompiledModel| !misses(&m.report);
    let model = if limbed.tables.limb_bits.is_some()
        && (meets(&limbed), std::cmp::Reverse(limbed.layout.k))
            > (meets(&plain), std::cmp::Reverse(plain.layout.k))
    {
        limbed
    } else {
        plain
    };
    let mut model = model;
    model.report.layer_errors = layer_errors(&model, samples, &float_values)?;
    within_srs(&model.tables, model.layout.k)?;
    if model.report.mean_rel_error > opts.target_error && !opts.allow_error {
        return Err(CircuitError::AccuracyMissed {
            mean_rel_error: model.report.mean_rel_error,
            target: opts.target_error,
            scale_bits: model.scale_bits,
            weight_scale_bits: model.weight_scale_bits,
            chosen: opts.scale_bits.is_none(),
        });
    }
    if let Some(target) = opts.target_worst_error {
        if model.report.max_rel_error > target && !opts.allow_error {
            return Err(CircuitError::WorstSampleMissed {
                max_rel_error: model.report.max_rel_error,
                target,
                scale_bits: model.scale_bits,
                weight_scale_bits: model.weight_scale_bits,
                chosen: opts.scale_bits.is_none(),
            });
        }
    }
    Ok(model)
}

/// `compile --optimize`'s layouts of `model` (compiled from `onnx` and `samples` with
/// `opts`): every width's estimate ([`layout::optimize::candidates`]: `model` laid out again
/// at that width, its tables and rescales as they are), then, best case first, a full
/// compile at each width whose rows (or its compact layout's) would fit a smaller `k` while
/// that width could still beat the best choice so far: its own scale search may find tables
/// that fit it (zkml's MNIST does at width 5). A candidate compiled so carries its model.
pub fn optimize_layouts(
    onnx: OnnxBytes<'_>,
    samples: &[Vec<Vec<f32>>],
    opts: &CompileOptions,
    model: &CompiledModel,
    cost: &layout::optimize::CostModel,
    max_memory: Option<f64>,
    ignore_evm_limit: bool,
) -> Result<Vec<(layout::optimize::Candidate, Option<CompiledModel>)>> {
    use layout::optimize::{candidates, choose, Candidate};
    let mut out: Vec<(Candidate, Option<CompiledModel>)> = candidates(model, cost)?
        .into_iter()
        .map(|c| (c, None))
        .collect();
    let mut order: Vec<usize> = (0..out.len())
        .filter(|i| out[*i].0.could_shrink())
        .collect();
    order.sort_by(|a, b| {
        out[*a]
            .0
            .best_case_s(cost)
            .total_cmp(&out[*b].0.best_case_s(cost))
    });
    let mut missed = Vec::new();
    for i in order {
        let all: Vec<Candidate> = out
            .iter()
            .filter(|(c, _)| !missed.contains(&c.width))
            .map(|(c, _)| c.clone())
            .collect();
        let best = choose(&all, max_memory, ignore_evm_limit).map(|c| c.prove_s);
        if best.is_some_and(|b| out[i].0.best_case_s(cost) >= b) {
            break;
        }
        let width = out[i].0.width;
        let m = compile(
            onnx,
            samples,
            &CompileOptions {
                width,
                ..opts.clone()
            },
        );
        out[i] = match m {
            Ok(m) => (Candidate::new(&m, width, m.rows, cost), Some(m)),
            // A width whose own scale search misses the target is no choice.
            Err(CircuitError::AccuracyMissed { .. } | CircuitError::WorstSampleMissed { .. }) => {
                missed.push(width);
                continue;
            }
            Err(e) => return Err(e),
        };
    }
    out.retain(|(c, _)| !missed.contains(&c.width));
    Ok(out)
}

/// What makes one compiled circuit bigger than another, in order: a larger `k`, then at the
/// same `k` the compact layout's second lookup.
fn footprint(m: &CompiledModel) -> (u32, bool) {
    (m.layout.k, m.layout.one_row_rescale)
}

fn check_inputs(graph: &FloatGraph, sample: &[Vec<f32>]) -> Result<()> {
    if sample.len() != graph.inputs.len() {
        return Err(CircuitError::InputCount {
            expected: graph.inputs.len(),
            got: sample.len(),
        });
    }
    for (i, (id, data)) in graph.inputs.iter().zip(sample).enumerate() {
        let t = &graph.tensors[*id];
        if data.len() != t.numel() {
            return Err(CircuitError::InputShape {
                name: t.name.clone(),
                shape: t.shape.clone(),
                expected: t.numel(),
                got: data.len(),
            });
        }
        graph.input_type(i).check_values(&t.name, data)?;
    }
    Ok(())
}

/// Refuses a circuit no SRS can hold: `k` past [`MAX_K`], or (checked before the tables are
/// scanned for bounds, at `k` 0) a lookup table of `2^MAX_K` rows or more.
pub(super) fn within_srs(tables: &Tables, k: u32) -> Result<()> {
    let widest = tables
        .activations
        .iter()
        .filter(|(act, bits)| !tables.limbed_table(**act, **bits))
        .map(|(act, bits)| (format!("the {act:?} table"), *bits))
        .chain(
            tables
                .range_shifts
                .iter()
                .map(|s| ("a range table".to_owned(), *s)),
        )
        .max_by_key(|(_, bits)| *bits);
    let table_k = widest.as_ref().map_or(0, |(_, bits)| bits + 1);
    if k.max(table_k) <= MAX_K {
        return Ok(());
    }
    Err(CircuitError::CircuitTooLarge {
        k: k.max(table_k),
        max: MAX_K,
        widest: widest.map_or_else(
            || "its layers".to_owned(),
            |(what, bits)| format!("{what} spans 2^{bits} values"),
        ),
    })
}

/// Our float reading of the graph against tract's float inference on the calibration samples:
/// the largest difference, or why tract could not run the model (an op it does not
/// implement: the import is then unchecked, not refused).
fn cross_check(
    onnx: &[u8],
    graph: &FloatGraph,
    input_shapes: &[Vec<usize>],
    samples: &[Vec<Vec<f32>>],
    float_values: &[Vec<Vec<f32>>],
) -> Result<(f64, Option<String>)> {
    // tract is only a cross-check: where it fails, or panics (its ConvTranspose with auto_pad
    // overflows in debug builds), the import is reported unchecked, never refused.
    let tract = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        FloatReference::typed(onnx, input_shapes, &graph.input_types).and_then(|reference| {
            samples
                .iter()
                .map(|s| reference.run(s))
                .collect::<Result<Vec<_>>>()
        })
    }));
    let tract_outputs = match tract {
        Ok(Ok(outputs)) => outputs,
        Ok(Err(e)) => {
            let reason = e.to_string();
            let first = reason.lines().next().unwrap_or("tract failed").to_owned();
            return Ok((0.0, Some(first)));
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            return Ok((0.0, Some(format!("tract panicked: {what}"))));
        }
    };
    let mut max_diff = 0f64;
    for (values, tract) in float_values.iter().zip(&tract_outputs) {
        for (id, t) in graph.outputs.iter().zip(tract) {
            if values[*id].len() != t.len() {
                return Err(CircuitError::InvalidModel {
                    node: graph.tensors[*id].name.clone(),
                    reason: format!(
                        "output: tract computes {} values, the compiler {}",
                        t.len(),
                        values[*id].len()
                    ),
                });
            }
            for (a, b) in values[*id].iter().zip(t) {
                max_diff = max_diff.max(f64::from((a - b).abs()));
            }
        }
    }
    Ok((max_diff, None))
}

fn measure(
    model: &CompiledModel,
    samples: &[Vec<Vec<f32>>],
    float_outputs: &[Vec<Vec<f32>>],
    import: &(f64, Option<String>),
) -> Result<QuantReport> {
    let (mut max_abs, mut sum_abs, mut count, mut max_float) = (0f64, 0f64, 0usize, 0f64);
    let (mut sum_float, mut worst) = (0f64, 0f64);
    let (mut agree, mut classified) = (0usize, 0usize);
    for (sample, floats) in samples.iter().zip(float_outputs) {
        let (before_abs, before_float) = (sum_abs, sum_float);
        let outputs = exec::run(model, &model.quantize_inputs(sample)?)?.outputs(model);
        for (spec, (q, f)) in model.outputs.iter().zip(outputs.iter().zip(floats)) {
            let scale = model.tensors[spec.tensor].scale_bits;
            let deq: Vec<f64> = q.iter().map(|v| dequantize(*v, scale)).collect();
            for (d, f) in deq.iter().zip(f) {
                let err = (d - f64::from(*f)).abs();
                max_abs = max_abs.max(err);
                sum_abs += err;
                count += 1;
                max_float = max_float.max(f64::from(f.abs()));
                sum_float += f64::from(f.abs());
            }
            if f.len() > 1 {
                classified += 1;
                agree += usize::from(
                    argmax(&deq) == argmax(&f.iter().map(|x| f64::from(*x)).collect::<Vec<_>>()),
                );
            }
        }
        let sample_float = sum_float - before_float;
        if sample_float > 0.0 {
            worst = worst.max((sum_abs - before_abs) / sample_float);
        }
    }
    Ok(QuantReport {
        samples: samples.len(),
        max_abs_error: max_abs,
        mean_abs_error: sum_abs / count.max(1) as f64,
        mean_rel_error: if sum_float > 0.0 {
            sum_abs / sum_float
        } else {
            0.0
        },
        max_rel_error: worst,
        largest_output: max_float,
        top1_agreement: (classified > 0).then(|| agree as f64 / classified as f64),
        import_max_diff: import.0,
        import_unchecked: import.1.clone(),
        layer_errors: Vec::new(),
    })
}

/// [`QuantReport::layer_errors`] of `model` on the calibration `samples`, whose float values
/// of every tensor of the float graph are `float_values` (the model's tensors below the float
/// graph's count are the graph's, in order).
fn layer_errors(
    model: &CompiledModel,
    samples: &[Vec<Vec<f32>>],
    float_values: &[Vec<Vec<f32>>],
) -> Result<Vec<Option<f64>>> {
    let mut sums = vec![(0f64, 0f64); model.layers.len()];
    for (sample, floats) in samples.iter().zip(float_values) {
        let run = exec::run(model, &model.quantize_inputs(sample)?)?;
        for (sum, layer) in sums.iter_mut().zip(&model.layers) {
            let t = layer.op().output();
            let (Some(f), q) = (floats.get(t), &run.values[t]) else {
                continue;
            };
            if f.len() != q.len() {
                continue;
            }
            let scale = model.tensors[t].scale_bits;
            for (q, f) in q.iter().zip(f) {
                sum.0 += (dequantize(*q, scale) - f64::from(*f)).abs();
                sum.1 += f64::from(f.abs());
            }
        }
    }
    Ok(sums
        .into_iter()
        .map(|(err, mag)| (mag > 0.0).then(|| err / mag))
        .collect())
}

/// Index of the largest value (the first on ties).
pub fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold(0, |best, (i, x)| if *x > v[best] { i } else { best })
}
