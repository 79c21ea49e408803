// nms / batched_nms against a brute-force reference (the greedy definition written out naively)
// on thousands of random boxes with many tied scores; plus error messages and CUDA-vs-CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "autograd/box_iou.h"
#include "autograd/nms.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

struct Boxes {
  std::vector<float> b, s;
  std::vector<int64_t> cls;
};

// The bench's distribution: centres uniform in [0, 800)^2, sizes in [16, 256); scores rounded to
// `levels` values (ties), classes in [0, ncls).
Boxes make_boxes(int n, int levels, int ncls, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> c(0.f, 800.f), sz(16.f, 256.f), u(0.f, 1.f);
  Boxes r;
  for (int i = 0; i < n; ++i) {
    float cx = c(rng), cy = c(rng), w = sz(rng), h = sz(rng);
    r.b.insert(r.b.end(), {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
    float s = u(rng);
    r.s.push_back(levels > 0 ? std::floor(s * levels) / levels : s);
    r.cls.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(ncls)));
  }
  return r;
}

// Greedy NMS by definition: visit boxes by (score desc, index asc); keep a box unless a kept box
// has IoU > thr with it (IoU in float, as torchvision for float boxes, compared in double).
std::vector<int64_t> reference(const Boxes& x, double thr, bool per_class) {
  const int n = static_cast<int>(x.s.size());
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return x.s[a] > x.s[b]; });
  std::vector<int64_t> keep;
  for (int64_t i : order) {
    const float* a = &x.b[i * 4];
    bool dropped = false;
    for (int64_t k : keep) {
      if (per_class && x.cls[k] != x.cls[i]) continue;
      const float* b = &x.b[k * 4];
      float w = std::max(0.f, std::min(a[2], b[2]) - std::max(a[0], b[0]));
      float h = std::max(0.f, std::min(a[3], b[3]) - std::max(a[1], b[1]));
      float inter = w * h;
      float aa = (a[2] - a[0]) * (a[3] - a[1]), ab = (b[2] - b[0]) * (b[3] - b[1]);
      float iou = inter / (ab + aa - inter);
      if (static_cast<double>(iou) > thr) {
        dropped = true;
        break;
      }
    }
    if (!dropped) keep.push_back(i);
  }
  return keep;
}

TEST(Nms, MatchesBruteForceWithTies) {
  for (auto [n, levels, thr] : {std::tuple{3000, 20, 0.5}, std::tuple{2000, 0, 0.7},
                                std::tuple{1500, 3, 0.3}, std::tuple{500, 1, 0.0}}) {
    Boxes x = make_boxes(n, levels, 1, static_cast<uint64_t>(n + levels));
    Tensor b = Tensor::from_vector(x.b, {n, 4}), s = Tensor::from_vector(x.s, {n});
    auto got = nms(b, s, thr).to_vector<int64_t>();
    EXPECT_EQ(got, reference(x, thr, false)) << "n=" << n << " levels=" << levels;
  }
}

TEST(Nms, BatchedMatchesBruteForce) {
  for (auto [n, ncls] : {std::tuple{3000, 7}, std::tuple{800, 2}, std::tuple{1200, 40}}) {
    Boxes x = make_boxes(n, 10, ncls, static_cast<uint64_t>(n * 3 + ncls));
    Tensor b = Tensor::from_vector(x.b, {n, 4}), s = Tensor::from_vector(x.s, {n});
    Tensor c = Tensor::from_vector(x.cls, {n});
    auto got = batched_nms(b, s, c, 0.5).to_vector<int64_t>();
    EXPECT_EQ(got, reference(x, 0.5, true)) << "n=" << n << " classes=" << ncls;
  }
}

TEST(Nms, Float64AndEmpty) {
  Boxes x = make_boxes(400, 8, 1, 5);
  Tensor b = Tensor::from_vector(x.b, {400, 4}), s = Tensor::from_vector(x.s, {400});
  EXPECT_EQ(nms(b.to(DType::f64), s.to(DType::f64), 0.5).to_vector<int64_t>(),
            nms(b, s, 0.5).to_vector<int64_t>());
  Tensor e = nms(Tensor::empty({0, 4}), Tensor::empty({0}), 0.5);
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(e.dtype(), DType::i64);
}

TEST(Nms, Errors) {
  try {
    nms(Tensor::zeros({3, 5}), Tensor::zeros({3}), 0.5);
    FAIL() << "no error";
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[nms] boxes must have shape [N, 4]", 0), 0u) << e.what();
  }
  EXPECT_THROW(nms(Tensor::zeros({3, 4}), Tensor::zeros({2}), 0.5), ShapeError);
  EXPECT_THROW(batched_nms(Tensor::zeros({3, 4}), Tensor::zeros({3}), Tensor::zeros({3}), 0.5),
               DTypeError);
  EXPECT_THROW(box_iou(Tensor::zeros({3, 3}), Tensor::zeros({2, 4})), ShapeError);
  EXPECT_THROW(generalized_box_iou_loss(Tensor::zeros({3, 4}), Tensor::zeros({3, 4}), "avg"),
               ConfigError);
}

TEST(Nms, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda();
  Boxes x = make_boxes(5000, 30, 5, 9);
  Tensor b = Tensor::from_vector(x.b, {5000, 4}), s = Tensor::from_vector(x.s, {5000});
  Tensor c = Tensor::from_vector(x.cls, {5000});
  Device d = cuda_device(0);
  EXPECT_EQ(nms(b.to(d), s.to(d), 0.5).to_vector<int64_t>(), nms(b, s, 0.5).to_vector<int64_t>());
  EXPECT_EQ(batched_nms(b.to(d), s.to(d), c.to(d), 0.5).to_vector<int64_t>(),
            batched_nms(b, s, c, 0.5).to_vector<int64_t>());
}

}  // namespace
}  // namespace detforge
