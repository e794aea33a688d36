"""Smoke test of the benchmark suite: it runs, checks correctness and prints its
table. Timings are never asserted (CI machines are noisy and shared)."""
import json
import os
import subprocess
import sys
import tarfile

import pytest

from conftest import CUDA, unavailable

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_suite(*args, timeout=120):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "benchmarks.run", "--device", "cpu", *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def assert_table(proc, workloads):
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "| Workload | Framework |" in proc.stdout, proc.stdout
    for w in workloads:
        rows = [line for line in proc.stdout.splitlines() if line.startswith(f"| {w} ")]
        frameworks = {row.split("|")[2].strip() for row in rows}
        assert {"numpy", "autograd_gpu"} <= frameworks, (w, proc.stdout)
        ag_row = next(row for row in rows if row.split("|")[2].strip() == "autograd_gpu")
        assert "| ok (" in ag_row, ag_row          # gradients matched the NumPy reference


def test_quick_w1_w4(tmp_path):
    out = tmp_path / "bench.json"
    proc = run_suite("--quick", "--workloads", "W1,W4", "--json", str(out))
    assert_table(proc, ["W1", "W4"])
    report = json.loads(out.read_text())
    assert [e["workload"] for e in report["results"]] == ["W1", "W4"]
    for entry in report["results"]:
        ag = entry["frameworks"]["autograd_gpu"]
        assert ag["status"] == "ok" and ag["total"] > 0 and ag["peak_rss"] > 0
        # page faults and system CPU seconds per iteration, from getrusage
        assert ag["faults"] >= 0 and ag["sys"] >= 0
    assert "| Faults/iter | Sys |" in proc.stdout


def test_quick_all_workloads_tiny():
    # PyTorch is left out here (its import dominates a tiny run); the W1/W4 run covers it
    proc = run_suite("--quick", "--scale", "0.001", "--frameworks", "numpy,autograd_gpu")
    assert_table(proc, ["W1", "W2", "W3", "W4", "W5", "W6"])
    assert "W5 backward, autograd_gpu on cpu" in proc.stdout


@pytest.mark.parametrize("argv", [["--workloads", "W9"], ["--frameworks", "jax"], ["--scale", "0"]])
def test_bad_arguments_exit_2(argv):
    proc = run_suite(*argv, timeout=60)
    assert proc.returncode == 2, proc.stderr


def test_cuda_rows_judge_the_gpu_target_against_pytorch():
    """On cuda our Target cell is the per-round median of our time over PyTorch
    CUDA's, against the workload's GPU target; on the CPU, the ratio to NumPy."""
    from benchmarks import run
    from benchmarks.workloads import WORKLOADS

    def fw(name, device, samples, ratio=None):
        return {"framework": name, "device": device, "status": "ok", "samples": samples,
                "total": sorted(samples)[1], "forward": 0.0, "backward": 0.0, "update": 0.0, "ratio": ratio,
                "check": "ok (0e+00)"}
    cuda = {"numpy": fw("numpy", "cuda", [2.0, 2.0, 2.0]),
            "autograd_gpu": fw("autograd_gpu", "cuda", [1.3, 1.2, 1.1], 0.6),
            "torch": fw("torch", "cuda", [1.0, 1.0, 1.1])}
    ours = cuda["autograd_gpu"]
    # per round 1.3, 1.2 and 1.0: median 1.2 (the medians' ratio, 1.2 / 1.0, happens to agree here)
    assert run.paired_ratio(ours["samples"], cuda["torch"]["samples"]) == pytest.approx(1.2)
    assert run.paired_ratio([1.0, 4.0, 2.0], [2.0, 2.0, 1.0]) == 2.0       # medians' ratio: 1.0
    ours["ratio_to_torch"] = 1.2
    w5 = WORKLOADS["W5"]
    assert run._target(w5, ours) == "1.20× of PyTorch (≤ 1.1× ✗)"
    assert run._target(WORKLOADS["W1"], ours) == "1.20× of PyTorch (≤ 1.5× ✓)"
    assert run._target(WORKLOADS["W4"], ours) == "—"                     # no GPU target
    del ours["ratio_to_torch"]
    assert "no PyTorch CUDA run" in run._target(w5, ours)
    cpu = fw("autograd_gpu", "cpu", [1.0, 1.0, 1.0], 1.08)
    assert run._target(w5, cpu) == "≤ 1.15× ✓" and run._target(WORKLOADS["W1"], cpu) == "≤ 2.5× ✓"
    ours["ratio_to_torch"] = 1.2
    text = run.table({"results": [{"workload": "W5", "frameworks": cuda}]})
    assert "| 1.20× of PyTorch (≤ 1.1× ✗) |" in text, text


def test_bytecode_profile_counts_the_engine_and_numpy(capsys):
    from benchmarks import profile_hotpath
    profile_hotpath.main(["bytecodes", "--workload", "W1", "--top", "30"])
    out = capsys.readouterr().out
    totals = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in ("numpy", "autograd_gpu"):
            totals[parts[0]] = [float(v) for v in parts[1:]]
    # forward, backward, update, total; NumPy's hand-written step runs a few
    # Python lines per phase, the engine's traversal far more
    assert set(totals) == {"numpy", "autograd_gpu"}, out
    for fw, (f, b, u, t) in totals.items():
        assert min(f, b, u) > 0 and t == f + b + u, (fw, out)
    assert totals["autograd_gpu"][1] > 10 * totals["numpy"][1], out
    assert "engine.py:execute" in out and "op.py:apply2" in out, out


def test_bytecode_profile_of_the_cuda_path_counts_our_code_only():
    """`bytecodes --device cuda` on the CuPy emulator: the host-side cost of the
    GPU path, in our bytecodes (the emulator, standing in for CuPy's compiled
    calls, is not counted)."""
    try:
        import cupy_emulator
    except ImportError:
        cupy_emulator = None
    if cupy_emulator is None or not cupy_emulator.available():
        unavailable("the CuPy emulator needs the cupy package (pip install cupy-cuda13x)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(REPO_ROOT, "tests", "emulated_site"), os.path.join(REPO_ROOT, "tests"), REPO_ROOT]))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.profile_hotpath", "bytecodes", "--workload", "W5",
                           "--scale", "0.001", "--device", "cuda", "--top", "90"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "10,000 elements, cuda)" in out and "only bytecodes of autograd_gpu/" in out, out
    row = next(line.split() for line in out.splitlines() if line.startswith("autograd_gpu "))
    assert float(row[1]) > 0 and float(row[2]) > 0, out
    assert "cupy_kernels.py:fast" in out and "cupy_emulator" not in out and "numpy/" not in out, out


def test_bytecode_count_per_phase_equals_a_plain_tally():
    # an independent count (one running total, no per-function keys) of the same
    # calls: functions sharing a name (two lambdas here) must add up, not overwrite
    from benchmarks.profile_hotpath import _count_bytecodes
    first, second = (lambda v: [v * k for k in range(5)]), (lambda v: sum(range(v)))

    class Impl:
        def forward(self):
            return first(3), second(4)

        def backward(self, state):
            return [first(i) for i in range(3)]

        def update(self):
            return second(10)

    tally = [0]

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            tally[0] += 1
        return tracer

    def plain(fn, *args):
        tally[0] = 0
        sys.settrace(tracer)
        try:
            fn(*args)
        finally:
            sys.settrace(None)
        return tally[0]

    impl = Impl()
    expected = {"forward": plain(impl.forward), "backward": plain(impl.backward, (9, 6)),
                "update": plain(impl.update)}
    got = {phase: sum(c.values()) for phase, c in _count_bytecodes(impl).items()}
    assert got == expected, (got, expected)
    assert min(expected.values()) > 0


@pytest.mark.skipif(CUDA, reason="a CUDA device is present: the script would run the GPU checks")
def test_kernel_timings_need_a_device_and_know_peaks():
    import types
    from benchmarks import kernels
    if not CUDA:
        env = dict(os.environ, PYTHONPATH=REPO_ROOT)
        proc = subprocess.run([sys.executable, "-m", "benchmarks.kernels"], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "no GPU" in proc.stderr, proc.stdout + proc.stderr

    def fake(props):
        rt = types.SimpleNamespace(getDevice=lambda: 0, getDeviceProperties=lambda d: props)
        return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=rt))
    # A100 40GB: 1,215 MHz x 5,120 bits, double data rate = 1,555 GB/s
    bw, how = kernels.peak_bandwidth(fake({"name": b"A100", "memoryClockRate": 1215000, "memoryBusWidth": 5120}))
    assert round(bw / 1e9) == 1555 and "driver" in how
    bw, how = kernels.peak_bandwidth(fake({"name": b"NVIDIA H200"}))      # CUDA 13: no memory clock
    assert bw == 4.8e12 and "nominal" in how
    assert kernels.peak_bandwidth(fake({"name": b"Mystery GPU"}))[0] is None


def test_kernel_timings_judge_the_fused_backward_against_80_percent():
    from benchmarks import kernels
    peak, n = 4.8e12, 120e6
    timed = [("autograd_gpu", "copy (CuPy, the reference)", 24e-6, 80e6),
             ("autograd_gpu", "tanh_bwd (fused: g * (1 - y*y))", n / (0.786 * peak), n),
             ("autograd_gpu", "sigmoid_bwd (fused: g * (1 - y) * y)", n / (0.81 * peak), n),
             ("autograd_gpu", "tanh_bwd (fused) on 100,000,000 elements", 1.0, 1.2e9),   # not W5's size
             ("torch", "tanh_bwd (fused: g * (1 - y*y))", n / (0.9 * peak), n)]
    line = kernels.bandwidth_target(timed, peak)
    assert line.endswith("tanh_bwd 78.6%, sigmoid_bwd 81.0% ✗"), line
    timed[1] = ("autograd_gpu", "tanh_bwd (fused: g * (1 - y*y))", n / (0.8 * peak), n)
    assert kernels.bandwidth_target(timed, peak).endswith("tanh_bwd 80.0%, sigmoid_bwd 81.0% ✓")


def test_gpu_check_refuses_without_a_device(tmp_path):
    # skipped GPU tests would "pass": without a device the script must run nothing and say so
    proc = subprocess.run(["bash", os.path.join(REPO_ROOT, ".ci", "gpu_check")], cwd=REPO_ROOT,
                          env=dict(os.environ, OUT=str(tmp_path)), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "sees no CUDA device" in proc.stderr
    assert (tmp_path / "machine.txt").exists() and not (tmp_path / "gpu_tests.log").exists()


@pytest.mark.skipif(CUDA, reason="a CUDA device is present: .ci/gpu_check runs for real there")
def test_gpu_check_dry_run_on_the_cupy_emulator(tmp_path):
    """The GPU checks script end to end with the CuPy emulator as `cupy` in
    every process (tests/emulated_site): its probe, the gpu tests (one file
    here), and each workload's benchmark on cuda with the hand-written CuPy
    twin, synchronisation and the correctness check (PyTorch, whose CUDA build
    the emulator cannot stand in for, is left out). A GPU session's few minutes
    must not go to a crash in the script or the suite's CUDA path."""
    try:
        import cupy_emulator
    except ImportError:
        cupy_emulator = None
    if cupy_emulator is None or not cupy_emulator.available():
        unavailable("the CuPy emulator needs the cupy package (pip install cupy-cuda13x)")
    env = dict(os.environ, OUT=str(tmp_path), TESTS="tests/test_tensor.py",
               BENCH_ARGS="--quick --scale 0.001 --frameworks numpy,autograd_gpu",
               KERNEL_ARGS="--numel 1000 --reps 2 --rounds 2 --w3-rows 8",
               PYTHONPATH=os.path.join(REPO_ROOT, "tests", "emulated_site"))
    proc = subprocess.run(["bash", os.path.join(REPO_ROOT, ".ci", "gpu_check")], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "devices 1" in (tmp_path / "machine.txt").read_text(), out
    assert "warmup: exit 0" in out and " kernel builds in " in (tmp_path / "machine.txt").read_text(), out
    assert "gpu tests: exit 0" in out and (tmp_path / "gpu_tests.xml").exists(), out
    assert "kernel timings (cuda): exit 0" in out and "| autograd_gpu | tanh_bwd" in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bench.md", "bench_json.tgz", "gpu_tests.log", "gpu_tests.xml", "kernels.md", "machine.txt"]
    with tarfile.open(tmp_path / "bench_json.tgz") as tar:
        reports = {m.name: json.load(tar.extractfile(m)) for m in tar.getmembers()}
    for w in ("W1", "W2", "W3", "W4", "W5"):
        assert f"benchmark {w} (cuda): exit 0" in out and f"| {w} " in (tmp_path / "bench.md").read_text(), out
        report = reports[f"bench_{w}.json"]
        (entry,) = report["results"]
        fw = entry["frameworks"]
        assert entry["device"] == "cuda" and fw["numpy"]["status"] == "ok", entry
        assert fw["autograd_gpu"]["status"] == "ok" and fw["autograd_gpu"]["check"].startswith("ok"), entry


def test_idioms_quick():
    """benchmarks/idioms.py runs every idiom on both libraries (tiny sizes) and prints its table."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.idioms", "--quick"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and not line.startswith("| Idiom")]
    from benchmarks.idioms import _idiom_names
    assert [row.split("|")[1].strip() for row in rows] == _idiom_names(), proc.stdout
    assert all(row.endswith("x |") for row in rows), proc.stdout
    bad = subprocess.run([sys.executable, "-m", "benchmarks.idioms", "--only", "nope"], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown idioms: nope" in bad.stderr
