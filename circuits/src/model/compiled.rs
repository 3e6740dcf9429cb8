//! The compiled-model format (`model.json`): layers, tensors, tables, layout and the
//! float-vs-quantized report.

use crate::error::{CircuitError, Result};
use crate::fixed_point::{quantize, values_per_instance};
use crate::model::{Activation, Layer, TensorId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the `model.json` format written by `compile`.
pub const FORMAT_VERSION: u32 = 1;
/// The largest `k` we accept (BN254's two-adicity is 28; beyond 26 nothing fits in memory here).
pub const MAX_K: u32 = 26;
/// Extra output bits an activation may take (see [`Tables::gains`]).
pub const MAX_GAIN: u32 = 6;
/// Rows halo2 keeps for blinding and its last-row checks, plus a safety margin.
pub const RESERVED_ROWS: usize = 16;

/// Smallest `k` whose usable rows hold both the layout and the lookup table.
pub fn min_k(rows: usize, table_rows: usize) -> u32 {
    let need = rows.max(table_rows) + RESERVED_ROWS;
    need.next_power_of_two().trailing_zeros().max(4)
}

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
    /// The declared element type of a model input: an integer or boolean input takes only
    /// whole numbers of its type.
    #[serde(default, skip_serializing_if = "is_float")]
    pub dtype: super::InputType,
    /// A tensor crossing a cut between two segments of a split model ([`crate::split`]):
    /// hashed over its values packed `⌊252 / pack_bits⌋` per field element (a few rows per
    /// value instead of a sponge row per value), and, as an input, range-checked to
    /// `pack_bits` by limbs instead of by the identity table, so that the packing is
    /// injective on both sides of the cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub boundary: bool,
    /// Extra fractional bits of each feature (the last axis) of a float model input over its
    /// tensor's scale: a feature far narrower than the tensor's widest (tabular data) is
    /// quantized finer, and the linear layers reading it take its weights that much coarser
    /// (their accumulators stay at one scale). Empty: every element at the tensor's scale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_bits: Vec<u32>,
}

impl IoSpec {
    /// The fractional bits of element `k` of this tensor (whose own scale is `scale_bits`).
    pub fn element_scale(&self, scale_bits: u32, k: usize) -> u32 {
        match self.feature_bits.len() {
            0 => scale_bits,
            n => scale_bits + self.feature_bits[k % n],
        }
    }

    /// Float `data` of `tensor` (this spec's) in fixed point, element by element.
    pub fn quantize(&self, tensor: &QTensor, data: &[f32]) -> Vec<i64> {
        data.iter()
            .enumerate()
            .map(|(k, x)| quantize(*x, self.element_scale(tensor.scale_bits, k)))
            .collect()
    }

    /// Fixed-point `values` of `tensor` (this spec's) as reals, element by element.
    pub fn dequantize(&self, tensor: &QTensor, values: &[i64]) -> Vec<f64> {
        values
            .iter()
            .enumerate()
            .map(|(k, v)| {
                crate::fixed_point::dequantize(*v, self.element_scale(tensor.scale_bits, k))
            })
            .collect()
    }

    /// The commitment to this tensor's quantized `values` under `salt`, as the circuit
    /// computes it (see [`commit_values`]).
    pub fn commitment(&self, values: &[i64], salt: crate::Fr) -> crate::Fr {
        commit_values(values, self.boundary.then_some(self.pack_bits), salt)
    }
}

/// The Poseidon commitment to quantized `values` under `salt`, as the circuit computes it:
/// `Poseidon(values ‖ salt)`, or for a segment boundary packed at `pack` bits,
/// `Poseidon(pack(values) ‖ salt)`.
pub fn commit_values(values: &[i64], pack: Option<u32>, salt: crate::Fr) -> crate::Fr {
    let fields = match pack {
        Some(bits) => crate::fixed_point::pack(values, bits),
        None => values
            .iter()
            .map(|v| crate::fixed_point::to_field(i128::from(*v)))
            .collect(),
    };
    crate::poseidon::commit(&fields, salt)
}

fn is_float(t: &super::InputType) -> bool {
    *t == super::InputType::Float
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
    /// Range checks wider than this many bits are made of limbs of this width (each looked up
    /// in its range table, recombined by a dot-product row) instead of one lookup into a table
    /// as wide as the range; the identity "table" of such a width is then never built. `None`
    /// (and every model compiled before limbs existed): every check is one lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limb_bits: Option<u32>,
    /// Extra fractional bits of an activation's output (its table maps inputs at
    /// `scale_bits` to outputs at `scale_bits + gain`); absent: 0.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "gain_list"
    )]
    pub gains: BTreeMap<Activation, u32>,
    /// With one-row rescales only: the identity's checks are split rows instead of lookups
    /// into an identity table (which is then never built). A `b`-bit signed check of `v` is
    /// one row of the one-row rescale's gate, `v + 2^(b−1) = hi·2^s + lo`, with `lo` in the
    /// range table of `s` (this width, at most `b`) and `hi` in that of `b − s` (none when
    /// `s = b`): the identity then costs two small range tables instead of `2^b` rows.
    /// `None` (and every model compiled before split checks existed): the identity table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_split: Option<u32>,
}

/// Limb width of range checks that are split ([`Tables::limb_bits`]).
pub const LIMB_BITS: u32 = 10;

impl Tables {
    /// The extra output bits of `act`'s table.
    pub fn gain(&self, act: Activation) -> u32 {
        self.gains.get(&act).copied().unwrap_or(0)
    }

    /// `act` on a value at the activation scale, as its table holds it.
    pub fn apply(&self, act: Activation, x: i128) -> i128 {
        act.apply_gain(x, self.scale_bits, self.gain(act))
    }

    /// Rows of the combined table, including its all-zero first row.
    pub fn rows(&self) -> usize {
        1 + self.weight_bits.map_or(0, |b| 1usize << b)
            + self.range_shifts.iter().map(|s| 1usize << s).sum::<usize>()
            + self
                .activations
                .iter()
                .filter(|(act, bits)| !self.limbed_table(**act, **bits))
                .map(|(_, b)| 1usize << b)
                .sum::<usize>()
    }

    /// Whether a range check of `bits` bits is split into limbs.
    pub fn limbed(&self, bits: u32) -> bool {
        self.limb_bits.is_some_and(|l| bits > l)
    }

    /// Whether the table of `act` at `bits` is replaced by range checks, limbs or split rows
    /// (only the identity's can be: it checks a range and computes nothing).
    pub fn limbed_table(&self, act: Activation, bits: u32) -> bool {
        act == Activation::Identity && (self.limbed(bits) || self.identity_split.is_some())
    }

    /// The widths `(lo, hi)` of the identity's split checks ([`Self::identity_split`]): `hi`
    /// is 0 when the low part covers the whole width.
    pub fn split_identity(&self) -> Option<(u32, u32)> {
        let s = self.identity_split?;
        let b = self.activations.get(&Activation::Identity).copied()?;
        let lo = s.min(b);
        Some((lo, b - lo))
    }

    /// The identity's signed width when its checks are made of limbs.
    pub fn limbed_identity(&self) -> Option<u32> {
        self.activations
            .get(&Activation::Identity)
            .copied()
            .filter(|b| self.limbed(*b))
    }

    /// The limb widths of a `bits`-bit range check, lowest first: one lookup when the check
    /// is not split, else full limbs and a narrower top limb.
    pub fn limbs(&self, bits: u32) -> Vec<u32> {
        match self.limb_bits.filter(|l| bits > *l) {
            None => vec![bits],
            Some(l) => limb_widths(bits, l),
        }
    }

    /// The limb widths, lowest first, of the `bits`-bit check of a segment's boundary input
    /// ([`IoSpec::boundary`]): limbs of the model's limb width (else [`LIMB_BITS`]), whatever
    /// the model does for its other checks, so that no table as wide as the value is built.
    pub fn boundary_limbs(&self, bits: u32) -> Vec<u32> {
        limb_widths(bits, self.limb_bits.unwrap_or(LIMB_BITS))
    }

    /// Makes sure the range tables a `bits`-bit check needs exist.
    pub fn need_range(&mut self, bits: u32) {
        for b in self.limbs(bits) {
            if !self.range_shifts.contains(&b) {
                self.range_shifts.push(b);
            }
        }
    }
}

/// The widths of `bits` split into limbs of `limb` bits, lowest first: full limbs, then a
/// narrower top limb.
fn limb_widths(bits: u32, limb: u32) -> Vec<u32> {
    let mut widths = vec![limb; (bits / limb) as usize];
    if bits % limb != 0 {
        widths.push(bits % limb);
    }
    widths
}

/// How the circuit is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutParams {
    /// Multiply-accumulates per dot-product row (advice columns besides the accumulator).
    pub width: usize,
    /// The circuit has `2^k` rows.
    pub k: u32,
    /// Rescales take one row: the remainder is range-checked by a second lookup on the same
    /// row instead of a row of its own. Chosen by the compiler where it lowers `k` (the extra
    /// lookup costs columns).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub one_row_rescale: bool,
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
    /// The relative error of the worst sample: its sum of absolute errors over its sum of
    /// float output magnitudes. Never below [`Self::mean_rel_error`], which pools every
    /// sample (a weighted mean of the samples' relative errors).
    pub max_rel_error: f64,
    /// The sum of absolute errors over the sum of float output magnitudes (the error a
    /// reader of the outputs sees on average, relative to their size).
    #[serde(default)]
    pub mean_rel_error: f64,
    /// The largest float output magnitude (`max_abs_error` is read against it).
    #[serde(default)]
    pub largest_output: f64,
    /// Share of samples whose arg-max agrees (for outputs with more than one element).
    pub top1_agreement: Option<f64>,
    /// Largest difference between tract's float inference and our float reading of the graph.
    pub import_max_diff: f64,
    /// Why tract could not run the model, when it could not (an op it does not implement):
    /// `import_max_diff` then checked nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_unchecked: Option<String>,
    /// Each layer's output against the float model's same tensor on the calibration samples,
    /// `Σ|quantized − float| / Σ|float|`, in the order of the model's layers: where rounding
    /// enters and grows. `None` where the float model has no such tensor (one the lowering
    /// added: a copy at another scale, a product's halves) or it is zero throughout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_errors: Vec<Option<f64>>,
}

/// A model compiled for the circuit: what `compile` writes as `model.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompiledModel {
    /// Format version ([`FORMAT_VERSION`]).
    pub format: u32,
    /// Model name.
    pub name: String,
    /// SHA-256 of the ONNX model it came from: its file's bytes (for a model with external
    /// data, of the model with that data read in).
    pub source_sha256: String,
    /// The working fixed-point scale of activations (fractional bits): model inputs, lookup
    /// inputs and every rescaled result; a tensor's own scale (finer after a compressing
    /// activation or a division) is in [`QTensor::scale_bits`].
    pub scale_bits: u32,
    /// The fixed-point scale of weights (fractional bits).
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
                    return Err(CircuitError::BadValue {
                        what: format!("input `{}`", t.name),
                        reason: format!("contains {bad}"),
                    });
                }
                spec.dtype.check_values(&t.name, data)?;
                Ok(spec.quantize(t, data))
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
            let (weights, others) = layer.parameters();
            out.extend(weights.iter().map(|v| (*v, true)));
            out.extend(others.iter().map(|v| (*v, false)));
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
                .ok_or_else(|| CircuitError::NotAFieldElement {
                    what: "weights salt".into(),
                    value: s.clone(),
                }),
            (Visibility::Hashed, None) => Err(CircuitError::Incompatible(
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

    /// Whether a layer multiplies two computed tensors or divides by one (the circuit then has
    /// the product gates).
    pub fn uses_products(&self) -> bool {
        self.layers
            .iter()
            .any(|l| matches!(l, Layer::Product(_) | Layer::Div(_)))
    }

    /// Whether a linear layer is checked by a randomized (Freivalds) identity, which adds the
    /// circuit's second phase.
    pub fn uses_freivalds(&self) -> bool {
        self.layers.iter().any(|l| match l {
            Layer::Dense(d) => !d.check.is_direct(),
            Layer::Conv(c) => !c.check.is_direct(),
            _ => false,
        })
    }
}

/// Serde of a map keyed by activations as a list of `{"act": …, "FIELD": n}` objects (JSON
/// object keys must be strings, and activations are objects).
macro_rules! act_list {
    ($module:ident, $field:ident) => {
        mod $module {
            use crate::model::Activation;
            use serde::{Deserialize, Deserializer, Serialize, Serializer};
            use std::collections::BTreeMap;

            #[derive(Serialize, Deserialize)]
            struct Entry {
                act: Activation,
                $field: u32,
            }

            pub(super) fn serialize<S: Serializer>(
                map: &BTreeMap<Activation, u32>,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                map.iter()
                    .map(|(act, v)| Entry {
                        act: *act,
                        $field: *v,
                    })
                    .collect::<Vec<_>>()
                    .serialize(s)
            }

            pub(super) fn deserialize<'de, D: Deserializer<'de>>(
                d: D,
            ) -> Result<BTreeMap<Activation, u32>, D::Error> {
                Ok(Vec::<Entry>::deserialize(d)?
                    .into_iter()
                    .map(|e| (e.act, e.$field))
                    .collect())
            }
        }
    };
}

act_list!(table_list, bits);
act_list!(gain_list, gain);
