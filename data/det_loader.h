// Multi-threaded prefetching detection loader. Batches are pure functions of (seed, epoch,
// iteration): the epoch's order is a Philox permutation keyed by (seed, epoch), the flip of an
// image by (seed, epoch, dataset index), the batch's training size by (seed, epoch, iteration). So
// the output is identical for any worker count and timing, and resuming at (epoch, iteration)
// continues the uninterrupted sequence. Images come from an ImageSource callback (the decoder
// lives in data/image_io). See docs/data.md, "Transforms and loader".
#pragma once
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "data/coco.h"
#include "data/det_sample.h"
#include "data/det_transforms.h"

namespace detforge::data {

// Returns the decoded image of a COCO image: u8 [H, W, 3] RGB (or [H, W, 1]) on the CPU. Called
// concurrently from the worker threads: it must be thread-safe. Throws on failure (the message
// should say why; the loader adds the image id and file name).
using ImageSource = std::function<Tensor(const CocoImage&)>;

// An ImageSource reading `dir + "/" + image.file_name` with `read` (e.g. data/image_io's
// read_image); an empty dir uses file_name as it is.
DETFORGE_API ImageSource image_dir_source(std::string dir,
                                          std::function<Tensor(const std::string&)> read);

// One image's ground truth in ORIGINAL pixels: boxes xyxy, labels contiguous 1..C.
struct DetRecord {
  CocoImage image;
  std::vector<std::array<float, 4>> boxes;
  std::vector<int64_t> labels;
};

struct DetRecordOptions {
  bool skip_crowd = true;       // drop iscrowd annotations (torchvision/mmdetection training do)
  bool skip_degenerate = true;  // drop boxes with w <= 0 or h <= 0
};

// COCO category ids sorted ascending: label l (1..C) is category id ids[l - 1].
DETFORGE_API std::vector<int64_t> contiguous_category_ids(const CocoDataset& ds);
// One record per image, in ds.images order (images without annotations get empty boxes; dropping
// them is the dataset filter's job). bbox xywh -> xyxy, category id -> contiguous label.
// ConfigError for an annotation whose category or image id is unknown.
DETFORGE_API std::vector<DetRecord> make_det_records(const CocoDataset& ds,
                                                     const DetRecordOptions& opt = {});

// What happens when an image fails (the source throws, or returns a tensor that is not a u8
// [H, W, 3|1] image, or its size differs from a non-zero width/height of the record):
//  raise: the consumer's next() rethrows an IOError "[det_loader] image <id> '<file_name>' (dataset
//         index i, epoch e, iteration k): <reason>" at that batch's turn; the next call goes on
//         with the following batch (prefetched work is kept).
//  skip:  the image is left out of its batch, counted (skipped_count()), listed in
//         DetBatch::skipped and logged once as a spdlog warning with the same text when the batch
//         is consumed. A batch whose images all fail is not yielded (its iteration number is
//         skipped). Errors that are not about an image (bad records, bugs) always raise.
enum class BadImagePolicy { raise, skip };

struct DetLoaderConfig {
  int64_t batch_size = 2;
  // train: shuffled order, random flips, a size sampled per batch from train_sizes (all images of
  // a batch share it: Joint-DetNAS dynamic resolution). eval: dataset order, no flip, eval_size.
  bool train = true;
  bool shuffle = true;  // train only
  double flip_prob = 0.5;
  std::vector<ResizeSize> train_sizes = {{800, 1333}};
  ResizeSize eval_size = {800, 1333};
  bool drop_last = false;  // drop the last, smaller batch of an epoch
  uint64_t seed = 0;
  int num_workers = 2;        // threads building batches; 0 builds them in next() (no threads)
  int prefetch_batches = 4;   // batches built ahead of the consumer (bounded queue), >= 1
  TransformConfig transform;  // rounding, normalisation, size divisor, box clipping
  BadImagePolicy on_bad_image = BadImagePolicy::raise;
};

class DETFORGE_API DetLoader {
 public:
  // ConfigError for batch_size < 1, an empty train_sizes, prefetch_batches < 1, num_workers < 0,
  // flip_prob outside [0, 1].
  DetLoader(std::vector<DetRecord> records, ImageSource source, DetLoaderConfig cfg);
  ~DetLoader();  // stops and joins the workers (also when the consumer stopped early)
  DetLoader(const DetLoader&) = delete;
  DetLoader& operator=(const DetLoader&) = delete;

  int64_t size() const { return static_cast<int64_t>(records_.size()); }
  int64_t num_batches() const;  // per epoch
  const DetLoaderConfig& config() const { return cfg_; }

  // (Re)starts the sequence at (epoch, iteration): stops a running epoch (its prefetched batches
  // are dropped) and starts the workers. iteration in [0, num_batches()].
  void start(int64_t epoch, int64_t iteration = 0);
  // The next batch of the started epoch in order; nullopt at its end (or before start()).
  // Rethrows an image error under BadImagePolicy::raise.
  std::optional<DetBatch> next();
  // Stops the workers and drops prefetched batches (start() again to go on). Idempotent.
  void stop();

  int64_t skipped_count() const { return skipped_total_; }  // images skipped by consumed batches

  // The pure functions behind the sequence (also usable without threads):
  std::vector<int64_t> epoch_order(int64_t epoch) const;  // dataset indices of the epoch, in order
  ResizeSize batch_resize(int64_t epoch, int64_t iteration) const;
  bool flip_of(int64_t epoch, int64_t index) const;
  // Builds batch `iteration` of `epoch` in the calling thread (order given by epoch_order(epoch)).
  // Under the skip policy, failed images go to `messages` (and DetBatch::skipped).
  DetBatch build_batch(int64_t epoch, int64_t iteration, const std::vector<int64_t>& order,
                       std::vector<std::string>* messages = nullptr) const;

 private:
  struct Slot {
    std::optional<DetBatch> batch;
    std::exception_ptr error;
    std::vector<std::string> messages;
  };
  void worker_loop();

  std::vector<DetRecord> records_;
  ImageSource source_;
  DetLoaderConfig cfg_;

  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  std::vector<std::thread> workers_;
  bool running_ = false, stopping_ = false;
  int64_t epoch_ = 0, next_build_ = 0, next_consume_ = 0, end_ = 0;
  std::vector<int64_t> order_;
  std::map<int64_t, Slot> ready_;
  std::atomic<int64_t> skipped_total_{0};
};

}  // namespace detforge::data
