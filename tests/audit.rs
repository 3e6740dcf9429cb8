//! Accuracy audits through the CLI: the dataset commitment of the shipped digits test split,
//! the Hoeffding sample size, and audit bounties on anvil — opened, refused when a claim does
//! not match the bounty or its proof does not verify, reclaimed after the deadline.

mod common;

use common::{
    advance, assert_one_line_error, json, linear_build, ok, repo, snarkml, toolchain_on_path,
    TestChain,
};
use snarkml::artifacts::BuildDir;
use snarkml::chain::escrow;
use snarkml::pipeline;
use snarkml::stored::Stored;
use snarkml_circuits::audit::{self, Dataset};
use snarkml_circuits::fixed_point::field_to_hex;
use snarkml_circuits::quantize::CompiledModel;
use snarkml_circuits::Fr;
use std::path::Path;

/// Anvil's third default account: the sponsor.
const SPONSOR_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

#[test]
fn digits_dataset_commitment_and_counts_match_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("build");
    let b = b.to_str().unwrap();
    let onnx = repo("models/digits_mlp/model.onnx");
    let calibration = repo("models/digits_mlp/calibration.json");
    ok(snarkml(&[
        "compile",
        onnx.to_str().unwrap(),
        "-o",
        b,
        "--calibration",
        calibration.to_str().unwrap(),
        "--weights",
        "hashed",
    ]));
    let data = repo("models/digits_test.json");
    let out = json(&ok(snarkml(&[
        "audit",
        "commit-dataset",
        data.to_str().unwrap(),
        "--build",
        b,
        "--json",
    ])));

    let model = CompiledModel::load(&BuildDir::new(b).model()).unwrap();
    let dataset = Dataset::load(&data).unwrap();
    let samples = dataset.quantize(&model).unwrap();
    assert_eq!(samples.len(), 450);
    assert_eq!(out["samples"], 450);
    // The commitment is the hash chain computed step by step.
    let mut h = audit::CHAIN_START;
    for (x, label) in &samples {
        h = audit::chain_step(h, x, *label, model.inputs[0].pack_bits);
    }
    assert_eq!(out["commitment"], field_to_hex(&h));
    // The quantized count is the reference execution's, and close to float inference's.
    let quantized = audit::correct_count(&model, &samples).unwrap();
    assert_eq!(out["quantized_correct"], quantized);
    let reference = snarkml_circuits::model::onnx::FloatReference::new(
        &std::fs::read(&onnx).unwrap(),
        &[vec![1, 64]],
    )
    .unwrap();
    let float_correct = dataset
        .inputs
        .iter()
        .zip(&dataset.labels)
        .filter(|(x, label)| {
            let logits = reference.run(&[x.to_vec()]).unwrap().remove(0);
            let best = logits
                .iter()
                .enumerate()
                .fold(0, |b, (i, v)| if *v > logits[b] { i } else { b });
            best == **label as usize
        })
        .count();
    println!("digits test split: float {float_correct}/450, quantized {quantized}/450");
    assert!(
        quantized.abs_diff(float_correct) <= 5,
        "quantized {quantized} vs float {float_correct}"
    );

    let out = json(&ok(snarkml(&[
        "audit",
        "sample-size",
        "--epsilon",
        "0.01",
        "--confidence",
        "0.9",
        "--json",
    ])));
    assert_eq!(out["samples"], 14_979);
    assert_one_line_error(
        &snarkml(&[
            "audit",
            "sample-size",
            "--epsilon",
            "0",
            "--confidence",
            "0.9",
        ]),
        "epsilon 0 is not in (0, 1)",
    );
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, r#"{"inputs": [[0.5]], "labels": [1, 2]}"#).unwrap();
    assert_one_line_error(
        &snarkml(&[
            "audit",
            "commit-dataset",
            bad.to_str().unwrap(),
            "--build",
            b,
        ]),
        "1 inputs but 2 labels",
    );
}

/// An aggregated proof file for an audit (12 accumulator limbs, then C_W, h_0, C_D, n,
/// correct) whose proof bytes are not a proof.
fn fake_audit_proof(path: &Path, values: [Fr; 5]) {
    let instances: Vec<String> = (0..12u64)
        .map(Fr::from)
        .chain(values)
        .map(|f| field_to_hex(&f))
        .collect();
    let file = serde_json::json!({
        "format": "snarkml-aggregated-proof/1",
        "vk_hash": "00",
        "srs_id": "00",
        "transcript": "keccak256",
        "proof": format!("0x{}", "ab".repeat(64)),
        "instances": instances,
        "expose": "equal:0,chain:1:2,sum:3,sum:4",
        "exposed": instances[12..].to_vec(),
        "inner": [],
    });
    std::fs::write(path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
}

#[test]
fn bounties_open_refuse_mismatched_claims_and_reclaim_after_the_deadline() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p);
    let build_dir = t("build");
    let model = linear_build(&build_dir, "public", "public", &["--weights", "hashed"]);
    let fixed_dir = t("fixed");
    linear_build(&fixed_dir, "public", "public", &[]);
    let (b, fixed) = (build_dir.to_str().unwrap(), fixed_dir.to_str().unwrap());
    // A three-class dataset for the linear model.
    let data = t("data.json");
    std::fs::write(
        &data,
        r#"{"inputs": [[0.5, -1.0, 1.5, 2.0], [1.0, 0.0, -0.5, 0.25]], "labels": [1, 0]}"#,
    )
    .unwrap();

    let chain = TestChain::start();
    let with = |args: &[&str], extra: &[&str]| chain.cli(args, extra);
    for d in [b, fixed] {
        let generated = format!("{d}/generated");
        ok(snarkml(&["gen-verifier", d, "-o", &generated]));
        ok(with(&["deploy", d], &[]));
    }
    let contracts = json(&ok(with(&["contracts", "deploy", "--json"], &[])));
    let registry = contracts["registry"].as_str().unwrap().to_owned();
    let bounty_addr = contracts["bounty"].as_str().unwrap().to_owned();
    for d in [b, fixed] {
        ok(with(
            &["model", "register", d, "--registry", &registry],
            &[],
        ));
    }
    // The audit verifier: a stand-in with an aggregated audit proof's 17 instances that
    // refuses every proof will do for claims that must be refused (opened with
    // --unchecked-verifier, as no aggregation exists here).
    let verifier =
        common::deploy_liar_verifier(&chain.rt, &chain.cfg, [7; 32], 17, false).to_string();
    // A verifier with another instance count is refused by the contract itself.
    let inference: snarkml::artifacts::Deployment =
        snarkml::artifacts::read_json(&BuildDir::new(b).deployment()).unwrap();

    let sponsor = [
        "--private-key",
        SPONSOR_KEY,
        "--bounty",
        bounty_addr.as_str(),
    ];
    let data_s = data.to_str().unwrap();
    let open_with = |model_id: &str, verifier: &str, ttl: &str| {
        let build = if model_id == "2" { fixed } else { b };
        let args = [
            "bounty",
            "open",
            "--model",
            model_id,
            "--verifier",
            verifier,
            "--unchecked-verifier",
            "--build",
            build,
            "--dataset",
            data_s,
            "--threshold",
            "50%",
            "--reward",
            "1ether",
            "--ttl",
            ttl,
            "--json",
        ];
        with(&args, &sponsor)
    };
    let open = |model_id: &str, ttl: &str| open_with(model_id, &verifier, ttl);
    assert_one_line_error(
        &open_with("1", &inference.verifier, "600"),
        "public instances, not an aggregated audit proof's 17",
    );
    let opened = json(&ok(open("1", "600")));
    assert_eq!(opened["id"], 1);
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["samples"], 2);
    assert_eq!(opened["threshold"], "50/100");
    let samples = Dataset::load(&data).unwrap().quantize(&model).unwrap();
    let cd = audit::dataset_commitment(&model, &samples);
    assert_eq!(
        opened["dataset_commitment"],
        snarkml_circuits::fixed_point::field_to_hex(&cd)
    );
    assert_one_line_error(&open("2", "600"), "has no weights commitment");

    let cw = model.weights_commitment().unwrap().unwrap();
    let claim = |values: [Fr; 5]| {
        let proof = t("claim.json");
        fake_audit_proof(&proof, values);
        with(
            &["bounty", "claim", "1", proof.to_str().unwrap()],
            &["--bounty", &bounty_addr],
        )
    };
    let (zero, two) = (Fr::zero(), Fr::from(2));
    assert_one_line_error(
        &claim([cw + Fr::one(), zero, cd, two, two]),
        "proves weights commitment",
    );
    assert_one_line_error(
        &claim([cw, zero, cd + Fr::one(), two, two]),
        "is not over bounty 1's dataset",
    );
    assert_one_line_error(
        &claim([cw, Fr::one(), cd, two, two]),
        "is not over bounty 1's dataset",
    );
    assert_one_line_error(
        &claim([cw, zero, cd, Fr::one(), Fr::one()]),
        "counts 1 samples",
    );
    assert_one_line_error(
        &claim([cw, zero, cd, two, zero]),
        "below bounty 1's threshold 50/100",
    );
    // Everything matches but the proof: the audit verifier refuses it on-chain.
    assert_one_line_error(
        &claim([cw, zero, cd, two, Fr::one()]),
        "the audit verifier rejected the proof for bounty 1",
    );

    assert_one_line_error(
        &with(&["bounty", "reclaim", "1"], &["--bounty", &bounty_addr]),
        "it can be reclaimed only after that",
    );
    advance(chain.url(), 700);
    assert_one_line_error(&claim([cw, zero, cd, two, two]), "bounty 1 expired");
    ok(with(
        &["bounty", "reclaim", "1"],
        &["--bounty", &bounty_addr],
    ));
    let shown = json(&ok(with(
        &["bounty", "show", "1", "--json"],
        &["--bounty", &bounty_addr],
    )));
    assert_eq!(shown["status"], "reclaimed");
    assert_one_line_error(
        &claim([cw, zero, cd, two, two]),
        "bounty 1 is already reclaimed",
    );
    let back = json(&ok(with(&["bounty", "withdraw", "--json"], &sponsor)));
    assert_eq!(back["withdrawn_wei"], "1000000000000000000");
    let bounty_address = pipeline::parse_address(&bounty_addr).unwrap();
    assert_eq!(
        chain
            .rt
            .block_on(escrow::balance(&chain.cfg, bounty_address))
            .unwrap(),
        alloy::primitives::U256::ZERO
    );
    assert_one_line_error(
        &with(&["bounty", "show", "9"], &["--bounty", &bounty_addr]),
        "there is no bounty 9",
    );
    let args = [
        "bounty",
        "open",
        "--model",
        "1",
        "--verifier",
        &verifier,
        "--unchecked-verifier",
        "--build",
        b,
        "--dataset",
        data_s,
        "--threshold",
        "1.5",
        "--reward",
        "1",
    ];
    assert_one_line_error(&with(&args, &sponsor), "invalid threshold `1.5`");
}

#[test]
fn planned_chunks_are_proven_once_and_reruns_skip_valid_proofs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p).to_str().unwrap().to_owned();
    let b = t("build");
    common::digits_build(Path::new(&b));
    let data = t("data.json");
    common::digits_subset(Path::new(&data), 4, |_, l| l);
    let plan_path = t("plan.json");
    let planned = json(&ok(snarkml(&[
        "audit",
        "plan",
        "--build",
        &b,
        "--dataset",
        &data,
        "--chunk-size",
        "2",
        "-o",
        &plan_path,
        "--json",
    ])));
    assert_eq!(planned["chunks"], 2);
    let committed = json(&ok(snarkml(&[
        "audit",
        "commit-dataset",
        &data,
        "--build",
        &b,
        "--json",
    ])));
    assert_eq!(planned["dataset_commitment"], committed["commitment"]);
    let plan = pipeline::audit_proof::load_plan(Path::new(&plan_path)).unwrap();
    assert_eq!(plan.chunks[0].h_out, plan.chunks[1].h_in, "chunks chain");
    assert_eq!(plan.chunks[1].h_out, plan.dataset_commitment);

    let model = CompiledModel::load(&BuildDir::new(&b).model()).unwrap();
    let k = snarkml_circuits::audit::chunk::chunk_k(&model, 2).unwrap();
    let srs = common::cached_srs(k);
    let (audit_dir, cache) = (t("audit"), t("cache"));
    // `audit prove --plan` into the audit directory, with `extra` arguments.
    let audit_prove = |extra: &[&str]| {
        let srs = srs.to_str().unwrap();
        let mut args = vec!["audit", "prove", "--plan", &plan_path, "--srs", srs];
        args.extend(["-o", &audit_dir, "--cache-dir", &cache]);
        args.extend_from_slice(extra);
        snarkml(&args)
    };
    let prove = |extra: &[&str]| {
        let mut args = vec!["--chunk", "1", "--json"];
        args.extend_from_slice(extra);
        let out = json(&ok(audit_prove(&args)));
        assert_eq!(out["chunks"][0]["chunk"], 1);
        out["chunks"][0]["skipped"].as_bool().unwrap()
    };
    assert!(!prove(&[]), "the first run proves chunk 1");
    let proof = pipeline::audit_proof::chunk_path(Path::new(&audit_dir), 1);
    let first = std::fs::read(&proof).unwrap();
    assert!(prove(&[]), "a rerun skips the valid proof");
    assert_eq!(
        std::fs::read(&proof).unwrap(),
        first,
        "and leaves it as it was"
    );
    assert!(!prove(&["--force"]), "--force proves again");
    // A damaged proof file is not a finished chunk: it is proven again.
    common::tamper_json(&proof, &proof, common::flip_proof_byte);
    assert!(!prove(&[]), "an invalid proof is replaced");
    assert!(prove(&[]));

    // The plan refuses another dataset (one label changed) and another build.
    let other = t("other.json");
    common::digits_subset(
        Path::new(&other),
        4,
        |i, l| if i == 3 { (l + 1) % 10 } else { l },
    );
    assert_one_line_error(
        &audit_prove(&["--dataset", &other]),
        "not the one the plan was made with",
    );
    let other_build = t("other-build");
    common::digits_build(Path::new(&other_build));
    assert_one_line_error(
        &audit_prove(&["--build", &other_build]),
        "model.json is not the one the plan was made with",
    );
}

#[test]
fn audit_plan_without_a_chunk_size_takes_the_fastest_predicted_one_that_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p).to_str().unwrap().to_owned();
    let b = t("build");
    common::digits_build(Path::new(&b));
    let data = t("data.json");
    common::digits_subset(Path::new(&data), 6, |_, l| l);
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            "plan",
            "--build",
            &b,
            "--dataset",
            &data,
            "-o",
            "PLAN",
        ];
        let path = t("plan.json");
        args[7] = &path;
        args.extend_from_slice(extra);
        snarkml(&args)
    };
    let one = json(&ok(plan(&["--json"])));
    let options = one["options"].as_array().unwrap();
    // Sizes 1, 2, 4 and the whole dataset, each priced.
    let sizes: Vec<u64> = options
        .iter()
        .map(|o| o["chunk_size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [1, 2, 4, 6], "{one}");
    let total = |o: &serde_json::Value| o["total_s"].as_f64().unwrap();
    let best = options
        .iter()
        .min_by(|a, b| total(a).total_cmp(&total(b)))
        .unwrap();
    assert_eq!(one["chunk_size"], best["chunk_size"], "{one}");
    assert_eq!(
        one["chunks"].as_u64().unwrap(),
        6u64.div_ceil(best["chunk_size"].as_u64().unwrap())
    );
    // One machine proves the chunks one after another; 8 machines prove these (at most 6)
    // at once. Either way the aggregation follows.
    let f = |o: &serde_json::Value, k: &str| o[k].as_f64().unwrap();
    for o in options {
        let serial = f(o, "chunks") * f(o, "chunk_prove_s") + f(o, "aggregate_s");
        assert!((total(o) - serial).abs() < 1e-6, "{o}");
    }
    let many = json(&ok(plan(&["--machines", "8", "--json"])));
    for o in many["options"].as_array().unwrap() {
        let parallel = f(o, "chunk_prove_s") + f(o, "aggregate_s");
        assert!((total(o) - parallel).abs() < 1e-6, "{o}");
    }
    // A budget no chunk fits is refused, saying so.
    assert_one_line_error(
        &plan(&["--max-memory", "1MiB"]),
        "no chunk size fits --max-memory",
    );
    // The human form shows the table and the choice.
    let text = ok(plan(&[]));
    assert!(text.contains("<- chosen"), "{text}");
}
