"""torch.nn.utils.stateless: functional_call (a module run with parameters and buffers given for the call).

The given tensors are swapped into the module (by dotted name) for the one
call and the module's own put back afterwards, also when the call raises.
`functional_call` is torch.nn.utils.stateless's (deprecated there, with its
FutureWarning); `func_functional_call` is torch.func.functional_call, the
same without the warning (one dict or a sequence of dicts)."""
import warnings
from collections.abc import Sequence

from ...tensor import Tensor

__all__ = ["functional_call", "func_functional_call"]

_MISSING = object()


def _owner(module, dotted):
    """(submodule, attribute name) for a dotted tensor name."""
    prefix, _, attr = dotted.rpartition(".")
    sub = module
    if prefix:
        for part in prefix.split("."):
            child = sub._modules.get(part) if isinstance(sub.__dict__.get("_modules"), dict) else None
            if child is None:
                raise AttributeError(f"{sub._get_name()} has no attribute `{part}`")
            sub = child
    return sub, attr


def _swap(module, dotted, value):
    """Put value at module.<dotted> (a parameter or buffer slot keeps its kind; _MISSING deletes
    a plain attribute); returns what was there (_MISSING when nothing was)."""
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(f"functional_call: {value!r} is not an instance of Tensor (for '{dotted}')")
    sub, name = _owner(module, dotted)
    if "." in name or name == "":
        raise KeyError(f"functional_call: invalid tensor name '{dotted}'")
    for store in ("_parameters", "_buffers"):
        reg = sub.__dict__[store]
        if name in reg:
            old = reg[name]
            if value is _MISSING:
                del reg[name]
            else:
                reg[name] = value
            return old
    old = sub.__dict__.get(name, _MISSING)
    if old is not _MISSING and old is not None and not isinstance(old, Tensor):
        raise TypeError(f"functional_call: attribute `{name}`: {old!r} is not an instance of Tensor")
    if value is _MISSING:
        sub.__dict__.pop(name, None)
    else:
        object.__setattr__(sub, name, value)
    return old


def _untie(module, given):
    """With tie_weights: a value given for one name of a tensor the module holds
    under several names (tied weights) goes to all of them."""
    names_of = {}
    for name, t in (*module.named_parameters(remove_duplicate=False),
                    *module.named_buffers(remove_duplicate=False)):
        names_of.setdefault(id(t), set()).add(name)
    tied = {n: names for names in names_of.values() if len(names) > 1 for n in names}
    out = dict(given)
    for name in given:
        if name not in tied:
            continue
        group = tied[name]
        values = {id(given[n]) for n in group if n in given}
        if len(values) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(group)}, which are tied. "
                             "Consider using tie_weights=False")
        for n in group:
            out[n] = given[name]
    return out


def _check_strict(module, given):
    valid = {n for n, _ in module.named_parameters(remove_duplicate=False)}
    valid.update(n for n, _ in module.named_buffers(remove_duplicate=False))
    missing, unexpected = sorted(valid - set(given)), sorted(set(given) - valid)
    msgs = []
    if unexpected:
        msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if msgs:
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(module._get_name(), "\n\t".join(msgs)))


def _merge_dicts(dicts):
    if isinstance(dicts, dict):
        return dicts
    if isinstance(dicts, Sequence) and not isinstance(dicts, str):
        if not all(isinstance(d, dict) for d in dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        counts = {}
        for d in dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        return {k: v for d in dicts for k, v in d.items()}
    raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                     f"{type(dicts)}")


def _call(module, given, args, kwargs, tie_weights, strict):
    values = _untie(module, given) if tie_weights else given
    if strict:
        _check_strict(module, values)
    kwargs = {} if kwargs is None else kwargs
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    saved = {}
    try:
        for name, value in values.items():
            saved[name] = _swap(module, name, value)
        return module(*args, **kwargs)
    finally:
        # put the module's own back, last swapped first (a name given twice through ties ends as it began);
        # the given dict sees what the module held at the end (PyTorch's: a forward may reassign)
        final = {}
        for name, old in reversed(list(saved.items())):
            final[name] = _swap(module, name, old)
        given.update({k: final[k] for k in given if k in final and final[k] is not _MISSING})


def func_functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                         strict=False):
    """torch.func.functional_call: module(*args, **kwargs) with the named
    tensors of parameter_and_buffer_dicts (a dict, or a sequence of dicts
    with distinct keys) in place of the module's own, for this call only."""
    given = _merge_dicts(parameter_and_buffer_dicts)
    return _call(module, given, args, kwargs, tie_weights, strict)


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """torch.nn.utils.stateless.functional_call (deprecated in PyTorch 2, as here)."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed "
                  "in a future version of PyTorch. Please use `torch.func.functional_call` instead which is a "
                  "drop-in replacement.", FutureWarning, stacklevel=2)
    return func_functional_call(module, parameter_and_buffer_dicts, args, kwargs, tie_weights=tie_weights,
                                strict=strict)


# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}
