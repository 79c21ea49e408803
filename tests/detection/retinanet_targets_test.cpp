// RetinaNet's target assignment for one image against torchvision 0.14, end to end
// (tests/fixtures/detection/pipeline_retinanet,
// scripts/fixtures/gen_detection_training_fixtures.py): default anchors -> torchvision's IoU matrix
// -> Matcher(0.5, 0.4, low quality) -> BoxCoder encode of the matched gt; then a focal loss on the
// one-hot class targets stays finite.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/indexing.h"
#include "autograd/sigmoid_focal_loss.h"
#include "detection/anchor_generator.h"
#include "detection/box_coder.h"
#include "detection/matcher.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

namespace detforge::detection {
namespace {

TEST(RetinaNetTargets, MatchesTorchvision) {
  SafetensorsFile f = load_safetensors(std::string(DETFORGE_FIXTURE_DIR) +
                                       "/detection/pipeline_retinanet.safetensors");
  auto& t = f.tensors;
  AnchorGenerator gen = AnchorGenerator::retinanet_default();
  Tensor anchors = gen({48, 64}, {{6, 8}, {3, 4}, {2, 2}, {1, 1}, {1, 1}});
  EXPECT_EQ(anchors.to_vector<float>(), t.at("anchors").to_vector<float>());

  Tensor matched = Matcher(0.5, 0.4, true)(t.at("iou"));
  EXPECT_EQ(matched.to_vector<int64_t>(), t.at("matched").to_vector<int64_t>());

  std::vector<int64_t> fg;
  auto mv = matched.to_vector<int64_t>();
  for (size_t i = 0; i < mv.size(); ++i)
    if (mv[i] >= 0) fg.push_back(static_cast<int64_t>(i));
  ASSERT_FALSE(fg.empty());
  EXPECT_EQ(fg, t.at("fg").to_vector<int64_t>());
  Tensor fg_t = Tensor::from_vector(fg, {static_cast<int64_t>(fg.size())});
  Tensor gt_idx = index_select(matched, 0, fg_t);
  Tensor targets =
      BoxCoder({1, 1, 1, 1})
          .encode_single(index_select(t.at("gt_boxes"), 0, gt_idx), index_select(anchors, 0, fg_t));
  DF_EXPECT_CLOSE(targets, t.at("targets"), 1e-6);

  // One-hot targets (class = gt index) for a 4-class head; the focal loss sums to a finite value.
  const int64_t A = anchors.size(0), C = 4;
  std::vector<float> onehot(static_cast<size_t>(A * C), 0.0f);
  for (size_t i = 0; i < mv.size(); ++i)
    if (mv[i] >= 0) onehot[i * C + static_cast<size_t>(mv[i])] = 1.0f;
  Tensor logits = test::randn({A, C}, DType::f32, 3).set_requires_grad(true);
  Tensor loss = sigmoid_focal_loss(logits, Tensor::from_vector(onehot, {A, C}), 0.25, 2, "sum");
  loss.backward();
  EXPECT_TRUE(std::isfinite(loss.item()));
  EXPECT_EQ(logits.grad().shape(), (Shape{A, C}));
}

}  // namespace
}  // namespace detforge::detection
