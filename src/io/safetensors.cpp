// Safetensors reader and writer. The writer emits exactly what Python's `safetensors` writes
// for F32 tensors (compact JSON, "__metadata__" first, tensors by name, space padding to a
// multiple of 8), so files round-trip byte for byte with PyTorch checkpoints.
#include "nhits/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <string_view>
#include <tuple>

namespace nhits {
namespace {

using nlohmann::json;

Result<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(path + ": " + std::strerror(err));
    return Status::IoError(path + ": " + std::strerror(err));
  }
  std::string bytes;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) bytes.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::IoError(path + ": " + std::strerror(err));
    }
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return bytes;
}

std::uint64_t LoadLe(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

float HalfToFloat(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    const float f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  const std::uint32_t bits =
      exp == 31 ? (sign | 0x7f800000u | (mant << 13)) : (sign | ((exp + 112) << 23) | (mant << 13));
  return std::bit_cast<float>(bits);
}

// Round to nearest even, as torch's .to(torch.bfloat16); NaN stays NaN.
std::uint16_t FloatToBf16Bits(float v) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(v);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0) return static_cast<std::uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

// Bytes per element, or 0 for a dtype we do not read.
int DtypeSize(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F64") return 8;
  if (dtype == "F16" || dtype == "BF16") return 2;
  if (dtype == "I8") return 1;
  return 0;
}

float Decode(const std::string& dtype, const unsigned char* p) {
  if (dtype == "F32") return std::bit_cast<float>(static_cast<std::uint32_t>(LoadLe(p, 4)));
  if (dtype == "F64") return static_cast<float>(std::bit_cast<double>(LoadLe(p, 8)));
  if (dtype == "I8") return static_cast<float>(static_cast<std::int8_t>(*p));
  const auto u16 = static_cast<std::uint16_t>(LoadLe(p, 2));
  if (dtype == "F16") return HalfToFloat(u16);
  return std::bit_cast<float>(static_cast<std::uint32_t>(u16) << 16);  // BF16
}

struct Entry {
  std::string name, dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0, numel = 1;
};

Result<Entry> ParseEntry(const std::string& path, const std::string& name, const json& v) {
  const std::string where = path + ": tensor '" + name + "': ";
  if (!v.is_object()) return Status::Corruption(where + "header entry is not an object");
  Entry e;
  e.name = name;
  const auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string())
    return Status::Corruption(where + "missing string 'dtype'");
  e.dtype = dt->get<std::string>();
  if (DtypeSize(e.dtype) == 0) {
    return Status::Unsupported(where + "dtype " + e.dtype + " (only F32, F64, F16, BF16, I8 are read)");
  }
  const auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) return Status::Corruption(where + "missing array 'shape'");
  // No sh->dump() in these messages: dumping a deeply nested value recurses once per level.
  for (std::size_t i = 0; i < sh->size(); ++i) {
    const json& d = (*sh)[i];
    if (!d.is_number_unsigned())
      return Status::Corruption(where + "shape entry " + std::to_string(i) + " is not a non-negative integer");
    const auto dim = d.get<std::uint64_t>();
    if (dim > static_cast<std::uint64_t>(INT64_MAX) ||
        __builtin_mul_overflow(e.numel, dim, &e.numel)) {
      return Status::Corruption(where + "shape is too large (its element count overflows 64 bits)");
    }
    e.shape.push_back(static_cast<std::int64_t>(dim));
  }
  const auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned()) {
    return Status::Corruption(where + "'data_offsets' is not a pair of non-negative integers");
  }
  e.begin = (*off)[0].get<std::uint64_t>();
  e.end = (*off)[1].get<std::uint64_t>();
  if (e.begin > e.end)
    return Status::Corruption(where + "data_offsets " + off->dump() + " are reversed");
  return e;
}

Result<SafetensorsFile> ReadImpl(const std::string& path) {
  auto read = ReadWholeFile(path);
  if (!read.ok()) return read.status();
  const std::string& bytes = *read;
  const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 8) {
    return Status::Corruption(path + ": truncated: file has " + std::to_string(bytes.size()) +
                              " bytes, fewer than the 8-byte header length");
  }
  const std::uint64_t n = LoadLe(raw, 8);
  const std::uint64_t avail = bytes.size() - 8;
  if (n > avail) {
    // Every safetensors header is a JSON object: without its '{' the file is something else (a
    // CSV, a PyTorch .ckpt) rather than a cut-off checkpoint.
    if (avail > 0 && bytes[8] != '{')
      return Status::Corruption(path + ": not a safetensors file (it does not start with a header length and a JSON "
                                       "header; a CSV or a PyTorch .ckpt? neuralforecast folders convert with "
                                       "tools/export_neuralforecast.py)");
    return Status::Corruption(path + ": truncated: header says " + std::to_string(n) +
                              " bytes, file has " + std::to_string(avail));
  }
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const std::exception& ex) {
    return Status::Corruption(path + ": header is not valid JSON: " + ex.what());
  }
  if (!header.is_object()) return Status::Corruption(path + ": header is not a JSON object");

  SafetensorsFile out;
  std::vector<Entry> entries;
  const std::uint64_t data_size = avail - n;
  for (const auto& [key, v] : header.items()) {
    if (key == "__metadata__") {
      if (v.is_null()) continue;  // Python's safetensors accepts null here
      if (!v.is_object()) return Status::Corruption(path + ": __metadata__ is not an object");
      for (const auto& [mk, mv] : v.items()) {
        if (!mv.is_string()) {
          return Status::Corruption(path + ": __metadata__ value of '" + mk + "' is not a string");
        }
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    auto e = ParseEntry(path, key, v);
    if (!e.ok()) return e.status();
    const std::string where = path + ": tensor '" + key + "': ";
    if (e->end > data_size) {
      return Status::Corruption(where + "data_offsets [" + std::to_string(e->begin) + ", " +
                                std::to_string(e->end) + "] exceed the data section of " +
                                std::to_string(data_size) + " bytes (file truncated?)");
    }
    const std::uint64_t want = e->numel * static_cast<std::uint64_t>(DtypeSize(e->dtype));
    if (want / static_cast<std::uint64_t>(DtypeSize(e->dtype)) != e->numel ||
        want != e->end - e->begin) {
      return Status::Corruption(
          where + "shape " + v["shape"].dump() + " of " + e->dtype + " needs " +
          std::to_string(e->numel) + " elements = " + std::to_string(want) +
          " bytes, but data_offsets span " + std::to_string(e->end - e->begin) + " bytes");
    }
    entries.push_back(std::move(*e));
  }

  // Overlap check: sort by start; each non-empty range must begin at or after the last end.
  std::vector<const Entry*> by_start;
  for (const Entry& e : entries)
    if (e.end > e.begin) by_start.push_back(&e);
  std::sort(by_start.begin(), by_start.end(), [](const Entry* a, const Entry* b) {
    return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
  });
  for (std::size_t i = 1; i < by_start.size(); ++i) {
    if (by_start[i]->begin < by_start[i - 1]->end) {
      return Status::Corruption(path + ": tensors '" + by_start[i - 1]->name + "' and '" +
                                by_start[i]->name + "' have overlapping data_offsets");
    }
  }

  const unsigned char* data = raw + 8 + n;
  for (const Entry& e : entries) {
    Tensor t;
    t.dtype = e.dtype;
    t.shape = e.shape;
    t.data.resize(e.numel);
    const int es = DtypeSize(e.dtype);
    const unsigned char* p = data + e.begin;
    for (std::uint64_t i = 0; i < e.numel; ++i) t.data[i] = Decode(e.dtype, p + i * es);
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

}  // namespace

Result<SafetensorsFile> ReadSafetensors(const std::string& path) {
  try {
    return ReadImpl(path);
  } catch (const std::exception& ex) {  // bad_alloc on a huge file, mostly
    return Status::Internal(path + ": " + ex.what());
  }
}

Status WriteSafetensors(const std::string& path, const SafetensorsFile& file) {
  // nlohmann::json::dump escapes like serde_json (compact, raw UTF-8, \uXXXX lowercase) and
  // throws on invalid UTF-8, which we report instead of letting escape.
  auto quote = [](const std::string& s) { return json(s).dump(); };
  try {
    std::string header = "{";
    auto sep = [&header] {
      if (header.size() > 1) header += ',';
    };
    if (!file.metadata.empty()) {
      header += "\"__metadata__\":{";
      bool first = true;
      for (const auto& [k, v] : file.metadata) {
        if (!first) header += ',';
        first = false;
        header += quote(k) + ':' + quote(v);
      }
      header += '}';
    }
    std::string data;
    for (const auto& [name, t] : file.tensors) {  // std::map: byte-wise name order, as Python
      if (name == "__metadata__") {
        return Status::InvalidArgument(path + ": '__metadata__' cannot name a tensor");
      }
      std::uint64_t numel = 1;
      for (std::int64_t d : t.shape) {
        if (d < 0 || __builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel)) {
          return Status::InvalidArgument(path + ": tensor '" + name + "' has an invalid shape");
        }
      }
      if (numel != t.data.size()) {
        return Status::InvalidArgument(path + ": tensor '" + name + "': shape has " +
                                       std::to_string(numel) + " elements but data has " +
                                       std::to_string(t.data.size()));
      }
      const std::size_t begin = data.size();
      if (t.dtype == "F32") {
        for (float f : t.data) {
          const auto bits = std::bit_cast<std::uint32_t>(f);
          for (int i = 0; i < 4; ++i) data += static_cast<char>((bits >> (8 * i)) & 0xffu);
        }
      } else if (t.dtype == "BF16") {
        for (float f : t.data) {
          const std::uint16_t bits = FloatToBf16Bits(f);
          data += static_cast<char>(bits & 0xffu);
          data += static_cast<char>(bits >> 8);
        }
      } else if (t.dtype == "I8") {
        for (float f : t.data) {
          if (!(f >= -128.0f && f <= 127.0f) || f != std::nearbyint(f))
            return Status::InvalidArgument(path + ": tensor '" + name + "' is I8 but holds " + std::to_string(f) +
                                           " (not an integer in -128..127)");
          data += static_cast<char>(static_cast<std::int8_t>(f));
        }
      } else {
        return Status::InvalidArgument(path + ": tensor '" + name + "': cannot write dtype '" + t.dtype +
                                       "' (F32, BF16 and I8 are written)");
      }
      sep();
      header += quote(name) + ":{\"dtype\":" + quote(t.dtype) + ",\"shape\":[";
      for (std::size_t i = 0; i < t.shape.size(); ++i) {
        if (i) header += ',';
        header += std::to_string(t.shape[i]);
      }
      header +=
          "],\"data_offsets\":[" + std::to_string(begin) + ',' + std::to_string(data.size()) + "]}";
    }
    header += '}';
    header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned

    std::string bytes;
    bytes.reserve(8 + header.size() + data.size());
    for (int i = 0; i < 8; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xffu);
    bytes += header;
    bytes += data;
    return WriteFileAtomic(path, bytes);
  } catch (const std::exception& ex) {
    return Status::InvalidArgument(path +
                                   ": cannot encode header (names and metadata must be "
                                   "valid UTF-8): " +
                                   ex.what());
  }
}

}  // namespace nhits
