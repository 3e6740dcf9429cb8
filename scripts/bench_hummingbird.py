#!/usr/bin/env python3
"""scikit-learn tree ensembles converted to tensor programs by hummingbird (microsoft's
hummingbird-ml, which runs trees as matrix products or as gathers over node tables) and
exported to ONNX by it, in each of its three tree strategies (`gemm`, its default for shallow
trees; `tree_trav` and `perf_tree_trav`, gathers of node ids level by level), through snarkml.
Each compiled on every third row of its data set (64 at most), run on 40 held-out rows
against onnxruntime (the first output: the labels of a classifier, the predictions of a
regressor), the last one mocked. Prints one line per model and strategy.

hummingbird 0.4 calls `torch.onnx.export` without choosing an exporter; torch ≥ 2.9 then takes
torch.export's, which cannot trace hummingbird's executor, so this script makes the call ask
for the TorchScript exporter (what hummingbird got with the torch of its time). Neither
hummingbird nor torch is a project dependency; install them beside (torch with
`scripts/setup --torch`, in `.venv-py/`):

    .venv-py/bin/pip install -q --no-deps --target /tmp/hb hummingbird-ml==0.4.12 \\
        onnxconverter-common dill psutil scipy
    PYTHONPATH=/tmp/hb:.venv/lib/python3.11/site-packages .venv-py/bin/python \\
        scripts/bench_hummingbird.py --snarkml target/debug/snarkml
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import version
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier,
                              GradientBoostingRegressor, RandomForestClassifier,
                              RandomForestRegressor)
from sklearn.tree import DecisionTreeClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import exported_row, snarkml_args  # noqa: E402

_export = torch.onnx.export
torch.onnx.export = lambda *a, **k: _export(*a, **{**k, "dynamo": False})
import hummingbird.ml as hummingbird  # noqa: E402  (after the exporter is chosen)

STRATEGIES = ["gemm", "tree_trav", "perf_tree_trav"]


def data():
    cancer = load_breast_cancer(return_X_y=True)
    iris = load_iris(return_X_y=True)
    diabetes = load_diabetes(return_X_y=True)
    diabetes = (diabetes[0] * 10, diabetes[1])   # one range, as in scripts/bench_sklearn.py
    return {"breast cancer": cancer, "iris": iris, "diabetes ×10": diabetes}


MODELS = [
    ("random forest classifier, 5 trees of depth 4", "breast cancer",
     lambda: RandomForestClassifier(5, max_depth=4, random_state=0)),
    ("gradient boosting classifier, 10 trees of depth 3", "breast cancer",
     lambda: GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0)),
    ("decision tree classifier, depth 4", "iris",
     lambda: DecisionTreeClassifier(max_depth=4, random_state=0)),
    ("extra trees classifier, 10 of depth 4", "iris",
     lambda: ExtraTreesClassifier(10, max_depth=4, random_state=0)),
    ("random forest regressor, 10 trees of depth 5", "diabetes ×10",
     lambda: RandomForestRegressor(10, max_depth=5, random_state=0)),
    ("gradient boosting regressor, 20 trees of depth 3", "diabetes ×10",
     lambda: GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0)),
]


def main() -> int:
    args = snarkml_args(__doc__)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    sets = data()
    print(f"hummingbird-ml {version('hummingbird-ml')}, scikit-learn {version('scikit-learn')}, "
          f"torch {torch.__version__}", flush=True)
    for name, data_set, make in MODELS:
        x, y = sets[data_set]
        x = x.astype(np.float32)
        model = make().fit(x, y)
        cal = [x[i:i + 1] for i in range(0, len(x), 3)][:64]
        held = [x[i:i + 1] for i in range(1, len(x), 3)][:40]
        for strategy in STRATEGIES:
            with tempfile.TemporaryDirectory() as tmp:
                t = Path(tmp)

                def export() -> None:
                    converted = hummingbird.convert(model, "onnx", x[:1], extra_config={
                        "tree_implementation": strategy})
                    onnx.save(converted.model, str(t / "m.onnx"))

                row = exported_row(export, "conversion", args.snarkml, t, cal, held)
            print(f"{name} ({data_set}) | {strategy} | {row}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
