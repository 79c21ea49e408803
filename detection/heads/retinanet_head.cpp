#include "detection/heads/retinanet_head.h"

#include <cmath>

#include "autograd/indexing.h"
#include "nn/conv.h"
#include "nn/init.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

std::shared_ptr<nn::Sequential> tower(int64_t c, const NormFactory& norm) {
  auto conv = std::make_shared<nn::Sequential>();
  for (int i = 0; i < 4; ++i) conv->push_back(conv_norm_act(c, c, 3, 1, norm, true));
  init_conv_normal(*conv, 0.01);
  return conv;
}

Tensor run_levels(nn::Module& conv, nn::Module& out, const std::vector<Tensor>& features, int64_t k,
                  const char* who) {
  DF_CHECK(!features.empty(), ShapeError, "[", who, "] no feature maps");
  std::vector<Tensor> levels;
  for (const Tensor& f : features) {
    DF_CHECK(f.dim() == 4, ShapeError, "[", who, "] feature ", shape_str(f.shape()),
             " must be [N, C, H, W]");
    levels.push_back(flatten_level(out.forward(conv.forward(f)), k));
  }
  return levels.size() == 1 ? levels[0] : cat(levels, 1);
}

}  // namespace

Tensor flatten_level(const Tensor& x, int64_t k) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  return x.view({n, -1, k, h, w}).permute({0, 3, 4, 1, 2}).reshape({n, -1, k});
}

RetinaNetClassificationHead::RetinaNetClassificationHead(int64_t in, int64_t a, int64_t k,
                                                         double prior, const NormFactory& norm)
    : num_anchors_(a), num_classes_(k) {
  DF_CHECK(in > 0 && a > 0 && k > 0, ConfigError, "[detection.RetinaNetClassificationHead] ",
           "in_channels ", in, ", num_anchors ", a, " and num_classes ", k, " must be positive");
  DF_CHECK(prior > 0 && prior < 1, ConfigError,
           "[detection.RetinaNetClassificationHead] prior_probability must be in (0, 1), got ",
           prior);
  register_module("conv", tower(in, norm));
  auto cls = register_module("cls_logits", std::make_shared<nn::Conv2d>(in, a * k, 3, 1, 1));
  nn::init::normal_(cls->param("weight"), 0.0, 0.01);
  nn::init::constant_(cls->param("bias"), -std::log((1.0 - prior) / prior));
}

Tensor RetinaNetClassificationHead::forward_levels(const std::vector<Tensor>& features) {
  return run_levels(child("conv"), child("cls_logits"), features, num_classes_,
                    "detection.RetinaNetClassificationHead");
}

RetinaNetRegressionHead::RetinaNetRegressionHead(int64_t in, int64_t a, const NormFactory& norm)
    : num_anchors_(a) {
  DF_CHECK(in > 0 && a > 0, ConfigError, "[detection.RetinaNetRegressionHead] in_channels ", in,
           " and num_anchors ", a, " must be positive");
  register_module("conv", tower(in, norm));
  auto reg = register_module("bbox_reg", std::make_shared<nn::Conv2d>(in, a * 4, 3, 1, 1));
  nn::init::normal_(reg->param("weight"), 0.0, 0.01);
  nn::init::constant_(reg->param("bias"), 0.0);
}

Tensor RetinaNetRegressionHead::forward_levels(const std::vector<Tensor>& features) {
  return run_levels(child("conv"), child("bbox_reg"), features, 4,
                    "detection.RetinaNetRegressionHead");
}

RetinaNetHead::RetinaNetHead(int64_t in, int64_t a, int64_t k, const NormFactory& norm,
                             double prior) {
  register_module("classification_head",
                  std::make_shared<RetinaNetClassificationHead>(in, a, k, prior, norm));
  register_module("regression_head", std::make_shared<RetinaNetRegressionHead>(in, a, norm));
}

RetinaNetHeadOutput RetinaNetHead::forward(const std::vector<Tensor>& features) {
  return {child<RetinaNetClassificationHead>("classification_head").forward_levels(features),
          child<RetinaNetRegressionHead>("regression_head").forward_levels(features)};
}

}  // namespace detforge::detection
