#!/usr/bin/env python3
"""scikit-learn models as their users export them (skl2onnx, default options unless said: the
ai.onnx.ml tree ensembles, linear models, scalers, normalizers, ZipMap) through snarkml: compile
on calibration rows of the data set, run rows held out from calibration and compare with
onnxruntime, mock one row. Prints one line per model (and scale).

    .venv/bin/pip install --target /tmp/skl skl2onnx      # not a project dependency
    PYTHONPATH=/tmp/skl .venv/bin/python scripts/bench_sklearn.py \\
        --snarkml target/release/snarkml [--only trees|linear|boosted|others]

`--only boosted` runs XGBoost and LightGBM models as onnxmltools exports them (the packages are
not project dependencies either: `pip install --target /tmp/skl --no-deps xgboost-cpu lightgbm
onnxmltools`); `--only others` the rest of scikit-learn's estimators a user is likely to bring
(single trees, bagging, AdaBoost, naive Bayes, LDA, PCA and polynomial pipelines, k-means,
nearest neighbours, isolation forests); `--only pipelines` preprocessing pipelines of mixed
tabular data (ColumnTransformer: imputing, scaling, one-hot encoding, binarizing, binning).
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
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.svm import SVC, SVR, LinearSVC

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
    p.add_argument("--only", choices=["trees", "linear", "boosted", "others", "pipelines"])
    p.add_argument("--uniform-input-scale", action="store_true",
                   help="compile the linear models with every input element at one scale "
                        "(the figures before narrow features were quantized finer)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "trees"):
            trees(args.snarkml, Path(tmp))
            classifiers(args.snarkml, Path(tmp))
        if args.only == "boosted":
            boosted(args.snarkml, Path(tmp))
        if args.only == "others":
            others(args.snarkml, Path(tmp))
        if args.only == "pipelines":
            pipelines(args.snarkml, Path(tmp))
        if args.only in (None, "linear"):
            linear(args.snarkml, Path(tmp),
                   ["--uniform-input-scale"] if args.uniform_input_scale else [])
    return 0


def trees(snarkml: str, t: Path) -> None:
    """Tree-ensemble regressors of the diabetes data (scaled x10), at the chosen scale (with no
    bound on the worst calibration row, then 5 %) and at 2^10: mean and worst relative error
    over 64 held-out rows."""
    x, y = load_diabetes(return_X_y=True)
    x = (x * 10).astype(np.float32)
    models = [
        ("random forest, 10 trees of depth 5", RandomForestRegressor(
            n_estimators=10, max_depth=5, random_state=0)),
        ("gradient boosting, 20 trees of depth 3", GradientBoostingRegressor(
            n_estimators=20, max_depth=3, random_state=0)),
    ]
    (t / "cal.json").write_text(json.dumps({"inputs": [r.tolist() for r in x[:64]]}))
    # Held out from calibration.
    rows = x[100:164]
    for label, model in models:
        model.fit(x, y)
        onnx_path = t / "model.onnx"
        onnx_path.write_bytes(to_onnx(model, x[:1], target_opset={
            "": 18, "ai.onnx.ml": 3}).SerializeToString())
        session = ort.InferenceSession(str(onnx_path))
        # The chosen scale, the chosen scale with a 5 % bound on the worst calibration row,
        # and 2^10.
        for flags in [[], ["--target-worst-error", "0.05"], ["--scale", "10"]]:
            build = t / "build"
            cmd = [snarkml, "compile", str(onnx_path), "--calibration",
                   str(t / "cal.json"), "-o", str(build), "--json", "--allow-error", *flags]
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
                o = run([snarkml, "run", str(build), "--input", str(t / "in.json"),
                         "--json"])
                ours = np.array(json.loads(o.stdout)["outputs"][0]["values"], dtype=float)
                ref = session.run(None, {"X": r[None, :]})[0].ravel()
                errors.append(float(np.abs(ours - ref).max() / np.abs(ref).max()))
            m = run([snarkml, "mock", str(build), "--input", str(t / "in.json")])
            print(f"{label} {' '.join(flags)}: scale 2^{info['scale_bits']}, k = {info['k']}, "
                  f"{info['rows']} rows, worst calibration row "
                  f"{100 * info['error']['worst_sample_relative']:.2f} %, compile {secs:.1f} s, mock "
                  f"{'ok' if m.returncode == 0 else 'FAILED'}; on 64 held-out rows vs "
                  f"onnxruntime: mean {100 * np.mean(errors):.2f} %, worst "
                  f"{100 * max(errors):.2f} %", flush=True)


def classifiers(snarkml: str, t: Path) -> None:
    """Tree-ensemble classifiers (exported without ZipMap), calibrated on every third row, run
    on the others: labels that differ from onnxruntime's, the worst score. Multiclass iris at
    2^10 (as first measured) and the chosen scale; binary breast cancer (30 features up to
    ~4,000, some below 0.01) at the chosen scale."""
    iris, cancer = load_iris(return_X_y=True), load_breast_cancer(return_X_y=True)
    for data, (x, y), models, scales in [
        ("iris", iris, [
            ("random forest classifier, 8 trees of depth 4", RandomForestClassifier(
                n_estimators=8, max_depth=4, random_state=0)),
            ("gradient boosting classifier, 10 x 3 trees of depth 3",
             GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0)),
        ], [["--scale", "10"], []]),
        ("breast cancer", cancer, [
            ("random forest classifier, 5 trees of depth 4", RandomForestClassifier(
                n_estimators=5, max_depth=4, random_state=0)),
            ("gradient boosting classifier, 10 trees of depth 3", GradientBoostingClassifier(
                n_estimators=10, max_depth=3, random_state=0)),
        ], [[]]),
    ]:
        x = x.astype(np.float32)
        (t / "cal.json").write_text(json.dumps({"inputs": [r.tolist() for r in x[::3]]}))
        held_out = [i for i in range(len(x)) if i % 3]
        for label, model in models:
            model.fit(x, y)
            onnx_path = t / "classifier.onnx"
            onnx_path.write_bytes(to_onnx(
                model, x[:1], target_opset={"": 18, "ai.onnx.ml": 3},
                options={id(model): {"zipmap": False}}).SerializeToString())
            session = ort.InferenceSession(str(onnx_path))
            build = t / "classifier"
            for flags in scales:
                c = run([snarkml, "compile", str(onnx_path), "--calibration",
                         str(t / "cal.json"), "-o", str(build), "--json", "--allow-error",
                         *flags])
                if c.returncode:
                    print(f"{data}: {label}: compile failed: {c.stderr.strip()}")
                    continue
                info = json.loads(c.stdout)
                wrong, worst = 0, 0.0
                for i in held_out:
                    (t / "in.json").write_text(json.dumps({"input_data": [x[i].tolist()]}))
                    o = json.loads(run([snarkml, "run", str(build), "--input",
                                        str(t / "in.json"), "--json"]).stdout)["outputs"]
                    ref = session.run(None, {"X": x[i:i + 1]})
                    wrong += int(o[0]["values"][0] != ref[0][0])
                    worst = max(worst, float(
                        np.abs(np.array(o[1]["values"]) - ref[1].ravel()).max()))
                m = run([snarkml, "mock", str(build), "--input", str(t / "in.json")])
                print(f"{data}: {label} {' '.join(flags)}: scale 2^{info['scale_bits']}, "
                      f"k = {info['k']}, {info['rows']} rows, mock "
                      f"{'ok' if m.returncode == 0 else 'FAILED'}; on {len(held_out)} held-out "
                      f"rows: {wrong} labels differ from onnxruntime's, worst probability off "
                      f"by {worst:.4f}", flush=True)


def linear(snarkml: str, t: Path, flags: list[str]) -> None:
    """Linear models exported with skl2onnx's defaults (ZipMap included), each calibrated on
    every third row of its data set and run on the others: labels that differ from
    onnxruntime's and the worst probability (classifiers), mean and worst relative error
    (regressors)."""
    iris, cancer, diabetes = (load_iris(return_X_y=True), load_breast_cancer(return_X_y=True),
                              load_diabetes(return_X_y=True))
    cases = [
        ("iris: StandardScaler + LogisticRegression (3 classes)", iris,
         make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
        ("iris: LinearSVC (one score per class, no probabilities)", iris, LinearSVC()),
        ("breast cancer: StandardScaler + LogisticRegression (binary)", cancer,
         make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
        # skl2onnx 1.20 cannot export LinearSVC in a pipeline: the data standardized first.
        ("breast cancer (standardized): LinearSVC (binary)",
         (StandardScaler().fit_transform(cancer[0]), cancer[1]), LinearSVC()),
        ("iris: StandardScaler + MLPClassifier (16 hidden)", iris,
         make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=2000, random_state=0))),
        ("diabetes: LinearRegression", diabetes, LinearRegression()),
        ("diabetes: Normalizer (L2) + Ridge", diabetes, make_pipeline(Normalizer(), Ridge())),
        ("diabetes: StandardScaler + SVR (RBF kernel)", diabetes,
         make_pipeline(StandardScaler(), SVR())),
        ("diabetes: StandardScaler + SVR (polynomial kernel, degree 3)", diabetes,
         make_pipeline(StandardScaler(), SVR(kernel="poly"))),
        ("iris: SVC (RBF kernel, 3 classes one-against-one)", iris, SVC()),
        ("breast cancer (standardized): SVC (RBF kernel, binary)",
         (StandardScaler().fit_transform(cancer[0]), cancer[1]), SVC()),
    ]
    for label, (x, y), model in cases:
        x = x.astype(np.float32)
        model.fit(x, y)
        onnx_path = t / "linear.onnx"
        onnx_path.write_bytes(to_onnx(model, x[:1]).SerializeToString())
        session = ort.InferenceSession(str(onnx_path))
        (t / "cal.json").write_text(json.dumps({"inputs": [r.tolist() for r in x[::3]]}))
        build = t / "linear"
        start = time.time()
        c = run([snarkml, "compile", str(onnx_path), "--calibration", str(t / "cal.json"),
                 "-o", str(build), "--json", *flags])
        if c.returncode:
            print(f"{label}: compile failed: {c.stderr.strip()}")
            continue
        secs = time.time() - start
        info = json.loads(c.stdout)
        held_out = [i for i in range(len(x)) if i % 3]
        wrong, worst, errors, refused = 0, 0.0, [], 0
        for i in held_out:
            (t / "in.json").write_text(json.dumps({"input_data": [x[i].tolist()]}))
            r = run([snarkml, "run", str(build), "--input", str(t / "in.json"), "--json"])
            if r.returncode:   # an input past the range calibration gave the build
                refused += 1
                continue
            o = json.loads(r.stdout)["outputs"]
            ref = session.run(None, {"X": x[i:i + 1]})
            if len(ref) == 1:   # a regressor
                ours, want = np.array(o[0]["values"]), ref[0].ravel()
                errors.append(float(np.abs(ours - want).max() / np.abs(want).max()))
                continue
            wrong += int(o[0]["values"][0] != ref[0][0])
            # ZipMap's maps (one per row) or a tensor of scores.
            want = (np.array(list(ref[1][0].values())) if isinstance(ref[1], list)
                    else ref[1].ravel())
            worst = max(worst, float(np.abs(np.array(o[1]["values"]) - want).max()))
        m = run([snarkml, "mock", str(build), "--input", str(t / "in.json")])
        head = (f"{label}: scale 2^{info['scale_bits']}, k = {info['k']}, {info['rows']} rows, "
                f"compile {secs:.2f} s, mock {'ok' if m.returncode == 0 else 'FAILED'}; "
                f"{len(held_out)} held-out rows ({refused} refused as out of range): ")
        if errors:
            print(head + f"mean {100 * np.mean(errors):.2f} %, worst {100 * max(errors):.2f} %")
        else:
            print(head + f"{wrong} labels differ from onnxruntime's, worst score off by "
                  f"{worst:.4f}")



def compile_export(snarkml: str, t: Path, stem: str, model: bytes):
    """Writes an exported model to t/STEM.onnx and compiles it on t/cal.json into t/STEM: its
    onnxruntime session, the build directory and compile's report, or compile's refusal."""
    onnx_path = t / f"{stem}.onnx"
    onnx_path.write_bytes(model)
    build = t / stem
    c = run([snarkml, "compile", str(onnx_path), "--calibration", str(t / "cal.json"),
             "-o", str(build), "--json", "--allow-error"])
    if c.returncode:
        return c.stderr.strip()
    return ort.InferenceSession(str(onnx_path)), build, json.loads(c.stdout)


def run_row(snarkml: str, t: Path, build: Path, row) -> list:
    """snarkml's outputs for one input row (t/in.json holds the row after, for a mock)."""
    (t / "in.json").write_text(json.dumps({"input_data": [row.tolist()]}))
    return json.loads(run([snarkml, "run", str(build), "--input", str(t / "in.json"),
                           "--json"]).stdout)["outputs"]


def boosted(snarkml: str, t: Path) -> None:
    """XGBoost and LightGBM as onnxmltools exports them (TreeEnsembleClassifier/Regressor:
    XGBoost `x < t`, LightGBM `x <= t` and, for a categorical feature, chains of `x == c`
    sharing subtrees), calibrated on every third row, run on the others: labels that differ
    from onnxruntime's and the worst probability, or the mean and worst relative error."""
    import lightgbm as lgb
    import xgboost as xgb
    from onnxmltools import convert_lightgbm, convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    rng = np.random.default_rng(0)
    category = rng.integers(0, 6, 600).astype(np.float32)
    numeric = rng.normal(size=(600, 3)).astype(np.float32)
    categorical = (np.column_stack([category, numeric]),
                   (((category == 2) | (category == 4)) ^ (numeric[:, 0] > 0.3)).astype(int))
    x_d, y_d = load_diabetes(return_X_y=True)
    cases = [
        ("iris", load_iris(return_X_y=True), [
            ("XGBoost classifier, defaults (100 rounds x 3 classes, depth 6)", xgb.XGBClassifier()),
            ("LightGBM classifier, defaults (100 rounds x 3 classes)",
             lgb.LGBMClassifier(verbose=-1))]),
        ("breast cancer", load_breast_cancer(return_X_y=True), [
            ("XGBoost classifier, defaults", xgb.XGBClassifier()),
            ("LightGBM classifier, defaults", lgb.LGBMClassifier(verbose=-1))]),
        ("diabetes x10", (x_d * 10, y_d), [
            ("XGBoost regressor, 20 trees of depth 3",
             xgb.XGBRegressor(n_estimators=20, max_depth=3)),
            ("LightGBM regressor, 20 trees of depth 3",
             lgb.LGBMRegressor(n_estimators=20, max_depth=3, verbose=-1))]),
        ("a categorical feature (6 values) and 3 numeric", categorical, [
            ("LightGBM classifier, 10 trees of depth 3, feature 0 categorical",
             lgb.LGBMClassifier(n_estimators=10, max_depth=3, verbose=-1))]),
    ]
    for data, (x, y), models in cases:
        x = x.astype(np.float32)
        (t / "cal.json").write_text(json.dumps({"inputs": [r.tolist() for r in x[::3]]}))
        held_out = [i for i in range(len(x)) if i % 3]
        types = [("input", FloatTensorType([None, x.shape[1]]))]
        for label, model in models:
            if "categorical" in label:
                model.fit(x, y, categorical_feature=[0])
            else:
                model.fit(x, y)
            proto = (convert_xgboost(model, initial_types=types, target_opset=15)
                     if label.startswith("XGBoost") else
                     convert_lightgbm(model, initial_types=types, target_opset=15, zipmap=False))
            compiled = compile_export(snarkml, t, "boosted", proto.SerializeToString())
            if isinstance(compiled, str):
                print(f"{data}: {label}: compile failed: {compiled}", flush=True)
                continue
            session, build, info = compiled
            wrong, worst, errors = 0, 0.0, []
            for i in held_out:
                o = run_row(snarkml, t, build, x[i])
                ref = session.run(None, {"input": x[i:i + 1]})
                if len(ref) == 2:   # a classifier: the label, then the probabilities
                    wrong += int(o[0]["values"][0] != ref[0].ravel()[0])
                    worst = max(worst, float(
                        np.abs(np.array(o[1]["values"]) - ref[1].ravel()).max()))
                else:
                    ours, want = np.array(o[0]["values"]), ref[0].ravel()
                    errors.append(float(np.abs(ours - want).max() / np.abs(want).max()))
            m = run([snarkml, "mock", str(build), "--input", str(t / "in.json")])
            got = (f"mean {100 * np.mean(errors):.2f} %, worst {100 * max(errors):.2f} %"
                   if errors else f"{wrong} labels differ from onnxruntime's, worst "
                   f"probability off by {worst:.4f}")
            print(f"{data}: {label}: scale 2^{info['scale_bits']}, k = {info['k']}, "
                  f"{info['rows']} rows, mock "
                  f"{'ok' if m.returncode == 0 else 'FAILED'}; on {len(held_out)} held-out "
                  f"rows: {got}", flush=True)


def others(snarkml: str, t: Path) -> None:
    """More scikit-learn estimators exported by skl2onnx (classifiers without ZipMap),
    calibrated on every third row, run on 40 of the others: integer outputs (labels, cluster
    ids) that differ from onnxruntime's, and the worst error of the float outputs relative to
    each output's largest magnitude."""
    from sklearn import cluster, decomposition, discriminant_analysis, ensemble, naive_bayes
    from sklearn import neighbors, preprocessing, tree
    iris, cancer = load_iris(return_X_y=True), load_breast_cancer(return_X_y=True)
    x_d, y_d = load_diabetes(return_X_y=True)
    diabetes = (x_d * 10, y_d)
    cases = [
        ("decision tree classifier, depth 4", tree.DecisionTreeClassifier(max_depth=4), iris),
        ("decision tree regressor, depth 5", tree.DecisionTreeRegressor(max_depth=5), diabetes),
        ("extra trees classifier, 10 of depth 4",
         ensemble.ExtraTreesClassifier(n_estimators=10, max_depth=4, random_state=0), cancer),
        ("bagging regressor, 5 trees",
         ensemble.BaggingRegressor(n_estimators=5, random_state=0), diabetes),
        ("AdaBoost classifier, 10 stumps",
         ensemble.AdaBoostClassifier(n_estimators=10, random_state=0), cancer),
        ("Gaussian naive Bayes", naive_bayes.GaussianNB(), iris),
        ("linear discriminant analysis", discriminant_analysis.LinearDiscriminantAnalysis(),
         iris),
        ("PCA(2) + logistic regression",
         make_pipeline(decomposition.PCA(2), LogisticRegression()), iris),
        ("PolynomialFeatures(2) + ridge",
         make_pipeline(preprocessing.PolynomialFeatures(2), Ridge()), diabetes),
        ("k-means, 3 clusters", cluster.KMeans(3, n_init=3, random_state=0), (iris[0], None)),
        ("3 nearest neighbours classifier", neighbors.KNeighborsClassifier(3), iris),
        ("isolation forest, 10 trees", ensemble.IsolationForest(n_estimators=10,
                                                                 random_state=0),
         (cancer[0], None)),
    ]
    for label, model, (x, y) in cases:
        x = x.astype(np.float32)
        model.fit(x) if y is None else model.fit(x, y)
        last = model.steps[-1][1] if hasattr(model, "steps") else model
        options = {id(last): {"zipmap": False}} if hasattr(last, "predict_proba") else None
        (t / "cal.json").write_text(json.dumps({"inputs": [r.tolist() for r in x[::3]]}))
        compiled = compile_export(snarkml, t, "other", to_onnx(
            model, x[:1], target_opset={"": 17, "ai.onnx.ml": 3},
            options=options).SerializeToString())
        if isinstance(compiled, str):
            print(f"{label}: compile refused: {compiled}", flush=True)
            continue
        session, build, info = compiled
        name = session.get_inputs()[0].name
        wrong, worst = 0, 0.0
        rows = [i for i in range(len(x)) if i % 3][:40]
        for i in rows:
            outs = run_row(snarkml, t, build, x[i])
            for ours, ref in zip(outs, session.run(None, {name: x[i:i + 1]})):
                ref = np.asarray(ref)
                got = np.array(ours["values"], dtype=float)
                if ref.dtype.kind in "iub":
                    wrong += int(not np.array_equal(got, ref.ravel().astype(float)))
                else:
                    want = ref.ravel().astype(float)
                    worst = max(worst, float(np.abs(got - want).max()
                                             / max(np.abs(want).max(), 1e-6)))
        m = run([snarkml, "mock", str(build), "--input", str(t / "in.json")])
        print(f"{label}: scale 2^{info['scale_bits']}, k = {info['k']}, {info['rows']} rows, "
              f"mock {'ok' if m.returncode == 0 else 'FAILED'}; on {len(rows)} held-out rows: "
              f"{wrong} integer outputs differ from onnxruntime's, worst float output off by "
              f"{100 * worst:.2f} % of its largest", flush=True)


def pipelines(snarkml: str, t: Path) -> None:
    """scikit-learn preprocessing pipelines on mixed tabular data (three normal features, an
    integer category 0-3, a uniform 0-10 feature; a tenth of feature 1 missing where the
    imputer is), calibrated on every third row, run on 40 of the others (a missing value is
    given as 0: a circuit input cannot be NaN): labels that differ from onnxruntime's and the
    worst probability."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_selection import SelectKBest
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (Binarizer, KBinsDiscretizer, MaxAbsScaler, MinMaxScaler,
                                       OneHotEncoder, RobustScaler)
    rng = np.random.default_rng(0)
    n = 300
    x = np.column_stack([rng.normal(size=(n, 3)), rng.integers(0, 4, n),
                         rng.uniform(0, 10, n)]).astype(np.float32)
    y = ((x[:, 0] + (x[:, 3] == 2) + x[:, 4] / 5) > 1).astype(int)
    missing = x.copy()
    missing[rng.random(n) < 0.1, 1] = np.nan
    cases = [
        ("SimpleImputer + StandardScaler, OneHotEncoder, logistic regression",
         Pipeline([("ct", ColumnTransformer([
             ("num", make_pipeline(SimpleImputer(), StandardScaler()), [0, 1, 2, 4]),
             ("cat", OneHotEncoder(handle_unknown="ignore"), [3])])),
             ("lr", LogisticRegression())]), missing),
        ("RobustScaler, MaxAbsScaler, Binarizer, logistic regression",
         Pipeline([("ct", ColumnTransformer([("a", RobustScaler(), [0, 1]),
                                             ("b", MaxAbsScaler(), [2, 4]),
                                             ("c", Binarizer(threshold=1.5), [3])])),
                   ("lr", LogisticRegression())]), x),
        ("MinMaxScaler, KBinsDiscretizer (ordinal), random forest",
         Pipeline([("ct", ColumnTransformer([("a", MinMaxScaler(), [0, 1, 2]),
                                             ("b", KBinsDiscretizer(4, encode="ordinal"), [4])],
                                            remainder="passthrough")),
                   ("rf", RandomForestClassifier(10, max_depth=4, random_state=0))]), x),
        ("SelectKBest(3), logistic regression",
         make_pipeline(SelectKBest(k=3), LogisticRegression()), x),
    ]
    for label, model, data in cases:
        model.fit(data, y)
        options = {id(model.steps[-1][1]): {"zipmap": False}}
        proto = to_onnx(model, data[:1], target_opset={"": 17, "ai.onnx.ml": 3}, options=options)
        given = np.nan_to_num(data, nan=0.0)
        (t / "cal.json").write_text(json.dumps({"inputs": [r.tolist() for r in given[::3]]}))
        compiled = compile_export(snarkml, t, "pipeline", proto.SerializeToString())
        if isinstance(compiled, str):
            print(f"{label}: compile refused: {compiled}", flush=True)
            continue
        session, build, info = compiled
        name = session.get_inputs()[0].name
        wrong, worst = 0, 0.0
        rows = [i for i in range(n) if i % 3][:40]
        for i in rows:
            outs = run_row(snarkml, t, build, given[i])
            ref = session.run(None, {name: given[i:i + 1]})
            wrong += int(outs[0]["values"][0] != ref[0].ravel()[0])
            worst = max(worst, float(np.abs(np.array(outs[1]["values"]) - ref[1].ravel()).max()))
        m = run([snarkml, "mock", str(build), "--input", str(t / "in.json")])
        ops = sorted({node.op_type for node in proto.graph.node})
        print(f"{label} ({', '.join(ops)}): scale 2^{info['scale_bits']}, k = {info['k']}, "
              f"{info['rows']} rows, mock {'ok' if m.returncode == 0 else 'FAILED'}; on "
              f"{len(rows)} held-out rows: {wrong} labels differ from onnxruntime's, worst "
              f"probability off by {worst:.4f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
