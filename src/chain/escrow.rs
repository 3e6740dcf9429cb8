//! The model registry and the inference escrow on-chain: deployment (compiled from
//! `contracts/src` with the project's `solc`), calls, and reverts decoded into sentences.

use super::{rpc_error, wallet_provider, ChainConfig, RECEIPT_TIMEOUT};
use alloy::{
    network::ReceiptResponse,
    primitives::{Address, Bytes, B256, U256},
    providers::Provider,
    sol_types::SolValue,
};
use eyre::{bail, eyre, Result};

use super::abi::{IInferenceEscrow, IModelRegistry};

pub(super) const IVERIFIER_SOL: &str = include_str!("../../contracts/src/IVerifier.sol");
pub(super) const REGISTRY_SOL: &str = include_str!("../../contracts/src/ModelRegistry.sol");
const ESCROW_SOL: &str = include_str!("../../contracts/src/InferenceEscrow.sol");
const BOUNTY_SOL: &str = include_str!("../../contracts/src/AuditBounty.sol");
pub(super) const PULL_PAYMENTS_SOL: &str = include_str!("../../contracts/src/PullPayments.sol");

/// The sources of the registry, the escrow and the bounty (each compiles from these).
pub(super) const MARKET_SOURCES: [(&str, &str); 5] = [
    ("IVerifier.sol", IVERIFIER_SOL),
    ("ModelRegistry.sol", REGISTRY_SOL),
    ("InferenceEscrow.sol", ESCROW_SOL),
    ("AuditBounty.sol", BOUNTY_SOL),
    ("PullPayments.sol", PULL_PAYMENTS_SOL),
];

/// Where a request stands (the contract's `Status`).
pub fn status_name(status: u8) -> &'static str {
    match status {
        1 => "open",
        2 => "fulfilled",
        3 => "refunded",
        _ => "unknown",
    }
}

/// The addresses of a deployed registry, inference escrow and audit bounty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Market {
    /// `ModelRegistry`.
    pub registry: Address,
    /// `InferenceEscrow`, bound to `registry`.
    pub escrow: Address,
    /// `AuditBounty`, bound to `registry`.
    pub bounty: Address,
}

/// Compiles and deploys a `ModelRegistry`, and an `InferenceEscrow` and an `AuditBounty`
/// bound to it.
pub async fn deploy_market(cfg: &ChainConfig) -> Result<Market> {
    let solc = snarkml_verifier_gen::find_solc()?;
    let sources = MARKET_SOURCES;
    let registry = solc.compile(&sources, "ModelRegistry.sol", "ModelRegistry")?;
    let registry = super::deploy(cfg, registry.initcode)
        .await
        .map_err(|e| eyre!("deploying ModelRegistry: {e}"))?
        .address;
    let mut bound = Vec::new();
    for name in ["InferenceEscrow", "AuditBounty"] {
        let contract = solc.compile(&sources, &format!("{name}.sol"), name)?;
        let mut code = contract.initcode;
        code.extend_from_slice(&registry.abi_encode());
        let deployed = super::deploy(cfg, code)
            .await
            .map_err(|e| eyre!("deploying {name}: {e}"))?;
        bound.push(deployed.address);
    }
    Ok(Market {
        registry,
        escrow: bound[0],
        bounty: bound[1],
    })
}

/// Sentences for the errors every escrow contract shares (its lifecycle and pull payments), so
/// the inference escrow, the audit bounty and the prompt marketplace word them alike.
pub(super) mod says {
    use std::fmt::Display;

    /// `NotOpen`.
    pub(crate) fn not_open(item: &str, id: impl Display, status: &str) -> String {
        format!("{item} {id} is already {status}")
    }

    /// `DeadlinePassed`: the item can now only be `then` (refunded, reclaimed).
    pub(crate) fn expired(item: &str, id: impl Display, deadline: u64, then: &str) -> String {
        format!("{item} {id} expired at {deadline} (it can only be {then})")
    }

    /// `DeadlineNotReached`.
    pub(crate) fn still_open(item: &str, id: impl Display, deadline: u64, then: &str) -> String {
        format!("{item} {id} is open until {deadline}; it can be {then} only after that")
    }

    /// `NothingToWithdraw`.
    pub(crate) fn nothing_to_withdraw(account: impl Display) -> String {
        format!("{account} has nothing to withdraw")
    }

    /// `TransferFailed`.
    pub(crate) fn transfer_failed(amount: impl Display, account: impl Display) -> String {
        format!("sending {amount} wei to {account} failed")
    }

    /// `UnknownModel`.
    pub(crate) fn unknown_model(id: impl Display) -> String {
        format!("there is no model {id} in the registry")
    }
}

/// A sentence for a revert of the registry or the escrow.
fn explain(err: &alloy::contract::Error, url: &str, what: &str) -> eyre::Report {
    use IInferenceEscrow::IInferenceEscrowErrors as E;
    if let Some(e) = err.as_decoded_interface_error::<E>() {
        let why = match e {
            E::ZeroFee(_) => "the fee must be more than zero".to_owned(),
            E::DeadlineNotInFuture(d) => {
                format!("the deadline {} is not in the future", d.deadline)
            }
            E::UnknownRequest(r) => format!("there is no request {}", r.requestId),
            E::NotOpen(r) => says::not_open("request", r.requestId, status_name(r.status)),
            E::DeadlinePassed(r) => says::expired("request", r.requestId, r.deadline, "refunded"),
            E::DeadlineNotReached(r) => {
                says::still_open("request", r.requestId, r.deadline, "refunded")
            }
            E::InputTooLong(m) => format!(
                "{} input instances do not fit model {}'s {} public instances",
                m.inputCount, m.modelId, m.instanceCount
            ),
            E::InstanceCountMismatch(r) => format!(
                "the proof has {} public instances, request {}'s model has {}",
                r.got, r.requestId, r.expected
            ),
            E::InputMismatch(r) => format!(
                "the proof's public input is not request {}'s input",
                r.requestId
            ),
            E::WeightsMismatch(r) => format!(
                "the proof's weights commitment is not the one registered for request {}'s model",
                r.requestId
            ),
            E::ProofRejected(r) => format!(
                "the model's verifier rejected the proof for request {}",
                r.requestId
            ),
            E::NothingToWithdraw(a) => says::nothing_to_withdraw(a.account),
            E::TransferFailed(t) => says::transfer_failed(t.amount, t.account),
        };
        return eyre!("{what} rejected: {why}");
    }
    if let Some(why) = registry_says(err) {
        return eyre!("{what} rejected: {why}");
    }
    match err {
        alloy::contract::Error::TransportError(e) => rpc_error(url, what, e),
        other => eyre!("{what} failed at {}: {other}", super::redact_url(url)),
    }
}

/// A sentence for a revert of the model registry, if `err` is one: raised by the registry
/// itself, or by it inside a call from the escrow, the bounty or the marketplace (their own
/// ABIs do not list the errors of the contracts they call; the revert data bubbles up).
pub(super) fn registry_says(err: &alloy::contract::Error) -> Option<String> {
    use IModelRegistry::IModelRegistryErrors as R;
    let e = err.as_decoded_interface_error::<R>()?;
    Some(match e {
        R::UnknownModel(m) => says::unknown_model(m.modelId),
        R::VerifierNotAContract(v) => format!("no contract at verifier address {}", v.verifier),
        R::NotAVerifier(v) => format!(
            "the contract at {} does not answer vkHash() and instanceCount(): it is not a verifier of this version",
            v.verifier
        ),
        R::BadInstanceCount(v) => format!(
            "the verifier at {} has {} public instances: its proofs would prove nothing public",
            v.verifier, v.instanceCount
        ),
        R::NotOwner(n) => format!("{} does not own model {}", n.caller, n.modelId),
        R::ZeroOwner(_) => "the zero address cannot own a model".to_owned(),
    })
}

/// Sends a call whose contract runs a proof verifier inside: a dry run first, so a rejection is
/// reported (through `explain`) with its reason and costs no gas; then an explicit gas limit
/// ([`super::verify_gas`]), so the verifier is never starved by a tight estimate. Returns the
/// receipt.
pub(super) async fn send_verifying<P, D, N>(
    call: alloy::contract::CallBuilder<P, D, N>,
    url: &str,
    what: &str,
    explain: fn(&alloy::contract::Error, &str, &str) -> eyre::Report,
) -> Result<N::ReceiptResponse>
where
    P: Provider<N>,
    D: alloy::contract::CallDecoder,
    N: alloy::network::Network,
{
    call.call().await.map_err(|e| explain(&e, url, what))?;
    let gas = super::verify_gas(&call.calldata()[..], call.estimate_gas().await.ok());
    let pending = call
        .gas(gas)
        .send()
        .await
        .map_err(|e| explain(&e, url, what))?;
    confirmed(pending, url, what).await
}

/// Waits for a sent transaction and checks it succeeded; returns its receipt.
pub(super) async fn confirmed<N: alloy::network::Network>(
    pending: alloy::providers::PendingTransactionBuilder<N>,
    url: &str,
    what: &str,
) -> Result<N::ReceiptResponse> {
    let hash = *pending.tx_hash();
    let receipt = pending
        .with_timeout(Some(RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| {
            eyre!(
                "no receipt for {what} transaction {hash} from {}: {}",
                super::redact_url(url),
                super::scrub(&e.to_string(), url)
            )
        })?;
    if !receipt.status() {
        bail!("{what} transaction {hash} failed on-chain");
    }
    Ok(receipt)
}

/// A registered model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelEntry {
    /// Its id.
    pub id: u64,
    /// Who is paid.
    pub owner: Address,
    /// Its circuit's verifier.
    pub verifier: Address,
    /// The verifying key its verifier says it enforces (`IVerifier.vkHash`, read by the
    /// registry from the verifier).
    pub vk_hash: B256,
    /// The verifier's code hash at registration.
    pub code_hash: B256,
    /// Its proofs' number of public instances (`IVerifier.instanceCount`).
    pub instance_count: u64,
    /// Poseidon commitment to its weights (zero when fixed in the circuit).
    pub weights_commitment: U256,
    /// Metadata URI.
    pub metadata_uri: String,
}

/// Registers a model; returns its id.
pub async fn register_model(
    cfg: &ChainConfig,
    registry: Address,
    verifier: Address,
    weights_commitment: U256,
    metadata_uri: &str,
) -> Result<u64> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let c = IModelRegistry::new(registry, &provider);
    let what = "model registration";
    let pending = c
        .register(verifier, weights_commitment, metadata_uri.to_owned())
        .send()
        .await
        .map_err(|e| explain(&e, url, what))?;
    let receipt = confirmed(pending, url, what).await?;
    let event = receipt
        .decoded_log::<IModelRegistry::ModelRegistered>()
        .ok_or_else(|| eyre!("{what}: no ModelRegistered event in the receipt"))?;
    u64::try_from(event.modelId).map_err(|_| eyre!("{what}: model id out of range"))
}

/// Reads model `id` from the registry.
pub async fn model(cfg: &ChainConfig, registry: Address, id: u64) -> Result<ModelEntry> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let m = IModelRegistry::new(registry, &provider)
        .model(U256::from(id))
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the model"))?;
    Ok(ModelEntry {
        id,
        owner: m.owner,
        verifier: m.verifier,
        vk_hash: m.vkHash,
        code_hash: m.codeHash,
        instance_count: u64::try_from(m.instanceCount)
            .map_err(|_| eyre!("model {id}: instance count out of range"))?,
        weights_commitment: m.weightsCommitment,
        metadata_uri: m.metadataURI,
    })
}

/// An inference request as the escrow holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestEntry {
    /// Its id.
    pub id: u64,
    /// Who paid.
    pub requester: Address,
    /// Last timestamp it can be fulfilled at.
    pub deadline: u64,
    /// `open`, `fulfilled` or `refunded`.
    pub status: &'static str,
    /// The model.
    pub model_id: u64,
    /// The fee, in wei.
    pub fee: U256,
    /// keccak256 of the input instances.
    pub input_digest: B256,
    /// How many instances the input is.
    pub input_count: u64,
}

/// Opens a request for `model_id` on `input` paying `fee` wei; returns its id.
pub async fn open_request(
    cfg: &ChainConfig,
    escrow: Address,
    model_id: u64,
    input: &[U256],
    fee: U256,
    deadline: u64,
) -> Result<u64> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let what = "request";
    let pending = IInferenceEscrow::new(escrow, &provider)
        .request(U256::from(model_id), input.to_vec(), deadline)
        .value(fee)
        .send()
        .await
        .map_err(|e| explain(&e, url, what))?;
    let receipt = confirmed(pending, url, what).await?;
    let event = receipt
        .decoded_log::<IInferenceEscrow::RequestOpened>()
        .ok_or_else(|| eyre!("{what}: no RequestOpened event in the receipt"))?;
    u64::try_from(event.requestId).map_err(|_| eyre!("{what}: request id out of range"))
}

/// Reads request `id`.
pub async fn request(cfg: &ChainConfig, escrow: Address, id: u64) -> Result<RequestEntry> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let r = IInferenceEscrow::new(escrow, &provider)
        .getRequest(U256::from(id))
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the request"))?;
    let small = |v: U256, what: &str| u64::try_from(v).map_err(|_| eyre!("{what} out of range"));
    Ok(RequestEntry {
        id,
        requester: r.requester,
        deadline: r.deadline,
        status: status_name(r.status),
        model_id: small(r.modelId, "model id")?,
        fee: r.fee,
        input_digest: r.inputDigest,
        input_count: small(r.inputCount, "input count")?,
    })
}

/// The registry the escrow pays through.
pub async fn escrow_registry(cfg: &ChainConfig, escrow: Address) -> Result<Address> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    IInferenceEscrow::new(escrow, &provider)
        .registry()
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the escrow's registry"))
}

/// What a settled request emitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fulfilment {
    /// Who was credited the fee.
    pub payee: Address,
    /// The proven output instances.
    pub outputs: Vec<U256>,
    /// Gas of the transaction.
    pub gas_used: u64,
    /// The transaction.
    pub tx_hash: B256,
}

/// Fulfils request `id` with a proof of `instances`.
pub async fn fulfill(
    cfg: &ChainConfig,
    escrow: Address,
    id: u64,
    proof: &[u8],
    instances: &[U256],
) -> Result<Fulfilment> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let what = "fulfilment";
    let contract = IInferenceEscrow::new(escrow, &provider);
    let call = contract.fulfill(
        U256::from(id),
        Bytes::copy_from_slice(proof),
        instances.to_vec(),
    );
    let receipt = send_verifying(call, url, what, explain).await?;
    let event = receipt
        .decoded_log::<IInferenceEscrow::RequestFulfilled>()
        .ok_or_else(|| eyre!("{what}: no RequestFulfilled event in the receipt"))?;
    Ok(Fulfilment {
        payee: event.payee,
        outputs: event.outputInstances.clone(),
        gas_used: receipt.gas_used(),
        tx_hash: receipt.transaction_hash(),
    })
}

/// Credits the fee of an expired request back to its requester.
pub async fn refund(cfg: &ChainConfig, escrow: Address, id: u64) -> Result<B256> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let pending = IInferenceEscrow::new(escrow, &provider)
        .refund(U256::from(id))
        .send()
        .await
        .map_err(|e| explain(&e, url, "refund"))?;
    Ok(confirmed(pending, url, "refund").await?.transaction_hash())
}

/// Sends the signer everything the escrow (or the audit bounty: same pull-payment ABI)
/// credited to it; returns the amount.
pub async fn withdraw(cfg: &ChainConfig, escrow: Address) -> Result<U256> {
    let url = cfg.rpc_url.as_str();
    let (provider, from) = wallet_provider(cfg)?;
    let c = IInferenceEscrow::new(escrow, &provider);
    let amount = c
        .credit(from)
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the credit"))?;
    let pending = c
        .withdraw()
        .send()
        .await
        .map_err(|e| explain(&e, url, "withdrawal"))?;
    confirmed(pending, url, "withdrawal").await?;
    Ok(amount)
}

/// The balance of `account`, in wei.
pub async fn balance(cfg: &ChainConfig, account: Address) -> Result<U256> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    provider
        .get_balance(account)
        .await
        .map_err(|e| rpc_error(url, "eth_getBalance", &e))
}

/// The signer's address.
pub fn signer_address(cfg: &ChainConfig) -> Result<Address> {
    Ok(wallet_provider(cfg)?.1)
}

/// The latest block's timestamp.
pub async fn now(cfg: &ChainConfig) -> Result<u64> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let block = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .map_err(|e| rpc_error(url, "eth_getBlockByNumber", &e))?
        .ok_or_else(|| eyre!("{} has no latest block", super::redact_url(url)))?;
    Ok(block.header.timestamp)
}
