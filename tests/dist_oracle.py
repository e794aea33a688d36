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
