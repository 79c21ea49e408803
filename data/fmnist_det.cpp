#include "data/fmnist_det.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace detforge::data {
namespace {

constexpr int kSide = 28;  // Fashion-MNIST item side

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A small self-contained generator (splitmix64 stream): the same numbers with every compiler and
// standard library, unlike std:: distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() { return splitmix(s_++ * 0x2545F4914F6CDD1Dull + 0x632BE59BD9B4E019ull); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t randint(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  // ~N(0, 1): sum of four 16-bit uniforms (Irwin-Hall), rescaled.
  float gauss() {
    const uint64_t r = next();
    float s = 0;
    for (int k = 0; k < 4; ++k)
      s += static_cast<float>((r >> (16 * k)) & 0xFFFF) * (1.0f / 65536.0f);
    return (s - 2.0f) * 1.7320508f;
  }

 private:
  uint64_t s_;
};

uint64_t image_seed(uint64_t seed, const std::string& split, int64_t index) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a of the split name
  for (unsigned char c : split) h = (h ^ c) * 0x100000001b3ull;
  return splitmix(splitmix(seed) ^ splitmix(h ^ splitmix(static_cast<uint64_t>(index))));
}

struct Color {
  float c[3];
};

Color random_color(Rng& rng) {
  return {{static_cast<float>(rng.uniform()), static_cast<float>(rng.uniform()),
           static_cast<float>(rng.uniform())}};
}

// Bilinear resampling (pixel centres, PyTorch align_corners=False, clamped at the edges) of the
// source window [sx0, sx0 + sw) x [sy0, sy0 + sh) of a 28x28 item to dw x dh alpha values in [0,
// 1].
std::vector<float> render_alpha(const uint8_t* item, int sx0, int sy0, int sw, int sh, int dw,
                                int dh) {
  std::vector<float> out(static_cast<size_t>(dw) * dh);
  std::vector<int> xa(dw), xb(dw);
  std::vector<float> xf(dw);
  for (int x = 0; x < dw; ++x) {
    float s = (x + 0.5f) * sw / dw - 0.5f;
    s = std::min(std::max(s, 0.0f), static_cast<float>(sw - 1));
    const int i0 = static_cast<int>(s);
    xa[x] = sx0 + i0;
    xb[x] = sx0 + std::min(i0 + 1, sw - 1);
    xf[x] = s - i0;
  }
  for (int y = 0; y < dh; ++y) {
    float s = (y + 0.5f) * sh / dh - 0.5f;
    s = std::min(std::max(s, 0.0f), static_cast<float>(sh - 1));
    const int i0 = static_cast<int>(s);
    const uint8_t* r0 = item + (sy0 + i0) * kSide;
    const uint8_t* r1 = item + (sy0 + std::min(i0 + 1, sh - 1)) * kSide;
    const float fy = s - i0;
    for (int x = 0; x < dw; ++x) {
      const float top = r0[xa[x]] + (r0[xb[x]] - r0[xa[x]]) * xf[x];
      const float bot = r1[xa[x]] + (r1[xb[x]] - r1[xa[x]]) * xf[x];
      out[static_cast<size_t>(y) * dw + x] = (top + (bot - top) * fy) * (1.0f / 255.0f);
    }
  }
  return out;
}

struct Layer {  // an alpha patch at (x0, y0) on the canvas
  int x0 = 0, y0 = 0, w = 0, h = 0;
  std::vector<float> a;
  float at(int cx, int cy) const {  // canvas coordinates; 0 outside the patch
    const int x = cx - x0, y = cy - y0;
    if (x < 0 || y < 0 || x >= w || y >= h) return 0.0f;
    return a[static_cast<size_t>(y) * w + x];
  }
  bool overlaps(const Layer& o) const {
    return x0 < o.x0 + o.w && o.x0 < x0 + w && y0 < o.y0 + o.h && o.y0 < y0 + h;
  }
};

struct Object {
  Layer layer;
  int64_t item = 0, label = 0;
  int64_t full_area = 0;  // pixels with alpha >= threshold, before occlusion
  Color color{};
};

struct Box {
  int x0, y0, x1, y1;  // inclusive pixel extents
  int64_t area_px;     // visible pixels
};

double iou(const Box& a, const Box& b) {
  const double iw = std::min(a.x1, b.x1) - std::max(a.x0, b.x0) + 1;
  const double ih = std::min(a.y1, b.y1) - std::max(a.y0, b.y0) + 1;
  if (iw <= 0 || ih <= 0) return 0.0;
  const double inter = iw * ih;
  const double aa = double(a.x1 - a.x0 + 1) * (a.y1 - a.y0 + 1);
  const double ab = double(b.x1 - b.x0 + 1) * (b.y1 - b.y0 + 1);
  return inter / (aa + ab - inter);
}

// Visible box of objects[i] given the objects drawn after it (its visible alpha is
// a_i * prod_{j > i} (1 - a_j)); area_px = 0 when nothing is visible.
Box visible_box(const std::vector<Object>& objs, size_t i, float thr, int W, int H) {
  const Layer& L = objs[i].layer;
  std::vector<const Layer*> above;
  for (size_t j = i + 1; j < objs.size(); ++j)
    if (objs[j].layer.overlaps(L)) above.push_back(&objs[j].layer);
  Box b{INT32_MAX, INT32_MAX, -1, -1, 0};
  for (int y = 0; y < L.h; ++y) {
    const int cy = L.y0 + y;
    if (cy < 0 || cy >= H) continue;
    for (int x = 0; x < L.w; ++x) {
      const int cx = L.x0 + x;
      if (cx < 0 || cx >= W) continue;
      float v = L.a[static_cast<size_t>(y) * L.w + x];
      if (v < thr) continue;
      for (const Layer* o : above) v *= 1.0f - o->at(cx, cy);
      if (v < thr) continue;
      b.x0 = std::min(b.x0, cx);
      b.y0 = std::min(b.y0, cy);
      b.x1 = std::max(b.x1, cx);
      b.y1 = std::max(b.y1, cy);
      ++b.area_px;
    }
  }
  return b;
}

// All objects keep min_visible of their pixels and all pairwise box IoUs are <= max_iou.
bool layout_ok(const std::vector<Object>& objs, const FmnistDetOptions& o, float thr,
               std::vector<Box>* boxes) {
  const int W = static_cast<int>(o.width), H = static_cast<int>(o.height);
  boxes->resize(objs.size());
  for (size_t i = 0; i < objs.size(); ++i) {
    Box b = visible_box(objs, i, thr, W, H);
    if (b.area_px < o.min_pixels ||
        static_cast<double>(b.area_px) < o.min_visible * objs[i].full_area)
      return false;
    for (size_t j = 0; j < i; ++j)
      if (iou((*boxes)[j], b) > o.max_iou) return false;
    (*boxes)[i] = b;
  }
  return true;
}

void composite(std::vector<float>& canvas, int W, int H, const Layer& L, const Color& c,
               float gain) {
  for (int y = std::max(0, -L.y0); y < L.h && L.y0 + y < H; ++y) {
    for (int x = std::max(0, -L.x0); x < L.w && L.x0 + x < W; ++x) {
      const float a = L.a[static_cast<size_t>(y) * L.w + x] * gain;
      if (a <= 0.0f) continue;
      float* px = &canvas[(static_cast<size_t>(L.y0 + y) * W + (L.x0 + x)) * 3];
      for (int k = 0; k < 3; ++k) px[k] += (c.c[k] - px[k]) * a;
    }
  }
}

}  // namespace

void validate(const FmnistDetOptions& o) {
  auto fail = [](const std::string& m) { throw ConfigError("[fmnist_det] " + m); };
  if (o.width < 8 || o.height < 8 || o.width > 8192 || o.height > 8192)
    fail(str_cat("width/height must be in 8..8192, got ", o.width, "x", o.height));
  if (o.min_objects < 0 || o.max_objects < o.min_objects)
    fail(str_cat("need 0 <= min_objects <= max_objects, got ", o.min_objects, " and ",
                 o.max_objects));
  if (o.min_size < 2 || o.max_size < o.min_size)
    fail(str_cat("need 2 <= min_size <= max_size, got ", o.min_size, " and ", o.max_size));
  if (o.max_size > std::min(o.width, o.height))
    fail(str_cat("max_size ", o.max_size, " exceeds the ", o.width, "x", o.height, " canvas"));
  if (!(o.max_aspect >= 1.0 && o.max_aspect <= 4.0))
    fail(str_cat("max_aspect must be in [1, 4], got ", o.max_aspect));
  if (!(o.max_iou >= 0.0 && o.max_iou <= 1.0))
    fail(str_cat("max_iou must be in [0, 1], got ", o.max_iou));
  if (!(o.min_visible > 0.0 && o.min_visible <= 1.0))
    fail(str_cat("min_visible must be in (0, 1], got ", o.min_visible));
  if (!(o.alpha_threshold > 0.0 && o.alpha_threshold < 1.0))
    fail(str_cat("alpha_threshold must be in (0, 1), got ", o.alpha_threshold));
  if (o.min_pixels < 1) fail(str_cat("min_pixels must be >= 1, got ", o.min_pixels));
  if (o.max_fragments < 0) fail(str_cat("max_fragments must be >= 0, got ", o.max_fragments));
  if (!(o.noise >= 0.0 && o.noise <= 1.0)) fail(str_cat("noise must be in [0, 1], got ", o.noise));
  if (!(o.min_contrast >= 0.0 && o.min_contrast <= 1.7))
    fail(str_cat("min_contrast must be in [0, 1.7], got ", o.min_contrast));
  if (o.max_tries < 1) fail(str_cat("max_tries must be >= 1, got ", o.max_tries));
}

ComposedImage compose_fmnist_det(const FashionMnist& items, const FmnistDetOptions& o,
                                 const std::string& split, int64_t index, bool keep_alpha) {
  const int64_t n_items = items.images.defined() ? items.images.size(0) : 0;
  DF_CHECK(n_items > 0 && items.images.dtype() == DType::u8 && items.images.dim() == 3 &&
               items.images.size(1) == kSide && items.images.size(2) == kSide &&
               items.images.is_contiguous() && items.labels.numel() == n_items &&
               items.labels.dtype() == DType::i64,
           ConfigError,
           "[fmnist_det] expected contiguous u8 [N, 28, 28] items with i64 [N] labels");
  const uint8_t* pix = items.images.data<uint8_t>();
  const int64_t* labels = items.labels.data<int64_t>();
  const int W = static_cast<int>(o.width), H = static_cast<int>(o.height);
  const float thr = static_cast<float>(o.alpha_threshold);
  Rng rng(image_seed(o.seed, split, index));

  // Background: a bilinear gradient between four random corner colours.
  std::vector<float> canvas(static_cast<size_t>(W) * H * 3);
  Color corner[4];
  for (auto& c : corner) c = random_color(rng);
  auto bg_at = [&](float fx, float fy, int k) {  // fx, fy in [0, 1]
    const float top = corner[0].c[k] + (corner[1].c[k] - corner[0].c[k]) * fx;
    const float bot = corner[2].c[k] + (corner[3].c[k] - corner[2].c[k]) * fx;
    return top + (bot - top) * fy;
  };
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int k = 0; k < 3; ++k)
        canvas[(static_cast<size_t>(y) * W + x) * 3 + k] = bg_at((x + 0.5f) / W, (y + 0.5f) / H, k);

  // Fragments: tinted crops (7..14 source pixels a side, at most half an item) of random items,
  // scaled like objects, drawn under the objects, no box.
  const int64_t n_frag = rng.randint(0, o.max_fragments);
  for (int64_t f = 0; f < n_frag; ++f) {
    const int64_t item = rng.randint(0, n_items - 1);
    const int cs = static_cast<int>(rng.randint(7, 14));
    const int cx = static_cast<int>(rng.randint(0, kSide - cs));
    const int cy = static_cast<int>(rng.randint(0, kSide - cs));
    const double scale = static_cast<double>(rng.randint(o.min_size, o.max_size)) / kSide;
    const int fw = std::max(2, static_cast<int>(std::lround(cs * scale)));
    Layer L;
    L.w = L.h = fw;
    L.x0 = static_cast<int>(rng.randint(-fw / 2, W - 1 - fw / 2));
    L.y0 = static_cast<int>(rng.randint(-fw / 2, H - 1 - fw / 2));
    L.a = render_alpha(pix + item * kSide * kSide, cx, cy, cs, cs, fw, fw);
    const Color c = random_color(rng);
    const float gain = static_cast<float>(rng.uniform(0.5, 1.0));
    composite(canvas, W, H, L, c, gain);
  }

  // Objects: rejection-sampled placements (see layout_ok), each on top of the previous ones.
  std::vector<Object> objs;
  std::vector<Box> boxes;
  const double log_aspect = std::log(o.max_aspect);
  for (int attempt = 0;; ++attempt) {
    objs.clear();
    const int64_t n_obj = rng.randint(o.min_objects, o.max_objects);
    for (int64_t k = 0; k < n_obj; ++k) {
      bool placed = false;
      for (int64_t t = 0; t < o.max_tries && !placed; ++t) {
        Object ob;
        ob.item = rng.randint(0, n_items - 1);
        ob.label = labels[ob.item];
        const double s = static_cast<double>(rng.randint(o.min_size, o.max_size));
        const double r = std::sqrt(std::exp(rng.uniform(-log_aspect, log_aspect)));
        Layer& L = ob.layer;
        L.w = static_cast<int>(std::clamp<int64_t>(std::lround(s * r), o.min_size, o.max_size));
        L.h = static_cast<int>(std::clamp<int64_t>(std::lround(s / r), o.min_size, o.max_size));
        L.a = render_alpha(pix + ob.item * kSide * kSide, 0, 0, kSide, kSide, L.w, L.h);
        int ex0 = L.w, ey0 = L.h, ex1 = -1, ey1 = -1;  // extent of the item's own pixels
        for (int y = 0; y < L.h; ++y)
          for (int x = 0; x < L.w; ++x)
            if (L.a[static_cast<size_t>(y) * L.w + x] >= thr) {
              ex0 = std::min(ex0, x), ey0 = std::min(ey0, y);
              ex1 = std::max(ex1, x), ey1 = std::max(ey1, y);
              ++ob.full_area;
            }
        if (ob.full_area < o.min_pixels) continue;  // a (near) blank item at this scale
        // The item's pixels lie inside the canvas (the blank frame may stick out).
        L.x0 = static_cast<int>(rng.randint(-ex0, W - 1 - ex1));
        L.y0 = static_cast<int>(rng.randint(-ey0, H - 1 - ey1));
        objs.push_back(std::move(ob));
        if (layout_ok(objs, o, thr, &boxes)) {
          placed = true;
        } else {
          objs.pop_back();
        }
      }
      if (!placed) break;
    }
    if (static_cast<int64_t>(objs.size()) >= o.min_objects) break;
    DF_CHECK(attempt < 20, ConfigError, "[fmnist_det] cannot place ", o.min_objects, " objects of ",
             o.min_size, "..", o.max_size, " px on a ", W, "x", H, " canvas with max_iou ",
             o.max_iou, " and min_visible ", o.min_visible, " (image ", index, " of ", split, ")");
  }
  layout_ok(objs, o, thr, &boxes);  // boxes of the final layout

  ComposedImage out;
  for (size_t i = 0; i < objs.size(); ++i) {
    Object& ob = objs[i];
    const Layer& L = ob.layer;
    // A tint far enough from the background under the item (best of 16 draws).
    const float fx = std::clamp((L.x0 + 0.5f * L.w) / W, 0.0f, 1.0f);
    const float fy = std::clamp((L.y0 + 0.5f * L.h) / H, 0.0f, 1.0f);
    float best = -1;
    for (int t = 0; t < 16 && best < o.min_contrast; ++t) {
      const Color c = random_color(rng);
      float d2 = 0;
      for (int k = 0; k < 3; ++k) d2 += (c.c[k] - bg_at(fx, fy, k)) * (c.c[k] - bg_at(fx, fy, k));
      if (std::sqrt(d2) > best) best = std::sqrt(d2), ob.color = c;
    }
    composite(canvas, W, H, L, ob.color, 1.0f);

    const Box& b = boxes[i];
    CocoAnnotation a;
    a.category_id = ob.label + 1;
    a.bbox = {double(b.x0), double(b.y0), double(b.x1 - b.x0 + 1), double(b.y1 - b.y0 + 1)};
    a.area = a.bbox[2] * a.bbox[3];
    out.objects.push_back(a);
    out.item_index.push_back(ob.item);
    out.frame.push_back({L.x0, L.y0, L.w, L.h});
    if (keep_alpha) {
      Tensor t = Tensor::zeros({H, W}, DType::f32);
      float* d = t.data<float>();
      for (int y = 0; y < L.h; ++y)
        for (int x = 0; x < L.w; ++x) {
          const int cx = L.x0 + x, cy = L.y0 + y;
          if (cx >= 0 && cy >= 0 && cx < W && cy < H)
            d[static_cast<size_t>(cy) * W + cx] = L.a[static_cast<size_t>(y) * L.w + x];
        }
      out.alpha.push_back(t);
    }
  }

  // Noise, then 8-bit quantisation.
  out.image = Tensor::empty({H, W, 3}, DType::u8);
  uint8_t* img = out.image.data<uint8_t>();
  const float sigma = static_cast<float>(o.noise);
  for (size_t i = 0; i < canvas.size(); ++i) {
    float v = canvas[i];
    if (sigma > 0) v += sigma * rng.gauss();
    img[i] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
  }
  return out;
}

}  // namespace detforge::data
