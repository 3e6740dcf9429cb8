//! The compiled-model format (`model.json`): layers, tensors, tables, layout and the
//! float-vs-quantized report.

use super::FORMAT_VERSION;
use crate::error::{CircuitError, Result};
use crate::fixed_point::{quantize, values_per_instance};
use crate::model::{Activation, ConvGeometry, TensorId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Who sees a tensor. Inputs and outputs are public, private or hashed; weights are fixed in
/// this version (bound by the verifying key); the other
/// modes are part of the format so that later versions add them without a rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// A public instance of the proof.
    Public,
    /// A private witness.
    Private,
    /// A private witness whose Poseidon commitment is public.
    Hashed,
    /// Constants baked into the circuit (bound by the verifying key).
    Fixed,
}

impl std::str::FromStr for Visibility {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "public" => Ok(Self::Public),
            "private" => Ok(Self::Private),
            "hashed" => Ok(Self::Hashed),
            "fixed" => Ok(Self::Fixed),
            other => Err(format!(
                "unknown visibility `{other}` (expected public, private or hashed)"
            )),
        }
    }
}

impl std::fmt::Display for Visibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Hashed => "hashed",
            Self::Fixed => "fixed",
        })
    }
}

/// A circuit layer: one or more float ops lowered to gates and lookups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "layer", rename_all = "snake_case")]
pub enum Layer {
    /// Dot products through the dot-product gate, optionally rescaled (and activated) by lookup.
    Dense {
        /// ONNX node.
        node: String,
        /// Input tensor `[.., n_in]`.
        input: TensorId,
        /// Output tensor `[.., n_out]`.
        output: TensorId,
        /// Contracted length.
        n_in: usize,
        /// Produced length.
        n_out: usize,
        /// `[n_in, n_out]` at the weight scale.
        weight: Vec<i64>,
        /// `[n_out]` at input scale + weight scale.
        bias: Vec<i64>,
        /// Division back to the working scale, fused with an activation; `None` keeps the
        /// doubled scale (used for final layers whose output is a model output).
        rescale: Option<Rescale>,
    },
    /// A convolution through the dot-product gate (padding costs nothing), rescaled like Dense.
    Conv {
        /// ONNX node.
        node: String,
        /// Input tensor `[N, C, spatial…]`.
        input: TensorId,
        /// Output tensor `[N, O, spatial'…]`.
        output: TensorId,
        /// The geometry.
        geometry: ConvGeometry,
        /// `[O, C / group, kernel…]` at the weight scale.
        weight: Vec<i64>,
        /// `[O]` at input scale + weight scale.
        bias: Vec<i64>,
        /// As for Dense.
        rescale: Option<Rescale>,
    },
    /// `out[i] = in[i]·weight[i] + bias[i]` through the dot-product gate, rescaled like Dense.
    Affine {
        /// ONNX node.
        node: String,
        /// Operand.
        input: TensorId,
        /// Result.
        output: TensorId,
        /// One weight per element, at the weight scale.
        weight: Vec<i64>,
        /// One bias per element, at input scale + weight scale.
        bias: Vec<i64>,
        /// As for Dense.
        rescale: Option<Rescale>,
    },
    /// A rearrangement (transpose, slice, concat, gather, zero padding): the same cells, no
    /// rows (a zero costs one row, shared).
    Select {
        /// ONNX node.
        node: String,
        /// Operands (all at one scale).
        inputs: Vec<TensorId>,
        /// Result.
        output: TensorId,
        /// Per output element: `(operand, element)` or `None` for zero.
        map: Vec<Option<(u32, u32)>>,
    },
    /// The maximum over windows: pairwise `max(a, b) = a + relu(b − a)`, the ReLU by lookup.
    MaxPool {
        /// ONNX node.
        node: String,
        /// Operand.
        input: TensorId,
        /// Result (same scale).
        output: TensorId,
        /// Input element indices of each output's window.
        windows: Vec<Vec<u32>>,
    },
    /// Element-wise sum of two tensors at the same scale.
    Add {
        /// ONNX node.
        node: String,
        /// Left operand.
        a: TensorId,
        /// Right operand.
        b: TensorId,
        /// Result.
        output: TensorId,
    },
    /// Element-wise sum with a constant (one value per element, at the tensor's scale).
    AddConst {
        /// ONNX node.
        node: String,
        /// Operand.
        input: TensorId,
        /// The constant.
        constant: Vec<i64>,
        /// Result.
        output: TensorId,
    },
    /// An activation applied by lookup, without rescaling.
    Activation {
        /// ONNX node.
        node: String,
        /// The function.
        act: Activation,
        /// Operand.
        input: TensorId,
        /// Result.
        output: TensorId,
    },
    /// A reshape: the same cells under another shape, no rows.
    Reshape {
        /// ONNX node.
        node: String,
        /// Operand.
        input: TensorId,
        /// Result.
        output: TensorId,
    },
}

impl Layer {
    /// The ONNX node the layer came from.
    pub fn node(&self) -> &str {
        match self {
            Self::Dense { node, .. }
            | Self::Conv { node, .. }
            | Self::Affine { node, .. }
            | Self::Select { node, .. }
            | Self::MaxPool { node, .. }
            | Self::Add { node, .. }
            | Self::AddConst { node, .. }
            | Self::Activation { node, .. }
            | Self::Reshape { node, .. } => node,
        }
    }
}

/// Division by `2^shift` with rounding, then an activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rescale {
    /// Fractional bits removed.
    pub shift: u32,
    /// The function applied to the rescaled value.
    pub act: Activation,
}

/// A tensor of the compiled model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QTensor {
    /// ONNX name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Fractional bits of its fixed-point values.
    pub scale_bits: u32,
}

impl QTensor {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A model input or output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoSpec {
    /// The tensor.
    pub tensor: TensorId,
    /// Who sees it.
    pub visibility: Visibility,
    /// Signed bit width of every value (guaranteed by a range check or a static bound); public
    /// values are packed `⌊252 / pack_bits⌋` per instance.
    pub pack_bits: u32,
}

/// The lookup tables the circuit needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tables {
    /// Shifts whose remainders are range-checked (`0 ≤ r < 2^shift`).
    pub range_shifts: Vec<u32>,
    /// Activation tables and the signed bit width each covers (a list in JSON: the keys are
    /// objects).
    #[serde(with = "table_list")]
    pub activations: BTreeMap<Activation, u32>,
    /// Fractional bits of activation inputs and outputs (what the tables are computed at).
    pub scale_bits: u32,
    /// With private or hashed weights: the signed bit width every weight is range-checked to
    /// (so that weights can be packed before hashing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_bits: Option<u32>,
}

impl Tables {
    /// Rows of the combined table, including its all-zero first row.
    pub fn rows(&self) -> usize {
        1 + self.weight_bits.map_or(0, |b| 1usize << b)
            + self.range_shifts.iter().map(|s| 1usize << s).sum::<usize>()
            + self
                .activations
                .values()
                .map(|b| 1usize << b)
                .sum::<usize>()
    }
}

/// How the circuit is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutParams {
    /// Multiply-accumulates per dot-product row (advice columns besides the accumulator).
    pub width: usize,
    /// The circuit has `2^k` rows.
    pub k: u32,
}

/// Float vs quantized agreement on the calibration inputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuantReport {
    /// Samples compared.
    pub samples: usize,
    /// Largest absolute difference over all outputs.
    pub max_abs_error: f64,
    /// Mean absolute difference.
    pub mean_abs_error: f64,
    /// `max_abs_error` divided by the largest float output magnitude.
    pub max_rel_error: f64,
    /// Share of samples whose arg-max agrees (for outputs with more than one element).
    pub top1_agreement: Option<f64>,
    /// Largest difference between tract's float inference and our float reading of the graph.
    pub import_max_diff: f64,
}

/// A model compiled for the circuit: what `compile` writes as `model.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompiledModel {
    /// Format version ([`FORMAT_VERSION`]).
    pub format: u32,
    /// Model name.
    pub name: String,
    /// SHA-256 of the ONNX file it came from.
    pub source_sha256: String,
    /// The working fixed-point scale of activations (fractional bits).
    pub scale_bits: u32,
    /// The fixed-point scale of weights (fractional bits); products are rescaled by it.
    pub weight_scale_bits: u32,
    /// Every tensor.
    pub tensors: Vec<QTensor>,
    /// Model inputs.
    pub inputs: Vec<IoSpec>,
    /// Model outputs.
    pub outputs: Vec<IoSpec>,
    /// How the weights are held: `fixed` (constants of the circuit, bound by the verifying
    /// key), `private` (a witness the verifying key does not reveal) or `hashed` (private, with
    /// the public Poseidon commitment of every parameter and `weights_salt`).
    pub weights: Visibility,
    /// The salt of the weights commitment (hashed weights only), `0x` hex. Keep `model.json`
    /// private when the weights are: it holds them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_salt: Option<String>,
    /// Layers in execution order.
    pub layers: Vec<Layer>,
    /// Lookup tables.
    pub tables: Tables,
    /// Layout.
    pub layout: LayoutParams,
    /// Rows the layout uses.
    pub rows: usize,
    /// Float vs quantized agreement measured at compile time.
    pub report: QuantReport,
}

impl CompiledModel {
    /// Quantizes one set of float inputs (one flat vector per model input), checking shapes.
    pub fn quantize_inputs(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<i64>>> {
        if inputs.len() != self.inputs.len() {
            return Err(CircuitError::InputCount {
                expected: self.inputs.len(),
                got: inputs.len(),
            });
        }
        self.inputs
            .iter()
            .zip(inputs)
            .map(|(spec, data)| {
                let t = &self.tensors[spec.tensor];
                if data.len() != t.numel() {
                    return Err(CircuitError::InputShape {
                        name: t.name.clone(),
                        shape: t.shape.clone(),
                        expected: t.numel(),
                        got: data.len(),
                    });
                }
                if let Some(bad) = data.iter().find(|x| !x.is_finite()) {
                    return Err(CircuitError::Mismatch(format!(
                        "input `{}` contains {bad}",
                        t.name
                    )));
                }
                Ok(data.iter().map(|x| quantize(*x, t.scale_bits)).collect())
            })
            .collect()
    }

    /// Number of public instance values: the packed elements of every public input and
    /// output and one commitment per hashed one, in the order inputs then outputs, then the
    /// weights commitment when the weights are hashed.
    pub fn num_instances(&self) -> usize {
        let io: usize = self
            .inputs
            .iter()
            .chain(&self.outputs)
            .map(|io| self.io_instances(io))
            .sum();
        io + usize::from(self.weights == Visibility::Hashed)
    }

    /// Every model parameter (weights and biases of dense, convolution and affine layers, and
    /// added constants), in layer order, each with whether it is a weight (multiplied by
    /// activations; range-checked and packed before hashing) rather than a bias or constant.
    pub fn parameter_kinds(&self) -> Vec<(i64, bool)> {
        let mut out = Vec::new();
        for layer in &self.layers {
            match layer {
                Layer::Dense { weight, bias, .. }
                | Layer::Conv { weight, bias, .. }
                | Layer::Affine { weight, bias, .. } => {
                    out.extend(weight.iter().map(|v| (*v, true)));
                    out.extend(bias.iter().map(|v| (*v, false)));
                }
                Layer::AddConst { constant, .. } => {
                    out.extend(constant.iter().map(|v| (*v, false)))
                }
                _ => {}
            }
        }
        out
    }

    /// Every model parameter, in layer order (see [`Self::parameter_kinds`]).
    pub fn parameters(&self) -> Vec<i64> {
        self.parameter_kinds().into_iter().map(|(v, _)| v).collect()
    }

    /// The weights, then the other parameters (biases and added constants), each in layer
    /// order.
    pub fn split_parameters(&self) -> (Vec<i64>, Vec<i64>) {
        let (weights, others): (Vec<_>, Vec<_>) =
            self.parameter_kinds().into_iter().partition(|(_, w)| *w);
        let values = |v: Vec<(i64, bool)>| v.into_iter().map(|(v, _)| v).collect();
        (values(weights), values(others))
    }

    /// The signed bit width that holds every weight.
    pub fn weight_bits_needed(&self) -> u32 {
        let max = self
            .split_parameters()
            .0
            .iter()
            .map(|v| v.unsigned_abs())
            .max()
            .unwrap_or(0);
        (64 - max.leading_zeros()) + 1
    }

    /// The width weights are range-checked to and packed at: the compiled table's, else what
    /// the weights need.
    pub fn weight_bits(&self) -> u32 {
        self.tables
            .weight_bits
            .unwrap_or_else(|| self.weight_bits_needed())
    }

    /// What the weights commitment hashes: the weights packed `⌊252 / weight_bits⌋` per field
    /// element (they are range-checked to `weight_bits` in the circuit, so packing is
    /// injective), then every bias and added constant, then the salt.
    pub fn weights_message(&self, salt: crate::Fr) -> Vec<crate::Fr> {
        let (weights, others) = self.split_parameters();
        let mut message = crate::fixed_point::pack(&weights, self.weight_bits());
        message.extend(
            others
                .iter()
                .map(|v| crate::fixed_point::to_field(i128::from(*v))),
        );
        message.push(salt);
        message
    }

    /// Whether the weights are a witness (private or hashed) rather than circuit constants.
    pub fn private_weights(&self) -> bool {
        matches!(self.weights, Visibility::Private | Visibility::Hashed)
    }

    /// The salt of hashed weights.
    pub fn weights_salt(&self) -> Result<Option<crate::Fr>> {
        match (&self.weights, &self.weights_salt) {
            (Visibility::Hashed, Some(s)) => crate::fixed_point::field_from_hex(s)
                .map(Some)
                .ok_or_else(|| {
                    CircuitError::Mismatch(format!("weights salt `{s}` is not a field element"))
                }),
            (Visibility::Hashed, None) => Err(CircuitError::Mismatch(
                "hashed weights without a salt (recompile the model)".into(),
            )),
            _ => Ok(None),
        }
    }

    /// The Poseidon commitment `C_W` to the parameters under the weights salt (hashed weights
    /// only): the hash of [`Self::weights_message`].
    pub fn weights_commitment(&self) -> Result<Option<crate::Fr>> {
        Ok(self
            .weights_salt()?
            .map(|salt| crate::poseidon::hash(&self.weights_message(salt))))
    }

    /// Instances of one input or output.
    pub fn io_instances(&self, io: &IoSpec) -> usize {
        match io.visibility {
            Visibility::Public => self.tensors[io.tensor]
                .numel()
                .div_ceil(values_per_instance(io.pack_bits)),
            Visibility::Hashed => 1,
            Visibility::Private | Visibility::Fixed => 0,
        }
    }

    /// Whether anything is hashed (the circuit then has the Poseidon gates).
    pub fn uses_poseidon(&self) -> bool {
        self.weights == Visibility::Hashed
            || self
                .inputs
                .iter()
                .chain(&self.outputs)
                .any(|io| io.visibility == Visibility::Hashed)
    }

    /// Reads `model.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| CircuitError::io(path, e))?;
        let model: Self = serde_json::from_str(&text).map_err(|e| CircuitError::Json {
            path: path.to_owned(),
            what: "compiled model",
            reason: e.to_string(),
        })?;
        if model.format != FORMAT_VERSION {
            return Err(CircuitError::Mismatch(format!(
                "{}: compiled model format {} is not supported (expected {FORMAT_VERSION}); recompile the model",
                path.display(),
                                model.format
            )));
        }
        model.validate().map_err(|reason| CircuitError::Json {
            path: path.to_owned(),
            what: "compiled model",
            reason,
        })?;
        Ok(model)
    }

    /// Checks the structure a hand-edited or corrupted file could break (tensor ids, lengths,
    /// table widths, layout), so that nothing later indexes out of range.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let n = self.tensors.len();
        let numel = |t: TensorId| -> std::result::Result<usize, String> {
            self.tensors
                .get(t)
                .map(QTensor::numel)
                .ok_or_else(|| format!("tensor id {t} out of range (there are {n})"))
        };
        let len_is = |what: &str, got: usize, want: usize| {
            if got == want {
                Ok(())
            } else {
                Err(format!("{what}: {got} values where {want} are needed"))
            }
        };
        if !(3..=64).contains(&self.layout.width)
            || !(4..=crate::srs::MAX_K).contains(&self.layout.k)
        {
            return Err(format!(
                "layout width {} / k {} out of range",
                self.layout.width, self.layout.k
            ));
        }
        if self
            .tables
            .activations
            .values()
            .chain(&self.tables.range_shifts)
            .any(|b| *b == 0 || *b > 24)
        {
            return Err("a lookup table width is outside 1..=24 bits".into());
        }
        if self.weights == Visibility::Public {
            return Err("weights are fixed, private or hashed, never public".into());
        }
        self.weights_salt().map_err(|e| e.to_string())?;
        for io in self.inputs.iter().chain(&self.outputs) {
            numel(io.tensor)?;
            if !(2..=126).contains(&io.pack_bits) {
                return Err(format!("pack width {} out of range", io.pack_bits));
            }
            if io.visibility == Visibility::Fixed {
                return Err(
                    "an input or output cannot be `fixed` (public, private or hashed)".into(),
                );
            }
        }
        let act_ok = |act: &Activation| self.tables.activations.contains_key(act);
        for layer in &self.layers {
            let node = layer.node();
            let with =
                |r: std::result::Result<(), String>| r.map_err(|e| format!("layer `{node}`: {e}"));
            match layer {
                Layer::Dense {
                    input,
                    output,
                    n_in,
                    n_out,
                    weight,
                    bias,
                    rescale,
                    ..
                } => {
                    let (i, o) = (numel(*input)?, numel(*output)?);
                    with(len_is("weights", weight.len(), n_in * n_out))?;
                    with(len_is("bias", bias.len(), *n_out))?;
                    if *n_in == 0 || i % n_in != 0 || o != i / n_in * n_out {
                        return with(Err("input and output sizes do not fit the matrix".into()));
                    }
                    if rescale.is_some_and(|r| !act_ok(&r.act)) {
                        return with(Err("no table for its activation".into()));
                    }
                }
                Layer::Conv {
                    input,
                    output,
                    geometry,
                    weight,
                    bias,
                    rescale,
                    ..
                } => {
                    let in_shape = [
                        vec![geometry.batch, geometry.in_channels],
                        geometry.in_spatial.clone(),
                    ]
                    .concat();
                    with(len_is("input", numel(*input)?, in_shape.iter().product()))?;
                    with(len_is(
                        "output",
                        numel(*output)?,
                        geometry.output_shape().iter().product(),
                    ))?;
                    with(len_is("weights", weight.len(), geometry.weight_len()))?;
                    with(len_is("bias", bias.len(), geometry.out_channels))?;
                    if rescale.is_some_and(|r| !act_ok(&r.act)) {
                        return with(Err("no table for its activation".into()));
                    }
                }
                Layer::Affine {
                    input,
                    output,
                    weight,
                    bias,
                    rescale,
                    ..
                } => {
                    let o = numel(*output)?;
                    with(len_is("input", numel(*input)?, o))?;
                    with(len_is("weights", weight.len(), o))?;
                    with(len_is("bias", bias.len(), o))?;
                    if rescale.is_some_and(|r| !act_ok(&r.act)) {
                        return with(Err("no table for its activation".into()));
                    }
                }
                Layer::Select {
                    inputs,
                    output,
                    map,
                    ..
                } => {
                    with(len_is("map", map.len(), numel(*output)?))?;
                    let sizes = inputs
                        .iter()
                        .map(|t| numel(*t))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    if map
                        .iter()
                        .flatten()
                        .any(|(a, i)| sizes.get(*a as usize).is_none_or(|s| *i as usize >= *s))
                    {
                        return with(Err("an index points outside its operand".into()));
                    }
                }
                Layer::MaxPool {
                    input,
                    output,
                    windows,
                    ..
                } => {
                    let size = numel(*input)?;
                    with(len_is("windows", windows.len(), numel(*output)?))?;
                    if windows
                        .iter()
                        .any(|w| w.is_empty() || w.iter().any(|i| *i as usize >= size))
                        || !act_ok(&Activation::Relu)
                    {
                        return with(Err("a window is empty or points outside the input".into()));
                    }
                }
                Layer::Add { a, b, output, .. } => {
                    let o = numel(*output)?;
                    with(len_is("left operand", numel(*a)?, o))?;
                    with(len_is("right operand", numel(*b)?, o))?;
                }
                Layer::AddConst {
                    input,
                    constant,
                    output,
                    ..
                } => {
                    let o = numel(*output)?;
                    with(len_is("input", numel(*input)?, o))?;
                    with(len_is("constant", constant.len(), o))?;
                }
                Layer::Activation {
                    act, input, output, ..
                } => {
                    with(len_is("input", numel(*input)?, numel(*output)?))?;
                    if !act_ok(act) {
                        return with(Err("no table for its activation".into()));
                    }
                }
                Layer::Reshape { input, output, .. } => {
                    with(len_is("input", numel(*input)?, numel(*output)?))?
                }
            }
        }
        if !self.inputs.is_empty() && !act_ok(&Activation::Identity) {
            return Err("no identity table for the input range checks".into());
        }
        Ok(())
    }

    /// Writes `model.json`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| CircuitError::Json {
            path: path.to_owned(),
            what: "compiled model",
            reason: e.to_string(),
        })?;
        std::fs::write(path, text).map_err(|e| CircuitError::io(path, e))
    }
}

/// `BTreeMap<Activation, u32>` as a JSON list of `{"act": …, "bits": …}`.
mod table_list {
    use crate::model::Activation;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize)]
    struct Entry {
        act: Activation,
        bits: u32,
    }

    pub(super) fn serialize<S: Serializer>(
        map: &BTreeMap<Activation, u32>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        map.iter()
            .map(|(act, bits)| Entry {
                act: *act,
                bits: *bits,
            })
            .collect::<Vec<_>>()
            .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<Activation, u32>, D::Error> {
        Ok(Vec::<Entry>::deserialize(d)?
            .into_iter()
            .map(|e| (e.act, e.bits))
            .collect())
    }
}
