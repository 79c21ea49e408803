#include "nas/profiler/flops.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>

#include "autograd/grad_mode.h"
#include "nn/conv.h"
#include "nn/elastic/elastic_layers.h"
#include "nn/linear.h"
#include "tensor/error.h"

namespace detforge::nas {
namespace {

using Recorder = std::function<void(const std::string&, nn::Module&, const Tensor&, const Tensor&)>;

// Stands in for a leaf module during the dry forward: calls it and reports the shapes.
class Probe : public nn::Cloneable<Probe> {
 public:
  Probe(std::shared_ptr<nn::Module> inner, std::string path, const Recorder* rec)
      : inner_(std::move(inner)), path_(std::move(path)), rec_(rec) {}
  std::string type_name() const override { return inner_->type_name(); }
  bool is_norm() const override { return inner_->is_norm(); }
  Tensor forward(const Tensor& input) override {
    Tensor out = inner_->forward(input);
    (*rec_)(path_, *inner_, input, out);
    return out;
  }

 private:
  std::shared_ptr<nn::Module> inner_;
  std::string path_;
  const Recorder* rec_;
};

bool is_free(const std::string& type) {
  return type == "Identity" || type == "Flatten" || type == "Dropout";
}

LayerCost cost_of(const std::string& path, nn::Module& m, const Tensor& in, const Tensor& out,
                  std::vector<std::string>& uncounted) {
  LayerCost c;
  c.path = path;
  c.type = m.type_name();
  c.input_shape = in.shape();
  c.output_shape = out.shape();
  c.params = m.num_parameters();
  const int64_t out_elems = out.numel();
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
    const Tensor& w = conv->param("weight");
    DF_CHECK(in.dim() == 4 && w.dim() == 4, ShapeError, "[profile_cost] ", path,
             ": Conv2d expects 4-d input and weight, got ", shape_str(in.shape()), " and ",
             shape_str(w.shape()));
    const int64_t groups = conv->options().groups;
    c.macs = out_elems * (in.size(1) / groups) * w.size(2) * w.size(3);
    if (conv->has_param("bias")) c.other_ops = out_elems;
  } else if (auto* ec = dynamic_cast<nn::ElasticConv2d*>(&m)) {
    // The active sub-kernel: input channels from the input, active kernel size, groups fixed or
    // (depthwise) one input channel per group.
    const auto& o = ec->options();
    const int64_t in_pg = o.depthwise ? 1 : in.size(1) / o.groups;
    c.macs = out_elems * in_pg * ec->active_kernel() * ec->active_kernel();
    if (o.bias) c.other_ops = out_elems;
  } else if (auto* el = dynamic_cast<nn::ElasticLinear*>(&m)) {
    c.macs = out_elems * in.size(in.dim() - 1);
    if (el->has_param("bias")) c.other_ops = out_elems;
  } else if (auto* lin = dynamic_cast<nn::Linear*>(&m)) {
    c.macs = out_elems * lin->in_features();
    if (lin->has_param("bias")) c.other_ops = out_elems;
  } else if (m.is_norm() || (c.params == 0 && !is_free(c.type))) {
    c.other_ops = out_elems;
  } else if (c.params > 0) {
    uncounted.push_back(path);
  }
  return c;
}

struct Swap {
  nn::Module* parent;
  std::string name, path;
  std::shared_ptr<nn::Module> original;
};

}  // namespace

int64_t count_parameters(const nn::Module& model, bool trainable_only) {
  int64_t n = 0;
  for (const auto& p : model.named_parameters())
    if (!trainable_only || p.second.requires_grad()) n += p.second.numel();
  return n;
}

ModelCost profile_cost(nn::Module& model, const Shape& input_shape) {
  return profile_cost(model, input_shape, [&model](const Tensor& x) { model.forward(x); });
}

ModelCost profile_cost(nn::Module& model, const Shape& input_shape,
                       const std::function<void(const Tensor&)>& run) {
  for (int64_t s : input_shape)
    DF_CHECK(s > 0, ShapeError, "[profile_cost] input shape ", shape_str(input_shape),
             " must have positive sizes");
  ModelCost cost;
  cost.input_shape = input_shape;
  cost.params = count_parameters(model);
  cost.trainable_params = count_parameters(model, true);

  std::vector<std::string> uncounted;
  Recorder rec = [&](const std::string& path, nn::Module& m, const Tensor& in, const Tensor& out) {
    cost.layers.push_back(cost_of(path, m, in, out, uncounted));
  };

  // Modes (restored one by one afterwards: parent first, so each child's own mode wins).
  auto modules = model.named_modules();
  std::vector<std::pair<nn::Module*, bool>> modes;
  for (auto& [path, m] : modules) {
    modes.emplace_back(m, m->is_training());
    if (!m->named_children().empty() && !m->named_parameters(false).empty())
      uncounted.push_back(path);
  }

  // Swap every leaf child for a probe.
  std::vector<Swap> swaps;
  for (auto& [path, m] : modules)
    for (const auto& [name, child] : m->named_children())
      if (child->named_children().empty())
        swaps.push_back({m, name, path.empty() ? name : path + "." + name, child});
  auto restore = [&] {
    for (auto it = swaps.rbegin(); it != swaps.rend(); ++it)
      it->parent->replace_module(it->name, it->original);
    for (auto& [m, training] : modes) m->train(training);
  };

  Device device = kCPU;
  DType dtype = DType::f32;
  auto params = model.parameters();
  if (!params.empty()) {
    device = params.front().device();
    dtype = params.front().dtype();
  }
  try {
    model.eval();
    for (auto& s : swaps)
      s.parent->replace_module(s.name, std::make_shared<Probe>(s.original, s.path, &rec));
    NoGradGuard no_grad;
    Tensor x = Tensor::zeros(input_shape, dtype, device);
    if (modules.size() == 1) {  // the root is a leaf: observe it directly
      Tensor y = model.forward(x);
      rec("", model, x, y);
    } else {
      run(x);
    }
  } catch (...) {
    restore();
    throw;
  }
  restore();

  for (const auto& l : cost.layers) {
    cost.macs += l.macs;
    cost.other_ops += l.other_ops;
  }
  std::sort(uncounted.begin(), uncounted.end());
  uncounted.erase(std::unique(uncounted.begin(), uncounted.end()), uncounted.end());
  cost.uncounted = std::move(uncounted);
  return cost;
}

std::string human_count(double count) {
  const char* units[] = {"", " K", " M", " G", " T"};
  int u = 0;
  while (count >= 1000.0 && u < 4) {
    count /= 1000.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.2f%s", count, units[u]);
  return buf;
}

}  // namespace detforge::nas
