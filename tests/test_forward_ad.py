"""Forward-mode AD (ag.autograd.forward_ad) against torch.autograd.forward_ad
(PyTorch 2.13): the tangent of every op form in the oracle tables (the
forward derivative PyTorch computes with its own formulas, ours by the
transpose of each op's backward, or the op's own formula where PyTorch's
disagrees with that transpose: at ties, NaNs, zeros, empty reductions), the
API's behaviour and errors, in-place ops, custom Functions, random ops, and
forward-over-reverse."""
import importlib

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.autograd import op as _op

from oracle import make_inputs, random_arrays, to_numpy

fwAD = ag.autograd.forward_ad

# the sweep runs the tables' PyTorch forms, some deprecated there (each table filters its own)
pytestmark = [pytest.mark.filterwarnings(f"ignore:{m}") for m in (
    ".*is deprecated", "Using torch.cross without specifying the dim", "Using padding='same' with even kernel",
    "Since version 1.3.0, affine_grid behavior has changed", r"index_reduce\(\) is in beta", "LSTM with projections")]


# the op tables the sweep reads: (module, table), each a list of (id, fn(lib, *inputs), inputs, options)
TABLES = [("test_ops_oracle", "CASES"), ("test_ops_products", "CASES"), ("test_ops_composite_pointwise", "CASES"),
          ("test_ops_rearrange", "CASES"), ("test_ops_aliases", "CASES"), ("test_linalg", "CASES"),
          ("test_linalg_more", "CASES"), ("test_nn_conv", "CASES"), ("test_nn_layers", "H5_CASES"),
          ("test_nn_losses", "MARGIN_CASES"), ("test_linalg_qr_cholesky", "CASES"),
          ("test_lowlevel_functions", "CASES"), ("test_nn_attention", "CASES"),
          ("test_nn_fractional_adaptive", "CASES"), ("test_nn_normalization", "CASES"),
          ("test_nn_resampling", "CASES"), ("test_nn_transformer", "CASES"), ("test_nn_utils_rnn", "CASES"),
          ("test_ops_bessel", "CASES"), ("test_ops_bitwise", "CASES"), ("test_ops_constructions", "CASES"),
          ("test_ops_functional_aliases", "CASES"), ("test_ops_gamma", "CASES"), ("test_ops_gamma", "INCOMPLETE_CASES"),
          ("test_ops_inplace_functions", "CASES"), ("test_ops_inplace_views", "CASES"),
          ("test_ops_polynomials", "CASES"), ("test_ops_scatter_more", "CASES"), ("test_torch_compat_names", "CASES"),
          ("test_ops_statistics", "CASES"), ("test_ops_searching", "CASES"), ("test_special_namespace", "CASES")]


@pytest.fixture(autouse=True)
def _tables_on_the_device(request):
    """Tables whose forms make index tensors on the test's device read it from their module's _DEVICE (their
    own autouse fixture sets it for their tests): set it for ours."""
    device = request.getfixturevalue("device") if "device" in request.fixturenames else "cpu"
    for module, _ in TABLES:
        where = getattr(importlib.import_module(module), "_DEVICE", None)
        if where is not None:
            where["now"] = device


def _cases(differentiable_only=False):
    """The tables' forms with a floating input (the others have no tangent); with differentiable_only, not
    those the table marks as not differentiable in every input (fd=False: no gradient to take a tangent of)."""
    out = []
    for module, table in TABLES:
        for case in getattr(importlib.import_module(module), table):
            if any(_floating(a) for a in _arrays(case)) and not (differentiable_only and case[3].get("fd") is False):
                out.append(pytest.param(case, id=f"{module[5:]}:{case[0]}"))
    return out


def _arrays(case):
    _, _, shapes, opts = case
    arrays = opts.get("arrays") or random_arrays(shapes, opts.get("low", -2.0), opts.get("high", 2.0), 0)
    return list(arrays) + ([opts["qs"]] if "qs" in opts else [])      # (quantile's q: an input of its table's)


def _floating(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _duals(lib, inputs, tangents):
    return [lib.autograd.forward_ad.make_dual(x, t) if t is not None else x for x, t in zip(inputs, tangents)]


def _run_dual(lib, fn, inputs, tangents):
    with lib.autograd.forward_ad.dual_level():
        out = fn(lib, *_duals(lib, inputs, tangents))
        outs = out if isinstance(out, tuple) else (out,)
        return [lib.autograd.forward_ad.unpack_dual(o) if _is_tensor(lib, o) else (o, None) for o in outs]


def _is_tensor(lib, o):
    return isinstance(o, lib.Tensor)


@pytest.mark.parametrize("rg", [False, True], ids=["plain", "requires_grad"])
@pytest.mark.parametrize("case", _cases())
def test_tangents_as_torch(torch, case, device, rg):
    """Each op form of the oracle tables, every floating input dual: primal and
    tangent against PyTorch's (float64). Where PyTorch has no forward derivative
    (its NotImplementedError: cdist, cholesky, ctc_loss, ...), or a wrong one,
    against central differences of PyTorch's function along the tangents."""
    _, fn, shapes, opts = case
    arrays = _arrays(case)
    floating = [_floating(a) for a in arrays]
    # (with rg, the primals require grad: the JVP is then read from a graph over them, where an
    # input used twice, x * x, must count once per use)
    ours, theirs = make_inputs(torch, arrays, "float64", device, [rg and f for f in floating])
    rng = np.random.default_rng(1)
    tangent_arrays = [rng.standard_normal(a.shape) if f else None for a, f in zip(arrays, floating)]
    our_t = [None if t is None else ag.tensor(t, dtype=ag.float64, device=device) for t in tangent_arrays]
    their_t = [None if t is None else torch.tensor(t, dtype=torch.float64) for t in tangent_arrays]
    torch_fn = opts.get("torch_fn") or fn
    try:
        ref = _run_dual(torch, torch_fn, theirs, their_t)
    except (NotImplementedError, RuntimeError, AssertionError, ValueError):
        # no forward formula ("forward AD ... not implemented"), or PyTorch's own forward AD failing on a
        # valid call (norm_except_dim: a tangent of the wrong size; vmap inside a flex_attention
        # reference): judged by central differences below
        ref = None
    if ref is None:
        if opts.get("fd") is False:
            # (the table marks the form as not differentiable in every input, e.g. class weights:
            # the tangent of the first input only)
            first = floating.index(True)
            our_t = [t if i == first else None for i, t in enumerate(our_t)]
            their_t = [t if i == first else None for i, t in enumerate(their_t)]
        got = _run_dual(ag, fn, ours, our_t)
        for i, (op, ot) in enumerate(got):
            if _is_tensor(ag, op) and op.dtype.is_floating_point:
                fd = _central_difference(torch, torch_fn, theirs, their_t, i)
                np.testing.assert_allclose(to_numpy(ot), fd, rtol=1e-5, atol=1e-7, err_msg=f"tangent {i}")
        return
    got = _run_dual(ag, fn, ours, our_t)
    assert len(got) == len(ref)
    for i, ((op, ot), (rp, rt)) in enumerate(zip(got, ref)):
        if not _is_tensor(torch, rp):
            continue
        # (1e-8: polygamma's series and PyTorch's agree to 5e-10 in float64)
        np.testing.assert_allclose(to_numpy(op), to_numpy(rp), rtol=1e-8, atol=1e-12, err_msg=f"primal {i}")
        if rt is None and rp.dtype.is_floating_point and ot is not None and np.any(to_numpy(ot)):
            # PyTorch leaves it without one (scatter_reduce "prod" has no forward formula there, and says
            # nothing): judged by central differences of PyTorch's function
            fd = _central_difference(torch, torch_fn, theirs, their_t, i)
            np.testing.assert_allclose(to_numpy(ot), fd, rtol=1e-5, atol=1e-7, err_msg=f"tangent {i} vs differences")
            continue
        if rt is None or not rp.dtype.is_floating_point:
            assert ot is None or not np.any(to_numpy(ot)), f"output {i}: torch has no tangent"
            continue
        assert ot is not None, f"output {i} has no tangent"
        assert ot.dtype == op.dtype and tuple(ot.shape) == tuple(op.shape)
        # (1e-7: PyTorch's celu scales by 1 / alpha rounded to float32, up to 6e-8 off in float64)
        if not np.allclose(to_numpy(ot), to_numpy(rt), rtol=1e-7, atol=1e-11):
            # judged by finite differences along the tangents: PyTorch's forward formula for
            # triangular_solve, e.g., reads the half of A's tangent that the result ignores
            fd = _central_difference(torch, torch_fn, theirs, their_t, i)
            np.testing.assert_allclose(to_numpy(ot), fd, rtol=1e-5, atol=1e-7, err_msg=f"tangent {i} vs differences")
            assert not np.allclose(to_numpy(rt), fd, rtol=1e-5, atol=1e-7), f"tangent {i} differs from torch's"


def _central_difference(torch, fn, inputs, tangents, i, eps=1e-6):
    def at(sign):
        xs = [x if t is None else x + sign * eps * t for x, t in zip(inputs, tangents)]
        out = fn(torch, *xs)
        return (out if isinstance(out, tuple) else (out,))[i].detach().numpy()
    return (at(1) - at(-1)) / (2 * eps)


# ---- the API ----------------------------------------------------------------------

def _raises_like(torch_call, our_call):
    with pytest.raises(Exception) as theirs:
        torch_call()
    with pytest.raises(type(theirs.value)) as ours:
        our_call()
    assert str(ours.value) == str(theirs.value)


def test_levels_and_errors(torch):
    for lib in (torch, ag):
        F = lib.autograd.forward_ad
        x = lib.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError):
            F.make_dual(x, lib.ones(2))
        assert F.unpack_dual(x).tangent is None
        with F.dual_level() as level:
            assert level == 0
            with pytest.raises(RuntimeError):
                F.enter_dual_level()
        assert F.enter_dual_level() == 0
        F.exit_dual_level(level=0)
    for make in (lambda L: L.autograd.forward_ad.make_dual(L.tensor([1.0, 2.0]), L.ones(2)),
                 lambda L: L.autograd.forward_ad.exit_dual_level()):
        _raises_like(lambda: make(torch), lambda: make(ag))
    for bad in (lambda L: L.autograd.forward_ad.make_dual(L.tensor([1.0, 2.0]), L.ones(3)),
                lambda L: L.autograd.forward_ad.make_dual(L.tensor([1, 2]), L.tensor([1, 2]))):
        for lib in (torch, ag):
            lib.autograd.forward_ad.enter_dual_level()
        try:
            _raises_like(lambda: bad(torch), lambda: bad(ag))
        finally:
            for lib in (torch, ag):
                lib.autograd.forward_ad.exit_dual_level()
    assert _op._forward_ad is False


def test_make_dual_is_a_view_and_the_level_drops_tangents(torch, device):
    for lib in (torch, ag):
        kw = {"device": device} if lib is ag else {}
        F = lib.autograd.forward_ad
        x, t = lib.tensor([1.0, 2.0], **kw), lib.tensor([0.5, -1.0], **kw)
        xr = lib.tensor([1.0, 2.0], requires_grad=True, **kw)
        with F.dual_level():
            d = F.make_dual(x, t)
            assert d is not x and d._base is x and F.unpack_dual(d).tangent is t
            assert F.unpack_dual(x).tangent is None
            primal = F.unpack_dual(d).primal
            assert F.unpack_dual(primal).tangent is None and primal._base is x
            assert F.make_dual(xr, t).grad_fn.name() == "ViewBackward0"
            y = d.exp()
            assert F.unpack_dual(d.detach()).tangent is None
            assert F.unpack_dual(d.argmax()).tangent is None          # an integer result has none
        assert F.unpack_dual(d).tangent is None and F.unpack_dual(y).tangent is None
    assert _op._forward_ad is False


def _both(torch, device, fn):
    res = []
    for lib in (torch, ag):
        kw = {"device": device} if lib is ag else {}
        F = lib.autograd.forward_ad
        with F.dual_level():
            res.append([None if v is None else to_numpy(v) for v in fn(lib, F, kw)])
    for o, t in zip(res[1], res[0]):
        if t is None:
            assert o is None
        else:
            np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-12)


def test_no_grad_and_in_place(torch, device):
    def fn(L, F, kw):
        d = F.make_dual(L.tensor([1.0, 2.0, 3.0], dtype=L.float64, **kw),
                        L.tensor([0.5, -1.0, 2.0], dtype=L.float64, **kw))
        with L.no_grad():
            q = d * 3
        w = L.zeros(3, dtype=L.float64, **kw)
        w.add_(d)                                   # a tensor without a tangent takes one
        w.mul_(d)
        v = L.zeros(4, dtype=L.float64, **kw)
        v[1:] = d                                   # basic setitem
        u = L.ones(3, dtype=L.float64, **kw)
        u[L.tensor([2, 0], **kw)] = d[:2] * 2       # advanced setitem
        e = d.clone()
        e.zero_()
        return [F.unpack_dual(r).tangent for r in (q, w, v, u, e)]
    _both(torch, device, fn)


def test_tangents_of_views_share_memory_as_pytorchs(torch, device):
    """The tangent of a view is a view of its base's tangent, and an in-place write updates a tangent in
    place, as PyTorch's: the user's tangent itself, the other views' tangents, and a base without a
    tangent that a dual value is written into through a view."""
    def fn(L, F, kw):
        t = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, **kw)
        d = F.make_dual(L.ones(3, dtype=L.float64, **kw), t)
        v = d[1:]
        d.mul_(2)
        b = L.zeros(4, dtype=L.float64, **kw)
        w = b[1:3]
        w.copy_(F.make_dual(L.ones(2, dtype=L.float64, **kw), L.tensor([5.0, 6.0], dtype=L.float64, **kw)))
        u = b[2:]
        c = d.clone()
        c[0:2].mul_(L.tensor([3.0, 4.0], dtype=L.float64, **kw))
        c.t_() if c.dim() == 2 else c.unsqueeze_(0)
        return [t, F.unpack_dual(v).tangent, F.unpack_dual(d).tangent, F.unpack_dual(b).tangent,
                F.unpack_dual(w).tangent, F.unpack_dual(u).tangent, F.unpack_dual(c).tangent]
    _both(torch, device, fn)


def test_writing_through_a_view_with_a_tangent_that_requires_grad(torch, device):
    # the base's tangent takes the write with its history (PyTorch's: a CopySlices), so the tangent of the
    # base is differentiable in the written tangent
    def fn(L, F, kw):
        tangent = L.ones(2, dtype=L.float64, requires_grad=True, **kw)
        b = L.zeros(3, dtype=L.float64, **kw)
        value = F.make_dual(L.ones(2, dtype=L.float64, **kw), tangent * 2)
        b[1:].copy_(value)
        bt = F.unpack_dual(b).tangent
        g, = L.autograd.grad((bt * L.tensor([1.0, 2.0, 3.0], dtype=L.float64, **kw)).sum(), tangent)
        return [b, bt, g]
    _both(torch, device, fn)


def test_writing_through_a_view_into_a_leaf_tangent_that_requires_grad_is_refused(torch, device):
    # (the tangent's view is written in place: PyTorch's error for a view of a leaf requiring grad; ours
    # changes nothing)
    for lib in (torch, ag):
        kw = {"device": device} if lib is ag else {}
        F = lib.autograd.forward_ad
        with F.dual_level():
            b = F.make_dual(lib.zeros(3, dtype=lib.float64, **kw), lib.ones(3, dtype=lib.float64, requires_grad=True,
                                                                         **kw))
            value = F.make_dual(lib.ones(2, dtype=lib.float64, **kw), lib.ones(2, dtype=lib.float64, **kw))
            with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                                   "in-place operation"):
                b[1:].copy_(value)
            if lib is ag:                    # (PyTorch writes the primal before it raises)
                assert to_numpy(b).tolist() == [0.0] * 3 and to_numpy(F.unpack_dual(b).tangent).tolist() == [1.0] * 3
    assert _op._forward_ad is False


def test_random_ops_draw_once(torch, device):
    # the op runs twice (its result, then the graph its JVP is read from) with the same random state:
    # the tangent is masked where the result is, and the generator advanced as one draw would
    with fwAD.dual_level():
        x = ag.ones(1000, dtype=ag.float64, device=device)
        d = fwAD.make_dual(x, ag.full((1000,), 3.0, dtype=ag.float64, device=device))
        ag.manual_seed(0)
        y = ag.nn.functional.dropout(d, 0.5)
        after = ag.rand(3, device=device)
    p, t = fwAD.unpack_dual(y)
    assert t is None                               # (dropped with the level)
    ag.manual_seed(0)
    plain = ag.nn.functional.dropout(x, 0.5)
    np.testing.assert_array_equal(to_numpy(plain), to_numpy(y))
    np.testing.assert_array_equal(to_numpy(after), to_numpy(ag.rand(3, device=device)))
    with fwAD.dual_level():
        d = fwAD.make_dual(x, ag.full((1000,), 3.0, dtype=ag.float64, device=device))
        y = ag.nn.functional.dropout(d, 0.5)
        p, t = fwAD.unpack_dual(y)
        np.testing.assert_array_equal(to_numpy(t), 3.0 * to_numpy(p))


def test_custom_function_jvp(torch, device):
    def make(L):
        class Scale(L.autograd.Function):
            @staticmethod
            def forward(ctx, a, b, k):
                ctx.save_for_forward(a, b)
                ctx.saw_dual = L.autograd.forward_ad.unpack_dual(a).tangent is not None
                return a * b * k

            @staticmethod
            def backward(ctx, g):
                return g, g, None

            @staticmethod
            def jvp(ctx, ta, tb, tk):
                a, b = ctx.saved_tensors
                assert tk is None and not ctx.saw_dual
                return (ta * b + a * tb) * 2

        class NoJvp(L.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2
        return Scale, NoJvp

    def fn(L, F, kw):
        Scale, _ = make(L)
        a = F.make_dual(L.tensor([1.0, 2.0], dtype=L.float64, **kw), L.tensor([1.0, -1.0], dtype=L.float64, **kw))
        b = L.tensor([3.0, 4.0], dtype=L.float64, **kw)
        return [F.unpack_dual(Scale.apply(a, b, 2.0)).tangent]
    _both(torch, device, fn)

    def no_jvp(L):
        with L.autograd.forward_ad.dual_level():
            a = L.autograd.forward_ad.make_dual(L.tensor([1.0, 2.0]), L.ones(2))
            make(L)[1].apply(a)
    _raises_like(lambda: no_jvp(torch), lambda: no_jvp(ag))


def test_forward_over_reverse_and_reverse_over_forward(torch, device):
    def fn(L, F, kw):
        x = L.tensor([0.5, -1.0, 2.0], dtype=L.float64, requires_grad=True, **kw)
        v = L.tensor([1.0, 0.5, -2.0], dtype=L.float64, **kw)
        y = (x.sin() * x ** 2).sum()
        g, = L.autograd.grad(y, x, create_graph=True)
        hvp = F.unpack_dual(L.autograd.grad(y, x, create_graph=True)[0]).tangent   # none: x is not dual
        d = F.make_dual(x, v)
        jvp = F.unpack_dual((d.sin() * d ** 2).sum()).tangent          # d(y)/dx . v, differentiable in x
        grad_of_jvp, = L.autograd.grad(jvp, x)                          # = H v
        gd = F.unpack_dual(L.autograd.grad((d.sin() * d ** 2).sum(), x, create_graph=True)[0]).tangent
        return [g, hvp, jvp, grad_of_jvp, gd]
    _both(torch, device, fn)


def test_public_names(torch):
    import torch.autograd.forward_ad as tf
    for name in ("dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual",
                 "UnpackedDualTensor"):
        assert hasattr(tf, name) and hasattr(fwAD, name)
    assert fwAD.UnpackedDualTensor._fields == tf.UnpackedDualTensor._fields


def test_a_model_in_training_mode(torch, device):
    """A small model (Linear, BatchNorm1d in training mode, tanh, Linear) with a dual input: the output's
    tangent as PyTorch's, and the running statistics updated without taking a tangent."""
    rng = np.random.default_rng(3)
    x, tx = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    results, initial = [], None
    for lib in (torch, ag):
        kw = {"device": device} if lib is ag else {}
        nn = lib.nn
        model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 2)).double()
        if lib is torch:
            initial = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
        else:
            model.to(device)
            model.load_state_dict({k: ag.tensor(v, **kw) for k, v in initial.items()})
        F = lib.autograd.forward_ad
        with F.dual_level():
            y = model(F.make_dual(lib.tensor(x, **kw), lib.tensor(tx, **kw)))
            primal, tangent = F.unpack_dual(y)
            assert F.unpack_dual(model[1].running_mean).tangent is None
        state = {k: to_numpy(v) for k, v in model.state_dict().items()}
        results.append((to_numpy(primal), to_numpy(tangent), state))
    for o, t in zip(results[1][:2], results[0][:2]):
        np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-12)
    for k in ("1.running_mean", "1.running_var"):
        np.testing.assert_allclose(results[1][2][k], results[0][2][k], rtol=1e-12)


def test_saved_tensor_hooks_see_only_the_users_graph(torch, device):
    # the graph each dual op reads its JVP from is internal: with nothing requiring grad no graph is
    # recorded, and pack hooks see nothing, as PyTorch's
    for lib in (torch, ag):
        kw = {"device": device} if lib is ag else {}
        F = lib.autograd.forward_ad
        log = []
        with F.dual_level(), lib.autograd.graph.saved_tensors_hooks(lambda t: log.append(1) or t, lambda p: p):
            d = F.make_dual(lib.tensor([1.0, 2.0], dtype=lib.float64, **kw), lib.ones(2, dtype=lib.float64, **kw))
            y = (d.exp() * d).sin().sum()
            assert F.unpack_dual(y).tangent is not None
        assert log == []


def test_setitem_on_a_dual_tensor_requiring_grad(torch, device):
    # the write records the graph it records without forward AD (y's base takes a CopySlices; y, a view, is
    # regenerated over it: by replay here, AsStridedBackward0 in PyTorch), and the tangent goes through the
    # view it writes, as PyTorch's
    names = []

    def fn(L, F, kw):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True, **kw)
        y = F.make_dual(x * 1, L.tensor([0.5, 1.0, 1.5], dtype=L.float64, **kw))
        y[1:] = F.make_dual(L.tensor([4.0, 5.0], dtype=L.float64, **kw), L.tensor([7.0, 8.0], dtype=L.float64, **kw))
        names.append(y._base.grad_fn.name())
        g, = L.autograd.grad((y * y).sum(), x)
        return [F.unpack_dual(y).tangent, g]
    _both(torch, device, fn)
    assert names[0] == names[1] == "torch::autograd::CopySlices"


# ---- the ops with a forward formula of their own (Op.jvp) -----------------------------
# At ties, NaNs, zeros and empty reductions PyTorch's forward formula and the transpose of its backward
# disagree; these ops follow the formula. Each case: (id, fn(lib, *duals), [(primal, tangent), ...]).
NAN, INF = float("nan"), float("inf")
_PAIRS = ([1.0, 2.0, NAN, 1.0, -0.0], [1.0, 1.0, 1.0, NAN, 0.0])     # a tie, a win, a NaN on each side
_TIES = ([0.0, 5.0, 1.0, 2.0, 2.0, NAN], [2.0, 2.0, 3.0, 1.0, 2.0, 0.0], [2.0, 2.0, 1.0, 3.0, 2.0, 1.0])
_SPREAD = [[1.0, 3.0, 3.0, -3.0], [0.0, 0.0, 0.0, 0.0], [NAN, 1.0, 2.0, 2.0]]
FORMULA_CASES = [
    ("maximum", lambda L, a, b: L.maximum(a, b), _PAIRS),
    ("minimum", lambda L, a, b: L.minimum(a, b), _PAIRS),
    ("fmax", lambda L, a, b: L.fmax(a, b), _PAIRS),
    ("fmin", lambda L, a, b: L.fmin(a, b), _PAIRS),
    ("atan2", lambda L, a, b: L.atan2(a, b), ([0.0, 1.0, -0.0], [0.0, 1.0, 2.0])),
    ("sinc", lambda L, x: L.sinc(x), ([0.0, 1.0, 0.5],)),
    # logcumsumexp: PyTorch's formula (its + 1e-13 included), also for a 0-d input and past -inf
    ("logcumsumexp", lambda L, x: L.logcumsumexp(x, 0), ([0.5, 0.5, -float("inf"), 1000.0],)),
    ("logcumsumexp_0d", lambda L, x: x[1].logcumsumexp(0), ([0.5, 2.0],)),
    # losses over nothing: the mean's tangent is NaN, as the mean itself (the transposed backward gave 0)
    ("mse_loss_empty", lambda L, x, t: L.nn.functional.mse_loss(x[:0], t[:0]), ([0.5], [1.0])),
    ("smooth_l1_loss_empty", lambda L, x, t: L.nn.functional.smooth_l1_loss(x[:0], t[:0]), ([0.5], [1.0])),
    ("huber_loss_empty", lambda L, x, t: L.nn.functional.huber_loss(x[:0], t[:0]), ([0.5], [1.0])),
    # renorm with a slice whose norm is 0 (the transposed backward: NaN there), p 3 and inf
    ("renorm_zero_slice", lambda L, x: x.reshape(2, 2).renorm(3, 0, 0.5), ([0.5, 1.5, 0.0, 0.0],)),
    ("renorm_inf", lambda L, x: x.reshape(2, 2).renorm(float("inf"), 1, 0.25), ([0.5, 0.0, -1.5, 0.0],)),
    ("clamp", lambda L, x, lo, hi: L.clamp(x, lo, hi), _TIES),
    ("clamp_min_only", lambda L, x, lo, hi: L.clamp(x, min=lo), _TIES),
    ("clamp_max_only", lambda L, x, lo, hi: L.clamp(x, max=hi), _TIES),
    ("clamp_min", lambda L, x, lo, hi: L.clamp_min(x, lo), _TIES),
    ("clamp_max", lambda L, x, lo, hi: L.clamp_max(x, hi), _TIES),
    ("clamp_method", lambda L, x, lo, hi: x.clamp(max=hi), _TIES),
    ("std", lambda L, x: x.std(1), (_SPREAD,)),
    ("std_all_zero", lambda L, x: x[1].std(), (_SPREAD,)),
    ("std_one", lambda L, x: x[0, :1].std(), (_SPREAD,)),
    ("std_mean", lambda L, x: L.std_mean(x, 1)[0], (_SPREAD,)),
    ("amax", lambda L, x: x.amax(1), (_SPREAD,)),
    ("amin_keepdim", lambda L, x: x.amin(1, keepdim=True), (_SPREAD,)),
    ("max_all", lambda L, x: x[0].max(), (_SPREAD,)),
    ("max_all_nan", lambda L, x: x[2].max(), (_SPREAD,)),
    ("min_all", lambda L, x: x.min(), (_SPREAD,)),
    ("median", lambda L, x: x[0].median(), (_SPREAD,)),
    ("median_empty", lambda L, x: x[:0].median(), (_SPREAD,)),
    ("nanmedian", lambda L, x: x[2].nanmedian(), (_SPREAD,)),
    ("logsumexp", lambda L, x: x.logsumexp(1), (_SPREAD,)),
    ("logsumexp_empty_dim", lambda L, x: x[:, :0].logsumexp(1), (_SPREAD,)),
    ("logsumexp_minus_inf", lambda L, x: (x[1] - INF).logsumexp(0), (_SPREAD,)),
] + [(f"norm_p{p}", (lambda p: lambda L, x: x.norm(p=p, dim=1))(p), (_SPREAD,))
     for p in (0, 1, 2, 3, 1.5, 0.5, -1, INF, -INF)] + [
    ("vector_norm_all", lambda L, x: L.linalg.vector_norm(x[1], ord=3), (_SPREAD,)),
    ("setitem_repeated", lambda L, x, v: _written(L, x, v), ([0.0, 0.0, 0.0], [1.0, 2.0, 3.0])),
    ("index_put_repeated", lambda L, x, v: x.index_put((L.tensor([2, 0, 2], device=x.device),), v), ([0.0, 0.0, 0.0], [1.0, 2.0, 3.0])),
    ("index_fill_tensor", lambda L, x, v: x.index_fill(0, L.tensor([1, 1], device=x.device), v[0]), ([0.0, 0.0, 0.0], [1.0, 2.0, 3.0])),
    ("scatter_value", lambda L, x, v: x.scatter(0, L.tensor([1, 1], device=x.device), 5.0) * v, ([0.0, 1.0, 0.0], [1.0, 2.0, 3.0])),
]


def _written(L, x, v):
    y = x.clone()
    y[L.tensor([0, 0, 2], device=x.device)] = v
    return y


def _formula_tangents(rng, primals):
    t = rng.standard_normal(np.shape(primals)).round(2)
    t.flat[0] = NAN if np.size(t) > 4 else t.flat[0]          # (a NaN tangent where no input is selected)
    return t


@pytest.mark.filterwarnings(r"ignore:std\(\). degrees of freedom is <= 0")
@pytest.mark.parametrize("rg", [False, True], ids=["plain", "forward_over_reverse"])
@pytest.mark.parametrize("case", FORMULA_CASES, ids=[c[0] for c in FORMULA_CASES])
def test_forward_formulas_at_ties_nans_zeros_and_empty(torch, case, device, rg):
    """The tangent (and, for forward-over-reverse, its gradients in the primals and tangents) as
    PyTorch's, NaNs included."""
    _, fn, primals = case
    for nan_tangent in (False, True):
        rng = np.random.default_rng(3)
        tangents = [_formula_tangents(rng, p) if nan_tangent else rng.standard_normal(np.shape(p)).round(2)
                    for p in primals]
        got = []
        for lib in (torch, ag):
            kw = {"device": device} if lib is ag else {}
            F = lib.autograd.forward_ad
            with F.dual_level():
                xs = [lib.tensor(p, dtype=lib.float64, requires_grad=rg, **kw) for p in primals]
                ts = [lib.tensor(t, dtype=lib.float64, requires_grad=rg, **kw) for t in tangents]
                tangent = F.unpack_dual(fn(lib, *[F.make_dual(x, t) for x, t in zip(xs, ts)])).tangent
                vals = [tangent]
                if rg and tangent.requires_grad and not (lib is ag and len(got[0]) == 1):
                    w = lib.arange(1, tangent.numel() + 1, dtype=lib.float64, **kw).reshape(tangent.shape)
                    try:
                        vals += lib.autograd.grad((tangent * w).sum(), xs + ts, allow_unused=True)
                    except RuntimeError as e:
                        # PyTorch's own formulas for logsumexp and norm(p=1, inf) write in place into
                        # what their graph saved: its forward-over-reverse fails; the tangents compare
                        assert lib is torch and "modified by an inplace operation" in str(e), e
                got.append([None if v is None else to_numpy(v.detach() + 0) for v in vals])   # (+ 0: torch's
        theirs, ours = got                                                                    # ZeroTensors)
        assert len(ours) == len(theirs)
        for i, (o, t) in enumerate(zip(ours, theirs)):
            if t is None or o is None:          # (an unused input: None or zeros)
                assert not np.any(o if t is None else t), f"value {i}"
                continue
            np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-12, equal_nan=True,
                                       err_msg=f"value {i} (nan tangent: {nan_tangent})")


def test_a_broadcast_tangent_is_written_in_place_later(torch, device):
    # the transposed backward of a broadcasting op leaves an expanded (or read-only) tangent: the result's
    # tangent must still take an in-place write, as PyTorch's
    def fn(L, F, kw):
        d = F.make_dual(L.tensor([1.0, 2.0], dtype=L.float64, **kw), L.tensor([0.5, -1.0], dtype=L.float64, **kw))
        y = d + L.ones(2, 1, 1, dtype=L.float64, **kw)
        y.mul_(2)
        z = F.make_dual(L.tensor(3.0, dtype=L.float64, **kw), L.tensor(2.0, dtype=L.float64, **kw)).repeat(())
        z.zero_()
        w = d + L.ones(3, 1, dtype=L.float64, **kw)
        with L.no_grad():
            w[1].add_(d)
        return [F.unpack_dual(y).tangent, F.unpack_dual(z).tangent, F.unpack_dual(w).tangent]
    _both(torch, device, fn)


# ---- forward-over-reverse: the tangent of every op form's gradient ----------------------------------

def _gradient_tangents(lib, fn, inputs, tangents, floating, weights):
    """With duals of the inputs (leaves requiring grad) and their tangents: the tangents of the gradient of
    sum(out * w) in each floating input (None where it has none)."""
    F = lib.autograd.forward_ad
    with F.dual_level():
        duals = [F.make_dual(x, t) if f else x for x, t, f in zip(inputs, tangents, floating)]
        outs = fn(lib, *duals)
        outs = outs if isinstance(outs, tuple) else (outs,)
        outs = [o for o in outs if isinstance(o, lib.Tensor) and o.dtype.is_floating_point and o.requires_grad]
        if not outs:
            return None
        loss = sum((o * lib.tensor(w, dtype=o.dtype, device=o.device)).sum() for o, w in zip(outs, weights(outs)))
        leaves = [x for x, f in zip(inputs, floating) if f]
        grads = lib.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
        return [None if g is None else F.unpack_dual(g).tangent for g in grads]


def _gradients(lib, fn, inputs, floating, weights):
    outs = fn(lib, *inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    outs = [o for o in outs if isinstance(o, lib.Tensor) and o.dtype.is_floating_point and o.requires_grad]
    loss = sum((o * lib.tensor(w, dtype=o.dtype)).sum() for o, w in zip(outs, weights(outs)))
    return lib.autograd.grad(loss, [x for x, f in zip(inputs, floating) if f], allow_unused=True)


@pytest.mark.parametrize("case", _cases(differentiable_only=True))
def test_forward_over_reverse_as_torch(torch, case, device):
    """The tangent of each op form's input gradients (a Hessian-vector product, forward over reverse) against
    PyTorch's; where PyTorch has no forward derivative of its backward, against central differences of
    PyTorch's gradients along the tangents."""
    _, fn, shapes, opts = case
    arrays = _arrays(case)
    floating = [_floating(a) for a in arrays]
    ours, theirs = make_inputs(torch, arrays, "float64", device, floating)
    rng = np.random.default_rng(2)
    tangent_arrays = [rng.standard_normal(a.shape) if f else None for a, f in zip(arrays, floating)]
    our_t = [None if t is None else ag.tensor(t, dtype=ag.float64, device=device) for t in tangent_arrays]
    their_t = [None if t is None else torch.tensor(t, dtype=torch.float64) for t in tangent_arrays]
    drawn = {}

    def weights(outs):          # the same upstream weights on both sides
        for i, o in enumerate(outs):
            drawn.setdefault(i, np.random.default_rng(10 + i).standard_normal(tuple(o.shape)))
        return [drawn[i] for i in range(len(outs))]
    torch_fn = opts.get("torch_fn") or fn
    got = _gradient_tangents(ag, fn, ours, our_t, floating, weights)
    try:
        ref = _gradient_tangents(torch, torch_fn, theirs, their_t, floating, weights)
    except (NotImplementedError, RuntimeError, AssertionError, ValueError):
        # (no forward derivative of its backward; or PyTorch's own failing: linalg.cond's formulas write in
        # place into what they saved, group_norm's reshape a tangent to the wrong size)
        ref = "fd"
    if got is None:
        assert ref is None or ref == "fd"
        return
    def differences():
        eps = 1e-6

        def at(sign):
            xs = [torch.tensor(a + sign * eps * t, requires_grad=True) if f else x
                  for a, t, f, x in zip(arrays, tangent_arrays, floating, theirs)]
            return _gradients(torch, torch_fn, xs, floating, weights)
        try:
            plus, minus = at(1), at(-1)
        except RuntimeError as e:
            # PyTorch 2.13's linalg.cond(p in 1, -1, inf, -inf, fro): its own backward writes in place into
            # what it saved. No oracle for the second derivative here
            assert "modified by an inplace operation" in str(e), e
            pytest.skip("PyTorch cannot differentiate this form")
        return [None if p is None else (p - m) / (2 * eps) for p, m in zip(plus, minus)]
    fd = differences() if ref == "fd" else None
    for i, (o, t) in enumerate(zip(got, fd or ref)):
        o = None if o is None else to_numpy(o)
        t = None if t is None else to_numpy(t.detach() + 0)
        if o is None or t is None:
            assert not np.any(o if t is None else t), f"gradient {i}: one side has no tangent"
            continue
        if fd is None and not np.allclose(o, t, rtol=1e-9, atol=1e-10):
            # judged by differences of PyTorch's gradients: its forward formula for triangular_solve reads
            # the half of A's tangent that the result ignores (as in test_tangents_as_torch)
            fd = differences()
            assert not np.allclose(t, to_numpy(fd[i]), rtol=1e-4, atol=1e-6), f"tangent of gradient {i}"
        if fd is not None:
            np.testing.assert_allclose(o, to_numpy(fd[i]), rtol=1e-4, atol=1e-6, err_msg=f"tangent of gradient {i}")


def test_a_failed_in_place_write_leaves_the_tangent(torch, device):
    # (the out-of-place result broadcasts to a shape the written tensor cannot hold: the write fails, and
    # changes nothing, its tangent included)
    for lib in (torch, ag):
        kw = {"device": device} if lib is ag else {}
        F = lib.autograd.forward_ad
        with F.dual_level():
            c = lib.full((2, 1), 0.5, dtype=lib.float64, **kw)
            d = F.make_dual(lib.ones(2, 3, dtype=lib.float64, **kw), lib.ones(2, 3, dtype=lib.float64, **kw))
            with pytest.raises(RuntimeError):
                c.add_(d)
            assert F.unpack_dual(c).tangent is None and c._version == 0


def test_a_view_sees_the_tangent_its_base_gets_later(torch, device):
    # (found by the random programs) views taken before their base had a tangent: a write through one of
    # them gives the base one, and every view of it then reads its part, as in PyTorch
    def fn(L, F, kw):
        d = F.make_dual(L.tensor([[0.5], [1.5]], dtype=L.float64, **kw), L.tensor([[1.0], [2.0]], dtype=L.float64, **kw))
        c = L.tensor([[0.5], [0.5]], dtype=L.float64, **kw)
        whole, first = c[None], c.flatten()
        part = whole[0]
        part.add_(d * 3)
        s = whole.sum() + first
        return [F.unpack_dual(whole).tangent, F.unpack_dual(first).tangent, F.unpack_dual(s).tangent,
                F.unpack_dual(c).tangent]
    _both(torch, device, fn)
