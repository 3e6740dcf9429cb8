"""The prompt marketplace and the audit bounty from Python on a local anvil. A seller lists a
secret prompt of the shipped text model with a proof of its output, a buyer escrows the price,
the seller delivers it encrypted and is paid in that transaction, and the buyer decrypts
exactly the prompt; a second delivery is refused. Bounty calls before the contracts or the
aggregation exist, and an aggregation with too small an SRS, are refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import snarkml
from conftest import ROOT

TEXT = ROOT / "models" / "tiny_text"
# anvil's second default account (a well-known development key: local chains only).
BUYER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


def test_a_prompt_is_listed_bought_delivered_and_decrypted(
    anvil: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNARKML_DEPLOYMENTS", str(tmp_path / "deployments.json"))
    build = snarkml.compile(
        TEXT / "model.onnx", tmp_path / "text", calibration=TEXT / "calibration.json",
        inputs="hashed",
    )
    build.setup()
    build.gen_verifier()
    build.deploy(rpc_url=anvil)
    seller = snarkml.Chain(anvil)
    buyer = snarkml.Chain(anvil, private_key=BUYER_KEY)
    seller.deploy_contracts()
    model = seller.register(build)

    prompt = json.loads((TEXT / "input.json").read_text())["input_data"][0]
    srs = snarkml.srs_gen(16, tmp_path / "srs16.bin")
    delivery = tmp_path / "delivery-32"
    setup = snarkml.market_setup(len(prompt), srs, delivery)
    assert setup["prompt_len"] == len(prompt)
    seller.deploy_market(delivery)

    listing_proof = build.prove(prompt, out=tmp_path / "listing.json")
    listing = seller.list_prompt(listing_proof, build, model["id"], price="0.1ether")
    assert seller.listing(listing["id"])["price_wei"] == str(10**17)

    key = tmp_path / "me.key.json"
    snarkml.market_keygen(key)
    order = buyer.buy_prompt(listing["id"], key=key, build=build, delivery=delivery, ttl=600)
    paid = seller.deliver_prompt(order["id"], listing_proof, delivery)
    assert paid["order"] == order["id"]
    assert seller.order(order["id"])["status"] == "delivered"
    with pytest.raises(snarkml.SnarkmlError, match="delivered"):
        seller.deliver_prompt(order["id"], listing_proof, delivery)

    (decrypted,) = buyer.decrypt_prompt(order["id"], key=key, build=build, out=tmp_path / "p.json")
    np.testing.assert_array_equal(decrypted, np.asarray(prompt, dtype=np.float32))
    assert seller.withdraw_market() == 10**17


def test_bounty_and_aggregation_calls_refuse_what_is_missing_by_name(
    anvil: str, relu3: snarkml.Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNARKML_DEPLOYMENTS", str(tmp_path / "deployments.json"))
    sponsor = snarkml.Chain(anvil)
    with pytest.raises(snarkml.ChainError, match="no AuditBounty recorded for chain 31337"):
        sponsor.bounty(1)
    sponsor.deploy_contracts()
    with pytest.raises(snarkml.SnarkmlError, match="there is no bounty 1"):
        sponsor.bounty(1)
    with pytest.raises(snarkml.InvalidFile, match=r"or `snarkml aggregate` \(an aggregation\) first"):
        sponsor.open_bounty(1, aggregation=tmp_path / "aggr", build=relu3,
                            dataset=tmp_path / "data.json", threshold=0.9, reward="1ether")
    # An aggregation circuit needs 2^21 points by default: a smaller SRS is refused before any
    # work, naming both sizes.
    proof = relu3.prove([0.5, -1.0, 2.0], out=tmp_path / "p.json", for_aggregation=True)
    srs = snarkml.srs_gen(relu3.model["layout"]["k"], tmp_path / "srs.bin")
    with pytest.raises(snarkml.SnarkmlError, match="the circuit needs k=21 but the SRS only has"):
        snarkml.aggregate([proof], relu3, srs=srs, out=tmp_path / "aggr")
