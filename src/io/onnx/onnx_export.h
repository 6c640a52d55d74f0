// ONNX export of the whole NHITS forward pass (opset 17, dynamic batch), built with the protobuf
// classes of Debian's libonnx and checked with ONNX's own checker before it is written.
//
// Graph: inputs insample_y [batch, input_size] and insample_mask [batch, input_size] (float32),
// output forecast [batch, h, Q]. Without a scaler in the graph the inputs are the scaled windows
// and the output is in scaled space (what Network::Forward computes); with `with_scaler` the
// graph takes raw values and applies the model's temporal scaler and its inverse (identity,
// standard, minmax, minmax1; robust and invariant need medians, which ONNX lacks: refused).
// Pooling is MaxPool/AvgPool with ceil_mode, each block's MLP is Gemm (+ activation), the
// hierarchical interpolation is one MatMul with a fixed [Q*K, h*Q] matrix per block, and the
// residual update and forecast accumulation are Sub/Mul/Add.
// Thread safety: pure function.
#pragma once

#include <string>

#include "nhits/model.h"
#include "nhits/status.h"

namespace nhits {

struct OnnxExportOptions {
  bool with_scaler = false;
  bool fp16 = false;  // FP16 weights and activations inside (inputs/outputs stay float32)
  std::string producer = "nhits-engine";
};

// Writes `path` atomically; Unsupported (with the reason) for configurations ONNX cannot express.
Status ExportOnnx(const Model& model, const std::string& path, const OnnxExportOptions& options);

}  // namespace nhits
