#include "backend/cuda/engine_backend.h"

#include <cstdlib>
#include <string>

#include "backend/cuda/cuda_forecaster.h"
#include "nhits/engine.h"
#include "nhits/hw.h"

namespace nhits::cuda {
namespace {

class GpuWindowForecaster final : public WindowForecaster {
 public:
  GpuWindowForecaster(std::unique_ptr<CudaForecaster> f, std::string device) : f_(std::move(f)), device_(std::move(device)) {}
  Status Predict(int batch, const float* x, const float* m, float* out) override { return f_->Predict(batch, x, m, out); }
  std::size_t MemoryBytes() const override { return f_->memory().reserved; }
  std::string Describe() const override {
    std::string d = device_ + " " + ToString(f_->precision());
    if (!f_->fallback_reason().empty()) d += " (" + f_->fallback_reason() + ")";
    return d;
  }

 private:
  std::unique_ptr<CudaForecaster> f_;
  std::string device_;
};

}  // namespace

void RegisterEngineBackend() {
  RegisterDeviceBackend("cuda", [](const Model& model, int max_batch, const std::string& device,
                                   const ModelOptions&) -> Result<std::unique_ptr<WindowForecaster>> {
    // "cuda", "cuda:N" or "cuda:N:precision"
    int index = 0;
    std::string precision;
    const auto first = device.find(':');
    if (first != std::string::npos) {
      const auto second = device.find(':', first + 1);
      const std::string n = device.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
      char* end = nullptr;
      index = static_cast<int>(std::strtol(n.c_str(), &end, 10));
      if (n.empty() || *end != '\0' || index < 0)
        return Status::InvalidArgument("device '" + device + "': expected cuda:N or cuda:N:fp32|tf32|fp16|bf16");
      if (second != std::string::npos) precision = device.substr(second + 1);
    }
    GpuPrecision p = GpuPrecision::kFp32;
    if (!precision.empty()) {
      Result<GpuPrecision> parsed = ParseGpuPrecision(precision);
      if (!parsed.ok()) return parsed.status();
      p = *parsed;
    } else {
      const GpuInfo g = DetectGpu(index);
      if (!g.present) return Status::Unavailable("device '" + device + "': " + g.why_absent);
      // FP16 tops out at 65504: without a scaler_type the network reads raw windows (prices,
      // volumes) that can overflow it into NaN forecasts, so such a model stays FP32 there.
      // BF16 has FP32's range.
      const bool raw_windows = model.config().scaler_type == ScalerType::kIdentity;
      p = g.bf16 ? GpuPrecision::kBf16 : g.tensor_cores && !raw_windows ? GpuPrecision::kFp16 : GpuPrecision::kFp32;
    }
    Result<std::unique_ptr<CudaForecaster>> f = CudaForecaster::Create(model, max_batch, p, index, true);
    if (!f.ok()) return f.status();
    return std::unique_ptr<WindowForecaster>(std::make_unique<GpuWindowForecaster>(std::move(*f), device));
  });
}

}  // namespace nhits::cuda
