#include "data/det_loader.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "tensor/error.h"
#include "tensor/philox.h"

namespace detforge::data {
namespace {

// Philox streams of the loader: counter (index low, index high, epoch, stream), key = seed.
enum Stream : uint32_t { kPermutation = 1, kFlip = 2, kSize = 3 };

philox::Block draw(uint64_t seed, Stream stream, int64_t epoch, int64_t index) {
  philox::Block ctr;
  ctr.w[0] = static_cast<uint32_t>(static_cast<uint64_t>(index));
  ctr.w[1] = static_cast<uint32_t>(static_cast<uint64_t>(index) >> 32);
  ctr.w[2] = static_cast<uint32_t>(static_cast<uint64_t>(epoch));
  ctr.w[3] = stream;
  return philox::philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Checks what the image source returned; "" when fine, else the reason.
std::string image_problem(const Tensor& img, const CocoImage& meta) {
  if (!img.defined()) return "the image source returned no tensor";
  if (img.dtype() != DType::u8 || img.dim() != 3 || (img.size(2) != 3 && img.size(2) != 1) ||
      img.is_cuda())
    return str_cat("expected a CPU u8 image [H, W, 3], got ", dtype_name(img.dtype()), " ",
                   shape_str(img.shape()), img.is_cuda() ? " on CUDA" : "");
  if (img.size(0) <= 0 || img.size(1) <= 0) return str_cat("empty image ", shape_str(img.shape()));
  if ((meta.height > 0 && meta.height != img.size(0)) ||
      (meta.width > 0 && meta.width != img.size(1)))
    return str_cat("decoded ", img.size(1), "x", img.size(0), " (WxH) but the dataset says ",
                   meta.width, "x", meta.height);
  return "";
}

}  // namespace

ImageSource image_dir_source(std::string dir, std::function<Tensor(const std::string&)> read) {
  DF_CHECK(static_cast<bool>(read), ConfigError, "[image_dir_source] no reader");
  return [dir = std::move(dir), read = std::move(read)](const CocoImage& im) {
    return read(dir.empty() ? im.file_name : dir + "/" + im.file_name);
  };
}

std::vector<int64_t> contiguous_category_ids(const CocoDataset& ds) {
  std::vector<int64_t> ids;
  for (const auto& c : ds.categories) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<DetRecord> make_det_records(const CocoDataset& ds, const DetRecordOptions& opt) {
  const auto cat_ids = contiguous_category_ids(ds);
  std::unordered_map<int64_t, int64_t> label_of, record_of;
  for (size_t i = 0; i < cat_ids.size(); ++i) label_of[cat_ids[i]] = static_cast<int64_t>(i) + 1;
  std::vector<DetRecord> out(ds.images.size());
  for (size_t i = 0; i < ds.images.size(); ++i) {
    out[i].image = ds.images[i];
    record_of[ds.images[i].id] = static_cast<int64_t>(i);
  }
  for (const auto& a : ds.annotations) {
    auto img = record_of.find(a.image_id);
    DF_CHECK(img != record_of.end(), ConfigError, "[make_det_records] annotation ", a.id,
             " refers to unknown image ", a.image_id);
    auto lab = label_of.find(a.category_id);
    DF_CHECK(lab != label_of.end(), ConfigError, "[make_det_records] annotation ", a.id,
             " refers to unknown category ", a.category_id);
    if (opt.skip_crowd && a.iscrowd) continue;
    const double x = a.bbox[0], y = a.bbox[1], w = a.bbox[2], h = a.bbox[3];
    if (opt.skip_degenerate && !(w > 0 && h > 0)) continue;
    DetRecord& r = out[img->second];
    r.boxes.push_back({static_cast<float>(x), static_cast<float>(y), static_cast<float>(x + w),
                       static_cast<float>(y + h)});
    r.labels.push_back(lab->second);
  }
  return out;
}

DetLoader::DetLoader(std::vector<DetRecord> records, ImageSource source, DetLoaderConfig cfg)
    : records_(std::move(records)), source_(std::move(source)), cfg_(std::move(cfg)) {
  DF_CHECK(cfg_.batch_size >= 1, ConfigError, "[det_loader] batch_size must be >= 1, got ",
           cfg_.batch_size);
  DF_CHECK(!cfg_.train_sizes.empty(), ConfigError, "[det_loader] train_sizes is empty");
  DF_CHECK(cfg_.prefetch_batches >= 1, ConfigError,
           "[det_loader] prefetch_batches must be >= 1, got ", cfg_.prefetch_batches);
  DF_CHECK(cfg_.num_workers >= 0, ConfigError, "[det_loader] num_workers must be >= 0, got ",
           cfg_.num_workers);
  DF_CHECK(cfg_.flip_prob >= 0 && cfg_.flip_prob <= 1, ConfigError,
           "[det_loader] flip_prob must be in [0, 1], got ", cfg_.flip_prob);
  DF_CHECK(static_cast<bool>(source_), ConfigError, "[det_loader] no image source");
  for (const auto& s : cfg_.train_sizes)
    DF_CHECK(s.short_side > 0 && s.long_side > 0, ConfigError, "[det_loader] train size (",
             s.short_side, ", ", s.long_side, ") must be positive");
  for (const auto& r : records_)
    DF_CHECK(r.boxes.size() == r.labels.size(), ConfigError, "[det_loader] image ", r.image.id,
             " has ", r.boxes.size(), " boxes but ", r.labels.size(), " labels");
}

DetLoader::~DetLoader() {
  stop();
}

int64_t DetLoader::num_batches() const {
  const int64_t n = size(), b = cfg_.batch_size;
  return cfg_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> DetLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(records_.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  if (!cfg_.train || !cfg_.shuffle) return order;
  // Fisher-Yates, the swap partner of position i drawn from (seed, epoch, i).
  for (int64_t i = static_cast<int64_t>(order.size()) - 1; i > 0; --i) {
    const int64_t j = philox::randint(draw(cfg_.seed, kPermutation, epoch, i), 0, i + 1);
    std::swap(order[i], order[j]);
  }
  return order;
}

ResizeSize DetLoader::batch_resize(int64_t epoch, int64_t iteration) const {
  if (!cfg_.train) return cfg_.eval_size;
  const int64_t n = static_cast<int64_t>(cfg_.train_sizes.size());
  if (n == 1) return cfg_.train_sizes[0];
  return cfg_.train_sizes[philox::randint(draw(cfg_.seed, kSize, epoch, iteration), 0, n)];
}

bool DetLoader::flip_of(int64_t epoch, int64_t index) const {
  if (!cfg_.train || cfg_.flip_prob <= 0) return false;
  return philox::bernoulli(draw(cfg_.seed, kFlip, epoch, index), cfg_.flip_prob);
}

DetBatch DetLoader::build_batch(int64_t epoch, int64_t iteration, const std::vector<int64_t>& order,
                                std::vector<std::string>* messages) const {
  DF_CHECK(iteration >= 0 && iteration < num_batches(), ConfigError, "[det_loader] iteration ",
           iteration, " outside the epoch's ", num_batches(), " batches");
  DF_CHECK(order.size() == records_.size(), ConfigError, "[det_loader] order of ", order.size(),
           " indices for a dataset of ", records_.size());
  const int64_t begin = iteration * cfg_.batch_size;
  const int64_t end = std::min<int64_t>(size(), begin + cfg_.batch_size);
  const ResizeSize rsize = batch_resize(epoch, iteration);
  struct Item {
    int64_t index;
    Tensor image;
    int64_t h, w;
    bool flip;
  };
  std::vector<Item> items;
  DetBatch batch;
  batch.epoch = epoch;
  batch.iteration = iteration;
  for (int64_t p = begin; p < end; ++p) {
    const int64_t idx = order[p];
    const DetRecord& rec = records_[idx];
    std::string reason;
    Tensor img;
    try {
      img = source_(rec.image);
      reason = image_problem(img, rec.image);
      if (reason.empty()) img = img.contiguous();
    } catch (const std::exception& e) {
      reason = e.what();
    } catch (...) {
      reason = "unknown error";
    }
    if (!reason.empty()) {
      std::string msg = str_cat("[det_loader] image ", rec.image.id, " '", rec.image.file_name,
                                "' (dataset index ", idx, ", epoch ", epoch, ", iteration ",
                                iteration, "): ", reason);
      if (cfg_.on_bad_image == BadImagePolicy::raise) throw IOError(msg);
      batch.skipped.push_back(idx);
      if (messages) messages->push_back(std::move(msg));
      continue;
    }
    const auto hw = keep_ratio_size(img.size(0), img.size(1), rsize, cfg_.transform.rounding);
    items.push_back({idx, std::move(img), hw[0], hw[1], flip_of(epoch, idx)});
  }
  if (items.empty()) return batch;

  std::vector<std::array<int64_t, 2>> sizes;
  for (const auto& it : items) sizes.push_back({it.h, it.w});
  const auto HW = padded_size(sizes, cfg_.transform.size_divisor);
  const int64_t B = static_cast<int64_t>(items.size()), H = HW[0], W = HW[1];
  batch.images = Tensor::empty({B, 3, H, W}, DType::f32);
  float* dst = batch.images.data<float>();
  for (int64_t i = 0; i < B; ++i) {
    const Item& it = items[i];
    const DetRecord& rec = records_[it.index];
    float* d = dst + i * 3 * H * W;
    resize_flip_normalize_u8(it.image.data<uint8_t>(), it.image.size(0), it.image.size(1),
                             it.image.size(2), d, it.h, it.w, W, H * W, it.flip,
                             cfg_.transform.normalize);
    zero_padding(d, 3, H, W, it.h, it.w);
    const int64_t n = static_cast<int64_t>(rec.boxes.size());
    Tensor boxes = Tensor::empty({n, 4}, DType::f32), labels = Tensor::empty({n}, DType::i64);
    if (n > 0) {
      std::copy_n(rec.boxes.data()->data(), 4 * n, boxes.data<float>());
      std::copy_n(rec.labels.data(), n, labels.data<int64_t>());
    }
    DetTarget t = transform_target(boxes, labels, it.image.size(0), it.image.size(1), it.h, it.w,
                                   it.flip, cfg_.transform);
    t.image_id = rec.image.id;
    t.file_name = rec.image.file_name;
    batch.targets.push_back(std::move(t));
    batch.image_sizes.push_back({it.h, it.w});
    batch.indices.push_back(it.index);
  }
  return batch;
}

void DetLoader::start(int64_t epoch, int64_t iteration) {
  stop();
  DF_CHECK(epoch >= 0, ConfigError, "[det_loader] epoch must be >= 0, got ", epoch);
  DF_CHECK(iteration >= 0 && iteration <= num_batches(), ConfigError,
           "[det_loader] cannot start at iteration ", iteration, " of an epoch of ", num_batches(),
           " batches");
  order_ = epoch_order(epoch);
  epoch_ = epoch;
  next_build_ = next_consume_ = iteration;
  end_ = num_batches();
  running_ = true;
  try {
    for (int i = 0; i < cfg_.num_workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  } catch (...) {
    stop();
    throw;
  }
}

void DetLoader::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  std::lock_guard<std::mutex> lk(mu_);
  ready_.clear();
  running_ = false;
  stopping_ = false;
}

void DetLoader::worker_loop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    work_cv_.wait(lk, [&] {
      return stopping_ || next_build_ >= end_ ||
             next_build_ < next_consume_ + cfg_.prefetch_batches;
    });
    if (stopping_ || next_build_ >= end_) return;
    const int64_t k = next_build_++;
    const int64_t epoch = epoch_;
    lk.unlock();
    Slot s;
    try {
      s.batch = build_batch(epoch, k, order_, &s.messages);
    } catch (...) {
      s.error = std::current_exception();
    }
    lk.lock();
    ready_[k] = std::move(s);
    ready_cv_.notify_all();
  }
}

std::optional<DetBatch> DetLoader::next() {
  while (true) {
    Slot s;
    if (cfg_.num_workers == 0) {
      if (!running_ || next_consume_ >= end_) return std::nullopt;
      const int64_t k = next_consume_++;
      try {
        s.batch = build_batch(epoch_, k, order_, &s.messages);
      } catch (...) {
        s.error = std::current_exception();
      }
    } else {
      std::unique_lock<std::mutex> lk(mu_);
      if (!running_ || next_consume_ >= end_) return std::nullopt;
      ready_cv_.wait(lk, [&] { return ready_.count(next_consume_) > 0; });
      auto it = ready_.find(next_consume_);
      s = std::move(it->second);
      ready_.erase(it);
      ++next_consume_;
      lk.unlock();
      work_cv_.notify_all();
    }
    for (const auto& m : s.messages) spdlog::warn("{}", m);
    if (s.batch) skipped_total_ += static_cast<int64_t>(s.batch->skipped.size());
    if (s.error) std::rethrow_exception(s.error);
    if (s.batch && s.batch->size() > 0) return std::move(s.batch);
  }
}

}  // namespace detforge::data
