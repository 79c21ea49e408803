// Whether operations record a graph (thread-local, like torch.no_grad()).
#pragma once
#include "tensor/macros.h"

namespace detforge {

struct DETFORGE_API GradMode {
  static bool enabled();
  static void set_enabled(bool on);
};

// RAII: disables graph recording in its scope.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

class EnableGradGuard {
 public:
  explicit EnableGradGuard(bool on = true) : prev_(GradMode::enabled()) { GradMode::set_enabled(on); }
  ~EnableGradGuard() { GradMode::set_enabled(prev_); }

 private:
  bool prev_;
};

}  // namespace detforge
