//! Tests of the chain client against a real anvil on 127.0.0.1.
use super::*;

/// Init code that copies `runtime` (appended after a 14-byte prelude) to memory and
/// returns it: PUSH2 len, PUSH1 14, PUSH1 0, CODECOPY, PUSH2 len, PUSH1 0, RETURN.
fn initcode_for(runtime: &[u8]) -> Vec<u8> {
    let len = u16::try_from(runtime.len())
        .expect("runtime fits in PUSH2")
        .to_be_bytes();
    let mut code = vec![
        0x61, len[0], len[1], 0x60, 0x0e, 0x60, 0x00, 0x39, 0x61, len[0], len[1], 0x60, 0x00, 0xf3,
    ];
    assert_eq!(code.len(), 0x0e);
    code.extend_from_slice(runtime);
    code
}

/// Runtime: mstore(0, 1); return(0, 32) — answers `true` to any call.
const ALWAYS_TRUE: &[u8] = &[0x60, 0x01, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3];
/// Runtime: return(0, 32) of untouched memory — answers `false` to any call.
const ALWAYS_FALSE: &[u8] = &[0x60, 0x20, 0x60, 0x00, 0xf3];
/// Runtime: revert(0, 0).
const ALWAYS_REVERT: &[u8] = &[0x60, 0x00, 0x60, 0x00, 0xfd];
/// Runtime: INVALID (0xfe), which halts and burns all gas.
const INVALID_OPCODE: &[u8] = &[0xfe];
/// Runtime: mstore(0, 2); return(0, 32) — a word that is not an ABI bool.
const RETURNS_TWO: &[u8] = &[0x60, 0x02, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3];

fn dead_url() -> String {
    // Bind, read the port, close: nothing listens there afterwards.
    format!("http://127.0.0.1:{}", free_port().unwrap())
}

#[tokio::test]
async fn anvil_deploy_and_verify() {
    let anvil = LocalAnvil::start().await.unwrap();
    assert!(is_local_url(anvil.url()));
    assert_eq!(anvil.hardfork(), Some("prague"));
    assert_eq!(chain_id(anvil.url()).await.unwrap(), 31337);
    let cfg = ChainConfig::anvil_default(anvil.url());
    let proof = [7u8; 96];
    let instances = [U256::from(1), U256::from(2), U256::MAX];

    let yes = deploy(&cfg, initcode_for(ALWAYS_TRUE)).await.unwrap();
    assert_eq!(yes.runtime_size, ALWAYS_TRUE.len());
    assert!(yes.gas_used > 53_000, "deployment gas {}", yes.gas_used);
    let verdict = verify_onchain(&cfg, yes.address, &proof, &instances)
        .await
        .unwrap();
    assert!(verdict.valid);
    assert!(verdict.gas_used.unwrap() > 21_000, "{verdict:?}");
    assert!(verdict.tx_hash.is_some());

    // A proof with thousands of public instances (an aggregated proof that shows an image):
    // its calldata alone costs more than the verifier's allowance, and the transaction is
    // sent with gas for both; one whose calldata would not fit in a block is refused first,
    // naming the block's limit.
    let many = vec![U256::MAX; 12_000];
    let verdict = verify_onchain(&cfg, yes.address, &proof, &many)
        .await
        .unwrap();
    assert!(verdict.valid && verdict.tx_hash.is_some());
    assert!(verdict.gas_used.unwrap() > VERIFY_GAS_LIMIT, "{verdict:?}");
    let too_many = vec![U256::MAX; 25_000];
    let err = verify_onchain(&cfg, yes.address, &proof, &too_many)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("verifyProof with 25000 public instances needs over")
            && err.contains("more than a block of"),
        "{err}"
    );

    // A verifier that reverts, and one that hits an invalid opcode: both say "invalid", with
    // no gas figure and no transaction.
    for runtime in [ALWAYS_REVERT, INVALID_OPCODE] {
        let failing = deploy(&cfg, initcode_for(runtime)).await.unwrap();
        let verdict = verify_onchain(&cfg, failing.address, &proof, &instances)
            .await
            .unwrap();
        assert_eq!(
            verdict,
            OnchainVerdict {
                valid: false,
                gas_used: None,
                tx_hash: None
            }
        );
    }

    let no = deploy(&cfg, initcode_for(ALWAYS_FALSE)).await.unwrap();
    let verdict = verify_onchain(&cfg, no.address, &proof, &instances)
        .await
        .unwrap();
    assert!(!verdict.valid);
    assert!(verdict.gas_used.unwrap() > 21_000, "{verdict:?}");
    assert_eq!(verdict.tx_hash, None);

    let two = deploy(&cfg, initcode_for(RETURNS_TWO)).await.unwrap();
    let err = verify_onchain(&cfg, two.address, &proof, &instances)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not an IVerifier"), "{err}");

    // An address without code is an error, not a verdict.
    let nobody = Address::repeat_byte(0x42);
    let err = verify_onchain(&cfg, nobody, &proof, &instances)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("no contract code at {nobody} on {}", anvil.url())
    );

    // Init code that returns no runtime code leaves nothing at the address.
    let err = deploy(&cfg, vec![0x00]).await.unwrap_err();
    assert!(
        err.to_string().starts_with("no contract code at 0x"),
        "{err}"
    );
    let err = deploy(&cfg, initcode_for(&[])).await.unwrap_err();
    assert!(
        err.to_string().starts_with("no contract code at 0x"),
        "{err}"
    );

    // Runtime code one byte over EIP-170 is refused.
    let err = deploy(&cfg, initcode_for(&vec![0u8; 24_577]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("24,576"), "{err}");
    // Exactly at the limit is accepted.
    let max = deploy(&cfg, initcode_for(&vec![0u8; 24_576]))
        .await
        .unwrap();
    assert_eq!(max.runtime_size, 24_576);

    // Init code that reverts is refused.
    let err = deploy(&cfg, ALWAYS_REVERT.to_vec()).await.unwrap_err();
    assert!(err.to_string().contains(anvil.url()), "{err}");

    let bad_key = ChainConfig::new(anvil.url(), "0x1234");
    let err = deploy(&bad_key, initcode_for(ALWAYS_TRUE))
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("invalid private key"), "{err}");
    assert!(!err.to_string().contains("1234"), "{err}");

    anvil.stop();
}

#[tokio::test]
async fn unreachable_endpoint_is_a_clear_error() {
    let url = dead_url();
    let cfg = ChainConfig::anvil_default(url.clone());
    let err = deploy(&cfg, initcode_for(ALWAYS_TRUE))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("cannot reach JSON-RPC endpoint {url}")),
        "{err}"
    );
    assert!(err.contains("refused"), "{err}");
    let err = chain_id(&url).await.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("cannot reach JSON-RPC endpoint {url}")),
        "{err}"
    );
    let err = verify_onchain(&cfg, Address::ZERO, &[], &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("cannot reach JSON-RPC endpoint {url}")),
        "{err}"
    );
    let err = chain_id("not a url").await.unwrap_err().to_string();
    assert!(err.starts_with("invalid JSON-RPC URL"), "{err}");
}

#[tokio::test]
async fn an_anvil_can_be_started_with_another_chain_id() {
    let anvil = LocalAnvil::start_with_chain_id(1).await.unwrap();
    assert!(is_local_url(anvil.url()));
    assert_eq!(chain_id(anvil.url()).await.unwrap(), 1);
    anvil.stop();
}

#[test]
fn redact_url_removes_userinfo_and_hides_keys() {
    for (url, shown) in [
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("https://rpc.sepolia.org/", "https://rpc.sepolia.org/"),
        (
            "https://user:pass@rpc.example.org:8545/",
            "https://rpc.example.org:8545/",
        ),
        ("https://token@rpc.example.org", "https://rpc.example.org"),
        (
            "https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef",
            "https://mainnet.infura.io/v3/***",
        ),
        (
            "https://eth-mainnet.g.alchemy.com/v2/abcDEF",
            "https://eth-mainnet.g.alchemy.com/v2/***",
        ),
        (
            "https://rpc.ankr.com/eth/4f1c9e2d7b6a5f3e8d0c1b2a3f4e5d6c",
            "https://rpc.ankr.com/eth/***",
        ),
        (
            "https://node.example/rpc?apikey=SECRET&chain=1",
            "https://node.example/rpc?apikey=***&chain=***",
        ),
        (
            "https://node.example/rpc#tok",
            "https://node.example/rpc#***",
        ),
        (
            "https://node.example/mainnet",
            "https://node.example/mainnet",
        ),
        // Not a valid URL: still no password in it.
        ("ht!tp://a:b@c d/v1/key", "ht!tp://c d/v1/***"),
        ("not a url", "not a url"),
    ] {
        assert_eq!(redact_url(url), shown, "{url}");
    }
}

#[test]
fn scrub_hides_a_urls_credentials_in_any_text() {
    let url = "https://alice:hunter22@rpc.example.org/v3/KEY0123456789abcdef";
    let text = format!("error sending request for url ({url}): hunter22 KEY0123456789abcdef");
    let scrubbed = scrub(&text, url);
    assert_eq!(
        scrubbed,
        "error sending request for url (https://rpc.example.org/v3/***): *** ***"
    );
}

#[tokio::test]
async fn errors_never_show_the_credentials_of_an_rpc_url() {
    // An endpoint that does not answer, with a user, a password and an Infura-style key.
    let port = free_port().unwrap();
    let url = format!("https://alice:pa55word@127.0.0.1:{port}/v3/KEY0123456789abcdef");
    let cfg = ChainConfig::new(url.clone(), ANVIL_DEFAULT_KEY);
    let shown = format!("https://127.0.0.1:{port}/v3/***");
    let errors = [
        chain_id(&url).await.unwrap_err().to_string(),
        deploy(&cfg, initcode_for(ALWAYS_TRUE))
            .await
            .unwrap_err()
            .to_string(),
        verify_onchain(&cfg, Address::ZERO, &[], &[])
            .await
            .unwrap_err()
            .to_string(),
    ];
    for err in &errors {
        assert!(
            err.starts_with(&format!("cannot reach JSON-RPC endpoint {shown}: ")),
            "{err}"
        );
        for secret in ["alice", "pa55word", "KEY0123456789abcdef"] {
            assert!(!err.contains(secret), "`{secret}` in: {err}");
        }
    }
    // An unsupported scheme is named without them too.
    let err = chain_id("ftp://alice:pa55word@host/v3/KEY0123456789abcdef")
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid JSON-RPC URL \"ftp://host/v3/***\": only http:// and https:// are supported"
    );
    assert!(!format!("{cfg:?}").contains("pa55word"));
}

#[tokio::test]
async fn anvil_is_killed_on_drop() {
    let anvil = LocalAnvil::start().await.unwrap();
    let url = anvil.url().to_owned();
    assert_eq!(chain_id(&url).await.unwrap(), 31337);
    drop(anvil);
    let err = chain_id(&url).await.unwrap_err().to_string();
    assert!(err.starts_with("cannot reach JSON-RPC endpoint"), "{err}");
}

#[test]
fn local_urls() {
    for url in [
        "http://127.0.0.1:8545",
        "http://localhost:8545/",
        "http://[::1]:8545",
        "http://LOCALHOST",
    ] {
        assert!(is_local_url(url), "{url}");
    }
    for url in [
        "https://rpc.sepolia.org",
        "http://10.0.0.1:8545",
        "http://127.0.0.1.example.com",
        "nonsense",
        "",
    ] {
        assert!(!is_local_url(url), "{url}");
    }
}

#[test]
fn find_tool_reports_where_it_looked() {
    let err = find_tool("snarkml-no-such-tool", "SNARKML_NO_SUCH_TOOL")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("snarkml-no-such-tool not found: run scripts/setup"),
        "{err}"
    );
    assert!(
        err.contains("$SNARKML_NO_SUCH_TOOL") && err.contains("PATH"),
        "{err}"
    );
    // `sh` is on PATH on every machine that runs these tests.
    assert!(find_tool("sh", "SNARKML_NO_SUCH_TOOL")
        .unwrap()
        .is_absolute());
}

#[test]
fn config_debug_hides_the_key() {
    let cfg = ChainConfig::anvil_default("http://127.0.0.1:8545");
    assert!(!format!("{cfg:?}").contains("ac0974"));
}

#[tokio::test]
async fn https_endpoints_are_supported() {
    // A closed port: the error must come from the connection, not from a missing TLS backend.
    let err = chain_id("https://127.0.0.1:1")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("refused"), "{err}");
    assert!(!err.to_lowercase().contains("scheme"), "{err}");
}

#[test]
fn a_config_connects_once_its_clones_share_it_and_a_new_key_reconnects() {
    // Making the provider contacts nobody: no chain is needed.
    let cfg = ChainConfig::anvil_default("http://127.0.0.1:9");
    assert!(
        cfg.connection.lock().unwrap().is_none(),
        "nothing before the first call"
    );
    let (_, from) = wallet_provider(&cfg).unwrap();
    let made = |c: &ChainConfig| c.connection.lock().unwrap().as_ref().map(|c| c.from);
    assert_eq!(made(&cfg), Some(from));
    let mut clone = cfg.clone();
    assert!(std::sync::Arc::ptr_eq(&cfg.connection, &clone.connection));
    assert_eq!(
        wallet_provider(&clone).unwrap().1,
        from,
        "the same connection"
    );
    // A config whose key changed signs as the new key, never with the old connection.
    clone.private_key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d".into();
    let (_, other) = wallet_provider(&clone).unwrap();
    assert_ne!(other, from);
    assert_eq!(made(&cfg), Some(other), "the shared slot holds the latest");
    assert_eq!(
        wallet_provider(&cfg).unwrap().1,
        from,
        "and the original key reconnects"
    );
}
