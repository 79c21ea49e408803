#include "detection/centernet.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/centernet_focal_loss.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/loss.h"
#include "autograd/nms.h"
#include "kd/taps.h"
#include "nn/json_reader.h"
#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/view_ops.h"

namespace detforge::detection {
namespace {
constexpr const char* kWho = "detection.centernet";
}  // namespace

Tensor centernet_reg_l1_loss(const Tensor& pred, const Tensor& index, const Tensor& mask,
                             const Tensor& target) {
  DF_CHECK(pred.dim() == 4 && index.dim() == 2 && index.size(0) == pred.size(0) &&
               mask.shape() == index.shape() && target.dim() == 3 &&
               target.size(0) == index.size(0) && target.size(1) == index.size(1) &&
               target.size(2) == pred.size(1),
           ShapeError, "[centernet_reg_l1_loss] pred ", shape_str(pred.shape()), ", index ",
           shape_str(index.shape()), ", mask ", shape_str(mask.shape()), " and target ",
           shape_str(target.shape()), " must be [B, D, H, W], [B, K], [B, K], [B, K, D]");
  const int64_t B = pred.size(0), D = pred.size(1), K = index.size(1);
  const Device dev = pred.device();
  Tensor flat = pred.reshape({B, D, pred.size(2) * pred.size(3)});
  Tensor idx = raw::contiguous(raw::to(index, dev, DType::i64).unsqueeze(1).expand({B, D, K}));
  Tensor gathered = gather(flat, 2, idx);                              // [B, D, K]
  Tensor m = raw::to(mask, dev, pred.dtype()).unsqueeze(1);            // [B, 1, K]
  Tensor tgt = raw::to(target, dev, pred.dtype()).permute({0, 2, 1});  // [B, D, K]
  Tensor l = l1_loss(mul(gathered, m), mul(tgt, m), "sum");
  // Normaliser: the expanded mask's sum (D per object) + 1e-4, read from the CPU target.
  double msum = 0;
  for (double v : raw::to(mask, kCPU, DType::f64).to_vector<double>()) msum += v;
  msum *= static_cast<double>(D);
  return div(l, msum + 1e-4);
}

std::vector<Detections> centernet_decode(const Tensor& logits, const Tensor& wh_t,
                                         const Tensor& off_t, const ImageSizes& sizes, int64_t K,
                                         double score_thresh, int64_t stride) {
  DF_CHECK(logits.dim() == 4 && wh_t.dim() == 4 && off_t.dim() == 4 && wh_t.size(1) == 2 &&
               off_t.size(1) == 2 && wh_t.size(0) == logits.size(0) &&
               off_t.size(0) == logits.size(0) && wh_t.size(2) == logits.size(2) &&
               wh_t.size(3) == logits.size(3) && off_t.size(2) == logits.size(2) &&
               off_t.size(3) == logits.size(3),
           ShapeError, "[centernet_decode] heatmap ", shape_str(logits.shape()), ", wh ",
           shape_str(wh_t.shape()), " and offset ", shape_str(off_t.shape()),
           " must be [B, C, H, W], [B, 2, H, W], [B, 2, H, W]");
  const int64_t B = logits.size(0), C = logits.size(1), H = logits.size(2), W = logits.size(3);
  DF_CHECK(static_cast<int64_t>(sizes.size()) == B, ShapeError, "[centernet_decode] ", sizes.size(),
           " image sizes for a batch of ", B);
  NoGradGuard ng;
  Tensor heat = raw::contiguous(raw::to(sigmoid(raw::detach(logits)), kCPU, DType::f32));
  Tensor wh = raw::contiguous(raw::to(raw::detach(wh_t), kCPU, DType::f32));
  Tensor off = raw::contiguous(raw::to(raw::detach(off_t), kCPU, DType::f32));
  const float* hp = static_cast<const float*>(heat.data_ptr());
  const float* whp = static_cast<const float*>(wh.data_ptr());
  const float* op = static_cast<const float*>(off.data_ptr());
  const int64_t HW = H * W;
  // Peak scores: heat where it equals its 3x3 max (padding -inf), else 0. The 3x3 max is separable:
  // a horizontal 3-max per row, then the vertical 3-max of those rows. Planes run in parallel.
  Tensor peak_t = Tensor::empty({B * C, HW}, DType::f32);
  float* peak = static_cast<float*>(peak_t.data_ptr());
  parallel_for(0, B * C, 1, [&](int64_t p0, int64_t p1) {
    std::vector<float> rowmax(static_cast<size_t>(HW));
    for (int64_t pl = p0; pl < p1; ++pl) {
      const float* m = hp + pl * HW;
      float* r = rowmax.data();
      for (int64_t y = 0; y < H; ++y) {
        const float* a = m + y * W;
        float* o = r + y * W;
        for (int64_t x = 0; x < W; ++x) {
          float v = a[x];
          if (x > 0) v = std::max(v, a[x - 1]);
          if (x + 1 < W) v = std::max(v, a[x + 1]);
          o[x] = v;
        }
      }
      float* dst = peak + pl * HW;
      for (int64_t y = 0; y < H; ++y) {
        const float* c = r + y * W;
        const float* u = y > 0 ? r + (y - 1) * W : c;
        const float* d = y + 1 < H ? r + (y + 1) * W : c;
        const float* a = m + y * W;
        float* o = dst + y * W;
#pragma omp simd
        for (int64_t x = 0; x < W; ++x) {
          const float hmax = std::max(std::max(u[x], d[x]), c[x]);
          o[x] = hmax == a[x] ? a[x] : 0.0f;
        }
      }
    }
  });
  std::vector<Detections> out(static_cast<size_t>(B));
  parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      // Candidates: score (peak value or 0) > score_thresh.
      std::vector<std::pair<float, int64_t>> cand;
      const float* pb = peak + b * C * HW;
      for (int64_t i = 0; i < C * HW; ++i)
        if (static_cast<double>(pb[i]) > score_thresh) cand.emplace_back(pb[i], i);
      auto before = [](const std::pair<float, int64_t>& a, const std::pair<float, int64_t>& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      };
      const int64_t n = std::min<int64_t>(std::max<int64_t>(K, 0), cand.size());
      std::partial_sort(cand.begin(), cand.begin() + n, cand.end(), before);
      Detections& d = out[static_cast<size_t>(b)];
      d.boxes = Tensor::empty({n, 4}, DType::f32);
      d.scores = Tensor::empty({n}, DType::f32);
      d.labels = Tensor::empty({n}, DType::i64);
      float* bx = static_cast<float*>(d.boxes.data_ptr());
      float* sc = static_cast<float*>(d.scores.data_ptr());
      int64_t* lb = static_cast<int64_t*>(d.labels.data_ptr());
      const float ih = static_cast<float>(sizes[static_cast<size_t>(b)][0]);
      const float iw = static_cast<float>(sizes[static_cast<size_t>(b)][1]);
      const float sf = static_cast<float>(stride);
      auto clip = [](float v, float hi) { return std::min(std::max(v, 0.0f), hi); };
      for (int64_t i = 0; i < n; ++i) {
        const int64_t idx = cand[static_cast<size_t>(i)].second;
        const int64_t c = idx / HW, pix = idx % HW;
        const float xs = static_cast<float>(pix % W) + op[(b * 2) * HW + pix];
        const float ys = static_cast<float>(pix / W) + op[(b * 2 + 1) * HW + pix];
        const float w = whp[(b * 2) * HW + pix], h = whp[(b * 2 + 1) * HW + pix];
        bx[4 * i] = clip((xs - w / 2.0f) * sf, iw);
        bx[4 * i + 1] = clip((ys - h / 2.0f) * sf, ih);
        bx[4 * i + 2] = clip((xs + w / 2.0f) * sf, iw);
        bx[4 * i + 3] = clip((ys + h / 2.0f) * sf, ih);
        sc[i] = cand[static_cast<size_t>(i)].first;
        lb[i] = c + 1;
      }
    }
  });
  return out;
}

CenterNet::CenterNet(std::shared_ptr<Backbone> backbone, const NeckConfig& neck,
                     const HeadConfig& head, const CenterNetOptions& o)
    : opt_(o) {
  DF_CHECK(backbone != nullptr, ConfigError, "[", kWho, "] no backbone");
  DF_CHECK(neck.type == "none" || neck.type == "fpn", ConfigError, "[", kWho,
           "] neck: expected none or fpn, got ", neck.type);
  const auto channels = backbone->feature_channels();
  register_module("backbone", backbone);
  int64_t in_channels = channels.back(), in_stride = 32;
  if (neck.type == "fpn") {
    register_module("neck", build_neck(neck, channels));
    in_levels_ = neck.in_levels;
    in_channels = neck.out_channels;
    in_stride = int64_t{1} << neck.in_levels.front();
  }
  HeadConfig h = head;
  h.num_classes = o.num_classes;
  auto hd = register_module("head", build_centernet_head(h, in_channels));
  stride_ = in_stride / hd->upsample_factor();
  DF_CHECK(stride_ * hd->upsample_factor() == in_stride && stride_ == 4, ConfigError, "[", kWho,
           "] head.deconv_channels: ", h.deconv_channels.size(),
           " up-convolutions take the stride-", in_stride,
           " input to an output stride other than 4 (use 3 from C5, none from P2)");
  postprocess.score_thresh = o.score_thresh;
  postprocess.nms_thresh = o.nms_thresh;
  postprocess.max_detections = o.topk;
}

CenterNetOutput CenterNet::predict(const Tensor& images) {
  auto feats = child<Backbone>("backbone").forward_features(images);
  kd::tap_backbone(feats);
  Tensor x;
  if (in_levels_.empty()) {
    x = feats.back();
  } else {
    auto pyramid = child<FeaturePyramidNetwork>("neck").forward(select_levels(feats, in_levels_));
    kd::tap_pyramid(pyramid, images.size(2));
    x = pyramid.front().second;
  }
  CenterNetOutput out = child<CenterNetHead>("head").predict(x);
  if (kd::tapping()) {
    kd::tap("head.heatmap", out.heatmap);
    kd::tap("head.wh", out.wh);
    kd::tap("head.offset", out.offset);
  }
  return out;
}

LossMap CenterNet::forward_train(const Tensor& images, const ImageSizes& sizes,
                                 const std::vector<data::DetTarget>& targets) {
  DF_CHECK(targets.size() == sizes.size() && static_cast<int64_t>(targets.size()) == images.size(0),
           ShapeError, "[", kWho, "] ", targets.size(), " targets and ", sizes.size(),
           " sizes for a batch of ", images.size(0));
  CenterNetOutput out = predict(images);
  const int64_t oh = out.heatmap.size(2), ow = out.heatmap.size(3);
  CenterNetTargetOptions to;
  to.num_classes = opt_.num_classes;
  to.stride = stride_;
  to.max_objs = opt_.max_objs;
  to.min_overlap = opt_.min_overlap;
  CenterNetTargets t = build_centernet_targets(targets, oh, ow, to);
  const Device dev = out.heatmap.device();
  Tensor hm =
      centernet_heatmap_focal_loss(out.heatmap, raw::to(t.heatmap, dev, out.heatmap.dtype()));
  Tensor wh = centernet_reg_l1_loss(out.wh, t.index, t.mask, t.wh);
  Tensor off = centernet_reg_l1_loss(out.offset, t.index, t.mask, t.offset);
  return {{"hm_loss", mul(hm, opt_.hm_weight)},
          {"wh_loss", mul(wh, opt_.wh_weight)},
          {"off_loss", mul(off, opt_.off_weight)}};
}

std::vector<Detections> CenterNet::forward_eval(const Tensor& images, const ImageSizes& sizes) {
  NoGradGuard ng;
  CenterNetOutput out = predict(images);
  auto dets = centernet_decode(out.heatmap, out.wh, out.offset, sizes, opt_.topk, opt_.score_thresh,
                               stride_);
  if (!opt_.nms) return dets;
  for (auto& d : dets) {
    if (d.scores.numel() == 0) continue;
    Tensor keep = batched_nms(d.boxes, d.scores, d.labels, opt_.nms_thresh);
    d.boxes = index_select(d.boxes, 0, keep);
    d.scores = index_select(d.scores, 0, keep);
    d.labels = index_select(d.labels, 0, keep);
  }
  return dets;
}

std::shared_ptr<Detector> build_centernet(const nlohmann::json& model, const std::string& path) {
  nn::JsonReader r(model, path, kWho);
  r.allow({"type", "backbone", "neck", "head", "num_classes", "max_objs", "min_overlap",
           "loss_weights", "postprocess"});
  if (!r.has("backbone")) r.fail("backbone", "a backbone object");
  NeckConfig neck;
  if (r.has("neck")) {
    neck = parse_neck(model.at("neck"), r.key_path("neck"));
    if (neck.type != "none" && neck.type != "fpn") r.fail("neck", "\"none\" or an fpn neck");
  }
  nlohmann::json hj = r.get_object("head");
  if (!hj.contains("type")) hj["type"] = "centernet";
  HeadConfig head = parse_head(hj, r.key_path("head"));
  if (head.type != "centernet") r.fail("head", "a centernet head");
  CenterNetOptions o;
  o.num_classes = r.get_int("num_classes", o.num_classes, 1);
  if (hj.contains("num_classes") && head.num_classes != o.num_classes)
    r.fail("head", str_cat("num_classes equal to the model's ", o.num_classes));
  if (neck.type == "none" && !hj.contains("deconv_channels")) head.deconv_channels = {256, 128, 64};
  if (neck.type == "fpn" && !hj.contains("deconv_channels")) head.deconv_channels.clear();
  o.max_objs = r.get_int("max_objs", o.max_objs, 1);
  o.min_overlap = r.get_double("min_overlap", o.min_overlap, 0.0);
  if (o.min_overlap >= 1.0) r.fail("min_overlap", "a number in [0, 1)");
  nn::JsonReader lw(r.get_object("loss_weights"), r.key_path("loss_weights"), kWho);
  lw.allow({"hm", "wh", "off"});
  o.hm_weight = lw.get_double("hm", o.hm_weight, 0.0);
  o.wh_weight = lw.get_double("wh", o.wh_weight, 0.0);
  o.off_weight = lw.get_double("off", o.off_weight, 0.0);
  nn::JsonReader pp(r.get_object("postprocess"), r.key_path("postprocess"), kWho);
  pp.allow({"K", "score_thresh", "nms", "nms_thresh"});
  o.topk = pp.get_int("K", o.topk, 1);
  o.score_thresh = pp.get_double("score_thresh", o.score_thresh);
  o.nms = pp.get_bool("nms", o.nms);
  o.nms_thresh = pp.get_double("nms_thresh", o.nms_thresh, 0.0);
  // The backbone last: every other key is validated before the (slow) weight initialisation.
  auto backbone = build_backbone(model.at("backbone"), r.key_path("backbone"));
  return std::make_shared<CenterNet>(backbone, neck, head, o);
}

DF_REGISTER_DETECTOR("centernet", build_centernet);

}  // namespace detforge::detection
