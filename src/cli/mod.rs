//! The `snarkml` command line: parsing and dispatch. Each subcommand lives in its own file
//! with a `run(self)`; shared option groups are defined once and flattened.

mod aggregate;
mod audit;
mod batch;
mod bench;
mod chain_cmds;
mod compile;
mod demo;
mod human;
mod market;
mod profile;
mod progress;
mod prompt;
mod prove;
mod run;
mod setup;
mod srs;
mod verifier;

use crate::chain::{ChainConfig, ANVIL_DEFAULT_KEY};
use crate::deployments::{Contract, Deployments, Lookup};
use alloy::primitives::Address;
use clap::{Args, Parser, Subcommand};
pub(crate) use progress::{
    predicted, progress_bar, progress_note, progress_step, timed, timed_predicted,
};

/// snarkml: prove that a model produced an output, and check the proof on Ethereum.
#[derive(Debug, Parser)]
#[command(name = "snarkml", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  snarkml demo
  snarkml compile models/digits_mlp/model.onnx -o build/ --calibration models/digits_mlp/calibration.json
  snarkml srs gen --k 12 -o srs.bin
  snarkml setup build/ --srs srs.bin
  snarkml prove build/ --input models/digits_mlp/input.json -o proof.json
  snarkml verify build/ proof.json
  snarkml gen-verifier build/ -o contracts/generated/
  snarkml deploy build/ --rpc-url http://127.0.0.1:8545
  snarkml verify-onchain build/ proof.json --address 0x…
  snarkml prove build/ --input in.json -o p1.json --for-aggregation
  snarkml aggregate p1.json p2.json --build build/ --srs srs20.bin -o aggr/ --expose sum:0";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile an ONNX model to a quantized circuit (writes BUILD/model.json).
    Compile(compile::CompileCmd),
    /// Structured reference strings (KZG setup parameters).
    #[command(subcommand)]
    Srs(srs::SrsCmd),
    /// Generate proving and verifying keys for a compiled model.
    Setup(setup::SetupCmd),
    /// Prove the model's output on an input.
    Prove(prove::ProveCmd),
    /// Verify a proof natively.
    Verify(prove::VerifyCmd),
    /// Run the quantized model on an input, exactly as the circuit computes it (no proof).
    Run(run::RunCmd),
    /// Check every constraint on an input without making a proof; names the failing layer.
    Mock(run::MockCmd),
    /// Rows per layer and per kind of work (linear / non-linear / shape / tables).
    Profile(profile::ProfileCmd),
    /// Aggregate many proofs (made with `prove --for-aggregation`) into one.
    Aggregate(aggregate::AggregateCmd),
    /// Generate the Solidity verifier of a build or an aggregation.
    GenVerifier(verifier::GenVerifierCmd),
    /// Deploy the verifier to a chain.
    Deploy(chain_cmds::DeployCmd),
    /// Verify a proof with a deployed verifier.
    VerifyOnchain(chain_cmds::VerifyOnchainCmd),
    /// Deploy the model registry, the inference escrow and the audit bounty.
    #[command(subcommand)]
    Contracts(market::ContractsCmd),
    /// Register and show models in the registry.
    #[command(subcommand)]
    Model(market::ModelCmd),
    /// Pay-per-verified-inference: salt, request, fulfill, show, refund, withdraw.
    #[command(subcommand)]
    Infer(market::InferCmd),
    /// Accuracy audits: dataset commitments and sample sizes.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Batches of inference requests proven as independent jobs: plan, prove.
    #[command(subcommand)]
    Batch(batch::BatchCmd),
    /// Audit bounties: open, claim, reclaim, show, withdraw.
    #[command(subcommand)]
    Bounty(audit::BountyCmd),
    /// The prompt marketplace: setup, deploy, keygen, list, buy, deliver, decrypt, refund, show,
    /// withdraw.
    #[command(subcommand)]
    Market(prompt::MarketCmd),
    /// What the deployments file records for this chain, and whether each contract is there.
    Status(chain_cmds::StatusCmd),
    /// Run the whole pipeline on the bundled digits model against a local anvil.
    Demo(demo::DemoCmd),
    /// Measure compile, setup, prove and verify on a model (for BENCHMARKS.md).
    Bench(bench::BenchCmd),
}

/// Where and as whom to talk to a chain.
#[derive(Debug, Clone, Args)]
pub struct RpcOpts {
    /// JSON-RPC endpoint [default: a local anvil at http://127.0.0.1:8545].
    #[arg(long, env = "SNARKML_RPC_URL")]
    pub rpc_url: Option<String>,
    /// Private key of the sender (hex) [default: anvil's first account, local chains only].
    #[arg(long, env = "SNARKML_PRIVATE_KEY", hide_env_values = true)]
    pub private_key: Option<String>,
}

/// The default RPC endpoint: a local anvil.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8545";

impl RpcOpts {
    /// Resolves the endpoint and the key (anvil's key only for a local chain).
    pub fn config(&self) -> eyre::Result<ChainConfig> {
        let rpc_url = self
            .rpc_url
            .clone()
            .unwrap_or_else(|| DEFAULT_RPC_URL.to_owned());
        let private_key = match &self.private_key {
            Some(k) => k.clone(),
            None if crate::chain::is_local_url(&rpc_url) => ANVIL_DEFAULT_KEY.to_owned(),
            None => eyre::bail!(
                "{} is not a local chain: give --private-key or SNARKML_PRIVATE_KEY",
                crate::chain::redact_url(&rpc_url)
            ),
        };
        Ok(ChainConfig::new(rpc_url, private_key))
    }
}

/// The address of `contract`: `given` (its flag or environment variable, `flag` naming
/// them), else what the deployments file records for the chain `cfg` reaches.
pub(crate) fn contract_address(
    given: Option<&str>,
    contract: Contract,
    flag: &str,
    cfg: &ChainConfig,
) -> eyre::Result<Address> {
    if let Some(text) = given {
        return market::address(text, flag);
    }
    let path = Deployments::path();
    let file = Deployments::load(&path)?;
    let (id, genesis) = block_on(crate::chain::chain_identity(&cfg.rpc_url))?;
    match file.lookup(id, genesis, contract) {
        Lookup::Found(a) => Ok(a),
        Lookup::Missing => eyre::bail!(
            "no {} recorded for chain {id} in {}: run `{}` first, or give {flag}",
            contract.name(),
            path.display(),
            contract.deployed_by()
        ),
        Lookup::OtherGenesis => eyre::bail!(
            "the {} in {} was recorded on another chain with id {id} (a restarted anvil?): run `{}` again, or give {flag}",
            contract.name(),
            path.display(),
            contract.deployed_by()
        ),
    }
}

/// Records freshly deployed shared contracts in the deployments file, for the chain `cfg`
/// reaches; returns the file's path.
pub(crate) fn record_deployments(
    cfg: &ChainConfig,
    contracts: &[(Contract, Address)],
) -> eyre::Result<std::path::PathBuf> {
    let path = Deployments::path();
    let mut file = Deployments::load(&path)?;
    let (id, genesis) = block_on(crate::chain::chain_identity(&cfg.rpc_url))?;
    file.record(id, genesis, contracts);
    file.save(&path)?;
    Ok(path)
}

/// Prints `value` as pretty JSON with `--json`, else runs `text` (the human form). Under
/// [`run_json`] the value is kept for the caller instead of printed.
pub(super) fn print(
    json_out: bool,
    value: serde_json::Value,
    text: impl FnOnce(),
) -> eyre::Result<()> {
    if !json_out {
        text();
        return Ok(());
    }
    let kept = JSON_OUT.with(|sink| match sink.borrow_mut().as_mut() {
        Some(values) => {
            values.push(value.clone());
            true
        }
        None => false,
    });
    if !kept {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

thread_local! {
    /// Where [`print`] keeps `--json` values while [`run_json`] runs a command.
    static JSON_OUT: std::cell::RefCell<Option<Vec<serde_json::Value>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs a command line (`args` without the program name) in this process as `snarkml ARGS
/// --json` would, and returns the JSON it prints instead of printing it: what the Python
/// package calls for the commands it has no call of its own for. A command line that does not
/// parse is an error with clap's first line.
pub fn run_json<I, T>(args: I) -> eyre::Result<serde_json::Value>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let argv = std::iter::once(std::ffi::OsString::from("snarkml"))
        .chain(args.into_iter().map(Into::into))
        .chain(std::iter::once(std::ffi::OsString::from("--json")));
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        let text = e.to_string();
        let line = text.lines().next().unwrap_or("invalid command line");
        eyre::eyre!("{}", line.trim_start_matches("error: "))
    })?;
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            JSON_OUT.with(|sink| sink.borrow_mut().take());
        }
    }
    JSON_OUT.with(|sink| *sink.borrow_mut() = Some(Vec::new()));
    let _clear = Clear;
    cli.run()?;
    let mut values = JSON_OUT.with(|sink| sink.borrow_mut().take().unwrap_or_default());
    Ok(match values.len() {
        0 => serde_json::Value::Null,
        1 => values.remove(0),
        _ => serde_json::Value::Array(values),
    })
}

/// Runs `f` with the process's standard output going to standard error. The aggregation
/// libraries print their progress with `println!`; stdout must carry only our own output (the
/// `--json` documents above all).
pub(crate) fn stdout_to_stderr<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            use std::io::Write;
            let _ = std::io::stdout().flush();
            // SAFETY: `self.0` is the duplicate of fd 1 made below and is closed exactly once.
            unsafe {
                libc::dup2(self.0, 1);
                libc::close(self.0);
            }
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // SAFETY: duplicating and redirecting the process's own standard descriptors.
    let saved = unsafe { libc::dup(1) };
    if saved < 0 {
        return f();
    }
    let _restore = Restore(saved);
    // SAFETY: as above; on failure stdout is simply left as it was.
    unsafe { libc::dup2(2, 1) };
    f()
}

/// Runs an async block on the process's runtime (made on first use and kept): every chain
/// call of a command runs on one runtime, so the connection its [`ChainConfig`] keeps is
/// used where it was opened.
pub fn block_on<T>(f: impl std::future::Future<Output = eyre::Result<T>>) -> eyre::Result<T> {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    let runtime = match RUNTIME.get() {
        Some(r) => r,
        None => {
            let made = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            RUNTIME.get_or_init(|| made)
        }
    };
    runtime.block_on(f)
}

impl Cli {
    /// Runs the parsed command.
    pub fn run(self) -> eyre::Result<()> {
        match self.command {
            Command::Compile(c) => c.run(),
            Command::Srs(c) => c.run(),
            Command::Setup(c) => c.run(),
            Command::Prove(c) => c.run(),
            Command::Verify(c) => c.run(),
            Command::Run(c) => c.run(),
            Command::Mock(c) => c.run(),
            Command::Profile(c) => c.run(),
            Command::Aggregate(c) => c.run(),
            Command::GenVerifier(c) => c.run(),
            Command::Deploy(c) => c.run(),
            Command::VerifyOnchain(c) => c.run(),
            Command::Contracts(c) => c.run(),
            Command::Model(c) => c.run(),
            Command::Infer(c) => c.run(),
            Command::Audit(c) => c.run(),
            Command::Batch(c) => c.run(),
            Command::Bounty(c) => c.run(),
            Command::Market(c) => c.run(),
            Command::Demo(c) => c.run(),
            Command::Bench(c) => c.run(),
            Command::Status(c) => c.run(),
        }
    }
}

/// Parses the command line, runs it, and prints any error on one line. Returns the exit code.
pub fn main() -> i32 {
    // Output piped into a reader that stops early (`snarkml … --json | head`) ends the process
    // quietly, as any Unix tool does, instead of a panic on the failed write. Rust ignores
    // SIGPIPE by default; sockets are unaffected (the standard library sends with
    // MSG_NOSIGNAL), and snarkml writes into no child's pipe.
    #[cfg(unix)]
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if let Some(missing) = missing_cpu_features() {
        eprintln!(
            "error: this CPU lacks the {missing} instructions snarkml's field arithmetic is built with (every x86-64 CPU since 2017 has them)"
        );
        return 1;
    }
    match cli.run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            1
        }
    }
}

/// The instruction-set extensions the assembly field arithmetic of the proof system needs
/// (`mulx`, `adcx`/`adox`) that this CPU lacks, if any: without them it would crash on an
/// illegal instruction instead.
fn missing_cpu_features() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        if !std::arch::is_x86_feature_detected!("bmi2") {
            return Some("BMI2");
        }
        if !std::arch::is_x86_feature_detected!("adx") {
            return Some("ADX");
        }
    }
    None
}

/// An error and its causes on one line, `outer: cause: …`, each cause said once: a cause whose
/// text the line already holds (an I/O error a message quotes, then chains) is left out.
pub fn one_line(e: &eyre::Report) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn an_error_line_says_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file (os error 2)");
        let e = eyre::Report::new(snarkml_circuits::CircuitError::io("in.json", io))
            .wrap_err("reading the input");
        assert_eq!(
            one_line(&e),
            "reading the input: in.json: No such file (os error 2)"
        );
    }
}
