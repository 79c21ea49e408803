// The DetKDS distiller search space as data (Li et al., "DetKDS", Sec. 3.1, Table 2, Appendix D):
// one distiller = one loss W * D(T1 -> T2 -> T3 <f_S, f_T>) over one knowledge input.
//
// JSON form of one distiller (docs/kd_space.md):
//   {"input": "global", "transforms": ["catt", "scale_2", "norm_N"], "distance": "L1", "weight": 1}
// A transform is a name string ("catt", "catt_0.3" = catt with tau 0.3, "mask_0.65" = mask with
// ratio 0.65) or an object {"name": "catt", "tau": 0.3} / {"name": "mask", "ratio": 0.65}.
// Names and distances match case-insensitively ignoring '-' and '_' ("minmax" = "min-max",
// "smooth_l1" = "smooth-L1", "giou" = "G-IoU"); they are stored in canonical spelling.
//
// Validation rules (each ConfigError cites its rule; docs/kd_space.md lists them):
//  R1 transforms per input (Table 2): features satt, catt, mask, scale_{1,2,4}, local_{1,2,4},
//     norm_{HW,C,N}, min-max; logits norm_{N,C}, min-max, reshape_{N,C}; loc softmax_{N,C}, pow2,
//     sigmoid.
//  R2 distances per input (Table 2): features smooth-L1, L1, L2, KL, cosine, Pearson, SSIM;
//     logits smooth-L1, L1, L2, KL, cosine, Pearson, Cor; loc IoU, C-IoU, E-IoU, G-IoU, D-IoU.
//  R3 feature chains cascade attention -> scale -> normalize (Sec. 3.1 "three cascade transform
//     options as attention-transform -> scale-transform -> normalize-transform", Eq. 2): at most
//     one transform per family, in that order, each stage optional (Table 5 lists two-stage
//     chains such as catt -> norm_C), so 0..3 transforms.
//  R4 response inputs take exactly one transform (Sec. 3.1 "we employ a single transform";
//     every response distiller of Table 5 has one).
//  R5 weight in {0.1, 0.5, 1, 2, 5, 8, 10} (Table 2).
//  R6 a distiller list holds at most one distiller per knowledge input (Eq. 1: one loss each).
//  Parameters: tau > 0 (satt/catt temperature, default 0.5); mask ratio lambda in [0, 1)
//  (default 0.5). Parameters are not search dimensions (the paper gives no value sets).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor/macros.h"

namespace detforge::kd {

enum class Input { global, fgbg, instance, logits, loc };
constexpr int kNumInputs = 5;
DETFORGE_API const char* input_name(Input in);
DETFORGE_API bool is_feature(Input in);  // global, fgbg, instance

// Feature transform families (R3); response transforms are all `response`.
enum class Family { attention = 0, scale = 1, normalize = 2, response = 3 };
DETFORGE_API Family transform_family(const std::string& canonical_name);

struct DETFORGE_API Transform {
  std::string name;  // canonical: "catt", "scale_2", "norm_HW", "min-max", "softmax_C", ...
  double param = 0;  // satt/catt: tau; mask: ratio lambda; otherwise 0
  bool operator==(const Transform& o) const { return name == o.name && param == o.param; }
};
DETFORGE_API double default_param(const std::string& canonical_name);  // 0.5 for satt/catt/mask

struct DETFORGE_API DistillerSpec {
  Input input = Input::global;
  std::vector<Transform> transforms;
  std::string distance;  // canonical: "smooth-L1", "L1", "L2", "KL", "cosine", "Pearson", ...
  double weight = 1;
  bool operator==(const DistillerSpec& o) const {
    return input == o.input && transforms == o.transforms && distance == o.distance &&
           weight == o.weight;
  }
};

// Vocabulary (canonical spellings, in enumeration order).
DETFORGE_API const std::vector<std::string>& transform_names(Input in);
DETFORGE_API const std::vector<std::string>& distance_names(Input in);
DETFORGE_API const std::vector<double>& weight_values();

// Parse + validate (R1-R5). `path` prefixes every error ("distillers[2]"); errors are
// ConfigError("[kd] <path>.<key>: ...").
DETFORGE_API DistillerSpec parse_distiller(const nlohmann::json& j, const std::string& path);
// An array of distillers, a single distiller object, or {"distillers": [...]}; applies R6.
DETFORGE_API std::vector<DistillerSpec> parse_distillers(const nlohmann::json& j);
DETFORGE_API std::vector<DistillerSpec> load_distillers(const std::string& file);
// Re-checks a spec built in code (R1-R5); throws ConfigError naming `path`.
DETFORGE_API void validate(const DistillerSpec& spec, const std::string& path = "distiller");
DETFORGE_API nlohmann::json to_json(const DistillerSpec& spec);
// "global: catt -> scale_2 -> norm_N | L1 | x1"
DETFORGE_API std::string to_string(const DistillerSpec& spec);

// ---- enumeration (docs/kd_space.md "Counting") ----
// Every valid transform chain of an input (default parameters): feature inputs 4*7*5 = 140
// (each family slot empty or one option), response inputs one chain per transform.
DETFORGE_API std::vector<std::vector<Transform>> valid_chains(Input in);
// chains x distances x weights for one input; the sum over the five inputs for the space.
DETFORGE_API int64_t space_size(Input in);
DETFORGE_API int64_t space_size();
// The index-th spec of the whole space, index in [0, space_size()): inputs in enum order, then
// chain, distance, weight (mixed radix, weight fastest).
DETFORGE_API DistillerSpec spec_at(int64_t index);
DETFORGE_API DistillerSpec spec_at(Input in, int64_t index);  // within one input's space
// n specs drawn uniformly (with replacement) over the whole space or one input's space,
// deterministic per seed on every platform (mt19937_64 + rejection sampling).
DETFORGE_API std::vector<DistillerSpec> sample_specs(int64_t n, uint64_t seed);
DETFORGE_API std::vector<DistillerSpec> sample_specs(Input in, int64_t n, uint64_t seed);
DETFORGE_API Input parse_input(const std::string& name, const std::string& path);

}  // namespace detforge::kd
