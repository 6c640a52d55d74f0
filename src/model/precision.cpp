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

std::string PrecisionPlan::Describe() const {
  std::ostringstream os;
  os << ToString(precision);
  if (precision != Precision::kFp32 && !fp32_layers.empty()) {
    os << " (" << fp32_layers.size() << " layer" << (fp32_layers.size() == 1 ? "" : "s") << " kept fp32:";
    for (const auto& [b, l] : fp32_layers) os << ' ' << b << '.' << l;
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
  auto l = metadata.find(kFp32LayersKey);
  if (l == metadata.end() || l->second.empty()) return plan;
  std::istringstream is(l->second);
  std::string item;
  while (std::getline(is, item, ',')) {
    int b = -1, layer = -1;
    char dot = 0;
    std::istringstream it(item);
    if (!(it >> b >> dot >> layer) || dot != '.' || b < 0 || layer < 0)
      return Status::Corruption(std::string("metadata ") + kFp32LayersKey + ": '" + item +
                                "' is not BLOCK.LAYER (e.g. 0.4)");
    plan.fp32_layers.emplace_back(b, layer);
  }
  return plan;
}

void PrecisionPlanToMetadata(const PrecisionPlan& plan, std::map<std::string, std::string>* metadata) {
  (*metadata)[kPrecisionKey] = ToString(plan.precision);
  std::string layers;
  for (const auto& [b, l] : plan.fp32_layers) layers += (layers.empty() ? "" : ",") + std::to_string(b) + "." + std::to_string(l);
  (*metadata)[kFp32LayersKey] = layers;
}

}  // namespace nhits

