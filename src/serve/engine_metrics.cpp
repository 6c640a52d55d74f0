// Engine::PrometheusMetrics: text exposition format 0.0.4 with Triton-style names, so
// dashboards written for Triton's metrics read ours with a prefix change.
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>

#include "serve/engine_impl.h"

namespace nhits {
namespace {

std::string Num(double v) {
  // The exposition format's spellings of the special values (printf writes "nan", "inf").
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Label values escape backslash, double quote and newline (exposition format 0.0.4): a model name from a
// repository folder could otherwise break every line after it in the scrape.
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Labels(const serve::ModelInstance& m) {
  return "model=\"" + LabelValue(m.name()) + "\",version=\"" + std::to_string(m.version()) + "\"";
}

void Header(std::ostringstream& os, const char* name, const char* type, const char* help) {
  os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// One histogram's samples; `labels` ("priority=\"1\"," or "") go before `le`.
void HistogramSamples(std::ostringstream& os, const char* name, const std::string& labels, const serve::LatencyHistogram& h) {
  const auto& bounds = serve::LatencyHistogram::PrometheusBounds();
  const auto cum = h.PrometheusCumulative();
  for (std::size_t i = 0; i < bounds.size(); ++i)
    os << name << "_bucket{" << labels << "le=\"" << Num(bounds[i]) << "\"} " << cum[i] << '\n';
  os << name << "_bucket{" << labels << "le=\"+Inf\"} " << cum.back() << '\n';
  const std::string braces = labels.empty() ? "" : "{" + labels.substr(0, labels.size() - 1) + "}";
  // _count from the same snapshot as the buckets: under load h.count() may already be ahead of +Inf.
  os << name << "_sum" << braces << ' ' << Num(h.sum()) << '\n' << name << "_count" << braces << ' ' << cum.back() << '\n';
}

// A metric with one unlabelled sample.
template <typename T>
void Scalar(std::ostringstream& os, const char* name, const char* type, const char* help, const T& value) {
  Header(os, name, type, help);
  os << name << ' ' << value << '\n';
}

void Histogram(std::ostringstream& os, const char* name, const char* help, const serve::LatencyHistogram& h) {
  Header(os, name, "histogram", help);
  HistogramSamples(os, name, "", h);
}

}  // namespace

std::string Engine::PrometheusMetrics() const {
  const PerformanceStats st = GetPerformanceStats();
  const auto instances = impl_->Instances();
  std::ostringstream os;
  Header(os, "nhits_inference_request_success", "counter", "Successful requests (cache hits included)");
  for (const auto& m : instances) os << "nhits_inference_request_success{" << Labels(*m) << "} " << m->counters().success.load() << '\n';
  Header(os, "nhits_inference_request_failure", "counter", "Failed requests by reason");
  for (const auto& m : instances) {
    std::lock_guard<std::mutex> lock(m->counters().mu);
    for (const auto& [reason, n] : m->counters().failures)
      os << "nhits_inference_request_failure{" << Labels(*m) << ",reason=\"" << reason << "\"} " << n << '\n';
  }
  Header(os, "nhits_engine_request_failure", "counter", "Failed requests by reason, all models (routing failures included)");
  for (const auto& [reason, n] : st.failures) os << "nhits_engine_request_failure{reason=\"" << reason << "\"} " << n << '\n';
  Header(os, "nhits_inference_count", "counter", "Windows forecast");
  for (const auto& m : instances) os << "nhits_inference_count{" << Labels(*m) << "} " << m->counters().windows.load() << '\n';
  Header(os, "nhits_inference_exec_count", "counter", "Batches executed");
  for (const auto& m : instances) os << "nhits_inference_exec_count{" << Labels(*m) << "} " << m->counters().batches.load() << '\n';
  Header(os, "nhits_inference_queue_duration_us", "counter", "Cumulative time requests waited in the queue");
  for (const auto& m : instances) os << "nhits_inference_queue_duration_us{" << Labels(*m) << "} " << Num(m->counters().queue_us.load()) << '\n';
  Header(os, "nhits_inference_compute_infer_duration_us", "counter", "Cumulative time spent in forward passes");
  for (const auto& m : instances) os << "nhits_inference_compute_infer_duration_us{" << Labels(*m) << "} " << Num(m->counters().compute_us.load()) << '\n';
  Header(os, "nhits_inference_pending_request_count", "gauge", "Requests waiting in the queue, by priority level");
  for (const auto& m : instances) {
    const auto depth = m->QueueDepthByLevel();
    for (std::size_t l = 0; l < depth.size(); ++l)
      os << "nhits_inference_pending_request_count{" << Labels(*m) << ",priority=\"" << l + 1 << "\"} " << depth[l] << '\n';
  }
  Header(os, "nhits_model_ready", "gauge", "1 when the version takes requests");
  for (const auto& m : instances) os << "nhits_model_ready{" << Labels(*m) << "} " << (m->ready() && !m->draining() ? 1 : 0) << '\n';
  Histogram(os, "nhits_request_duration_us", "End-to-end request latency (arrival to answer)", impl_->counters.end_to_end);
  Header(os, "nhits_request_duration_by_priority_us", "histogram", "End-to-end request latency by priority level");
  for (std::size_t l = 0; l < impl_->counters.end_to_end_by_priority.size(); ++l)
    if (impl_->counters.end_to_end_by_priority[l].count() > 0)
      HistogramSamples(os, "nhits_request_duration_by_priority_us", "priority=\"" + std::to_string(l + 1) + "\",",
                       impl_->counters.end_to_end_by_priority[l]);
  Histogram(os, "nhits_queue_duration_us", "Time from arrival to the start of the request's batch", impl_->counters.queue);
  Histogram(os, "nhits_compute_duration_us", "Forward pass time per batch", impl_->counters.compute);
  Header(os, "nhits_batch_size", "counter", "Batches executed by their size in windows");
  for (const auto& [size, n] : st.batch_sizes) os << "nhits_batch_size{size=\"" << size << "\"} " << n << '\n';
  Scalar(os, "nhits_cache_hits", "counter", "Forecast cache hits", st.cache_hits);
  Scalar(os, "nhits_cache_misses", "counter", "Forecast cache misses", st.cache_misses);
  Scalar(os, "nhits_cache_evictions", "counter", "Entries evicted to stay within the byte budget", st.cache_evictions);
  Scalar(os, "nhits_cache_expired", "counter", "Entries dropped after their TTL", st.cache_expired);
  Scalar(os, "nhits_cache_bytes", "gauge", "Bytes held by the forecast cache", st.cache_bytes);
  Scalar(os, "nhits_memory_bytes", "gauge", "Weights, sessions and cache held by the engine", st.memory_bytes);
  Scalar(os, "nhits_queue_depth", "gauge", "Requests waiting, all models", st.queue_depth);
  Scalar(os, "nhits_utilisation", "gauge", "Busy worker time over wall time since the previous read", Num(st.utilisation));
  Header(os, "nhits_alert_level", "gauge", "0 ok, 1 warning, 2 critical");
  for (const auto& a : st.alerts) os << "nhits_alert_level{alert=\"" << a.name << "\"} " << a.level << '\n';
  Header(os, "nhits_alert_value", "gauge", "The value each alert compares with its thresholds");
  for (const auto& a : st.alerts) os << "nhits_alert_value{alert=\"" << a.name << "\"} " << Num(a.value) << '\n';
  Scalar(os, "nhits_scaling_recommendation", "gauge", "+1 scale up, -1 scale down, 0 hold", st.scaling);
  return os.str();
}

}  // namespace nhits
