// cuDNN status checks and the per-device handle (its stream is set on every call).
#pragma once
#include <cudnn.h>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/library_check.h"

