#include "kernels/detection/box_iou.h"
#include "kernels/detection/box_iou_loss.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(box_iou_forward_stub);
DF_DEFINE_DISPATCH(box_iou_backward_stub);
DF_DEFINE_DISPATCH(box_iou_loss_forward_stub);
DF_DEFINE_DISPATCH(box_iou_loss_backward_stub);
}  // namespace detforge::kernels
