// COCO JSON: round trip, every error path (message names the file and the key path), the training
// filter's counts and the category map.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "data/coco_json.h"
#include "tensor/error.h"

namespace detforge {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json sample() {
  return json::parse(R"({
    "info": {"description": "ignored"},
    "images": [{"id": 7, "file_name": "a.png", "width": 100, "height": 80},
               {"id": 9, "file_name": "b.jpg", "width": 50.0, "height": 40, "license": 3}],
    "annotations": [
      {"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 20, 30.5, 40], "area": 999, "iscrowd": 0,
       "segmentation": [[1, 2, 3, 4]]},
      {"id": 2, "image_id": 9, "category_id": 5, "bbox": [0, 0, 5, 5], "iscrowd": 1},
      {"id": 3, "image_id": 9, "category_id": 3, "bbox": [1, 1, 0, 5], "iscrowd": true},
      {"id": 4, "image_id": 7, "category_id": 5, "bbox": [-10, 70, 30, 20]},
      {"id": 5, "image_id": 7, "category_id": 5, "bbox": [100, 10, 5, 5]},
      {"id": 6, "image_id": 9, "category_id": 3, "bbox": [5, 5, -2, 3]},
      {"id": 7, "image_id": 9, "category_id": 3, "bbox": [1, 1, 0.5, 3]}
    ],
    "categories": [{"id": 5, "name": "cat", "supercategory": "animal"}, {"id": 3, "name": "dog"}]
  })");
}

class CocoJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("detforge_coco_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // Expects load_coco_json of `text` to throw E naming the file and containing every part.
  template <class E>
  void expect_error(const std::string& text, std::initializer_list<std::string> parts) {
    const std::string p = write("bad.json", text);
    try {
      data::load_coco_json(p);
      ADD_FAILURE() << "no error for " << text.substr(0, 200);
    } catch (const E& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("[coco_json] ", 0), 0u) << msg;
      EXPECT_NE(msg.find(p), std::string::npos) << msg;
      for (const auto& part : parts)
        EXPECT_NE(msg.find(part), std::string::npos) << "want '" << part << "' in: " << msg;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "wrong exception type: " << e.what();
    }
  }
  fs::path dir_;
};

TEST_F(CocoJsonTest, ParsesAndKeepsGroundTruthAsWritten) {
  const data::CocoDataset ds = data::parse_coco_json(sample().dump(), "<s>");
  ASSERT_EQ(ds.images.size(), 2u);
  EXPECT_EQ(ds.images[1].id, 9);
  EXPECT_EQ(ds.images[1].file_name, "b.jpg");
  EXPECT_EQ(ds.images[1].width, 50);
  ASSERT_EQ(ds.annotations.size(), 7u);  // degenerate, crowd and outside boxes are all kept
  EXPECT_EQ(ds.annotations[0].bbox[2], 30.5);
  EXPECT_EQ(ds.annotations[0].area, 999);      // as written
  EXPECT_EQ(ds.annotations[3].area, 30 * 20);  // absent -> w*h
  EXPECT_FALSE(ds.annotations[0].iscrowd);
  EXPECT_TRUE(ds.annotations[1].iscrowd);
  EXPECT_TRUE(ds.annotations[2].iscrowd);
  ASSERT_EQ(ds.categories.size(), 2u);
  EXPECT_EQ(ds.categories[0].supercategory, "animal");
  EXPECT_EQ(ds.categories[1].supercategory, "");
}

TEST_F(CocoJsonTest, RoundTrip) {
  const data::CocoDataset a = data::parse_coco_json(sample().dump(), "<s>");
  const std::string p = (dir_ / "out.json").string();
  data::save_coco_json(a, p);
  EXPECT_FALSE(fs::exists(p + ".tmp"));
  const data::CocoDataset b = data::load_coco_json(p);
  ASSERT_EQ(a.images.size(), b.images.size());
  for (size_t i = 0; i < a.images.size(); ++i) {
    EXPECT_EQ(a.images[i].id, b.images[i].id);
    EXPECT_EQ(a.images[i].file_name, b.images[i].file_name);
    EXPECT_EQ(a.images[i].width, b.images[i].width);
    EXPECT_EQ(a.images[i].height, b.images[i].height);
  }
  ASSERT_EQ(a.annotations.size(), b.annotations.size());
  for (size_t i = 0; i < a.annotations.size(); ++i) {
    EXPECT_EQ(a.annotations[i].id, b.annotations[i].id);
    EXPECT_EQ(a.annotations[i].image_id, b.annotations[i].image_id);
    EXPECT_EQ(a.annotations[i].category_id, b.annotations[i].category_id);
    EXPECT_EQ(a.annotations[i].bbox, b.annotations[i].bbox);
    EXPECT_EQ(a.annotations[i].area, b.annotations[i].area);
    EXPECT_EQ(a.annotations[i].iscrowd, b.annotations[i].iscrowd);
  }
  ASSERT_EQ(a.categories.size(), b.categories.size());
  for (size_t i = 0; i < a.categories.size(); ++i) {
    EXPECT_EQ(a.categories[i].id, b.categories[i].id);
    EXPECT_EQ(a.categories[i].name, b.categories[i].name);
    EXPECT_EQ(a.categories[i].supercategory, b.categories[i].supercategory);
  }
  // Saving the reloaded dataset gives the same bytes.
  const std::string p2 = (dir_ / "out2.json").string();
  data::save_coco_json(b, p2);
  std::ifstream f1(p), f2(p2);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(f1), {}),
            std::string(std::istreambuf_iterator<char>(f2), {}));
}

TEST_F(CocoJsonTest, AnnotationsMayBeAbsent) {
  json j = sample();
  j.erase("annotations");
  EXPECT_TRUE(data::parse_coco_json(j.dump(), "<s>").annotations.empty());
}

TEST_F(CocoJsonTest, MissingFile) {
  const std::string p = (dir_ / "nope.json").string();
  try {
    data::load_coco_json(p);
    ADD_FAILURE();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST_F(CocoJsonTest, MalformedJsonNamesLineAndByte) {
  const std::string text = sample().dump(1);
  // Truncated mid-file: the error is at the end.
  expect_error<IOError>(text.substr(0, text.size() / 2), {"malformed JSON", "line ", "byte "});
  expect_error<IOError>("{\n  \"images\": [\n    {\"id\": 1,,}\n  ]\n}", {"line 3", "column 14"});
  expect_error<IOError>("", {"malformed JSON"});
}

TEST_F(CocoJsonTest, WrongTypesNameTheKeyPath) {
  auto with = [](const std::function<void(json&)>& edit) {
    json j = sample();
    edit(j);
    return j.dump();
  };
  expect_error<ConfigError>("[1, 2]", {"(top level)", "expected an object"});
  expect_error<ConfigError>(with([](json& j) { j.erase("images"); }), {"images: missing"});
  expect_error<ConfigError>(with([](json& j) { j["images"] = 3; }), {"images: expected an array"});
  expect_error<ConfigError>(with([](json& j) { j.erase("categories"); }), {"categories: missing"});
  expect_error<ConfigError>(with([](json& j) { j["images"][1]["id"] = "9"; }),
                            {"images[1].id: expected an integer", "string"});
  expect_error<ConfigError>(with([](json& j) { j["images"][0]["width"] = 10.5; }),
                            {"images[0].width: expected an integer"});
  expect_error<ConfigError>(with([](json& j) { j["images"][0]["height"] = 0; }),
                            {"images[0].height: expected a positive size"});
  expect_error<ConfigError>(with([](json& j) { j["images"][1].erase("file_name"); }),
                            {"images[1].file_name: missing"});
  expect_error<ConfigError>(with([](json& j) {
                              j["annotations"][4]["bbox"] = {1, 2, 3};
                            }),
                            {"annotations[4].bbox: expected [x, y, w, h]"});
  expect_error<ConfigError>(with([](json& j) { j["annotations"][6]["bbox"][2] = "w"; }),
                            {"annotations[6].bbox[2]: expected a number"});
  expect_error<ConfigError>(with([](json& j) { j["annotations"][2].erase("category_id"); }),
                            {"annotations[2].category_id: missing"});
  expect_error<ConfigError>(with([](json& j) { j["annotations"][0]["iscrowd"] = 2; }),
                            {"annotations[0].iscrowd: expected 0 or 1"});
  expect_error<ConfigError>(with([](json& j) { j["annotations"][0]["area"] = "big"; }),
                            {"annotations[0].area: expected a number"});
  expect_error<ConfigError>(with([](json& j) { j["annotations"][3] = nullptr; }),
                            {"annotations[3]: expected an object", "null"});
  expect_error<ConfigError>(with([](json& j) { j["categories"][1]["name"] = 4; }),
                            {"categories[1].name: expected a string"});
}

TEST_F(CocoJsonTest, DuplicateAndUnknownIds) {
  auto with = [](const std::function<void(json&)>& edit) {
    json j = sample();
    edit(j);
    return j.dump();
  };
  expect_error<ConfigError>(with([](json& j) { j["images"][1]["id"] = 7; }),
                            {"images[1].id: duplicate image id 7", "images[0]"});
  expect_error<ConfigError>(with([](json& j) { j["annotations"][5]["id"] = 2; }),
                            {"annotations[5].id: duplicate annotation id 2", "annotations[1]"});
  expect_error<ConfigError>(with([](json& j) { j["categories"][1]["id"] = 5; }),
                            {"categories[1].id: duplicate category id 5"});
  expect_error<ConfigError>(with([](json& j) { j["annotations"][3]["image_id"] = 8; }),
                            {"annotations[3].image_id: unknown image id 8"});
  expect_error<ConfigError>(with([](json& j) { j["annotations"][6]["category_id"] = 1; }),
                            {"annotations[6].category_id: unknown category id 1"});
}

TEST_F(CocoJsonTest, TrainingFilterCountsEachReason) {
  const data::CocoDataset ds = data::parse_coco_json(sample().dump(), "<s>");
  data::TrainingFilterReport r;
  auto kept = data::training_annotations(ds, &r);
  EXPECT_EQ(r.total, 7);
  EXPECT_EQ(r.crowd, 2);       // ids 2, 3
  EXPECT_EQ(r.degenerate, 1);  // id 6 (id 3 is crowd first)
  EXPECT_EQ(r.outside, 1);     // id 5: x = 100 on a 100-wide image
  EXPECT_EQ(r.too_small, 0);
  EXPECT_EQ(r.clipped, 1);  // id 4
  EXPECT_EQ(r.kept, 3);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].id, 1);
  EXPECT_EQ(kept[0].area, 999);  // untouched boxes keep their area
  EXPECT_EQ(kept[1].id, 4);
  EXPECT_EQ(kept[1].bbox, (std::array<double, 4>{0, 70, 20, 10}));
  EXPECT_EQ(kept[1].area, 200);
  EXPECT_EQ(kept[2].id, 7);
  EXPECT_NE(r.str().find("kept 3/7"), std::string::npos) << r.str();

  data::TrainingFilterOptions o;
  o.min_size = 1;
  data::training_annotations(ds, &r, o);
  EXPECT_EQ(r.too_small, 1);  // id 7: 0.5 px wide
  EXPECT_EQ(r.kept, 2);

  // Images without annotations stay: grouping gives them empty lists.
  const auto groups = data::annotations_by_image(ds.images, kept);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0], (std::vector<size_t>{0, 1}));
  EXPECT_EQ(groups[1], (std::vector<size_t>{2}));
}

TEST_F(CocoJsonTest, CategoryMap) {
  const data::CocoDataset ds = data::parse_coco_json(sample().dump(), "<s>");
  data::CocoCategoryMap m(ds.categories);
  EXPECT_EQ(m.num_classes(), 2);
  EXPECT_EQ(m.label(3), 1);  // ascending category id
  EXPECT_EQ(m.label(5), 2);
  EXPECT_EQ(m.category_id(1), 3);
  EXPECT_EQ(m.category_id(2), 5);
  EXPECT_EQ(m.name(0), "background");
  EXPECT_EQ(m.name(2), "cat");
  EXPECT_TRUE(m.contains(5));
  EXPECT_FALSE(m.contains(4));
  EXPECT_THROW(m.label(4), ConfigError);
  EXPECT_THROW(m.category_id(0), ConfigError);
  EXPECT_THROW(m.category_id(3), ConfigError);
  EXPECT_THROW(data::CocoCategoryMap({{1, "a", ""}, {1, "b", ""}}), ConfigError);
}

}  // namespace
}  // namespace detforge
