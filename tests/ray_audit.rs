//! Scale-out audit proving on Ray (`scripts/ray_audit.py`): a Ray head and one worker node on
//! 127.0.0.1, an audit planned in chunks, each chunk a Ray task running `snarkml audit prove
//! --plan … --chunk J`, its artifacts in an S3 object store (moto's S3 server on 127.0.0.1:
//! the same protocol, signatures included, as AWS). The worker node is killed while it proves a
//! chunk: Ray retries that task on the head, no chunk is lost, and the aggregated proof exposes
//! exactly what the single-machine path does (`C_W`, `h_0`, `C_D` of the plan, `n`, the
//! quantized model's correct count). The test stops every process it started. (The shared-
//! directory path of the driver is tested in `batch.rs`.)

mod common;

use common::{cached_srs, free_port, ok, repo, snarkml, venv_bin, S3};
use snarkml::artifacts::BuildDir;
use snarkml::pipeline::{self, audit_proof};
use snarkml::stored::Stored;
use snarkml_circuits::audit::{self, Dataset};
use snarkml_circuits::fixed_point::field_to_hex;
use snarkml_circuits::quantize::CompiledModel;
use snarkml_circuits::Fr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// Samples audited and samples per chunk: two chunks, one per node.
const SAMPLES: usize = 8;
const CHUNK: usize = 4;

/// A Ray head and a worker node on this machine, stopped (every Ray process) on drop. Token
/// authentication is off: the cluster listens on 127.0.0.1 only and lives for one test.
struct Cluster {
    address: String,
    worker_port: u16,
}

impl Cluster {
    fn start(env: &[(String, String)]) -> Self {
        let ray = venv_bin("ray");
        let port = free_port();
        let worker_port = free_port();
        let address = format!("127.0.0.1:{port}");
        let start = |args: &[&str]| {
            let out = Command::new(&ray)
                .env("RAY_AUTH_MODE", "disabled")
                .envs(env.iter().map(|(k, v)| (k, v)))
                .arg("start")
                .args(args)
                .args([
                    "--node-ip-address=127.0.0.1",
                    "--num-cpus=1",
                    "--disable-usage-stats",
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "ray start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let cluster = Self {
            address: address.clone(),
            worker_port,
        };
        start(&[
            "--head",
            &format!("--port={port}"),
            "--include-dashboard=false",
        ]);
        start(&[
            &format!("--address={address}"),
            &format!("--node-manager-port={worker_port}"),
        ]);
        cluster
    }

    /// Kills the worker node's raylet (its task workers and their children die with it).
    fn kill_worker(&self) {
        let pattern = format!("raylet.*node_manager_port={}", self.worker_port);
        let status = Command::new("pkill")
            .args(["-9", "-f", &pattern])
            .status()
            .unwrap();
        assert!(status.success(), "no raylet matched {pattern}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(venv_bin("ray"))
            .env("RAY_AUTH_MODE", "disabled")
            .args(["stop", "--force"])
            .output();
    }
}

/// Every path under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

#[test]
fn an_audit_fans_out_on_ray_through_s3_survives_a_lost_worker_and_aggregates_like_one_machine() {
    let python = venv_bin("python");
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p);
    let s = |p: &Path| p.to_str().unwrap().to_owned();

    let build = t("build");
    common::digits_build(&build);
    let data = t("data.json");
    common::digits_subset(&data, SAMPLES, |_, l| l);
    let plan = t("plan.json");
    ok(snarkml(&[
        "audit",
        "plan",
        "--build",
        &s(&build),
        "--dataset",
        &s(&data),
        "--chunk-size",
        &CHUNK.to_string(),
        "-o",
        &s(&plan),
    ]));
    let model = CompiledModel::load(&BuildDir::new(&build).model()).unwrap();
    let k = snarkml_circuits::audit::chunk::chunk_k(&model, CHUNK).unwrap();
    // One secret at every size: the chunks' SRS and the aggregation's are the same ceremony.
    let (srs, agg_srs) = (cached_srs(k), cached_srs(21));
    let s3 = S3::start("snarkml-run");
    let (audit_url, aggr_url) = ("s3://snarkml-run/audit", "s3://snarkml-run/aggr");

    // Tasks stage inputs and work on each node's disk: here, under the test's directory.
    let scratch = t("scratch");
    let mut env = s3.env.clone();
    env.push(("SNARKML_RAY_SCRATCH".into(), s(&scratch)));
    let cluster = Cluster::start(&env);
    let mut driver = Command::new(&python)
        .env("RAY_AUTH_MODE", "disabled")
        .envs(s3.env.iter().map(|(k, v)| (k, v)))
        .arg(repo("scripts/ray_audit.py"))
        .args(["--snarkml", env!("CARGO_BIN_EXE_snarkml")])
        .args(["--plan", &s(&plan), "--srs", &s(&srs)])
        .args(["--audit", audit_url, "--cache", &s(&t("cache"))])
        .args(["--aggregate", aggr_url, "--aggregate-srs", &s(&agg_srs)])
        .args(["--address", &cluster.address, "--aggregate-memory-gb", "8"])
        // One flat aggregation circuit keeps CI time down; layers are tested in aggregation.rs.
        .args(["--aggregate-arity", "0", "--aggregate-no-compress"])
        .args(["--chunk-memory-gb", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // The driver's events, one JSON object a line (anything else it prints is skipped).
    let mut events = BufReader::new(driver.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok());
    let submitted = events.next().expect("the driver submitted the chunks");
    assert_eq!(submitted["event"], "submitted");
    assert_eq!(submitted["chunks"], SAMPLES / CHUNK);
    let worker_node = submitted["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["port"] == cluster.worker_port)
        .expect("the worker node joined")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Kill the worker while it proves a chunk (the driver streams each task's start).
    let mut seen = Vec::new();
    let lost_chunk = loop {
        let event = events
            .next()
            .expect("the driver stopped before a chunk started");
        seen.push(event.clone());
        if event["event"] == "started" && event["node"] == worker_node.as_str() {
            break event["chunk"].as_u64().unwrap();
        }
    };
    cluster.kill_worker();

    seen.extend(events);
    let events = seen;
    let status = driver.wait().unwrap();
    assert!(status.success(), "the driver failed: {events:?}");
    let done = events.last().unwrap();
    assert_eq!(done["event"], "done", "{events:?}");

    // The lost chunk was started again and proven on another node; no chunk is missing, every
    // proof verifies.
    let proven_on = |chunk: u64| {
        events
            .iter()
            .find(|e| e["event"] == "proven" && e["chunk"] == chunk)
            .unwrap_or_else(|| panic!("chunk {chunk} was never proven: {events:?}"))["node"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_ne!(proven_on(lost_chunk), worker_node, "{events:?}");
    assert!(
        events.iter().any(|e| e["event"] == "started"
            && e["chunk"] == lost_chunk
            && e["node"] != worker_node.as_str()),
        "chunk {lost_chunk} was not retried on another node: {events:?}"
    );
    // Each attempt's work directory is gone, the killed one's included (a later task on the
    // machine sweeps the directories of dead processes); the staged inputs stay for the next
    // task.
    let left: Vec<_> = walk(&scratch)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("work-")
        })
        .collect();
    assert!(left.is_empty(), "work directories left behind: {left:?}");
    let (audit_dir, aggr) = (t("audit"), t("aggr"));
    s3.download(audit_url, &audit_dir);
    s3.download(aggr_url, &aggr);
    let chunks = audit_proof::load_chunks(&audit_dir).unwrap();
    assert_eq!(chunks.len(), SAMPLES / CHUNK);
    // Every attempt is recorded in the store: the lost one's start on the worker included.
    let attempts = std::fs::read_dir(audit_dir.join("attempts"))
        .unwrap()
        .count();
    assert!(
        attempts > 2 * (SAMPLES / CHUNK),
        "{attempts} attempts recorded"
    );

    // The aggregated proof exposes what the single-machine path proves.
    let samples = Dataset::load(&data).unwrap().quantize(&model).unwrap();
    let correct = audit::correct_count(&model, &samples).unwrap();
    let plan = audit_proof::load_plan(&plan).unwrap();
    let expected = [
        model.weights_commitment().unwrap().unwrap(),
        audit::CHAIN_START,
        audit::chain(audit::CHAIN_START, &samples, model.inputs[0].pack_bits)[SAMPLES],
        Fr::from(SAMPLES as u64),
        Fr::from(correct as u64),
    ]
    .map(|f| field_to_hex(&f));
    assert_eq!(expected[2], plan.dataset_commitment);
    assert_eq!(done["exposed"], serde_json::json!(expected));
    let file =
        pipeline::verify_aggregated(&BuildDir::new(&aggr), &BuildDir::new(&aggr).proof()).unwrap();
    assert_eq!(file.exposed, expected);
    println!("ray audit: {done}");
}

/// A node's staged copy of an object is kept only while the object's content (its SHA-256,
/// recorded beside it by `put`) is the one it was staged with: a rebuilt file of the same size
/// (a proving key compiled again) is uploaded and staged again, not mistaken for the old one.
#[test]
fn the_object_store_stages_by_content_so_a_rebuilt_file_of_the_same_size_is_fetched_again() {
    let s3 = S3::start("staging");
    let tmp = tempfile::tempdir().unwrap();
    s3.python(&format!(
        r#"
import sys
from pathlib import Path
sys.path.insert(0, '{scripts}')
import ray_audit
d = Path('{tmp}')
store = ray_audit.Store('s3://staging/run')
built, staged = d / 'pk.bin', d / 'node' / 'pk.bin'
built.write_bytes(b'old key')
store.put(built, 'inputs/pk.bin')
store.get('inputs/pk.bin', staged)
assert staged.read_bytes() == b'old key'
built.write_bytes(b'new key')
store.put(built, 'inputs/pk.bin')
store.get('inputs/pk.bin', staged)
assert staged.read_bytes() == b'new key', staged.read_bytes()
assert store.names('inputs') == ['inputs/pk.bin'], store.names('inputs')
"#,
        scripts = repo("scripts").display(),
        tmp = tmp.path().display()
    ));
}
