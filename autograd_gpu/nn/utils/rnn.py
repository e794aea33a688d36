"""Sequence utilities for recurrent layers (torch.nn.utils.rnn): PackedSequence and padding/packing helpers.

Packing is one gather of the padded input (PyTorch's one node), padding slices, reshapes, cat, stack and
index_select of the packed data, so gradients (of any order) flow through them on either device. batch_sizes, and the lengths given or returned, are int64 CPU
tensors, as in PyTorch: they are read on the host to lay out the computation."""
import math
import numbers
from collections import namedtuple
from collections.abc import Iterable

import numpy as np

from ... import _dtype
from ...creation import arange, as_tensor, full, tensor, zeros_like
from ...ops.rearrange import broadcast_shapes, broadcast_to
from ...ops.shape import cat, stack
from ...ops.sorting import sort
from ...ops.tied import as_one_node
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]

_PackedFields = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_PackedFields):
    """A batch of variable-length sequences stored time step by time step: `data` holds the rows of step 0
    of every sequence, then those of step 1 of the sequences still running, ...; `batch_sizes[t]` is how
    many rows step t has. The batch is sorted by decreasing length; `sorted_indices` (None when the input
    already was) maps sorted position to original batch position and `unsorted_indices` back.

    Make one with pack_padded_sequence or pack_sequence; a tuple of its four fields, as in PyTorch."""
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:             # PackedSequence((data, batch_sizes), sorted_indices=...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("PackedSequence: expected data to be a list or tuple of length 2 "
                                     "(data, batch_sizes) when batch_sizes is not given")
            data, batch_sizes = data
        if batch_sizes.device.type != "cpu":
            raise ValueError("PackedSequence: batch_sizes should always be on CPU (got it on "
                             f"{batch_sizes.device}). Instances of PackedSequence should never be created manually. "
                             "They should be instantiated by functions like pack_sequence and pack_padded_sequence "
                             "in nn.utils.rnn.")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        """self if the conversion left data as it was, else a copy with the indices on data's device
        (batch_sizes stays on the CPU)."""
        if data is self.data:
            return self
        move = lambda t: None if t is None else t.to(data.device)  # noqa: E731
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def to(self, *args, **kwargs):
        """Tensor.to on data (dtype and/or device); the index tensors follow data's device."""
        return self._with_data(self.data.to(*args, **kwargs))

    def cuda(self, *args, **kwargs):
        return self._with_data(self.data.cuda(*args, **kwargs))

    def cpu(self, *args, **kwargs):
        return self._with_data(self.data.cpu(*args, **kwargs))

    def double(self):
        return self.to(dtype=_dtype.float64)

    def float(self):
        return self.to(dtype=_dtype.float32)

    def half(self):
        return self.to(dtype=_dtype.float16)

    def long(self):
        return self.to(dtype=_dtype.int64)

    def int(self):
        return self.to(dtype=_dtype.int32)

    def short(self):
        return self.to(dtype=_dtype.int16)

    def char(self):
        return self.to(dtype=_dtype.int8)

    def byte(self):
        return self.to(dtype=_dtype.uint8)

    @property
    def is_cuda(self):
        """Whether data is on a GPU."""
        return self.data.is_cuda


def invert_permutation(permutation):
    """The inverse of a 1-d permutation tensor (None for None): out[permutation[i]] = i."""
    if permutation is None:
        return None
    positions = arange(permutation.numel(), device=permutation.device)
    return zeros_like(permutation).scatter(0, permutation, positions)


# ---- argument checks --------------------------------------------------------------------

def _tensor_arg(who, name, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{who}: {name} must be a Tensor, got {type(t).__name__}")


def _int64_cpu_vector(who, name, t):
    """PyTorch's check on `lengths` and `batch_sizes`: the host reads them."""
    if t.dim() != 1 or t.device.type != "cpu" or t.dtype != _dtype.int64:
        raise RuntimeError(f"{who}: '{name}' argument should be a 1D CPU int64 tensor, but got {t.dim()}D "
                           f"{t.device} {t.dtype} tensor")


def _lengths_arg(who, lengths):
    """lengths (a list or a tensor, truncated to int64 as PyTorch does) as a checked int64 CPU tensor."""
    if isinstance(lengths, Tensor):
        lengths = lengths.to(dtype=_dtype.int64)
    else:
        try:
            lengths = as_tensor(lengths, dtype=_dtype.int64, device="cpu")
        except (TypeError, ValueError) as e:
            raise TypeError(f"{who}: lengths must be a list of ints or a 1D CPU int64 tensor ({e})") from None
    _int64_cpu_vector(who, "lengths", lengths)
    return lengths


def _padding_value_arg(who, padding_value):
    if not isinstance(padding_value, numbers.Real):
        raise TypeError(f"{who}: padding_value must be a real number, not {type(padding_value).__name__}")


def _check_packable(who, input, lengths, batch_first):
    """Every check of pack_padded_sequence, before anything is computed."""
    _tensor_arg(who, "input", input)
    if input.dim() < 2:
        raise IndexError(f"{who}: Dimension out of range (expected to be in range of [-1, 0], but got 1): "
                         f"input of shape {list(input.shape)} has no batch dimension")
    if input.numel() == 0:
        raise RuntimeError(f"{who}: Cannot pack empty tensors (input of shape {list(input.shape)}).")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if len(lengths) != batch:
        raise RuntimeError(f"{who}: Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
                           f"(batch_size={batch})")
    if min(lengths) <= 0:
        raise RuntimeError(f"{who}: Length of all samples has to be greater than 0, but found an element in "
                           f"'lengths' that is <= 0 (lengths {lengths})")
    if max(lengths) > steps:
        raise RuntimeError(f"{who}: a length ({max(lengths)}) is larger than the {steps} time steps of the input "
                           f"(shape {list(input.shape)}, batch_first={batch_first})")


# ---- packing and unpacking ---------------------------------------------------------------

def _pack(input, lengths, batch_first):
    """(data, batch_sizes) from a padded input whose sequences are sorted by decreasing length: the rows
    (t, b) of the steps t < lengths[b], step by step. One gather, recorded as PyTorch's one node
    (PackPaddedSequenceBackward0), whose backward puts each row's gradient back in one pass (a slice per
    distinct length cost a zero-filled copy of the input each)."""
    x = input.transpose(0, 1) if batch_first else input
    running = np.asarray(lengths)[None, :] > np.arange(lengths[0])[:, None]         # (T, B): step t of b
    steps, rows = np.nonzero(running)                                                # (row-major: packed order)
    where = lambda i: tensor(i, dtype=_dtype.int64, device=x.device)  # noqa: E731
    data = as_one_node(x[where(steps), where(rows)], "PackPaddedSequenceBackward0", "_pack_padded_sequence")
    return data, tensor(running.sum(1).tolist(), dtype=_dtype.int64)


def _pack_padded(who, input, lengths, batch_first, enforce_sorted):
    lengths = _lengths_arg(who, lengths)
    host = lengths.tolist()
    _check_packable(who, input, host, batch_first)
    sorted_indices = None
    if enforce_sorted:
        if any(a < b for a, b in zip(host, host[1:])):
            raise RuntimeError(f"{who}: `lengths` array must be sorted in decreasing order when `enforce_sorted` "
                               f"is True (got {host}). You can pass `enforce_sorted=False` to pack_padded_sequence "
                               "and/or pack_sequence to sidestep this requirement if you do not need ONNX "
                               "exportability.")
    else:
        # stable: tied lengths keep their batch order, as PyTorch's CPU sort does
        lengths, sorted_indices = sort(lengths, descending=True, stable=True)
        host = lengths.tolist()
        sorted_indices = sorted_indices.to(input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    data, batch_sizes = _pack(input, host, batch_first)
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences of the given lengths
    (a list, or a 1-d int64 CPU tensor). With enforce_sorted the lengths must be decreasing; otherwise the
    batch is sorted first (stably) and the PackedSequence records the permutation."""
    return _pack_padded("pack_padded_sequence", input, lengths, batch_first, enforce_sorted)


def _runs(sizes):
    """(batch size, number of consecutive steps with it), in order."""
    runs = []
    for s in sizes:
        if runs and runs[-1][0] == s:
            runs[-1][1] += 1
        else:
            runs.append([s, 1])
    return runs


def _pad_packed(who, sequence, batch_first, padding_value, total_length):
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{who}: expected a PackedSequence, got {type(sequence).__name__}")
    _padding_value_arg(who, padding_value)
    data, batch_sizes = sequence.data, sequence.batch_sizes
    steps = batch_sizes.shape[0] if batch_sizes.dim() else 0
    if total_length is not None and total_length < steps:
        raise ValueError(f"{who}: Expected total_length to be at least the length of the longest sequence in "
                         f"input, but got total_length={total_length} and max sequence length being {steps}")
    _int64_cpu_vector(who, "batch_sizes", batch_sizes)
    sizes = batch_sizes.tolist()
    if not sizes or data.dim() == 0 or data.shape[0] != sum(sizes):
        raise RuntimeError(f"{who}: data of shape {list(data.shape)} does not hold the {sum(sizes)} rows that "
                           f"batch_sizes {sizes} describe")
    batch, trailing = sizes[0], tuple(data.shape[1:])
    pad = lambda *shape: full(shape, padding_value, dtype=data.dtype, device=data.device)  # noqa: E731
    blocks, start = [], 0
    for size, count in _runs(sizes):
        block = data[start:start + size * count].reshape(count, size, *trailing)
        blocks.append(block if size == batch else cat([block, pad(count, batch - size, *trailing)], 1))
        start += size * count
    if total_length is not None and total_length > steps:
        blocks.append(pad(total_length - steps, batch, *trailing))
    padded = blocks[0] if len(blocks) == 1 else cat(blocks)
    lengths = [sum(1 for s in sizes if s > b) for b in range(batch)]
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = [lengths[i] for i in sequence.unsorted_indices.tolist()]
    return padded, tensor(lengths, dtype=_dtype.int64)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths), in the original batch
    order; T is the longest length, or total_length when given (at least that)."""
    return _pad_packed("pad_packed_sequence", sequence, batch_first, padding_value, total_length)


def _check_sequences(who, sequences):
    if not isinstance(sequences, Iterable):
        raise RuntimeError(f"{who}: Expected iterable for input sequences, but got arg of type: {type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError(f"{who}: received an empty list of sequences")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"{who}: expected Tensor as element {i} in argument 0, but got {type(s).__name__}")
        if s.dim() == 0:        # PyTorch: RuntimeError when the first is 0-d (its trailing dims), else IndexError
            kind = RuntimeError if i == 0 else IndexError
            raise kind(f"{who}: sequence {i} is 0-d: every sequence needs a length dimension")
        if s.device != sequences[0].device:
            raise RuntimeError(f"{who}: sequence {i} is on {s.device} but sequence 0 is on {sequences[0].device}")
    return sequences


def _row(who, i, s, trailing, dtype):
    """Sequence i as (length, *trailing) of the first sequence's dtype: broadcast, as PyTorch's copy_."""
    shape = (s.shape[0],) + trailing
    if tuple(s.shape) != shape:
        try:
            fits = broadcast_shapes(tuple(s.shape), shape) == shape
        except RuntimeError:
            fits = False
        if not fits:
            raise RuntimeError(f"{who}: sequence {i} of shape {list(s.shape)} does not fit a padded row of shape "
                               f"{list(shape)} (trailing dimensions are those of sequence 0)")
        s = broadcast_to(s, shape)
    return s if s.dtype == dtype else s.to(dtype)


def _pad(who, sequences, batch_first, padding_value, padding_side):
    sequences = _check_sequences(who, sequences)
    _padding_value_arg(who, padding_value)
    if not isinstance(padding_side, str):
        raise TypeError(f"{who}: padding_side must be str, not {type(padding_side).__name__}")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"{who}: Expected padding_side to be one of left or right, but got {padding_side}.")
    first = sequences[0]
    trailing, longest = tuple(first.shape[1:]), max(s.shape[0] for s in sequences)
    rows = []
    for i, s in enumerate(sequences):
        s = _row(who, i, s, trailing, first.dtype)
        if s.shape[0] < longest:
            pad = full((longest - s.shape[0],) + trailing, padding_value, dtype=first.dtype, device=first.device)
            s = cat([s, pad] if padding_side == "right" else [pad, s])
        rows.append(s)
    return stack(rows, 0 if batch_first else 1)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into (T, B, *) (or (B, T, *)), T the longest L_i, padding each on
    padding_side ("right" or "left") with padding_value. Trailing dims and dtype are the first sequence's."""
    return _pad("pad_sequence", sequences, batch_first, padding_value, padding_side)


def _unpad(who, padded_sequences, lengths, batch_first):
    _tensor_arg(who, "padded_sequences", padded_sequences)
    if padded_sequences.dim() < 2:
        raise IndexError(f"{who}: Dimension out of range (expected to be in range of [-1, 0], but got 1): "
                         f"padded_sequences of shape {list(padded_sequences.shape)}")
    host = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    if len(host) != x.shape[0]:
        raise ValueError(f"{who}: {len(host)} lengths for a batch of {x.shape[0]} sequences")
    steps = x.shape[1]
    # PyTorch keeps the steps i < length: ceil for a fractional length, clamped to [0, steps]
    return [x[b, :min(max(math.ceil(n), 0), steps)] for b, n in enumerate(host)]


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences of a padded batch, each cut to its length (a tensor or a list of lengths).
    Unlike PyTorch's, it does not transpose padded_sequences in place."""
    return _unpad("unpad_sequence", padded_sequences, lengths, batch_first)


def pack_sequence(sequences, enforce_sorted=True):
    """pack_padded_sequence(pad_sequence(sequences), their lengths)."""
    who = "pack_sequence"
    sequences = _check_sequences(who, sequences)
    padded = _pad(who, sequences, False, 0.0, "right")
    return _pack_padded(who, padded, [s.shape[0] for s in sequences], False, enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences of a PackedSequence, in their original order."""
    who = "unpack_sequence"
    padded, lengths = _pad_packed(who, packed_sequences, True, 0.0, None)
    return _unpad(who, padded, lengths, True)
