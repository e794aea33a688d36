"""ag.func: PyTorch's torch.func transforms (grad, grad_and_value, vjp, jvp,
jacrev, jacfwd, hessian, vmap, functional_call) on this library's tape.

There are no functorch levels here. Each transform runs the user's function on
fresh tensors for the differentiated inputs (a view of an input that requires
grad, so outer derivatives still flow through it; a new leaf otherwise) and
calls ag.autograd.grad. A result keeps its graph only when it depends on
something outside the transform that requires grad (a closed-over parameter,
an input that requires grad, the fresh input of an enclosing transform): that
is what lets grad of grad, jacrev of grad and vmap of grad compose, and what
makes a top-level result a plain tensor, as PyTorch's is.

jvp runs the function under forward-mode AD (ag.autograd.forward_ad, in a dual
level of its own), as PyTorch's does, so its values follow the ops' forward
formulas where they differ from the transposed backward (ties, NaNs); inside a
dual level already open (the user's, or an enclosing jvp's) it uses the double
backward trick instead. jacfwd is jvp, one input element at a time; jacrev one
backward per output element. vmap runs the function once per batch element and stacks the results (no
batching rules): same values as PyTorch's, at the cost of a Python loop."""
import functools
from collections import OrderedDict

from ..autograd.grad_mode import enable_grad, is_grad_enabled, set_grad_enabled
from ..autograd.functional import _grad_or_none, _jacobian_rows, columns_by_basis
from ..autograd import forward_ad as _fw, op as _op
from ..autograd.graph import AccumulateGrad
from ..nn.utils.stateless import func_functional_call as functional_call

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap", "functional_call",
           "linearize", "stack_module_state", "replace_all_batch_norm_modules_"]


# ---- pytrees (tuples, lists, dicts, namedtuples; None has no leaves, as in torch.utils._pytree) ----------

class TreeSpec:
    """The structure of a pytree: its node type, the node's keys (dict keys, a
    namedtuple's class) and the specs of its children; a leaf has type None."""
    __slots__ = ("kind", "context", "children")

    def __init__(self, kind, context=None, children=()):
        self.kind, self.context, self.children = kind, context, tuple(children)

    @property
    def is_leaf(self):
        return self.kind is None

    @property
    def num_leaves(self):
        return 1 if self.is_leaf else sum(c.num_leaves for c in self.children)

    def __eq__(self, other):
        return (isinstance(other, TreeSpec) and self.kind == other.kind and self.context == other.context
                and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, self.children))

    def __repr__(self):
        if self.is_leaf:
            return "*"
        name = self.context.__name__ if self.kind == "namedtuple" else self.kind.__name__
        ctx = "None" if self.kind in (tuple, list, type(None), "namedtuple") else repr(list(self.context))
        return f"TreeSpec({name}, {ctx}, [{', '.join(map(repr, self.children))}])"


_LEAF = TreeSpec(None)


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _node_children(x):
    """(kind, context, children) of a pytree node, or None for a leaf."""
    if x is None:
        return type(None), None, ()
    if _is_namedtuple(x):
        return "namedtuple", type(x), tuple(x)
    if type(x) in (tuple, list):
        return type(x), None, tuple(x)
    if type(x) in (dict, OrderedDict):
        return type(x), tuple(x.keys()), tuple(x.values())
    return None


def tree_flatten(tree):
    """(list of leaves, TreeSpec)."""
    leaves = []

    def walk(x):
        node = _node_children(x)
        if node is None:
            leaves.append(x)
            return _LEAF
        kind, context, children = node
        return TreeSpec(kind, context, [walk(c) for c in children])

    return leaves, walk(tree)


def tree_unflatten(leaves, spec):
    it = iter(leaves)

    def build(s):
        if s.is_leaf:
            return next(it)
        children = [build(c) for c in s.children]
        if s.kind is type(None):
            return None
        if s.kind == "namedtuple":
            return s.context(*children)
        if s.kind in (dict, OrderedDict):
            return s.kind(zip(s.context, children))
        return s.kind(children)

    return build(spec)


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def _broadcast_to_and_flatten(prefix, spec):
    """The leaves of `prefix` (a pytree whose every leaf stands for a whole
    subtree of `spec`; None is a leaf here) repeated over that subtree's
    leaves; None where prefix is not a prefix of spec."""
    if _node_children(prefix) is None or prefix is None:
        return [prefix] * spec.num_leaves
    kind, context, children = _node_children(prefix)
    if spec.is_leaf or kind != spec.kind or context != spec.context or len(children) != len(spec.children):
        return None
    out = []
    for child, child_spec in zip(children, spec.children):
        flat = _broadcast_to_and_flatten(child, child_spec)
        if flat is None:
            return None
        out.extend(flat)
    return out


# ---- argnums (torch._functorch.eager_transforms' rules and messages) ---------------------------------

def _wrap_argnum(argnum, num_args):
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")
    if -num_args <= argnum < num_args:
        return argnum % num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _wrap_argnums(argnums, num_args):
    """argnums as non-negative ints (an int or a tuple of ints), checked."""
    if not isinstance(argnums, (int, tuple)):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    if isinstance(argnums, int):
        return _wrap_argnum(argnums, num_args)
    wrapped = tuple(_wrap_argnum(a, num_args) for a in argnums)
    if len(wrapped) == 0:
        raise RuntimeError("argnums must be non-empty")
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return wrapped


def _select_args(args, argnums):
    return args[argnums] if isinstance(argnums, int) else tuple(args[i] for i in argnums)


def _replace_args(args, argnums, new):
    if isinstance(argnums, int):
        return tuple(new if i == argnums else a for i, a in enumerate(args))
    slot = dict(zip(argnums, new))
    return tuple(slot.get(i, a) for i, a in enumerate(args))


# ---- one level of differentiation ------------------------------------------------------------------

class _Level:
    """The fresh inputs of one transform call and whether results may keep
    their graph (grad mode was on when the transform was called)."""

    def __init__(self):
        self.outer_grad = is_grad_enabled()
        self.own = set()            # ids of the leaves this level made
        self.dual = False           # some input carries a forward-AD tangent: results keep their graph

    def fresh(self, x):
        """The tensor the function sees for differentiated input x."""
        from ..tensor import Tensor
        if not isinstance(x, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
        if self.outer_grad and x.requires_grad:
            return x.view_as(x)     # outer derivatives flow through the view
        if not _differentiable_dtype(x.dtype):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        leaf = x.detach().requires_grad_()
        self.own.add(id(leaf))
        return _with_tangent_of(x, leaf, self)

    def own_leaf(self, t):
        self.own.add(id(t))
        return t

    def reaches_outside(self, tensors):
        """Whether any tensor's graph reaches a leaf this level did not make."""
        if not self.outer_grad:
            return False
        seen, todo = set(), []
        for t in tensors:
            if t is not None and t.requires_grad:
                todo.append(_op.edge(t)[0])
        while todo:
            node = todo.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, AccumulateGrad) and id(node.variable) not in self.own:
                return True
            todo.extend(n for n, _ in node.next_functions)
        return False

    def _detached(self, t):
        """t without its graph, and with its tangent (itself without a graph that stays inside) if it has one."""
        tangent = t.__dict__.get("_fw") if self.dual else None
        if tangent is None:
            return t.detach()
        if tangent.requires_grad and not self.reaches_outside([tangent]):
            tangent = tangent.detach()
        return _fw.make_dual(t.detach(), tangent)

    def keeps_graph(self, tensors):
        """Whether a backward inside this level must record its graph: its results reach outside, or its
        inputs carry tangents (which only a recorded backward carries on)."""
        return self.dual or self.reaches_outside(tensors)

    def lift_aux(self, aux):
        """aux as lift gives it; like PyTorch's, it may hold only Tensors."""
        from ..tensor import Tensor
        for leaf in tree_flatten(aux)[0]:
            if not isinstance(leaf, Tensor):
                raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
        return self.lift(aux)

    def lift(self, tree):
        """A result pytree as the caller sees it: tensors that depend only on
        this level's own leaves lose their graph."""
        from ..tensor import Tensor

        def one(t):
            if isinstance(t, Tensor) and t.requires_grad and not self.reaches_outside([t]):
                return self._detached(t)
            return t
        return tree_map(one, tree)


def _with_tangent_of(x, leaf, level):
    """leaf, a dual tensor with x's tangent where x has one (a transform on dual inputs: the tangent goes on,
    through a backward that keeps its graph)."""
    if _fw._level is None or x.__dict__.get("_fw") is None:
        return leaf
    level.dual = True
    return _fw.make_dual(leaf, x.__dict__["_fw"])


def _differentiable_dtype(dtype):
    return dtype.is_floating_point or getattr(dtype, "is_complex", False)


def _zeros_for_none(grads, refs):
    from ..creation import zeros_like
    return [zeros_like(r) if g is None else g for g, r in zip(grads, refs)]


def _split_aux(output, has_aux, api):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if has_aux is True")
    return output


def _fn_name(func):
    return getattr(func, "__name__", repr(func))


# ---- grad, grad_and_value ----------------------------------------------------------------------------

def _grad_and_value(func, argnums, has_aux, args, kwargs):
    level = _Level()
    with enable_grad():
        argnums = _wrap_argnums(argnums, len(args))
        flat_in, spec = tree_flatten(_select_args(args, argnums))
        flat_in = [level.fresh(x) for x in flat_in]
        args = _replace_args(args, argnums, tree_unflatten(flat_in, spec))
        output, aux = _split_aux(func(*args, **kwargs), has_aux, "grad_and_value(f)(*args)")
        from ..tensor import Tensor
        if not isinstance(output, Tensor):
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(output)}")
        if output.dim() != 0:
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor "
                               f"with {output.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        keep = level.keeps_graph([output])
        grads = _grad_or_none((output,), tuple(flat_in), create_graph=keep, retain_graph=keep)
    with set_grad_enabled(level.outer_grad):
        grads = tree_unflatten(_zeros_for_none(grads, flat_in), spec)
        value = level.lift(output)
        result = level.lift(grads) if keep else tree_map(_detach, grads)
        if has_aux:
            return result, (value, level.lift_aux(aux))
        return result, value


def _detach(t):
    return t.detach()


def grad_and_value(func, argnums=0, has_aux=False):
    """torch.func.grad_and_value: a function returning (gradient, value) of
    func, whose output must be a 0-dim Tensor; with has_aux, func returns
    (output, aux) and the result is (gradient, (value, aux))."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _grad_and_value(func, argnums, has_aux, args, kwargs)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """torch.func.grad: a function returning the gradient of func (0-dim
    Tensor output) with respect to the argument(s) at argnums, shaped as
    those arguments (pytrees of Tensors); with has_aux, (gradient, aux)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        result, value = _grad_and_value(func, argnums, has_aux, args, kwargs)
        return (result, value[1]) if has_aux else result
    return wrapper


# ---- vjp ---------------------------------------------------------------------------------------------

def _check_tensor_outputs(flat_out, api):
    from ..tensor import Tensor
    if len(flat_out) == 0:
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output (got output = "
                           f"{flat_out})")
    for o in flat_out:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got unsupported type {type(o)}")


def _differentiable_call(func, primals, argnums, has_aux):
    """Run func with fresh tensors for the differentiated arguments (those at
    argnums; all of them, as one tuple, when argnums is None). Returns
    (level, fresh leaves, their spec, output leaves, output spec, output, aux);
    the outputs must be floating-point Tensors, as vjp's."""
    level = _Level()
    with enable_grad():
        if argnums is None:
            flat_in, spec = tree_flatten(primals)
            flat_in = [level.fresh(x) for x in flat_in]
            primals = tree_unflatten(flat_in, spec)
        else:
            argnums = _wrap_argnums(argnums, len(primals))
            flat_in, spec = tree_flatten(_select_args(primals, argnums))
            flat_in = [level.fresh(x) for x in flat_in]
            primals = _replace_args(primals, argnums, tree_unflatten(flat_in, spec))
        output, aux = _split_aux(func(*primals), has_aux, "vjp(f, *primals)")
    flat_out, out_spec = tree_flatten(output)
    _check_tensor_outputs(flat_out, "vjp(f, *primals)")
    for o in flat_out:
        if not _differentiable_dtype(o.dtype):
            raise RuntimeError(f"vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got "
                               f"Tensor with dtype {o.dtype}")
    return level, flat_in, spec, flat_out, out_spec, output, aux


def _vjp(func, primals, argnums, has_aux):
    """(output, vjp_fn, aux) of func at primals."""
    level, flat_in, spec, flat_out, out_spec, output, aux = _differentiable_call(func, primals, argnums, has_aux)
    outside = level.keeps_graph(flat_out)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        if create_graph is None:
            create_graph = is_grad_enabled()
        flat_cot, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {cot_spec}, primal output: {out_spec}")
        keep = create_graph and level.outer_grad and (outside or any(c.requires_grad for c in flat_cot))
        with enable_grad():
            grads = _grad_or_none(tuple(flat_out), tuple(flat_in), tuple(flat_cot), create_graph=keep,
                                  retain_graph=retain_graph or keep)
        grads = _zeros_for_none(grads, flat_in)
        return tree_unflatten(grads if keep else [g.detach() for g in grads], spec)

    return level.lift(output), vjp_fn, level.lift_aux(aux)


def vjp(func, *primals, has_aux=False):
    """torch.func.vjp: (func(*primals), vjp_fn[, aux]); vjp_fn(cotangents),
    cotangents shaped as the output pytree, returns a tuple (one entry per
    primal) of vector-Jacobian products. vjp_fn may be called repeatedly."""
    output, vjp_fn, aux = _vjp(func, primals, None, has_aux)
    return (output, vjp_fn, aux) if has_aux else (output, vjp_fn)


# ---- jvp (double backward trick) ---------------------------------------------------------------------

_JVP = "jvp(f, primals, tangents)"


def _check_tensor_list(flat, argname):
    from ..tensor import Tensor
    if len(flat) == 0:
        raise RuntimeError(f"{_JVP}: Expected {argname} to contain at least one Tensor.")
    for t in flat:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"{_JVP}: Expected {argname} to only contain Tensors, got {type(t)}")


def _jvp(func, primals, tangents, strict, has_aux):
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{_JVP}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    flat_p, p_spec = tree_flatten(primals)
    flat_t, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(f"{_JVP}: Expected primals and tangents to have the same python structure. For example, "
                           "if primals is a tuple of 3 tensors, tangents also must be. Got primals with structure "
                           f"{p_spec} and tangents with structure {t_spec}")
    _check_tensor_list(flat_p, "primals")
    _check_tensor_list(flat_t, "tangents")
    for p, t in zip(flat_p, flat_t):
        if p.shape != t.shape:
            raise RuntimeError(f"{_JVP}: Trying to set a forward gradient that has a different size than that of "
                               f"the original Tensor, this is not supported. Tensor is of size {list(p.shape)} "
                               f"while the given forward gradient is of size {list(t.shape)}.")
    if _fw._level is None:
        return _jvp_by_forward_ad(func, flat_p, p_spec, flat_t, strict, has_aux)
    from ..creation import zeros_like
    level = _Level()
    with enable_grad():
        flat_in = [level.fresh(p) for p in flat_p]
        output, aux = _split_aux(func(*tree_unflatten(flat_in, p_spec)), has_aux, _JVP)
        flat_out, out_spec = _jvp_outputs(output)
        # J^T u is linear in u, so d(J^T u)/du . t = J t; the value of u never enters (zeros: finite).
        upstream = [level.own_leaf(zeros_like(o, requires_grad=o.dtype.is_floating_point)) for o in flat_out]
        differentiable = [o if o.dtype.is_floating_point else None for o in flat_out]
        back = _grad_or_none(tuple(differentiable), tuple(flat_in), tuple(upstream), create_graph=True)
        keep = level.keeps_graph(flat_out) or (level.outer_grad and any(t.requires_grad for t in flat_t))
        pairs = [(b, t) for b, t in zip(back, flat_t) if b is not None]
        floating = [u if u.requires_grad else None for u in upstream]
        if pairs and any(f is not None for f in floating):
            backs, tans = zip(*pairs)
            inputs = [u for u in floating if u is not None]
            got = iter(_grad_or_none(backs, tuple(inputs), tans, create_graph=keep, retain_graph=keep))
            tangents_out = [next(got) if f is not None else None for f in floating]
        else:
            tangents_out = [None] * len(flat_out)
    return _jvp_result(level, output, flat_out, out_spec, tangents_out, keep, strict, has_aux, aux)


def _jvp_outputs(output):
    from ..tensor import Tensor
    flat_out, out_spec = tree_flatten(output)
    for o in flat_out:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{_JVP}: expected f(*args) to return only tensors, got unsupported type {type(o)}")
    if not flat_out:
        raise RuntimeError(f"{_JVP}: Expected f to be a function that has non-empty output (got output = "
                           f"{flat_out})")
    return flat_out, out_spec


def _jvp_result(level, output, flat_out, out_spec, tangents_out, keep, strict, has_aux, aux):
    if strict and any(t is None for t in tangents_out):
        raise RuntimeError("jvp(f, primals, tangents, strict=True): The output of f is independent of the "
                           "inputs. This is not allowed with strict=True.")
    with set_grad_enabled(level.outer_grad):
        tangents_out = _zeros_for_none(tangents_out, flat_out)
        if not keep:
            tangents_out = [t.detach() for t in tangents_out]
        result = (level.lift(output), tree_unflatten(level.lift(tangents_out), out_spec))
    return result + (level.lift_aux(aux),) if has_aux else result


def _jvp_by_forward_ad(func, flat_p, p_spec, flat_t, strict, has_aux):
    """jvp in a dual level of its own: the inputs dual, the outputs' tangents read at the end."""
    level = _Level()
    with enable_grad(), _fw.dual_level():
        # (fresh leaves, as the other transforms': a transform inside then sees them through views and
        # keeps its graph, which carries the tangents through its backward)
        flat_in = [_fw.make_dual(level.fresh(p), t) for p, t in zip(flat_p, flat_t)]
        output, aux = _split_aux(func(*tree_unflatten(flat_in, p_spec)), has_aux, _JVP)
        flat_out, out_spec = _jvp_outputs(output)
        tangents_out = [o.__dict__.get("_fw") if o.dtype.is_floating_point else None for o in flat_out]
    keep = level.reaches_outside(flat_out) or (level.outer_grad and any(t.requires_grad for t in flat_t))
    return _jvp_result(level, output, flat_out, out_spec, tangents_out, keep, strict, has_aux, aux)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """torch.func.jvp: (func(*primals), J tangents[, aux]); primals a tuple
    (pytrees of Tensors inside), tangents of the same structure and shapes.
    Computed by the double backward trick: two reverse passes, no forward AD."""
    return _jvp(func, primals, tangents, strict, has_aux)


def linearize(func, *primals):
    """torch.func.linearize: (func(*primals), jvp_fn), jvp_fn(*tangents)
    giving J tangents at these primals (each call runs func again: there is
    no traced linear function here)."""
    level = _Level()
    with enable_grad():
        output = func(*primals)

    def jvp_fn(*tangents):
        return _jvp(func, primals, tangents, False, False)[1]
    return level.lift(output), jvp_fn


# ---- jacrev, jacfwd, hessian ------------------------------------------------------------------------

def _jacobian(func, argnums, has_aux, api):
    @functools.wraps(func)
    def wrapper(*args):
        level, flat_in, in_spec, flat_out, out_spec, _, aux = _differentiable_call(func, args, argnums, has_aux)
        keep = level.keeps_graph(flat_out)
        with enable_grad():
            blocks = [_jacobian_rows(o, i, tuple(flat_in), keep, False, api) for i, o in enumerate(flat_out)]
        with set_grad_enabled(level.outer_grad):
            blocks = [level.lift(list(row)) if keep else [b.detach() for b in row] for row in blocks]
            jac = tree_unflatten([tree_unflatten(row, in_spec) for row in blocks], out_spec)
            return (jac, level.lift_aux(aux)) if has_aux else jac
    return wrapper


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """torch.func.jacrev: a function returning the Jacobian of func with
    respect to the argument(s) at argnums: for each output leaf, a pytree
    shaped as those arguments of blocks shaped out.shape + in.shape.
    chunk_size is checked and otherwise ignored (rows are computed one by one)."""
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    return _jacobian(func, argnums, has_aux, "jacrev")


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """torch.func.jacfwd: jacrev's structure, a column per input element by forward-mode AD (a jvp with that
    element's basis tangent: func runs once per element, as PyTorch's vmap of jvp does with randomness);
    inside an open dual level, by reverse mode (one backward per output element)."""
    _check_randomness(randomness)
    by_rows = _jacobian(func, argnums, has_aux, "jacfwd")

    @functools.wraps(func)
    def wrapper(*args):
        if _fw._level is not None:
            return by_rows(*args)
        wrapped = _wrap_argnums(argnums, len(args))
        flat_in, in_spec = tree_flatten(_select_args(args, wrapped))
        for x in flat_in:
            _Level().fresh(x)                  # (the transforms' input checks and messages)

        def at(*flat):
            return func(*_replace_args(args, wrapped, tree_unflatten(list(flat), in_spec)))
        return _jacobian_by_columns(at, flat_in, in_spec, has_aux, _Randomness(randomness))
    return wrapper


def _jacobian_by_columns(at, flat_in, in_spec, has_aux, draws):
    def column(tangents):
        got = draws.call(_jvp, at, tuple(flat_in), tuple(tangents), False, has_aux)
        return got, tree_flatten(got[0])[0], tree_flatten(got[1])[0]
    first, blocks = columns_by_basis(flat_in, column)
    jac = tree_unflatten([tree_unflatten(row, in_spec) for row in blocks], tree_flatten(first[0])[1])
    return (jac, first[2]) if has_aux else jac


def hessian(func, argnums=0):
    """torch.func.hessian: jacfwd(jacrev(func, argnums), argnums)."""
    return jacfwd(jacrev(func, argnums), argnums)


# ---- vmap (a loop over the batch) ------------------------------------------------------------------

_RANDOMNESS = ("error", "different", "same")


def _check_randomness(randomness):
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                           f"{randomness}")


def _rng_states():
    """The random state of every backend in use (compared to find random draws)."""
    from ..backend import _backends
    return [(b, b.get_rng_state()) for b in list(_backends.values())]


def _restore_rng(states):
    for backend, state in states:
        backend.set_rng_state(state)


def _same_rng(states):
    return all(backend.get_rng_state() == state for backend, state in states)


class _Randomness:
    """randomness="error": a random draw inside func raises (and is undone);
    "same": every element starts from the same random state, so all draw
    alike; "different": each element draws in turn."""

    def __init__(self, mode):
        self.mode = mode
        self.start = _rng_states() if mode != "different" else None

    def call(self, fn, *args, **kwargs):
        if self.mode == "different":
            return fn(*args, **kwargs)
        before = _rng_states() if self.mode == "error" else self.start
        if self.mode == "same":
            _restore_rng(before)
        out = fn(*args, **kwargs)
        if self.mode == "error" and not _same_rng(before):
            _restore_rng(before)
            raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use "
                               "the 'same' or 'different' randomness flags on vmap or perform the randomness "
                               "operation out of vmap")
        return out


def _batched_inputs(func, in_dims, args):
    """(batch size, flat args, flat in_dims with negatives wrapped, args spec),
    with torch's checks and messages."""
    from ..tensor import Tensor
    name = _fn_name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
                         f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
    if len(args) == 0:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying "
                         "to vmap over a function with no inputs. The latter is unsupported.")
    flat_args, spec = tree_flatten(args)
    flat_dims = _broadcast_to_and_flatten(in_dims, spec)
    if flat_dims is None:
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                         f"structure of `inputs`. in_dims has structure {tree_flatten(in_dims)[1]} but inputs has "
                         f"structure {spec}.")
    for i, (arg, d) in enumerate(zip(flat_args, flat_dims)):
        if d is not None and not isinstance(d, int):
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input but "
                             "in_dim must be either an integer dimension or None.")
        if d is not None and not isinstance(arg, Tensor):
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input but the "
                             f"input is of type {type(arg)}. We cannot vmap over non-Tensor arguments, please use "
                             "None as the respective in_dim")
        if d is not None and not -arg.dim() <= d < arg.dim():
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some input, but "
                             f"that input is a Tensor of dimensionality {arg.dim()} so expected in_dim to satisfy "
                             f"-{arg.dim()} <= in_dim < {arg.dim()}.")
        if d is not None and d < 0:
            flat_dims[i] = d % arg.dim()
    sizes = [arg.shape[d] for arg, d in zip(flat_args, flat_dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0], flat_args, flat_dims, spec


def _element(flat_args, flat_dims, spec, b):
    """The arguments of batch element b (for an empty batch, b is None: a
    sum over the empty batch dimension, zeros shaped as one element and
    still connected to the input's graph)."""
    def one(arg, d):
        if d is None:
            return arg
        return arg.sum(d).to(arg.dtype) if b is None else arg.select(d, b)
    return tree_unflatten([one(a, d) for a, d in zip(flat_args, flat_dims)], spec)


def _check_out_dims(func, out_dims):
    for d in tree_flatten(out_dims)[0]:
        if d is not None and not isinstance(d, int):
            raise ValueError(f"vmap({_fn_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an int, None or "
                             "a python collection of ints representing where in the outputs the vmapped dimension "
                             "should appear.")


def _flat_out_dims(func, out_dims, first_output, spec):
    from ..tensor import Tensor
    if isinstance(first_output, Tensor):
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            return list(out_dims)
        if out_dims is None or isinstance(out_dims, int):
            return [out_dims]
        flat = None
    else:
        flat = _broadcast_to_and_flatten(out_dims, spec)
    if flat is None:
        raise ValueError(f"vmap({_fn_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible "
                         f"with the structure of `outputs`. out_dims has structure {tree_flatten(out_dims)[1]} but "
                         f"outputs has structure {spec}.")
    return flat


def _unbatched(name, values):
    """An output with out_dim None: it must not vary over the batch (checked by
    value here: PyTorch checks that it does not depend on the batched inputs)."""
    from ..tensor import Tensor
    first = values[0]
    if isinstance(first, Tensor):
        for v in values[1:]:
            if v is first:
                continue
            if not (isinstance(v, Tensor) and v.shape == first.shape and v.dtype == first.dtype
                    and bool((v == first).all())):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")
    return first


def _stack_outputs(func, outputs, out_dims, empty):
    """The per-element outputs stacked along their out_dims (one pytree)."""
    from ..tensor import Tensor
    from ..ops.shape import stack
    name = _fn_name(func)
    flats = [tree_flatten(o) for o in outputs]
    spec = flats[0][1]
    for _, s in flats[1:]:
        if s != spec:
            raise ValueError(f"vmap({name}, ...): `{name}` returned outputs of different structures for different "
                             f"batch elements ({spec} and {s})")
    flat_dims = _flat_out_dims(func, out_dims, outputs[0], spec)
    result = []
    for k, d in enumerate(flat_dims):
        values = [flat[k] for flat, _ in flats]
        if d is None:
            result.append(_unbatched(name, values))
            continue
        if not isinstance(values[0], Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(values[0])}. "
                             "Did you mean to set out_dims= to None for output?")
        stacked = stack(values, d)
        result.append(stacked.narrow(d, 0, 0) if empty else stacked)
    return tree_unflatten(result, spec)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """torch.func.vmap: func mapped over a batch dimension of its inputs
    (in_dims: an int, None, or a pytree prefix of the arguments; keyword
    arguments are not mapped) with the results stacked along out_dims.
    Implemented as a loop: func runs once per batch element (on views of
    the inputs) and the outputs are stacked, so values and gradients equal
    PyTorch's. chunk_size is checked and otherwise ignored."""
    _check_randomness(randomness)
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _check_out_dims(func, out_dims)
        size, flat_args, flat_dims, spec = _batched_inputs(func, in_dims, args)
        rng = _Randomness(randomness)
        indices = range(size) if size else [None]
        outputs = [rng.call(func, *_element(flat_args, flat_dims, spec, b), **kwargs) for b in indices]
        return _stack_outputs(func, outputs, out_dims, empty=size == 0)
    return wrapper


# ---- stack_module_state ----------------------------------------------------------------------------

def stack_module_state(models):
    """torch.func.stack_module_state: (params, buffers), dicts mapping each
    name to the stacked tensors of the models (for vmap over an ensemble);
    the stacked parameters are new leaves that require grad as the models'."""
    from ..ops.shape import stack
    models = list(models)
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    first = type(models[0])
    if not all(type(m) is first for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named):
        names = [n for n, _ in named(models[0])]
        out = {}
        for n in names:
            tensors = [dict(named(m))[n] for m in models]
            out[n] = stack([t.detach() for t in tensors])
            if tensors[0].requires_grad:
                out[n].requires_grad_()
        return out
    return stacked(lambda m: m.named_parameters()), stacked(lambda m: m.named_buffers())


def replace_all_batch_norm_modules_(root):
    """Make every BatchNorm module in `root` (root included) use batch statistics only: its running
    statistics become None and track_running_stats False (what vmap over a batch of models needs).
    InstanceNorm modules are left as they are, as PyTorch's. Returns root."""
    from ..nn.layers import _BatchNorm
    from ..nn.normalization import _InstanceNorm
    for m in root.modules():
        if isinstance(m, _BatchNorm) and not isinstance(m, _InstanceNorm) and m.track_running_stats:
            m.running_mean = m.running_var = m.num_batches_tracked = None
            m.track_running_stats = False
    return root
