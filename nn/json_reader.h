// Typed reads of JSON config objects with key-path errors, for train-cls configs, model
// builders and detection configs (moved down from nas/ so detection/ can use it): every error is
// ConfigError("[<who>] <path>.<key>: expected ..., got ...").
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor/macros.h"

namespace detforge::nn {

class DETFORGE_API JsonReader {
 public:
  // j must be an object (else ConfigError naming `path`).
  JsonReader(nlohmann::json j, std::string path, std::string who);
  // Throws ConfigError naming the first key of the object not in `allowed`.
  void allow(std::initializer_list<const char*> allowed) const;
  bool has(const std::string& key) const { return j_.contains(key); }
  std::string key_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  int64_t get_int(const std::string& key, int64_t def, int64_t min_value = INT64_MIN) const;
  double get_double(const std::string& key, double def, double min_value = -1e300) const;
  bool get_bool(const std::string& key, bool def) const;
  std::string get_string(const std::string& key, const std::string& def,
                         std::initializer_list<const char*> choices = {}) const;
  std::vector<int64_t> get_int_list(const std::string& key, std::vector<int64_t> def,
                                    int64_t min_value = INT64_MIN) const;
  std::vector<double> get_double_list(const std::string& key, std::vector<double> def) const;
  // The sub-object (an empty object when absent); ConfigError when it is not an object.
  nlohmann::json get_object(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;

 private:
  nlohmann::json j_;  // a copy: readers are often built from temporaries
  std::string path_, who_;
};

}  // namespace detforge::nn
