// A small two-stage detector for the tests (the one scripts/fixtures/gen_faster_rcnn_fixtures.py
// builds in torchvision): a 4-stage conv body ("layer1".."layer4": Conv2d 3x3 + ReLU, strides 4,
// 2, 2, 2, channels 8, 16, 16, 32), FPN width 16 with max-pool extra, RPN top-n 1000,
// TwoMLPHead(16 * 49, 32), 5 classes.
#pragma once
#include "detection/faster_rcnn.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/sequential.h"

namespace detforge::test {

class TinyBody : public nn::Cloneable<TinyBody> {
 public:
  TinyBody() {
    const int64_t ch[5] = {3, 8, 16, 16, 32}, st[4] = {4, 2, 2, 2};
    for (int i = 0; i < 4; ++i) {
      auto s = std::make_shared<nn::Sequential>();
      s->push_back(std::make_shared<nn::Conv2d>(ch[i], ch[i + 1], 3, st[i], 1));
      s->push_back(std::make_shared<nn::ReLU>());
      register_module("layer" + std::to_string(i + 1), s);
    }
  }
  std::string type_name() const override { return "TinyBody"; }
  std::vector<Tensor> forward_features(const Tensor& x) {
    std::vector<Tensor> out;
    Tensor t = x;
    for (int i = 1; i <= 4; ++i) out.push_back(t = child("layer" + std::to_string(i)).forward(t));
    return out;
  }
};

inline std::shared_ptr<detection::Backbone> tiny_backbone() {
  return std::make_shared<detection::ModuleBackbone<TinyBody>>(std::make_shared<TinyBody>(),
                                                               std::vector<int64_t>{8, 16, 16, 32});
}

inline detection::NeckConfig tiny_neck() {
  detection::NeckConfig n;
  n.type = "fpn";
  n.out_channels = 16;
  n.extra = detection::FpnExtra::max_pool;
  return n;
}

inline detection::RpnConfig tiny_rpn(bool sample_all) {
  detection::RpnConfig r;
  r.pre_nms_top_n_train = r.pre_nms_top_n_test = 1000;
  r.post_nms_top_n_train = r.post_nms_top_n_test = 1000;
  if (sample_all) {
    r.batch_size_per_image = 1000000;
    r.positive_fraction = 1.0;
  }
  return r;
}

inline detection::RoIHeadsConfig tiny_roi(bool sample_all) {
  detection::RoIHeadsConfig c;
  c.representation_size = 32;
  if (sample_all) {
    c.batch_size_per_image = 1000000;
    c.positive_fraction = 1.0;
  }
  return c;
}

}  // namespace detforge::test
