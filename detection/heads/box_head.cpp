#include "detection/heads/box_head.h"

#include "autograd/elementwise.h"
#include "nn/linear.h"
#include "tensor/error.h"

namespace detforge::detection {

TwoMLPHead::TwoMLPHead(int64_t in, int64_t rep) {
  DF_CHECK(in > 0 && rep > 0, ConfigError, "[detection.TwoMLPHead] in_channels ", in,
           " and representation_size ", rep, " must be positive");
  register_module("fc6", std::make_shared<nn::Linear>(in, rep));
  register_module("fc7", std::make_shared<nn::Linear>(rep, rep));
}

Tensor TwoMLPHead::forward(const Tensor& x) {
  DF_CHECK(x.dim() >= 2, ShapeError, "[detection.TwoMLPHead] input ", shape_str(x.shape()),
           " must be [K, ...]");
  Tensor f = x.flatten(1);
  // fc6 may be an elastic layer (nas/etp_detector.h), which checks its own input.
  const auto* fc6 = dynamic_cast<const nn::Linear*>(&child("fc6"));
  const int64_t in = fc6 ? fc6->in_features() : f.size(1);
  DF_CHECK(f.size(1) == in, ShapeError, "[detection.TwoMLPHead] input ", shape_str(x.shape()),
           " flattens to ", f.size(1), " features, fc6 expects ", in);
  return relu(child("fc7").forward(relu(child("fc6").forward(f))));
}

FastRCNNPredictor::FastRCNNPredictor(int64_t in, int64_t classes) {
  DF_CHECK(in > 0 && classes > 0, ConfigError, "[detection.FastRCNNPredictor] in_channels ", in,
           " and num_classes ", classes, " must be positive");
  register_module("cls_score", std::make_shared<nn::Linear>(in, classes));
  register_module("bbox_pred", std::make_shared<nn::Linear>(in, 4 * classes));
}

BoxPredictions FastRCNNPredictor::predict(const Tensor& x) {
  if (x.dim() == 4)
    DF_CHECK(x.size(2) == 1 && x.size(3) == 1, ShapeError, "[detection.FastRCNNPredictor] input ",
             shape_str(x.shape()), " must end in [1, 1]");
  DF_CHECK(x.dim() == 2 || x.dim() == 4, ShapeError, "[detection.FastRCNNPredictor] input ",
           shape_str(x.shape()), " must be [K, C] or [K, C, 1, 1]");
  Tensor f = x.flatten(1);
  return {child("cls_score").forward(f), child("bbox_pred").forward(f)};
}

}  // namespace detforge::detection
