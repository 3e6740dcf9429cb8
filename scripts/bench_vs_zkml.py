"""snarkml against ddkang/zkml on zkml's own MNIST, same machine, one run.

Builds zkml from fetched snapshots (see scripts/bench-vs-zkml), converts its TFLite MNIST to
ONNX (the logits: zkml proves the model up to the Softmax, which the converter keeps and we
drop), runs zkml's `time_circuit … kzg` and snarkml's compile, setup, prove and verify on the
same input, and compares the outputs with onnxruntime's. The results replace the section
between the markers in BENCHMARKS.md.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import io
from datetime import date
from pathlib import Path

from bench_common import machine, write_section

import msgpack
import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "zkml-anchor"
START = "<!-- bench-vs-zkml:start -->"
END = "<!-- bench-vs-zkml:end -->"
HALO2_REV = "17e9765c199670534c0299c96128d0464a188d0b"  # pinned in zkml's Cargo.toml
CURVES_REV = "0.3.2"  # the tag pinned by that halo2


def git(mirror: Path, *args: str, binary: bool = False):
    out = subprocess.run(["git", f"--git-dir={mirror}", *args], check=True,
                         capture_output=True)
    return out.stdout if binary else out.stdout.decode()


def extract(mirrors: Path) -> Path:
    """zkml, halo2 and halo2curves under WORK, the git dependencies rewritten as paths."""
    zkml, halo2, curves = WORK / "zkml", WORK / "halo2", WORK / "halo2curves"
    if (zkml / "Cargo.toml").exists():
        return zkml
    zgit = mirrors / "ddkang+zkml" / "repo"
    # `git archive` stops at two large blobs absent from the snapshot (neither is needed):
    # write the tree blob by blob.
    for line in git(zgit, "ls-tree", "-r", "HEAD").splitlines():
        meta, path = line.split("\t", 1)
        sha = meta.split()[2]
        try:
            data = git(zgit, "cat-file", "blob", sha, binary=True)
        except subprocess.CalledProcessError:
            print(f"bench-vs-zkml: skipping {path} (not in the snapshot)", file=sys.stderr)
            continue
        dest = zkml / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    for mirror, rev, dest in [(mirrors / "privacy-scaling-explorations+halo2" / "repo", HALO2_REV, halo2),
                              (mirrors / "privacy-scaling-explorations+halo2curves" / "repo", CURVES_REV, curves)]:
        dest.mkdir(parents=True, exist_ok=True)
        tarfile.open(fileobj=io.BytesIO(git(mirror, "archive", rev, binary=True))).extractall(dest, filter="data")
    # cargo cannot fetch git dependencies here, and [patch] does not work offline.
    toml = zkml / "Cargo.toml"
    text = toml.read_text()
    for crate in ["halo2", "halo2_gadgets", "halo2_proofs"]:
        text = re.sub(r'git\s*=\s*"https://github.com/privacy-scaling-explorations/halo2",\s*'
                      rf'package\s*=\s*"{crate}",\s*rev\s*=\s*"{HALO2_REV}"',
                      f'path = "{halo2 / crate}"', text)
    # Its own workspace root, wherever it is unpacked (under ours, target/zkml-anchor/).
    if "[workspace]" not in text:
        text += "\n[workspace]\n"
    toml.write_text(text)
    for sub in ["halo2_proofs", "halo2_gadgets"]:
        t = halo2 / sub / "Cargo.toml"
        t.write_text(re.sub(r"halo2curves = \{ git = '[^']*', tag = \"0.3.2\" \}",
                            f'halo2curves = {{ path = "{curves}" }}', t.read_text()))
    shutil.copy(ROOT / "scripts" / "zkml" / "Cargo.lock", zkml / "Cargo.lock")
    return zkml


def build(zkml: Path) -> Path:
    binary = zkml / "target" / "release" / "time_circuit"
    if not binary.exists():
        print("bench-vs-zkml: building zkml (cargo +nightly build --release, ~7 min)",
              file=sys.stderr)
        subprocess.run(["cargo", "+nightly", "build", "--release", "--bin", "time_circuit"],
                       cwd=zkml, check=True)
    return binary


def timed(cmd, cwd=None) -> tuple[str, float, float]:
    """stdout, wall seconds and peak RSS (MiB) of a command, by /usr/bin/time."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *map(str, cmd)], cwd=cwd,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {out.stderr[-2000:]}")
    line = [l for l in out.stderr.splitlines() if l.startswith("TIME ")][-1]
    _, wall, rss = line.split()
    return out.stdout, float(wall), int(rss) / 1024


def run_zkml(zkml: Path, runs: int) -> dict:
    (zkml / "params_kzg").mkdir(exist_ok=True)
    args = [zkml / "target/release/time_circuit", "examples/mnist/model.msgpack",
            "examples/mnist/inp.msgpack", "kzg"]
    timed(args, cwd=zkml)  # the first run writes its params
    prove, rss, k = [], [], None
    for _ in range(runs):
        out, _, peak = timed(args, cwd=zkml)
        # Its "Proving time" includes a MockProver pass; the figure is what it prints.
        m = re.search(r"Proving time: ([0-9.]+)(ms|s)", out)
        prove.append(float(m.group(1)) / (1000 if m.group(2) == "ms" else 1))
        rss.append(peak)
    config = msgpack.unpackb((zkml / "examples/mnist/model.msgpack").read_bytes())
    k = config.get("k")
    return {"k": k, "columns": config.get("num_cols"), "prove_s": statistics.median(prove),
            "peak_rss_mib": max(rss)}


def to_onnx(zkml: Path, out: Path) -> tuple[Path, Path, np.ndarray]:
    """zkml's MNIST as ONNX (logits), its input as snarkml input JSON, onnxruntime's logits."""
    out.mkdir(parents=True, exist_ok=True)
    full = out / "model_softmax.onnx"
    subprocess.run([Path(sys.executable).parent / "tflite2onnx",
                    zkml / "examples/mnist/model.tflite", full], check=True)
    m = onnx.load(full)
    softmax = [n for n in m.graph.node if n.op_type == "Softmax"]
    assert len(softmax) == 1 and softmax[0].output[0] == m.graph.output[0].name
    logits = softmax[0].input[0]
    m.graph.node.remove(softmax[0])
    m.graph.output.remove(m.graph.output[0])
    m.graph.output.append(helper.make_tensor_value_info(logits, onnx.TensorProto.FLOAT, [1, 10]))
    onnx.checker.check_model(m)
    model = out / "model.onnx"
    onnx.save(m, model)
    # zkml's input: NHWC int64 at scale 512 (global_sf); ONNX takes NCHW floats.
    inp = msgpack.unpackb((zkml / "examples/mnist/inp.msgpack").read_bytes())[0]
    x = np.array(inp["data"], dtype=np.float64).reshape(inp["shape"]) / 512.0
    x = x.transpose(0, 3, 1, 2).astype(np.float32)
    data = out / "input.json"
    data.write_text(json.dumps({"input_data": [x.flatten().tolist()]}))
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0].flatten()
    return model, data, y


def run_snarkml(bin_: str, model: Path, data: Path, out: Path, flags: list[str], runs: int,
                expected: np.ndarray) -> dict:
    b = out / ("build" + "".join(f.replace("--", "-") for f in flags))
    shutil.rmtree(b, ignore_errors=True)
    text, compile_s, _ = timed([bin_, "compile", model, "--calibration", data, "-o", b] + flags)
    m = json.loads((b / "model.json").read_text())
    k = m["layout"]["k"]
    srs = out / f"srs-k{k}.bin"
    if not srs.exists():
        timed([bin_, "srs", "gen", "--k", k, "-o", srs])
    _, setup_s, setup_rss = timed([bin_, "setup", b, "--srs", srs])
    prove, rss = [], []
    proof = b / "proof.json"
    for _ in range(runs):
        out_text, _, peak = timed([bin_, "prove", b, "--input", data, "-o", proof])
        prove.append(float(re.search(r"proved in ([0-9.]+)s", out_text).group(1)))
        rss.append(peak)
    _, verify_s, _ = timed([bin_, "verify", b, proof])
    run = json.loads(timed([bin_, "run", b, "--input", data, "--json"])[0])
    ours = np.array(run["outputs"][0]["values"], dtype=np.float64)
    err = np.abs(ours - expected)
    return {"flags": " ".join(flags), "width": m["layout"]["width"], "k": k, "rows": m["rows"],
            "compile_s": compile_s,
            "setup_s": setup_s, "setup_rss_mib": setup_rss, "prove_s": statistics.median(prove),
            "peak_rss_mib": max(rss), "verify_s": verify_s,
            "max_err_pct": 100 * err.max() / np.abs(expected).max(),
            "mean_rel_err_pct": 100 * float(np.mean(err / np.maximum(np.abs(expected), 1e-9))),
            "top1": int(ours.argmax()) == int(expected.argmax())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snarkml", required=True, help="the snarkml binary to measure")
    ap.add_argument("--runs", type=int, default=3, help="proofs per tool (the median is reported)")
    ap.add_argument("--mirror", default=os.environ.get("MIRROR", "/work/.mirror"),
                    help="the folder holding the fetched snapshots")
    ap.add_argument("--no-write", action="store_true", help="print only")
    a = ap.parse_args()
    zkml = extract(Path(a.mirror))
    build(zkml)
    model, data, expected = to_onnx(zkml, WORK / "mnist")
    theirs = run_zkml(zkml, a.runs)
    # The default compile, the optimizer's choice of width, and dot products only.
    ours = [run_snarkml(a.snarkml, model, data, WORK / "mnist", flags, a.runs, expected)
            for flags in [[], ["--optimize"], ["--linear", "direct"]]]
    best = min(ours, key=lambda o: o["prove_s"])
    lines = [START, "",
             f"zkml's `examples/mnist` (six convolutions with ReLU6, average pools; logits), "
             f"{date.today()}, {machine()}; `scripts/bench-vs-zkml` (medians of {a.runs} proofs; "
             "peak RSS of the proving process: zkml's `time_circuit` also makes its keys, "
             "snarkml's `prove` reads them from `setup`).", "",
             "| tool | width | k | rows | compile | prove | peak RSS | outputs vs onnxruntime |",
             "|---|---|---|---|---|---|---|---|",
             f"| zkml (`time_circuit … kzg`, {theirs['columns']} columns) | | {theirs['k']} | "
             f"2^{theirs['k']} | | {theirs['prove_s']:.2f} s | {theirs['peak_rss_mib']:.0f} MiB | |"]
    for o in ours:
        lines.append(
            f"| snarkml `compile{(' ' + o['flags']) if o['flags'] else ''}` | {o['width']} | "
            f"{o['k']} | {o['rows']:,} | {o['compile_s']:.2f} s | {o['prove_s']:.2f} s | "
            f"{o['peak_rss_mib']:.0f} MiB (setup {o['setup_rss_mib']:.0f}) | "
            f"max {o['max_err_pct']:.2f} % of the largest logit, top-1 "
            f"{'agrees' if o['top1'] else 'DIFFERS'} |")
    name = f"`compile {best['flags']}`" if best["flags"] else "`compile`"
    lines += ["", f"snarkml ({name}) proves in {best['prove_s'] / theirs['prove_s']:.2f}× "
              f"zkml's time ({theirs['prove_s'] / best['prove_s']:.1f}× faster) with "
              f"{best['peak_rss_mib'] / theirs['peak_rss_mib']:.2f}× its memory.", "",
              END]
    section = "\n".join(lines)
    print(section)
    print(json.dumps({"zkml": theirs, "snarkml": ours}, indent=1), file=sys.stderr)
    if a.no_write:
        return 0
    write_section(ROOT / "BENCHMARKS.md", START, END,
                  "## snarkml vs zkml on zkml's MNIST (`scripts/bench-vs-zkml`)", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
