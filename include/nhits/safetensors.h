// Reading and writing safetensors files (the format of Hugging Face's `safetensors`).
//
// Layout: 8-byte little-endian header length N, N bytes of JSON header
// {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "string value"}}, then the raw little-endian tensor bytes.
// We read F32, F64, F16, BF16 and I8 tensors (converted to float) and write F32, BF16 (rounded
// to nearest even) and I8 (values must be integers in -128..127), as each Tensor's dtype says.
// Thread safety: plain values; functions are reentrant.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nhits/status.h"

namespace nhits {

struct Tensor {
  std::vector<std::int64_t> shape;
  std::vector<float> data;  // row-major, size == product(shape)
  std::string dtype = "F32";  // as read; how to write
};

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" object
};

// Loads every tensor. Errors name the path and what is wrong: missing file, file shorter than
// its header says (truncated), header that is not JSON, unknown dtype, offsets out of range or
// overlapping, shape that disagrees with the byte count (Status::Corruption / NotFound).
Result<SafetensorsFile> ReadSafetensors(const std::string& path);

// Writes the file atomically (see WriteFileAtomic). Tensors are written in name order.
Status WriteSafetensors(const std::string& path, const SafetensorsFile& file);

// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, never a
// partial file: write to a temporary in the same directory, fsync it, rename over `path`, fsync
// the directory. A missing directory is Status::NotFound naming it.
Status WriteFileAtomic(const std::string& path, const std::string& bytes);

}  // namespace nhits
