//! Pay-per-verified-inference end to end on anvil, through the CLI: a provider registers a
//! model, a requester escrows a fee on a committed (hashed) input, the provider proves and is
//! paid; a wrong model, a wrong input, a wrong output, a tampered proof, a late fulfilment, a
//! second fulfilment and an early refund are all rejected, and nothing is mis-paid.

mod common;

use common::{
    advance, assert_one_line_error, flip_proof_byte, json, linear_build, local_chain, ok, snarkml,
    snarkml_recording, tamper_json, toolchain_on_path, TestChain,
};
use snarkml::chain::escrow;
use snarkml::pipeline;
use snarkml::stored::Stored;
use snarkml_circuits::fixed_point::field_to_hex;
use snarkml_circuits::io::commit_quantized;
use snarkml_circuits::Fr;
use std::path::Path;

/// Anvil's second default account: the requester.
const REQUESTER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn write_input(path: &Path, salt: &str) {
    std::fs::write(
        path,
        format!(r#"{{"input_data": [[0.5, -1.0, 1.5, 2.0]], "salts": {{"input": "{salt}"}}}}"#),
    )
    .unwrap();
}

#[test]
fn request_fulfil_pays_the_provider_and_every_wrong_fulfilment_is_rejected() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p);
    let s = |p: &Path| p.to_str().unwrap().to_owned();

    // Two models: the one requested (hashed input) and another one (public input).
    let model = linear_build(&t("build"), "hashed", "public", &["--weights", "hashed"]);
    assert_eq!(model.tensors[model.inputs[0].tensor].name, "input");
    linear_build(&t("other"), "public", "public", &[]);
    // Same circuit as the requested model (private weights leave the key unchanged), other
    // weights commitment: only the commitment tells them apart.
    linear_build(
        &t("twin"),
        "hashed",
        "public",
        &["--weights", "hashed", "--weights-salt", "1"],
    );
    let (build, other, twin) = (s(&t("build")), s(&t("other")), s(&t("twin")));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (anvil, cfg) = rt.block_on(local_chain());
    let url = anvil.url().to_owned();
    let rpc = ["--rpc-url", url.as_str()];
    let with = |args: &[&str], extra: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(extra);
        snarkml(&all)
    };

    for b in [&build, &other] {
        let generated = format!("{b}/generated");
        ok(snarkml(&["gen-verifier", b, "-o", &generated]));
        ok(with(&["deploy", b], &rpc));
    }
    // The twin's generated verifier is model 1's, byte for byte: only its weights differ.
    ok(snarkml(&[
        "gen-verifier",
        &twin,
        "-o",
        &format!("{twin}/generated"),
    ]));
    let contracts = json(&ok(with(&["contracts", "deploy", "--json"], &rpc)));
    let (registry, escrow_addr) = (
        contracts["registry"].as_str().unwrap().to_owned(),
        contracts["escrow"].as_str().unwrap().to_owned(),
    );
    let registered = json(&ok(with(
        &[
            "model",
            "register",
            &build,
            "--registry",
            &registry,
            "--metadata-uri",
            "ipfs://linear",
            "--json",
        ],
        &rpc,
    )));
    assert_eq!(registered["id"], 1);
    let weights = model.weights_commitment().unwrap().unwrap();
    assert_eq!(
        registered["weights_commitment"],
        snarkml_circuits::fixed_point::field_to_hex(&weights),
        "the registry records the hashed weights' commitment"
    );
    assert_eq!(registered["metadata_uri"], "ipfs://linear");
    let other_id = json(&ok(with(
        &[
            "model",
            "register",
            &other,
            "--registry",
            &registry,
            "--json",
        ],
        &rpc,
    )))["id"]
        .clone();
    assert_eq!(other_id, 2);
    let shown = json(&ok(with(
        &["model", "show", "1", "--registry", &registry, "--json"],
        &rpc,
    )));
    assert_eq!(shown, registered);

    // The requester commits to its input under its own salt and escrows 1 ether.
    let input = t("input.json");
    write_input(&input, "777");
    // `infer salt` salts hashed inputs only: a public-input build needs none.
    assert_one_line_error(
        &snarkml(&[
            "infer",
            "salt",
            &other,
            "--input",
            input.to_str().unwrap(),
            "-o",
            t("salted.json").to_str().unwrap(),
        ]),
        "has no hashed input: its input file needs no salt",
    );
    let requester = ["--rpc-url", url.as_str(), "--private-key", REQUESTER_KEY];
    let escrow_flag = ["--escrow", escrow_addr.as_str()];
    let open = |ttl: &str| {
        let mut args = vec!["infer", "request", build.as_str(), "--model", "1"];
        args.extend([
            "--input",
            input.to_str().unwrap(),
            "--fee",
            "1ether",
            "--ttl",
            ttl,
            "--json",
        ]);
        args.extend(escrow_flag);
        json(&ok(with(&args, &requester)))
    };
    let req = open("600");
    assert_eq!(req["id"], 1);
    assert_eq!(req["status"], "open");
    assert_eq!(req["fee_wei"], "1000000000000000000");
    let escrow_address = pipeline::parse_address(&escrow_addr).unwrap();
    assert_eq!(
        rt.block_on(escrow::balance(&cfg, escrow_address)).unwrap(),
        alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18))
    );
    let r = rt
        .block_on(escrow::request(&cfg, escrow_address, 1))
        .unwrap();
    let expected_input = commit_quantized(
        &model.quantize_inputs(&[vec![0.5, -1.0, 1.5, 2.0]]).unwrap()[0],
        Fr::from(777),
    );
    assert_eq!(
        r.input_digest,
        pipeline::market::instances_digest(&[pipeline::field_to_u256(&expected_input)])
    );

    let fulfil = |id: &str, b: &str, input: &Path, proof: &Path| {
        let mut args = vec![
            "infer",
            "fulfill",
            id,
            b,
            "--input",
            input.to_str().unwrap(),
        ];
        args.extend(["-o", proof.to_str().unwrap()]);
        args.extend(escrow_flag);
        with(&args, &rpc)
    };

    // Wrong model: the other build is not model 1 (its verifier's code is not model 1's), nor
    // is the twin with other weights.
    assert_one_line_error(
        &fulfil("1", &other, &input, &t("p_other.json")),
        "model 1: refusing the verifier at",
    );
    assert_one_line_error(
        &fulfil("1", &twin, &input, &t("p_twin.json")),
        "has weights commitment",
    );
    // ... and the contract refuses the twin's proof (its verifier accepts it) by its weights.
    let twin_proof = s(&t("p_twin.json"));
    ok(snarkml(&[
        "prove",
        &twin,
        "--input",
        input.to_str().unwrap(),
        "-o",
        &twin_proof,
    ]));
    let (inst, bytes) = proof_parts(&t("p_twin.json"));
    let err = rt
        .block_on(escrow::fulfill(&cfg, escrow_address, 1, &bytes, &inst))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("weights commitment is not the one registered"),
        "{err}"
    );
    // Wrong input: another salt is another commitment.
    let wrong_input = t("wrong_input.json");
    write_input(&wrong_input, "778");
    assert_one_line_error(
        &fulfil("1", &build, &wrong_input, &t("p_wrong.json")),
        "is not the input of request 1",
    );
    // ... and the contract refuses it too, when the CLI's own check is bypassed.
    ok(snarkml(&[
        "prove",
        &build,
        "--input",
        wrong_input.to_str().unwrap(),
        "-o",
        &s(&t("p_wrong.json")),
    ]));
    let (inst, bytes) = proof_parts(&t("p_wrong.json"));
    let err = rt
        .block_on(escrow::fulfill(&cfg, escrow_address, 1, &bytes, &inst))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the proof's public input is not request 1's input"),
        "{err}"
    );

    // A tampered proof and a wrong output are rejected on-chain by the model's verifier.
    let good = t("good.json");
    ok(snarkml(&[
        "prove",
        &build,
        "--input",
        input.to_str().unwrap(),
        "-o",
        &s(&good),
    ]));
    // Extra instances before the registered commitment (the layout snark-verifier's code never
    // checked): the escrow refuses the count before asking the verifier.
    let (mut inst, bytes) = proof_parts(&good);
    let commitment = inst.pop().unwrap();
    inst.extend([alloy::primitives::U256::from(5u64), commitment]);
    let err = rt
        .block_on(escrow::fulfill(&cfg, escrow_address, 1, &bytes, &inst))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the proof has 4 public instances, request 1's model has 3"),
        "{err}"
    );
    let flipped = t("flipped.json");
    tamper_json(&good, &flipped, flip_proof_byte);
    assert_one_line_error(
        &fulfil("1", &build, &input, &flipped),
        "the model's verifier rejected the proof for request 1",
    );
    let wrong_output = t("wrong_output.json");
    tamper_json(&good, &wrong_output, |v| {
        let q = v["outputs"][0]["quantized"][0].as_i64().unwrap() + 1;
        v["outputs"][0]["quantized"][0] = q.into();
        let outputs: Vec<i64> =
            serde_json::from_value(v["outputs"][0]["quantized"].clone()).unwrap();
        let bits = v["outputs"][0]["pack_bits"].as_u64().unwrap() as u32;
        let packed = snarkml_circuits::fixed_point::pack(&outputs, bits);
        v["instances"][1] = field_to_hex(&packed[0]).into();
    });
    // The CLI names the edited file (its shown values are not the model's on those instances);
    // with that check bypassed, the verifier refuses the output.
    assert_one_line_error(&fulfil("1", &build, &input, &wrong_output), "edited file?");
    let (mut inst, bytes) = proof_parts(&good);
    inst[1] += alloy::primitives::U256::from(1u64);
    let err = rt
        .block_on(escrow::fulfill(&cfg, escrow_address, 1, &bytes, &inst))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the model's verifier rejected the proof for request 1"),
        "{err}"
    );
    let r = rt
        .block_on(escrow::request(&cfg, escrow_address, 1))
        .unwrap();
    assert_eq!(
        r.status, "open",
        "no rejected fulfilment settled the request"
    );

    // The honest fulfilment pays the model's owner (anvil's first account), once.
    let owner = rt.block_on(async { escrow::signer_address(&cfg) }).unwrap();
    let done = json(&ok(with(
        &[
            "infer",
            "fulfill",
            "1",
            &build,
            "--input",
            input.to_str().unwrap(),
            "-o",
            &s(&good),
            "--json",
            "--escrow",
            &escrow_addr,
        ],
        &rpc,
    )));
    assert_eq!(done["payee"], owner.to_string());
    // The outputs as people read them (dequantized, from the proof), not packed instances.
    let proven = snarkml_circuits::io::ProofFile::load(&good).unwrap();
    assert_eq!(done["outputs"][0]["name"], proven.outputs[0].name.as_str());
    assert_eq!(
        done["outputs"][0]["values"],
        serde_json::json!(proven.outputs[0].values),
        "{done}"
    );
    let shown = json(&ok(with(
        &["infer", "show", "1", "--json", "--escrow", &escrow_addr],
        &rpc,
    )));
    assert_eq!(shown["status"], "fulfilled");
    assert_one_line_error(
        &fulfil("1", &build, &input, &good),
        "request 1 is already fulfilled",
    );
    let before = rt.block_on(escrow::balance(&cfg, owner)).unwrap();
    let withdrawn = json(&ok(with(
        &["infer", "withdraw", "--json", "--escrow", &escrow_addr],
        &rpc,
    )));
    assert_eq!(withdrawn["withdrawn_wei"], "1000000000000000000");
    let after = rt.block_on(escrow::balance(&cfg, owner)).unwrap();
    let gain = after - before;
    assert!(
        gain > alloy::primitives::U256::from(999u64)
            * alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(15)),
        "the owner gained only {gain} wei"
    );
    assert_one_line_error(
        &with(&["infer", "withdraw", "--escrow", &escrow_addr], &rpc),
        "has nothing to withdraw",
    );

    // Deadlines: no early refund, no late fulfilment, one refund.
    let req2 = open("100");
    assert_eq!(req2["id"], 2);
    assert_one_line_error(
        &with(&["infer", "refund", "2", "--escrow", &escrow_addr], &rpc),
        "it can be refunded only after that",
    );
    advance(&url, 200);
    assert_one_line_error(&fulfil("2", &build, &input, &good), "request 2 expired");
    ok(with(
        &["infer", "refund", "2", "--escrow", &escrow_addr],
        &rpc,
    ));
    assert_one_line_error(
        &with(&["infer", "refund", "2", "--escrow", &escrow_addr], &rpc),
        "request 2 is already refunded",
    );
    let refunded = json(&ok(with(
        &["infer", "withdraw", "--json", "--escrow", &escrow_addr],
        &requester,
    )));
    assert_eq!(refunded["withdrawn_wei"], "1000000000000000000");
    assert_eq!(
        rt.block_on(escrow::balance(&cfg, escrow_address)).unwrap(),
        alloy::primitives::U256::ZERO,
        "the escrow holds nothing once every request is settled and withdrawn"
    );

    // A contract that says it enforces model 1's key (same hash, same instance count) but
    // accepts anything can be registered (the registry cannot judge code), but no money moves
    // towards it through the CLI: its code is not the build's verifier.
    let artifacts: snarkml_verifier_gen::VerifierArtifacts =
        snarkml::artifacts::read_json(&snarkml::artifacts::BuildDir::new(&build).verifier())
            .unwrap();
    let vk_hash: [u8; 32] = hex::decode(artifacts.vk_artifact_hash.as_deref().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let liar = common::deploy_liar_verifier(&rt, &cfg, vk_hash, 3, true);
    let liar_entry = json(&ok(with(
        &[
            "model",
            "register",
            &build,
            "--registry",
            &registry,
            "--verifier",
            &liar.to_string(),
            "--json",
        ],
        &rpc,
    )));
    assert_eq!(liar_entry["id"], 3);
    assert_eq!(
        liar_entry["vk_hash"], registered["vk_hash"],
        "the registry records what the verifier says"
    );
    assert_ne!(liar_entry["code_hash"], registered["code_hash"]);
    let mut args = vec!["infer", "request", build.as_str(), "--model", "3"];
    args.extend(["--input", input.to_str().unwrap(), "--fee", "1ether"]);
    args.extend(escrow_flag);
    assert_one_line_error(
        &with(&args, &requester),
        "model 3: refusing the verifier at",
    );

    // Bad input gets one line.
    assert_one_line_error(
        &with(&["infer", "show", "9", "--escrow", &escrow_addr], &rpc),
        "there is no request 9",
    );
    assert_one_line_error(
        &with(&["model", "show", "9", "--registry", &registry], &rpc),
        "there is no model 9",
    );
    let request_with = |input: &Path, fee: &str| {
        let input = input.to_str().unwrap();
        let args = [
            "infer", "request", &build, "--model", "1", "--input", input, "--fee", fee,
        ];
        with(&args, &["--escrow", &escrow_addr, "--rpc-url", &url])
    };
    assert_one_line_error(&request_with(&input, "lots"), "invalid fee `lots`");
    let unsalted = t("unsalted.json");
    std::fs::write(&unsalted, r#"{"input_data": [[0.5, -1.0, 1.5, 2.0]]}"#).unwrap();
    assert_one_line_error(&request_with(&unsalted, "1"), "give its salt");
    anvil.stop();
}

/// The instances (as `uint256`) and bytes of a proof file.
fn proof_parts(path: &Path) -> (Vec<alloy::primitives::U256>, Vec<u8>) {
    let file = snarkml_circuits::io::ProofFile::load(path).unwrap();
    let instances = file
        .instance_fields()
        .unwrap()
        .iter()
        .map(pipeline::field_to_u256)
        .collect();
    (instances, file.proof_bytes().unwrap())
}

#[test]
fn deployed_contracts_are_recorded_per_chain_and_found_by_later_commands() {
    toolchain_on_path();
    let chain = TestChain::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snarkml-deployments.json");
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--rpc-url", chain.url()]);
        snarkml_recording(&all, &file)
    };
    // Nothing deployed yet: the error names the chain, the file and what to run.
    let out = run(&["infer", "show", "1"]);
    assert_one_line_error(&out, "no InferenceEscrow recorded for chain 31337");
    assert_one_line_error(
        &out,
        "run `snarkml contracts deploy` first, or give --escrow",
    );

    let deployed = json(&ok(run(&["contracts", "deploy", "--json"])));
    let status = json(&ok(run(&["status", "--json"])));
    assert_eq!(status["chain_id"], 31337);
    for (i, (name, key)) in [
        ("ModelRegistry", "registry"),
        ("InferenceEscrow", "escrow"),
        ("AuditBounty", "bounty"),
    ]
    .into_iter()
    .enumerate()
    {
        let row = &status["contracts"][i];
        assert_eq!(row["contract"], name);
        assert_eq!(row["address"], deployed[key], "{status}");
        assert!(
            row["state"].as_str().unwrap().starts_with("deployed"),
            "{status}"
        );
    }
    assert_eq!(status["contracts"][3]["contract"], "PromptMarketplace");
    assert!(status["contracts"][3]["address"].is_null());

    // Without --escrow, the recorded escrow answers: only the contract knows request 1 does not
    // exist.
    assert_one_line_error(&run(&["infer", "show", "1"]), "there is no request 1");
    // A flag still overrides the record (here with an account that has no code).
    let out = run(&[
        "infer",
        "show",
        "1",
        "--escrow",
        "0x00000000000000000000000000000000000000aa",
    ]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("there is no request 1"));

    // A record made on another chain with the same id (a restarted anvil) is never used.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    v["31337"]["genesis"] = format!("0x{}", "11".repeat(32)).into();
    std::fs::write(&file, v.to_string()).unwrap();
    assert_one_line_error(&run(&["model", "show", "1"]), "the ModelRegistry in");
    assert_one_line_error(
        &run(&["model", "show", "1"]),
        "was recorded on another chain with id 31337 (a restarted anvil?)",
    );
    // A malformed file is named, not ignored.
    std::fs::write(&file, "[1, 2").unwrap();
    assert_one_line_error(&run(&["status"]), "is not a deployments file");
}

/// README "Pay-per-verified-inference", replayed as written on a fresh anvil: the request is
/// fulfilled on the salted input, and `infer salt` never overwrites a salted file.
#[test]
fn the_readme_inference_block_runs_as_written() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let chain = TestChain::start();
    let ran =
        common::replay_readme_block("## Pay-per-verified-inference", tmp.path(), Some(&chain));
    assert!(ran >= 11, "{ran} commands");
    let shown = json(&ok(snarkml_recording(
        &["infer", "show", "1", "--json", "--rpc-url", chain.url()],
        &tmp.path().join("deployments.json"),
    )));
    assert_eq!(shown["status"], "fulfilled", "{shown}");
    // The salted file opens the escrowed commitment, and refuses to be overwritten.
    let build = snarkml::artifacts::BuildDir::new(tmp.path().join("build"));
    let escrowed = pipeline::market::input_instances(&build, &tmp.path().join("in.json")).unwrap();
    assert_eq!(escrowed.len(), 1);
    let again = snarkml(&[
        "infer",
        "salt",
        tmp.path().join("build").to_str().unwrap(),
        "--input",
        common::repo("models/digits_mlp/input.json")
            .to_str()
            .unwrap(),
        "-o",
        tmp.path().join("in.json").to_str().unwrap(),
    ]);
    assert_one_line_error(
        &again,
        "in.json exists: it may hold the salt of an open request",
    );
}
