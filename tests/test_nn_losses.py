"""The losses of ag.nn beyond MSE / NLL / cross-entropy, and the distances
(cosine_similarity, pairwise_distance), against PyTorch: values, gradients
of every input, second-order gradients (create_graph), edge values, shape
rules and errors, module reprs, signatures and state dicts."""
import inspect
import math
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn


def _np(t):
    return t.detach().cpu().numpy()


def _rng(seed=0):
    return np.random.default_rng(seed)


def _sign(rng, *shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def _arrays(name, rng):
    """name -> {argument: array}: inputs for one loss, in PyTorch's argument order."""
    n = rng.standard_normal
    u = rng.random
    table = {
        "l1_loss": lambda: dict(input=n((3, 4)), target=n((3, 4))),
        "smooth_l1_loss": lambda: dict(input=2 * n((3, 4)), target=n((3, 4))),
        "huber_loss": lambda: dict(input=2 * n((3, 4)), target=n((3, 4))),
        "binary_cross_entropy": lambda: dict(input=0.05 + 0.9 * u((3, 4)), target=u((3, 4))),
        "binary_cross_entropy_with_logits": lambda: dict(input=3 * n((3, 4)), target=u((3, 4))),
        "kl_div": lambda: dict(input=n((3, 4)), target=0.1 + u((3, 4))),
        "soft_margin_loss": lambda: dict(input=n((3, 4)), target=_sign(rng, 3, 4)),
        "margin_ranking_loss": lambda: dict(input1=n((6,)), input2=n((6,)), target=_sign(rng, 6)),
        "hinge_embedding_loss": lambda: dict(input=n((3, 4)), target=_sign(rng, 3, 4)),
        "cosine_embedding_loss": lambda: dict(input1=n((5, 4)), input2=n((5, 4)), target=_sign(rng, 5)),
        "cosine_similarity": lambda: dict(x1=n((5, 4)), x2=n((5, 4))),
        "pairwise_distance": lambda: dict(x1=n((5, 4)), x2=n((5, 4))),
        "gaussian_nll_loss": lambda: dict(input=n((3, 4)), target=n((3, 4)), var=0.2 + u((3, 4))),
        "poisson_nll_loss": lambda: dict(input=n((3, 4)), target=3 * u((3, 4)) + 0.01),
        "multilabel_soft_margin_loss": lambda: dict(input=2 * n((3, 4)), target=u((3, 4))),
        "triplet_margin_loss": lambda: dict(anchor=n((5, 4)), positive=n((5, 4)), negative=n((5, 4))),
    }
    return table[name]()


RED = [{"reduction": r} for r in ("none", "mean", "sum")]
OPTIONS = {
    "l1_loss": RED + [{"reduction": r, "weight": "w34"} for r in ("none", "mean", "sum")],
    "smooth_l1_loss": RED + [{"beta": 0.5}, {"beta": 0.0, "reduction": "sum"}, {"beta": 3.0}],
    "huber_loss": RED + [{"delta": 0.3}, {"delta": 2.0, "reduction": "sum"},
                         {"weight": "w34", "reduction": "mean"}, {"weight": "w34", "reduction": "none"}],
    "binary_cross_entropy": RED + [{"weight": "w4"}, {"weight": "w34", "reduction": "sum"}],
    "binary_cross_entropy_with_logits": RED + [{"weight": "w4"}, {"pos_weight": "w4"},
                                               {"weight": "w34", "pos_weight": "w4", "reduction": "none"}],
    "kl_div": [{"reduction": "none"}, {"reduction": "sum"}, {"reduction": "batchmean"},
               {"reduction": "batchmean", "log_target": True}, {"reduction": "none", "log_target": True}],
    "soft_margin_loss": RED,
    "margin_ranking_loss": RED + [{"margin": 0.5}],
    "hinge_embedding_loss": RED + [{"margin": 0.5}, {"margin": 2.0, "reduction": "none"}],
    "cosine_embedding_loss": RED + [{"margin": 0.3}, {"margin": -0.2, "reduction": "none"}],
    "cosine_similarity": [{}, {"dim": 0}, {"dim": -1, "eps": 0.5}],
    "pairwise_distance": [{}, {"p": 1.0}, {"p": 3.0, "keepdim": True}, {"p": math.inf}, {"p": 0.5}],
    "gaussian_nll_loss": RED + [{"full": True}, {"eps": 0.5, "reduction": "sum"}],
    "poisson_nll_loss": RED + [{"log_input": False}, {"full": True, "reduction": "none"},
                               {"log_input": False, "full": True, "eps": 0.1}],
    "multilabel_soft_margin_loss": RED + [{"weight": "w4"}, {"weight": "w4", "reduction": "none"}],
    "triplet_margin_loss": RED + [{"p": 1.0}, {"swap": True}, {"margin": 2.5, "swap": True, "reduction": "none"}],
}
# arguments the loss is not differentiable in (targets of sign / class kind; var is, and targets mostly are)
NO_GRAD = {"soft_margin_loss": {"target"}, "hinge_embedding_loss": {"target"},
           "cosine_embedding_loss": {"target"}}
CASES = [(name, i) for name, opts in OPTIONS.items() for i in range(len(opts))]


def _run(T, L, name, arrays, opts, dtype, device=None, grad=True):
    """One call on ag or torch: (output, {name: leaf tensor that requires grad})."""
    kw = {}
    tdtype = getattr(T, dtype)
    make = (lambda a, rg: T.tensor(a, dtype=tdtype, device=device, requires_grad=rg)) if T is ag else \
        (lambda a, rg: T.tensor(a, dtype=tdtype, requires_grad=rg))
    leaves = {k: make(a, grad and k not in NO_GRAD.get(name, ())) for k, a in arrays.items()}
    rng = _rng(7)
    weights = {"w4": 0.5 + rng.random(4), "w34": 0.5 + rng.random((3, 4))}
    for k, v in opts.items():
        kw[k] = make(weights[v], False) if v in weights else v
    return getattr(L, name)(*leaves.values(), **kw), {k: t for k, t in leaves.items() if t.requires_grad}


def _tol(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,i", CASES)
def test_values_and_gradients_match_pytorch(torch, device, name, i, dtype):
    arrays, opts = _arrays(name, _rng(i)), OPTIONS[name][i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, leaves = _run(ag, F, name, arrays, opts, dtype, device)
        ty, tleaves = _run(torch, torch.nn.functional, name, arrays, opts, dtype)
    assert y.dtype == getattr(ag, dtype) and tuple(y.shape) == tuple(ty.shape)
    assert y.device == ag.device(device)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), **_tol(dtype))
    v = _rng(99).standard_normal(tuple(ty.shape))          # a non-uniform upstream gradient
    grads = ag.autograd.grad(y, list(leaves.values()), ag.tensor(v, dtype=y.dtype, device=device))
    tgrads = torch.autograd.grad(ty, list(tleaves.values()), torch.tensor(v, dtype=ty.dtype))
    for k, g, tg in zip(leaves, grads, tgrads):
        np.testing.assert_allclose(_np(g), tg.numpy(), err_msg=k, **_tol(dtype))


@pytest.mark.parametrize("name,i", CASES)
def test_second_order_gradients_match_pytorch(torch, device, name, i):
    """d/d inputs of sum(grad * v) with create_graph, against PyTorch's."""
    arrays, opts = _arrays(name, _rng(i)), OPTIONS[name][i]
    outs = []
    for T, L, dev in ((ag, F, device), (torch, torch.nn.functional, None)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y, leaves = _run(T, L, name, arrays, opts, "float64", dev)
        xs = list(leaves.values())
        gs = T.autograd.grad(y.sum(), xs, create_graph=True)
        vs = [_rng(5 + j).standard_normal(tuple(x.shape)) for j, x in enumerate(xs)]
        total = sum(((g * (T.tensor(v, device=dev) if T is ag else T.tensor(v))).sum()
                     for g, v in zip(gs, vs) if g.requires_grad), 0.0)
        if not isinstance(total, float):
            outs.append([None if g is None else _np(g) if T is ag else g.numpy(force=True)
                         for g in T.autograd.grad(total, xs, allow_unused=True)])
        else:
            outs.append(None)                  # piecewise linear: no second derivative either side
    if outs[0] is None or outs[1] is None:
        assert outs[0] is None and outs[1] is None
        return
    for g, tg in zip(*outs):
        if tg is None:
            assert g is None or not np.any(g)
        else:
            np.testing.assert_allclose(np.zeros_like(tg) if g is None else g, tg, rtol=1e-9, atol=1e-11)


def test_gradcheck_to_second_order_on_the_stable_forms():
    rng = _rng(3)
    x = ag.tensor(3 * rng.standard_normal(6), dtype=ag.float64, requires_grad=True)
    t = ag.tensor(rng.random(6), dtype=ag.float64, requires_grad=True)
    p = ag.tensor(0.05 + 0.9 * rng.random(6), dtype=ag.float64, requires_grad=True)
    for fn in (lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"),
               lambda a, b: F.multilabel_soft_margin_loss(a, b, reduction="none"),
               lambda a, b: F.binary_cross_entropy(p, b, reduction="none") * a):
        assert ag.autograd.gradcheck(fn, (x, t))
        assert ag.autograd.gradcheck(lambda a, b: ag.autograd.grad(fn(a, b).sum(), (a, b), create_graph=True)[0],
                                     (x, t))


# ---- edge values ---------------------------------------------------------------------------------

def _compare(torch, fn, arrays, device, dtype="float64", grad=True):
    """fn(L, *tensors) on both libraries: values and gradients, NaN where PyTorch's are."""
    ours = [ag.tensor(a, dtype=getattr(ag, dtype), device=device, requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=grad) for a in arrays]
    y, ty = fn(F, *ours), fn(torch.nn.functional, *theirs)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=1e-6, atol=1e-7)
    if grad and ty.numel():
        gs = ag.autograd.grad(y.sum(), ours, allow_unused=True)
        tgs = torch.autograd.grad(ty.sum(), theirs, allow_unused=True)
        for g, tg in zip(gs, tgs):
            if tg is None:
                assert g is None
            else:
                np.testing.assert_allclose(_np(g), tg.numpy(), rtol=1e-6, atol=1e-7)
    return y


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bce_at_zero_and_one_matches_pytorch(torch, device, dtype):
    """Probabilities of exactly 0 and 1 (saturated sigmoids): log clamped at
    -100, and PyTorch's finite gradient w (x - t) / max(x (1 - x), 1e-12)."""
    x = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 1e-30])
    t = np.array([0.0, 0.3, 1.0, 0.0, 0.7, 1.0, 0.5, 1.0])
    ours = ag.tensor(x, dtype=getattr(ag, dtype), device=device, requires_grad=True)
    theirs = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    y = F.binary_cross_entropy(ours, ag.tensor(t, dtype=ours.dtype, device=device), reduction="none")
    ty = torch.nn.functional.binary_cross_entropy(theirs, torch.tensor(t, dtype=theirs.dtype), reduction="none")
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=1e-6)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(_np(ours.grad), theirs.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bce_with_logits_is_stable_for_large_logits(torch, device, dtype):
    x = np.array([-1000.0, -100.0, -20.0, 0.0, 0.0, 20.0, 100.0, 1000.0])
    t = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.5])
    y = _compare(torch, lambda L, a, b: L.binary_cross_entropy_with_logits(a, b, reduction="none"), (x, t),
                 device, dtype)
    assert np.all(np.isfinite(_np(y)))
    _compare(torch, lambda L, a, b: L.binary_cross_entropy_with_logits(a, b, pos_weight=L_tensor(L, [3.0], a),
                                                                        reduction="none"), (x, t), device, dtype)
    _compare(torch, lambda L, a, b: L.multilabel_soft_margin_loss(a.reshape(2, 4), b.reshape(2, 4)), (x, t),
             device, dtype)


def L_tensor(L, data, like):
    """A tensor of `data` in like's library, dtype and device."""
    T = ag if L is F else __import__("torch")
    return T.tensor(data, dtype=like.dtype, device=like.device)


def test_nan_and_inf_propagate_like_pytorch(torch, device):
    x = np.array([np.nan, 1.0, np.inf, -np.inf, 0.5])
    t = np.array([0.5, np.nan, 0.5, 0.5, 0.5])
    for fn in (lambda L, a, b: L.l1_loss(a, b, reduction="none"),
               lambda L, a, b: L.smooth_l1_loss(a, b, reduction="none"),
               lambda L, a, b: L.huber_loss(a, b, reduction="none"),
               lambda L, a, b: L.kl_div(a, b, reduction="none"),
               lambda L, a, b: L.binary_cross_entropy_with_logits(a, b, reduction="none"),
               lambda L, a, b: L.soft_margin_loss(a, b, reduction="none"),
               lambda L, a, b: L.poisson_nll_loss(a, b, reduction="none")):
        _compare(torch, fn, (x, t), device, grad=False)


def test_kl_div_zero_target_and_poisson_full_small_targets(torch, device):
    """xlogy(0, 0) = 0, and Stirling's term masked for targets <= 1."""
    x = np.array([-1.0, -0.5, -2.0, 0.3])
    t = np.array([0.0, 0.5, 1.0, 3.0])
    _compare(torch, lambda L, a, b: L.kl_div(a, b, reduction="sum"), (x, t), device, grad=False)
    _compare(torch, lambda L, a, b: L.poisson_nll_loss(a, b, full=True, reduction="none"), (x, t), device,
             grad=False)
    xs = [ag.tensor(x, dtype=ag.float64, device=device, requires_grad=True)]
    txs = [torch.tensor(x, requires_grad=True)]
    F.kl_div(xs[0], ag.tensor(t, dtype=ag.float64, device=device), reduction="sum").backward()
    torch.nn.functional.kl_div(txs[0], torch.tensor(t), reduction="sum").backward()
    np.testing.assert_allclose(_np(xs[0].grad), txs[0].grad.numpy())


def test_zero_vectors_and_equal_points_like_pytorch(torch, device):
    """cosine_similarity of a zero vector (norm clamped at eps, gradient through
    the clamp), cosine_embedding_loss of zero inputs, distance of equal points."""
    a = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, -1.0]])
    b = np.array([[1.0, 0.5, 2.0], [1.0, 2.0, -1.0]])
    _compare(torch, lambda L, x, y: L.cosine_similarity(x, y), (a, b), device)
    _compare(torch, lambda L, x, y: L.cosine_embedding_loss(x, y, L_tensor(L, [1.0, -1.0], x)), (a, b), device)
    _compare(torch, lambda L, x, y: L.pairwise_distance(x, y), (a, b), device)
    _compare(torch, lambda L, x, y: L.triplet_margin_loss(x, y, x), (a, b), device)


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_empty_batches_like_pytorch(torch, device, name):
    arrays = {k: v[:0] for k, v in _arrays(name, _rng(0)).items()}
    opts = {"reduction": "mean"} if name not in ("cosine_similarity", "pairwise_distance", "kl_div") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, _ = _run(ag, F, name, arrays, opts, "float32", device)
        ty, _ = _run(torch, torch.nn.functional, name, arrays, opts, "float32")
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(_np(y), ty.detach().numpy())


def test_zero_dim_inputs_like_pytorch(torch, device):
    s = lambda v: np.array(v)         # noqa: E731
    cases = [(lambda L, a, b: L.l1_loss(a, b), (s(0.3), s(-1.0))),
             (lambda L, a, b: L.smooth_l1_loss(a, b, beta=0.5), (s(0.3), s(-1.0))),
             (lambda L, a, b: L.binary_cross_entropy(a, b), (s(0.3), s(1.0))),
             (lambda L, a, b: L.binary_cross_entropy_with_logits(a, b), (s(0.3), s(1.0))),
             (lambda L, a, b: L.kl_div(a, b, reduction="batchmean"), (s(-0.3), s(0.5))),
             (lambda L, a, b: L.soft_margin_loss(a, L_tensor(L, -1.0, a)), (s(0.3), s(-1.0))),
             (lambda L, a, b: L.gaussian_nll_loss(a, b, L_tensor(L, 0.5, a)), (s(0.3), s(-1.0))),
             (lambda L, a, b: L.pairwise_distance(a, b), (s(0.3), s(-1.0))),
             (lambda L, a, b: L.triplet_margin_loss(a, b, b + 1), (s(0.3), s(-1.0))),
             (lambda L, a, b: L.cosine_embedding_loss(a.reshape(1), b.reshape(1), L_tensor(L, -1.0, a)),
              (s(0.3), s(-1.0)))]
    for fn, arrays in cases:
        _compare(torch, fn, arrays, device)


# ---- shapes, dtypes, warnings ------------------------------------------------------------------

def test_broadcasting_targets_warn_like_pytorch(torch, device):
    """The regression losses warn (PyTorch's text) for a target of another
    shape that broadcasts; the margin losses broadcast silently."""
    x, t = _rng(0).standard_normal((3, 4)), _rng(1).standard_normal(4)
    for name, warns in (("l1_loss", True), ("smooth_l1_loss", True), ("huber_loss", True),
                        ("soft_margin_loss", False), ("hinge_embedding_loss", False), ("poisson_nll_loss", False),
                        ("kl_div", False), ("multilabel_soft_margin_loss", False)):
        kw = {"reduction": "sum"}
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            # (kl_div of a negative target: NumPy's xlogy warns from ops/prims.py, reported)
            y = getattr(F, name)(ag.tensor(x, device=device), ag.tensor(np.abs(t), device=device), **kw)
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            ty = getattr(torch.nn.functional, name)(torch.tensor(x, dtype=torch.float32),
                                                    torch.tensor(np.abs(t), dtype=torch.float32), **kw)
        assert len(ours) == len(theirs) == int(warns), name
        if warns:
            assert "Using a target size ([4]) that is different to the input size ([3, 4])" in str(ours[0].message)
            assert ours[0].filename == __file__              # points at the caller
        np.testing.assert_allclose(_np(y), ty.numpy(), rtol=1e-5)


def test_kl_div_mean_warns_with_pytorchs_text(torch):
    x, t = ag.rand(2, 3).log(), ag.rand(2, 3)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        F.kl_div(x, t)
        F.kl_div(x, t, reduction="batchmean")
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch.nn.functional.kl_div(torch.rand(2, 3).log(), torch.rand(2, 3))
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert ours[0].filename == __file__


def test_mixed_float_dtypes_promote_like_pytorch(torch):
    a, b = np.array([0.25, -1.5]), np.array([1.0, 0.5])
    for name in ("l1_loss", "smooth_l1_loss", "kl_div", "soft_margin_loss", "poisson_nll_loss"):
        y = getattr(F, name)(ag.tensor(a, dtype=ag.float32), ag.tensor(b, dtype=ag.float64), reduction="sum")
        ty = getattr(torch.nn.functional, name)(torch.tensor(a, dtype=torch.float32),
                                                torch.tensor(b, dtype=torch.float64), reduction="sum")
        # soft_margin_loss's result takes the input's dtype, the others the promoted one
        assert str(y.dtype) == str(ty.dtype).replace("torch.", "autograd_gpu."), name
        np.testing.assert_allclose(_np(y), ty.numpy(), rtol=1e-6)


def test_gaussian_nll_var_layouts_like_pytorch(torch, device):
    """var: the input's shape, one dim short, 1 in one dim, or a float."""
    rng = _rng(2)
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for var in (0.2 + rng.random((3, 4)), 0.2 + rng.random(3), 0.2 + rng.random((3, 1)),
                0.2 + rng.random((1, 4)), 0.7):
        def fn(L, a, b, var=var):
            v = var if isinstance(var, float) else L_tensor(L, var, a)
            return L.gaussian_nll_loss(a, b, v, reduction="none")
        _compare(torch, fn, (x, t), device)
    # var's gradient passes the eps clamp, as PyTorch's in-place no_grad clamp does
    v0 = np.array([1e-9, 0.5, 2.0])
    _compare(torch, lambda L, a, b, v: L.gaussian_nll_loss(a, b, v, eps=1e-3), (x[0, :3], t[0, :3], v0), device)


def test_legacy_size_average_and_reduce_like_pytorch(torch):
    x, t = np.array([0.5, -1.0, 2.0]), np.array([0.0, 1.0, 1.5])
    for size_average, reduce in ((False, None), (None, False), (True, True), (False, True)):
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            y = F.l1_loss(ag.tensor(x), ag.tensor(t), size_average, reduce)
            m = nn.SoftMarginLoss(size_average, reduce)
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            ty = torch.nn.functional.l1_loss(torch.tensor(x), torch.tensor(t), size_average, reduce)
            tm = torch.nn.SoftMarginLoss(size_average, reduce)
        assert m.reduction == tm.reduction
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
        np.testing.assert_allclose(_np(y), ty.numpy())


# ---- bad input -------------------------------------------------------------------------------------

def _bad_cases(L, T):
    r = lambda *s: T.rand(*s)          # noqa: E731
    return [
        ("l1_loss", lambda: L.l1_loss(r(3, 4), r(3))),
        ("l1_loss", lambda: L.l1_loss(r(3, 4), r(3, 4), weight=r(4))),
        ("l1_loss", lambda: L.l1_loss([1.0], r(1))),
        ("l1_loss", lambda: L.l1_loss(r(3), r(3), reduction="avg")),
        ("smooth_l1_loss", lambda: L.smooth_l1_loss(r(3), r(3), beta=-1.0)),
        ("smooth_l1_loss", lambda: L.smooth_l1_loss(T.ones(3, dtype=T.int64), T.ones(3, dtype=T.int64))),
        ("huber_loss", lambda: L.huber_loss(r(3), r(3), delta=0.0)),
        ("huber_loss", lambda: L.huber_loss(r(3), r(2))),
        ("binary_cross_entropy", lambda: L.binary_cross_entropy(r(3, 4), r(4))),
        ("binary_cross_entropy", lambda: L.binary_cross_entropy(r(3) + 1, r(3))),
        ("binary_cross_entropy", lambda: L.binary_cross_entropy(r(3) * float("nan"), r(3))),
        ("binary_cross_entropy", lambda: L.binary_cross_entropy(r(3), r(3) + 1)),
        ("binary_cross_entropy", lambda: L.binary_cross_entropy(r(3), -r(3) - 0.1)),
        ("binary_cross_entropy", lambda: L.binary_cross_entropy(r(3), r(3).double())),
        ("binary_cross_entropy", lambda: L.binary_cross_entropy(r(3, 4), r(3, 4), weight=r(3))),
        ("binary_cross_entropy", lambda: L.binary_cross_entropy(r(3, 4), r(3, 4), weight=r(2, 3, 4))),
        ("binary_cross_entropy_with_logits", lambda: L.binary_cross_entropy_with_logits(r(3, 4), r(4))),
        ("binary_cross_entropy_with_logits",
         lambda: L.binary_cross_entropy_with_logits(r(3, 4), r(3, 4), pos_weight=r(2, 3, 4))),
        ("binary_cross_entropy_with_logits",
         lambda: L.binary_cross_entropy_with_logits(r(3, 4), r(3, 4), weight=r(3))),
        ("binary_cross_entropy_with_logits",
         lambda: L.binary_cross_entropy_with_logits(r(3), T.ones(3, dtype=T.int64))),
        ("kl_div", lambda: L.kl_div(r(3, 4), r(3), reduction="sum")),
        ("kl_div", lambda: L.kl_div(r(3), T.ones(3, dtype=T.int64), reduction="sum")),
        ("kl_div", lambda: L.kl_div(r(3), r(3), reduction="foo")),
        ("soft_margin_loss", lambda: L.soft_margin_loss(r(3, 4), r(3))),
        ("margin_ranking_loss", lambda: L.margin_ranking_loss(r(3), r(3, 3), r(3))),
        ("margin_ranking_loss", lambda: L.margin_ranking_loss(r(3), r(3), r(2))),
        ("hinge_embedding_loss", lambda: L.hinge_embedding_loss(r(3, 4), r(3))),
        ("cosine_embedding_loss", lambda: L.cosine_embedding_loss(r(4), r(4), r(1))),
        ("cosine_embedding_loss", lambda: L.cosine_embedding_loss(r(2, 3, 4), r(2, 3, 4), r(2))),
        ("cosine_embedding_loss", lambda: L.cosine_embedding_loss(r(3, 4), r(3, 4), r(2))),
        ("cosine_embedding_loss", lambda: L.cosine_embedding_loss(r(3, 4), r(2, 4), r(3))),
        ("cosine_embedding_loss", lambda: L.cosine_embedding_loss(r(3, 4), r(3, 4), r(3, 1))),
        ("cosine_similarity", lambda: L.cosine_similarity(r(3, 4), r(3))),
        ("cosine_similarity", lambda: L.cosine_similarity(r(3, 4), r(3, 4), dim=2)),
        ("cosine_similarity", lambda: L.cosine_similarity(r(4), r(4))),
        ("pairwise_distance", lambda: L.pairwise_distance(r(3, 4), r(3))),
        ("gaussian_nll_loss", lambda: L.gaussian_nll_loss(r(3, 4), r(3, 4), r(4))),
        ("gaussian_nll_loss", lambda: L.gaussian_nll_loss(r(3, 4), r(3, 4), -r(3, 4))),
        ("gaussian_nll_loss", lambda: L.gaussian_nll_loss(r(3, 4), r(3, 4), -0.5)),
        ("gaussian_nll_loss", lambda: L.gaussian_nll_loss(r(3, 4), r(3, 4), r(3, 4), reduction="x")),
        ("poisson_nll_loss", lambda: L.poisson_nll_loss(r(3, 4), r(3))),
        ("poisson_nll_loss", lambda: L.poisson_nll_loss(r(3, 4), r(3, 4), reduction="x")),
        ("multilabel_soft_margin_loss", lambda: L.multilabel_soft_margin_loss(r(3, 4), r(3, 4), weight=r(3))),
        ("multilabel_soft_margin_loss", lambda: L.multilabel_soft_margin_loss(r(()), r(()))),
        ("multilabel_soft_margin_loss", lambda: L.multilabel_soft_margin_loss(r(3, 4), r(3, 4), reduction="x")),
        ("triplet_margin_loss", lambda: L.triplet_margin_loss(r(3, 4), r(4), r(3, 4))),
        ("triplet_margin_loss", lambda: L.triplet_margin_loss(r(3, 4), r(2, 4), r(3, 4))),
        ("triplet_margin_loss", lambda: L.triplet_margin_loss(r(3, 4), r(3, 4), r(3, 4), margin=0)),
        ("triplet_margin_loss", lambda: L.triplet_margin_loss(r(3, 4), r(3, 4), r(3, 4), reduction="x")),
    ]


def _raised(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as e:          # noqa: BLE001 - the type is what is compared
        return e
    return None


def test_bad_input_raises_like_pytorch(torch):
    """Same exception type as PyTorch; the message names the function (or,
    for a bad reduction, the reduction as PyTorch's does)."""
    ours, theirs = _bad_cases(F, ag), _bad_cases(torch.nn.functional, torch)
    for k, ((name, fn), (_, tfn)) in enumerate(zip(ours, theirs)):
        e, te = _raised(fn), _raised(tfn)
        assert te is not None and e is not None, (k, name, te, e)
        if isinstance(te, ValueError) and "valid" in str(te) and "reduction" not in str(te):
            assert isinstance(e, ValueError), (k, name)          # "x is not valid": a ValueError either way
        elif isinstance(te, AttributeError):         # a list for a tensor: ours says so (TypeError)
            assert isinstance(e, TypeError), (k, name, e)
        else:
            assert type(e) is type(te), (k, name, e, te)
        msg = str(e)
        assert name in msg or "is not a valid value for reduction" in msg, (k, msg)


def test_bad_input_changes_nothing(device):
    x = ag.rand(3, 4, device=device, requires_grad=True)
    t = ag.rand(3, device=device)
    before = (_np(x).copy(), x._version)
    for fn in (lambda: F.l1_loss(x, t), lambda: F.binary_cross_entropy(x, t),
               lambda: F.binary_cross_entropy(x + 1, x.detach()), lambda: F.huber_loss(x, x.detach(), delta=-1.0)):
        with pytest.raises((RuntimeError, ValueError)):
            fn()
    assert x.grad is None and x._version == before[1]
    np.testing.assert_array_equal(_np(x), before[0])


@pytest.mark.gpu
def test_operands_on_two_devices_raise_naming_both(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    a, b = ag.rand(3, 4), ag.rand(3, 4, device=device)
    for fn in (F.l1_loss, F.binary_cross_entropy_with_logits, F.kl_div, F.cosine_similarity, F.pairwise_distance):
        with pytest.raises(RuntimeError, match=fn.__name__ + ".*cpu.*cuda"):
            fn(a, b)


def test_bce_weight_that_requires_grad_raises_like_pytorch(torch):
    x, t, w = ag.rand(3), ag.rand(3), ag.rand(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="binary_cross_entropy"):
        F.binary_cross_entropy(x, t, weight=w)
    with pytest.raises(RuntimeError):
        torch.nn.functional.binary_cross_entropy(torch.rand(3), torch.rand(3),
                                                 weight=torch.rand(3, requires_grad=True)).backward()


# ---- modules -----------------------------------------------------------------------------------------

MODULES = {
    "L1Loss": ("l1_loss", {}), "SmoothL1Loss": ("smooth_l1_loss", {"beta": 0.5}),
    "HuberLoss": ("huber_loss", {"delta": 0.5}), "BCELoss": ("binary_cross_entropy", {"weight": "w4"}),
    "BCEWithLogitsLoss": ("binary_cross_entropy_with_logits", {"weight": "w4", "pos_weight": "w4"}),
    "KLDivLoss": ("kl_div", {"reduction": "batchmean", "log_target": False}),
    "SoftMarginLoss": ("soft_margin_loss", {"reduction": "sum"}),
    "MarginRankingLoss": ("margin_ranking_loss", {"margin": 0.2}),
    "HingeEmbeddingLoss": ("hinge_embedding_loss", {"margin": 0.7}),
    "CosineEmbeddingLoss": ("cosine_embedding_loss", {"margin": 0.1, "reduction": "none"}),
    "CosineSimilarity": ("cosine_similarity", {"dim": 0}),
    "PairwiseDistance": ("pairwise_distance", {"p": 1.0, "keepdim": True}),
    "GaussianNLLLoss": ("gaussian_nll_loss", {"full": True}),
    "PoissonNLLLoss": ("poisson_nll_loss", {"log_input": False, "full": True}),
    "MultiLabelSoftMarginLoss": ("multilabel_soft_margin_loss", {"weight": "w4"}),
    "TripletMarginLoss": ("triplet_margin_loss", {"swap": True, "p": 1.0}),
}


@pytest.mark.parametrize("cls", sorted(MODULES))
def test_modules_match_pytorch(torch, device, cls):
    """Forward values and gradients, repr, state_dict keys, no parameters,
    train/eval, and .to(device) moving the weight buffers."""
    name, opts = MODULES[cls]
    rng = _rng(7)
    weights = {"w4": 0.5 + rng.random(4), "w34": 0.5 + rng.random((3, 4))}
    kw = {k: ag.tensor(weights[v], dtype=ag.float32) if v in weights else v for k, v in opts.items()}
    tkw = {k: torch.tensor(weights[v], dtype=torch.float32) if v in weights else v for k, v in opts.items()}
    m, tm = getattr(nn, cls)(**kw).to(device), getattr(torch.nn, cls)(**tkw)
    assert repr(m) == repr(tm) and str(m) == str(tm)
    assert list(m.state_dict()) == list(tm.state_dict()) and list(m.parameters()) == []
    for k in m.state_dict():
        assert m.state_dict()[k].device == ag.device(device)
    m.eval()
    assert not m.training
    arrays = _arrays(name, _rng(1))
    rg = [k not in NO_GRAD.get(name, ()) for k in arrays]
    xs = [ag.tensor(a, dtype=ag.float32, device=device, requires_grad=r) for a, r in zip(arrays.values(), rg)]
    txs = [torch.tensor(a, dtype=torch.float32, requires_grad=r) for a, r in zip(arrays.values(), rg)]
    y, ty = m(*xs), tm(*txs)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=2e-5, atol=2e-6)
    y.sum().backward()
    ty.sum().backward()
    for x, tx in zip(xs, txs):
        if tx.requires_grad:
            np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("cls", sorted(MODULES))
def test_signatures_match_pytorch(torch, cls):
    name = MODULES[cls][0]
    for ours, theirs in ((getattr(nn, cls).__init__, getattr(torch.nn, cls).__init__),
                         (getattr(F, name), getattr(torch.nn.functional, name))):
        try:
            tsig = inspect.signature(theirs)
        except ValueError:                          # a C function: its documented signature
            continue
        sig = inspect.signature(ours)
        assert [(p.name, p.kind, p.default) for p in sig.parameters.values()] == \
            [(p.name, p.kind, p.default) for p in tsig.parameters.values()], (cls, name)


def test_cosine_similarity_and_pairwise_distance_documented_signatures(torch):
    assert str(inspect.signature(F.cosine_similarity)) == "(x1, x2, dim=1, eps=1e-08)"
    assert str(inspect.signature(F.pairwise_distance)) == "(x1, x2, p=2.0, eps=1e-06, keepdim=False)"
    assert torch.nn.functional.cosine_similarity.__doc__.strip().startswith("cosine_similarity(x1, x2, dim=1, eps=1e-8)")


def test_module_options_and_errors_like_pytorch(torch):
    m, tm = nn.PairwiseDistance(p=3.0, eps=0.1, keepdim=True), torch.nn.PairwiseDistance(p=3.0, eps=0.1,
                                                                                         keepdim=True)
    assert (m.norm, m.eps, m.keepdim) == (tm.norm, tm.eps, tm.keepdim)
    g, tg = nn.GaussianNLLLoss(full=True, eps=0.5), torch.nn.GaussianNLLLoss(full=True, eps=0.5)
    assert (g.full, g.eps, g.reduction) == (tg.full, tg.eps, tg.reduction)
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)                     # keyword-only, as PyTorch's
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="TripletMarginLoss"):
            nn.TripletMarginLoss(margin=bad)
        with pytest.raises(ValueError):
            torch.nn.TripletMarginLoss(margin=bad)
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"
    assert nn.BCEWithLogitsLoss(pos_weight=ag.ones(2)).state_dict()["pos_weight"].tolist() == [1.0, 1.0]


def test_public_names():
    for cls in MODULES:
        assert cls in nn.__all__ and getattr(nn, cls) is getattr(nn.loss, cls)
    for name in {v[0] for v in MODULES.values()}:
        assert getattr(F, name) is getattr(nn.functional_losses, name)


# ---- multi_margin, multilabel_margin, triplet_with_distance, ctc, pdist (oracle tables) ------------------

from oracle import case_tests  # noqa: E402

_MM_T = np.array([0, 3, 2, 4])
_ML_T = np.array([[3, 0, -1, 1, 1], [1, 2, 3, 4, 0], [-1, 0, 0, 0, 0], [2, 2, -1, 0, 0]])
_CTC_T = np.array([[1, 2, 2], [3, 1, 0], [2, 0, 0]])
_CTC_FLAT = np.array([1, 2, 2, 3, 1, 2])


def _ctc(lib, x, targets, il, tl, **kw):
    return lib.nn.functional.ctc_loss(x.log_softmax(2), targets, il, tl, **kw)


MARGIN_CASES = [
    ("multi_margin", lambda L, x, t: L.nn.functional.multi_margin_loss(x, t), [(4, 5), _MM_T], {}),
    ("multi_margin_p2_w", lambda L, x, t, w: L.nn.functional.multi_margin_loss(x, t, p=2, margin=0.7,
                                                                                weight=w.detach(), reduction="sum"),
     [(4, 5), _MM_T, np.linspace(0.2, 1.0, 5)], dict(fd=False)),
    ("multi_margin_none_1d", lambda L, x, t: L.nn.functional.multi_margin_loss(x, t, reduction="none"),
     [(5,), np.array(2)], {}),
    ("multilabel_margin", lambda L, x, t: L.nn.functional.multilabel_margin_loss(x, t, reduction="none"),
     [(4, 5), _ML_T], {}),
    ("multilabel_margin_1d", lambda L, x, t: L.nn.functional.multilabel_margin_loss(x, t),
     [(5,), _ML_T[0]], {}),
    ("triplet_dist_default", lambda L, a, p, n: L.nn.functional.triplet_margin_with_distance_loss(a, p, n),
     [(3, 4), (3, 4), (3, 4)], dict(name=False)),
    ("triplet_dist_cos_swap", lambda L, a, p, n: L.nn.functional.triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda u, v: 1 - L.nn.functional.cosine_similarity(u, v), margin=0.5, swap=True,
        reduction="none"), [(3, 4), (3, 4), (3, 4)], dict(name=False)),
    ("ctc_padded_mean", lambda L, x, t: _ctc(L, x, t, [5, 4, 5], [3, 2, 1]), [(5, 3, 4), _CTC_T],
     dict(name=False, second_order=False)),
    ("ctc_flat_sum_blank", lambda L, x, t: _ctc(L, x, t, [5, 5, 3], [3, 2, 1], blank=3, reduction="sum"),
     [(5, 3, 4), np.array([1, 2, 2, 0, 1, 2])], dict(name=False, fd=False)),
    ("ctc_none", lambda L, x, t: _ctc(L, x, t, (4, 5, 2), (3, 0, 1), reduction="none"), [(5, 3, 4), _CTC_FLAT[:4]],
     dict(name=False, fd=False)),
    ("pdist", lambda L, x: L.nn.functional.pdist(x), [(5, 3)], dict(name=False)),
    ("pdist_p1", lambda L, x: L.nn.functional.pdist(x, 1), [(4, 3)], dict(name=False, second_order=False)),
    ("pdist_p3", lambda L, x: L.nn.functional.pdist(x, 3), [(4, 3)], dict(name=False)),
]
test_margin_ctc_against_pytorch, test_margin_ctc_gradcheck, test_margin_ctc_second_order = case_tests(MARGIN_CASES)


def test_ctc_unbatched_zero_infinity_and_grad(torch, device):
    """(T, C) log_probs; an impossible alignment (target longer than the input allows) is inf, or 0 with
    zero_infinity, and its gradient is then 0 (PyTorch's too)."""
    x = _rng(3).standard_normal((3, 4))
    for zi in (False, True):
        a = ag.tensor(x, device=device, requires_grad=True)
        b = torch.tensor(x, requires_grad=True)
        o = F.ctc_loss(a.log_softmax(1), ag.tensor([1, 1, 2], device=device), 3, 3, reduction="sum",
                       zero_infinity=zi)
        r = torch.nn.functional.ctc_loss(b.log_softmax(1), torch.tensor([1, 1, 2]), (3,), (3,), reduction="sum",
                                         zero_infinity=zi)
        assert float(o.detach()) == float(r.detach())
        if zi:
            o.backward()
            r.backward()
            np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pdist_by_blocks_of_rows_matches_pytorch(torch, device, dtype):
    """pdist(x) (p = 2) of 300 rows on NumPy is one node computed by blocks of rows: distances and the
    gradient (an upstream with negative entries) are PyTorch's, repeated rows (distance 0: gradient 0)
    included; its peak memory is the output's and a block's (the composite's: three arrays of
    N^2 M / 2 elements, 43 MB here)."""
    import tracemalloc
    rng = _rng(6)
    x_np = rng.standard_normal((300, 40)).astype(dtype)
    x_np[7] = x_np[3]
    x_np[200] = x_np[3]
    g_np = rng.standard_normal(300 * 299 // 2).astype(dtype)
    results = []
    for L, dev in ((torch, {}), (ag, {"device": device})):
        x = L.tensor(x_np, requires_grad=True, **dev)
        tracemalloc.start()
        d = L.nn.functional.pdist(x)
        d.backward(L.tensor(g_np, **dev))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert d.grad_fn.name() == "PdistBackward0"
        results.append((_np(d), _np(x.grad)))
        if L is ag and device == "cpu":
            assert peak < 12 * 2 ** 20, peak
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for what, theirs, ours in zip(("distances", "gradient"), *results):
        np.testing.assert_allclose(ours, theirs, err_msg=what, **tol)


def test_ctc_unbatched_targets_as_pytorch_takes_them(torch, device):
    """An unbatched input's targets: 1-D with exactly target_length labels (as any concatenation: more is
    an error, found by the fuzz: we took the first ones), or padded as one row (1, >= target_length),
    which PyTorch takes and we refused; two rows, or too short a row, are errors for both."""
    lp = _rng(5).standard_normal((5, 4))
    for targets, ok in (([1, 2], True), ([[1, 2, 1, 2]], True), ([1, 2, 1, 2], False), ([1], False),
                        ([[1, 2, 1, 2], [1, 1, 1, 1]], False), ([[1]], False)):
        results = []
        for L, dev in ((torch, {}), (ag, {"device": device})):
            log_probs = L.tensor(lp, **dev).log_softmax(1)
            call = lambda: L.nn.functional.ctc_loss(log_probs, L.tensor(targets, **dev), [5], [2], 3)  # noqa: E731
            if ok:
                results.append(float(call()))
            else:
                with pytest.raises(RuntimeError, match="ctc_loss" if L is ag else None):
                    call()
        if ok:
            assert results[1] == pytest.approx(results[0], rel=1e-12)


def test_ctc_gradient_taken_directly_is_the_true_derivative(torch):
    """Divergence kept: PyTorch's gradient w.r.t. log_probs adds exp(log_probs) (it is the gradient for the
    logits under log_softmax); ours is d loss / d log_probs. Through log_softmax both agree (tested above)."""
    x = np.log(np.full((3, 1, 3), 1 / 3))
    a = ag.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    F.ctc_loss(a, ag.tensor([[1]]), [3], [1], reduction="sum").backward()
    torch.nn.functional.ctc_loss(b, torch.tensor([[1]]), [3], [1], reduction="sum").backward()
    np.testing.assert_allclose(_np(a.grad) + np.exp(x), b.grad.numpy(), atol=1e-12)


def test_h5_loss_modules_repr_and_forward(torch):
    pairs = [(nn.MultiMarginLoss(p=2, margin=0.5), torch.nn.MultiMarginLoss(p=2, margin=0.5)),
             (nn.MultiLabelMarginLoss(reduction="sum"), torch.nn.MultiLabelMarginLoss(reduction="sum")),
             (nn.TripletMarginWithDistanceLoss(), torch.nn.TripletMarginWithDistanceLoss()),
             (nn.CTCLoss(blank=1, zero_infinity=True), torch.nn.CTCLoss(blank=1, zero_infinity=True))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
    w = np.array([1.0, 2.0, 0.5])
    m, t = nn.MultiMarginLoss(weight=ag.tensor(w)), torch.nn.MultiMarginLoss(weight=torch.tensor(w))
    assert list(m.state_dict()) == list(t.state_dict()) == ["weight"]
    x = _rng(1).standard_normal((4, 3))
    np.testing.assert_allclose(float(m(ag.tensor(x), ag.tensor([0, 1, 2, 1]))),
                               float(t(torch.tensor(x), torch.tensor([0, 1, 2, 1]))), rtol=1e-12)


def test_h5_losses_empty_batch(torch):
    # ('mean' and 'sum' of an empty batch: PyTorch's CPU kernels return uninitialised memory; ours are NaN, 0)
    assert math.isnan(float(F.multi_margin_loss(ag.zeros(0, 3), ag.zeros(0, dtype=ag.int64))))
    assert float(F.multilabel_margin_loss(ag.zeros(0, 3), ag.zeros(0, 3, dtype=ag.int64), reduction="sum")) == 0
    for red in ("none",):
        o = F.multi_margin_loss(ag.zeros(0, 3), ag.zeros(0, dtype=ag.int64), reduction=red)
        r = torch.nn.functional.multi_margin_loss(torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64),
                                                  reduction=red)
        np.testing.assert_array_equal(_np(o), r.numpy())
        o = F.multilabel_margin_loss(ag.zeros(0, 3), ag.zeros(0, 3, dtype=ag.int64), reduction=red)
        r = torch.nn.functional.multilabel_margin_loss(torch.zeros(0, 3), torch.zeros(0, 3, dtype=torch.int64),
                                                       reduction=red)
        np.testing.assert_array_equal(_np(o), r.numpy())
    assert tuple(F.pdist(ag.zeros(1, 3)).shape) == (0,)


H5_BAD = [  # (name in our message, call with (lib, F)), torch's exception type asserted equal
    ("multi_margin_loss", lambda L, f: f.multi_margin_loss(L.zeros(2, 3), L.tensor([0, 3]))),
    ("multi_margin_loss", lambda L, f: f.multi_margin_loss(L.zeros(2, 3), L.tensor([0, 1]), p=3)),
    ("multi_margin_loss", lambda L, f: f.multi_margin_loss(L.zeros(2, 3), L.tensor([0, 1, 1]))),
    ("multilabel_margin_loss", lambda L, f: f.multilabel_margin_loss(L.zeros(2, 3), L.tensor([[0, 3, -1],
                                                                                               [0, 1, 2]]))),
    ("triplet_margin_with_distance_loss", lambda L, f: f.triplet_margin_with_distance_loss(
        L.zeros(2, 3), L.zeros(2, 3), L.zeros(3), margin=1.0)),
    ("triplet_margin_with_distance_loss", lambda L, f: f.triplet_margin_with_distance_loss(
        L.zeros(2, 3), L.zeros(2, 3), L.zeros(2, 3), margin=0.0)),
    ("ctc_loss", lambda L, f: f.ctc_loss(L.zeros(3, 2, 4), L.tensor([[1, 2], [1, 1]]), [4, 3], [2, 2])),
    ("ctc_loss", lambda L, f: f.ctc_loss(L.zeros(3, 2, 4), L.tensor([[1, 2], [1, 1]]), [3, 3], [2, 2], blank=4)),
    ("pdist", lambda L, f: f.pdist(L.zeros(3))),
    ("pdist", lambda L, f: f.pdist(L.zeros(3, 2), -1.0)),
]


@pytest.mark.parametrize("i", range(len(H5_BAD)))
def test_h5_bad_input_raises_like_pytorch(torch, i):
    name, call = H5_BAD[i]
    with pytest.raises(Exception) as theirs:
        call(torch, torch.nn.functional)
    with pytest.raises(theirs.type) as ours:
        call(ag, F)
    assert name in str(ours.value)


# smooth_l1_loss, huber_loss and soft_margin_loss are one node each, as PyTorch's (they were composed of our
# ops): the same grad_fn, a write to the input before backward is a version error, the second derivative
# at |input - target| == beta (delta) is 0 as PyTorch's double backward, and huber's result has the input's
# dtype. Found by the random programs.
ONE_NODE = {"smooth_l1_loss": (dict(beta=0.5), "SmoothL1LossBackward0"),
            "huber_loss": (dict(delta=0.5), "HuberLossBackward0"), "soft_margin_loss": ({}, "SoftMarginLossBackward0")}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", list(ONE_NODE))
def test_pointwise_losses_are_one_node_as_pytorch(torch, name, reduction):
    kw, node = ONE_NODE[name]
    results = []
    for L in (torch, ag):
        x = L.tensor([0.5, -0.5, 0.25, 1.0, 0.0], dtype=L.float64, requires_grad=True)
        t = L.tensor([0.0, 0.0, 0.0, -1.0, 0.0] if name != "soft_margin_loss" else [1.0, -1.0, 1.0, -1.0, 1.0],
                     dtype=L.float64)
        y = getattr(L.nn.functional, name)(x, t, reduction=reduction, **kw)
        assert y.grad_fn.name() == node
        (g,) = L.autograd.grad(y.sum(), x, create_graph=True)
        (h,) = L.autograd.grad((g * L.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=L.float64)).sum(), x)
        x2 = x * 1
        y2 = getattr(L.nn.functional, name)(x2, t, reduction=reduction, **kw)
        x2.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y2.sum().backward()
        results.append([np.asarray(v.tolist()) for v in (y, g, h)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_huber_loss_has_the_inputs_dtype(torch):
    for L in (torch, ag):
        y = L.nn.functional.huber_loss(L.ones(2, dtype=L.float32), L.zeros(2, dtype=L.float64))
        assert str(y.dtype).endswith("float32")


@pytest.mark.parametrize("name", ["smooth_l1_loss", "huber_loss", "mse_loss"])
def test_pointwise_loss_mean_over_the_broadcast_shape(torch, name):
    """The mean's gradient divides by the broadcast size ((2, 1) against (1, 3): 6), not by the larger
    operand's (found reviewing the one-node losses: it divided by 3)."""
    grads = []
    for L in (torch, ag):
        x = L.tensor([[0.5], [1.5]], dtype=L.float64, requires_grad=True)
        t = L.tensor([[1.0, -1.0, 0.25]], dtype=L.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = getattr(L.nn.functional, name)(x, t)
        y.backward()
        grads.append((float(y.detach()), x.grad.tolist()))
    assert grads[1][0] == pytest.approx(grads[0][0], rel=1e-12)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-12)


# The CTC recursion was Tensor ops, a dozen nodes per time step, each step read as emit[t] (a
# SelectBackward0 whose backward is a zero copy of all T steps); now one node, PyTorch's, whose forward
# and backward run the recursions on arrays (T = 400, 4 sequences of 10 labels: 113 -> 18 ms).
def test_ctc_is_one_node():
    from oracle import graph_node_names
    lp = ag.randn(30, 2, 5, requires_grad=True).log_softmax(2)
    loss = F.ctc_loss(lp, ag.tensor([[1, 2, 2], [3, 1, 4]]), ag.tensor([30, 25]), ag.tensor([3, 2]), reduction="none")
    names = graph_node_names(loss)
    assert names[0] == "CtcLossBackward0" and names.count("CtcLossBackward0") == 1 and len(names) < 8, names


@pytest.mark.parametrize("beta_in_forward", [True, False], ids=["beta-in-forward", "beta-in-backward"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ctc_recursions_over_many_lengths_match_pytorch(torch, device, dtype, beta_in_forward, monkeypatch):
    """The alpha and beta recursions (on NumPy: beta as the alpha of the problem mirrored in time
    and states, sequences ending at their own steps, run in the forward's loop beside alpha when a
    backward will need it, else in the backward) over 12 sequences of random input lengths (0 and
    T among them) and targets with repeats and empty ones: the losses and the logits' gradients
    are PyTorch's."""
    if not beta_in_forward:                             # (as if the forward had expected no backward)
        from autograd_gpu.nn.functional_losses import CtcNll
        one_node = CtcNll.apply1
        monkeypatch.setattr(CtcNll, "apply1", staticmethod(lambda *args: one_node(*args[:-1], False)))
    rng = _rng(8)
    steps, batch, classes = 40, 12, 6
    x = rng.standard_normal((steps, batch, classes))
    in_len = rng.integers(0, steps + 1, batch)
    in_len[:2] = steps, 0
    tgt_len = np.minimum(rng.integers(0, 9, batch), in_len // 2)
    tgt_len[2] = 0
    targets = rng.integers(1, 3, (batch, 8))             # (two labels: many repeats)
    g = rng.standard_normal(batch)
    results = []
    for L in (ag, torch):
        kw = dict(device=device) if L is ag else {}
        xt = L.tensor(x, dtype=getattr(L, dtype), requires_grad=True, **kw)
        loss = L.nn.functional.ctc_loss(xt.log_softmax(2), L.tensor(targets, **kw), L.tensor(in_len, **kw),
                                        L.tensor(tgt_len, **kw), reduction="none", zero_infinity=True)
        loss.backward(L.tensor(g, dtype=getattr(L, dtype), **kw))
        results.append((loss.detach().cpu().numpy() if L is ag else loss.detach().numpy(),
                        xt.grad.cpu().numpy() if L is ag else xt.grad.numpy()))
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-10)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **tol)


def test_ctc_second_order_by_finite_differences(device):
    """PyTorch has no double backward for ctc_loss; ours (the Tensor-op recursion's, under create_graph)
    agrees with finite differences, per sequence and summed, an unused time step included."""
    x = ag.tensor(_rng(1).standard_normal((5, 2, 4)), dtype=ag.float64, device=device, requires_grad=True)
    for reduction in ("sum", "none"):
        f = lambda x: F.ctc_loss(x.log_softmax(2), ag.tensor([[1, 2], [3, 3]], device=device), [5, 4], [2, 2],  # noqa
                                 reduction=reduction)
        assert ag.autograd.gradcheck(f, (x,)) and ag.autograd.gradgradcheck(f, (x,))


# ---- large arrays: the pointwise losses a chunk at a time (ops/blocked.py) ------------------------------------

LARGE_LOSSES = [("smooth_l1_loss", {"beta": 0.5}), ("huber_loss", {"delta": 0.7}), ("soft_margin_loss", {}),
                ("binary_cross_entropy_with_logits", {})]
EDGES = [-math.inf, -1e30, -0.7, -0.5, -1e-30, -0.0, 0.0, 1e-30, 0.5, 0.7, 1e30, math.inf, math.nan]


def _loss_and_gradients(L, name, kw, x_np, t_np, reduction, **dev):
    x = L.tensor(x_np, requires_grad=True, **dev)
    t = L.tensor(t_np, requires_grad=name != "soft_margin_loss", **dev)     # (PyTorch refuses its target's)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # (the broadcast target's warning: meant here)
        y = getattr(L.nn.functional, name)(x, t, reduction=reduction, **kw)
    y.backward(L.ones_like(y) * 0.5 if reduction == "none" else None)
    return [v.detach().cpu().numpy() for v in (y, x.grad, x.grad if t.grad is None else t.grad)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, kw", LARGE_LOSSES, ids=[n for n, _ in LARGE_LOSSES])
def test_large_pointwise_losses_by_chunks_match_pytorch(torch, device, dtype, name, kw, reduction):
    """On arrays of 128k elements or more a reduced pointwise loss sums its values a chunk at a time
    (no full-size array of them) and its derivative is taken a chunk at a time, or in one pass
    (huber's and smooth_l1's: a clip): over several chunks, a partial last one and a target broadcast
    along rows (where allowed), the loss and both gradients are PyTorch's; and every gradient element, edge values
    included (|d| at beta/delta, signed zeros, infinities, NaN), is bit for bit what the same element
    gives in a smaller array (the whole-array form, the `where` of PyTorch's formula)."""
    rng = np.random.default_rng(sum(map(ord, name)))
    x_np = (rng.standard_normal((3, 70001)) * 2).astype(dtype)
    if name == "soft_margin_loss":
        t_np = np.where(rng.random((1, 70001)) < 0.5, -1.0, 1.0).astype(dtype)
    elif name == "binary_cross_entropy_with_logits":
        t_np = rng.random((3, 70001)).astype(dtype)          # (PyTorch requires the input's shape)
    else:
        t_np = rng.standard_normal((1, 70001)).astype(dtype)
    ours = _loss_and_gradients(ag, name, kw, x_np, t_np, reduction, device=device)
    theirs = _loss_and_gradients(torch, name, kw, x_np, t_np, reduction)
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-15)
    for what, a, b in zip(("loss", "input's gradient", "target's gradient"), ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_allclose(a, b, err_msg=f"{name}: {what}", **tol)
    if reduction == "mean":
        return
    x_np[1, :len(EDGES)] = EDGES
    t_full = np.broadcast_to(t_np, x_np.shape).copy()
    t_full[1, :len(EDGES)] = 0
    large = _loss_and_gradients(ag, name, kw, x_np, t_full, reduction, device=device)
    rows = [_loss_and_gradients(ag, name, kw, x_np[i:i + 1], t_full[i:i + 1], reduction, device=device)
            for i in range(3)]
    for k, what in ((1, "input's gradient"), (2, "target's gradient")):
        np.testing.assert_array_equal(large[k], np.concatenate([r[k] for r in rows]), err_msg=f"{name}: {what}")
    if reduction == "none":
        np.testing.assert_array_equal(large[0], np.concatenate([r[0] for r in rows]), err_msg=f"{name}: loss")
