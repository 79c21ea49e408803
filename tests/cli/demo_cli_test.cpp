// `detforge demo` (the current main job): a few SGD steps on the synthetic batch lower the loss.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/test_util.h"

namespace {

TEST(DemoCli, LossDecreasesOnTheSyntheticBatch) {
  const auto run = detforge::test::run_cli("demo --steps 4 --batch 4 --size 32");
  const std::string& out = run.out;
  ASSERT_EQ(run.rc, 0) << out;
  double first = 0, last = 0;
  auto pos = out.rfind("loss ");
  ASSERT_NE(pos, std::string::npos) << out;
  ASSERT_EQ(std::sscanf(out.c_str() + pos, "loss %lf -> %lf", &first, &last), 2) << out;
  EXPECT_LT(last, first) << out;
  EXPECT_GT(first, 1.0) << "an untrained 10-class net should start near ln(10): " << out;
}

}  // namespace
