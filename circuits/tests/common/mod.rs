//! Helpers shared by the circuits crate's tests.
#![allow(dead_code)]

use snarkml_circuits::io::{load_calibration, InputFile};
use snarkml_circuits::quantize::{compile, CompileOptions, CompiledModel};
use std::path::{Path, PathBuf};

/// A file of `tests/fixtures/`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// A fixture's calibration samples: its calibration file, or else its input as the one sample.
pub(crate) fn fixture_samples(stem: &str) -> Vec<Vec<Vec<f32>>> {
    let calibration = fixture(&format!("{stem}.calibration.json"));
    if calibration.exists() {
        load_calibration(&calibration).unwrap()
    } else {
        vec![
            InputFile::load(&fixture(&format!("{stem}.input.json")))
                .unwrap()
                .input_data,
        ]
    }
}

/// Compiles a fixture, calibrated on its own input.
pub(crate) fn compile_fixture(stem: &str) -> (CompiledModel, Vec<Vec<f32>>) {
    let input = InputFile::load(&fixture(&format!("{stem}.input.json"))).unwrap();
    let model = compile(
        &fixture(&format!("{stem}.onnx")),
        std::slice::from_ref(&input.input_data),
        &CompileOptions::default(),
    )
    .unwrap();
    (model, input.input_data)
}
