// detforge train-cls: trains a static classifier or a supernet on Fashion-MNIST (DetOFA
// pre-trains its supernet on classification before detection). The run is described by a JSON
// config (docs/train_cls.md); progress lines report loss, top-1, images/s and ETA; every epoch
// ends with a test-split evaluation (supernets: the smallest, a few random and the largest subnet
// of the current phase, each after BN recalibration) and a checkpoint directory
// <out>/ckpt_epoch<N>/ {model.safetensors, optimizer.safetensors, state.json}; --resume continues
// from one bit-exactly (same weights as an uninterrupted run). <out>/results.json is written at
// the end.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "autograd/grad_mode.h"
#include "autograd/loss.h"
#include "cli/commands.h"
#include "data/fashion_mnist.h"
#include "nas/cls_models.h"
#include "nas/config_util.h"
#include "nas/progressive_shrinking.h"
#include "nas/sampler.h"
#include "nas/supernet_trainer.h"
#include "nn/checkpoint.h"
#include "nn/elastic/bn_recalibration.h"
#include "nn/elastic/supernet.h"
#include "nn/optim/adamw.h"
#include "nn/optim/clip.h"
#include "nn/optim/schedule.h"
#include "nn/optim/sgd.h"
#include "nn/serialization.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace detforge::cli {

namespace {

constexpr const char* kWho = "train-cls";
constexpr float kMean = 0.2860f, kStd = 0.3530f;  // Fashion-MNIST train-split pixel statistics

struct Config {
  json raw;
  json model;
  std::string data_dir;
  int64_t train_limit = 0, test_limit = 0;
  bool hflip = false;
  std::string opt_type = "sgd";
  double lr = 0.1, momentum = 0.9, weight_decay = 5e-4, beta1 = 0.9, beta2 = 0.999;
  bool nesterov = true;
  double grad_clip = 0;
  std::string sched_type = "cosine";
  double eta_min = 0, gamma = 0.1;
  int64_t step_epochs = 1, warmup_iters = 0;
  std::vector<int64_t> milestones;
  int64_t batch_size = 128, epochs = 1, log_every = 50;
  uint64_t seed = 0;
  int64_t eval_batch = 500, eval_random = 3, calib_batches = 8;
  bool has_supernet = false;
  nas::SamplerOptions sampler;
  nas::ShrinkOptions shrink;
  nas::SupernetTrainerOptions trainer;
};

Config parse_config(const json& j) {
  Config c;
  c.raw = j;
  nas::JsonReader r(j, "", kWho);
  r.allow({"model", "data", "optimizer", "schedule", "batch_size", "epochs", "seed", "log_every",
           "eval", "supernet"});
  if (!j.contains("model")) r.fail("model", "an object with a \"type\"");
  c.model = r.get_object("model");
  c.batch_size = r.get_int("batch_size", c.batch_size, 1);
  c.epochs = r.get_int("epochs", c.epochs, 1);
  c.seed = static_cast<uint64_t>(r.get_int("seed", 0, 0));
  c.log_every = r.get_int("log_every", c.log_every, 1);
  {
    nas::JsonReader d(r.get_object("data"), "data", kWho);
    d.allow({"dir", "train_limit", "test_limit", "hflip"});
    c.data_dir = d.get_string("dir", "");
    c.train_limit = d.get_int("train_limit", 0, 0);
    c.test_limit = d.get_int("test_limit", 0, 0);
    c.hflip = d.get_bool("hflip", false);
  }
  {
    nas::JsonReader o(r.get_object("optimizer"), "optimizer", kWho);
    o.allow({"type", "lr", "momentum", "nesterov", "weight_decay", "betas", "grad_clip_norm"});
    c.opt_type = o.get_string("type", "sgd", {"sgd", "adamw"});
    c.lr = o.get_double("lr", c.opt_type == "sgd" ? 0.1 : 1e-3, 0);
    c.momentum = o.get_double("momentum", 0.9, 0);
    c.nesterov = o.get_bool("nesterov", true);
    c.weight_decay = o.get_double("weight_decay", c.opt_type == "sgd" ? 5e-4 : 0.05, 0);
    auto betas = o.get_double_list("betas", {0.9, 0.999});
    if (betas.size() != 2) o.fail("betas", "[beta1, beta2]");
    c.beta1 = betas[0];
    c.beta2 = betas[1];
    c.grad_clip = o.get_double("grad_clip_norm", 0, 0);
  }
  {
    nas::JsonReader s(r.get_object("schedule"), "schedule", kWho);
    s.allow({"type", "eta_min", "gamma", "step_epochs", "milestones", "warmup_iters"});
    c.sched_type = s.get_string("type", "cosine", {"cosine", "step", "multistep", "constant"});
    c.eta_min = s.get_double("eta_min", 0, 0);
    c.gamma = s.get_double("gamma", 0.1, 0);
    c.step_epochs = s.get_int("step_epochs", 1, 1);
    c.milestones = s.get_int_list("milestones", {}, 0);
    c.warmup_iters = s.get_int("warmup_iters", 0, 0);
  }
  {
    nas::JsonReader e(r.get_object("eval"), "eval", kWho);
    e.allow({"batch_size", "random_subnets", "bn_calib_batches"});
    c.eval_batch = e.get_int("batch_size", c.eval_batch, 1);
    c.eval_random = e.get_int("random_subnets", c.eval_random, 0);
    c.calib_batches = e.get_int("bn_calib_batches", c.calib_batches, 1);
  }
  if (j.contains("supernet")) {
    c.has_supernet = true;
    nas::JsonReader s(r.get_object("supernet"), "supernet", kWho);
    s.allow({"sampler", "shrinking", "inplace_distillation", "kd_weight", "kd_temperature",
             "ce_weight"});
    if (s.has("sampler"))
      c.sampler = nas::sampler_options_from_json(j["supernet"]["sampler"], "supernet.sampler");
    if (s.has("shrinking"))
      c.shrink = nas::shrink_options_from_json(j["supernet"]["shrinking"], "supernet.shrinking");
    c.trainer.inplace_distillation = s.get_bool("inplace_distillation", true);
    c.trainer.kd_weight = s.get_double("kd_weight", 1.0, 0);
    c.trainer.kd_temperature = s.get_double("kd_temperature", 1.0, 1e-6);
    c.trainer.ce_weight = s.get_double("ce_weight", 1.0, 0);
  }
  c.trainer.grad_clip_norm = c.grad_clip;
  return c;
}

// Normalised float images [N, 1, 28, 28] and labels.
struct Split {
  std::vector<float> x;
  std::vector<int64_t> y;
  int64_t n = 0;
};
constexpr int64_t kPix = data::kFashionMnistSide * data::kFashionMnistSide;

Split load_split(const std::string& name, const std::string& dir, int64_t limit) {
  data::FashionMnist d = data::load_fashion_mnist(name, dir);
  Split s;
  s.n = d.labels.size(0);
  if (limit > 0) s.n = std::min(s.n, limit);
  const uint8_t* px = d.images.data<uint8_t>();
  const int64_t* lb = d.labels.data<int64_t>();
  s.x.resize(static_cast<size_t>(s.n * kPix));
  for (int64_t i = 0; i < s.n * kPix; ++i) s.x[i] = (px[i] / 255.0f - kMean) / kStd;
  s.y.assign(lb, lb + s.n);
  return s;
}

// Rows idx[begin, end) of the split (optionally mirrored left-right per image) as tensors.
std::pair<Tensor, Tensor> make_batch(const Split& s, const std::vector<int64_t>& idx, size_t begin,
                                     size_t end, const std::vector<uint8_t>* flip = nullptr) {
  const int64_t n = static_cast<int64_t>(end - begin), side = data::kFashionMnistSide;
  std::vector<float> x(static_cast<size_t>(n * kPix));
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = idx[begin + i];
    const float* src = s.x.data() + row * kPix;
    float* dst = x.data() + i * kPix;
    if (flip && (*flip)[begin + i]) {
      for (int64_t h = 0; h < side; ++h)
        for (int64_t w = 0; w < side; ++w) dst[h * side + w] = src[h * side + side - 1 - w];
    } else {
      std::copy(src, src + kPix, dst);
    }
    y[i] = s.y[row];
  }
  return {Tensor::from_vector(x, {n, 1, side, side}), Tensor::from_vector(y, {n})};
}

// The epoch's sample order and flips: a function of (seed, epoch) only, so a resumed run sees
// the same data as an uninterrupted one.
void epoch_order(uint64_t seed, int64_t epoch, int64_t n, std::vector<int64_t>& idx,
                 std::vector<uint8_t>& flip) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) + 1);
  idx.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(idx[i], idx[rng() % static_cast<uint64_t>(i + 1)]);
  flip.resize(static_cast<size_t>(n));
  for (auto& f : flip) f = static_cast<uint8_t>(rng() & 1);
}

struct EvalResult {
  std::string name;
  json arch;
  double top1 = 0, loss = 0;
};

EvalResult evaluate(nn::Module& model, const Split& test, int64_t batch) {
  NoGradGuard ng;
  const bool was = model.is_training();
  model.eval();
  std::vector<int64_t> idx(static_cast<size_t>(test.n));
  for (int64_t i = 0; i < test.n; ++i) idx[i] = i;
  double loss = 0;
  int64_t correct = 0;
  for (int64_t b = 0; b < test.n; b += batch) {
    const size_t e = static_cast<size_t>(std::min(test.n, b + batch));
    auto [x, y] = make_batch(test, idx, static_cast<size_t>(b), e);
    Tensor logits = model.forward(x);
    loss += cross_entropy(logits, y, Tensor(), -100, "sum").item();
    correct += nas::top1_correct(logits, y);
  }
  model.train(was);
  EvalResult r;
  r.top1 = 100.0 * correct / std::max<int64_t>(1, test.n);
  r.loss = loss / std::max<int64_t>(1, test.n);
  return r;
}

std::vector<EvalResult> evaluate_all(nn::Module& model, nn::Supernet* sn,
                                     const nn::SearchSpace* space, const Config& c,
                                     const Split& train, const Split& test) {
  if (!sn) {
    auto r = evaluate(model, test, c.eval_batch);
    r.name = "model";
    return {r};
  }
  // Fixed evaluation subnets (their own rng: evaluation never perturbs training).
  std::mt19937_64 rng(c.seed + 12345);
  std::vector<std::pair<std::string, nn::ArchConfig>> archs{{"smallest", space->smallest()}};
  for (int64_t i = 0; i < c.eval_random; ++i)
    archs.push_back({str_cat("random", i), space->sample(rng)});
  archs.push_back({"largest", space->largest()});  // last: the stored BN stats end as the largest's
  // Calibration batches: the first K training batches in file order.
  std::vector<int64_t> idx(static_cast<size_t>(train.n));
  for (int64_t i = 0; i < train.n; ++i) idx[i] = i;
  std::vector<Tensor> calib;
  for (int64_t k = 0; k < c.calib_batches; ++k) {
    const int64_t b = k * c.batch_size;
    if (b >= train.n) break;
    calib.push_back(make_batch(train, idx, static_cast<size_t>(b),
                               static_cast<size_t>(std::min(train.n, b + c.batch_size)))
                        .first);
  }
  std::vector<EvalResult> out;
  for (const auto& [name, a] : archs) {
    sn->set_active(a);
    nn::recalibrate_bn(model, calib);
    EvalResult r = evaluate(model, test, c.eval_batch);
    r.name = name;
    r.arch = nn::arch_config_to_json(a);
    out.push_back(r);
  }
  return out;
}

std::shared_ptr<const nn::LRSchedule> make_schedule(const Config& c, int64_t spe) {
  const int64_t total = c.epochs * spe;
  std::shared_ptr<const nn::LRSchedule> s;
  if (c.sched_type == "cosine")
    s = std::make_shared<nn::CosineSchedule>(std::max<int64_t>(1, total), c.eta_min);
  else if (c.sched_type == "step")
    s = std::make_shared<nn::StepSchedule>(c.step_epochs * spe, c.gamma);
  else if (c.sched_type == "multistep") {
    std::vector<int64_t> m;
    for (int64_t e : c.milestones) m.push_back(e * spe);
    s = std::make_shared<nn::MultiStepSchedule>(m, c.gamma);
  } else {
    s = std::make_shared<nn::ConstantSchedule>();
  }
  if (c.warmup_iters > 0) s = std::make_shared<nn::WarmupSchedule>(s, c.warmup_iters, 0.001);
  return s;
}

json eval_json(const std::vector<EvalResult>& ev) {
  json a = json::array();
  for (const auto& r : ev) {
    json o{{"name", r.name}, {"top1", r.top1}, {"loss", r.loss}};
    if (!r.arch.is_null()) o["arch"] = r.arch;
    a.push_back(o);
  }
  return a;
}

struct Args {
  std::string config, resume, out = "train_cls_out";
  int64_t epochs = 0;
  std::vector<std::string> sets;  // config overrides
};

void run(const Args& a) {
  json state;  // checkpoint state when resuming
  if (!a.resume.empty()) {
    state = nn::read_json_file((fs::path(a.resume) / "state.json").string(), kWho);
    if (!state.contains("config") || !state.contains("epoch"))
      throw ConfigError(
          str_cat("[", kWho, "] ", a.resume, "/state.json: not a train-cls checkpoint"));
  }
  // --epochs is the first override, so a later --set epochs=N still wins.
  std::vector<std::string> sets;
  if (a.epochs > 0) sets.push_back(str_cat("epochs=", a.epochs));
  sets.insert(sets.end(), a.sets.begin(), a.sets.end());
  json cfg_json = nn::load_run_config(a.config, state, sets, kWho);
  Config c = parse_config(cfg_json);

  manual_seed(c.seed);
  nas::ClsModelSpec spec;
  spec.spec = c.model;
  auto model = nas::make_cls_model(spec);
  auto* sn = dynamic_cast<nn::Supernet*>(model.get());
  if (c.has_supernet && !sn)
    throw ConfigError(str_cat("[", kWho, "] supernet: model type \"", c.model.value("type", ""),
                              "\" is not a supernet"));

  Split train = load_split("train", c.data_dir, c.train_limit);
  Split test = load_split("test", c.data_dir, c.test_limit);
  if (train.n < c.batch_size)
    throw ConfigError(str_cat("[", kWho, "] batch_size: ", c.batch_size, " exceeds the ", train.n,
                              " training images"));
  const int64_t spe = train.n / c.batch_size;  // drop_last

  nn::ParamGroup base;
  base.lr = c.lr;
  base.weight_decay = c.weight_decay;
  base.momentum = c.momentum;
  base.nesterov = c.nesterov && c.momentum > 0;
  base.beta1 = c.beta1;
  base.beta2 = c.beta2;
  auto groups = nn::split_decay_groups(model->named_parameters(), base);
  std::unique_ptr<nn::Optimizer> opt;
  if (c.opt_type == "sgd")
    opt = std::make_unique<nn::SGD>(groups);
  else
    opt = std::make_unique<nn::AdamW>(groups);
  nn::LRScheduler sched(*opt, make_schedule(c, spe));

  nas::SubnetSampler sampler(c.sampler, c.seed + 1);
  std::unique_ptr<nas::ProgressiveShrinking> shrink;
  std::unique_ptr<nas::SupernetTrainer> trainer;
  if (sn) {
    shrink = std::make_unique<nas::ProgressiveShrinking>(sn->space(), c.shrink, c.epochs);
    trainer = std::make_unique<nas::SupernetTrainer>(*sn, *opt, sampler, c.trainer);
  }

  int64_t start_epoch = 0, global_step = 0;
  json history = json::array();
  if (!state.is_null()) {
    const fs::path dir(a.resume);
    nn::load_checkpoint(dir.string(), *model, *opt, kWho);
    sched.load_state_dict(state.at("scheduler"));
    sampler.set_rng_state(state.at("sampler_rng").get<std::string>());
    start_epoch = state.at("epoch").get<int64_t>();
    global_step = state.at("global_step").get<int64_t>();
    history = state.value("history", json::array());
    if (sn) sn->set_active(sn->space().largest());
    std::printf("resumed from %s at epoch %lld (step %lld)\n", a.resume.c_str(),
                static_cast<long long>(start_epoch), static_cast<long long>(global_step));
  }

  std::printf(
      "train-cls: %s (%s), %lld parameters, %lld train / %lld test images, batch %lld, "
      "%lld epochs x %lld steps\n",
      c.model.value("type", "").c_str(), sn ? "supernet" : "static",
      static_cast<long long>(model->num_parameters()), static_cast<long long>(train.n),
      static_cast<long long>(test.n), static_cast<long long>(c.batch_size),
      static_cast<long long>(c.epochs), static_cast<long long>(spe));
  if (sn)
    std::printf(
        "supernet: sampler %s (%lld subnets/step), %zu shrinking phase(s), space size %.3g\n",
        nas::sampler_kind_name(c.sampler.kind), static_cast<long long>(sampler.subnets_per_step()),
        shrink->phases().size(), sn->space().size());
  std::fflush(stdout);

  fs::create_directories(a.out);
  const auto run_t0 = std::chrono::steady_clock::now();
  int64_t steps_this_run = 0;
  std::vector<int64_t> idx;
  std::vector<uint8_t> flip;
  model->train();
  for (int64_t epoch = start_epoch; epoch < c.epochs; ++epoch) {
    const nn::SearchSpace* space = sn ? &shrink->space_at(epoch) : nullptr;
    if (sn && (epoch == start_epoch || shrink->phase_at(epoch) != shrink->phase_at(epoch - 1)))
      std::printf("epoch %lld: phase %lld \"%s\" (space size %.3g)\n",
                  static_cast<long long>(epoch + 1),
                  static_cast<long long>(shrink->phase_at(epoch)),
                  shrink->phases()[shrink->phase_at(epoch)].name.c_str(), space->size());
    epoch_order(c.seed, epoch, train.n, idx, flip);
    double ep_loss = 0, win_loss = 0;
    int64_t ep_correct = 0, ep_seen = 0, win_correct = 0, win_seen = 0;
    auto win_t0 = std::chrono::steady_clock::now();
    const auto ep_t0 = win_t0;
    for (int64_t s = 0; s < spe; ++s) {
      const size_t b = static_cast<size_t>(s * c.batch_size);
      auto [x, y] = make_batch(train, idx, b, b + static_cast<size_t>(c.batch_size),
                               c.hflip ? &flip : nullptr);
      double loss = 0;
      int64_t correct = 0;
      if (sn) {
        auto st = trainer->step(x, y, *space);
        loss = st.subnets.front().ce;
        correct = st.subnets.front().correct;
      } else {
        opt->zero_grad();
        Tensor logits = model->forward(x);
        Tensor l = cross_entropy(logits, y);
        l.backward();
        if (c.grad_clip > 0) {
          std::vector<Tensor> ps = model->parameters();
          nn::clip_grad_norm_(ps, c.grad_clip);
        }
        opt->step();
        loss = l.item();
        correct = nas::top1_correct(logits, y);
      }
      sched.step();
      ++global_step;
      ++steps_this_run;
      ep_loss += loss * c.batch_size;
      ep_correct += correct;
      ep_seen += c.batch_size;
      win_loss += loss * c.batch_size;
      win_correct += correct;
      win_seen += c.batch_size;
      if ((s + 1) % c.log_every == 0 || s + 1 == spe) {
        const auto now = std::chrono::steady_clock::now();
        const double win_s = std::chrono::duration<double>(now - win_t0).count();
        const double run_s = std::chrono::duration<double>(now - run_t0).count();
        const int64_t left = (c.epochs - epoch - 1) * spe + (spe - s - 1);
        std::printf(
            "epoch %lld/%lld step %lld/%lld loss %.4f top1 %.2f%% lr %.5g %.0f img/s "
            "ETA %s\n",
            static_cast<long long>(epoch + 1), static_cast<long long>(c.epochs),
            static_cast<long long>(s + 1), static_cast<long long>(spe), win_loss / win_seen,
            100.0 * win_correct / win_seen, sched.current_lrs()[0],
            win_seen / std::max(win_s, 1e-9),
            nn::format_duration(run_s / steps_this_run * left).c_str());
        std::fflush(stdout);
        win_loss = 0;
        win_correct = win_seen = 0;
        win_t0 = now;
      }
    }
    const double ep_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ep_t0).count();
    auto ev = evaluate_all(*model, sn, space, c, train, test);
    if (sn) sn->set_active(sn->space().largest());
    for (const auto& r : ev)
      std::printf("epoch %lld test %-9s top1 %.2f%% loss %.4f\n", static_cast<long long>(epoch + 1),
                  r.name.c_str(), r.top1, r.loss);
    history.push_back({{"epoch", epoch + 1},
                       {"train_loss", ep_loss / ep_seen},
                       {"train_top1", 100.0 * ep_correct / ep_seen},
                       {"seconds", ep_s},
                       {"test", eval_json(ev)}});
    // Checkpoint (after evaluation, so the stored BN statistics are the ones a continuing run has).
    const fs::path dir = fs::path(a.out) / str_cat("ckpt_epoch", epoch + 1);
    json st{{"epoch", epoch + 1},
            {"global_step", global_step},
            {"sampler_rng", sampler.rng_state()},
            {"scheduler", sched.state_dict()},
            {"config", cfg_json},
            {"history", history}};
    nn::save_checkpoint(dir.string(), *model, *opt, st);
    std::printf("checkpoint %s\n", dir.string().c_str());
    std::fflush(stdout);
  }
  json results{{"config", cfg_json},
               {"model", c.model.value("type", "")},
               {"supernet", sn != nullptr},
               {"parameters", model->num_parameters()},
               {"train_images", train.n},
               {"test_images", test.n},
               {"epochs", c.epochs},
               {"history", history},
               {"final", history.empty() ? json() : history.back()["test"]}};
  nn::write_json_file((fs::path(a.out) / "results.json").string(), results, kWho);
  std::printf("results %s\n", (fs::path(a.out) / "results.json").string().c_str());
}

}  // namespace

void add_train_cls(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train-cls", "Train a classifier or a supernet on Fashion-MNIST (config: docs/train_cls.md)");
  auto a = std::make_shared<Args>();
  cmd->add_option("--config", a->config, "JSON config (optional with --resume: the checkpoint's)");
  cmd->add_option("--resume", a->resume, "Checkpoint directory <out>/ckpt_epoch<N> to continue");
  cmd->add_option("--epochs", a->epochs, "Override the config's epochs")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", a->out, "Output directory (checkpoints, results.json)");
  cmd->add_option("--set", a->sets, "Override a config value: KEY.PATH=VALUE (as train --set)");
  cmd->callback([a] { run(*a); });
}

}  // namespace detforge::cli
