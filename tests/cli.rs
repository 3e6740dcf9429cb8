//! The `snarkml` binary as a user runs it: bad input gives one line naming the problem and a
//! non-zero exit, never a panic; the demo runs end to end.

mod common;

use common::{
    assert_one_line_error, cached_srs, ok, repo, snarkml, tamper_json, toolchain_on_path,
};
use snarkml::stored::Stored;
use std::process::Output;

/// `snarkml compile MODEL -o <fresh temporary directory>`.
fn compile(model: &str) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    snarkml(&["compile", model, "-o", tmp.path().to_str().unwrap()])
}

#[test]
fn missing_model_file_is_named() {
    assert_one_line_error(&compile("no/such/model.onnx"), "no/such/model.onnx");
}

#[test]
fn non_onnx_file_is_named() {
    let model = repo("tests/fixtures/not_onnx.onnx");
    assert_one_line_error(
        &compile(model.to_str().unwrap()),
        "not_onnx.onnx: not a valid ONNX model",
    );
}

#[test]
fn unsupported_op_is_named_with_its_node() {
    let model = repo("tests/fixtures/unsupported_op.onnx");
    assert_one_line_error(
        &compile(model.to_str().unwrap()),
        "unsupported ONNX op `Det` at node `det`",
    );
}

#[test]
fn compile_names_the_model_as_asked_and_refuses_a_blank_name() {
    let tmp = tempfile::tempdir().unwrap();
    let model = repo("tests/fixtures/relu3.onnx");
    let build = |name: &str| {
        let b = tmp.path().join("b");
        snarkml(&[
            "compile",
            model.to_str().unwrap(),
            "-o",
            b.to_str().unwrap(),
            "--name",
            name,
            "--json",
        ])
    };
    let out = common::json(&ok(build("relu, renamed")));
    assert_eq!(out["model"], "relu, renamed");
    let saved = snarkml_circuits::quantize::CompiledModel::load(&tmp.path().join("b/model.json"));
    assert_eq!(saved.unwrap().name, "relu, renamed");
    assert_one_line_error(
        &build("  "),
        "model name \"  \": 1 to 128 characters, not blank",
    );
}

#[test]
fn compile_reports_the_inputs_it_quantizes_finer_per_feature_unless_told_not_to() {
    let tmp = tempfile::tempdir().unwrap();
    let model = repo("tests/fixtures/corpus/tabular_narrow.onnx");
    let calibration = repo("tests/fixtures/corpus/tabular_narrow.calibration.json");
    let build = |extra: &[&str]| {
        let b = tmp.path().join("b");
        let mut args = vec![
            "compile",
            model.to_str().unwrap(),
            "--calibration",
            calibration.to_str().unwrap(),
            "-o",
            b.to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        common::json(&ok(snarkml(&args)))
    };
    let finer = build(&[])["finer_input_features"]["x"].clone();
    assert_eq!(finer.as_array().map(Vec::len), Some(6), "{finer}");
    assert!(finer[0].as_u64().unwrap() > 0 && finer[5] == 0, "{finer}");
    let uniform = build(&["--uniform-input-scale"]);
    assert_eq!(uniform["finer_input_features"], serde_json::json!({}));
}

#[test]
fn wrong_input_shape_is_named_and_missing_steps_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let build = tmp.path().join("build");
    let b = build.to_str().unwrap();
    let model = repo("tests/fixtures/relu3.onnx");
    let input = repo("tests/fixtures/relu3.input.json");
    let proof = tmp.path().join("proof.json");

    let out = snarkml(&[
        "prove",
        b,
        "--input",
        input.to_str().unwrap(),
        "-o",
        proof.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "run `snarkml compile` first");

    let out = snarkml(&[
        "compile",
        model.to_str().unwrap(),
        "-o",
        b,
        "--calibration",
        input.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compiled: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(build.join("model.json")).unwrap()).unwrap();
    let k = compiled["layout"]["k"].as_u64().unwrap() as u32;
    let srs = cached_srs(k);
    let out = snarkml(&["setup", b, "--srs", srs.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let wrong = tmp.path().join("wrong.json");
    std::fs::write(&wrong, r#"{"input_data": [[1.0, 2.0]]}"#).unwrap();
    let out = snarkml(&[
        "prove",
        b,
        "--input",
        wrong.to_str().unwrap(),
        "-o",
        proof.to_str().unwrap(),
    ]);
    assert_one_line_error(
        &out,
        "input `input`: expected 3 values (shape [1, 3]), got 2",
    );

    let garbage = tmp.path().join("garbage.json");
    std::fs::write(&garbage, "not json").unwrap();
    let out = snarkml(&[
        "prove",
        b,
        "--input",
        garbage.to_str().unwrap(),
        "-o",
        proof.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "invalid input file");
    let out = snarkml(&["verify", b, garbage.to_str().unwrap()]);
    assert_one_line_error(&out, "invalid proof file");

    let out = snarkml(&[
        "prove",
        b,
        "--input",
        input.to_str().unwrap(),
        "-o",
        proof.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = snarkml(&["verify", b, proof.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("proof is valid"));

    // run: the circuit's arithmetic without a proof; mock: every constraint without a proof.
    let out = snarkml(&["run", b, "--input", input.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["outputs"][0]["values"],
        serde_json::json!([0.0, 0.25, 2.0]),
        "relu of [-1.5, 0.25, 2]"
    );
    let out = snarkml(&["mock", b, "--input", input.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("all constraints satisfied"));
    let out = snarkml(&["run", b, "--input", wrong.to_str().unwrap()]);
    assert_one_line_error(&out, "expected 3 values");

    // profile: rows per layer; relu3 is one input block, one ReLU layer and the outputs.
    let out = snarkml(&["profile", b, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = p["layers"].as_array().unwrap();
    assert_eq!(
        layers
            .iter()
            .map(|l| l["kind"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["inputs/outputs", "non-linear", "inputs/outputs"]
    );
    assert_eq!(layers[1]["rows"], 3, "one lookup row per ReLU element");
    let sum: u64 = layers.iter().map(|l| l["rows"].as_u64().unwrap()).sum();
    assert_eq!(serde_json::Value::from(sum), p["rows"]);

    // Keys from a development SRS never go to a remote chain by accident.
    let out = snarkml(&[
        "deploy",
        b,
        "--rpc-url",
        "https://rpc.example.org",
        "--private-key",
        "0x01",
    ]);
    assert_one_line_error(&out, "development SRS");
    let out = snarkml(&["deploy", b, "--rpc-url", "https://rpc.example.org"]);
    assert_one_line_error(&out, "give --private-key");
}

#[test]
fn crafted_onnx_shapes_are_refused_with_one_line_naming_the_tensor_and_dimension() {
    // Made by circuits/tests/trust.rs: dimensions of 0 and -5 used to compile as 1, 2^62 to
    // panic and 10^9 to abort on allocation.
    for (name, needle) in [
        (
            "shape_input_dim_zero",
            "ONNX tensor `input` has shape [1, 0]: dimension 1 is 0",
        ),
        (
            "shape_input_dim_negative",
            "ONNX tensor `input` has shape [1, -5]: dimension 1 is -5",
        ),
        (
            "shape_input_dim_2pow62",
            "ONNX tensor `input` has shape [1, 4611686018427387904]: dimension 1 is 4611686018427387904",
        ),
        (
            "shape_input_dim_1e9",
            "ONNX tensor `input` has shape [1, 1000000000]: dimension 1 is 1000000000",
        ),
        (
            "shape_weight_dim_2pow62",
            "ONNX tensor `weight` has shape [4, 4611686018427387904]: dimension 1",
        ),
    ] {
        let model = repo(&format!("tests/fixtures/refused/{name}.onnx"));
        assert_one_line_error(&compile(model.to_str().unwrap()), needle);
    }
}

/// relu3 compiled, set up and proven through the CLI into `dir`: the build and the proof.
fn relu3_proof(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let build = dir.join("build");
    let proof = dir.join("proof.json");
    let (b, p) = (build.to_str().unwrap(), proof.to_str().unwrap());
    let model = repo("tests/fixtures/relu3.onnx");
    let input = repo("tests/fixtures/relu3.input.json");
    let input = input.to_str().unwrap();
    ok(snarkml(&[
        "compile",
        model.to_str().unwrap(),
        "-o",
        b,
        "--calibration",
        input,
    ]));
    let k = snarkml_circuits::quantize::CompiledModel::load(&build.join("model.json"))
        .unwrap()
        .layout
        .k;
    ok(snarkml(&[
        "setup",
        b,
        "--srs",
        cached_srs(k).to_str().unwrap(),
    ]));
    ok(snarkml(&["prove", b, "--input", input, "-o", p]));
    (build, proof)
}

/// A JSON number plus one.
fn bump(v: &mut serde_json::Value) {
    *v = (v.as_u64().unwrap() + 1).into();
}

/// The proof file at `proof` with `extra` appended to its proof bytes.
fn with_trailing_bytes(v: &mut serde_json::Value, extra: &[u8]) {
    let proof = v["proof"].as_str().unwrap().to_owned();
    v["proof"] = format!("{proof}{}", hex::encode(extra)).into();
}

#[test]
fn verify_prints_what_the_proof_proves_and_refuses_any_other_field_or_trailing_bytes() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let (build, proof) = relu3_proof(tmp.path());
    let b = build.to_str().unwrap();
    let out = ok(snarkml(&["verify", b, proof.to_str().unwrap()]));
    assert!(out.contains("proof is valid"), "{out}");
    assert!(
        out.contains("[0.0000, 0.2500, 2.0000]"),
        "relu of [-1.5, 0.25, 2]: {out}"
    );
    // The arguments swapped: the error says which comes first, not that the build is missing.
    assert_one_line_error(
        &snarkml(&["verify", proof.to_str().unwrap(), b]),
        "is a file, not a build directory: the build directory comes first",
    );

    // Each edit leaves the instances alone: only the fields shown change. The old check let
    // the values, scales and names through ("proof is valid" with the edited outputs).
    type Edit = fn(&mut serde_json::Value);
    let edits: [(Edit, &str); 6] = [
        (
            |v| v["outputs"][0]["values"][2] = 9.0.into(),
            "proof file field `outputs[0].values[2]` shows 9 but the proof proves 2",
        ),
        (
            |v| v["inputs"][0]["values"][0] = 1.5.into(),
            "proof file field `inputs[0].values[0]` shows 1.5 but the proof proves -1.5",
        ),
        (
            |v| bump(&mut v["outputs"][0]["scale_bits"]),
            "proof file field `outputs[0].scale_bits` shows",
        ),
        (
            |v| v["outputs"][0]["name"] = "probabilities".into(),
            "proof file field `outputs[0].name` shows `probabilities`",
        ),
        (
            |v| bump(&mut v["outputs"][0]["pack_bits"]),
            "proof file field `outputs[0].pack_bits` shows",
        ),
        (
            |v| v["outputs"][0]["shape"] = serde_json::json!([3, 1]),
            "proof file field `outputs[0].shape` shows [3, 1]",
        ),
    ];
    let edited = tmp.path().join("edited.json");
    let artifacts = snarkml::artifacts::BuildDir::new(b);
    snarkml::pipeline::gen_verifier(
        &artifacts,
        &tmp.path().join("generated"),
        snarkml_verifier_gen::VerifierForm::SelfContained,
    )
    .unwrap();
    for (edit, needle) in edits {
        tamper_json(&proof, &edited, edit);
        assert_one_line_error(&snarkml(&["verify", b, edited.to_str().unwrap()]), needle);
        // What the EVM would be sent (verify-onchain reads the file the same way) is refused
        // before any call.
        let err = snarkml::pipeline::evm_verify(&artifacts, &edited).unwrap_err();
        assert!(
            matches!(
                err.downcast_ref::<snarkml_circuits::CircuitError>(),
                Some(snarkml_circuits::CircuitError::UnprovenField { .. })
            ),
            "{err:#}"
        );
    }

    // Bytes after the proof: refused natively as the on-chain verifier refuses them.
    let random: Vec<u8> = (0..100u32).map(|i| (i * 151 + 7) as u8).collect();
    for (extra, needle) in [
        (
            &[0u8; 32][..],
            "proof rejected: 32 byte(s) after the end of the proof",
        ),
        (
            &random[..],
            "proof rejected: 100 byte(s) after the end of the proof",
        ),
    ] {
        tamper_json(&proof, &edited, |v| with_trailing_bytes(v, extra));
        assert_one_line_error(&snarkml(&["verify", b, edited.to_str().unwrap()]), needle);
        common::assert_evm_refuses(&artifacts, &edited);
    }
}

#[test]
fn demo_runs_the_whole_pipeline_on_a_local_chain() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let out = snarkml(&["demo", "--dir", tmp.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "compile",
        "srs gen",
        "setup",
        "prove",
        "verify",
        "gen-verifier",
        "start anvil",
        "deploy",
        "verify-onchain",
    ] {
        assert!(stdout.contains(step), "step {step} missing from:\n{stdout}");
    }
    assert!(stdout.contains("accepted, gas used"), "{stdout}");
    assert!(stdout.contains("predicted digit 2"), "{stdout}");

    // With --json: one object, the same nine steps.
    let dir = tmp.path().join("json");
    let report = common::json(&common::ok(snarkml(&[
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--json",
    ])));
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps.len(), 9, "{report}");
    assert_eq!(steps[8], "verify-onchain");
    assert_eq!(report["predicted_digit"], 2);
    assert!(report["gas_used"].as_u64().unwrap() > 21_000, "{report}");
}

/// Output into a pipe whose reader is gone (`snarkml … | head` after `head` exits) ends the
/// command by SIGPIPE, as any Unix tool, never with a panic message.
#[test]
fn output_into_a_closed_pipe_ends_quietly_without_a_panic() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let dev = tmp.path().join("dev.bin");
    ok(snarkml(&[
        "srs",
        "gen",
        "--k",
        "5",
        "-o",
        dev.to_str().unwrap(),
    ]));
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe` writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just opened by `pipe` and are owned here alone.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snarkml"))
        .args(["srs", "info", dev.to_str().unwrap(), "--json"])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn srs_commands_generate_import_and_describe() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = tmp.path().join("dev.bin");
    let out = snarkml(&[
        "srs",
        "gen",
        "--k",
        "5",
        "-o",
        dev.to_str().unwrap(),
        "--seed",
        "3",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("WARNING: this is a development SRS"));
    let out = snarkml(&["srs", "info", dev.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("k = 5, development (INSECURE"));

    let ptau = tmp.path().join("c.ptau");
    let mut ceremony = Vec::new();
    snarkml_circuits::ptau::write_insecure(&mut ceremony, snarkml_circuits::Fr::from(77u64), 6)
        .unwrap();
    std::fs::write(&ptau, ceremony).unwrap();
    let imported = tmp.path().join("imported.bin");
    let out = snarkml(&[
        "srs",
        "import",
        ptau.to_str().unwrap(),
        "--k",
        "5",
        "-o",
        imported.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("pairing check passed"));
    let out = snarkml(&["srs", "info", imported.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("k = 5, ceremony"));

    let out = snarkml(&[
        "srs",
        "import",
        ptau.to_str().unwrap(),
        "--k",
        "7",
        "-o",
        imported.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "2^6 powers, 2^7 are needed");
    let out = snarkml(&["srs", "info", ptau.to_str().unwrap()]);
    assert_one_line_error(&out, "not a snarkml SRS file");
}

#[test]
fn transformer_block_compiles_runs_mocks_and_profiles_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("build");
    let b = b.to_str().unwrap();
    let corpus = |f: &str| repo(&format!("tests/fixtures/corpus/transformer_block.{f}"));
    let (model, calibration, input) = (
        corpus("onnx"),
        corpus("calibration.json"),
        corpus("input.json"),
    );
    let ok = |out: Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = ok(snarkml(&[
        "compile",
        model.to_str().unwrap(),
        "-o",
        b,
        "--calibration",
        calibration.to_str().unwrap(),
    ]));
    assert!(
        text.contains("% mean") && text.contains("% on the worst sample"),
        "{text}"
    );

    // The dequantized outputs of our quantized execution: the classifier's three logits,
    // close to onnxruntime's.
    let run: serde_json::Value = serde_json::from_str(&ok(snarkml(&[
        "run",
        b,
        "--input",
        input.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(corpus("expected.json")).unwrap()).unwrap();
    let ours = run["outputs"][0]["values"]
        .as_array()
        .expect("outputs[0].values");
    let want = expected["output_data"][0].as_array().unwrap();
    assert_eq!(ours.len(), want.len());
    for (o, w) in ours.iter().zip(want) {
        assert!(
            (o.as_f64().unwrap() - w.as_f64().unwrap()).abs() < 0.05,
            "{o} vs {w}"
        );
    }

    let text = ok(snarkml(&["mock", b, "--input", input.to_str().unwrap()]));
    assert!(text.contains("satisfied"), "{text}");
    let profile: serde_json::Value =
        serde_json::from_str(&ok(snarkml(&["profile", b, "--json"]))).unwrap();
    let text = profile.to_string();
    for kind in ["linear", "non-linear", "shape"] {
        assert!(text.contains(kind), "{kind} missing from {text}");
    }
    let total = profile["predicted_prove_s"].as_f64().unwrap();
    let layers: f64 = profile["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["predicted_s"].as_f64().unwrap())
        .sum();
    assert!(
        total > 0.0 && layers > 0.0 && layers <= total,
        "{layers} of {total}"
    );
}

#[test]
fn bench_json_reports_the_single_proof_figures() {
    let model = repo("tests/fixtures/relu3.onnx");
    let input = repo("tests/fixtures/relu3.input.json");
    let out = snarkml(&[
        "bench",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--calibration",
        input.to_str().unwrap(),
        "--runs",
        "1",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let figures: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    // k is the smallest that holds both the layout and the lookup table it reports.
    let (rows, table) = (
        figures["rows"].as_u64().unwrap() as usize,
        figures["table_rows"].as_u64().unwrap() as usize,
    );
    assert_eq!(
        figures["k"],
        snarkml_circuits::model::min_k(rows, table),
        "{figures}"
    );
    assert!(figures["proof_bytes"].as_u64().unwrap() > 1000);
    for key in ["setup_s", "prove_s", "verify_s", "peak_rss_mib"] {
        assert!(figures[key].as_f64().unwrap() > 0.0, "{key}: {figures}");
    }
    assert!(figures["verify_gas"].is_null(), "no --evm, no gas");
}

#[test]
fn compile_optimize_chooses_a_layout_within_the_budget_or_says_none_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("build");
    let b = b.to_str().unwrap();
    let model = repo("tests/fixtures/corpus/attention_head.onnx");
    let calibration = repo("tests/fixtures/corpus/attention_head.calibration.json");
    let (m, c) = (model.to_str().unwrap(), calibration.to_str().unwrap());
    let out = snarkml(&["compile", m, "-o", b, "--calibration", c, "--optimize"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let chosen: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("chosen: width "))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("a chosen width");
    let compiled: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("build/model.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        compiled["layout"]["width"], chosen,
        "the build has the chosen layout"
    );
    // Our generated verifier stays under EIP-170 at every width (its numerator becomes a
    // loop before the limit): no layout is ruled out for its verifier.
    assert!(text.contains("verifier (est.)"), "{text}");
    assert!(!text.contains("over the EVM limit"), "{text}");

    let out = snarkml(&[
        "compile",
        m,
        "-o",
        b,
        "--calibration",
        c,
        "--optimize",
        "--max-memory",
        "1MiB",
    ]);
    assert_one_line_error(&out, "no layout fits the memory budget");
    let out = snarkml(&["compile", m, "-o", b, "--optimize", "--max-memory", "lots"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a size"));
}

#[test]
fn a_development_srs_with_its_flag_cleared_is_still_one_and_refused_on_chain_1() {
    let tmp = tempfile::tempdir().unwrap();
    let build = tmp.path().join("build");
    let b = build.to_str().unwrap();
    let model = repo("tests/fixtures/relu3.onnx");
    let input = repo("tests/fixtures/relu3.input.json");
    ok(snarkml(&[
        "compile",
        model.to_str().unwrap(),
        "-o",
        b,
        "--calibration",
        input.to_str().unwrap(),
    ]));
    let compiled: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(build.join("model.json")).unwrap()).unwrap();
    let k = compiled["layout"]["k"].as_u64().unwrap().to_string();

    // A development SRS whose header's insecure flag (byte 9) is cleared.
    let srs = tmp.path().join("dev.bin");
    let s = srs.to_str().unwrap();
    ok(snarkml(&["srs", "gen", "--k", &k, "-o", s, "--seed", "3"]));
    let mut data = std::fs::read(&srs).unwrap();
    assert_eq!(data[9], 1);
    data[9] = 0;
    std::fs::write(&srs, &data).unwrap();
    let info = ok(snarkml(&["srs", "info", s]));
    assert!(
        info.contains(&format!(
            "k = {k}, development (INSECURE: secret known, seed 3)"
        )),
        "{info}"
    );

    // Setup records it; deploy looks at the build's SRS points even when setup.json is edited.
    ok(snarkml(&["setup", b, "--srs", s]));
    let setup = build.join("setup.json");
    tamper_json(&setup, &setup, |v| {
        assert_eq!(v["srs_insecure"], true);
        v["srs_insecure"] = false.into();
    });

    // A chain on 127.0.0.1 that says it is chain 1 (mainnet's id) is not a local anvil.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let anvil = rt
        .block_on(snarkml::chain::LocalAnvil::start_with_chain_id(1))
        .unwrap();
    let out = snarkml(&["deploy", b, "--rpc-url", anvil.url()]);
    assert_one_line_error(
        &out,
        &format!(
            "refusing to deploy to {}: its chain id is 1, not a local anvil's 31337, and the keys come from a development SRS whose secret is known",
            anvil.url()
        ),
    );
    // --insecure-srs takes it past the refusal (to the next step this build lacks).
    let out = snarkml(&["deploy", b, "--rpc-url", anvil.url(), "--insecure-srs"]);
    assert_one_line_error(&out, "run `snarkml gen-verifier` first");
    anvil.stop();

    // Seeds past the development ones, which would not be recognised, are not accepted.
    let out = snarkml(&["srs", "gen", "--k", "4", "-o", s, "--seed", "256"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid value '256' for '--seed <SEED>'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(unix)]
#[test]
fn market_keygen_writes_an_owner_only_key_and_never_through_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("buyer.key.json");
    ok(snarkml(&["market", "keygen", "-o", key.to_str().unwrap()]));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // A dangling link where the key would go: refused, and nothing is created at its target.
    let target = tmp.path().join("elsewhere.json");
    let link = tmp.path().join("link.key.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_one_line_error(
        &snarkml(&["market", "keygen", "-o", link.to_str().unwrap()]),
        &format!(
            "refusing to write a secret to {}: it is a symbolic link",
            link.display()
        ),
    );
    assert!(!target.exists());
}
