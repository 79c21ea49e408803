// COCOeval (bbox) re-implemented from pycocotools' published algorithm; docs/coco_eval.md.
// pycocotools computes in IEEE double without fused multiply-adds (x86-64 baseline wheels); GCC
// contracts a*b+c into an FMA under -march=x86-64-v3 by default in C++, which would change IoUs in
// the last bit and so flip matches at a threshold. Contraction is switched off for this file.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "detection/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "tensor/error.h"
#include "tensor/parallel.h"

namespace detforge::detection {

namespace {

// numpy's pairwise summation (add.reduce over a contiguous float64 array), so means equal np.mean.
double pairwise_sum(const double* a, int64_t n) {
  if (n < 8) {
    double res = 0.;
    for (int64_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// maskApi.c bbIou for one pair: boxes xywh; a crowd GT divides by the detection's area.
inline double box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
  double w = std::min(d[2] + d[0], g[2] + g[0]) - std::max(d[0], g[0]);
  if (w <= 0) return 0;
  double h = std::min(d[3] + d[1], g[3] + g[1]) - std::max(d[1], g[1]);
  if (h <= 0) return 0;
  double ga = g[2] * g[3], da = d[2] * d[3];
  double i = w * h;
  double u = crowd ? da : da + ga - i;
  return i / u;
}

// Descending score order of np.argsort(-score, kind='mergesort') (NaN scores last); used with
// stable sorts.
inline bool score_before(double x, double y) {
  if (std::isnan(y)) return !std::isnan(x);
  return x > y;
}

// Per (area range, threshold, detection) state bits.
constexpr uint8_t kIgnored = 1;  // dtIgnore
constexpr uint8_t kMatched = 2;  // dtMatches != 0 (matched to a GT whose id is not 0)

int64_t index_of(const std::vector<int64_t>& sorted, int64_t id) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), id);
  return (it != sorted.end() && *it == id) ? it - sorted.begin() : -1;
}

}  // namespace

CocoEvalParams::CocoEvalParams() {
  // np.linspace(.5, 0.95, 10): i * ((0.95 - 0.5) / 9) + 0.5 with the last set to 0.95 exactly.
  iou_thresholds = {0x1.0000000000000p-1, 0x1.199999999999ap-1, 0x1.3333333333333p-1,
                    0x1.4cccccccccccdp-1, 0x1.6666666666666p-1, 0x1.8000000000000p-1,
                    0x1.999999999999ap-1, 0x1.b333333333333p-1, 0x1.cccccccccccccp-1,
                    0x1.e666666666666p-1};
  // np.linspace(0, 1, 101): i * 0.01 (+ 0.0), the last 1.0.
  recall_thresholds.resize(101);
  for (int i = 0; i < 100; ++i) recall_thresholds[i] = static_cast<double>(i) * 0.01;
  recall_thresholds[100] = 1.0;
}

const std::array<const char*, 12>& CocoEvalSummary::keys() {
  static const std::array<const char*, 12> k{"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                                             "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
  return k;
}

CocoEvaluator::CocoEvaluator(const data::CocoDataset& gt, std::vector<CocoDetection> dt,
                             CocoEvalParams params)
    : params_(std::move(params)), dts_(std::move(dt)) {
  DF_CHECK(!params_.iou_thresholds.empty() && !params_.recall_thresholds.empty() &&
               !params_.max_dets.empty() && !params_.area_ranges.empty() &&
               params_.area_ranges.size() == params_.area_labels.size(),
           ConfigError,
           "[coco eval] params need IoU thresholds, recall thresholds, max_dets and one label per "
           "area range");
  std::sort(params_.max_dets.begin(),
            params_.max_dets.end());  // evaluate(): p.maxDets = sorted(p.maxDets)
  for (const auto& im : gt.images) img_ids_.push_back(im.id);
  for (const auto& c : gt.categories) cat_ids_.push_back(c.id);
  std::sort(img_ids_.begin(), img_ids_.end());  // np.unique(sorted(getImgIds()))
  img_ids_.erase(std::unique(img_ids_.begin(), img_ids_.end()), img_ids_.end());
  std::sort(cat_ids_.begin(), cat_ids_.end());
  cat_ids_.erase(std::unique(cat_ids_.begin(), cat_ids_.end()), cat_ids_.end());

  // loadRes: every result's image must be a GT image.
  for (size_t i = 0; i < dts_.size(); ++i)
    DF_CHECK(index_of(img_ids_, dts_[i].image_id) >= 0, ConfigError, "[coco eval] detection [", i,
             "] has image_id ", dts_[i].image_id,
             ", which is not an image of the ground truth (pycocotools: 'Results do not correspond "
             "to current coco set')");

  const int64_t I = static_cast<int64_t>(img_ids_.size());
  auto key_of = [I](int64_t k, int64_t i) { return k * I + i; };

  // GT: _prepare's loadAnns(getAnnIds(imgIds, catIds)). getAnnIds walks the sorted images and each
  // image's annotations in file order, keeping those of an evaluated category; loadAnns then looks
  // every id up in a dict, so with duplicated annotation ids all of them resolve to the last one.
  const auto& anns = gt.annotations;
  std::unordered_map<int64_t, int64_t> last_with_id;
  last_with_id.reserve(anns.size());
  std::vector<int64_t> ann_img(anns.size()), ann_cat(anns.size());
  for (size_t j = 0; j < anns.size(); ++j) {
    last_with_id[anns[j].id] = static_cast<int64_t>(j);
    ann_img[j] = index_of(img_ids_, anns[j].image_id);
    ann_cat[j] = index_of(cat_ids_, anns[j].category_id);
  }
  std::vector<int64_t> walk;
  for (size_t j = 0; j < anns.size(); ++j)
    if (ann_img[j] >= 0 && ann_cat[j] >= 0) walk.push_back(static_cast<int64_t>(j));
  std::stable_sort(walk.begin(), walk.end(),
                   [&](int64_t a, int64_t b) { return ann_img[a] < ann_img[b]; });
  std::vector<std::pair<int64_t, int64_t>> gt_keyed;  // (cell key, resolved annotation), walk order
  for (int64_t j : walk) {
    int64_t r = last_with_id[anns[j].id];
    if (ann_img[r] < 0 || ann_cat[r] < 0) continue;  // lands in a (image, category) never evaluated
    gt_keyed.emplace_back(key_of(ann_cat[r], ann_img[r]), r);
  }
  std::stable_sort(gt_keyed.begin(), gt_keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  // DT: results of an evaluated category, grouped per (category, image) in results order.
  std::vector<std::pair<int64_t, int64_t>> dt_keyed;
  for (size_t i = 0; i < dts_.size(); ++i) {
    int64_t k = index_of(cat_ids_, dts_[i].category_id);
    if (k < 0) continue;
    dt_keyed.emplace_back(key_of(k, index_of(img_ids_, dts_[i].image_id)), static_cast<int64_t>(i));
  }
  std::stable_sort(dt_keyed.begin(), dt_keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  // Cells: the union of the keys, in (category, image) order.
  const int64_t max_det = params_.max_dets.back();
  cell_gt_begin_.push_back(0);
  cell_dt_begin_.push_back(0);
  size_t gi = 0, di = 0;
  while (gi < gt_keyed.size() || di < dt_keyed.size()) {
    int64_t key = std::min(gi < gt_keyed.size() ? gt_keyed[gi].first : INT64_MAX,
                           di < dt_keyed.size() ? dt_keyed[di].first : INT64_MAX);
    for (; gi < gt_keyed.size() && gt_keyed[gi].first == key; ++gi) {
      int64_t r = gt_keyed[gi].second;
      cell_gt_.push_back(static_cast<int64_t>(gt_id_.size()));
      gt_id_.push_back(anns[r].id);
      gt_box_.push_back(anns[r].bbox);
      gt_area_.push_back(anns[r].area);
      gt_crowd_.push_back(anns[r].iscrowd ? 1 : 0);
    }
    size_t d0 = cell_dt_.size();
    for (; di < dt_keyed.size() && dt_keyed[di].first == key; ++di)
      cell_dt_.push_back(dt_keyed[di].second);
    // computeIoU / evaluateImg: np.argsort(-score, kind='mergesort'), then [:maxDets[-1]].
    std::stable_sort(cell_dt_.begin() + d0, cell_dt_.end(), [&](int64_t a, int64_t b) {
      return score_before(dts_[a].score, dts_[b].score);
    });
    if (static_cast<int64_t>(cell_dt_.size() - d0) > max_det) cell_dt_.resize(d0 + max_det);
    cell_cat_.push_back(static_cast<int32_t>(I > 0 ? key / I : 0));
    cell_img_.push_back(static_cast<int32_t>(I > 0 ? key % I : 0));
    cell_gt_begin_.push_back(static_cast<int64_t>(cell_gt_.size()));
    cell_dt_begin_.push_back(static_cast<int64_t>(cell_dt_.size()));
  }
  const int64_t K = static_cast<int64_t>(cat_ids_.size());
  cat_cell_begin_.assign(K + 1, 0);
  for (int32_t k : cell_cat_) ++cat_cell_begin_[k + 1];
  for (int64_t k = 0; k < K; ++k) cat_cell_begin_[k + 1] += cat_cell_begin_[k];
}

void CocoEvaluator::evaluate() {
  const int64_t C = static_cast<int64_t>(cell_cat_.size());
  const int64_t A = static_cast<int64_t>(params_.area_ranges.size());
  const int64_t T = static_cast<int64_t>(params_.iou_thresholds.size());
  iou_begin_.assign(C + 1, 0);
  ca_gt_begin_.assign(C * A + 1, 0);
  ca_td_begin_.assign(C * A + 1, 0);
  for (int64_t c = 0; c < C; ++c) {
    int64_t G = cell_gt_begin_[c + 1] - cell_gt_begin_[c],
            D = cell_dt_begin_[c + 1] - cell_dt_begin_[c];
    iou_begin_[c + 1] = iou_begin_[c] + G * D;
    for (int64_t a = 0; a < A; ++a) {
      ca_gt_begin_[c * A + a + 1] = ca_gt_begin_[c * A + a] + G;
      ca_td_begin_[c * A + a + 1] = ca_td_begin_[c * A + a] + T * D;
    }
  }
  iou_.assign(iou_begin_[C], 0.0);
  ca_gt_order_.assign(ca_gt_begin_[C * A], 0);
  ca_gt_ignore_.assign(ca_gt_begin_[C * A], 0);
  ca_match_.assign(ca_td_begin_[C * A], -1);
  ca_dt_state_.assign(ca_td_begin_[C * A], 0);

  parallel_for(0, C, 64, [&](int64_t c0, int64_t c1) {
    std::vector<uint8_t> gt_taken;  // gtm[t, g] > 0, per sorted GT position
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t* gts = cell_gt_.data() + cell_gt_begin_[c];
      const int64_t* dts = cell_dt_.data() + cell_dt_begin_[c];
      const int64_t G = cell_gt_begin_[c + 1] - cell_gt_begin_[c],
                    D = cell_dt_begin_[c + 1] - cell_dt_begin_[c];
      double* iou = iou_.data() + iou_begin_[c];  // [D x G], GTs in file order
      for (int64_t d = 0; d < D; ++d)
        for (int64_t g = 0; g < G; ++g)
          iou[d * G + g] = box_iou(dts_[dts[d]].bbox, gt_box_[gts[g]], gt_crowd_[gts[g]] != 0);
      for (int64_t a = 0; a < A; ++a) {
        const double lo = params_.area_ranges[a][0], hi = params_.area_ranges[a][1];
        int32_t* order = ca_gt_order_.data() + ca_gt_begin_[c * A + a];
        uint8_t* gt_ig = ca_gt_ignore_.data() + ca_gt_begin_[c * A + a];
        int32_t* match = ca_match_.data() + ca_td_begin_[c * A + a];
        uint8_t* dt_st = ca_dt_state_.data() + ca_td_begin_[c * A + a];
        // _ignore = iscrowd or area outside [lo, hi]; GTs stably sorted non-ignored first.
        int64_t n = 0;
        for (int pass = 0; pass < 2; ++pass)
          for (int64_t g = 0; g < G; ++g) {
            double ar = gt_area_[gts[g]];
            bool ig = gt_crowd_[gts[g]] || ar < lo || ar > hi;
            if (ig == (pass == 1)) {
              order[n] = static_cast<int32_t>(g);
              gt_ig[n] = ig ? 1 : 0;
              ++n;
            }
          }
        gt_taken.assign(static_cast<size_t>(G), 0);
        for (int64_t t = 0; t < T; ++t) {
          std::fill(gt_taken.begin(), gt_taken.end(), 0);
          const double thr = std::min(params_.iou_thresholds[t], 1 - 1e-10);
          for (int64_t d = 0; d < D; ++d) {
            double best = thr;
            int64_t m = -1;
            for (int64_t s = 0; s < G; ++s) {
              const int64_t g = order[s];
              if (gt_taken[s] && !gt_crowd_[gts[g]]) continue;
              if (m > -1 && gt_ig[m] == 0 && gt_ig[s] == 1) break;
              const double v = iou[d * G + g];
              if (v < best) continue;
              best = v;
              m = s;
            }
            if (m == -1) continue;
            dt_st[t * D + d] = gt_ig[m];  // kIgnored or 0
            match[t * D + d] = order[m];
            gt_taken[m] = 1;
          }
          // Unmatched (dtm == 0, which includes a match to a GT whose id is 0) detections outside
          // the area range are ignored; the detection's area is w * h (loadRes).
          for (int64_t d = 0; d < D; ++d) {
            const int32_t mt = match[t * D + d];
            const bool unmatched = mt < 0 || gt_id_[gts[mt]] == 0;
            const auto& bb = dts_[dts[d]].bbox;
            const double ar = bb[2] * bb[3];
            if (unmatched && (ar < lo || ar > hi)) dt_st[t * D + d] |= kIgnored;
            if (!unmatched) dt_st[t * D + d] |= kMatched;
          }
        }
      }
    }
  });
  evaluated_ = true;
  accumulated_ = false;
}

void CocoEvaluator::accumulate() {
  DF_CHECK(evaluated_, ConfigError, "[coco eval] accumulate() needs evaluate() first");
  const int64_t T = static_cast<int64_t>(params_.iou_thresholds.size());
  const int64_t R = static_cast<int64_t>(params_.recall_thresholds.size());
  const int64_t K = static_cast<int64_t>(cat_ids_.size());
  const int64_t A = static_cast<int64_t>(params_.area_ranges.size());
  const int64_t M = static_cast<int64_t>(params_.max_dets.size());
  precision_.assign(T * R * K * A * M, -1.0);
  recall_.assign(T * K * A * M, -1.0);
  const double eps = 0x1p-52;  // np.spacing(1)

  parallel_for(0, K, 1, [&](int64_t k0, int64_t k1) {
    struct Entry {
      double score;
      int64_t cell, d;
    };
    std::vector<Entry> all;
    std::vector<int64_t> rank;   // per sorted detection: its position in its image's list
    std::vector<uint8_t> state;  // [A x T x N] kMatched / kIgnored in sorted order
    std::vector<double> rc, pr;
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t cb = cat_cell_begin_[k], ce = cat_cell_begin_[k + 1];
      if (cb == ce) continue;  // every evaluateImg was None
      // Concatenation over images (sorted) of each image's score-sorted detections, then a stable
      // sort by score: one order serves every maxDet (a stable sort of a subsequence is the
      // subsequence of the stable sort) and every area range.
      all.clear();
      for (int64_t c = cb; c < ce; ++c)
        for (int64_t d = 0, D = cell_dt_begin_[c + 1] - cell_dt_begin_[c]; d < D; ++d)
          all.push_back({dts_[cell_dt_[cell_dt_begin_[c] + d]].score, c, d});
      std::stable_sort(all.begin(), all.end(), [](const Entry& x, const Entry& y) {
        return score_before(x.score, y.score);
      });
      const int64_t N = static_cast<int64_t>(all.size());
      rank.resize(N);
      state.resize(A * T * N);
      for (int64_t j = 0; j < N; ++j) {
        const Entry& e = all[j];
        rank[j] = e.d;
        const int64_t D = cell_dt_begin_[e.cell + 1] - cell_dt_begin_[e.cell];
        for (int64_t a = 0; a < A; ++a) {
          const uint8_t* st = ca_dt_state_.data() + ca_td_begin_[e.cell * A + a] + e.d;
          for (int64_t t = 0; t < T; ++t) state[(a * T + t) * N + j] = st[t * D];
        }
      }
      rc.reserve(N);
      pr.reserve(N);
      for (int64_t a = 0; a < A; ++a) {
        int64_t npig = 0;
        for (int64_t c = cb; c < ce; ++c)
          for (int64_t s = ca_gt_begin_[c * A + a]; s < ca_gt_begin_[c * A + a + 1]; ++s)
            npig += ca_gt_ignore_[s] == 0;
        if (npig == 0) continue;
        for (int64_t m = 0; m < M; ++m) {
          const int64_t max_det = params_.max_dets[m];
          for (int64_t t = 0; t < T; ++t) {
            rc.clear();
            pr.clear();
            // tps = dtm != 0 and not dtIg, fps = dtm == 0 and not dtIg (cumulated as floats).
            double tp = 0, fp = 0;
            const uint8_t* st = state.data() + (a * T + t) * N;
            for (int64_t j = 0; j < N; ++j) {
              if (rank[j] >= max_det) continue;
              if (!(st[j] & kIgnored)) (st[j] & kMatched ? tp : fp) += 1;
              rc.push_back(tp / static_cast<double>(npig));
              pr.push_back(tp / (fp + tp + eps));
            }
            const int64_t nd = static_cast<int64_t>(rc.size());
            recall_[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0.0;
            for (int64_t i = nd - 1; i > 0; --i)
              if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
            for (int64_t r = 0; r < R; ++r) {
              // np.searchsorted(rc, recThrs, side='left'); past the end pycocotools leaves 0.
              const int64_t pi =
                  std::lower_bound(rc.begin(), rc.end(), params_.recall_thresholds[r]) - rc.begin();
              precision_[(((t * R + r) * K + k) * A + a) * M + m] = pi < nd ? pr[pi] : 0.0;
            }
          }
        }
      }
    }
  });
  accumulated_ = true;
}

void CocoEvaluator::check_accumulated(const char* what) const {
  DF_CHECK(accumulated_, ConfigError, "[coco eval] ", what,
           " needs evaluate() and accumulate() first");
}

double CocoEvaluator::precision(int t, int r, int k, int a, int m) const {
  check_accumulated("precision()");
  const int64_t R = params_.recall_thresholds.size(), K = cat_ids_.size(),
                A = params_.area_ranges.size(), M = params_.max_dets.size();
  return precision_.at((((t * R + r) * K + k) * A + a) * M + m);
}

double CocoEvaluator::recall(int t, int k, int a, int m) const {
  check_accumulated("recall()");
  const int64_t K = cat_ids_.size(), A = params_.area_ranges.size(), M = params_.max_dets.size();
  return recall_.at(((t * K + k) * A + a) * M + m);
}

CocoEvalSummary CocoEvaluator::summarize() const {
  check_accumulated("summarize()");
  DF_CHECK(params_.max_dets.size() >= 3, ConfigError,
           "[coco eval] summarize() needs 3 max_dets, got ", params_.max_dets.size());
  const int64_t T = params_.iou_thresholds.size(), R = params_.recall_thresholds.size(),
                K = cat_ids_.size(), A = params_.area_ranges.size(), M = params_.max_dets.size();
  // _summarize(ap, iouThr, areaRng, maxDets): mean of the entries > -1 (C order), -1 if none.
  auto summ = [&](bool ap, double iou_thr, const char* area, int max_dets) {
    std::vector<double> vals;
    for (int64_t t = 0; t < T; ++t) {
      if (iou_thr >= 0 && params_.iou_thresholds[t] != iou_thr) continue;
      for (int64_t a = 0; a < A; ++a) {
        if (params_.area_labels[a] != area) continue;
        for (int64_t m = 0; m < M; ++m) {
          if (params_.max_dets[m] != max_dets) continue;
          if (ap) {
            for (int64_t r = 0; r < R; ++r)
              for (int64_t k = 0; k < K; ++k) {
                double v = precision_[(((t * R + r) * K + k) * A + a) * M + m];
                if (v > -1) vals.push_back(v);
              }
          } else {
            for (int64_t k = 0; k < K; ++k) {
              double v = recall_[((t * K + k) * A + a) * M + m];
              if (v > -1) vals.push_back(v);
            }
          }
        }
      }
    }
    if (vals.empty()) return -1.0;
    return pairwise_sum(vals.data(), static_cast<int64_t>(vals.size())) /
           static_cast<double>(vals.size());
  };
  const auto& md = params_.max_dets;
  CocoEvalSummary s;
  s.stats[0] = summ(true, -1, "all", md[2]);
  s.stats[1] = summ(true, .5, "all", md[2]);
  s.stats[2] = summ(true, .75, "all", md[2]);
  s.stats[3] = summ(true, -1, "small", md[2]);
  s.stats[4] = summ(true, -1, "medium", md[2]);
  s.stats[5] = summ(true, -1, "large", md[2]);
  s.stats[6] = summ(false, -1, "all", md[0]);
  s.stats[7] = summ(false, -1, "all", md[1]);
  s.stats[8] = summ(false, -1, "all", md[2]);
  s.stats[9] = summ(false, -1, "small", md[2]);
  s.stats[10] = summ(false, -1, "medium", md[2]);
  s.stats[11] = summ(false, -1, "large", md[2]);
  return s;
}

bool CocoEvaluator::eval_image(int64_t image_id, int64_t category_id, int area_index,
                               CocoEvalImage* out) const {
  DF_CHECK(evaluated_, ConfigError, "[coco eval] eval_image() needs evaluate() first");
  DF_CHECK(area_index >= 0 && area_index < static_cast<int>(params_.area_ranges.size()),
           ConfigError, "[coco eval] area index ", area_index, " out of range");
  const int64_t i = index_of(img_ids_, image_id), k = index_of(cat_ids_, category_id);
  if (i < 0 || k < 0) return false;
  auto it = std::lower_bound(cell_img_.begin() + cat_cell_begin_[k],
                             cell_img_.begin() + cat_cell_begin_[k + 1], i);
  if (it == cell_img_.begin() + cat_cell_begin_[k + 1] || *it != i) return false;
  const int64_t c = it - cell_img_.begin();
  const int64_t A = params_.area_ranges.size(), T = params_.iou_thresholds.size();
  const int64_t G = cell_gt_begin_[c + 1] - cell_gt_begin_[c],
                D = cell_dt_begin_[c + 1] - cell_dt_begin_[c];
  const int64_t* gts = cell_gt_.data() + cell_gt_begin_[c];
  const int64_t* dts = cell_dt_.data() + cell_dt_begin_[c];
  const int64_t ca = c * A + area_index;
  CocoEvalImage e;
  e.image_id = image_id;
  e.category_id = category_id;
  e.area_index = area_index;
  e.num_thresholds = T;
  for (int64_t d = 0; d < D; ++d) {
    e.dt_ids.push_back(dts[d] + 1);
    e.dt_scores.push_back(dts_[dts[d]].score);
  }
  std::vector<int64_t> pos_of(G);  // file-order GT position -> sorted position
  for (int64_t s = 0; s < G; ++s) {
    const int32_t g = ca_gt_order_[ca_gt_begin_[ca] + s];
    pos_of[g] = s;
    e.gt_ids.push_back(gt_id_[gts[g]]);
    e.gt_ignore.push_back(ca_gt_ignore_[ca_gt_begin_[ca] + s]);
  }
  e.dt_matches.assign(T * D, 0);
  e.gt_matches.assign(T * G, 0);
  e.dt_ignore.assign(T * D, 0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t d = 0; d < D; ++d) {
      const int64_t idx = ca_td_begin_[ca] + t * D + d;
      e.dt_ignore[t * D + d] = ca_dt_state_[idx] & kIgnored;
      const int32_t mt = ca_match_[idx];
      if (mt < 0) continue;
      e.dt_matches[t * D + d] = gt_id_[gts[mt]];
      e.gt_matches[t * G + pos_of[mt]] = dts[d] + 1;  // the last detection matched to it wins
    }
  if (out) *out = std::move(e);
  return true;
}

std::vector<double> CocoEvaluator::ious(int64_t image_id, int64_t category_id, int64_t* num_dt,
                                        int64_t* num_gt) const {
  DF_CHECK(evaluated_, ConfigError, "[coco eval] ious() needs evaluate() first");
  *num_dt = *num_gt = 0;
  const int64_t i = index_of(img_ids_, image_id), k = index_of(cat_ids_, category_id);
  if (i < 0 || k < 0) return {};
  auto it = std::lower_bound(cell_img_.begin() + cat_cell_begin_[k],
                             cell_img_.begin() + cat_cell_begin_[k + 1], i);
  if (it == cell_img_.begin() + cat_cell_begin_[k + 1] || *it != i) return {};
  const int64_t c = it - cell_img_.begin();
  *num_gt = cell_gt_begin_[c + 1] - cell_gt_begin_[c];
  *num_dt = cell_dt_begin_[c + 1] - cell_dt_begin_[c];
  return std::vector<double>(iou_.begin() + iou_begin_[c], iou_.begin() + iou_begin_[c + 1]);
}

CocoEvalSummary evaluate_coco_bbox(const data::CocoDataset& gt,
                                   const std::vector<CocoDetection>& dt,
                                   const CocoEvalParams& params) {
  CocoEvaluator ev(gt, dt, params);
  ev.evaluate();
  ev.accumulate();
  return ev.summarize();
}

}  // namespace detforge::detection
