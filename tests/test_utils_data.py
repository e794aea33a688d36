"""ag.utils.data against torch.utils.data: the batches DataLoader yields
(no shuffle) over the same data, default_collate of tensors, arrays,
numbers, dicts, tuples and namedtuples, shuffling as a permutation,
drop_last, random_split, and the exception types."""
from collections import namedtuple

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.utils import data as D


def _same(ours, theirs, torch, what="batch"):
    """Structure, dtypes and values of a collated batch equal PyTorch's."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ag.Tensor), what
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], what
        assert tuple(ours.shape) == tuple(theirs.shape), what
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy(), err_msg=what)
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs), what
        for k in theirs:
            _same(ours[k], theirs[k], torch, f"{what}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours).__name__ == type(theirs).__name__ and len(ours) == len(theirs), what
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, torch, f"{what}[{i}]")
    else:
        assert ours == theirs, what


def _both_loaders(torch, samples_ours, samples_theirs, **kw):
    ours = list(D.DataLoader(samples_ours, **kw))
    theirs = list(torch.utils.data.DataLoader(samples_theirs, **kw))
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        _same(a, b, torch, f"batch {i}")
    assert len(D.DataLoader(samples_ours, **kw)) == len(torch.utils.data.DataLoader(samples_theirs, **kw))


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (4, True), (7, False),
                                                  (None, False)])
def test_tensor_dataset_batches(torch, device, batch_size, drop_last):
    x = np.random.default_rng(0).standard_normal((7, 2, 3)).astype(np.float32)
    y = np.arange(7)
    ours = D.TensorDataset(ag.tensor(x, device=device), ag.tensor(y, device=device))
    theirs = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    _both_loaders(torch, ours, theirs, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == 7
    if batch_size:
        assert next(iter(D.DataLoader(ours, batch_size=batch_size)))[0].device == ag.device(device)


Point = namedtuple("Point", "x y")


def test_default_collation_of_python_structures(torch):
    rng = np.random.default_rng(1)
    samples = [{"a": i, "b": (float(i) / 2, [i, i + 1]), "name": f"s{i}", "arr": rng.standard_normal(3),
                "flag": i % 2 == 0, "np": np.float32(i)} for i in range(5)]
    _both_loaders(torch, samples, samples, batch_size=2)
    points = [Point(i, float(i)) for i in range(4)]
    _both_loaders(torch, points, points, batch_size=3)
    lists = [[i, 2 * i] for i in range(4)]
    _both_loaders(torch, lists, lists, batch_size=2)


def test_collate_mixed_tensors(torch, device):
    ours = [(ag.tensor([float(i), 1.0], device=device), i) for i in range(3)]
    theirs = [(torch.tensor([float(i), 1.0]), i) for i in range(3)]
    _same(D.default_collate(ours), torch.utils.data.default_collate(theirs), torch)


def test_collate_errors(torch):
    for bad in ([object(), object()], [[1, 2], [1]]):
        with pytest.raises(Exception) as ref:
            torch.utils.data.default_collate(bad)
        with pytest.raises(type(ref.value), match="default_collate"):
            D.default_collate(bad)


def test_custom_collate_fn():
    loader = D.DataLoader(list(range(5)), batch_size=2, collate_fn=lambda b: sum(b))
    assert list(loader) == [1, 5, 4]


def test_shuffle_is_a_permutation_each_epoch():
    ag.manual_seed(0)
    loader = D.DataLoader(list(range(20)), batch_size=6, shuffle=True)
    epochs = [ag.cat(list(loader)).tolist() for _ in range(2)]
    for seen in epochs:
        assert sorted(seen) == list(range(20))
    assert epochs[0] != list(range(20)) and epochs[0] != epochs[1]
    ag.manual_seed(0)
    assert ag.cat(list(loader)).tolist() == epochs[0]             # ag.manual_seed makes it repeatable
    g = [ag.cat(list(D.DataLoader(list(range(20)), 5, shuffle=True, generator=np.random.default_rng(4)))).tolist()
         for _ in range(2)]
    assert g[0] == g[1] and sorted(g[0]) == list(range(20))
    dropped = list(D.DataLoader(list(range(20)), batch_size=6, shuffle=True, drop_last=True))
    assert [len(b) for b in dropped] == [6, 6, 6]


def test_random_split(torch):
    ag.manual_seed(0)
    data = list(range(10))
    parts = D.random_split(data, [3, 7])
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0][i] for i in range(3)) + [] == sorted(parts[0][i] for i in range(3))
    assert sorted([parts[0][i] for i in range(3)] + [parts[1][i] for i in range(7)]) == data
    for fracs in ([0.3, 0.7], [0.25, 0.25, 0.5], [0.33, 0.33, 0.34]):
        theirs = torch.utils.data.random_split(range(11), fracs)
        assert [len(p) for p in D.random_split(range(11), fracs)] == [len(p) for p in theirs]
    for bad in ([3, 3], [1.5, -0.5]):
        with pytest.raises(Exception) as ref:
            torch.utils.data.random_split(data, bad)
        with pytest.raises(type(ref.value), match="random_split"):
            D.random_split(data, bad)


def test_subset_concat_and_dataset(torch):
    sub = D.Subset(list(range(10)), [7, 2, 5])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [7, 2, 5]
    cat = D.Subset(list(range(4)), [0, 1]) + D.Subset(list(range(10, 14)), [2, 3])
    theirs = torch.utils.data.ConcatDataset([list(range(4))[:2], [12, 13]])
    assert [cat[i] for i in range(len(cat))] == [theirs[i] for i in range(len(theirs))] and cat[-1] == 13
    with pytest.raises(NotImplementedError):
        D.Dataset()[0]


def test_bad_arguments(torch):
    with pytest.raises(AssertionError, match="TensorDataset"):
        D.TensorDataset(ag.zeros(3), ag.zeros(4))
    data = list(range(4))
    for kw in ({"batch_size": 0}, {"batch_size": -1}, {"num_workers": -1}, {"sampler": [0, 1], "shuffle": True},
               {"batch_size": None, "drop_last": True}, {"batch_sampler": [[0]], "batch_size": 2}):
        with pytest.raises(Exception) as ref:
            list(torch.utils.data.DataLoader(data, **kw))
        with pytest.raises(type(ref.value)):
            list(D.DataLoader(data, **kw))
