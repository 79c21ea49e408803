// spdlog is not a link dependency of the library (yet): use it header-only (no
// SPDLOG_COMPILED_LIB), with fmt header-only, in this one translation unit. Once CMake links
// spdlog::spdlog (and fmt), drop the define.
#define FMT_HEADER_ONLY
#include "data/det_log.h"

#include <spdlog/spdlog.h>

namespace detforge::data {

void log_warning(const std::string& message) {
  spdlog::warn("{}", message);
}

}  // namespace detforge::data
