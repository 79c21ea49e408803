#include "data/voc_to_coco.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <pugixml.hpp>

#include "tensor/error.h"

namespace detforge::data {
namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

struct Ctx {
  const std::string& file;
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw ConfigError(str_cat("[voc2coco] ", file, ": ", path, ": ", what));
  }
  std::string text(const pugi::xml_node& parent, const char* name, const std::string& path) const {
    pugi::xml_node n = parent.child(name);
    if (!n) fail(path + "/" + name, "missing");
    return trim(n.text().as_string());
  }
  double number(const pugi::xml_node& parent, const char* name, const std::string& path) const {
    const std::string t = text(parent, name, path);
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (t.empty() || *end != '\0') fail(path + "/" + name, "expected a number, got '" + t + "'");
    return v;
  }
};

}  // namespace

const std::array<const char*, 20>& voc_class_names() {
  static const std::array<const char*, 20> names = {
      "aeroplane", "bicycle",     "bird",  "boat",        "bottle", "bus",      "car",
      "cat",       "chair",       "cow",   "diningtable", "dog",    "horse",    "motorbike",
      "person",    "pottedplant", "sheep", "sofa",        "train",  "tvmonitor"};
  return names;
}

void append_voc_xml(CocoDataset& ds, const std::string& xml_path, int64_t image_id,
                    const VocToCocoOptions& options) {
  pugi::xml_document doc;
  const pugi::xml_parse_result res = doc.load_file(xml_path.c_str());
  if (res.status == pugi::status_file_not_found || res.status == pugi::status_io_error)
    throw IOError(str_cat("[voc2coco] cannot read ", xml_path, ": ", res.description()));
  DF_CHECK(res, IOError, "[voc2coco] ", xml_path, ": malformed XML at byte ", res.offset, ": ",
           res.description());
  const Ctx c{xml_path};
  pugi::xml_node ann = doc.child("annotation");
  if (!ann) c.fail("annotation", "missing (not a VOC annotation file)");

  CocoImage im;
  im.id = image_id;
  im.file_name = c.text(ann, "filename", "annotation");
  pugi::xml_node size = ann.child("size");
  if (!size) c.fail("annotation/size", "missing");
  im.width = static_cast<int64_t>(c.number(size, "width", "annotation/size"));
  im.height = static_cast<int64_t>(c.number(size, "height", "annotation/size"));
  if (im.width <= 0 || im.height <= 0)
    c.fail("annotation/size", str_cat("expected a positive size, got ", im.width, "x", im.height));

  const auto& names = voc_class_names();
  int64_t k = 0;
  for (pugi::xml_node obj : ann.children("object")) {
    const std::string path = str_cat("annotation/object[", k++, "]");
    const std::string name = c.text(obj, "name", path);
    int64_t cat = 0;
    for (size_t i = 0; i < names.size(); ++i)
      if (name == names[i]) cat = static_cast<int64_t>(i) + 1;
    if (!cat) c.fail(path + "/name", "unknown VOC class '" + name + "'");
    bool difficult = false;
    if (obj.child("difficult")) difficult = c.number(obj, "difficult", path) != 0;
    if (difficult && options.difficult == VocDifficult::drop) continue;
    pugi::xml_node bb = obj.child("bndbox");
    if (!bb) c.fail(path + "/bndbox", "missing");
    const std::string bpath = path + "/bndbox";
    const double xmin = c.number(bb, "xmin", bpath), ymin = c.number(bb, "ymin", bpath);
    const double xmax = c.number(bb, "xmax", bpath), ymax = c.number(bb, "ymax", bpath);
    CocoAnnotation a;
    a.id = static_cast<int64_t>(ds.annotations.size()) + 1;
    a.image_id = image_id;
    a.category_id = cat;
    a.bbox = {xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1};
    a.area = a.bbox[2] * a.bbox[3];
    a.iscrowd = difficult && options.difficult == VocDifficult::crowd;
    ds.annotations.push_back(a);
  }
  ds.images.push_back(std::move(im));
}

CocoDataset voc_to_coco(const std::string& voc_dir, const std::string& split,
                        const VocToCocoOptions& options) {
  const std::string list = voc_dir + "/ImageSets/Main/" + split + ".txt";
  std::ifstream f(list);
  DF_CHECK(f.good(), IOError, "[voc2coco] cannot open ", list, ": ", std::strerror(errno));
  CocoDataset ds;
  const auto& names = voc_class_names();
  for (size_t i = 0; i < names.size(); ++i)
    ds.categories.push_back({static_cast<int64_t>(i) + 1, names[i], ""});
  std::string line;
  int64_t n = 0;
  while (std::getline(f, line)) {
    std::string id = trim(line);
    id = id.substr(0, id.find_first_of(" \t"));  // "<id>" (or "<id> <flag>" in per-class lists)
    if (id.empty()) continue;
    append_voc_xml(ds, voc_dir + "/Annotations/" + id + ".xml", ++n, options);
  }
  return ds;
}

}  // namespace detforge::data
