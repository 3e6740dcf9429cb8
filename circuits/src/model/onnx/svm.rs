//! `SVMRegressor` and `SVMClassifier` (ai.onnx.ml): the support-vector machines scikit-learn
//! exports (`SVR`, `NuSVR`, `OneClassSVM` with `one_class`; `SVC`, `NuSVC`). A regressor is
//! `y = Σ_j c_j·K(x, sv_j) + ρ` over the support vectors `sv_j`; a classifier votes over
//! pairs of classes (see [`Importer::svm_classifier`]). onnxruntime's kernels (measured:
//! `LINEAR` takes no γ):
//!
//! ```text
//! LINEAR    x·sv                 one dense layer altogether (Σ_j c_j·sv_j folded)
//! POLY      (γ·x·sv + c₀)^d      a dense layer, a Pow lookup, a dense layer of c
//! SIGMOID   tanh(γ·x·sv + c₀)    a dense layer, a Tanh lookup, a dense layer of c
//! RBF       exp(−γ·‖x − sv‖²)    the squares of x (one product each), one dense layer of
//!                                [x, x²] (2γ·sv, −γ; −γ‖sv‖²), an Exp lookup, a dense layer
//! ```
//!
//! `one_class` makes the output `1` where `y > 0`, else `−1` (one Step lookup, an affine map).

use super::ml::{attr_floats, int_labels, label_and_scores, synthetic};
use super::{attr_int, attr_ints, attr_string, invalid, unsupported, Importer};
use crate::error::Result;
use crate::model::{Activation, FloatOp, Param, TensorId};
use tract_onnx::pb::NodeProto;

/// What an SVM node holds: its input `[n, features]`, support vectors (row-major
/// `[supports, features]`) and kernel.
struct Svm {
    x: TensorId,
    n: usize,
    features: usize,
    supports: usize,
    sv: Vec<f32>,
    kernel: String,
    gamma: f32,
    coef0: f32,
    degree: f32,
}

impl Svm {
    /// Reads `node`'s input and kernel, of `supports` support vectors (none: the linear form,
    /// refused).
    fn of(importer: &Importer, node: &NodeProto, supports: usize) -> Result<Self> {
        let x = importer.var(node, 0)?;
        let shape = importer.graph.tensors[x].shape.clone();
        let [n, features] = shape[..] else {
            return Err(invalid(
                node,
                format!("the input is {shape:?}, not [rows, features]"),
            ));
        };
        if let Some(post) = attr_string(node, "post_transform").filter(|p| p != "NONE") {
            return Err(unsupported(node, &format!("post_transform {post}")));
        }
        if supports == 0 {
            return Err(unsupported(node, "no support vectors (the linear form)"));
        }
        let sv = attr_floats(node, "support_vectors");
        if sv.len() != supports * features {
            return Err(invalid(
                node,
                format!(
                    "{} support-vector values for {supports} vectors of {features} features",
                    sv.len()
                ),
            ));
        }
        let params = attr_floats(node, "kernel_params");
        let param = |i: usize| params.get(i).copied().unwrap_or(0.0);
        let kernel = attr_string(node, "kernel_type").unwrap_or_else(|| "LINEAR".into());
        if !matches!(kernel.as_str(), "LINEAR" | "POLY" | "SIGMOID" | "RBF") {
            return Err(unsupported(node, &format!("kernel_type {kernel}")));
        }
        Ok(Self {
            x,
            n,
            features,
            supports,
            sv,
            kernel,
            gamma: param(0),
            coef0: param(1),
            degree: param(2),
        })
    }

    /// `scale·sv_j[i]` as the weight of feature `i` into column `j`, row-major `[F, S]`.
    fn by_column(&self, scale: f32) -> Vec<f32> {
        let (f, s) = (self.features, self.supports);
        (0..f * s)
            .map(|k| scale * self.sv[(k % s) * f + k / s])
            .collect()
    }
}

/// `node`'s coefficients and `rho`.
fn coefficients_and_rho(node: &NodeProto) -> (Vec<f32>, Vec<f32>) {
    (attr_floats(node, "coefficients"), attr_floats(node, "rho"))
}

impl Importer {
    /// `SVMRegressor` of a `[N, F]` input into `[N, 1]` (see the module documentation).
    pub(super) fn svm_regressor(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let supports = usize::try_from(attr_int(node, "n_supports").unwrap_or(0))
            .map_err(|_| invalid(node, "n_supports is negative".into()))?;
        let svm = Svm::of(self, node, supports)?;
        let (coefficients, rho) = coefficients_and_rho(node);
        if coefficients.len() != supports {
            return Err(invalid(
                node,
                format!(
                    "{} coefficients for {supports} support vectors",
                    coefficients.len()
                ),
            ));
        }
        let rho = match rho[..] {
            [] => 0.0,
            [r] => r,
            ref r => return Err(invalid(node, format!("{} rho values (one)", r.len()))),
        };
        let one_class = attr_int(node, "one_class").unwrap_or(0) != 0;
        if svm.kernel == "LINEAR" {
            // Σ_j c_j·(x·sv_j) = x·(Σ_j c_j·sv_j): one dense layer.
            let weight = (0..svm.features)
                .map(|i| {
                    (0..supports)
                        .map(|j| coefficients[j] * svm.sv[j * svm.features + i])
                        .sum()
                })
                .collect();
            return self.svm_output(node, name, svm.x, svm.features, weight, rho, one_class);
        }
        let kernel = self.svm_kernel(node, &svm)?;
        self.svm_output(node, name, kernel, supports, coefficients, rho, one_class)
    }

    /// `SVMClassifier` (scikit-learn's `SVC`, `NuSVC`: libsvm's one-against-one) of a `[N, F]`
    /// input, as onnxruntime runs it (measured): for each pair of classes `i < j` the
    /// decision `d_ij = Σ_{sv of i} c[j−1]·K + Σ_{sv of j} c[i]·K + ρ_ij`, a vote for `i` where
    /// `d_ij > 0`, else for `j`; the label is the class of the first most votes, the scores the
    /// decisions (`[−d, d]` of two classes). Probability estimates (`prob_a`, `prob_b`) are
    /// refused.
    pub(super) fn svm_classifier(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let labels = int_labels(node, "classlabels_ints")?;
        let per_class: Vec<usize> = attr_ints(node, "vectors_per_class")
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                usize::try_from(v).map_err(|_| invalid(node, "a negative vector count".into()))
            })
            .collect::<Result<_>>()?;
        let supports = per_class.iter().sum();
        let svm = Svm::of(self, node, supports)?;
        if !attr_floats(node, "prob_a").is_empty() {
            return Err(unsupported(
                node,
                "probability estimates (prob_a, prob_b: export without probability=True)",
            ));
        }
        let (label_name, scores_name) = label_and_scores(node)?;
        let classes = labels.len();
        let pairs: Vec<(usize, usize)> = (0..classes)
            .flat_map(|i| (i + 1..classes).map(move |j| (i, j)))
            .collect();
        let (coefficients, rho) = coefficients_and_rho(node);
        if per_class.len() != classes
            || classes < 2
            || coefficients.len() != (classes - 1) * supports
            || rho.len() != pairs.len()
        {
            return Err(invalid(
                node,
                format!(
                    "{} vector counts, {} coefficients and {} rho values for {classes} classes of {supports} support vectors",
                    per_class.len(),
                    coefficients.len(),
                    rho.len()
                ),
            ));
        }
        let kernel = self.svm_kernel(node, &svm)?;
        let start: Vec<usize> = per_class
            .iter()
            .scan(0, |s, v| {
                let at = *s;
                *s += v;
                Some(at)
            })
            .collect();
        // The decisions, one dense layer of the kernel values: weight row-major [S, pairs].
        let p = pairs.len();
        let mut weight = vec![0.0; supports * p];
        for (e, (i, j)) in pairs.iter().enumerate() {
            for (class, row) in [(*i, j - 1), (*j, *i)] {
                for v in start[class]..start[class] + per_class[class] {
                    weight[v * p + e] = coefficients[row * supports + v];
                }
            }
        }
        let n = svm.n;
        let d = self.dense_step(node, "decisions", kernel, weight, rho, vec![n, p])?;
        // Votes: votes_c = Σ_{pairs (c, ·)} won + Σ_{pairs (·, c)} (1 − won).
        let won = self.lookup(node, d, Activation::Step, "won")?;
        let mut votes = vec![0.0; p * classes];
        let mut bias = vec![0.0; classes];
        for (e, (i, j)) in pairs.iter().enumerate() {
            votes[e * classes + i] = 1.0;
            votes[e * classes + j] = -1.0;
            bias[*j] += 1.0;
        }
        let votes = self.dense_step(node, "votes", won, votes, bias, vec![n, classes])?;
        self.class_label(node, &name, votes, &labels, label_name)?;
        let named = synthetic("", &name, &[], scores_name, vec![]);
        if classes == 2 {
            return self.push(&named, vec![n, 2], |output| FloatOp::Dense {
                node: name,
                input: d,
                output,
                n_in: 1,
                n_out: 2,
                weight: vec![-1.0, 1.0],
                bias: vec![0.0, 0.0],
            });
        }
        self.push(&named, vec![n, p], |output| FloatOp::Reshape {
            node: name,
            input: d,
            output,
        })
    }

    /// The kernel values `K(x, sv_j)`, `[N, S]`: a dense layer and a lookup (the module
    /// documentation's table).
    fn svm_kernel(&mut self, node: &NodeProto, svm: &Svm) -> Result<TensorId> {
        let (x, n, features, supports) = (svm.x, svm.n, svm.features, svm.supports);
        let (input, act) = match svm.kernel.as_str() {
            "LINEAR" => {
                let dot = svm.by_column(1.0);
                return self.dense_step(
                    node,
                    "kernel",
                    x,
                    dot,
                    vec![0.0; supports],
                    vec![n, supports],
                );
            }
            "POLY" | "SIGMOID" => {
                let dot = self.dense_step(
                    node,
                    "kernel_input",
                    x,
                    svm.by_column(svm.gamma),
                    vec![svm.coef0; supports],
                    vec![n, supports],
                )?;
                let act = if svm.kernel == "POLY" {
                    Activation::Pow {
                        exponent: Param::new(svm.degree),
                    }
                } else {
                    Activation::Tanh
                };
                (dot, act)
            }
            _ => {
                // RBF: −γ‖x − sv‖² = 2γ·x·sv − γ·Σ x² − γ‖sv‖², one dense layer of [x, x²].
                let squares = self.mul_step(node, "squares", x, x)?;
                let map = (0..n)
                    .flat_map(|r| {
                        (0..2 * features).map(move |c| {
                            let (t, i) = if c < features {
                                (0, c)
                            } else {
                                (1, c - features)
                            };
                            Some((t, (r * features + i) as u32))
                        })
                    })
                    .collect();
                let both = self.copies(
                    node,
                    "with_squares",
                    vec![n, 2 * features],
                    vec![x, squares],
                    map,
                )?;
                let gamma = svm.gamma;
                let mut weight = svm.by_column(2.0 * gamma);
                weight.extend(std::iter::repeat_n(-gamma, features * supports));
                let bias = (0..supports)
                    .map(|j| {
                        let norm: f32 = svm.sv[j * features..(j + 1) * features]
                            .iter()
                            .map(|v| v * v)
                            .sum();
                        -gamma * norm
                    })
                    .collect();
                let exponent =
                    self.dense_step(node, "kernel_input", both, weight, bias, vec![n, supports])?;
                (exponent, Activation::Exp)
            }
        };
        self.lookup(node, input, act, "kernel")
    }

    /// `y = input·weight + ρ` (`[N, 1]`), or with `one_class` `1` where `y > 0`, else `−1`.
    #[allow(clippy::too_many_arguments)]
    fn svm_output(
        &mut self,
        node: &NodeProto,
        name: String,
        input: TensorId,
        n_in: usize,
        weight: Vec<f32>,
        rho: f32,
        one_class: bool,
    ) -> Result<()> {
        let n = self.graph.tensors[input].shape[0];
        if !one_class {
            return self.push(node, vec![n, 1], |output| FloatOp::Dense {
                node: name,
                input,
                output,
                n_in,
                n_out: 1,
                weight,
                bias: vec![rho],
            });
        }
        let y = self.dense_step(node, "score", input, weight, vec![rho], vec![n, 1])?;
        let above = self.lookup(node, y, Activation::Step, "above")?;
        self.push(node, vec![n, 1], |output| FloatOp::Affine {
            node: name,
            input: above,
            output,
            scale: vec![2.0; n],
            shift: vec![-1.0; n],
        })
    }
}
