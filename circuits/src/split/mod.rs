//! Split proving: a compiled model cut at layer boundaries into consecutive segments, each a
//! compiled model of its own (set up, proven and verified alone, on any machine), chained by
//! commitments so that the proofs together mean one run of the whole model.
//!
//! A tensor crossing a cut (computed before it, or a model input, and read after it, or a
//! model output) is a hashed output of the segment that computes it (the first, for a model
//! input) and the same hashed input of each later segment that reads it (the last reads the
//! model's outputs), not carried through the segments between ([`IoSpec::boundary`]). Its
//! values are packed `⌊252 / b⌋` per field element, `b` the signed width of the tensor's
//! static bound in the whole model, and the proofs expose `Poseidon(pack(values) ‖ salt)`
//! under one salt the prover picks per tensor. Each segment that reads it range-checks every
//! value to `b` bits (limbs, or one split row of two), so the packing is injective on both
//! sides: equal commitments mean equal tensors (Poseidon's collision resistance), and
//! [`check_chain`] is what a verifier adds to checking each proof.
//!
//! Where no cut at layer boundaries meets a memory budget, [`plan`] first rewrites the model
//! with the same integers so that cuts can fall inside layers: runs of convolutions into
//! bands of rows ([`tiles`]), chains of convolutions by channels ([`channels`]).
//!
//! Why the chain is one run, by induction over the segments: the first segment's inputs are
//! checked as the whole model's are, so every value it computes is within the whole model's
//! static bounds, hence within its boundary's packing width; the next segment's inputs then
//! equal those values, so the same holds for it, and so on. The first segment's inputs and
//! the last segment's outputs keep the model's visibility; each segment holds its own layers'
//! weights (fixed: bound by its verifying key; hashed: its own weights commitment).
//!
//! Every segment keeps the whole model's tensor list (ids are the same in every segment, so a
//! boundary is one id on both sides) and those of its tables its rows look up, plus the range
//! tables of the boundary limbs.

use crate::error::{CircuitError, Result};
use crate::io::ProofFile;
use crate::layout::optimize::{Columns, CostModel};
use crate::layout::{act_tag, range_tag, Plan};
use crate::model::layers::{Conv, Layer};
use crate::model::{
    min_k, Activation, CompiledModel, IoSpec, TensorId, Visibility, LIMB_BITS, MAX_K, RESERVED_ROWS,
};
use crate::quantize::{signed_bits, tensor_bounds};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub mod channels;
pub mod tiles;
pub use channels::ChannelSplit;
pub use tiles::TileSplit;

/// Version of the split manifest (`split.json`).
pub const SPLIT_FORMAT: &str = "snarkml-split/1";

/// Version of a split model's proof file.
pub const SPLIT_PROOF_FORMAT: &str = "snarkml-split-proof/1";

/// The proofs of a split model's segments for one input: what `prove` writes for a split
/// build.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitProofFile {
    /// [`SPLIT_PROOF_FORMAT`].
    pub format: String,
    /// The whole model's name.
    pub model: String,
    /// One proof file per segment, in order: the first shows the model's inputs, the last its
    /// outputs, the others only boundary commitments.
    pub segments: Vec<ProofFile>,
}

/// The widest boundary value: packed values and their limb weights stay within `i64`.
pub const MAX_BOUNDARY_BITS: u32 = 62;

/// What bounds the segments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// This many segments of about equal rows.
    Segments(usize),
    /// As few segments as keep each one's predicted proving memory ([`CostModel::MEASURED`])
    /// within this many bytes.
    MaxMemory(f64),
}

/// What `compile --segments` writes beside the segments' builds (`split.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitManifest {
    /// [`SPLIT_FORMAT`].
    pub format: String,
    /// The whole model's name.
    pub name: String,
    /// The segments, in order.
    pub segments: Vec<SegmentInfo>,
    /// Runs of convolutions split into bands of rows before cutting ([`plan`]): the build's
    /// whole model is the split one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tile_splits: Vec<TileSplit>,
    /// Chains of convolutions split by channels before cutting ([`plan`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel_splits: Vec<ChannelSplit>,
}

/// One segment of a split model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentInfo {
    /// The whole model's layers it holds: `[first, end)`.
    pub layers: [usize; 2],
    /// Its circuit has `2^k` rows.
    pub k: u32,
    /// Rows its layout uses.
    pub rows: usize,
    /// Names of its input tensors (the model's inputs for the first segment, else the
    /// tensors made by earlier segments that it reads).
    pub inputs: Vec<String>,
    /// Names of its output tensors (those it makes that later segments read, or the model's
    /// outputs for the last segment).
    pub outputs: Vec<String>,
    /// Proving seconds the cost model predicts on the project's 2-core machine
    /// ([`CostModel::MEASURED`]; what a scheduler plans with).
    #[serde(default)]
    pub predicted_prove_seconds: f64,
    /// Peak bytes of proving the cost model predicts (what a task asks for).
    #[serde(default)]
    pub predicted_memory_bytes: f64,
}

/// The tensors crossing a cut before layer `cut`: available before it (a model input or the
/// output of an earlier layer) and needed from it on (read by a later layer, or a model
/// output), by ascending id.
pub fn boundary(model: &CompiledModel, cut: usize) -> Vec<TensorId> {
    let before: BTreeSet<TensorId> = model
        .inputs
        .iter()
        .map(|s| s.tensor)
        .chain(model.layers[..cut].iter().map(|l| l.op().output()))
        .collect();
    let after: BTreeSet<TensorId> = model.layers[cut..]
        .iter()
        .flat_map(|l| l.inputs())
        .chain(model.outputs.iter().map(|s| s.tensor))
        .collect();
    before.intersection(&after).copied().collect()
}

/// Rows of each layer of `model` in its whole layout.
fn layer_rows(model: &CompiledModel) -> Result<Vec<usize>> {
    Ok(rows_of(
        model,
        &Plan::build(model, model.layout.width, None)?,
    ))
}

/// Rows of each layer of `model` in `plan`, its layout.
fn rows_of(model: &CompiledModel, plan: &Plan) -> Vec<usize> {
    plan.layers
        .iter()
        .skip(1)
        .take(model.layers.len())
        .map(|l| l.end - l.start)
        .collect()
}

/// The largest `k` whose predicted proving memory ([`CostModel::MEASURED`]) is within
/// `bytes` for `model`'s columns.
fn budget_k(model: &CompiledModel, bytes: f64) -> Result<u32> {
    let columns = Columns::of(model, model.layout.width);
    (4..=MAX_K)
        .rev()
        .find(|k| CostModel::MEASURED.predict(*k, columns).1 <= bytes)
        .ok_or_else(|| {
            CircuitError::bad_option(
                "max-memory",
                format!(
                    "a memory budget of {:.0} MiB is less than the smallest circuit needs",
                    bytes / (1u64 << 20) as f64
                ),
            )
        })
}

/// A split chosen for a budget ([`plan`]).
#[derive(Clone, Debug)]
pub struct SplitPlan {
    /// The model to cut: the one given, or it with runs of convolutions split into bands of
    /// rows and chains split by channels (the same outputs; what the build's whole model
    /// becomes).
    pub model: CompiledModel,
    /// Where to cut it ([`choose_cuts`]); empty when it meets the budget whole.
    pub cuts: Vec<usize>,
    /// The runs split into bands of rows, if any.
    pub tile_splits: Vec<TileSplit>,
    /// The chains split by channels, if any.
    pub channel_splits: Vec<ChannelSplit>,
}

/// `model` sized again (rows, `k`) after a rewrite, and the rows of each of its layers.
fn sized(mut model: CompiledModel) -> Result<(CompiledModel, Vec<usize>)> {
    let plan = Plan::build(&model, model.layout.width, None)?;
    let rows = rows_of(&model, &plan);
    model.rows = plan.rows;
    model.layout.k = min_k(model.rows, model.tables.rows());
    Ok((model, rows))
}

/// Where to cut `model` to meet `budget`: at layer boundaries ([`choose_cuts`]) if a cut
/// there fits; else, for a memory budget, after splitting the runs of convolutions that do
/// not fit one segment with their boundaries into bands of rows ([`tiles`]), and, if that is
/// not enough, the chains of convolutions left by channels ([`channels`]).
pub fn plan(model: &CompiledModel, budget: Budget) -> Result<SplitPlan> {
    let mut rows = layer_rows(model)?;
    let mut refused = match (cuts_within(model, budget, &rows), budget) {
        (Err(e), Budget::MaxMemory(_)) => e,
        (at_layers, _) => {
            return at_layers.map(|cuts| SplitPlan {
                model: model.clone(),
                cuts,
                tile_splits: Vec::new(),
                channel_splits: Vec::new(),
            })
        }
    };
    let Budget::MaxMemory(bytes) = budget else {
        unreachable!("only a memory budget is refused here");
    };
    let usable = (1usize << budget_k(model, bytes)?) - RESERVED_ROWS;
    let numel = |m: &CompiledModel, t: TensorId| m.tensors[t].numel();
    let mut current = model.clone();
    let mut tile_splits = Vec::new();
    let mut channel_splits = Vec::new();
    for step in 0..2 {
        let (next, done) = if step == 0 {
            let runs = tiles::runs(&current);
            let bands: Vec<usize> = runs
                .iter()
                .map(|r| {
                    let inner: usize = rows[r.first..=r.last].iter().sum();
                    let crossing = numel(&current, current.layers[r.first].inputs()[0])
                        + numel(&current, current.layers[r.last].op().output());
                    // Each band takes its rows of the input in and gives its output rows out.
                    let alone = inner + crossing * BOUNDARY_ROWS_PER_VALUE / 2;
                    if alone <= usable {
                        1
                    } else {
                        alone.div_ceil(usable * 3 / 4)
                    }
                })
                .collect();
            let (m, done) = tiles::split_runs(&current, &runs, &bands);
            tile_splits = done;
            (m, tile_splits.len())
        } else {
            let chains = channels::chains(&current);
            let groups: Vec<usize> = chains
                .iter()
                .map(|c| {
                    let inner: usize = rows[c.first..=c.last].iter().sum();
                    let input = numel(&current, current.layers[c.first].inputs()[0]);
                    let output = numel(&current, current.layers[c.last].op().output());
                    // A group between two cuts takes the chain's input in (half a crossing's
                    // cost: it is given out once, before the chain) and a partial sum in and
                    // out.
                    let room =
                        usable.saturating_sub((input / 2 + output) * BOUNDARY_ROWS_PER_VALUE);
                    if inner + (input + output) * BOUNDARY_ROWS_PER_VALUE / 2 <= usable || room == 0
                    {
                        1
                    } else {
                        inner.div_ceil(room).min(c.channels)
                    }
                })
                .collect();
            let (m, done) = channels::split_chains(&current, &chains, &groups);
            channel_splits = done;
            (m, channel_splits.len())
        };
        if done == 0 {
            continue;
        }
        (current, rows) = sized(next)?;
        match cuts_within(&current, budget, &rows) {
            Ok(cuts) => {
                return Ok(SplitPlan {
                    model: current,
                    cuts,
                    tile_splits,
                    channel_splits,
                })
            }
            Err(e) => refused = e,
        }
    }
    Err(match refused {
        CircuitError::BadOption { option, reason }
            if !tile_splits.is_empty() || !channel_splits.is_empty() =>
        {
            CircuitError::BadOption {
                option,
                reason: format!(
                    "{reason} (after splitting {} runs of convolutions into bands of rows and {} chains by channels)",
                    tile_splits.len(),
                    channel_splits.len()
                ),
            }
        }
        e => e,
    })
}

/// How many layers read each tensor of `model` (a model output counts as two readers, so
/// that it is never taken for a tensor only the next layer reads).
fn readers(model: &CompiledModel) -> Vec<usize> {
    let mut readers = vec![0usize; model.tensors.len()];
    for l in &model.layers {
        for t in l.inputs() {
            readers[t] += 1;
        }
    }
    for s in &model.outputs {
        readers[s.tensor] += 2;
    }
    readers
}

/// `model` with the convolutions of each span of layers `first..=last` split in `parts`
/// (`spans[i] = (first, last, parts)`) by `rewrite`, which appends the layers and tensors
/// that replace them and returns what the manifest records; a span of one part is left as it
/// is. Rows and `k` are those of the old model: size it again.
fn rewrite_spans<R>(
    model: &CompiledModel,
    spans: &[(usize, usize, usize)],
    mut rewrite: impl FnMut(&mut CompiledModel, &[&Conv], usize) -> R,
) -> (CompiledModel, Vec<R>) {
    let mut out = model.clone();
    out.layers.clear();
    // Each layer's error follows it; a rewritten span's parts have none but the last, which
    // writes the span's output.
    let errors = &model.report.layer_errors;
    let error = |i: usize| errors.get(i).copied().flatten();
    let mut kept_errors = Vec::new();
    let mut done = Vec::new();
    let mut next = 0;
    for &(first, last, parts) in spans {
        out.layers.extend_from_slice(&model.layers[next..first]);
        kept_errors.extend((next..first).map(error));
        next = last + 1;
        let layers = &model.layers[first..=last];
        if parts <= 1 {
            out.layers.extend_from_slice(layers);
            kept_errors.extend((first..=last).map(error));
            continue;
        }
        let convs: Vec<&Conv> = layers
            .iter()
            .filter_map(|l| match l {
                Layer::Conv(c) => Some(c),
                _ => None,
            })
            .collect();
        let before = out.layers.len();
        done.push(rewrite(&mut out, &convs, parts));
        let added = out.layers.len() - before;
        kept_errors.extend(std::iter::repeat_n(None, added.saturating_sub(1)));
        kept_errors.push(error(last));
    }
    out.layers.extend_from_slice(&model.layers[next..]);
    kept_errors.extend((next..model.layers.len()).map(error));
    out.report.layer_errors = match errors.is_empty() {
        true => Vec::new(),
        false => kept_errors,
    };
    (out, done)
}

/// The boundary tensors each segment (layers `starts[j]..ends[j]`) takes in and gives out.
/// A tensor goes from the segment that computes it (the first, for a model input) straight
/// to every later segment that reads it (the last reads the model's outputs), not through
/// the segments between: its producer hashes it once, each reader checks and hashes it once.
fn carried(
    model: &CompiledModel,
    starts: &[usize],
    ends: &[usize],
) -> Vec<(Vec<TensorId>, Vec<TensorId>)> {
    let n = starts.len();
    let mut producer = vec![0usize; model.tensors.len()];
    let mut reads: Vec<BTreeSet<TensorId>> = vec![BTreeSet::new(); n];
    for j in 0..n {
        for layer in &model.layers[starts[j]..ends[j]] {
            producer[layer.op().output()] = j;
            reads[j].extend(layer.inputs());
        }
    }
    reads[n - 1].extend(model.outputs.iter().map(|s| s.tensor));
    let mut io = vec![(Vec::new(), Vec::new()); n];
    let mut given: Vec<BTreeSet<TensorId>> = vec![BTreeSet::new(); n];
    for (j, read) in reads.iter().enumerate() {
        for &t in read {
            let from = producer[t];
            if from < j {
                io[j].0.push(t);
                given[from].insert(t);
            }
        }
    }
    for (j, out) in given.into_iter().enumerate() {
        io[j].1 = out.into_iter().collect();
    }
    io
}

/// Where to cut `model` (the indices of the layers each later segment starts at) so that it
/// meets `budget`, at layer boundaries only.
pub fn choose_cuts(model: &CompiledModel, budget: Budget) -> Result<Vec<usize>> {
    cuts_within(model, budget, &layer_rows(model)?)
}

/// [`choose_cuts`] given the rows of each layer of `model` in its whole layout.
fn cuts_within(model: &CompiledModel, budget: Budget, layer_rows: &[usize]) -> Result<Vec<usize>> {
    let n_layers = model.layers.len();
    let bounds = tensor_bounds(model);
    // The cost of each cut: its boundary's values, each packed and hashed on both sides and
    // range-checked after.
    let mut before = vec![0usize; n_layers + 1];
    for (i, r) in layer_rows.iter().enumerate() {
        before[i + 1] = before[i] + r;
    }
    let cut_cost: Vec<Option<usize>> = (0..=n_layers)
        .map(|c| {
            let tensors = boundary(model, c);
            let fits = tensors
                .iter()
                .all(|t| signed_bits(bounds[*t]) <= MAX_BOUNDARY_BITS);
            fits.then(|| {
                tensors
                    .iter()
                    .map(|t| model.tensors[*t].numel())
                    .sum::<usize>()
                    * BOUNDARY_ROWS_PER_VALUE
            })
        })
        .collect();
    let evenly = |n: usize| -> Vec<usize> {
        let total = before[n_layers];
        let mut cuts: Vec<usize> = Vec::new();
        for j in 1..n {
            let target = total * j / n;
            let from = cuts.last().map_or(1, |c| c + 1);
            // Room for the cuts still to come.
            let to = n_layers - (n - j);
            let best = (from..=to)
                .filter_map(|c| cut_cost[c].map(|cost| (c, before[c].abs_diff(target) + cost)))
                .min_by_key(|(_, cost)| *cost);
            if let Some((c, _)) = best {
                cuts.push(c);
            }
        }
        cuts
    };
    match budget {
        Budget::Segments(n) => {
            if n < 2 || n > n_layers {
                return Err(CircuitError::bad_option(
                    "segments",
                    format!(
                        "{n} segments asked of a model of {n_layers} layers: 2 to {n_layers} can be made"
                    ),
                ));
            }
            let cuts = evenly(n);
            if cuts.len() + 1 < n {
                return Err(CircuitError::bad_option(
                    "segments",
                    format!("only {} cuts fit this model's layers", cuts.len()),
                ));
            }
            Ok(cuts)
        }
        Budget::MaxMemory(bytes) => {
            let k = budget_k(model, bytes)?;
            let fits = |m: &CompiledModel| m.layout.k <= k;
            if fits(model) {
                return Ok(Vec::new());
            }
            // Laying out every segment costs a layout of the whole model: only cuts whose
            // segments' layer rows alone fit are tried.
            let usable = (1usize << k) - RESERVED_ROWS;
            for n in 2..=n_layers {
                let cuts = evenly(n);
                let bounds: Vec<usize> = std::iter::once(0)
                    .chain(cuts.iter().copied())
                    .chain([n_layers])
                    .collect();
                if bounds
                    .windows(2)
                    .any(|w| before[w[1]] - before[w[0]] > usable)
                {
                    continue;
                }
                if split(model, &cuts)?.0.iter().all(fits) {
                    return Ok(cuts);
                }
            }
            // The layer that fits worst alone: its rows and the values crossing into and out
            // of it (each side of a cut pays about half of BOUNDARY_ROWS_PER_VALUE).
            let alone = |i: usize| {
                let crossing: usize = [i, i + 1]
                    .iter()
                    .flat_map(|c| boundary(model, *c))
                    .map(|t| model.tensors[t].numel())
                    .sum();
                (
                    layer_rows[i] + crossing * BOUNDARY_ROWS_PER_VALUE / 2,
                    crossing,
                )
            };
            let worst = (0..n_layers).max_by_key(|i| alone(*i).0).unwrap_or(0);
            let (rows, crossing) = alone(worst);
            Err(CircuitError::bad_option(
                "max-memory",
                format!(
                    "no cut of the model at layer boundaries fits k = {k} ({usable} rows): layer `{}` \
                     alone is {} rows, with {crossing} values crossing into and out of it, about \
                     {rows} rows in all",
                    model.layers[worst].node(),
                    layer_rows[worst],
                ),
            ))
        }
    }
}

/// A rough count of the rows a boundary value costs (packing and hashing on both sides of the
/// cut, limbs after it), to prefer cuts where few values cross.
const BOUNDARY_ROWS_PER_VALUE: usize = 8;

/// The segments of `model` cut before each layer in `cuts` (ascending, each in
/// `1..layers`), each sized (rows, `k`), and the manifest that describes them.
pub fn split(model: &CompiledModel, cuts: &[usize]) -> Result<(Vec<CompiledModel>, SplitManifest)> {
    let n_layers = model.layers.len();
    if cuts.windows(2).any(|w| w[0] >= w[1]) || cuts.iter().any(|c| !(1..n_layers).contains(c)) {
        return Err(CircuitError::bad_option(
            "segments",
            format!("cuts {cuts:?} are not ascending layer indices in 1..{n_layers}"),
        ));
    }
    let bounds = tensor_bounds(model);
    let boundary_specs = |tensors: &[TensorId]| -> Result<Vec<IoSpec>> {
        tensors
            .iter()
            .map(|&t| {
                let bits = signed_bits(bounds[t]).max(2);
                if bits > MAX_BOUNDARY_BITS {
                    return Err(CircuitError::InvalidModel {
                        node: model.tensors[t].name.clone(),
                        reason: format!(
                            "a cut here would carry {bits}-bit values (at most {MAX_BOUNDARY_BITS}): cut elsewhere"
                        ),
                    });
                }
                Ok(IoSpec {
                    tensor: t,
                    visibility: Visibility::Hashed,
                    pack_bits: bits,
                    dtype: Default::default(),
                    boundary: true,
                    feature_bits: Vec::new(),
                })
            })
            .collect()
    };
    let starts: Vec<usize> = std::iter::once(0).chain(cuts.iter().copied()).collect();
    let ends: Vec<usize> = cuts.iter().copied().chain([n_layers]).collect();
    let n = starts.len();
    let io = carried(model, &starts, &ends);
    let mut segments = Vec::with_capacity(n);
    let mut infos = Vec::with_capacity(n);
    for (j, (start, end)) in starts.into_iter().zip(ends).enumerate() {
        let inputs = if j == 0 {
            model.inputs.clone()
        } else {
            boundary_specs(&io[j].0)?
        };
        let outputs = if j + 1 == n {
            model.outputs.clone()
        } else {
            boundary_specs(&io[j].1)?
        };
        let mut tables = model.tables.clone();
        for spec in inputs.iter().filter(|s| s.boundary) {
            for b in tables.boundary_limbs(spec.pack_bits) {
                if !tables.range_shifts.contains(&b) {
                    tables.range_shifts.push(b);
                }
            }
        }
        let mut report = model.report.clone();
        report.layer_errors = (report.layer_errors.get(start..end))
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        let segment = CompiledModel {
            name: format!("{} (segment {} of {n})", model.name, j + 1),
            inputs,
            outputs,
            layers: model.layers[start..end].to_vec(),
            tables,
            report,
            ..model.clone()
        };
        let segment = smallest(segment)?;
        let names = |specs: &[IoSpec]| {
            specs
                .iter()
                .map(|s| model.tensors[s.tensor].name.clone())
                .collect()
        };
        let (secs, bytes) = predict(std::slice::from_ref(&segment))[0];
        infos.push(SegmentInfo {
            layers: [start, end],
            k: segment.layout.k,
            rows: segment.rows,
            inputs: names(&segment.inputs),
            outputs: names(&segment.outputs),
            predicted_prove_seconds: secs,
            predicted_memory_bytes: bytes,
        });
        segments.push(segment);
    }
    let manifest = SplitManifest {
        format: SPLIT_FORMAT.into(),
        name: model.name.clone(),
        segments: infos,
        tile_splits: Vec::new(),
        channel_splits: Vec::new(),
    };
    Ok((segments, manifest))
}

/// `segment` sized with the tables that give it the smallest `k` (then the fewest rows): its
/// own (those its rows look up), or with its range checks made of limbs, which replaces the
/// identity's table (as wide as the values) with narrow range tables: a segment's few layers
/// can be far smaller than the whole model's tables.
fn smallest(segment: CompiledModel) -> Result<CompiledModel> {
    let mut candidates = vec![segment.clone()];
    if segment.tables.limb_bits.is_none() {
        let mut limbed = segment;
        limbed.tables.limb_bits = Some(LIMB_BITS);
        limbed.tables.identity_split = None;
        if let Some(bits) = limbed.tables.limbed_identity() {
            limbed.tables.need_range(bits);
        }
        candidates.push(limbed);
    }
    let mut best: Option<CompiledModel> = None;
    for mut c in candidates {
        c.rows = keep_used_tables(&mut c)?;
        debug_assert_eq!(c.rows, Plan::build(&c, c.layout.width, None)?.rows);
        c.layout.k = min_k(c.rows, c.tables.rows());
        if best
            .as_ref()
            .is_none_or(|b| (c.layout.k, c.rows) < (b.layout.k, b.rows))
        {
            best = Some(c);
        }
    }
    Ok(best.expect("one candidate at least"))
}

/// Drops the tables `segment`'s rows never look up (the whole model's tables serve every
/// layer; a segment's few layers use a few of them, and a table can set `k`). The identity's
/// entry stays where its checks are limbs or split rows (it then has no table, only a width).
/// Returns the segment's rows, which dropping unused tables leaves as they are (only the
/// tags of the tables kept change).
fn keep_used_tables(segment: &mut CompiledModel) -> Result<usize> {
    let plan = Plan::build(segment, segment.layout.width, None)?;
    let mut used = BTreeSet::new();
    for r in 0..plan.rows {
        if plan.lookup[r] {
            used.insert(plan.tag[r]);
        }
        if plan.rescale_one[r] {
            // The one-row rescale's second lookup: its tag is the row's third weight.
            used.insert(plan.weights[2][r] as u64);
        }
    }
    let tables = &mut segment.tables;
    let keep: BTreeMap<Activation, u32> = tables
        .activations
        .iter()
        .filter(|(act, bits)| {
            // A table replaced by range checks is kept where its checks are made.
            let checks: Vec<u32> = match tables.split_identity() {
                Some((lo, hi)) => [lo, hi].into_iter().filter(|b| *b > 0).collect(),
                None => tables.limbs(**bits),
            };
            used.contains(&act_tag(tables, **act))
                || (tables.limbed_table(**act, **bits)
                    && checks.iter().all(|b| used.contains(&range_tag(*b))))
        })
        .map(|(act, bits)| (*act, *bits))
        .collect();
    tables
        .range_shifts
        .retain(|s| used.contains(&range_tag(*s)));
    tables.gains.retain(|act, _| keep.contains_key(act));
    tables.activations = keep;
    Ok(plan.rows)
}

/// Checks that the segments' proofs are about one tensor at every cut: each segment's
/// commitment to a boundary input equals that of the earlier segment that gives it out. The proofs
/// themselves are checked (and their files' commitments recomputed from their instances, as
/// [`ProofFile::check_against`] does) before this.
pub fn check_chain(segments: &[CompiledModel], proofs: &[ProofFile]) -> Result<()> {
    if proofs.len() != segments.len() {
        return Err(CircuitError::BrokenChain {
            segment: proofs.len().min(segments.len()) + 1,
            reason: format!("{} proofs for {} segments", proofs.len(), segments.len()),
        });
    }
    for j in 1..segments.len() {
        let next = &segments[j];
        for (spec, value) in next.inputs.iter().zip(&proofs[j].inputs) {
            let name = &next.tensors[spec.tensor].name;
            let Some((i, produced)) = producer(segments, proofs, j, spec.tensor) else {
                return Err(CircuitError::BrokenChain {
                    segment: j + 1,
                    reason: format!("its input `{name}` is no output of an earlier segment"),
                });
            };
            if !spec.boundary || value.commitment.is_none() || *produced != value.commitment {
                return Err(CircuitError::BrokenChain {
                    segment: j + 1,
                    reason: format!(
                        "its input `{name}` is not the tensor segment {} computed (the commitments differ)",
                        i + 1
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The latest segment before `j` that gives out boundary tensor `tensor`, and its commitment
/// to it in that segment's proof.
fn producer<'a>(
    segments: &[CompiledModel],
    proofs: &'a [ProofFile],
    j: usize,
    tensor: TensorId,
) -> Option<(usize, &'a Option<String>)> {
    (0..j).rev().find_map(|i| {
        segments[i]
            .outputs
            .iter()
            .zip(&proofs[i].outputs)
            .find(|(s, _)| s.tensor == tensor && s.boundary)
            .map(|(_, v)| (i, &v.commitment))
    })
}

/// Predicted proving seconds and peak bytes of each segment on the project's 2-core machine
/// ([`CostModel::MEASURED`]).
pub fn predict(segments: &[CompiledModel]) -> Vec<(f64, f64)> {
    segments
        .iter()
        .map(|s| CostModel::MEASURED.predict(s.layout.k, Columns::of(s, s.layout.width)))
        .collect()
}

/// The wall time of proving jobs of `secs` seconds each on `machines` machines of one kind,
/// each job on one machine (a segment proves alone: `prove --segment J`), scheduled longest
/// first onto the machine free soonest.
pub fn wall_time(secs: &[f64], machines: usize) -> f64 {
    let mut load = vec![0f64; machines.max(1)];
    let mut jobs = secs.to_vec();
    jobs.sort_by(|a, b| b.total_cmp(a));
    for job in jobs {
        let soonest = load
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("one machine at least");
        *soonest += job;
    }
    load.into_iter().fold(0f64, f64::max)
}
