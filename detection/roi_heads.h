// torchvision 0.14 RoIHeads for boxes (models/detection/roi_heads.py), split into parameterised
// pieces that Cascade R-CNN (detection/cascade_rcnn.h) reuses stage by stage:
// - sample_proposals: GT boxes appended to the proposals (training), Matcher(fg, bg, no
//   low-quality) against the GT, labels = GT label (0 background below bg, -1 ignored between),
//   a balanced sample (positives and negatives kept in ascending proposal order, as torch.where),
//   regression targets encoded with the stage's BoxCoder;
// - fastrcnn_loss: cross-entropy over the sampled RoIs and smooth-L1 (beta, sum) over the
//   positives' regression (class-specific columns, or the single class-agnostic one), divided by
//   the number of sampled RoIs;
// - postprocess_detections: softmax, decode, clip, drop the background column, score > thresh,
//   remove boxes smaller than min_size, batched NMS per class, top max_detections.
// StandardRoIHeads is torchvision's module: children "box_head" (TwoMLPHead) and "box_predictor"
// (FastRCNNPredictor), MultiScaleRoIAlign over the named FPN levels.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "detection/box_coder.h"
#include "detection/detector.h"
#include "detection/heads/box_head.h"
#include "detection/layers.h"
#include "detection/roi_pooler.h"

namespace detforge::detection {

struct RoIHeadsConfig {
  std::vector<std::string> featmap_names{"0", "1", "2", "3"};
  int64_t roi_size = 7, sampling_ratio = 2;
  int64_t representation_size = 1024;
  double fg_iou_thresh = 0.5, bg_iou_thresh = 0.5;
  int64_t batch_size_per_image = 512;
  double positive_fraction = 0.25;
  std::array<double, 4> bbox_reg_weights{10, 10, 5, 5};
  double smooth_l1_beta = 1.0 / 9.0;
  double min_size = 1e-2;  // postprocess: remove_small_boxes
  bool add_gt_as_proposals = true;
};

struct RoiSamples {
  std::vector<Tensor> proposals;            // per image [n_i, 4], the sampled RoIs
  std::vector<Tensor> labels;               // per image i64 [n_i], 0 = background
  std::vector<Tensor> regression_targets;   // per image [n_i, 4]
  std::vector<std::vector<uint8_t>> is_gt;  // per image: the RoI is an appended GT box
};

// No gradient (proposals are detached).
DETFORGE_API RoiSamples sample_proposals(const std::vector<Tensor>& proposals,
                                         const std::vector<data::DetTarget>& targets,
                                         const RoIHeadsConfig& cfg, const BoxCoder& coder);

// class_logits [N, C+1]; box_regression [N, 4 (C+1)] or, class_agnostic, [N, 4].
// Returns (loss_classifier, loss_box_reg).
DETFORGE_API std::pair<Tensor, Tensor> fastrcnn_loss(const Tensor& class_logits,
                                                     const Tensor& box_regression,
                                                     const std::vector<Tensor>& labels,
                                                     const std::vector<Tensor>& regression_targets,
                                                     double smooth_l1_beta, bool class_agnostic);

// scores [N, C+1] probabilities (softmax applied by the caller); boxes [N, C+1, 4] or [N, 1, 4]
// (class-agnostic: the same box for every class) decoded; counts: RoIs per image.
DETFORGE_API std::vector<Detections> postprocess_detections(
    const Tensor& scores, const Tensor& boxes, const std::vector<int64_t>& counts,
    const ImageSizes& sizes, const PostprocessConfig& post, double min_size);

// Features by name for MultiScaleRoIAlign.
DETFORGE_API std::map<std::string, Tensor> feature_map(const FeatureList& features);
DETFORGE_API std::vector<std::pair<int64_t, int64_t>> image_shapes(const ImageSizes& sizes);

// What a two-stage detector needs of its box heads (standard or cascade): losses from the
// proposals in training, detections in eval.
class DETFORGE_API RoIHeadsBase : public nn::Module {
 public:
  virtual LossMap forward_train(const FeatureList& features, const std::vector<Tensor>& proposals,
                                const ImageSizes& sizes,
                                const std::vector<data::DetTarget>& targets) = 0;
  virtual std::vector<Detections> forward_eval(const FeatureList& features,
                                               const std::vector<Tensor>& proposals,
                                               const ImageSizes& sizes,
                                               const PostprocessConfig& post) = 0;
  // Class logits and box regression of the (first-stage) box head on given per-image RoIs, for
  // distillation (a teacher's predictions on the student's RoIs; kd/taps.h).
  virtual BoxPredictions predict_rois(const FeatureList& features, const std::vector<Tensor>& rois,
                                      const ImageSizes& sizes) = 0;
};

class DETFORGE_API StandardRoIHeads : public nn::Cloneable<StandardRoIHeads, RoIHeadsBase> {
 public:
  // in_channels: the FPN width; num_classes includes the background (torchvision's).
  StandardRoIHeads(const RoIHeadsConfig& cfg, int64_t in_channels, int64_t num_classes);
  std::string type_name() const override { return "RoIHeads"; }

  LossMap forward_train(const FeatureList& features, const std::vector<Tensor>& proposals,
                        const ImageSizes& sizes,
                        const std::vector<data::DetTarget>& targets) override;
  std::vector<Detections> forward_eval(const FeatureList& features,
                                       const std::vector<Tensor>& proposals,
                                       const ImageSizes& sizes,
                                       const PostprocessConfig& post) override;
  const RoIHeadsConfig& config() const { return cfg_; }
  BoxPredictions predict_rois(const FeatureList& features, const std::vector<Tensor>& rois,
                              const ImageSizes& sizes) override {
    return predict(features, rois, sizes);
  }

 private:
  BoxPredictions predict(const FeatureList& features, const std::vector<Tensor>& rois,
                         const ImageSizes& sizes);

  RoIHeadsConfig cfg_;
  MultiScaleRoIAlign pooler_;
  BoxCoder coder_;
};

}  // namespace detforge::detection
