//! Helpers shared by the circuits crate's tests.
#![allow(dead_code)]

pub(crate) mod onnx;
pub(crate) mod segments;

use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::error::Result;
use snarkml_circuits::halo2_proofs::dev::VerifyFailure;
use snarkml_circuits::io::InputFile;
use snarkml_circuits::layout::Plan;
use snarkml_circuits::model::onnx::OnnxBytes;
use snarkml_circuits::model::FloatGraph;
use snarkml_circuits::prover::{self, failure_row};
use snarkml_circuits::quantize::{self, CompileOptions, CompiledModel};
use snarkml_circuits::srs::Srs;
use std::path::{Path, PathBuf};

/// A file of `tests/fixtures/`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

// The library reads no file: these read one and hand its bytes over, as the CLI does.

/// The bytes of a file a test reads (panics naming it when it cannot be read).
pub(crate) fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compiles the ONNX file at `path` (named by its stem).
pub(crate) fn compile(
    path: &Path,
    samples: &[Vec<Vec<f32>>],
    opts: &CompileOptions,
) -> Result<CompiledModel> {
    let bytes = read(path);
    quantize::compile(onnx_bytes(path, &bytes), samples, opts)
}

/// Parses the ONNX file at `path` into a float graph.
pub(crate) fn parse_onnx(path: &Path) -> Result<FloatGraph> {
    let bytes = read(path);
    snarkml_circuits::model::onnx::parse(onnx_bytes(path, &bytes))
}

/// `bytes` of the ONNX file at `path`, named by its stem.
pub(crate) fn onnx_bytes<'a>(path: &'a Path, bytes: &'a [u8]) -> OnnxBytes<'a> {
    OnnxBytes {
        bytes,
        name: path.file_stem().and_then(|s| s.to_str()).unwrap_or(""),
    }
}

/// The input file at `path`.
pub(crate) fn input_file(path: &Path) -> Result<InputFile> {
    InputFile::from_json(&read(path))
}

/// The calibration samples in the file at `path`.
pub(crate) fn load_calibration(path: &Path) -> Result<Vec<Vec<Vec<f32>>>> {
    snarkml_circuits::io::parse_calibration(&read(path))
}

/// A fixture's calibration samples: its calibration file, or else its input as the one sample.
pub(crate) fn fixture_samples(stem: &str) -> Vec<Vec<Vec<f32>>> {
    let calibration = fixture(&format!("{stem}.calibration.json"));
    if calibration.exists() {
        load_calibration(&calibration).unwrap()
    } else {
        vec![
            input_file(&fixture(&format!("{stem}.input.json")))
                .unwrap()
                .input_data,
        ]
    }
}

/// Compiles a fixture, calibrated on its own input.
pub(crate) fn compile_fixture(stem: &str) -> (CompiledModel, Vec<Vec<f32>>) {
    let input = input_file(&fixture(&format!("{stem}.input.json"))).unwrap();
    let model = compile(
        &fixture(&format!("{stem}.onnx")),
        std::slice::from_ref(&input.input_data),
        &CompileOptions::default(),
    )
    .unwrap();
    (model, input.input_data)
}

/// Compiles a fixture with `opts`, calibrated on its first sample; returns the model and that
/// sample quantized.
pub(crate) fn compile_with(stem: &str, opts: &CompileOptions) -> (CompiledModel, Vec<Vec<i64>>) {
    let data = fixture_samples(stem).remove(0);
    let model = compile(
        &fixture(&format!("{stem}.onnx")),
        std::slice::from_ref(&data),
        opts,
    )
    .unwrap();
    let q = model.quantize_inputs(&data).unwrap();
    (model, q)
}

/// What MockProver finds wrong with `model`'s circuit assigning `plan`.
pub(crate) fn failures(model: &CompiledModel, plan: Plan) -> Vec<VerifyFailure> {
    prover::mock_failures(model, &circuit_with(model, plan)).unwrap()
}

/// Each failure as (constraint name, row), in order; any failure of another kind panics.
pub(crate) fn unsatisfied_constraints(failures: &[VerifyFailure]) -> Vec<(String, usize)> {
    failures
        .iter()
        .map(|x| match x {
            VerifyFailure::ConstraintNotSatisfied { constraint, .. } => {
                (constraint.to_string(), failure_row(x).unwrap())
            }
            other => panic!("unexpected failure {other}"),
        })
        .collect()
}

/// The circuit of `model` that assigns `plan` (possibly tampered with).
pub(crate) fn circuit_with(model: &CompiledModel, plan: Plan) -> ModelCircuit {
    ModelCircuit::with_plan(model, plan)
}

/// A development SRS of size `k`, generated once per test run into `$SNARKML_TEST_CACHE`.
pub(crate) fn srs(k: u32) -> Srs {
    let dir = std::env::var_os("SNARKML_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/snarkml-test-cache")
        });
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("srs-k{k}.bin"));
    // Tests run in parallel threads: one generates, the others wait and read its file.
    static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = GENERATING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(srs) = std::fs::read(&path)
        .ok()
        .and_then(|b| Srs::from_bytes(&b).ok())
    {
        return srs;
    }
    let srs = Srs::generate_insecure(k, 7).unwrap();
    // Written beside and renamed: another test binary never reads half a file.
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap());
    srs.write(&mut file).unwrap();
    drop(file);
    std::fs::rename(&tmp, &path).unwrap();
    srs
}

/// The environment variable that rewrites the pins (`tests/fixtures/pins/`) from what the
/// code makes today, for a deliberate, explained change of a circuit.
pub(crate) const UPDATE_PINS: &str = "SNARKML_UPDATE_PINS";

/// A file of `tests/fixtures/pins/`.
pub(crate) fn pin_path(name: &str) -> PathBuf {
    fixture(&format!("pins/{name}.json"))
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
