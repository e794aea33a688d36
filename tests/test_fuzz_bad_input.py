"""Fuzzed bad input for every public op and factory, against PyTorch.

Every op of API.md (and every other public function of `autograd_gpu` and
public Tensor method, so that a new op cannot be forgotten) is called with
combinations drawn from pools of awkward arguments: tensors of every dtype
(float16/32/64, int32/64, bool), 0-d, empty and zero-size-dim shapes,
NaN/inf data, non-leaves, views and expanded tensors; dims out of range or of
the wrong type; bad sizes; wrong argument types. The same call runs on
PyTorch CPU. The verdicts:

* both succeed: the results (and every tensor argument, for in-place ops)
  must match PyTorch's; when the result requires grad, the gradients too;
* ours raises: a RuntimeError / IndexError / TypeError / ValueError of our own
  (no NumPy exception class), whose message names the op, of the same kind as
  PyTorch's when PyTorch raises too; and the failed call changed nothing (data,
  .grad, _version, grad_fn of every tensor argument);
* ours succeeds where PyTorch raises: a failure, unless listed in
  KNOWN_MORE_PERMISSIVE (documented differences).

Calls where ours raises a proper error and PyTorch succeeds (an unsupported
case) are allowed and counted. Separate tests: devices mixed through a
stand-in CUDA backend, and allocations too big for any machine (in a
subprocess with a memory limit: they must fail fast with RuntimeError, not hang
or get OOM-killed). A per-op count of fuzzed calls is printed at the end.
"""
import collections
import inspect
import itertools
import json
import math
import os
import random
import signal
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest

import autograd_gpu as ag
from conftest import report_at_end

torch = pytest.importorskip("torch") if not os.environ.get("CI") else __import__("torch")

PER_FORM = int(os.environ.get("AG_FUZZ_CALLS", "120"))     # calls per op form (subsampled)
SEED = os.environ.get("AG_FUZZ_SEED", "")                   # another sample of the combinations
CALL_SECONDS = 20                                             # a call taking longer is a hang

# ---- the API.md list ------------------------------------------------------------------

API_FUNCTIONS = """
tensor ones zeros full randn rand empty eye arange linspace ones_like zeros_like full_like randn_like
rand_like empty_like from_numpy from_dlpack add sub mul div pow neg matmul mm bmm exp log log1p sqrt
rsqrt square abs sign sin cos tanh sigmoid relu clamp maximum minimum where sum mean prod var std amax
amin max min argmax argmin logsumexp softmax log_softmax norm reshape flatten squeeze unsqueeze
transpose t permute cat stack chunk split eq ne lt le gt ge isnan isfinite all any
""".split()
API_METHODS = """
size dim numel clone detach detach_ requires_grad_ contiguous item tolist to cpu cuda numpy type
__len__ __iter__ __bool__ __float__ __int__ __getitem__ __setitem__
__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __pow__ __rpow__
__matmul__ __neg__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__
add sub mul div pow neg matmul mm bmm exp log log1p sqrt rsqrt square abs sign sin cos tanh sigmoid
relu clamp maximum minimum sum mean prod var std amax amin max min argmax argmin logsumexp softmax
log_softmax norm reshape view flatten squeeze unsqueeze transpose t T permute expand repeat chunk split
eq ne lt le gt ge isnan isfinite all any add_ sub_ mul_ div_ pow_ zero_ fill_ clamp_ copy_ normal_
uniform_
""".split()

# Public names that are not ops on tensor data (nothing to fuzz), with why.
NOT_OPS = {
    "ag.get_default_dtype": "no arguments", "ag.get_printoptions": "no arguments",
    "ag.set_printoptions": "printing (tests/test_printing.py)", "ag.is_grad_enabled": "no arguments",
    "ag.is_tensor": "accepts anything", "ag.manual_seed": "a seed, not an op", "ag.load": "file I/O",
    "ag.initial_seed": "no arguments", "ag.seed": "no arguments", "ag.get_rng_state": "no arguments",
    "ag.set_rng_state": "random state (bad states: tests/test_tensor.py::test_rng_state_round_trip)",
    "ag.save": "file I/O", "Tensor.backward": "autograd (tests/test_autograd_engine.py)",
    "ag.set_anomaly_enabled": "a mode (tests/test_anomaly_mode.py)", "ag.is_anomaly_enabled": "no arguments",
    "ag.is_anomaly_check_nan_enabled": "no arguments",
    "ag.set_default_dtype": "a global setting (tests/test_ops_functional_aliases.py)",
    "ag.get_num_threads": "no arguments", "ag.get_num_interop_threads": "no arguments",
    "ag.set_num_threads": "a global setting (test_threads_are_recorded)",
    "ag.set_num_interop_threads": "a global setting (test_threads_are_recorded)",
    "ag.use_deterministic_algorithms": "a global setting (test_deterministic_flags)",
    "ag.are_deterministic_algorithms_enabled": "no arguments",
    "ag.is_deterministic_algorithms_warn_only_enabled": "no arguments", "ag.is_inference_mode_enabled": "no arguments",
    "Tensor.register_hook": "autograd", "Tensor.retain_grad": "autograd",
    "Tensor.register_post_accumulate_grad_hook": "autograd (tests/test_autograd_api_differential.py)",
    "Tensor.numpy": "conversion (tests/test_tensor.py)", "Tensor.tolist": "conversion",
    "Tensor.data_ptr": "no arguments (tests/test_regressions.py::test_data_ptr_against_pytorch)",
    "Tensor.is_contiguous": "no arguments", "Tensor.is_floating_point": "no arguments",
    "Tensor.element_size": "no arguments", "Tensor.ndimension": "no arguments",
    "Tensor.nelement": "no arguments", "Tensor.type": "conversion", "Tensor.cpu": "no arguments",
    "Tensor.cuda": "devices (test_mixed_devices)", "Tensor.data": "attribute", "Tensor.device": "attribute",
    "Tensor.dtype": "attribute", "Tensor.grad": "attribute", "Tensor.grad_fn": "attribute",
    "Tensor.is_cuda": "attribute", "Tensor.is_leaf": "attribute", "Tensor.ndim": "attribute",
    "Tensor.requires_grad": "attribute", "Tensor.retains_grad": "attribute", "Tensor.shape": "attribute",
    "Tensor.mT": "attribute", "Tensor.detach": "no arguments", "Tensor.detach_": "no arguments",
    "Tensor.dim": "no arguments", "Tensor.numel": "no arguments", "Tensor.clone": "fuzzed as ag.clone",
    "Tensor.contiguous": "no arguments", "Tensor.bool": "dtype casts (fuzzed as Tensor.to)",
    "Tensor.double": "dtype casts", "Tensor.float": "dtype casts", "Tensor.half": "dtype casts",
    "Tensor.int": "dtype casts", "Tensor.long": "dtype casts", "Tensor.short": "dtype casts",
    "Tensor.char": "dtype casts", "Tensor.byte": "dtype casts", "Tensor.get_device": "no arguments",
    "Tensor.__len__": "no arguments",
    "Tensor.__iter__": "no arguments", "Tensor.__bool__": "no arguments", "Tensor.__float__": "no arguments",
    "Tensor.__int__": "no arguments", "Tensor.item": "no arguments",
    # ops/lowlevel.py's switches and getters, the autocast state, and what PyTorch runs on CUDA only
    **{f"ag.{n}": "no arguments" for n in ("get_default_device", "get_deterministic_debug_mode",
                                          "get_float32_matmul_precision", "is_warn_always_enabled",
                                          "init_num_threads", "clear_autocast_cache", "is_autocast_cache_enabled",
                                          "autocast_increment_nesting", "autocast_decrement_nesting")},
    **{f"ag.{n}": "autocast state (tests/test_amp.py)" for n in (
        "get_autocast_dtype", "set_autocast_dtype", "is_autocast_enabled", "set_autocast_enabled",
        "set_autocast_cache_enabled")},
    "ag.vmap": "= ag.func.vmap, a transform (tests/test_func.py)",
    **{f"ag.{n}": "CUDA only in PyTorch (tests/test_lowlevel_functions.py::"
                  "test_sync_batch_norm_pieces_agree_with_native_batch_norm, test_bad_input)"
       for n in ("batch_norm_stats", "batch_norm_elemt", "batch_norm_gather_stats",
                 "batch_norm_gather_stats_with_counts", "batch_norm_backward_reduce", "batch_norm_backward_elemt")},
}

# Where we succeed and PyTorch's Python argument parser raises, on purpose: we are
# lenient about the Python types of arguments whose meaning is clear (keepdim=1,
# dtype="float64", a number where PyTorch insists on a tensor, a Python int beyond
# int64 next to a float tensor). Counted as "ours lenient"; documented in
# docs/nan_semantics.md. Anything else where PyTorch raises and we do not fails.
LENIENT_TORCH_ERRORS = (
    "must be bool, not", "must be torch.dtype, not", "received an invalid combination of arguments",
    "must be Tensor, not", "required positional arguments", "must be tuple of ints, not int",
    "int too big to convert", "Invalid device string", "must be Number, not", "must be int, not bool",
    "Expected one of cpu, cuda", "Boolean alpha only supported", "can't assign a list to",
    "Index put requires the source and destination dtypes match",
)
# Exception kinds that differ from PyTorch's on purpose: other tests pin ours
# (tests/test_errors.py), or we do not support the feature (complex numbers).
KNOWN_KIND_DIFFERENCES = (
    "unsupported norm type",                # ValueError (test_errors.py), PyTorch RuntimeError
    "not complex",                          # no complex support: TypeError, PyTorch computes or NotImplementedError
    "without overflow",                     # a Python int beyond int64 where PyTorch wants a Tensor (TypeError)
    "vector + matrix @ vector expected",    # mv of a 0-d tensor: PyTorch's IndexError is an artifact
    "dtype must be an autograd_gpu dtype",  # x.to("nope"): a string that is no device is taken as a dtype
    "does not support the DLPack protocol",  # TypeError (PyTorch: RuntimeError "invalid capsule")
    "index_select(): index",                # IndexError; PyTorch's kind depends on its kernel path (dim, layout)
)
# ... and where PyTorch has no kernel for a dtype and we compute anyway (integer
# and bool inputs of floating ops compute in float32, bool arithmetic as integers).
LENIENT_DTYPE_ERRORS = (
    "not implemented for", "Expected a floating point or complex tensor", "only support floating point",
    "Boolean inputs not supported", "does not support bool input", "with a bool tensor is not supported",
    "The `+` operator, on a bool tensor",
    "output with shape [] doesn't match the broadcast shape",     # PyTorch's logsumexp(dim=()) bug
)



# ---- argument recipes: the same value built for either library ---------------------

class T:
    """A tensor recipe: dtype, shape, data kind, requires_grad, form."""

    def __init__(self, dtype, shape, data="randn", rg=False, form="leaf"):
        self.dtype, self.shape, self.data, self.rg, self.form = dtype, shape, data, rg, form

    def array(self):
        rng = np.random.default_rng(zlib.crc32(repr((self.dtype, self.shape, self.data)).encode()))
        n = math.prod(self.shape)
        if self.data == "special":
            base = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0, 1e30])
            a = np.resize(base, n)
        elif self.data == "ties":
            a = np.full(n, 0.5)
        elif self.data == "index":             # valid indices into a dim of 2 or more
            a = rng.integers(0, 2, n).astype(float)
        else:
            a = rng.standard_normal(n) * 2
        if self.dtype in ("int32", "int64"):
            a = np.nan_to_num(np.round(a), nan=0, posinf=7, neginf=-7).clip(-7, 7)
        elif self.dtype == "bool":
            a = np.nan_to_num(a) > 0
        return a.reshape(self.shape).astype(self.dtype)

    def make(self, lib):
        a = self.array()
        if self.form == "expanded":
            a = a[..., :1]
        dt = getattr(lib, self.dtype)
        t = lib.tensor(a.tolist(), dtype=dt) if a.size else lib.zeros(a.shape, dtype=dt)
        if self.rg:
            t.requires_grad_()
        if self.form == "nonleaf":
            t = t * 1 if self.dtype != "bool" else t
        elif self.form == "view":
            t = t.transpose(0, -1) if t.dim() >= 2 else t[...]
        elif self.form == "expanded":
            t = (t * 1 if self.rg else t).expand(*self.shape)
        return t

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in (("data", self.data), ("rg", self.rg), ("form", self.form))
                        if v != {"data": "randn", "rg": False, "form": "leaf"}[k])
        return f"T({self.dtype!r}, {self.shape!r}{extra})"


class D:
    """A dtype recipe."""

    def __init__(self, name):
        self.name = name

    def make(self, lib):
        return getattr(lib, self.name)

    def __repr__(self):
        return f"D({self.name})"


class Lst:
    """A list of recipes (cat/stack inputs, size tuples with tensors in them)."""

    def __init__(self, *items):
        self.items = items

    def make(self, lib):
        return [build(i, lib) for i in self.items]

    def __repr__(self):
        return f"[{', '.join(map(repr, self.items))}]"


def build(recipe, lib):
    return recipe.make(lib) if isinstance(recipe, (T, D, Lst)) else recipe


TENSORS = [
    T("float32", (2, 3), rg=True), T("float64", (3,), rg=True), T("float32", (), rg=True),
    T("float32", (2, 1, 3)), T("float32", (0,)), T("float32", (2, 0), rg=True),
    T("float64", (2, 3), data="special", rg=True), T("float64", (2, 3), rg=True, form="nonleaf"),
    T("float32", (3, 2), form="view"), T("float32", (2, 3), rg=True, form="expanded"), T("float32", (1,)),
    T("float16", (2, 3)), T("int64", (2, 3)), T("int32", (3,)), T("bool", (2, 3)), T("int64", ()),
    T("float64", (3, 3), data="ties", rg=True), T("float64", (4, 3, 2), rg=True),
]
FLOATS = [t for t in TENSORS if t.dtype.startswith("float")]
IP_TENSORS = [T("float32", (2, 3))] + TENSORS          # in-place ops: a base call that is valid
JUNK = ["a", None, [1, 2], (1,), {"k": 1}, object(), np.float64(1.5), 1.5 + 2j]
NUMBERS = [2, -1.5, 0, True, math.nan, math.inf, -math.inf, 2 ** 70, np.float32(2.5), np.int64(3)]
OPERANDS = TENSORS + NUMBERS + JUNK
DIMS = [0, 1, -1, 2, 3, -4, 1.5, "a", None, (0, 1), (0, 0), [1], True, (), (5,)]
DIM1 = [0, 1, -1, 2, 3, -4, 1.5, "a", None, True, (0,)]
BOOLS = [True, False, 1, "yes", None]
DTYPES = [D("float32"), D("float64"), D("float16"), D("int64"), D("int32"), D("bool"), None, "float64", "nope", 3]
SIZES = [(2, 3), (6,), (-1,), (3, -1), (-1, -1), (7,), (0,), (2.5,), ("a",), (-2, 3), (), (1, 1, 6, 1),
         (2 ** 62, 2 ** 62), ([2, 3],), ((2, 3),), (None,)]
FACTORY_SIZES = [(2, 3), (0,), (), (-1,), (2.5,), ("a",), ((2, 3),), ([2, 0],), (None,), (True,), (3, -2),
                 (np.int64(2),)]
INDICES = [0, -1, 5, (0, 0), (0, 0, 0, 0), slice(None, None, -1), slice(1, None), None, Ellipsis, [0, 1], [5],
           [[0], [1]], [], T("int64", ()), T("float32", (2,)), T("bool", (2, 3)), T("bool", (5,)), "a", 1.5,
           (Ellipsis, Ellipsis), True, (slice(None), [0, 0]), (None, 0), Lst(T("int64", (2,))),
           T("int64", (2, 2)), (0, slice(None), None)]


# ---- the specs: op name -> forms (name, call) and argument pools ------------------------

def f32(*shape, **kw):
    return T("float32", shape, **kw)


def f64(*shape, **kw):
    return T("float64", shape, **kw)


def odd_dtypes(*shape):
    """A float16, an integer and a bool tensor of one shape (for the dtype refusals)."""
    return [T("float16", shape), T("int64", shape), T("bool", shape)]


def ag_form(name):
    """The form ag.<name>(*args) (torch.<name> on PyTorch's side)."""
    return (f"ag.{name}", lambda L, *a: getattr(L, name)(*a))


def S(forms, *pools, random_values=False, msg=None, no_grad_check=False, base=None):
    """An op: its forms [(name, call(lib, *args))], one argument pool per argument.
    `base` is a valid call (by default the first entry of each pool); the
    single-fault calls vary one argument of it over its pool."""
    return dict(names=forms, pools=pools, random_values=random_values, msg=msg, no_grad_check=no_grad_check,
                base=base)


def _binary(name, fn_name=None, op=None, rop=None, method=True):
    forms = []
    if fn_name:
        forms.append((f"ag.{fn_name}", lambda L, a, b, f=fn_name: getattr(L, f)(a, b)))
    if method:
        forms.append((f"Tensor.{name}", lambda L, a, b, f=name: getattr(a, f)(b)))
    if op:
        forms.append((f"Tensor.__{op}__", lambda L, a, b, o=op: getattr(a, f"__{o}__")(b)))
    if rop:
        forms.append((f"Tensor.__r{op}__", lambda L, a, b, o=op: getattr(a, f"__r{o}__")(b)))
    return forms


SPECS = {
    # arithmetic
    "add": S(_binary("add", "add", "add", True) + [("Tensor.__iadd__", lambda L, a, b: a.clone().__iadd__(b))],
             TENSORS, OPERANDS),
    "add(alpha)": S([("ag.add(alpha)", lambda L, a, b, al: L.add(a, b, alpha=al))], FLOATS[:6], FLOATS[:6] + [2],
                    [2, 0.5, "a", None, True], msg="add"),
    "sub": S(_binary("sub", "sub", "sub", True) + [("Tensor.__isub__", lambda L, a, b: a.clone().__isub__(b)),
                                                  ("Tensor.subtract", lambda L, a, b: a.subtract(b)),
                                                  ("ag.rsub", lambda L, a, b: L.rsub(a, b))], TENSORS, OPERANDS),
    "mul": S(_binary("mul", "mul", "mul", True) + [("Tensor.__imul__", lambda L, a, b: a.clone().__imul__(b)),
                                                  ("Tensor.multiply", lambda L, a, b: a.multiply(b))],
             TENSORS, OPERANDS),
    "div": S(_binary("div", "div", "truediv", True) + [
        ("Tensor.__itruediv__", lambda L, a, b: a.clone().__itruediv__(b)),
        ("Tensor.divide", lambda L, a, b: a.divide(b)), ("Tensor.true_divide", lambda L, a, b: a.true_divide(b))],
        TENSORS, OPERANDS),
    "pow": S(_binary("pow", "pow", "pow", True), TENSORS, OPERANDS),
    "neg": S([("ag.neg", lambda L, a: L.neg(a)), ("Tensor.neg", lambda L, a: a.neg()),
              ("Tensor.__neg__", lambda L, a: -a), ("Tensor.negative", lambda L, a: a.negative()),
              ("Tensor.__pos__", lambda L, a: +a)], TENSORS),
    "maximum": S(_binary("maximum", "maximum"), TENSORS, OPERANDS),
    "minimum": S(_binary("minimum", "minimum"), TENSORS, OPERANDS),
    "matmul": S(_binary("matmul", "matmul", "matmul", True), TENSORS, TENSORS + JUNK[:3] + [2],
                base=(TENSORS[0], TENSORS[8]), msg=("matmul", "mm", "mv", "dot", "bmm")),
    "mm": S(_binary("mm", "mm"), TENSORS, TENSORS + JUNK[:2], base=(TENSORS[0], TENSORS[8])),
    "bmm": S(_binary("bmm", "bmm"), TENSORS + [T("float32", (2, 3, 4))],
             TENSORS + [T("float32", (2, 4, 2)), T("float64", (2, 4, 2))],
             base=(T("float32", (2, 3, 4)), T("float32", (2, 4, 2)))),
    "dot": S(_binary("dot", "dot"), TENSORS, TENSORS, base=(TENSORS[1], TENSORS[1])),
    "mv": S(_binary("mv", "mv"), TENSORS, TENSORS, base=(T("float32", (2, 3)), T("float32", (3,)))),
    # comparison and logic
    **{c: S(_binary(c, c, c), TENSORS, OPERANDS) for c in ("eq", "ne", "lt", "le", "gt", "ge")},
    **{c: S(_binary(c, c), TENSORS, OPERANDS) for c in ("logical_and", "logical_or", "logical_xor")},
    "logical_not": S([("ag.logical_not", lambda L, a: L.logical_not(a)),
                      ("Tensor.logical_not", lambda L, a: a.logical_not())], TENSORS),
    "bitwise": S([("Tensor.__and__", lambda L, a, b: a & b), ("Tensor.__or__", lambda L, a, b: a | b),
                  ("Tensor.__xor__", lambda L, a, b: a ^ b), ("Tensor.__invert__", lambda L, a, b: ~a)],
                 TENSORS, TENSORS + [True, 1]),
    **{c: S([(f"ag.{c}", lambda L, a, c=c: getattr(L, c)(a)), (f"Tensor.{c}", lambda L, a, c=c: getattr(a, c)())],
            TENSORS) for c in ("isnan", "isfinite", "isinf")},
    # pointwise
    **{u: S([(f"ag.{u}", lambda L, a, u=u: getattr(L, u)(a)), (f"Tensor.{u}", lambda L, a, u=u: getattr(a, u)()),
             (f"Tensor.{u}_", lambda L, a, u=u: getattr(a, u + "_")())], IP_TENSORS + JUNK[:1])
       for u in ("exp", "log", "log1p", "sqrt", "rsqrt", "square", "abs", "sign", "sin", "cos", "tanh",
                 "sigmoid", "relu", "floor", "ceil", "round", "trunc", "tan", "asin", "acos", "atan", "sinh", "cosh",
                 "expm1", "log2", "log10", "reciprocal", "erf", "erfc", "erfinv")},
    "round(decimals)": S([("ag.round(decimals)", lambda L, a, d: L.round(a, decimals=d)),
                          ("Tensor.round(decimals)", lambda L, a, d: a.round(decimals=d))],
                         TENSORS, [1, -1, 0, 3, 1.5, "a", None], msg="round"),
    "abs (aliases)": S([("Tensor.absolute", lambda L, a: a.absolute()), ("Tensor.__abs__", lambda L, a: abs(a))],
                       TENSORS, msg="abs"),
    "neg_": S([("Tensor.neg_", lambda L, a: a.neg_())], TENSORS, msg="neg"),
    # comparisons in place (on a clone: the pools' leaves may require grad), their aliases named by the op
    **{f"{c}_": S([(f"Tensor.{n}_", lambda L, a, b, n=n: getattr(a.clone(), n + "_")(b)) for n in names],
                  TENSORS, OPERANDS, msg=(c,) + names)
       for c, names in (("eq", ("eq",)), ("ne", ("ne", "not_equal")), ("lt", ("lt", "less")),
                        ("le", ("le", "less_equal")), ("gt", ("gt", "greater")), ("ge", ("ge", "greater_equal")))},
    **{f"{c}_": S([(f"Tensor.{c}_", lambda L, a, k, c=c: getattr(a.clone(), c + "_")(k))],
                  TENSORS, [0, 1, -1, 5, -5, 1.5, "a", None, True], msg=c) for c in ("tril", "triu")},
    "cumsum_": S([("Tensor.cumsum_", lambda L, a, d: a.clone().cumsum_(d))], TENSORS, DIM1, msg="cumsum"),
    "fill_diagonal_": S([("Tensor.fill_diagonal_", lambda L, a, v, w: a.clone().fill_diagonal_(v, wrap=w))],
                        TENSORS, [1.5, 0, -2, True, 1e40, "a", None], BOOLS),
    "remainder_": S([("Tensor.remainder_", lambda L, a, b: a.clone().remainder_(b))], TENSORS, OPERANDS,
                    msg="remainder"),
    "clamp": S([("ag.clamp", lambda L, a, lo, hi: L.clamp(a, lo, hi)),
                ("Tensor.clamp", lambda L, a, lo, hi: a.clamp(min=lo, max=hi)),
                ("Tensor.clip", lambda L, a, lo, hi: a.clip(lo, hi)),
                ("Tensor.clamp_", lambda L, a, lo, hi: a.clamp_(lo, hi))],
               IP_TENSORS, [None, 0, -1.5, math.nan, T("float32", (3,)), "a", True, T("int64", ())],
               [None, 1, 0.5, -math.inf, T("float64", (2, 1)), [1]]),
    "clamp_min/max": S([("ag.clamp_min", lambda L, a, b: L.clamp_min(a, b)),
                        ("ag.clamp_max", lambda L, a, b: L.clamp_max(a, b)),
                        ("Tensor.clamp_min", lambda L, a, b: a.clamp_min(b)),
                        ("Tensor.clamp_max", lambda L, a, b: a.clamp_max(b)),
                        ("Tensor.clamp_min_", lambda L, a, b: a.clamp_min_(b)),
                        ("Tensor.clamp_max_", lambda L, a, b: a.clamp_max_(b))],
                       IP_TENSORS, [0, -1.5, math.nan, None, "a", T("float32", (3,))], msg="clamp"),
    "masked_fill": S([("Tensor.masked_fill", lambda L, a, m, v: a.masked_fill(m, v)),
                      ("Tensor.masked_fill_", lambda L, a, m, v: a.clone().masked_fill_(m, v))],
                     TENSORS[:10], [T("bool", (2, 3)), T("bool", ()), T("bool", (3,)), T("bool", (4, 2, 3)),
                                    T("float32", (2, 3)), T("bool", (0,)), "a", None],
                     [0, 1.5, -1, math.nan, math.inf, True, T("float64", ()), T("float32", (3,)), "a", None]),
    "where": S([("ag.where", lambda L, c, a, b: L.where(c, a, b)),
                ("Tensor.where", lambda L, c, a, b: a.where(c, b))],
               [T("bool", (2, 3)), T("bool", ()), T("bool", (3,)), T("float32", (2, 3)), T("int64", (2, 3)),
                T("bool", (0,)), "a", None],
               TENSORS[:10] + [2, 1.5, "a"], TENSORS[:10] + [0, -1, None]),
    # reductions
    **{r: S([(f"ag.{r}", lambda L, a, d, k, r=r: getattr(L, r)(a, d, k) if d is not None else getattr(L, r)(a)),
             (f"Tensor.{r}", lambda L, a, d, k, r=r: getattr(a, r)(dim=d, keepdim=k) if d is not None
              else getattr(a, r)())], TENSORS + JUNK[:1], DIMS, BOOLS)
       for r in ("sum", "mean", "amax", "amin", "logsumexp", "norm")},
    "sum/mean(dtype)": S([("ag.sum(dtype)", lambda L, a, dt: L.sum(a, dtype=dt)),
                          ("Tensor.mean(dtype)", lambda L, a, dt: a.mean(dtype=dt))], TENSORS, DTYPES,
                         msg=("sum", "mean", "dtype")),
    "prod": S([("ag.prod", lambda L, a, d, k: L.prod(a, d, k) if d is not None else L.prod(a)),
               ("Tensor.prod", lambda L, a, d, k: a.prod(d, keepdim=k) if d is not None else a.prod())],
              TENSORS, DIM1, BOOLS),
    **{r: S([(f"ag.{r}", lambda L, a, d, u, k, r=r: getattr(L, r)(a, d, unbiased=u, keepdim=k)),
             (f"Tensor.{r}(correction)", lambda L, a, d, u, k, r=r: getattr(a, r)(d, correction=u, keepdim=k))],
            TENSORS, DIMS, [True, False, 0, 2, "a"], BOOLS[:3]) for r in ("var", "std")},
    **{r: S([(f"ag.{r}", lambda L, a, d, k, r=r: getattr(L, r)(a, d, k) if d is not None else getattr(L, r)(a)),
             (f"Tensor.{r}", lambda L, a, d, k, r=r: getattr(a, r)(d, keepdim=k) if d is not None
              else getattr(a, r)())], TENSORS, DIM1, BOOLS) for r in ("max", "min", "argmax", "argmin")},
    "max/min(other)": S([("ag.max(other)", lambda L, a, b: L.max(a, b)), ("Tensor.min(other)", lambda L, a, b: a.min(b))],
                        TENSORS, TENSORS[:8], msg=("max", "min", "maximum", "minimum")),
    **{r: S([(f"ag.{r}", lambda L, a, d, r=r: getattr(L, r)(a, d)), (f"Tensor.{r}", lambda L, a, d, r=r: getattr(a, r)(d))],
            TENSORS, DIM1) for r in ("softmax", "log_softmax")},
    "softmax(dtype)": S([("ag.softmax(dtype)", lambda L, a, dt: L.softmax(a, -1, dtype=dt))], TENSORS, DTYPES,
                        msg="softmax"),
    "norm(p)": S([("ag.norm(p)", lambda L, a, p, d: L.norm(a, p, d)), ("Tensor.norm(p)", lambda L, a, p, d: a.norm(p=p, dim=d))],
                 TENSORS, [2, 1, 0, 3, math.inf, -math.inf, "fro", "nuc", "a", None, 0.5, -1], [None, 0, -1, 5, (0, 1)],
                 msg="norm"),
    **{r: S([(f"ag.{r}", lambda L, a, d, k, r=r: getattr(L, r)(a, d, k) if d is not None else getattr(L, r)(a)),
             (f"Tensor.{r}", lambda L, a, d, k, r=r: getattr(a, r)(d, keepdim=k) if d is not None
              else getattr(a, r)())], TENSORS, DIM1, BOOLS) for r in ("all", "any")},
    # shape
    **{v: S([(f"Tensor.{v}", lambda L, a, s, v=v: getattr(a, v)(*s))]
            + ([(f"ag.{v}", lambda L, a, s, v=v: getattr(L, v)(a, s))] if v == "reshape" else []),
            TENSORS, SIZES) for v in ("reshape", "view", "expand", "repeat")},
    "permute": S([("Tensor.permute", lambda L, a, s: a.permute(*s)), ("ag.permute", lambda L, a, s: L.permute(a, s))],
                 TENSORS, [(1, 0), (0,), (), (2, 0, 1), (0, 0), (0, 5), (-1, 0), ("a",), (1.5, 0)]),
    "view_as/reshape_as/expand_as": S([("Tensor.view_as", lambda L, a, b: a.view_as(b)),
                                       ("Tensor.reshape_as", lambda L, a, b: a.reshape_as(b)),
                                       ("Tensor.expand_as", lambda L, a, b: a.expand_as(b))], TENSORS, TENSORS,
                                      msg=("view", "reshape", "expand", "shape", "size")),
    "flatten": S([("ag.flatten", lambda L, a, s, e: L.flatten(a, s, e)), ("Tensor.flatten", lambda L, a, s, e: a.flatten(s, e))],
                 TENSORS, [0, 1, -1, 3, "a"], [-1, 0, 2, -5, None]),
    "unflatten": S([("Tensor.unflatten", lambda L, a, d, s: a.unflatten(d, s))], TENSORS, [0, -1, 3, "a"],
                   [(3, 1), (-1,), (2, -1), (5,), (0,), "a"]),
    "squeeze": S([("ag.squeeze", lambda L, a, d: L.squeeze(a, d) if d is not None else L.squeeze(a)),
                  ("Tensor.squeeze", lambda L, a, d: a.squeeze(d) if d is not None else a.squeeze())],
                 TENSORS, DIMS),
    "unsqueeze": S([("ag.unsqueeze", lambda L, a, d: L.unsqueeze(a, d)), ("Tensor.unsqueeze", lambda L, a, d: a.unsqueeze(d))],
                   TENSORS, DIM1 + [4, -5]),
    "transpose": S([("ag.transpose", lambda L, a, d0, d1: L.transpose(a, d0, d1)),
                    ("Tensor.transpose", lambda L, a, d0, d1: a.transpose(d0, d1)),
                    ("Tensor.swapaxes", lambda L, a, d0, d1: a.swapaxes(d0, d1)),
                    ("Tensor.swapdims", lambda L, a, d0, d1: a.swapdims(d0, d1))], TENSORS, DIM1, [0, -1, 3, "b"]),
    "movedim": S([("ag.movedim", lambda L, a, s, d: L.movedim(a, s, d)), ("Tensor.movedim", lambda L, a, s, d: a.movedim(s, d)),
                  ("Tensor.moveaxis", lambda L, a, s, d: a.moveaxis(s, d))], TENSORS, DIM1, [0, -1, 3, (0, 1), "b"]),
    "t": S([("ag.t", lambda L, a: L.t(a)), ("Tensor.t", lambda L, a: a.t()), ("Tensor.T", lambda L, a: a.T)], TENSORS),
    "cat": S([("ag.cat", lambda L, ts, d: L.cat(ts, d)), ("ag.concat", lambda L, ts, d: L.concat(ts, d))],
             [Lst(T("float32", (2, 3)), T("float32", (1, 3))), Lst(T("float32", (2, 3)), T("float64", (2, 3))),
              Lst(T("float32", (2, 3)), T("float32", (3,))), Lst(T("float32", (2, 3)), T("float32", (0,))),
              Lst(T("float32", ()), T("float32", ())), Lst(), Lst(T("float32", (2, 3)), 1), T("float32", (2, 3)),
              "a", Lst(T("int64", (2, 3)), T("bool", (2, 3))), Lst(T("float32", (2, 3), rg=True))], DIM1,
             msg="cat"),
    "stack": S([("ag.stack", lambda L, ts, d: L.stack(ts, d))],
               [Lst(T("float32", (2, 3)), T("float32", (2, 3))), Lst(T("float32", (2, 3)), T("float32", (3, 2))),
                Lst(T("float32", ()), T("float64", ())), Lst(), Lst(T("float32", (2,)), "a"), "a",
                Lst(T("float32", (0,)), T("float32", (0,)))], DIM1 + [2, -3]),
    "chunk": S([("ag.chunk", lambda L, a, c, d: L.chunk(a, c, d)), ("Tensor.chunk", lambda L, a, c, d: a.chunk(c, d))],
               TENSORS, [1, 2, 3, 0, -1, 2.5, "a"], DIM1),
    "split": S([("ag.split", lambda L, a, s, d: L.split(a, s, d)), ("Tensor.split", lambda L, a, s, d: a.split(s, d))],
               TENSORS, [1, 2, 0, -1, [1, 2], [3], [-1, 4], "a", 1.5], DIM1),
    "unbind": S([("ag.unbind", lambda L, a, d: L.unbind(a, d)), ("Tensor.unbind", lambda L, a, d: a.unbind(d))],
                TENSORS, DIM1),
    "remainder": S(_binary("remainder", "remainder", "mod", True), TENSORS, OPERANDS, msg=("remainder", "mod")),
    "floor_divide": S(_binary("floor_divide", "floor_divide", "floordiv", True), TENSORS, OPERANDS,
                      msg=("floor_divide", "floordiv")),
    "sort": S([("ag.sort", lambda L, a, d, desc: tuple(L.sort(a, d, desc))),
               ("Tensor.sort", lambda L, a, d, desc: tuple(a.sort(d, descending=desc)))], TENSORS, DIM1, BOOLS),
    "topk": S([("ag.topk", lambda L, a, k, d, lg: tuple(L.topk(a, k, d, lg))),
               ("Tensor.topk", lambda L, a, k, d, lg: tuple(a.topk(k, dim=d, largest=lg)))],
              TENSORS, [1, 0, 2, 3, -1, 1.5, "a", None], DIM1, BOOLS),
    **{c: S([(f"ag.{c}", lambda L, a, k, c=c: getattr(L, c)(a, k)), (f"Tensor.{c}", lambda L, a, k, c=c: getattr(a, c)(k))],
            TENSORS, [0, 1, -1, 5, -5, 1.5, "a", None, True]) for c in ("tril", "triu")},
    "gather": S([("ag.gather", lambda L, a, d, i: L.gather(a, d, i)), ("Tensor.gather", lambda L, a, d, i: a.gather(d, i))],
                [T("float32", (2, 3), rg=True)] + TENSORS, DIM1,
                [T("int64", (2, 2), data="index"), T("int64", (2, 3)), T("int32", (3,)), T("int64", ()),
                 T("float32", (2, 3)), T("bool", (2, 3)), "a", None, [[0]]]),
    "index_select": S([("ag.index_select", lambda L, a, d, i: L.index_select(a, d, i)),
                       ("Tensor.index_select", lambda L, a, d, i: a.index_select(d, i))],
                      [T("float32", (2, 3), rg=True)] + TENSORS, DIM1,
                      [T("int64", (2,), data="index"), T("int64", ()), T("int32", (3,)), T("int64", (2, 3)),
                       T("float32", (2,)), "a", None, [0]]),
    "atan2": S([("ag.atan2", lambda L, a, b: L.atan2(a, b)), ("Tensor.atan2", lambda L, a, b: a.atan2(b)),
                ("ag.arctan2", lambda L, a, b: L.arctan2(a, b)), ("Tensor.arctan2", lambda L, a, b: a.arctan2(b)),
                ("Tensor.atan2_", lambda L, a, b: a.clone().atan2_(b)),
                ("Tensor.arctan2_", lambda L, a, b: a.clone().arctan2_(b))], TENSORS, OPERANDS,
               msg=("atan2", "arctan2")),
    "median": S([("ag.median", lambda L, a: L.median(a)), ("Tensor.median", lambda L, a: a.median()),
                 ("Tensor.median(dim)", lambda L, a: tuple(a.median(0))), ("ag.median(dim)", lambda L, a: tuple(L.median(a, -1, True)))],
                # (no expanded inputs: PyTorch 2.13's CPU median(dim) of one reads garbage, e.g.
                # tensor([[-2.5], [0.2]]).expand(2, 3).median(-1) gives [0.2, 0.2] or [0.0, 1.3e-41];
                # ours gives [-2.5, 0.2], as for its contiguous copy: test_median_of_an_expanded_tensor)
                [t for t in TENSORS if t.form != "expanded"]),
    "unique": S([("ag.unique", lambda L, a, ri, rc, d: L.unique(a, return_inverse=ri, return_counts=rc, dim=d)),
                 ("Tensor.unique", lambda L, a, ri, rc, d: a.unique(return_inverse=ri, return_counts=rc, dim=d))],
                # (no NaN data: PyTorch's unique(dim=...) sorts NaN slices to no defined place)
                [t for t in TENSORS if t.data != "special"], BOOLS, BOOLS, [None] + DIM1, no_grad_check=True),
    "repeat_interleave": S([("ag.repeat_interleave", lambda L, a, r, d: L.repeat_interleave(a, r, d)),
                            ("Tensor.repeat_interleave", lambda L, a, r, d: a.repeat_interleave(r, dim=d))],
                           [T("float32", (2, 3), rg=True)] + TENSORS,
                           [2, 0, -1, 1.5, True, T("int64", (2,), data="index"), T("int64", ()), T("int32", (3,)),
                            T("float32", (2,)), T("int64", (2, 2)), "a", None], [None] + DIM1),
    "lerp": S([("ag.lerp", lambda L, a, b, w: L.lerp(a, b, w)), ("Tensor.lerp", lambda L, a, b, w: a.lerp(b, w)),
               ("Tensor.lerp_", lambda L, a, b, w: a.clone().lerp_(b, w))],
              [T("float32", (2, 3), rg=True)] + TENSORS, [T("float32", (2, 3), rg=True)] + TENSORS,
              [0.3, 0.75, -1, True, math.nan, 1e300, T("float32", (3,), rg=True), T("float64", ()), "a", None]),
    "einsum": S([("ag.einsum", lambda L, eq, a, b: L.einsum(eq, a, b)),
                 ("ag.einsum(list)", lambda L, eq, a, b: L.einsum(eq, [a, b]))],
                ["ij,jk->ik", "ij,jk", "ii,i", "i,j->ij", "...j,j->...", "ij,jk->ikk", "ij,j1", "i.j,k", "ij->ik",
                 "ij", "ijk,k", 3, None],
                [T("float32", (2, 3), rg=True)] + TENSORS, [T("float32", (3, 2), rg=True)] + TENSORS),
    "masked_select": S([("ag.masked_select", lambda L, a, k: L.masked_select(a, k)),
                        ("Tensor.masked_select", lambda L, a, k: a.masked_select(k))],
                       [T("float32", (2, 3), rg=True)] + TENSORS,
                       [T("bool", (2, 3)), T("bool", ()), T("bool", (3,)), T("bool", (4, 2, 3)), T("float32", (2, 3)),
                        T("uint8", (2, 3)), T("bool", (0,)), "a", None, True]),
    "diagonal": S([("ag.diagonal", lambda L, a, o, d1, d2: L.diagonal(a, o, d1, d2)),
                   ("Tensor.diagonal", lambda L, a, o, d1, d2: a.diagonal(o, d1, d2))],
                  [T("float32", (2, 3), rg=True)] + TENSORS, [0, 1, -1, 5, 1.5, "a", None], DIM1, [1, 0, -1, 2, None]),
    "diag_embed": S([("ag.diag_embed", lambda L, a, o, d1, d2: L.diag_embed(a, o, d1, d2)),
                     ("Tensor.diag_embed", lambda L, a, o, d1, d2: a.diag_embed(o, d1, d2))],
                    [T("float32", (2, 3), rg=True)] + TENSORS, [0, 1, -2, 1.5, "a", None], [-2, 0, 1, 2, 3, -4, None],
                    [-1, 0, 1, 2, None]),
    "diag": S([("ag.diag", lambda L, a, k: L.diag(a, k)), ("Tensor.diag", lambda L, a, k: a.diag(k))],
              [T("float32", (3,), rg=True)] + TENSORS, [0, 1, -2, 5, 1.5, "a", None, True]),
    "trace": S([("ag.trace", lambda L, a: L.trace(a)), ("Tensor.trace", lambda L, a: a.trace())],
               [T("float32", (2, 3), rg=True)] + TENSORS),
    "scatter": S([("ag.scatter", lambda L, a, d, i, s: L.scatter(a, d, i, s)),
                  ("Tensor.scatter", lambda L, a, d, i, s: a.scatter(d, i, s)),
                  ("Tensor.scatter_", lambda L, a, d, i, s: a.clone().scatter_(d, i, s))],
                 [T("float32", (2, 3), rg=True)] + TENSORS[:10], DIM1,
                 [T("int64", (2, 2), data="index"), T("int64", (2, 3)), T("int32", (1, 3)), T("int64", ()),
                  T("int64", (0,)), T("float32", (2, 2)), "a", None, [[0]]],
                 [T("float32", (2, 2), rg=True), T("float32", (3, 3)), T("float64", (2, 2)), T("float32", (2,)),
                  T("float32", ()), T("int64", (2, 2)), 1.5, -1, math.nan, True, "a", None]),
    "scatter_add": S([("ag.scatter_add", lambda L, a, d, i, s: L.scatter_add(a, d, i, s)),
                      ("Tensor.scatter_add", lambda L, a, d, i, s: a.scatter_add(d, i, s)),
                      ("Tensor.scatter_add_", lambda L, a, d, i, s: a.clone().scatter_add_(d, i, s))],
                     [T("float32", (2, 3), rg=True)] + TENSORS[:10], DIM1,
                     [T("int64", (2, 2), data="index"), T("int64", (2, 3)), T("int32", (1, 3)), T("int64", ()),
                      T("int64", (0,)), T("float32", (2, 2)), "a", None],
                     [T("float32", (2, 2), rg=True), T("float32", (3, 3)), T("float64", (2, 2)),
                      T("float32", (2,)), T("float32", ()), 1.5, "a", None]),
    "index_add": S([("ag.index_add", lambda L, a, d, i, s, al: L.index_add(a, d, i, s, alpha=al)),
                    ("Tensor.index_add", lambda L, a, d, i, s, al: a.index_add(d, i, s, alpha=al)),
                    ("Tensor.index_add_", lambda L, a, d, i, s, al: a.clone().index_add_(d, i, s, alpha=al))],
                   [T("float32", (2, 3), rg=True)] + TENSORS[:10], DIM1,
                   [T("int64", (2,), data="index"), T("int64", ()), T("int32", (3,)), T("int64", (2, 2)),
                    T("float32", (2,)), "a", None],
                   [T("float32", (2, 2), rg=True), T("float32", (2, 3)), T("float32", (3, 2)),
                    T("float64", (2, 2)), T("float32", (2,)), T("float32", ()), 1.5, "a", None],
                   [1, 2.5, -1, True, math.nan, "a", None]),
    "narrow": S([("ag.narrow", lambda L, a, d, s, n: L.narrow(a, d, s, n)),
                 ("Tensor.narrow", lambda L, a, d, s, n: a.narrow(d, s, n))],
                TENSORS, DIM1, [0, 1, -1, 3, -4, 1.5, "a", None], [1, 0, 2, -1, 4, 1.5, None]),
    "select": S([("ag.select", lambda L, a, d, i: L.select(a, d, i)), ("Tensor.select", lambda L, a, d, i: a.select(d, i))],
                TENSORS, DIM1, [0, 1, -1, 3, -4, 1.5, "a", None, True]),
    "flip": S([("ag.flip", lambda L, a, d: L.flip(a, d)), ("Tensor.flip", lambda L, a, d: a.flip(d))], TENSORS, DIMS),
    "cumsum": S([("ag.cumsum", lambda L, a, d, dt: L.cumsum(a, d, dtype=build(dt, L))),
                 ("Tensor.cumsum", lambda L, a, d, dt: a.cumsum(d, dtype=build(dt, L)))], TENSORS, DIM1, DTYPES),
    **{c: S(_binary(c, c), TENSORS, OPERANDS, no_grad_check=True) for c in ("isclose", "allclose", "equal")},
    "clone": S([("ag.clone", lambda L, a: L.clone(a)), ("ag.detach", lambda L, a: L.detach(a)),
                ("ag.numel", lambda L, a: L.numel(a))], TENSORS + JUNK[:2], msg=("clone", "detach", "numel")),
    # indexing
    "getitem": S([("Tensor.__getitem__", lambda L, a, i: a[i])], TENSORS, INDICES, msg=("index", "getitem", "indices")),
    "setitem": S([("Tensor.__setitem__", lambda L, a, i, v: a.__setitem__(i, v))],
                 [T("float32", (2, 3)), T("float64", (2, 3), rg=True, form="nonleaf"), T("int64", (2, 3)),
                  T("float32", (2, 3), rg=True), T("float32", ()), T("float32", (3, 2), form="view"),
                  T("float32", (2, 3), form="expanded")],
                 INDICES, [1.5, T("float32", (3,)), T("float64", (2, 3), rg=True), T("float32", (4,)), "a", math.nan,
                           T("int64", ()), None, [1.0, 2.0, 3.0]], msg=("setitem", "index", "indices")),
    # in place
    **{ip: S([(f"Tensor.{ip}", lambda L, a, b, ip=ip: getattr(a, ip)(b))], IP_TENSORS, OPERANDS)
       for ip in ("add_", "sub_", "mul_", "div_", "pow_")},
    "zero_": S([("Tensor.zero_", lambda L, a: a.zero_())], IP_TENSORS),
    "fill_": S([("Tensor.fill_", lambda L, a, v: a.fill_(v))], IP_TENSORS,
               NUMBERS + JUNK[:3] + [T("float32", ()), T("float32", (2,))]),
    "copy_": S([("Tensor.copy_", lambda L, a, b: a.copy_(b))], IP_TENSORS, TENSORS + JUNK[:3] + [2]),
    "normal_/uniform_": S([("Tensor.normal_", lambda L, a, m, s: a.normal_(m, s)),
                           ("Tensor.uniform_", lambda L, a, m, s: a.uniform_(m, s))],
                          IP_TENSORS, [0, 1.5, -1, "a"], [1, 0, -1, 3, None], random_values=True,
                          msg=("normal_", "uniform_")),
    # conversions with arguments
    "to": S([("Tensor.to", lambda L, a, d: a.to(d))], TENSORS, DTYPES + ["cpu", "gpu", "cuda:x", 5.5]),
    "size": S([("Tensor.size", lambda L, a, d: a.size(d))], TENSORS, DIM1),
    "stride": S([("Tensor.stride", lambda L, a, d: a.stride(d))], TENSORS, DIM1),
    "requires_grad_": S([("Tensor.requires_grad_", lambda L, a, b: a.requires_grad_(b))], TENSORS, BOOLS),
    # factories
    **{f: S([(f"ag.{f}", lambda L, s, dt, rg, f=f: getattr(L, f)(*s, dtype=dt, requires_grad=rg))],
            FACTORY_SIZES, DTYPES, [False, True, "yes"], random_values=f in ("randn", "rand", "empty"))
       for f in ("zeros", "ones", "empty", "randn", "rand")},
    "full": S([("ag.full", lambda L, s, v, dt: L.full(s, v, dtype=dt))], [(2, 3), (), 3, (-1,), "a", (2.5,)],
              [1.5, 2, True, math.nan, "a", None, T("float32", ())], DTYPES[:7]),
    "eye": S([("ag.eye", lambda L, n, m, dt: L.eye(n, m, dtype=dt))], [3, 0, -1, 2.5, "a", None], [2, None, -1, "b"],
             DTYPES[:7]),
    "arange": S([("ag.arange", lambda L, a, b, s: L.arange(a, b, s))], [0, 1.5, -3, "a", math.nan, math.inf],
                [5, 0, 2.5, None, math.inf], [1, 2, -1, 0, 0.5, "x"]),
    # (no infinite endpoints: PyTorch's linspace(0, inf) is [nan, inf, nan, ...], ours NumPy's [0, inf, ...])
    "linspace": S([("ag.linspace", lambda L, a, b, n: L.linspace(a, b, n))], [0, 1.5, math.nan, "a"],
                  [1, -2], [5, 1, 0, -1, 2.5, "x"]),
    "tensor": S([("ag.tensor", lambda L, d, dt: L.tensor(d, dtype=dt)), ("ag.as_tensor", lambda L, d, dt: L.as_tensor(d, dtype=dt))],
                [1.5, [1, 2], [[1, 2], [3]], [], [[]], "a", None, [1, "a"], [True, False], [2 ** 70], [1.5, math.nan],
                 np.array([1, 2], dtype=np.uint16), np.array(["a"]), {"a": 1}, [[1, 2], [3, 4]], (1, 2)],
                DTYPES[:8], msg=("tensor", "as_tensor", "from_numpy")),
    **{f"{f}_like": S([(f"ag.{f}_like", lambda L, t, dt, f=f: getattr(L, f + "_like")(t, dtype=dt))],
                      TENSORS + JUNK[:2], DTYPES[:7], random_values=f in ("randn", "rand", "empty"), msg=f)
       for f in ("zeros", "ones", "empty", "randn", "rand")},
    "full_like": S([("ag.full_like", lambda L, t, v: L.full_like(t, v))], TENSORS + JUNK[:1], [1.5, 2, True, "a", None],
                   msg=("full_like", "full")),
    **{f"new_{f}": S([(f"Tensor.new_{f}", lambda L, t, s, dt, f=f: getattr(t, f"new_{f}")(*s, dtype=dt))],
                     TENSORS, FACTORY_SIZES, DTYPES[:7], random_values=f == "empty", msg=f)
       for f in ("zeros", "ones", "empty")},
    "new_full": S([("Tensor.new_full", lambda L, t, s, v: t.new_full(s, v))], TENSORS,
                  [(2, 3), (), 3, (-1,), "a"], [1.5, 2, True, math.nan, "a", None], msg="full"),
    "new_tensor": S([("Tensor.new_tensor", lambda L, t, d: t.new_tensor(d))], TENSORS,
                    [1.5, [1, 2], [[1, 2], [3]], "a", None, [True, False], [2 ** 70], [1.5, math.nan]], msg="tensor"),
    "randint/randperm": S([("ag.randint", lambda L, lo, hi, s: L.randint(lo, hi, s)),
                           ("ag.randperm", lambda L, lo, hi, s: L.randperm(hi))],
                          [0, 3, -2, "a"], [5, 0, 3, 1.5], [(2, 3), (), (-1,), "a"], random_values=True,
                          msg=("randint", "randperm")),
    "from_numpy": S([("ag.from_numpy", lambda L, a: L.from_numpy(a))],
                    [np.zeros((2, 3), np.float32), np.zeros(2, np.uint16), np.array(["a"]), [1, 2], "a",
                     np.zeros((2, 3), np.complex64), np.float64(2.0)]),
    "from_dlpack": S([("ag.from_dlpack", lambda L, a: L.from_dlpack(a))],
                     [np.zeros((2, 3), np.float32), "a", [1, 2], None, np.zeros(3, np.int16)]),
}


# the families kept in files of their own (tests/fuzz_specs_<module>.py, one per autograd_gpu/ops/<module>.py)
for _family in ("products", "composite_pointwise", "statistics", "rearrange", "searching", "windows", "decompositions",
                "bitwise", "gamma", "aliases", "constructions", "sampling", "scatter", "bessel", "polynomials",
                "inplace_views", "inplace_functions", "functional_aliases", "lowlevel"):
    SPECS.update(__import__(f"fuzz_specs_{_family}").specs(sys.modules[__name__]))


def all_forms():
    return [(op, form_name) for op, spec in SPECS.items() for form_name, _ in spec["names"]]


# ---- judging one call --------------------------------------------------------------

COUNTS = collections.defaultdict(collections.Counter)   # op -> {calls, both_ok, ...}
_CALL = {"half": False}     # the call at hand involves float16 (half-precision tolerances)
FAILURES = []


class Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise Hang("call took more than %d s" % CALL_SECONDS)


def _kind(e):
    if isinstance(e, OverflowError):
        return RuntimeError             # PyTorch's "int too big to convert": ours says RuntimeError
    for k in (IndexError, TypeError, RuntimeError, ValueError):    # (ag.device's DeviceError is both of the last two)
        if isinstance(e, k):
            return k
    return type(e)


def _tensors_in(x):
    if isinstance(x, ag.Tensor):
        yield x
    elif isinstance(x, (list, tuple)):
        for i in x:
            yield from _tensors_in(i)


def _snapshot(args):
    snap = []
    for t in {id(t): t for t in _tensors_in(args)}.values():
        g = t._grad
        snap.append((t, np.array(t.detach()._host(), copy=True), None if g is None else np.array(g._host(), copy=True),
                     t._version, t._node, t._rg, t._base, t.shape, t.dtype))
    return snap


def _changed(snap):
    for t, data, grad, ver, node, rg, base, shape, dtype in snap:
        if t.shape != shape or t.dtype != dtype:
            return f"shape/dtype of an operand changed: {shape}/{dtype} -> {t.shape}/{t.dtype}"
        if not np.array_equal(np.asarray(t.detach()._host()), data, equal_nan=True):
            return "an operand's data changed"
        if (grad is None) != (t._grad is None) or (grad is not None and not np.array_equal(
                np.asarray(t._grad._host()), grad, equal_nan=True)):
            return "an operand's .grad changed"
        if t._version != ver:
            return f"an operand's _version changed ({ver} -> {t._version})"
        if t._node is not node or t._rg != rg or t._base is not base:
            return "an operand's graph (grad_fn / requires_grad / base) changed"
    return None


def _to_np(x):
    if isinstance(x, ag.Tensor):
        return np.asarray(x.detach()._host())
    return x.detach().numpy(force=True)


def _same(ours, theirs, random_values, path="result"):
    """None if equal, else a description of the difference."""
    if isinstance(theirs, torch.Tensor):
        if not isinstance(ours, ag.Tensor):
            return f"{path}: a {type(ours).__name__}, torch gives a Tensor"
        a, b = _to_np(ours), _to_np(theirs)
        if a.shape != b.shape:
            return f"{path}: shape {a.shape} != torch's {b.shape}"
        if str(ours.dtype).split(".")[-1] != str(theirs.dtype).split(".")[-1]:
            return f"{path}: dtype {ours.dtype} != torch's {theirs.dtype}"
        if random_values:
            return None
        if a.dtype.kind == "f":
            loose = a.dtype == np.float16 or _CALL["half"]
            tol = dict(rtol=2e-2, atol=2e-2) if loose else dict(rtol=1e-5, atol=1e-6)
            # NaN positions equal; infinities equal; the rest close
            ok = np.isclose(a.astype(np.float64), b.astype(np.float64), equal_nan=True, **tol) | (
                (a == b) & ~np.isnan(a))
            if not ok.all():
                return f"{path}: values differ:\n ours  {a.ravel()[:8]}\n torch {b.ravel()[:8]}"
        elif not np.array_equal(a, b):
            return f"{path}: values differ: ours {a.ravel()[:8]}, torch {b.ravel()[:8]}"
        if ours.requires_grad != theirs.requires_grad:
            return f"{path}: requires_grad {ours.requires_grad} != torch's {theirs.requires_grad}"
        return None
    if isinstance(theirs, (tuple, list)) and not isinstance(theirs, torch.Size):
        if not isinstance(ours, (tuple, list)) or len(ours) != len(theirs):
            return f"{path}: {type(ours).__name__} of {len(ours) if hasattr(ours, '__len__') else '?'}, torch's " \
                   f"{type(theirs).__name__} of {len(theirs)}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            d = _same(o, t, random_values, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(theirs, torch.dtype):
        return None if str(ours).split(".")[-1] == str(theirs).split(".")[-1] else f"{path}: {ours} != {theirs}"
    if isinstance(theirs, torch.Size):
        return None if tuple(ours) == tuple(theirs) else f"{path}: {ours} != {tuple(theirs)}"
    if theirs is None or isinstance(theirs, (int, float, bool)):
        same = ours == theirs or (isinstance(theirs, float) and math.isnan(theirs) and math.isnan(ours))
        return None if same else f"{path}: {ours!r} != torch's {theirs!r}"
    return None


def _grads_match(args_o, args_t, out_o, out_t):
    """Backward with a ones gradient through the first float output, on both."""
    if isinstance(out_t, (tuple, list)) and not out_t:
        return None
    oo = out_o[0] if isinstance(out_o, (tuple, list)) else out_o
    tt = out_t[0] if isinstance(out_t, (tuple, list)) else out_t
    if not (isinstance(tt, torch.Tensor) and tt.requires_grad and tt.numel() and tt.dtype.is_floating_point):
        return None
    leaves_t = [t for t in _leaf_inputs(args_t, torch.Tensor)]
    leaves_o = [t for t in _leaf_inputs(args_o, ag.Tensor)]
    if len(leaves_t) != len(leaves_o) or not leaves_t:
        return None
    try:
        gt = torch.autograd.grad(tt, leaves_t, torch.ones_like(tt), allow_unused=True)
    except RuntimeError:
        return None
    except IndexError as e:     # PyTorch's index_reduce backward refuses the int32 index its forward took
        if "Expected dtype int64 for index" in str(e):
            return None
        raise
    go = ag.autograd.grad(oo, leaves_o, ag.ones_like(oo), allow_unused=True)
    for i, (a, b) in enumerate(zip(go, gt)):
        if b is None:
            if a is not None and np.any(_to_np(a)):
                return f"gradient {i}: ours nonzero, torch has none"
            continue
        if a is None:
            if np.any(b.numpy()):
                return f"gradient {i}: ours None, torch's nonzero"
            continue
        d = _same(a.detach(), b.detach(), False, f"gradient {i}")
        if d:
            return d
    return None


def _leaf_inputs(args, cls):
    seen = []
    for t in _tensors_in_any(args, cls):
        if t.requires_grad and all(t is not s for s in seen):
            seen.append(t)
    return seen


def _tensors_in_any(x, cls):
    if isinstance(x, cls):
        yield x
    elif isinstance(x, (list, tuple)):
        for i in x:
            yield from _tensors_in_any(i, cls)


def _addmv_empty_k_broadcast(recipes):
    base, mat = recipes[0], recipes[1] if len(recipes) > 1 else None
    return (isinstance(base, T) and isinstance(mat, T) and len(mat.shape) == 2 and mat.shape[1] == 0
            and tuple(base.shape) != (mat.shape[0],))


# Calls where PyTorch's result is wrong: not compared here, ours is held to the math in the test named.
TORCH_WRONG = {
    # addmv with an empty k returns beta * input without broadcasting it to the matrix's rows (shape (1,)
    # for a (2, 0) matrix, with a resize warning): tests/test_ops_products.py::test_addmv_with_empty_k_broadcasts
    "addmv": _addmv_empty_k_broadcast,
}


def judge(op, form_name, call, recipes, spec, single_fault):
    """Run one call on both libraries and record the verdict. With several bad
    arguments at once the two libraries may rightly complain about different
    ones, so the exception kinds are compared on single-fault calls only."""
    counts = COUNTS[op]
    self_index = 1 if form_name == "Tensor.where" else 0
    if form_name.startswith("Tensor.") and not isinstance(recipes[self_index], T):
        return                  # a method needs a tensor to be called on (Python's AttributeError)
    if form_name.startswith("Tensor.__r") and len(recipes) > 1 and isinstance(recipes[1], T):
        return                  # Python never calls a reflected operator with a tensor on the left
    wrong = TORCH_WRONG.get(form_name.split(".")[-1])
    if wrong is not None and wrong(recipes):
        return
    counts["calls"] += 1
    _CALL["half"] = "float16" in repr(recipes)
    args_t = [build(r, torch) for r in recipes]
    args_o = [build(r, ag) for r in recipes]
    what = f"{form_name}{tuple(recipes)!r}"
    snap = _snapshot(args_o)
    res = {}
    signal.signal(signal.SIGALRM, _on_alarm)
    for lib, args in (("torch", args_t), ("ours", args_o)):
        signal.alarm(CALL_SECONDS)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res[lib] = ("ok", call(torch if lib == "torch" else ag, *args))
        except Hang as e:
            FAILURES.append(f"{what}: {lib} hung ({e})")
            res[lib] = ("hang", e)
        except Exception as e:              # judged below
            res[lib] = ("raise", e)
        else:
            if res[lib][1] is NotImplemented:   # a direct __op__ call: Python would raise TypeError
                res[lib] = ("raise", TypeError(f"unsupported operand type ({form_name})"))
        finally:
            signal.alarm(0)
    (ts, tv), (os_, ov) = res["torch"], res["ours"]
    if os_ == "hang":
        return
    if os_ == "raise":
        e = ov
        problems = []
        if type(e).__module__.split(".")[0] == "numpy" or _kind(e) not in (IndexError, TypeError, ValueError,
                                                                            RuntimeError):
            problems.append(f"raised {type(e).__module__}.{type(e).__name__} (not one of PyTorch's four)")
        names = spec["msg"] or op.split("(")[0].split(" ")[0].strip("_")
        names = (names,) if isinstance(names, str) else names
        if not any(n in str(e) for n in names):
            problems.append(f"message does not name the op ({names}): {e}")
        if ts == "raise" and single_fault and _kind(e) is not _kind(tv) and _kind(tv) in (
                IndexError, TypeError, ValueError, RuntimeError) and not any(
                m in str(e) for m in KNOWN_KIND_DIFFERENCES):
            problems.append(f"{type(e).__name__} where torch raises {type(tv).__name__} ({tv})")
        change = _changed(snap)
        if change:
            problems.append(f"the failed call changed state: {change}")
        if problems:
            FAILURES.append(f"{what}: ours raised {type(e).__name__}: {str(e)[:200]}\n    " + "\n    ".join(problems))
        counts["both raise" if ts == "raise" else "ours stricter"] += 1
        return
    if ts == "raise":
        if isinstance(tv, (TypeError, OverflowError, RuntimeError)) and any(
                m in str(tv) for m in LENIENT_TORCH_ERRORS):
            counts["ours lenient"] += 1
            return
        if isinstance(tv, (NotImplementedError, RuntimeError)) and any(m in str(tv) for m in LENIENT_DTYPE_ERRORS):
            counts["ours lenient"] += 1
            return
        FAILURES.append(f"{what}: ours succeeded, torch raised {type(tv).__name__}: {str(tv)[:200]}")
        return
    d = _same(ov, tv, spec["random_values"])
    for i, (a, b) in enumerate(zip(args_o, args_t)):     # in-place ops: the operands too
        if d is None and isinstance(b, torch.Tensor) and isinstance(a, ag.Tensor) and not spec["random_values"]:
            d = _same(a, b, False, f"argument {i} after the call")
    # PyTorch's var/std backward with dim=() treats it as no dims (inf gradients),
    # its forward as all dims; ours is all dims in both (see docs/nan_semantics.md)
    torch_bug = op in ("var", "std") and len(recipes) > 1 and recipes[1] == ()
    if d is None and not spec["no_grad_check"] and not spec["random_values"] and not torch_bug and \
            not _nuclear_norm_grad_ambiguous(op, args_t):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                d = _grads_match(args_o, args_t, ov, tv)
            except Exception as e:
                d = f"backward raised {type(e).__name__}: {e}"
        if d is None:
            counts["grads checked"] += 1
    if d:
        FAILURES.append(f"{what}: {d}")
    counts["both ok"] += 1


def _nuclear_norm_grad_ambiguous(op, args_t):
    """The nuclear norm's gradient U Vh at a rank-deficient matrix: the null-space
    singular vectors pair up in any way, so it is whichever LAPACK (PyTorch's or
    NumPy's) happens to pick; every choice is a subgradient (its values are checked)."""
    if op != "norm(p)" or args_t[1] != "nuc" or not isinstance(args_t[0], torch.Tensor) or args_t[0].ndim != 2 \
            or args_t[0].numel() == 0:
        return False
    s = torch.linalg.svdvals(args_t[0].detach().double())
    return bool(s.min() <= 1e-10 * s.max())


def calls_for(spec, op):
    """Single-fault calls (each argument of the base call varied over its pool),
    then random combinations of several."""
    pools = spec["pools"]
    base = spec["base"] or tuple(pool[0] for pool in pools)
    singles, seen = [], set()
    for i, pool in enumerate(pools):
        for v in pool:
            args = base[:i] + (v,) + base[i + 1:]
            if repr(args) not in seen:
                seen.add(repr(args))
                singles.append(args)
    combos = [c for c in itertools.product(*pools) if repr(c) not in seen]
    k = max(0, PER_FORM - len(singles))
    multi = combos if len(combos) <= k else random.Random(op + SEED).sample(combos, k)
    return singles, multi


def fuzz(op):
    spec = SPECS[op]
    singles, multi = calls_for(spec, op)
    for form_name, call in spec["names"]:
        for recipes in singles:
            judge(op, form_name, call, recipes, spec, True)
        for recipes in multi:
            judge(op, form_name, call, recipes, spec, False)


# ---- the tests -------------------------------------------------------------------------

def test_api_list_is_covered_by_the_namespace_and_the_fuzz_specs():
    missing = [f for f in API_FUNCTIONS if not callable(getattr(ag, f, None))]
    missing += [f"Tensor.{m}" for m in API_METHODS if not hasattr(ag.Tensor, m)]
    assert not missing, f"API.md names missing from autograd_gpu: {missing}"
    public = {f"ag.{n}" for n in dir(ag) if not n.startswith("_") and callable(getattr(ag, n))
              and not inspect.isclass(getattr(ag, n)) and not inspect.ismodule(getattr(ag, n))}
    public |= {f"Tensor.{n}" for n in dir(ag.Tensor) if not n.startswith("_")}
    public |= {f"Tensor.{n}" for n in dir(ag.Tensor) if n.startswith("__") and n in API_METHODS}
    fuzzed = {form.split("(")[0] for _, form in all_forms()}
    assert {f"ag.{f}" for f in API_FUNCTIONS} <= public
    forgotten = sorted(public - fuzzed - set(NOT_OPS))
    assert not forgotten, (f"public ops without a fuzz spec (add one to SPECS, or to NOT_OPS with a reason): "
                           f"{forgotten}")


@pytest.fixture(autouse=True)
def _global_modes_restored():
    """A form that sets a global mode (set_deterministic_debug_mode) leaves both libraries as they were:
    PyTorch's deterministic warnings would otherwise reach later test files."""
    before = torch.get_deterministic_debug_mode(), ag.get_deterministic_debug_mode()
    yield
    torch.set_deterministic_debug_mode(before[0])
    ag.set_deterministic_debug_mode(before[1])


@pytest.mark.parametrize("op", list(SPECS))
def test_fuzz(op):
    before = len(FAILURES)
    fuzz(op)
    new = FAILURES[before:]
    assert not new, f"{len(new)} bad calls of {op} (first 15):\n" + "\n".join(new[:15])


# ---- devices mixed through a stand-in CUDA backend ---------------------------------------

MIXED = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: b * a, "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b, "maximum": lambda a, b: ag.maximum(a, b), "minimum": lambda a, b: ag.minimum(b, a),
    "matmul": lambda a, b: a @ b, "mm": lambda a, b: a.mm(b), "bmm": lambda a, b: a[None].bmm(b[None]),
    "dot": lambda a, b: a[0].dot(b[0]), "mv": lambda a, b: a.mv(b[0]), "eq": lambda a, b: a == b,
    "lt": lambda a, b: a.lt(b), "where": lambda a, b: ag.where(a > 0, a, b), "where(cond)": lambda a, b: ag.where(b > 0, a, a),
    "clamp": lambda a, b: a.clamp(b, b), "cat": lambda a, b: ag.cat([a, b]), "stack": lambda a, b: ag.stack([b, a]),
    "add_": lambda a, b: (a * 1).add_(b), "mul_": lambda a, b: (a * 1).mul_(b), "setitem": lambda a, b: a.__setitem__(0, b[0]),
    "logical_and": lambda a, b: ag.logical_and(a > 0, b > 0), "index": lambda a, b: a[b > 0],
    "index(int)": lambda a, b: a[b.long()[0] * 0],
    "scatter_add": lambda a, b: a.scatter_add(0, ag.zeros(1, 2, dtype=ag.int64, device=a.device), b[:1]),
    "scatter(index)": lambda a, b: a.scatter(0, ag.zeros(1, 2, dtype=ag.int64, device=b.device), 1.0),
    "index_add": lambda a, b: a.index_add(0, ag.tensor([1], device=a.device), b[:1]),
    "index_add(index)": lambda a, b: a.index_add_(0, ag.tensor([1], device=b.device), a[:1] * 1),
}


@pytest.mark.parametrize("op", list(MIXED))
def test_mixed_devices_raise_naming_both(fake_cuda, op):
    # (indexing: CPU indices into a CUDA tensor are allowed, as in PyTorch; the other way round is not)
    for cpu_first in ((True,) if op.startswith("index") else (True, False)):
        x = ag.randn(2, 2, requires_grad=True) * 1
        y = ag.ones(2, 2, device="cuda")
        a, b = (x, y) if cpu_first else (y, x)
        snap = _snapshot([a, b])
        with pytest.raises(RuntimeError, match=r"(cpu.*cuda:0|cuda:0.*cpu)") as e:
            MIXED[op](a, b)
        assert "device" in str(e.value)
        assert _changed(snap) is None
        COUNTS[f"mixed devices: {op}"]["calls"] += 1


def test_cpu_indices_into_a_cuda_tensor(fake_cuda):
    y = ag.arange(4.0, device="cuda")
    assert y[ag.tensor([1, 3])].tolist() == [1.0, 3.0] and y[ag.tensor([1, 3])].device == y.device


def test_copy_and_to_cross_devices_explicitly(fake_cuda):
    x = ag.ones(2, 2, device="cuda")
    c = ag.zeros(2, 2).copy_(x)              # copy_ is the one op that crosses devices
    assert c.device == ag.device("cpu") and c.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert x.cpu().device == ag.device("cpu") and c.to("cuda").device == ag.device("cuda:0")


# ---- allocations no machine can make ----------------------------------------------------

HUGE = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))     # a safety net: never OOM the machine
import autograd_gpu as ag
x = ag.ones(2, 2)
calls = {
    "zeros(2**40, 2**40)": lambda: ag.zeros(2 ** 40, 2 ** 40),
    "ones(2**31, 2**31, 2**10)": lambda: ag.ones(2 ** 31, 2 ** 31, 2 ** 10),
    "empty(2**62)": lambda: ag.empty(2 ** 62),
    "full((2**40,), 1.5, float64)": lambda: ag.full((2 ** 40,), 1.5, dtype=ag.float64),
    "randn(2**45)": lambda: ag.randn(2 ** 45),
    "rand(2**20, 2**30)": lambda: ag.rand(2 ** 20, 2 ** 30),
    "eye(2**31)": lambda: ag.eye(2 ** 31),
    "arange(2**50)": lambda: ag.arange(2 ** 50),
    "linspace(0, 1, 2**50)": lambda: ag.linspace(0, 1, 2 ** 50),
    "randint(0, 5, (2**50,))": lambda: ag.randint(0, 5, (2 ** 50,)),
    "randperm(2**50)": lambda: ag.randperm(2 ** 50),
    "zeros_like(expanded 2**40)": lambda: ag.zeros_like(x[:1, :1].expand(2 ** 20, 2 ** 20)),
    "repeat(2**30, 2**30)": lambda: x.repeat(2 ** 30, 2 ** 30),
    "expand(2**40, 2**40).contiguous()": lambda: x[:1, :1].expand(2 ** 40, 2 ** 40).contiguous(),
    "expand(2**30, 2**30) + 1": lambda: x[:1, :1].expand(2 ** 30, 2 ** 30) + 1,
    "tensor([0]).repeat(2**62)": lambda: ag.tensor([0.0]).repeat(2 ** 62),
}
out = {}
for name, fn in calls.items():
    t0 = time.time()
    try:
        fn()
        out[name] = ["ok", "", time.time() - t0]
    except BaseException as e:
        out[name] = [type(e).__module__ + "." + type(e).__name__, str(e)[:200], time.time() - t0]
print(json.dumps(out))
"""


def test_allocations_too_big_for_any_machine_fail_fast():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(ag.__file__))] +
                                                      sys.path))
    p = subprocess.run([sys.executable, "-c", HUGE], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, f"the subprocess died (rc {p.returncode}): {p.stderr[-2000:]}"
    results = json.loads(p.stdout.strip().splitlines()[-1])
    bad = {k: v for k, v in results.items() if v[0] != "builtins.RuntimeError" or v[2] > 5}
    for k in results:
        COUNTS["huge allocations"]["calls"] += 1
    assert not bad, "expected a fast RuntimeError:\n" + "\n".join(f"  {k}: {v}" for k, v in bad.items())


# ---- the summary ------------------------------------------------------------------------

def _summary_lines():
    if not COUNTS:
        return []
    cols = ["calls", "both ok", "grads checked", "both raise", "ours stricter", "ours lenient"]
    lines = [f"{'op':32s}" + "".join(f"{c:>17s}" for c in cols)]
    total = collections.Counter()
    for op in sorted(COUNTS):
        c = COUNTS[op]
        total.update(c)
        lines.append(f"{op:32s}" + "".join(f"{c[k]:17d}" for k in cols))
    lines.append(f"{'TOTAL':32s}" + "".join(f"{total[k]:17d}" for k in cols))
    return lines


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    report_at_end(request, "fuzzed bad input: calls per op", _summary_lines)
