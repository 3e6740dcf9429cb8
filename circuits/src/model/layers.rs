//! The layers of a compiled model as data: one struct per primitive, in the `model.json`
//! format. What each one means and how it is checked, executed and laid out lives in
//! `crate::ops` (one file per family).

use crate::model::{Activation, ConvGeometry, ProductDims, TensorId};
use serde::{Deserialize, Serialize};

/// How a linear layer's products are checked in the circuit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearCheck {
    /// One dot product per output element (`⌈terms / W⌉` rows each).
    #[default]
    Direct,
    /// The outputs `Y` are witnesses and one randomized (Freivalds) identity
    /// `sᵀ·Y·r = sᵀ·(W·X + b)·r` with challenges `r`, `s` drawn after they are committed
    /// checks the whole product in a second proof phase (see [`crate::layout`]).
    Freivalds,
}

impl LinearCheck {
    /// Whether this is the direct check (the `model.json` default, left out when written).
    pub fn is_direct(&self) -> bool {
        *self == Self::Direct
    }
}

/// Dot products through the dot-product gate, optionally rescaled (and activated) by lookup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    /// ONNX node.
    pub node: String,
    /// Input tensor `[.., n_in]`.
    pub input: TensorId,
    /// Output tensor `[.., n_out]`.
    pub output: TensorId,
    /// Contracted length.
    pub n_in: usize,
    /// Produced length.
    pub n_out: usize,
    /// `[n_in, n_out]` at the weight scale.
    pub weight: Vec<i64>,
    /// `[n_out]` at input scale + weight scale.
    pub bias: Vec<i64>,
    /// Division back to the working scale, fused with an activation; `None` keeps the
    /// doubled scale (used for final layers whose output is a model output).
    pub rescale: Option<Rescale>,
    /// How the products are checked.
    #[serde(default, skip_serializing_if = "LinearCheck::is_direct")]
    pub check: LinearCheck,
}

/// A convolution through the dot-product gate (padding costs nothing), rescaled like Dense.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conv {
    /// ONNX node.
    pub node: String,
    /// Input tensor `[N, C, spatial…]`.
    pub input: TensorId,
    /// Output tensor `[N, O, spatial'…]`.
    pub output: TensorId,
    /// The geometry.
    pub geometry: ConvGeometry,
    /// `[O, C / group, kernel…]` at the weight scale.
    pub weight: Vec<i64>,
    /// `[O]` at input scale + weight scale.
    pub bias: Vec<i64>,
    /// As for Dense.
    pub rescale: Option<Rescale>,
    /// How the products are checked.
    #[serde(default, skip_serializing_if = "LinearCheck::is_direct")]
    pub check: LinearCheck,
    /// A partial sum each output continues (same shape as the output, at the accumulator's
    /// scale): the convolution over some input channels of a layer split by channels
    /// (`crate::split`), `accumulator + bias + Σ x·w`, then the rescale if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accumulator: Option<TensorId>,
}

/// `out[i] = in[i]·weight[i] + bias[i]` through the dot-product gate, rescaled like Dense.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    /// ONNX node.
    pub node: String,
    /// Operand.
    pub input: TensorId,
    /// Result.
    pub output: TensorId,
    /// One weight per element, at the weight scale.
    pub weight: Vec<i64>,
    /// One bias per element, at input scale + weight scale.
    pub bias: Vec<i64>,
    /// As for Dense.
    pub rescale: Option<Rescale>,
}

/// A rearrangement (transpose, slice, concat, gather, zero padding): the same cells, no
/// rows (a zero costs one row, shared).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Select {
    /// ONNX node.
    pub node: String,
    /// Operands (all at one scale).
    pub inputs: Vec<TensorId>,
    /// Result.
    pub output: TensorId,
    /// Per output element: `(operand, element)` or `None` for zero.
    pub map: Vec<Option<(u32, u32)>>,
}

/// The maximum over windows: pairwise `max(a, b) = a + relu(b − a)`, the ReLU by lookup;
/// with `min`, `min(a, b) = a − relu(a − b)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaxPool {
    /// ONNX node.
    pub node: String,
    /// Operand.
    pub input: TensorId,
    /// Result (same scale).
    pub output: TensorId,
    /// Input element indices of each output's window.
    pub windows: Vec<Vec<u32>>,
    /// The minimum instead of the maximum.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub min: bool,
}

/// Element-wise sum (difference with `sub`) of two tensors at the same scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Add {
    /// ONNX node.
    pub node: String,
    /// Left operand.
    pub a: TensorId,
    /// Right operand.
    pub b: TensorId,
    /// Result.
    pub output: TensorId,
    /// `a − b` instead of `a + b`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sub: bool,
}

/// A batched matrix product of two computed tensors (element-wise product when
/// `m = k = n = 1`) through the product gate, rescaled like Dense.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// ONNX node.
    pub node: String,
    /// Left operand `[batch, m, k]`.
    pub a: TensorId,
    /// Right operand `[batch, k, n]`.
    pub b: TensorId,
    /// Result `[batch, m, n]`.
    pub output: TensorId,
    /// The dimensions.
    pub dims: ProductDims,
    /// Division back to the working scale (by the operands' scale), fused with an
    /// activation; `None` keeps the doubled scale (final layers).
    pub rescale: Option<Rescale>,
}

/// Element-wise `round(a·2^s / b)` for `b > 0`: the quotient `q` is range-checked by the
/// identity table and `2^(s+1)·a + b − 2·q·b = r` with `0 ≤ r < 2b`, both sides
/// range-checked to `range_bits`. `s` is the divisor's scale, so the quotient keeps the
/// dividend's; with `whole`, the divisor's less the dividend's (never negative), so the
/// quotient is rounded to a whole number (half up), at 0 fractional bits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Div {
    /// ONNX node.
    pub node: String,
    /// Dividend.
    pub a: TensorId,
    /// Divisor (positive, below `2^(range_bits − 1)`).
    pub b: TensorId,
    /// Result, at the dividend's scale (at 0 fractional bits with `whole`).
    pub output: TensorId,
    /// Width of the remainder range checks.
    pub range_bits: u32,
    /// The quotient rounded to a whole number.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole: bool,
}

/// Element-wise floor division by a constant `d` (the divisor at the operand's scale `s`:
/// `d = divisor·2^s`): the quotient `q = ⌊x / d⌋` (an integer, range-checked by the identity
/// table) from a [`Div`]-style checked division of `2x − d` by `2d`, whose remainders are
/// range-checked to `range_bits`; the output is `q·2^s`, or the remainder `x − d·q` (in
/// `[0, d)`) with `remainder`. The divisor is part of the circuit (like a shape), not a
/// model parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloorDiv {
    /// ONNX node.
    pub node: String,
    /// Operand.
    pub input: TensorId,
    /// Result, at the operand's scale.
    pub output: TensorId,
    /// The divisor at the operand's scale (positive).
    pub divisor: i64,
    /// The remainder instead of the quotient.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remainder: bool,
    /// Width of the remainder range checks (at least the bits of `4d`).
    pub range_bits: u32,
}

/// Sums over windows through the dot-product gate (weights 1), no rescale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sum {
    /// ONNX node.
    pub node: String,
    /// Operand.
    pub input: TensorId,
    /// Result (same scale).
    pub output: TensorId,
    /// Input element indices of each output's window.
    pub windows: Vec<Vec<u32>>,
}

/// Element-wise sum with a constant (one value per element, at the tensor's scale).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddConst {
    /// ONNX node.
    pub node: String,
    /// Operand.
    pub input: TensorId,
    /// The constant.
    pub constant: Vec<i64>,
    /// Result.
    pub output: TensorId,
}

/// An activation applied by lookup, without rescaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lookup {
    /// ONNX node.
    pub node: String,
    /// The function.
    pub act: Activation,
    /// Operand.
    pub input: TensorId,
    /// Result.
    pub output: TensorId,
}

/// A reshape: the same cells under another shape, no rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reshape {
    /// ONNX node.
    pub node: String,
    /// Operand.
    pub input: TensorId,
    /// Result.
    pub output: TensorId,
}

/// Division by `2^shift` with rounding, then an activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rescale {
    /// Fractional bits removed.
    pub shift: u32,
    /// The function applied to the rescaled value.
    pub act: Activation,
}

/// A circuit layer: one or more float ops lowered to gates and lookups. Each variant is one
/// primitive of `crate::ops`; `model.json` tags it by the variant name (`"layer": "dense"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "layer", rename_all = "snake_case")]
pub enum Layer {
    /// Dot products through the dot-product gate, optionally rescaled (and activated) by lookup.
    Dense(Dense),
    /// A convolution through the dot-product gate (padding costs nothing), rescaled like Dense.
    Conv(Conv),
    /// `out[i] = in[i]·weight[i] + bias[i]` through the dot-product gate, rescaled like Dense.
    Affine(Affine),
    /// A rearrangement (transpose, slice, concat, gather, zero padding): the same cells, no
    /// rows (a zero costs one row, shared).
    Select(Select),
    /// The maximum over windows: pairwise `max(a, b) = a + relu(b − a)`, the ReLU by lookup;
    /// with `min`, `min(a, b) = a − relu(a − b)`.
    MaxPool(MaxPool),
    /// Element-wise sum (difference with `sub`) of two tensors at the same scale.
    Add(Add),
    /// A batched matrix product of two computed tensors (element-wise product when
    /// `m = k = n = 1`) through the product gate, rescaled like Dense.
    Product(Product),
    /// Element-wise `round(a·2^s / b)` for `b > 0`: the quotient `q` is range-checked by the
    /// identity table and `2^(s+1)·a + b − 2·q·b = r` with `0 ≤ r < 2b`, both sides
    /// range-checked to `range_bits`.
    Div(Div),
    /// Element-wise floor division (or floor modulus) by a constant: a checked division with
    /// a constant divisor, then one dot row.
    FloorDiv(FloorDiv),
    /// Sums over windows through the dot-product gate (weights 1), no rescale.
    Sum(Sum),
    /// Element-wise sum with a constant (one value per element, at the tensor's scale).
    AddConst(AddConst),
    /// An activation applied by lookup, without rescaling.
    Activation(Lookup),
    /// A reshape: the same cells under another shape, no rows.
    Reshape(Reshape),
}

impl Layer {
    /// The ONNX node the layer came from.
    pub fn node(&self) -> &str {
        match self {
            Self::Dense(Dense { node, .. })
            | Self::Conv(Conv { node, .. })
            | Self::Affine(Affine { node, .. })
            | Self::Select(Select { node, .. })
            | Self::MaxPool(MaxPool { node, .. })
            | Self::Add(Add { node, .. })
            | Self::Product(Product { node, .. })
            | Self::Div(Div { node, .. })
            | Self::FloorDiv(FloorDiv { node, .. })
            | Self::Sum(Sum { node, .. })
            | Self::AddConst(AddConst { node, .. })
            | Self::Activation(Lookup { node, .. })
            | Self::Reshape(Reshape { node, .. }) => node,
        }
    }

    /// The tensors the layer reads.
    pub fn inputs(&self) -> Vec<TensorId> {
        match self {
            Self::Dense(Dense { input, .. })
            | Self::Affine(Affine { input, .. })
            | Self::MaxPool(MaxPool { input, .. })
            | Self::Sum(Sum { input, .. })
            | Self::FloorDiv(FloorDiv { input, .. })
            | Self::AddConst(AddConst { input, .. })
            | Self::Activation(Lookup { input, .. })
            | Self::Reshape(Reshape { input, .. }) => vec![*input],
            Self::Add(Add { a, b, .. })
            | Self::Product(Product { a, b, .. })
            | Self::Div(Div { a, b, .. }) => vec![*a, *b],
            Self::Select(Select { inputs, .. }) => inputs.clone(),
            Self::Conv(Conv {
                input, accumulator, ..
            }) => std::iter::once(*input).chain(*accumulator).collect(),
        }
    }

    /// The layer's model parameters: its weights (multiplied by activations) and its other
    /// parameters (biases, added constants), in [`crate::model::CompiledModel::parameters`]
    /// order.
    pub fn parameters(&self) -> (&[i64], &[i64]) {
        match self {
            Self::Dense(Dense { weight, bias, .. })
            | Self::Conv(Conv { weight, bias, .. })
            | Self::Affine(Affine { weight, bias, .. }) => (weight, bias),
            Self::AddConst(AddConst { constant, .. }) => (&[], constant),
            _ => (&[], &[]),
        }
    }

    /// How many model parameters the layer has.
    pub fn parameter_count(&self) -> usize {
        let (weights, others) = self.parameters();
        weights.len() + others.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `model.json` form of layers: the tag, then the fields in declaration order, flags
    /// that are off left out. (Layers were struct variants before they were structs; a
    /// model compiled then reads and writes the same text.)
    #[test]
    fn layers_keep_their_model_json_form() {
        let layers = [
            (
                Layer::Dense(Dense {
                    node: "fc".into(),
                    input: 0,
                    output: 1,
                    n_in: 2,
                    n_out: 1,
                    weight: vec![3, -4],
                    bias: vec![5],
                    rescale: Some(Rescale {
                        shift: 7,
                        act: Activation::Relu,
                    }),
                    check: LinearCheck::Direct,
                }),
                r#"{"layer":"dense","node":"fc","input":0,"output":1,"n_in":2,"n_out":1,"weight":[3,-4],"bias":[5],"rescale":{"shift":7,"act":{"fn":"relu"}}}"#,
            ),
            (
                Layer::MaxPool(MaxPool {
                    node: "pool".into(),
                    input: 1,
                    output: 2,
                    windows: vec![vec![0, 1]],
                    min: false,
                }),
                r#"{"layer":"max_pool","node":"pool","input":1,"output":2,"windows":[[0,1]]}"#,
            ),
            (
                Layer::Add(Add {
                    node: "sub".into(),
                    a: 0,
                    b: 1,
                    output: 2,
                    sub: true,
                }),
                r#"{"layer":"add","node":"sub","a":0,"b":1,"output":2,"sub":true}"#,
            ),
            (
                Layer::Activation(Lookup {
                    node: "act".into(),
                    act: Activation::Relu,
                    input: 0,
                    output: 1,
                }),
                r#"{"layer":"activation","node":"act","act":{"fn":"relu"},"input":0,"output":1}"#,
            ),
        ];
        for (layer, json) in layers {
            assert_eq!(serde_json::to_string(&layer).unwrap(), json);
            assert_eq!(serde_json::from_str::<Layer>(json).unwrap(), layer);
        }
    }
}
