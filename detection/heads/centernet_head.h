// CenterNet head (Zhou et al. 2019, "Objects as Points"; no torchvision equivalent). Layout and
// names follow the paper's ResNet variant (the official msra_resnet.py):
// - "deconv_layers": for each entry c of deconv_channels, ConvTranspose2d(prev, c, 4, stride 2,
//   padding 1, no bias) -> BatchNorm2d(c) -> ReLU (Sequential indices 3i, 3i + 1, 3i + 2), each
//   doubling the resolution. Three stages take C5 (stride 32) to stride 4; an empty list takes a
//   stride-4 map directly (e.g. the FPN's P2 level).
// - three branches "hm", "wh", "reg", each Conv2d 3x3 (head_conv, bias) -> ReLU -> Conv2d 1x1:
//   heatmap [B, num_classes, H, W] (logits; the loss / decoder apply the sigmoid), size wh
//   [B, 2, H, W] and sub-pixel offset [B, 2, H, W].
// Init (official): deconvs N(0, 0.001), BN weight 1 / bias 0, branch convs N(0, 0.001) with zero
// bias except the heatmap's last conv bias, heatmap_bias = -2.19 (= -log((1 - 0.1) / 0.1), a 0.1
// prior).
#pragma once
#include "detection/layers.h"

namespace detforge::detection {

struct CenterNetHeadOptions {
  int64_t in_channels = 512;
  int64_t num_classes = 80;
  std::vector<int64_t> deconv_channels{256, 128, 64};  // empty: no up-convolution
  int64_t head_conv = 64;                              // channels of each branch's 3x3 conv
  double heatmap_bias = -2.19;
};

struct CenterNetOutput {
  Tensor heatmap;  // [B, num_classes, H, W] logits
  Tensor wh;       // [B, 2, H, W]
  Tensor offset;   // [B, 2, H, W]
};

class DETFORGE_API CenterNetHead : public nn::Cloneable<CenterNetHead> {
 public:
  explicit CenterNetHead(const CenterNetHeadOptions& options);
  std::string type_name() const override { return "CenterNetHead"; }
  CenterNetOutput predict(const Tensor& features);
  const CenterNetHeadOptions& options() const { return opt_; }
  // Output stride relative to the input map: the input's stride / 2^(deconv stages).
  int64_t upsample_factor() const { return int64_t{1} << opt_.deconv_channels.size(); }

 private:
  CenterNetHeadOptions opt_;
};

}  // namespace detforge::detection
