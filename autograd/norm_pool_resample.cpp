// Pooling, upsampling and padding: raw kernels forward, backward kernels in the recorded closures.
#include <cmath>
#include <tuple>

#include "autograd/function.h"
#include "autograd/norm_pool.h"
#include "kernels/norm_pool/pad.h"
#include "kernels/norm_pool/pool.h"
#include "kernels/norm_pool/upsample.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

// (h, w) from one value or two; `def` when empty.
std::pair<int64_t, int64_t> pair_arg(const char* op, const char* name, const Shape& v,
                                     std::pair<int64_t, int64_t> def) {
  if (v.empty()) return def;
  DF_CHECK(v.size() == 1 || v.size() == 2, ConfigError, "[", op, "] ", name,
           " must have 1 or 2 values, got ", shape_str(v));
  return v.size() == 1 ? std::pair{v[0], v[0]} : std::pair{v[0], v[1]};
}

struct Planes {
  Shape lead;  // [N, C] or [C]
  int64_t P, H, W;
};
Planes planes_of(const char* op, const Tensor& x, bool allow_3d = true) {
  DF_CHECK(x.dim() == 4 || (allow_3d && x.dim() == 3), ShapeError, "[", op, "] expected a ",
           allow_3d ? "3-D [C, H, W] or " : "", "4-D [N, C, H, W] input, got ",
           shape_str(x.shape()));
  DF_CHECK(is_floating(x.dtype()), DTypeError, "[", op, "] input must be floating, got ",
           dtype_name(x.dtype()));
  Planes p;
  p.lead.assign(x.shape().begin(), x.shape().end() - 2);
  p.P = shape_numel(p.lead);
  p.H = x.size(-2);
  p.W = x.size(-1);
  return p;
}
Shape with_hw(const Shape& lead, int64_t h, int64_t w) {
  Shape s = lead;
  s.push_back(h);
  s.push_back(w);
  return s;
}

Tensor pool_backward_record(const char* op, const Tensor& input, const Tensor& out,
                            std::function<void(const Tensor& gi, const Tensor& go)> bwd) {
  if (needs_grad({input}))
    record(op, {input}, {out},
           [shape = input.shape(), dt = input.dtype(), dev = input.device(), bwd](auto& g, auto&) {
             Tensor gi = Tensor::empty(shape, dt, dev);
             Tensor go = raw::contiguous(raw::to(g[0], dev, dt));
             if (gi.numel() > 0) {
               if (go.numel() > 0)
                 bwd(gi, go);
               else
                 raw::fill(gi, 0);
             }
             return std::vector<Tensor>{gi};
           });
  return out;
}

kernels::Pool2dParams pool_params(const char* op, const Planes& pl, const Shape& k, const Shape& s,
                                  const Shape& pad, const Shape& dil, bool ceil_mode) {
  kernels::Pool2dParams p;
  p.P = pl.P;
  p.H = pl.H;
  p.W = pl.W;
  std::tie(p.kh, p.kw) = pair_arg(op, "kernel_size", k, {0, 0});
  std::tie(p.sh, p.sw) = pair_arg(op, "stride", s, {p.kh, p.kw});
  std::tie(p.ph, p.pw) = pair_arg(op, "padding", pad, {0, 0});
  std::tie(p.dh, p.dw) = pair_arg(op, "dilation", dil, {1, 1});
  DF_CHECK(p.kh > 0 && p.kw > 0 && p.sh > 0 && p.sw > 0 && p.dh > 0 && p.dw > 0, ConfigError, "[",
           op, "] kernel_size, stride and dilation must be positive, got kernel_size ",
           shape_str(k), " stride ", shape_str(s), " dilation ", shape_str(dil));
  DF_CHECK(p.ph >= 0 && p.pw >= 0 && p.ph <= p.kh / 2 && p.pw <= p.kw / 2, ConfigError, "[", op,
           "] padding must be non-negative and at most half the kernel size, got padding ",
           shape_str(pad), " kernel_size ", shape_str(k));
  p.ceil_mode = ceil_mode;
  p.OH = kernels::pool_out_size(p.H, p.kh, p.sh, p.ph, p.dh, ceil_mode);
  p.OW = kernels::pool_out_size(p.W, p.kw, p.sw, p.pw, p.dw, ceil_mode);
  DF_CHECK(p.OH > 0 && p.OW > 0, ShapeError, "[", op, "] output size ", p.OH, "x", p.OW,
           " is too small for input ", pl.H, "x", pl.W);
  return p;
}
}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, const Shape& kernel_size,
                                                  const Shape& stride, const Shape& padding,
                                                  const Shape& dilation, bool ceil_mode) {
  const char* op = "max_pool2d";
  Planes pl = planes_of(op, input);
  kernels::Pool2dParams p = pool_params(op, pl, kernel_size, stride, padding, dilation, ceil_mode);
  Tensor x = raw::contiguous(input);
  Tensor out = Tensor::empty(with_hw(pl.lead, p.OH, p.OW), x.dtype(), x.device());
  Tensor idx = Tensor::empty(out.shape(), DType::i64, x.device());
  if (out.numel() > 0) kernels::max_pool2d_stub(x.device(), op)(out, idx, x, p);
  pool_backward_record(op, input, out, [idx, p](const Tensor& gi, const Tensor& go) {
    kernels::max_pool2d_backward_stub(gi.device(), "max_pool2d")(gi, go, idx, p);
  });
  return {out, idx};
}

Tensor max_pool2d(const Tensor& input, const Shape& kernel_size, const Shape& stride,
                  const Shape& padding, const Shape& dilation, bool ceil_mode) {
  return max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode).first;
}

Tensor avg_pool2d(const Tensor& input, const Shape& kernel_size, const Shape& stride,
                  const Shape& padding, bool ceil_mode, bool count_include_pad,
                  std::optional<int64_t> divisor_override) {
  const char* op = "avg_pool2d";
  Planes pl = planes_of(op, input);
  kernels::Pool2dParams p = pool_params(op, pl, kernel_size, stride, padding, {1}, ceil_mode);
  p.count_include_pad = count_include_pad;
  if (divisor_override) {
    DF_CHECK(*divisor_override != 0, ConfigError, "[avg_pool2d] divisor_override must be non-zero");
    p.divisor_override = *divisor_override;
  }
  Tensor x = raw::contiguous(input);
  Tensor out = Tensor::empty(with_hw(pl.lead, p.OH, p.OW), x.dtype(), x.device());
  if (out.numel() > 0) kernels::avg_pool2d_stub(x.device(), op)(out, x, p);
  return pool_backward_record(op, input, out, [p](const Tensor& gi, const Tensor& go) {
    kernels::avg_pool2d_backward_stub(gi.device(), "avg_pool2d")(gi, go, p);
  });
}

Tensor adaptive_avg_pool2d(const Tensor& input, const Shape& output_size) {
  const char* op = "adaptive_avg_pool2d";
  Planes pl = planes_of(op, input);
  kernels::Pool2dParams p;
  p.P = pl.P;
  p.H = pl.H;
  p.W = pl.W;
  std::tie(p.OH, p.OW) = pair_arg(op, "output_size", output_size, {-1, -1});
  DF_CHECK(p.OH > 0 && p.OW > 0, ConfigError,
           "[adaptive_avg_pool2d] output_size must be positive, got ", shape_str(output_size));
  DF_CHECK(p.H > 0 && p.W > 0, ShapeError, "[adaptive_avg_pool2d] input ", shape_str(input.shape()),
           " has an empty spatial dim");
  Tensor x = raw::contiguous(input);
  Tensor out = Tensor::empty(with_hw(pl.lead, p.OH, p.OW), x.dtype(), x.device());
  if (out.numel() > 0) kernels::adaptive_avg_pool2d_stub(x.device(), op)(out, x, p);
  return pool_backward_record(op, input, out, [p](const Tensor& gi, const Tensor& go) {
    kernels::adaptive_avg_pool2d_backward_stub(gi.device(), "adaptive_avg_pool2d")(gi, go, p);
  });
}

namespace {
kernels::UpsampleParams upsample_params(const char* op, const Tensor& input,
                                        const Shape& output_size,
                                        const std::vector<double>& scales) {
  Planes pl = planes_of(op, input, false);
  kernels::UpsampleParams p;
  p.P = pl.P;
  p.H = pl.H;
  p.W = pl.W;
  DF_CHECK(output_size.empty() != scales.empty(), ConfigError, "[", op,
           "] give exactly one of output_size and scale_factors");
  if (!output_size.empty()) {
    DF_CHECK(output_size.size() == 2, ConfigError, "[", op,
             "] output_size must have 2 values, got ", shape_str(output_size));
    p.OH = output_size[0];
    p.OW = output_size[1];
  } else {
    DF_CHECK(scales.size() == 1 || scales.size() == 2, ConfigError, "[", op,
             "] scale_factors must have 1 or 2 values, got ", scales.size());
    p.scale_h = scales[0];
    p.scale_w = scales.size() == 2 ? scales[1] : scales[0];
    DF_CHECK(p.scale_h > 0 && p.scale_w > 0, ConfigError, "[", op,
             "] scale_factors must be positive");
    p.OH = static_cast<int64_t>(std::floor(static_cast<double>(p.H) * p.scale_h));
    p.OW = static_cast<int64_t>(std::floor(static_cast<double>(p.W) * p.scale_w));
  }
  DF_CHECK(p.H > 0 && p.W > 0 && p.OH > 0 && p.OW > 0, ShapeError, "[", op, "] input ",
           shape_str(input.shape()), " and output ", p.OH, "x", p.OW, " must have non-zero sizes");
  return p;
}

Tensor upsample_common(const char* op, const Tensor& input, const kernels::UpsampleParams& p,
                       kernels::UpsampleFwdFn fwd,
                       kernels::DispatchStub<kernels::UpsampleBwdFn>* bwd) {
  Tensor x = raw::contiguous(input);
  Tensor out = Tensor::empty({input.size(0), input.size(1), p.OH, p.OW}, x.dtype(), x.device());
  if (out.numel() > 0) fwd(out, x, p);
  return pool_backward_record(op, input, out, [p, bwd, op](const Tensor& gi, const Tensor& go) {
    (*bwd)(gi.device(), op)(gi, go, p);
  });
}
}  // namespace

Tensor upsample_nearest2d(const Tensor& input, const Shape& output_size,
                          const std::vector<double>& scale_factors) {
  const char* op = "upsample_nearest2d";
  auto p = upsample_params(op, input, output_size, scale_factors);
  return upsample_common(op, input, p, kernels::upsample_nearest2d_stub(input.device(), op),
                         &kernels::upsample_nearest2d_backward_stub);
}

Tensor upsample_bilinear2d(const Tensor& input, const Shape& output_size, bool align_corners,
                           const std::vector<double>& scale_factors) {
  const char* op = "upsample_bilinear2d";
  auto p = upsample_params(op, input, output_size, scale_factors);
  p.align_corners = align_corners;
  return upsample_common(op, input, p, kernels::upsample_bilinear2d_stub(input.device(), op),
                         &kernels::upsample_bilinear2d_backward_stub);
}

Tensor pad(const Tensor& input, const Shape& pads, const std::string& mode, double value) {
  using kernels::PadMode;
  const int64_t k = static_cast<int64_t>(pads.size()) / 2;
  DF_CHECK(pads.size() % 2 == 0 && k >= 1 && k <= 3 && k <= input.dim(), ConfigError,
           "[pad] pad must hold 2, 4 or 6 values and at most 2 per input dim, got ",
           shape_str(pads), " for input ", shape_str(input.shape()));
  kernels::PadParams p;
  if (mode == "constant")
    p.mode = PadMode::constant;
  else if (mode == "reflect")
    p.mode = PadMode::reflect;
  else if (mode == "replicate")
    p.mode = PadMode::replicate;
  else
    throw ConfigError(
        str_cat("[pad] mode must be constant, reflect or replicate, got '", mode, "'"));
  if (p.mode != PadMode::constant)
    DF_CHECK(input.dim() == k + 1 || input.dim() == k + 2, ShapeError, "[pad] ", mode,
             " padding of ", k, " dims needs a ", k + 1, "-D or ", k + 2, "-D input, got ",
             shape_str(input.shape()));
  p.value = value;
  const int64_t nd = input.dim();
  Shape out_shape = input.shape();
  p.P = 1;
  for (int64_t d = 0; d < nd - k; ++d) p.P *= input.size(d);
  for (int64_t j = 0; j < k; ++j) {  // pair j pads dim nd-1-j, kernel dim 2-j
    int64_t dim = nd - 1 - j, kd = 2 - j, in = input.size(dim);
    int64_t before = pads[2 * j], after = pads[2 * j + 1];
    if (p.mode == PadMode::reflect)
      DF_CHECK(before >= 0 && after >= 0 && before < in && after < in, ShapeError,
               "[pad] reflect padding (", before, ", ", after,
               ") must be non-negative and smaller than dim ", dim, " of input ",
               shape_str(input.shape()));
    if (p.mode == PadMode::replicate)
      DF_CHECK(before >= 0 && after >= 0 && in > 0, ShapeError, "[pad] replicate padding (", before,
               ", ", after, ") needs non-negative pads and a non-empty dim ", dim, " of input ",
               shape_str(input.shape()));
    int64_t out = in + before + after;
    DF_CHECK(out >= 0, ShapeError, "[pad] padding (", before, ", ", after, ") makes dim ", dim,
             " of input ", shape_str(input.shape()), " negative");
    p.in[kd] = in;
    p.out[kd] = out;
    p.before[kd] = before;
    out_shape[dim] = out;
  }
  Tensor x = raw::contiguous(input);
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  if (out.numel() > 0) kernels::pad_stub(x.device(), "pad")(out, x, p);
  if (!is_floating(input.dtype())) return out;
  return pool_backward_record("pad", input, out, [p](const Tensor& gi, const Tensor& go) {
    kernels::pad_backward_stub(gi.device(), "pad")(gi, go, p);
  });
}

}  // namespace detforge
