//! Input and output visibility end to end: hashed inputs and outputs become Poseidon
//! commitments in the proof's public instances, verified natively and in the EVM.

mod common;

use common::{
    assert_one_line_error, flip_proof_byte, linear_build, ok, repo, snarkml, tamper_json,
    toolchain_on_path,
};
use snarkml::artifacts::BuildDir;
use snarkml::pipeline;
use snarkml::stored::Stored;
use snarkml_circuits::fixed_point::{field_from_hex, field_to_hex};
use snarkml_circuits::io::{commit_quantized, OpeningsFile, ProofFile};
use snarkml_circuits::quantize::{CompiledModel, Visibility};
use snarkml_circuits::Fr;
use std::path::Path;

/// Compiles and sets up the `linear` fixture with the given visibilities.
fn build(dir: &Path, inputs: &str, outputs: &str) -> CompiledModel {
    linear_build(&dir.join("build"), inputs, outputs, &[])
}

/// Proves `input` with the build `b` into `dir/proof.json` and verifies it, through the CLI.
fn prove_and_verify(dir: &Path, b: &str, input: &Path) -> (std::path::PathBuf, ProofFile) {
    let proof = dir.join("proof.json");
    let (i, p) = (input.to_str().unwrap(), proof.to_str().unwrap());
    ok(snarkml(&["prove", b, "--input", i, "-o", p]));
    ok(snarkml(&["verify", b, p]));
    let file = ProofFile::load(&proof).unwrap();
    (proof, file)
}

#[test]
fn hashed_input_and_output_are_committed_verified_and_tampering_is_rejected() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let model = build(tmp.path(), "hashed", "hashed");
    assert_eq!(model.inputs[0].visibility, Visibility::Hashed);
    let input_name = model.tensors[model.inputs[0].tensor].name.clone();

    // The requester's salt for the input; the output gets a fresh random one.
    let input = tmp.path().join("input.json");
    std::fs::write(
        &input,
        format!(
            r#"{{"input_data": [[0.5, -1.0, 1.5, 2.0]], "salts": {{"{input_name}": "12345"}}}}"#
        ),
    )
    .unwrap();
    let proof = tmp.path().join("proof.json");
    let b = tmp.path().join("build");
    let b = b.to_str().unwrap();
    ok(snarkml(&[
        "prove",
        b,
        "--input",
        input.to_str().unwrap(),
        "-o",
        proof.to_str().unwrap(),
    ]));
    ok(snarkml(&["verify", b, proof.to_str().unwrap()]));

    // The proof file shows commitments only; the openings file opens them.
    let file = ProofFile::load(&proof).unwrap();
    assert_eq!(file.instances.len(), 2);
    assert!(file.inputs[0].quantized.is_empty() && file.outputs[0].quantized.is_empty());
    let quantized = model.quantize_inputs(&[vec![0.5, -1.0, 1.5, 2.0]]).unwrap();
    let expected = commit_quantized(&quantized[0], Fr::from(12345));
    assert_eq!(
        file.inputs[0].commitment.as_deref(),
        Some(field_to_hex(&expected).as_str())
    );
    let openings = OpeningsFile::load(&pipeline::openings_path(&proof)).unwrap();
    assert_eq!(openings.openings.len(), 2);
    assert_eq!(openings.openings[0].quantized, quantized[0]);
    let outputs = snarkml_circuits::exec::run(&model, &quantized)
        .unwrap()
        .outputs(&model);
    assert_eq!(openings.openings[1].quantized, outputs[0]);
    assert_eq!(
        Some(openings.openings[1].commitment.as_str()),
        file.outputs[0].commitment.as_deref()
    );

    // In the EVM too.
    let build = BuildDir::new(b);
    pipeline::gen_verifier(
        &build,
        &tmp.path().join("generated"),
        snarkml_verifier_gen::VerifierForm::SelfContained,
    )
    .unwrap();
    pipeline::evm_verify(&build, &proof).unwrap();

    // Another input commitment (file and instances agree, only the proof can object).
    let other = tmp.path().join("other.json");
    tamper_json(&proof, &other, |v| {
        let c = field_to_hex(&commit_quantized(&quantized[0], Fr::from(12346)));
        v["inputs"][0]["commitment"] = c.clone().into();
        v["instances"][0] = c.into();
    });
    let out = snarkml(&["verify", b, other.to_str().unwrap()]);
    assert_one_line_error(&out, "proof rejected");
    common::assert_evm_refuses(&build, &other);
    let flipped = tmp.path().join("flipped.json");
    tamper_json(&proof, &flipped, flip_proof_byte);
    assert_one_line_error(
        &snarkml(&["verify", b, flipped.to_str().unwrap()]),
        "proof rejected",
    );

    // A proof file that shows a hashed tensor's values, or a commitment that disagrees with
    // the instances, is refused as edited.
    let shown = tmp.path().join("shown.json");
    tamper_json(&proof, &shown, |v| {
        v["inputs"][0]["quantized"] = vec![1, 2, 3, 4].into()
    });
    assert_one_line_error(
        &snarkml(&["verify", b, shown.to_str().unwrap()]),
        "shows its values",
    );
    let edited = tmp.path().join("edited.json");
    tamper_json(&proof, &edited, |v| {
        v["inputs"][0]["commitment"] = field_to_hex(&Fr::from(7)).into()
    });
    assert_one_line_error(
        &snarkml(&["verify", b, edited.to_str().unwrap()]),
        "do not match the proof's public instances",
    );

    // An opening that does not open its commitment is refused.
    let bad_opening = tmp.path().join("bad.openings.json");
    tamper_json(&pipeline::openings_path(&proof), &bad_opening, |v| {
        v["openings"][0]["quantized"][0] = 99.into()
    });
    let err = OpeningsFile::load(&bad_opening).unwrap_err().to_string();
    assert!(err.contains("do not open the commitment"), "{err}");
    assert!(field_from_hex(&openings.openings[0].salt).is_some());
}

#[test]
fn private_output_is_not_revealed_and_bad_salts_are_refused_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let model = build(tmp.path(), "public", "private");
    assert_eq!(model.num_instances(), 1, "the packed public input only");
    let b = tmp.path().join("build");
    let b = b.to_str().unwrap();
    let input = repo("tests/fixtures/linear.input.json");
    let (proof, file) = prove_and_verify(tmp.path(), b, &input);
    assert!(file.outputs[0].quantized.is_empty() && file.outputs[0].values.is_empty());
    assert!(
        !pipeline::openings_path(&proof).exists(),
        "nothing is hashed"
    );

    let salted = tmp.path().join("salted.json");
    std::fs::write(
        &salted,
        r#"{"input_data": [[0.5, -1.0, 1.5, 2.0]], "salts": {"nope": "1"}}"#,
    )
    .unwrap();
    let out = snarkml(&["prove", b, "--input", salted.to_str().unwrap()]);
    assert_one_line_error(&out, "not a hashed input or output");

    let hashed = build(&tmp.path().join("h"), "hashed", "public");
    let name = &hashed.tensors[hashed.inputs[0].tensor].name;
    let hb = tmp.path().join("h/build");
    std::fs::write(
        &salted,
        format!(r#"{{"input_data": [[0.5, -1.0, 1.5, 2.0]], "salts": {{"{name}": "0xzz"}}}}"#),
    )
    .unwrap();
    let out = snarkml(&[
        "prove",
        hb.to_str().unwrap(),
        "--input",
        salted.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "is not a field element");

    let out = snarkml(&["compile", "x.onnx", "--inputs", "secret"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown visibility `secret`"));
}

#[test]
fn hashed_weights_are_committed_and_verified_natively_and_in_the_evm() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("build");
    let model = linear_build(
        &dir,
        "public",
        "public",
        &["--weights", "hashed", "--weights-salt", "5"],
    );
    assert_eq!(model.weights, Visibility::Hashed);
    let commitment = snarkml_circuits::poseidon::hash(&model.weights_message(Fr::from(5)));
    assert_eq!(model.weights_commitment().unwrap(), Some(commitment));

    let b = dir.to_str().unwrap();
    let input = repo("tests/fixtures/linear.input.json");
    let (proof, file) = prove_and_verify(tmp.path(), b, &input);
    assert_eq!(file.weights_commitment, Some(field_to_hex(&commitment)));
    assert_eq!(file.instances.last(), file.weights_commitment.as_ref());

    let build = BuildDir::new(b);
    pipeline::gen_verifier(
        &build,
        &tmp.path().join("generated"),
        snarkml_verifier_gen::VerifierForm::SelfContained,
    )
    .unwrap();
    pipeline::evm_verify(&build, &proof).unwrap();

    // Claiming another commitment (file and instances agree) is rejected by the proof.
    let other = tmp.path().join("other.json");
    tamper_json(&proof, &other, |v| {
        let c = field_to_hex(&snarkml_circuits::poseidon::hash(
            &model.weights_message(Fr::from(6)),
        ));
        v["weights_commitment"] = c.clone().into();
        let last = v["instances"].as_array().unwrap().len() - 1;
        v["instances"][last] = c.into();
    });
    assert_one_line_error(
        &snarkml(&["verify", b, other.to_str().unwrap()]),
        "proof rejected",
    );
    common::assert_evm_refuses(&build, &other);

    let onnx = repo("tests/fixtures/linear.onnx");
    let out_dir = tmp.path().join("public");
    let out = snarkml(&[
        "compile",
        onnx.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
        "--calibration",
        input.to_str().unwrap(),
        "--weights",
        "public",
    ]);
    assert_one_line_error(&out, "weights are fixed, private or hashed");
}

#[cfg(unix)]
#[test]
fn hashed_weights_model_and_openings_are_written_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("build");
    linear_build(&dir, "hashed", "public", &["--weights", "hashed"]);
    // model.json holds the weights and their salt.
    assert_eq!(mode(&BuildDir::new(&dir).model()), 0o600);

    let proof = tmp.path().join("proof.json");
    let input = repo("tests/fixtures/linear.input.json");
    ok(snarkml(&[
        "prove",
        dir.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "-o",
        proof.to_str().unwrap(),
    ]));
    // The openings hold the input's values and salt.
    let openings = pipeline::openings_path(&proof);
    assert_eq!(mode(&openings), 0o600);
    assert_eq!(OpeningsFile::load(&openings).unwrap().openings.len(), 1);
}

/// README "Visibility", replayed as written: the digits MLP with its weights committed.
#[test]
fn the_readme_visibility_block_runs_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = common::replay_readme_block("## Visibility", tmp.path(), None);
    assert_eq!(ran, 1);
    let model = CompiledModel::load(&BuildDir::new(tmp.path().join("build")).model()).unwrap();
    assert!(model.weights_commitment().unwrap().is_some());
}
