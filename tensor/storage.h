// A reference-counted block of memory on one device; tensors view it through offset and strides.
#pragma once
#include <memory>

#include "tensor/allocator.h"

namespace detforge {

class DETFORGE_API Storage {
 public:
  Storage(size_t nbytes, Device device) : data_(allocate(nbytes, device)), nbytes_(nbytes), device_(device) {}
  // Wraps memory owned elsewhere; `owner` keeps it alive (deleter does nothing if the caller owns it).
  Storage(std::shared_ptr<void> data, size_t nbytes, Device device)
      : data_(std::move(data)), nbytes_(nbytes), device_(device) {}

  void* data() const { return data_.get(); }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  std::shared_ptr<void> data_;
  size_t nbytes_;
  Device device_;
};

}  // namespace detforge
