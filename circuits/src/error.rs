//! Errors of the circuits crate. Each message names what failed: the node, the field, the
//! value. The crate reads and writes no file: it parses and renders bytes, and whoever read the
//! bytes names the file by wrapping the error in [`CircuitError::InFile`] (the `snarkml`
//! package's `stored` module does, for every file the CLI reads).

use std::path::PathBuf;

/// Everything that can go wrong between an ONNX file and a verified proof.
#[derive(Debug, thiserror::Error)]
pub enum CircuitError {
    /// A file could not be read or written (raised by the caller that touches disk).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Bytes that are not a valid ONNX model.
    #[error("not a valid ONNX model: {reason}")]
    NotOnnx {
        /// What the parser said.
        reason: String,
    },
    /// The quantized model misses the accuracy target at the finest scale the compiler could
    /// take (or at the scale given).
    #[error(
        "the quantized model's mean relative error on the calibration samples is {:.2}%, over the {:.2}% target, at {scale_bits} fractional bits for activations and {weight_scale_bits} for weights{}",
        .mean_rel_error * 100.0,
        .target * 100.0,
        if *.chosen { " (the finest scale that fits)" } else { " (the scale given)" }
    )]
    AccuracyMissed {
        /// The mean relative error reached.
        mean_rel_error: f64,
        /// The target it misses.
        target: f64,
        /// Fractional bits of activations.
        scale_bits: u32,
        /// Fractional bits of weights.
        weight_scale_bits: u32,
        /// Whether the compiler chose the scale (else the options fixed it).
        chosen: bool,
    },
    /// The quantized model's worst calibration sample misses the worst-sample accuracy target
    /// at the finest scale the compiler could take (or at the scale given).
    #[error(
        "the quantized model's worst calibration sample is {:.2}% off (relative error), over the {:.2}% worst-sample target, at {scale_bits} fractional bits for activations and {weight_scale_bits} for weights{}",
        .max_rel_error * 100.0,
        .target * 100.0,
        if *.chosen { " (the finest scale that fits)" } else { " (the scale given)" }
    )]
    WorstSampleMissed {
        /// The worst sample's relative error.
        max_rel_error: f64,
        /// The target it misses.
        target: f64,
        /// Fractional bits of activations.
        scale_bits: u32,
        /// Fractional bits of weights.
        weight_scale_bits: u32,
        /// Whether the compiler chose the scale (else the options fixed it).
        chosen: bool,
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
    /// The proofs of a split model's segments are not one run of the model.
    #[error("split proof, segment {segment}: {reason}")]
    BrokenChain {
        /// The segment (from 1) where the chain breaks.
        segment: usize,
        /// How.
        reason: String,
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
    #[error("{at}: value {value} is outside the {bits}-bit range the model was compiled for; recompile with calibration data that covers this input (or a smaller --scale)")]
    Overflow {
        /// Where: ``node `n` `` (the node whose output overflowed) or ``input `x` ``.
        at: String,
        /// The quantized value.
        value: i128,
        /// The table's bit width.
        bits: u32,
    },
    /// JSON that does not parse as what it should be.
    #[error("invalid {what}: {reason}")]
    Json {
        /// What the bytes should contain.
        what: &'static str,
        /// What serde said.
        reason: String,
    },
    /// Float inference with tract failed.
    #[error("float inference of the ONNX model failed: {reason}")]
    Inference {
        /// tract's message.
        reason: String,
    },
    /// Bytes that are not a usable structured reference string (or powers-of-tau file).
    #[error("unusable SRS: {reason}")]
    Srs {
        /// What is wrong with it.
        reason: String,
    },
    /// The SRS has fewer points than the circuit needs.
    #[error(
        "the circuit needs k={need} but the SRS only has k={have}; generate or import a larger one"
    )]
    SrsTooSmall {
        /// `log2` of the points the circuit needs.
        need: u32,
        /// `log2` of the points the SRS has.
        have: u32,
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
    /// What went wrong with the content of a file, named by the caller that read it.
    #[error("{path}: {source}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its content.
        source: Box<CircuitError>,
    },
    /// A file's format tag is not the one this version reads.
    #[error("{what} format `{found}` is not supported (expected `{expected}`){hint}")]
    UnsupportedFormat {
        /// The kind of file: `proof`, `compiled model`, ...
        what: &'static str,
        /// The tag it has.
        found: String,
        /// The tag this version reads.
        expected: String,
        /// What to do, starting with "; " when present.
        hint: &'static str,
    },
    /// A value that must be an element of BN254's scalar field (an instance, a salt, a
    /// commitment) is not one.
    #[error("{what} `{value}` is not a field element")]
    NotAFieldElement {
        /// What the value is: `instance #3`, `weights salt`, ...
        what: String,
        /// The value as written.
        value: String,
    },
    /// Data that does not decode as what it claims to be, or fields that contradict each other:
    /// proof bytes that are not hex, a transcript name, packed public instances, a commitment's
    /// opening, values shown that the instances do not prove (an edited file).
    #[error("{0}")]
    Malformed(String),
    /// Bytes that should be a proving or verifying key do not decode as one of this circuit.
    #[error("{key} is corrupted{detail}")]
    CorruptKey {
        /// Which key: `verifying key`, `delivery proving key`, ...
        key: &'static str,
        /// The decoder's reason, starting with ": " when present.
        detail: String,
    },
    /// The SRS has another size than the circuit.
    #[error("{circuit} needs k={want}, the SRS given has k={got}")]
    WrongK {
        /// The circuit: `the model`, `a chunk of 4 samples`, ...
        circuit: String,
        /// The circuit's k.
        want: u32,
        /// The SRS's k.
        got: u32,
    },
    /// A compile, audit or aggregation option is out of its range or contradicts another.
    #[error("{reason}")]
    BadOption {
        /// The option: `width`, `scale`, `visibility`, `expose`, `epsilon`, ...
        option: &'static str,
        /// What is wrong, and what is accepted.
        reason: String,
    },
    /// A value computed or given does not fit the operation (a division by a non-positive
    /// value, a non-finite input).
    #[error("{what}: {reason}")]
    BadValue {
        /// Where: `node `n``, `input `x``, `sample 3`.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A compiled circuit that needs more rows than any SRS holds (a lookup table spanning a
    /// tensor's calibration range at the chosen scale, usually).
    #[error("the circuit needs k ≥ {k} (2^{k} rows), past the largest SRS (k = {max}): {widest}; calibrate on inputs like the real ones, standardize inputs of wide range, or compile at a smaller scale")]
    CircuitTooLarge {
        /// The k the circuit needs at least.
        k: u32,
        /// The largest k there is.
        max: u32,
        /// What costs the most rows.
        widest: String,
    },
    /// Artifacts that must belong together do not (inner proofs of other circuits, a delivery
    /// for another prompt length, an audit of a model without hashed weights).
    #[error("{0}")]
    Incompatible(String),
    /// The circuit and the reference execution disagree: a bug of this crate, never of the
    /// input; nothing is proven.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl CircuitError {
    /// Wraps an I/O error with the file it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Names the file whose content this error is about ([`CircuitError::InFile`]); an
    /// [`CircuitError::Io`] error already names it and is returned as it is.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            Self::Io { .. } | Self::InFile { .. } => self,
            other => Self::InFile {
                path: path.into(),
                source: Box::new(other),
            },
        }
    }

    /// The error itself, without the file an [`CircuitError::InFile`] names.
    pub fn content(&self) -> &Self {
        match self {
            Self::InFile { source, .. } => source.content(),
            other => other,
        }
    }

    /// A [`CircuitError::Malformed`].
    pub fn malformed(reason: impl std::fmt::Display) -> Self {
        Self::Malformed(reason.to_string())
    }

    /// A [`CircuitError::CorruptKey`], from the decoder's error or its panic (`None`).
    pub fn corrupt_key(key: &'static str, reason: Option<&dyn std::fmt::Display>) -> Self {
        Self::CorruptKey {
            key,
            detail: reason.map(|r| format!(": {r}")).unwrap_or_default(),
        }
    }

    /// A [`CircuitError::BadOption`].
    pub fn bad_option(option: &'static str, reason: impl Into<String>) -> Self {
        Self::BadOption {
            option,
            reason: reason.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = CircuitError> = std::result::Result<T, E>;
