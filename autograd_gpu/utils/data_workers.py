"""DataLoader worker processes (num_workers > 0), after torch.utils.data's
multi-process loading.

The main process sends (task number, batch indices) to each worker's own
index queue, round robin, keeping prefetch_factor tasks in flight per worker;
the workers fetch and collate the batch and send (task number, data) back on
one shared result queue. Batches come out in task order (in_order=True) or as
they arrive (in_order=False). A worker is seeded from the iterator's
base_seed (drawn from the loader's generator, else from ag's): ag.manual_seed
and Python's `random` with base_seed + worker_id, NumPy's legacy global
generator from a SeedSequence of both (PyTorch's rule).

Workers exit when the main process sends None on their index queue: at the
end of an epoch (unless persistent_workers), when the iterator is deleted,
and at interpreter exit; a worker also exits when its parent dies.

CUDA and fork: a forked worker shares the parent's CUDA state, which CUDA does
not support once the parent has used the GPU; datasets that make CUDA tensors
in workers need multiprocessing_context="spawn" (or "forkserver"), as in
PyTorch. Tensors cross the process boundary by pickling (through the host)."""
import atexit
import dataclasses
import itertools
import multiprocessing
import multiprocessing.util     # registers its exit handler (terminating workers) before ours (joining them)
import os
import pickle
import queue
import random
import sys
import traceback
import warnings
import weakref
from multiprocessing.reduction import ForkingPickler

import numpy as np

__all__ = ["WorkerInfo", "get_worker_info", "draw_base_seed", "BaseLoaderIterator", "MultiProcessIterator"]

WORKER_POLL_INTERVAL = 5.0      # seconds a worker waits for a task before checking its parent is alive
MAIN_POLL_INTERVAL = 1.0        # seconds the main process waits for a result before checking its workers
JOIN_TIMEOUT = 5.0              # seconds given to a worker to exit before it is terminated


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """What get_worker_info() returns inside a worker: its id, the number of
    workers, its seed and its own copy of the dataset."""
    id: int
    num_workers: int
    seed: int
    dataset: object
    rng: object = None
    worker_method: str = "multiprocessing"


_worker_info = None


def get_worker_info():
    """This worker's WorkerInfo; None in the main process."""
    return _worker_info


def draw_base_seed(generator):
    """The iterator's base seed: one int64 draw from the loader's `generator`
    (an ag.Generator, as PyTorch's, or a numpy Generator), else from ag's default generator."""
    from ..random import Generator
    if generator is None or isinstance(generator, Generator):
        from ..creation import randint
        return int(randint(0, 2 ** 63 - 1, (), generator=generator).item())
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"DataLoader: generator must be None, an ag.Generator or a numpy.random.Generator, got "
                        f"{type(generator).__name__}")
    return int(generator.integers(0, 2 ** 63 - 1))


def _seed_worker(base_seed, worker_id):
    from ..creation import manual_seed
    seed = base_seed + worker_id
    random.seed(seed)
    manual_seed(seed)
    # PyTorch's rule for NumPy: SeedSequence of (worker_id, low and high words of base_seed)
    entropy = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    np.random.seed(np.random.SeedSequence(entropy).generate_state(4))
    return seed


class _KeyErrorMessage(str):
    """KeyError prints repr() of its message: this one prints as itself, so the worker's traceback stays readable."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """The exception being handled in a worker, carried to the main process and raised there again."""

    def __init__(self, where):
        exc_type, exc, tb = sys.exc_info()
        self.exc_type, self.where = exc_type, where
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, tb))

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            raise KeyError(_KeyErrorMessage(msg))
        if getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exc = self.exc_type(msg)
        except Exception:           # an exception type whose constructor takes other arguments
            raise RuntimeError(msg) from None
        raise exc


class _StreamEnded:
    """A worker's IterableDataset copy is exhausted: send it no more tasks."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class _ResumeIteration:
    """Start a new epoch (persistent workers): acknowledged by sending it back."""


def _packed(idx, data, worker_id):
    """(idx, data) pickled here, so a batch that cannot be pickled is reported as this worker's error
    (pickled by the queue's feeder thread, it would be lost and the main process would wait forever)."""
    try:
        return bytes(ForkingPickler.dumps((idx, data)))
    except Exception:
        return bytes(ForkingPickler.dumps((idx, ExceptionWrapper(f"in DataLoader worker process {worker_id}"))))


def _fetch(fetcher, index, worker_id, iterable):
    """(data or error, whether the worker's stream has ended)."""
    try:
        return fetcher.fetch(index), False
    except StopIteration:
        if iterable:
            return _StreamEnded(worker_id), True
        return ExceptionWrapper(f"in DataLoader worker process {worker_id}"), False
    except Exception:
        return ExceptionWrapper(f"in DataLoader worker process {worker_id}"), False


def _serve(make_fetcher, fetcher, pending_error, index_queue, result_queue, done_event, worker_id, iterable):
    """Answer tasks until told to stop (None) or until the parent process is gone."""
    parent, ended = os.getppid(), False
    while os.getppid() == parent:
        try:
            task = index_queue.get(timeout=WORKER_POLL_INTERVAL)
        except queue.Empty:
            continue
        if task is None:
            return
        if isinstance(task, _ResumeIteration):
            result_queue.put(_packed(task, None, worker_id))
            ended, fetcher = False, make_fetcher()
            continue
        if done_event.is_set() or ended:
            continue                # shutting down or exhausted: wait for None
        idx, index = task
        if pending_error is not None:
            data, pending_error = pending_error, None
        else:
            data, ended = _fetch(fetcher, index, worker_id, iterable)
        result_queue.put(_packed(idx, data, worker_id))
        del data, task, index       # do not hold the last batch while waiting


def _worker_loop(fetcher_cls, dataset, index_queue, result_queue, done_event, fetch_options, base_seed, init_fn,
                 worker_id, num_workers, iterable):
    global _worker_info
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)

        def make_fetcher():
            return fetcher_cls(dataset, *fetch_options)
        fetcher, pending_error = None, None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher()
        except Exception:           # reported as the answer to this worker's first task
            pending_error = ExceptionWrapper(f"in DataLoader worker process {worker_id}")
        _serve(make_fetcher, fetcher, pending_error, index_queue, result_queue, done_event, worker_id, iterable)
    except KeyboardInterrupt:
        pass                        # the main process gets it too
    if done_event.is_set():
        # the main process may not read what is left: exit without waiting for the queue to drain
        result_queue.cancel_join_thread()
        result_queue.close()


_LENGTH_WARNING = ("Length of IterableDataset {} was reported to be {}(when accessing len(dataloader)), but {} "
                   "samples have been fetched. ")
_LENGTH_HINT = ("For multiprocessing data-loading, this could be caused by not properly configuring the "
                "IterableDataset replica at each worker. Please see "
                "https://pytorch.org/docs/stable/data.html#torch.utils.data.IterableDataset for examples.")


class BaseLoaderIterator:
    """One pass of a DataLoader: the sampler pass, the base seed and the count of batches yielded."""

    def __init__(self, loader):
        self._dataset, self._is_iterable = loader.dataset, loader._is_iterable
        self._index_sampler, self._num_workers = loader._index_sampler, loader.num_workers
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = draw_base_seed(loader.generator)      # drawn in every pass, as PyTorch
        self._reported_len, self._num_yielded = loader._IterableDataset_len_called, 0
        _warn_pin_memory(loader)

    def _reset(self, loader):
        self._sampler_iter = iter(self._index_sampler)
        self._reported_len, self._num_yielded = loader._IterableDataset_len_called, 0

    def _next_data(self):
        raise NotImplementedError

    def __iter__(self):
        return self

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if self._is_iterable and self._reported_len is not None and self._num_yielded > self._reported_len:
            msg = _LENGTH_WARNING.format(self._dataset, self._reported_len, self._num_yielded)
            warnings.warn(msg + (_LENGTH_HINT if self._num_workers > 0 else ""), stacklevel=2)
        return data

    def __len__(self):
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError(f"{type(self).__name__} cannot be pickled")


def _warn_pin_memory(loader):
    # pinning is a no-op here; PyTorch's warnings where it would not pin either
    if not loader.pin_memory:
        return
    if loader.pin_memory_device:
        warnings.warn(f"pin_memory_device is deprecated, the current accelerator will be used as the device,"
                      f"ignore pin_memory_device='{loader.pin_memory_device}'.", stacklevel=3)
    from .. import cuda
    if not cuda.is_available():
        warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                      "memory won't be used.", stacklevel=3)


def warn_if_too_many_workers(num_workers):
    """PyTorch's warning when a loader would start more workers than this process may use CPUs."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if cpus and num_workers > cpus:
        warnings.warn(f"This DataLoader will create {num_workers} worker processes in total. Our suggested max "
                      f"number of worker in current system is {cpus}, which is smaller than what this DataLoader "
                      f"is going to create. Please be aware that excessive worker creation might get DataLoader "
                      f"running slow or even freeze, lower the worker number to avoid potential slowness/freeze "
                      f"if necessary.", stacklevel=3)


_live_iterators = weakref.WeakSet()     # shut down at interpreter exit
_exiting = [False]


@atexit.register
def _shutdown_at_exit():
    for it in list(_live_iterators):
        it._shutdown_workers()
    _exiting[0] = True          # later __del__ calls (interpreter teardown) do nothing


class MultiProcessIterator(BaseLoaderIterator):
    """One pass (or, with persistent_workers, every pass) of a DataLoader with worker processes."""

    def __init__(self, loader, fetcher_cls):
        self._shutdown, self._workers, self._index_queues = False, [], []   # for __del__ if starting fails
        self._done_event = None
        super().__init__(loader)
        self._prefetch_factor, self._in_order = loader.prefetch_factor, loader.in_order
        self._persistent, self._timeout = loader.persistent_workers, loader.timeout
        if not self._prefetch_factor > 0:
            raise AssertionError("DataLoader: prefetch_factor must be greater than 0 for multi-process loading, "
                                 f"got prefetch_factor={self._prefetch_factor}")
        ctx = loader.multiprocessing_context or multiprocessing
        self._result_queue, self._done_event = ctx.Queue(), ctx.Event()
        fetch_options = (loader._auto_collation, loader.collate_fn, loader.drop_last)
        for worker_id in range(self._num_workers):
            index_queue = ctx.Queue()
            index_queue.cancel_join_thread()    # never block our exit on tasks a dead worker will not read
            args = (fetcher_cls, self._dataset, index_queue, self._result_queue, self._done_event, fetch_options,
                    self._base_seed, loader.worker_init_fn, worker_id, self._num_workers, self._is_iterable)
            w = ctx.Process(target=_worker_loop, args=args, daemon=True)
            w.start()
            self._index_queues.append(index_queue)
            self._workers.append(w)
        _live_iterators.add(self)
        self._reset(loader, first_epoch=True)

    def _reset(self, loader, first_epoch=False):
        super()._reset(loader)
        n = self._num_workers
        self._send_idx = self._rcvd_idx = 0
        self._task_info = {}            # task -> (worker,) while outstanding, (worker, data) when it came early
        self._tasks_outstanding = 0
        self._workers_status = [True] * n           # the worker still has work this epoch
        self._workers_num_tasks = [0] * n
        self._worker_cycle = itertools.cycle(range(n))
        if not first_epoch:
            self._resume_workers()
        for _ in range(self._prefetch_factor * n):
            self._try_put_index()

    def _resume_workers(self):
        for q in self._index_queues:
            q.put(_ResumeIteration())
        acks = 0
        while acks < self._num_workers:
            idx, _ = self._get_data()       # results of an epoch left unfinished are dropped
            acks += isinstance(idx, _ResumeIteration)

    # --- receiving ------------------------------------------------------------------------
    def _dead_workers_error(self):
        dead = [w for i, w in enumerate(self._workers) if self._workers_status[i] and not w.is_alive()]
        for w in dead:
            self._mark_worker_unavailable(self._workers.index(w))
        if dead:
            pids = ", ".join(str(w.pid) for w in dead)
            return RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly")
        return None

    def _get_data(self):
        """The next (task, data) from any worker; RuntimeError if a worker died or `timeout` passed."""
        waited = 0.0
        while True:
            wait = MAIN_POLL_INTERVAL if self._timeout <= 0 else min(MAIN_POLL_INTERVAL, self._timeout - waited)
            try:
                return pickle.loads(self._result_queue.get(timeout=wait))
            except queue.Empty as e:
                error = self._dead_workers_error()
                if error is not None:
                    raise error from e
            waited += wait
            if 0 < self._timeout <= waited:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _next_data(self):
        while True:
            if not self._advance_to_pending_task():
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:                              # it came early and waited
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process_data(info[1], info[0])
            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _StreamEnded):
                self._stream_ended(data.worker_id)
                continue
            if idx == self._rcvd_idx or not self._in_order:
                worker_id = self._task_info.pop(idx)[0]
                self._rcvd_idx += idx == self._rcvd_idx
                return self._process_data(data, worker_id)
            self._task_info[idx] += (data,)               # early: keep it for its turn

    def _advance_to_pending_task(self):
        """Move _rcvd_idx to the next task whose data is here or can still come; False if none."""
        while self._rcvd_idx < self._send_idx:
            info = self._task_info.get(self._rcvd_idx)
            if info:
                if len(info) == 2 or self._workers_status[info[0]]:
                    return True
                del self._task_info[self._rcvd_idx]         # its worker's stream ended first
            self._rcvd_idx += 1
        return False

    def _stream_ended(self, worker_id):
        if self._persistent:
            self._workers_status[worker_id] = False         # it waits for the next epoch
        else:
            self._mark_worker_unavailable(worker_id)
        self._try_put_index()

    def _process_data(self, data, worker_id):
        self._workers_num_tasks[worker_id] -= 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    # --- sending ----------------------------------------------------------------------------
    def _try_put_index(self):
        max_tasks = self._prefetch_factor * self._num_workers
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        worker_id = self._next_worker(max_tasks)
        if worker_id is None:
            return
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_id,)
        self._workers_num_tasks[worker_id] += 1
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _next_worker(self, max_tasks):
        """Round robin over the workers still active (out of order: only those below their share of tasks)."""
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if not self._workers_status[worker_id]:
                continue
            if self._in_order or self._workers_num_tasks[worker_id] < max_tasks // sum(self._workers_status):
                return worker_id
        return None

    # --- shutting down ----------------------------------------------------------------------
    def _mark_worker_unavailable(self, worker_id):
        self._index_queues[worker_id].put(None)             # its signal to exit
        self._workers_status[worker_id] = False

    def _shutdown_workers(self):
        if self._shutdown or _exiting[0]:
            return
        self._shutdown = True
        _live_iterators.discard(self)
        if self._done_event is None:
            return                  # failed before starting any worker
        try:
            self._done_event.set()
            for q in self._index_queues:
                q.put(None)
            for w in self._workers:
                w.join(timeout=JOIN_TIMEOUT)
            for q in self._index_queues:
                q.cancel_join_thread()
                q.close()
        finally:
            for w in self._workers:
                if w.is_alive():            # it did not exit in time: kill it rather than leave it behind
                    w.terminate()
                    w.join(timeout=JOIN_TIMEOUT)

    def __del__(self):
        self._shutdown_workers()
