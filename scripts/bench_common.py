"""What the benchmark scripts share: the machine's description and BENCHMARKS.md sections
(scripts/bench-vs-ezkl, scripts/bench-vs-zkml), and a model compiled, run and mocked against
onnxruntime (scripts/bench_keras.py, scripts/bench_dynamic.py, scripts/bench_torch.py,
scripts/bench_transformers.py)."""

import argparse
import json
import os
import sys
import platform
import subprocess
import time
from pathlib import Path


def machine() -> str:
    """The CPU, cores, memory and kernel, for the header of a benchmark table."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def write_section(bench: Path, start: str, end: str, heading: str, section: str) -> None:
    """Replaces the text between the `start` and `end` markers of `bench` (BENCHMARKS.md) with
    `section` (markers included), or appends it under `heading` the first time."""
    text = bench.read_text()
    if start in text and end in text:
        text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text += f"\n{heading}\n\n{section}\n"
    bench.write_text(text)


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def snarkml_args(doc: str) -> argparse.Namespace:
    """The command line of a benchmark that takes only `--snarkml BINARY` (its description: the
    first paragraph of the script's docstring `doc`)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--snarkml", required=True)
    return p.parse_args()


def quantize_dynamic_apart(src: Path, dst: Path) -> subprocess.CompletedProcess:
    """onnxruntime's `quantize_dynamic` of `src` (int8 weights) into `dst`, then `dst` loaded,
    in a process of its own: onnxruntime aborts loading some of its own quantized graphs."""
    return run([sys.executable, "-c",
                "import sys, onnxruntime as o; from onnxruntime import quantization as q; "
                "q.quantize_dynamic(sys.argv[1], sys.argv[2], weight_type=q.QuantType.QInt8); "
                "o.InferenceSession(sys.argv[2])",
                str(src), str(dst)])


def measure_against_onnxruntime(snarkml: str, t: Path, onnx_bytes: bytes | None, cal,
                                held, allow_error: bool = False) -> str:
    """Compiles the model (`onnx_bytes`, or `t/m.onnx` already there when None) on the
    calibration inputs `cal`, runs the held-out inputs `held` against onnxruntime (each a numpy
    array of the input's shape, or a tuple of them, one per model input; the error is
    Σ|snarkml − onnxruntime| / Σ|onnxruntime| of the first output, compile's own measure) and
    mocks the last: a benchmark table row's cells. `allow_error`: keep a model over compile's
    accuracy target, saying so. Works in the folder `t`."""
    import numpy as np
    import onnxruntime as ort

    def inputs(sample) -> list:
        return list(sample) if isinstance(sample, (tuple, list)) else [sample]

    if onnx_bytes is not None:
        (t / "m.onnx").write_bytes(onnx_bytes)
    (t / "cal.json").write_text(json.dumps(
        {"inputs": [[a.ravel().tolist() for a in inputs(c)] for c in cal]}))
    start = time.time()
    c = run([snarkml, "compile", str(t / "m.onnx"), "--calibration", str(t / "cal.json"),
             "-o", str(t / "b"), "--json"] + (["--allow-error"] if allow_error else []))
    if c.returncode:
        return f"refused: {c.stderr.strip()}"
    secs, info = time.time() - start, json.loads(c.stdout)
    session = ort.InferenceSession(str(t / "m.onnx"))
    names = [i.name for i in session.get_inputs()]
    err = mag = 0.0
    for x in held:
        (t / "in.json").write_text(json.dumps(
            {"input_data": [a.ravel().tolist() for a in inputs(x)]}))
        got = np.array(json.loads(run([snarkml, "run", str(t / "b"), "--input",
                                       str(t / "in.json"), "--json"]).stdout)
                       ["outputs"][0]["values"])
        want = session.run(None, dict(zip(names, inputs(x))))[0].ravel()
        err += float(np.abs(got - want).sum())
        mag += float(np.abs(want).sum())
    m = run([snarkml, "mock", str(t / "b"), "--input", str(t / "in.json")])
    over = info["error"]["mean_relative"] > 0.01
    return (f"compile {secs:.1f} s, 2^{info['scale_bits']}, k = {info['k']}, "
            f"{info['rows']:,} rows, mock {'ok' if m.returncode == 0 else 'FAILED'}, "
            f"held-out error {100 * err / mag:.2f} %"
            + (" (calibration over the 1 % target: --allow-error)" if over else ""))


def exported_row(export, what: str, snarkml: str, t: Path, cal, held) -> str:
    """`export()` (writing `t/m.onnx`), then [`measure_against_onnxruntime`] keeping a model
    over the accuracy target; or, where the exporter fails, the row saying so (`what`: the
    exporter's name)."""
    try:
        export()
    except Exception as e:  # noqa: BLE001 (the exporter's failure is the row)
        return f"{what} failed: {str(e).strip().splitlines()[0][:120]}"
    return measure_against_onnxruntime(snarkml, t, None, cal, held, allow_error=True)
