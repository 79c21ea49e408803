// `detforge profile`: parameters and MACs of torchvision-named backbones, plus a latency line.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/test_util.h"

namespace {

std::string run(const std::string& args, int* rc) {
  auto r = detforge::test::run_cli("profile " + args);
  *rc = r.rc;
  return r.out;
}

TEST(ProfileCli, Resnet18At224WithLatency) {
  int rc = 0;
  std::string out =
      run("--arch resnet18 --size 224 --batch 1 --device cpu --warmup 1 --repeats 2", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("params     11,689,512 (11.69 M)"), std::string::npos) << out;
  EXPECT_NE(out.find("MACs       1,814,073,344 (1.81 GMAC per image"), std::string::npos) << out;
  auto pos = out.find("latency    median ");
  ASSERT_NE(pos, std::string::npos) << out;
  double median = 0, p90 = 0, mean = 0;
  ASSERT_EQ(std::sscanf(out.c_str() + pos, "latency    median %lf ms  p90 %lf ms  mean %lf ms",
                        &median, &p90, &mean),
            3)
      << out;
  EXPECT_GT(median, 0);
  EXPECT_GE(p90, median);
  EXPECT_GT(mean, 0);
  EXPECT_NE(out.find("batch 1 on cpu, 1 warm-up, 2 timed"), std::string::npos) << out;
}

TEST(ProfileCli, MobileNetAt128WithoutLatencyAndLayers) {
  int rc = 0;
  std::string out = run("--arch mobilenet_v2 --size 128 --no-latency --layers", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("params     3,504,872"), std::string::npos) << out;
  EXPECT_NE(out.find("MACs       99,074,048"), std::string::npos) << out;  // torchvision at 128x128
  EXPECT_NE(out.find("classifier.1"), std::string::npos) << out;
  EXPECT_EQ(out.find("latency"), std::string::npos) << out;
}

TEST(ProfileCli, RejectsUnknownArch) {
  int rc = 0;
  std::string out = run("--arch vgg16 --no-latency", &rc);
  EXPECT_NE(rc, 0) << out;
}

}  // namespace
