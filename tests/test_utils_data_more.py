"""ag.utils.data against torch.utils.data, the parts beyond the basic
DataLoader: IterableDataset through DataLoader, ChainDataset, StackDataset,
Subset.__getitems__, the random samplers (counts, distributions, and exact
sequences where PyTorch's are deterministic), DistributedSampler, the
worker-process options and the exception types."""
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.utils import data as D

from test_utils_data import _same


def _stream_classes(torch):
    """The same IterableDataset (range(n), optional reported length) for both libraries."""
    def make(base):
        class Stream(base):
            def __init__(self, n, reported=None, device=None, tensors=False):
                self.n, self.reported, self.device, self.tensors = n, reported, device, tensors

            def __iter__(self):
                for i in range(self.n):
                    yield self.make(i) if self.tensors else i

            def __len__(self):
                return self.n if self.reported is None else self.reported
        return Stream
    ours, theirs = make(D.IterableDataset), make(torch.utils.data.IterableDataset)
    ours.make = lambda self, i: ag.tensor([float(i), -i], device=self.device)
    theirs.make = lambda self, i: torch.tensor([float(i), -i])
    return ours, theirs


def _raises_like(torch_call, our_call, name):
    """Our call raises PyTorch's exception type, with a message naming `name`."""
    with pytest.raises(Exception) as ref:
        torch_call()
    with pytest.raises(type(ref.value), match=name):
        our_call()


# ---- IterableDataset ---------------------------------------------------------------------

def test_iterable_dataset_is_abstract(torch):
    _raises_like(torch.utils.data.IterableDataset, D.IterableDataset, "IterableDataset")
    assert isinstance(D.ChainDataset([]), D.Dataset)


@pytest.mark.parametrize("n,batch_size,drop_last", [(7, 1, False), (7, 3, False), (7, 3, True), (6, 3, True),
                                                    (7, None, False), (0, 2, False), (2, 5, True)])
def test_iterable_dataset_loader_batches(torch, device, n, batch_size, drop_last):
    Ours, Theirs = _stream_classes(torch)
    for tensors in (False, True):
        ours = D.DataLoader(Ours(n, device=device, tensors=tensors), batch_size=batch_size, drop_last=drop_last)
        theirs = torch.utils.data.DataLoader(Theirs(n, tensors=tensors), batch_size=batch_size, drop_last=drop_last)
        got, want = list(ours), list(theirs)
        assert len(got) == len(want) == len(ours) == len(theirs)
        for i, (a, b) in enumerate(zip(got, want)):
            _same(a, b, torch, f"batch {i}")
        if tensors and got:
            assert got[0].device == ag.device(device)
        again = list(ours)                                  # a fresh pass each time
        assert len(again) == len(got)
        for i, (a, b) in enumerate(zip(again, want)):
            _same(a, b, torch, f"second pass batch {i}")


def test_iterable_dataset_custom_collate_and_worker_info(torch):
    Ours, Theirs = _stream_classes(torch)
    seen = []

    class Probe(D.IterableDataset):
        def __iter__(self):
            seen.append(D.get_worker_info())
            return iter(range(5))
    collate = lambda b: sum(b)  # noqa: E731
    assert list(D.DataLoader(Ours(5), batch_size=2, collate_fn=collate)) == \
        list(torch.utils.data.DataLoader(Theirs(5), batch_size=2, collate_fn=collate))
    assert list(D.DataLoader(Probe(), batch_size=2, num_workers=0)) and seen == [None]
    assert D.get_worker_info() is torch.utils.data.get_worker_info() is None


def test_iterable_dataset_longer_than_reported_warns(torch):
    Ours, Theirs = _stream_classes(torch)
    counts = []
    for cls, loader in ((Ours, D.DataLoader), (Theirs, torch.utils.data.DataLoader)):
        dl = loader(cls(5, reported=2), batch_size=None)
        assert len(dl) == 2
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            assert list(dl) == [0, 1, 2, 3, 4]
        counts.append([str(x.message).split(" was reported")[1] for x in w if "IterableDataset" in str(x.message)])
        with warnings.catch_warnings(record=True) as w:      # no len() asked: nothing to contradict
            warnings.simplefilter("always")
            list(loader(cls(5, reported=2), batch_size=None))
        assert not w
    assert counts[0] == counts[1] and len(counts[0]) == 3


@pytest.mark.parametrize("kw", [{"shuffle": True}, {"sampler": [0, 1]}, {"batch_sampler": [[0]]},
                                {"shuffle": 1}])
def test_iterable_dataset_refuses_sampling_options(torch, kw):
    Ours, Theirs = _stream_classes(torch)
    _raises_like(lambda: torch.utils.data.DataLoader(Theirs(3), **kw), lambda: D.DataLoader(Ours(3), **kw),
                 "IterableDataset")
    assert len(list(D.DataLoader(Ours(3), shuffle=False))) == 3


def test_iterable_loader_iterator_has_no_len(torch):
    Ours, Theirs = _stream_classes(torch)
    _raises_like(lambda: len(iter(torch.utils.data.DataLoader(Theirs(3)))), lambda: len(iter(D.DataLoader(Ours(3)))),
                 "len")
    assert len(iter(D.DataLoader(list(range(7)), batch_size=3))) == \
        len(iter(torch.utils.data.DataLoader(list(range(7)), batch_size=3))) == 3


# ---- ChainDataset, ConcatDataset ---------------------------------------------------------

def test_chain_dataset(torch):
    Ours, Theirs = _stream_classes(torch)
    ours, theirs = D.ChainDataset([Ours(2), Ours(0), Ours(3)]), torch.utils.data.ChainDataset(
        [Theirs(2), Theirs(0), Theirs(3)])
    assert list(ours) == list(theirs) == [0, 1, 0, 1, 2] and len(ours) == len(theirs) == 5
    added = Ours(2) + Ours(3)
    assert type(added) is D.ChainDataset and list(added) == list(Theirs(2) + Theirs(3))
    assert [b.tolist() for b in D.DataLoader(ours, batch_size=2)] == \
        [b.tolist() for b in torch.utils.data.DataLoader(theirs, batch_size=2)]
    # a map-style member is refused when reached, as PyTorch does
    bad_ours, bad_theirs = D.ChainDataset([Ours(2), [7, 8]]), torch.utils.data.ChainDataset([Theirs(2), [7, 8]])
    _raises_like(lambda: list(bad_theirs), lambda: list(bad_ours), "ChainDataset")
    _raises_like(lambda: len(bad_theirs), lambda: len(bad_ours), "ChainDataset")


def test_concat_dataset_refuses_iterable(torch):
    Ours, Theirs = _stream_classes(torch)
    _raises_like(lambda: torch.utils.data.ConcatDataset([[1], Theirs(2)]), lambda: D.ConcatDataset([[1], Ours(2)]),
                 "ConcatDataset")
    _raises_like(lambda: torch.utils.data.ConcatDataset([]), lambda: D.ConcatDataset([]), "ConcatDataset")
    parts = [[1, 2], [], [3, 4, 5]]
    assert D.ConcatDataset.cumsum(parts) == torch.utils.data.ConcatDataset.cumsum(parts) == [2, 2, 5]
    assert D.ConcatDataset(parts).cumulative_sizes == [2, 2, 5]


# ---- StackDataset, Subset ----------------------------------------------------------------

def test_stack_dataset_tuple_and_dict(torch, device):
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    labels = [10, 11, 12, 13]
    tuple_ours = D.StackDataset(D.TensorDataset(ag.tensor(x, device=device)), labels)
    tuple_theirs = torch.utils.data.StackDataset(torch.utils.data.TensorDataset(torch.tensor(x)), labels)
    dict_ours = D.StackDataset(x=ag.tensor(x, device=device), y=labels)
    dict_theirs = torch.utils.data.StackDataset(x=torch.tensor(x), y=labels)
    for ours, theirs in ((tuple_ours, tuple_theirs), (dict_ours, dict_theirs)):
        assert len(ours) == len(theirs) == 4
        _same(ours[2], theirs[2], torch, "sample 2")
        _same(ours.__getitems__([3, 0]), theirs.__getitems__([3, 0]), torch, "getitems")
        for kw in ({"batch_size": 3}, {"batch_size": None}, {"batch_size": 2, "drop_last": True}):
            got, want = list(D.DataLoader(ours, **kw)), list(torch.utils.data.DataLoader(theirs, **kw))
            assert len(got) == len(want)
            for i, (a, b) in enumerate(zip(got, want)):
                _same(a, b, torch, f"{kw} batch {i}")
    assert isinstance(dict_ours.datasets, dict) and isinstance(tuple_ours.datasets, tuple)


def test_stack_dataset_uses_members_getitems(torch):
    def make(base):
        class Batched(base):
            calls = 0

            def __getitem__(self, i):
                return i * 10

            def __getitems__(self, indices):
                type(self).calls += 1
                return [i * 100 for i in indices]

            def __len__(self):
                return 5
        return Batched
    Ours, Theirs = make(D.Dataset), make(torch.utils.data.Dataset)
    ours, theirs = D.StackDataset(Ours(), list(range(5))), torch.utils.data.StackDataset(Theirs(), list(range(5)))
    assert ours.__getitems__([1, 4]) == theirs.__getitems__([1, 4]) == [(100, 1), (400, 4)]
    assert [b[0].tolist() for b in D.DataLoader(ours, batch_size=2)] == \
        [b[0].tolist() for b in torch.utils.data.DataLoader(theirs, batch_size=2)]
    assert Ours.calls == Theirs.calls == 4

    def short(cls):
        return type("Short", (cls,), {"__getitems__": lambda self, indices: [0]})()
    _raises_like(lambda: torch.utils.data.StackDataset(short(Theirs), [0] * 5).__getitems__([1, 2]),
                 lambda: D.StackDataset(short(Ours), [0] * 5).__getitems__([1, 2]), "StackDataset")


@pytest.mark.parametrize("args,kwargs", [((), {}), (([1, 2],), {"b": [1, 2]}), (([1, 2], [1]), {}),
                                         ((), {"a": [1], "b": [1, 2]})])
def test_stack_dataset_bad(torch, args, kwargs):
    _raises_like(lambda: torch.utils.data.StackDataset(*args, **kwargs), lambda: D.StackDataset(*args, **kwargs),
                 "StackDataset")


def test_subset_getitems(torch):
    base = list(range(10, 20))
    ours, theirs = D.Subset(base, [9, 2, 5]), torch.utils.data.Subset(base, [9, 2, 5])
    assert ours.__getitems__([2, 0]) == theirs.__getitems__([2, 0]) == [15, 19]
    nested = D.Subset(D.StackDataset(base, base), [1, 3])
    assert nested.__getitems__([1, 0]) == [(13, 13), (11, 11)]

    def bad(base_cls):
        return type("OnlyGetitem", (base_cls,), {"__getitem__": lambda self, i: 0})
    _raises_like(lambda: bad(torch.utils.data.Subset)(base, [0]), lambda: bad(D.Subset)(base, [0]), "OnlyGetitem")
    ok = type("Both", (D.Subset,), {"__getitem__": lambda self, i: 0, "__getitems__": lambda self, i: [0] * len(i)})
    assert list(D.DataLoader(ok(base, [0, 1]), batch_size=2, collate_fn=list)) == [[0, 0]]


# ---- the random samplers -----------------------------------------------------------------

def test_random_sampler_with_replacement(torch):
    ag.manual_seed(3)
    s = D.RandomSampler(range(5), replacement=True, num_samples=4000)
    draws = list(s)
    assert len(s) == len(draws) == len(torch.utils.data.RandomSampler(range(5), True, 4000)) == 4000
    counts = np.bincount(draws, minlength=5)
    assert counts.sum() == 4000 and len(counts) == 5 and np.all(np.abs(counts - 800) < 5 * np.sqrt(800))
    assert draws != list(s)                                # fresh draws each pass
    ag.manual_seed(3)
    assert list(s) == draws                                # from ag's generator
    g = [list(D.RandomSampler(range(5), True, 50, generator=np.random.default_rng(1))) for _ in range(2)]
    assert g[0] == g[1] and set(g[0]) <= set(range(5))
    assert list(D.RandomSampler(range(1), True, 6)) == list(torch.utils.data.RandomSampler(range(1), True, 6))


@pytest.mark.parametrize("n,num_samples", [(5, None), (5, 3), (5, 12), (4, 8), (1, 3)])
def test_random_sampler_without_replacement(torch, n, num_samples):
    ours = list(D.RandomSampler(range(n), num_samples=num_samples))
    theirs = list(torch.utils.data.RandomSampler(range(n), num_samples=num_samples))
    assert len(ours) == len(theirs) == len(D.RandomSampler(range(n), num_samples=num_samples))
    for start in range(0, len(ours), n):                   # whole permutations, the last one cut short
        block = ours[start:start + n]
        assert len(set(block)) == len(block) and set(block) <= set(range(n))
    if n == 1:
        assert ours == theirs


@pytest.mark.parametrize("args,kwargs", [(([],), {}), ((range(3),), {"replacement": 1}),
                                         ((range(3),), {"num_samples": 0}), ((range(3),), {"num_samples": 2.0}),
                                         ((range(3),), {"num_samples": -1, "replacement": True})])
def test_random_sampler_bad(torch, args, kwargs):
    _raises_like(lambda: torch.utils.data.RandomSampler(*args, **kwargs), lambda: D.RandomSampler(*args, **kwargs),
                 "RandomSampler")


@pytest.mark.parametrize("replacement", [True, False])
@pytest.mark.parametrize("generator", [None, "numpy"])
def test_random_sampler_empty_source(torch, replacement, generator):
    gen = np.random.default_rng(0) if generator else None
    _raises_like(lambda: list(torch.utils.data.RandomSampler(range(0), replacement, 3)),
                 lambda: list(D.RandomSampler(range(0), replacement, 3, generator=gen)), "RandomSampler")


def test_subset_random_sampler(torch):
    idx = [11, 3, 7, 20, 5]
    ours = D.SubsetRandomSampler(idx)
    ag.manual_seed(0)
    passes = [list(ours) for _ in range(3)]
    assert all(sorted(p) == sorted(idx) for p in passes) and len(ours) == 5 and passes[0] != passes[1]
    ag.manual_seed(0)
    assert list(ours) == passes[0]
    g = [list(D.SubsetRandomSampler(idx, np.random.default_rng(2))) for _ in range(2)]
    assert g[0] == g[1]
    for fixed in ([4], []):                               # deterministic in PyTorch too
        assert list(D.SubsetRandomSampler(fixed)) == list(torch.utils.data.SubsetRandomSampler(fixed))
    loader = D.DataLoader(list(range(100, 130)), batch_size=4, sampler=D.SubsetRandomSampler(idx))
    assert sorted(ag.cat(list(loader)).tolist()) == sorted(100 + i for i in idx) and len(loader) == 2


@pytest.mark.parametrize("generator", [None, "numpy"])
def test_weighted_random_sampler_distribution(torch, generator):
    gen = np.random.default_rng(5) if generator else None
    ag.manual_seed(5)
    w = [1.0, 0.0, 3.0, 6.0]
    draws = list(D.WeightedRandomSampler(w, 10000, generator=gen))
    counts = np.bincount(draws, minlength=4)
    expected = 10000 * np.array(w) / sum(w)
    assert counts[1] == 0 and np.all(np.abs(counts - expected) < 5 * np.sqrt(expected + 1))
    no_repl = [list(D.WeightedRandomSampler(w, 3, replacement=False, generator=gen)) for _ in range(200)]
    assert all(sorted(d) == [0, 2, 3] for d in no_repl)   # the zero weight is never among the first 3
    first = np.bincount([d[0] for d in no_repl], minlength=4)
    assert first[3] > first[2] > first[0]                 # first draw in proportion to the weights
    # every weight but one zero: PyTorch's draws are deterministic
    for args in (([0.0, 2.0, 0.0], 5), ([0.0, 2.0, 0.0], 1, False)):
        assert list(D.WeightedRandomSampler(*args, generator=gen)) == \
            list(torch.utils.data.WeightedRandomSampler(*args))
    # all weights needed without replacement: zero weights come last, as PyTorch's multinomial
    assert sorted(D.WeightedRandomSampler([0.0, 1.0, 0.0], 3, False, generator=gen)) == [0, 1, 2]
    assert len(D.WeightedRandomSampler(w, 7)) == 7


def test_weighted_random_sampler_weights_forms(torch, device):
    for w in (ag.tensor([0.0, 1.0], device=device), np.array([0.0, 1.0], dtype=np.float32), (0, 1)):
        s = D.WeightedRandomSampler(w, 3)
        assert s.weights.dtype == ag.float64 and list(s) == [1, 1, 1]
    loader = D.DataLoader(list(range(10, 14)), batch_size=2, sampler=D.WeightedRandomSampler([0, 0, 1, 0], 4))
    assert [b.tolist() for b in loader] == [[12, 12], [12, 12]]


@pytest.mark.parametrize("args,kwargs,when", [
    (([1.0, 2.0], 0), {}, "init"), (([1.0, 2.0], 2.0), {}, "init"), (([1.0, 2.0], True), {}, "init"),
    (([1.0, 2.0], 2), {"replacement": 1}, "init"), (([[1.0, 2.0]], 2), {}, "init"), ((3.0, 2), {}, "init"),
    (([-1.0, 2.0], 2), {}, "iter"), (([1.0, float("nan")], 2), {}, "iter"), (([0.0, 0.0], 2), {}, "iter"),
    (([1.0, 2.0], 3), {"replacement": False}, "iter"), (([], 1), {}, "iter")])
@pytest.mark.parametrize("generator", [None, "numpy"])
def test_weighted_random_sampler_bad(torch, args, kwargs, when, generator):
    ours_kw = dict(kwargs, generator=np.random.default_rng(0) if generator else None)
    if when == "init":
        _raises_like(lambda: torch.utils.data.WeightedRandomSampler(*args, **kwargs),
                     lambda: D.WeightedRandomSampler(*args, **ours_kw), "WeightedRandomSampler")
    else:
        _raises_like(lambda: list(torch.utils.data.WeightedRandomSampler(*args, **kwargs)),
                     lambda: list(D.WeightedRandomSampler(*args, **ours_kw)), "multinomial")


def test_generator_must_be_numpy():
    for make in (lambda g: D.RandomSampler(range(3), generator=g), lambda g: D.SubsetRandomSampler([1], g),
                 lambda g: D.WeightedRandomSampler([1.0], 1, generator=g)):
        with pytest.raises(TypeError, match="generator"):
            make(42)


# ---- DistributedSampler ------------------------------------------------------------------

@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (9, 3, True),
                                                  (2, 4, False), (5, 1, True), (1, 3, False)])
def test_distributed_sampler_shares(torch, n, replicas, drop_last):
    shares = []
    for rank in range(replicas):
        ours = D.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch.utils.data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)
        shuffled = [list(D.DistributedSampler(range(n), replicas, rank, seed=4, drop_last=drop_last))
                    for _ in range(2)]
        assert shuffled[0] == shuffled[1] and len(shuffled[0]) == len(theirs)
        shares.append(shuffled[0])
    flat = [i for share in shares for i in share]
    if drop_last:                                          # distinct indices, the tail dropped
        assert len(set(flat)) == len(flat) and set(flat) <= set(range(n))
    else:                                                  # every index, the padding wrapped around
        assert set(flat) == set(range(n)) and len(flat) == replicas * len(shares[0])


def test_distributed_sampler_epochs(torch):
    s = D.DistributedSampler(range(20), num_replicas=2, rank=1)
    first = list(s)
    s.set_epoch(1)
    assert s.epoch == 1 and list(s) != first
    s.set_epoch(0)
    assert list(s) == first
    union = sorted(first + list(D.DistributedSampler(range(20), num_replicas=2, rank=0)))
    assert union == list(range(20))                        # the replicas agree on the permutation


@pytest.mark.parametrize("kw", [{}, {"num_replicas": 2}, {"num_replicas": 2, "rank": 2},
                                {"num_replicas": 2, "rank": -1}])
def test_distributed_sampler_bad(torch, kw):
    _raises_like(lambda: torch.utils.data.DistributedSampler(range(4), **kw),
                 lambda: D.DistributedSampler(range(4), **kw), "DistributedSampler")


# ---- DataLoader options ------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{"prefetch_factor": 2}, {"num_workers": 1, "prefetch_factor": -1},
                                {"persistent_workers": True}, {"multiprocessing_context": "spawn"},
                                {"timeout": -1}])
def test_loader_worker_options_refused(torch, kw):
    _raises_like(lambda: torch.utils.data.DataLoader([1, 2], **kw), lambda: D.DataLoader([1, 2], **kw), "DataLoader")


def test_loader_worker_options_accepted():
    # worker options are accepted with num_workers > 0 (the workers themselves: tests/test_utils_data_workers.py)
    dl = D.DataLoader(list(range(5)), batch_size=2, num_workers=2, prefetch_factor=4, persistent_workers=True)
    assert [b.tolist() for b in dl] == [[0, 1], [2, 3], [4]] and dl.prefetch_factor == 4


@pytest.mark.parametrize("attr", ["batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                                  "persistent_workers"])
def test_loader_frozen_attributes(torch, attr):
    ours, theirs = D.DataLoader([1, 2]), torch.utils.data.DataLoader([1, 2])
    _raises_like(lambda: setattr(theirs, attr, None), lambda: setattr(ours, attr, None), attr)
    assert ours.batch_size == 1 and ours.dataset == [1, 2]
    ours.collate_fn = list                                 # the other attributes stay settable
    assert list(ours) == [[1], [2]]


def test_loader_fetches_through_getitems(torch):
    def make(base):
        class Batched(base):
            def __init__(self):
                self.calls = []

            def __getitem__(self, i):
                return -1

            def __getitems__(self, indices):
                self.calls.append(list(indices))
                return [i * 2 for i in indices]

            def __len__(self):
                return 5
        return Batched()
    ours, theirs = make(D.Dataset), make(torch.utils.data.Dataset)
    assert [b.tolist() for b in D.DataLoader(ours, batch_size=2)] == \
        [b.tolist() for b in torch.utils.data.DataLoader(theirs, batch_size=2)] == [[0, 2], [4, 6], [8]]
    assert ours.calls == theirs.calls
    assert list(D.DataLoader(ours, batch_size=None)) == list(torch.utils.data.DataLoader(theirs, batch_size=None))
