//! Proof files (single and aggregated) and openings files; input and calibration files are
//! read by [`crate::inputs`], re-exported here.

use crate::error::{CircuitError, Result};
use crate::fixed_point::{field_from_hex, field_to_hex, pack, unpack};
pub use crate::inputs::{parse_calibration, parse_field, InputFile};
pub(crate) use crate::json::{from_json, to_json};
use crate::model::{CompiledModel, Visibility, FORMAT_VERSION};
use crate::prover::{Proof, Transcript};
use crate::Fr;
use serde::{Deserialize, Serialize};

/// A tensor's value in a proof file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorValue {
    /// ONNX name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Fractional bits of `quantized`.
    pub scale_bits: u32,
    /// Extra fractional bits of each feature (last axis) over `scale_bits`, for an input
    /// quantized finer where its features are narrow (absent: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_bits: Vec<u32>,
    /// Bits per value in the packed public instances.
    pub pack_bits: u32,
    /// `public` (values shown), `hashed` (only the commitment) or `private` (nothing).
    #[serde(default = "public")]
    pub visibility: Visibility,
    /// The Poseidon commitment of a hashed tensor, `0x` hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    /// The fixed-point values the proof is about (empty unless public).
    pub quantized: Vec<i64>,
    /// The same, dequantized (for people; `quantized` is authoritative).
    pub values: Vec<f64>,
}

fn public() -> Visibility {
    Visibility::Public
}

impl TensorValue {
    /// The public instances this tensor stands for.
    fn instances(&self) -> Result<Vec<Fr>> {
        match self.visibility {
            Visibility::Public if !(1..=64).contains(&self.pack_bits) => {
                Err(CircuitError::Malformed(format!(
                    "`{}` claims {} pack bits (values are packed with 1 to 64)",
                    self.name, self.pack_bits
                )))
            }
            Visibility::Public => Ok(pack(&self.quantized, self.pack_bits)),
            Visibility::Hashed => {
                let c = self.commitment.as_deref().unwrap_or_default();
                let f = field_from_hex(c).ok_or_else(|| {
                    CircuitError::Malformed(format!(
                        "hashed tensor `{}` has no valid commitment (`{c}`)",
                        self.name
                    ))
                })?;
                Ok(vec![f])
            }
            Visibility::Private | Visibility::Fixed => Ok(Vec::new()),
        }
    }
}

/// Version tag of proof files.
pub const PROOF_FORMAT: &str = "snarkml-proof/1";

/// A proof file: the proof, its public instances, and the inputs and outputs they encode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProofFile {
    /// [`PROOF_FORMAT`].
    pub format: String,
    /// Model name.
    pub model: String,
    /// SHA-256 of the verifying key it was made for.
    pub vk_hash: String,
    /// Identifier of the SRS the keys came from.
    pub srs_id: String,
    /// Fiat–Shamir transcript: `keccak256` (verifiable on the EVM) or `poseidon` (for
    /// aggregation).
    pub transcript: String,
    /// Proof bytes, `0x` hex.
    pub proof: String,
    /// Public instances as 32-byte big-endian `0x` hex: the packed inputs, then the packed
    /// outputs (see `pack_bits`).
    pub instances: Vec<String>,
    /// Public inputs.
    pub inputs: Vec<TensorValue>,
    /// Public outputs.
    pub outputs: Vec<TensorValue>,
    /// The Poseidon commitment to the weights (hashed weights only), `0x` hex: the last
    /// instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_commitment: Option<String>,
}

/// The values of model inputs or outputs, quantized and dequantized, all shown (as `snarkml
/// run` prints them, whatever their visibility in proofs).
pub fn tensor_values(
    model: &CompiledModel,
    specs: &[crate::model::IoSpec],
    data: &[Vec<i64>],
) -> Vec<TensorValue> {
    let shown: Vec<_> = specs
        .iter()
        .map(|s| crate::model::IoSpec {
            visibility: Visibility::Public,
            ..s.clone()
        })
        .collect();
    proof_tensor_values(model, &shown, data, &mut std::iter::empty())
}

/// The values of model inputs or outputs as a proof file shows them: quantized and
/// dequantized when public, the commitment (taken in order from `commitments`) when hashed,
/// nothing when private.
fn proof_tensor_values(
    model: &CompiledModel,
    specs: &[crate::model::IoSpec],
    data: &[Vec<i64>],
    commitments: &mut impl Iterator<Item = Fr>,
) -> Vec<TensorValue> {
    specs
        .iter()
        .zip(data)
        .map(|(spec, q)| {
            let t = &model.tensors[spec.tensor];
            let public = spec.visibility == Visibility::Public;
            let shown = if public { q.clone() } else { Vec::new() };
            TensorValue {
                name: t.name.clone(),
                shape: t.shape.clone(),
                scale_bits: t.scale_bits,
                feature_bits: spec.feature_bits.clone(),
                pack_bits: spec.pack_bits,
                visibility: spec.visibility,
                commitment: (spec.visibility == Visibility::Hashed)
                    .then(|| commitments.next().map(|c| field_to_hex(&c)))
                    .flatten(),
                values: spec.dequantize(t, &shown),
                quantized: shown,
            }
        })
        .collect()
}

impl ProofFile {
    /// Assembles a proof file.
    pub fn new(
        model: &CompiledModel,
        proof: &Proof,
        inputs: &[Vec<i64>],
        vk_hash: &str,
        srs_id: &str,
    ) -> Self {
        let mut commitments = proof.commitments.iter().copied();
        Self {
            format: PROOF_FORMAT.into(),
            model: model.name.clone(),
            vk_hash: vk_hash.into(),
            srs_id: srs_id.into(),
            transcript: proof.transcript.name().into(),
            proof: format!("0x{}", hex::encode(&proof.proof)),
            instances: proof.instances.iter().map(field_to_hex).collect(),
            inputs: proof_tensor_values(model, &model.inputs, inputs, &mut commitments),
            outputs: proof_tensor_values(model, &model.outputs, &proof.outputs, &mut commitments),
            weights_commitment: (model.weights == Visibility::Hashed)
                .then(|| commitments.next().map(|c| field_to_hex(&c)))
                .flatten(),
        }
    }

    /// Parses a proof file and checks only its format, proof bytes and transcript name:
    /// nothing it shows is checked yet (see [`ProofFile::from_json`] and
    /// [`ProofFile::check_against`]).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let file: Self = from_json(bytes, "proof file")?;
        if file.format != PROOF_FORMAT {
            return Err(CircuitError::UnsupportedFormat {
                what: "proof",
                found: file.format,
                expected: PROOF_FORMAT.into(),
                hint: "",
            });
        }
        file.proof_bytes()?;
        file.transcript_kind()?;
        Ok(file)
    }

    /// What `instances` prove for `model`, as a proof file shows it: the inputs and outputs
    /// (public values unpacked from the instances and dequantized at the model's scales, the
    /// commitment of a hashed tensor, no values for a hashed or private one) and the weights
    /// commitment.
    pub fn proven(model: &CompiledModel, instances: &[Fr]) -> Result<ProvenValues> {
        let expected = model.num_instances();
        if instances.len() != expected {
            return Err(CircuitError::UnprovenField {
                field: "instances".into(),
                shown: format!("{} instances", instances.len()),
                proven: format!("{expected} for model `{}`", model.name),
            });
        }
        let (mut at, mut data, mut commitments) = (0, Vec::new(), Vec::new());
        for spec in model.inputs.iter().chain(&model.outputs) {
            let n = model.io_instances(spec);
            let mine = &instances[at..at + n];
            let t = &model.tensors[spec.tensor];
            data.push(match spec.visibility {
                Visibility::Public => unpack(mine, spec.pack_bits, t.numel()).ok_or_else(|| {
                    CircuitError::Malformed(format!(
                        "public instances #{at}..#{} are not {} packed values of {} bits (`{}`)",
                        at + n,
                        t.numel(),
                        spec.pack_bits,
                        t.name
                    ))
                })?,
                Visibility::Hashed => {
                    commitments.extend_from_slice(mine);
                    Vec::new()
                }
                Visibility::Private | Visibility::Fixed => Vec::new(),
            });
            at += n;
        }
        if model.weights == Visibility::Hashed {
            commitments.push(instances[at]);
        }
        let mut commitments = commitments.into_iter();
        let (ins, outs) = data.split_at(model.inputs.len());
        Ok(ProvenValues {
            inputs: proof_tensor_values(model, &model.inputs, ins, &mut commitments),
            outputs: proof_tensor_values(model, &model.outputs, outs, &mut commitments),
            weights_commitment: commitments.next().map(|c| field_to_hex(&c)),
        })
    }

    /// Checks every field this file displays (model name; each input's and output's name,
    /// shape, scale, pack bits, visibility, commitment, quantized and dequantized values; the
    /// weights commitment) against what its public instances prove for `model`: the first
    /// that differs is [`CircuitError::UnprovenField`], naming it. A hashed or private tensor
    /// must show no values. Returns the file with those fields recomputed from the instances.
    pub fn check_against(&self, model: &CompiledModel) -> Result<Self> {
        let unproven = |field: String, shown: String, proven: String| CircuitError::UnprovenField {
            field,
            shown,
            proven,
        };
        if self.model != model.name {
            return Err(unproven(
                "model".into(),
                format!("`{}`", self.model),
                format!("`{}`", model.name),
            ));
        }
        let roles = [
            ("inputs", &self.inputs, &model.inputs),
            ("outputs", &self.outputs, &model.outputs),
        ];
        // What the model alone fixes, before any instance is read.
        for (role, shown, specs) in roles {
            if shown.len() != specs.len() {
                return Err(unproven(
                    role.into(),
                    format!("{} tensors", shown.len()),
                    format!("{}", specs.len()),
                ));
            }
            let none = vec![Vec::new(); specs.len()];
            let meta = proof_tensor_values(model, specs, &none, &mut std::iter::empty());
            for (i, (s, m)) in shown.iter().zip(&meta).enumerate() {
                let at = |f: &str| format!("{role}[{i}].{f}");
                let differs = [
                    (
                        "name",
                        s.name != m.name,
                        format!("`{}`", s.name),
                        format!("`{}`", m.name),
                    ),
                    (
                        "shape",
                        s.shape != m.shape,
                        format!("{:?}", s.shape),
                        format!("{:?}", m.shape),
                    ),
                    (
                        "scale_bits",
                        s.scale_bits != m.scale_bits,
                        s.scale_bits.to_string(),
                        m.scale_bits.to_string(),
                    ),
                    (
                        "feature_bits",
                        s.feature_bits != m.feature_bits,
                        format!("{:?}", s.feature_bits),
                        format!("{:?}", m.feature_bits),
                    ),
                    (
                        "pack_bits",
                        s.pack_bits != m.pack_bits,
                        s.pack_bits.to_string(),
                        m.pack_bits.to_string(),
                    ),
                    (
                        "visibility",
                        s.visibility != m.visibility,
                        format!("{:?}", s.visibility),
                        format!("{:?}", m.visibility),
                    ),
                ];
                if let Some((f, _, shown, proven)) = differs.into_iter().find(|d| d.1) {
                    return Err(unproven(at(f), shown, proven));
                }
                if m.visibility != Visibility::Public {
                    for (f, n) in [("quantized", s.quantized.len()), ("values", s.values.len())] {
                        if n > 0 {
                            return Err(unproven(
                                at(f),
                                format!("{n} values"),
                                format!(
                                    "none: `{}` is {:?}, so a file that shows its values claims what is not proven",
                                    m.name, m.visibility
                                ),
                            ));
                        }
                    }
                }
            }
        }
        let proven = Self::proven(model, &self.instance_fields()?)?;
        let roles = [
            ("inputs", &self.inputs, &proven.inputs),
            ("outputs", &self.outputs, &proven.outputs),
        ];
        for (role, shown, proven) in roles {
            for (i, (s, p)) in shown.iter().zip(proven).enumerate() {
                compare_values(&format!("{role}[{i}]"), s, p)?;
            }
        }
        let same = |c: &Option<String>| c.as_deref().map(field_from_hex);
        if same(&self.weights_commitment) != same(&proven.weights_commitment) {
            let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".into());
            return Err(unproven(
                "weights_commitment".into(),
                show(&self.weights_commitment),
                show(&proven.weights_commitment),
            ));
        }
        Ok(Self {
            inputs: proven.inputs,
            outputs: proven.outputs,
            weights_commitment: proven.weights_commitment,
            ..self.clone()
        })
    }

    /// Parses a proof file and checks it is self-consistent: the instances must encode exactly
    /// the quantized inputs and outputs it shows. (What the values mean needs the model: see
    /// [`ProofFile::check_against`].)
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let file = Self::parse(bytes)?;
        let instances = file.instance_fields()?;
        let mut shown: Vec<Fr> = Vec::new();
        for t in file.inputs.iter().chain(&file.outputs) {
            let valued = t.visibility == Visibility::Public;
            let shows_values = !(t.quantized.is_empty() && t.values.is_empty());
            if !valued && shows_values {
                return Err(CircuitError::malformed(format!(
                    "`{}` is {:?} but the file shows its values",
                    t.name, t.visibility
                )));
            }
            shown.extend(t.instances()?);
        }
        if let Some(c) = &file.weights_commitment {
            shown.push(
                field_from_hex(c).ok_or_else(|| CircuitError::NotAFieldElement {
                    what: "the weights commitment".into(),
                    value: c.clone(),
                })?,
            );
        }
        if shown != instances {
            return Err(CircuitError::malformed(
                "the inputs/outputs shown do not match the proof's public instances (edited file?)",
            ));
        }
        Ok(file)
    }

    /// The file's bytes.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self, "proof file")
    }

    /// The proof bytes.
    pub fn proof_bytes(&self) -> Result<Vec<u8>> {
        decode_proof(&self.proof)
    }

    /// The transcript the proof was made with.
    pub fn transcript_kind(&self) -> Result<Transcript> {
        Transcript::from_name(&self.transcript).ok_or_else(|| {
            CircuitError::Malformed(format!(
                "transcript `{}` is unknown (expected `keccak256` or `poseidon`)",
                self.transcript
            ))
        })
    }

    /// The public instances as field elements.
    pub fn instance_fields(&self) -> Result<Vec<Fr>> {
        decode_instances(&self.instances)
    }
}

/// What a proof's public instances prove for a model, as a proof file shows it
/// ([`ProofFile::proven`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ProvenValues {
    /// The inputs.
    pub inputs: Vec<TensorValue>,
    /// The outputs.
    pub outputs: Vec<TensorValue>,
    /// The weights commitment (hashed weights only), `0x` hex.
    pub weights_commitment: Option<String>,
}

/// Checks the commitment and values a proof file shows for tensor `at` against `proven`: the
/// first that differs is [`CircuitError::UnprovenField`], naming it.
fn compare_values(at: &str, shown: &TensorValue, proven: &TensorValue) -> Result<()> {
    let unproven = |f: String, shown: String, proven: String| CircuitError::UnprovenField {
        field: format!("{at}.{f}"),
        shown,
        proven,
    };
    let commitment = |c: &Option<String>| c.as_deref().map(field_from_hex);
    if commitment(&shown.commitment) != commitment(&proven.commitment) {
        let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".into());
        return Err(unproven(
            "commitment".into(),
            show(&shown.commitment),
            show(&proven.commitment),
        ));
    }
    if shown.quantized.len() != proven.quantized.len() {
        return Err(unproven(
            "quantized".into(),
            format!("{} values", shown.quantized.len()),
            format!("{}", proven.quantized.len()),
        ));
    }
    if let Some(i) =
        (0..shown.quantized.len()).find(|i| shown.quantized[*i] != proven.quantized[*i])
    {
        return Err(unproven(
            format!("quantized[{i}]"),
            shown.quantized[i].to_string(),
            proven.quantized[i].to_string(),
        ));
    }
    if shown.values.len() != proven.values.len() {
        return Err(unproven(
            "values".into(),
            format!("{} values", shown.values.len()),
            format!("{}", proven.values.len()),
        ));
    }
    // JSON may round a float by an ulp; anything more is another value.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    if let Some(i) = (0..shown.values.len()).find(|i| !close(shown.values[*i], proven.values[*i])) {
        return Err(unproven(
            format!("values[{i}]"),
            shown.values[i].to_string(),
            proven.values[i].to_string(),
        ));
    }
    Ok(())
}

/// Version tag of aggregated proof files.
pub const AGGREGATED_PROOF_FORMAT: &str = "snarkml-aggregated-proof/1";

/// An aggregated proof file: one proof standing for many inner proofs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AggregatedProofFile {
    /// [`AGGREGATED_PROOF_FORMAT`].
    pub format: String,
    /// SHA-256 of the aggregation circuit's verifying key.
    pub vk_hash: String,
    /// Identifier of the SRS.
    pub srs_id: String,
    /// Fiat–Shamir transcript: always `keccak256` (verifiable on the EVM).
    pub transcript: String,
    /// Proof bytes, `0x` hex.
    pub proof: String,
    /// Public instances, 32-byte big-endian `0x` hex: the 12 accumulator limbs, then the
    /// exposed values.
    pub instances: Vec<String>,
    /// What the exposed values are (see `aggregation::Expose`).
    pub expose: String,
    /// The exposed values alone (the instances after the accumulator).
    pub exposed: Vec<String>,
    /// The inner proofs aggregated: their files as given, in order.
    pub inner: Vec<String>,
}

impl AggregatedProofFile {
    /// Parses an aggregated proof file and checks it is self-consistent.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let file: Self = from_json(bytes, "aggregated proof file")?;
        if file.format != AGGREGATED_PROOF_FORMAT {
            return Err(CircuitError::UnsupportedFormat {
                what: "aggregated proof",
                found: file.format,
                expected: AGGREGATED_PROOF_FORMAT.into(),
                hint: "",
            });
        }
        if file.transcript != Transcript::Keccak.name() {
            return Err(CircuitError::malformed(format!(
                "transcript `{}` is not keccak256",
                file.transcript
            )));
        }
        file.proof_bytes()?;
        let n = file.instance_fields()?.len();
        let acc = crate::aggregation::ACCUMULATOR_INSTANCES;
        if n < acc || file.instances[acc..] != file.exposed[..] {
            return Err(CircuitError::malformed(
                "the exposed values shown do not match the proof's public instances (edited file?)",
            ));
        }
        Ok(file)
    }

    /// The file's bytes.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self, "aggregated proof file")
    }

    /// The proof bytes.
    pub fn proof_bytes(&self) -> Result<Vec<u8>> {
        decode_proof(&self.proof)
    }

    /// The public instances as field elements.
    pub fn instance_fields(&self) -> Result<Vec<Fr>> {
        decode_instances(&self.instances)
    }
}

/// A proof's bytes from their hex form (`0x` optional).
pub fn decode_proof(s: &str) -> Result<Vec<u8>> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s))
        .map_err(|e| CircuitError::Malformed(format!("proof is not valid hex: {e}")))
}

/// Public instances from their hex form, each named by its index if it is no field element.
pub fn decode_instances(instances: &[String]) -> Result<Vec<Fr>> {
    instances
        .iter()
        .enumerate()
        .map(|(i, s)| {
            field_from_hex(s).ok_or_else(|| CircuitError::NotAFieldElement {
                what: format!("instance #{i}"),
                value: s.clone(),
            })
        })
        .collect()
}

/// Version tag of openings files.
pub const OPENINGS_FORMAT: &str = "snarkml-openings/1";

/// What opens the commitments of a proof's hashed tensors: their values and salts. The
/// prover keeps it (it is private) and hands an opening to whoever may see the values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpeningsFile {
    /// [`OPENINGS_FORMAT`].
    pub format: String,
    /// Model name.
    pub model: String,
    /// One opening per hashed input then output.
    pub openings: Vec<Opening>,
}

/// The values and salt behind one commitment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Opening {
    /// ONNX name of the tensor.
    pub name: String,
    /// `input` or `output`.
    pub role: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Fractional bits of `quantized`.
    pub scale_bits: u32,
    /// Extra fractional bits of each feature (last axis) over `scale_bits` (absent: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_bits: Vec<u32>,
    /// The salt, `0x` hex.
    pub salt: String,
    /// The commitment, `0x` hex: `Poseidon(quantized ‖ salt)`, or for a tensor crossing a
    /// cut of a split model `Poseidon(pack(quantized, pack_bits) ‖ salt)`.
    pub commitment: String,
    /// The packing width of a tensor crossing a cut of a split model (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_bits: Option<u32>,
    /// The fixed-point values.
    pub quantized: Vec<i64>,
    /// The same, dequantized.
    pub values: Vec<f64>,
}

/// The commitment to quantized values under `salt`, as the circuit computes it.
pub fn commit_quantized(values: &[i64], salt: Fr) -> Fr {
    crate::model::commit_values(values, None, salt)
}

impl Opening {
    /// The opening of `values` (quantized) of tensor `spec` under `salt`.
    pub fn new(
        model: &CompiledModel,
        spec: &crate::model::IoSpec,
        role: &str,
        values: &[i64],
        salt: Fr,
    ) -> Self {
        let t = &model.tensors[spec.tensor];
        Self {
            name: t.name.clone(),
            role: role.into(),
            shape: t.shape.clone(),
            scale_bits: t.scale_bits,
            feature_bits: spec.feature_bits.clone(),
            salt: field_to_hex(&salt),
            commitment: field_to_hex(&spec.commitment(values, salt)),
            pack_bits: spec.boundary.then_some(spec.pack_bits),
            quantized: values.to_vec(),
            values: spec.dequantize(t, values),
        }
    }

    /// Checks that the values and salt open the commitment.
    pub fn check(&self) -> Result<Fr> {
        let bad = |why: &str| CircuitError::Malformed(format!("opening of `{}`: {why}", self.name));
        let salt =
            field_from_hex(&self.salt).ok_or_else(|| bad("the salt is not a field element"))?;
        let commitment = field_from_hex(&self.commitment)
            .ok_or_else(|| bad("the commitment is not a field element"))?;
        let computed = match self.pack_bits {
            None => commit_quantized(&self.quantized, salt),
            Some(bits @ 2..=62) => {
                // Packing is injective only on values of the width.
                if let Some(v) = self
                    .quantized
                    .iter()
                    .find(|v| !crate::fixed_point::fits_signed(i128::from(**v), bits))
                {
                    return Err(bad(&format!("{v} does not fit its {bits}-bit packing")));
                }
                crate::model::commit_values(&self.quantized, Some(bits), salt)
            }
            Some(bits) => return Err(bad(&format!("packing width {bits} is out of range 2..=62"))),
        };
        if computed != commitment {
            return Err(bad("the values and salt do not open the commitment"));
        }
        Ok(commitment)
    }
}

impl OpeningsFile {
    /// Parses an openings file and checks every opening.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let file: Self = from_json(bytes, "openings file")?;
        if file.format != OPENINGS_FORMAT {
            return Err(CircuitError::UnsupportedFormat {
                what: "openings",
                found: file.format,
                expected: OPENINGS_FORMAT.into(),
                hint: "",
            });
        }
        for o in &file.openings {
            o.check()?;
        }
        Ok(file)
    }

    /// The file's bytes.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self, "openings file")
    }
}

impl CompiledModel {
    /// Parses `model.json` and checks its format version and structure.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let model: Self = from_json(bytes, "compiled model")?;
        if model.format != FORMAT_VERSION {
            return Err(CircuitError::UnsupportedFormat {
                what: "compiled model",
                found: model.format.to_string(),
                expected: FORMAT_VERSION.to_string(),
                hint: "; recompile the model",
            });
        }
        model.validate().map_err(|reason| CircuitError::Json {
            what: "compiled model",
            reason,
        })?;
        Ok(model)
    }

    /// `model.json`'s bytes.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self, "compiled model")
    }
}
