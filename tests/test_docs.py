"""The user docs are true: README.md, docs/*.md and benchmarks/README.md.

1. Every fenced ```python block runs (test_python_block_runs). A block that is
   a fragment runs after a small preamble kept here, per file (PREAMBLE). A
   block may be marked in the markdown, on the line right before its fence:
     <!-- docs-test: skip (reason) -->   not run (e.g. a signature, not a call)
     <!-- docs-test: cuda (reason) -->   runs only where a CUDA device exists
   A block that moves to "cuda" to make a point that holds on any device runs
   with "cpu" instead on a machine without one (CPU_STANDIN).
2. Every concrete claim a user could copy or rely on (printed output, exception
   types and messages, names, defaults, "as PyTorch does") is checked below,
   grouped per doc file and named after its section: against PyTorch 2.13 CPU
   where the doc says we match it, against the doc's own text where it shows
   output (the expected text is read from the doc, so editing the doc re-checks
   it). Claims that other suites test in depth are not tested twice: `covered()`
   checks that the cited test (and the case the claim is about) still exists.
3. Library behaviour that API.md or PyTorch says is wrong is pinned with
   xfail(strict=True) tests named test_bug_*; when one starts passing, the
   library was fixed: drop the xfail and update the doc sentence it cites.
"""
import contextlib
import inspect
import io
import math
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import autograd_gpu as ag
from conftest import CUDA, HOST_CXXFLAGS, need, unavailable

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")), "benchmarks/README.md"]
inf, nan = math.inf, math.nan


def read(rel):
    return (ROOT / rel).read_text(encoding="utf-8")


def flat(s):
    return " ".join(s.split())


def quoted(doc, text):
    """`text` as the doc states it (whitespace and line wrapping aside): the
    literal a test compares the library with must be the doc's own."""
    assert flat(text) in flat(read(doc)), f"{doc} no longer says {text!r}: update the test with the doc"
    return text


def covered(test_file, *needles):
    """A claim tested in depth elsewhere: the cited test file still holds the
    cited test (and case) names."""
    src = read(f"tests/{test_file}")
    missing = [n for n in needles if n not in src]
    assert not missing, f"tests/{test_file} no longer has {missing}: the docs' claim lost its test"


# ---------------------------------------------------------------------------------------------
# 1. the code blocks
# ---------------------------------------------------------------------------------------------

FENCE = re.compile(r"^```\s*(\w*)\s*$")
MARKER = re.compile(r"^<!--\s*docs-test:\s*(skip|cuda)\s*\((.+)\)\s*-->$")


def code_blocks(doc):
    """[(line, lang, code, marker)] of the fenced blocks of `doc`; marker is
    (kind, reason) from a docs-test comment on the line before the fence."""
    lines, out, i = read(doc).splitlines(), [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while not lines[j].startswith("```"):
            j += 1
        prev = lines[i - 1].strip() if i else ""
        if prev.startswith("<!--") and "docs-test" in prev:
            mm = MARKER.match(prev)
            assert mm, f"{doc}:{i}: malformed docs-test marker {prev!r} (skip|cuda (reason))"
            marker = mm.groups()
        else:
            marker = None
        out.append((i + 1, m.group(1), "\n".join(lines[i + 1:j]) + "\n", marker))
        i = j + 1
    return out


# Fragments: what a block needs that the doc leaves to the reader (its data, a model).
PREAMBLE = {
    "docs/nan_semantics.md": "import autograd_gpu as ag\n"
                             "x = ag.tensor([0.0, 1.0, 2.0], requires_grad=True)\n",
    "docs/nn.md": "import autograd_gpu as ag\n"
                  "from autograd_gpu import nn, optim\n"
                  "ag.manual_seed(0)\n"
                  "dev = 'cuda' if ag.cuda.is_available() else 'cpu'\n"     # where the training block's model is
                  "x = ag.randn(100, 3, device=dev)\n"
                  "y = (x * ag.tensor([0.2, -1.3, -0.5], device=dev)).sum(1, keepdim=True) + 0.5\n"
                  "model = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 1))\n"
                  "opt = optim.Adam(model.parameters(), lr=1e-2)\n",
    "docs/notebooks.md": "import autograd_gpu as ag\n"           # the blog's graph (walkthrough part 2)
                         "x1 = ag.ones(2, 2, requires_grad=True)\n"
                         "x2 = ag.tensor([1.1], requires_grad=True)\n"
                         "y = x1 * (x2 + 2)\n"
                         "y.retain_grad()\n"
                         "z = y.pow(2) * 3\n"
                         "z.retain_grad()\n"
                         "out = z.mean()\n",
    "docs/architecture.md": "import autograd_gpu as ag\n"
                            "from autograd_gpu.autograd.op import Op\n"
                            "from autograd_gpu.ops import prims as P\n",
}
# Blocks that move to the GPU to make a point that holds on any device: on a
# machine without one they run on the CPU (nn.md: the training loop).
CPU_STANDIN = {"docs/nn.md": [('.to("cuda")', '.to("cpu")')]}

PY_BLOCKS = [(doc, line, code, marker) for doc in DOC_FILES
             for line, lang, code, marker in code_blocks(doc) if lang == "python"]


def run_block(doc, code, marker=None):
    """Run one block after its file's preamble in a fresh namespace; returns
    the namespace and what it printed."""
    if marker and marker[0] == "cuda" and not CUDA:
        pytest.skip(f"needs a CUDA device: {marker[1]}")
    if not CUDA:
        for a, b in CPU_STANDIN.get(doc, ()):
            code = code.replace(a, b)
    ns = {"__name__": "__docs__"}
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(PREAMBLE.get(doc, "") + code, f"{doc} block", "exec"), ns)
    return ns, buf.getvalue()


def block(doc, contains):
    """The one python block of `doc` whose code contains `contains`."""
    found = [(c, m) for d, _, c, m in PY_BLOCKS if d == doc and contains in c]
    assert len(found) == 1, f"{doc}: {len(found)} python blocks contain {contains!r}"
    return found[0]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Blocks that write files (graph.png, ckpt.npz) write them in a temporary directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("doc,line,code,marker", PY_BLOCKS, ids=[f"{d}:{n}" for d, n, _, _ in PY_BLOCKS])
def test_python_block_runs(doc, line, code, marker, in_tmp):
    if marker and marker[0] == "skip":
        pytest.skip(marker[1])
    if "draw_graph" in code:
        need("graphviz", "docs/notebooks.md's graph picture")
        need_dot()
    run_block(doc, code, marker)


def test_every_python_block_is_accounted_for():
    """Markers are few and explained; every doc with python blocks is scanned."""
    markers = [(d, n, m) for d, n, _, m in PY_BLOCKS if m]
    assert len(PY_BLOCKS) >= 10
    assert len(markers) <= 3, markers
    assert all(len(m[1]) >= 10 for _, _, m in markers), markers
    assert set(PREAMBLE) <= set(DOC_FILES)


def need_dot():
    import shutil
    if shutil.which("dot") is None:
        unavailable("Graphviz's `dot` is needed to render pictures (apt-get install graphviz)")


# ---------------------------------------------------------------------------------------------
# README.md
# ---------------------------------------------------------------------------------------------

def test_readme_intro_example_prints_what_it_shows():
    code, _ = block("README.md", "x.mean()")
    ns, _ = run_block("README.md", code)
    shown = dict(re.findall(r"^(y\.grad_fn)\s+# (\w+)$", code, re.M))
    assert repr(ns["y"].grad_fn) == shown["y.grad_fn"] == "MeanBackward0"
    after = code.split("\nx.grad\n", 1)[1]
    printed = "\n".join(line[2:] for line in after.splitlines() if line.startswith("# "))
    assert repr(ns["x"].grad) == printed


def test_readme_quick_start_commands_exist(tmp_path):
    text = read("README.md")
    assert "python3 -m pip install . && python3 -m autograd_gpu.walkthrough" in text
    assert "python3 -m pip install -e '.[test,notebooks]' && python3 -m pytest -q" in text
    # tests/test_walkthrough.py checks every printed output (test_command_line_runs: parts 1 and 2 from
    # the command line); here the README's command as written, all parts, from outside the checkout
    covered("test_walkthrough.py", "def test_command_line_runs", '"-m", "autograd_gpu.walkthrough"')
    r = subprocess.run([sys.executable, "-m", "autograd_gpu.walkthrough"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert [line for line in r.stdout.splitlines() if line.startswith("=== Part")] == [
        "=== Part 1: autograd basics ===", "=== Part 2: digging deeper into the graph ===",
        "=== Part 3: the simple network, now using autograd ===",
        "=== Part 4: the same network with modules, a loss and an optimizer ==="]
    quoted("README.md", "`--part N` (repeatable) runs only part N of 1–4; `--device cpu` or `--device cuda` "
                        "overrides the choice of device")
    from autograd_gpu import walkthrough
    src = inspect.getsource(walkthrough.main)
    assert 'choices=[1, 2, 3, 4], action="append"' in src and 'p.add_argument("--device", choices=["cpu", "cuda"]' in src
    # "on the GPU when one is usable, else on the CPU"
    from types import SimpleNamespace
    from autograd_gpu.walkthrough import pick_device
    for usable, dev in ((True, "cuda"), (False, "cpu")):
        assert pick_device(SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: usable))) == dev
    assert r.stdout.startswith(f"autograd_gpu walkthrough on device: {'cuda' if CUDA else 'cpu'}\n")
    # the extras the commands install, and what `pytest -q` collects
    pyproject = read("pyproject.toml")
    for extra in ("test", "notebooks", "cuda12", "cuda13"):
        assert re.search(rf"^{extra} = \[", pyproject, re.M), extra
    assert 'torch==2.13.0' in pyproject and 'testpaths = ["tests"]' in pyproject


def test_readme_quick_start_longer_randomized_runs():
    # AG_HYPOTHESIS_EXAMPLES / AG_HYPOTHESIS_RANDOM drive test_random_graphs.py (CI: 3000, fixed seed)
    # and test_autograd_api_differential.py; AG_FUZZ_CALLS drives test_fuzz_bad_input.py
    covered("test_random_graphs.py", 'os.environ.get("AG_HYPOTHESIS_EXAMPLES", "3000")',
            'derandomize=not os.environ.get("AG_HYPOTHESIS_RANDOM")')
    covered("test_autograd_api_differential.py", 'os.environ.get("AG_HYPOTHESIS_EXAMPLES"',
            'os.environ.get("AG_HYPOTHESIS_RANDOM")')
    covered("test_tensor_api_differential.py", 'os.environ.get("AG_HYPOTHESIS_EXAMPLES"',
            'os.environ.get("AG_HYPOTHESIS_RANDOM")')
    covered("test_fuzz_bad_input.py", 'os.environ.get("AG_FUZZ_CALLS"', 'os.environ.get("AG_FUZZ_SEED"')
    quoted("README.md", "`AG_FUZZ_SEED=<any text>` samples other combinations")
    quoted("README.md", "CI uses a fixed seed and 3000 examples")


def test_readme_quick_start_ci_and_gpu_check():
    ci = read(".ci/run")
    assert "python3 -m venv" in ci and 'pip install -q ".[test,notebooks]"' in ci
    assert "cupy-cuda13x" in ci and "nvidia-cuda-nvrtc" in ci           # the CUDA compile checks' wheels
    assert ci.rstrip().splitlines()[-1].startswith("python -m pytest -q")
    # "With CI set, a missing test dependency fails instead of skipping"
    covered("conftest.py", 'IN_CI = bool(os.environ.get("CI"))', "pytest.fail(")
    gpu = read(".ci/gpu_check")
    assert "gpu_check_out" in gpu and "-m gpu" in gpu and "--device cuda" in gpu


def test_readme_what_is_in_it():
    # PyTorch's type promotion and creation functions: against PyTorch in tests/test_tensor_api_differential.py
    covered("test_tensor_api_differential.py", "def test_binary_promotion_full_matrix", "def test_factories")
    covered("test_tensor.py", "def test_dlpack_with_torch")                  # DLPack exchange
    for name in ("tensor", "zeros", "randn", "from_dlpack", "no_grad", "enable_grad", "set_grad_enabled",
                 "nn", "optim", "viz"):
        assert hasattr(ag, name), name
    for name in ("to", "cuda", "cpu", "__dlpack__", "backward", "retain_grad", "register_hook"):
        assert hasattr(ag.Tensor, name), name
    for name in ("grad", "Function", "gradcheck"):
        assert hasattr(ag.autograd, name), name
    assert hasattr(ag.nn, "functional") and hasattr(ag.optim, "SGD") and hasattr(ag.optim, "Adam")
    from autograd_gpu.viz import draw_graph
    assert callable(draw_graph)
    # grad mode is thread-local
    import threading
    seen = []
    with ag.no_grad():
        t = threading.Thread(target=lambda: seen.append(ag.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_readme_benchmarks_command(bench_help):
    line = quoted("README.md", "python3 -m benchmarks.run                 # W1-W6 vs hand-written NumPy and PyTorch; "
                               "--quick for a smoke run")
    assert "--quick" in line and "--quick " in bench_help
    covered("test_benchmarks_smoke.py", "--quick")


def test_readme_behaviour_worth_knowing_scalar_overload_names():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    for expr, name in (("x + 2", "AddBackward1"), ("x * 3", "MulBackward1"), ("2 / x", "DivBackward0")):
        quoted("README.md", f"`{expr}` is `{name}`")
        assert eval(expr, {"x": x}).grad_fn.name() == name
    # every Scalar-overload name of API.md, against the ATen overloads: tests/test_ops_oracle.py
    covered("test_ops_oracle.py", '"add_scalar"', '"rdiv_scalar"', '"rpow_scalar"', "aten(")


def test_readme_behaviour_worth_knowing_errors_and_atomic_backward():
    # two devices: RuntimeError naming both; a failed call changes nothing; backward accumulates
    # only when the whole pass succeeded (KeyboardInterrupt included)
    covered("test_errors.py", "def test_mixing_devices_raises_naming_both", "def test_inplace_failures_change_nothing",
            "def test_backward_failures_change_nothing")
    covered("test_autograd_engine.py", "def test_keyboard_interrupt_mid_backward_retained_graph_stays_usable",
            "def test_keyboard_interrupt_mid_backward_frees_graph_cleanly")
    # "a retry then raises the usual retain_graph=True error"
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.register_hook(lambda g: 1 / 0)
    out = (y * x).sum()
    with pytest.raises(ZeroDivisionError):
        out.backward()
    assert x.grad is None                                   # nothing half-accumulated
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        out.backward()


def test_readme_behaviour_worth_knowing_gradients_at_awkward_points(torch):
    # each example is a row of docs/nan_semantics.md's table (checked below) and a case of
    # tests/test_nan_semantics.py (against PyTorch)
    covered("test_nan_semantics.py", '"sqrt_at_0"', '"relu_at_0"', '"clamp_at_bounds"', '"max_ties"', '"amax_ties"',
            '"maximum_ties"', '"max_dim_ties"', '"sign_of_nan"', '"where_nan_branch_log"', '"where_safe_idiom"')
    quoted("README.md", "`ag.where(x > 0, x.log(), 0.0)` the unselected branch still gets gradient `0 * (1/x)`, "
                        "which is NaN where `x == 0`")
    for L in (ag, torch):
        x = L.tensor([0.0, 1.0], requires_grad=True)
        L.where(x > 0, x.log(), 0.0).sum().backward()
        assert math.isnan(x.grad[0].item()) and x.grad[1].item() == 1.0
    quoted("README.md", "compute `log` of a safe input (`x.clamp(min=tiny)`) instead")
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    ag.where(x > 0, x.clamp(min=1e-30).log(), 0.0).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]


# ---------------------------------------------------------------------------------------------
# docs/architecture.md
# ---------------------------------------------------------------------------------------------

def test_architecture_modules_table_names_real_files_and_names():
    pkg = ROOT / "autograd_gpu"
    for rel in ("_dtype.py", "backend/cupy_kernels.py", "backend/kernel_source.py", "tensor.py", "autograd/graph.py",
                "autograd/op.py", "autograd/engine.py", "autograd/function.py", "autograd/gradcheck.py",
                "autograd/grad_mode.py", "ops/prims.py", "ops/methods.py", "printing.py", "serialization.py",
                "viz.py", "walkthrough.py", "walkthrough_modules.py", "nn/__init__.py", "optim/__init__.py"):
        assert (pkg / rel).is_file(), rel
    for fam in ("arith", "pointwise", "reduction", "linalg", "shape", "indexing", "compare", "inplace"):
        assert (pkg / "ops" / f"{fam}.py").is_file(), fam
    src = {p: (pkg / p).read_text() for p in ("autograd/op.py", "autograd/engine.py", "autograd/function.py",
                                              "tensor.py", "autograd/graph.py", "ops/prims.py")}
    for path, names in {"autograd/op.py": ["apply1", "apply2", "applyN", "commit_inplace", "rebase_history",
                                           "CopySlices", "def keep", "check_kept", "refresh_view", "views_follow_base",
                                           "_creation_meta", "_view_of", "_views"],
                        "autograd/engine.py": ["def execute", "sum_to_shape", "exact_grads"],
                        "autograd/function.py": ["mark_dirty", "mark_non_differentiable", "save_for_backward"],
                        "autograd/graph.py": ["class Node", "class AccumulateGrad", "exact_grads = False"],
                        "tensor.py": ["_node", "_rg", "_vc", "_base"],
                        "ops/prims.py": ["tanh_bwd = _prim("]}.items():
        missing = [n for n in names if n not in src[path]]
        assert not missing, f"autograd_gpu/{path} lacks {missing}"
    assert "tanh_bwd" in read("kernels/pointwise.cuh")
    # outside backend/, only optim/_fused.py imports CuPy, and only inside functions (lazily)
    importers = {p.relative_to(pkg).as_posix() for p in pkg.rglob("*.py")
                 if re.search(r"^\s*(import cupy|from cupy)", p.read_text(), re.M)}
    assert {p for p in importers if not p.startswith("backend/")} <= {"optim/_fused.py"}, importers
    for p in importers:
        assert not re.search(r"^(import cupy|from cupy)", (pkg / p).read_text(), re.M), f"{p} imports CuPy eagerly"


def test_architecture_an_op_start_to_finish(torch):
    """The doc's Mul, defined as a user would, records a MulBackward0 node with the right gradients."""
    code, _ = block("docs/architecture.md", "class Mul(Op)")
    ns, _ = run_block("docs/architecture.md", code)
    Mul = ns["Mul"]
    a, b = ag.tensor([1.0, 2.0], requires_grad=True), ag.tensor([3.0, -4.0], requires_grad=True)
    out = Mul.apply2(a, b)
    assert out.grad_fn.name() == "MulBackward0" and out.tolist() == [3.0, -8.0]
    out.sum().backward()
    assert a.grad.tolist() == [3.0, -4.0] and b.grad.tolist() == [1.0, 2.0]
    c = ag.tensor([1.0, 2.0], requires_grad=True)
    Mul.apply2(c, ag.tensor([5.0, 6.0])).sum().backward()     # broadcasting and needs(): one input
    assert c.grad.tolist() == [5.0, 6.0]
    # a node is recorded only when grad mode is on and an input requires grad
    with ag.no_grad():
        assert Mul.apply2(a, b).grad_fn is None
    assert Mul.apply2(ag.ones(2), ag.ones(2)).grad_fn is None
    # saved inputs carry their versions: writing one afterwards is the version error
    a2 = a * 1
    out = Mul.apply2(a2, b)
    a2.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    # kept attributes (where's condition, index tensors): against PyTorch in
    covered("test_autograd_api_differential.py", "def test_bug_where_condition_modified_in_place",
            "def test_bug_index_tensor_modified_in_place")


def test_architecture_the_backward_pass_leaf_grad_is_a_copy():
    # "A leaf's first .grad is a copy of the gradient that reached it"
    x = ag.ones(3, requires_grad=True)
    g = ag.tensor([1.0, 2.0, 3.0])
    (x * 1).backward(g)
    g.add_(100)
    assert x.grad.tolist() == [1.0, 2.0, 3.0]


def test_architecture_views_and_in_place_writes(torch):
    x = ag.zeros(2, 3)
    v = x[0]
    assert v._vc is x._vc and v._base is x                  # one version counter, and the root
    v.add_(1)
    assert x._version == v._version == 1
    # a view made without a node follows its base's requires_grad; until the base is written it is a
    # leaf with no AccumulateGrad: its edge is (None, 0), as in PyTorch
    for L in (ag, torch):
        base = L.ones(3)
        v = base[0:2]
        base.requires_grad_()
        assert v.requires_grad and v.is_leaf and (v * 2).grad_fn.next_functions[0] == (None, 0), L.__name__
    # views follow their base's requires_grad: test_nan_semantics_views_follow_their_base below, and
    # random programs against PyTorch:
    covered("test_autograd_api_differential.py", "requires_grad_")


def test_architecture_tests_section():
    assert (ROOT / "tests/oracle.py").is_file()
    covered("test_ops_oracle.py", "test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)")
    covered("oracle.py", "def case_tests", "def test_against_pytorch", "def test_gradcheck")
    covered("conftest.py", "pytest.mark.gpu")


# ---------------------------------------------------------------------------------------------
# docs/gpu.md
# ---------------------------------------------------------------------------------------------

def test_gpu_installing_extras_and_errors_without_cuda():
    pyproject = read("pyproject.toml")
    assert re.search(r'^cuda13 = \["cupy-cuda13x>=14,<15", "nvidia-cuda-nvrtc==13\.\*"', pyproject, re.M)
    assert re.search(r'^cuda12 = \["cupy-cuda12x>=14,<15", "nvidia-cuda-nvrtc-cu12"', pyproject, re.M)
    # is_available / device_count never raise; asking for cuda says why and how to fix it:
    covered("test_cuda_backend.py", "def test_availability_never_raises", "def test_cupy_not_installed",
            "def test_no_driver", "def test_cuda_libraries_missing", "def test_no_device",
            "def test_device_index_out_of_range")
    if not CUDA:
        assert ag.cuda.is_available() is False and ag.cuda.device_count() == 0
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            ag.zeros(1, device="cuda")
    # importing autograd_gpu never needs CuPy
    r = subprocess.run([sys.executable, "-c", "import sys, autograd_gpu as ag; ag.ones(2).sum(); "
                        "print('cupy' in sys.modules)"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


def test_gpu_where_the_kernels_come_from():
    pointwise, reduction = read("kernels/pointwise.cuh"), read("kernels/reduction.cuh")
    assert (ROOT / "kernels/common.cuh").is_file() and (ROOT / "kernels/optim.cuh").is_file()
    assert "namespace ag" in pointwise and re.search(r"\bexp_bwd\b", pointwise) and re.search(r"\bexp\(", pointwise)
    assert "namespace red" in reduction and "SumRow" in reduction and "SoftmaxRow" in reduction
    src = read("autograd_gpu/backend/kernel_source.py")
    assert "AUTOGRAD_GPU_KERNELS_DIR" in src and "ag_" in src
    assert "pow_scalar" in read("autograd_gpu/backend/cupy_kernels.py")
    kernels = read("autograd_gpu/backend/cupy_kernels.py")
    assert "def get(" in kernels and "ElementwiseKernel" in kernels and "RawModule" in kernels


def test_gpu_formulas_follow_pytorch_where_the_twins_differ(torch):
    quoted("docs/gpu.md", "`x ** -0.5` is `1 / sqrt(x)` (NaN at -inf, -inf at -0)")
    for L in (ag, torch):
        v = (L.tensor([-inf, -0.0]) ** -0.5).tolist()
        assert math.isnan(v[0]) and v[1] == -inf, (L.__name__, v)
    covered("test_nan_semantics.py", '"sign_of_nan"', '"abs_at_0"')


def test_gpu_pow_with_a_python_exponent_as_pytorch_does(torch):
    # "`x ** 2` as `x * x`, `x ** 0.5` as `sqrt(x)`, as PyTorch does": bit for bit on PyTorch's CPU, and ours
    a = np.random.default_rng(0).uniform(0, 100, 1000).astype(np.float32)
    for L in (ag, torch):
        x = L.tensor(a)
        assert (x ** 2).tolist() == (x * x).tolist() and (x ** 0.5).tolist() == x.sqrt().tolist(), L.__name__


def test_gpu_other_cuda_functions():
    quoted("docs/gpu.md", "`synchronize(device=None)`")
    assert str(inspect.signature(ag.cuda.synchronize)) == "(device=None)"
    for name in ("current_device", "synchronize", "manual_seed", "manual_seed_all", "warmup", "is_available",
                 "device_count", "get_rng_state", "set_rng_state", "get_rng_state_all", "set_rng_state_all"):
        assert callable(getattr(ag.cuda, name)), name
    quoted("docs/gpu.md", 'get_rng_state(device="cuda")')
    assert str(inspect.signature(ag.cuda.get_rng_state)) == "(device='cuda')"
    assert str(inspect.signature(ag.cuda.set_rng_state)) == "(new_state, device='cuda')"
    # the state restores the draws exactly, on every device: tests/test_tensor.py
    covered("test_tensor.py", "def test_rng_state_round_trip(torch, device)")
    src = read("autograd_gpu/backend/cupy_backend.py")
    assert "def get_rng_state" in src and "PHILOX" in src
    # the warmup block (skipped above: a GPU and minutes of compiling) runs on a GPU there:
    covered("test_cuda_backend.py", "def test_manual_seed_without_device_is_remembered",
            "@pytest.mark.gpu\n@needs_gpu\ndef test_warmup_compiles_everything")
    if not CUDA:
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            ag.cuda.warmup()


def test_gpu_how_the_kernels_are_verified_without_a_gpu():
    assert {"-Wall", "-Wextra", "-Werror"} <= set(HOST_CXXFLAGS)
    covered("test_kernels_host.py", "HostBlockTeam", "float16", "float64")
    covered("test_kernels_compile.py", "sm_80", "sm_90", "nvcc")
    covered("test_cuda_backend.py", "@pytest.mark.gpu")
    assert (ROOT / "autograd_gpu/backend/cupy_codegen.py").is_file()
    # the compile checks' pip line is CI's
    line = quoted("docs/gpu.md", "pip install 'cupy-cuda13x>=14,<15' 'nvidia-cuda-nvrtc==13.*' "
                                 "'nvidia-cuda-runtime==13.*'")
    assert line.split("install ", 1)[1].replace("'", '"') in read(".ci/run")
    gpu = read(".ci/gpu_check")
    assert "exit 3" in gpu and "TESTS_S" in gpu and "BENCH_S" in gpu and "$OUT" in gpu


# ---------------------------------------------------------------------------------------------
# docs/nan_semantics.md
# ---------------------------------------------------------------------------------------------

t3 = 1 / 3
#  expression (the doc's cell)     fn(L, *inputs)                        inputs                       value             gradients
NAN_TABLE = [
    ("`x.sqrt()`, `x ** 0.5`",     lambda L, x: x.sqrt(),                [[0.0]],                     [0.0],            [[inf]]),
    ("`x.sqrt()`, `x ** 0.5`",     lambda L, x: x ** 0.5,                [[0.0]],                     [0.0],            [[inf]]),
    ("`x.rsqrt()`",                lambda L, x: x.rsqrt(),               [[0.0]],                     [inf],            [[-inf]]),
    ("`x ** 0`",                   lambda L, x: x ** 0,                  [[0.0, nan]],                [1.0, 1.0],       [[0.0, 0.0]]),
    ("`x ** e` (tensors)",         lambda L, x, e: x ** e,               [[0.0], [0.0]],              [1.0],            [[0.0], [0.0]]),
    ("`x ** e`",                   lambda L, x, e: x ** e,               [[0.0], [-1.0]],             [inf],            [[-inf], [-inf]]),
    ("`0 ** x`",                   lambda L, x: 0 ** x,                  [[0.0]],                     [1.0],            [[0.0]]),
    ("`(-1.5) ** x`",              lambda L, x: (-1.5) ** x,             [[2.0, 0.5]],                [2.25, nan],      [[nan, nan]]),
    ("`x.relu()`",                 lambda L, x: x.relu(),                [[0.0, -0.0]],               [0.0, 0.0],       [[0.0, 0.0]]),
    ("`x.relu()`",                 lambda L, x: x.relu(),                [[nan]],                     [nan],            [[1.0]]),
    ("`x.abs()`",                  lambda L, x: x.abs(),                 [[0.0, nan]],                [0.0, nan],       [[0.0, 0.0]]),
    ("`x.sign()`",                 lambda L, x: x.sign(),                [[nan]],                     [0.0],            [[0.0]]),
    ("`x.clamp(0, 1)`",            lambda L, x: x.clamp(0, 1),           [[0.0, 1.0]],                [0.0, 1.0],       [[1.0, 1.0]]),
    ("`x.clamp(0, 1)`",            lambda L, x: x.clamp(0, 1),           [[nan]],                     [nan],            [[0.0]]),
    ("`x.clamp(min=nan)`",         lambda L, x: x.clamp(min=nan),        [[0.0, 5.0]],                [nan, nan],       [[0.0, 0.0]]),
    ("`x.max()`",                  lambda L, x: x.max(),                 [[1.0, 3.0, 3.0]],           3.0,              [[0.0, 0.5, 0.5]]),
    ("`x.min()`",                  lambda L, x: x.min(),                 [[3.0, 1.0, 1.0]],           1.0,              [[0.0, 0.5, 0.5]]),
    ("`x.max()`",                  lambda L, x: x.max(),                 [[1.0, nan, 3.0, nan]],      nan,              [[0.0, 0.5, 0.0, 0.5]]),
    ("`x.max(dim)`",               lambda L, x: x.max(0)[0],             [[1.0, 3.0, 3.0]],           3.0,              [[0.0, 1.0, 0.0]]),
    ("`x.amax(dim)`",              lambda L, x: x.amax(0),               [[2.0, 2.0, 2.0]],           2.0,              [[t3, t3, t3]]),
    ("`x.amax(dim)`",              lambda L, x: x.amax(0),               [[1.0, nan, 3.0]],           nan,              [[nan, nan, nan]]),
    ("`x.amax(dim) * nan`",        lambda L, x: x.amax(0) * nan,         [[1.0, 3.0, 2.0]],           nan,              [[nan, nan, nan]]),
    ("`maximum(a, b)`",            lambda L, a, b: L.maximum(a, b),      [[2.0], [2.0]],              [2.0],            [[0.5], [0.5]]),
    ("`maximum(a, b)`",            lambda L, a, b: L.maximum(a, b),      [[nan, 1.0], [1.0, nan]],    [nan, nan],       [[1.0, 1.0], [1.0, 1.0]]),
    ("`a * b`",                    lambda L, a, b: a * b,                [[0.0], [inf]],              [nan],            [[inf], [0.0]]),
    ("`a / b`",                    lambda L, a, b: a / b,                [[0.0], [0.0]],              [nan],            [[inf], [nan]]),
    ("`x.log()`",                  lambda L, x: x.log(),                 [[0.0, -1.0]],               [-inf, nan],      [[inf, -1.0]]),
    ("`x.norm()`",                 lambda L, x: x.norm(),                [[0.0, 0.0, 0.0]],           0.0,              [[0.0, 0.0, 0.0]]),
    ("`x.norm()`",                 lambda L, x: x.norm(),                [[inf, 1.0]],                inf,              [[nan, 0.0]]),
    ("`x.norm(p=inf)`",            lambda L, x: x.norm(p=inf),           [[-2.0, 2.0, 1.0]],          2.0,              [[-0.5, 0.5, 0.0]]),
    ("`x.norm(p=inf)`",            lambda L, x: x.norm(p=inf),           [[1.0, nan, 2.0]],           nan,              [[0.0, 0.0, 0.0]]),
    ("`x.std()`",                  lambda L, x: x.std(),                 [[2.0, 2.0, 2.0]],           0.0,              [[0.0, 0.0, 0.0]]),
    ("`x.std()`",                  lambda L, x: x.std(),                 [[2.0]],                     nan,              [[nan]]),
    ("`x.prod()`",                 lambda L, x: x.prod(),                [[0.0, 2.0, 3.0]],           0.0,              [[6.0, 0.0, 0.0]]),
    ("`x.prod()`",                 lambda L, x: x.prod(),                [[0.0, 2.0, 0.0]],           0.0,              [[0.0, 0.0, 0.0]]),
    ("`x.prod()`",                 lambda L, x: x.prod(),                [[inf, 2.0, 3.0]],           inf,              [[nan, inf, inf]]),
    ("`x.softmax(0)`",             lambda L, x: x.softmax(0),            [[inf, 1.0, -inf]],          [nan] * 3,        [[nan] * 3]),
    ("`x.softmax(0)`",             lambda L, x: x.softmax(0),            [[-inf, 0.0, 1.0]],          [0.0, .27, .73],  [[0.0, 0.0, 0.0]]),
    ("`x.softmax(0)`, `log_softmax`", lambda L, x: x.softmax(0),         [[-inf, -inf]],              [nan, nan],       [[nan, nan]]),
    ("`x.softmax(0)`, `log_softmax`", lambda L, x: x.log_softmax(0),     [[-inf, -inf]],              [nan, nan],       [[nan, nan]]),
    ("`x.logsumexp(dim)`",         lambda L, x: x.logsumexp(0),          [[-inf, -inf]],              -inf,             [[nan, nan]]),
    ("`x.logsumexp(dim)`",         lambda L, x: x.logsumexp(1),          [np.zeros((2, 0))],          [-inf, -inf],     [np.zeros((2, 0))]),
    ("`x.mean()`",                 lambda L, x: x.mean(),                [[]],                        nan,              [[]]),
]


def _values(t):
    return np.asarray(t.detach().tolist() if hasattr(t, "detach") else t, dtype=np.float64)


def _same(got, doc, what):
    got, doc = np.asarray(got, np.float64), np.asarray(doc, np.float64)
    assert got.shape == doc.shape, f"{what}: shape {got.shape}, the doc says {doc.shape}"
    assert np.array_equal(np.isnan(got), np.isnan(doc)), f"{what}: {got}, the doc says {doc}"
    fin = np.isfinite(doc)
    assert np.array_equal(got[~fin & ~np.isnan(doc)], doc[~fin & ~np.isnan(doc)]), f"{what}: {got}, doc {doc}"
    assert np.allclose(got[fin], doc[fin], rtol=0, atol=6e-3), f"{what}: {got}, the doc says {doc}"


def test_nan_semantics_table_covers_every_row():
    section = read("docs/nan_semantics.md").split("## Surprising cases", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith("| `")]
    cells = [r.split(" | ")[0][2:] for r in rows]
    assert len(rows) == len(NAN_TABLE) - 2, len(rows)     # two rows are tested in two forms each
    assert {c for c, *_ in NAN_TABLE} == set(cells)


@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")
@pytest.mark.parametrize("lib", ["autograd_gpu", "torch"])
@pytest.mark.parametrize("row", NAN_TABLE, ids=[f"{i}:{r[0]}" for i, r in enumerate(NAN_TABLE)])
def test_nan_semantics_surprising_cases_table(row, lib, request):
    """Each row of the table, as the doc states it, on us and on PyTorch (the oracle):
    the doc's values are PyTorch's, and ours. (tests/test_nan_semantics.py compares
    us with PyTorch on these and more inputs, bit for bit.)"""
    L = ag if lib == "autograd_gpu" else request.getfixturevalue("torch")
    expr, fn, inputs, value, grads = row
    xs = [L.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in inputs]
    out = fn(L, *xs)
    _same(_values(out), value, f"{expr} value")
    out.sum().backward()
    for i, (x, g) in enumerate(zip(xs, grads)):
        _same(_values(x.grad), g, f"{expr} gradient of input {i}")


def test_nan_semantics_the_where_trap():
    trap, _ = block("docs/nan_semantics.md", "x.log(), 0.0)      # x = 0")
    ns, _ = run_block("docs/nan_semantics.md", trap)
    g = ns["x"].grad.tolist()
    assert math.isnan(g[0]) and g[1:] == [1.0, 0.5]           # "x.grad is NaN at 0"
    safe, _ = block("docs/nan_semantics.md", "safe = ag.where")
    ns, _ = run_block("docs/nan_semantics.md", safe + "y.sum().backward()\n")
    assert ns["x"].grad.tolist() == [0.0, 1.0, 0.5]            # "gradient 0 where x <= 0"
    covered("test_nan_semantics.py", '"where_nan_branch_sqrt"', '"where_nan_branch_div"', '"where_safe_idiom"')


def test_nan_semantics_rounding_not_semantics(torch):
    quoted("docs/nan_semantics.md", "`x.std()` of ten float32 copies of `1/3` is `0` here but `3.1e-08` in PyTorch")
    ours, theirs = ag.tensor([1 / 3] * 10), torch.tensor([1 / 3] * 10)
    assert ours.std().item() == 0.0
    assert theirs.std().item() == pytest.approx(3.1e-08, rel=0.02)
    ours.requires_grad_()
    ours.std().backward()
    assert ours.grad.tolist() == [0.0] * 10                    # masked, where PyTorch's is finite
    theirs.requires_grad_()
    theirs.std().backward()
    assert np.isfinite(theirs.grad.numpy()).all() and (theirs.grad.abs() > 0).any()


INT_CLAIMS = [  # (doc text, fn(L)): the same result or the same exception type on both
    ("`fill_`", lambda L: L.zeros(2, dtype=L.int64).fill_(nan)),
    ("`full`", lambda L: L.full((2,), inf, dtype=L.int32)),
    ("`t[i] = nan`", lambda L: L.zeros(2, dtype=L.int32).__setitem__(0, nan)),
    ("`tensor([nan], dtype=int32)`", lambda L: L.tensor([nan], dtype=L.int32)),
    ("an int `clamp` or `where` bound past the type's range", lambda L: L.zeros(2, dtype=L.int32).clamp(max=2 ** 40)),
    ("an int `clamp` or `where` bound past the type's range",
     lambda L: L.where(L.tensor([True, False]), L.zeros(2, dtype=L.int32), 2 ** 40)),
    ("A float bound, NaN included, is no write: the result is float", lambda L: L.zeros(2, dtype=L.int32).clamp(min=nan)),
    ("A float bound, NaN included, is no write: the result is float",
     lambda L: L.where(L.tensor([True, False]), L.zeros(2, dtype=L.int32), nan)),
    ("`full((2,), -1, dtype=uint8)`", lambda L: L.full((2,), -1, dtype=L.uint8)),
    ("`t.fill_(-1)`", lambda L: L.zeros(2, dtype=L.uint8).fill_(-1)),
    ("`tensor([-1], dtype=uint8)`", lambda L: L.tensor([-1], dtype=L.uint8)),
    ("`zeros(2).fill_(1e300)`", lambda L: L.zeros(2).fill_(1e300)),
    ("`t[0] = 1e300` into float32", lambda L: L.zeros(2).__setitem__(0, 1e300)),
    ("setitem (`t[0] = 1e300`) and `where`'s scalar write inf", lambda L: _set(L.zeros(2, dtype=L.float16), 0, 1e300)),
    ("floats truncate, ints wrap", lambda L: L.tensor(np.array([1.7, -2.9, 300.0]), dtype=L.int32)),
    ("floats truncate, ints wrap", lambda L: L.tensor(np.array([300, -1]), dtype=L.uint8)),
    ("`uint8_t + (-1)` adds 255", lambda L: L.tensor([250, 0], dtype=L.uint8) + (-1)),
    ("`int8_t * 300` multiplies by 44", lambda L: L.tensor([3, 1], dtype=L.int8) * 300),
    ("`uint8_t == 256` compares with 0", lambda L: L.tensor([0, 1], dtype=L.uint8) == 256),
    ("dtype=float16) * 1e10` is 0, not NaN", lambda L: L.zeros(1, dtype=L.float16) * 1e10),
]


def _set(t, i, v):
    t[i] = v
    return t


@pytest.mark.parametrize("claim", INT_CLAIMS, ids=[c[0] for c in INT_CLAIMS])
def test_nan_semantics_integer_tensors_refuse_nan_python_ints_wrap(torch, claim):
    text, fn = claim
    quoted("docs/nan_semantics.md", text)
    results = []
    for L in (ag, torch):
        try:
            r = fn(L)
            results.append(("value", str(r.dtype).split(".")[-1], str(r.tolist())))
        except Exception as e:
            results.append(("raises", type(e).__name__))
    assert results[0] == results[1], f"{text}: ours {results[0]}, PyTorch {results[1]}"
    if results[1][0] == "raises":
        with pytest.raises(RuntimeError, match="cannot be converted to type .* without overflow"):
            fn(ag)


def test_nan_semantics_integer_refusal_message():
    msg = quoted("docs/nan_semantics.md", "fill_: value nan cannot be converted to type int64 without overflow")
    with pytest.raises(RuntimeError) as e:
        ag.zeros(2, dtype=ag.int64).fill_(nan)
    assert str(e.value) == msg


def test_nan_semantics_open_differences_are_pinned_here():
    """The doc cites strict xfails of this file for the differences still open."""
    text = read("docs/nan_semantics.md")
    cited = re.findall(r"test_docs\.py::(test_bug_\w+)", text) + \
        [n.rstrip("*") for n in re.findall(r"`(test_bug_\w+\*?)`", text)]
    this = sys.modules[__name__]
    for name in cited:
        tests = [getattr(this, t) for t in dir(this) if t.startswith(name)]
        assert tests, f"docs/nan_semantics.md cites {name}, which tests/test_docs.py lacks"
        for t in tests:
            marks = [m for m in getattr(t, "pytestmark", []) if m.name == "xfail"]
            assert marks and marks[0].kwargs.get("strict"), t.__name__


def test_nan_semantics_nan_into_an_integer_type_from_an_array_is_refused(torch):
    # "except NaN and inf into an integer type, which we refuse rather than store garbage"
    quoted("docs/nan_semantics.md", "except NaN and inf into an integer type, which we refuse rather than store garbage")
    with pytest.raises(RuntimeError, match="cannot be converted"):
        ag.tensor(np.array([nan]), dtype=ag.int32)
    assert torch.tensor(np.array([nan]), dtype=torch.int32).item() == -2 ** 31        # PyTorch: INT_MIN


def test_nan_semantics_float_writes_past_the_range(torch):
    quoted("docs/nan_semantics.md", "as PyTorch does for two elements or more")
    c = [True, False]
    for L in (ag, torch):
        for fn in (lambda: L.zeros(2).fill_(1e300), lambda: L.full((2,), 70000.0, dtype=L.float16),
                   lambda: L.zeros(2, dtype=L.float16).fill_(1e300), lambda: L.zeros(2).clamp(max=1e300),
                   lambda: L.zeros(2).clamp(min=-1e300), lambda: L.where(L.tensor(c), L.zeros(2), 1e300)):
            with pytest.raises(RuntimeError, match="without overflow"):
                fn()
        t = L.zeros(2, dtype=L.float16)
        t[0] = 1e300
        assert t.tolist() == [inf, 0.0], L.__name__
        assert L.where(L.tensor(c), L.zeros(2, dtype=L.float16), 1e10).tolist() == [0.0, inf], L.__name__
        assert L.zeros(2, dtype=L.float64).clamp(max=1e300).tolist() == [0.0, 0.0]
    # PyTorch's one-element fast path of fill_ writes inf into float16; we refuse as for any size
    assert torch.zeros(1, dtype=torch.float16).fill_(1e300).item() == inf
    with pytest.raises(RuntimeError, match="without overflow"):
        ag.zeros(1, dtype=ag.float16).fill_(1e300)


def _grad_of(L, make):
    """Leaves, out = make(L); out.sum().backward(); the first leaf's gradient."""
    leaves, out = make(L)
    out.sum().backward()
    return leaves[0].grad


def _mul_self(L, op):
    x = L.tensor([3.0], requires_grad=True)
    t = x * 1
    getattr(t, op)(t)
    return [x], t


def _clamp_then_write(L):
    x = L.tensor([0.5, 2.0], requires_grad=True)
    y = x * 1
    z = y.clamp(min=0.0, max=1.0)
    y.add_(1)
    return [x], z


def _detach_saved(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * y
    y.detach_()
    return [x], z


def _grad_with_hook(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    m = x * 2
    m.register_hook(lambda g: g * 10)
    return L.autograd.grad([(m * x).sum()], [m, x])[0]


def _norm0_skips(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * y
    y.add_(1)
    z.norm(p=0).backward()
    return x.grad


def _clamp_bounds_of_two_shapes(L):
    x = L.tensor(0.5, requires_grad=True)
    return [x], L.clamp(x, L.tensor(0.0), L.ones(3))


def _var_no_dims(L):
    x = L.tensor([[1.0, 2.0], [3.0, 5.0]], requires_grad=True)
    return [x], x.var(dim=())


# "more permissive (PyTorch raises, we compute the right answer)": (doc text, fn(L), the right answer);
# PyTorch raises, except where the test says what it computes instead
PERMISSIVE = [
    ("`t.mul_(t)`", lambda L: _grad_of(L, lambda L: _mul_self(L, "mul_")), [6.0]),
    ("`t.div_(t)`", lambda L: _grad_of(L, lambda L: _mul_self(L, "div_")), [0.0]),
    ("writing the input in place afterwards is no error there", lambda L: _grad_of(L, _clamp_then_write), [1.0, 0.0]),
    ("ours uses the saved values, which are the right ones", lambda L: _grad_of(L, _detach_saved), [8.0, 16.0]),
    ("ours returns `m`'s gradient after its hooks ran", _grad_with_hook, [10.0, 20.0]),
    ("`keepdim=1`", lambda L: L.ones(2, 3).sum(1, keepdim=1), [[3.0], [3.0]]),
    ('`dtype="float64"`', lambda L: L.ones(2).to(dtype="float64").dtype == L.float64, True),
    ("`logical_and(x, 2)`", lambda L: L.logical_and(L.tensor([True, False]), 2), [True, False]),
    ("a Python int beyond int64 next to a float tensor", lambda L: L.zeros(1) + 2 ** 70, [2.0 ** 70]),
    ("`softmax`", lambda L: L.tensor([0, 0]).softmax(0), [0.5, 0.5]),
    ("`norm`", lambda L: L.tensor([3, 4]).norm(), 5.0),
    ("`var` of an int tensor", lambda L: L.tensor([1, 2]).var(), 0.5),
    ("`abs` and `clamp` of a bool tensor work", lambda L: L.tensor([True, False]).abs(), [True, False]),
    ("`abs` and `clamp` of a bool tensor", lambda L: L.tensor([True, False]).clamp(min=True), [True, True]),
    ("`x` and `lo` 0-d, `hi` of shape `(3,)`", lambda L: _grad_of(L, _clamp_bounds_of_two_shapes), 3.0),
    ("ours is all dims in both", lambda L: _grad_of(L, _var_no_dims), [[-7 / 6, -0.5], [1 / 6, 1.5]]),
]


@pytest.mark.parametrize("claim", PERMISSIVE, ids=[c[0] for c in PERMISSIVE])
def test_nan_semantics_differences_from_pytorch_more_permissive(torch, claim):
    text, fn, right = claim
    quoted("docs/nan_semantics.md", text)
    ours = fn(ag)
    np.testing.assert_allclose(np.asarray(ours.tolist() if hasattr(ours, "tolist") else ours, dtype=float),
                               np.asarray(right, dtype=float), rtol=1e-6)
    if text == "ours is all dims in both":                      # PyTorch: infinite gradients
        assert np.isinf(fn(torch).numpy()).all()
    elif text == "ours returns `m`'s gradient after its hooks ran":   # PyTorch: from before the hooks
        assert fn(torch).tolist() == [1.0, 2.0]
    else:
        with pytest.raises(Exception):
            fn(torch)


def test_nan_semantics_ndarray_operands_raise(torch):
    quoted("docs/nan_semantics.md", "A NumPy array as an operand of `+ - * / **` raises `TypeError` naming the op")
    x, a = ag.ones(2), np.ones(2)
    for fn, name in [(lambda: x + a, "add"), (lambda: a + x, "add"), (lambda: a - x, "sub"), (lambda: x * a, "mul"),
                     (lambda: a / x, "div"), (lambda: x ** a, "pow"), (lambda: x - np.array(2.0), "sub")]:
        with pytest.raises(TypeError, match=rf"^{name}\(\): argument 'other' must be Tensor or Number, not ndarray"):
            fn()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)       # (torch's __array_wrap__, NumPy 2)
        assert (torch.ones(2) + np.ones(2, dtype=np.int64)).dtype == torch.float64       # NumPy's promotion


def test_nan_semantics_float16_next_to_a_one_element_tensor(torch):
    quoted("docs/nan_semantics.md", "(`zeros(2, dtype=float16) * tensor(2**20)` or `* tensor([2**20])` is "
                                    "`[nan, nan]` here, `[0, 0]` there)")
    for big in (lambda lib: lib.tensor(2 ** 20), lambda lib: lib.tensor([2 ** 20]), lambda lib: lib.tensor([[2 ** 20]])):
        x = [lib.zeros(2, dtype=lib.float16) * big(lib) for lib in (ag, torch)]
        assert np.isnan(np.asarray(x[0].tolist())).all() and (np.asarray(x[1].tolist()) == 0).all()
        # "as the second operand": first, PyTorch casts it too
        z = [big(lib) * lib.zeros(2, dtype=lib.float16) for lib in (ag, torch)]
        assert np.isnan(np.asarray(z[0].tolist())).all() and np.isnan(np.asarray(z[1].tolist())).all()
    quoted("docs/nan_semantics.md", "(`x / tensor(2**20)` is 0 here, a subnormal there)")
    q = [lib.ones(1, dtype=lib.float16) / lib.tensor(2 ** 20) for lib in (ag, torch)]
    assert q[0].tolist() == [0.0] and 0 < q[1].item() < 6.2e-5
    # the same values as 0-d float16 tensors agree (the cast happens on both)
    y = [lib.ones(2, dtype=lib.float16) * lib.tensor(3.0, dtype=lib.float16) for lib in (ag, torch)]
    assert y[0].tolist() == y[1].tolist()


def test_nan_semantics_overlapping_inplace_operands_raise_as_in_pytorch(torch):
    quoted("docs/nan_semantics.md", "An in-place op whose operand overlaps part of its target")
    covered("test_autograd_api_differential.py", "def test_inplace_with_overlapping_operand")
    for lib in (ag, torch):
        t = lib.tensor([1.0, 2.0, 3.0])
        with pytest.raises(RuntimeError, match="refer to a single memory location"):
            t[1:].add_(t[:-1])
        with pytest.raises(RuntimeError, match="refer to a single memory location"):
            t[[0, 0]] = t[:2]
        assert t.tolist() == [1.0, 2.0, 3.0]


def test_nan_semantics_differences_from_pytorch_norm_p0_and_others(torch):
    # x.norm(p=0) sends no gradient; PyTorch still runs the nodes above it and raises their version error
    quoted("docs/nan_semantics.md", "`x.norm(p=0)` sends no gradient (as PyTorch); PyTorch's engine still runs the "
                                    "nodes above it (and may raise their version errors), ours skips them")
    assert _norm0_skips(ag) is None
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _norm0_skips(torch)
    quoted("docs/nan_semantics.md", "As in PyTorch, `-` with any bool operand, tensor or Python bool, raises, "
                                    "and so does `bool ** bool`.")
    for lib in (ag, torch):
        with pytest.raises(RuntimeError, match="with two bool tensors is not supported"):
            lib.tensor([True]) - lib.tensor([False])
        for minus in (lambda: lib.tensor([1.5]) - lib.tensor([True]), lambda: lib.tensor([1.5]) - True,
                      lambda: 1 - lib.tensor([True])):
            with pytest.raises(RuntimeError, match="with a bool tensor is not supported"):
                minus()
        with pytest.raises(NotImplementedError, match="\"pow\" not implemented for 'Bool'"):
            lib.tensor([True]) ** lib.tensor([False])
    # t[idx] = v with lists / np.bool_ indices: pinned where they were found
    covered("test_indexing_differential.py", "test_known_difference_")
    # linspace(0, inf, 5): the values the doc shows, on both
    quoted("docs/nan_semantics.md", "`linspace(0, inf, 5)` is `[nan, inf, inf, inf, inf]` here; PyTorch's is "
                                    "`[nan, inf, nan, nan, nan]`")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ours = ag.linspace(0, inf, 5).tolist()
    assert str(ours) == str([nan, inf, inf, inf, inf])
    assert str(torch.linspace(0, inf, 5).tolist()) == str([nan, inf, nan, nan, nan])


def _write_after(L, make, which):
    """Build out = make(*operands); write operand `which` in place; backward."""
    def run():
        ops, out = make(L)
        ops[which].add_(1)
        out.sum().backward()
    return run


def _rdiv(L):
    y = L.tensor([1.0, 2.0], requires_grad=True) * 1
    return [y], 2 / y


# "stricter": (doc text, fn(L) that PyTorch accepts and we refuse with RuntimeError)
STRICTER = [
    ("`x.expand(3, 4).zero_()`", lambda L: L.ones(4).expand(3, 4).zero_()),
    ("`zero_()`, `fill_()`", lambda L: L.ones(4).expand(3, 4).fill_(2.0)),
    ("advanced-index writes `t[[0]] = v`", lambda L: _set(L.zeros(4).expand(3, 4), [0], L.ones(1, 4))),
    ("`masked_fill_()`", lambda L: (lambda t: t.masked_fill_(t == 0, 2.0))(L.zeros(4).expand(3, 4))),
    ("`x.expand(...).copy_(itself)`", lambda L: (lambda t: t.copy_(t))(L.zeros(4).expand(3, 4))),
    ("Writing `x` in place afterwards fails here and not there", lambda L: _write_after(L, _rdiv, 0)()),
]


@pytest.mark.filterwarnings("ignore:Use of index_put_ on expanded tensors is deprecated")
@pytest.mark.filterwarnings("ignore:Use of masked_fill_ on expanded tensors is deprecated")
@pytest.mark.parametrize("claim", STRICTER, ids=[f"{i}:{c[0]}" for i, c in enumerate(STRICTER)])
def test_nan_semantics_differences_from_pytorch_stricter_table(torch, claim):
    text, fn = claim
    quoted("docs/nan_semantics.md", text)
    fn(torch)
    with pytest.raises(RuntimeError):
        fn(ag)


def test_nan_semantics_differences_from_pytorch_stricter(torch):
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single "
                                           "memory location"):
        ag.ones(4).expand(3, 4).zero_()
    x = ag.zeros(4)
    x.expand(3, 4)[0].mul_(2)                                           # repeats nothing: allowed
    x.expand(3, 4)[0] = ag.ones(4)
    assert x.tolist() == [1.0] * 4
    quoted("docs/nan_semantics.md", "Complex numbers are not supported: `x + 1j` raises `TypeError`")
    with pytest.raises(TypeError):
        ag.ones(2) + 1j
    # exception kinds that used to differ follow PyTorch's, pinned by tests/test_errors.py
    covered("test_errors.py", "mean\\(\\): could not infer output dtype", "Negation.*bool",
            "cannot specify both 'unbiased' and 'correction'")
    for fn, kind in ((lambda L: L.tensor([1, 2]).mean(), RuntimeError), (lambda L: -L.tensor([True]), RuntimeError),
                     (lambda L: L.ones(3).std(unbiased=False, correction=1), TypeError)):
        for L in (ag, torch):
            with pytest.raises(kind):
                fn(L)


def test_norm_nuc_of_a_matrix(torch):
    # once pinned here as missing; values and gradients are in test_ops_oracle.py (norm_nuc*)
    covered("test_ops_oracle.py", '"norm_nuc"')
    assert torch.tensor([[3.0, 0.0], [0.0, -4.0]]).norm(p="nuc").item() == 7.0
    assert ag.tensor([[3.0, 0.0], [0.0, -4.0]]).norm(p="nuc").item() == 7.0


def test_nan_semantics_views_follow_their_base(torch):
    # row = out[0]; out[0] = w * 2: row takes the base's new history, and gradients reach w
    for L in (ag, torch):
        w = L.ones(3, requires_grad=True)
        out = L.zeros(2, 3)
        row = out[0]
        out[0] = w * 2
        assert row.requires_grad
        (row * 3).sum().backward()
        assert w.grad.tolist() == [6.0, 6.0, 6.0], L.__name__
    # views taken under no_grad, and pieces of split/chunk/unbind, refuse the new history (in depth:
    # tests/test_autograd_api_differential.py); register_hook on one raises too (PyTorch 2.13 is not run
    # here: it crashes with a segmentation fault)
    covered("test_autograd_api_differential.py", "def test_view_taken_under_no_grad_after_base_written",
            "def test_view_taken_under_no_grad_written_in_place", "def test_view_of_plain_base_multi_output_pieces")
    for piece in (lambda b: b.split(2)[0], lambda b: b.unbind(0)[0], "no_grad"):
        base = ag.ones(4, requires_grad=True) * 1
        if piece == "no_grad":
            with ag.no_grad():
                v = base[0:2]
        else:
            v = piece(base)
        base.mul_(2)
        with pytest.raises(RuntimeError, match="its base or another view of its base has been modified inplace"):
            v.register_hook(lambda g: g)
    quoted("docs/nan_semantics.md", "and so does `register_hook` on it (where PyTorch 2.13 crashes with a "
                                    "segmentation fault)")


# ---------------------------------------------------------------------------------------------
# docs/nn.md
# ---------------------------------------------------------------------------------------------

def test_nn_intro_training_loop_learns():
    code, _ = block("docs/nn.md", "for epoch in range(200)")
    ns, _ = run_block("docs/nn.md", code)
    assert ns["loss"].item() < 0.01
    assert (ROOT / "notebooks/04_modules_and_optimizers.ipynb").is_file()
    covered("test_walkthrough.py", "walkthrough_modules import part4")


def test_nn_intro_claims():
    # built on the public Tensor API: create_graph=True works through layers and losses
    covered("test_nn_optim_differential.py", "def test_gradient_penalty_through_layers_and_losses_matches_pytorch")
    from autograd_gpu import walkthrough
    assert "choices=[1, 2, 3, 4]" in inspect.getsource(walkthrough)       # --part 4
    src = read("autograd_gpu/walkthrough_modules.py")
    assert "nn.Sequential(nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_out))" in src
    assert "d_in, d_hidden, d_out = 100, 3, 32, 1" in src


def test_nn_modules_affine_example(torch):
    code, _ = block("docs/nn.md", "class Affine")
    ns, _ = run_block("docs/nn.md", code)
    m = ns["Affine"](3)
    assert [n for n, _ in m.named_parameters()] == ["scale", "shift"]
    assert [n for n, _ in m.named_buffers()] == ["calls"] and list(m.state_dict()) == ["scale", "shift", "calls"]
    assert m(ag.tensor([1.0, 2.0, 3.0])).tolist() == [1.0, 2.0, 3.0]


def test_nn_modules_registration_rules(torch):
    for L in (ag, torch):
        lin = L.nn.Linear(2, 2)
        with pytest.raises(TypeError):
            lin.weight = L.zeros(2, 2)                       # a non-Parameter to a parameter's name
        lin.extra = L.zeros(1)                              # a plain attribute
        assert "extra" not in dict(lin.named_parameters()) and "extra" not in lin.state_dict()
    covered("test_nn.py", "def test_shared_parameter_is_listed_once", "def test_named_parameters_order_matches_pytorch",
            "def test_train_eval", "def test_module_zero_grad", "def test_apply_visits_children_first")


def test_nn_modules_devices_and_dtypes(torch):
    # in place (same Parameter objects); only floating tensors change dtype; a failed move changes nothing
    for L in (ag, torch):
        m = L.nn.Linear(2, 1)
        m.register_buffer("count", L.zeros(1, dtype=L.int64))
        w = m.weight
        m.double()
        assert m.weight is w and w.dtype == L.float64 and m.count.dtype == L.int64, L.__name__
        m.to("cpu", L.float32)                             # to(device, dtype)
        assert m.weight is w and w.dtype == L.float32, L.__name__
    covered("test_nn.py", "def test_to_dtype_keeps_parameter_identity_and_converts_grads",
            "def test_to_a_device_that_cannot_work_changes_nothing")


def test_nn_modules_state_dicts_and_printing(torch):
    covered("test_nn.py", "def test_load_state_dict_errors_match_pytorch_text", "def test_failed_load_changes_nothing",
            "def test_load_state_dict_assign", "def test_repr_matches_pytorch")
    covered("test_nn_optim_differential.py", "def test_load_state_dict_non_strict_reports_like_pytorch")
    text = quoted("docs/nn.md", "Linear(in_features=3, out_features=32, bias=True)")
    assert repr(ag.nn.Linear(3, 32)) == repr(torch.nn.Linear(3, 32)) == text
    p = ag.nn.Parameter(ag.ones(2))
    assert repr(p).startswith(quoted("docs/nn.md", "Parameter containing:") + "\ntorch_tensor\n")
    assert isinstance(p, ag.Tensor) and p.requires_grad and p.is_leaf


def test_nn_modules_traversal_and_parameter(torch):
    for name in ("parameters", "named_parameters", "buffers", "children", "named_children", "modules",
                 "named_modules", "get_submodule", "apply", "register_buffer", "zero_grad", "requires_grad_",
                 "train", "eval", "to", "cuda", "cpu", "float", "double", "half", "state_dict", "load_state_dict"):
        assert callable(getattr(ag.nn.Module, name)), name
    covered("test_nn.py", "def test_call_is_forward_and_missing_forward_raises")
    # nn.Parameter(tensor) shares the tensor's memory, as in PyTorch
    for L in (ag, torch):
        t = L.zeros(2)
        p = L.nn.Parameter(t)
        with L.no_grad():
            t.add_(1)
        assert p.tolist() == [1.0, 1.0] and p.requires_grad and p.is_leaf, L.__name__
    assert not ag.nn.Parameter(ag.zeros(2), requires_grad=False).requires_grad


def test_nn_signatures_named_in_the_text(torch):
    sig = lambda f: str(inspect.signature(f))          # noqa: E731
    for doc_text, f, expected in (
            ("`zero_grad(set_to_none=True)`", ag.nn.Module.zero_grad, "(self, set_to_none=True)"),
            ("`zero_grad(set_to_none=True)`", ag.optim.SGD.zero_grad, "(self, set_to_none=True)"),
            ("`step(closure=None)`", ag.optim.Adam.step, "(self, closure=None)"),
            ("`load_state_dict(sd, strict=True)`", ag.nn.Module.load_state_dict,
             "(self, state_dict, strict=True, assign=False)"),
            ("`nn.Parameter(tensor, requires_grad=True)`", ag.nn.Parameter, "(data=None, requires_grad=True)")):
        quoted("docs/nn.md", doc_text)
        assert sig(f) == expected, doc_text
    assert callable(ag.optim.SGD.add_param_group)
    # "persistent buffers": a non-persistent buffer moves with the module but is not saved
    for L in (ag, torch):
        m = L.nn.Linear(1, 1)
        m.register_buffer("b", L.zeros(1), persistent=False)
        assert list(m.state_dict()) == ["weight", "bias"] and "b" in dict(m.named_buffers())
    covered("test_optim_oracle.py", "def test_param_groups_match_pytorch", "def test_closure_runs_with_grad_enabled",
            "def test_params_without_grad_are_skipped", "def test_load_state_dict_errors_change_nothing")
    covered("test_nn.py", "def test_cross_entropy_is_stable_for_huge_scores", "def test_load_state_dict_casts_dtype")


def test_nn_layers_and_containers(torch):
    import autograd_gpu.nn.functional as F
    for name in ("uniform_", "normal_", "zeros_", "ones_", "constant_", "kaiming_uniform_", "xavier_uniform_",
                 "calculate_gain"):
        assert hasattr(ag.nn.init, name) and hasattr(torch.nn.init, name), name
    for name in ("linear", "relu", "tanh", "sigmoid", "softmax", "log_softmax", "mse_loss", "cross_entropy",
                 "nll_loss"):
        assert hasattr(F, name), name
    quoted("docs/nn.md", "`nn.Linear(in, out, bias=True, device=None, dtype=None)`")
    assert str(inspect.signature(ag.nn.Linear)) == "(in_features, out_features, bias=True, device=None, dtype=None)"
    s = ag.nn.Sequential(ag.nn.Linear(1, 2), ag.nn.ReLU(), ag.nn.Linear(2, 1))
    assert len(s) == 3 and isinstance(s[0:2], ag.nn.Sequential) and isinstance(s[-1], ag.nn.Linear)
    covered("test_nn.py", "def test_linear_init_bounds_match_pytorch", "def test_sequential_container")
    covered("test_nn_optim_differential.py", "def test_sequential_editing_matches_pytorch")


def test_nn_layers_linear_checks_its_input():
    msg = quoted("docs/nn.md", "Linear(in_features=5, out_features=2): expected input with 5 features in its last "
                               "dimension, got input of shape [4, 3] (weight shape [2, 5])")
    lin = ag.nn.Linear(5, 2)
    with pytest.raises(RuntimeError) as e:
        lin(ag.ones(4, 3))
    assert str(e.value) == msg
    for bad in (ag.ones(4, 5, dtype=ag.float64), ag.tensor(1.0)):
        with pytest.raises(RuntimeError, match=re.escape("Linear(in_features=5, out_features=2)")):
            lin(bad)
    covered("test_nn.py", "def test_linear_bad_input_raises_and_changes_nothing")


@pytest.mark.filterwarnings("ignore:Using a target size:UserWarning")
def test_nn_losses_signatures_and_errors(torch):
    import autograd_gpu.nn.functional as F
    # (the deprecated size_average / reduce in their places, as PyTorch's)
    for cls, doc_sig in ((ag.nn.MSELoss, '(size_average=None, reduce=None, reduction="mean")'),
                         (ag.nn.CrossEntropyLoss, '(weight=None, size_average=None, ignore_index=-100, reduce=None, '
                                                  'reduction="mean", label_smoothing=0.0)'),
                         (ag.nn.NLLLoss, '(weight=None, size_average=None, ignore_index=-100, reduce=None, '
                                         'reduction="mean")')):
        quoted("docs/nn.md", f"`nn.{cls.__name__}{doc_sig}`")
        assert str(inspect.signature(cls)).replace("'", '"') == doc_sig
        theirs = inspect.signature(getattr(torch.nn, cls.__name__)).parameters
        for name, p in inspect.signature(cls).parameters.items():
            assert theirs[name].default == p.default, (cls.__name__, name)
    x = ag.zeros(2, 3)
    with pytest.raises(IndexError, match=re.escape(quoted("docs/nn.md", "Target 3 is out of bounds"))):
        F.cross_entropy(x, ag.tensor([0, 3]))
    with pytest.raises(ValueError):
        F.cross_entropy(x, ag.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError):
        F.cross_entropy(x, ag.tensor([0.0, 1.0]))
    for L in (ag, torch):                                   # a target that does not broadcast
        with pytest.raises(RuntimeError):
            L.nn.functional.mse_loss(L.zeros(2, 3), L.zeros(4))
    covered("test_nn.py", "def test_mse_loss_broadcast_warns_like_pytorch", "def test_loss_errors_match_pytorch_types")
    covered("test_nn_optim_differential.py", "def test_cross_entropy_every_option_matches_pytorch",
            "def test_nll_loss_every_option_matches_pytorch")


def test_nn_optimizers_signatures(torch):
    code = read("docs/nn.md").split("## Optimizers", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    for line in code.strip().splitlines():
        name, sig = re.match(r"optim\.(\w+)(\(.*\))$", line).groups()
        doc_sig = {}
        exec(f"def f{sig}: pass", doc_sig)
        assert inspect.signature(getattr(ag.optim, name)) == inspect.signature(doc_sig["f"]), name
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        for pname, p in inspect.signature(getattr(ag.optim, name)).parameters.items():
            if pname != "params":
                assert theirs[pname].default == p.default and theirs[pname].kind == p.kind, (name, pname)


def test_nn_optimizers_errors_and_state(torch):
    for L in (ag, torch):
        p = L.nn.Parameter(L.ones(1))
        for kwargs, text in ((dict(lr=-0.1), "Invalid learning rate: -0.1"),
                             (dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening")):
            with pytest.raises(ValueError, match=re.escape(quoted("docs/nn.md", text))):
                L.optim.SGD([p], **kwargs)
        with pytest.raises(ValueError):
            L.optim.SGD([], lr=0.1)
        opt = L.optim.Adam([p])
        p.grad = L.ones(1)
        opt.step()
        step = opt.state[p]["step"]
        assert step.dtype == L.float32 and step.dim() == 0 and str(step.device) == "cpu", L.__name__
        assert set(opt.state_dict()) == {"state", "param_groups"}
        assert opt.state_dict()["param_groups"][0]["params"] == [0]
    # "PyTorch's SGD lets it through and turns every parameter into NaN on the first step"
    p = torch.nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([p], lr=nan)
    p.grad = torch.ones(1)
    opt.step()
    assert math.isnan(p.item())
    with pytest.raises(ValueError):
        ag.optim.SGD([ag.nn.Parameter(ag.ones(1))], lr=nan)
    covered("test_nn_optim_differential.py", "def test_adam_rejects_nan_hyperparameters_like_pytorch",
            "def test_optimizer_state_is_a_defaultdict_like_pytorch", "def test_optimizer_state_dicts_exchange_with_pytorch")
    covered("test_optim_oracle.py", "def test_matches_pytorch_every_step", "def test_float16_parameters_update_in_float32_math",
            "def test_step_is_in_place_without_graph_and_bumps_versions")


def test_nn_saving_and_loading(in_tmp):
    code, _ = block("docs/nn.md", "from autograd_gpu.serialization import save, load")
    ns, _ = run_block("docs/nn.md", code)
    assert ns["ckpt"]["epoch"] == 12
    with np.load(in_tmp / "ckpt.npz", allow_pickle=False) as f:      # no pickled code
        assert len(f.files) > 0
    covered("test_nn.py", "def test_save_rejects_code_and_keeps_old_file", "def test_load_map_location_dict")


# ---------------------------------------------------------------------------------------------
# docs/notebooks.md
# ---------------------------------------------------------------------------------------------

def test_notebooks_table_and_device_line():
    for name, line in (("01_autograd_basics", "Running on: "), ("02_digging_deeper", "Running on: "),
                       ("03_network_with_autograd", "Running on: "), ("04_modules_and_optimizers", "training on device: ")):
        nb = read(f"notebooks/{name}.ipynb")
        assert line in nb and "ag.cuda.is_available()" in nb, name
    quoted("docs/notebooks.md", "prints which (`Running on: cpu`; `training on device: cpu` in part 4)")


def _notebook(name):
    import json
    nb = json.loads(read(f"notebooks/{name}.ipynb"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    src = "".join("".join(c["source"]) for c in code)
    outs = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                   for c in code for o in c.get("outputs", []))
    return src, outs


def test_notebooks_what_each_shows():
    """The table's summary of each notebook against its code and stored outputs (the outputs
    themselves are compared with the blog's byte for byte by tests/test_notebooks.py)."""
    src, outs = _notebook("01_autograd_basics")
    assert "requires_grad=True" in src and "x.mean()" in src and "backward()" in src
    assert "MeanBackward0" in outs and " 0.2500  0.2500" in outs
    src, outs = _notebook("02_digging_deeper")
    assert all(k in src for k in ("retain_grad()", "next_functions", "draw_graph"))
    for shown in ("4.6500", "18.6000", "14.4150", "-3.4000", "SubBackward1", "0.2000", "PowBackward0",
                  "MulBackward1", "AccumulateGrad", "not a leaf Tensor"):
        assert shown in outs, shown
    src, _ = _notebook("03_network_with_autograd")
    assert "range(1, 201)" in src and "ag.no_grad()" in src and ".grad.zero_()" in src
    src, _ = _notebook("04_modules_and_optimizers")
    assert all(k in src for k in ("nn.Sequential(", "nn.ReLU()", "nn.MSELoss()", "optim.Adam", "load_state_dict"))
    covered("test_notebooks.py", "def test_walkthrough_prints_what_the_blog_shows", "def test_training_loss_falls",
            "def test_committed_notebook_has_outputs_of_a_clean_run")


def test_notebooks_pictures_of_the_backward_graph(in_tmp):
    need("graphviz", "docs/notebooks.md's graph picture")
    need_dot()
    from autograd_gpu.viz import draw_graph, GraphvizNotInstalledWarning
    assert issubclass(GraphvizNotInstalledWarning, Warning)
    import graphviz
    sig = quoted("docs/notebooks.md", 'draw_graph(*roots, params=None, show_saved=False, rankdir="TB")')
    assert "draw_graph" + str(inspect.signature(draw_graph)).replace("'", '"') == sig
    code, _ = block("docs/notebooks.md", "draw_graph(out")
    ns, _ = run_block("docs/notebooks.md", code)
    assert isinstance(ns["g"], graphviz.Digraph) and (in_tmp / "graph.png").is_file()
    covered("test_viz.py", "def test_without_dot_the_graph_is_dot_text_and_says_how_to_get_pictures",
            "def test_blog_graph_nodes_and_edges", "def test_book_graph_with_saved_values", "def test_svg_and_png_render")


def test_notebooks_tests_and_refreshing():
    src = read("tests/test_notebooks.py")
    for pkg in ("nbclient", "ipykernel"):                  # with CI set, missing ones fail
        assert f'need("{pkg}"' in src
    assert '"--write"' in src and "PYTHONPATH" in src
    for text in ('.venv/bin/python tests/test_notebooks.py --write',
                 '.venv/bin/python tests/test_notebooks.py --write 04_modules_and_optimizers.ipynb'):
        quoted("docs/notebooks.md", text)
    pyproject = read("pyproject.toml")
    for pkg in ("nbclient", "nbformat", "ipykernel", "nbconvert", "matplotlib", "graphviz"):
        assert re.search(rf'^notebooks = \[.*"{pkg}>=', pyproject, re.M), pkg


# ---------------------------------------------------------------------------------------------
# docs/printing.md
# ---------------------------------------------------------------------------------------------

def test_printing_intro_example():
    shown = read("docs/printing.md").split("```\n", 2)[1].split("```", 1)[0].rstrip("\n")
    x1 = ag.tensor([1.0], requires_grad=True)
    assert repr(x1 - 4.4) == shown


@pytest.mark.parametrize("data,text", [
    ([1234567.0], "1.23457e+06"),               # "%g (so 1234567 prints 1.23457e+06)"
    ([0.03125, 1.0], "0.0312"),                 # ties to even
    ([9.99996, 1.0], "10.0000"),                # overflows its width
])
def test_printing_the_rules_examples(data, text):
    quoted("docs/printing.md", text)
    assert text in repr(ag.tensor(data)).splitlines()[1]


def test_printing_the_rules_special_cases():
    assert repr(ag.tensor([inf]) - inf).splitlines()[1] == quoted("docs/printing.md", "-nan")
    assert repr(ag.zeros(2, 0)) == "torch_tensor\n" + quoted("docs/printing.md", "[ CPUFloatType{2,0} ]")
    assert repr(ag.tensor(1.0)).endswith("{} ]")
    # the table, the blocks of columns, slices, the scale-line and 3-d quirks: tests/test_printing.py,
    # and about 1,250 tensors byte for byte against libtorch's at::print: tests/test_printing_libtorch.py
    covered("test_printing.py", "def test_integers_past_six_digits_use_g_and_past_nine_scientific",
            "def test_ranges_over_four_decades_print_scientific", "def test_small_values_get_a_scale_line",
            "def test_common_width_follows_the_largest_magnitude", "def test_wide_matrix_column_header_stands_on_its_own_line",
            "def test_four_d_slices_run_first_index_fastest_each_with_its_own_format",
            "def test_scaled_matrix_rows_after_the_first_shift_right_as_in_libtorch",
            "def test_ties_round_to_even_and_rounding_may_overflow_the_width", "def test_nan_keeps_its_sign")
    covered("test_printing_libtorch.py", "def test_random_tensors_print_as_libtorch")
    covered("test_printing_libtorch.py", "unavailable(", "2.13.0", "print_tensor.cpp")


def test_printing_deliberate_differences():
    assert repr(ag.tensor(-3.4)).splitlines()[1] == "-3.4"
    assert repr(ag.tensor(1e-5)).splitlines()[1] == "1e-05"
    note = quoted("docs/printing.md", "... [the output was truncated (use ag.set_printoptions(max_lines=None) to see "
                                      "all)]")
    lines = repr(ag.arange(40.0).reshape(40, 1)).splitlines()
    assert lines[-2:] == [note, "[ CPUFloatType{40,1} ]"] and lines[1:31] == [f"{i:>3}" for i in range(30)]
    assert note not in repr(ag.arange(29.0).reshape(29, 1))
    assert repr(ag.ones(1, requires_grad=True)).endswith("[ CPUFloatType{1} ][ requires_grad = True ]")
    assert not repr(ag.ones(1)).endswith("\n")
    covered("test_printing_libtorch.py", "def test_zero_dim_line_is_the_value_with_six_digits",
            "def test_long_output_is_cut_as_r_torch_cuts_it")


def test_printing_options():
    quoted("docs/printing.md", "`ag.set_printoptions(max_lines=30)` (`None`: never cut)")
    assert str(inspect.signature(ag.set_printoptions)) == "(max_lines=30)"
    assert ag.get_printoptions() == {"max_lines": 30}
    covered("test_printing.py", "def test_max_lines_none_prints_everything", "def test_max_lines_can_be_changed_and_reset")


# ---------------------------------------------------------------------------------------------
# benchmarks/README.md
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bench_help():
    r = subprocess.run([sys.executable, "-m", "benchmarks.run", "--help"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_benchmarks_commands_and_options(bench_help):
    text = read("benchmarks/README.md")
    cmds = text.split("From the repository root:", 1)[1].split("```", 2)[1].strip().splitlines()
    for cmd in cmds:
        cmd = cmd.split("#", 1)[0].split()
        assert cmd[:3] == ["python", "-m", "benchmarks.run"] or cmd[:2] == ["python", "benchmarks/run.py"], cmd
        for opt in (w for w in cmd if w.startswith("--")):
            assert f"{opt} " in bench_help or f"{opt}\n" in bench_help, opt
    for opt in re.findall(r"`(--[\w-]+)", text.split("Other options:", 1)[1].split("\n\n", 1)[0]):
        assert opt in bench_help, opt
    assert "(default 50)" in flat(bench_help)                             # --block-ms
    r = subprocess.run([sys.executable, "benchmarks/run.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "--workloads" in r.stdout, r.stderr
    assert (ROOT / "tests/test_benchmarks_smoke.py").is_file() and (ROOT / "benchmarks/RESULTS.md").is_file()
    quoted("benchmarks/README.md", "--quick --scale 0.001    # all workloads at tiny sizes (what the smoke test runs)")
    covered("test_benchmarks_smoke.py", '"--quick", "--scale", "0.001"')


def test_benchmarks_exit_status_two_on_bad_arguments():
    r = subprocess.run([sys.executable, "-m", "benchmarks.run", "--workloads", "W9"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, (r.stdout, r.stderr)
    if not CUDA:                        # "--device cuda: only the GPU (exit status 2 if there is none)"
        r = subprocess.run([sys.executable, "-m", "benchmarks.run", "--device", "cuda"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (r.stdout, r.stderr)
    covered("test_benchmarks_smoke.py", "returncode")


def test_benchmarks_how_it_measures():
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.run import w5_backward_bytes
    finally:
        sys.path.remove(str(ROOT))
    assert w5_backward_bytes(1000) == 12 * 1000          # "12 bytes per element"
    worker, run = read("benchmarks/worker.py"), read("benchmarks/run.py")
    assert "VmHWM" in worker and "/proc/self/clear_refs" in worker and "ru_maxrss" in worker
    assert '>= 10 * MiB' in run                           # "shown where NumPy's exceeds 10 MiB"


def test_benchmarks_workloads_table():
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.workloads import WORKLOADS, CHAIN_CYCLE
    finally:
        sys.path.remove(str(ROOT))
    w = {k: v.sizes for k, v in WORKLOADS.items()}
    assert set(w) == {"W1", "W2", "W3", "W4", "W5", "W6"}
    for name, (n, d) in {"W1": (100, (3, 32, 1)), "W2": (10_000, (64, 512, 8)),
                         "W3": (100_000, (256, 1024, 16))}.items():
        assert (w[name]["n"], (w[name]["d_in"], w[name]["d_hidden"], w[name]["d_out"])) == (n, d), name
    assert w["W4"] == {"length": 200, "numel": 16} and w["W5"] == {"numel": 10_000_000}
    assert w["W6"] == {"n": 64, "d_in": 20, "d_hidden": 64, "classes": 10, "lr": 1e-3}
    assert [k for k, _ in CHAIN_CYCLE] == ["tanh", "mul_scalar", "sin", "add_scalar", "sigmoid", "mul_tensor", "exp",
                                           "add_tensor"]
    assert dict(CHAIN_CYCLE)["mul_scalar"] == 1.5 and dict(CHAIN_CYCLE)["add_scalar"] == 0.1
    targets = {k: v.target for k, v in WORKLOADS.items()}
    assert targets == {"W1": 2.5, "W2": 1.10, "W3": 1.10, "W4": 2.5, "W5": 1.15, "W6": None}
    assert WORKLOADS["W3"].mem_target == 1.2
    assert {k: v.rtol for k, v in WORKLOADS.items()} == {"W1": 1e-4, "W2": 1e-4, "W3": 2e-3, "W4": 1e-3, "W5": 1e-4,
                                                          "W6": 1e-4}
    assert WORKLOADS["W2"].scaled == ("n",) and WORKLOADS["W5"].scaled == ("numel",) and not WORKLOADS["W1"].scaled
    # W1-W3's loop body as the table writes it; W4/W5's update is the x.grad = None reset
    src = read("benchmarks/workloads.py").replace("self.", "")
    for text in ("x.mm(w1).add(b1).clamp(min=0).mm(w2).add(b2)", "(y_pred - y).pow(2).sum()"):
        assert quoted("benchmarks/README.md", text) in src, text
    assert "w1.sub_(lr * w1.grad)" in src and "w1.grad.zero_()" in src and "x.grad = None" in src
    # W6's modules, loss and optimizer as the table names them
    for text in ("nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 10))", "nn.CrossEntropyLoss()", "optim.Adam"):
        quoted("benchmarks/README.md", text)
    assert "nn.CrossEntropyLoss()" in src and "lib.optim.Adam(" in src and "nn.ReLU()" in src


def test_benchmarks_profiling_modes():
    r = subprocess.run([sys.executable, "-m", "benchmarks.profile_hotpath", "--help"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    modes = re.findall(r"^- `(\w+)`:", read("benchmarks/README.md").split("## Profiling the hot path", 1)[1], re.M)
    assert modes == ["cprofile", "lines", "anatomy", "arrays", "memory", "bytecodes"]
    assert "{" + ",".join(modes) + "}" in r.stdout


