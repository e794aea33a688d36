"""Where autograd_gpu spends its time on a workload (CPU), for the hot-path work.

    python -m benchmarks.profile_hotpath cprofile --workload W1     # top functions by own time
    python -m benchmarks.profile_hotpath lines --workload W4        # line by line (pip install line_profiler)
    python -m benchmarks.profile_hotpath anatomy                    # cost of one op, piece by piece
    python -m benchmarks.profile_hotpath arrays --workload W5       # every array primitive: time, bytes
    python -m benchmarks.profile_hotpath memory --workload W3       # live memory through backward
    python -m benchmarks.profile_hotpath bytecodes --workload W4    # Python bytecodes run, vs NumPy's

Each mode runs the suite's own autograd_gpu implementation of the workload
(benchmarks/workloads.py), so the profile is of exactly what is benchmarked.
Figures are per iteration (and per op for W4)."""
import argparse
import cProfile
from collections import Counter
import gc
import io
import pstats
import sys
import time
import timeit
import tracemalloc

import numpy as np

from .workloads import WORKLOADS, make_runner


def _runner(name, scale):
    wl = WORKLOADS[name]
    return wl, make_runner(wl, "autograd_gpu", "cpu", wl.make_data(scale))


def _step(impl):
    state = impl.forward()
    impl.backward(state)
    impl.update()


def _iterations(wl, runner, seconds):
    """How many iterations take about `seconds`."""
    t0 = time.perf_counter()
    _step(runner.impl)
    per = time.perf_counter() - t0
    return max(1, int(seconds / max(per, 1e-9)))


# ---- cProfile: functions by own time -------------------------------------------------------------

def mode_cprofile(args):
    wl, runner = _runner(args.workload, args.scale)
    impl = runner.impl
    for _ in range(5 if wl.per_op or wl.name == "W1" else 1):
        _step(impl)
    n = args.iterations or _iterations(wl, runner, 2.0)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        _step(impl)
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (fname, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
        rows.append((tt, ct, nc, f"{_short(fname)}:{line}({func})"))
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows)
    per = wl.per_op or 1
    unit = "op" if wl.per_op else "iter"
    print(f"cProfile of autograd_gpu on {wl.name} ({wl.describe(args.scale)}), {n} iterations; "
          f"times in µs per {unit} (profiler overhead included: compare rows, not totals with the suite)")
    print(f"total own time: {total / n / per * 1e6:.2f} µs per {unit}")
    print(f"{'own µs':>9} {'cum µs':>9} {'calls':>8}  function")
    for tt, ct, nc, name in rows[:args.top]:
        print(f"{tt / n / per * 1e6:9.3f} {ct / n / per * 1e6:9.3f} {nc / n / per:8.2f}  {name}")


def _short(path):
    for key in ("autograd_gpu/", "benchmarks/", "numpy/"):
        i = path.find(key)
        if i >= 0:
            return path[i:]
    return path


# ---- line_profiler on the hot functions ---------------------------------------------------------

def hot_functions():
    """The functions of the op-recording and backward hot path that exist in the
    autograd_gpu being profiled (the core changes: names that are gone are skipped)."""
    from autograd_gpu.autograd import op, engine
    from autograd_gpu.tensor import Tensor
    from autograd_gpu.ops import prims, arith, inplace
    from autograd_gpu import autograd as ag_autograd
    wanted = [(op.Op, "apply1"), (op.Op, "apply2"), (op.Op, "applyN"), (op.Op, "_record"),
              (op.Op, "_apply"), (op.Op, "_unpack"), (op, "edge"), (op, "check_inplace"),
              (Tensor, "_make"), (engine, "execute"), (engine, "_dependencies"), (engine, "_validate"),
              (engine, "_accumulate"), (prims, "tanh"), (arith, "mul"), (arith, "add"),
              (ag_autograd, "backward"), (ag_autograd, "_root_grads"), (inplace, "zero_"),
              (Tensor, "sub_")]              # the in-place method the SGD update calls
    found = [getattr(owner, name, None) for owner, name in wanted]
    return [f for f in found if callable(f)]


def mode_lines(args):
    try:
        from line_profiler import LineProfiler
    except ImportError:
        sys.exit("lines: needs line_profiler (pip install line_profiler)")
    wl, runner = _runner(args.workload, args.scale)
    impl = runner.impl
    for _ in range(3):
        _step(impl)
    lp = LineProfiler()
    for fn in hot_functions():
        lp.add_function(fn)
    n = args.iterations or _iterations(wl, runner, 1.0)
    lp.enable_by_count()
    for _ in range(n):
        _step(impl)
    lp.disable_by_count()
    out = io.StringIO()
    lp.print_stats(stream=out, output_unit=1e-6, stripzeros=True)
    print(f"line_profiler of autograd_gpu on {wl.name}, {n} iterations (times: µs, totals over all iterations)")
    print(out.getvalue())


# ---- anatomy: one op on a 16-element tensor, piece by piece ----------------------------------------

def _t(stmt, setup_globals, number=20000, repeat=7):
    timer = timeit.Timer(stmt, globals=setup_globals)
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def mode_anatomy(args):
    import autograd_gpu as ag
    from autograd_gpu.autograd import op as op_mod
    from autograd_gpu.tensor import Tensor
    from autograd_gpu.ops import prims as P, pointwise
    a = np.random.default_rng(0).standard_normal(16, dtype=np.float32)
    x = ag.tensor(a, requires_grad=True)
    c = ag.tensor(a)
    y = x.tanh()
    g = dict(np=np, a=a, ag=ag, x=x, c=c, y=y, P=P, Tensor=Tensor, op_mod=op_mod,
             Tanh=pointwise.UNARY_OPS["tanh"], cpu=x._backend)
    rows = [
        ("np.tanh(a)  (NumPy floor of one forward op)", "np.tanh(a)"),
        ("a * 1.5  (NumPy scalar multiply)", "a * 1.5"),
        ("P.tanh(a)  (prim dispatch + np.tanh)", "P.tanh(a)"),
        ("object.__new__(Tensor)", "object.__new__(Tensor)"),
        ("Tensor._make(a, cpu)", "Tensor._make(a, cpu)"),
        ("edge(x)  (leaf: AccumulateGrad via weakref)", "op_mod.edge(x)"),
        ("edge(y)  (non-leaf)", "op_mod.edge(y)"),
        ("c.tanh()  (no input requires grad: no recording)", "c.tanh()"),
        ("with ag.no_grad(): x.tanh()  (entering and leaving the context included)", "with ag.no_grad(): x.tanh()"),
        ("x.tanh()  (recording)", "x.tanh()"),
        ("Tanh.apply1(x)  (recording, without the method wrapper)", "Tanh.apply1(x)"),
        ("x * 1.5  (recording; MulBackward1)", "x * 1.5"),
        ("x * c  (recording; MulBackward0)", "x * c"),
        ("x + c  (recording; AddBackward0)", "x + c"),
        ("x.sum()  (recording)", "x.sum()"),
    ]
    print("Cost of one op on a 16-element float32 tensor (µs, best of 7; CPU)")
    for label, stmt in rows:
        try:
            print(f"{_t(stmt, g):8.3f}  {label}")
        except Exception as e:          # the core changes under us: report, don't stop
            print(f"{'n/a':>8}  {label}: {type(e).__name__}: {e}")
    # backward per node: a chain of 200 tanh, minus the forward
    def chain_fwd():
        h = x
        for _ in range(200):
            h = h.tanh()
        return h.sum()
    g.update(chain_fwd=chain_fwd)
    fwd = _t("chain_fwd()", g, number=200)
    both = _t("chain_fwd().backward(); x.grad = None", g, number=200)
    npb = _t("[np.tanh(a) for _ in range(200)]", g, number=200)
    print(f"{fwd / 200:8.3f}  forward per op in a 200-tanh chain (recording)")
    print(f"{(both - fwd) / 200:8.3f}  backward per node in a 200-tanh chain (engine + TanhBackward0)")
    print(f"{npb / 200:8.3f}  NumPy: np.tanh per op in the same loop")
    bw = _t("g * (1 - y * y)", dict(g=a, y=a))
    print(f"{bw:8.3f}  NumPy: tanh backward formula g * (1 - y*y) on 16 elements")
    # the engine's dependency-counting pre-pass, alone (it does not modify the graph)
    from autograd_gpu.autograd import engine
    deps = getattr(engine, "_dependencies", None)
    if deps is not None:
        g.update(deps=deps, root=chain_fwd()._node)
        print(f"{_t('deps([root])', g, number=500) / 201:8.3f}  engine._dependencies pre-pass, per node")


# ---- arrays: every primitive call, with its time and output size -----------------------------------

class PrimTrace:
    """Wrap the NumPy twin of every primitive (ops/prims.py) to record calls:
    name -> [calls, inclusive seconds, own seconds, output bytes]."""

    def __init__(self):
        from autograd_gpu.ops import prims as P
        self.stats = {}
        self.stack = []
        self.cells = []
        for name, fn in vars(P).items():
            if not callable(fn) or not hasattr(fn, "twin") or fn.__closure__ is None:
                continue
            for var, cell in zip(fn.__code__.co_freevars, fn.__closure__):
                if var == "twin":
                    self.cells.append((cell, cell.cell_contents))
                    cell.cell_contents = self._wrap(name, cell.cell_contents)

    def _wrap(self, name, twin):
        stats, stack, clock = self.stats, self.stack, time.perf_counter

        def traced(*args):
            stack.append(0.0)
            t0 = clock()
            try:
                out = twin(*args)
            finally:
                dt = clock() - t0
                child = stack.pop()
                if stack:
                    stack[-1] += dt
            s = stats.setdefault(name, [0, 0.0, 0.0, 0])
            s[0] += 1
            s[1] += dt
            s[2] += dt - child
            s[3] += getattr(out, "nbytes", 0)
            return out
        return traced

    def restore(self):
        for cell, orig in self.cells:
            cell.cell_contents = orig


def mode_arrays(args):
    wl, runner = _runner(args.workload, args.scale)
    impl = runner.impl
    _step(impl)
    n = args.iterations or _iterations(wl, runner, 3.0)
    phases = {"forward": 0.0, "backward": 0.0, "update": 0.0}
    trace = PrimTrace()
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            state = impl.forward()
            t1 = time.perf_counter()
            impl.backward(state)
            t2 = time.perf_counter()
            impl.update()
            state = None
            t3 = time.perf_counter()
            phases["forward"] += t1 - t0
            phases["backward"] += t2 - t1
            phases["update"] += t3 - t2
    finally:
        trace.restore()
    per = wl.per_op or 1
    scale_ = 1e3 if wl.name in ("W2", "W3", "W5") else 1e6
    unit = "ms" if scale_ == 1e3 else "µs"
    total = sum(phases.values())
    prim_own = sum(s[2] for s in trace.stats.values())
    print(f"Array primitives of autograd_gpu on {wl.name} ({wl.describe(args.scale)}), {n} iterations; "
          f"{unit} per {'op' if wl.per_op else 'iteration'}")
    print("phases: " + ", ".join(f"{k} {v / n / per * scale_:.3f}" for k, v in phases.items())
          + f"; total {total / n / per * scale_:.3f}")
    print(f"time inside primitives (own): {prim_own / n / per * scale_:.3f}; outside (Python, engine "
          f"arithmetic, copies, allocation of tensors): {(total - prim_own) / n / per * scale_:.3f}")
    print(f"{'calls':>7} {'own ' + unit:>10} {'incl ' + unit:>10} {'MB out':>9}  primitive")
    for name, (calls, incl, own, nbytes) in sorted(trace.stats.items(), key=lambda kv: -kv[1][2]):
        print(f"{calls / n:7.2f} {own / n / per * scale_:10.3f} {incl / n / per * scale_:10.3f} "
              f"{nbytes / n / 1e6:9.2f}  {name}")


# ---- bytecodes: the interpreter work per phase, a count that timing noise cannot blur ---------------

def _count_bytecodes(impl):
    """Bytecodes executed per phase of one iteration: {phase: Counter(function -> count)}."""
    counts = Counter()                   # by code object: naming waits until the end

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            counts[frame.f_code] += 1
        return tracer

    def traced(fn, *args):
        counts.clear()
        sys.settrace(tracer)
        try:
            result = fn(*args)
        finally:
            sys.settrace(None)
        by_name = Counter()              # several code objects may share a name (lambdas)
        for co, n in counts.items():
            by_name[f"{_short(co.co_filename)}:{co.co_name}"] += n
        return result, by_name

    state, forward = traced(impl.forward)
    _, backward = traced(impl.backward, state)
    _, update = traced(impl.update)
    return {"forward": forward, "backward": backward, "update": update}


def mode_bytecodes(args):
    """On this interpreter each bytecode costs about an indirect branch (often
    mispredicted) plus its work: the count is the engine's fixed cost, measured
    exactly, next to the hand-written NumPy version of the same workload."""
    wl = WORKLOADS[args.workload]
    data = wl.make_data(args.scale)
    per = wl.per_op or 1
    unit = "op" if wl.per_op else "iteration"
    results = {}
    for fw in ("numpy", "autograd_gpu"):
        impl = make_runner(wl, fw, args.device, data).impl
        for _ in range(3):                       # warm: lazily made nodes, caches
            _step(impl)
        results[fw] = _count_bytecodes(impl)
    print(f"Python bytecodes executed per {unit} on {wl.name} ({wl.describe(args.scale)}, {args.device}), "
          f"sys.settrace opcode events")
    print(f"{'':14}" + "".join(f"{p:>10}" for p in ("forward", "backward", "update", "total")))
    if args.device == "cuda":
        # CuPy's own work is compiled (here the emulator stands in for it, in Python): count our code only
        results = {fw: {ph: Counter({k: v for k, v in c.items() if k.startswith(("autograd_gpu/", "benchmarks/"))})
                        for ph, c in phases.items()} for fw, phases in results.items()}
        print("(cuda: only bytecodes of autograd_gpu/ and benchmarks/; CuPy's calls are not counted)")
    for fw, phases in results.items():
        n = [sum(c.values()) / per for c in phases.values()]
        print(f"{fw:14}" + "".join(f"{v:10.1f}" for v in n + [sum(n)]))
    for phase, c in results["autograd_gpu"].items():
        print(f"-- autograd_gpu {phase}: top functions (bytecodes per {unit})")
        for name, v in c.most_common(args.top // 3 or 1):
            print(f"{v / per:10.1f}  {name}")


# ---- memory: live bytes through forward and backward -----------------------------------------------

def mode_memory(args):
    from autograd_gpu.autograd import op as op_mod
    wl, runner = _runner(args.workload, args.scale)
    impl = runner.impl
    _step(impl)
    gc.collect()
    timeline = []
    orig_apply = op_mod.Op._apply

    def traced_apply(node, grads, create_graph):
        out = orig_apply(node, grads, create_graph)
        cur, peak = tracemalloc.get_traced_memory()
        timeline.append((node.name(), cur, peak))
        return out

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    op_mod.Op._apply = traced_apply
    try:
        state = impl.forward()
        after_fwd, fwd_peak = tracemalloc.get_traced_memory()
        impl.backward(state)
        after_bwd, bwd_peak = tracemalloc.get_traced_memory()
        impl.update()
        state = None
        after_upd, peak = tracemalloc.get_traced_memory()
    finally:
        op_mod.Op._apply = orig_apply
        tracemalloc.stop()
    mb = 1e6
    print(f"Memory of autograd_gpu on {wl.name} ({wl.describe(args.scale)}), one iteration, "
          "NumPy allocations traced by tracemalloc; MB above the start of the iteration")
    print(f"after forward: {(after_fwd - base) / mb:.1f} live (peak {(fwd_peak - base) / mb:.1f})")
    print("backward, after each node's _apply (live / peak so far):")
    for name, cur, pk in timeline:
        print(f"  {name:<22} {(cur - base) / mb:9.1f} {(pk - base) / mb:9.1f}")
    print(f"after backward: {(after_bwd - base) / mb:.1f} live (peak {(bwd_peak - base) / mb:.1f})")
    print(f"after update and freeing the graph: {(after_upd - base) / mb:.1f} live; "
          f"iteration peak {(peak - base) / mb:.1f}")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_hotpath", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("cprofile", "lines", "anatomy", "arrays", "memory", "bytecodes"))
    p.add_argument("--workload", default="W1", choices=sorted(WORKLOADS))
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                   help="bytecodes: count the cuda path too (on a machine without a GPU, with the emulator: "
                        "PYTHONPATH=tests/emulated_site:tests:.)")
    p.add_argument("--iterations", type=int, default=None)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--package-path", default=None, help="import autograd_gpu from this directory")
    args = p.parse_args(argv)
    if args.package_path:
        sys.path.insert(0, args.package_path)
    {"cprofile": mode_cprofile, "lines": mode_lines, "anatomy": mode_anatomy, "arrays": mode_arrays,
     "memory": mode_memory, "bytecodes": mode_bytecodes}[args.mode](args)


if __name__ == "__main__":
    main()
