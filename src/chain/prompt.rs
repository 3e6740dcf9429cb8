//! The prompt marketplace on-chain: deployment with its delivery verifiers, listing with an
//! inference proof, buying with a Grumpkin key, delivering with a delivery proof, refunding,
//! and reading what a delivery published; reverts decoded into sentences.

/// Sends the signer everything the marketplace credited to it: every escrow shares the
/// pull-payment ABI (`credit`, `withdraw` and their errors), so one client serves.
pub use super::escrow::withdraw;
use super::escrow::{
    confirmed, registry_says, says, send_verifying, IVERIFIER_SOL, PULL_PAYMENTS_SOL, REGISTRY_SOL,
};
use super::{rpc_error, wallet_provider, ChainConfig};
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use eyre::{eyre, Result};

use super::abi::IPromptMarketplace;

pub(super) const MARKET_SOL: &str = include_str!("../../contracts/src/PromptMarketplace.sol");

/// Where an order stands (the contract's `Status`).
pub fn status_name(status: u8) -> &'static str {
    match status {
        1 => "open",
        2 => "delivered",
        3 => "refunded",
        _ => "unknown",
    }
}

/// A sentence for a revert of the marketplace.
fn explain(err: &alloy::contract::Error, url: &str, what: &str) -> eyre::Report {
    use IPromptMarketplace::IPromptMarketplaceErrors as E;
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
        E::BadDeliveryVerifiers(_) => {
            "the delivery verifier lists differ in length or repeat a prompt length".to_owned()
        }
        E::VerifierNotAContract(v) => format!("no contract at verifier address {}", v.verifier),
        E::UnsupportedPromptLength(l) => format!(
            "this marketplace has no delivery verifier for {}-value prompts",
            l.promptLength
        ),
        E::ZeroPrice(_) => "the price must be more than zero".to_owned(),
        E::BadListingInstances(_) => "the listing proof's instances are not a hashed prompt, an output and the model's weights commitment".to_owned(),
        E::WrongListingInstanceCount(c) => format!(
            "the listing proof has {} public instances, model {}'s verifier takes {}",
            c.got, c.modelId, c.expected
        ),
        E::WrongDeliveryVerifier(d) => format!(
            "the delivery verifier for {}-value prompts takes {} public instances, not the delivery layout's",
            d.promptLength, d.instanceCount
        ),
        E::ListingProofRejected(_) => "the model's verifier rejected the listing proof".to_owned(),
        E::UnknownListing(l) => format!("there is no listing {}", l.listingId),
        E::ListingInactive(l) => format!("listing {} takes no new orders", l.listingId),
        E::NotSeller(l) => format!("{} is not listing {}'s seller", l.caller, l.listingId),
        E::WrongPayment(p) => format!(
            "listing {} costs {} wei, not {}",
            p.listingId, p.price, p.paid
        ),
        E::DeadlineNotInFuture(d) => format!("the deadline {} is not in the future", d.deadline),
        E::NotOnCurve(_) => "the buyer key is not a Grumpkin point".to_owned(),
        E::UnknownOrder(o) => format!("there is no order {}", o.orderId),
        E::NotOpen(o) => says::not_open("order", o.orderId, status_name(o.status)),
        E::DeadlinePassed(o) => says::expired("order", o.orderId, o.deadline, "refunded"),
        E::DeadlineNotReached(o) => says::still_open("order", o.orderId, o.deadline, "refunded"),
        E::WrongInstanceCount(o) => format!(
            "the delivery proof has {} public instances, not the listing's count",
            o.got
        ),
        E::WrongPrompt(o) => format!(
            "the delivery is of prompt commitment {}, not order {}'s listing's",
            o.promptCommitment, o.orderId
        ),
        E::WrongKey(o) => format!(
            "the delivery is encrypted to another key than order {}'s buyer's",
            o.orderId
        ),
        E::WrongNonce(o) => format!(
            "the delivery is for order {}, not {}",
            o.nonce, o.orderId
        ),
        E::DeliveryProofRejected(o) => format!(
            "the delivery verifier rejected the proof for order {}",
            o.orderId
        ),
        E::NothingToWithdraw(a) => says::nothing_to_withdraw(a.account),
        E::TransferFailed(t) => says::transfer_failed(t.amount, t.account),
    };
    eyre!("{what} rejected: {why}")
}

/// Compiles and deploys a `PromptMarketplace` bound to `registry`, with one delivery verifier
/// (an `IVerifier`) per prompt length.
pub async fn deploy(
    cfg: &ChainConfig,
    registry: Address,
    verifiers: &[(usize, Address)],
) -> Result<Address> {
    use alloy::sol_types::SolValue;
    let solc = snarkml_verifier_gen::find_solc()?;
    let sources = [
        ("IVerifier.sol", IVERIFIER_SOL),
        ("ModelRegistry.sol", REGISTRY_SOL),
        ("PullPayments.sol", PULL_PAYMENTS_SOL),
        ("PromptMarketplace.sol", MARKET_SOL),
    ];
    let contract = solc.compile(&sources, "PromptMarketplace.sol", "PromptMarketplace")?;
    let lengths: Vec<U256> = verifiers.iter().map(|(l, _)| U256::from(*l)).collect();
    let addresses: Vec<Address> = verifiers.iter().map(|(_, a)| *a).collect();
    let mut code = contract.initcode;
    code.extend_from_slice(&(registry, lengths, addresses).abi_encode_params());
    Ok(super::deploy(cfg, code)
        .await
        .map_err(|e| eyre!("deploying PromptMarketplace: {e}"))?
        .address)
}

/// A listing as the contract holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingEntry {
    /// Its id.
    pub id: u64,
    /// Who is paid.
    pub seller: Address,
    /// Whether it takes orders.
    pub active: bool,
    /// The model.
    pub model_id: u64,
    /// `C_p`.
    pub prompt_commitment: U256,
    /// Values in the prompt.
    pub prompt_len: usize,
    /// keccak256 of the advertised output instances.
    pub output_digest: B256,
    /// The price, in wei.
    pub price: U256,
}

/// An order as the contract holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderEntry {
    /// Its id.
    pub id: u64,
    /// Who paid.
    pub buyer: Address,
    /// Last timestamp it can be delivered at.
    pub deadline: u64,
    /// `open`, `delivered` or `refunded`.
    pub status: &'static str,
    /// The listing bought.
    pub listing_id: u64,
    /// The escrowed price, in wei.
    pub price: U256,
    /// The buyer's Grumpkin key.
    pub key: (U256, U256),
}

fn small(v: U256, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| eyre!("{what} out of range"))
}

/// Lists a prompt with an inference proof of `instances` (C_p, output, weights commitment).
/// Returns the listing id.
pub async fn list(
    cfg: &ChainConfig,
    market: Address,
    model_id: u64,
    proof: &[u8],
    instances: &[U256],
    prompt_len: usize,
    price: U256,
) -> Result<u64> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let what = "listing";
    let contract = IPromptMarketplace::new(market, &provider);
    let call = contract.list(
        U256::from(model_id),
        Bytes::copy_from_slice(proof),
        instances.to_vec(),
        U256::from(prompt_len),
        price,
    );
    let receipt = send_verifying(call, url, what, explain).await?;
    let event = receipt
        .decoded_log::<IPromptMarketplace::Listed>()
        .ok_or_else(|| eyre!("{what}: no Listed event in the receipt"))?;
    small(event.listingId, "listing id")
}

/// Stops a listing taking orders (its seller only).
pub async fn delist(cfg: &ChainConfig, market: Address, id: u64) -> Result<()> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let pending = IPromptMarketplace::new(market, &provider)
        .delist(U256::from(id))
        .send()
        .await
        .map_err(|e| explain(&e, url, "delisting"))?;
    confirmed(pending, url, "delisting").await?;
    Ok(())
}

/// Buys listing `listing` for the Grumpkin key `key`, paying `price`; returns the order id.
pub async fn buy(
    cfg: &ChainConfig,
    market: Address,
    listing: u64,
    key: (U256, U256),
    price: U256,
    deadline: u64,
) -> Result<u64> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let what = "purchase";
    let pending = IPromptMarketplace::new(market, &provider)
        .buy(U256::from(listing), key.0, key.1, deadline)
        .value(price)
        .send()
        .await
        .map_err(|e| explain(&e, url, what))?;
    let receipt = confirmed(pending, url, what).await?;
    let event = receipt
        .decoded_log::<IPromptMarketplace::Ordered>()
        .ok_or_else(|| eyre!("{what}: no Ordered event in the receipt"))?;
    small(event.orderId, "order id")
}

/// What a delivery published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryEntry {
    /// Who was credited the price.
    pub seller: Address,
    /// The ephemeral point `R`.
    pub ephemeral: (U256, U256),
    /// The ciphertext, tag last.
    pub ciphertext: Vec<U256>,
    /// Gas of the transaction.
    pub gas_used: u64,
    /// The transaction.
    pub tx_hash: B256,
}

/// Delivers order `id` with a delivery proof of `instances`.
pub async fn deliver(
    cfg: &ChainConfig,
    market: Address,
    id: u64,
    proof: &[u8],
    instances: &[U256],
) -> Result<DeliveryEntry> {
    use alloy::network::ReceiptResponse;
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let what = "delivery";
    let contract = IPromptMarketplace::new(market, &provider);
    let call = contract.deliver(
        U256::from(id),
        Bytes::copy_from_slice(proof),
        instances.to_vec(),
    );
    let receipt = send_verifying(call, url, what, explain).await?;
    let event = receipt
        .decoded_log::<IPromptMarketplace::Delivered>()
        .ok_or_else(|| eyre!("{what}: no Delivered event in the receipt"))?;
    Ok(DeliveryEntry {
        seller: event.seller,
        ephemeral: (event.rX, event.rY),
        ciphertext: event.ciphertext.clone(),
        gas_used: receipt.gas_used(),
        tx_hash: receipt.transaction_hash(),
    })
}

/// What order `id`'s delivery published, from the chain's logs (`None` while undelivered).
pub async fn delivery(
    cfg: &ChainConfig,
    market: Address,
    id: u64,
) -> Result<Option<DeliveryEntry>> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let filter = Filter::new()
        .address(market)
        .event_signature(IPromptMarketplace::Delivered::SIGNATURE_HASH)
        .topic1(U256::from(id))
        .from_block(0);
    let logs = provider
        .get_logs(&filter)
        .await
        .map_err(|e| rpc_error(url, "eth_getLogs", &e))?;
    let Some(log) = logs.first() else {
        return Ok(None);
    };
    let event = IPromptMarketplace::Delivered::decode_log_data(log.data())
        .map_err(|e| eyre!("a Delivered event of order {id} does not decode: {e}"))?;
    Ok(Some(DeliveryEntry {
        seller: event.seller,
        ephemeral: (event.rX, event.rY),
        ciphertext: event.ciphertext,
        gas_used: 0,
        tx_hash: log.transaction_hash.unwrap_or_default(),
    }))
}

/// Credits the price of an expired order back to its buyer.
pub async fn refund(cfg: &ChainConfig, market: Address, id: u64) -> Result<B256> {
    use alloy::network::ReceiptResponse;
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let pending = IPromptMarketplace::new(market, &provider)
        .refund(U256::from(id))
        .send()
        .await
        .map_err(|e| explain(&e, url, "refund"))?;
    Ok(confirmed(pending, url, "refund").await?.transaction_hash())
}

/// Reads listing `id`.
pub async fn listing(cfg: &ChainConfig, market: Address, id: u64) -> Result<ListingEntry> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let l = IPromptMarketplace::new(market, &provider)
        .getListing(U256::from(id))
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the listing"))?;
    Ok(ListingEntry {
        id,
        seller: l.seller,
        active: l.active,
        model_id: small(l.modelId, "model id")?,
        prompt_commitment: l.promptCommitment,
        prompt_len: small(l.promptLength, "prompt length")? as usize,
        output_digest: l.outputDigest,
        price: l.price,
    })
}

/// The marketplace's registry and its delivery verifier for prompts of `prompt_len` values
/// (the zero address when it has none).
pub async fn registry_and_delivery(
    cfg: &ChainConfig,
    market: Address,
    prompt_len: usize,
) -> Result<(Address, Address)> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let m = IPromptMarketplace::new(market, &provider);
    let registry = m
        .registry()
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the registry"))?;
    let delivery = m
        .deliveryVerifier(U256::from(prompt_len))
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the delivery verifier"))?;
    Ok((registry, delivery))
}

/// Reads order `id`.
pub async fn order(cfg: &ChainConfig, market: Address, id: u64) -> Result<OrderEntry> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    let o = IPromptMarketplace::new(market, &provider)
        .getOrder(U256::from(id))
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the order"))?;
    Ok(OrderEntry {
        id,
        buyer: o.buyer,
        deadline: o.deadline,
        status: status_name(o.status),
        listing_id: small(o.listingId, "listing id")?,
        price: o.price,
        key: (o.keyX, o.keyY),
    })
}

/// Prices of open orders, in wei.
pub async fn open_escrow(cfg: &ChainConfig, market: Address) -> Result<U256> {
    let url = cfg.rpc_url.as_str();
    let (provider, _) = wallet_provider(cfg)?;
    IPromptMarketplace::new(market, &provider)
        .openEscrow()
        .call()
        .await
        .map_err(|e| explain(&e, url, "reading the open escrow"))
}
