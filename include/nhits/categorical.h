// Categorical exogenous columns (neuralforecast's cat_exog_list): a column of labels (store type,
// weekday, rating) that enters the network as a learned embedding instead of a number.
//
// The path of a label, as neuralforecast takes it:
//   1. the data readers code it with the vocabulary neuralforecast built at fit time (the sorted
//      distinct values, coded 1..n; 0 for a value it never saw, an empty field included);
//   2. the scalers leave coded columns alone (neither TemporalNorm nor the local scaler touches them);
//   3. CategoricalEmbeddings turns each code into its embedding row (code 0: the mean of the learned
//      rows) and lays each stream out as neuralforecast's _embed_stream does: the continuous columns
//      in list order, then each categorical column's embedding, in cat_exog_list order.
// The network is built for that embedded layout (EmbeddedConfig); everything before it (windows,
// requests, ExogBatch) keeps one value per column, the code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nhits/status.h"

namespace nhits {

struct NhitsConfig;
template <typename T>
struct ExogBatch;

struct CategoricalColumn {
  std::string name;      // a column of futr_exog_list, hist_exog_list or stat_exog_list
  int cardinality = 0;   // categorical_cardinalities[name]: its table has cardinality + 1 rows (row 0: unseen)
  int emb_dim = 0;       // cat_emb_dim resolved for this column
  std::vector<std::string> vocabulary;  // the label of code i + 1 (at most `cardinality` labels)
};

// The column named `name` among `columns` (which may be null), or null.
const CategoricalColumn* FindCategoricalColumn(const std::vector<CategoricalColumn>* columns, std::string_view name);

// The code of one label: its position in the vocabulary + 1, matched as text or, when both parse
// as numbers, by value ("3" is the label 3.0 that pandas wrote); 0 when absent, as neuralforecast
// codes an unseen or missing value.
double CategoryCode(const CategoricalColumn& column, std::string_view label);

// neuralforecast's cat_emb_dim: an integer, or "fastai" (min(50, ceil(1.6 * n^0.56))), "sqrt"
// (min(50, ceil(sqrt n))) or "half" (min(50, (n + 1) / 2)) of the cardinality n.
Result<int> ResolveCatEmbDim(const std::string& strategy, int cardinality);

// The configuration the network is built from: each exog list with its categorical columns moved
// to the end and widened to one column per embedding dimension ("store[0]", "store[1]", ...).
// The config itself when it has no categorical column.
NhitsConfig EmbeddedConfig(const NhitsConfig& config);

// The learned embedding tables of a model, one per categorical column, under neuralforecast's
// state_dict names ({futr,hist,stat}_cat_embeddings.{i}.weight, i counting the column's stream).
class CategoricalEmbeddings {
 public:
  CategoricalEmbeddings() = default;
  explicit CategoricalEmbeddings(const NhitsConfig& config);  // zero tables of the config's shapes

  bool empty() const { return tables_.empty(); }
  struct Table {
    std::string column;       // the categorical column it embeds
    std::string tensor_name;  // e.g. "futr_cat_embeddings.0.weight"
    int rows = 0, dim = 0;    // rows = cardinality + 1
    std::vector<float> weight;  // [rows, dim]
    std::vector<float> unseen;  // the mean of rows 1.., which code 0 (and any code out of range) takes
  };
  const std::vector<Table>& tables() const { return tables_; }
  const Table* TableFor(const std::string& column) const;  // null when the column has none
  // Replaces one table's weights (size rows * dim) and recomputes its unseen row.
  Status SetWeight(std::size_t table, const std::vector<float>& weight);

  // Training sees every table as one flat vector: the tables in order, each [rows, dim].
  std::size_t weight_count() const;
  std::vector<float> FlatWeights() const;
  void SetFlatWeights(const std::vector<float>& flat);  // size weight_count(); recomputes the unseen rows
  // nn.Embedding's default init, N(0, 1) for every row (row 0 too, which training never moves).
  void InitWeights(std::uint64_t seed);
  // Adds d(loss)/d(tables) to `grad` (weight_count() floats, FlatWeights' layout), given the coded
  // inputs `in` Embed was given and d(loss)/d(its outputs) in `d_out` (embedded layout). A code
  // that took the unseen mean shares its gradient equally among rows 1.. (the mean's gradient);
  // row 0 gets none, as in neuralforecast's _lookup_embedding.
  void AccumulateGradient(int windows, const ExogBatch<float>& in, const ExogBatch<float>& d_out, float* grad) const;

  // Widths of the embedded streams (EmbeddedConfig's list sizes).
  int hist_width() const { return hist_.width; }
  int futr_width() const { return futr_.width; }
  int stat_width() const { return stat_.width; }

  // Embeds `windows` windows of coded, scaled exogenous inputs (ExogBatch layout of the config's
  // lists) into the embedded layout: hist [n, L, hist_width], futr [n, L + h, futr_width],
  // stat [n, stat_width]. Streams the config lacks are left alone (their outputs may be null).
  void Embed(int windows, const ExogBatch<float>& in, float* hist, float* futr, float* stat) const;

 private:
  struct Stream {
    int in_width = 0, width = 0, steps = 0;
    std::vector<int> continuous;  // input column of each continuous output column
    std::vector<std::pair<int, std::size_t>> categorical;  // (input column, table) in output order
  };
  void EmbedRows(const Stream& s, std::size_t rows, const float* in, float* out) const;
  void ScatterRows(const Stream& s, std::size_t rows, const float* in, const float* d_out,
                   const std::vector<std::size_t>& offsets, float* grad, std::vector<double>* unseen) const;
  std::size_t Offset(std::size_t table) const;  // of the table in the flat vector
  const float* Row(const Table& t, float code) const;

  std::vector<Table> tables_;
  Stream hist_, futr_, stat_;
};

}  // namespace nhits
