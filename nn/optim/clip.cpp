#include "nn/optim/clip.h"

#include <cmath>

#include "kernels/optim/clip.h"
#include "tensor/error.h"

namespace detforge::nn {
namespace {

// Gradient entries (float32, contiguous, one device); `device` is set when any exists.
std::vector<kernels::ClipEntry> grad_entries(const std::vector<Tensor>& params, const char* op,
                                             Device& device, bool& any) {
  std::vector<kernels::ClipEntry> entries;
  any = false;
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].defined() || !params[i].grad().defined()) continue;
    const Tensor& g = params[i].grad();
    DF_CHECK(g.dtype() == DType::f32 && g.is_contiguous(), ShapeError, "[", op, "] grad of param ",
             i, " ", shape_str(g.shape()), " ", dtype_name(g.dtype()),
             ": float32 contiguous required");
    if (!any) {
      device = g.device();
      any = true;
    }
    DF_CHECK(g.device() == device, DeviceError, "[", op, "] gradients on several devices (",
             device.str(), ", ", g.device().str(), ")");
    if (g.numel() == 0) continue;
    kernels::ClipEntry e;
    e.param = g.data<float>();
    e.numel = g.numel();
    entries.push_back(e);
  }
  return entries;
}

}  // namespace

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  bool inf_norm = std::isinf(norm_type) && norm_type > 0;
  DF_CHECK(inf_norm || norm_type == 2.0, ConfigError, "[clip_grad_norm_] norm_type ", norm_type,
           " (supported: 2, inf)");
  Device device;
  bool any = false;
  std::vector<kernels::ClipEntry> entries = grad_entries(params, "clip_grad_norm_", device, any);
  if (!any) return Tensor::zeros({}, DType::f32, kCPU);
  Tensor total = Tensor::zeros({}, DType::f32, device);
  kernels::clip_grad_norm_stub(device, "clip_grad_norm_")(device, entries, inf_norm, max_norm,
                                                          total);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  Device device;
  bool any = false;
  std::vector<kernels::ClipEntry> entries = grad_entries(params, "clip_grad_value_", device, any);
  for (auto& e : entries) e.h.value = static_cast<float>(clip_value);
  if (entries.empty()) return;
  kernels::clip_grad_value_stub(device, "clip_grad_value_")(device, entries);
}

}  // namespace detforge::nn
