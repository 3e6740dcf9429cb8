//! Pay-per-verified-inference: registering a build's model, opening requests on an input,
//! fulfilling them with a proof, refunds and withdrawals. Each step checks what it can
//! off-chain first (the model's verifying key, the request's input), so that a mistake is
//! named before any gas is spent.

use super::{evm_proof, field_to_u256, load, prove};
use crate::artifacts::BuildDir;
use crate::chain::escrow::{self, Fulfilment, ModelEntry, RequestEntry};
use crate::chain::ChainConfig;
use crate::stored::Stored;
use alloy::primitives::{keccak256, Address, B256, U256};
use eyre::{bail, eyre, Result, WrapErr};
use snarkml_circuits::fixed_point::{field_to_hex, pack};
use snarkml_circuits::halo2_proofs::halo2curves::ff::Field;
use snarkml_circuits::io::{commit_quantized, InputFile};
use snarkml_circuits::prover::Transcript;
use snarkml_circuits::quantize::{CompiledModel, Visibility};
use snarkml_circuits::Fr;
use std::path::Path;

/// The public instances of the model input in `input`: the packed values of a public input,
/// the commitment of a hashed one (its salt must be in the input file), nothing for a private
/// one. What a requester escrows against.
pub fn input_instances(build: &BuildDir, input: &Path) -> Result<Vec<Fr>> {
    let model = load(build)?.model;
    let file = InputFile::load(input)?;
    Ok(per_input(&model, &file, input)?
        .into_iter()
        .flat_map(|(_, _, instances)| instances)
        .collect())
}

/// Per model input of `file` (read from `input`): its name, visibility and public instances.
fn per_input(
    model: &CompiledModel,
    file: &InputFile,
    input: &Path,
) -> Result<Vec<(String, Visibility, Vec<Fr>)>> {
    let quantized = model
        .quantize_inputs(&file.input_data)
        .wrap_err_with(|| format!("{}", input.display()))?;
    let mut out = Vec::new();
    for (spec, q) in model.inputs.iter().zip(&quantized) {
        let name = &model.tensors[spec.tensor].name;
        let instances = match spec.visibility {
            Visibility::Public => pack(q, spec.pack_bits),
            Visibility::Hashed => {
                let text = file.salts.get(name).ok_or_else(|| {
                    eyre!(
                        "{}: input `{name}` is hashed: give its salt in the file (\"salts\": {{\"{name}\": \"…\"}}) so the commitment can be opened, or make one with `snarkml infer salt`",
                        input.display()
                    )
                })?;
                let salt = snarkml_circuits::io::parse_field(text).ok_or_else(|| {
                    eyre!(
                        "{}: the salt of `{name}` is not a field element: `{text}`",
                        input.display()
                    )
                })?;
                vec![commit_quantized(q, salt)]
            }
            Visibility::Private | Visibility::Fixed => Vec::new(),
        };
        out.push((name.clone(), spec.visibility, instances));
    }
    Ok(out)
}

/// keccak256 of `uint256` words packed, as the escrow digests input instances.
pub fn instances_digest(instances: &[U256]) -> B256 {
    let bytes: Vec<u8> = instances
        .iter()
        .flat_map(|v| v.to_be_bytes::<32>())
        .collect();
    keccak256(bytes)
}

/// Registers the model of `build` (after `deploy`) in `registry`; the verifier is the build's
/// deployed one unless given. Returns the registry entry.
pub async fn register(
    build: &BuildDir,
    cfg: &ChainConfig,
    registry: Address,
    verifier: Option<Address>,
    metadata_uri: &str,
) -> Result<ModelEntry> {
    let loaded = load(build)?;
    let weights_commitment = registered_weights(&loaded.model)?;
    let verifier = match verifier {
        Some(v) => v,
        None => {
            let d = super::deployment(build)?;
            if d.rpc_url != cfg.rpc_url {
                bail!(
                    "{}'s verifier was deployed on {}, not {}: deploy it there or give --verifier",
                    build.root().display(),
                    crate::chain::redact_url(&d.rpc_url),
                    crate::chain::redact_url(&cfg.rpc_url)
                );
            }
            super::parse_address(&d.verifier)?
        }
    };
    let id =
        escrow::register_model(cfg, registry, verifier, weights_commitment, metadata_uri).await?;
    escrow::model(cfg, registry, id).await
}

/// The weights commitment a registry entry for `model` records (zero for fixed weights).
fn registered_weights(model: &snarkml_circuits::quantize::CompiledModel) -> Result<U256> {
    Ok(model
        .weights_commitment()?
        .map_or(U256::ZERO, |c| field_to_u256(&c)))
}

/// What [`salt_input`] drew: per hashed input, its name and the commitment a request will
/// escrow against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Salted {
    /// The input tensor's ONNX name.
    pub name: String,
    /// `Poseidon(values ‖ salt)`, the public instance of the request.
    pub commitment: Fr,
}

/// Writes `out`: the input file `input` with a fresh random salt for every hashed input of the
/// build that has none, ready for `infer request` and `infer fulfill`. Refuses a build without
/// hashed inputs (its input file needs no salt) and an `out` that exists (overwriting it could
/// lose the salt of an open request).
pub fn salt_input(build: &BuildDir, input: &Path, out: &Path) -> Result<Vec<Salted>> {
    let model = load(build)?.model;
    let mut file = InputFile::load(input)?;
    let hashed: Vec<String> = model
        .inputs
        .iter()
        .filter(|s| s.visibility == Visibility::Hashed)
        .map(|s| model.tensors[s.tensor].name.clone())
        .collect();
    if hashed.is_empty() {
        bail!(
            "{} has no hashed input: its input file needs no salt (compile with --inputs hashed to commit to inputs)",
            build.root().display()
        );
    }
    if out.exists() {
        bail!(
            "{} exists: it may hold the salt of an open request; choose another -o",
            out.display()
        );
    }
    for name in &hashed {
        file.salts
            .entry(name.clone())
            .or_insert_with(|| field_to_hex(&Fr::random(rand::rngs::OsRng)));
    }
    let salted = per_input(&model, &file, input)?
        .into_iter()
        .filter(|(_, visibility, _)| *visibility == Visibility::Hashed)
        .map(|(name, _, instances)| Salted {
            name,
            commitment: instances[0],
        })
        .collect();
    file.save(out)?;
    Ok(salted)
}

/// Checks that model `model_id` in the escrow's registry is the model of `build`: its verifier
/// is exactly the one the build generates and the entry records it and the build's weights
/// commitment (private weights do not change the key). See [`super::binding`].
async fn check_model(
    build: &BuildDir,
    cfg: &ChainConfig,
    escrow: Address,
    model_id: u64,
) -> Result<()> {
    let loaded = load(build)?;
    let registry = escrow::escrow_registry(cfg, escrow).await?;
    let entry = escrow::model(cfg, registry, model_id).await?;
    super::binding::check_registered(cfg, build, &entry, registered_weights(&loaded.model)?).await
}

/// A request to open.
#[derive(Clone, Debug)]
pub struct NewRequest<'a> {
    /// The model's build (to check the registered model and compute the input instances).
    pub build: &'a BuildDir,
    /// The escrow.
    pub escrow: Address,
    /// The registered model.
    pub model_id: u64,
    /// The input file (with the salt of a hashed input).
    pub input: &'a Path,
    /// The fee, in wei.
    pub fee: U256,
    /// Seconds from now until the deadline.
    pub ttl: u64,
}

/// Opens a request; returns it as the escrow holds it.
pub async fn open_request(cfg: &ChainConfig, req: &NewRequest<'_>) -> Result<RequestEntry> {
    check_model(req.build, cfg, req.escrow, req.model_id).await?;
    let input: Vec<U256> = input_instances(req.build, req.input)?
        .iter()
        .map(field_to_u256)
        .collect();
    let deadline = escrow::now(cfg).await? + req.ttl;
    let id = escrow::open_request(cfg, req.escrow, req.model_id, &input, req.fee, deadline).await?;
    escrow::request(cfg, req.escrow, id).await
}

/// Fulfils request `id` with a proof on `input`: the proof file `proof` if it exists, else a
/// fresh one written there. Checks the model and the input against the request first.
pub async fn fulfill(
    build: &BuildDir,
    cfg: &ChainConfig,
    escrow_address: Address,
    id: u64,
    input: &Path,
    proof: &Path,
) -> Result<Fulfilment> {
    let request = escrow::request(cfg, escrow_address, id).await?;
    if request.status != "open" {
        bail!("request {id} is already {}", request.status);
    }
    check_model(build, cfg, escrow_address, request.model_id).await?;
    let wanted: Vec<U256> = input_instances(build, input)?
        .iter()
        .map(field_to_u256)
        .collect();
    if wanted.len() as u64 != request.input_count
        || instances_digest(&wanted) != request.input_digest
    {
        bail!(
            "{} is not the input of request {id} (its public instances differ from the escrowed ones)",
            input.display()
        );
    }
    if !proof.exists() {
        prove(build, input, proof, Transcript::Keccak)?;
    }
    let (instances, bytes) = evm_proof(build, proof)?;
    let instances: Vec<U256> = instances.iter().map(field_to_u256).collect();
    if instances.len() < wanted.len() || instances[..wanted.len()] != wanted[..] {
        bail!(
            "{} proves another input than request {id}'s",
            proof.display()
        );
    }
    escrow::fulfill(cfg, escrow_address, id, &bytes, &instances).await
}
