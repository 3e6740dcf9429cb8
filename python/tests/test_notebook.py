"""The example notebooks executed cell by cell, as a reader runs them: each trains a digits
classifier (scikit-learn's MLP in examples/train_prove_verify.ipynb, a PyTorch CNN in
examples/pytorch_prove_verify.ipynb: where torch is installed, `scripts/setup --torch`), proves
one prediction and verifies it on the test's anvil."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT

EXAMPLES = ROOT / "examples"


def run_notebook(name: str, anvil: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Executes every code cell of `examples/name` in one scope (the reader's kernel), on the
    test's anvil; returns the scope."""
    notebook = EXAMPLES / name
    cells = json.loads(notebook.read_text())["cells"]
    code = [("".join(c["source"]), i) for i, c in enumerate(cells) if c["cell_type"] == "code"]
    assert len(code) >= 6, "the notebook has its steps"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SNARKML_RPC_URL", anvil)
    scope: dict = {}
    for source, i in code:
        exec(compile(source, f"{notebook.name}, cell {i}", "exec"), scope)
    assert scope["gas"] > 21_000
    assert scope["deployment"]["chain_id"] == 31337
    return scope


def test_the_example_notebook_runs_and_proves_what_scikit_learn_predicts(
    anvil: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = run_notebook("train_prove_verify.ipynb", anvil, tmp_path, monkeypatch)
    x = scope["x"]
    assert scope["proven_class"] == int(scope["clf"].predict(x[None])[0])


def test_the_pytorch_notebook_runs_and_proves_what_the_module_predicts(
    anvil: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch", reason="torch is not installed (scripts/setup --torch)")
    scope = run_notebook("pytorch_prove_verify.ipynb", anvil, tmp_path, monkeypatch)
    x, net = scope["x"], scope["net"]
    assert not net.training, "the module is left in eval mode"
    want = int(scope["torch_logits"](x).argmax())
    assert scope["proven_class"] == want
    # The proof's outputs are the circuit's: those `run` gives for the same image.
    np.testing.assert_array_equal(scope["proof"].outputs[0].reshape(-1), scope["logits"].reshape(-1))
    assert scope["agreement"] >= 0.9, scope["agreement"]
    # The profile it plots has each layer's error against the float model; the last layer's
    # is the whole model's.
    errors = [layer.get("error") for layer in scope["profile"]["layers"]]
    model_layers = [e for e in errors[1:] if e is not None]
    assert model_layers and all(e >= 0 for e in model_layers), errors
    report = scope["build"].model["report"]
    assert abs(report["layer_errors"][-1] - report["mean_rel_error"]) < 1e-12
