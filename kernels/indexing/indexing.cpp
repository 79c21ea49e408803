#include "kernels/indexing/cumsum.h"
#include "kernels/indexing/gather.h"
#include "kernels/indexing/sort.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(gather_stub);
DF_DEFINE_DISPATCH(scatter_add_stub);
DF_DEFINE_DISPATCH(sort_stub);
DF_DEFINE_DISPATCH(topk_stub);
DF_DEFINE_DISPATCH(cumsum_stub);
DF_DEFINE_DISPATCH(flat_nonzero_stub);
}  // namespace detforge::kernels
