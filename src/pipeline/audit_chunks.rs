//! Choosing an audit's chunk size: the size that minimises the predicted time of proving every
//! chunk on the machines given and then aggregating the chunk proofs, within a memory budget.
//! A chunk of `s` samples is one circuit of `s` copies of the model plus the dataset hash
//! chain: its `k` comes from laying it out, its proving time and memory from the cost model
//! (`compile --optimize`'s), the aggregation's from [`AggregationCost`].

use super::aggregate::Layout;
use super::aggregate_cost::AggregationCost;
use snarkml_circuits::audit::chunk::chunk_k;
use snarkml_circuits::layout::optimize::{Columns, CostModel};
use snarkml_circuits::quantize::CompiledModel;

/// One chunk size considered.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChunkOption {
    /// Samples per chunk.
    pub chunk_size: usize,
    /// Chunks for the whole dataset.
    pub chunks: usize,
    /// `log2` of a chunk circuit's rows.
    pub k: u32,
    /// Predicted seconds to prove one chunk.
    pub chunk_prove_s: f64,
    /// Predicted peak memory of proving one chunk, bytes.
    pub chunk_memory_bytes: f64,
    /// Predicted seconds to aggregate the chunk proofs (keys cached).
    pub aggregate_s: f64,
    /// Predicted peak memory of the aggregation, bytes.
    pub aggregate_memory_bytes: f64,
    /// Predicted wall time of the whole audit on the machines given.
    pub total_s: f64,
}

/// The largest chunk circuit considered: `2^MAX_CHUNK_K` rows.
pub const MAX_CHUNK_K: u32 = 22;

/// Every power-of-two chunk size (and the whole dataset) for `samples` samples whose circuit
/// fits `2^MAX_CHUNK_K` rows, with its predicted cost on `machines` machines like this one
/// (chunks in parallel, the aggregation on one), aggregating at `aggregate_k`.
pub fn options(
    model: &CompiledModel,
    samples: usize,
    machines: usize,
    aggregate_k: u32,
) -> eyre::Result<Vec<ChunkOption>> {
    let cost = CostModel::MEASURED;
    let columns = Columns::of(model, model.layout.width);
    let mut sizes: Vec<usize> = std::iter::successors(Some(1usize), |s| s.checked_mul(2))
        .take_while(|s| *s < samples)
        .collect();
    sizes.push(samples.max(1));
    let mut out = Vec::new();
    for size in sizes {
        let k = chunk_k(model, size)?;
        if k > MAX_CHUNK_K {
            break;
        }
        let chunks = samples.div_ceil(size).max(1);
        let (chunk_prove_s, chunk_memory_bytes) = cost.predict(k, columns);
        let agg = AggregationCost::predict(chunks, Layout::default(), aggregate_k);
        let rounds = chunks.div_ceil(machines.max(1));
        out.push(ChunkOption {
            chunk_size: size,
            chunks,
            k,
            chunk_prove_s,
            chunk_memory_bytes,
            aggregate_s: agg.prove_s as f64,
            aggregate_memory_bytes: agg.peak_mib as f64 * 1024.0 * 1024.0,
            total_s: rounds as f64 * chunk_prove_s + agg.prove_s as f64,
        });
    }
    Ok(out)
}

/// The option with the least predicted total time whose chunk fits `max_memory` (bytes), if
/// any does.
pub fn choose(options: &[ChunkOption], max_memory: Option<f64>) -> Option<&ChunkOption> {
    options
        .iter()
        .filter(|o| max_memory.is_none_or(|m| o.chunk_memory_bytes <= m))
        .min_by(|a, b| a.total_s.total_cmp(&b.total_s))
}
