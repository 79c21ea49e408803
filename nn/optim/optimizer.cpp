#include "nn/optim/optimizer.h"

#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace detforge::nn {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

nlohmann::json group_to_json(const ParamGroup& g) {
  nlohmann::json j;
  j["lr"] = g.lr;
  j["weight_decay"] = g.weight_decay;
  j["momentum"] = g.momentum;
  j["dampening"] = g.dampening;
  j["nesterov"] = g.nesterov;
  j["betas"] = {g.beta1, g.beta2};
  j["eps"] = g.eps;
  j["amsgrad"] = g.amsgrad;
  j["maximize"] = g.maximize;
  j["bn_sparsity_lambda"] = g.bn_sparsity_lambda;
  j["bn_sparsity_mask"] = g.bn_sparsity_mask;
  j["name"] = g.name;
  j["num_params"] = g.params.size();
  return j;
}

void group_from_json(const nlohmann::json& j, ParamGroup& g) {
  g.lr = j.at("lr").get<double>();
  g.weight_decay = j.at("weight_decay").get<double>();
  g.momentum = j.at("momentum").get<double>();
  g.dampening = j.at("dampening").get<double>();
  g.nesterov = j.at("nesterov").get<bool>();
  g.beta1 = j.at("betas").at(0).get<double>();
  g.beta2 = j.at("betas").at(1).get<double>();
  g.eps = j.at("eps").get<double>();
  g.amsgrad = j.at("amsgrad").get<bool>();
  g.maximize = j.at("maximize").get<bool>();
  g.bn_sparsity_lambda = j.at("bn_sparsity_lambda").get<double>();
  g.bn_sparsity_mask = j.at("bn_sparsity_mask").get<std::vector<bool>>();
  g.name = j.value("name", std::string());
}

}  // namespace

void OptimizerState::save(const std::string& path) const {
  save_safetensors(path, tensors, {{"hparams", hparams.dump()}});
}

OptimizerState OptimizerState::load(const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  auto it = f.metadata.find("hparams");
  DF_CHECK(it != f.metadata.end(), IOError, "[optimizer] ", path, ": no __metadata__ \"hparams\"");
  OptimizerState s;
  s.tensors = std::move(f.tensors);
  try {
    s.hparams = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw IOError(str_cat("[optimizer] ", path, ": bad hparams JSON: ", e.what()));
  }
  return s;
}

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  state_.resize(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& pg = groups_[g];
    DF_CHECK(pg.bn_sparsity_mask.empty() || pg.bn_sparsity_mask.size() == pg.params.size(),
             ConfigError, "[optimizer] group ", g, ": bn_sparsity_mask has ",
             pg.bn_sparsity_mask.size(), " entries for ", pg.params.size(), " params");
    DF_CHECK(pg.lr >= 0, ConfigError, "[optimizer] group ", g, ": negative lr ", pg.lr);
    for (size_t i = 0; i < pg.params.size(); ++i) {
      const Tensor& p = pg.params[i];
      DF_CHECK(p.defined(), ConfigError, "[optimizer] group ", g, " param ", i, " is undefined");
      DF_CHECK(p.dtype() == DType::f32, DTypeError, "[optimizer] group ", g, " param ", i, " ",
               shape_str(p.shape()), ": dtype ", dtype_name(p.dtype()),
               ", only float32 is supported");
      DF_CHECK(p.is_contiguous(), ShapeError, "[optimizer] group ", g, " param ", i, " ",
               shape_str(p.shape()), " is not contiguous");
    }
    state_[g].resize(pg.params.size());
  }
}

bool Optimizer::check_param(size_t g, size_t i, Device& device, bool& device_set) const {
  const Tensor& p = groups_[g].params[i];
  const Tensor& gr = p.grad();
  if (!gr.defined()) return false;
  DF_CHECK(p.dtype() == DType::f32 && p.is_contiguous(), ShapeError, "[", kind(), "] group ", g,
           " param ", i, " ", shape_str(p.shape()), " ", dtype_name(p.dtype()),
           ": float32 contiguous required");
  DF_CHECK(gr.dtype() == DType::f32 && gr.is_contiguous() && gr.shape() == p.shape(), ShapeError,
           "[", kind(), "] group ", g, " param ", i, ": grad ", shape_str(gr.shape()), " ",
           dtype_name(gr.dtype()), " must be float32, contiguous and shaped like the param ",
           shape_str(p.shape()));
  DF_CHECK(gr.device() == p.device(), DeviceError, "[", kind(), "] group ", g, " param ", i, " on ",
           p.device().str(), " has its grad on ", gr.device().str());
  if (!device_set) {
    device = p.device();
    device_set = true;
  }
  DF_CHECK(p.device() == device, DeviceError, "[", kind(), "] params on several devices (",
           device.str(), ", ", p.device().str(), "): use one optimizer per device");
  return true;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (ParamGroup& pg : groups_)
    for (Tensor& p : pg.params) {
      if (!p.grad().defined()) continue;
      if (set_to_none)
        p.set_grad(Tensor());
      else
        p.mutable_grad().zero_();
    }
}

OptimizerState Optimizer::state_dict() const {
  OptimizerState s;
  nlohmann::json groups = nlohmann::json::array();
  for (size_t g = 0; g < groups_.size(); ++g) {
    nlohmann::json gj = group_to_json(groups_[g]);
    std::vector<int64_t> steps;
    for (size_t i = 0; i < state_[g].size(); ++i) {
      const ParamState& ps = state_[g][i];
      steps.push_back(ps.step);
      for (const auto& [name, t] : ps.buffers)
        s.tensors[str_cat("state.", g, ".", i, ".", name)] = t.detach().to(kCPU).clone();
    }
    gj["steps"] = steps;
    groups.push_back(gj);
  }
  s.hparams["optimizer"] = kind();
  s.hparams["param_groups"] = groups;
  return s;
}

void Optimizer::load_state_dict(const OptimizerState& s) {
  const char* k = kind();
  DF_CHECK(s.hparams.value("optimizer", std::string()) == k, ConfigError, "[", k,
           "] state of optimizer \"", s.hparams.value("optimizer", std::string()), "\"");
  const nlohmann::json& groups = s.hparams.at("param_groups");
  DF_CHECK(groups.size() == groups_.size(), ConfigError, "[", k, "] state has ", groups.size(),
           " param groups, the optimizer ", groups_.size());
  std::vector<std::vector<ParamState>> fresh(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) {
    const nlohmann::json& gj = groups[g];
    size_t n = gj.at("num_params").get<size_t>();
    DF_CHECK(n == groups_[g].params.size(), ConfigError, "[", k, "] state group ", g, " has ", n,
             " params, the optimizer ", groups_[g].params.size());
    std::vector<int64_t> steps = gj.at("steps").get<std::vector<int64_t>>();
    fresh[g].resize(n);
    for (size_t i = 0; i < n; ++i) fresh[g][i].step = steps.at(i);
  }
  const std::string prefix = "state.";
  for (const auto& [key, t] : s.tensors) {
    DF_CHECK(key.compare(0, prefix.size(), prefix) == 0, ConfigError, "[", k,
             "] unexpected state tensor ", key);
    size_t a = key.find('.', prefix.size()), b = a == std::string::npos ? a : key.find('.', a + 1);
    DF_CHECK(b != std::string::npos, ConfigError, "[", k, "] malformed state tensor name ", key);
    size_t g = std::stoul(key.substr(prefix.size(), a - prefix.size()));
    size_t i = std::stoul(key.substr(a + 1, b - a - 1));
    DF_CHECK(g < groups_.size() && i < groups_[g].params.size(), ConfigError, "[", k,
             "] state tensor ", key, " names no parameter");
    const Tensor& p = groups_[g].params[i];
    DF_CHECK(t.shape() == p.shape() && t.dtype() == DType::f32, ShapeError, "[", k,
             "] state tensor ", key, " ", shape_str(t.shape()), " ", dtype_name(t.dtype()),
             " for param ", shape_str(p.shape()));
    Tensor buf = Tensor::empty(p.shape(), DType::f32, p.device());
    buf.copy_(t);
    fresh[g][i].buffers[key.substr(b + 1)] = buf;
  }
  for (size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup restored = groups_[g];
    group_from_json(groups[g], restored);
    DF_CHECK(restored.bn_sparsity_mask.empty() ||
                 restored.bn_sparsity_mask.size() == restored.params.size(),
             ConfigError, "[", k, "] group ", g, ": bn_sparsity_mask size");
    groups_[g] = std::move(restored);
  }
  state_ = std::move(fresh);
}

std::vector<ParamGroup> split_decay_groups(const std::vector<std::pair<std::string, Tensor>>& named,
                                           const ParamGroup& base) {
  ParamGroup decay = base, no_decay = base;
  decay.params.clear();
  no_decay.params.clear();
  decay.bn_sparsity_mask.clear();
  no_decay.bn_sparsity_mask.clear();
  no_decay.weight_decay = 0.0;
  decay.bn_sparsity_lambda = 0.0;
  decay.name = base.name.empty() ? "decay" : base.name + ".decay";
  no_decay.name = base.name.empty() ? "no_decay" : base.name + ".no_decay";
  for (const auto& [name, t] : named) {
    if (ends_with(name, "bias") || t.dim() == 1) {
      no_decay.params.push_back(t);
      no_decay.bn_sparsity_mask.push_back(t.dim() == 1 && ends_with(name, "weight"));
    } else {
      decay.params.push_back(t);
    }
  }
  if (no_decay.bn_sparsity_lambda == 0.0) no_decay.bn_sparsity_mask.clear();
  return {decay, no_decay};
}

}  // namespace detforge::nn
