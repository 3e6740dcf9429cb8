//! Scale-out audit proving on Ray (`scripts/ray_audit.py`): a Ray head and one worker node on
//! 127.0.0.1, an audit planned in chunks, each chunk a Ray task running `snarkml audit prove
//! --plan … --chunk J`. The worker node is killed while it proves a chunk: Ray retries that
//! task on the head, no chunk is lost, and the aggregated proof exposes exactly what the
//! single-machine path does (`C_W`, `h_0`, `C_D` of the plan, `n`, the quantized model's
//! correct count). The test stops every Ray process it started.

mod common;

use common::{cached_srs, ok, repo, snarkml, venv_bin};
use snarkml::artifacts::BuildDir;
use snarkml::pipeline::{self, audit_proof};
use snarkml_circuits::audit::{self, Dataset};
use snarkml_circuits::fixed_point::field_to_hex;
use snarkml_circuits::quantize::CompiledModel;
use snarkml_circuits::Fr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Samples audited and samples per chunk: two chunks, one per node.
const SAMPLES: usize = 8;
const CHUNK: usize = 4;

/// A free TCP port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Ray head and a worker node on this machine, stopped (every Ray process) on drop. Token
/// authentication is off: the cluster listens on 127.0.0.1 only and lives for one test.
struct Cluster {
    address: String,
    worker_port: u16,
}

impl Cluster {
    fn start() -> Self {
        let ray = venv_bin("ray");
        let port = free_port();
        let worker_port = free_port();
        let address = format!("127.0.0.1:{port}");
        let start = |args: &[&str]| {
            let out = Command::new(&ray)
                .env("RAY_AUTH_MODE", "disabled")
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

/// The attempts the driver's tasks logged: (chunk, node id, outcome).
fn attempts(audit: &Path) -> Vec<(u64, String, String)> {
    let Ok(text) = std::fs::read_to_string(audit.join("attempts.jsonl")) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            (
                v["chunk"].as_u64().unwrap(),
                v["node"].as_str().unwrap().to_owned(),
                v["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_audit_fans_out_on_ray_survives_a_lost_worker_and_aggregates_like_one_machine() {
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
    let (audit_dir, aggr) = (t("audit"), t("aggr"));

    let cluster = Cluster::start();
    let mut driver = Command::new(&python)
        .env("RAY_AUTH_MODE", "disabled")
        .arg(repo("scripts/ray_audit.py"))
        .args(["--snarkml", env!("CARGO_BIN_EXE_snarkml")])
        .args(["--plan", &s(&plan), "--srs", &s(&srs)])
        .args(["--audit", &s(&audit_dir), "--cache", &s(&t("cache"))])
        .args(["--aggregate", &s(&aggr), "--aggregate-srs", &s(&agg_srs)])
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

    // Kill the worker while it proves a chunk.
    let deadline = Instant::now() + Duration::from_secs(300);
    let lost_chunk = loop {
        let log = attempts(&audit_dir);
        let running = log.iter().find(|(c, node, outcome)| {
            node == &worker_node
                && outcome == "started"
                && !log
                    .iter()
                    .any(|(c2, n2, o2)| c2 == c && n2 == node && o2 != "started")
        });
        if let Some((chunk, _, _)) = running {
            break *chunk;
        }
        assert!(Instant::now() < deadline, "no chunk started on the worker");
        std::thread::sleep(Duration::from_millis(100));
    };
    cluster.kill_worker();

    let events: Vec<serde_json::Value> = events.collect();
    let status = driver.wait().unwrap();
    assert!(status.success(), "the driver failed: {events:?}");
    let done = events.last().unwrap();
    assert_eq!(done["event"], "done", "{events:?}");

    // The lost chunk was proven elsewhere; no chunk is missing, every proof verifies.
    let log = attempts(&audit_dir);
    assert!(
        log.iter()
            .any(|(c, node, o)| *c == lost_chunk && node != &worker_node && o != "started"),
        "chunk {lost_chunk} was not retried on another node: {log:?}"
    );
    let chunks = audit_proof::load_chunks(&audit_dir).unwrap();
    assert_eq!(chunks.len(), SAMPLES / CHUNK);

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
