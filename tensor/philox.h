// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), host and
// device, and the per-element transforms of detforge's random functions.
//
// Element i of a call with (seed, offset) uses one Philox block: counter = (offset + i) as a
// 64-bit number in words 0-1, words 2-3 zero; key = seed (low word, high word). Its value depends
// only on (seed, offset, i), so the CPU and CUDA paths produce identical numbers.
#pragma once
#include <cstdint>

#include "tensor/macros.h"

namespace detforge::philox {

struct Block {
  uint32_t w[4];
};

DETFORGE_HD inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// The raw generator on a full 128-bit counter and 64-bit key.
DETFORGE_HD inline Block philox4x32_10(Block ctr, uint32_t k0, uint32_t k1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(kM0, ctr.w[0], &hi0);
    uint32_t lo1 = mulhilo(kM1, ctr.w[2], &hi1);
    Block n;
    n.w[0] = hi1 ^ ctr.w[1] ^ k0;
    n.w[1] = lo1;
    n.w[2] = hi0 ^ ctr.w[3] ^ k1;
    n.w[3] = lo0;
    ctr = n;
  }
  return ctr;
}

// The block of element `i` of a call with (seed, offset).
DETFORGE_HD inline Block element_block(uint64_t seed, uint64_t offset, uint64_t i) {
  uint64_t c = offset + i;
  Block ctr;
  ctr.w[0] = static_cast<uint32_t>(c);
  ctr.w[1] = static_cast<uint32_t>(c >> 32);
  ctr.w[2] = 0;
  ctr.w[3] = 0;
  return philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

DETFORGE_HD inline uint64_t bits64(const Block& b, int first = 0) {
  return (static_cast<uint64_t>(b.w[first]) << 32) | b.w[first + 1];
}

// Uniform in [0, 1): float from the top 24 bits of word 0, double from 53 bits of words 0-1.
DETFORGE_HD inline float uniform_float(const Block& b) {
  return static_cast<float>(b.w[0] >> 8) * (1.0f / 16777216.0f);
}
DETFORGE_HD inline double uniform_double(const Block& b, int first = 0) {
  return static_cast<double>(bits64(b, first) >> 11) * (1.0 / 9007199254740992.0);
}

// Standard normal by Box-Muller from the block's two 53-bit uniforms (words 0-1 and 2-3), in
// double (float results are this rounded, so CPU and CUDA agree up to libm's last-bit rounding).
DETFORGE_HD inline double normal_double(const Block& b) {
  double u1 = 1.0 - uniform_double(b, 0);  // (0, 1]: log is finite
  double u2 = uniform_double(b, 2);
  constexpr double kTwoPi = 6.283185307179586476925286766559;
#if defined(__CUDA_ARCH__)
  return sqrt(-2.0 * log(u1)) * cos(kTwoPi * u2);
#else
  return __builtin_sqrt(-2.0 * __builtin_log(u1)) * __builtin_cos(kTwoPi * u2);
#endif
}

DETFORGE_HD inline bool bernoulli(const Block& b, double p) {
  return uniform_double(b) < p;
}

// Uniform integer in [low, high) from 64 bits (modulo; bias below 2^-40 for ranges < 2^24).
DETFORGE_HD inline int64_t randint(const Block& b, int64_t low, int64_t high) {
  uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  return static_cast<int64_t>(static_cast<uint64_t>(low) + bits64(b) % range);
}

}  // namespace detforge::philox
