// Warnings of the data layer (skipped images), through spdlog's default logger (thread-safe).
#pragma once
#include <string>

namespace detforge::data {

void log_warning(const std::string& message);

}  // namespace detforge::data
