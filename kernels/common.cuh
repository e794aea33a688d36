// Shared definitions of the GPU math: compiles with NVRTC / nvcc (device code)
// and with a plain host C++ compiler (the host test suite runs the same math).
#ifndef AG_COMMON_CUH
#define AG_COMMON_CUH

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define AG_CUDA 1
#define AG_HD __host__ __device__ __forceinline__
#else
#define AG_CUDA 0
#define AG_HD inline
#endif

#if AG_CUDA
#include <cuda_fp16.h>
#endif
#if !defined(__CUDACC_RTC__)
// NVRTC has no C++ standard library; there the CUDA math overloads live in
// the global namespace (see ag::math below).
#include <cmath>
#include <limits>
#endif

namespace ag {

typedef long long index_t;

// The math library, by name, for float and double. Calls inside namespace ag
// are always qualified (math::exp), so a float argument selects the float
// overload on host and device alike, and nothing in ag shadows it.
namespace math {
#if defined(__CUDACC_RTC__)
using ::exp; using ::log; using ::log1p; using ::sqrt; using ::fabs;
using ::sin; using ::cos; using ::tanh; using ::pow;
using ::floor; using ::ceil; using ::trunc; using ::nearbyint;
using ::tan; using ::asin; using ::acos; using ::atan; using ::atan2; using ::sinh; using ::cosh;
using ::expm1; using ::log2; using ::log10; using ::erf; using ::erfc;
using ::isnan; using ::isfinite;
#else
using std::exp; using std::log; using std::log1p; using std::sqrt; using std::fabs;
using std::sin; using std::cos; using std::tanh; using std::pow;
using std::floor; using std::ceil; using std::trunc; using std::nearbyint;
using std::tan; using std::asin; using std::acos; using std::atan; using std::atan2; using std::sinh; using std::cosh;
using std::expm1; using std::log2; using std::log10; using std::erf; using std::erfc;
using std::isnan; using std::isfinite;
#endif
#if defined(__CUDA_ARCH__)
// erfinv: CUDA's on the device (C++'s library has none: host_erfinv, below)
__device__ inline float erfinv(float x) { return ::erfinvf(x); }
__device__ inline double erfinv(double x) { return ::erfinv(x); }
#endif
}  // namespace math

// The type the math runs in for an element type (PyTorch's opmath_t):
// half is loaded into float, computed in float and rounded once on store.
template <typename T> struct opmath { typedef T type; };
#if AG_CUDA
template <> struct opmath<__half> { typedef float type; };
#endif

template <typename M> AG_HD M to_math(M x) { return x; }
template <typename T, typename M> AG_HD T from_math(M x) { return T(x); }
#if AG_CUDA
AG_HD float to_math(__half x) { return __half2float(x); }
template <> AG_HD __half from_math<__half, float>(float x) { return __float2half_rn(x); }
#endif

template <typename T> AG_HD T inf();
#if defined(__CUDA_ARCH__)
template <> AG_HD float inf<float>() { return __int_as_float(0x7f800000); }
template <> AG_HD double inf<double>() { return __longlong_as_double(0x7ff0000000000000LL); }
#else
template <> AG_HD float inf<float>() { return std::numeric_limits<float>::infinity(); }
template <> AG_HD double inf<double>() { return std::numeric_limits<double>::infinity(); }
#endif

#if !defined(__CUDACC_RTC__)
// erfinv on the host, which C++'s library lacks (device code calls CUDA's):
// the NumPy twin's method (ops/special_math.py), in double. A closed-form
// guess (Winitzki's, relative error < 2e-3), then two Halley steps on
// erf(y) = |x| (near 1, on erfc(y) = 1 - |x|, which is exact there).
inline double host_erfinv(double x) {
  double a = std::fabs(x);
  if (!(a <= 1.0)) return std::numeric_limits<double>::quiet_NaN();
  if (a == 1.0) return std::copysign(inf<double>(), x);
  double ln = std::log1p(-a * a);
  double t = 2.0 / (3.141592653589793 * 0.147) + ln / 2.0;
  double y = std::sqrt(std::sqrt(t * t - ln / 0.147) - t);
  for (int i = 0; i < 2; ++i) {
    double f = a > 0.5 ? (1.0 - a) - std::erfc(y) : std::erf(y) - a;
    double r = f / (1.1283791670955126 * std::exp(-y * y));
    y = y - r / (1.0 + y * r);
  }
  return std::copysign(y, x);
}
inline float host_erfinv(float x) { return float(host_erfinv(double(x))); }
#endif

}  // namespace ag

#endif  // AG_COMMON_CUH
