//! Aggregation: many proof files (made with `prove --for-aggregation`) become one aggregated
//! proof in an aggregation directory, which `gen-verifier`, `deploy` and `verify-onchain`
//! accept like a build directory.
//!
//! ```text
//! aggr/
//!   aggregation.json  what was aggregated: inner verifying keys, expose spec, circuit shape
//!   vk.bin            the aggregation circuit's verifying key
//!   params.bin        the four SRS points a verifier needs (G1, [τ]G1, G2, [τ]G2)
//!   proof.json        the aggregated proof
//! ```
//!
//! Proving keys are cached under `<cache>/aggregation/<key>/`, the key hashing the SRS, `k`,
//! the inner verifying-key hashes in order, the expose spec and the transcript.
//!
//! Many proofs are aggregated in layers ([`Layout`]): groups of at most `arity` proofs are
//! aggregated with the Poseidon transcript, those aggregations are aggregated in turn, and a
//! last one-proof aggregation (`compress`) with the Keccak transcript gives the proof the EVM
//! checks. Every circuit in the tree has the size of one small aggregation, so memory does
//! not grow with the number of proofs, and neither do the verifier and its gas: the final
//! circuit verifies one proof, which is what makes it cheaper than a flat aggregation of two.

use super::aggregate_cost::{AggregationCost, TreeLoad};
use super::aggregate_tree::{
    inputs_digest, keyed, layer_specs, node_path, read_node, write_node, Entry, NodeState, Tree,
};
pub use super::aggregate_tree::{Aggregated, NodeId, NodeReport};
use super::key_cache::{self, CacheNote, KeyCache};
use super::{load, load_vk};
use crate::artifacts::{read_json, write_bytes, write_json, BuildDir, SetupInfo};
use crate::stored::{write_params, SrsFile, Stored};
use eyre::{bail, Result, WrapErr};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use snarkml_circuits::aggregation::{
    self, AggregationKeys, AggregationShape, Expose, InnerProof, ACCUMULATOR_INSTANCES,
};
use snarkml_circuits::fixed_point::field_to_hex;
use snarkml_circuits::halo2_proofs;
use snarkml_circuits::io::{AggregatedProofFile, ProofFile, AGGREGATED_PROOF_FORMAT};
use snarkml_circuits::prover::{self, Transcript};
use snarkml_circuits::srs::{srs_id, Srs};
use snarkml_circuits::{Bn256, Fr, G1Affine};
use std::path::{Path, PathBuf};

/// Version of the cache layout; bump when the aggregation circuit changes.
const CACHE_VERSION: &str = "snarkml-aggregation-cache/2";
/// The cache's directory of aggregation keys.
const CACHE_KIND: &str = "aggregation";

/// How proofs are arranged into aggregation circuits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// At most this many proofs per aggregation circuit; 0 puts them all in one.
    pub arity: usize,
    /// End with an aggregation of the one remaining proof: its circuit verifies a single proof,
    /// so it has fewer columns and its on-chain verifier costs less gas.
    pub compress: bool,
}

impl Default for Layout {
    /// Pairs, then compression: the smallest circuits and the cheapest verifier.
    fn default() -> Self {
        Self {
            arity: 2,
            compress: true,
        }
    }
}

impl Layout {
    /// One aggregation circuit taking every proof (what earlier versions did).
    pub const FLAT: Self = Self {
        arity: 0,
        compress: false,
    };

    /// The group sizes of each layer of the tree for `n` proofs; the last layer is the one
    /// proof verified on the EVM.
    pub fn layers(self, n: usize) -> Vec<Vec<usize>> {
        let arity = |n: usize| if self.arity == 0 { n } else { self.arity };
        // Layers of groups are added while more proofs are left than the final circuit takes.
        let last = match (self.compress, self.arity) {
            (true, _) => 1,
            (false, 0) => usize::MAX,
            (false, a) => a,
        };
        let mut layers = Vec::new();
        let mut n = n;
        while n > last {
            let a = arity(n);
            let groups: Vec<usize> = (0..n).step_by(a).map(|s| a.min(n - s)).collect();
            n = groups.len();
            layers.push(groups);
        }
        layers.push(vec![n]);
        layers
    }
}

/// What `aggregate` records about an aggregation directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggregationInfo {
    /// The aggregation circuit has `2^k` rows.
    pub k: u32,
    /// Identifier of the SRS.
    pub srs_id: String,
    /// True when the SRS is a development one.
    pub srs_insecure: bool,
    /// SHA-256 of the aggregation circuit's verifying key.
    pub vk_hash: String,
    /// Public instances of the aggregated proof (accumulator included).
    pub num_instances: usize,
    /// The final circuit's shape (configuration, break points, expose spec).
    pub shape: AggregationShape,
    /// The inner circuits, in order.
    pub inner: Vec<InnerInfo>,
    /// The final circuit's proving-key cache entry.
    pub cache_key: String,
    /// How the proofs were arranged into aggregation circuits.
    #[serde(default = "flat")]
    pub layout: Layout,
    /// Proofs per aggregation circuit, layer by layer (the last layer is the final proof).
    #[serde(default)]
    pub layers: Vec<Vec<usize>>,
}

fn flat() -> Layout {
    Layout::FLAT
}

/// One aggregated inner proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InnerInfo {
    /// The proof file as given.
    pub proof: String,
    /// Its model.
    pub model: String,
    /// Its circuit's verifying-key hash.
    pub vk_hash: String,
    /// Its public instances.
    pub num_instances: usize,
}

/// What [`aggregate`] is asked to do.
#[derive(Clone, Debug)]
pub struct AggregateRequest {
    /// The inner proof files, in order.
    pub proofs: Vec<PathBuf>,
    /// Build directories whose verifying keys the proofs were made with.
    pub builds: Vec<PathBuf>,
    /// An SRS file with at least `2^k` points, the one the inner keys came from.
    pub srs: PathBuf,
    /// `log2` of the aggregation circuit's rows.
    pub k: u32,
    /// What the aggregated proof exposes.
    pub expose: Expose,
    /// How the proofs are arranged into aggregation circuits.
    pub layout: Layout,
    /// Where proving keys are cached.
    pub cache: KeyCache,
    /// One node of the tree to prove (`--step L:G`), from its children's node files; `None`
    /// proves the whole tree (reusing node files made from the same proofs).
    pub step: Option<NodeId>,
}

/// What [`aggregate`] did.
#[derive(Clone, Debug)]
pub struct AggregateReport {
    /// The aggregated proof file.
    pub proof: AggregatedProofFile,
    /// What was recorded.
    pub info: AggregationInfo,
    /// True when every proving key came from the cache.
    pub cache_hit: bool,
    /// Seconds spent generating keys (0 on a cache hit), over the whole tree.
    pub keygen_secs: f64,
    /// Seconds spent proving, over the whole tree.
    pub prove_secs: f64,
    /// Aggregation circuits proven (nodes of the tree; those kept from an earlier run not
    /// counted).
    pub steps: usize,
    /// Nodes of the tree whose node file, made from the same proofs by an earlier run or
    /// `--step`, was kept instead of proven again.
    pub reused: usize,
    /// Distinct circuits whose keys were generated (the rest came from the cache).
    pub keys_generated: usize,
}

/// The stages [`aggregate`] reports to a progress callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Inner proofs are being checked.
    CheckInner,
    /// The tree has `steps` aggregations to prove.
    Plan {
        /// Aggregation circuits to prove.
        steps: usize,
        /// What they are predicted to cost.
        cost: AggregationCost,
    },
    /// Aggregation `step` (0-based) starts: group `group` of layer `layer`, `proofs` proofs.
    Step {
        /// Which aggregation of the tree.
        step: usize,
        /// Its layer (0 takes the inner proofs).
        layer: usize,
        /// Its group within the layer.
        group: usize,
        /// How many proofs it takes.
        proofs: usize,
    },
    /// The aggregation's node file was made before from the same proofs: kept.
    Reused,
    /// Aggregation keys are being generated.
    Keygen,
    /// Aggregation keys are being read from the cache.
    LoadKeys,
    /// Storing the keys just generated in the cache removed older entries, or could not
    /// store them (the aggregation goes on).
    Cache(CacheNote),
    /// The aggregated proof is being made.
    Prove,
}

/// Inner proofs ready to aggregate, with what the aggregation directory records of them.
#[derive(Default)]
pub(crate) struct InnerSet {
    /// The proofs, each with its verifying key where this run aggregates it.
    pub proofs: Vec<Entry>,
    /// Their records, in the same order.
    pub info: Vec<InnerInfo>,
}

impl InnerSet {
    /// Adds the proof read from `path` (of `model`, made for the verifying key whose hash is
    /// `vk_hash`: `vk`, or `None` where no step of this run aggregates the proof itself).
    pub(crate) fn push(
        &mut self,
        path: &Path,
        model: &str,
        (vk_hash, vk): (&str, Option<VerifyingKey<G1Affine>>),
        instances: Vec<Fr>,
        proof: Vec<u8>,
    ) {
        self.info.push(InnerInfo {
            proof: path.display().to_string(),
            model: model.to_owned(),
            vk_hash: vk_hash.to_owned(),
            num_instances: instances.len(),
        });
        self.proofs.push(Entry {
            vk_hash: vk_hash.to_owned(),
            label: path.display().to_string(),
            vk,
            instances,
            proof,
            accumulator: false,
        });
    }
}

/// That the build at `build` (its setup record `info`) was set up from the SRS of id
/// `srs_id` (the file `srs`) the aggregation uses.
pub(crate) fn same_srs(build: &Path, info: &SetupInfo, srs_id: &str, srs: &Path) -> Result<()> {
    if info.srs_id != srs_id {
        bail!(
            "{} was set up with a different SRS than {}: inner and aggregation keys must come from one SRS",
            build.display(),
            srs.display()
        );
    }
    Ok(())
}

/// Reads the proof files and matches each with the verifying key of one of the builds.
fn load_inner(req: &AggregateRequest, srs_id: &str) -> Result<InnerSet> {
    if req.proofs.is_empty() {
        bail!("give at least one proof file to aggregate");
    }
    if req.builds.is_empty() {
        bail!("give the build directory of the proofs' model with --build");
    }
    let mut keys: Vec<(String, VerifyingKey<G1Affine>, PathBuf)> = Vec::new();
    for b in &req.builds {
        let build = BuildDir::new(b);
        let loaded = load(&build)?;
        let vk = load_vk(&build, &loaded.info, &loaded.model)?;
        same_srs(b, &loaded.info, srs_id, &req.srs)?;
        keys.push((loaded.info.vk_hash, vk, b.clone()));
    }
    let mut set = InnerSet::default();
    for path in &req.proofs {
        let file = ProofFile::load(path)?;
        if file.transcript_kind()? != Transcript::Poseidon {
            bail!(
                "{} uses the {} transcript: proofs to aggregate are made with `snarkml prove --for-aggregation`",
                path.display(),
                file.transcript
            );
        }
        let Some((hash, vk, _)) = keys.iter().find(|(h, _, _)| *h == file.vk_hash) else {
            bail!(
                "{} was made for verifying key {}…, which none of the --build directories has",
                path.display(),
                file.vk_hash.get(..12).unwrap_or(&file.vk_hash)
            );
        };
        set.push(
            path,
            &file.model,
            (hash, Some(vk.clone())),
            file.instance_fields()?,
            file.proof_bytes()?,
        );
    }
    Ok(set)
}

/// The cache entry of an aggregation circuit's keys: what fixes them.
fn cache_key(srs_id: &str, k: u32, inner: &[Entry], expose: &Expose) -> String {
    let mut h = Sha256::new();
    h.update(CACHE_VERSION);
    h.update(format!("|{srs_id}|{k}|{expose}|"));
    for p in inner {
        h.update(format!(
            "{}:{}:{};",
            p.vk_hash,
            p.instances.len(),
            p.accumulator
        ));
    }
    hex::encode(h.finalize())
}

/// Aggregates proof files into `out` (or proves the one node `req.step` of the tree),
/// reusing cached keys when the same circuits were aggregated before. Every inner proof is
/// checked before any heavy work.
pub fn aggregate(
    req: &AggregateRequest,
    out: &BuildDir,
    progress: impl FnMut(Stage),
) -> Result<Aggregated> {
    let srs = Srs::load_trimmed(&req.srs, req.k)?;
    let id = srs_id(&srs.params);
    let inner = load_inner(req, &id)?;
    let target = AggregationTarget {
        k: req.k,
        expose: &req.expose,
        layout: req.layout,
        cache: &req.cache,
        step: req.step,
    };
    aggregate_set(srs, inner, &target, out, progress)
}

/// Where and how [`aggregate_set`] aggregates.
pub(crate) struct AggregationTarget<'a> {
    /// `log2` of the aggregation circuit's rows.
    pub k: u32,
    /// What the aggregated proof exposes.
    pub expose: &'a Expose,
    /// How the proofs are arranged into aggregation circuits.
    pub layout: Layout,
    /// Where proving keys are cached.
    pub cache: &'a KeyCache,
    /// One node of the tree to prove (from its children's node files), or the whole tree.
    pub step: Option<NodeId>,
}

/// Aggregates loaded inner proofs (made with `srs`, already trimmed to the target's `k`) into
/// `out`, in the layers of the target's [`Layout`]: every node of the tree, reusing the node
/// files (`out/nodes/`) made from the same proofs, or only the target's `step`.
pub(crate) fn aggregate_set(
    srs: Srs,
    inner: InnerSet,
    target: &AggregationTarget<'_>,
    out: &BuildDir,
    mut progress: impl FnMut(Stage),
) -> Result<Aggregated> {
    let params = srs.params;
    let id = srs_id(&params);
    progress(Stage::CheckInner);
    let counts: Vec<usize> = inner.info.iter().map(|i| i.num_instances).collect();
    target.expose.check(&counts)?;
    let instances: Vec<Vec<Fr>> = inner.proofs.iter().map(|p| p.instances.clone()).collect();
    target.expose.evaluate(&instances)?;
    let tree = Tree {
        layers: target.layout.layers(inner.proofs.len()),
    };
    let wanted = |node: NodeId| target.step.is_none_or(|s| tree.under(node, s));
    if let Some(step) = target.step {
        tree.check(step)?;
    }
    // The proofs of the layer at hand: None where no wanted node takes them (dropped at once:
    // a large circuit's verifying key takes hundreds of MiB).
    let leaves = target
        .step
        .map_or(0..inner.proofs.len(), |s| tree.leaves(s));
    let mut level: Vec<Option<Entry>> = (inner.proofs.into_iter().enumerate())
        .map(|(i, p)| leaves.contains(&i).then_some(p))
        .collect();
    // The inner proofs a node to prove takes, verified before any heavy work.
    let first = match target.step {
        Some(s) if s.layer > 0 => 0..0,
        Some(s) => tree.children(s),
        None => 0..level.len(),
    };
    if !first.is_empty() {
        let taken: Vec<Entry> = level[first.clone()]
            .iter_mut()
            .map(|e| e.take().expect("the leaves a node takes are under it"))
            .collect();
        let hashes: Vec<String> = taken.iter().map(|e| e.vk_hash.clone()).collect();
        let checking = keyed(taken)?;
        aggregation::check_inner(&params, &checking)?;
        for ((slot, hash), proof) in level[first].iter_mut().zip(hashes).zip(checking) {
            *slot = Some(Entry::with_hash(hash, proof));
        }
    }
    let steps = tree.nodes().filter(|&n| wanted(n)).count();
    let load = TreeLoad::new(&counts, target.expose, target.layout)?;
    progress(Stage::Plan {
        steps,
        cost: match target.step {
            None => AggregationCost::of_tree(&load, target.k),
            Some(s) => AggregationCost::of_step(load.layers[s.layer][s.group], target.k),
        },
    });
    let specs = layer_specs(target.expose, &tree.layers)?;
    let mut run = Run {
        params: &params,
        srs_id: &id,
        target,
        progress: &mut progress,
        step: 0,
        reused: 0,
        keys_generated: 0,
        keygen_secs: 0.0,
        prove_secs: 0.0,
    };
    let top = tree.top();
    for (l, per_group) in specs.iter().enumerate() {
        let mut cached: Option<(String, AggregationKeys)> = None;
        let mut next = Vec::with_capacity(per_group.len());
        for (g, expose) in per_group.iter().enumerate() {
            let node = NodeId { layer: l, group: g };
            if !wanted(node) {
                next.push(None);
                continue;
            }
            // Each proof is taken by one node: moved, not copied (verifying keys are large).
            let children: Vec<Entry> = level[tree.children(node)]
                .iter_mut()
                .map(|c| c.take().expect("a wanted node's children are wanted"))
                .collect();
            let key = cache_key(&id, target.k, &children, expose);
            if node == top {
                let proofs = keyed(children)?;
                let (keys, proof) =
                    run.step(node, key, &proofs, expose, None, Transcript::Keccak)?;
                let report = run.finish(
                    keys,
                    proof,
                    (inner.info, tree.layers.clone(), srs.insecure),
                    out,
                )?;
                return Ok(Aggregated::Final(Box::new(report)));
            }
            let digest = inputs_digest(&key, &children);
            let count = children.len();
            let (before_keygen, before_prove) = (run.keygen_secs, run.prove_secs);
            let (proof, reused) = match read_node(&params, out, node, &digest) {
                NodeState::Ready(proof) => {
                    run.reuse(node, count);
                    (Entry::node(*proof), true)
                }
                NodeState::Missing(why) if target.step.is_some_and(|s| s != node) => bail!(
                    "aggregation step {}: step {node} below it is not done ({why}); prove it first (`--step {node}`)",
                    target.step.expect("a step")
                ),
                NodeState::Missing(_) => {
                    let proofs = keyed(children)?;
                    let (keys, proof) =
                        run.step(node, key, &proofs, expose, cached.take(), Transcript::Poseidon)?;
                    let (shape, vk) = (&keys.1.shape, keys.1.pk.get_vk());
                    let path = write_node(out, node, digest, shape, vk, &proof)?;
                    let made = Entry::node(InnerProof {
                        label: path.display().to_string(),
                        vk: vk.clone(),
                        instances: proof.instances,
                        proof: proof.proof,
                        accumulator: true,
                    });
                    cached = Some(keys);
                    (made, false)
                }
            };
            if target.step == Some(node) {
                return Ok(Aggregated::Node(NodeReport {
                    node,
                    path: node_path(out, node),
                    proofs: count,
                    reused,
                    keygen_secs: run.keygen_secs - before_keygen,
                    prove_secs: run.prove_secs - before_prove,
                }));
            }
            next.push(Some(proof));
        }
        level = next;
    }
    unreachable!("the top node is wanted by every step under it")
}

/// The state of one aggregation tree being proven.
struct Run<'a, P> {
    params: &'a ParamsKZG<Bn256>,
    srs_id: &'a str,
    target: &'a AggregationTarget<'a>,
    progress: &'a mut P,
    step: usize,
    reused: usize,
    keys_generated: usize,
    keygen_secs: f64,
    prove_secs: f64,
}

impl<P: FnMut(Stage)> Run<'_, P> {
    /// Counts `node` (of `proofs` proofs) as kept from an earlier run.
    fn reuse(&mut self, node: NodeId, proofs: usize) {
        (self.progress)(Stage::Step {
            step: self.step,
            layer: node.layer,
            group: node.group,
            proofs,
        });
        (self.progress)(Stage::Reused);
        self.step += 1;
        self.reused += 1;
    }

    /// Aggregates one group of proofs: keys from `cached` when they are this circuit's (the
    /// groups of a layer usually share one), else from the disk cache, else keygen.
    fn step(
        &mut self,
        node: NodeId,
        key: String,
        proofs: &[InnerProof],
        expose: &Expose,
        cached: Option<(String, AggregationKeys)>,
        transcript: Transcript,
    ) -> Result<((String, AggregationKeys), aggregation::AggregatedProof)> {
        (self.progress)(Stage::Step {
            step: self.step,
            layer: node.layer,
            group: node.group,
            proofs: proofs.len(),
        });
        self.step += 1;
        let k = self.target.k;
        let keys = match cached.filter(|(c, _)| *c == key) {
            Some((_, keys)) => keys,
            None => match self.target.cache.load(CACHE_KIND, &key, load_cached) {
                Some(keys) => {
                    (self.progress)(Stage::LoadKeys);
                    keys
                }
                None => {
                    (self.progress)(Stage::Keygen);
                    let start = std::time::Instant::now();
                    let keys = aggregation::keygen(self.params, proofs, expose, k)?;
                    self.keys_generated += 1;
                    self.keygen_secs += start.elapsed().as_secs_f64();
                    for note in store_cached(self.target.cache, &key, &keys) {
                        (self.progress)(Stage::Cache(note));
                    }
                    keys
                }
            },
        };
        (self.progress)(Stage::Prove);
        let start = std::time::Instant::now();
        let proof = aggregation::prove(self.params, &keys, proofs, transcript)?;
        self.prove_secs += start.elapsed().as_secs_f64();
        Ok(((key, keys), proof))
    }
}

impl<P> Run<'_, P> {
    /// Writes the aggregation directory for the final proof of the tree.
    fn finish(
        self,
        (key, keys): (String, AggregationKeys),
        proof: aggregation::AggregatedProof,
        (inner, layers, insecure): (Vec<InnerInfo>, Vec<Vec<usize>>, bool),
        out: &BuildDir,
    ) -> Result<AggregateReport> {
        let (params, id, target) = (self.params, self.srs_id, self.target);
        let vk = keys.pk.get_vk();
        let info = AggregationInfo {
            k: target.k,
            srs_id: id.to_owned(),
            srs_insecure: insecure,
            vk_hash: prover::vk_hash(vk),
            num_instances: keys.shape.num_instances,
            shape: keys.shape.clone(),
            inner,
            cache_key: key,
            layout: target.layout,
            layers,
        };
        let hex: Vec<String> = proof.instances.iter().map(field_to_hex).collect();
        let file = AggregatedProofFile {
            format: AGGREGATED_PROOF_FORMAT.into(),
            vk_hash: info.vk_hash.clone(),
            srs_id: id.to_owned(),
            transcript: Transcript::Keccak.name().into(),
            proof: format!("0x{}", hex::encode(&proof.proof)),
            exposed: hex[ACCUMULATOR_INSTANCES..].to_vec(),
            instances: hex,
            expose: target.expose.to_string(),
            inner: info.inner.iter().map(|i| i.proof.clone()).collect(),
        };
        std::fs::create_dir_all(out.root())
            .wrap_err_with(|| format!("cannot create {}", out.root().display()))?;
        let mut small = params.clone();
        small.downsize(1);
        write_params(&out.params(), &small, insecure)?;
        write_bytes(&out.vk(), &prover::vk_to_bytes(vk))?;
        write_json(&out.aggregation(), &info)?;
        file.save(&out.proof())?;
        Ok(AggregateReport {
            proof: file,
            info,
            cache_hit: self.keys_generated == 0,
            keygen_secs: self.keygen_secs,
            prove_secs: self.prove_secs,
            steps: self.step - self.reused,
            reused: self.reused,
            keys_generated: self.keys_generated,
        })
    }
}

fn load_cached(entry: &Path) -> Option<AggregationKeys> {
    let shape: AggregationShape = read_json(&entry.join("shape.json")).ok()?;
    let pk = aggregation::read_pk(&mut key_cache::reader(&entry.join("pk.bin"))?, &shape).ok()?;
    Some(AggregationKeys { pk, shape })
}

/// Stores the keys (the shape last: an entry is read only when both files are there).
fn store_cached(cache: &KeyCache, key: &str, keys: &AggregationKeys) -> Vec<CacheNote> {
    let shape = serde_json::to_vec_pretty(&keys.shape).expect("a shape serializes");
    cache.store(
        CACHE_KIND,
        key,
        &[
            ("pk.bin", &|mut w| aggregation::write_pk(&keys.pk, &mut w)),
            ("shape.json", &|w| w.write_all(&shape)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::Layout;

    #[test]
    fn layouts_make_trees_of_bounded_groups_ending_in_one_proof() {
        let pairs = Layout::default();
        assert_eq!(pairs.layers(1), vec![vec![1]]);
        assert_eq!(pairs.layers(2), vec![vec![2], vec![1]]);
        assert_eq!(pairs.layers(4), vec![vec![2, 2], vec![2], vec![1]]);
        assert_eq!(
            pairs.layers(5),
            vec![vec![2, 2, 1], vec![2, 1], vec![2], vec![1]]
        );
        assert_eq!(
            pairs.layers(8),
            vec![vec![2, 2, 2, 2], vec![2, 2], vec![2], vec![1]]
        );
        let fours = Layout {
            arity: 4,
            compress: false,
        };
        assert_eq!(fours.layers(3), vec![vec![3]]);
        assert_eq!(fours.layers(10), vec![vec![4, 4, 2], vec![3]]);
        assert_eq!(Layout::FLAT.layers(8), vec![vec![8]]);
        let all_then_compress = Layout {
            arity: 0,
            compress: true,
        };
        assert_eq!(all_then_compress.layers(8), vec![vec![8], vec![1]]);
        for n in 1..40 {
            for layout in [pairs, fours, Layout::FLAT, all_then_compress] {
                let layers = layout.layers(n);
                assert_eq!(layers[0].iter().sum::<usize>(), n, "{layout:?} {n}");
                assert_eq!(layers.last().unwrap().len(), 1);
                for w in layers.windows(2) {
                    assert_eq!(w[0].len(), w[1].iter().sum::<usize>());
                }
            }
        }
    }
}
