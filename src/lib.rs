//! snarkml: prove that a committed model produced an output, and check the proof on Ethereum.
//!
//! The root package holds the command line (`snarkml`), the chain client ([`chain`]) and the
//! [`pipeline`]: the library API that reads and writes the build directory and runs each step
//! (compile, setup, prove, verify, gen-verifier, deploy, verify-onchain). The CLI is a thin
//! layer over it, and the end-to-end tests use it directly.

pub mod artifacts;
pub mod chain;
pub mod cli;
pub mod deployments;
pub mod pipeline;
pub mod stored;

pub use snarkml_circuits as circuits;
pub use snarkml_verifier_gen as verifier_gen;
