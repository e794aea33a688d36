"""Test-suite setup: device parametrization and CI strictness.

Every test taking a `device` argument runs on "cpu", and on "cuda" (marked
`gpu`) when a CUDA device is present. When the environment variable CI is set,
a missing test dependency (PyTorch, a compiler, ...) fails instead of skipping."""
import importlib
import os

import pytest

import autograd_gpu as ag

IN_CI = bool(os.environ.get("CI"))


def _cuda_available():
    try:
        return ag.cuda is not None and ag.cuda.is_available()
    except Exception:
        return False


CUDA = _cuda_available()
DEVICES = ["cpu"] + (["cuda"] if CUDA else [])


def need(module_name, why=""):
    """Import a test dependency: skip without it locally, fail in CI."""
    try:
        return importlib.import_module(module_name)
    except ImportError:
        msg = f"{module_name} is needed{(' for ' + why) if why else ''}"
        if IN_CI:
            pytest.fail(msg + " (CI is set: a missing dependency fails the run)", pytrace=False)
        pytest.skip(msg)


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames and not any(
            m.name == "parametrize" and "device" in m.args[0] for m in metafunc.definition.iter_markers()):
        params = [pytest.param("cpu", id="cpu")]
        params.append(pytest.param("cuda", id="cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
            not CUDA, reason="no CUDA device")]))
        metafunc.parametrize("device", params)


@pytest.fixture
def torch():
    return need("torch", "oracle tests against PyTorch")


@pytest.fixture(autouse=True)
def _seed():
    ag.manual_seed(0)
    yield
