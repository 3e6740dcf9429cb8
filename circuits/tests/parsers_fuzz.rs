//! Property tests of everything that reads untrusted bytes: ONNX import, input and calibration
//! files, proof files and proof bytes. Random or mutated bytes give an error (or, when still
//! valid, a result that the checks after them hold to), never a panic; and a mutated proof file
//! that passes every check shows exactly what was proven. Each property runs a bounded number
//! of cases (seconds in CI); `PROPTEST_CASES` runs more.

mod common;

use common::{compile_with, fixture, srs};
use proptest::prelude::*;
use proptest::sample::Index;
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::halo2_proofs::plonk::ProvingKey;
use snarkml_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snarkml_circuits::io::{parse_calibration, InputFile, ProofFile};
use snarkml_circuits::model::onnx::{self, OnnxBytes, MAX_ELEMENTS};
use snarkml_circuits::prover::{self, Transcript};
use snarkml_circuits::quantize::{CompileOptions, CompiledModel};
use snarkml_circuits::{Bn256, G1Affine};
use std::sync::OnceLock;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

/// Byte edits: `(where, value)` pairs, then an optional cut.
fn edits() -> impl Strategy<Value = (Vec<(Index, u8)>, Option<Index>)> {
    (
        prop::collection::vec((any::<Index>(), any::<u8>()), 1..8),
        prop::option::weighted(0.2, any::<Index>()),
    )
}

/// `bytes` with `edits` applied.
fn mutate(mut bytes: Vec<u8>, (sets, cut): &(Vec<(Index, u8)>, Option<Index>)) -> Vec<u8> {
    for (at, value) in sets {
        let i = at.index(bytes.len());
        bytes[i] = *value;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut.index(bytes.len()));
    }
    bytes
}

/// Whether `err` refuses bytes as not the JSON they should hold (not UTF-8 text, or text that
/// does not parse as that file's JSON).
fn not_json(err: &CircuitError) -> bool {
    matches!(err, CircuitError::Json { .. })
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn onnx_import_refuses_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        // Not a protobuf model, or one that parses (a few random bytes can) into no graph.
        let err = onnx::parse(OnnxBytes { bytes: &bytes, name: "fuzz" }).unwrap_err();
        prop_assert!(
            matches!(err, CircuitError::NotOnnx { .. } | CircuitError::InvalidModel { .. }),
            "{err}"
        );
    }

    #[test]
    fn input_and_calibration_files_refuse_random_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let input = InputFile::from_json(&bytes).unwrap_err();
        prop_assert!(not_json(&input), "{input}");
        let calibration = parse_calibration(&bytes).unwrap_err();
        prop_assert!(not_json(&calibration), "{calibration}");
    }

    #[test]
    fn proof_files_refuse_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for err in [ProofFile::parse(&bytes).unwrap_err(), ProofFile::from_json(&bytes).unwrap_err()] {
            prop_assert!(not_json(&err), "{err}");
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn onnx_import_of_mutated_models_errs_or_bounds_every_tensor(
        stem in prop::sample::select(vec!["relu3", "linear", "mlp_flatten", "conv_basic"]),
        edits in edits(),
    ) {
        let bytes = std::fs::read(fixture(&format!("{stem}.onnx"))).unwrap();
        let bytes = mutate(bytes, &edits);
        if let Ok(graph) = onnx::parse(OnnxBytes { bytes: &bytes, name: stem }) {
            for t in &graph.tensors {
                let n = t.shape.iter().try_fold(1u64, |a, d| a.checked_mul(*d as u64));
                prop_assert!(n.is_some_and(|n| n <= MAX_ELEMENTS), "{}: {:?}", t.name, t.shape);
            }
        }
    }

    #[test]
    fn mutated_input_files_parse_or_err_and_quantize_or_err(edits in edits()) {
        let (model, _, _) = relu3();
        let bytes = std::fs::read(fixture("relu3.input.json")).unwrap();
        let bytes = mutate(bytes, &edits);
        if let Ok(file) = InputFile::from_json(&bytes) {
            let _ = model.quantize_inputs(&file.input_data);
        }
        if let Ok(samples) = parse_calibration(&bytes) {
            for s in samples {
                let _ = model.quantize_inputs(&s);
            }
        }
    }
}

/// `external/cnn_digits.onnx` decoded (its weights in `cnn_digits.onnx.data`, as `onnx.save`
/// writes them), and that file's bytes.
fn external_model() -> (tract_onnx::pb::ModelProto, Vec<u8>) {
    use prost::Message;
    let bytes = std::fs::read(fixture("external/cnn_digits.onnx")).unwrap();
    let data = std::fs::read(fixture("external/cnn_digits.onnx.data")).unwrap();
    (
        tract_onnx::pb::ModelProto::decode(&bytes[..]).unwrap(),
        data,
    )
}

/// The `key` entry of tensor `t`'s external data description.
fn external_entry<'t>(t: &'t tract_onnx::pb::TensorProto, key: &str) -> Option<&'t str> {
    t.external_data
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.value.as_str())
}

#[test]
fn a_model_with_external_data_names_its_file_until_that_is_read_in() {
    use prost::Message;
    let (proto, data) = external_model();
    let bytes = proto.encode_to_vec();
    let err = onnx::parse(OnnxBytes {
        bytes: &bytes,
        name: "m",
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("its values are in the external data file `cnn_digits.onnx.data` (compile the model from its file"),
        "{err}"
    );
    // Read in (each file once), every tensor holds its bytes of the file, and it parses.
    let mut reads = Vec::new();
    let whole = onnx::inline_external_data(&bytes, &mut |location| {
        reads.push(location.to_owned());
        Ok(data.clone())
    })
    .unwrap()
    .expect("the model has external data");
    assert_eq!(reads, ["cnn_digits.onnx.data"]);
    let inlined = tract_onnx::pb::ModelProto::decode(&whole[..]).unwrap();
    let (before, after) = (
        &proto.graph.unwrap().initializer,
        &inlined.graph.unwrap().initializer,
    );
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(after) {
        let offset: usize = external_entry(b, "offset").unwrap_or("0").parse().unwrap();
        let length: usize = external_entry(b, "length").unwrap().parse().unwrap();
        assert_eq!(a.raw_data, data[offset..offset + length], "{}", a.name);
        assert!(
            a.external_data.is_empty() && a.data_location.is_none(),
            "{}",
            a.name
        );
    }
    onnx::parse(OnnxBytes {
        bytes: &whole,
        name: "m",
    })
    .unwrap();
    // A model with none is left as it is; so are bytes that are no model (parse says why).
    let inline = std::fs::read(fixture("corpus/cnn_digits.onnx")).unwrap();
    let mut never = |_: &str| -> Result<Vec<u8>, String> { panic!("nothing to read") };
    assert_eq!(
        onnx::inline_external_data(&inline, &mut never).unwrap(),
        None
    );
    assert_eq!(
        onnx::inline_external_data(b"junk", &mut never).unwrap(),
        None
    );
    // The reader's error is the one line, naming the tensor and the file.
    let err = onnx::inline_external_data(&bytes, &mut |_| Err("gone".into())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid model at node `c1.w`: its values are in the external data file `cnn_digits.onnx.data`: gone"
    );
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn external_data_offsets_and_lengths_read_inside_the_file_or_are_refused(
        tensor in any::<Index>(),
        offset in prop_oneof![0usize..2048, Just(usize::MAX)].prop_map(|v| v.to_string()),
        length in prop::option::of(prop_oneof![0usize..2048, Just(usize::MAX)]),
        word in prop::option::weighted(0.1, Just("-1")),
    ) {
        use prost::Message;
        let (mut proto, data) = external_model();
        let inits = &mut proto.graph.as_mut().unwrap().initializer;
        let at = tensor.index(inits.len());
        let t = &mut inits[at];
        let name = t.name.clone();
        t.external_data.retain(|e| e.key == "location");
        let offset = word.map_or(offset, str::to_owned);
        t.external_data.push(tract_onnx::pb::StringStringEntryProto { key: "offset".into(), value: offset.clone() });
        if let Some(n) = length {
            t.external_data.push(tract_onnx::pb::StringStringEntryProto { key: "length".into(), value: n.to_string() });
        }
        let bytes = proto.encode_to_vec();
        match onnx::inline_external_data(&bytes, &mut |_| Ok(data.clone())) {
            Ok(whole) => {
                let start: usize = offset.parse().unwrap();
                let end = length.map_or(data.len(), |n| start + n);
                prop_assert!(end <= data.len());
                let inlined = tract_onnx::pb::ModelProto::decode(&whole.unwrap()[..]).unwrap();
                let t = inlined.graph.unwrap().initializer.into_iter().find(|t| t.name == name).unwrap();
                prop_assert_eq!(&t.raw_data[..], &data[start..end]);
            }
            Err(e) => {
                let line = e.to_string();
                prop_assert!(line.starts_with(&format!("invalid model at node `{name}`: its values are in the external data file `cnn_digits.onnx.data`: ")), "{}", line);
                prop_assert!(line.ends_with(&format!("are past its end ({} bytes)", data.len())) || line.contains("is not a byte count"), "{}", line);
            }
        }
    }
}

/// relu3 compiled, with its SRS parameters and keys.
type Relu3 = (CompiledModel, ParamsKZG<Bn256>, ProvingKey<G1Affine>);

fn relu3() -> &'static Relu3 {
    static RELU3: OnceLock<Relu3> = OnceLock::new();
    RELU3.get_or_init(|| {
        let (model, _) = compile_with("relu3", &CompileOptions::default());
        let params = srs(model.layout.k).trimmed(model.layout.k).unwrap();
        let pk = prover::keygen(&params, &model).unwrap();
        (model, params, pk)
    })
}

/// A real relu3 proof file (Keccak transcript) and its JSON.
fn relu3_proof() -> &'static (ProofFile, serde_json::Value) {
    static PROOF: OnceLock<(ProofFile, serde_json::Value)> = OnceLock::new();
    PROOF.get_or_init(|| {
        let (model, params, pk) = relu3();
        let (_, q) = compile_with("relu3", &CompileOptions::default());
        let proof = prover::prove(params, pk, model, &q).unwrap();
        let file = ProofFile::new(model, &proof, &q, "vk", "srs");
        let json = serde_json::to_value(&file).unwrap();
        (file, json)
    })
}

/// Every leaf of a JSON value, as a JSON pointer.
fn leaves(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{at}/{k}"), out)),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

/// A replacement leaf: numbers near and far, strings, hex, null.
fn leaf() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        (-4i64..4).prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u32>().prop_map(serde_json::Value::from),
        (-1e6f64..1e6).prop_map(serde_json::Value::from),
        "[a-z_]{0,8}".prop_map(serde_json::Value::from),
        "0x[0-9a-f]{0,70}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ]
}

/// Verifies `file` as `snarkml verify` does: checked against the model, then the proof.
fn verified(file: &ProofFile) -> Option<ProofFile> {
    let (model, params, pk) = relu3();
    let checked = file.check_against(model).ok()?;
    let instances = checked.instance_fields().ok()?;
    let bytes = checked.proof_bytes().ok()?;
    prover::verify_with(params, pk.get_vk(), &instances, &bytes, Transcript::Keccak).ok()?;
    Some(checked)
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn a_mutated_proof_file_that_verifies_shows_exactly_what_was_proven(
        replace in prop::collection::vec((any::<Index>(), leaf()), 1..3),
        edits in prop::option::weighted(0.3, edits()),
    ) {
        let (original, json) = relu3_proof();
        let mut json = json.clone();
        let mut paths = Vec::new();
        leaves(&json, String::new(), &mut paths);
        for (at, value) in replace {
            *json.pointer_mut(at.get::<String>(&paths)).unwrap() = value;
        }
        let mut bytes = serde_json::to_vec_pretty(&json).unwrap();
        if let Some(edits) = &edits {
            bytes = mutate(bytes, edits);
        }
        let _ = ProofFile::from_json(&bytes);
        if let Ok(file) = ProofFile::parse(&bytes) {
            if let Some(shown) = verified(&file) {
                prop_assert_eq!(&shown.inputs, &original.inputs);
                prop_assert_eq!(&shown.outputs, &original.outputs);
                prop_assert_eq!(&shown.instances, &original.instances);
            }
        }
    }

    #[test]
    fn mutated_proof_bytes_are_rejected(
        flips in prop::collection::vec((any::<Index>(), 1u8..=255), 0..4),
        extra in prop::collection::vec(any::<u8>(), 0..40),
        cut in prop::option::weighted(0.2, any::<Index>()),
    ) {
        let (_, params, pk) = relu3();
        let (original, _) = relu3_proof();
        let mut bytes = original.proof_bytes().unwrap();
        for (at, x) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        bytes.extend(&extra);
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let instances = original.instance_fields().unwrap();
        let result = prover::verify_with(params, pk.get_vk(), &instances, &bytes, Transcript::Keccak);
        if bytes == original.proof_bytes().unwrap() {
            prop_assert!(result.is_ok());
        } else {
            let err = result.unwrap_err();
            prop_assert!(
                matches!(
                    err,
                    CircuitError::ProofRejected(_) | CircuitError::TrailingProofBytes { .. }
                ),
                "{err}"
            );
        }
    }
}

/// Random small graphs of the ops users' models are made of (linear layers, constants that
/// zero a value, activations, products, softmax, reductions, concatenations), written as ONNX:
/// every build `compile` writes loads back (its own validation), runs, and MockProver accepts
/// its circuit on a sample. (A zero output once wrote a build that failed its own checks.)
mod random_graphs {
    use super::*;
    use crate::common::onnx::{constant, dyadic, int, int_constant, model, node};

    /// The graph `ops` describe, on an input of `[1, n]`: bytes and the input length.
    fn graph(ops: &[u8], n: usize, seed: u64) -> (Vec<u8>, usize) {
        let (mut nodes, mut inits) = (Vec::new(), Vec::new());
        let (mut cur, mut width) = ("x".to_string(), n);
        for (i, op) in ops.iter().enumerate() {
            let (out, s) = (format!("t{i}"), seed + i as u64);
            let c = format!("c{i}");
            let next_width = match op % 12 {
                0 => {
                    let m = 2 + (s % 4) as usize;
                    inits.push(constant(&c, &[width, m], dyadic(s, width * m)));
                    nodes.push(node("MatMul", &[&cur, &c], &out, vec![]));
                    m
                }
                1 => {
                    inits.push(constant(&c, &[width], dyadic(s, width)));
                    nodes.push(node("Add", &[&cur, &c], &out, vec![]));
                    width
                }
                2 => {
                    inits.push(constant(&c, &[width], dyadic(s, width)));
                    nodes.push(node("Mul", &[&cur, &c], &out, vec![]));
                    width
                }
                3 => {
                    inits.push(constant(&c, &[width], vec![0.0; width]));
                    nodes.push(node("Mul", &[&cur, &c], &out, vec![]));
                    width
                }
                4 => {
                    nodes.push(node("Relu", &[&cur], &out, vec![]));
                    width
                }
                5 => {
                    nodes.push(node("Sigmoid", &[&cur], &out, vec![]));
                    width
                }
                6 => {
                    nodes.push(node("Tanh", &[&cur], &out, vec![]));
                    width
                }
                7 => {
                    nodes.push(node("Softmax", &[&cur], &out, vec![int("axis", -1)]));
                    width
                }
                8 => {
                    inits.push(int_constant(&c, &[1]));
                    nodes.push(node(
                        "ReduceSum",
                        &[&cur, &c],
                        &out,
                        vec![int("keepdims", 1)],
                    ));
                    1
                }
                9 => {
                    nodes.push(node("Mul", &[&cur, &cur], &out, vec![]));
                    width
                }
                10 => {
                    nodes.push(node("Concat", &[&cur, &cur], &out, vec![int("axis", 1)]));
                    2 * width
                }
                _ => {
                    nodes.push(node("Abs", &[&cur], &out, vec![]));
                    width
                }
            };
            (cur, width) = (out, next_width);
        }
        // The last node writes the output.
        let last = nodes.last_mut().expect("at least one op");
        last.output = vec!["y".into()];
        last.name = "y".into();
        (
            model(nodes, &[("x", &[1, n])], &[("y", &[1, width])], inits),
            n,
        )
    }

    /// Compiles the graph of `ops` on three samples, writes its build, loads it back (the
    /// build's own validation), runs and mocks it.
    fn build_loads_runs_and_proves(ops: &[u8], n: usize, seed: u64) -> Result<(), String> {
        let (onnx, len) = graph(ops, n, seed);
        let samples: Vec<Vec<Vec<f32>>> =
            (0..3).map(|k| vec![dyadic(seed + 100 + k, len)]).collect();
        // Random graphs may miss the accuracy target: the build is what is checked here.
        let opts = CompileOptions {
            allow_error: true,
            ..CompileOptions::default()
        };
        let fail = |e: CircuitError| format!("{ops:?}: {e}");
        let onnx = OnnxBytes {
            bytes: &onnx,
            name: "m",
        };
        let model = snarkml_circuits::quantize::compile(onnx, &samples, &opts).map_err(fail)?;
        let loaded = CompiledModel::from_json(&model.to_json().unwrap()).map_err(fail)?;
        let q = loaded.quantize_inputs(&samples[0]).map_err(fail)?;
        snarkml_circuits::exec::run(&loaded, &q).map_err(fail)?;
        prover::mock(&loaded, &q).map_err(fail)
    }

    #[test]
    fn a_model_whose_output_is_always_zero_writes_a_build_that_loads() {
        // x·0: the output's static bound is 0 (it once packed at 1 bit, which no build may).
        build_loads_runs_and_proves(&[3], 4, 1).unwrap();
    }

    proptest! {
        #![proptest_config(config(16))]

        #[test]
        fn every_build_compile_writes_loads_runs_and_proves(
            ops in proptest::collection::vec(0u8..12, 1..6),
            n in 2usize..6,
            seed in any::<u64>(),
        ) {
            build_loads_runs_and_proves(&ops, n, seed).map_err(TestCaseError::fail)?;
        }
    }
}
