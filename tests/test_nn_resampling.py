"""Resampling (ag.nn.functional's pixel/channel shuffles, interpolate and its
deprecated aliases, grid_sample, affine_grid; the padding, shuffle and
Upsample modules) against PyTorch CPU: values, gradients (second order too),
PyTorch's coordinate rules over a sweep of sizes and scale factors, float16,
uint8, empty and non-finite inputs, warnings, bad input, module reprs."""
import itertools
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn
from oracle import U, case_tests, gradcheck, assert_matches as _close, tensor_pair as _pair

FN = lambda lib: lib.nn.functional      # noqa: E731
NO_NAME = {"name": False}               # composites: grad_fn names are not PyTorch's


def _interp(shape, **kw):
    return (f"interpolate {kw.get('mode', 'nearest')} {shape} "
            + " ".join(f"{k}={v}" for k, v in kw.items() if k != "mode"),
            lambda L, x: FN(L).interpolate(x, **kw), [shape], NO_NAME)


def _grid_fn(mode, padding_mode, align_corners):
    return lambda L, x, g: FN(L).grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)


GRID_MODES = [(m, p, a, 4) for m, p, a in itertools.product(("bilinear", "nearest", "bicubic"),
                                                            ("zeros", "border", "reflection"), (False, True))]
GRID_MODES += [(m, p, a, 5) for (m, a), p in itertools.product((("bilinear", False), ("bilinear", True),
                                                                ("nearest", True)), ("zeros", "border", "reflection"))]


def _grid_cases(small):
    """grid_sample in every mode x padding x align_corners, grid points beyond [-1, 1] too; `small`
    shapes for the finite-difference checks."""
    shapes = {4: ((1, 1, 3, 3), (1, 2, 2, 2)) if small else ((1, 2, 3, 4), (1, 3, 2, 2)),
              5: ((1, 1, 2, 2, 2), (1, 1, 2, 2, 3)) if small else ((1, 1, 2, 3, 2), (1, 2, 1, 2, 3))}
    return [(f"grid_sample {d}D {m} {p} align_corners={a}", _grid_fn(m, p, a),
             [shapes[d][0], U(shapes[d][1], -1.6, 1.6)], {"name": False, "fd": False}) for m, p, a, d in GRID_MODES]


SHUFFLE_CASES = [
    ("pixel_shuffle", lambda L, x: FN(L).pixel_shuffle(x, 2), [(2, 8, 2, 3)], NO_NAME),
    ("pixel_shuffle unbatched", lambda L, x: FN(L).pixel_shuffle(x, 3), [(9, 2, 1)], NO_NAME),
    ("pixel_shuffle 5-D", lambda L, x: FN(L).pixel_shuffle(x, 2), [(2, 1, 4, 2, 2)], NO_NAME),
    ("pixel_unshuffle", lambda L, x: FN(L).pixel_unshuffle(x, 2), [(2, 1, 4, 6)], NO_NAME),
    ("pixel_unshuffle unbatched", lambda L, x: FN(L).pixel_unshuffle(x, 3), [(2, 6, 3)], NO_NAME),
    ("channel_shuffle 3-D", lambda L, x: FN(L).channel_shuffle(x, 3), [(2, 6, 3)], NO_NAME),
    ("channel_shuffle 4-D", lambda L, x: FN(L).channel_shuffle(x, 2), [(1, 4, 2, 2)], NO_NAME),
]

INTERP_CASES = [
    _interp((2, 3, 4), size=7),
    _interp((2, 2, 5), scale_factor=0.6),
    _interp((1, 2, 4, 4), scale_factor=(1.7, 0.5)),
    _interp((1, 1, 2, 3, 4), size=(3, 2, 5)),
    _interp((1, 2, 3, 4), mode="nearest-exact", size=(5, 3)),
    _interp((2, 2, 3), mode="nearest-exact", scale_factor=2.5),
    _interp((2, 2, 4), mode="linear", size=7, align_corners=False),
    _interp((2, 2, 7), mode="linear", size=3, align_corners=True),
    _interp((2, 2, 4), mode="linear", scale_factor=1.7),
    _interp((2, 2, 4), mode="linear", scale_factor=1.7, recompute_scale_factor=True),
    _interp((1, 2, 3, 4), mode="bilinear", size=(5, 3), align_corners=False),
    _interp((1, 2, 4, 4), mode="bilinear", scale_factor=(1.5, 0.75), align_corners=True),
    _interp((1, 1, 3, 4), mode="bilinear", scale_factor=2.3, recompute_scale_factor=True),
    _interp((1, 1, 3, 4), mode="bicubic", size=(5, 7), align_corners=False),
    _interp((1, 2, 4, 5), mode="bicubic", size=(2, 3), align_corners=True),
    _interp((1, 1, 3, 3), mode="bicubic", scale_factor=1.5),
    _interp((1, 1, 2, 3, 3), mode="trilinear", size=(3, 4, 2), align_corners=False),
    _interp((1, 1, 2, 2, 3), mode="trilinear", scale_factor=(2, 1.5, 0.5), align_corners=True),
    _interp((2, 2, 7), mode="area", size=3),
    _interp((1, 1, 3), mode="area", size=5),
    _interp((1, 2, 5, 4), mode="area", size=(2, 6)),
    _interp((1, 1, 4, 3, 2), mode="area", scale_factor=0.5),
    _interp((1, 2, 6, 5), mode="bilinear", size=(3, 2), antialias=True),
    _interp((1, 1, 7, 6), mode="bicubic", size=(3, 4), align_corners=True, antialias=True),
    _interp((1, 1, 3, 4), mode="bilinear", scale_factor=(1.5, 0.6), antialias=True),
]

GRID_CASES = _grid_cases(small=False) + [
    ("grid_sample batch of 2, grid 1x1", lambda L, x, g: FN(L).grid_sample(x, g, align_corners=False),
     [(2, 1, 2, 3), U((2, 1, 1, 2), -1.2, 1.2)], {}),
    ("grid_sample 1x1 input reflection", lambda L, x, g: FN(L).grid_sample(x, g, padding_mode="reflection",
                                                                          align_corners=True),
     [(1, 1, 1, 1), U((1, 2, 2, 2), -1.5, 1.5)], {}),
    ("affine_grid 2-D", lambda L, t: FN(L).affine_grid(t, (2, 1, 3, 4), align_corners=False), [(2, 2, 3)], {}),
    ("affine_grid 2-D align_corners", lambda L, t: FN(L).affine_grid(t, [1, 3, 2, 3], align_corners=True),
     [(1, 2, 3)], {}),
    ("affine_grid 3-D", lambda L, t: FN(L).affine_grid(t, (1, 1, 2, 3, 2), align_corners=False), [(1, 3, 4)],
     NO_NAME),
    ("affine_grid 3-D align_corners", lambda L, t: FN(L).affine_grid(t, (2, 2, 2, 1, 3), align_corners=True),
     [(2, 3, 4)], {}),
    ("affine_grid into grid_sample",
     lambda L, x, t: FN(L).grid_sample(x, FN(L).affine_grid(t, (1, 2, 3, 3), align_corners=False),
                                       align_corners=False), [(1, 2, 4, 3), U((1, 2, 3), -1, 1)], {}),
]

CASES = SHUFFLE_CASES + INTERP_CASES + GRID_CASES
GRID_FD = _grid_cases(small=True)
# Finite differences (second order included) run for every case on the CPU, and for one case of each
# kind on every device too (on the GPU emulator they take seconds).
FD_ON_DEVICES = ("pixel_shuffle", "channel_shuffle 4-D", "interpolate nearest (1, 2, 4, 4) scale_factor=(1.7, 0.5)",
                 "interpolate linear (2, 2, 4) scale_factor=1.7", "interpolate bicubic (1, 1, 3, 3) scale_factor=1.5",
                 "interpolate trilinear (1, 1, 2, 2, 3) scale_factor=(2, 1.5, 0.5) align_corners=True",
                 "interpolate area (2, 2, 7) size=3",
                 "interpolate bilinear (1, 1, 3, 4) scale_factor=(1.5, 0.6) antialias=True", "affine_grid 3-D",
                 "affine_grid into grid_sample", "grid_sample 4D bilinear zeros align_corners=False",
                 "grid_sample 4D nearest reflection align_corners=True",
                 "grid_sample 4D bicubic border align_corners=False",
                 "grid_sample 5D bilinear reflection align_corners=True")
FD_CPU = [c for c in CASES if c[3].get("fd", True)] + GRID_FD
FD_DEVICES = [c for c in FD_CPU if c[0] in FD_ON_DEVICES]
assert len(FD_DEVICES) == len(FD_ON_DEVICES)
test_against_pytorch, _, test_second_order = case_tests(CASES)
pytestmark = pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid")


def _fd_check(case, device):
    _, fn, inputs, opts = case
    gradcheck(fn, *inputs, device=device, low=opts.get("low", -2.0), high=opts.get("high", 2.0))


@pytest.mark.parametrize("case", FD_CPU, ids=[c[0] for c in FD_CPU])
def test_gradcheck_cpu(case):
    _fd_check(case, "cpu")


@pytest.mark.parametrize("case", FD_DEVICES, ids=[c[0] for c in FD_DEVICES])
def test_gradcheck(case, device):
    _fd_check(case, device)


def _np(t):
    return t.detach().cpu().numpy()


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_native_channel_shuffle_is_differentiable_divergence(torch, device):
    """Known divergence: PyTorch's native_channel_shuffle has no derivative ("derivative for
    aten::native_channel_shuffle is not implemented"); ours is channel_shuffle, gradient included."""
    x = _rng().normal(size=(2, 6, 2, 1, 2))
    ox, tx = _pair(torch, x, device)
    o, t = F.native_channel_shuffle(ox, 2), torch.nn.functional.native_channel_shuffle(tx, 2)
    _close(o, t)
    with pytest.raises(RuntimeError, match="derivative for aten::native_channel_shuffle is not implemented"):
        t.sum().backward()
    g = _rng(1).normal(size=x.shape)
    o.backward(ag.tensor(g, device=device))
    tx2 = torch.tensor(x, requires_grad=True)
    torch.nn.functional.channel_shuffle(tx2, 2).backward(torch.tensor(g))
    _close(ox.grad, tx2.grad)


# ---- PyTorch's coordinate rules over many sizes ---------------------------------------------------------

def _sweep(mode):
    """(input shape, kwargs) over sizes that grow and shrink, scale factors used as given and recomputed."""
    two_d = mode in ("bilinear", "bicubic")
    for n_in, n_out in itertools.product((1, 3, 5, 7), (1, 2, 4, 6, 11)):
        shape = (1, 2, 2, n_in) if two_d else (1, 2, n_in)
        for ac in ((False, True) if mode in ("linear", "bilinear", "bicubic") else (None,)):
            yield shape, dict(size=(3, n_out) if two_d else n_out, align_corners=ac)
            for s in (n_out / n_in, 1.1, 0.7, 1 / 3):
                if n_in * s >= 1:
                    for rec in (None, True):
                        yield shape, dict(scale_factor=(1.5, s) if two_d else s, align_corners=ac,
                                          recompute_scale_factor=rec)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "area"])
def test_coordinates_match_pytorch_over_sizes(torch, mode, dtype):
    """Forward values over a sweep of sizes (the index and weight rules: floorf'd float32
    positions, half-pixel vs corner alignment, the given scale factor vs the sizes)."""
    for shape, kw in _sweep(mode):
        x = _rng().normal(size=shape)
        o = F.interpolate(ag.tensor(x, dtype=dtype), mode=mode, **kw)
        t = torch.nn.functional.interpolate(torch.tensor(x, dtype=getattr(torch, dtype)), mode=mode, **kw)
        assert o.shape == tuple(t.shape), (shape, kw)
        np.testing.assert_allclose(_np(o), t.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{shape} {kw}")


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "linear", "bilinear", "bicubic"])
def test_gradients_match_pytorch_over_sizes(torch, mode):
    """float32/float64 interpolate on NumPy is one node (its graph: that node and the leaf), whose
    backward adds each tap's g w back at its source places, many outputs to a place when
    upsampling (x5.3), some places none when downsampling: PyTorch's gradients over the sweep."""
    for dtype in ("float64", "float32"):
        for shape, kw in itertools.chain(_sweep(mode), [((2, 3, 4, 5) if mode != "linear" else (2, 3, 5),
                                                         dict(scale_factor=5.3))]):
            x = _rng().normal(size=shape)
            grads = []
            for L in (ag, torch):
                t = L.tensor(x, dtype=getattr(L, dtype), requires_grad=True)
                y = L.nn.functional.interpolate(t, mode=mode, **kw)
                g = _rng(1).normal(size=tuple(y.shape))
                y.backward(L.tensor(g, dtype=getattr(L, dtype)))
                grads.append(_np(t.grad) if L is ag else t.grad.numpy())
                if L is ag:
                    names = [y.grad_fn.name()] + [n.name() for n, _ in y.grad_fn.next_functions]
            assert names[1:] == ["torch::autograd::AccumulateGrad"], names
            if y.shape[2:] == shape[2:] and "scale_factor" in kw:
                # PyTorch's backward copies g where the sizes agree, whatever its forward read (a kept
                # divergence): ours is the forward's adjoint, <interpolate(v), g> = <v, grad>
                v = _rng(2).normal(size=shape)
                forward_v = _np(F.interpolate(ag.tensor(v, dtype=dtype), mode=mode, **kw))
                np.testing.assert_allclose((forward_v * g).sum(), (v * grads[0]).sum(), rtol=1e-5)
                continue
            tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(grads[0], grads[1], err_msg=f"{dtype} {shape} {kw}", **tol)


def test_distinct_runs_of_any_index():
    """The scatter's groups of distinct places sum repeats as np.add.at does, for a monotone
    index (the taps) and, by sorting first, for any other."""
    from autograd_gpu.nn.functional_resampling import _distinct_runs
    rng = _rng(3)
    for index in (np.array([0, 0, 1, 1, 1, 2, 5, 5]), rng.integers(0, 6, 40), np.array([3, 3, 1, 1, 3, 0])):
        g, ours, ref = rng.normal(size=len(index)), np.zeros(6), np.zeros(6)
        np.add.at(ref, index, g)
        for positions, places in _distinct_runs(index):
            assert len(np.unique(places)) == len(places)
            ours[places] += g[positions]
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_antialias_matches_pytorch_over_sizes(torch, mode):
    """Antialiased weights (the filter widened by the scale when downsampling), output widths
    above 1 (see test_antialias_output_width_one_divergence)."""
    for n_in, n_out, ac in itertools.product((1, 3, 5, 8), (2, 3, 7), (False, True)):
        x = _rng().normal(size=(1, 1, 4, n_in))
        for kw in (dict(size=(3, n_out)), dict(scale_factor=(0.7, n_out / n_in)),
                   dict(scale_factor=(1.5, n_out / n_in), recompute_scale_factor=True)):
            o = F.interpolate(ag.tensor(x), mode=mode, align_corners=ac, antialias=True, **kw)
            t = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, align_corners=ac, antialias=True, **kw)
            np.testing.assert_allclose(_np(o), t.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"{n_in} {kw} {ac}")


def test_scale_factor_is_used_as_given(torch, device):
    """4 * 1.1 -> 4 outputs. nearest maps output i to floor(i / 1.1) with the factor as given and to
    i once it is recomputed from the sizes; linear copies whenever the sizes are equal."""
    x = np.arange(4.0).reshape(1, 1, 4)
    for mode in ("linear", "nearest", "nearest-exact"):
        for rec in (None, False, True):
            o = F.interpolate(ag.tensor(x, device=device), scale_factor=1.1, mode=mode, recompute_scale_factor=rec)
            t = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=1.1, mode=mode,
                                                recompute_scale_factor=rec)
            _close(o, t)
    assert _np(F.interpolate(ag.tensor(x), scale_factor=1.1)).ravel().tolist() == [0, 0, 1, 2]
    assert _np(F.interpolate(ag.tensor(x), scale_factor=1.1, recompute_scale_factor=True)).ravel().tolist() == \
        [0, 1, 2, 3]


# ---- second order against PyTorch ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
def test_gradient_penalty_matches_pytorch(torch, device, mode):
    """d/d(x, grid) of |d loss / d(x, grid)|^2 through grid_sample and interpolate (create_graph)."""
    x, g = _rng().normal(size=(1, 2, 3, 4)), _rng(1).uniform(-1.3, 1.3, size=(1, 2, 3, 2))
    grads = []
    for lib, (xs, gs) in ((ag, [_pair(torch, a, device)[0] for a in (x, g)]),
                          (torch, [_pair(torch, a, device)[1] for a in (x, g)])):
        f = lib.nn.functional
        y = f.grid_sample(f.interpolate(xs, size=(4, 3), mode="bilinear", align_corners=False), gs, mode=mode,
                          padding_mode="reflection", align_corners=False)
        gx, gg = lib.autograd.grad((y ** 2).sum(), (xs, gs), create_graph=True)
        ((gx ** 2).sum() + (gg ** 2).sum()).backward()
        grads.append((xs.grad, gs.grad))
    for o, t in zip(*grads):
        _close(o, t, rtol=1e-9, atol=1e-10)


# ---- dtypes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda L, x, g: FN(L).interpolate(x, scale_factor=1.5, mode="nearest"),
    lambda L, x, g: FN(L).interpolate(x, size=(3, 5), mode="bilinear", align_corners=False),
    lambda L, x, g: FN(L).interpolate(x, size=(5, 3), mode="bicubic", align_corners=True),
    lambda L, x, g: FN(L).interpolate(x, size=(2, 3), mode="area"),
    lambda L, x, g: FN(L).grid_sample(x, g, padding_mode="border", align_corners=False),
    lambda L, x, g: FN(L).grid_sample(x, g, mode="bicubic", align_corners=True),
    lambda L, x, g: FN(L).pixel_shuffle(x, 2), lambda L, x, g: FN(L).channel_shuffle(x, 2)])
def test_float16(torch, device, call):
    x, g = _rng().normal(size=(1, 4, 4, 4)), _rng(1).uniform(-1.2, 1.2, size=(1, 2, 3, 2))
    (ox, og), (tx, tg) = zip(_pair(torch, x, device, "float16"), _pair(torch, g, device, "float16"))
    o, t = call(ag, ox, og), call(torch, tx, tg)
    assert o.dtype == ag.float16
    _close(o, t, rtol=1e-2, atol=1e-2)
    up = _rng(2).normal(size=t.shape)
    o.backward(ag.tensor(up, dtype=ag.float16, device=device)), t.backward(torch.tensor(up, dtype=torch.float16))
    _close(ox.grad, tx.grad, rtol=1e-2, atol=2e-2)
    if tg.grad is not None and og.grad is not None:
        _close(og.grad, tg.grad, rtol=2e-2, atol=5e-2)


def test_affine_grid_float16(torch, device):
    th = _rng().normal(size=(2, 2, 3))
    o = F.affine_grid(ag.tensor(th, dtype=ag.float16, device=device), (2, 1, 3, 4), align_corners=False)
    t = torch.nn.functional.affine_grid(torch.tensor(th, dtype=torch.float16), (2, 1, 3, 4), align_corners=False)
    assert o.dtype == ag.float16
    _close(o, t, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_uint8_nearest(torch, device, mode):
    x = _rng().integers(0, 256, size=(1, 2, 3, 5))
    o = F.interpolate(ag.tensor(x, dtype=ag.uint8, device=device), scale_factor=(1.7, 0.6), mode=mode)
    t = torch.nn.functional.interpolate(torch.tensor(x, dtype=torch.uint8), scale_factor=(1.7, 0.6), mode=mode)
    assert o.dtype == ag.uint8
    np.testing.assert_array_equal(_np(o), t.numpy())


def test_uint8_bilinear_divergence(torch):
    """Known divergence: PyTorch's CPU kernels resample uint8 images bilinearly and bicubically with
    fixed-point weights and their own rounding; ours raise NotImplementedError naming the mode."""
    x = torch.ones(1, 1, 4, 4, dtype=torch.uint8)
    assert torch.nn.functional.interpolate(x, size=3, mode="bilinear").dtype == torch.uint8
    for mode in ("bilinear", "bicubic"):
        with pytest.raises(NotImplementedError, match=f"interpolate.*{mode}.*uint8"):
            F.interpolate(ag.ones(1, 1, 4, 4, dtype=ag.uint8), size=3, mode=mode)


@pytest.mark.parametrize("call", [lambda L, x: FN(L).pixel_shuffle(x, 2), lambda L, x: FN(L).pixel_unshuffle(x, 2),
                                  lambda L, x: FN(L).channel_shuffle(x, 2)])
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_shuffles_of_other_dtypes(torch, device, call, dtype):
    x = _rng().integers(0, 2, size=(2, 4, 2, 2))
    o = call(ag, ag.tensor(x, dtype=getattr(ag, dtype), device=device))
    t = call(torch, torch.tensor(x, dtype=getattr(torch, dtype)))
    assert o.dtype == getattr(ag, dtype)
    np.testing.assert_array_equal(_np(o), t.numpy())


# ---- empty and non-finite inputs -----------------------------------------------------------------------------

@pytest.mark.parametrize("call,shape", [
    (lambda L, x, g: FN(L).interpolate(x, size=5, mode="linear"), (0, 2, 3)),
    (lambda L, x, g: FN(L).interpolate(x, scale_factor=2, mode="nearest"), (0, 1, 2, 3)),
    (lambda L, x, g: FN(L).interpolate(x, size=(2, 3, 1), mode="trilinear"), (0, 1, 2, 2, 2)),
    (lambda L, x, g: FN(L).interpolate(x, size=2, mode="area"), (1, 0, 4)),
    (lambda L, x, g: FN(L).interpolate(x, size=0, mode="area"), (1, 2, 4)),
    (lambda L, x, g: FN(L).grid_sample(x, g[:0], align_corners=False), (0, 2, 3, 4)),
    (lambda L, x, g: FN(L).grid_sample(x, g, mode="bicubic", align_corners=False), (1, 0, 3, 4)),
    (lambda L, x, g: FN(L).grid_sample(x, g[:, :0], mode="nearest", align_corners=True), (1, 2, 3, 4)),
    (lambda L, x, g: FN(L).pixel_shuffle(x, 2), (0, 4, 2, 3)),
    (lambda L, x, g: FN(L).pixel_shuffle(x, 2), (2, 0, 2, 3)),
    (lambda L, x, g: FN(L).channel_shuffle(x, 2), (0, 4, 3)), (lambda L, x, g: FN(L).channel_shuffle(x, 2), (2, 0, 3))])
def test_empty(torch, device, call, shape):
    (ox, og), (tx, tg) = zip(_pair(torch, np.zeros(shape), device), _pair(torch, np.zeros((1, 2, 3, 2)), device))
    o, t = call(ag, ox, og), call(torch, tx, tg)
    assert tuple(o.shape) == tuple(t.shape)
    o.sum().backward()
    assert tuple(ox.grad.shape) == shape


def test_pixel_unshuffle_empty_divergence(torch, device):
    """Known divergence: PyTorch's pixel_unshuffle returns an empty input's shape unchanged
    ((0, 1, 2, 4) stays (0, 1, 2, 4)); ours has the shape of any other batch, (0, 4, 1, 2)."""
    x = ag.zeros(0, 1, 2, 4, device=device)
    assert tuple(torch.nn.functional.pixel_unshuffle(torch.zeros(0, 1, 2, 4), 2).shape) == (0, 1, 2, 4)
    assert tuple(F.pixel_unshuffle(x, 2).shape) == (0, 4, 1, 2)
    assert tuple(torch.nn.functional.pixel_unshuffle(torch.zeros(2, 1, 2, 4), 2).shape) == (2, 4, 1, 2)


@pytest.mark.parametrize("kw", [dict(size=7, mode="linear"), dict(scale_factor=1.2, mode="linear"),
                                dict(size=2, mode="area"), dict(size=4, mode="area"), dict(size=8, mode="nearest")])
def test_interpolate_nan_and_infinities(torch, device, kw):
    """As PyTorch: every tap is multiplied, zero weights included (0 * inf = NaN; a same-size linear
    resample is x * 1 + x * 0), and area windows read only their own pixels."""
    x = np.array([[[1.0, np.nan, 3.0, np.inf, 2.0, -np.inf]]])
    _close(F.interpolate(ag.tensor(x, device=device), **kw), torch.nn.functional.interpolate(torch.tensor(x), **kw))


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_sample_non_finite_input(torch, device, mode, padding_mode):
    """Non-finite pixels reach only the points whose taps read them: pixels outside the input
    read as zeros, however the index was clamped to gather them."""
    x = _rng().normal(size=(1, 1, 3, 4))
    x[0, 0, 0, 0], x[0, 0, 2, 3] = np.nan, np.inf
    g = _rng(1).uniform(-1.8, 1.8, size=(1, 4, 4, 2))
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=False)
    _close(F.grid_sample(ag.tensor(x, device=device), ag.tensor(g, device=device), **kw),
           torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(g), **kw))


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_sample_non_finite_grid(torch, device, mode, padding_mode):
    """NaN and infinite grid points: NaN with zeros padding; border and reflection clip a NaN
    coordinate to 0 and an infinite one to the edge (bicubic pads its taps, not the point: NaN)."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    g = np.array([[[[np.nan, 0.0], [0.2, np.inf]], [[-np.inf, 0.3], [0.1, np.nan]]]])
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=False)
    _close(F.grid_sample(ag.tensor(x, device=device), ag.tensor(g, device=device), **kw),
           torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(g), **kw))


def test_grid_points_on_the_bounds(torch, device):
    """Points exactly on the edges (affine_grid's identity, align_corners=True, and scaled onto
    +-1 otherwise): the clipped coordinates pass no gradient there, as PyTorch's."""
    x = _rng().normal(size=(1, 2, 3, 4))
    for ac, pm, mode in itertools.product((True, False), ("zeros", "border", "reflection"),
                                          ("bilinear", "bicubic", "nearest")):
        g = torch.nn.functional.affine_grid(torch.eye(2, 3, dtype=torch.float64)[None], (1, 2, 3, 4),
                                            align_corners=ac)
        g = (g if ac else g * torch.tensor([4 / 3, 1.5], dtype=torch.float64)).numpy()
        res = []
        for lib in (ag, torch):
            xs, gs = (_pair(torch, a, device)[lib is torch] for a in (x, g))
            out = lib.nn.functional.grid_sample(xs, gs, mode=mode, padding_mode=pm, align_corners=ac)
            out.backward(lib.ones(*out.shape, dtype=lib.float64, **({} if lib is torch else {"device": device})))
            res.append((out, xs.grad, gs.grad))
        for o, t in zip(*res):
            _close(o, t)


def test_nearest_grid_gets_a_zero_gradient(torch, device):
    x, g = (ag.tensor(a, device=device, requires_grad=rg) for a, rg in
            ((_rng().normal(size=(1, 1, 3, 3)), False), (_rng(1).uniform(-1, 1, size=(1, 2, 2, 2)), True)))
    F.grid_sample(x, g, mode="nearest", align_corners=False).sum().backward()
    t = torch.tensor(_np(g), requires_grad=True)
    torch.nn.functional.grid_sample(torch.tensor(_np(x)), t, mode="nearest", align_corners=False).sum().backward()
    _close(g.grad, t.grad)


def test_antialias_output_width_one_divergence(torch):
    """Known divergence: PyTorch 2.13's CPU antialiased kernel, downsampling the height to an
    output width of 1, repeats the first output row's weights in every row. Ours resamples each
    dim on its own: the height alone, as PyTorch computes it with a width it leaves unchanged."""
    x = _rng().normal(size=(1, 2, 4, 1))
    for mode in ("bilinear", "bicubic"):
        ours = F.interpolate(ag.tensor(x), size=(3, 1), mode=mode, antialias=True)
        theirs = torch.nn.functional.interpolate(torch.tensor(x), size=(3, 1), mode=mode, antialias=True)
        assert np.allclose(theirs.numpy(), theirs.numpy()[:, :, :1])            # PyTorch: all rows the first
        wide = torch.nn.functional.interpolate(torch.tensor(x).expand(1, 2, 4, 2), size=(3, 2), mode=mode,
                                               antialias=True)
        _close(ours, wide[..., :1])


# ---- warnings ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,shape,kw", [
    ("upsample", (1, 2, 3), dict(scale_factor=2, mode="linear", align_corners=True)),
    ("upsample", (1, 2, 3), dict(size=5)), ("upsample_nearest", (1, 2, 3, 4), dict(size=(3, 5))),
    ("upsample_bilinear", (1, 2, 3, 4), dict(scale_factor=1.5))])
def test_deprecated_upsample_forms(torch, device, name, shape, kw):
    x = _rng().normal(size=shape)
    with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated") as rec:
        o = getattr(F, name)(ag.tensor(x, device=device), **kw)
    assert rec[0].filename == __file__             # (pointing at the caller, as PyTorch's)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = getattr(torch.nn.functional, name)(torch.tensor(x), **kw)
    _close(o, t)


def test_align_corners_warnings(torch):
    x, g = ag.ones(1, 1, 2, 2), ag.zeros(1, 1, 1, 2)
    for call in (lambda: F.grid_sample(x, g), lambda: F.affine_grid(ag.ones(1, 2, 3), (1, 1, 2, 2))):
        with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior has changed"):
            call()
    with pytest.warns(UserWarning, match="affine_grid behavior has changed for unit-size grids"):
        F.affine_grid(ag.ones(1, 2, 3), (1, 1, 1, 2), align_corners=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.interpolate(ag.ones(1, 1, 2), size=3, mode="linear")        # (no warning: PyTorch 2 has none)
        F.grid_sample(x, g, align_corners=False)


# ---- bad input -----------------------------------------------------------------------------------------------

BAD = {
    "interpolate size and scale_factor": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), 3, 2.0),
    "interpolate neither": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4)),
    "interpolate size length": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=(3, 3)),
    "interpolate scale length": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, 4), scale_factor=(2.0,)),
    "interpolate float size": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=(3.0,)),
    "interpolate float scalar size": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=3.0),
    "interpolate string scale": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), scale_factor="2"),
    "interpolate align_corners nearest": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=3,
                                                                               align_corners=True),
    "interpolate align_corners area": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=3, mode="area",
                                                                            align_corners=False),
    "interpolate linear 4-D": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, 4), size=3, mode="linear"),
    "interpolate bilinear 3-D": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=3, mode="bilinear"),
    "interpolate trilinear 4-D": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, 4), size=3,
                                                                       mode="trilinear"),
    "interpolate bilinear 5-D": lambda M, T: M.functional.interpolate(T.ones(1, 1, 2, 2, 2), size=3,
                                                                      mode="bilinear"),
    "interpolate bicubic 5-D": lambda M, T: M.functional.interpolate(T.ones(1, 1, 2, 2, 2), size=3,
                                                                     mode="bicubic"),
    "interpolate bicubic 3-D": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=3, mode="bicubic"),
    "interpolate 2-D": lambda M, T: M.functional.interpolate(T.ones(1, 4), size=3),
    "interpolate 6-D": lambda M, T: M.functional.interpolate(T.ones(1, 1, 1, 1, 1, 4), size=3),
    "interpolate mode": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=3, mode="cubic"),
    "interpolate recompute with size": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=3,
                                                                             recompute_scale_factor=True),
    "interpolate antialias linear": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=3, mode="linear",
                                                                          antialias=True),
    "interpolate antialias nearest": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, 4), size=3,
                                                                           antialias=True),
    "interpolate lanczos without antialias": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, 4), size=3,
                                                                                   mode="lanczos"),
    "interpolate lanczos align_corners": lambda M, T: M.functional.interpolate(
        T.ones(1, 1, 4, 4), size=3, mode="lanczos", align_corners=True, antialias=True),
    "interpolate size 0": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), size=0, mode="linear"),
    "interpolate negative size": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, 4), size=(2, -2)),
    "interpolate small scale": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), scale_factor=0.1),
    "interpolate negative scale": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), scale_factor=-2.0),
    "interpolate nan scale": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4), scale_factor=float("nan")),
    "interpolate empty spatial": lambda M, T: M.functional.interpolate(T.ones(1, 1, 0), size=3),
    "interpolate no channels": lambda M, T: M.functional.interpolate(T.ones(1, 0, 4), size=3, mode="linear"),
    "interpolate area empty spatial": lambda M, T: M.functional.interpolate(T.ones(1, 1, 0), size=3, mode="area"),
    "interpolate int64": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, dtype=T.int64), size=3),
    "interpolate bool": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, dtype=T.bool), size=3),
    "interpolate int32 linear": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, dtype=T.int32), size=3,
                                                                      mode="linear"),
    "interpolate uint8 linear": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, dtype=T.uint8), size=3,
                                                                      mode="linear"),
    "interpolate antialias float16": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, 4, dtype=T.float16),
                                                                           size=3, mode="bilinear", antialias=True),
    "interpolate uint8 area": lambda M, T: M.functional.interpolate(T.ones(1, 1, 4, dtype=T.uint8), size=3,
                                                                    mode="area"),
    "upsample mode": lambda M, T: M.functional.upsample(T.ones(1, 1, 4), size=3, mode="bilinear"),
    "upsample_bilinear 3-D": lambda M, T: M.functional.upsample_bilinear(T.ones(1, 1, 4), size=3),
    "pixel_shuffle 2-D": lambda M, T: M.functional.pixel_shuffle(T.ones(4, 4), 2),
    "pixel_shuffle channels": lambda M, T: M.functional.pixel_shuffle(T.ones(1, 3, 4, 4), 2),
    "pixel_shuffle factor 0": lambda M, T: M.functional.pixel_shuffle(T.ones(1, 4, 4, 4), 0),
    "pixel_shuffle negative factor": lambda M, T: M.functional.pixel_shuffle(T.ones(1, 4, 4, 4), -2),
    "pixel_shuffle float factor": lambda M, T: M.functional.pixel_shuffle(T.ones(1, 4, 4, 4), 2.0),
    "pixel_shuffle bool factor": lambda M, T: M.functional.pixel_shuffle(T.ones(1, 4, 4, 4), True),
    "pixel_unshuffle height": lambda M, T: M.functional.pixel_unshuffle(T.ones(1, 1, 3, 4), 2),
    "pixel_unshuffle width": lambda M, T: M.functional.pixel_unshuffle(T.ones(1, 1, 4, 3), 2),
    "pixel_unshuffle factor 0": lambda M, T: M.functional.pixel_unshuffle(T.ones(1, 1, 4, 4), 0),
    "pixel_unshuffle 2-D": lambda M, T: M.functional.pixel_unshuffle(T.ones(4, 4), 2),
    "channel_shuffle channels": lambda M, T: M.functional.channel_shuffle(T.ones(1, 3, 4, 4), 2),
    "channel_shuffle groups 0": lambda M, T: M.functional.channel_shuffle(T.ones(1, 4, 4), 0),
    "channel_shuffle negative groups": lambda M, T: M.functional.channel_shuffle(T.ones(1, 4, 4), -2),
    "channel_shuffle 2-D": lambda M, T: M.functional.channel_shuffle(T.ones(4, 4), 2),
    "channel_shuffle float groups": lambda M, T: M.functional.channel_shuffle(T.ones(1, 4, 4), 2.0),
    "native_channel_shuffle channels": lambda M, T: M.functional.native_channel_shuffle(T.ones(1, 3, 4), 2),
    "affine_grid theta 3x3": lambda M, T: M.functional.affine_grid(T.ones(1, 3, 3), (1, 1, 4, 4),
                                                                   align_corners=False),
    "affine_grid theta 2-D": lambda M, T: M.functional.affine_grid(T.ones(2, 3), (1, 1, 4, 4), align_corners=False),
    "affine_grid 3-D theta for 5-D size": lambda M, T: M.functional.affine_grid(T.ones(1, 2, 3), (1, 1, 4, 4, 4),
                                                                                align_corners=False),
    "affine_grid 3 sizes": lambda M, T: M.functional.affine_grid(T.ones(1, 2, 3), (1, 1, 4), align_corners=False),
    "affine_grid int64 theta": lambda M, T: M.functional.affine_grid(T.ones(1, 2, 3, dtype=T.int64), (1, 1, 4, 4),
                                                                     align_corners=False),
    "affine_grid size 0": lambda M, T: M.functional.affine_grid(T.ones(1, 2, 3), (1, 1, 0, 4), align_corners=False),
    "affine_grid batch": lambda M, T: M.functional.affine_grid(T.ones(2, 2, 3), (1, 1, 4, 4), align_corners=False),
    "grid_sample mode": lambda M, T: M.functional.grid_sample(T.ones(1, 1, 4, 4), T.zeros(1, 2, 2, 2), mode="area",
                                                              align_corners=False),
    "grid_sample padding_mode": lambda M, T: M.functional.grid_sample(T.ones(1, 1, 4, 4), T.zeros(1, 2, 2, 2),
                                                                      padding_mode="circular", align_corners=False),
    "grid_sample grid last dim": lambda M, T: M.functional.grid_sample(T.ones(1, 1, 4, 4), T.zeros(1, 2, 2, 3),
                                                                       align_corners=False),
    "grid_sample grid dims": lambda M, T: M.functional.grid_sample(T.ones(1, 1, 4, 4), T.zeros(1, 2, 2, 2, 2),
                                                                   align_corners=False),
    "grid_sample batch": lambda M, T: M.functional.grid_sample(T.ones(2, 1, 4, 4), T.zeros(1, 2, 2, 2),
                                                               align_corners=False),
    "grid_sample 3-D": lambda M, T: M.functional.grid_sample(T.ones(1, 4, 4), T.zeros(1, 2, 1), align_corners=False),
    "grid_sample bicubic 5-D": lambda M, T: M.functional.grid_sample(T.ones(1, 1, 2, 2, 2), T.zeros(1, 2, 2, 2, 3),
                                                                     mode="bicubic", align_corners=False),
    "grid_sample dtypes": lambda M, T: M.functional.grid_sample(T.ones(1, 1, 4, 4),
                                                                T.zeros(1, 2, 2, 2, dtype=T.float64),
                                                                align_corners=False),
    "grid_sample int64": lambda M, T: M.functional.grid_sample(T.ones(1, 1, 4, 4, dtype=T.int64),
                                                               T.zeros(1, 2, 2, 2, dtype=T.int64),
                                                               align_corners=False),
    "grid_sample empty spatial": lambda M, T: M.functional.grid_sample(T.ones(1, 1, 0, 4), T.zeros(1, 2, 2, 2),
                                                                       align_corners=False),
    "CircularPad1d 4-D": lambda M, T: M.CircularPad1d(1)(T.ones(1, 1, 1, 4)),
    "CircularPad2d 2-D": lambda M, T: M.CircularPad2d(1)(T.ones(4, 4)),
    "CircularPad3d 6-D": lambda M, T: M.CircularPad3d(1)(T.ones(1, 1, 1, 2, 2, 2)),
    "ReflectionPad1d too wide": lambda M, T: M.ReflectionPad1d(4)(T.ones(1, 2, 4)),
    "ReflectionPad2d 2-D": lambda M, T: M.ReflectionPad2d(1)(T.ones(4, 4)),
    "ReplicationPad3d amounts": lambda M, T: M.ReplicationPad3d((1, 1))(T.ones(1, 2, 2, 2, 2)),
    "ConstantPad1d odd amounts": lambda M, T: M.ConstantPad1d((1, 1, 1), 0.5)(T.ones(1, 2, 4)),
    "PixelShuffle channels": lambda M, T: M.PixelShuffle(2)(T.ones(1, 3, 2, 2)),
    "PixelUnshuffle height": lambda M, T: M.PixelUnshuffle(2)(T.ones(1, 1, 3, 2)),
    "ChannelShuffle channels": lambda M, T: M.ChannelShuffle(2)(T.ones(1, 3, 2)),
    "Upsample no size": lambda M, T: M.Upsample(scale_factor=0)(T.ones(1, 1, 4)),
    "UpsamplingBilinear2d 3-D": lambda M, T: M.UpsamplingBilinear2d(scale_factor=2)(T.ones(1, 1, 4)),
}


def _raised(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as e:          # noqa: BLE001 - the exception type is what is compared
        return e
    return None


def _who(name):
    first = name.split()[0]
    return {"upsample": "interpolate", "upsample_bilinear": "interpolate",
            "ReflectionPad1d": "pad", "ReflectionPad2d": "pad", "ReplicationPad3d": "pad", "ConstantPad1d": "pad",
            "PixelShuffle": "pixel_shuffle", "PixelUnshuffle": "pixel_unshuffle", "ChannelShuffle": "channel_shuffle",
            "Upsample": "interpolate", "UpsamplingBilinear2d": "interpolate"}.get(first, first)


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_raises_like_pytorch(torch, name):
    ours, theirs = _raised(lambda: BAD[name](nn, ag)), _raised(lambda: BAD[name](torch.nn, torch))
    assert theirs is not None and type(ours) is type(theirs), f"{name}: ours {ours!r}, PyTorch's {theirs!r}"
    assert _who(name) in str(ours), str(ours)


def test_non_tensor_input_divergence(torch):
    """Known divergence: PyTorch's interpolate reads input.dim() first (AttributeError for a list);
    ours raises TypeError naming the argument, as for every function here."""
    with pytest.raises(AttributeError):
        torch.nn.functional.interpolate([1.0], size=3)
    for call in (lambda: F.interpolate([1.0], size=3), lambda: F.grid_sample([1.0], ag.zeros(1, 1, 1, 2), "bilinear",
                                                                             "zeros", False)):
        with pytest.raises(TypeError, match="argument 'input' must be Tensor"):
            call()


def test_grad_fn_names(torch):
    """interpolate, grid_sample and the shuffles end in one node named as PyTorch's."""
    def both(fn):
        return [fn(L.nn.functional, L.ones(1, 4, 2, 2, requires_grad=True), L.zeros(1, 1, 1, 2)).grad_fn.name()
                for L in (ag, torch)]
    for fn in (lambda F_, x, g: F_.interpolate(x, scale_factor=2, mode="bilinear"),
               lambda F_, x, g: F_.interpolate(x, scale_factor=2),
               lambda F_, x, g: F_.grid_sample(x, g, align_corners=False),
               lambda F_, x, g: F_.pixel_shuffle(x, 2), lambda F_, x, g: F_.pixel_unshuffle(x, 2),
               lambda F_, x, g: F_.channel_shuffle(x, 2)):
        ours, theirs = both(fn)
        assert ours == theirs, (ours, theirs)


# Bug: a shuffle by a factor of 1 (one group) returned a view of its input, so writing the result
# wrote the input; PyTorch's result is new memory.
@pytest.mark.parametrize("shuffle", [lambda F_, x: F_.pixel_shuffle(x, 1), lambda F_, x: F_.pixel_unshuffle(x, 1),
                                     lambda F_, x: F_.channel_shuffle(x, 1),
                                     lambda F_, x: F_.native_channel_shuffle(x, 1)])
def test_shuffle_by_one_is_a_copy(torch, device, shuffle):
    for L, dev in ((torch, "cpu"), (ag, device)):
        x = L.zeros(1, 4, 2, 2, device=dev)
        shuffle(L.nn.functional, x).add_(1)
        assert float(x.abs().sum()) == 0.0, L.__name__


def test_not_implemented_options_name_themselves():
    with pytest.raises(NotImplementedError, match="interpolate.*lanczos"):
        F.interpolate(ag.ones(1, 1, 4, 4), size=3, mode="lanczos", antialias=True)


@pytest.mark.parametrize("call", [
    lambda x: F.interpolate(x, size=(2, 0)), lambda x: F.interpolate(x, size=2, mode="linear"),
    lambda x: F.grid_sample(x, ag.zeros(1, 2, 2, 3, device=x.device, dtype=x.dtype), align_corners=False),
    lambda x: F.pixel_shuffle(x, 3), lambda x: F.channel_shuffle(x, 4)])
def test_failed_call_changes_nothing(device, call):
    x = ag.ones(1, 2, 3, 3, device=device, requires_grad=True)
    with pytest.raises((RuntimeError, NotImplementedError, ValueError)):
        call(x)
    assert x.grad is None and x._version == 0 and x.grad_fn is None


def test_device_mismatch(device):
    if device == "cpu":
        pytest.skip("needs a second device: runs as the cuda case")
    for x, g in ((ag.ones(1, 1, 3, 3), ag.zeros(1, 2, 2, 2, device=device)),
                 (ag.ones(1, 1, 3, 3, device=device), ag.zeros(1, 2, 2, 2))):
        with pytest.raises(RuntimeError, match="grid_sample.*cpu"):
            F.grid_sample(x, g, align_corners=False)


# ---- modules -------------------------------------------------------------------------------------------------

REPRS = [lambda M: M.ZeroPad1d(2), lambda M: M.ZeroPad2d((1, 0, 2, 1)), lambda M: M.ZeroPad3d(1),
         lambda M: M.ConstantPad1d((1, 2), 3), lambda M: M.ConstantPad2d(1, -0.5), lambda M: M.ConstantPad3d(1, 2.5),
         lambda M: M.ReflectionPad1d([1, 2]), lambda M: M.ReflectionPad2d(2), lambda M: M.ReflectionPad3d(1),
         lambda M: M.ReplicationPad1d(3), lambda M: M.ReplicationPad2d((1, 2, 3, 4)), lambda M: M.ReplicationPad3d(2),
         lambda M: M.CircularPad1d(1), lambda M: M.CircularPad2d((1, 0, 0, 1)), lambda M: M.CircularPad3d(1),
         lambda M: M.PixelShuffle(2), lambda M: M.PixelUnshuffle(3), lambda M: M.ChannelShuffle(4),
         lambda M: M.Upsample(scale_factor=2), lambda M: M.Upsample(size=(3, 4), mode="bilinear"),
         lambda M: M.Upsample(scale_factor=(2, 3)), lambda M: M.Upsample(size=3, scale_factor=2.5),
         lambda M: M.Upsample(scale_factor=0), lambda M: M.UpsamplingNearest2d(size=5),
         lambda M: M.UpsamplingBilinear2d(scale_factor=(2, 3)),
         lambda M: M.Sequential(M.ReflectionPad2d(1), M.PixelShuffle(2), M.Upsample(scale_factor=1.5))]


@pytest.mark.parametrize("make", REPRS)
def test_reprs_match_pytorch(torch, make):
    assert repr(make(nn)) == repr(make(torch.nn))


def test_names_are_exported():
    from autograd_gpu.nn import functional_resampling, resampling
    for name in resampling.__all__:
        assert name in nn.__all__ and getattr(nn, name) is getattr(resampling, name)
    for name in functional_resampling.__all__:
        assert getattr(F, name) is getattr(functional_resampling, name)


def test_module_attributes_match_pytorch(torch):
    for make in REPRS[:-1]:
        ours, theirs = make(nn), make(torch.nn)
        for attr in ("padding", "value", "upscale_factor", "downscale_factor", "groups", "size", "scale_factor",
                     "mode", "align_corners", "recompute_scale_factor", "name"):
            assert getattr(ours, attr, None) == getattr(theirs, attr, None), (repr(ours), attr)
        assert list(ours.state_dict()) == [] and list(ours.parameters()) == []
    assert isinstance(nn.ZeroPad2d(1), nn.ConstantPad2d) and isinstance(nn.UpsamplingBilinear2d(), nn.Upsample)


# (circular padding with a crop: test_circular_pad_with_a_crop)
PAD_MODULES = [(kind, nd, pad) for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
               for nd in (1, 2, 3) for pad in (1, tuple(range(1, 2 * nd + 1)), (2, 0, -1, 1, 0, 1)[:2 * nd])
               if not (kind == "Circular" and min(np.atleast_1d(pad)) < 0)]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("kind,nd,pad", PAD_MODULES)
def test_padding_modules_match_pytorch(torch, device, kind, nd, pad, batched):
    args = (pad, 1.5) if kind == "Constant" else (pad,)
    name = f"{kind}Pad{nd}d"
    shape = ((2,) if batched else ()) + (3,) + (7, 6, 7)[:nd]
    ox, tx = _pair(torch, _rng().normal(size=shape), device)
    o, t = getattr(nn, name)(*args)(ox), getattr(torch.nn, name)(*args)(tx)
    _close(o, t)
    g = _rng(1).normal(size=t.shape)
    o.backward(ag.tensor(g, device=device)), t.backward(torch.tensor(g))
    _close(ox.grad, tx.grad)


@pytest.mark.parametrize("amounts", [(-1, 1), (1, -1), (-1, 2), (2, -2), (-1, -1), (3, 2)])
def test_circular_pad_with_a_crop(torch, device, amounts):
    """A negative amount crops before the wrap-around, as PyTorch's (ours wrapped the uncropped input)."""
    x = np.arange(12.0).reshape(1, 3, 4)
    ox, tx = ag.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    o, t = nn.CircularPad1d(amounts)(ox), torch.nn.CircularPad1d(amounts)(tx)
    _close(o, t)
    g = _rng(2).normal(size=t.shape)
    o.backward(ag.tensor(g, device=device)), t.backward(torch.tensor(g))
    _close(ox.grad, tx.grad)


@pytest.mark.parametrize("make,shape", [
    (lambda M: M.PixelShuffle(2), (2, 8, 2, 3)), (lambda M: M.PixelUnshuffle(2), (3, 4, 2)),
    (lambda M: M.ChannelShuffle(3), (2, 6, 2, 2)),
    (lambda M: M.Upsample(scale_factor=1.5, mode="bicubic", align_corners=True), (1, 2, 3, 4)),
    (lambda M: M.Upsample(size=5, mode="linear"), (2, 2, 3)),
    (lambda M: M.Upsample(scale_factor=(0.5, 2, 1.5), mode="trilinear", recompute_scale_factor=True),
     (1, 1, 4, 2, 3)),
    (lambda M: M.Upsample(size=(2, 3), mode="area"), (1, 2, 5, 4)),
    (lambda M: M.UpsamplingNearest2d(scale_factor=3), (1, 2, 2, 3)),
    (lambda M: M.UpsamplingBilinear2d(size=(4, 5)), (2, 1, 3, 2))])
def test_modules_match_pytorch(torch, device, make, shape):
    ours, theirs = make(nn).to(device), make(torch.nn)
    ox, tx = _pair(torch, _rng().normal(size=shape), device)
    o, t = ours(ox), theirs(tx)
    _close(o, t)
    g = _rng(1).normal(size=t.shape)
    o.backward(ag.tensor(g, device=device)), t.backward(torch.tensor(g))
    _close(ox.grad, tx.grad)


def test_upsampling_in_a_trained_model_matches_pytorch(torch, device):
    """conv, pixel shuffle, bilinear upsample, conv: three SGD steps side by side."""
    def net(M):
        return M.Sequential(M.Conv2d(1, 4, 3, padding=1), M.PixelShuffle(2), M.ReplicationPad2d(1),
                            M.Upsample(scale_factor=0.5, mode="bilinear"), M.Conv2d(1, 2, 3))
    theirs, ours = net(torch.nn).double(), net(nn)
    ours.load_state_dict({k: ag.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})
    ours.to(device).double()
    opt_o, opt_t = ag.optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    rng = _rng(3)
    for _ in range(3):
        x = rng.normal(size=(2, 1, 4, 4))
        lo, lt = (ours(ag.tensor(x, device=device)) ** 2).mean(), (theirs(torch.tensor(x)) ** 2).mean()
        np.testing.assert_allclose(lo.item(), lt.item(), rtol=1e-10)
        for opt, loss in ((opt_o, lo), (opt_t, lt)):
            opt.zero_grad()
            loss.backward()
            opt.step()
    for (k, p), (_, q) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        _close(p, q, rtol=1e-10, atol=1e-12)
