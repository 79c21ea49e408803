// JSON configuration of the detection necks and heads (docs/detection_modules.md). Every error is
// ConfigError("[detection.config] <key path>: expected ..., got ...").
//
//   "neck": "none" | {"type": "none"} |
//           {"type": "fpn", "in_levels": [2, 3, 4, 5], "out_channels": 256,
//            "extra": "none" | "maxpool" | "p6p7", "p6_from": "p5" | "c5",
//            "norm": "none" | "bn" | "gn", "gn_groups": 32}
//         | {"type": "elastic_fpn", ... the fpn keys ..., "width_multipliers": [1.0, 1.25, 1.5]}
//   "head": {"type": "rpn", "num_anchors": 3, "conv_depth": 1}
//         | {"type": "retinanet", "num_anchors": 9, "num_classes": 80, "prior_probability": 0.01,
//            "norm": "none" | "gn", "gn_groups": 32}
//         | {"type": "centernet", "num_classes": 80, "deconv_channels": [256, 128, 64],
//            "head_conv": 64, "heatmap_bias": -2.19}
//   "box_head": {"representation_size": 1024, "num_classes": 91, "roi_size": 7}  (Faster R-CNN)
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "detection/elastic_fpn.h"
#include "detection/fpn.h"
#include "detection/heads/box_head.h"
#include "detection/heads/centernet_head.h"
#include "detection/heads/retinanet_head.h"
#include "detection/heads/rpn_head.h"

namespace detforge::detection {

struct NeckConfig {
  std::string type = "none";  // "none" | "fpn" | "elastic_fpn"
  std::vector<int64_t> in_levels{2, 3, 4, 5};
  int64_t out_channels = 256;
  FpnExtra extra = FpnExtra::none;
  bool p6_from_c5 = false;
  std::string norm = "none";
  int64_t gn_groups = 32;
  std::vector<double> width_multipliers{1.0, 1.25, 1.5};  // elastic_fpn only
};

struct HeadConfig {
  std::string type;  // "rpn" | "retinanet" | "centernet"
  int64_t num_anchors = 3, conv_depth = 1;
  int64_t num_classes = 80;
  double prior_probability = 0.01;
  std::string norm = "none";
  int64_t gn_groups = 32;
  std::vector<int64_t> deconv_channels{256, 128, 64};
  int64_t head_conv = 64;
  double heatmap_bias = -2.19;
};

struct BoxHeadConfig {
  int64_t representation_size = 1024, num_classes = 91, roi_size = 7;
};

// `path` is the key path of j in the whole document ("model.neck"), used in messages.
DETFORGE_API NeckConfig parse_neck(const nlohmann::json& j, const std::string& path = "neck");
DETFORGE_API HeadConfig parse_head(const nlohmann::json& j, const std::string& path = "head");
DETFORGE_API BoxHeadConfig parse_box_head(const nlohmann::json& j,
                                          const std::string& path = "box_head");

// The FPN for a backbone whose C2..C5 have `backbone_channels` (4 values); nullptr unless "fpn"
// (build_neck) / "elastic_fpn" (build_elastic_neck).
// ConfigError when a level is outside C2..C5.
DETFORGE_API std::shared_ptr<FeaturePyramidNetwork> build_neck(
    const NeckConfig& cfg, const std::vector<int64_t>& backbone_channels);
DETFORGE_API std::shared_ptr<ElasticFPN> build_elastic_neck(
    const NeckConfig& cfg, const std::vector<int64_t>& backbone_channels);
DETFORGE_API std::shared_ptr<RPNHead> build_rpn_head(const HeadConfig& cfg, int64_t in_channels);
DETFORGE_API std::shared_ptr<RetinaNetHead> build_retinanet_head(const HeadConfig& cfg,
                                                                 int64_t in_channels);
DETFORGE_API std::shared_ptr<CenterNetHead> build_centernet_head(const HeadConfig& cfg,
                                                                 int64_t in_channels);
// Sequential "0" TwoMLPHead(C * roi * roi, R), "1" FastRCNNPredictor(R, num_classes) is left to the
// detector; these build the two parts.
DETFORGE_API std::shared_ptr<TwoMLPHead> build_box_head(const BoxHeadConfig& cfg,
                                                        int64_t in_channels);
DETFORGE_API std::shared_ptr<FastRCNNPredictor> build_box_predictor(const BoxHeadConfig& cfg);

}  // namespace detforge::detection
