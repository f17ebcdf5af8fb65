#include <cpuid.h>

#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vec.h"

namespace izwi::cpu {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

namespace {

// F16C (CPUID leaf 1, ECX bit 29): read directly, as clang's
// __builtin_cpu_supports does not know the name.
bool has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}

}  // namespace

bool cpu_supports(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vnni") && has_f16c() && __builtin_cpu_supports("fma");
  }
  return false;
}

const VecKernels* vec_kernels_for(Isa isa) {
  if (!cpu_supports(isa)) return nullptr;
  switch (isa) {
    case Isa::kScalar:
      return &vec_kernels_scalar();
    case Isa::kAvx2:
      return &vec_kernels_avx2();
    case Isa::kAvx512:
      return &vec_kernels_avx512();
  }
  return nullptr;
}

namespace {

const VecKernels& choose() {
  Isa cap = Isa::kAvx512;
  if (const char* env = std::getenv("IZWI_ISA")) {
    if (std::strcmp(env, "scalar") == 0)
      cap = Isa::kScalar;
    else if (std::strcmp(env, "avx2") == 0)
      cap = Isa::kAvx2;
  }
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
    if (static_cast<int>(isa) <= static_cast<int>(cap))
      if (const VecKernels* k = vec_kernels_for(isa)) return *k;
  }
  return vec_kernels_scalar();
}

}  // namespace

const VecKernels& vec_kernels() {
  static const VecKernels& chosen = choose();  // decided once; immutable afterwards
  return chosen;
}

}  // namespace izwi::cpu

namespace izwi::cpu {

const GemmKernels* gemm_kernels_for(Isa isa) {
  if (!cpu_supports(isa)) return nullptr;
  switch (isa) {
    case Isa::kScalar:
      return nullptr;
    case Isa::kAvx2:
      return &gemm_kernels_avx2();
    case Isa::kAvx512:
      return &gemm_kernels_avx512();
  }
  return nullptr;
}

const GemmKernels* gemm_kernels() {
  static const GemmKernels* chosen = gemm_kernels_for(vec_kernels().isa);
  return chosen;
}

}  // namespace izwi::cpu
