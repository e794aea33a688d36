// Prints tensors with libtorch's own at::print, so that tests/test_printing_libtorch.py
// can compare autograd_gpu.printing.format_tensor against the real thing.
//
// Input (stdin, whitespace-separated tokens):
//   <number of tensors>
//   then per tensor: <dtype> <ndim> <size_0> ... <size_ndim-1> <value>...
// dtype is one of float16 float32 float64 int8 int16 int32 int64 uint8 bool.
// Floating values are the 64-bit patterns (16 hex digits) of the values as
// doubles, so NaN signs and negative zeros arrive intact; integer and bool
// values are decimal integers.
//
// Output: for each tensor, at::print(std::cout, tensor, 80), a newline, and
// the separator line "<<<END>>>".
#include <ATen/ATen.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

at::ScalarType scalar_type_named(const std::string& name) {
  if (name == "float16") return at::kHalf;
  if (name == "float32") return at::kFloat;
  if (name == "float64") return at::kDouble;
  if (name == "int8") return at::kChar;
  if (name == "int16") return at::kShort;
  if (name == "int32") return at::kInt;
  if (name == "int64") return at::kLong;
  if (name == "uint8") return at::kByte;
  if (name == "bool") return at::kBool;
  std::cerr << "unknown dtype " << name << "\n";
  std::exit(2);
}

at::Tensor read_tensor(std::istream& in) {
  std::string dtype;
  int64_t ndim = 0;
  in >> dtype >> ndim;
  std::vector<int64_t> sizes(ndim);
  int64_t numel = 1;
  for (auto& s : sizes) {
    in >> s;
    numel *= s;
  }
  const at::ScalarType type = scalar_type_named(dtype);
  const bool floating = at::isFloatingType(type);
  // Build the values in a 1-d double (or int64) tensor, then convert: every
  // value we send is exactly representable in the target dtype.
  at::Tensor flat = at::empty({numel}, floating ? at::kDouble : at::kLong);
  for (int64_t i = 0; i < numel; i++) {
    if (floating) {
      std::string hex;
      in >> hex;
      const uint64_t bits = std::stoull(hex, nullptr, 16);
      double value;
      std::memcpy(&value, &bits, sizeof value);
      flat.data_ptr<double>()[i] = value;
    } else {
      int64_t value;
      in >> value;
      flat.data_ptr<int64_t>()[i] = value;
    }
  }
  return flat.to(type).reshape(sizes);
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  int64_t count = 0;
  std::cin >> count;
  for (int64_t k = 0; k < count; k++) {
    at::Tensor tensor = read_tensor(std::cin);
    if (!std::cin) {
      std::cerr << "malformed input at tensor " << k << "\n";
      return 2;
    }
    at::print(std::cout, tensor, 80);
    std::cout << "\n<<<END>>>\n";
  }
  return 0;
}
