#include "kernels/elastic/elastic_weight.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(elastic_gather_stub);
DF_DEFINE_DISPATCH(elastic_scatter_stub);
}  // namespace detforge::kernels
