"""torch.nn.utils.prune: pruning methods that mask a parameter through a forward pre-hook.

Pruning `name` of a module moves the parameter to `name + "_orig"`, registers
the mask as the buffer `name + "_mask"`, and sets the plain attribute `name`
to `mask * orig`, recomputed before each forward by the method itself (a
forward pre-hook). Pruning the same tensor again combines the masks in a
PruningContainer: the new method only sees the entries (unstructured) or the
channels (structured) the earlier masks kept.

Which entries L1/Ln pruning drop is PyTorch's: torch.topk on the CPU selects
with std::partial_sort or std::nth_element (libstdc++), and when values tie at
the cut the chosen indices are those algorithms'; `_smallest_k` replays them
so that the masks are equal, ties included."""
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy as np

from ...autograd.grad_mode import no_grad

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "random_structured", "ln_structured", "global_unstructured", "custom_from_mask",
           "remove", "is_pruned"]


# ---- torch.topk's choice of indices (CPU), ties included ------------------------------------------

def _topk_indices(values, k, largest):
    """The indices torch.topk(values, k, largest) returns on the CPU (as a set:
    the order is not needed). NaN counts as the largest value."""
    values = np.asarray(values).ravel()
    n = values.size
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    nan = np.isnan(values)
    # a sort key where NaN is largest; the order the C++ comparator uses
    key = np.where(nan, np.inf, values).astype(np.float64)
    order = np.lexsort((key, nan)) if not largest else np.lexsort((-key, ~nan))
    chosen = order[:k]
    if k == n:
        return chosen
    last, after = order[k - 1], order[k]
    if nan[last] == nan[after] and (nan[last] or key[last] == key[after]):
        return _stl_select(values, k, largest)       # a tie at the cut: which ones is the STL's choice
    return chosen


def _stl_select(values, k, largest):
    """Replay of ATen's topk_impl_loop: std::partial_sort when k * 64 <= n,
    else std::nth_element, over (value, index) pairs, with libstdc++'s
    algorithms; returns the indices in the first k places."""
    n = values.size
    keys = [((1 if math.isnan(v) else 0), 0.0 if math.isnan(v) else float(v)) for v in values.tolist()]
    if largest:
        keys = [(-a, -b) for a, b in keys]
    q = list(range(n))

    def less(i, j):
        return keys[i] < keys[j]
    if k * 64 <= n:
        _heap_select(q, 0, k, n, less)
    else:
        _introselect(q, 0, k - 1, n, 2 * (n.bit_length() - 1), less)
    return np.array(q[:k], dtype=np.int64)


def _adjust_heap(q, first, hole, length, value, less):
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if less(q[first + child], q[first + child - 1]):
            child -= 1
        q[first + hole] = q[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        q[first + hole] = q[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and less(q[first + parent], value):
        q[first + hole] = q[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    q[first + hole] = value


def _heap_select(q, first, middle, last, less):
    length = middle - first
    if length >= 2:
        parent = (length - 2) // 2
        while True:
            _adjust_heap(q, first, parent, length, q[first + parent], less)
            if parent == 0:
                break
            parent -= 1
    for i in range(middle, last):
        if less(q[i], q[first]):
            value = q[i]
            q[i] = q[first]
            _adjust_heap(q, first, 0, length, value, less)


def _introselect(q, first, nth, last, depth, less):
    while last - first > 3:
        if depth == 0:
            _heap_select(q, first, nth + 1, last, less)
            q[first], q[nth] = q[nth], q[first]
            return
        depth -= 1
        cut = _partition_pivot(q, first, last, less)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, first, last, less)


def _partition_pivot(q, first, last, less):
    mid = first + (last - first) // 2
    a, b, c = first + 1, mid, last - 1
    if less(q[a], q[b]):
        m = b if less(q[b], q[c]) else (c if less(q[a], q[c]) else a)
    else:
        m = a if less(q[a], q[c]) else (c if less(q[b], q[c]) else b)
    q[first], q[m] = q[m], q[first]
    lo, hi = first + 1, last
    pivot = q[first]
    while True:
        while less(q[lo], pivot):
            lo += 1
        hi -= 1
        while less(pivot, q[hi]):
            hi -= 1
        if not lo < hi:
            return lo
        q[lo], q[hi] = q[hi], q[lo]
        lo += 1


def _insertion_sort(q, first, last, less):
    for i in range(first + 1, last):
        value = q[i]
        if less(value, q[first]):
            q[first + 1:i + 1] = q[first:i]
            q[first] = value
        else:
            j = i
            while less(value, q[j - 1]):
                q[j] = q[j - 1]
                j -= 1
            q[j] = value


# ---- validation (PyTorch's messages) --------------------------------------------------------------

def _validate_amount_init(amount):
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _n_to_prune(amount, size):
    """How many of `size` entries (or channels) `amount` means; an int larger than size is an error."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={size}")
        return int(amount)
    return round(amount * size)


def _validate_structured(t, dim):
    if t.dim() <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. Found tensor of "
                         f"shape {tuple(t.shape)} with {t.dim()} dims")
    if dim >= t.dim() or dim < -t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}")


def _host(t):
    return np.asarray(t.detach().cpu().numpy())


def _mask_with_zeros(default_mask, flat_indices):
    """A copy of default_mask with the entries at flat_indices set to 0."""
    mask = default_mask.clone()
    if len(flat_indices):
        import autograd_gpu as ag
        idx = ag.tensor(np.asarray(flat_indices, dtype=np.int64), device=mask.device)
        mask.view(-1)[idx] = 0
    return mask


def _channel_mask(t, dim, keep):
    """Ones over the channels `keep` (indices along dim) of a tensor shaped as t, zeros elsewhere."""
    import autograd_gpu as ag
    mask = ag.zeros_like(t)
    slc = [slice(None)] * t.dim()
    slc[dim] = ag.tensor(np.asarray(keep, dtype=np.int64), device=t.device)
    mask[tuple(slc)] = 1
    return mask


# ---- the methods -------------------------------------------------------------------------------------

class BasePruningMethod(ABC):
    """A pruning method: compute_mask(t, default_mask) gives the new mask;
    apply(module, name, ...) prunes a module's tensor with it."""
    _tensor_name = None

    def __call__(self, module, inputs):
        # the forward pre-hook: the pruned tensor, recomputed from the current orig and mask
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The mask for `t`, given the mask of the earlier pruning (default_mask)."""

    def apply_mask(self, module):
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune module.<name> with a new cls(*args, **kwargs), combining it with
        any earlier pruning of that tensor. Everything is computed before the
        module changes: a failed call leaves it as it was."""
        hook_id, old = _pruning_hook(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is None:
            combined = method
        else:       # (a new container until the mask is made: a failed call leaves the old one as it was)
            combined = PruningContainer()
            combined._tensor_name = name
            combined._pruning_methods = tuple(old) if isinstance(old, PruningContainer) else (old,)
            combined.add_pruning_method(method)
        orig = getattr(module, name)       # (once pruned: the masked tensor, which PyTorch scores by)
        if importance_scores is not None:
            if importance_scores.shape != orig.shape:
                raise AssertionError(f"importance_scores should have the same shape as parameter {name} of "
                                     f"{module}, got {importance_scores.shape} vs {orig.shape}")
        else:
            importance_scores = orig
        import autograd_gpu as ag
        with no_grad():
            if old is None:
                default_mask = ag.ones_like(orig)
            else:
                default_mask = getattr(module, name + "_mask").detach().clone()
            mask = combined.compute_mask(importance_scores, default_mask=default_mask)
        if old is None:
            from ..parameter import Parameter
            if not isinstance(orig, Parameter):
                raise TypeError(f"prune: module.{name} must be a parameter to be pruned, got "
                                f"{type(orig).__name__}")
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
        else:
            del module._forward_pre_hooks[hook_id]
            if isinstance(old, PruningContainer):     # (PyTorch extends the container it had)
                old._pruning_methods = combined._pruning_methods
                combined = old
        module.register_buffer(name + "_mask", mask)
        setattr(module, name, combined.apply_mask(module))
        module.register_forward_pre_hook(combined)
        return combined

    def prune(self, t, default_mask=None, importance_scores=None):
        """t with this method's mask applied (module-free)."""
        import autograd_gpu as ag
        if importance_scores is not None:
            if importance_scores.shape != t.shape:
                raise AssertionError(f"importance_scores should have the same shape as tensor t, got "
                                     f"{importance_scores.shape} vs {t.shape}")
        else:
            importance_scores = t
        default_mask = default_mask if default_mask is not None else ag.ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module):
        """Make the pruning permanent: module.<name> becomes the parameter again, holding orig * mask."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be removed")
        weight = self.apply_mask(module)
        if hasattr(module, self._tensor_name):
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


def _pruning_hook(module, name):
    """(hook id, method) of the pruning hook on module.<name>, or (None, None)."""
    found = [(k, h) for k, h in module._forward_pre_hooks.items()
             if isinstance(h, BasePruningMethod) and h._tensor_name == name]
    if len(found) > 1:
        raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} of module {module}. "
                             "Use a PruningContainer.")
    return found[0] if found else (None, None)


class PruningContainer(BasePruningMethod):
    """The pruning methods applied in turn to one tensor; the last one computes
    the new mask over what the earlier masks kept."""

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) >= 1:
            self._tensor_name = args[0]._tensor_name
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        """The last method's mask, computed on the part of t that default_mask keeps."""
        method = self._pruning_methods[-1]
        new_mask = default_mask.to(dtype=t.dtype)
        kind = method.PRUNING_TYPE
        if kind == "unstructured":
            slc = default_mask == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the attribute '
                                     "`dim` defined.")
            n_dims = t.dim()
            dim = method.dim + n_dims if method.dim < 0 else method.dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {n_dims}")
            keep = default_mask.sum(dim=[d for d in range(n_dims) if d != dim]) != 0
            slc = [slice(None)] * n_dims
            slc[dim] = keep
            slc = tuple(slc)
        elif kind == "global":
            slc = (slice(None),) * t.dim()
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        partial = method.compute_mask(t[slc], default_mask=default_mask[slc])
        new_mask[slc] = partial.to(dtype=new_mask.dtype)
        return new_mask


class Identity(BasePruningMethod):
    """Prunes nothing (the mask is all ones)."""
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes `amount` entries (a fraction, or a count) chosen at random."""
    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        import autograd_gpu as ag
        k = _n_to_prune(self.amount, t.numel())
        scores = _host(ag.rand(t.numel(), device=t.device))
        return _mask_with_zeros(default_mask, np.argsort(scores, kind="stable")[::-1][:k])

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the `amount` entries of smallest absolute value."""
    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _n_to_prune(self.amount, t.numel())
        return _mask_with_zeros(default_mask, _topk_indices(np.abs(_host(t)), k, largest=False))

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes `amount` channels along `dim`, chosen at random."""
    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t, default_mask):
        import autograd_gpu as ag
        _validate_structured(t, self.dim)
        size = t.shape[self.dim]
        k = _n_to_prune(self.amount, size)
        if k == 0:
            return default_mask
        scores = _host(ag.rand(size))
        keep = np.sort(np.argsort(scores, kind="stable")[k:])
        return _channel_mask(t, self.dim, keep) * default_mask.to(dtype=t.dtype)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the `amount` channels along `dim` of smallest L`n` norm."""
    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t, default_mask):
        _validate_structured(t, self.dim)
        size = t.shape[self.dim]
        k = _n_to_prune(self.amount, size)
        dim = self.dim % t.dim()
        others = [d for d in range(t.dim()) if d != dim]
        if isinstance(self.n, str) and len(others) > 2:     # (torch.norm then calls matrix_norm, which refuses)
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, others))}")
        norms = t.detach().norm(p=self.n, dim=others)
        keep = _topk_indices(_host(norms), size - k, largest=True)
        if k == 0:
            return default_mask
        return _channel_mask(t, dim, keep) * default_mask.to(dtype=t.dtype)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given mask is 0."""
    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match self.mask shape "
                                 f"{self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype, device=default_mask.device)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


# ---- the functions ---------------------------------------------------------------------------------

def identity(module, name):
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune the (module, name) pairs of `parameters` together: pruning_method
    (an unstructured one) chooses among all their entries at once."""
    import autograd_gpu as ag
    from . import parameters_to_vector
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method} of type {method.PRUNING_TYPE}")
    with no_grad():
        scores = parameters_to_vector([importance_scores.get((m, name), getattr(m, name)).detach()
                                       for m, name in parameters])
        default_mask = parameters_to_vector([m._buffers[name + "_mask"] if name + "_mask" in m._buffers
                                             else ag.ones_like(getattr(m, name)) for m, name in parameters])
        container = PruningContainer()
        container._tensor_name = method._tensor_name = "temp"
        container.add_pruning_method(method)
        final_mask = container.compute_mask(scores, default_mask)
    pointer = 0
    for m, name in parameters:
        param = getattr(m, name)
        n = param.numel()
        custom_from_mask(m, name, mask=final_mask[pointer:pointer + n].view_as(param))
        pointer += n


def remove(module, name):
    """Make the pruning of module.<name> permanent and drop its hook, _orig and _mask."""
    hook_id, method = _pruning_hook(module, name)
    if method is None:
        raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")
    method.remove(module)
    del module._forward_pre_hooks[hook_id]
    return module


def is_pruned(module):
    """Whether any submodule of module has a pruning hook."""
    for _, sub in module.named_modules():
        for hook in sub.__dict__.get("_forward_pre_hooks", {}).values():
            if isinstance(hook, BasePruningMethod):
                return True
    return False


# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}
