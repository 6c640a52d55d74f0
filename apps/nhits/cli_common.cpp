#include "cli_common.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nhits/hw.h"
#include "nhits/safetensors.h"

namespace nhits::cli {

void Fail(const std::string& message) { throw CommandError{message, 1}; }
void UsageFail(const std::string& message) { throw CommandError{message, 2}; }

void CheckOk(const Status& status) {
  if (!status.ok()) Fail(status.message());
}

namespace {

// The configuration was built from flags: name the flag the user typed ("--early-stop-patience-steps")
// where the validator names its field ("field 'early_stop_patience_steps'"); the names are
// neuralforecast's in both spellings.
void CheckFlagsOk(const Status& status) {
  if (status.ok()) return;
  std::string m = status.message();
  if (m.rfind("field '", 0) == 0) {
    const std::size_t end = m.find('\'', 7);
    if (end != std::string::npos) {
      std::string flag = "--" + m.substr(7, end - 7);
      std::replace(flag.begin(), flag.end(), '_', '-');
      m = flag + m.substr(end + 1);
    }
  }
  UsageFail(m);  // a configuration from flags alone: the flags are wrong
}

}  // namespace

std::vector<std::string> SplitList(const std::string& text, const std::string& field) {
  // getline drops a trailing empty item: "80," would read as "80" with the typo unseen.
  if (!text.empty() && text.back() == ',') UsageFail("--" + field + ": empty entry at the end of '" + text + "'");
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b == std::string::npos) UsageFail("--" + field + ": empty entry in '" + text + "'");
    out.push_back(item.substr(b, e - b + 1));
  }
  if (out.empty()) UsageFail("--" + field + ": empty list");
  return out;
}

std::vector<Precision> ParsePrecisionList(const std::string& text, const std::string& field) {
  std::vector<Precision> out;
  for (const std::string& item : SplitList(text, field)) {
    Result<Precision> p = ParsePrecision(item);
    if (!p.ok()) UsageFail("--" + field + ": " + p.status().message());
    out.push_back(*p);
  }
  return out;
}

std::vector<int> ParseIntList(const std::string& text, const std::string& field) {
  std::vector<int> out;
  for (const std::string& item : SplitList(text, field)) {
    int v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || p != item.data() + item.size())
      UsageFail("--" + field + ": '" + item + "' is not an integer (expected comma-separated integers, e.g. 1,2,4)");
    out.push_back(v);
  }
  return out;
}

CLI::Validator AtLeast(int min, const std::string& why) {
  return CLI::Validator(
      [min, why](std::string& text) -> std::string {
        long long v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size()) return "'" + text + "' is not an integer";
        if (v >= min) return std::string();
        return "must be >= " + std::to_string(min) + ", got " + text + (why.empty() ? "" : " (" + why + ")");
      },
      ">=" + std::to_string(min));
}

CLI::Validator OneOf(const std::vector<std::string>& choices, const std::string& what) {
  std::string list;
  for (std::size_t i = 0; i < choices.size(); ++i)
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return CLI::Validator(
      [choices, what, list](std::string& text) -> std::string {
        std::string lower = text;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        for (const std::string& c : choices)
          if (lower == c) {
            text = c;  // INT8 -> int8
            return std::string();
          }
        return "unknown " + what + " '" + text + "' (choose " + list + ")";
      },
      list);
}

namespace {
// A finite number above zero (or at least zero), as CLI11 checks go.
CLI::Validator FiniteNumberFromZero(bool zero_allowed) {
  const std::string bound = zero_allowed ? ">=0" : ">0";
  return CLI::Validator(
      [zero_allowed](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') return "'" + text + "' is not a number";
        if (!std::isfinite(v)) return "'" + text + "' is not a finite number";
        if (v > 0 || (zero_allowed && v == 0)) return std::string();
        return std::string("must be ") + (zero_allowed ? ">= 0" : "> 0") + ", got " + text;
      },
      bound);
}
}  // namespace

CLI::Validator PositiveNumber() { return FiniteNumberFromZero(false); }
CLI::Validator NonNegativeNumber() { return FiniteNumberFromZero(true); }

void ModelFlags::Register(CLI::App& app, bool with_window_stride, bool with_horizon, bool with_exog) {
  if (with_horizon) app.add_option("--h", h, "Forecast horizon (required)")->required();
  input_size_flag = app.add_option("--input-size", input_size, "Lookback window L (default: 3*h, the multiplier of neuralforecast's AutoNHITS search)");
  app.add_option("--n-blocks", n_blocks, "Blocks per stack, comma separated")->capture_default_str();
  app.add_option("--mlp-units", mlp_units,
                 "Hidden layers of every block: 'in,out' pairs separated by ';', or [[in,out],...]")->capture_default_str();
  app.add_option("--n-pool-kernel-size", n_pool_kernel_size, "Input pooling kernel per stack")->capture_default_str();
  app.add_option("--n-freq-downsample", n_freq_downsample, "Forecast downsampling per stack")->capture_default_str();
  app.add_option("--pooling-mode", pooling_mode, "MaxPool1d or AvgPool1d")->capture_default_str();
  app.add_option("--interpolation-mode", interpolation_mode, "linear, nearest or cubic")->capture_default_str();
  app.add_option("--activation", activation, "ReLU, Softplus, Tanh, SELU, LeakyReLU, PReLU or Sigmoid")
      ->capture_default_str();
  app.add_option("--dropout-prob-theta", dropout_prob_theta, "Dropout after hidden activations")->capture_default_str();
  app.add_option("--first-layer-activation", first_layer_activation,
                 "true: the activation follows the MLP's first layer too, as in the paper's code (cchallu/n-hits);\n"
                 "false: neuralforecast's MLP (not loadable by neuralforecast when true)")
      ->capture_default_str();
  app.add_flag("--exclude-insample-y", exclude_insample_y,
               "Forecast from the exogenous inputs alone: the network sees zeros for y's input window (which\n"
               "still sets the scaler's statistics), as neuralforecast's exclude_insample_y=True");
  app.add_option("--scaler-type", scaler_type, "identity, standard, robust, minmax, minmax1, invariant or revin (standard statistics plus\nneuralforecast's learned shift/scale for the way back; point losses leave them at 0 and 1)")
      ->capture_default_str();
  app.add_option("--loss", loss,
                 "MAE, MSE, RMSE, MAPE, SMAPE, HuberLoss, QuantileLoss, HuberQLoss, MQLoss, HuberMQLoss or DistributionLoss\n"
                 "(neuralforecast computes every loss on the scaled windows, MAPE and SMAPE too: with a scaler that\n"
                 "centres y near 0 they weigh small values heavily; identity keeps them in the data's units)")
      ->check(CLI::Validator(
          [](std::string& name) {
            const Result<LossType> parsed = ParseLossType(name, "--loss");
            if (parsed.ok()) return std::string();
            const std::string why = parsed.status().message(), prefix = "--loss: ";  // CLI11 names the flag itself
            return why.rfind(prefix, 0) == 0 ? why.substr(prefix.size()) : why;
          },
          "LOSS"))
      ->capture_default_str();
  level_flag = app.add_option("--level", level, "Interval levels, comma separated, that an MQLoss / HuberMQLoss / DistributionLoss\n"
                                               "model trains (cv: also the conformal intervals of --prediction-intervals; a\n"
                                               "model trained with --prediction-intervals takes them at predict time)")
      ->capture_default_str();
  quantiles_flag = app.add_option("--quantiles", quantiles,
                 "MQLoss / HuberMQLoss: one output per quantile in (0, 1), in this order, instead of --level's\n"
                 "pairs; any set, e.g. 0.01,0.05,0.5 for value at risk beside the median. Columns are named as\n"
                 "neuralforecast's MQLoss(quantiles=...): NHITS-lo-98.0, NHITS-lo-90.0, NHITS-median");
  distribution_flag = app.add_option("--distribution", distribution,
                 "DistributionLoss: Normal or StudentT. Trained by negative log-likelihood; forecasts are the\n"
                 "distribution's mean (NHITS) and its exact quantiles (NHITS-median, NHITS-lo-90, ...), where\n"
                 "neuralforecast estimates them from 1000 random draws")
      ->capture_default_str();
  return_params_flag = app.add_flag("--return-params", return_params,
               "DistributionLoss: add the parameters as columns (NHITS-loc, NHITS-scale; StudentT also NHITS-df)");
  delta_flag = app.add_option("--delta", delta, "HuberLoss / HuberQLoss / HuberMQLoss delta")->capture_default_str();
  q_flag = app.add_option("--q", q,
                 "QuantileLoss / HuberQLoss quantile in (0, 1); the forecast column is NHITS_ql<q> / NHITS_q<q>_d<delta>")
      ->capture_default_str();
  if (with_exog) {
  app.add_option("--futr-exog-list", futr_exog_list,
                 "Exogenous columns of --data whose future is known (calendar, scheduled events), comma separated;\n"
                 "predict then needs their next h values: --futr-data");
  app.add_option("--hist-exog-list", hist_exog_list,
                 "Exogenous columns of --data known only up to the forecast origin (volume, other prices)");
  app.add_option("--stat-exog-list", stat_exog_list,
                 "Static columns, one value per series, read from --static-data FILE (unique_id,<columns>)");
  app.add_option("--cat-exog-list", cat_exog_list,
                 "Columns of the lists above that hold labels (store type, weekday, sector) rather than numbers:\n"
                 "each enters the network as a learned embedding (neuralforecast's cat_exog_list). The labels seen\n"
                 "in the data become the vocabulary (sorted, coded 1..n); a label not in it, or an empty field, is\n"
                 "'unseen' and takes the mean of the learned rows");
  app.add_option("--categorical-cardinalities", categorical_cardinalities,
                 "name=N,... : the most labels each categorical column may have (its table gets N + 1 rows); default:\n"
                 "the number of labels in the data");
  app.add_option("--cat-emb-dim", cat_emb_dim,
                 "Embedding size of each categorical column: fastai (min(50, ceil(1.6 n^0.56))), sqrt, half or an\n"
                 "integer")->capture_default_str();
  }
  app.add_option("--max-steps", train.max_steps, "Optimizer steps")->capture_default_str();
  app.add_option("--learning-rate", train.learning_rate, "Adam learning rate")->capture_default_str();
  app.add_option("--num-lr-decays", train.num_lr_decays, "LR halvings over max-steps")->capture_default_str();
  app.add_option("--early-stop-patience-steps", train.early_stop_patience_steps,
                 "Validation checks without improvement before stopping (-1: off)")->capture_default_str();
  val_monitor_flag = app.add_option_function<std::string>(
                             "--val-monitor",
                             [this](const std::string& v) { train.monitor_train_loss = v == "train_loss"; },
                             "What early stopping watches, as neuralforecast's val_monitor: ptl/val_loss or valid_loss (the\n"
                             "validation loss, default) or train_loss (the training loss of the step before each check)")
                         ->transform(OneOf({"ptl/val_loss", "valid_loss", "train_loss"}, "--val-monitor"));
  val_flags.push_back(val_monitor_flag);
  val_flags.push_back(app.add_option("--val-check-steps", train.val_check_steps,
                                     "Steps between validations (at most --max-steps, as in neuralforecast)")->capture_default_str());
  val_size_flag = app.add_option("--val-size", train.val_size, "Last points of each series used for validation")->capture_default_str();
  val_flags.push_back(app.add_option_function<std::string>(
      "--valid-loss",
      [this](const std::string& name) {
        Result<LossType> loss = ParseLossType(name, "--valid-loss");
        if (!loss.ok()) throw CLI::ValidationError(loss.status().message());  // CLI11 reports it while parsing
        train.valid_loss = *loss;
      },
      "What validation scores (early stopping, --restore-best-weights), as neuralforecast's valid_loss:\n"
                 "a point loss (MAE, MSE, RMSE, HuberLoss, QuantileLoss, HuberQLoss), or MQLoss/HuberMQLoss over\n"
                 "the model's levels; default: the training loss. A point loss scores a DistributionLoss model's mean"));
  valid_delta_flag = app.add_option("--valid-delta", train.valid_delta, "--valid-loss HuberLoss/HuberQLoss/HuberMQLoss delta")
                         ->capture_default_str();
  valid_q_flag =
      app.add_option("--valid-q", train.valid_q, "--valid-loss QuantileLoss/HuberQLoss quantile")->capture_default_str();
  app.add_option("--batch-size", train.batch_size, "Series per step")->capture_default_str();
  app.add_option("--windows-batch-size", train.windows_batch_size, "Windows per step")->capture_default_str();
  // cv's --step-size is neuralforecast's cross_validation(step_size=...), between cutoffs; the
  // model's own step_size (between training windows) is --train-step-size there.
  const std::string stride_flag = with_window_stride ? "--step-size" : "--train-step-size";
  app.add_option(stride_flag, train.step_size,
                 with_window_stride ? "Stride between training windows"
                                    : "Stride between training windows (the model's step_size; --step-size is between cutoffs)")
      ->check(AtLeast(1))
      ->capture_default_str();
  val_flags.push_back(app.add_option("--val-step-size", train.val_step_size,
                 "Stride between validation windows (0: " + stride_flag + "); larger is cheaper")
      ->check(AtLeast(0))
      ->capture_default_str());
  app.add_flag("--start-padding-enabled", train.start_padding_enabled,
               "Left-pad input_size-1 zeros so the first points are forecast targets too");
  app.add_option_function<std::string>(
         "--training-data-availability-threshold",
         [this](const std::string& text) {
           // neuralforecast's training_data_availability_threshold: one fraction for both parts, or two
           std::vector<double> f;
           for (const std::string& item : SplitList(text, "training-data-availability-threshold")) {
             double v = 0;
             const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
             if (ec != std::errc() || ptr != item.data() + item.size() || !(v >= 0.0 && v <= 1.0))
               throw CLI::ValidationError("--training-data-availability-threshold: '" + item +
                                          "' is not a fraction within [0, 1]");
             f.push_back(v);
           }
           if (f.size() != 1 && f.size() != 2)
             throw CLI::ValidationError("--training-data-availability-threshold: give one fraction or two "
                                        "(insample,outsample), not " + std::to_string(f.size()));
           train.min_insample_fraction = f.front();
           train.min_outsample_fraction = f.back();
         },
         "F or F_IN,F_OUT: keep a training window only when at least max(1, int(input_size * F_IN)) of its\n"
         "inputs and max(1, int(h * F_OUT)) of its targets are observed (padding and available_mask 0 are not);\n"
         "neuralforecast's training_data_availability_threshold. Default 0: one of each")
      ->type_name("F[,F]");
  val_flags.push_back(app.add_flag("--restore-best-weights", train.restore_best_weights,
                                   "Keep the weights of the best validation check (neuralforecast keeps the last)"));
  app.add_option("--random-seed", train.random_seed, "Seed: same seed and threads give the same weights")
      ->capture_default_str();
  app.add_option("--threads", train.num_threads, "CPU threads (0: all cores)")
      ->check(AtLeast(0))
      ->capture_default_str();
  app.add_flag("--quiet", quiet, "No progress bar");
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

namespace {

// --categorical-cardinalities "store=50,weekday=7" -> {store: 50, weekday: 7}.
std::map<std::string, int> ParseCardinalities(const std::string& text) {
  std::map<std::string, int> out;
  if (text.empty()) return out;
  for (const std::string& item : SplitList(text, "categorical-cardinalities")) {
    const std::size_t eq = item.find('=');
    int n = 0;
    const char* first = item.data() + (eq == std::string::npos ? 0 : eq + 1);
    const auto [ptr, ec] = std::from_chars(first, item.data() + item.size(), n);
    if (eq == std::string::npos || eq == 0 || ec != std::errc() || ptr != item.data() + item.size() || n <= 0)
      UsageFail("--categorical-cardinalities: '" + item + "' is not name=N with N > 0 (e.g. store=50,weekday=7)");
    out[item.substr(0, eq)] = n;
  }
  return out;
}

// The categorical columns of --cat-exog-list, each with the vocabulary of the training data.
std::vector<CategoricalColumn> LearnCategoricalColumns(const NhitsConfig& c, const std::string& list,
                                                       const std::string& cardinalities, const std::string& emb_dim,
                                                       const std::string& data, const std::string& static_data) {
  std::map<std::string, int> declared = ParseCardinalities(cardinalities);
  const std::vector<std::string> names = SplitList(list, "cat-exog-list");
  std::vector<std::string> temporal, statics;  // one pass over each file for all its columns
  for (const std::string& name : names) {
    const bool is_static = std::find(c.stat_exog_list.begin(), c.stat_exog_list.end(), name) != c.stat_exog_list.end();
    if (!is_static && std::find(c.futr_exog_list.begin(), c.futr_exog_list.end(), name) == c.futr_exog_list.end() &&
        std::find(c.hist_exog_list.begin(), c.hist_exog_list.end(), name) == c.hist_exog_list.end())
      Fail("--cat-exog-list: '" + name + "' must also be in --futr-exog-list, --hist-exog-list or --stat-exog-list");
    if (is_static && static_data.empty())
      Fail("--cat-exog-list: '" + name + "' is a static column: give --static-data FILE (unique_id," + name + ")");
    (is_static ? statics : temporal).push_back(name);
  }
  std::map<std::string, std::vector<std::string>> vocabulary;
  for (const auto& [path, columns] : {std::pair{&data, &temporal}, std::pair{&static_data, &statics}}) {
    if (columns->empty()) continue;
    const auto labels = Unwrap(ReadCategoryLabels(*path, *columns));
    for (std::size_t k = 0; k < columns->size(); ++k) vocabulary[(*columns)[k]] = labels[k];
  }
  std::vector<CategoricalColumn> out;
  for (const std::string& name : names) {
    const bool is_static = std::find(statics.begin(), statics.end(), name) != statics.end();
    const std::string& path = is_static ? static_data : data;
    CategoricalColumn col;
    col.name = name;
    col.vocabulary = vocabulary[name];
    if (col.vocabulary.empty())
      Fail(path + ": field '" + name + "': the categorical column has no labels (every value is empty or NaN)");
    const auto it = declared.find(name);
    col.cardinality = it != declared.end() ? it->second : static_cast<int>(col.vocabulary.size());
    if (it != declared.end()) declared.erase(it);
    if (col.vocabulary.size() > static_cast<std::size_t>(col.cardinality))  // neuralforecast's check
      Fail(path + ": field '" + name + "': the categorical column has " + std::to_string(col.vocabulary.size()) +
           " distinct values in the training data but --categorical-cardinalities declares only " +
           std::to_string(col.cardinality) + ". Increase the declared cardinality.");
    Result<int> dim = ResolveCatEmbDim(emb_dim, col.cardinality);
    if (!dim.ok()) Fail("--cat-emb-dim: " + dim.status().message());
    col.emb_dim = *dim;
    out.push_back(std::move(col));
  }
  if (!declared.empty())
    Fail("--categorical-cardinalities: '" + declared.begin()->first + "' is not in --cat-exog-list");
  return out;
}

}  // namespace

NhitsConfig ModelFlags::Config(const std::string& data, const std::string& static_data) const {
  NhitsConfig c;
  c.h = h;
  c.input_size = input_size != 0 ? input_size : 3 * h;
  if (h <= 0) UsageFail("--h must be > 0 (got " + std::to_string(h) + ")");
  if (input_size < 0 || (input_size == 0 && input_size_flag != nullptr && input_size_flag->count() > 0)) UsageFail("--input-size must be > 0 (got " + std::to_string(input_size) + ")");
  c.n_blocks = ParseIntList(n_blocks, "n-blocks");
  c.n_pool_kernel_size = ParseIntList(n_pool_kernel_size, "n-pool-kernel-size");
  c.n_freq_downsample = ParseIntList(n_freq_downsample, "n-freq-downsample");
  c.mlp_units.clear();
  // Also accept neuralforecast's own spelling, a list of lists: [[512,512],[512,512]].
  if (!mlp_units.empty() && mlp_units.front() == '[') {
    const auto j = nlohmann::json::parse(mlp_units, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_array()) UsageFail("--mlp-units: '" + mlp_units + "' is not a list of [in,out] pairs");
    for (const auto& pair : j) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_integer() || !pair[1].is_number_integer())
        UsageFail("--mlp-units: '" + pair.dump() + "' is not an [in,out] pair of integers");
      c.mlp_units.push_back({pair[0].get<int>(), pair[1].get<int>()});
    }
  }
  std::stringstream ss(c.mlp_units.empty() ? mlp_units : std::string());
  std::string pair;
  while (std::getline(ss, pair, ';')) {
    std::vector<int> units = ParseIntList(pair, "mlp-units");
    if (units.size() != 2) UsageFail("--mlp-units: '" + pair + "' is not an 'in,out' pair (e.g. 512,512;512,512)");
    c.mlp_units.push_back(units);
  }
  c.pooling_mode = Unwrap(ParsePoolingMode(pooling_mode, "--pooling-mode"));
  c.interpolation_mode = Unwrap(ParseInterpolationMode(interpolation_mode, "--interpolation-mode"));
  c.activation = Unwrap(ParseActivation(activation, "--activation"));
  c.scaler_type = Unwrap(ParseScalerType(scaler_type, "--scaler-type"));
  c.loss = Unwrap(ParseLossType(loss, "--loss"));
  c.dropout_prob_theta = dropout_prob_theta;
  c.first_layer_activation = first_layer_activation;
  c.exclude_insample_y = exclude_insample_y;
  c.huber_delta = delta;
  c.quantile_q = q;
  auto given = [](const CLI::Option* flag) { return flag != nullptr && flag->count() > 0; };
  if (given(quantiles_flag)) {
    if (!c.multi_quantile())
      UsageFail("--quantiles applies to --loss MQLoss or HuberMQLoss (the loss is " + ToString(c.loss) + ")" +
           (c.distribution_loss() ? "; a DistributionLoss model forecasts any quantile: nhits predict --quantiles" : ""));
    if (given(level_flag)) UsageFail("--level and --quantiles cannot be combined: a model trains one or the other");
    c.quantile_list = Unwrap(ParseQuantiles(quantiles, "quantiles"));
  } else if (c.multi_quantile() || c.distribution_loss()) {
    c.level = Unwrap(ParseLevels(level, "level"));
  }
  c.distribution = Unwrap(ParseDistributionType(distribution, "--distribution"));
  c.return_params = return_params;
  if (!futr_exog_list.empty()) c.futr_exog_list = SplitList(futr_exog_list, "futr-exog-list");
  if (!hist_exog_list.empty()) c.hist_exog_list = SplitList(hist_exog_list, "hist-exog-list");
  if (!stat_exog_list.empty()) c.stat_exog_list = SplitList(stat_exog_list, "stat-exog-list");
  if (exclude_insample_y && !c.has_exog())  // allowed, as in neuralforecast, but rarely meant
    std::fprintf(stderr, "note: --exclude-insample-y without exogenous columns: the network sees only zeros, so every "
                         "window gets the same forecast shape, moved by its scaler's statistics\n");
  if (!cat_exog_list.empty())
    c.categorical = LearnCategoricalColumns(c, cat_exog_list, categorical_cardinalities, cat_emb_dim, data, static_data);
  else if (!categorical_cardinalities.empty())
    UsageFail("--categorical-cardinalities applies to --cat-exog-list, which is not given");
  if (given(q_flag) && !c.single_quantile())
    UsageFail("--q applies to --loss QuantileLoss or HuberQLoss (the loss is " + ToString(c.loss) + ")");
  if (given(delta_flag) && !c.uses_delta())
    UsageFail("--delta applies to --loss HuberLoss, HuberQLoss or HuberMQLoss (the loss is " + ToString(c.loss) + ")");
  if ((given(distribution_flag) || given(return_params_flag)) && !c.distribution_loss())
    UsageFail(std::string(given(distribution_flag) ? "--distribution" : "--return-params") +
         " applies to --loss DistributionLoss (the loss is " + ToString(c.loss) + ")");
  const NhitsConfig v = train.ValidationConfig(c);
  if (given(valid_delta_flag) && !(train.valid_loss && v.uses_delta()))
    UsageFail("--valid-delta applies to --valid-loss HuberLoss, HuberQLoss or HuberMQLoss");
  if (given(valid_q_flag) && !(train.valid_loss && v.single_quantile()))
    UsageFail("--valid-q applies to --valid-loss QuantileLoss or HuberQLoss");
  if (given(val_monitor_flag) && train.early_stop_patience_steps <= 0 && !train.restore_best_weights)
    UsageFail("--val-monitor applies to early stopping (--early-stop-patience-steps N) or --restore-best-weights");
  CheckFlagsOk(c.Validate());
  CheckFlagsOk(train.Validate(c));
  return c;
}

void ModelFlags::RequireValSizeForValidationFlags() const {
  if (val_size_flag != nullptr && val_size_flag->count() > 0) return;
  for (const CLI::Option* flag : val_flags)
    if (flag != nullptr && flag->count() > 0)
      UsageFail(flag->get_name() + " applies to validation, which needs --val-size N (the last N points of each series)");
}

Panel LoadPanel(const std::string& path) { return Unwrap(ReadLongCsv(path)); }

Model WithReturnedParams(const Model& model) {
  NhitsConfig c = model.config();
  c.return_params = true;
  Model copy(c);
  copy.mutable_network().params() = model.network().params();
  return copy;
}

namespace {

// Whether the CSV's header names `column`, read as ReadLongCsv reads it (a UTF-8 BOM, spaces
// and tabs around names ignored).
bool HeaderHas(const std::string& path, const std::string& column) {
  std::ifstream in(path);
  std::string header;
  if (!std::getline(in, header)) return false;
  if (header.rfind("\xEF\xBB\xBF", 0) == 0) header.erase(0, 3);
  std::stringstream fields(header);
  for (std::string f; std::getline(fields, f, ',');) {
    const std::size_t b = f.find_first_not_of(" \t\r"), e = f.find_last_not_of(" \t\r");
    if (b != std::string::npos && f.substr(b, e - b + 1) == column) return true;
  }
  return false;
}

// neuralforecast's sample_weight column: moved from the exogenous columns to Series::sample_weight
// (the reader refuses a negative weight with its file and line, as neuralforecast refuses it).
void TakeSampleWeights(Panel* panel) {
  const auto at = std::find(panel->exog_names.begin(), panel->exog_names.end(), "sample_weight");
  const std::size_t k = static_cast<std::size_t>(at - panel->exog_names.begin());
  panel->exog_names.erase(at);
  for (Series& s : panel->series) {
    s.sample_weight = std::move(s.exog[k]);
    s.exog.erase(s.exog.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

// Labels of `path`'s categorical columns that the fit's vocabulary lacks are coded 0 and take the
// unseen embedding (the mean of the learned rows) silently in neuralforecast; say which ones.
void NoteUnseenLabels(const NhitsConfig& c, const std::string& path, const std::vector<std::string>& columns) {
  std::vector<std::string> coded;
  for (const std::string& name : columns)
    if (c.FindCategorical(name) != nullptr) coded.push_back(name);
  if (coded.empty()) return;
  const auto labels = ReadCategoryLabels(path, coded);
  if (!labels.ok()) return;  // the data reader itself reports a bad file
  for (std::size_t k = 0; k < coded.size(); ++k) {
    const std::string& name = coded[k];
    std::vector<std::string> unseen;
    for (const std::string& label : (*labels)[k])
      if (CategoryCode(*c.FindCategorical(name), label) == 0) unseen.push_back("'" + label + "'");
    if (unseen.empty()) continue;
    std::string list;
    for (std::size_t i = 0; i < unseen.size() && i < 5; ++i) list += (i ? ", " : "") + unseen[i];
    if (unseen.size() > 5) list += ", ... (" + std::to_string(unseen.size()) + " in all)";
    std::fprintf(stderr,
                 "note: %s: column '%s' has labels the model's fit never saw (%s); they take the unseen embedding\n"
                 "      (the mean of the learned rows), as in neuralforecast\n",
                 path.c_str(), name.c_str(), list.c_str());
  }
}

}  // namespace

Panel LoadPanelFor(const NhitsConfig& c, const std::string& path, const std::string& static_path,
                   bool with_sample_weight) {
  std::vector<std::string> temporal = c.hist_exog_list;
  temporal.insert(temporal.end(), c.futr_exog_list.begin(), c.futr_exog_list.end());
  const bool weighted = with_sample_weight && HeaderHas(path, "sample_weight");
  if (weighted) temporal.push_back("sample_weight");
  Panel panel = Unwrap(ReadLongCsv(path, temporal, &c.categorical));
  if (c.local_scaler_type != LocalScalerType::kNone)
    RefuseMissingPoints(panel, path,
                        "local_scaler_type " + ToString(c.local_scaler_type) +
                            " would fit its statistics over the placeholder values too (as neuralforecast's does); "
                            "use the model's scaler_type, whose window statistics skip missing points");
  NoteUnseenLabels(c, path, temporal);
  if (weighted) TakeSampleWeights(&panel);
  if (!c.stat_exog_list.empty()) {
    if (static_path.empty())
      Fail("the model takes static exogenous columns (stat_exog_list: " + JoinNames(c.stat_exog_list) +
           "): give them with --static-data FILE (unique_id," + JoinNames(c.stat_exog_list) + ")");
    CheckOk(AttachStaticCsv(static_path, c.stat_exog_list, &panel, &c.categorical));
    NoteUnseenLabels(c, static_path, c.stat_exog_list);
  } else if (!static_path.empty()) {
    Fail("--static-data " + static_path + ": the model has no stat_exog_list, so static values would be ignored");
  }
  return panel;
}

Panel WithoutLast(const Panel& panel, int n) {
  Panel out = panel;
  for (Series& s : out.series) {
    const std::size_t keep = static_cast<std::size_t>(std::max(static_cast<int>(s.y.size()) - n, 0));
    s.y.resize(keep);
    s.ds.resize(keep);
    if (!s.sample_weight.empty()) s.sample_weight.resize(keep);
    if (!s.available.empty()) s.available.resize(keep);
  }
  return out;
}

void RefuseMissingPoints(const Panel& panel, const std::string& path, const std::string& why) {
  for (const Series& s : panel.series)
    for (std::size_t t = 0; t < s.available.size(); ++t)
      if (s.available[t] == 0)
        Fail(path + ": series '" + s.unique_id + "' has a missing point (available_mask 0) at ds " +
             FormatTimestamp(s.ds[t], panel.time_kind) + ": " + why);
}

void NoteMissingPoints(const Panel& panel) {
  long missing = 0, points = 0;
  for (const Series& s : panel.series) {
    points += static_cast<long>(s.y.size());
    missing += static_cast<long>(std::count(s.available.begin(), s.available.end(), std::uint8_t{0}));
  }
  if (missing > 0)
    std::fprintf(stderr,
                 "note: available_mask marks %ld of %ld points missing: no loss or scaler statistic sees them, and a\n"
                 "      window needs --training-data-availability-threshold of its points observed (default: one)\n",
                 missing, points);
}

void NoteMissingInputs(const Panel& panel, int input_size) {
  int with_missing = 0;
  std::string blind, stale;  // no observed input; the last inputs missing
  for (const Series& s : panel.series) {
    if (s.available.empty()) continue;
    const std::size_t n = s.available.size(), from = n > static_cast<std::size_t>(input_size) ? n - input_size : 0;
    const auto window = s.available.begin() + static_cast<std::ptrdiff_t>(from);
    const long missing = std::count(window, s.available.end(), std::uint8_t{0});
    if (missing == 0) continue;
    ++with_missing;
    if (missing == static_cast<long>(n - from)) {
      if (blind.empty()) blind = s.unique_id;
    } else if (s.available.back() == 0 && stale.empty()) {
      std::size_t last = n - 1;
      while (s.available[last] == 0) --last;
      stale = "'" + s.unique_id + "' misses its last " + std::to_string(n - 1 - last) + " points (last observed " +
              FormatTimestamp(s.ds[last], panel.time_kind) + ")";
    }
  }
  if (with_missing == 0) return;
  std::fprintf(stderr, "note: %d series forecast from inputs with missing points (available_mask 0; the model masks them)%s%s\n",
               with_missing, stale.empty() ? "" : ("; e.g. " + stale).c_str(),
               blind.empty() ? "" : ("\nwarning: series '" + blind + "' has no observed point among its last " +
                                     std::to_string(input_size) + ": its forecast rests on placeholders alone").c_str());
}

void NoteSampleWeights(const Panel& panel) {
  if (!panel.series.empty() && !panel.series.front().sample_weight.empty())
    std::fprintf(stderr, "note: weighting the training windows by the sample_weight column (as neuralforecast does)\n");
}

void NoteLargeStaticValues(const Panel& panel) {
  for (std::size_t k = 0; k < panel.static_names.size(); ++k) {
    double largest = 0;
    for (const Series& s : panel.series) largest = std::max(largest, std::abs(s.static_values[k]));
    if (largest > 100)
      std::fprintf(stderr,
                   "note: static column '%s' reaches %g and enters the network unscaled (neuralforecast does not scale\n"
                   "      static columns either); standardise it or take its log for stable training: BF16/INT8\n"
                   "      forecasts of such a model can be far off (measured: off by 9 and 40 on a level of 14 with\n"
                   "      static values up to 3e4)\n",
                   panel.static_names[k].c_str(), largest);
  }
}

void AttachFutureFor(const NhitsConfig& c, const std::string& futr_path, const Frequency& freq, Panel* panel,
                     int steps) {
  const int need = std::max(c.h, steps);
  if (c.futr_exog_list.empty()) {
    if (!futr_path.empty())
      Fail("--futr-data " + futr_path + ": the model has no futr_exog_list, so future values would be ignored");
    return;
  }
  if (futr_path.empty())
    Fail("the model takes future-known exogenous columns (futr_exog_list: " + JoinNames(c.futr_exog_list) +
         "): give each series' next " + std::to_string(need) + " values with --futr-data FILE (unique_id,ds," +
         JoinNames(c.futr_exog_list) + ")");
  CheckOk(AttachFutureCsv(futr_path, c.futr_exog_list, freq, need, panel, nullptr, &c.categorical));
  NoteUnseenLabels(c, futr_path, c.futr_exog_list);
}

void NoteGaps(const Panel& panel, const Frequency& freq) {
  std::size_t gapped = 0;
  std::string example;
  for (const Series& s : panel.series)
    for (std::size_t i = 1; i < s.ds.size(); ++i) {
      if (FutureTimestamps(s.ds[i - 1], freq, 1).front() == s.ds[i]) continue;
      if (gapped++ == 0)
        example = "'" + s.unique_id + "' goes from " + FormatTimestamp(s.ds[i - 1], panel.time_kind) + " to " +
                  FormatTimestamp(s.ds[i], panel.time_kind);
      break;
    }
  if (gapped == 0) return;
  std::fprintf(stderr,
               "note: %zu of %zu series skip timestamps at freq %s (first: %s);\n"
               "      their rows are read as consecutive steps, as neuralforecast does%s\n",
               gapped, panel.series.size(), freq.ToString().c_str(), example.c_str(),
               freq.unit == Frequency::Unit::kBusinessDay ? " (at freq B, exchange holidays are such gaps)"
                                                          : ": fill the gaps first if they are missing data");
}

Frequency ResolveFrequency(const Panel& panel, const std::string& freq) {
  Result<Frequency> inferred = InferFrequency(panel);
  if (!freq.empty()) {
    const Frequency given = Unwrap(ParseFrequency(freq, panel.time_kind));
    // Legal (business days in daily-looking data, say), but usually a slip: say what it changes.
    if (inferred.ok() && inferred->ToString() != given.ToString())
      std::fprintf(stderr, "note: --freq %s differs from the %s the timestamps show: forecast timestamps and the season "
                   "length of SeasonalNaive/MASE follow --freq\n", given.ToString().c_str(), inferred->ToString().c_str());
    return given;
  }
  if (!inferred.ok()) Fail(inferred.status().message() + " (pass --freq to set it)");
  return *inferred;
}

void NoteOversubscribedThreads(int threads) {
  const int cores = UsableCores();
  if (threads > cores)
    std::fprintf(stderr, "note: --threads %d is more than the %d core%s this process may use; the threads will wait on each "
                 "other and run slower than --threads 0 (every usable core)\n", threads, cores, cores == 1 ? "" : "s");
}

void CheckOutputPath(const FlagPath& out, const std::vector<FlagPath>& inputs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string& path = out.path;
  if (path.empty()) UsageFail(out.flag + ": the path is empty; name a file to write");
  if (fs::is_directory(path, ec)) Fail(out.flag + " " + path + ": is a directory; name a file to write");
  const auto same = [&](const std::string& other) {
    std::error_code e1, e2;
    if (fs::equivalent(path, other, e1)) return true;  // links included; false if either is missing
    const fs::path a = fs::weakly_canonical(path, e1), b = fs::weakly_canonical(other, e2);
    return !e1 && !e2 && a == b;  // two outputs that do not exist yet
  };
  for (const FlagPath& input : inputs)
    if (!input.path.empty() && same(input.path))
      UsageFail(out.flag + " " + path + " is the same file as " + input.flag + " " + input.path +
                ": writing it would destroy that file; choose another output file");
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) return;
  if (!fs::is_directory(parent, ec)) Fail(out.flag + " " + path + ": output directory '" + parent.string() + "' does not exist");
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string FormatValue(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void WriteTextAtomic(const std::string& path, const std::string& text) { CheckOk(WriteFileAtomic(path, text)); }

std::string StoredTrainingSettings(const std::string& checkpoint_path) {
  const Result<SafetensorsFile> file = ReadSafetensors(checkpoint_path);
  if (!file.ok()) return "";
  if (auto it = file->metadata.find("nhits_config"); it != file->metadata.end()) {
    const nlohmann::ordered_json stored = nlohmann::ordered_json::parse(it->second, nullptr, false);
    nlohmann::ordered_json training = nlohmann::ordered_json::object();
    for (const char* key : {"max_steps", "learning_rate", "num_lr_decays", "batch_size", "windows_batch_size", "step_size",
                            "val_size", "val_check_steps", "val_step_size", "early_stop_patience_steps", "valid_loss",
                            "valid_delta", "valid_q", "restore_best_weights", "start_padding_enabled",
                            "training_data_availability_threshold", "val_monitor", "random_seed"})
      if (stored.is_object() && stored.contains(key)) training[key] = stored[key];
    if (!training.empty()) return training.dump();
  }
  const auto copied = file->metadata.find("training");
  return copied == file->metadata.end() ? "" : copied->second;
}

}  // namespace nhits::cli
