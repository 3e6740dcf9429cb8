//! snarkml verifier generation: a verifying key becomes a Solidity verifier, compiled with the
//! project's pinned `solc` and checked in an in-process EVM (revm). Three forms
//! ([`VerifierForm`]): our own data-driven verifier, self-contained (one contract per circuit)
//! or reusable (one `Halo2Verifier` for every circuit plus a per-circuit verifying-key
//! artifact, [`reusable`]); or snark-verifier's unrolled generator behind our `IVerifier`
//! adapter, kept for comparison.

pub mod artifact;
pub mod bytecode;
mod deployed;
mod encoding;
pub mod evm;
pub mod numerator;
pub mod plan;
#[cfg(test)]
mod random_circuit;
pub mod reusable;
#[cfg(test)]
mod shapes;
mod solc;
#[cfg(test)]
mod testing;
pub mod transcript;
pub mod verify;

pub use deployed::{check_deployed, front_initcode, runtime_code};
pub use solc::{find_solc, CompiledContract, Solc};

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::evm::gen_evm_verifier_sol_code;
use snark_verifier_sdk::halo2::aggregation::AggregationCircuit;
use snark_verifier_sdk::snark_verifier::loader::evm::{deploy_and_call, encode_calldata};
use snark_verifier_sdk::SHPLONK;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// EIP-170: the largest runtime bytecode Ethereum mainnet (and its usual L2s) accept.
pub const MAX_RUNTIME_SIZE: usize = 24_576;

/// The `IVerifier` interface, as shipped in `contracts/src`.
pub const IVERIFIER_SOL: &str = include_str!("../../contracts/src/IVerifier.sol");
/// The adapter that puts `IVerifier` in front of a generated verifier.
pub const ADAPTER_SOL: &str = include_str!("../../contracts/src/Halo2VerifierAdapter.sol");

/// Errors of verifier generation, one variant per thing that went wrong.
#[derive(Debug, thiserror::Error)]
pub enum VerifierError {
    /// snark-verifier could not generate code for this key (its message: a foreign library's
    /// error or panic).
    #[error("snark-verifier could not generate the verifier: {0}")]
    SnarkVerifier(String),
    /// The verifying key does not encode as our artifact.
    #[error(transparent)]
    Artifact(#[from] artifact::ArtifactError),
    /// Generated code or data would exceed what one contract may hold.
    #[error("the {what} would be {bytes} bytes, over the {limit} one contract may hold{hint}")]
    TooLarge {
        /// What would be too large.
        what: &'static str,
        /// Its size.
        bytes: usize,
        /// The limit (EIP-170).
        limit: usize,
        /// What to do instead (empty, or starting with "; ").
        hint: &'static str,
    },
    /// No solc was found.
    #[error(
        "solc not found (looked at $SNARKML_SOLC, .toolchain/bin/solc and PATH): run scripts/setup"
    )]
    SolcNotFound,
    /// The solc found is not the version generated verifiers need.
    #[error(
        "{path} is not solc 0.8.19 (it says `{said}`); generated verifiers need exactly 0.8.19"
    )]
    SolcVersion {
        /// The executable.
        path: String,
        /// What `solc --version` printed.
        said: String,
    },
    /// solc could not be run or talked to.
    #[error("cannot run {path}: {source}")]
    SolcRun {
        /// The executable.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// solc's output is not what standard JSON promises (its words).
    #[error("solc: unexpected output: {0}")]
    SolcOutput(String),
    /// The generated Solidity does not compile (solc's error messages).
    #[error("solc: compilation failed: {}", .0.join("; "))]
    SolcErrors(Vec<String>),
    /// Init code is not hex.
    #[error("bad init code: {0}")]
    InitCode(#[from] hex::FromHexError),
    /// The in-process EVM could not deploy or call (revm's words, or a panic's).
    #[error("EVM: {0}")]
    Evm(String),
    /// The verifier ran in the EVM and refused the proof.
    #[error("EVM: the verifier refuses the proof: {0}")]
    Refused(String),
    /// A deployed contract's code is not the code these artifacts deploy.
    #[error("the {0}'s code is not the code this build generates")]
    CodeDiffers(&'static str),
    /// The artifacts lack what deploying their front needs (made by an older `gen-verifier`).
    #[error("the verifier artifacts have no {0}: generate them again with this version")]
    Incomplete(&'static str),
}

/// Result alias of this crate.
pub type Result<T, E = VerifierError> = std::result::Result<T, E>;

/// Which verifier [`build`] makes. The default is what `snarkml gen-verifier` makes without a
/// flag: our self-contained verifier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifierForm {
    /// snark-verifier's generated verifier (every step unrolled) behind our `IVerifier`
    /// adapter: what earlier builds made (an artifacts file without a `form` is this one).
    SnarkVerifier,
    /// Our verifier with this circuit's artifact embedded: one contract, itself `IVerifier`.
    #[default]
    SelfContained,
    /// Our `Halo2Verifier`, deployed once for every circuit, with this circuit's artifact in a
    /// data contract and a `Halo2VerifyingKey` binding them behind `IVerifier`.
    Reusable,
}

/// The form of an artifacts file written before forms existed: snark-verifier's.
fn form_of_older_artifacts() -> VerifierForm {
    VerifierForm::SnarkVerifier
}

/// Everything needed to deploy and call the verifier of one circuit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifierArtifacts {
    /// Which form this is.
    #[serde(default = "form_of_older_artifacts")]
    pub form: VerifierForm,
    /// The verifier's Solidity source (for the reusable form, the shared `Halo2Verifier`).
    pub verifier_source: String,
    /// Its init code (hex, no `0x`).
    pub verifier_initcode: String,
    /// Its runtime size in bytes.
    pub verifier_runtime_size: usize,
    /// The `IVerifier` front's init code without constructor arguments (hex): snark-verifier's
    /// adapter (argument: the verifier), the reusable form's `Halo2VerifyingKey` (arguments:
    /// the verifier, the artifact's data contract); empty for the self-contained form, which
    /// is its own front.
    pub adapter_initcode: String,
    /// The front's runtime size in bytes (0 when the verifier is its own front).
    pub adapter_runtime_size: usize,
    /// The ABI to call: `IVerifier` plus the front's own getters.
    pub adapter_abi: serde_json::Value,
    /// The verifying-key artifact (hex) of our forms.
    #[serde(default)]
    pub vk_artifact: Option<String>,
    /// Its Keccak hash (hex), what `Halo2VerifyingKey.vkHash()` returns.
    #[serde(default)]
    pub vk_artifact_hash: Option<String>,
    /// Public instances the verifier expects.
    pub num_instances: usize,
    /// The byte length of every proof for the key (what snark-verifier's adapter checks).
    #[serde(default)]
    pub proof_len: Option<usize>,
    /// `solc --version` of the compiler used.
    pub solc_version: String,
    /// Identifier of the SRS whose `[τ]G2` the verifier embeds.
    pub srs_id: String,
}

/// Which kind of circuit a verifying key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CircuitKind {
    /// A model circuit: the proof alone is checked.
    Model,
    /// The aggregation circuit: its first 12 instances are a KZG accumulator, which the
    /// verifier folds into its final pairing check.
    Aggregation,
}

/// What snark-verifier's generator needs to know of a circuit that is not an aggregation
/// circuit: that it has no accumulator among its instances. (The generator reads nothing
/// else of the type; the circuit itself is the verifying key.)
struct PlainCircuit;

impl halo2_proofs::plonk::Circuit<Fr> for PlainCircuit {
    type Config = ();
    type FloorPlanner = halo2_proofs::circuit::SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        PlainCircuit
    }

    fn configure(_: &mut halo2_proofs::plonk::ConstraintSystem<Fr>) {}

    fn synthesize(
        &self,
        (): (),
        _: impl halo2_proofs::circuit::Layouter<Fr>,
    ) -> std::result::Result<(), halo2_proofs::plonk::Error> {
        Ok(())
    }
}

impl snark_verifier_sdk::CircuitExt<Fr> for PlainCircuit {
    fn num_instance(&self) -> Vec<usize> {
        Vec::new()
    }

    fn instances(&self) -> Vec<Vec<Fr>> {
        Vec::new()
    }
}

/// Generates the Solidity verifier of a verifying key.
pub fn generate_source(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    kind: CircuitKind,
) -> Result<String> {
    catch_unwind(AssertUnwindSafe(|| match kind {
        CircuitKind::Model => {
            gen_evm_verifier_sol_code::<PlainCircuit, SHPLONK>(params, vk, vec![num_instances])
        }
        CircuitKind::Aggregation => gen_evm_verifier_sol_code::<AggregationCircuit, SHPLONK>(
            params,
            vk,
            vec![num_instances],
        ),
    }))
    .map_err(|p| VerifierError::SnarkVerifier(panic_message(&p)))
}

/// Generates and compiles the verifier of `form` and its `IVerifier` front. `srs_id` names
/// the SRS `params` come from (in the source's header and the artifacts).
pub fn build(
    params: &ParamsKZG<Bn256>,
    srs_id: &str,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    kind: CircuitKind,
    form: VerifierForm,
    solc: &Solc,
) -> Result<VerifierArtifacts> {
    let what = match kind {
        CircuitKind::Model => "",
        CircuitKind::Aggregation => " Aggregated proofs (12 accumulator limbs first).",
    };
    let header = format!(
        "// Generated by snarkml verifier-gen: do not edit.\n// SRS {srs_id}, {num_instances} public instances.{what}\n"
    );
    let proof_len = vk_artifact(params, vk, num_instances, kind)?.proof_len();
    let (source, verifier, front, artifact) = match form {
        VerifierForm::SnarkVerifier => {
            let source = format!(
                "{header}{}",
                generate_source(params, vk, num_instances, kind)?
            );
            let verifier = solc.compile_one("Halo2Verifier.sol", &source, "Halo2Verifier")?;
            let adapter = solc.compile(
                &[
                    ("IVerifier.sol", IVERIFIER_SOL),
                    ("Halo2VerifierAdapter.sol", ADAPTER_SOL),
                ],
                "Halo2VerifierAdapter.sol",
                "Halo2VerifierAdapter",
            )?;
            (source, verifier, Some(adapter), None)
        }
        _ => {
            let (source, verifier, front, bytes) =
                build_ours(params, vk, num_instances, kind, form, solc)?;
            (format!("{header}{source}"), verifier, front, Some(bytes))
        }
    };
    // The self-contained verifier is its own `IVerifier` front.
    let (adapter_initcode, adapter_runtime_size, adapter_abi) = match front {
        Some(front) => (hex::encode(&front.initcode), front.runtime.len(), front.abi),
        None => (String::new(), 0, verifier.abi.clone()),
    };
    Ok(VerifierArtifacts {
        form,
        verifier_source: source,
        verifier_runtime_size: verifier.runtime.len(),
        verifier_initcode: hex::encode(&verifier.initcode),
        adapter_initcode,
        adapter_runtime_size,
        adapter_abi,
        vk_artifact_hash: artifact
            .as_deref()
            .map(|b| hex::encode(reusable::vk_hash(b))),
        vk_artifact: artifact.map(hex::encode),
        num_instances,
        proof_len: Some(proof_len),
        solc_version: solc.version.clone(),
        srs_id: srs_id.to_owned(),
    })
}

/// The verifying-key artifact of a key (our verifiers' data; its counts fix a proof's length).
fn vk_artifact(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    kind: CircuitKind,
) -> Result<artifact::VkArtifact> {
    match kind {
        CircuitKind::Model => artifact::VkArtifact::from_vk(params, vk, num_instances),
        CircuitKind::Aggregation => {
            artifact::VkArtifact::from_aggregation_vk(params, vk, num_instances)
        }
    }
    .map_err(|e| VerifierError::SnarkVerifier(e.to_string()))
}

/// Our verifier in the self-contained or the reusable form: its source, the verifier, the
/// `IVerifier` front (the reusable form's key; none for the self-contained form) and the
/// verifying-key artifact.
fn build_ours(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    kind: CircuitKind,
    form: VerifierForm,
    solc: &Solc,
) -> Result<(String, CompiledContract, Option<CompiledContract>, Vec<u8>)> {
    let artifact = vk_artifact(params, vk, num_instances, kind)?;
    let bytes = artifact.encode()?;
    if form == VerifierForm::SelfContained {
        let (source, single) = reusable::compile_single(&artifact, solc)?;
        return Ok((source, single, None, bytes));
    }
    let source = reusable::reusable_sources()
        .iter()
        .map(|(name, text)| format!("// ---- {name}\n{text}"))
        .collect::<Vec<_>>()
        .join("\n");
    Ok((
        source,
        reusable::compile_reusable(solc)?,
        Some(reusable::compile_key(solc)?),
        bytes,
    ))
}

/// Checks a proof with `artifacts`' verifier in a fresh in-process EVM, through its
/// `IVerifier` front: `Ok(gas)` of that call if it accepts, else why it refuses.
pub fn evm_check(artifacts: &VerifierArtifacts, instances: &[Fr], proof: &[u8]) -> Result<u64> {
    let decode = |h: &str| hex::decode(h).map_err(VerifierError::InitCode);
    let initcode = decode(&artifacts.verifier_initcode)?;
    let mut chain = evm::Evm::default();
    let front = match artifacts.form {
        VerifierForm::SnarkVerifier => {
            let raw = chain.deploy(initcode).map_err(VerifierError::Evm)?;
            let adapter = front_initcode(artifacts, &[raw])?;
            chain.deploy(adapter).map_err(VerifierError::Evm)?
        }
        VerifierForm::SelfContained => chain.deploy(initcode).map_err(VerifierError::Evm)?,
        VerifierForm::Reusable => {
            let verifier = chain.deploy(initcode).map_err(VerifierError::Evm)?;
            let bytes = decode(artifacts.vk_artifact.as_deref().unwrap_or_default())?;
            let key = decode(&artifacts.adapter_initcode)?;
            chain
                .deploy_key(&key, verifier, &bytes)
                .map_err(VerifierError::Evm)?
                .1
        }
    };
    let called = chain
        .call(front, reusable::verify_calldata(proof, instances, false))
        .map_err(VerifierError::Evm)?;
    if called.output.get(31) == Some(&1) {
        return Ok(called.gas);
    }
    if artifacts.form == VerifierForm::SnarkVerifier {
        return Err(VerifierError::Refused(
            "snark-verifier's verifier returned false".into(),
        ));
    }
    let why = chain
        .call(front, reusable::verify_calldata(proof, instances, true))
        .map_err(VerifierError::Evm)?;
    Err(VerifierError::Refused(
        reusable::Failure::from_word(&why.output).to_string(),
    ))
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

#[cfg(test)]
mod form_tests {
    use super::*;

    #[test]
    fn the_default_form_is_ours_and_an_artifacts_file_without_a_form_is_snark_verifiers() {
        assert_eq!(VerifierForm::default(), VerifierForm::SelfContained);
        let mut file = serde_json::json!({
            "verifier_source": "", "verifier_initcode": "", "verifier_runtime_size": 0,
            "adapter_initcode": "", "adapter_runtime_size": 0, "adapter_abi": [],
            "num_instances": 1, "solc_version": "0.8.19", "srs_id": "",
        });
        let old: VerifierArtifacts = serde_json::from_value(file.clone()).unwrap();
        assert_eq!(old.form, VerifierForm::SnarkVerifier);
        file["form"] = "reusable".into();
        let new: VerifierArtifacts = serde_json::from_value(file).unwrap();
        assert_eq!(new.form, VerifierForm::Reusable);
    }
}
