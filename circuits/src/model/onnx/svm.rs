//! `SVMRegressor` (ai.onnx.ml): the support-vector regressors scikit-learn exports (`SVR`,
//! `NuSVR`, and `OneClassSVM` with `one_class`), `y = Σ_j c_j·K(x, sv_j) + ρ` over the support
//! vectors `sv_j`, with onnxruntime's kernels (measured: `LINEAR` takes no γ):
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

use super::ml::attr_floats;
use super::{attr_int, attr_string, invalid, unsupported, Importer};
use crate::error::Result;
use crate::model::{Activation, FloatOp, Param, TensorId};
use tract_onnx::pb::NodeProto;

impl Importer {
    /// `SVMRegressor` of a `[N, F]` input into `[N, 1]` (see the module documentation).
    pub(super) fn svm_regressor(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let [n, features] = shape[..] else {
            return Err(invalid(
                node,
                format!("the input is {shape:?}, not [rows, features]"),
            ));
        };
        if let Some(post) = attr_string(node, "post_transform").filter(|p| p != "NONE") {
            return Err(unsupported(node, &format!("post_transform {post}")));
        }
        let supports = usize::try_from(attr_int(node, "n_supports").unwrap_or(0))
            .map_err(|_| invalid(node, "n_supports is negative".into()))?;
        if supports == 0 {
            return Err(unsupported(node, "no support vectors (the linear form)"));
        }
        let sv = attr_floats(node, "support_vectors");
        let coefficients = attr_floats(node, "coefficients");
        if sv.len() != supports * features || coefficients.len() != supports {
            return Err(invalid(
                node,
                format!(
                    "{} support-vector values and {} coefficients for {supports} vectors of {features} features",
                    sv.len(),
                    coefficients.len()
                ),
            ));
        }
        let rho = match attr_floats(node, "rho")[..] {
            [] => 0.0,
            [r] => r,
            ref r => return Err(invalid(node, format!("{} rho values (one)", r.len()))),
        };
        let params = attr_floats(node, "kernel_params");
        let (gamma, coef0, degree) = (
            params.first().copied().unwrap_or(0.0),
            params.get(1).copied().unwrap_or(0.0),
            params.get(2).copied().unwrap_or(0.0),
        );
        let one_class = attr_int(node, "one_class").unwrap_or(0) != 0;
        // `sv_j[i]` as the weight of feature i into column j, row-major [F, S].
        let by_column = |scale: f32| -> Vec<f32> {
            (0..features * supports)
                .map(|k| scale * sv[(k % supports) * features + k / supports])
                .collect()
        };
        let kernel = attr_string(node, "kernel_type").unwrap_or_else(|| "LINEAR".into());
        let (k, act) = match kernel.as_str() {
            "LINEAR" => {
                // Σ_j c_j·(x·sv_j) = x·(Σ_j c_j·sv_j): one dense layer.
                let weight = (0..features)
                    .map(|i| {
                        (0..supports)
                            .map(|j| coefficients[j] * sv[j * features + i])
                            .sum()
                    })
                    .collect();
                return self.svm_output(node, name, x, features, weight, rho, one_class);
            }
            "POLY" | "SIGMOID" => {
                let dot = self.dense_step(
                    node,
                    "kernel_input",
                    x,
                    by_column(gamma),
                    vec![coef0; supports],
                    vec![n, supports],
                )?;
                let act = if kernel == "POLY" {
                    Activation::Pow {
                        exponent: Param::new(degree),
                    }
                } else {
                    Activation::Tanh
                };
                (dot, act)
            }
            "RBF" => {
                // −γ‖x − sv‖² = 2γ·x·sv − γ·Σ x² − γ‖sv‖², one dense layer of [x, x²].
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
                let mut weight = by_column(2.0 * gamma);
                weight.extend(std::iter::repeat_n(-gamma, features * supports));
                let bias = (0..supports)
                    .map(|j| {
                        let norm: f32 = sv[j * features..(j + 1) * features]
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
            other => return Err(unsupported(node, &format!("kernel_type {other}"))),
        };
        let kernel = self.lookup(node, k, act, "kernel")?;
        self.svm_output(node, name, kernel, supports, coefficients, rho, one_class)
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
