// spdlog stays out of the public headers: the library links it privately (Debian's compiled
// libspdlog), and callers log through these functions.
#include "data/det_log.h"

#include <spdlog/spdlog.h>

namespace detforge::data {

void log_warning(const std::string& message) {
  spdlog::warn("{}", message);
}

}  // namespace detforge::data
