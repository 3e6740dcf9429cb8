#!/usr/bin/env python3
"""snarkml against ezkl on the same models, on the same machine, in one run.

Run through scripts/bench-vs-ezkl (it makes the venv and builds snarkml). For each model
both tools compile it, set up keys, prove one input and verify, each tool in its own child
process so that its peak memory is its own. ezkl runs offline: its SRS comes from
`ezkl.gen_srs` (never `get_srs`). The results replace the section between the markers in
BENCHMARKS.md and are drawn in docs/bench-vs-ezkl.png.

    .venv-ezkl/bin/python scripts/bench_vs_ezkl.py --snarkml target/release/snarkml [--models a,b]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import machine, write_section

ROOT = Path(__file__).resolve().parent.parent
CORPUS = "tests/fixtures/corpus"
# name -> (onnx, calibration, input); every model both tools are asked to prove.
MODELS = {
    "relu3": ("tests/fixtures/relu3.onnx", "tests/fixtures/relu3.input.json",
              "tests/fixtures/relu3.input.json"),
    "digits_mlp": ("models/digits_mlp/model.onnx", "models/digits_mlp/calibration.json",
                   "models/digits_mlp/input.json"),
    "conv_depthwise_mlp": ("tests/fixtures/conv_depthwise_mlp.onnx",
                           "tests/fixtures/conv_depthwise_mlp.calibration.json",
                           "tests/fixtures/conv_depthwise_mlp.input.json"),
}
for _name in ["cnn_digits", "attention_head", "lstm_small", "transformer_block", "lenet5"]:
    MODELS[_name] = (f"{CORPUS}/{_name}.onnx", f"{CORPUS}/{_name}.calibration.json",
                     f"{CORPUS}/{_name}.input.json")

START = "<!-- bench-vs-ezkl:start -->"
END = "<!-- bench-vs-ezkl:end -->"


def run_child(cmd: list[str], timeout: float) -> tuple[int, str, str, float]:
    """Runs a child process; returns (status, stdout, stderr, its peak RSS in MiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        deadline = time.time() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.time() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                status = -9
                break
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status) if status != -9 else -9
        return code, out.read().decode(), err.read().decode(), usage.ru_maxrss / 1024.0


def ezkl_child(model: str, _calibration: str, data: str, work: str, srs_dir: str) -> None:
    """The ezkl pipeline, run inside a child process; prints one JSON object."""
    import asyncio

    import ezkl

    def call(f, *args, **kwargs):
        r = f(*args, **kwargs)
        return asyncio.get_event_loop().run_until_complete(r) if asyncio.iscoroutine(r) else r

    w = Path(work)
    settings, compiled = str(w / "settings.json"), str(w / "network.ezkl")
    pk, vk, witness, proof = (str(w / n) for n in ["pk.key", "vk.key", "witness.json", "proof.json"])
    args = ezkl.PyRunArgs()
    args.input_visibility = "public"
    args.output_visibility = "public"
    args.param_visibility = "fixed"
    t0 = time.time()
    call(ezkl.gen_settings, model, settings, py_run_args=args)
    call(ezkl.calibrate_settings, data, model, settings, "resources")
    call(ezkl.compile_circuit, model, compiled, settings)
    compile_s = time.time() - t0
    calibrated = json.loads(Path(settings).read_text())
    run_args = calibrated["run_args"]
    logrows = run_args["logrows"]
    srs = Path(srs_dir) / f"kzg{logrows}.srs"
    srs_s = 0.0
    if not srs.exists():
        t0 = time.time()
        call(ezkl.gen_srs, str(srs), logrows)
        srs_s = time.time() - t0
    t0 = time.time()
    call(ezkl.setup, compiled, vk, pk, str(srs))
    setup_s = time.time() - t0
    t0 = time.time()
    call(ezkl.gen_witness, data, compiled, witness)
    call(ezkl.prove, witness, compiled, pk, proof, str(srs))
    prove_s = time.time() - t0
    t0 = time.time()
    ok = call(ezkl.verify, proof, settings, vk, str(srs))
    verify_s = time.time() - t0
    p = json.loads(Path(proof).read_text())
    raw = p.get("proof")
    size = len(bytes.fromhex(raw[2:] if raw.startswith("0x") else raw)) if isinstance(raw, str) \
        else len(raw or [])
    print(json.dumps({"k": logrows, "rows": calibrated.get("num_rows"),
                      "compile_s": compile_s, "srs_gen_s": srs_s,
                      "setup_s": setup_s, "prove_s": prove_s, "verify_s": verify_s,
                      "verified": bool(ok), "proof_bytes": size}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snarkml", required=True, help="the snarkml binary to measure")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per tool and model")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--ezkl-child", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.ezkl_child:
        ezkl_child(*a.ezkl_child)
        return 0

    import ezkl  # noqa: F401  (fail early when the venv lacks it)

    names = [n for n in a.models.split(",") if n]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(f"bench-vs-ezkl: unknown model(s) {unknown}; known: {list(MODELS)}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-vs-ezkl-") as tmp:
        srs_dir = Path(tmp) / "srs"
        srs_dir.mkdir()
        for name in names:
            onnx_path, calibration, data = MODELS[name]
            print(f"== {name}: snarkml", file=sys.stderr)
            code, out, err, rss = run_child(
                [a.snarkml, "bench", onnx_path, "--calibration", calibration, "--input", data,
                 "--runs", "1", "--json"], a.timeout)
            ours = json.loads(out.strip().splitlines()[-1]) if code == 0 else None
            if ours is None:
                print(f"   snarkml failed: {err.strip().splitlines()[-1:]}", file=sys.stderr)
            else:
                ours["peak_rss_mib"] = rss
            print(f"== {name}: ezkl", file=sys.stderr)
            work = Path(tmp) / name
            work.mkdir()
            code, out, err, rss = run_child(
                [sys.executable, __file__, "--snarkml", a.snarkml, "--ezkl-child", onnx_path,
                 calibration, data, str(work), str(srs_dir)], a.timeout)
            theirs = None
            if code == 0 and out.strip():
                theirs = json.loads(out.strip().splitlines()[-1])
                theirs["peak_rss_mib"] = rss
            else:
                why = "timed out" if code == -9 else (err.strip().splitlines() or ["?"])[-1]
                print(f"   ezkl failed: {why}", file=sys.stderr)
                theirs = {"error": why[:160]}
            rows.append((name, ours, theirs))
            print(json.dumps({"model": name, "snarkml": ours, "ezkl": theirs}), file=sys.stderr)

    date = datetime.date.today().isoformat()
    lines = [
        START,
        "",
        f"**Machine:** {machine()}. **Date:** {date}. **snarkml binary:** `{a.snarkml}`; "
        f"**ezkl:** {__import__('ezkl').__version__} from PyPI (Python API, offline SRS from "
        "`gen_srs`).",
        "",
        "```sh",
        f"scripts/bench-vs-ezkl --models {','.join(names)}",
        "```",
        "",
        "Both tools: public input and output, fixed weights, one proof of the same input, "
        "each tool in its own process (peak RSS is that process's). ezkl's prove time "
        "includes its witness generation, as snarkml's does; compile time is not compared. "
        "Ratios: ezkl ÷ snarkml for time, snarkml ÷ ezkl for memory. Rows: the rows the "
        "layout uses (ezkl's `num_rows`), then the lookup tables' rows where the tool reports "
        "them; `k` covers both.",
        "",
        "| model | tool | k | rows | setup s | prove s | verify s | proof B | peak RSS MiB | prove speed-up | memory ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, ours, theirs in rows:
        def cells(r):
            if not r or "error" in r:
                return "–", "–", "–", "–", "–", "–", "–"
            rows = f"{r['rows']:,}" if r.get("rows") is not None else "–"
            if r.get("table_rows") is not None:
                rows += f" + {r['table_rows']:,} table"
            return (str(r["k"]), rows, f"{r['setup_s']:.2f}", f"{r['prove_s']:.2f}",
                    f"{r['verify_s']:.3f}", f"{r['proof_bytes']:,}", f"{r['peak_rss_mib']:,.0f}")
        both = ours and theirs and "error" not in theirs
        speed = f"**{theirs['prove_s'] / ours['prove_s']:.1f}×**" if both else "–"
        mem = f"**{ours['peak_rss_mib'] / theirs['peak_rss_mib']:.2f}**" if both else "–"
        lines.append(f"| {name} | snarkml | " + " | ".join(cells(ours)) + f" | {speed} | {mem} |")
        note = f" ({theirs['error']})" if theirs and "error" in theirs else ""
        lines.append(f"| {name} | ezkl{note} | " + " | ".join(cells(theirs)) + " | | |")
    lines += ["", "![prove time and peak memory, snarkml vs ezkl](docs/bench-vs-ezkl.png)", "",
              END]
    section = "\n".join(lines)
    print(section)
    if a.no_write:
        return 0
    write_section(ROOT / "BENCHMARKS.md", START, END,
                  "## snarkml vs ezkl, same machine, same run (`scripts/bench-vs-ezkl`)", section)
    plot(rows, ROOT / "docs" / "bench-vs-ezkl.png")
    return 0


def plot(rows, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [(n, o, t) for n, o, t in rows if o and t and "error" not in t]
    if not done:
        return
    names = [n for n, _, _ in done]
    x = range(len(names))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, key, title, unit in [(ax1, "prove_s", "prove time", "s"),
                                 (ax2, "peak_rss_mib", "peak memory", "MiB")]:
        ax.bar([i - 0.2 for i in x], [o[key] for _, o, _ in done], 0.4, label="snarkml")
        ax.bar([i + 0.2 for i in x], [t[key] for _, _, t in done], 0.4, label="ezkl")
        ax.set_yscale("log")
        ax.set_xticks(list(x), names, rotation=30, ha="right")
        ax.set_title(f"{title} ({unit}, log scale)")
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
