#!/usr/bin/env python3
"""Real exported models we did not write: the ONNX project's backend test models shipped in
the `onnx` wheel (onnx/backend/test/data: `pytorch-converted`, `pytorch-operator`, `simple`),
each a model exported by PyTorch (or written by ONNX's authors) with one input and the output
onnxruntime's reference gives. For each: `snarkml compile` with that input as the calibration
sample (under 60 s), `run` compared with the reference (mean relative error within 1 %), and
`mock` (every constraint satisfied). Prints one line per model and the pass rate, by class of
failure.

    .venv/bin/python scripts/bench_onnx_backend.py [--snarkml target/release/snarkml] [NAME…]

(`scripts/setup --python` makes .venv; the models come with its onnx package.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
SUITES = ["pytorch-converted", "pytorch-operator", "simple"]
TARGET = 0.01
COMPILE_LIMIT_S = 60


def tensors(folder: Path, prefix: str) -> list[np.ndarray]:
    out = []
    for f in sorted(folder.glob(f"{prefix}_*.pb"), key=lambda p: int(p.stem.split("_")[1])):
        t = onnx.TensorProto()
        t.ParseFromString(f.read_bytes())
        out.append(numpy_helper.to_array(t))
    return out


def one_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else "").replace("error: ", "", 1)[:160]


def check(snarkml: str, model_dir: Path, work: Path) -> tuple[str, str, float]:
    """('pass' | a failure class, detail, compile seconds)."""
    sets = sorted(model_dir.glob("test_data_set_*"))
    if not sets:
        return "no test data", "", 0.0
    inputs, expected = tensors(sets[0], "input"), tensors(sets[0], "output")
    if any(x.dtype.kind not in "fiub" for x in inputs):
        return "non-numeric input", str([x.dtype for x in inputs]), 0.0
    data = [np.asarray(x, dtype=np.float64).ravel().tolist() for x in inputs]
    (work / "in.json").write_text(json.dumps({"input_data": data}))
    build = work / "build"
    start = time.monotonic()
    try:
        c = subprocess.run([snarkml, "compile", str(model_dir / "model.onnx"), "--calibration",
                            str(work / "in.json"), "-o", str(build)], capture_output=True,
                           text=True, timeout=COMPILE_LIMIT_S)
    except subprocess.TimeoutExpired:
        return "compile over 60 s", "", float(COMPILE_LIMIT_S)
    seconds = time.monotonic() - start
    if c.returncode != 0:
        err = one_line(c.stderr)
        kind = "unsupported op" if "unsupported" in err else "compile error"
        if "on the calibration samples; fixed point holds" in err:
            kind = "test input beyond fixed point"
        if "target" in err and "error" in err:
            kind = "accuracy target missed"
        return kind, err, seconds
    r = subprocess.run([snarkml, "run", str(build), "--input", str(work / "in.json"), "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "run error", one_line(r.stderr), seconds
    got = [np.asarray(o["values"], dtype=np.float64) for o in json.loads(r.stdout)["outputs"]]
    err = mag = 0.0
    for g, w in zip(got, expected):
        w = np.asarray(w, dtype=np.float64).ravel()
        if g.size != w.size:
            return "wrong output shape", f"{g.size} values, reference {w.size}", seconds
        err += float(np.abs(g - w).sum())
        mag += float(np.abs(w).sum())
    relative = err / max(mag, 1e-9)
    if len(got) != len(expected):
        return "wrong output count", f"{len(got)} outputs, reference {len(expected)}", seconds
    if relative > TARGET:
        return "over 1 % from the reference", f"{100 * relative:.2f} %", seconds
    m = subprocess.run([snarkml, "mock", str(build), "--input", str(work / "in.json")],
                       capture_output=True, text=True)
    if m.returncode != 0:
        return "mock fails", one_line(m.stderr), seconds
    return "pass", f"{100 * relative:.3f} %", seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--snarkml", default="target/release/snarkml")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    models = [d for s in SUITES for d in sorted((DATA / s).iterdir()) if d.is_dir()]
    if args.names:
        models = [d for d in models if d.name in args.names]
    results = Counter()
    slowest = (0.0, "")
    for d in models:
        with tempfile.TemporaryDirectory() as tmp:
            kind, detail, seconds = check(args.snarkml, d, Path(tmp))
        results[kind] += 1
        slowest = max(slowest, (seconds, d.name))
        print(f"{d.parent.name}/{d.name}: {kind} ({seconds:.1f} s) {detail}", flush=True)
    total = sum(results.values())
    print(f"\n{results['pass']} of {total} pass ({100 * results['pass'] / max(total, 1):.0f} %); "
          f"slowest compile {slowest[0]:.1f} s ({slowest[1]})")
    for kind, n in results.most_common():
        if kind != "pass":
            print(f"  {n:3d}  {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
