//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A file of the repository.
pub(crate) fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A development SRS of size `k`, generated once per test run into `$SNARKML_TEST_CACHE`.
pub(crate) fn cached_srs(k: u32) -> PathBuf {
    let dir = std::env::var_os("SNARKML_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo("target/snarkml-test-cache"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("srs-k{k}.bin"));
    if !path.exists() {
        let tmp = dir.join(format!("srs-k{k}.{}.tmp", std::process::id()));
        snarkml::pipeline::srs_gen(k, 7, &tmp).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
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
