// Shared pieces of the `nhits` commands: model/training flags with neuralforecast's argument
// names in kebab case, data loading with clear errors, and atomic CSV output.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "nhits/config.h"
#include "nhits/data.h"
#include "nhits/model.h"
#include "nhits/precision.h"
#include "nhits/status.h"

namespace nhits::cli {

// Raised by commands to stop with a message; main prints "nhits <cmd>: error: <msg>" and exits
// with exit_code.
struct CommandError {
  std::string message;
  int exit_code = 1;
};
// A failed command: exit status 1.
[[noreturn]] void Fail(const std::string& message);
// A command line wrong on its face (a flag's value, or flags that do not go together), whatever
// the files say: exit status 2, as CLI11's own parse errors.
[[noreturn]] void UsageFail(const std::string& message);
// An integer flag's lower bound, as CLI11 checks go ("--threads: must be >= 0, got -2"); CLI11's
// own NonNegativeNumber prints the largest double in full instead.
CLI::Validator AtLeast(int min, const std::string& why = "");
// A word from a fixed set, case-insensitive, normalised to the set's spelling:
// "unknown precision 'fp16' (choose fp32, bf16 or int8)".
CLI::Validator OneOf(const std::vector<std::string>& choices, const std::string& what);
// A number > 0 (a size or a budget), with the same one-line message as AtLeast.
CLI::Validator PositiveNumber();
CLI::Validator NonNegativeNumber();
void CheckOk(const Status& status);
template <typename T>
T Unwrap(Result<T> r) {
  CheckOk(r.status());
  return std::move(r).value();
}

// Flags that describe the model and how to train it.
struct ModelFlags {
  int h = 0, input_size = 0;
  std::string n_blocks = "1,1,1", mlp_units = "512,512;512,512;512,512";
  std::string n_pool_kernel_size = "2,2,1", n_freq_downsample = "4,2,1";
  std::string pooling_mode = "MaxPool1d", interpolation_mode = "linear", activation = "ReLU";
  std::string scaler_type = "identity", loss = "MAE", level = "80,90", distribution = "Normal";
  std::string quantiles;  // MQLoss(quantiles=...): replaces level
  std::string futr_exog_list, hist_exog_list, stat_exog_list;
  std::string cat_exog_list, categorical_cardinalities, cat_emb_dim = "fastai";
  double dropout_prob_theta = 0.0, delta = 1.0, q = 0.5;
  bool first_layer_activation = false, return_params = false, exclude_insample_y = false;
  TrainOptions train;
  bool quiet = false;
  // Flags that only mean something with another setting: refused without it, not ignored.
  const CLI::Option *distribution_flag = nullptr, *return_params_flag = nullptr, *valid_delta_flag = nullptr,
                    *valid_q_flag = nullptr, *level_flag = nullptr, *quantiles_flag = nullptr,
                    *input_size_flag = nullptr,  // given: 0 is an error, not the default 3*h
                    *q_flag = nullptr, *delta_flag = nullptr, *val_size_flag = nullptr, *val_monitor_flag = nullptr;
  std::vector<const CLI::Option*> val_flags;  // meaningful only with validation (--val-size)
  // train and cv: the validation flags without --val-size are refused, not ignored (the benchmark
  // sets its validation split itself).
  void RequireValSizeForValidationFlags() const;

  // `with_window_stride`: the training windows' stride is --step-size, else --train-step-size (cv
  // uses --step-size for its cutoffs, as neuralforecast's cross_validation does);
  // `with_horizon`: whether --h is a flag (the benchmark sets it per horizon).
  // `with_exog`: whether the --*-exog-list flags apply (the benchmark's univariate channels have none).
  void Register(CLI::App& app, bool with_window_stride, bool with_horizon = true, bool with_exog = true);
  // Builds and validates the configuration (lists must be comma separated integers). With
  // --cat-exog-list, each categorical column's vocabulary is read from `data` (a stat_exog_list
  // column from `static_data`), as NeuralForecast.fit builds it.
  NhitsConfig Config(const std::string& data = {}, const std::string& static_data = {}) const;
};

Panel LoadPanel(const std::string& path);
// A DistributionLoss model's copy (same weights) whose forecasts end with its parameters
// (return_params), for commands that need them: other quantiles, likelihoods.
Model WithReturnedParams(const Model& model);
// The data with the config's hist and futr exogenous columns, and with `static_path` (unique_id
// plus the stat_exog_list columns) attached; fails naming what is missing and the flag to give.
// with_sample_weight (training): a sample_weight column in the file goes to Series::sample_weight.
Panel LoadPanelFor(const NhitsConfig& config, const std::string& path, const std::string& static_path,
                   bool with_sample_weight = false);
// Says on stderr that a sample_weight column weighs the training windows.
void NoteSampleWeights(const Panel& panel);
// The data as neuralforecast's cross_validation hands it to a refit (and a batch --holdout keeps
// back): each series without its last `n` points; its exogenous columns keep their values, which
// only index the points before (and hold a futr column's known future).
Panel WithoutLast(const Panel& panel, int n);
// Says on stderr how many points an available_mask marks missing, and what that means.
void NoteMissingPoints(const Panel& panel);
// Says on stderr which series forecast from a window (their last `input_size` points) with missing
// points, most of all a window without any observed point or ending in missing ones (whose
// placeholders repeat an older value).
void NoteMissingInputs(const Panel& panel, int input_size);
// Fails when an available_mask column of `path` marks a point missing, naming the first one and
// `why` the command needs every point observed.
void RefuseMissingPoints(const Panel& panel, const std::string& path, const std::string& why);
// More threads than usable cores make them wait on each other (a step can take many times longer):
// says so on stderr, with the count that would run at full speed.
void NoteOversubscribedThreads(int threads);
// Static exogenous values go into the network unscaled (as in neuralforecast); a column far from
// unit scale (|value| > 100) makes training ill-conditioned and BF16/INT8 forecasts poor, so say so.
void NoteLargeStaticValues(const Panel& panel);
// Forecasting past the data's end: the futr_exog_list values of each series' next h steps (or
// `steps`, when more) from `futr_path` (--futr-data); fails when the model needs them and none
// are given, or the reverse.
void AttachFutureFor(const NhitsConfig& config, const std::string& futr_path, const Frequency& freq, Panel* panel,
                     int steps = 0);
// `freq` as given (--freq), or inferred from the data when empty; fails naming --freq.
Frequency ResolveFrequency(const Panel& panel, const std::string& freq);
// A note on stderr when series skip timestamps at `freq` (a missing bar, a holiday at freq B):
// the model reads each series' rows as consecutive steps, as neuralforecast does, so a gap inside
// a window shifts everything before it.
void NoteGaps(const Panel& panel, const Frequency& freq);
// Fails early when the output's directory is missing, before any long work.
// Also refuses a path that is an existing directory, or the same file as one of `inputs` (a
// command's --data, --model, ... or its other outputs: writing the forecast over its own history
// loses the data). Paths that do not exist yet compare by their canonical form.
// A path with the flag that gave it, for messages that say which flag to change.
struct FlagPath {
  std::string flag, path;
};
void CheckOutputPath(const FlagPath& out, const std::vector<FlagPath>& inputs = {});
std::vector<int> ParseIntList(const std::string& text, const std::string& field);
// Comma-separated entries, trimmed; empty entries fail naming --field.
std::vector<std::string> SplitList(const std::string& text, const std::string& field);
// "fp32,bf16,int8" -> precisions; an unknown name fails naming --field and the choices.
std::vector<Precision> ParsePrecisionList(const std::string& text, const std::string& field);
std::string FormatValue(double v);
std::string JoinNames(const std::vector<std::string>& names);  // "a,b,c"
// A CSV field as pandas' to_csv writes it: quoted (quotes doubled) when it holds a comma, a quote
// or a line break, so an id like "Acme, Inc." reads back as one field.
std::string CsvField(const std::string& text);
void WriteTextAtomic(const std::string& path, const std::string& text);
// The training settings a checkpoint recorded (neuralforecast's names) as a JSON object, "" if none:
// from its configuration, or, for a quantised checkpoint, the copy of its source's ("training").
std::string StoredTrainingSettings(const std::string& checkpoint_path);

}  // namespace nhits::cli
