// The block-cooperative (CUDA) form of kd_att_norm_dist's per-sample chain, run on the CPU with an
// emulated block: nt std::threads, "warps" of 4 lanes, barrier-based __syncthreads and block /
// warp all-reduces. Checks every attention x norm x distance combination against the serial
// (CPU kernel) form: the value and the student gradient. This exercises the GPU code paths
// (warp-per-row and thread-per-column reductions, strided loops, synchronisation points) without
// a GPU; only the CUDA intrinsics themselves (shuffles, shared memory) are not covered.
#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/kd/kd_att_norm_dist_sample.h"
#include "tests/test_util.h"

namespace detforge::kernels {
namespace {

class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait() {
    std::unique_lock<std::mutex> l(m_);
    const int64_t g = gen_;
    if (++count_ == n_) {
      count_ = 0;
      ++gen_;
      cv_.notify_all();
    } else {
      cv_.wait(l, [&] { return gen_ != g; });
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int n_, count_ = 0;
  int64_t gen_ = 0;
};

struct Shared {
  Shared(int nt, int lanes) : block(nt), slot(nt), wslot(nt) {
    for (int w = 0; w < nt / lanes; ++w) warps.push_back(std::make_unique<Barrier>(lanes));
  }
  Barrier block;
  std::vector<std::unique_ptr<Barrier>> warps;
  std::vector<double> slot, wslot;
};

struct EmuCtx {
  static constexpr bool kSerial = false;
  int64_t tid, nt, warp, nwarps, lane, lanes;
  Shared* sh;
  void sync() { sh->block.wait(); }
  double sum(double v) {
    sh->slot[tid] = v;
    sync();
    double s = 0;
    for (int64_t i = 0; i < nt; ++i) s += sh->slot[i];
    sync();
    return s;
  }
  double max(double v) {
    sh->slot[tid] = v;
    sync();
    double m = sh->slot[0];
    for (int64_t i = 1; i < nt; ++i) m = sh->slot[i] > m ? sh->slot[i] : m;
    sync();
    return m;
  }
  double warp_sum(double v) {
    sh->wslot[tid] = v;
    sh->warps[warp]->wait();
    double s = 0;
    for (int64_t i = warp * lanes; i < (warp + 1) * lanes; ++i) s += sh->wslot[i];
    sh->warps[warp]->wait();
    return s;
  }
  double warp_max(double v) {
    sh->wslot[tid] = v;
    sh->warps[warp]->wait();
    double m = sh->wslot[warp * lanes];
    for (int64_t i = warp * lanes; i < (warp + 1) * lanes; ++i)
      m = sh->wslot[i] > m || sh->wslot[i] != sh->wslot[i] ? sh->wslot[i] : m;
    sh->warps[warp]->wait();
    return m;
  }
};

struct SerialCtx {
  static constexpr bool kSerial = true;
  static constexpr int64_t tid = 0, nt = 1, warp = 0, nwarps = 1, lane = 0, lanes = 1;
  void sync() {}
  double sum(double v) { return v; }
  double max(double v) { return v; }
  double warp_sum(double v) { return v; }
  double warp_max(double v) { return v; }
};

// One sample through the emulated block: value and gradient (scale 1).
void run_block(const KdAttNormDistParams& p, const std::vector<double>& s,
               const std::vector<double>& t, int64_t C, int64_t P, double* value,
               std::vector<double>* grad) {
  const int nt = 12, lanes = 4;
  Shared sh(nt, lanes);
  std::vector<double> scratch(static_cast<size_t>(kd::and_scratch<double>(C, P)));
  std::vector<double> vals(nt);
  grad->assign(s.size(), 0.0);
  std::vector<std::thread> th;
  for (int i = 0; i < nt; ++i)
    th.emplace_back([&, i] {
      EmuCtx cx{i, nt, i / lanes, nt / lanes, i % lanes, lanes, &sh};
      vals[i] =
          kd::and_forward_sample<double, double>(cx, p, s.data(), t.data(), scratch.data(), C, P);
      cx.sync();
      kd::and_backward_sample<double, double>(cx, p, s.data(), t.data(), grad->data(),
                                              scratch.data(), C, P, 1.0);
    });
  for (auto& x : th) x.join();
  for (int i = 1; i < nt; ++i) EXPECT_EQ(vals[i], vals[0]) << "threads disagree on the value";
  *value = vals[0];
}

TEST(KdAttNormDistBlock, EmulatedBlockEqualsSerial) {
  for (auto [C, P] : std::vector<std::pair<int64_t, int64_t>>{{5, 7}, {9, 3}, {1, 13}, {6, 1}}) {
    Tensor st = test::randn({C * P}, DType::f64, 1 + C), tt = test::randn({C * P}, DType::f64, 2);
    std::vector<double> s = st.to_vector<double>(), t = tt.to_vector<double>();
    for (int att = 0; att < 3; ++att)
      for (int norm = 0; norm < 3; ++norm)
        for (int dist = 0; dist < 5; ++dist) {
          KdAttNormDistParams p;
          p.att = att;
          p.norm = norm;
          p.dist = dist;
          p.tau = 0.6;
          SerialCtx sc;
          std::vector<double> scratch(static_cast<size_t>(kd::and_scratch<double>(C, P)));
          std::vector<double> g_ref(s.size());
          const double v_ref = kd::and_forward_sample<double, double>(sc, p, s.data(), t.data(),
                                                                      scratch.data(), C, P);
          kd::and_backward_sample<double, double>(sc, p, s.data(), t.data(), g_ref.data(),
                                                  scratch.data(), C, P, 1.0);
          double v;
          std::vector<double> g;
          run_block(p, s, t, C, P, &v, &g);
          const std::string what = "C " + std::to_string(C) + " P " + std::to_string(P) + " att " +
                                   std::to_string(att) + " norm " + std::to_string(norm) +
                                   " dist " + std::to_string(dist);
          EXPECT_NEAR(v, v_ref, 1e-10 * (1 + std::abs(v_ref))) << what;
          for (size_t i = 0; i < g.size(); ++i)
            ASSERT_NEAR(g[i], g_ref[i], 1e-10 * (1 + std::abs(g_ref[i]))) << what << " i " << i;
        }
  }
}

}  // namespace
}  // namespace detforge::kernels
