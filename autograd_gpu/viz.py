"""Pictures of the backward graph.

    from autograd_gpu.viz import draw_graph
    draw_graph(out, params={"x1": x1, "x2": x2})      # shows inline in Jupyter
    draw_graph(out).render("graph", format="svg")      # or writes graph.svg

`draw_graph` walks `grad_fn` / `next_functions` from the given outputs and
returns a `graphviz.Digraph`: one box per backward node, labelled with its
libtorch name, arrows in the direction gradients travel (from the output
towards the leaves). Building the graph needs only the `graphviz` Python
package; turning it into SVG/PNG also needs Graphviz's `dot` program.

Styling, so a reader can tell the kinds of boxes apart:
  output (root) tensor     green
  leaf (AccumulateGrad)    blue, with the leaf's name, shape, dtype, requires_grad
  tensor retaining grad    orange, beside the node that produced it
  other named tensor       white dashed, beside the node that produced it
  saved for backward       listed inside the node's box (only with show_saved=True)
"""
import shutil
import warnings
from collections import deque

__all__ = ["draw_graph", "GraphvizNotInstalledWarning"]

INSTALL_HINT = ("for pictures, install Graphviz's programs: `apt-get install graphviz` "
                "(Debian/Ubuntu), `brew install graphviz` (macOS) or `conda install graphviz`")

_COLORS = {
    "root": "#c6efc6",
    "leaf": "#cfe2ff",
    "retained": "#ffd8a8",
    "named": "#ffffff",
    "node": "#eeeeee",
}


class GraphvizNotInstalledWarning(UserWarning):
    """Graphviz's `dot` program is missing: the graph is only available as DOT text."""


_graph_class_cache = {}


def _graph_class(graphviz):
    """A graphviz.Digraph that, when `dot` is missing, says how to install it:
    `.render()`/`.pipe()` raise with the hint, and Jupyter shows the hint and
    the DOT text instead of a traceback."""
    cls = _graph_class_cache.get(graphviz)
    if cls is not None:
        return cls

    class DotNotFound(graphviz.ExecutableNotFound):
        def __init__(self, message):
            RuntimeError.__init__(self, message)

    class BackwardGraph(graphviz.Digraph):
        boxes = 0           # set by draw_graph: how many boxes the picture has

        def __repr__(self):
            return f"<BackwardGraph: {self.boxes} boxes; .source holds its DOT text>"

        def pipe(self, *args, **kwargs):
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise DotNotFound(f"{e}; {INSTALL_HINT}") from None

        def render(self, *args, **kwargs):
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise DotNotFound(f"{e}; {INSTALL_HINT}") from None

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            try:
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            except graphviz.ExecutableNotFound:
                return {"text/plain": f"(Graphviz's `dot` was not found; {INSTALL_HINT}.)\n"
                                      f"DOT source of the graph:\n{self.source}"}

    DotNotFound.__qualname__ = "DotNotFound"
    BackwardGraph.__qualname__ = "BackwardGraph"
    _graph_class_cache[graphviz] = BackwardGraph
    return BackwardGraph


def _dtype_name(dtype):
    return str(dtype).rsplit(".", 1)[-1]          # autograd_gpu.float32 -> float32


def _shape_text(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _tensor_text(t):
    """'(2, 2) float32', with the device added when it is not the CPU."""
    text = f"{_shape_text(t.shape)} {_dtype_name(t.dtype)}"
    device = str(t.device)
    return text if device == "cpu" else f"{text} {device}"


def _value_text(v):
    if hasattr(v, "grad_fn"):
        return _tensor_text(v)
    if hasattr(v, "shape") and hasattr(v, "dtype"):          # a NumPy/CuPy array
        return f"{_shape_text(v.shape)} {v.dtype}"
    return type(v).__name__


def _saved_values(node):
    """(label, value) for what a node keeps for its backward: input tensors,
    or its own result. Reads the engine's internals; unknown node kinds
    give nothing."""
    saved = getattr(node, "_saved", None)
    if saved is None:
        ctx = getattr(node, "ctx", None)           # custom autograd.Function nodes
        saved = getattr(ctx, "_saved", None)
    items = [(f"[{i}]", s) for i, s in enumerate(saved or ()) if s is not None]
    result = getattr(node, "_result", None)
    if result is not None:
        results = result if isinstance(result, tuple) else (result,)
        items.extend(("result", r) for r in results)
    return items


def draw_graph(*roots, params=None, show_saved=False, rankdir="TB"):
    """Draw the backward graph reaching `roots` (tensors, or grad_fn nodes).

    params:     {name: tensor}; leaves, retained and root tensors found in it
                are labelled with their names.
    show_saved: also draw what each node saved for its backward pass (these
                are released by a backward without retain_graph=True).
    rankdir:    "TB" (output on top, leaves at the bottom) or "LR".

    Returns a graphviz.Digraph: it displays itself in Jupyter, `.source` is
    its DOT text, `.render(filename, format="svg"|"png")` writes a picture.
    Without the `dot` program the graph is still returned, with a
    GraphvizNotInstalledWarning saying how to install it."""
    try:
        import graphviz
    except ImportError:
        raise ImportError("draw_graph needs the graphviz Python package: `pip install graphviz` "
                          "(and Graphviz's programs for pictures: `apt-get install graphviz`)") from None
    if not roots:
        raise TypeError("draw_graph() needs at least one output tensor or grad_fn node")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"draw_graph(): rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}")
    names = {}
    for name, t in (params or {}).items():
        names[id(t)] = str(name)

    dot = _graph_class(graphviz)(
        name="backward_graph",
        graph_attr={"rankdir": rankdir, "nodesep": "0.35", "ranksep": "0.4", "fontname": "Helvetica",
                    "bgcolor": "transparent"},
        node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": _COLORS["node"],
                   "fontname": "Helvetica", "fontsize": "11", "margin": "0.12,0.05", "height": "0.3"},
        edge_attr={"color": "#555555", "arrowsize": "0.7", "fontname": "Helvetica", "fontsize": "9",
                   "fontcolor": "#777777"})

    ids = {}        # id(object) -> DOT name, in order of discovery (stable output)
    keep = []       # hold what we numbered, so no id() is reused during the walk

    def dot_id(obj):
        key = id(obj)
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            keep.append(obj)
        return ids[key]

    def tensor_box(t, kind, extra=()):
        label = [names.get(id(t), "output" if kind == "root" else "tensor"), _tensor_text(t), *extra]
        dot.node(dot_id(t), "\n".join(label), fillcolor=_COLORS[kind],
                 style="filled" if kind != "named" else "dashed", shape="box")
        return ids[id(t)]

    def beside(node_name, tensor_name):
        # a tensor drawn level with the node that produced it, joined by a dashed line
        with dot.subgraph() as same:
            same.attr(rank="same")
            same.node(node_name)
            same.node(tensor_name)
        dot.edge(node_name, tensor_name, style="dashed", arrowhead="none", color="#999999")

    start = []
    for r in roots:
        if hasattr(r, "next_functions"):                  # a grad_fn node
            start.append(r)
            continue
        fn = getattr(r, "grad_fn", None)
        if fn is None:
            if getattr(r, "requires_grad", False):         # a leaf: its own picture
                tensor_box(r, "leaf", ("requires_grad=True", "(leaf, no backward graph)"))
            else:
                tensor_box(r, "root", ("requires_grad=False", "(no backward graph)"))
            continue
        tensor_box(r, "root", ("retains grad",) if getattr(r, "retains_grad", False) else ())
        dot.edge(ids[id(r)], dot_id(fn))
        start.append(fn)

    nonleaf_names = {}          # (id(node), output_nr) -> tensor, for named non-leaf params
    for name, t in (params or {}).items():
        fn = getattr(t, "grad_fn", None)
        if fn is not None and id(t) not in ids:
            nonleaf_names[(id(fn), getattr(t, "_output_nr", 0))] = t

    seen = set()
    queue = deque(start)
    while queue:                                    # iterative: deep graphs are fine
        node = queue.popleft()
        if id(node) in seen:
            continue
        seen.add(id(node))
        me = dot_id(node)
        variable = getattr(node, "variable", None)
        if variable is not None:                    # AccumulateGrad: the leaf it writes to
            label = [node.name(), f"{names.get(id(variable), 'leaf')}: {_tensor_text(variable)}",
                     f"requires_grad={bool(variable.requires_grad)}"]
            dot.node(me, "\n".join(label), fillcolor=_COLORS["leaf"])
        else:
            label = [node.name()]
            if show_saved:
                # what backward will read, listed inside the node's own box
                for what, v in _saved_values(node):
                    label.append(f"saved {names.get(id(v), what)}: {_value_text(v)}")
                if getattr(node, "_freed", False):
                    label.append("(saved values freed)")
            dot.node(me, "\n".join(label))

        # tensors produced by this node that keep their grad, or that the caller named
        retain = getattr(node, "_retain", None) or {}
        for nr, ref in sorted(retain.items()):
            t = ref()
            if t is not None and id(t) not in ids:
                beside(me, tensor_box(t, "retained", ("retains grad",)))
        for nr in range(getattr(node, "n_outputs", 1)):
            t = nonleaf_names.get((id(node), nr))
            if t is not None and id(t) not in ids:
                beside(me, tensor_box(t, "named"))

        nexts = [(i, nxt) for i, (nxt, _) in enumerate(node.next_functions) if nxt is not None]
        for i, nxt in nexts:
            # with several inputs, the edge says which next_functions[i] it is
            dot.edge(me, dot_id(nxt), label=f" [{i}]" if len(node.next_functions) > 1 else None)
            if id(nxt) not in seen:
                queue.append(nxt)

    dot.boxes = len(ids)
    if shutil.which("dot") is None:
        warnings.warn("Graphviz's `dot` program is not on PATH: the graph is available as DOT "
                      f"text only (`.source`); {INSTALL_HINT}.",
                      GraphvizNotInstalledWarning, stacklevel=2)
    return dot
