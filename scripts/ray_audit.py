#!/usr/bin/env python3
"""Prove an accuracy audit or a batch of inference requests on a Ray cluster, then aggregate.

Every chunk of an audit plan (`snarkml audit plan`) is an independent Ray task that runs
`snarkml audit prove --plan PLAN --chunk J` with its own CPU and memory request. Ray retries a
task whose worker or node dies, on another node; `audit prove` is idempotent (a chunk whose
valid proof is already in the audit directory is skipped), so a retry never duplicates work
that finished. When every chunk is proven, the aggregation runs as one task on a node with
enough memory, and the aggregated proof lands in the output directory.

Artifacts go to directories every node can reach (one machine, NFS, a shared volume): the
plan, the build, the dataset, the SRS files, the audit directory and the key cache.

    scripts/setup --ray
    .venv-ray/bin/python scripts/ray_audit.py --snarkml target/release/snarkml \\
        --plan plan.json --srs srs19.bin --audit audit/ --cache cache/ \\
        --aggregate-srs srs21.bin --aggregate aggr/

A batch plan (`snarkml batch plan`) works the same way: each job is a task running
`snarkml batch prove --plan PLAN --job J -o OUT` (idempotent per request), and `--aggregate`
aggregates every proof of the batch (made `--for-aggregation`) with `snarkml aggregate`:

    .venv-ray/bin/python scripts/ray_audit.py --snarkml target/release/snarkml \\
        --plan batch.json --out proofs/ --cache cache/ [--aggregate-srs srs21.bin --aggregate aggr/]

`--address` joins a running cluster (`ray start --head` / KubeRay, or `auto`); without it
Ray starts locally on this machine. One JSON line per event goes to stdout:
{"event": "submitted" | "proven" | "aggregated" | "done", ...}; the attempts of each chunk
(node and outcome) are appended to AUDIT/attempts.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import ray

GIB = 1 << 30


def log(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def note_attempt(audit: str, index: int, outcome: str, key: str = "chunk") -> None:
    """Appends one attempt of a chunk or job (which node, what happened) to the directory's
    log."""
    line = json.dumps({
        key: index,
        "node": ray.get_runtime_context().get_node_id(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "outcome": outcome,
        "time": time.time(),
    })
    with open(Path(audit) / "attempts.jsonl", "a", encoding="utf-8") as f:
        f.write(line + "\n")


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
def prove_chunk(snarkml: str, plan: str, srs: str, audit: str, cache: str, chunk: int) -> dict:
    note_attempt(audit, chunk, "started")
    result = run_snarkml([snarkml, "audit", "prove", "--plan", plan, "--srs", srs,
                          "--chunk", str(chunk), "-o", audit, "--cache-dir", cache])
    row = result["chunks"][0]
    note_attempt(audit, chunk, "skipped" if row["skipped"] else "proven")
    row["node"] = ray.get_runtime_context().get_node_id()
    return row


@ray.remote(max_retries=3, retry_exceptions=True)
def prove_job(snarkml: str, plan: str, out: str, job: int) -> dict:
    note_attempt(out, job, "started", key="job")
    result = run_snarkml([snarkml, "batch", "prove", "--plan", plan, "--job", str(job),
                          "-o", out])
    rows = result["requests"]
    skipped = sum(1 for r in rows if r["skipped"])
    note_attempt(out, job, "skipped" if skipped == len(rows) else "proven", key="job")
    return {"requests": len(rows), "skipped": skipped,
            "prove_secs": round(sum(r["prove_secs"] for r in rows), 3),
            "proofs": [r["proof"] for r in rows]}


@ray.remote(max_retries=2, retry_exceptions=True)
def aggregate_batch(snarkml: str, proofs: list, build: str, srs: str, k: int, layout: list,
                    expose: str, out: str, cache: str) -> dict:
    return run_snarkml([snarkml, "aggregate", *proofs, "--build", build, "--srs", srs,
                        "--k", str(k), *layout, "--expose", expose, "-o", out,
                        "--cache-dir", cache])


@ray.remote(max_retries=2, retry_exceptions=True)
def aggregate(snarkml: str, audit: str, build: str, srs: str, k: int, layout: list, out: str,
              cache: str) -> dict:
    return run_snarkml([snarkml, "audit", "aggregate", audit, "--build", build, "--srs", srs,
                        "--k", str(k), *layout, "-o", out, "--cache-dir", cache])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--snarkml", required=True, help="the snarkml binary, on every node")
    p.add_argument("--plan", required=True,
                   help="an audit plan (snarkml audit plan) or a batch plan (snarkml batch plan)")
    p.add_argument("--srs", help="SRS file covering a chunk's k (audit plans)")
    p.add_argument("--audit", "--out", dest="audit", required=True,
                   help="shared directory for the chunk or request proofs")
    p.add_argument("--cache", required=True, help="shared key cache directory")
    p.add_argument("--aggregate", help="aggregation directory to write (skip aggregating if absent)")
    p.add_argument("--aggregate-srs", help="SRS file for the aggregation (2^k points)")
    p.add_argument("--aggregate-k", type=int, default=21, help="log2 of the aggregation's rows")
    p.add_argument("--aggregate-arity", type=int, default=2,
                   help="proofs per aggregation circuit (0: all in one; see snarkml aggregate)")
    p.add_argument("--aggregate-no-compress", action="store_true",
                   help="skip the final one-proof aggregation (more gas on chain)")
    p.add_argument("--aggregate-expose", default="none",
                   help="what a batch's aggregated proof exposes (see snarkml aggregate)")
    p.add_argument("--address", help="Ray cluster address (default: start Ray locally)")
    p.add_argument("--chunk-cpus", type=float, default=1.0, help="CPUs one chunk task asks for")
    p.add_argument("--chunk-memory-gb", type=float, default=4.0,
                   help="memory one chunk task asks for (GiB)")
    p.add_argument("--aggregate-memory-gb", type=float, default=12.0,
                   help="memory the aggregation task asks for (GiB)")
    args = p.parse_args()
    if args.aggregate and not args.aggregate_srs:
        p.error("--aggregate needs --aggregate-srs")

    plan_path = str(Path(args.plan).resolve())
    plan = json.loads(Path(plan_path).read_text())
    kind = {"snarkml-audit-plan/1": "audit", "snarkml-batch-plan/1": "batch"}.get(
        plan.get("format"))
    if kind is None:
        print(f"error: {args.plan} is neither an audit plan nor a batch plan", file=sys.stderr)
        return 1
    if kind == "audit" and not args.srs:
        p.error("an audit plan needs --srs")
    audit = str(Path(args.audit).resolve())
    cache = str(Path(args.cache).resolve())
    Path(audit).mkdir(parents=True, exist_ok=True)
    Path(cache).mkdir(parents=True, exist_ok=True)
    snarkml = str(Path(args.snarkml).resolve())

    ray.init(address=args.address, log_to_driver=False)
    start = time.time()
    pending = {}
    resources = {"num_cpus": args.chunk_cpus, "memory": int(args.chunk_memory_gb * GIB)}
    if kind == "audit":
        srs = str(Path(args.srs).resolve())
        for c in plan["chunks"]:
            ref = prove_chunk.options(**resources).remote(
                snarkml, plan_path, srs, audit, cache, c["index"])
            pending[ref] = c["index"]
    else:
        for j in plan["jobs"]:
            pending[prove_job.options(**resources).remote(snarkml, plan_path, audit,
                                                          j["index"])] = j["index"]
    total = len(pending)
    nodes = [{"id": n["NodeID"], "port": n["NodeManagerPort"]} for n in ray.nodes() if n["Alive"]]
    log("submitted", **{"chunks" if kind == "audit" else "jobs": total}, nodes=nodes)
    done = 0
    proofs = {}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            index = pending.pop(ref)
            row = ray.get(ref)
            done += 1
            elapsed = round(time.time() - start, 1)
            if kind == "audit":
                log("proven", chunk=index, done=done, of=total, skipped=row["skipped"],
                    correct=row["correct"], seconds=row["prove_secs"], elapsed=elapsed)
            else:
                proofs[index] = row["proofs"]
                log("proven", job=index, done=done, of=total, requests=row["requests"],
                    skipped=row["skipped"], seconds=row["prove_secs"], elapsed=elapsed)
    proven = time.time() - start
    summary = {"chunks" if kind == "audit" else "jobs": total, "prove_seconds": round(proven, 1)}
    if kind == "batch":
        summary["proofs"] = [p for j in sorted(proofs) for p in proofs[j]]
    if args.aggregate:
        layout = ["--arity", str(args.aggregate_arity)]
        if args.aggregate_no_compress:
            layout.append("--no-compress")
        where = {"num_cpus": 1, "memory": int(args.aggregate_memory_gb * GIB)}
        agg_srs = str(Path(args.aggregate_srs).resolve())
        out = str(Path(args.aggregate).resolve())
        build = str(Path(plan["build"]).resolve())
        if kind == "audit":
            task = aggregate.options(**where).remote(
                snarkml, audit, build, agg_srs, args.aggregate_k, layout, out, cache)
        else:
            task = aggregate_batch.options(**where).remote(
                snarkml, summary["proofs"], build, agg_srs, args.aggregate_k, layout,
                args.aggregate_expose, out, cache)
        result = ray.get(task)
        log("aggregated", **result)
        summary["aggregate_seconds"] = round(time.time() - start - proven, 1)
        summary["exposed"] = result.get("exposed")
    log("done", **summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
