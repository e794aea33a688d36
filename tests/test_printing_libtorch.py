"""format_tensor against libtorch itself.

A small C++ program (tests/cpp/print_tensor.cpp) is compiled once against the
libtorch inside the installed torch wheel and prints tensors with
``at::print(std::cout, tensor, 80)``. Hundreds of random tensors (every dtype,
0-d to 4-d, magnitudes from 1e-8 to 1e8 and beyond, mixed scales, integers,
NaN/inf/-0.0, ties at the 4th decimal, columns wider than 80, empties) go
through it in one process run, and our output must equal libtorch's after the
deliberate differences (docs/printing.md) are applied to libtorch's text:
the ``torch_tensor`` header, the ``Columns a to b`` header on its own line,
the 0-d value as C's %g, and truncation past ``max_lines``.

The binary is cached in tests/_build, keyed on the source, the compiler and
the torch version. Without g++ or torch 2.13.0 the tests skip, except under CI
(environment variable CI set), where they fail.
"""
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograd_gpu import printing
from autograd_gpu.printing import format_tensor
from conftest import unavailable

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "cpp" / "print_tensor.cpp"
BUILD_DIR = HERE / "_build"
TORCH_VERSION = "2.13.0"          # the libtorch whose layout we promise (API.md)
SEPARATOR = "\n<<<END>>>\n"

TYPE_NAMES = {
    "float16": "CPUHalfType", "float32": "CPUFloatType", "float64": "CPUDoubleType",
    "int8": "CPUCharType", "int16": "CPUShortType", "int32": "CPUIntType",
    "int64": "CPULongType", "uint8": "CPUByteType", "bool": "CPUBoolType",
}


# --- building and running the libtorch printer ---------------------------------

def _find_toolchain():
    """(compiler, torch_dir, abi_flag) or a reason why the oracle cannot run."""
    wanted = os.environ.get("CXX") or "g++"
    compiler = shutil.which(wanted)
    if not compiler:
        return f"C++ compiler {wanted!r} not found (needed to compile tests/cpp/print_tensor.cpp against libtorch)"
    try:
        import torch
    except ImportError:
        return "torch is not installed (pip install torch==2.13.0; it carries libtorch)"
    if torch.__version__.split("+")[0] != TORCH_VERSION:
        return f"torch {torch.__version__} installed; the printing contract is libtorch {TORCH_VERSION}'s"
    torch_dir = Path(torch.__file__).resolve().parent
    if not (torch_dir / "include" / "ATen" / "ATen.h").exists():
        return f"the torch wheel at {torch_dir} has no C++ headers"
    return compiler, torch_dir, int(torch._C._GLIBCXX_USE_CXX11_ABI)


def _compile_command(compiler, torch_dir, abi, output):
    return [
        compiler, "-std=c++20", "-O1", "-w", f"-D_GLIBCXX_USE_CXX11_ABI={abi}",
        f"-I{torch_dir / 'include'}",
        f"-I{torch_dir / 'include' / 'torch' / 'csrc' / 'api' / 'include'}",
        str(SOURCE), "-o", str(output),
        f"-L{torch_dir / 'lib'}", "-ltorch", "-ltorch_cpu", "-lc10",
        f"-Wl,-rpath,{torch_dir / 'lib'}",
    ]


def _build_printer():
    found = _find_toolchain()
    if isinstance(found, str):
        unavailable(found)
    compiler, torch_dir, abi = found
    compiler_version = subprocess.run([compiler, "--version"], capture_output=True,
                                      text=True).stdout.splitlines()[:1]
    key = hashlib.sha256()
    key.update(SOURCE.read_bytes())
    key.update(repr((compiler_version, str(torch_dir), abi,
                     _compile_command("cxx", torch_dir, abi, "out"))).encode())
    binary = BUILD_DIR / f"print_tensor-{key.hexdigest()[:16]}"
    if not binary.exists():
        BUILD_DIR.mkdir(exist_ok=True)
        partial = binary.with_name(f"{binary.name}.{os.getpid()}.tmp")
        result = subprocess.run(_compile_command(compiler, torch_dir, abi, partial),
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail("compiling tests/cpp/print_tensor.cpp against libtorch failed:\n"
                        + result.stderr[-4000:])
        os.replace(partial, binary)     # atomic: parallel sessions never see half a file
    return binary


def _encode(array):
    """One tensor in print_tensor's input format (see tests/cpp/print_tensor.cpp)."""
    tokens = [array.dtype.name, str(array.ndim), *map(str, array.shape)]
    if array.dtype.kind == "f":
        bits = array.astype(np.float64).ravel().view(np.uint64)
        tokens += ["%016x" % b for b in bits.tolist()]
    else:
        tokens += map(str, array.astype(np.int64).ravel().tolist())
    return " ".join(tokens)


@pytest.fixture(scope="session")
def libtorch_print():
    """A function: list of arrays -> at::print's text for each."""
    binary = _build_printer()

    def run(arrays):
        stdin = f"{len(arrays)}\n" + "\n".join(map(_encode, arrays)) + "\n"
        result = subprocess.run([str(binary)], input=stdin, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        texts = result.stdout.split(SEPARATOR)
        assert texts[-1] == "" and len(texts) == len(arrays) + 1, "print_tensor output is malformed"
        return texts[:-1]

    return run


@pytest.fixture
def max_lines():
    """Restore the print options after a test changes them."""
    saved = printing.get_printoptions()
    yield
    printing.set_printoptions(**saved)


# --- what we promise relative to libtorch --------------------------------------

_libc = ctypes.CDLL(None)


def _c_printf_g(value):
    """C's %g of a double (what the 0-d line must read), from the C library itself."""
    buffer = ctypes.create_string_buffer(64)
    _libc.snprintf(buffer, 64, b"%g", ctypes.c_double(value))
    return buffer.value.decode()


def _break_column_headers(text, n_columns):
    """Put a newline after each ``Columns a to b`` header of libtorch's text.

    libtorch runs what follows on into the header, which makes the text
    ambiguous ("Columns 1 to 10" then "1e-06 *" reads "Columns 1 to 101e-06 *"),
    so the end of each block is taken from the start of the next one, or, for a
    matrix's last block, from the column count."""
    starts = [(m.start(), int(m.group(1))) for m in re.finditer(r"Columns (\d+) to ", text)]
    pieces, done = [], 0
    for k, (position, first) in enumerate(starts):
        next_first = starts[k + 1][1] if k + 1 < len(starts) else 1
        last = next_first - 1 if next_first > first else n_columns
        header = f"Columns {first} to {last}"
        assert text.startswith(header, position), text
        end = position + len(header)
        pieces.append(text[done:end] + "\n")
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _expected(libtorch_text, array, max_lines):
    """libtorch's text with the deliberate differences applied."""
    text = libtorch_text
    if array.ndim >= 2:
        text = _break_column_headers(text, array.shape[-1])
    lines = text.split("\n")
    body, type_line = lines[:-1], lines[-1]
    if array.ndim == 0:
        body = [_c_printf_g(float(array))]
    # R torch's rule (keep n lines, then the note, then the type line), except
    # that a tensor with nothing cut gets no note
    if max_lines is not None and len(body) > max_lines:
        body = body[:max_lines] + [printing.TRUNCATION_NOTE]
    return "\n".join(["torch_tensor", *body, type_line])


def _describe(array):
    values = array.ravel()[:12].tolist()
    return f"{array.dtype.name} shape={array.shape} first values={values}"


def _assert_all_match(arrays, libtorch_texts, max_lines=None):
    mismatches = []
    for array, libtorch_text in zip(arrays, libtorch_texts):
        expected = _expected(libtorch_text, array, max_lines)
        ours = format_tensor(array, TYPE_NAMES[array.dtype.name])
        if ours != expected:
            mismatches.append(f"{_describe(array)}\n--- libtorch (adjusted) ---\n{expected}"
                              f"\n--- ours ---\n{ours}")
    assert not mismatches, (f"{len(mismatches)} of {len(arrays)} tensors print differently "
                            "from libtorch:\n\n" + "\n\n".join(mismatches[:3]))


# --- the tensors ---------------------------------------------------------------

FLOAT_DTYPES = (np.float32, np.float32, np.float32, np.float64, np.float64, np.float16)
INT_DTYPES = (np.int64, np.int32, np.int16, np.int8, np.uint8)


def _random_shape(rng):
    ndim = int(rng.choice([0, 1, 1, 2, 2, 2, 3, 3, 4]))
    shape = [int(rng.integers(1, 5)) for _ in range(ndim)]
    if ndim and rng.random() < 0.15:          # wider than 80 characters
        shape[-1] = int(rng.integers(9, 40))
    if ndim == 1 and rng.random() < 0.15:
        shape[0] = int(rng.integers(5, 60))
    if ndim and rng.random() < 0.05:          # empty
        shape[int(rng.integers(ndim))] = 0
    return tuple(shape)


def _random_float_values(rng, size):
    kind = rng.integers(10)
    if kind == 0:      # one scale, anywhere from 1e-8 to 1e8
        values = rng.standard_normal(size) * 10.0 ** rng.uniform(-8, 8)
    elif kind == 1:    # mixed scales: scientific notation
        values = rng.standard_normal(size) * 10.0 ** rng.uniform(-8, 8, size)
    elif kind == 2:    # magnitudes within a few decades, at any offset
        values = rng.choice([-1, 1], size) * 10.0 ** (rng.uniform(-9, 9) + rng.uniform(0, 4.5, size))
    elif kind == 3:    # integer-valued floats, small to past 1e9
        values = rng.integers(-10 ** int(rng.integers(1, 13)), 10 ** int(rng.integers(1, 13)), size).astype(float)
    elif kind == 4:    # exact ties at the 4th decimal, and at %g's 6th digit
        values = rng.integers(-4000, 4000, size) / 2.0 ** int(rng.integers(4, 8))
        if rng.random() < 0.3:
            values = values * 10.0 ** int(rng.integers(3, 7)) + 0.5
    elif kind == 5:    # next to powers of ten, where width and scale change
        power = 10.0 ** rng.integers(-7, 10, size)
        values = power * rng.choice([1.0, 1 - 1e-16, 1 + 1e-15, 0.99999, 0.999995, 0.9999951], size)
    elif kind == 6:    # extremes: subnormals to near overflow
        values = rng.choice([-1, 1], size) * 10.0 ** rng.uniform(-320, 308, size)
    elif kind == 7:    # a constant, zeros or negative zeros
        values = np.full(size, rng.choice([0.0, -0.0, 1.0, -2.5, 1e-5, 123456.0, 3e9]))
    else:              # unit-scale data, the usual case
        values = rng.standard_normal(size)
    if rng.random() < 0.25:                   # NaN (both signs), inf, -0.0 sprinkled in
        specials = np.array([np.nan, -np.nan, np.copysign(np.nan, -1.0), np.inf, -np.inf, -0.0])
        where = rng.random(size) < rng.uniform(0.1, 1.0)
        values = np.where(where, rng.choice(specials, size), values)
    return values


def _random_array(rng):
    shape = _random_shape(rng)
    size = int(np.prod(shape))
    kind = rng.random()
    if kind < 0.7:
        dtype = FLOAT_DTYPES[rng.integers(len(FLOAT_DTYPES))]
        with np.errstate(over="ignore"):
            return _random_float_values(rng, size).astype(dtype).reshape(shape)
    if kind < 0.93:
        dtype = INT_DTYPES[rng.integers(len(INT_DTYPES))]
        info = np.iinfo(dtype)
        high = min(info.max, 10 ** int(rng.integers(1, 20)))
        low = max(info.min, -high)
        return rng.integers(low, high, size, endpoint=True, dtype=dtype).reshape(shape)
    return (rng.random(size) < 0.5).reshape(shape)


def _hand_picked():
    f32, f64 = np.float32, np.float64
    return [
        np.full((2, 2), 0.25, f32), np.array([-3.4], f32), np.array([18.6], f32),
        np.array([1.0], f32), np.full((2, 2), 14.415, f32), np.array(-3.4, f32),
        np.array([1, -1000.5]), np.array([1234567.0, 2]), np.array([1234565.0, 1]),
        np.array([999999999.0, 1]), np.array([12345678901.0, 2]), np.array([1e-5, 2e-5]),
        np.array([[1e-5, 2e-5], [3e-5, 4e-5]]), np.array([1e5, 3.5]), np.array([1e-8, 1e8]),
        np.array([np.nan, 1.5, np.inf, -np.inf]), np.array([np.copysign(np.nan, -1), 1.5]),
        np.array([-0.0, 1.5]), np.array([-0.0, 1.0]), np.array([-1e-5, 0.0]), np.array([9.99996, 1.5]),
        np.array([0.03125, 1.03125, 2.5]), np.array([1e300, 2e300]), np.array([1e-300, 2e-300]),
        np.array([5e-324, 1.0]), np.array([np.nan]), np.array([[np.nan, -np.inf]]), np.array(np.nan),
        np.array(np.copysign(np.nan, -1)), np.array(-0.0), np.array(1e16), np.array(123456789.0),
        np.array(0.1, np.float16), np.array([0.1, 0.2, 65504], np.float16),
        np.array([np.iinfo(np.int64).max, np.iinfo(np.int64).min]), np.array(5), np.array(True),
        np.array([True, False]), np.zeros(0, f32), np.zeros((2, 0), f32), np.zeros((2, 0, 3), f32),
        np.arange(24.0).reshape(2, 3, 4) / 7, np.arange(24.0).reshape(2, 3, 4),
        np.arange(24.0).reshape(2, 2, 3, 2) * 1e6 / 7, np.arange(40.0).reshape(2, 20) / 3,
        np.arange(40.0).reshape(2, 20) / 3 * 1e-5, np.arange(60.0).reshape(2, 3, 10) / 3 * 1e-5,
        np.arange(30.0).reshape(3, 10) * 1e-5 + 1e-5, np.arange(3, dtype=np.uint8).reshape(3, 1, 1),
        np.arange(120.0).reshape(2, 60) * 1e20 / 7, np.arange(40, dtype=f64).reshape(2, 20) - 20,
    ]


RANDOM_TENSORS = 1200


def test_random_tensors_print_as_libtorch(libtorch_print, max_lines):
    printing.set_printoptions(max_lines=None)
    rng = np.random.default_rng(20240613)
    arrays = _hand_picked() + [_random_array(rng) for _ in range(RANDOM_TENSORS)]
    # the generator must actually reach the cases the layout rules distinguish
    assert {a.ndim for a in arrays} >= {0, 1, 2, 3, 4}
    assert {a.dtype.name for a in arrays} == set(TYPE_NAMES)
    assert sum(a.size == 0 for a in arrays) >= 10
    texts = libtorch_print(arrays)
    assert sum("Columns" in t for t in texts) >= 30
    assert sum(" *\n" in t for t in texts) >= 30       # scale lines
    assert sum("e+" in t or "e-" in t for t in texts) >= 100
    assert sum("nan" in t for t in texts) >= 50
    _assert_all_match(arrays, texts)


def test_zero_dim_line_is_the_value_with_six_digits(libtorch_print):
    """The one place we print a value differently: libtorch 2.13 writes a 0-d
    value in full (shortest round-trip), we write it as %g. Both must be the
    same number as far as each shows it."""
    rng = np.random.default_rng(7)
    arrays = [np.array(v, dtype) for v, dtype in [
        (-3.4, np.float32), (1.1, np.float32), (1e-5, np.float64), (123456789.0, np.float64),
        (np.nan, np.float32), (np.copysign(np.nan, -1), np.float64), (-np.inf, np.float32),
        (-0.0, np.float32), (7, np.int64), (-(2 ** 62), np.int64), (True, np.bool_)]]
    arrays += [np.array(v) for v in rng.standard_normal(50) * 10.0 ** rng.uniform(-10, 10, 50)]
    for array, text in zip(arrays, libtorch_print(arrays)):
        libtorch_value = text.split("\n")[0]
        value = float(array)
        if np.isnan(value):
            assert libtorch_value == ("-nan" if np.signbit(value) else "nan")
        else:
            assert float(libtorch_value) == value
        assert format_tensor(array, TYPE_NAMES[array.dtype.name]).split("\n")[1] == _c_printf_g(value)


def test_long_output_is_cut_as_r_torch_cuts_it(libtorch_print, max_lines):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(n).astype(np.float32) for n in (1, 5, 29, 30, 31, 100)]
    arrays += [rng.standard_normal((n, 3)) for n in (29, 30, 31, 45)]
    arrays += [rng.standard_normal((3, 4, 50)).astype(np.float32), rng.standard_normal((10, 3, 5)),
               rng.standard_normal((2, 60)) * 1e-5, np.arange(7 * 3 * 2.0).reshape(7, 3, 2)]
    texts = libtorch_print(arrays)
    for limit in (30, 1, 7, 31, 1000):
        printing.set_printoptions(max_lines=limit)
        _assert_all_match(arrays, texts, max_lines=limit)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
