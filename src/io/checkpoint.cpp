// Model <-> safetensors with neuralforecast's state_dict names.
#include <algorithm>
#include <cmath>
#include <map>
#include <charconv>
#include <optional>
#include <string_view>
#include <set>
#include <sstream>

#include "backend/cpu/quantized_linear.h"
#include "model/packed_network.h"
#include "nhits/model.h"
#include "nhits/safetensors.h"

namespace nhits {
namespace {

constexpr const char* kConfigKey = "nhits_config";

std::string ShapeString(const std::vector<std::int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

std::string LayerKey(std::size_t block, int layer, const char* what) {
  return "blocks." + std::to_string(block) + ".layers." + std::to_string(layer) + "." + what;
}

// "blocks.<b>.layers.<i>.<weight|bias|weight_scale>", parsed by hand: std::regex recursed once per
// character and overflowed the stack on a 100 000-digit name in a hostile file.
struct LayerKeyParts {
  std::size_t block = 0;
  int layer = 0;
  std::string_view kind;
};

std::optional<LayerKeyParts> ParseLayerKey(std::string_view name) {
  auto number = [&](std::string_view prefix, auto* out) {
    if (name.substr(0, prefix.size()) != prefix) return false;
    name.remove_prefix(prefix.size());
    const std::size_t digits = name.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string_view::npos || digits > 9) return false;  // 9 digits fit an int
    std::from_chars(name.data(), name.data() + digits, *out);
    name.remove_prefix(digits);
    return true;
  };
  LayerKeyParts k;
  if (!number("blocks.", &k.block) || !number(".layers.", &k.layer) || name.empty() || name[0] != '.') return std::nullopt;
  name.remove_prefix(1);
  if (name != "weight" && name != "bias" && name != "weight_scale") return std::nullopt;
  k.kind = name;
  return k;
}

}  // namespace

Status SaveCheckpoint(const std::string& path, const Model& model, const TrainOptions* train,
                      const CheckpointInfo& info, const PrecisionPlan& precision) {
  const NhitsConfig& c = model.config();
  const ParamLayout& layout = model.network().layout();
  const std::vector<float>& p = model.network().params();
  const std::vector<int> indices = LinearLayerIndices(c);
  SafetensorsFile file;
  for (std::size_t b = 0; b < layout.blocks.size(); ++b) {
    const BlockLayout& blk = layout.blocks[b];
    for (std::size_t li = 0; li < blk.layers.size(); ++li) {
      const LinearSlot& l = blk.layers[li];
      Tensor w{{l.out, l.in}, std::vector<float>(p.begin() + static_cast<std::ptrdiff_t>(l.weight),
                                                  p.begin() + static_cast<std::ptrdiff_t>(l.bias))};
      Tensor bias{{l.out}, std::vector<float>(p.begin() + static_cast<std::ptrdiff_t>(l.bias),
                                               p.begin() + static_cast<std::ptrdiff_t>(l.bias + l.out))};
      const int bi = static_cast<int>(b), lj = static_cast<int>(li);
      // A pair that folds at inference is stored exactly: the fold then sees calibrated weights.
      const bool folded_pair = FoldsIntoNext(blk, precision, bi, lj) || (lj > 0 && FoldsIntoNext(blk, precision, bi, lj - 1));
      if (const Precision lp = precision.LayerPrecision(bi, lj); lp != Precision::kFp32 && !folded_pair) {
        if (lp == Precision::kBf16) {
          w.dtype = "BF16";
        } else {
          const cpu::Int8Weights q = cpu::QuantizeInt8(l.out, l.in, w.data.data());
          for (int o = 0; o < l.out; ++o)
            for (int i = 0; i < l.in; ++i)
              w.data[static_cast<std::size_t>(o) * l.in + i] = q.q[static_cast<std::size_t>(o) * q.ld + i];
          w.dtype = "I8";
          file.tensors[LayerKey(b, indices[li], "weight_scale")] = Tensor{{l.out}, q.scale};
        }
      }
      file.tensors[LayerKey(b, indices[li], "weight")] = std::move(w);
      file.tensors[LayerKey(b, indices[li], "bias")] = std::move(bias);
    }
    if (c.activation == Activation::kPReLU)  // one shared module, listed at every position
      for (std::size_t hdn = 0; hdn < c.mlp_units.size(); ++hdn)
        file.tensors[LayerKey(b, ActivationLayerIndex(c, static_cast<int>(hdn)), "weight")] = Tensor{{1}, {p[blk.prelu]}};
  }
  if (c.scaler_type == ScalerType::kRevin) {  // TemporalNorm's parameters, [1, 1, channels, 1]
    const std::size_t n = static_cast<std::size_t>(c.revin_channels());
    const std::vector<std::int64_t> shape{1, 1, static_cast<std::int64_t>(n), 1};
    file.tensors["scaler.revin_bias"] = Tensor{shape, c.revin_bias.empty() ? std::vector<float>(n, 0.0f) : c.revin_bias};
    file.tensors["scaler.revin_weight"] =
        Tensor{shape, c.revin_weight.empty() ? std::vector<float>(n, 1.0f) : c.revin_weight};
  }
  if (c.multi_quantile() || c.distribution_loss()) {
    Tensor q{{static_cast<std::int64_t>(c.quantiles().size())}, {}};
    for (double v : c.quantiles()) q.data.push_back(static_cast<float>(v));
    file.tensors["loss.quantiles"] = q;
  }
  for (const CategoricalEmbeddings::Table& t : model.embeddings().tables())
    file.tensors[t.tensor_name] = Tensor{{t.rows, t.dim}, t.weight};
  file.metadata = info;
  file.metadata.erase(kPrecisionKey);
  file.metadata.erase(kFp32LayersKey);
  file.metadata.erase(kBf16LayersKey);
  if (precision.precision != Precision::kFp32) PrecisionPlanToMetadata(precision, &file.metadata);
  file.metadata[kConfigKey] = ConfigToJson(c, train);
  file.metadata["format"] = "pt";
  return WriteSafetensors(path, file);
}

namespace {

Result<Model> LoadCheckpointUnguarded(const std::string& path, CheckpointInfo* info) {
  Result<SafetensorsFile> read = ReadSafetensors(path);
  if (!read.ok()) return read.status();
  SafetensorsFile& file = *read;
  auto cfg_it = file.metadata.find(kConfigKey);
  if (cfg_it == file.metadata.end())
    return Status::Corruption(path + ": no __metadata__[\"" + kConfigKey +
                              "\"]: this file has no NHITS configuration (export it with "
                              "tools/fixtures/make_parity_fixtures.py's writer or `nhits train`)");
  Result<NhitsConfig> config = ConfigFromJson(cfg_it->second, path);
  if (!config.ok()) return config.status();
  std::set<std::string> used;
  // scaler_type "revin": its learned parameters belong to the configuration the model is built from.
  for (const auto& [name, dst] : {std::pair<const char*, std::vector<float>*>{"scaler.revin_bias", &config->revin_bias},
                                  {"scaler.revin_weight", &config->revin_weight}}) {
    const auto it = file.tensors.find(name);
    if (config->scaler_type != ScalerType::kRevin) {
      if (it != file.tensors.end())
        return Status::InvalidArgument(path + ": tensor '" + name + "' belongs to scaler_type 'revin', the configuration's is '" +
                                       ToString(config->scaler_type) + "'");
      continue;
    }
    const std::vector<std::int64_t> want{1, 1, config->revin_channels(), 1};
    if (it == file.tensors.end()) return Status::InvalidArgument(path + ": missing tensor '" + std::string(name) + "' (scaler_type 'revin')");
    if (it->second.shape != want)
      return Status::InvalidArgument(path + ": tensor '" + name + "' has shape " + ShapeString(it->second.shape) + ", expected " +
                                     ShapeString(want) + " (y first, then " + std::to_string(want[2] - 1) + " hist/futr columns)");
    *dst = it->second.data;
    used.insert(name);
  }
  Model model(*config);
  const NhitsConfig& c = model.config();
  const ParamLayout& layout = model.network().layout();
  std::vector<float>& p = model.mutable_network().params();
  const auto& tables = model.embeddings().tables();
  for (std::size_t i = 0; i < tables.size(); ++i) {  // categorical columns' embeddings
    const auto it = file.tensors.find(tables[i].tensor_name);
    const std::vector<std::int64_t> want{tables[i].rows, tables[i].dim};
    if (it == file.tensors.end())
      return Status::InvalidArgument(path + ": missing tensor '" + tables[i].tensor_name + "' " + ShapeString(want) +
                                     " (the embedding of a cat_exog_list column)");
    if (it->second.shape != want)
      return Status::InvalidArgument(path + ": tensor '" + it->first + "' has shape " + ShapeString(it->second.shape) +
                                     ", expected " + ShapeString(want) + " (categorical_cardinalities + 1, cat_emb_dim)");
    NHITS_RETURN_IF_ERROR(model.mutable_embeddings().SetWeight(i, it->second.data));
    used.insert(it->first);
  }

  // Layer indices are read from the file (dropout and PReLU shift them), not assumed.
  std::map<std::size_t, std::map<int, std::pair<const Tensor*, const Tensor*>>> linear;  // block -> idx -> (w, b)
  std::map<std::size_t, std::map<int, const Tensor*>> scales;  // INT8 layers' per-row scales
  std::map<std::size_t, std::vector<const Tensor*>> prelu;
  for (const auto& [name, tensor] : file.tensors) {
    if (const std::optional<LayerKeyParts> m = ParseLayerKey(name)) {
      const std::size_t b = m->block;
      const int idx = m->layer;
      if (b >= layout.blocks.size())
        return Status::InvalidArgument(path + ": tensor '" + name + "' belongs to block " + std::to_string(b) +
                                       " but the configuration has " + std::to_string(layout.blocks.size()) +
                                       " blocks (n_blocks)");
      if (m->kind == "weight_scale") {
        scales[b][idx] = &tensor;
      } else if (m->kind == "weight" && tensor.shape.size() == 1 && c.activation == Activation::kPReLU) {
        if (tensor.data.size() != 1)
          return Status::InvalidArgument(path + ": PReLU slope '" + name + "' has " + std::to_string(tensor.data.size()) +
                                         " values; NHITS shares one slope per block (nn.PReLU())");
        prelu[b].push_back(&tensor);
      } else if (m->kind == "weight") {
        linear[b][idx].first = &tensor;
      } else {
        linear[b][idx].second = &tensor;
      }
      used.insert(name);
    } else if (name == "loss.quantiles" || name == "valid_loss.quantiles") {
      const std::vector<double> q = c.quantiles();
      if ((!c.multi_quantile() && !c.distribution_loss()) || tensor.data.size() != q.size())
        return Status::InvalidArgument(path + ": tensor '" + name + "' has " + std::to_string(tensor.data.size()) +
                                       " quantiles but the configuration's loss '" + ToString(c.loss) +
                                       "' has " + std::to_string(q.size()));
      for (std::size_t i = 0; i < q.size(); ++i)
        if (std::abs(tensor.data[i] - q[i]) > 1e-6)
          return Status::InvalidArgument(path + ": tensor '" + name + "' quantile " + std::to_string(i) + " is " +
                                         std::to_string(tensor.data[i]) + ", the configuration's level gives " +
                                         std::to_string(q[i]));
      used.insert(name);
    }
  }
  for (const auto& [name, tensor] : file.tensors)
    if (!used.count(name))
      return Status::InvalidArgument(path + ": unexpected tensor '" + (name.size() > 120 ? name.substr(0, 120) + "..." : name) +
                                     "' " + ShapeString(tensor.shape) +
                                     " (a tensor of a layer or loss this engine does not support)");

  for (std::size_t b = 0; b < layout.blocks.size(); ++b) {
    const BlockLayout& blk = layout.blocks[b];
    const auto& found = linear[b];
    if (found.size() != blk.layers.size())
      return Status::InvalidArgument(path + ": block " + std::to_string(b) + " has " + std::to_string(found.size()) +
                                     " linear layers in the file, the configuration (mlp_units) needs " +
                                     std::to_string(blk.layers.size()));
    std::size_t li = 0;
    for (const auto& [idx, wb] : found) {
      const LinearSlot& l = blk.layers[li++];
      if (wb.first == nullptr) return Status::InvalidArgument(path + ": missing tensor '" + LayerKey(b, idx, "weight") + "'");
      if (wb.second == nullptr) return Status::InvalidArgument(path + ": missing tensor '" + LayerKey(b, idx, "bias") + "'");
      const std::vector<std::int64_t> ws{l.out, l.in}, bs{l.out};
      if (wb.first->shape != ws)
        return Status::InvalidArgument(path + ": tensor '" + LayerKey(b, idx, "weight") + "' has shape " +
                                       ShapeString(wb.first->shape) + ", expected " + ShapeString(ws) +
                                       " for this configuration");
      if (wb.second->shape != bs)
        return Status::InvalidArgument(path + ": tensor '" + LayerKey(b, idx, "bias") + "' has shape " +
                                       ShapeString(wb.second->shape) + ", expected " + ShapeString(bs));
      std::copy(wb.first->data.begin(), wb.first->data.end(), p.begin() + static_cast<std::ptrdiff_t>(l.weight));
      const auto scale = scales[b].find(idx);
      if ((wb.first->dtype == "I8") != (scale != scales[b].end()))
        return Status::InvalidArgument(path + ": tensor '" + LayerKey(b, idx, "weight") + "' is " + wb.first->dtype +
                                       (scale == scales[b].end() ? " without" : " with") + " a '" +
                                       LayerKey(b, idx, "weight_scale") + "' (INT8 weights need one per output row)");
      if (scale != scales[b].end()) {
        if (scale->second->shape != bs)
          return Status::InvalidArgument(path + ": tensor '" + LayerKey(b, idx, "weight_scale") + "' has shape " +
                                         ShapeString(scale->second->shape) + ", expected " + ShapeString(bs));
        for (int o = 0; o < l.out; ++o)
          for (int i = 0; i < l.in; ++i) p[l.weight + static_cast<std::size_t>(o) * l.in + i] *= scale->second->data[o];
      }
      std::copy(wb.second->data.begin(), wb.second->data.end(), p.begin() + static_cast<std::ptrdiff_t>(l.bias));
    }
    if (c.activation == Activation::kPReLU) {
      if (prelu[b].empty())
        return Status::InvalidArgument(path + ": missing PReLU slope '" + LayerKey(b, ActivationLayerIndex(c, 0), "weight") + "'");
      p[blk.prelu] = prelu[b].front()->data.at(0);
    }
  }
  if (info != nullptr) {
    *info = file.metadata;
    info->erase(kConfigKey);
  }
  return model;
}

}  // namespace

// A file is untrusted input: whatever it makes a library call throw (an allocation it asks for,
// a container's bounds) comes back as an error naming the file, never as a crash of `nhits
// serve`, which loads repository models on a worker thread.
Result<Model> LoadCheckpoint(const std::string& path, CheckpointInfo* info) {
  try {
    return LoadCheckpointUnguarded(path, info);
  } catch (const std::bad_alloc&) {
    return Status::Corruption(path + ": the checkpoint asks for more memory than this machine has");
  } catch (const std::exception& e) {
    return Status::Corruption(path + ": unreadable checkpoint (" + std::string(e.what()) + ")");
  }
}

}  // namespace nhits
