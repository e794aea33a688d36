// Pointwise math of the GPU path: the forward of every pointwise primitive of
// autograd_gpu/ops/prims.py and its fused backward step, one function each.
//
// T is the math type (float or double). Half data is computed in float, as
// PyTorch does (opmath): the kernel wrappers load half into float, call the
// float instantiation and round once on store. Formulas follow the NumPy twins
// in prims.py operation for operation (same order, so the same rounding), and
// PyTorch where a twin and PyTorch differ (noted below).
#ifndef AG_POINTWISE_CUH
#define AG_POINTWISE_CUH

#include "common.cuh"

namespace ag {

// ---- helpers ----------------------------------------------------------------

// NaN-propagating max/min (NumPy maximum/minimum, torch.maximum/minimum).
// On a tie the first operand is returned, as std::max / PyTorch do; only the
// sign of a zero can tell (NumPy returns the second).
template <typename T> AG_HD T max_nan(T a, T b) {
    return math::isnan(a) ? a : (math::isnan(b) ? b : (a < b ? b : a));
}
template <typename T> AG_HD T min_nan(T a, T b) {
    return math::isnan(a) ? a : (math::isnan(b) ? b : (b < a ? b : a));
}

// ---- forward ------------------------------------------------------------------

template <typename T> AG_HD T neg(T x) { return -x; }
template <typename T> AG_HD T exp(T x) { return math::exp(x); }
template <typename T> AG_HD T log(T x) { return math::log(x); }
template <typename T> AG_HD T log1p(T x) { return math::log1p(x); }
template <typename T> AG_HD T sqrt(T x) { return math::sqrt(x); }
// two correctly rounded operations, like the twin's 1 / np.sqrt(x)
// (CUDA's rsqrt() intrinsic is not correctly rounded)
template <typename T> AG_HD T rsqrt(T x) { return T(1) / math::sqrt(x); }
template <typename T> AG_HD T square(T x) { return x * x; }
template <typename T> AG_HD T abs(T x) { return math::fabs(x); }
// PyTorch's sign: 0 for NaN (NumPy's np.sign, the twin, gives NaN)
template <typename T> AG_HD T sign(T x) { return T(int(T(0) < x) - int(x < T(0))); }
template <typename T> AG_HD T sin(T x) { return math::sin(x); }
template <typename T> AG_HD T cos(T x) { return math::cos(x); }
template <typename T> AG_HD T tanh(T x) { return math::tanh(x); }
// PyTorch's formula: for very negative x, exp(-x) overflows to inf and the
// result is exactly 0
template <typename T> AG_HD T sigmoid(T x) { return T(1) / (T(1) + math::exp(-x)); }
// max(x, 0) with NaN passing through
// (x itself unless below 0: -0.0 stays -0.0 and NaN stays NaN, as PyTorch's clamp_min)
template <typename T> AG_HD T relu(T x) { return x < T(0) ? T(0) : x; }
template <typename T> AG_HD T tan(T x) { return math::tan(x); }
template <typename T> AG_HD T asin(T x) { return math::asin(x); }
template <typename T> AG_HD T acos(T x) { return math::acos(x); }
template <typename T> AG_HD T atan(T x) { return math::atan(x); }
template <typename T> AG_HD T sinh(T x) { return math::sinh(x); }
template <typename T> AG_HD T cosh(T x) { return math::cosh(x); }
template <typename T> AG_HD T expm1(T x) { return math::expm1(x); }
template <typename T> AG_HD T log2(T x) { return math::log2(x); }
template <typename T> AG_HD T log10(T x) { return math::log10(x); }
template <typename T> AG_HD T reciprocal(T x) { return T(1) / x; }
template <typename T> AG_HD T erf(T x) { return math::erf(x); }
template <typename T> AG_HD T erfc(T x) { return math::erfc(x); }
// gelu: x * Phi(x) (Phi the standard normal CDF), and PyTorch's tanh approximation
template <typename T> AG_HD T gelu(T x) { return x * T(0.5) * (math::erf(x * T(0.7071067811865476)) + T(1)); }
template <typename T> AG_HD T gelu_tanh_inner(T x) {
  return math::tanh((x + x * x * x * T(0.044715)) * T(0.7978845608028654));
}
template <typename T> AG_HD T gelu_tanh(T x) { return x * T(0.5) * (gelu_tanh_inner(x) + T(1)); }
template <typename T> AG_HD T erfinv(T x) {
#if defined(__CUDA_ARCH__)
  return math::erfinv(x);
#else
  return host_erfinv(x);
#endif
}
// rounding to integers; round is half to even (nearbyint in the default rounding
// mode), as PyTorch's round and the twin's np.rint
template <typename T> AG_HD T floor(T x) { return math::floor(x); }
template <typename T> AG_HD T ceil(T x) { return math::ceil(x); }
template <typename T> AG_HD T round(T x) { return math::nearbyint(x); }
template <typename T> AG_HD T trunc(T x) { return math::trunc(x); }
// lo / hi of None arrive as -inf / +inf; lo > hi gives hi (np.clip, torch.clamp)
template <typename T> AG_HD T clamp(T x, T lo, T hi) { return min_nan(max_nan(x, lo), hi); }

template <typename T> AG_HD T add(T a, T b) { return a + b; }
template <typename T> AG_HD T sub(T a, T b) { return a - b; }
template <typename T> AG_HD T rsub(T x, T s) { return s - x; }
template <typename T> AG_HD T mul(T a, T b) { return a * b; }
template <typename T> AG_HD T div(T a, T b) { return a / b; }
template <typename T> AG_HD T pow(T a, T b) { return math::pow(a, b); }
// pow with a Python exponent: PyTorch's pow_tensor_scalar, which (like NumPy for
// 0.5) computes the common exponents by multiplication / sqrt. Results differ
// from pow() in the last bit (3, -2) and at -inf / -0 (0.5, -0.5: sqrt(-inf)
// is NaN, 1/sqrt(-0) is -inf; NumPy's power gives 0 and inf for -0.5).
template <typename T> AG_HD T pow_scalar(T x, T e) {
    if (e == T(2)) return x * x;
    if (e == T(3)) return x * x * x;
    if (e == T(0.5)) return math::sqrt(x);
    if (e == T(-0.5)) return T(1) / math::sqrt(x);
    if (e == T(-1)) return T(1) / x;
    if (e == T(-2)) return T(1) / (x * x);
    return math::pow(x, e);
}
template <typename T> AG_HD T rpow(T e, T base) { return math::pow(base, e); }
template <typename T> AG_HD T maximum(T a, T b) { return max_nan(a, b); }
template <typename T> AG_HD T minimum(T a, T b) { return min_nan(a, b); }
template <typename T> AG_HD T atan2(T a, T b) { return math::atan2(a, b); }
// PyTorch's lerp: from whichever end the weight is nearer (exact at w = 0 and w = 1)
template <typename T> AG_HD T lerp(T a, T b, T w) {
    T d = b - a;
    return math::fabs(w) < T(0.5) ? a + w * d : b - d * (T(1) - w);
}
template <typename T> AG_HD T add_scaled(T a, T b, T alpha) { return a + b * alpha; }
template <typename T> AG_HD T where(bool c, T a, T b) { return c ? a : b; }

template <typename T> AG_HD bool eq(T a, T b) { return a == b; }
template <typename T> AG_HD bool ne(T a, T b) { return a != b; }
template <typename T> AG_HD bool lt(T a, T b) { return a < b; }
template <typename T> AG_HD bool le(T a, T b) { return a <= b; }
template <typename T> AG_HD bool gt(T a, T b) { return a > b; }
template <typename T> AG_HD bool ge(T a, T b) { return a >= b; }
template <typename T> AG_HD bool isnan(T x) { return math::isnan(x); }
template <typename T> AG_HD bool isfinite(T x) { return math::isfinite(x); }

// ---- backward: one fused step each (g: the upstream gradient) -------------------
// x: the saved input, y: the saved result.

template <typename T> AG_HD T exp_bwd(T g, T y) { return g * y; }
template <typename T> AG_HD T log_bwd(T g, T x) { return g / x; }
template <typename T> AG_HD T log1p_bwd(T g, T x) { return g / (x + T(1)); }
template <typename T> AG_HD T sqrt_bwd(T g, T y) { return g / (y * T(2)); }
template <typename T> AG_HD T rsqrt_bwd(T g, T y) { return g * (y * y * y) * T(-0.5); }
template <typename T> AG_HD T square_bwd(T g, T x) { return g * (x * T(2)); }
// PyTorch: grad * sgn(x), so a NaN input gets 0 (the twin's np.sign gives NaN)
template <typename T> AG_HD T abs_bwd(T g, T x) { return g * sign(x); }
template <typename T> AG_HD T sin_bwd(T g, T x) { return g * math::cos(x); }
template <typename T> AG_HD T cos_bwd(T g, T x) { return g * -math::sin(x); }
template <typename T> AG_HD T tanh_bwd(T g, T y) { return g * (T(1) - y * y); }
// derivatives.yaml's formulas, operation for operation (asin/acos: PyTorch's rsqrt is 1 / sqrt)
template <typename T> AG_HD T tan_bwd(T g, T y) { return g * (T(1) + y * y); }
template <typename T> AG_HD T asin_bwd(T g, T x) { return g * (T(1) / math::sqrt(-x * x + T(1))); }
template <typename T> AG_HD T acos_bwd(T g, T x) { return g * -(T(1) / math::sqrt(-x * x + T(1))); }
template <typename T> AG_HD T atan_bwd(T g, T x) { return g / (x * x + T(1)); }
template <typename T> AG_HD T sinh_bwd(T g, T x) { return g * math::cosh(x); }
template <typename T> AG_HD T cosh_bwd(T g, T x) { return g * math::sinh(x); }
template <typename T> AG_HD T expm1_bwd(T g, T y) { return g * (y + T(1)); }
template <typename T> AG_HD T log2_bwd(T g, T x) { return g / (x * T(0.6931471805599453)); }
template <typename T> AG_HD T log10_bwd(T g, T x) { return g / (x * T(2.302585092994046)); }
template <typename T> AG_HD T reciprocal_bwd(T g, T y) { return -g * (y * y); }
// GeluBackward0: Phi(x) + x * phi(x); of the tanh form, PyTorch's product rule
template <typename T> AG_HD T gelu_bwd(T g, T x) {
  return g * ((math::erf(x * T(0.7071067811865476)) + T(1)) * T(0.5)
              + x * (math::exp(x * x * T(-0.5)) * T(0.3989422804014327)));
}
template <typename T> AG_HD T gelu_tanh_bwd(T g, T x) {
  T t = gelu_tanh_inner(x);
  return g * ((t + T(1)) * T(0.5)
              + x * T(0.5) * ((-t * t + T(1)) * ((x * x * T(3 * 0.044715) + T(1)) * T(0.7978845608028654))));
}
// 2 / sqrt(pi) * exp(-x^2) * grad; erfinv's from its input, as PyTorch saves it
template <typename T> AG_HD T erf_bwd(T g, T x) { return g * (math::exp(-x * x) * T(1.1283791670955126)); }
template <typename T> AG_HD T erfc_bwd(T g, T x) { return g * (math::exp(-x * x) * T(-1.1283791670955126)); }
template <typename T> AG_HD T erfinv_bwd(T g, T x) {
  T y = erfinv(x);
  return g * (math::exp(y * y) * T(0.886226925452758));
}
template <typename T> AG_HD T sigmoid_bwd(T g, T y) { return g * ((T(1) - y) * y); }
// threshold_backward: zero where the result is <= 0 (a NaN result lets g through)
template <typename T> AG_HD T relu_bwd(T g, T y) { return y <= T(0) ? T(0) : g; }
// clamp_backward: g passes where lo <= x <= hi (None bounds as -inf / +inf; NaN x: blocked)
template <typename T> AG_HD T clamp_bwd(T g, T x, T lo, T hi) {
    return (x >= lo && x <= hi) ? g : T(0);
}
// pow_backward with a Python exponent e: grad * e * x.pow(e - 1), the pow with a
// Python exponent; em1 = e - 1 is computed in double on the host
template <typename T> AG_HD T pow_bwd(T g, T x, T e, T em1) { return g * (pow_scalar(x, em1) * e); }
// pow_backward_self with a tensor exponent
template <typename T> AG_HD T pow_bwd_base(T g, T x, T e) {
    return e == T(0) ? T(0) : g * (e * math::pow(x, e - T(1)));
}
// pow_backward_exponent: 0 where base == 0 and exponent >= 0
template <typename T> AG_HD T pow_bwd_exp(T g, T x, T e, T y) {
    return g * ((x == T(0) && e >= T(0)) ? T(0) : y * math::log(x));
}
template <typename T> AG_HD T div_bwd_a(T g, T b) { return g / b; }
template <typename T> AG_HD T div_bwd_b(T g, T a, T b) { return -g * ((a / b) / b); }
// atan2_backward: grad * b * recip and grad * -a * recip, recip = 1 / (a * a + b * b) but 0
// where that sum is 0 (at the origin, or underflowed), as PyTorch's
template <typename T> AG_HD T atan2_recip(T a, T b) { T d = a * a + b * b; return d == T(0) ? T(0) : T(1) / d; }
template <typename T> AG_HD T atan2_bwd_a(T g, T a, T b) { return g * b * atan2_recip(a, b); }
template <typename T> AG_HD T atan2_bwd_b(T g, T a, T b) { return g * -a * atan2_recip(a, b); }
// the larger (smaller) input takes the gradient, a tie splits it
template <typename T> AG_HD T maximum_bwd(T g, T a, T b) {
    return a < b ? T(0) : (a == b ? g * T(0.5) : g);
}
template <typename T> AG_HD T minimum_bwd(T g, T a, T b) {
    return a > b ? T(0) : (a == b ? g * T(0.5) : g);
}
template <typename T> AG_HD T logsumexp_bwd(T g, T x, T r) { return g * math::exp(x - r); }
template <typename T> AG_HD T var_bwd(T g, T x, T mean, T scale) { return (x - mean) * (g * scale); }
// scale_grad_by_count: ties of amax/amin share the gradient evenly, as PyTorch's
// (grad / count) * mask: a NaN or infinite gradient reaches every element (x * 0)
template <typename T> AG_HD T select_bwd(T g, bool mask, T count) { return (g / count) * T(mask ? 1 : 0); }


// ---- activations of nn.functional, forward and backward (the twins in prims.py) --------------
// the ELU family: scale * x where x > 0, else neg_coef * expm1(x * input_scale), neg_coef = alpha *
// scale (NaN: the linear side); EluBackward0: the exp side at 0, neg_slope = neg_coef * input_scale
template <typename T> AG_HD T elu(T x, T neg_coef, T scale, T input_scale) {
    return x <= T(0) ? math::expm1(x * input_scale) * neg_coef : x * scale;
}
template <typename T> AG_HD T elu_bwd(T g, T x, T neg_slope, T scale, T input_scale) {
    return x <= T(0) ? g * (math::exp(x * input_scale) * neg_slope) : g * scale;
}
// from the result (EluBackward1, the in-place forms): g input_scale (y + neg_coef) where y <= 0
template <typename T> AG_HD T elu_bwd_result(T g, T y, T neg_coef, T scale, T input_scale) {
    return y <= T(0) ? g * ((y + neg_coef) * input_scale) : g * scale;
}
// softplus: log1p(exp(beta x)) / beta, x itself where beta x > threshold; SoftplusBackward0
template <typename T> AG_HD T softplus(T x, T beta, T threshold) {
    T xb = x * beta;
    return xb > threshold ? x : math::log1p(math::exp(xb)) / beta;
}
template <typename T> AG_HD T softplus_bwd(T g, T x, T beta, T threshold) {
    T xb = x * beta;
    if (xb > threshold) return g;
    T z = math::exp(xb);
    return g * (z / (z + T(1)));
}
// hardsigmoid and hardswish: relu6(x + 3) / 6 and x * relu6(x + 3) / 6, PyTorch's operations; their
// derivatives strictly inside (-3, 3) (hardsigmoid's 1/6 is a float in every dtype, as PyTorch's)
template <typename T> AG_HD T relu6_shifted(T x) { T t = x + T(3); return t < T(0) ? T(0) : (t > T(6) ? T(6) : t); }
template <typename T> AG_HD T hardsigmoid(T x) { return relu6_shifted(x) / T(6); }
template <typename T> AG_HD T hardsigmoid_bwd(T g, T x) {
    return (x > T(-3) && x < T(3)) ? g * T(float(1.0 / 6.0)) : T(0);
}
template <typename T> AG_HD T hardswish(T x) { return x * relu6_shifted(x) / T(6); }
template <typename T> AG_HD T hardswish_bwd(T g, T x) {
    return x <= T(-3) ? T(0) : (x < T(3) ? g * (x / T(3) + T(0.5)) : g);
}
// logsigmoid: min(x, 0) - log1p(exp(-|x|)); LogSigmoidBackward0: g (1 - q) below 0, g q from 0 on
template <typename T> AG_HD T logsigmoid(T x) {
    bool below = x < T(0);
    return (below ? x : T(0)) - math::log1p(math::exp(below ? x : -x));
}
template <typename T> AG_HD T logsigmoid_bwd(T g, T x) {
    bool below = x < T(0);
    T z = math::exp(below ? x : -x);
    T q = z / (z + T(1));
    return g * (below ? T(1) - q : q);
}
// binary_cross_entropy_with_logits element by element, PyTorch's: (1 - t) x - log_sigmoid(x); the
// input's gradient (sigmoid(x) - t) g
template <typename T> AG_HD T bce_logits(T x, T t) { return (T(1) - t) * x - logsigmoid(x); }
template <typename T> AG_HD T bce_logits_bwd(T g, T x, T t) { return (T(1) / (T(1) + math::exp(-x)) - t) * g; }
// silu and mish, PyTorch's formulas: x / (1 + exp(-x)), x tanh(log1p(exp(x))); SiluBackward0
// g s (1 + x (1 - s)) and MishBackward0 g (t + x s (1 - t^2)), s = 1 / (1 + exp(-x)), t the tanh
template <typename T> AG_HD T silu(T x) { return x / (T(1) + math::exp(-x)); }
template <typename T> AG_HD T silu_bwd(T g, T x) {
    T s = T(1) / (T(1) + math::exp(-x));
    return g * s * (T(1) + x * (T(1) - s));
}
template <typename T> AG_HD T mish(T x) { return x * math::tanh(math::log1p(math::exp(x))); }
template <typename T> AG_HD T mish_bwd(T g, T x) {
    T s = T(1) / (T(1) + math::exp(-x));
    T t = math::tanh(math::log1p(math::exp(x)));
    return g * (t + x * s * (T(1) - t * t));
}
// made of linear pieces: the kinks and NaN take PyTorch's sides
template <typename T> AG_HD T threshold(T x, T th, T value) { return x <= th ? value : x; }
template <typename T> AG_HD T threshold_bwd(T g, T x, T th) { return x <= th ? T(0) : g; }
template <typename T> AG_HD T hardtanh(T x, T min_val, T max_val) {     // (x at a bound stays x: -0.0 too)
    return x < min_val ? min_val : (x > max_val ? max_val : x);
}
template <typename T> AG_HD T hardtanh_bwd(T g, T x, T min_val, T max_val) {
    return (x <= min_val || x >= max_val) ? T(0) : g;
}
template <typename T> AG_HD T leaky_relu(T x, T slope) { return x > T(0) ? x : x * slope; }
template <typename T> AG_HD T leaky_relu_bwd(T g, T x, T slope) { return x > T(0) ? g : g * slope; }
// softshrink: x * 0 in the band (PyTorch's signed zero)
template <typename T> AG_HD bool in_band(T x, T lambd) { return x >= -lambd && x <= lambd; }
template <typename T> AG_HD T softshrink(T x, T lambd) {
    return in_band(x, lambd) ? x * T(0) : (x > lambd ? x - lambd : x + lambd);
}
template <typename T> AG_HD T hardshrink(T x, T lambd) { return in_band(x, lambd) ? T(0) : x; }
template <typename T> AG_HD T shrink_bwd(T g, T x, T lambd) { return in_band(x, lambd) ? T(0) : g; }

}  // namespace ag

#endif  // AG_POINTWISE_CUH
