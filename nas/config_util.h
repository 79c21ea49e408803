// JsonReader moved down to nn/json_reader.h so that detection/ (below nas/) can use it; this alias
// keeps nas:: users unchanged.
#pragma once
#include "nn/json_reader.h"

namespace detforge::nas {
using nn::JsonReader;
}  // namespace detforge::nas
