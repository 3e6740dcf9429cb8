#!/usr/bin/env python3
"""PyTorch modules of the kinds people train, exported by both of torch's ONNX exporters (the
TorchScript one, opset 17, and `torch.export`'s, torch's default since 2.9, which writes the
weights to an external data file beside the model), through snarkml. Each export is compiled on
16 calibration inputs, run on 8 held-out inputs against onnxruntime, the last one mocked. Prints
one line per model and exporter: compile time, scale, k, rows, mock, and the error
Σ|snarkml − onnxruntime| / Σ|onnxruntime| (compile's own measure).

torch is not a dependency of the project (its wheels and their CUDA libraries are gigabytes);
install it beside, with onnxscript (the new exporter's), where this runs:

    .venv/bin/pip install -q --target /tmp/torch torch
    .venv/bin/pip install -q --no-deps --target /tmp/onnxscript onnxscript onnx_ir
    PYTHONPATH=/tmp/torch:/tmp/onnxscript .venv/bin/python scripts/bench_torch.py \\
        --snarkml target/debug/snarkml
"""

from __future__ import annotations

import io
import logging
import sys
import tempfile
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import measure_against_onnxruntime, snarkml_args  # noqa: E402


class Cnn(nn.Module):
    """LeNet-like digits CNN: Conv, BatchNorm, MaxPool, Flatten, Linear, Softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        return torch.softmax(self.head(torch.flatten(self.features(x), 1)), -1)


class Residual(nn.Module):
    """A ResNet basic block and global average pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                               nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, bias=False),
                               nn.BatchNorm2d(8))
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(x + self.a(x))
        return self.fc(nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))


class MobileBlock(nn.Module):
    """MobileNetV2's inverted residual: expansion, depthwise conv, ReLU6, projection."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(4, 16, 1), nn.BatchNorm2d(16), nn.ReLU6(),
            nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.BatchNorm2d(16), nn.ReLU6(),
            nn.Conv2d(16, 4, 1), nn.BatchNorm2d(4))

    def forward(self, x):
        return x + self.block(x)


class RecurrentHead(nn.Module):
    """A recurrent layer (LSTM, GRU) over the sequence, a linear layer on its last step."""

    def __init__(self, cell, inputs: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.rnn = cell(inputs, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, outputs)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


class Transformer(nn.Module):
    """One encoder layer (multi-head attention, LayerNorm, GELU feed-forward), mean pooled."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation="gelu",
                                                batch_first=True)
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc(self.layer(x).mean(1))


class Autoencoder(nn.Module):
    """Conv encoder, ConvTranspose decoder, Sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU())
        self.dec = nn.Sequential(nn.ConvTranspose2d(4, 1, 2, stride=2), nn.Sigmoid())

    def forward(self, x):
        return self.dec(self.enc(x))


MODELS = [
    ("MLP (Linear, ReLU, Tanh)", lambda: nn.Sequential(nn.Linear(10, 32), nn.ReLU(),
                                                       nn.Linear(32, 16), nn.Tanh(),
                                                       nn.Linear(16, 3)), (1, 10)),
    ("CNN (Conv, BatchNorm, MaxPool, Softmax)", Cnn, (1, 1, 8, 8)),
    ("ResNet block (residual, global average pool)", Residual, (1, 3, 8, 8)),
    ("MobileNetV2 block (depthwise, ReLU6)", MobileBlock, (1, 4, 8, 8)),
    ("LSTM classifier", lambda: RecurrentHead(nn.LSTM, 6, 12, 3), (1, 5, 6)),
    ("GRU regressor", lambda: RecurrentHead(nn.GRU, 4, 8, 1), (1, 6, 4)),
    ("Transformer encoder layer (GELU)", Transformer, (1, 6, 16)),
    ("autoencoder (ConvTranspose, Sigmoid)", Autoencoder, (1, 1, 8, 8)),
]


def export(module: nn.Module, x: np.ndarray, folder: Path, dynamo: bool) -> None:
    """`folder/m.onnx` as torch writes it (the new exporter: with `m.onnx.data` beside)."""
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed"
    options = {"dynamo": True} if dynamo else {"dynamo": False, "opset_version": 17}
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.as_tensor(x),), str(folder / "m.onnx"),
                          input_names=["input"], **options)


def main() -> int:
    args = snarkml_args(__doc__)
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}", flush=True)
    rng = np.random.default_rng(0)
    for name, make, shape in MODELS:
        torch.manual_seed(0)
        module = make().eval()
        cal = [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(16)]
        held = [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(8)]
        for exporter, dynamo in [("TorchScript, opset 17", False), ("torch.export", True)]:
            with tempfile.TemporaryDirectory() as tmp:
                t = Path(tmp)
                try:
                    export(module, cal[0], t, dynamo)
                except Exception as e:  # noqa: BLE001 (the exporter's failure is the row)
                    row = f"torch's export failed: {str(e).strip().splitlines()[0][:120]}"
                else:
                    external = "m.onnx.data" if (t / "m.onnx.data").exists() else "inline"
                    row = f"{external} | " + measure_against_onnxruntime(args.snarkml, t, None,
                                                                        cal, held)
            print(f"{name} | {exporter} | {row}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
