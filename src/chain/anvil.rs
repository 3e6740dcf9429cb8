//! A local `anvil` for on-chain commands and tests: started on a free port of 127.0.0.1 with
//! the newest hardfork it accepts, its stderr kept for errors, killed on drop; and finding
//! the toolchain's executables.
//!
//! Not alloy's `node-bindings` (`Anvil::try_spawn`, checked at alloy 2.5): it passes anvil's
//! stderr through to ours (a refused hardfork or a taken port would print anvil's own lines
//! instead of one line of ours), and an anvil that exits during startup is reported only as a
//! timeout ("is the node binary installed?") after it has busy-read the closed pipe for the
//! whole startup timeout.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::chain_id;
use eyre::{bail, eyre, Result};

/// How long a freshly started anvil may take to answer `eth_chainId`.
const ANVIL_START_TIMEOUT: Duration = Duration::from_secs(10);
/// Hardforks asked of anvil, newest first; the first one the installed anvil accepts is used.
/// Gas figures in this project are measured under Prague.
const ANVIL_HARDFORKS: &[&str] = &["prague", "cancun"];

/// A local `anvil` started by us on 127.0.0.1 on a free port; killed on drop or by
/// [`LocalAnvil::stop`].
#[derive(Debug)]
pub struct LocalAnvil {
    child: Option<Child>,
    url: String,
    hardfork: Option<&'static str>,
}

/// Why one attempt to start anvil did not give a running chain.
enum StartFailure {
    /// The process exited; its last stderr lines.
    Exited(String),
    /// The process kept running but did not answer in time.
    Silent,
}

impl LocalAnvil {
    /// Starts `anvil --host 127.0.0.1 --port <free> --hardfork prague --silent` (falling back to
    /// an older hardfork, then to anvil's default, if the installed anvil rejects it; the
    /// code-size limit stays the EIP-170 default of 24,576 bytes) and waits until it answers
    /// `eth_chainId`.
    pub async fn start() -> Result<Self> {
        Self::start_with(&[]).await
    }

    /// [`LocalAnvil::start`] with `--chain-id chain_id` (anvil's default is
    /// [`ANVIL_CHAIN_ID`]): a local chain that says it is another one.
    pub async fn start_with_chain_id(chain_id: u64) -> Result<Self> {
        Self::start_with(&["--chain-id".to_owned(), chain_id.to_string()]).await
    }

    /// [`LocalAnvil::start`] with `extra` arguments for anvil.
    async fn start_with(extra: &[String]) -> Result<Self> {
        let bin = find_tool("anvil", "SNARKML_ANVIL")?;
        let hardforks = ANVIL_HARDFORKS.iter().map(|h| Some(*h)).chain([None]);
        let mut last_failure = String::new();
        for hardfork in hardforks {
            // A few tries per hardfork: the free port may be taken between our probe and anvil.
            for _ in 0..3 {
                let port = free_port()?;
                let url = format!("http://127.0.0.1:{port}");
                let mut cmd = Command::new(&bin);
                cmd.args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--silent",
                ]);
                if let Some(hf) = hardfork {
                    cmd.args(["--hardfork", hf]);
                }
                cmd.args(extra);
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                let mut child = cmd
                    .spawn()
                    .map_err(|e| eyre!("cannot start {}: {e}", bin.display()))?;
                let stderr_tail = drain_stderr(&mut child);
                let mut anvil = LocalAnvil {
                    child: Some(child),
                    url,
                    hardfork,
                };
                match anvil.wait_ready(&stderr_tail).await {
                    Ok(()) => return Ok(anvil),
                    Err(StartFailure::Silent) => {
                        bail!(
                            "anvil ({}) did not answer eth_chainId at {} within {} s",
                            bin.display(),
                            anvil.url,
                            ANVIL_START_TIMEOUT.as_secs()
                        )
                    }
                    Err(StartFailure::Exited(stderr)) => {
                        let lower = stderr.to_lowercase();
                        last_failure = stderr;
                        if lower.contains("in use") {
                            continue;
                        }
                        if hardfork.is_some() && lower.contains("hardfork") {
                            break;
                        }
                        bail!(
                            "anvil ({}) exited during startup: {last_failure}",
                            bin.display()
                        );
                    }
                }
            }
        }
        bail!(
            "anvil ({}) exited during startup: {last_failure}",
            bin.display()
        )
    }

    /// Polls `eth_chainId` until anvil answers, it exits, or the start timeout passes.
    async fn wait_ready(
        &mut self,
        stderr_tail: &Mutex<VecDeque<String>>,
    ) -> std::result::Result<(), StartFailure> {
        let deadline = Instant::now() + ANVIL_START_TIMEOUT;
        loop {
            if chain_id(&self.url).await.is_ok() {
                return Ok(());
            }
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(None)) => false,
                Some(Ok(Some(_))) | Some(Err(_)) | None => true,
            };
            if exited {
                // Give the stderr reader a moment to collect the last lines.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let lines = stderr_tail.lock().map(|l| l.clone()).unwrap_or_default();
                let text = lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty());
                let text = text.collect::<Vec<_>>().join(" | ");
                let text = if text.is_empty() {
                    "no output".to_owned()
                } else {
                    text
                };
                return Err(StartFailure::Exited(text));
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(StartFailure::Silent);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The JSON-RPC URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The hardfork anvil was started with; `None` when it runs its own default.
    pub fn hardfork(&self) -> Option<&'static str> {
        self.hardfork
    }

    /// Kills anvil and waits for it to exit.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalAnvil {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Keeps the last lines anvil writes to stderr, so a failed start can say why.
fn drain_stderr(child: &mut Child) -> Arc<Mutex<VecDeque<String>>> {
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    if let Some(stderr) = child.stderr.take() {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut tail) = tail.lock() {
                    if tail.len() == 8 {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            }
        });
    }
    tail
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub(super) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| eyre!("cannot find a free port on 127.0.0.1: {e}"))?;
    Ok(listener.local_addr()?.port())
}

/// Finds a tool: the path in `env_var`, then `./.toolchain/bin/<name>` under the current
/// directory, then `.toolchain/bin/<name>` under this package's source root, then `PATH`.
pub fn find_tool(name: &str, env_var: &str) -> Result<PathBuf> {
    if let Some(value) = std::env::var_os(env_var).filter(|v| !v.is_empty()) {
        let given = PathBuf::from(&value);
        let found = if given.components().count() > 1 {
            Some(given.clone()).filter(|p| is_executable(p))
        } else {
            search_path(&given)
        };
        return found.ok_or_else(|| {
            eyre!(
                "{name} not found: ${env_var} is {} and that is not an executable file",
                given.display()
            )
        });
    }
    let rel = Path::new(".toolchain").join("bin").join(name);
    let in_cwd = std::env::current_dir()
        .map(|d| d.join(&rel))
        .unwrap_or_else(|_| rel.clone());
    let in_source = Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel);
    for candidate in [&in_cwd, &in_source] {
        if is_executable(candidate) {
            return Ok(candidate.clone());
        }
    }
    search_path(Path::new(name)).ok_or_else(|| {
        eyre!(
            "{name} not found: run scripts/setup (looked at ${env_var}, ./{}, {} and PATH)",
            rel.display(),
            in_source.display()
        )
    })
}

/// The first executable called `name` in a `PATH` directory.
fn search_path(name: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}
