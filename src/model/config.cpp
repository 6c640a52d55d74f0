#include "nhits/config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>

#include <nlohmann/json.hpp>

namespace nhits {
namespace {

template <typename E, std::size_t N>
Result<E> ParseEnum(const std::string& s, const std::array<std::pair<const char*, E>, N>& names,
                    const std::string& field) {
  for (const auto& [name, value] : names)
    if (s == name) return value;
  std::string accepted, same_letters;
  auto lower = [](std::string t) {
    for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return t;
  };
  for (const auto& [name, value] : names) {
    accepted += (accepted.empty() ? "" : ", ") + std::string(name);
    if (lower(name) == lower(s)) same_letters = name;  // names are case-sensitive, as neuralforecast's
  }
  // A command-line flag ("--loss") is named as the user typed it; a config field as "field 'loss'".
  const std::string label = field.rfind("--", 0) == 0 ? field : "field '" + field + "'";
  return Status::InvalidArgument(label + ": unknown value '" + s + "'" +
                                 (same_letters.empty() ? "" : " (did you mean '" + same_letters + "'?)") +
                                 " (accepted: " + accepted + ")");
}

template <typename E, std::size_t N>
std::string EnumName(E v, const std::array<std::pair<const char*, E>, N>& names) {
  for (const auto& [name, value] : names)
    if (v == value) return name;
  return "?";
}

constexpr std::array<std::pair<const char*, PoolingMode>, 2> kPooling{{
    {"MaxPool1d", PoolingMode::kMaxPool1d}, {"AvgPool1d", PoolingMode::kAvgPool1d}}};
constexpr std::array<std::pair<const char*, InterpolationMode>, 3> kInterp{{
    {"linear", InterpolationMode::kLinear}, {"nearest", InterpolationMode::kNearest},
    {"cubic", InterpolationMode::kCubic}}};
constexpr std::array<std::pair<const char*, Activation>, 7> kActivation{{
    {"ReLU", Activation::kReLU}, {"Softplus", Activation::kSoftplus}, {"Tanh", Activation::kTanh},
    {"SELU", Activation::kSELU}, {"LeakyReLU", Activation::kLeakyReLU}, {"PReLU", Activation::kPReLU},
    {"Sigmoid", Activation::kSigmoid}}};
constexpr std::array<std::pair<const char*, ScalerType>, 7> kScaler{{
    {"identity", ScalerType::kIdentity}, {"standard", ScalerType::kStandard},
    {"robust", ScalerType::kRobust}, {"minmax", ScalerType::kMinMax},
    {"minmax1", ScalerType::kMinMax1}, {"invariant", ScalerType::kInvariant}, {"revin", ScalerType::kRevin}}};
constexpr std::array<std::pair<const char*, LocalScalerType>, 5> kLocalScaler{{
    {"none", LocalScalerType::kNone}, {"standard", LocalScalerType::kStandard},
    {"robust", LocalScalerType::kRobust}, {"robust-iqr", LocalScalerType::kRobustIqr},
    {"minmax", LocalScalerType::kMinMax}}};
constexpr std::array<std::pair<const char*, LossType>, 11> kLoss{{
    {"MAE", LossType::kMAE}, {"MSE", LossType::kMSE}, {"RMSE", LossType::kRMSE},
    {"HuberLoss", LossType::kHuberLoss}, {"MQLoss", LossType::kMQLoss}, {"QuantileLoss", LossType::kQuantileLoss},
    {"HuberQLoss", LossType::kHuberQLoss}, {"HuberMQLoss", LossType::kHuberMQLoss},
    {"DistributionLoss", LossType::kDistributionLoss}, {"MAPE", LossType::kMAPE}, {"SMAPE", LossType::kSMAPE}}};
constexpr std::array<std::pair<const char*, DistributionType>, 2> kDistribution{{
    {"Normal", DistributionType::kNormal}, {"StudentT", DistributionType::kStudentT}}};


}  // namespace

std::string PythonFloatRepr(double v) {
  char buf[32];
  std::string s(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string LevelName(double level) {
  if (level == std::floor(level) && std::abs(level) < 1e9) return std::to_string(static_cast<long long>(level));
  return PythonFloatRepr(level);
}

namespace {

// Comma separated numbers, each strictly inside (lo, hi); `what` and `example` word the errors.
Result<std::vector<double>> ParseOpenIntervalList(const std::string& text, const std::string& field, double lo,
                                                   double hi, const std::string& what, const std::string& example) {
  if (text.find_first_not_of(" \t") == std::string::npos)
    return Status::InvalidArgument("--" + field + ": empty list; give " + what + "s such as " + example);
  std::vector<double> values;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(begin, end - begin);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    double v = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || !(v > lo && v < hi))
      return Status::InvalidArgument("--" + field + ": '" + item + "' is not a " + what + " in (" + LevelName(lo) +
                                     ", " + LevelName(hi) + ") (e.g. " + example + ")");
    values.push_back(v);
    begin = end + 1;
  }
  return values;
}

}  // namespace

Result<std::vector<double>> ParseLevels(const std::string& text, const std::string& field) {
  return ParseOpenIntervalList(text, field, 0, 100, "level", "80,90 or 97.5");
}

Result<std::vector<double>> ParseQuantiles(const std::string& text, const std::string& field) {
  return ParseOpenIntervalList(text, field, 0, 1, "quantile", "0.05,0.5,0.95");
}

std::string ToString(PoolingMode v) { return EnumName(v, kPooling); }
std::string ToString(InterpolationMode v) { return EnumName(v, kInterp); }
std::string ToString(Activation v) { return EnumName(v, kActivation); }
std::string ToString(ScalerType v) { return EnumName(v, kScaler); }
std::string ToString(LocalScalerType v) { return EnumName(v, kLocalScaler); }
std::string ToString(LossType v) { return EnumName(v, kLoss); }
std::string ToString(DistributionType v) { return EnumName(v, kDistribution); }

Result<PoolingMode> ParsePoolingMode(const std::string& s, const std::string& field) {
  return ParseEnum(s, kPooling, field);
}
Result<InterpolationMode> ParseInterpolationMode(const std::string& s, const std::string& field) {
  // neuralforecast treats any mode containing "cubic" (e.g. "bicubic") as cubic.
  if (s.find("cubic") != std::string::npos) return InterpolationMode::kCubic;
  return ParseEnum(s, kInterp, field);
}
Result<Activation> ParseActivation(const std::string& s, const std::string& field) {
  return ParseEnum(s, kActivation, field);
}
Result<ScalerType> ParseScalerType(const std::string& s, const std::string& field) {
  // neuralforecast's scaler_type=None means identity.
  if (s == "None" || s == "none" || s.empty()) return ScalerType::kIdentity;
  return ParseEnum(s, kScaler, field);
}
Result<LocalScalerType> ParseLocalScalerType(const std::string& s, const std::string& field) {
  if (s == "None" || s.empty()) return LocalScalerType::kNone;  // NeuralForecast's default
  return ParseEnum(s, kLocalScaler, field);
}
Result<LossType> ParseLossType(const std::string& s, const std::string& field) {
  if (s == "Huber") return LossType::kHuberLoss;
  return ParseEnum(s, kLoss, field);
}

Result<DistributionType> ParseDistributionType(const std::string& s, const std::string& field) {
  return ParseEnum(s, kDistribution, field);
}

int NhitsConfig::outputs_per_step() const {
  if (distribution_loss())
    return static_cast<int>(2 + 2 * level.size()) + (return_params ? distribution_param_count() : 0);
  if (has_quantile_list()) return static_cast<int>(quantile_list.size());
  return multi_quantile() ? static_cast<int>(1 + 2 * level.size()) : 1;
}

int NhitsConfig::point_column() const {
  if (!has_quantile_list()) return 0;
  std::size_t best = 0;
  for (std::size_t i = 1; i < quantile_list.size(); ++i)
    if (std::abs(quantile_list[i] - 0.5) < std::abs(quantile_list[best] - 0.5)) best = i;
  return static_cast<int>(best);
}

int NhitsConfig::network_outputs_per_step() const {
  return distribution_loss() ? distribution_param_count() : outputs_per_step();
}

std::vector<std::string> NhitsConfig::distribution_param_names() const {
  if (!distribution_loss()) return {};
  if (distribution == DistributionType::kStudentT) return {"df", "loc", "scale"};
  return {"loc", "scale"};
}

std::vector<double> NhitsConfig::quantiles() const {
  if (single_quantile()) return {quantile_q};
  if (!multi_quantile() && !distribution_loss()) return {0.5};
  if (has_quantile_list()) return quantile_list;
  // neuralforecast's level_to_outputs: 50 -/+ level/2, sorted, median prepended.
  std::vector<double> qs;
  for (double l : level) {
    qs.push_back((50.0 - l / 2.0) / 100.0);
    qs.push_back((50.0 + l / 2.0) / 100.0);
  }
  std::sort(qs.begin(), qs.end());
  qs.insert(qs.begin(), 0.5);
  return qs;
}

std::vector<std::string> NhitsConfig::output_names() const {
  // neuralforecast's names: f"_ql{q}" and f"_q{q}_d{delta}".
  if (loss == LossType::kQuantileLoss) return {"_ql" + PythonFloatRepr(quantile_q)};
  if (loss == LossType::kHuberQLoss) return {"_q" + PythonFloatRepr(quantile_q) + "_d" + PythonFloatRepr(huber_delta)};
  if (!multi_quantile() && !distribution_loss()) return {""};
  if (has_quantile_list()) {
    // neuralforecast's quantiles_to_outputs: f"-lo-{np.round(100 - 200 * q, 2)}", a float64.
    auto rounded = [](double v) { return PythonFloatRepr(std::nearbyint(v * 100.0) / 100.0); };
    std::vector<std::string> names;
    for (double q : quantile_list)
      names.push_back(q < 0.5 ? "-lo-" + rounded(100.0 - 200.0 * q)
                      : q > 0.5 ? "-hi-" + rounded(100.0 - 200.0 * (1.0 - q))
                                : std::string("-median"));
    return names;
  }
  std::vector<std::pair<double, std::string>> named;
  for (double l : level) {
    named.emplace_back(50.0 - l / 2.0, "-lo-" + LevelName(l));
    named.emplace_back(50.0 + l / 2.0, "-hi-" + LevelName(l));
  }
  std::stable_sort(named.begin(), named.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> names{"-median"};
  for (auto& [q, n] : named) names.push_back(n);
  if (distribution_loss()) {  // the mean first, the parameters last
    names.insert(names.begin(), "");
    if (return_params)
      for (const std::string& p : distribution_param_names()) names.push_back("-" + p);
  }
  return names;
}

const CategoricalColumn* NhitsConfig::FindCategorical(const std::string& name) const {
  return FindCategoricalColumn(&categorical, name);
}

int NhitsConfig::CategoricalCount(const std::vector<std::string>& list) const {
  int n = 0;
  for (const std::string& name : list) n += FindCategorical(name) != nullptr;
  return n;
}

int NhitsConfig::total_blocks() const { return std::accumulate(n_blocks.begin(), n_blocks.end(), 0); }

Status NhitsConfig::Validate() const {
  auto bad = [](const std::string& m) { return Status::InvalidArgument(m); };
  if (h <= 0) return bad("field 'h': must be > 0, got " + std::to_string(h));
  if (input_size <= 0) return bad("field 'input_size': must be > 0, got " + std::to_string(input_size));
  for (const auto* revin : {&revin_bias, &revin_weight}) {
    if (revin->empty()) continue;
    if (scaler_type != ScalerType::kRevin) return bad("revin parameters given but scaler_type is " + ToString(scaler_type));
    if (static_cast<int>(revin->size()) != revin_channels())
      return bad("revin parameters: " + std::to_string(revin->size()) + " values, the scaler has " +
                 std::to_string(revin_channels()) + " channels (y, hist and futr columns)");
  }
  const std::size_t stacks = n_blocks.size();
  if (stacks == 0) return bad("field 'n_blocks': needs at least one stack");
  if (n_pool_kernel_size.size() != stacks || n_freq_downsample.size() != stacks)
    return bad("lists of mismatched lengths: n_blocks has " + std::to_string(stacks) +
               " stacks, n_pool_kernel_size " + std::to_string(n_pool_kernel_size.size()) +
               ", n_freq_downsample " + std::to_string(n_freq_downsample.size()));
  for (std::size_t i = 0; i < stacks; ++i) {
    if (n_blocks[i] <= 0) return bad("field 'n_blocks': entry " + std::to_string(i) + " must be > 0");
    if (n_pool_kernel_size[i] <= 0)
      return bad("field 'n_pool_kernel_size': entry " + std::to_string(i) + " must be > 0");
    if (n_freq_downsample[i] <= 0)
      return bad("field 'n_freq_downsample': entry " + std::to_string(i) + " must be > 0");
  }
  if (mlp_units.empty()) return bad("field 'mlp_units': needs at least one hidden layer");
  for (std::size_t i = 0; i < mlp_units.size(); ++i) {
    if (mlp_units[i].size() != 2 || mlp_units[i][0] <= 0 || mlp_units[i][1] <= 0)
      return bad("field 'mlp_units': entry " + std::to_string(i) + " must be a pair of positive sizes");
    // PyTorch would fail at the first forward if consecutive layers did not chain.
    if (i > 0 && mlp_units[i][0] != mlp_units[i - 1][1])
      return bad("field 'mlp_units': entry " + std::to_string(i) + " takes " +
                 std::to_string(mlp_units[i][0]) + " inputs but the previous layer gives " +
                 std::to_string(mlp_units[i - 1][1]));
  }
  // A size no machine could hold is a corrupt or hostile file, refused before anything allocates.
  double params = 0, blocks = 0;
  const double units_in = static_cast<double>(mlp_units.front()[0]), units_out = static_cast<double>(mlp_units.back()[1]);
  for (int n : n_blocks) blocks += n;
  for (const auto& u : mlp_units) params += static_cast<double>(u[0]) * u[1];
  // Bounds of the widest block (no pooling, one knot per step): the first layer reads y and the
  // hist columns over L, the futr columns over L + h and the statics; the last writes L + Q x h.
  const double L = input_size, X = static_cast<double>(hist_exog_list.size()),
               F = static_cast<double>(futr_exog_list.size()), S = static_cast<double>(stat_exog_list.size());
  const double in_features = L * (1 + X) + (L + h) * F + S, n_theta = L + static_cast<double>(network_outputs_per_step()) * h;
  params = blocks * (params + in_features * units_in + units_out * n_theta);
  if (blocks > 65536 || params > 4e9 || in_features > 1 << 30 || n_theta > 1 << 30)
    return bad("sizes too large to build: " + std::to_string(static_cast<long long>(blocks)) + " blocks, ~" +
               std::to_string(static_cast<long long>(params)) +
               " parameters (n_blocks, mlp_units, input_size, h, the outputs per step and exogenous columns)");
  if (!(dropout_prob_theta >= 0.0 && dropout_prob_theta < 1.0))
    return bad("field 'dropout_prob_theta': must be in [0, 1)");
  if (!quantile_list.empty()) {
    if (!multi_quantile())
      return bad("field 'quantiles': applies to MQLoss and HuberMQLoss, not " + ToString(loss) +
                 (distribution_loss() ? " (a DistributionLoss model forecasts any quantile: nhits predict --quantiles)"
                                      : ""));
    if (quantile_list.size() > static_cast<std::size_t>(2 * kMaxLevels + 1))
      return bad("field 'quantiles': at most " + std::to_string(2 * kMaxLevels + 1) + " quantiles");
    for (std::size_t i = 0; i < quantile_list.size(); ++i) {
      const double q = quantile_list[i];
      if (!(q > 0 && q < 1)) return bad("field 'quantiles': " + PythonFloatRepr(q) + " is not in (0, 1)");
      for (std::size_t k = 0; k < i; ++k)
        if (quantile_list[k] == q) return bad("field 'quantiles': " + PythonFloatRepr(q) + " appears twice");
    }
  }
  if (multi_quantile() || distribution_loss()) {
    if (level.empty() && !has_quantile_list()) return bad("field 'level': " + ToString(loss) + " needs at least one level");
    if (level.size() > static_cast<std::size_t>(kMaxLevels))
      return bad("field 'level': at most " + std::to_string(kMaxLevels) + " levels");
    for (double l : level)
      if (!(l > 0 && l < 100)) return bad("field 'level': " + LevelName(l) + " is not in (0, 100)");
    if (interpolation_mode == InterpolationMode::kCubic)
      return bad("field 'interpolation_mode': cubic interpolation supports one output per step; "
                 "it cannot be combined with " + ToString(loss) + " (as in neuralforecast)");
  }
  if (uses_delta() && !(huber_delta > 0)) return bad("field 'delta': must be > 0");
  if (single_quantile() && !(quantile_q > 0 && quantile_q < 1))
    return bad("field 'q': " + ToString(loss) + " needs a quantile in (0, 1)");
  // A column in two lists is the mistake of neuralforecast #685 (NaN forecasts there): refuse it.
  std::vector<std::pair<std::string, const char*>> seen;
  for (const auto& [list, field] : {std::pair{&futr_exog_list, "futr_exog_list"},
                                    std::pair{&hist_exog_list, "hist_exog_list"},
                                    std::pair{&stat_exog_list, "stat_exog_list"}}) {
    for (const std::string& name : *list) {
      if (name.empty()) return bad(std::string("field '") + field + "': empty column name");
      if (name == "unique_id" || name == "ds" || name == "y")
        return bad(std::string("field '") + field + "': '" + name + "' is not an exogenous column");
      for (const auto& [other, other_field] : seen)
        if (other == name)
          return bad(std::string("field '") + field + "': column '" + name + "' is already in " + other_field +
                     " (a column goes in one list: futr if its future values are known, else hist)");
      seen.emplace_back(name, field);
    }
  }
  for (std::size_t i = 0; i < categorical.size(); ++i) {
    const CategoricalColumn& col = categorical[i];
    const std::string where = "field 'cat_exog_list': '" + col.name + "'";
    bool listed = false;
    for (const auto& [other, other_field] : seen) listed = listed || other == col.name;
    if (!listed) return bad(where + " must also be in futr_exog_list, hist_exog_list or stat_exog_list");
    for (std::size_t k = 0; k < i; ++k)
      if (categorical[k].name == col.name) return bad(where + " appears twice");
    if (col.cardinality <= 0) return bad(where + ": categorical_cardinalities must be > 0");
    if (col.emb_dim <= 0) return bad(where + ": cat_emb_dim must be > 0");
    if (col.vocabulary.size() > static_cast<std::size_t>(col.cardinality))
      return bad(where + ": its vocabulary has " + std::to_string(col.vocabulary.size()) +
                 " labels but categorical_cardinalities declares " + std::to_string(col.cardinality));
  }
  return Status::Ok();
}

Status TrainOptions::Validate(const NhitsConfig& config) const {
  auto bad = [](const std::string& m) { return Status::InvalidArgument(m); };
  if (max_steps <= 0) return bad("field 'max_steps': must be > 0");
  if (!(learning_rate > 0)) return bad("field 'learning_rate': must be > 0");
  if (val_check_steps <= 0) return bad("field 'val_check_steps': must be > 0");
  if (batch_size <= 0) return bad("field 'batch_size': must be > 0");
  if (windows_batch_size <= 0) return bad("field 'windows_batch_size': must be > 0");
  if (step_size <= 0) return bad("field 'step_size': must be > 0");
  if (val_step_size < 0) return bad("field 'val_step_size': must be >= 0");
  if (val_size < 0) return bad("field 'val_size': must be >= 0");
  if (val_size > 0 && val_size < config.h)
    return bad("field 'val_size': must be 0 or at least h=" + std::to_string(config.h) + " (got " +
               std::to_string(val_size) + ")");
  if (early_stop_patience_steps > 0 && val_size == 0)
    return bad("field 'early_stop_patience_steps': early stopping needs val_size > 0");
  for (const double f : {min_insample_fraction, min_outsample_fraction})
    if (!(f >= 0.0 && f <= 1.0))
      return bad("field 'training_data_availability_threshold': fractions must be within [0, 1] (got " +
                 PythonFloatRepr(f) + ")");
  if (valid_loss) {
    const NhitsConfig v = ValidationConfig(config);
    const bool multi = v.multi_quantile();
    // neuralforecast's rules (BaseModel.__init__): MQ models validate with an MQ loss; quantiles
    // need a model that forecasts them; a distribution scores only the model's own.
    if (v.distribution_loss() && !config.distribution_loss())
      return bad("field 'valid_loss': DistributionLoss validates only a DistributionLoss model");
    if (config.multi_quantile() && !multi)
      return bad("field 'valid_loss': a " + ToString(config.loss) + " model validates with MQLoss or HuberMQLoss, not " +
                 ToString(*valid_loss) + " (as in neuralforecast)");
    if (multi && !config.multi_quantile() && !config.distribution_loss())
      return bad("field 'valid_loss': " + ToString(*valid_loss) + " scores quantiles, which a " + ToString(config.loss) +
                 " model does not forecast");
    if (v.uses_delta() && !(valid_delta > 0)) return bad("field 'valid_delta': must be > 0");
    if (v.single_quantile() && !(valid_q > 0 && valid_q < 1)) return bad("field 'valid_q': must be in (0, 1)");
  }
  return Status::Ok();
}

NhitsConfig TrainOptions::ValidationConfig(const NhitsConfig& config) const {
  NhitsConfig v = config;
  if (!valid_loss || (*valid_loss == LossType::kDistributionLoss && config.distribution_loss())) return v;
  v.loss = *valid_loss;
  v.huber_delta = valid_delta;
  v.quantile_q = valid_q;
  return v;
}

std::vector<double> SortedLevels(std::vector<double> levels) {
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  return levels;
}

std::string ConfigToJson(const NhitsConfig& c, const TrainOptions* t) {
  nlohmann::ordered_json j;
  j["h"] = c.h;
  j["input_size"] = c.input_size;
  j["n_blocks"] = c.n_blocks;
  j["mlp_units"] = c.mlp_units;
  j["n_pool_kernel_size"] = c.n_pool_kernel_size;
  j["n_freq_downsample"] = c.n_freq_downsample;
  j["pooling_mode"] = ToString(c.pooling_mode);
  j["interpolation_mode"] = ToString(c.interpolation_mode);
  j["activation"] = ToString(c.activation);
  j["dropout_prob_theta"] = c.dropout_prob_theta;
  if (c.first_layer_activation) j["first_layer_activation"] = true;
  if (c.exclude_insample_y) j["exclude_insample_y"] = true;
  j["scaler_type"] = ToString(c.scaler_type);
  if (c.local_scaler_type != LocalScalerType::kNone) j["local_scaler_type"] = ToString(c.local_scaler_type);
  j["loss"] = ToString(c.loss);
  if (c.has_quantile_list()) {
    j["quantiles"] = c.quantile_list;
  } else if (c.multi_quantile() || c.distribution_loss()) {  // whole levels as integers, as users write them
    nlohmann::ordered_json levels = nlohmann::ordered_json::array();
    for (double l : c.level)
      levels.push_back(l == std::floor(l) ? nlohmann::ordered_json(static_cast<long long>(l)) : nlohmann::ordered_json(l));
    j["level"] = levels;
  }
  if (c.distribution_loss()) {
    j["distribution"] = ToString(c.distribution);
    j["return_params"] = c.return_params;
  }
  if (c.uses_delta()) j["delta"] = c.huber_delta;
  if (c.single_quantile()) j["q"] = c.quantile_q;
  if (!c.futr_exog_list.empty()) j["futr_exog_list"] = c.futr_exog_list;
  if (!c.hist_exog_list.empty()) j["hist_exog_list"] = c.hist_exog_list;
  if (!c.stat_exog_list.empty()) j["stat_exog_list"] = c.stat_exog_list;
  if (!c.categorical.empty()) {  // neuralforecast's names, with the resolved sizes and the fit-time vocabulary
    nlohmann::ordered_json list = nlohmann::ordered_json::array(), cards, dims, vocab;
    for (const CategoricalColumn& col : c.categorical) {
      list.push_back(col.name);
      cards[col.name] = col.cardinality;
      dims[col.name] = col.emb_dim;
      vocab[col.name] = col.vocabulary;
    }
    j["cat_exog_list"] = list;
    j["categorical_cardinalities"] = cards;
    j["categorical_emb_dims"] = dims;
    j["categorical_vocab"] = vocab;
  }
  if (t != nullptr) {
    j["max_steps"] = t->max_steps;
    j["learning_rate"] = t->learning_rate;
    j["num_lr_decays"] = t->num_lr_decays;
    j["early_stop_patience_steps"] = t->early_stop_patience_steps;
    if (t->monitor_train_loss) j["val_monitor"] = "train_loss";
    j["val_check_steps"] = t->val_check_steps;
    j["val_size"] = t->val_size;
    j["batch_size"] = t->batch_size;
    j["windows_batch_size"] = t->windows_batch_size;
    j["step_size"] = t->step_size;
    j["val_step_size"] = t->val_step_size;
    j["start_padding_enabled"] = t->start_padding_enabled;
    if (t->min_insample_fraction != 0.0 || t->min_outsample_fraction != 0.0)
      j["training_data_availability_threshold"] = {t->min_insample_fraction, t->min_outsample_fraction};
    j["random_seed"] = t->random_seed;
    j["restore_best_weights"] = t->restore_best_weights;
    if (t->valid_loss) {
      j["valid_loss"] = ToString(*t->valid_loss);
      const NhitsConfig v = t->ValidationConfig(c);
      if (v.uses_delta()) j["valid_delta"] = t->valid_delta;
      if (v.single_quantile()) j["valid_q"] = t->valid_q;
    }
  }
  return j.dump();
}

namespace {

// cat_exog_list with categorical_cardinalities, cat_emb_dim (or the resolved categorical_emb_dims
// this engine writes) and categorical_vocab (the converter's copy of NeuralForecast.categorical_vocab_).
Status ReadCategorical(const nlohmann::json& j, const std::string& where, std::string* field, NhitsConfig* c) {
  *field = "cat_exog_list";
  if (!j.contains("cat_exog_list") || j["cat_exog_list"].is_null() || j["cat_exog_list"].empty()) return Status::Ok();
  const auto names = j["cat_exog_list"].get<std::vector<std::string>>();
  for (const std::string& name : names) {
    CategoricalColumn col;
    col.name = name;
    *field = "categorical_cardinalities";
    if (!j.contains(*field) || !j[*field].contains(name))
      return Status::InvalidArgument(where + ": field 'categorical_cardinalities': no entry for '" + name + "'");
    col.cardinality = j[*field][name].get<int>();
    if (j.contains("categorical_emb_dims") && j["categorical_emb_dims"].contains(name)) {
      *field = "categorical_emb_dims";
      col.emb_dim = j[*field][name].get<int>();
    } else {
      *field = "cat_emb_dim";
      const nlohmann::json& s = j.contains(*field) ? j[*field] : nlohmann::json("fastai");
      Result<int> dim = ResolveCatEmbDim(s.is_number() ? std::to_string(s.get<int>()) : s.get<std::string>(), col.cardinality);
      if (!dim.ok()) return Status::InvalidArgument(where + ": " + dim.status().message());
      col.emb_dim = *dim;
    }
    *field = "categorical_vocab";
    if (!j.contains(*field) || !j[*field].contains(name))
      return Status::InvalidArgument(where + ": field 'categorical_vocab': no vocabulary for '" + name +
                                     "' (convert the model with tools/export_neuralforecast.py, which copies it)");
    col.vocabulary = j[*field][name].get<std::vector<std::string>>();
    c->categorical.push_back(std::move(col));
  }
  return Status::Ok();
}

// An integer field, or a list (of lists) of them, each within int: nlohmann's get<int>() would
// truncate 1.5 to 1 and wrap 1e12 to a negative size.
bool IntegersWithinInt(const nlohmann::json& v, int depth = 0) {
  if (v.is_array()) {
    if (depth >= 2) return false;
    for (const auto& e : v)
      if (!IntegersWithinInt(e, depth + 1)) return false;
    return true;
  }
  if (!v.is_number_integer()) return false;
  if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<int>::max());
  const std::int64_t x = v.get<std::int64_t>();
  return x >= std::numeric_limits<int>::min() && x <= std::numeric_limits<int>::max();
}

}  // namespace

Result<NhitsConfig> ConfigFromJson(const std::string& text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::Corruption(where + ": nhits_config is not a JSON object");
  NhitsConfig c;
  for (const char* name : {"h", "input_size", "n_blocks", "mlp_units", "n_pool_kernel_size", "n_freq_downsample"})
    if (j.contains(name) && !j[name].is_null() && !IntegersWithinInt(j[name]))
      return Status::Corruption(where + ": nhits_config field '" + name + "': " + j[name].dump().substr(0, 80) +
                                " is not an integer (or a list of integers) within the int range");
  std::string field;
  try {
    field = "h";
    c.h = j.at("h").get<int>();
    field = "input_size";
    c.input_size = j.at("input_size").get<int>();
    auto opt = [&](const char* name, auto& dst) {
      field = name;
      if (j.contains(name) && !j[name].is_null()) dst = j[name].get<std::decay_t<decltype(dst)>>();
    };
    opt("n_blocks", c.n_blocks);
    opt("mlp_units", c.mlp_units);
    opt("n_pool_kernel_size", c.n_pool_kernel_size);
    opt("n_freq_downsample", c.n_freq_downsample);
    opt("dropout_prob_theta", c.dropout_prob_theta);
    opt("first_layer_activation", c.first_layer_activation);
    opt("exclude_insample_y", c.exclude_insample_y);
    opt("level", c.level);
    opt("quantiles", c.quantile_list);
    opt("delta", c.huber_delta);
    opt("q", c.quantile_q);
    opt("return_params", c.return_params);
    opt("futr_exog_list", c.futr_exog_list);
    opt("hist_exog_list", c.hist_exog_list);
    opt("stat_exog_list", c.stat_exog_list);
    auto parse = [&](const char* name, auto parser, auto& dst) -> Status {
      field = name;
      if (!j.contains(name) || j[name].is_null()) return Status::Ok();  // keep the default
      auto r = parser(j[name].template get<std::string>(), name);
      if (!r.ok()) return Status::InvalidArgument(where + ": " + r.status().message());
      dst = *r;
      return Status::Ok();
    };
    NHITS_RETURN_IF_ERROR(parse("pooling_mode", ParsePoolingMode, c.pooling_mode));
    NHITS_RETURN_IF_ERROR(parse("interpolation_mode", ParseInterpolationMode, c.interpolation_mode));
    NHITS_RETURN_IF_ERROR(parse("activation", ParseActivation, c.activation));
    NHITS_RETURN_IF_ERROR(parse("scaler_type", ParseScalerType, c.scaler_type));
    NHITS_RETURN_IF_ERROR(parse("local_scaler_type", ParseLocalScalerType, c.local_scaler_type));
    NHITS_RETURN_IF_ERROR(parse("loss", ParseLossType, c.loss));
    NHITS_RETURN_IF_ERROR(parse("distribution", ParseDistributionType, c.distribution));
    NHITS_RETURN_IF_ERROR(ReadCategorical(j, where, &field, &c));
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(where + ": nhits_config field '" + field + "': " + e.what());
  }
  if ((c.multi_quantile() || c.distribution_loss()) && c.level.empty() && c.quantile_list.empty())
    c.level = {80, 90};  // their default
  Status st = c.Validate();
  if (!st.ok()) return Status::InvalidArgument(where + ": " + st.message());
  return c;
}

}  // namespace nhits
