// Replays every golden fixture (tests/fixtures/ops, written by scripts/fixtures/gen_op_fixtures.py
// from PyTorch) through the run-op registry: forward and backward against PyTorch, the same with
// non-contiguous inputs, a float64 finite-difference gradcheck, and CUDA against CPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "autograd/gradcheck.h"
#include "autograd/op_registry.h"
#include "tensor/safetensors.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

struct Fixture {
  std::string name, op;
  std::map<std::string, Tensor> inputs;    // op inputs and grad_output
  std::map<std::string, Tensor> expected;  // without the "expected:" prefix
  std::map<std::string, std::string> attrs;
  double tol = 1e-5;
  bool backward = false, gradcheck = false;
};

Fixture load(const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  Fixture fx;
  fx.name = std::filesystem::path(path).stem();
  fx.op = f.metadata.at("op");
  auto attrs = nlohmann::json::parse(f.metadata.at("attrs"));
  for (auto it = attrs.begin(); it != attrs.end(); ++it) fx.attrs[it.key()] = it.value().get<std::string>();
  fx.tol = std::stod(f.metadata.at("tol"));
  fx.backward = f.metadata.at("backward") == "1";
  fx.gradcheck = f.metadata.at("gradcheck") == "1";
  for (auto& [k, v] : f.tensors) {
    if (k.rfind("expected:", 0) == 0)
      fx.expected[k.substr(9)] = v;
    else
      fx.inputs[k] = v;
  }
  return fx;
}

std::vector<std::string> fixture_files() {
  std::vector<std::string> r;
  for (auto& e : std::filesystem::directory_iterator(DETFORGE_FIXTURE_DIR "/ops"))
    if (e.path().extension() == ".safetensors") r.push_back(e.path().string());
  std::sort(r.begin(), r.end());
  return r;
}

class OpFixture : public ::testing::TestWithParam<std::string> {};

void check_all(const Fixture& fx, const std::map<std::string, Tensor>& got, const std::string& what) {
  for (auto& [k, want] : fx.expected) {
    auto it = got.find(k);
    ASSERT_TRUE(it != got.end()) << what << ": result lacks '" << k << "'";
    std::string m = test::compare(it->second, want, fx.tol);
    EXPECT_TRUE(m.empty()) << what << " '" << k << "': " << m;
  }
}

TEST_P(OpFixture, MatchesPyTorch) {
  Fixture fx = load(GetParam());
  RunOpOptions opt;
  opt.backward = fx.backward;
  check_all(fx, run_op(fx.op, fx.inputs, fx.attrs, opt), "contiguous");
}

TEST_P(OpFixture, NonContiguousInputs) {
  Fixture fx = load(GetParam());
  std::map<std::string, Tensor> in;
  for (auto& [k, v] : fx.inputs) in[k] = test::noncontiguous(v);
  RunOpOptions opt;
  opt.backward = fx.backward;
  check_all(fx, run_op(fx.op, in, fx.attrs, opt), "non-contiguous");
}

TEST_P(OpFixture, GradcheckFloat64) {
  Fixture fx = load(GetParam());
  if (!fx.gradcheck) GTEST_SKIP() << fx.name << ": not differentiable or marked gradcheck=0 in its generator";
  std::vector<std::string> names;
  std::vector<Tensor> inputs;
  const OpSchema& schema = OpRegistry::instance().get(fx.op);
  for (auto& spec : schema.inputs) {
    std::vector<std::string> keys{spec.name};  // variadic: name.0, name.1, ...
    if (spec.variadic) {
      keys.clear();
      for (size_t i = 0; fx.inputs.count(spec.name + "." + std::to_string(i)); ++i)
        keys.push_back(spec.name + "." + std::to_string(i));
    }
    for (auto& key : keys) {
      auto it = fx.inputs.find(key);
      if (it == fx.inputs.end()) continue;
      Tensor t = it->second;
      if (is_floating(t.dtype())) {
        t = raw::to(t, kCPU, DType::f64);
        if (spec.differentiable) t.set_requires_grad(true);
      }
      names.push_back(key);
      inputs.push_back(t);
    }
  }
  auto f = [&](const std::vector<Tensor>& xs) {
    std::map<std::string, Tensor> m;
    for (size_t i = 0; i < xs.size(); ++i) m[names[i]] = xs[i];
    return call_op(fx.op, m, fx.attrs).at("output");
  };
  GradcheckResult r = gradcheck(f, inputs);
  EXPECT_TRUE(r.ok) << fx.name << ": " << r.message;
}

TEST_P(OpFixture, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda();
  Fixture fx = load(GetParam());
  RunOpOptions cpu, gpu;
  cpu.backward = gpu.backward = fx.backward;
  gpu.device = cuda_device(0);
  auto a = run_op(fx.op, fx.inputs, fx.attrs, cpu);
  auto b = run_op(fx.op, fx.inputs, fx.attrs, gpu);
  for (auto& [k, v] : a) {
    std::string m = test::compare(b.at(k), v, std::max(fx.tol, 1e-5));
    EXPECT_TRUE(m.empty()) << "cuda vs cpu '" << k << "': " << m;
  }
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = std::filesystem::path(info.param).stem();
  for (auto& c : s)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Ops, OpFixture, ::testing::ValuesIn(fixture_files()), param_name);

}  // namespace
}  // namespace detforge
