// ONNX export of the whole NHITS forward pass (opset 17, dynamic batch), built with the protobuf
// classes of Debian's libonnx and checked with ONNX's own checker before it is written.
//
// Graph: inputs insample_y [batch, input_size] and insample_mask [batch, input_size] (float32),
// for a model with exogenous columns also hist_exog [batch, input_size, X], futr_exog
// [batch, input_size + h, F] and stat_exog [batch, S]; output forecast [batch, h, Q]. Without a scaler in the graph the inputs are the scaled windows
// and the output is in scaled space (what Network::Forward computes); with `with_scaler` the
// graph takes raw values and applies the model's temporal scaler and its inverse (identity,
// standard, minmax, minmax1; robust and invariant need medians, which ONNX lacks: refused).
// Pooling is MaxPool/AvgPool with ceil_mode, each block's MLP is Gemm (+ activation), the
// hierarchical interpolation is one MatMul with a fixed [Q*K, h*Q] matrix per block, and the
// residual update and forecast accumulation are Sub/Mul/Add.
// Thread safety: pure function.
#pragma once

#include <string>
#include <vector>

#include "nhits/model.h"
#include "nhits/precision.h"
#include "nhits/status.h"

namespace nhits {

struct OnnxExportOptions {
  bool with_scaler = false;
  bool fp16 = false;  // FP16 weights and activations inside (inputs/outputs stay float32)
  std::string producer = "nhits-engine";
  // INT8 QDQ graph: each quantised layer's Gemm reads DequantizeLinear(QuantizeLinear(x)) with a
  // static per-tensor activation scale (calibrated amax / 127) and per-output-channel INT8
  // weights, as ONNX Runtime and TensorRT's explicit quantization expect. Layers the plan keeps
  // in FP32 stay plain Gemms.
  bool int8_qdq = false;
  PrecisionPlan plan;                                // which layers are INT8
  std::vector<std::vector<float>> activation_amax;   // per block, per layer (from nhits quantize)
  // Also write TensorRT's calibration cache for the (non-QDQ) graph: every Gemm input's scale.
  std::string tensorrt_cache;
};

// Writes `path` atomically; Unsupported (with the reason) for configurations ONNX cannot express.
Status ExportOnnx(const Model& model, const std::string& path, const OnnxExportOptions& options);

}  // namespace nhits
