#!/usr/bin/env python3
"""onnxruntime's dynamic quantization (`quantize_dynamic`: int8 weights, each activation's
scale computed from the data at run time: DynamicQuantizeLinear, MatMulInteger, ConvInteger)
of the corpus's float models, through snarkml. Each quantized model is compiled on its corpus
calibration samples, run on 8 held-out inputs (uniform within each element's calibration
range) against onnxruntime running the quantized model, the last one mocked. Prints one line
per model: the float original's result, then the quantized one's: compile time, scale, k,
rows, mock, and the error Σ|snarkml − onnxruntime| / Σ|onnxruntime| (compile's own measure).

    .venv/bin/python scripts/bench_dynamic.py --snarkml target/debug/snarkml
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import measure_against_onnxruntime  # noqa: E402
from bench_common import quantize_dynamic_apart, snarkml_args  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus"
# Float models whose matrix products and convolutions quantize_dynamic rewrites.
MODELS = ["cnn_digits", "prelu_channels", "matmul_qk", "attention_head", "transformer_block",
          "gru_torch", "rnn_bidirectional", "lstm_small"]


def main() -> int:
    args = snarkml_args(__doc__)
    print(f"onnxruntime {ort.__version__}", flush=True)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        for name in MODELS:
            stem = CORPUS / name
            dims = onnx.load(f"{stem}.onnx").graph.input[0].type.tensor_type.shape.dim
            shape = [d.dim_value for d in dims]
            cal = [np.array(c, np.float32).reshape(shape)
                   for c in json.loads(Path(f"{stem}.calibration.json").read_text())["inputs"]]
            lo, hi = np.min(cal, axis=0), np.max(cal, axis=0)
            held = [rng.uniform(lo, hi).astype(np.float32) for _ in range(8)]
            float_row = measure_against_onnxruntime(
                args.snarkml, t, Path(f"{stem}.onnx").read_bytes(), cal, held)
            q = quantize_dynamic_apart(Path(f"{stem}.onnx"), t / "dynamic.onnx")
            if q.returncode:
                row = f"onnxruntime failed: {(q.stderr.strip().splitlines() or ['?'])[-1][-120:]}"
            else:
                data = (t / "dynamic.onnx").read_bytes()
                ops = sorted({n.op_type for n in onnx.load_from_string(data).graph.node}
                             & {"DynamicQuantizeLinear", "MatMulInteger", "ConvInteger",
                                "DynamicQuantizeLSTM"})
                row = f"{', '.join(ops)}: " + measure_against_onnxruntime(args.snarkml, t, data,
                                                                          cal, held)
            print(f"{name} | float | {float_row}", flush=True)
            print(f"{name} | quantize_dynamic | {row}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
