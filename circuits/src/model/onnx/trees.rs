//! `TreeEnsembleRegressor` and `TreeEnsembleClassifier` (ai.onnx.ml): the decision-tree
//! ensembles scikit-learn, XGBoost and LightGBM models are exported as (random forests,
//! gradient boosting), lowered the way hummingbird's GEMM strategy runs trees, to ops the
//! circuit has (a classifier's label and scores come after, from `y`):
//!
//! ```text
//! g = x[feature of each comparison]         copies (no rows), every tree at once
//! c = step(±(threshold − g))                one affine map and one lookup per kind of step
//!                                           (≥ 0 or > 0): the branch taken (x = t and x ≠ t
//!                                           are two steps each, summed where c is used)
//! e_t = c_t · P_t − D_t                     per tree, a dense layer: P[i, j] = +1 where path j
//!                                           (to a leaf; a leaf under shared subtrees has
//!                                           several) takes branch i's true side, −1 its false
//!                                           side; D[j] = its true turns, so e = 0 only on it
//! y = isZero(e) · W + base                  one IsZero lookup, one dense layer of leaf values
//!                                           (trees of a single leaf: in `base`)
//! ```
//!
//! Exact on the quantized input: a branch compares the fixed-point feature with the
//! fixed-point threshold (a feature within one quantization step of a threshold may branch
//! the other way; compile's accuracy check on the calibration data sees it).

use super::ml::{
    attr_floats, attr_strings, int_labels, label_and_scores, post_transform, synthetic,
};
use super::{attr_int, attr_ints, attr_string, invalid, node_name, unsupported, Importer};
use crate::error::Result;
use crate::model::{Activation, FloatOp, TensorId};
use std::collections::HashMap;
use tract_onnx::pb::NodeProto;

/// Each id's place in `ids`.
fn positions(ids: &[i64]) -> HashMap<i64, usize> {
    ids.iter().enumerate().map(|(i, id)| (*id, i)).collect()
}

/// The step a comparison ends in: `x ≥ 0` or `x > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StepKind {
    Inclusive = 0,
    Strict = 1,
}

impl StepKind {
    fn activation(self) -> Activation {
        match self {
            Self::Inclusive => Activation::StepInclusive,
            Self::Strict => Activation::Step,
        }
    }
}

/// A branch node's mode (`BRANCH_LEQ`, …): the branch is true where its comparison holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparison {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
}

impl Comparison {
    fn of(mode: &str) -> Option<Self> {
        Some(match mode {
            "BRANCH_LEQ" => Self::Leq,
            "BRANCH_LT" => Self::Lt,
            "BRANCH_GTE" => Self::Gte,
            "BRANCH_GT" => Self::Gt,
            "BRANCH_EQ" => Self::Eq,
            "BRANCH_NEQ" => Self::Neq,
            _ => return None,
        })
    }

    /// The steps of `sign·(x − t)` whose sum plus [`Self::offset`] is the branch's
    /// indicator: `x ≤ t` is `t − x ≥ 0`, `x < t` is `t − x > 0`, `x ≥ t` is `x − t ≥ 0`,
    /// `x > t` is `x − t > 0`; `x = t` holds where `x − t ≥ 0` and `t − x ≥ 0` both do (one of
    /// them always does: their sum less one); `x ≠ t` where `x − t > 0` or `t − x > 0` (never
    /// both).
    fn steps(self) -> &'static [(StepKind, f64)] {
        use StepKind::{Inclusive, Strict};
        match self {
            Self::Leq => &[(Inclusive, -1.0)],
            Self::Lt => &[(Strict, -1.0)],
            Self::Gte => &[(Inclusive, 1.0)],
            Self::Gt => &[(Strict, 1.0)],
            Self::Eq => &[(Inclusive, 1.0), (Inclusive, -1.0)],
            Self::Neq => &[(Strict, 1.0), (Strict, -1.0)],
        }
    }

    /// See [`Self::steps`].
    fn offset(self) -> f32 {
        if self == Self::Eq {
            -1.0
        } else {
            0.0
        }
    }
}

/// The branches on a path from a tree's root, with the side taken (+1 true, −1 false).
type Path = Vec<(usize, i8)>;

/// One tree: its branch nodes (feature, threshold, true and false child) and leaves, by the
/// node ids of the ensemble's attributes.
#[derive(Default)]
struct Tree {
    branches: Vec<(usize, f64, i64, i64)>,
    modes: Vec<Comparison>,
    branch_ids: Vec<i64>,
    leaf_ids: Vec<i64>,
}

impl Tree {
    /// For each leaf, the branches on its path with the side taken (+1 true, −1 false).
    /// Every path from the root to a leaf, ordered by leaf: `(leaf, branches on it with the
    /// side taken)`. A leaf has more than one where subtrees are shared (onnxmltools writes a
    /// LightGBM categorical split as a chain of `x = c` nodes whose true sides meet).
    fn paths(&self, node: &NodeProto) -> Result<Vec<(usize, Path)>> {
        let (branch_at, leaf_at) = (positions(&self.branch_ids), positions(&self.leaf_ids));
        let children: std::collections::HashSet<i64> =
            self.branches.iter().flat_map(|b| [b.2, b.3]).collect();
        let roots: Vec<i64> = (self.branch_ids.iter().chain(&self.leaf_ids))
            .copied()
            .filter(|id| !children.contains(id))
            .collect();
        let [root] = roots[..] else {
            return Err(invalid(node, format!("a tree has {} roots", roots.len())));
        };
        let mut paths = Vec::new();
        let mut stack = vec![(root, Vec::new())];
        while let Some((id, path)) = stack.pop() {
            if let Some(&leaf) = leaf_at.get(&id) {
                if paths.len() == MAX_PATHS {
                    return Err(unsupported(
                        node,
                        &format!("a tree of more than {MAX_PATHS} paths (shared subtrees)"),
                    ));
                }
                paths.push((leaf, path));
            } else if let Some(&b) = branch_at.get(&id) {
                if path.len() > self.branches.len() {
                    return Err(invalid(node, "a tree has a cycle".into()));
                }
                let (_, _, yes, no) = self.branches[b];
                let mut t = path.clone();
                t.push((b, 1));
                let mut f = path;
                f.push((b, -1));
                stack.push((yes, t));
                stack.push((no, f));
            } else {
                return Err(invalid(
                    node,
                    format!("a tree names node {id}, which it lacks"),
                ));
            }
        }
        paths.sort_by_key(|(leaf, _)| *leaf);
        let mut reached = vec![false; self.leaf_ids.len()];
        for (leaf, _) in &paths {
            reached[*leaf] = true;
        }
        if reached.contains(&false) {
            return Err(invalid(node, "a tree has an unreachable leaf".into()));
        }
        Ok(paths)
    }
}

/// Root-to-leaf paths one tree may have (each is a column of the leaf layer).
const MAX_PATHS: usize = 1 << 12;

impl Importer {
    /// `TreeEnsembleRegressor` of a `[N, F]` input (see the module documentation).
    pub(super) fn tree_ensemble(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let aggregate = attr_string(node, "aggregate_function").unwrap_or_else(|| "SUM".into());
        let post = attr_string(node, "post_transform").unwrap_or_else(|| "NONE".into());
        if !matches!(aggregate.as_str(), "SUM" | "AVERAGE") {
            return Err(unsupported(
                node,
                &format!("aggregate_function {aggregate}"),
            ));
        }
        if !matches!(post.as_str(), "NONE" | "LOGISTIC") {
            return Err(unsupported(node, &format!("post_transform {post}")));
        }
        let targets = usize::try_from(attr_int(node, "n_targets").unwrap_or(1))
            .ok()
            .filter(|t| *t >= 1)
            .ok_or_else(|| invalid(node, "n_targets is not positive".into()))?;
        let leaves = self.leaf_layer(node, "target", targets, aggregate == "AVERAGE")?;
        let n = self.graph.tensors[leaves.reached].shape[0];
        let dense = |output| leaves.dense(name.clone(), output);
        if post == "NONE" {
            return self.push(node, vec![n, targets], dense);
        }
        let score = self.step(node, "score", vec![n, targets], dense)?;
        self.push(node, vec![n, targets], |output| FloatOp::Activation {
            node: name.clone(),
            act: Activation::Sigmoid,
            input: score,
            output,
        })
    }

    /// `TreeEnsembleClassifier` of a `[N, F]` input into its label (the class of the highest
    /// score, any integer labels) and its scores (`post_transform` `NONE`, `LOGISTIC` or
    /// `SOFTMAX`); the binary case that scores one class only is [`Self::binary_classifier`]
    /// (labels 0 and 1). String labels are refused by name.
    pub(super) fn tree_classifier(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let labels = int_labels(node, "classlabels_int64s")?;
        let classes = labels.len();
        let ids = attr_ints(node, "class_ids").unwrap_or_default();
        let post = attr_string(node, "post_transform").unwrap_or_else(|| "NONE".into());
        if classes == 2 && ids.windows(2).all(|w| w[0] == w[1]) {
            if labels != [0, 1] {
                return Err(unsupported(node, "binary labels other than 0 and 1"));
            }
            return self.binary_classifier(node, name, &ids, &post);
        }
        let post = post_transform(node)?;
        let (label_name, scores_name) = label_and_scores(node)?;
        let leaves = self.leaf_layer(node, "class", classes, false)?;
        let n = self.graph.tensors[leaves.reached].shape[0];
        let raw = self.step(node, "scores", vec![n, classes], |output| {
            leaves.dense(name.clone(), output)
        })?;
        // The label: the first highest score (a monotone post_transform keeps the order).
        self.class_label(node, &name, raw, &labels, label_name)?;
        self.post_transform(name, raw, post, scores_name)
    }

    /// The binary `TreeEnsembleClassifier` that scores one class only (`ids` all 0, as
    /// scikit-learn exports binary forests and boosting, or all 1), `s` the trees' sum, as
    /// onnxruntime runs it (measured op by op; the corpus model `tree_classifier_binary`
    /// holds its outputs): the label is `s > 0.5` when every weight is non-negative, else
    /// `s > 0`. Class 0 scored: `s` includes the one base value, and the scores are
    /// `[1 − s, s]` (non-negative weights) or `[−s, s]` without post_transform,
    /// `[1 − σ(s), σ(s)]` with `LOGISTIC`. Class 1 scored: the scores are the post_transform
    /// of `[0, s]` (base values refused: onnxruntime ignores them there).
    fn binary_classifier(
        &mut self,
        node: &NodeProto,
        name: String,
        ids: &[i64],
        post: &str,
    ) -> Result<()> {
        if post != "NONE" && post != "LOGISTIC" {
            return Err(unsupported(
                node,
                &format!("post_transform {post} in the binary case"),
            ));
        }
        let positive = attr_floats(node, "class_weights").iter().all(|w| *w >= 0.0);
        let threshold = if positive { 0.5 } else { 0.0 };
        let scored = match ids.first() {
            Some(0) => 0,
            Some(1) if attr_floats(node, "base_values").is_empty() => 1,
            Some(1) => return Err(unsupported(node, "base_values with class 1 scored")),
            _ => return Err(unsupported(node, "a binary case with no class scored")),
        };
        let (label_name, scores_name) = label_and_scores(node)?;
        // Class 0 scored: one column, s (+ base). Class 1: two, [0, s].
        let columns = 1 + scored;
        let leaves = self.leaf_layer(node, "class", columns, false)?;
        let n = self.graph.tensors[leaves.reached].shape[0];
        let raw = self.step(node, "scores", vec![n, columns], |output| {
            leaves.dense(name.clone(), output)
        })?;
        let mut select = vec![0.0; columns];
        select[scored] = 1.0;
        let margin = self.step(node, "margin", vec![n, 1], |output| FloatOp::Dense {
            node: name.clone(),
            input: raw,
            output,
            n_in: columns,
            n_out: 1,
            weight: select,
            bias: vec![-threshold],
        })?;
        let above = self.lookup(node, margin, Activation::Step, "above")?;
        let named = |output: &str| synthetic("", &name, &[], output, vec![]);
        self.push(&named(label_name), vec![n], |output| FloatOp::Reshape {
            node: name.clone(),
            input: above,
            output,
        })?;
        let p = if post == "LOGISTIC" {
            self.lookup(node, raw, Activation::Sigmoid, "probability")?
        } else {
            raw
        };
        let scores = named(scores_name);
        if scored == 1 {
            return self.push(&scores, vec![n, 2], |output| FloatOp::Reshape {
                node: name,
                input: p,
                output,
            });
        }
        // [1 − p, p], or [−p, p] for a margin.
        let complement = if post == "LOGISTIC" || positive {
            1.0
        } else {
            0.0
        };
        self.push(&scores, vec![n, 2], |output| FloatOp::Dense {
            node: name,
            input: p,
            output,
            n_in: 1,
            n_out: 2,
            weight: vec![-1.0, 1.0],
            bias: vec![complement, 0.0],
        })
    }

    /// The trees of `node` up to their leaf layer: which leaf each row reaches, and the
    /// leaves' values for `columns` outputs, from the `{prefix}_treeids`, `_nodeids`, `_ids`
    /// and `_weights` attributes (averaged over the trees when `average`) and `base_values`.
    fn leaf_layer(
        &mut self,
        node: &NodeProto,
        prefix: &str,
        targets: usize,
        average: bool,
    ) -> Result<LeafLayer> {
        for tensor_form in [
            "nodes_values_as_tensor",
            "target_weights_as_tensor",
            "class_weights_as_tensor",
        ] {
            if node.attribute.iter().any(|a| a.name == tensor_form) {
                return Err(unsupported(node, &format!("{tensor_form} (doubles)")));
            }
        }
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let [n, features] = shape[..] else {
            return Err(invalid(
                node,
                format!("input {shape:?} is not [N, features]"),
            ));
        };

        // The trees, in the order of their ids.
        let tree_ids = attr_ints(node, "nodes_treeids").unwrap_or_default();
        let node_ids = attr_ints(node, "nodes_nodeids").unwrap_or_default();
        let feature_ids = attr_ints(node, "nodes_featureids").unwrap_or_default();
        let values = attr_floats(node, "nodes_values");
        let modes = attr_strings(node, "nodes_modes");
        let (yes, no) = (
            attr_ints(node, "nodes_truenodeids").unwrap_or_default(),
            attr_ints(node, "nodes_falsenodeids").unwrap_or_default(),
        );
        let count = tree_ids.len();
        if count == 0
            || [
                node_ids.len(),
                feature_ids.len(),
                modes.len(),
                yes.len(),
                no.len(),
                values.len(),
            ]
            .iter()
            .any(|l| *l != count)
        {
            return Err(invalid(
                node,
                "its nodes_* attributes differ in length".into(),
            ));
        }
        // Each branch's comparison: see `Comparison::steps`.
        for mode in modes.iter().filter(|m| *m != "LEAF") {
            if Comparison::of(mode).is_none() {
                return Err(unsupported(node, &format!("branch mode {mode}")));
            }
        }
        let mut trees: std::collections::BTreeMap<i64, Tree> = Default::default();
        for i in 0..count {
            let tree = trees.entry(tree_ids[i]).or_default();
            if modes[i] == "LEAF" {
                tree.leaf_ids.push(node_ids[i]);
                continue;
            }
            let feature = usize::try_from(feature_ids[i])
                .ok()
                .filter(|f| *f < features)
                .ok_or_else(|| {
                    invalid(node, format!("feature {} of {features}", feature_ids[i]))
                })?;
            let threshold = f64::from(values[i]);
            let mode = Comparison::of(&modes[i]).expect("checked above");
            tree.branches.push((feature, threshold, yes[i], no[i]));
            tree.modes.push(mode);
            tree.branch_ids.push(node_ids[i]);
        }

        // Leaf values: {prefix}_* name (tree, leaf node, target, weight).
        let (t_trees, t_nodes, t_ids, t_weights) = (
            attr_ints(node, &format!("{prefix}_treeids")).unwrap_or_default(),
            attr_ints(node, &format!("{prefix}_nodeids")).unwrap_or_default(),
            attr_ints(node, &format!("{prefix}_ids")).unwrap_or_default(),
            attr_floats(node, &format!("{prefix}_weights")),
        );
        if [t_nodes.len(), t_ids.len(), t_weights.len()]
            .iter()
            .any(|l| *l != t_trees.len())
        {
            return Err(invalid(
                node,
                format!("its {prefix}_* attributes differ in length"),
            ));
        }
        // Every leaf of every tree that branches, in order: its columns in the leaf layer, one
        // per path that reaches it (shared subtrees give a leaf several). A tree that is a
        // single leaf (XGBoost writes them for classes a round does not split) always gives
        // its value: it joins the bias.
        let mut leaf_columns: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        let mut tree_paths = Vec::new();
        let mut leaves = 0;
        for (t, tree) in trees.iter().filter(|(_, t)| !t.branches.is_empty()) {
            let paths = tree.paths(node)?;
            for (leaf, _) in &paths {
                leaf_columns
                    .entry((*t, tree.leaf_ids[*leaf]))
                    .or_default()
                    .push(leaves);
                leaves += 1;
            }
            tree_paths.push(paths);
        }
        let mut constant = vec![0.0f64; targets];
        let scale = if average {
            1.0 / trees.len() as f64
        } else {
            1.0
        };
        let mut leaf_weight = vec![0.0f32; leaves * targets];
        for i in 0..t_trees.len() {
            let target = usize::try_from(t_ids[i])
                .ok()
                .filter(|t| *t < targets)
                .ok_or_else(|| invalid(node, format!("target {} of {targets}", t_ids[i])))?;
            let single = trees
                .get(&t_trees[i])
                .is_some_and(|t| t.branches.is_empty() && t.leaf_ids.contains(&t_nodes[i]));
            if single {
                constant[target] += f64::from(t_weights[i]) * scale;
                continue;
            }
            let columns = leaf_columns.get(&(t_trees[i], t_nodes[i])).ok_or_else(|| {
                invalid(
                    node,
                    format!(
                        "{prefix}_nodeids names node {} of tree {}, not a leaf",
                        t_nodes[i], t_trees[i]
                    ),
                )
            })?;
            for column in columns {
                leaf_weight[column * targets + target] += (f64::from(t_weights[i]) * scale) as f32;
            }
        }
        let base = attr_floats(node, "base_values");
        if !base.is_empty() && base.len() != targets {
            return Err(invalid(
                node,
                format!("{} base_values for {targets} targets", base.len()),
            ));
        }
        let bias: Vec<f32> = if base.is_empty() {
            vec![0.0; targets]
        } else {
            base
        }
        .iter()
        .zip(&constant)
        .map(|(b, c)| (f64::from(*b) + c) as f32)
        .collect();

        // Every branch's comparisons, every tree at once: each a step of a signed margin (one
        // lookup per kind of step); a branch is one comparison, or two summed (less one for
        // x = t).
        let mut steps: [Vec<(usize, f64, f64)>; 2] = [Vec::new(), Vec::new()];
        let mut uses: Vec<Vec<(StepKind, usize)>> = Vec::new();
        for tree in trees.values() {
            for (b, mode) in tree.branches.iter().zip(&tree.modes) {
                uses.push(
                    mode.steps()
                        .iter()
                        .map(|&(kind, sign)| {
                            let list = &mut steps[kind as usize];
                            list.push((b.0, b.1, sign));
                            (kind, list.len() - 1)
                        })
                        .collect(),
                );
            }
        }
        if uses.is_empty() {
            return Err(unsupported(node, "trees that are single leaves"));
        }
        let mut groups = Vec::new();
        for kind in [StepKind::Inclusive, StepKind::Strict] {
            let list = &steps[kind as usize];
            if list.is_empty() {
                continue;
            }
            // The first kind's tensors keep the names a one-mode ensemble has always had.
            let tag = if groups.is_empty() { "" } else { "_strict" };
            let m = list.len();
            let map = (0..n)
                .flat_map(|r| {
                    list.iter()
                        .map(move |(f, _, _)| Some((0, (r * features + f) as u32)))
                })
                .collect();
            let gathered =
                self.copies(node, &format!("features{tag}"), vec![n, m], vec![x], map)?;
            let signed = self.step(node, &format!("margin{tag}"), vec![n, m], |output| {
                FloatOp::Affine {
                    node: node_name(node),
                    input: gathered,
                    output,
                    scale: (0..n)
                        .flat_map(|_| list.iter().map(|s| s.2 as f32))
                        .collect(),
                    shift: (0..n)
                        .flat_map(|_| list.iter().map(|(_, t, sign)| (-sign * t) as f32))
                        .collect(),
                }
            })?;
            let taken = self.lookup(node, signed, kind.activation(), &format!("branch{tag}"))?;
            groups.push((kind, taken, m));
        }
        // Column of each comparison in `taken` (the groups side by side).
        let column = |(kind, j): (StepKind, usize)| -> usize {
            let before: usize = groups.iter().take_while(|g| g.0 != kind).map(|g| g.2).sum();
            before + j
        };
        let m: usize = groups.iter().map(|g| g.2).sum();
        let taken = if let [(_, only, _)] = groups[..] {
            only
        } else {
            let inputs: Vec<_> = groups.iter().map(|g| g.1).collect();
            let map = (0..n)
                .flat_map(|r| {
                    groups.iter().enumerate().flat_map(move |(k, (_, _, mk))| {
                        (0..*mk).map(move |j| Some((k as u32, (r * mk + j) as u32)))
                    })
                })
                .collect();
            self.copies(node, "comparisons", vec![n, m], inputs, map)?
        };

        // Per tree, how far each leaf's path is from the branches taken (0: on it).
        let mut distances = Vec::with_capacity(trees.len());
        let mut first = 0;
        let branched = trees.values().filter(|t| !t.branches.is_empty());
        for (t, (tree, paths)) in branched.zip(&tree_paths).enumerate() {
            let lt = paths.len();
            let own_uses = &uses[first..first + tree.branches.len()];
            first += tree.branches.len();
            // The tree's comparisons, in the order its branches use them.
            let cols: Vec<usize> = own_uses.iter().flatten().map(|&u| column(u)).collect();
            let mt = cols.len();
            let mut weight = vec![0.0f32; mt * lt];
            let mut bias = vec![0.0f32; lt];
            for (leaf, (_, path)) in paths.iter().enumerate() {
                for &(b, side) in path {
                    // Branch b's indicator: the sum of its steps plus its offset.
                    let at: usize = own_uses[..b].iter().map(Vec::len).sum();
                    for c in at..at + own_uses[b].len() {
                        weight[c * lt + leaf] += f32::from(side);
                    }
                    bias[leaf] += f32::from(side) * tree.modes[b].offset();
                    if side > 0 {
                        bias[leaf] -= 1.0;
                    }
                }
            }
            let own = if cols.iter().copied().eq(0..m) {
                taken
            } else {
                let map = (0..n)
                    .flat_map(|r| cols.iter().map(move |c| Some((0, (r * m + c) as u32))))
                    .collect();
                self.copies(
                    node,
                    &format!("tree{t}/branches"),
                    vec![n, mt],
                    vec![taken],
                    map,
                )?
            };
            let distance =
                self.step(node, &format!("tree{t}/distance"), vec![n, lt], |output| {
                    FloatOp::Dense {
                        node: node_name(node),
                        input: own,
                        output,
                        n_in: mt,
                        n_out: lt,
                        weight,
                        bias,
                    }
                })?;
            distances.push((distance, lt));
        }
        let all = if let [(only, _)] = distances[..] {
            only
        } else {
            let inputs: Vec<_> = distances.iter().map(|(d, _)| *d).collect();
            let map = (0..n)
                .flat_map(|r| {
                    distances.iter().enumerate().flat_map(move |(k, (_, lt))| {
                        (0..*lt).map(move |j| Some((k as u32, (r * lt + j) as u32)))
                    })
                })
                .collect();
            self.copies(node, "distances", vec![n, leaves], inputs, map)?
        };
        let reached = self.lookup(node, all, Activation::IsZero, "leaf")?;
        Ok(LeafLayer {
            reached,
            leaves,
            targets,
            weight: leaf_weight,
            bias,
        })
    }
}

/// The last layer of a tree ensemble: which leaf each row reached (one-hot over every tree's
/// leaves) and the leaves' values.
struct LeafLayer {
    reached: TensorId,
    leaves: usize,
    targets: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl LeafLayer {
    /// The dense layer of leaf values into `output`.
    fn dense(self, node: String, output: TensorId) -> FloatOp {
        FloatOp::Dense {
            node,
            input: self.reached,
            output,
            n_in: self.leaves,
            n_out: self.targets,
            weight: self.weight,
            bias: self.bias,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Comparison, StepKind, Tree};
    use tract_onnx::pb::NodeProto;

    fn node() -> NodeProto {
        NodeProto {
            op_type: "TreeEnsembleRegressor".into(),
            output: vec!["y".into()],
            ..Default::default()
        }
    }

    /// Branch 0 (id 0) → true: branch 1 (id 1), false: leaf id 2; branch 1 → leaves 3, 4.
    fn tree() -> Tree {
        Tree {
            branches: vec![(0, 0.5, 1, 2), (1, 0.25, 3, 4)],
            modes: vec![Comparison::Leq; 2],
            branch_ids: vec![0, 1],
            leaf_ids: vec![2, 3, 4],
        }
    }

    #[test]
    fn every_mode_is_its_steps_summed_plus_its_offset() {
        for (mode, holds) in [
            ("BRANCH_LEQ", (|x, t| x <= t) as fn(i32, i32) -> bool),
            ("BRANCH_LT", |x, t| x < t),
            ("BRANCH_GTE", |x, t| x >= t),
            ("BRANCH_GT", |x, t| x > t),
            ("BRANCH_EQ", |x, t| x == t),
            ("BRANCH_NEQ", |x, t| x != t),
        ] {
            let c = Comparison::of(mode).unwrap();
            for (x, t) in (-2..=2).flat_map(|x| (-2..=2).map(move |t| (x, t))) {
                let sum: f32 = c
                    .steps()
                    .iter()
                    .map(|&(kind, sign)| {
                        let margin = sign * f64::from(x - t);
                        let on = match kind {
                            StepKind::Inclusive => margin >= 0.0,
                            StepKind::Strict => margin > 0.0,
                        };
                        f32::from(u8::from(on))
                    })
                    .sum();
                assert_eq!(
                    sum + c.offset(),
                    f32::from(u8::from(holds(x, t))),
                    "{mode} {x} {t}"
                );
            }
        }
        assert_eq!(Comparison::of("BRANCH_MEMBER"), None);
    }

    #[test]
    fn each_leaf_gets_the_branches_and_sides_on_its_path() {
        let paths = tree().paths(&node()).unwrap();
        assert_eq!(
            paths,
            vec![
                (0, vec![(0, -1)]),
                (1, vec![(0, 1), (1, 1)]),
                (2, vec![(0, 1), (1, -1)])
            ]
        );
        // Branch 1's false side is leaf 2 too (a shared leaf, as onnxmltools writes a
        // categorical split): leaf id 2 has two paths.
        let mut shared = tree();
        shared.branches[1].3 = 2;
        shared.leaf_ids.retain(|id| *id != 4);
        assert_eq!(
            shared.paths(&node()).unwrap(),
            vec![
                (0, vec![(0, -1)]),
                (0, vec![(0, 1), (1, -1)]),
                (1, vec![(0, 1), (1, 1)])
            ]
        );
    }

    #[test]
    fn malformed_trees_are_refused_by_name() {
        let err = |t: Tree| t.paths(&node()).unwrap_err().to_string();
        let mut missing = tree();
        missing.branches[1].3 = 9;
        missing.leaf_ids.retain(|id| *id != 4);
        assert!(err(missing).contains("names node 9, which it lacks"));
        let mut two_roots = tree();
        two_roots.leaf_ids.push(7);
        assert!(err(two_roots).contains("a tree has 2 roots"));
        let mut cycle = tree();
        cycle.branches[1].2 = 1;
        cycle.leaf_ids.retain(|id| *id != 3);
        assert!(err(cycle).contains("a tree has a cycle"));
    }
}
