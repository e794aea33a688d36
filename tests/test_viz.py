"""autograd_gpu.viz.draw_graph: the picture of the backward graph.

Structure is checked on the DOT text (no Graphviz programs needed); the SVG
and PNG renders need Graphviz's `dot` (skipped without it locally, a failure
in CI). The blog's graph is the reference: out = mean(3 * (x1 * (x2 + 2))**2)."""
import gc
import re
import shutil
import sys
import warnings
import weakref

import pytest

import autograd_gpu as ag
from conftest import need, unavailable


@pytest.fixture
def viz():
    need("graphviz", "drawing backward graphs")
    from autograd_gpu import viz
    return viz


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which Graphviz's programs cannot be found."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("dot") is None


def need_dot():
    if shutil.which("dot") is None:
        unavailable("Graphviz's `dot` is needed to render pictures (apt-get install graphviz)")


def blog_graph(device="cpu"):
    x1 = ag.ones(2, 2, device=device, requires_grad=True)
    x2 = ag.tensor([1.1], device=device, requires_grad=True)
    y = x1 * (x2 + 2)
    z = y.pow(2) * 3
    out = z.mean()
    y.retain_grad()
    z.retain_grad()
    return dict(x1=x1, x2=x2, y=y, z=z, out=out)


# ---- reading DOT text back -----------------------------------------------------------------
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_NODE = re.compile(rf'^\s*(\w+) \[label=({_QUOTED}|[^\s\]]+)(.*?)\]$', re.M | re.S)
_EDGE = re.compile(r'^\s*(\w+) -> (\w+)(?: \[(.*?)\])?$', re.M)


class Parsed:
    """Nodes {dot id: (label lines, attribute text)} and edges [(from, to, attrs)]."""

    def __init__(self, source):
        self.nodes = {}
        for m in _NODE.finditer(source):
            label = m.group(2)
            label = label[1:-1] if label.startswith('"') else label
            self.nodes[m.group(1)] = (label.split("\n"), m.group(3))
        self.edges = [(a, b, attrs or "") for a, b, attrs in _EDGE.findall(source)]

    def ids(self, first_line):
        return [k for k, (lines, _) in self.nodes.items() if lines[0] == first_line]

    def one(self, first_line):
        found = self.ids(first_line)
        assert len(found) == 1, f"{len(found)} boxes labelled {first_line!r}: {self.nodes}"
        return found[0]

    def leaf(self, name):
        found = [k for k, (lines, _) in self.nodes.items()
                 if lines[0] == "torch::autograd::AccumulateGrad" and lines[1].startswith(name + ":")]
        assert len(found) == 1, self.nodes
        return found[0]

    def label(self, node):
        return self.nodes[node][0]

    def attrs(self, node):
        return self.nodes[node][1]

    def arrows(self):
        """Solid edges (the graph's own), as (from, to, edge label)."""
        out = []
        for a, b, attrs in self.edges:
            if "dashed" in attrs or "dotted" in attrs:
                continue
            m = re.search(r'label="?\s*(\[\d+\])"?', attrs)
            out.append((a, b, m.group(1) if m else None))
        return out

    def dashed(self):
        return {(a, b) for a, b, attrs in self.edges if "dashed" in attrs}


# ---- structure --------------------------------------------------------------------------------
def test_blog_graph_nodes_and_edges(viz, device):
    t = blog_graph(device)
    g = viz.draw_graph(t["out"], params=t)
    p = Parsed(g.source)

    out, mean = p.one("out"), p.one("MeanBackward0")
    mul1, pow0 = p.one("MulBackward1"), p.one("PowBackward0")
    mul0, add1 = p.one("MulBackward0"), p.one("AddBackward1")
    acc1, acc2 = p.leaf("x1"), p.leaf("x2")
    assert len(p.ids("torch::autograd::AccumulateGrad")) == 2
    # arrows follow next_functions, from the output towards the leaves
    assert sorted(p.arrows()) == sorted([
        (out, mean, None), (mean, mul1, None), (mul1, pow0, None), (pow0, mul0, None),
        (mul0, acc1, "[0]"), (mul0, add1, "[1]"), (add1, acc2, None)])

    suffix = "" if device == "cpu" else " cuda:0"
    assert p.label(acc1) == ["torch::autograd::AccumulateGrad", f"x1: (2, 2) float32{suffix}",
                             "requires_grad=True"]
    assert p.label(acc2)[1:] == [f"x2: (1,) float32{suffix}", "requires_grad=True"]
    assert p.label(out) == ["out", f"() float32{suffix}"]

    # retained tensors: their own box, beside the node that produced them
    y, z = p.one("y"), p.one("z")
    assert p.label(y) == ["y", f"(2, 2) float32{suffix}", "retains grad"]
    assert p.label(z)[2] == "retains grad"
    assert {(mul0, y), (mul1, z)} <= p.dashed()

    # distinct fills: root, leaves, retained tensors, plain nodes
    fills = {k: re.search(r'fillcolor="([^"]+)"', p.attrs(k)).group(1)
             for k in (out, acc1, acc2, y, z) if "fillcolor" in p.attrs(k)}
    assert fills[acc1] == fills[acc2] and fills[y] == fills[z]
    assert len({fills[out], fills[acc1], fills[y]}) == 3
    assert "fillcolor" not in p.attrs(mean)        # plain nodes use the graph's default


def test_names_are_optional(viz):
    t = blog_graph()
    p = Parsed(viz.draw_graph(t["out"]).source)
    assert p.label(p.one("output"))[1] == "() float32"
    leaves = p.ids("torch::autograd::AccumulateGrad")
    assert sorted(p.label(k)[1] for k in leaves) == ["leaf: (1,) float32", "leaf: (2, 2) float32"]
    assert len(p.ids("tensor")) == 2                # y and z still shown, as retaining grad


def test_named_non_leaf_without_retain(viz):
    x = ag.ones(3, requires_grad=True)
    h = x * 2
    out = h.sum()
    p = Parsed(viz.draw_graph(out, params={"h": h}).source)
    box = p.one("h")
    assert p.label(box) == ["h", "(3,) float32"] and "dashed" in p.attrs(box)
    assert (p.one("MulBackward1"), box) in p.dashed()


def test_inputs_without_grad_leave_no_edge(viz):
    x = ag.randn(4, 3)                            # data: no grad
    w = ag.randn(3, 2, requires_grad=True)
    p = Parsed(viz.draw_graph(x.mm(w).sum(), params={"w": w}).source)
    mm = p.one("MmBackward0")
    assert [(a, b, lbl) for a, b, lbl in p.arrows() if a == mm] == [(mm, p.leaf("w"), "[1]")]


def test_book_graph_with_saved_values(viz):
    x1 = ag.tensor([2.0], requires_grad=True)
    x2 = ag.tensor([2.0], requires_grad=True)
    x3 = x1.square()
    x7 = x3 * 0.2 + x2.square() * 0.2 - 5
    p = Parsed(viz.draw_graph(x7, params={"x1": x1, "x7": x7}, show_saved=True).source)
    pows = [k for k, (lines, _) in p.nodes.items() if lines[0] == "PowBackward0"]
    assert sorted(p.label(k)[1] for k in pows) == ["saved [0]: (1,) float32", "saved x1: (1,) float32"]
    assert p.label(p.one("SubBackward1")) == ["SubBackward1"]
    assert len(p.ids("MulBackward1")) == 2 and p.label(p.one("AddBackward0")) == ["AddBackward0"]
    x7.backward()
    after = Parsed(viz.draw_graph(x7, show_saved=True).source)
    assert all(after.label(k)[-1] == "(saved values freed)" for k in after.ids("PowBackward0"))


def test_saved_result_is_listed(viz):
    x = ag.randn(3, requires_grad=True)
    p = Parsed(viz.draw_graph(x.exp().sum(), show_saved=True).source)
    assert p.label(p.one("ExpBackward0")) == ["ExpBackward0", "saved result: (3,) float32"]


def test_roots_nodes_and_shared_subgraphs(viz):
    x = ag.ones(2, requires_grad=True)
    a = (x * 2).sum()
    b = (x + 1).sum()
    p = Parsed(viz.draw_graph(a, b, params={"x": x, "a": a, "b": b}).source)
    assert len(p.ids("torch::autograd::AccumulateGrad")) == 1     # one leaf, reached twice
    assert len(p.ids("SumBackward0")) == 2
    # a grad_fn node as the root: no output box
    q = Parsed(viz.draw_graph(a.grad_fn).source)
    assert [lines[0] for lines, _ in q.nodes.values()] == [
        "SumBackward0", "MulBackward1", "torch::autograd::AccumulateGrad"]


def test_roots_without_graph(viz):
    leaf = ag.ones(2, requires_grad=True)
    data = ag.ones(2)
    p = Parsed(viz.draw_graph(leaf, data, params={"leaf": leaf, "data": data}).source)
    assert p.label(p.one("leaf"))[1:3] == ["(2,) float32", "requires_grad=True"]
    assert p.label(p.one("data"))[1:3] == ["(2,) float32", "requires_grad=False"]
    assert not p.arrows()


def test_deep_graph_is_walked_iteratively(viz):
    x = ag.ones(1, requires_grad=True)
    y = x
    for _ in range(3000):                          # deeper than Python's recursion limit
        y = y * 1.0
    p = Parsed(viz.draw_graph(y).source)
    assert len(p.ids("MulBackward1")) == 3000 and len(p.arrows()) == 3001


def test_graph_holds_no_tensors(viz):
    t = blog_graph()
    g = viz.draw_graph(t["out"], params=t)
    ref = weakref.ref(t["x1"])
    del t
    gc.collect()
    assert ref() is None and "MulBackward1" in g.source


def test_bad_arguments(viz):
    with pytest.raises(TypeError):
        viz.draw_graph()
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_graph(blog_graph()["out"], rankdir="diagonal")
    assert "rankdir=LR" in viz.draw_graph(blog_graph()["out"], rankdir="LR").source


# ---- without Graphviz -------------------------------------------------------------------------
def test_without_dot_the_graph_is_dot_text_and_says_how_to_get_pictures(viz, no_dot, tmp_path):
    graphviz = sys.modules["graphviz"]
    t = blog_graph()
    with pytest.warns(viz.GraphvizNotInstalledWarning, match="apt-get install graphviz"):
        g = viz.draw_graph(t["out"], params=t)
    assert isinstance(g, graphviz.Digraph)
    assert g.source.startswith("digraph") and "MulBackward1" in g.source
    shown = g._repr_mimebundle_()                  # what Jupyter would display
    assert set(shown) == {"text/plain"}
    assert "apt-get install graphviz" in shown["text/plain"] and g.source in shown["text/plain"]
    with pytest.raises(graphviz.ExecutableNotFound, match="apt-get install graphviz"):
        g.pipe(format="svg")
    with pytest.raises(graphviz.ExecutableNotFound, match="apt-get install graphviz"):
        g.render(str(tmp_path / "graph"), format="png")


def test_without_the_python_package(monkeypatch):
    from autograd_gpu import viz
    monkeypatch.setitem(sys.modules, "graphviz", None)        # import graphviz -> ImportError
    with pytest.raises(ImportError, match="pip install graphviz"):
        viz.draw_graph(blog_graph()["out"])


# ---- with Graphviz: pictures ------------------------------------------------------------------
def test_svg_and_png_render(viz, tmp_path):
    need_dot()
    t = blog_graph()
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # no "dot missing" warning here
        g = viz.draw_graph(t["out"], params=t)
    svg = g.pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for label in ("MeanBackward0", "MulBackward1", "PowBackward0", "MulBackward0", "AddBackward1",
                  "torch::autograd::AccumulateGrad", "x1: (2, 2) float32", "retains grad"):
        assert label in svg, label
    shown = g._repr_mimebundle_()                  # inline in Jupyter: SVG
    assert "<svg" in shown["image/svg+xml"]
    path = g.render(str(tmp_path / "blog_graph"), format="svg", cleanup=True)
    with open(path) as f:
        assert path.endswith(".svg") and "<svg" in f.read()
    png = g.render(str(tmp_path / "blog_graph"), format="png", cleanup=True)
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# Bug (fixed): `ag.viz` (README: `ag.viz.draw_graph`) existed only once something had imported
# autograd_gpu.viz; a fresh `import autograd_gpu as ag` had no attribute viz
def test_viz_is_reachable_from_a_fresh_import():
    import subprocess
    code = ("import sys, autograd_gpu as ag; assert callable(ag.viz.draw_graph); "
            "assert 'graphviz' not in sys.modules, 'graphviz is imported only when drawing'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
