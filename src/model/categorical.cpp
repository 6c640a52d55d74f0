#include "nhits/categorical.h"

#include <charconv>
#include <cmath>
#include <random>

#include "nhits/config.h"
#include "nhits/network.h"

namespace nhits {
namespace {

bool ParseNumber(std::string_view text, double* v) {
  const char* first = text.data() + (!text.empty() && text.front() == '+');
  const char* last = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(first, last, *v);
  return first != last && ec == std::errc() && ptr == last;
}

// The stream's categorical columns in cat_exog_list order (neuralforecast's {hist,futr,stat}_cat_exog_list).
std::vector<const CategoricalColumn*> StreamColumns(const NhitsConfig& c, const std::vector<std::string>& list) {
  std::vector<const CategoricalColumn*> out;
  for (const CategoricalColumn& col : c.categorical)
    for (const std::string& name : list)
      if (name == col.name) out.push_back(&col);
  return out;
}

std::vector<std::string> EmbeddedList(const NhitsConfig& c, const std::vector<std::string>& list) {
  std::vector<std::string> out;
  for (const std::string& name : list)
    if (c.FindCategorical(name) == nullptr) out.push_back(name);
  for (const CategoricalColumn* col : StreamColumns(c, list))
    for (int d = 0; d < col->emb_dim; ++d) out.push_back(col->name + "[" + std::to_string(d) + "]");
  return out;
}

int IndexIn(const std::vector<std::string>& list, const std::string& name) {
  for (std::size_t i = 0; i < list.size(); ++i)
    if (list[i] == name) return static_cast<int>(i);
  return -1;
}

}  // namespace

const CategoricalColumn* FindCategoricalColumn(const std::vector<CategoricalColumn>* columns, std::string_view name) {
  if (columns != nullptr)
    for (const CategoricalColumn& col : *columns)
      if (col.name == name) return &col;
  return nullptr;
}

double CategoryCode(const CategoricalColumn& column, std::string_view label) {
  for (std::size_t i = 0; i < column.vocabulary.size(); ++i)
    if (column.vocabulary[i] == label) return static_cast<double>(i + 1);
  double v = 0, w = 0;
  if (!ParseNumber(label, &v)) return 0;
  for (std::size_t i = 0; i < column.vocabulary.size(); ++i)
    if (ParseNumber(column.vocabulary[i], &w) && w == v) return static_cast<double>(i + 1);
  return 0;
}

Result<int> ResolveCatEmbDim(const std::string& strategy, int cardinality) {
  const double n = cardinality;
  if (strategy == "fastai") return std::min(50, static_cast<int>(std::ceil(1.6 * std::pow(n, 0.56))));
  if (strategy == "sqrt") return std::min(50, static_cast<int>(std::ceil(std::sqrt(n))));
  if (strategy == "half") return std::min(50, (cardinality + 1) / 2);
  int dim = 0;
  const auto [ptr, ec] = std::from_chars(strategy.data(), strategy.data() + strategy.size(), dim);
  if (ec == std::errc() && ptr == strategy.data() + strategy.size() && dim > 0) return dim;
  return Status::InvalidArgument("field 'cat_emb_dim': '" + strategy +
                                 "' is not a positive integer or one of 'fastai', 'sqrt', 'half'");
}

NhitsConfig EmbeddedConfig(const NhitsConfig& config) {
  if (config.categorical.empty()) return config;
  NhitsConfig e = config;
  e.hist_exog_list = EmbeddedList(config, config.hist_exog_list);
  e.futr_exog_list = EmbeddedList(config, config.futr_exog_list);
  e.stat_exog_list = EmbeddedList(config, config.stat_exog_list);
  e.categorical.clear();
  // The network never sees the scaler; its channel count would no longer match the lists.
  e.revin_bias.clear();
  e.revin_weight.clear();
  return e;
}

CategoricalEmbeddings::CategoricalEmbeddings(const NhitsConfig& c) {
  const int L = c.input_size;
  auto build = [&](const std::vector<std::string>& list, const char* prefix, int steps, Stream* s) {
    s->in_width = static_cast<int>(list.size());
    s->steps = steps;
    for (std::size_t k = 0; k < list.size(); ++k)
      if (c.FindCategorical(list[k]) == nullptr) s->continuous.push_back(static_cast<int>(k));
    s->width = static_cast<int>(s->continuous.size());
    int i = 0;
    for (const CategoricalColumn* col : StreamColumns(c, list)) {
      Table t;
      t.column = col->name;
      t.tensor_name = std::string(prefix) + "_cat_embeddings." + std::to_string(i++) + ".weight";
      t.rows = col->cardinality + 1;
      t.dim = col->emb_dim;
      t.weight.assign(static_cast<std::size_t>(t.rows) * t.dim, 0.0f);
      t.unseen.assign(static_cast<std::size_t>(t.dim), 0.0f);
      s->categorical.emplace_back(IndexIn(list, col->name), tables_.size());
      s->width += t.dim;
      tables_.push_back(std::move(t));
    }
  };
  build(c.hist_exog_list, "hist", L, &hist_);
  build(c.futr_exog_list, "futr", L + c.h, &futr_);
  build(c.stat_exog_list, "stat", 1, &stat_);
}

const CategoricalEmbeddings::Table* CategoricalEmbeddings::TableFor(const std::string& column) const {
  for (const Table& t : tables_)
    if (t.column == column) return &t;
  return nullptr;
}

Status CategoricalEmbeddings::SetWeight(std::size_t table, const std::vector<float>& weight) {
  Table& t = tables_.at(table);
  if (weight.size() != t.weight.size())
    return Status::InvalidArgument("tensor '" + t.tensor_name + "' has " + std::to_string(weight.size()) +
                                   " values, expected " + std::to_string(t.rows) + " x " + std::to_string(t.dim));
  t.weight = weight;
  // neuralforecast's _lookup_embedding: an unseen code takes the mean of the learned rows, not row 0.
  for (int d = 0; d < t.dim; ++d) {
    double sum = 0;
    for (int r = 1; r < t.rows; ++r) sum += t.weight[static_cast<std::size_t>(r) * t.dim + d];
    t.unseen[static_cast<std::size_t>(d)] = t.rows > 1 ? static_cast<float>(sum / (t.rows - 1)) : 0.0f;
  }
  return Status::Ok();
}

std::size_t CategoricalEmbeddings::weight_count() const {
  return tables_.empty() ? 0 : Offset(tables_.size() - 1) + tables_.back().weight.size();
}

std::size_t CategoricalEmbeddings::Offset(std::size_t table) const {
  std::size_t offset = 0;
  for (std::size_t i = 0; i < table; ++i) offset += tables_[i].weight.size();
  return offset;
}

std::vector<float> CategoricalEmbeddings::FlatWeights() const {
  std::vector<float> flat;
  flat.reserve(weight_count());
  for (const Table& t : tables_) flat.insert(flat.end(), t.weight.begin(), t.weight.end());
  return flat;
}

void CategoricalEmbeddings::SetFlatWeights(const std::vector<float>& flat) {
  for (std::size_t i = 0, offset = 0; i < tables_.size(); offset += tables_[i++].weight.size()) {
    const auto first = flat.begin() + static_cast<std::ptrdiff_t>(offset);
    (void)SetWeight(i, std::vector<float>(first, first + static_cast<std::ptrdiff_t>(tables_[i].weight.size())));
  }
}

void CategoricalEmbeddings::InitWeights(std::uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0xC2B2AE3D27D4EB4FULL);  // apart from the network's own init stream
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> flat(weight_count());
  for (float& w : flat) w = normal(rng);
  SetFlatWeights(flat);
}

void CategoricalEmbeddings::ScatterRows(const Stream& s, std::size_t rows, const float* in, const float* d_out,
                                        const std::vector<std::size_t>& offsets, float* grad,
                                        std::vector<double>* unseen) const {
  const std::size_t first_embedding = s.continuous.size();
  for (std::size_t r = 0; r < rows; ++r) {
    const float* x = in + r * s.in_width;
    const float* dy = d_out + r * s.width + first_embedding;
    for (const auto& [column, table] : s.categorical) {
      const Table& t = tables_[table];
      const float* row = Row(t, x[column]);
      if (row == t.unseen.data()) {
        double* u = unseen->data() + offsets[table];  // row 0's slot collects the unseen mean's gradient
        for (int d = 0; d < t.dim; ++d) u[d] += dy[d];
      } else {
        float* g = grad + offsets[table] + static_cast<std::size_t>(row - t.weight.data());
        for (int d = 0; d < t.dim; ++d) g[d] += dy[d];
      }
      dy += t.dim;
    }
  }
}

void CategoricalEmbeddings::AccumulateGradient(int windows, const ExogBatch<float>& in, const ExogBatch<float>& d_out,
                                               float* grad) const {
  const std::size_t n = static_cast<std::size_t>(windows);
  std::vector<double> unseen(weight_count(), 0.0);
  std::vector<std::size_t> offsets;  // of each table in the flat vector, once rather than per row
  for (std::size_t i = 0; i < tables_.size(); ++i) offsets.push_back(Offset(i));
  if (hist_.in_width > 0) ScatterRows(hist_, n * hist_.steps, in.hist, d_out.hist, offsets, grad, &unseen);
  if (futr_.in_width > 0) ScatterRows(futr_, n * futr_.steps, in.futr, d_out.futr, offsets, grad, &unseen);
  if (stat_.in_width > 0) ScatterRows(stat_, n, in.stat, d_out.stat, offsets, grad, &unseen);
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    const Table& t = tables_[i];
    if (t.rows < 2) continue;
    const std::size_t offset = offsets[i];
    for (int r = 1; r < t.rows; ++r)
      for (int d = 0; d < t.dim; ++d)
        grad[offset + static_cast<std::size_t>(r) * t.dim + d] += static_cast<float>(unseen[offset + d] / (t.rows - 1));
  }
}

const float* CategoricalEmbeddings::Row(const Table& t, float code) const {
  const float r = std::nearbyint(code);
  if (!(r == code) || r < 1 || r >= static_cast<float>(t.rows)) return t.unseen.data();
  return t.weight.data() + static_cast<std::size_t>(r) * t.dim;
}

void CategoricalEmbeddings::EmbedRows(const Stream& s, std::size_t rows, const float* in, float* out) const {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* x = in + r * s.in_width;
    float* y = out + r * s.width;
    for (int k : s.continuous) *y++ = x[k];
    for (const auto& [column, table] : s.categorical) {
      const Table& t = tables_[table];
      const float* row = Row(t, x[column]);
      y = std::copy(row, row + t.dim, y);
    }
  }
}

void CategoricalEmbeddings::Embed(int windows, const ExogBatch<float>& in, float* hist, float* futr, float* stat) const {
  const std::size_t n = static_cast<std::size_t>(windows);
  if (hist_.in_width > 0) EmbedRows(hist_, n * hist_.steps, in.hist, hist);
  if (futr_.in_width > 0) EmbedRows(futr_, n * futr_.steps, in.futr, futr);
  if (stat_.in_width > 0) EmbedRows(stat_, n, in.stat, stat);
}

}  // namespace nhits
