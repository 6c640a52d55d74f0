#include "model/packed_network.h"

#include <algorithm>
#include <utility>

#include "backend/cpu/gemm.h"
#include "backend/cpu/parallel_rows.h"
#include "backend/cpu/small_batch_linear.h"
#include "backend/cpu/thread_pool.h"
#include "model/layers.h"

namespace nhits {

bool FoldsIntoNext(const BlockLayout& block, const PrecisionPlan& plan, int b, int li) {
  return static_cast<std::size_t>(li) + 2 < block.layers.size() && !block.layers[static_cast<std::size_t>(li)].activated &&
         plan.LayerPrecision(b, li) == plan.LayerPrecision(b, li + 1);
}

namespace {

// second(first(x)) as one layer: [second.out, first.in] weights, then [second.out] bias.
std::vector<float> ComposeLinear(const float* p, const LinearSlot& first, const LinearSlot& second) {
  const int in = first.in, out = second.out;
  std::vector<float> composed(static_cast<std::size_t>(out) * (in + 1));
  std::vector<double> row(static_cast<std::size_t>(in));
  for (int o = 0; o < out; ++o) {
    std::fill(row.begin(), row.end(), 0.0);
    double bias = p[second.bias + o];
    for (int k = 0; k < first.out; ++k) {
      const double w = p[second.weight + static_cast<std::size_t>(o) * second.in + k];
      const float* w0 = p + first.weight + static_cast<std::size_t>(k) * in;
      for (int i = 0; i < in; ++i) row[static_cast<std::size_t>(i)] += w * w0[i];
      bias += w * p[first.bias + k];
    }
    for (int i = 0; i < in; ++i) composed[static_cast<std::size_t>(o) * in + i] = static_cast<float>(row[static_cast<std::size_t>(i)]);
    composed[static_cast<std::size_t>(out) * in + o] = static_cast<float>(bias);
  }
  return composed;
}

}  // namespace

PackedNetwork::PackedNetwork(const Network<float>& net, const PrecisionPlan& plan, int max_batch, bool small_batch_panels)
    : net_(net), plan_(plan) {
  const bool relu = net_.config().activation == Activation::kReLU;
  large_batch_matmuls_ = max_batch > cpu::kSmallBatchMax;
  const float* p = net_.params().data();
  const auto& blocks = net_.layout().blocks;
  const int L = net_.config().input_size;
  for (std::size_t bi = 0; bi < blocks.size(); ++bi) {
    std::vector<Layer> layers;
    const auto& slots = blocks[bi].layers;
    for (std::size_t li = 0; li < slots.size(); ++li) {
      const LinearSlot* slot = &slots[li];
      Layer layer;
      layer.precision = plan_.LayerPrecision(static_cast<int>(bi), static_cast<int>(li));
      layer.w = p + slot->weight;
      layer.b = p + slot->bias;
      // One [next.out, in] layer: W = W1 W0, b = W1 b0 + b1, summed in double. For the default
      // model that removes three 512x512 products, 28% of the weights and FLOPs of a forecast.
      if (FoldsIntoNext(blocks[bi], plan_, static_cast<int>(bi), static_cast<int>(li))) {
        const LinearSlot& a = slots[li], &next = slots[li + 1];
        layer.folded_slot = std::make_unique<LinearSlot>(next);
        layer.folded_slot->in = a.in;
        layer.folded = ComposeLinear(p, a, next);
        slot = layer.folded_slot.get();
        layer.w = layer.folded.data();
        layer.b = layer.folded.data() + static_cast<std::size_t>(next.out) * a.in;
        ++li;  // the next layer is part of this one now
      }
      if (bi + 1 == blocks.size() && li + 1 == blocks[bi].layers.size() && slot->out > L) {
        // The last block's backcast (its first L output rows) feeds no later block: keep only the
        // forecast rows, which are contiguous in the row-major weights (3% of the FLOPs and bytes
        // of the default model).
        forecast_only_ = std::make_unique<LinearSlot>(*slot);
        forecast_only_->out -= L;
        forecast_only_->weight += static_cast<std::size_t>(L) * slot->in;
        forecast_only_->bias += static_cast<std::size_t>(L);
        slot = forecast_only_.get();
        layer.w = p + slot->weight;
        layer.b = p + slot->bias;
      }
      const LinearSlot& s = *slot;
      layer.slot = &s;
      if (layer.precision == Precision::kFp32 && small_batch_panels) layer.panels = cpu::PackFp32Panels(s.out, s.in, layer.w);
      if (layer.precision == Precision::kBf16) {
        layer.bf16 = cpu::PackBf16(s.out, s.in, layer.w);
        shapes_.max_bf16_weights = std::max(shapes_.max_bf16_weights, static_cast<std::size_t>(s.out) * s.in);
      }
      if (layer.precision == Precision::kInt8) {
        layer.int8 = cpu::QuantizeInt8(s.out, s.in, layer.w);
        shapes_.max_int8_ld = std::max(shapes_.max_int8_ld, layer.int8.ld);
      }
      const auto e = s.activated && relu ? cpu::Epilogue::kRelu : cpu::Epilogue::kNone;
      if (max_batch > cpu::kSmallBatchMax && layer.precision == Precision::kFp32)
        layer.matmul = std::make_unique<cpu::OnednnMatmul>(s.out, s.in, layer.w, layer.b, e);
      if (max_batch > cpu::kSmallBatchMax && layer.precision == Precision::kBf16) {
        // Large batches are compute bound: run the BF16 values through the packed FP32 matmul
        // (same numbers as the small-batch BF16 kernel, FP32 speed instead of widening per call).
        std::vector<float> widened(static_cast<std::size_t>(s.out) * s.in);
        cpu::UnpackBf16Rows(layer.bf16, 0, s.out, widened.data());
        layer.matmul = std::make_unique<cpu::OnednnMatmul>(s.out, s.in, widened.data(), layer.b, e);
      }
      if (layer.matmul)
        shapes_.max_matmul_scratchpad = std::max(shapes_.max_matmul_scratchpad, layer.matmul->scratchpad_bytes());
      shapes_.max_width = std::max(shapes_.max_width, s.out);
      shapes_.max_out = std::max(shapes_.max_out, s.out);
      layers.push_back(std::move(layer));
    }
    shapes_.max_pooled = std::max(shapes_.max_pooled, blocks[bi].in_features);  // the MLP input, exogenous included
    blocks_.push_back(std::move(layers));
  }
}

std::int64_t PackedNetwork::MacsPerWindow() const {
  std::int64_t macs = 0;
  for (const auto& layers : blocks_)
    for (const Layer& l : layers) macs += static_cast<std::int64_t>(l.slot->in) * l.slot->out;
  return macs;
}

std::size_t PackedNetwork::WeightBytes() const {
  std::size_t bytes = 0;
  for (const auto& block : blocks_)
    for (const Layer& l : block) {
      const std::size_t out = static_cast<std::size_t>(l.slot->out);
      bytes += out * sizeof(float);  // bias
      switch (l.precision) {
        case Precision::kFp32: bytes += out * l.slot->in * sizeof(float); break;
        case Precision::kBf16: bytes += l.bf16.w.size() * sizeof(std::uint16_t); break;
        case Precision::kInt8: bytes += l.int8.q.size() + out * (sizeof(float) + sizeof(std::int32_t)); break;
      }
    }
  return bytes;
}

std::size_t PackedNetwork::OwnedWeightBytes() const {
  std::size_t bytes = 0;
  for (const auto& block : blocks_)
    for (const Layer& l : block) {
      bytes += l.folded.size() * sizeof(float) + l.panels.bytes() + l.bf16.w.size() * sizeof(std::uint16_t) + l.int8.q.size() +
               l.int8.scale.size() * (sizeof(float) + sizeof(std::int32_t));
      if (l.matmul) bytes += l.matmul->packed_bytes();
    }
  return bytes;
}

std::size_t PackedNetwork::ScratchBytes(int B) const {
  cpu::Arena counting;
  Forward(B, nullptr, nullptr, {}, nullptr, counting, nullptr);
  return counting.high_water();
}

void PackedNetwork::Linear(const Layer& layer, int B, const float* x, float* y, cpu::Epilogue e,
                           const cpu::QuantizedRows& xq, std::int32_t* acc, float* unpacked, void* scratchpad,
                           cpu::ThreadPool* pool) const {
  const LinearSlot& l = *layer.slot;
  const float* bias = layer.b;
  if (B <= cpu::kSmallBatchMax) {
    // Weight-bandwidth bound: each thread streams its own 16-row slices of the weights.
    if (layer.precision == Precision::kInt8) cpu::QuantizeRowsU8(B, l.in, x, layer.int8.ld, xq);
    auto work = [&](int t, int n) {
      const int chunks = (l.out + 15) / 16;
      const int begin = std::min(l.out, chunks * t / n * 16), end = std::min(l.out, chunks * (t + 1) / n * 16);
      switch (layer.precision) {
        case Precision::kFp32:  // `begin` is a multiple of 16, so whole panels
          if (B <= cpu::kPanelBatchMax && !layer.panels.empty())
            cpu::PanelLinear(B, x, layer.panels, bias, y, l.out, begin, end, e);
          else
            cpu::SmallBatchLinear(B, l.in, x, layer.w, bias, y, l.out, begin, end, e);
          break;
        case Precision::kBf16: cpu::Bf16SmallBatchLinear(B, x, layer.bf16, bias, y, l.out, begin, end, e); break;
        case Precision::kInt8: cpu::Int8SmallBatchLinear(B, xq, layer.int8, bias, y, l.out, begin, end, e); break;
      }
    };
    if (pool != nullptr) {
      pool->Run(work);
    } else {
      work(0, 1);
    }
    return;
  }
  if (layer.precision == Precision::kInt8) {
    cpu::ForRows(B, [&](int b0, int b1) {
      cpu::QuantizeRowsU8(b1 - b0, l.in, x + static_cast<std::size_t>(b0) * l.in, layer.int8.ld,
                          {xq.q + static_cast<std::size_t>(b0) * layer.int8.ld, xq.scale + b0, xq.zero + b0});
    });
    cpu::Int8GemmLinear(B, xq, layer.int8, bias, y, acc, e);
    return;
  }
  if (layer.matmul) {
    layer.matmul->Run(B, x, y, scratchpad);  // bias and ReLU fused
    return;
  }
  const float* w = layer.w;
  if (layer.precision == Precision::kBf16) {
    // At large batch the GEMM is compute bound: widen the BF16 rows once per call (a few % of it).
    cpu::UnpackBf16Rows(layer.bf16, 0, l.out, unpacked);
    w = unpacked;
  }
  cpu::GemmNT<float>(B, l.out, l.in, x, w, y, false);
  cpu::ForRows(B, [&](int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      float* row = y + static_cast<std::size_t>(b) * l.out;
      if (e == cpu::Epilogue::kRelu) {
        for (int o = 0; o < l.out; ++o) row[o] = std::max(row[o] + bias[o], 0.0f);
      } else {
        for (int o = 0; o < l.out; ++o) row[o] += bias[o];
      }
    }
  });
}

void PackedNetwork::Forward(int B, const float* insample, const float* mask, const ExogBatch<float>& exog,
                            float* forecast, cpu::Arena& arena, cpu::ThreadPool* pool) const {
  const NhitsConfig& c = net_.config();
  const int L = c.input_size, H = c.h, Q = c.network_outputs_per_step();
  const std::size_t BL = static_cast<std::size_t>(B) * L;
  const bool small = B <= cpu::kSmallBatchMax;
  float* r = arena.Take<float>(BL);
  float* r_next = arena.Take<float>(BL);
  float* mask_rev = arena.Take<float>(BL);
  float* pooled = arena.Take<float>(static_cast<std::size_t>(B) * shapes_.max_pooled);
  float* act[2] = {arena.Take<float>(static_cast<std::size_t>(B) * shapes_.max_width),
                   arena.Take<float>(static_cast<std::size_t>(B) * shapes_.max_width)};
  const std::size_t int8_rows = shapes_.max_int8_ld > 0 ? B : 0;
  const cpu::QuantizedRows xq{arena.Take<std::uint8_t>(static_cast<std::size_t>(B) * shapes_.max_int8_ld),
                              arena.Take<float>(int8_rows), arena.Take<std::int32_t>(int8_rows)};
  std::int32_t* acc = arena.Take<std::int32_t>(small || shapes_.max_int8_ld == 0 ? 0 : static_cast<std::size_t>(B) * shapes_.max_out);
  float* unpacked = arena.Take<float>(small || large_batch_matmuls_ ? 0 : shapes_.max_bf16_weights);
  std::byte* scratchpad = arena.Take<std::byte>(small ? 0 : shapes_.max_matmul_scratchpad);
  if (arena.counting()) return;

  cpu::ForRows(B, [&](int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      const float* x = insample + static_cast<std::size_t>(b) * L;
      const float* m = mask + static_cast<std::size_t>(b) * L;
      float* rb = r + static_cast<std::size_t>(b) * L;
      float* mb = mask_rev + static_cast<std::size_t>(b) * L;
      for (int t = 0; t < L; ++t) {
        rb[t] = x[L - 1 - t];  // the backcast works in time-reversed coordinates
        mb[t] = m[L - 1 - t];
      }
      std::fill_n(forecast + static_cast<std::size_t>(b) * H * Q, static_cast<std::size_t>(H) * Q, x[L - 1]);  // Naive1
    }
  });
  const bool relu = c.activation == Activation::kReLU;
  const auto& layout = net_.layout();
  for (std::size_t bi = 0; bi < blocks_.size(); ++bi) {
    const BlockLayout& blk = layout.blocks[bi];
    if (blk.in_features == blk.pooled_size) {
      cpu::ForRows(B, [&](int b0, int b1) {
        layers::PoolForward<float>(c.pooling_mode, blk.pool_kernel, b1 - b0, L, r + static_cast<std::size_t>(b0) * L,
                                   pooled + static_cast<std::size_t>(b0) * blk.pooled_size, nullptr);
      });
    } else {
      cpu::ForRows(B, [&](int b0, int b1) {
        for (int b = b0; b < b1; ++b)
          layers::BlockInput(c, blk, b, r + static_cast<std::size_t>(b) * L, exog,
                             pooled + static_cast<std::size_t>(b) * blk.in_features, nullptr);
      });
    }
    const float slope = c.activation == Activation::kPReLU ? net_.params()[blk.prelu] : 0.0f;
    const float* x = pooled;
    const std::size_t nl = blocks_[bi].size();
    for (std::size_t li = 0; li < nl; ++li) {
      const LinearSlot& slot = *blocks_[bi][li].slot;
      const bool activated = slot.activated;
      float* y = act[li % 2];
      Linear(blocks_[bi][li], B, x, y, activated && relu ? cpu::Epilogue::kRelu : cpu::Epilogue::kNone, xq, acc,
             unpacked, scratchpad, pool);
      if (activated && !relu) {
        const int out = slot.out;
        cpu::ForRows(B, [&](int b0, int b1) {
          for (std::size_t i = static_cast<std::size_t>(b0) * out; i < static_cast<std::size_t>(b1) * out; ++i)
            y[i] = layers::ActivationForward(c.activation, y[i], slope);
        });
      }
      x = y;
    }
    const float* theta = x;
    const int K = blk.knots, taps = blk.interp.taps;
    // The last block's output layer holds only the forecast rows (see the constructor).
    const int out_rows = blocks_[bi].back().slot->out, backcast = out_rows == blk.n_theta ? L : 0;
    cpu::ForRows(B, [&](int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      const float* th = theta + static_cast<std::size_t>(b) * out_rows;
      if (backcast > 0) {
        const float* rb = r + static_cast<std::size_t>(b) * L;
        const float* mb = mask_rev + static_cast<std::size_t>(b) * L;
        float* rn = r_next + static_cast<std::size_t>(b) * L;
        for (int t = 0; t < L; ++t) rn[t] = (rb[t] - th[t]) * mb[t];
      }
      float* fb = forecast + static_cast<std::size_t>(b) * H * Q;
      for (int q = 0; q < Q; ++q) {
        const float* knots = th + backcast + q * K;  // quantile-major knots
        for (int j = 0; j < H; ++j) {
          float s = 0;
          for (int k = 0; k < taps; ++k)
            s += static_cast<float>(blk.interp.weight[j * taps + k]) * knots[blk.interp.index[j * taps + k]];
          fb[j * Q + q] += s;
        }
      }
    }
    });
    std::swap(r, r_next);
  }
}

}  // namespace nhits
