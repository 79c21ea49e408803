// The one exception hierarchy of detforge. Messages start with "[op or component]" and name the
// shapes, dtypes, devices, paths or positions involved.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace detforge {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ShapeError : public Error {
  using Error::Error;
};
class DTypeError : public Error {
  using Error::Error;
};
class DeviceError : public Error {
  using Error::Error;
};
class IOError : public Error {
  using Error::Error;
};
class ConfigError : public Error {
  using Error::Error;
};
class CudaError : public Error {
  using Error::Error;
};
class OutOfMemoryError : public CudaError {
  using CudaError::CudaError;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... R>
void append(std::ostringstream& os, const T& v, const R&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// Concatenates the arguments with operator<<.
template <class... A>
std::string str_cat(const A&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

}  // namespace detforge

// DF_CHECK(cond, ErrorType, "[op] ...", values...) throws ErrorType with the concatenated message.
#define DF_CHECK(cond, ErrType, ...)                    \
  do {                                                  \
    if (!(cond)) throw ErrType(::detforge::str_cat(__VA_ARGS__)); \
  } while (0)
