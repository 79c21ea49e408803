// SM-NAS backbone code <-> ArchConfig.
//
// SM-NAS backbone code (Yao et al., SM-NAS, section 3.2: "the backbone architecture encoding
// string is like 'basicblock 54 1211-211-1111-12111' where the first placeholder encodes the
// block setting; 54 is the base channel size; '-' separates each stage with different
// resolution; '1' means regular block with no change of channels and '2' indicated the number of
// base channels is doubled in this block", and "we fix stage 1 and the first layer of stage 2 to
// be a 3x3 conv (stride=2)"). The rule implemented here:
//   code   := block '_' base '_' stage ('-' stage){3}      ('_' or ' ' separate the three parts)
//   block  := "basicblock" | "bottleneck" | "xbottleneck"  (case-insensitive; the paper writes
//             "Xbottleneck" for ResNeXt blocks, Table 2:
//             "Xbottleneck_56_21-21-111111111111111-2111111")
//   base   := positive integer (the paper draws it from {48, 56, 64, 72}; any positive accepted)
//   stage  := one or more of '1' | '2'
// The four '-'-separated groups are the searchable blocks of the paper's stages 2..5, which give
// C2..C5. Fixed stem: conv3x3 stride 2 (3 -> base, the paper's stage 1) and conv3x3 stride 2
// (base -> base, the first layer of stage 2), each followed by norm + ReLU: stride 4 after the
// stem. Group 1 stays at stride 4 (C2); the first block of groups 2, 3, 4 has stride 2 (strides 8,
// 16, 32) whatever its character, because '-' separates resolutions. A '1' block keeps the running
// "planes" count, a '2' block doubles it (starting from base); the block's output channels are
// planes (basic) or 4 x planes (bottleneck and xbottleneck, ResNet expansion). E.g.
// basicblock_64_1-21-21-12 gives C2..C5 channels 64, 128, 256, 512 at strides 4, 8, 16, 32.
// xbottleneck is ResNeXt's block, 32x4d by default (the paper sets E4 / E5 against
// "ResNext101(32x4d)", Table 6; SmNasBackboneOptions can change it): the grouped 3x3 conv has mid =
// floor(planes * 4 / 64) * 32 channels in 32 groups (torchvision / mmdet's integer rule, e.g.
// planes 56 -> 96, 112 -> 224), output 4 x planes as bottleneck. In ArchConfig: block_type
// "basic"/"bottleneck"/"xbottleneck", base_channels = base, stages[i].depth = group length,
// stages[i].doubling = per-block '2' flags, stages[i].channels = output channels of the group
// (derived, filled by the parser).
#pragma once
#include <string>

#include "nn/arch_config.h"

namespace detforge::nas {

using nn::arch_config_from_json;
using nn::arch_config_to_json;
using nn::ArchConfig;
using nn::StageConfig;

// SM-NAS code -> ArchConfig (see the rule above). ConfigError names the 0-based character position
// of the first bad character: "[nas.smnas] position 16 in 'basicblock_56_1-3-21-12': expected '1',
// '2' or
// '-', got '3'".
DETFORGE_API ArchConfig parse_smnas_code(const std::string& code);
// ArchConfig -> canonical code ("basicblock_56_1-21-21-12", "Xbottleneck_56_21-21-1-2111" with
// the paper's capital X); needs block_type basic/bottleneck/xbottleneck,
// base_channels > 0, 4 stages and a doubling list per stage.
DETFORGE_API std::string to_smnas_code(const ArchConfig& cfg);

}  // namespace detforge::nas
