#include "detection/run_io.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "tensor/error.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace detforge::detection {

Tensor load_image_file(const std::string& path) {
  int w = 0, h = 0, c = 0;
  unsigned char* px = stbi_load(path.c_str(), &w, &h, &c, 3);
  if (!px) throw IOError(str_cat("[read_image] ", path, ": ", stbi_failure_reason()));
  Tensor t = Tensor::empty({h, w, 3}, DType::u8);
  std::copy(px, px + static_cast<size_t>(w) * h * 3, t.data<uint8_t>());
  stbi_image_free(px);
  return t;
}

void save_png_file(const std::string& path, const Tensor& hwc_u8) {
  DF_CHECK(
      hwc_u8.defined() && hwc_u8.dtype() == DType::u8 && hwc_u8.dim() == 3 && hwc_u8.size(2) == 3,
      ShapeError, "[write_png] expected a u8 [H, W, 3] image");
  Tensor c = hwc_u8.contiguous();
  const int w = static_cast<int>(c.size(1)), h = static_cast<int>(c.size(0));
  if (!stbi_write_png(path.c_str(), w, h, 3, c.data<uint8_t>(), w * 3))
    throw IOError(str_cat("[write_png] cannot write ", path));
}

data::CocoDataset load_coco_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw IOError(str_cat("[coco] cannot open ", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw IOError(str_cat("[coco] ", path, ": invalid JSON: ", e.what()));
  }
  data::CocoDataset ds;
  try {
    for (const auto& im : j.at("images")) {
      data::CocoImage m;
      m.id = im.at("id").get<int64_t>();
      m.file_name = im.value("file_name", "");
      m.width = im.value("width", int64_t{0});
      m.height = im.value("height", int64_t{0});
      ds.images.push_back(m);
    }
    for (const auto& an : j.value("annotations", nlohmann::json::array())) {
      data::CocoAnnotation a;
      a.id = an.at("id").get<int64_t>();
      a.image_id = an.at("image_id").get<int64_t>();
      a.category_id = an.at("category_id").get<int64_t>();
      const auto& b = an.at("bbox");
      for (int k = 0; k < 4; ++k) a.bbox[k] = b.at(k).get<double>();
      a.area = an.contains("area") ? an["area"].get<double>() : a.bbox[2] * a.bbox[3];
      a.iscrowd = an.value("iscrowd", 0) != 0;
      ds.annotations.push_back(a);
    }
    for (const auto& ca : j.at("categories")) {
      data::CocoCategory c;
      c.id = ca.at("id").get<int64_t>();
      c.name = ca.value("name", "");
      c.supercategory = ca.value("supercategory", "");
      ds.categories.push_back(c);
    }
  } catch (const nlohmann::json::exception& e) {
    throw IOError(str_cat("[coco] ", path, ": ", e.what()));
  }
  return ds;
}

}  // namespace detforge::detection
