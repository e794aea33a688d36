"""Random expression graphs against PyTorch CPU (Hypothesis).

One Hypothesis-drawn *program* (a list of Python statements over `lib`) runs
op by op on both libraries: `lib` is `autograd_gpu` in one namespace and
`torch` in the other. Programs mix every differentiable op family of API.md
(arithmetic with tensor and Python-number operands, pointwise (erf, erfc, erfinv, asinh, sinc, nan_to_num, gelu, silu, softplus,
logaddexp, hypot, fmax/fmin, addcmul/addcdiv, xlogy too), reductions with
dim/keepdim, atan2 and lerp, matrix products and einsum, shape ops and diagonals,
basic/advanced/boolean indexing, gather/scatter/scatter_add/index_add/
masked_select, in-place ops on non-leaves and through views, `t[idx] = v`; and gen_more's
scans, sorting, rearranging, composites and nn.functional: cumsum/cumprod/logcumsumexp/cummax,
sort/topk/kthvalue, flip/roll/tril/narrow/index_select/take_along_dim/tile/rot90/unflatten, diff/
outer/kron/trapezoid, var_mean/aminmax/nansum/renorm, normalize/layer_norm/pad, losses and
activations), broadcast shapes, reuse earlier values (DAGs), and call `retain_grad()` on random nodes.
Data come from a small set of halves, so ties (max, maximum, abs/relu/clamp
at 0 and at the bounds) and exact zeros are common.

Checked, in float64: every statement either succeeds on both libraries with
the same values, or fails on both with the same exception type; every value at
the end; the gradients of every leaf and every retained non-leaf after
backward of a random projection of some outputs (including PyTorch's version
errors when an in-place op clobbered a saved tensor); and, on a subset, the
second derivative (grad of a random projection of the first gradient, built
with create_graph=True).

A failing example prints the program (`note`), ready to paste into
tests/test_regressions.py. CI draws from a fixed seed (derandomize=True, no
example database); the programs still vary a little between runs, because
statements whose ties the two libraries rounded differently (which can depend
on memory alignment in PyTorch's vector kernels), and std of values equal up
to rounding (0 on one library, a rounding residue on the other), are skipped,
and that changes later draws. More examples: AG_HYPOTHESIS_EXAMPLES=20000 (first order; the
second-order test runs a third of that); programs from a random seed instead
of the fixed one: AG_HYPOTHESIS_RANDOM=1 (how the last bugs were found: the
fixed seed keeps drawing the same early programs).

The `_cuda` variants run the same kind of programs with our tensors on `cuda`
(every tensor factory `lib.` calls gets device="cuda": see `OnDevice`; PyTorch
stays on the CPU; our values come back with .cpu() and must be on cuda): a real
GPU when there is one, else the CuPy emulator (marked `gpu`, like conftest's
`device` param; AG_CUDA_EMULATOR=0 skips them). They draw a quarter of the
examples (AG_HYPOTHESIS_EXAMPLES / 4, and a third of that for second order),
other programs than the CPU tests' (Hypothesis seeds each test by its name).
On cuda, `t[idx] = v` never writes one element twice with different values:
which lands is undefined on a GPU (PyTorch's CUDA index_put_, CuPy's scatter).
A failing cuda program says "(autograd_gpu's tensors on cuda)"; the summary
counts its programs apart.
"""
import collections
import math
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, reject, settings, strategies as st

import autograd_gpu as ag
from conftest import needs_cuda, report_at_end

# PyTorch's warnings (var with no degrees of freedom, deprecated indexing) and
# NumPy's RuntimeWarnings inside the oracle are expected here
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")

EXAMPLES = int(os.environ.get("AG_HYPOTHESIS_EXAMPLES", "3000"))
CUDA_EXAMPLES = max(1, EXAMPLES // 4)     # the cuda variants draw a quarter (CI time; see the docstring)
SETTINGS = dict(derandomize=not os.environ.get("AG_HYPOTHESIS_RANDOM"), database=None, deadline=None, print_blob=False,
                suppress_health_check=list(HealthCheck))

# Halves: exact in float64 through +, -, *, so ties stay ties on both libraries.
HALVES = [0.5, -1.0, 0.0, 1.5, -0.5, 1.0, 2.0, -2.0, 0.0, -1.5]
SCALARS = [2, 0.5, -1, 0, 3, -2.5, 1, 1.5]
RTOL, ATOL = 1e-6, 1e-9
BIG = 1e4                       # values beyond this are not used as operands again

STATS = {"examples": 0, "examples_2nd": 0, "examples_cuda": 0, "examples_2nd_cuda": 0, "depth": collections.Counter(), "families": collections.Counter(),
         "ops": collections.Counter(), "failed_ops": collections.Counter(), "statements": 0, "backward_errors": 0,
         "step_errors": 0,
         "retained": 0, "second_order_checked": 0, "tie_ambiguous": 0, "layout_rejected": 0, "torch_asserted": 0}


# ---- our tensors on a device ---------------------------------------------------------

class OnDevice:
    """`lib` for autograd_gpu with its tensors on `device`: the tensor factories
    default to device=`device`; everything else is autograd_gpu's own. (The
    statements stay those PyTorch runs; only our side moves.)"""

    FACTORIES = frozenset(["tensor", "as_tensor", "zeros", "ones", "empty", "full", "eye", "arange", "linspace",
                           "rand", "randn", "randint", "randperm"])

    def __init__(self, lib, device):
        self._lib, self.device = lib, device

    def __getattr__(self, name):
        attr = getattr(self._lib, name)
        if name not in self.FACTORIES:
            return attr

        def on_device(*args, **kwargs):
            kwargs.setdefault("device", self.device)
            return attr(*args, **kwargs)
        return on_device

    def __repr__(self):
        return f"<autograd_gpu on {self.device}>"


def on_device(device):
    """autograd_gpu itself for the CPU, else OnDevice."""
    return ag if device == "cpu" else OnDevice(ag, device)


# ---- comparing ---------------------------------------------------------------------

def _np(t):
    if isinstance(t, ag.Tensor):
        return t.detach().cpu().numpy()
    t = t.detach()
    if t._is_zerotensor():
        # PyTorch's ZeroTensors (from second derivatives) have no memory: numpy() of a sliced one reads
        # from a null pointer and crashes the process (torch 2.13: z = torch._efficientzerotensor((3,));
        # z[1:].numpy(force=True) segfaults), so they are made here
        return np.zeros(tuple(t.shape), dtype=t.new_empty(0).numpy().dtype)
    return t.numpy(force=True)


def _close(ours, theirs, what, prog, rounding=0.0):
    """rounding: an absolute error the computation's own rounding allows."""
    if isinstance(ours, ag.Tensor):
        assert ours.device.type == prog.device, \
            f"{what}: ours is on {ours.device}, not {prog.device}\n{prog.text()}"
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}\n{prog.text()}"
    assert a.dtype == b.dtype or a.dtype.kind == b.dtype.kind == "f", \
        f"{what}: dtype {a.dtype} != torch's {b.dtype}\n{prog.text()}"
    if a.dtype.kind == "f":
        fin = np.isfinite(b)
        scale = max(1.0, float(np.abs(b[fin]).max())) if fin.any() else 1.0
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=max(ATOL * scale, rounding), equal_nan=True,
                                   err_msg=f"{what}\n{prog.text()}")
    else:
        np.testing.assert_array_equal(a, b, err_msg=f"{what}\n{prog.text()}")


def _exc_kind(e):
    for k in (IndexError, TypeError, ValueError, RuntimeError):
        if isinstance(e, k):
            return k
    return type(e)


# ---- the program -------------------------------------------------------------------

def reject_incomparable(code, te, oe, stats):
    """Reject a program whose statement cannot be compared:
    - known divergence (CPU): elementwise results are laid out by NumPy's rules, not PyTorch's (x.t() + y
      is C-contiguous), so view() of them may work on one library only. (On cuda they follow PyTorch's
      rule: cupy_kernels._result_layout.)
    - PyTorch's own bugs and gaps: an internal assert (torch 2.13: an in-place op on an output of var_mean
      that retains its grad trips `out != nullptr` in variable.cpp), a derivative it has not implemented
      (hardsigmoid's second derivative) where we have one, or its forward AD failing on a valid call
      (logcumsumexp over an empty dim: its formula takes the max of the empty dim; forward over reverse
      of mse_loss: a backward formula writes into its immutable ZeroTensor tangent), or kron of some layouts
      (kron(x.t(), y): it views its operands by _unsafe_view, which needs viewable strides)."""
    if (te is None) != (oe is None) and ".view(" in code and "view size is not compatible" in str(te or oe):
        stats["layout_rejected"] += 1
        reject()
    if te is not None and oe is None and "kron(" in code and "view size is not compatible" in str(te):
        stats["torch_asserted"] += 1
        reject()
    if te is not None and oe is None and ("INTERNAL ASSERT FAILED" in str(te) or re.search(
            r"derivative for aten::\w+ is not implemented", str(te)) or (
            "logcumsumexp" in code and "Expected reduction dim" in str(te)) or "ZeroTensors are immutable" in str(te)):
        stats["torch_asserted"] += 1
        reject()


class Program:
    """Statements drawn one at a time and run at once on both libraries."""

    def __init__(self, torch, data, device="cpu"):
        self.data = data
        self.device = device
        self.lines = []
        self.theirs = {"lib": torch, "inf": math.inf}
        self.ours = {"lib": on_device(device), "inf": math.inf}
        self.vals = []           # names of usable tensors, in creation order
        self.depth = {}
        self.leaves = []
        self.retained = []
        self.dead = set()        # names not to use again (non-finite or huge values)
        self.count = 0
        self.ops = collections.Counter()
        self.frozen = set()        # storages not to write in place (known divergences)
        self.unreliable = set()    # values whose ties differed between the libraries
        self.torch_only_views = set()   # results that are views in PyTorch only (their retained grads differ)

    # drawing
    def draw(self, strategy):
        return self.data.draw(strategy)

    def choice(self, options):
        return self.draw(st.sampled_from(options))

    def flag(self):
        return self.draw(st.booleans())

    def integer(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def fresh(self):
        self.count += 1
        return f"v{self.count}"

    def text(self):
        where = "" if self.device == "cpu" else f" (autograd_gpu's tensors on {self.device})"
        return f"program{where}:\n    " + "\n    ".join(self.lines)

    # the values
    def t(self, name):
        return self.theirs[name]

    def shape(self, name):
        return tuple(self.theirs[name].shape)

    def is_float(self, name):
        return self.theirs[name].dtype.is_floating_point

    def maxabs(self, name):
        t = self.theirs[name].detach()
        return float(t.abs().max()) if t.numel() else 0.0

    def minabs(self, name):
        t = self.theirs[name].detach()
        return float(t.abs().min()) if t.numel() else 1.0

    def minval(self, name):
        t = self.theirs[name].detach()
        return float(t.min()) if t.numel() else 1.0

    def candidates(self, pred=None, floats=True):
        return [n for n in self.vals if n not in self.dead and (self.is_float(n) == floats)
                and (pred is None or pred(n))]

    def pick(self, pred=None, floats=True):
        """A value, the latest one more often than not (shrinks to the latest)."""
        cands = self.candidates(pred, floats)
        if not cands:
            return None
        if len(cands) == 1 or not self.flag():
            return cands[-1]
        return cands[-1 - self.integer(0, len(cands) - 1)]

    # running
    def run(self, code, new=(), inputs=(), op=None, family=None):
        """Run one statement on both; True when it succeeded (on both)."""
        self.lines.append(code)
        STATS["statements"] += 1
        ambiguous = TIE_SENSITIVE.search(code) is not None and self.ties_differ(code)
        errors = []
        for env in (self.theirs, self.ours):
            try:
                exec(code, env)
                errors.append(None)
            except Exception as e:          # compared below
                errors.append(e)
        te, oe = errors
        reject_incomparable(code, te, oe, STATS)
        if te is not None or oe is not None:
            assert te is not None, f"autograd_gpu raised {type(oe).__name__}: {oe}\nwhere torch succeeded\n{self.text()}"
            assert oe is not None, f"autograd_gpu succeeded where torch raised {type(te).__name__}: {te}\n{self.text()}"
            assert _exc_kind(oe) is _exc_kind(te), (
                f"autograd_gpu raised {type(oe).__name__}: {oe}\ntorch raised {type(te).__name__}: {te}\n{self.text()}")
            assert not type(oe).__module__.startswith("numpy"), f"NumPy exception leaked: {oe!r}"
            STATS["step_errors"] += 1
            if op is not None:
                STATS["failed_ops"][f"{family}: {op}"] += 1
            return False
        if op == "std" and not ambiguous:
            ambiguous = self.std_of_equal_values(new[0], inputs[0])
        if op == "prod" and not ambiguous:
            ambiguous = self.holds_rounding_residue(inputs[0])
        if op == "sinc" and not ambiguous:
            ambiguous = self.holds_rounding_residue(inputs[0], absolute=1e-4)
        if op == "**" and len(inputs) == 2 and not ambiguous:
            ambiguous = self.holds_rounding_residue(inputs[1])
        if op == "atan2" and not ambiguous:
            ambiguous = self.signed_zeros_differ(inputs)
        if op is not None:
            self.ops[(family, op)] += 1
        d = max((self.depth.get(n, 0) for n in inputs), default=0) + 1
        for n in new:
            if n not in self.depth:
                self.vals.append(n)
            self.depth[n] = max(self.depth.get(n, 0) + 1, d) if n in inputs else d
            if ambiguous:
                self.drop(n)
                continue
            _close(self.ours[n], self.theirs[n], f"value {n} after: {code}", self)
            t = self.theirs[n]
            if t.dtype.is_floating_point and t.numel() and (
                    not bool(t.detach().isfinite().all()) or self.maxabs(n) > BIG):
                self.dead.add(n)
        return True

    def ties_differ(self, code):
        """Whether the operands of a tie-sensitive statement have different ties
        (among themselves, or with the usual constants) on the two libraries.
        Not a bug: PyTorch's vectorised kernels may round equal inputs
        differently by position (0.5 ** 0.5 gives two values over 18 elements),
        NumPy's in its own way. Then max/relu/sign/... legitimately differ."""
        for n in set(re.findall(r"\bv\d+\b", code)):
            if n in self.theirs and n in self.ours and self.is_float(n):
                if not np.array_equal(_tie_signature(_np(self.theirs[n])), _tie_signature(_np(self.ours[n]))):
                    STATS["tie_ambiguous"] += 1
                    return True
        return False

    def std_of_equal_values(self, r, a):
        """Whether std `r` of `a` is over values equal up to rounding, where one
        library gives exactly 0 and the other a rounding residue (PyTorch 2.13:
        a residue reducing all dims, 0 over a dim; ours: 0). Not a bug, but not
        comparable: the gradient, (x - mean) / std, is then 0 on one side and
        a ratio of rounding errors on the other."""
        theirs, ours = np.abs(_np(self.theirs[r])), np.abs(_np(self.ours[r]))
        tiny = 1e-12 * max(self.maxabs(a), 1e-300)
        if np.any(((theirs <= tiny) | (ours <= tiny)) & ~((theirs == 0) & (ours == 0))):
            STATS["tie_ambiguous"] += 1
            return True
        return False

    def holds_rounding_residue(self, a, absolute=0.0):
        """Whether `a` holds a rounding residue (0 < |x| <= 1e-12 of its scale)
        on either library: `v @ [[-1.5, .5], [1.5, .5]]` is an exact 0 in
        PyTorch's matmul and 1e-17 in NumPy's. With the exact 0 prod's backward
        takes its zero-safe path; with the residue it takes PyTorch's
        result / x, whose second derivative is a difference of terms of size
        1 / x (found: second derivatives -0.11 here, -1.23 in PyTorch and by
        finite differences). Not comparable; prod's formula is PyTorch's.
        Likewise a tensor exponent at a residue: pow's backward takes the base's
        gradient as 0 where the exponent is exactly 0 (PyTorch's formula), so
        its derivative in the exponent is lost on one side only (found: a
        matmul that is 0 here, 2e-19 in PyTorch, then exp(t) ** t).
        Likewise sinc at a residue (sinc(-1) is 3.9e-17, not 0): its derivatives
        there are differences of nearly equal terms over x^2 and x^3, rounding
        noise on both libraries (second derivatives -520 here, 57 in PyTorch;
        the true value is near -210): `absolute` flags any 0 < |x| < it (sinc's
        error grows as 1e-16 / x^2, past the tolerance below 1e-4)."""
        tiny = max(1e-12 * max(self.maxabs(a), 1e-300), absolute)
        for lib_vals in (self.theirs[a], self.ours[a]):
            x = np.abs(_np(lib_vals))
            if np.any((x > 0) & (x <= tiny)):
                STATS["tie_ambiguous"] += 1
                return True
        return False

    def signed_zeros_differ(self, names):
        """Whether a zero has different signs on the two libraries. atan2 tells
        -0.0 from +0.0 (atan2(-0, -0) = -pi, atan2(+0, -0) = pi), and a 1x1
        matmul that comes to zero is -0.0 in NumPy's product and +0.0 in
        PyTorch's BLAS. Not a bug, not comparable."""
        for n in names:
            if n in self.theirs and n in self.ours and self.is_float(n):
                theirs, ours = _np(self.theirs[n]), _np(self.ours[n])
                zeros = (theirs == 0) & (ours == 0)
                if np.any(zeros & (np.signbit(theirs) != np.signbit(ours))):
                    STATS["tie_ambiguous"] += 1
                    return True
        return False

    def drop(self, name):
        """Exclude a value whose ties went different ways (and what shares its memory)."""
        ptr = self.theirs[name].untyped_storage().data_ptr()
        for n in self.vals:
            if n == name or self.theirs[n].untyped_storage().data_ptr() == ptr:
                self.dead.add(n)
                self.unreliable.add(n)

    def new_tensor(self, shape, requires_grad=True, halves=None):
        """A leaf (or a constant) with drawn data."""
        name = self.fresh()
        n = math.prod(shape)
        if halves is None:
            halves = self.flag()
        # halves (exact arithmetic: ties stay ties) or k/997 in [-2, 2] (inexact, but no
        # extreme magnitudes whose rounding would depend on the summation order)
        elem = st.sampled_from(HALVES) if not halves else st.integers(-1994, 1994).map(lambda k: k / 997)
        vals = self.draw(st.lists(elem, min_size=n, max_size=n))
        rg = ", requires_grad=True" if requires_grad else ""
        if n == 0:
            code = f"{name} = lib.zeros({shape!r}, dtype=lib.float64{rg})"
        else:
            data = np.array(vals, dtype=np.float64).reshape(shape).tolist()
            code = f"{name} = lib.tensor({data!r}, dtype=lib.float64{rg})"
        self.run(code, new=(name,))
        if requires_grad:
            self.leaves.append(name)
        return name

    def const(self, shape):
        """Weights of a projection: fixed, distinct, non-degenerate."""
        n = math.prod(shape)
        w = np.round(np.cos(np.arange(n) * 0.7 + 0.3), 6).reshape(shape)
        return f"lib.tensor({w.tolist()!r}, dtype=lib.float64)"


TIE_SENSITIVE = re.compile(r"max|min|argm|median|relu|abs|sign|clamp|where|norm|sort|topk|kthvalue|trunc|floor|frac|"
                           r"fmod|remainder|hardtanh|threshold|shrink|hards|relu6|loss|[<>]|[=!]=")
_TIE_REF = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.0, -2.0, 3.0, -2.5, 0.25])


def _tie_signature(a):
    """Which entries are equal to each other or to the usual constants."""
    _, inverse = np.unique(np.concatenate([np.asarray(a, dtype=np.float64).ravel(), _TIE_REF]), return_inverse=True)
    return inverse


# ---- shapes ------------------------------------------------------------------------

SIZES = [2, 3, 1, 4, 2, 3, 1, 0]       # a zero-size dim now and then


def draw_shape(p, max_ndim=3):
    nd = p.integer(0, max_ndim)
    return tuple(p.choice(SIZES) for _ in range(nd))


def broadcast_partner_shape(p, shape):
    """A shape that broadcasts with `shape`: leading dims dropped or added, some set to 1."""
    s = list(shape[p.integer(0, len(shape)):]) if shape and p.flag() else list(shape)
    for i in range(len(s)):
        if p.integer(0, 3) == 0:
            s[i] = 1
    if p.integer(0, 4) == 0:
        s.insert(0, p.choice([2, 1]))
    return tuple(s)


def bshape(a, b):
    """The broadcast shape of two shapes, or None."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def broadcasts(a, b):
    return bshape(a, b) is not None


def partner(p, a, broadcast_to=False):
    """An operand for `a`: an existing value that broadcasts with it (reuse: a
    DAG), or a new leaf or constant of a broadcastable shape."""
    sa = p.shape(a)
    ok = (lambda n: bshape(sa, p.shape(n)) == sa) if broadcast_to else \
        (lambda n: broadcasts(sa, p.shape(n)))
    how = p.integer(0, 3)
    if how <= 1:
        b = p.pick(ok)
        if b is not None:
            return b
    shape = broadcast_partner_shape(p, sa)
    if broadcast_to:
        shape = shape[-len(sa):] if len(shape) > len(sa) else shape
        if len(sa) == 0 or bshape(sa, shape) != sa:
            shape = () if len(sa) == 0 else sa
    return p.new_tensor(shape, requires_grad=how != 3)


def positive(p, a):
    """An expression over `a` that is > 0 (log, sqrt, pow bases, divisors)."""
    if p.candidates() and p.minval(a) >= 0.25:
        return a
    return p.choice([f"({a}.abs() + 0.5)", f"({a} * {a} + 0.25)", f"{a}.exp()" if p.maxabs(a) < 5 else f"({a}.abs() + 1)"])


def nonzero(p, a):
    if p.minabs(a) >= 0.25:
        return a
    return f"({a}.abs() + 0.5)"


def dims_arg(p, nd):
    """None (all), an int dim (maybe negative), or a tuple of dims."""
    k = p.integer(0, 2)
    if k == 0 or nd == 0:
        return None if k == 0 else p.choice([0, -1])
    if k == 1:
        return p.integer(-nd, nd - 1)
    dims = p.draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
    return tuple(d - nd if p.flag() else d for d in dims)


# ---- op generators: each draws one statement and runs it ---------------------------

ARITH = ["+", "-", "*", "/", "**", "maximum", "minimum", "add_alpha", "sub_alpha", "mul_fn", "div_fn", "atan2",
         "lerp", "logaddexp", "hypot", "fmax", "fmin", "addcmul", "addcdiv", "xlogy"]


def gen_arith(p):
    op = p.choice(ARITH)
    a = p.pick()
    b = partner(p, a)
    r = p.fresh()
    if op == "/":
        code = f"{r} = {a} / {nonzero(p, b)}"
    elif op == "div_fn":
        code = f"{r} = lib.div({a}, {nonzero(p, b)})"
    elif op == "**":
        base = positive(p, a)
        e = b if p.maxabs(b) <= 3 else f"{b}.tanh()"
        if p.maxabs(a) > 20:
            base = f"({a}.tanh() + 1.5)"
        code = f"{r} = {base} ** {e}"
    elif op in ("maximum", "minimum", "logaddexp", "hypot", "fmax", "fmin"):
        code = f"{r} = lib.{op}({a}, {b})"
    elif op in ("addcmul", "addcdiv"):
        c = partner(p, a)
        c = nonzero(p, c) if op == "addcdiv" else c
        code = f"{r} = {a}.{op}({b}, {c}, value={p.choice(SCALARS)})"
        p.run(code, (r,), (a, b, c), op, "arithmetic")
        return
    elif op == "xlogy":
        code = f"{r} = lib.xlogy({a}, {positive(p, b)})"
    elif op == "atan2":
        code = f"{r} = lib.atan2({a}, {b})" if p.flag() else f"{r} = {b}.atan2({a})"
    elif op == "lerp":
        w = p.choice(SCALARS) if p.flag() else partner(p, a)
        code = f"{r} = lib.lerp({a}, {b}, {w})" if p.flag() else f"{r} = {a}.lerp({b}, {w})"
    elif op == "add_alpha":
        code = f"{r} = {a}.add({b}, alpha={p.choice(SCALARS)})"
    elif op == "sub_alpha":
        code = f"{r} = lib.sub({a}, {b}, alpha={p.choice(SCALARS)})"
    elif op == "mul_fn":
        code = f"{r} = lib.mul({a}, {b})"
    else:
        code = f"{r} = {a} {op} {b}"
    p.run(code, (r,), (a, b), op, "arithmetic")


SCALAR_OPS = ["x+s", "s+x", "x-s", "s-x", "x*s", "s*x", "x/s", "s/x", "x**k", "s**x", "-x", "neg"]


def gen_scalar(p):
    op = p.choice(SCALAR_OPS)
    a = p.pick()
    s = p.choice(SCALARS)
    r = p.fresh()
    if op == "x/s":
        s = s or 2
        code = f"{r} = {a} / {s}"
    elif op == "s/x":
        # Known divergence: PyTorch's Python `2 / x` is x.reciprocal() * 2 (saves
        # the result); ours is libtorch's div (DivBackward0, as API.md asks), which
        # saves x: writing x in place later is an error here only.
        p.frozen.add(p.t(a).untyped_storage().data_ptr())
        code = f"{r} = {s} / {nonzero(p, a)}"
    elif op == "x**k":
        k = p.choice([2, 3, 0, 1, 0.5, -1, 1.5, -0.5, 2.0])
        base = a if (isinstance(k, int) and k >= 0) else positive(p, a)
        if p.maxabs(a) > 30:
            base = f"{a}.tanh()"
        code = f"{r} = {base} ** {k}"
    elif op == "s**x":
        base = p.choice([2, 0.5, 3, 1.5])
        x = a if p.maxabs(a) <= 10 else f"{a}.tanh()"
        code = f"{r} = {base} ** {x}"
    elif op == "-x":
        code = f"{r} = -{a}"
    elif op == "neg":
        code = f"{r} = lib.neg({a})"
    else:
        code = f"{r} = " + op.replace("x", a).replace("s", repr(s))
    p.run(code, (r,), (a,), op, "arithmetic (Python number)")


UNARY = ["exp", "log", "log1p", "sqrt", "rsqrt", "square", "abs", "sign", "sin", "cos", "tanh", "sigmoid",
         "relu", "clamp", "clamp_tensor", "where", "where_scalar", "erf", "erfc", "erfinv", "gelu", "asinh", "sinc",
         "deg2rad", "nan_to_num", "silu", "softplus"]


def gen_pointwise(p):
    op = p.choice(UNARY)
    a = p.pick()
    r = p.fresh()
    inputs = (a,)
    if op in ("log", "sqrt", "rsqrt"):
        x = positive(p, a)
    elif op == "log1p":
        x = a if p.minval(a) > -0.5 else f"{a}.abs()"
    elif op == "exp":
        x = a if p.maxabs(a) < 10 else f"{a}.tanh()"
    elif op == "erfinv":
        x = f"({a}.tanh() * 0.9)"
    else:
        x = a
    fn = p.flag()                      # method or function form
    if op == "clamp":
        # Known divergence: clamp with number bounds keeps a mask, not its input,
        # so writing the input in place later is no error here (PyTorch raises).
        p.frozen.add(p.t(a).untyped_storage().data_ptr())
        lo = p.choice([None, 0, -1, 0.5, -0.5, 1.5])
        hi = p.choice([None, 0, 1, 0.5, -0.5, 2]) if lo is not None else p.choice([0, 1, 0.5, -1])
        code = f"{r} = {a}.clamp(min={lo}, max={hi})" if not fn else f"{r} = lib.clamp({a}, {lo}, {hi})"
    elif op == "clamp_tensor":
        # bounds that broadcast the input to a larger shape make PyTorch's own
        # backward fail ("output with shape [] doesn't match the broadcast shape")
        lo = partner(p, a, broadcast_to=True)
        hi = partner(p, a, broadcast_to=True)
        code = f"{r} = {a}.clamp({lo}, {hi})"
        inputs = (a, lo, hi)
    elif op == "where":
        b = partner(p, a)
        ab = bshape(p.shape(a), p.shape(b)) or p.shape(a)
        c = p.pick(lambda n: broadcasts(ab, p.shape(n))) or a
        cond = p.choice([f"({c} > 0)", f"({a} >= {b})", f"({c} != {c}.sign())", f"({a} < 0.5)"])
        code = f"{r} = lib.where({cond}, {a}, {b})"
        inputs = (a, b, c)
    elif op == "where_scalar":
        s = p.choice(SCALARS)
        code = p.choice([f"{r} = lib.where({a} > 0, {a}, {float(s)})", f"{r} = lib.where({a} <= 0, {float(s)}, {a})",
                         f"{r} = {a}.where({a} != 0, {float(s)})"])
    elif op == "gelu":
        code = f"{r} = lib.nn.functional.gelu({a}, approximate={p.choice(['none', 'tanh'])!r})"
    elif op in ("silu", "softplus"):
        code = f"{r} = lib.nn.functional.{op}({a})"
    else:
        code = f"{r} = lib.{op}({x})" if fn else f"{r} = {x}.{op}()"
    p.run(code, (r,), inputs, op, "pointwise")


REDUCTIONS = ["sum", "mean", "prod", "var", "std", "amax", "amin", "max", "min", "max_dim", "min_dim",
              "logsumexp", "softmax", "log_softmax", "norm", "argmax", "median", "median_dim"]


def gen_reduction(p):
    op = p.choice(REDUCTIONS)
    a = p.pick()
    sa = p.shape(a)
    nd = len(sa)
    r = p.fresh()
    keep = p.flag()
    if op in ("sum", "mean"):
        d = dims_arg(p, nd)
        code = f"{r} = {a}.{op}()" if d is None else (
            f"{r} = {a}.{op}({d!r}, keepdim={keep})" if p.flag() else f"{r} = lib.{op}({a}, {d!r}, {keep})")
    elif op == "prod":
        x = a if p.maxabs(a) <= 2 else f"{a}.tanh()"
        code = f"{r} = {x}.prod()" if p.flag() or nd == 0 else \
            f"{r} = {x}.prod({p.integer(-nd, nd - 1)}, keepdim={keep})"
    elif op in ("var", "std"):
        d = dims_arg(p, nd)
        axes = range(nd) if d is None else ((d,) if isinstance(d, int) else d)
        count = math.prod(sa[i] for i in axes) if nd else 1
        corr = p.choice([1, 0]) if count > 1 else 0
        form = p.integer(0, 2)
        if d is None:
            code = f"{r} = {a}.{op}()" if corr == 1 else f"{r} = {a}.{op}(unbiased=False)"
        elif form == 0:
            code = f"{r} = {a}.{op}({d!r}, unbiased={corr == 1}, keepdim={keep})"
        else:
            code = f"{r} = {a}.{op}({d!r}, correction={corr}, keepdim={keep})"
    elif op in ("amax", "amin"):
        d = dims_arg(p, nd)
        code = f"{r} = {a}.{op}()" if d is None else f"{r} = {a}.{op}({d!r}, keepdim={keep})"
    elif op in ("max", "min"):
        code = f"{r} = {a}.{op}()" if p.flag() else f"{r} = lib.{op}({a})"
    elif op == "median":
        code = f"{r} = {a}.median()" if p.flag() else f"{r} = lib.median({a})"
    elif op in ("max_dim", "min_dim", "median_dim"):
        d = p.integer(-nd, nd - 1) if nd else 0
        m = op[:-4]
        if m == "median" and overlapping(p, a):
            # Known PyTorch bug (docs/nan_semantics.md): its CPU median(dim) of an expanded
            # tensor reads wrong values; both libraries get a contiguous copy instead
            a = f"{a}.contiguous()"
        if p.integer(0, 3) == 0:         # the indices: an integer value for later indexing
            code = f"{r} = {a}.{m}({d}, keepdim={keep})[1]"
        else:
            code = p.choice([f"{r} = {a}.{m}({d}, keepdim={keep})[0]", f"{r} = {a}.{m}(dim={d}).values"])
    elif op == "logsumexp":
        d = dims_arg(p, nd)
        d = 0 if d is None else d
        code = f"{r} = {a}.logsumexp({d!r}, keepdim={keep})"
    elif op in ("softmax", "log_softmax"):
        d = p.integer(-nd, nd - 1) if nd else 0
        code = f"{r} = {a}.{op}({d})" if p.flag() else f"{r} = lib.{op}({a}, {d})"
    elif op == "norm":
        pnorm = p.choice([2, 1, 3, "inf", "'fro'", "-inf", 0])
        d = dims_arg(p, nd)
        if pnorm == "'fro'" and isinstance(d, tuple) and len(d) > 2:
            d = d[:2]
        if d is None:
            code = f"{r} = {a}.norm()" if pnorm == 2 else f"{r} = {a}.norm(p={pnorm})"
        else:
            code = f"{r} = {a}.norm(p={pnorm}, dim={d!r}, keepdim={keep})"
    else:   # argmax / argmin: an integer value
        f = p.choice(["argmax", "argmin"])
        code = f"{r} = {a}.{f}()" if nd == 0 or p.flag() else f"{r} = {a}.{f}({p.integer(-nd, nd - 1)}, keepdim={keep})"
    if p.run(code, (r,), (a,), op, "reduction") and op == "norm" and pnorm == 0:
        # Known divergence: norm(p=0) sends no gradient; PyTorch's engine still runs
        # the nodes above it (and raises their version errors), ours skips them.
        p.dead.add(r)


def gen_matmul(p):
    a = p.pick(lambda n: len(p.shape(n)) >= 1)
    if a is None:
        a = p.new_tensor((p.choice([2, 3]), p.choice([2, 3])))
    sa = p.shape(a)
    n = sa[-1]
    form = p.choice(["@", "matmul", "mm", "bmm", "dot", "mv", "vec@", "einsum"])
    r = p.fresh()
    if form == "einsum":
        code, b = einsum_statement(p, a, r)
        # Known divergence: where a summed subscript has size 1, PyTorch's einsum keeps a view
        # of the operand (it squeezes instead of summing) in its graph, so writing the operand
        # in place later is a version error there; ours sums first and keeps the sum.
        p.frozen.update(p.t(n).untyped_storage().data_ptr() for n in (a, b))
    elif form == "dot" and len(sa) == 1:
        b = p.pick(lambda v: p.shape(v) == (n,)) or p.new_tensor((n,))
        code = f"{r} = {a}.dot({b})"
    elif form == "mv" and len(sa) == 2:
        b = p.pick(lambda v: p.shape(v) == (n,)) or p.new_tensor((n,))
        code = f"{r} = {a}.mv({b})"
    elif form == "mm" and len(sa) == 2:
        b = p.pick(lambda v: len(p.shape(v)) == 2 and p.shape(v)[0] == n) or p.new_tensor((n, p.choice([1, 2, 3])))
        code = f"{r} = {a}.mm({b})" if p.flag() else f"{r} = lib.mm({a}, {b})"
    elif form == "bmm" and len(sa) == 3:
        b = p.pick(lambda v: len(p.shape(v)) == 3 and p.shape(v)[:2] == (sa[0], n)) or \
            p.new_tensor((sa[0], n, p.choice([1, 2])))
        code = f"{r} = lib.bmm({a}, {b})"
    elif form == "vec@":
        v = p.pick(lambda x: len(p.shape(x)) == 1 and len(sa) >= 2 and p.shape(x)[0] == sa[-2])
        if v is None:
            v = p.new_tensor((sa[-2],) if len(sa) >= 2 else (n,))
        code = f"{r} = {v} @ {a}"
        b = v
        if len(sa) >= 3:
            # Known divergence, as below: PyTorch folds v @ a into a 2-D product of
            # a copy of a.mT, so writing a in place later is no error there.
            p.frozen.update(p.t(n).untyped_storage().data_ptr() for n in (a, v))
    else:
        def ok(v):
            s = p.shape(v)
            return len(s) == 1 and s[0] == n or (len(s) >= 2 and s[-2] == n and broadcasts(sa[:-2], s[:-2]))
        b = p.pick(ok)
        if b is None:
            batch = sa[:-2][p.integer(0, max(0, len(sa) - 2)):] if len(sa) > 2 else ()
            shape = p.choice([(n,), (n, p.choice([1, 2, 3])), tuple(batch) + (n, 2)])
            b = p.new_tensor(shape)
        code = f"{r} = {a} @ {b}" if form != "matmul" else f"{r} = lib.matmul({a}, {b})"
        sb = p.shape(b)
        if len(sb) >= 2 and len(sa) >= 2 and (len(sa) > 2 or len(sb) > 2) and sa[:-2] != sb[:-2]:
            # Known divergence: for broadcast batch dims PyTorch's matmul saves internal
            # copies of its operands, so writing them in place later is no error there.
            p.frozen.update(p.t(n).untyped_storage().data_ptr() for n in (a, b))
    if p.run(code, (r,), (a, b), form, "matmul") and form == "einsum" and p.t(r)._is_view():
        # Known divergence: PyTorch's einsum may return a view of its internal product (ours
        # never does); a write through a view of it later regenerates its grad_fn there, which
        # makes its retained grad that of the view node alone (or drops it); ours is the base's
        p.torch_only_views.add(r)


def einsum_statement(p, a, r):
    """lib.einsum over a and a second value: a's dims get distinct subscripts, the
    other's dims reuse one of a's where the sizes agree (or one is 1: broadcast),
    else new ones; the output is implicit, or a random choice of the subscripts."""
    sa = p.shape(a)
    b = p.pick(lambda n: len(p.shape(n)) <= 3)
    if b is None:
        b = p.new_tensor((p.choice([1, 2, 3]),))
    sb = p.shape(b)
    la = list("ijk"[:len(sa)])
    lb = []
    for n in sb:
        shared = [c for c, m in zip(la, sa) if (m == n or 1 in (m, n)) and c not in lb]
        lb.append(p.choice(shared) if shared and p.flag() else "mno"[len(lb)])
    used = list(dict.fromkeys(la + lb))
    if p.flag():
        eq = f"{''.join(la)},{''.join(lb)}"
    else:
        out = [c for c in used if p.flag()]
        eq = f"{''.join(la)},{''.join(lb)}->{''.join(p.draw(st.permutations(out)))}"
    return f"{r} = lib.einsum({eq!r}, {a}, {b})", b


def factor_shape(p, numel):
    """A random shape with `numel` elements (maybe with one -1)."""
    if numel == 0:
        return p.choice([(0,), (2, 0), (0, -1)])
    shape = []
    rest = numel
    for _ in range(p.integer(0, 3)):
        divs = [d for d in range(1, rest + 1) if rest % d == 0]
        d = p.choice(divs)
        shape.append(d)
        rest //= d
    shape.append(rest)
    if len(shape) > 1 and p.flag():
        shape[p.integer(0, len(shape) - 1)] = -1
    return tuple(shape)


SHAPE_OPS = ["reshape", "view", "flatten", "squeeze", "unsqueeze", "transpose", "t", "T", "permute", "movedim",
             "expand", "repeat", "cat", "stack", "chunk", "split", "unbind", "contiguous", "clone", "detach",
             "diagonal", "diag", "diag_embed", "trace", "repeat_interleave"]


def gen_shape(p):
    op = p.choice(SHAPE_OPS)
    a = p.pick()
    sa = p.shape(a)
    nd = len(sa)
    r = p.fresh()
    inputs = (a,)
    if op in ("reshape", "view"):
        shape = factor_shape(p, math.prod(sa))
        code = f"{r} = {a}.{op}{shape!r}" if len(shape) > 1 else f"{r} = {a}.{op}({shape[0]})"
        if p.flag() and op == "reshape":
            code = f"{r} = lib.reshape({a}, {shape!r})"
    elif op == "flatten":
        if nd == 0 or p.flag():
            code = f"{r} = {a}.flatten()"
        else:
            s = p.integer(-nd, nd - 1)
            e = p.integer((s % nd), nd - 1)
            code = f"{r} = lib.flatten({a}, {s}, {e})"
    elif op == "squeeze":
        code = f"{r} = {a}.squeeze()" if nd == 0 or p.flag() else f"{r} = {a}.squeeze({p.integer(-nd, nd - 1)})"
    elif op == "unsqueeze":
        code = f"{r} = {a}.unsqueeze({p.integer(-nd - 1, nd)})"
    elif op == "transpose" and nd >= 1:
        code = f"{r} = {a}.transpose({p.integer(-nd, nd - 1)}, {p.integer(-nd, nd - 1)})"
    elif op == "t" and nd <= 2:
        code = f"{r} = {a}.t()" if p.flag() else f"{r} = lib.t({a})"
    elif op == "T" and nd == 2:
        code = f"{r} = {a}.T"
    elif op == "permute":
        perm = p.draw(st.permutations(range(nd)))
        code = f"{r} = {a}.permute({', '.join(map(str, perm))})" if nd else f"{r} = {a}.permute(())"
    elif op == "movedim" and nd >= 1:
        code = f"{r} = {a}.movedim({p.integer(-nd, nd - 1)}, {p.integer(-nd, nd - 1)})"
    elif op == "expand":
        lead = [p.choice([1, 2, 3]) for _ in range(p.integer(0, 1))]
        sizes = lead + [p.choice([n, 3, 2, -1]) if n == 1 else p.choice([n, -1]) for n in sa]
        code = f"{r} = {a}.expand({', '.join(map(str, sizes))})" if sizes else f"{r} = {a}.expand(())"
    elif op == "repeat":
        reps = [p.choice([1, 2, 3]) for _ in range(nd + p.integer(0, 1))]
        code = f"{r} = {a}.repeat({', '.join(map(str, reps))})" if reps else f"{r} = {a}.repeat(())"
    elif op == "cat" and nd >= 1:
        d = p.integer(-nd, nd - 1)
        ax = d % nd
        b = p.pick(lambda n: len(p.shape(n)) == nd and all(
            x == y for i, (x, y) in enumerate(zip(p.shape(n), sa)) if i != ax))
        if b is None:
            shape = list(sa)
            shape[ax] = p.choice([1, 2])
            b = p.new_tensor(tuple(shape), requires_grad=p.flag())
        parts = p.choice([f"[{a}, {b}]", f"({b}, {a}, {a})", f"[{a}]"])
        code = f"{r} = lib.cat({parts}, {d})"
        inputs = (a, b)
    elif op == "stack":
        b = p.pick(lambda n: p.shape(n) == sa) or a
        code = f"{r} = lib.stack([{a}, {b}], {p.integer(-nd - 1, nd)})"
        inputs = (a, b)
    elif op in ("chunk", "split", "unbind") and nd >= 1:
        d = p.integer(-nd, nd - 1)
        size = sa[d]
        if op == "chunk":
            k = p.integer(1, 3)
            pieces = len(range(0, size, max(1, -(-size // k)))) if size else 1
            code = f"{r} = {a}.chunk({k}, {d})[{p.integer(0, pieces - 1)}]"
        elif op == "split":
            if p.flag() and size:
                first = p.integer(0, size)
                code = f"{r} = {a}.split([{first}, {size - first}], {d})[{p.integer(0, 1)}]"
            else:
                s = p.integer(1, 3)
                pieces = len(range(0, size, s)) or 1
                code = f"{r} = lib.split({a}, {s}, {d})[{p.integer(0, pieces - 1)}]"
        else:
            if size == 0:
                return
            code = f"{r} = {a}.unbind({d})[{p.integer(0, size - 1)}]"
    elif op == "diagonal" and nd >= 2:
        d1 = p.integer(-nd, nd - 1)
        d2 = p.choice([d for d in range(-nd, nd) if d % nd != d1 % nd])
        code = f"{r} = {a}.diagonal({p.integer(-2, 2)}, {d1}, {d2})" if p.flag() else \
            f"{r} = lib.diagonal({a}, dim1={d1}, dim2={d2})"
    elif op == "diagonal" and nd == 1:
        code = f"{r} = lib.diag({a}).diagonal({p.integer(-1, 1)})"
    elif op == "diag" and nd in (1, 2):
        code = f"{r} = lib.diag({a}, {p.integer(-2, 2)})" if p.flag() else f"{r} = {a}.diag()"
    elif op == "diag_embed" and 1 <= nd <= 2:
        d1 = p.integer(-nd - 1, nd)
        d2 = p.choice([d for d in range(-nd - 1, nd + 1) if d % (nd + 1) != d1 % (nd + 1)])
        code = f"{r} = lib.diag_embed({a}, {p.integer(-1, 1)}, {d1}, {d2})"
    elif op == "repeat_interleave" and nd >= 1:
        d = p.integer(-nd, nd - 1)
        counts = [p.integer(0, 2) for _ in range(sa[d])]
        reps = p.choice([str(p.integer(0, 2)), f"lib.tensor({counts!r}, dtype=lib.int64)"])
        code = f"{r} = {a}.repeat_interleave({reps}, dim={d})" if p.flag() else f"{r} = lib.repeat_interleave({a}, {reps})"
    elif op == "trace" and nd == 2:
        code = f"{r} = {a}.trace()" if p.flag() else f"{r} = lib.trace({a})"
    elif op == "contiguous":
        code = f"{r} = {a}.contiguous()"
    elif op == "clone":
        code = f"{r} = {a}.clone()" if p.flag() else f"{r} = lib.clone({a})"
    elif op == "detach" and p.integer(0, 2) == 0:
        code = f"{r} = {a}.detach()"
    else:
        code = f"{r} = {a}.flatten()"
        op = "flatten"
    p.run(code, (r,), inputs, op, "shape")


def basic_index(p, shape):
    """A basic index (ints, slices, None, Ellipsis) as source text."""
    parts = []
    dims = list(shape)
    used_ellipsis = False
    for _ in range(p.integer(1, max(1, len(dims) + 1))):
        k = p.integer(0, 5)
        if k == 0 and dims:
            n = dims.pop(0)
            parts.append(str(p.integer(-n, n - 1)) if n else "0")
        elif k <= 2 and dims:
            dims.pop(0)
            start = p.choice(["", "1", "0", "-2", "-1"])
            stop = p.choice(["", "2", "-1", "3", "5"])
            step = p.choice(["", "", ":2", ":3"])
            parts.append(f"{start}:{stop}{step}")
        elif k == 3:
            parts.append("None")
        elif k == 4 and not used_ellipsis:
            used_ellipsis = True
            parts.append("...")
            dims = dims[len(dims):]
        else:
            parts.append(":")
            if dims:
                dims.pop(0)
    return ", ".join(parts)


def advanced_index(p, a):
    sa = p.shape(a)
    n0 = sa[0]
    k = p.integer(0, 6)
    ints = lambda n, m: "[" + ", ".join(str(p.integer(-n, n - 1)) for _ in range(m)) + "]"  # noqa: E731
    if k == 0:
        return ints(n0, p.integer(1, 4)) if n0 else "[]"
    if k == 1:
        return f"lib.tensor({ints(n0, p.integer(1, 3))})" if n0 else "lib.tensor([], dtype=lib.int64)"
    if k == 2:
        return p.choice([f"{a} > 0", f"{a} == {a}.amax()" if n0 else f"{a} > 0", f"{a} != 0.5"])
    if k == 3:
        mask = [p.flag() for _ in range(n0)]
        return f"lib.tensor({mask!r})" if n0 else "lib.tensor([], dtype=lib.bool)"
    if k == 4 and len(sa) >= 2 and n0 and sa[1]:
        m = p.integer(1, 3)
        return f"{ints(n0, m)}, {ints(sa[1], m)}"
    if k == 5 and len(sa) >= 2 and sa[1]:
        return f":, {ints(sa[1], p.integer(1, 3))}"
    idx = p.pick(lambda v: p.t(v).numel() > 0 and int(p.t(v).max()) < n0, floats=False)
    if idx is not None and p.t(idx).dtype != p.theirs["lib"].bool:
        return idx
    return ints(n0, 2) if n0 else "[]"


def along_index(p, shape, d, distinct=False):
    """An int64 index tensor (source text) for gather/scatter along dim d of a
    tensor of `shape`: no larger than it, values in range. `distinct`: no value
    repeats along d (scatter's writes then never collide: which one lands is
    undefined on a GPU)."""
    n = shape[d]
    ishape = [p.integer(1, s) if s else 0 for s in shape]
    if distinct:
        ishape[d] = min(ishape[d], n)
        shift = p.integer(0, max(0, n - 1))
        idx = (np.arange(ishape[d]) + shift) % max(n, 1)
        vals = np.broadcast_to(idx.reshape([-1 if k == d else 1 for k in range(len(shape))]), ishape)
    else:
        vals = np.array(p.draw(st.lists(st.integers(0, max(n - 1, 0)), min_size=math.prod(ishape),
                                        max_size=math.prod(ishape)))).reshape(ishape)
    if vals.size == 0:
        return f"lib.zeros({tuple(ishape)!r}, dtype=lib.int64)", tuple(ishape)
    return f"lib.tensor({vals.tolist()!r})", tuple(ishape)


WRITES_ALONG = ["gather", "scatter", "scatter_value", "scatter_add", "index_add", "masked_select"]


def write_along(p, a, op, inplace=False):
    """(an expression, the values it reads): op of a along a random dim, or its
    in-place form (scatter, scatter_add, index_add)."""
    sa = p.shape(a)
    d = p.integer(0, len(sa) - 1)
    name = ("scatter" if op == "scatter_value" else op) + ("_" if inplace else "")
    if op == "masked_select":
        return f"{a}.masked_select({a} > {p.choice([0, 0.5, -1])})", (a,)
    if op == "index_add":
        k = p.integer(0, 3)
        idx = [p.integer(0, sa[d] - 1) for _ in range(k)] if sa[d] else []
        src = p.new_tensor(sa[:d] + (k,) + sa[d + 1:], requires_grad=p.flag())
        alpha = f", alpha={p.choice(SCALARS)}" if p.flag() else ""
        return f"{a}.{name}({d}, lib.tensor({idx!r}, dtype=lib.int64), {src}{alpha})", (a, src)
    index, ishape = along_index(p, sa, d, distinct=op in ("scatter", "scatter_value"))
    if op == "gather":
        return f"{a}.gather({d}, {index})", (a,)
    if op == "scatter_value":
        return f"{a}.{name}({d}, {index}, {p.choice(SCALARS)})", (a,)
    src = p.new_tensor(ishape, requires_grad=p.flag())
    return f"{a}.{name}({d}, {index}, {src})", (a, src)


def gen_index(p):
    a = p.pick(lambda n: len(p.shape(n)) >= 1)
    if a is None:
        a = p.new_tensor((p.choice([2, 3, 4]),))
    r = p.fresh()
    if p.integer(0, 3) == 0:
        op = p.choice(WRITES_ALONG)
        expr, inputs = write_along(p, a, op)
        p.run(f"{r} = {expr}", (r,), inputs, op, "indexing")
        return
    if p.flag():
        idx = basic_index(p, p.shape(a))
        op = "basic"
    else:
        idx = advanced_index(p, a)
        op = "advanced"
    p.run(f"{r} = {a}[{idx}]", (r,), (a,), op, "indexing")


INPLACE = ["add_", "sub_", "mul_", "div_", "add_s", "mul_s", "pow_", "clamp_", "zero_", "fill_", "copy_",
           "unary_", "setitem", "setitem_adv", "view_add_", "view_mul_", "masked_fill_", "diagonal_",
           "scatter_add_", "index_add_"]


def overlapping(p, expr):
    """Whether tensor `expr` (a name or an expression of names) repeats an element (an expanded tensor)."""
    try:
        t = eval(expr, p.theirs)
    except Exception:           # (v[0] of an empty v: the statement fails on both)
        return False
    return any(s == 0 and n > 1 for s, n in zip(t.stride(), t.shape))


def unaliased(p, t, b, allow_same=True):
    """b, or a copy of it where it shares memory with t but is not t itself.
    Known divergence: PyTorch refuses such partial overlaps ("some elements of
    the input tensor and the written-to tensor refer to a single memory
    location"); we compute as if the operand had been copied first."""
    if (b != t or not allow_same) and b in p.theirs and \
            p.t(b).untyped_storage().data_ptr() == p.t(t).untyped_storage().data_ptr():
        return f"{b}.clone()"
    return b


def inplace_target(p):
    """A fresh non-leaf copy, an existing non-leaf (maybe saved by other nodes,
    maybe a view), or rarely a leaf (which must fail on both)."""
    how = p.integer(0, 5)
    a = p.pick()
    if how <= 1:
        t = p.fresh()
        p.run(f"{t} = " + p.choice([f"{a} * 1", f"{a}.clone()", f"{a} + 0.0"]), (t,), (a,))
        return t
    if how == 5:
        return a
    return p.pick(lambda n: n not in p.leaves) or a


def writes_twice(p, t, idx):
    """Whether `t[idx] = v` writes some element of t more than once (counted by
    PyTorch: the gradient of t[idx] adds one per read)."""
    torch = p.theirs["lib"]
    count = torch.zeros(p.shape(t), dtype=torch.float64, requires_grad=True)
    try:
        with torch.enable_grad():
            eval(f"_count[{idx}]", dict(p.theirs, _count=count)).sum().backward()
    except Exception:       # (an index that fails: the statement fails on both)
        return False
    return bool((count.grad > 1).any())


def gen_inplace(p):
    op = p.choice(INPLACE)
    t = inplace_target(p)
    st_ = p.shape(t)
    if p.t(t).untyped_storage().data_ptr() in p.frozen:
        return
    if op in ("zero_", "fill_", "setitem_adv") and overlapping(p, t):
        # Known, documented divergence (docs/nan_semantics.md, "stricter than PyTorch"):
        # PyTorch lets zero_/fill_ and advanced-index writes through an expanded tensor.
        op = "mul_s"
    if op in ("diagonal_", "scatter_add_", "index_add_") and (not st_ or overlapping(p, t)):
        op = "mul_s"                       # (they need a dim; writing an expanded tensor: as above)
    inputs = [t]
    if op in ("add_", "sub_", "mul_", "div_", "copy_"):
        b = partner(p, t, broadcast_to=p.integer(0, 5) != 0)
        inputs.append(b)
        if op == "div_":
            b = nonzero(p, b)
        if b == t and op == "copy_" and overlapping(p, t):
            # Known divergence: PyTorch lets an expanded tensor be copied onto itself
            b = f"{t}.clone()"
        if b == t and op in ("mul_", "div_"):
            # Known divergence: PyTorch's t.mul_(t) saves `other` (= t, overwritten)
            # and fails in backward; we snapshot it and give the right gradient.
            b = f"{t}.clone()"
        b = unaliased(p, t, b)
        if op == "div_":
            code = f"{t}.div_({b})"
        elif op in ("add_", "sub_") and p.flag():
            code = f"{t}.{op}({b}, alpha={p.choice(SCALARS)})"
        else:
            code = f"{t}.{op}({b})"
    elif op in ("add_s", "mul_s"):
        code = f"{t}.{op[:3]}_({p.choice(SCALARS)})"
    elif op == "pow_":
        code = f"{t}.pow_({p.choice([2, 3, 1])})" if p.maxabs(t) < 30 else f"{t}.tanh_()"
    elif op == "clamp_":
        code = f"{t}.clamp_({p.choice([-1, 0, None])}, {p.choice([1, 0.5, 0])})"
    elif op == "masked_fill_":
        # a mask from t's own values (ties: TIE_SENSITIVE), through t or a view of it; a number or a
        # 0-d tensor (its gradient: the sum over the filled places)
        target = t if not st_ or p.flag() else p.choice([f"{t}[0]", f"{t}[..., 1:]"])
        if overlapping(p, target):
            # Known, documented divergence (docs/nan_semantics.md, "stricter than PyTorch"): PyTorch
            # lets masked_fill_ through an expanded tensor, with a deprecation warning.
            target = f"{target}.clone()"
        v = p.new_tensor((), requires_grad=p.flag()) if p.flag() else p.choice(SCALARS)
        if isinstance(v, str):
            inputs.append(v)
        code = f"{target}.masked_fill_({target} > {p.choice([0, 0.5, -1])}, {v})"
    elif op == "diagonal_":
        through = t if len(st_) >= 2 else f"{t}.unsqueeze({p.integer(0, 1)})"
        code = f"{through}.diagonal({p.integer(-1, 1)}).{p.choice(['mul_', 'add_'])}({p.choice(SCALARS)})"
    elif op in ("scatter_add_", "index_add_"):
        code, read = write_along(p, t, op[:-1], inplace=True)
        inputs.extend(read[1:])
    elif op == "zero_":
        code = f"{t}.zero_()"
    elif op == "fill_":
        code = f"{t}.fill_({p.choice(SCALARS)})"
    elif op == "unary_":
        u = p.choice(["exp_", "tanh_", "sigmoid_", "relu_", "abs_", "neg_", "sin_", "square_", "sign_"])
        if u == "exp_" and p.maxabs(t) > 10:
            u = "tanh_"
        code = f"{t}.{u}()"
    elif op in ("setitem", "setitem_adv"):
        if not st_:
            code = f"{t}[...] = {p.choice(SCALARS)}"
        else:
            idx = basic_index(p, st_) if op == "setitem" else advanced_index(p, t)
            try:
                target_shape = tuple(eval(f"{t}[{idx}]", p.theirs).shape)
                value = p.choice(["scalar", "tensor"])
            except Exception:
                target_shape, value = (), "scalar"
            if value == "tensor" and p.device != "cpu" and writes_twice(p, t, idx):
                value = "scalar"
            if value == "scalar":
                code = f"{t}[{idx}] = {float(p.choice(SCALARS))}"
            else:
                v = p.pick(lambda n: p.shape(n) == target_shape) if p.flag() else None
                if v is None:
                    s = list(target_shape[p.integer(0, len(target_shape)):])
                    s = [1 if p.integer(0, 3) == 0 else x for x in s]
                    v = p.new_tensor(tuple(s), requires_grad=p.flag())
                inputs.append(v)
                code = f"{t}[{idx}] = {unaliased(p, t, v, allow_same=False)}"
    else:   # in place through a view of t
        view = p.choice([f"{t}[1:]", f"{t}[..., :1]", f"{t}[0]", f"{t}.unsqueeze(0)", f"{t}.t()" if len(st_) <= 2
                         else f"{t}.transpose(0, 1)", f"{t}.view(-1)", f"{t}.reshape(-1)", f"{t}.squeeze()",
                         f"{t}.expand_as({t})", f"{t}.split(1)[-1]"])
        if op == "view_add_":
            b = p.pick(lambda n: p.shape(n) == () or (len(p.shape(n)) == 1 and p.shape(n)[0] == 1))
            if b is None:
                b = p.new_tensor((), requires_grad=p.flag())
            inputs.append(b)
            code = f"{view}.add_({unaliased(p, t, b, allow_same=False)})"
        else:
            code = f"{view}.mul_({p.choice(SCALARS)})"
    p.run(code, (t,), tuple(inputs), op, "in-place")


def gen_misc(p):
    k = p.integer(0, 3)
    if k == 0:                                   # a new leaf of a related shape (broadcasting)
        a = p.pick()
        p.new_tensor(broadcast_partner_shape(p, p.shape(a)))
        p.ops[("misc", "new leaf")] += 1
    elif k == 1:                                 # no_grad: a constant from a value, or an in-place write
        a = p.pick(lambda n: n not in p.leaves and p.t(n).untyped_storage().data_ptr() not in p.frozen)
        if a is None:
            return
        r = p.fresh()
        code = p.choice([f"with lib.no_grad():\n        {r} = {a} * 2", f"with lib.no_grad():\n        {a}.mul_(2)"])
        p.run(code, (r,) if "=" in code else (a,), (a,), "no_grad", "grad mode")
    else:                                        # reuse: combine two earlier values
        a = p.pick()
        b = p.pick(lambda n: broadcasts(p.shape(n), p.shape(a)))
        r = p.fresh()
        p.run(f"{r} = {a} * {b} + {a}", (r,), (a, b), "reuse", "arithmetic")


# ---- scans, sorting, rearranging, composites and nn.functional ----------------------

MORE = ["cumsum", "cumprod", "logcumsumexp", "cummax", "sort", "topk", "kthvalue", "flip", "roll", "tril", "narrow",
        "index_select", "take_along_dim", "diff", "outer", "kron", "unary", "fmod", "logit", "normalize",
        "layer_norm", "pad", "loss", "cosine_similarity", "glu", "activation", "var_mean", "aminmax", "nansum",
        "renorm", "tile", "rot90", "unflatten", "trapezoid"]
MORE_UNARY = ["expm1", "log2", "cosh", "atan", "trunc", "floor", "frac", "lgamma", "digamma", "reciprocal", "tan"]
ACTIVATIONS = ["hardtanh({x}, -0.5, 1.0)", "leaky_relu({x}, 0.1)", "elu({x})", "logsigmoid({x})", "softmin({x}, {d})",
               "celu({x}, 1.5)", "selu({x})", "mish({x})", "hardswish({x})", "softsign({x})", "tanhshrink({x})",
               "threshold({x}, 0.5, -1.0)", "hardsigmoid({x})", "relu6({x})", "softshrink({x}, 0.5)"]


def distinct_values(p, a):
    """Whether no two elements of `a` are equal: topk and kthvalue leave the order of ties to the
    implementation, and the gradient follows the order."""
    v = _np(p.t(a)).ravel()
    return len(np.unique(v)) == v.size


def gen_more(p):
    op = p.choice(MORE)
    a = p.pick()
    sa = p.shape(a)
    nd = len(sa)
    d = p.integer(-nd, nd - 1) if nd else p.choice([0, -1])
    r = p.fresh()
    inputs = (a,)
    F = "lib.nn.functional"
    if op in ("cumsum", "logcumsumexp"):
        code = f"{r} = {a}.{op}({d})" if p.flag() else f"{r} = lib.{op}({a}, dim={d})"
    elif op == "cumprod":
        x = a if p.maxabs(a) <= 2 else f"{a}.tanh()"
        code = f"{r} = {x}.cumprod({d})"
    elif op == "cummax":
        f = p.choice(["cummax", "cummin"])
        code = f"{r} = {a}.{f}({d})[0]" if p.integer(0, 3) else f"{r} = lib.{f}({a}, {d}).indices"
    elif op == "sort":
        desc = p.flag()
        code = f"{r} = {a}.sort(dim={d}, descending={desc}, stable=True)[{p.choice([0, 0, 1])}]" if p.flag() else \
            f"{r} = lib.sort({a}, dim={d}, descending={desc}, stable=True).values"
    elif op in ("topk", "kthvalue"):
        size = sa[d] if nd else 1
        if not distinct_values(p, a) or size == 0:
            return
        if op == "topk":
            code = f"{r} = {a}.topk({p.integer(0, size)}, {d}, largest={p.flag()})[{p.choice([0, 0, 1])}]"
        else:
            code = f"{r} = {a}.kthvalue({p.integer(1, size)}, {d}, keepdim={p.flag()})[0]"
    elif op == "flip":
        dims = tuple(sorted({p.integer(0, nd - 1) for _ in range(p.integer(1, nd))})) if nd else ()
        dims = tuple(x - nd if p.flag() else x for x in dims)
        code = f"{r} = {a}.flip({dims!r})" if p.flag() else f"{r} = lib.flip({a}, {list(dims)!r})"
    elif op == "roll":
        shift = p.integer(-3, 3)
        code = f"{r} = {a}.roll({shift})" if nd == 0 or p.flag() else f"{r} = lib.roll({a}, {shift}, {d})"
    elif op == "tril" and nd >= 2:
        code = f"{r} = {a}.{p.choice(['tril', 'triu'])}({p.integer(-2, 2)})"
    elif op == "narrow" and nd >= 1:
        start = p.integer(0, sa[d])
        code = f"{r} = {a}.narrow({d}, {start}, {p.integer(0, sa[d] - start)})"
    elif op == "index_select" and nd >= 1:
        idx = [p.integer(0, sa[d] - 1) for _ in range(p.integer(0, 3))] if sa[d] else []
        code = f"{r} = {a}.index_select({d}, lib.tensor({idx!r}, dtype=lib.int64))"
    elif op == "take_along_dim" and nd >= 1:
        index, _ = along_index(p, sa, d % nd)
        code = f"{r} = lib.take_along_dim({a}, {index}, dim={d})"
    elif op == "diff" and nd >= 1:
        code = f"{r} = {a}.diff(n={p.choice([1, 1, 2])}, dim={d})"
    elif op == "outer":
        b = p.pick(lambda n: len(p.shape(n)) == 1) or p.new_tensor((p.choice([1, 2, 3]),))
        x = a if nd == 1 else f"{a}.flatten()"
        code = f"{r} = lib.outer({x}, {b})" if p.flag() else f"{r} = {x}.outer({b})"
        inputs = (a, b)
    elif op == "kron" and nd <= 2:
        b = p.pick(lambda n: len(p.shape(n)) <= 2 and p.t(n).numel() <= 6) or p.new_tensor((2,))
        # Known divergence: PyTorch's kron reshapes its operands by _unsafe_view (version counters of their
        # own), so its backward does not notice a later write to an operand and reads the written values;
        # ours keeps views and raises the version error. Not written in place then.
        p.frozen.update(p.t(n).untyped_storage().data_ptr() for n in (a, b))
        code = f"{r} = lib.kron({a}, {b})"
        inputs = (a, b)
    elif op == "unary":
        f = p.choice(MORE_UNARY)
        if f in ("lgamma", "digamma"):
            x = f"({a}.abs() + 0.5)" if p.minval(a) < 0.25 else a
        elif f == "reciprocal":
            x = nonzero(p, a)
        elif f in ("expm1", "cosh"):
            x = a if p.maxabs(a) < 10 else f"{a}.tanh()"
        elif f == "log2":
            x = positive(p, a)
        elif f == "tan":
            x = f"({a}.tanh() * 1.2)"
        else:
            x = a
        code = f"{r} = lib.{f}({x})" if p.flag() else f"{r} = {x}.{f}()"
    elif op == "fmod":
        b = partner(p, a)
        f = p.choice(["fmod", "remainder"])
        code = f"{r} = lib.{f}({a}, {nonzero(p, b)})" if p.flag() else f"{r} = {a}.{f}({p.choice([0.75, -1.5, 2])})"
        inputs = (a, b)
        if "lib." not in code:
            # PyTorch's bug (forward AD): with a number, the result's tangent is the input's tangent itself,
            # so an in-place write to either writes the other's tangent too (a.mul_(2) doubles the result's:
            # seed-found). Neither is written in place then.
            if p.run(code, (r,), inputs, op, "more"):
                p.frozen.update(p.t(n).untyped_storage().data_ptr() for n in (r, a))
            return
    elif op == "logit":
        eps = p.choice([None, 0.1])
        code = f"{r} = lib.logit({a}.tanh() * 0.45 + 0.5" + (f", eps={eps})" if eps else ")")
    elif op == "normalize":
        code = f"{r} = {F}.normalize({a}, p={p.choice([2, 1, 3])}, dim={d})"
    elif op == "layer_norm" and nd >= 1:
        k = p.integer(1, nd)
        shape = sa[nd - k:]
        w = f", {p.new_tensor(shape)}, {p.new_tensor(shape)}" if p.flag() else ""
        code = f"{r} = {F}.layer_norm({a}, {list(shape)!r}{w}, eps=1e-5)"
    elif op == "pad" and nd >= 1:
        pads = [p.integer(-1, 2) for _ in range(2 * p.integer(1, min(nd, 2)))]
        code = f"{r} = {F}.pad({a}, {pads!r}, value={p.choice(SCALARS)})"
    elif op == "loss":
        b = p.pick(lambda n: p.shape(n) == sa) or p.new_tensor(sa, requires_grad=p.flag())
        f = p.choice(["mse_loss({a}, {b}, reduction={red!r})", "l1_loss({a}, {b}, reduction={red!r})",
                      "smooth_l1_loss({a}, {b}, reduction={red!r}, beta=0.5)",
                      "huber_loss({a}, {b}, reduction={red!r}, delta=1.5)",
                      "binary_cross_entropy_with_logits({a}, {b}.sigmoid(), reduction={red!r})",
                      "soft_margin_loss({a}, {b}, reduction={red!r})"])
        code = f"{r} = {F}." + f.format(a=a, b=b, red=p.choice(["mean", "sum", "none"]))
        inputs = (a, b)
        if f.startswith("binary"):
            # Known divergence: this loss is composed of our ops, which keep intermediates, not the operands;
            # PyTorch's one node saves both, so writing one in place later is a version error there only.
            # Not written in place then.
            p.frozen.update(p.t(n).untyped_storage().data_ptr() for n in (a, b))
    elif op == "cosine_similarity" and nd >= 1:
        b = p.pick(lambda n: broadcasts(p.shape(n), sa) and len(p.shape(n)) >= 1) or a
        code = f"{r} = {F}.cosine_similarity({a}, {b}, dim={d})"
        inputs = (a, b)
    elif op == "glu" and nd >= 1 and sa[d] % 2 == 0:
        code = f"{r} = {F}.glu({a}, {d})"
    elif op == "activation":
        code = f"{r} = {F}." + p.choice(ACTIVATIONS).format(x=a, d=d)
    elif op == "var_mean":
        code = f"{r} = lib.{p.choice(['var_mean', 'std_mean'])}({a}, {d}, correction={p.choice([0, 1])})" \
               f"[{p.integer(0, 1)}]"
    elif op == "aminmax":
        code = f"{r} = {a}.aminmax().{p.choice(['min', 'max'])}" if nd == 0 or p.flag() else \
            f"{r} = lib.aminmax({a}, dim={d}, keepdim={p.flag()})[{p.integer(0, 1)}]"
    elif op == "nansum":
        f = p.choice(["nansum", "nanmean"])
        code = f"{r} = {a}.{f}()" if nd == 0 or p.flag() else f"{r} = lib.{f}({a}, {d}, keepdim={p.flag()})"
    elif op == "renorm" and nd >= 2:
        code = f"{r} = {a}.renorm({p.choice([1, 2, 3])}, {d}, {p.choice([0.5, 1.0, 2.0])})"
    elif op == "tile":
        reps = tuple(p.choice([1, 2]) for _ in range(p.integer(1, nd + 1)))
        code = f"{r} = {a}.tile({reps!r})"
    elif op == "rot90" and nd >= 2:
        code = f"{r} = {a}.rot90({p.integer(-2, 3)}, [{p.choice([0, 1])}, {p.choice([-1, 2]) if nd > 2 else -1}])"
    elif op == "unflatten" and nd >= 1:
        sizes = factor_shape(p, sa[d]) if sa[d] else (0,)
        code = f"{r} = {a}.unflatten({d}, {tuple(sizes)!r})"
    elif op == "trapezoid" and nd >= 1:
        code = f"{r} = lib.{p.choice(['trapezoid', 'cumulative_trapezoid'])}({a}, dx={p.choice([1, 0.5])}, dim={d})"
    else:
        code = f"{r} = {a}.cumsum({d})"
        op = "cumsum"
    if p.run(code, (r,), inputs, op, "more") and op == "aminmax":
        # PyTorch 2.13's bug: an in-place write through a view of an aminmax output that is retained
        # (aminmax().max.flatten().narrow(...).abs_()) crashes its backward with a segfault, which no
        # test can catch; ours raises the version error. Not written in place then
        p.frozen.add(p.t(r).untyped_storage().data_ptr())


GENERATORS = [gen_arith, gen_scalar, gen_pointwise, gen_reduction, gen_matmul, gen_shape, gen_index,
              gen_inplace, gen_misc, gen_more]


def build(p, max_steps):
    base = draw_shape(p)
    p.new_tensor(base)
    for _ in range(p.integer(0, 2)):
        p.new_tensor(broadcast_partner_shape(p, base))
    for _ in range(p.integer(1, max_steps)):
        gen = p.choice(GENERATORS)
        gen(p)
        for n in p.vals:
            if n not in p.dead and poisoned(p, n):
                p.dead.add(n)
        last = p.vals[-1]
        if last not in p.dead and last not in p.leaves and p.t(last).requires_grad and p.integer(0, 4) == 0:
            if p.run(f"{last}.retain_grad()", (), ()):
                p.retained.append(last)


def outputs(p):
    """Values the loss depends on: the latest differentiable value and some others."""
    ok = [n for n in p.vals if n not in p.dead and p.is_float(n) and p.t(n).requires_grad]
    if not ok:
        return []
    outs = [ok[-1]]
    for n in ok[:-1]:
        if p.integer(0, 3) == 0:
            outs.append(n)
    return outs


def projection(p, outs):
    return " + ".join(f"({n} * {p.const(p.shape(n))}).sum()" for n in outs)


def record_stats(p, key):
    STATS[key] += 1
    STATS["depth"][max(p.depth.values(), default=0)] += 1
    for (fam, op), c in p.ops.items():
        STATS["families"][fam] += c
        STATS["ops"][f"{fam}: {op}"] += c
    STATS["retained"] += len(p.retained)


def poisoned(p, name):
    """A piece of split/chunk/unbind whose base was modified in place: any use
    raises on both libraries (tests/test_regressions.py checks that)."""
    try:
        p.ours[name].grad_fn       # (both sides: accessing grad_fn regenerates a view's
    except RuntimeError:           #  history, which moves its retained grad, in both)
        pass
    try:
        p.t(name).grad_fn
        return False
    except RuntimeError:
        return True


def check_values(p):
    for n in p.vals:
        if n in p.unreliable:
            continue
        _close(p.ours[n], p.theirs[n], f"final value of {n}", p)
        if n in p.dead:
            continue
        assert p.ours[n].requires_grad == p.theirs[n].requires_grad, f"{n}.requires_grad\n{p.text()}"
        assert p.ours[n].is_leaf == p.theirs[n].is_leaf, f"{n}.is_leaf\n{p.text()}"


def _gradient_rounding(p):
    """A sum of gradients that reached the largest one here is known to a few ulps of it at best (a
    cancellation below that is decided by the order of the terms, which differs between the engines)."""
    largest, eps = 0.0, 0.0
    for n in p.leaves + p.retained:
        g = p.theirs[n].grad
        if g is not None and g.is_floating_point():
            b = _np(g)
            largest = max(largest, float(np.abs(b[np.isfinite(b)]).max(initial=0.0)))
            eps = max(eps, float(np.finfo(b.dtype).eps))
    return 4 * eps * largest


def check_grads(p):
    rounding = _gradient_rounding(p)
    for n in p.leaves + p.retained:
        if n in p.unreliable or (n in p.torch_only_views and p.theirs[n].grad_fn is not None
                                 and p.theirs[n].grad_fn.name() == "AsStridedBackward0"):
            continue                    # (regenerated there as a view: its retained grad means another thing)
        tg = p.theirs[n].grad
        og = p.ours[n].grad
        assert (og is None) == (tg is None), f"grad of {n}: ours {'None' if og is None else 'a tensor'}, " \
                                             f"torch's {'None' if tg is None else 'a tensor'}\n{p.text()}"
        if tg is not None:
            _close(og, tg, f"grad of {n}", p, rounding)


def drawn_program(torch, data, depth, stat, device="cpu"):
    """A program drawn and run on both libraries, and the outputs it left."""
    p = Program(torch, data, device)
    build(p, depth)
    outs = outputs(p)
    note(p.text())
    record_stats(p, stat if device == "cpu" else f"{stat}_{device}")
    return p, outs


def values_and_gradients(torch, data, device="cpu"):
    p, outs = drawn_program(torch, data, 14, "examples", device)
    check_values(p)
    if not outs:
        return
    if not p.run(f"loss = {projection(p, outs)}", (), outs):
        return
    for n in p.retained:
        assert p.ours[n].retains_grad == p.theirs[n].retains_grad, f"{n}.retains_grad\n{p.text()}"
    if p.run("loss.backward()", (), ()):
        check_grads(p)
    else:
        # Both raised (a saved tensor was modified in place). PyTorch may have
        # accumulated some leaves already; we promise nothing half-accumulated.
        STATS["backward_errors"] += 1
        for n in p.leaves + p.retained:
            assert p.ours[n]._grad is None, f"{n}.grad half-accumulated by a failed backward\n{p.text()}"


def second_derivatives(torch, data, device="cpu"):
    p, outs = drawn_program(torch, data, 10, "examples_2nd", device)
    if not outs or not p.run(f"loss = {projection(p, outs)}", (), outs):
        return
    leaves = ", ".join(p.leaves)
    if not p.run(f"g1 = lib.autograd.grad(loss, [{leaves}], create_graph=True, allow_unused=True)", (), ()):
        STATS["backward_errors"] += 1
        return
    g_t, g_o = p.theirs["g1"], p.ours["g1"]
    used = []
    for i, (a, b) in enumerate(zip(g_o, g_t)):
        assert (a is None) == (b is None), f"first grad {i}: None on one side only\n{p.text()}"
        if b is not None:
            _close(a, b, f"first-order grad of {p.leaves[i]}", p)
            used.append(i)
    if not used:
        return
    proj = " + ".join(f"(g1[{i}] * {p.const(tuple(g_t[i].shape))}).sum()" for i in used)
    if not p.run(f"s = {proj}", (), ()):
        return
    s_t, s_o = p.theirs["s"], p.ours["s"]
    if s_t.requires_grad and s_o.requires_grad:
        if not p.run(f"g2 = lib.autograd.grad(s, [{leaves}], allow_unused=True)", (), ()):
            return
        pairs = list(zip(p.ours["g2"], p.theirs["g2"]))
    elif s_t.requires_grad or s_o.requires_grad:
        # Known divergence: where a first gradient has an identically zero
        # derivative (relu's, sign's, ...) one library may return it as a
        # constant. Then the other's second derivative must be zero.
        lib = torch if s_t.requires_grad else ag
        env = p.theirs if s_t.requires_grad else p.ours
        h = lib.autograd.grad(env["s"], [env[n] for n in p.leaves], allow_unused=True)
        pairs = [(x, None) if lib is ag else (None, x) for x in h]
    else:
        return
    STATS["second_order_checked"] += 1
    for i, (a, b) in enumerate(pairs):
        if b is None:
            assert a is None or not np.any(_np(a)), f"second grad {i}: torch has none\n{p.text()}"
        elif a is None:
            assert not np.any(_np(b)), f"second grad {i}: ours is None, torch's nonzero\n{p.text()}"
        else:
            _close(a, b, f"second-order grad of {p.leaves[i]}", p)


@settings(max_examples=EXAMPLES, **SETTINGS)
@given(data=st.data())
def test_random_graph_values_and_gradients(torch, data):
    values_and_gradients(torch, data)


@settings(max_examples=max(1, EXAMPLES // 3), **SETTINGS)
@given(data=st.data())
def test_random_graph_second_derivatives(torch, data):
    second_derivatives(torch, data)


# The same on cuda (the real device, else the CuPy emulator: conftest's `gpu` marker), fewer examples.

@pytest.mark.gpu
@needs_cuda
@settings(max_examples=CUDA_EXAMPLES, **SETTINGS)
@given(data=st.data())
def test_random_graph_values_and_gradients_cuda(torch, data):
    values_and_gradients(torch, data, "cuda")


@pytest.mark.gpu
@needs_cuda
@settings(max_examples=max(1, CUDA_EXAMPLES // 3), **SETTINGS)
@given(data=st.data())
def test_random_graph_second_derivatives_cuda(torch, data):
    second_derivatives(torch, data, "cuda")


# Bug (fixed): on cuda an elementwise result was C-contiguous whatever its operands' layout (CuPy
# allocates kernel and ufunc outputs in C order), where PyTorch, and our CPU path, lay it out as the
# input: x.t().exp().view(-1) raises there, and worked on cuda. The kernel now runs in the result's
# memory order (backend/cupy_kernels.py: _result_layout, PyTorch's TensorIterator rule).
@pytest.mark.gpu
@needs_cuda
def test_cuda_elementwise_result_keeps_the_input_layout(torch):
    t = torch.arange(6.0, dtype=torch.float64).reshape(2, 3).t().exp()
    x = ag.arange(6.0, dtype=ag.float64, device="cuda").reshape(2, 3).t().exp()
    assert not t.is_contiguous()
    assert not x.is_contiguous()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        t.view(-1)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(-1)


def _strides(x):
    return tuple(s // x._data.itemsize for s in x._data.strides)


# (lib, dtype, device) -> an elementwise result; the same code for torch (cpu) and ours (cuda)
LAYOUT_CASES = {
    "unary of a transposed": lambda m, dt, d: m.arange(6.0, dtype=dt, device=d).reshape(2, 3).t().exp(),
    "binary, transposed first": lambda m, dt, d: (m.arange(6.0, dtype=dt, device=d).reshape(2, 3).t()
                                                   * m.arange(6.0, dtype=dt, device=d).reshape(3, 2)),
    "binary, transposed second": lambda m, dt, d: (m.arange(6.0, dtype=dt, device=d).reshape(3, 2)
                                                    - m.arange(6.0, dtype=dt, device=d).reshape(2, 3).t()),
    "binary with a broadcast row": lambda m, dt, d: (m.arange(6.0, dtype=dt, device=d).reshape(2, 3).t()
                                                      + m.arange(2.0, dtype=dt, device=d)),
    "comparison with a scalar (bool)": lambda m, dt, d: m.arange(6.0, dtype=dt, device=d).reshape(2, 3).t() > 2,
    "comparison of two (bool)": lambda m, dt, d: (m.arange(6.0, dtype=dt, device=d).reshape(2, 3).t()
                                                   == m.arange(6.0, dtype=dt, device=d).reshape(3, 2)),
    "where": lambda m, dt, d: (lambda x: m.where(x > 2, x, 0.0))(
        m.arange(6.0, dtype=dt, device=d).reshape(2, 3).t()),
    "3-d permuted": lambda m, dt, d: m.arange(24.0, dtype=dt, device=d).reshape(2, 3, 4).permute(2, 0, 1).sigmoid(),
    "3-d permuted, broadcast partner": lambda m, dt, d: (
        m.arange(24.0, dtype=dt, device=d).reshape(2, 3, 4).permute(1, 2, 0) * m.arange(2.0, dtype=dt, device=d)),
    "expanded": lambda m, dt, d: m.arange(4.0, dtype=dt, device=d).reshape(1, 4).expand(3, 4).exp(),
    "sliced and transposed": lambda m, dt, d: m.arange(24.0, dtype=dt, device=d).reshape(4, 6)[:, ::2].t().neg(),
    "integer, transposed": lambda m, dt, d: m.arange(6, device=d).reshape(2, 3).t() + 1,
}
_LAYOUT_PARAMS = [(c, dt) for c in LAYOUT_CASES for dt in
                  (("int64",) if c.startswith("integer") else ("float32", "float16", "float64"))]


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("case, dtype", _LAYOUT_PARAMS)
def test_cuda_elementwise_result_strides_match_torch(torch, case, dtype):
    """On cuda an elementwise result is laid out as PyTorch lays it out (its first operand
    decides; a broadcast axis decides nothing), values unchanged."""
    t = LAYOUT_CASES[case](torch, getattr(torch, dtype), "cpu")
    x = LAYOUT_CASES[case](ag, getattr(ag, dtype), "cuda")
    assert _strides(x) == tuple(t.stride()), (case, _strides(x), t.stride())
    assert x.is_contiguous() == t.is_contiguous()
    np.testing.assert_allclose(x.cpu().numpy().astype(np.float64), t.numpy().astype(np.float64),
                               rtol=1e-3 if dtype == "float16" else 1e-6)



def _t23(m, d, dt):
    """arange(6).reshape(2, 3).t() in dtype dt: a transposed operand."""
    return m.arange(6, device=d).reshape(2, 3).t().to(dt)


# logical, bitwise and isinf (CuPy ufuncs called directly): (lib, device) -> a result
UFUNC_LAYOUT_CASES = {
    "logical_and": lambda m, d: m.logical_and(_t23(m, d, m.int64), _t23(m, d, m.int64)),
    "logical_or, transposed second": lambda m, d: m.logical_or(m.ones(3, 2, device=d), _t23(m, d, m.float32)),
    "logical_xor of bools": lambda m, d: m.logical_xor(_t23(m, d, m.bool), _t23(m, d, m.bool)),
    "logical_not": lambda m, d: m.logical_not(_t23(m, d, m.float32)),
    "&": lambda m, d: _t23(m, d, m.int64) & _t23(m, d, m.int64),
    "& scalar": lambda m, d: _t23(m, d, m.int64) & 3,
    "| mixed dtypes": lambda m, d: _t23(m, d, m.int32) | _t23(m, d, m.int64),
    "^ with a broadcast row": lambda m, d: _t23(m, d, m.uint8) ^ m.arange(2, device=d).to(m.uint8),
    "~": lambda m, d: ~_t23(m, d, m.int64),
    "~ bool": lambda m, d: ~_t23(m, d, m.bool),
    "isinf": lambda m, d: m.isinf(_t23(m, d, m.float32)),
    "isinf, 3-d permuted": lambda m, d: m.isinf(m.arange(24.0, device=d).reshape(2, 3, 4).permute(2, 0, 1)),
    "== of integers": lambda m, d: _t23(m, d, m.int64) == 2,
    "< mixed dtypes": lambda m, d: _t23(m, d, m.int64) < _t23(m, d, m.float32),
}


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("case", list(UFUNC_LAYOUT_CASES))
def test_cuda_logical_bitwise_result_strides_match_torch(torch, case):
    """Logical, bitwise, isinf and comparison results on cuda are laid out as PyTorch
    lays them out (CuPy's ufuncs alone give C order)."""
    t = UFUNC_LAYOUT_CASES[case](torch, "cpu")
    x = UFUNC_LAYOUT_CASES[case](ag, "cuda")
    assert _strides(x) == tuple(t.stride()), (case, _strides(x), t.stride())
    assert x.is_contiguous() == t.is_contiguous()
    assert x.cpu().numpy().dtype == t.numpy().dtype
    np.testing.assert_array_equal(x.cpu().numpy(), t.numpy())

# ---- the summary: what was checked --------------------------------------------------

def _summary_lines():
    if not any(STATS[k] for k in ("examples", "examples_2nd", "examples_cuda", "examples_2nd_cuda")):
        return []
    depths = sorted(STATS["depth"].items())
    return [
        f"programs: {STATS['examples']} first-order, {STATS['examples_2nd']} second-order on the CPU, "
        f"{STATS['examples_cuda']} and {STATS['examples_2nd_cuda']} with our tensors on cuda (counted together "
        f"below); "
        f"{STATS['statements']} statements; {STATS['step_errors']} statements failed on both; "
        f"{STATS['backward_errors']} backward passes failed on both; "
        f"{STATS['retained']} retained non-leaves; second derivatives compared in "
        f"{STATS['second_order_checked']} programs; {STATS['tie_ambiguous']} statements "
        f"skipped (ties rounded differently by the two libraries); {STATS['layout_rejected']} "
        f"programs rejected (view() of a result laid out differently), {STATS['torch_asserted']} (PyTorch's "
        f"own failure: internal assert, missing derivative, ...)",
        "max depth per program: " + ", ".join(f"{d}: {c}" for d, c in depths),
        "statements per family: " + ", ".join(f"{f} {c}" for f, c in STATS["families"].most_common()),
        "ops: " + ", ".join(f"{o} {c}" for o, c in sorted(STATS["ops"].items())),
        "ops failed on both (a statement both libraries refused: not counted above): "
        + ", ".join(f"{o} {c}" for o, c in STATS["failed_ops"].most_common()),
    ]


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    report_at_end(request, "random graphs vs PyTorch", _summary_lines)
