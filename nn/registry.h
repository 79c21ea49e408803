// A name -> builder table with thread-safe registration, for the JSON-configured factories
// (detectors, backbones). Instances live in function-local statics so families can register
// from static initialisers in any translation unit.
#pragma once
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace detforge::nn {

template <class Builder>
class Registry {
 public:
  void add(const std::string& name, Builder builder) {
    std::lock_guard<std::mutex> lock(mu_);
    table_[name] = std::move(builder);
  }
  // The builder, or an empty one when `name` is unknown.
  Builder find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = table_.find(name);
    return it == table_.end() ? Builder() : it->second;
  }
  std::vector<std::string> names() const {  // sorted
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& kv : table_) out.push_back(kv.first);
    return out;
  }
  std::string names_joined() const {  // "a, b, c" for error messages
    std::string s;
    for (const auto& n : names()) s += (s.empty() ? "" : ", ") + n;
    return s;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Builder> table_;
};

}  // namespace detforge::nn
