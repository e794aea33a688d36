"""Containers: `Sequential` (modules applied one after another), `ModuleList`
and `ModuleDict` (modules held, and registered, by position or by name)."""
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
