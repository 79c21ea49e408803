#include "data/coco_json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unordered_map>

#include "tensor/error.h"

namespace detforge::data {
namespace {

using json = nlohmann::json;

const char* type_of(const json& v) {
  return v.type_name();
}

// Reads typed values of one JSON object, naming "<origin>: <path>.<key>" in errors.
class Reader {
 public:
  Reader(const json& obj, std::string path, const std::string& origin)
      : obj_(obj), path_(std::move(path)), origin_(origin) {
    if (!obj_.is_object()) fail_at(path_, "expected an object", obj_);
  }
  std::string key_path(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  bool has(const char* key) const { return obj_.contains(key); }
  const json& at(const char* key) const {
    auto it = obj_.find(key);
    if (it == obj_.end())
      throw ConfigError(str_cat("[coco_json] ", origin_, ": ", key_path(key), ": missing"));
    return *it;
  }
  int64_t get_int(const char* key) const { return as_int(at(key), key_path(key)); }
  std::string get_string(const char* key) const {
    const json& v = at(key);
    if (!v.is_string()) fail_at(key_path(key), "expected a string", v);
    return v.get<std::string>();
  }
  double get_number(const char* key) const {
    const json& v = at(key);
    if (!v.is_number()) fail_at(key_path(key), "expected a number", v);
    return v.get<double>();
  }
  int64_t as_int(const json& v, const std::string& path) const {
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {  // 640.0 is accepted, 640.5 is not
      const double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15)
        return static_cast<int64_t>(d);
    }
    fail_at(path, "expected an integer", v);
  }
  [[noreturn]] void fail_at(const std::string& path, const std::string& what,
                            const json& got) const {
    std::string shown = got.dump();
    if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
    throw ConfigError(str_cat("[coco_json] ", origin_, ": ", path.empty() ? "(top level)" : path,
                              ": ", what, ", got ", type_of(got), " ", shown));
  }

 private:
  const json& obj_;
  std::string path_;
  const std::string& origin_;
};

const json& array_at(const Reader& top, const char* key, const std::string& origin) {
  const json& v = top.at(key);
  if (!v.is_array()) top.fail_at(key, "expected an array", v);
  return v;
}

std::string elem(const char* key, size_t i) {
  return str_cat(key, "[", i, "]");
}

}  // namespace

CocoDataset coco_from_json(const json& j, const std::string& origin) {
  Reader top(j, "", origin);
  CocoDataset ds;

  std::unordered_map<int64_t, size_t> image_at, cat_at, ann_at;
  const json& images = array_at(top, "images", origin);
  ds.images.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    Reader r(images[i], elem("images", i), origin);
    CocoImage im;
    im.id = r.get_int("id");
    im.file_name = r.get_string("file_name");
    im.width = r.get_int("width");
    im.height = r.get_int("height");
    if (im.width <= 0) r.fail_at(r.key_path("width"), "expected a positive size", r.at("width"));
    if (im.height <= 0) r.fail_at(r.key_path("height"), "expected a positive size", r.at("height"));
    auto [it, fresh] = image_at.emplace(im.id, i);
    DF_CHECK(fresh, ConfigError, "[coco_json] ", origin, ": ", r.key_path("id"),
             ": duplicate image id ", im.id, " (also images[", it->second, "].id)");
    ds.images.push_back(std::move(im));
  }

  const json& cats = array_at(top, "categories", origin);
  for (size_t i = 0; i < cats.size(); ++i) {
    Reader r(cats[i], elem("categories", i), origin);
    CocoCategory c;
    c.id = r.get_int("id");
    c.name = r.get_string("name");
    if (r.has("supercategory")) c.supercategory = r.get_string("supercategory");
    auto [it, fresh] = cat_at.emplace(c.id, i);
    DF_CHECK(fresh, ConfigError, "[coco_json] ", origin, ": ", r.key_path("id"),
             ": duplicate category id ", c.id, " (also categories[", it->second, "].id)");
    ds.categories.push_back(std::move(c));
  }

  if (top.has("annotations")) {
    const json& anns = array_at(top, "annotations", origin);
    ds.annotations.reserve(anns.size());
    for (size_t i = 0; i < anns.size(); ++i) {
      Reader r(anns[i], elem("annotations", i), origin);
      CocoAnnotation a;
      a.id = r.get_int("id");
      a.image_id = r.get_int("image_id");
      a.category_id = r.get_int("category_id");
      const json& bb = r.at("bbox");
      if (!bb.is_array() || bb.size() != 4)
        r.fail_at(r.key_path("bbox"), "expected [x, y, w, h]", bb);
      for (size_t k = 0; k < 4; ++k) {
        if (!bb[k].is_number())
          r.fail_at(str_cat(r.key_path("bbox"), "[", k, "]"), "expected a number", bb[k]);
        a.bbox[k] = bb[k].get<double>();
      }
      a.area = r.has("area") ? r.get_number("area") : a.bbox[2] * a.bbox[3];
      if (r.has("iscrowd")) {
        const json& c = r.at("iscrowd");
        if (c.is_boolean()) {
          a.iscrowd = c.get<bool>();
        } else {
          const int64_t v = r.as_int(c, r.key_path("iscrowd"));
          if (v != 0 && v != 1) r.fail_at(r.key_path("iscrowd"), "expected 0 or 1", c);
          a.iscrowd = v == 1;
        }
      }
      auto [it, fresh] = ann_at.emplace(a.id, i);
      DF_CHECK(fresh, ConfigError, "[coco_json] ", origin, ": ", r.key_path("id"),
               ": duplicate annotation id ", a.id, " (also annotations[", it->second, "].id)");
      DF_CHECK(image_at.count(a.image_id), ConfigError, "[coco_json] ", origin, ": ",
               r.key_path("image_id"), ": unknown image id ", a.image_id);
      DF_CHECK(cat_at.count(a.category_id), ConfigError, "[coco_json] ", origin, ": ",
               r.key_path("category_id"), ": unknown category id ", a.category_id);
      ds.annotations.push_back(a);
    }
  }
  return ds;
}

CocoDataset parse_coco_json(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based: the byte at which parsing stopped.
    const size_t byte = e.byte;
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw IOError(str_cat("[coco_json] ", origin, ": malformed JSON at line ", line, ", column ",
                          col, " (byte ", byte, "): ", e.what()));
  }
  return coco_from_json(j, origin);
}

CocoDataset load_coco_json(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  DF_CHECK(f.good(), IOError, "[coco_json] cannot open ", path, ": ", std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  DF_CHECK(!f.bad(), IOError, "[coco_json] error reading ", path);
  return parse_coco_json(text, path);
}

nlohmann::ordered_json coco_to_json(const CocoDataset& ds) {
  using oj = nlohmann::ordered_json;
  oj images = oj::array(), anns = oj::array(), cats = oj::array();
  for (const auto& im : ds.images)
    images.push_back(
        {{"id", im.id}, {"file_name", im.file_name}, {"width", im.width}, {"height", im.height}});
  for (const auto& a : ds.annotations)
    anns.push_back({{"id", a.id},
                    {"image_id", a.image_id},
                    {"category_id", a.category_id},
                    {"bbox", {a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]}},
                    {"area", a.area},
                    {"iscrowd", a.iscrowd ? 1 : 0}});
  for (const auto& c : ds.categories)
    cats.push_back({{"id", c.id}, {"name", c.name}, {"supercategory", c.supercategory}});
  oj j;
  j["images"] = std::move(images);
  j["annotations"] = std::move(anns);
  j["categories"] = std::move(cats);
  return j;
}

void save_coco_json(const CocoDataset& ds, const std::string& path) {
  const std::string text = coco_to_json(ds).dump();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    DF_CHECK(f.good(), IOError, "[coco_json] cannot write ", path, ": ", std::strerror(errno));
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.close();
    DF_CHECK(f.good(), IOError, "[coco_json] error writing ", tmp);
  }
  DF_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, IOError, "[coco_json] cannot rename ", tmp,
           " to ", path, ": ", std::strerror(errno));
}

}  // namespace detforge::data
