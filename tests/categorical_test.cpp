// Categorical exogenous columns (cat_exog_list): labels coded by the fit-time vocabulary, codes
// left alone by the scalers, embedding rows in neuralforecast's layout (continuous columns first,
// then each embedding in cat_exog_list order; an unseen code takes the mean of the learned rows).
// The layout is checked against a model without categorical columns that is fed the embedding
// rows by hand: the same network weights must give the same forecast. neuralforecast itself is
// the reference in the parity fixture exog_categorical_standard and the import test.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <vector>

#include "nhits/data.h"
#include "nhits/forecast.h"
#include "nhits/inference.h"
#include "nhits/local_scaler.h"
#include "nhits/model.h"
#include "nhits/safetensors.h"
#include "nhits/scaler.h"
#include "nhits/train.h"

namespace nhits {
namespace {

CategoricalColumn Column(const std::string& name, int cardinality, int dim, std::vector<std::string> vocabulary) {
  CategoricalColumn c;
  c.name = name;
  c.cardinality = cardinality;
  c.emb_dim = dim;
  c.vocabulary = std::move(vocabulary);
  return c;
}

// hist: volume, regime (categorical, 2 dims); futr: event (categorical, 3 dims), promo; stat: region (2 dims), size.
NhitsConfig CategoricalConfig() {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 8;
  c.mlp_units = {{16, 16}, {16, 16}};
  c.hist_exog_list = {"volume", "regime"};
  c.futr_exog_list = {"event", "promo"};
  c.stat_exog_list = {"region", "size"};
  c.categorical = {Column("event", 3, 3, {"holiday", "none", "promo"}), Column("regime", 2, 2, {"0", "1"}),
                   Column("region", 3, 2, {"east", "north", "south"})};
  return c;
}

std::vector<float> Random(std::size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

void FillTables(Model* m) {
  for (std::size_t i = 0; i < m->embeddings().tables().size(); ++i) {
    const auto& t = m->embeddings().tables()[i];
    ASSERT_TRUE(m->mutable_embeddings().SetWeight(i, Random(t.weight.size(), 50 + static_cast<unsigned>(i))).ok());
  }
}

TEST(Categorical, LabelsAreCodedByTheVocabulary) {
  const CategoricalColumn event = Column("event", 4, 3, {"holiday", "none", "promo"});
  EXPECT_EQ(CategoryCode(event, "holiday"), 1);
  EXPECT_EQ(CategoryCode(event, "promo"), 3);
  EXPECT_EQ(CategoryCode(event, "crash"), 0);  // unseen at fit time
  EXPECT_EQ(CategoryCode(event, ""), 0);       // missing
  EXPECT_EQ(CategoryCode(event, "Promo"), 0);  // labels are case-sensitive, as pandas' are
  const CategoricalColumn tier = Column("tier", 3, 2, {"1.0", "2.0", "3.0"});
  EXPECT_EQ(CategoryCode(tier, "2"), 2);  // the number pandas wrote as 2.0
  EXPECT_EQ(CategoryCode(tier, "3.0"), 3);
  EXPECT_EQ(CategoryCode(tier, "2.5"), 0);
}

TEST(Categorical, EmbeddingSizesFollowNeuralforecastsStrategies) {
  EXPECT_EQ(*ResolveCatEmbDim("fastai", 4), 4);    // ceil(1.6 * 4^0.56) = ceil(3.48)
  EXPECT_EQ(*ResolveCatEmbDim("fastai", 1000), 50);  // capped
  EXPECT_EQ(*ResolveCatEmbDim("sqrt", 10), 4);
  EXPECT_EQ(*ResolveCatEmbDim("half", 7), 4);
  EXPECT_EQ(*ResolveCatEmbDim("6", 7), 6);
  EXPECT_FALSE(ResolveCatEmbDim("wide", 7).ok());
  EXPECT_FALSE(ResolveCatEmbDim("0", 7).ok());
}

TEST(Categorical, NetworkListsPutTheEmbeddingsAfterTheContinuousColumns) {
  const NhitsConfig e = EmbeddedConfig(CategoricalConfig());
  EXPECT_EQ(e.hist_exog_list, (std::vector<std::string>{"volume", "regime[0]", "regime[1]"}));
  EXPECT_EQ(e.futr_exog_list, (std::vector<std::string>{"promo", "event[0]", "event[1]", "event[2]"}));
  EXPECT_EQ(e.stat_exog_list, (std::vector<std::string>{"size", "region[0]", "region[1]"}));
  EXPECT_TRUE(e.categorical.empty());
  EXPECT_EQ(CategoricalConfig().revin_channels(), 3);  // y, volume, promo: codes take no scaler channel
}

TEST(Categorical, ConfigRefusesInconsistentColumns) {
  NhitsConfig c = CategoricalConfig();
  c.categorical.push_back(Column("weekday", 7, 4, {}));
  EXPECT_NE(c.Validate().message().find("must also be in"), std::string::npos) << c.Validate().message();
  c = CategoricalConfig();
  c.categorical[0].vocabulary.push_back("sale");  // 4 labels, cardinality 3
  EXPECT_NE(c.Validate().message().find("vocabulary has 4 labels"), std::string::npos) << c.Validate().message();
  c = CategoricalConfig();
  c.categorical[1].emb_dim = 0;
  EXPECT_FALSE(c.Validate().ok());
}

// The categorical model against a plain model whose exog columns are the embedded ones, fed the
// embedding rows by hand (unseen codes: the mean of rows 1..n computed here in double).
TEST(Categorical, ForecastEqualsThePlainNetworkFedTheEmbeddingRows) {
  const NhitsConfig c = CategoricalConfig();
  Model cat(c);
  cat.mutable_network().InitParams(3);
  FillTables(&cat);
  Model plain(EmbeddedConfig(c));
  plain.mutable_network().params() = cat.network().params();
  const int B = 5, L = c.input_size, H = c.h;
  const std::vector<float> x = Random(static_cast<std::size_t>(B) * L, 1, 3.0f), m(x.size(), 1.0f);
  std::vector<float> hist(static_cast<std::size_t>(B) * L * 2), futr(static_cast<std::size_t>(B) * (L + H) * 2),
      stat(static_cast<std::size_t>(B) * 2);
  std::mt19937 rng(5);
  for (std::size_t r = 0; r < hist.size() / 2; ++r) {
    hist[2 * r] = std::normal_distribution<float>(0, 1)(rng);
    hist[2 * r + 1] = static_cast<float>(r % 3);  // 0 (unseen), 1, 2
  }
  for (std::size_t r = 0; r < futr.size() / 2; ++r) {
    futr[2 * r] = static_cast<float>((r * 7) % 5);  // 4 is out of range: unseen too
    futr[2 * r + 1] = std::normal_distribution<float>(0, 1)(rng);
  }
  for (int b = 0; b < B; ++b) stat[2 * b] = static_cast<float>(b % 4), stat[2 * b + 1] = 0.5f * b;
  auto row = [&](std::size_t table, float code, int d) {
    const auto& t = cat.embeddings().tables()[table];
    const int r = static_cast<int>(code);
    if (r >= 1 && r < t.rows) return t.weight[static_cast<std::size_t>(r) * t.dim + d];
    double sum = 0;
    for (int k = 1; k < t.rows; ++k) sum += t.weight[static_cast<std::size_t>(k) * t.dim + d];
    return static_cast<float>(sum / (t.rows - 1));
  };
  // Table order is the config's streams: hist (regime), futr (event), stat (region).
  std::vector<float> hist_e, futr_e, stat_e;
  for (std::size_t r = 0; r < hist.size() / 2; ++r) {
    hist_e.push_back(hist[2 * r]);
    for (int d = 0; d < 2; ++d) hist_e.push_back(row(0, hist[2 * r + 1], d));
  }
  for (std::size_t r = 0; r < futr.size() / 2; ++r) {
    futr_e.push_back(futr[2 * r + 1]);
    for (int d = 0; d < 3; ++d) futr_e.push_back(row(1, futr[2 * r], d));
  }
  for (int b = 0; b < B; ++b) {
    stat_e.push_back(stat[2 * b + 1]);
    for (int d = 0; d < 2; ++d) stat_e.push_back(row(2, stat[2 * b], d));
  }
  std::vector<float> want(static_cast<std::size_t>(B) * H), got(want.size()), session_out(want.size());
  plain.PredictWindows(B, x.data(), m.data(), {hist_e.data(), futr_e.data(), stat_e.data()}, want.data());
  cat.PredictWindows(B, x.data(), m.data(), {hist.data(), futr.data(), stat.data()}, got.data());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5f * (1 + std::abs(want[i]))) << i;
  // The serving path (packed weights, arena buffers) embeds the same way.
  InferenceSession session(cat, B, 1);
  ASSERT_TRUE(session.Predict(B, x.data(), m.data(), {hist.data(), futr.data(), stat.data()}, session_out.data(), 1).ok());
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(session_out[i], want[i], 1e-4f * (1 + std::abs(want[i]))) << i;
  // The codes matter: another label moves the forecast.
  std::vector<float> other = futr;
  for (std::size_t r = 0; r < other.size() / 2; ++r) other[2 * r] = 2;
  std::vector<float> moved(want.size());
  cat.PredictWindows(B, x.data(), m.data(), {hist.data(), other.data(), stat.data()}, moved.data());
  double diff = 0;
  for (std::size_t i = 0; i < moved.size(); ++i) diff = std::max(diff, static_cast<double>(std::abs(moved[i] - got[i])));
  EXPECT_GT(diff, 1e-3);
}

TEST(Categorical, ScalersLeaveCodesAlone) {
  NhitsConfig c = CategoricalConfig();
  c.scaler_type = ScalerType::kStandard;
  const int L = c.input_size, H = c.h;
  const std::vector<float> m(static_cast<std::size_t>(L), 1.0f);
  std::vector<float> hist(static_cast<std::size_t>(L) * 2), futr(static_cast<std::size_t>(L + H) * 2), hist_out(hist.size()),
      futr_out(futr.size()), scratch(2 * static_cast<std::size_t>(L));
  for (int t = 0; t < L + H; ++t) {
    if (t < L) hist[2 * t] = 100.0f + t, hist[2 * t + 1] = static_cast<float>(1 + t % 2);
    futr[2 * t] = static_cast<float>(1 + t % 3), futr[2 * t + 1] = 10.0f * t;
  }
  ScaleExogWindow(c, m.data(), hist.data(), futr.data(), hist_out.data(), futr_out.data(), scratch.data());
  for (int t = 0; t < L; ++t) {
    EXPECT_EQ(hist_out[2 * t + 1], hist[2 * t + 1]);    // regime: a code
    EXPECT_NE(hist_out[2 * t], hist[2 * t]);            // volume: scaled
  }
  for (int t = 0; t < L + H; ++t) EXPECT_EQ(futr_out[2 * t], futr[2 * t]);  // event: a code
  Panel p;
  p.exog_names = {"volume", "regime"};
  p.series.push_back(Series{"a", {{1}, {2}, {3}}, {1, 2, 4}, {{10, 20, 40}, {1, 2, 1}}, {}, {}});
  ApplyLocalScaler(LocalScalerType::kStandard, &p, &c.categorical);
  EXPECT_EQ(p.series[0].exog[1], (std::vector<double>{1, 2, 1}));
  EXPECT_NE(p.series[0].exog[0][0], 10);
}

TEST(Categorical, ReadersCodeLabels) {
  const NhitsConfig c = CategoricalConfig();
  const std::string data = ::testing::TempDir() + "/cat_data.csv", stat = ::testing::TempDir() + "/cat_static.csv";
  std::ofstream(data) << "unique_id,ds,y,volume,regime,event,promo\n"
                         "a,1,1.5,10,0,promo,0.1\na,2,2.5,11,1,crash,0.2\na,3,3.5,12,1.0,,0.3\n";
  std::ofstream(stat) << "unique_id,size,region\na,2.5,south\n";
  Result<Panel> p = ReadLongCsv(data, {"volume", "regime", "event", "promo"}, &c.categorical);
  ASSERT_TRUE(p.ok()) << p.status().message();
  const Series& s = p->series[0];
  EXPECT_EQ(s.exog[1], (std::vector<double>{1, 2, 2}));  // "0" -> 1, "1" and "1.0" -> 2
  EXPECT_EQ(s.exog[2], (std::vector<double>{3, 0, 0}));  // promo -> 3, unseen and empty -> 0
  EXPECT_EQ(s.exog[3], (std::vector<double>{0.1, 0.2, 0.3}));
  ASSERT_TRUE(AttachStaticCsv(stat, c.stat_exog_list, &*p, &c.categorical).ok());
  EXPECT_EQ(p->series[0].static_values, (std::vector<double>{3, 2.5}));
  // Without the vocabulary the labels are bad numbers, with file, line and field.
  Result<Panel> plain = ReadLongCsv(data, {"volume", "regime", "event", "promo"});
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find(":2: field 'event'"), std::string::npos) << plain.status().message();
}

// NeuralForecast._build_categorical_vocab: sorted distinct labels, NaN dropped, numbers by value.
TEST(Categorical, VocabularyIsBuiltAsNeuralforecastBuildsIt) {
  const std::string path = ::testing::TempDir() + "/cat_vocab.csv";
  std::ofstream(path) << "unique_id,ds,y,event,tier,sector\n"
                         "a,1,1,promo,10,Tech\na,2,1,,9,energy\na,3,1,holiday,3,NaN\n"
                         "b,1,1,promo,3.0,Energy\nb,2,1,NA,2.5,Tech\n";
  const auto labels = ReadCategoryLabels(path, {"event", "tier", "sector"});
  ASSERT_TRUE(labels.ok()) << labels.status().message();
  EXPECT_EQ((*labels)[0], (std::vector<std::string>{"holiday", "promo"}));
  // By value, not as text ("10" after "9"); "3" and "3.0" are the one value pandas reads.
  EXPECT_EQ((*labels)[1], (std::vector<std::string>{"2.5", "3", "9", "10"}));
  // Text by code point: upper case first, as Python's sorted().
  EXPECT_EQ((*labels)[2], (std::vector<std::string>{"Energy", "Tech", "energy"}));
  const auto missing = ReadCategoryLabels(path, {"event", "store"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(":1: field 'store': missing column"), std::string::npos)
      << missing.status().message();
  std::ofstream(path, std::ios::app) << "b,3,1,promo\n";
  const auto ragged = ReadCategoryLabels(path, {"event"});
  ASSERT_FALSE(ragged.ok());
  // The first field the row lacks, as the data reader names it (not the first column asked for).
  EXPECT_NE(ragged.status().message().find(":7: field 'tier': row has 4 fields"), std::string::npos)
      << ragged.status().message();
}

// The tables' gradient is checked against the embedding it feeds: Embed is linear in the table
// weights (the unseen mean included), so for any change D of the tables the change of
// sum(d_out * Embed(W)) is exactly <gradient, D>. Codes cover seen, unseen (0) and out of range.
TEST(Categorical, TableGradientMatchesTheEmbeddingItFeeds) {
  const NhitsConfig c = CategoricalConfig();
  const int n = 3, L = c.input_size, H = c.h;
  CategoricalEmbeddings tables(c);
  tables.InitWeights(4);
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> code(0, 4);  // 4 is out of range for every table here
  std::vector<float> hist(n * L * 2), futr(n * (L + H) * 2), stat(n * 2);
  for (auto* v : {&hist, &futr, &stat})
    for (std::size_t i = 0; i < v->size(); ++i) (*v)[i] = i % 2 == 0 ? 0.5f * static_cast<float>(i) : static_cast<float>(code(rng));
  // hist is (volume, regime), futr (event, promo), stat (region, size): the codes sit at 1, 0, 0.
  for (std::size_t i = 0; i < hist.size(); i += 2) std::swap(hist[i], hist[i + 1]);
  const ExogBatch<float> in{hist.data(), futr.data(), stat.data()};
  const std::size_t nh = static_cast<std::size_t>(n) * L * tables.hist_width(),
                    nf = static_cast<std::size_t>(n) * (L + H) * tables.futr_width(),
                    ns = static_cast<std::size_t>(n) * tables.stat_width();
  const std::vector<float> dh = Random(nh, 1), df = Random(nf, 2), ds = Random(ns, 3);
  std::vector<float> grad(tables.weight_count(), 0.0f);
  tables.AccumulateGradient(n, in, {dh.data(), df.data(), ds.data()}, grad.data());
  auto objective = [&](const CategoricalEmbeddings& t) {
    std::vector<float> eh(nh), ef(nf), es(ns);
    t.Embed(n, in, eh.data(), ef.data(), es.data());
    double sum = 0;
    for (std::size_t i = 0; i < nh; ++i) sum += double(dh[i]) * eh[i];
    for (std::size_t i = 0; i < nf; ++i) sum += double(df[i]) * ef[i];
    for (std::size_t i = 0; i < ns; ++i) sum += double(ds[i]) * es[i];
    return sum;
  };
  const std::vector<float> delta = Random(tables.weight_count(), 7);
  CategoricalEmbeddings moved = tables;
  std::vector<float> w = tables.FlatWeights();
  for (std::size_t i = 0; i < w.size(); ++i) w[i] += delta[i];
  moved.SetFlatWeights(w);
  double predicted = 0;
  for (std::size_t i = 0; i < grad.size(); ++i) predicted += double(grad[i]) * delta[i];
  EXPECT_NEAR(objective(moved) - objective(tables), predicted, 1e-4 * std::abs(predicted));
  EXPECT_GT(std::abs(predicted), 1.0);
  // Row 0 (the untrained unseen slot) takes no gradient; a code that took the mean reached rows 1..
  for (std::size_t t = 0, offset = 0; t < tables.tables().size(); offset += tables.tables()[t++].weight.size())
    for (int d = 0; d < tables.tables()[t].dim; ++d) EXPECT_EQ(grad[offset + d], 0.0f) << tables.tables()[t].tensor_name;
}

// A synthetic panel where only a future-known label says when y spikes: y = 3 on "spike" steps,
// about 0 otherwise. A model given the label as a categorical column must learn it; the same
// model without it cannot know the future and scores far worse on the held-out windows.
TEST(Categorical, TrainingLearnsWhatOnlyTheLabelTells) {
  std::mt19937 rng(3);
  std::bernoulli_distribution spike(0.25);
  std::normal_distribution<double> noise(0, 0.05);
  Panel panel;
  panel.exog_names = {"event"};
  for (int s = 0; s < 8; ++s) {
    Series series;
    series.unique_id = "s" + std::to_string(s);
    std::vector<double> event;
    for (int t = 0; t < 200; ++t) {
      const bool up = spike(rng);
      series.ds.push_back(Timestamp{t});
      series.y.push_back((up ? 3.0 : 0.0) + noise(rng));
      event.push_back(up ? 2 : 1);  // codes of the vocabulary {"calm", "spike"}
    }
    series.exog.push_back(event);
    panel.series.push_back(series);
  }
  NhitsConfig with = CategoricalConfig();
  with.hist_exog_list.clear();
  with.stat_exog_list.clear();
  with.futr_exog_list = {"event"};
  with.categorical = {Column("event", 2, 2, {"calm", "spike"})};
  with.mlp_units = {{32, 32}, {32, 32}};
  NhitsConfig without = with;
  without.futr_exog_list.clear();
  without.categorical.clear();
  TrainOptions o;
  o.max_steps = 300;
  o.windows_batch_size = 64;
  o.learning_rate = 3e-3;
  o.val_size = 0;
  o.num_threads = 1;
  o.verbose = false;
  const int test_size = 40;
  auto heldout_mae = [&](const NhitsConfig& config, Model* model) {
    Result<TrainReport> r = Train(*model, panel, o, test_size);
    EXPECT_TRUE(r.ok()) << r.status().message();
    std::vector<ForecastOrigin> origins;
    for (int s = 0; s < 8; ++s)
      for (int end = 200 - test_size; end + config.h <= 200; end += config.h) origins.push_back({s, end});
    const std::vector<float> f = ForecastFrom(*model, panel, origins);
    double sum = 0;
    for (std::size_t w = 0; w < origins.size(); ++w)
      for (int j = 0; j < config.h; ++j)
        sum += std::abs(f[w * config.h + j] - panel.series[origins[w].series].y[origins[w].end + j]);
    return sum / (origins.size() * config.h);
  };
  Model cat(with), plain(without);
  const CategoricalEmbeddings initial = [&] {
    CategoricalEmbeddings t(with);
    t.InitWeights(static_cast<std::uint64_t>(o.random_seed));
    return t;
  }();
  const double cat_mae = heldout_mae(with, &cat), plain_mae = heldout_mae(without, &plain);
  EXPECT_LT(cat_mae, 0.4 * plain_mae) << "with the label " << cat_mae << ", without " << plain_mae;
  EXPECT_LT(cat_mae, 0.3);
  const auto& learned = cat.embeddings().tables()[0].weight;
  const auto& start = initial.tables()[0].weight;
  for (int d = 0; d < 2; ++d) {
    EXPECT_EQ(learned[d], start[d]) << "row 0 (unseen) is never trained";
    EXPECT_NE(learned[2 + d], start[2 + d]) << "row 1 (calm) is trained";
  }
}

TEST(Categorical, CheckpointKeepsTablesAndVocabularyUnderNeuralforecastsNames) {
  const NhitsConfig c = CategoricalConfig();
  Model cat(c);
  cat.mutable_network().InitParams(8);
  FillTables(&cat);
  const std::string path = ::testing::TempDir() + "/categorical.safetensors";
  ASSERT_TRUE(SaveCheckpoint(path, cat).ok());
  Result<Model> back = LoadCheckpoint(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->config().categorical.size(), 3u);
  EXPECT_EQ(back->config().categorical[2].vocabulary, c.categorical[2].vocabulary);
  EXPECT_EQ(back->config().categorical[0].emb_dim, 3);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(back->embeddings().tables()[i].weight, cat.embeddings().tables()[i].weight);
  Result<SafetensorsFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->tensors.count("futr_cat_embeddings.0.weight"));
  EXPECT_EQ(file->tensors["futr_cat_embeddings.0.weight"].shape, (std::vector<std::int64_t>{4, 3}));
  // A file without one of the tables, or with a wrong shape, is refused naming the tensor.
  SafetensorsFile broken = *file;
  broken.tensors.erase("stat_cat_embeddings.0.weight");
  ASSERT_TRUE(WriteSafetensors(path, broken).ok());
  Result<Model> missing = LoadCheckpoint(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing tensor 'stat_cat_embeddings.0.weight'"), std::string::npos);
  broken = *file;
  broken.tensors["hist_cat_embeddings.0.weight"] = Tensor{{5, 2}, std::vector<float>(10, 0.0f)};
  ASSERT_TRUE(WriteSafetensors(path, broken).ok());
  Result<Model> shaped = LoadCheckpoint(path);
  ASSERT_FALSE(shaped.ok());
  EXPECT_NE(shaped.status().message().find("hist_cat_embeddings.0.weight' has shape"), std::string::npos)
      << shaped.status().message();
}

}  // namespace
}  // namespace nhits
