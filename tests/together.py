"""What the integration tests (test_modes_together, test_features_together, test_subsystems_under_modes)
share: tolerances, the strict-xfail marker of a bug they found, and the same program on both libraries."""
import collections

import numpy as np
import pytest

import autograd_gpu as ag

F16 = dict(rtol=2e-2, atol=2e-2)
F32 = dict(rtol=2e-4, atol=2e-5)
F64 = dict(rtol=1e-9, atol=1e-11)
XFAIL_RAISES = (AssertionError, RuntimeError, pytest.fail.Exception)   # (never a slip in the test itself)


def bug(reason, raises=XFAIL_RAISES):
    """A divergence from PyTorch found here and reported, not fixed: the test fails until it is fixed."""
    return pytest.mark.xfail(strict=True, raises=raises, reason=reason)


def to_np(t):
    """A tensor of either library as a NumPy array (float16 widened to float32); None stays None."""
    if t is None:
        return None
    return t.detach().cpu().float().numpy() if t.dtype.itemsize == 2 else t.detach().cpu().numpy()


def dtype_name(t):
    return str(t.dtype).split(".")[-1]


def tensor_of(L, a, device, **kw):
    """A tensor of library L from a NumPy array (ours on `device`, PyTorch's on cpu)."""
    return L.tensor(a, device=device, **kw) if L is ag else L.tensor(a, **kw)


def run_both(torch, device, fn):
    """fn(L, dev) on us (device) and on PyTorch (cpu): (ours, theirs)."""
    return fn(ag, device), fn(torch, "cpu")


def close(ours, theirs, tol):
    assert ours is not None and theirs is not None
    a, b = to_np(ours), to_np(theirs)
    assert a.shape == b.shape
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), **tol)


def all_close(ours, theirs, tol):
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        close(o, t, tol)


def copy_module(module, torch_module, device):
    """Our module with PyTorch's weights and buffers, on device (state_dict keys load both ways)."""
    module.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()})
    return module.to(device)


def forward_ad(L):
    if L is ag:
        return ag.autograd.forward_ad
    import torch.autograd.forward_ad
    return torch.autograd.forward_ad


def profiler(L):
    if L is ag:
        return ag.profiler
    import torch.profiler
    return torch.profiler


def event_name(e):
    return e.name[6:] if e.name.startswith("aten::") else e.name


def counts(prof, names=None):
    """Events per op name (PyTorch's aten::x counted as x)."""
    c = collections.Counter(event_name(e) for e in prof.events())
    return {n: k for n, k in c.items() if names is None or n in names}
