#include "nhits/network.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include "backend/cpu/gemm.h"
#include "backend/cpu/parallel_rows.h"
#include "backend/cpu/small_batch_linear.h"
#include "backend/cpu/thread_pool.h"
#include "model/layers.h"

namespace nhits {

std::vector<int> LinearLayerIndices(const NhitsConfig& c) {
  // nn.Sequential: Linear, then per hidden [Linear, act, (Dropout)], then Linear.
  const int stride = c.dropout_prob_theta > 0 ? 3 : 2;
  if (c.first_layer_activation) {  // [Linear, act, (Dropout)] for every layer but the output
    std::vector<int> idx;
    for (std::size_t i = 0; i <= c.mlp_units.size() + 1; ++i) idx.push_back(static_cast<int>(i) * stride);
    return idx;
  }
  std::vector<int> idx{0};
  for (std::size_t i = 0; i < c.mlp_units.size(); ++i) idx.push_back(1 + static_cast<int>(i) * stride);
  idx.push_back(1 + static_cast<int>(c.mlp_units.size()) * stride);
  return idx;
}

int ActivationLayerIndex(const NhitsConfig& c, int hidden) {
  const int stride = c.dropout_prob_theta > 0 ? 3 : 2;
  return (c.first_layer_activation ? 1 : 2) + hidden * stride;
}

ParamLayout MakeParamLayout(const NhitsConfig& c) {
  ParamLayout layout;
  const int L = c.input_size, Q = c.network_outputs_per_step();
  std::size_t offset = 0;
  auto add_linear = [&offset](int in, int out) {
    LinearSlot s{in, out, offset, offset + static_cast<std::size_t>(in) * out};
    offset = s.bias + out;
    return s;
  };
  for (std::size_t stack = 0; stack < c.n_blocks.size(); ++stack) {
    for (int blk = 0; blk < c.n_blocks[stack]; ++blk) {
      BlockLayout b;
      b.stack = static_cast<int>(stack);
      b.pool_kernel = c.n_pool_kernel_size[stack];
      b.pooled_size = (L + b.pool_kernel - 1) / b.pool_kernel;
      b.knots = std::max(c.h / c.n_freq_downsample[stack], 1);
      b.n_theta = L + Q * b.knots;
      b.futr_pooled_size = (L + c.h + b.pool_kernel - 1) / b.pool_kernel;
      b.in_features = b.pooled_size * (1 + static_cast<int>(c.hist_exog_list.size())) +
                      b.futr_pooled_size * static_cast<int>(c.futr_exog_list.size()) +
                      static_cast<int>(c.stat_exog_list.size());
      b.layers.push_back(add_linear(b.in_features, c.mlp_units[0][0]));
      b.layers.back().activated = c.first_layer_activation;
      for (const auto& units : c.mlp_units) {
        b.layers.push_back(add_linear(units[0], units[1]));
        b.layers.back().activated = true;
      }
      b.layers.push_back(add_linear(c.mlp_units.back()[1], b.n_theta));
      if (c.activation == Activation::kPReLU) b.prelu = offset++;
      b.interp = layers::MakeInterpolationTaps(c.interpolation_mode, b.knots, c.h);
      layout.blocks.push_back(std::move(b));
    }
  }
  layout.size = offset;
  return layout;
}

template <typename T>
Network<T>::Network(const NhitsConfig& config)
    : config_(config), layout_(MakeParamLayout(config)), params_(layout_.size, T(0)) {}

template <typename T>
void Network<T>::InitParams(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (const auto& b : layout_.blocks) {
    for (const auto& l : b.layers) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(l.in));
      std::uniform_real_distribution<double> u(-bound, bound);
      for (std::size_t i = 0; i < static_cast<std::size_t>(l.in) * l.out; ++i) params_[l.weight + i] = T(u(rng));
      for (int i = 0; i < l.out; ++i) params_[l.bias + i] = T(u(rng));
    }
    if (config_.activation == Activation::kPReLU) params_[b.prelu] = T(0.25);
  }
}

template <typename T>
std::int64_t Network<T>::MacsPerWindow() const {
  std::int64_t macs = 0;
  for (const auto& b : layout_.blocks) {
    for (const auto& l : b.layers) macs += static_cast<std::int64_t>(l.in) * l.out;
    macs += static_cast<std::int64_t>(config_.h) * config_.network_outputs_per_step() * b.interp.taps;
  }
  return macs;
}

namespace {

template <typename T>
void AddBias(int rows, int cols, const T* bias, T* y) {
  for (int r = 0; r < rows; ++r) {
    T* row = y + static_cast<std::size_t>(r) * cols;
    for (int c = 0; c < cols; ++c) row[c] += bias[c];
  }
}

// y = x W^T + b. Small float batches with a pool stream each thread's slice of W once; the rest
// goes to the GEMM library.
template <typename T>
void LinearForward(int batch, const LinearSlot& l, const T* params, const T* x, T* y, cpu::ThreadPool* pool) {
  if constexpr (std::is_same_v<T, float>) {
    if (pool != nullptr && batch <= cpu::kSmallBatchMax) {
      auto work = [&](int t, int n) {
        // Output rows in 16-row slices keep each thread's writes off the others' cache lines.
        const int chunks = (l.out + 15) / 16;
        const int begin = std::min(l.out, chunks * t / n * 16), end = std::min(l.out, chunks * (t + 1) / n * 16);
        cpu::SmallBatchLinear(batch, l.in, x, params + l.weight, params + l.bias, y, l.out, begin, end);
      };
      pool->Run(work);
      return;
    }
  }
  cpu::GemmNT<T>(batch, l.out, l.in, x, params + l.weight, y, false);
  AddBias<T>(batch, l.out, params + l.bias, y);
}

}  // namespace

template <typename T>
void Network<T>::Forward(int B, const T* insample, const T* mask, const ExogBatch<T>& exog, T* forecast,
                         Workspace<T>& ws, bool training, std::mt19937_64* rng, cpu::ThreadPool* pool) const {
  if ((!config_.hist_exog_list.empty() && exog.hist == nullptr) || (!config_.futr_exog_list.empty() && exog.futr == nullptr) ||
      (!config_.stat_exog_list.empty() && exog.stat == nullptr)) {
    // A caller bug, not bad data: every entry point checks the inputs against the config first.
    std::fprintf(stderr, "nhits: Network::Forward without the exogenous inputs its config lists\n");
    std::abort();
  }
  const int L = config_.input_size, H = config_.h, Q = config_.network_outputs_per_step();
  const std::size_t nblocks = layout_.blocks.size();
  const std::size_t BL = static_cast<std::size_t>(B) * L;
  ws.batch = B;
  ws.exog = exog;
  ws.residual.resize((nblocks + 1) * BL);
  ws.mask_rev.resize(BL);
  ws.pooled.resize(nblocks);
  ws.argmax.resize(nblocks);
  ws.pre.resize(nblocks);
  ws.post.resize(nblocks);
  ws.dropout.resize(nblocks);

  // The backcast lives in time-reversed coordinates: block inputs are flipped in time.
  // Row loops below run on both cores for training-sized batches (cpu::ForRows): disjoint rows,
  // so the results do not depend on the thread count.
  T* r0 = ws.residual.data();
  cpu::ForRows(B, [&](int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      for (int t = 0; t < L; ++t) {
        r0[static_cast<std::size_t>(b) * L + t] = insample[static_cast<std::size_t>(b) * L + (L - 1 - t)];
        ws.mask_rev[static_cast<std::size_t>(b) * L + t] = mask[static_cast<std::size_t>(b) * L + (L - 1 - t)];
      }
      // Naive1 level: the last scaled input value, added to every output channel.
      const T level = insample[static_cast<std::size_t>(b) * L + (L - 1)];
      std::fill_n(forecast + static_cast<std::size_t>(b) * H * Q, static_cast<std::size_t>(H) * Q, level);
    }
  });

  const double p_drop = config_.dropout_prob_theta;
  const bool use_dropout = training && p_drop > 0;
  std::bernoulli_distribution keep(1.0 - p_drop);
  const T keep_scale = p_drop > 0 ? T(1.0 / (1.0 - p_drop)) : T(1);

  for (std::size_t bi = 0; bi < nblocks; ++bi) {
    const BlockLayout& blk = layout_.blocks[bi];
    const T* r = ws.residual.data() + bi * BL;
    T* r_next = ws.residual.data() + (bi + 1) * BL;
    const int Lp = blk.pooled_size;
    auto& pooled = ws.pooled[bi];
    pooled.resize(static_cast<std::size_t>(B) * blk.in_features);
    ws.argmax[bi].resize(static_cast<std::size_t>(B) * Lp);
    if (blk.in_features == Lp) {
      cpu::ForRows(B, [&](int b0, int b1) {
        layers::PoolForward(config_.pooling_mode, blk.pool_kernel, b1 - b0, L, r + static_cast<std::size_t>(b0) * L,
                            pooled.data() + static_cast<std::size_t>(b0) * Lp, ws.argmax[bi].data() + static_cast<std::size_t>(b0) * Lp);
      });
    } else {
      cpu::ForRows(B, [&](int b0, int b1) {
        for (int b = b0; b < b1; ++b)
          layers::BlockInput(config_, blk, b, r + static_cast<std::size_t>(b) * L, exog,
                             pooled.data() + static_cast<std::size_t>(b) * blk.in_features,
                             ws.argmax[bi].data() + static_cast<std::size_t>(b) * Lp);
      });
    }

    const std::size_t nl = blk.layers.size();
    auto& pre = ws.pre[bi];
    auto& post = ws.post[bi];
    pre.resize(nl);
    post.resize(nl);
    ws.dropout[bi].resize(nl);
    const T slope = config_.activation == Activation::kPReLU ? params_[blk.prelu] : T(0);
    const T* x = pooled.data();
    for (std::size_t li = 0; li < nl; ++li) {
      const LinearSlot& l = blk.layers[li];
      const std::size_t n = static_cast<std::size_t>(B) * l.out;
      pre[li].resize(n);
      LinearForward<T>(B, l, params_.data(), x, pre[li].data(), pool);
      if (!l.activated) {
        x = pre[li].data();
        continue;
      }
      post[li].resize(n);
      const T* in = pre[li].data();
      T* out = post[li].data();
      const std::size_t width = static_cast<std::size_t>(l.out);
      cpu::ForRows(B, [&](int b0, int b1) {
        const std::size_t i0 = b0 * width, i1 = b1 * width;
        if (config_.activation == Activation::kReLU) {  // the default: keep it a plain vector loop
          for (std::size_t i = i0; i < i1; ++i) out[i] = in[i] > T(0) ? in[i] : T(0);
        } else {
          for (std::size_t i = i0; i < i1; ++i) out[i] = layers::ActivationForward(config_.activation, in[i], slope);
        }
      });
      if (use_dropout) {
        auto& m = ws.dropout[bi][li];
        m.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
          m[i] = keep(*rng) ? 1 : 0;
          post[li][i] = m[i] ? post[li][i] * keep_scale : T(0);
        }
      } else {
        ws.dropout[bi][li].clear();
      }
      x = post[li].data();
    }
    const T* theta = pre[nl - 1].data();
    const int K = blk.knots, taps = blk.interp.taps;
    cpu::ForRows(B, [&](int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      const T* th = theta + static_cast<std::size_t>(b) * blk.n_theta;
      const T* rb = r + static_cast<std::size_t>(b) * L;
      const T* mb = ws.mask_rev.data() + static_cast<std::size_t>(b) * L;
      T* rn = r_next + static_cast<std::size_t>(b) * L;
      for (int t = 0; t < L; ++t) rn[t] = (rb[t] - th[t]) * mb[t];
      T* fb = forecast + static_cast<std::size_t>(b) * H * Q;
      for (int q = 0; q < Q; ++q) {
        const T* knots = th + L + q * K;  // quantile-major knots
        for (int j = 0; j < H; ++j) {
          T s = 0;
          for (int k = 0; k < taps; ++k)
            s += T(blk.interp.weight[j * taps + k]) * knots[blk.interp.index[j * taps + k]];
          fb[j * Q + q] += s;
        }
      }
    }
    });
  }
}

template <typename T>
void Network<T>::Backward(const T* d_forecast, Workspace<T>& ws, T* grad, const ExogGrad<T>* d_exog) const {
  const int B = ws.batch, L = config_.input_size, H = config_.h, Q = config_.network_outputs_per_step();
  const std::size_t BL = static_cast<std::size_t>(B) * L;
  const std::size_t nblocks = layout_.blocks.size();
  // Gradient w.r.t. the residual that leaves the current block (zero after the last block).
  ws.d_resid.assign(BL, T(0));
  const T keep_scale = config_.dropout_prob_theta > 0 ? T(1.0 / (1.0 - config_.dropout_prob_theta)) : T(1);

  for (std::size_t bi = nblocks; bi-- > 0;) {
    const BlockLayout& blk = layout_.blocks[bi];
    const std::size_t nl = blk.layers.size();
    const int K = blk.knots, taps = blk.interp.taps;
    // d theta = [ -d r_next * m | interpolation^T d forecast ]
    auto& d_out = ws.scratch_a;
    d_out.assign(static_cast<std::size_t>(B) * blk.n_theta, T(0));
    cpu::ForRows(B, [&](int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      T* dth = d_out.data() + static_cast<std::size_t>(b) * blk.n_theta;
      T* dr = ws.d_resid.data() + static_cast<std::size_t>(b) * L;
      const T* mb = ws.mask_rev.data() + static_cast<std::size_t>(b) * L;
      for (int t = 0; t < L; ++t) {
        dr[t] *= mb[t];  // now d(loss)/d(block input r), identity path
        dth[t] = -dr[t];
      }
      const T* fb = d_forecast + static_cast<std::size_t>(b) * H * Q;
      for (int q = 0; q < Q; ++q)
        for (int j = 0; j < H; ++j)
          for (int k = 0; k < taps; ++k)
            dth[L + q * K + blk.interp.index[j * taps + k]] += T(blk.interp.weight[j * taps + k]) * fb[j * Q + q];
    }
    });
    const T slope = config_.activation == Activation::kPReLU ? params_[blk.prelu] : T(0);
    const bool need_input_grad = bi > 0;
    const bool need_exog_grad = d_exog != nullptr && blk.in_features != blk.pooled_size;
    for (std::size_t li = nl; li-- > 0;) {
      const LinearSlot& l = blk.layers[li];
      if (l.activated) {
        // d_out holds d(post); turn it into d(pre).
        const auto& pre = ws.pre[bi][li];
        const auto& drop = ws.dropout[bi][li];
        T d_slope = 0;
        if (config_.activation == Activation::kPReLU) {  // the slope's gradient is a sum: keep its order
          for (std::size_t i = 0; i < d_out.size(); ++i) {
            T g = d_out[i];
            if (!drop.empty()) g = drop[i] ? g * keep_scale : T(0);
            if (!(pre[i] > T(0))) d_slope += g * pre[i];
            d_out[i] = g * layers::ActivationDerivative(config_.activation, pre[i], slope);
          }
          grad[blk.prelu] += d_slope;
        } else {
          const std::size_t width = static_cast<std::size_t>(l.out);
          const bool relu = config_.activation == Activation::kReLU && drop.empty();
          cpu::ForRows(B, [&](int b0, int b1) {
            if (relu) {  // the default: a branch-free loop the compiler vectorises (same products)
              for (std::size_t i = b0 * width; i < b1 * width; ++i) d_out[i] *= pre[i] > T(0) ? T(1) : T(0);
              return;
            }
            for (std::size_t i = b0 * width; i < b1 * width; ++i) {
              T g = d_out[i];
              if (!drop.empty()) g = drop[i] ? g * keep_scale : T(0);
              d_out[i] = g * layers::ActivationDerivative(config_.activation, pre[i], slope);
            }
          });
        }
      }
      const T* x = li == 0 ? ws.pooled[bi].data()
                           : (blk.layers[li - 1].activated ? ws.post[bi][li - 1].data() : ws.pre[bi][li - 1].data());
      cpu::GemmTNAccumulate<T>(l.out, l.in, B, d_out.data(), x, grad + l.weight);
      // Bias gradient: split by output column, each summed over the batch in order.
      cpu::ForRows(B > cpu::kSmallBatchMax ? l.out : 1, [&](int o0, int o1) {
        if (B <= cpu::kSmallBatchMax) o0 = 0, o1 = l.out;
        for (int b = 0; b < B; ++b)
          for (int o = o0; o < o1; ++o) grad[l.bias + o] += d_out[static_cast<std::size_t>(b) * l.out + o];
      });
      if (li == 0 && !need_input_grad && !need_exog_grad) break;
      auto& d_in = ws.scratch_b;
      d_in.resize(static_cast<std::size_t>(B) * l.in);
      cpu::GemmNN<T>(B, l.in, l.out, d_out.data(), params_.data() + l.weight, d_in.data(), false);
      std::swap(d_out, d_in);
    }
    if (need_exog_grad) {  // disjoint rows of d_exog per window
      const std::size_t W = static_cast<std::size_t>(blk.in_features);
      cpu::ForRows(B, [&](int b0, int b1) {
        for (int b = b0; b < b1; ++b)
          layers::BlockInputBackward(config_, blk, b, ws.exog, d_out.data() + static_cast<std::size_t>(b) * W, *d_exog);
      });
    }
    if (need_input_grad) {
      const std::size_t Lp = static_cast<std::size_t>(blk.pooled_size);
      if (blk.in_features != blk.pooled_size) {  // keep d(pooled y); exogenous inputs take no gradient
        const std::size_t W = static_cast<std::size_t>(blk.in_features);
        for (std::size_t b = 0; b < static_cast<std::size_t>(B); ++b)
          std::copy_n(d_out.data() + b * W, Lp, d_out.data() + b * Lp);
      }
      cpu::ForRows(B, [&](int b0, int b1) {
        layers::PoolBackwardAccumulate(config_.pooling_mode, blk.pool_kernel, b1 - b0, L, d_out.data() + b0 * Lp,
                                       ws.argmax[bi].data() + b0 * Lp, ws.d_resid.data() + static_cast<std::size_t>(b0) * L);
      });
    }
  }
}

template class Network<float>;
template class Network<double>;

}  // namespace nhits
