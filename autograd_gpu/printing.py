"""Tensor printing: a port of libtorch's ``at::print``.

The layout reproduces, byte for byte, ``at::print(stream, tensor, 80)`` of the
libtorch in the ``torch==2.13.0`` wheel (ATen/core/Formatting.cpp), wrapped the
way R torch prints a tensor: a ``torch_tensor`` header line, then libtorch's
text, then ``[ grad_fn = <...> ]`` or ``[ requires_grad = True ]`` run on to
the type line.

Deliberate differences from libtorch (docs/printing.md says why):

* When a matrix is wider than 80 characters, libtorch writes the first row of
  each block right after its ``Columns a to b`` header; here the header ends
  its own line (whatever libtorch writes after it moves to the next line).
* A 0-d tensor's value prints with 6 significant digits (C's ``%g``, as the
  libtorch behind R torch did: ``-3.4``); libtorch 2.13 prints the shortest
  round-trip form (``-3.4000000953674316`` for a float32 -3.4).
* Output longer than ``max_lines`` lines is cut, keeping the type line, with a
  note saying so (R torch does the same with its ``n`` argument).

Everything is computed the way libtorch computes it: the values are converted
to float64 first, the layout (integer / fixed / scaled fixed / scientific,
column width) is chosen from the finite values, and each number is formatted
with the same printf-style conversion libtorch's fmt calls use. Python's float
formatting, like fmt's and glibc's, is correctly rounded (ties to even), so the
digits agree.
"""

import math

import numpy as np

__all__ = ["format_tensor", "set_printoptions", "get_printoptions"]

# at::print's line width, the one R torch uses (`<<` on a Tensor passes 80).
LINE_WIDTH = 80

TRUNCATION_NOTE = ("... [the output was truncated "
                   "(use ag.set_printoptions(max_lines=None) to see all)]")

_options = {"max_lines": 30}


def set_printoptions(max_lines=30):
    """Set how many lines of numbers a printed tensor shows before it is cut.

    ``max_lines=None`` never cuts. The count covers libtorch's lines above the
    type line (the ``torch_tensor`` header and the type line are always shown).
    """
    if max_lines is not None:
        if isinstance(max_lines, bool) or not isinstance(max_lines, (int, np.integer)):
            raise TypeError(f"max_lines must be a positive int or None, got {max_lines!r}")
        if max_lines < 1:
            raise ValueError(f"max_lines must be a positive int or None, got {max_lines}")
        max_lines = int(max_lines)
    _options["max_lines"] = max_lines


def get_printoptions():
    """The current print options, as a new dict (``{"max_lines": 30}`` by default)."""
    return dict(_options)


# --- choosing the layout (libtorch: __printFormat) -----------------------------

_GENERAL, _SCIENTIFIC, _FIXED = "g", "e", "f"


class _Layout:
    """How every number of one block prints: ``value / scale`` formatted with
    ``style`` (g: %g, e: %.4e, f: %.4f), right-aligned in ``width`` characters."""
    __slots__ = ("scale", "width", "style")

    def __init__(self, scale, width, style):
        self.scale = scale
        self.width = width
        self.style = style


def _digits_before_point(magnitude):
    """libtorch's "exponent" of a magnitude: floor(log10(x)) + 1, and 1 for zero."""
    if magnitude == 0:
        return 1
    return math.floor(math.log10(magnitude)) + 1


def _choose_layout(values):
    """Pick the layout for ``values`` (a float64 array), as libtorch does.

    Integer-valued data prints with %g in a column just wide enough for the
    largest magnitude (scientific past 9 digits); other data prints fixed with
    4 decimals, scaled by a power of ten when the largest magnitude is >= 1e5
    or < 0.01, and scientific when magnitudes span more than 4 decades.
    Non-finite values never influence the choice.
    """
    finite = values[np.isfinite(values)]
    int_mode = bool(np.all(np.ceil(finite) == finite))
    if finite.size:
        magnitudes = np.abs(finite)
        # math.log10 (the C library's log10), not np.log10: NumPy's vectorised
        # log10 may differ in the last bit, and that matters at powers of ten.
        exp_min = _digits_before_point(float(magnitudes.min()))
        exp_max = _digits_before_point(float(magnitudes.max()))
    else:
        exp_min = exp_max = 1

    if int_mode:
        if exp_max > 9:
            return _Layout(1.0, 11, _SCIENTIFIC)
        return _Layout(1.0, exp_max + 1, _GENERAL)
    if exp_max - exp_min > 4:
        width = 12 if abs(exp_max) > 99 or abs(exp_min) > 99 else 11
        return _Layout(1.0, width, _SCIENTIFIC)
    if exp_max > 5 or exp_max < 0:
        # math.pow is the C library's pow, the function libtorch's std::pow calls
        return _Layout(math.pow(10.0, exp_max - 1), 7, _FIXED)
    return _Layout(1.0, 7 if exp_max == 0 else exp_max + 6, _FIXED)


# --- formatting numbers --------------------------------------------------------

def _nan_text(value):
    # fmt and glibc print the sign of a NaN ("-nan"); Python's formatting drops it.
    return "-nan" if math.copysign(1.0, value) < 0 else "nan"


def _number_formatter(layout):
    """A function formatting one float64 value with ``layout`` (scale applied)."""
    spec = ">%d%s" % (layout.width, {_GENERAL: "g", _SCIENTIFIC: ".4e", _FIXED: ".4f"}[layout.style])
    width, scale = layout.width, layout.scale

    def format_number(value):
        value = value / scale
        if value != value:
            return _nan_text(value).rjust(width)
        return format(value, spec)

    return format_number


def _format_scale(scale):
    """A scale factor as fmt's ``{}`` writes a double: the shortest text that
    reads back exactly, without Python's trailing ``.0`` (``100000``, ``1e-05``)."""
    text = repr(scale)
    return text[:-2] if text.endswith(".0") else text


def _format_0d(value):
    """A 0-d value: 6 significant digits, as C's %g (``-3.4``, ``1e-05``, ``-nan``)."""
    if value != value:
        return _nan_text(value)
    return "%g" % value


# --- laying out the body (libtorch: print, __printMatrix, __printTensor) --------
# These generators yield the text in the same pieces, and in the same order, as
# libtorch writes it to its stream, so the port can be read against the C++.

def _matrix_pieces(matrix, indent):
    """A 2-d float64 array, in blocks of as many columns as fit in LINE_WIDTH."""
    layout = _choose_layout(matrix.ravel())
    format_number = _number_formatter(layout)
    n_rows, n_cols = matrix.shape
    columns_per_block = (LINE_WIDTH - indent) // (layout.width + 1)
    pad = " " * indent
    # after each row but the last, libtorch indents the next one, by one more
    # space when a scale line is shown (so scaled rows after the first sit
    # one column to the right of it: a libtorch quirk kept as is)
    row_lead = pad + " " if layout.scale != 1 else pad
    first = 0
    while first < n_cols:
        last = min(first + columns_per_block, n_cols) - 1
        if columns_per_block < n_cols:
            if first != 0:
                yield "\n"
            # deliberate difference: libtorch writes no newline after the header
            yield "Columns %d to %d\n%s" % (first + 1, last + 1, pad)
        if layout.scale != 1:
            yield "%s *\n%s" % (_format_scale(layout.scale), pad)
        for row_index in range(n_rows):
            yield " ".join(map(format_number, matrix[row_index, first:last + 1].tolist()))
            yield "\n"
            if row_index != n_rows - 1:
                yield row_lead
        first = last + 1


def _slice_indices(leading_shape):
    """The indices of the matrices of a >= 3-d tensor in libtorch's order: the
    FIRST leading index varies fastest ((1,1), (2,1), (1,2), (2,2), ...)."""
    counter = [0] * len(leading_shape)
    while True:
        yield tuple(counter)
        for dim, size in enumerate(leading_shape):
            counter[dim] += 1
            if counter[dim] < size:
                break
            counter[dim] = 0
        else:
            return


def _body_pieces(values):
    """Everything at::print writes above the type line, for a float64 array
    with at least one dimension and one element."""
    if values.ndim == 1:
        layout = _choose_layout(values)
        format_number = _number_formatter(layout)
        if layout.scale != 1:
            yield "%s *\n" % _format_scale(layout.scale)
        for value in values.tolist():
            yield format_number(value)
            yield "\n"
    elif values.ndim == 2:
        yield from _matrix_pieces(values, indent=0)
    else:
        for k, index in enumerate(_slice_indices(values.shape[:-2])):
            if k:
                yield "\n"
            yield "(%s,.,.) = \n" % ",".join(str(i + 1) for i in index)
            # libtorch 2.13 indents every row of a slice but the first (its fmt
            # rewrite of __printMatrix lost the leading indent); kept as is
            yield from _matrix_pieces(values[index], indent=1)


def _first_lines(pieces, limit):
    """Join ``pieces`` (text that ends with a newline) into lines. With a
    ``limit``, stop reading once more than ``limit`` lines are complete, so a
    huge tensor is never formatted in full. Returns (lines, truncated)."""
    lines, partial = [], ""
    for piece in pieces:
        if "\n" not in piece:
            partial += piece
            continue
        complete = (partial + piece).split("\n")
        partial = complete.pop()
        lines.extend(complete)
        if limit is not None and len(lines) > limit:
            return lines[:limit], True
    if partial:   # cannot happen: every body ends with a newline
        lines.append(partial)
    return lines, False


def _as_host_array(array):
    if not isinstance(array, np.ndarray) and hasattr(array, "get"):
        array = array.get()          # a CuPy array: copy it to the host
    return np.asarray(array)


def format_tensor(array, type_name, grad_fn_name=None, requires_grad=False):
    """The repr of a tensor holding ``array``, as R torch prints it.

    ``type_name`` is libtorch's type (``CPUFloatType``, ``CUDADoubleType``...).
    A non-leaf passes its node's name as ``grad_fn_name``; a leaf that requires
    grad passes ``requires_grad=True``. The text starts with ``torch_tensor``
    and has no trailing newline.
    """
    array = _as_host_array(array)
    # libtorch prints from a float64 copy; bool and integers convert exactly
    # (int64 beyond 2**53 rounds, as in libtorch)
    values = array.astype(np.float64, copy=False)
    shape = array.shape

    if values.ndim == 0:
        lines, truncated = [_format_0d(float(values))], False
    elif values.size == 0:
        lines, truncated = [], False
    else:
        lines, truncated = _first_lines(_body_pieces(values), _options["max_lines"])

    type_line = "[ %s{%s} ]" % (type_name, ",".join(str(n) for n in shape))
    if grad_fn_name is not None:
        type_line += "[ grad_fn = <%s> ]" % grad_fn_name
    elif requires_grad:
        type_line += "[ requires_grad = True ]"

    if truncated:
        lines.append(TRUNCATION_NOTE)
    return "\n".join(["torch_tensor", *lines, type_line])
