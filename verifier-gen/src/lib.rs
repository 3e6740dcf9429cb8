//! snarkml verifier generation: a verifying key becomes a Solidity verifier (snark-verifier's
//! EVM generator behind our `IVerifier` adapter), compiled with the project's pinned `solc`,
//! and checked in an in-process EVM (revm).

mod solc;

pub use solc::{find_solc, CompiledContract, Solc};

use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::evm::gen_evm_verifier_sol_code;
use snark_verifier_sdk::snark_verifier::loader::evm::{deploy_and_call, encode_calldata};
use snark_verifier_sdk::SHPLONK;
use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::{Bn256, Fr, G1Affine};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// EIP-170: the largest runtime bytecode Ethereum mainnet (and its usual L2s) accept.
pub const MAX_RUNTIME_SIZE: usize = 24_576;

/// The `IVerifier` interface, as shipped in `contracts/src`.
pub const IVERIFIER_SOL: &str = include_str!("../../contracts/src/IVerifier.sol");
/// The adapter that puts `IVerifier` in front of a generated verifier.
pub const ADAPTER_SOL: &str = include_str!("../../contracts/src/Halo2VerifierAdapter.sol");

/// Errors of verifier generation.
#[derive(Debug, thiserror::Error)]
pub enum VerifierError {
    /// snark-verifier could not generate code for this key.
    #[error("verifier generation failed: {0}")]
    Generate(String),
    /// The Solidity compiler is missing or failed.
    #[error("solc: {0}")]
    Solc(String),
    /// The in-process EVM rejected the deployment or the call.
    #[error("EVM: {0}")]
    Evm(String),
}

/// Result alias of this crate.
pub type Result<T, E = VerifierError> = std::result::Result<T, E>;

/// Everything needed to deploy and call the verifier of one circuit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifierArtifacts {
    /// The generated verifier's Solidity source.
    pub verifier_source: String,
    /// Its init code (hex, no `0x`).
    pub verifier_initcode: String,
    /// Its runtime size in bytes.
    pub verifier_runtime_size: usize,
    /// The adapter's init code without constructor arguments (hex).
    pub adapter_initcode: String,
    /// The adapter's runtime size in bytes.
    pub adapter_runtime_size: usize,
    /// The adapter's ABI (the `IVerifier` interface plus its own getters).
    pub adapter_abi: serde_json::Value,
    /// Public instances the verifier expects.
    pub num_instances: usize,
    /// `solc --version` of the compiler used.
    pub solc_version: String,
}

/// Generates the Solidity verifier of a model circuit's verifying key.
pub fn generate_source(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> Result<String> {
    catch_unwind(AssertUnwindSafe(|| {
        gen_evm_verifier_sol_code::<ModelCircuit, SHPLONK>(params, vk, vec![num_instances])
    }))
    .map_err(|p| VerifierError::Generate(panic_message(&p)))
}

/// Generates and compiles the verifier and the adapter.
pub fn build(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    solc: &Solc,
) -> Result<VerifierArtifacts> {
    let verifier_source = generate_source(params, vk, num_instances)?;
    let verifier = solc.compile_one("Halo2Verifier.sol", &verifier_source, "Halo2Verifier")?;
    let adapter = solc.compile(
        &[
            ("IVerifier.sol", IVERIFIER_SOL),
            ("Halo2VerifierAdapter.sol", ADAPTER_SOL),
        ],
        "Halo2VerifierAdapter.sol",
        "Halo2VerifierAdapter",
    )?;
    Ok(VerifierArtifacts {
        verifier_source,
        verifier_runtime_size: verifier.runtime.len(),
        verifier_initcode: hex::encode(&verifier.initcode),
        adapter_runtime_size: adapter.runtime.len(),
        adapter_initcode: hex::encode(&adapter.initcode),
        adapter_abi: adapter.abi,
        num_instances,
        solc_version: solc.version.clone(),
    })
}

/// Calldata of the raw generated verifier: each instance as a 32-byte word, then the proof.
pub fn raw_calldata(instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    encode_calldata(&[instances.to_vec()], proof)
}

/// Deploys the raw verifier in a fresh in-process EVM and calls it: `Ok(gas)` if it accepts.
pub fn evm_verify(initcode: &[u8], instances: &[Fr], proof: &[u8]) -> Result<u64> {
    let calldata = raw_calldata(instances, proof);
    catch_unwind(AssertUnwindSafe(|| {
        deploy_and_call(initcode.to_vec(), calldata)
    }))
    .map_err(|p| VerifierError::Evm(panic_message(&p)))?
    .map_err(VerifierError::Evm)
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "internal panic".into())
}
