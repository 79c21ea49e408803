// Helpers of the detection CLI tests: running the binary, a tiny generated COCO dataset.
#pragma once
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "data/coco_json.h"
#include "data/image_io.h"
#include "tensor/tensor.h"
#include "tests/test_util.h"

namespace detcli {

namespace fs = std::filesystem;

using detforge::test::CliRun;
using detforge::test::run_cli;

inline std::string slurp(const fs::path& p) {
  return detforge::test::read_file(p.string());
}

inline fs::path scratch(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("detforge_det_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Writes j (indented) to p and returns p.
inline fs::path write_json(const fs::path& p, const nlohmann::json& j) {
  std::ofstream(p) << j.dump(2);
  return p;
}

// n images (sizes vary: 64x48, 40x60, ...) with one or two filled rectangles each, categories 3
// ("square") and 7 ("bar"); PNGs under dir/images, annotations in dir/<name>.json.
inline fs::path make_dataset(const fs::path& dir, const std::string& name, int n) {
  using detforge::DType;
  using detforge::Tensor;
  fs::create_directories(dir / "images");
  nlohmann::json j;
  j["images"] = nlohmann::json::array();
  j["annotations"] = nlohmann::json::array();
  j["categories"] = {{{"id", 3}, {"name", "square"}, {"supercategory", "shape"}},
                     {{"id", 7}, {"name", "bar"}, {"supercategory", "shape"}}};
  int64_t ann_id = 1;
  for (int i = 0; i < n; ++i) {
    const int64_t h = 40 + 8 * (i % 3), w = 48 + 12 * (i % 2);
    Tensor img = Tensor::empty({h, w, 3}, DType::u8);
    uint8_t* p = img.data<uint8_t>();
    for (int64_t k = 0; k < h * w * 3; ++k) p[k] = static_cast<uint8_t>(20 + (k * 7 + i) % 30);
    std::vector<std::array<int64_t, 4>> boxes{{4 + i % 5, 6, 20 + i % 5, 22}};
    if (i % 2) boxes.push_back({w - 20, h - 12, w - 4, h - 6});
    for (size_t b = 0; b < boxes.size(); ++b) {
      const auto& bx = boxes[b];
      for (int64_t y = bx[1]; y < bx[3]; ++y)
        for (int64_t x = bx[0]; x < bx[2]; ++x)
          for (int c = 0; c < 3; ++c) p[(y * w + x) * 3 + c] = b == 0 ? 220 : 120;
      j["annotations"].push_back({{"id", ann_id++},
                                  {"image_id", 100 + i},
                                  {"category_id", b == 0 ? 3 : 7},
                                  {"bbox", {bx[0], bx[1], bx[2] - bx[0], bx[3] - bx[1]}},
                                  {"area", (bx[2] - bx[0]) * (bx[3] - bx[1])},
                                  {"iscrowd", 0}});
    }
    const std::string file = name + "_" + std::to_string(i) + ".png";
    detforge::data::write_png((dir / "images" / file).string(), img);
    j["images"].push_back({{"id", 100 + i}, {"file_name", file}, {"width", w}, {"height", h}});
  }
  const fs::path ann = dir / (name + ".json");
  std::ofstream(ann) << j.dump();
  return ann;
}

}  // namespace detcli
