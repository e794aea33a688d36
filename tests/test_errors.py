"""Bad input: PyTorch's exception types, messages naming the op and the
offending sizes/dtypes/devices, and a failed call changes nothing (data,
.grad, _version, grad_fn of every operand)."""

import numpy as np
import pytest

import autograd_gpu as ag


def snapshot(*tensors):
    return [(t._host().copy(), None if t._grad is None else t._grad._host().copy(), t._version,
             t._node, t._rg) for t in tensors]


def assert_unchanged(tensors, before):
    for t, (data, grad, ver, node, rg) in zip(tensors, before):
        np.testing.assert_array_equal(t._host(), data)
        if grad is None:
            assert t._grad is None
        else:
            np.testing.assert_array_equal(t._grad._host(), grad)
        assert t._version == ver and t._node is node and t._rg == rg


def fails(exc, match, fn, *tensors):
    before = snapshot(*tensors)
    with pytest.raises(exc, match=match):
        fn()
    assert_unchanged(tensors, before)


@pytest.fixture
def xy(device):
    x = ag.randn(2, 3, requires_grad=True, device=device)
    y = ag.randn(4, 5, device=device)
    (x * 2).sum().backward()            # give x a .grad to protect
    return x, y


def test_shape_mismatch(xy):
    x, y = xy
    fails(RuntimeError, r"add.*\[2, 3\].*\[4, 5\]|add.*broadcast", lambda: x + y, x, y)
    fails(RuntimeError, r"mul", lambda: x * y, x, y)
    fails(RuntimeError, r"mm: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)", lambda: x.mm(y), x, y)
    fails(RuntimeError, r"mm: .*must be a matrix", lambda: x.mm(y[0]), x, y)
    fails(RuntimeError, r"mat1 and mat2 shapes cannot be multiplied", lambda: x @ y, x, y)
    fails(RuntimeError, r"matmul: shapes \[2, 2, 3\] and \[4, 5\]", lambda: ag.stack([x, x]) @ y, x, y)
    fails(RuntimeError, r"dot", lambda: x[0].dot(y[0]), x, y)
    fails(RuntimeError, r"shape '\[7\]' is invalid for input of size 6", lambda: x.reshape(7), x)
    fails(RuntimeError, r"view size is not compatible", lambda: x.t().view(6), x)
    fails(RuntimeError, r"expanded size of the tensor \(4\) must match the existing size \(3\)",
          lambda: x.expand(2, 4), x)
    fails(RuntimeError, r"Sizes of tensors must match except in dimension 0", lambda: ag.cat([x, y]), x, y)
    fails(RuntimeError, r"stack expects each tensor to be equal size", lambda: ag.stack([x, y]), x, y)
    fails(RuntimeError, r"where", lambda: ag.where(x > 0, x, y), x, y)


def test_dim_out_of_range(xy):
    x, _ = xy
    for fn in (lambda: x.sum(2), lambda: x.mean(-3), lambda: x.softmax(5), lambda: x.transpose(0, 2),
               lambda: x.unsqueeze(4), lambda: x.max(2), lambda: x.argmax(3), lambda: x.squeeze(9),
               lambda: x.flatten(0, 5), lambda: ag.cat([x, x], 2), lambda: x.var(7), lambda: x.chunk(2, 9)):
        fails(IndexError, r"Dimension out of range", fn, x)


def test_index_out_of_range(xy):
    x, _ = xy
    fails(IndexError, r"index 5 is out of bounds for dimension 0 with size 2", lambda: x[5], x)
    fails(IndexError, r"out of bounds", lambda: x[[0, 9]], x)
    fails(IndexError, r"too many indices", lambda: x[0, 0, 0], x)
    fails(IndexError, r"tensors used as indices must be long, int, byte or bool",
          lambda: x[ag.tensor([0.5])], x)


def test_wrong_argument_types(xy):
    x, _ = xy
    fails(TypeError, r"add\(\): argument 'other' must be Tensor or Number, not str", lambda: x.add("a"), x)
    fails(TypeError, r"unsupported operand", lambda: x + "a", x)
    fails(TypeError, r"mul\(\): argument 'other' must be Tensor or Number, not list", lambda: x.mul([1]), x)
    fails(TypeError, r"matmul\(\): argument 'other' must be Tensor", lambda: x.matmul(3), x)
    fails(TypeError, r"size.*must be tuple of ints", lambda: ag.zeros(2.5), x)
    fails(TypeError, r"dim must be int|argument 'dim'", lambda: x.sum("a"), x)
    fails(TypeError, r"cat\(\): expected Tensor as element 1", lambda: ag.cat([x, 1]), x)
    fails(TypeError, r"requires_grad_\(\): argument must be a bool", lambda: x.requires_grad_("yes"), x)
    fails(TypeError, r"split\(\): argument 'split_sizes' must be int or tuple of ints, not float",
          lambda: x.split([1.0, 1]), x)
    fails(TypeError, r"eye\(\): argument 'n' must be int, not bool", lambda: ag.eye(True), x)
    with pytest.raises(TypeError, match="dtype must be"):
        ag.zeros(2, dtype="complex-ish")


def test_bad_values(xy):
    x, _ = xy
    with pytest.raises(RuntimeError, match="device"):       # (PyTorch's type; a ValueError too, as before)
        ag.device("gpu")
    assert issubclass(type(pytest.raises(ValueError, ag.device, "cuda:x").value), RuntimeError)
    fails(RuntimeError, r"norm\(\): unsupported norm type 'abc'", lambda: x.norm(p="abc"), x)
    fails(RuntimeError, r"softmax\(\): dtype must be a floating point dtype, got Long",
          lambda: x.softmax(0, dtype=ag.int64), x)
    fails(RuntimeError, r"log_softmax\(\): dtype must be a floating point dtype, got Int",
          lambda: x.log_softmax(0, dtype="int32"), x)
    fails(ValueError, r"step must be greater than zero", lambda: x[::-1], x)
    with pytest.raises(ValueError, match="sequence"):
        ag.tensor([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="negative dimension"):
        ag.zeros(-1)
    with pytest.raises(RuntimeError, match="clamp: At least one of 'min' or 'max'"):
        x.clamp()


def test_dtype_errors(device):
    i = ag.tensor([1, 2], device=device)
    f = ag.tensor([1.5, 2.5], device=device)
    fails(RuntimeError, r"add_: result type Float can't be cast to the desired output type Long",
          lambda: i.add_(f), i, f)
    fails(RuntimeError, r"mean\(\): could not infer output dtype.*Long", lambda: i.mean(), i)
    fails(RuntimeError, r"mm: expected both operands to have the same dtype, but got: Float != Double",
          lambda: ag.ones(2, 2, device=device).mm(ag.ones(2, 2, dtype=ag.float64, device=device)))
    fails(RuntimeError, r"Negation.*bool", lambda: -ag.tensor([True], device=device))
    fails(TypeError, r"var\(\): cannot specify both 'unbiased' and 'correction'",
          lambda: f.var(unbiased=False, correction=1), f)


def test_inplace_failures_change_nothing(device):
    x = ag.randn(3, 4, device=device)
    w = ag.randn(3, 4, requires_grad=True, device=device)
    fails(RuntimeError, r"output with shape \[3, 4\] doesn't match the broadcast shape", lambda: x.add_(ag.ones(2, 3, 4, device=device)), x)
    fails(RuntimeError, r"leaf Variable that requires grad", lambda: w.mul_(2), w)
    fails(RuntimeError, r"leaf Variable that requires grad", lambda: w.__setitem__(0, 1.0), w)
    fails(RuntimeError, r"setitem: shape mismatch", lambda: x.__setitem__(slice(0, 2), ag.ones(3, device=device)), x)
    fails(RuntimeError, r"more than one element of the written-to tensor", lambda: ag.ones(1, 4, device=device).expand(3, 4).add_(1))
    y = w * 1
    fails(RuntimeError, r"index_put_|setitem|shape mismatch|broadcast",
          lambda: y.__setitem__([0, 1], ag.ones(5, device=device)), y)
    fails(RuntimeError, r"copy_: the size of src \[5\] does not broadcast", lambda: x.copy_(ag.ones(5, device=device)), x)


def test_backward_failures_change_nothing(device):
    x = ag.randn(3, requires_grad=True, device=device)
    (x * 1).sum().backward()
    y = x * 2
    fails(RuntimeError, r"grad can be implicitly created only for scalar outputs", lambda: y.backward(), x)
    fails(RuntimeError, r"Mismatch in shape", lambda: y.backward(ag.ones(4, device=device)), x)
    z = x.exp()
    s = z.sum()
    z.add_(1)
    fails(RuntimeError, r"modified by an inplace operation", lambda: s.backward(), x)


# ---- devices (a stand-in CUDA backend, so the checks run on every machine) ----------

def test_mixing_devices_raises_naming_both(fake_cuda):
    a = ag.ones(2, requires_grad=True)
    b = ag.ones(2, device="cuda")
    assert b.device == ag.device("cuda:0") and b.type() == "CUDAFloatType"
    for fn in (lambda: a + b, lambda: a * b, lambda: ag.cat([a, b]), lambda: a.mm(b[None].t()),
               lambda: ag.where(a > 0, a, b), lambda: a == b):
        fails(RuntimeError, r"expected all tensors to be on the same device, but found at least two devices, "
                            r"cpu and cuda:0", fn, a, b)


def test_cuda_tensor_numpy_and_printing(fake_cuda):
    b = ag.ones(2, 2, device="cuda", requires_grad=True)
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu\(\)"):
        b.numpy()
    with pytest.raises(TypeError, match=r"Use Tensor.cpu\(\)"):
        np.asarray(b)
    y = b.mean()
    y.backward()
    assert repr(b.grad) == "torch_tensor\n 0.2500  0.2500\n 0.2500  0.2500\n[ CUDAFloatType{2,2} ]"
    assert repr(b - 1).endswith("[ CUDAFloatType{2,2} ][ grad_fn = <SubBackward1> ]")
    c = b.cpu()
    assert c.device == ag.device("cpu")
    (c * 3).sum().backward()                     # gradient flows back across the transfer
    assert b.grad.device == ag.device("cuda:0") and b.grad.tolist() == [[3.25] * 2] * 2


def test_a_backward_returning_a_wrong_shape_is_named_as_pytorch_names_it():
    """The engine fits each returned gradient to its input (sum_to_shape); one
    that cannot fit is an error naming the node and the input's index, in
    PyTorch's words (checked against torch 2.13), and no .grad changes."""
    torch = pytest.importorskip("torch")
    messages = []
    for lib in (torch, ag):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                return x * 2 + y.sum()

            @staticmethod
            def backward(ctx, g):
                return g, lib.ones(3)
        x, y = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        out = Bad.apply(x, y).sum()
        with pytest.raises(RuntimeError) as e:
            out.backward()
        assert x.grad is None and y.grad is None
        messages.append(str(e.value))
    assert messages[1] == messages[0] == ("Function BadBackward returned an invalid gradient at index 1 - "
                                          "got [3] but expected shape compatible with [2]")
