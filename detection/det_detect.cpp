// Split evaluation (detections back to original pixels and COCO category ids) and the loss-curve
// plot of a training log.
#include <fstream>
#include <map>

#include "autograd/grad_mode.h"
#include "data/image_io.h"
#include "data/plot.h"
#include "detection/det_train.h"
#include "tensor/error.h"

using nlohmann::json;

namespace detforge::detection {

void batch_to(data::DetBatch& batch, Device device) {
  if (device.is_cpu() && !batch.images.is_cuda()) return;
  batch.images = batch.images.to(device);
  for (auto& t : batch.targets) {
    t.boxes = t.boxes.to(device);
    t.labels = t.labels.to(device);
  }
}

std::vector<CocoDetection> detect_coco(Detector& det, const data::CocoDataset& gt,
                                       const std::string& images_dir,
                                       const data::DetLoaderConfig& loader_cfg) {
  data::DetLoaderConfig lc = loader_cfg;
  lc.train = false;
  const auto cat_ids = data::contiguous_category_ids(gt);
  data::DetLoader loader(data::make_det_records(gt),
                         data::image_dir_source(images_dir, data::read_image), lc);
  const auto params = det.parameters();
  const Device device = params.empty() ? kCPU : params.front().device();
  NoGradGuard ng;
  const bool was_training = det.is_training();
  det.eval();
  std::vector<CocoDetection> out;
  loader.start(0, 0);
  while (auto batch = loader.next()) {
    batch_to(*batch, device);
    const auto dets = det.forward_eval(batch->images, batch->image_sizes);
    DF_CHECK(dets.size() == batch->targets.size(), ShapeError, "[eval] the detector returned ",
             dets.size(), " results for ", batch->targets.size(), " images");
    for (size_t i = 0; i < dets.size(); ++i) {
      const data::DetTarget& t = batch->targets[i];
      const Tensor boxes = dets[i].boxes.to(kCPU).contiguous();
      const Tensor scores = dets[i].scores.to(kCPU).contiguous();
      const Tensor labels = dets[i].labels.to(kCPU).to(DType::i64).contiguous();
      const int64_t n = boxes.size(0);
      const float* b = boxes.data<float>();
      for (int64_t k = 0; k < n; ++k) {
        const int64_t label = labels.data<int64_t>()[k];
        DF_CHECK(label >= 1 && label <= static_cast<int64_t>(cat_ids.size()), ConfigError,
                 "[eval] label ", label, " outside 1..", cat_ids.size(),
                 " (the dataset's categories)");
        CocoDetection d;
        d.image_id = t.image_id;
        d.category_id = cat_ids[label - 1];
        const double x1 = b[4 * k] / t.scale_x, y1 = b[4 * k + 1] / t.scale_y;
        const double x2 = b[4 * k + 2] / t.scale_x, y2 = b[4 * k + 3] / t.scale_y;
        d.bbox = {x1, y1, x2 - x1, y2 - y1};
        d.score = scores.data<float>()[k];
        out.push_back(d);
      }
    }
  }
  det.train(was_training);
  return out;
}

void plot_loss_log(const std::string& log_jsonl, const std::string& png) {
  std::ifstream f(log_jsonl);
  if (!f) throw IOError(str_cat("[train] cannot open ", log_jsonl));
  std::vector<std::string> names{"loss"};
  std::map<std::string, data::PlotSeries> series;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("loss") || !j.contains("iter")) continue;
    const double it = j["iter"].get<double>();
    for (const auto& [k, v] : j.items()) {
      // Every numeric term of the line: the families name their terms differently
      // ("loss_classifier", "classification", "hm_loss", "kd.feat"); bookkeeping keys are not losses.
      if (!v.is_number() || k == "iter" || k == "epoch" || k == "lr" || k == "time" ||
          k == "kd_time" || k == "kd_candidate")
        continue;
      if (!series.count(k)) {
        if (k != "loss") names.push_back(k);
        series[k].label = k;
      }
      series[k].x.push_back(it);
      series[k].y.push_back(v.get<double>());
    }
  }
  std::vector<data::PlotSeries> ss;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!series.count(names[i])) continue;
    data::PlotSeries s = series[names[i]];
    s.color = i == 0 ? data::Rgb{0, 0, 0} : data::palette_color(static_cast<int64_t>(i - 1));
    ss.push_back(std::move(s));
  }
  data::PlotOptions opt;
  opt.width = 800;
  opt.height = 450;
  opt.title = "training loss";
  opt.xlabel = "iteration";
  data::write_png(png, data::plot_lines(ss, opt));
}

}  // namespace detforge::detection
