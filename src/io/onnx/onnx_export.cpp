#include "io/onnx/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <cstring>
#include <limits>
#include <map>
#include <vector>

#include "backend/cpu/quantized_linear.h"
#include "nhits/distribution.h"
#include "nhits/safetensors.h"  // WriteFileAtomic
#include "nhits/scaler.h"

namespace nhits {
namespace {

// IEEE half, round to nearest even (what numpy's astype(float16) does).
std::uint16_t ToHalf(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflows to inf
  if (abs < 0x38800000u) {  // subnormal half (or zero)
    const std::uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(abs >> 23);  // value = mant * 2^(e - 150) = half_mant * 2^-24
    if (shift > 24) return static_cast<std::uint16_t>(sign);
    std::uint32_t v = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (v & 1u))) ++v;
    return static_cast<std::uint16_t>(sign | v);
  }
  std::uint32_t v = ((abs >> 13) - (112u << 10));
  const std::uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (v & 1u))) ++v;
  return static_cast<std::uint16_t>(sign | v);
}

// Small helper over GraphProto: unique names, typed initializers, nodes with attributes.
class Graph {
 public:
  Graph(onnx::GraphProto* g, bool fp16) : g_(g), fp16_(fp16) {}

  int elem() const { return fp16_ ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::FLOAT; }

  // A float initializer in the graph's compute type.
  std::string Weights(const std::string& hint, const std::vector<std::int64_t>& dims, const std::vector<float>& v) {
    return Float(hint, dims, v, fp16_);
  }
  // Always float32 (the scaler runs in float32).
  std::string Float32(const std::string& hint, const std::vector<std::int64_t>& dims, const std::vector<float>& v) {
    return Float(hint, dims, v, false);
  }
  std::string Int64(const std::string& hint, const std::vector<std::int64_t>& v) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(Unique(hint));
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(v.size()));
    for (std::int64_t x : v) t->add_int64_data(x);
    return t->name();
  }

  std::string Int8(const std::string& hint, const std::vector<std::int64_t>& dims, const std::vector<std::int8_t>& v) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(Unique(hint));
    t->set_data_type(onnx::TensorProto::INT8);
    for (auto d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size()));
    return t->name();
  }

  onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint) {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(Unique(hint + "_" + op));
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(Unique(hint));
    return n;
  }
  std::string Op(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint) {
    return Node(op, inputs, hint)->output(0);
  }
  static void Attr(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void Attr(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void Attr(onnx::NodeProto* n, const std::string& name, const std::vector<std::int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }

 private:
  std::string Float(const std::string& hint, const std::vector<std::int64_t>& dims, const std::vector<float>& v, bool half) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(Unique(hint));
    for (auto d : dims) t->add_dims(d);
    if (half) {
      t->set_data_type(onnx::TensorProto::FLOAT16);
      std::string raw(v.size() * 2, '\0');
      for (std::size_t i = 0; i < v.size(); ++i) {
        const std::uint16_t h = ToHalf(v[i]);
        raw[2 * i] = static_cast<char>(h & 0xff);
        raw[2 * i + 1] = static_cast<char>(h >> 8);
      }
      t->set_raw_data(raw);
    } else {
      t->set_data_type(onnx::TensorProto::FLOAT);
      t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
    }
    return t->name();
  }
  std::string Unique(const std::string& hint) { return hint + "_" + std::to_string(next_++); }

  onnx::GraphProto* g_;
  bool fp16_;
  int next_ = 0;
};

void AddIo(onnx::ValueInfoProto* v, const std::string& name, const std::vector<std::int64_t>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (auto d : dims) shape->add_dim()->set_dim_value(d);
}

struct ScaledInput {
  std::string z;                 // scaled insample (float32)
  std::string shift, scale;      // [B,1], for the inverse
};

// Statistics of `x` over `axis` at the points where `m` > 0 (m broadcasts against x), applied
// to `apply_to` (x itself when empty): y's window, or an exogenous column's insample part whose
// statistics then scale its whole window, future included.
ScaledInput AddScaler(Graph& g, const NhitsConfig& c, const std::string& x, const std::string& m,
                      std::int64_t axis = 1, std::string apply_to = "") {
  if (apply_to.empty()) apply_to = x;
  const std::string axes = g.Int64("axes", {axis});
  const std::string zero = g.Float32("zero", {}, {0.0f}), one = g.Float32("one", {}, {1.0f});
  const std::string eps = g.Float32("eps", {}, {1e-6f});
  const std::string observed = g.Op("Greater", {m, zero}, "observed");
  auto* castn = g.Node("Cast", {observed}, "observed_f");
  Graph::Attr(castn, "to", static_cast<std::int64_t>(onnx::TensorProto::FLOAT));
  const std::string mf = castn->output(0);
  auto reduce = [&](const std::string& op, const std::string& v, const std::string& hint) {
    // Opset 17: ReduceSum takes its axes as an input, ReduceMin/ReduceMax still as an attribute.
    auto* n = op == "ReduceSum" ? g.Node(op, {v, axes}, hint) : g.Node(op, {v}, hint);
    if (op != "ReduceSum") Graph::Attr(n, "axes", std::vector<std::int64_t>{axis});
    Graph::Attr(n, "keepdims", static_cast<std::int64_t>(1));
    return n->output(0);
  };
  const std::string count = reduce("ReduceSum", mf, "count");
  ScaledInput s;
  if (c.scaler_type == ScalerType::kStandard || c.scaler_type == ScalerType::kRevin) {
    const std::string denom = g.Op("Max", {count, one}, "denom");
    s.shift = g.Op("Div", {reduce("ReduceSum", g.Op("Mul", {x, mf}, "xm"), "sum"), denom}, "mean");
    const std::string dev = g.Op("Mul", {g.Op("Sub", {x, s.shift}, "centred"), mf}, "dev");
    const std::string sd = g.Op("Sqrt", {g.Op("Div", {reduce("ReduceSum", g.Op("Mul", {dev, dev}, "dev2"), "ss"), denom}, "var")}, "sd");
    s.scale = g.Op("Add", {g.Op("Where", {g.Op("Equal", {sd, zero}, "flat"), one, sd}, "sd1"), eps}, "scale");
    s.z = g.Op("Div", {g.Op("Sub", {apply_to, s.shift}, "xc"), s.scale}, "z");
    return s;
  }
  // minmax / minmax1 over the observed points; no observed point: shift 0, scale 1.
  const std::string inf = g.Float32("inf", {}, {std::numeric_limits<float>::infinity()});
  const std::string ninf = g.Float32("ninf", {}, {-std::numeric_limits<float>::infinity()});
  const std::string lo = reduce("ReduceMin", g.Op("Where", {observed, x, inf}, "x_or_inf"), "lo");
  const std::string hi = reduce("ReduceMax", g.Op("Where", {observed, x, ninf}, "x_or_ninf"), "hi");
  const std::string any = g.Op("Greater", {count, zero}, "any");
  s.shift = g.Op("Where", {any, lo, zero}, "shift");
  const std::string range = g.Op("Sub", {hi, lo}, "range");
  const std::string scale0 = g.Op("Add", {g.Op("Where", {g.Op("Equal", {range, zero}, "flat"), one, range}, "range1"), eps}, "scale0");
  s.scale = g.Op("Where", {any, scale0, one}, "scale");
  const std::string unit = g.Op("Div", {g.Op("Sub", {apply_to, s.shift}, "xc"), s.scale}, "unit");
  if (c.scaler_type == ScalerType::kMinMax1) {
    const std::string two = g.Float32("two", {}, {2.0f});
    s.z = g.Op("Sub", {g.Op("Mul", {unit, two}, "unit2"), one}, "z");
  } else {
    s.z = unit;
  }
  return s;
}

std::string Unscale(Graph& g, const NhitsConfig& c, const std::string& y, const ScaledInput& s) {
  // y: [B, h*Q]; shift/scale: [B, 1].
  if (c.scaler_type == ScalerType::kMinMax1) {
    const std::string one = g.Float32("one", {}, {1.0f}), half = g.Float32("half", {}, {0.5f});
    return g.Op("Add", {g.Op("Mul", {g.Op("Mul", {g.Op("Add", {y, one}, "y1"), half}, "yh"), s.scale}, "ys"), s.shift}, "unscaled");
  }
  return g.Op("Add", {g.Op("Mul", {y, s.scale}, "ys"), s.shift}, "unscaled");
}

// DistributionLoss: the raw parameter channels y [B, h*P] to the forecast columns [B, h, C] as
// DecodeForecast computes them, with the window's shift and scale [B, 1] (0 and 1 when the graph
// has no scaler: then every column but df is in the scaled space). The Student-t quantiles come
// from the per-level Chebyshev series in 6 / df - 1, evaluated by Clenshaw's recurrence.
std::string DecodeDistribution(Graph& g, const NhitsConfig& c, const std::string& y, const ScaledInput& s) {
  const int H = c.h, P = c.network_outputs_per_step();
  const bool student = c.distribution == DistributionType::kStudentT;
  const std::string y3 = g.Op("Reshape", {y, g.Int64("shape", {-1, H, P})}, "params_raw");
  auto channel = [&](int k, const std::string& hint) {
    return g.Op("Slice", {y3, g.Int64("s", {k}), g.Int64("e", {k + 1}), g.Int64("a", {2})}, hint);
  };
  auto scalar = [&](const std::string& hint, float v) { return g.Float32(hint, {}, {v}); };
  auto softplus = [&](const std::string& v, const std::string& hint) {  // PyTorch's: x itself above 20
    return g.Op("Where", {g.Op("Greater", {v, scalar(hint + "_threshold", 20.0f)}, hint + "_linear"), v,
                          g.Op("Softplus", {v}, hint + "_sp")},
                hint);
  };
  const int first = student ? 1 : 0;
  std::string loc = channel(first, "raw_loc");
  std::string sd = g.Op("Add", {softplus(channel(first + 1, "raw_scale"), "softplus_scale"),
                                scalar("eps", student ? 0.1f : 0.2f)}, "unit_scale");
  if (!s.scale.empty()) {
    const std::string axis2 = g.Int64("axis2", {2});
    const std::string shift3 = g.Op("Unsqueeze", {s.shift, axis2}, "shift3"),
                      scale3 = g.Op("Unsqueeze", {s.scale, axis2}, "scale3");
    loc = g.Op("Add", {g.Op("Mul", {loc, scale3}, "loc_scaled"), shift3}, "loc");
    sd = g.Op("Mul", {sd, scale3}, "scale");
  }
  // Quantile columns after the median: the lows widest first, then the highs narrowest first.
  std::vector<double> order = c.level;
  std::vector<int> signs;
  std::sort(order.begin(), order.end(), std::greater<>());
  const std::size_t n = order.size();
  for (std::size_t k = 0; k < n; ++k) order.push_back(order[n - 1 - k]);
  for (std::size_t k = 0; k < 2 * n; ++k) signs.push_back(k < n ? -1 : 1);
  const auto columns = static_cast<std::int64_t>(2 * n);
  std::string u, df;
  if (!student) {
    std::vector<float> z;
    for (std::size_t k = 0; k < 2 * n; ++k)
      z.push_back(static_cast<float>(signs[k] * NormalQuantile(0.5 + order[k] / 200.0)));
    u = g.Float32("normal_quantiles", {columns}, z);
  } else {
    df = g.Op("Add", {softplus(channel(0, "raw_df"), "softplus_df"), scalar("three", 3.0f)}, "df");
    const std::string x = g.Op("Sub", {g.Op("Div", {scalar("six", 6.0f), df}, "six_over_df"), scalar("one", 1.0f)}, "cheb_x");
    const std::string two_x = g.Op("Mul", {x, scalar("two", 2.0f)}, "cheb_2x");
    std::vector<std::vector<double>> coef;
    for (std::size_t k = 0; k < 2 * n; ++k) coef.push_back(StudentTQuantileSeriesCoefficients(order[k]));
    const int terms = static_cast<int>(coef[0].size());
    auto term = [&](int t) {  // c_t of every column, signed
      std::vector<float> v;
      for (std::size_t k = 0; k < 2 * n; ++k) v.push_back(static_cast<float>(signs[k] * coef[k][static_cast<std::size_t>(t)]));
      return g.Float32("cheb_c" + std::to_string(t), {columns}, v);
    };
    std::string b1 = term(terms - 1), b2;
    for (int t = terms - 2; t >= 1; --t) {
      std::string b0 = g.Op("Add", {g.Op("Mul", {two_x, b1}, "cheb_2xb"), term(t)}, "cheb_b");
      if (!b2.empty()) b0 = g.Op("Sub", {b0, b2}, "cheb_b");
      b2 = b1;
      b1 = b0;
    }
    u = g.Op("Add", {g.Op("Sub", {g.Op("Mul", {x, b1}, "cheb_xb"), b2}, "cheb_sum"), term(0)}, "student_quantiles");
  }
  const std::string quantiles = g.Op("Add", {loc, g.Op("Mul", {sd, u}, "spread")}, "quantiles");
  std::vector<std::string> parts{loc, loc, quantiles};  // the mean and the median are loc
  if (c.return_params) {
    if (student) parts.push_back(df);
    parts.push_back(loc);
    parts.push_back(sd);
  }
  auto* cat = g.Node("Concat", parts, "columns");
  Graph::Attr(cat, "axis", static_cast<std::int64_t>(2));
  return cat->output(0);
}

}  // namespace

Status ExportOnnx(const Model& model, const std::string& path, const OnnxExportOptions& options) {
  const NhitsConfig& c = model.config();
  if (options.with_scaler && (c.scaler_type == ScalerType::kRobust || c.scaler_type == ScalerType::kInvariant))
    return Status::Unsupported("--with-scaler: the '" + ToString(c.scaler_type) +
                               "' scaler needs a median, which ONNX has no operator for; export without "
                               "--with-scaler and scale the windows before the graph");
  // Q: the network's channels per step; C: the forecast's columns (more for DistributionLoss).
  const int L = c.input_size, H = c.h, Q = c.network_outputs_per_step(), C = c.outputs_per_step();
  const ParamLayout& layout = model.network().layout();
  const bool need_ranges = options.int8_qdq || !options.tensorrt_cache.empty();
  if (options.int8_qdq && options.fp16) return Status::InvalidArgument("--int8 and --fp16 cannot be combined");
  if (options.int8_qdq && options.plan.precision != Precision::kInt8)
    return Status::InvalidArgument("--int8: the checkpoint is not an INT8 one; run `nhits quantize` first");
  if (need_ranges) {
    bool ok = options.activation_amax.size() == layout.blocks.size();
    for (std::size_t b = 0; ok && b < layout.blocks.size(); ++b)
      ok = options.activation_amax[b].size() == layout.blocks[b].layers.size();
    if (!ok)
      return Status::InvalidArgument("INT8 export and TensorRT caches need calibrated activation ranges: quantise the "
                                     "model with `nhits quantize --calibration DATA` (it records them) and export that");
  }
  std::vector<std::pair<std::string, float>> cache_entries;  // tensor -> amax
  const std::vector<float>& p = model.network().params();

  onnx::ModelProto proto;
  proto.set_ir_version(8);
  proto.set_producer_name(options.producer);
  proto.set_producer_version("0.1.0");
  proto.set_domain("ai.nhits");
  auto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  auto* meta = proto.add_metadata_props();
  meta->set_key("nhits_config");
  meta->set_value(ConfigToJson(c));
  // The forecast's last dimension by name, as neuralforecast's columns ("NHITS", "NHITS-lo-90", ...).
  std::string columns = "[";
  for (const std::string& suffix : c.output_names()) columns += (columns.size() > 1 ? ",\"NHITS" : "\"NHITS") + suffix + "\"";
  auto* names = proto.add_metadata_props();
  names->set_key("forecast_columns");
  names->set_value(columns + "]");
  onnx::GraphProto* graph = proto.mutable_graph();
  graph->set_name("nhits");
  AddIo(graph->add_input(), "insample_y", {L});
  AddIo(graph->add_input(), "insample_mask", {L});
  const int X = static_cast<int>(c.hist_exog_list.size()), F = static_cast<int>(c.futr_exog_list.size()),
            S = static_cast<int>(c.stat_exog_list.size());
  if (X > 0) AddIo(graph->add_input(), "hist_exog", {L, X});
  if (F > 0) AddIo(graph->add_input(), "futr_exog", {L + H, F});
  if (S > 0) AddIo(graph->add_input(), "stat_exog", {S});
  AddIo(graph->add_output(), "forecast", {H, C});
  Graph g(graph, options.fp16);

  std::string x = "insample_y", m = "insample_mask";
  ScaledInput scaled;
  if (options.with_scaler && c.scaler_type != ScalerType::kIdentity) {
    scaled = AddScaler(g, c, x, m);
    x = scaled.z;
    if (c.scaler_type == ScalerType::kRevin) {  // the way back only: as RevinAdjusted
      const ScaleStats unit = RevinAdjusted(c, ScaleStats{0.0, 1.0});
      scaled.shift = g.Op("Add", {scaled.shift, g.Float32("revin_bias", {}, {static_cast<float>(unit.shift)})}, "revin_shift");
      scaled.scale = g.Op("Mul", {scaled.scale, g.Float32("revin_factor", {}, {static_cast<float>(unit.scale)})}, "revin_scale");
    }
  }
  // exclude_insample_y: the window only sets the statistics (neuralforecast multiplies it by 0)
  if (c.exclude_insample_y) x = g.Op("Mul", {x, g.Float32("exclude_insample_y", {}, {0.0f})}, "insample_excluded");
  // Exogenous columns as [B, C, T] (channels first, as pooling wants them), scaled per column
  // with statistics over the insample steps where y is observed.
  auto exog_ncw = [&](const std::string& input, int steps, const std::string& hint) {
    auto* tr = g.Node("Transpose", {input}, hint + "_ncw");
    Graph::Attr(tr, "perm", std::vector<std::int64_t>{0, 2, 1});
    std::string e = tr->output(0);
    if (options.with_scaler && c.scaler_type != ScalerType::kIdentity) {
      const std::string insample =
          steps == L ? e : g.Op("Slice", {e, g.Int64("s", {0}), g.Int64("e", {L}), g.Int64("a", {2})}, hint + "_insample");
      const std::string m3 = g.Op("Unsqueeze", {m, g.Int64("axis1", {1})}, hint + "_mask");
      e = AddScaler(g, c, insample, m3, 2, e).z;
    }
    if (options.fp16) {
      auto* ce = g.Node("Cast", {e}, hint + "16");
      Graph::Attr(ce, "to", static_cast<std::int64_t>(onnx::TensorProto::FLOAT16));
      e = ce->output(0);
    }
    return e;
  };
  // Categorical columns hold codes: the scaler sees only the continuous columns (gathered on the
  // feature axis `axis`), and each code becomes its embedding row, appended after them as the
  // network's layout has it. Row 0 of an exported table is the unseen row (the mean of the
  // learned rows), which every code outside 1..cardinality takes, as CategoricalEmbeddings does.
  auto continuous = [&](const std::string& input, const std::vector<std::string>& list, int axis, const std::string& hint) {
    std::vector<std::int64_t> idx;
    for (std::size_t k = 0; k < list.size(); ++k)
      if (c.FindCategorical(list[k]) == nullptr) idx.push_back(static_cast<std::int64_t>(k));
    if (idx.size() == list.size() || idx.empty()) return idx.empty() ? std::string() : input;
    auto* n = g.Node("Gather", {input, g.Int64(hint + "_continuous_idx", idx)}, hint + "_continuous");
    Graph::Attr(n, "axis", static_cast<std::int64_t>(axis));
    return n->output(0);
  };
  // [B, (T,) C] codes -> [B, (T,) d] rows per categorical column, in cat_exog_list order.
  auto embeddings = [&](const std::string& input, const std::vector<std::string>& list, int axis, const std::string& hint) {
    std::vector<std::string> out;
    for (const CategoricalColumn& col : c.categorical) {
      const auto at = std::find(list.begin(), list.end(), col.name);
      if (at == list.end()) continue;
      const auto& t = *model.embeddings().TableFor(col.name);
      std::vector<float> table = t.weight;
      std::copy(t.unseen.begin(), t.unseen.end(), table.begin());
      auto* pick = g.Node("Gather", {input, g.Int64(hint + "_code_idx", {at - list.begin()})}, hint + "_" + col.name + "_code");
      Graph::Attr(pick, "axis", static_cast<std::int64_t>(axis));
      const std::string code = pick->output(0);  // [B, (T,) 1]
      const std::string valid = g.Op(
          "And", {g.Op("Equal", {g.Op("Round", {code}, hint + "_round"), code}, hint + "_whole"),
                  g.Op("And", {g.Op("GreaterOrEqual", {code, g.Float32("one", {}, {1.0f})}, hint + "_ge1"),
                               g.Op("Less", {code, g.Float32("rows", {}, {static_cast<float>(t.rows)})}, hint + "_lt")},
                       hint + "_range")},
          hint + "_valid");
      auto* as_int = g.Node("Cast", {g.Op("Where", {valid, code, g.Float32("zero", {}, {0.0f})}, hint + "_code_or_0")},
                            hint + "_row");
      Graph::Attr(as_int, "to", static_cast<std::int64_t>(onnx::TensorProto::INT64));
      const std::string rows = g.Op("Gather", {g.Weights(t.tensor_name, {t.rows, t.dim}, table), as_int->output(0)},
                                    hint + "_" + col.name + "_emb");  // [B, (T,) 1, d]
      const std::vector<std::int64_t> shape = axis == 2 ? std::vector<std::int64_t>{0, 0, t.dim}
                                                        : std::vector<std::int64_t>{0, t.dim};
      out.push_back(g.Op("Reshape", {rows, g.Int64("emb_shape", shape)}, hint + "_" + col.name + "_rows"));
    }
    return out;
  };
  // A temporal stream as the network takes it: [B, C', T] (scaled continuous columns, then rows).
  auto temporal_stream = [&](const std::string& input, const std::vector<std::string>& list, int steps,
                             const std::string& hint) {
    const std::string cont = continuous(input, list, 2, hint);
    std::vector<std::string> parts;
    if (!cont.empty()) parts.push_back(exog_ncw(cont, steps, hint));
    for (const std::string& e : embeddings(input, list, 2, hint)) {
      auto* tr = g.Node("Transpose", {e}, hint + "_emb_ncw");
      Graph::Attr(tr, "perm", std::vector<std::int64_t>{0, 2, 1});
      parts.push_back(tr->output(0));  // in the compute type already: the table is a Weights initializer
    }
    if (parts.size() == 1) return parts.front();
    auto* cat = g.Node("Concat", parts, hint + "_embedded");
    Graph::Attr(cat, "axis", static_cast<std::int64_t>(1));
    return cat->output(0);
  };
  const std::string hist = X > 0 ? temporal_stream("hist_exog", c.hist_exog_list, L, "hist") : "";
  const std::string futr = F > 0 ? temporal_stream("futr_exog", c.futr_exog_list, L + H, "futr") : "";
  std::string stat;
  if (S > 0) {
    std::vector<std::string> parts;
    if (std::string cont = continuous("stat_exog", c.stat_exog_list, 1, "stat"); !cont.empty()) {
      if (options.fp16) {
        auto* cs = g.Node("Cast", {cont}, "stat16");
        Graph::Attr(cs, "to", static_cast<std::int64_t>(onnx::TensorProto::FLOAT16));
        cont = cs->output(0);
      }
      parts.push_back(cont);
    }
    for (const std::string& e : embeddings("stat_exog", c.stat_exog_list, 1, "stat")) parts.push_back(e);
    if (parts.size() == 1) {
      stat = parts.front();
    } else {
      auto* cat = g.Node("Concat", parts, "stat_embedded");
      Graph::Attr(cat, "axis", static_cast<std::int64_t>(1));
      stat = cat->output(0);
    }
  }
  // A block's pooled exogenous inputs, flattened time-major as neuralforecast does: the same for
  // every block with the same kernel, so built once per kernel.
  std::map<int, std::vector<std::string>> exog_by_kernel;
  auto exog_parts = [&](int k) -> const std::vector<std::string>& {
    auto it = exog_by_kernel.find(k);
    if (it != exog_by_kernel.end()) return it->second;
    std::vector<std::string> parts;
    for (const std::string& e : {hist, futr}) {
      if (e.empty()) continue;
      std::string pooled = e;
      if (k > 1) {
        auto* pool = g.Node(c.pooling_mode == PoolingMode::kMaxPool1d ? "MaxPool" : "AveragePool", {e}, e + "_pool");
        Graph::Attr(pool, "kernel_shape", std::vector<std::int64_t>{k});
        Graph::Attr(pool, "strides", std::vector<std::int64_t>{k});
        Graph::Attr(pool, "ceil_mode", static_cast<std::int64_t>(1));
        if (c.pooling_mode != PoolingMode::kMaxPool1d) Graph::Attr(pool, "count_include_pad", static_cast<std::int64_t>(0));
        pooled = pool->output(0);
      }
      auto* tr = g.Node("Transpose", {pooled}, e + "_ntc");
      Graph::Attr(tr, "perm", std::vector<std::int64_t>{0, 2, 1});
      parts.push_back(g.Op("Reshape", {tr->output(0), g.Int64("flat", {0, -1})}, e + "_flat"));
    }
    if (!stat.empty()) parts.push_back(stat);
    return exog_by_kernel.emplace(k, std::move(parts)).first->second;
  };
  if (options.fp16) {
    auto* cx = g.Node("Cast", {x}, "x16");
    Graph::Attr(cx, "to", static_cast<std::int64_t>(onnx::TensorProto::FLOAT16));
    auto* cm = g.Node("Cast", {m}, "m16");
    Graph::Attr(cm, "to", static_cast<std::int64_t>(onnx::TensorProto::FLOAT16));
    x = cx->output(0);
    m = cm->output(0);
  }
  // The backcast runs in time-reversed coordinates (as Network::Forward does).
  std::vector<std::int64_t> reversed(static_cast<std::size_t>(L));
  for (int t = 0; t < L; ++t) reversed[static_cast<std::size_t>(t)] = L - 1 - t;
  const std::string rev = g.Int64("reverse", reversed);
  auto gather = [&](const std::string& v, const std::string& hint) {
    auto* n = g.Node("Gather", {v, rev}, hint);
    Graph::Attr(n, "axis", static_cast<std::int64_t>(1));
    return n->output(0);
  };
  std::string r = gather(x, "residual");
  const std::string mask_rev = gather(m, "mask_rev");
  const std::string level = g.Op("Slice", {x, g.Int64("s", {L - 1}), g.Int64("e", {L}), g.Int64("a", {1})}, "level");
  const std::string axis1 = g.Int64("axis1", {1});
  std::string acc;
  for (std::size_t bi = 0; bi < layout.blocks.size(); ++bi) {
    const BlockLayout& blk = layout.blocks[bi];
    const std::string hint = "b" + std::to_string(bi);
    std::string h = r;
    if (blk.pool_kernel > 1) {
      const std::string u = g.Op("Unsqueeze", {r, axis1}, hint + "_nchw");
      auto* pool = g.Node(c.pooling_mode == PoolingMode::kMaxPool1d ? "MaxPool" : "AveragePool", {u}, hint + "_pool");
      Graph::Attr(pool, "kernel_shape", std::vector<std::int64_t>{blk.pool_kernel});
      Graph::Attr(pool, "strides", std::vector<std::int64_t>{blk.pool_kernel});
      Graph::Attr(pool, "ceil_mode", static_cast<std::int64_t>(1));
      if (c.pooling_mode != PoolingMode::kMaxPool1d) Graph::Attr(pool, "count_include_pad", static_cast<std::int64_t>(0));
      h = g.Op("Squeeze", {pool->output(0), axis1}, hint + "_pooled");
    }
    if (c.has_exog()) {  // z = [pool(residual) | pool(hist) | pool(futr) | stat]
      std::vector<std::string> z{h};
      for (const std::string& part : exog_parts(blk.pool_kernel)) z.push_back(part);
      auto* cat = g.Node("Concat", z, hint + "_input");
      Graph::Attr(cat, "axis", static_cast<std::int64_t>(1));
      h = cat->output(0);
    }
    const float slope = c.activation == Activation::kPReLU ? p[blk.prelu] : 0.0f;
    for (std::size_t li = 0; li < blk.layers.size(); ++li) {
      const LinearSlot& l = blk.layers[li];
      const std::string lh = hint + "_l" + std::to_string(li);
      const std::vector<float> w32(p.begin() + static_cast<std::ptrdiff_t>(l.weight), p.begin() + static_cast<std::ptrdiff_t>(l.bias));
      const std::string b = g.Weights(lh + "_b", {l.out},
                                      std::vector<float>(p.begin() + static_cast<std::ptrdiff_t>(l.bias),
                                                         p.begin() + static_cast<std::ptrdiff_t>(l.bias + l.out)));
      std::string w, x_in = h;
      if (need_ranges) cache_entries.emplace_back(h, options.activation_amax[bi][li]);
      if (options.int8_qdq &&
          options.plan.LayerPrecision(static_cast<int>(bi), static_cast<int>(li)) == Precision::kInt8) {
        // Activations: static symmetric per-tensor scale; weights: the engine's own INT8 values.
        const float amax = options.activation_amax[bi][li];
        const std::string xs = g.Float32(lh + "_x_scale", {}, {amax > 0 ? amax / 127.0f : 1.0f / 127.0f});
        const std::string zp = g.Int8(lh + "_x_zero", {}, {0});
        const std::string qx = g.Op("QuantizeLinear", {h, xs, zp}, lh + "_xq");
        x_in = g.Op("DequantizeLinear", {qx, xs, zp}, lh + "_xdq");
        const cpu::Int8Weights q = cpu::QuantizeInt8(l.out, l.in, w32.data());
        std::vector<std::int8_t> packed(static_cast<std::size_t>(l.out) * l.in);
        for (int o = 0; o < l.out; ++o)
          for (int i = 0; i < l.in; ++i)
            packed[static_cast<std::size_t>(o) * l.in + i] = q.q[static_cast<std::size_t>(o) * q.ld + i];
        const std::string wq = g.Int8(lh + "_wq", {l.out, l.in}, packed);
        const std::string ws = g.Float32(lh + "_w_scale", {l.out}, q.scale);
        const std::string wz = g.Int8(lh + "_w_zero", {l.out}, std::vector<std::int8_t>(static_cast<std::size_t>(l.out), 0));
        auto* dq = g.Node("DequantizeLinear", {wq, ws, wz}, lh + "_w");
        Graph::Attr(dq, "axis", static_cast<std::int64_t>(0));
        w = dq->output(0);
      } else {
        w = g.Weights(lh + "_w", {l.out, l.in}, w32);
      }
      auto* gemm = g.Node("Gemm", {x_in, w, b}, lh);
      Graph::Attr(gemm, "transB", static_cast<std::int64_t>(1));
      h = gemm->output(0);
      if (!l.activated) continue;
      switch (c.activation) {
        case Activation::kReLU: h = g.Op("Relu", {h}, lh + "_act"); break;
        case Activation::kSoftplus: h = g.Op("Softplus", {h}, lh + "_act"); break;
        case Activation::kTanh: h = g.Op("Tanh", {h}, lh + "_act"); break;
        case Activation::kSELU: h = g.Op("Selu", {h}, lh + "_act"); break;
        case Activation::kSigmoid: h = g.Op("Sigmoid", {h}, lh + "_act"); break;
        case Activation::kLeakyReLU: {
          auto* n = g.Node("LeakyRelu", {h}, lh + "_act");
          Graph::Attr(n, "alpha", 0.01f);
          h = n->output(0);
          break;
        }
        case Activation::kPReLU: h = g.Op("PRelu", {h, g.Weights(lh + "_slope", {1}, {slope})}, lh + "_act"); break;
      }
    }
    const std::string theta = h;
    const std::string backcast = g.Op("Slice", {theta, g.Int64("s", {0}), g.Int64("e", {L}), g.Int64("a", {1})}, hint + "_backcast");
    const std::string knots = g.Op("Slice", {theta, g.Int64("s", {L}), g.Int64("e", {blk.n_theta}), g.Int64("a", {1})}, hint + "_knots");
    r = g.Op("Mul", {g.Op("Sub", {r, backcast}, hint + "_res"), mask_rev}, hint + "_next");
    // knots [B, Q*K] (quantile-major) -> forecast [B, h*Q] (step-major, as the output layout).
    const int K = blk.knots, taps = blk.interp.taps;
    std::vector<float> interp(static_cast<std::size_t>(Q) * K * H * Q, 0.0f);
    for (int q = 0; q < Q; ++q)
      for (int j = 0; j < H; ++j)
        for (int t = 0; t < taps; ++t) {
          const int k = blk.interp.index[static_cast<std::size_t>(j * taps + t)];
          interp[(static_cast<std::size_t>(q) * K + k) * H * Q + static_cast<std::size_t>(j) * Q + q] +=
              static_cast<float>(blk.interp.weight[static_cast<std::size_t>(j * taps + t)]);
        }
    const std::string f = g.Op("MatMul", {knots, g.Weights(hint + "_interp", {Q * K, H * Q}, interp)}, hint + "_forecast");
    acc = acc.empty() ? f : g.Op("Add", {acc, f}, hint + "_acc");
  }
  std::string y = g.Op("Add", {acc, level}, "with_level");  // Naive1 level on every output
  if (options.fp16) {
    auto* cy = g.Node("Cast", {y}, "y32");
    Graph::Attr(cy, "to", static_cast<std::int64_t>(onnx::TensorProto::FLOAT));
    y = cy->output(0);
  }
  if (c.distribution_loss())
    y = DecodeDistribution(g, c, y, scaled);
  else if (!scaled.scale.empty())
    y = Unscale(g, c, y, scaled);
  auto* reshape = graph->add_node();
  reshape->set_op_type("Reshape");
  reshape->set_name("forecast_Reshape");
  reshape->add_input(y);
  reshape->add_input(g.Int64("shape", {-1, H, C}));
  reshape->add_output("forecast");

  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    return Status::Internal(path + ": the exported graph fails ONNX's checker: " + e.what());
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) return Status::Internal(path + ": cannot serialise the ONNX model");
  NHITS_RETURN_IF_ERROR(WriteFileAtomic(path, bytes));
  if (options.tensorrt_cache.empty()) return Status::Ok();
  // TensorRT's calibration cache: a header, then "tensor: scale" with the scale's float32 bits
  // in hex (scale = amax / 127), for the tensors it may run in INT8: each Gemm's input.
  std::string cache = "TRT-8600-EntropyCalibration2\n";
  for (const auto& [name, amax] : cache_entries) {
    const float scale = amax > 0 ? amax / 127.0f : 1.0f / 127.0f;
    std::uint32_t bits;
    std::memcpy(&bits, &scale, 4);
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08x", bits);
    cache += name + ": " + hex + "\n";
  }
  return WriteFileAtomic(options.tensorrt_cache, cache);
}

}  // namespace nhits
