"""autograd_gpu/ops/functional_aliases.py against PyTorch CPU: the torch.* names of nn.functional's ops with
torch's top-level signatures (values, gradients, second order), and torch's dtype utilities (result_type,
promote_types, can_cast, finfo, iinfo, is_*), modes (inference_mode, deterministic flags, threads) and
creation functions (empty_strided, asarray, the window functions); bad input against PyTorch's exceptions."""
import functools
import itertools
import math
import threading

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import U, case_tests, to_numpy

# grad_fn names are F's composites', not PyTorch's. The aliases call nn.functional, whose own tests run
# gradchecks on both devices: here the finite-difference checks (second order) run on the compositions of this
# module and a few samples; every case compares values and gradients with PyTorch's.
SECOND = {"name": False}
FIRST = dict(SECOND, fd=False)
IDX = np.array([[0, 2, 4], [4, 1, 0]], dtype=np.int64)
SIGNS = np.array([1.0, -1.0, 1.0, -1.0])


def _signs(L, like, *v):
    return L.tensor([float(s) for s in v], dtype=like.dtype, device=like.device)


def _full(L, like, n, v):
    return L.full((n,), v, dtype=like.dtype, device=like.device)


# ---- the nn ops under their torch.* names: values, gradients, gradchecks ---------------------------

#      id                        fn(lib, *inputs)                                               inputs      options
CASES = [
    ("conv1d", lambda L, x, w, b: L.conv1d(x, w, b, 2, 1, 1, 1), [(2, 3, 6), (4, 3, 2), (4,)], FIRST),
    ("conv1d padding same", lambda L, x, w: L.conv1d(x, w, None, 1, "same"), [(1, 2, 5), (3, 2, 3)], FIRST),
    ("conv2d", lambda L, x, w, b: L.conv2d(x, w, b, 1, (1, 0), 1, 2), [(1, 4, 4, 3), (2, 2, 2, 2), (2,)], FIRST),
    ("conv3d", lambda L, x, w: L.conv3d(x, w, stride=2), [(1, 2, 3, 3, 3), (2, 2, 2, 2, 2)], FIRST),
    ("conv_transpose1d", lambda L, x, w, b: L.conv_transpose1d(x, w, b, 2, 1, 1, 1, 1), [(2, 3, 4), (3, 2, 3), (2,)],
     FIRST),
    ("conv_transpose2d", lambda L, x, w: L.conv_transpose2d(x, w, None, 1, 0, 0, 2, 1), [(1, 4, 3, 2), (4, 1, 2, 2)],
     FIRST),
    ("conv_transpose3d", lambda L, x, w: L.conv_transpose3d(x, w, dilation=2), [(1, 1, 2, 2, 2), (1, 2, 2, 2, 2)],
     FIRST),
    ("conv_tbc", lambda L, x, w, b: L.conv_tbc(x, w, b, 1), [(5, 2, 3), (2, 3, 4), (4,)], SECOND),
    ("conv_tbc no pad", lambda L, x, w, b: L.conv_tbc(x, w, b), [(4, 1, 2), (3, 2, 2), (2,)], FIRST),
    ("avg_pool1d", lambda L, x: L.avg_pool1d(x, 3, [], 1, True, False), [(2, 3, 7)], FIRST),
    ("avg_pool1d stride", lambda L, x: L.avg_pool1d(x, 2, 1), [(3, 5)], FIRST),
    ("max_pool1d", lambda L, x: L.max_pool1d(x, 2, [], 1, 2, True), [(2, 3, 7)], FIRST),
    ("max_pool2d", lambda L, x: L.max_pool2d(x, (2, 3), 1), [(1, 2, 4, 5)], FIRST),
    ("max_pool3d", lambda L, x: L.max_pool3d(x, 2, [], 0, 1, True), [(1, 1, 3, 3, 3)], FIRST),
    ("max_pool1d_with_indices", lambda L, x: L.max_pool1d_with_indices(x, 2, 1, 1), [(2, 3, 5)], FIRST),
    ("adaptive_avg_pool1d", lambda L, x: L.adaptive_avg_pool1d(x, 3), [(2, 3, 7)], FIRST),
    ("adaptive_max_pool1d", lambda L, x: L.adaptive_max_pool1d(x, (2,)), [(2, 3, 5)], FIRST),
    ("batch_norm training", lambda L, x, w, b: L.batch_norm(x, w, b, _full(L, x, 3, 0.0), _full(L, x, 3, 1.0), True,
                                                           0.1, 1e-5, False), [(4, 3, 2), (3,), (3,)], FIRST),
    ("batch_norm eval", lambda L, x, w, b: L.batch_norm(x, w, b, _full(L, x, 3, 0.2), _full(L, x, 3, 1.5), False,
                                                       0.1, 1e-3, True), [(4, 3), (3,), (3,)], FIRST),
    ("batch_norm no stats", lambda L, x: L.batch_norm(x, None, None, None, None, True, 0.0, 1e-5, False),
     [(5, 2, 3)], FIRST),
    ("instance_norm", lambda L, x, w, b: L.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
     [(2, 3, 4), (3,), (3,)], FIRST),
    ("layer_norm", lambda L, x, w, b: L.layer_norm(x, [3, 4], w, b, 1e-5, False), [(2, 3, 4), (3, 4), (3, 4)],
     FIRST),
    ("layer_norm defaults", lambda L, x: L.layer_norm(x, (4,)), [(2, 4)], FIRST),
    ("group_norm", lambda L, x, w, b: L.group_norm(x, 2, w, b, 1e-4, True), [(2, 4, 3), (4,), (4,)], FIRST),
    ("rms_norm", lambda L, x, w: L.rms_norm(x, [4], w, 1e-6), [(3, 4), (4,)], FIRST),
    ("rms_norm no eps", lambda L, x: L.rms_norm(x, (2, 3)), [(2, 2, 3)], FIRST),
    ("dropout eval", lambda L, x: L.dropout(x, 0.3, False) * 1, [(2, 3)], FIRST),
    ("dropout p0", lambda L, x: L.dropout(x, 0.0, True), [(2, 3)], FIRST),
    ("alpha_dropout eval", lambda L, x: L.alpha_dropout(x, 0.5, False) * 1, [(2, 3)], FIRST),
    ("feature_dropout eval", lambda L, x: L.feature_dropout(x, 0.5, False) * 1, [(2, 3, 2)], FIRST),
    ("feature_alpha_dropout eval", lambda L, x: L.feature_alpha_dropout(x, 0.5, False) * 1, [(2, 3, 2)], FIRST),
    ("dropout_ eval", lambda L, x: L.dropout_(x * 1, 0.5, False), [(2, 3)], FIRST),
    ("embedding", lambda L, w, i: L.embedding(w, i), [(5, 3), IDX], SECOND),
    ("embedding padding_idx", lambda L, w, i: L.embedding(w, i, 4), [(5, 3), IDX], dict(FIRST, fd=False)),
    ("embedding padding_idx -1", lambda L, w, i: L.embedding(w, i, -1, False), [(5, 3), IDX], FIRST),
    ("embedding scale_grad_by_freq", lambda L, w, i: L.embedding(w, i, 2, True), [(5, 3), IDX], dict(FIRST, fd=False)),
    ("bilinear", lambda L, a, b, w, c: L.bilinear(a, b, w, c), [(2, 3), (2, 4), (5, 3, 4), (5,)], FIRST),
    ("pdist", lambda L, x: L.pdist(x, 3.0), [(4, 3)], SECOND),
    ("pdist default", lambda L, x: L.pdist(x), [(3, 2)], FIRST),
    ("pairwise_distance", lambda L, a, b: L.pairwise_distance(a, b, 1.5, 1e-6, True), [(3, 4), (3, 4)], FIRST),
    ("cosine_similarity", lambda L, a, b: L.cosine_similarity(a, b, 0, 1e-8), [(3, 4), (3, 4)], FIRST),
    ("pixel_shuffle", lambda L, x: L.pixel_shuffle(x, 2), [(1, 8, 2, 3)], FIRST),
    ("pixel_unshuffle", lambda L, x: L.pixel_unshuffle(x, 2), [(1, 2, 4, 6)], FIRST),
    ("channel_shuffle", lambda L, x: L.channel_shuffle(x, 3), [(2, 6, 2)], FIRST),
    # (torch's native_channel_shuffle has no derivative: its values are checked in test_forward_only, the
    # gradient here against channel_shuffle's)
    ("native_channel_shuffle", lambda L, x: L.native_channel_shuffle(x, 2), [(1, 4, 2, 2)],
     dict(FIRST, torch_fn=lambda L, x: L.channel_shuffle(x, 2))),
    ("prelu", lambda L, x, w: L.prelu(x, w), [(2, 3, 4), (3,)], FIRST),
    ("rrelu eval", lambda L, x: L.rrelu(x, 0.1, 0.3), [(2, 3)], FIRST),
    ("rrelu_ eval", lambda L, x: L.rrelu_(x * 1, 0.2, 0.4, False), [(2, 3)], FIRST),
    ("selu", lambda L, x: L.selu(x), [(2, 3)], FIRST),
    ("selu_", lambda L, x: L.selu_(x * 1), [(2, 3)], SECOND),
    ("celu", lambda L, x: L.celu(x, 0.7), [(2, 3)], FIRST),
    ("celu_", lambda L, x: L.celu_(x * 1), [(2, 3)], FIRST),
    ("threshold", lambda L, x: L.threshold(x, 0.1, 20.0), [(2, 3)], FIRST),
    ("threshold_", lambda L, x: L.threshold_(x * 1, -0.5, 2), [(2, 3)], FIRST),
    ("hardshrink", lambda L, x: L.hardshrink(x, 0.3), [(2, 3)], FIRST),
    ("kl_div", lambda L, x, t: L.kl_div(x, t), [(2, 3), U((2, 3), 0.1, 1.0)], FIRST),
    ("kl_div sum log_target", lambda L, x, t: L.kl_div(x, t, 2, log_target=True), [(2, 3), (2, 3)], SECOND),
    ("kl_div none", lambda L, x, t: L.kl_div(x, t, 0), [(2, 3), U((2, 3), 0.1, 1.0)], FIRST),
    ("margin_ranking_loss", lambda L, a, b: L.margin_ranking_loss(a, b, _signs(L, a, 1, -1, 1, -1), 0.5, 2),
     [(4,), (4,)], FIRST),
    ("hinge_embedding_loss", lambda L, x: L.hinge_embedding_loss(x, _signs(L, x, 1, -1, 1, -1), 1.5, 0), [(4,)],
     SECOND),
    ("cosine_embedding_loss", lambda L, a, b: L.cosine_embedding_loss(a, b, _signs(L, a, 1, -1), 0.1, 1),
     [(2, 3), (2, 3)], FIRST),
    ("cosine_embedding_loss default", lambda L, a, b: L.cosine_embedding_loss(a, b, _signs(L, a, 1, -1)),
     [(2, 3), (2, 3)], FIRST),
    ("poisson_nll_loss", lambda L, x, t: L.poisson_nll_loss(x, t, True, False, 1e-8, 1), [(2, 3), U((2, 3), 0, 3)],
     FIRST),
    ("poisson_nll_loss full", lambda L, x, t: L.poisson_nll_loss(x, t, False, True, 1e-3, 2),
     [U((2, 3), 0.5, 2), U((2, 3), 0.5, 3)], FIRST),
    ("triplet_margin_loss", lambda L, a, p, n: L.triplet_margin_loss(a, p, n, 1.0, 2.0, 1e-6, True, 0),
     [(3, 4), (3, 4), (3, 4)], FIRST),
    ("triplet_margin_loss defaults", lambda L, a, p, n: L.triplet_margin_loss(a, p, n), [(2, 3), (2, 3), (2, 3)],
     FIRST),
    ("ctc_loss", lambda L, x: L.ctc_loss(x.log_softmax(2), L.tensor([[1, 2], [3, 3]], device=x.device), [5, 4],
                                         [2, 2], 0, 1, False), [(5, 2, 4)], dict(FIRST, fd=False)),
    ("ctc_loss sum blank", lambda L, x: L.ctc_loss(x.log_softmax(2), L.tensor([[0, 1], [2, 2]], device=x.device),
                                                   [4, 4], [2, 1], 3, 2, True), [(4, 2, 4)], dict(FIRST, fd=False)),
    # (torch's weight and pos_weight take no gradient: constants)
    ("binary_cross_entropy_with_logits", lambda L, x, t: L.binary_cross_entropy_with_logits(
        x, t, _full(L, x, 3, 0.7), _full(L, x, 3, 1.5), 2), [(2, 3), U((2, 3), 0, 1)], FIRST),
    ("binary_cross_entropy_with_logits mean", lambda L, x, t: L.binary_cross_entropy_with_logits(x, t),
     [(2, 3), U((2, 3), 0, 1)], FIRST),
    ("constant_pad_nd", lambda L, x: L.constant_pad_nd(x, [1, 2, -1, 0], 0.5), [(2, 3, 4)], SECOND),
    ("constant_pad_nd default", lambda L, x: L.constant_pad_nd(x, (2, 1)), [(3,)], FIRST),
    ("grid_sampler 2d", lambda L, x, g: L.grid_sampler(x, g, 0, 1, False), [(1, 2, 3, 4), U((1, 2, 2, 2), -1, 1)],
     FIRST),
    ("grid_sampler_2d bicubic", lambda L, x, g: L.grid_sampler_2d(x, g, 2, 2, True),
     [(1, 1, 4, 4), U((1, 2, 3, 2), -1, 1)], FIRST),
    ("grid_sampler 3d nearest", lambda L, x, g: L.grid_sampler(x, g, 1, 0, True),
     [(1, 1, 2, 3, 3), U((1, 2, 2, 2, 3), -1, 1)], dict(FIRST, fd=False)),
    ("grid_sampler_3d", lambda L, x, g: L.grid_sampler_3d(x, g, 0, 0, False),
     [(1, 1, 2, 3, 3), U((1, 1, 2, 2, 3), -1, 1)], FIRST),
    ("affine_grid_generator", lambda L, t: L.affine_grid_generator(t, [1, 1, 3, 4], False), [(1, 2, 3)], FIRST),
    ("affine_grid_generator 3d", lambda L, t: L.affine_grid_generator(t, (2, 1, 2, 2, 3), True), [(2, 3, 4)], FIRST),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


def test_aliases_are_functions_of_ag_and_not_of_tensor():
    for name in ("conv2d", "layer_norm", "dropout_", "hann_window", "result_type", "asarray"):
        assert callable(getattr(ag, name)) and name in ag.__all__
    assert not hasattr(ag.Tensor, "conv_tbc")


def test_forward_only(torch):
    x = np.random.default_rng(3).standard_normal((2, 6, 2))
    np.testing.assert_array_equal(to_numpy(ag.native_channel_shuffle(ag.tensor(x), 3)),
                                  torch.native_channel_shuffle(torch.tensor(x), 3).numpy())


def test_binary_cross_entropy_with_logits_broadcasts_input_to_target(torch):
    x, t = np.random.default_rng(4).standard_normal((2, 1)), np.random.default_rng(5).uniform(0, 1, (2, 3))
    for r in (0, 1, 2):
        ours = ag.binary_cross_entropy_with_logits(ag.tensor(x), ag.tensor(t), None, None, r)
        ref = torch.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t), None, None, r)
        np.testing.assert_allclose(to_numpy(ours), ref.numpy(), rtol=1e-12)
    for args in ((t, x), (x, t, None, np.ones(3))):           # target smaller than input; pos_weight given
        a = [None if v is None else torch.tensor(v) for v in args]
        with pytest.raises(RuntimeError):
            torch.binary_cross_entropy_with_logits(*a)
        with pytest.raises(RuntimeError, match="binary_cross_entropy_with_logits"):
            ag.binary_cross_entropy_with_logits(*[None if v is None else ag.tensor(v) for v in args])


def test_float16_forms(torch):
    """Where PyTorch's CPU kernels take float16, so do the aliases (values to float16 precision)."""
    x = np.random.default_rng(0).standard_normal((2, 3, 6))
    for fn in (lambda L, x: L.max_pool1d(x, 2), lambda L, x: L.layer_norm(x, [6]), lambda L, x: L.selu(x),
               lambda L, x: L.constant_pad_nd(x, [1, 1]), lambda L, x: L.hardshrink(x, 0.2)):
        ours, ref = fn(ag, ag.tensor(x, dtype=ag.float16)), fn(torch, torch.tensor(x, dtype=torch.float16))
        assert ours.dtype is ag.float16
        np.testing.assert_allclose(to_numpy(ours).astype(float), ref.float().numpy(), rtol=5e-3, atol=5e-3)


def test_empty_batches(torch):
    for fn, shape in ((lambda L, x: L.max_pool1d(x, 2), (0, 2, 4)), (lambda L, x: L.layer_norm(x, [3]), (0, 3)),
                      (lambda L, x: L.constant_pad_nd(x, [1, 1]), (2, 0)), (lambda L, x: L.pdist(x), (1, 3)),
                      (lambda L, x: L.dropout(x, 0.5, True), (0, 3)), (lambda L, x: L.selu(x), (0,))):
        ours, ref = fn(ag, ag.zeros(shape)), fn(torch, torch.zeros(shape))
        assert ours.shape == tuple(ref.shape)


def test_nan_and_inf_pass_through(torch):
    a = np.array([[math.nan, math.inf, -math.inf, 0.5]])
    for fn in (lambda L, x: L.selu(x), lambda L, x: L.celu(x, 2.0), lambda L, x: L.hardshrink(x),
               lambda L, x: L.threshold(x, 0.0, -1.0), lambda L, x: L.constant_pad_nd(x, [1, 0], math.nan)):
        np.testing.assert_array_equal(to_numpy(fn(ag, ag.tensor(a))), fn(torch, torch.tensor(a)).numpy())


# ---- dropout in training: the draws are ours, their structure is torch's -------------------------

def test_dropout_training(device):
    ag.manual_seed(0)
    x = ag.ones(40, 30, device=device)
    y = ag.dropout(x, 0.25, True)
    vals = set(np.unique(to_numpy(y)).tolist())
    assert np.allclose(sorted(vals), [0.0, 1 / 0.75]) and abs((to_numpy(y) == 0).mean() - 0.25) < 0.06
    assert np.all(to_numpy(ag.dropout(x, 1.0, True)) == 0)
    x2 = ag.ones(3, 4, device=device)
    out = ag.dropout_(x2, 1.0, True)
    assert out is x2 and x2._version == 1 and np.all(to_numpy(x2) == 0)


@pytest.mark.parametrize("name", ["feature_dropout", "feature_alpha_dropout"])
def test_feature_dropout_drops_whole_channels(name, device):
    ag.manual_seed(1)
    x = ag.randn(8, 6, 5, device=device).abs() + 1
    y = to_numpy(getattr(ag, name)(x, 0.5, True))
    x = to_numpy(x)
    ratio = y / x
    kept = np.isclose(ratio, ratio[:, :, :1]).all(axis=2) if name == "feature_dropout" else None
    if name == "feature_dropout":
        assert kept.all()                                   # one factor per (sample, channel): 0 or 2
        assert set(np.round(np.unique(ratio[:, :, 0]), 6).tolist()) == {0.0, 2.0}
    else:                                                   # dropped channels hold one constant
        dropped = np.isclose(y, y[:, :, :1]).all(axis=2) & ~np.isclose(x, x[:, :, :1]).all(axis=2)
        assert 0 < dropped.sum() < dropped.size


def test_feature_dropout_in_place_and_errors(torch):
    x = ag.ones(2, 3, 4)
    assert ag.feature_dropout_(x, 0.0, True) is x
    with pytest.raises(RuntimeError, match="feature_dropout"):
        ag.feature_dropout(ag.ones(3), 0.5, True)
    with pytest.raises(RuntimeError):
        torch.feature_dropout(torch.ones(3), 0.5, True)
    with pytest.raises(RuntimeError):                          # (F.dropout's is a ValueError)
        torch.feature_dropout(torch.ones(2, 3), 1.5, True)
    with pytest.raises(RuntimeError, match="feature_dropout"):
        ag.feature_dropout(ag.ones(2, 3), 1.5, True)


def test_torch_signatures_have_no_dropout_defaults():
    with pytest.raises(TypeError):
        ag.dropout(ag.ones(2))                  # noqa  (torch.dropout(input, p, train): all required)
    with pytest.raises(TypeError):
        ag.batch_norm(ag.ones(2, 3), None, None, None, None, True, 0.1)
    with pytest.raises(TypeError):
        ag.max_pool2d(ag.ones(1, 1, 2, 2), 2, return_indices=True)


def test_in_place_aliases_write_their_input(torch):
    for name, args in (("selu_", ()), ("celu_", (0.5,)), ("threshold_", (0.0, 5.0)), ("rrelu_", (0.1, 0.2))):
        a = np.random.default_rng(2).standard_normal((2, 3))
        x, t = ag.tensor(a), torch.tensor(a)
        out = getattr(ag, name)(x, *args)
        assert getattr(torch, name)(t, *args) is t
        assert out is x and x._version == 1
        np.testing.assert_allclose(to_numpy(x), t.numpy(), rtol=1e-12)


# ---- module-level utilities -----------------------------------------------------------------------

DTYPE_NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _same_dtype(ours, theirs):
    assert str(ours).split(".")[-1] == str(theirs).split(".")[-1], (ours, theirs)


def test_promote_types_and_can_cast_every_pair(torch):
    for a, b in itertools.product(DTYPE_NAMES, repeat=2):
        _same_dtype(ag.promote_types(getattr(ag, a), getattr(ag, b)),
                    torch.promote_types(getattr(torch, a), getattr(torch, b)))
        assert ag.can_cast(getattr(ag, a), getattr(ag, b)) == torch.can_cast(getattr(torch, a), getattr(torch, b))
    for py in (float, int, bool):                          # Python types: float is float64 to torch
        _same_dtype(ag.promote_types(ag.float16, py), torch.promote_types(torch.float16, py))
        assert ag.can_cast(py, ag.int32) == torch.can_cast(py, torch.int32)


def test_result_type(torch):
    def pair(lib, spec):
        if isinstance(spec, tuple):
            dt, shape = spec
            return lib.zeros(shape, dtype=getattr(lib, dt))
        return spec
    specs = [("int32", (2,)), ("int64", ()), ("float16", (2,)), ("float64", ()), ("bool", (3,)), ("uint8", ()),
             1, 2.5, True, -3]
    for a, b in itertools.product(specs, repeat=2):
        _same_dtype(ag.result_type(pair(ag, a), pair(ag, b)), torch.result_type(pair(torch, a), pair(torch, b)))


def test_finfo_iinfo(torch):
    for d in ("float16", "float32", "float64"):
        a, b = ag.finfo(getattr(ag, d)), torch.finfo(getattr(torch, d))
        for k in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(a, k) == getattr(b, k), (d, k)
        assert repr(a) == repr(b) and a == ag.finfo(getattr(ag, d))
    assert ag.finfo().dtype == "float32" and ag.finfo(float).dtype == torch.finfo(float).dtype
    for d in ("uint8", "int8", "int16", "int32", "int64"):
        a, b = ag.iinfo(getattr(ag, d)), torch.iinfo(getattr(torch, d))
        assert (a.bits, a.max, a.min, a.dtype, repr(a)) == (b.bits, b.max, b.min, b.dtype, repr(b))
    for call in (lambda L: L.finfo(L.int32), lambda L: L.iinfo(L.float32), lambda L: L.iinfo(L.bool),
                 lambda L: L.finfo("float32")):
        with pytest.raises(TypeError):
            call(torch)
        with pytest.raises(TypeError, match="info"):
            call(ag)


def test_is_predicates(torch):
    for d in DTYPE_NAMES:
        x, t = ag.zeros(2, dtype=getattr(ag, d)), torch.zeros(2, dtype=getattr(torch, d))
        for name in ("is_floating_point", "is_complex", "is_signed"):
            assert getattr(ag, name)(x) == getattr(torch, name)(t), (name, d)
    for a in ([0.0], [math.nan], [[-0.0]], [True], [3], 0.0):
        assert ag.is_nonzero(ag.tensor(a)) == torch.is_nonzero(torch.tensor(a))
    assert ag.is_same_size(ag.ones(2, 3), ag.ones(2, 3)) and not ag.is_same_size(ag.ones(2), ag.ones(2, 1))
    assert ag.is_storage(ag.ones(2)) is False and ag.is_storage(3) is False


def test_typename(torch, device):
    for d in ("float32", "float64", "float16", "int64", "int32", "bool", "uint8"):
        expected = torch.typename(torch.zeros(1, dtype=getattr(torch, d)))
        if device == "cuda":
            expected = expected.replace("torch.", "torch.cuda.")
        assert ag.typename(ag.zeros(1, dtype=getattr(ag, d), device=device)) == expected
    for obj in (3, "a", None, [1], math.sqrt, functools.partial):
        assert ag.typename(obj) == torch.typename(obj)
    assert ag.typename(ag.nn.Linear(1, 1)) == "autograd_gpu.nn.linear.Linear" == ag.typename(ag.nn.Linear)


def test_threads_are_recorded(torch):
    before, before_interop = ag.get_num_threads(), ag.get_num_interop_threads()
    assert before >= 1 and before_interop >= 1
    try:
        ag.set_num_threads(1)
        assert ag.get_num_threads() == 1
        ag.set_num_interop_threads(3)
        assert ag.get_num_interop_threads() == 3
    finally:
        ag.set_num_threads(before)
        ag.set_num_interop_threads(before_interop)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(RuntimeError):
            torch.set_num_threads(bad)
        with pytest.raises(RuntimeError, match="set_num_threads"):
            ag.set_num_threads(bad)
    assert ag.get_num_threads() == before


def test_deterministic_flags(torch):
    assert ag.are_deterministic_algorithms_enabled() is False
    try:
        ag.use_deterministic_algorithms(True, warn_only=True)
        assert ag.are_deterministic_algorithms_enabled() and ag.is_deterministic_algorithms_warn_only_enabled()
    finally:
        ag.use_deterministic_algorithms(False)
    assert not ag.is_deterministic_algorithms_warn_only_enabled()
    for args, kw in (((1,), {}), (("a",), {}), ((True,), {"warn_only": 1})):
        with pytest.raises(TypeError):
            torch.use_deterministic_algorithms(*args, **kw)
        with pytest.raises(TypeError, match="use_deterministic_algorithms"):
            ag.use_deterministic_algorithms(*args, **kw)
    assert not ag.are_deterministic_algorithms_enabled()


def test_inference_mode(torch):
    x = ag.ones(2, requires_grad=True)
    with ag.inference_mode():
        assert not ag.is_grad_enabled() and ag.is_inference_mode_enabled()
        y = x * 2
        with ag.inference_mode(False):            # as torch: grad mode back on, inference off
            assert ag.is_grad_enabled() and not ag.is_inference_mode_enabled()
        assert not ag.is_grad_enabled() and ag.is_inference_mode_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert ag.is_grad_enabled() and not ag.is_inference_mode_enabled()

    def probe():
        return ag.is_grad_enabled(), ag.is_inference_mode_enabled()

    def tprobe():
        return torch.is_grad_enabled(), torch.is_inference_mode_enabled()
    assert ag.inference_mode(probe)() == torch.inference_mode(tprobe)() == (False, True)
    assert ag.inference_mode()(probe)() == (False, True)
    with ag.no_grad():
        assert ag.inference_mode(False)(probe)() == torch.inference_mode(False)(tprobe)() == (True, False)
        assert probe() == (False, False)

    @ag.inference_mode()
    def gen():
        yield ag.is_grad_enabled()
    assert list(gen()) == [False] and ag.is_grad_enabled()
    seen = []                                     # thread-local, as grad mode
    with ag.inference_mode():
        th = threading.Thread(target=lambda: seen.append(probe()))
        th.start()
        th.join()
    assert seen == [(True, False)]


def test_inference_mode_restores_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with ag.inference_mode():
            1 / 0
    assert ag.is_grad_enabled() and not ag.is_inference_mode_enabled()


# ---- default dtype ------------------------------------------------------------------------------------

def test_set_default_dtype_checks(torch):
    for bad in (ag.int64, ag.bool, "float64", float, None):
        with pytest.raises(TypeError, match="set_default_dtype"):
            ag.set_default_dtype(bad)
    ag.set_default_dtype(ag.float32)
    assert ag.get_default_dtype() is ag.float32


@pytest.mark.parametrize("name", ["float64", "float16"])
def test_set_default_dtype_is_honoured(torch, name):
    d, td = getattr(ag, name), getattr(torch, name)
    prev = torch.get_default_dtype()
    try:
        ag.set_default_dtype(d)
        torch.set_default_dtype(td)
        assert ag.get_default_dtype() is d
        for fn in (lambda L: L.tensor([1.5]), lambda L: L.zeros(2), lambda L: L.ones(2), lambda L: L.empty(2),
                   lambda L: L.full((2,), 1.5), lambda L: L.rand(2), lambda L: L.randn(2), lambda L: L.eye(2),
                   lambda L: L.arange(0.0, 2.0), lambda L: L.linspace(0, 1, 3), lambda L: L.tensor(2.5),
                   lambda L: L.tensor([1, 2]) * 1.5, lambda L: L.hann_window(3), lambda L: L.asarray([0.5]),
                   lambda L: L.empty_strided((2,), (1,)), lambda L: L.tensor([1, 2]) / 2):
            _same_dtype(fn(ag).dtype, fn(torch).dtype)
        _same_dtype(ag.result_type(1, 2.0), torch.result_type(1, 2.0))
        assert ag.finfo().dtype == torch.finfo().dtype
    finally:
        ag.set_default_dtype(ag.float32)
        torch.set_default_dtype(prev)


# ---- empty_strided and asarray ------------------------------------------------------------------

def test_empty_strided(torch, device):
    for size, stride in (((2, 3), (3, 1)), ((2, 3), (1, 2)), ((2, 3), (0, 0)), ((2, 0, 3), (3, 3, 1)), ((), ()),
                         ((4,), (2,)), ((2, 2, 2), (1, 4, 2))):
        ours = ag.empty_strided(size, stride, device=device)
        ref = torch.empty_strided(size, stride)
        assert ours.shape == tuple(ref.shape) and ours.dtype is ag.float32 and ours.device == ag.device(device)
        if ref.numel():
            assert ours.stride() == ref.stride()
    x = ag.empty_strided([2, 2], [1, 2], dtype=ag.float64, requires_grad=True)
    assert x.dtype is ag.float64 and x.requires_grad and x.is_leaf
    x.detach().fill_(1.0)                             # writable, and usable in ops
    assert float((x * 2).sum()) == 8.0


def test_asarray_numpy_and_python(torch):
    a = np.arange(3.0)
    t = ag.asarray(a)
    assert t.dtype is ag.float64 and np.shares_memory(to_numpy(t), a)
    assert not np.shares_memory(to_numpy(ag.asarray(a, copy=True)), a)
    assert not np.shares_memory(to_numpy(ag.asarray(a, dtype=ag.float32)), a)
    for call in (lambda L: L.asarray(a, dtype=L.float32, copy=False), lambda L: L.asarray([1, 2], copy=False)):
        with pytest.raises(ValueError):
            call(torch)
        with pytest.raises(ValueError, match="asarray"):
            call(ag)
    for obj, kw in (([1.5, 2], {}), ([1, 2], {}), (3.0, {}), (True, {}), ([1, 2], {"dtype": "float64"}),
                    (np.float64(2.5), {}), ([[1.0], [2.0]], {"requires_grad": True})):
        ours = ag.asarray(obj, **kw)
        ref = torch.asarray(obj, **{k: (getattr(torch, v) if k == "dtype" else v) for k, v in kw.items()})
        _same_dtype(ours.dtype, ref.dtype)
        np.testing.assert_array_equal(to_numpy(ours), ref.detach().numpy())
        assert ours.requires_grad == ref.requires_grad
    with pytest.raises(RuntimeError):
        torch.asarray([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="asarray|require"):
        ag.asarray([1, 2], requires_grad=True)


def _asarray_tensor_cases(L):
    """(name, make the source, asarray kwargs) for both libraries."""
    return [
        ("leaf", lambda: L.ones(2, requires_grad=True), {}),
        ("leaf rg False", lambda: L.ones(2, requires_grad=True), {"requires_grad": False}),
        ("plain rg True", lambda: L.ones(2), {"requires_grad": True}),
        ("plain rg False", lambda: L.ones(2), {"requires_grad": False}),
        ("nonleaf", lambda: L.ones(2, requires_grad=True) * 2, {}),
        ("nonleaf rg False", lambda: L.ones(2, requires_grad=True) * 2, {"requires_grad": False}),
        ("nonleaf rg True", lambda: L.ones(2, requires_grad=True) * 2, {"requires_grad": True}),
        ("nonleaf dtype", lambda: L.ones(2, requires_grad=True) * 2, {"dtype": L.float64}),
        ("leaf copy", lambda: L.ones(2, requires_grad=True), {"copy": True}),
        ("leaf copy rg False", lambda: L.ones(2, requires_grad=True), {"copy": True, "requires_grad": False}),
        ("int copy", lambda: L.ones(2, dtype=L.int64), {"copy": True}),
    ]


def test_asarray_tensors_as_torch(torch):
    import warnings
    for (name, make_o, kw_o), (_, make_t, kw_t) in zip(_asarray_tensor_cases(ag), _asarray_tensor_cases(torch)):
        src_o, src_t = make_o(), make_t()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")           # torch's note on the requires_grad default
            out_o, out_t = ag.asarray(src_o, **kw_o), torch.asarray(src_t, **kw_t)
        assert (out_o is src_o) == (out_t is src_t), name
        assert out_o.requires_grad == out_t.requires_grad, name
        assert src_o.requires_grad == src_t.requires_grad, name        # torch sets a leaf's flag in place
        assert (out_o.grad_fn is None) == (out_t.grad_fn is None), name
        assert (out_o.data_ptr() == src_o.data_ptr()) == (out_t.data_ptr() == src_t.data_ptr()), name
        _same_dtype(out_o.dtype, out_t.dtype)
    with pytest.raises(ValueError, match="asarray"):
        ag.asarray(ag.ones(2), dtype=ag.float64, copy=False)


def test_asarray_device(device):
    x = ag.ones(2, device=device)
    assert ag.asarray(x, device=device) is x
    y = ag.asarray(np.ones(2), device=device)
    assert y.device == ag.device(device)
    if device != "cpu":
        assert ag.asarray(y, device="cpu").device == ag.device("cpu")
        with pytest.raises(ValueError, match="asarray"):
            ag.asarray(y, device="cpu", copy=False)


# ---- windows -----------------------------------------------------------------------------------------

WINDOWS = [("hann_window", ()), ("hamming_window", ()), ("hamming_window", (0.5, 0.4)), ("hamming_window", (0.6,)),
           ("blackman_window", ()), ("bartlett_window", ()), ("kaiser_window", ()), ("kaiser_window", (3.0,)),
           ("kaiser_window", (-2.5,))]


@pytest.mark.parametrize("name,params", WINDOWS, ids=[f"{n}{p}" for n, p in WINDOWS])
def test_windows_against_pytorch(torch, name, params, device):
    for n, periodic, dtype in itertools.product((0, 1, 2, 5, 8), (True, False), ("float32", "float64")):
        args = (n, periodic) + params
        ours = getattr(ag, name)(*args, dtype=getattr(ag, dtype), device=device)
        ref = getattr(torch, name)(*args, dtype=getattr(torch, dtype))
        assert ours.dtype is getattr(ag, dtype) and ours.device == ag.device(device) and ours.shape == (n,)
        tol = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(to_numpy(ours), ref.numpy(), **tol, err_msg=f"{name}{args} {dtype}")
    default = getattr(ag, name)(6)
    assert default.dtype is ag.float32
    np.testing.assert_allclose(to_numpy(default), getattr(torch, name)(6).numpy(), rtol=1e-6, atol=1e-6)
    half = getattr(ag, name)(5, dtype=ag.float16)
    np.testing.assert_allclose(to_numpy(half).astype(float), getattr(torch, name)(5, dtype=torch.float16).float(),
                               rtol=2e-3, atol=2e-3)
    w = getattr(ag, name)(4, requires_grad=True)
    assert w.requires_grad and w.is_leaf


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
                                  "kaiser_window"])
def test_window_bad_input(torch, name):
    for args, kw in (((-1,), {}), ((3,), {"dtype": "int64"}), ((3.0,), {}), ((True,), {}), (("a",), {}),
                     ((3, 1), {})):
        kt = {k: getattr(torch, v) for k, v in kw.items()}
        with pytest.raises(Exception) as theirs:
            getattr(torch, name)(*args, **kt)
        ko = {k: getattr(ag, v) for k, v in kw.items()}
        with pytest.raises(Exception) as ours:
            getattr(ag, name)(*args, **ko)
        assert name in str(ours.value)
        if "invalid combination" not in str(theirs.value):
            assert type(ours.value) is type(theirs.value), (args, ours.value, theirs.value)


# ---- bad input: PyTorch's exception kind, our message names the op, nothing changed ---------------

def _x(L, *shape, dtype="float32", rg=False):
    return L.ones(*shape, dtype=getattr(L, dtype), requires_grad=rg)


BAD = [
    ("conv2d", lambda L: L.conv2d(_x(L, 1, 2, 3, 3), _x(L, 4, 3, 2, 2))),
    ("conv1d", lambda L: L.conv1d(_x(L, 1, 2, 3), "w")),
    ("conv_tbc", lambda L: L.conv_tbc(_x(L, 3, 1, 2), _x(L, 2, 3, 4), _x(L, 4))),
    ("conv_tbc", lambda L: L.conv_tbc(_x(L, 3, 1, 2), _x(L, 2, 2, 4), _x(L, 3))),
    ("conv_tbc", lambda L: L.conv_tbc(_x(L, 3, 2), _x(L, 2, 2, 4), _x(L, 4))),
    ("max_pool2d", lambda L: L.max_pool2d(_x(L, 1, 1, 2, 2), 3)),
    ("avg_pool1d", lambda L: L.avg_pool1d(_x(L, 1, 2, 4), 0)),
    ("batch_norm", lambda L: L.batch_norm(_x(L, 2, 3), _x(L, 4), None, None, None, True, 0.1, 1e-5, False)),
    ("layer_norm", lambda L: L.layer_norm(_x(L, 2, 3), [4])),
    ("group_norm", lambda L: L.group_norm(_x(L, 2, 3, 2), 2)),
    ("dropout", lambda L: L.dropout(_x(L, 2), 1.5, True)),
    ("dropout", lambda L: L.dropout_(_x(L, 2, rg=True), 0.5, True)),
    ("embedding", lambda L: L.embedding(_x(L, 3, 2), L.tensor([5]))),
    ("embedding", lambda L: L.embedding(_x(L, 3, 2), L.tensor([1.0]))),
    ("pdist", lambda L: L.pdist(_x(L, 3))),
    ("pixel_shuffle", lambda L: L.pixel_shuffle(_x(L, 1, 3, 2, 2), 2)),
    ("prelu", lambda L: L.prelu(_x(L, 2, 3), _x(L, 2))),
    ("selu", lambda L: L.selu_(_x(L, 2, rg=True))),
    ("kl_div", lambda L: L.kl_div(_x(L, 2, 3), _x(L, 3, 2))),
    ("kl_div", lambda L: L.kl_div(_x(L, 2), _x(L, 2), "mean")),
    ("ctc_loss", lambda L: L.ctc_loss(_x(L, 4, 2, 3), L.tensor([[1, 1]]), [4, 4], [1, 1])),
    ("binary_cross_entropy_with_logits", lambda L: L.binary_cross_entropy_with_logits(_x(L, 2), _x(L, 3))),
    ("constant_pad_nd", lambda L: L.constant_pad_nd(_x(L, 2), [1])),
    ("constant_pad_nd", lambda L: L.constant_pad_nd(_x(L, 2), [1, 1], "a")),
    ("grid_sampler_2d", lambda L: L.grid_sampler_2d(_x(L, 1, 1, 2, 2, 2), _x(L, 1, 2, 2, 2, 3), 0, 0, False)),
    ("grid_sampler", lambda L: L.grid_sampler(_x(L, 1, 1, 2, 2), _x(L, 1, 3, 3, 2), 0, 0, "yes")),
    ("affine_grid_generator", lambda L: L.affine_grid_generator(_x(L, 1, 2, 3), [1, 1, 2], False)),
    ("result_type", lambda L: L.result_type(1, "a")),
    ("promote_types", lambda L: L.promote_types(L.float32, "a")),
    ("can_cast", lambda L: L.can_cast(None, L.float32)),
    ("is_nonzero", lambda L: L.is_nonzero(_x(L, 2))),
    ("is_nonzero", lambda L: L.is_nonzero(_x(L, 0))),
    ("is_nonzero", lambda L: L.is_nonzero(1)),
    ("is_same_size", lambda L: L.is_same_size(_x(L, 2), [2])),
    ("empty_strided", lambda L: L.empty_strided((2, 3), (3,))),
    ("empty_strided", lambda L: L.empty_strided((2, -3), (3, 1))),
    ("empty_strided", lambda L: L.empty_strided((2, 3), (-3, 1))),
    ("empty_strided", lambda L: L.empty_strided(2, 1)),
    ("empty_strided", lambda L: L.empty_strided((2,), (1,), dtype=L.int64, requires_grad=True)),
    ("asarray", lambda L: L.asarray(None)),
    ("asarray", lambda L: L.asarray("a")),
]


@pytest.mark.parametrize("case", BAD, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD)])
def test_bad_input(torch, case):
    name, call = case
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(ag)
    assert name in str(ours.value), ours.value
    kinds = (IndexError, TypeError, ValueError, RuntimeError, NotImplementedError)
    kind = next(k for k in kinds if isinstance(theirs.value, k))
    if "invalid combination" not in str(theirs.value):
        assert isinstance(ours.value, kind), (ours.value, theirs.value)


def test_failed_calls_change_nothing():
    x = ag.ones(2, 3, requires_grad=True)
    y = x * 1
    v = y._version
    with pytest.raises(RuntimeError):
        ag.dropout_(y, 2.0, True)
    with pytest.raises(RuntimeError):
        ag.threshold_(x, 0.0, 1.0)                     # a leaf that requires grad
    assert y._version == v and x._version == 0 and np.all(to_numpy(y) == 1)
    rm = ag.zeros(3)
    with pytest.raises(RuntimeError):
        ag.batch_norm(ag.ones(2, 4), None, None, rm, ag.ones(3), True, 0.1, 1e-5, False)
    assert rm._version == 0 and np.all(to_numpy(rm) == 0)
    before = ag.get_num_threads()
    with pytest.raises(RuntimeError):
        ag.set_num_threads(0)
    assert ag.get_num_threads() == before
