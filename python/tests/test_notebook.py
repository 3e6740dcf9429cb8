"""The example notebook (examples/train_prove_verify.ipynb) executed cell by cell, as a reader
runs it: it trains a digits MLP, proves one prediction and verifies it on the test's anvil."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT

NOTEBOOK = ROOT / "examples" / "train_prove_verify.ipynb"


def test_the_example_notebook_runs_and_proves_what_scikit_learn_predicts(
    anvil: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = [("".join(c["source"]), i) for i, c in enumerate(cells) if c["cell_type"] == "code"]
    assert len(code) >= 6, "the notebook has its steps"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SNARKML_RPC_URL", anvil)
    scope: dict = {}
    for source, i in code:
        exec(compile(source, f"{NOTEBOOK.name}, cell {i}", "exec"), scope)
    x = scope["x"]
    assert scope["proven_class"] == int(scope["clf"].predict(x[None])[0])
    assert scope["gas"] > 21_000
    assert scope["deployment"]["chain_id"] == 31337
