//! The Solidity compiler: found on disk, driven through `--standard-json`.
//!
//! Not through Foundry's `foundry-compilers` (tried 2026-12-06, version 0.21): it turns on
//! serde_json's `arbitrary_precision` for the whole workspace, under which serde cannot read
//! a number inside an internally tagged or untagged enum — `model.json`'s activations
//! (`{"fn": "clip", "min": -1.0, …}`) no longer load. This module is the part of it we need:
//! one standard-JSON call, its errors, and the bytecode and ABI of one contract.

use crate::{Result, VerifierError};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A compiled contract.
#[derive(Clone, Debug)]
pub struct CompiledContract {
    /// Creation code.
    pub initcode: Vec<u8>,
    /// Runtime code.
    pub runtime: Vec<u8>,
    /// ABI.
    pub abi: Value,
}

/// A `solc` executable (native, or the project's wrapper around npm `solc`).
#[derive(Clone, Debug)]
pub struct Solc {
    /// The executable.
    pub path: PathBuf,
    /// Its version line.
    pub version: String,
}

/// Finds `solc`: `$SNARKML_SOLC`, then `.toolchain/bin/solc` under the current directory or
/// the source checkout, then `PATH`.
pub fn find_solc() -> Result<Solc> {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let candidates = std::env::var_os("SNARKML_SOLC")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            PathBuf::from(".toolchain/bin/solc"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.toolchain/bin/solc"),
        ])
        .chain(std::env::split_paths(&path_var).map(|d| d.join("solc")));
    for path in candidates {
        if path.is_file() {
            return Solc::new(path);
        }
    }
    Err(VerifierError::SolcNotFound)
}

impl Solc {
    /// Checks the executable answers `--version` with 0.8.19 (what generated verifiers need).
    pub fn new(path: PathBuf) -> Result<Self> {
        let out = Command::new(&path)
            .arg("--version")
            .output()
            .map_err(|source| VerifierError::SolcRun {
                path: path.display().to_string(),
                source,
            })?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let version = text
            .lines()
            .find(|l| l.starts_with("Version:"))
            .unwrap_or("")
            .trim()
            .to_owned();
        if !out.status.success() || !version.contains("0.8.19") {
            return Err(VerifierError::SolcVersion {
                path: path.display().to_string(),
                said: text.trim().to_owned(),
            });
        }
        Ok(Self { path, version })
    }

    /// Compiles one source and returns `contract`.
    pub fn compile_one(
        &self,
        file: &str,
        source: &str,
        contract: &str,
    ) -> Result<CompiledContract> {
        self.compile(&[(file, source)], file, contract)
    }

    /// Compiles sources (optimizer off: generated verifiers break it) and returns `contract`
    /// from `file`.
    pub fn compile(
        &self,
        sources: &[(&str, &str)],
        file: &str,
        contract: &str,
    ) -> Result<CompiledContract> {
        self.compile_with(sources, file, contract, false)
    }

    /// [`Self::compile`] with the optimizer on or off (small hand-written contracts take it).
    pub fn compile_with(
        &self,
        sources: &[(&str, &str)],
        file: &str,
        contract: &str,
        optimize: bool,
    ) -> Result<CompiledContract> {
        let output = self.run(sources, optimize)?;
        let c = &output["contracts"][file][contract];
        let code = |key: &str| -> Result<Vec<u8>> {
            let hex_str = c["evm"][key]["object"].as_str().unwrap_or("");
            if hex_str.is_empty() {
                return Err(VerifierError::SolcOutput(format!(
                    "no {key} for {file}:{contract}"
                )));
            }
            hex::decode(hex_str).map_err(VerifierError::InitCode)
        };
        Ok(CompiledContract {
            initcode: code("bytecode")?,
            runtime: code("deployedBytecode")?,
            abi: c["abi"].clone(),
        })
    }

    /// The ABI of `contract` in `file`: of an interface too, which has no code.
    pub fn abi(&self, sources: &[(&str, &str)], file: &str, contract: &str) -> Result<Value> {
        let output = self.run(sources, false)?;
        match &output["contracts"][file][contract]["abi"] {
            Value::Null => Err(VerifierError::SolcOutput(format!(
                "no ABI for {file}:{contract}"
            ))),
            abi => Ok(abi.clone()),
        }
    }

    /// Runs `solc --standard-json` on `sources`; its output, or the compiler's errors.
    fn run(&self, sources: &[(&str, &str)], optimize: bool) -> Result<Value> {
        let sources: serde_json::Map<String, Value> = sources
            .iter()
            .map(|(name, text)| ((*name).to_owned(), json!({ "content": text })))
            .collect();
        let input = json!({
            "language": "Solidity",
            "sources": sources,
            "settings": {
                "optimizer": { "enabled": optimize, "runs": 1000000 },
                "evmVersion": "paris",
                "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } }
            }
        });
        let mut child = Command::new(&self.path)
            .arg("--standard-json")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| VerifierError::SolcRun {
                path: self.path.display().to_string(),
                source,
            })?;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.to_string().as_bytes())
            .map_err(|source| VerifierError::SolcRun {
                path: self.path.display().to_string(),
                source,
            })?;
        let out = child
            .wait_with_output()
            .map_err(|source| VerifierError::SolcRun {
                path: self.path.display().to_string(),
                source,
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json_start = stdout.find('{').ok_or_else(|| {
            VerifierError::SolcOutput(format!(
                "no JSON (exit {}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        })?;
        let output: Value = serde_json::from_str(&stdout[json_start..])
            .map_err(|e| VerifierError::SolcOutput(format!("unreadable JSON: {e}")))?;
        let errors: Vec<String> = output["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["severity"] == "error")
            .map(|e| {
                e["formattedMessage"]
                    .as_str()
                    .or(e["message"].as_str())
                    .unwrap_or("?")
                    .trim()
                    .to_owned()
            })
            .collect();
        if !errors.is_empty() {
            return Err(VerifierError::SolcErrors(errors));
        }
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solidity_that_does_not_compile_is_refused_with_solcs_errors() {
        let solc = find_solc().expect("scripts/setup installs solc");
        let err = solc
            .compile_with(
                &[("Bad.sol", "contract Bad { function f( }")],
                "Bad.sol",
                "Bad",
                false,
            )
            .unwrap_err();
        match err {
            VerifierError::SolcErrors(errors) => {
                assert!(!errors.is_empty());
                assert!(errors[0].contains("Bad.sol"), "{errors:?}");
            }
            other => panic!("expected SolcErrors, got {other:?}"),
        }
    }

    #[test]
    fn a_program_that_is_not_solc_0_8_19_is_refused_naming_what_it_said() {
        // GNU echo answers `--version` with its own version: not a solc.
        let echo = PathBuf::from("/bin/echo");
        match Solc::new(echo).unwrap_err() {
            VerifierError::SolcVersion { path, said } => {
                assert_eq!(path, "/bin/echo");
                assert!(said.contains("echo"), "{said}");
            }
            other => panic!("expected SolcVersion, got {other:?}"),
        }
        // A solc of another version is refused naming the version it reports.
        let dir = std::env::temp_dir().join(format!("snarkml-solc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let other = dir.join("solc");
        let script = "#!/bin/sh\necho 'solc, the solidity compiler commandline interface'\necho 'Version: 0.8.20+commit.a1b79de6.Linux.g++'\n";
        std::fs::write(&other, script).unwrap();
        std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let refused = Solc::new(other.clone()).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        match refused {
            VerifierError::SolcVersion { path, said } => {
                assert_eq!(path, other.display().to_string());
                assert!(said.contains("Version: 0.8.20+commit.a1b79de6"), "{said}");
            }
            other => panic!("expected SolcVersion, got {other:?}"),
        }
        match Solc::new(PathBuf::from("/nonexistent/solc")).unwrap_err() {
            VerifierError::SolcRun { path, .. } => assert_eq!(path, "/nonexistent/solc"),
            other => panic!("expected SolcRun, got {other:?}"),
        }
    }
}
