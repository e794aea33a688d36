"""The default device: ag.set_default_device / get_default_device and `with
ag.device(...)` blocks, against PyTorch's (which factories follow it, nesting,
threads). PyTorch's side runs on its "meta" device, ours on cuda: each checks
whether a call's result left the cpu."""
import threading

import numpy as np
import pytest

import autograd_gpu as ag

from conftest import needs_cuda

# (name, call) for both libraries: L is ag or torch, c a cpu tensor of L
CALLS = [
    ("zeros", lambda L, c: L.zeros(2)), ("ones", lambda L, c: L.ones(2, 3)), ("empty", lambda L, c: L.empty(2)),
    ("full", lambda L, c: L.full((2,), 1.5)), ("eye", lambda L, c: L.eye(2)), ("arange", lambda L, c: L.arange(3)),
    ("linspace", lambda L, c: L.linspace(0, 1, 3)), ("logspace", lambda L, c: L.logspace(0, 1, 3)),
    ("rand", lambda L, c: L.rand(2)), ("randn", lambda L, c: L.randn(2)),
    ("randint", lambda L, c: L.randint(0, 3, (2,))), ("randperm", lambda L, c: L.randperm(3)),
    ("tensor of numbers", lambda L, c: L.tensor([1.0, 2.0])), ("tensor of a cpu tensor", lambda L, c: L.tensor(c)),
    ("as_tensor of numbers", lambda L, c: L.as_tensor([1.0])), ("as_tensor of a cpu tensor", lambda L, c: L.as_tensor(c)),
    ("as_tensor of an array", lambda L, c: L.as_tensor(np.ones(2))),
    ("asarray of numbers", lambda L, c: L.asarray([1.0])), ("asarray of a cpu tensor", lambda L, c: L.asarray(c)),
    ("asarray of an array", lambda L, c: L.asarray(np.ones(2))),
    ("scalar_tensor", lambda L, c: L.scalar_tensor(2.0)), ("tril_indices", lambda L, c: L.tril_indices(3, 3)),
    ("triu_indices", lambda L, c: L.triu_indices(3, 3)), ("empty_strided", lambda L, c: L.empty_strided((2,), (1,))),
    ("hann_window", lambda L, c: L.hann_window(4)), ("kaiser_window", lambda L, c: L.kaiser_window(4)),
    # these keep their input's device, or PyTorch does not count them as factories
    ("from_numpy", lambda L, c: L.from_numpy(np.ones(2))), ("normal", lambda L, c: L.normal(0.0, 1.0, (2,))),
    ("zeros_like", lambda L, c: L.zeros_like(c)), ("rand_like", lambda L, c: L.rand_like(c)),
    ("randint_like", lambda L, c: L.randint_like(c, 3)), ("new_zeros", lambda L, c: c.new_zeros(2)),
    ("new_tensor", lambda L, c: c.new_tensor([1.0])), ("arithmetic", lambda L, c: c * 2),
    ("nn.Linear's weight", lambda L, c: L.nn.Linear(2, 3).weight),
    ("nn.BatchNorm1d's running_mean", lambda L, c: L.nn.BatchNorm1d(2).running_mean),
]


def _left_cpu(t):
    return t.device.type != "cpu"


@needs_cuda
@pytest.mark.gpu
@pytest.mark.parametrize("name,call", CALLS, ids=[n for n, _ in CALLS])
@pytest.mark.filterwarnings("ignore:To copy construct")
def test_the_factories_that_follow_the_default_device_are_pytorchs(torch, name, call):
    tc = torch.ones(2)
    with torch.device("meta"):
        follows = _left_cpu(call(torch, tc))
    c = ag.ones(2)
    with ag.device("cuda"):
        out = call(ag, c)
    assert _left_cpu(out) == follows, name
    assert ag.get_default_device() == ag.device("cpu")
    ag.set_default_device("cuda")
    try:
        assert _left_cpu(call(ag, c)) == follows, name
    finally:
        ag.set_default_device(None)


@needs_cuda
@pytest.mark.gpu
def test_range_follows_the_default_device(torch):
    # a kept divergence: torch 2.13's deprecated torch.range ignores `with torch.device(...)` (its Python
    # wrapper is not the function its device mode looks for); ours is a factory like arange
    with ag.device("cuda"), pytest.warns(UserWarning, match="range is deprecated"):
        assert ag.range(0, 2).device.type == "cuda"


@needs_cuda
@pytest.mark.gpu
def test_an_explicit_device_wins_and_blocks_nest(torch):
    with ag.device("cuda"):
        assert ag.zeros(1, device="cpu").device == ag.device("cpu")
        with ag.device("cpu"):
            assert ag.zeros(1).device.type == "cpu"
            assert ag.get_default_device() == ag.device("cpu")
        assert ag.zeros(1).device.type == "cuda"
        assert ag.get_default_device() == ag.device("cuda:0")
    assert ag.zeros(1).device.type == "cpu"


def test_get_default_device_as_pytorch(torch):
    assert repr(ag.get_default_device()) == repr(torch.get_default_device()) == "device(type='cpu')"
    d = ag.device("cpu")
    with d as entered:
        assert ag.get_default_device() is d
    with torch.device("cpu") as torch_entered:
        pass
    assert (entered is None) == (torch_entered is None)


def test_set_default_device_and_blocks_are_per_thread(torch):
    ag.set_default_device("cuda")
    try:
        seen = []
        thread = threading.Thread(target=lambda: seen.append((ag.get_default_device(), ag.zeros(1).device)))
        thread.start()
        thread.join()
        assert seen == [(ag.device("cpu"), ag.device("cpu"))]
        assert ag.get_default_device() == ag.device("cuda:0")
        with ag.device("cpu"):                       # a block wins over the thread's setting inside it
            assert ag.zeros(1).device == ag.device("cpu")
        assert ag.get_default_device() == ag.device("cuda:0")
    finally:
        ag.set_default_device(None)
    assert ag.get_default_device() == ag.device("cpu")


def test_the_default_device_stays_when_a_block_raises():
    with pytest.raises(ZeroDivisionError):
        with ag.device("cuda"):
            1 / 0
    assert ag.get_default_device() == ag.device("cpu")
    assert ag.zeros(1).device == ag.device("cpu")


@pytest.mark.parametrize("bad", ["bogus", "cuda:x", 3.5, [0]])
def test_a_bad_device_is_refused_and_changes_nothing(bad):
    with pytest.raises((ValueError, TypeError), match="device"):
        ag.set_default_device(bad)
    assert ag.get_default_device() == ag.device("cpu")

