// Building blocks shared by the detection necks and heads: named feature lists, norm-layer
// factories and torchvision's Conv2dNormActivation layout.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/resnet.h"  // nn::NormFactory
#include "nn/sequential.h"

namespace detforge::detection {

// Ordered named feature maps (torchvision's OrderedDict[str, Tensor]), highest resolution first.
using FeatureList = std::vector<std::pair<std::string, Tensor>>;
using nn::NormFactory;

// Tensors of a FeatureList, in order.
DETFORGE_API std::vector<Tensor> feature_tensors(const FeatureList& features);

// Picks backbone levels from C2..C5 (the vector nn backbones' forward_features returns; level L is
// c2_to_c5[L - 2]) and names them "0", "1", ... in order, as torchvision's BackboneWithFPN does
// with returned_layers. ConfigError for a level outside 2..5 or not increasing.
DETFORGE_API FeatureList select_levels(const std::vector<Tensor>& c2_to_c5,
                                       const std::vector<int64_t>& levels);

// "none" (empty factory), "bn" (BatchNorm2d(c)) or "gn" (GroupNorm(gn_groups, c)).
DETFORGE_API NormFactory make_norm_factory(const std::string& kind, int64_t gn_groups = 32);

// torchvision.ops.misc.Conv2dNormActivation: a Sequential "0" Conv2d (padding (k - 1) / 2, bias
// only without a norm), "1" the norm when `norm` is set, then ReLU when `relu` (no parameters).
// So the state-dict keys are "0.weight" [, "0.bias"] [, "1.weight", "1.bias", ...].
DETFORGE_API std::shared_ptr<nn::Sequential> conv_norm_act(int64_t in_channels,
                                                           int64_t out_channels,
                                                           int64_t kernel_size, int64_t stride,
                                                           const NormFactory& norm, bool relu);

// Every Conv2d weight inside `m` ~ N(0, std), every conv bias 0 (torchvision's head inits).
DETFORGE_API void init_conv_normal(nn::Module& m, double std);

// kaiming_uniform_(a = 1) on the weight (U(-b, b), b = sqrt(3 / fan_in)) and bias 0 (FPN convs).
DETFORGE_API void init_kaiming_uniform_a1(nn::Module& conv);

}  // namespace detforge::detection
