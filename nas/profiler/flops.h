// Parameter and multiply-accumulate (MAC) counts of any nn::Module at any input size.
//
// Convention (the fvcore / ptflops "FLOPs = MACs" convention that gives torchvision resnet18 at
// 1x3x224x224 = 1.82 GMACs and resnet50 = 4.09 GMACs):
//   - Conv2d (and subclasses such as WSConv2d): N * Cout * Hout * Wout * (Cin / groups) * kh * kw
//     MACs, i.e. output elements x (input channels per group x kernel area);
//   - Linear: (number of rows) * in_features * out_features MACs;
//   - ElasticConv2d / ElasticLinear (supernets): the same rules on the active sub-layer (active
//     in / out channels and kernel size), so a supernet with cfg active costs what
//     extract_subnet(cfg) costs;
//   - nothing else is a MAC. Bias additions, normalisation layers, activation and pooling modules
//     are reported separately as `other_ops`, one op per output element (Dropout, Flatten and
//     Identity are free). Only operations done by leaf *modules* are observed: functional ops
//     called inside a module's forward (ResNet's ReLUs, stem max pool, residual adds and global
//     average pool) are neither MACs nor counted in other_ops.
//
// How: the model runs forward once, under NoGradGuard and in eval mode, on a zero input of the
// requested shape. For the duration of that run every leaf child module is swapped for a probe
// that calls it and records the input and output shapes (the modules' forward calls are virtual
// calls on child("name"), so a probe sees every call); the originals are put back afterwards,
// also when the forward throws, and each module's train/eval mode is restored. Parents that
// dynamic_cast a leaf child to its concrete type during forward cannot be probed this way (none
// of nn's backbones do; Sequential containers are never swapped).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/module.h"

namespace detforge::nas {

// One call of a leaf module during the dry forward (a module called twice appears twice).
struct LayerCost {
  std::string path;  // dotted name ("layer1.0.conv1"); "" for a leaf root
  std::string type;  // type_name()
  Shape input_shape, output_shape;
  int64_t macs = 0;       // multiply-accumulates (Conv2d, Linear)
  int64_t other_ops = 0;  // bias adds, norm / activation / pooling output elements
  int64_t params = 0;     // the module's own parameters
};

struct ModelCost {
  Shape input_shape;
  int64_t params = 0;            // all parameters (model.num_parameters())
  int64_t trainable_params = 0;  // those with requires_grad
  int64_t macs = 0;
  int64_t other_ops = 0;
  std::vector<LayerCost> layers;  // in call order
  // Paths of modules whose own parameters take part in compute that no rule counts (a leaf with
  // parameters that is neither Conv2d, Linear nor a norm layer; a non-leaf with own parameters).
  // Empty for every nn backbone; non-empty means `macs` may be an undercount.
  std::vector<std::string> uncounted;
  double gmacs() const { return static_cast<double>(macs) * 1e-9; }
};

// Number of parameter elements (optionally only those requiring grad).
DETFORGE_API int64_t count_parameters(const nn::Module& model, bool trainable_only = false);

// Runs model.forward on zeros of `input_shape` (full shape, batch included, e.g. {1, 3, 224,
// 224}); the input lives on the device and has the dtype of the model's first parameter (CPU f32
// for a parameter-free model).
DETFORGE_API ModelCost profile_cost(nn::Module& model, const Shape& input_shape);
// As above, but the dry run is `run(input)` (e.g. a backbone's forward_features); `run` must
// reach the leaves through `model`'s children.
DETFORGE_API ModelCost profile_cost(nn::Module& model, const Shape& input_shape,
                                    const std::function<void(const Tensor&)>& run);

// "1.82 G", "300.77 M", "512 K" (decimal prefixes).
DETFORGE_API std::string human_count(double count);

}  // namespace detforge::nas
