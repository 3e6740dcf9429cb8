#!/usr/bin/env python3
"""Generate the small ONNX models and test fixtures that snarkml ships.

Run from anywhere as:

    .venv/bin/python scripts/make_models.py

(`scripts/setup --python` creates .venv from scripts/requirements.txt.)

Everything is deterministic (fixed seeds, fixed train/test split), so
re-running with the pinned library versions rewrites identical files.
The outputs are committed, so the Rust build and tests never need Python.

Writes:
  models/digits_mlp/{model.onnx,input.json,calibration.json,expected.json,README.md}
  models/digits_test.json
  models/tiny_text/{model.onnx,input.json,calibration.json,expected.json,vocab.json,README.md}
  models/README.md
  tests/fixtures/{relu3,linear,mlp_flatten,unsupported_op}.{onnx,input.json,expected.json}
  tests/fixtures/{conv_basic,conv_stride_pad,conv_dilation_group,conv_depthwise_mlp,conv_1d,
      conv_bn}.{onnx,input.json,expected.json,calibration.json}
  tests/fixtures/act_{sigmoid,tanh,leakyrelu,elu,selu,celu,hardsigmoid,hardswish,softplus,
      softsign,clip,abs,neg,erf}.{onnx,input.json,expected.json,calibration.json}
  tests/fixtures/ops_{affine,sub_from_const,shape,concat_gather,pad}
      .{onnx,input.json,expected.json,calibration.json}
  tests/fixtures/pool_{avg,avg_pad,avg_pad_incl,global,max,max_pad,global_max}
      .{onnx,input.json,expected.json,calibration.json}
  tests/fixtures/lenet_tiny.{onnx,input.json,expected.json,calibration.json}
  tests/fixtures/not_onnx.onnx
  tests/fixtures/bad_shape.input.json
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import sklearn
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
FIXTURES = ROOT / "tests" / "fixtures"

OPSET = 13
# IR version 8 pairs with opset 13 and is read by every onnxruntime release
# in use; onnx's own default follows the newest IR and is needlessly high.
IR_VERSION = 8
PRODUCER = "snarkml scripts/make_models.py"

TEST_SIZE = 450
SPLIT_SEED = 0
N_CALIBRATION = 32
INPUT_SAMPLE = 0  # index into the test split used for input.json

N_FIXTURE_CALIBRATION = 8  # samples in each conv/act/ops/pool fixture's calibration.json
FIXTURE_OUTPUT_BOUND = 8.0  # conv/act/ops/pool fixture outputs stay within +-this


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------

def f32_list(values) -> list[float]:
    """Float32 values as the shortest decimals that round-trip to float32."""
    arr = np.asarray(values, dtype=np.float32).ravel()
    return [float(str(v)) for v in arr]


def rounded(values, decimals: int = 4) -> list[float]:
    arr = np.round(np.asarray(values, dtype=np.float64).ravel(), decimals)
    return [float(v) + 0.0 for v in arr]  # + 0.0 turns -0.0 into 0.0


def dump_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj) + "\n")


def dump_rows_json(path: Path, fields: dict) -> None:
    """Write a JSON object whose list-of-rows fields get one row per line.

    Same content as json.dumps, but diffs and `head` stay readable.
    """
    parts = []
    for key, value in fields.items():
        if isinstance(value, list) and value and isinstance(value[0], list):
            rows = ",\n    ".join(json.dumps(row) for row in value)
            parts.append(f"  {json.dumps(key)}: [\n    {rows}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n")


def tensor_info(name: str, shape: list[int]):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def init_f32(name: str, array) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def init_i64(name: str, array) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array, dtype=np.int64), name)


def make_model(graph: onnx.GraphProto, opset: int = OPSET) -> onnx.ModelProto:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name=PRODUCER,
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def save_model(model: onnx.ModelProto, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    # Re-load from disk and check again: what is committed is what is checked.
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def run_ort(path: Path, inputs: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    (out,) = sess.get_outputs()
    return sess.run([out.name], {inp.name: inputs.astype(np.float32)})[0]


def dyadic(rng: np.random.Generator, shape, low: float, high: float) -> np.ndarray:
    """Uniform random values rounded to multiples of 1/64 (exact in fixed point)."""
    return np.round(rng.uniform(low, high, size=shape) * 64.0) / 64.0


def write_fixture(name: str, model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    path = FIXTURES / f"{name}.onnx"
    save_model(model, path)
    y = run_ort(path, x)
    dump_json(FIXTURES / f"{name}.input.json", {"input_data": [f32_list(x)]})
    dump_json(FIXTURES / f"{name}.expected.json", {"output_data": [f32_list(y)]})
    return y


# --------------------------------------------------------------------------
# digits MLP
# --------------------------------------------------------------------------

def digits_split():
    digits = load_digits()
    x = digits.data.astype(np.float64) / 16.0  # pixel values 0..16 -> [0, 1]
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=TEST_SIZE, random_state=SPLIT_SEED)


def digits_graph(w1, b1, w2, b2) -> onnx.GraphProto:
    """64 -> Gemm -> 32 -> Relu -> Gemm -> 10 logits.

    Weights are stored PyTorch-style as [out, in] with transB=1.
    """
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["fc1_out"],
                         name="fc1", transB=1),
        helper.make_node("Relu", ["fc1_out"], ["relu1_out"], name="relu1"),
        helper.make_node("Gemm", ["relu1_out", "fc2.weight", "fc2.bias"], ["logits"],
                         name="fc2", transB=1),
    ]
    inits = [
        init_f32("fc1.weight", w1.T),  # [32, 64]
        init_f32("fc1.bias", b1),      # [32]
        init_f32("fc2.weight", w2.T),  # [10, 32]
        init_f32("fc2.bias", b2),      # [10]
    ]
    return helper.make_graph(
        nodes, "digits_mlp",
        inputs=[tensor_info("input", [1, 64])],
        outputs=[tensor_info("logits", [1, 10])],
        initializer=inits,
    )


def make_digits() -> dict:
    x_train, x_test, y_train, y_test = digits_split()

    clf = MLPClassifier(
        hidden_layer_sizes=(32,),
        activation="relu",
        solver="adam",
        random_state=0,
        max_iter=2000,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(x_train, y_train)
    assert list(clf.classes_) == list(range(10)), clf.classes_

    w1, w2 = clf.coefs_
    b1, b2 = clf.intercepts_
    out_dir = MODELS / "digits_mlp"
    model_path = out_dir / "model.onnx"
    save_model(make_model(digits_graph(w1, b1, w2, b2)), model_path)

    # Float accuracy of the ONNX model itself, one sample at a time as the
    # graph's fixed [1, 64] input requires.
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    logits = np.concatenate(
        [sess.run(["logits"], {"input": row[None, :].astype(np.float32)})[0]
         for row in x_test]
    )
    onnx_pred = logits.argmax(axis=1)
    accuracy = float((onnx_pred == y_test).mean())
    sk_pred = clf.predict(x_test)
    assert (onnx_pred == sk_pred).all(), "ONNX graph disagrees with sklearn"
    train_acc = float(clf.score(x_train, y_train))

    x0 = x_test[INPUT_SAMPLE]
    y0 = run_ort(model_path, x0[None, :])
    dump_json(out_dir / "input.json", {"input_data": [rounded(x0)]})
    dump_json(out_dir / "expected.json", {"output_data": [f32_list(y0)]})
    dump_rows_json(out_dir / "calibration.json",
                   {"inputs": [rounded(r) for r in x_test[:N_CALIBRATION]]})
    dump_rows_json(MODELS / "digits_test.json",
                   {"inputs": [rounded(r) for r in x_test],
                    "labels": [int(v) for v in y_test]})

    weights = np.concatenate([w1.ravel(), w2.ravel()])
    biases = np.concatenate([b1.ravel(), b2.ravel()])
    info = {
        "accuracy": accuracy,
        "correct": int((onnx_pred == y_test).sum()),
        "train_accuracy": train_acc,
        "n_iter": int(clf.n_iter_),
        "n_train": len(y_train),
        "label0": int(y_test[INPUT_SAMPLE]),
        "pred0": int(y0.argmax()),
        "max_abs_weight": float(np.abs(weights).max()),
        "max_abs_bias": float(np.abs(biases).max()),
        "max_abs_logit": float(np.abs(logits).max()),
        "max_abs_hidden": float(np.abs(np.maximum(x_test @ w1 + b1, 0)).max()),
    }

    readme = f"""# digits_mlp

A small multilayer perceptron that classifies 8x8 handwritten digits
(scikit-learn's bundled `load_digits` data set), used as the project's
end-to-end example model.

- Graph: `input` float32 [1, 64] -> Gemm (fc1, 64->32, transB=1) -> Relu ->
  Gemm (fc2, 32->10, transB=1) -> `logits` float32 [1, 10] (no softmax;
  the predicted class is the argmax). Opset {OPSET}, IR version {IR_VERSION}.
- Inputs: pixel values divided by 16, so every feature is in [0, 1].
- Float test accuracy: **{accuracy * 100:.2f}%** ({info['correct']}/{TEST_SIZE})
  on the fixed {TEST_SIZE}-sample test split (`models/digits_test.json`);
  train accuracy {train_acc * 100:.2f}%.
- Largest |weight| {info['max_abs_weight']:.3f}, |bias| {info['max_abs_bias']:.3f},
  |logit| over the test split {info['max_abs_logit']:.2f}.

Files:

| file | content |
| --- | --- |
| `model.onnx` | the model |
| `input.json` | `{{"input_data": [[64 floats]]}}`: test sample {INPUT_SAMPLE} (label {info['label0']}) |
| `expected.json` | `{{"output_data": [[10 floats]]}}`: onnxruntime float logits for `input.json` (argmax {info['pred0']}) |
| `calibration.json` | `{{"inputs": [[64 floats], ...]}}`: the first {N_CALIBRATION} test samples, one flat input per entry |

Made by `scripts/make_models.py`: `MLPClassifier(hidden_layer_sizes=(32,),
activation="relu", solver="adam", random_state=0)` trained on the
{info['n_train']} training samples of `train_test_split(test_size={TEST_SIZE},
random_state={SPLIT_SEED})` (scikit-learn {sklearn.__version__}, converged after
{info['n_iter']} epochs); the ONNX graph is written directly with `onnx.helper`
from the learned weights.
"""
    (out_dir / "README.md").write_text(readme)
    return info


# --------------------------------------------------------------------------
# tiny text model (the prompt marketplace's example)
# --------------------------------------------------------------------------

TEXT_VOCAB = ["<pad>", "cat", "dog", "bird", "runs", "sleeps", "sings", "fast"]
TEXT_CLASSES = ["cat", "dog", "bird", "none"]
TEXT_LEN = 4  # tokens per prompt
TEXT_DIM = 4  # embedding width
TEXT_PROMPT = ["dog", "runs", "fast", "<pad>"]


def text_label(tokens: list[int]) -> int:
    """The task: which animal a sentence names first (or none)."""
    for t in tokens:
        if TEXT_VOCAB[t] in TEXT_CLASSES[:3]:
            return TEXT_CLASSES.index(TEXT_VOCAB[t])
    return 3


def one_hot(tokens: list[int]) -> np.ndarray:
    x = np.zeros((TEXT_LEN, len(TEXT_VOCAB)), dtype=np.float32)
    x[np.arange(TEXT_LEN), tokens] = 1.0
    return x.ravel()


def make_tiny_text() -> dict:
    """token ids (one-hot) -> embedding -> MLP -> 4 class logits.

    The embedding table E [8, 4] is applied to each of the 4 token positions:
    one Gemm whose weight is E repeated on the diagonal, which is exactly
    `one_hot(tokens) @ E` per token (what an embedding layer computes). An MLP
    trained on the embedded sentences classifies which animal a sentence names
    first.
    """
    rng = np.random.default_rng(8)
    vocab = len(TEXT_VOCAB)
    emb = dyadic(rng, (vocab, TEXT_DIM), -1.0, 1.0)
    block = np.zeros((TEXT_LEN * vocab, TEXT_LEN * TEXT_DIM))
    for i in range(TEXT_LEN):
        block[i * vocab:(i + 1) * vocab, i * TEXT_DIM:(i + 1) * TEXT_DIM] = emb
    sentences = [list(rng.integers(0, vocab, size=TEXT_LEN)) for _ in range(3000)]
    x = np.stack([one_hot(s) for s in sentences])
    y = np.array([text_label(s) for s in sentences])
    clf = MLPClassifier(hidden_layer_sizes=(16,), activation="relu", solver="adam",
                        random_state=0, max_iter=3000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(x @ block, y)
    w1, w2 = clf.coefs_
    b1, b2 = clf.intercepts_
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["tokens", "embedding"], ["embedded"], name="embed"),
            helper.make_node("Gemm", ["embedded", "fc1.weight", "fc1.bias"], ["fc1_out"],
                             name="fc1", transB=1),
            helper.make_node("Relu", ["fc1_out"], ["hidden"], name="relu"),
            helper.make_node("Gemm", ["hidden", "fc2.weight", "fc2.bias"], ["logits"],
                             name="fc2", transB=1),
        ],
        "tiny_text",
        inputs=[tensor_info("tokens", [1, TEXT_LEN * vocab])],
        outputs=[tensor_info("logits", [1, len(TEXT_CLASSES)])],
        initializer=[
            init_f32("embedding", block),
            init_f32("fc1.weight", w1.T),
            init_f32("fc1.bias", b1),
            init_f32("fc2.weight", w2.T),
            init_f32("fc2.bias", b2),
        ],
    )
    out_dir = MODELS / "tiny_text"
    model_path = out_dir / "model.onnx"
    save_model(make_model(graph), model_path)
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    logits = np.concatenate(
        [sess.run(["logits"], {"tokens": row[None, :]})[0] for row in x[:500]])
    accuracy = float((logits.argmax(axis=1) == y[:500]).mean())
    prompt = [TEXT_VOCAB.index(w) for w in TEXT_PROMPT]
    x0 = one_hot(prompt)[None, :]
    y0 = run_ort(model_path, x0)
    dump_json(out_dir / "input.json", {"input_data": [f32_list(x0)]})
    dump_json(out_dir / "expected.json", {"output_data": [f32_list(y0)]})
    dump_rows_json(out_dir / "calibration.json",
                   {"inputs": [f32_list(r) for r in x[:N_CALIBRATION]]})
    dump_json(out_dir / "vocab.json", {"tokens": TEXT_VOCAB, "classes": TEXT_CLASSES,
                                        "length": TEXT_LEN})
    (out_dir / "README.md").write_text(f"""# tiny_text

The prompt marketplace's example model: a sentence of {TEXT_LEN} tokens from an
{vocab}-word vocabulary (`vocab.json`) is classified by which animal it names
first ({", ".join(TEXT_CLASSES)}).

- Graph: `tokens` float32 [1, {TEXT_LEN * vocab}] (the one-hot encoding of the
  {TEXT_LEN} token ids, position-major) -> Gemm `embed` (the embedding table
  [{vocab}, {TEXT_DIM}] applied at each position: a block-diagonal weight, no
  bias) -> Gemm `fc1` ({TEXT_LEN * TEXT_DIM}->16) -> Relu -> Gemm `fc2`
  (16->{len(TEXT_CLASSES)}) -> `logits` float32 [1, {len(TEXT_CLASSES)}].
- Embedding: fixed random dyadic values (seed 8); the MLP is scikit-learn's
  `MLPClassifier(hidden_layer_sizes=(16,), random_state=0)` trained on 3,000
  random sentences (converged after {clf.n_iter_} epochs); float accuracy on
  the first 500 of them {accuracy * 100:.1f}%.
- `input.json`: the prompt "{" ".join(TEXT_PROMPT)}" (argmax
  {TEXT_CLASSES[int(y0.argmax())]}); `expected.json` its onnxruntime logits;
  `calibration.json` the first {N_CALIBRATION} training sentences.
""")
    return {"accuracy": accuracy, "pred0": TEXT_CLASSES[int(y0.argmax())]}


# --------------------------------------------------------------------------
# test fixtures
# --------------------------------------------------------------------------

def make_relu3() -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["input"], ["output"], name="relu")],
        "relu3",
        inputs=[tensor_info("input", [1, 3])],
        outputs=[tensor_info("output", [1, 3])],
    )
    x = np.array([[-1.5, 0.25, 2.0]], dtype=np.float32)
    write_fixture("relu3", make_model(graph), x)


def make_linear() -> None:
    rng = np.random.default_rng(1)
    w = dyadic(rng, (4, 3), -1.0, 1.0)
    b = dyadic(rng, (3,), -0.5, 0.5)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["input", "weight"], ["matmul_out"], name="matmul"),
            helper.make_node("Add", ["matmul_out", "bias"], ["output"], name="add"),
        ],
        "linear",
        inputs=[tensor_info("input", [1, 4])],
        outputs=[tensor_info("output", [1, 3])],
        initializer=[init_f32("weight", w), init_f32("bias", b)],
    )
    x = np.array([[0.5, -1.0, 1.5, 2.0]], dtype=np.float32)
    write_fixture("linear", make_model(graph), x)


def make_mlp_flatten() -> None:
    rng = np.random.default_rng(2)
    w1 = dyadic(rng, (8, 6), -1.0, 1.0)   # Gemm transB=0: B is [in, out]
    b1 = dyadic(rng, (6,), -0.5, 0.5)
    w2 = dyadic(rng, (3, 6), -1.0, 1.0)   # Gemm transB=1: B is [out, in]
    b2 = dyadic(rng, (3,), -0.5, 0.5)
    shape = numpy_helper.from_array(np.array([1, 3], dtype=np.int64), "out_shape")
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["input"], ["flat"], name="flatten", axis=1),
            helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["fc1_out"],
                             name="fc1", transB=0),
            helper.make_node("Relu", ["fc1_out"], ["relu1_out"], name="relu1"),
            helper.make_node("Gemm", ["relu1_out", "fc2.weight", "fc2.bias"], ["fc2_out"],
                             name="fc2", transB=1),
            helper.make_node("Reshape", ["fc2_out", "out_shape"], ["output"], name="reshape"),
        ],
        "mlp_flatten",
        inputs=[tensor_info("input", [1, 2, 4])],
        outputs=[tensor_info("output", [1, 3])],
        initializer=[
            init_f32("fc1.weight", w1), init_f32("fc1.bias", b1),
            init_f32("fc2.weight", w2), init_f32("fc2.bias", b2),
            shape,
        ],
    )
    x = dyadic(rng, (1, 2, 4), -2.0, 2.0).astype(np.float32)
    y = write_fixture("mlp_flatten", make_model(graph), x)
    # Cross-check the graph against a plain numpy forward pass.
    h = np.maximum(x.reshape(1, 8) @ w1 + b1, 0.0)
    assert np.allclose(y, h @ w2.T + b2, atol=1e-5), (y, h @ w2.T + b2)


def make_unsupported_op() -> None:
    # A determinant: an op snarkml does not compile (and has no plan to).
    graph = helper.make_graph(
        [helper.make_node("Det", ["input"], ["output"], name="det")],
        "unsupported_op",
        inputs=[tensor_info("input", [1, 2, 2])],
        outputs=[tensor_info("output", [1])],
    )
    x = np.array([[[0.0, 0.5], [-1.0, 2.0]]], dtype=np.float32)
    write_fixture("unsupported_op", make_model(graph), x)


# --------------------------------------------------------------------------
# convolution fixtures
# --------------------------------------------------------------------------

def conv_ref(x, w, b=None, strides=None, pads=None, dilations=None, group=1) -> np.ndarray:
    """Plain numpy (float64) ONNX Conv, for cross-checking onnxruntime.

    x is [N, C, *spatial], w is [M, C/group, *kernel]; pads are ONNX-ordered
    [x1_begin, x2_begin, ..., x1_end, x2_end].
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    kernel = w.shape[2:]
    nd = len(kernel)
    strides = strides or [1] * nd
    dilations = dilations or [1] * nd
    pads = pads or [0] * (2 * nd)
    c_out, c_group = w.shape[:2]
    assert x.ndim == nd + 2 and x.shape[1] == c_group * group and c_out % group == 0
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[nd + i]) for i in range(nd)])
    out = [(xp.shape[2 + i] - dilations[i] * (kernel[i] - 1) - 1) // strides[i] + 1
           for i in range(nd)]
    y = np.zeros((x.shape[0], c_out, *out))
    m = c_out // group  # output channels per group
    for g in range(group):
        xg = xp[:, g * c_group:(g + 1) * c_group]
        wg = w[g * m:(g + 1) * m]
        for k in np.ndindex(*kernel):
            window = tuple(
                slice(k[i] * dilations[i], k[i] * dilations[i] + (out[i] - 1) * strides[i] + 1,
                      strides[i])
                for i in range(nd)
            )
            y[:, g * m:(g + 1) * m] += np.einsum(
                "nc...,mc->nm...", xg[(slice(None), slice(None)) + window],
                wg[(slice(None), slice(None)) + k])
    if b is not None:
        y += np.asarray(b, dtype=np.float64).reshape(1, -1, *([1] * nd))
    return y


def write_conv_fixture(name: str, model: onnx.ModelProto, rng: np.random.Generator,
                       input_shape: tuple, reference) -> None:
    """A calibrated fixture whose inputs are in [-2, 2]."""
    write_calibrated_fixture(name, model, rng, input_shape, reference, input_bound=2.0)


def write_calibrated_fixture(name: str, model: onnx.ModelProto, rng: np.random.Generator,
                             input_shape: tuple, reference, input_bound: float) -> None:
    """Write a fixture plus its calibration.json, and check it.

    The input is drawn from rng (multiples of 1/64 in [-input_bound,
    input_bound]), then N_FIXTURE_CALIBRATION - 1 more samples from the same
    range; calibration.json holds the input first, then those. Every sample
    is run through onnxruntime and compared with `reference` (a numpy
    forward pass).
    """
    x = dyadic(rng, input_shape, -input_bound, input_bound).astype(np.float32)
    y = write_fixture(name, model, x)
    extra = dyadic(rng, (N_FIXTURE_CALIBRATION - 1, *input_shape), -input_bound, input_bound)
    samples = np.concatenate([x[None], extra.astype(np.float32)])
    dump_rows_json(FIXTURES / f"{name}.calibration.json",
                   {"inputs": [f32_list(s) for s in samples]})

    # What was written is what reloads, and it matches the numpy reference.
    assert json.loads((FIXTURES / f"{name}.input.json").read_text()) == \
        {"input_data": [f32_list(x)]}
    assert json.loads((FIXTURES / f"{name}.calibration.json").read_text())["inputs"][0] == \
        f32_list(x)
    for i, s in enumerate(samples):
        got = run_ort(FIXTURES / f"{name}.onnx", s)
        want = reference(s)
        assert got.shape == want.shape, (name, got.shape, want.shape)
        diff = float(np.abs(got - want).max())
        assert diff < 1e-5, (name, i, diff)
        assert float(np.abs(got).max()) <= FIXTURE_OUTPUT_BOUND, (name, i, np.abs(got).max())
        if i == 0:
            assert np.array_equal(got, y), name


def make_conv_basic() -> None:
    """[1,1,6,6] -> Conv(1->2, 3x3, attribute defaults) -> Relu -> [1,2,4,4]."""
    rng = np.random.default_rng(3)
    w = dyadic(rng, (2, 1, 3, 3), -0.5, 0.5)
    b = dyadic(rng, (2,), -0.5, 0.5)
    graph = helper.make_graph(
        [
            # Only kernel_shape is given: strides, pads, dilations and group
            # take their ONNX defaults (1, 0, 1, 1).
            helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv_out"],
                             name="conv", kernel_shape=[3, 3]),
            helper.make_node("Relu", ["conv_out"], ["output"], name="relu"),
        ],
        "conv_basic",
        inputs=[tensor_info("input", [1, 1, 6, 6])],
        outputs=[tensor_info("output", [1, 2, 4, 4])],
        initializer=[init_f32("conv.weight", w), init_f32("conv.bias", b)],
    )
    write_conv_fixture("conv_basic", make_model(graph), rng, (1, 1, 6, 6),
                       lambda x: np.maximum(conv_ref(x, w, b), 0.0))


def make_conv_stride_pad() -> None:
    """[1,2,5,5] -> Conv(2->3, 3x3, stride 2, pad 1) -> [1,3,3,3]."""
    rng = np.random.default_rng(4)
    w = dyadic(rng, (3, 2, 3, 3), -0.5, 0.5)
    b = dyadic(rng, (3,), -0.5, 0.5)
    attrs = dict(strides=[2, 2], pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["output"],
                             name="conv", kernel_shape=[3, 3], dilations=[1, 1], group=1,
                             **attrs),
        ],
        "conv_stride_pad",
        inputs=[tensor_info("input", [1, 2, 5, 5])],
        outputs=[tensor_info("output", [1, 3, 3, 3])],
        initializer=[init_f32("conv.weight", w), init_f32("conv.bias", b)],
    )
    write_conv_fixture("conv_stride_pad", make_model(graph), rng, (1, 2, 5, 5),
                       lambda x: conv_ref(x, w, b, **attrs))


def make_conv_dilation_group() -> None:
    """[1,4,7,7] -> Conv(4->4, 3x3, dilation 2, group 2, asymmetric pads, no bias)
    -> Relu -> [1,4,5,5]."""
    rng = np.random.default_rng(5)
    w = dyadic(rng, (4, 2, 3, 3), -0.5, 0.5)  # [out, in/group, kh, kw]
    # pads = [h_begin, w_begin, h_end, w_end]: H is padded 0 above and 2 below,
    # W 1 on each side; with the dilated 5x5 footprint 7x7 -> 5x5.
    attrs = dict(dilations=[2, 2], group=2, pads=[0, 1, 2, 1])
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "conv.weight"], ["conv_out"],
                             name="conv", kernel_shape=[3, 3], strides=[1, 1], **attrs),
            helper.make_node("Relu", ["conv_out"], ["output"], name="relu"),
        ],
        "conv_dilation_group",
        inputs=[tensor_info("input", [1, 4, 7, 7])],
        outputs=[tensor_info("output", [1, 4, 5, 5])],
        initializer=[init_f32("conv.weight", w)],
    )
    write_conv_fixture("conv_dilation_group", make_model(graph), rng, (1, 4, 7, 7),
                       lambda x: np.maximum(conv_ref(x, w, **attrs), 0.0))


def make_conv_depthwise_mlp() -> None:
    """[1,3,6,6] -> depthwise Conv(3x3, group 3, pad 1) -> Relu -> Flatten
    -> Gemm(108->5, transB=1) -> [1,5]: a tiny CNN classifier head."""
    rng = np.random.default_rng(6)
    wc = dyadic(rng, (3, 1, 3, 3), -0.5, 0.5)  # one 3x3 filter per channel
    bc = dyadic(rng, (3,), -0.5, 0.5)
    wf = dyadic(rng, (5, 108), -0.25, 0.25)    # Gemm transB=1: B is [out, in]
    bf = dyadic(rng, (5,), -0.5, 0.5)
    attrs = dict(group=3, pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv_out"],
                             name="conv", kernel_shape=[3, 3], strides=[1, 1],
                             dilations=[1, 1], **attrs),
            helper.make_node("Relu", ["conv_out"], ["relu_out"], name="relu"),
            helper.make_node("Flatten", ["relu_out"], ["flat"], name="flatten", axis=1),
            helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"],
                             name="fc", transB=1),
        ],
        "conv_depthwise_mlp",
        inputs=[tensor_info("input", [1, 3, 6, 6])],
        outputs=[tensor_info("output", [1, 5])],
        initializer=[
            init_f32("conv.weight", wc), init_f32("conv.bias", bc),
            init_f32("fc.weight", wf), init_f32("fc.bias", bf),
        ],
    )

    def reference(x):
        h = np.maximum(conv_ref(x, wc, bc, **attrs), 0.0).reshape(1, 108)
        return h @ wf.T + bf

    write_conv_fixture("conv_depthwise_mlp", make_model(graph), rng, (1, 3, 6, 6), reference)


def make_conv_1d() -> None:
    """[1,2,10] -> Conv1d(2->2, kernel 3, stride 2, pad 1) -> [1,2,5]."""
    rng = np.random.default_rng(7)
    w = dyadic(rng, (2, 2, 3), -0.5, 0.5)
    b = dyadic(rng, (2,), -0.5, 0.5)
    attrs = dict(strides=[2], pads=[1, 1])
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["output"],
                             name="conv", kernel_shape=[3], dilations=[1], group=1, **attrs),
        ],
        "conv_1d",
        inputs=[tensor_info("input", [1, 2, 10])],
        outputs=[tensor_info("output", [1, 2, 5])],
        initializer=[init_f32("conv.weight", w), init_f32("conv.bias", b)],
    )
    write_conv_fixture("conv_1d", make_model(graph), rng, (1, 2, 10),
                       lambda x: conv_ref(x, w, b, **attrs))


BN_EPSILON = 1e-5


def make_conv_bn() -> None:
    """[1,2,5,5] -> Conv(2->3, 3x3, pad 1) -> BatchNormalization (inference)
    -> Relu -> [1,3,5,5]."""
    # Seeds 0..21 are taken by the split, the fixtures above and act_* below;
    # conv_bn and the ops_* fixtures use 22..27.
    rng = np.random.default_rng(22)
    w = dyadic(rng, (3, 2, 3, 3), -0.5, 0.5)
    b = dyadic(rng, (3,), -0.5, 0.5)
    # |scale| in [0.5, 1.5], one channel negative (Relu then keeps where the
    # normalised value is negative), so no channel is scaled to nearly nothing.
    scale = dyadic(rng, (3,), 0.5, 1.5) * np.array([1.0, -1.0, 1.0])
    bias = dyadic(rng, (3,), -0.5, 0.5)
    mean = dyadic(rng, (3,), -0.5, 0.5)
    var = dyadic(rng, (3,), 0.5, 2.0)  # > 0, so the normalisation is well defined
    assert (var > 0).all(), var
    attrs = dict(pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv_out"],
                             name="conv", kernel_shape=[3, 3], strides=[1, 1],
                             dilations=[1, 1], group=1, **attrs),
            # Opset 13 is BatchNormalization-9: inference only, one output.
            helper.make_node("BatchNormalization",
                             ["conv_out", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
                             ["bn_out"], name="bn", epsilon=BN_EPSILON),
            helper.make_node("Relu", ["bn_out"], ["output"], name="relu"),
        ],
        "conv_bn",
        inputs=[tensor_info("input", [1, 2, 5, 5])],
        outputs=[tensor_info("output", [1, 3, 5, 5])],
        initializer=[
            init_f32("conv.weight", w), init_f32("conv.bias", b),
            init_f32("bn.scale", scale), init_f32("bn.bias", bias),
            init_f32("bn.mean", mean), init_f32("bn.var", var),
        ],
    )
    # The epsilon the model holds is a float32 attribute.
    eps = float(np.float32(BN_EPSILON))

    def reference(x):
        c = conv_ref(x, w, b, **attrs)
        per_channel = (1, 3, 1, 1)
        y = (c - mean.reshape(per_channel)) / np.sqrt(var.reshape(per_channel) + eps)
        return np.maximum(y * scale.reshape(per_channel) + bias.reshape(per_channel), 0.0)

    write_calibrated_fixture("conv_bn", make_model(graph), rng, (1, 2, 5, 5), reference,
                             input_bound=2.0)

# --------------------------------------------------------------------------
# activation fixtures
# --------------------------------------------------------------------------

SELU_ALPHA = 1.67326319217681884765625  # ONNX Selu defaults
SELU_GAMMA = 1.05070102214813232421875
CLIP_MIN, CLIP_MAX = -1.0, 1.5
HARDSWISH_OPSET = 14  # HardSwish first appears in opset 14; opset 13 has no schema


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(x)


# (op_type, attributes, numpy float64 reference, opset). The fixture is
# tests/fixtures/act_<op_type lowercased>; the seeds follow this order.
ACTIVATIONS = [
    ("Sigmoid", {}, lambda x: 1.0 / (1.0 + np.exp(-x)), OPSET),
    ("Tanh", {}, np.tanh, OPSET),
    ("LeakyRelu", {"alpha": 0.1}, lambda x: np.where(x >= 0, x, 0.1 * x), OPSET),
    ("Elu", {"alpha": 1.0}, lambda x: np.where(x > 0, x, np.expm1(x)), OPSET),
    ("Selu", {},
     lambda x: SELU_GAMMA * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)), OPSET),
    ("Celu", {"alpha": 1.0},
     lambda x: np.maximum(x, 0.0) + np.minimum(0.0, np.expm1(x)), OPSET),
    ("HardSigmoid", {"alpha": 0.2, "beta": 0.5},
     lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0), OPSET),
    ("HardSwish", {}, lambda x: x * np.clip(x / 6.0 + 0.5, 0.0, 1.0), HARDSWISH_OPSET),
    ("Softplus", {}, lambda x: np.logaddexp(0.0, x), OPSET),
    ("Softsign", {}, lambda x: x / (1.0 + np.abs(x)), OPSET),
    ("Clip", {}, lambda x: np.clip(x, CLIP_MIN, CLIP_MAX), OPSET),
    ("Abs", {}, np.abs, OPSET),
    ("Neg", {}, np.negative, OPSET),
    ("Erf", {}, _erf, OPSET),
]
ACT_FIRST_SEED = 8  # seeds 0..7 are taken by the split and the fixtures above


def act_description(op: str, attrs: dict) -> str:
    """How one activation node reads in models/README.md."""
    if op == "Clip":
        return f"Clip(`clip.min` = {CLIP_MIN}, `clip.max` = {CLIP_MAX})"
    if attrs:
        return op + "(" + ", ".join(f"{k}={v}" for k, v in attrs.items()) + ")"
    return op


def make_act(index: int) -> None:
    """[1,6] -> ACT -> Gemm(6->4, transB=1) -> ACT -> [1,4], one per activation."""
    op, attrs, act, opset = ACTIVATIONS[index]
    name = f"act_{op.lower()}"
    rng = np.random.default_rng(ACT_FIRST_SEED + index)
    w = dyadic(rng, (4, 6), -0.5, 0.5)   # Gemm transB=1: B is [out, in]
    b = dyadic(rng, (4,), -0.25, 0.25)
    extra_inputs, inits = [], [init_f32("fc.weight", w), init_f32("fc.bias", b)]
    if op == "Clip":
        # Opset >= 11 Clip takes min and max as (constant) inputs, not attributes.
        extra_inputs = ["clip.min", "clip.max"]
        inits += [init_f32("clip.min", CLIP_MIN), init_f32("clip.max", CLIP_MAX)]
    graph = helper.make_graph(
        [
            helper.make_node(op, ["input", *extra_inputs], ["act_in_out"], name="act_in",
                             **attrs),
            helper.make_node("Gemm", ["act_in_out", "fc.weight", "fc.bias"], ["fc_out"],
                             name="fc", transB=1),
            helper.make_node(op, ["fc_out", *extra_inputs], ["output"], name="act_fc",
                             **attrs),
        ],
        name,
        inputs=[tensor_info("input", [1, 6])],
        outputs=[tensor_info("output", [1, 4])],
        initializer=inits,
    )

    def reference(x):
        return act(act(np.asarray(x, dtype=np.float64)) @ w.T + b)

    write_calibrated_fixture(name, make_model(graph, opset), rng, (1, 6), reference,
                             input_bound=3.0)


# --------------------------------------------------------------------------
# op fixtures: constant arithmetic, shape ops, Gather/Concat, Pad
# --------------------------------------------------------------------------

AFFINE_SCALE = [0.75, -1.25]  # ops_affine per-channel Mul constant
AFFINE_SHIFT = [0.25, -0.5]   # ops_affine per-channel Sub constant
AFFINE_DIVISOR = 4.0          # ops_affine scalar Div constant
HALF = 0.5                    # ops_sub_from_const scalar Mul constant
GATHER_INDICES = [5, 0, 2]    # ops_concat_gather Gather indices (axis 1)
PAD_PADS = [0, 0, 1, 2, 0, 0, 2, 1]  # ops_pad: [begin per axis..., end per axis...]


def make_ops_affine() -> None:
    """[1,2,3,3] -> Mul(per-channel const) -> Sub(const) -> Div(scalar const)
    -> Relu -> Flatten -> Gemm(18->3, transB=1) -> [1,3]."""
    rng = np.random.default_rng(23)
    scale = np.array(AFFINE_SCALE).reshape(1, 2, 1, 1)
    shift = np.array(AFFINE_SHIFT).reshape(1, 2, 1, 1)
    w = dyadic(rng, (3, 18), -0.5, 0.5)  # Gemm transB=1: B is [out, in]
    b = dyadic(rng, (3,), -0.5, 0.5)
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["input", "mul.scale"], ["mul_out"], name="mul"),
            # computed tensor minus constant, computed tensor / constant
            helper.make_node("Sub", ["mul_out", "sub.shift"], ["sub_out"], name="sub"),
            helper.make_node("Div", ["sub_out", "div.divisor"], ["div_out"], name="div"),
            helper.make_node("Relu", ["div_out"], ["relu_out"], name="relu"),
            helper.make_node("Flatten", ["relu_out"], ["flat"], name="flatten", axis=1),
            helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"],
                             name="fc", transB=1),
        ],
        "ops_affine",
        inputs=[tensor_info("input", [1, 2, 3, 3])],
        outputs=[tensor_info("output", [1, 3])],
        initializer=[
            init_f32("mul.scale", scale),            # [1,2,1,1]
            init_f32("sub.shift", shift),            # [1,2,1,1]
            init_f32("div.divisor", AFFINE_DIVISOR),  # scalar (rank 0)
            init_f32("fc.weight", w), init_f32("fc.bias", b),
        ],
    )

    def reference(x):
        h = (np.asarray(x, dtype=np.float64) * scale - shift) / AFFINE_DIVISOR
        return np.maximum(h, 0.0).reshape(1, 18) @ w.T + b

    write_calibrated_fixture("ops_affine", make_model(graph), rng, (1, 2, 3, 3), reference,
                             input_bound=2.0)


def make_ops_sub_from_const() -> None:
    """[1,6] -> Sub(const - input) -> Mul(scalar const * tensor) -> [1,6]:
    the constant is the first operand of both binary ops."""
    rng = np.random.default_rng(24)
    c = dyadic(rng, (6,), -1.0, 1.0)
    graph = helper.make_graph(
        [
            helper.make_node("Sub", ["sub.const", "input"], ["sub_out"], name="sub"),
            helper.make_node("Mul", ["mul.const", "sub_out"], ["output"], name="mul"),
        ],
        "ops_sub_from_const",
        inputs=[tensor_info("input", [1, 6])],
        outputs=[tensor_info("output", [1, 6])],
        initializer=[init_f32("sub.const", c), init_f32("mul.const", HALF)],
    )

    def reference(x):
        return HALF * (c - np.asarray(x, dtype=np.float64))

    write_calibrated_fixture("ops_sub_from_const", make_model(graph), rng, (1, 6), reference,
                             input_bound=2.0)


def make_ops_shape() -> None:
    """[1,2,3,4] -> Transpose -> [1,3,4,2] -> Slice -> [1,3,3,2] -> Reshape
    -> [1,18] -> Unsqueeze -> [1,1,18] -> Squeeze -> [1,18] -> Gemm(18->4) -> [1,4]."""
    rng = np.random.default_rng(25)
    w = dyadic(rng, (4, 18), -0.5, 0.5)  # Gemm transB=1: B is [out, in]
    b = dyadic(rng, (4,), -0.5, 0.5)
    perm = [0, 2, 3, 1]
    graph = helper.make_graph(
        [
            helper.make_node("Transpose", ["input"], ["transpose_out"], name="transpose",
                             perm=perm),
            # Opset >= 10 Slice takes starts/ends/axes/steps as inputs.
            helper.make_node("Slice",
                             ["transpose_out", "slice.starts", "slice.ends", "slice.axes",
                              "slice.steps"],
                             ["slice_out"], name="slice"),
            helper.make_node("Reshape", ["slice_out", "reshape.shape"], ["reshape_out"],
                             name="reshape"),
            # Opset 13 Unsqueeze/Squeeze take axes as an input, not an attribute.
            helper.make_node("Unsqueeze", ["reshape_out", "unsqueeze.axes"],
                             ["unsqueeze_out"], name="unsqueeze"),
            helper.make_node("Squeeze", ["unsqueeze_out", "squeeze.axes"], ["squeeze_out"],
                             name="squeeze"),
            helper.make_node("Gemm", ["squeeze_out", "fc.weight", "fc.bias"], ["output"],
                             name="fc", transB=1),
        ],
        "ops_shape",
        inputs=[tensor_info("input", [1, 2, 3, 4])],
        outputs=[tensor_info("output", [1, 4])],
        initializer=[
            init_i64("slice.starts", [0, 1]), init_i64("slice.ends", [3, 4]),
            init_i64("slice.axes", [1, 2]), init_i64("slice.steps", [1, 1]),
            init_i64("reshape.shape", [1, 18]),
            init_i64("unsqueeze.axes", [1]), init_i64("squeeze.axes", [1]),
            init_f32("fc.weight", w), init_f32("fc.bias", b),
        ],
    )

    def reference(x):
        h = np.asarray(x, dtype=np.float64).transpose(perm)[:, 0:3, 1:4, :]
        assert h.shape == (1, 3, 3, 2), h.shape
        return h.reshape(1, 18) @ w.T + b

    write_calibrated_fixture("ops_shape", make_model(graph), rng, (1, 2, 3, 4), reference,
                             input_bound=2.0)


def make_ops_concat_gather() -> None:
    """[1,6] -> (Gemm(6->3) -> Relu) and Gather(axis 1, [5,0,2]) -> Concat(axis 1)
    -> [1,6] -> Gemm(6->2) -> [1,2]."""
    rng = np.random.default_rng(26)
    wa = dyadic(rng, (3, 6), -0.5, 0.5)  # Gemm transB=1: B is [out, in]
    ba = dyadic(rng, (3,), -0.5, 0.5)
    wf = dyadic(rng, (2, 6), -0.5, 0.5)
    bf = dyadic(rng, (2,), -0.5, 0.5)
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["input", "fc_a.weight", "fc_a.bias"], ["fc_a_out"],
                             name="fc_a", transB=1),
            helper.make_node("Relu", ["fc_a_out"], ["branch_a"], name="relu_a"),
            helper.make_node("Gather", ["input", "gather.indices"], ["branch_b"],
                             name="gather", axis=1),
            helper.make_node("Concat", ["branch_a", "branch_b"], ["concat_out"],
                             name="concat", axis=1),
            helper.make_node("Gemm", ["concat_out", "fc.weight", "fc.bias"], ["output"],
                             name="fc", transB=1),
        ],
        "ops_concat_gather",
        inputs=[tensor_info("input", [1, 6])],
        outputs=[tensor_info("output", [1, 2])],
        initializer=[
            init_f32("fc_a.weight", wa), init_f32("fc_a.bias", ba),
            init_i64("gather.indices", GATHER_INDICES),
            init_f32("fc.weight", wf), init_f32("fc.bias", bf),
        ],
    )

    def reference(x):
        x = np.asarray(x, dtype=np.float64)
        a = np.maximum(x @ wa.T + ba, 0.0)
        return np.concatenate([a, x[:, GATHER_INDICES]], axis=1) @ wf.T + bf

    write_calibrated_fixture("ops_concat_gather", make_model(graph), rng, (1, 6), reference,
                             input_bound=2.0)


def make_ops_pad() -> None:
    """[1,1,4,4] -> Pad(constant zero, asymmetric) -> [1,1,7,7]
    -> Conv(1->1, 3x3, no padding) -> [1,1,5,5]."""
    rng = np.random.default_rng(27)
    w = dyadic(rng, (1, 1, 3, 3), -0.5, 0.5)
    b = dyadic(rng, (1,), -0.5, 0.5)
    graph = helper.make_graph(
        [
            # Opset >= 11 Pad takes pads (and the optional constant_value, left
            # out here, so zero) as inputs.
            helper.make_node("Pad", ["input", "pad.pads"], ["pad_out"], name="pad",
                             mode="constant"),
            helper.make_node("Conv", ["pad_out", "conv.weight", "conv.bias"], ["output"],
                             name="conv", kernel_shape=[3, 3]),
        ],
        "ops_pad",
        inputs=[tensor_info("input", [1, 1, 4, 4])],
        outputs=[tensor_info("output", [1, 1, 5, 5])],
        initializer=[
            init_i64("pad.pads", PAD_PADS),
            init_f32("conv.weight", w), init_f32("conv.bias", b),
        ],
    )
    rank = len(PAD_PADS) // 2

    def reference(x):
        xp = np.pad(np.asarray(x, dtype=np.float64),
                    [(PAD_PADS[i], PAD_PADS[rank + i]) for i in range(rank)])
        assert xp.shape == (1, 1, 7, 7), xp.shape
        return conv_ref(xp, w, b)

    write_calibrated_fixture("ops_pad", make_model(graph), rng, (1, 1, 4, 4), reference,
                             input_bound=2.0)


# --------------------------------------------------------------------------
# pooling fixtures: AveragePool, GlobalAveragePool
# --------------------------------------------------------------------------

def avgpool_ref(x, kernel, strides, pads, count_include_pad: int) -> np.ndarray:
    """Plain numpy (float64) ONNX 2-D AveragePool (no ceil_mode, no dilations).

    pads are ONNX-ordered [h_begin, w_begin, h_end, w_end]. Each window sums
    the zero-padded input; the divisor is kh * kw with count_include_pad = 1,
    else the number of window positions that fall inside the unpadded input.
    """
    x = np.asarray(x, dtype=np.float64)
    kh, kw = kernel
    sh, sw = strides
    widths = [(0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])]
    xp = np.pad(x, widths)
    inside = np.pad(np.ones(x.shape[2:]), widths[2:])  # 1 where not padding
    oh = (xp.shape[2] - kh) // sh + 1
    ow = (xp.shape[3] - kw) // sw + 1
    y = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * sh, i * sh + kh)
            cols = slice(j * sw, j * sw + kw)
            count = kh * kw if count_include_pad else inside[rows, cols].sum()
            y[:, :, i, j] = xp[:, :, rows, cols].sum(axis=(2, 3)) / count
    return y


def make_pool_avg() -> None:
    """[1,2,6,6] -> AveragePool(2x2, stride 2) -> [1,2,3,3] -> Flatten
    -> Gemm(18->3, transB=1) -> [1,3]."""
    # Seeds 0..27 are taken by the split and the fixtures above; the pool_*
    # fixtures use 28..31.
    rng = np.random.default_rng(28)
    w = dyadic(rng, (3, 18), -0.5, 0.5)  # Gemm transB=1: B is [out, in]
    b = dyadic(rng, (3,), -0.5, 0.5)
    attrs = dict(kernel_shape=[2, 2], strides=[2, 2])
    graph = helper.make_graph(
        [
            # No pads attribute: zero padding by default.
            helper.make_node("AveragePool", ["input"], ["pool_out"], name="pool", **attrs),
            helper.make_node("Flatten", ["pool_out"], ["flat"], name="flatten", axis=1),
            helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"],
                             name="fc", transB=1),
        ],
        "pool_avg",
        inputs=[tensor_info("input", [1, 2, 6, 6])],
        outputs=[tensor_info("output", [1, 3])],
        initializer=[init_f32("fc.weight", w), init_f32("fc.bias", b)],
    )

    def reference(x):
        h = avgpool_ref(x, [2, 2], [2, 2], [0, 0, 0, 0], count_include_pad=0)
        assert h.shape == (1, 2, 3, 3), h.shape
        return h.reshape(1, 18) @ w.T + b

    write_calibrated_fixture("pool_avg", make_model(graph), rng, (1, 2, 6, 6), reference,
                             input_bound=2.0)


def make_pool_avg_padded(name: str, seed: int, count_include_pad: int) -> None:
    """[1,1,5,5] -> AveragePool(3x3, stride 1, pads 1, count_include_pad) -> [1,1,5,5]."""
    rng = np.random.default_rng(seed)
    pads = [1, 1, 1, 1]
    graph = helper.make_graph(
        [
            helper.make_node("AveragePool", ["input"], ["output"], name="pool",
                             kernel_shape=[3, 3], strides=[1, 1], pads=pads,
                             count_include_pad=count_include_pad),
        ],
        name,
        inputs=[tensor_info("input", [1, 1, 5, 5])],
        outputs=[tensor_info("output", [1, 1, 5, 5])],
    )

    def reference(x):
        return avgpool_ref(x, [3, 3], [1, 1], pads, count_include_pad)

    write_calibrated_fixture(name, make_model(graph), rng, (1, 1, 5, 5), reference,
                             input_bound=2.0)


def make_pool_global() -> None:
    """[1,3,4,4] -> Conv(3->4, 3x3, pad 1) -> Relu -> GlobalAveragePool -> [1,4,1,1]
    -> Flatten -> Gemm(4->2, transB=1) -> [1,2]."""
    rng = np.random.default_rng(31)
    wc = dyadic(rng, (4, 3, 3, 3), -0.5, 0.5)
    bc = dyadic(rng, (4,), -0.5, 0.5)
    wf = dyadic(rng, (2, 4), -0.5, 0.5)  # Gemm transB=1: B is [out, in]
    bf = dyadic(rng, (2,), -0.5, 0.5)
    attrs = dict(pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv_out"],
                             name="conv", kernel_shape=[3, 3], strides=[1, 1],
                             dilations=[1, 1], group=1, **attrs),
            helper.make_node("Relu", ["conv_out"], ["relu_out"], name="relu"),
            helper.make_node("GlobalAveragePool", ["relu_out"], ["gap_out"], name="gap"),
            helper.make_node("Flatten", ["gap_out"], ["flat"], name="flatten", axis=1),
            helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"],
                             name="fc", transB=1),
        ],
        "pool_global",
        inputs=[tensor_info("input", [1, 3, 4, 4])],
        outputs=[tensor_info("output", [1, 2])],
        initializer=[
            init_f32("conv.weight", wc), init_f32("conv.bias", bc),
            init_f32("fc.weight", wf), init_f32("fc.bias", bf),
        ],
    )

    def reference(x):
        h = np.maximum(conv_ref(x, wc, bc, **attrs), 0.0)
        g = h.mean(axis=(2, 3), keepdims=True)
        assert g.shape == (1, 4, 1, 1), g.shape
        return g.reshape(1, 4) @ wf.T + bf

    write_calibrated_fixture("pool_global", make_model(graph), rng, (1, 3, 4, 4), reference,
                             input_bound=2.0)


# --------------------------------------------------------------------------
# pooling fixtures: MaxPool, GlobalMaxPool, and a LeNet-shaped toy
# --------------------------------------------------------------------------

def maxpool_ref(x, kernel, strides, pads) -> np.ndarray:
    """Plain numpy (float64) ONNX 2-D MaxPool (no ceil_mode, no dilations).

    pads are ONNX-ordered [h_begin, w_begin, h_end, w_end]; padding is -inf,
    so it never wins a window.
    """
    x = np.asarray(x, dtype=np.float64)
    kh, kw = kernel
    sh, sw = strides
    widths = [(0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])]
    xp = np.pad(x, widths, constant_values=-np.inf)
    oh = (xp.shape[2] - kh) // sh + 1
    ow = (xp.shape[3] - kw) // sw + 1
    y = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    assert np.isfinite(y).all()
    return y


def make_pool_max() -> None:
    """[1,2,6,6] -> MaxPool(2x2, stride 2) -> [1,2,3,3] -> Flatten
    -> Gemm(18->3, transB=1) -> [1,3]."""
    # Seeds 0..31 are taken by the split and the fixtures above; the MaxPool
    # fixtures and lenet_tiny use 32..35.
    rng = np.random.default_rng(32)
    w = dyadic(rng, (3, 18), -0.5, 0.5)  # Gemm transB=1: B is [out, in]
    b = dyadic(rng, (3,), -0.5, 0.5)
    graph = helper.make_graph(
        [
            # No pads attribute; only the first (values) output.
            helper.make_node("MaxPool", ["input"], ["pool_out"], name="pool",
                             kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Flatten", ["pool_out"], ["flat"], name="flatten", axis=1),
            helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"],
                             name="fc", transB=1),
        ],
        "pool_max",
        inputs=[tensor_info("input", [1, 2, 6, 6])],
        outputs=[tensor_info("output", [1, 3])],
        initializer=[init_f32("fc.weight", w), init_f32("fc.bias", b)],
    )

    def reference(x):
        h = maxpool_ref(x, [2, 2], [2, 2], [0, 0, 0, 0])
        assert h.shape == (1, 2, 3, 3), h.shape
        return h.reshape(1, 18) @ w.T + b

    write_calibrated_fixture("pool_max", make_model(graph), rng, (1, 2, 6, 6), reference,
                             input_bound=2.0)


def make_pool_max_pad() -> None:
    """[1,1,5,5] -> MaxPool(3x3, stride 1, pads 1) -> [1,1,5,5]."""
    rng = np.random.default_rng(33)
    pads = [1, 1, 1, 1]
    graph = helper.make_graph(
        [
            helper.make_node("MaxPool", ["input"], ["output"], name="pool",
                             kernel_shape=[3, 3], strides=[1, 1], pads=pads),
        ],
        "pool_max_pad",
        inputs=[tensor_info("input", [1, 1, 5, 5])],
        outputs=[tensor_info("output", [1, 1, 5, 5])],
    )

    def reference(x):
        return maxpool_ref(x, [3, 3], [1, 1], pads)

    write_calibrated_fixture("pool_max_pad", make_model(graph), rng, (1, 1, 5, 5), reference,
                             input_bound=2.0)


def make_pool_global_max() -> None:
    """[1,3,4,4] -> Conv(3->2, 3x3, pad 1) -> GlobalMaxPool -> [1,2,1,1]
    -> Flatten -> [1,2]."""
    rng = np.random.default_rng(34)
    wc = dyadic(rng, (2, 3, 3, 3), -0.5, 0.5)
    bc = dyadic(rng, (2,), -0.5, 0.5)
    attrs = dict(pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv_out"],
                             name="conv", kernel_shape=[3, 3], **attrs),
            helper.make_node("GlobalMaxPool", ["conv_out"], ["gmp_out"], name="gmp"),
            helper.make_node("Flatten", ["gmp_out"], ["output"], name="flatten", axis=1),
        ],
        "pool_global_max",
        inputs=[tensor_info("input", [1, 3, 4, 4])],
        outputs=[tensor_info("output", [1, 2])],
        initializer=[init_f32("conv.weight", wc), init_f32("conv.bias", bc)],
    )

    def reference(x):
        h = conv_ref(x, wc, bc, **attrs)
        g = h.max(axis=(2, 3), keepdims=True)
        assert g.shape == (1, 2, 1, 1), g.shape
        return g.reshape(1, 2)

    write_calibrated_fixture("pool_global_max", make_model(graph), rng, (1, 3, 4, 4),
                             reference, input_bound=2.0)


def make_lenet_tiny() -> None:
    """[1,1,12,12] -> Conv(1->4, 5x5) -> Relu -> MaxPool(2x2, stride 2) -> [1,4,4,4]
    -> Conv(4->6, 3x3) -> Relu -> MaxPool(2x2, stride 2) -> [1,6,1,1] -> Flatten
    -> Gemm(6->10, transB=1) -> [1,10]: a LeNet-shaped toy."""
    rng = np.random.default_rng(35)
    w1 = dyadic(rng, (4, 1, 5, 5), -0.5, 0.5)
    b1 = dyadic(rng, (4,), -0.5, 0.5)
    w2 = dyadic(rng, (6, 4, 3, 3), -0.5, 0.5)
    b2 = dyadic(rng, (6,), -0.5, 0.5)
    wf = dyadic(rng, (10, 6), -0.5, 0.5)  # Gemm transB=1: B is [out, in]
    bf = dyadic(rng, (10,), -0.5, 0.5)
    pool = dict(kernel_shape=[2, 2], strides=[2, 2])
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1_out"],
                             name="conv1", kernel_shape=[5, 5]),
            helper.make_node("Relu", ["conv1_out"], ["relu1_out"], name="relu1"),
            helper.make_node("MaxPool", ["relu1_out"], ["pool1_out"], name="pool1", **pool),
            helper.make_node("Conv", ["pool1_out", "conv2.weight", "conv2.bias"], ["conv2_out"],
                             name="conv2", kernel_shape=[3, 3]),
            helper.make_node("Relu", ["conv2_out"], ["relu2_out"], name="relu2"),
            helper.make_node("MaxPool", ["relu2_out"], ["pool2_out"], name="pool2", **pool),
            helper.make_node("Flatten", ["pool2_out"], ["flat"], name="flatten", axis=1),
            helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"],
                             name="fc", transB=1),
        ],
        "lenet_tiny",
        inputs=[tensor_info("input", [1, 1, 12, 12])],
        outputs=[tensor_info("output", [1, 10])],
        initializer=[
            init_f32("conv1.weight", w1), init_f32("conv1.bias", b1),
            init_f32("conv2.weight", w2), init_f32("conv2.bias", b2),
            init_f32("fc.weight", wf), init_f32("fc.bias", bf),
        ],
    )

    def reference(x):
        h = maxpool_ref(np.maximum(conv_ref(x, w1, b1), 0.0), [2, 2], [2, 2], [0, 0, 0, 0])
        assert h.shape == (1, 4, 4, 4), h.shape
        h = maxpool_ref(np.maximum(conv_ref(h, w2, b2), 0.0), [2, 2], [2, 2], [0, 0, 0, 0])
        assert h.shape == (1, 6, 1, 1), h.shape
        return h.reshape(1, 6) @ wf.T + bf

    write_calibrated_fixture("lenet_tiny", make_model(graph), rng, (1, 1, 12, 12), reference,
                             input_bound=2.0)


def make_bad_inputs() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    (FIXTURES / "not_onnx.onnx").write_text("this is not an onnx model\n")
    dump_json(FIXTURES / "bad_shape.input.json", {"input_data": [[1.0, 2.0, 3.0]]})


# --------------------------------------------------------------------------
# models/README.md
# --------------------------------------------------------------------------

def write_models_readme(info: dict) -> None:
    act_rows = "".join(
        f"| `tests/fixtures/act_{op.lower()}.onnx` | `input` [1,6] -> "
        f"{act_description(op, attrs)} -> Gemm(`fc.weight` [4,6], `fc.bias` [4], transB=1) "
        f"-> {op} -> `output` [1,4]{f'; opset {opset}' if opset != OPSET else ''} |\n"
        for op, attrs, _, opset in ACTIVATIONS
    )
    text = f"""# Models

Small ONNX models shipped with snarkml, plus the test fixtures under
`tests/fixtures/`. All of them are generated by `scripts/make_models.py`
and committed, so building and testing the project needs no Python.

## Regenerating

```sh
scripts/setup --python                 # creates .venv from scripts/requirements.txt
.venv/bin/python scripts/make_models.py
```

The script is deterministic (fixed seeds and split); with the pinned
versions in `scripts/requirements.txt` it rewrites the same files.
Every graph uses opset {OPSET} (except `act_hardswish`: opset {HARDSWISH_OPSET},
the first with HardSwish), IR version {IR_VERSION}, float32 tensors and
fixed shapes (batch size 1). Expected outputs are onnxruntime float32
results.

## Input file formats

- `*input.json`: `{{"input_data": [[...]]}}`, one flat list per model input
  (all models here have a single input).
- `*expected.json`: `{{"output_data": [[...]]}}`, one flat list per model output.
- `calibration.json`, `*.calibration.json`: `{{"inputs": [[...], ...]}}`, one
  flat input per sample.
- `digits_test.json`: `{{"inputs": [[64 floats], ...], "labels": [ints]}}`.

## Contents

| path | what |
| --- | --- |
| `models/digits_mlp/` | 8x8 digit classifier, `input` [1,64] -> Gemm(64->32) -> Relu -> Gemm(32->10) -> `logits` [1,10]; float test accuracy {info['accuracy'] * 100:.2f}% (see its README) |
| `models/digits_test.json` | the fixed {TEST_SIZE}-sample test split of scikit-learn's digits (features / 16, in [0,1]) with labels |
| `models/tiny_text/` | 4-token sentence classifier for the prompt marketplace, `tokens` [1,32] (one-hot of 4 ids over an 8-word vocabulary) -> Gemm `embed` (embedding [8,4] per position) -> Gemm(16->16) -> Relu -> Gemm(16->4) -> `logits` [1,4] (see its README and `vocab.json`) |
| `tests/fixtures/relu3.onnx` | `input` [1,3] -> Relu -> `output` [1,3] |
| `tests/fixtures/linear.onnx` | `input` [1,4] -> MatMul(`weight` [4,3]) -> Add(`bias` [3]) -> `output` [1,3] |
| `tests/fixtures/mlp_flatten.onnx` | `input` [1,2,4] -> Flatten(axis=1) -> Gemm(8->6, transB=0) -> Relu -> Gemm(6->3, transB=1) -> Reshape(`out_shape` = [1,3]) -> `output` [1,3] |
| `tests/fixtures/unsupported_op.onnx` | `input` [1,4] -> Sin -> `output` [1,4]: valid ONNX with an op the compiler does not support |
| `tests/fixtures/conv_basic.onnx` | `input` [1,1,6,6] -> Conv(`conv.weight` [2,1,3,3], `conv.bias` [2]; only kernel_shape set, so stride 1, no padding by default) -> Relu -> `output` [1,2,4,4] |
| `tests/fixtures/conv_stride_pad.onnx` | `input` [1,2,5,5] -> Conv(`conv.weight` [3,2,3,3], `conv.bias` [3], strides [2,2], pads [1,1,1,1]) -> `output` [1,3,3,3] |
| `tests/fixtures/conv_dilation_group.onnx` | `input` [1,4,7,7] -> Conv(`conv.weight` [4,2,3,3], no bias, dilations [2,2], group 2, asymmetric pads [0,1,2,1]) -> Relu -> `output` [1,4,5,5] |
| `tests/fixtures/conv_depthwise_mlp.onnx` | `input` [1,3,6,6] -> depthwise Conv(`conv.weight` [3,1,3,3], `conv.bias` [3], group 3, pads [1,1,1,1]) -> Relu -> Flatten(axis=1) -> Gemm(108->5, transB=1) -> `output` [1,5] |
| `tests/fixtures/conv_1d.onnx` | `input` [1,2,10] -> 1-D Conv(`conv.weight` [2,2,3], `conv.bias` [2], strides [2], pads [1,1]) -> `output` [1,2,5] |
| `tests/fixtures/conv_bn.onnx` | `input` [1,2,5,5] -> Conv(`conv.weight` [3,2,3,3], `conv.bias` [3], pads [1,1,1,1]) -> BatchNormalization(`bn.scale`, `bn.bias`, `bn.mean`, `bn.var` [3] each, var in [0.5,2], epsilon {BN_EPSILON:g}; inference, one output) -> Relu -> `output` [1,3,5,5] |
{act_rows}| `tests/fixtures/ops_affine.onnx` | `input` [1,2,3,3] -> Mul(`mul.scale` [1,2,1,1] = {AFFINE_SCALE}) -> Sub(tensor - `sub.shift` [1,2,1,1] = {AFFINE_SHIFT}) -> Div(tensor / scalar `div.divisor` = {AFFINE_DIVISOR}) -> Relu -> Flatten(axis=1) -> Gemm(`fc.weight` [3,18], `fc.bias` [3], transB=1) -> `output` [1,3] |
| `tests/fixtures/ops_sub_from_const.onnx` | `input` [1,6] -> Sub(`sub.const` [6] - tensor) -> Mul(scalar `mul.const` = {HALF} * tensor) -> `output` [1,6]: the constant is the first operand of both |
| `tests/fixtures/ops_shape.onnx` | `input` [1,2,3,4] -> Transpose(perm [0,2,3,1]) -> [1,3,4,2] -> Slice(int64 inputs `slice.starts` [0,1], `slice.ends` [3,4], `slice.axes` [1,2], `slice.steps` [1,1]) -> [1,3,3,2] -> Reshape(`reshape.shape` = [1,18]) -> Unsqueeze(`unsqueeze.axes` = [1]) -> [1,1,18] -> Squeeze(`squeeze.axes` = [1]) -> [1,18] -> Gemm(`fc.weight` [4,18], `fc.bias` [4], transB=1) -> `output` [1,4] |
| `tests/fixtures/ops_concat_gather.onnx` | `input` [1,6] -> branch A: Gemm(`fc_a.weight` [3,6], `fc_a.bias` [3], transB=1) -> Relu; branch B: Gather(axis=1, int64 `gather.indices` = {GATHER_INDICES}) of the input; Concat(axis=1) of A, B -> [1,6] -> Gemm(`fc.weight` [2,6], `fc.bias` [2], transB=1) -> `output` [1,2] |
| `tests/fixtures/ops_pad.onnx` | `input` [1,1,4,4] -> Pad(mode constant, int64 `pad.pads` = {PAD_PADS}, no constant_value: zero) -> [1,1,7,7] -> Conv(`conv.weight` [1,1,3,3], `conv.bias` [1], no padding) -> `output` [1,1,5,5] |
| `tests/fixtures/pool_avg.onnx` | `input` [1,2,6,6] -> AveragePool(kernel_shape [2,2], strides [2,2], no pads) -> [1,2,3,3] -> Flatten(axis=1) -> Gemm(`fc.weight` [3,18], `fc.bias` [3], transB=1) -> `output` [1,3] |
| `tests/fixtures/pool_avg_pad.onnx` | `input` [1,1,5,5] -> AveragePool(kernel_shape [3,3], strides [1,1], pads [1,1,1,1], count_include_pad 0: border windows divide by their count of non-pad elements) -> `output` [1,1,5,5] |
| `tests/fixtures/pool_avg_pad_incl.onnx` | `input` [1,1,5,5] -> AveragePool(kernel_shape [3,3], strides [1,1], pads [1,1,1,1], count_include_pad 1: every window divides by 9) -> `output` [1,1,5,5] |
| `tests/fixtures/pool_global.onnx` | `input` [1,3,4,4] -> Conv(`conv.weight` [4,3,3,3], `conv.bias` [4], pads [1,1,1,1]) -> Relu -> GlobalAveragePool -> [1,4,1,1] -> Flatten(axis=1) -> Gemm(`fc.weight` [2,4], `fc.bias` [2], transB=1) -> `output` [1,2] |
| `tests/fixtures/pool_max.onnx` | `input` [1,2,6,6] -> MaxPool(kernel_shape [2,2], strides [2,2], no pads; one output) -> [1,2,3,3] -> Flatten(axis=1) -> Gemm(`fc.weight` [3,18], `fc.bias` [3], transB=1) -> `output` [1,3] |
| `tests/fixtures/pool_max_pad.onnx` | `input` [1,1,5,5] -> MaxPool(kernel_shape [3,3], strides [1,1], pads [1,1,1,1]: padding is -inf, so it never wins) -> `output` [1,1,5,5] |
| `tests/fixtures/pool_global_max.onnx` | `input` [1,3,4,4] -> Conv(`conv.weight` [2,3,3,3], `conv.bias` [2], pads [1,1,1,1]) -> GlobalMaxPool -> [1,2,1,1] -> Flatten(axis=1) -> `output` [1,2] |
| `tests/fixtures/lenet_tiny.onnx` | LeNet-shaped toy: `input` [1,1,12,12] -> Conv(`conv1.weight` [4,1,5,5], `conv1.bias` [4], no padding) -> Relu -> MaxPool(kernel_shape [2,2], strides [2,2]) -> [1,4,4,4] -> Conv(`conv2.weight` [6,4,3,3], `conv2.bias` [6], no padding) -> Relu -> MaxPool(kernel_shape [2,2], strides [2,2]) -> [1,6,1,1] -> Flatten(axis=1) -> Gemm(`fc.weight` [10,6], `fc.bias` [10], transB=1) -> `output` [1,10] |
| `tests/fixtures/not_onnx.onnx` | a text file, not ONNX |
| `tests/fixtures/bad_shape.input.json` | a 3-value input meant for the 64-input digits model (wrong shape) |

Each fixture model `NAME.onnx` comes with `NAME.input.json` and
`NAME.expected.json`; the `conv_*`, `act_*`, `ops_*`, `pool_*` and `lenet_tiny` fixtures also have
`NAME.calibration.json`, {N_FIXTURE_CALIBRATION} samples whose first is `NAME.input.json`'s
input. Fixture weights and inputs are multiples of 1/64
with |value| <= 2 (`act_*` inputs and calibration samples: |value| <= 3;
`ops_affine`'s divisor is {AFFINE_DIVISOR}), so they are exact in fixed point.
The `conv_bn` parameters, variance included, are multiples of 1/64 too,
though 1/sqrt(var + epsilon) is not. Each `act_*` fixture applies the
activation to the raw input (node `act_in`), then a Gemm (node `fc`,
weights in [-0.5, 0.5], bias in [-0.25, 0.25]), then the activation again
(node `act_fc`).
"""
    (MODELS / "README.md").write_text(text)


def main() -> int:
    info = make_digits()
    text = make_tiny_text()
    make_relu3()
    make_linear()
    make_mlp_flatten()
    make_unsupported_op()
    make_conv_basic()
    make_conv_stride_pad()
    make_conv_dilation_group()
    make_conv_depthwise_mlp()
    make_conv_1d()
    make_conv_bn()
    for index in range(len(ACTIVATIONS)):
        make_act(index)
    make_ops_affine()
    make_ops_sub_from_const()
    make_ops_shape()
    make_ops_concat_gather()
    make_ops_pad()
    make_pool_avg()
    make_pool_avg_padded("pool_avg_pad", 29, count_include_pad=0)
    make_pool_avg_padded("pool_avg_pad_incl", 30, count_include_pad=1)
    make_pool_global()
    make_pool_max()
    make_pool_max_pad()
    make_pool_global_max()
    make_lenet_tiny()
    make_bad_inputs()
    write_models_readme(info)
    print(f"digits_mlp: float test accuracy {info['accuracy'] * 100:.2f}% "
          f"({info['correct']}/{TEST_SIZE}), train {info['train_accuracy'] * 100:.2f}%, "
          f"{info['n_iter']} epochs")
    print(f"digits_mlp: max |weight| {info['max_abs_weight']:.4f}, "
          f"max |bias| {info['max_abs_bias']:.4f}, "
          f"max |hidden| {info['max_abs_hidden']:.4f}, "
          f"max |logit| {info['max_abs_logit']:.4f}")
    print(f"tiny_text: float accuracy {text['accuracy'] * 100:.1f}%, prompt -> {text['pred0']}")
    print(f"wrote {MODELS.relative_to(ROOT)}/ and {FIXTURES.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
