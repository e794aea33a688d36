"""Shape ops: views (view/reshape, squeeze/unsqueeze, transpose/permute,
expand, split/chunk) and copies (repeat, cat, stack, clone, contiguous, to).

A view's output shares memory and the version counter with its input; its
backward only rearranges the gradient."""
import math
import warnings

import numpy as np

from ..autograd.op import Op, device_mismatch
from .._dtype import as_torch_narrows
from ..backend import cupy_backend as _cupy_backend
from ..tensor import Tensor
from . import prims as P
from ._util import wrap_dim, int_arg


def sizes_arg(sizes, op_name, keyword=None, keyword_name=None):
    """Sizes given as ints or as one tuple/list (or torch.Size-like), or as
    the keyword argument PyTorch names (x.view(size=(2, 3)))."""
    if keyword is not None:
        if sizes:
            raise TypeError(f"{op_name}() got multiple values for argument '{keyword_name}'")
        sizes = (keyword,)
    if not sizes:                   # x.reshape(): PyTorch's TypeError (x.reshape(()) is fine)
        raise TypeError(f"{op_name}() missing 1 required positional argument: 'size'")
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    out = []
    for s in sizes:
        if isinstance(s, Tensor):
            s = int(s)
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{op_name}(): argument 'size' must be a tuple of ints, but found element of "
                            f"type {type(s).__name__}")
        out.append(int(s))
    return tuple(out)


def infer_shape(shape, numel, op_name):
    """Resolve one -1 entry; check the element count (PyTorch's messages)."""
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError(f"{op_name}: only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"{op_name}: invalid shape dimension {s}")
    known = math.prod(s for s in shape if s != -1)
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op_name}: shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op_name}: shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


# ---- views ------------------------------------------------------------------

class View(Op):
    _name, op_name = "ViewBackward0", "view"
    exact_grads = True
    is_view = True

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return P.reshape(g, self.in_shape)


class ReshapeCopy(View):
    """reshape of an input whose strides allow no view: a copy."""
    _name, op_name = "UnsafeViewBackward0", "reshape"
    is_view = False


def view(input, *sizes, size=None):
    shape = infer_shape(sizes_arg(sizes, "view", size, "size"), input.numel(), "view")
    if not input._backend.can_view(input._data, shape):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return View.apply1(input, shape)


def reshape(input, *sizes, shape=None):
    shape = infer_shape(sizes_arg(sizes, "reshape", shape, "shape"), input.numel(), "reshape")
    if input._backend.can_view(input._data, shape):
        return View.apply1(input, shape)
    return ReshapeCopy.apply1(input, shape)


def flatten(input, start_dim=0, end_dim=-1):
    s = wrap_dim(start_dim, input.ndim, "flatten")     # checked on 0-d tensors too
    e = wrap_dim(end_dim, input.ndim, "flatten")
    if input.ndim == 0:
        return reshape(input, 1)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = input.shape
    return reshape(input, shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])


def unflatten(input, dim, sizes):
    d = wrap_dim(dim, input.ndim, "unflatten")
    if input.ndim == 0:
        raise RuntimeError("unflatten: Provided dim is out of range: the input is a 0-d tensor")
    if not isinstance(sizes, (tuple, list)):
        raise TypeError(f"unflatten(): argument 'sizes' must be tuple of ints, not {type(sizes).__name__}")
    sizes = infer_shape(sizes_arg((tuple(sizes),), "unflatten"), input.shape[d], "unflatten")
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1:])


class Squeeze(Op):
    _name, op_name = "SqueezeBackward0", "squeeze"
    exact_grads = True
    is_view = True

    def forward(self, x, axes):
        self.in_shape = x.shape
        return x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))

    def backward(self, g):
        return P.reshape(g, self.in_shape)


class SqueezeDim(Squeeze):
    _name = "SqueezeBackward1"


class SqueezeDims(Squeeze):
    _name = "SqueezeBackward2"


def squeeze(input, dim=None):
    shp = input.shape
    if dim is None:
        return Squeeze.apply1(input, tuple(i for i, n in enumerate(shp) if n == 1))
    if isinstance(dim, (tuple, list)):
        dims = tuple(wrap_dim(d, input.ndim, "squeeze") for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"squeeze: dim {dims[0]} appears multiple times in the list of dims")
        return SqueezeDims.apply1(input, tuple(d for d in dims if input.ndim and shp[d] == 1))
    d = wrap_dim(dim, input.ndim, "squeeze")
    return SqueezeDim.apply1(input, (d,) if input.ndim and shp[d] == 1 else ())


class Unsqueeze(Op):
    _name, op_name = "UnsqueezeBackward0", "unsqueeze"
    exact_grads = True
    is_view = True

    def forward(self, x, dim):
        self.in_shape = x.shape
        return x.reshape(x.shape[:dim] + (1,) + x.shape[dim:])

    def backward(self, g):
        return P.reshape(g, self.in_shape)


def unsqueeze(input, dim):
    return Unsqueeze.apply1(input, wrap_dim(dim, input.ndim + 1, "unsqueeze"))


class Permute(Op):
    _name, op_name = "PermuteBackward0", "permute"
    exact_grads = True
    is_view = True

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, g):
        return P.permute(g, tuple(np.argsort(self.axes)))


class Transpose(Permute):
    _name, op_name = "TransposeBackward0", "transpose"


class T(Permute):
    _name, op_name = "TBackward0", "t"


def permute(input, *sizes, dims=None):
    dims = sizes_arg(sizes, "permute", dims, "dims")
    if len(dims) != input.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match "
                           f"the length of the desired ordering of dimensions i.e. input.dim() = {input.ndim} "
                           f"is not equal to len(dims) = {len(dims)}".replace("(sparse_coo)", ""))
    axes = tuple(wrap_dim(d, input.ndim, "permute") for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"permute(): duplicate dims are not allowed (got {list(dims)})")
    return Permute.apply1(input, axes)


def transpose(input, dim0, dim1):
    n = input.ndim
    a, b = wrap_dim(dim0, n, "transpose"), wrap_dim(dim1, n, "transpose")
    axes = list(range(n))
    if n:
        axes[a], axes[b] = axes[b], axes[a]
    return Transpose.apply1(input, tuple(axes))


swapaxes = swapdims = transpose


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return T.apply1(input, tuple(range(input.ndim))[::-1])


_T_WARNED = set()         # PyTorch warns once per process (TORCH_WARN_ONCE), each case apart


def numpy_T(x):
    n = x.ndim
    if n != 2 and (n == 0) not in _T_WARNED:
        _T_WARNED.add(n == 0)
        warnings.warn("Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases."
                      if n == 0 else
                      "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
                      "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
                      "matrices or `x.permute(*range(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.",
                      UserWarning, stacklevel=2)
    return Permute.apply1(x, tuple(range(n))[::-1])


def mT(x):
    if x.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {x.ndim}-D tensor.")
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return Transpose.apply1(x, axes)


def movedim(input, source, destination):
    n = input.ndim
    if isinstance(source, (list, tuple)) != isinstance(destination, (list, tuple)):
        raise TypeError(f"movedim(): source and destination must both be ints or both be tuples of ints "
                        f"(got {type(source).__name__} and {type(destination).__name__})")
    src = list(source) if isinstance(source, (list, tuple)) else [source]
    dst = list(destination) if isinstance(destination, (list, tuple)) else [destination]
    src = [wrap_dim(s, n, "movedim") for s in src]
    dst = [wrap_dim(d, n, "movedim") for d in dst]
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
                           f"the same number of dims as destination ({dst} dims)")
    for what, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{what}` ({dims})")
    if n == 0:
        return Permute.apply1(input, ())
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply1(input, tuple(order))


class Expand(Op):
    _name, op_name = "ExpandBackward0", "expand"
    is_view = True

    def forward(self, x, shape):
        # Always a view of x (it must see later in-place writes to x). Where no
        # dim is really broadcast it is a plain, writable view, as in PyTorch
        # (whose in-place ops refuse only stride-0 dims of size > 1).
        if math.prod(shape) == x.size:
            return x.reshape(shape)
        if isinstance(x, np.ndarray):
            # not np.broadcast_to, which is read-only: PyTorch lets one write
            # through a view of it that repeats no element (x.expand(3, 1)[0]);
            # check_inplace refuses the writes that would
            lead = len(shape) - x.ndim
            strides = (0,) * lead + tuple(0 if n == 1 else st for n, st in zip(x.shape, x.strides))
            return np.lib.stride_tricks.as_strided(x, shape, strides)
        return np.broadcast_to(x, shape)     # CuPy arrays: NEP 18 dispatch; writable

    def backward(self, g):
        return g                    # the engine sums it back to the input's shape


def expand(input, *sizes, size=None):
    sizes = sizes_arg(sizes, "expand", size, "size")
    shp = input.shape
    if len(sizes) < len(shp):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
                           f"to the number of dimensions in the tensor ({len(shp)})")
    lead = len(sizes) - len(shp)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"expand: the expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            out.append(s)
            continue
        n = shp[i - lead]
        if s == -1:
            s = n
        if n != s and n != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({n}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(shp)}")
        out.append(s)
    return Expand.apply1(input, tuple(out))


def expand_as(input, other):
    return expand(input, other.shape)


class Split(Op):
    """Pieces along a dim (views). split/chunk/unbind all come here."""
    _name, op_name = "SplitWithSizesBackward0", "split"
    is_view = True

    def forward(self, x, sizes, axis):
        self.axis, self.sizes, self.in_shape = axis, sizes, x.shape
        idx = [slice(None)] * x.ndim
        pieces, start = [], 0
        for s in sizes:
            idx[axis] = slice(start, start + s)
            pieces.append(x[tuple(idx)])
            start += s
        return tuple(pieces)

    def backward(self, grads):
        if type(grads) is not tuple and type(grads) is not list:
            grads = (grads,)                 # one piece: the engine passes its gradient alone
        parts = []
        for g, s in zip(grads, self.sizes):
            if g is None:                    # an unused piece contributes zeros
                shape = self.in_shape[:self.axis] + (s,) + self.in_shape[self.axis + 1:]
                like = next(h for h in grads if h is not None)
                g = _zeros_like_shape(like, shape)
            parts.append(g)
        return P.concatenate(parts, self.axis)


class SplitEqual(Split):
    _name = "SplitBackward0"


class Unbind(Split):
    """x's slices along a dim, the dim removed (views): PyTorch's UnbindBackward0, one
    node whose backward stacks the slices' gradients (zeros where none arrived). So
    iterating over a tensor (unbind(0)) costs one stack in backward, not a
    zero-filled copy of the input per row."""
    _name, op_name = "UnbindBackward0", "unbind"

    def forward(self, x, axis):
        self.axis, self.in_shape = axis, x.shape
        before = (slice(None),) * axis
        return tuple(x[before + (i, Ellipsis)] for i in range(x.shape[axis]))     # (Ellipsis: 0-d arrays)

    def backward(self, grads):
        if type(grads) is not tuple and type(grads) is not list:
            grads = (grads,)                 # one slice: the engine passes its gradient alone
        if all(g is not None for g in grads):
            return P.stack(grads, self.axis)
        like = next(g for g in grads if g is not None)
        if isinstance(like, Tensor):
            zeros = _zeros_like_shape(like, like.shape)
            return P.stack([zeros if g is None else g for g in grads], self.axis)
        out = _xp_of(like).zeros(self.in_shape, dtype=like.dtype)
        before = (slice(None),) * self.axis
        for i, g in enumerate(grads):
            if g is not None:
                out[before + (i,)] = g
        return out


def _zeros_like_shape(like, shape):
    if isinstance(like, Tensor):
        from ..creation import zeros
        return zeros(shape, dtype=like.dtype, device=like.device)
    return _xp_of(like).zeros(shape, dtype=like.dtype)


def split(input, split_size_or_sections, dim=0):
    if input.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    axis = wrap_dim(dim, input.ndim, "split")
    n = input.shape[axis]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = tuple(int_arg(s, "split", "split_sizes", "int or tuple of ints")
                      for s in split_size_or_sections)
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                               f"size at dimension {axis}), but got split_sizes={list(sizes)}")
        return Split.apply1(input, sizes, axis)
    size = int_arg(split_size_or_sections, "split", "split_size", "int or tuple of ints")
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
    if size <= 0 and n:
        raise RuntimeError(f"split: split_size must be a positive integer, but got {size}")
    sizes = tuple(min(size, n - s) for s in range(0, n, size)) if n else (0,)
    return SplitEqual.apply1(input, sizes, axis)


def chunk(input, chunks, dim=0):
    chunks = int_arg(chunks, "chunk", "chunks", "int or tuple of ints")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    axis = wrap_dim(dim, input.ndim, "chunk")
    n = input.shape[axis]
    if n == 0:
        return split(input, [0] * chunks, axis)       # PyTorch: `chunks` empty pieces
    return split(input, max(1, -(-n // chunks)), axis)


def unbind(input, dim=0):
    if input.ndim == 0:
        raise IndexError(f"unbind: Dimension specified as {dim} but tensor has no dimensions")
    axis = wrap_dim(dim, input.ndim, "unbind")
    if input.shape[axis] == 0:
        return ()
    return Unbind.apply1(input, axis)


def narrow(input, dim, start, length):
    """input's `length` entries along `dim` from `start` (a view: SliceBackward0)."""
    axis = wrap_dim(dim, input.ndim, "narrow")
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    start, length = int_arg(start, "narrow", "start"), int_arg(length, "narrow", "length")
    size = input.shape[axis]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -size <= start <= size:
        raise IndexError(f"narrow(): start out of range (expected to be in range of [{-size}, {size}], but got "
                         f"{start})")
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return input[(slice(None),) * axis + (slice(start, start + length),)]


def select_position(input, dim, index, op_name="select"):
    """(axis, index) of select(dim, index), checked as PyTorch does; errors name op_name."""
    if input.ndim == 0:
        lead = "" if op_name == "select" else f"{op_name}(): "
        raise IndexError(f"{lead}select() cannot be applied to a 0-dim tensor.")
    axis = wrap_dim(dim, input.ndim, op_name)
    index, size = int_arg(index, op_name, "index"), input.shape[axis]
    if not -size <= index < size:
        raise IndexError(f"{op_name}(): index {index} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {axis}")
    return axis, index


def select(input, dim, index):
    """input at `index` along `dim`, that dim removed (a view: SelectBackward0)."""
    axis, index = select_position(input, dim, index)
    return input[(slice(None),) * axis + (index,)]


class Flip(Op):
    """A copy with the entries of `axes` in reverse order (not a view, as PyTorch's)."""
    _name, op_name = "FlipBackward0", "flip"
    exact_grads = True

    def forward(self, x, axes):
        self.axes = axes
        return P.flip(x, axes)

    def backward(self, g):
        return P.flip(g, self.axes)


def flip(input, *dims):
    """input.flip(0, 1) or input.flip((0, 1))."""
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = tuple(dims[0])
    return _flip(input, dims)


def flip_function(input, dims):
    """ag.flip(input, dims): dims a tuple or list, as PyTorch's function."""
    if not isinstance(dims, (list, tuple)):
        raise TypeError(f"flip(): argument 'dims' (position 2) must be tuple of ints, not {type(dims).__name__}")
    return _flip(input, tuple(dims))


def _flip(input, dims):
    axes = tuple(wrap_dim(d, input.ndim, "flip") for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"flip: dim {next(a for a in axes if axes.count(a) > 1)} appears multiple times in the "
                           "list of dims")
    return Flip.apply1(input, axes if input.ndim else ())


class ConstantPadNd(Op):
    """nn.functional.pad's constant mode: amounts (left, right) per dim from the last, negative ones crop;
    a new tensor even when nothing changes (as PyTorch's). Its gradient is the same pad with the amounts
    negated: the padding cropped off, zeros where the input was cropped."""
    _name, op_name = "ConstantPadNdBackward0", "constant_pad_nd"

    def forward(self, x, amounts, value):
        self.amounts = amounts
        return P.constant_pad(x, amounts, value)

    def backward(self, g):
        return P.constant_pad(g, tuple(-a for a in self.amounts), 0)


class Tril(Op):
    """The lower triangle of the last two dims from diagonal k (a copy; the
    gradient is the same triangle of g)."""
    _name, op_name = "TrilBackward0", "tril"
    exact_grads = True
    triangle = staticmethod(P.tril)

    def forward(self, x, k):
        self.k = k
        return self.triangle(x, k)

    def backward(self, g):
        return self.triangle(g, self.k)


class Triu(Tril):
    _name, op_name = "TriuBackward0", "triu"
    triangle = staticmethod(P.triu)


def tril(input, diagonal=0):
    return _triangle(Tril, input, diagonal)


def triu(input, diagonal=0):
    return _triangle(Triu, input, diagonal)


def _triangle(cls, input, diagonal):
    k = int_arg(diagonal, cls.op_name, "diagonal")
    if input.ndim < 2:
        raise RuntimeError(f"{cls.op_name}: input tensor must have at least 2 dimensions (got shape "
                           f"{list(input.shape)})")
    return cls.apply1(input, k)


# ---- copies -------------------------------------------------------------------

class Repeat(Op):
    _name, op_name = "RepeatBackward0", "repeat"

    def forward(self, x, reps):
        self.in_shape, self.reps = x.shape, reps
        xp = np if isinstance(x, np.ndarray) else _xp_of(x)
        # Allocate the result first and broadcast x into it: a result too big for
        # any machine fails at once (np.tile would build large intermediates first)
        padded = (1,) * (len(reps) - x.ndim) + x.shape
        out = xp.empty(tuple(r * s for r, s in zip(reps, padded)), dtype=x.dtype)
        split = tuple(v for r, s in zip(reps, padded) for v in (r, s))
        out.reshape(split)[...] = x.reshape(tuple(v for s in padded for v in (1, s)))
        return out

    def backward(self, g):
        reps = self.reps
        padded = (1,) * (len(reps) - len(self.in_shape)) + self.in_shape
        split_shape = tuple(v for r, s in zip(reps, padded) for v in (r, s))
        g = P.sum(P.reshape(g, split_shape), tuple(range(0, 2 * len(reps), 2)), False)
        return P.reshape(g, self.in_shape)


def _xp_of(a):
    from ..backend import of_array
    return of_array(a).xp


def repeat(input, *sizes, repeats=None):
    reps = sizes_arg(sizes, "repeat", repeats, "repeats")
    if len(reps) < input.ndim:
        raise RuntimeError(f"repeat: number of repeat dims ({len(reps)}) can not be smaller than number of "
                           f"dimensions of tensor ({input.ndim})")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat: trying to create tensor with negative dimension: {list(reps)}")
    return Repeat.apply1(input, reps)


_COUNTS_ONLY = object()


def repeat_interleave(input, repeats=_COUNTS_ONLY, dim=None, *, output_size=None):
    """Each entry along `dim` (of the flattened input when dim is None) repeated
    `repeats` times, or repeats[i] times for entry i (a 0-d or 1-d integer
    tensor; one count for all broadcasts). With only an integer tensor:
    the indices 0, 1, ... each repeated as often as it says (in its dtype)."""
    if repeats is _COUNTS_ONLY:                     # repeat_interleave(counts)
        counts = _repeat_counts(input, None)
        index = np.repeat(np.arange(counts.size, dtype=input._data.dtype), counts)
        return Tensor._make(input._backend.from_host(index), input._backend)
    if not isinstance(repeats, Tensor):
        repeats = int_arg(repeats, "repeat_interleave", "repeats", "Tensor or int")
        if input.ndim == 0 and dim is not None:     # (PyTorch adds a dim after `dim`, which a 0-d lacks)
            raise IndexError(f"repeat_interleave(): Dimension out of range (expected to be in range of [-1, 0], "
                             f"but got {dim}) for a 0-d input with int repeats")
    x = input.flatten() if dim is None else input
    axis = wrap_dim(0 if dim is None else dim, x.ndim, "repeat_interleave")
    n = x.shape[axis] if x.ndim else 1
    if isinstance(repeats, Tensor):
        counts = _repeat_counts(repeats, n)
        if x.ndim == 0 and int(counts.sum()) != 1:    # (as PyTorch's index_select into a 0-d tensor)
            raise RuntimeError(f"repeat_interleave(): a 0-d input takes one repeat along dim {dim}, got "
                               f"{int(counts.sum())}")
        _check_output_size(output_size, int(counts.sum()))
        if repeats._backend is not x._backend:
            raise device_mismatch("repeat_interleave", x, repeats)
        index = Tensor._make(x._backend.from_host(np.repeat(np.arange(n), counts)), x._backend)
        return x.index_select(axis, index)
    r = int_arg(repeats, "repeat_interleave", "repeats")
    if r < 0:
        raise RuntimeError(f"repeat_interleave(): Repeats must be non-negative, got {r}")
    _check_output_size(output_size, n * r)
    if x.ndim == 0:
        return x.reshape(1).expand(r).clone()
    # as PyTorch composes it: each entry as a new dim of r copies (a copy, never a view of the
    # input, even for r = 1), then merged (ViewBackward0)
    shape = tuple(x.shape)
    wide = x.unsqueeze(axis + 1).expand(shape[:axis + 1] + (r,) + shape[axis + 1:]).clone()
    return wide.view(shape[:axis] + (n * r,) + shape[axis + 1:])


def _repeat_counts(repeats, n):
    """The counts of an integer repeats tensor (0-d or 1-d, none negative), as
    n of them (one broadcasts) unless n is None."""
    d = repeats._data
    if d.dtype.kind not in "iu":
        raise NotImplementedError(f"repeat_interleave(): \"repeat_interleave_cpu\" not implemented for "
                                  f"'{repeats.dtype.libtorch}' (repeats must be an integer tensor)")
    if d.ndim > 1:
        raise RuntimeError(f"repeat_interleave(): repeats must be 0-dim or 1-dim tensor, got {d.ndim}-dim")
    counts = repeats._backend.to_host(d).reshape(-1).astype(np.int64)
    if counts.size and counts.min() < 0:
        raise RuntimeError("repeat_interleave(): repeats can not be negative")
    if n is not None and counts.size not in (1, n):
        raise RuntimeError(f"repeat_interleave(): repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {counts.size} and input.size(dim) = {n}")
    return np.broadcast_to(counts, (n,)) if n is not None else counts


def _check_output_size(output_size, size):
    if output_size is not None and int_arg(output_size, "repeat_interleave", "output_size") != size:
        raise RuntimeError(f"repeat_interleave(): output_size is {output_size}, but the repeats give {size}")


class Cat(Op):
    _name, op_name = "CatBackward0", "cat"

    def forward(self, *arrays_and_axis):
        *arrays, axis = arrays_and_axis
        self.axis = axis
        # legacy PyTorch rule: 1-d empty inputs are skipped (yet stay in the graph)
        self.skipped = skipped = [a.ndim == 1 and a.shape[0] == 0 for a in arrays]
        if all(skipped):
            skipped[:] = [False] * len(arrays)
        self.sizes = [0 if s else a.shape[axis] for a, s in zip(arrays, skipped)]
        return P.concatenate([a for a, s in zip(arrays, skipped) if not s], axis)

    def backward(self, g):
        out, start = [], 0
        idx = [slice(None)] * len(g.shape)
        for s, skip in zip(self.sizes, self.skipped):
            if skip:                 # an empty gradient of shape (0,)
                out.append(P.getitem(P.reshape(g, (-1,)), (slice(0, 0),)))
                continue
            idx[self.axis] = slice(start, start + s)
            out.append(P.getitem(g, tuple(idx)))
            start += s
        return tuple(out)


def _seq_check(tensors, op_name):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op_name}(): argument 'tensors' must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        kind = ValueError if op_name == "cat" else RuntimeError      # (as PyTorch: cat ValueError, stack RuntimeError)
        raise kind(f"{op_name}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op_name}(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
        if t._backend is not tensors[0]._backend:
            raise device_mismatch(op_name, tensors[0], t)


def _promoted(tensors):
    from .._dtype import from_numpy_dtype, promote_pair
    dts = {t._data.dtype for t in tensors}
    if len(dts) == 1:
        return tensors
    r = None
    for t in tensors:
        d = from_numpy_dtype(t._data.dtype)
        r = d if r is None else promote_pair(r, d)
    return [t if t._data.dtype == r.np else t.to(r) for t in tensors]


def _cat_axis(tensors, dim, op_name):
    ref = tensors[0]
    axis = wrap_dim(dim, ref.ndim, op_name)
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim:
            raise RuntimeError(f"{op_name}: Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {t.ndim}")
        for d in range(ref.ndim):
            if d != axis and t.shape[d] != ref.shape[d]:
                raise RuntimeError(f"{op_name}: Sizes of tensors must match except in dimension {axis}. "
                                   f"Expected size {ref.shape[d]} but got size {t.shape[d]} for tensor "
                                   f"number {i} in the list.")
    return axis


def cat(tensors, dim=0):
    _seq_check(tensors, "cat")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated")
    # legacy PyTorch rule: 1-d empty tensors are skipped in the shape checks
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or [tensors[0]]
    axis = _cat_axis(kept, dim, "cat")
    return Cat.applyN(_promoted(list(tensors)), axis)


concat = concatenate = cat


class Stack(Op):
    _name, op_name = "StackBackward0", "stack"

    def forward(self, *arrays_and_axis):
        *arrays, axis = arrays_and_axis
        self.axis, self.n = axis, len(arrays)
        return P.c_order(np.stack(arrays, axis))            # CuPy arrays: NEP 18 dispatch

    def backward(self, g):
        lead = (slice(None),) * self.axis
        return tuple(P.getitem(g, lead + (i,)) for i in range(self.n))


def stack(tensors, dim=0):
    _seq_check(tensors, "stack")
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if t.shape != ref.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ref.shape)} at "
                               f"entry 0 and {list(t.shape)} at entry {i}")
    axis = wrap_dim(dim, ref.ndim + 1, "stack")
    return Stack.applyN(_promoted(tensors), axis)


class Clone(Op):
    _name, op_name = "CloneBackward0", "clone"

    def forward(self, x, order):
        return x.copy(order=order)

    def backward(self, g):
        return g


def clone(input, memory_format=None):
    # PyTorch's preserve_format: a transposed or permuted x gives a copy laid out
    # the same (NumPy's and CuPy's order "K"); an expanded one (a stride 0 repeating an
    # element) a C-contiguous copy, where "K" would keep the broadcast dim's odd place
    d = input._data if isinstance(input, Tensor) else None     # (apply1 names a non-Tensor)
    overlapping = d is not None and any(s == 0 and n > 1 for s, n in zip(d.strides, d.shape))
    return Clone.apply1(input, "C" if overlapping else "K")


def contiguous(input, memory_format=None):
    if input._backend.is_contiguous(input._data):
        return input
    return Clone.apply1(input, "C")


_UINT8 = np.dtype(np.uint8)


class ToDtype(Op):
    _name, op_name = "ToCopyBackward0", "to"

    def forward(self, x, np_dtype):
        if np_dtype is _UINT8 and type(x) is not np.ndarray:
            return _cupy_backend.astype(x, np_dtype)      # (floats through int64, as PyTorch)
        return as_torch_narrows(x, np_dtype).astype(np_dtype)

    def backward(self, g):
        return g                    # the engine casts it back to the input's dtype


class ToDevice(Op):
    _name, op_name = "ToCopyBackward0", "to"
    moves_device = True

    def forward(self, x, src, dst):
        self.src, self.out_backend = src, dst
        return dst.from_host(src.to_host(x))

    def backward(self, g):
        if isinstance(g, Tensor):
            return g.to(self.src.device)
        from ..backend import of_array
        return self.src.from_host(of_array(g).to_host(g))
