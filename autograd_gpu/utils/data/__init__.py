"""ag.utils.data, after torch.utils.data: map-style and iterable datasets
(Dataset, IterableDataset, TensorDataset, StackDataset, ConcatDataset,
ChainDataset, Subset, random_split), the samplers, DataLoader and
default_collate.

With num_workers=0 loading runs in the calling process; with num_workers > 0
in worker processes (data_workers.py). Random samplers, random_split and a
DataLoader's worker base seed draw from the `generator` given (an
ag.Generator, as PyTorch's, or a `numpy.random.Generator`), else from ag's
default generator (ag.manual_seed)."""
import collections.abc as abc
import math
import multiprocessing
import numbers
import warnings

import numpy as np

from ... import _dtype
from ...creation import as_tensor, randint, randperm, tensor
from ...ops.sampling import _check_multinomial, multinomial
from ...ops.shape import stack
from ...tensor import Tensor
from .. import data_workers as _workers

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "DataLoader", "get_worker_info",
           "default_collate", "default_convert"]


class Dataset:
    """A map-style dataset: subclasses define __getitem__ (and usually __len__)."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset, abc.Iterable):
    """A stream of samples: subclasses define __iter__ (abstract, as in PyTorch)."""

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Sample i is the tuple of every tensor's i-th row."""

    def __init__(self, *tensors):
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected Tensors, got {type(t).__name__}")
        if any(t.dim() == 0 for t in tensors) or len({t.shape[0] for t in tensors}) > 1:
            raise AssertionError("TensorDataset: Size mismatch between tensors "
                                 f"(shapes {[list(t.shape) for t in tensors]})")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0] if self.tensors else 0


class StackDataset(Dataset):
    """Sample i is the tuple (datasets given positionally) or the dict (given by
    keyword) of every dataset's i-th sample."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: supported either tuple- (via args) or dict- (via kwargs) like "
                             "input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("StackDataset: At least one dataset should be passed")
        members = list(args or kwargs.values())
        lengths = [len(d) for d in members]
        if len(set(lengths)) > 1:
            raise ValueError(f"StackDataset: Size mismatch between datasets (lengths {lengths})")
        self._length = lengths[0]
        self.datasets = args or kwargs

    def _members(self):
        return self.datasets.items() if isinstance(self.datasets, dict) else enumerate(self.datasets)

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices):
        """One batch, asking each member for all of it at once where it can (its __getitems__)."""
        columns = {}
        for key, d in self._members():
            if callable(getattr(d, "__getitems__", None)):
                items = d.__getitems__(indices)
                if len(items) != len(indices):
                    raise ValueError(f"StackDataset: Nested dataset's output size mismatch. Expected "
                                     f"{len(indices)}, got {len(items)}")
            else:
                items = [d[i] for i in indices]
            columns[key] = items
        if isinstance(self.datasets, dict):
            return [{k: columns[k][j] for k in columns} for j in range(len(indices))]
        return [tuple(columns[k][j] for k in columns) for j in range(len(indices))]

    def __len__(self):
        return self._length


class ConcatDataset(Dataset):
    """The map-style datasets one after another."""

    @staticmethod
    def cumsum(sequence):
        return np.cumsum([len(d) for d in sequence], dtype=np.int64).tolist()

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("ConcatDataset: absolute value of index should not exceed dataset length")
            idx += len(self)
        k = int(np.searchsorted(self.cumulative_sizes, idx, side="right"))
        if k >= len(self.datasets):
            raise IndexError(f"ConcatDataset: index {idx} out of range for length {len(self)}")
        return self.datasets[k][idx - (self.cumulative_sizes[k - 1] if k else 0)]


class ChainDataset(IterableDataset):
    """The iterable datasets one after another, chained lazily on each pass."""

    def __init__(self, datasets):
        self.datasets = datasets

    def _checked(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError(f"ChainDataset only supports IterableDataset (got {type(d).__name__})")
            yield d

    def __iter__(self):
        for d in self._checked():
            yield from d

    def __len__(self):
        return sum(len(d) for d in self._checked())


class Subset(Dataset):
    """The samples of `dataset` at `indices`."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        # DataLoader fetches batches through __getitems__, which would bypass an overridden __getitem__
        if type(self).__getitem__ is not Subset.__getitem__ and type(self).__getitems__ is Subset.__getitems__:
            raise NotImplementedError(f"{type(self).__name__} overrides __getitem__ but not __getitems__: "
                                      f"DataLoader fetches a Subset's batches through __getitems__")

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


def _check_generator(generator):
    from ...random import Generator
    if generator is not None and not isinstance(generator, (Generator, np.random.Generator)):
        raise TypeError(f"generator must be None, an ag.Generator or a numpy.random.Generator, got "
                        f"{type(generator).__name__}")


def _is_numpy(generator):
    return isinstance(generator, np.random.Generator)


def _permutation(n, generator):
    _check_generator(generator)
    if _is_numpy(generator):
        return generator.permutation(n).tolist()
    return randperm(n, generator=generator).tolist()


def _uniform_indices(n, count, generator):
    """count draws from range(n), with replacement."""
    _check_generator(generator)
    if _is_numpy(generator):
        return generator.integers(0, n, count).tolist()
    return randint(0, n, (count,), generator=generator).tolist()


def _weighted_indices(weights, count, replacement, generator):
    """count draws from range(len(weights)) in proportion to weights (a float64 Tensor), as multinomial."""
    _check_generator(generator)
    if not _is_numpy(generator):
        return multinomial(weights, count, replacement, generator=generator).tolist()
    _check_multinomial(weights, count, replacement)
    w = weights.cpu().numpy()
    if replacement:
        return generator.choice(len(w), count, replace=True, p=w / w.sum()).tolist()
    # exponential races, as ag.multinomial: zero weights come last rather than never
    keys = np.where(w > 0, generator.exponential(size=len(w)) / np.where(w > 0, w, 1), np.inf)
    return np.argsort(keys, kind="stable")[:count].tolist()


def random_split(dataset, lengths, generator=None):
    """Split into non-overlapping Subsets of the given lengths, or of the given
    fractions of len(dataset) (the remainder dealt one by one from the first)."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: Fraction at index {i} is not between 0 and 1")
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.")
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: Sum of input lengths ({sum(lengths)}) does not equal the length of the "
                         f"input dataset ({n})!")
    perm = _permutation(n, generator)
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[start:start + length]))
        start += length
    return out


class Sampler:
    """Yields dataset indices."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def _positive_int(value, name, owner):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}: {name} should be a positive integer value, but got {name}={value}")


class RandomSampler(Sampler):
    """num_samples (default len(data_source)) random indices on each pass: with
    replacement, uniform draws; without, whole fresh permutations, the last one
    cut short."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        _check_generator(generator)
        self.data_source, self.replacement, self._num_samples = data_source, replacement, num_samples
        self.generator = generator
        _positive_int(self.num_samples, "num_samples", "RandomSampler")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, count = len(self.data_source), self.num_samples
        if n == 0:          # (PyTorch: RuntimeError from randint with replacement, ZeroDivisionError without)
            exc = RuntimeError if self.replacement else ZeroDivisionError
            raise exc(f"RandomSampler: cannot draw num_samples={count} from an empty data_source")
        if self.replacement:
            yield from _uniform_indices(n, count, self.generator)
            return
        for _ in range(count // n):
            yield from _permutation(n, self.generator)
        if count % n:
            yield from _permutation(n, self.generator)[:count % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a fresh random order on each pass."""

    def __init__(self, indices, generator=None):
        _check_generator(generator)
        self.indices, self.generator = indices, generator

    def __iter__(self):
        for i in _permutation(len(self.indices), self.generator):
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices into weights, drawn in proportion to them (as
    multinomial: with replacement by default; distinct without)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        _positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        _check_generator(generator)
        w = as_tensor(weights, dtype=_dtype.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                             f"shape {tuple(w.shape)}")
        self.weights, self.num_samples, self.replacement, self.generator = w, num_samples, replacement, generator

    def __iter__(self):
        yield from _weighted_indices(self.weights, self.num_samples, self.replacement, self.generator)

    def __len__(self):
        return self.num_samples


class DistributedSampler(Sampler):
    """This replica's share (indices rank, rank + num_replicas, ...) of the
    dataset, padded by wrapping around (or cut, drop_last) to an equal share
    each. The shuffle is seeded by seed + epoch so all replicas agree; there is
    no process group, so num_replicas and rank must be given."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            raise ValueError("DistributedSampler: Default process group has not been initialized (ag has no "
                             "distributed package): pass num_replicas and rank")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"DistributedSampler: Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank, self.epoch = dataset, num_replicas, rank, 0
        self.drop_last, self.shuffle, self.seed = drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            padding = self.total_size - n
            indices += (indices * math.ceil(padding / n))[:padding] if padding else []
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of batch_size."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size


_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def default_collate(batch):
    """Stack a list of samples into a batch: tensors and arrays stacked along a
    new dim 0, numbers into a tensor, and dicts, tuples and lists per field."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray) and elem.dtype.kind not in "OSUV":
        return stack([tensor(b) for b in batch], 0)
    if isinstance(elem, np.generic) and elem.dtype.kind not in "OSUV":
        return tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=_dtype.float64)
    if isinstance(elem, numbers.Integral):      # bools give a bool tensor, as in PyTorch
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, abc.Mapping):
        fields = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):          # a namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        if len({len(b) for b in batch}) > 1:
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        columns = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns                       # PyTorch gives a list for tuples
        try:
            return type(elem)(columns)
        except TypeError:
            return columns
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data):
    """Without batching: numpy arrays to tensors, recursively through dicts and sequences."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSUV":
        return tensor(data)
    if isinstance(data, abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]          # a list, as PyTorch's
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


def get_worker_info():
    """In a DataLoader worker process, its WorkerInfo (id, num_workers, seed, and
    dataset: this process's copy); None in the main process."""
    return _workers.get_worker_info()


class _InfiniteConstantSampler(Sampler):
    """The index "sampler" of an IterableDataset: None forever (the dataset decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


class _IterableFetcher:
    """Samples of one pass over an IterableDataset, singly or in batches of the batch sampler's size."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.stream, self.ended = iter(dataset), False
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last

    def fetch(self, batch_index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.stream))
        data = []
        for _ in batch_index:
            try:
                data.append(next(self.stream))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(batch_index)):
            raise StopIteration
        return self.collate_fn(data)


class _MapFetcher:
    """Samples by index from a map-style dataset (a batch through __getitems__ where the dataset has it)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if getitems else [self.dataset[i] for i in index]
        return self.collate_fn(data)


def _fetcher_class(loader):
    return _IterableFetcher if loader._is_iterable else _MapFetcher


class _LoaderIterator(_workers.BaseLoaderIterator):
    """One pass of a DataLoader, loading in this process."""

    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = _fetcher_class(loader)(loader.dataset, loader._auto_collation, loader.collate_fn,
                                               loader.drop_last)

    def _next_data(self):
        return self._fetcher.fetch(next(self._sampler_iter))


def _resolve_context(context):
    """multiprocessing_context as a context object: a start method's name is looked up, as in PyTorch."""
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context option should specify a valid start method in "
                             f"{methods!r}, but got multiprocessing_context={context!r}")
        context = multiprocessing.get_context(context)
    if context is not None and not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(f"DataLoader: multiprocessing_context option should be a valid context object or a string "
                        f"specifying the start method, but got multiprocessing_context={context}")
    return context


_FROZEN_AFTER_INIT = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size` (None: single samples),
    optionally shuffled (a new permutation each epoch), collated by `collate_fn`.
    An IterableDataset is read in its own order (no sampler, no shuffle).
    num_workers > 0 fetches and collates in that many worker processes
    (data_workers.py); pin_memory is accepted and does nothing."""

    _initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        self._check_process_options(num_workers, timeout, prefetch_factor, persistent_workers,
                                    multiprocessing_context)
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        is_iterable = isinstance(dataset, IterableDataset)
        if is_iterable:
            self._check_iterable_options(shuffle, sampler, batch_sampler)
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        if sampler is None:
            if is_iterable:
                sampler = _InfiniteConstantSampler()
            else:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self._is_iterable = is_iterable
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.multiprocessing_context = _resolve_context(multiprocessing_context)
        self.prefetch_factor = prefetch_factor
        self.persistent_workers, self.pin_memory_device, self.in_order = persistent_workers, pin_memory_device, in_order
        self.sampler, self.batch_sampler = sampler, batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self._IterableDataset_len_called = None
        self._iterator = None           # the one iterator of persistent workers
        self._initialized = True

    @staticmethod
    def _check_process_options(num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context):
        """Worker-process options, refused as PyTorch refuses them."""
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError("DataLoader: num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("DataLoader: timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing. "
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("DataLoader: prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError(f"DataLoader: multiprocessing_context can only be used with multi-process loading "
                             f"(num_workers > 0), but got num_workers={num_workers}")

    @staticmethod
    def _check_iterable_options(shuffle, sampler, batch_sampler):
        if shuffle not in (False, None):
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                             f"shuffle={shuffle}")
        if sampler is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                             f"sampler={sampler}")
        if batch_sampler is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                             f"got batch_sampler={batch_sampler}")

    def __setattr__(self, name, value):
        # the samplers were built from these: changing one would leave them inconsistent
        if self._initialized and name in _FROZEN_AFTER_INIT:
            raise ValueError(f"DataLoader: {name} attribute should not be set after DataLoader is initialized")
        if self._initialized and name == "multiprocessing_context":
            if value is not None and self.num_workers == 0:
                raise ValueError(f"DataLoader: multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got num_workers={self.num_workers}")
            value = _resolve_context(value)
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        """A new pass; with persistent_workers, the same iterator (and worker processes) started again."""
        if not (self.persistent_workers and self.num_workers > 0):
            return self._get_iterator()
        if self._iterator is None:
            self._iterator = self._get_iterator()
        else:
            self._iterator._reset(self)
        return self._iterator

    def _get_iterator(self):
        if self.num_workers == 0:
            return _LoaderIterator(self)
        _workers.warn_if_too_many_workers(self.num_workers)
        return _workers.MultiProcessIterator(self, _fetcher_class(self))

    def __len__(self):
        if not self._is_iterable:
            return len(self._index_sampler)
        length = self._IterableDataset_len_called = len(self.dataset)
        if self.batch_size is None:
            return length
        return length // self.batch_size if self.drop_last else math.ceil(length / self.batch_size)


# torch.utils.data's submodule paths (aliases of the names above), imported last: they import from this package
from . import _utils, dataloader, dataset, distributed, sampler  # noqa: E402
