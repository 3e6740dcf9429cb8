//! The prompt marketplace end to end on anvil, through the CLI, with the shipped text model
//! (`models/tiny_text`: token ids one-hot → embedding → MLP → class logits): a seller lists a
//! secret prompt with an inference proof of its output, a buyer escrows the price with a Grumpkin key, the
//! seller delivers it encrypted with a delivery proof and is paid in that transaction, and the
//! buyer decrypts exactly the prompt. Refused: a listing whose output is not the model's, a
//! delivery encrypted to another key, of another prompt, for another order, a second delivery,
//! a refund before the deadline, a late delivery; nothing is mis-paid.

mod common;

use common::{
    advance, assert_one_line_error, cached_srs, json, ok, repo, snarkml, tamper_json,
    toolchain_on_path, TestChain,
};
use snarkml::chain::prompt as market;
use snarkml::pipeline::{self, prompt};
use snarkml::stored::Stored;
use snarkml_circuits::cipher::{self, Point};
use snarkml_circuits::halo2_proofs::halo2curves::ff::Field;
use snarkml_circuits::io::OpeningsFile;
use snarkml_circuits::prompt::{self as delivery, DeliveryWitness};
use snarkml_circuits::Fr;
use std::path::Path;

/// Anvil's second default account: the buyer.
const BUYER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// The model's vocabulary (`models/tiny_text/vocab.json`) and prompt length.
fn vocab() -> (Vec<String>, usize) {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo("models/tiny_text/vocab.json")).unwrap(),
    )
    .unwrap();
    let tokens = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    (tokens, v["length"].as_u64().unwrap() as usize)
}

/// Writes a sentence as the model's input (its one-hot encoding) with the commitment's salt.
fn write_prompt(path: &Path, words: &[&str], salt: &str) {
    let (vocab, len) = vocab();
    assert_eq!(words.len(), len);
    let mut x = vec![0.0f32; len * vocab.len()];
    for (i, w) in words.iter().enumerate() {
        x[i * vocab.len() + vocab.iter().position(|v| v == w).unwrap()] = 1.0;
    }
    std::fs::write(
        path,
        serde_json::json!({"input_data": [x], "salts": {"tokens": salt}}).to_string(),
    )
    .unwrap();
}

/// The sentence of a one-hot input file.
fn read_prompt(path: &Path) -> Vec<String> {
    let (vocab, _) = vocab();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let x: Vec<f64> = v["input_data"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_f64().unwrap())
        .collect();
    x.chunks(vocab.len())
        .map(|hot| {
            let i = hot.iter().position(|h| *h == 1.0).unwrap();
            assert_eq!(hot.iter().filter(|h| **h != 0.0).count(), 1);
            vocab[i].clone()
        })
        .collect()
}

#[test]
fn a_prompt_is_listed_bought_delivered_and_decrypted_and_every_bad_step_is_refused() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p);
    let s = |p: &Path| p.to_str().unwrap().to_owned();

    // The public model, its input hashed (the prompt) and its output public (what the seller
    // advertises).
    let build = s(&t("build"));
    ok(snarkml(&[
        "compile",
        &s(&repo("models/tiny_text/model.onnx")),
        "-o",
        &build,
        "--calibration",
        &s(&repo("models/tiny_text/calibration.json")),
        "--inputs",
        "hashed",
    ]));
    ok(snarkml(&["setup", &build, "--srs", &s(&cached_srs(14))]));
    let (vocab, words) = vocab();
    let prompt_len = words * vocab.len();
    let srs = cached_srs(delivery::delivery_k(prompt_len));
    let chain = TestChain::start();
    ok(snarkml(&[
        "gen-verifier",
        &build,
        "-o",
        &s(&t("generated")),
    ]));
    ok(chain.cli(&["deploy", &build], &[]));
    let contracts = json(&ok(chain.cli(&["contracts", "deploy", "--json"], &[])));
    let registry = contracts["registry"].as_str().unwrap().to_owned();
    ok(chain.cli(&["model", "register", &build, "--registry", &registry], &[]));

    // Delivery keys and verifier for the model's prompt length; the marketplace fixes them.
    let dir = t("delivery");
    let len_arg = prompt_len.to_string();
    let setup = json(&ok(snarkml(&[
        "market",
        "setup",
        "--prompt-len",
        &len_arg,
        "--srs",
        &s(&srs),
        "-o",
        &s(&dir),
        "--json",
    ])));
    assert_eq!(
        setup["num_instances"],
        6 + delivery::ciphertext_len(prompt_len)
    );
    let deployed = json(&ok(chain.cli(
        &[
            "market",
            "deploy",
            "--registry",
            &registry,
            "--delivery",
            &s(&dir),
            "--json",
        ],
        &[],
    )));
    let market_addr = deployed["market"].as_str().unwrap().to_owned();
    let m = ["--market", market_addr.as_str()];
    let address = pipeline::parse_address(&market_addr).unwrap();
    let deliver = |order: &str, proof: &str, extra: &[&str]| {
        let dir = s(&dir);
        let mut args = vec![
            "market",
            "deliver",
            order,
            "--proof",
            proof,
            "--delivery",
            &dir,
        ];
        args.extend_from_slice(extra);
        chain.cli(&args, &m)
    };
    // The model's proof on a sentence, salted: the listing proof of that prompt.
    let prove_prompt = |words: &[&str], salt: &str, name: &str| {
        let input = t(&format!("{name}.input.json"));
        write_prompt(&input, words, salt);
        let proof = s(&t(&format!("{name}.json")));
        ok(snarkml(&[
            "prove",
            &build,
            "--input",
            &s(&input),
            "-o",
            &proof,
        ]));
        proof
    };

    // The seller proves the model on its secret prompt and lists it.
    let listing = prove_prompt(&["dog", "runs", "fast", "<pad>"], "4242", "listing");
    // A listing whose advertised output is not the model's is refused.
    let forged = t("forged.json");
    tamper_json(Path::new(&listing), &forged, |v| {
        let last = v["instances"].as_array().unwrap().len() - 1;
        v["instances"][last] = "0x05".into();
    });
    std::fs::copy(
        pipeline::openings_path(Path::new(&listing)),
        pipeline::openings_path(&forged),
    )
    .unwrap();
    assert_one_line_error(
        &chain.cli(
            &[
                "market",
                "list",
                &s(&forged),
                "--build",
                &build,
                "--model",
                "1",
                "--price",
                "1ether",
            ],
            &m,
        ),
        "do not match the proof's public instances",
    );
    // ... and, with the file check bypassed, the contract refuses it.
    let file = snarkml_circuits::io::ProofFile::load(Path::new(&listing)).unwrap();
    let mut inst: Vec<_> = file
        .instance_fields()
        .unwrap()
        .iter()
        .map(pipeline::field_to_u256)
        .collect();
    let last = inst.len() - 1;
    inst[last] += alloy::primitives::U256::from(1);
    let bytes = file.proof_bytes().unwrap();
    let err = chain
        .rt
        .block_on(market::list(
            &chain.cfg,
            address,
            1,
            &bytes,
            &inst,
            prompt_len,
            alloy::primitives::U256::from(1),
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the model's verifier rejected the listing proof"),
        "{err}"
    );
    // Extra instances before the last one are refused by their count, before the verifier.
    let mut more = inst.clone();
    more.insert(1, alloy::primitives::U256::from(9));
    let err = chain
        .rt
        .block_on(market::list(
            &chain.cfg,
            address,
            1,
            &bytes,
            &more,
            prompt_len,
            alloy::primitives::U256::from(1),
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "the listing proof has {} public instances, model 1's verifier takes {}",
            inst.len() + 1,
            inst.len()
        )),
        "{err}"
    );
    let listed = json(&ok(chain.cli(
        &[
            "market", "list", &listing, "--build", &build, "--model", "1", "--price", "1ether",
            "--json",
        ],
        &m,
    )));
    assert_eq!(listed["id"], 1);
    assert_eq!(listed["prompt_len"], prompt_len);
    let openings: OpeningsFile =
        snarkml::artifacts::read_json(&pipeline::openings_path(Path::new(&listing))).unwrap();
    assert_eq!(listed["prompt_commitment"], openings.openings[0].commitment);

    // The buyer makes a key and buys.
    let key = s(&t("buyer.key.json"));
    let made = json(&ok(snarkml(&["market", "keygen", "-o", &key, "--json"])));
    assert_one_line_error(
        &snarkml(&["market", "keygen", "-o", &key]),
        "refusing to overwrite",
    );
    // What the buyer checks the listing's model and the delivery verifier against.
    let dir_s = s(&dir);
    let checked = [
        "--build",
        build.as_str(),
        "--delivery",
        dir_s.as_str(),
        "--market",
        market_addr.as_str(),
    ];
    // Bad key files are named, never used: a secret that is no scalar, a public key that is
    // not the secret's, a file that is no key file.
    let bad_key = t("bad.key.json");
    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&key).unwrap()).unwrap();
    for (field, value, needle) in [
        (
            "secret",
            serde_json::json!("0x12"),
            "is not a Grumpkin scalar",
        ),
        (
            "public",
            serde_json::json!(["0x01", made["public"][1]]),
            "the public key is not the secret's",
        ),
        (
            "format",
            serde_json::json!("something/1"),
            "not a snarkml key file",
        ),
    ] {
        let mut v = edited.clone();
        v[field] = value;
        std::fs::write(&bad_key, v.to_string()).unwrap();
        assert_one_line_error(
            &chain.cli(&["market", "buy", "1", "--key", &s(&bad_key)], &checked),
            needle,
        );
    }
    edited["secret"] = serde_json::json!("0x00");
    std::fs::write(&bad_key, edited.to_string()).unwrap();
    assert_one_line_error(
        &chain.cli(&["market", "buy", "1", "--key", &s(&bad_key)], &checked),
        "is not a Grumpkin scalar",
    );
    assert_one_line_error(
        &snarkml(&[
            "market",
            "setup",
            "--prompt-len",
            "0",
            "--srs",
            &s(&srs),
            "-o",
            &s(&t("d0")),
        ]),
        "at least one value",
    );
    let buyer = ["--private-key", BUYER_KEY];
    let buy = |ttl: &str| {
        let mut extra = checked.to_vec();
        extra.extend(buyer);
        json(&ok(chain.cli(
            &["market", "buy", "1", "--key", &key, "--ttl", ttl, "--json"],
            &extra,
        )))
    };
    // A listing of a model registered with a verifier that accepts anything (here with the
    // honest listing's proof, but any bytes would do) is not bought: the buyer's build does not
    // generate that verifier.
    let artifacts: snarkml_verifier_gen::VerifierArtifacts =
        snarkml::artifacts::read_json(&snarkml::artifacts::BuildDir::new(&build).verifier())
            .unwrap();
    let vk_hash: [u8; 32] = hex::decode(artifacts.vk_artifact_hash.as_deref().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let liar = common::deploy_liar_verifier(
        &chain.rt,
        &chain.cfg,
        vk_hash,
        artifacts.num_instances as u64,
        true,
    );
    let liar_model = json(&ok(chain.cli(
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
        &[],
    )))["id"]
        .as_u64()
        .unwrap();
    let liar_listing = chain
        .rt
        .block_on(market::list(
            &chain.cfg,
            address,
            liar_model,
            &[0xab; 32],
            &inst,
            prompt_len,
            alloy::primitives::U256::from(1),
        ))
        .unwrap();
    let mut extra = checked.to_vec();
    extra.extend(buyer);
    assert_one_line_error(
        &chain.cli(
            &["market", "buy", &liar_listing.to_string(), "--key", &key],
            &extra,
        ),
        &format!("model {liar_model}: refusing the verifier at"),
    );
    let order = buy("600");
    assert_eq!(order["id"], 1);
    assert_eq!(order["status"], "open");
    assert_eq!(order["key"][0], made["public"][0]);
    let cfg = &chain.cfg;
    let rt = &chain.rt;
    assert_eq!(
        rt.block_on(market::open_escrow(cfg, address)).unwrap(),
        alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18))
    );

    // Deliveries the contract refuses, made with the library to bypass the CLI's own checks.
    let loaded = prompt::load_delivery(&pipeline::prompt::DeliveryDir::new(&dir)).unwrap();
    let (prompt_values, salt, _) = prompt::listing_prompt(Path::new(&listing)).unwrap();
    let (_, buyer_pk) = prompt::load_buyer_key(Path::new(&key)).unwrap();
    let other_pk = cipher::public_key(cipher::random_scalar(rand::rngs::OsRng)).unwrap();
    let send = |w: &DeliveryWitness, to: Point, nonce: u64| {
        let (proof, inst) =
            delivery::prove(&loaded.params, &loaded.keys, w, to, Fr::from(nonce)).unwrap();
        let inst: Vec<_> = inst
            .to_fields()
            .iter()
            .map(pipeline::field_to_u256)
            .collect();
        rt.block_on(market::deliver(cfg, address, 1, &proof, &inst))
    };
    let honest = DeliveryWitness {
        prompt: prompt_values.clone(),
        salt,
        ephemeral: Fr::random(rand::rngs::OsRng),
    };
    let err = send(&honest, other_pk, 1).unwrap_err().to_string();
    assert!(err.contains("encrypted to another key"), "{err}");
    let mut other_prompt = honest.clone();
    other_prompt.prompt[0] += Fr::ONE;
    let err = send(&other_prompt, buyer_pk, 1).unwrap_err().to_string();
    assert!(err.contains("is of prompt commitment"), "{err}");
    let err = send(&honest, buyer_pk, 2).unwrap_err().to_string();
    assert!(err.contains("is for order 2, not 1"), "{err}");
    // The CLI refuses another prompt's proof before proving.
    let other_listing = prove_prompt(&["cat", "sleeps", "<pad>", "<pad>"], "4243", "other");
    assert_one_line_error(
        &deliver("1", &other_listing, &[]),
        "does not open listing 1's commitment",
    );
    assert_one_line_error(
        &chain.cli(
            &[
                "market", "decrypt", "1", "--key", &key, "--build", &build, "-o", "x",
            ],
            &m,
        ),
        "has not been delivered",
    );
    // A build directory is not a delivery directory.
    assert_one_line_error(
        &chain.cli(
            &[
                "market",
                "deliver",
                "1",
                "--proof",
                &listing,
                "--delivery",
                &build,
            ],
            &m,
        ),
        "is not a delivery directory",
    );

    // The honest delivery pays the seller in the same transaction.
    let delivered = json(&ok(deliver("1", &listing, &["--json"])));
    assert_eq!(
        delivered["ciphertext_len"],
        delivery::ciphertext_len(prompt_len)
    );
    println!(
        "delivery on anvil: {} gas, proved in {} s",
        delivered["gas_used"], delivered["prove_seconds"]
    );
    assert_eq!(
        rt.block_on(market::order(cfg, address, 1)).unwrap().status,
        "delivered"
    );
    assert_one_line_error(&deliver("1", &listing, &[]), "already delivered");
    let err = send(&honest, buyer_pk, 1).unwrap_err().to_string();
    assert!(err.contains("already delivered"), "{err}");

    // The buyer decrypts exactly the prompt, as an input file that reproduces the listing.
    let decrypted = t("decrypted.json");
    let out = json(&ok(chain.cli(
        &[
            "market",
            "decrypt",
            "1",
            "--key",
            &key,
            "--build",
            &build,
            "-o",
            &s(&decrypted),
            "--json",
        ],
        &m,
    )));
    assert_eq!(
        out["prompt"],
        serde_json::json!(openings.openings[0].quantized)
    );
    assert_eq!(out["salt"], openings.openings[0].salt);
    assert_eq!(read_prompt(&decrypted), ["dog", "runs", "fast", "<pad>"]);
    let again = s(&t("again.json"));
    ok(snarkml(&[
        "prove",
        &build,
        "--input",
        &s(&decrypted),
        "-o",
        &again,
    ]));
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    assert_eq!(read(&again)["instances"], read(&listing)["instances"]);
    // Another key reads nothing.
    let stranger = s(&t("stranger.key.json"));
    ok(snarkml(&["market", "keygen", "-o", &stranger]));
    assert_one_line_error(
        &chain.cli(
            &[
                "market", "decrypt", "1", "--key", &stranger, "--build", &build, "-o", "x",
            ],
            &m,
        ),
        "is not order 1's buyer key",
    );

    // Order 2 is never delivered: no refund before the deadline, no delivery after it.
    assert_eq!(buy("60")["id"], 2);
    assert_one_line_error(
        &chain.cli(&["market", "refund", "2"], &m),
        "can be refunded only after",
    );
    advance(chain.url(), 120);
    assert_one_line_error(&deliver("2", &listing, &[]), "expired");
    ok(chain.cli(&["market", "refund", "2"], &m));
    let shown = json(&ok(
        chain.cli(&["market", "show", "order", "2", "--json"], &m)
    ));
    assert_eq!(shown["status"], "refunded");

    // The seller was paid once, the buyer refunded once; both withdraw; nothing is left.
    let mut extra = m.to_vec();
    extra.extend(buyer);
    let w = json(&ok(chain.cli(&["market", "withdraw", "--json"], &extra)));
    assert_eq!(w["withdrawn_wei"], "1000000000000000000");
    let w = json(&ok(chain.cli(&["market", "withdraw", "--json"], &m)));
    assert_eq!(w["withdrawn_wei"], "1000000000000000000");
    assert_eq!(
        rt.block_on(snarkml::chain::escrow::balance(cfg, address))
            .unwrap(),
        alloy::primitives::U256::ZERO
    );
}

/// README "Prompt marketplace", replayed as written on a fresh anvil: the order is delivered
/// and the buyer's decrypted prompt is the seller's.
#[test]
fn the_readme_prompt_market_block_runs_as_written() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let chain = TestChain::start();
    let ran = common::replay_readme_block("## Prompt marketplace", tmp.path(), Some(&chain));
    assert!(ran >= 15, "{ran} commands");
    assert_eq!(
        read_prompt(&tmp.path().join("prompt.json")),
        ["dog", "runs", "fast", "<pad>"]
    );
}
