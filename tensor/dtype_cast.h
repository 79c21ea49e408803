// Element conversion between any two detforge element types, host and device.
#pragma once
#include <type_traits>

#include "tensor/dtype.h"

namespace detforge {

template <class D, class S>
DETFORGE_HD inline D cast_to(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<D, bool>) {
    return static_cast<acc_t<S>>(v) != acc_t<S>(0);
  } else if constexpr (std::is_same_v<D, Half> || std::is_same_v<D, BFloat16>) {
    return D(static_cast<float>(static_cast<acc_t<S>>(v)));
  } else {
    return static_cast<D>(static_cast<acc_t<S>>(v));
  }
}

}  // namespace detforge
