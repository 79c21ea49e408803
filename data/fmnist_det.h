// FMNIST-Det: the embedded default detection dataset. Fashion-MNIST items (train split items for
// "train", test split items for "val") composed onto RGB canvases with tight boxes, occlusion,
// distractor fragments and noise; deterministic per (seed, split, index). docs/data.md describes
// the generator and every option.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/coco.h"
#include "data/fashion_mnist.h"
#include "tensor/tensor.h"

namespace detforge::data {

struct FmnistDetOptions {
  int64_t width = 128, height = 128;         // canvas
  int64_t min_objects = 1, max_objects = 6;  // per image, uniform
  int64_t min_size = 14, max_size = 56;  // side of the scaled 28x28 item frame, uniform (pixels)
  double max_aspect = 1.25;              // frame w/h log-uniform in [1/a, a] (1 = square)
  double max_iou = 0.3;                  // pairwise IoU bound of the final (visible) boxes
  double min_visible = 0.5;              // an object keeps >= this fraction of its own pixels
  double alpha_threshold = 0.25;         // a pixel is an object's where its visible alpha >= this
  int64_t min_pixels = 20;     // an object keeps >= this many visible pixels (no 3x1 slivers)
  int64_t max_fragments = 3;   // unboxed item fragments per image, uniform 0..max
  double noise = 0.03;         // Gaussian pixel noise std (1 = full intensity range)
  double min_contrast = 0.25;  // tint vs background colour distance sought (RGB, 0..sqrt(3))
  int64_t max_tries = 100;     // placements tried per object before giving up on it
  uint64_t seed = 0;
};

// ConfigError naming the option ("[fmnist_det] max_size ...") for inconsistent options.
DETFORGE_API void validate(const FmnistDetOptions& o);

struct ComposedImage {
  Tensor image;                               // u8 [H, W, 3]
  std::vector<CocoAnnotation> objects;        // draw order; bbox, area, category_id set (ids 0)
  std::vector<int64_t> item_index;            // the Fashion-MNIST item of each object
  std::vector<std::array<int64_t, 4>> frame;  // each item's scaled 28x28 frame: x0, y0, w, h
  std::vector<Tensor> alpha;  // with keep_alpha: f32 [H, W] per object, before occlusion
};

// Composes image `index` of `split` (any name; "train"/"val" by convention) from `items`.
// Deterministic in (options.seed, split, index); independent of threads and of other images.
DETFORGE_API ComposedImage compose_fmnist_det(const FashionMnist& items, const FmnistDetOptions& o,
                                              const std::string& split, int64_t index,
                                              bool keep_alpha = false);

// Images 0..count-1 of a split as a COCO dataset (image id = index + 1, file_name "%06d.png",
// annotation ids 1.. in image order, categories 1..10 = Fashion-MNIST labels 0..9 + 1). Writes the
// PNGs into image_dir when it is not empty. threads <= 0: OpenMP's default.
DETFORGE_API CocoDataset generate_fmnist_det_split(const FashionMnist& items,
                                                   const FmnistDetOptions& o,
                                                   const std::string& split, int64_t count,
                                                   const std::string& image_dir, int threads = 0);

// The whole dataset: out_dir/{train,val}/%06d.png, out_dir/annotations/instances_{train,val}.json
// and out_dir/fmnist_det.json (the options and counts). Items from load_fashion_mnist(fmnist_dir).
DETFORGE_API void write_fmnist_det(const std::string& out_dir, const FmnistDetOptions& o,
                                   int64_t train_count, int64_t val_count,
                                   const std::string& fmnist_dir = "", int threads = 0);

// The 10 categories (ids 1..10, Fashion-MNIST class names, supercategory "fashion").
DETFORGE_API std::vector<CocoCategory> fmnist_det_categories();

}  // namespace detforge::data
