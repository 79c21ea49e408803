#include "kd/blockwise_kd.h"

#include "autograd/grad_mode.h"
#include "autograd/kd_losses.h"
#include "tensor/error.h"

namespace detforge::kd {

Tensor bkd_target(nn::Module& reference, const Tensor& input, const BlockwiseKdOptions& opts) {
  const bool was_training = reference.is_training();
  reference.train(opts.reference_train_mode);
  Tensor y;
  try {
    NoGradGuard ng;
    y = reference.forward(input).detach();
  } catch (...) {
    reference.train(was_training);
    throw;
  }
  reference.train(was_training);
  return y;
}

Tensor blockwise_kd_loss(nn::Module& reference, nn::Module& replacement, const Tensor& input,
                         const BlockwiseKdOptions& opts) {
  Tensor target = bkd_target(reference, input, opts);
  Tensor out = replacement.forward(input);
  DF_CHECK(out.shape() == target.shape(), ShapeError, "[kd blockwise] replacement block ",
           replacement.type_name(), " output ", shape_str(out.shape()),
           " differs from the reference block ", reference.type_name(), " output ",
           shape_str(target.shape()));
  DF_CHECK(out.dim() >= 2, ShapeError, "[kd blockwise] block outputs must be [N, C, *], got ",
           shape_str(out.shape()));
  return kd_bkd_nsr(out, target, opts.eps);
}

double blockwise_kd_step(nn::Module& reference, nn::Module& replacement, nn::Optimizer& optimizer,
                         const Tensor& input, const BlockwiseKdOptions& opts) {
  optimizer.zero_grad();
  Tensor loss = blockwise_kd_loss(reference, replacement, input, opts);
  loss.backward();
  optimizer.step();
  return loss.item();
}

}  // namespace detforge::kd
