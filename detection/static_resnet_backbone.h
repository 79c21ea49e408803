// Backbone type "static_resnet" (detection/static_resnet_backbone.cpp): an nn::StaticResNet given
// block by block in JSON, for extracted supernet subnets and morphed students.
#pragma once
#include <nlohmann/json.hpp>

#include "nn/static_resnet.h"

namespace detforge::detection {

// {"type": "static_resnet", "stem": {...}, "stages": [[{bottleneck, in, mid, out, stride}]]} of
// that structure (nn::StaticResNet(stem, stages)); build_backbone of it gives such a network.
DETFORGE_API nlohmann::json static_resnet_backbone_json(
    const nn::ResNetStemSpec& stem, const std::vector<std::vector<nn::BlockSpec>>& stages);

}  // namespace detforge::detection
