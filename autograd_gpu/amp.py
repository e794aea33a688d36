"""ag.amp: automatic mixed precision (autocast, GradScaler), as torch.amp.

Autocast is a dispatch mode (autograd/dispatch.py, order 10: inside the
profiler, outside forward AD). Its state is per thread, as PyTorch's; the mode
is on while some thread has autocast enabled, and `wants` reads the calling
thread's state. PyTorch's op lists are kept here by op name (`op_name` of our
op classes), per device type, with PyTorch's three policies: to the lower
precision (`"lower"`), to float32 (`"fp32"`), to the widest input type
(`"promote"`). Public functions that we compose of several ops (conv, the
norms, most losses) are cast once at their entry and their inner ops run with
autocast suspended, as PyTorch's fused kernels do: each is defined under the
`cast_at_entry` decorator (its policies are in `_ENTRIES` here, with the
lists), which costs one global test per call while no region is on. In-place
ops are never cast (ops/inplace.py suspends autocast around them).

cpu's default autocast dtype in PyTorch is bfloat16, which this library does
not have: `autocast("cpu")` without `dtype=` warns and disables itself (what
PyTorch does for an unsupported dtype); `autocast("cpu", dtype=ag.float16)`
works as PyTorch's."""
import functools
import threading
import warnings
from collections import defaultdict
from enum import Enum

import numpy as np

from ._dtype import float16, float32, dtype as _dtype_cls
from .autograd import dispatch
from .autograd.grad_mode import state as _grad_state

__all__ = ["autocast", "is_autocast_available", "custom_fwd", "custom_bwd", "GradScaler", "OptState",
           "is_autocast_enabled", "set_autocast_enabled", "get_autocast_dtype", "set_autocast_dtype",
           "is_autocast_cache_enabled", "set_autocast_cache_enabled", "clear_autocast_cache",
           "autocast_increment_nesting", "autocast_decrement_nesting"]
TOP_LEVEL = ["autocast", "is_autocast_enabled", "set_autocast_enabled", "get_autocast_dtype",
             "set_autocast_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
             "clear_autocast_cache", "autocast_increment_nesting", "autocast_decrement_nesting"]

_DEVICES = ("cpu", "cuda")


# ---- per-thread state --------------------------------------------------------------

class _State(threading.local):
    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": None, "cuda": float16}     # cpu: PyTorch's bfloat16, which we lack
        self.cache_enabled = True
        self.nesting = 0
        self.cache = {}            # id(fp32 leaf) -> (leaf, its lower-precision cast)
        self.suspended = 0         # inside an entry-cast function or an in-place op


_state = _State()
_lock = threading.Lock()
_enabled_count = 0                 # (thread, device) pairs with autocast enabled: the mode is on while > 0


def _device_type(device_type, fn):
    if not isinstance(device_type, str):
        raise ValueError(f"{fn}: expected `device_type` of type `str`, got: `{type(device_type)}`")
    if device_type not in _DEVICES:
        raise RuntimeError(f"{fn}: User specified an unsupported autocast device_type '{device_type}'")
    return device_type


def is_autocast_available(device_type):
    """Whether autocast runs on `device_type` ("cpu" and "cuda")."""
    return device_type in _DEVICES


def is_autocast_enabled(device_type=None):
    """The calling thread's autocast state for `device_type` (no argument: cuda, as PyTorch's)."""
    return _state.enabled[_device_type("cuda" if device_type is None else device_type, "is_autocast_enabled")]


def set_autocast_enabled(device_type, enabled=None):
    """Turn autocast on or off for `device_type` in the calling thread (PyTorch's one-argument form: cuda)."""
    global _enabled_count
    if enabled is None:
        device_type, enabled = "cuda", device_type
    dev = _device_type(device_type, "set_autocast_enabled")
    enabled = bool(enabled)
    if _state.enabled[dev] == enabled:
        return
    _state.enabled[dev] = enabled
    with _lock:
        _enabled_count += 1 if enabled else -1
        if enabled:
            _fill_policy_table()
            dispatch.push(_MODE)
        elif _enabled_count == 0:
            dispatch.remove(_MODE)


def get_autocast_dtype(device_type):
    """The calling thread's lower-precision dtype for `device_type` (cpu: None until set, see the module doc)."""
    return _state.dtype[_device_type(device_type, "get_autocast_dtype")]


def set_autocast_dtype(device_type, dtype):
    if not isinstance(dtype, _dtype_cls):
        raise TypeError(f"set_autocast_dtype: dtype must be an ag.dtype, not {type(dtype).__name__}")
    _state.dtype[_device_type(device_type, "set_autocast_dtype")] = dtype


def is_autocast_cache_enabled():
    return _state.cache_enabled


def set_autocast_cache_enabled(enabled):
    _state.cache_enabled = bool(enabled)


def clear_autocast_cache():
    _state.cache.clear()


def autocast_increment_nesting():
    _state.nesting += 1
    return _state.nesting


def autocast_decrement_nesting():
    _state.nesting -= 1
    return _state.nesting


# ---- the op lists ----------------------------------------------------------------------
# PyTorch 2.13's AutocastCUDA / AutocastCPU kernels (aten names), mapped to our op
# classes' op_name. Functions that we build of several ops are cast at their entry (_ENTRIES,
# by function name: cast_at_entry).

_LOWER_CUDA = ("matmul", "mm", "bmm", "mv", "linear", "addmm", "addbmm", "baddbmm", "addmv", "addr")
_FP32_CUDA = ("acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p", "reciprocal",
              "rsqrt", "sinh", "tan", "pow", "square", "softmax", "log_softmax", "sum", "prod", "cumsum",
              "cumprod", "norm", "logsumexp", "mse_loss", "nll_loss")
_PROMOTE_CUDA = ("addcdiv", "addcmul", "atan2", "cross", "dot", "vdot", "scatter_add", "index_put")
_LOWER_CPU = ("matmul", "mm", "bmm", "linear", "addmm", "addbmm", "baddbmm")
_FP32_CPU = ("prod", "mse_loss", "nll_loss", "trace", "cholesky", "cholesky_inverse", "cholesky_solve",
             "linalg.cholesky", "linalg.inv", "linalg.qr", "svd", "linalg.eigh", "geqrf", "ormqr",
             "linalg.householder_product", "linalg.solve", "linalg.pinv")
_PROMOTE_CPU = ("cat", "stack", "index_copy")

_LOSSES = ("l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "binary_cross_entropy_with_logits",
           "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "multilabel_margin_loss",
           "multi_margin_loss", "triplet_margin_loss", "poisson_nll_loss", "cosine_embedding_loss",
           "cross_entropy")
_CONV = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
# (paths under ag, {device: policy}); "banned": raise, as PyTorch's binary_cross_entropy on cuda. The
# function at each path is defined under @cast_at_entry (a test checks that every path's function is).
_ENTRIES = (
    [(f"nn.functional.{n}", {"cuda": "lower", "cpu": "lower"}) for n in _CONV + (
        "linear", "_linear", "prelu", "scaled_dot_product_attention")]
    + [(p, {"cuda": "lower", "cpu": "lower"}) for p in ("matmul", "Tensor.matmul", "linalg.vecdot")]
    + [(p, {"cuda": "lower"}) for p in ("einsum", "chain_matmul", "linalg.multi_dot")]
    + [(f"nn.functional.{n}", {"cuda": "fp32", "cpu": "fp32"}) for n in _LOSSES + ("ctc_loss",)]
    + [(f"nn.functional.{n}", {"cuda": "fp32"}) for n in ("layer_norm", "group_norm", "rms_norm", "softplus",
                                                          "cosine_similarity", "pdist", "interpolate")]
    + [(p, {"cuda": "fp32"}) for p in ("dist", "Tensor.dist", "renorm", "Tensor.renorm", "linalg.matrix_norm")]
    + [("cdist", {"cuda": "fp32", "cpu": "fp32"})]
    + [(f"nn.functional.{n}", {"cpu": "fp32"}) for n in ("max_pool3d", "avg_pool3d", "adaptive_avg_pool3d",
                                                         "adaptive_max_pool3d", "max_unpool2d", "max_unpool3d",
                                                         "fractional_max_pool2d", "fractional_max_pool3d")]
    + [(p, {"cpu": "fp32"}) for p in ("quantile", "nanquantile", "Tensor.quantile", "Tensor.nanquantile")]
    + [("nn.functional.binary_cross_entropy", {"cuda": "banned", "cpu": "fp32"})]
    + [(p, {"cuda": "promote"}) for p in ("tensordot", "nn.functional.bilinear")]
    + [("nn.functional.grid_sample", {"cuda": "promote", "cpu": "fp32"})]
)

_BCE_BANNED = ("binary_cross_entropy: ag.nn.functional.binary_cross_entropy and ag.nn.BCELoss are unsafe to "
               "autocast.\nMany models use a sigmoid layer right before the binary cross entropy layer.\nIn this "
               "case, combine the two layers using ag.nn.functional.binary_cross_entropy_with_logits\nor "
               "ag.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\nsafe to "
               "autocast.")

_POLICY = {}                       # op class -> {device: policy}
_filled = False
_ENTRY_POLICIES = {path.rpartition(".")[2]: policies for path, policies in _ENTRIES}


def _op_classes():
    from .autograd.op import Op
    seen, todo = [], [Op]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return [c for c in seen if hasattr(c, "forward")]


def _fill_policy_table():
    """The op-class table of the lists (once, on the first enabled region: every op class exists by then)."""
    global _filled
    if _filled:
        return
    by_name = defaultdict(list)
    for cls in _op_classes():
        by_name[cls.op_name].append(cls)
    for dev, lists in (("cuda", ((_LOWER_CUDA, "lower"), (_FP32_CUDA, "fp32"), (_PROMOTE_CUDA, "promote"))),
                       ("cpu", ((_LOWER_CPU, "lower"), (_FP32_CPU, "fp32"), (_PROMOTE_CPU, "promote")))):
        for names, policy in lists:
            for name in names:
                for cls in by_name.get(name, ()):
                    _POLICY.setdefault(cls, {})[dev] = policy
    _filled = True


# ---- casting -------------------------------------------------------------------------------

def _dev(t):
    return "cuda" if t._backend.is_cuda else "cpu"


def _eligible(t, dev):
    """PyTorch's is_eligible: a floating tensor of the region's device type, not float64."""
    d = t._data.dtype
    return d.kind == "f" and d.itemsize != 8 and _dev(t) == dev


def _target(policy, tensors, dev):
    """The dtype the eligible inputs are cast to."""
    fast = _state.dtype[dev]
    if policy == "lower":
        return fast
    if policy == "fp32":
        return float32
    widest = np.dtype(fast.np)                      # promote: from the lower precision up
    for t in tensors:
        d = t._data.dtype
        if d.kind == "f" and _dev(t) == dev and d.itemsize > widest.itemsize:
            widest = d
    from ._dtype import from_numpy_dtype
    return from_numpy_dtype(widest)


def _cast(t, dtype, dev):
    if not _eligible(t, dev) or t._data.dtype == dtype.np:
        return t
    st = _state
    if (st.cache_enabled and dtype is st.dtype[dev] and t._data.dtype == np.float32 and t._rg
            and t._node is None and t._base is None and _grad_state.enabled):
        hit = st.cache.get(id(t))
        if hit is None or hit[0] is not t:
            hit = st.cache[id(t)] = (t, t.to(dtype))
        return hit[1]
    return t.to(dtype)


class _AutocastMode(dispatch.Mode):
    """Casts the inputs of the listed ops (see the module doc)."""
    order = 10

    def _policy(self, cls, tensors):
        pol = _POLICY.get(cls)
        if pol is None or _state.suspended or not tensors:
            return None, None
        dev = _dev(tensors[0])
        if not _state.enabled[dev]:
            return None, None
        return pol.get(dev), dev

    def wants(self, cls, tensors):
        policy, dev = self._policy(cls, tensors)
        if policy is None:
            return False
        target = _target(policy, tensors, dev).np
        return any(_eligible(t, dev) and t._data.dtype != target for t in tensors)

    def run(self, apply, cls, tensors, attrs):
        policy, dev = self._policy(cls, tensors)
        target = _target(policy, tensors, dev)
        return apply(*[_cast(t, target, dev) for t in tensors], *attrs)


_MODE = _AutocastMode()


def _tensors_in(value, out):
    from .tensor import Tensor
    if isinstance(value, Tensor):
        out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _tensors_in(v, out)
    return out


def _cast_value(value, dtype, dev):
    from .tensor import Tensor
    if isinstance(value, Tensor):
        return _cast(value, dtype, dev)
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_cast_value(v, dtype, dev) for v in value)
    return value


def cast_at_entry(fn):
    """Decorator of the functions in _ENTRIES: fn cast at its entry by its policies ({device type: policy}),
    its inner ops not autocast."""
    policies = _ENTRY_POLICIES[fn.__name__]

    @functools.wraps(fn)
    def entry(*args, **kwargs):
        if not _enabled_count:               # (no region on in any thread: one test, then the function)
            return fn(*args, **kwargs)
        st = _state
        if st.suspended:
            return fn(*args, **kwargs)
        tensors = _tensors_in(list(args) + list(kwargs.values()), [])
        if not tensors or not st.enabled[_dev(tensors[0])]:
            return fn(*args, **kwargs)
        dev = _dev(tensors[0])
        policy = policies.get(dev)
        if policy is None:
            return fn(*args, **kwargs)
        if policy == "banned":
            raise RuntimeError(_BCE_BANNED)
        target = _target(policy, tensors, dev)
        args = _cast_value(args, target, dev)
        kwargs = {k: _cast_value(v, target, dev) for k, v in kwargs.items()}
        st.suspended += 1
        try:
            return fn(*args, **kwargs)
        finally:
            st.suspended -= 1
    entry.__wrapped_by_autocast__ = True
    return entry


def casts_at_entry(tensors):
    """Whether an entry-cast function called now casts these tensors to one dtype (autocast on for their
    device in this thread, not suspended, all eligible): a dtype check made before that function's
    entry (nn.Linear's) lets their mismatch through, as PyTorch's autocast does."""
    if not _enabled_count or _state.suspended:
        return False
    dev = _dev(tensors[0])
    return _state.enabled[dev] and all(_eligible(t, dev) for t in tensors)


def suspended_here():
    """Whether the calling thread runs with autocast suspended (inside an entry-cast function or an
    in-place op), or has no region on."""
    return not _enabled_count or _state.suspended > 0


class suspended:
    """Context manager: autocast off in this thread within it (in-place ops: PyTorch casts none)."""

    def __enter__(self):
        _state.suspended += 1

    def __exit__(self, *exc):
        _state.suspended -= 1
        return False


# ---- autocast -------------------------------------------------------------------------------

class autocast:
    """Run the ops of a region in mixed precision (context manager and decorator), as torch.autocast."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if not is_autocast_available(device_type):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        if dtype is not None and not isinstance(dtype, _dtype_cls):
            raise TypeError(f"autocast: dtype must be an ag.dtype, not {type(dtype).__name__}")
        self.device = device_type
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else bool(cache_enabled)
        if enabled:
            if device_type == "cuda":
                from . import cuda
                if not cuda.is_available():
                    warnings.warn("CUDA is not available. Disabling autocast.", stacklevel=2)
                    enabled = False
            elif self.fast_dtype is not float16:
                got = "bfloat16 (PyTorch's cpu default), which autograd_gpu does not have" \
                    if self.fast_dtype is None else self.fast_dtype
                warnings.warn(f"In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                              f"CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently; "
                              f"got {got}. Pass dtype=ag.float16.", stacklevel=2)
                enabled = False
        self._enabled = bool(enabled)

    def __enter__(self):
        self.prev_cache_enabled = is_autocast_cache_enabled()
        self.prev = is_autocast_enabled(self.device)
        self.prev_fastdtype = get_autocast_dtype(self.device)
        if self.fast_dtype is not None:
            set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        set_autocast_cache_enabled(self._cache_enabled)
        set_autocast_enabled(self.device, self._enabled)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if autocast_decrement_nesting() == 0:
            clear_autocast_cache()           # the weight cache lives as long as the outermost region
        set_autocast_enabled(self.device, self.prev)
        _state.dtype[self.device] = self.prev_fastdtype
        set_autocast_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(f"autocast()(func) requires a callable, but got {type(func).__name__}. Did you mean "
                            "to use autocast as a context manager? For example:\n"
                            "    with ag.autocast(device_type=...):\n        output = model(input)")

        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return decorate_autocast


def _cast_floating(value, device_type, dtype):
    """torch.amp's _cast for custom_fwd: floating tensors (not float64) of device_type, in containers too."""
    from .tensor import Tensor
    if isinstance(value, Tensor):
        d = value._data.dtype
        return value.to(dtype) if d.kind == "f" and d.itemsize != 8 and _dev(value) == device_type else value
    if isinstance(value, dict):
        return {k: _cast_floating(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_floating(v, device_type, dtype) for v in value)
    return value


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorator for a custom Function's forward: with `cast_inputs`, inside an autocast region its
    floating inputs are cast to that dtype and forward runs with autocast off."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            args[0]._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        args[0]._fwd_used_autocast = False
        if not is_autocast_enabled(device_type):
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return fwd(*_cast_floating(args, device_type, cast_inputs),
                       **_cast_floating(kwargs, device_type, cast_inputs))
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """Decorator for a custom Function's backward: it runs in the autocast state its forward ran in."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(device_type=device_type, enabled=args[0]._fwd_used_autocast, dtype=args[0]._dtype):
            return bwd(*args, **kwargs)
    return decorate_bwd


# ---- GradScaler ------------------------------------------------------------------------------

class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _fresh_optimizer_state():
    return {"stage": OptState.READY, "found_inf_per_device": {}}


class GradScaler:
    """Loss scaling for float16 gradients, as torch.amp.GradScaler: `scale(loss)`, `step(optimizer)`
    (skipped when a gradient holds inf/NaN), `update()`."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled:
            from . import cuda
            if not cuda.is_available():
                warnings.warn("ag.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                              stacklevel=2)
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = defaultdict(_fresh_optimizer_state)

    def _check_scale_growth_tracker(self, funcname):
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  This may indicate your script did "
                                 "not use scaler.scale(loss or outputs) earlier in the iteration.")
        return self._scale, self._growth_tracker

    def _lazy_init(self, device):
        from .creation import full
        from ._dtype import int32
        self._scale = full((), self._init_scale, dtype=float32, device=device)
        self._growth_tracker = full((), self._init_growth_tracker, dtype=int32, device=device)

    def scale(self, outputs):
        """outputs (a tensor, or nested lists/tuples of them) times the scale factor."""
        if not self._enabled:
            return outputs
        from .tensor import Tensor

        def apply_scale(val):
            if isinstance(val, Tensor):
                if self._scale is None:
                    self._lazy_init(val.device)
                return val * self._scale.to(val.device)
            if isinstance(val, (list, tuple)):
                return type(val)(apply_scale(v) for v in val)
            if hasattr(val, "__iter__"):
                return map(apply_scale, val)
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")
        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale, allow_fp16):
        """Multiply every gradient by inv_scale; per device, whether one held inf/NaN (a float32 0/1)."""
        from .creation import zeros
        grads = []
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if not allow_fp16 and p.grad.dtype is float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                grads.append(p.grad)
        found = {}
        from .autograd.grad_mode import no_grad
        with no_grad():
            for g in grads:
                dev = g.device
                if dev not in found:
                    found[dev] = zeros((), dtype=float32, device=dev)
                if not bool(g.isfinite().all()):
                    found[dev].fill_(1.0)
                g.mul_(inv_scale.to(dev))
        return found

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale, in place (once per step)."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = self._scale.double().reciprocal().float()
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, False)
        state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """optimizer.step() unless a gradient held inf/NaN (then None); unscales first if not done."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if not state["found_inf_per_device"]:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        if not sum(v.item() for v in state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None):
        """Back off the scale after a step with inf/NaN, grow it after growth_interval clean steps
        (or set it to new_scale)."""
        if not self._enabled:
            return
        scale, tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            from .tensor import Tensor
            if isinstance(new_scale, float):
                scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element ag.Tensor of dtype float32 with "
                          "requires_grad=False.")
                if not isinstance(new_scale, Tensor) or new_scale.device.type != self._device \
                        or new_scale.numel() != 1 or new_scale.requires_grad:
                    raise AssertionError(reason)
                scale.copy_(new_scale.reshape(()))
        else:
            found = [f for s in self._per_optimizer_states.values() for f in s["found_inf_per_device"].values()]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            inf = sum(f.item() for f in found)
            # PyTorch's _amp_update_scale_: float32 storage, arithmetic in double
            s, n = float(scale.item()), int(tracker.item())
            if inf:
                s, n = s * self._backoff_factor, 0
            elif n + 1 == self._growth_interval:
                grown = float(np.float32(s * self._growth_factor))
                s, n = (grown if np.isfinite(grown) else s), 0
            else:
                n += 1
            scale.fill_(float(np.float32(s)))
            tracker.fill_(n)
        self._per_optimizer_states = defaultdict(_fresh_optimizer_state)

    def get_scale(self):
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale.item()

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else int(self._growth_tracker.item())

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        missing = [k for k in ("scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker")
                   if k not in state_dict]
        if missing:                          # (checked before anything changes)
            raise KeyError(f"GradScaler.load_state_dict: missing keys {missing}")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError("A GradScaler instance may only be pickled at the beginning of an iteration, "
                                     "or at the end after scaler.update().")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
