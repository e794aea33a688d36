"""Golden tests for autograd_gpu.printing: exact strings.

The expected texts come from the walkthrough (the R torch blog, book chapter
and vignette in /work/shared/seeds) and from libtorch 2.13's at::print itself
(with our deliberate differences applied by hand; see docs/printing.md).
tests/test_printing_libtorch.py checks the same rules against libtorch on
hundreds of random tensors.
"""
import numpy as np
import pytest

from autograd_gpu import printing
from autograd_gpu.printing import format_tensor, get_printoptions, set_printoptions

f32, f64 = np.float32, np.float64


@pytest.fixture(autouse=True)
def _restore_print_options():
    saved = get_printoptions()
    yield
    set_printoptions(**saved)


def lines(*rows):
    return "\n".join(rows)


# --- the walkthrough -----------------------------------------------------------

def test_walkthrough_gradient_of_mean():
    assert format_tensor(np.full((2, 2), 0.25, f32), "CPUFloatType") == lines(
        "torch_tensor",
        " 0.2500  0.2500",
        " 0.2500  0.2500",
        "[ CPUFloatType{2,2} ]")


def test_walkthrough_non_leaf_shows_its_grad_fn_on_the_type_line():
    assert format_tensor(np.array([-3.4], f32), "CPUFloatType", grad_fn_name="SubBackward1") == lines(
        "torch_tensor",
        "-3.4000",
        "[ CPUFloatType{1} ][ grad_fn = <SubBackward1> ]")


def test_walkthrough_width_grows_with_the_integer_part():
    assert format_tensor(np.array([18.6], f32), "CPUFloatType") == lines(
        "torch_tensor", " 18.6000", "[ CPUFloatType{1} ]")
    assert format_tensor(np.full((2, 2), 14.415, f32), "CPUFloatType") == lines(
        "torch_tensor",
        " 14.4150  14.4150",
        " 14.4150  14.4150",
        "[ CPUFloatType{2,2} ]")
    assert format_tensor(np.full((2, 2), 4.65, f32), "CPUFloatType") == lines(
        "torch_tensor", " 4.6500  4.6500", " 4.6500  4.6500", "[ CPUFloatType{2,2} ]")


def test_walkthrough_integer_valued_floats_print_without_decimals():
    assert format_tensor(np.array([1.0], f32), "CPUFloatType") == lines(
        "torch_tensor", " 1", "[ CPUFloatType{1} ]")


def test_walkthrough_small_values():
    assert format_tensor(np.array([0.8], f32), "CPUFloatType") == lines(
        "torch_tensor", " 0.8000", "[ CPUFloatType{1} ]")
    assert format_tensor(np.array([0.2], f32), "CPUFloatType") == lines(
        "torch_tensor", " 0.2000", "[ CPUFloatType{1} ]")


# --- 0-d, suffixes, type names -------------------------------------------------

def test_zero_dim_prints_six_significant_digits():
    assert format_tensor(np.array(-3.4, f32), "CPUFloatType") == lines(
        "torch_tensor", "-3.4", "[ CPUFloatType{} ]")
    assert format_tensor(np.array(1234567.0), "CPUDoubleType") == lines(
        "torch_tensor", "1.23457e+06", "[ CPUDoubleType{} ]")
    assert format_tensor(np.array(1e-5), "CPUDoubleType").split("\n")[1] == "1e-05"
    assert format_tensor(np.array(5, np.int64), "CPULongType") == lines(
        "torch_tensor", "5", "[ CPULongType{} ]")
    assert format_tensor(np.array(True), "CPUBoolType") == lines(
        "torch_tensor", "1", "[ CPUBoolType{} ]")
    assert format_tensor(np.array(-0.0), "CPUDoubleType").split("\n")[1] == "-0"
    assert format_tensor(np.array(np.nan), "CPUDoubleType").split("\n")[1] == "nan"
    assert format_tensor(np.array(-np.inf, f32), "CPUFloatType").split("\n")[1] == "-inf"


def test_leaf_that_requires_grad():
    assert format_tensor(np.array(2.0, f32), "CPUFloatType", requires_grad=True) == lines(
        "torch_tensor", "2", "[ CPUFloatType{} ][ requires_grad = True ]")


def test_grad_fn_wins_over_requires_grad():
    text = format_tensor(np.ones(1, f32), "CPUFloatType", grad_fn_name="MulBackward0", requires_grad=True)
    assert text.endswith("[ CPUFloatType{1} ][ grad_fn = <MulBackward0> ]")
    assert "requires_grad" not in text


def test_type_name_is_printed_as_given():
    text = format_tensor(np.full((2, 2), 0.25, f32), "CUDAFloatType")
    assert text.endswith("\n[ CUDAFloatType{2,2} ]")
    assert format_tensor(np.array([0.5, 1.5], np.float16), "CPUHalfType") == lines(
        "torch_tensor", " 0.5000", " 1.5000", "[ CPUHalfType{2} ]")


def test_no_trailing_newline():
    assert not format_tensor(np.zeros(3, f32), "CPUFloatType").endswith("\n")


def test_array_with_a_get_method_is_copied_to_the_host():
    class DeviceArray:            # stands in for a CuPy array
        def get(self):
            return np.full((2, 2), 0.25, f32)

    assert format_tensor(DeviceArray(), "CUDAFloatType") == lines(
        "torch_tensor", " 0.2500  0.2500", " 0.2500  0.2500", "[ CUDAFloatType{2,2} ]")


# --- integers, bools, empties --------------------------------------------------

def test_integer_and_bool_tensors():
    assert format_tensor(np.array([1, 2, 3]), "CPULongType") == lines(
        "torch_tensor", " 1", " 2", " 3", "[ CPULongType{3} ]")
    assert format_tensor(np.array([[-5, 12], [7, 100]], np.int32), "CPUIntType") == lines(
        "torch_tensor", "  -5   12", "   7  100", "[ CPUIntType{2,2} ]")
    assert format_tensor(np.array([True, False]), "CPUBoolType") == lines(
        "torch_tensor", " 1", " 0", "[ CPUBoolType{2} ]")


def test_integers_past_six_digits_use_g_and_past_nine_scientific():
    # libtorch formats integer-valued data with %g (6 significant digits)
    assert format_tensor(np.array([1234567.0, 2.0]), "CPUDoubleType") == lines(
        "torch_tensor", "1.23457e+06", "       2", "[ CPUDoubleType{2} ]")
    assert format_tensor(np.array([1234565.0, 1.0]), "CPUDoubleType").split("\n")[1] == "1.23456e+06"
    assert format_tensor(np.array([12345678901.0, 2.0]), "CPUDoubleType") == lines(
        "torch_tensor", " 1.2346e+10", " 2.0000e+00", "[ CPUDoubleType{2} ]")
    big = np.array([np.iinfo(np.int64).max, np.iinfo(np.int64).min])
    assert format_tensor(big, "CPULongType") == lines(
        "torch_tensor", " 9.2234e+18", "-9.2234e+18", "[ CPULongType{2} ]")


@pytest.mark.parametrize("shape, dims", [((0,), "0"), ((2, 0), "2,0"), ((2, 0, 3), "2,0,3")])
def test_empty_tensors_print_only_the_type_line(shape, dims):
    assert format_tensor(np.zeros(shape, f32), "CPUFloatType") == f"torch_tensor\n[ CPUFloatType{{{dims}}} ]"


# --- fixed, scaled, scientific -------------------------------------------------

def test_common_width_follows_the_largest_magnitude():
    assert format_tensor(np.array([1.0, -1000.5]), "CPUDoubleType") == lines(
        "torch_tensor", "    1.0000", "-1000.5000", "[ CPUDoubleType{2} ]")
    assert format_tensor(np.array([1000.0, 999.5]), "CPUDoubleType") == lines(
        "torch_tensor", " 1000.0000", "  999.5000", "[ CPUDoubleType{2} ]")


def test_small_values_get_a_scale_line():
    assert format_tensor(np.array([1e-5, 2e-5]), "CPUDoubleType") == lines(
        "torch_tensor", "1e-05 *", " 1.0000", " 2.0000", "[ CPUDoubleType{2} ]")
    assert format_tensor(np.array([0.001, 0.002]), "CPUDoubleType") == lines(
        "torch_tensor", "0.001 *", " 1.0000", " 2.0000", "[ CPUDoubleType{2} ]")


def test_large_values_get_a_scale_line():
    assert format_tensor(np.array([123456.7, 100000.1]), "CPUDoubleType") == lines(
        "torch_tensor", "100000 *", " 1.2346", " 1.0000", "[ CPUDoubleType{2} ]")


def test_scaled_matrix_rows_after_the_first_shift_right_as_in_libtorch():
    assert format_tensor(np.array([[1e-5, 2e-5], [3e-5, 4e-5]]), "CPUDoubleType") == lines(
        "torch_tensor",
        "1e-05 *",
        " 1.0000  2.0000",
        "  3.0000  4.0000",
        "[ CPUDoubleType{2,2} ]")


def test_ranges_over_four_decades_print_scientific():
    assert format_tensor(np.array([1e5, 3.5]), "CPUDoubleType") == lines(
        "torch_tensor", " 1.0000e+05", " 3.5000e+00", "[ CPUDoubleType{2} ]")
    assert format_tensor(np.array([-1e-5, 1.5]), "CPUDoubleType") == lines(
        "torch_tensor", "-1.0000e-05", " 1.5000e+00", "[ CPUDoubleType{2} ]")
    # three-digit exponents widen the column by one
    assert format_tensor(np.array([1e-300, 1e300]), "CPUDoubleType") == lines(
        "torch_tensor", " 1.0000e-300", " 1.0000e+300", "[ CPUDoubleType{2} ]")
    assert format_tensor(np.array([1e300, 2e300]), "CPUDoubleType") == lines(
        "torch_tensor", "1.0000e+300", "2.0000e+300", "[ CPUDoubleType{2} ]")


def test_ties_round_to_even_and_rounding_may_overflow_the_width():
    assert format_tensor(np.array([0.03125, 1.03125, 2.5]), "CPUDoubleType") == lines(
        "torch_tensor", " 0.0312", " 1.0312", " 2.5000", "[ CPUDoubleType{3} ]")
    assert format_tensor(np.array([9.99996, 1.5]), "CPUDoubleType") == lines(
        "torch_tensor", "10.0000", " 1.5000", "[ CPUDoubleType{2} ]")


# --- non-finite values and signed zeros ----------------------------------------

def test_nan_and_inf():
    assert format_tensor(np.array([np.nan, 1.5, np.inf, -np.inf]), "CPUDoubleType") == lines(
        "torch_tensor", "    nan", " 1.5000", "    inf", "   -inf", "[ CPUDoubleType{4} ]")
    assert format_tensor(np.array([np.inf, np.nan]), "CPUDoubleType") == lines(
        "torch_tensor", "inf", "nan", "[ CPUDoubleType{2} ]")


def test_nan_keeps_its_sign():
    # x86's default NaN (e.g. from inf - inf) has the sign bit set; libtorch shows it
    negative_nan = np.copysign(np.nan, -1.0)
    assert format_tensor(np.array([negative_nan, 1.5]), "CPUDoubleType") == lines(
        "torch_tensor", "   -nan", " 1.5000", "[ CPUDoubleType{2} ]")


def test_negative_zero():
    assert format_tensor(np.array([-0.0, 1.5]), "CPUDoubleType") == lines(
        "torch_tensor", "-0.0000", " 1.5000", "[ CPUDoubleType{2} ]")
    assert format_tensor(np.array([-0.0, 1.0]), "CPUDoubleType") == lines(
        "torch_tensor", "-0", " 1", "[ CPUDoubleType{2} ]")


# --- 3-d and up ----------------------------------------------------------------

def test_three_d_prints_one_matrix_per_slice():
    # libtorch 2.13 indents each slice's rows by one space, except the first
    assert format_tensor(np.arange(24.0).reshape(2, 3, 4) / 7, "CPUDoubleType") == lines(
        "torch_tensor",
        "(1,.,.) = ",
        " 0.0000  0.1429  0.2857  0.4286",
        "  0.5714  0.7143  0.8571  1.0000",
        "  1.1429  1.2857  1.4286  1.5714",
        "",
        "(2,.,.) = ",
        " 1.7143  1.8571  2.0000  2.1429",
        "  2.2857  2.4286  2.5714  2.7143",
        "  2.8571  3.0000  3.1429  3.2857",
        "[ CPUDoubleType{2,3,4} ]")


def test_four_d_slices_run_first_index_fastest_each_with_its_own_format():
    assert format_tensor(np.arange(24.0).reshape(2, 2, 3, 2) * 1e6 / 7, "CPUDoubleType") == lines(
        "torch_tensor",
        "(1,1,.,.) = ",
        " 0.0000e+00  1.4286e+05",
        "  2.8571e+05  4.2857e+05",
        "  5.7143e+05  7.1429e+05",
        "",
        "(2,1,.,.) = ",
        "1000000 *",
        "  1.7143  1.8571",
        "   2.0000  2.1429",
        "   2.2857  2.4286",
        "",
        "(1,2,.,.) = ",
        "1000000 *",
        "  0.8571  1.0000",
        "   1.1429  1.2857",
        "   1.4286  1.5714",
        "",
        "(2,2,.,.) = ",
        "1000000 *",
        "  2.5714  2.7143",
        "   2.8571  3.0000",
        "   3.1429  3.2857",
        "[ CPUDoubleType{2,2,3,2} ]")


def test_three_d_integers():
    assert format_tensor(np.arange(1, 4, dtype=np.uint8).reshape(3, 1, 1), "CPUByteType") == lines(
        "torch_tensor",
        "(1,.,.) = ", " 1", "",
        "(2,.,.) = ", " 2", "",
        "(3,.,.) = ", " 3",
        "[ CPUByteType{3,1,1} ]")


# --- wider than 80 columns: our one layout difference --------------------------

def test_wide_matrix_column_header_stands_on_its_own_line():
    # libtorch: "Columns 1 to 8  0.0000   0.3333 ..." (the first row runs on)
    assert format_tensor(np.arange(40.0).reshape(2, 20) / 3, "CPUDoubleType") == lines(
        "torch_tensor",
        "Columns 1 to 8",
        "  0.0000   0.3333   0.6667   1.0000   1.3333   1.6667   2.0000   2.3333",
        "  6.6667   7.0000   7.3333   7.6667   8.0000   8.3333   8.6667   9.0000",
        "",
        "Columns 9 to 16",
        "  2.6667   3.0000   3.3333   3.6667   4.0000   4.3333   4.6667   5.0000",
        "  9.3333   9.6667  10.0000  10.3333  10.6667  11.0000  11.3333  11.6667",
        "",
        "Columns 17 to 20",
        "  5.3333   5.6667   6.0000   6.3333",
        " 12.0000  12.3333  12.6667  13.0000",
        "[ CPUDoubleType{2,20} ]")


def test_wide_scaled_matrix():
    # libtorch: "Columns 1 to 100.0001 *" (header and scale run together)
    assert format_tensor(np.arange(22.0).reshape(2, 11) / 3 * 1e-5, "CPUDoubleType") == lines(
        "torch_tensor",
        "Columns 1 to 10",
        "1e-05 *",
        " 0.0000  0.3333  0.6667  1.0000  1.3333  1.6667  2.0000  2.3333  2.6667  3.0000",
        "  3.6667  4.0000  4.3333  4.6667  5.0000  5.3333  5.6667  6.0000  6.3333  6.6667",
        "",
        "Columns 11 to 11",
        "1e-05 *",
        " 3.3333",
        "  7.0000",
        "[ CPUDoubleType{2,11} ]")


def test_wide_slice_keeps_its_indent_after_the_header():
    text = format_tensor(np.arange(2 * 2 * 12, dtype=f64).reshape(2, 2, 12) / 4, "CPUDoubleType")
    assert text.split("\n")[:6] == [
        "torch_tensor",
        "(1,.,.) = ",
        "Columns 1 to 9",
        "  0.0000  0.2500  0.5000  0.7500  1.0000  1.2500  1.5000  1.7500  2.0000",
        "  3.0000  3.2500  3.5000  3.7500  4.0000  4.2500  4.5000  4.7500  5.0000",
        "",
    ]


# --- truncation ----------------------------------------------------------------

NOTE = "... [the output was truncated (use ag.set_printoptions(max_lines=None) to see all)]"


def test_long_output_is_cut_after_30_lines_keeping_the_type_line():
    text = format_tensor(np.arange(100, dtype=np.int64), "CPULongType", grad_fn_name="AddBackward1")
    out = text.split("\n")
    assert out[0] == "torch_tensor"
    assert out[1:31] == ["%3d" % i for i in range(30)]
    assert out[31:] == [NOTE, "[ CPULongType{100} ][ grad_fn = <AddBackward1> ]"]


def test_exactly_30_lines_are_not_cut():
    text = format_tensor(np.arange(30, dtype=np.int64), "CPULongType")
    assert NOTE not in text
    assert len(text.split("\n")) == 32


def test_truncation_counts_lines_not_rows():
    # each slice: its header, 3 rows, then a blank line before the next one
    text = format_tensor(np.zeros((10, 3, 10), f32), "CPUFloatType")
    out = text.split("\n")
    assert len(out) == 1 + 30 + 2
    assert out[26] == "(6,.,.) = " and out[29] == "  0  0  0  0  0  0  0  0  0  0" and out[30] == ""
    assert out[-2:] == [NOTE, "[ CPUFloatType{10,3,10} ]"]


def test_max_lines_none_prints_everything():
    set_printoptions(max_lines=None)
    assert get_printoptions() == {"max_lines": None}
    text = format_tensor(np.arange(1000, dtype=np.int64), "CPULongType")
    assert NOTE not in text and len(text.split("\n")) == 1002


def test_max_lines_can_be_changed_and_reset():
    set_printoptions(max_lines=2)
    assert format_tensor(np.arange(5, dtype=np.int64), "CPULongType") == lines(
        "torch_tensor", " 0", " 1", NOTE, "[ CPULongType{5} ]")
    set_printoptions()
    assert get_printoptions() == {"max_lines": 30}


def test_get_printoptions_returns_a_copy():
    options = get_printoptions()
    options["max_lines"] = 3
    assert get_printoptions() == {"max_lines": 30}


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError),
                                        ("30", TypeError), (True, TypeError)])
def test_set_printoptions_rejects_bad_values_and_changes_nothing(bad, error):
    with pytest.raises(error, match="max_lines"):
        set_printoptions(max_lines=bad)
    assert get_printoptions() == {"max_lines": 30}


def test_a_huge_tensor_prints_its_first_lines_quickly():
    text = format_tensor(np.ones((3000, 3000), f32), "CPUFloatType")
    out = text.split("\n")
    # integer mode, width 2: 80 // 3 = 26 columns per block
    assert out[1] == "Columns 1 to 26" and out[2] == " 1" + "  1" * 25
    assert len(out) == 33 and out[-1] == "[ CPUFloatType{3000,3000} ]"


def test_module_constants():
    assert printing.LINE_WIDTH == 80
    assert printing.TRUNCATION_NOTE == NOTE
