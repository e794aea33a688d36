"""This session's new features combined with each other and with the older machinery, against PyTorch
2.13 CPU running the same program: generators (factories, nn.init, DataLoader workers, random_split,
fork_rng), the default device, autocast + GradScaler, the profiler, ag.testing, ag.nn.attention
(flex_attention, sdpa_kernel, CausalBias), legacy types, ops/lowlevel.py (native norms, the flat-weight
lstm/gru functions, convolution, cond/while_loop, svd_lowrank), ag.nn.grad, the nn.modules private bases
and ag.func.replace_all_batch_norm_modules_; with optimizers, lr schedulers, ag.save/ag.load, module hooks,
double backward, forward AD and ag.func transforms. (tests/test_modes_together.py holds the modes
themselves combined; nothing here repeats its combinations.)

A test marked xfail(strict=True) with a reason starting "bug:" is a divergence from PyTorch found here and
not fixed (see the report); a test saying "kept different" pins a divergence, citing where it is
documented."""
import collections
import io
import math

import numpy as np
import pytest

import autograd_gpu as ag
from together import (F16, F32, F64, to_np as _np, dtype_name as _dt, tensor_of as _t,
                      close as _close, all_close as _all_close, copy_module as _copy_module, forward_ad as _fw)

pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:TF32 acceleration:UserWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore:.*flex_attention.*:UserWarning"),
              # (a GradScaler-skipped first step: both libraries warn that the scheduler stepped first)
              pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler:UserWarning")]


# ---- helpers ------------------------------------------------------------------------------------------


def _fm(L):
    """The flex_attention module of a library (PyTorch's in eager mode: its reference math)."""
    if L is ag:
        return ag.nn.attention.flex_attention
    import torch.nn.attention.flex_attention as m
    m._FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = True
    return m


def _counts(prof, keep, roots=False):
    c = collections.Counter()
    for e in prof.events():
        if roots and e.cpu_parent is not None:
            continue
        n = e.name[6:] if e.name.startswith("aten::") else e.name
        if keep(n):
            c[n] += 1
    return dict(c)


RNG = np.random.default_rng(0)
Q = RNG.standard_normal((1, 2, 4, 3))
K = RNG.standard_normal((1, 2, 5, 3))
V = RNG.standard_normal((1, 2, 5, 3))
XS = RNG.standard_normal((6, 4)).astype(np.float32)


def _causal(L):
    return lambda b, h, qi, ki: qi >= ki


def _bias(L):
    return lambda s, b, h, qi, ki: s + 0.1 * (qi - ki)


def _sdpa_reference(L, q, k, v):
    """flex_attention(q, k, v, _bias, causal block mask) written out (softmax of the biased, masked scores)."""
    lq, lk = q.shape[-2], k.shape[-2]
    qi = L.arange(lq).reshape(lq, 1)
    ki = L.arange(lk).reshape(1, lk)
    bias = (0.1 * (qi - ki)).to(q.dtype)
    mask = bias.masked_fill(qi < ki, float("-inf"))
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1]) + mask
    return scores.softmax(-1) @ v


# ---- flex_attention + autocast, forward AD, vmap, double backward ----------------------------------------

def test_flex_attention_under_autocast(torch):
    """cpu (PyTorch's cpu autocast lists; docs/tools.md): the output dtype and values of PyTorch's eager
    flex_attention inside the region, with a score_mod and a block mask."""
    res = {}
    for L in (ag, torch):
        fm = _fm(L)
        bm = fm.create_block_mask(_causal(L), None, None, 4, 5, device="cpu", BLOCK_SIZE=2) if L is ag else \
            fm.create_block_mask(_causal(L), None, None, 4, 5, device="cpu")
        q, k, v = (L.tensor(a, dtype=L.float32) for a in (Q, K, V))
        with L.autocast("cpu", dtype=L.float16):
            h = q @ k.transpose(-2, -1)[..., :3]                  # a float16 input from the region
            out = fm.flex_attention(q, k, v, _bias(L), bm)
            out_h = fm.flex_attention(h.unsqueeze(-1).expand(1, 2, 4, 3, 3)[..., 0], k, v)
        res[L] = (out, out_h)
    assert [_dt(t) for t in res[ag]] == [_dt(t) for t in res[torch]]
    _all_close(res[ag], res[torch], F16)


def test_flex_attention_forward_ad_and_double_backward(torch, device):
    """Kept different: PyTorch's CPU flex_attention has no forward AD (NotImplementedError: its autograd
    Function has no jvp) and refuses backward on CPU (tests/test_nn_attention.py); ours gives both. The
    oracle is the same attention written out in PyTorch's ops."""
    tq, tk, tv = (torch.tensor(a) for a in (Q, K, V))
    with _fw(torch).dual_level(), pytest.raises(NotImplementedError, match="jvp"):
        _fm(torch).flex_attention(_fw(torch).make_dual(tq, torch.ones_like(tq)), tk, tv, _bias(torch))
    res = {}
    for L, dev in ((ag, device), (torch, "cpu")):
        q, k, v = (_t(L, a, dev, requires_grad=True) for a in (Q, K, V))
        if L is ag:
            bm = _fm(ag).create_block_mask(_causal(ag), None, None, 4, 5, device=dev, BLOCK_SIZE=2)
            attend = lambda a, b, c: _fm(ag).flex_attention(a, b, c, _bias(ag), bm)      # noqa: E731
        else:
            attend = lambda a, b, c: _sdpa_reference(torch, a, b, c)                     # noqa: E731
        with _fw(L).dual_level():
            tangent = _fw(L).unpack_dual(attend(_fw(L).make_dual(q.detach(), L.ones_like(q)), k.detach(),
                                                v.detach())).tangent
        out = attend(q, k, v)
        gq, gk = L.autograd.grad(out.pow(2).sum(), (q, k), create_graph=True)
        (gq * gk[..., :4, :]).sum().backward()
        res[L] = (tangent, out, gq, gk, q.grad, k.grad, v.grad)
    _all_close(res[ag], res[torch], F64)


def test_flex_attention_under_vmap_and_jacrev(torch, device):
    """Kept different: PyTorch's eager flex_attention fails under torch.func.vmap (KeyError on the Vmap
    transform, a torch bug); ours maps it. Compared per sample with PyTorch's flex_attention, and jacrev
    against PyTorch's jacrev of the written-out form."""
    tfm = _fm(torch)
    batch = np.stack([Q, Q * 0.5, -Q])
    tk, tv = torch.tensor(K), torch.tensor(V)
    with pytest.raises(KeyError):
        torch.func.vmap(lambda a: tfm.flex_attention(a, tk, tv))(torch.tensor(batch))
    k, v = (ag.tensor(a, device=device) for a in (K, V))
    bm = _fm(ag).create_block_mask(_causal(ag), None, None, 4, 5, device=device, BLOCK_SIZE=2)
    attend = lambda a: _fm(ag).flex_attention(a, k, v, _bias(ag), bm)          # noqa: E731
    mapped = ag.func.vmap(attend)(ag.tensor(batch, device=device))
    tbm = tfm.create_block_mask(_causal(torch), None, None, 4, 5, device="cpu")
    want = torch.stack([tfm.flex_attention(torch.tensor(b), tk, tv, _bias(torch), tbm) for b in batch])
    _close(mapped, want, F64)
    jac = ag.func.jacrev(attend)(ag.tensor(Q, device=device))
    _close(jac, torch.func.jacrev(lambda a: _sdpa_reference(torch, a, tk, tv))(torch.tensor(Q)), F64)


# ---- sdpa_kernel + CausalBias + nn.Transformer -------------------------------------------------------

def test_causal_bias_under_sdpa_kernel_with_double_backward(torch, device):
    res = {}
    for L, dev in ((ag, device), (torch, "cpu")):
        import torch.nn.attention.bias  # noqa: F401  (PyTorch's submodule, imported on first use)
        att = L.nn.attention
        q, k, v = (_t(L, a, dev, requires_grad=True) for a in (Q, K, V))
        with att.sdpa_kernel([att.SDPBackend.MATH]):
            out = L.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=att.bias.causal_lower_right(4, 5))
        g, = L.autograd.grad(out.sin().sum(), q, create_graph=True)
        g.pow(2).sum().backward()
        res[L] = (out, g, q.grad, k.grad, v.grad)
    _all_close(res[ag], res[torch], F64)


def test_transformer_under_sdpa_kernel_autocast_and_grad_scaler(torch):
    """nn.Transformer (eval, no dropout) inside sdpa_kernel(MATH) and a cpu float16 autocast region, its
    loss scaled by a GradScaler: outputs, dtypes and the unscaled gradients as PyTorch's."""
    torch.manual_seed(0)
    tt = torch.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True)
    mt = _copy_module(ag.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True), tt, "cpu")
    src = np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)
    tgt = np.random.default_rng(2).standard_normal((2, 3, 8)).astype(np.float32)
    res = {}
    for L, model in ((ag, mt), (torch, tt)):
        att = L.nn.attention
        scaler = L.amp.GradScaler("cpu", init_scale=128.0)
        opt = L.optim.SGD(model.parameters(), lr=0.0)
        mask = L.nn.Transformer.generate_square_subsequent_mask(3)
        with att.sdpa_kernel(att.SDPBackend.MATH), L.autocast("cpu", dtype=L.float16):
            y = model(L.tensor(src), L.tensor(tgt), tgt_mask=mask)
        scaler.scale(y.float().pow(2).mean()).backward()
        scaler.unscale_(opt)
        res[L] = (y, model.encoder.layers[0].linear1.weight.grad, model.decoder.layers[0].self_attn.in_proj_weight.grad)
    assert [_dt(t) for t in res[ag]] == [_dt(t) for t in res[torch]]
    _all_close(res[ag], res[torch], dict(rtol=3e-2, atol=3e-2))


# ---- the default device + ag.save/ag.load + module hooks + optimizer -----------------------------------

def _net(L):
    return L.nn.Sequential(L.nn.Linear(4, 5), L.nn.LayerNorm(5), L.nn.Tanh(), L.nn.BatchNorm1d(5), L.nn.Linear(5, 2))


def test_model_built_under_the_default_device_saved_and_loaded(torch, device):
    """Built inside `with ag.device(...)` with seeded nn.init: parameters land on that device; ag.save of
    the model and optimizer states and ag.load (as saved, and with map_location="cpu") round trip; the
    cpu copy loads into PyTorch's model, which gives our outputs and gradients after an Adam step."""
    gen = ag.Generator(device).manual_seed(5)
    with ag.device(device):
        model = _net(ag)
        for p in model.parameters():
            ag.nn.init.normal_(p, std=0.5, generator=gen)
        opt = ag.optim.Adam(model.parameters(), lr=0.01)
        x = ag.tensor(XS)
    assert {p.device for p in model.parameters()} == {x.device} == {ag.device(device)}
    seen = []
    model[1].register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
    model(x).pow(2).sum().backward()
    opt.step()
    buf = io.BytesIO()
    ag.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    same = ag.load(buf)
    buf.seek(0)
    host = ag.load(buf, map_location="cpu")
    assert {t.device for t in same["model"].values()} == {ag.device(device)}
    assert {t.device for t in host["model"].values()} == {ag.device("cpu")}
    tm = _net(torch)
    tm.load_state_dict({k: torch.tensor(_np(v)) for k, v in host["model"].items()})
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    topt.load_state_dict({"param_groups": host["opt"]["param_groups"],
                          "state": {i: {k: torch.tensor(_np(v)) for k, v in s.items()}
                                    for i, s in host["opt"]["state"].items()}})
    res = {}
    for L, m, o in ((ag, model, opt), (torch, tm, topt)):
        o.zero_grad()
        y = m(_t(L, XS, device))
        y.pow(2).sum().backward()
        o.step()
        res[L] = (y, m[0].weight.grad, m[4].weight, m[3].running_mean)
    assert seen == [(6, 5), (6, 5)]
    _all_close(res[ag], res[torch], F32)


# ---- GradScaler + optimizer + lr scheduler checkpoint round trip ----------------------------------------

def _amp_parts(L, tm):
    model = _copy_module(L.nn.Sequential(L.nn.Linear(4, 8), L.nn.ReLU(), L.nn.Linear(8, 2)), tm, "cpu") \
        if L is ag else tm
    opt = L.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = L.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    # a scale that overflows float16 gradients: the first steps are skipped and the scale backs off
    scaler = L.amp.GradScaler("cpu", init_scale=2.0 ** 17, growth_interval=2)
    return model, opt, sched, scaler


def _amp_step(L, parts, x):
    model, opt, sched, scaler = parts
    opt.zero_grad()
    with L.autocast("cpu", dtype=L.float16):
        loss = model(x).float().pow(2).sum()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    sched.step()
    return scaler.get_scale()


def _amp_run(L, tm, resume):
    x = L.tensor(XS)
    parts = _amp_parts(L, tm)
    scales = [_amp_step(L, parts, x) for _ in range(3)]
    if resume:
        buf = io.BytesIO()
        (ag.save if L is ag else L.save)({k: p.state_dict() for k, p in zip("mosc", parts)}, buf)
        buf.seek(0)
        state = ag.load(buf) if L is ag else L.load(buf)
        parts = _amp_parts(L, _fresh_torch_model(L) if L is not ag else tm)
        for k, p in zip("mosc", parts):
            p.load_state_dict(state[k])
    scales += [_amp_step(L, parts, x) for _ in range(4)]
    return scales, parts[0][0].weight, parts[1].param_groups[0]["lr"]


def _fresh_torch_model(torch):
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def test_grad_scaler_state_in_an_optimizer_checkpoint_round_trip(torch):
    """Three steps (the first skipped for inf gradients), everything saved with ag.save into one checkpoint,
    loaded into fresh objects, four more steps: the scales, learning rate and weights equal an
    uninterrupted run's and PyTorch's."""
    res = {}
    for resume in (False, True):
        for L in (ag, torch):
            res[L, resume] = _amp_run(L, _fresh_torch_model(torch), resume)
    assert res[torch, True][0] == res[torch, False][0]
    scales = res[torch, True][0]
    assert scales[0] < 2.0 ** 17 and any(b > a for a, b in zip(scales, scales[1:]))
    for resume in (False, True):
        assert res[ag, resume][0] == res[torch, resume][0]
        assert res[ag, resume][2] == pytest.approx(res[torch, resume][2])
        _close(res[ag, resume][1], res[torch, resume][1], F16)


def test_grad_scaler_state_dict_loads_across_libraries(torch):
    """A GradScaler's state_dict from a PyTorch checkpoint loads into ours and back (docs/tools.md)."""
    tsc = torch.amp.GradScaler("cpu", init_scale=512.0, growth_factor=3.0, growth_interval=7)
    sc = ag.amp.GradScaler("cpu")
    sc.load_state_dict(tsc.state_dict())
    assert sc.state_dict() == tsc.state_dict()
    back = torch.amp.GradScaler("cpu")
    back.load_state_dict(sc.state_dict())
    assert back.state_dict() == tsc.state_dict()


# ---- generators + DataLoader workers + random_split + fork_rng ------------------------------------------

class _Seeds:
    def __init__(self, L, n):
        self.data, self.seeds = L.arange(n), []

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        from autograd_gpu.utils.data import get_worker_info as ours
        from torch.utils.data import get_worker_info as theirs
        info = ours() or theirs()
        return self.data[i] * 100 + (0 if info is None else info.seed % 97)


def _loader_facts(L, workers):
    data = L.utils.data

    def run(seed, forked):
        if forked:
            with L.random.fork_rng(devices=[]):
                return run(seed, False)
        gen = None if seed is None else L.Generator().manual_seed(seed)
        ds = _Seeds(L, 12)
        train, _ = data.random_split(ds, [8, 4], generator=None if seed is None else L.Generator().manual_seed(seed))
        loader = data.DataLoader(train, batch_size=3, shuffle=True, num_workers=workers, generator=gen)
        return [b.tolist() for b in loader], train.indices
    L.manual_seed(11)
    before = _np(L.get_rng_state()).copy()
    seeded = [run(3, False), run(3, False), run(4, False)]
    untouched = np.array_equal(_np(L.get_rng_state()), before)
    forked = [run(None, True), run(None, True)]
    after_fork = np.array_equal(_np(L.get_rng_state()), before)
    plain = run(None, False)
    return (seeded[0] == seeded[1], seeded[0] != seeded[2], untouched, forked[0] == forked[1], after_fork,
            plain == forked[0], sorted(x for b in seeded[0][0] for x in b) != sorted(seeded[0][1]))


@pytest.mark.parametrize("workers", [0, 2])
def test_seeded_dataloader_random_split_and_fork_rng(torch, workers):
    """The same facts in both libraries (their random numbers differ, docs/tools.md): loaders and splits
    seeded alike repeat their order and worker seeds; seeded ones leave the default generator alone; an
    unseeded loader inside fork_rng repeats and leaves the default where it was."""
    assert _loader_facts(ag, workers) == _loader_facts(torch, workers) == (True,) * 7


# ---- the profiler of an autocast + GradScaler training step; ag.testing on its outputs -------------------

def _train_step_profile(L, tm):
    model = _copy_module(L.nn.Sequential(L.nn.Linear(4, 8), L.nn.ReLU(), L.nn.Linear(8, 2)), tm, "cpu") \
        if L is ag else tm
    opt = L.optim.SGD(model.parameters(), lr=0.1)
    scaler = L.amp.GradScaler("cpu", init_scale=256.0)
    prof_mod = ag.profiler if L is ag else __import__("torch.profiler").profiler
    with prof_mod.profile() as prof:
        with L.autocast("cpu", dtype=L.float16):
            y = model(L.tensor(XS))
            loss = y.float().pow(2).mean()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    nodes = _counts(prof, lambda n: n.startswith("autograd::engine::evaluate_function:"))
    # (top-level events: PyTorch's autocast re-dispatch nests a second linear in each, and its backward
    # formulas record ops, which ours do not: docs/tools.md)
    ops = _counts(prof, lambda n: n in ("linear", "relu", "pow", "mean"), roots=True)
    steps = _counts(prof, lambda n: n.startswith("Optimizer.step"))
    return nodes, ops, y, model[0].weight, steps


def test_profiler_of_an_autocast_grad_scaler_training_step(torch):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    ours = _train_step_profile(ag, tm)
    theirs = _train_step_profile(torch, tm)
    assert ours[1] == theirs[1] == {"linear": 2, "relu": 1, "pow": 1, "mean": 1}
    assert ours[0] == theirs[0]
    ag.testing.assert_close(ours[2], ag.tensor(theirs[2].detach().numpy()), **F16)
    ag.testing.assert_close(ours[3], ag.tensor(theirs[3].detach().numpy()), rtol=1e-3, atol=1e-3)


def test_profiler_records_the_optimizer_step(torch):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    theirs = _train_step_profile(torch, tm)[4]
    assert theirs == {"Optimizer.step#SGD.step": 1}
    assert _train_step_profile(ag, tm)[4] == theirs


def test_assert_close_messages_on_autocast_outputs(torch):
    """The region's float16 output against the float32 one: the dtype complaint, then with
    check_dtype=False the tighter float16 defaults (rtol 1e-3, atol 1e-5) fail, and F16's pass;
    the messages are PyTorch's with our dtype names."""
    msgs = {}
    for L in (ag, torch):
        lin = L.nn.Linear(4, 3)
        with L.no_grad():
            lin.weight.copy_(L.tensor(XS[:3].copy()))
            lin.bias.zero_()
        x = L.tensor(XS)
        with L.autocast("cpu", dtype=L.float16):
            half = lin(x)
        full = lin(x)
        out = []
        for kw in ({}, {"check_dtype": False}, {"check_dtype": False, **F16}):
            try:
                L.testing.assert_close(half, full, **kw)
                out.append("ok")
            except AssertionError as e:
                lines = str(e).replace("torch.", "autograd_gpu.").split("\n")
                out.append(lines[0])        # (float16 products round differently: the counts differ)
        msgs[L] = out
    assert msgs[ag] == msgs[torch]
    assert msgs[ag] == ["The values for attribute 'dtype' do not match: autograd_gpu.float16 != "
                        "autograd_gpu.float32.", "Tensor-likes are not close!",
                        "ok"]


# ---- lstm/gru flat-weight functions vs the modules: autocast, double backward -----------------------------

def _rnn_pair(torch, kind, device, **kw):
    torch.manual_seed(0)
    tm = getattr(torch.nn, kind)(3, 4, **kw)
    return _copy_module(getattr(ag.nn, kind)(3, 4, **kw), tm, device), tm


def _flat(m):
    return [getattr(m, n) for n in m._flat_weights_names]


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_flat_weight_rnn_functions_under_autocast(torch, kind):
    """cpu (docs/tools.md keeps cuda's RNN casting different): ag.lstm/ag.gru on a module's flat weights
    in a float16 region give the module's output there, and PyTorch's function's."""
    m, tm = _rnn_pair(torch, kind, "cpu", num_layers=2, batch_first=True)
    xs = np.random.default_rng(3).standard_normal((2, 5, 3)).astype(np.float32)
    res = {}
    for L, mod in ((ag, m), (torch, tm)):
        x = L.tensor(xs, requires_grad=True)
        h0 = L.zeros(2, 2, 4)
        hx = (h0, L.zeros(2, 2, 4)) if kind == "LSTM" else h0
        # (PyTorch's oneDNN RNN has no float16 kernel on this CPU: its native one runs)
        with torch.backends.mkldnn.flags(enabled=False), L.autocast("cpu", dtype=L.float16):
            fn_out = getattr(L, kind.lower())(x, hx, _flat(mod), True, 2, 0.0, False, False, True)
            mod_out = mod(x, hx)
        fn_out[0].float().sum().backward()
        res[L] = (fn_out[0], mod_out[0], fn_out[1], x.grad)
    assert [_dt(t) for t in res[ag]] == [_dt(t) for t in res[torch]]
    _close(res[ag][0], res[ag][1], F16)          # the function is the module's forward
    _all_close(res[ag], res[torch], F16)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_flat_weight_rnn_functions_double_backward(torch, device, kind):
    m, tm = _rnn_pair(torch, kind, device, bidirectional=True)
    m, tm = m.double(), tm.double()
    xs = np.random.default_rng(4).standard_normal((3, 2, 3))
    res = {}
    for L, mod, dev in ((ag, m, device), (torch, tm, "cpu")):
        res[L] = _rnn_double_backward(L, kind, mod, dev, xs)
    _all_close(res[ag], res[torch], dict(rtol=1e-7, atol=1e-9))


def _rnn_double_backward(L, kind, mod, dev, xs):
    import torch
    with torch.backends.mkldnn.flags(enabled=False):      # (PyTorch's oneDNN RNN has no float64)
        x = _t(L, xs, dev, requires_grad=True)
        h0 = _t(L, np.full((2, 2, 4), 0.1), dev)
        hx = (h0, h0 * 2) if kind == "LSTM" else h0
        out = getattr(L, kind.lower())(x, hx, _flat(mod), True, 1, 0.0, True, True, False)[0]
        w = mod.weight_hh_l0_reverse
        gx, gw = L.autograd.grad(out.tanh().sum(), (x, w), create_graph=True)
        (gx.pow(2).sum() + gw.sum()).backward()
        return out, gx, gw, x.grad, w.grad, mod.weight_ih_l0.grad


# ---- native_batch_norm in train mode under forward AD; native_layer_norm under vmap + grad ----------------

def test_native_batch_norm_train_mode_under_forward_ad(torch, device):
    xb = (np.arange(12.0).reshape(4, 3) ** 1.5)
    tb = np.linspace(-1, 1, 12).reshape(4, 3)
    res = {}
    for L, dev in ((ag, device), (torch, "cpu")):
        w = _t(L, np.array([1.0, 2.0, 0.5]), dev)
        b = _t(L, np.array([0.0, 0.1, -0.1]), dev)
        rm, rv = _t(L, np.zeros(3), dev), _t(L, np.ones(3), dev)
        with _fw(L).dual_level():
            out, mean, invstd = L.native_batch_norm(_fw(L).make_dual(_t(L, xb, dev), _t(L, tb, dev)), w, b, rm, rv,
                                                    True, 0.1, 1e-5)
            res[L] = (*_fw(L).unpack_dual(out), mean, invstd, rm, rv)
    _all_close(res[ag], res[torch], F64)


def test_native_layer_norm_under_vmap_of_grad(torch, device):
    xs = np.random.default_rng(5).standard_normal((3, 2, 4))

    def run(L, dev):
        w = _t(L, np.linspace(0.5, 1.5, 4), dev)
        b = _t(L, np.linspace(-0.2, 0.2, 4), dev)
        f = lambda a: L.native_layer_norm(a, [4], w, b, 1e-5)[0].pow(3).sum()     # noqa: E731
        return L.func.vmap(L.func.grad(f))(_t(L, xs, dev))
    _close(run(ag, device), run(torch, "cpu"), F64)


# ---- cond / while_loop with autocast and gradients -------------------------------------------------------

def _while_loop(L):
    if L is ag:
        return ag.while_loop
    from torch._higher_order_ops.while_loop import while_loop
    return while_loop


def test_cond_and_while_loop_under_autocast_with_grad(torch, device):
    """cond's branch runs inside the region (a float16 product; the float32 weight gets a float32
    gradient); while_loop's carried tensor is differentiated through its iterations."""
    res = {}
    for L, dev in ((ag, device), (torch, "cpu")):
        x = _t(L, XS[:2, :3], dev, requires_grad=True)
        w = _t(L, XS[2:5, :3], dev, requires_grad=True)
        with L.autocast(dev, dtype=L.float16):
            y = L.cond(x.sum() > 0, lambda a: a @ w, lambda a: a @ w.T, (x,))
        i, z = _while_loop(L)(lambda n, a: n < 3, lambda n, a: (n + 1, (a * 0.5 + 1).sin()),
                              (_t(L, 0, dev), y.float()))
        z.sum().backward()
        res[L] = (y, z, x.grad, w.grad)
        assert int(i) == 3
    assert [_dt(t) for t in res[ag]] == [_dt(t) for t in res[torch]] == ["float16", "float32", "float32",
                                                                         "float32"]
    _all_close(res[ag], res[torch], F16)


# ---- ag.nn.grad under create_graph -----------------------------------------------------------------------

def test_nn_grad_conv_functions_with_create_graph(torch, device):
    xs = np.random.default_rng(6).standard_normal((2, 2, 5, 5))
    ws = np.random.default_rng(7).standard_normal((3, 2, 3, 3))
    gs = np.random.default_rng(8).standard_normal((2, 3, 3, 3))
    res = {}
    for L, dev in ((ag, device), (torch, "cpu")):
        x, w, g = (_t(L, a, dev, requires_grad=True) for a in (xs, ws, gs))
        gi = L.nn.grad.conv2d_input(x.shape, w, g, stride=2, padding=1)
        gw = L.nn.grad.conv2d_weight(x, w.shape, g, stride=2, padding=1)
        first = L.autograd.grad(gi.pow(2).sum() + (gw * w).sum(), (w, g, x), create_graph=True)
        sum(t.sin().sum() for t in first).backward()
        res[L] = (gi, gw, *first, x.grad, w.grad, g.grad)
    _all_close(res[ag], res[torch], dict(rtol=1e-8, atol=1e-10))


# ---- legacy types with the default device ----------------------------------------------------------------

def test_legacy_types_under_the_default_device(torch, device):
    """A cpu legacy type constructs on the cpu whatever the default device (PyTorch's, checked with its
    meta device); factories follow the default device and isinstance follows the tensor's device."""
    torch.set_default_device("meta")
    try:
        theirs = (torch.FloatTensor(2, 3).device.type, torch.LongTensor([1, 2]).device.type,
                  torch.zeros(2).device.type)
    finally:
        torch.set_default_device(None)
    assert theirs == ("cpu", "cpu", "meta")
    with ag.device(device):
        ours = (ag.FloatTensor(2, 3).device.type, ag.LongTensor([1, 2]).device.type, ag.zeros(2).device.type)
        made = ag.zeros(2)
        typed = ag.arange(3).type(ag.DoubleTensor)
    assert ours == ("cpu", "cpu", ag.device(device).type)
    assert isinstance(made, ag.cuda.FloatTensor if device == "cuda" else ag.FloatTensor)
    assert typed.device.type == "cpu" and typed.dtype is ag.float64


# ---- private bases subclassed + replace_all_batch_norm_modules_ + vmap/grad + generators ------------------

def _norm_class(L):
    class ScaledNorm(L.nn.modules.batchnorm._BatchNorm):
        def _check_input_dim(self, input):
            if input.dim() != 2:
                raise ValueError(f"expected 2D input (got {input.dim()}D input)")

        def forward(self, input):
            return super().forward(input) * 2
    return ScaledNorm


def test_subclassed_batchnorm_base_with_replace_all_batch_norm_modules_and_vmap(torch, device):
    """A _BatchNorm subclass inside a model: its state_dict loads from PyTorch's, then
    replace_all_batch_norm_modules_ drops its running stats and vmap(grad(functional_call)) gives
    per-sample-batch parameter gradients as PyTorch's."""
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 3), _norm_class(torch)(3), torch.nn.Tanh())
    m = _copy_module(ag.nn.Sequential(ag.nn.Linear(4, 3), _norm_class(ag)(3), ag.nn.Tanh()), tm, device)
    batches = np.stack([XS[:3], XS[3:]])
    res = {}
    for L, model, dev in ((ag, m, device), (torch, tm, "cpu")):
        L.func.replace_all_batch_norm_modules_(model)
        params = {k: v.detach() for k, v in model.named_parameters()}
        loss = lambda p, b: L.func.functional_call(model, p, (b,)).pow(2).sum()     # noqa: E731
        grads = L.func.vmap(L.func.grad(loss), in_dims=(None, 0))(params, _t(L, batches, dev))
        res[L] = (model[1].running_mean, sorted(model.state_dict()), grads["0.weight"], grads["1.weight"])
    assert res[ag][0] is None and res[torch][0] is None
    assert res[ag][1] == res[torch][1] == ["0.bias", "0.weight", "1.bias", "1.weight"]
    _all_close(res[ag][2:], res[torch][2:], F32)


def test_svd_lowrank_and_make_tensor_inside_fork_rng(torch):
    """svd_lowrank draws from the default generator: inside fork_rng it repeats exactly and leaves the
    state; on an exactly rank-2 matrix its singular values and their gradients are PyTorch's."""
    a = ag.testing.make_tensor(5, 2, dtype=ag.float64, device="cpu", low=-1, high=1)
    b = ag.testing.make_tensor(2, 4, dtype=ag.float64, device="cpu", low=-1, high=1)
    res = {}
    for L in (ag, torch):
        A = L.tensor(_np(a @ b), requires_grad=True)
        before = _np(L.get_rng_state()).copy()
        runs = []
        for _ in range(2):
            with L.random.fork_rng(devices=[]):
                runs.append(L.svd_lowrank(A, q=3, niter=2))
        same = all(np.array_equal(_np(x), _np(y)) for x, y in zip(*runs))
        S = runs[0][1]
        S[:2].sum().backward()
        res[L] = (same, np.array_equal(_np(L.get_rng_state()), before), S[:2], A.grad)
    assert res[ag][:2] == res[torch][:2] == (True, True)
    _all_close(res[ag][2:], res[torch][2:], dict(rtol=1e-7, atol=1e-9))
