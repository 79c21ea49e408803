// Parameter initialisers (in place, graph-free), with PyTorch's formulas.
#pragma once
#include <string>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace detforge::nn::init {

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (PyTorch's convention).
DETFORGE_API int64_t fan_in(const Tensor& weight);
DETFORGE_API int64_t fan_out(const Tensor& weight);

DETFORGE_API void uniform_(const Tensor& t, double low, double high,
                           Generator& gen = default_generator());
DETFORGE_API void normal_(const Tensor& t, double mean, double std,
                          Generator& gen = default_generator());
DETFORGE_API void constant_(const Tensor& t, double value);
// kaiming_normal_ with nonlinearity relu (gain sqrt 2): std = sqrt(2 / fan), mode
// "fan_in"/"fan_out".
DETFORGE_API void kaiming_normal_(const Tensor& weight, const std::string& mode = "fan_out",
                                  Generator& gen = default_generator());
// PyTorch's default nn.Conv2d / nn.Linear init: weight kaiming_uniform(a = sqrt 5), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
DETFORGE_API void default_layer_init(const Tensor& weight, const Tensor& bias,
                                     Generator& gen = default_generator());

}  // namespace detforge::nn::init
