// FMNIST-Det splits and the dataset on disk: parallel composition (one random stream per image),
// PNG files, COCO JSON, the options file.
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "data/coco_json.h"
#include "data/fmnist_det.h"
#include "data/image_io.h"
#include "tensor/error.h"

namespace detforge::data {

std::vector<CocoCategory> fmnist_det_categories() {
  std::vector<CocoCategory> cats;
  for (int64_t k = 0; k < kFashionMnistClasses; ++k)
    cats.push_back({k + 1, fashion_mnist_class_names()[k], "fashion"});
  return cats;
}

CocoDataset generate_fmnist_det_split(const FashionMnist& items, const FmnistDetOptions& o,
                                      const std::string& split, int64_t count,
                                      const std::string& image_dir, int threads) {
  validate(o);
  DF_CHECK(count >= 0, ConfigError, "[fmnist_det] negative image count ", count, " for ", split);
  if (!image_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(image_dir, ec);
    DF_CHECK(!ec, IOError, "[fmnist_det] cannot create ", image_dir, ": ", ec.message());
  }
  std::vector<std::vector<CocoAnnotation>> per_image(static_cast<size_t>(count));
  auto file_name = [](int64_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%06lld.png", static_cast<long long>(i));
    return std::string(buf);
  };
  std::exception_ptr error;
  std::mutex mu;
#ifdef _OPENMP
  const int nt = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 4) num_threads(nt)
#endif
  for (int64_t i = 0; i < count; ++i) {
    try {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (error) continue;
      }
      ComposedImage c = compose_fmnist_det(items, o, split, i);
      if (!image_dir.empty())
        write_png(image_dir + "/" + file_name(i), c.image, /*level=*/1);  // noisy: 1 ~ 6 in size
      per_image[static_cast<size_t>(i)] = std::move(c.objects);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);

  CocoDataset ds;
  ds.categories = fmnist_det_categories();
  int64_t ann_id = 1;
  for (int64_t i = 0; i < count; ++i) {
    ds.images.push_back({i + 1, file_name(i), o.width, o.height});
    for (CocoAnnotation a : per_image[static_cast<size_t>(i)]) {
      a.id = ann_id++;
      a.image_id = i + 1;
      ds.annotations.push_back(a);
    }
  }
  return ds;
}

void write_fmnist_det(const std::string& out_dir, const FmnistDetOptions& o, int64_t train_count,
                      int64_t val_count, const std::string& fmnist_dir, int threads) {
  validate(o);
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(out_dir) / "annotations", ec);
  DF_CHECK(!ec, IOError, "[fmnist_det] cannot create ", out_dir, "/annotations: ", ec.message());
  struct Split {
    const char* name;
    const char* source;
    int64_t count;
  };
  nlohmann::ordered_json meta;
  meta["generator"] = "detforge data fmnist-det";
  meta["options"] = {{"width", o.width},
                     {"height", o.height},
                     {"min_objects", o.min_objects},
                     {"max_objects", o.max_objects},
                     {"min_size", o.min_size},
                     {"max_size", o.max_size},
                     {"max_aspect", o.max_aspect},
                     {"max_iou", o.max_iou},
                     {"min_visible", o.min_visible},
                     {"alpha_threshold", o.alpha_threshold},
                     {"min_pixels", o.min_pixels},
                     {"max_fragments", o.max_fragments},
                     {"noise", o.noise},
                     {"min_contrast", o.min_contrast},
                     {"max_tries", o.max_tries},
                     {"seed", o.seed}};
  for (const Split& s : {Split{"train", "train", train_count}, Split{"val", "test", val_count}}) {
    if (s.count == 0) continue;
    const auto t0 = std::chrono::steady_clock::now();
    const FashionMnist items = load_fashion_mnist(s.source, fmnist_dir);
    const CocoDataset ds = generate_fmnist_det_split(
        items, o, s.name, s.count, (fs::path(out_dir) / s.name).string(), threads);
    save_coco_json(
        ds, (fs::path(out_dir) / "annotations" / (std::string("instances_") + s.name + ".json"))
                .string());
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("[fmnist_det] {}: {} images, {} objects ({} Fashion-MNIST {} items) in {:.1f} s",
                 s.name, ds.images.size(), ds.annotations.size(), items.images.size(0), s.source,
                 secs);
    meta["splits"][s.name] = {{"images", ds.images.size()},
                              {"objects", ds.annotations.size()},
                              {"items_from", std::string("fashion-mnist ") + s.source}};
  }
  std::ofstream f(fs::path(out_dir) / "fmnist_det.json");
  f << meta.dump(2) << "\n";
  DF_CHECK(f.good(), IOError, "[fmnist_det] cannot write ", out_dir, "/fmnist_det.json");
}

}  // namespace detforge::data
