//! Aggregation end to end, as a user runs it: proofs of two different models (one with a
//! randomized check of its linear layer: a second proof phase) made with
//! `prove --for-aggregation`, aggregated in the default layers (the pair, then a compression
//! of that one proof) by the `snarkml` binary, one step of the tree at a time (`--step`) and
//! as a rerun that keeps the steps made, the key cache kept under its limit; the pair's
//! circuit (the flat aggregation of the two) and the compression's pinned; verified natively,
//! in revm and on anvil; tampered aggregated proofs are rejected everywhere; a bad inner proof
//! is refused before any heavy work.

mod common;

use common::{
    assert_one_line_error, cached_srs, flip_proof_byte, local_chain, repo, snarkml, tamper_json,
    toolchain_on_path,
};
use snarkml::artifacts::BuildDir;
use snarkml::pipeline::aggregate::Layout;
use snarkml::pipeline::aggregate_tree::NodeFile;
use snarkml::pipeline::{self, AggregateRequest, KeyCache};
use snarkml::stored::Stored;
use snarkml_circuits::aggregation::{self, AggregationShape, Expose, ACCUMULATOR_INSTANCES};
use snarkml_circuits::fixed_point::{field_from_hex, field_to_hex};
use snarkml_circuits::halo2_proofs::plonk::VerifyingKey;
use snarkml_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snarkml_circuits::io::ProofFile;
use snarkml_circuits::prover::{self, Transcript};
use snarkml_circuits::quantize::{CompileOptions, LinearMode};
use snarkml_circuits::{Bn256, CircuitError, Fr, G1Affine};
use snarkml_verifier_gen::MAX_RUNTIME_SIZE;
use std::path::{Path, PathBuf};

/// The aggregation circuit's size in these tests (the CLI default).
const AGG_K: u32 = snarkml_circuits::aggregation::DEFAULT_K;
/// The key cache's limit in the tests: room for one aggregation circuit's keys at `AGG_K`
/// (the pair's take 2.1 GB, the compression's 1.6 GB), not two. Also `--cache-limit 3GiB`.
const CACHE_LIMIT: u64 = 3 << 30;

/// Compiles and sets up a fixture (calibrated on its own input) with the shared SRS.
fn build_fixture(dir: &Path, stem: &str, srs: &Path) -> BuildDir {
    build_fixture_checked(dir, stem, srs, LinearMode::Direct)
}

/// [`build_fixture`] with the linear layers checked as `linear` says.
fn build_fixture_checked(dir: &Path, stem: &str, srs: &Path, linear: LinearMode) -> BuildDir {
    let build = BuildDir::create(dir.join(stem)).unwrap();
    let input = repo(&format!("tests/fixtures/{stem}.input.json"));
    pipeline::compile(
        &repo(&format!("tests/fixtures/{stem}.onnx")),
        &build,
        Some(&input),
        &CompileOptions {
            width: 3,
            linear,
            ..Default::default()
        },
    )
    .unwrap();
    pipeline::setup(&build, srs).unwrap();
    build
}

fn prove_for_aggregation(build: &BuildDir, input: &Path, out: &Path) -> Vec<Fr> {
    let o = snarkml(&[
        "prove",
        build.root().to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--for-aggregation",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ProofFile::load(out).unwrap().instance_fields().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The proof bytes with `extra` after them.
fn append_proof_bytes(v: &mut serde_json::Value, extra: &[u8]) {
    let proof = v["proof"].as_str().unwrap().to_owned();
    v["proof"] = format!("{proof}{}", hex::encode(extra)).into();
}

/// The last exposed value plus one, in `instances` and `exposed` alike (so the file is
/// self-consistent and only the proof can object).
fn change_last_exposed(v: &mut serde_json::Value) {
    let last = v["instances"].as_array().unwrap().len() - 1;
    let f = field_from_hex(v["instances"][last].as_str().unwrap()).unwrap() + Fr::from(1);
    v["instances"][last] = field_to_hex(&f).into();
    let last = v["exposed"].as_array().unwrap().len() - 1;
    v["exposed"][last] = field_to_hex(&f).into();
}

/// Checks the pin `name` of an aggregation circuit (its verifying key `vk`'s hash and a stored
/// Keccak-transcript aggregated proof); `fresh` makes a new such proof, called only to rewrite
/// the pin under `SNARKML_UPDATE_PINS`.
fn check_aggregation_pin(
    name: &str,
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    fresh: impl FnOnce() -> (Vec<Fr>, Vec<u8>),
) {
    common::pin::check_pin(name, &prover::vk_hash(vk), fresh, |instances, bytes| {
        aggregation::verify(params, vk, instances, bytes, Transcript::Keccak)
    });
}

/// The verifying key and shape of the aggregation circuit that made the node file `node`.
fn node_key(node: &Path) -> (VerifyingKey<G1Affine>, AggregationShape) {
    let file: NodeFile = serde_json::from_slice(&std::fs::read(node).unwrap()).unwrap();
    let vk = aggregation::vk_from_bytes(&hex::decode(&file.vk).unwrap(), &file.shape).unwrap();
    (vk, file.shape)
}

#[test]
fn proofs_of_two_models_aggregate_verify_everywhere_and_tampering_is_rejected() {
    toolchain_on_path();
    let tmp = tempfile::tempdir().unwrap();
    let srs = cached_srs(AGG_K);
    let cache = tmp.path().join("cache");
    let relu = build_fixture(tmp.path(), "relu3", &srs);
    // The second model's linear layer by a randomized check: a two-phase inner proof.
    let linear = build_fixture_checked(tmp.path(), "linear", &srs, LinearMode::Freivalds);
    assert!(pipeline::load(&linear).unwrap().model.uses_freivalds());
    let p1 = tmp.path().join("p1.json");
    let p2 = tmp.path().join("p2.json");
    let i1 = prove_for_aggregation(&relu, &repo("tests/fixtures/relu3.input.json"), &p1);
    let i2 = prove_for_aggregation(&linear, &repo("tests/fixtures/linear.input.json"), &p2);
    // A Poseidon-transcript proof verifies natively but is not for the EVM verifier.
    pipeline::verify(&relu, &p1).unwrap();
    // Bytes after its end are refused, as the on-chain verifier refuses them.
    let trailing = tmp.path().join("trailing-p1.json");
    tamper_json(&p1, &trailing, |v| append_proof_bytes(v, &[0; 32]));
    let err = pipeline::verify(&relu, &trailing).unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<CircuitError>(),
            Some(CircuitError::TrailingProofBytes { extra: 32 })
        ),
        "{err:#}"
    );

    // The default layout through the CLI, with another relu3 input: the pair is aggregated,
    // then compressed into one proof for the EVM, one step of the tree at a time and then as
    // a whole-tree rerun that keeps the pair's node file.
    let p3 = tmp.path().join("p3.json");
    let other = tmp.path().join("other.json");
    std::fs::write(&other, r#"{"input_data": [[1.5, -0.25, -2.0]]}"#).unwrap();
    let i3 = prove_for_aggregation(&relu, &other, &p3);
    assert_ne!(i3, i1);
    let aggr = BuildDir::new(tmp.path().join("aggr"));
    let k = AGG_K.to_string();
    let aggregate = |extra: &[&str]| {
        let mut args = vec![
            "aggregate",
            s(&p3),
            s(&p2),
            "--build",
            s(relu.root()),
            "--build",
            s(linear.root()),
            "--srs",
            s(&srs),
            "--k",
            &k,
            "--expose",
            "all",
            "-o",
            s(aggr.root()),
            "--cache-dir",
            s(&cache),
            "--cache-limit",
            "3GiB",
        ];
        args.extend_from_slice(extra);
        snarkml(&args)
    };
    let json = |o: &std::process::Output| -> serde_json::Value {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // The tree, step by step as a cluster runs it: the pair (layer 0), then the top.
    let tree = json(&aggregate(&["--tree", "--json"]));
    assert_eq!(tree["layers"], serde_json::json!([[2], [1]]), "{tree}");
    assert_eq!(
        tree["steps"],
        serde_json::json!([["0:0"], ["1:0"]]),
        "{tree}"
    );
    // Each step is costed with the public instances it verifies: the two proofs' (all exposed),
    // then those plus the pair's accumulator at the top.
    let predicted = &tree["predicted"]["steps"];
    let both = i3.len() + i2.len();
    assert_eq!(predicted[0][0]["instances"], both, "{tree}");
    assert_eq!(predicted[1][0]["instances"], both + 12, "{tree}");
    assert_one_line_error(
        &aggregate(&["--step", "2:0"]),
        "--step 2:0: this aggregation's tree has 0: 1, 1: 1 (layer: groups)",
    );
    assert_one_line_error(
        &aggregate(&["--step", "1:0"]),
        "aggregation step 1:0: step 0:0 below it is not done",
    );
    let pair = json(&aggregate(&["--step", "0:0", "--json"]));
    assert_eq!(
        (&pair["step"], &pair["proofs"], &pair["reused"]),
        (&"0:0".into(), &2.into(), &false.into()),
        "{pair}"
    );
    assert!(pair["keygen_secs"].as_f64().unwrap() > 0.0, "{pair}");
    let node = aggr.root().join("nodes/0-0.json");
    assert_eq!(pair["node"], s(&node), "{pair}");
    // The pair's circuit is the flat aggregation of the two (one circuit; only the
    // transcript of a node's proof differs): its verifying key is pinned (a deployed verifier
    // of the flat aggregation keeps accepting new proofs), and a flat, Keccak-transcript
    // aggregated proof made by an earlier version still verifies with it.
    let (pair_vk, pair_shape) = node_key(&node);
    let params = snarkml::stored::read_params(&srs).unwrap().0;
    let params = aggregation::verifier_params(&params, pair_vk.get_domain().k());
    check_aggregation_pin("aggregation_relu3_linear_flat", &params, &pair_vk, || {
        let flat = BuildDir::new(tmp.path().join("flat"));
        let req = AggregateRequest {
            proofs: vec![p1.clone(), p2.clone()],
            builds: vec![relu.root().to_owned(), linear.root().to_owned()],
            srs: srs.clone(),
            k: AGG_K,
            expose: Expose::All,
            layout: Layout::FLAT,
            cache: KeyCache::new(&cache).with_limit(CACHE_LIMIT),
            step: None,
        };
        pipeline::aggregate(&req, &flat, |_| {}).unwrap();
        let loaded = pipeline::load_aggregation(&flat).unwrap();
        let (_, instances, bytes) =
            pipeline::aggregated::load_aggregated_proof(&loaded.info, &flat.proof()).unwrap();
        assert_eq!(
            instances[ACCUMULATOR_INSTANCES..],
            [i1.clone(), i2.clone()].concat()[..]
        );
        (instances, bytes)
    });
    // Asked again (a retried task), the node file is kept, not proven again.
    let again = json(&aggregate(&["--step", "0:0", "--json"]));
    assert_eq!(again["reused"], true, "{again}");
    // A node file whose proof was tampered with is not taken by the step above it.
    let kept = std::fs::read(&node).unwrap();
    tamper_json(&node, &node, flip_proof_byte);
    let refused = aggregate(&["--step", "1:0"]);
    assert_one_line_error(&refused, "its proof does not verify");
    assert_one_line_error(&refused, "step 0:0 below it is not done");
    std::fs::write(&node, kept).unwrap();
    // The whole tree, rerun: the pair's node file is kept, only the compression is proven
    // (new keys).
    let o = aggregate(&["--json"]);
    // Not on a terminal, progress comes as plain lines with the time left; two proofs are
    // predicted under the 10-minute, 8-GiB warning.
    let progress = String::from_utf8_lossy(&o.stderr);
    assert!(
        progress.contains("aggregation 1/2 (layer 0): made before from the same proofs, kept")
            && progress.contains("aggregation 2/2 (layer 1): proving, about")
            && progress.contains("min of proving left"),
        "{progress}"
    );
    assert!(!progress.contains("note: this aggregation"), "{progress}");
    // The cache keeps under its limit: the pair's keys (used last by step 0:0) made room
    // for the compression's, so a CI machine's disk holds one aggregation key at a time.
    assert!(
        progress.contains("note: removed 1 least recently used key cache entry"),
        "{progress}"
    );
    let entries = KeyCache::new(&cache).entries();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].bytes <= CACHE_LIMIT, "{entries:?}");
    let report = json(&o);
    assert_eq!(report["layers"], serde_json::json!([[2], [1]]), "{report}");
    assert_eq!(
        (&report["aggregations"], &report["reused"]),
        (&1.into(), &1.into()),
        "{report}"
    );
    assert_eq!(report["keys_generated"], 1, "{report}");
    // The exposed instances are exactly the inner proofs' instances, in order.
    let proof = aggr.proof();
    let file = pipeline::verify_aggregated(&aggr, &proof).unwrap();
    let instances: Vec<Fr> = file.instance_fields().unwrap();
    assert_eq!(instances[ACCUMULATOR_INSTANCES..], [i3, i2].concat()[..]);
    // The compression circuit at the top of the tree (the one a deployed verifier checks) is
    // pinned too, with an aggregated proof made by an earlier version.
    let loaded = pipeline::load_aggregation(&aggr).unwrap();
    check_aggregation_pin(
        "aggregation_relu3_linear_compressed",
        &loaded.params,
        &loaded.vk,
        || {
            let (_, instances, bytes) =
                pipeline::aggregated::load_aggregated_proof(&loaded.info, &proof).unwrap();
            (instances, bytes)
        },
    );
    let o = snarkml(&["verify", s(aggr.root()), s(&proof)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let flipped = tmp.path().join("flipped.json");
    tamper_json(&proof, &flipped, flip_proof_byte);
    let changed = tmp.path().join("changed.json");
    tamper_json(&proof, &changed, change_last_exposed);
    for bad in [&flipped, &changed] {
        let err = pipeline::verify_aggregated(&aggr, bad).unwrap_err();
        assert!(format!("{err:#}").contains("proof rejected"), "{err:#}");
    }
    let trailing = tmp.path().join("trailing.json");
    tamper_json(&proof, &trailing, |v| append_proof_bytes(v, &[7; 100]));
    let err = pipeline::verify_aggregated(&aggr, &trailing).unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<CircuitError>(),
            Some(CircuitError::TrailingProofBytes { extra: 100 })
        ),
        "{err:#}"
    );
    // The inner proofs it shows are the ones aggregated.
    let relisted = tmp.path().join("relisted.json");
    tamper_json(&proof, &relisted, |v| {
        v["inner"] = serde_json::json!(["a.json", "b.json", "c.json"])
    });
    assert_one_line_error(
        &snarkml(&["verify", s(aggr.root()), s(&relisted)]),
        "proof file field `inner` lists 3 proof(s), this aggregation was made of 2",
    );

    // Every verifier form: ours (self-contained, the default; reusable) and snark-verifier's,
    // in revm and on anvil; ours also through the Rust reference of its algorithm.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (anvil, cfg) = rt.block_on(local_chain());
    let proof_file = pipeline::verify_aggregated(&aggr, &proof).unwrap();
    let (instances, bytes) = (
        proof_file.instance_fields().unwrap(),
        proof_file.proof_bytes().unwrap(),
    );
    for flag in [None, Some("--reusable"), Some("--snark-verifier")] {
        let out = tmp.path().join("generated");
        let mut args = vec![
            "gen-verifier",
            s(aggr.root()),
            "--aggregated",
            "-o",
            s(&out),
        ];
        args.extend(flag);
        let o = snarkml(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let artifacts: snarkml_verifier_gen::VerifierArtifacts =
            snarkml::artifacts::read_json(&aggr.verifier()).unwrap();
        assert!(
            artifacts.verifier_runtime_size <= MAX_RUNTIME_SIZE,
            "{flag:?}: aggregation verifier runtime {} bytes exceeds EIP-170",
            artifacts.verifier_runtime_size
        );
        let revm_gas = pipeline::evm_verify(&aggr, &proof).unwrap();
        println!(
            "aggregation verifier {flag:?}: runtime {} bytes, {revm_gas} gas in revm",
            artifacts.verifier_runtime_size
        );
        for bad in [&flipped, &changed] {
            common::assert_evm_refuses(&aggr, bad);
        }
        if let Some(hex_artifact) = &artifacts.vk_artifact {
            use snarkml_verifier_gen::verify::{verify, VerifyError};
            let a = snarkml_verifier_gen::artifact::VkArtifact::decode(
                &hex::decode(hex_artifact).unwrap(),
            )
            .unwrap();
            assert_eq!(a.accumulator, Some(0));
            verify(&a, &instances, &bytes).unwrap();
            // Another accumulator in the instances: lhs and rhs swapped (both points on the
            // curve) is refused by the pairing; the first limb plus one puts lhs off the curve.
            let mut swapped = instances.clone();
            swapped[..12].rotate_left(6);
            assert_eq!(verify(&a, &swapped, &bytes), Err(VerifyError::Rejected));
            let mut other = instances.clone();
            other[0] += Fr::from(1);
            assert_eq!(verify(&a, &other, &bytes), Err(VerifyError::Accumulator(0)));
            let mut beyond = instances.clone();
            beyond[1] = -Fr::from(1);
            assert_eq!(
                verify(&a, &beyond, &bytes),
                Err(VerifyError::Accumulator(1))
            );
        }
        rt.block_on(async {
            let d = pipeline::deploy(&aggr, &cfg, false, None).await.unwrap();
            let address = pipeline::parse_address(&d.verifier).unwrap();
            let ok = pipeline::verify_onchain(&aggr, &proof, address, &cfg)
                .await
                .unwrap();
            assert!(ok.valid, "{flag:?}");
            println!(
                "  aggregated proof on anvil: {} gas",
                ok.gas_used.expect("gas")
            );
            for bad in [&flipped, &changed] {
                let v = pipeline::verify_onchain(&aggr, bad, address, &cfg)
                    .await
                    .unwrap();
                assert!(!v.valid, "{flag:?}: {} accepted on-chain", bad.display());
            }
        });
    }
    anvil.stop();

    // The compressed circuit verifies one proof: fewer columns than the pair's, which is
    // what makes its verifier cheaper.
    let info = pipeline::load_aggregation(&aggr).unwrap().info;
    assert!(
        info.shape.config.num_advice < pair_shape.config.num_advice,
        "compressed {:?} vs the pair {:?}",
        info.shape.config,
        pair_shape.config
    );
}

#[test]
fn bad_inner_proofs_and_bad_requests_are_refused_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let srs = cached_srs(AGG_K);
    let relu = build_fixture(tmp.path(), "relu3", &srs);
    let input = repo("tests/fixtures/relu3.input.json");
    let good = tmp.path().join("good.json");
    prove_for_aggregation(&relu, &input, &good);
    let flipped = tmp.path().join("flipped.json");
    tamper_json(&good, &flipped, flip_proof_byte);
    let keccak = tmp.path().join("keccak.json");
    let o = snarkml(&[
        "prove",
        s(relu.root()),
        "--input",
        s(&input),
        "-o",
        s(&keccak),
    ]);
    assert!(o.status.success());

    let aggregate = |proofs: &[&PathBuf], extra: &[&str]| {
        let out = tmp.path().join("aggr");
        let mut args = vec!["aggregate"];
        args.extend(proofs.iter().map(|p| s(p)));
        args.extend([
            "--build",
            s(relu.root()),
            "--srs",
            s(&srs),
            "-o",
            s(&out),
            "--cache-dir",
            s(tmp.path()),
        ]);
        args.extend(extra);
        snarkml(&args)
    };
    let o = aggregate(&[&good, &flipped], &[]);
    assert_one_line_error(&o, "flipped.json does not verify");
    let o = aggregate(&[&good, &keccak], &[]);
    assert_one_line_error(&o, "--for-aggregation");
    let o = aggregate(&[&good, &good], &["--expose", "sum:9"]);
    assert_one_line_error(&o, "out of range");
    let o = aggregate(&[&good], &["--expose", "median:0"]);
    assert_one_line_error(&o, "median:0");
    // One proof's instance beside a sum means nothing above the first layer of a tree.
    let o = aggregate(&[&good, &good], &["--expose", "instance:1:0,sum:0"]);
    assert_one_line_error(&o, "cannot be aggregated in layers");
    let o = aggregate(&[&good], &["--k", "30"]);
    assert_one_line_error(&o, "k=30");
    // Another model's build does not hold the proof's verifying key.
    let linear = build_fixture(tmp.path(), "linear", &srs);
    let o = snarkml(&[
        "aggregate",
        s(&good),
        "--build",
        s(linear.root()),
        "--srs",
        s(&srs),
        "-o",
        s(&tmp.path().join("never")),
    ]);
    assert_one_line_error(&o, "none of the --build directories");
    // A Poseidon proof is not for the EVM verifier.
    let err = pipeline::evm_verify(&relu, &good).unwrap_err();
    assert!(format!("{err:#}").contains("--for-aggregation"), "{err:#}");
    // A model build is not an aggregation directory.
    let o = snarkml(&["gen-verifier", s(relu.root()), "--aggregated"]);
    assert_one_line_error(&o, "not an aggregation directory");
}
