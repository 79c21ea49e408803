// CUDA tensors: the caching allocator's steady state, host<->device copies, strided CUDA copies,
// streams and events. Skips where no GPU is usable.
#include <gtest/gtest.h>

#include "tensor/cuda_allocator.h"
#include "tensor/stream.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

#define DF_REQUIRE_CUDA() \
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda()

TEST(CudaRuntime, UnavailableIsNotACrash) {
  // Always runs: a machine without a driver must report "no GPU" with a reason.
  if (!cuda_available()) {
    EXPECT_EQ(cuda_device_count(), 0);
    EXPECT_FALSE(cuda_unavailable_reason().empty());
  } else {
    EXPECT_GT(cuda_device_count(), 0);
  }
}

TEST(CudaAllocator, SteadyStateMakesNoCudaMalloc) {
  DF_REQUIRE_CUDA();
  Device dev = cuda_device(0);
  auto step = [&] {
    Tensor a = Tensor::empty({256, 256}, DType::f32, dev);
    Tensor b = Tensor::empty({1000}, DType::f16, dev);
    Tensor c = Tensor::empty({3, 1024, 1024}, DType::f32, dev);
    a.fill_(1.0);
    c.fill_(2.0);
    b.copy_(a.flatten().narrow(0, 0, 1000));
  };
  step();
  step();
  CudaMemoryStats warm = cuda_memory_stats(dev);
  for (int i = 0; i < 50; ++i) step();
  CudaMemoryStats s = cuda_memory_stats(dev);
  EXPECT_EQ(s.cuda_mallocs, warm.cuda_mallocs);
  EXPECT_EQ(s.allocations, warm.allocations + 50 * 3);
  EXPECT_EQ(s.bytes_in_use, warm.bytes_in_use);
  EXPECT_GE(s.peak_bytes_in_use, size_t(3) * 1024 * 1024 * 4);
  cuda_empty_cache(dev);
  EXPECT_EQ(cuda_memory_stats(dev).bytes_cached, 0u);
  cuda_reset_peak(dev);
  EXPECT_EQ(cuda_memory_stats(dev).peak_bytes_in_use, cuda_memory_stats(dev).bytes_in_use);
}

TEST(CudaCopy, HostDeviceRoundTrip) {
  DF_REQUIRE_CUDA();
  Device dev = cuda_device(0);
  for (DType dt :
       {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i32, DType::i64, DType::u8}) {
    Tensor h = test::rand_uniform({37, 19}, 0, 100, DType::f32, 1).to(dt);
    Tensor d = h.to(dev);
    EXPECT_TRUE(d.is_cuda());
    DF_EXPECT_CLOSE(d.to(kCPU), h, 0);
  }
}

TEST(CudaCopy, StridedAndConvertingMatchesCpu) {
  DF_REQUIRE_CUDA();
  Device dev = cuda_device(0);
  Tensor h = test::randn({6, 7, 8}, DType::f32, 2);
  Tensor d = h.to(dev);
  // Permuted -> contiguous, with dtype conversion.
  Tensor want = h.permute({2, 0, 1}).contiguous().to(DType::f16);
  Tensor got = d.permute({2, 0, 1}).to(DType::f16);
  DF_EXPECT_CLOSE(got.to(kCPU), want, 0);
  // Broadcast copy into a strided destination on the device.
  Tensor dst_h = Tensor::zeros({8, 6}, DType::f64);
  Tensor dst_d = Tensor::zeros({8, 6}, DType::f64, dev);
  Tensor row = h.select(1, 3).select(1, 2);  // [6], strided
  dst_h.slice(0, 0, 8, 2).copy_(row);
  dst_d.slice(0, 0, 8, 2).copy_(row.to(dev));
  DF_EXPECT_CLOSE(dst_d.to(kCPU), dst_h, 0);
  // Host -> non-contiguous device destination.
  Tensor t_d = Tensor::zeros({7, 6}, DType::f32, dev);
  t_d.t().copy_(h.select(2, 0));
  DF_EXPECT_CLOSE(t_d.t().to(kCPU), h.select(2, 0), 0);
  // Fill on a strided view.
  Tensor f = Tensor::zeros({4, 4}, DType::i32, dev);
  f.slice(1, 0, 4, 3).fill_(7);
  Tensor fh = Tensor::zeros({4, 4}, DType::i32);
  fh.slice(1, 0, 4, 3).fill_(7);
  DF_EXPECT_CLOSE(f.to(kCPU), fh, 0);
}

TEST(CudaStream, GuardEventsAndTiming) {
  DF_REQUIRE_CUDA();
  Device dev = cuda_device(0);
  Stream def = Stream::current(dev);
  Stream s = Stream::create(dev);
  EXPECT_NE(s.handle(), nullptr);
  {
    StreamGuard g(s);
    EXPECT_EQ(Stream::current(dev), s);
    Event start(dev), end(dev);
    start.record();
    Tensor x = Tensor::empty({1 << 20}, DType::f32, dev).fill_(3.0);
    end.record();
    end.synchronize();
    EXPECT_TRUE(end.query());
    EXPECT_GE(start.elapsed_ms(end), 0.0f);
    Event done(dev, false);
    done.record(s);
    done.block(def);
  }
  EXPECT_EQ(Stream::current(dev), def);
  synchronize(dev);
}

TEST(CpuStream, EventsTimeWithSteadyClock) {
  Stream s = Stream::current(kCPU);
  EXPECT_EQ(s.handle(), nullptr);
  StreamGuard g(Stream::create(kCPU));
  Event a, b;
  a.record();
  b.record();
  EXPECT_TRUE(b.query());
  EXPECT_GE(a.elapsed_ms(b), 0.0f);
  a.block(s);
  s.synchronize();
  synchronize(kCPU);
  Event moved = std::move(a);
  EXPECT_GE(moved.elapsed_ms(b), 0.0f);
}

}  // namespace
}  // namespace detforge
