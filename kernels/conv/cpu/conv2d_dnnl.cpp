// CPU convolution through oneDNN. Layouts inside a primitive are oneDNN's choice (format_tag::any:
// explicit nhwc/ohwi falls to a slow `ref:` implementation, DESIGN.md section 4); tensors cross the
// boundary in plain NCHW / OIHW (goihw for groups) with reorders around the primitive.
// Primitives, their reorders and the blocked scratch buffers are cached per shape key in an LRU.
// Reordered weights are not cached across calls: weights change every training step and tensors
// carry no version counter (see docs/perf/NOTES.md).
#include <oneapi/dnnl/dnnl.hpp>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "kernels/conv/conv2d.h"
#include "kernels/conv/cpu/conv2d_ref.h"
#include "tensor/view_ops.h"

namespace detforge::kernels {
namespace {
using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// One primitive with its boundary reorders. An argument whose primitive layout differs from the
// plain user layout gets a cached buffer and a reorder (user -> buffer before, buffer -> user after
// for outputs).
struct Entry {
  struct Arg {
    int id = 0;
    bool output = false;
    memory::desc user;
    bool reordered = false;
    memory buf;
    dnnl::reorder re;
  };
  dnnl::primitive prim;
  std::string impl;
  std::vector<Arg> args;
  std::mutex mu;  // the cached buffers are per entry: one execution at a time

  void add(int id, bool output, const memory::desc& user, const memory::desc& prim_md) {
    Arg a;
    a.id = id;
    a.output = output;
    a.user = user;
    if (prim_md != user) {
      a.reordered = true;
      a.buf = memory(prim_md, engine());
      memory u(user, engine(), nullptr);
      a.re = output ? dnnl::reorder(a.buf, u) : dnnl::reorder(u, a.buf);
    }
    args.push_back(std::move(a));
  }

  // ptrs in the order of args.
  void run(const std::vector<void*>& ptrs) {
    std::lock_guard<std::mutex> lock(mu);
    dnnl::stream s(engine());
    std::unordered_map<int, memory> exec;
    std::vector<std::pair<Arg*, memory>> outs;
    for (size_t i = 0; i < args.size(); ++i) {
      Arg& a = args[i];
      memory u(a.user, engine(), ptrs[i]);
      if (!a.reordered) {
        exec[a.id] = u;
      } else {
        if (!a.output)
          a.re.execute(s, {{DNNL_ARG_FROM, u}, {DNNL_ARG_TO, a.buf}});
        else
          outs.emplace_back(&a, u);
        exec[a.id] = a.buf;
      }
    }
    prim.execute(s, exec);
    for (auto& [a, u] : outs) a->re.execute(s, {{DNNL_ARG_FROM, a->buf}, {DNNL_ARG_TO, u}});
    s.wait();
  }
};

struct Problem {
  memory::dims src, wei, dst, bias, strides, dil, pad_l, pad_r;
  memory::desc src_user, wei_user, dst_user, bias_user;
  Problem(const Shape& in, const Shape& w, const Conv2dParams& p) {
    int64_t OH = conv_out_size(in[2], w[2], p.stride[0], p.padding[0], p.dilation[0]);
    int64_t OW = conv_out_size(in[3], w[3], p.stride[1], p.padding[1], p.dilation[1]);
    src = {in[0], in[1], in[2], in[3]};
    dst = {in[0], w[0], OH, OW};
    bias = {w[0]};
    bool grouped = p.groups > 1;
    wei = grouped ? memory::dims{p.groups, w[0] / p.groups, w[1], w[2], w[3]}
                  : memory::dims{w[0], w[1], w[2], w[3]};
    strides = {p.stride[0], p.stride[1]};
    dil = {p.dilation[0] - 1, p.dilation[1] - 1};
    pad_l = {p.padding[0], p.padding[1]};
    pad_r = pad_l;  // PyTorch's floor formula equals oneDNN's with symmetric padding
    src_user = memory::desc(src, dt::f32, tag::nchw);
    dst_user = memory::desc(dst, dt::f32, tag::nchw);
    wei_user = memory::desc(wei, dt::f32, grouped ? tag::goihw : tag::oihw);
    bias_user = memory::desc(bias, dt::f32, tag::x);
  }
  memory::desc any(const memory::dims& d) const { return memory::desc(d, dt::f32, tag::any); }
  dnnl::convolution_forward::primitive_desc fwd_pd(bool with_bias) const {
    using cf = dnnl::convolution_forward;
    auto d = with_bias
                 ? cf::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                            any(src), any(wei), bias_user, any(dst), strides, dil, pad_l, pad_r)
                 : cf::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                            any(src), any(wei), any(dst), strides, dil, pad_l, pad_r);
    return cf::primitive_desc(d, engine());
  }
};

std::shared_ptr<Entry> build(ConvDirection dir, const Shape& in, const Shape& w, bool bias,
                             const Conv2dParams& p) {
  Problem pr(in, w, p);
  auto e = std::make_shared<Entry>();
  auto fpd = pr.fwd_pd(bias);
  if (dir == ConvDirection::forward) {
    e->prim = dnnl::convolution_forward(fpd);
    e->impl = fpd.impl_info_str();
    e->add(DNNL_ARG_SRC, false, pr.src_user, fpd.src_desc());
    e->add(DNNL_ARG_WEIGHTS, false, pr.wei_user, fpd.weights_desc());
    if (bias) e->add(DNNL_ARG_BIAS, false, pr.bias_user, fpd.bias_desc());
    e->add(DNNL_ARG_DST, true, pr.dst_user, fpd.dst_desc());
  } else if (dir == ConvDirection::backward_data) {
    using bd = dnnl::convolution_backward_data;
    bd::desc d(dnnl::algorithm::convolution_direct, pr.any(pr.src), pr.any(pr.wei), pr.any(pr.dst),
               pr.strides, pr.dil, pr.pad_l, pr.pad_r);
    bd::primitive_desc pd(d, engine(), fpd);
    e->prim = bd(pd);
    e->impl = pd.impl_info_str();
    e->add(DNNL_ARG_DIFF_DST, false, pr.dst_user, pd.diff_dst_desc());
    e->add(DNNL_ARG_WEIGHTS, false, pr.wei_user, pd.weights_desc());
    e->add(DNNL_ARG_DIFF_SRC, true, pr.src_user, pd.diff_src_desc());
  } else {
    using bw = dnnl::convolution_backward_weights;
    auto d = bias ? bw::desc(dnnl::algorithm::convolution_direct, pr.any(pr.src), pr.any(pr.wei),
                             pr.bias_user, pr.any(pr.dst), pr.strides, pr.dil, pr.pad_l, pr.pad_r)
                  : bw::desc(dnnl::algorithm::convolution_direct, pr.any(pr.src), pr.any(pr.wei),
                             pr.any(pr.dst), pr.strides, pr.dil, pr.pad_l, pr.pad_r);
    bw::primitive_desc pd(d, engine(), fpd);
    e->prim = bw(pd);
    e->impl = pd.impl_info_str();
    e->add(DNNL_ARG_SRC, false, pr.src_user, pd.src_desc());
    e->add(DNNL_ARG_DIFF_DST, false, pr.dst_user, pd.diff_dst_desc());
    e->add(DNNL_ARG_DIFF_WEIGHTS, true, pr.wei_user, pd.diff_weights_desc());
    if (bias) e->add(DNNL_ARG_DIFF_BIAS, true, pr.bias_user, pd.diff_bias_desc());
  }
  return e;
}

// LRU of primitives keyed by direction, shapes and params.
class Cache {
 public:
  std::shared_ptr<Entry> get(ConvDirection dir, const Shape& in, const Shape& w, bool bias,
                             const Conv2dParams& p) {
    std::string key = str_cat(static_cast<int>(dir), bias ? "b" : "n", shape_str(in), shape_str(w),
                              p.stride[0], ",", p.stride[1], ",", p.padding[0], ",", p.padding[1],
                              ",", p.dilation[0], ",", p.dilation[1], ",", p.groups);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      ++hits;
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first;
    }
    ++misses;
    std::shared_ptr<Entry> e;
    try {
      e = build(dir, in, w, bias, p);
    } catch (const dnnl::error& err) {
      throw Error(str_cat("[conv2d] oneDNN could not create a primitive for input ", shape_str(in),
                          ", weight ", shape_str(w), ": ", err.what()));
    }
    lru_.push_front(key);
    map_[key] = {e, lru_.begin()};
    if (map_.size() > kCapacity) {
      map_.erase(lru_.back());
      lru_.pop_back();
    }
    return e;
  }
  std::atomic<int64_t> hits{0}, misses{0};

 private:
  static constexpr size_t kCapacity = 256;
  std::mutex mu_;
  std::list<std::string> lru_;
  std::unordered_map<std::string,
                     std::pair<std::shared_ptr<Entry>, std::list<std::string>::iterator>>
      map_;
};

Cache& cache() {
  static Cache c;
  return c;
}

Tensor f32(const Tensor& t) {
  return t.defined() ? raw::contiguous(raw::to(t, kCPU, DType::f32)) : t;
}
bool half_like(DType t) {
  return t == DType::f16 || t == DType::bf16;
}
void check_float(DType t) {
  DF_CHECK(t == DType::f32 || t == DType::f64 || half_like(t), DTypeError, "[conv2d] dtype ",
           dtype_name(t), " is not supported (expected a floating type)");
}

void fwd_cpu(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
             const Conv2dParams& p) {
  check_float(out.dtype());
  if (out.numel() == 0) return;
  if (out.dtype() == DType::f64) return cpu::conv2d_fwd_ref(out, input, weight, bias, p);
  if (half_like(out.dtype())) {
    Tensor tmp = Tensor::empty(out.shape(), DType::f32, kCPU);
    fwd_cpu(tmp, f32(input), f32(weight), f32(bias), p);
    raw::copy(out, tmp);
    return;
  }
  auto e = cache().get(ConvDirection::forward, input.shape(), weight.shape(), bias.defined(), p);
  std::vector<void*> ptrs{input.data_ptr(), weight.data_ptr()};
  if (bias.defined()) ptrs.push_back(bias.data_ptr());
  ptrs.push_back(out.data_ptr());
  e->run(ptrs);
}

void bwd_data_cpu(const Tensor& grad_input, const Tensor& grad_output, const Tensor& weight,
                  const Conv2dParams& p) {
  check_float(grad_input.dtype());
  if (grad_input.numel() == 0) return;
  if (grad_output.numel() == 0) return raw::fill(grad_input, 0.0);
  if (grad_input.dtype() == DType::f64)
    return cpu::conv2d_bwd_data_ref(grad_input, grad_output, weight, p);
  if (half_like(grad_input.dtype())) {
    Tensor tmp = Tensor::empty(grad_input.shape(), DType::f32, kCPU);
    bwd_data_cpu(tmp, f32(grad_output), f32(weight), p);
    raw::copy(grad_input, tmp);
    return;
  }
  auto e = cache().get(ConvDirection::backward_data, grad_input.shape(), weight.shape(), false, p);
  e->run({grad_output.data_ptr(), weight.data_ptr(), grad_input.data_ptr()});
}

void bwd_weight_cpu(const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_output,
                    const Tensor& input, const Conv2dParams& p) {
  check_float(grad_weight.dtype());
  if (grad_output.numel() == 0) {
    raw::fill(grad_weight, 0.0);
    if (grad_bias.defined()) raw::fill(grad_bias, 0.0);
    return;
  }
  if (grad_weight.dtype() == DType::f64)
    return cpu::conv2d_bwd_weight_ref(grad_weight, grad_bias, grad_output, input, p);
  if (half_like(grad_weight.dtype())) {
    Tensor gw = Tensor::empty(grad_weight.shape(), DType::f32, kCPU);
    Tensor gb = grad_bias.defined() ? Tensor::empty(grad_bias.shape(), DType::f32, kCPU) : Tensor();
    bwd_weight_cpu(gw, gb, f32(grad_output), f32(input), p);
    raw::copy(grad_weight, gw);
    if (gb.defined()) raw::copy(grad_bias, gb);
    return;
  }
  auto e = cache().get(ConvDirection::backward_weight, input.shape(), grad_weight.shape(),
                       grad_bias.defined(), p);
  std::vector<void*> ptrs{input.data_ptr(), grad_output.data_ptr(), grad_weight.data_ptr()};
  if (grad_bias.defined()) ptrs.push_back(grad_bias.data_ptr());
  e->run(ptrs);
}

}  // namespace

std::string conv2d_cpu_impl_info(ConvDirection dir, const Shape& input, const Shape& weight,
                                 bool bias, const Conv2dParams& p) {
  return cache().get(dir, input, weight, bias, p)->impl;
}

void conv2d_cpu_cache_stats(int64_t& hits, int64_t& misses) {
  hits = cache().hits.load();
  misses = cache().misses.load();
}

DF_REGISTER_DISPATCH(conv2d_fwd_stub, CPU, &fwd_cpu);
DF_REGISTER_DISPATCH(conv2d_bwd_data_stub, CPU, &bwd_data_cpu);
DF_REGISTER_DISPATCH(conv2d_bwd_weight_stub, CPU, &bwd_weight_cpu);

}  // namespace detforge::kernels
