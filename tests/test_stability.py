"""Long-running stability: training loops whose memory and live objects stay
flat over 10,000 steps, graphs 100,000 nodes deep or 10,000 wide (backward
and deletion, no recursion), grad mode and backward from four threads at once,
and a KeyboardInterrupt in the middle of a backward.

The figures measured (memory, live tensors and graph nodes at checkpoints) are
printed in the terminal summary."""
import collections
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import weakref

import numpy as np
import pytest

import autograd_gpu as ag
from conftest import report_at_end
from autograd_gpu.autograd.graph import Node

STEPS = int(os.environ.get("AG_STABILITY_STEPS", "10000"))
CHECKPOINTS = 5
REPORT = collections.OrderedDict()
# walking gc.get_objects() touches torch's deprecated module attributes (torch is
# imported by other test modules), which warn
pytestmark = pytest.mark.filterwarnings("ignore:.*reduce_op.*:FutureWarning")


def val(t):
    return np.asarray(t.detach()._host())


def live_objects():
    """Live autograd_gpu tensors and graph nodes (both are tracked by the GC)."""
    gc.collect()
    c = collections.Counter()
    for o in gc.get_objects():
        if isinstance(o, ag.Tensor):
            c["tensors"] += 1
        elif isinstance(o, Node):
            c["nodes"] += 1
    return c


def run_flat(name, step, steps=STEPS, mem_limit=256 * 1024):
    """Run `step` `steps` times after a warm-up; memory (tracemalloc) and the
    live tensors/nodes must stay flat. Records the figures in REPORT."""
    for _ in range(200):
        step()
    live0 = live_objects()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        rows = []
        t0 = time.perf_counter()
        per = steps // CHECKPOINTS
        for k in range(1, CHECKPOINTS + 1):
            for _ in range(per):
                step()
            gc.collect()
            now, peak = tracemalloc.get_traced_memory()
            live = live_objects()
            rows.append((k * per, now - base, peak - base, live["tensors"], live["nodes"]))
        elapsed = time.perf_counter() - t0
    finally:
        tracemalloc.stop()
    REPORT[name] = dict(steps=steps, seconds=round(elapsed, 2), live_before=(live0["tensors"], live0["nodes"]),
                        checkpoints=rows)
    growth = rows[-1][1]
    assert growth < mem_limit, f"{name}: traced memory grew by {growth} bytes over {steps} steps: {rows}"
    for r in rows:
        assert (r[3], r[4]) == (live0["tensors"], live0["nodes"]), \
            f"{name}: live tensors/nodes changed from {(live0['tensors'], live0['nodes'])}: {rows}"
    return rows


# ---- training loops ---------------------------------------------------------------------

def _blog_step(x, y, params, lr=1e-4):
    """The blog walkthrough's MLP step."""
    w1, b1, w2, b2 = params
    y_pred = x.mm(w1).add(b1).clamp(min=0).mm(w2).add(b2)
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
    with ag.no_grad():
        for w in params:
            w.sub_(lr * w.grad)
            w.grad.zero_()
    return loss


def test_blog_mlp_10000_steps_memory_and_objects_flat():
    ag.manual_seed(0)
    x, y = ag.randn(100, 3), ag.randn(100, 1)
    params = [ag.randn(3, 32, requires_grad=True), ag.zeros(1, 32, requires_grad=True),
              ag.randn(32, 1, requires_grad=True), ag.zeros(1, 1, requires_grad=True)]
    first = _blog_step(x, y, params).item()
    dead = []

    def step():
        loss = _blog_step(x, y, params)
        if not dead:                     # the graph of a step dies with its loss
            dead.append(weakref.ref(loss.grad_fn))
    run_flat("blog MLP (tensors, mm/clamp/pow, SGD by hand)", step)
    assert dead[0]() is None
    last = _blog_step(x, y, params).item()
    assert np.isfinite(last) and last < first


def test_nn_model_10000_steps_memory_and_objects_flat():
    nn, optim = ag.nn, ag.optim
    ag.manual_seed(0)
    x, y = ag.randn(100, 3), ag.randn(100, 1)
    model = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 1))
    loss_fn = nn.MSELoss()
    opt = optim.SGD(model.parameters(), lr=1e-3)
    losses = []

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if len(losses) < 2 or step.n % 1000 == 0:
            losses.append(loss.item())
        step.n += 1
    step.n = 0
    run_flat("nn.Sequential(Linear, ReLU, Linear) + MSELoss + SGD", step)
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_create_graph_loop_memory_flat():
    """Gradient penalties (create_graph=True) in a loop free their graphs too."""
    x = ag.randn(16, 4, requires_grad=True)
    w = ag.randn(4, 4, requires_grad=True)

    def step():
        y = (x @ w).tanh().sum()
        (g,) = ag.autograd.grad(y, x, create_graph=True)
        (g * g).sum().backward()
        w.grad = None
        x.grad = None
    run_flat("gradient penalty (create_graph=True)", step, steps=STEPS // 5)


@pytest.mark.gpu
@pytest.mark.real_gpu("CuPy's memory pool byte counts")
def test_cupy_memory_pool_flat_on_gpu():
    if not (ag.cuda is not None and ag.cuda.is_available()):
        pytest.skip("no CUDA device")
    import cupy
    pool = cupy.get_default_memory_pool()
    x, y = ag.randn(100, 3, device="cuda"), ag.randn(100, 1, device="cuda")
    params = [ag.randn(3, 32, requires_grad=True, device="cuda"), ag.zeros(1, 32, requires_grad=True, device="cuda"),
              ag.randn(32, 1, requires_grad=True, device="cuda"), ag.zeros(1, 1, requires_grad=True, device="cuda")]
    for _ in range(200):
        _blog_step(x, y, params)
    cupy.cuda.Device().synchronize()
    used0, total0 = pool.used_bytes(), pool.total_bytes()
    for _ in range(STEPS):
        _blog_step(x, y, params)
    cupy.cuda.Device().synchronize()
    used, total = pool.used_bytes(), pool.total_bytes()
    REPORT["CuPy memory pool (blog MLP on the GPU)"] = dict(steps=STEPS, used=(used0, used), total=(total0, total))
    assert used == used0 and total <= total0 + (1 << 20)


# ---- deep and wide graphs -------------------------------------------------------------

def test_100000_node_chain_backward_without_recursion():
    x = ag.tensor([1.0], dtype=ag.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(200)            # the engine must not recurse at all
    try:
        y.backward()
    finally:
        sys.setrecursionlimit(old)
    np.testing.assert_allclose(val(x.grad), [1.0])


def test_10000_wide_fan_in():
    x = ag.tensor([2.0], dtype=ag.float64, requires_grad=True)
    parts = [x * float(i) for i in range(10_000)]
    total = parts[0]
    for p in parts[1:]:                   # a 10,000-input sum node and a 10,000-deep add chain
        total = total + p
    (ag.stack(parts).sum() + total).backward()
    np.testing.assert_allclose(val(x.grad), [2 * sum(range(10_000))])


DEEP = textwrap.dedent("""
    import sys
    import autograd_gpu as ag
    n, kind = int(sys.argv[1]), sys.argv[2]
    x = ag.tensor([1.0], requires_grad=True)
    y = x
    if kind == "chain":
        for _ in range(n):
            y = y * 1.0
    elif kind == "views":                 # views of views: 100,000 deep, then rebased
        base = x * 1
        y = base
        for _ in range(n):
            y = y.view(-1)
        base.add_(1)
    elif kind == "create_graph":
        for _ in range(n):
            y = (y * 1.0).sin()
        (y,) = ag.autograd.grad(y.sum(), x, create_graph=True)
    if sys.argv[3] == "backward":
        y.sum().backward()
    del y                                 # deleting must not overflow the C stack
    import gc
    gc.collect()
    print("ok")
""")


@pytest.mark.parametrize("kind, n, backward", [("chain", 100_000, "backward"), ("chain", 100_000, "delete"),
                                                ("views", 100_000, "backward"), ("create_graph", 10_000, "backward")])
def test_deep_graphs_build_backward_and_delete_in_a_subprocess(kind, n, backward):
    # a subprocess: a C-stack overflow would kill it, not the test run
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(ag.__file__))] + sys.path))
    p = subprocess.run([sys.executable, "-c", DEEP, str(n), kind, backward], capture_output=True, text=True,
                       timeout=300, env=env)
    assert p.returncode == 0 and p.stdout.strip() == "ok", f"rc {p.returncode}: {p.stderr[-2000:]}"


# ---- threads ------------------------------------------------------------------------------

def test_grad_mode_and_backward_in_four_threads_without_cross_talk():
    """Four threads, each with its own grad mode and graphs, plus one leaf all of
    them accumulate into (accumulation is locked, as in PyTorch)."""
    shared = ag.zeros(3, dtype=ag.float64, requires_grad=True)
    errors, barrier, rounds = [], threading.Barrier(4), 200
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)           # switch threads as often as possible

    def worker(k):
        try:
            barrier.wait()
            for i in range(rounds):
                x = ag.tensor([float(k), float(i)], dtype=ag.float64, requires_grad=True)
                if k == 1:
                    with ag.no_grad():                        # no graph in this thread ...
                        y = (x * x).sum()
                        assert not y.requires_grad and not ag.is_grad_enabled()
                    continue
                if k == 2:
                    with ag.no_grad():
                        with ag.enable_grad():                # ... a graph inside no_grad here
                            y = (x * x * k).sum()
                        assert not ag.is_grad_enabled()
                else:
                    y = (x * x * k).sum()
                assert ag.is_grad_enabled() == (k != 2) or k == 2
                (g,) = ag.autograd.grad(y, x, create_graph=(k == 3))
                np.testing.assert_allclose(val(g), [2 * k * k, 2 * k * i])
                if k == 3:
                    (h,) = ag.autograd.grad(g.sum(), x)
                    np.testing.assert_allclose(val(h), [2 * k, 2 * k])
                (shared * float(k)).sum().backward()
                assert ag.is_grad_enabled()
        except Exception as e:        # reported below
            errors.append(f"thread {k}: {e!r}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(1, 5)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors
    assert ag.is_grad_enabled()
    np.testing.assert_allclose(val(shared.grad), [rounds * (2 + 3 + 4)] * 3)


# (concurrent first accumulation into one leaf: tests/test_regressions.py)


# ---- KeyboardInterrupt in the middle of a backward -----------------------------------------

def _graph():
    a = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    b = ag.tensor([3.0, -1.0], dtype=ag.float64, requires_grad=True)
    h = a * b                     # saves a and b
    h.retain_grad()
    e = h.exp()                   # saves its result
    m = (e + b).sin()
    m.retain_grad()
    loss = (m * a).sum() + h.sum()
    return a, b, h, m, loss


@pytest.mark.parametrize("where", ["h", "m", "a", "b"])
@pytest.mark.parametrize("retain", [True, False])
def test_keyboard_interrupt_mid_backward(where, retain):
    a, b, h, m, loss = _graph()
    loss.backward(retain_graph=True)                   # reference gradients, and .grad to protect
    ref = {n: val(t.grad).copy() for n, t in (("a", a), ("b", b), ("h", h), ("m", m))}
    target = {"a": a, "b": b, "h": h, "m": m}[where]
    calls = []

    def interrupt(g):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
    handle = target.register_hook(interrupt)
    with pytest.raises(KeyboardInterrupt):
        loss.backward(retain_graph=retain)
    handle.remove()
    assert ag.is_grad_enabled()
    for n, t in (("a", a), ("b", b), ("h", h), ("m", m)):         # nothing half-accumulated
        np.testing.assert_array_equal(val(t.grad), ref[n], err_msg=f"{n}.grad changed by the interrupted pass")
    if retain:
        loss.backward()                                 # the graph is intact: a full pass works
        for n, t in (("a", a), ("b", b), ("h", h), ("m", m)):
            np.testing.assert_allclose(val(t.grad), 2 * ref[n], err_msg=n)
    else:
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            loss.backward()                             # freed, cleanly: no half-working pass
        for n, t in (("a", a), ("b", b)):
            np.testing.assert_array_equal(val(t.grad), ref[n])


def test_keyboard_interrupt_in_create_graph_backward():
    a, b, h, m, loss = _graph()

    def interrupt(g):
        raise KeyboardInterrupt
    handle = h.register_hook(interrupt)
    with pytest.raises(KeyboardInterrupt):
        ag.autograd.grad(loss, [a, b], create_graph=True)
    handle.remove()
    assert ag.is_grad_enabled() and a.grad is None and b.grad is None
    ga, gb = ag.autograd.grad(loss, [a, b], create_graph=True)     # create_graph retains the graph
    assert ga.requires_grad and gb.requires_grad


# ---- the figures -----------------------------------------------------------------------------

def _summary_lines():
    lines = []
    for name, r in REPORT.items():
        if "checkpoints" in r:
            lines.append(f"{name}: {r['steps']} steps in {r['seconds']} s; live (tensors, nodes) before: "
                         f"{r['live_before']}")
            for steps, grow, peak, tensors, nodes in r["checkpoints"]:
                lines.append(f"    after {steps:6d} steps: traced memory {grow:+8d} B (peak {peak:+9d} B), "
                             f"live tensors {tensors}, nodes {nodes}")
        else:
            lines.append(f"{name}: {r}")
    return lines


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    report_at_end(request, "stability: memory and live objects", _summary_lines)
