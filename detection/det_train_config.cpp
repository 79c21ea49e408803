// detforge train's config schema (docs/train_det.md) and the loader configs derived from it.
#include <filesystem>

#include "detection/det_train.h"
#include "nn/json_reader.h"
#include "tensor/error.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace detforge::detection {
namespace {

constexpr const char* kWho = "train";

std::string resolve(const std::string& root, const std::string& p) {
  if (root.empty() || p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(root) / p).string();
}

data::ResizeSize parse_size(const json& v, const nn::JsonReader& r, const std::string& key) {
  if (!v.is_array() || v.size() != 2 || !v[0].is_number_integer() || !v[1].is_number_integer() ||
      v[0].get<int64_t>() <= 0 || v[1].get<int64_t>() <= 0)
    r.fail(key, "[short, long] (two positive integers)");
  return {v[0].get<int64_t>(), v[1].get<int64_t>()};
}

DetSplitConfig parse_split(const nn::JsonReader& d, const std::string& key, const std::string& root,
                           bool required) {
  DetSplitConfig s;
  if (!d.has(key)) {
    if (required) d.fail(key, "an object {\"images\": dir, \"annotations\": json}");
    return s;
  }
  nn::JsonReader r(d.get_object(key), d.key_path(key), kWho);
  r.allow({"images", "annotations"});
  if (!r.has("annotations")) r.fail("annotations", "a COCO JSON path");
  s.annotations = resolve(root, r.get_string("annotations", ""));
  s.images = resolve(root, r.get_string("images", ""));
  if (s.annotations.empty()) r.fail("annotations", "a non-empty path");
  return s;
}

}  // namespace

DetTrainConfig parse_det_train_config(const json& j, const std::vector<std::string>& extra) {
  DetTrainConfig c;
  c.raw = j;
  json base = j;
  if (base.is_object())
    for (const auto& k : extra) base.erase(k);  // parsed by the caller
  nn::JsonReader r(base, "", kWho);
  r.allow({"data", "model", "optim", "train"});
  if (!r.has("model")) r.fail("model", "an object with a \"type\"");
  c.model = r.get_object("model");
  if (!r.has("data")) r.fail("data", "an object with \"train\"");
  {
    const json dj = r.get_object("data");
    nn::JsonReader d(dj, "data", kWho);
    d.allow({"root", "train", "val", "train_sizes", "test_size", "batch_size", "eval_batch_size",
             "workers", "flip", "size_divisor", "filter_empty", "normalize", "rounding"});
    const std::string root = d.get_string("root", "");
    c.train = parse_split(d, "train", root, true);
    c.val = parse_split(d, "val", root, false);
    if (d.has("train_sizes")) {
      const json& ts = dj.at("train_sizes");
      if (!ts.is_array() || ts.empty()) d.fail("train_sizes", "a non-empty array of [short, long]");
      c.train_sizes.clear();
      for (size_t i = 0; i < ts.size(); ++i)
        c.train_sizes.push_back(parse_size(ts[i], d, str_cat("train_sizes[", i, "]")));
    }
    if (d.has("test_size"))
      c.test_size = parse_size(dj.at("test_size"), d, "test_size");
    else
      c.test_size = c.train_sizes.back();
    c.batch_size = d.get_int("batch_size", c.batch_size, 1);
    c.eval_batch_size = d.get_int("eval_batch_size", c.batch_size, 1);
    c.workers = d.get_int("workers", c.workers, 0);
    c.flip = d.get_double("flip", c.flip, 0);
    if (c.flip > 1) d.fail("flip", "a probability in [0, 1]");
    c.size_divisor = d.get_int("size_divisor", 0, 0);
    c.filter_empty = d.get_bool("filter_empty", true);
    c.normalize = d.get_string("normalize", "imagenet", {"imagenet", "unit", "none"});
    c.rounding = d.get_string("rounding", "torchvision", {"torchvision", "mmdet"});
  }
  {
    nn::JsonReader o(r.get_object("optim"), "optim", kWho);
    o.allow({"type", "lr", "momentum", "nesterov", "weight_decay", "betas", "warmup_iters",
             "warmup_factor", "warmup", "schedule", "clip_grad_norm", "bn_sparsity"});
    c.opt_type = o.get_string("type", "sgd", {"sgd", "adamw"});
    c.lr = o.get_double("lr", c.opt_type == "sgd" ? 0.02 : 1e-4, 0);
    c.momentum = o.get_double("momentum", 0.9, 0);
    c.nesterov = o.get_bool("nesterov", false);
    c.weight_decay = o.get_double("weight_decay", c.opt_type == "sgd" ? 1e-4 : 0.05, 0);
    auto betas = o.get_double_list("betas", {0.9, 0.999});
    if (betas.size() != 2) o.fail("betas", "[beta1, beta2]");
    c.beta1 = betas[0];
    c.beta2 = betas[1];
    c.warmup_iters = o.get_int("warmup_iters", 0, 0);
    c.warmup_factor = o.get_double("warmup_factor", 0.001, 0);
    c.warmup_mode = o.get_string("warmup", "linear", {"linear", "constant", "exp"});
    c.clip_grad_norm = o.get_double("clip_grad_norm", 0, 0);
    c.bn_sparsity = o.get_double("bn_sparsity", 0, 0);
    nn::JsonReader s(o.get_object("schedule"), "optim.schedule", kWho);
    s.allow({"type", "milestones", "gamma", "eta_min"});
    c.sched_type = s.get_string("type", "multistep", {"multistep", "cosine", "constant"});
    c.milestones = s.get_int_list("milestones", {}, 1);
    c.gamma = s.get_double("gamma", 0.1, 0);
    c.eta_min = s.get_double("eta_min", 0, 0);
  }
  {
    nn::JsonReader t(r.get_object("train"), "train", kWho);
    t.allow({"iterations", "epochs", "log_every", "checkpoint_every", "eval_every",
             "keep_checkpoints", "seed", "threads", "device", "init_weights"});
    if (t.has("iterations") == t.has("epochs"))
      t.fail("iterations", "exactly one of \"iterations\" and \"epochs\"");
    c.iterations = t.get_int("iterations", 0, 1);
    c.epochs = t.get_int("epochs", 0, 1);
    c.log_every = t.get_int("log_every", c.log_every, 1);
    c.checkpoint_every = t.get_int("checkpoint_every", 0, 0);
    c.eval_every = t.get_int("eval_every", 0, 0);
    c.keep_checkpoints = t.get_int("keep_checkpoints", 3, 0);
    c.seed = static_cast<uint64_t>(t.get_int("seed", 0, 0));
    c.threads = t.get_int("threads", 0, 0);
    c.device = t.get_string("device", "cpu");
    c.init_weights = t.get_string("init_weights", "");
    try {
      Device::parse(c.device);
    } catch (const Error&) {
      t.fail("device", "\"cpu\", \"cuda\" or \"cuda:N\"");
    }
  }
  if (c.eval_every > 0 && !c.val.defined())
    throw ConfigError("[train] train.eval_every: needs data.val");
  return c;
}

data::DetLoaderConfig det_loader_config(const DetTrainConfig& c, bool train, int64_t size_divisor) {
  data::DetLoaderConfig l;
  l.train = train;
  l.shuffle = true;
  l.batch_size = train ? c.batch_size : c.eval_batch_size;
  l.flip_prob = train ? c.flip : 0.0;
  l.train_sizes = c.train_sizes;
  l.eval_size = c.test_size;
  l.seed = c.seed;
  l.num_workers = static_cast<int>(c.workers);
  l.transform.size_divisor = c.size_divisor > 0 ? c.size_divisor : size_divisor;
  l.transform.rounding =
      c.rounding == "mmdet" ? data::ResizeRounding::mmdet : data::ResizeRounding::torchvision;
  l.transform.normalize = c.normalize == "unit"   ? data::Normalize::unit()
                          : c.normalize == "none" ? data::Normalize::none()
                                                  : data::Normalize::imagenet();
  return l;
}

}  // namespace detforge::detection
