"""The Python package end to end on small models: every call of the pipeline, numpy round trips
equal to the CLI's `run`, and a refusal of its own kind, with the CLI's message, for each bad
input (malformed ONNX, unsupported op, wrong shape, wrong type, tampered proof, missing step)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import snarkml
from conftest import FIXTURES, ROOT

X = [0.5, -1.0, 2.0]


def cli_run(build: snarkml.Build, input_file: Path) -> list:
    """The CLI's `run --json` outputs (the binary cargo built for the tests)."""
    exe = ROOT / "target" / "debug" / "snarkml"
    out = subprocess.run(
        [str(exe), "run", str(build.path), "--input", str(input_file), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)["outputs"]


def test_run_gives_numpy_outputs_in_shape_equal_to_the_cli(relu3: snarkml.Build) -> None:
    y = relu3.run(np.array(X))
    assert isinstance(y, np.ndarray) and y.shape == (1, 3)
    np.testing.assert_array_equal(y, [[0.5, 0.0, 2.0]])
    (cli,) = cli_run(relu3, FIXTURES / "relu3.input.json")
    given = json.loads((FIXTURES / "relu3.input.json").read_text())["input_data"]
    np.testing.assert_array_equal(relu3.run(given[0]).reshape(-1), cli["values"])
    assert relu3.inputs == [{"name": "input", "shape": [1, 3], "visibility": "public"}]
    assert "relu3" in repr(relu3) and "k=" in repr(relu3)


def test_prove_verify_and_what_the_proof_shows(relu3: snarkml.Build, tmp_path: Path) -> None:
    relu3.mock(X)
    proof = relu3.prove(X, out=tmp_path / "proof.json")
    np.testing.assert_array_equal(proof.outputs[0], [[0.5, 0.0, 2.0]])
    np.testing.assert_array_equal(proof.inputs[0], [[0.5, -1.0, 2.0]])
    assert relu3.verify(proof).outputs[0].shape == (1, 3)
    assert relu3.verify(tmp_path / "proof.json").path == proof.path
    assert "outputs=[output[1, 3]]" in repr(proof)


def test_a_tampered_proof_is_refused(relu3: snarkml.Build, tmp_path: Path) -> None:
    proof = relu3.prove(X, out=tmp_path / "proof.json")
    data = json.loads(proof.path.read_text())
    # A flipped byte of the proof itself.
    flipped = dict(data, proof=data["proof"][:-2] + ("00" if data["proof"][-2:] != "00" else "01"))
    (tmp_path / "flipped.json").write_text(json.dumps(flipped))
    with pytest.raises(snarkml.InvalidProof, match="proof rejected"):
        relu3.verify(tmp_path / "flipped.json")
    # An output the proof does not prove.
    data["outputs"][0]["values"][0] = 7.0
    (tmp_path / "edited.json").write_text(json.dumps(data))
    with pytest.raises(snarkml.InvalidProof, match=r"field `outputs\[0\]\.values\[0\]` shows 7"):
        relu3.verify(tmp_path / "edited.json")


def test_bad_inputs_raise_their_kind_with_the_cli_message(relu3: snarkml.Build) -> None:
    with pytest.raises(snarkml.InvalidInput, match=r"^input `input`: expected 3 values \(shape \[1, 3\]\), got 2$"):
        relu3.run([1.0, 2.0])
    with pytest.raises(snarkml.InvalidInput, match="input 0: not an array of numbers"):
        relu3.run(["a", "b", "c"])
    with pytest.raises(snarkml.InvalidInput, match="the model has 1 input"):
        relu3.prove(X, X)
    assert issubclass(snarkml.InvalidInput, snarkml.SnarkmlError)


def test_bad_models_raise_their_kind(tmp_path: Path) -> None:
    with pytest.raises(snarkml.InvalidModel, match="^the ONNX model given: not a valid ONNX model"):
        snarkml.compile(b"not protobuf at all", tmp_path / "a")
    with pytest.raises(snarkml.UnsupportedOp, match="unsupported ONNX op `Det` at node `det`"):
        snarkml.compile(FIXTURES / "unsupported_op.onnx", tmp_path / "b")
    with pytest.raises(snarkml.SnarkmlError, match="unknown compile option `scael`"):
        snarkml.compile(FIXTURES / "relu3.onnx", tmp_path / "c", scael=8)
    with pytest.raises(snarkml.SnarkmlError, match="width 2 is out of range"):
        snarkml.compile(FIXTURES / "relu3.onnx", tmp_path / "d", width=2)
    with pytest.raises(TypeError, match="expected a path, ONNX bytes, an onnx.ModelProto or a torch.nn.Module"):
        snarkml.compile(3.5, tmp_path / "e")
    # Calibrated on values 2^20 times the model's own: a lookup table no SRS holds.
    corpus = ROOT / "tests" / "fixtures" / "corpus"
    wide = np.array(json.loads((corpus / "argmax_classifier.calibration.json").read_text())["inputs"])
    with pytest.raises(snarkml.InvalidModel, match="past the largest SRS .*table spans 2\\^"):
        snarkml.compile(corpus / "argmax_classifier.onnx", tmp_path / "f", calibration=wide * 2**20)
    # An accuracy target no scale meets.
    with pytest.raises(snarkml.InvalidModel, match="worst calibration sample .* raise --target-worst-error"):
        snarkml.compile(corpus / "tabular_narrow.onnx", tmp_path / "g",
                        calibration=corpus / "tabular_narrow.calibration.json",
                        target_worst_error=1e-9)


def test_model_bytes_and_protos_compile_like_the_file(tmp_path: Path) -> None:
    onnx = (FIXTURES / "relu3.onnx").read_bytes()

    class Proto:  # what `compile` uses of an onnx.ModelProto
        graph = type("Graph", (), {"name": "relu3"})()

        def SerializeToString(self) -> bytes:
            return onnx

    samples = np.array([X, [1.0, -2.0, 0.25]])
    from_bytes = snarkml.compile(onnx, tmp_path / "bytes", calibration=samples, width=5)
    from_proto = snarkml.compile(Proto(), tmp_path / "proto", calibration=samples, width=5)
    assert from_bytes.model["layout"] == from_proto.model["layout"]
    assert from_bytes.model["layout"]["width"] == 5
    np.testing.assert_array_equal(from_bytes.run(X), from_proto.run(X))


def test_a_model_with_its_weights_in_an_external_file_compiles_from_its_path(
    tmp_path: Path,
) -> None:
    # As torch.onnx.export (torch 2.9 on) and onnx.save_as_external_data write it.
    onnx = pytest.importorskip("onnx")
    corpus = FIXTURES / "corpus"
    model = onnx.load(str(corpus / "cnn_digits.onnx"))
    onnx.save_model(model, str(tmp_path / "cnn.onnx"), save_as_external_data=True,
                    location="cnn.onnx.data", size_threshold=0)
    cal = corpus / "cnn_digits.calibration.json"
    external = snarkml.compile(tmp_path / "cnn.onnx", tmp_path / "external", calibration=cal)
    inline = snarkml.compile(corpus / "cnn_digits.onnx", tmp_path / "inline", calibration=cal)
    x = json.loads((corpus / "cnn_digits.input.json").read_text())["input_data"][0]
    np.testing.assert_array_equal(external.run(x), inline.run(x))
    # Its bytes alone have no folder to read the file from: the error names the file.
    with pytest.raises(snarkml.InvalidModel, match="its values are in the external data file `cnn.onnx.data`"):
        snarkml.compile((tmp_path / "cnn.onnx").read_bytes(), tmp_path / "b", calibration=cal)


def test_a_step_run_too_early_names_the_step(tmp_path: Path) -> None:
    with pytest.raises(snarkml.InvalidFile, match="run `snarkml compile` first"):
        snarkml.Build(tmp_path / "nothing").setup()
    build = snarkml.compile(FIXTURES / "relu3.onnx", tmp_path / "b", calibration=[X])
    with pytest.raises(snarkml.InvalidFile, match="run `snarkml setup` first"):
        build.prove(X)


def test_profile_is_a_dict_of_rows_per_layer(relu3: snarkml.Build) -> None:
    p = relu3.profile()
    assert p["model"] == "relu3" and p["k"] == relu3.model["layout"]["k"]
    assert sum(layer["rows"] for layer in p["layers"]) == p["rows"]
    assert p["predicted_prove_s"] > 0


def test_a_development_srs_is_made_by_seed(tmp_path: Path) -> None:
    a = snarkml.srs_gen(4, tmp_path / "a.bin", seed=3)
    b = snarkml.srs_gen(4, tmp_path / "b.bin", seed=3)
    assert a.read_bytes() == b.read_bytes()


def test_verified_on_a_local_chain_and_a_tampered_proof_rejected(
    relu3: snarkml.Build, anvil: str, tmp_path: Path
) -> None:
    sizes = relu3.gen_verifier(tmp_path / "verifier")
    assert sizes["form"] == "self-contained" and sizes["verifier_runtime_size"] <= 24_576
    deployment = relu3.deploy(rpc_url=anvil)
    assert deployment["chain_id"] == 31337
    proof = relu3.prove(X, out=tmp_path / "proof.json")
    gas = relu3.verify_onchain(proof, rpc_url=anvil)
    assert gas is not None and gas > 21_000
    # A flipped byte of the proof: the file still shows what its instances say, the contract
    # refuses the proof.
    data = json.loads(proof.path.read_text())
    data["proof"] = data["proof"][:-2] + ("00" if data["proof"][-2:] != "00" else "01")
    (tmp_path / "flipped.json").write_text(json.dumps(data))
    with pytest.raises(snarkml.InvalidProof, match="the on-chain verifier at 0x[0-9a-fA-F]{40} rejected"):
        relu3.verify_onchain(tmp_path / "flipped.json", rpc_url=anvil)


def test_the_readme_python_examples_run_as_written(
    anvil: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Python\n") :]
    section = section[: section.index("\n## ")]
    blocks = [b.split("```")[0] for b in section.split("```python\n")[1:]]
    assert len(blocks) == 3, "a PyTorch model, the pipeline and the money flow"
    torch_block, blocks = blocks[0], blocks[1:]
    (tmp_path / "tests").symlink_to(ROOT / "tests")  # its paths are the repository's
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SNARKML_RPC_URL", anvil)
    monkeypatch.setenv("SNARKML_DEPLOYMENTS", str(tmp_path / "deployments.json"))
    # The key the README names for the second block: anvil's second account.
    key = readme[readme.index("the second is\n`") + len("the second is\n`") :].split("`")[0]
    scope: dict = {"KEY": key}
    for i, code in enumerate(blocks):
        exec(compile(code, f"README.md, Python block {i + 1}", "exec"), scope)
    np.testing.assert_array_equal(scope["y"], [[0.5, 0.0, 2.0]])
    assert (tmp_path / "build-py" / "deployment.json").exists()
    assert scope["provider"].request_info(scope["req"]["id"])["status"] == "fulfilled"
    with pytest.raises(snarkml.ChainError, match="has nothing to withdraw"):
        scope["provider"].withdraw()  # the block withdrew the fee
    # The PyTorch block, where torch is installed: its proof's outputs are the module's.
    try:
        import torch
    except ImportError:
        return
    scope = {}
    exec(compile(torch_block.replace("# ... train it ...", ""), "README.md, PyTorch block", "exec"),
         scope)
    with torch.no_grad():
        want = scope["net"](torch.from_numpy(scope["x"])).numpy()
    np.testing.assert_allclose(scope["proof"].outputs[0], want, atol=0.05)
    assert (tmp_path / "build-torch" / "deployment.json").exists()


def test_long_steps_show_progress_against_the_prediction_and_can_be_silenced(
    relu3: snarkml.Build, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snarkml, "progress", True)
    # A prediction long enough for the bar to be drawn while the step runs.
    monkeypatch.setattr(snarkml.Build, "_predicted_s", lambda self: 30.0)
    proof = relu3.prove(X, out=tmp_path / "shown.json")
    assert "prove:" in capsys.readouterr().err
    np.testing.assert_array_equal(proof.outputs[0], [[0.5, 0.0, 2.0]])
    monkeypatch.setattr(snarkml, "progress", False)
    relu3.prove(X, out=tmp_path / "quiet.json")
    assert capsys.readouterr().err == ""
    # An error inside the step still raises in the caller, with its kind.
    monkeypatch.setattr(snarkml, "progress", True)
    with pytest.raises(snarkml.InvalidInput, match="expected 3 values"):
        relu3.prove([1.0], out=tmp_path / "bad.json")


def test_a_split_build_compiles_proves_and_verifies_segment_by_segment(tmp_path: Path) -> None:
    digits = ROOT / "models" / "digits_mlp"
    build = snarkml.compile(digits / "model.onnx", tmp_path / "split",
                            calibration=digits / "calibration.json", segments=2)
    assert build.is_split and not snarkml.Build(tmp_path).is_split
    split = build.profile()["split"]
    assert len(split["segments"]) == 2 and split["boundary_rows"] > 0
    setup = build.setup()
    assert len(setup["segments"]) == 2
    x = json.loads((digits / "input.json").read_text())["input_data"][0]
    proof = build.prove(x, out=tmp_path / "proof.json")
    assert len(proof.data["segments"]) == 2
    # The last segment's outputs are the model's, equal to the whole model's run.
    np.testing.assert_array_equal(proof.outputs[0], build.run(x))
    assert build.verify(proof).outputs[0].shape == (1, 10)
    tampered = json.loads(proof.path.read_text())
    tampered["segments"].pop()
    (tmp_path / "short.json").write_text(json.dumps(tampered))
    with pytest.raises(snarkml.SnarkmlError, match="segment"):
        build.verify(tmp_path / "short.json")
