#!/usr/bin/env python3
"""Prove an accuracy audit, a batch of inference requests or a split model on Ray, then aggregate.

Every chunk of an audit plan (`snarkml audit plan`) is an independent Ray task that runs
`snarkml audit prove --plan PLAN --chunk J` with its own CPU and memory request. Ray retries a
task whose worker or node dies, on another node; `audit prove` is idempotent (a chunk whose
valid proof is already in the audit directory is skipped), so a retry never duplicates work
that finished. When every chunk is proven, the proofs are aggregated as a tree of tasks
(`snarkml aggregate --tree`): every aggregation of a layer is a task of its own (`--step L:G`,
`--aggregate-memory-gb` each), run at once on any nodes, the next layer when they are done;
each uploads its node file (`nodes/L-G.json`) beside the aggregation directory, and the top
step writes the aggregated proof there. A retried step whose node file is already made is
answered at once. A task larger than every node (CPU or memory) is refused by name after
`--node-wait` seconds instead of queued forever.

Artifacts go to a directory every node can reach (one machine, NFS, a shared volume), or to an
object-store URL (`s3://bucket/run`, `gs://…`, `az://…`: any fsspec protocol whose package is
installed; s3fs is). With a URL, the driver uploads the plan, the build, the dataset (or the
batch's request inputs) and the SRS files under `URL/inputs/`; each task stages what it needs
onto its node's local disk (`$SNARKML_RAY_SCRATCH`, default the system temp directory; inputs
are downloaded once per node), runs snarkml there and uploads its proofs; the aggregation
downloads the proofs and uploads its directory. Credentials are the nodes' own (environment,
instance roles); `AWS_ENDPOINT_URL` points s3:// at another S3 service.

    scripts/setup --ray
    .venv-ray/bin/python scripts/ray_audit.py --snarkml target/release/snarkml \\
        --plan plan.json --srs srs19.bin --audit audit/ --cache cache/ \\
        --aggregate-srs srs21.bin --aggregate aggr/
    .venv-ray/bin/python scripts/ray_audit.py --snarkml target/release/snarkml \\
        --plan plan.json --srs srs19.bin --audit s3://bucket/run1/audit --cache /var/tmp/keys \\
        --aggregate-srs srs21.bin --aggregate s3://bucket/run1/aggr

A batch plan (`snarkml batch plan`) works the same way: each job is a task running
`snarkml batch prove --plan PLAN --job J -o OUT` (idempotent per request), and `--aggregate`
aggregates every proof of the batch (made `--for-aggregation`) with `snarkml aggregate`:

    .venv-ray/bin/python scripts/ray_audit.py --snarkml target/release/snarkml \\
        --plan batch.json --out proofs/ --cache cache/ [--aggregate-srs srs21.bin --aggregate aggr/]

A split build (`snarkml compile --segments N` or `--max-memory`) is proven for one input with
`--plan BUILD/split.json --input in.json`: each segment is a task running `snarkml prove BUILD
--segment J` (memory asked: the cost model's prediction for the segment plus 25 %), from one
input file the driver writes owner-only beside the proofs with a random salt per tensor
crossing a cut (`OUT/input.salted.json`, kept, so a rerun resumes; a segment whose proof is
there and verifies is skipped). `--aggregate` then aggregates the segments' proofs into one
(made `--for-aggregation`; the cuts linked inside), else the driver checks the proofs and
their chain with `snarkml verify BUILD OUT/segment-*.json`. `--out` is a shared directory or
an object store: there the driver uploads the build (`inputs/build/`) and the salted input
(`inputs/input.salted.json`, the bucket's own), each task stages only the manifest and its
segment's build onto its node and uploads its proof, and the driver downloads the proofs to
check or aggregate them:

    .venv-ray/bin/python scripts/ray_audit.py --snarkml target/release/snarkml \\
        --plan build/split.json --input in.json --out proofs/ --cache cache/ \\
        [--aggregate-srs srs21.bin --aggregate aggr/]      # or --out s3://bucket/run

`--cache` is the key cache: a shared directory, or a directory on each node's local disk (keys
are derived from the SRS and the circuit, so each node can make its own once). `--address`
joins a running cluster (`ray start --head` / KubeRay, or `auto`); without it the driver joins
`$RAY_ADDRESS` (as `ray job submit` sets it), else starts a Ray of its own on this machine
(never the cluster Ray last recorded in /tmp/ray: one killed without `ray stop` leaves its
address there, and joining it hangs). One JSON line per event goes to stdout:
{"event": "submitted" | "started" | "proven" | "aggregated" | "done", ...} ("started": a task
began on a node, retries included); each attempt (node and outcome) is also recorded in the
audit or output location: `attempts.jsonl` in a directory, one object per line under
`attempts/` in an object store.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import ray
from ray.util.queue import Queue
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

GIB = 1 << 30

# The suffix of the object `Store.put` writes beside each object: the SHA-256 of its content.
DIGEST = ".sha256"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def log(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class Store:
    """Where a run's artifacts live, as every node sees them: a directory (read and written in
    place) or an object-store URL, whose objects tasks stage through their node's disk."""

    def __init__(self, where: str):
        self.where = where.rstrip("/")
        self.remote = "://" in where and not where.startswith("file://")
        if self.remote:
            import fsspec  # only object stores need it
            self.fs, self.root = fsspec.core.url_to_fs(self.where)
        else:
            self.root = str(Path(where.removeprefix("file://")).resolve())

    def key(self, name: str) -> str:
        return f"{self.root}/{name}" if name else self.root

    def url(self, name: str) -> str:
        """How a user names an artifact: its path, or its URL."""
        return f"{self.where}/{name}" if self.remote else self.key(name)

    def exists(self, name: str) -> bool:
        return self.fs.exists(self.key(name))

    def names(self, prefix: str = "") -> list[str]:
        """Every object under `prefix`, relative to the store's root (not the digests `put`
        writes beside its objects)."""
        key = self.key(prefix)
        if not self.fs.exists(key):
            return []
        return sorted(k[len(self.root) + 1:] for k in self.fs.find(key)
                      if not k.endswith(DIGEST))

    def digest(self, name: str) -> str | None:
        """The SHA-256 `put` recorded for an object, if it did."""
        key = self.key(name) + DIGEST
        if not self.fs.exists(key):
            return None
        with self.fs.open(key, "r") as f:
            return f.read().strip()

    def put(self, local: Path, name: str) -> None:
        """Uploads a file, or every file of a directory under `name/`, each with its SHA-256
        beside it; a file whose content is there already (by that digest) is skipped, so a
        rerun uploads only what changed, and a rebuilt file of the same size is uploaded."""
        files = [(local, name)] if local.is_file() else [
            (f, "/".join(filter(None, [name, f.relative_to(local).as_posix()])))
            for f in sorted(local.rglob("*")) if f.is_file()]
        for f, n in files:
            key = self.key(n)
            digest = sha256_file(f)
            if self.fs.exists(key) and self.digest(n) == digest:
                continue
            self.fs.put_file(str(f), key)
            with self.fs.open(key + DIGEST, "w") as out:
                out.write(digest)

    def get(self, name: str, local: Path) -> None:
        """Downloads one object to the file `local` through a temporary name (tasks on one
        node may stage the same input at once). A file staged earlier is kept only when the
        object's recorded digest is the one it was staged with (a sidecar beside it): a
        rebuilt object of the same size, uploaded since, is staged again."""
        key = self.key(name)
        digest = self.digest(name)
        stamp = local.with_name(f".{local.name}{DIGEST}")
        if (digest is not None and local.exists() and stamp.exists()
                and stamp.read_text() == digest):
            return
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".{local.name}.{uuid.uuid4().hex}")
        self.fs.get_file(key, str(tmp))
        os.replace(tmp, local)
        if digest is not None:
            stamp.write_text(digest)
        else:
            stamp.unlink(missing_ok=True)

    def get_tree(self, prefix: str, local: Path) -> None:
        for n in self.names(prefix):
            self.get(n, local / n[len(prefix) + 1:])

    def write_text(self, name: str, text: str) -> None:
        with self.fs.open(self.key(name), "w") as f:
            f.write(text)


def node_dir(store: Store) -> Path:
    """This node's staging directory for the run stored at `store`."""
    base = Path(os.environ.get("SNARKML_RAY_SCRATCH", tempfile.gettempdir()))
    d = base / "snarkml-ray" / hashlib.sha256(store.where.encode()).hexdigest()[:16]
    d.mkdir(parents=True, exist_ok=True)
    return d


def sweep_dead(base: Path) -> None:
    """Removes the work directories of attempts whose process is gone (a task killed with its
    node or worker cannot clean up after itself)."""
    for d in base.glob("work-*-*"):
        try:
            os.kill(int(d.name.split("-")[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (ValueError, PermissionError):
            pass


@contextlib.contextmanager
def local_dir(store: Store):
    """The directory a task hands snarkml for `store`: the shared directory itself, or a
    fresh one on this node for one attempt (uploaded by the task, removed afterwards)."""
    if not store.remote:
        yield Path(store.root)
        return
    base = node_dir(store)
    sweep_dead(base)
    work = Path(tempfile.mkdtemp(prefix=f"work-{os.getpid()}-", dir=base))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(text)
    os.replace(tmp, path)


def stage_plan(store: Store, plan: dict) -> tuple[Path, Path]:
    """Stages the plan's build (and, for an audit, its dataset) onto this node; returns the
    local copy of the plan, rewritten to the staged paths, and the staged build."""
    local = node_dir(store) / "inputs"
    store.get_tree("inputs/build", local / "build")
    plan = dict(plan, build=str(local / "build"))
    if "chunks" in plan:
        store.get("inputs/dataset.json", local / "dataset.json")
        plan["dataset"] = str(local / "dataset.json")
    path = local / "plan.json"
    write_atomic(path, json.dumps(plan))
    return path, local / "build"


def stage_requests(store: Store, plan_path: Path, job: int) -> None:
    """Stages the request inputs of batch job `job` and points the local plan at them."""
    plan = json.loads(plan_path.read_text())
    local = plan_path.parent / "requests"
    for r in plan["jobs"][job]["requests"]:
        name = f"inputs/requests/{r['index']:05}.json"
        store.get(name, local / f"{r['index']:05}.json")
    for j in plan["jobs"]:
        for r in j["requests"]:
            r["input"] = str(local / f"{r['index']:05}.json")
    write_atomic(plan_path, json.dumps(plan))


def upload_inputs(store: Store, plan: dict, srs: str | None, aggregate_srs: str | None) -> None:
    """The driver's part with an object store: the plan and every input a task reads."""
    store.put(Path(plan["build"]), "inputs/build")
    if "chunks" in plan:
        store.put(Path(plan["dataset"]), "inputs/dataset.json")
    else:
        for j in plan["jobs"]:
            for r in j["requests"]:
                store.put(Path(r["input"]), f"inputs/requests/{r['index']:05}.json")
    if srs:
        store.put(Path(srs), "inputs/srs.bin")
    if aggregate_srs:
        store.put(Path(aggregate_srs), "inputs/aggregate-srs.bin")


def staged(store: Store, name: str, given: str) -> str:
    """The local path of an input: as given with a directory, else staged from the store."""
    if not store.remote:
        return given
    path = node_dir(store) / "inputs" / name
    store.get(f"inputs/{name}", path)
    return str(path)


def note_attempt(store: Store, events, index: int | str, outcome: str,
                 key: str = "chunk") -> None:
    """Records one attempt of a chunk, job, segment or aggregation step (which node, what
    happened) in the store, and streams its start to the driver."""
    node = ray.get_runtime_context().get_node_id()
    record = {key: index, "node": node, "host": socket.gethostname(), "pid": os.getpid(),
              "outcome": outcome, "time": time.time()}
    line = json.dumps(record)
    if store.remote:
        tag = f"{index:05}" if isinstance(index, int) else str(index).replace(":", "-")
        store.write_text(f"attempts/{key}-{tag}-{time.time_ns()}-{os.getpid()}.json", line)
    else:
        with open(Path(store.root) / "attempts.jsonl", "a", encoding="utf-8") as f:
            f.write(line + "\n")
    if outcome == "started":
        try:
            events.put_nowait({"event": "started", key: index, "node": node})
        except Exception:  # progress is best effort: the work itself must go on
            pass


def drain(events) -> None:
    """Prints the task starts streamed so far, one JSON object a line."""
    while not events.empty():
        print(json.dumps(events.get_nowait()), flush=True)


def alive_nodes() -> list[dict]:
    """The cluster's live nodes: their Ray ids and node-manager ports."""
    return [{"id": n["NodeID"], "port": n["NodeManagerPort"]} for n in ray.nodes() if n["Alive"]]


class Infeasible(Exception):
    """No node of the cluster can ever run a task of the size asked."""


def wait_feasible(what: str, num_cpus: float, memory: int, flag: str, patience: float) -> None:
    """Returns once some live node has `num_cpus` CPUs and `memory` bytes in all (busy or not):
    Ray would queue a task no node can take forever, without a word. An autoscaler has
    `patience` seconds to add such a node; then `Infeasible` names the task, its request,
    the largest node and the option that sets the request."""
    deadline = time.time() + patience
    waiting = False
    while True:
        nodes = [n["Resources"] for n in ray.nodes() if n["Alive"]]
        if any(r.get("CPU", 0) >= num_cpus and r.get("memory", 0) >= memory for r in nodes):
            return
        if time.time() >= deadline:
            big = max(nodes, key=lambda r: r.get("memory", 0), default={})
            raise Infeasible(
                f"no node of the cluster can run {what}: it asks {num_cpus:g} CPU and "
                f"{memory / GIB:.1f} GiB of memory, and the largest node has "
                f"{big.get('CPU', 0):g} CPU and {big.get('memory', 0) / GIB:.1f} GiB for Ray "
                f"tasks (lower {flag}, or add a larger node within --node-wait)")
        if not waiting:
            log("waiting for a node", task=what, cpus=num_cpus,
                memory_gb=round(memory / GIB, 1), patience_seconds=patience)
            waiting = True
        time.sleep(2)


def die_with_parent() -> None:
    """In the child: SIGKILL when the task's worker process dies (PR_SET_PDEATHSIG), so a lost
    task leaves no orphan proving the same chunk as its retry."""
    import ctypes
    import signal
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def run_snarkml(args: list[str]) -> dict:
    """Runs snarkml with --json; returns its JSON, or raises with its one-line error."""
    out = subprocess.run(args + ["--json"], capture_output=True, text=True, check=False,
                         preexec_fn=die_with_parent)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else
                           f"snarkml exited with {out.returncode}")
    return json.loads(out.stdout)


@ray.remote(max_retries=3, retry_exceptions=True)
def prove_chunk(snarkml: str, plan: dict, plan_path: str, srs: str, where: str, cache: str,
                chunk: int, events) -> dict:
    store = Store(where)
    note_attempt(store, events, chunk, "started")
    name = f"chunk-{chunk:04}.json"
    with local_dir(store) as out:
        if store.remote:
            plan_path, _ = stage_plan(store, plan)
            srs = staged(store, "srs.bin", srs)
            # A proof already in the store (and its verifying key) lets snarkml skip the chunk.
            for n in store.names():
                if n == name or (n.startswith("vk-") and n.endswith(".bin")):
                    store.get(n, out / n)
        result = run_snarkml([snarkml, "audit", "prove", "--plan", str(plan_path), "--srs",
                              srs, "--chunk", str(chunk), "-o", str(out), "--cache-dir", cache])
        if store.remote:
            # The verifying keys first: a chunk proof in the store means its chunk is finished.
            for f in sorted(out.glob("vk-*.bin")):
                store.put(f, f.name)
            store.fs.put_file(str(out / name), store.key(name))
    row = result["chunks"][0]
    note_attempt(store, events, chunk, "skipped" if row["skipped"] else "proven")
    row["node"] = ray.get_runtime_context().get_node_id()
    return row


@ray.remote(max_retries=3, retry_exceptions=True)
def prove_job(snarkml: str, plan: dict, plan_path: str, where: str, job: int, events) -> dict:
    store = Store(where)
    note_attempt(store, events, job, "started", key="job")
    names = [r["proof"] for r in plan["jobs"][job]["requests"]]
    with local_dir(store) as out:
        if store.remote:
            plan_path, _ = stage_plan(store, plan)
            stage_requests(store, plan_path, job)
            present = set(store.names())
            for n in names:
                for f in (n, n.removesuffix(".json") + ".done.json"):
                    if f in present:
                        store.get(f, out / f)
        result = run_snarkml([snarkml, "batch", "prove", "--plan", str(plan_path), "--job",
                              str(job), "-o", str(out)])
        if store.remote:
            # Each proof before its receipt, as snarkml writes them.
            for n in names:
                store.fs.put_file(str(out / n), store.key(n))
                receipt = n.removesuffix(".json") + ".done.json"
                store.fs.put_file(str(out / receipt), store.key(receipt))
    rows = result["requests"]
    skipped = sum(1 for r in rows if r["skipped"])
    note_attempt(store, events, job, "skipped" if skipped == len(rows) else "proven", key="job")
    return {"requests": len(rows), "skipped": skipped,
            "prove_secs": round(sum(r["prove_secs"] for r in rows), 3),
            "proofs": [store.url(n) for n in names]}


def aggregation_args(job: dict, store: Store, work: Path) -> list[str]:
    """The `snarkml aggregate` (or `audit aggregate`) command of `job` up to its output
    options, with the inner proofs (and the build and SRS) staged onto this node first when
    `store` is an object store."""
    build, srs, proofs = job["build"], job["srs"], job["proofs"]
    if store.remote:
        if job["kind"] == "split":
            store.get_tree("inputs/build", node_dir(store) / "inputs" / "build")
            build = str(node_dir(store) / "inputs" / "build")
        else:
            build = str(stage_plan(store, job["plan"])[1])
        srs = staged(store, "aggregate-srs.bin", srs)
        if job["kind"] == "audit":
            for n in store.names():
                if "/" not in n and n.endswith((".json", ".bin")):
                    store.get(n, work / n)
        else:
            for n in proofs:
                store.get(n, work / n)
    where = Path(store.root) if not store.remote else work
    head = ([job["snarkml"], "audit", "aggregate", str(where)] if job["kind"] == "audit" else
            [job["snarkml"], "aggregate", *(str(where / n) for n in proofs)])
    return head + ["--build", build, "--srs", srs, "--k", str(job["k"]), *job["layout"],
                   *job["extra"]]


@ray.remote(max_retries=2, retry_exceptions=True)
def aggregate_step(job: dict, step: str, below: list[str], events) -> dict:
    """One aggregation of the tree (`snarkml aggregate --step L:G`), from the node files of the
    layer below (`below`, staged from an object store); uploads its own node file, or the
    aggregation directory for the top step. A retry whose node file was made is answered at
    once (snarkml keeps it). Attempts are recorded beside the inner proofs."""
    store, output = Store(job["where"]), Store(job["out_where"])
    note_attempt(store, events, step, "started", key="step")
    with local_dir(store) as work, local_dir(output) as out:
        args = aggregation_args(job, store, work)
        if output.remote:
            for n in below:
                output.get(n, out / n)
        result = run_snarkml(args + ["-o", str(out), "--cache-dir", job["cache"], "--step", step])
        if output.remote:
            if "node" in result:
                name = f"nodes/{Path(result['node']).name}"
                output.put(out / name, name)
            else:
                for f in sorted(out.iterdir()):
                    if f.is_file() and not f.name.startswith("."):
                        output.put(f, f.name)
    result["node_id"] = ray.get_runtime_context().get_node_id()
    note_attempt(store, events, step, "skipped" if result.get("reused") else "proven",
                 key="step")
    return result


def aggregate_layout(args) -> list[str]:
    """The aggregation tree's layout options, as `snarkml aggregate` takes them."""
    return ["--arity", str(args.aggregate_arity)] + (
        ["--no-compress"] if args.aggregate_no_compress else [])


def aggregation_job(args, kind: str, snarkml: str, build: str, plan: dict | None,
                    proofs: list[str] | None, count: int, store: Store, output: Store,
                    cache: str) -> dict:
    """What every aggregation task of a run needs to know: the inner proofs' names in `store`
    (a batch, a split build) or only their `count` (an audit's chunks)."""
    extra = ["--expose", args.aggregate_expose] if kind == "batch" else []
    return {"kind": kind, "snarkml": snarkml, "build": build, "plan": plan,
            "proofs": proofs or [], "count": count,
            "srs": str(Path(args.aggregate_srs).resolve()), "k": args.aggregate_k,
            "layout": aggregate_layout(args), "extra": extra, "where": store.where,
            "out_where": output.where, "cache": cache}


def aggregate_tree(job: dict, memory: int, events, patience: float) -> dict:
    """Aggregates as a tree of Ray tasks: the steps of each layer at once (one task each, on
    any node), layer after layer; returns the top step's result (the aggregated proof)."""
    tree = run_snarkml([job["snarkml"], "aggregate", *(job["proofs"] or ["-"] * job["count"]),
                        "--build", job["build"], "--srs", job["srs"], *job["layout"], "--tree"])
    log("aggregating", layers=tree["layers"], steps=sum(len(s) for s in tree["steps"]))
    wait_feasible("an aggregation step", 1, memory, "--aggregate-memory-gb", patience)
    below: list[str] = []
    result = {}
    start = time.time()
    for layer, steps in enumerate(tree["steps"]):
        refs = {aggregate_step.options(num_cpus=1, memory=memory).remote(job, s, below, events):
                s for s in steps}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.2)
            drain(events)
            for ref in ready:
                step = refs.pop(ref)
                result = ray.get(ref)
                if "node" in result:
                    log("aggregation step", step=step, layer=layer, proofs=result["proofs"],
                        reused=result["reused"], keygen_seconds=round(result["keygen_secs"], 1),
                        prove_seconds=round(result["prove_secs"], 1), node=result["node_id"],
                        elapsed=round(time.time() - start, 1))
        below = [f"nodes/{s.replace(':', '-')}.json" for s in steps]
    return result


SPLIT_FORMAT = "snarkml-split/1"


def connect(address: str | None) -> None:
    """Joins the cluster at `address`, or at $RAY_ADDRESS, or starts a Ray of its own here:
    `ray.init()` without an address would join whatever cluster Ray last recorded in its
    temp directory, a dead one if that cluster was killed without `ray stop`."""
    ray.init(address=address or os.environ.get("RAY_ADDRESS") or "local", log_to_driver=False)


def salted_input(out: Path, manifest: dict, given: str) -> Path:
    """The input file every segment's job proves from: the user's input plus one random salt
    per tensor crossing a cut (kept from an earlier run of the driver, so a rerun resumes),
    written owner-only: the salts keep the intermediate tensors' commitments hiding."""
    path = out / "input.salted.json"
    data = json.loads(Path(given).read_text())
    if path.exists():
        kept = json.loads(path.read_text())
        if kept.get("input_data") != data.get("input_data") or any(
                kept.get("salts", {}).get(k) != v for k, v in data.get("salts", {}).items()):
            raise ValueError(f"{out} holds the proofs of another input: give another --out")
        return path
    salts = data.setdefault("salts", {})
    for segment in manifest["segments"][:-1]:
        for name in segment["outputs"]:
            # 31 random bytes: below the field's modulus.
            salts.setdefault(name, "0x" + os.urandom(31).hex())
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)
    return path


def stage_segment(store: Store, segment: int) -> tuple[str, str]:
    """Stages what proving one segment reads onto this node: the build's own files (the
    manifest, the whole model) and segment J's build, not the other segments' keys; and the
    salted input. Returns the local build and input."""
    local = node_dir(store) / "inputs"
    for name in store.names("inputs/build"):
        rel = name[len("inputs/build/"):]
        if "/" not in rel or rel.startswith(f"segment-{segment}/"):
            store.get(name, local / "build" / rel)
    return str(local / "build"), staged(store, "input.salted.json", "")


@ray.remote(max_retries=3, retry_exceptions=True)
def prove_segment(snarkml: str, build: str, salted: str, where: str, segment: int,
                  for_aggregation: bool, events) -> dict:
    """Proves segment `segment` (from 1) of a split build alone into WHERE/segment-J.json (a
    directory, or an object store the task stages through its node); a proof already there
    that verifies against the segment's keys is kept (a retry, or a rerun of the driver, never
    proves a finished segment twice)."""
    store = Store(where)
    note_attempt(store, events, segment, "started", key="segment")
    name = f"segment-{segment}.json"
    if store.remote:
        build, salted = stage_segment(store, segment)
    with local_dir(store) as work:
        out = work / name
        if store.remote and store.exists(name):
            store.get(name, out)
        if out.exists():
            seg_build = str(Path(build) / f"segment-{segment}")
            check = subprocess.run([snarkml, "verify", seg_build, str(out)],
                                   capture_output=True, check=False, preexec_fn=die_with_parent)
            if check.returncode == 0:
                note_attempt(store, events, segment, "skipped", key="segment")
                return {"segment": segment, "skipped": True, "seconds": 0.0,
                        "node": ray.get_runtime_context().get_node_id()}
        # Proven under a temporary name, then renamed: a killed attempt leaves no half proof.
        tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}")
        args = [snarkml, "prove", build, "--input", salted, "--segment", str(segment), "-o",
                str(tmp)]
        if for_aggregation:
            args.append("--for-aggregation")
        try:
            result = run_snarkml(args)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        if store.remote:
            store.fs.put_file(str(out), store.key(name))
    note_attempt(store, events, segment, "proven", key="segment")
    return {"segment": segment, "skipped": False, "seconds": result["seconds"],
            "node": ray.get_runtime_context().get_node_id()}


def wall_time(secs: list[float], machines: int) -> float:
    """Jobs of `secs` seconds on `machines` machines, longest first onto the machine free
    soonest (as snarkml's cost model schedules segments)."""
    load = [0.0] * max(machines, 1)
    for s in sorted(secs, reverse=True):
        load[load.index(min(load))] += s
    return max(load)


def dry_run(args, plan: dict, plan_path: str, snarkml: str) -> int:
    """Prints what a split build's run would ask of a cluster of `--machines` machines: each
    task's predicted seconds and memory (segments from the build's cost model, aggregation
    steps from `snarkml aggregate --tree`) and the predicted wall time; starts nothing."""
    segments = [{"task": f"segment {j}", "seconds": s["predicted_prove_seconds"],
                 "memory_bytes": s["predicted_memory_bytes"]}
                for j, s in enumerate(plan["segments"], start=1)]
    prove = wall_time([s["seconds"] for s in segments], args.machines)
    summary = {"machines": args.machines, "segments": len(segments),
               "prove_seconds": round(prove, 1),
               "prove_one_machine_seconds": round(sum(s["seconds"] for s in segments), 1),
               "peak_memory_bytes": max(s["memory_bytes"] for s in segments)}
    for s in segments:
        log("task", **s)
    if args.aggregate:
        tree = run_snarkml([snarkml, "aggregate", "-", "--build", str(Path(plan_path).parent),
                            "--srs", "-", "--k", str(args.aggregate_k), *aggregate_layout(args),
                            "--tree",
                            "--machines", str(args.machines)])
        for names, steps in zip(tree["steps"], tree["predicted"]["steps"]):
            for name, step in zip(names, steps):
                log("task", task=f"aggregation step {name}", seconds=step["prove_seconds"],
                    keygen_seconds=step["keygen_seconds"], memory_bytes=step["memory_bytes"])
        summary.update(aggregate_seconds=tree["predicted"]["seconds_with_keygen"],
                       aggregate_one_machine_seconds=tree["predicted"][
                           "one_machine_seconds_with_keygen"],
                       aggregate_steps=sum(len(s) for s in tree["steps"]),
                       aggregate_layers=len(tree["steps"]))
        summary["seconds"] = round(prove + summary["aggregate_seconds"], 1)
    log("predicted", **summary)
    return 0


def run_split(args, plan: dict, plan_path: str, snarkml: str, cache: str, events,
              resources: dict) -> int:
    """A split build (`snarkml compile --segments` / `--max-memory`): one task per segment,
    then the aggregation of their proofs, or a native check of the chain."""
    if not args.input:
        print("error: a split build needs --input (the model input to prove)", file=sys.stderr)
        return 1
    store = Store(args.audit)
    build = str(Path(plan_path).parent)
    # The salted input lives beside the proofs (a directory), or on this machine and in the
    # store (an object store), so that a rerun resumes with the same salts.
    out = node_dir(store) if store.remote else Path(store.root)
    out.mkdir(parents=True, exist_ok=True)
    if store.remote and store.exists("inputs/input.salted.json"):
        (out / "input.salted.json").unlink(missing_ok=True)
        store.get("inputs/input.salted.json", out / "input.salted.json")
    try:
        salted = str(salted_input(out, plan, args.input))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if store.remote:
        store.put(Path(build), "inputs/build")
        store.put(Path(salted), "inputs/input.salted.json")
        if args.aggregate:
            # The aggregation steps stage their SRS from the store, as an audit's do.
            store.put(Path(args.aggregate_srs), "inputs/aggregate-srs.bin")
    n = len(plan["segments"])
    start = time.time()
    pending = {}
    for j in range(1, n + 1):
        predicted = plan["segments"][j - 1].get("predicted_memory_bytes")
        # The cost model's memory with a margin, unless given.
        memory = (int(predicted * 1.25) if predicted and not args.chunk_memory_given
                  else resources["memory"])
        wait_feasible(f"segment {j}'s task", resources["num_cpus"], memory,
                      "--chunk-memory-gb (a segment's default: its predicted memory + 25 %)",
                      args.node_wait)
        ref = prove_segment.options(num_cpus=resources["num_cpus"], memory=memory).remote(
            snarkml, build, salted, store.where, j, bool(args.aggregate), events)
        pending[ref] = j
    log("submitted", segments=n, nodes=alive_nodes())
    done = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
        drain(events)
        for ref in ready:
            segment = pending.pop(ref)
            row = ray.get(ref)
            done += 1
            log("proven", segment=segment, done=done, of=n, skipped=row["skipped"],
                seconds=row["seconds"], node=row["node"], elapsed=round(time.time() - start, 1))
    proven = time.time() - start
    names = [f"segment-{j}.json" for j in range(1, n + 1)]
    summary = {"segments": n, "prove_seconds": round(proven, 1),
               "proofs": [store.url(name) for name in names]}
    if args.aggregate:
        output = Store(args.aggregate)
        if not output.remote:
            Path(output.root).mkdir(parents=True, exist_ok=True)
        job = aggregation_job(args, "split", snarkml, build, None, names, n, store, output,
                              cache)
        result = aggregate_tree(job, int(args.aggregate_memory_gb * GIB), events, args.node_wait)
        log("aggregated", **result)
        summary["aggregate_seconds"] = round(time.time() - start - proven, 1)
        summary["exposed"] = result.get("exposed")
    else:
        with local_dir(store) as work:
            if store.remote:
                for name in names:
                    store.get(name, work / name)
            result = run_snarkml([snarkml, "verify", build, *(str(work / m) for m in names)])
        log("verified", segments=result["segments"], outputs=result["outputs"])
    log("done", **summary)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--snarkml", required=True, help="the snarkml binary, on every node")
    p.add_argument("--plan", required=True,
                   help="an audit plan (snarkml audit plan) or a batch plan (snarkml batch plan)")
    p.add_argument("--srs", help="SRS file covering a chunk's k (audit plans)")
    p.add_argument("--input", help="the model input to prove (split builds: --plan BUILD/split.json)")
    p.add_argument("--audit", "--out", dest="audit",
                   help="where the chunk or request proofs go: a shared directory or an "
                        "object-store URL (s3://bucket/prefix)")
    p.add_argument("--cache",
                   help="key cache directory (shared, or on each node's local disk)")
    p.add_argument("--aggregate",
                   help="where the aggregation directory goes, a directory or an object-store "
                        "URL (skip aggregating if absent)")
    p.add_argument("--aggregate-srs", help="SRS file for the aggregation (2^k points)")
    p.add_argument("--aggregate-k", type=int, default=21, help="log2 of the aggregation's rows")
    p.add_argument("--aggregate-arity", type=int, default=2,
                   help="proofs per aggregation circuit (0: all in one; see snarkml aggregate)")
    p.add_argument("--aggregate-no-compress", action="store_true",
                   help="skip the final one-proof aggregation (more gas on chain)")
    p.add_argument("--aggregate-expose", default="none",
                   help="what a batch's aggregated proof exposes (see snarkml aggregate)")
    p.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else start Ray locally)")
    p.add_argument("--chunk-cpus", type=float, default=1.0, help="CPUs one chunk task asks for")
    p.add_argument("--chunk-memory-gb", type=float, default=None,
                   help="memory one chunk, job or segment task asks for (GiB) [default: 4, "
                        "or a segment's predicted memory plus 25 %%]")
    p.add_argument("--aggregate-memory-gb", type=float, default=12.0,
                   help="memory the aggregation task asks for (GiB)")
    p.add_argument("--node-wait", type=float, default=300.0,
                   help="seconds to wait for a node big enough for a task's CPU and memory "
                        "request (an autoscaler adding one) before failing, naming the task")
    p.add_argument("--dry-run", action="store_true",
                   help="print each task's predicted seconds and memory and the predicted wall "
                        "time on --machines machines, and start nothing (split builds)")
    p.add_argument("--machines", type=int, default=1,
                   help="with --dry-run: the cluster's machines (2-core, as the cost model's)")
    args = p.parse_args()
    if not args.dry_run and not (args.audit and args.cache):
        p.error("the following arguments are required: --audit/--out, --cache")
    if args.aggregate and not args.aggregate_srs and not args.dry_run:
        p.error("--aggregate needs --aggregate-srs")
    args.chunk_memory_given = args.chunk_memory_gb is not None
    if args.chunk_memory_gb is None:
        args.chunk_memory_gb = 4.0

    plan_path = str(Path(args.plan).resolve())
    try:
        plan = json.loads(Path(plan_path).read_text())
    except (OSError, ValueError) as e:
        print(f"error: cannot read the plan {args.plan}: {e}", file=sys.stderr)
        return 1
    kind = {"snarkml-audit-plan/1": "audit", "snarkml-batch-plan/1": "batch",
            SPLIT_FORMAT: "split"}.get(plan.get("format"))
    if kind is None:
        print(f"error: {args.plan} is neither an audit plan, a batch plan nor a split build's "
              "split.json", file=sys.stderr)
        return 1
    if kind == "split" and args.dry_run:
        return dry_run(args, plan, plan_path, str(Path(args.snarkml).resolve()))
    if args.dry_run:
        p.error("--dry-run takes a split build's split.json (an audit's cost: snarkml audit plan)")
    if kind == "split":
        cache = str(Path(args.cache).resolve())
        Path(cache).mkdir(parents=True, exist_ok=True)
        connect(args.address)
        here = ray.get_runtime_context().get_node_id()
        events = Queue(actor_options={
            "num_cpus": 0,
            "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=here, soft=False)})
        resources = {"num_cpus": args.chunk_cpus, "memory": int(args.chunk_memory_gb * GIB)}
        return run_split(args, plan, plan_path, str(Path(args.snarkml).resolve()), cache,
                         events, resources)
    if kind == "audit" and not args.srs:
        p.error("an audit plan needs --srs")
    try:
        store = Store(args.audit)
        output = Store(args.aggregate) if args.aggregate else None
    except (ImportError, ValueError) as e:
        print(f"error: cannot open the store {args.audit}: {e}", file=sys.stderr)
        return 1
    srs = str(Path(args.srs).resolve()) if args.srs else None
    agg_srs = str(Path(args.aggregate_srs).resolve()) if args.aggregate_srs else None
    if store.remote:
        upload_inputs(store, plan, srs, agg_srs if args.aggregate else None)
    else:
        Path(store.root).mkdir(parents=True, exist_ok=True)
    cache = args.cache if Path(args.cache).is_absolute() else str(Path(args.cache).resolve())
    Path(cache).mkdir(parents=True, exist_ok=True)
    snarkml = str(Path(args.snarkml).resolve())

    connect(args.address)
    # Task starts stream back through a queue that lives on the driver's node (it must
    # outlive any worker node).
    here = ray.get_runtime_context().get_node_id()
    events = Queue(actor_options={
        "num_cpus": 0,
        "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=here, soft=False)})
    start = time.time()
    pending = {}
    resources = {"num_cpus": args.chunk_cpus, "memory": int(args.chunk_memory_gb * GIB)}
    wait_feasible("a chunk task" if kind == "audit" else "a job task", resources["num_cpus"],
                  resources["memory"], "--chunk-memory-gb or --chunk-cpus", args.node_wait)
    if kind == "audit":
        for c in plan["chunks"]:
            ref = prove_chunk.options(**resources).remote(
                snarkml, plan, plan_path, srs, store.where, cache, c["index"], events)
            pending[ref] = c["index"]
    else:
        for j in plan["jobs"]:
            pending[prove_job.options(**resources).remote(
                snarkml, plan, plan_path, store.where, j["index"], events)] = j["index"]
    total = len(pending)
    log("submitted", **{"chunks" if kind == "audit" else "jobs": total}, nodes=alive_nodes())

    done = 0
    proofs = {}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
        drain(events)
        for ref in ready:
            index = pending.pop(ref)
            row = ray.get(ref)
            done += 1
            elapsed = round(time.time() - start, 1)
            if kind == "audit":
                log("proven", chunk=index, done=done, of=total, skipped=row["skipped"],
                    correct=row["correct"], seconds=row["prove_secs"], node=row["node"],
                    elapsed=elapsed)
            else:
                proofs[index] = row["proofs"]
                log("proven", job=index, done=done, of=total, requests=row["requests"],
                    skipped=row["skipped"], seconds=row["prove_secs"], elapsed=elapsed)
    drain(events)
    proven = time.time() - start
    summary = {"chunks" if kind == "audit" else "jobs": total, "prove_seconds": round(proven, 1)}
    if kind == "batch":
        summary["proofs"] = [p for j in sorted(proofs) for p in proofs[j]]
    if output:
        if not output.remote:
            Path(output.root).mkdir(parents=True, exist_ok=True)
        # Batch proofs by name in the store; an audit's chunks by their count.
        proofs = ([p.rsplit("/", 1)[-1] for p in summary["proofs"]] if kind == "batch"
                  else None)
        job = aggregation_job(args, kind, snarkml, plan["build"], plan, proofs,
                              len(proofs or []) or total, store, output, cache)
        result = aggregate_tree(job, int(args.aggregate_memory_gb * GIB), events, args.node_wait)
        log("aggregated", **result)
        summary["aggregate_seconds"] = round(time.time() - start - proven, 1)
        summary["exposed"] = result.get("exposed")
    log("done", **summary)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Infeasible as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
