#!/usr/bin/env python3
"""Tree ensembles as scikit-learn users export them (skl2onnx: ai.onnx.ml TreeEnsembleRegressor
and TreeEnsembleClassifier) through snarkml: compile (64 calibration rows of the data set), run and mock one row, and compare
with onnxruntime. Prints one line per model and scale.

    .venv/bin/pip install --target /tmp/skl skl2onnx      # not a project dependency
    PYTHONPATH=/tmp/skl .venv/bin/python scripts/bench_sklearn_trees.py \\
        --snarkml target/release/snarkml
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)

try:
    from skl2onnx import to_onnx
except ImportError:
    sys.exit("skl2onnx is missing: .venv/bin/pip install --target /tmp/skl skl2onnx, then "
             "PYTHONPATH=/tmp/skl")


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--snarkml", required=True)
    args = p.parse_args()
    x, y = load_diabetes(return_X_y=True)
    x = (x * 10).astype(np.float32)
    models = [
        ("random forest, 10 trees of depth 5", RandomForestRegressor(
            n_estimators=10, max_depth=5, random_state=0)),
        ("gradient boosting, 20 trees of depth 3", GradientBoostingRegressor(
            n_estimators=20, max_depth=3, random_state=0)),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "cal.json").write_text(json.dumps({"inputs": [r.tolist() for r in x[:64]]}))
        # Held out from calibration.
        rows = x[100:164]
        for label, model in models:
            model.fit(x, y)
            onnx_path = t / "model.onnx"
            onnx_path.write_bytes(to_onnx(model, x[:1], target_opset={
                "": 18, "ai.onnx.ml": 3}).SerializeToString())
            session = ort.InferenceSession(str(onnx_path))
            for scale in [None, 10]:
                build = t / "build"
                cmd = [args.snarkml, "compile", str(onnx_path), "--calibration",
                       str(t / "cal.json"), "-o", str(build), "--json", "--allow-error"]
                if scale:
                    cmd += ["--scale", str(scale)]
                start = time.time()
                c = run(cmd)
                if c.returncode:
                    print(f"{label}: compile failed: {c.stderr.strip()}")
                    break
                info = json.loads(c.stdout)
                secs = time.time() - start
                errors = []
                for r in rows:
                    (t / "in.json").write_text(json.dumps({"input_data": [r.tolist()]}))
                    o = run([args.snarkml, "run", str(build), "--input", str(t / "in.json"),
                             "--json"])
                    ours = np.array(json.loads(o.stdout)["outputs"][0]["values"], dtype=float)
                    ref = session.run(None, {"X": r[None, :]})[0].ravel()
                    errors.append(float(np.abs(ours - ref).max() / np.abs(ref).max()))
                m = run([args.snarkml, "mock", str(build), "--input", str(t / "in.json")])
                print(f"{label}: scale 2^{info['scale_bits']}, k = {info['k']}, "
                      f"{info['rows']} rows, compile {secs:.1f} s, mock "
                      f"{'ok' if m.returncode == 0 else 'FAILED'}; on 64 held-out rows vs "
                      f"onnxruntime: mean {100 * np.mean(errors):.2f} %, worst "
                      f"{100 * max(errors):.2f} %")
        classifiers(args.snarkml, t)
    return 0


def classifiers(snarkml: str, t: Path) -> None:
    """Multiclass classifiers of iris (exported without ZipMap), calibrated on every third
    row, run on the 100 others: labels that differ from onnxruntime's, the worst score."""
    x, y = load_iris(return_X_y=True)
    x = x.astype(np.float32)
    (t / "cal.json").write_text(json.dumps({"inputs": [r.tolist() for r in x[::3]]}))
    held_out = [i for i in range(len(x)) if i % 3]
    for label, model in [
        ("random forest classifier, 8 trees of depth 4", RandomForestClassifier(
            n_estimators=8, max_depth=4, random_state=0)),
        ("gradient boosting classifier, 10 x 3 trees of depth 3", GradientBoostingClassifier(
            n_estimators=10, max_depth=3, random_state=0)),
    ]:
        model.fit(x, y)
        onnx_path = t / "classifier.onnx"
        onnx_path.write_bytes(to_onnx(model, x[:1], target_opset={"": 18, "ai.onnx.ml": 3},
                                      options={id(model): {"zipmap": False}}).SerializeToString())
        session = ort.InferenceSession(str(onnx_path))
        build = t / "classifier"
        c = run([snarkml, "compile", str(onnx_path), "--calibration", str(t / "cal.json"),
                 "-o", str(build), "--json", "--scale", "10"])
        if c.returncode:
            print(f"{label}: compile failed: {c.stderr.strip()}")
            continue
        info = json.loads(c.stdout)
        wrong, worst = 0, 0.0
        for i in held_out:
            (t / "in.json").write_text(json.dumps({"input_data": [x[i].tolist()]}))
            o = json.loads(run([snarkml, "run", str(build), "--input", str(t / "in.json"),
                                "--json"]).stdout)["outputs"]
            ref = session.run(None, {"X": x[i:i + 1]})
            wrong += int(o[0]["values"][0] != ref[0][0])
            worst = max(worst, float(np.abs(np.array(o[1]["values"]) - ref[1].ravel()).max()))
        m = run([snarkml, "mock", str(build), "--input", str(t / "in.json")])
        print(f"{label}: scale 2^{info['scale_bits']}, k = {info['k']}, {info['rows']} rows, "
              f"mock {'ok' if m.returncode == 0 else 'FAILED'}; on {len(held_out)} held-out "
              f"rows: {wrong} labels differ from onnxruntime's, worst probability off by "
              f"{worst:.4f}")


if __name__ == "__main__":
    sys.exit(main())
