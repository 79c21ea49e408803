// A few SGD steps on a tiny ResNet (built from the Module framework) lower the training loss.
#include <gtest/gtest.h>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/loss.h"
#include "nn/resnet.h"
#include "tensor/random.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::nn;

TEST(NNTraining, TinyResNetLossDecreases) {
  manual_seed(3);
  ResNetConfig cfg;
  cfg.layers = {1, 1, 1, 1};
  cfg.num_classes = 4;
  ResNet model(cfg);
  Generator gen(11);
  Tensor x = randn({8, 3, 32, 32}, gen);
  Tensor y = randint(0, 4, {8}, gen);
  auto groups = split_decay_groups(model);
  double first = 0, last = 0;
  for (int step = 0; step < 8; ++step) {
    model.zero_grad();
    Tensor loss = cross_entropy(model.forward(x), y);
    loss.backward();
    if (step == 0) first = loss.item();
    last = loss.item();
    NoGradGuard no_grad;
    for (auto* g : {&groups.decay, &groups.no_decay})
      for (auto& p : *g) {
        ASSERT_TRUE(p.second.grad().defined()) << p.first;
        double wd = g == &groups.decay ? 1e-4 : 0.0;
        Tensor upd = add(p.second.grad(), mul(p.second, wd));
        p.second.detach().copy_(sub(p.second, mul(upd, 0.05)));
      }
  }
  EXPECT_LT(last, 0.7 * first) << "first " << first << " last " << last;
  EXPECT_GT(model.child("bn1").buffer("num_batches_tracked").item(), 7.0);
}
