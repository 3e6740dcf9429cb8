"""The pay-per-inference money flow from Python on a local anvil: a provider deploys and
registers its model, a requester escrows a fee for an inference on its input, the provider
proves and is paid exactly the fee; a wrong input, a second fulfilment and an unknown command
are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

import snarkml
from conftest import FIXTURES

X = [0.5, -1.0, 2.0]
# anvil's second default account (a well-known development key: local chains only).
REQUESTER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


def test_a_request_is_escrowed_fulfilled_with_a_proof_and_paid_to_the_owner(
    anvil: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNARKML_DEPLOYMENTS", str(tmp_path / "deployments.json"))
    build = snarkml.compile(FIXTURES / "relu3.onnx", tmp_path / "build", calibration=[X])
    build.setup()
    build.gen_verifier()
    build.deploy(rpc_url=anvil)

    provider = snarkml.Chain(anvil)
    requester = snarkml.Chain(anvil, private_key=REQUESTER_KEY)
    contracts = provider.deploy_contracts()
    assert Path(contracts["recorded_in"]) == tmp_path / "deployments.json"
    model = provider.register(build, metadata_uri="ipfs://relu3")
    assert provider.model(model["id"])["metadata_uri"] == "ipfs://relu3"

    request = requester.request(build, model["id"], X, fee="0.01ether", ttl=600)
    assert request["status"] == "open" and request["fee_wei"] == str(10**16)

    wrong = f"^the input given is not the input of request {request['id']} "
    with pytest.raises(snarkml.SnarkmlError, match=wrong):
        provider.fulfill(request["id"], build, [1.0, 1.0, 1.0])
    paid = provider.fulfill(request["id"], build, X)
    assert paid["payee"].lower() == model["owner"].lower()
    assert paid["outputs"][0]["values"] == [0.5, 0.0, 2.0]
    assert provider.request_info(request["id"])["status"] == "fulfilled"
    with pytest.raises(snarkml.SnarkmlError, match="already fulfilled"):
        provider.fulfill(request["id"], build, X)
    assert provider.withdraw() == 10**16
    with pytest.raises(snarkml.ChainError, match="has nothing to withdraw"):
        provider.withdraw()


def test_any_command_runs_in_process_and_a_bad_one_is_refused_by_name(tmp_path: Path) -> None:
    build = snarkml.compile(FIXTURES / "relu3.onnx", tmp_path / "build", calibration=[X])
    assert snarkml.cli("profile", build.path)["model"] == "relu3"
    with pytest.raises(snarkml.SnarkmlError, match="unrecognized subcommand 'frobnicate'"):
        snarkml.cli("frobnicate")
