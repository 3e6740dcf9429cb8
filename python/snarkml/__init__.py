"""snarkml for Python: compile an ONNX model into a halo2 circuit, prove what it computed, and
check the proof natively or on Ethereum.

The calls follow the command line's pipeline, on a build directory::

    import numpy as np
    import snarkml

    build = snarkml.compile("model.onnx", "build", calibration=samples)   # samples: np.ndarray
    build.setup()                      # keys, from a cached development SRS by default
    y = build.run(x)                   # the circuit's exact arithmetic, no proof
    proof = build.prove(x)             # a Proof: what it shows, as numpy arrays
    build.verify(proof)
    build.gen_verifier(); build.deploy()             # a local anvil by default
    gas = build.verify_onchain(proof)

Every call runs the Rust library in this process (no command is shelled out to), releasing
the GIL while it works. Errors are exceptions of :class:`SnarkmlError`'s family carrying the
CLI's one-line message.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

import numpy as np

from . import _snarkml as _ext
from ._snarkml import (
    ChainError,
    InternalError,
    InvalidFile,
    InvalidInput,
    InvalidModel,
    InvalidProof,
    SnarkmlError,
    UnsupportedOp,
)

__version__: str = _ext.__version__

__all__ = [
    "ANVIL_URL",
    "Build",
    "Chain",
    "ChainError",
    "InternalError",
    "InvalidFile",
    "InvalidInput",
    "InvalidModel",
    "InvalidProof",
    "Proof",
    "SnarkmlError",
    "UnsupportedOp",
    "Aggregation",
    "aggregate",
    "cli",
    "compile",
    "market_keygen",
    "market_setup",
    "progress",
    "srs_gen",
]

#: The JSON-RPC endpoint of a local anvil: the default chain of every on-chain call (unless
#: the environment variable ``SNARKML_RPC_URL`` names another, as for the CLI).
ANVIL_URL = "http://127.0.0.1:8545"


def _rpc(url: str | None) -> str:
    return url or os.environ.get("SNARKML_RPC_URL") or ANVIL_URL


def _key(key: str | None) -> str | None:
    """The signer's key: given, else ``$SNARKML_PRIVATE_KEY``, else none (anvil's first account,
    which the library takes only on a local chain)."""
    return key or os.environ.get("SNARKML_PRIVATE_KEY") or None


PathLike = Union[str, "os.PathLike[str]"]
ArrayLike = Any


def _flat(x: ArrayLike, what: str) -> list:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"{what}: not an array of numbers ({e})") from None
    return a.reshape(-1).tolist()


def _naming(call: Any, temp: Path, name: str | None, *args: Any) -> Any:
    """``call(*args)``, with errors that name the temporary file ``temp`` (the arrays or bytes
    given, written out for the library) naming ``name`` instead of its path (a leading
    ``PATH: `` is dropped when ``name`` is None)."""
    try:
        return call(*args)
    except SnarkmlError as e:
        msg, path = str(e), str(temp)
        if path not in msg:
            raise
        if msg.startswith(f"{path}: "):
            msg = (f"{name}: " if name else "") + msg[len(path) + 2 :]
        msg = msg.replace(path, name or "the input given")
        raise type(e)(msg) from None


#: Show a progress bar (tqdm, when installed) during the long steps (``setup``, ``prove``):
#: elapsed time against the cost model's prediction. ``snarkml.progress = False``, or the
#: environment variable ``SNARKML_PROGRESS=0``, turns it off.
progress: bool = os.environ.get("SNARKML_PROGRESS", "1") != "0"


def _long_step(label: str, build: "Build", call: Any, *args: Any) -> Any:
    """``call(*args)`` (the library releases the GIL), with a bar of elapsed time against the
    cost model's prediction for ``build`` on stderr while it runs, when :data:`progress` is on
    and tqdm installed (the prediction is only read then)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    predicted_s = build._predicted_s() if progress and tqdm is not None else None
    if not predicted_s:
        return call(*args)
    done: dict = {}

    def work() -> None:
        try:
            done["value"] = call(*args)
        except BaseException as e:  # re-raised in the caller's thread
            done["error"] = e

    worker = threading.Thread(target=work, daemon=True)
    start = time.monotonic()
    worker.start()
    fmt = "{desc}: {bar} {elapsed} of ~{total:.0f} s predicted"
    with tqdm(total=round(predicted_s, 1), desc=label, bar_format=fmt, file=sys.stderr,
              leave=False) as bar:
        while worker.is_alive():
            worker.join(0.2)
            # Never past 99 % of the prediction: the step ends when it ends.
            bar.n = round(min(time.monotonic() - start, 0.99 * predicted_s), 1)
            bar.refresh()
    if "error" in done:
        raise done["error"]
    return done["value"]


def _array(tensor: dict) -> np.ndarray:
    """A tensor's dequantized ``values`` as the library writes them, in its ``shape``."""
    return np.asarray(tensor["values"], dtype=np.float64).reshape(tensor["shape"])


class _TempJson:
    """A JSON file in a fresh temporary directory, removed on exit."""

    def __init__(self, value: Any, name: str = "input.json"):
        self._dir = tempfile.TemporaryDirectory(prefix="snarkml-")
        self.path = Path(self._dir.name) / name
        self.path.write_text(json.dumps(value))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


class Proof:
    """A proof file (``snarkml-proof/1``) and what it shows.

    ``outputs`` and ``inputs`` are numpy arrays in the tensors' shapes (``None`` for a
    private or hashed tensor, whose ``commitments`` are shown instead).
    """

    def __init__(self, path: PathLike):
        self.path = Path(path)
        self.data: dict = json.loads(self.path.read_text())

    @staticmethod
    def _arrays(tensors: Sequence[dict]) -> list:
        return [_array(t) if t.get("values") else None for t in tensors]

    def _tensors(self, which: str) -> list:
        """The model's inputs or outputs as the file shows them: a split model's proof file
        holds one proof per segment, the first taking the model's inputs, the last giving its
        outputs."""
        segments = self.data.get("segments")
        if segments:
            return segments[0 if which == "inputs" else -1][which]
        return self.data[which]

    @property
    def outputs(self) -> list:
        """The outputs the proof proves, dequantized, one array per model output."""
        return self._arrays(self._tensors("outputs"))

    @property
    def inputs(self) -> list:
        """The public inputs the proof proves, one array per model input."""
        return self._arrays(self._tensors("inputs"))

    @property
    def commitments(self) -> dict:
        """The Poseidon commitments of hashed tensors, by tensor name."""
        return {
            t["name"]: t["commitment"]
            for t in self._tensors("inputs") + self._tensors("outputs")
            if t.get("commitment")
        }

    def __repr__(self) -> str:
        outs = ", ".join(f"{t['name']}{list(t['shape'])}" for t in self._tensors("outputs"))
        return f"Proof({str(self.path)!r}, model={self.data.get('model')!r}, outputs=[{outs}])"


class Build:
    """A build directory: the compiled model (``model.json``), then its keys, proofs and
    verifier. Made by :func:`compile`; ``Build(path)`` opens an existing one."""

    def __init__(self, path: PathLike):
        self.path = Path(path)

    @property
    def model(self) -> dict:
        """``model.json`` as a dict (its name, scales, tensors, layout and accuracy report)."""
        return json.loads((self.path / "model.json").read_text())

    def _specs(self, which: str) -> list:
        m = self.model
        return [
            {"name": m["tensors"][s["tensor"]]["name"], "shape": m["tensors"][s["tensor"]]["shape"],
             "visibility": s["visibility"]}
            for s in m[which]
        ]

    @property
    def is_split(self) -> bool:
        """Whether the model is split into segments (``compile(..., segments=N)`` or
        ``max_memory=``): one circuit, keys and proof per segment, chained by commitments."""
        return (self.path / "split.json").is_file()

    @property
    def inputs(self) -> list:
        """The model's inputs: name, shape and visibility of each."""
        return self._specs("inputs")

    @property
    def outputs(self) -> list:
        """The model's outputs: name, shape and visibility of each."""
        return self._specs("outputs")

    def __repr__(self) -> str:
        try:
            m = self.model
            ins = ", ".join(f"{t['name']}{list(t['shape'])}" for t in self.inputs)
            return f"Build({str(self.path)!r}, model={m['name']!r}, k={m['layout']['k']}, inputs=[{ins}])"
        except (OSError, ValueError, KeyError):
            return f"Build({str(self.path)!r}, not compiled)"

    def _input(self, inputs: Sequence[ArrayLike], salts: dict | None = None) -> _TempJson:
        data: dict = {"input_data": [_flat(x, f"input {i}") for i, x in enumerate(inputs)]}
        if salts:
            data["salts"] = {k: str(v) for k, v in salts.items()}
        return _TempJson(data)

    def run(self, *inputs: ArrayLike) -> Union[np.ndarray, tuple]:
        """Runs the model on ``inputs`` (one array per model input) with the circuit's exact
        integer arithmetic, without a proof: the output array (a tuple for several)."""
        with self._input(inputs) as path:
            outs = json.loads(_naming(_ext.run, path, None, str(self.path), str(path)))
        arrays = tuple(_array(t) for t in outs)
        return arrays[0] if len(arrays) == 1 else arrays

    def mock(self, *inputs: ArrayLike) -> None:
        """Checks every constraint of the circuit on ``inputs`` (halo2's MockProver): no keys,
        no proof. Raises :class:`SnarkmlError` naming the layer of the first failing row."""
        with self._input(inputs) as path:
            _naming(_ext.mock, path, None, str(self.path), str(path))

    def _predicted_s(self) -> float | None:
        """The cost model's proving time of this circuit (keygen takes about as long)."""
        try:
            return _ext.predicted_prove_s(str(self.path))
        except SnarkmlError:
            return None  # the step itself says what is wrong

    def setup(self, srs: PathLike | None = None) -> dict:
        """Generates the proving and verifying keys from the SRS file ``srs`` (default: the
        development SRS of exactly the circuit's size, made once and cached; fine for a local
        anvil, refused on other chains). Returns what setup recorded (``k``, ``vk_hash``…)."""
        if self.is_split:
            return cli("setup", self.path, *(["--srs", srs] if srs is not None else []))
        srs_file = None if srs is None else str(srs)
        return json.loads(
            _long_step("setup", self, _ext.setup, str(self.path), srs_file)
        )

    def prove(
        self,
        *inputs: ArrayLike,
        out: PathLike | None = None,
        for_aggregation: bool = False,
        salts: dict | None = None,
    ) -> Proof:
        """Proves the model on ``inputs``; writes the proof file ``out`` (default:
        ``BUILD/proofs/proof-N.json``) and returns it, checked to verify."""
        if out is None:
            folder = self.path / "proofs"
            folder.mkdir(exist_ok=True)
            n = len(list(folder.glob("proof-*.json")))
            out = folder / f"proof-{n}.json"
        with self._input(inputs, salts) as path:
            if self.is_split:
                flags = ["--for-aggregation"] if for_aggregation else []
                _naming(cli, path, None, "prove", self.path, "--input", path, "-o", out, *flags)
            else:
                args = (str(self.path), str(path), str(out), for_aggregation)
                _long_step("prove", self, _naming, _ext.prove, path, None, *args)
        return Proof(out)

    def verify(self, proof: Union[Proof, PathLike]) -> Proof:
        """Verifies a proof natively against this build's keys, and checks that every value its
        file shows is what the proof proves. Raises :class:`InvalidProof` otherwise."""
        path = Path(_path(proof))
        if self.is_split:
            cli("verify", self.path, path)
        else:
            _ext.verify(str(self.path), str(path))
        return Proof(path)

    def profile(self, as_frame: bool = False) -> Any:
        """Rows, predicted proving time and (``error``) the output's relative error against the
        float model on the calibration samples, per layer (``snarkml profile --json``): a dict,
        or with ``as_frame`` a pandas DataFrame of the layers. A split build's dict also has
        ``split``: each segment's own profile and the rows the cuts add."""
        p = json.loads(_ext.profile(str(self.path)))
        if as_frame:
            import pandas as pd

            return pd.DataFrame(p["layers"])
        return p

    def gen_verifier(self, out_dir: PathLike | None = None, reusable: bool = False) -> dict:
        """Generates the Solidity verifier into ``out_dir`` (default ``BUILD/verifier/``) and
        ``BUILD/verifier.json``: one self-contained contract (the CLI's default), or with
        ``reusable`` the shared ``Halo2Verifier`` plus this circuit's verifying-key contract."""
        out = Path(out_dir) if out_dir is not None else self.path / "verifier"
        return json.loads(_ext.gen_verifier(str(self.path), str(out), reusable))

    def deploy(
        self,
        rpc_url: str | None = None,
        private_key: str | None = None,
        insecure_srs: bool = False,
    ) -> dict:
        """Deploys the verifier (after :meth:`gen_verifier`) to ``rpc_url`` (default:
        ``$SNARKML_RPC_URL``, else a local anvil) and records it in ``BUILD/deployment.json``;
        signs with ``private_key`` (default: anvil's first
        account). Keys from a development SRS are refused off a local anvil unless
        ``insecure_srs``."""
        return json.loads(_ext.deploy(str(self.path), _rpc(rpc_url), _key(private_key), insecure_srs))

    def verify_onchain(
        self,
        proof: Union[Proof, PathLike],
        rpc_url: str | None = None,
        address: str | None = None,
        private_key: str | None = None,
    ) -> int | None:
        """Sends ``proof`` to the deployed verifier (``BUILD/deployment.json``, or ``address``)
        and returns the gas its transaction used; raises :class:`InvalidProof` when the contract
        rejects it."""
        path = Path(_path(proof))
        return _ext.verify_onchain(
            str(self.path), str(path), _rpc(rpc_url), address, _key(private_key)
        )


#: The commands whose errors are the chain's (`ChainError` unless they are of another kind).
_CHAIN_COMMANDS = {"deploy", "verify-onchain", "contracts", "model", "infer", "bounty", "market", "status"}


def cli(*args: Any) -> Any:
    """Runs a ``snarkml`` command in this process, as ``snarkml ARGS --json`` would, and
    returns the JSON it prints (a dict, or a list for several values): every command the CLI
    has, with its defaults and environment variables. Errors raise as for the other calls.

    >>> snarkml.cli("infer", "show", 1)
    """
    words = [str(a) for a in args]
    chain = bool(words) and words[0] in _CHAIN_COMMANDS
    return json.loads(_ext.cli(words, chain))


def _fee(fee: Union[int, str]) -> str:
    return f"{fee}wei" if isinstance(fee, int) else str(fee)


class Chain:
    """A chain and the account that signs on it, for the money flows: the pay-per-inference
    escrow (a provider registers a model and fulfils requests with proofs; a requester escrows
    a fee for an inference on its input).

    ``rpc_url`` defaults to ``$SNARKML_RPC_URL``, else a local anvil; ``private_key`` to
    ``$SNARKML_PRIVATE_KEY``, else anvil's first account (on a local chain only). The shared
    contracts are found as the CLI finds them: recorded per chain by :meth:`deploy_contracts`
    in ``snarkml-deployments.json`` (or ``$SNARKML_DEPLOYMENTS``), or named by
    ``$SNARKML_REGISTRY`` / ``$SNARKML_ESCROW``.
    """

    def __init__(self, rpc_url: str | None = None, private_key: str | None = None):
        self.rpc_url = _rpc(rpc_url)
        self.private_key = _key(private_key)

    def __repr__(self) -> str:
        who = "a given key" if self.private_key else "anvil's first account"
        return f"Chain({self.rpc_url!r}, signing with {who})"

    def _run(self, *args: Any, sign: bool = True) -> Any:
        words = [*args, "--rpc-url", self.rpc_url]
        if sign and self.private_key:
            words += ["--private-key", self.private_key]
        return cli(*words)

    def _with_input(self, build: Build, inputs: Sequence[ArrayLike], salts: dict | None,
                    *args: Any) -> Any:
        with build._input(inputs, salts) as path:
            return _naming(self._run, path, None, *args, "--input", path)

    def status(self) -> Any:
        """What the deployments file records for this chain, and whether each contract's code
        is there (``snarkml status``)."""
        return self._run("status", sign=False)

    def deploy_contracts(self) -> dict:
        """Deploys the ModelRegistry, InferenceEscrow and AuditBounty and records them for this
        chain; later calls (and CLI commands) use them."""
        return self._run("contracts", "deploy")

    def register(self, build: Build, metadata_uri: str = "") -> dict:
        """Registers ``build``'s model (after :meth:`Build.deploy`) in the registry, owned by
        this account: the registry entry (its ``id``)."""
        return self._run("model", "register", build.path, "--metadata-uri", metadata_uri)

    def model(self, model_id: int) -> dict:
        """A registered model."""
        return self._run("model", "show", model_id)

    def request(self, build: Build, model_id: int, *inputs: ArrayLike, fee: Union[int, str],
                ttl: int = 3600, salts: dict | None = None) -> dict:
        """Opens a request for model ``model_id`` (``build`` is its build, to check the
        registered verifier and to encode the input) on ``inputs``, escrowing ``fee`` (wei, or
        a string such as ``"0.01ether"``) until ``ttl`` seconds from now."""
        return self._with_input(build, inputs, salts, "infer", "request", build.path,
                                "--model", model_id, "--fee", _fee(fee), "--ttl", ttl)

    def fulfill(self, request_id: int, build: Build, *inputs: ArrayLike,
                out: PathLike | None = None, salts: dict | None = None) -> dict:
        """Proves the request's inference on ``inputs`` (its input: checked first) and
        submits the proof; the fee is credited to the model's owner. Returns the outputs proven,
        the gas used and the proof file (``out``, default ``BUILD/proofs/request-ID.json``)."""
        if out is None:
            (build.path / "proofs").mkdir(exist_ok=True)
            out = build.path / "proofs" / f"request-{request_id}.json"
        return self._with_input(build, inputs, salts, "infer", "fulfill", request_id,
                                build.path, "-o", out)

    def request_info(self, request_id: int) -> dict:
        """A request as the escrow holds it (status, fee, deadline)."""
        return self._run("infer", "show", request_id)

    def refund(self, request_id: int) -> dict:
        """Refunds an unfulfilled request after its deadline (credited to its requester)."""
        return self._run("infer", "refund", request_id)

    def withdraw(self) -> int:
        """Withdraws what the escrow credits this account: the amount, in wei."""
        return int(self._run("infer", "withdraw")["withdrawn_wei"])

    # Accuracy audit bounties: a sponsor escrows a reward, the model's owner claims it with
    # an aggregated audit proof (``snarkml audit prove`` / ``audit aggregate``).

    def open_bounty(self, model_id: int, *, aggregation: Union[Build, PathLike],
                    build: Union[Build, PathLike], dataset: PathLike,
                    threshold: Union[float, str], reward: Union[int, str], ttl: int = 86_400,
                    verifier: str | None = None) -> dict:
        """Escrows ``reward`` (wei, or e.g. ``"1ether"``) for proof that model ``model_id``
        classifies at least ``threshold`` (``0.95``, ``"95%"`` or ``"19/20"``) of ``dataset``
        correctly. The audit verifier is the one ``aggregation``'s deployment recorded (or
        ``verifier``); both verifiers' code is compared with what ``build`` and ``aggregation``
        generate before the reward moves."""
        extra = ["--verifier", verifier] if verifier else []
        return self._run("bounty", "open", "--model", model_id, "--aggregation",
                         _path(aggregation), "--build", _path(build), "--dataset", dataset,
                         "--threshold", threshold, "--reward", _fee(reward), "--ttl", ttl,
                         *extra)

    def claim_bounty(self, bounty_id: int, proof: PathLike) -> dict:
        """Claims bounty ``bounty_id`` with the aggregated audit proof file ``proof``; the
        reward is credited to the model's registered owner."""
        return self._run("bounty", "claim", bounty_id, proof)

    def reclaim_bounty(self, bounty_id: int) -> dict:
        """Credits an expired, unclaimed bounty back to its sponsor."""
        return self._run("bounty", "reclaim", bounty_id)

    def bounty(self, bounty_id: int) -> dict:
        """A bounty as the contract holds it."""
        return self._run("bounty", "show", bounty_id)

    def withdraw_bounty(self) -> int:
        """Withdraws what the bounty contract credits this account: the amount, in wei."""
        return int(self._run("bounty", "withdraw")["withdrawn_wei"])

    # The prompt marketplace: a seller lists a secret prompt with a proof of what it makes a
    # registered model output; a buyer escrows the price; the seller delivers it encrypted to
    # the buyer's key with a delivery proof and is paid in that transaction.

    def deploy_market(self, *deliveries: PathLike) -> dict:
        """Deploys the PromptMarketplace with one delivery verifier per directory of
        :func:`market_setup`, and records it for this chain."""
        flags = [w for d in deliveries for w in ("--delivery", d)]
        return self._run("market", "deploy", *flags)

    def list_prompt(self, proof: Union[Proof, PathLike], build: Union[Build, PathLike],
                    model_id: int, price: Union[int, str]) -> dict:
        """Lists the prompt of ``proof`` (an inference proof of ``build``'s model with its
        input hashed; the openings file beside it holds the prompt and stays private) at
        ``price``: the listing (its ``id``)."""
        return self._run("market", "list", _path(proof), "--build", _path(build),
                         "--model", model_id, "--price", _fee(price))

    def buy_prompt(self, listing_id: int, *, key: PathLike, build: Union[Build, PathLike],
                   delivery: PathLike, ttl: int = 86_400) -> dict:
        """Escrows the price of listing ``listing_id`` for delivery to the key in ``key``
        (:func:`market_keygen`), after checking the listed model's verifier against ``build``
        and the delivery verifier against ``delivery``: the order (its ``id``)."""
        return self._run("market", "buy", listing_id, "--key", key, "--build", _path(build),
                         "--delivery", delivery, "--ttl", ttl)

    def deliver_prompt(self, order_id: int, proof: Union[Proof, PathLike],
                       delivery: PathLike) -> dict:
        """Delivers order ``order_id`` (the listing's ``proof``, encrypted to the buyer's key
        with a delivery proof); the price is credited to this account."""
        return self._run("market", "deliver", order_id, "--proof", _path(proof),
                         "--delivery", delivery)

    def decrypt_prompt(self, order_id: int, *, key: PathLike, build: Union[Build, PathLike],
                       out: PathLike) -> list:
        """Decrypts a delivered order with the buyer's ``key`` into the input file ``out`` (the
        prompt and its salt, which reproduce the listing); returns the prompt, one array per
        model input."""
        self._run("market", "decrypt", order_id, "--key", key, "--build", _path(build),
                  "-o", out)
        data = json.loads(Path(out).read_text())["input_data"]
        return [np.asarray(x, dtype=np.float32) for x in data]

    def listing(self, listing_id: int) -> dict:
        """A listing as the marketplace holds it."""
        return self._run("market", "show", "listing", listing_id)

    def order(self, order_id: int) -> dict:
        """An order as the marketplace holds it."""
        return self._run("market", "show", "order", order_id)

    def refund_order(self, order_id: int) -> dict:
        """Credits an order not delivered by its deadline back to its buyer."""
        return self._run("market", "refund", order_id)

    def withdraw_market(self) -> int:
        """Withdraws what the marketplace credits this account: the amount, in wei."""
        return int(self._run("market", "withdraw")["withdrawn_wei"])


def _path(thing: Any) -> Any:
    """The file or directory behind a :class:`Build`, :class:`Proof` or path."""
    return thing.path if isinstance(thing, (Build, Proof)) else thing


def market_setup(prompt_len: int, srs: PathLike, out: PathLike) -> dict:
    """Makes the delivery keys and verifier for prompts of ``prompt_len`` values into the
    directory ``out`` (deterministic given the SRS, so anyone can regenerate and compare)."""
    return cli("market", "setup", "--prompt-len", prompt_len, "--srs", srs, "-o", out)


def market_keygen(out: PathLike) -> dict:
    """Writes a buyer's Grumpkin key pair to ``out`` (never overwritten): its public key."""
    return cli("market", "keygen", "-o", out)


class Aggregation(Build):
    """An aggregation directory (:func:`aggregate`): one proof for many, with its keys. Its
    ``proof.json`` verifies with :meth:`verify`, and :meth:`gen_verifier`, :meth:`deploy` and
    :meth:`verify_onchain` work as for a model build."""

    def __repr__(self) -> str:
        return f"Aggregation({str(self.path)!r})"

    def verify(self, proof: Union[Proof, PathLike, None] = None) -> dict:  # type: ignore[override]
        """Verifies the aggregated proof (default: ``proof.json`` in the directory)."""
        path = self.path / "proof.json" if proof is None else _path(proof)
        return cli("verify", self.path, path)

    def gen_verifier(self, out_dir: PathLike | None = None, reusable: bool = False) -> dict:
        """Generates the aggregated proof's Solidity verifier (``out_dir`` default
        ``AGGREGATION/verifier/``)."""
        out = Path(out_dir) if out_dir is not None else self.path / "verifier"
        extra = ["--reusable"] if reusable else []
        return cli("gen-verifier", self.path, "--aggregated", "-o", out, *extra)


def aggregate(proofs: Sequence[Union[Proof, PathLike]], builds: Union[Build, Sequence[Build]],
              srs: PathLike, out: PathLike = "aggr", expose: str | None = None,
              **options: Any) -> Aggregation:
    """Aggregates proofs made with ``prove(..., for_aggregation=True)`` into one (``snarkml
    aggregate``): ``builds`` are their models' builds, ``srs`` the SRS they were set up from
    (at least ``2**k`` points), ``expose`` what the aggregated proof shows of their instances
    (``"sum:0"``, ``"equal:0,chain:1:2"``…). ``options``: ``k``, ``arity``, ``no_compress``,
    ``cache_dir``, ``cache_limit`` (``"16GiB"``: the least recently used cached keys are
    removed to keep under it). Slow and large: minutes and GiB per aggregation circuit on a
    laptop (BENCHMARKS.md "Aggregation")."""
    words: list = ["aggregate", *(_path(p) for p in proofs)]
    for b in [builds] if isinstance(builds, Build) else builds:
        words += ["--build", _path(b)]
    words += ["--srs", srs, "-o", out]
    if expose:
        words += ["--expose", expose]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            words.append(flag)
        elif value not in (False, None):
            words += [flag, value]
    cli(*words)
    return Aggregation(out)


def _torch_module(model: Any) -> bool:
    """Whether ``model`` is a ``torch.nn.Module`` (torch stays optional: never imported here
    unless the caller already did)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


#: ``compile``'s ``exporter`` for a ``torch.nn.Module``: torch's TorchScript exporter
#: (``dynamo=False``, opset 17; needs nothing beside torch) or ``torch.export``'s (torch's
#: default since 2.9, opset 18 and up; needs onnxscript; writes the weights to a ``.onnx.data``
#: file beside the model, which ``compile`` reads).
TORCH_EXPORTERS = ("torchscript", "torch.export")


def _torch_onnx(module: Any, example_input: Any, path: Path, exporter: str = "torchscript") -> None:
    """``module`` exported to ONNX at ``path`` by ``exporter`` (:data:`TORCH_EXPORTERS`) on
    ``example_input`` (one input, or a tuple of inputs), in eval mode (its mode is restored
    after)."""
    import contextlib
    import io

    import torch

    if example_input is None:
        raise TypeError(
            "model: a torch.nn.Module needs example_input= (an input, or a tuple of inputs) to "
            "be exported to ONNX"
        )
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    inputs = tuple(
        x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float32))
        for x in inputs
    )
    names = ["input"] if len(inputs) == 1 else [f"input{i}" for i in range(len(inputs))]
    if exporter not in TORCH_EXPORTERS:
        raise ValueError(f"exporter: expected one of {TORCH_EXPORTERS}, got {exporter!r}")
    training = module.training
    module.eval()
    try:
        if exporter == "torch.export":
            # It prints its progress; the weights go to `path`.data beside the model.
            with contextlib.redirect_stdout(io.StringIO()):
                torch.onnx.export(module, inputs, str(path), dynamo=True, input_names=names,
                                  output_names=["output"])
            return
        buffer = io.BytesIO()
        options = dict(input_names=names, output_names=["output"], opset_version=17)
        try:
            torch.onnx.export(module, inputs, buffer, dynamo=False, **options)
        except TypeError:  # torch before 2.5: no `dynamo`, the TorchScript exporter only
            torch.onnx.export(module, inputs, buffer, **options)
        path.write_bytes(buffer.getvalue())
    finally:
        module.train(training)


def _model_file(model: Any, folder: Path, example_input: Any = None,
                exporter: str = "torchscript") -> Path:
    """``model`` as an ONNX file: a path as it is; bytes, an ``onnx.ModelProto`` or a
    ``torch.nn.Module`` (exported on ``example_input`` by ``exporter``) written out."""
    if isinstance(model, (str, os.PathLike)):
        return Path(model)
    name = getattr(getattr(model, "graph", None), "name", "") or "model"
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
    elif _torch_module(model):
        path = folder / f"{type(model).__name__}.onnx"
        _torch_onnx(model, example_input, path, exporter)
        return path
    elif hasattr(model, "SerializeToString"):
        data = model.SerializeToString()
    else:
        raise TypeError(
            "model: expected a path, ONNX bytes, an onnx.ModelProto or a torch.nn.Module, "
            f"got {type(model).__name__}"
        )
    path = folder / f"{name}.onnx"
    path.write_bytes(data)
    return path


def _calibration(samples: Any) -> dict:
    """Calibration samples as the CLI's file holds them: for a single-input model an array (or
    nested list) whose first axis is the samples; for several inputs a list of tuples, one
    array per input in each."""
    if isinstance(samples, (list, tuple)) and samples and isinstance(samples[0], tuple):
        return {
            "inputs": [
                [_flat(x, f"calibration sample {i}, input {j}") for j, x in enumerate(s)]
                for i, s in enumerate(samples)
            ]
        }
    return {"inputs": [_flat(s, f"calibration sample {i}") for i, s in enumerate(samples)]}


def compile(
    model: Any,
    out: PathLike = "build",
    calibration: Any = None,
    example_input: Any = None,
    exporter: str = "torchscript",
    **options: Any,
) -> Build:
    """Compiles an ONNX model into the build directory ``out``.

    ``model`` is a path, the ONNX bytes, an ``onnx.ModelProto``, or a ``torch.nn.Module``
    (with torch installed), exported with ``torch.onnx.export`` on ``example_input`` (an
    array, or a tuple of arrays for several inputs; the export traces the shapes, so the
    circuit takes inputs of exactly those shapes) by ``exporter``: ``"torchscript"`` (opset 17,
    nothing beside torch needed) or ``"torch.export"`` (torch's default since 2.9; needs
    onnxscript). ``calibration`` is a path
    to a calibration file, an array of samples (first axis: samples) of a single-input model, or
    a list of tuples (one array per input) of a model with several inputs (default: 16 random
    inputs in [-1, 1]). ``options`` are the
    flags of ``snarkml compile``, with ``_`` for ``-`` (``True`` for a flag without a value):
    ``scale``, ``weight_scale``, ``width``, ``inputs``/``outputs`` (``"public"``,
    ``"private"``, ``"hashed"``), ``weights`` (``"fixed"``, ``"private"``, ``"hashed"``),
    ``weights_salt``, ``linear`` (``"auto"``, ``"direct"``, ``"freivalds"``),
    ``target_error``, ``target_worst_error``, ``allow_error``, ``uniform_input_scale``,
    ``optimize``, ``segments`` or ``max_memory`` (``"8GiB"``: a split build, see :attr:`Build.is_split`), ``name`` (the model's name in
    the build and its proofs; a module's default is its class name, not the ``main_graph``
    torch's export writes).

    >>> build = snarkml.compile("tests/fixtures/relu3.onnx", "build", calibration=[[0.5, -1, 2]])
    >>> build = snarkml.compile(torch_model, "build", example_input=x, calibration=train_x)
    """
    if _torch_module(model):
        # torch names every exported graph `main_graph`: the module's class names it instead.
        options.setdefault("name", type(model).__name__)
    with tempfile.TemporaryDirectory(prefix="snarkml-") as tmp:
        folder = Path(tmp)
        path = _model_file(model, folder, example_input, exporter)
        words: list = ["compile", path, "-o", out]
        if calibration is not None:
            if not isinstance(calibration, (str, os.PathLike)):
                cal = folder / "calibration.json"
                cal.write_text(json.dumps(_calibration(calibration)))
                calibration = cal
            words += ["--calibration", calibration]
        for key, value in options.items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                words.append(flag)
            elif value is not False and value is not None:
                words += [flag, value]
        try:
            # The CLI's own command (in this process): every option it has, checked by it.
            if path.parent == folder:  # bytes, a ModelProto or a module, written out
                _naming(cli, path, "the ONNX model given", *words)
            else:
                cli(*words)
        except SnarkmlError as e:
            if str(e).startswith("unexpected argument '--"):
                key = str(e).split("'")[1][2:].replace("-", "_")
                raise SnarkmlError(
                    f"unknown compile option `{key}` (the options are `snarkml compile`'s "
                    "flags, with _ for -: see `snarkml compile --help`)"
                ) from None
            raise
    return Build(out)


def srs_gen(k: int, out: PathLike, seed: int = 0) -> Path:
    """Generates a development SRS of ``2**k`` points (INSECURE: anyone who knows the seed can
    forge proofs; for tests and a local anvil) into ``out``."""
    _ext.srs_gen(k, str(out), seed)
    return Path(out)
