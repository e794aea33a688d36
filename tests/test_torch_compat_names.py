"""torch's remaining small public names (nn.NLLLoss2d, Container, SyncBatchNorm,
DataParallel, LinearCrossEntropyLoss/Options; F.conv_tbc, F.linear_cross_entropy;
nn.init's deprecated aliases; nn.utils.clip_grad_norm and the conv weight
memory-format converters; autograd.Variable, inference_mode and the engine
switches) against PyTorch 2.13 CPU: values, gradients, warnings, errors,
state_dict keys."""
import threading
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn.functional as F
from autograd_gpu import nn
from oracle import case_tests, assert_matches_in, tensor_pair, to_numpy

FN = lambda lib: lib.nn.functional      # noqa: E731
NO_NAME = {"name": False}               # composites: grad_fn names are not PyTorch's
FIRST = dict(NO_NAME, second_order=False)
T3 = np.array([2, 0, 3])                # class-index targets (constants: no gradient)


def _w(L, x, values):
    """Class weights as a constant of x's dtype and device."""
    return L.tensor(values, dtype=x.dtype, device=x.device)


CASES = [
    ("conv_tbc", lambda L, x, w, b: FN(L).conv_tbc(x, w, b), [(5, 2, 3), (3, 3, 4), (4,)], {}),
    ("conv_tbc pad", lambda L, x, w, b: FN(L).conv_tbc(x, w, b, 2), [(4, 3, 2), (2, 2, 3), (3,)], {}),
    ("conv_tbc crop", lambda L, x, w, b: FN(L).conv_tbc(x, w, b, pad=-1), [(6, 1, 2), (2, 2, 2), (2,)], FIRST),
    ("conv_tbc empty batch", lambda L, x, w, b: FN(L).conv_tbc(x, w, b, 1), [(3, 0, 2), (2, 2, 3), (3,)], FIRST),
    ("linear_cross_entropy", lambda L, x, w, t: FN(L).linear_cross_entropy(x, w, t), [(3, 4), (5, 4), T3],
     NO_NAME),
    ("linear_cross_entropy bias sum weight",
     lambda L, x, w, b, t: FN(L).linear_cross_entropy(x, w, t, linear_bias=b, reduction="sum",
                                                      weight=_w(L, x, [1.0, 2.0, 0.5, 1.5])),
     [(3, 2), (4, 2), (4,), T3], NO_NAME),
    ("linear_cross_entropy none ignore_index",
     lambda L, x, w, t: FN(L).linear_cross_entropy(x, w, t, reduction="none", ignore_index=0),
     [(3, 4), (5, 4), T3], NO_NAME),
    ("linear_cross_entropy label_smoothing",
     lambda L, x, w, t: FN(L).linear_cross_entropy(x, w, t, label_smoothing=0.2), [(3, 4), (5, 4), T3],
     NO_NAME),
    ("linear_cross_entropy K-dim",
     lambda L, x, w, b, t: FN(L).linear_cross_entropy(x, w, t, linear_bias=b),
     [(2, 3), (4, 2, 3), (4, 2), np.array([[1, 3], [0, 2]])], NO_NAME),
    ("linear_cross_entropy unbatched", lambda L, x, w, t: FN(L).linear_cross_entropy(x, w, t),
     [(3,), (4, 3), np.array(2)], NO_NAME),
    ("linear_cross_entropy probabilities",
     lambda L, x, w, p: FN(L).linear_cross_entropy(x, w, p.softmax(1)), [(3, 2), (4, 2), (3, 4)], NO_NAME),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


# ---- conv_tbc --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_conv_tbc_empty_kernel_and_integers(torch, device, dtype):
    x, tx = tensor_pair(torch, np.ones((4, 2, 3)), device, dtype, requires_grad=False)
    b, tb = tensor_pair(torch, np.arange(5.0), device, dtype)
    w, tw = tensor_pair(torch, np.ones((0, 3, 5)), device, dtype, requires_grad=False)
    out, ref = F.conv_tbc(x, w, b, 1), torch.nn.functional.conv_tbc(tx, tw, tb, 1)
    assert_matches_in(out, ref, dtype, "empty kernel")
    rng = np.random.default_rng(0)
    xi, wi, bi = rng.integers(-3, 4, (5, 2, 3)), rng.integers(-3, 4, (2, 3, 4)), rng.integers(-3, 4, (4,))
    ours = F.conv_tbc(*(ag.tensor(a, device=device) for a in (xi, wi, bi)), 1)
    theirs = torch.nn.functional.conv_tbc(*(torch.tensor(a) for a in (xi, wi, bi)), 1)
    assert ours.dtype is ag.int64 and np.array_equal(to_numpy(ours), theirs.numpy())


def test_conv_tbc_float16(torch, device):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in ((5, 2, 3), (3, 3, 4), (4,))]
    ours = F.conv_tbc(*(ag.tensor(a, dtype=ag.float16, device=device) for a in arrays), 1)
    theirs = torch.nn.functional.conv_tbc(*(torch.tensor(a, dtype=torch.float16) for a in arrays), 1)
    assert ours.dtype is ag.float16
    np.testing.assert_allclose(to_numpy(ours).astype(np.float64), theirs.double().numpy(), rtol=1e-2, atol=1e-2)


# ---- linear_cross_entropy and LinearCrossEntropyLoss ----------------------------------------------------

def _copy_params(ours, theirs):
    for (n, p), (tn, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == tn
        with ag.no_grad():
            p.copy_(ag.tensor(tp.detach().numpy(), dtype=p.dtype, device=p.device))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_linear_cross_entropy_loss_module_matches_pytorch(torch, device, dtype):
    kw = dict(out_features=(2,), bias=True, label_smoothing=0.1, reduction="sum")
    theirs = torch.nn.LinearCrossEntropyLoss(3, 4, dtype=getattr(torch, dtype), **kw)
    ours = nn.LinearCrossEntropyLoss(3, 4, dtype=dtype, device=device, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: ag.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x, tx = tensor_pair(torch, np.random.default_rng(2).standard_normal((5, 3)), device, dtype)
    target = np.random.default_rng(3).integers(0, 4, (5, 2))
    out = ours(x, ag.tensor(target, device=device))
    ref = theirs(tx, torch.tensor(target))
    assert_matches_in(out, ref, dtype, "loss")
    out.backward()
    ref.backward()
    assert_matches_in(x.grad, tx.grad, dtype, "input grad")
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_matches_in(p.grad, tp.grad, dtype, n)
    # and back: our state dict loads into PyTorch's module
    theirs.load_state_dict({k: torch.tensor(to_numpy(v)) for k, v in ours.state_dict().items()})


def test_linear_cross_entropy_loss_defaults_and_weight_buffer(torch):
    w = np.array([1.0, 2.0, 3.0])
    ours = nn.LinearCrossEntropyLoss(2, 3, weight=ag.tensor(w))
    theirs = torch.nn.LinearCrossEntropyLoss(2, 3, weight=torch.tensor(w))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "linear.weight"]
    assert ours.linear.bias is None and ours.ignore_index is None and ours.options is None
    assert ours.linear.weight.dtype is ag.float32


def test_linear_cross_entropy_with_options_matches_pytorch_chunked(torch, device):
    rng = np.random.default_rng(4)
    x, tx = tensor_pair(torch, rng.standard_normal((6, 3)), device)
    w, tw = tensor_pair(torch, rng.standard_normal((5, 3)), device)
    target = rng.integers(0, 5, (6,))
    target[1] = -100
    opts = dict(batch_chunk_size=2, chunking_method=None, acc_policy="accurate")
    for reduction in ("mean", "sum"):
        out = F.linear_cross_entropy(x, w, ag.tensor(target, device=device), reduction=reduction,
                                     options=nn.LinearCrossEntropyOptions(**opts))
        ref = torch.nn.functional.linear_cross_entropy(tx, tw, torch.tensor(target), reduction=reduction,
                                                       options=torch.nn.LinearCrossEntropyOptions(**opts))
        assert_matches_in(out, ref, "float64", reduction)
        out.backward()
        ref.backward()
    assert_matches_in(x.grad, tx.grad, "float64", "input grad")
    assert_matches_in(w.grad, tw.grad, "float64", "weight grad")


def _warning_texts(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [(w.category, str(w.message)) for w in caught]


def test_linear_cross_entropy_options_fallback_warns_as_pytorch(torch):
    def call(L, options_cls):
        x, w = L.ones(2, 3, dtype=L.float64), L.ones(4, 3, dtype=L.float64)
        L.nn.functional.linear_cross_entropy(x, w, L.tensor([1, 2]), label_smoothing=0.1, options=options_cls())
    ours = _warning_texts(lambda: call(ag, nn.LinearCrossEntropyOptions))
    theirs = _warning_texts(lambda: call(torch, torch.nn.LinearCrossEntropyOptions))
    assert [c for c, _ in ours] == [c for c, _ in theirs] == [UserWarning]
    assert ours[0][1].split("target.dtype=")[0] == theirs[0][1].split("target.dtype=")[0]
    # a supported configuration does not warn
    assert _warning_texts(lambda: F.linear_cross_entropy(ag.ones(2, 3), ag.ones(4, 3), ag.tensor([1, 2]),
                                                         options=nn.LinearCrossEntropyOptions())) == []


OPTION_CASES = [dict(), dict(acc_policy="fast"), dict(chunking_method="aspect_ratio:0"),
                dict(chunking_method="aspect_ratio:3"), dict(chunking_method="square"), dict(batch_chunk_size=0),
                dict(batch_chunk_size=2.0), dict(batch_chunk_size=4, chunking_method=None),
                dict(allow_retain_graph=True, acc_policy="compact")]


@pytest.mark.parametrize("kw", OPTION_CASES, ids=[str(k) for k in OPTION_CASES])
def test_linear_cross_entropy_options_checked_as_pytorch(torch, kw):
    ours, theirs = _outcome(lambda: nn.LinearCrossEntropyOptions(**kw)), \
        _outcome(lambda: torch.nn.LinearCrossEntropyOptions(**kw))
    assert ours == theirs
    for bad in (ag.int64, torch.int64):
        with pytest.raises(ValueError, match="acc_dtype"):
            nn.LinearCrossEntropyOptions(acc_dtype=bad)
    assert nn.LinearCrossEntropyOptions(acc_dtype=ag.float32).acc_dtype is ag.float32
    with pytest.raises(dataclass_frozen_error()):
        nn.LinearCrossEntropyOptions().acc_policy = "compact"


def dataclass_frozen_error():
    import dataclasses
    return dataclasses.FrozenInstanceError


def _outcome(fn):
    """repr of the result, or the exception type and message."""
    try:
        return repr(fn())
    except Exception as e:      # noqa: BLE001 - compared with PyTorch's
        return type(e), str(e)


# ---- deprecated classes: NLLLoss2d, Container ------------------------------------------------------------

def test_nll_loss2d_warns_and_matches_pytorch(torch, device):
    ours_w = _warning_texts(lambda: nn.NLLLoss2d())
    theirs_w = _warning_texts(lambda: torch.nn.NLLLoss2d())
    assert ours_w == theirs_w and ours_w[0][0] is FutureWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = nn.NLLLoss2d(ignore_index=1), torch.nn.NLLLoss2d(ignore_index=1)
        legacy = nn.NLLLoss2d(None, False)                     # positional size_average, as PyTorch's
        assert legacy.reduction == torch.nn.NLLLoss2d(None, False).reduction == "sum"
    assert isinstance(ours, nn.NLLLoss) and repr(ours) == repr(theirs) == "NLLLoss2d()"
    rng = np.random.default_rng(5)
    x, tx = tensor_pair(torch, rng.standard_normal((2, 3, 2, 2)), device)
    t = rng.integers(0, 3, (2, 2, 2))
    out, ref = ours(x.log_softmax(1), ag.tensor(t, device=device)), theirs(tx.log_softmax(1), torch.tensor(t))
    assert_matches_in(out, ref, "float64", "loss")
    out.backward()
    ref.backward()
    assert_matches_in(x.grad, tx.grad, "float64", "grad")


def test_deprecated_classes_warn_on_subclassing_not_on_subclass_instances(torch):
    for ours_cls, theirs_cls in ((nn.Container, torch.nn.Container), (nn.NLLLoss2d, torch.nn.NLLLoss2d)):
        made = []
        ours = _warning_texts(lambda: made.append(type("Sub", (ours_cls,), {})))
        theirs = _warning_texts(lambda: made.append(type("Sub", (theirs_cls,), {})))
        assert ours == theirs and ours[0][0] is FutureWarning
        assert _warning_texts(made[0]) == _warning_texts(made[1]) == []


def test_container_warns_and_registers_modules_as_pytorch(torch):
    ours_w = _warning_texts(lambda: nn.Container(a=nn.ReLU()))
    assert ours_w == _warning_texts(lambda: torch.nn.Container(a=torch.nn.ReLU()))
    assert ours_w[0][0] is FutureWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = nn.Container(lin=nn.Linear(2, 3), act=nn.Tanh())
        theirs = torch.nn.Container(lin=torch.nn.Linear(2, 3), act=torch.nn.Tanh())
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["lin.weight", "lin.bias"]


# ---- SyncBatchNorm -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 2, 2, 3, 2)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sync_batch_norm_matches_pytorch_train_and_eval(torch, device, shape, dtype):
    ours = nn.SyncBatchNorm(shape[1], momentum=None, device=device, dtype=dtype)
    theirs = torch.nn.SyncBatchNorm(shape[1], momentum=None, dtype=getattr(torch, dtype))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-0.5, 0.5)
    _copy_params(ours, theirs)
    rng = np.random.default_rng(6)
    for step in range(2):
        x, tx = tensor_pair(torch, rng.standard_normal(shape), device, dtype)
        out, ref = ours(x), theirs(tx)
        assert_matches_in(out, ref, dtype, f"train output {step}")
        g = rng.standard_normal(shape)
        out.backward(ag.tensor(g, dtype=dtype, device=device))
        ref.backward(torch.tensor(g, dtype=getattr(torch, dtype)))
        assert_matches_in(x.grad, tx.grad, dtype, "input grad")
    for name, buf in theirs.state_dict().items():
        assert_matches_in(ours.state_dict()[name], buf, dtype, name)
    ours.eval()
    theirs.eval()
    x, tx = tensor_pair(torch, rng.standard_normal(shape), device, dtype)
    assert_matches_in(ours(x), theirs(tx), dtype, "eval output")


def test_sync_batch_norm_second_order(device):
    bn = nn.SyncBatchNorm(2, affine=False, track_running_stats=False, dtype=ag.float64, device=device)
    x = ag.tensor(np.random.default_rng(7).standard_normal((3, 2, 2)), device=device, requires_grad=True)
    assert ag.autograd.gradgradcheck(lambda t: bn(t), (x,))


def test_convert_sync_batchnorm_as_pytorch(torch):
    def net(M):
        return M.Sequential(M.Conv2d(2, 3, 1), M.BatchNorm2d(3, affine=False),
                            M.Sequential(M.BatchNorm1d(3, track_running_stats=False), M.InstanceNorm1d(3)),
                            M.BatchNorm3d(3, bias=False))
    ours_net, theirs_net = net(nn), net(torch.nn)
    ours_net.eval()
    bn = ours_net[3]
    ours = nn.SyncBatchNorm.convert_sync_batchnorm(ours_net, process_group="group")
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs_net)
    assert ours is ours_net and repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert type(ours[2][1]) is nn.InstanceNorm1d and type(ours[1]) is nn.SyncBatchNorm
    assert ours[3].weight is bn.weight and ours[3].running_mean is bn.running_mean
    assert not ours[3].training and ours[3].process_group == "group"
    single = nn.BatchNorm1d(2)
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(single)
    assert type(converted) is nn.SyncBatchNorm and converted is not single
    assert converted.num_batches_tracked is single.num_batches_tracked


BAD_SYNC = {
    "1-D input": lambda M, T: M.SyncBatchNorm(3)(T.ones(3)),
    "no channels": lambda M, T: M.SyncBatchNorm(0)(T.ones(2, 0, 3)),
    "one value per channel": lambda M, T: M.SyncBatchNorm(3)(T.ones(1, 3)),
    "channel count": lambda M, T: M.SyncBatchNorm(3)(T.ones(2, 4, 2)),
}


@pytest.mark.parametrize("name", list(BAD_SYNC))
def test_sync_batch_norm_bad_input_as_pytorch_and_changes_nothing(torch, name):
    theirs = _raised(lambda: BAD_SYNC[name](torch.nn, torch))
    with pytest.raises(theirs, match="SyncBatchNorm|batch_norm"):
        BAD_SYNC[name](nn, ag)
    bn = nn.SyncBatchNorm(3)
    with pytest.raises(Exception):
        bn(ag.ones(1, 3))
    assert int(bn.num_batches_tracked) == 0 and np.all(to_numpy(bn.running_mean) == 0)


def _raised(fn):
    try:
        fn()
    except Exception as e:      # noqa: BLE001 - the exception type is what is compared
        return type(e)
    raise AssertionError("no exception")


# ---- DataParallel ------------------------------------------------------------------------------------

def test_data_parallel_wraps_module_as_pytorch(torch, device):
    ours, theirs = nn.DataParallel(nn.Linear(3, 2).to(device)), torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    ours.load_state_dict({k: ag.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert isinstance(ours.module, nn.Linear)
    x, tx = tensor_pair(torch, np.random.default_rng(8).standard_normal((4, 3)), device, "float32")
    out, ref = ours(x), theirs(tx)
    assert_matches_in(out, ref, "float32", "output")
    out.sum().backward()
    ref.sum().backward()
    assert_matches_in(ours.module.weight.grad, theirs.module.weight.grad, "float32", "weight grad")
    assert_matches_in(x.grad, tx.grad, "float32", "input grad")
    kw = ours(input=x)                      # keyword inputs pass through
    assert_matches_in(kw, ref, "float32", "keyword input")


def test_data_parallel_device_ids(torch, device):
    if not ag.cuda.is_available():
        dp = nn.DataParallel(nn.Linear(2, 2))
        assert dp.device_ids == torch.nn.DataParallel(torch.nn.Linear(2, 2)).device_ids == []
        return
    dp = nn.DataParallel(nn.Linear(2, 2), device_ids=[0])
    assert dp.device_ids == [0] and dp.output_device == 0 and dp.module.weight.device == ag.device("cuda:0")
    out = dp(ag.ones(3, 2))                 # a CPU input goes to device_ids[0]
    assert out.device == ag.device("cuda:0")
    dp.module.cpu()
    with pytest.raises(RuntimeError, match="DataParallel"):
        dp(ag.ones(3, 2))


# ---- nn.init deprecated aliases -------------------------------------------------------------------------

INIT_ALIASES = {"uniform": ((), {"a": -1.0, "b": 1.0}), "normal": ((0.5, 2.0), {}), "constant": ((0.25,), {}),
                "dirac": ((), {}), "xavier_uniform": ((), {"gain": 2.0}), "xavier_normal": ((), {}),
                "kaiming_uniform": ((), {"mode": "fan_out"}), "kaiming_normal": ((), {"a": 0.1}),
                "orthogonal": ((), {}), "sparse": ((0.5,), {}), "eye": ((), {})}


@pytest.mark.parametrize("name", list(INIT_ALIASES))
def test_init_deprecated_aliases_warn_and_fill_as_the_underscore_form(torch, device, name):
    args, kwargs = INIT_ALIASES[name]
    shape = (4, 2) if name in ("sparse", "eye") else (4, 2, 3)
    alias = getattr(nn.init, name)
    assert alias.__name__ == getattr(torch.nn.init, name).__name__ == name
    ours = _warning_texts(lambda: alias(ag.empty(*shape, device=device), *args, **kwargs))
    theirs = _warning_texts(lambda: getattr(torch.nn.init, name)(torch.empty(*shape), *args, **kwargs))
    assert ours == theirs and ours[0][0] is FutureWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ag.manual_seed(3)
        a = alias(ag.empty(*shape, device=device), *args, **kwargs)
    ag.manual_seed(3)
    b = getattr(nn.init, name + "_")(ag.empty(*shape, device=device), *args, **kwargs)
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    if name in ("constant", "dirac", "eye"):    # deterministic: PyTorch's values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = getattr(torch.nn.init, name)(torch.empty(*shape), *args, **kwargs)
        np.testing.assert_array_equal(to_numpy(a), ref.numpy())


# ---- nn.utils ----------------------------------------------------------------------------------------

def test_clip_grad_norm_deprecated_alias(torch, device):
    g = np.array([[3.0, 4.0], [0.0, 12.0]])
    p, tp = tensor_pair(torch, np.zeros((2, 2)), device)
    p.grad, tp.grad = ag.tensor(g, device=device), torch.tensor(g)
    ours = _warning_texts(lambda: nn.utils.clip_grad_norm([p], 6.5, norm_type=2.0))
    theirs = _warning_texts(lambda: torch.nn.utils.clip_grad_norm([tp], 6.5, norm_type=2.0))
    assert ours == theirs and ours[0][0] is FutureWarning
    assert_matches_in(p.grad, tp.grad, "float64", "clipped grad")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        total = nn.utils.clip_grad_norm(p, 1.0, norm_type="inf")
    assert float(total) == pytest.approx(6.5 * 12 / 13, rel=1e-5)


def _conv_nets(M):
    return M.Sequential(M.Conv2d(2, 3, (2, 3)), M.Sequential(M.ConvTranspose2d(3, 2, 2)), M.Conv1d(2, 2, 2),
                        M.Conv3d(2, 2, 2), M.ConvTranspose3d(2, 1, (1, 2, 2)))


@pytest.mark.parametrize("fmt", ["channels_last", "contiguous_format", "channels_last_3d"])
def test_convert_conv_weight_memory_format_as_pytorch(torch, device, fmt):
    which = "3d" if fmt == "channels_last_3d" else "2d"
    theirs = _conv_nets(torch.nn)
    ours = _conv_nets(nn).to(device)
    _copy_params(ours, theirs)
    params_before = list(ours.parameters())
    values = [to_numpy(p).copy() for p in params_before]
    x = ag.tensor(np.random.default_rng(9).standard_normal((1, 2, 3, 4)), dtype=ag.float32, device=device)
    before = ours[0](x)
    fn = getattr(nn.utils, f"convert_conv{which}_weight_memory_format")
    assert fn(ours, getattr(torch, fmt)) is ours
    getattr(torch.nn.utils, f"convert_conv{which}_weight_memory_format")(theirs, getattr(torch, fmt))
    assert list(ours.parameters()) == params_before                  # the same Parameter objects
    for p, tp, v in zip(ours.parameters(), theirs.parameters(), values):
        np.testing.assert_array_equal(to_numpy(p), v)
        assert p.requires_grad
        # (the stride of a size-1 dim is arbitrary: NumPy and PyTorch pick differently)
        assert [st for st, n in zip(p.stride(), p.shape) if n > 1] == \
            [st for st, n in zip(tp.stride(), tp.shape) if n > 1]
    np.testing.assert_array_equal(to_numpy(ours[0](x)), to_numpy(before))
    assert fn(ours, fmt) is ours                                      # the name works too


BAD_FORMATS = {
    "preserve_format": (lambda T: T.preserve_format, "2d", RuntimeError),
    "3d format on conv2d": (lambda T: T.channels_last_3d, "2d", RuntimeError),
    "2d format on conv3d": (lambda T: T.channels_last, "3d", RuntimeError),
    "int": (lambda T: 1, "2d", TypeError),
}


@pytest.mark.parametrize("name", list(BAD_FORMATS))
def test_convert_conv_weight_memory_format_bad_input(torch, name):
    fmt, which, exc = BAD_FORMATS[name]
    with pytest.raises(exc):
        getattr(torch.nn.utils, f"convert_conv{which}_weight_memory_format")(_conv_nets(torch.nn), fmt(torch))
    ours = _conv_nets(nn)
    strides = [p.stride() for p in ours.parameters()]
    with pytest.raises(exc, match=f"convert_conv{which}_weight_memory_format"):
        getattr(nn.utils, f"convert_conv{which}_weight_memory_format")(ours, fmt(torch))
    assert [p.stride() for p in ours.parameters()] == strides
    with pytest.raises(ValueError, match="memory format"):
        nn.utils.convert_conv2d_weight_memory_format(ours, "channels_first")


# ---- autograd: Variable, inference_mode, engine switches -------------------------------------------------

def test_variable_returns_a_detached_tensor_as_pytorch(torch, device):
    t = ag.ones(3, device=device)
    v = ag.autograd.Variable(t)
    tv = torch.autograd.Variable(torch.ones(3))
    assert type(v) is ag.Tensor and type(tv) is torch.Tensor and v is not t
    assert v.requires_grad is tv.requires_grad is False and v.is_leaf
    t.add_(1)                                       # memory and version counter shared
    assert to_numpy(v).tolist() == [2.0, 2.0, 2.0] and v._version == t._version
    x = ag.ones(2, device=device, requires_grad=True)
    r = ag.autograd.Variable(x * 2, requires_grad=True)
    assert r.requires_grad and r.is_leaf and r.grad_fn is None
    (r * 3).sum().backward()
    assert to_numpy(r.grad).tolist() == [3.0, 3.0] and x.grad is None
    assert isinstance(t, ag.autograd.Variable) and isinstance(x, ag.autograd.Variable)
    assert not isinstance(1.0, ag.autograd.Variable)
    empty = ag.autograd.Variable()
    assert tuple(empty.shape) == tuple(torch.autograd.Variable().shape) == (0,)
    assert empty.dtype is ag.float32
    assert ag.autograd.Variable(data=t, requires_grad=1).requires_grad


def test_variable_volatile_warns_as_pytorch(torch):
    ours = _warning_texts(lambda: ag.autograd.Variable(ag.ones(2), volatile=True))
    theirs = _warning_texts(lambda: torch.autograd.Variable(torch.ones(2), volatile=True))
    assert [(c, m) for c, m in ours] == [(c, m) for c, m in theirs] and ours[0][0] is UserWarning


BAD_VARIABLE = {
    "list data": lambda T: T.autograd.Variable([1.0, 2.0]),
    "float data": lambda T: T.autograd.Variable(1.0),
    "requires_grad str": lambda T: T.autograd.Variable(T.ones(2), "a"),
    "requires_grad None": lambda T: T.autograd.Variable(T.ones(2), requires_grad=None),
    "integer requires grad": lambda T: T.autograd.Variable(T.ones(2, dtype=T.int64), requires_grad=True),
    "volatile and requires_grad": lambda T: T.autograd.Variable(T.ones(2), True, True),
    "_grad_fn": lambda T: T.autograd.Variable(T.ones(2), _grad_fn=1),
    "name": lambda T: T.autograd.Variable(T.ones(2), False, False, None, 3),
    "unknown keyword": lambda T: T.autograd.Variable(T.ones(2), foo=1),
}


@pytest.mark.parametrize("name", list(BAD_VARIABLE))
def test_variable_bad_input_as_pytorch(torch, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _raised(lambda: BAD_VARIABLE[name](torch))
        with pytest.raises(theirs):
            BAD_VARIABLE[name](ag)


def test_inference_mode_is_the_top_level_one():
    assert ag.autograd.inference_mode is ag.inference_mode
    from autograd_gpu.autograd import inference_mode
    assert inference_mode is ag.inference_mode
    with ag.autograd.inference_mode():
        assert not ag.is_grad_enabled()


SWITCHES = [("set_multithreading_enabled", "is_multithreading_enabled"),
            ("_force_original_view_tracking", "is_view_replay_enabled")]


@pytest.mark.parametrize("setter,getter", SWITCHES)
def test_engine_switches_as_pytorch(torch, setter, getter):
    def script(lib):
        """The flag read after each step of a sequence of uses."""
        get, put = getattr(lib, getter), getattr(lib, setter)
        default, seen = get(), []
        with put(not default):
            seen.append(get())
        seen.append(get())
        handle = put(not default)                          # a plain call switches at once
        seen.append(get())
        copy = handle.clone()
        handle.__exit__(None, None, None)
        seen.append(get())
        with copy:
            seen.append(get())
        seen.append(get())
        put(default)                                       # (back to the default)
        seen.append(get())
        return seen
    assert script(ag.autograd) == script(torch.autograd)
    assert ag.autograd.is_multithreading_enabled() is torch.autograd.is_multithreading_enabled()
    assert ag.autograd.is_view_replay_enabled() is torch.autograd.is_view_replay_enabled()
    ours_err = _outcome(lambda: getattr(ag.autograd, setter)(1))
    theirs_err = _outcome(lambda: getattr(torch.autograd, setter)(1))
    assert ours_err[0] is theirs_err[0] is TypeError and ours_err[1].endswith(theirs_err[1].split(": ", 1)[1])


@pytest.mark.parametrize("setter,getter", SWITCHES)
def test_engine_switches_decorate_and_are_thread_local(setter, getter):
    get, put = getattr(ag.autograd, getter), getattr(ag.autograd, setter)
    default = get()

    @put(not default)
    def inside():
        return get()
    assert get() is default and inside() is (not default) and get() is default
    seen = []
    with put(not default):
        worker = threading.Thread(target=lambda: seen.append(get()))
        worker.start()
        worker.join()
    assert seen == [default]


# ---- every name is there -----------------------------------------------------------------------------

def test_torch_names_present(torch):
    import autograd_gpu.nn.init as init
    for name in ("NLLLoss2d", "Container", "SyncBatchNorm", "DataParallel", "LinearCrossEntropyLoss",
                 "LinearCrossEntropyOptions"):
        assert hasattr(torch.nn, name) and getattr(nn, name).__name__ == name
    for name in ("conv_tbc", "linear_cross_entropy"):
        assert callable(getattr(F, name))
    for name in INIT_ALIASES:
        assert callable(getattr(init, name))
    for name in torch.nn.utils.__all__:
        assert hasattr(nn.utils, name), name
    for name in ("Variable", "inference_mode", "is_multithreading_enabled", "set_multithreading_enabled",
                 "is_view_replay_enabled", "_force_original_view_tracking"):
        assert hasattr(ag.autograd, name) and hasattr(torch.autograd, name)


# ---- bad input: PyTorch's exception types, our messages name the function ----------------------------------

BAD = {
    "conv_tbc input dims": (lambda T: T.nn.functional.conv_tbc(T.ones(5, 3), T.ones(2, 3, 4), T.ones(4)), "conv_tbc"),
    "conv_tbc weight dims": (lambda T: T.nn.functional.conv_tbc(T.ones(5, 2, 3), T.ones(3, 4), T.ones(4)),
                             "conv_tbc"),
    "conv_tbc channels": (lambda T: T.nn.functional.conv_tbc(T.ones(5, 2, 3), T.ones(2, 2, 4), T.ones(4)),
                          "conv_tbc"),
    "conv_tbc bias size": (lambda T: T.nn.functional.conv_tbc(T.ones(5, 2, 3), T.ones(2, 3, 4), T.ones(3)),
                           "conv_tbc"),
    "conv_tbc bias dims": (lambda T: T.nn.functional.conv_tbc(T.ones(5, 2, 3), T.ones(2, 3, 4), T.ones(4, 1)),
                           "conv_tbc"),
    "conv_tbc kernel too long": (lambda T: T.nn.functional.conv_tbc(T.ones(2, 2, 3), T.ones(4, 3, 4), T.ones(4)),
                                 "conv_tbc"),
    "conv_tbc dtype": (lambda T: T.nn.functional.conv_tbc(T.ones(5, 2, 3, dtype=T.float64), T.ones(2, 3, 4),
                                                          T.ones(4)), "conv_tbc"),
    "conv_tbc pad float": (lambda T: T.nn.functional.conv_tbc(T.ones(5, 2, 3), T.ones(2, 3, 4), T.ones(4), 1.5),
                           "conv_tbc"),
    "conv_tbc bias None": (lambda T: T.nn.functional.conv_tbc(T.ones(5, 2, 3), T.ones(2, 3, 4), None),
                           "conv_tbc"),
    "lce input dims": (lambda T: T.nn.functional.linear_cross_entropy(T.ones(2, 2, 3), T.ones(4, 3),
                                                                      T.tensor([1, 2])), "linear_cross_entropy"),
    "lce weight dims": (lambda T: T.nn.functional.linear_cross_entropy(T.ones(2, 3), T.ones(3), T.tensor([1, 2])),
                        "linear_cross_entropy"),
    "lce in_features": (lambda T: T.nn.functional.linear_cross_entropy(T.ones(2, 3), T.ones(4, 2),
                                                                       T.tensor([1, 2])), "linear_cross_entropy"),
    "lce bias shape": (lambda T: T.nn.functional.linear_cross_entropy(T.ones(2, 3), T.ones(4, 3), T.tensor([1, 2]),
                                                                      linear_bias=T.ones(3)), "linear_cross_entropy"),
    "lce K-dim unbatched": (lambda T: T.nn.functional.linear_cross_entropy(T.ones(3), T.ones(4, 2, 3),
                                                                           T.tensor([1, 2])), "linear_cross_entropy"),
    "lce probabilities with ignore_index": (
        lambda T: T.nn.functional.linear_cross_entropy(T.ones(2, 3), T.ones(4, 3), T.ones(2, 4) / 4, ignore_index=1),
        "linear_cross_entropy"),
    "lce target out of range": (lambda T: T.nn.functional.linear_cross_entropy(T.ones(2, 3), T.ones(4, 3),
                                                                               T.tensor([1, 7])), "cross_entropy"),
    "LinearCrossEntropyLoss weight": (lambda T: T.nn.LinearCrossEntropyLoss(3, 4, weight=T.ones(3)),
                                      "LinearCrossEntropyLoss"),
    "LinearCrossEntropyLoss label_smoothing": (lambda T: T.nn.LinearCrossEntropyLoss(3, 4, label_smoothing=1.5),
                                               "LinearCrossEntropyLoss"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_raises_like_pytorch(torch, name):
    call, who = BAD[name]
    theirs = _raised(lambda: call(torch))
    with pytest.raises(theirs, match=who):
        call(ag)


def test_failed_module_call_changes_nothing():
    loss = nn.LinearCrossEntropyLoss(3, 4, bias=True)
    before = {k: to_numpy(v).copy() for k, v in loss.state_dict().items()}
    with pytest.raises(IndexError):
        loss(ag.ones(2, 3, requires_grad=True), ag.tensor([1, 9]))
    assert all(np.array_equal(to_numpy(v), before[k]) for k, v in loss.state_dict().items())
    assert all(p.grad is None for p in loss.parameters())


# ---- positional signatures as PyTorch's ----------------------------------------------------------------

# torch's own forms without a readable signature: the RNN classes take *args, Parameter is built in
# C, the max pools are boolean_dispatch wrappers
_NO_SIGNATURE = {"RNN", "LSTM", "GRU", "Parameter", "adaptive_max_pool1d", "adaptive_max_pool2d",
                 "adaptive_max_pool3d", "fractional_max_pool2d", "fractional_max_pool3d", "max_pool1d",
                 "max_pool2d", "max_pool3d"}


def _positional(fn):
    import inspect
    params = inspect.signature(fn).parameters.values()
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY)]


@pytest.mark.parametrize("namespace", ["nn", "nn.functional"])
def test_positional_parameters_are_pytorchs(torch, namespace):
    # (found: NLLLoss, CrossEntropyLoss, MSELoss and their F forms lacked the legacy size_average /
    # reduce in their places, so NLLLoss(None, False) set ignore_index=False)
    ours_ns, theirs_ns = ag.nn, torch.nn
    if namespace == "nn.functional":
        ours_ns, theirs_ns = ag.nn.functional, torch.nn.functional
    names = ours_ns.__all__ if namespace == "nn" else [n for n in dir(ours_ns) if not n.startswith("_")]
    differ = []
    for name in names:
        ours, theirs = getattr(ours_ns, name, None), getattr(theirs_ns, name, None)
        if name in _NO_SIGNATURE or not callable(ours) or not callable(theirs):
            continue
        if isinstance(ours, type) != isinstance(theirs, type):
            continue
        a, b = (ours.__init__, theirs.__init__) if isinstance(ours, type) else (ours, theirs)
        try:
            expected = _positional(b)
        except ValueError:                      # (torch's C builtins: no signature to compare)
            continue
        if _positional(a) != expected:
            differ.append((name, _positional(a), expected))
    assert not differ


_LEGACY_FORMS = {"MSELoss": "mse_loss", "NLLLoss": "nll_loss", "CrossEntropyLoss": "cross_entropy"}


@pytest.mark.parametrize("make", list(_LEGACY_FORMS))
@pytest.mark.parametrize("legacy", [(False, None), (None, False), (True, True)])
def test_legacy_reduction_arguments(torch, device, make, legacy):
    """size_average / reduce in their positions, module and functional form: the reduction, values,
    gradients and the deprecation warning as PyTorch's."""
    size_average, reduce = legacy
    x = np.random.default_rng(0).standard_normal((4, 3))
    target = np.array([0, 2, 1, 2]) if make != "MSELoss" else np.random.default_rng(1).standard_normal((4, 3))
    legacy_args = (size_average, reduce) if make == "MSELoss" else (None, size_average, -100, reduce)
    results = []
    for L in (torch, ag):
        kw = {"device": device} if L is ag else {}
        inp, tgt = L.tensor(x, requires_grad=True, **kw), L.tensor(target, **kw)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loss = getattr(L.nn, make)(*legacy_args)
            fn_out = getattr(L.nn.functional, _LEGACY_FORMS[make])(inp, tgt, *legacy_args)
        texts = [(w.category, str(w.message)) for w in caught]
        out = loss(inp, tgt)
        out.sum().backward()
        results.append((to_numpy(out), to_numpy(fn_out), to_numpy(inp.grad), loss.reduction, texts))
    theirs, ours = results
    for o, t in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(o, t, rtol=1e-12)
    assert ours[3] == theirs[3] and ours[4] == theirs[4]


def test_mse_loss_weight(torch, device):
    rng = np.random.default_rng(2)
    x, y, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.uniform(0.1, 2.0, (3, 4))
    for reduction in ("mean", "sum", "none"):
        outs = []
        for L in (torch, ag):
            kw = {"device": device} if L is ag else {}
            inp = L.tensor(x, requires_grad=True, **kw)
            out = L.nn.functional.mse_loss(inp, L.tensor(y, **kw), reduction=reduction, weight=L.tensor(w, **kw))
            out.sum().backward()
            outs.append((to_numpy(out), to_numpy(inp.grad)))
        for o, t in zip(outs[1], outs[0]):
            np.testing.assert_allclose(o, t, rtol=1e-12)
    for L in (torch, ag):
        with pytest.raises(ValueError, match="Weights and input must have the same size"):
            L.nn.functional.mse_loss(L.ones(3), L.ones(3), weight=L.ones(2))


def test_positional_parameters_of_optimizers_and_utilities_are_pytorchs(torch):
    # (found with the test above: RMSprop lacked differentiable, gradcheck named its function fn,
    # from_dlpack its argument obj); nn.init's functions, now that they take generator= too
    pairs = [(getattr(ag.optim, n).__init__, getattr(torch.optim, n).__init__)
             for n in ag.optim.__all__ if isinstance(getattr(ag.optim, n), type) and n != "Optimizer"]
    pairs += [(ag.autograd.gradcheck, torch.autograd.gradcheck), (ag.autograd.gradgradcheck, torch.autograd.gradgradcheck),
              (ag.from_dlpack, torch.from_dlpack)]
    pairs += [(getattr(ag.nn.init, n), getattr(torch.nn.init, n)) for n in dir(torch.nn.init)
              if n.endswith("_") and not n.startswith("_") and callable(getattr(torch.nn.init, n))]
    for ours, theirs in pairs:
        expected = _positional(theirs)
        assert _positional(ours)[:len(expected)] == expected, ours.__qualname__
    with pytest.raises(ValueError, match="RMSprop: differentiable=True"):
        ag.optim.RMSprop([nn.Parameter(ag.ones(1))], differentiable=True)


_NEW_NAMESPACES = ["profiler", "autograd.profiler", "amp", "random", "testing", "nn.attention",
                   "nn.attention.flex_attention", "nn.attention.bias", "nn.grad", "utils.data", "func"]


def _signature_pairs(torch, namespace):
    """(name, ours, theirs) for the public callables of a namespace both have, classes by __init__;
    PyTorch's builtins without a Python signature are left out."""
    import importlib
    import inspect
    ours_ns = importlib.import_module(f"autograd_gpu.{namespace}")
    theirs_ns = importlib.import_module(f"torch.{namespace}")
    names = getattr(ours_ns, "__all__", None) or [n for n in dir(ours_ns) if not n.startswith("_")]
    for name in names:
        ours, theirs = getattr(ours_ns, name, None), getattr(theirs_ns, name, None)
        if not callable(ours) or not callable(theirs) or isinstance(ours, type) != isinstance(theirs, type):
            continue
        a, b = (ours.__init__, theirs.__init__) if isinstance(ours, type) else (ours, theirs)
        try:
            inspect.signature(b)
            inspect.signature(a)
        except (TypeError, ValueError):
            continue
        yield name, a, b


@pytest.mark.parametrize("namespace", _NEW_NAMESPACES)
def test_positional_parameters_of_the_newer_namespaces_are_pytorchs(torch, namespace):
    # (FunctionEvent: a record users read and PyTorch builds; ours takes its first 26 parameters, in its order,
    # not the 15 Kineto fields after them)
    differ = [(name, _positional(a), _positional(b)) for name, a, b in _signature_pairs(torch, namespace)
              if _positional(a)[:len(_positional(b))] != _positional(b) and name != "FunctionEvent"]
    assert not differ, differ


def test_positional_parameters_of_the_lowlevel_functions_are_pytorchs(torch):
    import inspect
    from autograd_gpu.ops import lowlevel
    differ = []
    for name, ours in lowlevel.FUNCTIONS.items():
        theirs = getattr(torch, name, None)
        if name in ("solve", "eig", "symeig", "lstsq", "matrix_rank"):
            continue                      # (removed in PyTorch: every call raises, pointing to ag.linalg)
        try:
            expected = _positional(theirs)
        except (TypeError, ValueError):
            continue                      # (a builtin without a Python signature)
        if _positional(ours)[:len(expected)] != expected:
            differ.append((name, _positional(ours), expected))
    assert not differ, differ
    assert inspect.signature(ag.vmap) == inspect.signature(ag.func.vmap)
