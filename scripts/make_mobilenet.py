#!/usr/bin/env python3
"""Write a MobileNetV2 ONNX model with random, batch-norm-folded weights (a benchmark model:
the ImageNet shape, not trained accuracy).

    .venv/bin/python scripts/make_mobilenet.py [--alpha 0.35] [--size 96] [--classes 1000] \\
        [--out target/bench-models/mobilenetv2_035_96]

(`scripts/setup --python` creates .venv.) Writes, in --out: model.onnx, input.json (one
image), calibration.json (--calibration images) and expected.json (onnxruntime's output on
input.json). The architecture is Sandler et al.'s (inverted residual blocks: a 1x1 expansion
with ReLU6, a 3x3 depthwise convolution with ReLU6, a linear 1x1 projection, a residual add
where shapes allow; a 1x1 head conv, global average pooling and a classifier), with every
batch normalization folded into its convolution's weights and bias, as exporters write it.
Deterministic: a fixed seed gives identical files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

# (expansion t, output channels c, repeats n, first stride s), from the paper's Table 2.
BLOCKS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def divisible(v: float, divisor: int = 8) -> int:
    """Channel counts rounded as the reference implementation does."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


class Builder:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}_{self.count}"

    def conv(self, x: str, c_in: int, c_out: int, k: int, stride: int, group: int, relu6: bool) -> str:
        """A convolution with its batch normalization folded in (He-scaled weights, so that
        activations keep their magnitude through the depth of the network)."""
        name = self.name("conv")
        fan_in = c_in // group * k * k
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), (c_out, c_in // group, k, k)).astype(np.float32)
        b = self.rng.normal(0.0, 0.05, (c_out,)).astype(np.float32)
        self.inits += [numpy_helper.from_array(w, f"{name}.w"), numpy_helper.from_array(b, f"{name}.b")]
        pad = k // 2
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{name}.w", f"{name}.b"],
                [name],
                name=name,
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[pad, pad, pad, pad],
                group=group,
            )
        )
        if not relu6:
            return name
        out = self.name("relu6")
        lo, hi = f"{out}.min", f"{out}.max"
        self.inits += [
            numpy_helper.from_array(np.array(0.0, np.float32), lo),
            numpy_helper.from_array(np.array(6.0, np.float32), hi),
        ]
        self.nodes.append(helper.make_node("Clip", [name, lo, hi], [out], name=out))
        return out

    def add(self, a: str, b: str) -> str:
        out = self.name("add")
        self.nodes.append(helper.make_node("Add", [a, b], [out], name=out))
        return out


def build(alpha: float, size: int, classes: int, seed: int) -> onnx.ModelProto:
    g = Builder(seed)
    c_in = divisible(32 * alpha)
    x = g.conv("input", 3, c_in, 3, 2, 1, True)
    for t, c, n, s in BLOCKS:
        c_out = divisible(c * alpha)
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = c_in * t
            y = x if t == 1 else g.conv(x, c_in, hidden, 1, 1, 1, True)
            y = g.conv(y, hidden, hidden, 3, stride, hidden, True)
            y = g.conv(y, hidden, c_out, 1, 1, 1, False)
            x = g.add(x, y) if stride == 1 and c_in == c_out else y
            c_in = c_out
    last = divisible(1280 * max(1.0, alpha))
    x = g.conv(x, c_in, last, 1, 1, 1, True)
    pooled = g.name("pool")
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled], name=pooled))
    flat = g.name("flatten")
    g.nodes.append(helper.make_node("Flatten", [pooled], [flat], name=flat))
    w = g.rng.normal(0.0, np.sqrt(1.0 / last), (classes, last)).astype(np.float32)
    b = np.zeros((classes,), np.float32)
    g.inits += [numpy_helper.from_array(w, "fc.w"), numpy_helper.from_array(b, "fc.b")]
    g.nodes.append(helper.make_node("Gemm", [flat, "fc.w", "fc.b"], ["logits"], name="fc", transB=1))
    graph = helper.make_graph(
        g.nodes,
        f"mobilenetv2_{alpha}_{size}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--alpha", type=float, default=0.35)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--calibration", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path)
    a = p.parse_args()
    out = a.out or Path(f"target/bench-models/mobilenetv2_{int(a.alpha * 100):03d}_{a.size}")
    out.mkdir(parents=True, exist_ok=True)
    model = build(a.alpha, a.size, a.classes, a.seed)
    onnx.save(model, out / "model.onnx")
    rng = np.random.default_rng(a.seed + 1)
    # Images in [0, 1] on a 1/16 grid, as a normalized input pipeline would give.
    images = rng.uniform(0.0, 1.0, (a.calibration + 1, 3, a.size, a.size)).astype(np.float32)
    images = np.round(images * 16) / 16
    with open(out / "input.json", "w") as f:
        json.dump({"input_data": [images[0].reshape(-1).tolist()]}, f)
    with open(out / "calibration.json", "w") as f:
        json.dump({"inputs": [im.reshape(-1).tolist() for im in images[1:]]}, f)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": images[:1]})[0]
    with open(out / "expected.json", "w") as f:
        json.dump({"output_data": [logits.reshape(-1).tolist()]}, f)
    print(f"wrote {out}: {len(model.graph.node)} nodes, "
          f"{sum(int(np.prod(i.dims)) for i in model.graph.initializer)} parameters")


if __name__ == "__main__":
    main()
