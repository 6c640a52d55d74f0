#include "nhits/precision.h"

#include <algorithm>
#include <sstream>

namespace nhits {

const char* ToString(Precision p) {
  switch (p) {
    case Precision::kFp32: return "fp32";
    case Precision::kBf16: return "bf16";
    case Precision::kInt8: return "int8";
  }
  return "?";
}

Result<Precision> ParsePrecision(const std::string& name) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8})
    if (name == ToString(p)) return p;
  return Status::InvalidArgument("unknown precision '" + name + "' (choose fp32, bf16 or int8)");
}

bool PrecisionPlan::KeepsFp32(int block, int layer) const {
  return precision == Precision::kFp32 ||
         std::find(fp32_layers.begin(), fp32_layers.end(), std::make_pair(block, layer)) != fp32_layers.end();
}

Precision PrecisionPlan::LayerPrecision(int block, int layer) const {
  if (KeepsFp32(block, layer)) return Precision::kFp32;
  if (precision == Precision::kInt8 &&
      std::find(bf16_layers.begin(), bf16_layers.end(), std::make_pair(block, layer)) != bf16_layers.end())
    return Precision::kBf16;
  return precision;
}

namespace {

void DescribeLayers(std::ostringstream& os, const std::vector<std::pair<int, int>>& layers, const char* what) {
  os << layers.size() << " layer" << (layers.size() == 1 ? "" : "s") << ' ' << what << ':';
  for (const auto& [b, l] : layers) os << ' ' << b << '.' << l;
}

std::string LayersToText(const std::vector<std::pair<int, int>>& layers) {
  std::string text;
  for (const auto& [b, l] : layers) text += (text.empty() ? "" : ",") + std::to_string(b) + "." + std::to_string(l);
  return text;
}

Status LayersFromText(const std::string& key, const std::string& text, std::vector<std::pair<int, int>>* layers) {
  std::istringstream is(text);
  std::string item;
  while (std::getline(is, item, ',')) {
    int b = -1, layer = -1;
    char dot = 0;
    std::istringstream it(item);
    if (!(it >> b >> dot >> layer) || dot != '.' || b < 0 || layer < 0)
      return Status::Corruption("metadata " + key + ": '" + item + "' is not BLOCK.LAYER (e.g. 0.4)");
    layers->emplace_back(b, layer);
  }
  return Status::Ok();
}

}  // namespace

std::string PrecisionPlan::Describe() const {
  std::ostringstream os;
  os << ToString(precision);
  const bool fp32 = precision != Precision::kFp32 && !fp32_layers.empty();
  const bool bf16 = precision == Precision::kInt8 && !bf16_layers.empty();
  if (fp32 || bf16) {
    os << " (";
    if (fp32) DescribeLayers(os, fp32_layers, "kept fp32");
    if (fp32 && bf16) os << "; ";
    if (bf16) DescribeLayers(os, bf16_layers, "bf16");
    os << ')';
  }
  return os.str();
}

Result<PrecisionPlan> PrecisionPlanFromMetadata(const std::map<std::string, std::string>& metadata) {
  PrecisionPlan plan;
  auto p = metadata.find(kPrecisionKey);
  if (p == metadata.end()) return plan;
  Result<Precision> parsed = ParsePrecision(p->second);
  if (!parsed.ok()) return Status::Corruption(std::string("metadata ") + kPrecisionKey + ": " + parsed.status().message());
  plan.precision = *parsed;
  if (auto l = metadata.find(kFp32LayersKey); l != metadata.end())
    if (Status s = LayersFromText(kFp32LayersKey, l->second, &plan.fp32_layers); !s.ok()) return s;
  if (auto l = metadata.find(kBf16LayersKey); l != metadata.end()) {
    if (Status s = LayersFromText(kBf16LayersKey, l->second, &plan.bf16_layers); !s.ok()) return s;
    if (!plan.bf16_layers.empty() && plan.precision != Precision::kInt8)
      return Status::Corruption(std::string("metadata ") + kBf16LayersKey + ": BF16 layers belong to INT8 plans, this one is " +
                                p->second);
  }
  return plan;
}

void PrecisionPlanToMetadata(const PrecisionPlan& plan, std::map<std::string, std::string>* metadata) {
  (*metadata)[kPrecisionKey] = ToString(plan.precision);
  (*metadata)[kFp32LayersKey] = LayersToText(plan.fp32_layers);
  if (plan.precision == Precision::kInt8 && !plan.bf16_layers.empty())
    (*metadata)[kBf16LayersKey] = LayersToText(plan.bf16_layers);
  else
    metadata->erase(kBf16LayersKey);
}

}  // namespace nhits

