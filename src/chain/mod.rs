//! Chain client: deploys verifier contracts, asks them about proofs, and runs a local `anvil`.
//!
//! Everything here talks JSON-RPC over HTTP through alloy. Errors are one-line `eyre` reports
//! that name the endpoint or the address involved; a private key never appears in one, and an
//! endpoint is shown through [`redact_url`], so neither do the credentials in its URL.

use std::{fmt, net::IpAddr, time::Duration};

use alloy::{
    network::{ReceiptResponse, TransactionBuilder},
    primitives::{Address, Bytes, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
    transports::{http::reqwest, RpcError, TransportError},
};
use eyre::{bail, eyre, Result};

mod abi;
mod anvil;
use abi::IVerifier;
#[cfg(test)]
use anvil::free_port;
pub use anvil::{find_tool, LocalAnvil};
pub mod bounty;
pub mod escrow;
pub mod prompt;

alloy::sol! {
    /// The getters by which each verifier front names the contracts it calls.
    #[sol(rpc)]
    interface IVerifierLinks {
        /// `Halo2VerifierAdapter`: snark-verifier's verifier it calls.
        function rawVerifier() external view returns (address);
        /// `Halo2VerifyingKey`: the shared `Halo2Verifier`.
        function verifier() external view returns (address);
        /// `Halo2VerifyingKey`: the artifact's data contract.
        function artifact() external view returns (address);
    }
}

/// Anvil's default chain id: the one chain that takes keys from a development SRS without
/// `--insecure-srs` (see `pipeline::refuse_insecure`).
pub const ANVIL_CHAIN_ID: u64 = 31337;

/// Anvil's first default account key (well-known dev key; never use it on a real chain).
pub const ANVIL_DEFAULT_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// How long to wait for a TCP connection to a JSON-RPC endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one JSON-RPC request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long to wait for a sent transaction's receipt.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(300);
/// Where and as whom to talk to a chain, and the connection once made: the first call that
/// signs builds the HTTP client and the signing provider, and every later call with this
/// config (or a clone of it) reuses them — one connection per command, not one per call. A
/// config is used on one tokio runtime (the CLI's [`crate::cli::block_on`], or a test's):
/// pooled connections belong to the runtime that opened them.
#[derive(Clone)]
pub struct ChainConfig {
    /// JSON-RPC endpoint, e.g. `http://127.0.0.1:8545`.
    pub rpc_url: String,
    /// Hex private key of the account that signs and pays, `0x`-prefixed or not.
    pub private_key: String,
    /// The signing connection, made on first use (for these `rpc_url` and `private_key`).
    connection: std::sync::Arc<std::sync::Mutex<Option<Connection>>>,
}

/// A signing provider and its signer's address, for one endpoint and key.
#[derive(Clone)]
struct Connection {
    rpc_url: String,
    private_key: String,
    provider: DynProvider,
    from: Address,
}

impl ChainConfig {
    /// A config for `rpc_url` that signs with `private_key`.
    pub fn new(rpc_url: impl Into<String>, private_key: impl Into<String>) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            private_key: private_key.into(),
            connection: Default::default(),
        }
    }

    /// A config for `rpc_url` that signs with anvil's first default account.
    pub fn anvil_default(rpc_url: impl Into<String>) -> Self {
        Self::new(rpc_url, ANVIL_DEFAULT_KEY)
    }
}

impl fmt::Debug for ChainConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainConfig")
            .field("rpc_url", &redact_url(&self.rpc_url))
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// A contract deployed by [`deploy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployed {
    /// Address of the new contract.
    pub address: Address,
    /// Gas used by the deployment transaction.
    pub gas_used: u64,
    /// Size in bytes of the runtime code found at `address` after deployment.
    pub runtime_size: usize,
    /// Hash of the deployment transaction.
    pub tx_hash: B256,
}

/// What a verifier contract said about a proof, from [`verify_onchain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnchainVerdict {
    /// `verifyProof` returned true.
    pub valid: bool,
    /// For a valid proof, gas used by the verifying transaction (what a user pays to verify
    /// on-chain); for an invalid one, the `eth_estimateGas` figure when the node gives one.
    pub gas_used: Option<u64>,
    /// Hash of the verifying transaction; sent only for a valid proof.
    pub tx_hash: Option<B256>,
}

/// True if the URL points at this machine (`localhost`, `127.0.0.0/8` or `[::1]`).
pub fn is_local_url(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// The chain id reported by the endpoint.
pub async fn chain_id(rpc_url: &str) -> Result<u64> {
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_reqwest(http_client(rpc_url)?, parse_url(rpc_url)?);
    provider
        .get_chain_id()
        .await
        .map_err(|e| rpc_error(rpc_url, "eth_chainId", &e))
}

/// Which chain the endpoint serves: its chain id and the hash of its genesis block (two
/// local anvils share an id, never a genesis).
pub async fn chain_identity(rpc_url: &str) -> Result<(u64, B256)> {
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_reqwest(http_client(rpc_url)?, parse_url(rpc_url)?);
    let id = provider
        .get_chain_id()
        .await
        .map_err(|e| rpc_error(rpc_url, "eth_chainId", &e))?;
    let genesis = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Number(0))
        .await
        .map_err(|e| rpc_error(rpc_url, "eth_getBlockByNumber", &e))?
        .ok_or_else(|| eyre!("{} has no genesis block", redact_url(rpc_url)))?;
    Ok((id, genesis.header.hash))
}

/// The runtime code at `address` (empty for an account without code).
pub async fn code_at(rpc_url: &str, address: Address) -> Result<Vec<u8>> {
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_reqwest(http_client(rpc_url)?, parse_url(rpc_url)?);
    let code = provider
        .get_code_at(address)
        .await
        .map_err(|e| rpc_error(rpc_url, "eth_getCode", &e))?;
    Ok(code.to_vec())
}

/// A deployed verifier as the chain holds it: the code of its `IVerifier` front, and the
/// addresses and codes of the contracts that front names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployedVerifier {
    /// The code at the `IVerifier` address.
    pub front: Vec<u8>,
    /// What it calls, in its constructor's order: snark-verifier's adapter its raw verifier;
    /// a `Halo2VerifyingKey` the shared `Halo2Verifier` and the artifact's data contract; a
    /// self-contained verifier nothing.
    pub linked: Vec<(Address, Vec<u8>)>,
}

/// Reads the verifier of `form` at `front`: its code, and the addresses its getters name with
/// their codes. Fails, naming the getter, when the contract there has no such getter.
pub async fn deployed_verifier(
    rpc_url: &str,
    front: Address,
    form: snarkml_verifier_gen::VerifierForm,
) -> Result<DeployedVerifier> {
    use snarkml_verifier_gen::VerifierForm;
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_reqwest(http_client(rpc_url)?, parse_url(rpc_url)?);
    let code = code_at(rpc_url, front).await?;
    if code.is_empty() {
        bail!("no contract at {front} on {}", redact_url(rpc_url));
    }
    let links = IVerifierLinks::new(front, &provider);
    let not_it = |getter: &str| {
        eyre!("the contract at {front} is not a {form:?} verifier front: it does not answer {getter}() (give the build whose verifier form was deployed)")
    };
    let addresses = match form {
        VerifierForm::SelfContained => vec![],
        VerifierForm::SnarkVerifier => {
            vec![links
                .rawVerifier()
                .call()
                .await
                .map_err(|_| not_it("rawVerifier"))?]
        }
        VerifierForm::Reusable => vec![
            links
                .verifier()
                .call()
                .await
                .map_err(|_| not_it("verifier"))?,
            links
                .artifact()
                .call()
                .await
                .map_err(|_| not_it("artifact"))?,
        ],
    };
    let mut linked = Vec::new();
    for a in addresses {
        linked.push((a, code_at(rpc_url, a).await?));
    }
    Ok(DeployedVerifier {
        front: code,
        linked,
    })
}

/// Deploys raw init code (constructor arguments already appended) and reads the runtime code
/// back. Fails if the transaction is rejected or reverts, or if no code ends up at the new
/// address (for instance runtime code over the EIP-170 limit of 24,576 bytes).
pub async fn deploy(cfg: &ChainConfig, initcode: Vec<u8>) -> Result<Deployed> {
    if initcode.is_empty() {
        bail!("cannot deploy empty init code");
    }
    let url = cfg.rpc_url.as_str();
    let (provider, from) = wallet_provider(cfg)?;
    let tx = TransactionRequest::default()
        .with_from(from)
        .with_deploy_code(initcode);
    let shown = redact_url(url);
    let pending = provider
        .send_transaction(tx)
        .await
        .map_err(|e| with_size_hint(rpc_error(url, "deployment", &e)))?;
    let tx_hash = *pending.tx_hash();
    let receipt = pending
        .with_timeout(Some(RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| {
            eyre!(
                "no receipt for deployment {tx_hash} from {shown}: {}",
                scrub(&e.to_string(), url)
            )
        })?;
    if !receipt.status() {
        bail!(
            "deployment {tx_hash} failed on-chain (gas used {})",
            receipt.gas_used()
        );
    }
    let address = receipt
        .contract_address()
        .ok_or_else(|| eyre!("receipt of deployment {tx_hash} names no contract address"))?;
    let code = provider
        .get_code_at(address)
        .await
        .map_err(|e| rpc_error(url, "eth_getCode", &e))?;
    if code.is_empty() {
        bail!("no contract code at {address} after deployment {tx_hash}");
    }
    Ok(Deployed {
        address,
        gas_used: receipt.gas_used(),
        runtime_size: code.len(),
        tx_hash,
    })
}

/// Asks the `IVerifier` at `verifier` whether `proof` is valid for `instances`.
///
/// The verdict comes from `eth_call`; a call that reverts or halts means "invalid". A valid
/// proof is then also sent as a transaction, and the receipt's gas is reported.
pub async fn verify_onchain(
    cfg: &ChainConfig,
    verifier: Address,
    proof: &[u8],
    instances: &[U256],
) -> Result<OnchainVerdict> {
    let url = cfg.rpc_url.as_str();
    let (provider, from) = wallet_provider(cfg)?;
    let code = provider
        .get_code_at(verifier)
        .await
        .map_err(|e| rpc_error(url, "eth_getCode", &e))?;
    if code.is_empty() {
        bail!("no contract code at {verifier} on {}", redact_url(url));
    }
    let calldata = IVerifier::verifyProofCall {
        proof: Bytes::copy_from_slice(proof),
        instances: instances.to_vec(),
    }
    .abi_encode();
    // A proof whose calldata alone would not fit in a block is refused before any call (the
    // node would only say "intrinsic gas too high").
    let block_gas = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .map_err(|e| rpc_error(url, "eth_getBlockByNumber", &e))?
        .ok_or_else(|| eyre!("{} has no latest block", redact_url(url)))?
        .header
        .gas_limit;
    let least = verify_gas(&calldata, None);
    if least > block_gas {
        bail!(
            "verifyProof with {} public instances needs over {least} gas, more than a block of {} holds ({block_gas}): expose fewer public instances (e.g. hash the inputs: --inputs hashed)",
            instances.len(),
            redact_url(url)
        );
    }
    let tx = TransactionRequest::default()
        .with_from(from)
        .with_to(verifier)
        .with_input(calldata.clone());

    let valid = match provider.call(tx.clone()).await {
        Ok(out) => IVerifier::verifyProofCall::abi_decode_returns_validate(&out).map_err(|_| {
            eyre!(
                "{verifier} is not an IVerifier: verifyProof returned {} bytes that are not an ABI bool",
                out.len()
            )
        })?,
        Err(e) if is_execution_failure(&e) => false,
        Err(e) => return Err(rpc_error(url, "eth_call to verifyProof", &e)),
    };

    if !valid {
        let gas_used = match provider.estimate_gas(tx).await {
            Ok(gas) => Some(gas),
            Err(e) if e.is_error_resp() => None,
            Err(e) => return Err(rpc_error(url, "eth_estimateGas of verifyProof", &e)),
        };
        return Ok(OnchainVerdict {
            valid: false,
            gas_used,
            tx_hash: None,
        });
    }

    // The node's estimate where it is more than the calldata's allowance; never over a block.
    let estimate = provider.estimate_gas(tx.clone()).await.ok();
    let gas = verify_gas(&calldata, estimate).min(block_gas);
    let pending = provider
        .send_transaction(tx.with_gas_limit(gas))
        .await
        .map_err(|e| rpc_error(url, "verifyProof transaction", &e))?;
    let tx_hash = *pending.tx_hash();
    let receipt = pending
        .with_timeout(Some(RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| {
            eyre!(
                "no receipt for verifyProof transaction {tx_hash} from {}: {}",
                redact_url(url),
                scrub(&e.to_string(), url)
            )
        })?;
    if !receipt.status() {
        bail!(
            "verifyProof returned true in eth_call, but transaction {tx_hash} to {verifier} failed (gas used {})",
            receipt.gas_used()
        );
    }
    Ok(OnchainVerdict {
        valid: true,
        gas_used: Some(receipt.gas_used()),
        tx_hash: Some(tx_hash),
    })
}

/// The verifier's own allowance in the gas limit of a transaction that runs a proof verifier
/// ([`verify_gas`]): far above a verifier's work for a proof with few public instances, far
/// below a block.
pub const VERIFY_GAS_LIMIT: u64 = 5_000_000;

/// The gas limit of a transaction that runs a proof verifier on `calldata`: the verifier's
/// allowance ([`VERIFY_GAS_LIMIT`]) plus what the calldata itself costs at most (EIP-7623's
/// floor: 10 gas a token, a zero byte one token and any other four), or a quarter over the
/// node's `estimate` where that is more (a verifier's work grows with its public instances).
/// Never the estimate alone: the estimate is the smallest limit at which the call does not
/// revert, and a verifier behind an adapter never reverts, so it can starve the inner call
/// (EIP-150 forwards only 63/64) and measure a failing verification.
pub fn verify_gas(calldata: &[u8], estimate: Option<u64>) -> u64 {
    let tokens: u64 = calldata.iter().map(|&b| if b == 0 { 1 } else { 4 }).sum();
    let floor = VERIFY_GAS_LIMIT + 10 * tokens;
    estimate.map_or(floor, |e| floor.max(e.saturating_add(e / 4)))
}

/// The provider that signs with `cfg.private_key` (made once per config: see
/// [`ChainConfig`]), and the signer's address.
fn wallet_provider(cfg: &ChainConfig) -> Result<(DynProvider, Address)> {
    let mut slot = cfg
        .connection
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(c) = slot
        .as_ref()
        .filter(|c| c.rpc_url == cfg.rpc_url && c.private_key == cfg.private_key)
    {
        return Ok((c.provider.clone(), c.from));
    }
    let signer: PrivateKeySigner =
        cfg.private_key.trim().parse().map_err(|_| {
            eyre!("invalid private key: expected 32 bytes of hex, 0x-prefixed or not")
        })?;
    let from = signer.address();
    // The recommended fillers but for the nonce: the connection outlives one transaction, and
    // a cached nonce would stay ahead of the chain after a send that failed (a transaction
    // refused before it reached a block), so every later one would wait forever. The next
    // nonce is asked of the chain for each transaction (they are sent one after another).
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(signer)
        .connect_reqwest(http_client(&cfg.rpc_url)?, parse_url(&cfg.rpc_url)?)
        .erased();
    *slot = Some(Connection {
        rpc_url: cfg.rpc_url.clone(),
        private_key: cfg.private_key.clone(),
        provider: provider.clone(),
        from,
    });
    Ok((provider, from))
}

fn parse_url(rpc_url: &str) -> Result<reqwest::Url> {
    let shown = redact_url(rpc_url);
    let url =
        reqwest::Url::parse(rpc_url).map_err(|e| eyre!("invalid JSON-RPC URL {shown:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("invalid JSON-RPC URL {shown:?}: only http:// and https:// are supported");
    }
    Ok(url)
}

/// An HTTP client with bounded waits; local endpoints bypass any configured proxy.
fn http_client(rpc_url: &str) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT);
    if is_local_url(rpc_url) {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| {
        eyre!(
            "cannot set up an HTTP client for {}: {}",
            redact_url(rpc_url),
            scrub(&root_cause(&e), rpc_url)
        )
    })
}

/// Whether an RPC error means the EVM ran and failed (revert, invalid opcode, out of gas)
/// rather than that the request itself failed.
fn is_execution_failure(err: &TransportError) -> bool {
    let Some(payload) = err.as_error_resp() else {
        return false;
    };
    if payload.code == 3 {
        return true;
    }
    let msg = payload.message.to_lowercase();
    [
        "revert",
        "execution",
        "out of gas",
        "opcode",
        "evm",
        "halt",
        "stack",
    ]
    .iter()
    .any(|needle| msg.contains(needle))
}

/// One-line report for a failed JSON-RPC request; the endpoint is shown without its
/// credentials (see [`redact_url`]), and they are scrubbed from the causes too.
fn rpc_error(url: &str, what: &str, err: &TransportError) -> eyre::Report {
    let shown = redact_url(url);
    let text = match err {
        RpcError::Transport(kind) => {
            format!(
                "cannot reach JSON-RPC endpoint {shown}: {}",
                root_cause(kind)
            )
        }
        RpcError::ErrorResp(payload) => {
            format!(
                "{what} rejected by {shown}: {} (JSON-RPC error {})",
                payload.message, payload.code
            )
        }
        other => format!("{what} failed at {shown}: {}", root_cause(other)),
    };
    eyre!("{}", scrub(&text, url))
}

/// `url` as it may be shown in a message or printed: its user name and password
/// (`user:password@`) removed, every query value, the fragment and any path segment that
/// looks like an API key replaced by `***`. A key segment is one after a version segment
/// (Infura's `/v3/<key>`, Alchemy's `/v2/<key>`) or one of 16 or more letters, digits, `-`
/// and `_` with a digit among them (QuickNode's or Ankr's tokens). Works on text that is not a
/// valid URL as well, so an invalid one can be named safely.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, _)) => (r, "#***"),
        None => (rest, ""),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let mut out = format!("{scheme}{host}");
    let mut after_version = false;
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let is_version = segment.len() > 1
            && segment.starts_with(['v', 'V'])
            && segment[1..].bytes().all(|b| b.is_ascii_digit());
        if (after_version && !segment.is_empty()) || looks_like_key(segment) {
            out.push_str("***");
        } else {
            out.push_str(segment);
        }
        after_version = is_version;
    }
    if let Some(query) = query {
        out.push('?');
        let pairs = query.split('&').map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}=***"),
            None if pair.is_empty() => String::new(),
            None => "***".to_owned(),
        });
        out.push_str(&pairs.collect::<Vec<_>>().join("&"));
    }
    out.push_str(fragment);
    out
}

/// Whether a URL path segment looks like an API key (see [`redact_url`]).
fn looks_like_key(segment: &str) -> bool {
    segment.len() >= 16
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && segment.bytes().any(|b| b.is_ascii_digit())
}

/// `text` (an error's message) with the credentials of `url` replaced: the URL itself by
/// [`redact_url`]'s form, then any remaining occurrence of its password, of its userinfo or
/// of a part [`redact_url`] hides, by `***`.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    let shown = redact_url(url);
    let mut out = text.replace(url, &shown);
    if let Ok(parsed) = reqwest::Url::parse(url) {
        out = out.replace(parsed.as_str(), &shown);
    }
    // The pieces `redact_url` hid: whatever of `url` is not in `shown`.
    let mut secrets: Vec<&str> = Vec::new();
    if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            secrets.push(userinfo);
            secrets.extend(userinfo.split_once(':').map(|(_, password)| password));
        }
    }
    let hidden = url
        .split(['/', '?', '&', '=', '#', '@', ':'])
        .filter(|piece| piece.len() >= 6 && !shown.contains(*piece));
    secrets.extend(hidden);
    secrets.retain(|s| s.len() >= 4);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        out = out.replace(secret, "***");
    }
    out
}

/// Adds a hint when a deployment fails because of the contract size limit.
fn with_size_hint(report: eyre::Report) -> eyre::Report {
    let msg = report.to_string();
    let lower = msg.to_lowercase();
    if lower.contains("size limit") || lower.contains("sizelimit") {
        eyre!("{msg}; runtime code is over the EIP-170 limit of 24,576 bytes")
    } else {
        report
    }
}

/// The innermost cause of an error, lower-cased at the start (`connection refused`).
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests;
