"""Indexing against PyTorch 2.13 CPU (the oracle): `t[idx]` and `t[idx] = v`.

Every index in INDEXES runs three ways on both libraries: getitem (values,
dtype, shape, and the gradient of sum(x[idx] * G) with a G of distinct
values, so a misplaced gradient shows), setitem of a Python scalar (the tensor
afterwards and its `_version` bump), and setitem of a tensor value that
requires grad (gradients to the base and to the value). Then the focused
cases: value broadcasting and dtype casting, in-place rules (leaves, views,
version counters, saved tensors), second-order gradients, error paths, and
a Hypothesis test over random index tuples, also into non-contiguous views
(AG_HYPOTHESIS_EXAMPLES examples, default 150; a fixed seed unless
AG_HYPOTHESIS_RANDOM is set).

Exceptions compare by type (API.md "Bad input"); `match=` also asks both
messages for a fragment. Known discrepancies are pinned by
`xfail(strict=True, reason="BUG: ...")` with a minimal repro, and keep a
"Bug (fixed): ..." comment once fixed; deliberate ones (API.md is stricter,
or the project is deliberately permissive) are tests named
`test_known_difference_*` asserting both behaviours.

Tests taking `device` run twice (conftest.py): on "cpu", and with our tensors
on "cuda" (a real GPU, else the CuPy emulator; marked `gpu`). There `lib` is
autograd_gpu with device="cuda" as the default of its tensor factories
(test_random_graphs.OnDevice): the indexed tensor, index tensors, masks and
values all on cuda (Python lists and NumPy arrays stay host indices), PyTorch
on the CPU; results come back with .cpu() and must be on cuda (a result left
elsewhere shows as "float64 on cpu" against PyTorch's "float64"). Left on the
CPU only: tests about devices themselves (fake_cuda), the uint8 warning, and
repeated-index writes (which copy wins is undefined on a GPU, in PyTorch's
CUDA index_put_ as in CuPy's scatter)."""
import enum
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd_gpu as ag
from test_autograd_api_differential import SETTINGS, Raised, run, same
from conftest import needs_cuda
from test_random_graphs import on_device

EXAMPLES = int(os.environ.get("AG_HYPOTHESIS_EXAMPLES", "150"))
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
SHAPE = (3, 4, 5)


# ---- running one lambda on both libraries ---------------------------------------------

def typed(v, device=None):
    """A result with its dtype: a tensor -> [dtype name, float64 values of its shape]
    (the name says " on <device>" where a tensor is not on `device`)."""
    if hasattr(v, "detach") and hasattr(v, "shape"):
        where = "" if device is None or v.device.type == device else f" on {v.device}"
        return [str(v.dtype).rsplit(".", 1)[-1] + where,
                np.array(v.detach().cpu().tolist(), dtype=np.float64).reshape(tuple(v.shape))]
    if isinstance(v, (list, tuple)):
        return [typed(x, device) for x in v]
    return v


def check(torch, fn, match=None, device="cpu", host_indices=False):
    """fn(lib) must give the same values, dtypes and shapes on both libraries, or
    raise the same exception type (whose message, with `match`, holds that fragment);
    ours with its tensors on `device` (with host_indices, the index tensors that
    get/put/put_grad build stay on the CPU)."""
    theirs = run(lambda lib: typed(fn(lib)), torch)
    ours_lib = on_device(device)
    if host_indices:
        ours_lib.index_lib = ag
    ours = run(lambda lib: typed(fn(lib), device), ours_lib)
    same(ours, theirs)
    if match is not None:
        for who, r in (("ours", ours), ("torch", theirs)):
            assert isinstance(r, Raised) and match in r.msg, f"{who}: {r!r} lacks {match!r}"
    return ours, theirs


def X(lib, shape=SHAPE, dtype="float64", rg=False):
    """arange(n).reshape(shape): distinct values, so a wrong element shows."""
    n = int(np.prod(shape))
    x = lib.arange(n).reshape(shape).to(getattr(lib, dtype))
    return x.requires_grad_() if rg else x


def mask(lib, shape, k=3):
    """A boolean mask: every k-th element True."""
    return lib.tensor((np.arange(int(np.prod(shape))).reshape(shape) % k == 0).tolist(), dtype=lib.bool)


def G(lib, shape):
    """An upstream gradient of distinct values."""
    return lib.arange(1, int(np.prod(shape)) + 1, dtype=lib.float64).reshape(shape)


def ix(idx, lib):
    return idx(lib) if callable(idx) else idx


def index(idx, lib):
    """ix() for an index: made by lib.index_lib where check() set one (host indices)."""
    return ix(idx, getattr(lib, "index_lib", lib))


def transposed(lib, shape, perm, make):
    """(the tensor indexed, its base): make(shape) itself, or with perm a
    non-contiguous view of shape `shape` (the permuted make(reversed shape))."""
    if not perm:
        x = make(shape)
        return x, x
    base = make(tuple(reversed(shape)))
    return base.permute(*reversed(range(len(shape)))), base


def get(idx, shape=SHAPE, perm=False):
    """x[idx], and the gradient of sum(x[idx] * G) to x (with perm, x is a
    non-contiguous view of a leaf)."""
    def f(lib):
        x, leaf = transposed(lib, shape, perm, lambda s: X(lib, s, rg=True))
        y = x[index(idx, lib)]
        (y * G(lib, y.shape)).sum().backward()
        return y, leaf.grad
    return f


def put(idx, value, shape=SHAPE, dtype="float64", perm=False):
    """x[idx] = value on a fresh tensor (with perm, a non-contiguous view): x
    afterwards and its _version bump."""
    def f(lib):
        x, base = transposed(lib, shape, perm, lambda s: X(lib, s, dtype))
        v0 = x._version
        x[index(idx, lib)] = ix(value, lib)
        return x, base, x._version - v0
    return f


def put_grad(idx, vshape=None, shape=SHAPE, perm=False, device="cpu"):
    """x[idx] = v on a non-leaf x (with perm, a non-contiguous view of one), v
    requiring grad (of x[idx]'s shape unless given): x, its _version bump, the
    gradients to the leaf and to v. On a GPU (device not "cpu"), x's elements
    that idx writes more than once are left out (set to 0 on both libraries):
    which copy of v lands there is undefined, in PyTorch's CUDA index_put_ as in
    CuPy's `a[idx] = v` (NumPy and PyTorch CPU: the last)."""
    def f(lib):
        leaf = []
        x, base = transposed(lib, shape, perm, lambda s: leaf.append(X(lib, s, rg=True)) or leaf[0] * 2)
        i = index(idx, lib)
        if vshape is None:
            with lib.no_grad():
                try:
                    vs = x[i].shape
                except Exception:       # noqa: BLE001  (the setitem below raises the same)
                    vs = ()
        else:
            vs = vshape
        v = (lib.arange(int(np.prod(vs)), dtype=lib.float64).reshape(vs) - 3).requires_grad_()
        v0 = x._version
        x[i] = v
        (base * G(lib, base.shape)).sum().backward()
        bump = x._version - v0
        if device != "cpu":
            x = lib.where(written_twice(lib, x.shape, i), 0.0, x.detach())
        return x, bump, leaf[0].grad, v.grad
    return f


def written_twice(lib, shape, i):
    """Where x[i] = v writes an element of x (of `shape`) more than once: a mask
    from the gradient of x[i], which counts the reads of each element."""
    count = lib.zeros(shape, dtype=lib.float64, requires_grad=True)
    with lib.enable_grad():
        count[i].sum().backward()
    return count.grad > 1


def unchanged_after_failure(lib, x, stmt):
    """Run stmt (which must raise); return the exception type and whether x
    kept its values and _version (API.md: a failed call changes nothing)."""
    before, v0 = x.detach().clone(), x._version
    try:
        stmt()
    except Exception as e:      # noqa: BLE001
        return type(e).__name__, bool((x.detach() == before).all()), x._version - v0
    return "no exception"


# ---- the indexes (on x of shape (3, 4, 5)) ------------------------------------------------

class Idx:
    """An object with __index__ (as a NumPy integer or a tensor has)."""

    def __index__(self):
        return 1


Color = enum.IntEnum("Color", "RED GREEN")       # GREEN == 2

INDEXES = {
    # ints
    "int": 1, "int_neg": -1, "int_tuple": (0, 2, -5), "int_last_dim": (0, 0, 4),
    "int_oor": 3, "int_oor_neg": -4, "int_oor_inner": (0, 0, 5), "np_int": np.int64(1),
    "np_int_tuple": (np.int32(2), np.int64(-1)),
    # Bug (fixed): an index object with __index__ (an IntEnum, a custom class) raised IndexError 'only
    # integers, slices ... are valid indices'; PyTorch indexes with it as with an int: x[Color.GREEN] is x[2]
    "intenum": Color.GREEN, "__index__": lambda L: Idx(),
    # slices
    "slice": slice(1, 3), "slice_neg": slice(-2, None), "slice_neg_stop": (slice(None), slice(None, -1)),
    "slice_oversized": slice(-10, 10), "slice_empty": slice(2, 1), "slice_past_end": slice(5, 9),
    "slice_step2": (slice(None), slice(None, None, 2)), "slice_step3_bounds": (slice(None), slice(1, -1, 3)),
    "slice_step_big": slice(None, None, 10), "slice_neg_step": slice(None, None, -1),
    "slice_neg_step_bounds": slice(2, 0, -1), "slice_step0": slice(None, None, 0),
    "slice_tensor_bounds": lambda L: slice(L.tensor(1), L.tensor(3)),
    "slice_tensor_step": lambda L: (slice(None), slice(None, None, L.tensor(2))),
    # Bug (fixed): x[tensor(1.):3] sliced from 1; PyTorch raises TypeError 'only integer tensors of a single
    # element can be converted to an index'
    "slice_float_tensor_bound": lambda L: slice(L.tensor(1.0), 3),
    "slice_index_obj": lambda L: slice(Idx(), None), "slice_float": slice(1.0, 3),
    # None, Ellipsis
    "none": None, "none2": (None, None), "int_none": (0, None), "none_ell_none": (None, Ellipsis, None),
    "slice_none_int": (slice(None), None, 1), "ell": Ellipsis, "ell_int": (Ellipsis, 0), "int_ell": (0, Ellipsis),
    "ell_none": (Ellipsis, None), "int_ell_slice": (1, Ellipsis, slice(1, 3)),
    "combo": (None, 1, Ellipsis, None, slice(1, 3)), "ell_full": (0, 1, Ellipsis, 2),
    # Bug (fixed): several Ellipses raised IndexError 'an index can only have a single ellipsis'; PyTorch
    # accepts them (the first spans the unindexed dims, each further one skips as many again):
    # x[..., 0, ...] is x[..., 0], x[0, ..., ...] is x[0], x[..., ..., 0] raises IndexError
    "ell_ell": (Ellipsis, Ellipsis), "ell_int_ell": (Ellipsis, 0, Ellipsis), "int_ell_ell": (0, Ellipsis, Ellipsis),
    "ell_none_ell": (Ellipsis, None, Ellipsis), "ell_list_ell": (Ellipsis, [0, 1], Ellipsis),
    "ell_ell_int": (Ellipsis, Ellipsis, 0), "ell_ell_full": (0, Ellipsis, 1, Ellipsis, 2),
    # Bug (fixed; found by test_random_indexes with a random seed): a step-1 slice that two Ellipses push
    # past the last dim raised IndexError; PyTorch never applies one from 0 to no stop or one >= 0
    # (x[..., ..., 0:1] is x), while any other slice or a None there raises 'Dimension out of range'
    "ell_ell_slice": (Ellipsis, Ellipsis, slice(None)), "ell_ell_slice01": (Ellipsis, Ellipsis, slice(0, 1)),
    "ell_ell_slice_step2": (Ellipsis, Ellipsis, slice(None, None, 2)), "ell_ell_slice12": (Ellipsis, Ellipsis,
                                                                                        slice(1, 2)),
    "ell_ell_slice_neg_stop": (Ellipsis, Ellipsis, slice(0, -1)), "ell_ell_slice00": (Ellipsis, Ellipsis, slice(0, 0)),
    "ell_ell_slice_none": (Ellipsis, Ellipsis, slice(None), None), "ell_slice_ell_slice": (Ellipsis, slice(None),
                                                                                          Ellipsis, slice(0, 9)),
    # bool scalars. Bug (fixed): x[False] = v bumped x._version, checked v's shape and gave v a zero
    # gradient; PyTorch returns at once (after converting v): no write, no version bump, no graph (v.grad None)
    "true": True, "false": False, "true_int": (True, 0), "int_false": (0, False), "none_true": (None, True),
    "true_true": (True, True), "ell_false": (Ellipsis, False), "true_slice_list": (True, slice(None), [0, 1]),
    # 0-d index tensors
    "0d": lambda L: L.tensor(1), "0d_neg": lambda L: L.tensor(-1), "0d_oor": lambda L: L.tensor(5),
    "0d_int32": lambda L: L.tensor(1, dtype=L.int32), "0d_int16": lambda L: L.tensor(2, dtype=L.int16),
    "0d_true": lambda L: L.tensor(True), "0d_false": lambda L: L.tensor(False),
    "0d_true_int": lambda L: (L.tensor(True), 1), "0d_float": lambda L: L.tensor(1.0),
    # integer tensors and lists
    "list": [0, 2, -1], "list_nested": [[[0, 1], [2, -1]]], "list_empty": [], "list_repeat": [0, 0, 2],
    "list_repeat_inner": (slice(None), [1, 1, 3]), "list_as_tuple": [[0, 1], [2, 3]],
    "list_long": [0, 1] * 20, "list_of_tensors": lambda L: [L.tensor(0), L.tensor(2)],
    "tuple_in_tuple": ((0, 2),), "np_array": np.array([2, 0]), "np_int8_array": np.array([1, -1], dtype=np.int8),
    "tensor": lambda L: L.tensor([0, 2, 2]), "tensor_int32": lambda L: L.tensor([0, -1], dtype=L.int32),
    "tensor_2d": lambda L: L.tensor([[0, 1], [2, 2]]), "tensor_empty": lambda L: L.tensor([], dtype=L.int64),
    "tensor_empty_2d": lambda L: L.zeros(0, 2, dtype=L.int64),
    "float_tensor": lambda L: L.tensor([0.0, 1.0]), "bool_list": [True, False, True], "bool_int_list": [True, 2],
    # Bug (fixed): a list (or NumPy array) of floats raised IndexError 'tensors used as indices must be long,
    # ...'; PyTorch converts it to int64, truncating: x[[1.7, -0.5]] is x[[1, 0]], x[[1, 2.5]] is x[[1, 2]],
    # x[[nan]] raises RuntimeError
    "float_list": [1.7, -0.5], "float_list_neg": [-1.5], "mixed_list": [1, 2.5], "float_list_nan": [float("nan")],
    "np_float_array": np.array([0.0, 1.9]),
    # Bug (fixed): a uint8 index was an integer index; PyTorch's is a (deprecated) byte mask:
    # x[tensor([0, 1, 1], dtype=uint8)] is x[[1, 2]] there, was x[[0, 1, 1]] here; x[tensor(1, dtype=uint8)]
    # is x[None] there, was x[1] here; likewise a uint8 NumPy array
    "uint8_tensor": lambda L: L.tensor([0, 1, 1], dtype=L.uint8),
    "uint8_tensor_2d": lambda L: L.tensor([[1, 0, 0, 2]] * 3, dtype=L.uint8),
    "np_uint8_array": np.array([0, 1, 1], dtype=np.uint8), "0d_uint8": lambda L: L.tensor(1, dtype=L.uint8),
    # Bug (fixed): int8/int16 index tensors indexed; PyTorch raises IndexError 'tensors used as indices must
    # be long, int, byte or bool tensors' (int8/int16 NumPy arrays and lists are fine on both)
    "int8_tensor": lambda L: L.tensor([0, -1], dtype=L.int8), "int16_tensor": lambda L: L.tensor([0], dtype=L.int16),
    # boolean masks
    "mask_full": lambda L: X(L) > 30, "mask_dim0": lambda L: L.tensor([True, False, True]),
    "mask_2d": lambda L: mask(L, (3, 4)), "mask_all_false": lambda L: L.zeros(3, dtype=L.bool),
    "mask_inner": lambda L: (slice(None), L.tensor([True, False, True, True])),
    "mask_last": lambda L: (Ellipsis, L.tensor([False, True, False, True, True])),
    "mask_and_list": lambda L: (L.tensor([True, False, True]), [1, 2]),
    "mask_wrong_size": lambda L: L.tensor([True, False]), "mask_wrong_2d": lambda L: L.ones(3, 5, dtype=L.bool),
    "mask_wrong_inner": lambda L: (0, L.tensor([True, False])),
    "np_bool_array": np.array([True, False, True]),
    # advanced indices: placement and broadcasting
    "adv_separated": ([0, 1], slice(None), [1, 2]), "adv_adjacent": (slice(None), [0, 1], [1, 2]),
    "adv_broadcast": lambda L: (L.tensor([[0], [1]]), L.tensor([0, 2, 3])),
    "adv_none_between": (None, [0, 1], None, [1, 2]), "adv_ell": (Ellipsis, [0, 1]),
    "adv_ell_between": ([0, 1], Ellipsis, [1, 2]), "adv_int": ([0, 1], 2), "adv_slice_int": ([0, 2], slice(None), 1),
    "slice_int_adv": (slice(None), 1, [0, 2]), "int_slice_adv_adv": (1, slice(None), [0, 2], [1, 1]),
    "adv_int_adv": ([0, 1], 2, [0, 4]), "int_adv_slice_int": (2, [0, 3], slice(1, 3), 0),
    # Bug (fixed): an int (or 0-d integer tensor) apart from an advanced index (a slice or None between) sent
    # the advanced dims to the front (NumPy's rule: the int counts as an advanced index); PyTorch selects
    # with the int first: x[1, :, [0, 2]] was (2, 4) here, is (4, 2) in PyTorch; x[1, None, [0, 2]] was
    # (2, 1, 5), is (1, 2, 5)
    "int_slice_adv": (1, slice(None), [0, 2]), "int_none_adv": (1, None, [0, 2]),
    "int_slice_mask": lambda L: (0, slice(None), L.tensor([True, False, True, False, True])),
    "0d_slice_adv": lambda L: (L.tensor(1), slice(None), L.tensor([0, 1])),
    # Bug (fixed): an Ellipsis that spans no dims between two advanced indices separated them (NumPy's
    # rule, by position in the index: the advanced dims go first); PyTorch judges by dims, so they stay
    # adjacent: x[:, [0, 1], ..., [1, 2]] of a (3, 4, 5) x was (2, 3) here, is (3, 2) in PyTorch
    "adv_empty_ell_between": (slice(None), [0, 1], Ellipsis, [1, 2]),
    "adv_empty_ell_between_none": (slice(None), [0, 1], Ellipsis, [1, 2], None),
    # bad indices
    "float": 1.5, "str": "a", "too_many": (0, 0, 0, 0), "too_many_adv": (0, 0, 0, [0]),
    "too_many_slices": (slice(None),) * 4, "list_oor": [0, 5], "list_oor_neg": [-4],
    "tensor_oor": lambda L: (slice(None), L.tensor([4, 0])), "list_ragged": [[0, 1], [2]],
}

@pytest.mark.parametrize("idx", INDEXES.values(), ids=INDEXES.keys())
def test_getitem(torch, device, idx):
    check(torch, get(idx), device=device)


@pytest.mark.parametrize("idx", INDEXES.values(), ids=INDEXES.keys())
def test_setitem_scalar(torch, device, idx):
    check(torch, put(idx, -1.0), device=device)


@pytest.mark.parametrize("idx", INDEXES.values(), ids=INDEXES.keys())
def test_setitem_tensor_requiring_grad(torch, device, idx):
    check(torch, put_grad(idx, device=device), device=device)


# PyTorch takes CPU index tensors (and masks) for a CUDA tensor; so do we (API.md: only operands
# must share a device). Every index with a tensor in it, the tensors on the CPU, x on cuda.
TENSOR_INDEXES = {k: v for k, v in INDEXES.items() if callable(v)}


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("idx", TENSOR_INDEXES.values(), ids=TENSOR_INDEXES.keys())
def test_host_index_tensors_into_cuda(torch, idx):
    check(torch, get(idx), device="cuda", host_indices=True)
    check(torch, put(idx, -1.0), device="cuda", host_indices=True)
    check(torch, put_grad(idx, device="cuda"), device="cuda", host_indices=True)


# ---- error messages -------------------------------------------------------------------

ERRORS = [
    (3, "index 3 is out of bounds for dimension 0 with size 3"),
    (-4, "index -4 is out of bounds for dimension 0 with size 3"),
    ([0, 5], "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda L: L.tensor(5), "index 5 is out of bounds for dimension 0 with size 3"),
    (slice(None, None, -1), "step must be greater than zero"),
    (lambda L: L.tensor([0.0, 1.0]), "tensors used as indices must be long, int, byte or bool tensors"),
    (1.5, "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices"),
]


# Bug (fixed): x[[0, 5]] = v with v requiring grad said 'index_put_: index 5 is out of bounds for axis 0
# with size 3' (NumPy's word); PyTorch (and our other paths) say 'dimension'
@pytest.mark.parametrize("idx, match, mode", [pytest.param(i, m, mode, id=f"{mode}-{m[:24]}")
                                              for i, m in ERRORS for mode in ("get", "put", "put_grad")])
def test_error_messages(torch, device, idx, match, mode):
    f = {"get": lambda: get(idx), "put": lambda: put(idx, 1.0),
         "put_grad": lambda: put_grad(idx, (), device=device)}[mode]()
    check(torch, f, match=match, device=device)


# Bug (fixed): too many indices said NumPy's 'too many indices for array: array is 3-dimensional, but 4
# were indexed'; PyTorch 'too many indices for tensor of dimension 3'
def test_error_message_too_many_indices(torch, device):
    check(torch, get((0, 0, 0, 0)), match="too many indices for tensor of dimension 3", device=device)
    check(torch, put((0, 0, 0, [0]), 1.0), match="too many indices for tensor of dimension 3", device=device)


# Bug (fixed): a mask of the wrong shape said NumPy's 'boolean index did not match indexed array along
# axis 0; size of axis is 3 but size of corresponding boolean axis is 2'; PyTorch 'The shape of the mask
# [2] at index 0 does not match the shape of the indexed tensor [3, 4, 5] at index 0'. (On an empty
# tensor NumPy does not check masks at all: x[..., mask of 0] of a (0, 1) x indexed; PyTorch raises.)
def test_error_message_mask_shape(torch, device):
    check(torch, get(lambda L: L.tensor([True, False])),
          match="The shape of the mask [2] at index 0 does not match the shape of the indexed tensor [3, 4, 5] at index 0", device=device)
    check(torch, get((Ellipsis, np.zeros(0, dtype=bool)), shape=(0, 1)),
          match="The shape of the mask [0] at index 0 does not match the shape of the indexed tensor [0, 1] at index 1", device=device)
    check(torch, put(lambda L: (slice(None), L.ones(4, 4, dtype=L.bool)), 1.0),
          match="The shape of the mask [4, 4] at index 1 does not match the shape of the indexed tensor [3, 4, 5] "
                "at index 2", device=device)


# Bug (fixed; ops/indexing.py _check_masks, both devices): a mask with a dim of size 0 along a dim
# of x that is not empty was taken as selecting nothing (NumPy's rule, and CuPy's); PyTorch raises
# IndexError 'The shape of the mask [0] at index 0 does not match the shape of the indexed tensor
# [3, 4, 5] at index 0'.
@pytest.mark.parametrize("idx", [lambda L: L.zeros(0, dtype=L.bool), np.zeros(0, dtype=bool),
                                 lambda L: (slice(None), L.zeros(0, dtype=L.bool)),
                                 lambda L: L.zeros(3, 0, dtype=L.bool), lambda L: (L.zeros(0, dtype=L.bool), [1])],
                         ids=["mask", "numpy-mask", "inner-mask", "2d-mask", "mask-and-list"])
@pytest.mark.parametrize("mode", ["get", "put"])
def test_empty_mask_along_a_dim_that_is_not_empty(torch, device, idx, mode):
    check(torch, get(idx) if mode == "get" else put(idx, 1.0), match="The shape of the mask", device=device)


# Bug (fixed): x[mask] = one-element tensor of another dtype (PyTorch's masked_fill_) cast the value
# whatever it was (300. into uint8 wrote 44, NaN into int64 wrote int64's min, 1e6 into float16 inf);
# PyTorch converts it as a number and refuses one that does not fit ('value cannot be converted to
# type uint8_t without overflow'), x unchanged; -1 (an int) into uint8 is 255 there
@pytest.mark.parametrize("xdt, value, vdt, fits", [
    ("uint8", 300.0, "float32", False), ("uint8", -1.0, "float32", False), ("uint8", -1, "int64", True),
    ("uint8", -300, "int64", False), ("int64", 2.5, "float64", True), ("int64", float("nan"), "float32", False),
    ("float16", 1e6, "float32", False), ("float32", 1e300, "float64", False), ("float32", float("inf"), "float64", True),
    ("int8", 200, "int64", False), ("uint8", 255.9, "float64", False), ("bool", 2.5, "float32", True),
    ("int32", 2 ** 31, "int64", False),
])
def test_masked_fill_value_must_fit(torch, device, xdt, value, vdt, fits):
    mask = lambda L: L.tensor([True, False, True])      # noqa: E731
    check(torch, put(mask, lambda L: L.tensor(value, dtype=getattr(L, vdt)), shape=(3,), dtype=xdt),
          match=None if fits else "cannot be converted", device=device)


# Bug (fixed): x0d[0] said 'too many indices for array: array is 0-dimensional, but 1 were indexed';
# PyTorch 'invalid index of a 0-dim tensor. Use `tensor.item()` ...' (x0d[[0]]: 'too many indices for
# tensor of dimension 0')
def test_error_message_zero_dim(torch, device):
    check(torch, get(0, shape=()), match="invalid index of a 0-dim tensor", device=device)
    check(torch, get([0], shape=()), match="too many indices for tensor of dimension 0", device=device)


# ---- 0-d and empty tensors -----------------------------------------------------------------

@pytest.mark.parametrize("idx", [None, Ellipsis, True, False, (None, True), (Ellipsis, None), 0, [0], slice(None),
                                 lambda L: L.tensor(True), lambda L: L.tensor(False), lambda L: L.tensor(0),
                                 lambda L: L.tensor([True])],
                         ids=lambda i: repr(i)[:20])
def test_zero_dim_tensor(torch, device, idx):
    check(torch, get(idx, shape=()), device=device)
    check(torch, put(idx, 5.0, shape=()), device=device)
    check(torch, put_grad(idx, shape=(), device=device), device=device)


@pytest.mark.parametrize("idx", [[], 0, (slice(None), 1), (Ellipsis, [0, 2]), lambda L: L.zeros(0, 3, dtype=L.bool),
                                 lambda L: L.zeros(0, dtype=L.bool), (slice(None), slice(1, None, 2)), None])
def test_empty_tensor(torch, device, idx):
    check(torch, get(idx, shape=(0, 3)), device=device)
    check(torch, put(idx, 5.0, shape=(0, 3)), device=device)
    check(torch, put_grad(idx, shape=(0, 3), device=device), device=device)


# ---- views, copies and grad_fn names -------------------------------------------------------

@pytest.mark.parametrize("idx", [0, (slice(None), 1), slice(1, None, 2), None, Ellipsis, (Ellipsis, None, 2),
                                 lambda L: L.tensor(1), [0], lambda L: L.tensor([True, False, True]), True])
def test_basic_index_is_a_view_advanced_a_copy(torch, device, idx):
    def f(lib):
        x = X(lib)
        y = x[ix(idx, lib)]
        y.mul_(-1)              # a view writes into x; a copy does not
        return x, y, x._version, y._version
    check(torch, f, device=device)


@pytest.mark.parametrize("idx", [0, slice(1, 2), (slice(None), 1), None, Ellipsis, (slice(None), None), [0, 1],
                                 lambda L: L.tensor([True, False, True]), True, (Ellipsis, 1), (1, Ellipsis)],
                         ids=lambda i: repr(i)[:20])
def test_grad_fn_names(torch, device, idx):
    """getitem's node names; setitem's where PyTorch's is not an artefact of its implementation
    (x[...] = 0.5 is its fill_, FillBackward3; x[True] = 0.5 writes a view, CopySlices: names of
    compound indexing are no part of API.md's contract)."""
    def f(lib):
        x = X(lib, rg=True) * 1
        name = x[ix(idx, lib)].grad_fn.name()
        x[ix(idx, lib)] = 0.5
        return name, x.grad_fn.name() if idx is not Ellipsis and idx is not True else None
    check(torch, f, device=device)


# ---- setitem: the value -----------------------------------------------------------------

# Bug (fixed): a value with more dims than the indexed part, all leading ones of size 1, failed: x[0] =
# ones(1, 1, 4, 5) (x requiring grad: 'copy_: the size of src [1, 1, 4, 5] does not broadcast'), x[[0, 2]]
# = v (backward: 'IndexPutBackward0 returned an invalid gradient'), x[mask] = ones(1, 9) (NumPy's
# 'boolean array indexing assignment requires a 0 or 1-dimensional input'); PyTorch drops the value's
# leading 1-sized dims first
@pytest.mark.parametrize("idx, vshape", [
    (slice(None), (5,)), (slice(None), (4, 1)), (slice(None), (1, 4, 5)), (0, (1, 1, 4, 5)), (0, (1, 5)),
    ([0, 2], (2, 1, 5)), ([0, 2], (1, 1, 4, 5)), ([0, 2], ()), ((Ellipsis, [0, 1]), (1, 1, 1, 2)),
    (lambda L: mask(L, SHAPE, 7), (1, 9)), (lambda L: mask(L, SHAPE, 7), ()), (lambda L: mask(L, SHAPE, 7), (1,)),
    (lambda L: L.tensor([True, False, True]), (1, 1, 5)), ((slice(None), 1), (3, 1)),
    # mismatches
    (slice(None), (3,)), (0, (2, 4, 5)), ([0, 2], (3, 4, 5)), (lambda L: mask(L, SHAPE, 7), (2, 9)),
    (lambda L: mask(L, SHAPE, 7), (8,)),
], ids=lambda v: repr(v)[:24])
def test_setitem_broadcasts_value(torch, device, idx, vshape):
    check(torch, put_grad(idx, vshape, device=device), device=device)


def test_setitem_shape_mismatch_message(torch, device):
    check(torch, put([0, 2], lambda L: L.ones(3, dtype=L.float64)), match="shape mismatch: value tensor of shape [3]", device=device)


@pytest.mark.parametrize("dtype, value", [
    ("int64", 2.7), ("int64", -2.7), ("int64", True), ("int32", 2 ** 31 - 1), ("int32", -2 ** 31),
    ("uint8", 255), ("int8", -128), ("bool", 5), ("bool", 0.0), ("bool", 0.5), ("float32", 1 / 3),
    ("float32", 2 ** 40 + 1), ("float16", 1e6), ("float16", 65504.0), ("float32", float("inf")),
    ("float64", float("nan")), ("float64", True), ("float64", 2 ** 63 - 1), ("int64", -2 ** 63),
    # out of range: PyTorch refuses
    ("int32", 2 ** 31), ("int8", 128), ("uint8", 256), ("int64", float("inf")), ("int64", float("nan")),
    ("int32", 1e10),
    # Bug (fixed): x[0] = 2 ** 63 raised RuntimeError 'value ... cannot be converted to type int64 without
    # overflow' into an int64 tensor and TypeError into a float64 one; PyTorch raises ValueError 'Overflow
    # when unpacking long long' for a Python int outside int64, whatever the tensor's dtype
    ("int64", 2 ** 63), ("float64", 2 ** 64), ("int64", -2 ** 63 - 1),
], ids=lambda v: repr(v))
@pytest.mark.parametrize("idx", [0, [0, 2], lambda L: X(L) > 30], ids=["basic", "list", "mask"])
def test_setitem_python_scalar_casts(torch, device, dtype, value, idx):
    check(torch, put(idx, value, dtype=dtype), device=device)


# Bug (fixed): x[[0, 2]] = v with v of another dtype cast v; PyTorch raises RuntimeError 'Index put
# requires the source and destination dtypes match, got Double for the destination and Float for the
# source' (a basic index casts on both, as does a one-element value through a single mask: masked_fill_)
@pytest.mark.parametrize("dtype, vdtype", [("int64", "float32"), ("float32", "float64"), ("float32", "int64"),
                                           ("int32", "int64"), ("bool", "float32"), ("float64", "bool"),
                                           ("uint8", "int64"), ("float16", "float32")])
def test_setitem_tensor_of_another_dtype(torch, device, dtype, vdtype):
    """A basic index copies with a cast; a one-element value through a single mask fills with a cast
    (PyTorch's masked_fill_ path); any other advanced index needs the same dtype (index_put_)."""
    vals = lambda L, shape: (L.arange(int(np.prod(shape)), dtype=L.float64).reshape(shape) * 1.7 - 3   # noqa: E731
                             ).to(getattr(L, vdtype))
    check(torch, put(0, lambda L: vals(L, (4, 5)), dtype=dtype), device=device)
    check(torch, put((slice(None), 1), lambda L: vals(L, (3, 5)), dtype=dtype), device=device)
    check(torch, put(lambda L: X(L) > 30, lambda L: vals(L, ()), dtype=dtype), device=device)
    check(torch, put(lambda L: X(L) > 30, lambda L: vals(L, (1,)), dtype=dtype), device=device)
    check(torch, put(lambda L: (slice(None), L.tensor([True, False, True, False])), lambda L: vals(L, (1, 1)),
                     dtype=dtype), device=device)
    check(torch, put([0, 2], lambda L: vals(L, (4, 5)), dtype=dtype), device=device)
    check(torch, put([0, 2], lambda L: vals(L, ()), dtype=dtype), device=device)
    check(torch, put(lambda L: X(L) > 30, lambda L: vals(L, (29,)), dtype=dtype), device=device)


def test_setitem_dtype_mismatch_message(torch, device):
    check(torch, put([0, 2], lambda L: L.ones(5), dtype="float64"),
          match="Index put requires the source and destination dtypes match, got Double for the destination and "
                "Float for the source", device=device)


def test_setitem_uint8_mask_with_one_element_value(torch, device):
    # Bug (fixed): uint8 indices were integer indices (see INDEXES). PyTorch sends a single byte mask with a
    # one-element value to masked_fill_, which refuses byte masks
    u8 = lambda L: L.tensor([0, 1, 1], dtype=L.uint8)     # noqa: E731
    check(torch, put(u8, 5.0), match="masked_fill_ only supports boolean masks, but got mask with dtype", device=device)
    check(torch, put(u8, lambda L: L.ones(1, dtype=L.float64)), device=device)
    check(torch, put(u8, lambda L: L.ones(5, dtype=L.float64)), device=device)          # index_put_: a mask


@pytest.mark.parametrize("value", ["a", None, object()], ids=repr)
def test_setitem_value_of_a_wrong_kind(torch, device, value):
    check(torch, put(0, value), match="can't assign a", device=device)
    check(torch, put([0], value), device=device)


def test_setitem_repeated_indices(torch):
    """Repeated positions: the last write wins (PyTorch CPU), every copy of v gets its gradient,
    the base none at the written rows."""
    check(torch, put_grad([0, 0, 2, 0], (4, 4, 5)))
    check(torch, put_grad(([1, 1], [2, 2]), (2, 5)))
    check(torch, put([0, 0], lambda L: L.tensor([[[1.0]], [[2.0]]], dtype=L.float64)))


def test_setitem_value_from_the_tensor_itself(torch, device):
    def f(lib):
        x = X(lib, (4, 3), rg=True) * 1
        x[[1, 2]] = x[[0, 1]] * 2          # advanced: the value is a copy
        x[0] = x[3]
        x[:, 0] = x[:, 2].detach()
        x.sum().backward()
        return x
    check(torch, f, device=device)


# ---- setitem: in-place rules ---------------------------------------------------------------

@pytest.mark.parametrize("idx", [0, [0], (slice(None), 1), lambda L: L.tensor([True, False, True]), Ellipsis, None,
                                 (1, slice(None), [0, 2])])
def test_setitem_on_a_leaf_requiring_grad(torch, device, idx):
    def f(lib):
        w = X(lib, rg=True)
        return unchanged_after_failure(lib, w, lambda: w.__setitem__(ix(idx, lib), 1.0))
    check(torch, f, device=device)

    def under_no_grad(lib):
        w = X(lib, rg=True)
        with lib.no_grad():
            w[ix(idx, lib)] = -1.0
        (w * 2).sum().backward()
        return w, w._version, w.is_leaf, w.requires_grad, w.grad
    check(torch, under_no_grad, device=device)


def test_setitem_on_a_view_of_a_leaf(torch, device):
    for idx in (1, [1], slice(None)):
        check(torch, lambda lib: X(lib, rg=True)[0].__setitem__(idx, 1.0),
              match="view of a leaf Variable that requires grad", device=device)


def test_setitem_false_on_a_leaf(torch, device):
    # Bug (fixed): x[False] = v wrote (see INDEXES). PyTorch: `t[False] = v` returns at once (after
    # converting v): no leaf check, no write, no version
    def f(lib):
        w = X(lib, rg=True)
        w[False] = lib.ones(7)
        return w, w._version, w.grad_fn
    check(torch, f, device=device)
    check(torch, lambda lib: X(lib).__setitem__(False, "a"), device=device)


def test_setitem_on_views(torch, device):
    def adv_into_view(lib):
        w = X(lib, (3, 4), rg=True)
        x = w * 1
        v = x[:, 1]
        v[[0, 2]] = lib.tensor(9.0, dtype=lib.float64)
        (x * G(lib, (3, 4))).sum().backward()
        return x, v, w.grad, x._version, v._version

    def basic_into_transposed(lib):
        w = X(lib, (3, 4), rg=True)
        x = w * 1
        v = x.t()
        v[1:3, 0] = 9.0
        (x * G(lib, (3, 4))).sum().backward()
        return x, v, w.grad, x._version

    def grad_value_into_view(lib):
        w = X(lib, (3, 4), rg=True)
        u = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        x = w * 1
        v = x[1]
        v[[0, 3]] = u * 3
        (x * G(lib, (3, 4))).sum().backward()
        return x, w.grad, u.grad, x.grad_fn.name()

    def plain_base_grad_value(lib):
        x = lib.zeros(3, 4, dtype=lib.float64)
        u = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        x[1][[0, 3]] = u
        x[[0, 2], 1] = u
        (x * G(lib, (3, 4))).sum().backward()
        return x, u.grad, x.requires_grad, x.is_leaf

    def mask_into_view(lib):
        w = X(lib, (3, 4), rg=True)
        x = w * 1
        v = x[1:]
        v[v > 6] = lib.tensor(-1.0, dtype=lib.float64, requires_grad=True) * 2
        (x * G(lib, (3, 4))).sum().backward()
        return x, w.grad

    def view_of_expanded(lib):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64).expand(3, 2)
        return unchanged_after_failure(lib, x, lambda: x.__setitem__([0], 5.0))

    for f in (adv_into_view, basic_into_transposed, grad_value_into_view, plain_base_grad_value, mask_into_view):
        check(torch, f, device=device)
    assert run(view_of_expanded, on_device(device)) == ["RuntimeError", True, 0]    # stricter (docs/nan_semantics.md)


@pytest.mark.parametrize("idx", [0, [0, 1], lambda L: X(L) > 7, (Ellipsis, 1), (None, False), (True,),
                                 False, lambda L: L.zeros(3, dtype=L.bool), [], (1, slice(None), [0, 2])],
                         ids=lambda i: repr(i)[:20])
def test_setitem_version_counter(torch, device, idx):
    def f(lib):
        x = X(lib)
        view = x[1:]
        vs = []
        for _ in range(2):
            x[ix(idx, lib)] = 5.0
            vs.append((x._version, view._version))
        y = X(lib, rg=True) * 1
        y[ix(idx, lib)] = lib.tensor(2.0, dtype=lib.float64, requires_grad=True)
        vs.append(y._version)
        return vs
    check(torch, f, device=device)


def test_setitem_after_saved_for_backward(torch, device):
    def basic(lib):
        x = X(lib, rg=True) * 1
        y = x * x
        x[0] = 1.0
        y.sum().backward()

    def advanced(lib):
        x = X(lib, rg=True) * 1
        y = x.exp()                          # saves its result
        y[[0]] = 1.0
        x.sum().backward()
        y.sum().backward()

    def index_modified(lib):
        w = X(lib, rg=True)
        i = lib.tensor([0, 2])
        y = w[i]
        i[0] = 1
        y.sum().backward()

    for f in (basic, advanced, index_modified):
        check(torch, f, match="modified by an inplace operation", device=device)


# ---- setitem: devices and failed writes -----------------------------------------------------

def test_setitem_value_on_another_device(fake_cuda):
    x = ag.arange(6.0).reshape(2, 3)
    for idx in (0, [0], x > 2, (slice(None), 1)):
        r = unchanged_after_failure(ag, x, lambda: x.__setitem__(idx, ag.ones(3, device="cuda")[0]))
        assert r == ("RuntimeError", True, 0), (idx, r)
    with pytest.raises(RuntimeError, match="cuda:0.*cpu|cpu.*cuda:0"):
        x[0] = ag.ones(3, device="cuda")


def test_known_difference_cuda_tensor_with_cpu_value(fake_cuda):
    # Known difference (API.md: nothing silently copies between devices): PyTorch copies a CPU value
    # into a CUDA tensor through a basic index (copy_) and moves a 0-d CPU value for index_put_
    x = ag.zeros(2, 3, device="cuda")
    for idx in (0, [0]):
        assert unchanged_after_failure(ag, x, lambda: x.__setitem__(idx, ag.tensor(1.0))) == ("RuntimeError", True, 0)
    x[[0]] = 1.0                 # a Python number is not a tensor: fine
    assert x.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


@pytest.mark.parametrize("idx, value", [
    ([0, 1], lambda L: L.ones(3, dtype=L.float64)), (0, lambda L: L.ones(3, dtype=L.float64)),
    ((slice(None), 1), lambda L: L.ones(2, 5, dtype=L.float64)), (lambda L: L.tensor([True, False]), 1.0),
    ([0, 1], lambda L: L.ones(5, dtype=L.float32)), ([0, 1], "x"), (0, "x"), ((0, 0, 0, 0), 1.0),
    (lambda L: L.tensor([0.0]), 1.0), (slice(None, None, -1), 1.0), (lambda L: X(L) > 3, lambda L: L.ones(2)),
    ((1, slice(None), [0, 9]), 1.0), ([[0, 1], [0, 9]], 1.0),
], ids=lambda v: repr(v)[:24])
@pytest.mark.parametrize("rg", [False, True], ids=["plain", "requires_grad"])
def test_failed_setitem_changes_nothing(torch, device, idx, value, rg):
    """The exception type is PyTorch's; x keeps its values and _version (PyTorch may have written
    part of it: see test_known_difference_failed_setitem_writes_nothing)."""
    def f(lib):
        x = X(lib, rg=True) * 1 if rg else X(lib)
        return unchanged_after_failure(lib, x, lambda: x.__setitem__(ix(idx, lib), ix(value, lib)))
    ours, theirs = run(f, on_device(device)), run(f, torch)
    assert isinstance(theirs, list) and isinstance(ours, list) and ours[0] == theirs[0], (ours, theirs)
    assert ours[1:] == [True, 0], ours


def test_known_difference_failed_setitem_writes_nothing(torch, device):
    # Known difference (API.md "A failed call changes nothing", stricter than PyTorch): PyTorch writes
    # the in-range positions of x[[0, 5]] = 1.0 (or of x[1, :, [0, 9]] = 1.0) before it raises
    for idx in ([0, 5], (1, slice(None), [0, 9])):
        def f(lib):
            x = X(lib)
            return unchanged_after_failure(lib, x, lambda: x.__setitem__(idx, -1.0))
        assert run(f, on_device(device)) == ["IndexError", True, 0]
        assert run(f, torch) == ["IndexError", False, 0]


# ---- known differences: the project is deliberately permissive or stricter -----------------

def test_known_difference_list_and_array_values(torch):
    # Known difference (docs/nan_semantics.md: argument types whose meaning is clear are accepted):
    # PyTorch raises TypeError "can't assign a list to a torch.DoubleTensor"; ours converts
    for value in ([1.0, 2.0, 3.0, 4.0, 5.0], (1, 2, 3, 4, 5), np.arange(5.0), np.float32(2.5)):
        assert isinstance(run(put(0, value), torch), Raised)
        x = X(ag)
        x[0] = value
        assert x[0].tolist() == np.broadcast_to(np.asarray(value, dtype=np.float64), (4, 5)).tolist()


def test_known_difference_numpy_bool_scalar_index(torch):
    # Known difference (permissive): PyTorch refuses np.bool_ as an index (IndexError); ours indexes
    # with it as with the Python bool
    assert isinstance(run(get(np.True_), torch), Raised)
    check(torch, lambda lib: X(ag)[np.True_] if lib is ag else X(lib)[True])


def test_known_difference_complex_value(torch, device):
    # Known difference (docs/nan_semantics.md: complex numbers are not supported, TypeError): PyTorch
    # raises RuntimeError "value cannot be converted to type double without overflow".
    # Bug (fixed): x[0] = 1j wrote 0 (NumPy drops the imaginary part, with a ComplexWarning)
    assert run(put(0, 1j), torch) == Raised(RuntimeError())
    assert run(put(0, 1j), on_device(device)) == Raised(TypeError())


# BUG (ops/_util.py check_fits, not indexing's; the same as test_tensor_api_differential's
# test_bug_negative_into_uint8): x[0] = -1 into a uint8 tensor raises 'value -1 cannot be converted to
# type uint8 without overflow'; PyTorch accepts -255..-1 and wraps (x[0] is 255)
def test_bug_setitem_negative_int_into_uint8(torch, device):
    for idx in (0, [0], lambda L: X(L) < 5):
        check(torch, put(idx, -1, dtype="uint8"), device=device)


# BUG (ops/_util.py check_fits, which checks only integer dtypes; fill_ and full have it too): x[0] =
# 1e300 into a float32 tensor writes inf; PyTorch raises RuntimeError 'value cannot be converted to
# type float without overflow' (float16 setitem writes inf on both)
def test_bug_setitem_float_past_float32_range(torch, device):
    for idx in (0, [0], lambda L: X(L) < 5):
        check(torch, put(idx, 1e300, dtype="float32"), device=device)
        check(torch, put(idx, -3.5e38, dtype="float32"), device=device)


# ---- second order -----------------------------------------------------------------------

@pytest.mark.parametrize("idx", [1, [0, 0, 2], (slice(None), [1, 1, 3]), lambda L: mask(L, SHAPE),
                                 (1, slice(None), [0, 2]), (None, Ellipsis, 2)], ids=lambda i: repr(i)[:20])
def test_second_order_getitem(torch, device, idx):
    def f(lib):
        w = (X(lib) / 7 + 0.5).requires_grad_()
        y = (w ** 3)[ix(idx, lib)]
        g, = lib.autograd.grad((y * y.detach()).sum(), w, create_graph=True)
        g2, = lib.autograd.grad((g * G(lib, SHAPE)).sum(), w)
        return g, g2
    check(torch, f, device=device)


@pytest.mark.parametrize("idx", [(slice(None), 1), ([0, 2], [1, 3]), lambda L: mask(L, SHAPE), [1, 1],
                                 (1, slice(None), [0, 2])], ids=lambda i: repr(i)[:20])
def test_second_order_setitem(torch, device, idx):
    if device != "cpu" and idx == [1, 1]:
        pytest.skip("x[[1, 1]] = u: which row of u lands is undefined on a GPU (CuPy, PyTorch CUDA)")
    def f(lib):
        w = (X(lib) / 7 + 0.5).requires_grad_()
        with lib.no_grad():
            vs = w[ix(idx, lib)].shape
        u = (lib.arange(int(np.prod(vs)), dtype=lib.float64).reshape(vs) / 5 + 1).requires_grad_()
        x = w ** 2
        x[ix(idx, lib)] = u ** 3
        gw, gu = lib.autograd.grad((x * x * G(lib, SHAPE)).sum(), (w, u), create_graph=True)
        h = lib.autograd.grad(gw.sum() + (gu * 2).sum(), (w, u))
        return gw, gu, h
    check(torch, f, device=device)


# ---- odds and ends ------------------------------------------------------------------------

# Bug (fixed): del x[0] raised AttributeError (Tensor had no __delitem__); PyTorch raises TypeError
# 'Tensor does not support deleting items'
def test_delitem(torch, device):
    check(torch, lambda lib: X(lib).__delitem__(0), match="does not support deleting items", device=device)


def test_uint8_index_warns_deprecated():
    x = ag.arange(3.0)
    with pytest.warns(UserWarning, match="indexing with dtype torch.uint8 is now deprecated"):
        x[ag.tensor([1, 0, 1], dtype=ag.uint8)]


# ---- random indexes (Hypothesis) ---------------------------------------------------------

@st.composite
def index_cases(draw):
    """(shape, [component spec, ...], bare, perm): specs are library-independent; build() makes them."""
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    specs, dim = [], 0
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["int", "int", "slice", "slice", "none", "ell", "list", "tensor", "tensor",
                                     "mask", "mask", "bool", "0d", "0dbool", "floats", "u8mask"]))
        size = shape[dim] if dim < len(shape) else 2
        if kind == "int":
            specs.append(("int", draw(st.integers(-size - 1, size))))
        elif kind == "slice":
            b = st.one_of(st.none(), st.integers(-6, 6))
            specs.append(("slice", slice(draw(b), draw(b), draw(st.sampled_from([None, 1, 2, 3])))))
        elif kind in ("none", "ell", "bool", "0dbool"):
            specs.append((kind, draw(st.booleans())))
            dim -= 1
        elif kind == "floats":
            specs.append((kind, draw(st.lists(st.floats(-size - 0.9, size - 0.1), min_size=1, max_size=3))))
        elif kind in ("list", "tensor", "0d"):
            n = draw(st.integers(0, 3)) if kind != "0d" else 1
            vals = draw(st.lists(st.integers(-size, max(size - 1, 0)), min_size=n, max_size=n))
            if kind == "tensor" and draw(st.booleans()) and len(vals) == 2:
                vals = [[vals[0]], [vals[1]]]                       # broadcasts against the others
            specs.append((kind, vals, draw(st.sampled_from(["int64", "int32"]))))
        else:
            k = draw(st.integers(1, 2))
            mshape = tuple(shape[dim:dim + k]) if dim + k <= len(shape) and draw(st.integers(0, 9)) else (2,) * k
            bits = draw(st.lists(st.booleans(), min_size=int(np.prod(mshape)), max_size=int(np.prod(mshape))))
            specs.append((kind, np.array(bits, dtype=bool).reshape(mshape)))
            dim += k - 1
        dim += 1
    return shape, specs, draw(st.booleans()) and len(specs) == 1, len(shape) > 1 and draw(st.booleans())


def build(specs, bare, lib):
    out = []
    for s in specs:
        kind = s[0]
        if kind in ("int", "slice"):
            out.append(s[1])
        elif kind == "none":
            out.append(None)
        elif kind == "ell":
            out.append(Ellipsis)
        elif kind == "bool":
            out.append(s[1])
        elif kind == "0dbool":
            out.append(lib.tensor(s[1]))
        elif kind == "floats":
            out.append(list(s[1]))
        elif kind == "u8mask":
            out.append(lib.tensor(s[1].tolist(), dtype=lib.uint8).reshape(s[1].shape))
        elif kind == "list":
            out.append(list(s[1]))
        elif kind == "tensor":
            out.append(lib.tensor(s[1], dtype=getattr(lib, s[2])) if s[1] else lib.zeros(0, dtype=lib.int64))
        elif kind == "0d":
            out.append(lib.tensor(s[1][0], dtype=getattr(lib, s[2])) if s[1] else lib.tensor(0))
        else:
            out.append(lib.tensor(s[1].tolist(), dtype=lib.bool).reshape(s[1].shape))
    return out[0] if bare else tuple(out)


@settings(max_examples=EXAMPLES, **SETTINGS)
@given(index_cases())
def test_random_indexes(torch, device, case):
    shape, specs, bare, perm = case
    idx = lambda L: build(specs, bare, L)      # noqa: E731
    check(torch, get(idx, shape, perm=perm), device=device)
    check(torch, put(idx, -1.0, shape, perm=perm), device=device)
    check(torch, put_grad(idx, shape=shape, perm=perm, device=device), device=device)


@pytest.mark.gpu
@needs_cuda
@settings(max_examples=max(1, EXAMPLES // 3), **SETTINGS)
@given(index_cases())
def test_random_host_indexes_into_cuda(torch, case):
    """test_random_indexes with x on cuda and the index tensors on the CPU."""
    shape, specs, bare, perm = case
    idx = lambda L: build(specs, bare, L)      # noqa: E731
    for f in (get(idx, shape, perm=perm), put(idx, -1.0, shape, perm=perm),
              put_grad(idx, shape=shape, perm=perm, device="cuda")):
        check(torch, f, device="cuda", host_indices=True)


# Bug (fixed; cuda, ops/indexing.py _check_array_bounds, found by test_random_indexes[cuda]): an
# integer index array broadcast against an empty one (a False, an empty list or tensor) selects
# nothing, yet its out-of-range values raised IndexError 'index 5 is out of bounds for dimension 0
# with size 3' on cuda; PyTorch (and our CPU path: NumPy) select nothing and raise nothing
@pytest.mark.parametrize("idx, shape", [
    ((False, [5]), (3,)),
    ((False, [0]), (0,)),
    (lambda L: (L.zeros(0, dtype=L.int64), [5]), (2, 3)),
    (lambda L: (L.zeros(0, 1, dtype=L.int64), L.tensor([5])), (2, 3)),
], ids=["false-list", "false-list-empty-x", "empty-list", "empty-2d-tensor"])
def test_index_values_never_used_are_not_bounds_checked(torch, device, idx, shape):
    check(torch, get(idx, shape), device=device)
    check(torch, put(idx, 1.0, shape), device=device)
    check(torch, put_grad(idx, shape=shape, device=device), device=device)


# Bug (fixed; ops/indexing.py empty_result_shape, both devices; found by
# test_random_host_indexes_into_cuda): an out-of-range integer index into a tensor whose result is
# empty anyway (another dim of size 0) raised IndexError 'index 7 is out of bounds for dimension 1
# with size 3' (NumPy's check on the CPU, ours on cuda); PyTorch reads no element then, checks
# nothing and returns the empty result: zeros(2, 3, 0)[[1], [7]] has shape (1, 0). Writes likewise
# write nothing, and the gradients (index_add of an empty gradient, index_put's) are zeros.
@pytest.mark.parametrize("idx, shape", [
    (([1], [7]), (2, 3, 0)), (([5], slice(None)), (2, 0)), ((Ellipsis, True, [1], slice(None)), (2, 1, 0)),
    (([[9, -9]], slice(0, 0)), (2, 3)), ((False, [5]), (3,)), (([7], [np.int64(1)], slice(None)), (2, 3, 0)),
    (([9], np.zeros(0, dtype=bool)), (2, 0)),
], ids=["two-lists", "list-slice", "ell-true-list-slice", "empty-slice", "false-list", "two-lists-empty-dim",
        "list-empty-mask"])
def test_out_of_range_index_into_an_empty_result(torch, device, idx, shape):
    check(torch, get(idx, shape), device=device)
    check(torch, put(idx, 1.0, shape), device=device)
    check(torch, put_grad(idx, shape=shape, device=device), device=device)
