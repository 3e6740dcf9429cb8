//! The spine end to end through the library API: ONNX → proof → Solidity verifier → anvil.

mod common;

use common::{
    assert_one_line_error, cached_srs, flip_proof_byte, json, local_chain, ok, repo, snarkml,
    tamper_json, toolchain_on_path,
};
use snarkml::artifacts::BuildDir;
use snarkml::chain::{ChainConfig, ANVIL_DEFAULT_KEY};
use snarkml::pipeline;
use snarkml::stored::Stored;
use snarkml_circuits::prover::Transcript;
use snarkml_circuits::quantize::CompileOptions;
use snarkml_verifier_gen::{VerifierForm, MAX_RUNTIME_SIZE};
use std::path::Path;

/// A different public output: the first logit plus one unit, in the shown value, the quantized
/// value and the packed instances alike (so the file is self-consistent and only the proof can
/// object).
fn change_output(v: &mut serde_json::Value) {
    let q = v["outputs"][0]["quantized"][0].as_i64().unwrap() + 1;
    v["outputs"][0]["quantized"][0] = q.into();
    let bits = v["outputs"][0]["scale_bits"].as_u64().unwrap() as u32;
    v["outputs"][0]["values"][0] = snarkml_circuits::fixed_point::dequantize(q, bits).into();
    let mut instances = Vec::new();
    for key in ["inputs", "outputs"] {
        for t in v[key].as_array().unwrap() {
            let values: Vec<i64> = serde_json::from_value(t["quantized"].clone()).unwrap();
            let bits = t["pack_bits"].as_u64().unwrap() as u32;
            for f in snarkml_circuits::fixed_point::pack(&values, bits) {
                instances.push(serde_json::Value::from(
                    snarkml_circuits::fixed_point::field_to_hex(&f),
                ));
            }
        }
    }
    v["instances"] = instances.into();
}

#[test]
fn digits_mlp_proof_verifies_natively_in_revm_and_on_anvil_and_tampering_is_rejected() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let build = BuildDir::create(tmp.path().join("build")).unwrap();
    let model = pipeline::compile(
        &repo("models/digits_mlp/model.onnx"),
        &build,
        Some(&repo("models/digits_mlp/calibration.json")),
        &CompileOptions::default(),
    )
    .unwrap();
    let srs = cached_srs(model.layout.k);
    let info = pipeline::setup(&build, &srs).unwrap();
    assert_eq!(info.k, model.layout.k);

    let proof = tmp.path().join("proof.json");
    let file = pipeline::prove(
        &build,
        &repo("models/digits_mlp/input.json"),
        &proof,
        Transcript::Keccak,
    )
    .unwrap();
    assert_eq!(
        snarkml_circuits::quantize::argmax(&file.outputs[0].values),
        2,
        "the sample is a 2"
    );
    pipeline::verify(&build, &proof).unwrap();

    let flipped = tmp.path().join("flipped.json");
    tamper_json(&proof, &flipped, flip_proof_byte);
    let changed = tmp.path().join("changed.json");
    tamper_json(&proof, &changed, change_output);
    let err = pipeline::verify(&build, &flipped).unwrap_err();
    assert!(format!("{err:#}").contains("proof rejected"), "{err:#}");
    let err = pipeline::verify(&build, &changed).unwrap_err();
    assert!(format!("{err:#}").contains("proof rejected"), "{err:#}");

    // Each verifier form, in revm and on one anvil: our self-contained verifier, our reusable
    // one (deployed once, then reused by a second key deployment), snark-verifier's.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (anvil, cfg) = rt.block_on(local_chain());
    let mut shared = None;
    for form in [
        VerifierForm::SelfContained,
        VerifierForm::Reusable,
        VerifierForm::Reusable,
        VerifierForm::SnarkVerifier,
    ] {
        let out = tmp.path().join("generated");
        let artifacts = pipeline::gen_verifier(&build, &out, form).unwrap();
        let source = match form {
            VerifierForm::SelfContained => "Halo2VerifierSingle.sol",
            _ => "Halo2Verifier.sol",
        };
        assert!(out.join(source).exists(), "{form:?}");
        assert!(
            artifacts.verifier_runtime_size <= MAX_RUNTIME_SIZE,
            "{form:?} verifier runtime {} bytes exceeds EIP-170",
            artifacts.verifier_runtime_size
        );
        let revm_gas = pipeline::evm_verify(&build, &proof).unwrap();
        println!(
            "{form:?}: runtime {} bytes, {revm_gas} gas in revm",
            artifacts.verifier_runtime_size
        );
        let err = pipeline::evm_verify(&build, &flipped).unwrap_err();
        println!("  flipped: {err:#}");
        common::assert_evm_refuses(&build, &changed);

        rt.block_on(async {
            let reuse = shared.filter(|_| form == VerifierForm::Reusable);
            let d = pipeline::deploy(&build, &cfg, false, reuse).await.unwrap();
            assert_eq!(d.chain_id, 31337);
            assert_eq!(d.raw_runtime_size, artifacts.verifier_runtime_size);
            assert_eq!(d.form, form);
            println!("  deployed with {} gas", d.deploy_gas);
            if form == VerifierForm::Reusable {
                // The second reusable deployment reuses the first one's Halo2Verifier.
                let raw = pipeline::parse_address(&d.raw_verifier).unwrap();
                assert_eq!(shared.unwrap_or(raw), raw);
                shared = Some(raw);
                assert!(d.vk_artifact.is_some());
            }
            let address = pipeline::parse_address(&d.verifier).unwrap();
            let ok = pipeline::verify_onchain(&build, &proof, address, &cfg)
                .await
                .unwrap();
            assert!(ok.valid, "{form:?}");
            let gas = ok.gas_used.expect("gas of the verify transaction");
            println!("  on-chain verification: {gas} gas");
            // Through the IVerifier front it costs at least what revm measured (a lower figure
            // would mean the inner verification ran out of gas).
            assert!(gas + 100 >= revm_gas, "on-chain {gas} < revm {revm_gas}");

            let bad = pipeline::verify_onchain(&build, &flipped, address, &cfg)
                .await
                .unwrap();
            assert!(!bad.valid, "{form:?}: flipped proof byte accepted on-chain");
            let bad = pipeline::verify_onchain(&build, &changed, address, &cfg)
                .await
                .unwrap();
            assert!(
                !bad.valid,
                "{form:?}: changed public output accepted on-chain"
            );
            // An instance appended, or a byte appended to the proof: refused by every form
            // (snark-verifier's by the adapter, since its own code reads fixed offsets).
            let file = snarkml_circuits::io::ProofFile::load(&proof).unwrap();
            let instances: Vec<_> = file
                .instance_fields()
                .unwrap()
                .iter()
                .map(pipeline::field_to_u256)
                .collect();
            let bytes = file.proof_bytes().unwrap();
            let mut more = instances.clone();
            more.push(alloy::primitives::U256::from(1u64));
            let v = snarkml::chain::verify_onchain(&cfg, address, &bytes, &more)
                .await
                .unwrap();
            assert!(!v.valid, "{form:?}: an appended instance accepted on-chain");
            let mut longer = bytes.clone();
            longer.push(0);
            let v = snarkml::chain::verify_onchain(&cfg, address, &longer, &instances)
                .await
                .unwrap();
            assert!(!v.valid, "{form:?}: a longer proof accepted on-chain");
            // What is deployed is exactly what the build generates, for every form.
            let bound = pipeline::binding::check_verifier(&cfg, &artifacts, address)
                .await
                .unwrap();
            assert_eq!(bound.instance_count, artifacts.num_instances);
        });
    }
    // A "shared verifier" that is another contract is refused before anything is deployed.
    pipeline::gen_verifier(
        &build,
        &tmp.path().join("generated"),
        VerifierForm::Reusable,
    )
    .unwrap();
    let d: snarkml::artifacts::Deployment =
        snarkml::artifacts::read_json(&build.deployment()).unwrap();
    let not_it = pipeline::parse_address(&d.verifier).unwrap();
    let err = rt
        .block_on(pipeline::deploy(&build, &cfg, false, Some(not_it)))
        .unwrap_err();
    assert!(
        err.to_string().contains("not this version's Halo2Verifier"),
        "{err}"
    );
    // ... and so is a contract of exactly the Halo2Verifier's size with other code.
    let artifacts: snarkml_verifier_gen::VerifierArtifacts =
        snarkml::artifacts::read_json(&build.verifier()).unwrap();
    let filler = vec![0xfe; artifacts.verifier_runtime_size - 1];
    let same_size = rt
        .block_on(snarkml::chain::deploy(
            &cfg,
            snarkml_verifier_gen::reusable::artifact_initcode(&filler).unwrap(),
        ))
        .unwrap();
    assert_eq!(same_size.runtime_size, artifacts.verifier_runtime_size);
    let err = rt
        .block_on(pipeline::deploy(
            &build,
            &cfg,
            false,
            Some(same_size.address),
        ))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("its code differs from the one this build generates"),
        "{err}"
    );
    pipeline::gen_verifier(
        &build,
        &tmp.path().join("generated"),
        VerifierForm::SnarkVerifier,
    )
    .unwrap();
    // The build's verifier is snark-verifier's now: a shared Halo2Verifier does not apply.
    let err = rt
        .block_on(pipeline::deploy(&build, &cfg, false, shared))
        .unwrap_err();
    assert!(err.to_string().contains("--shared-verifier"), "{err}");
    anvil.stop();
}

#[test]
fn development_srs_is_refused_on_a_remote_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let build = BuildDir::create(tmp.path().join("build")).unwrap();
    let input = repo("tests/fixtures/relu3.input.json");
    let model = pipeline::compile(
        &repo("tests/fixtures/relu3.onnx"),
        &build,
        Some(&input),
        &CompileOptions::default(),
    )
    .unwrap();
    pipeline::setup(&build, &cached_srs(model.layout.k)).unwrap();
    let cfg = ChainConfig::new("https://rpc.example.org", ANVIL_DEFAULT_KEY);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(pipeline::deploy(&build, &cfg, false, None))
        .unwrap_err();
    assert!(err.to_string().contains("development SRS"), "{err}");
}

/// Runs snarkjs (installed by scripts/setup) to make a `.ptau` file of `2^power` powers with
/// one contribution, as a real ceremony does.
fn snarkjs_ceremony(dir: &Path, power: u32) -> std::path::PathBuf {
    let snarkjs = repo(".toolchain/bin/snarkjs");
    assert!(
        snarkjs.exists(),
        "run scripts/setup first: {} is missing",
        snarkjs.display()
    );
    let (fresh, contributed) = (dir.join("pot_0.ptau"), dir.join("pot_1.ptau"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&snarkjs)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "snarkjs {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "powersoftau",
        "new",
        "bn128",
        &power.to_string(),
        fresh.to_str().unwrap(),
    ]);
    run(&[
        "powersoftau",
        "contribute",
        fresh.to_str().unwrap(),
        contributed.to_str().unwrap(),
        "--name=test",
        "-e=snarkml test entropy",
    ]);
    contributed
}

#[test]
fn ceremony_srs_imported_from_ptau_proves_and_a_proof_from_another_srs_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let input = repo("tests/fixtures/relu3.input.json");
    let model_path = repo("tests/fixtures/relu3.onnx");

    let ceremony = BuildDir::create(tmp.path().join("ceremony")).unwrap();
    let model = pipeline::compile(
        &model_path,
        &ceremony,
        Some(&input),
        &CompileOptions::default(),
    )
    .unwrap();

    // A real ceremony file made by snarkjs: a new ceremony and one contribution.
    let ptau = snarkjs_ceremony(tmp.path(), model.layout.k);
    let ceremony = BuildDir::create(tmp.path().join("ceremony")).unwrap();
    let model = pipeline::compile(
        &model_path,
        &ceremony,
        Some(&input),
        &CompileOptions::default(),
    )
    .unwrap();
    let srs = tmp.path().join("srs.bin");
    let imported = pipeline::srs_import(&ptau, Some(model.layout.k), &srs).unwrap();
    assert!(!imported.insecure);
    let info = pipeline::setup(&ceremony, &srs).unwrap();
    assert!(
        !info.srs_insecure,
        "keys from a ceremony SRS are not marked insecure"
    );
    let proof = tmp.path().join("proof.json");
    pipeline::prove(&ceremony, &input, &proof, Transcript::Keccak).unwrap();
    pipeline::verify(&ceremony, &proof).unwrap();

    // The same model set up with a development SRS: the ceremony proof is refused by name.
    let dev = BuildDir::create(tmp.path().join("dev")).unwrap();
    pipeline::compile(&model_path, &dev, Some(&input), &CompileOptions::default()).unwrap();
    pipeline::setup(&dev, &cached_srs(model.layout.k)).unwrap();
    let err = pipeline::verify(&dev, &proof).unwrap_err();
    assert!(format!("{err:#}").contains("verifying key"), "{err:#}");
    // Even with the file relabelled to the other key, the SRS mismatch is named.
    let relabelled = tmp.path().join("relabelled.json");
    let dev_info: snarkml::artifacts::SetupInfo =
        snarkml::artifacts::read_json(&dev.setup()).unwrap();
    tamper_json(&proof, &relabelled, |v| {
        v["vk_hash"] = dev_info.vk_hash.clone().into()
    });
    let err = pipeline::verify(&dev, &relabelled).unwrap_err();
    assert!(format!("{err:#}").contains("different SRS"), "{err:#}");
}

#[test]
fn setup_without_srs_makes_a_development_srs_of_the_builds_k_once_and_srs_gen_sizes_one_for_a_build(
) {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("build");
    let cache = tmp.path().join("cache");
    let model = repo("tests/fixtures/relu3.onnx");
    let input = repo("tests/fixtures/relu3.input.json");
    let b = b.to_str().unwrap();
    ok(snarkml(&[
        "compile",
        model.to_str().unwrap(),
        "-o",
        b,
        "--calibration",
        input.to_str().unwrap(),
    ]));
    let k = snarkml_circuits::quantize::CompiledModel::load(&tmp.path().join("build/model.json"))
        .unwrap()
        .layout
        .k;
    let setup = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_snarkml"))
            .args(["setup", b])
            .env("SNARKML_SRS_CACHE", &cache)
            .output()
            .unwrap()
    };
    let first = ok(setup());
    let made = cache.join(format!("dev-seed0-k{k}.bin"));
    assert!(
        first.contains("no --srs: made the development SRS") && first.contains("dev-seed0-k"),
        "{first}"
    );
    assert!(made.exists(), "{first}");
    assert!(first.contains(&format!("k = {k}")), "{first}");
    let second = ok(setup());
    assert!(second.contains("using the cached"), "{second}");
    // The keys it made prove and verify.
    let proof = tmp.path().join("proof.json");
    let proof = proof.to_str().unwrap();
    ok(snarkml(&[
        "prove",
        b,
        "--input",
        input.to_str().unwrap(),
        "-o",
        proof,
    ]));
    ok(snarkml(&["verify", b, proof]));

    let out = tmp.path().join("sized.bin");
    let text = ok(snarkml(&[
        "srs",
        "gen",
        "--for",
        b,
        "-o",
        out.to_str().unwrap(),
    ]));
    assert!(text.contains(&format!("(k = {k},")), "{text}");
    // Neither a size nor a build: clap names what is missing.
    let bad = snarkml(&["srs", "gen", "-o", out.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--k"));
    // A build that was never compiled is named.
    assert_one_line_error(
        &snarkml(&["srs", "gen", "--for", "/nonexistent/build", "-o", "x.bin"]),
        "snarkml compile",
    );
}

#[test]
fn compile_refuses_a_missed_accuracy_target_in_one_line_unless_allow_error_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("build");
    let b = b.to_str().unwrap();
    let model = repo("tests/fixtures/corpus/softmax_last.onnx");
    let calibration = repo("tests/fixtures/corpus/softmax_last.calibration.json");
    let args = [
        "compile",
        model.to_str().unwrap(),
        "-o",
        b,
        "--calibration",
        calibration.to_str().unwrap(),
        "--target-error",
        "0.0000001",
    ];
    let refused = snarkml(&args);
    assert_one_line_error(&refused, "over the 0.00% target");
    assert_one_line_error(&refused, "pass --allow-error to keep this model");
    assert!(!tmp.path().join("build/model.json").exists());
    let kept = ok(snarkml(&[&args[..], &["--allow-error"]].concat()));
    assert!(
        kept.contains("warning: the mean relative error misses the 0.00% target"),
        "{kept}"
    );
    assert!(tmp.path().join("build/model.json").exists());
}

/// `--json` on every step of the pipeline: each prints one JSON object (README "JSON output")
/// whose fields agree with the next step's.
#[test]
fn every_pipeline_step_prints_json_with_json() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    let (b, proof, sol) = (path("build"), path("proof.json"), path("sol"));
    let model = repo("tests/fixtures/relu3.onnx");
    let input = repo("tests/fixtures/relu3.input.json");
    let (model, input) = (model.to_str().unwrap(), input.to_str().unwrap());
    let compiled = json(&ok(snarkml(&[
        "compile",
        model,
        "-o",
        &b,
        "--calibration",
        input,
        "--json",
    ])));
    let k = compiled["k"].as_u64().unwrap();
    assert!(compiled["rows"].as_u64().unwrap() > 0, "{compiled}");
    assert_eq!(compiled["error"]["meets_target"], true, "{compiled}");
    let srs = cached_srs(k as u32);
    let srs = srs.to_str().unwrap();
    let setup = json(&ok(snarkml(&["setup", &b, "--srs", srs, "--json"])));
    assert_eq!(setup["k"], k);
    assert_eq!(setup["development_srs"], true);
    let proved = json(&ok(snarkml(&[
        "prove", &b, "--input", input, "-o", &proof, "--json",
    ])));
    assert!(proved["bytes"].as_u64().unwrap() > 0);
    let outputs = &proved["outputs"];
    assert_eq!(outputs[0]["visibility"], "public", "{proved}");
    assert!(!outputs[0]["values"].as_array().unwrap().is_empty());
    let verified = json(&ok(snarkml(&["verify", &b, &proof, "--json"])));
    assert_eq!(verified["valid"], true);
    assert_eq!(&verified["outputs"], outputs);
    let mocked = json(&ok(snarkml(&["mock", &b, "--input", input, "--json"])));
    assert_eq!(
        (&mocked["satisfied"], &mocked["k"]),
        (&true.into(), &k.into())
    );
    let info = json(&ok(snarkml(&["srs", "info", srs, "--json"])));
    assert_eq!(
        (&info["k"], &info["development"]),
        (&k.into(), &true.into())
    );
    let generated = json(&ok(snarkml(&["gen-verifier", &b, "-o", &sol, "--json"])));
    assert_eq!(generated["over_eip170"], false, "{generated}");
    assert!(generated["num_instances"].as_u64().unwrap() > 0);

    let chain = common::TestChain::start();
    let deployed = json(&ok(chain.cli(&["deploy", &b, "--json"], &[])));
    assert_eq!(deployed["chain_id"], 31337);
    assert_eq!(deployed["vk_hash"], setup["vk_hash"]);
    let accepted = json(&ok(
        chain.cli(&["verify-onchain", &b, &proof, "--json"], &[])
    ));
    assert_eq!(accepted["accepted"], true);
    assert_eq!(accepted["address"], deployed["verifier"]);
}

#[test]
fn natural_mistakes_get_one_line_errors_that_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    // A missing model: named first, with no calibration note before it and no build made.
    let missing = snarkml(&["compile", &path("nope.onnx"), "-o", &path("b")]);
    assert_one_line_error(&missing, "nope.onnx: No such file or directory");
    assert!(missing.stdout.is_empty(), "{missing:?}");
    assert!(!tmp.path().join("b").exists());
    // An SRS too small for the build: how to make the right one.
    let input = repo("tests/fixtures/relu3.input.json");
    ok(snarkml(&[
        "compile",
        repo("tests/fixtures/relu3.onnx").to_str().unwrap(),
        "-o",
        &path("b"),
        "--calibration",
        input.to_str().unwrap(),
    ]));
    ok(snarkml(&[
        "srs",
        "gen",
        "--k",
        "2",
        "-o",
        &path("small.bin"),
    ]));
    assert_one_line_error(
        &snarkml(&["setup", &path("b"), "--srs", &path("small.bin")]),
        "but the SRS only has k=2; generate or import a larger one: `snarkml srs gen --for",
    );
    // A model with integer inputs and no calibration: random floats would not do.
    assert_one_line_error(
        &snarkml(&[
            "compile",
            repo("tests/fixtures/corpus/text_embedding.onnx")
                .to_str()
                .unwrap(),
            "-o",
            &path("te"),
        ]),
        "model input `ids` is int64: give --calibration",
    );
    // Arguments swapped: the build directory comes first.
    assert_one_line_error(
        &snarkml(&["verify", input.to_str().unwrap(), &path("b")]),
        "is a file, not a build directory: the build directory comes first",
    );
}

/// README "The pipeline, step by step", replayed as written in a fresh directory (the
/// repository's `models/` beside it) against a fresh anvil, which stands in for the block's
/// own `anvil … &` line (`SNARKML_RPC_URL` points the commands' default at it).
#[test]
fn the_readme_pipeline_block_runs_as_written() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let chain = common::TestChain::start();
    let ran =
        common::replay_readme_block("## The pipeline, step by step", tmp.path(), Some(&chain));
    assert!(ran >= 8, "{ran} commands");
    // What the block promises: a proof accepted on-chain.
    assert!(tmp.path().join("build/deployment.json").exists());
}

/// Every ```sh block of README.md is replayed as written by a test, or is one of the blocks
/// that cannot be in CI, each named here with why (and the test that runs its commands with
/// test-sized settings).
#[test]
fn every_readme_block_is_replayed_or_named_with_why_not() {
    const NOT_REPLAYED: &[(&str, &str)] = &[
        (
            "## Set up and run",
            "installs the toolchain: what CI itself runs",
        ),
        (
            "### On-chain verifiers",
            "a syntax reference (optional flags); tests/e2e_spine.rs deploys both forms",
        ),
        (
            "## Trusted setup",
            "needs a downloaded ceremony file; tests/e2e_spine imports a fixture",
        ),
        (
            "## Aggregation",
            "k = 21 aggregation: minutes and GiB; tests/aggregation.rs",
        ),
        (
            "## Accuracy audits",
            "two k = 19 chunks and a k = 21 aggregation; tests/audit_bounty.rs",
        ),
        ("## Scale-out proving on Ray", "a Ray cluster; tests/ray.rs"),
        (
            "### Batches of inference requests",
            "a Ray cluster; tests/batch.rs",
        ),
    ];
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let tests: String = std::fs::read_dir(repo("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let mut heading = "";
    let mut unaccounted = Vec::new();
    for line in readme.lines() {
        if line.starts_with('#') {
            heading = line;
        } else if line == "```sh" {
            let replayed = tests.match_indices("replay_readme_block(\"").any(|(i, m)| {
                let named = &tests[i + m.len()..];
                heading.starts_with(&named[..named.find('"').unwrap()])
            });
            let excused = NOT_REPLAYED.iter().any(|(h, _)| heading.starts_with(h));
            if !replayed && !excused {
                unaccounted.push(heading);
            }
        }
    }
    assert!(
        unaccounted.is_empty(),
        "README blocks neither replayed by a test nor named in NOT_REPLAYED: {unaccounted:?}"
    );
}

#[test]
fn randomized_linear_checks_prove_verify_on_anvil_and_refuse_a_lying_accumulator() {
    let tmp = tempfile::tempdir().unwrap();
    let build = tmp.path().join("build");
    let b = build.to_str().unwrap();
    let corpus = |f: &str| repo(&format!("tests/fixtures/corpus/conv_pool_auto_pad.{f}"));
    let (model, calibration, input) = (
        corpus("onnx"),
        corpus("calibration.json"),
        corpus("input.json"),
    );
    let (m, c, i) = (
        model.to_str().unwrap(),
        calibration.to_str().unwrap(),
        input.to_str().unwrap(),
    );
    // An unknown mode is a usage error (clap's, with its hint) naming the value.
    let out = snarkml(&["compile", m, "-o", b, "--linear", "dense"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: invalid value 'dense' for '--linear <LINEAR>': unknown linear check \
             `dense` (expected direct, freivalds or auto)"
        ),
        "{stderr}"
    );
    ok(snarkml(&[
        "compile",
        m,
        "-o",
        b,
        "--calibration",
        c,
        "--linear",
        "freivalds",
    ]));
    let compiled =
        snarkml_circuits::quantize::CompiledModel::load(&build.join("model.json")).unwrap();
    assert!(compiled.uses_freivalds());
    let srs = cached_srs(compiled.layout.k);
    ok(snarkml(&["setup", b, "--srs", srs.to_str().unwrap()]));
    let proof = tmp.path().join("proof.json");
    let p = proof.to_str().unwrap();
    ok(snarkml(&["prove", b, "--input", i, "-o", p]));
    ok(snarkml(&["verify", b, p]));
    let sol = tmp.path().join("sol");
    let sol = sol.to_str().unwrap();
    assert_one_line_error(
        &snarkml(&["gen-verifier", b, "-o", sol, "--snark-verifier"]),
        "randomized (Freivalds) checks in a second proof phase, for which this version does \
         not make snark-verifier's generated verifier",
    );
    // Our verifier reads the second phase: deployed on anvil it accepts the proof ...
    toolchain_on_path();
    ok(snarkml(&["gen-verifier", b, "-o", sol]));
    let chain = common::TestChain::start();
    ok(chain.cli(&["deploy", b], &[]));
    let text = ok(chain.cli(&["verify-onchain", b, p], &[]));
    assert!(text.contains("proof accepted on-chain"), "{text}");
    // ... and refuses a proof whose prover lied about one accumulator of a convolution and
    // computed everything after it (the public outputs included) honestly from the lie.
    use snarkml_circuits::layout::{Fault, Plan};
    let data = snarkml_circuits::io::InputFile::load(&input).unwrap();
    let q = compiled.quantize_inputs(&data.input_data).unwrap();
    let layer = compiled
        .layers
        .iter()
        .position(|l| matches!(l, snarkml_circuits::model::Layer::Conv(_)))
        .unwrap();
    let fault = Fault {
        layer,
        element: 0,
        delta: 1 << 20,
        accumulator: true,
    };
    let plan =
        Plan::build_with_fault(&compiled, compiled.layout.width, Some(&q), Some(fault)).unwrap();
    let circuit = snarkml_circuits::circuit::ModelCircuit::with_plan(&compiled, plan);
    let lied = circuit.instance_column();
    let params = snarkml_circuits::srs::Srs::load(&srs).unwrap().params;
    let pk = snarkml_circuits::prover::keygen(&params, &compiled).unwrap();
    let forged = snarkml_circuits::prover::create_unchecked_proof(
        &params,
        &pk,
        circuit,
        &lied,
        snarkml_circuits::prover::Transcript::Keccak,
    )
    .unwrap();
    let native = snarkml_circuits::prover::verify(&params, pk.get_vk(), &lied, &forged);
    assert!(native.is_err_and(|e| e.to_string().starts_with("proof rejected")));
    let deployment: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(build.join("deployment.json")).unwrap())
            .unwrap();
    let address =
        snarkml::pipeline::parse_address(deployment["verifier"].as_str().unwrap()).unwrap();
    let words: Vec<_> = lied.iter().map(snarkml::pipeline::field_to_u256).collect();
    let verdict = chain
        .rt
        .block_on(snarkml::chain::verify_onchain(
            &chain.cfg, address, &forged, &words,
        ))
        .unwrap();
    assert!(!verdict.valid, "anvil accepted a lying accumulator");
}
