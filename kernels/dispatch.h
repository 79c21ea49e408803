// Device-keyed kernel registry. An op header declares a stub with the kernel's signature;
// cpu/<op>.cpp and cuda/<op>.cu register their implementations from static initialisers, and a
// CPU-only build simply has no CUDA entry:
//
//   // kernels/elementwise/binary.h
//   using BinaryFn = void (*)(BinaryOp, const Tensor& out, const Tensor& a, const Tensor& b);
//   DF_DECLARE_DISPATCH(BinaryFn, binary_stub);
//   // kernels/elementwise/binary.cpp       DF_DEFINE_DISPATCH(binary_stub);
//   // kernels/elementwise/cpu/binary.cpp   DF_REGISTER_DISPATCH(binary_stub, CPU, &binary_cpu);
//   // caller                                binary_stub(out.device(), "add")(op, out, a, b);
#pragma once
#include "tensor/device.h"
#include "tensor/error.h"

namespace detforge::kernels {

template <class Fn>
struct DispatchStub {
  Fn table[kNumDeviceTypes] = {};
  // The implementation for `device`; throws "[op] no CUDA implementation in this build".
  Fn operator()(Device device, const char* op) const {
    Fn f = table[static_cast<int>(device.type)];
    if (!f)
      throw DeviceError(str_cat("[", op, "] no ", device.is_cuda() ? "CUDA" : "CPU",
                                " implementation in this build"));
    return f;
  }
};

template <class Fn>
struct DispatchRegistrar {
  DispatchRegistrar(DispatchStub<Fn>& stub, DeviceType type, Fn fn) {
    stub.table[static_cast<int>(type)] = fn;
  }
};

}  // namespace detforge::kernels

#define DF_DECLARE_DISPATCH(FnType, name) \
  DETFORGE_API extern ::detforge::kernels::DispatchStub<FnType> name
#define DF_DEFINE_DISPATCH(name) decltype(name) name
#define DF_REGISTER_DISPATCH(name, DEV, fn)                                   \
  static ::detforge::kernels::DispatchRegistrar name##_##DEV##_reg(name, ::detforge::DeviceType::DEV, fn)
