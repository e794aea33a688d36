"""The Tensor: an array (NumPy on the CPU, CuPy on a GPU) plus autograd state.

Ops are defined in `ops/`; their methods are attached to the class there
(`ops/__init__.py`), so this module holds only what a tensor *is*."""
import warnings

import numpy as np

from . import _dtype
from .autograd.graph import add_hook, HookDict
from . import autograd as _autograd
from .autograd import op as _op
from .autograd.grad_mode import state as _grad_state

NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
    "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
    "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead.")


class Tensor:
    # The attributes every op touches are slots; the rest are class defaults
    # that an instance overrides in its __dict__ only when it needs to, so
    # making a tensor sets five attributes.
    __slots__ = ("_data", "_backend", "_vc", "_node", "_rg", "__dict__", "__weakref__")
    _output_nr = 0          # which output of _node this tensor is
    _grad = None
    _base = None            # for views: the tensor whose memory this one shares
    _view_of = None         # for views: (source, op class, attrs), to re-derive it
    _view_ver = 0           # for views: the version when _node was derived
    _nograd = False         # for views: made in no_grad mode (PyTorch will not rebase it)
    _own_rg = False         # for views that are leaves: requires_grad_() set on the view itself
    _view_acc = None        # for such views: weakref to their AccumulateGrad
    _views = None           # for bases: weakrefs to views made without a node (autograd/op.py)
    _retains_grad = False
    _hooks = None           # for leaves: hooks run before accumulation
    _acc = None             # for leaves: weakref to the AccumulateGrad node
    _post_acc_hooks = None  # for leaves: hooks run after .grad was accumulated
    _fw = None              # under forward AD: the tangent (autograd/forward_ad.py)
    # NumPy must not treat tensors as arrays in binary ops: `ndarray + tensor`
    # then defers to Tensor.__radd__ instead of making an object array.
    __array_ufunc__ = None

    def __init__(self, *args, **kwargs):
        raise TypeError("create tensors with ag.tensor(data, ...), ag.zeros(...), ag.from_numpy(...)")

    @staticmethod
    def _make(data, backend):
        """Wrap an array (already on `backend`) as a fresh leaf not requiring grad."""
        t = _new(Tensor)
        t._data = data
        t._backend = backend
        t._vc = [0]
        t._node = None
        t._rg = False
        return t

    @staticmethod
    def _make_output(data, node, output_nr):
        """A tensor for output `output_nr` of `node` (unpacking a saved result
        under create_graph: a new tensor object on the same graph position)."""
        t = Tensor._make(data, node._backend)
        t._node, t._output_nr, t._rg = node, output_nr, True
        return t

    # ---- basic properties -------------------------------------------------------
    @property
    def shape(self):
        return self._data.shape

    def size(self, dim=None):
        if dim is None:
            return self._data.shape
        d = _wrap_dim(dim, self._data.ndim, "size")
        if not self._data.ndim:
            raise IndexError(f"size(): Dimension specified as {dim} but tensor has no dimensions")
        return self._data.shape[d]

    def stride(self, dim=None):
        """The strides in elements, as PyTorch counts them (NumPy and CuPy count bytes)."""
        d = self._data
        if d.size:
            strides = tuple([b // d.itemsize for b in d.strides])
        else:                    # no element, no layout: PyTorch's contiguous strides (sizes 0 count as 1)
            strides, n = [], 1
            for k in reversed(d.shape):
                strides.append(n)
                n *= max(k, 1)
            strides = tuple(reversed(strides))
        if dim is None:
            return strides
        k = _wrap_dim(dim, d.ndim, "stride")
        if not d.ndim:
            raise IndexError(f"stride(): Dimension specified as {dim} but tensor has no dimensions")
        return strides[k]

    def data_ptr(self):
        """The address of the first element (0 for a tensor without elements, as
        PyTorch gives): views of one tensor can be told apart and compared."""
        d = self._data
        if not d.size:
            return 0
        return d.data.ptr if self._backend.is_cuda else d.__array_interface__["data"][0]

    def dim(self):
        return self._data.ndim

    @property
    def ndim(self):
        return self._data.ndim

    def ndimension(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def dtype(self):
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return self._backend.device

    @property
    def is_cuda(self):
        return self._backend.is_cuda

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def type(self, dtype=None):
        """Without arguments, libtorch's type name (CPUFloatType); with a dtype, a legacy type
        (ag.DoubleTensor) or PyTorch's type string ("torch.DoubleTensor", "torch.cuda.FloatTensor"), a cast."""
        if dtype is None:
            return self._backend.type_prefix + self.dtype.libtorch + "Type"
        if isinstance(dtype, type):          # a legacy type (ag.DoubleTensor): its type string
            dtype = getattr(dtype, "type_string", dtype)
        if isinstance(dtype, str):
            from . import _dtype
            cuda, dt = _dtype.from_type_string(dtype)
            if cuda != self.is_cuda:
                return self.to(device="cuda" if cuda else "cpu", dtype=dt)
            dtype = dt
        return self.to(dtype)

    def is_contiguous(self):
        return bool(self._data.flags.c_contiguous)

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._backend = value._backend
        self._acc = None            # the leaf's AccumulateGrad caches shape and dtype
        if self._view_acc is not None:
            self._view_acc = None

    @property
    def _version(self):
        return self._vc[0]

    def _bump_version(self):
        """Record an in-place write made directly to the array (optimizers)."""
        self._vc[0] += 1

    # ---- autograd state ---------------------------------------------------------
    @property
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        if self._node is not None and value:      # (requires_grad_(True) is a no-op there, the setter refuses)
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad_(): argument must be a bool, got {type(requires_grad).__name__}")
        if self._node is not None:
            if not requires_grad:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want "
                                   "to use a computed variable in a subgraph that doesn't require "
                                   "differentiation use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"requires_grad_(): Only Tensors of floating point and complex dtype can "
                               f"require gradients "
                               f"(got {self.dtype.libtorch})")
        if self._base is not None:
            # a view: its own flag; it requires grad anyway where its base does (PyTorch)
            self._own_rg = requires_grad
            self._rg = requires_grad or self._base._rg
            return self
        self._rg = requires_grad
        if self._views is not None:
            _op.views_follow_base(self)
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def grad_fn(self):
        node = self._node
        if self._base is not None and self._vc[0] != self._view_ver:
            node = _op.view_node(self)
        return node

    @property
    def grad(self):
        if self._node is not None and not self._retains_grad and self._grad is None:
            warnings.warn(NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got {type(value).__name__}")
            if value._backend is not self._backend:
                raise RuntimeError(f"assigned grad has data located on {value.device}, different from "
                                   f"the tensor's device {self.device}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: {list(value.shape)} "
                                   f"vs the tensor's {list(self.shape)}")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: {value.dtype.libtorch} "
                                   f"vs the tensor's {self.dtype.libtorch}")
        self._grad = value

    @property
    def retains_grad(self):
        return self._retains_grad

    def retain_grad(self):
        """Keep .grad of this non-leaf after backward (a no-op on leaves)."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._node is None or self._retains_grad:
            return
        node = self.grad_fn
        if node._retain is None:
            node._retain = {}
        node._hooked = node._slow = True
        import weakref
        node._retain[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    def register_hook(self, hook):
        """hook(grad) -> None or a replacement grad; runs when the gradient for
        this tensor is computed. Returns a handle with .remove()."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if not callable(hook):
            raise TypeError(f"register_hook(): hook must be callable, got {type(hook).__name__}")
        node = self.grad_fn
        if node is None:
            if self._hooks is None:
                self._hooks = HookDict()
            return add_hook(self._hooks, hook)
        return add_hook(node._tensor_hook_store(self._output_nr), hook)

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor) -> None, run after a backward pass accumulated into this
        leaf's .grad (not by autograd.grad, which accumulates nothing): e.g. an
        optimizer step per parameter inside backward. Returns a handle with .remove()."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook(): hook must be callable, got "
                            f"{type(hook).__name__}")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = HookDict()
        _autograd.engine.post_accumulate_hooks.registered = True
        return add_hook(self._post_acc_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        if gradient is None and self._node is not None and inputs is None and not create_graph:
            _autograd._backward_scalar(self, retain_graph)
        else:
            _autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self):
        """Same data (and version counter), no history."""
        t = Tensor._make(self._data, self._backend)
        t._vc = self._vc
        return t

    def detach_(self):
        if self._base is not None:
            raise RuntimeError("detach_(): can't detach views in-place. Use detach() instead.")
        self._node = None
        self._output_nr = 0
        self._rg = False
        if self._views is not None:
            _op.views_follow_base(self)
        return self

    # ---- conversion -------------------------------------------------------------
    def numpy(self, *, force=False):
        if self._backend.is_cuda:
            if force:
                return self._backend.to_host(self._data)
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                            "to copy the tensor to host memory first.")
        if self._rg and not force and _grad_state.enabled:       # (under no_grad PyTorch allows it)
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._backend.is_cuda:
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                            "to copy the tensor to host memory first.")
        a = self._data
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def _host(self):
        return self._backend.to_host(self._data)

    def tolist(self):
        return self._host().tolist()

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._host().reshape(()).item()

    def __float__(self):
        return float(self._one("float"))

    def __int__(self):
        return int(self._one("int"))

    def __index__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._one("index"))

    def __bool__(self):
        return bool(self._one("bool"))

    def __complex__(self):
        return complex(self._one("complex"))

    def _one(self, what):
        if self._data.size != 1:
            if what == "bool":
                raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous "
                                   f"(shape {list(self.shape)})")
            if what == "index":
                raise TypeError("only integer tensors of a single element can be converted to an index")
            raise ValueError(f"only one element tensors can be converted to Python scalars "
                             f"(got {self._data.size} elements, shape {list(self.shape)})")
        return self._host().reshape(()).item()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))          # (as PyTorch: one node for all rows, see ops/shape.py Unbind)

    def __contains__(self, element):
        """`v in t`: any element equals v (as PyTorch; iterating would compare rows)."""
        if not isinstance(element, (Tensor, bool, int, float)):
            raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                               f"{type(element)}.")
        return bool((self == element).any())

    __hash__ = object.__hash__

    def __reduce__(self):
        from .creation import _rebuild
        return (_rebuild, (self._host(), str(self.device), self._rg))

    def __repr__(self):
        from . import printing
        node = self.grad_fn
        return printing.format_tensor(self._host(), self.type(),
                                      grad_fn_name=node.name() if node is not None else None,
                                      requires_grad=self._rg and node is None)

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self) if not spec else format(repr(self), spec)

    # ---- exchange with other array libraries ----------------------------------------
    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    @property
    def __cuda_array_interface__(self):
        if not self._backend.is_cuda:
            raise AttributeError("__cuda_array_interface__ exists only on CUDA tensors; "
                                 f"this tensor is on {self.device}")
        return self._data.__cuda_array_interface__


_new = object.__new__


def _wrap_dim(dim, ndim, op_name):
    """Normalise a possibly negative dim, with PyTorch's IndexError."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op_name}(): dim must be an int, got {type(dim).__name__}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op_name}(): Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


_op.Tensor = Tensor
