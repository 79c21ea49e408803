// run-op registry conventions: variadic inputs, error messages for unknown attributes, missing
// inputs and unknown ops.
#include <gtest/gtest.h>

#include "autograd/op_registry.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

using test::error_of;

TEST(OpRegistry, VariadicInputsForwardAndBackward) {
  Tensor a = test::randn({2, 3}, DType::f32, 1), b = test::randn({1, 3}, DType::f32, 2);
  RunOpOptions opt;
  opt.backward = true;
  auto r = run_op(
      "cat",
      {{"tensors.0", a}, {"tensors.1", b}, {"grad_output", test::randn({3, 3}, DType::f32, 3)}},
      {{"dim", "0"}}, opt);
  ASSERT_TRUE(r.count("output"));
  EXPECT_EQ(r["output"].shape(), (Shape{3, 3}));
  ASSERT_TRUE(r.count("grad_tensors.0"));
  ASSERT_TRUE(r.count("grad_tensors.1"));
  EXPECT_EQ(r["grad_tensors.0"].shape(), (Shape{2, 3}));
  EXPECT_EQ(r["grad_tensors.1"].shape(), (Shape{1, 3}));
  // A gap ends the list: tensors.3 without tensors.2 is ignored.
  auto r2 = run_op("cat", {{"tensors.0", a}, {"tensors.1", b}, {"tensors.3", a}}, {});
  EXPECT_EQ(r2["output"].shape(), (Shape{3, 3}));
  // call_op passes the list through as well.
  auto o = call_op("stack", {{"tensors.0", a}, {"tensors.1", a}}, {{"dim", "1"}});
  EXPECT_EQ(o.at("output").shape(), (Shape{2, 2, 3}));
}

TEST(OpRegistry, VariadicInputMissing) {
  std::string m = error_of([] { run_op("cat", {{"tensors", Tensor::ones({2})}}, {}); });
  EXPECT_NE(m.find("[cat] missing input tensor 'tensors.0'"), std::string::npos) << m;
}

TEST(OpRegistry, UnknownAttribute) {
  std::string m = error_of([] {
    run_op("cumsum", {{"input", Tensor::ones({2})}}, {{"dimm", "0"}});
  });
  EXPECT_NE(m.find("[cumsum] unknown attribute 'dimm' (valid: dim)"), std::string::npos) << m;
}

TEST(OpRegistry, MissingInput) {
  std::string m = error_of([] {
    run_op("gather", {{"input", Tensor::ones({2})}}, {{"dim", "0"}});
  });
  EXPECT_NE(m.find("[gather] missing input tensor 'index'"), std::string::npos) << m;
}

TEST(OpRegistry, UnknownOp) {
  std::string m = error_of([] { run_op("sortt", {}, {}); });
  EXPECT_NE(m.find("[run-op] unknown op 'sortt'"), std::string::npos) << m;
  EXPECT_NE(m.find("sort"), m.find("'sortt'")) << m;
}

TEST(OpRegistry, DescribeShowsVariadic) {
  std::string d = describe_ops();
  EXPECT_NE(d.find("tensors.0.."), std::string::npos);
}

}  // namespace
}  // namespace detforge
