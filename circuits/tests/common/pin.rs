//! Pinned circuits (zcash's `test_against_stored_vk` and `test_against_stored_proof`), one file
//! shared by the tests of `circuits/` (`circuits/tests/common`) and of the root package
//! (`tests/common`, by `#[path]`).

use std::path::{Path, PathBuf};

/// The environment variable that rewrites the pins (`tests/fixtures/pins/`) from what the
/// code makes today, for a deliberate, explained change of a circuit.
pub(crate) const UPDATE_PINS: &str = "SNARKML_UPDATE_PINS";

/// A file of `tests/fixtures/pins/`.
pub(crate) fn pin_path(name: &str) -> PathBuf {
    // Included by the tests of `circuits/` and of the root package: the repository root is
    // the manifest directory or its parent.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("tests/fixtures/pins"))
        .find(|pins| pins.is_dir())
        .expect("tests/fixtures/pins")
        .join(format!("{name}.json"))
}

/// Checks a pinned circuit (zcash's `test_against_stored_vk` and `test_against_stored_proof`):
/// `tests/fixtures/pins/{name}.json` holds its verifying key's hash and one proof with its
/// public instances, made by an earlier version. The key made today must hash the same, so a
/// deployed verifier still accepts new proofs; the stored proof must still verify with it, and
/// must stop verifying when one of its bytes or instances changes, so the check means
/// something. With [`UPDATE_PINS`] set, the file is first rewritten from `vk_hash` and
/// `fresh()` (a new proof and its instances).
pub(crate) fn check_pin<E: std::fmt::Display>(
    name: &str,
    vk_hash: &str,
    fresh: impl FnOnce() -> (Vec<snarkml_circuits::Fr>, Vec<u8>),
    verify: impl Fn(&[snarkml_circuits::Fr], &[u8]) -> Result<(), E>,
) {
    use snarkml_circuits::fixed_point::{field_from_hex, field_to_hex};
    let path = pin_path(name);
    if std::env::var_os(UPDATE_PINS).is_some() {
        let (instances, proof) = fresh();
        let pin = serde_json::json!({
            "circuit": name,
            "vk_hash": vk_hash,
            "instances": instances.iter().map(field_to_hex).collect::<Vec<_>>(),
            "proof": hex::encode(&proof),
        });
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&pin).unwrap() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with {UPDATE_PINS}=1)", path.display()));
    let pin: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        pin["vk_hash"].as_str(),
        Some(vk_hash),
        "{name}: the verifying key changed, so deployed verifiers would refuse new proofs \
         (if deliberate, explain it and rerun with {UPDATE_PINS}=1)"
    );
    let instances: Vec<snarkml_circuits::Fr> = pin["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| field_from_hex(v.as_str().unwrap()).unwrap())
        .collect();
    let proof = hex::decode(pin["proof"].as_str().unwrap()).unwrap();
    if let Err(e) = verify(&instances, &proof) {
        panic!("{name}: the stored proof no longer verifies with today's key: {e}");
    }
    // Both refusals must come from the verifier itself ("proof rejected: ..."), not from
    // some earlier check.
    let rejected = |instances: &[snarkml_circuits::Fr], proof: &[u8]| {
        verify(instances, proof)
            .map_or_else(|e| e.to_string().starts_with("proof rejected"), |()| false)
    };
    let mut flipped = proof.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 1;
    assert!(
        rejected(&instances, &flipped),
        "{name}: a stored proof with a byte flipped is not rejected by the verifier"
    );
    if let Some(first) = instances.first() {
        let mut other = instances.clone();
        other[0] = *first + snarkml_circuits::Fr::from(1);
        assert!(
            rejected(&other, &proof),
            "{name}: the stored proof is not rejected for another first instance"
        );
    }
}
