"""Fixtures of the Python package's tests: the repository's fixtures, a private SRS cache, a
compiled and set-up relu3 build shared by the tests, and a local anvil."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import snarkml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def srs_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`setup` without an SRS makes the development SRS once into this run's own cache."""
    cache = Path(os.environ.get("SNARKML_TEST_CACHE") or tmp_path_factory.mktemp("cache")) / "py-srs"
    os.environ["SNARKML_SRS_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def relu3(tmp_path_factory: pytest.TempPathFactory) -> snarkml.Build:
    """relu3 compiled (calibrated on its input) and set up."""
    build = snarkml.compile(
        FIXTURES / "relu3.onnx",
        tmp_path_factory.mktemp("relu3") / "build",
        calibration=FIXTURES / "relu3.input.json",
    )
    build.setup()
    return build


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def anvil() -> str:
    """A local anvil (from `.toolchain/`, or on PATH): its JSON-RPC URL."""
    exe = ROOT / ".toolchain" / "bin" / "anvil"
    if not exe.exists():
        exe = Path(shutil.which("anvil") or "")
    if not exe.is_file():
        pytest.fail("anvil not found: run scripts/setup")
    port = _free_port()
    proc = subprocess.Popen(
        [str(exe), "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("anvil did not start")
    yield url
    proc.kill()
    proc.wait()
