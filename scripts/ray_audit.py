#!/usr/bin/env python3
"""Prove an accuracy audit on a Ray cluster, then aggregate it.

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


def note_attempt(audit: str, chunk: int, outcome: str) -> None:
    """Appends one attempt of a chunk (which node, what happened) to the audit's log."""
    line = json.dumps({
        "chunk": chunk,
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


@ray.remote(max_retries=2, retry_exceptions=True)
def aggregate(snarkml: str, audit: str, build: str, srs: str, k: int, out: str,
              cache: str) -> dict:
    return run_snarkml([snarkml, "audit", "aggregate", audit, "--build", build, "--srs", srs,
                        "--k", str(k), "-o", out, "--cache-dir", cache])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--snarkml", required=True, help="the snarkml binary, on every node")
    p.add_argument("--plan", required=True, help="the audit plan (snarkml audit plan)")
    p.add_argument("--srs", required=True, help="SRS file covering a chunk's k")
    p.add_argument("--audit", required=True, help="shared audit directory for chunk proofs")
    p.add_argument("--cache", required=True, help="shared key cache directory")
    p.add_argument("--aggregate", help="aggregation directory to write (skip aggregating if absent)")
    p.add_argument("--aggregate-srs", help="SRS file for the aggregation (2^k points)")
    p.add_argument("--aggregate-k", type=int, default=21, help="log2 of the aggregation's rows")
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
    if plan.get("format") != "snarkml-audit-plan/1":
        print(f"error: {args.plan} is not an audit plan", file=sys.stderr)
        return 1
    audit = str(Path(args.audit).resolve())
    cache = str(Path(args.cache).resolve())
    Path(audit).mkdir(parents=True, exist_ok=True)
    Path(cache).mkdir(parents=True, exist_ok=True)
    snarkml = str(Path(args.snarkml).resolve())
    srs = str(Path(args.srs).resolve())

    ray.init(address=args.address, log_to_driver=False)
    start = time.time()
    pending = {}
    for c in plan["chunks"]:
        ref = prove_chunk.options(
            num_cpus=args.chunk_cpus, memory=int(args.chunk_memory_gb * GIB)
        ).remote(snarkml, plan_path, srs, audit, cache, c["index"])
        pending[ref] = c["index"]
    nodes = [{"id": n["NodeID"], "port": n["NodeManagerPort"]} for n in ray.nodes() if n["Alive"]]
    log("submitted", chunks=len(pending), nodes=nodes)
    done = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            chunk = pending.pop(ref)
            row = ray.get(ref)
            done += 1
            log("proven", chunk=chunk, done=done, of=len(plan["chunks"]),
                skipped=row["skipped"], correct=row["correct"], seconds=row["prove_secs"],
                elapsed=round(time.time() - start, 1))
    proven = time.time() - start
    summary = {"chunks": len(plan["chunks"]), "prove_seconds": round(proven, 1)}
    if args.aggregate:
        result = ray.get(aggregate.options(
            num_cpus=1, memory=int(args.aggregate_memory_gb * GIB)
        ).remote(snarkml, audit, str(Path(plan["build"]).resolve()),
                 str(Path(args.aggregate_srs).resolve()), args.aggregate_k,
                 str(Path(args.aggregate).resolve()), cache))
        log("aggregated", **result)
        summary["aggregate_seconds"] = round(time.time() - start - proven, 1)
        summary["exposed"] = result.get("exposed")
    log("done", **summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
