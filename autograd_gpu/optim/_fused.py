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


def _adam_moments(p, m, v, g, beta1_weight, beta2, beta2_weight, weight_decay, maximize, s, t):
    d = _direction(p, g, weight_decay, maximize, s)
    # m = lerp(m, d, w)
    np.subtract(d, m, out=t)
    if abs(p.dtype.type(beta1_weight)) < 0.5:      # decided on the weight in the math type, as the kernel
        np.add(m, np.multiply(t, beta1_weight, out=t), out=m)
    else:
        one_minus_w = p.dtype.type(1) - p.dtype.type(beta1_weight)
        np.subtract(d, np.multiply(t, one_minus_w, out=t), out=m)
    # v = v * beta2 + (beta2_weight * d) * d
    np.multiply(v, beta2, out=v)
    np.multiply(d, beta2_weight, out=t)
    np.add(v, np.multiply(t, d, out=t), out=v)


def _adam_step(p, m, v_hat, neg_step_size, eps, bc2_sqrt, s, t):
    denom = np.sqrt(v_hat, out=t)
    np.divide(denom, bc2_sqrt, out=denom)
    np.add(denom, eps, out=denom)
    np.multiply(m, neg_step_size, out=s)
    np.add(p, np.divide(s, denom, out=s), out=p)


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


TWINS = {"sgd": sgd_twin, "sgd_momentum": sgd_momentum_twin, "adam": adam_twin,
         "adam_amsgrad": adam_amsgrad_twin}


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
    else:
        twin(*inplace, *arrays, *scalars)
