"""DataLoader with worker processes (num_workers > 0) against torch.utils.data:
the same batches as loading in-process, IterableDataset sharding and
duplication (compared with PyTorch's own workers), get_worker_info, worker
seeding by PyTorch's rule, worker_init_fn, prefetching, persistent workers,
in_order=False, errors raised in workers, dead workers, timeout, the
multiprocessing context, pickling of Tensors, and that no worker process is
left behind (multiprocessing.active_children())."""
import gc
import multiprocessing as mp
import os
import pickle
import random
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.utils import data as D
from autograd_gpu.utils import data_workers

from test_utils_data import _same

def _workers_gone():
    """No worker process is left: every child of this process has exited (checked for up to 5 s)."""
    gc.collect()
    deadline = time.monotonic() + 5
    while mp.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mp.active_children() == []


def _values(batches):
    """Batches as nested lists (tensors by value), for equality across loaders."""
    if isinstance(batches, ag.Tensor):
        return ("tensor", str(batches.dtype), batches.tolist())
    if isinstance(batches, (list, tuple)):
        return [_values(b) for b in batches]
    if isinstance(batches, dict):
        return {k: _values(v) for k, v in batches.items()}
    return batches


# ---- datasets at module level, so that "spawn" workers can unpickle them -------------------

class Squares(D.Dataset):
    """Sample i: {"x": float tensor [i, i*i], "i": i}."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return {"x": ag.tensor([float(i), float(i * i)]), "i": i}

    def __len__(self):
        return self.n


class Probe(D.Dataset):
    """Sample i: what the worker knows and draws (worker info, the three generators, its pid)."""

    def __getitem__(self, i):
        info = D.get_worker_info()
        return {"i": i, "id": info.id, "num_workers": info.num_workers, "seed": info.seed,
                "own_dataset": isinstance(info.dataset, Probe), "random": random.random(),
                "numpy": float(np.random.random()), "ag": ag.rand(()).item(), "pid": os.getpid(),
                "init": _INIT_CALLS[:]}

    def __len__(self):
        return 6


_INIT_CALLS = []


def _record_init(worker_id):
    _INIT_CALLS.append((worker_id, D.get_worker_info().id))


class Failing(D.Dataset):
    """Raises `exc` at index 3."""

    def __init__(self, exc):
        self.exc = exc

    def __getitem__(self, i):
        if i == 3:
            raise self.exc
        return i

    def __len__(self):
        return 6


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")
        self.a, self.b = a, b

    def __reduce__(self):
        return TwoArgError, (self.a, self.b)


def _both(torch, make):
    """make(module) for ag.utils.data and for torch.utils.data."""
    return make(D), make(torch.utils.data)


def _streams(torch, sharded):
    """range(10) as an IterableDataset, split among the workers when `sharded` (PyTorch's recipe)."""
    def make(lib):
        class Stream(lib.IterableDataset):
            def __iter__(self):
                info = lib.get_worker_info()
                if not sharded or info is None:
                    return iter(range(10))
                return iter(range(info.id, 10, info.num_workers))

            def __len__(self):
                return 10
        return Stream()
    return _both(torch, make)


# ---- batches ------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{"batch_size": 3}, {"batch_size": 4, "drop_last": True}, {"batch_size": None},
                                {"batch_size": 2, "shuffle": True}, {"batch_size": 1, "prefetch_factor": 1}])
def test_map_style_same_batches_as_in_process(torch, kw):
    in_process = dict(kw, prefetch_factor=None)
    if kw.get("shuffle"):
        got = list(D.DataLoader(Squares(11), num_workers=2, generator=np.random.default_rng(5), **kw))
        want = list(D.DataLoader(Squares(11), generator=np.random.default_rng(5), **in_process))
        assert _values(got) == _values(want)
        ag.manual_seed(3)        # the library's generator: the same draws as in-process loading
        got = list(D.DataLoader(Squares(11), num_workers=2, **kw))
        ag.manual_seed(3)
        want = list(D.DataLoader(Squares(11), **in_process))
        assert _values(got) == _values(want)
        return
    theirs = torch.utils.data.DataLoader([{"x": torch.tensor([float(i), float(i * i)]), "i": i} for i in range(11)],
                                         **in_process)
    ours = D.DataLoader(Squares(11), num_workers=2, **kw)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want) == len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(got, want)):
        _same(a, b, torch, f"batch {i}")
    _workers_gone()


def test_tensor_pickling_round_trip(device):
    for t in (ag.tensor([[1.5, -2.0]], device=device), ag.arange(6, device=device).reshape(2, 3),
              ag.tensor(True, device=device), ag.zeros(0, 3, dtype=ag.float16, device=device),
              ag.tensor([1.0, 2.0], device=device, requires_grad=True)):
        back = pickle.loads(pickle.dumps(t))
        assert (back.dtype, back.shape, back.device, back.requires_grad) == (t.dtype, t.shape, t.device,
                                                                            t.requires_grad)
        np.testing.assert_array_equal(back.cpu().detach().numpy(), t.cpu().detach().numpy())


def test_tensors_collated_in_workers(torch, device):
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    ours = D.TensorDataset(ag.tensor(x, device=device), ag.arange(7, device=device))
    # a real GPU cannot be used from a forked child once the parent has used it (as in PyTorch): spawn
    ctx = "spawn" if device == "cuda" and ag.cuda.is_available() and not getattr(
        sys.modules.get("cupy"), "_is_emulator", False) else None
    got = list(D.DataLoader(ours, batch_size=3, num_workers=2, multiprocessing_context=ctx))
    want = list(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.arange(7)),
                                            batch_size=3))
    for i, (a, b) in enumerate(zip(got, want)):
        _same(a, b, torch, f"batch {i}")
        assert a[0].device == ag.device(device)
    _workers_gone()


def test_spawn_and_context_objects(torch):
    got = list(D.DataLoader(Squares(5), batch_size=2, num_workers=1, multiprocessing_context="spawn"))
    assert _values(got) == _values(list(D.DataLoader(Squares(5), batch_size=2)))
    dl = D.DataLoader(Squares(5), num_workers=1, multiprocessing_context=mp.get_context("fork"))
    theirs = torch.utils.data.DataLoader([1], num_workers=1, multiprocessing_context="fork")
    assert type(dl.multiprocessing_context) is type(theirs.multiprocessing_context)       # a context object
    assert [b["i"].tolist() for b in dl] == [[i] for i in range(5)]
    for bad in ("nope", 3):
        with pytest.raises(Exception) as ref:
            torch.utils.data.DataLoader([1], num_workers=1, multiprocessing_context=bad)
        with pytest.raises(type(ref.value), match="multiprocessing_context"):
            D.DataLoader([1], num_workers=1, multiprocessing_context=bad)
    _workers_gone()


# ---- worker info, seeds, worker_init_fn ---------------------------------------------------

def test_worker_info_and_seeds(torch):
    assert D.get_worker_info() is None
    rows = [b for b in D.DataLoader(Probe(), batch_size=None, num_workers=2, worker_init_fn=_record_init,
                                    generator=np.random.default_rng(9))]
    base_seed = int(np.random.default_rng(9).integers(0, 2 ** 63 - 1))     # drawn from the loader's generator
    assert [r["i"] for r in rows] == list(range(6))
    assert [r["id"] for r in rows] == [0, 1, 0, 1, 0, 1]                      # round robin, in order
    from torch.utils.data._utils.worker import _generate_state             # PyTorch's NumPy seed rule
    state = ag.get_rng_state()
    for r in rows[:2]:                                                      # each worker's first draws
        wid = r["id"]
        assert (r["num_workers"], r["seed"], r["own_dataset"]) == (2, base_seed + wid, True)
        assert r["init"] == [[wid, wid]]                                    # worker_init_fn(worker_id), once
        assert r["random"] == random.Random(base_seed + wid).random()
        assert r["numpy"] == np.random.RandomState(_generate_state(base_seed, wid)).random_sample()
        ag.manual_seed(base_seed + wid)
        assert r["ag"] == ag.rand(()).item()
    ag.set_rng_state(state)
    info = data_workers.WorkerInfo(id=0, num_workers=1, seed=1, dataset=None)
    theirs = torch.utils.data._utils.worker.WorkerInfo(id=0, num_workers=1, seed=1, dataset=None)
    assert repr(info) == repr(theirs)
    with pytest.raises(Exception) as ref:
        theirs.id = 3
    with pytest.raises(type(ref.value)):
        info.id = 3
    _workers_gone()


def test_epochs_reseed_and_manual_seed_repeats():
    def epoch(loader):
        return [(r["random"], r["numpy"], r["ag"]) for r in loader]
    ag.manual_seed(11)
    loader = D.DataLoader(Probe(), batch_size=None, num_workers=2)
    first, second = epoch(loader), epoch(loader)
    assert first != second                          # a new base seed each epoch: new augmentations
    ag.manual_seed(11)
    assert epoch(loader) == first                   # the same seed repeats them
    persistent = D.DataLoader(Probe(), batch_size=None, num_workers=2, persistent_workers=True)
    assert epoch(persistent) != epoch(persistent)   # persistent workers go on drawing
    del persistent
    _workers_gone()


# ---- persistent workers, prefetching, in_order -------------------------------------------

def test_persistent_workers_keep_their_processes():
    loader = D.DataLoader(Probe(), batch_size=2, num_workers=2, persistent_workers=True)
    pids = [sorted({p for b in loader for p in b["pid"].tolist()}) for _ in range(2)]
    first = [b["i"].tolist() for b in loader]
    assert pids[0] == pids[1] and len(pids[0]) == 2 and first == [[0, 1], [2, 3], [4, 5]]
    assert sorted(p.pid for p in mp.active_children()) == pids[0]          # alive between epochs
    it = iter(loader)
    next(it)                                                                # an epoch broken off ...
    assert [b["i"].tolist() for b in loader] == first                       # ... and a full one after it
    assert iter(loader) is it
    non_persistent = D.DataLoader(Probe(), batch_size=2, num_workers=2)
    assert [b["i"].tolist() for b in non_persistent] == first
    assert set(p.pid for p in mp.active_children()) == set(pids[0])         # its workers exited at the end
    del loader, it
    _workers_gone()


class Counted(D.Dataset):
    """Counts the samples fetched, across processes."""

    def __init__(self):
        self.count = mp.get_context("fork").Value("i", 0)

    def __getitem__(self, i):
        with self.count.get_lock():
            self.count.value += 1
        return i

    def __len__(self):
        return 20


def test_prefetch_factor_bounds_tasks_in_flight(torch):
    assert D.DataLoader([1], num_workers=2).prefetch_factor == \
        torch.utils.data.DataLoader([1], num_workers=2).prefetch_factor == 2
    data = Counted()
    it = iter(D.DataLoader(data, batch_size=None, num_workers=2, prefetch_factor=1))
    assert next(it) == 0
    time.sleep(0.3)
    assert data.count.value == 3        # 1 per worker at first, then one more for the batch taken
    del it
    hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
    try:        # (PyTorch's half-built iterator complains in __del__)
        theirs = _error_of(lambda: iter(torch.utils.data.DataLoader([1], num_workers=1, prefetch_factor=0)))
        gc.collect()
    finally:
        sys.unraisablehook = hook
    ours = _error_of(lambda: iter(D.DataLoader([1], num_workers=1, prefetch_factor=0)))
    assert type(ours) is type(theirs) and "prefetch_factor" in str(ours)
    _workers_gone()


class SlowFirst(D.Dataset):
    def __getitem__(self, i):
        if i == 0:
            time.sleep(0.5)
        return i

    def __len__(self):
        return 8


def test_in_order_false_yields_everything():
    got = [b.item() for b in D.DataLoader(SlowFirst(), num_workers=2, in_order=False)]
    assert sorted(got) == list(range(8)) and got[0] != 0          # the slow batch did not hold the others up
    assert [b.item() for b in D.DataLoader(SlowFirst(), num_workers=2)] == list(range(8))
    _workers_gone()


# ---- IterableDataset ------------------------------------------------------------------------

@pytest.mark.parametrize("sharded,batch_size,drop_last", [(True, 2, False), (True, 3, True), (False, 4, False),
                                                          (True, None, False)])
def test_iterable_dataset_as_pytorch_workers(torch, sharded, batch_size, drop_last):
    ours, theirs = _streams(torch, sharded)
    kw = dict(batch_size=batch_size, drop_last=drop_last, num_workers=2)
    with warnings.catch_warnings(record=True) as our_warnings:
        warnings.simplefilter("always")
        loader = D.DataLoader(ours, **kw)
        assert len(loader) == len(torch.utils.data.DataLoader(theirs, **kw))
        got = list(loader)
    with warnings.catch_warnings(record=True) as their_warnings:
        warnings.simplefilter("always")
        loader_t = torch.utils.data.DataLoader(theirs, **kw)
        len(loader_t)
        want = list(loader_t)
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        _same(a, b, torch, f"batch {i}")
    ours_said = [str(w.message) for w in our_warnings if "Length of IterableDataset" in str(w.message)]
    theirs_said = [str(w.message) for w in their_warnings if "Length of IterableDataset" in str(w.message)]
    assert len(ours_said) == len(theirs_said)               # duplicated streams overrun the reported length
    assert all("For multiprocessing data-loading" in m for m in ours_said)
    _workers_gone()


# ---- errors ---------------------------------------------------------------------------------

def _error_of(run):
    try:
        run()
    except Exception as e:
        cause = e
        while cause is not None:    # the tracebacks' frames hold the iterator: let it (and its workers) go
            cause.__traceback__ = None
            cause = cause.__cause__ or cause.__context__
        return e
    raise AssertionError("no exception")


@pytest.mark.parametrize("exc", [ValueError("bad sample"), KeyError("missing"), TwoArgError(1, 2)])
def test_worker_exception_reraised(torch, exc):
    theirs = _error_of(lambda: list(torch.utils.data.DataLoader(Failing(exc), num_workers=2)))
    ours = _error_of(lambda: list(D.DataLoader(Failing(exc), num_workers=2)))
    assert type(ours) is type(theirs)       # RuntimeError for a type that does not take the message
    msg = str(ours)
    assert msg.split("\n")[0] == str(theirs).split("\n")[0]      # Caught <Type> in DataLoader worker process 1.
    assert f"Caught {type(exc).__name__} in DataLoader worker process 1." in msg
    assert "Original Traceback (most recent call last):" in msg and "in __getitem__" in msg
    _workers_gone()


def test_worker_stop_iteration_ends_the_pass(torch):
    # re-raised inside __next__, a StopIteration ends the pass quietly, as in PyTorch
    got = list(D.DataLoader(Failing(StopIteration()), num_workers=2))
    want = list(torch.utils.data.DataLoader(Failing(StopIteration())))  # (its workers take 10 s to stop)
    assert [b.tolist() for b in got] == [b.tolist() for b in want] == [[0], [1], [2]]
    _workers_gone()


def _failing_init(worker_id):
    raise ValueError(f"init of {worker_id}")


def test_worker_init_fn_error_and_unpicklable_batch(torch):
    err = _error_of(lambda: list(D.DataLoader(Squares(4), num_workers=1, worker_init_fn=_failing_init)))
    assert isinstance(err, ValueError) and "Caught ValueError in DataLoader worker process 0" in str(err)
    assert "init of 0" in str(err)
    # kept divergence: a batch that cannot be pickled is the worker's error (PyTorch's loader waits forever)
    err = _error_of(lambda: list(D.DataLoader(Squares(4), num_workers=1, collate_fn=lambda b: (lambda: b))))
    assert "in DataLoader worker process 0" in str(err) and "pickle" in str(err).lower()
    _workers_gone()


class Dying(D.Dataset):
    def __getitem__(self, i):
        if i == 2:
            os._exit(3)
        return i

    def __len__(self):
        return 6


class Sleepy(D.Dataset):
    def __getitem__(self, i):
        if i == 1:
            time.sleep(1.2)
        return i

    def __len__(self):
        return 3


def test_dead_worker_and_timeout():
    err = _error_of(lambda: list(D.DataLoader(Dying(), num_workers=2)))
    assert isinstance(err, RuntimeError) and "exited unexpectedly" in str(err)
    it = iter(D.DataLoader(Sleepy(), num_workers=1, timeout=0.3))
    assert next(it).item() == 0
    err = _error_of(it.__next__)
    assert isinstance(err, RuntimeError) and str(err) == "DataLoader timed out after 0.3 seconds"
    del it
    _workers_gone()


# ---- options and shutdown -------------------------------------------------------------------

def test_pin_memory_is_accepted(torch):
    with pytest.warns(UserWarning, match="pin_memory"):
        want = list(torch.utils.data.DataLoader(list(range(5)), batch_size=2, pin_memory=True, num_workers=1))
    with pytest.warns(UserWarning, match="pin_memory"):
        got = list(D.DataLoader(list(range(5)), batch_size=2, pin_memory=True, num_workers=1))
    assert [b.tolist() for b in got] == [b.tolist() for b in want]
    with pytest.raises(NotImplementedError, match="cannot be pickled"):
        pickle.dumps(iter(D.DataLoader([1], num_workers=1)))
    _workers_gone()


def test_no_workers_left_after_exit():
    script = ("import autograd_gpu as ag\n"
              "from autograd_gpu.utils import data as D\n"
              "dl = D.DataLoader(list(range(50)), num_workers=2, persistent_workers=True)\n"
              "it = iter(dl); next(it)\n"
              "it2 = iter(D.DataLoader(list(range(50)), num_workers=1)); next(it2)\n"
              "print(' '.join(str(w.pid) for w in it._workers + it2._workers))\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(ag.__file__))))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""                                          # nothing reported at shutdown
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 3
    time.sleep(0.2)
    assert not any(os.path.exists(f"/proc/{p}") for p in pids)
