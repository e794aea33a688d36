"""The workloads W1..W6: their data, and one implementation per framework.

Every implementation exposes the same four steps, which the worker times
separately:

    state = impl.forward()      # forward pass and loss
    impl.backward(state)        # gradients
    impl.update()               # the blog's SGD step + grad zeroing (MLPs), grad reset (others)
    impl.snapshot(state)        # loss and gradients as host NumPy arrays (not timed)

Frameworks:
  numpy         hand-written forward and backward (no autograd): the floor.
                On device "cuda" the same code runs on CuPy arrays.
  autograd_gpu  this package.
  torch         PyTorch, when installed.

Only NumPy is imported here at module level: each worker process imports the
one framework it runs, so its memory figures are its own."""
import math

import numpy as np

FRAMEWORKS = ("numpy", "autograd_gpu", "torch")


class Unavailable(Exception):
    """A framework/device combination that cannot run on this machine."""


# ---- workload definitions ------------------------------------------------------------

class Workload:
    """What to compute and how to measure it.

    family        "mlp", "chain", "tanh_sigmoid" or "classifier" (which implementation classes)
    sizes         family parameters; `scaled` names the ones multiplied by --scale
    per_op        report time per op, dividing by this count (W4), else None
    target        target ratio of autograd_gpu's time to NumPy's (on the CPU)
    gpu_target    on cuda: target ratio of autograd_gpu's time to PyTorch CUDA's
    mem_target    target ratio of autograd_gpu's peak memory increase to NumPy's
    rounds        round-robin rounds of a full run (--quick: 2)
    warmup        untimed iterations before calibration
    """

    def __init__(self, name, title, family, sizes, scaled=(), per_op=None, target=None,
                 mem_target=None, gpu_target=None, rounds=15, warmup=3, rtol=1e-4):
        self.name, self.title, self.family = name, title, family
        self.sizes, self.scaled = dict(sizes), tuple(scaled)
        self.per_op, self.target, self.mem_target = per_op, target, mem_target
        self.gpu_target = gpu_target
        self.rounds, self.warmup, self.rtol = rounds, warmup, rtol

    def sizes_at(self, scale):
        s = dict(self.sizes)
        for k in self.scaled:
            s[k] = max(8, int(round(s[k] * scale)))
        return s

    def describe(self, scale=1.0):
        s = self.sizes_at(scale)
        if self.family == "mlp":
            return f"MLP n={s['n']}, {s['d_in']}→{s['d_hidden']}→{s['d_out']}, one SGD step"
        if self.family == "chain":
            return f"chain of {s['length']} pointwise ops on {s['numel']} elements, fwd+bwd"
        if self.family == "classifier":
            return (f"nn classifier n={s['n']}, {s['d_in']}→{s['d_hidden']}→{s['classes']}: Linear, ReLU, "
                    "CrossEntropyLoss, Adam")
        return f"(x.tanh() * x.sigmoid()).sum() fwd+bwd, {s['numel']:,} elements"

    def make_data(self, scale):
        return MAKE_DATA[self.family](self.sizes_at(scale))


WORKLOADS = {w.name: w for w in [
    Workload("W1", "blog MLP", "mlp",
             dict(n=100, d_in=3, d_hidden=32, d_out=1, lr=1e-4, blog=True),
             target=2.5, gpu_target=1.5, rounds=25, warmup=50),
    Workload("W2", "MLP 64→512→8", "mlp",
             dict(n=10_000, d_in=64, d_hidden=512, d_out=8, lr=None, blog=False), scaled=("n",),
             target=1.10, rounds=20, warmup=3),
    # W3's w1.grad sums 100k float32 products with cancellation: against a float64
    # run, NumPy's own float32 result is 3.7e-4 off and PyTorch's 5.2e-4 (AMD EPYC,
    # 2026-12-03), so two correct float32 results differ by more than 1e-4
    Workload("W3", "MLP 256→1024→16", "mlp",
             dict(n=100_000, d_in=256, d_hidden=1024, d_out=16, lr=None, blog=False), scaled=("n",),
             target=1.10, mem_target=1.2, gpu_target=1.1, rounds=7, warmup=1, rtol=2e-3),
    Workload("W4", "pointwise chain", "chain", dict(length=200, numel=16),
             per_op=200, target=2.5, rounds=25, warmup=20, rtol=1e-3),
    Workload("W5", "tanh·sigmoid", "tanh_sigmoid", dict(numel=10_000_000), scaled=("numel",),
             target=1.15, gpu_target=1.1, rounds=10, warmup=1),
    # not one of issue 6's targets: the blog series' next step (nn modules, a
    # classification loss, an optimizer), timed beside PyTorch for its per-op costs
    Workload("W6", "nn classifier", "classifier", dict(n=64, d_in=20, d_hidden=64, classes=10, lr=1e-3),
             rounds=25, warmup=50),
]}


# ---- data (the same seeded float32 arrays in every process) --------------------------------

SEED = 20201005          # the blog post's date


def _randn(rng, *shape):
    return rng.standard_normal(shape, dtype=np.float32)


def _mlp_data(s):
    rng = np.random.default_rng(SEED)
    n, d_in, d_h, d_out = s["n"], s["d_in"], s["d_hidden"], s["d_out"]
    x = _randn(rng, n, d_in)
    if s["blog"]:
        # the blog's data and initialisation
        y = x[:, 0:1] * 0.2 - x[:, 1:2] * 1.3 - x[:, 2:3] * 0.5 + _randn(rng, n, 1)
        w1, w2 = _randn(rng, d_in, d_h), _randn(rng, d_h, d_out)
        lr = s["lr"]
    else:
        # scaled initialisation and a step size that keep thousands of steps finite
        y = _randn(rng, n, d_out)
        w1 = _randn(rng, d_in, d_h) * np.float32(1 / math.sqrt(d_in))
        w2 = _randn(rng, d_h, d_out) * np.float32(1 / math.sqrt(d_h))
        lr = 1e-2 / n
    return dict(x=x, y=y, w1=w1, w2=w2, b1=np.zeros((1, d_h), np.float32),
                b2=np.zeros((1, d_out), np.float32), lr=lr)


# W4's ops, in a cycle of 8 whose values stay bounded for any length:
# tanh -> (-1.5, 1.5) -> sin -> + 0.1 -> sigmoid (0, 1) -> * c1 (0.5..1) -> exp of
# small values -> + c2 (-1..0), and round again.
CHAIN_CYCLE = (("tanh", None), ("mul_scalar", 1.5), ("sin", None), ("add_scalar", 0.1),
               ("sigmoid", None), ("mul_tensor", "c1"), ("exp", None), ("add_tensor", "c2"))


def chain_ops(length):
    return [CHAIN_CYCLE[i % len(CHAIN_CYCLE)] for i in range(length)]


def _chain_data(s):
    rng = np.random.default_rng(SEED)
    n = s["numel"]
    return dict(x=_randn(rng, n),
                c1=rng.uniform(0.5, 1.0, n).astype(np.float32),
                c2=rng.uniform(-1.0, 0.0, n).astype(np.float32),
                length=s["length"])


def _tanh_sigmoid_data(s):
    rng = np.random.default_rng(SEED)
    return dict(x=_randn(rng, s["numel"]))


def _classifier_data(s):
    rng = np.random.default_rng(SEED)
    n, d_in, d_h, c = s["n"], s["d_in"], s["d_hidden"], s["classes"]

    def uniform(shape, fan_in):             # nn.Linear's initialisation bound
        bound = 1 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(np.float32)
    return dict(x=_randn(rng, n, d_in), y=rng.integers(0, c, n).astype(np.int64),
                w1=uniform((d_h, d_in), d_in), b1=uniform(d_h, d_in),
                w2=uniform((c, d_h), d_h), b2=uniform(c, d_h), lr=s["lr"])


MAKE_DATA = {"mlp": _mlp_data, "chain": _chain_data, "tanh_sigmoid": _tanh_sigmoid_data,
             "classifier": _classifier_data}


# ---- hand-written NumPy (CuPy on cuda) ---------------------------------------------------------

class NumpyMLP:
    """The blog's network with its gradients written out by hand."""

    def __init__(self, data, xp):
        self.xp = xp
        self.x, self.y = xp.asarray(data["x"]), xp.asarray(data["y"])
        self.w1, self.w2 = xp.asarray(data["w1"]), xp.asarray(data["w2"])
        self.b1, self.b2 = xp.asarray(data["b1"]), xp.asarray(data["b2"])
        self.lr = data["lr"]

    def forward(self):
        h = self.xp.maximum(self.x @ self.w1 + self.b1, 0)
        diff = h @ self.w2 + self.b2 - self.y
        loss = (diff ** 2).sum()
        return h, diff, loss

    def backward(self, state):
        h, diff, _ = state
        g_pred = 2 * diff
        self.g_w2 = h.T @ g_pred
        self.g_b2 = g_pred.sum(0, keepdims=True)
        g_h = g_pred @ self.w2.T
        g_h *= h > 0                        # relu's gradient
        self.g_w1 = self.x.T @ g_h
        self.g_b1 = g_h.sum(0, keepdims=True)

    def update(self):
        lr = self.lr
        self.w1 -= lr * self.g_w1
        self.w2 -= lr * self.g_w2
        self.b1 -= lr * self.g_b1
        self.b2 -= lr * self.g_b2

    def snapshot(self, state):
        return {"loss": state[2], "w1.grad": self.g_w1, "w2.grad": self.g_w2,
                "b1.grad": self.g_b1, "b2.grad": self.g_b2}


def _numpy_chain_step(kind, param, xp, consts):
    """(forward, backward) of one chain op; forward returns (value, saved)."""
    if kind == "tanh":
        def fwd(h):
            y = xp.tanh(h)
            return y, y
        return fwd, lambda g, y: g * (1 - y * y)
    if kind == "sin":
        return (lambda h: (xp.sin(h), h)), (lambda g, h: g * xp.cos(h))
    if kind == "sigmoid":
        def fwd(h):
            y = 1 / (1 + xp.exp(-h))
            return y, y
        return fwd, lambda g, y: g * (y * (1 - y))
    if kind == "exp":
        def fwd(h):
            y = xp.exp(h)
            return y, y
        return fwd, lambda g, y: g * y
    k = consts[param] if kind.endswith("_tensor") else param
    if kind.startswith("mul"):
        return (lambda h: (h * k, None)), (lambda g, _: g * k)
    return (lambda h: (h + k, None)), (lambda g, _: g)     # add


class NumpyChain:
    def __init__(self, data, xp):
        self.xp = xp
        self.x = xp.asarray(data["x"])
        consts = {"c1": xp.asarray(data["c1"]), "c2": xp.asarray(data["c2"])}
        self.steps = [_numpy_chain_step(kind, p, xp, consts) for kind, p in chain_ops(data["length"])]

    def forward(self):
        h, saved = self.x, []
        for fwd, _ in self.steps:
            h, s = fwd(h)
            saved.append(s)
        return h.sum(), saved

    def backward(self, state):
        saved = state[1]
        g = self.xp.ones_like(self.x)
        for (_, bwd), s in zip(reversed(self.steps), reversed(saved)):
            g = bwd(g, s)
        self.grad_x = g

    def update(self):
        pass

    def snapshot(self, state):
        return {"loss": state[0], "x.grad": self.grad_x}


class NumpyTanhSigmoid:
    def __init__(self, data, xp):
        self.xp = xp
        self.x = xp.asarray(data["x"])

    def forward(self):
        x = self.x
        t = self.xp.tanh(x)
        s = 1 / (1 + self.xp.exp(-x))
        p = t * s
        return t, s, p, p.sum()

    def backward(self, state):
        t, s, p, _ = state
        # d(t*s)/dx = s * tanh' + t * sigmoid' = s*(1 - t^2) + t*s*(1 - s)
        self.grad_x = s * (1 - t * t) + p * (1 - s)

    def update(self):
        pass

    def snapshot(self, state):
        return {"loss": state[3], "x.grad": self.grad_x}


class NumpyClassifier:
    """Linear, ReLU, Linear, softmax cross-entropy and Adam, written out by hand
    (weights (out, in) as nn.Linear's; Adam as PyTorch's default rule)."""

    def __init__(self, data, xp):
        self.xp = xp
        self.x, self.y = xp.asarray(data["x"]), xp.asarray(data["y"])
        self.params = [xp.asarray(data[k]) for k in ("w1", "b1", "w2", "b2")]
        self.m = [xp.zeros_like(p) for p in self.params]
        self.v = [xp.zeros_like(p) for p in self.params]
        self.rows = xp.arange(self.x.shape[0])
        self.lr, self.t = data["lr"], 0

    def forward(self):
        xp, (w1, b1, w2, b2) = self.xp, self.params
        h = xp.maximum(self.x @ w1.T + b1, 0)
        z = h @ w2.T + b2
        z -= z.max(1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(1, keepdims=True)
        loss = (xp.log(s[:, 0]) - z[self.rows, self.y]).mean()
        return h, e, s, loss

    def backward(self, state):
        h, e, s, _ = state
        w2 = self.params[2]
        g = e / s                               # softmax minus the one-hot target, over n
        g[self.rows, self.y] -= 1
        g /= len(self.rows)
        g_h = g @ w2
        g_h *= h > 0
        self.grads = [g_h.T @ self.x, g_h.sum(0), g.T @ h, g.sum(0)]

    def update(self):
        xp = self.xp
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        step = self.lr / (1 - b1 ** self.t)
        root_c2 = math.sqrt(1 - b2 ** self.t)
        for p, g, m, v in zip(self.params, self.grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            denom = xp.sqrt(v)
            denom /= root_c2
            denom += eps
            p -= step * (m / denom)

    def snapshot(self, state):
        return {"loss": state[3], **{k: g for k, g in zip(("w1.grad", "b1.grad", "w2.grad", "b2.grad"),
                                                              self.grads)}}


# ---- autograd frameworks: autograd_gpu and PyTorch share the code (same API) ------------------

class TensorMLP:
    """The blog's training-loop body, verbatim."""

    def __init__(self, lib, device, data):
        def T(a, rg=False):
            return lib.tensor(a, device=device, requires_grad=rg)
        self.lib = lib
        self.x, self.y = T(data["x"]), T(data["y"])
        self.w1, self.w2 = T(data["w1"], True), T(data["w2"], True)
        self.b1, self.b2 = T(data["b1"], True), T(data["b2"], True)
        self.lr = data["lr"]

    def forward(self):
        y_pred = self.x.mm(self.w1).add(self.b1).clamp(min=0).mm(self.w2).add(self.b2)
        return (y_pred - self.y).pow(2).sum()

    def backward(self, loss):
        loss.backward()

    def update(self):
        lr = self.lr
        with self.lib.no_grad():
            self.w1.sub_(lr * self.w1.grad)
            self.w2.sub_(lr * self.w2.grad)
            self.b1.sub_(lr * self.b1.grad)
            self.b2.sub_(lr * self.b2.grad)
            self.w1.grad.zero_()
            self.w2.grad.zero_()
            self.b1.grad.zero_()
            self.b2.grad.zero_()

    def snapshot(self, loss):
        return {"loss": loss, "w1.grad": self.w1.grad, "w2.grad": self.w2.grad,
                "b1.grad": self.b1.grad, "b2.grad": self.b2.grad}


def _tensor_chain_step(kind, param, consts):
    if kind in ("tanh", "sin", "sigmoid", "exp"):
        method = kind
        return lambda h: getattr(h, method)()
    k = consts[param] if kind.endswith("_tensor") else param
    if kind.startswith("mul"):
        return lambda h: h * k
    return lambda h: h + k


class TensorChain:
    def __init__(self, lib, device, data):
        self.x = lib.tensor(data["x"], device=device, requires_grad=True)
        consts = {c: lib.tensor(data[c], device=device) for c in ("c1", "c2")}
        self.steps = [_tensor_chain_step(kind, p, consts) for kind, p in chain_ops(data["length"])]

    def forward(self):
        h = self.x
        for step in self.steps:
            h = step(h)
        return h.sum()

    def backward(self, loss):
        loss.backward()

    def update(self):
        self.x.grad = None                  # a fresh gradient every iteration, like NumPy's

    def snapshot(self, loss):
        return {"loss": loss, "x.grad": self.x.grad}


class TensorTanhSigmoid:
    def __init__(self, lib, device, data):
        self.x = lib.tensor(data["x"], device=device, requires_grad=True)

    def forward(self):
        x = self.x
        return (x.tanh() * x.sigmoid()).sum()

    def backward(self, loss):
        loss.backward()

    def update(self):
        self.x.grad = None

    def snapshot(self, loss):
        return {"loss": loss, "x.grad": self.x.grad}


class TensorClassifier:
    """The classifier as a PyTorch user writes it: modules, a loss module, an optimizer."""

    def __init__(self, lib, device, data):
        nn = lib.nn
        self.x = lib.tensor(data["x"], device=device)
        self.y = lib.tensor(data["y"], device=device)
        d_h, d_in = data["w1"].shape
        self.model = nn.Sequential(nn.Linear(d_in, d_h), nn.ReLU(), nn.Linear(d_h, data["w2"].shape[0]))
        self.model.to(device)
        with lib.no_grad():
            for name, p in self.model.named_parameters():
                layer, kind = name.split(".")
                key = ("w" if kind == "weight" else "b") + ("1" if layer == "0" else "2")
                p.copy_(lib.tensor(data[key], device=device))
        self.loss_fn = nn.CrossEntropyLoss()
        self.opt = lib.optim.Adam(self.model.parameters(), lr=data["lr"])

    def forward(self):
        return self.loss_fn(self.model(self.x), self.y)

    def backward(self, loss):
        loss.backward()

    def update(self):
        self.opt.step()
        self.opt.zero_grad()

    def snapshot(self, loss):
        first, last = self.model[0], self.model[2]
        return {"loss": loss, "w1.grad": first.weight.grad, "b1.grad": first.bias.grad,
                "w2.grad": last.weight.grad, "b2.grad": last.bias.grad}


NUMPY_IMPLS = {"mlp": NumpyMLP, "chain": NumpyChain, "tanh_sigmoid": NumpyTanhSigmoid,
               "classifier": NumpyClassifier}
TENSOR_IMPLS = {"mlp": TensorMLP, "chain": TensorChain, "tanh_sigmoid": TensorTanhSigmoid,
                "classifier": TensorClassifier}


# ---- making an implementation on a device ----------------------------------------------------

class Runner:
    """An implementation plus what the worker needs around it: a device
    synchronisation, a host conversion for snapshots and the version."""

    def __init__(self, impl, sync, to_host, version):
        self.impl, self.sync, self.to_host, self.version = impl, sync, to_host, version

    def snapshot(self, state):
        return {k: np.asarray(self.to_host(v)) for k, v in self.impl.snapshot(state).items()}


def _cupy():
    try:
        import cupy
    except ImportError as e:
        raise Unavailable(f"CuPy not installed ({e})") from None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise Unavailable("no CUDA device")
    except cupy.cuda.runtime.CUDARuntimeError as e:
        raise Unavailable(f"no usable CUDA device ({e})") from None
    return cupy


def _cupy_sync(cupy):
    # the whole device, whatever streams the library under test launches on
    return cupy.cuda.runtime.deviceSynchronize


def make_runner(workload, framework, device, data):
    family = workload.family
    if framework == "numpy":
        if device == "cpu":
            return Runner(NUMPY_IMPLS[family](data, np), None, lambda a: a, np.__version__)
        cupy = _cupy()
        impl = NUMPY_IMPLS[family](data, cupy)
        return Runner(impl, _cupy_sync(cupy), cupy.asnumpy, f"cupy {cupy.__version__}")
    if framework == "autograd_gpu":
        import autograd_gpu as ag
        sync = None
        if device == "cuda":
            cuda = getattr(ag, "cuda", None)
            if cuda is None or not cuda.is_available():
                raise Unavailable("autograd_gpu: CUDA backend not available")
            sync = _cupy_sync(_cupy())
        impl = TENSOR_IMPLS[family](ag, device, data)
        return Runner(impl, sync, lambda t: t.detach().cpu().numpy(), ag.__version__)
    if framework == "torch":
        try:
            import torch
        except ImportError:
            raise Unavailable("PyTorch not installed") from None
        sync = None
        if device == "cuda":
            if not torch.cuda.is_available():
                raise Unavailable("PyTorch: CUDA not available")
            sync = torch.cuda.synchronize
        impl = TENSOR_IMPLS[family](torch, device, data)
        return Runner(impl, sync, lambda t: t.detach().cpu().numpy(), torch.__version__)
    raise ValueError(f"unknown framework {framework!r}")


def w5_backward_bytes(numel, itemsize=4):
    """Bytes a backward of W5 must move at least, given the forward saved
    tanh(x) and sigmoid(x): read both, write x.grad."""
    return 3 * numel * itemsize
