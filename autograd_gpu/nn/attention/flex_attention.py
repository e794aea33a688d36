"""flex_attention and block masks (torch.nn.attention.flex_attention), in torch's eager semantics.

flex_attention computes softmax(score_mod(q @ k^T * scale) where mask_mod, else -inf) @ v over
the whole score matrix, as torch's eager reference does (the block sparsity of a BlockMask is
not used for the computation: its mask_mod is applied elementwise). score_mod and mask_mod are
called once, on the (B, H, L, S) scores with index tensors b, h, q_idx, kv_idx shaped to
broadcast over them, where torch vmaps them over scalars: a mod written with tensor ops and
indexing (bias[q_idx - kv_idx], slopes[h], doc_ids[b, q_idx]) gives the same values either way,
and gradients reach the tensors the mods capture."""
import functools
import inspect
import itertools
import math
import operator
import warnings
from typing import NamedTuple, TypedDict

from ... import _dtype
from ...creation import arange, ones, zeros
from ...ops.pointwise import where
from ...tensor import Tensor
from ..._warn import warn_at_caller
from .bias import check_same_device_and_2d

__all__ = ["BlockMask", "flex_attention", "AuxOutput", "AuxRequest", "FlexKernelOptions", "create_block_mask",
           "create_mask", "or_masks", "and_masks", "noop_mask"]

_DEFAULT_SPARSE_BLOCK_SIZE = 128
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30
_BACKENDS = ("AUTO", "TRITON", "FLASH", "TRITON_DECODE")
_NEG_INF = float("-inf")
_WARNINGS_SHOWN = set()


def _warn_once(warning_id, message, category=UserWarning):
    if warning_id not in _WARNINGS_SHOWN:
        warn_at_caller(message, category)
        _WARNINGS_SHOWN.add(warning_id)


class FlexKernelOptions(TypedDict, total=False):
    """Options of torch's fused kernels; accepted and validated as torch's, otherwise unused here."""
    BACKEND: str
    FORCE_USE_FLEX_ATTENTION: bool
    PRESCALE_QK: bool
    ROWS_GUARANTEED_SAFE: bool
    BLOCKS_ARE_CONTIGUOUS: bool
    WRITE_DQ: bool
    num_warps: int
    num_stages: int
    BLOCK_M: int
    BLOCK_N: int


class AuxRequest(NamedTuple):
    """Which auxiliary outputs flex_attention returns (return_aux=)."""
    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """The auxiliary outputs of flex_attention; None where not requested."""
    lse: Tensor = None
    max_scores: Tensor = None


# ---- mask_mods ---------------------------------------------------------------------------

def noop_mask(batch, head, token_q, token_kv):
    """A mask_mod that masks nothing."""
    return ones((), dtype=_dtype.bool_, device=batch.device)


def _sliced_mask_mod_error(batch, head, token_q, token_kv):
    raise RuntimeError("Cannot use mask_mod from a sliced BlockMask. When you slice a BlockMask using [], the "
                       "mask_mod attribute is reset. You must set it from the original BlockMask's mask_mod.")


def _check_callables(mask_mods):
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")


def or_masks(*mask_mods):
    """A mask_mod that attends where any of mask_mods does."""
    _check_callables(mask_mods)

    def or_mask(b, h, q_idx, kv_idx):
        result = zeros((), dtype=_dtype.bool_, device=b.device)
        for mask in mask_mods:
            result = result | mask(b, h, q_idx, kv_idx)
        return result

    return or_mask


def and_masks(*mask_mods):
    """A mask_mod that attends where all of mask_mods do."""
    _check_callables(mask_mods)

    def and_mask(b, h, q_idx, kv_idx):
        result = ones((), dtype=_dtype.bool_, device=b.device)
        for mask in mask_mods:
            result = result & mask(b, h, q_idx, kv_idx)
        return result

    return and_mask


def _positional_count(fn):
    """Positional parameters without defaults, counted as torch counts them."""
    if hasattr(fn, "__code__"):
        return fn.__code__.co_argcount - len(getattr(fn, "__defaults__", None) or ())
    return sum(1 for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty)


def _is_score_mod(fn):
    """True for a score_mod (5 positional args), False for a mask_mod (4)."""
    n = _positional_count(fn)
    if n not in (4, 5):
        raise AssertionError(f"Expected 4 or 5 positional args, got {n}")
    return n == 5


def _index_grids(shape, device):
    """b, h, q_idx, kv_idx: int64 aranges shaped to broadcast over (B, H, L, S)."""
    grids = []
    for dim, n in enumerate(shape):
        view = [1, 1, 1, 1]
        view[dim] = n
        grids.append(arange(n, device=device).view(*view))
    return grids


def _default_device(device):
    if device is not None:
        return device
    from ... import cuda
    return "cuda" if cuda.is_available() else "cpu"


def create_mask(mod_fn, B, H, Q_LEN, KV_LEN, device=None):
    """The bool mask (B, H, Q_LEN, KV_LEN) of a mask_mod, or of a score_mod (False where it gives -inf)."""
    device = _default_device(device)
    shape = (1 if B is None else B, 1 if H is None else H, Q_LEN, KV_LEN)
    grids = _index_grids(shape, device)
    if _is_score_mod(mod_fn):
        out = mod_fn(zeros(shape, device=device), *grids)
        return out.isneginf().logical_not().expand(*shape)
    return mod_fn(*grids).expand(*shape)


# ---- block layout ------------------------------------------------------------------------

def _dense_to_ordered(dense):
    """(number of blocks per row, column indices: the present blocks first, in order), int32."""
    dense = dense.to(_dtype.int32)
    num = dense.sum(-1).to(_dtype.int32)
    return num, dense.argsort(dim=-1, descending=True, stable=True).to(_dtype.int32)


def _ordered_to_dense(num_blocks, indices, num_cols):
    """The int32 (..., rows, num_cols) 0/1 block matrix of (num_blocks, indices)."""
    device = indices.device
    used = arange(indices.shape[-1], device=device) < num_blocks.unsqueeze(-1)
    hits = (indices.unsqueeze(-1) == arange(num_cols, device=device)) & used.unsqueeze(-1)
    return hits.any(-2).to(_dtype.int32)


def _transpose_ordered(num_blocks, indices):
    dense = _ordered_to_dense(num_blocks, indices, indices.shape[-1])
    return _dense_to_ordered(dense.transpose(-2, -1))


def _adjust_num_blocks_and_indices(num_blocks, indices, new_num_rows, new_num_cols):
    indices = indices[:, :, :new_num_rows, :new_num_cols]
    num_blocks = num_blocks[:, :, :new_num_rows].clamp(max=new_num_cols)
    num_blocks = (indices < num_blocks.unsqueeze(-1)).sum(-1).to(_dtype.int32)
    return num_blocks, indices


def _convert_mask_to_block_mask(mask, q_block, kv_block, separate_full_blocks):
    """(partial, full or None) 0/1 block matrices of a bool (B, H, L, S) mask, padded with False."""
    if mask.dtype is not _dtype.bool_:
        raise AssertionError(f"mask.dtype must be torch.bool, got {mask.dtype}")
    b, h, q_len, kv_len = mask.shape
    rows, cols = -(-q_len // q_block), -(-kv_len // kv_block)
    padded = zeros(b, h, rows * q_block, cols * kv_block, dtype=_dtype.int32, device=mask.device)
    padded[:, :, :q_len, :kv_len] = mask.to(_dtype.int32)
    counts = padded.view(b, h, rows, q_block, cols, kv_block).permute(0, 1, 2, 4, 3, 5).sum((-2, -1))
    if not separate_full_blocks:
        return counts > 0, None
    full = q_block * kv_block
    return (counts > 0) & (counts < full), counts == full


class BlockMask:
    """A block-sparse attention mask: for each (batch, head) and row of Q_BLOCK_SIZE queries, the
    KV_BLOCK_SIZE blocks of keys computed (kv_num_blocks, kv_indices: partial blocks, where
    mask_mod applies; full_kv_num_blocks, full_kv_indices: blocks attended everywhere), their
    transposes (q_*), BLOCK_SIZE, seq_lengths and the mask_mod."""

    _TENSOR_ATTRS = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices", "q_num_blocks",
                     "q_indices", "full_q_num_blocks", "full_q_indices"]

    def __init__(self, seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices, q_num_blocks,
                 q_indices, full_q_num_blocks, full_q_indices,
                 BLOCK_SIZE=(_DEFAULT_SPARSE_BLOCK_SIZE, _DEFAULT_SPARSE_BLOCK_SIZE), mask_mod=noop_mask):
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        if (full_q_num_blocks is None) != (full_q_indices is None):
            raise AssertionError("full_q_num_blocks and full_q_indices must be both provided or omitted")
        self.seq_lengths = tuple(seq_lengths)
        self.kv_num_blocks, self.kv_indices = kv_num_blocks, kv_indices
        self.full_kv_num_blocks, self.full_kv_indices = full_kv_num_blocks, full_kv_indices
        self.q_num_blocks, self.q_indices = q_num_blocks, q_indices
        self.full_q_num_blocks, self.full_q_indices = full_q_num_blocks, full_q_indices
        self.BLOCK_SIZE = tuple(BLOCK_SIZE)
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(cls, kv_num_blocks, kv_indices, full_kv_num_blocks=None, full_kv_indices=None,
                       BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE, mask_mod=None, seq_lengths=None,
                       compute_q_blocks=True):
        """A BlockMask from its kv blocks; the q blocks are derived (their transpose)."""
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        q_blocks = full_q_blocks = (None, None)
        if compute_q_blocks:
            q_blocks = _transpose_ordered(kv_num_blocks, kv_indices)
            if full_kv_num_blocks is not None:
                full_q_blocks = _transpose_ordered(full_kv_num_blocks, full_kv_indices)
        if isinstance(BLOCK_SIZE, int):
            BLOCK_SIZE = (BLOCK_SIZE, BLOCK_SIZE)
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * BLOCK_SIZE[0], kv_indices.shape[-1] * BLOCK_SIZE[1])
        return cls(seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices, *q_blocks,
                   *full_q_blocks, BLOCK_SIZE=BLOCK_SIZE, mask_mod=noop_mask if mask_mod is None else mask_mod)

    def as_tuple(self, flatten=True):
        """The attributes as a tuple (seq_lengths and BLOCK_SIZE flattened unless flatten=False)."""
        lengths = self.seq_lengths if flatten else (self.seq_lengths,)
        block = self.BLOCK_SIZE if flatten else (self.BLOCK_SIZE,)
        return (*lengths, *(getattr(self, a) for a in self._TENSOR_ATTRS), *block, self.mask_mod)

    @property
    def shape(self):
        return tuple(self.kv_indices.shape[:-2]) + self.seq_lengths

    def numel(self):
        """Elements of the mask (sparsity not accounted for)."""
        return functools.reduce(operator.mul, self.shape, 1)

    def sparsity(self):
        """Percentage of the blocks not computed."""
        blocks = self.kv_num_blocks.sum().item()
        if self.full_kv_num_blocks is not None:
            blocks += self.full_kv_num_blocks.sum().item()
        return 100 * (1 - blocks * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1] / self.numel())

    def to_dense(self):
        """The int32 0/1 block matrix (..., rows, cols): 1 where a block is computed."""
        dense = _ordered_to_dense(self.kv_num_blocks, self.kv_indices, self.kv_indices.shape[-1])
        if self.full_kv_num_blocks is not None:
            dense = dense | _ordered_to_dense(self.full_kv_num_blocks, self.full_kv_indices,
                                              self.full_kv_indices.shape[-1])
        return dense

    def __getitem__(self, index):
        """The BlockMask of some batches / heads / query block rows (ints keep their dim)."""
        index = index if isinstance(index, tuple) else (index,)
        padded = (*index, slice(None), slice(None), slice(None))[:3]
        sizes = self.kv_num_blocks.shape[:3]
        index = tuple((slice(i + n, i + n + 1) if -n <= i < 0 else slice(i, i + 1)) if isinstance(i, int) else i
                      for i, n in zip(padded, sizes))
        full = (None, None) if self.full_kv_num_blocks is None else (self.full_kv_num_blocks[index],
                                                                       self.full_kv_indices[index])
        return BlockMask.from_kv_blocks(self.kv_num_blocks[index], self.kv_indices[index], *full,
                                        BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=_sliced_mask_mod_error,
                                        seq_lengths=self.seq_lengths, compute_q_blocks=self.q_indices is not None)

    def _adjust(self, new_q_len, new_kv_len):
        """This mask cropped (upper left) to new lengths."""
        rows = -(-new_q_len // self.BLOCK_SIZE[0])
        cols = -(-new_kv_len // self.BLOCK_SIZE[1])
        kv = _adjust_num_blocks_and_indices(self.kv_num_blocks, self.kv_indices, rows, cols)
        full = (None, None) if self.full_kv_num_blocks is None else _adjust_num_blocks_and_indices(
            self.full_kv_num_blocks, self.full_kv_indices, rows, cols)
        return self.from_kv_blocks(*kv, *full, BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod,
                                   seq_lengths=(new_q_len, new_kv_len), compute_q_blocks=self.q_indices is not None)

    def to(self, device):
        """A new BlockMask with the tensors on device."""
        moved = {a: (None if getattr(self, a) is None else getattr(self, a).to(device)) for a in self._TENSOR_ATTRS}
        return BlockMask(self.seq_lengths, **moved, BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod)

    def to_string(self, grid_size=(20, 20), limit=4):
        """A picture of the blocks of each (batch, head): full, partly and not computed."""
        dense = self.to_dense().cpu().numpy()
        *batch_dims, num_rows, num_cols = dense.shape
        if isinstance(grid_size, int):
            max_rows = max_cols = grid_size
        elif grid_size == -1:
            max_rows, max_cols = num_rows, num_cols
        else:
            max_rows, max_cols = grid_size
        row_step = max(1, -(-num_rows // max_rows))
        col_step = max(1, -(-num_cols // max_cols))
        pictures = []
        for n, batch_idx in enumerate(itertools.product(*[range(i) for i in batch_dims])):
            if n == limit:
                pictures += ["...", "To print out more, set BlockMask.to_string(limit=N)",
                             "You can also index (BlockMask[batch, head]) to choose a specific batch or head"]
                break
            pictures.append(_block_picture(dense[batch_idx], batch_idx, row_step, col_step))
        return "\n".join(pictures)

    def __str__(self):
        return (f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n" + self.to_string().strip()
                + "\n)")

    def __repr__(self):
        def shape_or_none(x):
            return None if x is None else tuple(x.shape)

        fields = [f"    {a}={shape_or_none(getattr(self, a))}," for a in self._TENSOR_ATTRS]
        name = getattr(self.mask_mod, "__name__", self.mask_mod)
        return "\n".join(["BlockMask("] + fields + [f"    BLOCK_SIZE={self.BLOCK_SIZE},", f"    shape={self.shape},",
                                                     f"    sparsity={self.sparsity():.2f}%,", f"    mask_mod={name}",
                                                     ")"])


def _block_picture(plane, batch_idx, row_step, col_step):
    lines = [f"{batch_idx}"]
    for r in range(0, plane.shape[0], row_step):
        row = ""
        for c in range(0, plane.shape[1], col_step):
            share = plane[r:r + row_step, c:c + col_step].mean()
            row += ("█" if share == 1 else " " if share == 0 else "░") * 2
        lines.append(row)
    return "\n".join(lines) + "\n"


def create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN, device=None, BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE,
                      _compile=False, separate_full_blocks=True, compute_dq_write_order=False, dq_kv_order=True):
    """The BlockMask of mask_mod over (B, H, Q_LEN, KV_LEN) (B or H None: 1, broadcast), in blocks of
    BLOCK_SIZE (an int, or (Q_BLOCK_SIZE, KV_BLOCK_SIZE)). device: cuda when available, else cpu."""
    device = _default_device(device)
    if _is_score_mod(mask_mod):
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    q_block, kv_block = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else BLOCK_SIZE
    if _compile:
        warnings.warn("_compile flag on create_block_mask was originally added to work around a torch.compile "
                      "limitation. That limitation has since been addressed. So, to compile create_block_mask, we "
                      "suggest doing torch.compile(create_block_mask). This still works for now, but will be removed "
                      "in the future.", DeprecationWarning, stacklevel=2)
    if not isinstance(dq_kv_order, bool):
        raise ValueError("dq_kv_order must be a bool when using create_block_mask")
    if compute_dq_write_order:
        raise NotImplementedError("create_block_mask: compute_dq_write_order (metadata of torch's deterministic "
                                  "FLASH backward) is not computed by autograd_gpu")
    mask = create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device)
    partial, full = _convert_mask_to_block_mask(mask, q_block, kv_block, separate_full_blocks)
    full_blocks = (None, None) if full is None else _dense_to_ordered(full)
    return BlockMask.from_kv_blocks(*_dense_to_ordered(partial), *full_blocks, BLOCK_SIZE=(q_block, kv_block),
                                    mask_mod=mask_mod, seq_lengths=(Q_LEN, KV_LEN))


# ---- flex_attention ----------------------------------------------------------------------

def _check_tensors(query, key, value):
    for name, x in (("query", query), ("key", key), ("value", value)):
        if not isinstance(x, Tensor):
            raise TypeError(f"flex_attention(): argument '{name}' must be Tensor, not {type(x).__name__}")
    check_same_device_and_2d(query, key, value)
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"Expect query and key/value to have the same embedding dimension but got "
                         f"E={query.shape[-1]} and E={key.shape[-1]}.")
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")


def _check_heads_and_batch(query, key, block_mask, enable_gqa):
    hq, hkv = query.shape[1], key.shape[1]
    if not enable_gqa and hq != hkv:
        raise ValueError(f"Expect query and key/value to have the same number of heads but got Hq={hq} and "
                         f"Hkv={hkv}. Try setting enable_gqa=True for GQA.")
    if enable_gqa and (hkv == 0 or hq % hkv):
        raise ValueError(f"Expect number of query heads to be a multiple of kv heads for GQA but got Hq={hq} and "
                         f"Hkv={hkv}.")
    bq, bkv = query.shape[0], key.shape[0]
    if bq != bkv:
        if block_mask is None:
            raise ValueError(f"Expect query and key/value to have the same batch size, or non-none block_mask, but "
                             f"got block_mask=None, Bq={bq}, and Bkv={bkv}.")
        if block_mask.kv_num_blocks.shape[0] != bq:
            raise ValueError(f"Expect query and key/value to have the same batch size, or block_mask and query to "
                             f"have the same batch size, but got Bq={bq}, Bkv={bkv}, "
                             f"B_block_mask={block_mask.kv_num_blocks.shape[0]}.")


def _check_block_mask(block_mask, query, key):
    if block_mask.mask_mod is _sliced_mask_mod_error:
        raise RuntimeError("Cannot use mask_mod from a sliced BlockMask")
    if block_mask.BLOCK_SIZE == (_LARGE_SPARSE_BLOCK_SIZE, _LARGE_SPARSE_BLOCK_SIZE):
        return
    mq, mkv = block_mask.shape[-2:]
    lq, lkv = query.shape[-2], key.shape[-2]
    if lq > mq or lkv > mkv:
        raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got q_len={lq} and "
                         f"kv_len={lkv}. As the block mask was created for a smaller length than you're using it for, "
                         "you likely need to create a new block mask.")
    if lq != mq or lkv != mkv:
        raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got q_len={lq} and "
                         f"kv_len={lkv}. As the block mask was created for a larger length than you're using it for, "
                         "you can either 1. create a new block mask with the correct length, or 2. 'adjust' the "
                         "existing block mask to the correct length by calling block_mask._adjust(q_len, kv_len). "
                         "This essentially 'crops' the block mask to the upper left corner, which does not work for "
                         "all mask_mods!")


def _check_options(kernel_options, return_lse, return_aux):
    """What torch checks of return_lse, return_aux and kernel_options; whether max scores are wanted."""
    if return_lse and return_aux is not None:
        raise ValueError("Cannot specify both return_lse and return_aux. return_lse is deprecated, please use "
                         "return_aux=AuxRequest(lse=True) instead.")
    options = {} if kernel_options is None else dict(kernel_options)
    if "BACKEND" in options and options.get("FORCE_USE_FLEX_ATTENTION", False):
        raise RuntimeError("BACKEND cannot be combined with legacy FORCE_USE_FLEX_ATTENTION. BACKEND supersedes the "
                           "legacy knob; please drop FORCE_USE_FLEX_ATTENTION and only specify the desired BACKEND.")
    if "BACKEND" in options and options["BACKEND"] not in _BACKENDS:
        raise ValueError(f"Invalid BACKEND value '{options['BACKEND']}'. Must be one of {_BACKENDS}")
    if "OUTPUT_LOGSUMEXP" in options:
        raise AssertionError("OUTPUT_LOGSUMEXP must not be in kernel_options")
    if "OUTPUT_MAX" in options:
        raise AssertionError("OUTPUT_MAX must not be in kernel_options")
    want_max = return_aux is not None and return_aux.max_scores
    if options.get("BACKEND") == "FLASH" and want_max:
        raise NotImplementedError("Returning max scores is not supported with BACKEND='FLASH'. Use "
                                  "return_aux=AuxRequest(lse=True) or omit max_scores.")
    if return_lse:
        _warn_once("deprecated_return_lse", "return_lse is deprecated and will be removed in v2.10. Please use "
                   "return_aux=AuxRequest(lse=True) instead.", FutureWarning)


def _scores(query, key, value, score_mod, mask_mod, scale):
    """The masked, modified scores (B, Hq, L, S) in the working precision, and key/value
    broadcast to query's heads and batch."""
    groups = query.shape[1] // key.shape[1]        # (no heads: ZeroDivisionError, as torch's)
    if key.shape[2] == 0:       # (torch's eager maximum over no keys)
        raise IndexError("max(): Expected reduction dim 3 to have non-zero size.")
    if groups > 1:
        key, value = key.repeat_interleave(groups, dim=1), value.repeat_interleave(groups, dim=1)
    bq, bkv = query.shape[0], key.shape[0]
    if bq != bkv:
        if bkv != 1:
            raise RuntimeError(f"Bq and Bkv must broadcast. Got Bq={bq} and Bkv={bkv}")
        key, value = key.expand(bq, *key.shape[1:]), value.expand(bq, *value.shape[1:])
    work = _dtype.float64 if query.dtype is _dtype.float64 else _dtype.float32
    scores = query.to(work).matmul(key.to(work).transpose(-2, -1)) * scale
    grids = _index_grids(scores.shape, scores.device)
    modified = scores if score_mod is None else score_mod(scores, *grids)
    if tuple(modified.shape) != tuple(scores.shape):
        modified = modified.expand(*scores.shape)
    if mask_mod is not None:
        modified = where(mask_mod(*grids), modified, _NEG_INF)
    return modified, value


def _attend(post, value, query_dtype, want_max):
    """(output, lse, max scores) of the scores: a query row that attends to nothing gives a zero
    output, lse and max -inf, and no NaN in any gradient."""
    dead = (post == _NEG_INF).all(-1, keepdim=True)
    alive = where(dead, 0.0, post)
    lse = where(dead.squeeze(-1), _NEG_INF, alive.logsumexp(-1))
    probs = where(dead, 0.0, alive.softmax(-1))
    out = probs.to(query_dtype).matmul(value.to(query_dtype))
    return out, lse, (post.amax(-1) if want_max else None)


def flex_attention(query, key, value, score_mod=None, block_mask=None, scale=None, enable_gqa=False,
                   return_lse=False, kernel_options=None, *, return_aux=None):
    """softmax(score_mod(query @ key^T * scale) masked by block_mask.mask_mod) @ value.

    query (B, Hq, L, E), key (B or 1, Hkv, S, E), value (B or 1, Hkv, S, Ev) -> (B, Hq, L, Ev).
    score_mod(score, b, h, q_idx, kv_idx) and block_mask's mask_mod(b, h, q_idx, kv_idx) (True:
    attended) see broadcasting index tensors; enable_gqa: key's and value's heads repeated to
    query's. Scores are computed in float32 (float64 for float64 query). return_lse (deprecated) /
    return_aux=AuxRequest(lse=True, max_scores=...): also the natural-log logsumexp (B, Hq, L) of
    the modified scores and their maxima; a fully masked row gives output 0 and lse -inf.
    kernel_options are validated as torch's and otherwise unused."""
    _check_tensors(query, key, value)
    _check_heads_and_batch(query, key, block_mask, enable_gqa)
    if block_mask is not None:
        _check_block_mask(block_mask, query, key)
        if query.device != block_mask.kv_num_blocks.device:
            raise RuntimeError(f"Expect q/k/v and block_mask to be on the same device but got {query.device} and "
                               f"{block_mask.kv_num_blocks.device}.")
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    _check_options(kernel_options, return_lse, return_aux)
    want_max = return_aux is not None and return_aux.max_scores
    mask_mod = None if block_mask is None or block_mask.mask_mod is noop_mask else block_mask.mask_mod
    post, value = _scores(query, key, value, score_mod, mask_mod, scale)
    out, lse, max_scores = _attend(post, value, query.dtype, want_max)
    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    lse = lse if want_lse and lse.numel() > 0 else None
    if return_aux is not None:
        return out, AuxOutput(lse=lse, max_scores=max_scores if max_scores is not None and max_scores.numel() > 0
                              else None)
    return (out, lse) if return_lse else out
