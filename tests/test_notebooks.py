"""The notebooks in notebooks/ run top to bottom in a fresh Jupyter kernel.

Every notebook must run without a cell raising. For the walkthrough
(01-03) the printed outputs are checked against the values of the R torch
blog post and book chapter, byte for byte where they print tensors; the
device the notebook picked decides whether type names read CPU... or CUDA....

The kernel is this very interpreter (a kernelspec written to a temporary
directory), with the repository root on PYTHONPATH, so the notebooks import
the working tree's autograd_gpu whether or not it is installed.

Refresh the outputs stored in the notebooks after changing them:

    .venv/bin/python tests/test_notebooks.py --write            # 01-03
    .venv/bin/python tests/test_notebooks.py --write 02_digging_deeper.ipynb
"""
import base64
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":          # run as a script (--write): import the working tree
    sys.path.insert(0, str(REPO))

from conftest import CUDA, need  # noqa: E402
NB_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
KERNEL_NAME = "autograd-gpu-tests"
CELL_TIMEOUT_S = 120

WALKTHROUGH = ("01_autograd_basics.ipynb", "02_digging_deeper.ipynb", "03_network_with_autograd.ipynb")
NON_LEAF_WARNING = ("UserWarning: The .grad attribute of a Tensor that is not a leaf Tensor is being "
                    "accessed. Its .grad attribute won't be populated during autograd.backward().")


# ---- running a notebook ------------------------------------------------------------------
def _kernel(workdir):
    """A kernel manager for a kernelspec running sys.executable, and the
    environment to start it with."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = Path(workdir) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "autograd_gpu (tests)", "language": "python"}))
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)          # a non-inline backend would swallow the plots
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["IPYTHONDIR"] = str(Path(workdir) / "ipython")     # no user profile or startup files
    ksm = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)])
    # ipc: unix sockets in workdir instead of TCP ports on localhost
    km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ksm, transport="ipc",
                       ip=str(Path(workdir) / "kernel-ipc"))
    return km, env


def execute(path, workdir):
    """Run the notebook at `path` in a fresh kernel; return it with its new outputs.
    A raising cell does not stop the run: its error is left in its outputs."""
    import nbclient
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    km, env = _kernel(workdir)
    client = nbclient.NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, allow_errors=True,
                                     record_timing=False, resources={"metadata": {"path": str(NB_DIR)}})
    try:
        client.execute(env=env)
    finally:                        # nbclient leaves a kernel it did not start running
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        km.cleanup_resources()
    return nb


def _require_jupyter():
    need("nbformat", "running the notebooks")
    need("nbclient", "running the notebooks")
    need("ipykernel", "running the notebooks")
    need("matplotlib", "the loss plot of notebook 03")
    need("graphviz", "the graph pictures (autograd_gpu.viz)")


@pytest.fixture(scope="module")
def run_notebook(tmp_path_factory):
    """run_notebook(name) -> the executed notebook; each notebook runs once per session."""
    _require_jupyter()
    done = {}

    def run(name):
        if name not in done:
            done[name] = execute(NB_DIR / name, tmp_path_factory.mktemp("jupyter"))
        return done[name]
    return run


# ---- reading outputs ---------------------------------------------------------------------
def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def tagged(nb, tag):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def result_text(cell):
    """What the cell's last expression displayed (text/plain of execute_result)."""
    texts = [o.data["text/plain"] for o in cell.outputs if o.output_type == "execute_result"]
    assert texts, f"cell has no result; outputs: {cell.outputs}"
    return texts[0]


def stream_text(cell, name="stdout"):
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == name)


def errors(nb):
    found = []
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []):
            if o.output_type == "error":
                tb = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(o.traceback))
                found.append(f"cell {i}:\n{c.source}\n--> {o.ename}: {o.evalue}\n{tb}")
    return found


def device_of(nb):
    """The device the notebook says it picked."""
    text = stream_text(tagged(nb, "device"))
    m = re.search(r"Running on: (cpu|cuda)", text)
    assert m, f"the setup cell does not say which device it used: {text!r}"
    return m.group(1)


def block(rows, shape, T):
    """A tensor printed the libtorch way: 'torch_tensor', rows, the type line."""
    return "torch_tensor\n" + "\n".join(rows) + f"\n[ {T}FloatType{{{shape}}} ]"


# ---- what the walkthrough must print -----------------------------------------------------
def expected_results(name, T):
    """{tag: exact text} for cells whose last expression is shown (execute_result)."""
    quarter = block([" 0.2500  0.2500", " 0.2500  0.2500"], "2,2", T)
    if name == "01_autograd_basics.ipynb":
        return {"mean-grad-fn": "MeanBackward0", "x-grad": quarter}
    if name == "02_digging_deeper.ipynb":
        return {
            "walk-0": "MeanBackward0",
            "walk-1": "((MulBackward1, 0),)",
            "walk-2": "((PowBackward0, 0),)",
            "walk-3": "((MulBackward0, 0),)",
            "walk-4": "((torch::autograd::AccumulateGrad, 0), (AddBackward1, 0))",
            "walk-5": "((torch::autograd::AccumulateGrad, 0),)",
            "z-grad": quarter,
            "y-grad": block([" 4.6500  4.6500", " 4.6500  4.6500"], "2,2", T),
            "x2-grad": block([" 18.6000"], "1", T),
            "x1-grad": block([" 14.4150  14.4150", " 14.4150  14.4150"], "2,2", T),
            "x7": block(["-3.4000"], "1", T) + "[ grad_fn = <SubBackward1> ]",
            "x7-requires-grad": "True",
            "x3-grad": block([" 0.2000"], "1", T),
            "x1-accumulated": block([" 1.6000"], "1", T),
        }
    return {}


def expected_prints(name, T):
    """{tag: exact stdout} for cells that print."""
    if name == "02_digging_deeper.ipynb":
        return {
            "leaves": "True True ()\n",
            "grads-08": block([" 0.8000"], "1", T) + "\n" + block([" 0.8000"], "1", T) + "\n",
            "nonleaf-warning": "None\n",
            "x456-grad": "\n".join([block([" 0.2000"], "1", T), block([" 1"], "1", T),
                                    block([" 1"], "1", T)]) + "\n",
            "grad-fns": "PowBackward0\nPowBackward0\nMulBackward1\nMulBackward1\n",
        }
    return {}


def check_walkthrough(nb, name):
    """Every exact output of notebook `name`; returns a list of mismatches."""
    T = "CUDA" if device_of(nb) == "cuda" else "CPU"
    problems = []
    for tag, want in expected_results(name, T).items():
        got = result_text(tagged(nb, tag))
        if got != want:
            problems.append(f"[{tag}] shows\n{got!r}\nexpected\n{want!r}")
    for tag, want in expected_prints(name, T).items():
        got = stream_text(tagged(nb, tag))
        if got != want:
            problems.append(f"[{tag}] prints\n{got!r}\nexpected\n{want!r}")
    if name == "02_digging_deeper.ipynb":
        stderr = stream_text(tagged(nb, "nonleaf-warning"), "stderr")
        if NON_LEAF_WARNING not in stderr:
            problems.append(f"[nonleaf-warning] stderr lacks the UserWarning: {stderr!r}")
    return problems


def printed_losses(nb):
    text = stream_text(tagged(nb, "training"))
    return [(int(e), float(v)) for e, v in re.findall(r"Epoch:\s+(\d+)\s+Loss:\s+([-+0-9.eE]+)", text)]


def pictures(cell):
    return [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")
            and ("image/svg+xml" in o.get("data", {}) or "image/png" in o.get("data", {}))]


# ---- tests -------------------------------------------------------------------------------
def test_walkthrough_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert set(WALKTHROUGH) <= names, f"missing: {set(WALKTHROUGH) - names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_errors(run_notebook, path):
    nb = run_notebook(path.name)
    problems = errors(nb)
    assert not problems, f"{path.name}: cells raised\n\n" + "\n\n".join(problems)
    assert all(c.execution_count is not None for c in code_cells(nb)), "not every cell ran"


@pytest.mark.parametrize("name", WALKTHROUGH)
def test_notebook_uses_the_available_device(run_notebook, name):
    assert device_of(run_notebook(name)) == ("cuda" if CUDA else "cpu")


@pytest.mark.parametrize("name", WALKTHROUGH[:2])
def test_walkthrough_prints_what_the_blog_shows(run_notebook, name):
    problems = check_walkthrough(run_notebook(name), name)
    assert not problems, "\n\n".join(problems)


def test_graph_pictures_render(run_notebook):
    import shutil
    nb = run_notebook("02_digging_deeper.ipynb")
    for tag in ("graph-picture", "graph-picture-saved"):
        cell = tagged(nb, tag)
        if shutil.which("dot"):
            svgs = [o.data["image/svg+xml"] for o in pictures(cell) if "image/svg+xml" in o.data]
            assert svgs, f"[{tag}] shows no SVG picture: {cell.outputs}"
            for label in ("torch::autograd::AccumulateGrad", "MulBackward1", "PowBackward0"):
                assert label in svgs[0], f"[{tag}] picture lacks {label}"
        else:           # without Graphviz's programs: the DOT text and how to get pictures
            text = "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
            assert "apt-get install graphviz" in text and "digraph" in text, cell.outputs


def test_training_loss_falls(run_notebook):
    losses = printed_losses(run_notebook("03_network_with_autograd.ipynb"))
    assert [e for e, _ in losses] == list(range(10, 201, 10)), losses
    values = [v for _, v in losses]
    # a small learning rate on a smooth loss: every printed value below the last one
    assert all(b < a for a, b in zip(values, values[1:])), values
    assert values[-1] < 0.8 * values[0], values


def test_loss_plot_is_an_image(run_notebook):
    cell = tagged(run_notebook("03_network_with_autograd.ipynb"), "loss-plot")
    pngs = [o.data["image/png"] for o in pictures(cell) if "image/png" in o.data]
    assert len(pngs) == 1, f"the plot cell should show one PNG image: {cell.outputs}"
    png = base64.b64decode(pngs[0])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000, "not a real plot"


@pytest.mark.parametrize("name", WALKTHROUGH)
def test_committed_notebook_has_outputs_of_a_clean_run(name):
    """The stored notebooks read well on a code host: run top to bottom,
    outputs included, none of them an error."""
    nbformat = need("nbformat", "reading the notebooks")
    nb = nbformat.read(str(NB_DIR / name), as_version=4)
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), \
        f"stored outputs are not from one clean run ({counts}); refresh: python tests/test_notebooks.py --write"
    assert not errors(nb)
    assert not check_walkthrough(nb, name)
    if name == "03_network_with_autograd.ipynb":
        assert printed_losses(nb) and pictures(tagged(nb, "loss-plot"))


# ---- refreshing the stored outputs -------------------------------------------------------
def write_outputs(names):
    import nbformat
    for name in names:
        path = NB_DIR / name
        with tempfile.TemporaryDirectory() as workdir:
            nb = execute(path, workdir)
        problems = errors(nb)
        if problems:
            sys.exit(f"{name}: not saved, cells raised:\n" + "\n\n".join(problems))
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                     "language": "python"}
        for cell in code_cells(nb):
            cell.metadata.pop("execution", None)
        nbformat.write(nb, str(path))
        print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "--write":
        sys.exit(__doc__)
    write_outputs(args[1:] or [p.name for p in NOTEBOOKS if p.name in WALKTHROUGH])
