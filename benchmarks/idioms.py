"""Everyday idioms, forward and backward, timed beside PyTorch: where a Python
engine over NumPy loses by a constant it is expected; where it loses by a factor
that grows with the input (a zero-filled copy per row, a temporary per pair of
rows, a full sort for a top-k), it is a bug, and this is where it shows.

    python -m benchmarks.idioms                    # every idiom, autograd_gpu and PyTorch (CPU)
    python -m benchmarks.idioms --quick            # tiny sizes, one round: a smoke run
    python -m benchmarks.idioms --only lstm,topk --package-path /tmp/old   # another tree's package

Each framework runs in its own processes, alternating (--rounds), each idiom
several times in each (--reps); the best run (milliseconds) is reported, and
our time over PyTorch's.
No targets: W1-W6 (benchmarks/run.py) hold those."""
import argparse
import json
import math
import os
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def idioms(T, scale):
    """name -> (setup() -> state, step(state)) for library T (autograd_gpu or torch); `scale`
    shrinks the sizes (--quick)."""
    F = T.nn.functional

    def n(size):
        return max(2, int(size * scale))

    def leaf(*shape):
        return T.randn(*shape, requires_grad=True)

    def iterate_rows():
        x = leaf(n(1600), 256)
        return lambda: sum(row.sum() for row in x).backward()

    def lstm():
        m, x = T.nn.LSTM(32, 64), T.randn(n(200), 8, 32)
        return lambda: m(x)[0].sum().backward()

    def gru():
        m, x = T.nn.GRU(32, 64), T.randn(n(200), 8, 32)
        return lambda: m(x)[0].sum().backward()

    def pack_padded():
        steps, batch = n(200), min(n(200), 128)
        x, lengths = leaf(steps, batch, 128), list(range(steps, steps - batch, -1))
        return lambda: T.nn.utils.rnn.pack_padded_sequence(x, lengths).data.sum().backward()

    def cdist():
        a, b = leaf(n(500), 64), leaf(n(400), 64)
        return lambda: T.cdist(a, b).sum().backward()

    def topk():
        x = leaf(n(1000), 1000)
        return lambda: x.topk(10, 1).values.sum().backward()

    def index_rows():
        x, i = leaf(n(5000), 64), T.randint(0, n(5000), (n(20000),))
        return lambda: x[i].sum().backward()

    def index_add():
        x, i = leaf(n(100000), 16), T.randint(0, 100, (n(100000),))
        return lambda: T.zeros(100, 16).index_add(0, i, x).sum().backward()

    def embedding():
        e, i = T.nn.Embedding(n(50000), 128), T.randint(0, n(50000), (64, 128))
        return lambda: e(i).sum().backward()

    def interpolate():
        x = leaf(8, 16, n(32), n(32))
        return lambda: F.interpolate(x, scale_factor=2, mode="bilinear").sum().backward()

    def max_pool():
        x = leaf(16, 32, n(64), n(64))
        return lambda: F.max_pool2d(x, 2).sum().backward()

    def inplace_activation():
        m = T.nn.Sequential(T.nn.Linear(256, 256), T.nn.LeakyReLU(0.1, inplace=True), T.nn.Linear(256, 256),
                            T.nn.SiLU(inplace=True))
        x = T.randn(n(512), 256)
        return lambda: m(x).sum().backward()

    def attention():
        q = leaf(8, 4, n(128), 32)
        return lambda: F.scaled_dot_product_attention(q, q, q).sum().backward()

    def ctc_loss():
        steps = n(200)
        lp = T.randn(steps, 4, 20).log_softmax(2).detach().requires_grad_()
        targets, lengths = T.randint(1, 20, (4, 10)), T.full((4,), steps, dtype=T.int64)
        return lambda: F.ctc_loss(lp, targets, lengths, T.full((4,), 10, dtype=T.int64)).backward()

    def bce_with_logits():
        x, y = leaf(n(1000), 1000), T.rand(n(1000), 1000)
        return lambda: F.binary_cross_entropy_with_logits(x, y).backward()

    def layer_norm():
        m, x = T.nn.LayerNorm(512), leaf(n(64), 128, 512)
        return lambda: m(x).sum().backward()

    def group_norm():
        m, x = T.nn.GroupNorm(8, 32), T.randn(16, 32, n(32), n(32))
        return lambda: m(x).sum().backward()

    def gelu():
        x = leaf(n(4096), 1024)
        return lambda: F.gelu(x).sum().backward()

    def silu():
        x = leaf(n(4096), 1024)
        return lambda: F.silu(x).sum().backward()

    def softmax():
        x, w = leaf(n(4096), 1000), T.randn(n(4096), 1000)
        return lambda: (F.softmax(x, 1) * w).sum().backward()

    def cross_entropy():
        x, y = leaf(n(4096), 1000), T.randint(0, 1000, (n(4096),))
        return lambda: F.cross_entropy(x, y).backward()

    def conv2d():
        m, x = T.nn.Conv2d(32, 64, 3, padding=1), leaf(16, 32, n(32), n(32))
        return lambda: m(x).sum().backward()

    def _big_params():
        params = [leaf(n(1024), 1024) for _ in range(4)] + [leaf(1024) for _ in range(4)]
        for p in params:
            p.grad = T.randn(*p.shape)
        return params

    def adam_step():
        return T.optim.Adam(_big_params(), 1e-3).step

    def clip_grad_norm():
        params = _big_params()
        return lambda: T.nn.utils.clip_grad_norm_(params, 1.0)

    def huber_loss():
        x, y = leaf(n(2000), 1000), T.randn(n(2000), 1000)
        return lambda: F.huber_loss(x, y).backward()

    def gather():
        x, i = leaf(n(1000), 1000), T.randint(0, 1000, (n(1000), 500))
        return lambda: x.gather(1, i).sum().backward()

    def kthvalue():
        x = leaf(n(1000), 1000)
        return lambda: x.kthvalue(10, 1).values.sum().backward()

    def depthwise_conv():
        m, x = T.nn.Conv2d(64, 64, 3, padding=1, groups=64), leaf(8, 64, n(32), n(32))
        return lambda: m(x).sum().backward()

    def max_pool1d():
        x = leaf(16, 64, n(1000))
        return lambda: F.max_pool1d(x, 3, 2).sum().backward()

    def embedding_bag():
        e, i = T.nn.EmbeddingBag(10000, 64), T.randint(0, 10000, (n(1000), 20))
        return lambda: e(i).sum().backward()

    def unique():
        x = T.randint(0, 100, (n(100000),))
        return lambda: T.unique(x, return_counts=True)

    def reflect_pad():
        x = leaf(16, 32, n(64), n(64))
        return lambda: F.pad(x, (2, 2, 2, 2), mode="reflect").sum().backward()

    def pdist():
        x = leaf(n(500), 32)
        return lambda: F.pdist(x).sum().backward()

    def transformer_layer():
        m = T.nn.TransformerEncoderLayer(128, 4, 256, dropout=0.0, batch_first=True)
        x = T.randn(8, n(64), 128)
        return lambda: m(x).sum().backward()

    return {f.__name__: f for f in (iterate_rows, lstm, gru, pack_padded, cdist, topk, index_rows, index_add, embedding,
                                    interpolate, max_pool, inplace_activation, attention, ctc_loss,
                                    bce_with_logits, layer_norm, group_norm, gelu, silu, softmax, cross_entropy,
                                    conv2d, adam_step, clip_grad_norm, huber_loss, gather, kthvalue, depthwise_conv,
                                    max_pool1d, embedding_bag, unique, reflect_pad, pdist, transformer_layer)}


def _worker(framework, names, rounds, scale):
    """One framework's process: each idiom's best of `rounds` runs after a warm-up (seconds), as a
    JSON line. (Several runs in one process: a fresh process's first large arrays cost page faults
    that PyTorch's caching allocator does not pay again.)"""
    if framework == "torch":
        import torch as T
        T.set_num_threads(1)            # (one thread: NumPy's work here runs on one core)
    else:
        import autograd_gpu as T
    T.manual_seed(0)
    table = idioms(T, scale)
    steps = {name: table[name]() for name in names}
    for step in steps.values():
        step()                          # (warm up: first-call costs are not the idiom's)
    best = {}
    for _ in range(rounds):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            best[name] = min(best.get(name, math.inf), time.perf_counter() - t0)
    print(json.dumps(best), flush=True)


def _run(framework, names, rounds, scale, package_path):
    """This file as a script (its own directory first on the path, then the package's: autograd_gpu
    is imported from package_path when given, else from this tree)."""
    env = dict(os.environ)
    path = package_path if framework == "autograd_gpu" and package_path else REPO_ROOT
    env["PYTHONPATH"] = path + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, ",".join(names), str(rounds), str(scale)]
    return subprocess.Popen(cmd, cwd=path, env=env, stdout=subprocess.PIPE, text=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, one round (a smoke run)")
    p.add_argument("--rounds", type=int, default=3, help="processes per library, alternating (default 3)")
    p.add_argument("--reps", type=int, default=3, help="runs of each idiom per process (default 3)")
    p.add_argument("--only", default=None, help="comma-separated idiom names")
    p.add_argument("--package-path", default=None, help="time the autograd_gpu package found in this directory")
    p.add_argument("--no-torch", action="store_true", help="autograd_gpu alone")
    args = p.parse_args(argv)
    names = args.only.split(",") if args.only else _idiom_names()
    scale, rounds, reps = (0.05, 1, 1) if args.quick else (1.0, args.rounds, args.reps)
    frameworks = ["autograd_gpu"] + ([] if args.no_torch or not _has_torch() else ["torch"])
    unknown = sorted(set(names) - set(_idiom_names()))
    if unknown:
        p.error(f"unknown idioms: {', '.join(unknown)} (known: {', '.join(_idiom_names())})")
    best = {f: {} for f in frameworks}
    for _ in range(rounds):            # alternate the processes round by round
        for f in frameworks:
            proc = _run(f, names, reps, scale, args.package_path)
            out, _ = proc.communicate()
            if proc.returncode != 0:
                sys.exit(f"{f}: worker failed (exit {proc.returncode})")
            for name, t in json.loads(out.strip().splitlines()[-1]).items():
                best[f][name] = min(best[f].get(name, t), t)
    print("| Idiom | autograd_gpu (ms) |" + (" PyTorch (ms) | ratio |" if "torch" in frameworks else ""))
    print("|---|---|" + ("---|---|" if "torch" in frameworks else ""))
    for name in names:
        ours = best["autograd_gpu"][name] * 1e3
        row = f"| {name} | {ours:.2f} |"
        if "torch" in frameworks:
            theirs = best["torch"][name] * 1e3
            row += f" {theirs:.2f} | {ours / theirs:.2f}x |"
        print(row)


def _idiom_names():
    class _Stub:                        # (the names only: idioms() builds nothing until called)
        def __getattr__(self, _):
            return self
    return list(idioms(_Stub(), 1.0))


def _has_torch():
    try:
        import importlib.util
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2], sys.argv[3].split(","), int(sys.argv[4]), float(sys.argv[5]))
    else:
        main()
