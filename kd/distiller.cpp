#include "kd/distiller.h"

#include <algorithm>
#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/reduction.h"
#include "kd/distances.h"
#include "kd/joint_detnas_kd.h"
#include "kd/transforms.h"
#include "tensor/error.h"

namespace detforge::kd {
namespace {

using detection::LossMap;

Tensor zero(const Tensor& like) {
  return Tensor::zeros({}, like.dtype(), like.device());
}

const Tensor& need(const TapMap& m, const std::string& name, const char* who) {
  auto it = m.find(name);
  if (it == m.end()) {
    std::string have;
    for (const auto& [k, v] : m) have += (have.empty() ? "" : ", ") + k;
    throw ConfigError(
        str_cat("[kd.", who, "] the ", who, " has no tap \"", name, "\" (recorded: ", have, ")"));
  }
  return it->second;
}

int64_t level_of(const std::string& name) {
  if (name.rfind("fpn.p", 0) == 0) return std::stoll(name.substr(5));
  return 5;  // backbone.c5
}

// (student, teacher) response tensors of a family, teacher detached.
enum class Head { two_stage, retinanet, centernet };
Head head_of(const TapMap& s, const TapMap& t) {
  auto both = [&](const char* n) { return s.count(n) && t.count(n); };
  if (both("roi.cls_logits")) return Head::two_stage;
  if (both("head.cls_logits")) return Head::retinanet;
  if (both("head.heatmap")) return Head::centernet;
  throw ConfigError(
      "[kd] logits / loc distillation needs a student and a teacher of the same kind of head "
      "(two-stage RoI heads, RetinaNet or CenterNet)");
}

void same_shape(const Tensor& s, const Tensor& t, const char* what) {
  DF_CHECK(s.shape() == t.shape(), ShapeError, "[kd] ", what, ": student ", shape_str(s.shape()),
           " and teacher ", shape_str(t.shape()),
           " differ (the pair needs the same classes / anchors / output stride)");
}

std::pair<Tensor, Tensor> logits_pair(const KdBatch& b) {
  Head h = head_of(b.student, b.teacher);
  Tensor s, t;
  if (h == Head::two_stage) {
    s = b.student.at("roi.cls_logits");
    t = b.teacher.at("roi.cls_logits");
  } else if (h == Head::retinanet) {
    s = b.student.at("head.cls_logits");
    t = b.teacher.at("head.cls_logits");
    same_shape(s, t, "head.cls_logits");
    s = s.reshape({-1, s.size(2)});
    t = t.reshape({-1, t.size(2)});
  } else {
    s = b.student.at("head.heatmap");
    t = b.teacher.at("head.heatmap");
  }
  same_shape(s, t, "logits");
  return {s, t.detach()};
}

// Two-stage regressions of a class-agnostic head ([K, 4]) against a class-specific one
// ([K, 4 (C+1)]): the agnostic one is repeated for every class (the same box whatever the class).
void align_regression(Tensor& s, Tensor& t) {
  if (s.dim() != 2 || t.dim() != 2 || s.size(1) == t.size(1)) return;
  auto rep = [](const Tensor& x, int64_t n) { return cat(std::vector<Tensor>(n, x), 1); };
  if (s.size(1) == 4 && t.size(1) % 4 == 0) s = rep(s, t.size(1) / 4);
  if (t.size(1) == 4 && s.size(1) % 4 == 0) t = rep(t, s.size(1) / 4);
}

Tensor col(const Tensor& x, int64_t j) {
  return x.narrow(1, j, 1).reshape({-1});
}

Tensor deltas_ltrb(const Tensor& d) {
  const double clip = std::log(1000.0 / 16);  // torchvision's BoxCoder bbox_xform_clip
  return ltrb_from(col(d, 0), col(d, 1), exp(clamp(col(d, 2), std::nullopt, clip)),
                   exp(clamp(col(d, 3), std::nullopt, clip)));
}

std::pair<Tensor, Tensor> loc_pair(const KdBatch& b) {
  Head h = head_of(b.student, b.teacher);
  if (h == Head::two_stage) {
    Tensor s = b.student.at("roi.box_regression"), t = b.teacher.at("roi.box_regression");
    align_regression(s, t);
    same_shape(s, t, "roi.box_regression");
    const int64_t k = s.size(0);
    if (s.size(1) != 4) {
      Tensor idx;
      {
        NoGradGuard ng;
        Tensor tl = b.teacher.at("roi.cls_logits").detach();
        Tensor best = add(argmax(tl.narrow(1, 1, tl.size(1) - 1), 1, true), 1.0);  // [K, 1]
        Tensor four = Tensor::from_vector<float>({0, 1, 2, 3}, {1, 4}).to(s.device());
        idx = add(mul(best.to(DType::f32), 4.0), four).to(DType::i64);  // [K, 4]
      }
      s = k ? gather(s, 1, idx) : s.narrow(1, 0, 4);
      t = k ? gather(t.detach(), 1, idx) : t.narrow(1, 0, 4);
    }
    return {deltas_ltrb(s), deltas_ltrb(t.detach())};
  }
  if (h == Head::retinanet) {
    Tensor s = b.student.at("head.box_regression"), t = b.teacher.at("head.box_regression");
    same_shape(s, t, "head.box_regression");
    return {deltas_ltrb(s.reshape({-1, 4})), deltas_ltrb(t.detach().reshape({-1, 4}))};
  }
  auto rows = [](const Tensor& off, const Tensor& wh) {
    Tensor o = logits_rows(off), w = logits_rows(wh);
    return ltrb_from(col(o, 0), col(o, 1), col(w, 0), col(w, 1));
  };
  same_shape(b.student.at("head.wh"), b.teacher.at("head.wh"), "head.wh");
  return {rows(b.student.at("head.offset"), b.student.at("head.wh")),
          rows(b.teacher.at("head.offset").detach(), b.teacher.at("head.wh").detach())};
}

// local_n needs n x n patches: levels smaller than that are skipped for the spec.
int64_t min_side(const DistillerSpec& sp) {
  int64_t m = 1;
  for (const auto& t : sp.transforms)
    if (t.name.rfind("local_", 0) == 0) m = std::max<int64_t>(m, std::stoll(t.name.substr(6)));
  return m;
}

std::vector<Tensor> gt_boxes(const std::vector<data::DetTarget>& targets, Device dev) {
  std::vector<Tensor> out;
  for (const auto& t : targets) out.push_back(t.boxes.to(dev, DType::f32).reshape({-1, 4}));
  return out;
}

}  // namespace

std::vector<std::string> common_feature_levels(const TapMap& s, const TapMap& t) {
  std::vector<std::string> out;
  for (const auto& [name, f] : s) {
    if (name.rfind("fpn.p", 0) != 0) continue;
    auto it = t.find(name);
    if (it != t.end() && it->second.size(2) == f.size(2) && it->second.size(3) == f.size(3))
      out.push_back(name);
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return level_of(a) < level_of(b); });
  if (!out.empty()) return out;
  auto a = s.find("backbone.c5"), b = t.find("backbone.c5");
  DF_CHECK(a != s.end() && b != t.end() && a->second.size(2) == b->second.size(2) &&
               a->second.size(3) == b->second.size(3),
           ShapeError,
           "[kd] the student and the teacher share no feature level (fpn.p<k> or backbone.c5 of "
           "the same size)");
  return {"backbone.c5"};
}

Tensor gt_rois(const std::vector<data::DetTarget>& targets, Device device) {
  std::vector<float> v;
  for (size_t i = 0; i < targets.size(); ++i) {
    Tensor bx = targets[i].boxes.to(kCPU, DType::f32).contiguous();
    const float* p = static_cast<const float*>(bx.data_ptr());
    for (int64_t j = 0; j < bx.numel() / 4; ++j) {
      v.push_back(static_cast<float>(i));
      for (int c = 0; c < 4; ++c) v.push_back(p[j * 4 + c]);
    }
  }
  const int64_t n = static_cast<int64_t>(v.size() / 5);
  return Tensor::from_vector<float>(v, {n, 5}).to(device);
}

Tensor gt_mask(const std::vector<data::DetTarget>& targets, const Shape& fs, double stride,
               DType dtype, Device device) {
  const int64_t n = fs[0], h = fs[2], w = fs[3];
  std::vector<float> m(static_cast<size_t>(n * h * w), 0.f);
  for (int64_t i = 0; i < n && i < static_cast<int64_t>(targets.size()); ++i) {
    Tensor bx = targets[i].boxes.to(kCPU, DType::f32).contiguous();
    const float* p = static_cast<const float*>(bx.data_ptr());
    for (int64_t j = 0; j < bx.numel() / 4; ++j)
      for (int64_t y = 0; y < h; ++y) {
        const double cy = (y + 0.5) * stride;
        if (cy < p[j * 4 + 1] || cy > p[j * 4 + 3]) continue;
        for (int64_t x = 0; x < w; ++x) {
          const double cx = (x + 0.5) * stride;
          if (cx >= p[j * 4] && cx <= p[j * 4 + 2]) m[(i * h + y) * w + x] = 1.f;
        }
      }
  }
  return Tensor::from_vector<float>(m, {n, 1, h, w}).to(device, dtype);
}

Tensor ltrb_from(const Tensor& dx, const Tensor& dy, const Tensor& w, const Tensor& h) {
  Tensor hw = mul(w, 0.5), hh = mul(h, 0.5);
  return stack({sub(hw, dx), sub(hh, dy), add(hw, dx), add(hh, dy)}, 1);
}

// ---- DetKDS ----

DetKdsDistillers::DetKdsDistillers(std::vector<DistillerSpec> specs, const TapMap& ps,
                                   const TapMap& pt, uint64_t seed)
    : specs_(std::move(specs)), seed_(seed) {
  for (size_t i = 0; i < specs_.size(); ++i) validate(specs_[i], str_cat("distillers[", i, "]"));
  bool any_feature = false;
  for (const auto& sp : specs_) any_feature |= is_feature(sp.input);
  if (!any_feature) return;
  const auto levels = common_feature_levels(ps, pt);
  const int64_t cs = ps.at(levels[0]).size(1), ct = pt.at(levels[0]).size(1);
  for (const auto& sp : specs_)
    if (is_feature(sp.input) && cs != ct)
      register_module(str_cat("adapt_", input_name(sp.input)),
                      std::make_shared<FeatureAdaptation>(cs, ct));
  std::vector<std::string> names;
  for (const auto& l : levels)
    if (l == "backbone.c5" || (level_of(l) >= 2 && level_of(l) <= 5)) names.push_back(l);
  if (names.empty()) names.push_back(levels[0]);
  pool_s_ = std::make_shared<detection::MultiScaleRoIAlign>(names, Shape{7}, 2);
  pool_t_ = std::make_shared<detection::MultiScaleRoIAlign>(names, Shape{7}, 2);
}

Tensor DetKdsDistillers::adapt(Input in, const Tensor& s) const {
  const std::string n = str_cat("adapt_", input_name(in));
  for (const auto& [name, m] : named_children())
    if (name == n) return m->forward(s);
  return s;
}

LossMap DetKdsDistillers::losses(const KdBatch& b, int64_t step) {
  LossMap out;
  const uint64_t seed = seed_ + static_cast<uint64_t>(step);
  for (const auto& sp : specs_) {
    const std::string name = str_cat("kd.", input_name(sp.input));
    if (sp.input == Input::global || sp.input == Input::fgbg) {
      std::vector<std::string> levels;
      for (const auto& l : common_feature_levels(b.student, b.teacher))
        if (b.student.at(l).size(2) >= min_side(sp) && b.student.at(l).size(3) >= min_side(sp))
          levels.push_back(l);
      DF_CHECK(!levels.empty(), ShapeError, "[kd] ", to_string(sp),
               ": no common feature level is at least ", min_side(sp), "x", min_side(sp));
      Tensor acc, acc_bg;
      for (const auto& l : levels) {
        Tensor s = adapt(sp.input, b.student.at(l)), t = b.teacher.at(l).detach();
        if (sp.input == Input::global) {
          Tensor v = distiller_loss(sp, s, t, seed);
          acc = acc.defined() ? add(acc, v) : v;
        } else {
          Tensor m = gt_mask(b.targets, s.shape(), static_cast<double>(b.image_h) / s.size(2),
                             s.dtype(), s.device());
          Tensor bg = sub(Tensor::ones({}, m.dtype(), m.device()), m);
          Tensor fgv = distiller_loss(sp, mul(s, m), mul(t, m), seed);
          Tensor bgv = distiller_loss(sp, mul(s, bg), mul(t, bg), seed);
          acc = acc.defined() ? add(acc, fgv) : fgv;
          acc_bg = acc_bg.defined() ? add(acc_bg, bgv) : bgv;
        }
      }
      const double nl = static_cast<double>(levels.size());
      if (sp.input == Input::global) {
        out.push_back({name, div(acc, nl)});
      } else {
        out.push_back({name + ".fg", div(acc, nl)});
        out.push_back({name + ".bg", div(acc_bg, nl)});
      }
    } else if (sp.input == Input::instance) {
      const auto levels = common_feature_levels(b.student, b.teacher);
      const Tensor& s0 = b.student.at(levels[0]);
      std::vector<Tensor> boxes = gt_boxes(b.targets, s0.device());
      int64_t g = 0;
      for (const auto& x : boxes) g += x.size(0);
      if (g == 0) {
        out.push_back({name, zero(s0)});
        continue;
      }
      std::map<std::string, Tensor> ms, mt;
      for (const auto& l : levels) {
        ms[l] = b.student.at(l);
        mt[l] = b.teacher.at(l).detach();
      }
      std::vector<std::pair<int64_t, int64_t>> shapes(b.targets.size(), {b.image_h, b.image_w});
      Tensor s = adapt(sp.input, (*pool_s_)(ms, boxes, shapes));
      Tensor t;
      {
        NoGradGuard ng;
        t = (*pool_t_)(mt, boxes, shapes);
      }
      out.push_back({name, distiller_loss(sp, s, t, seed)});
    } else {
      auto [s, t] = sp.input == Input::logits ? logits_pair(b) : loc_pair(b);
      if (s.numel() == 0) {
        out.push_back({name, zero(s)});
        continue;
      }
      out.push_back({name, distiller_loss(sp, s, t, seed)});
    }
  }
  return out;
}

// ---- Joint-DetNAS ----

JointDetnasDistiller::JointDetnasDistiller(const JointDetnasOptions& o, const TapMap& ps,
                                           const TapMap& pt)
    : opt_(o) {
  const auto levels = common_feature_levels(ps, pt);
  register_module("adapt", std::make_shared<FeatureAdaptation>(ps.at(levels[0]).size(1),
                                                               pt.at(levels[0]).size(1)));
}

LossMap JointDetnasDistiller::losses(const KdBatch& b, int64_t /*step*/) {
  LossMap out;
  Head h = head_of(b.student, b.teacher);
  // Feature KD on object proposals.
  const auto levels = common_feature_levels(b.student, b.teacher);
  std::vector<FeatureKdLevel> fl;
  for (const auto& l : levels) fl.push_back({b.student.at(l), b.teacher.at(l), level_of(l)});
  Tensor rois;
  if (h == Head::two_stage) {
    NoGradGuard ng;
    Tensor r = need(b.student, "roi.rois", "student");
    Tensor lab = need(b.student, "roi.labels", "student").to(kCPU, DType::i64).contiguous();
    std::vector<int64_t> keep;
    const int64_t* p = static_cast<const int64_t*>(lab.data_ptr());
    for (int64_t i = 0; i < lab.numel(); ++i)
      if (p[i] > 0) keep.push_back(i);
    const int64_t nk = static_cast<int64_t>(keep.size());
    rois = index_select(r.detach(), 0, Tensor::from_vector<int64_t>(keep, {nk}).to(r.device()));
  } else {
    rois = gt_rois(b.targets, fl[0].student.device());
  }
  out.push_back(
      {"kd.feat", mul(jd_feature_loss(fl, rois, child<FeatureAdaptation>("adapt"), opt_.roi_size),
                      opt_.feat_weight)});
  // Prediction KD.
  auto [s, t] = logits_pair(b);
  s = logits_rows(s);
  t = logits_rows(t);
  out.push_back({"kd.cls", mul(jd_cls_loss(s, t, opt_.temperature), opt_.cls_weight)});
  Tensor loc;
  if (h == Head::two_stage) {
    Tensor sr = b.student.at("roi.box_regression"), tr = b.teacher.at("roi.box_regression");
    align_regression(sr, tr);
    same_shape(sr, tr, "roi.box_regression");
    const int64_t c1 = t.size(1);
    loc = jd_loc_loss(jd_foreground_reg(sr, c1), jd_foreground_reg(tr.detach(), c1),
                      jd_foreground_probs(t));
  } else {
    Tensor probs;
    {
      NoGradGuard ng;
      probs = sigmoid(t.detach());
    }
    Tensor sr, tr;
    if (h == Head::retinanet) {
      sr = b.student.at("head.box_regression").reshape({-1, 4});
      tr = b.teacher.at("head.box_regression").detach().reshape({-1, 4});
    } else {
      sr = cat({logits_rows(b.student.at("head.wh")), logits_rows(b.student.at("head.offset"))}, 1);
      tr = cat({logits_rows(b.teacher.at("head.wh")), logits_rows(b.teacher.at("head.offset"))}, 1)
               .detach();
    }
    same_shape(sr, tr, "box regression");
    loc = jd_loc_loss(sr, tr, probs);
  }
  out.push_back({"kd.loc", mul(loc, opt_.loc_weight)});
  return out;
}

}  // namespace detforge::kd
