// Detection transforms: keep-ratio resize (torchvision GeneralizedRCNNTransform / mmdetection
// Resize(keep_ratio=True)), horizontal flip, per-channel normalisation, zero padding to a multiple
// of the largest stride, and collation. Resize, flip and normalise run as ONE pass from the decoded
// u8 HWC image into the (padded) f32 CHW destination. Bilinear interpolation equals
// torch.nn.functional.interpolate(x.float(), mode="bilinear", align_corners=False, antialias=False)
// (tests/data/det_transforms_test.cpp replays a torchvision fixture). Serial per image: the loader
// parallelises over images with its worker threads. See docs/data.md, "Transforms and loader".
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "data/det_sample.h"
#include "tensor/tensor.h"

namespace detforge::data {

// A (short, long) resize target: the image is scaled by
//   scale = min(short_side / min(h, w), long_side / max(h, w))
// so the short side reaches short_side unless the long side would then exceed long_side.
struct ResizeSize {
  int64_t short_side = 800, long_side = 1333;
  bool operator==(const ResizeSize& o) const {
    return short_side == o.short_side && long_side == o.long_side;
  }
};

// How the scaled size is rounded:
//  torchvision: scale = min(short * (1/min), long * (1/max)) in float32 (torch's scalar / tensor),
//               size = floor(double(h) * scale) (GeneralizedRCNNTransform, interpolate with
//               recompute_scale_factor=True); (800, 1333): 480x640 -> 800x1066, 427x640 ->
//               799x1199.
//  mmdet:       scale in double, size = int(h * scale + 0.5) (mmcv.imrescale); 480x640 -> 800x1067,
//               427x640 -> 800x1199.
// In both, the box scale factors are the realised ratios new/old per axis.
enum class ResizeRounding { torchvision, mmdet };

// (height, width) after the keep-ratio resize. ConfigError for non-positive sizes.
DETFORGE_API std::array<int64_t, 2> keep_ratio_size(
    int64_t height, int64_t width, ResizeSize size,
    ResizeRounding rounding = ResizeRounding::torchvision);

// out = (x - mean[c]) / std[c] with x in 0..255 (the decoded u8 value, bilinearly interpolated).
// So mean/std are in 0..255 units (mmdetection's convention). torchvision's 0..1 values
// (mean 0.485.., std 0.229..) on x/255 give the same result: multiply both by 255 (imagenet()).
// unit(): x / 255 (0..1, no centring); none(): raw 0..255 floats.
struct Normalize {
  std::array<float, 3> mean{123.675f, 116.28f, 103.53f};  // RGB, ImageNet
  std::array<float, 3> std{58.395f, 57.12f, 57.375f};
  static Normalize imagenet() { return {}; }
  static Normalize unit() { return {{0.f, 0.f, 0.f}, {255.f, 255.f, 255.f}}; }
  static Normalize none() { return {{0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}}; }
};

struct TransformConfig {
  ResizeRounding rounding = ResizeRounding::torchvision;
  Normalize normalize;
  int64_t size_divisor =
      32;                  // padded H and W are multiples of it (the largest FPN stride); 1 = none
  bool clip_boxes = true;  // clip resized boxes to the image (mmdetection's Resize does)
};

// ---- the fused image kernel
// ----------------------------------------------------------------------- src: u8 [ih, iw,
// channels] contiguous (channels 3 = RGB, or 1 = grey, replicated to 3). dst: 3 planes of oh x ow
// floats, element (c, y, x) at dst[c * plane_stride + y * row_stride + x]. flip mirrors the output
// horizontally (equal to resizing, then flipping). Touches nothing else of dst (padding is
// zero_padding's job).
DETFORGE_API void resize_flip_normalize_u8(const uint8_t* src, int64_t ih, int64_t iw,
                                           int64_t channels, float* dst, int64_t oh, int64_t ow,
                                           int64_t row_stride, int64_t plane_stride, bool flip,
                                           const Normalize& norm);

// Zeroes the part of each of the `planes` planes (H x W, contiguous) outside the top-left oh x ow.
DETFORGE_API void zero_padding(float* dst, int64_t planes, int64_t H, int64_t W, int64_t oh,
                               int64_t ow);

// Tensor form: image u8 [H, W, 3|1] (CPU; any strides) -> f32 [3, oh, ow] contiguous.
DETFORGE_API Tensor resize_normalize(const Tensor& image, int64_t oh, int64_t ow, bool flip = false,
                                     const Normalize& norm = Normalize());

// ---- boxes (f32 [n, 4] xyxy; new tensors, inputs untouched)
// ---------------------------------------
DETFORGE_API Tensor scale_boxes(const Tensor& boxes, float scale_x, float scale_y);
// x1' = width - x2, x2' = width - x1 (y unchanged); applying it twice is the identity.
DETFORGE_API Tensor hflip_boxes(const Tensor& boxes, int64_t width);
DETFORGE_API Tensor clip_boxes(const Tensor& boxes, int64_t height, int64_t width);

// The target of an image of size orig_h x orig_w resized to h x w (and flipped): scaled by the
// realised ratios, clipped when cfg.clip_boxes, then flipped. boxes f32 [n, 4] xyxy in original
// pixels (ShapeError otherwise), labels i64 [n].
DETFORGE_API DetTarget transform_target(const Tensor& boxes, const Tensor& labels, int64_t orig_h,
                                        int64_t orig_w, int64_t h, int64_t w, bool flip,
                                        const TransformConfig& cfg);

// One image end to end: u8 [H, W, 3|1] + its boxes/labels -> resized, flipped, normalised sample
// (not padded). image_id/file_name are copied into the target.
DETFORGE_API DetSample transform_sample(const Tensor& image, const Tensor& boxes,
                                        const Tensor& labels, ResizeSize size, bool flip,
                                        const TransformConfig& cfg, int64_t image_id = 0,
                                        const std::string& file_name = "");

// ---- padding and collation
// ------------------------------------------------------------------------ (H, W): the per-axis
// maxima rounded up to a multiple of divisor (torchvision batch_images).
DETFORGE_API std::array<int64_t, 2> padded_size(const std::vector<std::array<int64_t, 2>>& sizes,
                                                int64_t divisor);
// Stacks samples' f32 [3, h, w] images into f32 [B, 3, H, W] zero-padded bottom/right.
// ShapeError for an empty list or a non-[3, h, w] image.
DETFORGE_API DetBatch collate(const std::vector<DetSample>& samples, int64_t size_divisor = 32);

}  // namespace detforge::data
