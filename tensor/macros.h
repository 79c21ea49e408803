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

#if defined(__CUDA_ARCH__)
#define DETFORGE_RESTRICT __restrict__
#else
#define DETFORGE_RESTRICT __restrict
#endif
