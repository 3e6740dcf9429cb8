//! JSON file formats: inputs, calibration samples and proofs.

use crate::error::{CircuitError, Result};
use crate::fixed_point::{dequantize, field_from_hex, field_to_hex, pack};
use crate::prover::{Proof, Transcript};
use crate::quantize::CompiledModel;
use crate::Fr;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// One set of model inputs: `{"input_data": [[…flat floats of input 0…], …]}`, the layout
/// other tools already use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    /// One flat vector per model input.
    pub input_data: Vec<Vec<f32>>,
}

/// Calibration samples: `{"inputs": [sample, …]}` where a sample is the flat data of a
/// single-input model, or one flat vector per input; an [`InputFile`] is one sample too.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum CalibrationFile {
    Single { inputs: Vec<Vec<f32>> },
    Multi { inputs: Vec<Vec<Vec<f32>>> },
    One(InputFile),
}

/// A fresh temporary name beside `path`, unique across processes and threads, for writing a
/// file that is then renamed onto `path` (so readers never see half a file).
pub fn temp_path_beside(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    path.with_file_name(name)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path, what: &'static str) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| CircuitError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| CircuitError::Json {
        path: path.to_owned(),
        what,
        reason: e.to_string(),
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T, what: &'static str) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CircuitError::Json {
        path: path.to_owned(),
        what,
        reason: e.to_string(),
    })?;
    std::fs::write(path, text).map_err(|e| CircuitError::io(path, e))
}

impl InputFile {
    /// Reads an input file.
    pub fn load(path: &Path) -> Result<Self> {
        read_json(path, "input file (expected {\"input_data\": [[...], ...]})")
    }
}

/// Reads calibration samples, each one vector per model input.
pub fn load_calibration(path: &Path) -> Result<Vec<Vec<Vec<f32>>>> {
    let file: CalibrationFile = read_json(
        path,
        "calibration file (expected {\"inputs\": [[...], ...]} or {\"input_data\": [[...]]})",
    )?;
    Ok(match file {
        CalibrationFile::Single { inputs } => inputs.into_iter().map(|s| vec![s]).collect(),
        CalibrationFile::Multi { inputs } => inputs,
        CalibrationFile::One(f) => vec![f.input_data],
    })
}

/// A tensor's value in a proof file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorValue {
    /// ONNX name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Fractional bits of `quantized`.
    pub scale_bits: u32,
    /// Bits per value in the packed public instances.
    pub pack_bits: u32,
    /// The fixed-point values the proof is about.
    pub quantized: Vec<i64>,
    /// The same, dequantized (for people; `quantized` is authoritative).
    pub values: Vec<f64>,
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
}

/// The values of model inputs or outputs, quantized and dequantized.
pub fn tensor_values(
    model: &CompiledModel,
    specs: &[crate::quantize::IoSpec],
    data: &[Vec<i64>],
) -> Vec<TensorValue> {
    specs
        .iter()
        .zip(data)
        .map(|(spec, q)| {
            let t = &model.tensors[spec.tensor];
            TensorValue {
                name: t.name.clone(),
                shape: t.shape.clone(),
                scale_bits: t.scale_bits,
                pack_bits: spec.pack_bits,
                quantized: q.clone(),
                values: q.iter().map(|v| dequantize(*v, t.scale_bits)).collect(),
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
        Self {
            format: PROOF_FORMAT.into(),
            model: model.name.clone(),
            vk_hash: vk_hash.into(),
            srs_id: srs_id.into(),
            transcript: proof.transcript.name().into(),
            proof: format!("0x{}", hex::encode(&proof.proof)),
            instances: proof.instances.iter().map(field_to_hex).collect(),
            inputs: tensor_values(model, &model.inputs, inputs),
            outputs: tensor_values(model, &model.outputs, &proof.outputs),
        }
    }

    /// Reads a proof file and checks it is self-consistent: the instances must encode exactly
    /// the quantized inputs and outputs it shows.
    pub fn load(path: &Path) -> Result<Self> {
        let file: Self = read_json(path, "proof file")?;
        if file.format != PROOF_FORMAT {
            return Err(CircuitError::Mismatch(format!(
                "{}: proof format `{}` is not supported (expected `{PROOF_FORMAT}`)",
                path.display(),
                file.format
            )));
        }
        file.proof_bytes()?;
        file.transcript_kind()
            .map_err(|e| CircuitError::Mismatch(format!("{}: {e}", path.display())))?;
        let instances = file.instance_fields()?;
        let shown: Vec<Fr> = file
            .inputs
            .iter()
            .chain(&file.outputs)
            .flat_map(|t| pack(&t.quantized, t.pack_bits))
            .collect();
        if shown != instances {
            return Err(CircuitError::Mismatch(format!(
                "{}: the inputs/outputs shown do not match the proof's public instances (edited file?)",
                path.display()
            )));
        }
        Ok(file)
    }

    /// Writes the file.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_json(path, self, "proof file")
    }

    /// The proof bytes.
    pub fn proof_bytes(&self) -> Result<Vec<u8>> {
        decode_proof(&self.proof)
    }

    /// The transcript the proof was made with.
    pub fn transcript_kind(&self) -> Result<Transcript> {
        Transcript::from_name(&self.transcript).ok_or_else(|| {
            CircuitError::Mismatch(format!(
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
    /// Reads an aggregated proof file and checks it is self-consistent.
    pub fn load(path: &Path) -> Result<Self> {
        let file: Self = read_json(path, "aggregated proof file")?;
        let bad = |why: String| CircuitError::Mismatch(format!("{}: {why}", path.display()));
        if file.format != AGGREGATED_PROOF_FORMAT {
            return Err(bad(format!(
                "format `{}` is not an aggregated proof (expected `{AGGREGATED_PROOF_FORMAT}`)",
                file.format
            )));
        }
        if file.transcript != Transcript::Keccak.name() {
            return Err(bad(format!(
                "transcript `{}` is not keccak256",
                file.transcript
            )));
        }
        file.proof_bytes().map_err(|e| bad(e.to_string()))?;
        let n = file
            .instance_fields()
            .map_err(|e| bad(e.to_string()))?
            .len();
        let acc = crate::aggregation::ACCUMULATOR_INSTANCES;
        if n < acc || file.instances[acc..] != file.exposed[..] {
            return Err(bad(
                "the exposed values shown do not match the proof's public instances (edited file?)"
                    .into(),
            ));
        }
        Ok(file)
    }

    /// Writes the file.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_json(path, self, "aggregated proof file")
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

fn decode_proof(s: &str) -> Result<Vec<u8>> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s))
        .map_err(|e| CircuitError::Mismatch(format!("proof is not valid hex: {e}")))
}

fn decode_instances(instances: &[String]) -> Result<Vec<Fr>> {
    instances
        .iter()
        .enumerate()
        .map(|(i, s)| {
            field_from_hex(s).ok_or_else(|| {
                CircuitError::Mismatch(format!("instance #{i} `{s}` is not a field element"))
            })
        })
        .collect()
}
