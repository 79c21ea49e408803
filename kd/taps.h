// Knowledge taps (issue 5 item 1): named intermediate outputs of a detector captured without
// changing the caller's model code. A TapRecorder installed on the current thread (RAII, nests)
// receives the tensors that the detector families emit at fixed points; with no recorder
// installed an emit is one thread-local pointer test. docs/distill.md lists the names per family:
//   backbone.c2 .. backbone.c5     the backbone stages (every family)
//   fpn.p<k>                       pyramid level k (stride 2^k; two-stage, RetinaNet,
//   CenterNet+FPN) rpn.proposals                  [K, 5] (image index, x1, y1, x2, y2) RPN output
//   (two-stage) roi.rois                       [K, 5] the RoIs the box head ran on (train: sampled;
//   eval: all) roi.labels                     [K] i64 their training labels (train only; 0 =
//   background) roi.cls_logits / roi.box_regression   [K, C+1] / [K, 4 (C+1)] or [K, 4]
//   (class-agnostic) head.cls_logits / head.box_regression / head.anchors   RetinaNet [N, A, C] /
//   [N, A, 4] / [A, 4] head.heatmap / head.wh / head.offset                   CenterNet [N, C, H,
//   W] / [N, 2, H, W]
#pragma once
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace detforge::kd {

class DETFORGE_API TapRecorder {
 public:
  // Installs this recorder on the current thread (the previous one is restored on destruction).
  // filter: when non-empty, only the names it accepts are kept.
  explicit TapRecorder(std::function<bool(const std::string&)> filter = {});
  ~TapRecorder();
  TapRecorder(const TapRecorder&) = delete;
  TapRecorder& operator=(const TapRecorder&) = delete;

  // The recorder installed on this thread, or nullptr.
  static TapRecorder* current();

  void record(const std::string& name, const Tensor& t);  // a later emit of a name replaces it
  bool has(const std::string& name) const { return taps_.count(name) != 0; }
  // ConfigError "[kd.taps] no tap <name>; recorded: ..." when absent.
  const Tensor& get(const std::string& name) const;
  std::vector<std::string> names() const;
  // Names starting with prefix, in name order ("fpn.p2" < "fpn.p3" ...).
  std::vector<std::pair<std::string, Tensor>> with_prefix(const std::string& prefix) const;
  const std::map<std::string, Tensor>& all() const { return taps_; }
  void clear() { taps_.clear(); }

 private:
  std::map<std::string, Tensor> taps_;
  std::function<bool(const std::string&)> filter_;
  TapRecorder* prev_;
};

// Emit points used by the detector families (no-ops without a recorder).
inline bool tapping() {
  return TapRecorder::current() != nullptr;
}
inline void tap(const char* name, const Tensor& t) {
  if (TapRecorder* r = TapRecorder::current()) r->record(name, t);
}
// backbone.c2..c5 of a forward_features result (C2..C5).
DETFORGE_API void tap_backbone(const std::vector<Tensor>& c2_to_c5);
// fpn.p<k> for each pyramid output, k = round(log2(image_h / feature_h)).
DETFORGE_API void tap_pyramid(const std::vector<std::pair<std::string, Tensor>>& levels,
                              int64_t image_h);
// Per-image boxes [n_i, 4] as one [K, 5] (image index, box) tensor under `name`.
DETFORGE_API void tap_boxes(const char* name, const std::vector<Tensor>& boxes);

}  // namespace detforge::kd
