#!/usr/bin/env python3
"""Keras models as TensorFlow users export them, through snarkml: converted by tf2onnx from the
Keras model itself, from its float TFLite conversion, and from its int8 TFLite conversion (the
QDQ form), plus a float model quantized by onnxruntime's `quantize_static` (QDQ too) and by
its `quantize_dynamic` (DynamicQuantizeLinear, MatMulInteger, ConvInteger). Each
model has seeded random weights; each conversion is compiled on 16 random inputs in [-1, 1]
(token ids for the text model), run on 8 others and compared with onnxruntime, one mocked.
Prints one line per model and form: compile time, scale, k, rows, mock, and the error
Σ|snarkml − onnxruntime| / Σ|onnxruntime| over the 8 held-out inputs (compile's own measure).

    .venv/bin/pip install --target /tmp/tf tensorflow-cpu tf2onnx    # not project dependencies
    PYTHONPATH=/tmp/tf .venv/bin/python scripts/bench_keras.py --snarkml target/debug/snarkml
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
try:
    import tensorflow as tf
    import tf2onnx
    from tensorflow import keras
    from tensorflow.keras import layers as L
except ImportError:
    sys.exit("tensorflow and tf2onnx are missing: .venv/bin/pip install --target /tmp/tf "
             "tensorflow-cpu tf2onnx, then PYTHONPATH=/tmp/tf")
import onnxruntime as ort
from onnxruntime import quantization as ortq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import measure_against_onnxruntime as measure  # noqa: E402
from bench_common import quantize_dynamic_apart, snarkml_args  # noqa: E402


def cnn():
    return keras.Sequential([
        keras.Input((28, 28, 1)), L.Conv2D(8, 3, padding="same", activation="relu"),
        L.BatchNormalization(), L.MaxPooling2D(), L.Conv2D(16, 3, activation="relu"),
        L.GlobalAveragePooling2D(), L.Dropout(0.2), L.Dense(10, activation="softmax")])


def separable():
    i = keras.Input((16, 16, 3))
    x = L.ReLU(6.0)(L.BatchNormalization()(L.Conv2D(8, 3, strides=2, padding="same")(i)))
    y = L.ReLU(6.0)(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same")(x)))
    x = L.Add()([x, L.Conv2D(8, 1)(y)])
    return keras.Model(i, L.Dense(4)(L.GlobalAveragePooling2D()(x)))


def text():
    i = keras.Input((12,), dtype="int32")
    x = L.GRU(8)(L.Embedding(50, 8)(i))
    return keras.Model(i, L.Dense(2, activation="sigmoid")(x))


def lstm():
    return keras.Sequential([keras.Input((6, 4)), L.LSTM(8, return_sequences=True), L.LSTM(4),
                             L.Dense(3)])


def generator():
    return keras.Sequential([
        keras.Input((8,)), L.Dense(4 * 4 * 8), L.Reshape((4, 4, 8)),
        L.Conv2DTranspose(8, 3, strides=2, padding="same"), L.BatchNormalization(),
        L.LeakyReLU(0.2), L.Conv2DTranspose(1, 3, strides=2, padding="same", activation="tanh")])


def attention():
    i = keras.Input((6, 8))
    x = L.LayerNormalization()(i + L.MultiHeadAttention(2, 4)(i, i))
    f = L.Dense(16, activation="relu")(x)
    x = L.LayerNormalization()(x + L.Dense(8)(f))
    return keras.Model(i, L.Dense(3)(L.GlobalAveragePooling1D()(x)))


def upsample():
    i = keras.Input((8, 8, 2))
    x = L.UpSampling2D()(L.Conv2D(4, 3, padding="same", activation="relu")(i))
    x = L.Conv2D(2, 3, padding="same")(L.AveragePooling2D(2, padding="same")(x))
    return keras.Model(i, L.Flatten()(L.Concatenate()([x, i])))


MODELS = {"CNN (28x28, conv + batch norm + max pool)": cnn,
          "MobileNet-style block (depthwise, ReLU6, residual)": separable,
          "text classifier (int32 ids, embedding, GRU)": text,
          "two stacked LSTMs": lstm,
          "GAN generator (dense, two transposed convs)": generator,
          "transformer block (two-head attention, LayerNorm)": attention,
          "upsampling and average pooling, concat": upsample}


def inputs(model, rng, count: int) -> list[np.ndarray]:
    shape = [1] + list(model.inputs[0].shape[1:])
    if model.inputs[0].dtype == "int32":
        return [rng.integers(0, 50, size=shape).astype(np.int32) for _ in range(count)]
    return [rng.uniform(-1, 1, size=shape).astype(np.float32) for _ in range(count)]


def main() -> int:
    args = snarkml_args(__doc__)
    print(f"tensorflow {tf.__version__}, tf2onnx {tf2onnx.__version__}, "
          f"onnxruntime {ort.__version__}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        for label, make in MODELS.items():
            keras.utils.set_random_seed(0)
            rng = np.random.default_rng(0)
            model = make()
            cal, held = inputs(model, rng, 16), inputs(model, rng, 8)
            spec = (tf.TensorSpec([1] + list(model.inputs[0].shape[1:]), model.inputs[0].dtype,
                                  name="x"),)
            fn = tf.function(lambda x, m=model: m(x, training=False))
            proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=17)
            forms = [("Keras", proto.SerializeToString())]
            for quantized in (False, True):
                converter = tf.lite.TFLiteConverter.from_keras_model(model)
                if quantized:
                    converter.optimizations = [tf.lite.Optimize.DEFAULT]
                    converter.representative_dataset = lambda: ([c] for c in cal)
                try:
                    (t / "m.tflite").write_bytes(converter.convert())
                    lite, _ = tf2onnx.convert.from_tflite(str(t / "m.tflite"), opset=17)
                    forms.append(("TFLite int8" if quantized else "TFLite",
                                  lite.SerializeToString()))
                except Exception as e:  # noqa: BLE001 (the converter's own failures)
                    forms.append(("TFLite int8" if quantized else "TFLite",
                                  f"conversion failed: {str(e).splitlines()[0][:120]}"))
            (t / "float.onnx").write_bytes(forms[0][1])
            if model.inputs[0].dtype != "int32":

                class Reader(ortq.CalibrationDataReader):
                    def __init__(self):
                        self.rows = iter([{"x": c} for c in cal])

                    def get_next(self):
                        return next(self.rows, None)

                ortq.quantize_static(str(t / "float.onnx"), str(t / "qdq.onnx"), Reader(),
                                     quant_format=ortq.QuantFormat.QDQ)
                forms.append(("onnxruntime quantize_static", (t / "qdq.onnx").read_bytes()))
            # Dynamic quantization (int8 weights, the activations' scale computed from the data
            # at run time): what onnxruntime recommends for transformers and RNNs.
            q = quantize_dynamic_apart(t / "float.onnx", t / "dynamic.onnx")
            last = (q.stderr.strip().splitlines() or ["?"])[-1][-120:]
            forms.append(("onnxruntime quantize_dynamic",
                          (t / "dynamic.onnx").read_bytes() if q.returncode == 0 else
                          f"onnxruntime failed (exit status {q.returncode}): {last}"))
            (t / "dynamic.onnx").unlink(missing_ok=True)
            for form, data in forms:
                row = data if isinstance(data, str) else measure(args.snarkml, t, data, cal, held)
                print(f"{label} | {form} | {row}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
