#include "detection/heads/rpn_head.h"

#include "nn/conv.h"
#include "tensor/error.h"

namespace detforge::detection {

RPNHead::RPNHead(int64_t in, int64_t a, int64_t depth) : in_channels_(in), num_anchors_(a) {
  DF_CHECK(in > 0 && a > 0 && depth >= 1, ConfigError, "[detection.RPNHead] in_channels ", in,
           ", num_anchors ", a, " and conv_depth ", depth, " must be positive");
  auto conv = register_module("conv", std::make_shared<nn::Sequential>());
  for (int64_t i = 0; i < depth; ++i) conv->push_back(conv_norm_act(in, in, 3, 1, {}, true));
  register_module("cls_logits", std::make_shared<nn::Conv2d>(in, a, 1));
  register_module("bbox_pred", std::make_shared<nn::Conv2d>(in, 4 * a, 1));
  init_conv_normal(*this, 0.01);
}

RpnHeadOutput RPNHead::forward(const std::vector<Tensor>& features) {
  RpnHeadOutput out;
  auto& conv = child("conv");
  auto& cls = child("cls_logits");
  auto& box = child("bbox_pred");
  for (const Tensor& f : features) {
    DF_CHECK(f.dim() == 4 && f.size(1) == in_channels_, ShapeError, "[detection.RPNHead] feature ",
             shape_str(f.shape()), " must be [N, ", in_channels_, ", H, W]");
    Tensor t = conv.forward(f);
    out.objectness.push_back(cls.forward(t));
    out.deltas.push_back(box.forward(t));
  }
  return out;
}

}  // namespace detforge::detection
