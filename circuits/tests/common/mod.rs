//! Helpers shared by the circuits crate's tests.
#![allow(dead_code)]

pub(crate) mod corpus;
pub(crate) mod onnx;
pub(crate) mod segments;

use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::error::Result;
use snarkml_circuits::halo2_proofs::dev::VerifyFailure;
use snarkml_circuits::io::InputFile;
use snarkml_circuits::layout::{Fault, Plan};
use snarkml_circuits::model::onnx::OnnxBytes;
use snarkml_circuits::model::FloatGraph;
use snarkml_circuits::prover::{self, failure_row};
use snarkml_circuits::quantize::{self, CompileOptions, CompiledModel};
use snarkml_circuits::srs::Srs;
use std::path::{Path, PathBuf};

// The pins, shared with the root package's tests (`tests/common`).
pub(crate) mod pin;

/// The plan of `model` on `q` with the first element of `layer` `delta` units too high and
/// everything after it (the public outputs included) computed from that lie, as a cheating
/// prover would; checked to reach the public outputs.
pub(crate) fn first_element_off_by(
    model: &CompiledModel,
    q: &[Vec<i64>],
    layer: usize,
    delta: i128,
) -> Plan {
    let fault = Fault {
        layer,
        element: 0,
        delta,
        accumulator: false,
    };
    let plan = Plan::build_with_fault(model, model.layout.width, Some(q), Some(fault)).unwrap();
    let honest = Plan::build(model, model.layout.width, Some(q)).unwrap();
    assert_ne!(
        plan.instances, honest.instances,
        "the lie reaches the public outputs"
    );
    plan
}

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

/// The fixture model `{stem}.onnx` compiled from `samples` with `opts`.
pub(crate) fn compile_stem(
    stem: &str,
    samples: &[Vec<Vec<f32>>],
    opts: &CompileOptions,
) -> Result<CompiledModel> {
    compile(&fixture(&format!("{stem}.onnx")), samples, opts)
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
    let model = compile_stem(
        stem,
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
    let model = compile_stem(stem, std::slice::from_ref(&data), opts).unwrap();
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
