// NhitsConfig: the architecture of an NHITS model, with neuralforecast's argument names and
// defaults (neuralforecast.models.NHITS), and TrainOptions: its training arguments.
//
// A config is a plain value. Validate() checks it and explains the first problem it finds;
// every other part of the engine assumes a validated config.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nhits/categorical.h"
#include "nhits/status.h"

namespace nhits {

enum class PoolingMode { kMaxPool1d, kAvgPool1d };
enum class InterpolationMode { kLinear, kNearest, kCubic };
enum class Activation { kReLU, kSoftplus, kTanh, kSELU, kLeakyReLU, kPReLU, kSigmoid };
// kRevin: neuralforecast's "revin", the standard statistics with learned parameters (revin_bias,
// revin_weight) that move y's shift and scale for the way back only.
enum class ScalerType { kIdentity, kStandard, kRobust, kMinMax, kMinMax1, kInvariant, kRevin };
// NeuralForecast(local_scaler_type=...): per-series scaling over each series' whole history,
// before the model (see local_scaler.h). robust is the median and MAD, robust-iqr the median and
// the interquartile range.
enum class LocalScalerType { kNone, kStandard, kRobust, kRobustIqr, kMinMax };
enum class LossType {
  kMAE, kMSE, kRMSE, kHuberLoss, kMQLoss, kQuantileLoss, kHuberQLoss, kHuberMQLoss, kDistributionLoss, kMAPE, kSMAPE
};
// DistributionLoss's distributions (those whose parameters map one to one onto output channels).
enum class DistributionType { kNormal, kStudentT };
// At most this many interval levels (each in (0, 100)).
inline constexpr int kMaxLevels = 99;

struct NhitsConfig {
  int h = 0;           // forecast horizon (required, > 0)
  int input_size = 0;  // lookback L (required, > 0)
  std::vector<int> n_blocks{1, 1, 1};  // blocks per stack
  // Hidden layers given to EVERY block (neuralforecast does not use one entry per stack).
  // Block MLP: Linear(in, mlp_units[0][0]), then per [a, b]: Linear(a, b) + activation.
  std::vector<std::vector<int>> mlp_units{{512, 512}, {512, 512}, {512, 512}};
  std::vector<int> n_pool_kernel_size{2, 2, 1};  // per stack: input pooling kernel = stride
  std::vector<int> n_freq_downsample{4, 2, 1};   // per stack: forecast knots = max(h / f, 1)
  PoolingMode pooling_mode = PoolingMode::kMaxPool1d;
  InterpolationMode interpolation_mode = InterpolationMode::kLinear;
  Activation activation = Activation::kReLU;
  double dropout_prob_theta = 0.0;  // dropout after each hidden activation, training only
  // The MLP of the paper's own code (cchallu/n-hits) applies the activation after its first layer
  // too; neuralforecast's does not (its first two Linear layers compose into one linear map).
  // Not a neuralforecast argument: false for every model neuralforecast builds.
  bool first_layer_activation = false;
  // neuralforecast's exclude_insample_y: the network sees zeros in place of the (scaled) input
  // window of y, so it forecasts from the exogenous inputs alone (the window still sets the
  // scaler's statistics and the mask).
  bool exclude_insample_y = false;
  ScalerType scaler_type = ScalerType::kIdentity;  // per-window temporal normalisation
  // The NeuralForecast object's local_scaler_type (not an NHITS argument): set by the converter
  // or `nhits train --local-scaler-type`; predict, batch, plot, quantize and serve's /v1/forecast
  // scale each series with it and scale the forecasts back.
  LocalScalerType local_scaler_type = LocalScalerType::kNone;
  // scaler_type "revin": TemporalNorm's learned scaler.revin_bias / scaler.revin_weight, one per
  // scaled channel (y first, then the hist and futr columns in neuralforecast's order), from the
  // checkpoint's tensors, not the JSON. Empty: their initial values (0 and 1). Only y's pair changes a forecast:
  // shift + bias[0] and scale * (relu(weight[0]) + 1e-6) undo the scaling.
  std::vector<float> revin_bias, revin_weight;
  // Categorical columns take no scaler channel (neuralforecast's TemporalNorm skips them).
  int revin_channels() const {
    return 1 + static_cast<int>(hist_exog_list.size() + futr_exog_list.size()) - CategoricalCount(hist_exog_list) -
           CategoricalCount(futr_exog_list);
  }
  LossType loss = LossType::kMAE;
  // MQLoss / HuberMQLoss / DistributionLoss interval levels in (0, 100), e.g. {80, 90} or {97.5}.
  std::vector<double> level;
  // MQLoss / HuberMQLoss(quantiles=[...]): the quantile of each output channel, in the order
  // given, instead of `level`'s symmetric pairs (e.g. 0.01, 0.05, 0.5 for a desk's value at risk
  // beside the median). Empty: the channels come from `level`.
  std::vector<double> quantile_list;
  double huber_delta = 1.0;  // HuberLoss / HuberQLoss / HuberMQLoss delta
  double quantile_q = 0.5;   // QuantileLoss / HuberQLoss q: the quantile one output channel is trained for
  // DistributionLoss: the network emits the distribution's parameters per step (Normal: loc,
  // scale; StudentT: df, loc, scale) and forecasts are its mean and `level` quantiles, followed
  // by the parameters themselves when return_params is set.
  DistributionType distribution = DistributionType::kNormal;
  bool return_params = false;
  // Exogenous columns, in the order the MLP input concatenates them (neuralforecast's lists):
  // futr are known over input + horizon (calendar, scheduled events), hist only over the input
  // window (volume, other prices), stat one value per series (sector, size).
  std::vector<std::string> futr_exog_list, hist_exog_list, stat_exog_list;
  // neuralforecast's cat_exog_list with each column's cardinality, embedding size and fit-time
  // vocabulary (see categorical.h): columns of the lists above that hold labels.
  std::vector<CategoricalColumn> categorical;
  const CategoricalColumn* FindCategorical(const std::string& name) const;
  int CategoricalCount(const std::vector<std::string>& list) const;

  // Forecast columns per horizon step (output_names()): 1, the number of quantiles for MQLoss,
  // or mean + quantiles (+ parameters) for DistributionLoss.
  int outputs_per_step() const;
  // Channels the network itself emits per step (n_theta = backcast + this * knots): equal to
  // outputs_per_step() except for DistributionLoss, whose channels are its raw parameters.
  int network_outputs_per_step() const;
  // MQLoss or HuberMQLoss: one output channel per quantile of `level`.
  bool multi_quantile() const { return loss == LossType::kMQLoss || loss == LossType::kHuberMQLoss; }
  bool distribution_loss() const { return loss == LossType::kDistributionLoss; }
  // The forecast column of quantiles()[0]: 1 after DistributionLoss's mean, else 0.
  int first_quantile_column() const { return distribution_loss() ? 1 : 0; }
  // DistributionLoss: the distribution's parameter count (without allocating: it runs per request).
  int distribution_param_count() const { return distribution == DistributionType::kStudentT ? 3 : 2; }
  // Names of the distribution's parameters in channel order ("df", "loc", "scale").
  std::vector<std::string> distribution_param_names() const;
  // QuantileLoss or HuberQLoss: one output channel, for quantile_q.
  bool single_quantile() const { return loss == LossType::kQuantileLoss || loss == LossType::kHuberQLoss; }
  // HuberLoss, HuberQLoss or HuberMQLoss: huber_delta applies.
  bool uses_delta() const {
    return loss == LossType::kHuberLoss || loss == LossType::kHuberQLoss || loss == LossType::kHuberMQLoss;
  }
  // MQLoss / DistributionLoss quantiles in neuralforecast's order: 0.5 first, then ascending
  // (quantile_list as given, when set); {q} for QuantileLoss.
  std::vector<double> quantiles() const;
  // MQLoss / HuberMQLoss trained for quantile_list rather than level.
  bool has_quantile_list() const { return multi_quantile() && !quantile_list.empty(); }
  // The forecast column that evaluation, plots and recursive forecasts read as the point
  // forecast: 0 (the point, the mean or the median), or with a quantile_list the quantile
  // nearest 0.5 (the first of two as near).
  int point_column() const;
  // Output column suffixes in the same order: "", "_ql0.9" (QuantileLoss), "_q0.9_d0.5"
  // (HuberQLoss), "-median", "-lo-90", ..., "-hi-90" (MQLoss, HuberMQLoss; with a quantile_list
  // neuralforecast's quantiles_to_outputs names: 0.05 -> "-lo-90.0", 0.75 -> "-hi-50.0"), or "", "-median",
  // "-lo-90", ..., "-hi-90" [, "-loc", "-scale"] (DistributionLoss).
  std::vector<std::string> output_names() const;
  int total_blocks() const;
  bool has_exog() const { return !futr_exog_list.empty() || !hist_exog_list.empty() || !stat_exog_list.empty(); }
  Status Validate() const;
};

struct TrainOptions {
  int max_steps = 1000;
  double learning_rate = 1e-3;
  int num_lr_decays = 3;              // StepLR halvings over max_steps (<= 0: none)
  int early_stop_patience_steps = -1;  // in validation checks; -1 disables
  // neuralforecast's val_monitor="train_loss": early stopping (and restore_best_weights) follow
  // the training loss of the step each validation check comes after, not the validation loss
  // ("ptl/val_loss" and "valid_loss", the default, are the same number on one device).
  bool monitor_train_loss = false;
  int val_check_steps = 100;
  int val_size = 0;                   // last points of each series held out for validation
  int batch_size = 32;                // series per step
  int windows_batch_size = 1024;      // windows sampled per step
  int step_size = 1;                  // stride between windows
  int val_step_size = 0;              // stride between validation windows (0: step_size)
  bool start_padding_enabled = false;  // left-pad input_size-1 zeros so early points are used
  // neuralforecast's training_data_availability_threshold as [insample, outsample] fractions: a
  // training window is kept when at least max(1, int(L * insample)) of its inputs and
  // max(1, int(h * outsample)) of its targets are observed (padding and masked points are not).
  // The default 0 keeps every window with one of each.
  double min_insample_fraction = 0.0;
  double min_outsample_fraction = 0.0;
  // Keep the weights of the best validation check instead of the last ones. neuralforecast keeps
  // the last (its checkpointing is off by default), so this is off by default too.
  bool restore_best_weights = false;
  // Continue from the model's current weights instead of initialising them (fresh Adam state and
  // schedule): neuralforecast's final fit after the cross-validation of PredictionIntervals.
  bool warm_start = false;
  // neuralforecast's valid_loss: what validation (early stopping, best weights) scores, when it
  // is not the training loss itself. A point loss (its own delta / q), or for MQLoss and
  // DistributionLoss models MQLoss / HuberMQLoss over the model's quantiles; a point loss on a
  // DistributionLoss model scores the distribution's mean, as neuralforecast does.
  std::optional<LossType> valid_loss;
  double valid_delta = 1.0;  // valid_loss HuberLoss / HuberQLoss / HuberMQLoss delta
  double valid_q = 0.5;      // valid_loss QuantileLoss / HuberQLoss q
  int random_seed = 1;
  int num_threads = 0;                // 0: all cores
  bool verbose = true;                // progress bar on stderr
  Status Validate(const NhitsConfig& config) const;
  // The configuration validation scores with: `config` itself, or a copy whose loss is
  // valid_loss (with valid_delta, valid_q and the model's levels).
  NhitsConfig ValidationConfig(const NhitsConfig& config) const;
};

// Names as neuralforecast spells them ("MaxPool1d", "ReLU", "robust", "MQLoss", ...).
std::string ToString(PoolingMode v);
std::string ToString(InterpolationMode v);
std::string ToString(Activation v);
std::string ToString(ScalerType v);
std::string ToString(LocalScalerType v);  // "none", "standard", "robust", "robust-iqr", "minmax"
std::string ToString(LossType v);
std::string ToString(DistributionType v);
// Parse those names; unknown names are InvalidArgument listing the accepted ones.
// `field` names the argument in the message.
Result<PoolingMode> ParsePoolingMode(const std::string& s, const std::string& field = "pooling_mode");
Result<InterpolationMode> ParseInterpolationMode(const std::string& s,
                                                 const std::string& field = "interpolation_mode");
Result<Activation> ParseActivation(const std::string& s, const std::string& field = "activation");
Result<ScalerType> ParseScalerType(const std::string& s, const std::string& field = "scaler_type");
Result<LocalScalerType> ParseLocalScalerType(const std::string& s, const std::string& field = "local_scaler_type");
Result<LossType> ParseLossType(const std::string& s, const std::string& field = "loss");
Result<DistributionType> ParseDistributionType(const std::string& s, const std::string& field = "distribution");

// Python's repr of a float, which neuralforecast's column names embed: shortest round trip, and
// a ".0" on whole numbers (0.9 -> "0.9", 1.0 -> "1.0").
std::string PythonFloatRepr(double v);
// An interval level as neuralforecast's column names write it (f"-lo-{level}"): whole levels as
// integers, as users pass them ("80"), others as Python floats ("97.5").
std::string LevelName(double level);
// Levels as a list of numbers ("80,97.5"), each in (0, 100); `field` names the flag in errors.
Result<std::vector<double>> ParseLevels(const std::string& text, const std::string& field = "level");
// "0.01,0.05,0.5": quantiles in (0, 1), in the order given (errors name --<field> and the item).
Result<std::vector<double>> ParseQuantiles(const std::string& text, const std::string& field = "quantiles");

// JSON with neuralforecast's argument names (the `nhits_config` checkpoint metadata).
std::string ConfigToJson(const NhitsConfig& config, const TrainOptions* train = nullptr);
// `where` prefixes error messages (e.g. the checkpoint path).
Result<NhitsConfig> ConfigFromJson(const std::string& json, const std::string& where);

// Levels as neuralforecast's predict(level=...) takes them: sorted(set(level)).
std::vector<double> SortedLevels(std::vector<double> levels);

}  // namespace nhits
