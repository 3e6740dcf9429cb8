//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use snarkml::stored::Stored;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../circuits/tests/common/pin.rs"]
pub(crate) mod pin;

/// A file of the repository.
pub(crate) fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The directory one test run shares its generated files in: `$SNARKML_TEST_CACHE`, else
/// `target/snarkml-test-cache`.
pub(crate) fn test_cache() -> PathBuf {
    let dir = std::env::var_os("SNARKML_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo("target/snarkml-test-cache"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A development SRS of size `k`, generated once per test run into `$SNARKML_TEST_CACHE`.
pub(crate) fn cached_srs(k: u32) -> PathBuf {
    let path = test_cache().join(format!("srs-k{k}.bin"));
    // Tests of one binary run in parallel threads: one generates, the others wait for it.
    static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = GENERATING.lock().unwrap_or_else(|e| e.into_inner());
    if !path.exists() {
        // `srs_gen` writes atomically, so other test binaries never read half a file.
        snarkml::pipeline::srs_gen(k, 7, &path).unwrap();
    }
    path
}

/// Makes the project's pinned toolchain visible to code that looks on PATH.
pub(crate) fn toolchain_on_path() {
    let bin = repo(".toolchain/bin");
    assert!(
        bin.join("solc").exists(),
        "run scripts/setup first: {} is missing",
        bin.display()
    );
}

/// A tool of the project's Ray virtual environment (`scripts/setup --ray`).
pub(crate) fn venv_bin(tool: &str) -> PathBuf {
    let bin = repo(".venv-ray/bin").join(tool);
    assert!(
        bin.exists(),
        "run `scripts/setup --ray` first: {} is missing",
        bin.display()
    );
    bin
}

/// Runs the `snarkml` binary. Whatever it deploys is recorded in a deployments file of its
/// own (tests run in parallel, on chains of their own, and must not write into the
/// repository): a test that relies on the record uses [`snarkml_recording`].
pub(crate) fn snarkml(args: &[&str]) -> Output {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let file = dir.path().join(format!(
        "deployments-{}.json",
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    snarkml_recording(args, &file)
}

/// Runs the `snarkml` binary with `deployments` as its deployments file.
pub(crate) fn snarkml_recording(args: &[&str], deployments: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snarkml"))
        .args(args)
        .env("SNARKML_DEPLOYMENTS", deployments)
        .output()
        .unwrap()
}

/// Asserts the command failed with exactly one `error:` line on stderr containing `needle`.
pub(crate) fn assert_one_line_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "command succeeded: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(needle), "`{needle}` not in: {stderr}");
}

/// Asserts the build's verifier, run in revm, refuses the proof file: the EVM call itself
/// returns false (not an earlier check of the file), with the verifier's reason.
pub(crate) fn assert_evm_refuses(build: &snarkml::artifacts::BuildDir, proof: &Path) {
    let err = snarkml::pipeline::evm_verify(build, proof).expect_err("the EVM verifier accepted");
    assert!(
        matches!(
            err.downcast_ref::<snarkml_verifier_gen::VerifierError>(),
            Some(snarkml_verifier_gen::VerifierError::Refused(_))
        ),
        "{err:#}"
    );
}

/// Copies a JSON file from `src` to `dst` through `edit`.
pub(crate) fn tamper_json(src: &Path, dst: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(dst, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// The proof with one byte in the middle flipped.
pub(crate) fn flip_proof_byte(v: &mut serde_json::Value) {
    let hex_str = v["proof"]
        .as_str()
        .unwrap()
        .trim_start_matches("0x")
        .to_owned();
    let mut bytes = hex::decode(hex_str).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    v["proof"] = format!("0x{}", hex::encode(bytes)).into();
}

/// Starts a local anvil and a chain configuration that sends as its first account.
pub(crate) async fn local_chain() -> (snarkml::chain::LocalAnvil, snarkml::chain::ChainConfig) {
    let anvil = snarkml::chain::LocalAnvil::start().await.unwrap();
    let cfg = snarkml::chain::ChainConfig::new(
        anvil.url().to_owned(),
        snarkml::chain::ANVIL_DEFAULT_KEY.to_owned(),
    );
    (anvil, cfg)
}

/// A local anvil and a runtime, for tests that drive the CLI against a chain.
pub(crate) struct TestChain {
    /// The runtime async helpers run on.
    pub rt: tokio::runtime::Runtime,
    /// The chain.
    pub anvil: snarkml::chain::LocalAnvil,
    /// A configuration sending as anvil's first account.
    pub cfg: snarkml::chain::ChainConfig,
}

impl TestChain {
    /// Starts anvil.
    pub(crate) fn start() -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (anvil, cfg) = rt.block_on(local_chain());
        Self { rt, anvil, cfg }
    }

    /// The JSON-RPC URL.
    pub(crate) fn url(&self) -> &str {
        self.anvil.url()
    }

    /// Runs the CLI with `args`, then `extra`, then this chain's `--rpc-url`.
    pub(crate) fn cli(&self, args: &[&str], extra: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend_from_slice(extra);
        all.extend(["--rpc-url", self.url()]);
        snarkml(&all)
    }
}

/// Parses a command's JSON output.
pub(crate) fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// The stdout of a command that must succeed.
pub(crate) fn ok(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "command failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Compiles (width 3, input and output visibility as given, then `extra` compile options) and
/// sets up the `linear` fixture into the build directory `dir` through the CLI.
pub(crate) fn linear_build(
    dir: &Path,
    inputs: &str,
    outputs: &str,
    extra: &[&str],
) -> snarkml_circuits::quantize::CompiledModel {
    let b = dir.to_str().unwrap();
    let (onnx, input) = (
        repo("tests/fixtures/linear.onnx"),
        repo("tests/fixtures/linear.input.json"),
    );
    let mut args = vec![
        "compile",
        onnx.to_str().unwrap(),
        "-o",
        b,
        "--calibration",
        input.to_str().unwrap(),
        "--width",
        "3",
        "--inputs",
        inputs,
        "--outputs",
        outputs,
    ];
    args.extend_from_slice(extra);
    ok(snarkml(&args));
    let model = snarkml_circuits::quantize::CompiledModel::load(
        &snarkml::artifacts::BuildDir::new(b).model(),
    )
    .unwrap();
    let srs = cached_srs(model.layout.k);
    ok(snarkml(&["setup", b, "--srs", srs.to_str().unwrap()]));
    model
}

/// Moves a local chain's clock forward by `secs` and mines a block.
pub(crate) fn advance(url: &str, secs: u64) {
    for (method, args) in [
        ("evm_increaseTime", vec![secs.to_string()]),
        ("evm_mine", vec![]),
    ] {
        let mut cmd = vec!["rpc", method];
        cmd.extend(args.iter().map(String::as_str));
        cmd.extend(["--rpc-url", url]);
        let out = Command::new(repo(".toolchain/bin/cast"))
            .args(&cmd)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Compiles the shipped digits MLP with hashed weights (what audits need) into `dir`.
pub(crate) fn digits_build(dir: &Path) {
    ok(snarkml(&[
        "compile",
        repo("models/digits_mlp/model.onnx").to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
        "--calibration",
        repo("models/digits_mlp/calibration.json").to_str().unwrap(),
        "--weights",
        "hashed",
    ]));
}

/// Writes the first `n` samples of the digits test split to `path`, label `i` replaced by
/// `relabel(i, label)`.
pub(crate) fn digits_subset(path: &Path, n: usize, relabel: impl Fn(usize, u64) -> u64) {
    let full: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo("models/digits_test.json")).unwrap())
            .unwrap();
    let labels: Vec<u64> = full["labels"].as_array().unwrap()[..n]
        .iter()
        .enumerate()
        .map(|(i, l)| relabel(i, l.as_u64().unwrap()))
        .collect();
    let subset = serde_json::json!({
        "inputs": full["inputs"].as_array().unwrap()[..n],
        "labels": labels,
    });
    std::fs::write(path, subset.to_string()).unwrap();
}

/// A contract that answers like a verifier (`vkHash`, `instanceCount`) but is not one: it
/// returns `verdict` for every proof. What an attacker registers or names instead of a model's
/// real verifier.
const LIAR_VERIFIER_SOL: &str = r#"// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;
contract LiarVerifier {
    bytes32 public immutable vkHash;
    uint256 public immutable instanceCount;
    bool public immutable verdict;
    constructor(bytes32 vkHash_, uint256 instanceCount_, bool verdict_) {
        vkHash = vkHash_;
        instanceCount = instanceCount_;
        verdict = verdict_;
    }
    function verifyProof(bytes calldata, uint256[] calldata) external view returns (bool) {
        return verdict;
    }
}
"#;

/// Deploys a [`LIAR_VERIFIER_SOL`] claiming `vk_hash` and `instance_count`, answering
/// `verdict` for every proof; returns its address.
pub(crate) fn deploy_liar_verifier(
    rt: &tokio::runtime::Runtime,
    cfg: &snarkml::chain::ChainConfig,
    vk_hash: [u8; 32],
    instance_count: u64,
    verdict: bool,
) -> alloy::primitives::Address {
    toolchain_on_path();
    let solc = snarkml_verifier_gen::Solc::new(repo(".toolchain/bin/solc")).unwrap();
    let mut code = solc
        .compile_one("LiarVerifier.sol", LIAR_VERIFIER_SOL, "LiarVerifier")
        .unwrap()
        .initcode;
    code.extend(vk_hash);
    code.extend([0u8; 24]);
    code.extend(instance_count.to_be_bytes());
    code.extend([0u8; 31]);
    code.push(u8::from(verdict));
    rt.block_on(snarkml::chain::deploy(cfg, code))
        .unwrap()
        .address
}

/// The commands of the first ```sh block under `heading` in README.md, one per entry: comments
/// dropped, `\` continuations joined.
fn readme_commands(heading: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo("README.md")).unwrap();
    let section = &text[text
        .find(heading)
        .unwrap_or_else(|| panic!("README.md has no `{heading}`"))..];
    let start = section.find("```sh\n").expect("a ```sh block") + "```sh\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        let line = line.split(" #").next().unwrap().trim();
        let line = if line.starts_with('#') { "" } else { line };
        match line.strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None if !line.is_empty() || !pending.is_empty() => {
                pending.push_str(line);
                commands.push(std::mem::take(&mut pending));
            }
            None => {}
        }
    }
    commands
}

/// Replays the ```sh block under `heading` in README.md as a shell would, in `dir` (the
/// repository's `models/` linked beside it) against `chain` (if the block uses one), which
/// stands in for the block's own `anvil … &` line (`SNARKML_RPC_URL` points the commands'
/// default at it): `a && b` runs
/// both, `NAME=value` sets a variable later commands use as `$NAME`, and every `snarkml`
/// command must succeed. Development SRS files the block makes implicitly (`setup` without
/// `--srs`) come from the test cache. Returns how many commands ran.
pub(crate) fn replay_readme_block(heading: &str, dir: &Path, chain: Option<&TestChain>) -> usize {
    if !dir.join("models").exists() {
        std::os::unix::fs::symlink(repo("models"), dir.join("models")).unwrap();
    }
    let cache = test_cache().join("srs-cache");
    let mut vars = std::collections::BTreeMap::<String, String>::new();
    let mut ran = 0;
    for line in readme_commands(heading) {
        for command in line.split("&&").map(str::trim) {
            let words: Vec<String> = command
                .split_whitespace()
                .map(|w| match w.strip_prefix('$') {
                    Some(name) => vars
                        .get(name)
                        .unwrap_or_else(|| panic!("README `{heading}` uses ${name} unset"))
                        .clone(),
                    None => w.to_owned(),
                })
                .collect();
            if let (1, Some((name, value))) = (words.len(), words[0].split_once('=')) {
                vars.insert(name.to_owned(), value.to_owned());
                continue;
            }
            match words[0].as_str() {
                "anvil" => continue,
                "snarkml" => {}
                other => panic!("README `{heading}` runs `{other}`, which this test cannot replay"),
            }
            let mut run = Command::new(env!("CARGO_BIN_EXE_snarkml"));
            run.args(&words[1..])
                .current_dir(dir)
                .env("SNARKML_DEPLOYMENTS", dir.join("deployments.json"))
                .env("SNARKML_SRS_CACHE", &cache);
            if let Some(chain) = chain {
                run.env("SNARKML_RPC_URL", chain.url());
            }
            let out = run.output().unwrap();
            assert!(
                out.status.success(),
                "README `{heading}`: `{command}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    ran
}

/// A free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An S3 service on 127.0.0.1 (moto's server) with one bucket, killed on drop.
pub(crate) struct S3 {
    server: std::process::Child,
    /// What a client needs to reach it (endpoint, keys, region).
    pub env: Vec<(String, String)>,
}

impl S3 {
    /// Starts the service with `bucket`.
    pub(crate) fn start(bucket: &str) -> Self {
        let port = free_port();
        let server = std::process::Command::new(venv_bin("python"))
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let env = [
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
            ("AWS_ACCESS_KEY_ID", "snarkml-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "snarkml-test".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec();
        let s3 = Self { server, env };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the S3 server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        s3.python(&format!("fs.mkdir('{bucket}')"));
        s3
    }

    /// Runs Python with `fs`, an fsspec S3 filesystem of this service.
    pub(crate) fn python(&self, code: &str) {
        let out = std::process::Command::new(venv_bin("python"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args([
                "-c",
                &format!("import fsspec; fs = fsspec.filesystem('s3'); {code}"),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Downloads every object under `url` (`s3://bucket/prefix`) into `dir`.
    pub(crate) fn download(&self, url: &str, dir: &Path) {
        let prefix = url.trim_start_matches("s3://");
        self.python(&format!(
            "import os\nfor k in fs.find('{prefix}'):\n    d = os.path.join('{}', k[len('{prefix}') + 1:])\n    os.makedirs(os.path.dirname(d), exist_ok=True)\n    fs.get_file(k, d)",
            dir.display()
        ));
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
