#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "backend/cpu/gemm.h"
#include "nhits/forecast.h"
#include "nhits/loss.h"
#include "nhits/scaler.h"
#include "nhits/train.h"
#include "train/adam.h"
#include "train/progress.h"
#include "train/windows.h"

namespace nhits {
namespace {

// The exogenous values of windows, each cut at its series' limit like y (into `ex`, whose
// buffers are reused from step to step).
void GatherExog(const Panel& panel, const ExogColumns& cols, const std::vector<WindowRef>& refs,
                const std::vector<int>& limit, int L, int H, ExogWindows* ex) {
  ex->hist.clear();
  ex->futr.clear();
  ex->stat.clear();
  for (const WindowRef& r : refs)
    AppendExogWindow(panel.series[static_cast<std::size_t>(r.series)], cols, r.start + L, L, H,
                     limit[static_cast<std::size_t>(r.series)], ex);
}

// DistributionLoss scores the raw parameters against y' = (y - shift) / scale of each window
// (whatever the scaler's own transform), log(scale) added back per point (loss.h).
void ToDistributionSpace(const ScaleStats& st, float* y, int h, double* log_scale) {
  for (int t = 0; t < h; ++t) y[t] = static_cast<float>((y[t] - st.shift) / st.scale);
  *log_scale = std::log(st.scale);
}

// Mean loss, in the original scale, of the model's forecasts over the validation windows, by
// `v` (TrainOptions::ValidationConfig).
double ValidationLoss(const Model& model, const NhitsConfig& v, const Panel& panel, const ExogColumns& cols,
                      const std::vector<WindowRef>& refs, const std::vector<int>& limit) {
  const NhitsConfig& c = model.config();
  WindowBatch batch;
  GatherWindows(panel, refs, limit, c.input_size, c.h, &batch);
  const std::size_t n = refs.size();
  ExogWindows ex;
  GatherExog(panel, cols, refs, limit, c.input_size, c.h, &ex);
  if (v.distribution_loss()) {
    std::vector<float> raw(n * static_cast<std::size_t>(c.h) * c.network_outputs_per_step());
    std::vector<ScaleStats> stats(n);
    std::vector<double> log_scale(n);
    model.ForwardRaw(static_cast<int>(n), batch.insample.data(), batch.insample_mask.data(), ex.batch(), raw.data(),
                     stats.data());
    for (std::size_t b = 0; b < n; ++b)
      ToDistributionSpace(stats[b], batch.outsample.data() + b * c.h, c.h, &log_scale[b]);
    return ComputeLoss<float>(c, static_cast<int>(n), raw.data(), batch.outsample.data(), batch.outsample_mask.data(),
                              nullptr, log_scale.data());
  }
  const std::size_t C = static_cast<std::size_t>(c.outputs_per_step());
  std::vector<float> yhat(n * static_cast<std::size_t>(c.h) * C);
  model.PredictWindows(static_cast<int>(n), batch.insample.data(), batch.insample_mask.data(), ex.batch(), yhat.data());
  if (c.distribution_loss()) {  // a point valid loss scores the mean (column 0), MQLoss the quantile columns
    const std::size_t Q = static_cast<std::size_t>(v.network_outputs_per_step()), first = v.multi_quantile() ? 1 : 0;
    for (std::size_t i = 0; i < n * c.h; ++i)
      for (std::size_t q = 0; q < Q; ++q) yhat[i * Q + q] = yhat[i * C + first + q];
  }
  return ComputeLoss<float>(v, static_cast<int>(n), yhat.data(), batch.outsample.data(),
                            batch.outsample_mask.data(), nullptr);
}

// When the lengths allow windows but observed points do not: the threshold or the missing
// points are the cause, and the message leads with them.
Status NoObservedWindow(const NhitsConfig& c, const TrainOptions& o, long positional) {
  const bool threshold = o.min_insample_fraction > 0 || o.min_outsample_fraction > 0;
  const int need_in = std::max(1, static_cast<int>(static_cast<double>(c.input_size) * o.min_insample_fraction));
  const int need_out = std::max(1, static_cast<int>(static_cast<double>(c.h) * o.min_outsample_fraction));
  return Status::InvalidArgument(
      "no training window holds enough observed points: each needs " + std::to_string(need_in) + " observed inputs and " +
      std::to_string(need_out) + " observed targets (training_data_availability_threshold " +
      PythonFloatRepr(o.min_insample_fraction) + ", " + PythonFloatRepr(o.min_outsample_fraction) +
      "; padding and available_mask 0 are not observed), and none of the " + std::to_string(positional) +
      " windows the series' lengths allow does" +
      (threshold ? ": lower --training-data-availability-threshold" : ": the available_mask leaves too few points observed"));
}

}  // namespace

Result<TrainReport> Train(Model& model, const Panel& panel, const TrainOptions& o, int test_size) {
  const NhitsConfig& c = model.config();
  NHITS_RETURN_IF_ERROR(o.Validate(c));
  for (const Series& s : panel.series)
    if (!s.sample_weight.empty() && s.sample_weight.size() != s.y.size())
      return Status::InvalidArgument("series '" + s.unique_id + "': " + std::to_string(s.sample_weight.size()) +
                                     " sample weights for " + std::to_string(s.y.size()) + " points");
  const int L = c.input_size, H = c.h, Q = c.network_outputs_per_step();
  const auto t0 = std::chrono::steady_clock::now();
  cpu::SetBlasThreads(o.num_threads);

  std::vector<int> usable_train, usable_val;
  for (const Series& s : panel.series) {
    const int T = static_cast<int>(s.y.size()) - test_size;
    usable_val.push_back(std::max(T, 0));
    usable_train.push_back(std::max(T - o.val_size, 0));
  }
  auto per_series = TrainingWindows(c, o, usable_train, &panel);
  TrainReport report;
  std::vector<int> trainable;  // series with at least one window
  for (std::size_t s = 0; s < per_series.size(); ++s) {
    report.windows_available += static_cast<long>(per_series[s].size());
    if (!per_series[s].empty()) trainable.push_back(static_cast<int>(s));
  }
  if (trainable.empty()) {
    TrainOptions plain = o;  // the lengths alone
    plain.min_insample_fraction = plain.min_outsample_fraction = 0;
    long positional = 0;
    for (const auto& w : TrainingWindows(c, plain, usable_train)) positional += static_cast<long>(w.size());
    if (positional > 0) return NoObservedWindow(c, o, positional);
    std::size_t shortest = 0;
    for (std::size_t s = 1; s < panel.series.size(); ++s)
      if (panel.series[s].y.size() < panel.series[shortest].y.size()) shortest = s;
    const std::string id = panel.series.empty() ? "" : panel.series[shortest].unique_id;
    return Status::InvalidArgument(
        "no series has a usable training window: a window needs input_size + 1 = " + std::to_string(L + 1) +
        " points (input_size " + std::to_string(L) + " inputs and at least one of its h=" + std::to_string(H) +
        " targets, as in neuralforecast) after holding out val_size " +
        std::to_string(o.val_size) + (test_size ? " + test_size " + std::to_string(test_size) : std::string()) +
        "; the longest series keeps " +
        std::to_string(*std::max_element(usable_train.begin(), usable_train.end())) + " points for training (shortest: '" +
        id + "'). Use a smaller input_size or h" + (o.val_size > 0 ? ", a smaller val_size" : "") +
        (test_size ? ", a smaller test_size (cross-validation: fewer windows or a smaller step size)" : "") +
        ", or start_padding_enabled");
  }
  const std::vector<WindowRef> val_refs = ValidationWindows(c, o, usable_val);
  const NhitsConfig valid_config = o.ValidationConfig(c);
  ExogColumns exog_cols;
  if (c.has_exog()) {
    auto found = FindExogColumns(c, panel);
    if (!found.ok()) return found.status();
    exog_cols = *found;
  }
  const int X = static_cast<int>(exog_cols.hist.size()), F = static_cast<int>(exog_cols.futr.size());
  ExogWindows exog;  // raw, then scaled in place
  std::vector<float> exog_scratch(2 * static_cast<std::size_t>(L));

  Network<float>& net = model.mutable_network();
  CategoricalEmbeddings& tables = model.mutable_embeddings();
  const bool revin = c.scaler_type == ScalerType::kRevin;
  if (!o.warm_start) {
    net.InitParams(static_cast<std::uint64_t>(o.random_seed));
    tables.InitWeights(static_cast<std::uint64_t>(o.random_seed));
    if (revin) model.SetRevinY(0.0f, 1.0f);  // neuralforecast's zeros / ones
  }
  // A point loss lives in the scaled space, where y's revin pair gets no gradient (it stays as it
  // is, as in neuralforecast); a distribution's likelihood of the original y moves with it, so
  // Adam steps it beside the network.
  const bool learn_revin = revin && c.distribution_loss();
  std::vector<float> revin_pair = {c.revin_bias.empty() ? 0.0f : c.revin_bias[0],
                                   c.revin_weight.empty() ? 1.0f : c.revin_weight[0]},
                     revin_grad(2), best_revin;
  Adam revin_adam(2);
  // Categorical columns: the network sees their embeddings, and the gradient of its exogenous
  // inputs flows back into the tables, which Adam steps like any other parameter.
  std::vector<float> table_weights = tables.FlatWeights(), table_grad(table_weights.size()), best_tables;
  Adam table_adam(table_weights.size());
  Model::EmbeddedExog embedded, d_embedded;
  std::mt19937_64 rng(static_cast<std::uint64_t>(o.random_seed) * 0x9E3779B97F4A7C15ULL + 1);
  Adam adam(net.params().size());
  std::vector<float> grad(net.params().size());
  Workspace<float> ws;
  WindowBatch batch;
  std::vector<WindowRef> candidates, chosen;
  std::vector<float> yhat, d_yhat, best_params;
  std::vector<double> log_scale;  // DistributionLoss: per window
  std::vector<int> order(trainable);
  std::size_t cursor = order.size();  // forces a shuffle on the first step

  // The training loss is on scaled windows only when something scales them; validation reports
  // its own loss (valid_loss) in the data's units.
  const bool scaled = c.scaler_type != ScalerType::kIdentity || c.local_scaler_type != LocalScalerType::kNone;
  ProgressBar bar(o.max_steps, o.verbose, ToString(c.loss) + (scaled ? " (scaled)" : ""),
                  "val " + ToString(valid_config.loss));
  double loss_sum = 0;
  int loss_count = 0, bad_checks = 0;
  double last_val = std::numeric_limits<double>::quiet_NaN();  // no validation yet
  double best_monitored = std::numeric_limits<double>::quiet_NaN();
  // neuralforecast: val_check_interval = min(val_check_steps, max_steps), so a short run still
  // validates (once, at its end) instead of never.
  const int val_every = std::max(1, std::min(o.val_check_steps, o.max_steps));
  for (int step = 0; step < o.max_steps; ++step) {
    // A step sees batch_size series (an epoch walks a shuffled order), then samples windows.
    candidates.clear();
    for (int k = 0; k < o.batch_size && k < static_cast<int>(order.size()); ++k) {
      if (cursor >= order.size()) {
        std::shuffle(order.begin(), order.end(), rng);
        cursor = 0;
      }
      const auto& w = per_series[static_cast<std::size_t>(order[cursor++])];
      candidates.insert(candidates.end(), w.begin(), w.end());
    }
    const std::size_t want = static_cast<std::size_t>(o.windows_batch_size);
    chosen.clear();
    if (candidates.size() >= want) {  // without replacement (randperm)
      for (std::size_t i = 0; i < want; ++i) {
        std::uniform_int_distribution<std::size_t> pick(i, candidates.size() - 1);
        std::swap(candidates[i], candidates[pick(rng)]);
      }
      chosen.assign(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(want));
    } else {  // with replacement (randint)
      std::uniform_int_distribution<std::size_t> pick(0, candidates.size() - 1);
      for (std::size_t i = 0; i < want; ++i) chosen.push_back(candidates[pick(rng)]);
    }
    GatherWindows(panel, chosen, usable_train, L, H, &batch);
    const int B = static_cast<int>(chosen.size());
    // Scale each window by its insample statistics; the loss lives in scaled space.
    log_scale.resize(static_cast<std::size_t>(B));
    for (int b = 0; b < B; ++b) {
      float* x = batch.insample.data() + static_cast<std::size_t>(b) * L;
      float* y = batch.outsample.data() + static_cast<std::size_t>(b) * H;
      const ScaleStats st =
          ComputeScaleStats(c.scaler_type, x, batch.insample_mask.data() + static_cast<std::size_t>(b) * L, L);
      for (int t = 0; t < L; ++t) x[t] = c.exclude_insample_y ? 0.0f : static_cast<float>(ScaleValue(c.scaler_type, st, x[t]));
      if (c.distribution_loss())  // loc and scale with y's revin pair, the transform above without
        ToDistributionSpace(RevinAdjusted(c, st), y, H, &log_scale[static_cast<std::size_t>(b)]);
      else
        for (int t = 0; t < H; ++t) y[t] = static_cast<float>(ScaleValue(c.scaler_type, st, y[t]));
    }
    if (c.has_exog()) {
      GatherExog(panel, exog_cols, chosen, usable_train, L, H, &exog);
      for (int b = 0; b < B; ++b) {
        const std::size_t hx = static_cast<std::size_t>(b) * L * X, fx = static_cast<std::size_t>(b) * (L + H) * F;
        ScaleExogWindow(c, batch.insample_mask.data() + static_cast<std::size_t>(b) * L, exog.hist.data() + hx,
                        exog.futr.data() + fx, exog.hist.data() + hx, exog.futr.data() + fx, exog_scratch.data());
      }
    }
    yhat.resize(static_cast<std::size_t>(B) * H * Q);
    d_yhat.resize(yhat.size());
    const ExogBatch<float> net_exog = model.NetworkExog(B, exog.batch(), &embedded);
    net.Forward(B, batch.insample.data(), batch.insample_mask.data(), net_exog, yhat.data(), ws,
                /*training=*/true, &rng);
    const double loss = ComputeLoss<float>(c, B, yhat.data(), batch.outsample.data(), batch.outsample_mask.data(),
                                           d_yhat.data(), c.distribution_loss() ? log_scale.data() : nullptr);
    if (!std::isfinite(loss))
      return Status::InvalidArgument("training loss is " + std::to_string(loss) + " at step " + std::to_string(step) +
                                     "; lower learning_rate or use a scaler (scaler_type)");
    std::fill(grad.begin(), grad.end(), 0.0f);
    const double lr = LearningRateAt(o.learning_rate, step, o.max_steps, o.num_lr_decays);
    if (tables.empty()) {
      net.Backward(d_yhat.data(), ws, grad.data());
    } else {
      for (auto [d, e] : {std::pair{&d_embedded.hist, &embedded.hist}, std::pair{&d_embedded.futr, &embedded.futr},
                          std::pair{&d_embedded.stat, &embedded.stat}})
        d->assign(e->size(), 0.0f);
      const ExogGrad<float> d_exog{d_embedded.hist.data(), d_embedded.futr.data(), d_embedded.stat.data()};
      net.Backward(d_yhat.data(), ws, grad.data(), &d_exog);
      std::fill(table_grad.begin(), table_grad.end(), 0.0f);
      tables.AccumulateGradient(B, exog.batch(), {d_embedded.hist.data(), d_embedded.futr.data(), d_embedded.stat.data()},
                                table_grad.data());
      table_adam.Step(table_weights, table_grad, lr);
      tables.SetFlatWeights(table_weights);
    }
    adam.Step(net.params(), grad, lr);
    if (learn_revin) {
      const RevinGradient g = DistributionRevinGradient<float>(c, B, d_yhat.data(), batch.outsample.data(),
                                                               batch.outsample_mask.data(), log_scale.data());
      revin_grad = {static_cast<float>(g.bias), static_cast<float>(g.weight)};
      revin_adam.Step(revin_pair, revin_grad, lr);
      model.SetRevinY(revin_pair[0], revin_pair[1]);
    }
    loss_sum += loss;
    ++loss_count;
    report.steps = step + 1;

    if (!val_refs.empty() && (step + 1) % val_every == 0) {
      last_val = ValidationLoss(model, valid_config, panel, exog_cols, val_refs, usable_val);
      // neuralforecast 3.3 reports a diverged validation as +inf (a search ranks it last), and
      // Lightning's EarlyStopping(check_finite=True) then stops; it is never the best.
      const bool diverged = !std::isfinite(last_val);
      if (diverged) {
        last_val = std::numeric_limits<double>::infinity();
        if (report.diverged_at_step == 0) report.diverged_at_step = step + 1;
      }
      report.val_history.emplace_back(step + 1, last_val);
      if (!diverged && (std::isnan(report.best_val_loss) || last_val < report.best_val_loss)) report.best_val_loss = last_val;
      // What EarlyStopping watches: Lightning's callback metric "train_loss" is the last step's.
      const double monitored = o.monitor_train_loss ? loss : last_val;
      report.monitored_history.emplace_back(step + 1, monitored);
      // Lightning's EarlyStopping(mode="min", min_delta=0): strictly better resets patience.
      if (diverged && !o.monitor_train_loss) {
        if (o.early_stop_patience_steps > 0) report.early_stopped = true;
      } else if (std::isnan(best_monitored) || monitored < best_monitored) {
        best_monitored = monitored;
        bad_checks = 0;
        if (o.restore_best_weights) best_params = net.params(), best_tables = table_weights, best_revin = revin_pair;
      } else if (o.early_stop_patience_steps > 0 && ++bad_checks >= o.early_stop_patience_steps) {
        report.early_stopped = true;
      }
    }
    if ((step + 1) % val_every == 0 || step + 1 == o.max_steps || report.early_stopped) {
      report.train_loss = loss_sum / loss_count;
      loss_sum = 0;
      loss_count = 0;
    }
    bar.Update(step + 1, loss, last_val);
    if (report.early_stopped) break;
  }
  if (o.restore_best_weights && !best_params.empty()) {
    net.params() = best_params;
    tables.SetFlatWeights(best_tables);
    if (learn_revin) model.SetRevinY(best_revin[0], best_revin[1]);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bar.Finish(report.early_stopped ? "early stopped at step " + std::to_string(report.steps)
                                  : "trained " + std::to_string(report.steps) + " steps");
  return report;
}

}  // namespace nhits
