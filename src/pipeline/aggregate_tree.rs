//! The nodes of an aggregation tree, each provable on its own.
//!
//! An aggregation in layers ([`super::aggregate::Layout`]) is a tree: group `G` of layer `L`
//! (node `L:G`) aggregates some proofs of the layer below (the inner proofs for layer 0). Every
//! node below the top writes its aggregated proof (Poseidon transcript) into the aggregation
//! directory as it is made:
//!
//! ```text
//! aggr/nodes/L-G.json   the node's proof, its verifying key and circuit shape, and a digest of
//!                       what it aggregated (its circuit's cache key and every proof it took)
//! ```
//!
//! so that `aggregate --step L:G` proves one node from the node files of its children (the
//! nodes of a layer are independent: a cluster proves them at once, one task each), and a
//! whole-tree `aggregate` reuses every node file that was made from the same proofs (a rerun
//! after a crash resumes). The digest guards against a node file left by another aggregation
//! into the same directory; the final proof's soundness does not rest on it (every node's proof
//! is verified by the aggregation above it, and the on-chain verifier checks only the top).

use super::aggregate::AggregateReport;
use crate::artifacts::{read_bytes, write_bytes_atomic, BuildDir};
use eyre::{bail, eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use snarkml_circuits::aggregation::{self, AggregationShape, Expose, InnerProof};
use snarkml_circuits::fixed_point::field_to_hex;
use snarkml_circuits::halo2_proofs::plonk::VerifyingKey;
use snarkml_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snarkml_circuits::io::{decode_instances, decode_proof};
use snarkml_circuits::prover::{self, Transcript};
use snarkml_circuits::{Bn256, Fr, G1Affine};
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::str::FromStr;

/// Format tag of a node file.
pub const NODE_FORMAT: &str = "snarkml-aggregation-node/1";

/// A node of an aggregation tree: group `group` of layer `layer` (layer 0 takes the inner
/// proofs). Written and parsed as `L:G`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeId {
    /// Its layer, from 0.
    pub layer: usize,
    /// Its group within the layer, from 0.
    pub group: usize,
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.layer, self.group)
    }
}

impl FromStr for NodeId {
    type Err = eyre::Report;

    fn from_str(s: &str) -> Result<Self> {
        let parse = |part: Option<&str>| part.and_then(|p| p.trim().parse::<usize>().ok());
        let mut parts = s.split(':');
        match (parse(parts.next()), parse(parts.next()), parts.next()) {
            (Some(layer), Some(group), None) => Ok(Self { layer, group }),
            _ => {
                bail!("`{s}` is not an aggregation step: write LAYER:GROUP, e.g. 0:3 (see --tree)")
            }
        }
    }
}

/// The shape of a tree: the group sizes of each layer, the last layer one group (the proof the
/// EVM checks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    /// Group sizes, layer by layer.
    pub layers: Vec<Vec<usize>>,
}

impl Tree {
    /// The node at the top.
    pub fn top(&self) -> NodeId {
        NodeId {
            layer: self.layers.len() - 1,
            group: 0,
        }
    }

    /// Every node, layer by layer.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(layer, groups)| (0..groups.len()).map(move |group| NodeId { layer, group }))
    }

    /// That `node` is in the tree, else an error listing the layers.
    pub fn check(&self, node: NodeId) -> Result<()> {
        match self.layers.get(node.layer) {
            Some(groups) if node.group < groups.len() => Ok(()),
            _ => bail!(
                "--step {node}: this aggregation's tree has {} (layer: groups); steps are LAYER:GROUP within it",
                self.layers
                    .iter()
                    .enumerate()
                    .map(|(l, g)| format!("{l}: {}", g.len()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The positions, in the layer below (the inner proofs for layer 0), of what `node` takes.
    pub fn children(&self, node: NodeId) -> Range<usize> {
        let groups = &self.layers[node.layer];
        let start: usize = groups[..node.group].iter().sum();
        start..start + groups[node.group]
    }

    /// The inner proofs under `node`.
    pub fn leaves(&self, node: NodeId) -> Range<usize> {
        let mut range = self.children(node);
        for layer in (0..node.layer).rev() {
            let below = &self.layers[layer];
            let first = below[..range.start].iter().sum();
            let last = below[..range.end].iter().sum();
            range = first..last;
        }
        range
    }

    /// True when `node` is `of` or below it.
    pub fn under(&self, node: NodeId, of: NodeId) -> bool {
        let (n, o) = (self.leaves(node), self.leaves(of));
        node.layer <= of.layer && o.start <= n.start && n.end <= o.end
    }
}

/// What an aggregation made: the aggregated proof, or (`--step`) one node of the tree.
#[derive(Clone, Debug)]
pub enum Aggregated {
    /// The whole tree, or its top node: the aggregation directory is written.
    Final(Box<AggregateReport>),
    /// A node below the top: its node file is written.
    Node(NodeReport),
}

impl Aggregated {
    /// The final report, or an error for a node (a caller that asked for no step).
    pub fn into_final(self) -> Result<AggregateReport> {
        match self {
            Self::Final(r) => Ok(*r),
            Self::Node(n) => bail!(
                "aggregation step {} made a node of the tree, not the final proof",
                n.node
            ),
        }
    }
}

/// What proving one node of a tree did.
#[derive(Clone, Debug)]
pub struct NodeReport {
    /// Which node.
    pub node: NodeId,
    /// Its node file.
    pub path: PathBuf,
    /// How many proofs it aggregated.
    pub proofs: usize,
    /// True when its node file was already there, made from the same proofs.
    pub reused: bool,
    /// Seconds spent generating its keys (0 when cached or reused).
    pub keygen_secs: f64,
    /// Seconds spent proving it (0 when reused).
    pub prove_secs: f64,
}

/// The expose spec of every node, layer by layer: a spec of instances and links (a split
/// model's) localized to each group and carried up, else the same spec for every group, lifted
/// for the layer above.
pub(crate) fn layer_specs(expose: &Expose, layers: &[Vec<usize>]) -> Result<Vec<Vec<Expose>>> {
    let (last, below) = layers.split_last().expect("a layout has a final layer");
    let mut spec = expose.clone();
    let mut specs = Vec::with_capacity(layers.len());
    for groups in below {
        let (per_group, upper) = match spec.localized(groups) {
            Some(specs) => specs,
            None => (vec![spec.clone(); groups.len()], spec.lifted()?),
        };
        specs.push(per_group);
        spec = upper;
    }
    // The final aggregation takes every remaining proof: localized to it as to any group.
    let top = match spec.localized(last) {
        Some((mut one, _)) => one.remove(0),
        None => spec,
    };
    specs.push(vec![top]);
    Ok(specs)
}

/// A node's proof file (`aggr/nodes/L-G.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeFile {
    /// [`NODE_FORMAT`].
    pub format: String,
    /// Which node.
    pub node: NodeId,
    /// [`inputs_digest`] of what it aggregated.
    pub inputs: String,
    /// Its circuit's shape (needed to read the verifying key).
    pub shape: AggregationShape,
    /// Its verifying key, hex.
    pub vk: String,
    /// Its public instances (the accumulator, then what it exposes), 0x-hex.
    pub instances: Vec<String>,
    /// The proof (Poseidon transcript), 0x-hex.
    pub proof: String,
}

/// Where the node file of `node` lives in the aggregation directory `out`.
pub fn node_path(out: &BuildDir, node: NodeId) -> PathBuf {
    out.root()
        .join("nodes")
        .join(format!("{}-{}.json", node.layer, node.group))
}

/// A proof of one layer of the tree: an inner proof (a leaf) or a node's aggregated proof,
/// with the hash of its verifying key. The key itself is held only where a step of this run
/// aggregates the proof: the leaves under a step above layer 0 only name the node files below
/// it (by their instances and proof bytes, [`inputs_digest`]), so such a step of a split
/// model loads no segment's key (hundreds of MiB each for a large model).
pub struct Entry {
    /// SHA-256 of the verifying key (`prover::vk_hash`).
    pub vk_hash: String,
    /// A name for error messages (the proof file's path).
    pub label: String,
    /// The verifying key, where a step of this run aggregates the proof.
    pub vk: Option<VerifyingKey<G1Affine>>,
    /// Its public instances.
    pub instances: Vec<Fr>,
    /// Its bytes (Poseidon transcript).
    pub proof: Vec<u8>,
    /// Whether it is a node's proof (its first instances an accumulator).
    pub accumulator: bool,
}

impl Entry {
    /// `proof`, whose verifying key hashes to `vk_hash`.
    pub fn with_hash(vk_hash: String, proof: InnerProof) -> Self {
        Self {
            vk_hash,
            label: proof.label,
            vk: Some(proof.vk),
            instances: proof.instances,
            proof: proof.proof,
            accumulator: proof.accumulator,
        }
    }

    /// A node's proof (its aggregation circuit's key is small: hashed here).
    pub fn node(proof: InnerProof) -> Self {
        Self::with_hash(prover::vk_hash(&proof.vk), proof)
    }
}

/// The proofs with their keys, for a step to aggregate.
pub fn keyed(entries: Vec<Entry>) -> Result<Vec<InnerProof>> {
    entries
        .into_iter()
        .map(|e| {
            let vk =
                e.vk.ok_or_else(|| eyre!("{}: its verifying key was not loaded", e.label))?;
            Ok(InnerProof {
                label: e.label,
                vk,
                instances: e.instances,
                proof: e.proof,
                accumulator: e.accumulator,
            })
        })
        .collect()
}

/// SHA-256 over a node circuit's cache key and every proof it takes (instances and bytes).
pub fn inputs_digest(cache_key: &str, children: &[Entry]) -> String {
    let mut h = Sha256::new();
    h.update(cache_key.as_bytes());
    for c in children {
        h.update((c.instances.len() as u64).to_le_bytes());
        for f in &c.instances {
            h.update(field_to_hex(f).as_bytes());
        }
        h.update((c.proof.len() as u64).to_le_bytes());
        h.update(&c.proof);
    }
    hex::encode(h.finalize())
}

/// Writes `node`'s proof file.
pub fn write_node(
    out: &BuildDir,
    node: NodeId,
    inputs: String,
    shape: &AggregationShape,
    vk: &snarkml_circuits::halo2_proofs::plonk::VerifyingKey<snarkml_circuits::G1Affine>,
    proof: &aggregation::AggregatedProof,
) -> Result<PathBuf> {
    let path = node_path(out, node);
    let dir = path.parent().expect("a node path has a directory");
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    let file = NodeFile {
        format: NODE_FORMAT.into(),
        node,
        inputs,
        shape: shape.clone(),
        vk: hex::encode(prover::vk_to_bytes(vk)),
        instances: proof.instances.iter().map(field_to_hex).collect(),
        proof: format!("0x{}", hex::encode(&proof.proof)),
    };
    write_bytes_atomic(&path, &serde_json::to_vec_pretty(&file)?)?;
    Ok(path)
}

/// What a node's file holds, as the aggregation above it reads it.
pub enum NodeState {
    /// Its proof, made from the expected inputs and verified.
    Ready(Box<InnerProof>),
    /// No usable file: why not.
    Missing(String),
}

/// Reads `node`'s file and checks it was made from the proofs whose [`inputs_digest`] is
/// `digest` and that its proof verifies (with `params`, the SRS the aggregation uses).
pub fn read_node(
    params: &ParamsKZG<Bn256>,
    out: &BuildDir,
    node: NodeId,
    digest: &str,
) -> NodeState {
    let path = node_path(out, node);
    match try_read_node(params, &path, node, digest) {
        Ok(proof) => NodeState::Ready(Box::new(proof)),
        Err(e) => NodeState::Missing(format!("{}: {e:#}", path.display())),
    }
}

fn try_read_node(
    params: &ParamsKZG<Bn256>,
    path: &std::path::Path,
    node: NodeId,
    digest: &str,
) -> Result<InnerProof> {
    if !path.exists() {
        bail!("not made yet");
    }
    let file: NodeFile =
        serde_json::from_slice(&read_bytes(path)?).map_err(|e| eyre!("not a node file ({e})"))?;
    if file.format != NODE_FORMAT || file.node != node {
        bail!(
            "not the node file of step {node} (format {}, step {})",
            file.format,
            file.node
        );
    }
    if file.inputs != digest {
        bail!("made from other proofs (an earlier aggregation into this directory?)");
    }
    let vk = hex::decode(file.vk.trim_start_matches("0x"))
        .map_err(|e| eyre!("its verifying key is not hex ({e})"))?;
    let vk = aggregation::vk_from_bytes(&vk, &file.shape)?;
    let (instances, proof) = (
        decode_instances(&file.instances)?,
        decode_proof(&file.proof)?,
    );
    let small = aggregation::verifier_params(params, vk.get_domain().k());
    aggregation::verify(&small, &vk, &instances, &proof, Transcript::Poseidon)
        .wrap_err("its proof does not verify")?;
    Ok(InnerProof {
        label: path.display().to_string(),
        vk,
        instances,
        proof,
        accumulator: true,
    })
}

#[cfg(test)]
mod tests {
    use super::{NodeId, Tree};

    #[test]
    fn nodes_know_their_children_and_leaves() {
        // 5 proofs in pairs: [2, 2, 1], [2, 1], [2], [1].
        let tree = Tree {
            layers: vec![vec![2, 2, 1], vec![2, 1], vec![2], vec![1]],
        };
        let n = |layer, group| NodeId { layer, group };
        assert_eq!(tree.top(), n(3, 0));
        assert_eq!(tree.nodes().count(), 7);
        assert_eq!(tree.children(n(0, 2)), 4..5);
        assert_eq!(tree.children(n(1, 1)), 2..3);
        assert_eq!(tree.leaves(n(1, 0)), 0..4);
        assert_eq!(tree.leaves(n(1, 1)), 4..5);
        assert_eq!(tree.leaves(n(3, 0)), 0..5);
        assert!(tree.under(n(0, 1), n(1, 0)));
        assert!(!tree.under(n(0, 2), n(1, 0)));
        assert!(tree.under(n(1, 1), n(1, 1)));
        assert!(!tree.under(n(2, 0), n(1, 0)));
        assert!(tree.check(n(1, 1)).is_ok());
        let refused = tree.check(n(1, 2)).unwrap_err().to_string();
        assert!(refused.contains("0: 3, 1: 2, 2: 1, 3: 1"), "{refused}");
    }

    #[test]
    fn steps_parse_as_layer_colon_group() {
        assert_eq!(
            "2:5".parse::<NodeId>().unwrap(),
            NodeId { layer: 2, group: 5 }
        );
        assert_eq!(NodeId { layer: 0, group: 3 }.to_string(), "0:3");
        for bad in ["", "1", "1:", ":2", "1:2:3", "a:b", "-1:0"] {
            let e = bad.parse::<NodeId>().unwrap_err().to_string();
            assert!(e.contains("is not an aggregation step"), "{bad}: {e}");
        }
    }
}
