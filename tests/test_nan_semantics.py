"""NaN, inf, zero and tie semantics against PyTorch, forward and gradient.

Every case runs on both libraries with the same float64 inputs (and a fixed
upstream gradient); the outputs and the gradients of every input must have
NaN and ±inf at the same places and equal finite values. The surprising cases
are explained in docs/nan_semantics.md."""
import math

import numpy as np
import pytest

import autograd_gpu as ag

inf, nan = math.inf, math.nan

#  id                      fn(lib, *inputs)                                  inputs
CASES = [
    # square roots and powers at 0
    ("sqrt_at_0",            lambda L, x: x.sqrt(),                            [[0.0, 4.0, -1.0]]),
    ("rsqrt_at_0",           lambda L, x: x.rsqrt(),                           [[0.0, 4.0, -1.0]]),
    ("pow_half_at_0",        lambda L, x: x ** 0.5,                            [[0.0, 4.0, -1.0]]),
    ("pow_minus_one_at_0",   lambda L, x: x ** -1,                             [[0.0, 2.0, -0.0]]),
    ("pow_0_0_scalar_exp",   lambda L, x: x ** 0,                              [[0.0, 2.0, nan]]),
    ("pow_0_0_tensor_exp",   lambda L, x, e: x ** e,                           [[0.0, 0.0, 0.0, 2.0], [0.0, 1.0, -1.0, 0.0]]),
    ("rpow_0_base",          lambda L, x: 0 ** x,                              [[0.0, 1.0, -1.0]]),
    ("square_of_inf",        lambda L, x: x.square(),                          [[inf, -inf, nan]]),
    # logarithms and exponentials
    ("log_at_0",             lambda L, x: x.log(),                             [[0.0, -1.0, 1.0, inf]]),
    ("log1p_at_minus_1",     lambda L, x: x.log1p(),                           [[-1.0, -2.0, 0.0]]),
    ("exp_overflow",         lambda L, x: x.exp(),                             [[1000.0, -1000.0, inf, -inf]]),
    # kinks: relu, abs, clamp at 0 and at the bounds
    ("relu_at_0",            lambda L, x: x.relu(),                            [[-1.0, 0.0, -0.0, 2.0, nan]]),
    ("abs_at_0",             lambda L, x: x.abs(),                             [[-1.0, 0.0, -0.0, 2.0, nan]]),
    ("clamp_at_bounds",      lambda L, x: x.clamp(0.0, 1.0),                   [[-1.0, 0.0, 0.5, 1.0, 2.0, nan]]),
    ("clamp_min_at_bound",   lambda L, x: x.clamp(min=0.0),                    [[-1.0, 0.0, 2.0, nan]]),
    ("clamp_max_at_bound",   lambda L, x: x.clamp(max=1.0),                    [[0.0, 1.0, 2.0, nan]]),
    ("clamp_tensor_bounds",  lambda L, x, lo, hi: x.clamp(lo, hi),             [[0.0, 1.0, 2.0, 0.5], [0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 2.0, 0.0]]),
    ("sign_of_nan",          lambda L, x: x.sign(),                            [[nan, -0.0, 0.0, -inf, 3.0]]),
    ("tanh_sigmoid_inf",     lambda L, x: x.tanh() + x.sigmoid(),              [[inf, -inf, nan, 0.0]]),
    # ties in max / min
    ("max_ties",             lambda L, x: x.max(),                             [[1.0, 3.0, 3.0]]),
    ("min_ties",             lambda L, x: x.min(),                             [[1.0, 1.0, 3.0]]),
    ("max_with_nan",         lambda L, x: x.max(),                             [[1.0, nan, 3.0, nan]]),
    ("max_dim_ties",         lambda L, x: x.max(1)[0],                         [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]]),
    ("min_dim_ties",         lambda L, x: x.min(0)[0],                         [[[1.0, 3.0], [1.0, 2.0]]]),
    ("amax_ties",            lambda L, x: x.amax(1),                           [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]]),
    ("amin_ties_all",        lambda L, x: x.amin(),                            [[[1.0, 3.0], [1.0, 1.0]]]),
    ("amax_with_nan",        lambda L, x: x.amax(1),                           [[[1.0, nan, 3.0], [2.0, 2.0, 1.0]]]),
    ("maximum_ties",         lambda L, a, b: L.maximum(a, b),                  [[1.0, 2.0, 3.0], [1.0, 1.0, 4.0]]),
    ("minimum_ties",         lambda L, a, b: L.minimum(a, b),                  [[1.0, 2.0, 3.0], [1.0, 1.0, 4.0]]),
    ("maximum_with_nan",     lambda L, a, b: L.maximum(a, b),                  [[nan, 2.0, nan], [1.0, nan, nan]]),
    # zero times infinity, division by zero
    ("zero_times_inf",       lambda L, a, b: a * b,                            [[0.0, 0.0, 1.0], [inf, -inf, inf]]),
    ("div_by_zero",          lambda L, a, b: a / b,                            [[1.0, 0.0, -1.0, 1.0], [0.0, 0.0, 0.0, -0.0]]),
    ("number_div_by_zero",   lambda L, x: 1 / x,                               [[0.0, -0.0, inf]]),
    # reductions at degenerate points
    ("norm_at_0",            lambda L, x: x.norm(),                            [[0.0, 0.0, 0.0]]),
    ("norm_p1_at_0",         lambda L, x: x.norm(p=1),                         [[0.0, 1.0, -2.0]]),
    ("norm_p3_at_0",         lambda L, x: x.norm(p=3),                         [[0.0, 0.0]]),
    ("norm_inf_ties",        lambda L, x: x.norm(p=inf),                       [[-2.0, 2.0, 1.0]]),
    ("norm_dim_at_0",        lambda L, x: x.norm(dim=1),                       [[[0.0, 0.0], [3.0, 4.0]]]),
    ("std_of_constant",      lambda L, x: x.std(),                             [[2.0, 2.0, 2.0]]),
    ("std_dim_constant",     lambda L, x: x.std(1),                            [[[2.0, 2.0], [1.0, 3.0]]]),
    ("var_of_constant",      lambda L, x: x.var(),                             [[2.0, 2.0, 2.0]]),
    ("std_one_element",      lambda L, x: x.std(),                             [[2.0]]),
    ("mean_of_nan",          lambda L, x: x.mean(),                            [[nan, 1.0]]),
    ("prod_with_zero",       lambda L, x: x.prod(),                            [[0.0, 2.0, 3.0]]),
    ("prod_two_zeros",       lambda L, x: x.prod(),                            [[0.0, 2.0, 0.0]]),
    ("prod_with_inf",        lambda L, x: x.prod(),                            [[inf, 2.0, 3.0]]),
    # softmax / logsumexp with infinities
    ("softmax_plus_inf",     lambda L, x: x.softmax(0),                        [[inf, 1.0, -inf]]),
    ("softmax_minus_inf",    lambda L, x: x.softmax(0),                        [[-inf, 0.0, 1.0]]),
    ("softmax_all_minus_inf", lambda L, x: x.softmax(0),                       [[-inf, -inf]]),
    ("log_softmax_minus_inf", lambda L, x: x.log_softmax(0),                   [[-inf, 0.0, 1.0]]),
    ("logsumexp_all_minus_inf", lambda L, x: x.logsumexp(1),                   [[[-inf, -inf], [0.0, -inf]]]),
    ("logsumexp_plus_inf",   lambda L, x: x.logsumexp(0),                      [[inf, 1.0]]),
    # the famous one: NaN (or inf) in the branch where() does not select
    ("where_nan_branch_log", lambda L, x: L.where(x > 0, x.log(), x),          [[0.0, 1.0, -1.0]]),
    ("where_nan_branch_sqrt", lambda L, x: L.where(x > 0, x.sqrt(), 0.0),      [[0.0, 4.0, -1.0]]),
    ("where_nan_branch_div", lambda L, x: L.where(x != 0, 1 / x, 0.0),         [[0.0, 2.0]]),
    ("where_safe_idiom",     lambda L, x: L.where(x > 0, L.where(x > 0, x, 1.0).log(), 0.0), [[0.0, 1.0, -1.0]]),
    # NaN inputs passing through
    ("nan_through_matmul",   lambda L, a, b: a @ b,                            [[[nan, 1.0], [0.0, 1.0]], [[1.0], [0.0]]]),
    ("nan_through_sum",      lambda L, x: (x * 2).sum(),                       [[nan, 1.0]]),
    ("inf_minus_inf",        lambda L, a, b: a - b,                            [[inf, 1.0], [inf, -inf]]),
    ("sum_inf_minus_inf",    lambda L, x: x.sum(),                             [[inf, -inf, 1.0]]),
    ("clamp_nan_bound",      lambda L, x: x.clamp(min=nan),                    [[0.0, 1.0]]),
    ("norm_of_inf",          lambda L, x: x.norm(),                            [[inf, 1.0]]),
    ("max_dim_with_nan",     lambda L, x: x.max(0)[0],                         [[[1.0, nan], [nan, 2.0]]]),
    ("amax_inf_ties",        lambda L, x: x.amax(),                            [[inf, inf, 1.0]]),
    ("maximum_inf_ties",     lambda L, a, b: L.maximum(a, b),                  [[inf, -inf], [inf, -inf]]),
    ("mean_of_empty",        lambda L, x: x.mean(),                            [[]]),
    ("log_softmax_all_minus_inf", lambda L, x: x.log_softmax(0),               [[-inf, -inf]]),
    ("softmax_with_nan",     lambda L, x: x.softmax(0),                        [[nan, 1.0]]),
    ("std_of_infinities",    lambda L, x: x.std(),                             [[inf, inf, 1.0]]),
    ("sigmoid_nan",          lambda L, x: x.sigmoid() * x.tanh(),              [[nan, 1.0]]),
]


def _np(t):
    return np.asarray(t.detach()._host()) if isinstance(t, ag.Tensor) else t.detach().numpy()


def assert_same(ours, theirs, what):
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{what}: NaN positions\nours  {a}\ntorch {b}")
    fin = np.isfinite(b)
    np.testing.assert_array_equal(np.isfinite(a), fin, err_msg=f"{what}: inf positions\nours  {a}\ntorch {b}")
    np.testing.assert_array_equal(a[np.isinf(b)], b[np.isinf(b)], err_msg=f"{what}: signs of inf")
    np.testing.assert_allclose(a[fin], b[fin], rtol=1e-12, atol=0, err_msg=f"{what}: finite values\nours  {a}\ntorch {b}")


@pytest.mark.filterwarnings(r"ignore:std\(\). degrees of freedom is <= 0")     # (PyTorch's, on std_one_element)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_forward_and_gradient_match_pytorch(torch, case, dtype):
    _, fn, data = case
    results = []
    for lib in (torch, ag):
        xs = [lib.tensor(d, dtype=getattr(lib, dtype), requires_grad=True) for d in data]
        with np.errstate(all="ignore"):
            y = fn(lib, *xs)
            g = np.cos(np.arange(y.numel()) + 0.5).reshape(tuple(y.shape))     # a fixed upstream gradient
            y.backward(lib.tensor(g, dtype=getattr(lib, dtype)))
        results.append((y, [x.grad for x in xs]))
    (ty, tg), (oy, og) = results
    if dtype == "float32":
        global_rtol = 1e-6
        a, b = _np(oy).astype(np.float64), _np(ty).astype(np.float64)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(np.nan_to_num(a, posinf=1e300, neginf=-1e300),
                                   np.nan_to_num(b, posinf=1e300, neginf=-1e300), rtol=global_rtol)
        for i, (a, b) in enumerate(zip(og, tg)):
            assert (a is None) == (b is None), f"grad {i}"
            if b is not None:
                a, b = _np(a).astype(np.float64), _np(b).astype(np.float64)
                np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"grad {i} NaN positions")
                np.testing.assert_allclose(np.nan_to_num(a, posinf=1e300, neginf=-1e300),
                                           np.nan_to_num(b, posinf=1e300, neginf=-1e300), rtol=1e-5, atol=1e-7)
        return
    assert_same(oy, ty, "forward")
    for i, (a, b) in enumerate(zip(og, tg)):
        assert (a is None) == (b is None), f"grad of input {i}: {a} vs torch {b}"
        if b is not None:
            assert_same(a, b, f"grad of input {i}")


# Masked backward steps (clamp keeps a 1-byte mask; relu, amax and the clamp
# formula build one) AND the upstream gradient's bits with it: NaN, ±inf and -0
# in the gradient must pass or be zeroed exactly as PyTorch's where() does, in
# every float width, and a second backward (retain_graph) must see the saved
# mask unchanged.
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("expr", ["x.clamp(min=0)", "x.clamp(max=0)", "x.clamp(-0.5, 0.5)", "x.relu()",
                                  "x.clamp(min=0) * 1"])
def test_masked_backward_passes_nonfinite_grads_bit_exactly(torch, dtype, expr):
    x_vals = [-1.0, -0.5, 0.0, 0.25, 0.5, 2.0, nan, -0.0] * 3
    g_vals = [nan, inf, -inf, -0.0, 1.5, nan, -2.0, 3.0] + [inf, nan, -0.0, -inf, 0.0, 7.0, inf, -1.0] + [1.0] * 8
    grads = []
    for lib in (torch, ag):
        x = lib.tensor(x_vals, dtype=getattr(lib, dtype), requires_grad=True)
        y = eval(expr, {"x": x})
        g = lib.tensor(g_vals, dtype=getattr(lib, dtype))
        y.backward(g, retain_graph=True)
        first = _np(x.grad).copy()
        x.grad = None
        y.backward(g)
        grads.append((first, _np(x.grad)))
    (t1, t2), (o1, o2) = grads
    bits = {"float16": np.uint16, "float32": np.uint32, "float64": np.uint64}[dtype]
    np.testing.assert_array_equal(o1.view(bits), t1.view(bits), err_msg=f"{expr}: gradient bits")
    np.testing.assert_array_equal(o2.view(bits), o1.view(bits), err_msg=f"{expr}: second backward")


# A product over an inner dimension of 1 (the blog's 1-output layer: x.grad of
# h @ w2 is g @ w2.T) is one multiplication per element: PyTorch keeps its -0.0,
# NaN and ±inf, and so must we (NumPy's matmul turns -0.0 into +0.0).
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes, which", [(((8, 1), (1, 3)), "forward"), (((2, 8, 1), (1, 3)), "forward"),
                                           (((3, 8), (8, 1)), "grad of a")])
def test_products_over_an_inner_dimension_of_one_are_bit_exact(torch, dtype, shapes, which):
    vals = [-1.0, 0.0, -0.0, 2.0, inf, -inf, nan, 0.5]
    out = []
    for lib in (torch, ag):
        a = lib.tensor(np.resize(vals, shapes[0]), dtype=getattr(lib, dtype), requires_grad=True)
        b = lib.tensor(np.resize([0.0, -3.0, -0.0], shapes[1]), dtype=getattr(lib, dtype), requires_grad=True)
        y = a @ b
        y.backward(lib.tensor(np.resize(vals[::-1], tuple(y.shape)), dtype=getattr(lib, dtype)))
        out.append(_np(y if which == "forward" else a.grad).copy())
    bits = {"float32": np.uint32, "float64": np.uint64}[dtype]
    np.testing.assert_array_equal(out[1].view(bits), out[0].view(bits), err_msg=f"{shapes}: {which} bits")


# float16 with a Python number, as PyTorch's CPU computes it: in float32, rounded once,
# the number rounded to half first for add/sub/rsub/alpha/pow/rpow and not for mul/div
# (so x + 1e5 is inf, x / 1e5 and its gradient are not 0); an exponent or alpha beyond
# float16's range raises ("value cannot be converted to type c10::Half without overflow")
HALF_SCALAR_CASES = [
    ("add", lambda L, x, s: x + s), ("sub", lambda L, x, s: x - s), ("rsub", lambda L, x, s: s - x),
    ("mul", lambda L, x, s: x * s), ("div", lambda L, x, s: x / s), ("pow", lambda L, x, s: x.abs() ** s),
    ("rpow", lambda L, x, s: abs(s) ** x), ("add_alpha", lambda L, x, s: x.add(x * 2, alpha=s)),
    ("sub_alpha", lambda L, x, s: x.sub(x, alpha=s)), ("add_number_alpha", lambda L, x, s: x.add(3, alpha=s)),
]


def _half_ulps(a, b):
    ia, ib = (v.view(np.int16).astype(np.int64) for v in (a, b))
    ia, ib = (np.where(i < 0, -(i & 0x7FFF), i) for i in (ia, ib))
    return np.where(np.isnan(a) & np.isnan(b), 0, np.abs(ia - ib))


@pytest.mark.parametrize("s", [0.1, -3.3, 1e5, 1e-6, 7.0])
@pytest.mark.parametrize("name,fn", HALF_SCALAR_CASES, ids=[c[0] for c in HALF_SCALAR_CASES])
def test_float16_with_python_numbers_as_pytorch(torch, name, fn, s):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(300) * 4, rng.uniform(0.01, 3, 100),
                        [-65504.0, 65504.0, 1e-4, 0.5, 0.0, -0.0, inf, -inf]]).astype(np.float16)
    out = {}
    for L in (ag, torch):
        t = L.tensor(x, requires_grad=True)
        try:
            with np.errstate(all="ignore"):
                y = fn(L, t, s)
                y.backward(L.ones(y.shape, dtype=L.float16))
        except RuntimeError as e:
            out[L.__name__] = e
            continue
        out[L.__name__] = (y.detach().numpy(), t.grad.numpy())
    if isinstance(out["torch"], RuntimeError):
        assert isinstance(out["autograd_gpu"], RuntimeError), f"{name}, s = {s}: PyTorch raises {out['torch']}"
        assert "without overflow" in str(out["autograd_gpu"])
        return
    (ya, ga), (yt, gt) = out["autograd_gpu"], out["torch"]
    assert ya.dtype == yt.dtype == np.float16
    if "alpha" in name:
        # PyTorch's CPU rounds once in its vectorized body and twice (b * alpha, then +)
        # in the scalar tail of a loop; we round once everywhere, as its body and our kernel
        assert _half_ulps(ya, yt).max() <= 1, f"{name} forward, s = {s}"
    else:
        np.testing.assert_array_equal(ya, yt, err_msg=f"{name} forward, s = {s}")
    if name not in ("pow", "rpow") and "alpha" not in name:   # their gradients take several half steps
        np.testing.assert_array_equal(ga, gt, err_msg=f"{name} gradient, s = {s}")
