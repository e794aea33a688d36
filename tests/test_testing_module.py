"""ag.testing (assert_close, make_tensor, assert_allclose) against torch.testing of PyTorch 2.13: every case
of the tables runs through torch.testing on torch tensors and through ag.testing on the same data as ag
tensors (on cpu and cuda): the same outcome and the same message text. Our objects print as ours, so
PyTorch's text is translated first (`torch.Size([2, 3])` -> `(2, 3)`, `torch.float32` ->
`autograd_gpu.float32`, `<class 'torch.Tensor'>` -> `<class 'autograd_gpu.tensor.Tensor'>`)."""
import inspect
import math
import re
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import autograd_gpu as ag

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
FLOATS = ["float16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
NAN, INF = float("nan"), float("inf")


def _ours(text):
    """PyTorch's message as ours prints it."""
    text = re.sub(r"torch\.Size\(\[(.*?)\]\)",
                  lambda m: str(tuple(int(v) for v in m.group(1).split(", ") if v)), text)
    text = re.sub(r"torch\.(" + "|".join(DTYPES) + r")\b", r"autograd_gpu.\1", text)
    return (text.replace("<class 'torch.Tensor'>", "<class 'autograd_gpu.tensor.Tensor'>")
            .replace("<class 'torch.nn.parameter.Parameter'>", "<class 'autograd_gpu.nn.parameter.Parameter'>")
            .replace("torch.testing", "autograd_gpu.testing").replace("torch.full", "autograd_gpu.full"))


def _outcome(call):
    try:
        call()
    except Exception as error:           # noqa: BLE001  (the outcome is what is compared)
        return type(error), str(error)
    return None, None


class _Lib:
    """Builds the same inputs with torch (cpu) or ag (on `device`): T(data, dtype) makes a tensor."""

    def __init__(self, lib, device):
        self.lib, self.device = lib, device

    def T(self, data, dtype="float32", **kw):
        d = getattr(self.lib, dtype)
        if self.lib is ag:
            return ag.tensor(data, dtype=d, device=self.device, **kw)
        return self.lib.tensor(data, dtype=d, **kw)

    def __getattr__(self, name):
        return getattr(self.lib, name)


def _both(torch, device, build, kwargs=None):
    """(ours, PyTorch's) outcome of assert_close on the inputs `build(L)` makes with each library."""
    kwargs = kwargs or {}
    ours = _outcome(lambda: ag.testing.assert_close(*build(_Lib(ag, device)), **kwargs))
    theirs = _outcome(lambda: torch.testing.assert_close(*build(_Lib(torch, "cpu")), **kwargs))
    return ours, theirs


def _assert_same(ours, theirs, exact=True):
    assert ours[0] is theirs[0], f"ours: {ours}\nPyTorch: {theirs}"
    if exact and theirs[1] is not None:
        assert ours[1] == _ours(theirs[1]), f"ours:\n{ours[1]}\nPyTorch:\n{theirs[1]}"


# ---- the table: (id, build(L) -> (actual, expected), kwargs) ----

def _per_dtype(dt):
    one = [[True, False], [True, True]] if dt == "bool" else [[1, 2], [3, 4]]
    other = [[True, False], [True, False]] if dt == "bool" else [[1, 2], [3, 5]]
    scalar = (True, False) if dt == "bool" else (7, 3)
    return [
        (f"{dt} equal", lambda L: (L.T(one, dt), L.T(one, dt)), {}),
        (f"{dt} one mismatch", lambda L: (L.T(one, dt), L.T(other, dt)), {}),
        (f"{dt} 0-d mismatch", lambda L: (L.T(scalar[0], dt), L.T(scalar[1], dt)), {}),
        (f"{dt} 0-d mismatch with zero expected", lambda L: (L.T(scalar[0], dt), L.T(0, dt)), {}),
        (f"{dt} empty", lambda L: (L.T(np.zeros((0, 3)), dt), L.T(np.zeros((0, 3)), dt)), {}),
        (f"{dt} empty shapes", lambda L: (L.T(np.zeros((0, 3)), dt), L.T(np.zeros((3, 0)), dt)), {}),
        (f"{dt} shape", lambda L: (L.T(one, dt), L.T(one[0], dt)), {}),
        (f"{dt} vs float64 dtype", lambda L: (L.T(one, dt), L.T(one, "float64")), {}),
        (f"{dt} vs float64 promoted", lambda L: (L.T(one, dt), L.T(other, "float64")), dict(check_dtype=False)),
        (f"{dt} vs int8 promoted", lambda L: (L.T(one, dt), L.T(other, "int8")), dict(check_dtype=False)),
        (f"{dt} tolerances given", lambda L: (L.T(one, dt), L.T(other, dt)), dict(rtol=0.1, atol=0.5)),
        (f"{dt} wide tolerances", lambda L: (L.T(one, dt), L.T(other, dt)), dict(rtol=0.2, atol=1)),
        (f"{dt} transposed views", lambda L: (L.T(one, dt).t(), L.T(other, dt).t()), {}),
    ]


_A, _B = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[1.0, 2.5, 3.0], [4.0, 5.0, 7.0]]
_TOL_EDGE = [1.0, 100.0, -3.0, 0.0]


def _close_by(dt, factor):
    """_TOL_EDGE moved by `factor` times its default tolerance."""
    rtol, atol = {"float16": (1e-3, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}[dt]
    return [v + factor * (atol + rtol * abs(v)) for v in _TOL_EDGE]


CASES = [c for dt in DTYPES for c in _per_dtype(dt)] + [
    # floating values: tolerances, NaN and inf
    *[(f"{dt} inside default tolerance", lambda L, dt=dt: (L.T(_close_by(dt, 0.5), dt), L.T(_TOL_EDGE, dt)), {})
      for dt in FLOATS],
    *[(f"{dt} outside default tolerance", lambda L, dt=dt: (L.T(_close_by(dt, 3), dt), L.T(_TOL_EDGE, dt)), {})
      for dt in FLOATS],
    *[(f"{dt} nan", lambda L, dt=dt: (L.T([NAN, 1.0], dt), L.T([NAN, 1.0], dt)), {}) for dt in FLOATS],
    *[(f"{dt} nan equal_nan", lambda L, dt=dt: (L.T([NAN, 1.0], dt), L.T([NAN, 1.0], dt)), dict(equal_nan=True))
      for dt in FLOATS],
    ("nan vs number", lambda L: (L.T([1.0, NAN, 3.0, NAN]), L.T([1.0, 2.0, 5.0, 4.0])), {}),
    ("number vs nan", lambda L: (L.T([1.0, 2.0, 5.0]), L.T([NAN, 2.0, 3.0])), dict(equal_nan=True)),
    ("0-d nan", lambda L: (L.T(NAN), L.T(NAN)), {}),
    ("inf equal", lambda L: (L.T([INF, -INF, 1.0]), L.T([INF, -INF, 1.0])), {}),
    ("inf vs -inf", lambda L: (L.T([INF, 1.0]), L.T([-INF, 1.0])), {}),
    ("inf vs large", lambda L: (L.T([INF, 1.0], "float64"), L.T([1e308, 1.0], "float64")), {}),
    ("inf with huge tolerance", lambda L: (L.T([INF]), L.T([1.0])), dict(rtol=INF, atol=INF)),
    ("expected zero", lambda L: (L.T([0.0, 1e-3]), L.T([0.0, 0.0])), {}),
    ("ties: first index", lambda L: (L.T([[1.0, 3.0], [1.0, 3.0]]), L.T([[2.0, 4.0], [2.0, 4.0]])), {}),
    ("2 / 3 mismatched", lambda L: (L.T([1.0, 4.0, 5.0]), L.T([1.0, 2.0, 3.0])), {}),
    ("float16 vs float64 tolerances", lambda L: (L.T([1.0005, 2.0], "float16"), L.T([1.0, 2.0], "float64")),
     dict(check_dtype=False)),
    ("float32 vs int64", lambda L: (L.T([1.0, 2.000001]), L.T([1, 2], "int64")), dict(check_dtype=False)),
    ("uint8 no wrap", lambda L: (L.T([1, 250], "uint8"), L.T([3, 5], "uint8")), {}),
    ("uint8 tolerance no wrap", lambda L: (L.T([137, 2], "uint8"), L.T([140, 5], "uint8")), dict(rtol=0, atol=3)),
    ("int8 extremes", lambda L: (L.T([-128, 127], "int8"), L.T([127, -128], "int8")), dict(rtol=0, atol=3)),
    ("int64 extremes", lambda L: (L.T([2 ** 62, -2 ** 62], "int64"), L.T([-2 ** 62, 2 ** 62], "int64")), {}),
    ("int32 rounded to float32", lambda L: (L.T([1794994109], "int32"), L.T([1794994112], "int32")),
     dict(rtol=0, atol=3)),
    ("bool vs float tolerance", lambda L: (L.T([True, False], "bool"), L.T([0.9, 0.0])),
     dict(check_dtype=False, rtol=0, atol=0.2)),
    ("zero tolerances on floats", lambda L: (L.T([1.0, 2.0]), L.T([1.0, 2.0000002])), dict(rtol=0, atol=0)),
    ("int tolerances printed", lambda L: (L.T(_A), L.T(_B)), dict(rtol=0, atol=1)),
    ("rtol only", lambda L: (L.T(_A), L.T(_A)), dict(rtol=1e-3)),
    ("atol only", lambda L: (L.T(_A), L.T(_A)), dict(atol=1e-3)),
    ("requires_grad ignored", lambda L: (L.T(_A, requires_grad=True), L.T(_B)), {}),
    ("requires_grad equal", lambda L: (L.T(_A, requires_grad=True) * 1, L.T(_A)), {}),
    ("3-d index", lambda L: (L.T(np.arange(24.0).reshape(2, 3, 4)), L.T(np.arange(24.0).reshape(2, 3, 4) + (
        np.arange(24) == 17))), {}),
    # strides
    ("check_stride differ", lambda L: (L.zeros(2, 3), L.zeros(3, 2).t()), dict(check_stride=True)),
    ("check_stride off", lambda L: (L.zeros(2, 3), L.zeros(3, 2).t()), {}),
    ("check_stride same", lambda L: (L.zeros(2, 3), L.ones(2, 3) * 0), dict(check_stride=True)),
    # subclasses
    ("parameter vs tensor", lambda L: (L.nn.Parameter(L.T(_A)), L.T(_A)), {}),
    ("parameter vs tensor strict", lambda L: (L.nn.Parameter(L.T(_A)), L.T(_A)), dict(allow_subclasses=False)),
    ("tensor vs parameter mismatch", lambda L: (L.T(_B), L.nn.Parameter(L.T(_A))), {}),
    # Python and NumPy scalars, None, NumPy arrays, unpairable inputs
    ("ints", lambda L: (1, 1), {}),
    ("ints differ", lambda L: (1, 2), {}),
    ("int vs float", lambda L: (1, 1.0), {}),
    ("int vs float unchecked", lambda L: (1, 1.0), dict(check_dtype=False)),
    ("floats close", lambda L: (1.0, 1.0 + 1e-8), {}),
    ("floats differ", lambda L: (1.0, 1.1), {}),
    ("float vs zero", lambda L: (1e-6, 0.0), {}),
    ("float nan", lambda L: (NAN, NAN), {}),
    ("float nan equal_nan", lambda L: (NAN, NAN), dict(equal_nan=True)),
    ("float inf", lambda L: (INF, INF), {}),
    ("float inf vs -inf", lambda L: (INF, -INF), {}),
    ("complex", lambda L: (1 + 1j, 1 + 2j), {}),
    ("float scalars given tolerances", lambda L: (1.0, 1.05), dict(rtol=0.0, atol=0.1)),
    ("float scalars rtol only", lambda L: (1.0, 1.0), dict(rtol=0.1)),
    ("bools", lambda L: (True, True), {}),
    ("bools differ", lambda L: (True, False), {}),
    ("bool vs int", lambda L: (True, 1), {}),
    ("None", lambda L: (None, None), {}),
    ("None vs number", lambda L: (None, 1), {}),
    ("numpy float32 scalars", lambda L: (np.float32(1.5), np.float32(1.75)), {}),
    ("numpy float64 vs float", lambda L: (np.float64(2.0), 2.0), {}),
    ("numpy int vs float", lambda L: (np.int64(3), 3.5), {}),
    ("numpy bool vs bool", lambda L: (np.bool_(True), False), {}),
    ("numpy arrays", lambda L: (np.array(_A), np.array(_B)), {}),
    ("numpy float32 arrays", lambda L: (np.array(_A, np.float32), np.array(_A, np.float32)), {}),
    ("numpy 0-d arrays", lambda L: (np.array(2.0), np.array(3.0)), {}),
    ("numpy array vs tensor", lambda L: (np.array(_A), L.T(_A)), {}),
    ("tensor vs number", lambda L: (L.T(1.0), 1.0), {}),
    ("strings", lambda L: ("a", "a"), {}),
    ("sets", lambda L: ({1}, {1}), {}),
    # containers
    ("list", lambda L: ([L.T(_A), L.T(_A)], [L.T(_A), L.T(_B)]), {}),
    ("tuple vs list", lambda L: ((L.T(_A), 1.0), [L.T(_A), 1.0]), {}),
    ("length", lambda L: ([L.T(_A)], [L.T(_A), L.T(_A)]), {}),
    ("nested length", lambda L: ([[1, 2], [3]], [[1, 2], [3, 4]]), {}),
    ("mapping", lambda L: ({"a": L.T(_A), "b": L.T(_A)}, OrderedDict(b=L.T(_B), a=L.T(_A))), {}),
    ("mapping keys", lambda L: ({"a": 1, "b": 2}, {"a": 1, "c": 2, "d": 3}), {}),
    ("nested path", lambda L: ([{"x": [L.T(_A), L.T(_A)]}], [{"x": [L.T(_A), L.T(_B)]}]), {}),
    ("first failure reported", lambda L: ([1, L.T(_A), 3], [2, L.T(_B), 4]), {}),
    ("unpairable inside", lambda L: ([1, L.T(_A)], [1, 2.0]), {}),
    ("rtol only inside", lambda L: ([1.0, L.T(_A)], [1.0, L.T(_A)]), dict(rtol=0.5)),
    ("string vs list", lambda L: ("ab", ["a", "b"]), {}),
    ("range", lambda L: (range(3), [0, 1, 3]), {}),
    ("empty containers", lambda L: ([], {}), {}),
    # msg
    ("msg str", lambda L: (L.T(_A), L.T(_B)), dict(msg="Argh, the tensors are not close!")),
    ("msg empty str", lambda L: (L.T(_A), L.T(_B)), dict(msg="")),
    ("msg callable", lambda L: (L.T(_A), L.T(_B)), dict(msg=lambda m: f"Header\n\n{m}\n\nFooter")),
    ("msg callable with item", lambda L: ([L.T(_A)], [L.T(_B)]), dict(msg=lambda m: m.upper())),
    ("msg str with item", lambda L: ({"k": 1}, {"k": 2}), dict(msg="custom")),
    ("msg ignored for length", lambda L: ([1], [1, 2]), dict(msg="custom")),
    ("msg ignored for rtol only", lambda L: (1.0, 1.0), dict(rtol=0.1, msg="custom")),
    ("msg ignored for unpairable", lambda L: (L.T(_A), 1.0), dict(msg="custom")),
    ("msg on shape", lambda L: (L.T(_A), L.T(_A[0])), dict(msg=lambda m: "<" + m + ">")),
]
# PyTorch fails these unexpectedly (a RuntimeError wrapping an internal error): the type is compared
NOT_TEXT = {"bool vs int", "negative rtol"}
CASES.append(("negative rtol", lambda L: (L.T(_A), L.T(_B)), dict(rtol=-1.0, atol=0.0)))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_assert_close_as_pytorch(torch, device, case):
    name, build, kwargs = case
    ours, theirs = _both(torch, device, build, kwargs)
    _assert_same(ours, theirs, exact=name not in NOT_TEXT)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("tolerances", [{}, dict(rtol=1e-3, atol=1e-4), dict(rtol=0.05, atol=0.0)],
                         ids=["default", "given", "rtol"])
def test_assert_close_near_the_tolerance(torch, device, dt, tolerances):
    """Values straddling the tolerance, random: the same elements mismatch, the same greatest differences
    (float16 arithmetic rounded as PyTorch rounds it)."""
    rng = np.random.default_rng(len(dt) + len(tolerances))
    rtol, atol = tolerances.get("rtol", 1e-3), tolerances.get("atol", 1e-5)
    expected = (rng.standard_normal(300) * 10.0 ** rng.integers(-2, 3, 300)).astype(dt)
    actual = (expected + (atol + rtol * np.abs(expected)) * rng.uniform(0.5, 1.5, 300)).astype(dt)

    def build(L):
        return L.T(actual, dt).reshape(3, 10, 10), L.T(expected, dt).reshape(3, 10, 10)
    ours, theirs = _both(torch, device, build, tolerances)
    _assert_same(ours, theirs)


@pytest.mark.parametrize("dt", INTS + ["bool"])
def test_assert_close_integer_tolerances_as_pytorch(torch, device, dt):
    rng = np.random.default_rng(3)
    info = np.iinfo(dt) if dt != "bool" else None
    if info is None:
        a, e = rng.integers(0, 2, 64).astype(bool), rng.integers(0, 2, 64).astype(bool)
    else:
        a = rng.integers(info.min, info.max, 64, dtype=dt, endpoint=True)
        e = (a.astype(np.int64) + rng.integers(-4, 5, 64)).clip(info.min, info.max).astype(dt)
    for kwargs in ({}, dict(rtol=0.0, atol=2), dict(rtol=1e-3, atol=0.5)):
        ours, theirs = _both(torch, device, lambda L: (L.T(a, dt), L.T(e, dt)), kwargs)
        _assert_same(ours, theirs)


def test_assert_close_tensor_vs_none(torch, device):
    """PyTorch's text, with the tensor printed as ours prints (libtorch's format)."""
    t = ag.tensor(_A, device=device)
    assert _outcome(lambda: ag.testing.assert_close(t, None)) == (AssertionError, f"None mismatch: {t} is not None")
    theirs = _outcome(lambda: torch.testing.assert_close(torch.tensor(_A), None))
    assert theirs == (AssertionError, f"None mismatch: {torch.tensor(_A)} is not None")


def test_assert_close_device(torch, device):
    """Tensors on different devices: PyTorch's message (checked against its own cpu-vs-meta text, the only
    other device a CPU build has); check_device=False compares the values on the host."""
    a, b = ag.tensor(_A, device=device), ag.tensor(_B)
    ours = _outcome(lambda: ag.testing.assert_close(a, ag.tensor(_A)))
    if device == "cpu":
        assert ours == (None, None)
        return
    theirs = _outcome(lambda: torch.testing.assert_close(torch.tensor(_A), torch.tensor(_A, device="meta")))
    assert theirs[0] is AssertionError and ours[0] is AssertionError
    assert ours[1] == theirs[1].replace("cpu != meta", "cuda:0 != cpu")
    assert _outcome(lambda: ag.testing.assert_close(a, ag.tensor(_A), check_device=False)) == (None, None)
    mixed = _outcome(lambda: ag.testing.assert_close(a, b, check_device=False))
    on_cpu = _outcome(lambda: torch.testing.assert_close(torch.tensor(_A), torch.tensor(_B)))
    assert mixed == on_cpu
    # dtype is checked after the device, and with check_device=False still checked
    ours = _outcome(lambda: ag.testing.assert_close(a, ag.tensor(_A, dtype=ag.float64), check_device=False))
    assert ours == (AssertionError, "The values for attribute 'dtype' do not match: autograd_gpu.float32 != "
                                    "autograd_gpu.float64.")


def test_assert_close_leaves_inputs_alone(device):
    a = ag.tensor(_A, device=device, requires_grad=True)
    b = ag.tensor(_B, device=device)
    before = (a._version, b._version, a.grad, b.tolist())
    with pytest.raises(AssertionError):
        ag.testing.assert_close(a, b, check_dtype=False)
    assert (a._version, b._version, a.grad, b.tolist()) == before and a.is_leaf


def test_assert_close_default_tolerance_table():
    """The documented table: half of a tolerance passes, twice fails, for rtol and atol separately."""
    for dt, (rtol, atol) in {ag.float16: (1e-3, 1e-5), ag.float32: (1.3e-6, 1e-5),
                             ag.float64: (1e-7, 1e-7)}.items():
        big, small = 100.0, 0.0
        ag.testing.assert_close(ag.tensor([big * (1 + rtol / 2)], dtype=dt), ag.tensor([big], dtype=dt))
        ag.testing.assert_close(ag.tensor([small + atol / 2], dtype=dt), ag.tensor([small], dtype=dt))
        with pytest.raises(AssertionError):
            ag.testing.assert_close(ag.tensor([big * (1 + 4 * rtol)], dtype=dt), ag.tensor([big], dtype=dt))
        with pytest.raises(AssertionError):
            ag.testing.assert_close(ag.tensor([small + 4 * atol], dtype=dt), ag.tensor([small], dtype=dt))
    for dt in (ag.bool, *[getattr(ag, d) for d in INTS]):
        with pytest.raises(AssertionError, match="not equal"):
            ag.testing.assert_close(ag.tensor([1], dtype=dt), ag.tensor([0], dtype=dt))


# ---- assert_allclose (deprecated, still in PyTorch 2.13) ----

ALLCLOSE_CASES = [
    ("float32 loose", lambda L: (L.T([1.00005]), L.T([1.0])), {}),
    ("float32 too far", lambda L: (L.T([1.001, 2.0]), L.T([1.0, 2.0])), {}),
    ("float16", lambda L: (L.T([1.0015], "float16"), L.T([1.0], "float16")), {}),
    ("float64", lambda L: (L.T([1.000001], "float64"), L.T([1.0], "float64")), {}),
    ("nan equal by default", lambda L: (L.T([NAN]), L.T([NAN])), {}),
    ("nan not equal", lambda L: (L.T([NAN]), L.T([NAN])), dict(equal_nan=False)),
    ("lists", lambda L: ([1.0, 2.0], [1.0, 2.5]), {}),
    ("tensor vs list", lambda L: (L.T([1, 2], "int64"), [1.0, 2.0]), {}),
    ("number vs tensor", lambda L: (1.0, L.T(1.0, "float64")), {}),
    ("dtypes not checked", lambda L: (L.T([1, 2], "int32"), L.T([1.0, 2.0], "float64")), {}),
    ("msg", lambda L: (L.T([1.0]), L.T([2.0])), dict(msg="custom")),
    ("tolerances given", lambda L: (L.T([1.0]), L.T([1.5])), dict(rtol=0.0, atol=0.6)),
    ("rtol only", lambda L: (L.T([1.0]), L.T([1.0])), dict(rtol=0.1)),
    ("shape", lambda L: (L.T([1.0]), L.T([1.0, 2.0])), {}),
]


MADE_ON_CPU = {"tensor vs list", "number vs tensor"}


@pytest.mark.parametrize("case", ALLCLOSE_CASES, ids=[c[0] for c in ALLCLOSE_CASES])
def test_assert_allclose_as_pytorch(torch, device, case):
    name, build, kwargs = case
    results = []
    for lib, dev in ((ag, device), (torch, "cpu")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append(_outcome(lambda: lib.testing.assert_allclose(*build(_Lib(lib, dev)), **kwargs)))
        future = [str(w.message) for w in caught if w.category is FutureWarning]
        assert len(future) == 1, caught
        results.append(future[0])
    ours, our_warning, theirs, their_warning = results
    if device != "cpu" and name in MADE_ON_CPU:     # as PyTorch's: the non-tensor becomes a cpu tensor
        assert ours[0] is AssertionError and "attribute 'device' do not match" in ours[1]
    else:
        _assert_same(ours, theirs)
    assert our_warning == _ours(their_warning)


# ---- make_tensor ----

def _make_both(torch, device, *shape, **kw):
    """make_tensor from both libraries: (ours, PyTorch's); a memory_format given is PyTorch's object."""
    dt = kw.pop("dtype")
    ours = ag.testing.make_tensor(*shape, dtype=getattr(ag, dt), device=device, **kw)
    theirs = torch.testing.make_tensor(*shape, dtype=getattr(torch, dt), device="cpu", **kw)
    return ours, theirs


def _values(t):
    return t.detach().cpu().numpy()


@pytest.mark.parametrize("dt", DTYPES)
def test_make_tensor_default_range(torch, device, dt):
    ours, theirs = _make_both(torch, device, 40, 50, dtype=dt)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == getattr(ag, dt)
    assert ours.device == ag.device(device) and ours.is_contiguous() and not ours.requires_grad
    a, b = _values(ours), theirs.numpy()
    if dt in FLOATS:
        assert a.min() >= -9 and a.max() < 9 and np.isfinite(a).all()
        assert a.min() < -8 and a.max() > 8 and len(np.unique(a)) > 100
    else:                                   # 2000 draws: every value of the small range appears in both
        assert set(np.unique(a).tolist()) == set(np.unique(b).tolist())


@pytest.mark.parametrize("dt,low,high", [
    ("uint8", -100, 3), ("int8", 120, 1000), ("int16", 0.5, 2.5), ("int64", -1.5, 0.2), ("bool", -5, 5),
    ("bool", 0.5, None), ("int32", None, -8), ("uint8", 250, 1000)])
def test_make_tensor_integer_bounds_as_pytorch(torch, device, dt, low, high):
    """Bounds clamped to the dtype and rounded up: the same set of values (enough draws to see them all)."""
    ours, theirs = _make_both(torch, device, 3000, dtype=dt, low=low, high=high)
    assert set(np.unique(_values(ours)).tolist()) == set(np.unique(theirs.numpy()).tolist())


@pytest.mark.parametrize("dt,low,high", [("float16", -1e6, 1e6), ("float64", -1e308, 1e308),
                                         ("float32", 2.5, 2.75), ("float16", None, -8.5), ("float64", 8.999, None)])
def test_make_tensor_float_bounds(torch, device, dt, low, high):
    ours, theirs = _make_both(torch, device, 500, dtype=dt, low=low, high=high)
    a, b = _values(ours), theirs.numpy()
    assert np.isfinite(a).all() and a.dtype == b.dtype
    lo = max(-9 if low is None else low, float(np.finfo(dt).min))
    hi = min(9 if high is None else high, float(np.finfo(dt).max))
    assert a.min() >= lo and a.max() <= hi
    span = hi - lo                          # both spread over the range
    assert a.min() < lo + span / 10 and a.max() > hi - span / 10
    assert b.min() < lo + span / 10 and b.max() > hi - span / 10


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 5), (5,), (1, 1), ()])
@pytest.mark.parametrize("dt", ["float32", "int64", "bool"])
def test_make_tensor_noncontiguous(torch, device, shape, dt):
    ours, theirs = _make_both(torch, device, *shape, dtype=dt, noncontiguous=True)
    assert ours.shape == tuple(theirs.shape) and ours.stride() == theirs.stride()
    assert ours.is_contiguous() == theirs.is_contiguous() == (math.prod(shape) <= 1)
    ag.testing.assert_close(ours.contiguous(), ours)       # the same values read either way


def test_make_tensor_memory_format(torch, device):
    for fmt, shape in (("channels_last", (2, 3, 4, 5)), ("channels_last_3d", (2, 3, 2, 4, 5)),
                       ("contiguous_format", (2, 3)), ("preserve_format", (2, 3))):
        theirs = torch.testing.make_tensor(shape, dtype=torch.float32, device="cpu",
                                           memory_format=getattr(torch, fmt))
        for spelled in (getattr(torch, fmt), fmt):
            ours = ag.testing.make_tensor(shape, dtype=ag.float32, device=device, memory_format=spelled)
            assert ours.shape == tuple(theirs.shape) and ours.stride() == theirs.stride()
    for lib in (torch, ag):                 # channels_last needs 4 dimensions: RuntimeError in both
        with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
            lib.testing.make_tensor(2, 3, dtype=lib.float32, device="cpu", memory_format=torch.channels_last)


@pytest.mark.parametrize("dt", DTYPES)
def test_make_tensor_exclude_zero(torch, device, dt):
    kw = {} if dt == "bool" else dict(low=0, high=1e-7) if dt == "float16" else dict(low=-1, high=1)
    ours, theirs = _make_both(torch, device, 2000, dtype=dt, exclude_zero=True, **kw)
    a, b = _values(ours), theirs.numpy()
    assert (a != 0).all() and (b != 0).all()
    if dt not in FLOATS:                    # the replacement values are PyTorch's
        assert set(np.unique(a).tolist()) == set(np.unique(b).tolist())
    elif dt == "float16":                   # (zeros were drawn) replaced by the smallest normal float16
        assert float(np.finfo(np.float16).smallest_normal) in a.tolist() and 2.0 ** -14 in b.tolist()
    ours = ag.testing.make_tensor(3, 4, dtype=getattr(ag, dt), device=device, exclude_zero=True,
                                  noncontiguous=True, **kw)
    assert not ours.is_contiguous() and (_values(ours) != 0).all()


@pytest.mark.parametrize("dt", FLOATS)
def test_make_tensor_requires_grad(device, dt):
    for noncontiguous in (False, True):
        t = ag.testing.make_tensor(2, 3, dtype=getattr(ag, dt), device=device, requires_grad=True,
                                   noncontiguous=noncontiguous)
        assert t.requires_grad and t.is_leaf and t.grad_fn is None
        (t * 2).sum().backward()
        ag.testing.assert_close(t.grad, ag.full((2, 3), 2.0, dtype=getattr(ag, dt), device=device))


def test_make_tensor_low_equal_high(torch, device):
    """Deprecated for floating dtypes (FutureWarning, PyTorch's text): every value is `low`."""
    messages = []
    for lib, dev in ((ag, device), (torch, "cpu")):
        with pytest.warns(FutureWarning) as caught:
            t = lib.testing.make_tensor(4, dtype=lib.float32, device=dev, low=2.5, high=2.5)
        assert (t == 2.5).all()
        messages.append(str(caught[0].message))
    assert messages[0] == _ours(messages[1])


BAD_MAKE = [
    ("nan low", dict(dtype="float32", low=NAN)),
    ("nan high", dict(dtype="int64", high=NAN)),
    ("low >= high", dict(dtype="float32", low=3, high=1)),
    ("int low == high", dict(dtype="int8", low=2, high=2)),
    ("below the dtype", dict(dtype="uint8", low=-10, high=-1)),
    ("above the dtype", dict(dtype="int8", low=200, high=300)),
    ("above float16", dict(dtype="float16", low=70000.0, high=80000.0)),
    ("requires_grad int", dict(dtype="int64", requires_grad=True)),
    ("requires_grad bool", dict(dtype="bool", requires_grad=True)),
    ("noncontiguous and memory_format", dict(dtype="float32", noncontiguous=True,
                                             memory_format="contiguous_format")),
]


@pytest.mark.parametrize("case", BAD_MAKE, ids=[c[0] for c in BAD_MAKE])
def test_make_tensor_bad_input_as_pytorch(torch, device, case):
    _, kw = case

    def make(lib, dev):
        args = dict(kw, dtype=getattr(lib, kw["dtype"]))
        if "memory_format" in args:         # (PyTorch's object: ours takes it, or its name)
            args["memory_format"] = getattr(torch, args["memory_format"])
        return lambda: lib.testing.make_tensor(2, 3, device=dev, **args)
    ours, theirs = _outcome(make(ag, device)), _outcome(make(torch, "cpu"))
    assert theirs[0] is not None
    _assert_same(ours, theirs)


def test_make_tensor_unsupported_dtype(torch):
    """TypeError with PyTorch's sentence (less its request to file a PyTorch issue)."""
    for dtype in (None, "float32", np.float32):
        ours = _outcome(lambda: ag.testing.make_tensor(2, dtype=dtype, device="cpu"))
        theirs = _outcome(lambda: torch.testing.make_tensor(2, dtype=dtype, device="cpu"))
        assert ours[0] is theirs[0] is TypeError
        assert ours[1] == _ours(theirs[1]).partition(" To request support")[0]


def test_make_tensor_shapes(torch, device):
    for shape in [(2, 3), ((2, 3),), ([2, 3],), ((),), (0, 4), (torch.Size([3, 1]),)]:
        ours = ag.testing.make_tensor(*shape, dtype=ag.float32, device=device)
        theirs = torch.testing.make_tensor(*shape, dtype=torch.float32, device="cpu")
        assert ours.shape == tuple(theirs.shape)


def test_public_names(torch):
    """The names and signatures of torch.testing's public functions."""
    assert sorted(ag.testing.__all__) == ["assert_allclose", "assert_close", "make_tensor"]
    for name in ag.testing.__all__:
        ours = inspect.signature(getattr(ag.testing, name))
        theirs = inspect.signature(getattr(torch.testing, name))
        assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
            [(p.name, p.kind, p.default) for p in theirs.parameters.values()], name
