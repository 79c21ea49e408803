// `detforge run-op` end to end: the binary reads a safetensors file written by the fixture script
// (PyTorch), writes outputs and gradients, and fails with clear messages on bad input.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "tensor/safetensors.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

namespace fs = std::filesystem;

struct CliResult {
  int code;
  std::string out;
};

CliResult run(const std::string& args) {
  std::string cmd = std::string(DETFORGE_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

std::string tmp(const std::string& name) {
  return (fs::temp_directory_path() / ("detforge_cli_" + name)).string();
}
const std::string kFixture = DETFORGE_FIXTURE_DIR "/ops/add_broadcast.safetensors";

TEST(RunOpCli, ForwardAndBackwardMatchPyTorchFixture) {
  std::string out = tmp("add.safetensors");
  CliResult r =
      run("run-op add --in " + kFixture + " --out " + out + " --attr alpha=0.5 --backward");
  ASSERT_EQ(r.code, 0) << r.out;
  auto got = load_safetensors(out).tensors;
  auto want = load_safetensors(kFixture).tensors;
  DF_EXPECT_CLOSE(got.at("output"), want.at("expected:output"), 1e-6);
  DF_EXPECT_CLOSE(got.at("grad_input"), want.at("expected:grad_input"), 1e-6);
  DF_EXPECT_CLOSE(got.at("grad_other"), want.at("expected:grad_other"), 1e-6);
}

TEST(RunOpCli, ListShowsOpsWithInputsAndAttributes) {
  CliResult r = run("run-op --list");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("add\n  inputs: input other"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("alpha:float=1"), std::string::npos) << r.out;
}

TEST(RunOpCli, UnknownOpFails) {
  CliResult r = run("run-op no_such_op --in " + kFixture + " --out " + tmp("x.safetensors"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("unknown op 'no_such_op'"), std::string::npos) << r.out;
}

TEST(RunOpCli, UnknownAttributeFails) {
  CliResult r =
      run("run-op add --in " + kFixture + " --out " + tmp("x.safetensors") + " --attr beta=2");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("unknown attribute 'beta'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("alpha"), std::string::npos) << r.out;
}

TEST(RunOpCli, BadAttributeValueFails) {
  CliResult r =
      run("run-op add --in " + kFixture + " --out " + tmp("x.safetensors") + " --attr alpha=abc");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("alpha='abc' is not a number"), std::string::npos) << r.out;
}

TEST(RunOpCli, MissingTensorFails) {
  std::string in = tmp("only_input.safetensors");
  save_safetensors(in, {{"input", test::randn({2})}});
  CliResult r = run("run-op add --in " + in + " --out " + tmp("x.safetensors"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("missing input tensor 'other'"), std::string::npos) << r.out;
}

TEST(RunOpCli, WrongShapesFail) {
  std::string in = tmp("bad_shapes.safetensors");
  save_safetensors(in, {{"input", test::randn({2, 3})}, {"other", test::randn({4})}});
  CliResult r = run("run-op add --in " + in + " --out " + tmp("x.safetensors"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("[2, 3] and [4] cannot be broadcast"), std::string::npos) << r.out;
}

TEST(RunOpCli, WrongGradOutputShapeFails) {
  std::string in = tmp("bad_grad.safetensors");
  save_safetensors(in, {{"input", test::randn({2, 3})},
                        {"other", test::randn({3})},
                        {"grad_output", test::randn({3})}});
  CliResult r = run("run-op mul --in " + in + " --out " + tmp("x.safetensors") + " --backward");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("grad_output has shape [3] but output has shape [2, 3]"), std::string::npos)
      << r.out;
}

TEST(RunOpCli, CorruptFileFails) {
  std::string in = tmp("corrupt.safetensors");
  {
    FILE* f = fopen(in.c_str(), "wb");
    fputs("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all", f);
    fclose(f);
  }
  CliResult r = run("run-op add --in " + in + " --out " + tmp("x.safetensors"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("[safetensors]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(in), std::string::npos) << r.out;
}

TEST(RunOpCli, CudaDeviceWithoutGpuFailsCleanly) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present; this checks the no-GPU message";
  CliResult r =
      run("run-op add --in " + kFixture + " --out " + tmp("x.safetensors") + " --device cuda");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("error:"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace detforge
