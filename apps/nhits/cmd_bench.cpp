// `nhits bench`: inference latency and throughput sweeps over batch sizes and threads, with the
// machine's roofline measured in the same run (GEMM peak for compute, L3/DRAM read bandwidth
// for streaming the weights) so every row says how far it is from the limit.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "backend/cpu/gemm.h"
#include "backend/cpu/onednn_matmul.h"
#include "cli_common.h"
#include "commands.h"
#include "nhits/hw.h"
#include "nhits/inference.h"
#include "nhits/model.h"
#include "nhits/precision.h"

namespace nhits::cli {
namespace {

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(p * v.size())) - 1);
  return v[i];
}

// The machine's FP32 GEMM rate: best of N runs of a 1024^3 product, through both GEMMs the engine
// has (dnnl_sgemm, and the oneDNN matmul with pre-packed weights, the faster one), so "% of peak"
// is measured against the best this library reaches here, not against a weaker baseline.
double MeasureGemmGflops() {
  const int m = 1024, n = 1024, k = 1024;
  std::vector<float> a(static_cast<std::size_t>(m) * k, 0.5f), b(static_cast<std::size_t>(n) * k, 0.25f),
      c(static_cast<std::size_t>(m) * n), bias(n, 0.0f);
  const cpu::OnednnMatmul packed(n, k, b.data(), bias.data(), cpu::Epilogue::kNone);
  std::vector<std::byte> scratchpad(packed.scratchpad_bytes() + 64);
  void* aligned = scratchpad.data() + (64 - reinterpret_cast<std::uintptr_t>(scratchpad.data()) % 64) % 64;
  double best = 0;
  for (int rep = 0; rep < 16; ++rep) {
    const auto t0 = Clock::now();
    if (rep % 2 == 0) {
      cpu::GemmNT<float>(m, n, k, a.data(), b.data(), c.data(), false);
    } else {
      packed.Run(m, a.data(), c.data(), aligned);
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, 2.0 * m * n * k / s / 1e9);
  }
  return best;
}

// Read bandwidth over a buffer the size of the weights (what a batch-1 forecast must stream),
// each thread summing its own slice with 64 independent lanes so the loads, not the adds, bound it.
double MeasureReadGBps(std::size_t bytes, int threads) {
  if (threads <= 0) threads = UsableCores();
  std::vector<float> buf(std::max<std::size_t>(bytes / sizeof(float), 64), 1.0f);
  while (threads > 1 && buf.size() / threads < 64) --threads;  // every thread reads whole 64-float rows
  const std::size_t per = buf.size() / threads / 64 * 64;
  std::vector<float> sums(static_cast<std::size_t>(threads) * 64);
  auto slice = [&](int t) {
    float lanes[64] = {};
    const float* p = buf.data() + static_cast<std::size_t>(t) * per;
    for (std::size_t i = 0; i < per; i += 64)
      for (int j = 0; j < 64; ++j) lanes[j] += p[i + j];
    for (int j = 0; j < 64; ++j) sums[static_cast<std::size_t>(t) * 64 + j] = lanes[j];
  };
  // The threads start once and spin on a shared pass counter, as the engine's pool does between
  // layers (creating threads per pass timed their start-up; a sleeping barrier timed the wake-up).
  // A pass runs from the first thread's start to the last one's end.
  constexpr int kReps = 20;
  std::vector<Clock::time_point> begin(static_cast<std::size_t>(threads) * kReps), end(begin.size());
  std::atomic<int> pass{-1}, done{0};
  auto run = [&](int t) {
    for (int rep = 0; rep < kReps; ++rep) {
      if (t == 0) {
        while (done.load(std::memory_order_acquire) != rep * threads) {
        }
        pass.store(rep, std::memory_order_release);
      } else {
        while (pass.load(std::memory_order_acquire) != rep) {
        }
      }
      const std::size_t i = static_cast<std::size_t>(rep) * threads + t;
      begin[i] = Clock::now();
      slice(t);
      end[i] = Clock::now();
      done.fetch_add(1, std::memory_order_acq_rel);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(run, t);
  run(0);
  for (auto& th : pool) th.join();
  double best = 0;
  for (int rep = 0; rep < kReps; ++rep) {
    const auto at = static_cast<std::ptrdiff_t>(rep) * threads;
    const double s = std::chrono::duration<double>(*std::max_element(end.begin() + at, end.begin() + at + threads) -
                                                   *std::min_element(begin.begin() + at, begin.begin() + at + threads))
                         .count();
    best = std::max(best, static_cast<double>(per * threads * sizeof(float)) / s / 1e9);
  }
  return best;
}

}  // namespace

Action RegisterBench(CLI::App& app) {
  struct Args {
    std::string model, batch_sizes = "1,8,32,128,1024,8192", threads = "0", precision = "fp32", json, exog, distribution;
    int h = 24, input_size = 168, min_reps = 20;
    double seconds = 0.5;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model", a->model, "Checkpoint (default: random weights, neuralforecast's default NHITS)");
  auto* h_flag = app.add_option("--h", a->h, "Horizon of the random-weight model")->check(AtLeast(1))->capture_default_str();
  auto* l_flag =
      app.add_option("--input-size", a->input_size, "Input size of the random-weight model")->check(AtLeast(1))->capture_default_str();
  app.add_option("--exog", a->exog,
                 "Random-weight model with exogenous inputs: HIST,FUTR,STAT column counts (e.g. 4,2,8), fed random values");
  app.add_option("--distribution", a->distribution,
                 "Random-weight model with DistributionLoss(Normal|StudentT, level=[80,90]): times the decoding of "
                 "its parameters into the mean and quantiles too");
  app.add_option("--batch-sizes", a->batch_sizes, "Comma-separated batch sizes")->capture_default_str();
  app.add_option("--threads", a->threads, "Comma-separated thread counts (0: all cores)")->capture_default_str();
  app.add_option("--precision", a->precision,
                 "Comma-separated precisions: fp32, bf16 (BF16 weights), int8 (INT8 weights and activations); "
                 "a quantised checkpoint's own plan is used for its precision")
      ->capture_default_str();
  app.add_option("--seconds", a->seconds, "Timed seconds per row (after warm-up)")->check(PositiveNumber())->capture_default_str();
  app.add_option("--min-reps", a->min_reps, "Minimum timed repetitions per row")->check(AtLeast(1))->capture_default_str();
  app.add_option("--json", a->json, "Also write the rows as JSON");
  return [a, h_flag, l_flag] {
    if (!a->json.empty()) CheckOutputPath({"--json", a->json}, {{"--model", a->model}});
    if (!a->model.empty() && (h_flag->count() > 0 || l_flag->count() > 0))
      UsageFail(std::string(h_flag->count() > 0 ? "--h" : "--input-size") +
                " shapes the random-weight model; a checkpoint (--model) has its own");
    if (!a->distribution.empty() && !ParseDistributionType(a->distribution, "--distribution").ok())
      UsageFail(ParseDistributionType(a->distribution, "--distribution").status().message());
    std::unique_ptr<Model> model;
    PrecisionPlan file_plan;
    if (!a->model.empty()) {
      if (!a->exog.empty() || !a->distribution.empty())
        UsageFail("--exog and --distribution shape the random-weight model; a checkpoint (--model) has its own");
      CheckpointInfo info;
      model = std::make_unique<Model>(Unwrap(LoadCheckpoint(a->model, &info)));
      file_plan = Unwrap(PrecisionPlanFromMetadata(info));
    } else {
      NhitsConfig c;
      c.h = a->h;
      c.input_size = a->input_size;
      if (!a->exog.empty()) {
        const std::vector<int> n = ParseIntList(a->exog, "exog");
        if (n.size() != 3 || *std::min_element(n.begin(), n.end()) < 0) UsageFail("--exog: give HIST,FUTR,STAT counts, e.g. 4,2,8");
        for (int i = 0; i < n[0]; ++i) c.hist_exog_list.push_back("hist" + std::to_string(i));
        for (int i = 0; i < n[1]; ++i) c.futr_exog_list.push_back("futr" + std::to_string(i));
        for (int i = 0; i < n[2]; ++i) c.stat_exog_list.push_back("stat" + std::to_string(i));
      }
      if (!a->distribution.empty()) {
        c.loss = LossType::kDistributionLoss;
        c.distribution = Unwrap(ParseDistributionType(a->distribution, "--distribution"));
        c.level = {80, 90};
      }
      CheckOk(c.Validate());
      model = std::make_unique<Model>(c);
      model->mutable_network().InitParams(1);
    }
    const std::vector<Precision> precisions = ParsePrecisionList(a->precision, "precision");
    const std::vector<int> batches = ParseIntList(a->batch_sizes, "batch-sizes");
    for (int b : batches)  // the arena holds every buffer for the largest: beyond a million windows, out of memory
      if (b < 1 || b > (1 << 20)) UsageFail("--batch-sizes: " + std::to_string(b) + " is not within 1..1048576");
    const std::vector<int> thread_counts = ParseIntList(a->threads, "threads");
    for (int t : thread_counts) {
      if (t < 0) UsageFail("--threads: " + std::to_string(t) + " is not >= 0 (0: all cores)");
      if (t > UsableCores())
        std::fprintf(stderr, "note: --threads %d is more than the %d cores this process may use: its rows measure "
                     "oversubscription\n", t, UsableCores());
    }
    const int max_batch = *std::max_element(batches.begin(), batches.end());
    const NhitsConfig& c = model->config();
    const double flops = static_cast<double>(model->FlopsPerForecast());
    const std::size_t fp32_bytes = static_cast<std::size_t>(model->ParameterCount()) * sizeof(float);
    nlohmann::ordered_json rows = nlohmann::json::array();
    std::printf("model: %lld parameters (%.3g MB fp32), %.3g MFLOP per forecast (neuralforecast's count)\n",
                static_cast<long long>(model->ParameterCount()), fp32_bytes / 1e6, flops / 1e6);
    {  // the FLOPs the kernels run: what the roofline compares, not neuralforecast's count
      const InferenceSession probe(*model, 1, 1);
      std::printf("executed: %.3g MFLOP per forecast (each block's linear first layer composed with the next, the\n"
                  "last block's backcast rows skipped); GFLOP/s and %% GEMM peak count these\n\n",
                  probe.ExecutedFlopsPerForecast() / 1e6);
    }
    std::printf("| threads | precision | batch | p50 us | p95 us | p99 us | max us | forecasts/s | GFLOP/s | %% GEMM peak | "
                "weight-stream floor us |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const int asked : thread_counts) {
      // 0 means every usable core; a session given 0 would run on one (ThreadPool clamps to 1),
      // so the rows would have measured one thread against an all-core GEMM peak.
      const int threads = asked > 0 ? asked : UsableCores();
      cpu::SetBlasThreads(threads);
      const double peak = MeasureGemmGflops();
      const double gbps = MeasureReadGBps(fp32_bytes, threads);
      for (Precision precision : precisions) {
        // A quantised checkpoint keeps its own FP32 layers at its own precision.
        const PrecisionPlan plan = precision == file_plan.precision ? file_plan : PrecisionPlan{precision, {}};
        InferenceSession session(*model, max_batch, threads, plan);
        const double floor_us = session.memory().packed_weight_bytes / (gbps * 1e9) * 1e6;
        for (int batch : batches) {
          std::mt19937 rng(7);
          std::normal_distribution<float> nd(0, 1);
          std::vector<float> x(static_cast<std::size_t>(batch) * c.input_size), m(x.size(), 1.0f),
              y(static_cast<std::size_t>(batch) * c.h * c.outputs_per_step());
          for (auto& v : x) v = nd(rng);
          // A model with exogenous inputs gets random ones (their scaling is part of the call).
          const std::size_t B = static_cast<std::size_t>(batch), L = static_cast<std::size_t>(c.input_size);
          std::vector<float> hist(B * L * c.hist_exog_list.size()), futr(B * (L + c.h) * c.futr_exog_list.size()),
              stat(B * c.stat_exog_list.size());
          for (auto* v : {&hist, &futr, &stat})
            for (auto& e : *v) e = nd(rng);
          const ExogBatch<float> exog{hist.data(), futr.data(), stat.data()};
          for (int w = 0; w < 3; ++w) CheckOk(session.Predict(batch, x.data(), m.data(), exog, y.data()));
          std::vector<double> us;
          const auto start = Clock::now();
          while (static_cast<int>(us.size()) < a->min_reps ||
                 std::chrono::duration<double>(Clock::now() - start).count() < a->seconds) {
            const auto t0 = Clock::now();
            (void)session.Predict(batch, x.data(), m.data(), exog, y.data());
            us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
          }
          const double p50 = Percentile(us, 0.50), rate = batch / (p50 * 1e-6);
          const double gflops = rate * flops / 1e9, executed = rate * session.ExecutedFlopsPerForecast() / 1e9;
          std::printf("| %d | %s | %d | %.1f | %.1f | %.1f | %.1f | %.0f | %.1f | %.0f%% | %.1f |\n", threads,
                      plan.Describe().c_str(), batch, p50, Percentile(us, 0.95), Percentile(us, 0.99),
                      Percentile(us, 1.0), rate, executed, 100 * executed / peak, floor_us);
          std::fflush(stdout);
          rows.push_back({{"threads", threads}, {"precision", ToString(precision)}, {"plan", plan.Describe()},
                          {"batch", batch}, {"p50_us", p50}, {"p95_us", Percentile(us, 0.95)},
                          {"p99_us", Percentile(us, 0.99)}, {"max_us", Percentile(us, 1.0)},
                          {"forecasts_per_s", rate}, {"gflops", gflops}, {"executed_gflops", executed},
                          {"gemm_peak_gflops", peak},
                          {"read_gbps", gbps}, {"weight_bytes", session.memory().packed_weight_bytes},
                          {"weight_stream_floor_us", floor_us}, {"arena_bytes", session.memory().reserved_bytes},
                          {"reps", us.size()}});
        }
      }
      std::printf("(threads %d: measured FP32 GEMM peak %.1f GFLOP/s, weight read %.1f GB/s)\n", threads, peak, gbps);
    }
    if (!a->json.empty()) WriteTextAtomic(a->json, rows.dump(1) + "\n");
  };
}

}  // namespace nhits::cli
