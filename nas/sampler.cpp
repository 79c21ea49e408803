#include "nas/sampler.h"

#include <sstream>

#include "tensor/error.h"

namespace detforge::nas {

const char* sampler_kind_name(SamplerKind k) {
  return k == SamplerKind::uniform ? "uniform" : "sandwich";
}

SamplerOptions sampler_options_from_json(const nlohmann::json& j, const std::string& path) {
  DF_CHECK(j.is_object(), ConfigError, "[nas.sampler] ", path, ": expected an object, got ",
           j.dump());
  SamplerOptions o;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = path + "." + it.key();
    if (it.key() == "kind") {
      DF_CHECK(it->is_string(), ConfigError, "[nas.sampler] ", key,
               ": expected \"uniform\" or \"sandwich\", got ", it->dump());
      const std::string s = it->get<std::string>();
      if (s == "uniform")
        o.kind = SamplerKind::uniform;
      else if (s == "sandwich")
        o.kind = SamplerKind::sandwich;
      else
        throw ConfigError(str_cat("[nas.sampler] ", key,
                                  ": expected \"uniform\" or \"sandwich\", got \"", s, "\""));
    } else if (it.key() == "num_random") {
      DF_CHECK(it->is_number_integer() && it->get<int64_t>() >= 0, ConfigError, "[nas.sampler] ",
               key, ": expected an integer >= 0, got ", it->dump());
      o.num_random = it->get<int64_t>();
    } else {
      throw ConfigError(str_cat("[nas.sampler] ", key, ": unknown key"));
    }
  }
  DF_CHECK(o.kind != SamplerKind::uniform || o.num_random >= 1, ConfigError, "[nas.sampler] ", path,
           ".num_random: the uniform sampler needs >= 1, got ", o.num_random);
  return o;
}

nlohmann::json sampler_options_to_json(const SamplerOptions& o) {
  return {{"kind", sampler_kind_name(o.kind)}, {"num_random", o.num_random}};
}

SubnetSampler::SubnetSampler(SamplerOptions options, uint64_t seed) : opt_(options), rng_(seed) {
  DF_CHECK(opt_.num_random >= (opt_.kind == SamplerKind::uniform ? 1 : 0), ConfigError,
           "[nas.SubnetSampler] num_random ", opt_.num_random, " too small for the ",
           sampler_kind_name(opt_.kind), " sampler");
}

int64_t SubnetSampler::subnets_per_step() const {
  return opt_.num_random + (opt_.kind == SamplerKind::sandwich ? 2 : 0);
}

std::vector<nn::ArchConfig> SubnetSampler::sample(const nn::SearchSpace& space) {
  std::vector<nn::ArchConfig> out;
  if (space.size() == 1) return {space.largest()};  // e.g. the "fullnet" shrinking phase
  out.reserve(static_cast<size_t>(subnets_per_step()));
  if (opt_.kind == SamplerKind::sandwich) {
    out.push_back(space.largest());
    out.push_back(space.smallest());
  }
  for (int64_t i = 0; i < opt_.num_random; ++i) out.push_back(space.sample(rng_));
  return out;
}

std::string SubnetSampler::rng_state() const {
  std::ostringstream os;
  os << rng_;
  return os.str();
}

void SubnetSampler::set_rng_state(const std::string& state) {
  std::istringstream is(state);
  std::mt19937_64 r;
  is >> r;
  DF_CHECK(!is.fail(), ConfigError, "[nas.SubnetSampler] malformed rng state");
  rng_ = r;
}

}  // namespace detforge::nas
