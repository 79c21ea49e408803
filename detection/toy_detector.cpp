// "toy_box": a detector with no network, for smoke tests of the training / evaluation commands
// (docs/train_det.md). Parameters: box f32 [4] (a box in image-relative xyxy units, initially the
// centre half of the image), score f32 [1] (a logit) and pixel f32 [1]. Train-mode losses:
//   loss_box   = mean over the batch's GT boxes of sum((box - gt / [w, h, w, h])^2)
//   loss_score = (score - 2)^2
//   loss_pixel = (pixel - mean(images))^2   (so the image pipeline reaches the weights)
// Eval mode: one detection per image, box * [w, h, w, h], score sigmoid(score), label 1.
#include <cmath>
#include <vector>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "detection/detector.h"
#include "nn/json_reader.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

class ToyBoxDetector : public nn::Cloneable<ToyBoxDetector, Detector> {
 public:
  ToyBoxDetector(int64_t num_classes, int64_t size_divisor)
      : num_classes_(num_classes), size_divisor_(size_divisor) {
    register_parameter("box",
                       Tensor::from_vector(std::vector<float>{0.25f, 0.25f, 0.75f, 0.75f}, {4}));
    register_parameter("score", Tensor::zeros({1}));
    register_parameter("pixel", Tensor::zeros({1}));
  }
  std::string type_name() const override { return "ToyBoxDetector"; }
  int64_t num_classes() const override { return num_classes_; }
  int64_t size_divisor() const override { return size_divisor_; }

  LossMap forward_train(const Tensor& images, const ImageSizes& sizes,
                        const std::vector<data::DetTarget>& targets) override {
    std::vector<float> gt;
    for (size_t i = 0; i < targets.size(); ++i) {
      const Tensor b = targets[i].boxes.to(kCPU).contiguous();
      const float* p = b.data<float>();
      const float h = static_cast<float>(sizes[i][0]), w = static_cast<float>(sizes[i][1]);
      for (int64_t k = 0; k < b.size(0); ++k) {
        gt.push_back(p[4 * k] / w);
        gt.push_back(p[4 * k + 1] / h);
        gt.push_back(p[4 * k + 2] / w);
        gt.push_back(p[4 * k + 3] / h);
      }
    }
    const Tensor& box = param("box");
    Tensor loss_box;
    if (gt.empty()) {
      loss_box = mul(sum(box), 0.0);
    } else {
      const int64_t n = static_cast<int64_t>(gt.size() / 4);
      Tensor g = Tensor::from_vector(gt, {n, 4}, box.device());
      loss_box = div(sum(square(sub(box, g))), static_cast<double>(n));
    }
    Tensor loss_score = sum(square(sub(param("score"), 2.0)));
    Tensor target_pixel = Tensor::full({1}, mean(images).item(), DType::f32, box.device());
    Tensor loss_pixel = sum(square(sub(param("pixel"), target_pixel)));
    return {{"loss_box", loss_box}, {"loss_score", loss_score}, {"loss_pixel", loss_pixel}};
  }

  std::vector<Detections> forward_eval(const Tensor& images, const ImageSizes& sizes) override {
    const Tensor box = param("box").to(kCPU).contiguous();
    const float* b = box.data<float>();
    const float s = 1.f / (1.f + std::exp(-static_cast<float>(param("score").item())));
    std::vector<Detections> out;
    for (const auto& hw : sizes) {
      const float h = static_cast<float>(hw[0]), w = static_cast<float>(hw[1]);
      Detections d;
      d.boxes =
          Tensor::from_vector(std::vector<float>{b[0] * w, b[1] * h, b[2] * w, b[3] * h}, {1, 4});
      d.scores = Tensor::from_vector(std::vector<float>{s}, {1});
      d.labels = Tensor::from_vector(std::vector<int64_t>{1}, {1});
      out.push_back(d);
    }
    return out;
  }

 private:
  int64_t num_classes_, size_divisor_;
};

std::shared_ptr<Detector> build_toy_box(const nlohmann::json& model, const std::string& path) {
  nn::JsonReader r(model, path, "detector");
  r.allow({"type", "num_classes", "size_divisor"});
  return std::make_shared<ToyBoxDetector>(r.get_int("num_classes", 1, 1),
                                          r.get_int("size_divisor", 32, 1));
}

}  // namespace

DF_REGISTER_DETECTOR("toy_box", build_toy_box);

}  // namespace detforge::detection
