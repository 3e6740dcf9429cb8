#!/usr/bin/env python3
"""Write a GAN generator ONNX model with random weights (a compile-time benchmark: the shape
of the DCGAN-style MNIST generators people export, two transposed convolutions).

    .venv/bin/python scripts/make_gan.py [--latent 32] [--channels 32] \\
        [--out target/bench-models/gan_generator]

Gemm (latent → C·7·7), ReLU, reshape to [1, C, 7, 7], ConvTranspose 4x4 stride 2 (C → C/2,
14x14), ReLU, ConvTranspose 4x4 stride 2 (C/2 → 1, 28x28), Tanh. Writes model.onnx,
input.json, calibration.json (8 latent vectors) and expected.json (onnxruntime's output).
Deterministic.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--out", default="target/bench-models/gan_generator")
    a = ap.parse_args()
    rng = np.random.default_rng(7)
    c, h = a.channels, a.channels // 2

    def w(name, shape, fan_in):
        return numpy_helper.from_array(
            (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32), name)

    inits = [
        w("fc.w", (a.latent, c * 49), a.latent), w("fc.b", (c * 49,), a.latent),
        numpy_helper.from_array(np.array([1, c, 7, 7], dtype=np.int64), "shape"),
        w("up1.w", (c, h, 4, 4), c * 4), w("up1.b", (h,), c * 4),
        w("up2.w", (h, 1, 4, 4), h * 4), w("up2.b", (1,), h * 4),
    ]
    nodes = [
        helper.make_node("Gemm", ["z", "fc.w", "fc.b"], ["fc"]),
        helper.make_node("Relu", ["fc"], ["fc_r"]),
        helper.make_node("Reshape", ["fc_r", "shape"], ["grid"]),
        helper.make_node("ConvTranspose", ["grid", "up1.w", "up1.b"], ["up1"],
                         kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["up1"], ["up1_r"]),
        helper.make_node("ConvTranspose", ["up1_r", "up2.w", "up2.b"], ["up2"],
                         kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Tanh", ["up2"], ["image"]),
    ]
    graph = helper.make_graph(
        nodes, "gan_generator",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, a.latent])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 28, 28])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="snarkml-bench")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out / "model.onnx"))
    zs = [np.round(rng.standard_normal((1, a.latent)) * 64) / 64 for _ in range(8)]
    flat = lambda z: [float(v) for v in z.astype(np.float32).ravel()]  # noqa: E731
    (out / "input.json").write_text(json.dumps({"input_data": [flat(zs[0])]}))
    (out / "calibration.json").write_text(json.dumps({"inputs": [flat(z) for z in zs]}))
    sess = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    y = sess.run(None, {"z": zs[0].astype(np.float32)})[0]
    (out / "expected.json").write_text(json.dumps({"output_data": [flat(y)]}))
    print(f"wrote {out}: latent {a.latent}, channels {c}")


if __name__ == "__main__":
    main()
