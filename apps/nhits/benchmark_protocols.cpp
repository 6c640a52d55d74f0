// Presets of `nhits benchmark`: each published protocol's fixed settings, and one search trial's.
#include "benchmark_protocols.h"

namespace nhits::cli {

// The paper's model and training loop as its code ran them (cchallu/n-hits, nhits_multivariate.py,
// src/experiments/utils.py, src/models/nhits/nhits.py): an MLP of two 512-unit layers, each
// followed by ReLU (n_layers 2; neuralforecast's default has a linear first layer and three more);
// one series per step (batch_size 1, 256 windows); windows padded at the start; StepLR stepped
// once per *epoch* of n_series steps, so its 333-epoch decay never comes within 1000 steps;
// validation every 50 epochs with patience 10, which never stops a 1000-step run: the last
// weights are scored. Flags given on the command line win.
void ApplyPaperProtocol(const CLI::App& app, ModelFlags& m) {
  const auto unset = [&](const char* flag) { return app.count(flag) == 0; };
  if (unset("--mlp-units")) m.mlp_units = "512,512";
  if (unset("--first-layer-activation")) m.first_layer_activation = true;
  TrainOptions& t = m.train;
  if (unset("--batch-size")) t.batch_size = 1;
  if (unset("--start-padding-enabled")) t.start_padding_enabled = true;
  if (unset("--num-lr-decays")) t.num_lr_decays = 0;
  if (unset("--early-stop-patience-steps")) t.early_stop_patience_steps = -1;
  if (unset("--val-check-steps")) t.val_check_steps = t.max_steps + 1;  // scored once, after training
}

// The fixed part of neuralforecast's ETT reruns (experiments/long_horizon/run_nhits.py): input
// 7h, HuberLoss(delta 0.5), dropout 0.5, 7 series x 256 windows per step, no early stopping; its
// validation loss is read after the last step, so checks during training would change nothing.
// Its refit on train+validation is not done: this protocol never trains on validation data.
void ApplyNeuralforecastEttRerun(const CLI::App& app, ModelFlags& m, int& input_size_multiplier) {
  const auto unset = [&](const char* flag) { return app.count(flag) == 0; };
  if (unset("--input-size-multiplier")) input_size_multiplier = 7;
  if (unset("--loss")) m.loss = "HuberLoss";
  if (unset("--delta")) m.delta = 0.5;
  if (unset("--dropout-prob-theta")) m.dropout_prob_theta = 0.5;
  if (unset("--batch-size")) m.train.batch_size = 7;
  if (unset("--early-stop-patience-steps")) m.train.early_stop_patience_steps = -1;
  if (unset("--val-check-steps")) m.train.val_check_steps = 1 << 30;
}

// neuralforecast's AutoNHITS with its default search space: NHITS's own defaults for what the space
// does not draw. Ray Tune keeps the validation loss last reported (the last weights, no early
// stopping), so validation is scored once, after training.
void ApplyNeuralforecastAuto(const CLI::App& app, ModelFlags& m) {
  const auto unset = [&](const char* flag) { return app.count(flag) == 0; };
  if (unset("--early-stop-patience-steps")) m.train.early_stop_patience_steps = -1;
  if (unset("--val-check-steps")) m.train.val_check_steps = 1 << 30;
}

std::string JoinInts(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

ModelFlags ApplySearchTrial(ModelFlags flags, const SearchTrial& trial, int h) {
  flags.n_pool_kernel_size = JoinInts(trial.n_pool_kernel_size);
  flags.n_freq_downsample = JoinInts(trial.n_freq_downsample);
  flags.train.random_seed = trial.random_seed;
  if (trial.learning_rate > 0) flags.train.learning_rate = trial.learning_rate;
  if (trial.max_steps > 0) flags.train.max_steps = trial.max_steps;
  if (trial.input_size_multiplier > 0) flags.input_size = trial.input_size_multiplier * h;
  if (trial.step_size > 0) flags.train.step_size = trial.step_size;
  if (trial.batch_size > 0) flags.train.batch_size = trial.batch_size;
  if (trial.windows_batch_size > 0) flags.train.windows_batch_size = trial.windows_batch_size;
  if (!trial.scaler_type.empty()) flags.scaler_type = trial.scaler_type;
  return flags;
}

}  // namespace nhits::cli
