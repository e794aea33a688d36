"""The blog walkthrough reproduced byte for byte: every output printed in the
blog post, the book chapter and the vignette (/work/shared/seeds)."""
import io
import subprocess
import sys


import autograd_gpu as ag
from autograd_gpu import walkthrough


def run_part(part, device, **kw):
    buf = io.StringIO()
    result = part(ag, device, out=buf, **kw)
    return buf.getvalue(), result


def block(device, *rows, shape):
    kind = "CUDA" if device == "cuda" else "CPU"
    return "torch_tensor\n" + "".join(r + "\n" for r in rows) + f"[ {kind}FloatType{{{shape}}} ]"


def after(text, prompt):
    """What the session printed right after the line `>>> prompt`."""
    marker = f">>> {prompt}\n"
    assert marker in text, f"missing step {prompt!r}"
    return text.split(marker, 1)[1]


def test_part1_basics(device):
    out, _ = run_part(walkthrough.part1, device)
    assert after(out, "y.grad_fn").startswith("MeanBackward0\n")
    assert after(out, "x.grad").startswith(block(device, " 0.2500  0.2500", " 0.2500  0.2500", shape="2,2"))


def test_part2_graph_and_gradients(device):
    out, _ = run_part(walkthrough.part2, device)
    assert after(out, "out.grad_fn").startswith("MeanBackward0\n")
    assert after(out, "out.grad_fn.next_functions[0][0]").startswith("MulBackward1\n")
    assert after(out, "out.grad_fn.next_functions[0][0].next_functions[0][0]").startswith("PowBackward0\n")
    assert after(out, "out.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0]").startswith(
        "MulBackward0\n")
    assert "[torch::autograd::AccumulateGrad, AddBackward1]\n" in out
    assert after(out, "out.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0]"
                      ".next_functions[1][0].next_functions[0][0]").startswith("torch::autograd::AccumulateGrad\n")
    assert after(out, "z.grad").startswith(block(device, " 0.2500  0.2500", " 0.2500  0.2500", shape="2,2"))
    assert after(out, "y.grad").startswith(block(device, " 4.6500  4.6500", " 4.6500  4.6500", shape="2,2"))
    assert after(out, "x2.grad").startswith(block(device, " 18.6000", shape="1"))
    assert after(out, "x1.grad").startswith(block(device, " 14.4150  14.4150", " 14.4150  14.4150", shape="2,2"))


def test_book_chapter_example(device):
    out, _ = run_part(walkthrough.part2, device)
    book = out.split("the book's example", 1)[1]
    kind = "CUDA" if device == "cuda" else "CPU"
    assert after(book, "x7").startswith(f"torch_tensor\n-3.4000\n[ {kind}FloatType{{1}} ][ grad_fn = <SubBackward1> ]\n")
    assert after(book, "x7.requires_grad").startswith("True\n")
    assert after(book, "x1.grad").startswith(block(device, " 0.8000", shape="1"))
    assert after(book, "x2.grad").startswith(block(device, " 0.8000", shape="1"))
    assert after(book, "x3.grad").startswith(
        "UserWarning: The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
        "attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be "
        "populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.")
    retained = book.split("unless retain_grad()", 1)[1]
    assert after(retained, "x3.grad").startswith(block(device, " 0.2000", shape="1"))
    assert after(retained, "x4.grad").startswith(block(device, " 0.2000", shape="1"))
    assert after(retained, "x5.grad").startswith(block(device, " 1", shape="1"))
    assert after(retained, "x6.grad").startswith(block(device, " 1", shape="1"))
    for name, node in (("x3", "PowBackward0"), ("x4", "PowBackward0"), ("x5", "MulBackward1"), ("x6", "MulBackward1")):
        assert after(retained, f"{name}.grad_fn").startswith(node + "\n")


def test_part3_training_loss_falls(device):
    out, losses = run_part(walkthrough.part3, device)
    assert len(losses) == 200
    assert out.count("Epoch:") == 20
    assert losses[-1] < 0.05 * losses[0]
    assert all(b <= a * 1.0001 for a, b in zip(losses[10:], losses[11:]))   # steadily down once warmed up


def test_command_line_runs():
    r = subprocess.run([sys.executable, "-m", "autograd_gpu.walkthrough", "--device", "cpu", "--part", "1",
                        "--part", "2"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "autograd_gpu walkthrough on device: cpu" in r.stdout
    assert "[ CPUFloatType{1} ][ grad_fn = <SubBackward1> ]" in r.stdout


def test_part4_modules_loss_falls(device):
    from autograd_gpu.walkthrough_modules import part4
    buf = io.StringIO()
    losses = part4(device, out=buf)
    assert len(losses) == 200 and losses[-1] < 0.5 * losses[0]
    assert f"training on device: {device}" in buf.getvalue()
    assert "Sequential(" in buf.getvalue()
