#include "tensor/safetensors.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tensor/view_ops.h"

namespace detforge {

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& what) {
  DF_CHECK(bytes.size() >= 8, IOError, "[safetensors] ", what, ": file is ", bytes.size(),
           " bytes, too short for the 8-byte header length");
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | static_cast<unsigned char>(bytes[i]);
  DF_CHECK(hlen <= bytes.size() - 8, IOError, "[safetensors] ", what, ": header length ", hlen,
           " exceeds the file size ", bytes.size());
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<int64_t>(hlen));
  } catch (const nlohmann::json::parse_error& e) {
    throw IOError(str_cat("[safetensors] ", what, ": malformed JSON header at byte ", 8 + e.byte, ": ", e.what()));
  }
  DF_CHECK(header.is_object(), IOError, "[safetensors] ", what, ": header is not a JSON object");
  const size_t data_begin = 8 + hlen;
  const size_t data_size = bytes.size() - data_begin;
  SafetensorsFile f;
  for (auto item = header.begin(); item != header.end(); ++item) {
    const std::string& name = item.key();
    const nlohmann::json& v = item.value();
    if (name == "__metadata__") {
      DF_CHECK(v.is_object(), IOError, "[safetensors] ", what, ": __metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        DF_CHECK(m.value().is_string(), IOError, "[safetensors] ", what, ": __metadata__.", m.key(),
                 " is not a string");
        f.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto key = [&](const char* k) -> const nlohmann::json& {
      DF_CHECK(v.is_object() && v.contains(k), IOError, "[safetensors] ", what, ": tensor '", name,
               "' lacks '", k, "'");
      return v.at(k);
    };
    DType dt;
    try {
      dt = dtype_from_name(key("dtype").get<std::string>());
    } catch (const std::exception& e) {
      throw IOError(str_cat("[safetensors] ", what, ": tensor '", name, "': ", e.what()));
    }
    Shape shape;
    const auto& js = key("shape");
    DF_CHECK(js.is_array(), IOError, "[safetensors] ", what, ": ", name, ".shape is not an array");
    uint64_t nbytes = dtype_size(dt);  // checked here: shape_numel would overflow (UB) on huge dims
    for (auto& s : js) {
      DF_CHECK(s.is_number_integer() && s.get<int64_t>() >= 0, IOError, "[safetensors] ", what, ": ",
               name, ".shape has a bad entry ", s.dump());
      shape.push_back(s.get<int64_t>());
      DF_CHECK(!__builtin_mul_overflow(nbytes, static_cast<uint64_t>(shape.back()), &nbytes) &&
                   nbytes <= static_cast<uint64_t>(INT64_MAX),
               IOError, "[safetensors] ", what, ": ", name, ".shape ", js.dump(),
               " is too large (its byte size overflows 64 bits)");
    }
    const auto& off = key("data_offsets");
    DF_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
             IOError, "[safetensors] ", what, ": ", name, ".data_offsets must be [begin, end]");
    uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    const uint64_t want = nbytes;
    DF_CHECK(b <= e && e <= data_size, IOError, "[safetensors] ", what, ": ", name, ".data_offsets [",
             b, ", ", e, "] out of the data section (", data_size, " bytes)");
    DF_CHECK(e - b == want, IOError, "[safetensors] ", what, ": ", name, " has ", e - b,
             " bytes but shape ", shape_str(shape), " of ", dtype_name(dt), " needs ", want);
    Tensor t = Tensor::empty(shape, dt, kCPU);
    if (want) std::memcpy(t.data_ptr(), bytes.data() + data_begin + b, want);
    f.tensors[name] = t;
  }
  return f;
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DF_CHECK(in, IOError, "[safetensors] cannot open '", path, "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_safetensors(ss.str(), path);
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> host;
  uint64_t offset = 0;
  for (auto& [name, t] : tensors) {
    DF_CHECK(t.defined(), Error, "[safetensors] tensor '", name, "' is undefined");
    Tensor h = raw::contiguous(raw::to(t, kCPU, t.dtype()));
    host.push_back(h);
    header[name] = {{"dtype", safetensors_name(t.dtype())}, {"shape", t.shape()},
                    {"data_offsets", {offset, offset + h.nbytes()}}};
    offset += h.nbytes();
  }
  std::string hs = header.dump();
  while ((8 + hs.size()) % 8) hs.push_back(' ');  // data aligned to 8 bytes, as the Python writer does
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    DF_CHECK(out, IOError, "[safetensors] cannot write '", tmp, "'");
    uint64_t n = hs.size();
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    out.write(len, 8);
    out.write(hs.data(), static_cast<std::streamsize>(hs.size()));
    for (auto& h : host) out.write(static_cast<const char*>(h.data_ptr()), static_cast<std::streamsize>(h.nbytes()));
    DF_CHECK(out.good(), IOError, "[safetensors] write to '", tmp, "' failed");
  }
  DF_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, IOError, "[safetensors] cannot rename '", tmp,
           "' to '", path, "'");
}

}  // namespace detforge
