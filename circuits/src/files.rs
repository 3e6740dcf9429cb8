//! The crate's file helpers: JSON reading and writing, and temporary names for atomic writes.
//! A leaf module (it imports only the error type), so every module that touches disk can use
//! it without importing the formats of `io`. (#21 moves file access out of this crate.)

use crate::error::{CircuitError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh temporary name beside `path`, unique across processes and threads, for writing a
/// file that is then renamed onto `path` (so readers never see half a file).
pub fn temp_path_beside(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    path.with_file_name(name)
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(
    path: &Path,
    what: &'static str,
) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| CircuitError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| CircuitError::Json {
        path: path.to_owned(),
        what,
        reason: e.to_string(),
    })
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T, what: &'static str) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CircuitError::Json {
        path: path.to_owned(),
        what,
        reason: e.to_string(),
    })?;
    std::fs::write(path, text).map_err(|e| CircuitError::io(path, e))
}
