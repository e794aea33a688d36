"""Module hooks (torch.nn.Module's): forward pre-hooks and forward hooks, full
backward hooks and backward pre-hooks, per module and global.

A module with no hook is called straight through (`Module.__call__` tests one
flag, `_hooked`, set on a module when a hook is registered on it and on the
Module class when a global one is). Backward hooks work as PyTorch's: the
module's tensor inputs and outputs pass through an identity Function
(BackwardHookFunction); a pre-hook on the outputs' node sees grad_output, a
post-hook on the inputs' node sees grad_input, and calls the user's hooks with
both."""
import warnings
from collections import OrderedDict

from ..autograd.function import Function
from ..autograd.graph import RemovableHandle
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor

# the global hooks (register_module_*), called before each module's own
_global_forward_pre_hooks = OrderedDict()
_global_forward_hooks = OrderedDict()
_global_forward_hooks_with_kwargs = OrderedDict()
_global_forward_hooks_always_called = OrderedDict()
_global_backward_pre_hooks = OrderedDict()
_global_backward_hooks = OrderedDict()


def _register_global(store, hook, extras=()):
    from .module import Module
    handle = RemovableHandle(store, extra_dict=list(extras))
    store[handle.id] = hook
    Module._hooked = True           # (every module now takes the hooked path; it finds what is registered)
    return handle


def register_module_forward_pre_hook(hook):
    """A forward pre-hook for every module: hook(module, args) -> None or new args."""
    return _register_global(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """A forward hook for every module: hook(module, args, output) (with_kwargs:
    hook(module, args, kwargs, output)) -> None or a new output."""
    handle = _register_global(_global_forward_hooks, hook,
                              (_global_forward_hooks_with_kwargs, _global_forward_hooks_always_called))
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook):
    """hook(module, grad_output) -> None or a new grad_output, for every module."""
    return _register_global(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook):
    """hook(module, grad_input, grad_output) -> None or a new grad_input, for every module."""
    return _register_global(_global_backward_hooks, hook)


# ---- the hooked call ------------------------------------------------------------------------

def _run_pre_hooks(module, args, kwargs):
    with_kwargs = module._forward_pre_hooks_with_kwargs
    for hook_id, hook in (*_global_forward_pre_hooks.items(), *module._forward_pre_hooks.items()):
        if hook_id in with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                       f"but got {result}.")
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    return args, kwargs


def _is_with_kwargs(module, hook_id):
    return hook_id in module._forward_hooks_with_kwargs or hook_id in _global_forward_hooks_with_kwargs


def _is_always_called(module, hook_id):
    return hook_id in module._forward_hooks_always_called or hook_id in _global_forward_hooks_always_called


_GLOBAL_STORES = (_global_forward_pre_hooks, _global_forward_hooks, _global_backward_pre_hooks, _global_backward_hooks)


def call_with_hooks(module, args, kwargs):
    """Module.__call__ for a module with hooks (or with global hooks about)."""
    if not any(_GLOBAL_STORES):
        from .module import Module
        Module._hooked = False          # (the global hooks are all removed: modules without their own go straight)
    called = set()
    result = None
    try:
        args, kwargs = _run_pre_hooks(module, args, kwargs)
        backward_hooks = [*_global_backward_hooks.values(), *module._backward_hooks.values()]
        backward_pre_hooks = [*_global_backward_pre_hooks.values(), *module._backward_pre_hooks.values()]
        bw_hook = None
        if backward_hooks or backward_pre_hooks:
            bw_hook = BackwardHook(module, backward_hooks, backward_pre_hooks)
            args = bw_hook.setup_input_hook(args)
        result = module.forward(*args, **kwargs)
        for hook_id, hook in (*_global_forward_hooks.items(), *module._forward_hooks.items()):
            if _is_always_called(module, hook_id):
                called.add(hook_id)
            if _is_with_kwargs(module, hook_id):
                hook_result = hook(module, args, kwargs, result)
            else:
                hook_result = hook(module, args, result)
            if hook_result is not None:
                result = hook_result
        if bw_hook is not None:
            if not isinstance(result, (Tensor, tuple)):
                warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of "
                              f"Tensors but received {type(result)}")
            result = bw_hook.setup_output_hook(result)
        return result
    except Exception:
        # the always_call forward hooks run even when forward failed (their own errors only warn)
        for hook_id, hook in (*_global_forward_hooks.items(), *module._forward_hooks.items()):
            if _is_always_called(module, hook_id) and hook_id not in called:
                try:
                    if _is_with_kwargs(module, hook_id):
                        hook(module, args, kwargs, result)
                    else:
                        hook(module, args, result)
                except Exception as e:
                    kind = "global module" if hook_id in _global_forward_hooks else "module"
                    warnings.warn(f"{kind} forward hook with ``always_call=True`` raised an exception that was "
                                  f"silenced as another error was raised in forward: {e}")
        raise


# ---- backward hooks -------------------------------------------------------------------------

class BackwardHookFunction(Function):
    """The identity on a module's tensor inputs or outputs: its node
    (BackwardHookFunctionBackward, as PyTorch's) is where the hooks sit."""
    jvp_from_backward = True

    @staticmethod
    def forward(ctx, *args):
        ctx.mark_non_differentiable(*[a for a in args if not a.requires_grad])
        return args

    @staticmethod
    def backward(ctx, *grads):
        return grads


def _through_identity(items):
    """(the items with their tensors passed through BackwardHookFunction, the
    tensors' positions, the identity's node) — unchanged when no tensor needs
    a gradient or grad mode is off."""
    positions = [i for i, a in enumerate(items) if isinstance(a, Tensor)]
    if not (is_grad_enabled() and any(items[i].requires_grad for i in positions)):
        return items, None, None
    outs = BackwardHookFunction.apply(*[items[i] for i in positions])
    if not isinstance(outs, tuple):
        outs = (outs,)
    new = list(items)
    for i, o in zip(positions, outs):
        new[i] = o
    node = next(o.grad_fn for o in outs if o.grad_fn is not None)
    return tuple(new), positions, node


def _pack_with_none(positions, values, size):
    out = [None] * size
    for i, v in zip(positions, values):
        out[i] = v
    return tuple(out)


class BackwardHook:
    """One call's backward hooks: set up on its inputs before forward and on
    its outputs after; the outputs' node records grad_output (after the
    pre-hooks), the inputs' node calls the hooks with grad_input."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module, self.user_hooks, self.user_pre_hooks = module, user_hooks, user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = 0
        self.input_positions = self.output_positions = None

    def setup_input_hook(self, args):
        self.n_inputs = len(args)
        args, self.input_positions, node = _through_identity(args)
        if node is not None:
            node.register_hook(self._on_grad_input)
        return args

    def setup_output_hook(self, result):
        single = not isinstance(result, tuple)
        items = (result,) if single else result
        self.n_outputs = len(items)
        items, self.output_positions, node = _through_identity(items)
        if node is not None:
            node.register_prehook(self._on_grad_output)
        return items[0] if single else items

    def _on_grad_output(self, grad_outputs):
        self.grad_outputs = _pack_with_none(self.output_positions, grad_outputs, self.n_outputs)
        replaced = False
        for hook in self.user_pre_hooks:
            out = hook(self.module, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(self.grad_outputs):
                raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got {len(out)}, "
                                   f"but expected {len(self.grad_outputs)}")
            self.grad_outputs, replaced = tuple(out), True
        grad_outputs = self.grad_outputs
        if self.input_positions is None:
            # no input needs a gradient: the inputs' node will not run, so the hooks are called here
            if self.user_hooks:
                warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                              "outputs since no inputs require gradients. See https://docs.pytorch.org/docs/main/"
                              "generated/torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more "
                              "details.", stacklevel=2)
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(el is None for el in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        if replaced:
            return tuple(grad_outputs[i] for i in self.output_positions)
        return None

    def _on_grad_input(self, grad_inputs, _grad_outputs):
        if self.grad_outputs is None:
            return None        # (the gradient reached the inputs without passing the outputs: double backward)
        res = _pack_with_none(self.input_positions, grad_inputs, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(out)}, but "
                                   f"expected {len(res)}")
            res = tuple(out)
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_positions)
