//! The audit bounty on-chain: opening, claiming with an aggregated audit proof, reclaiming
//! and withdrawing, with reverts decoded into sentences.

/// Sends the signer everything the bounty contract credited to it: the escrow and the bounty
/// share the pull-payment ABI (`credit`, `withdraw` and their errors), so one client serves.
pub use super::escrow::withdraw;
use super::escrow::{confirmed, registry_says, says, send_verifying};
use super::{rpc_error, wallet_provider, ChainConfig};
use alloy::primitives::{Address, Bytes, B256, U256};
use eyre::{eyre, Result};

use super::abi::IAuditBounty;

/// Where a bounty stands (the contract's `Status`).
pub fn status_name(status: u8) -> &'static str {
    match status {
        1 => "open",
        2 => "paid",
        3 => "reclaimed",
        _ => "unknown",
    }
}

/// A sentence for a revert of the bounty contract.
fn explain(err: &alloy::contract::Error, url: &str, what: &str) -> eyre::Report {
    use IAuditBounty::IAuditBountyErrors as E;
    let Some(e) = err.as_decoded_interface_error::<E>() else {
        if let Some(why) = registry_says(err) {
            return eyre!("{what} rejected: {why}");
        }
        return match err {
            alloy::contract::Error::TransportError(e) => rpc_error(url, what, e),
            other => eyre!("{what} failed at {}: {other}", super::redact_url(url)),
        };
    };
    let why = match e {
        E::ZeroReward(_) => "the reward must be more than zero".to_owned(),
        E::DeadlineNotInFuture(d) => format!("the deadline {} is not in the future", d.deadline),
        E::BadThreshold(t) => format!(
            "the threshold {}/{} is not a fraction in [0, 1] with a denominator up to 2^64",
            t.num, t.den
        ),
        E::BadSampleCount(s) => format!("{} is not a sample count in 1..2^64", s.samples),
        E::ModelNotCommitted(m) => format!(
            "model {} has no weights commitment to audit against (register it with hashed weights)",
            m.modelId
        ),
        E::VerifierNotAContract(v) => format!("no contract at verifier address {}", v.verifier),
        E::WrongVerifierInstanceCount(v) => format!(
            "the verifier at {} takes {} public instances, not an aggregated audit proof's 17",
            v.verifier, v.instanceCount
        ),
        E::UnknownBounty(b) => format!("there is no bounty {}", b.bountyId),
        E::NotOpen(b) => says::not_open("bounty", b.bountyId, status_name(b.status)),
        E::DeadlinePassed(b) => says::expired("bounty", b.bountyId, b.deadline, "reclaimed"),
        E::DeadlineNotReached(b) => says::still_open("bounty", b.bountyId, b.deadline, "reclaimed"),
        E::WrongInstanceCount(b) => format!(
            "the proof has {} public instances, an aggregated audit proof has 17",
            b.got
        ),
        E::WrongModel(b) => format!(
            "the proof's weights commitment {} is not bounty {}'s model's",
            b.weightsCommitment, b.bountyId
        ),
        E::WrongDataset(b) => format!(
            "the proof's dataset chain runs from {} to {}, not over bounty {}'s dataset",
            b.chainStart, b.datasetCommitment, b.bountyId
        ),
        E::WrongSampleCount(b) => format!(
            "the proof counts {} samples, not bounty {}'s",
            b.samples, b.bountyId
        ),
        E::BelowThreshold(b) => format!(
            "{} correct of {} is below bounty {}'s threshold",
            b.correct, b.samples, b.bountyId
        ),
        E::ProofRejected(b) => format!(
            "the audit verifier rejected the proof for bounty {}",
            b.bountyId
        ),
        E::NothingToWithdraw(a) => says::nothing_to_withdraw(a.account),
        E::TransferFailed(t) => says::transfer_failed(t.amount, t.account),
    };
    eyre!("{what} rejected: {why}")
}

/// A bounty to open.
#[derive(Clone, Debug)]
pub struct NewBounty {
    /// The registered model (it must have a weights commitment).
    pub model_id: u64,
    /// The verifier of aggregated audit proofs.
    pub verifier: Address,
    /// `C_D`.
    pub dataset_commitment: U256,
    /// How many samples the dataset has.
    pub samples: u64,
    /// The accuracy threshold, `num / den`.
    pub threshold: (u64, u64),
    /// The reward, in wei.
    pub reward: U256,
    /// The deadline (a block timestamp).
    pub deadline: u64,
}

/// A bounty as the contract holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BountyEntry {
    /// Its id.
    pub id: u64,
    /// Who paid the reward.
    pub sponsor: Address,
    /// Last timestamp it can be claimed at.
    pub deadline: u64,
    /// `open`, `paid` or `reclaimed`.
    pub status: &'static str,
    /// The model.
    pub model_id: u64,
    /// The audit verifier.
    pub verifier: Address,
    /// `C_D`.
    pub dataset_commitment: U256,
    /// Samples in the dataset.
    pub samples: u64,
    /// The threshold, `num / den`.
    pub threshold: (u64, u64),
    /// The reward, in wei.
    pub reward: U256,
}

/// Opens a bounty; returns its id.
pub async fn open(cfg: &ChainConfig, bounty: Address, b: &NewBounty) -> Result<u64> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let what = "bounty";
    let pending = IAuditBounty::new(bounty, &provider)
        .open(
            U256::from(b.model_id),
            b.verifier,
            b.dataset_commitment,
            U256::from(b.samples),
            U256::from(b.threshold.0),
            U256::from(b.threshold.1),
            b.deadline,
        )
        .value(b.reward)
        .send()
        .await
        .map_err(|e| explain(&e, url, what))?;
    let receipt = confirmed(pending, url, what).await?;
    let event = receipt
        .decoded_log::<IAuditBounty::BountyOpened>()
        .ok_or_else(|| eyre!("{what}: no BountyOpened event in the receipt"))?;
    u64::try_from(event.bountyId).map_err(|_| eyre!("{what}: bounty id out of range"))
}

/// Reads bounty `id`.
pub async fn get(cfg: &ChainConfig, bounty: Address, id: u64) -> Result<BountyEntry> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let b = IAuditBounty::new(bounty, &provider)
        .getBounty(U256::from(id))
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the bounty"))?;
    let small = |v: U256, what: &str| u64::try_from(v).map_err(|_| eyre!("{what} out of range"));
    Ok(BountyEntry {
        id,
        sponsor: b.sponsor,
        deadline: b.deadline,
        status: status_name(b.status),
        model_id: small(b.modelId, "model id")?,
        verifier: b.verifier,
        dataset_commitment: b.datasetCommitment,
        samples: small(b.samples, "sample count")?,
        threshold: (
            small(b.thresholdNum, "threshold")?,
            small(b.thresholdDen, "threshold")?,
        ),
        reward: b.reward,
    })
}

/// The registry the bounty contract pays through.
pub async fn registry(cfg: &ChainConfig, bounty: Address) -> Result<Address> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    IAuditBounty::new(bounty, &provider)
        .registry()
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the bounty's registry"))
}

/// What a paid claim emitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    /// Who was credited the reward.
    pub payee: Address,
    /// Proven correct predictions.
    pub correct: U256,
    /// Gas of the transaction.
    pub gas_used: u64,
    /// The transaction.
    pub tx_hash: B256,
}

/// Claims bounty `id` with an aggregated audit proof of `instances`.
pub async fn claim(
    cfg: &ChainConfig,
    bounty: Address,
    id: u64,
    proof: &[u8],
    instances: &[U256],
) -> Result<Payment> {
    use alloy::network::ReceiptResponse;
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let what = "claim";
    let contract = IAuditBounty::new(bounty, &provider);
    let call = contract.claim(
        U256::from(id),
        Bytes::copy_from_slice(proof),
        instances.to_vec(),
    );
    let receipt = send_verifying(call, url, what, explain).await?;
    let event = receipt
        .decoded_log::<IAuditBounty::BountyPaid>()
        .ok_or_else(|| eyre!("{what}: no BountyPaid event in the receipt"))?;
    Ok(Payment {
        payee: event.payee,
        correct: event.correct,
        gas_used: receipt.gas_used(),
        tx_hash: receipt.transaction_hash(),
    })
}

/// Credits the reward of an expired bounty back to its sponsor.
pub async fn reclaim(cfg: &ChainConfig, bounty: Address, id: u64) -> Result<B256> {
    use alloy::network::ReceiptResponse;
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let pending = IAuditBounty::new(bounty, &provider)
        .reclaim(U256::from(id))
        .send()
        .await
        .map_err(|e| explain(&e, url, "reclaim"))?;
    Ok(confirmed(pending, url, "reclaim").await?.transaction_hash())
}
