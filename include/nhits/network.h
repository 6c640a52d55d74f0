// Network<T>: the NHITS computation (neuralforecast's NHITS.forward) over a batch of windows,
// with hand-written backward passes. T is float for use and double for gradient checks.
//
// Input: scaled insample y [B, L] and its availability mask [B, L] (oldest first), and for a
// config with exogenous columns their scaled values (ExogBatch).
// Output: forecast [B, h, Q] in scaled space (Q = outputs per step).
// Parameters live in one flat vector (see ParamLayout) so the optimizer and checkpoints see one
// contiguous buffer; `ParamLayout` says where each neuralforecast tensor lives in it.
// Thread safety: a Network is immutable during Forward/Backward; each concurrent caller needs its
// own Workspace.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "nhits/config.h"

namespace nhits {

namespace cpu {
class ThreadPool;
}

// One linear layer's place in the flat parameter vector: weight [out, in] then bias [out].
struct LinearSlot {
  int in = 0, out = 0;
  std::size_t weight = 0, bias = 0;  // offsets
  bool activated = false;            // followed by the activation (and dropout when training)
};

// Fixed taps of the knot -> horizon interpolation: out[j] = sum_t weight[j][t] * knot[index[j][t]].
struct InterpolationTaps {
  int taps = 0;                // taps per output (1 nearest, 2 linear, 4 cubic)
  std::vector<int> index;      // [h * taps]
  std::vector<double> weight;  // [h * taps]
};

struct BlockLayout {
  int stack = 0;
  int pool_kernel = 1;
  int pooled_size = 0;   // Lp = ceil(L / k)
  int futr_pooled_size = 0;  // Fp = ceil((L + h) / k): pooled length of a futr exogenous column
  int in_features = 0;   // MLP input: Lp + X*Lp + F*Fp + S (y | hist | futr | stat)
  int knots = 1;         // K = max(h / f, 1)
  int n_theta = 0;       // L + Q * K
  std::vector<LinearSlot> layers;  // first (activated only if first_layer_activation), hidden, output
  std::size_t prelu = 0;           // offset of the shared PReLU slope (PReLU only)
  InterpolationTaps interp;
};

struct ParamLayout {
  std::vector<BlockLayout> blocks;
  std::size_t size = 0;
};

ParamLayout MakeParamLayout(const NhitsConfig& config);
// neuralforecast's nn.Sequential indices of the linear layers in a block: 0, 1, 3, 5, 7 without
// dropout; 0, 1, 4, 7, 10 with it. With first_layer_activation every Linear but the output one is
// followed by its activation: 0, 2, 4, 6 (0, 3, 6, 9 with dropout).
std::vector<int> LinearLayerIndices(const NhitsConfig& config);
// Index of the activation module after hidden layer `i` (where PReLU keeps its slope).
int ActivationLayerIndex(const NhitsConfig& config, int hidden);

// Exogenous inputs of a batch, scaled like y (see Model::PredictWindows): hist [B, L, X] and
// futr [B, L + h, F] time-major and oldest first (unlike y they are not flipped), stat [B, S].
// Column order is the config's list order. Unused pointers may be null.
template <typename T>
struct ExogBatch {
  const T* hist = nullptr;
  const T* futr = nullptr;
  const T* stat = nullptr;
};

// d(loss)/d(exogenous inputs) in ExogBatch's layout, accumulated by Network::Backward; a null
// stream is not wanted. Training needs it only to reach categorical embedding tables.
template <typename T>
struct ExogGrad {
  T* hist = nullptr;
  T* futr = nullptr;
  T* stat = nullptr;
};

// Forward activations kept for the backward pass; reused across calls of the same batch size.
template <typename T>
struct Workspace {
  int batch = 0;
  ExogBatch<T> exog;                // the last Forward's exogenous inputs (ExogGrad needs them alive)
  std::vector<T> residual;          // [blocks + 1][B, L] block inputs (time-reversed)
  std::vector<T> mask_rev;          // [B, L]
  std::vector<std::vector<T>> pooled;      // per block: MLP input [B, in_features] (pooled y first)
  std::vector<std::vector<int>> argmax;    // per block [B, Lp] (MaxPool1d)
  std::vector<std::vector<std::vector<T>>> pre;   // per block, per layer: pre-activation
  std::vector<std::vector<std::vector<T>>> post;  // per block, per layer: layer output
  std::vector<std::vector<std::vector<std::uint8_t>>> dropout;  // per block, per hidden layer
  std::vector<T> scratch_a, scratch_b, d_resid;
};

template <typename T>
class Network {
 public:
  explicit Network(const NhitsConfig& config);

  const NhitsConfig& config() const { return config_; }
  const ParamLayout& layout() const { return layout_; }
  std::vector<T>& params() { return params_; }
  const std::vector<T>& params() const { return params_; }

  // PyTorch's default nn.Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)); PReLU slope 0.25.
  void InitParams(std::uint64_t seed);

  // `training` enables dropout (drawn from `rng`); otherwise rng may be null. With a `pool`,
  // float batches of at most 8 windows take the small-batch kernels split across its threads;
  // once `ws` has seen a batch this large, the call allocates nothing.
  void Forward(int batch, const T* insample, const T* mask, T* forecast, Workspace<T>& ws,
               bool training, std::mt19937_64* rng, cpu::ThreadPool* pool = nullptr) const {
    Forward(batch, insample, mask, ExogBatch<T>{}, forecast, ws, training, rng, pool);
  }
  // The same with exogenous inputs; a config with exogenous columns must be given them.
  void Forward(int batch, const T* insample, const T* mask, const ExogBatch<T>& exog, T* forecast,
               Workspace<T>& ws, bool training, std::mt19937_64* rng, cpu::ThreadPool* pool = nullptr) const;
  // Accumulates d(loss)/d(params) into `grad` (size params().size()) given d(loss)/d(forecast).
  // Uses the activations Forward left in `ws`. With `d_exog`, also accumulates the gradient of
  // the exogenous inputs Forward was given (which must still be alive) into its non-null streams.
  void Backward(const T* d_forecast, Workspace<T>& ws, T* grad, const ExogGrad<T>* d_exog = nullptr) const;

  // Multiply-accumulates per window of the forward pass (x2 for FLOPs).
  std::int64_t MacsPerWindow() const;

 private:
  NhitsConfig config_;
  ParamLayout layout_;
  std::vector<T> params_;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace nhits
