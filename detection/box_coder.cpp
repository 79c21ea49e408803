#include "detection/box_coder.h"

#include "autograd/box_coder.h"
#include "autograd/indexing.h"

namespace detforge::detection {

BoxCoder::BoxCoder(std::array<double, 4> weights, double bbox_xform_clip)
    : weights_(weights), clip_(bbox_xform_clip) {}

Tensor BoxCoder::encode_single(const Tensor& reference_boxes, const Tensor& proposals) const {
  return box_coder_encode(reference_boxes, proposals, weights_);
}

std::vector<Tensor> BoxCoder::encode(const std::vector<Tensor>& reference_boxes,
                                     const std::vector<Tensor>& proposals) const {
  DF_CHECK(reference_boxes.size() == proposals.size() && !proposals.empty(), ShapeError,
           "[BoxCoder] encode needs one reference_boxes and one proposals tensor per image, got ",
           reference_boxes.size(), " and ", proposals.size());
  std::vector<int64_t> per_image;
  for (const Tensor& b : reference_boxes) per_image.push_back(b.size(0));
  Tensor t = encode_single(cat(reference_boxes, 0), cat(proposals, 0));
  return split(t, per_image, 0);
}

Tensor BoxCoder::decode_single(const Tensor& rel_codes, const Tensor& boxes) const {
  return box_coder_decode(rel_codes, boxes, weights_, clip_);
}

Tensor BoxCoder::decode(const Tensor& rel_codes, const std::vector<Tensor>& boxes) const {
  DF_CHECK(!boxes.empty(), ShapeError, "[BoxCoder] decode needs at least one boxes tensor");
  int64_t total = 0;
  for (const Tensor& b : boxes) total += b.size(0);
  Tensor concat = boxes.size() == 1 ? boxes[0] : cat(boxes, 0);
  Tensor codes = total > 0 ? rel_codes.reshape({total, -1}) : rel_codes;
  Tensor out = decode_single(codes, concat);
  return total > 0 ? out.reshape({total, -1, 4}) : out;
}

}  // namespace detforge::detection
