// Malformed safetensors headers whose shapes overflow 64-bit sizes get an IOError (and no signed
// overflow, which UBSan reports) instead of a bogus allocation.
#include <gtest/gtest.h>

#include <string>

#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace detforge {
namespace {

std::string file_with_header(const std::string& json) {
  std::string bytes(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return bytes + json;
}

void expect_too_large(const std::string& shape) {
  std::string f =
      file_with_header(R"({"t":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":[0,0]}})");
  try {
    parse_safetensors(f, "test.safetensors");
    FAIL() << "expected an IOError for shape " << shape;
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
  }
}

TEST(SafetensorsOverflow, HugeShapesAreRejected) {
  expect_too_large("[4294967296,4294967296]");
  expect_too_large("[9223372036854775807,2]");
  expect_too_large("[2305843009213693952]");  // 2^61 floats = 2^63 bytes
}

TEST(SafetensorsOverflow, ZeroSizedDimsStillLoad) {
  std::string f =
      file_with_header(R"({"t":{"dtype":"F32","shape":[0,1000000],"data_offsets":[0,0]}})");
  SafetensorsFile s = parse_safetensors(f, "test.safetensors");
  ASSERT_EQ(s.tensors.count("t"), 1u);
  EXPECT_EQ(s.tensors.at("t").numel(), 0);
}

}  // namespace
}  // namespace detforge
