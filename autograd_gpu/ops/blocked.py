"""Math on large NumPy arrays a block at a time.

A formula of several steps (softmax: max, subtract, exp, sum, divide; gelu's
backward: a dozen pointwise steps) in whole-array NumPy calls makes a full-size
temporary per step, each a fresh allocation whose pages fault in, and sends
every pass out to memory. Taken a block at a time (about 128k elements for
rows, 32k for pointwise chains) the block's passes run in the core's cache and
the temporaries are one block's. Row sums are matrix-vector products (BLAS:
about 5x NumPy's row reduce on contiguous rows). Used by the softmax family and
the pointwise activations (prims.py) and by the norms (normalization.py); small
arrays keep the whole-array forms (one block anyway, and fewer Python steps)."""
import math

import numpy as np

BLOCK = 1 << 17                 # elements per block of rows, and the size from which the blocked forms apply
CHUNK = 1 << 15                 # elements per chunk of a pointwise chain (its float64 steps: 256 KiB each)


def row_blocks(count, n):
    """Slices of `count` rows of n elements, about BLOCK elements each."""
    step = max(1, BLOCK // max(n, 1))
    return [slice(start, start + step) for start in range(0, count, step)]


def rows_of(x, axis):
    """x (a large float32/float64 C-contiguous NumPy array) as (rows, n) along its last axis when
    `axis` is that axis, else None (the caller's whole-array form)."""
    if (type(x) is not np.ndarray or x.size < BLOCK or x.dtype.kind != "f" or x.dtype.itemsize < 4
            or axis % x.ndim != x.ndim - 1 or not x.flags.c_contiguous):
        return None
    return x.reshape(-1, x.shape[-1])


def _over_row_blocks(step, *operands):
    """A fresh result the shape of the last operand (rows, n), step(result block, scratch block,
    ones, *operand blocks) run over each block of rows (the scratch a block's, ones for row sums)."""
    like = operands[-1]
    blocks = row_blocks(like.shape[0], like.shape[1])
    out = np.empty(like.shape, like.dtype)
    scratch, ones = np.empty((min(blocks[0].stop, like.shape[0]), like.shape[1]), like.dtype), \
        np.ones(like.shape[1], like.dtype)
    for b in blocks:
        o = out[b]
        step(o, scratch[:o.shape[0]], ones, *(a[b] for a in operands))
    return out


def _softmax_rows(o, _, ones, xs):
    np.subtract(xs, np.maximum.reduce(xs, 1, keepdims=True), out=o)
    np.exp(o, out=o)
    o /= (o @ ones)[:, None]


def _log_softmax_rows(o, scratch, ones, xs):
    np.subtract(xs, np.maximum.reduce(xs, 1, keepdims=True), out=o)
    o -= np.log(np.exp(o, out=scratch) @ ones)[:, None]


def _softmax_bwd_rows(o, scratch, ones, gs, ys):
    """y (g - sum(g y))"""
    np.subtract(gs, (np.multiply(gs, ys, out=scratch) @ ones)[:, None], out=o)
    o *= ys


def _log_softmax_bwd_rows(o, scratch, ones, gs, ys):
    """g - exp(y) sum(g)"""
    e = np.exp(ys, out=scratch)
    e *= (gs @ ones)[:, None] if gs.flags.c_contiguous else np.add.reduce(gs, 1, keepdims=True)  # (BLAS: strided)
    np.subtract(gs, e, out=o)


# x (rows, n); the backward forms take g (rows, n), which may be a broadcast view, and y
def softmax(rows):
    return _over_row_blocks(_softmax_rows, rows)


def log_softmax(rows):
    return _over_row_blocks(_log_softmax_rows, rows)


def softmax_bwd(g, y):
    return _over_row_blocks(_softmax_bwd_rows, g, y)


def log_softmax_bwd(g, y):
    return _over_row_blocks(_log_softmax_bwd_rows, g, y)


def _flat_operands(args):
    """args with their NumPy arrays broadcast to one shape and flattened (views where they can be),
    and that shape; None where a chunked form does not apply (a small first array, a Tensor under
    create_graph, a CuPy array or an ndarray subclass: the whole-array form)."""
    x = args[0]
    if type(x) is not np.ndarray or x.size < BLOCK:
        return None
    arrays = [i for i, a in enumerate(args) if type(a) is np.ndarray]
    if len(arrays) < sum(isinstance(a, np.ndarray) for a in args):
        return None
    shape = np.broadcast_shapes(*(args[i].shape for i in arrays))
    flat = list(args)
    for i in arrays:                                # (a view where it can be: contiguous, or expanded)
        flat[i] = np.broadcast_to(args[i], shape).reshape(-1)
    return flat, arrays, shape


def _chunks(formula, flat, arrays):
    """formula on each flat CHUNK of the operands, in order (a generator)."""
    size = flat[arrays[0]].size
    for start in range(0, size, CHUNK):
        yield formula(*(a[start:start + CHUNK] if i in arrays else a for i, a in enumerate(flat)))


def in_chunks(formula):
    """formula(*arrays_and_numbers), a pointwise formula on NumPy arrays, evaluated a flat chunk at a
    time where its arrays are large: the same operations on each element (the same values), chunk-sized
    temporaries. Arrays of other shapes are broadcast to the result's."""
    def chunked(*args):
        operands = _flat_operands(args)
        if operands is None:
            return formula(*args)
        flat, arrays, shape = operands
        out = None
        for start, values in zip(range(0, math.prod(shape), CHUNK), _chunks(formula, flat, arrays)):
            if out is None:
                out = np.empty(math.prod(shape), values.dtype)
            out[start:start + CHUNK] = values
        return out.reshape(shape)
    chunked.__name__ = getattr(formula, "__name__", "formula")
    return chunked


def sum_in_chunks(formula, *args):
    """The sum of a pointwise formula's values over all elements (and their count) where its operands
    are large float32/float64 NumPy arrays, chunk by chunk: no full-size array of values at all; the
    chunks' sums (NumPy's pairwise sums) are summed pairwise in turn. Else None."""
    operands = _flat_operands(args)
    if operands is None or args[0].dtype.kind != "f" or args[0].dtype.itemsize < 4:
        return None
    flat, arrays, shape = operands
    sums = [np.add.reduce(values) for values in _chunks(formula, flat, arrays)]
    return np.add.reduce(np.array(sums, dtype=np.result_type(*sums))), math.prod(shape)


def each_chunk(update, arrays, numbers):
    """update(*chunks, *numbers) on each flat CHUNK of `arrays` (the same shape, C-contiguous: the
    chunks are views, so an update that writes its first arrays in place writes theirs) where they
    are large, else update(*arrays, *numbers). An optimizer's step element by element: the same
    values, its scratch arrays a chunk's (Adam on 1M float32: 2.2 -> 1.0 ms)."""
    size = arrays[0].size
    if size < BLOCK or not all(a.flags.c_contiguous and a.shape == arrays[0].shape for a in arrays):
        update(*arrays, *numbers)
        return
    flat = [a.reshape(-1) for a in arrays]
    for start in range(0, size, CHUNK):
        update(*(a[start:start + CHUNK] for a in flat), *numbers)


_RUN = 4096                     # elements per dot product of a sum of squares (float32 accumulators)


def square_sums(x, axes):
    """The sums of x * x over `axes` (None: all), in float64 with the reduced dims kept, for a large
    float32/float64 C-contiguous NumPy array reduced over all of its dims or over trailing ones of at
    most 8k elements; else None. Runs of 4096 are dot products (BLAS: a 2-norm of 1M float32 in 0.07
    ms where squares and a sum took 0.5 plus the squares' page faults), their sums added in float64."""
    if (type(x) is not np.ndarray or x.size < BLOCK or x.dtype.kind != "f" or x.dtype.itemsize < 4
            or not x.flags.c_contiguous):
        return None
    if axes is None or tuple(sorted(axes)) == tuple(range(x.ndim)):
        flat = x.reshape(-1)
        head = flat.size - flat.size % _RUN
        runs = flat[:head].reshape(-1, _RUN)
        tail = flat[head:].astype(np.float64)
        total = _row_dots(runs).sum(dtype=np.float64) + tail @ tail
        return np.full((1,) * x.ndim, total)
    lead = x.ndim - len(axes)
    if tuple(sorted(axes)) != tuple(range(lead, x.ndim)):
        return None
    rows = x.reshape(math.prod(x.shape[:lead]), -1)
    if rows.shape[1] > 2 * _RUN:
        return None
    return _row_dots(rows).astype(np.float64).reshape(x.shape[:lead] + (1,) * len(axes))


def _row_dots(rows):
    """Each row's dot product with itself (a batched matrix product of 1 x n by n x 1)."""
    return np.matmul(rows[:, None, :], rows[:, :, None]).reshape(-1)
