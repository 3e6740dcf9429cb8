//! Errors of the circuits crate. Each message names what failed: the file, the node, the field.

use std::path::PathBuf;

/// Everything that can go wrong between an ONNX file and a verified proof.
#[derive(Debug, thiserror::Error)]
pub enum CircuitError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not a valid ONNX model.
    #[error("{path} is not a valid ONNX model: {reason}")]
    NotOnnx {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The model uses an operator the compiler does not support.
    #[error("unsupported ONNX op `{op}` at node `{node}`{detail}")]
    UnsupportedOp {
        /// The ONNX op type.
        op: String,
        /// The node's name (or its first output when unnamed).
        node: String,
        /// Extra detail, starting with ": " when present.
        detail: String,
    },
    /// The model is structurally invalid for the compiler (missing tensor, bad shape, ...).
    #[error("invalid model at node `{node}`: {reason}")]
    InvalidModel {
        /// The node's name.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// An input has the wrong number of elements or is missing.
    #[error("input `{name}`: expected {expected} values (shape {shape:?}), got {got}")]
    InputShape {
        /// The model input.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// Elements expected.
        expected: usize,
        /// Elements given.
        got: usize,
    },
    /// The number of inputs given does not match the model's.
    #[error("the model has {expected} input(s), the input file has {got}")]
    InputCount {
        /// Inputs the model has.
        expected: usize,
        /// Inputs given.
        got: usize,
    },
    /// A value falls outside the lookup table the compiler sized from calibration data.
    #[error("node `{node}`: value {value} is outside the {bits}-bit range the model was compiled for; recompile with calibration data that covers this input (or a smaller --scale)")]
    Overflow {
        /// The node whose output overflowed.
        node: String,
        /// The quantized value.
        value: i128,
        /// The table's bit width.
        bits: u32,
    },
    /// A JSON file could not be parsed.
    #[error("{path}: invalid {what}: {reason}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What the file should contain.
        what: &'static str,
        /// What serde said.
        reason: String,
    },
    /// Float inference with tract failed.
    #[error("float inference of {path} failed: {reason}")]
    Inference {
        /// The model file.
        path: PathBuf,
        /// tract's message.
        reason: String,
    },
    /// The structured reference string is unusable.
    #[error("SRS {path}: {reason}")]
    Srs {
        /// The SRS file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// halo2 refused to synthesize, generate keys or prove.
    #[error("{stage} failed: {reason}")]
    Halo2 {
        /// keygen, proving, ...
        stage: &'static str,
        /// halo2's error.
        reason: String,
    },
    /// A proof did not verify.
    #[error("proof rejected: {0}")]
    ProofRejected(String),
    /// Bytes follow the end of a proof: the verifier read the whole proof and this was left
    /// over (the on-chain verifier refuses such calldata, so the native one does too).
    #[error("proof rejected: {extra} byte(s) after the end of the proof")]
    TrailingProofBytes {
        /// How many bytes were left unread.
        extra: usize,
    },
    /// A proof just made does not verify against its own key: nothing is written.
    #[error("the proof just made does not verify ({0}); nothing was written")]
    ProofSelfCheck(String),
    /// A field a proof file displays is not what its public instances prove for the build's
    /// model (an edited file, or one for another model).
    #[error("proof file field `{field}` shows {shown} but the proof proves {proven} (the file's fields do not match the proof's public instances and the build's model: edited file?)")]
    UnprovenField {
        /// The field, as a path into the file: `outputs[0].values[2]`.
        field: String,
        /// What the file shows.
        shown: String,
        /// What the instances and the model say.
        proven: String,
    },
    /// An ONNX tensor's declared shape is refused before anything is allocated for it: a
    /// dimension that is not positive (inputs), negative (constants) or too large, or more
    /// than [`crate::model::onnx::MAX_ELEMENTS`] elements.
    #[error("ONNX tensor `{tensor}` has shape {dims:?}: {reason}")]
    BadShape {
        /// The tensor's ONNX name.
        tensor: String,
        /// Its dimensions as declared.
        dims: Vec<i64>,
        /// Which dimension, and what is wrong with it.
        reason: String,
    },
    /// An artifact is inconsistent with another (a proof for another key, a tampered file, ...).
    #[error("{0}")]
    Mismatch(String),
}

impl CircuitError {
    /// Wraps an I/O error with the file it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = CircuitError> = std::result::Result<T, E>;
