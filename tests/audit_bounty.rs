//! A paid accuracy audit, end to end on anvil through the CLI: the digits model the repo ships
//! (hashed weights, registered), the 450-sample digits test split proven in two chunks as
//! independent jobs, the chunks aggregated, the aggregated verifier deployed, and an audit
//! bounty opened, claimed and paid to the model's owner. Claims that do not match a bounty
//! (another model, another dataset, a count below the threshold), a tampered aggregated proof
//! and a second claim are refused, and no wei goes astray.

mod common;

use common::{
    assert_one_line_error, cached_srs, flip_proof_byte, json, ok, repo, snarkml, tamper_json,
    toolchain_on_path, TestChain,
};
use snarkml::artifacts::{BuildDir, Deployment};
use snarkml::chain::escrow;
use snarkml::pipeline;
use snarkml::stored::Stored;
use snarkml_circuits::audit::{self, chunk, Dataset, CHAIN_START};
use snarkml_circuits::fixed_point::field_to_hex;
use snarkml_circuits::quantize::CompiledModel;
use std::path::Path;

/// Anvil's third default account: the sponsor.
const SPONSOR_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
/// Anvil's first default account: the model owner (the CLI's default sender).
const OWNER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const CHUNK: usize = 225;
const AGG_K: u32 = 21;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Compiles the digits model with hashed weights (and `salt`) and sets it up.
fn digits_build(dir: &Path, salt: &str) -> CompiledModel {
    let onnx = repo("models/digits_mlp/model.onnx");
    let calibration = repo("models/digits_mlp/calibration.json");
    ok(snarkml(&[
        "compile",
        s(&onnx),
        "-o",
        s(dir),
        "--calibration",
        s(&calibration),
        "--weights",
        "hashed",
        "--weights-salt",
        salt,
    ]));
    let model = CompiledModel::load(&BuildDir::new(dir).model()).unwrap();
    let srs = cached_srs(model.layout.k);
    ok(snarkml(&["setup", s(dir), "--srs", s(&srs)]));
    model
}

#[test]
fn digits_audit_is_proven_in_chunks_aggregated_and_paid_on_anvil() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p);
    let (build, other, audit_dir, aggr, cache) =
        (t("build"), t("other"), t("audit"), t("aggr"), t("cache"));
    let model = digits_build(&build, "11");
    // The same network with another salt: another weights commitment, another model.
    let other_model = digits_build(&other, "12");
    let cw = model.weights_commitment().unwrap().unwrap();
    assert_ne!(other_model.weights_commitment().unwrap().unwrap(), cw);

    let data = repo("models/digits_test.json");
    let samples = Dataset::load(&data).unwrap().quantize(&model).unwrap();
    assert_eq!(samples.len(), 450);
    let reference = audit::correct_count(&model, &samples).unwrap();
    let cd = audit::dataset_commitment(&model, &samples);

    // Two chunks, proven as independent jobs (the second first).
    let chunk_k = chunk::chunk_k(&model, CHUNK).unwrap();
    let chunk_srs = cached_srs(chunk_k);
    let prove = |j: &str| {
        snarkml(&[
            "audit",
            "prove",
            "--build",
            s(&build),
            "--dataset",
            s(&data),
            "--srs",
            s(&chunk_srs),
            "--chunk-size",
            "225",
            "--chunk",
            j,
            "-o",
            s(&audit_dir),
            "--cache-dir",
            s(&cache),
            "--json",
        ])
    };
    assert_one_line_error(&prove("2"), "there is no chunk 2");
    let second = json(&ok(prove("1")))["chunks"][0].clone();
    let aggregate = |dir: &Path| {
        snarkml(&[
            "audit",
            "aggregate",
            s(dir),
            "--build",
            s(&build),
            "--srs",
            s(&cached_srs(AGG_K)),
            "--k",
            &AGG_K.to_string(),
            // One flat aggregation circuit keeps CI time down; the default layers (pairs,
            // then compression) are tested in tests/aggregation.rs.
            "--arity",
            "0",
            "--no-compress",
            "-o",
            s(&aggr),
            "--cache-dir",
            s(&cache),
            "--json",
        ])
    };
    assert_one_line_error(&aggregate(&audit_dir), "chunk 0 of 2 is missing");
    let first = json(&ok(prove("0")))["chunks"][0].clone();
    assert_eq!(first["chunk"], 0);
    assert_eq!(second["chunk"], 1);
    assert_eq!(first["k"], chunk_k);
    assert_eq!(first["samples"], 225);
    assert_eq!(second["first"], 225);
    assert_eq!(
        first["correct"].as_u64().unwrap() + second["correct"].as_u64().unwrap(),
        reference as u64
    );
    let files: Vec<chunk::ChunkProofFile> = (0..2)
        .map(|j| {
            chunk::ChunkProofFile::load(&audit_dir.join(format!("chunk-{j:04}.json"))).unwrap()
        })
        .collect();
    assert_eq!(files[0].h_in, field_to_hex(&CHAIN_START));
    assert_eq!(files[0].h_out, files[1].h_in);
    assert_eq!(files[1].h_out, field_to_hex(&cd));

    // A chunk file whose shown count was edited is refused before any proving work.
    let edited = t("edited");
    std::fs::create_dir_all(&edited).unwrap();
    for j in 0..2 {
        let name = format!("chunk-{j:04}.json");
        tamper_json(&audit_dir.join(&name), &edited.join(&name), |v| {
            if j == 1 {
                v["correct"] = 225.into();
            }
        });
    }
    assert_one_line_error(&aggregate(&edited), "edited file?");

    // The aggregated proof exposes C_W, the chain from its start to C_D, n and the count.
    let report = json(&ok(aggregate(&audit_dir)));
    let exposed: Vec<String> = report["exposed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = chunk::ChunkInstances {
        weights_commitment: cw,
        h_in: CHAIN_START,
        h_out: cd,
        samples: 450,
        correct: reference as u64,
    }
    .to_vec()
    .iter()
    .map(field_to_hex)
    .collect();
    assert_eq!(exposed, expected);
    println!("digits audit: {reference}/450 correct (quantized reference), proven and aggregated");

    // On chain: the aggregated verifier, the contracts, the two registered models.
    let chain = TestChain::start();
    let with = |args: &[&str], extra: &[&str]| chain.cli(args, extra);
    ok(snarkml(&[
        "gen-verifier",
        s(&aggr),
        "--aggregated",
        "-o",
        s(&t("aggr-gen")),
    ]));
    ok(with(&["deploy", s(&aggr)], &[]));
    let audit_verifier =
        snarkml::artifacts::read_json::<Deployment>(&BuildDir::new(&aggr).deployment())
            .unwrap()
            .verifier;
    ok(snarkml(&[
        "gen-verifier",
        s(&build),
        "-o",
        s(&t("build-gen")),
    ]));
    ok(with(&["deploy", s(&build)], &[]));
    let contracts = json(&ok(with(&["contracts", "deploy", "--json"], &[])));
    let registry = contracts["registry"].as_str().unwrap().to_owned();
    let bounty = contracts["bounty"].as_str().unwrap().to_owned();
    ok(with(
        &["model", "register", s(&build), "--registry", &registry],
        &[],
    ));
    // The verifying key does not depend on the weights: the other model shares the verifier.
    let inference_verifier =
        snarkml::artifacts::read_json::<Deployment>(&BuildDir::new(&build).deployment())
            .unwrap()
            .verifier;
    ok(with(
        &[
            "model",
            "register",
            s(&other),
            "--registry",
            &registry,
            "--verifier",
            &inference_verifier,
        ],
        &[],
    ));

    // A dataset of the same size with one label changed.
    let mut relabelled = Dataset::load(&data).unwrap();
    relabelled.labels[0] = (relabelled.labels[0] + 1) % 10;
    let relabelled_path = t("relabelled.json");
    std::fs::write(
        &relabelled_path,
        serde_json::to_string(&relabelled).unwrap(),
    )
    .unwrap();

    // The sponsor checks model 2 against its own build of it: the verifying key (so the
    // generated verifier) does not depend on the weights.
    std::fs::copy(
        BuildDir::new(&build).verifier(),
        BuildDir::new(&other).verifier(),
    )
    .unwrap();
    let sponsor = ["--private-key", SPONSOR_KEY, "--bounty", bounty.as_str()];
    // Without --verifier, the sponsor's bounty names the verifier `deploy` recorded for the
    // aggregation directory.
    let open_args =
        |model_id: &'static str, verifier: Option<&str>, dataset: &Path, threshold: &str| {
            let b = if model_id == "2" { &other } else { &build };
            let mut args = vec!["bounty", "open", "--model", model_id];
            if let Some(v) = verifier {
                args.extend(["--verifier", v]);
            }
            args.extend([
                "--aggregation",
                s(&aggr),
                "--build",
                s(b),
                "--dataset",
                s(dataset),
                "--threshold",
                threshold,
                "--reward",
                "1ether",
                "--ttl",
                "3600",
                "--json",
            ]);
            with(&args, &sponsor)
        };
    let open = |model_id: &'static str, dataset: &Path, threshold: &str| {
        let opened = json(&ok(open_args(model_id, None, dataset, threshold)));
        assert_eq!(
            opened["verifier"].as_str().unwrap().to_lowercase(),
            audit_verifier.to_lowercase()
        );
        opened["id"].as_u64().unwrap()
    };
    // A verifier that is not the aggregation's (here the inference verifier) is refused before
    // the reward moves.
    assert_one_line_error(
        &open_args("1", Some(&inference_verifier), &data, "0.95"),
        "the audit verifier: refusing the verifier at",
    );
    let paid = open("1", &data, "0.95");
    let too_high = open("1", &data, "0.99");
    let other_model_bounty = open("2", &data, "0.95");
    let other_data = open("1", &relabelled_path, "0.95");
    let tampered_target = open("1", &data, "90%");
    let bounty_address = pipeline::parse_address(&bounty).unwrap();
    let one_ether = alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18));
    assert_eq!(
        chain
            .rt
            .block_on(escrow::balance(&chain.cfg, bounty_address))
            .unwrap(),
        one_ether * alloy::primitives::U256::from(5)
    );

    let proof = aggr.join("proof.json");
    let claim = |id: u64, proof: &Path| {
        with(
            &["bounty", "claim", &id.to_string(), s(proof), "--json"],
            &["--bounty", &bounty],
        )
    };
    assert_one_line_error(
        &claim(too_high, &proof),
        &format!("proves {reference} correct of 450, below bounty {too_high}'s threshold 99/100"),
    );
    assert_one_line_error(
        &claim(other_model_bounty, &proof),
        "proves weights commitment",
    );
    assert_one_line_error(
        &claim(other_data, &proof),
        &format!("is not over bounty {other_data}'s dataset"),
    );
    let tampered = t("tampered.json");
    tamper_json(&proof, &tampered, flip_proof_byte);
    assert_one_line_error(
        &claim(tampered_target, &tampered),
        &format!("the audit verifier rejected the proof for bounty {tampered_target}"),
    );

    // The real claim: the reward is credited to the model's registered owner, once.
    let payment = json(&ok(claim(paid, &proof)));
    assert_eq!(
        payment["payee"].as_str().unwrap().to_lowercase(),
        OWNER.to_lowercase()
    );
    assert_eq!(payment["correct"], reference.to_string());
    let shown = json(&ok(with(
        &["bounty", "show", &paid.to_string(), "--json"],
        &["--bounty", &bounty],
    )));
    assert_eq!(shown["status"], "paid");
    assert_one_line_error(
        &claim(paid, &proof),
        &format!("bounty {paid} is already paid"),
    );
    // The tampered proof's target is still open and the untampered proof claims it.
    ok(claim(tampered_target, &proof));
    let withdrawn = json(&ok(with(
        &["bounty", "withdraw", "--json"],
        &["--bounty", &bounty],
    )));
    assert_eq!(
        withdrawn["withdrawn_wei"],
        (one_ether * alloy::primitives::U256::from(2)).to_string()
    );
    // What is left in escrow is exactly the three open bounties' rewards.
    assert_eq!(
        chain
            .rt
            .block_on(escrow::balance(&chain.cfg, bounty_address))
            .unwrap(),
        one_ether * alloy::primitives::U256::from(3)
    );
    assert_one_line_error(
        &with(&["bounty", "reclaim", &too_high.to_string()], &sponsor),
        "it can be reclaimed only after that",
    );
}
