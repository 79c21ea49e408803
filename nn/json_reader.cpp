#include "nn/json_reader.h"

#include <climits>

#include "tensor/error.h"

namespace detforge::nn {

JsonReader::JsonReader(nlohmann::json j, std::string path, std::string who)
    : j_(std::move(j)), path_(std::move(path)), who_(std::move(who)) {
  DF_CHECK(j_.is_object(), ConfigError, "[", who_, "] ", path_.empty() ? "<root>" : path_,
           ": expected an object, got ", j_.dump());
}

void JsonReader::fail(const std::string& key, const std::string& expected) const {
  std::string got = j_.contains(key) ? j_.at(key).dump() : "nothing";
  throw ConfigError(
      str_cat("[", who_, "] ", key_path(key), ": expected ", expected, ", got ", got));
}

void JsonReader::allow(std::initializer_list<const char*> allowed) const {
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      throw ConfigError(
          str_cat("[", who_, "] ", key_path(it.key()), ": unknown key (allowed: ", list, ")"));
    }
  }
}

int64_t JsonReader::get_int(const std::string& key, int64_t def, int64_t min_value) const {
  if (!j_.contains(key)) return def;
  const auto& v = j_.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < min_value)
    fail(key, min_value == INT64_MIN ? "an integer" : str_cat("an integer >= ", min_value));
  return v.get<int64_t>();
}

double JsonReader::get_double(const std::string& key, double def, double min_value) const {
  if (!j_.contains(key)) return def;
  const auto& v = j_.at(key);
  if (!v.is_number() || v.get<double>() < min_value)
    fail(key, min_value <= -1e300 ? "a number" : str_cat("a number >= ", min_value));
  return v.get<double>();
}

bool JsonReader::get_bool(const std::string& key, bool def) const {
  if (!j_.contains(key)) return def;
  if (!j_.at(key).is_boolean()) fail(key, "true or false");
  return j_.at(key).get<bool>();
}

std::string JsonReader::get_string(const std::string& key, const std::string& def,
                                   std::initializer_list<const char*> choices) const {
  if (!j_.contains(key)) return def;
  std::string list;
  for (const char* c : choices) list += str_cat(list.empty() ? "" : " | ", "\"", c, "\"");
  if (!j_.at(key).is_string()) fail(key, choices.size() ? list : "a string");
  std::string s = j_.at(key).get<std::string>();
  if (choices.size()) {
    bool ok = false;
    for (const char* c : choices) ok = ok || s == c;
    if (!ok) fail(key, list);
  }
  return s;
}

std::vector<int64_t> JsonReader::get_int_list(const std::string& key, std::vector<int64_t> def,
                                              int64_t min_value) const {
  if (!j_.contains(key)) return def;
  const auto& v = j_.at(key);
  const std::string what = min_value == INT64_MIN
                               ? "a non-empty array of integers"
                               : str_cat("a non-empty array of integers >= ", min_value);
  if (!v.is_array() || v.empty()) fail(key, what);
  std::vector<int64_t> out;
  for (const auto& e : v) {
    if (!e.is_number_integer() || e.get<int64_t>() < min_value) fail(key, what);
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::vector<double> JsonReader::get_double_list(const std::string& key,
                                                std::vector<double> def) const {
  if (!j_.contains(key)) return def;
  const auto& v = j_.at(key);
  if (!v.is_array() || v.empty()) fail(key, "a non-empty array of numbers");
  std::vector<double> out;
  for (const auto& e : v) {
    if (!e.is_number()) fail(key, "a non-empty array of numbers");
    out.push_back(e.get<double>());
  }
  return out;
}

nlohmann::json JsonReader::get_object(const std::string& key) const {
  if (!j_.contains(key)) return nlohmann::json::object();
  if (!j_.at(key).is_object()) fail(key, "an object");
  return j_.at(key);
}

}  // namespace detforge::nn
