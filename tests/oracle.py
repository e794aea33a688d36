"""The oracle helper: run the same function on autograd_gpu and on PyTorch CPU,
compare the forward values, the grad_fn name, and every input's gradient for
a random upstream gradient (tinygrad's helper_test_op, in spirit)."""
import numpy as np
import pytest

import autograd_gpu as ag

TOL = {"float64": dict(rtol=1e-7, atol=1e-9), "float32": dict(rtol=2e-4, atol=2e-5),
       "float16": dict(rtol=2e-2, atol=2e-2)}


def to_numpy(t):
    if t is None:
        return None
    if hasattr(t, "_host"):
        return np.asarray(t._host())
    return t.detach().cpu().numpy()


def make_inputs(torch, arrays, dtype, device, requires_grad):
    ours, theirs = [], []
    for a, rg in zip(arrays, requires_grad):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            ours.append(ag.tensor(a, dtype=dtype, device=device, requires_grad=rg))
            theirs.append(torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=rg))
        elif isinstance(a, np.ndarray):
            ours.append(ag.tensor(a, device=device))
            theirs.append(torch.tensor(a))
        else:
            ours.append(a)
            theirs.append(a)
    return ours, theirs


class U:
    """An input drawn uniformly from [low, high) (for ops with a restricted domain)."""

    def __init__(self, shape, low, high):
        self.shape, self.low, self.high = shape, low, high


def random_arrays(shapes, low, high, seed):
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        if isinstance(s, tuple):
            out.append(rng.uniform(low, high, s))
        elif isinstance(s, U):
            out.append(rng.uniform(s.low, s.high, s.shape))
        else:
            out.append(s)               # a constant argument (number, index array, ...)
    return out


def assert_close(ours, theirs, dtype, what):
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), equal_nan=True,
                               err_msg=what, **TOL[dtype])


def check(torch, fn, *shapes, torch_fn=None, dtype="float64", device="cpu", low=-2.0, high=2.0, seed=0,
          name=True, grad=True, arrays=None):
    """fn(lib, *inputs) runs on both libraries (lib is `ag` or `torch`);
    `torch_fn(torch, *inputs)` replaces it on the PyTorch side when the spelling
    differs (e.g. the Scalar overloads torch.ops.aten.mul.Scalar).
    name: True compares grad_fn names with PyTorch's; a string asserts that name;
    False skips (composite ops)."""
    arrays = random_arrays(shapes, low, high, seed) if arrays is None else arrays
    rg = [grad and isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays]
    ours, theirs = make_inputs(torch, arrays, dtype, device, rg)
    out = fn(ag, *ours)
    ref = (torch_fn or fn)(torch, *theirs)
    outs, refs = (out, ref) if isinstance(out, tuple) else ((out,), (ref,))
    for i, (o, r) in enumerate(zip(outs, refs)):
        assert_close(o, r, dtype, f"forward output {i}")
        assert o.device == ag.device(device)
    if not grad:
        return out
    o, r = outs[0], refs[0]
    if name is True:
        assert o.grad_fn is not None and o.grad_fn.name() == r.grad_fn.name(), \
            f"grad_fn {o.grad_fn} != torch's {r.grad_fn.name()}"
    elif name:
        assert o.grad_fn.name() == name, f"grad_fn {o.grad_fn} != {name}"
        if r.grad_fn is not None:
            assert r.grad_fn.name() == name, f"test expects {name}, torch gives {r.grad_fn.name()}"
    g = np.random.default_rng(seed + 1).standard_normal(r.shape)
    o.backward(ag.tensor(g, dtype=dtype, device=device))
    r.backward(torch.tensor(g, dtype=getattr(torch, dtype)))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if rg[i]:
            if b.grad is None:
                assert a.grad is None or np.all(to_numpy(a.grad) == 0), f"grad of input {i}: torch has none"
                continue
            assert a.grad is not None, f"input {i} got no gradient"
            assert a.grad.dtype == a.dtype and a.grad.shape == a.shape
            assert_close(a.grad, b.grad, dtype, f"grad of input {i}")
    return out


def gradcheck(fn, *shapes, low=-2.0, high=2.0, seed=0, device="cpu", second_order=True, arrays=None):
    """Finite differences in float64 (first and, by default, second order)."""
    arrays = random_arrays(shapes, low, high, seed) if arrays is None else arrays
    inputs = [ag.tensor(a, dtype="float64", device=device, requires_grad=True)
              if isinstance(a, np.ndarray) and a.dtype.kind == "f" else
              (ag.tensor(a, device=device) if isinstance(a, np.ndarray) else a) for a in arrays]
    f = lambda *xs: fn(ag, *xs)  # noqa: E731
    assert ag.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)
    if second_order:
        assert ag.autograd.gradgradcheck(f, inputs, eps=1e-6, atol=1e-4, rtol=1e-3)


def _host_or_none(t, torch):
    if t is None:
        return None
    if isinstance(t, torch.Tensor) and t._is_zerotensor():        # (PyTorch's lazy zeros)
        return np.zeros(tuple(t.shape))
    return to_numpy(t)


def _first_and_second_order(lib, fn, inputs, rg, seed):
    """Under create_graph: whether each first gradient (of the first output, for
    a constant upstream gradient) requires grad, and the gradients of their
    random weighted sum (second order; None: PyTorch's or ours undefined)."""
    out = fn(lib, *inputs)
    out = out[0] if isinstance(out, tuple) else out
    leaves = [x for x, r in zip(inputs, rg) if r]
    if not out.requires_grad:
        return None, None
    firsts = lib.autograd.grad(out, leaves, lib.ones_like(out), create_graph=True, allow_unused=True)
    needs = tuple(None if g is None else g.requires_grad for g in firsts)
    rng = np.random.default_rng(seed)
    total = None
    for g in firsts:
        if g is not None and g.requires_grad:
            w = lib.tensor(rng.standard_normal(tuple(g.shape)), dtype=g.dtype).to(g.device)
            total = (g * w).sum() if total is None else total + (g * w).sum()
    if total is None:
        return needs, None
    try:
        return needs, lib.autograd.grad(total, leaves, allow_unused=True)
    except RuntimeError as e:
        if lib is ag or not ("not implemented" in str(e) or "no autograd formula" in str(e)):
            raise
        return needs, "PyTorch has no double backward here"


def check_second_order(torch, fn, *shapes, torch_fn=None, device="cpu", low=-2.0, high=2.0, seed=0, arrays=None):
    """Double backward against PyTorch's in float64: the first gradients
    under create_graph require grad as PyTorch's (a gradient linear in the
    upstream one still depends on the inputs PyTorch's backward node takes),
    and the second-order gradients are PyTorch's values (None where its are)."""
    arrays = random_arrays(shapes, low, high, seed) if arrays is None else arrays
    rg = [isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays]
    ours, theirs = make_inputs(torch, arrays, "float64", device, rg)
    needs, seconds = _first_and_second_order(ag, fn, ours, rg, seed + 2)
    ref_needs, ref_seconds = _first_and_second_order(torch, torch_fn or fn, theirs, rg, seed + 2)
    assert needs == ref_needs, f"first gradients require grad: {needs}, PyTorch's: {ref_needs}"
    if isinstance(ref_seconds, str) or ref_seconds is None:
        return
    for i, (a, b) in enumerate(zip(seconds, ref_seconds)):
        a, b = _host_or_none(a, torch), _host_or_none(b, torch)
        assert (a is None) == (b is None), f"second-order gradient of input {i}: {a}, PyTorch's: {b}"
        if a is not None:
            assert a.shape == b.shape, f"second-order gradient of input {i}: shape {a.shape} != {b.shape}"
            np.testing.assert_allclose(a, b, equal_nan=True, err_msg=f"second-order gradient of input {i}",
                                       **TOL["float64"])


def backward_outcome(y):
    """"ran", or "version error" where backward of y.sum() raised PyTorch's in-place version error."""
    try:
        y.sum().backward()
        return "ran"
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e), str(e)
        return "version error"


_CHECK_OPTIONS = ("torch_fn", "name", "low", "high", "arrays")


def case_tests(cases):
    """The three tests of a table of op forms, one line per form:
    (id, fn(lib, *inputs), inputs (shapes, U(...) or constant arrays), options).
    test_against_pytorch: check() in float64 and float32, on every device;
    test_gradcheck: finite differences in float64, second order included;
    test_second_order: check_second_order() on every device.
    Options: check()'s torch_fn, name, low, high, arrays (fixed data); fd=False (no gradcheck);
    second_order=False. A test module binds them:
        test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)"""
    @pytest.mark.parametrize("dtype", ["float64", "float32"])
    @pytest.mark.parametrize("case", cases, ids=[c[0] for c in cases])
    def test_against_pytorch(torch, case, dtype, device):
        _, fn, inputs, opts = case
        check(torch, fn, *inputs, dtype=dtype, device=device, **{k: v for k, v in opts.items() if k in _CHECK_OPTIONS})

    checked = [c for c in cases if c[3].get("fd", True)]

    @pytest.mark.parametrize("case", checked, ids=[c[0] for c in checked])
    def test_gradcheck(case, device):
        _, fn, inputs, opts = case
        gradcheck(fn, *inputs, device=device, low=opts.get("low", -2.0), high=opts.get("high", 2.0),
                  second_order=opts.get("second_order", True), arrays=opts.get("arrays"))

    @pytest.mark.parametrize("case", cases, ids=[c[0] for c in cases])
    def test_second_order(torch, case, device):
        _, fn, inputs, opts = case
        check_second_order(torch, fn, *inputs, device=device,
                           **{k: v for k, v in opts.items() if k in ("torch_fn", "low", "high", "arrays")})
    return test_against_pytorch, test_gradcheck, test_second_order


def graph_node_names(t):
    """The names of every node in t's backward graph (each node once)."""
    seen, names, todo = set(), [], [t.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        names.append(node.name())
        todo.extend(n for n, _ in node.next_functions)
    return names


# ---- helpers the nn test files share -------------------------------------------------------------

NN_TOL = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=2e-5, atol=2e-5),
          "float16": dict(rtol=5e-3, atol=5e-3)}


def tensor_pair(torch, a, device, dtype="float64", requires_grad=True):
    """The same array as our tensor (on `device`) and as PyTorch's (on the CPU)."""
    return (ag.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad),
            torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad))


def assert_matches(ours, theirs, **tol):
    """Our tensor against PyTorch's, NaN equal to NaN (float64-tight unless tolerances are given)."""
    np.testing.assert_allclose(to_numpy(ours).astype(np.float64), theirs.detach().numpy().astype(np.float64),
                               equal_nan=True, **(tol or NN_TOL["float64"]))


def assert_matches_in(ours, theirs, dtype, what=""):
    """The same with NN_TOL[dtype], both present and of one shape."""
    assert ours is not None and theirs is not None, what
    a, b = to_numpy(ours), theirs.detach().numpy()
    assert a.shape == b.shape, f"{what}: {a.shape} != {b.shape}"
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), equal_nan=True, err_msg=what,
                               **NN_TOL[dtype])


def backward_both(torch, out, ref, seed=1):
    """Backward of our output and PyTorch's with the same random output gradient."""
    g = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    out.backward(ag.tensor(g, dtype=out.dtype, device=out.device))
    ref.backward(torch.tensor(g, dtype=ref.dtype))


def norm_gradients_match(torch, norm, arrays, wants, dtype, device, what=""):
    """norm(L, x, weight, bias) on both libraries, x, weight, bias from `arrays` requiring grad as
    `wants`: the gradients for an upstream g (arrays[3]) and for the sum's, against PyTorch's
    (None where PyTorch's is None)."""
    for upstream in ("g", "sum"):
        results = []
        for L in (ag, torch):
            kw = dict(dtype=getattr(L, dtype), **({"device": device} if L is ag else {}))
            xs, ws, bs = (L.tensor(a, requires_grad=r, **kw) for a, r in zip(arrays[:3], wants))
            y = norm(L, xs, ws, bs)
            y.backward(L.tensor(arrays[3], **kw)) if upstream == "g" else y.sum().backward()
            results.append([None if t.grad is None else to_numpy(t.grad) for t in (xs, ws, bs)])
        for name, o, r in zip(("input", "weight", "bias"), *results):
            assert (o is None) == (r is None), (what, wants, name)
            if r is not None:
                tol = dict(rtol=1e-9, atol=1e-10) if dtype == "float64" else dict(rtol=2e-4, atol=2e-5)
                np.testing.assert_allclose(o, r, err_msg=f"{what} {wants} {upstream}: {name}", **tol)
