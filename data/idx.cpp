#include "data/idx.h"

#include <zlib.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include "tensor/error.h"

namespace detforge::data {
namespace {

// Owns a gzFile; reads exactly n bytes or reports how many came.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    std::ifstream probe(path, std::ios::binary);
    DF_CHECK(probe.good(), IOError, "[read_idx] ", path,
             ": cannot open file (missing or unreadable)");
    f_ = gzopen(path.c_str(), "rb");
    DF_CHECK(f_ != nullptr, IOError, "[read_idx] ", path, ": gzopen failed");
    gzbuffer(f_, 1 << 17);
  }
  ~GzReader() {
    if (f_) gzclose(f_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes; returns the count. Throws IOError on a zlib error (corrupt stream).
  size_t read(void* dst, size_t n) {
    auto* p = static_cast<unsigned char*>(dst);
    size_t got = 0;
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      const int r = gzread(f_, p + got, chunk);
      if (r < 0) {
        int errnum = 0;
        const char* msg = gzerror(f_, &errnum);
        throw IOError(str_cat("[read_idx] ", path_, ": decompression error at byte ", offset_ + got,
                              ": ", msg ? msg : "unknown zlib error"));
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    // A truncated gzip stream ends with Z_BUF_ERROR ("unexpected end of file"): reported as a
    // short read by the caller, which names what was being read.
    offset_ += got;
    return got;
  }
  uint64_t offset() const { return offset_; }
  // True when zlib hit the end of the file inside a gzip stream (a cut-off .gz file).
  bool stream_cut() {
    int errnum = Z_OK;
    gzerror(f_, &errnum);
    return errnum == Z_BUF_ERROR;
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
  uint64_t offset_ = 0;
};

struct IdxType {
  DType dtype;
  size_t size;
};

bool idx_type(uint8_t code, IdxType* out) {
  switch (code) {
    case 0x08:
      *out = {DType::u8, 1};
      return true;
    case 0x0C:
      *out = {DType::i32, 4};
      return true;
    case 0x0D:
      *out = {DType::f32, 4};
      return true;
    case 0x0E:
      *out = {DType::f64, 8};
      return true;
    default:
      return false;
  }
}

uint8_t idx_code(DType t) {
  switch (t) {
    case DType::u8:
      return 0x08;
    case DType::i32:
      return 0x0C;
    case DType::f32:
      return 0x0D;
    case DType::f64:
      return 0x0E;
    default:
      throw DTypeError(str_cat("[write_idx] dtype ", dtype_name(t),
                               " has no IDX type (u8, int32, float32, float64)"));
  }
}

// Reverses each `size`-byte element in place (IDX is big-endian, detforge little-endian).
void swap_bytes(unsigned char* p, size_t count, size_t size) {
  if (size == 1) return;
  for (size_t i = 0; i < count; ++i, p += size) {
    for (size_t a = 0, b = size - 1; a < b; ++a, --b) std::swap(p[a], p[b]);
  }
}

}  // namespace

Tensor read_idx(const std::string& path) {
  GzReader in(path);
  unsigned char magic[4];
  const size_t m = in.read(magic, 4);
  DF_CHECK(m == 4, IOError, "[read_idx] ", path, ": truncated at byte ", m,
           ": need a 4-byte magic");
  DF_CHECK(magic[0] == 0 && magic[1] == 0, IOError, "[read_idx] ", path,
           ": bad magic at byte 0: expected 0x00 0x00 <type> <ndims>, got 0x", std::hex,
           static_cast<int>(magic[0]), " 0x", static_cast<int>(magic[1]), std::dec,
           " (not an IDX file, or not gzip/plain)");
  IdxType ty{};
  DF_CHECK(idx_type(magic[2], &ty), IOError, "[read_idx] ", path, ": unsupported data type 0x",
           std::hex, static_cast<int>(magic[2]), std::dec,
           " at byte 2 (supported: 0x08 u8, 0x0C int32, 0x0D float32, 0x0E float64)");
  const int ndims = magic[3];
  DF_CHECK(ndims >= 1, IOError, "[read_idx] ", path, ": 0 dimensions at byte 3");

  Shape shape(static_cast<size_t>(ndims));
  uint64_t numel = 1;
  for (int d = 0; d < ndims; ++d) {
    unsigned char b[4];
    const uint64_t at = in.offset();
    const size_t got = in.read(b, 4);
    DF_CHECK(got == 4, IOError, "[read_idx] ", path, ": truncated at byte ", at + got,
             ": dimension ", d, " of ", ndims, " needs 4 bytes at byte ", at);
    const uint64_t size =
        (uint64_t(b[0]) << 24) | (uint64_t(b[1]) << 16) | (uint64_t(b[2]) << 8) | b[3];
    shape[d] = static_cast<int64_t>(size);
    numel *= size;
    DF_CHECK(numel <= (uint64_t(1) << 40), IOError, "[read_idx] ", path, ": shape ",
             shape_str(shape), " (dimension ", d, " at byte ", at, ") is implausibly large");
  }

  Tensor t = Tensor::empty(shape, ty.dtype);
  const uint64_t data_at = in.offset();
  const size_t want = static_cast<size_t>(numel) * ty.size;
  const size_t got = in.read(t.data_ptr(), want);
  DF_CHECK(got == want, IOError, "[read_idx] ", path, ": truncated data at byte ", data_at + got,
           ": shape ", shape_str(shape), " needs ", want, " data bytes from byte ", data_at,
           ", got ", got);
  swap_bytes(static_cast<unsigned char*>(t.data_ptr()), static_cast<size_t>(numel), ty.size);

  unsigned char extra[64];
  const size_t more = in.read(extra, sizeof(extra));
  DF_CHECK(more == 0, IOError, "[read_idx] ", path, ": trailing bytes at byte ", data_at + want,
           ": the data of shape ", shape_str(shape), " ends there but the file goes on");
  DF_CHECK(!in.stream_cut(), IOError, "[read_idx] ", path, ": truncated gzip stream after byte ",
           in.offset(), " (the compressed file is cut off)");
  return t;
}

void write_file_bytes(const std::string& path, const std::string& bytes, bool gzip) {
  if (!gzip) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    DF_CHECK(out.good(), IOError, "[write_file_bytes] ", path, ": cannot open for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    DF_CHECK(out.good(), IOError, "[write_file_bytes] ", path, ": write failed");
    return;
  }
  gzFile f = gzopen(path.c_str(), "wb");
  DF_CHECK(f != nullptr, IOError, "[write_file_bytes] ", path, ": gzopen for writing failed");
  size_t done = 0;
  bool ok = true;
  while (ok && done < bytes.size()) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes.size() - done, 1u << 30));
    const int w = gzwrite(f, bytes.data() + done, chunk);
    ok = w > 0;
    done += ok ? static_cast<size_t>(w) : 0;
  }
  const int rc = gzclose(f);
  DF_CHECK(ok && rc == Z_OK, IOError, "[write_file_bytes] ", path, ": gzip write failed after ",
           done, " of ", bytes.size(), " bytes");
}

void write_idx(const std::string& path, const Tensor& t, bool gzip) {
  const uint8_t code = idx_code(t.dtype());
  DF_CHECK(t.dim() >= 1 && t.dim() <= 255, ShapeError,
           "[write_idx] IDX holds 1..255 dims, got shape ", shape_str(t.shape()));
  for (int64_t s : t.shape())
    DF_CHECK(s <= int64_t(UINT32_MAX), ShapeError, "[write_idx] dimension ", s, " of shape ",
             shape_str(t.shape()), " exceeds uint32");
  Tensor c = t.to(kCPU).contiguous();
  std::string bytes;
  bytes.reserve(4 + 4 * t.dim() + c.nbytes());
  bytes.push_back(0);
  bytes.push_back(0);
  bytes.push_back(static_cast<char>(code));
  bytes.push_back(static_cast<char>(t.dim()));
  for (int64_t s : t.shape()) {
    const uint32_t v = static_cast<uint32_t>(s);
    for (int sh = 24; sh >= 0; sh -= 8) bytes.push_back(static_cast<char>((v >> sh) & 0xFF));
  }
  const size_t data_at = bytes.size();
  bytes.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
  swap_bytes(reinterpret_cast<unsigned char*>(&bytes[data_at]), static_cast<size_t>(c.numel()),
             c.itemsize());
  write_file_bytes(path, bytes, gzip);
}

}  // namespace detforge::data
