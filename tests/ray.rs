//! Scale-out proving on Ray (`scripts/ray_audit.py`) on a cluster of this machine's processes
//! (a head and worker nodes on 127.0.0.1), with machines lost mid-task:
//! - an audit planned in chunks, each chunk a Ray task running `snarkml audit prove --plan …
//!   --chunk J`, its artifacts in an S3 object store (moto's S3 server on 127.0.0.1: the same
//!   protocol, signatures included, as AWS). The worker node is killed while it proves a chunk:
//!   Ray retries that task on the head, no chunk is lost, and the chunk proofs chain exactly as
//!   the single-machine path's do (`C_W`, `h_0` to `C_D` of the plan, `n`, the quantized
//!   model's correct count);
//! - a split model, a task per segment and its aggregation a tree of tasks, through the object
//!   store as well, and through a worker lost mid-segment and another lost
//!   mid-aggregation-step.
//!
//! Each test stops every process it started. (The shared-directory path of the driver is
//! tested in `batch.rs`, a split build's on one local Ray in `split.rs`.)

mod common;

use common::{cached_srs, free_port, ok, repo, snarkml, venv_bin, S3};
use snarkml::artifacts::BuildDir;
use snarkml::pipeline::{self, audit_proof};
use snarkml::stored::Stored;
use snarkml_circuits::aggregation::DEFAULT_K as AGG_K;
use snarkml_circuits::audit::chunk::{self, ChunkProofFile};
use snarkml_circuits::audit::{self, Dataset};
use snarkml_circuits::fixed_point::{field_from_hex, field_to_hex};
use snarkml_circuits::io::ProofFile;
use snarkml_circuits::prover;
use snarkml_circuits::quantize::CompiledModel;
use snarkml_circuits::srs::Srs;
use snarkml_circuits::Fr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Samples audited and samples per chunk: two chunks, one per node.
const SAMPLES: usize = 8;
const CHUNK: usize = 4;

/// A Ray head and worker nodes on this machine, stopped (every Ray process) on drop. Token
/// authentication is off: the cluster listens on 127.0.0.1 only and lives for one test; the
/// tests of this file take turns (`ray stop` stops every cluster of the machine).
struct Cluster {
    _turn: std::sync::MutexGuard<'static, ()>,
    address: String,
    env: Vec<(String, String)>,
    /// The head's node-manager port (the driver's events name nodes by id and port).
    head_port: u16,
}

impl Cluster {
    /// Starts the head with `args` (its CPUs, its memory); the driver runs beside it.
    fn start(env: &[(String, String)], args: &[&str]) -> Self {
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let port = free_port();
        let cluster = Self {
            _turn: turn,
            address: format!("127.0.0.1:{port}"),
            env: env.to_vec(),
            head_port: free_port(),
        };
        cluster.ray_start(
            cluster.head_port,
            &[
                &[
                    "--head",
                    &format!("--port={port}"),
                    "--include-dashboard=false",
                ],
                args,
            ]
            .concat(),
        );
        cluster
    }

    /// Starts a worker node with `args` (its CPUs, its memory); returns its node-manager port.
    fn add_worker(&self, args: &[&str]) -> u16 {
        let port = free_port();
        self.ray_start(
            port,
            &[&[&format!("--address={}", self.address) as &str], args].concat(),
        );
        port
    }

    fn ray_start(&self, node_manager_port: u16, args: &[&str]) {
        let out = Command::new(venv_bin("ray"))
            .env("RAY_AUTH_MODE", "disabled")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("start")
            .args(args)
            .args([
                "--node-ip-address=127.0.0.1",
                &format!("--node-manager-port={node_manager_port}"),
                "--disable-usage-stats",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ray start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Kills the worker node of `port` as a lost machine: its raylet, and with it its task
    /// workers and their children.
    fn kill_worker(&self, port: u16) {
        let pattern = format!("raylet.*node_manager_port={port}");
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

/// The driver's events as it prints them, one JSON object a line (anything else it prints is
/// skipped), and those read so far.
struct Events {
    rest: Box<dyn Iterator<Item = serde_json::Value>>,
    seen: Vec<serde_json::Value>,
}

impl Events {
    fn of(driver: &mut Child) -> Self {
        let rest = BufReader::new(driver.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok());
        Self {
            rest: Box::new(rest),
            seen: Vec::new(),
        }
    }

    /// The next event that is `what` (`found`), waiting for it.
    fn until(
        &mut self,
        what: &str,
        found: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        loop {
            let event = self
                .rest
                .next()
                .unwrap_or_else(|| panic!("the driver stopped before {what}: {:?}", self.seen));
            self.seen.push(event.clone());
            if found(&event) {
                return event;
            }
        }
    }

    /// Every event once the driver is done; it must have succeeded, its last event `done`.
    fn finish(mut self, driver: &mut Child) -> Vec<serde_json::Value> {
        self.seen.extend(self.rest);
        let events = self.seen;
        let status = driver.wait().unwrap();
        assert!(status.success(), "the driver failed: {events:?}");
        assert_eq!(events.last().unwrap()["event"], "done", "{events:?}");
        events
    }
}

/// The Ray node id of the node listening on node-manager `port`, from the driver's
/// `submitted` event.
fn node_id(submitted: &serde_json::Value, port: u16) -> String {
    submitted["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["port"] == port)
        .unwrap_or_else(|| panic!("no node on port {port}: {submitted}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The processes whose command line mentions `path` (the test's own directory), but this one.
fn processes_under(path: &Path) -> Vec<String> {
    let needle = path.to_str().unwrap().as_bytes();
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name().to_str().unwrap().parse::<u32>().is_ok() && e.file_name() != me.as_str()
        })
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            cmdline
                .windows(needle.len())
                .any(|w| w == needle)
                .then(|| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        })
        .collect()
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
fn an_audit_fans_out_on_ray_through_s3_survives_a_lost_worker_and_chains_like_one_machine() {
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
    let srs = cached_srs(k);
    let s3 = S3::start("snarkml-run");
    let audit_url = "s3://snarkml-run/audit";

    // Tasks stage inputs and work on each node's disk: here, under the test's directory.
    let scratch = t("scratch");
    let mut env = s3.env.clone();
    env.push(("SNARKML_RAY_SCRATCH".into(), s(&scratch)));
    let cluster = Cluster::start(&env, &["--num-cpus=1"]);
    let worker_port = cluster.add_worker(&["--num-cpus=1"]);
    let mut driver = Command::new(&python)
        .env("RAY_AUTH_MODE", "disabled")
        .envs(s3.env.iter().map(|(k, v)| (k, v)))
        .arg(repo("scripts/ray_audit.py"))
        .args(["--snarkml", env!("CARGO_BIN_EXE_snarkml")])
        .args(["--plan", &s(&plan), "--srs", &s(&srs)])
        .args(["--audit", audit_url, "--cache", &s(&t("cache"))])
        // Aggregation on Ray, through the object store and lost machines, is the split
        // model's test below; audits aggregate as splits do (aggregation.rs, audit_bounty.rs).
        .args(["--address", &cluster.address, "--chunk-memory-gb", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut events = Events::of(&mut driver);
    let submitted = events.until("submitting", |_| true);
    assert_eq!(submitted["event"], "submitted");
    assert_eq!(submitted["chunks"], SAMPLES / CHUNK);
    let worker_node = node_id(&submitted, worker_port);

    // Kill the worker while it proves a chunk (the driver streams each task's start).
    let lost_chunk = events.until("a chunk started on the worker", |e| {
        e["event"] == "started" && e["node"] == worker_node.as_str()
    })["chunk"]
        .as_u64()
        .unwrap();
    cluster.kill_worker(worker_port);
    let events = events.finish(&mut driver);
    let done = events.last().unwrap();

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
    let audit_dir = t("audit");
    s3.download(audit_url, &audit_dir);
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

    // The chunks chain as the single-machine path does: each proof verifies against the
    // chunk circuit's key, and together they prove the model's commitment, the chain from its
    // start to the plan's dataset commitment, every sample and the quantized model's count.
    let samples = Dataset::load(&data).unwrap().quantize(&model).unwrap();
    let correct = audit::correct_count(&model, &samples).unwrap();
    let plan = audit_proof::load_plan(&plan).unwrap();
    let end = audit::chain(audit::CHAIN_START, &samples, model.inputs[0].pack_bits)[SAMPLES];
    assert_eq!(field_to_hex(&end), plan.dataset_commitment);
    let params = Srs::from_bytes(&std::fs::read(&srs).unwrap())
        .unwrap()
        .trimmed(k)
        .unwrap();
    let vk = prover::vk_from_bytes(
        &std::fs::read(audit_proof::chunk_vk_path(&audit_dir, CHUNK)).unwrap(),
        chunk::chunk_params(&model),
    )
    .unwrap();
    let mut h = field_to_hex(&audit::CHAIN_START);
    for (path, file) in &chunks {
        chunk::verify(&params, &vk, file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fields: Vec<String> = file
            .instance_fields()
            .unwrap()
            .iter()
            .map(field_to_hex)
            .collect();
        assert_eq!(
            fields,
            [
                &file.weights_commitment,
                &file.h_in,
                &file.h_out,
                &field_to_hex(&Fr::from(file.samples)),
                &field_to_hex(&Fr::from(file.correct)),
            ]
            .map(String::from)
        );
        assert_eq!(
            file.weights_commitment,
            field_to_hex(&model.weights_commitment().unwrap().unwrap())
        );
        assert_eq!(file.h_in, h, "{}", path.display());
        h = file.h_out.clone();
    }
    assert_eq!(h, plan.dataset_commitment);
    let total = |f: fn(&ChunkProofFile) -> u64| chunks.iter().map(|(_, c)| f(c)).sum::<u64>();
    assert_eq!(total(|c| c.samples), SAMPLES as u64);
    assert_eq!(total(|c| c.correct), correct as u64);
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

/// GiB, in the bytes `ray start --memory` takes.
const GIB: u64 = 1 << 30;

/// A model split in three segments proven on a 2-node cluster and aggregated as a tree of
/// Ray tasks (the three proofs in one step, then its compression), every proof and node file
/// through an S3 object store, through two lost machines: the
/// worker proving a segment is killed, a replacement joins and is killed in turn while it
/// proves an aggregation step, and a third finishes the run. The head is too small for an
/// aggregation step (its memory), so every step runs on a worker. Nothing is lost: every
/// segment and every step is done, the lost ones again elsewhere; the aggregated proof
/// exposes the model's input and output as the segments' proofs carry them, and no process of
/// the run is left behind.
#[test]
fn a_split_model_proves_and_aggregates_as_a_tree_of_ray_tasks_through_lost_workers() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p);
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let model = repo("tests/fixtures/corpus/cnn_digits");
    let file = |ext: &str| format!("{}.{ext}", model.display());
    let b = t("b");
    ok(snarkml(&[
        "compile",
        &file("onnx"),
        "--calibration",
        &file("calibration.json"),
        "--segments",
        "3",
        "-o",
        &s(&b),
    ]));
    ok(snarkml(&["setup", &s(&b), "--srs", &s(&cached_srs(14))]));
    // One secret at every size: the segments' SRS and the aggregation's are the same ceremony.
    let agg_srs = cached_srs(AGG_K);
    // Proofs and the aggregation's nodes go through an object store, staged by the tasks on
    // each node's disk (here, under the test's directory).
    let s3 = S3::start("snarkml-split");
    let (proofs_url, aggr_url) = ("s3://snarkml-split/proofs", "s3://snarkml-split/aggr");
    let mut env = s3.env.clone();
    env.push(("SNARKML_RAY_SCRATCH".into(), s(&t("scratch"))));

    // The head: 1 CPU and 2 GiB (Ray's logical memory), too small for an aggregation step
    // (6 GiB); a worker: 2 CPUs, 16 GiB.
    let (head_memory, worker_memory) = (
        format!("--memory={}", 2 * GIB),
        format!("--memory={}", 16 * GIB),
    );
    let store = "--object-store-memory=200000000";
    let cluster = Cluster::start(&env, &["--num-cpus=1", &head_memory, store]);
    let worker = ["--num-cpus=2", &worker_memory, store];
    let first = cluster.add_worker(&worker);
    let mut driver = Command::new(venv_bin("python"))
        .env("RAY_AUTH_MODE", "disabled")
        .envs(s3.env.iter().map(|(k, v)| (k, v)))
        .arg(repo("scripts/ray_audit.py"))
        .args(["--snarkml", env!("CARGO_BIN_EXE_snarkml")])
        .args([
            "--plan",
            &s(&b.join("split.json")),
            "--input",
            &file("input.json"),
        ])
        .args(["--out", proofs_url, "--cache", &s(&t("cache"))])
        .args(["--aggregate", aggr_url, "--aggregate-srs", &s(&agg_srs)])
        // The three proofs in one step, then the compression into the EVM's proof: a tree of
        // two rounds at CI's cost (layers of pairs would be three steps; aggregation.rs and
        // split.rs's dry run check those).
        .args([
            "--aggregate-k",
            &AGG_K.to_string(),
            "--aggregate-arity",
            "0",
        ])
        .args(["--address", &cluster.address])
        .args(["--chunk-memory-gb", "1", "--aggregate-memory-gb", "6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut events = Events::of(&mut driver);
    let submitted = events.until("submitting", |_| true);
    assert_eq!(
        (&submitted["event"], &submitted["segments"]),
        (&"submitted".into(), &3.into())
    );
    let head = node_id(&submitted, cluster.head_port);
    let first_node = node_id(&submitted, first);

    // A segment starts on the worker: the machine is lost, another joins.
    let lost_segment = events.until("a segment started on the worker", |e| {
        e["event"] == "started" && e["node"] == first_node.as_str()
    })["segment"]
        .as_u64()
        .unwrap();
    cluster.kill_worker(first);
    let second = cluster.add_worker(&worker);
    // An aggregation step starts on the new worker (the head is too small for one): once its
    // `snarkml aggregate` runs, that machine is lost too, and a third joins.
    let step = events.until("an aggregation step started", |e| {
        e["event"] == "started" && e.get("step").is_some()
    });
    assert_ne!(step["node"], head.as_str(), "{step}");
    let (lost_step, second_node) = (
        step["step"].as_str().unwrap().to_owned(),
        step["node"].as_str().unwrap().to_owned(),
    );
    let started = std::time::Instant::now();
    while !processes_under(tmp.path())
        .iter()
        .any(|p| p.contains(" aggregate ") && p.contains(&format!("--step {lost_step}")))
    {
        assert!(
            started.elapsed().as_secs() < 300,
            "step {lost_step} never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    cluster.kill_worker(second);
    cluster.add_worker(&worker);
    let events = events.finish(&mut driver);
    let done = events.last().unwrap();

    // The lost segment was proven elsewhere; the lost step started again on the third
    // machine and was done there; every step of the tree ([3] then [1]) is done.
    let proven = |segment: u64| {
        events
            .iter()
            .find(|e| e["event"] == "proven" && e["segment"] == segment)
            .unwrap_or_else(|| panic!("segment {segment} was never proven: {events:?}"))
    };
    assert_ne!(
        proven(lost_segment)["node"],
        first_node.as_str(),
        "{events:?}"
    );
    for j in 1..=3 {
        assert_eq!(proven(j)["skipped"], false, "{events:?}");
    }
    let steps: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "aggregation step")
        .collect();
    let names: std::collections::BTreeSet<&str> =
        steps.iter().map(|e| e["step"].as_str().unwrap()).collect();
    assert_eq!(names, ["0:0"].into(), "{events:?}");
    // The first step started is layer 0's (the top step, 1:0, waits for it).
    let lost = steps
        .iter()
        .find(|e| e["step"] == lost_step.as_str())
        .unwrap_or_else(|| panic!("step {lost_step} was never done: {events:?}"));
    assert_ne!(lost["node"], second_node.as_str(), "{events:?}");
    assert_ne!(lost["node"], head.as_str(), "{events:?}");
    let starts = events
        .iter()
        .filter(|e| e["event"] == "started" && e["step"] == lost_step.as_str())
        .count();
    assert_eq!(
        starts, 2,
        "step {lost_step} was not started again: {events:?}"
    );
    let left = processes_under(tmp.path());
    assert!(left.is_empty(), "processes left behind: {left:?}");

    // The aggregated proof verifies and exposes the model's input (segment 1's first
    // instances) and output (segment 3's, after its boundary input), nothing between.
    s3.download(proofs_url, &t("proofs"));
    s3.download(aggr_url, &t("aggr"));
    let aggr = BuildDir::new(t("aggr"));
    let file = pipeline::verify_aggregated(&aggr, &aggr.proof()).unwrap();
    assert_eq!(done["exposed"], serde_json::json!(file.exposed));
    let segment = |j: usize| {
        let m = CompiledModel::load(&BuildDir::new(&b).segment(j).model()).unwrap();
        let p = ProofFile::load(&t(&format!("proofs/segment-{}.json", j + 1))).unwrap();
        let ins: usize = m.inputs.iter().map(|s| m.io_instances(s)).sum();
        let outs: usize = m.outputs.iter().map(|s| m.io_instances(s)).sum();
        (p.instances, ins, outs)
    };
    let (first_instances, ins, _) = segment(0);
    let (last_instances, last_ins, outs) = segment(2);
    let expected = [
        &first_instances[..ins],
        &last_instances[last_ins..last_ins + outs],
    ]
    .concat();
    let fields = |v: &[String]| {
        v.iter()
            .map(|h| field_from_hex(h).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(fields(&file.exposed), fields(&expected));
    println!("ray split: {done}");
}
