// detforge demo: the engine end to end. A ResNet-18-shaped network built from detforge's ops
// (nn/functional_resnet.h) trains with SGD on a fixed synthetic batch of class-coloured noise
// images, printing loss and step time; it must drive the loss down (it memorises the batch).
#include <chrono>
#include <cstdio>
#include <random>

#include "autograd/loss.h"
#include "cli/commands.h"
#include "nn/functional_resnet.h"

namespace detforge::cli {

void add_demo(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "demo", "Train a ResNet-18-shaped stack of engine ops on a synthetic batch");
  struct Args {
    int64_t steps = 20, batch = 8, size = 64, classes = 10;
    double lr = 0.05;
    std::string device = "cpu";
    uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--steps", a->steps, "Training steps")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", a->batch, "Batch size")->check(CLI::PositiveNumber);
  cmd->add_option("--size", a->size, "Image side in pixels")->check(CLI::Range(32, 1024));
  cmd->add_option("--classes", a->classes, "Number of classes")->check(CLI::Range(2, 1000));
  cmd->add_option("--lr", a->lr, "SGD learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--device", a->device, "cpu or cuda");
  cmd->add_option("--seed", a->seed, "Seed for weights and data");
  cmd->callback([a] {
    Device dev = Device::parse(a->device);
    nn::FunctionalResNet net(a->classes, a->seed, dev);
    // Synthetic data: per class a colour, plus noise; labels cycle through the classes.
    std::mt19937_64 rng(a->seed + 1);
    std::normal_distribution<float> nd;
    std::vector<float> img(static_cast<size_t>(a->batch * 3 * a->size * a->size));
    std::vector<int64_t> labels(static_cast<size_t>(a->batch));
    size_t plane = static_cast<size_t>(a->size * a->size);
    for (int64_t n = 0; n < a->batch; ++n) {
      labels[n] = n % a->classes;
      for (int c = 0; c < 3; ++c) {
        float tint = static_cast<float>(((labels[n] + 1) * (c + 3)) % 7) / 3.0f - 1.0f;
        for (size_t i = 0; i < plane; ++i) img[(n * 3 + c) * plane + i] = tint + 0.5f * nd(rng);
      }
    }
    Tensor x = Tensor::from_vector(img, {a->batch, 3, a->size, a->size}, dev);
    Tensor y = Tensor::from_vector(labels, {a->batch}, dev);
    std::printf(
        "detforge demo: ResNet-18-shaped net, %lld parameters, batch %lld x 3 x %lld x %lld on "
        "%s\n",
        static_cast<long long>(net.num_parameters()), static_cast<long long>(a->batch),
        static_cast<long long>(a->size), static_cast<long long>(a->size), dev.str().c_str());
    double first = 0, last = 0;
    for (int64_t step = 1; step <= a->steps; ++step) {
      auto t0 = std::chrono::steady_clock::now();
      Tensor loss = cross_entropy(net.forward(x, true), y);
      loss.backward();
      net.sgd_step(a->lr);
      double l = loss.item();
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (step == 1) first = l;
      last = l;
      std::printf("step %3lld  loss %.4f  %.1f ms\n", static_cast<long long>(step), l, ms);
    }
    std::printf("loss %.4f -> %.4f\n", first, last);
    if (!(last < first)) throw Error("[demo] the loss did not decrease");
  });
}

}  // namespace detforge::cli
