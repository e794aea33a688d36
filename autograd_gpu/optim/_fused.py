"""Fused optimizer updates: each update's NumPy twin (CPU) and CUDA kernel
(GPU), side by side.

An update changes a parameter and its optimizer state in place, element by
element. On the GPU it is ONE `cupy.ElementwiseKernel` launch per parameter
per step, whose math is the function of the same name in `kernels/optim.cuh`.
On the CPU the twin runs the same operations in the same order as NumPy
in-place ufuncs (`out=`), with at most two scratch arrays, so the twin and a
host build of the header agree bit for bit (tests/test_optim_kernels.py).

Half-precision data is computed in float32 (PyTorch's opmath) and rounded
once on store, on both devices. Hyperparameter arithmetic (1 - dampening,
bias corrections) happens in Python doubles before the call, as in PyTorch.
"""
import functools
from collections import namedtuple

import numpy as np

from ..backend import kernel_source
from ..ops import blocked

# ---- the CUDA source ------------------------------------------------------------------

HEADER = "optim.cuh"
# CuPy type of the scalar arguments (the math type) per storage dtype
MATH_TYPE = {"float16": "float32", "float32": "float32", "float64": "float64"}
DTYPES = tuple(MATH_TYPE)
OPTIONS = kernel_source.OPTIONS          # the options of every kernel build


def _kernels_dir():
    return kernel_source.kernels_dir()


@functools.lru_cache(maxsize=None)
def preamble():
    """optim.cuh with its local #includes inlined (NVRTC sees one text)."""
    return kernel_source.inline_headers([HEADER])


# A kernel: its array inputs, scalar inputs ("M": the math type, "bool") and
# in-place arrays (ElementwiseKernel outputs, read then written), in the order
# of the header function's arguments: in-place arrays first, then inputs.
KernelSpec = namedtuple("KernelSpec", "arrays scalars inplace")

KERNELS = {
    "sgd": KernelSpec(("g",), (("lr", "M"), ("weight_decay", "M"), ("maximize", "bool")), ("p",)),
    "sgd_momentum": KernelSpec(
        ("g",),
        (("lr", "M"), ("weight_decay", "M"), ("momentum", "M"), ("keep", "M"), ("nesterov", "bool"),
         ("maximize", "bool"), ("first", "bool")),
        ("p", "buf")),
    "adam": KernelSpec(
        ("g",),
        (("neg_step_size", "M"), ("beta1_weight", "M"), ("beta2", "M"), ("beta2_weight", "M"), ("eps", "M"),
         ("bc2_sqrt", "M"), ("weight_decay", "M"), ("maximize", "bool")),
        ("p", "m", "v")),
    "adam_amsgrad": KernelSpec(
        ("g",),
        (("neg_step_size", "M"), ("beta1_weight", "M"), ("beta2", "M"), ("beta2_weight", "M"), ("eps", "M"),
         ("bc2_sqrt", "M"), ("weight_decay", "M"), ("maximize", "bool")),
        ("p", "m", "v", "v_max")),
}
_ADAMW_SCALARS = (("decay_keep", "M"), ("neg_step_size", "M"), ("beta1_weight", "M"), ("beta2", "M"),
                  ("beta2_weight", "M"), ("eps", "M"), ("bc2_sqrt", "M"), ("maximize", "bool"))
_RMSPROP_SCALARS = (("neg_lr", "M"), ("alpha", "M"), ("alpha_weight", "M"), ("eps", "M"), ("weight_decay", "M"))
KERNELS.update({
    "adamw": KernelSpec(("g",), _ADAMW_SCALARS, ("p", "m", "v")),
    "adamw_amsgrad": KernelSpec(("g",), _ADAMW_SCALARS, ("p", "m", "v", "v_max")),
    "rmsprop": KernelSpec(("g",), _RMSPROP_SCALARS + (("maximize", "bool"),), ("p", "sq")),
    "rmsprop_centered": KernelSpec(("g",), _RMSPROP_SCALARS + (("maximize", "bool"),), ("p", "sq", "ga")),
    "rmsprop_momentum": KernelSpec(("g",), _RMSPROP_SCALARS + (("momentum", "M"), ("maximize", "bool")),
                                   ("p", "sq", "buf")),
    "rmsprop_centered_momentum": KernelSpec(
        ("g",), _RMSPROP_SCALARS + (("momentum", "M"), ("maximize", "bool")), ("p", "sq", "ga", "buf")),
    "adagrad": KernelSpec(("g",), (("neg_clr", "M"), ("eps", "M"), ("weight_decay", "M"), ("maximize", "bool")),
                          ("p", "sum")),
})

ElementwiseDefinition = namedtuple(
    "ElementwiseDefinition", "in_params out_params operation name preamble options")


def kernel_definition(name, dtype):
    """The cupy.ElementwiseKernel arguments of update `name` for parameters of `dtype`."""
    spec = KERNELS[name]
    m = MATH_TYPE[dtype]
    c_math = "float" if m == "float32" else "double"
    in_params = ", ".join([f"{dtype} {a}" for a in spec.arrays]
                          + [f"{m if kind == 'M' else 'bool'} {s}" for s, kind in spec.scalars])
    out_params = ", ".join(f"{dtype} {a}" for a in spec.inplace)
    # load the in-place elements into the math type, update, round once on store
    store = "float16" if dtype == "float16" else c_math
    loads = " ".join(f"{c_math} {a}_m = {c_math}({a});" for a in spec.inplace)
    args = ", ".join([f"{a}_m" for a in spec.inplace] + [f"{c_math}({a})" for a in spec.arrays]
                     + [s for s, _ in spec.scalars])
    stores = " ".join(f"{a} = {store}({a}_m);" for a in spec.inplace)
    operation = f"{loads} ag::optim::{name}<{c_math}>({args}); {stores}"
    return ElementwiseDefinition(in_params, out_params, operation, f"ag_optim_{name}_{dtype}", preamble(),
                                 OPTIONS)


@functools.lru_cache(maxsize=None)
def _cuda_kernel(name, dtype):
    import cupy
    d = kernel_definition(name, dtype)
    return cupy.ElementwiseKernel(d.in_params, d.out_params, d.operation, d.name, preamble=d.preamble,
                                  options=d.options)


def _launch(name, inplace, arrays, scalars):
    """One kernel launch, on the parameter's GPU: the in-place arrays are
    passed as the kernel's outputs (CuPy reads them, then writes them)."""
    import cupy
    kernel = _cuda_kernel(name, inplace[0].dtype.name)
    dev = inplace[0].device.id
    if dev == cupy.cuda.runtime.getDevice():
        kernel(*arrays, *scalars, *inplace)
    else:
        with cupy.cuda.Device(dev):
            kernel(*arrays, *scalars, *inplace)


def warmup_jobs(dtypes):
    """(label, fn) pairs that compile every update kernel for `dtypes` (used by
    ag.cuda.warmup): each launches the kernel on one-element arrays."""
    def job(name, dtype):
        def run():
            import cupy
            spec = KERNELS[name]
            one = lambda: cupy.zeros(1, dtype=dtype)  # noqa: E731
            scalars = [False if kind == "bool" else 0.0 for _, kind in spec.scalars]
            _launch(name, [one() for _ in spec.inplace], [one() for _ in spec.arrays], scalars)
        return run
    return [(f"ag_optim_{name}_{dt}", job(name, dt)) for name in KERNELS for dt in dtypes]


# ---- NumPy twins -------------------------------------------------------------------------

def _opmath(*arrays):
    """float16 arrays as float32 copies (computed in float32, as on the GPU)."""
    return [a.astype(np.float32) for a in arrays]


def _store_back(dst, src):
    for d, s in zip(dst, src):
        d[...] = s


def _direction(p, g, weight_decay, maximize, scratch):
    """decayed_grad: g, -g, or g + weight_decay * p (in `scratch` unless it is g)."""
    if weight_decay != 0:
        d = np.multiply(p, weight_decay, out=scratch)
        return np.subtract(d, g, out=d) if maximize else np.add(g, d, out=d)
    if maximize:
        return np.negative(g, out=scratch)
    return g


def sgd_twin(p, g, lr, weight_decay, maximize):
    s = np.empty_like(p)
    d = _direction(p, g, weight_decay, maximize, s)
    np.add(p, np.multiply(d, -lr, out=s), out=p)


def sgd_momentum_twin(p, buf, g, lr, weight_decay, momentum, keep, nesterov, maximize, first):
    s = np.empty_like(p)
    d = _direction(p, g, weight_decay, maximize, s)
    if first:
        np.copyto(buf, d)
    else:
        np.multiply(buf, momentum, out=buf)
        if keep == 1:
            np.add(buf, d, out=buf)                     # 1 * d is d
        else:
            t = np.multiply(d, keep, out=np.empty_like(p) if d is s else s)
            np.add(buf, t, out=buf)
    if nesterov:
        t = np.multiply(buf, momentum, out=np.empty_like(p) if d is s else s)
        step = np.add(d, t, out=t)
    else:
        step = buf
    np.add(p, np.multiply(step, -lr, out=s), out=p)


def _lerp(m, d, w, t):
    """m = lerp(m, d, w), t a scratch array."""
    np.subtract(d, m, out=t)
    if abs(m.dtype.type(w)) < 0.5:      # decided on the weight in the math type, as the kernel
        np.add(m, np.multiply(t, w, out=t), out=m)
    else:
        one_minus_w = m.dtype.type(1) - m.dtype.type(w)
        np.subtract(d, np.multiply(t, one_minus_w, out=t), out=m)


def _ema_square(v, d, beta, weight, t):
    """v = v * beta + (weight * d) * d, t a scratch array."""
    np.multiply(v, beta, out=v)
    np.multiply(d, weight, out=t)
    np.add(v, np.multiply(t, d, out=t), out=v)


def _addcdiv_step(p, x, k, denom, s):
    """p += (k * x) / denom (s a scratch array, which may be x)."""
    np.multiply(x, k, out=s)
    np.add(p, np.divide(s, denom, out=s), out=p)


def _adam_moments(p, m, v, g, beta1_weight, beta2, beta2_weight, weight_decay, maximize, s, t):
    d = _direction(p, g, weight_decay, maximize, s)
    _lerp(m, d, beta1_weight, t)
    _ema_square(v, d, beta2, beta2_weight, t)


def _adam_step(p, m, v_hat, neg_step_size, eps, bc2_sqrt, s, t):
    denom = np.sqrt(v_hat, out=t)
    np.divide(denom, bc2_sqrt, out=denom)
    np.add(denom, eps, out=denom)
    _addcdiv_step(p, m, neg_step_size, denom, s)


def adam_twin(p, m, v, g, neg_step_size, beta1_weight, beta2, beta2_weight, eps, bc2_sqrt, weight_decay,
              maximize):
    s, t = np.empty_like(p), np.empty_like(p)
    _adam_moments(p, m, v, g, beta1_weight, beta2, beta2_weight, weight_decay, maximize, s, t)
    _adam_step(p, m, v, neg_step_size, eps, bc2_sqrt, s, t)


def adam_amsgrad_twin(p, m, v, v_max, g, neg_step_size, beta1_weight, beta2, beta2_weight, eps, bc2_sqrt,
                      weight_decay, maximize):
    s, t = np.empty_like(p), np.empty_like(p)
    _adam_moments(p, m, v, g, beta1_weight, beta2, beta2_weight, weight_decay, maximize, s, t)
    np.maximum(v_max, v, out=v_max)
    _adam_step(p, m, v_max, neg_step_size, eps, bc2_sqrt, s, t)


def adamw_twin(p, m, v, g, decay_keep, neg_step_size, beta1_weight, beta2, beta2_weight, eps, bc2_sqrt,
               maximize):
    np.multiply(p, decay_keep, out=p)
    adam_twin(p, m, v, g, neg_step_size, beta1_weight, beta2, beta2_weight, eps, bc2_sqrt, 0.0, maximize)


def adamw_amsgrad_twin(p, m, v, v_max, g, decay_keep, neg_step_size, beta1_weight, beta2, beta2_weight, eps,
                       bc2_sqrt, maximize):
    np.multiply(p, decay_keep, out=p)
    adam_amsgrad_twin(p, m, v, v_max, g, neg_step_size, beta1_weight, beta2, beta2_weight, eps, bc2_sqrt, 0.0,
                      maximize)


def _rmsprop(p, sq, ga, buf, g, neg_lr, alpha, alpha_weight, eps, weight_decay, momentum, maximize):
    """Every RMSprop variant: ga is None unless centered, buf None without momentum."""
    s, t = np.empty_like(p), np.empty_like(p)
    d = _direction(p, g, weight_decay, maximize, s)
    _ema_square(sq, d, alpha, alpha_weight, t)
    if ga is None:
        denom = np.sqrt(sq, out=t)
    else:
        _lerp(ga, d, alpha_weight, t)
        denom = np.subtract(sq, np.multiply(ga, ga, out=t), out=t)
        np.sqrt(denom, out=denom)
    np.add(denom, eps, out=denom)
    if buf is None:
        _addcdiv_step(p, d, neg_lr, denom, s)
        return
    np.multiply(buf, momentum, out=buf)
    np.add(buf, np.divide(d, denom, out=denom), out=buf)
    np.add(p, np.multiply(buf, neg_lr, out=t), out=p)


def rmsprop_twin(p, sq, g, neg_lr, alpha, alpha_weight, eps, weight_decay, maximize):
    _rmsprop(p, sq, None, None, g, neg_lr, alpha, alpha_weight, eps, weight_decay, 0.0, maximize)


def rmsprop_centered_twin(p, sq, ga, g, neg_lr, alpha, alpha_weight, eps, weight_decay, maximize):
    _rmsprop(p, sq, ga, None, g, neg_lr, alpha, alpha_weight, eps, weight_decay, 0.0, maximize)


def rmsprop_momentum_twin(p, sq, buf, g, neg_lr, alpha, alpha_weight, eps, weight_decay, momentum, maximize):
    _rmsprop(p, sq, None, buf, g, neg_lr, alpha, alpha_weight, eps, weight_decay, momentum, maximize)


def rmsprop_centered_momentum_twin(p, sq, ga, buf, g, neg_lr, alpha, alpha_weight, eps, weight_decay, momentum,
                                   maximize):
    _rmsprop(p, sq, ga, buf, g, neg_lr, alpha, alpha_weight, eps, weight_decay, momentum, maximize)


def adagrad_twin(p, sum_, g, neg_clr, eps, weight_decay, maximize):
    s, t = np.empty_like(p), np.empty_like(p)
    d = _direction(p, g, weight_decay, maximize, s)
    np.add(sum_, np.multiply(d, d, out=t), out=sum_)
    denom = np.sqrt(sum_, out=t)
    _addcdiv_step(p, d, neg_clr, np.add(denom, eps, out=denom), s)


TWINS = {"sgd": sgd_twin, "sgd_momentum": sgd_momentum_twin, "adam": adam_twin,
         "adam_amsgrad": adam_amsgrad_twin, "adamw": adamw_twin, "adamw_amsgrad": adamw_amsgrad_twin,
         "rmsprop": rmsprop_twin, "rmsprop_centered": rmsprop_centered_twin,
         "rmsprop_momentum": rmsprop_momentum_twin, "rmsprop_centered_momentum": rmsprop_centered_momentum_twin,
         "adagrad": adagrad_twin}


# SGD's few passes run faster over whole arrays than in chunks (momentum, 4 x 1M float32: 3.1 vs 3.9 ms)
_WHOLE = frozenset({"sgd", "sgd_momentum"})


# ---- the entry point ------------------------------------------------------------------------

def update(name, inplace, arrays, scalars, is_cuda):
    """Run update `name` in place on the arrays `inplace` (parameter first,
    then its state), reading `arrays` (the gradient), with `scalars` in the
    order of KERNELS[name].scalars."""
    if is_cuda:
        _launch(name, inplace, arrays, scalars)
        return
    twin = TWINS[name]
    if inplace[0].dtype == np.float16:
        work, ins = _opmath(*inplace), _opmath(*arrays)
        twin(*work, *ins, *scalars)
        _store_back(inplace, work)
    elif inplace[0].size >= blocked.BLOCK and type(inplace[0]) is np.ndarray and name not in _WHOLE:
        blocked.each_chunk(twin, (*inplace, *arrays), scalars)     # (large ones a chunk at a time)
    else:
        twin(*inplace, *arrays, *scalars)
