#!/usr/bin/env python3
"""Generate the op-coverage corpus: small ONNX models, one or a few ops each, plus the
compositions real exports are made of (attention, layer normalization, a transformer block).

Run from anywhere as:

    .venv/bin/python scripts/make_corpus.py

(`scripts/setup --python` creates .venv from scripts/requirements.txt.)

Writes tests/fixtures/corpus/NAME.{onnx,input.json,calibration.json,expected.json} for every
model below and tests/fixtures/corpus/INDEX.json (name, ops, description). Deterministic:
fixed seeds, inputs on a 1/64 grid; onnxruntime gives the float outputs. The outputs are
committed, so the Rust tests never need Python.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_models import (  # noqa: E402  (the shared helpers of the model generator)
    PRODUCER,
    dump_json,
    dump_rows_json,
    dyadic,
    f32_list,
    init_f32,
    init_i64,
    save_model,
    tensor_info,
)

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus"
N_CALIBRATION = 8
# The IR version each opset needs (onnx's own default follows the newest IR).
IR_FOR_OPSET = {13: 8, 17: 8, 18: 8, 20: 9, 21: 10}

MODELS = {}
# A model's seed is 1000 + its place in MODELS, except where it was first written at another
# place (the committed fixtures are what this script writes, byte for byte).
SEEDS = {"inverted_residual": 1055}
# Models calibrated on more samples than N_CALIBRATION (a data set rather than a few examples).
CALIBRATION_SAMPLES = {"tabular_narrow": 48, "tabular_columns": 48, "tree_wide_features": 48,
                       "tree_gathered_columns": 48}
# Models using an op version the ONNX checker calls deprecated (still what some exporters wrote).
DEPRECATED_OPS = {"group_norm"}
# Models with onnxruntime's com.microsoft contrib ops, which the ONNX checker does not know:
# checked by onnxruntime running them instead.
CONTRIB_OPS = {"qlinear_ops", "qdq_rearranged"}


def model(name: str, description: str):
    """Registers a builder: it returns (nodes, inputs {name: (shape, low, high)}, outputs
    {name: shape}, initializers, opset). An input's values are uniform in [low, high] (whole
    numbers for an integer input: a numpy type as a fourth element), or with low "digits" the
    digits data set's images, or with low "tabular" uniform in ±high[j] for feature j."""

    def register(build):
        MODELS[name] = (description, build)
        return build

    return register


def node(op: str, inputs: list[str], outputs: list[str], **attrs):
    return helper.make_node(op, inputs, outputs, name=outputs[0], **attrs)


def weights(rng, name: str, shape, bound: float = 0.5):
    return init_f32(name, dyadic(rng, shape, -bound, bound))


# --------------------------------------------------------------------------
# element-wise functions (one lookup table each)
# --------------------------------------------------------------------------

UNARY = [
    # (op, attrs, input range, opset)
    ("Exp", {}, (-2.0, 1.5), 18),
    ("Log", {}, (0.25, 4.0), 18),
    ("Sqrt", {}, (0.0, 4.0), 18),
    ("Reciprocal", {}, (0.5, 4.0), 18),
    ("Sign", {}, (-2.0, 2.0), 18),
    ("Floor", {}, (-3.0, 3.0), 18),
    ("Ceil", {}, (-3.0, 3.0), 18),
    ("Round", {}, (-3.0, 3.0), 18),
    ("Mish", {}, (-3.0, 3.0), 18),
    ("ThresholdedRelu", {"alpha": 0.5}, (-2.0, 2.0), 18),
    ("Sin", {}, (-3.0, 3.0), 18),
    ("Cos", {}, (-3.0, 3.0), 18),
    ("Gelu", {}, (-3.0, 3.0), 20),
    ("Gelu", {"approximate": "tanh"}, (-3.0, 3.0), 20),
]


def unary_builder(op: str, attrs: dict, lo: float, hi: float, opset: int):
    def build(rng):
        return (
            [node(op, ["input"], ["output"], **attrs)],
            {"input": ([1, 16], lo, hi)},
            {"output": [1, 16]},
            [],
            opset,
        )

    return build


for _op, _attrs, (_lo, _hi), _opset in UNARY:
    _suffix = "_tanh" if _attrs.get("approximate") == "tanh" else ""
    model(f"unary_{_op.lower()}{_suffix}", f"{_op}{_suffix} on [1,16] in [{_lo}, {_hi}]")(
        unary_builder(_op, _attrs, _lo, _hi, _opset)
    )


@model("pow_consts", "Pow by constant exponents 2 (product gate), 3, 0.5, -1")
def pow_consts(rng):
    return (
        [
            node("Pow", ["input", "two"], ["sq"]),
            node("Pow", ["input", "three"], ["cube"]),
            node("Abs", ["input"], ["abs"]),
            node("Add", ["abs", "half"], ["pos"]),
            node("Pow", ["pos", "half"], ["root"]),
            node("Pow", ["pos", "minus_one"], ["inv"]),
            node("Concat", ["sq", "cube", "root", "inv"], ["output"], axis=1),
        ],
        {"input": ([1, 6], -1.5, 1.5)},
        {"output": [1, 24]},
        [init_f32(n, v) for n, v in
         [("two", 2.0), ("three", 3.0), ("half", 0.5), ("minus_one", -1.0)]],
        18,
    )


@model("prelu_channels", "PRelu with one slope per channel after a convolution")
def prelu_channels(rng):
    return (
        [
            node("Conv", ["input", "w", "b"], ["conv"], pads=[1, 1, 1, 1], strides=[1, 1]),
            node("PRelu", ["conv", "slope"], ["output"]),
        ],
        {"input": ([1, 2, 4, 4], -2.0, 2.0)},
        {"output": [1, 3, 4, 4]},
        [weights(rng, "w", (3, 2, 3, 3)), weights(rng, "b", (3,)),
         init_f32("slope", np.array([0.1, -0.2, 0.3]).reshape(3, 1, 1))],
        18,
    )


# --------------------------------------------------------------------------
# arithmetic between computed tensors
# --------------------------------------------------------------------------

@model("silu_gate", "SiLU as exported by PyTorch (x * sigmoid(x)) inside an MLP")
def silu_gate(rng):
    return (
        [
            node("Gemm", ["input", "w1", "b1"], ["h"], transB=1),
            node("Sigmoid", ["h"], ["gate"]),
            node("Mul", ["h", "gate"], ["silu"]),
            node("Gemm", ["silu", "w2", "b2"], ["output"], transB=1),
        ],
        {"input": ([1, 8], -2.0, 2.0)},
        {"output": [1, 4]},
        [weights(rng, "w1", (8, 8)), weights(rng, "b1", (8,)),
         weights(rng, "w2", (4, 8)), weights(rng, "b2", (4,))],
        18,
    )


@model("gelu_erf_decomposed", "exact GELU the way PyTorch < 2.x exports it (Div, Erf, Add, Mul, Mul)")
def gelu_erf_decomposed(rng):
    return (
        [
            node("MatMul", ["input", "w"], ["h"]),
            node("Div", ["h", "sqrt2"], ["scaled"]),
            node("Erf", ["scaled"], ["erf"]),
            node("Add", ["erf", "one"], ["plus1"]),
            node("Mul", ["h", "plus1"], ["prod"]),
            node("Mul", ["prod", "half"], ["output"]),
        ],
        {"input": ([2, 6], -2.0, 2.0)},
        {"output": [2, 6]},
        [weights(rng, "w", (6, 6)), init_f32("sqrt2", math.sqrt(2.0)),
         init_f32("one", 1.0), init_f32("half", 0.5)],
        18,
    )


@model("binary_broadcast", "Add, Sub, Mul and Div of computed tensors with broadcasting")
def binary_broadcast(rng):
    return (
        [
            node("ReduceMean", ["input", "axis1"], ["row_mean"]),           # [3,1]
            node("Sub", ["input", "row_mean"], ["centred"]),                 # [3,4]
            node("Gemm", ["input", "w", "b"], ["col"], transB=1),            # [3,1]
            node("Mul", ["centred", "col"], ["scaled"]),                     # [3,4]
            node("Sigmoid", ["input"], ["sig"]),
            node("Add", ["sig", "half"], ["den"]),                           # (0.5, 1.5)
            node("Div", ["scaled", "den"], ["ratio"]),
            node("Add", ["ratio", "centred"], ["output"]),
        ],
        {"input": ([3, 4], -2.0, 2.0)},
        {"output": [3, 4]},
        [init_i64("axis1", [1]), weights(rng, "w", (1, 4)), weights(rng, "b", (1,)),
         init_f32("half", 0.5)],
        18,
    )


@model("const_over_var", "a constant divided by a computed value (reciprocal table, then a factor)")
def const_over_var(rng):
    return (
        [
            node("Sigmoid", ["input"], ["sig"]),
            node("Add", ["sig", "one"], ["den"]),
            node("Div", ["three", "den"], ["output"]),
        ],
        {"input": ([1, 8], -3.0, 3.0)},
        {"output": [1, 8]},
        [init_f32("one", 1.0), init_f32("three", 3.0)],
        18,
    )


@model("variadic", "Sum, Mean, Max and Min of several computed tensors, broadcast")
def variadic(rng):
    return (
        [
            node("Gemm", ["input", "w", "b"], ["proj"], transB=1),           # [2,4]
            node("ReduceMax", ["input", "axis1"], ["rmax"]),                 # [2,1]
            node("Sum", ["input", "proj", "rmax"], ["s"]),
            node("Mean", ["input", "proj"], ["m"]),
            node("Max", ["input", "proj", "rmax"], ["mx"]),
            node("Min", ["input", "proj"], ["mn"]),
            node("Concat", ["s", "m", "mx", "mn"], ["output"], axis=1),
        ],
        {"input": ([2, 4], -2.0, 2.0)},
        {"output": [2, 16]},
        [weights(rng, "w", (4, 4)), weights(rng, "b", (4,)), init_i64("axis1", [1])],
        18,
    )


# --------------------------------------------------------------------------
# reductions and normalizations
# --------------------------------------------------------------------------

@model("reductions", "every Reduce* op over various axes, with and without keepdims")
def reductions(rng):
    ops = [
        ("ReduceSum", [1], 1), ("ReduceMean", [2], 0), ("ReduceMax", [1, 2], 1),
        ("ReduceMin", [0], 0), ("ReduceSumSquare", [2], 1), ("ReduceL1", [1], 0),
        ("ReduceL2", [2], 0), ("ReduceLogSumExp", [2], 1),
    ]
    nodes, inits, flat = [], [], []
    for i, (op, axes, keep) in enumerate(ops):
        inits.append(init_i64(f"axes{i}", axes))
        nodes.append(node(op, ["input", f"axes{i}"], [f"r{i}"], keepdims=keep))
        nodes.append(node("Reshape", [f"r{i}", "flat"], [f"f{i}"]))
        flat.append(f"f{i}")
    nodes.append(node("Concat", flat, ["output"], axis=0))
    sizes = [2 * 4, 2 * 3, 2, 3 * 4, 2 * 3, 2 * 4, 2 * 3, 2 * 3]
    return (
        nodes,
        {"input": ([2, 3, 4], -2.0, 2.0)},
        {"output": [sum(sizes)]},
        inits + [init_i64("flat", [-1])],
        18,
    )


@model("softmax_last", "Softmax over the last axis after a linear layer")
def softmax_last(rng):
    return (
        [
            node("Gemm", ["input", "w", "b"], ["logits"], transB=1),
            node("Softmax", ["logits"], ["output"], axis=-1),
        ],
        {"input": ([2, 6], -2.0, 2.0)},
        {"output": [2, 5]},
        [weights(rng, "w", (5, 6)), weights(rng, "b", (5,))],
        18,
    )


@model("softmax_axis0", "Softmax and LogSoftmax over the first axis")
def softmax_axis0(rng):
    return (
        [
            node("Softmax", ["input"], ["sm"], axis=0),
            node("LogSoftmax", ["input"], ["lsm"], axis=0),
            node("Concat", ["sm", "lsm"], ["output"], axis=1),
        ],
        {"input": ([4, 3], -2.0, 2.0)},
        {"output": [4, 6]},
        [],
        18,
    )


@model("layernorm", "LayerNormalization (opset 17) with scale and bias")
def layernorm(rng):
    return (
        [node("LayerNormalization", ["input", "gamma", "beta"], ["output"], axis=-1,
              epsilon=1e-5)],
        {"input": ([3, 8], -2.0, 2.0)},
        {"output": [3, 8]},
        [init_f32("gamma", 1.0 + dyadic(rng, (8,), -0.25, 0.25)),
         init_f32("beta", dyadic(rng, (8,), -0.25, 0.25))],
        18,
    )


@model("layernorm_decomposed", "layer normalization as older PyTorch exports it (ReduceMean, Sub, Pow, Sqrt, Div)")
def layernorm_decomposed(rng):
    return (
        [
            node("ReduceMean", ["input", "last"], ["mean"]),
            node("Sub", ["input", "mean"], ["d"]),
            node("Pow", ["d", "two"], ["sq"]),
            node("ReduceMean", ["sq", "last"], ["var"]),
            node("Add", ["var", "eps"], ["var_eps"]),
            node("Sqrt", ["var_eps"], ["std"]),
            node("Div", ["d", "std"], ["normed"]),
            node("Mul", ["normed", "gamma"], ["scaled"]),
            node("Add", ["scaled", "beta"], ["output"]),
        ],
        {"input": ([2, 6], -2.0, 2.0)},
        {"output": [2, 6]},
        [init_i64("last", [-1]), init_f32("two", 2.0), init_f32("eps", 1e-5),
         init_f32("gamma", 1.0 + dyadic(rng, (6,), -0.25, 0.25)),
         init_f32("beta", dyadic(rng, (6,), -0.25, 0.25))],
        18,
    )


# --------------------------------------------------------------------------
# rearrangements (copy constraints only) and constant folding
# --------------------------------------------------------------------------

@model("split_tile_expand", "Split, Tile and Expand (copies), recombined by Add and Concat")
def split_tile_expand(rng):
    return (
        [
            node("Split", ["input", "sizes"], ["a", "b"], axis=1),          # [2,2], [2,4]
            node("Tile", ["a", "reps"], ["tiled"]),                          # [2,4]
            node("Add", ["tiled", "b"], ["sum"]),
            node("ReduceMax", ["input", "axis1"], ["m"]),                    # [2,1]
            node("Expand", ["m", "target"], ["wide"]),                       # [2,4]
            node("Concat", ["sum", "wide"], ["output"], axis=1),
        ],
        {"input": ([2, 6], -2.0, 2.0)},
        {"output": [2, 8]},
        [init_i64("sizes", [2, 4]), init_i64("reps", [1, 2]), init_i64("axis1", [1]),
         init_i64("target", [2, 4])],
        18,
    )


@model("gather_scatter", "GatherElements, GatherND, ScatterND and ScatterElements with constant indices")
def gather_scatter(rng):
    return (
        [
            node("GatherElements", ["input", "ge_idx"], ["ge"], axis=1),     # [3,2]
            node("GatherND", ["input", "nd_idx"], ["nd"]),                   # [2]
            node("Relu", ["ge"], ["upd"]),                                    # [3,2]
            node("ScatterElements", ["input", "se_idx", "upd"], ["se"], axis=1),
            node("Reshape", ["nd", "col"], ["nd_col"]),                      # [2,1]
            node("Slice", ["nd_col", "zero", "one", "zero"], ["nd_one"]),    # [1,1]
            node("Reshape", ["nd_one", "one_vec"], ["nd_upd"]),              # [1]
            node("ScatterND", ["se", "sn_idx", "nd_upd"], ["output"]),       # [3,4]
        ],
        {"input": ([3, 4], -2.0, 2.0)},
        {"output": [3, 4]},
        [init_i64("ge_idx", [[3, 0], [1, 1], [2, 0]]), init_i64("nd_idx", [[0, 1], [2, 3]]),
         init_i64("se_idx", [[0, 2], [3, 1], [1, 0]]), init_i64("sn_idx", [[1, 2]]),
         init_i64("col", [2, 1]), init_i64("zero", [0]), init_i64("one", [1]),
         init_i64("one_vec", [1])],
        18,
    )


@model("trilu_resize", "Trilu masks and nearest-neighbour Resize (scales and sizes forms)")
def trilu_resize(rng):
    return (
        [
            node("Trilu", ["input"], ["upper"], upper=1),
            node("Trilu", ["input", "k"], ["lower"], upper=0),
            node("Add", ["upper", "lower"], ["both"]),
            node("Resize", ["both", "", "scales"], ["up"], mode="nearest"),          # [1,1,6,6]
            node("Resize", ["input", "", "", "sizes"], ["up2"], mode="nearest",
                 coordinate_transformation_mode="asymmetric", nearest_mode="floor"),   # [1,1,6,6]
            node("Sub", ["up", "up2"], ["output"]),
        ],
        {"input": ([1, 1, 3, 3], -2.0, 2.0)},
        {"output": [1, 1, 6, 6]},
        [init_i64("k", -1), init_f32("scales", [1.0, 1.0, 2.0, 2.0]),
         init_i64("sizes", [1, 1, 6, 6])],
        18,
    )


@model("shape_folding", "the shape arithmetic exporters emit, folded at import: Shape, Gather, "
       "Unsqueeze, Concat, ConstantOfShape, Range, Cast, Equal, Where, Reshape")
def shape_folding(rng):
    return (
        [
            node("Shape", ["input"], ["shape"]),                                  # [2, 6]
            node("Gather", ["shape", "zero"], ["batch"], axis=0),                 # 2
            node("Unsqueeze", ["batch", "axes0"], ["batch1"]),                    # [2]
            node("Concat", ["batch1", "three", "minus_one"], ["target"], axis=0), # [2, 3, -1]
            node("Reshape", ["input", "target"], ["cube"]),                       # [2, 3, 2]
            node("Gather", ["shape", "one"], ["width"], axis=0),                  # 6
            node("Div", ["width", "three_s"], ["last"]),                          # 2 (integer)
            node("Range", ["zero_s", "last", "one_s"], ["positions"]),            # [0, 1]
            node("Cast", ["positions"], ["pos_f"], to=onnx.TensorProto.FLOAT),
            node("Equal", ["positions", "zero_s"], ["is_first"]),
            node("Where", ["is_first", "half", "pos_f"], ["offsets"]),            # [0.5, 1]
            node("ConstantOfShape", ["target_pos"], ["ones"],
                 value=helper.make_tensor("v", onnx.TensorProto.FLOAT, [1], [1.0])),
            node("Mul", ["ones", "offsets"], ["bias"]),                            # [3, 2]
            node("Add", ["cube", "bias"], ["output"]),
        ],
        {"input": ([2, 6], -2.0, 2.0)},
        {"output": [2, 3, 2]},
        [init_i64("zero", 0), init_i64("one", 1), init_i64("axes0", [0]),
         init_i64("three", [3]), init_i64("three_s", 3), init_i64("minus_one", [-1]),
         init_i64("zero_s", 0),
         init_i64("one_s", 1), init_f32("half", 0.5), init_i64("target_pos", [3, 2])],
        18,
    )


# --------------------------------------------------------------------------
# comparisons, logic, Where, ArgMax
# --------------------------------------------------------------------------

@model("compare_logic_where", "Greater, LessOrEqual, Equal, Not, And, Or, Xor and Where on "
       "computed tensors and constants")
def compare_logic_where(rng):
    f = onnx.TensorProto.FLOAT
    return (
        [
            node("Gemm", ["input", "w", "b"], ["y"], transB=1),               # [2,5]
            node("Greater", ["input", "y"], ["g"]),
            node("LessOrEqual", ["input", "half"], ["le"]),
            node("Round", ["input"], ["r"]),
            node("Equal", ["r", "one"], ["eq"]),
            node("Not", ["g"], ["ng"]),
            node("And", ["g", "le"], ["and"]),
            node("Or", ["ng", "eq"], ["or"]),
            node("Xor", ["g", "le"], ["xor"]),
            node("Where", ["g", "input", "y"], ["w1"]),
            node("Where", ["le", "input", "half"], ["w2"]),
            node("Where", ["mask", "input", "y"], ["w3"]),                    # constant mask
            *[node("Cast", [t], [f"{t}_f"], to=f) for t in ["g", "le", "eq", "and", "or", "xor"]],
            node("Concat", ["g_f", "le_f", "eq_f", "and_f", "or_f", "xor_f", "w1", "w2", "w3"],
                 ["output"], axis=1),
        ],
        {"input": ([2, 5], -2.0, 2.0)},
        {"output": [2, 45]},
        [weights(rng, "w", (5, 5)), weights(rng, "b", (5,)), init_f32("half", 0.5),
         init_f32("one", 1.0),
         helper.make_tensor("mask", onnx.TensorProto.BOOL, [1, 5], [1, 0, 0, 1, 1])],
        18,
    )


@model("argmax_classifier", "an MLP classifier's logits and ArgMax, ArgMin with select_last_index")
def argmax_classifier(rng):
    return (
        [
            node("Gemm", ["input", "w1", "b1"], ["h"], transB=1),
            node("Relu", ["h"], ["a"]),
            node("Gemm", ["a", "w2", "b2"], ["logits"], transB=1),            # [3,4]
            node("ArgMax", ["logits"], ["class"], axis=1, keepdims=0),         # [3]
            node("Round", ["input"], ["rounded"]),
            node("ArgMin", ["rounded"], ["low"], axis=0, keepdims=1, select_last_index=1),
            node("Cast", ["class"], ["class_f"], to=onnx.TensorProto.FLOAT),
            node("Cast", ["low"], ["low_f"], to=onnx.TensorProto.FLOAT),
            node("Reshape", ["logits", "flat"], ["logits_f"]),
            node("Reshape", ["low_f", "flat"], ["low_flat"]),
            node("Concat", ["logits_f", "class_f", "low_flat"], ["output"], axis=0),
        ],
        {"input": ([3, 6], -2.0, 2.0)},
        {"output": [12 + 3 + 6]},
        [weights(rng, "w1", (8, 6)), weights(rng, "b1", (8,)),
         init_f32("w2", dyadic(rng, (4, 8), -1.5, 1.5)), weights(rng, "b2", (4,)),
         init_i64("flat", [-1])],
        18,
    )


# --------------------------------------------------------------------------
# recurrent layers (unrolled)
# --------------------------------------------------------------------------

def recurrent_model(op: str, gates: int, seq: int, inp: int, hidden: int, rng,
                    direction: str = "forward", **attrs):
    dirs = 2 if direction == "bidirectional" else 1
    return (
        [
            node(op, ["input", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden,
                 direction=direction, **attrs),
            node("Reshape", ["Y_h", "flat"], ["h_flat"]),                   # [1, dirs*hidden]
            node("Gemm", ["h_flat", "cls.w", "cls.b"], ["logits"], transB=1),
            node("Reshape", ["Y", "flat"], ["y_flat"]),                     # [1, seq*dirs*hidden]
            node("Concat", ["logits", "y_flat"], ["output"], axis=1),
        ],
        {"input": ([seq, 1, inp], -1.5, 1.5)},
        {"output": [1, 3 + seq * dirs * hidden]},
        [weights(rng, "W", (dirs, gates * hidden, inp)),
         weights(rng, "R", (dirs, gates * hidden, hidden)),
         weights(rng, "B", (dirs, 2 * gates * hidden), 0.25),
         init_i64("flat", [1, -1]),
         weights(rng, "cls.w", (3, dirs * hidden)), weights(rng, "cls.b", (3,), 0.25)],
        18,
    )


@model("lstm_small", "a small LSTM (5 steps, 3 inputs, 4 hidden), unrolled, then a classifier on Y_h")
def lstm_small(rng):
    return recurrent_model("LSTM", 4, 5, 3, 4, rng)


@model("gru_torch", "a GRU as PyTorch exports it (linear_before_reset=1), 4 steps")
def gru_torch(rng):
    return recurrent_model("GRU", 3, 4, 3, 4, rng, linear_before_reset=1)


@model("gru_reverse", "a GRU with the default reset placement, run in reverse")
def gru_reverse(rng):
    return recurrent_model("GRU", 3, 4, 3, 3, rng, direction="reverse")


@model("rnn_bidirectional", "a bidirectional tanh RNN")
def rnn_bidirectional(rng):
    return recurrent_model("RNN", 1, 4, 3, 4, rng, direction="bidirectional")


# --------------------------------------------------------------------------
# products of computed tensors: attention
# --------------------------------------------------------------------------

@model("matmul_qk", "Q·Kᵀ: MatMul of two computed tensors (a transposed one)")
def matmul_qk(rng):
    return (
        [
            node("MatMul", ["input", "wq"], ["q"]),
            node("MatMul", ["input", "wk"], ["k"]),
            node("Transpose", ["k"], ["kt"], perm=[1, 0]),
            node("MatMul", ["q", "kt"], ["output"]),
        ],
        {"input": ([4, 6], -1.5, 1.5)},
        {"output": [4, 4]},
        [weights(rng, "wq", (6, 3)), weights(rng, "wk", (6, 3))],
        18,
    )


@model("einsum_batched", "Einsum bij,bkj->bik and ij,j->i... forms as batched products")
def einsum_batched(rng):
    return (
        [
            node("MatMul", ["input", "w"], ["h"]),                        # [2,3,4]
            node("Einsum", ["input", "h"], ["gram"], equation="bij,bkj->bik"),  # [2,3,3]
            node("Einsum", ["h", "input"], ["mixed"], equation="bik,bjk->bji"),  # [2,3,3]
            node("Add", ["gram", "mixed"], ["output"]),
        ],
        {"input": ([2, 3, 4], -1.5, 1.5)},
        {"output": [2, 3, 3]},
        [weights(rng, "w", (4, 4))],
        18,
    )


def attention_nodes(prefix: str, x: str, d_model: int, heads: int, seq: int, rng):
    """Multi-head self-attention as torch exports it: projections, reshape/transpose into
    heads, scaled Q·Kᵀ, softmax, ·V, heads merged, output projection."""
    dh = d_model // heads
    p = prefix
    inits = [weights(rng, f"{p}.wq", (d_model, d_model)), weights(rng, f"{p}.wk", (d_model, d_model)),
             weights(rng, f"{p}.wv", (d_model, d_model)), weights(rng, f"{p}.wo", (d_model, d_model)),
             init_i64(f"{p}.heads_shape", [seq, heads, dh]),
             init_i64(f"{p}.merged_shape", [seq, d_model]),
             init_f32(f"{p}.inv_sqrt_d", 1.0 / math.sqrt(dh))]
    nodes = []
    for t in "qkv":
        nodes += [
            node("MatMul", [x, f"{p}.w{t}"], [f"{p}.{t}"]),
            node("Reshape", [f"{p}.{t}", f"{p}.heads_shape"], [f"{p}.{t}_h"]),
        ]
    nodes += [
        node("Transpose", [f"{p}.q_h"], [f"{p}.qt"], perm=[1, 0, 2]),   # [H, S, dh]
        node("Transpose", [f"{p}.k_h"], [f"{p}.kt"], perm=[1, 2, 0]),   # [H, dh, S]
        node("Transpose", [f"{p}.v_h"], [f"{p}.vt"], perm=[1, 0, 2]),   # [H, S, dh]
        node("MatMul", [f"{p}.qt", f"{p}.kt"], [f"{p}.scores"]),        # [H, S, S]
        node("Mul", [f"{p}.scores", f"{p}.inv_sqrt_d"], [f"{p}.scaled"]),
        node("Softmax", [f"{p}.scaled"], [f"{p}.attn"], axis=-1),
        node("MatMul", [f"{p}.attn", f"{p}.vt"], [f"{p}.ctx"]),          # [H, S, dh]
        node("Transpose", [f"{p}.ctx"], [f"{p}.ctx_t"], perm=[1, 0, 2]),
        node("Reshape", [f"{p}.ctx_t", f"{p}.merged_shape"], [f"{p}.merged"]),
        node("MatMul", [f"{p}.merged", f"{p}.wo"], [f"{p}.out"]),
    ]
    return nodes, inits, f"{p}.out"


@model("attention_head", "one self-attention head: Q·Kᵀ/√d, softmax, ·V")
def attention_head(rng):
    nodes, inits, out = attention_nodes("attn", "input", 6, 1, 4, rng)
    nodes.append(node("Identity", [out], ["output"]))
    return nodes, {"input": ([4, 6], -1.0, 1.0)}, {"output": [4, 6]}, inits, 18


@model("transformer_block", "one transformer encoder block: 2-head self-attention, residual, "
       "LayerNorm, GELU MLP, residual, LayerNorm, mean pooling, classifier")
def transformer_block(rng):
    seq, d, heads, hidden, classes = 4, 8, 2, 16, 3
    nodes, inits, att = attention_nodes("attn", "input", d, heads, seq, rng)
    nodes += [
        node("Add", ["input", att], ["res1"]),
        node("LayerNormalization", ["res1", "ln1.g", "ln1.b"], ["ln1"], axis=-1),
        node("MatMul", ["ln1", "mlp.w1"], ["mlp.h0"]),
        node("Add", ["mlp.h0", "mlp.b1"], ["mlp.h"]),
        node("Gelu", ["mlp.h"], ["mlp.act"]),
        node("MatMul", ["mlp.act", "mlp.w2"], ["mlp.o0"]),
        node("Add", ["mlp.o0", "mlp.b2"], ["mlp.o"]),
        node("Add", ["ln1", "mlp.o"], ["res2"]),
        node("LayerNormalization", ["res2", "ln2.g", "ln2.b"], ["ln2"], axis=-1),
        node("ReduceMean", ["ln2", "axis0"], ["pooled"], keepdims=1),   # [1, d]
        node("Gemm", ["pooled", "cls.w", "cls.b"], ["output"], transB=1),
    ]
    inits += [
        init_f32("ln1.g", 1.0 + dyadic(rng, (d,), -0.25, 0.25)),
        init_f32("ln1.b", dyadic(rng, (d,), -0.25, 0.25)),
        weights(rng, "mlp.w1", (d, hidden)), weights(rng, "mlp.b1", (hidden,), 0.25),
        weights(rng, "mlp.w2", (hidden, d)), weights(rng, "mlp.b2", (d,), 0.25),
        init_f32("ln2.g", 1.0 + dyadic(rng, (d,), -0.25, 0.25)),
        init_f32("ln2.b", dyadic(rng, (d,), -0.25, 0.25)),
        init_i64("axis0", [0]),
        weights(rng, "cls.w", (classes, d)), weights(rng, "cls.b", (classes,), 0.25),
    ]
    return nodes, {"input": ([seq, d], -1.0, 1.0)}, {"output": [1, classes]}, inits, 20


@model("conv_transpose", "ConvTranspose: stride 2 with pads and output padding, then a grouped "
       "one with dilation")
def conv_transpose(rng):
    return (
        [
            node("ConvTranspose", ["input", "w1", "b1"], ["up"], strides=[2, 2],
                 pads=[1, 1, 0, 0], output_padding=[1, 0]),
            node("Relu", ["up"], ["r"]),
            node("ConvTranspose", ["r", "w2"], ["output"], group=2, dilations=[2, 1]),
        ],
        {"input": ([1, 2, 3, 3], -2.0, 2.0)},
        {"output": [1, 4, 9, 7]},
        [weights(rng, "w1", (2, 4, 3, 3)), weights(rng, "b1", (4,), 0.25),
         weights(rng, "w2", (4, 2, 2, 2))],
        18,
    )


@model("instance_lp_norm", "InstanceNormalization, LpNormalization (p = 1 and 2), LpPool and "
       "GlobalLpPool")
def instance_lp_norm(rng):
    return (
        [
            node("InstanceNormalization", ["input", "g", "b"], ["inorm"]),
            node("LpNormalization", ["input"], ["l2"], axis=-1, p=2),
            node("LpNormalization", ["input"], ["l1"], axis=1, p=1),
            node("LpPool", ["input"], ["pool"], kernel_shape=[2, 2], strides=[2, 2], p=2),
            node("GlobalLpPool", ["input"], ["gpool"], p=3),
            node("Reshape", ["inorm", "flat"], ["f1"]),
            node("Reshape", ["l2", "flat"], ["f2"]),
            node("Reshape", ["l1", "flat"], ["f3"]),
            node("Reshape", ["pool", "flat"], ["f4"]),
            node("Reshape", ["gpool", "flat"], ["f5"]),
            node("Concat", ["f1", "f2", "f3", "f4", "f5"], ["output"], axis=0),
        ],
        {"input": ([1, 2, 4, 4], -2.0, 2.0)},
        {"output": [32 * 3 + 8 + 2]},
        [init_f32("g", [1.25, 0.75]), init_f32("b", [0.25, -0.5]), init_i64("flat", [-1])],
        18,
    )


# --------------------------------------------------------------------------
# whole models: a tree ensemble in tensor form, CNNs
# --------------------------------------------------------------------------

DIGITS = None


def digits_data():
    """scikit-learn's 8x8 digits (shipped inside the wheel), as the other models use them."""
    global DIGITS
    if DIGITS is None:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        d = load_digits()
        DIGITS = train_test_split(d.data, d.target, test_size=450, random_state=0)
    return DIGITS


@model("forest_digits", "a random forest (3 trees, depth 3) trained on the digits, exported in "
       "tensor form: feature selection, x <= threshold, path matching, leaf values, ArgMax")
def forest_digits(rng):
    from sklearn.ensemble import RandomForestClassifier
    x_train, x_test, y_train, _ = digits_data()
    forest = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0)
    forest.fit(x_train, y_train)
    internal, leaves = [], []   # internal: (feature, threshold); leaves: (path, values)
    for est in forest.estimators_:
        tree = est.tree_

        def walk(i, path):
            if tree.children_left[i] == -1:
                probs = tree.value[i][0] / tree.value[i][0].sum()
                leaves.append((path, probs / len(forest.estimators_)))
                return
            k = len(internal)
            internal.append((tree.feature[i], tree.threshold[i]))
            walk(tree.children_left[i], path + [(k, 1)])
            walk(tree.children_right[i], path + [(k, 0)])

        walk(0, [])
    n_in, n_leaf = len(internal), len(leaves)
    a = np.zeros((64, n_in), dtype=np.float32)
    for k, (f, _) in enumerate(internal):
        a[f, k] = 1.0
    thresholds = np.array([t for _, t in internal], dtype=np.float32)
    c = np.zeros((n_in, n_leaf), dtype=np.float32)
    d = np.zeros(n_leaf, dtype=np.float32)
    for j, (path, _) in enumerate(leaves):
        for k, left in path:
            c[k, j] = 1.0 if left else -1.0
            d[j] += left
    e = np.stack([v for _, v in leaves]).astype(np.float32)          # [leaves, 10]
    # The shipped weights are the forest's own: check the tensor form against it.
    sample = x_test[:50].astype(np.float32)
    dec = (sample @ a <= thresholds).astype(np.float32)
    hit = (dec @ c == d).astype(np.float32)
    assert np.allclose(hit @ e, forest.predict_proba(sample), atol=1e-6)
    return (
        [
            node("MatMul", ["input", "select"], ["features"]),
            node("LessOrEqual", ["features", "thresholds"], ["left"]),
            node("Cast", ["left"], ["left_f"], to=onnx.TensorProto.FLOAT),
            node("MatMul", ["left_f", "paths"], ["matched"]),
            node("Equal", ["matched", "lefts"], ["reached"]),
            node("Cast", ["reached"], ["reached_f"], to=onnx.TensorProto.FLOAT),
            node("MatMul", ["reached_f", "leaf_values"], ["probabilities"]),
            node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=1),
            node("Cast", ["label"], ["label_f"], to=onnx.TensorProto.FLOAT),
            node("Concat", ["probabilities", "label_f"], ["output"], axis=1),
        ],
        {"input": ([1, 64], "digits", None)},
        {"output": [1, 11]},
        [init_f32("select", a), init_f32("thresholds", thresholds), init_f32("paths", c),
         init_f32("lefts", d), init_f32("leaf_values", e)],
        18,
    )


@model("cnn_digits", "a CNN for 8x8 digit images: Conv 3x3 (4) + BN, ReLU, MaxPool 2, Conv 3x3 (8), "
       "ReLU, GlobalAveragePool, Gemm to 10 classes, Softmax")
def cnn_digits(rng):
    return (
        [
            node("Conv", ["input", "c1.w", "c1.b"], ["c1"], pads=[1, 1, 1, 1], strides=[1, 1]),
            node("BatchNormalization", ["c1", "bn.g", "bn.b", "bn.m", "bn.v"], ["bn"]),
            node("Relu", ["bn"], ["r1"]),
            node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
            node("Conv", ["p1", "c2.w", "c2.b"], ["c2"], pads=[1, 1, 1, 1], strides=[1, 1]),
            node("Relu", ["c2"], ["r2"]),
            node("GlobalAveragePool", ["r2"], ["gap"]),
            node("Flatten", ["gap"], ["flat"]),
            node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], transB=1),
            node("Softmax", ["logits"], ["output"], axis=-1),
        ],
        {"input": ([1, 1, 8, 8], "digits", None)},
        {"output": [1, 10]},
        [weights(rng, "c1.w", (4, 1, 3, 3), 0.1), weights(rng, "c1.b", (4,), 0.1),
         init_f32("bn.g", 1.0 + dyadic(rng, (4,), -0.25, 0.25)),
         weights(rng, "bn.b", (4,), 0.25), weights(rng, "bn.m", (4,), 0.25),
         init_f32("bn.v", 1.0 + dyadic(rng, (4,), 0.0, 0.5)),
         weights(rng, "c2.w", (8, 4, 3, 3), 0.25), weights(rng, "c2.b", (8,), 0.1),
         weights(rng, "fc.w", (10, 8), 1.0), weights(rng, "fc.b", (10,), 0.25)],
        18,
    )


@model("lenet5", "LeNet-5 on a 28x28 image: Conv 5x5 (6, pad 2), ReLU, AvgPool 2, Conv 5x5 (16), "
       "ReLU, AvgPool 2, Gemm 400->120, ReLU, Gemm 120->84, ReLU, Gemm 84->10 (weights scaled "
       "by fan-in)")
def lenet5(rng):
    def fan_in(name, shape, fan):
        return init_f32(name, dyadic(rng, shape, -1.0, 1.0) / math.sqrt(fan))
    return (
        [
            node("Conv", ["input", "c1.w", "c1.b"], ["c1"], pads=[2, 2, 2, 2], strides=[1, 1]),
            node("Relu", ["c1"], ["r1"]),
            node("AveragePool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
            node("Conv", ["p1", "c2.w", "c2.b"], ["c2"], strides=[1, 1]),
            node("Relu", ["c2"], ["r2"]),
            node("AveragePool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
            node("Flatten", ["p2"], ["flat"]),
            node("Gemm", ["flat", "f1.w", "f1.b"], ["f1"], transB=1),
            node("Relu", ["f1"], ["r3"]),
            node("Gemm", ["r3", "f2.w", "f2.b"], ["f2"], transB=1),
            node("Relu", ["f2"], ["r4"]),
            node("Gemm", ["r4", "f3.w", "f3.b"], ["output"], transB=1),
        ],
        {"input": ([1, 1, 28, 28], 0.0, 1.0)},
        {"output": [1, 10]},
        [fan_in("c1.w", (6, 1, 5, 5), 25), weights(rng, "c1.b", (6,), 0.1),
         fan_in("c2.w", (16, 6, 5, 5), 150), weights(rng, "c2.b", (16,), 0.1),
         fan_in("f1.w", (120, 400), 400), weights(rng, "f1.b", (120,), 0.1),
         fan_in("f2.w", (84, 120), 120), weights(rng, "f2.b", (84,), 0.1),
         fan_in("f3.w", (10, 84), 84), weights(rng, "f3.b", (10,), 0.1)],
        18,
    )


# Models added after the first corpus go here, at the end: each model's seed is its position
# in this file, so appending keeps every earlier model's weights and inputs unchanged.

@model("hardmax_prod_depth", "Hardmax, ReduceProd, DepthToSpace (DCR and CRD) and SpaceToDepth")
def hardmax_prod_depth(rng):
    return (
        [
            node("DepthToSpace", ["input"], ["d2s"], blocksize=2),                 # [1,2,4,4]
            node("DepthToSpace", ["input"], ["d2s_crd"], blocksize=2, mode="CRD"),
            node("Add", ["d2s", "d2s_crd"], ["sum"]),
            node("SpaceToDepth", ["sum"], ["s2d"], blocksize=2),                   # [1,8,2,2]
            node("Hardmax", ["s2d"], ["hard"], axis=1),
            node("ReduceProd", ["input", "axis1"], ["prod"], keepdims=0),          # [1,2,2]
            node("Reshape", ["hard", "flat"], ["f1"]),
            node("Reshape", ["prod", "flat"], ["f2"]),
            node("Reshape", ["s2d", "flat"], ["f3"]),
            node("Concat", ["f1", "f2", "f3"], ["output"], axis=0),
        ],
        {"input": ([1, 8, 2, 2], -1.25, 1.25)},
        {"output": [32 + 4 + 32]},
        [init_i64("axis1", [1]), init_i64("flat", [-1])],
        18,
    )


@model("one_hot_computed", "OneHot of computed indices (negative ones included), with off/on "
       "values, along a middle axis")
def one_hot_computed(rng):
    return (
        [
            node("Round", ["input"], ["idx"]),                                   # -2..3
            node("OneHot", ["idx", "depth", "values"], ["oh"], axis=1),           # [2,4,3]
            node("Reshape", ["oh", "flat"], ["output"]),
        ],
        {"input": ([2, 3], -2.0, 3.0)},
        {"output": [24]},
        [init_f32("depth", 4.0), init_f32("values", [-0.5, 2.0]), init_i64("flat", [-1])],
        18,
    )


@model("top_k", "TopK: the 3 largest along the last axis and the 2 smallest along the first "
       "(values and indices), ties included")
def top_k(rng):
    return (
        [
            node("TopK", ["input", "k3"], ["top", "top_i"], axis=-1),            # [2,3]
            node("Mul", ["input", "half"], ["scaled"]),
            node("TopK", ["scaled", "k2"], ["low", "low_i"], axis=0, largest=0),  # [2,8]
            node("Cast", ["top_i"], ["top_f"], to=1),
            node("Cast", ["low_i"], ["low_f"], to=1),
            node("Reshape", ["top", "flat"], ["f1"]),
            node("Reshape", ["top_f", "flat"], ["f2"]),
            node("Reshape", ["low", "flat"], ["f3"]),
            node("Reshape", ["low_f", "flat"], ["f4"]),
            node("Concat", ["f1", "f2", "f3", "f4"], ["output"], axis=0),
        ],
        # Multiples of 1/64 in a narrow range: exact ties are common, and both engines must
        # put the lower index first.
        {"input": ([2, 8], -0.25, 0.25)},
        {"output": [6 + 6 + 16 + 16]},
        [init_i64("k3", [3]), init_i64("k2", [2]), init_f32("half", 0.5),
         init_i64("flat", [-1])],
        18,
    )


@model("group_norm", "GroupNormalization (opset 18, deprecated but exported: scale and bias "
       "per group) with 2 groups, then with 1 group")
def group_norm(rng):
    return (
        [
            node("GroupNormalization", ["input", "g2.scale", "g2.bias"], ["g2"], num_groups=2),
            node("Relu", ["g2"], ["r"]),
            node("GroupNormalization", ["r", "g1.scale", "g1.bias"], ["g1"], num_groups=1,
                 epsilon=1e-3),
            node("Reshape", ["g1", "flat"], ["output"]),
        ],
        {"input": ([1, 4, 3, 3], -2.0, 2.0)},
        {"output": [36]},
        [init_f32("g2.scale", 1.0 + dyadic(rng, (2,), -0.25, 0.25)),
         weights(rng, "g2.bias", (2,), 0.5),
         init_f32("g1.scale", [0.75]), init_f32("g1.bias", [0.125]),
         init_i64("flat", [-1])],
        18,
    )


@model("group_norm_21", "GroupNormalization (opset 21: scale and bias per channel), 3 groups "
       "of 2 channels over a 1-D signal")
def group_norm_21(rng):
    return (
        [
            node("GroupNormalization", ["input", "scale", "bias"], ["g"], num_groups=3),
            node("Reshape", ["g", "flat"], ["output"]),
        ],
        {"input": ([2, 6, 4], -2.0, 2.0)},
        {"output": [48]},
        [init_f32("scale", 1.0 + dyadic(rng, (6,), -0.25, 0.25)),
         weights(rng, "bias", (6,), 0.5), init_i64("flat", [-1])],
        21,
    )


@model("recurrent_initial_state", "an LSTM from a constant non-zero initial state (H and C), "
       "then a bidirectional GRU whose initial state is computed (the LSTM's final H and its "
       "negation)")
def recurrent_initial_state(rng):
    return (
        [
            node("LSTM", ["input", "W1", "R1", "B1", "", "h0", "c0"], ["Y1", "Yh1"],
                 hidden_size=4),
            node("Neg", ["Yh1"], ["Yh1_neg"]),
            node("Concat", ["Yh1", "Yh1_neg"], ["h0g"], axis=0),              # [2,1,4]
            node("GRU", ["input", "W2", "R2", "B2", "", "h0g"], ["Y2", "Yh2"], hidden_size=4,
                 direction="bidirectional", linear_before_reset=1),
            node("Reshape", ["Y1", "flat"], ["f1"]),
            node("Reshape", ["Yh2", "flat"], ["f2"]),
            node("Concat", ["f1", "f2"], ["output"], axis=0),
        ],
        {"input": ([3, 1, 3], -1.5, 1.5)},
        {"output": [12 + 8]},
        [weights(rng, "W1", (1, 16, 3)), weights(rng, "R1", (1, 16, 4)),
         weights(rng, "B1", (1, 32), 0.25),
         init_f32("h0", dyadic(rng, (1, 1, 4), -0.5, 0.5)),
         init_f32("c0", dyadic(rng, (1, 1, 4), -1.0, 1.0)),
         weights(rng, "W2", (2, 12, 3)), weights(rng, "R2", (2, 12, 4)),
         weights(rng, "B2", (2, 24), 0.25), init_i64("flat", [-1])],
        18,
    )


@model("conv_transpose_auto_pad", "ConvTranspose with auto_pad SAME_UPPER, SAME_LOWER and "
       "VALID, and with an output_shape")
def conv_transpose_auto_pad(rng):
    return (
        [
            node("ConvTranspose", ["input", "w1"], ["up"], strides=[2, 2],
                 auto_pad="SAME_UPPER"),                                       # [1,3,6,6]
            node("ConvTranspose", ["up", "w2"], ["shaped"], strides=[2, 2],
                 output_shape=[11, 12]),                                       # [1,2,11,12]
            node("ConvTranspose", ["input", "w3"], ["low"], strides=[2, 2],
                 auto_pad="SAME_LOWER"),                                       # [1,1,6,6]
            node("ConvTranspose", ["input", "w3"], ["valid"], strides=[2, 2],
                 auto_pad="VALID"),                                            # [1,1,7,7]
            node("Reshape", ["shaped", "flat"], ["f1"]),
            node("Reshape", ["low", "flat"], ["f2"]),
            node("Reshape", ["valid", "flat"], ["f3"]),
            node("Concat", ["f1", "f2", "f3"], ["output"], axis=0),
        ],
        {"input": ([1, 2, 3, 3], -1.0, 1.0)},
        {"output": [2 * 11 * 12 + 36 + 49]},
        [weights(rng, "w1", (2, 3, 3, 3)), weights(rng, "w2", (3, 2, 2, 2)),
         weights(rng, "w3", (2, 1, 3, 3)), init_i64("flat", [-1])],
        18,
    )


@model("cast_computed", "Cast of computed values to int64 (toward zero) and to bool (x != 0), "
       "and back to float")
def cast_computed(rng):
    return (
        [
            node("Mul", ["input", "two"], ["x2"]),
            node("Cast", ["x2"], ["as_int"], to=onnx.TensorProto.INT64),
            node("Cast", ["as_int"], ["int_f"], to=onnx.TensorProto.FLOAT),
            node("Cast", ["input"], ["as_bool"], to=onnx.TensorProto.BOOL),
            node("Cast", ["as_bool"], ["bool_f"], to=onnx.TensorProto.FLOAT),
            node("Concat", ["int_f", "bool_f"], ["output"], axis=1),
        ],
        # Multiples of 1/64 with exact zeros among them.
        {"input": ([2, 6], -0.125, 2.0)},
        {"output": [2, 12]},
        [init_f32("two", 2.0)],
        18,
    )


@model("conv_pool_auto_pad", "Conv and pooling with auto_pad SAME_UPPER, SAME_LOWER and VALID "
       "(as TFLite converters write them)")
def conv_pool_auto_pad(rng):
    return (
        [
            node("Conv", ["input", "w1", "b1"], ["c1"], strides=[2, 2],
                 auto_pad="SAME_UPPER"),                                       # [1,3,4,4]
            node("Relu", ["c1"], ["r1"]),
            node("Conv", ["r1", "w2"], ["c2"], strides=[1, 1],
                 auto_pad="SAME_LOWER"),                                       # [1,2,4,4]
            node("AveragePool", ["c2"], ["avg"], kernel_shape=[2, 2], strides=[2, 2],
                 auto_pad="VALID"),                                            # [1,2,2,2]
            node("MaxPool", ["input"], ["mx"], kernel_shape=[2, 2], strides=[2, 2],
                 auto_pad="SAME_UPPER"),                                       # [1,2,4,4]
            node("AveragePool", ["input"], ["av2"], kernel_shape=[3, 3], strides=[3, 3],
                 auto_pad="SAME_LOWER"),                                       # [1,2,3,3]
            node("Reshape", ["avg", "flat"], ["f1"]),
            node("Reshape", ["mx", "flat"], ["f2"]),
            node("Reshape", ["av2", "flat"], ["f3"]),
            node("Concat", ["f1", "f2", "f3"], ["output"], axis=0),
        ],
        {"input": ([1, 2, 7, 7], -1.0, 1.0)},
        {"output": [8 + 32 + 18]},
        [weights(rng, "w1", (3, 2, 3, 3)), weights(rng, "b1", (3,), 0.25),
         weights(rng, "w2", (2, 3, 2, 2)), init_i64("flat", [-1])],
        18,
    )


@model("pool_bn_conv", "the TFLite MNIST shape: Conv, Clip, AveragePool VALID, batch norm as Mul and "
       "Add (folded into the next Conv), GlobalAveragePool and Flatten into a Gemm")
def pool_bn_conv(rng):
    def per_channel(name, c, lo, hi):
        return init_f32(name, dyadic(rng, (1, c, 1, 1), lo, hi))
    return (
        [
            node("Conv", ["input", "w1", "b1"], ["c1"], strides=[1, 1]),              # [1,4,8,8]
            node("Clip", ["c1", "zero", "six"], ["r1"]),
            node("AveragePool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2],
                 auto_pad="VALID"),                                                 # [1,4,4,4]
            node("Mul", ["p1", "g1"], ["m1"]),
            node("Add", ["m1", "s1"], ["a1"]),
            node("Conv", ["a1", "w2", "b2"], ["c2"], strides=[1, 1]),                 # [1,6,2,2]
            node("Clip", ["c2", "zero", "six"], ["r2"]),
            node("Mul", ["r2", "g2"], ["m2"]),
            node("Add", ["m2", "s2"], ["a2"]),
            node("Conv", ["a2", "w3", "b3"], ["c3"], strides=[1, 1]),                 # [1,3,2,2]
            node("Relu", ["c3"], ["r3"]),
            node("GlobalAveragePool", ["r3"], ["gap"]),                               # [1,3,1,1]
            node("Flatten", ["gap"], ["flat"]),
            node("Gemm", ["flat", "w4", "b4"], ["output"], transB=1),                 # [1,5]
        ],
        {"input": ([1, 1, 10, 10], 0.0, 1.0)},
        {"output": [1, 5]},
        [weights(rng, "w1", (4, 1, 3, 3)), weights(rng, "b1", (4,), 0.25),
         init_f32("zero", np.array(0.0, dtype=np.float32)),
         init_f32("six", np.array(6.0, dtype=np.float32)),
         per_channel("g1", 4, 0.5, 1.5), per_channel("s1", 4, -0.5, 0.5),
         weights(rng, "w2", (6, 4, 3, 3)), weights(rng, "b2", (6,), 0.25),
         per_channel("g2", 6, 0.5, 1.5), per_channel("s2", 6, -0.5, 0.5),
         weights(rng, "w3", (3, 6, 1, 1)), weights(rng, "b3", (3,), 0.25),
         weights(rng, "w4", (5, 3)), weights(rng, "b4", (5,), 0.25)],
        18,
    )


# Convolutions state their strides: the spec's default is 1, but ezkl refuses a Conv without
# them, and the corpus is also what scripts/bench-vs-ezkl compares on.

# --------------------------------------------------------------------------
# writing

# --------------------------------------------------------------------------

def run_ort(path: Path, feeds: dict) -> list[np.ndarray]:
    """onnxruntime's outputs; a ZipMap's maps (one per row) as the [rows, classes] array of
    their values, in key order: the tensor snarkml returns for it."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [np.array([list(m.values()) for m in o], dtype=np.float32)
            if isinstance(o, list) else o for o in sess.run(None, feeds)]


# An output spec: a ZipMap's sequence of maps from int64 labels to float scores.
ZIPMAP = "zipmap"


def zipmap_info(name: str):
    return helper.make_value_info(name, helper.make_sequence_type_proto(
        helper.make_map_type_proto(onnx.TensorProto.INT64,
                                   helper.make_tensor_type_proto(onnx.TensorProto.FLOAT, []))))


def input_dtype(spec) -> type:
    """An input's numpy type: the optional fourth element of its (shape, low, high) spec."""
    return spec[3] if len(spec) > 3 else np.float32


def write(name: str, seed: int) -> dict:
    description, build = MODELS[name]
    rng = np.random.default_rng(seed)
    nodes, inputs, outputs, inits, opset = build(rng)
    graph = helper.make_graph(
        nodes, name,
        inputs=[helper.make_tensor_value_info(
                    n, helper.np_dtype_to_tensor_dtype(np.dtype(input_dtype(spec))), spec[0])
                for n, spec in inputs.items()],
        outputs=[zipmap_info(n) if shape is ZIPMAP else tensor_info(n, shape)
                 for n, shape in outputs.items()],
        initializer=inits,
    )
    opsets = [helper.make_opsetid("", opset)]
    if any(n.domain == "ai.onnx.ml" for n in nodes):
        opsets.append(helper.make_opsetid("ai.onnx.ml", 3))
    if any(n.domain == "com.microsoft" for n in nodes):
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    onnx_model = helper.make_model(graph, opset_imports=opsets,
                                   producer_name=PRODUCER, producer_version="1")
    onnx_model.ir_version = IR_FOR_OPSET[opset]
    path = CORPUS / f"{name}.onnx"
    if name in DEPRECATED_OPS or name in CONTRIB_OPS:
        # What older exporters wrote (the checker refuses a deprecated op version), and
        # onnxruntime's contrib ops (unknown to it): checked by onnxruntime running them
        # (below) instead.
        path.write_bytes(onnx_model.SerializeToString())
    else:
        onnx.checker.check_model(onnx_model, full_check=True)
        save_model(onnx_model, path)

    samples = []
    for k in range(CALIBRATION_SAMPLES.get(name, N_CALIBRATION)):
        sample = {}
        for n, spec in inputs.items():
            shape, lo, hi = spec[:3]
            if lo == "tabular":   # features of their own ranges: hi[j] bounds feature j
                half = np.array(hi)
                sample[n] = (np.round(rng.uniform(-1, 1, size=shape) * 4096) / 4096
                             * half).astype(np.float32)
            elif lo == "digits":   # real digit images from the test split, pixel values 0..16
                sample[n] = digits_data()[1][k].reshape(shape).astype(np.float32)
            elif input_dtype(spec) != np.float32:   # whole numbers in [lo, hi]
                sample[n] = rng.integers(lo, hi + 1, size=shape).astype(input_dtype(spec))
            else:
                sample[n] = dyadic(rng, shape, lo, hi).astype(np.float32)
        samples.append(sample)
    flat = lambda s: [f32_list(s[n]) for n in inputs]  # noqa: E731
    dump_json(CORPUS / f"{name}.input.json", {"input_data": flat(samples[0])})
    dump_rows_json(CORPUS / f"{name}.calibration.json",
                   {"inputs": [sum(flat(s), []) if len(inputs) == 1 else flat(s)
                               for s in samples]})
    outs = run_ort(path, samples[0])
    dump_json(CORPUS / f"{name}.expected.json", {"output_data": [f32_list(o) for o in outs]})
    for s in samples:
        for o in run_ort(path, s):
            assert np.all(np.isfinite(o)), name
    return {"name": name, "ops": sorted({n.op_type for n in nodes}), "opset": opset,
            "description": description}


@model("gbdt_hummingbird", "gradient-boosted trees (4 trees, depth 2, digit even or odd) in "
       "hummingbird's GEMM form, its constant tensors built by constant subgraphs as an export "
       "without constant folding writes them (Gather, ScatterND, Pow, ReduceSum of constants)")
def gbdt_hummingbird(rng):
    from sklearn.ensemble import GradientBoostingClassifier
    x_train, x_test, y_train, _ = digits_data()
    gbdt = GradientBoostingClassifier(n_estimators=4, max_depth=2, learning_rate=0.5,
                                      random_state=0)
    gbdt.fit(x_train, y_train % 2)
    # Every tree's nodes in one table (hummingbird keeps sklearn's per-tree arrays).
    node_feature, node_threshold, node_value = [], [], []
    internal, leaves = [], []   # internal: global node ids; leaves: (global id, path)
    for est in gbdt.estimators_[:, 0]:
        tree, base = est.tree_, len(node_feature)
        node_feature += list(tree.feature)
        node_threshold += list(tree.threshold)
        node_value += list(tree.value[:, 0, 0])

        def walk(i, path):
            if tree.children_left[i] == -1:
                leaves.append((base + i, path))
                return
            k = len(internal)
            internal.append(base + i)
            walk(tree.children_left[i], path + [(k, 1)])
            walk(tree.children_right[i], path + [(k, 0)])

        walk(0, [])
    n_in, n_leaf = len(internal), len(leaves)
    select = np.zeros((64, n_in), dtype=np.float32)
    for k, g in enumerate(internal):
        select[node_feature[g], k] = 1.0
    on_path = np.zeros((n_in, n_leaf), dtype=np.float32)
    right = np.zeros((n_in, n_leaf), dtype=np.float32)
    for j, (_, path) in enumerate(leaves):
        for k, left in path:
            on_path[k, j] = 1.0
            right[k, j] = 1.0 - left
    prior = gbdt.init_.class_prior_[1]
    raw_init = math.log(prior / (1.0 - prior))
    leaf_ids = [g for g, _ in leaves]
    # The tensor form's arithmetic, checked against the model itself.
    thresholds = np.array(node_threshold, dtype=np.float32)[internal]
    paths = on_path * (-1.0) ** right                       # +1 left, -1 right, 0 off the path
    lefts = (on_path * (1.0 - right)).sum(axis=0)
    leaf_values = (0.5 * np.array(node_value, dtype=np.float32)[leaf_ids]).reshape(n_leaf, 1)
    sample = x_test[:50].astype(np.float32)
    reached = ((sample @ select <= thresholds).astype(np.float32) @ paths == lefts)
    score = reached.astype(np.float32) @ leaf_values + raw_init
    assert np.allclose(1 / (1 + np.exp(-score[:, 0])), gbdt.predict_proba(sample)[:, 1],
                       atol=1e-5)
    return (
        [
            # Constant subgraphs: every operand a constant.
            node("Gather", ["node_threshold", "internal_ids"], ["thresholds"], axis=0),
            node("Pow", ["minus_one", "right"], ["signs"]),
            node("Mul", ["on_path", "signs"], ["paths"]),
            node("Sub", ["one", "right"], ["left_flags"]),
            node("Mul", ["on_path", "left_flags"], ["left_steps"]),
            node("ReduceSum", ["left_steps", "axis0"], ["lefts"], keepdims=0),
            node("Gather", ["node_value", "leaf_ids"], ["leaf_raw"], axis=0),
            node("ScatterND", ["leaf_zeros", "leaf_index", "leaf_raw"], ["leaf_scattered"]),
            node("Mul", ["leaf_scattered", "learning_rate"], ["leaf_values"]),
            # The model: feature selection, x <= threshold, path matching, leaf values.
            node("MatMul", ["input", "select"], ["features"]),
            node("LessOrEqual", ["features", "thresholds"], ["left"]),
            node("Cast", ["left"], ["left_f"], to=onnx.TensorProto.FLOAT),
            node("MatMul", ["left_f", "paths"], ["matched"]),
            node("Equal", ["matched", "lefts"], ["reached"]),
            node("Cast", ["reached"], ["reached_f"], to=onnx.TensorProto.FLOAT),
            node("MatMul", ["reached_f", "leaf_values"], ["tree_sum"]),
            node("Add", ["tree_sum", "raw_init"], ["score"]),
            node("Sigmoid", ["score"], ["output"]),
        ],
        {"input": ([1, 64], "digits", None)},
        {"output": [1, 1]},
        [init_f32("node_threshold", node_threshold), init_i64("internal_ids", internal),
         init_f32("minus_one", [-1.0]), init_f32("right", right), init_f32("on_path", on_path),
         init_f32("one", [1.0]), init_i64("axis0", [0]),
         init_f32("node_value", np.array(node_value).reshape(-1, 1)),
         init_i64("leaf_ids", leaf_ids), init_f32("leaf_zeros", np.zeros((n_leaf, 1))),
         init_i64("leaf_index", [[j] for j in range(n_leaf)]),
         init_f32("learning_rate", [0.5]), init_f32("select", select),
         init_f32("raw_init", [raw_init])],
        18,
    )


@model("trig_hyperbolic", "Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Atanh and Acosh (of |x| + 1), "
       "one lookup table each")
def trig_hyperbolic(rng):
    ops = ["Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Atanh"]
    return (
        [node(op, ["input"], [op.lower()]) for op in ops]
        + [node("Abs", ["input"], ["magnitude"]),
           node("Add", ["magnitude", "one"], ["above_one"]),
           node("Acosh", ["above_one"], ["acosh"]),
           node("Concat", [op.lower() for op in ops] + ["acosh"], ["output"], axis=1)],
        {"input": ([1, 16], -0.875, 0.875)},
        {"output": [1, 16 * (len(ops) + 1)]},
        [init_f32("one", [1.0])],
        18,
    )


@model("constant_output", "outputs that are constants (a float Range, zeros) beside a computed one, "
       "whose weights come from a multi-axis Slice of a constant table, folded at import")
def constant_output(rng):
    return (
        [
            node("Slice", ["table", "starts", "ends", "axes"], ["block"]),
            node("Reshape", ["block", "column"], ["weight"]),
            node("MatMul", ["input", "weight"], ["output"]),
            node("Range", ["start", "limit", "delta"], ["steps"]),
            node("ConstantOfShape", ["three"], ["zeros"]),
        ],
        {"input": ([1, 8], -1.0, 1.0)},
        {"output": [1, 1], "steps": [5], "zeros": [3]},
        [weights(rng, "table", (4, 6)), init_i64("starts", [1, 2]), init_i64("ends", [3, 6]),
         init_i64("axes", [0, 1]), init_i64("column", [8, 1]), init_i64("three", [3]),
         init_f32("start", 0.0),
         init_f32("limit", 2.5), init_f32("delta", 0.5)],
        18,
    )


@model("text_embedding", "a tokenised text classifier: int64 token ids into an embedding "
       "(Gather by computed indices), a boolean padding mask, masked sum, a linear classifier, "
       "and a comparison on the ids (how many are above 5)")
def text_embedding(rng):
    return (
        [
            node("Gather", ["embedding", "ids"], ["embedded"], axis=0),
            node("Cast", ["mask"], ["mask_f"], to=onnx.TensorProto.FLOAT),
            node("Unsqueeze", ["mask_f", "axis2"], ["mask3"]),
            node("Mul", ["embedded", "mask3"], ["masked"]),
            node("ReduceSum", ["masked", "axis1"], ["pooled"], keepdims=0),
            node("Gemm", ["pooled", "fc.w", "fc.b"], ["logits"], transB=1),
            node("Greater", ["ids", "five"], ["above"]),
            node("Cast", ["above"], ["above_f"], to=onnx.TensorProto.FLOAT),
            node("ReduceSum", ["above_f", "axis1"], ["count"], keepdims=1),
            node("Concat", ["logits", "count"], ["output"], axis=1),
        ],
        {"ids": ([1, 8], 0, 11, np.int64), "mask": ([1, 8], 0, 1, np.bool_)},
        {"output": [1, 4]},
        [weights(rng, "embedding", (12, 6)), init_i64("axis1", [1]), init_i64("axis2", [2]),
         weights(rng, "fc.w", (3, 6)), weights(rng, "fc.b", (3,)), init_i64("five", 5)],
        18,
    )


@model("gather_computed", "values picked by computed (int64, negative too) indices: "
       "GatherElements of a computed tensor and of a constant one, Gather of a computed tensor "
       "along axis 1, and the value at an ArgMax (GatherElements by a computed index)")
def gather_computed(rng):
    return (
        [
            node("GatherElements", ["x", "ids"], ["picked"], axis=1),
            node("GatherElements", ["table", "ids"], ["table_picked"], axis=1),
            node("Gather", ["x", "cols"], ["columns"], axis=1),
            node("Reshape", ["columns", "shape23"], ["columns2"]),
            node("ArgMax", ["x"], ["best_at"], axis=1, keepdims=1),
            node("GatherElements", ["x", "best_at"], ["best"], axis=1),
            node("Concat", ["picked", "table_picked", "columns2", "best"], ["output"], axis=1),
        ],
        {"x": ([2, 5], -1.0, 1.0), "ids": ([2, 3], -5, 4, np.int64),
         "cols": ([3], -5, 4, np.int64)},
        {"output": [2, 10]},
        [weights(rng, "table", (2, 5)), init_i64("shape23", [2, 3])],
        18,
    )


@model("scatter_gather_nd", "writes and reads at computed places: ScatterElements of computed "
       "updates at the top-3 positions (TopK indices, distinct as ONNX requires), ScatterND of "
       "computed rows into constant zeros at those positions, GatherND by computed int64 "
       "index pairs (non-negative: tract, the float cross-check, panics on negative ones)")
def scatter_gather_nd(rng):
    return (
        [
            node("TopK", ["x", "k3"], ["top", "top_i"], axis=1),                   # [1,3]
            node("Mul", ["top", "half"], ["updates"]),
            node("ScatterElements", ["x", "top_i", "updates"], ["halved"], axis=1),  # [1,6]
            node("Reshape", ["top_i", "shape31"], ["rows_i"]),                    # [3,1]
            node("Reshape", ["m", "shape32"], ["rows"]),                         # [3,2]
            node("ScatterND", ["zeros62", "rows_i", "rows"], ["placed"]),         # [6,2]
            node("Reshape", ["placed", "shape112"], ["placed_flat"]),            # [1,12]
            node("GatherND", ["grid", "pairs"], ["picked"]),                      # [4]
            node("Reshape", ["picked", "shape14"], ["picked_row"]),              # [1,4]
            node("Concat", ["halved", "placed_flat", "picked_row"], ["output"], axis=1),
        ],
        {"x": ([1, 6], -1.0, 1.0), "m": ([1, 6], -1.0, 1.0), "grid": ([3, 3], -1.0, 1.0),
         "pairs": ([4, 2], 0, 2, np.int64)},
        {"output": [1, 22]},
        [init_i64("k3", [3]), init_f32("half", 0.5), init_f32("zeros62", [[0.0] * 2] * 6),
         init_i64("shape31", [3, 1]), init_i64("shape32", [3, 2]), init_i64("shape112", [1, 12]),
         init_i64("shape14", [1, 4])],
        18,
    )


@model("cumsum_positions", "running sums: position ids from a boolean padding mask "
       "(CumSum of the cast mask along the sequence, minus one, times the mask, as "
       "transformer exporters write them), and inclusive, exclusive and reverse CumSum of a "
       "computed tensor along its last axis, into a linear layer")
def cumsum_positions(rng):
    return (
        [
            node("Cast", ["mask"], ["mask_f"], to=onnx.TensorProto.FLOAT),
            node("CumSum", ["mask_f", "axis1"], ["running"]),
            node("Sub", ["running", "one"], ["from_zero"]),
            node("Mul", ["from_zero", "mask_f"], ["positions"]),                 # [1,6]
            node("CumSum", ["x", "axis_last"], ["inclusive"]),                   # [1,2,3]
            node("CumSum", ["x", "axis_last"], ["exclusive"], exclusive=1),
            node("CumSum", ["x", "axis_last"], ["reverse"], reverse=1, exclusive=1),
            node("Concat", ["inclusive", "exclusive", "reverse"], ["sums"], axis=2),  # [1,2,9]
            node("Reshape", ["sums", "shape118"], ["flat"]),                     # [1,18]
            node("MatMul", ["flat", "w"], ["mixed"]),                            # [1,4]
            node("Concat", ["positions", "mixed"], ["output"], axis=1),
        ],
        {"x": ([1, 2, 3], -1.0, 1.0), "mask": ([1, 6], 0, 1, np.bool_)},
        {"output": [1, 10]},
        [init_i64("axis1", 1), init_i64("axis_last", -1), init_f32("one", 1.0),
         init_i64("shape118", [1, 18]), weights(rng, "w", (18, 4))],
        18,
    )


@model("lrn_alexnet", "local response normalization as AlexNet uses it: a convolution, "
       "ReLU, LRN across 5 channels (alpha raised to 0.5 so that it matters on small "
       "activations, bias 2), max pooling, LRN across 3 channels with ONNX's defaults, a "
       "classifier")
def lrn_alexnet(rng):
    return (
        [
            node("Conv", ["x", "k", "kb"], ["conv"], pads=[1, 1, 1, 1]),          # [1,8,6,6]
            node("Relu", ["conv"], ["act"]),
            node("LRN", ["act"], ["norm"], size=5, alpha=0.5, beta=0.75, bias=2.0),
            node("MaxPool", ["norm"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
            node("LRN", ["pool"], ["norm2"], size=3),                             # [1,8,3,3]
            node("Flatten", ["norm2"], ["flat"]),
            node("Gemm", ["flat", "w", "b"], ["output"]),
        ],
        {"x": ([1, 3, 6, 6], -1.0, 1.0)},
        {"output": [1, 4]},
        [weights(rng, "k", (8, 3, 3, 3)), weights(rng, "kb", (8,)),
         weights(rng, "w", (72, 4)), weights(rng, "b", (4,))],
        18,
    )


@model("inverted_residual", "MobileNetV2's inverted residual blocks: 1x1 expand Conv and Clip(0, 6), "
       "3x3 depthwise Conv and Clip, 1x1 project Conv, the residual Add, a stride-2 block, "
       "then GlobalAveragePool into a Gemm (the chains a split cuts by channels)")
def inverted_residual(rng):
    c, e = 4, 12  # channels, expanded channels (expansion 3)
    nodes, inits = [], [init_f32("zero", np.array(0.0, dtype=np.float32)),
                        init_f32("six", np.array(6.0, dtype=np.float32))]
    x = "input"
    for b, stride in enumerate([1, 2]):
        def conv(name, src, w_shape, group=1, pad=0, s=1):
            inits.extend([weights(rng, f"w_{name}", w_shape), weights(rng, f"b_{name}", (w_shape[0],), 0.25)])
            nodes.append(node("Conv", [src, f"w_{name}", f"b_{name}"], [name], strides=[s, s],
                              pads=[pad] * 4, group=group))
            return name
        def relu6(src):
            nodes.append(node("Clip", [src, "zero", "six"], [f"{src}_r6"]))
            return f"{src}_r6"
        h = relu6(conv(f"expand{b}", x, (e, c, 1, 1)))
        h = relu6(conv(f"dw{b}", h, (e, 1, 3, 3), group=e, pad=1, s=stride))
        h = conv(f"project{b}", h, (c, e, 1, 1))
        if stride == 1:
            nodes.append(node("Add", [x, h], [f"res{b}"]))
            h = f"res{b}"
        x = h
    nodes.append(node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(node("Flatten", ["gap"], ["flat"]))
    nodes.append(node("Gemm", ["flat", "w_fc", "b_fc"], ["output"], transB=1))
    inits.extend([weights(rng, "w_fc", (3, c)), weights(rng, "b_fc", (3,), 0.25)])
    return nodes, {"input": ([1, c, 8, 8], 0.0, 1.0)}, {"output": [1, 3]}, inits, 18


@model("integer_ops", "integer arithmetic of computed tensors: token ids into buckets (Mod by a "
       "positive and by a negative divisor, the result taking the divisor's sign), a hashed "
       "feature (Mod of a sum of ids), and bytes split into their high bits and low nibble "
       "(BitShift right, BitwiseAnd with a mask of low bits)")
def integer_ops(rng):
    parts = ["bucket", "neg_bucket", "hashed", "high", "low"]
    return (
        [
            node("Mod", ["ids", "seven"], ["bucket"]),
            node("Mod", ["ids", "minus_five"], ["neg_bucket"]),
            node("Add", ["ids", "ids"], ["twice"]),
            node("Mod", ["twice", "thirteen"], ["hashed"]),
            node("BitShift", ["bytes", "two"], ["high"], direction="RIGHT"),
            node("BitwiseAnd", ["bytes", "fifteen"], ["low"]),
            *[node("Cast", [p], [f"{p}_f"], to=onnx.TensorProto.FLOAT) for p in parts],
            node("Concat", [f"{p}_f" for p in parts], ["output"], axis=1),
        ],
        {"ids": ([1, 8], -20, 40, np.int64), "bytes": ([1, 8], 0, 255, np.uint8)},
        {"output": [1, 40]},
        [init_i64("seven", 7), init_i64("minus_five", -5), init_i64("thirteen", 13),
         numpy_helper.from_array(np.array(2, dtype=np.uint8), "two"),
         numpy_helper.from_array(np.array(15, dtype=np.uint8), "fifteen")],
        18,
    )


@model("integer_div", "integer division of computed ids by constants, which truncates toward "
       "zero (not floor): by a positive and by a negative divisor, of negative ids too")
def integer_div(rng):
    parts = ["thirds", "neg_quarters"]
    return (
        [
            node("Div", ["ids", "three"], ["thirds"]),
            node("Div", ["ids", "minus_four"], ["neg_quarters"]),
            *[node("Cast", [p], [f"{p}_f"], to=onnx.TensorProto.FLOAT) for p in parts],
            node("Concat", [f"{p}_f" for p in parts], ["output"], axis=1),
        ],
        {"ids": ([1, 8], -20, 40, np.int64)},
        {"output": [1, 16]},
        [init_i64("three", 3), init_i64("minus_four", -4)],
        18,
    )


def tree_ensemble(rng, name: str, output, features: int, trees: int, targets: int,
                  mode: str, aggregate: str, base=None, x: str = "x", classifier=False):
    """A TreeEnsembleRegressor (ai.onnx.ml) of `trees` full trees of depth 3, as scikit-learn
    (BRANCH_LEQ, AVERAGE) and XGBoost (BRANCH_LT, SUM, base values) export theirs; thresholds
    on the inputs' 1/64 grid, so a tie tests the mode."""
    attrs = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids",
                             "nodes_values", "nodes_modes", "nodes_truenodeids",
                             "nodes_falsenodeids", "target_treeids", "target_nodeids",
                             "target_ids", "target_weights"]}
    for t in range(trees):
        for i in range(15):
            leaf = i >= 7
            attrs["nodes_treeids"].append(t)
            attrs["nodes_nodeids"].append(i)
            attrs["nodes_featureids"].append(0 if leaf else int(rng.integers(features)))
            attrs["nodes_values"].append(0.0 if leaf else float(rng.integers(-48, 49)) / 64)
            attrs["nodes_modes"].append("LEAF" if leaf else mode)
            attrs["nodes_truenodeids"].append(0 if leaf else 2 * i + 1)
            attrs["nodes_falsenodeids"].append(0 if leaf else 2 * i + 2)
            if leaf:
                for k in range(targets):
                    attrs["target_treeids"].append(t)
                    attrs["target_nodeids"].append(i)
                    attrs["target_ids"].append(k)
                    attrs["target_weights"].append(float(np.round(rng.normal(), 3)))
    extra = {"base_values": base} if base is not None else {}
    if classifier:   # class_* instead of target_*, labels 0..C-1, scores through `aggregate`
        attrs = {k.replace("target_", "class_"): v for k, v in attrs.items()}
        return helper.make_node("TreeEnsembleClassifier", [x], output, name=name,
                                domain="ai.onnx.ml", classlabels_int64s=list(range(targets)),
                                post_transform=aggregate, **attrs, **extra)
    return helper.make_node("TreeEnsembleRegressor", [x], [output], name=name,
                            domain="ai.onnx.ml", n_targets=targets, aggregate_function=aggregate,
                            **attrs, **extra)


@model("tree_ensembles", "decision-tree ensembles (ai.onnx.ml TreeEnsembleRegressor) as "
       "scikit-learn exports a random forest (x <= threshold, the trees' average) and XGBoost "
       "a gradient-boosted ensemble (x < threshold, the sum plus base values)")
def tree_ensembles(rng):
    return (
        [
            tree_ensemble(rng, "forest", "forest_y", 6, 4, 2, "BRANCH_LEQ", "AVERAGE"),
            tree_ensemble(rng, "boosted", "boosted_y", 6, 3, 1, "BRANCH_LT", "SUM", [0.5]),
            node("Concat", ["forest_y", "boosted_y"], ["output"], axis=1),
        ],
        {"x": ([2, 6], -1.0, 1.0)},
        {"output": [2, 3]},
        [],
        18,
    )


def binary_scored(tree, scored: int = 1, positive: bool = False):
    """`tree` with every leaf weight on class `scored` (scikit-learn's binary exports score
    class 1), made non-negative if `positive` (a forest's probabilities)."""
    ids = next(a for a in tree.attribute if a.name == "class_ids")
    ids.ints[:] = [scored] * len(ids.ints)
    if positive:
        weights = next(a for a in tree.attribute if a.name == "class_weights")
        weights.floats[:] = [abs(w) for w in weights.floats]
    return tree


@model("tree_classifier", "a multiclass tree ensemble (ai.onnx.ml TreeEnsembleClassifier, as "
       "scikit-learn exports gradient boosting without ZipMap): the label of the highest score "
       "and the softmax of the scores")
def tree_classifier(rng):
    return (
        [
            tree_ensemble(rng, "classifier", ["label", "scores"], 5, 3, 3, "BRANCH_LEQ",
                          "SOFTMAX", base=[0.1, -0.2, 0.3], classifier=True),
            node("Cast", ["label"], ["label_f"], to=onnx.TensorProto.FLOAT),
            node("Reshape", ["label_f", "column"], ["label_column"]),
            node("Concat", ["label_column", "scores"], ["output"], axis=1),
        ],
        {"x": ([2, 5], -1.0, 1.0)},
        {"output": [2, 4]},
        [init_i64("column", [2, 1])],
        18,
    )


@model("tree_classifier_binary", "binary tree classifiers that score one class only, as "
       "scikit-learn exports forests (probabilities, label p > 0.5) and gradient boosting (a "
       "logit plus a base value through LOGISTIC, label logit > 0), class 0 or class 1 scored")
def tree_classifier_binary(rng):
    # (name, scored class, non-negative weights, post_transform, base values)
    kinds = [("forest", 1, True, "NONE", None), ("boosted", 1, False, "LOGISTIC", None),
             ("forest0", 0, True, "NONE", None), ("boosted0", 0, False, "LOGISTIC", [0.25]),
             ("margin0", 0, False, "NONE", [-0.125])]
    nodes = []
    for m, scored, positive, post, base in kinds:
        nodes.append(binary_scored(tree_ensemble(rng, m, [f"{m}_label", f"{m}_p"], 5, 3, 2,
                                                 "BRANCH_LEQ", post, base=base,
                                                 classifier=True),
                                   scored=scored, positive=positive))
        nodes += [node("Cast", [f"{m}_label"], [f"{m}_label_f"], to=onnx.TensorProto.FLOAT),
                  node("Reshape", [f"{m}_label_f", "column"], [f"{m}_label_column"])]
    nodes.append(node("Concat", [t for m, *_ in kinds for t in [f"{m}_label_column", f"{m}_p"]],
                      ["output"], axis=1))
    return (nodes, {"x": ([2, 5], -1.0, 1.0)}, {"output": [2, 3 * len(kinds)]},
            [init_i64("column", [2, 1])], 18)


def ml(op: str, inputs: list[str], outputs: list[str], **attrs):
    return helper.make_node(op, inputs, outputs, name=outputs[-1], domain="ai.onnx.ml", **attrs)


def coefficients(rng, rows: int, features: int) -> list[float]:
    return [float(v) for v in dyadic(rng, [rows * features], -1.0, 1.0)]


@model("sklearn_linear", "scikit-learn linear models as skl2onnx exports them (ai.onnx.ml): "
       "Scaler, a softmax LinearClassifier, Normalizer (L1) and ZipMap (the probabilities as "
       "maps, here their values); a one-row binary classifier (labels 3 and 7, LOGISTIC); a "
       "multiclass one with labels 2, 5 and 11; LinearSVC's binary scores and SGDClassifier's "
       "label picked by ArrayFeatureExtractor; an L2 Normalizer into a LinearRegressor of two "
       "targets")
def sklearn_linear(rng):
    f = 4
    labels = lambda m: [node("Cast", [f"{m}_label"], [f"{m}_label_f"],  # noqa: E731
                             to=onnx.TensorProto.FLOAT),
                        node("Reshape", [f"{m}_label_f", "column"], [f"{m}_label_column"])]
    nodes = [
        ml("Scaler", ["x"], ["scaled"], offset=[float(v) for v in dyadic(rng, [f], -0.5, 0.5)],
           scale=[float(v) for v in dyadic(rng, [f], 0.5, 2.0)]),
        ml("LinearClassifier", ["scaled"], ["multi_label", "multi_p"],
           coefficients=coefficients(rng, 3, f), intercepts=[0.25, -0.5, 0.125],
           classlabels_ints=[0, 1, 2], multi_class=1, post_transform="SOFTMAX"),
        ml("Normalizer", ["multi_p"], ["probabilities_l1"], norm="L1"),
        ml("ZipMap", ["probabilities_l1"], ["probabilities"], classlabels_int64s=[0, 1, 2]),
        ml("LinearClassifier", ["x"], ["binary_label", "binary_p"],
           coefficients=coefficients(rng, 1, f), intercepts=[0.125], classlabels_ints=[3, 7],
           post_transform="LOGISTIC"),
        ml("LinearClassifier", ["x"], ["uneven_label", "uneven_s"],
           coefficients=coefficients(rng, 3, f), intercepts=[0.0, 0.25, -0.25],
           classlabels_ints=[2, 5, 11]),
        # LinearSVC's binary export: two rows, the positive class's score picked by index;
        # SGDClassifier's label: its classes picked at the ArgMax.
        ml("LinearClassifier", ["x"], ["svc_label", "svc_s"],
           coefficients=coefficients(rng, 2, f), intercepts=[-0.125, 0.125],
           classlabels_ints=[0, 1]),
        ml("ArrayFeatureExtractor", ["svc_s", "positive_index"], ["svc_positive"]),
        node("ArgMax", ["uneven_s"], ["uneven_index"], axis=1, keepdims=1),
        ml("ArrayFeatureExtractor", ["classes", "uneven_index"], ["sgd_label"]),
        node("Reshape", ["sgd_label", "column"], ["sgd_label_column"]),
        node("Cast", ["sgd_label_column"], ["sgd_label_f"], to=onnx.TensorProto.FLOAT),
        ml("Normalizer", ["x"], ["x_l2"], norm="L2"),
        ml("LinearRegressor", ["x_l2"], ["regression"], coefficients=coefficients(rng, 2, f),
           intercepts=[0.5, -0.25], targets=2),
    ]
    for m in ["multi", "binary", "uneven"]:
        nodes += labels(m)
    nodes.append(node("Concat", [t for m in ["multi", "binary", "uneven"]
                                 for t in [f"{m}_label_column", f"{m}_p" if m != "uneven"
                                           else f"{m}_s"]]
                      + ["svc_positive", "sgd_label_f", "regression"],
                      ["output"], axis=1))
    return (nodes, {"x": ([2, f], -1.0, 1.0)},
            {"output": [2, 15], "probabilities": ZIPMAP},
            [init_i64("column", [2, 1]), init_i64("positive_index", 1),
             init_i64("classes", [4, 8, 15])], 18)


@model("svm_regressors", "support-vector regressors (ai.onnx.ml SVMRegressor) as scikit-learn "
       "exports SVR: the LINEAR, POLY (degree 3), RBF and SIGMOID kernels, and a one-class "
       "RBF model (OneClassSVM's +1/-1)")
def svm_regressors(rng):
    f, supports = 4, 6
    kinds = [("linear", "LINEAR", 0), ("poly", "POLY", 0), ("rbf", "RBF", 0),
             ("sigmoid", "SIGMOID", 0), ("one_class", "RBF", 1)]
    nodes = [ml("SVMRegressor", ["x"], [f"{m}_y"], kernel_type=kernel,
                kernel_params=[0.5, 0.25, 3.0], n_supports=supports,
                support_vectors=coefficients(rng, supports, f),
                coefficients=coefficients(rng, 1, supports), rho=[0.125], one_class=one)
             for m, kernel, one in kinds]
    nodes.append(node("Concat", [f"{m}_y" for m, *_ in kinds], ["output"], axis=1))
    return (nodes, {"x": ([2, f], -1.0, 1.0)}, {"output": [2, len(kinds)]}, [], 18)


@model("svm_classifiers", "support-vector classifiers (ai.onnx.ml SVMClassifier) as "
       "scikit-learn exports SVC: three classes one-against-one (RBF kernel: the label by "
       "votes, the pairwise decisions), and two classes labelled 4 and 9 (POLY kernel: the "
       "label, the scores [-d, d])")
def svm_classifiers(rng):
    f = 4
    def svc(m, kernel, per_class, labels):
        supports, classes = sum(per_class), len(per_class)
        return ml("SVMClassifier", ["x"], [f"{m}_label", f"{m}_scores"], kernel_type=kernel,
                  kernel_params=[0.5, 0.25, 2.0], vectors_per_class=per_class,
                  support_vectors=coefficients(rng, supports, f),
                  coefficients=coefficients(rng, classes - 1, supports),
                  rho=[float(v) for v in dyadic(rng, [classes * (classes - 1) // 2], -0.5,
                                                0.5)],
                  classlabels_ints=labels)
    nodes = [svc("three", "RBF", [2, 3, 2], [0, 1, 2]), svc("two", "POLY", [3, 2], [4, 9])]
    for m in ["three", "two"]:
        nodes += [node("Cast", [f"{m}_label"], [f"{m}_label_f"], to=onnx.TensorProto.FLOAT),
                  node("Reshape", [f"{m}_label_f", "column"], [f"{m}_label_column"])]
    nodes.append(node("Concat", ["three_label_column", "three_scores", "two_label_column",
                                 "two_scores"], ["output"], axis=1))
    return (nodes, {"x": ([2, f], -1.0, 1.0)}, {"output": [2, 7]},
            [init_i64("column", [2, 1])], 18)


# ONNX the compiler must refuse, each with a one-line error naming the node:
# tests/fixtures/refused/NAME.onnx (checked by circuits/tests/compile_refusals.rs).
REFUSED = {
    # A crop-and-resize whose region of interest is a model input's business: refused by name.
    "resize_crop": ([node("Resize", ["input", "roi", "scales"], ["output"], mode="linear",
                          coordinate_transformation_mode="tf_crop_and_resize")],
                    [init_f32("roi", [0.0, 0.0, 1.0, 0.5]), init_f32("scales", [1.0, 0.5])]),
    # The log-softmax of masked scores is -inf where masked: no fixed-point value.
    "masked_log_softmax": ([node("MatMul", ["input", "w"], ["scores"]),
                            node("Add", ["scores", "mask"], ["masked"]),
                            node("LogSoftmax", ["masked"], ["output"], axis=-1)],
                           [init_f32("w", [[0.25] * 3] * 8),
                            init_f32("mask", [[0.0, -np.inf, 0.0], [0.0, 0.0, -np.inf]])]),
    # K past the axis length (ONNX leaves it undefined; onnxruntime fails at run time).
    "topk_k_too_large": ([node("TopK", ["input", "k"], ["output", "index"], axis=-1)],
                         [init_i64("k", [9])]),
    # K computed from the input: the circuit's shape would depend on a witness. (The only
    # computed values the compiler takes are floats, so K is a float here, which ONNX's type
    # rules would refuse as well; the importer must name the computed K first.)
    "topk_computed_k": ([node("ReduceMax", ["input"], ["k"], keepdims=0),
                         node("Reshape", ["k", "one"], ["k1"]),
                         node("TopK", ["input", "k1"], ["output", "index"], axis=-1)],
                        [init_i64("one", [1])]),
    # float to uint8: negative values have no defined result.
    "cast_unsigned": ([node("Cast", ["input"], ["output"], to=onnx.TensorProto.UINT8)], []),
    # An op tract does not know, on constant operands: import evaluates constant subgraphs
    # with tract, which must refuse it by name, not panic or guess.
    "constant_unknown_op": ([node("Frobnicate", ["table"], ["weight"]),
                             node("MatMul", ["input", "weight"], ["output"])],
                            [init_f32("table", [[0.5] * 3] * 8)]),
    # Constant operands tract refuses to evaluate: an index past the data.
    "constant_scatter_out_of_range": ([node("ScatterND", ["table", "index", "update"], ["weight"]),
                                       node("MatMul", ["input", "weight"], ["output"])],
                                      [init_f32("table", [[0.5] * 3] * 8),
                                       init_i64("index", [[9]]),
                                       init_f32("update", [[1.0] * 3])]),
    # Integer ops the circuit does not express: C's fmod (the dividend's sign), a divisor
    # computed from the input, a left shift (it wraps at the element type's width), a mask
    # that is not of low bits.
    "mod_fmod_computed": ([node("Mod", ["input", "three"], ["output"], fmod=1)],
                          [init_f32("three", 3.0)]),
    "mod_computed_divisor": ([node("Abs", ["input"], ["d"]),
                              node("Mod", ["input", "d"], ["output"], fmod=1)], []),
    "bitshift_left_computed": ([node("BitShift", ["input", "two"], ["output"],
                                     direction="LEFT")],
                               [init_f32("two", 2.0)]),
    "bitwise_and_mask": ([node("BitwiseAnd", ["input", "six"], ["output"])],
                         [init_f32("six", 6.0)]),
    # Integer division by a computed divisor (it truncates; the divisor is a witness).
    "div_integer_computed": ([node("Cast", ["input"], ["ints"], to=onnx.TensorProto.INT64),
                              node("Add", ["ints", "one"], ["d"]),
                              node("Div", ["ints", "d"], ["quotient"]),
                              node("Cast", ["quotient"], ["output"], to=onnx.TensorProto.FLOAT)],
                             [init_i64("one", 1)]),
    "div_integer_by_computed": ([node("Cast", ["input"], ["ints"], to=onnx.TensorProto.INT64),
                                 node("Div", ["hundred", "ints"], ["quotient"]),
                                 node("Cast", ["quotient"], ["output"],
                                      to=onnx.TensorProto.FLOAT)],
                                [init_i64("hundred", 100)]),
    # A tree ensemble whose branches compare differently (x < t here, x <= t elsewhere).
    # A binary tree classifier that scores class 1 with base values (onnxruntime ignores
    # them there).
    "tree_classifier_binary_base": ([binary_scored(tree_ensemble(
        np.random.default_rng(0), "binary", ["label", "output"], 8, 2, 2, "BRANCH_LEQ",
        "NONE", base=[0.5], x="input", classifier=True))], []),
    # scikit-learn models of string classes, a Normalizer dividing by the row's maximum
    # (either sign), and a probit link.
    "linear_classifier_strings": ([ml("LinearClassifier", ["input"], ["label", "output"],
                                      coefficients=[0.5] * 24, classlabels_strings=["a", "b", "c"],
                                      post_transform="SOFTMAX")], []),
    "normalizer_max": ([ml("Normalizer", ["input"], ["output"], norm="MAX")], []),
    "linear_regressor_probit": ([ml("LinearRegressor", ["input"], ["output"],
                                    coefficients=[0.5] * 24, targets=3, post_transform="PROBIT")],
                                []),
    # An SVM of a kernel onnxruntime does not define.
    "svm_unknown_kernel": ([ml("SVMRegressor", ["input"], ["output"], kernel_type="LAPLACE",
                               n_supports=1, support_vectors=[0.5] * 8, coefficients=[1.0],
                               rho=[0.0])], []),
    # An SVC exported with probability=True (Platt scaling, pairwise coupling).
    "svm_classifier_probabilities": ([ml("SVMClassifier", ["input"], ["label", "output"],
                                         kernel_type="RBF", kernel_params=[0.5, 0.0, 3.0],
                                         vectors_per_class=[1, 1], support_vectors=[0.5] * 16,
                                         coefficients=[1.0, -1.0], rho=[0.0],
                                         classlabels_ints=[0, 1], prob_a=[-1.0],
                                         prob_b=[0.0])], []),
    # 3 groups of 8 channels.
    "group_norm_bad_groups": ([node("GroupNormalization", ["input", "s", "b"], ["output"],
                                    num_groups=3)],
                              [init_f32("s", [1.0] * 8), init_f32("b", [0.0] * 8)]),
    "label_encoder_strings": ([ml("LabelEncoder", ["input"], ["output"],
                                  keys_strings=["a", "b"], values_int64s=[1, 2])], []),
    "pow_negative_base": ([node("Pow", ["base", "input"], ["output"])],
                          [init_f32("base", [-2.0])]),
    # A while loop: its condition, the state's sum still positive, is computed from the data.
    "loop_computed_condition": (
        [node("Loop", ["", "go", "input"], ["output"], body=helper.make_graph(
            [node("ReduceSum", ["h"], ["total"], keepdims=0),
             node("Greater", ["total", "zero"], ["more"]),
             node("Sub", ["h", "one"], ["h_out"])],
            "while", inputs=[helper.make_tensor_value_info("i", onnx.TensorProto.INT64, []),
                             helper.make_tensor_value_info("c", onnx.TensorProto.BOOL, []),
                             tensor_info("h", [2, 8])],
            outputs=[helper.make_tensor_value_info("more", onnx.TensorProto.BOOL, []),
                     tensor_info("h_out", [2, 8])]))],
        [numpy_helper.from_array(np.array(True), "go"), init_f32("zero", 0.0),
         init_f32("one", 1.0)]),
    # A quantization scale computed from the data (DynamicQuantizeLinear's form, spelled out).
    "quantize_computed_scale": ([node("ReduceMax", ["input"], ["top"], keepdims=0),
                                 node("QuantizeLinear", ["input", "top"], ["output"])], []),
    # A QLinear op whose input scale is computed from the data.
    "qlinear_computed_scale": ([node("ReduceMax", ["input"], ["top"], keepdims=0),
                                node("QuantizeLinear", ["input", "s", "z"], ["q"]),
                                node("QLinearMatMul", ["q", "top", "z", "w", "s", "wz", "s", "z"],
                                     ["output"])],
                               [init_f32("s", 0.01), numpy_helper.from_array(np.uint8(128), "z"),
                                numpy_helper.from_array(np.ones((8, 3), np.int8), "w"),
                                numpy_helper.from_array(np.int8(0), "wz")]),
    # onnxruntime's QLinearGlobalAveragePool of a channels-last (NHWC) tensor.
    "qlinear_channels_last": ([node("QuantizeLinear", ["input", "s", "z"], ["q"]),
                               helper.make_node("QLinearGlobalAveragePool",
                                                ["q", "s", "z", "s", "z"], ["output"],
                                                name="output", domain="com.microsoft",
                                                channels_last=1)],
                              [init_f32("s", 0.01), numpy_helper.from_array(np.uint8(128), "z")]),
    # An integer product whose computed operand has a zero point per row.
    "matmul_integer_row_zero_points": ([node("DynamicQuantizeLinear", ["input"], ["q", "s", "z"]),
                                        node("MatMulInteger", ["q", "w", "rz"], ["p"]),
                                        node("Cast", ["p"], ["output"], to=onnx.TensorProto.FLOAT)],
                                       [numpy_helper.from_array(np.ones((8, 3), np.int8), "w"),
                                        numpy_helper.from_array(np.array([120, 130], np.uint8), "rz")]),
    # onnxruntime's quantized LSTM with a zero point that fits neither the tensor nor its
    # 4·hidden gate rows.
    "dynamic_lstm_zero_points": ([helper.make_node(
        "DynamicQuantizeLSTM", ["input", "w", "r", "", "", "", "", "", "ws", "wz", "rs", "rz"],
        ["output"], name="output", domain="com.microsoft", hidden_size=3)],
        [numpy_helper.from_array(np.ones((1, 8, 12), np.int8), "w"),
         numpy_helper.from_array(np.ones((1, 3, 12), np.int8), "r"),
         init_f32("ws", 0.01), numpy_helper.from_array(np.zeros(5, np.int8), "wz"),
         init_f32("rs", 0.01), numpy_helper.from_array(np.int8(0), "rz")]),
    "one_hot_encoder_strings": ([ml("OneHotEncoder", ["input"], ["output"],
                                    cats_strings=["red", "green"])], []),
    # A Scan whose body holds a Scan of its own.
    "scan_nested": ([node("Scan", ["input", "input"], ["state", "output"], num_scan_inputs=1,
                          body=helper.make_graph(
                              [node("Scan", ["s", "x"], ["s_out", "inner"], num_scan_inputs=1,
                                    body=helper.make_graph(
                                        [node("Identity", ["t"], ["t_out"]),
                                         node("Identity", ["y"], ["y_out"])], "inner",
                                        inputs=[tensor_info("t", [8]), tensor_info("y", [])],
                                        outputs=[tensor_info("t_out", [8]),
                                                 tensor_info("y_out", [])]))],
                              "outer", inputs=[tensor_info("s", [8]), tensor_info("x", [8])],
                              outputs=[tensor_info("s_out", [8]), tensor_info("inner", [8])]))],
                    []),
}


@model("tabular_narrow", "a tabular regressor as a scikit-learn pipeline exports it (Scaler, "
       "then an MLP), on features of very different ranges (±0.02 to ±16), calibrated on 48 "
       "rows: its narrow features are quantized finer than the input's widest")
def tabular_narrow(rng):
    half = [0.02, 0.05, 0.1, 0.5, 4.0, 16.0]
    f, hidden = len(half), 8
    nodes = [
        ml("Scaler", ["x"], ["scaled"], offset=[0.0] * f, scale=[1.0 / h for h in half]),
        node("MatMul", ["scaled", "w1"], ["h1"]),
        node("Add", ["h1", "b1"], ["h1b"]),
        node("Relu", ["h1b"], ["h1r"]),
        node("MatMul", ["h1r", "w2"], ["h2"]),
        node("Add", ["h2", "b2"], ["output"]),
    ]
    return (nodes, {"x": ([1, f], "tabular", half)}, {"output": [1, 2]},
            [init_f32("w1", dyadic(rng, [f, hidden], -1.0, 1.0)),
             init_f32("b1", dyadic(rng, [hidden], -0.5, 0.5)),
             init_f32("w2", dyadic(rng, [hidden, 2], -1.0, 1.0)),
             init_f32("b2", dyadic(rng, [2], -0.5, 0.5))], 18)


@model("tabular_columns", "tabular features of very different ranges picked by a constant "
       "Gather (as a scikit-learn ColumnTransformer exports its columns) into a Scaler and a "
       "dense layer, beside a dense layer of all of them, calibrated on 48 rows: the narrow "
       "features are quantized finer through the copy too")
def tabular_columns(rng):
    half = [0.02, 0.05, 0.1, 0.5, 4.0, 16.0]
    f, picked, hidden = len(half), [4, 0, 2], 4
    nodes = [
        node("Gather", ["x", "columns"], ["cols"], axis=1),
        ml("Scaler", ["cols"], ["scaled"], offset=[0.0] * len(picked),
           scale=[1.0 / half[c] for c in picked]),
        node("MatMul", ["scaled", "w1"], ["h1"]),
        node("Add", ["h1", "b1"], ["h1b"]),
        node("Relu", ["h1b"], ["h1r"]),
        node("MatMul", ["x", "w2"], ["direct"]),
        node("Add", ["h1r", "direct"], ["sum"]),
        node("MatMul", ["sum", "w3"], ["output"]),
    ]
    return (nodes, {"x": ([1, f], "tabular", half)}, {"output": [1, 2]},
            [init_i64("columns", picked),
             init_f32("w1", dyadic(rng, [len(picked), hidden], -1.0, 1.0)),
             init_f32("b1", dyadic(rng, [hidden], -0.5, 0.5)),
             init_f32("w2", dyadic(rng, [f, hidden], -1.0, 1.0) / np.array(half)[:, None]),
             init_f32("w3", dyadic(rng, [hidden, 2], -1.0, 1.0))], 18)



@model("tree_wide_features", "a random forest (TreeEnsembleRegressor, x <= threshold) on "
       "tabular features of very different ranges (±0.02 to ±4,000, as the breast-cancer data "
       "has), thresholds on the data's own grid, calibrated on 48 rows: each branch decided at "
       "its feature's precision, the wide margins' steps through a narrow table")
def tree_wide_features(rng):
    half = [0.02, 1.0, 40.0, 4000.0]
    forest = tree_ensemble(rng, "forest", "output", len(half), 6, 1, "BRANCH_LEQ", "AVERAGE")
    attrs = {a.name: a for a in forest.attribute}
    for i, mode in enumerate(attrs["nodes_modes"].strings):
        if mode != b"LEAF":
            f = attrs["nodes_featureids"].ints[i]
            # On a coarser grid than the calibration rows' (see `write`): rows can equal one.
            attrs["nodes_values"].floats[i] = float(
                np.float32(rng.integers(-128, 129) / 256 * half[f]))
    return [forest], {"x": ([1, len(half)], "tabular", half)}, {"output": [1, 1]}, [], 18


@model("tree_single_leaves", "a multiclass gradient-boosted ensemble as XGBoost exports it "
       "(TreeEnsembleClassifier, x < threshold, the sum plus base values) where some rounds "
       "did not split a class: those trees are a single leaf, whose value always counts")
def tree_single_leaves(rng):
    boosted = tree_ensemble(rng, "boosted", ["label", "scores"], 5, 3, 3, "BRANCH_LT", "NONE",
                            base=[0.5, 0.5, 0.5], classifier=True)
    attrs = {a.name: a for a in boosted.attribute}
    for t, k in [(3, 0), (4, 2), (5, 2)]:
        for key, value in [("nodes_treeids", t), ("nodes_nodeids", 0), ("nodes_featureids", 0),
                           ("nodes_truenodeids", 0), ("nodes_falsenodeids", 0)]:
            attrs[key].ints.append(value)
        attrs["nodes_values"].floats.append(0.0)
        attrs["nodes_modes"].strings.append(b"LEAF")
        for key, value in [("class_treeids", t), ("class_nodeids", 0), ("class_ids", k)]:
            attrs[key].ints.append(value)
        attrs["class_weights"].floats.append(float(np.round(rng.normal(), 3)))
    return (
        [boosted, node("Cast", ["label"], ["label_f"], to=onnx.TensorProto.FLOAT),
         node("Reshape", ["label_f", "column"], ["label_column"]),
         node("Concat", ["label_column", "scores"], ["output"], axis=1)],
        {"x": ([2, 5], -1.0, 1.0)},
        {"output": [2, 4]},
        [init_i64("column", [2, 1])],
        18,
    )

@model("tree_branch_modes", "a tree ensemble whose branch nodes compare in every mode (x <= t, "
       "x < t, x >= t, x > t, x == t, x != t), as LightGBM exports categorical splits "
       "(BRANCH_EQ, in chains that share a subtree) beside numeric ones, on features rounded "
       "to five categories so that equalities hold")
def tree_branch_modes(rng):
    trees = tree_ensemble(rng, "modes", "output", 6, 4, 2, "BRANCH_LEQ", "SUM", x="categories")
    attrs = {a.name: a for a in trees.attribute}
    cycle = [b"BRANCH_LEQ", b"BRANCH_LT", b"BRANCH_GTE", b"BRANCH_GT", b"BRANCH_EQ",
             b"BRANCH_NEQ"]
    branches = [i for i, m in enumerate(attrs["nodes_modes"].strings) if m != b"LEAF"]
    for k, i in enumerate(branches):
        attrs["nodes_modes"].strings[i] = cycle[k % len(cycle)]
        attrs["nodes_values"].floats[i] = float(rng.integers(-2, 3))
    # One more tree as onnxmltools writes a LightGBM categorical split (x in {1, -1}): a chain
    # of x == c nodes whose true sides share one subtree.
    shared = [(0, "BRANCH_EQ", 0, 1.0, 2, 1), (1, "BRANCH_EQ", 0, -1.0, 2, 3),
              (2, "BRANCH_LEQ", 1, 0.0, 4, 5)] + [(i, "LEAF", 0, 0.0, 0, 0) for i in (3, 4, 5)]
    for i, mode, feature, value, yes, no in shared:
        for key, v in [("nodes_treeids", 4), ("nodes_nodeids", i), ("nodes_featureids", feature),
                       ("nodes_truenodeids", yes), ("nodes_falsenodeids", no)]:
            attrs[key].ints.append(v)
        attrs["nodes_values"].floats.append(value)
        attrs["nodes_modes"].strings.append(mode.encode())
        if mode == "LEAF":
            for k in range(2):
                for key, v in [("target_treeids", 4), ("target_nodeids", i), ("target_ids", k)]:
                    attrs[key].ints.append(v)
                attrs["target_weights"].floats.append(float(np.round(rng.normal(), 3)))
    return (
        [node("Mul", ["x", "two"], ["doubled"]), node("Round", ["doubled"], ["categories"]),
         trees],
        {"x": ([2, 6], -1.0, 1.0)},
        {"output": [2, 2]},
        [init_f32("two", np.array(2.0, dtype=np.float32))],
        18,
    )


@model("constant_wider_than_input", "element-wise ops whose constant operand is the larger "
       "(as scikit-learn's GaussianNB exports its per-class log-likelihood: the sample, "
       "reshaped to [1, 1, F], minus the class means [1, C, F], scaled by the inverse "
       "variances and summed; and an Add of a [1, C, F] constant to the [1, 1, F] row)")
def constant_wider_than_input(rng):
    means = rng.normal(size=(1, 3, 4)).round(2)
    inverse = rng.uniform(0.5, 2.0, size=(1, 3, 4)).round(2)
    return (
        [node("Reshape", ["x", "shape"], ["row"]),
         node("Sub", ["row", "means"], ["centred"]),
         node("Mul", ["centred", "centred"], ["squared"]),
         node("Mul", ["inverse", "squared"], ["scaled"]),
         node("Add", ["offsets", "row"], ["lifted"]),
         node("Add", ["scaled", "lifted"], ["shifted"]),
         node("ReduceSum", ["shifted", "axes"], ["output"], keepdims=0)],
        {"x": ([1, 4], -1.0, 1.0)},
        {"output": [1, 3]},
        [init_i64("shape", [1, 1, 4]), init_f32("means", means), init_f32("inverse", inverse),
         init_f32("offsets", rng.normal(size=(1, 3, 4)).round(2)), init_i64("axes", [2])],
        18,
    )


@model("concat_constant_parts", "a Concat of computed tensors and constants, as "
       "scikit-learn's PolynomialFeatures puts a column of ones before the features and their "
       "products (the constants in the middle and last too), into a dense layer")
def concat_constant_parts(rng):
    return (
        [node("Mul", ["x", "x"], ["squares"]),
         node("Concat", ["ones", "x", "middle", "squares", "last"], ["features"], axis=1),
         node("MatMul", ["features", "w"], ["output"])],
        {"x": ([2, 3], -1.0, 1.0)},
        {"output": [2, 2]},
        [init_f32("ones", np.ones((2, 1))), init_f32("middle", [[0.5, -0.25], [1.5, 2.0]]),
         init_f32("last", [[-1.0], [0.75]]), init_f32("w", rng.normal(size=(10, 2)).round(2))],
        18,
    )


@model("scan_distances", "a Scan as skl2onnx writes a nearest-neighbours model: the input "
       "carried as the state, one iteration per constant training row (its squared distance "
       "to the input), the distances stacked and transposed, the nearest two taken by TopK")
def scan_distances(rng):
    body = helper.make_graph(
        [node("Identity", ["next_in"], ["next_out"]),
         node("Sub", ["next_in", "row"], ["diff"]),
         node("ReduceSumSquare", ["diff", "axes"], ["scan_out"], keepdims=0)],
        "distances",
        inputs=[tensor_info("next_in", [2, 4]), tensor_info("row", [4])],
        outputs=[tensor_info("next_out", [2, 4]), tensor_info("scan_out", [2])],
        initializer=[init_i64("axes", [1])])
    return (
        [node("Scan", ["x", "rows"], ["last", "stacked"], body=body, num_scan_inputs=1),
         node("Transpose", ["stacked"], ["output"], perm=[1, 0]),
         node("TopK", ["output", "k"], ["nearest", "at"], largest=0),
         node("Cast", ["at"], ["index"], to=onnx.TensorProto.FLOAT)],
        {"x": ([2, 4], -1.0, 1.0)},
        {"output": [2, 6], "nearest": [2, 2], "index": [2, 2]},
        [init_f32("rows", rng.uniform(-1, 1, size=(6, 4)).round(2)), init_i64("k", [2])],
        18,
    )


@model("label_encoder_ids", "a LabelEncoder of integer keys to float values on a computed "
       "integer tensor, with keys left out (the default), as an isolation forest maps its "
       "trees' leaf ids to sample counts")
def label_encoder_ids(rng):
    return (
        [node("Add", ["ids", "one"], ["shifted"]),
         ml("LabelEncoder", ["shifted"], ["output"], keys_int64s=[1, 2, 3, 5, 6],
            values_floats=[0.5, -1.25, 3.0, 2.5, 8.0], default_float=-4.0)],
        {"ids": ([2, 3], 0, 6, np.int64)},
        {"output": [2, 3]},
        [init_i64("one", [1])],
        18,
    )


@model("variadic_constants", "Max, Min, Sum and Mean with constant operands beside computed "
       "ones (an isolation forest's max(n, 2)), and Pow of a constant base to a computed "
       "exponent (its 2^(-depth/c))")
def variadic_constants(rng):
    return (
        [node("Max", ["x", "floor"], ["max"]),
         node("Min", ["x", "y", "caps"], ["min"]),
         node("Sum", ["x", "half", "y"], ["sum"]),
         node("Mean", ["x", "half"], ["mean"]),
         node("Pow", ["two", "x"], ["pow"])],
        {"x": ([2, 3], -1.0, 1.0), "y": ([2, 3], -1.0, 1.0)},
        {"max": [2, 3], "min": [2, 3], "sum": [2, 3], "mean": [2, 3], "pow": [2, 3]},
        [init_f32("floor", [0.25]), init_f32("caps", [[0.5, -0.25, 0.0]]),
         init_f32("half", [0.5]), init_f32("two", [2.0])],
        18,
    )


@model("gemm_computed_bias", "a Gemm whose bias C is computed, as skl2onnx writes k-means: "
       "the squared distance to each centre is |x|^2 (ReduceSumSquare, the bias) - 2 x.c "
       "(Gemm, alpha -2, transB) + |c|^2, the cluster the ArgMin")
def gemm_computed_bias(rng):
    centres = rng.uniform(-1, 1, size=(3, 4)).round(2)
    return (
        [node("ReduceSumSquare", ["x", "axes"], ["norms"], keepdims=1),
         node("Gemm", ["x", "centres", "norms"], ["cross"], alpha=-2.0, transB=1),
         node("Add", ["cross", "centre_norms"], ["output"]),
         node("ArgMin", ["output"], ["cluster"], axis=1, keepdims=0),
         node("Cast", ["cluster"], ["label"], to=onnx.TensorProto.FLOAT)],
        {"x": ([2, 4], -1.0, 1.0)},
        {"output": [2, 3], "label": [2]},
        [init_f32("centres", centres), init_i64("axes", [1]),
         init_f32("centre_norms", (centres ** 2).sum(axis=1)[None, :])],
        18,
    )


@model("tree_gathered_columns", "a forest on columns a constant Gather picks from features "
       "of very different ranges (±0.02 to ±4,000), as an isolation forest reads each tree's "
       "own columns: the tree's comparisons copy the copy, and its narrow features are "
       "quantized finer through both copies")
def tree_gathered_columns(rng):
    half = [0.02, 1.0, 40.0, 4000.0]
    columns = [3, 0, 1]
    forest = tree_ensemble(rng, "forest", "output", len(columns), 6, 1, "BRANCH_LEQ", "AVERAGE",
                           x="picked")
    attrs = {a.name: a for a in forest.attribute}
    for i, mode in enumerate(attrs["nodes_modes"].strings):
        if mode != b"LEAF":
            f = columns[attrs["nodes_featureids"].ints[i]]
            attrs["nodes_values"].floats[i] = float(
                np.float32(rng.integers(-128, 129) / 256 * half[f]))
    return (
        [node("Gather", ["x", "columns"], ["picked"], axis=1), forest],
        {"x": ([1, len(half)], "tabular", half)},
        {"output": [1, 1]},
        [init_i64("columns", columns)],
        18,
    )


@model("loop_unrolled", "a Loop of a constant trip count (3) and a constant condition, as "
       "exporters write a `for` loop: a recurrent state through a dense layer and Tanh plus "
       "the iteration number, each step's row sums stacked as a scan output")
def loop_unrolled(rng):
    body = helper.make_graph(
        [node("Identity", ["cond_in"], ["cond_out"]),
         node("MatMul", ["h", "w"], ["hw"]),
         node("Cast", ["i"], ["fi"], to=onnx.TensorProto.FLOAT),
         node("Mul", ["fi", "quarter"], ["step"]),
         node("Add", ["hw", "step"], ["hb"]),
         node("Tanh", ["hb"], ["h_out"]),
         node("ReduceSum", ["h_out", "axes"], ["sums"], keepdims=0)],
        "step",
        inputs=[helper.make_tensor_value_info("i", onnx.TensorProto.INT64, []),
                helper.make_tensor_value_info("cond_in", onnx.TensorProto.BOOL, []),
                tensor_info("h", [2, 3])],
        outputs=[helper.make_tensor_value_info("cond_out", onnx.TensorProto.BOOL, []),
                 tensor_info("h_out", [2, 3]), tensor_info("sums", [2])],
        initializer=[init_f32("quarter", [0.25]), init_i64("axes", [1])])
    return (
        [node("Loop", ["trips", "go", "x"], ["output", "steps"], body=body)],
        {"x": ([2, 3], -1.0, 1.0)},
        {"output": [2, 3], "steps": [3, 2]},
        [init_i64("trips", 3), numpy_helper.from_array(np.array(True), "go"),
         weights(rng, "w", (3, 3), 1.0)],
        18,
    )


@model("if_branches", "If with a constant condition (the branch it names is imported) and "
       "with a condition computed from the input (both branches, then a Where), the branches "
       "reading the enclosing graph's values")
def if_branches(rng):
    def branch(name, nodes, out):
        return helper.make_graph(nodes, name, inputs=[], outputs=[tensor_info(out, [2, 3])])
    return (
        [node("If", ["fixed"], ["doubled"],
              then_branch=branch("then", [node("Mul", ["x", "two"], ["twice"])], "twice"),
              else_branch=branch("else", [node("Neg", ["x"], ["negated"])], "negated")),
         node("ReduceSum", ["x"], ["total"], keepdims=0),
         node("Greater", ["total", "zero"], ["positive"]),
         node("If", ["positive"], ["output"],
              then_branch=branch("then", [node("Relu", ["doubled"], ["kept"])], "kept"),
              else_branch=branch("else", [node("Sigmoid", ["x"], ["squashed"])], "squashed"))],
        {"x": ([2, 3], -1.0, 1.0)},
        {"output": [2, 3]},
        [numpy_helper.from_array(np.array(True), "fixed"), init_f32("two", [2.0]),
         init_f32("zero", 0.0)],
        18,
    )


@model("qdq_conv", "a quantized model in the QDQ form (a TFLite int8 model as tf2onnx "
       "converts it, onnxruntime's quantize_static): the input quantized to int8 and back, a "
       "convolution of int8 weights dequantized per output channel, and its Sigmoid quantized "
       "to uint8 and back")
def qdq_conv(rng):
    w = rng.integers(-127, 128, size=(3, 2, 3, 3)).astype(np.int8)
    return (
        [node("QuantizeLinear", ["x", "x_scale", "x_zero"], ["x_q"]),
         node("DequantizeLinear", ["x_q", "x_scale", "x_zero"], ["x_dq"]),
         node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w"], axis=0),
         node("Conv", ["x_dq", "w", "b"], ["conv"], pads=[1, 1, 1, 1]),
         node("Sigmoid", ["conv"], ["y"]),
         node("QuantizeLinear", ["y", "y_scale", "y_zero"], ["y_q"]),
         node("DequantizeLinear", ["y_q", "y_scale", "y_zero"], ["output"])],
        {"x": ([1, 2, 5, 5], -1.0, 1.0)},
        {"output": [1, 3, 5, 5]},
        [init_f32("x_scale", 0.125), numpy_helper.from_array(np.int8(-3), "x_zero"),
         numpy_helper.from_array(w, "w_q"), init_f32("w_scale", [0.004, 0.002, 0.003]),
         numpy_helper.from_array(np.zeros(3, np.int8), "w_zero"),
         init_f32("b", rng.uniform(-0.5, 0.5, 3).round(2)),
         init_f32("y_scale", 1.0 / 32), numpy_helper.from_array(np.uint8(0), "y_zero")],
        18,
    )


@model("sklearn_preprocessing", "scikit-learn's preprocessing as skl2onnx writes a "
       "ColumnTransformer: an Imputer of missing values (NaN, which no circuit input holds: "
       "the identity) and one of a sentinel (-1 becomes the column's mean), a Binarizer, and a "
       "OneHotEncoder of an integer column (a value in no category encodes as zeros), "
       "concatenated into a LinearClassifier")
def sklearn_preprocessing(rng):
    return (
        [ml("Imputer", ["num"], ["filled"], imputed_value_floats=[0.5, -0.25],
            replaced_value_float=float("nan")),
         node("Round", ["filled"], ["whole"]),   # -1, 0 or 1: the sentinel is common
         ml("Imputer", ["whole"], ["imputed"], imputed_value_floats=[0.75, 0.1],
            replaced_value_float=-1.0),
         ml("Binarizer", ["num"], ["flags"], threshold=0.25),
         node("Cast", ["cat"], ["cat_i"], to=onnx.TensorProto.INT64),
         ml("OneHotEncoder", ["cat_i"], ["onehot"], cats_int64s=[0, 1, 3], zeros=1),
         node("Reshape", ["onehot", "flat"], ["encoded"]),
         node("Concat", ["imputed", "flags", "encoded"], ["features"], axis=1),
         ml("LinearClassifier", ["features"], ["label", "output"],
            coefficients=coefficients(rng, 3, 7), intercepts=[0.1, -0.2, 0.05],
            classlabels_ints=[0, 1, 2], post_transform="SOFTMAX")],
        {"num": ([2, 2], -1.0, 1.0), "cat": ([2, 1], 0, 4, np.int64)},
        {"output": [2, 3]},
        [init_i64("flat", [2, 3])],
        18,
    )


@model("qlinear_ops", "the QOperator form of a quantized model (onnxruntime's quantize_static "
       "with QuantFormat.QOperator): QLinearConv with per-channel int8 weights and an int32 bias, "
       "onnxruntime's com.microsoft QLinearGlobalAveragePool and QLinearAdd, QLinearMatMul; "
       "steps that are no powers of two, as real calibrations give")
def qlinear_ops(rng):
    ms = "com.microsoft"
    w = rng.integers(-127, 128, size=(4, 2, 3, 3)).astype(np.int8)
    m = rng.integers(-127, 128, size=(4, 3)).astype(np.int8)
    c = rng.integers(0, 256, size=(1, 3)).astype(np.uint8)
    u8 = lambda v, n: numpy_helper.from_array(np.uint8(v), n)  # noqa: E731
    return (
        [node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
         node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["yq"],
              pads=[1, 1, 1, 1]),
         helper.make_node("QLinearGlobalAveragePool", ["yq", "ys", "yz", "ps", "pz"], ["pq"],
                          name="pq", domain=ms, channels_last=0),
         node("Reshape", ["pq", "flat"], ["fq"]),
         node("QLinearMatMul", ["fq", "ps", "pz", "m", "mms", "mz", "os", "oz"], ["oq"]),
         helper.make_node("QLinearAdd", ["oq", "os", "oz", "c", "cs", "cz", "as", "az"],
                          ["aq"], name="aq", domain=ms),
         node("DequantizeLinear", ["aq", "as", "az"], ["output"])],
        {"x": ([1, 2, 6, 6], -1.0, 1.0)},
        {"output": [1, 3]},
        [init_f32("xs", 0.0079), u8(128, "xz"),
         numpy_helper.from_array(w, "w"), init_f32("ws", [0.0041, 0.0023, 0.0037, 0.0029]),
         numpy_helper.from_array(np.zeros(4, np.int8), "wz"),
         numpy_helper.from_array(rng.integers(-3000, 3000, size=4).astype(np.int32), "b"),
         init_f32("ys", 0.0117), u8(120, "yz"), init_f32("ps", 0.0061), u8(125, "pz"),
         numpy_helper.from_array(np.array([1, 4], np.int64), "flat"),
         numpy_helper.from_array(m, "m"), init_f32("mms", 0.0052),
         numpy_helper.from_array(np.int8(0), "mz"), init_f32("os", 0.0093), u8(131, "oz"),
         numpy_helper.from_array(c, "c"), init_f32("cs", 0.0044), u8(128, "cz"),
         init_f32("as", 0.0107), u8(127, "az")],
        18,
    )


@model("qdq_rearranged", "quantized tensors rearranged before their DequantizeLinear (a "
       "transpose and a concatenation of uint8 values, as TFLite int8 models convert), and "
       "onnxruntime's com.microsoft QLinearConcat")
def qdq_rearranged(rng):
    u8 = lambda v, n: numpy_helper.from_array(np.uint8(v), n)  # noqa: E731
    return (
        [node("QuantizeLinear", ["x", "s", "z"], ["q"]),
         node("Transpose", ["q"], ["t"], perm=[0, 1, 3, 2]),
         node("Concat", ["q", "t"], ["c"], axis=1),
         node("DequantizeLinear", ["c", "s", "z"], ["output"]),
         helper.make_node("QLinearConcat", ["ys", "yz", "q", "s", "z", "t", "s", "z"], ["cq"],
                          name="cq", domain="com.microsoft", axis=3),
         node("DequantizeLinear", ["cq", "ys", "yz"], ["joined"])],
        {"x": ([1, 2, 4, 4], -1.0, 1.0)},
        {"output": [1, 4, 4, 4], "joined": [1, 2, 4, 8]},
        [init_f32("s", 0.0087), u8(131, "z"), init_f32("ys", 0.0131), u8(125, "yz")],
        18,
    )


@model("qdq_levels_out", "a QuantizeLinear whose levels are read by a Cast (a model output) as well "
       "as by its DequantizeLinear: the fake quantization then rounds the steps in a lookup of its "
       "own")
def qdq_levels_out(rng):
    return (
        [node("QuantizeLinear", ["x", "s", "z"], ["q"]),
         node("Cast", ["q"], ["levels"], to=onnx.TensorProto.FLOAT),
         node("DequantizeLinear", ["q", "s", "z"], ["output"])],
        {"x": ([1, 6], -1.0, 1.0)},
        {"levels": [1, 6], "output": [1, 6]},
        [init_f32("s", 0.1), numpy_helper.from_array(np.int8(5), "z")],
        18,
    )


@model("dynamic_quant", "onnxruntime's quantize_dynamic form: DynamicQuantizeLinear (the "
       "activations' uint8 scale and zero point computed from the data), ConvInteger with int8 "
       "weights and a uint8 zero point, MatMulInteger with a zero point per column, each product "
       "cast to float and multiplied by the two scales")
def dynamic_quant(rng):
    w = rng.integers(-127, 128, size=(3, 2, 3, 3)).astype(np.int8)
    m = rng.integers(0, 256, size=(27, 4)).astype(np.uint8)
    return (
        [node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
         node("ConvInteger", ["xq", "w", "xz"], ["c32"], strides=[2, 2], pads=[1, 1, 1, 1]),
         node("Cast", ["c32"], ["cf"], to=onnx.TensorProto.FLOAT),
         node("Mul", ["xs", "ws"], ["cs"]),
         node("Mul", ["cf", "cs"], ["cm"]),
         node("Add", ["cm", "cb"], ["cb_out"]),
         node("Relu", ["cb_out"], ["r"]),
         node("Reshape", ["r", "flat"], ["f"]),
         node("DynamicQuantizeLinear", ["f"], ["fq", "fs", "fz"]),
         node("MatMulInteger", ["fq", "m", "fz", "mz"], ["m32"]),
         node("Cast", ["m32"], ["mf"], to=onnx.TensorProto.FLOAT),
         node("Mul", ["fs", "ms"], ["mscale"]),
         node("Mul", ["mf", "mscale"], ["output"])],
        {"x": ([1, 2, 6, 6], -1.0, 1.0)},
        {"output": [1, 4]},
        [numpy_helper.from_array(w, "w"), init_f32("ws", 0.0019),
         init_f32("cb", dyadic(rng, [1, 3, 1, 1], -0.25, 0.25)),
         numpy_helper.from_array(np.array([1, 27], np.int64), "flat"),
         numpy_helper.from_array(m, "m"),
         numpy_helper.from_array(np.array([128, 120, 131, 125], np.uint8), "mz"),
         init_f32("ms", 0.0047)],
        18,
    )


@model("masked_attention", "attention masks as transformers exports write them: int64 token ids "
       "into an embedding plus 0.3 × the ids cast to float; a padding mask from an int64 "
       "attention_mask And a constant causal mask, Where(keep, 0, -inf) added to the scores (a "
       "row with nothing kept too), IsNaN and Where mapping its NaN to 0; Where(keep Or the first "
       "position, scores, float32's minimum); the scores plus a constant -inf causal mask plus a "
       "position bias; transformers 4.x's Where(bool(1 - mask), min, 1 - mask); and GPT-Neo's "
       "Where(causal, scores, min) + (1 - keep)·min")
def masked_attention(rng):
    seq, d = 6, 4
    causal = np.tril(np.ones((seq, seq), dtype=bool))
    first = np.zeros((1, seq), dtype=bool)
    first[0, 0] = True
    minimum = np.finfo(np.float32).min
    nodes = [
        node("Gather", ["embedding", "ids"], ["embedded"], axis=0),          # [1, 6, 4]
        node("Cast", ["ids"], ["ids_f"], to=onnx.TensorProto.FLOAT),
        node("Mul", ["ids_f", "three_tenths"], ["ids_scaled"]),
        node("Unsqueeze", ["ids_scaled", "axis2"], ["ids_col"]),            # [1, 6, 1]
        node("Add", ["embedded", "ids_col"], ["x"]),
        node("MatMul", ["x", "wq"], ["q"]),
        node("MatMul", ["x", "wk"], ["k"]),
        node("MatMul", ["x", "wv"], ["v"]),
        node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        node("MatMul", ["q", "kt"], ["scores"]),                            # [1, 6, 6]
        node("Cast", ["attention_mask"], ["mask_b"], to=onnx.TensorProto.BOOL),
        node("Unsqueeze", ["mask_b", "axis1"], ["mask_row"]),               # [1, 1, 6]
        node("And", ["causal", "mask_row"], ["keep_a"]),
        node("Where", ["keep_a", "zero", "minus_inf"], ["bias_a"]),
        node("Add", ["scores", "bias_a"], ["scores_a"]),
        node("Softmax", ["scores_a"], ["p_a"], axis=-1),
        node("IsNaN", ["p_a"], ["nan_a"]),
        node("Where", ["nan_a", "zero", "p_a"], ["p_a0"]),
        node("MatMul", ["p_a0", "v"], ["out_a"]),
        node("Or", ["mask_b", "first"], ["keep_b0"]),
        node("Unsqueeze", ["keep_b0", "axis1"], ["keep_b"]),
        node("Where", ["keep_b", "scores", "minimum"], ["scores_b"]),
        node("Softmax", ["scores_b"], ["p_b"], axis=-1),
        node("MatMul", ["p_b", "v"], ["out_b"]),
        node("Add", ["scores", "causal_bias"], ["scores_c0"]),
        node("Add", ["scores_c0", "position_bias"], ["scores_c"]),
        node("Softmax", ["scores_c"], ["p_c"], axis=-1),
        node("MatMul", ["p_c", "v"], ["out_c"]),
        # transformers 4.x: inverted = 1 - mask; Where(bool(inverted), min, inverted) ...
        node("Cast", ["attention_mask"], ["mask_f"], to=onnx.TensorProto.FLOAT),
        node("Sub", ["one", "mask_f"], ["inverted0"]),
        node("Unsqueeze", ["inverted0", "axis1"], ["inverted"]),
        node("Cast", ["inverted"], ["inverted_b"], to=onnx.TensorProto.BOOL),
        node("Where", ["inverted_b", "minimum", "inverted"], ["bias_d"]),
        node("Add", ["scores", "bias_d"], ["scores_d"]),
        node("Softmax", ["scores_d"], ["p_d"], axis=-1),
        node("MatMul", ["p_d", "v"], ["out_d"]),
        # ... and (1 - keep)·min added to causally masked scores (GPT-Neo).
        node("Cast", ["keep_b"], ["keep_f"], to=onnx.TensorProto.FLOAT),
        node("Sub", ["one", "keep_f"], ["dropped"]),
        node("Mul", ["dropped", "minimum"], ["bias_e"]),
        node("Where", ["causal", "scores", "minimum"], ["scores_e0"]),
        node("Add", ["scores_e0", "bias_e"], ["scores_e"]),
        node("Softmax", ["scores_e"], ["p_e"], axis=-1),
        node("MatMul", ["p_e", "v"], ["out_e"]),
        node("Concat", ["out_a", "out_b", "out_c", "out_d", "out_e"], ["output"], axis=2),
    ]
    return (
        nodes,
        {"ids": ([1, seq], 0, 9, np.int64), "attention_mask": ([1, seq], 0, 1, np.int64)},
        {"output": [1, seq, 5 * d]},
        [weights(rng, "embedding", (10, d)), init_f32("three_tenths", 0.3),
         init_i64("axis1", [1]), init_i64("axis2", [2]),
         weights(rng, "wq", (d, d)), weights(rng, "wk", (d, d)), weights(rng, "wv", (d, d)),
         numpy_helper.from_array(causal[None], "causal"),
         numpy_helper.from_array(first, "first"),
         init_f32("zero", 0.0), init_f32("minus_inf", -np.inf), init_f32("minimum", minimum),
         init_f32("causal_bias", np.where(causal, 0.0, -np.inf)[None]),
         weights(rng, "position_bias", (1, seq, seq), 0.25), init_f32("one", 1.0)],
        18,
    )


@model("hummingbird_gemm_trees", "trees in hummingbird's GEMM form as it exports them: Gemm of a "
       "constant feature selector by the computed rows (transB), comparisons of features in "
       "the thousands with thresholds and with each other (wide steps), a batched MatMul of constant per-tree "
       "matrices by the computed decisions, Equal with the path lengths")
def hummingbird_gemm_trees(rng):
    selector = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]], np.float32)
    thresholds = np.round(rng.uniform(-1500, 1500, size=(4, 1))).astype(np.float32) + 0.5
    paths = np.array([[[1, 1], [1, -1], [-1, 0]], [[1, 0], [-1, 1], [-1, -1]]], np.float32)
    lengths = np.array([[[2], [1], [0]], [[1], [1], [-2]]], np.float32)
    return (
        [node("Gemm", ["selector", "x"], ["features"], transB=1),               # [4, 2]
         node("LessOrEqual", ["features", "thresholds"], ["decisions"]),
         node("Cast", ["decisions"], ["decisions_f"], to=onnx.TensorProto.FLOAT),
         node("Reshape", ["decisions_f", "per_tree"], ["by_tree"]),             # [2, 2, 2]
         node("MatMul", ["paths", "by_tree"], ["path_sums"]),                  # [2, 3, 2]
         node("Equal", ["path_sums", "lengths"], ["leaves"]),
         node("Cast", ["leaves"], ["leaves_f"], to=onnx.TensorProto.FLOAT),
         node("Reshape", ["leaves_f", "flat"], ["leaf_rows"]),
         # Computed features compared with each other: the wide steps read shifted values.
         node("Gather", ["features", "rotation"], ["rotated"], axis=0),
         node("LessOrEqual", ["features", "rotated"], ["at_most"]),
         node("Greater", ["features", "rotated"], ["above"]),
         node("Cast", ["at_most"], ["at_most_f"], to=onnx.TensorProto.FLOAT),
         node("Cast", ["above"], ["above_f"], to=onnx.TensorProto.FLOAT),
         node("Transpose", ["at_most_f"], ["at_most_rows"], perm=[1, 0]),
         node("Transpose", ["above_f"], ["above_rows"], perm=[1, 0]),
         node("Concat", ["leaf_rows", "at_most_rows", "above_rows"], ["output"], axis=1)],
        {"x": ([2, 3], -2000.0, 2000.0)},
        {"output": [2, 14]},
        [init_f32("selector", selector), init_f32("thresholds", thresholds),
         init_i64("per_tree", [2, 2, 2]), init_f32("paths", paths),
         init_f32("lengths", lengths), init_i64("flat", [2, 6]),
         init_i64("rotation", [1, 2, 3, 0])],
        18,
    )


@model("resize_interpolating", "Resize in its interpolating modes (PyTorch's bilinear and "
       "bicubic interpolate): linear x2 (half_pixel), linear down to 3x2 (pytorch_half_pixel), "
       "cubic to 7x5 (align_corners, a = -0.75) and cubic x2 with exclude_outside (a = -0.5)")
def resize_interpolating(rng):
    return (
        [node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),          # [1, 2, 4, 4]
         node("Resize", ["c", "", "twice"], ["linear_up"], mode="linear"),
         node("Resize", ["c", "", "", "small"], ["linear_down"], mode="linear",
              coordinate_transformation_mode="pytorch_half_pixel"),
         node("Resize", ["c", "", "", "odd"], ["cubic"], mode="cubic",
              coordinate_transformation_mode="align_corners"),
         node("Resize", ["c", "", "twice"], ["cubic_excl"], mode="cubic", cubic_coeff_a=-0.5,
              exclude_outside=1),
         node("Flatten", ["linear_up"], ["f1"]),
         node("Flatten", ["linear_down"], ["f2"]),
         node("Flatten", ["cubic"], ["f3"]),
         node("Flatten", ["cubic_excl"], ["f4"]),
         node("Concat", ["f1", "f2", "f3", "f4"], ["output"], axis=1)],
        {"x": ([1, 2, 4, 4], -1.0, 1.0)},
        {"output": [1, 2 * (64 + 6 + 35 + 64)]},
        [weights(rng, "w", (2, 2, 3, 3)), weights(rng, "b", (2,), 0.25),
         init_f32("twice", [1.0, 1.0, 2.0, 2.0]), init_i64("small", [1, 2, 3, 2]),
         init_i64("odd", [1, 2, 7, 5])],
        18,
    )


def write_refused() -> None:
    folder = CORPUS.parent / "refused"
    folder.mkdir(exist_ok=True)
    for name, (nodes, inits) in REFUSED.items():
        graph = helper.make_graph(
            nodes, name, inputs=[tensor_info("input", [2, 8])],
            outputs=[tensor_info("output", [2, 3])], initializer=inits)
        opset = 21 if name.startswith("group_norm") else 18
        opsets = [helper.make_opsetid("", opset)]
        if any(n.domain == "ai.onnx.ml" for n in nodes):
            opsets.append(helper.make_opsetid("ai.onnx.ml", 3))
        if any(n.domain == "com.microsoft" for n in nodes):
            opsets.append(helper.make_opsetid("com.microsoft", 1))
        m = helper.make_model(graph, opset_imports=opsets,
                              producer_name=PRODUCER, producer_version="1")
        m.ir_version = IR_FOR_OPSET[opset]
        # Not through save_model: the checker's shape inference refuses the first one too.
        onnx.save(m, str(folder / f"{name}.onnx"))


def write_external() -> None:
    """cnn_digits with its weights in an external data file beside it, as `onnx.save` writes a
    large model (and torch.onnx.export every model since PyTorch 2.9): the CLI reads them in
    (src/stored.rs tests)."""
    folder = CORPUS.parent / "external"
    folder.mkdir(exist_ok=True)
    m = onnx.load(str(CORPUS / "cnn_digits.onnx"))
    (folder / "cnn_digits.onnx.data").unlink(missing_ok=True)  # onnx appends to a file there
    onnx.save_model(m, str(folder / "cnn_digits.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="cnn_digits.onnx.data",
                    size_threshold=0)


def write_dynamic_lstm() -> None:
    """lstm_small as onnxruntime's quantize_dynamic writes it, per channel: a com.microsoft
    DynamicQuantizeLSTM (int8 weights stored transposed, a scale and zero point per gate row),
    and onnxruntime's outputs of it on lstm_small's input (circuits/tests/quantized_models.rs)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = CORPUS.parent / "dynamic"
    folder.mkdir(exist_ok=True)
    out = folder / "lstm_small.onnx"
    quantize_dynamic(str(CORPUS / "lstm_small.onnx"), str(out), per_channel=True,
                     weight_type=QuantType.QInt8)
    m = onnx.load(str(out))
    assert any(n.op_type == "DynamicQuantizeLSTM" for n in m.graph.node)
    session = ort.InferenceSession(str(out))
    feed = json.loads((CORPUS / "lstm_small.input.json").read_text())["input_data"]
    inputs = {i.name: np.array(v, np.float32).reshape([d.dim_value for d in
                                                       i.type.tensor_type.shape.dim])
              for i, v in zip(m.graph.input, feed)}
    outs = session.run(None, inputs)
    dump_json(folder / "lstm_small.expected.json", {"output_data": [f32_list(o) for o in outs]})


def main() -> int:
    write_refused()
    index = [write(name, SEEDS.get(name, 1000 + i)) for i, name in enumerate(MODELS)]
    dump_json(CORPUS / "INDEX.json", index)
    write_external()
    write_dynamic_lstm()
    ops = sorted({op for entry in index for op in entry["ops"]})
    print(f"wrote {len(index)} models covering {len(ops)} ops to {CORPUS}")
    print(" ".join(ops))
    return 0


if __name__ == "__main__":
    sys.exit(main())
