// Agglomerative clustering on correlation distance (Lance-Williams updates, O(n^3) worst case:
// fine for the few hundred assets of one class; 505 S&P stocks cluster in well under a second).
#include <cmath>
#include <limits>

#include "nhits/batch.h"

namespace nhits {

Result<Linkage> ParseLinkage(const std::string& name) {
  if (name == "single") return Linkage::kSingle;
  if (name == "complete") return Linkage::kComplete;
  if (name == "average") return Linkage::kAverage;
  return Status::InvalidArgument("unknown linkage '" + name + "' (choose single, complete or average)");
}

std::vector<int> ClusterByCorrelation(const std::vector<std::vector<double>>& returns, Linkage linkage,
                                      double threshold, int clusters) {
  const std::size_t n = returns.size();
  if (n == 0) return {};
  // Standardise each row once: correlation is then a dot product / length.
  std::vector<std::vector<double>> z(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> r = returns[i];
    for (double& v : r)
      if (!std::isfinite(v)) v = 0.0;  // a gap in the history: no move, rather than NaN distances to everything
    double mean = 0, var = 0;
    for (double v : r) mean += v / static_cast<double>(r.size());
    for (double v : r) var += (v - mean) * (v - mean);
    const double sd = std::sqrt(var);
    z[i].resize(r.size());
    for (std::size_t t = 0; t < r.size(); ++t) z[i][t] = sd > 0 ? (r[t] - mean) / sd : 0.0;
  }
  std::vector<std::vector<double>> d(n, std::vector<double>(n, 0.0));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      double c = 0;
      for (std::size_t t = 0; t < std::min(z[i].size(), z[j].size()); ++t) c += z[i][t] * z[j][t];
      d[i][j] = d[j][i] = 1.0 - c;  // a flat series has correlation 0 with everything
    }
  std::vector<int> label(n);
  std::vector<std::size_t> size(n, 1);
  std::vector<bool> alive(n, true);
  for (std::size_t i = 0; i < n; ++i) label[i] = static_cast<int>(i);  // cluster id = representative
  std::size_t count = n;
  while (count > 1) {
    if (clusters > 0 && count <= static_cast<std::size_t>(clusters)) break;
    double best = std::numeric_limits<double>::infinity();
    std::size_t a = 0, b = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (alive[i])
        for (std::size_t j = i + 1; j < n; ++j)
          if (alive[j] && d[i][j] < best) best = d[i][j], a = i, b = j;  // ties: lowest indices, deterministic
    if (clusters <= 0 && best > threshold) break;
    for (std::size_t k = 0; k < n; ++k) {
      if (!alive[k] || k == a || k == b) continue;
      double v = 0;
      switch (linkage) {
        case Linkage::kSingle: v = std::min(d[a][k], d[b][k]); break;
        case Linkage::kComplete: v = std::max(d[a][k], d[b][k]); break;
        case Linkage::kAverage:
          v = (d[a][k] * static_cast<double>(size[a]) + d[b][k] * static_cast<double>(size[b])) /
              static_cast<double>(size[a] + size[b]);
          break;
      }
      d[a][k] = d[k][a] = v;
    }
    alive[b] = false;
    size[a] += size[b];
    for (std::size_t i = 0; i < n; ++i)
      if (label[i] == static_cast<int>(b)) label[i] = static_cast<int>(a);
    --count;
  }
  // Renumber 0.. in order of first appearance.
  std::vector<int> remap(n, -1), out(n);
  int next = 0;
  for (std::size_t i = 0; i < n; ++i) {
    int& r = remap[static_cast<std::size_t>(label[i])];
    if (r < 0) r = next++;
    out[i] = r;
  }
  return out;
}

}  // namespace nhits
