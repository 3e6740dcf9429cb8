//! snarkml circuits: the model compiler (ONNX → quantized graph), the quantized reference
//! execution, the halo2 circuit that proves it, and key generation, proving and verification.
//!
//! The pipeline, each stage a module:
//! - [`model`]: loads ONNX through `tract-onnx` into a float graph of supported ops;
//! - [`quantize`]: chooses the fixed-point scale and lookup-table sizes from calibration
//!   inputs and produces a [`model::CompiledModel`];
//! - [`ops`]: every primitive (layer type) in one place, one file per family: its checks,
//!   static bounds, integer execution and rows, through the [`gadgets`] instructions;
//! - [`exec`]: runs the compiled model on integers, exactly as the circuit does;
//! - [`layout`]: turns the compiled model (and, when proving, an execution) into a [`layout::Plan`]
//!   of cells, copy constraints and selectors (its builder implements [`gadgets::Gadgets`]);
//! - [`circuit`]: the halo2 circuit that assigns a plan;
//! - [`prover`] and [`srs`]: keys, proofs and structured reference strings;
//! - [`aggregation`]: many inner proofs verified in one aggregation circuit.
//!
//! The compiled model's types ([`model::compiled`] and [`model::layers`]: `CompiledModel`,
//! `Layer`, what `model.json` stores) belong to [`model`], not to [`quantize`] which produces them, so that
//! `exec`, `layout`, `circuit`, `prover` and `io` read them without importing the compiler.
//! No module imports another that imports it back, directly or not: `tests/module_graph.rs`
//! (root package) fails on a cycle in this crate, `verifier-gen` or the CLI.
//!
//! The crate touches no disk: models, SRSs, proof and input files come in and go out as bytes
//! (or readers and writers), and the `snarkml` package's `stored` module reads and writes the
//! files, naming them in errors ([`CircuitError::InFile`]).

pub mod aggregation;
pub mod audit;
pub mod cipher;
pub mod circuit;
pub mod error;
pub mod exec;
pub mod fixed_point;
pub mod gadgets;
pub mod inputs;
pub mod io;
pub(crate) mod json;
pub mod layout;
pub mod model;
pub mod ops;
pub mod poseidon;
pub mod prompt;
pub mod prover;
pub mod ptau;
pub mod quantize;
pub mod split;
pub mod srs;

pub use error::CircuitError;
pub use halo2_proofs;
pub use snark_verifier_sdk;

/// The scalar field of BN254, in which every circuit value lives.
pub type Fr = halo2_proofs::halo2curves::bn256::Fr;
/// The pairing engine of our KZG commitments.
pub type Bn256 = halo2_proofs::halo2curves::bn256::Bn256;
/// The G1 group of BN254 in affine form.
pub type G1Affine = halo2_proofs::halo2curves::bn256::G1Affine;
