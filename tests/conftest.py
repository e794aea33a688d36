"""Test-suite setup: device parametrization and CI strictness.

Every test taking a `device` argument runs on "cpu" and on "cuda" (marked
`gpu`). With a real CUDA device, "cuda" is that device. Without one, "cuda"
runs on the CuPy emulator (tests/cupy_emulator.py: the library's CuPy code
path on the host, our kernels from their host build), unless
AG_CUDA_EMULATOR=0; tests marked `real_gpu` (device-side behaviour) then
skip, saying they need a real GPU. When the environment variable CI is set,
a missing test dependency (PyTorch, a compiler, ...) fails instead of skipping."""
import ctypes
import hashlib
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograd_gpu as ag
from autograd_gpu import backend as B
from autograd_gpu.backend.numpy_backend import NumpyBackend

IN_CI = bool(os.environ.get("CI"))


def _cuda_available():
    if getattr(sys.modules.get("cupy"), "_is_emulator", False):
        return False                    # the emulator already is `cupy` (tests/emulated_site): no device
    try:
        return ag.cuda is not None and ag.cuda.is_available()
    except Exception:
        return False


CUDA = _cuda_available()            # a real CUDA device
DEVICES = ["cpu"] + (["cuda"] if CUDA else [])
# Without a real device, the cuda tests run on the CuPy emulator (default, and in CI);
# AG_CUDA_EMULATOR=0 turns it off (they skip). A real device never uses it.
EMULATOR_WANTED = os.environ.get("AG_CUDA_EMULATOR", "1").strip().lower() not in ("0", "false", "no", "off")
if not CUDA and EMULATOR_WANTED:
    import cupy_emulator
    EMULATED = cupy_emulator.available()
else:
    cupy_emulator, EMULATED = None, False
CUDA_SKIP_REASON = ("no CUDA device" + ("" if EMULATOR_WANTED else " (AG_CUDA_EMULATOR=0)")
                    + ("; the CuPy emulator needs the cupy package installed" if EMULATOR_WANTED and not CUDA
                       and not EMULATED else ""))
REAL_GPU_REASON = "needs a real GPU"
# for `gpu` tests without a `device` argument: run on the real device or the emulator
# (skipped here only when the emulator is turned off; _cuda_emulation handles the rest)
needs_cuda = pytest.mark.skipif(not (CUDA or EMULATOR_WANTED), reason=CUDA_SKIP_REASON)


def unavailable(reason):
    """A test dependency is missing: skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set: a missing dependency fails the run)", pytrace=False)
    pytest.skip(reason)


def need(module_name, why=""):
    """Import a test dependency (unavailable() without it)."""
    try:
        return importlib.import_module(module_name)
    except ImportError:
        unavailable(f"{module_name} is needed{(' for ' + why) if why else ''}")


BUILD_DIR = Path(__file__).resolve().parent / "_build"
HOST_CXXFLAGS = ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fPIC", "-shared"]


class _SectionAtEnd:
    """A pytest plugin printing a test module's figures in the terminal summary."""

    def __init__(self, title, lines):
        self.title, self.lines = title, lines

    def pytest_terminal_summary(self, terminalreporter):
        lines = self.lines()
        if lines:
            terminalreporter.section(self.title)
            for line in lines:
                terminalreporter.write_line(line)


def report_at_end(request, title, lines):
    """Print `lines()` (a list of strings; nothing when empty) under `title` at
    the end of the run. Call it from a module-scoped autouse fixture."""
    name = f"summary: {title}"
    if request.config.pluginmanager.get_plugin(name) is None:
        request.config.pluginmanager.register(_SectionAtEnd(title, lines), name)


def build_host_library(stem, src, include_dir, headers, what):
    """Compile `src` (including kernel headers from `include_dir`) into a shared
    library with g++ (or $CXX) and load it. Cached in tests/_build under a hash
    of the source, the headers, the compiler and the flags."""
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        unavailable(f"no host C++ compiler ({cxx}) to build {what}")
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout
    h = hashlib.sha256()
    for part in [src, version, " ".join(HOST_CXXFLAGS)] + [Path(p).read_text() for p in headers]:
        h.update(part.encode())
    so = BUILD_DIR / f"{stem}_{h.hexdigest()[:16]}.so"
    if not so.exists():
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        cpp = so.with_suffix(".cpp")
        cpp.write_text(src)
        tmp = so.with_suffix(f".{os.getpid()}.tmp")
        r = subprocess.run([cxx, *HOST_CXXFLAGS, f"-I{include_dir}", str(cpp), "-o", str(tmp)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.fail(f"{what} does not compile on the host:\n{r.stderr[-6000:]}", pytrace=False)
        os.replace(tmp, so)          # atomic: parallel runs never load a half-written library
    return ctypes.CDLL(str(so))


class FakeCudaBackend(NumpyBackend):
    """NumPy arrays that call themselves cuda:0: device checks and CUDA type
    names run on every machine."""
    device = B.device("cuda:0")
    type_prefix = "CUDA"
    is_cuda = True


@pytest.fixture
def fake_cuda(monkeypatch):
    fake = FakeCudaBackend()
    monkeypatch.setitem(B._backends, B.device("cuda:0"), fake)
    return fake


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames and not any(
            m.name == "parametrize" and "device" in m.args[0] for m in metafunc.definition.iter_markers()):
        params = [pytest.param("cpu", id="cpu")]
        params.append(pytest.param("cuda", id="cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
            not (CUDA or EMULATOR_WANTED), reason=CUDA_SKIP_REASON)]))
        metafunc.parametrize("device", params)


@pytest.fixture(autouse=True)
def _cuda_emulation(request, monkeypatch):
    """For a `gpu` test without a real device: the CuPy emulator as `cupy`,
    and no CUDA backend left behind for the tests that follow."""
    if CUDA or request.node.get_closest_marker("gpu") is None or "[cpu" in request.node.nodeid:
        yield
        return
    if not EMULATED:                    # wanted, but the cupy package is missing: CI fails
        unavailable(CUDA_SKIP_REASON)
    real_gpu = request.node.get_closest_marker("real_gpu")
    if real_gpu is not None:
        pytest.skip(f"{REAL_GPU_REASON}: {real_gpu.args[0] if real_gpu.args else 'device-side behaviour'}")
    from autograd_gpu.backend import cupy_kernels
    monkeypatch.setitem(sys.modules, "cupy", cupy_emulator.module)
    # kernels made with another cupy module must not serve this one (and back)
    monkeypatch.setattr(cupy_kernels, "_impls", {})
    monkeypatch.setattr(cupy_kernels, "_modules", cupy_kernels._Modules())
    yield
    for dev in [d for d in B._backends if d.type == "cuda"]:
        del B._backends[dev]


_EMULATION_COUNTS = {"ran": 0, "passed": 0, "failed": 0, "xfailed": 0, "real_gpu": 0, "skipped": 0}


def pytest_runtest_logreport(report):
    if "gpu" not in report.keywords or "[cpu" in report.nodeid:      # (a gpu test's cpu param)
        return
    xfail = hasattr(report, "wasxfail")
    if report.when == "call" and (xfail or not report.skipped):
        _EMULATION_COUNTS["ran"] += 1
        key = "xfailed" if xfail else report.outcome
        _EMULATION_COUNTS[key] = _EMULATION_COUNTS.get(key, 0) + 1
    elif report.skipped and not xfail:
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _EMULATION_COUNTS["real_gpu" if REAL_GPU_REASON in reason else "skipped"] += 1


def pytest_terminal_summary(terminalreporter):
    c = _EMULATION_COUNTS
    if CUDA:
        if c["ran"] or c["real_gpu"] or c["skipped"]:
            terminalreporter.write_line("cuda tests: on the real CUDA device (no emulation)")
    elif EMULATED and (c["ran"] or c["real_gpu"] or c["skipped"]):
        terminalreporter.write_line(
            f"cuda tests: {c['ran']} ran on the CuPy emulator ({c['passed']} passed, {c['failed']} failed, "
            f"{c['xfailed']} xfailed); {c['real_gpu']} left for a real GPU ({REAL_GPU_REASON}: see -rs)"
            + (f"; {c['skipped']} skipped for other reasons" if c["skipped"] else ""))
    elif c["skipped"] or c["real_gpu"]:
        terminalreporter.write_line(f"cuda tests: {c['skipped'] + c['real_gpu']} skipped ({CUDA_SKIP_REASON})")


@pytest.fixture
def torch():
    return need("torch", "oracle tests against PyTorch")


@pytest.fixture(autouse=True)
def _seed():
    ag.manual_seed(0)
    yield
