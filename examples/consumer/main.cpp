// A minimal application embedding detforge: builds a tiny graph, differentiates it, checks the
// gradient by hand.
#include <detforge/detforge.h>

#include <cmath>
#include <cstdio>

int main() {
  using namespace detforge;
  Tensor x = Tensor::from_vector<float>({1.f, -2.f, 3.f}, {3}).set_requires_grad(true);
  Tensor y = sum(mul(relu(x), x));  // sum(relu(x) * x): d/dx = 2x where x > 0, else 0
  y.backward();
  auto g = x.grad().to_vector<float>();
  std::printf("loss %.1f grad [%.1f %.1f %.1f]\n", y.item(), g[0], g[1], g[2]);
  bool ok = std::fabs(y.item() - 10.0) < 1e-6 && g[0] == 2.f && g[1] == 0.f && g[2] == 6.f;
  return ok ? 0 : 1;
}
