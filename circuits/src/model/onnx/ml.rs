//! The linear models and preprocessing of ai.onnx.ml, as scikit-learn pipelines are exported
//! (skl2onnx's defaults: `StandardScaler` → `LogisticRegression` is `Scaler`,
//! `LinearClassifier`, `Normalizer` and `ZipMap`), lowered to ops the circuit has:
//!
//! ```text
//! Scaler            (x − offset)·scale per feature     one affine map (folded into the next
//!                                                      dense layer where one follows)
//! Normalizer        x / ‖x‖₁ or x / ‖x‖₂ per row       as LpNormalization (MAX refused)
//! LinearRegressor   x·Wᵀ + b, then NONE, LOGISTIC      one dense layer, a Sigmoid lookup or
//!                   or SOFTMAX                         a softmax
//! LinearClassifier  scores as the regressor; label     an ArgMax (+ an affine map, or a
//!                   labels[first highest score]        Hardmax and a dense layer, for labels
//!                                                      that are not evenly spaced)
//! ZipMap            the scores, [N, C], in class order no rows (the maps' keys are the labels)
//! ArrayFeatureExtractor  x[..., indices]               as Gather along the last axis
//! ```
//!
//! Each op's semantics are onnxruntime's, measured (the corpus model `sklearn_linear` holds its
//! outputs): a one-row binary `LinearClassifier` labels `s > 0` and scores `[1 − s, s]`
//! (`[1 − σ(s), σ(s)]` with LOGISTIC; SOFTMAX leaves one score as it is there).

use super::{attr_int, attr_ints, attr_string, invalid, unsupported, Const, Importer, Operand};
use crate::error::Result;
use crate::model::{Activation, FloatOp, TensorId};
use tract_onnx::pb::{
    attribute_proto::AttributeType, tensor_proto::DataType, AttributeProto, NodeProto,
};

/// A float-list attribute (empty when absent).
pub(super) fn attr_floats(node: &NodeProto, name: &str) -> Vec<f32> {
    (node.attribute.iter().find(|a| a.name == name)).map_or_else(Vec::new, |a| a.floats.clone())
}

/// A string-list attribute (empty when absent).
pub(super) fn attr_strings(node: &NodeProto, name: &str) -> Vec<String> {
    (node.attribute.iter().find(|a| a.name == name)).map_or_else(Vec::new, |a| {
        a.strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    })
}

/// An integer attribute, for a synthetic node.
pub(super) fn int_attr(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

/// A node the importer makes to reuse an op's import (`name` the original node's, one
/// `output`).
pub(super) fn synthetic(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|i| (*i).to_owned()).collect(),
        output: vec![output.to_owned()],
        attribute,
        ..Default::default()
    }
}

/// The integer class labels of a classifier (`classlabels_ints`, or `classlabels_int64s` for
/// trees); string labels are refused by name (a tensor of strings has no field encoding).
pub(super) fn int_labels(node: &NodeProto, attribute: &str) -> Result<Vec<i64>> {
    let strings = attribute
        .replace("int64s", "strings")
        .replace("ints", "strings");
    match attr_ints(node, attribute) {
        Some(labels) if !labels.is_empty() => Ok(labels),
        _ if !attr_strings(node, &strings).is_empty() => Err(unsupported(
            node,
            &format!("string class labels ({strings}; train on integer labels)"),
        )),
        _ => Err(invalid(node, format!("no class labels ({attribute})"))),
    }
}

/// A classifier's two outputs: the label's name and the scores'.
pub(super) fn label_and_scores(node: &NodeProto) -> Result<(&str, &str)> {
    match &node.output[..] {
        [label, scores] => Ok((label, scores)),
        _ => Err(invalid(
            node,
            "it needs its two outputs, label and scores".into(),
        )),
    }
}

/// A `post_transform` the dense ops here apply to their scores.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Post {
    None,
    Logistic,
    Softmax,
}

/// A node's `post_transform`: NONE, LOGISTIC or SOFTMAX (others refused by name).
pub(super) fn post_transform(node: &NodeProto) -> Result<Post> {
    match attr_string(node, "post_transform").as_deref() {
        None | Some("NONE") => Ok(Post::None),
        Some("LOGISTIC") => Ok(Post::Logistic),
        Some("SOFTMAX") => Ok(Post::Softmax),
        Some(other) => Err(unsupported(node, &format!("post_transform {other}"))),
    }
}

impl Importer {
    /// A float constant named `name`, made for the synthetic nodes that read it; returns the
    /// name.
    pub(super) fn synthetic_constant(
        &mut self,
        name: &str,
        shape: Vec<usize>,
        data: Vec<f64>,
    ) -> String {
        let value = Const {
            shape,
            data,
            integer: false,
        };
        self.consts.insert(name.to_owned(), value);
        self.record_proto_type(name, DataType::Float as i32);
        name.to_owned()
    }

    /// `Scaler`: `(x − offset)·scale` along the last axis, `offset` and `scale` of length 1 or
    /// the number of features.
    pub(super) fn scaler(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let features = *shape
            .last()
            .ok_or_else(|| invalid(node, "a scalar input".into()))?;
        let per_feature = |what: &str, default: f32| -> Result<Vec<f32>> {
            match attr_floats(node, what) {
                v if v.is_empty() => Ok(vec![default; features]),
                v if v.len() == 1 => Ok(vec![v[0]; features]),
                v if v.len() == features => Ok(v),
                v => Err(invalid(
                    node,
                    format!("{what} has {} values for {features} features", v.len()),
                )),
            }
        };
        let (offset, scale) = (per_feature("offset", 0.0)?, per_feature("scale", 1.0)?);
        let numel: usize = shape.iter().product();
        let (scale, shift) = (0..numel)
            .map(|i| {
                let f = i % features;
                (scale[f], -offset[f] * scale[f])
            })
            .unzip();
        self.push(node, shape, |output| FloatOp::Affine {
            node: name,
            input: x,
            output,
            scale,
            shift,
        })
    }

    /// `Normalizer` along the last axis: `L1` and `L2` as `LpNormalization` (onnxruntime's
    /// `MAX` divides by the row's largest value, of either sign: refused).
    pub(super) fn normalizer(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let p = match attr_string(node, "norm").as_deref() {
            Some("L1") => 1,
            Some("L2") => 2,
            Some(other) => {
                return Err(unsupported(node, &format!("norm {other} (only L1 and L2)")))
            }
            None => return Err(invalid(node, "no norm".into())),
        };
        let input = node.input.first().map_or("", String::as_str);
        let lp = synthetic(
            "LpNormalization",
            &name,
            &[input],
            self.output_name(node)?,
            vec![int_attr("axis", -1), int_attr("p", p)],
        );
        self.lp_normalization(&lp, name)
    }

    /// `LabelEncoder` of numbers (int64 or float keys and values; strings are refused): `y =
    /// default + Σ_k (v_k − default)·[x = k]`, each element compared with every key at once (one
    /// copy of `x` per key, less the key, one IsZero lookup), then one dense layer of the
    /// values. An isolation forest maps its trees' leaf ids to sample counts and depths this way.
    pub(super) fn label_encoder(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let numbers = |kind: &str| -> Result<Option<Vec<f64>>> {
            if let Some(t) = node
                .attribute
                .iter()
                .find(|a| a.name == format!("{kind}_tensor"))
                .and_then(|a| a.t.as_ref())
            {
                if t.data_type == tract_onnx::pb::tensor_proto::DataType::String as i32 {
                    return Err(unsupported(node, &format!("{kind}_tensor of strings")));
                }
                return super::tensor_from_proto(t, &node.name).map(|c| Some(c.data));
            }
            if let Some(v) = attr_ints(node, &format!("{kind}_int64s")) {
                return Ok(Some(v.iter().map(|v| *v as f64).collect()));
            }
            let floats = attr_floats(node, &format!("{kind}_floats"));
            if !floats.is_empty() {
                return Ok(Some(floats.iter().map(|v| f64::from(*v)).collect()));
            }
            if !attr_strings(node, &format!("{kind}_strings")).is_empty() {
                return Err(unsupported(node, &format!("{kind}_strings")));
            }
            Ok(None)
        };
        let keys = numbers("keys")?.ok_or_else(|| invalid(node, "no keys".into()))?;
        let values = numbers("values")?.ok_or_else(|| invalid(node, "no values".into()))?;
        if keys.len() != values.len() || keys.is_empty() {
            return Err(invalid(
                node,
                format!("{} keys for {} values", keys.len(), values.len()),
            ));
        }
        let tensor_default = node
            .attribute
            .iter()
            .find(|a| a.name == "default_tensor")
            .and_then(|a| a.t.as_ref())
            .and_then(|t| super::tensor_from_proto(t, &node.name).ok())
            .and_then(|c| c.data.first().copied());
        let default = tensor_default
            .or_else(|| {
                node.attribute
                    .iter()
                    .any(|a| a.name == "values_int64s")
                    .then(|| attr_int(node, "default_int64").unwrap_or(-1) as f64)
            })
            .unwrap_or_else(|| super::attr_float(node, "default_float").unwrap_or(0.0));
        let shape = self.graph.tensors[x].shape.clone();
        let k = keys.len();
        let hits = self.equal_hits(node, &name, x, &keys)?;
        let mut one = shape.clone();
        one.push(1);
        let nm = name.clone();
        let mapped = self.step(node, "mapped", one, |output| FloatOp::Dense {
            node: nm,
            input: hits,
            output,
            n_in: k,
            n_out: 1,
            weight: values.iter().map(|v| (v - default) as f32).collect(),
            bias: vec![default as f32],
        })?;
        self.push(node, shape, |output| FloatOp::Reshape {
            node: name,
            input: mapped,
            output,
        })
    }

    /// For each element of `x` and each of `keys`, 1 where they are equal and 0 elsewhere, along
    /// a new last axis: one copy of `x` per key, less the key, one IsZero lookup.
    fn equal_hits(
        &mut self,
        node: &NodeProto,
        name: &str,
        x: TensorId,
        keys: &[f64],
    ) -> Result<TensorId> {
        let shape = self.graph.tensors[x].shape.clone();
        let n: usize = shape.iter().product();
        let k = keys.len();
        let mut wide = shape;
        wide.push(k);
        let map = (0..n * k).map(|e| Some((0, (e / k) as u32))).collect();
        let copies = self.copies(node, "per_key", wide.clone(), vec![x], map)?;
        let nm = name.to_owned();
        let diff = self.step(node, "less_key", wide, |output| FloatOp::AddConst {
            node: nm,
            input: copies,
            constant: (0..n)
                .flat_map(|_| keys.iter().map(|k| -*k as f32))
                .collect(),
            output,
        })?;
        self.lookup(node, diff, Activation::IsZero, "hits")
    }

    /// ai.onnx.ml `OneHotEncoder` of numeric categories (`cats_int64s`; strings refused): the
    /// output has one more axis, 1 where the element equals that category ([`Self::equal_hits`]).
    /// A value in no category encodes as zeros (onnxruntime's `zeros = 1`; with `zeros = 0` it
    /// fails at run time, which a circuit cannot: such a value encodes as zeros too).
    pub(super) fn one_hot_encoder(&mut self, node: &NodeProto, name: String) -> Result<()> {
        if !attr_strings(node, "cats_strings").is_empty() {
            return Err(unsupported(node, "cats_strings (string categories)"));
        }
        let cats: Vec<f64> = attr_ints(node, "cats_int64s")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| invalid(node, "no categories".into()))?
            .iter()
            .map(|c| *c as f64)
            .collect();
        let x = self.var(node, 0)?;
        let hits = self.equal_hits(node, &name, x, &cats)?;
        let shape = self.graph.tensors[hits].shape.clone();
        self.push(node, shape, |output| FloatOp::Reshape {
            node: name,
            input: hits,
            output,
        })
    }

    /// ai.onnx.ml `Binarizer`: 1 where `x > threshold`, else 0 (one Step lookup of `x − t`).
    pub(super) fn binarizer(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let t = super::attr_float(node, "threshold").unwrap_or(0.0);
        let shape = self.graph.tensors[x].shape.clone();
        let numel: usize = shape.iter().product();
        let nm = name.clone();
        let margin = self.step(node, "margin", shape.clone(), |output| FloatOp::AddConst {
            node: nm,
            input: x,
            constant: vec![-t as f32; numel],
            output,
        })?;
        self.push(node, shape, |output| FloatOp::Activation {
            node: name,
            act: Activation::Step,
            input: margin,
            output,
        })
    }

    /// ai.onnx.ml `Imputer`: each feature (last axis) equal to `replaced_value_float` becomes
    /// its `imputed_value_floats` (`x + [x = r]·(v − r)`, an IsZero lookup of `x − r`). The
    /// default replaced value is NaN, which no circuit input can be (an input file holding NaN
    /// is refused naming it: impute before proving), so there the Imputer is the identity.
    pub(super) fn imputer(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        if attr_ints(node, "imputed_value_int64s").is_some_and(|v| !v.is_empty()) {
            return Err(unsupported(node, "imputed_value_int64s (integer features)"));
        }
        let replaced = super::attr_float(node, "replaced_value_float").unwrap_or(f64::NAN);
        if replaced.is_nan() {
            return self.push(node, shape, |output| FloatOp::Reshape {
                node: name,
                input: x,
                output,
            });
        }
        let features = *shape.last().unwrap_or(&1);
        let values = match attr_floats(node, "imputed_value_floats") {
            v if v.len() == 1 => vec![v[0]; features],
            v if v.len() == features => v,
            v => {
                return Err(invalid(
                    node,
                    format!("{} imputed values for {features} features", v.len()),
                ))
            }
        };
        let numel: usize = shape.iter().product();
        let nm = name.clone();
        let margin = self.step(node, "margin", shape.clone(), |output| FloatOp::AddConst {
            node: nm,
            input: x,
            constant: vec![-replaced as f32; numel],
            output,
        })?;
        let hit = self.lookup(node, margin, Activation::IsZero, "missing")?;
        let nm = name.clone();
        let moved = self.step(node, "moved", shape.clone(), |output| FloatOp::Affine {
            node: nm,
            input: hit,
            output,
            scale: (0..numel)
                .map(|e| (f64::from(values[e % features]) - replaced) as f32)
                .collect(),
            shift: vec![0.0; numel],
        })?;
        self.push(node, shape, |output| FloatOp::Add {
            node: name,
            a: x,
            b: moved,
            output,
            sub: false,
        })
    }

    /// `LinearRegressor`: `x·Wᵀ + b` over the last axis (`targets` outputs), then its
    /// `post_transform`.
    pub(super) fn linear_regressor(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let targets = usize::try_from(attr_int(node, "targets").unwrap_or(1))
            .ok()
            .filter(|t| *t >= 1)
            .ok_or_else(|| invalid(node, "targets is not positive".into()))?;
        let post = post_transform(node)?;
        let raw = self.linear_scores(node, targets)?;
        let output = self.output_name(node)?.to_owned();
        self.post_transform(name, raw, post, &output)
    }

    /// `LinearClassifier`: one row of coefficients per class (the label is the class of the
    /// first highest score, the scores through `post_transform`), or one row for two classes
    /// (onnxruntime: the label is class 1 where the score `s > 0`, the scores `[1 − s, s]`,
    /// or `[1 − σ(s), σ(s)]` with LOGISTIC).
    pub(super) fn linear_classifier(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let labels = int_labels(node, "classlabels_ints")?;
        let rows = self.coefficient_rows(node)?;
        let post = attr_string(node, "post_transform");
        let (label_name, scores_name) = label_and_scores(node)?;
        if rows == 1 && labels.len() == 2 {
            if post.as_deref() == Some("PROBIT") {
                return Err(unsupported(node, "post_transform PROBIT"));
            }
            return self.one_row_binary(node, name, &labels, post.as_deref() == Some("LOGISTIC"));
        }
        if rows != labels.len() {
            return Err(invalid(
                node,
                format!("{rows} rows of coefficients for {} classes", labels.len()),
            ));
        }
        let post = post_transform(node)?;
        let raw = self.linear_scores(node, rows)?;
        self.class_label(node, &name, raw, &labels, label_name)?;
        self.post_transform(name, raw, post, scores_name)
    }

    /// The one-row binary `LinearClassifier` (see [`Self::linear_classifier`]).
    fn one_row_binary(
        &mut self,
        node: &NodeProto,
        name: String,
        labels: &[i64],
        logistic: bool,
    ) -> Result<()> {
        let (label_name, scores_name) = label_and_scores(node)?;
        let s = self.linear_scores(node, 1)?;
        let n = self.graph.tensors[s].shape[0];
        let above = self.lookup(node, s, Activation::Step, "above")?;
        let named = |output: &str| synthetic("", &name, &[], output, vec![]);
        let (l0, l1) = (labels[0] as f32, labels[1] as f32);
        self.push(&named(label_name), vec![n], |output| FloatOp::Affine {
            node: name.clone(),
            input: above,
            output,
            scale: vec![l1 - l0; n],
            shift: vec![l0; n],
        })?;
        let p = if logistic {
            self.lookup(node, s, Activation::Sigmoid, "probability")?
        } else {
            s
        };
        self.push(&named(scores_name), vec![n, 2], |output| FloatOp::Dense {
            node: name,
            input: p,
            output,
            n_in: 1,
            n_out: 2,
            weight: vec![-1.0, 1.0],
            bias: vec![1.0, 0.0],
        })
    }

    /// How many rows of `F` coefficients the node has (`F` the input's last axis).
    fn coefficient_rows(&self, node: &NodeProto) -> Result<usize> {
        let x = self.var(node, 0)?;
        let features = self.graph.tensors[x].shape.last().copied().unwrap_or(0);
        let coefficients = attr_floats(node, "coefficients").len();
        if features == 0 || coefficients == 0 || coefficients % features != 0 {
            return Err(invalid(
                node,
                format!("{coefficients} coefficients for {features} features"),
            ));
        }
        Ok(coefficients / features)
    }

    /// `x·Wᵀ + b` of a `[N, F]` input, `W` the node's `coefficients` (`rows × F`, row-major)
    /// and `b` its `intercepts` (zeros when absent): an intermediate `[N, rows]` tensor.
    fn linear_scores(&mut self, node: &NodeProto, rows: usize) -> Result<TensorId> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let [n, features] = shape[..] else {
            return Err(invalid(
                node,
                format!("the input is {shape:?}, not [rows, features]"),
            ));
        };
        let coefficients = attr_floats(node, "coefficients");
        if coefficients.len() != rows * features {
            return Err(invalid(
                node,
                format!(
                    "{} coefficients for {rows} rows of {features} features",
                    coefficients.len()
                ),
            ));
        }
        let bias = match attr_floats(node, "intercepts") {
            b if b.is_empty() => vec![0.0; rows],
            b if b.len() == rows => b,
            b => {
                return Err(invalid(
                    node,
                    format!("{} intercepts for {rows} rows", b.len()),
                ))
            }
        };
        let weight = (0..features * rows)
            .map(|k| coefficients[(k % rows) * features + k / rows])
            .collect();
        self.dense_step(node, "scores", x, weight, bias, vec![n, rows])
    }

    /// `raw` through `post` into the tensor named `output` (of `raw`'s shape).
    pub(super) fn post_transform(
        &mut self,
        name: String,
        raw: TensorId,
        post: Post,
        output: &str,
    ) -> Result<()> {
        let shape = self.graph.tensors[raw].shape.clone();
        let raw_name = self.graph.tensors[raw].name.clone();
        let named = synthetic("", &name, &[raw_name.as_str()], output, vec![]);
        match post {
            Post::Softmax => {
                let softmax = synthetic(
                    "Softmax",
                    &name,
                    &[raw_name.as_str()],
                    output,
                    vec![int_attr("axis", -1)],
                );
                self.softmax(&softmax, name)
            }
            Post::Logistic => self.push(&named, shape, |output| FloatOp::Activation {
                node: name,
                act: Activation::Sigmoid,
                input: raw,
                output,
            }),
            Post::None => self.push(&named, shape, |output| FloatOp::Reshape {
                node: name,
                input: raw,
                output,
            }),
        }
    }

    /// The label of each row of `scores` (`[N, C]`): `labels[i]` for `i` the first highest
    /// score, into the `[N]` tensor `output`. By ArgMax, then an affine map when the labels
    /// are evenly spaced (`0, 1, …, C − 1` needs none; two labels always are), else by Hardmax
    /// and a dense layer of the labels.
    pub(super) fn class_label(
        &mut self,
        node: &NodeProto,
        name: &str,
        scores: TensorId,
        labels: &[i64],
        output: &str,
    ) -> Result<()> {
        let scores_name = self.graph.tensors[scores].name.clone();
        let n = self.graph.tensors[scores].shape[0];
        let (first, step) = (labels[0], labels.get(1).map_or(1, |l| l - labels[0]));
        let even = labels
            .iter()
            .enumerate()
            .all(|(i, l)| *l == first + step * i as i64);
        let attrs = || vec![int_attr("axis", 1), int_attr("keepdims", 0)];
        if even && (first, step) == (0, 1) {
            let argmax = synthetic("ArgMax", name, &[scores_name.as_str()], output, attrs());
            return self.argmax(&argmax, name.to_owned());
        }
        let named = synthetic("", name, &[], output, vec![]);
        if even {
            let index = format!("{output}/index");
            let argmax = synthetic("ArgMax", name, &[scores_name.as_str()], &index, attrs());
            self.argmax(&argmax, name.to_owned())?;
            let index = self.ids[&index];
            return self.push(&named, vec![n], |output| FloatOp::Affine {
                node: name.to_owned(),
                input: index,
                output,
                scale: vec![step as f32; n],
                shift: vec![first as f32; n],
            });
        }
        let one_hot = format!("{output}/one_hot");
        let hardmax = synthetic(
            "Hardmax",
            name,
            &[scores_name.as_str()],
            &one_hot,
            vec![int_attr("axis", 1)],
        );
        self.hardmax(&hardmax, name.to_owned())?;
        let one_hot = self.ids[&one_hot];
        let column = self.step(node, "label_column", vec![n, 1], |output| FloatOp::Dense {
            node: name.to_owned(),
            input: one_hot,
            output,
            n_in: labels.len(),
            n_out: 1,
            weight: labels.iter().map(|l| *l as f32).collect(),
            bias: vec![0.0],
        })?;
        self.push(&named, vec![n], |output| FloatOp::Reshape {
            node: name.to_owned(),
            input: column,
            output,
        })
    }

    /// `ArrayFeatureExtractor`: the elements of the last axis at the given indices, as a
    /// Gather along that axis (constant indices: copies, no rows; computed ones, such as an
    /// ArgMax picking a class label: a lookup per index). A scalar index keeps its axis, of
    /// length one, and a 1-D tensor's picks make one row, as onnxruntime does.
    pub(super) fn array_feature_extractor(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let (Some(data), Some(indices)) = (node.input.first(), node.input.get(1)) else {
            return Err(invalid(node, "it needs its data and indices".into()));
        };
        let output = self.output_name(node)?.to_owned();
        let mut indices = indices.clone();
        if let Operand::Const(c) = self.operand(node, 1)? {
            if c.shape.is_empty() {
                let column = Const {
                    shape: vec![1],
                    data: c.data.clone(),
                    integer: true,
                };
                indices = format!("{output}/indices");
                self.consts.insert(indices.clone(), column);
            }
        }
        // Of a 1-D tensor, onnxruntime's result is one row, [1, number of indices].
        let row = match self.operand(node, 0)? {
            Operand::Const(c) => c.shape.len() == 1,
            Operand::Var(v) => self.graph.tensors[v].shape.len() == 1,
        };
        let gathered = if row {
            format!("{output}/gathered")
        } else {
            output.clone()
        };
        self.node(&synthetic(
            "Gather",
            &name,
            &[data.as_str(), indices.as_str()],
            &gathered,
            vec![int_attr("axis", -1)],
        ))?;
        if !row {
            return Ok(());
        }
        let input = self.ids[&gathered];
        let count = self.graph.tensors[input].numel();
        let named = synthetic("", &name, &[], &output, vec![]);
        self.push(&named, vec![1, count], |output| FloatOp::Reshape {
            node: name,
            input,
            output,
        })
    }

    /// `ZipMap`: the `[N, C]` scores it is given, as they are (a map per row from each class
    /// label to its score has no tensor form; the labels are the keys, in order).
    pub(super) fn zip_map(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let keys = attr_ints(node, "classlabels_int64s")
            .filter(|k| !k.is_empty())
            .map(|k| k.len())
            .unwrap_or_else(|| attr_strings(node, "classlabels_strings").len());
        if shape.len() != 2 || shape[1] != keys {
            return Err(invalid(
                node,
                format!("{keys} class labels for scores of shape {shape:?}"),
            ));
        }
        self.push(node, shape, |output| FloatOp::Reshape {
            node: name,
            input: x,
            output,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::int_labels;
    use tract_onnx::pb::{AttributeProto, NodeProto};

    fn node(attribute: AttributeProto) -> NodeProto {
        NodeProto {
            op_type: "LinearClassifier".into(),
            name: "lc".into(),
            attribute: vec![attribute],
            ..Default::default()
        }
    }

    #[test]
    fn string_labels_are_refused_by_name() {
        let strings = node(AttributeProto {
            name: "classlabels_strings".into(),
            strings: vec![b"cat".to_vec(), b"dog".to_vec()],
            ..Default::default()
        });
        let e = int_labels(&strings, "classlabels_ints").unwrap_err();
        assert!(e.to_string().contains("string class labels"), "{e}");
        let ints = node(AttributeProto {
            name: "classlabels_ints".into(),
            ints: vec![3, 7],
            ..Default::default()
        });
        assert_eq!(int_labels(&ints, "classlabels_ints").unwrap(), [3, 7]);
        let none = node(AttributeProto::default());
        let e = int_labels(&none, "classlabels_ints").unwrap_err();
        assert!(e.to_string().contains("no class labels"), "{e}");
    }
}
