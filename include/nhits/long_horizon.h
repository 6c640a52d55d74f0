// The standard long-horizon benchmark protocol of the NHITS / Informer / Autoformer papers:
// every channel of a wide dataset is a univariate series, standardised with the training split's
// mean and std; train on the training split, early-stop on the validation split, and score every
// test window (stride 1 by default) by MSE and MAE on the standardised values.
// Thread safety: reentrant; Train/Evaluate use the BLAS threads set in TrainOptions.
#pragma once

#include <string>
#include <vector>

#include "nhits/data.h"
#include "nhits/model.h"
#include "nhits/train.h"

namespace nhits {

// Rows (per channel, in time order) of each split.
struct Split {
  int train = 0, val = 0, test = 0;
};

struct LongHorizonDataset {
  std::string name;                  // "ETTh1", "ETTm2", "Exchange", "ILI", "Weather", ...
  std::string file;                  // wide CSV (optionally .gz) relative to the data directory
  Split split;                       // empty: 70% train / 20% test / rest val (Autoformer)
  int season_length = 1;             // for SeasonalNaive
  std::vector<int> horizons;         // the four standard horizons
  std::vector<double> paper_mse;     // NHITS paper figure per horizon (empty: none)
  std::vector<double> paper_mae;
};

// ETTh1, ETTh2, ETTm2, Exchange, ILI, Weather with their splits and the paper's figures.
const std::vector<LongHorizonDataset>& LongHorizonDatasets();
Result<LongHorizonDataset> FindLongHorizonDataset(const std::string& name);

// A wide table: first column a timestamp (ignored), every other column a channel.
struct WideTable {
  std::vector<std::string> channels;
  std::vector<std::vector<double>> values;  // [channel][row]
};
// Reads a wide CSV, gzip-compressed when the name ends in .gz. Errors name file, line, column.
Result<WideTable> ReadWideCsv(const std::string& path);

// The standardised panel (one series per channel, integer ds) and the resolved split.
struct PreparedData {
  Panel panel;
  Split split;
};
Result<PreparedData> PrepareLongHorizon(const WideTable& table, const LongHorizonDataset& dataset);

struct LongHorizonScores {
  double mse = 0, mae = 0;                 // NHITS
  double naive_mse = 0, naive_mae = 0;     // Naive (last value)
  double snaive_mse = 0, snaive_mae = 0;   // SeasonalNaive(season_length)
  long windows = 0;
  std::vector<double> series_mse;          // NHITS per series (channel), in panel order
  std::vector<double> series_naive_mse;    // Naive per series
};

// Scores every window with stride `stride` whose targets lie in rows [first, end) of every series,
// inputs from the points before each window (which may reach back into earlier splits).
LongHorizonScores EvaluateWindows(const Model& model, const PreparedData& data, int first, int end,
                                  int season_length, int stride);
// Naive and SeasonalNaive alone (mse/mae and series_mse stay 0) on the windows EvaluateWindows
// would score for horizon h: what a baseline scores without a model to run.
LongHorizonScores EvaluateBaselineWindows(const PreparedData& data, int first, int end, int h, int season_length,
                                          int stride);
// The test split's windows.
LongHorizonScores EvaluateTestWindows(const Model& model, const PreparedData& data, int season_length, int stride);
// The validation split's windows: what hyperparameter selection may look at.
LongHorizonScores EvaluateValidationWindows(const Model& model, const PreparedData& data, int season_length,
                                            int stride);
// The baselines on the validation windows: whether validation itself prefers them to a model.
LongHorizonScores EvaluateValidationBaselines(const PreparedData& data, int h, int season_length, int stride);

// One configuration of a hyperparameter search; everything else is fixed by the protocol.
struct SearchTrial {
  std::vector<int> n_pool_kernel_size, n_freq_downsample;
  int random_seed = 1;
  double learning_rate = 0;  // 0: the protocol's
  int max_steps = 0;         // 0: the protocol's
  // Drawn only by spaces that search them; 0 or empty: the protocol's.
  int input_size_multiplier = 0;  // input_size = multiplier * h
  int step_size = 0;              // stride between training windows
  int batch_size = 0;             // series per step
  int windows_batch_size = 0;
  std::string scaler_type;
};
// `n` distinct trials drawn uniformly from the paper's space (6 pooling kernels x 5 downsampling
// ratios x seeds 1-10) by a generator seeded with `seed`. The paper ran hyperopt's TPE for 10
// evaluations, which are all random draws: TPE only starts modelling after 20.
std::vector<SearchTrial> DrawPaperSearchTrials(int n, unsigned seed);

// `n` trials from the space of neuralforecast's own ETT reruns (Nixtla/neuralforecast,
// experiments/long_horizon/run_nhits.py, the "published rerun" figures): learning rate
// log-uniform in [1e-5, 5e-3], 200 or 1000 steps, pooling [2,2,2] or [16,8,1], downsampling
// [336,48,1], [84,12,1] or [1,1,1], seed 1-9. Fixed there, and set by the caller: input 7h,
// HuberLoss(0.5), dropout 0.5, 256 windows, validation every 100 steps, no early stopping.
std::vector<SearchTrial> DrawNeuralforecastEttSearchTrials(int n, unsigned seed);

// `n` trials from neuralforecast's AutoNHITS.default_config (neuralforecast/auto.py, what
// `AutoNHITS(h)` searches when given no config, 10 samples by default): input h x {1..5},
// step_size {1, h}, pooling {[2,2,1], [1,1,1], [2,2,2], [4,4,4], [8,4,1], [16,8,1]}, downsampling
// {[168,24,1], [24,12,1], [180,60,1], [60,8,1], [40,20,1], [1,1,1]}, learning rate log-uniform in
// [1e-4, 1e-1], scaler {identity, robust, standard}, 500-1500 steps by 100, batch_size
// {32, 64, 128, 256}, windows_batch_size {128, 256, 512, 1024}, seed 1-19. The rest is NHITS's
// defaults (MAE, neuralforecast's MLP, three LR halvings, no early stopping).
std::vector<SearchTrial> DrawNeuralforecastAutoSearchTrials(int n, unsigned seed, int h);

}  // namespace nhits
