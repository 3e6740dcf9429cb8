//! The build directory: every file a step writes and a later step reads.
//!
//! ```text
//! build/
//!   model.json      compile: the quantized model, its layout and the float/quantized report
//!   params.bin      setup: the SRS trimmed to the circuit's k (enough to verify and generate)
//!   pk.bin, vk.bin  setup: proving and verifying keys (halo2 raw bytes)
//!   setup.json      setup: k, SRS id and whether it is a development SRS, verifying-key hash
//!   verifier.json   gen-verifier: compiled verifier + adapter, sizes, ABI
//!   deployment.json deploy: chain id, addresses, gas
//! ```
//!
//! An aggregation directory (written by `snarkml aggregate`) shares `vk.bin`, `params.bin`,
//! `verifier.json` and `deployment.json`, and adds `aggregation.json` and `proof.json`.

use eyre::{bail, eyre, Result, WrapErr};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `setup` records about the keys it made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupInfo {
    /// The circuit has `2^k` rows.
    pub k: u32,
    /// Identifier of the SRS (stable under trimming).
    pub srs_id: String,
    /// True when the SRS is a development one whose secret is known.
    pub srs_insecure: bool,
    /// SHA-256 of the verifying key.
    pub vk_hash: String,
    /// Dot-product width the keys were made for.
    pub width: usize,
    /// Public instances per proof.
    pub num_instances: usize,
    /// SHA-256 of the model.json the keys were made for.
    pub model_sha256: String,
}

/// Where a verifier was deployed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// Chain id of the endpoint.
    pub chain_id: u64,
    /// The RPC URL used.
    pub rpc_url: String,
    /// The `IVerifier` front: the address to call.
    pub verifier: String,
    /// The verifier behind it (the front itself for the self-contained form; the shared
    /// `Halo2Verifier` for the reusable one).
    pub raw_verifier: String,
    /// Verifying-key hash of the circuit it verifies.
    pub vk_hash: String,
    /// Gas used by the deployments this made.
    pub deploy_gas: u64,
    /// Runtime size of the raw verifier, read back from the chain.
    pub raw_runtime_size: usize,
    /// The verifier's form (a record written before forms existed is snark-verifier's).
    #[serde(default = "form_of_older_deployments")]
    pub form: snarkml_verifier_gen::VerifierForm,
    /// The reusable form's verifying-key artifact (a data contract).
    #[serde(default)]
    pub vk_artifact: Option<String>,
    /// Keccak hash of that artifact (`Halo2VerifyingKey.vkHash()`), for our forms.
    #[serde(default)]
    pub vk_artifact_hash: Option<String>,
}

/// A build directory.
#[derive(Clone, Debug)]
pub struct BuildDir {
    root: PathBuf,
}

impl BuildDir {
    /// The directory at `root` (not created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Creates the directory if needed.
    pub fn create(root: impl Into<PathBuf>) -> Result<Self> {
        let dir = Self::new(root);
        std::fs::create_dir_all(&dir.root)
            .wrap_err_with(|| format!("cannot create {}", dir.root.display()))?;
        Ok(dir)
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `model.json`.
    pub fn model(&self) -> PathBuf {
        self.root.join("model.json")
    }
    /// `params.bin`.
    pub fn params(&self) -> PathBuf {
        self.root.join("params.bin")
    }
    /// `pk.bin`.
    pub fn pk(&self) -> PathBuf {
        self.root.join("pk.bin")
    }
    /// `vk.bin`.
    pub fn vk(&self) -> PathBuf {
        self.root.join("vk.bin")
    }
    /// `split.json`: the manifest of a model split into segments (`compile --segments`).
    pub fn split(&self) -> PathBuf {
        self.root.join("split.json")
    }
    /// Whether the build is a model split into segments.
    pub fn is_split(&self) -> bool {
        self.split().is_file()
    }
    /// The build of segment `j` (from 0) of a split model: `segment-<j+1>/`.
    pub fn segment(&self, j: usize) -> BuildDir {
        BuildDir::new(self.root.join(format!("segment-{}", j + 1)))
    }
    /// `setup.json`.
    pub fn setup(&self) -> PathBuf {
        self.root.join("setup.json")
    }
    /// `verifier.json`.
    pub fn verifier(&self) -> PathBuf {
        self.root.join("verifier.json")
    }
    /// `deployment.json`.
    pub fn deployment(&self) -> PathBuf {
        self.root.join("deployment.json")
    }

    /// `aggregation.json` (aggregation directories only).
    pub fn aggregation(&self) -> PathBuf {
        self.root.join("aggregation.json")
    }
    /// `proof.json`: the aggregated proof (aggregation directories only).
    pub fn proof(&self) -> PathBuf {
        self.root.join("proof.json")
    }
    /// True for a directory written by `snarkml aggregate`.
    pub fn is_aggregation(&self) -> bool {
        self.aggregation().is_file()
    }

    /// Fails with a hint naming the step to run when `path` is missing.
    pub fn require(&self, path: &Path, step: &str) -> Result<()> {
        if self.root.is_file() {
            // The natural slip: a file where the build directory goes (`verify proof.json
            // build/` for `verify build/ proof.json`).
            return Err(eyre!(
                "{} is a file, not a build directory: the build directory comes first (see --help)",
                self.root.display()
            ));
        }
        if !self.root.is_dir() {
            // A deployment belongs to a build or to an aggregation: name both first steps.
            let first = if step == "deploy" {
                "`snarkml compile` (a model) or `snarkml aggregate` (an aggregation)"
            } else {
                "`snarkml compile`"
            };
            return Err(MissingStep(format!(
                "build directory {} does not exist: run {first} first",
                self.root.display()
            ))
            .into());
        }
        if !path.is_file() {
            return Err(MissingStep(format!(
                "{} is missing: run `snarkml {step}` first",
                path.display()
            ))
            .into());
        }
        Ok(())
    }
}

/// [`BuildDir::require`]'s refusal when a step has not been run yet: its message names the
/// step to run. A type of its own, so callers (the Python package) tell it from other errors.
#[derive(Debug)]
pub struct MissingStep(String);

impl std::fmt::Display for MissingStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MissingStep {}

/// Reads a JSON file, naming it in any error.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).wrap_err_with(|| format!("{} is not valid", path.display()))
}

/// Writes a JSON file, naming it in any error.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text).wrap_err_with(|| format!("cannot write {}", path.display()))
}

/// Reads a binary file, naming it in any error.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).wrap_err_with(|| format!("cannot read {}", path.display()))
}

/// Writes a binary file, naming it in any error.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).wrap_err_with(|| format!("cannot write {}", path.display()))
}

/// Writes a binary file under a temporary name and renames it into place, so concurrent
/// readers (other processes sharing a cache) and crashes never see half a file.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use snarkml_circuits::CircuitError;
    crate::stored::write_atomic(path, |w| {
        w.write_all(bytes).map_err(|e| CircuitError::io(path, e))
    })
    .map_err(|e| match e {
        CircuitError::Io { source, .. } => eyre!("cannot write {}: {source}", path.display()),
        e => e.into(),
    })
}

/// Writes a file that holds secrets (a private key; salts and the values they open; private
/// weights) so that no other user can read it at any moment: a temporary file in the same
/// directory is created with `O_CREAT|O_EXCL` and mode 0600, written, synced, and renamed
/// over `path` (whose old contents are replaced whole, its mode with them). Refuses, with one
/// line naming the path, when `path` is a symbolic link, dangling or not: a secret is never
/// written through a link to wherever it points.
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    put_secret(path, bytes, true)
}

/// [`write_secret`] of a value as pretty JSON.
pub fn write_secret_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    put_secret(path, serde_json::to_string_pretty(value)?.as_bytes(), true)
}

/// [`write_secret_json`] that never replaces anything: refuses when `path` exists (a key is
/// never overwritten); the file is linked into place, which fails if something appeared there
/// meanwhile.
pub fn create_secret_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    put_secret(path, serde_json::to_string_pretty(value)?.as_bytes(), false)
}

fn put_secret(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    let exists = || eyre!("{} exists; refusing to overwrite it", path.display());
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => bail!(
            "refusing to write a secret to {}: it is a symbolic link (remove it, or give another path)",
            path.display()
        ),
        Ok(_) if !replace => return Err(exists()),
        _ => {}
    }
    let cannot = |e: std::io::Error| eyre!("cannot write {}: {e}", path.display());
    let tmp = crate::stored::temp_path_beside(path);
    let placed = create_private(&tmp, bytes).map_err(cannot).and_then(|()| {
        if replace {
            // rename(2) replaces the directory entry: a link put there meanwhile is replaced,
            // never followed.
            std::fs::rename(&tmp, path).map_err(cannot)
        } else {
            std::fs::hard_link(&tmp, path).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => exists(),
                _ => cannot(e),
            })
        }
    });
    if placed.is_err() || !replace {
        let _ = std::fs::remove_file(&tmp);
    }
    placed?;
    // The new directory entry survives a crash too.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Creates `path` (never an existing file or link) readable by its owner only, writes `bytes`
/// and syncs them to disk.
fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_secret_file_is_owner_only_and_replaces_a_readable_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("openings.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_secret(&path, b"salt").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"salt");
        write_secret_json(&path, &serde_json::json!({"salt": "0x05"})).unwrap();
        assert_eq!(mode(&path), 0o600);
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_secret_is_never_written_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.json");
        let link = dir.path().join("key.json");
        symlink(&target, &link).unwrap();
        for (i, result) in [
            write_secret(&link, b"secret"),
            write_secret_json(&link, &"secret"),
            create_secret_json(&link, &"secret"),
        ]
        .into_iter()
        .enumerate()
        {
            let err = result.unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "refusing to write a secret to {}: it is a symbolic link (remove it, or give another path)",
                    link.display()
                ),
                "call {i}"
            );
            assert!(!target.exists(), "call {i} wrote through the dangling link");
        }
        // A link to an existing file is refused too, and the file is left as it was.
        std::fs::write(&target, "public").unwrap();
        let err = write_secret(&link, b"secret").unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"public");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn create_secret_json_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("buyer.key.json");
        create_secret_json(&path, &"first").unwrap();
        assert_eq!(mode(&path), 0o600);
        let err = create_secret_json(&path, &"second")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("{} exists; refusing to overwrite it", path.display())
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "\"first\"");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

fn form_of_older_deployments() -> snarkml_verifier_gen::VerifierForm {
    snarkml_verifier_gen::VerifierForm::SnarkVerifier
}
