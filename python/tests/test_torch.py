"""A torch.nn.Module as a model. torch is optional (`scripts/setup --torch` installs it; CI
does where the disk has room). A stand-in with torch's `nn.Module` and
`onnx.export(module, args, f, ...)` signature checks how `compile` exports a module (in eval
mode, on the example input, its mode restored after); with torch installed, a real module is
exported, compiled and run against torch's own output."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

import snarkml
from conftest import FIXTURES

X = [0.5, -1.0, 2.0]


class _Tensor:
    def __init__(self, data: object):
        self.data = np.asarray(data, dtype=np.float32)


class _Module:
    training = True

    def eval(self) -> "_Module":
        self.training = False
        return self

    def train(self, mode: bool = True) -> "_Module":
        self.training = mode
        return self


class TinyRelu(_Module):
    pass


def test_a_module_is_exported_in_eval_mode_on_its_example_input_and_compiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list = []

    def export(module, args, f, **options):  # torch.onnx.export's signature
        calls.append((module.training, [a.data.tolist() for a in args], options))
        f.write((FIXTURES / "relu3.onnx").read_bytes())

    torch = types.ModuleType("torch")
    torch.nn = types.SimpleNamespace(Module=_Module)
    torch.Tensor = _Tensor
    torch.as_tensor = _Tensor
    torch.onnx = types.SimpleNamespace(export=export)
    monkeypatch.setitem(sys.modules, "torch", torch)

    module = TinyRelu()
    build = snarkml.compile(module, tmp_path / "build", example_input=np.array([X]),
                            calibration=[X])
    (training, args, options) = calls[0]
    assert training is False and module.training is True, "exported in eval mode, restored"
    assert args == [[X]] and options["opset_version"] == 17
    assert options["input_names"] == ["input"] and options["dynamo"] is False
    np.testing.assert_array_equal(build.run(X), [[0.5, 0.0, 2.0]])
    assert build.model["name"] == "TinyRelu", "named by its class, not the exported graph"
    named = snarkml.compile(module, tmp_path / "named", example_input=np.array([X]),
                            calibration=[X], name="relu, mine")
    assert named.model["name"] == "relu, mine"

    with pytest.raises(TypeError, match="needs example_input="):
        snarkml.compile(module, tmp_path / "b2", calibration=[X])
    with pytest.raises(ValueError, match=r"exporter: expected one of \('torchscript', 'torch.export'\), got 'onnx'"):
        snarkml.compile(module, tmp_path / "b3", example_input=np.array([X]), calibration=[X],
                        exporter="onnx")


def test_a_real_torch_module_compiles_and_runs_as_torch_does(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x = np.random.default_rng(0).uniform(-1, 1, size=(16, 1, 4)).astype(np.float32)
    build = snarkml.compile(net, tmp_path / "build", example_input=x[0], calibration=x)
    expected = net(torch.as_tensor(x[0])).detach().numpy()
    np.testing.assert_allclose(build.run(x[0]), expected, atol=0.05)


def test_torch_export_writes_external_data_that_compile_reads(tmp_path: Path) -> None:
    # torch.export's exporter (torch's default since 2.9) keeps the weights in a .onnx.data
    # file beside the model: the same module compiles to the same outputs as through the
    # TorchScript exporter, and runs as torch does.
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript", reason="torch.export's exporter needs onnxscript")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(2 * 4 * 4, 3))
    x = np.random.default_rng(1).uniform(-1, 1, size=(16, 1, 1, 4, 4)).astype(np.float32)
    new = snarkml.compile(net, tmp_path / "new", example_input=x[0], calibration=x,
                          exporter="torch.export")
    old = snarkml.compile(net, tmp_path / "old", example_input=x[0], calibration=x)
    with torch.no_grad():
        expected = net(torch.as_tensor(x[0])).numpy()
    np.testing.assert_allclose(new.run(x[0]), expected, atol=0.05)
    np.testing.assert_array_equal(new.run(x[0]), old.run(x[0]))
    assert new.model["name"] == "Sequential"
    snarkml._torch_onnx(net, x[0], tmp_path / "m.onnx", "torch.export")
    assert (tmp_path / "m.onnx.data").stat().st_size > 0, "the weights are beside the model"
