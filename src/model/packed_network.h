// PackedNetwork: the inference-only form of a Network<float>. Each linear layer's weights are
// packed once in the layer's precision (FP32 borrowed from the network, BF16 or INT8 owned), and
// the forward pass takes every buffer from an Arena: two ping-pong residuals instead of one per
// block, bias + ReLU fused into the GEMM/GEMV epilogue, residual update fused with the forecast
// accumulation. Network<T>::Forward stays the reference these outputs are tested against.
// Thread safety: immutable after construction; each concurrent caller brings its own Arena, so
// several sessions (a model's serving workers) can share one PackedNetwork and its weights.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "backend/cpu/arena.h"
#include "backend/cpu/onednn_matmul.h"
#include "backend/cpu/quantized_linear.h"
#include "backend/cpu/small_batch_linear.h"
#include "nhits/network.h"
#include "nhits/precision.h"

namespace nhits {

namespace cpu {
class ThreadPool;
}

// neuralforecast's MLP starts with a linear layer and no activation, so at inference it composes
// with the next layer into one: whether linear layer `li` of block `b` does (a hidden layer
// follows it, and both run in one precision). Checkpoints store both layers of such a pair in
// FP32 whatever the plan, so a reloaded model folds exactly the weights it was calibrated with.
bool FoldsIntoNext(const BlockLayout& block, const PrecisionPlan& plan, int b, int li);

class PackedNetwork {
 public:
  // `net` must outlive this object (FP32 layers read its parameters in place). With max_batch
  // above the small-batch regime, FP32 layers also get a oneDNN matmul with packed weights.
  // `small_batch_panels`: FP32 layers also keep panel copies for batches 1-2 (SessionLayout).
  PackedNetwork(const Network<float>& net, const PrecisionPlan& plan, int max_batch = 1, bool small_batch_panels = true);

  const NhitsConfig& config() const { return net_.config(); }
  const PrecisionPlan& plan() const { return plan_; }

  // insample/mask: [B, L] scaled values; exog: scaled exogenous inputs (a config without them
  // takes {}); forecast: [B, h, Q] scaled. Takes its scratch from `arena` (reset by the
  // caller); a counting arena measures what a batch of B needs.
  void Forward(int B, const float* insample, const float* mask, const ExogBatch<float>& exog, float* forecast,
               cpu::Arena& arena, cpu::ThreadPool* pool) const;

  // Exact scratch bytes for a batch of B (what Forward takes from an arena).
  std::size_t ScratchBytes(int B) const;
  // Bytes of weights a small-batch forecast streams (BF16/INT8 copies, FP32 layers, biases).
  std::size_t WeightBytes() const;
  // Bytes of weight copies this object owns (BF16/INT8 packs, oneDNN's packed FP32 layers).
  std::size_t OwnedWeightBytes() const;
  // Multiply-adds of the linear layers per window as this object runs them: fewer than the
  // network's (Network::MacsPerWindow) after the folds and the last block's skipped backcast.
  std::int64_t MacsPerWindow() const;

 private:
  struct Layer {
    const LinearSlot* slot = nullptr;
    const float* w = nullptr;  // FP32 weights [out, in]: the network's, or `folded` below
    const float* b = nullptr;  // bias [out]
    // A linear layer with no activation composed into the next one (see the constructor).
    std::unique_ptr<LinearSlot> folded_slot;
    std::vector<float> folded;  // [out, in] weights then [out] bias
    Precision precision = Precision::kFp32;
    cpu::Fp32Panels panels;  // FP32 layers at batches 1-2 (empty without AVX-512)
    cpu::Bf16Weights bf16;
    cpu::Int8Weights int8;
    std::unique_ptr<cpu::OnednnMatmul> matmul;  // FP32 layers, large batches only
  };
  struct Shapes {  // the widest buffer each role needs, over all blocks
    int max_pooled = 0, max_width = 0, max_int8_ld = 0, max_out = 0;
    std::size_t max_bf16_weights = 0;
    std::size_t max_matmul_scratchpad = 0;  // bytes, over the oneDNN matmuls
  };

  void Linear(const Layer& layer, int B, const float* x, float* y, cpu::Epilogue e, const cpu::QuantizedRows& xq,
              std::int32_t* acc, float* unpacked, void* scratchpad, cpu::ThreadPool* pool) const;

  const Network<float>& net_;
  PrecisionPlan plan_;
  std::unique_ptr<LinearSlot> forecast_only_;  // the last block's output layer without its backcast rows
  std::vector<std::vector<Layer>> blocks_;
  Shapes shapes_;
  bool large_batch_matmuls_ = false;  // FP32/BF16 layers have packed oneDNN matmuls
};

}  // namespace nhits
