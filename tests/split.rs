//! Split proving through the CLI (issue #20): `compile --segments N` / `--max-memory` writes
//! one build per segment; setup, mock, prove and verify go segment by segment; a split proof
//! whose segments do not chain (spliced from two runs, cut short, a proof byte flipped) is
//! refused naming the segment; segments proven apart chain under the input file's salts; the
//! Ray driver proves a task per segment (Ray started locally) and resumes.

mod common;

use common::{
    assert_one_line_error, cached_srs, flip_proof_byte, json, ok, repo, snarkml, tamper_json,
    venv_bin,
};
use snarkml::stored::Stored;
use snarkml_circuits::io::OpeningsFile;
use std::path::Path;
use std::process::Command;

const MODEL: &str = "tests/fixtures/corpus/cnn_digits";

fn model_file(ext: &str) -> String {
    repo(&format!("{MODEL}.{ext}")).display().to_string()
}

/// Compiles the corpus CNN into `dir/b` with `extra` options (`--json`); returns its summary.
fn compile(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let b = dir.join("b");
    let (onnx, calibration) = (model_file("onnx"), model_file("calibration.json"));
    let mut args = vec![
        "compile",
        &onnx,
        "--calibration",
        &calibration,
        "-o",
        b.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    json(&ok(snarkml(&args)))
}

/// The second calibration sample as an input file: another input for the same model.
fn other_input(dir: &Path) -> std::path::PathBuf {
    let calibration: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model_file("calibration.json")).unwrap())
            .unwrap();
    let path = dir.join("other.json");
    let sample = &calibration["inputs"][1];
    std::fs::write(
        &path,
        serde_json::json!({ "input_data": [sample] }).to_string(),
    )
    .unwrap();
    path
}

#[test]
fn a_split_model_proves_and_verifies_segment_by_segment_and_broken_chains_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = compile(tmp.path(), &["--segments", "3"]);
    let segments = summary["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 3);
    assert_eq!(segments[0]["layers"][0], 0);
    assert_eq!(segments[2]["layers"][1], summary["layers"]);
    // What the cost model predicts: per segment, for one machine and for one per segment.
    let predicted = &summary["predicted"];
    assert_eq!(predicted["segments"].as_array().unwrap().len(), 3);
    let one = predicted["one_machine_seconds"].as_f64().unwrap();
    let spread = predicted["one_machine_per_segment_seconds"]
        .as_f64()
        .unwrap();
    assert!(spread > 0.0 && spread < one, "{predicted}");
    let b = tmp.path().join("b");
    let b = b.to_str().unwrap();
    assert!(Path::new(b).join("split.json").is_file());
    for j in 1..=3 {
        assert!(Path::new(b)
            .join(format!("segment-{j}/model.json"))
            .is_file());
    }
    // `profile` shows the whole model, then each segment as compile sized it, and what the
    // cuts add: the segments' rows beyond the whole model's.
    let profile = json(&ok(snarkml(&["profile", b, "--json"])));
    let split = &profile["split"];
    let rows: Vec<u64> = split["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["profile"]["rows"].as_u64().unwrap())
        .collect();
    let compiled: Vec<u64> = segments
        .iter()
        .map(|s| s["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, compiled);
    assert_eq!(split["segments"][1]["layers"], segments[1]["layers"]);
    let whole = profile["rows"].as_u64().unwrap();
    assert_eq!(split["rows"].as_u64().unwrap(), rows.iter().sum::<u64>());
    let added = split["boundary_rows"].as_u64().unwrap();
    assert!(
        added > 0 && added == rows.iter().sum::<u64>() - whole,
        "{split}"
    );
    let text = ok(snarkml(&["profile", b]));
    assert!(
        text.contains(&format!("the cuts add {added} rows")),
        "{text}"
    );

    let srs = cached_srs(14);
    let setup = json(&ok(snarkml(&[
        "setup",
        b,
        "--srs",
        srs.to_str().unwrap(),
        "--json",
    ])));
    assert_eq!(setup["segments"].as_array().unwrap().len(), 3);

    let input = model_file("input.json");
    let mock = json(&ok(snarkml(&["mock", b, "--input", &input, "--json"])));
    assert_eq!(mock["satisfied"], true);
    assert_eq!(mock["segments"].as_array().unwrap().len(), 3);

    // The proven outputs are the whole model's, as `run` computes them.
    let p = tmp.path().join("p.json");
    let proved = json(&ok(snarkml(&[
        "prove",
        b,
        "--input",
        &input,
        "-o",
        p.to_str().unwrap(),
        "--json",
    ])));
    assert_eq!(proved["segment_seconds"].as_array().unwrap().len(), 3);
    let run = json(&ok(snarkml(&["run", b, "--input", &input, "--json"])));
    assert_eq!(
        proved["outputs"][0]["values"], run["outputs"][0]["values"],
        "{proved}"
    );
    let verified = json(&ok(snarkml(&["verify", b, p.to_str().unwrap(), "--json"])));
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["segments"], 3);
    assert_eq!(verified["outputs"], proved["outputs"]);

    // Segments from two runs: each proof is valid, but segment 2 ran on another tensor.
    let q = tmp.path().join("q.json");
    let other = other_input(tmp.path());
    ok(snarkml(&[
        "prove",
        b,
        "--input",
        other.to_str().unwrap(),
        "-o",
        q.to_str().unwrap(),
    ]));
    let second: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&q).unwrap()).unwrap();
    let spliced = tmp.path().join("spliced.json");
    tamper_json(&p, &spliced, |v| {
        v["segments"][1] = second["segments"][1].clone();
    });
    let boundary = segments[1]["inputs"][0].as_str().unwrap();
    assert_one_line_error(
        &snarkml(&["verify", b, spliced.to_str().unwrap()]),
        &format!(
            "split proof, segment 2: its input `{boundary}` is not the tensor segment 1 computed (the commitments differ)"
        ),
    );
    let short = tmp.path().join("short.json");
    tamper_json(&p, &short, |v| {
        v["segments"].as_array_mut().unwrap().pop();
    });
    assert_one_line_error(
        &snarkml(&["verify", b, short.to_str().unwrap()]),
        "holds 2 segment proofs",
    );
    let flipped = tmp.path().join("flipped.json");
    tamper_json(&p, &flipped, |v| flip_proof_byte(&mut v["segments"][2]));
    assert_one_line_error(
        &snarkml(&["verify", b, flipped.to_str().unwrap()]),
        "segment 3: proof rejected",
    );
    // The aggregation of the segments exposes the model's inputs and outputs and links every
    // cut (its circuit is what BENCHMARKS.md "Split proving" runs; here, what it computes).
    let build = snarkml::artifacts::BuildDir::new(b);
    let (_, models) = snarkml::pipeline::split::segments(&build).unwrap();
    let expose = snarkml::pipeline::split::aggregation_expose(&models);
    let instances = |path: &Path| -> Vec<Vec<snarkml_circuits::Fr>> {
        snarkml::pipeline::split::read_split_proof(path)
            .unwrap()
            .segments
            .iter()
            .map(|s| s.instance_fields().unwrap())
            .collect()
    };
    let honest = instances(&p);
    let exposed = expose.evaluate(&honest).unwrap();
    let (first, last) = (&models[0], &models[2]);
    let inputs = first.io_instances(&first.inputs[0]);
    let outputs = last.io_instances(&last.outputs[0]);
    let expected: Vec<_> = honest[0][..inputs]
        .iter()
        .chain(&honest[2][last.num_instances() - outputs..])
        .copied()
        .collect();
    assert_eq!(exposed, expected);
    let links = expose.to_string().matches("link:").count();
    assert_eq!(links, 2, "{expose}");
    let err = expose
        .evaluate(&instances(&spliced))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`link:"), "{err}");
    // The aggregation refuses a spliced chain by name, before any heavy work.
    assert_one_line_error(
        &snarkml(&[
            "aggregate",
            spliced.to_str().unwrap(),
            "--build",
            b,
            "--srs",
            srs.to_str().unwrap(),
            "-o",
            tmp.path().join("aggr").to_str().unwrap(),
        ]),
        &format!(
            "split proof, segment 2: its input `{boundary}` is not the tensor segment 1 computed"
        ),
    );
    // Proofs for the EVM (Keccak) are not aggregated, before any heavy work.
    assert_one_line_error(
        &snarkml(&[
            "aggregate",
            p.to_str().unwrap(),
            "--build",
            b,
            "--srs",
            srs.to_str().unwrap(),
            "--k",
            "14",
            "-o",
            tmp.path().join("aggr").to_str().unwrap(),
        ]),
        "segment 1's proof uses the keccak256 transcript: proofs to aggregate are made with `snarkml prove --for-aggregation`",
    );
    // One verifier for the whole split model comes from the aggregation.
    assert_one_line_error(
        &snarkml(&[
            "gen-verifier",
            b,
            "-o",
            tmp.path().join("v").to_str().unwrap(),
        ]),
        "is a model split into segments, each with its own keys in segment-J/",
    );
    // A split proof against one segment's build says what it is.
    let one = format!("{b}/segment-1");
    assert_one_line_error(
        &snarkml(&["verify", &one, p.to_str().unwrap()]),
        "holds the proofs of a model split into 3 segments",
    );
}

#[test]
fn segments_proven_apart_chain_when_the_input_file_gives_the_boundary_salts() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = compile(tmp.path(), &["--segments", "3"]);
    let b = tmp.path().join("b");
    let b = b.to_str().unwrap();
    let srs = cached_srs(14);
    ok(snarkml(&["setup", b, "--srs", srs.to_str().unwrap()]));
    let at = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();

    // Without the boundary salts a segment alone cannot be proven to chain.
    let input = model_file("input.json");
    let boundary = summary["segments"][0]["outputs"][0].as_str().unwrap();
    assert_one_line_error(
        &snarkml(&[
            "prove", b, "--input", &input, "--segment", "2", "-o", &at("x.json"),
        ]),
        &format!("proving segment 2 alone takes the salt of every tensor crossing its cuts from the input file (\"salts\": {{\"{boundary}\""),
    );
    // One input file with a salt per boundary tensor, shared by every segment's job.
    let mut salts = serde_json::Map::new();
    for (i, segment) in summary["segments"].as_array().unwrap()[..2]
        .iter()
        .enumerate()
    {
        for name in segment["outputs"].as_array().unwrap() {
            salts.insert(name.as_str().unwrap().into(), (1000 + i).to_string().into());
        }
    }
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
    file["salts"] = serde_json::Value::Object(salts);
    let salted = at("salted.json");
    std::fs::write(&salted, file.to_string()).unwrap();
    let parts: Vec<String> = (1..=3).map(|j| at(&format!("s{j}.json"))).collect();
    for (j, part) in parts.iter().enumerate().rev() {
        let segment = (j + 1).to_string();
        let out = json(&ok(snarkml(&[
            "prove",
            b,
            "--input",
            &salted,
            "--segment",
            &segment,
            "-o",
            part,
            "--json",
        ])));
        assert_eq!(out["segment"], j + 1);
    }
    let mut args = vec!["verify", b];
    args.extend(parts.iter().map(String::as_str));
    args.push("--json");
    let verified = json(&ok(snarkml(&args)));
    assert_eq!(verified["segments"], 3);
    let run = json(&ok(snarkml(&["run", b, "--input", &input, "--json"])));
    assert_eq!(
        verified["outputs"][0]["values"],
        run["outputs"][0]["values"]
    );
    // Each segment's proof is a proof of its own build, too.
    ok(snarkml(&["verify", &format!("{b}/segment-2"), &parts[1]]));
    // Proofs out of order, or one missing, are refused.
    assert_one_line_error(
        &snarkml(&["verify", b, &parts[0], &parts[2], &parts[1]]),
        "was made for verifying key",
    );
    assert_one_line_error(
        &snarkml(&["verify", b, &parts[0], &parts[1]]),
        "2 proof files for",
    );
    // The whole chain proven at once with the same salts commits alike: its segment 2 and
    // the one proven apart are interchangeable.
    let whole = at("whole.json");
    ok(snarkml(&["prove", b, "--input", &salted, "-o", &whole]));
    let apart: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&parts[1]).unwrap()).unwrap();
    let mixed = at("mixed.json");
    tamper_json(Path::new(&whole), Path::new(&mixed), |v| {
        v["segments"][1] = apart
    });
    ok(snarkml(&["verify", b, &mixed]));
    // A build that is not split has no segments.
    assert_one_line_error(
        &snarkml(&[
            "prove",
            &format!("{b}/segment-1"),
            "--input",
            &input,
            "--segment",
            "1",
            "-o",
            &at("y.json"),
        ]),
        "is not split into segments",
    );
}

#[test]
fn hashed_model_inputs_and_outputs_of_a_split_model_keep_their_openings() {
    let tmp = tempfile::tempdir().unwrap();
    compile(
        tmp.path(),
        &[
            "--segments",
            "2",
            "--inputs",
            "hashed",
            "--outputs",
            "hashed",
        ],
    );
    let b = tmp.path().join("b");
    let b = b.to_str().unwrap();
    let srs = cached_srs(14);
    ok(snarkml(&["setup", b, "--srs", srs.to_str().unwrap()]));
    let p = tmp.path().join("p.json");
    ok(snarkml(&[
        "prove",
        b,
        "--input",
        &model_file("input.json"),
        "-o",
        p.to_str().unwrap(),
    ]));
    ok(snarkml(&["verify", b, p.to_str().unwrap()]));
    let openings = OpeningsFile::load(&tmp.path().join("p.openings.json")).unwrap();
    let roles: Vec<&str> = openings.openings.iter().map(|o| o.role.as_str()).collect();
    assert_eq!(roles, ["input", "output"]);
    // The proof shows the same commitments the openings open.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    assert_eq!(
        file["segments"][0]["inputs"][0]["commitment"],
        openings.openings[0].commitment.as_str()
    );
    assert_eq!(
        file["segments"][1]["outputs"][0]["commitment"],
        openings.openings[1].commitment.as_str()
    );
}

#[test]
fn a_memory_budget_splits_only_a_model_that_needs_it_and_bad_budgets_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("b");
    // Split first, then a budget the whole model fits: one circuit, the old split removed.
    compile(tmp.path(), &["--segments", "2"]);
    assert!(b.join("segment-2").is_dir());
    let summary = compile(tmp.path(), &["--max-memory", "64GiB"]);
    assert!(summary.get("segments").is_none(), "{summary}");
    assert!(!b.join("split.json").exists());
    assert!(!b.join("segment-1").exists());

    let (onnx, calibration) = (model_file("onnx"), model_file("calibration.json"));
    let out = b.to_str().unwrap();
    let base = ["compile", &onnx, "--calibration", &calibration, "-o", out];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        snarkml(&args)
    };
    assert_one_line_error(
        &with(&["--segments", "1"]),
        "1 segments asked of a model of 13 layers: 2 to 13 can be made",
    );
    assert_one_line_error(
        &with(&["--max-memory", "1MiB"]),
        "a memory budget of 1 MiB is less than the smallest circuit needs",
    );
    // A refused split leaves no whole-model build to be mistaken for the one asked for.
    assert!(!b.join("model.json").exists());
}

#[test]
fn the_ray_driver_proves_a_split_model_a_task_per_segment_and_resumes_in_a_directory_or_s3() {
    let tmp = tempfile::tempdir().unwrap();
    compile(tmp.path(), &["--segments", "3"]);
    let b = tmp.path().join("b");
    let srs = cached_srs(14);
    ok(snarkml(&[
        "setup",
        b.to_str().unwrap(),
        "--srs",
        srs.to_str().unwrap(),
    ]));
    let out = tmp.path().join("proofs");
    let driver_to = |input: &str, out: &str, env: &[(String, String)]| {
        let o = Command::new(venv_bin("python"))
            .env("RAY_AUTH_MODE", "disabled")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .arg(repo("scripts/ray_audit.py"))
            .args(["--snarkml", env!("CARGO_BIN_EXE_snarkml")])
            .args(["--plan", b.join("split.json").to_str().unwrap()])
            .args(["--input", input, "--out", out])
            .args(["--cache", tmp.path().join("cache").to_str().unwrap()])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        let events: Vec<serde_json::Value> = stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (o, events)
    };
    let driver = |input: &str| driver_to(input, out.to_str().unwrap(), &[]);

    // A dry run on 2 machines starts nothing and predicts every task: the 3 segments from the
    // build's cost model, two at once, then the aggregation tree's 4 steps ([2, 1], [2], [1]),
    // each layer's at once.
    let o = Command::new(venv_bin("python"))
        .arg(repo("scripts/ray_audit.py"))
        .args(["--snarkml", env!("CARGO_BIN_EXE_snarkml")])
        .args(["--plan", b.join("split.json").to_str().unwrap()])
        .args(["--dry-run", "--machines", "2", "--aggregate", "aggr"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let tasks: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "task")
        .map(|e| e["task"].as_str().unwrap())
        .collect();
    assert_eq!(
        tasks,
        [
            "segment 1",
            "segment 2",
            "segment 3",
            "aggregation step 0:0",
            "aggregation step 0:1",
            "aggregation step 1:0",
            "aggregation step 2:0"
        ]
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("split.json")).unwrap()).unwrap();
    let mut secs: Vec<f64> = manifest["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["predicted_prove_seconds"].as_f64().unwrap())
        .collect();
    secs.sort_by(|a, b| b.total_cmp(a));
    // Longest first onto the machine free soonest: the longest alone, the other two together.
    let on_two = secs[0].max(secs[1] + secs[2]);
    let predicted = events.iter().find(|e| e["event"] == "predicted").unwrap();
    assert!(
        (predicted["prove_seconds"].as_f64().unwrap() - on_two).abs() < 0.1,
        "{predicted}"
    );
    assert_eq!(
        (
            &predicted["aggregate_steps"],
            &predicted["aggregate_layers"]
        ),
        (&4.into(), &3.into()),
        "{predicted}"
    );
    let tree = json(&ok(snarkml(&[
        "aggregate",
        "-",
        "--build",
        b.to_str().unwrap(),
        "--srs",
        "-",
        "--tree",
        "--machines",
        "2",
        "--json",
    ])));
    assert_eq!(
        predicted["aggregate_seconds"],
        tree["predicted"]["seconds_with_keygen"]
    );
    assert!(!tmp.path().join("aggr").exists() && !Path::new("aggr").exists());

    // Segments a run found proven already (and so did not prove again).
    let skipped = |events: &[serde_json::Value]| {
        events
            .iter()
            .filter(|e| e["event"] == "proven" && e["skipped"] == true)
            .count()
    };
    let input = model_file("input.json");
    let (o, events) = driver(&input);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let proven: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "proven").collect();
    assert_eq!(proven.len(), 3, "{events:?}");
    assert!(proven.iter().all(|e| e["skipped"] == false));
    // The driver checked the chain; the outputs are the model's.
    let verified = events.iter().find(|e| e["event"] == "verified").unwrap();
    assert_eq!(verified["segments"], 3);
    let run = json(&ok(snarkml(&[
        "run",
        b.to_str().unwrap(),
        "--input",
        &input,
        "--json",
    ])));
    assert_eq!(
        verified["outputs"][0]["values"],
        run["outputs"][0]["values"]
    );
    // One salt per tensor crossing a cut, kept owner-only beside the proofs.
    let salted = out.join("input.salted.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&salted).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let salts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&salted).unwrap()).unwrap();
    assert_eq!(salts["salts"].as_object().unwrap().len(), 2, "{salts}");
    // A rerun resumes: every segment's proof is there and verifies, so none is proven again.
    let (o, events) = driver(&input);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(skipped(&events), 3, "{events:?}");
    // Another input into the same place is refused: its proofs would mix with these.
    let other = other_input(tmp.path());
    let (o, _) = driver(other.to_str().unwrap());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("holds the proofs of another input: give another --out"),
        "{stderr}"
    );

    // Through an object store: the build and the salted input uploaded, each task staging
    // only its segment, the proofs in the bucket; a rerun resumes from the bucket.
    let s3 = common::S3::start("split-run");
    let url = "s3://split-run/proofs";
    let (o, events) = driver_to(&input, url, &s3.env);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let verified = events.iter().find(|e| e["event"] == "verified").unwrap();
    assert_eq!(
        verified["outputs"][0]["values"],
        run["outputs"][0]["values"]
    );
    let done = events.iter().find(|e| e["event"] == "done").unwrap();
    assert_eq!(done["proofs"][2], format!("{url}/segment-3.json"));
    let bucket = tmp.path().join("bucket");
    s3.download(url, &bucket);
    for j in 1..=3 {
        assert!(bucket.join(format!("segment-{j}.json")).is_file());
    }
    assert!(bucket.join("inputs/input.salted.json").is_file());
    assert!(bucket.join("inputs/build/split.json").is_file());
    let (o, events) = driver_to(&input, url, &s3.env);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(skipped(&events), 3, "{events:?}");
}

/// README "Models bigger than one machine", replayed as written: the digits MLP in two
/// segments, each with its own keys, proven and verified as a chain.
#[test]
fn the_readme_split_block_runs_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = common::replay_readme_block("## Models bigger than one machine", tmp.path(), None);
    assert_eq!(ran, 4);
    let build = snarkml::artifacts::BuildDir::new(tmp.path().join("build"));
    assert!(build.is_split());
    let (_, models) = snarkml::pipeline::split::segments(&build).unwrap();
    assert_eq!(models.len(), 2);
}
