// `detforge data fmnist-det` on a tiny dataset: files and JSON written, loaded back, images decode
// at the canvas size, boxes inside, same bytes for the same seed, different for another; bad
// options fail naming the option. Needs Debian's dataset-fashion-mnist (skips without it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "data/coco_json.h"
#include "data/fashion_mnist.h"
#include "data/image_io.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;

namespace {

using detforge::test::CliRun;

CliRun run(const std::string& args) {
  return detforge::test::run_cli("data " + args);
}

std::string slurp(const fs::path& p) {
  return detforge::test::read_file(p.string());
}
bool have_data() {
  return detforge::test::have_fashion_mnist();
}

class DataCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("detforge_data_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(DataCli, FmnistDetTinyDataset) {
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST not installed";
  const fs::path a = dir_ / "a", b = dir_ / "b", c = dir_ / "c";
  const std::string common = " --train 12 --val 8 --width 96 --height 80 --threads 2";
  CliRun r = run("fmnist-det --out " + a.string() + common + " --seed 4 --preview " +
                 (dir_ / "preview.png").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  for (const char* split : {"train", "val"}) {
    const auto ds = detforge::data::load_coco_json(
        (a / "annotations" / (std::string("instances_") + split + ".json")).string());
    ASSERT_EQ(ds.images.size(), split == std::string("train") ? 12u : 8u);
    EXPECT_EQ(ds.categories.size(), 10u);
    EXPECT_GE(ds.annotations.size(), ds.images.size());
    for (const auto& im : ds.images) {
      EXPECT_EQ(im.width, 96);
      EXPECT_EQ(im.height, 80);
      const auto img = detforge::data::read_image((a / split / im.file_name).string());
      EXPECT_EQ(img.shape(), detforge::Shape({80, 96, 3}));
    }
    for (const auto& an : ds.annotations) {
      EXPECT_GE(an.bbox[0], 0);
      EXPECT_LE(an.bbox[0] + an.bbox[2], 96);
      EXPECT_LE(an.bbox[1] + an.bbox[3], 80);
      EXPECT_EQ(an.area, an.bbox[2] * an.bbox[3]);
    }
  }
  EXPECT_TRUE(fs::exists(a / "fmnist_det.json"));
  EXPECT_EQ(detforge::data::read_image((dir_ / "preview.png").string()).size(2), 3);

  ASSERT_EQ(run("fmnist-det --out " + b.string() + common + " --seed 4").rc, 0);
  ASSERT_EQ(run("fmnist-det --out " + c.string() + common + " --seed 5").rc, 0);
  EXPECT_EQ(slurp(a / "train" / "000007.png"), slurp(b / "train" / "000007.png"));
  EXPECT_EQ(slurp(a / "annotations" / "instances_val.json"),
            slurp(b / "annotations" / "instances_val.json"));
  EXPECT_NE(slurp(a / "train" / "000007.png"), slurp(c / "train" / "000007.png"));
}

TEST_F(DataCli, BadOptions) {
  CliRun r = run("fmnist-det --out " + (dir_ / "x").string() + " --max-size 300 --train 1 --val 0");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("max_size"), std::string::npos) << r.out;
  r = run("fmnist-det");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("--out"), std::string::npos) << r.out;
  r = run("");
  EXPECT_NE(r.rc, 0);
}

}  // namespace
