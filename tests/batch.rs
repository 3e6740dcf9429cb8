//! Batches of inference requests as independent jobs: `snarkml batch plan` groups input files
//! into jobs, `snarkml batch prove --job J` proves one job and is idempotent (a request with a
//! valid proof of the same input and keys is skipped, a damaged one is proven again), and the
//! Ray driver proves a whole batch with Ray started locally, as on a laptop.

mod common;

use common::{assert_one_line_error, json, linear_build, ok, repo, snarkml, venv_bin};
use snarkml::stored::Stored;
use std::path::{Path, PathBuf};
use std::process::Command;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Three inputs of the `linear` fixture.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    [
        [0.5, -1.0, 1.5, 2.0],
        [1.0, 0.25, -0.5, 0.0],
        [-2.0, 1.0, 0.5, 1.5],
    ]
    .iter()
    .enumerate()
    .map(|(i, v)| {
        let p = dir.join(format!("in{i}.json"));
        std::fs::write(&p, serde_json::json!({ "input_data": [v] }).to_string()).unwrap();
        p
    })
    .collect()
}

/// `batch prove` of one job, parsed; the rows' `skipped` flags.
fn prove_job(plan: &Path, job: &str, out: &Path, extra: &[&str]) -> Vec<bool> {
    let mut args = vec![
        "batch",
        "prove",
        "--plan",
        s(plan),
        "--job",
        job,
        "-o",
        s(out),
    ];
    args.extend_from_slice(extra);
    args.push("--json");
    let v = json(&ok(snarkml(&args)));
    v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["skipped"].as_bool().unwrap())
        .collect()
}

/// The proof of request `i` verifies for the build and shows what `snarkml run` computes.
fn assert_proves_its_input(build: &Path, proofs: &Path, input: &Path, i: usize) {
    let proof = proofs.join(format!("request-{i:05}.json"));
    ok(snarkml(&["verify", s(build), s(&proof)]));
    let run = json(&ok(snarkml(&[
        "run",
        s(build),
        "--input",
        s(input),
        "--json",
    ])));
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    assert_eq!(
        file["outputs"][0]["values"], run["outputs"][0]["values"],
        "request {i}"
    );
}

/// The `linear` fixture built in `dir/build`, three inputs, and `batch plan` of them to
/// `dir/plan.json` with `per_job` requests per job; returns (build, inputs, plan, its JSON).
fn planned(dir: &Path, per_job: &str) -> (PathBuf, Vec<PathBuf>, PathBuf, serde_json::Value) {
    let build = dir.join("build");
    linear_build(&build, "public", "public", &[]);
    let ins = inputs(dir);
    let plan = dir.join("plan.json");
    let mut args = vec!["batch", "plan"];
    args.extend(ins.iter().map(|p| s(p)));
    args.extend([
        "--build",
        s(&build),
        "--per-job",
        per_job,
        "-o",
        s(&plan),
        "--json",
    ]);
    let v = json(&ok(snarkml(&args)));
    (build, ins, plan, v)
}

#[test]
fn a_batch_is_planned_in_jobs_and_each_job_proves_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (build, ins, plan, v) = planned(tmp.path(), "2");
    assert_eq!(
        (v["requests"].as_u64(), v["jobs"].as_u64()),
        (Some(3), Some(2))
    );

    let proofs = tmp.path().join("proofs");
    assert_eq!(prove_job(&plan, "0", &proofs, &[]), vec![false, false]);
    assert_eq!(prove_job(&plan, "1", &proofs, &[]), vec![false]);
    for (i, input) in ins.iter().enumerate() {
        assert_proves_its_input(&build, &proofs, input, i);
    }
    // Again: nothing to do. A damaged proof is proven again, the other one skipped.
    assert_eq!(prove_job(&plan, "0", &proofs, &[]), vec![true, true]);
    let damaged = proofs.join("request-00001.json");
    common::tamper_json(&damaged, &damaged, common::flip_proof_byte);
    assert!(snarkml(&["verify", s(&build), s(&damaged)]).status.code() == Some(1));
    assert_eq!(prove_job(&plan, "0", &proofs, &[]), vec![true, false]);
    assert_proves_its_input(&build, &proofs, &ins[1], 1);
    assert_eq!(
        prove_job(&plan, "0", &proofs, &["--force"]),
        vec![false, false]
    );

    // Bad requests, each refused with one line naming the problem.
    let prove = |plan: &Path, job: &str| {
        snarkml(&[
            "batch",
            "prove",
            "--plan",
            s(plan),
            "--job",
            job,
            "-o",
            s(&proofs),
        ])
    };
    assert_one_line_error(&prove(&plan, "2"), "there is no job 2: the plan has 2");
    let audit_plan = tmp.path().join("audit-plan.json");
    std::fs::write(&audit_plan, r#"{"format": "snarkml-audit-plan/1"}"#).unwrap();
    assert_one_line_error(&prove(&audit_plan, "0"), "not a batch plan");
    std::fs::write(&ins[2], r#"{"input_data": [[1.0, 2.0, 3.0, 4.0]]}"#).unwrap();
    assert_one_line_error(
        &prove(&plan, "1"),
        "changed since the plan was made (request 2)",
    );
    let wrong_shape = tmp.path().join("wrong.json");
    std::fs::write(&wrong_shape, r#"{"input_data": [[1.0, 2.0]]}"#).unwrap();
    let o = snarkml(&[
        "batch",
        "plan",
        s(&ins[0]),
        s(&wrong_shape),
        "--build",
        s(&build),
        "-o",
        s(&plan),
    ]);
    assert_one_line_error(&o, "wrong.json");
    let o = snarkml(&[
        "batch",
        "plan",
        s(&ins[0]),
        "--build",
        s(&build),
        "--per-job",
        "0",
        "-o",
        s(&plan),
    ]);
    assert_one_line_error(&o, "--per-job");
}

#[test]
fn the_ray_driver_proves_a_batch_with_ray_started_locally() {
    let tmp = tempfile::tempdir().unwrap();
    let (build, ins, plan, v) = planned(tmp.path(), "1");
    assert_eq!(v["jobs"].as_u64(), Some(3));

    // Ray's temp directory names a cluster that is gone, as one killed without `ray stop`
    // leaves it: the driver starts its own Ray rather than hang joining that one.
    let ray_tmp = tmp.path().join("r");
    std::fs::create_dir_all(ray_tmp.join("ray")).unwrap();
    std::fs::write(
        ray_tmp.join("ray/ray_current_cluster"),
        format!("127.0.0.1:{}", common::free_port()),
    )
    .unwrap();
    let proofs = tmp.path().join("proofs");
    let driver = |extra: &[&str]| {
        Command::new(venv_bin("python"))
            .env("RAY_AUTH_MODE", "disabled")
            .env("RAY_TMPDIR", &ray_tmp)
            .env_remove("RAY_ADDRESS")
            .arg(repo("scripts/ray_audit.py"))
            .args(["--snarkml", env!("CARGO_BIN_EXE_snarkml")])
            .args(["--plan", s(&plan), "--out", s(&proofs)])
            .args(["--cache", s(&tmp.path().join("cache"))])
            .args(["--chunk-memory-gb", "1"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = driver(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let proven = events.iter().filter(|e| e["event"] == "proven").count();
    assert_eq!(proven, 3, "{stdout}");
    let done = events.iter().find(|e| e["event"] == "done").expect("done");
    assert_eq!(done["jobs"], 3);
    assert_eq!(done["proofs"].as_array().unwrap().len(), 3);
    for (i, input) in ins.iter().enumerate() {
        assert_proves_its_input(&build, &proofs, input, i);
    }

    // A task no node can run (more memory than the machine has) is refused by name once no
    // node big enough has come within --node-wait, not queued forever.
    let out = driver(&["--chunk-memory-gb", "100000", "--node-wait", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "error: no node of the cluster can run a job task: it asks 1 CPU and 100000.0 GiB of memory, and the largest node has "
        ) && stderr.contains("(lower --chunk-memory-gb or --chunk-cpus"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"waiting for a node\""), "{stdout}");

    // Aggregating the batch hands every proof to `snarkml aggregate`, which refuses these
    // (planned without --for-aggregation) before any heavy work; the driver fails with that.
    let model = snarkml_circuits::quantize::CompiledModel::load(&build.join("model.json")).unwrap();
    let k = model.layout.k.to_string();
    let srs = common::cached_srs(model.layout.k);
    let aggr = tmp.path().join("aggr");
    let out = driver(&[
        "--aggregate",
        s(&aggr),
        "--aggregate-srs",
        s(&srs),
        "--aggregate-k",
        &k,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--for-aggregation"), "{stderr}");
    assert!(!aggr.join("proof.json").exists());
}
