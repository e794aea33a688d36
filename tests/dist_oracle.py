"""What the ag.distributions test files share: tolerances against torch.distributions, the
methods and properties compared, and small builders (each file keeps its own random draws)."""
import math

import numpy as np

import autograd_gpu as ag
from oracle import to_numpy

TOL = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=2e-4, atol=2e-5)}
# torch's float64 trigamma (the gradient of digamma, in the gamma family's entropy and KL) is off by up
# to 5e-10 relative (against mpmath; ours is within 1 ulp), so those gradients compare at 2e-8
TRIGAMMA_TOL = dict(rtol=2e-8, atol=2e-9)      # (absolute: trigamma values of order 1 enter sums)

METHODS = ("log_prob", "cdf", "icdf", "entropy")
PROPERTIES = ("mean", "mode", "variance", "stddev")

N = 20_000
# the one-sample Kolmogorov-Smirnov statistic of N draws exceeds 1.95 / sqrt(N) with probability 0.001
# (the seeds are fixed, so the tests are deterministic; the bound says they are not tuned passes)
KS_BOUND = 1.95 / math.sqrt(N)


def D(lib):
    return lib.distributions


def covariance(L, A):
    return A @ A.mT + 0.5 * L.eye(A.shape[-1], dtype=A.dtype, device=A.device)


def _t(L, v):
    return L.tensor(v)


def _evaluate(dist, name, value, quantile):
    if name in PROPERTIES:
        return getattr(dist, name)
    if name == "entropy":
        return dist.entropy()
    return getattr(dist, name)(quantile if name == "icdf" else value)


def _makers(torch, device, dtype="float64"):
    return (lambda v: ag.tensor(v, dtype=dtype, device=device)), (lambda v: torch.tensor(v, dtype=torch.float64))


def _close(a, b, dtype, what, tol=None):
    a, b = to_numpy(a), b.detach().numpy()
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), equal_nan=True, err_msg=what,
                               **(tol or TOL[dtype]))


def check_kl_against_torch(torch, kl, params, dtype, device, rng, grad_tol=None):
    """kl(lib, *params) on both libraries: value, dtype, and the gradients of a random weighting of it
    in every parameter (grad_tol: their tolerance, TOL[dtype] by default)."""
    ours = [ag.tensor(p, dtype=dtype, device=device, requires_grad=True) for p in params]
    theirs = [torch.tensor(p, dtype=getattr(torch, dtype), requires_grad=True) for p in params]
    o, t = kl(ag, *ours), kl(torch, *theirs)
    b = t.detach().numpy()
    assert o.shape == b.shape and o.dtype == ag.tensor(b).dtype
    np.testing.assert_allclose(to_numpy(o), b, **TOL[dtype])
    if t.requires_grad and np.all(np.isfinite(b)):
        w = rng.standard_normal(b.shape)
        gt = torch.autograd.grad((t * torch.tensor(w, dtype=t.dtype)).sum(), theirs, allow_unused=True)
        go = ag.autograd.grad((o * ag.tensor(w, dtype=dtype, device=device)).sum(), ours, allow_unused=True)
        for i, (x, y) in enumerate(zip(go, gt)):
            if y is None:
                assert x is None or np.all(to_numpy(x) == 0)
            else:
                np.testing.assert_allclose(to_numpy(x), y.numpy(), err_msg=f"grad {i}", **(grad_tol or TOL[dtype]))


def check_kl_gradcheck(kl_cases, names, params, device):
    """Finite differences, first and second order, of the named KL cases (float64)."""
    ps = [ag.tensor(p, dtype=ag.float64, device=device, requires_grad=True) for p in params]
    for name in names:
        fn = next(c[1] for c in kl_cases if c[0] == name)
        f = lambda *xs: fn(ag, *xs).sum()  # noqa: E731
        assert ag.autograd.gradcheck(f, ps, eps=1e-6, atol=1e-5, rtol=1e-3), name
        assert ag.autograd.gradgradcheck(f, ps, eps=1e-6, atol=1e-4, rtol=1e-3), name


def _tensors(torch, arrays, dtype, device, grad=True):
    """The arrays as float tensors of `dtype` on both libraries (ours on `device`)."""
    ours = [ag.tensor(np.asarray(a, dtype=np.float64), dtype=dtype, device=device, requires_grad=grad)
            for a in arrays]
    theirs = [torch.tensor(np.asarray(a, dtype=np.float64), dtype=getattr(torch, dtype), requires_grad=grad)
              for a in arrays]
    return ours, theirs


def grads_match(torch, terms, ours, theirs, dtype, rng, tol=None):
    """Random weighted sums (weights from `rng`) of the paired outputs (finite ones), then every input's
    gradient on both sides."""
    loss_o, loss_t = 0, 0
    for o, t in terms:
        b = t.detach().numpy()
        if t.requires_grad and np.all(np.isfinite(b)):
            w = rng.standard_normal(b.shape)
            loss_o = loss_o + (o * ag.tensor(w, dtype=o.dtype, device=o.device)).sum()
            loss_t = loss_t + (t * torch.tensor(w, dtype=t.dtype)).sum()
    if isinstance(loss_t, int):
        return
    pairs = [(x, y) for x, y in zip(ours, theirs) if y.requires_grad]
    grads_t = torch.autograd.grad(loss_t, [y for _, y in pairs], allow_unused=True)
    grads_o = ag.autograd.grad(loss_o, [x for x, _ in pairs], allow_unused=True)
    for i, (go, gt) in enumerate(zip(grads_o, grads_t)):
        if gt is None:
            assert go is None or np.all(to_numpy(go) == 0), f"input {i}: torch gives no gradient"
        else:
            np.testing.assert_allclose(to_numpy(go), gt.numpy(), err_msg=f"gradient of input {i}",
                                       **(tol or TOL[dtype]))
