// Compiler and host/device macros shared by every layer.
#pragma once

#if defined(__CUDACC__) || defined(__HIPCC__)
#define DETFORGE_HD __host__ __device__
#define DETFORGE_DEVICE __device__
#else
#define DETFORGE_HD
#define DETFORGE_DEVICE
#endif

#define DETFORGE_API __attribute__((visibility("default")))

// Host/device element math that must be inlined: GCC does not inline a large function into the
// CPU loops on its own, and an outlined call stops the loops from vectorising.
#if defined(__CUDACC__)
#define DETFORGE_HD_INLINE DETFORGE_HD __forceinline__
#elif defined(__GNUC__)
#define DETFORGE_HD_INLINE DETFORGE_HD __attribute__((always_inline)) inline
#else
#define DETFORGE_HD_INLINE DETFORGE_HD inline
#endif

// On the lambda that holds a CPU element loop: inline every call inside it (functor, element math),
// so that GCC's inlining budget cannot leave an outlined call in one copy of the loop (the serial
// single-chunk copy ran scalar for sigmoid and tanh that way) and stop it from vectorising.
#if defined(__GNUC__) && !defined(__CUDA_ARCH__)
#define DETFORGE_FLATTEN __attribute__((flatten))
#else
#define DETFORGE_FLATTEN
#endif

#if defined(__CUDA_ARCH__)
#define DETFORGE_RESTRICT __restrict__
#else
#define DETFORGE_RESTRICT __restrict
#endif
