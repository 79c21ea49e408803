// DetLoader: determinism across worker counts, epoch permutations, multi-scale batches, error
// propagation and skipping, resume, early stop; make_det_records.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "data/det_loader.h"
#include "tensor/error.h"

namespace detforge {
namespace {

using data::BadImagePolicy;
using data::DetBatch;
using data::DetLoader;
using data::DetLoaderConfig;
using data::DetRecord;

// n images of varied sizes, each with (i % 3) boxes.
std::vector<DetRecord> make_records(int n) {
  std::vector<DetRecord> r(n);
  for (int i = 0; i < n; ++i) {
    r[i].image.id = 1000 + i;
    r[i].image.file_name = "img_" + std::to_string(i) + ".jpg";
    r[i].image.height = 20 + (i * 7) % 31;
    r[i].image.width = 24 + (i * 11) % 37;
    for (int k = 0; k < i % 3; ++k) {
      const float x = 1.f + k, y = 2.f + k;
      r[i].boxes.push_back({x, y, x + 5.f + i % 4, y + 6.f});
      r[i].labels.push_back(1 + (i + k) % 4);
    }
  }
  return r;
}

// Synthesises the image of a record from its id (deterministic, thread-safe).
Tensor synth_image(const data::CocoImage& im) {
  Tensor t = Tensor::empty({im.height, im.width, 3}, DType::u8);
  uint8_t* p = t.data<uint8_t>();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = static_cast<uint8_t>((i * 31 + im.id * 17 + (i >> 5)) & 255);
  return t;
}

DetLoaderConfig small_config(int workers) {
  DetLoaderConfig c;
  c.batch_size = 3;
  c.train_sizes = {{32, 64}, {48, 80}, {24, 40}};
  c.eval_size = {40, 60};
  c.seed = 7;
  c.num_workers = workers;
  c.prefetch_batches = 2;
  c.transform.size_divisor = 16;
  return c;
}

std::vector<DetBatch> run_epoch(DetLoader& l, int64_t epoch, int64_t iteration = 0) {
  std::vector<DetBatch> out;
  l.start(epoch, iteration);
  while (auto b = l.next()) out.push_back(std::move(*b));
  return out;
}

void expect_same(const std::vector<DetBatch>& a, const std::vector<DetBatch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("batch " + std::to_string(i));
    EXPECT_EQ(a[i].iteration, b[i].iteration);
    EXPECT_EQ(a[i].indices, b[i].indices);
    EXPECT_EQ(a[i].image_sizes, b[i].image_sizes);
    ASSERT_EQ(a[i].images.shape(), b[i].images.shape());
    EXPECT_EQ(a[i].images.to_vector<float>(), b[i].images.to_vector<float>());
    for (int64_t k = 0; k < a[i].size(); ++k) {
      EXPECT_EQ(a[i].targets[k].boxes.to_vector<float>(), b[i].targets[k].boxes.to_vector<float>());
      EXPECT_EQ(a[i].targets[k].labels.to_vector<int64_t>(),
                b[i].targets[k].labels.to_vector<int64_t>());
      EXPECT_EQ(a[i].targets[k].flipped, b[i].targets[k].flipped);
      EXPECT_EQ(a[i].targets[k].image_id, b[i].targets[k].image_id);
    }
  }
}

TEST(DetLoader, IdenticalAcrossWorkerCounts) {
  const auto recs = make_records(17);
  DetLoader l0(recs, synth_image, small_config(0));
  DetLoader l1(recs, synth_image, small_config(1));
  DetLoader l3(recs, synth_image, small_config(3));
  for (int64_t epoch : {0, 1}) {
    const auto a = run_epoch(l1, epoch);
    ASSERT_EQ(a.size(), 6u);  // ceil(17 / 3)
    expect_same(a, run_epoch(l3, epoch));
    expect_same(a, run_epoch(l0, epoch));
  }
}

TEST(DetLoader, BatchesAreWellFormed) {
  const auto recs = make_records(17);
  DetLoader l(recs, synth_image, small_config(2));
  std::set<int64_t> seen, short_sides;
  int flips = 0, images = 0;
  for (const auto& b : run_epoch(l, 0)) {
    EXPECT_EQ(b.images.size(2) % 16, 0);
    EXPECT_EQ(b.images.size(3) % 16, 0);
    const auto rs = l.batch_resize(0, b.iteration);
    short_sides.insert(rs.short_side);
    for (int64_t k = 0; k < b.size(); ++k) {
      const auto& t = b.targets[k];
      const auto& rec = recs[b.indices[k]];
      EXPECT_EQ(t.image_id, rec.image.id);
      EXPECT_EQ(t.orig_height, rec.image.height);
      // All images of a batch use the batch's sampled size.
      const auto hw = data::keep_ratio_size(rec.image.height, rec.image.width, rs);
      EXPECT_EQ(t.height, hw[0]);
      EXPECT_EQ(t.width, hw[1]);
      EXPECT_EQ(b.image_sizes[k], hw);
      EXPECT_EQ(t.boxes.size(0), static_cast<int64_t>(rec.boxes.size()));
      EXPECT_EQ(t.flipped, l.flip_of(0, b.indices[k]));
      // The image in the batch is the transform of the source image.
      const Tensor orig_boxes =
          rec.boxes.empty() ? Tensor::empty({0, 4})
                            : Tensor::from_blob(rec.boxes.data(), {t.boxes.size(0), 4}, DType::f32);
      const auto s = data::transform_sample(synth_image(rec.image), orig_boxes, t.labels, rs,
                                            t.flipped, l.config().transform);
      EXPECT_EQ(s.target.boxes.to_vector<float>(), t.boxes.to_vector<float>());
      EXPECT_EQ(b.images.select(0, k)
                    .narrow(1, 0, hw[0])
                    .narrow(2, 0, hw[1])
                    .contiguous()
                    .to_vector<float>(),
                s.image.to_vector<float>());
      seen.insert(b.indices[k]);
      flips += t.flipped;
      ++images;
    }
  }
  EXPECT_EQ(images, 17);
  EXPECT_EQ(seen.size(), 17u);
  EXPECT_GT(flips, 2);
  EXPECT_LT(flips, 15);
  EXPECT_GE(short_sides.size(), 2u);  // several sizes sampled over 6 batches
}

TEST(DetLoader, EpochPermutation) {
  const auto recs = make_records(50);
  DetLoader a(recs, synth_image, small_config(0));
  DetLoader b(recs, synth_image, small_config(0));
  auto cfg = small_config(0);
  cfg.seed = 8;
  DetLoader c(recs, synth_image, cfg);
  const auto e0 = a.epoch_order(0), e1 = a.epoch_order(1);
  EXPECT_NE(e0, e1);
  EXPECT_EQ(e0, b.epoch_order(0));
  EXPECT_EQ(e1, b.epoch_order(1));
  EXPECT_NE(e0, c.epoch_order(0));
  auto sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(e0, sorted);
}

TEST(DetLoader, EvalModeAndDropLast) {
  const auto recs = make_records(10);
  auto cfg = small_config(2);
  cfg.train = false;
  cfg.drop_last = true;
  DetLoader l(recs, synth_image, cfg);
  EXPECT_EQ(l.num_batches(), 3);
  const auto batches = run_epoch(l, 4);
  ASSERT_EQ(batches.size(), 3u);
  int64_t next = 0;
  for (const auto& b : batches) {
    EXPECT_EQ(b.size(), 3);
    for (int64_t k = 0; k < b.size(); ++k) {
      EXPECT_EQ(b.indices[k], next++);
      EXPECT_FALSE(b.targets[k].flipped);
      const auto hw = data::keep_ratio_size(recs[b.indices[k]].image.height,
                                            recs[b.indices[k]].image.width, {40, 60});
      EXPECT_EQ(b.image_sizes[k], hw);
    }
  }
  cfg.drop_last = false;
  DetLoader l2(recs, synth_image, cfg);
  EXPECT_EQ(l2.num_batches(), 4);
  EXPECT_EQ(run_epoch(l2, 0).back().size(), 1);
}

TEST(DetLoader, ResumeEqualsUninterrupted) {
  const auto recs = make_records(20);
  DetLoader l(recs, synth_image, small_config(2));
  const auto full = run_epoch(l, 3);
  ASSERT_EQ(full.size(), 7u);
  DetLoader resumed(recs, synth_image, small_config(3));
  const auto tail = run_epoch(resumed, 3, 4);
  expect_same(std::vector<DetBatch>(full.begin() + 4, full.end()), tail);
  EXPECT_TRUE(run_epoch(resumed, 3, 7).empty());
  EXPECT_THROW(resumed.start(3, 8), ConfigError);
}

TEST(DetLoader, ImageErrorPropagatesWithFileName) {
  const auto recs = make_records(12);
  auto source = [](const data::CocoImage& im) -> Tensor {
    if (im.id == 1005) throw IOError("[read_image] corrupt JPEG data");
    return synth_image(im);
  };
  for (int workers : {0, 2}) {
    SCOPED_TRACE(workers);
    auto cfg = small_config(workers);
    cfg.train = false;  // index 5 is in batch 1
    DetLoader l(recs, source, cfg);
    l.start(0);
    ASSERT_TRUE(l.next().has_value());
    try {
      l.next();
      ADD_FAILURE() << "no error";
    } catch (const IOError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("[det_loader] image 1005 'img_5.jpg'", 0), 0u) << msg;
      EXPECT_NE(msg.find("corrupt JPEG data"), std::string::npos) << msg;
      EXPECT_NE(msg.find("iteration 1"), std::string::npos) << msg;
    }
    // The loader goes on with the following batches.
    int rest = 0;
    while (auto b = l.next()) ++rest;
    EXPECT_EQ(rest, 2);
    EXPECT_EQ(l.skipped_count(), 0);
  }
}

TEST(DetLoader, SkipPolicyCountsAndDrops) {
  const auto recs = make_records(12);
  std::atomic<int> calls{0};
  auto source = [&](const data::CocoImage& im) -> Tensor {
    ++calls;
    if (im.id == 1004) throw std::runtime_error("truncated file");
    if (im.id == 1007) return Tensor::zeros({2, 2});  // not an image
    if (im.id >= 1009) throw IOError("unreadable");   // the whole last batch
    if (im.id == 1001)
      return synth_image({im.id, im.file_name, im.width + 1, im.height});  // size mismatch
    return synth_image(im);
  };
  for (int workers : {0, 3}) {
    SCOPED_TRACE(workers);
    auto cfg = small_config(workers);
    cfg.train = false;
    cfg.on_bad_image = BadImagePolicy::skip;
    DetLoader l(recs, source, cfg);
    const auto batches = run_epoch(l, 0);
    ASSERT_EQ(batches.size(), 3u);  // the 4th batch lost all its images
    EXPECT_EQ(batches[0].indices, (std::vector<int64_t>{0, 2}));
    EXPECT_EQ(batches[0].skipped, (std::vector<int64_t>{1}));
    EXPECT_EQ(batches[1].indices, (std::vector<int64_t>{3, 5}));
    EXPECT_EQ(batches[2].indices, (std::vector<int64_t>{6, 8}));
    EXPECT_EQ(batches[2].images.size(0), 2);
    EXPECT_EQ(l.skipped_count(), 6);
  }
}

TEST(DetLoader, EarlyStopAndRestartDoNotDeadlock) {
  const auto recs = make_records(40);
  std::vector<DetBatch> first;
  {
    DetLoader l(recs, synth_image, small_config(3));
    l.start(0);
    first.push_back(*l.next());
    // Stop mid-epoch with workers blocked on the bounded queue, restart elsewhere, then destroy
    // while the workers are busy.
    l.start(1, 2);
    auto b = l.next();
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->iteration, 2);
    EXPECT_EQ(b->epoch, 1);
    l.start(0);
    expect_same(first, {*l.next()});
  }
  {
    DetLoader l(recs, synth_image, small_config(2));  // never started
    EXPECT_FALSE(l.next().has_value());
    l.stop();
  }
}

TEST(DetLoader, ConfigErrors) {
  const auto recs = make_records(3);
  auto cfg = small_config(1);
  cfg.batch_size = 0;
  EXPECT_THROW(DetLoader(recs, synth_image, cfg), ConfigError);
  cfg = small_config(1);
  cfg.train_sizes.clear();
  EXPECT_THROW(DetLoader(recs, synth_image, cfg), ConfigError);
  EXPECT_THROW(DetLoader(recs, nullptr, small_config(1)), ConfigError);
  auto bad = recs;
  bad[1].labels.pop_back();
  EXPECT_THROW(DetLoader(bad, synth_image, small_config(1)), ConfigError);
}

TEST(DetLoader, ImageDirSource) {
  std::vector<std::string> paths;
  auto src = data::image_dir_source("/data/coco", [&](const std::string& p) {
    paths.push_back(p);
    return Tensor::zeros({2, 3, 3}, DType::u8);
  });
  data::CocoImage im;
  im.file_name = "val/0001.jpg";
  EXPECT_EQ(src(im).shape(), Shape({2, 3, 3}));
  data::image_dir_source("", [&](const std::string& p) {
    paths.push_back(p);
    return Tensor();
  })(im);
  EXPECT_EQ(paths, (std::vector<std::string>{"/data/coco/val/0001.jpg", "val/0001.jpg"}));
}

TEST(DetLoader, MakeDetRecords) {
  data::CocoDataset ds;
  ds.images = {{5, "a.jpg", 100, 50}, {9, "b.jpg", 30, 40}};
  ds.categories = {{18, "dog", "animal"}, {3, "car", "vehicle"}, {7, "cat", "animal"}};
  ds.annotations = {{1, 9, 7, {1, 2, 3, 4}, 12, false},
                    {2, 5, 18, {10, 20, 5, 6}, 30, false},
                    {3, 5, 3, {0, 0, 50, 25}, 1250, true},  // crowd
                    {4, 9, 3, {4, 4, 0, 5}, 0, false}};     // degenerate
  EXPECT_EQ(data::contiguous_category_ids(ds), (std::vector<int64_t>{3, 7, 18}));
  const auto r = data::make_det_records(ds);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].image.file_name, "a.jpg");
  ASSERT_EQ(r[0].boxes.size(), 1u);
  EXPECT_EQ(r[0].boxes[0], (std::array<float, 4>{10, 20, 15, 26}));
  EXPECT_EQ(r[0].labels, (std::vector<int64_t>{3}));
  EXPECT_EQ(r[1].labels, (std::vector<int64_t>{2}));
  EXPECT_EQ(r[1].boxes[0], (std::array<float, 4>{1, 2, 4, 6}));
  data::DetRecordOptions keep_all{false, false};
  const auto all = data::make_det_records(ds, keep_all);
  EXPECT_EQ(all[0].labels, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(all[1].labels, (std::vector<int64_t>{2, 1}));
  ds.annotations.push_back({5, 77, 3, {0, 0, 1, 1}, 1, false});
  EXPECT_THROW(data::make_det_records(ds), ConfigError);
}

}  // namespace
}  // namespace detforge
