//! The crate's JSON helpers: every format it defines (`model.json`, proof, openings, input and
//! calibration files) parses from bytes and renders to bytes here; reading and writing the
//! files is the caller's (the `snarkml` package's `stored` module). A leaf module: it imports
//! only the error type.

use crate::error::{CircuitError, Result};
use serde::{Deserialize, Serialize};

/// Parses `bytes` as `what` (named in the error).
pub(crate) fn from_json<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| CircuitError::Json {
        what,
        reason: e.to_string(),
    })
}

/// Renders `value` as indented JSON.
pub(crate) fn to_json<T: Serialize>(value: &T, what: &'static str) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| CircuitError::Json {
        what,
        reason: e.to_string(),
    })
}
