// DONNA blockwise KD (kd/blockwise_kd.h): a small replacement block trained toward a fixed random
// reference block on random inputs lowers its NSR; the reference gets no gradient and keeps its
// mode; mismatched blocks are rejected.
#include <gtest/gtest.h>

#include <memory>

#include "autograd/grad_mode.h"
#include "autograd/kd_losses.h"
#include "kd/blockwise_kd.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/norm.h"
#include "nn/optim/adamw.h"
#include "nn/sequential.h"
#include "tensor/error.h"
#include "tests/test_util.h"

namespace detforge::kd {
namespace {

std::shared_ptr<nn::Sequential> reference_block() {
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(4, 8, 3, 1, 1), std::make_shared<nn::BatchNorm2d>(8),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Conv2d>(8, 8, 1)});
}

TEST(BlockwiseKd, ReplacementBlockLearnsTheReference) {
  auto ref = reference_block();
  ref->train();  // the reference's mode must survive bkd_target (which runs it in eval mode)
  // replacement: a cheaper block (depthwise-separable 3x3 then 1x1)
  auto rep = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(4, 4, 3, 1, 1, 1, 4), std::make_shared<nn::Conv2d>(4, 16, 1),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Conv2d>(16, 8, 1)});
  nn::ParamGroup g;
  g.params = rep->parameters();
  g.lr = 1e-2;
  nn::AdamW opt({g});
  std::vector<double> losses;
  for (int step = 0; step < 60; ++step) {
    Tensor x = test::randn({8, 4, 8, 8}, DType::f32, 1000 + step);
    losses.push_back(blockwise_kd_step(*ref, *rep, opt, x));
  }
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += losses[i] / 5, last += losses[losses.size() - 1 - i] / 5;
  EXPECT_LT(last, 0.5 * first) << "NSR " << first << " -> " << last;
  EXPECT_TRUE(ref->is_training());
  for (const auto& p : ref->parameters()) EXPECT_FALSE(p.grad().defined());
  // The loss is the NSR of the replacement's output against the detached reference output.
  Tensor x = test::randn({2, 4, 5, 5}, DType::f32, 7);
  Tensor y;
  {
    NoGradGuard ng;
    ref->eval();
    y = ref->forward(x);
    ref->train();
  }
  EXPECT_NEAR(blockwise_kd_loss(*ref, *rep, x).item(), kd_bkd_nsr(rep->forward(x), y).item(), 1e-6);
}

TEST(BlockwiseKd, MismatchedBlocksAreRejected) {
  auto ref = reference_block();
  nn::Conv2d wrong(4, 6, 1);
  Tensor x = test::randn({2, 4, 5, 5});
  EXPECT_NE(test::error_of([&] { blockwise_kd_loss(*ref, wrong, x); }).find("[kd blockwise]"),
            std::string::npos);
  EXPECT_THROW(blockwise_kd_loss(*ref, wrong, x), ShapeError);
}

}  // namespace
}  // namespace detforge::kd
