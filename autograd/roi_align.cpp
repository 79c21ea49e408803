// ROI Align: raw kernel forward; the recorded backward calls the backward kernel.
#include "autograd/roi_align.h"

#include "autograd/function.h"
#include "kernels/detection/roi_align.h"
#include "tensor/view_ops.h"

namespace detforge {

Tensor roi_align(const Tensor& input, const Tensor& rois, const Shape& output_size,
                 double spatial_scale, int64_t sampling_ratio, bool aligned, bool deterministic) {
  const char* op = "roi_align";
  DF_CHECK(input.dim() == 4, ShapeError, "[", op, "] expected a 4-D [N, C, H, W] input, got ",
           shape_str(input.shape()));
  DF_CHECK(rois.dim() == 2 && rois.size(1) == 5, ShapeError, "[", op,
           "] rois must be [K, 5] (batch index, x1, y1, x2, y2), got ", shape_str(rois.shape()));
  DF_CHECK(is_floating(input.dtype()) && is_floating(rois.dtype()), DTypeError, "[", op,
           "] input and rois must be floating, got ", dtype_name(input.dtype()), " and ",
           dtype_name(rois.dtype()));
  if (input.dtype() == DType::f16 || input.dtype() == DType::bf16)  // computed in float32
    return roi_align(input.to(DType::f32), rois, output_size, spatial_scale, sampling_ratio,
                     aligned, deterministic)
        .to(input.dtype());
  DF_CHECK(rois.device() == input.device(), DeviceError, "[", op,
           "] input and rois on different devices");
  DF_CHECK(output_size.size() == 1 || output_size.size() == 2, ConfigError, "[", op,
           "] output_size must have 1 or 2 values, got ", shape_str(output_size));
  kernels::RoiAlignParams p;
  p.N = input.size(0);
  p.C = input.size(1);
  p.H = input.size(2);
  p.W = input.size(3);
  p.K = rois.size(0);
  p.PH = output_size[0];
  p.PW = output_size.size() == 2 ? output_size[1] : output_size[0];
  DF_CHECK(p.PH > 0 && p.PW > 0, ConfigError, "[", op, "] output_size must be positive, got ",
           shape_str(output_size));
  p.spatial_scale = spatial_scale;
  p.sampling_ratio = sampling_ratio;
  p.aligned = aligned;
  p.deterministic = deterministic;
  Tensor x = raw::contiguous(input);
  Tensor r = raw::contiguous(raw::to(rois.detach(), input.device(), input.dtype()));
  Tensor out = Tensor::empty({p.K, p.C, p.PH, p.PW}, x.dtype(), x.device());
  if (out.numel() > 0) {
    DF_CHECK(p.H > 0 && p.W > 0, ShapeError, "[", op, "] input ", shape_str(input.shape()),
             " has an empty plane");
    kernels::roi_align_stub(x.device(), op)(out, x, r, p);
  }
  if (needs_grad({input}))
    record(op, {input}, {out},
           [r, p, shape = input.shape(), dt = input.dtype(), dev = input.device()](auto& g, auto&) {
             Tensor gi = Tensor::empty(shape, dt, dev);
             if (gi.numel() == 0) return std::vector<Tensor>{gi};
             if (!g[0].defined() || g[0].numel() == 0) {
               raw::fill(gi, 0);
               return std::vector<Tensor>{gi};
             }
             Tensor go = raw::contiguous(raw::to(g[0], dev, dt));
             kernels::roi_align_backward_stub(dev, "roi_align_backward")(gi, go, r, p);
             return std::vector<Tensor>{gi};
           });
  return out;
}

}  // namespace detforge
