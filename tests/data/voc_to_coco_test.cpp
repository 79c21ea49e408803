// Pascal VOC XML -> COCO: the 1-based inclusive box conversion, difficult handling, errors naming
// the file and element, and `detforge data voc2coco` writing a loadable COCO file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/coco_json.h"
#include "data/voc_to_coco.h"
#include "tensor/error.h"

namespace detforge {
namespace {

namespace fs = std::filesystem;

const char* kXmlA = R"(<annotation>
  <folder>VOC2007</folder>
  <filename>000005.jpg</filename>
  <size><width>500</width><height>375</height><depth>3</depth></size>
  <object><name>chair</name><pose>Rear</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox></object>
  <object><name>person</name><difficult>1</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>500</xmax><ymax>375</ymax></bndbox></object>
</annotation>)";
const char* kXmlB = R"(<?xml version="1.0"?>
<annotation><filename>2008_000008.jpg</filename>
  <size><width>20</width><height>10</height></size>
  <object><name> dog </name>
    <bndbox><xmin>2.5</xmin><ymin>3</ymin><xmax>2.5</xmax><ymax>10</ymax></bndbox></object>
</annotation>)";

class VocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("detforge_voc_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "Annotations");
    fs::create_directories(dir_ / "ImageSets" / "Main");
    put("Annotations/000005.xml", kXmlA);
    put("Annotations/2008_000008.xml", kXmlB);
    put("ImageSets/Main/trainval.txt", "000005\n2008_000008\n\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string put(const std::string& rel, const std::string& text) const {
    std::ofstream((dir_ / rel).string(), std::ios::binary) << text;
    return (dir_ / rel).string();
  }
  // Converting a one-file split holding `xml` throws E naming the file and containing `part`.
  template <class E>
  void expect_error(const std::string& xml, const std::string& part) {
    const std::string p = put("Annotations/bad.xml", xml);
    put("ImageSets/Main/bad.txt", "bad\n");
    try {
      data::voc_to_coco(dir_.string(), "bad");
      ADD_FAILURE() << "no error for " << xml;
    } catch (const E& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(p), std::string::npos) << msg;
      EXPECT_NE(msg.find(part), std::string::npos) << "want '" << part << "' in: " << msg;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "wrong exception type: " << e.what();
    }
  }
  fs::path dir_;
};

TEST_F(VocTest, Converts) {
  const data::CocoDataset ds = data::voc_to_coco(dir_.string(), "trainval");
  ASSERT_EQ(ds.categories.size(), 20u);
  EXPECT_EQ(ds.categories[0].name, "aeroplane");
  EXPECT_EQ(ds.categories[19].name, "tvmonitor");
  ASSERT_EQ(ds.images.size(), 2u);
  EXPECT_EQ(ds.images[0].id, 1);
  EXPECT_EQ(ds.images[0].file_name, "000005.jpg");
  EXPECT_EQ(ds.images[0].width, 500);
  EXPECT_EQ(ds.images[0].height, 375);
  EXPECT_EQ(ds.images[1].file_name, "2008_000008.jpg");
  ASSERT_EQ(ds.annotations.size(), 3u);
  const auto& chair = ds.annotations[0];
  EXPECT_EQ(chair.id, 1);
  EXPECT_EQ(chair.category_id, 9);
  EXPECT_EQ(chair.bbox, (std::array<double, 4>{262, 210, 62, 129}));
  EXPECT_EQ(chair.area, 62 * 129);
  EXPECT_FALSE(chair.iscrowd);
  // The whole-image box: 1..500 inclusive -> x 0, w 500.
  EXPECT_EQ(ds.annotations[1].bbox, (std::array<double, 4>{0, 0, 500, 375}));
  EXPECT_TRUE(ds.annotations[1].iscrowd);  // difficult
  EXPECT_EQ(ds.annotations[2].category_id, 12);
  EXPECT_EQ(ds.annotations[2].image_id, 2);
  EXPECT_EQ(ds.annotations[2].bbox, (std::array<double, 4>{1.5, 2, 1, 8}));

  data::VocToCocoOptions o;
  o.difficult = data::VocDifficult::keep;
  EXPECT_FALSE(data::voc_to_coco(dir_.string(), "trainval", o).annotations[1].iscrowd);
  o.difficult = data::VocDifficult::drop;
  EXPECT_EQ(data::voc_to_coco(dir_.string(), "trainval", o).annotations.size(), 2u);
}

TEST_F(VocTest, Errors) {
  try {
    data::voc_to_coco(dir_.string(), "test");
    ADD_FAILURE();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("ImageSets/Main/test.txt"), std::string::npos);
  }
  put("ImageSets/Main/gone.txt", "nothere\n");
  EXPECT_THROW(data::voc_to_coco(dir_.string(), "gone"), IOError);
  expect_error<IOError>("<annotation><filename>x.jpg</filename", "malformed XML at byte");
  expect_error<ConfigError>("<root/>", "annotation: missing");
  expect_error<ConfigError>(
      "<annotation><size><width>5</width><height>5</height></size></annotation>",
      "annotation/filename: missing");
  expect_error<ConfigError>(
      "<annotation><filename>a</filename><size><width>5</width><height>x</height></size>"
      "</annotation>",
      "annotation/size/height: expected a number, got 'x'");
  expect_error<ConfigError>(
      "<annotation><filename>a</filename><size><width>5</width><height>5</height></size>"
      "<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax></bndbox>"
      "</object></annotation>",
      "annotation/object[0]/bndbox/ymax: missing");
  expect_error<ConfigError>(
      "<annotation><filename>a</filename><size><width>5</width><height>5</height></size>"
      "<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax>"
      "</bndbox></object><object><name>unicorn</name></object></annotation>",
      "annotation/object[1]/name: unknown VOC class 'unicorn'");
}

TEST_F(VocTest, Cli) {
  const std::string out = (dir_ / "voc.json").string();
  const std::string cmd = std::string(DETFORGE_CLI_PATH) + " data voc2coco --voc " + dir_.string() +
                          " --split trainval --out " + out + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string text;
  std::array<char, 256> buf;
  while (fgets(buf.data(), buf.size(), p)) text += buf.data();
  ASSERT_EQ(WEXITSTATUS(pclose(p)), 0) << text;
  EXPECT_NE(text.find("2 images, 3 objects (1 difficult as crowd)"), std::string::npos) << text;
  const data::CocoDataset ds = data::load_coco_json(out);
  EXPECT_EQ(ds.annotations.size(), 3u);
  EXPECT_EQ(ds.annotations[0].bbox, (std::array<double, 4>{262, 210, 62, 129}));
}

}  // namespace
}  // namespace detforge
