"""Containers: `Sequential` (modules applied one after another), `ModuleList`
and `ModuleDict` (modules held, and registered, by position or by name), and
`ParameterList` and `ParameterDict` (parameters held the same way)."""
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .module import Module, _addindent


def _checked_index(owner, idx):
    """idx as a non-negative position among owner's modules."""
    n = len(owner._modules)
    if not isinstance(idx, int) or isinstance(idx, bool):
        raise TypeError(f"{type(owner).__name__} indices must be integers or slices, not {type(idx).__name__}")
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for a {type(owner).__name__} of {n} modules")
    return idx % n


def _renumber(owner, modules):
    """Hold `modules` under the names 0..n-1, as PyTorch keeps them."""
    owner._modules.clear()
    for i, m in enumerate(modules):
        owner._modules[str(i)] = m


def _atomically(owner, change):
    """Run change(); if it raises, put owner's modules back as they were."""
    saved = OrderedDict(owner._modules)
    try:
        change()
    except BaseException:
        owner._modules.clear()
        owner._modules.update(saved)
        raise


class _Indexed(Module):
    """What Sequential and ModuleList share: modules named 0..n-1, indexing,
    deletion (renumbering the rest), len and iteration."""

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._slice(list(self._modules.items())[idx])
        return list(self._modules.values())[_checked_index(self, idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_checked_index(self, idx)]
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[key] = module

    def __delitem__(self, idx):
        items = list(self._modules.values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[_checked_index(self, idx)]
        _renumber(self, items)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


class Sequential(_Indexed):
    """`Sequential(m0, m1, ...)` or `Sequential(OrderedDict(name=module, ...))`;
    forward feeds each module's output to the next. Indexing gives a module
    (or, with a slice, a Sequential of those modules); len and iteration
    work over the modules."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def _slice(self, items):
        return type(self)(OrderedDict(items))

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(_Indexed):
    """A list of modules, registered as submodules "0", "1", ...: their
    parameters are the list's. `append`, `extend`, `insert`, `pop`, `+`,
    `+=`, indexing and slicing (a ModuleList), len and iteration."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _slice(self, items):
        return type(self)(m for _, m in items)

    def extend(self, modules):
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got {type(modules).__name__}")
        modules = list(modules)

        def change():
            for m in modules:
                self.append(m)
        _atomically(self, change)
        return self

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        items = list(self._modules.values())
        items.insert(index, module)
        _renumber(self, items)

    def pop(self, key=-1):
        module = self[key]
        del self[key]
        return module

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        if not isinstance(other, ModuleList):
            raise TypeError(f"add a ModuleList to a ModuleList, not {type(other).__name__}")
        return ModuleList(list(self) + list(other))

    def __repr__(self):
        # runs of equal reprs are shown once, as "(i-j): n x repr", as PyTorch prints them
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        runs = []                 # [first index, last index, repr]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = [_addindent(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}", 2) for a, b, r in runs]
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered dict of modules, registered under their keys: `d[key]`,
    `d[key] = m`, `del d[key]`, `in`, len, iteration over keys, `keys()`,
    `items()`, `values()`, `update()`, `pop()`, `clear()`."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        """Add (or replace) modules from a mapping or from (key, module) pairs, in their order."""
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleDict.update should be called with an iterable of key/value pairs, but got "
                            + type(modules).__name__)
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = list(modules.items())
        else:
            pairs = []
            for j, m in enumerate(modules):
                if not isinstance(m, Iterable):
                    raise TypeError(f"ModuleDict update sequence element #{j} should be Iterable; is "
                                    f"{type(m).__name__}")
                m = list(m)
                if len(m) != 2:
                    raise ValueError(f"ModuleDict update sequence element #{j} has length {len(m)}; 2 is required")
                pairs.append(m)

        def change():
            for key, module in pairs:
                self[key] = module
        _atomically(self, change)


def _as_parameter(value):
    """A plain Tensor becomes a Parameter (as PyTorch's containers convert it); anything else is kept."""
    from ..tensor import Tensor
    from .parameter import Parameter
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _describe(value):
    """One entry of a parameter container's repr, in PyTorch's layout."""
    from ..tensor import Tensor
    from .parameter import Parameter
    if not isinstance(value, Tensor):
        return f"Object of type: {type(value).__name__}"
    kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
    size = "x".join(str(n) for n in value.shape)
    where = f" ({value.device})" if value.is_cuda else ""
    return kind, size, where


class ParameterList(Module):
    """A list of parameters, registered as "0", "1", ...: indexing, slicing (a
    ParameterList), `append`, `extend`, `+=`, len and iteration. Tensors
    assigned become Parameters; other values are held as plain attributes."""

    def __init__(self, values=None):
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self += values

    def _index(self, idx):
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise TypeError(f"ParameterList indices must be integers or slices, not {type(idx).__name__}")
        if not -self._size <= idx < self._size:
            raise IndexError(f"index {idx} is out of range for a ParameterList of {self._size} entries")
        return str(idx % self._size)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            out = type(self)()
            for i in range(*idx.indices(self._size)):
                out.append(self[i])
            return out
        return getattr(self, self._index(idx))

    def __setitem__(self, idx, param):
        self._set(self._index(idx), param)

    def _set(self, name, value):
        value = _as_parameter(value)
        if name in self._parameters or name in self.__dict__:
            # the entry changes kind (parameter / plain value): forget the old one first
            self._parameters.pop(name, None)
            self.__dict__.pop(name, None)
        setattr(self, name, value)

    def __len__(self):
        return self._size

    def __iter__(self):
        return iter(self[i] for i in range(self._size))

    def __iadd__(self, parameters):
        return self.extend(parameters)

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]

    def append(self, value):
        name = str(self._size)
        self._set(name, value)
        object.__setattr__(self, "_size", self._size + 1)
        return self

    def extend(self, values):
        if not isinstance(values, Iterable) or _is_tensor(values):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got "
                            f"{type(values).__name__}")
        values = [_as_parameter(v) for v in values]      # converted first: a bad value changes nothing
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        lines = []
        for k, p in enumerate(self):
            d = _describe(p)
            text = d if isinstance(d, str) else f"{d[0]} containing: [{p.dtype} of size {d[1]}{d[2]}]"
            lines.append(f"  ({k}): {text}")
        return "\n".join(lines)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


def _is_tensor(value):
    from ..tensor import Tensor
    return isinstance(value, Tensor)


class ParameterDict(Module):
    """An ordered dict of parameters, registered under their (string) keys:
    `d[key]`, `d[key] = p`, `del d[key]`, `in`, len, iteration over keys,
    `keys()`, `items()`, `values()`, `get`, `pop`, `popitem`, `setdefault`,
    `update`, `copy`, `clear`, `fromkeys`, `|`. Tensors assigned become
    Parameters; other values are held as plain attributes."""

    def __init__(self, parameters=None):
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _key(key):
        if not isinstance(key, str):
            raise TypeError(f"Index given to ParameterDict cannot be used as a key as it is not a string (type is "
                            f"'{type(key).__name__}'). Open an issue on github if you need non-string keys.")
        return key

    def __getitem__(self, key):
        if self._key(key) not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        key = self._key(key)
        value = _as_parameter(value)
        self._parameters.pop(key, None)
        self.__dict__.pop(key, None)
        setattr(self, key, value)
        self._keys[key] = None

    def __delitem__(self, key):
        if self._key(key) not in self._keys:
            raise KeyError(key)
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(list(self._keys))

    def __contains__(self, key):
        return key in self._keys

    def copy(self):
        return type(self)(OrderedDict((k, self[k]) for k in self._keys))

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self):
        for k in list(self._keys):
            del self[k]

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        if not self._keys:
            raise KeyError("popitem(): dictionary is empty")
        key = list(self._keys)[-1]
        return key, self.pop(key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def fromkeys(self, keys, default=None):
        return type(self)((k, default) for k in keys)

    def keys(self):
        return self._keys.keys()

    def items(self):
        return ((k, self[k]) for k in self._keys)

    def values(self):
        return (self[k] for k in self._keys)

    def update(self, parameters):
        """Add (or replace) entries from a mapping (a plain dict's in sorted key
        order, as PyTorch) or from (key, value) pairs."""
        if not isinstance(parameters, Iterable):
            raise TypeError("ParametersDict.update should be called with an iterable of key/value pairs, but got "
                            + type(parameters).__name__)
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = list(parameters.items())
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = []
            for j, p in enumerate(parameters):
                if not isinstance(p, Iterable):
                    raise TypeError(f"ParameterDict update sequence element #{j} should be Iterable; is "
                                    f"{type(p).__name__}")
                p = list(p)
                if len(p) != 2:
                    raise ValueError(f"ParameterDict update sequence element #{j} has length {len(p)}; 2 is "
                                     "required")
                pairs.append(p)
        pairs = [(self._key(k), _as_parameter(v)) for k, v in pairs]     # checked first: a failure changes nothing
        for k, v in pairs:
            self[k] = v

    def extra_repr(self):
        lines = []
        for k, p in self.items():
            d = _describe(p)
            if not isinstance(d, str):
                cuda = "cuda." if p.is_cuda else ""
                d = f"{d[0]} containing: [autograd_gpu.{cuda}{p.dtype.libtorch}Tensor of size {d[1]}{d[2]}]"
            lines.append(f"  ({k}): {d}")
        return "\n".join(lines)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called.")

    def __or__(self, other):
        out = self.copy()
        out.update(other)
        return out

    def __ror__(self, other):
        out = other.copy()
        out.update(self)
        return out

    def __ior__(self, other):
        self.update(other)
        return self
