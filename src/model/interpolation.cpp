#include <cmath>

#include "model/layers.h"

namespace nhits::layers {
namespace {

// Keys cubic convolution with A = -0.75 (PyTorch's UpSample.h).
constexpr float kCubicA = -0.75f;
float CubicNear(float x) { return ((kCubicA + 2) * x - (kCubicA + 3)) * x * x + 1; }
float CubicFar(float x) { return ((kCubicA * x - 5 * kCubicA) * x + 8 * kCubicA) * x - 4 * kCubicA; }

}  // namespace

InterpolationTaps MakeInterpolationTaps(InterpolationMode mode, int knots, int h) {
  InterpolationTaps taps;
  const float scale = static_cast<float>(knots) / static_cast<float>(h);
  auto clamp = [knots](int i) { return std::min(std::max(i, 0), knots - 1); };
  switch (mode) {
    case InterpolationMode::kNearest:
      taps.taps = 1;
      for (int j = 0; j < h; ++j) {
        taps.index.push_back(std::min(static_cast<int>(std::floor(j * scale)), knots - 1));
        taps.weight.push_back(1.0);
      }
      break;
    case InterpolationMode::kLinear:
      taps.taps = 2;
      for (int j = 0; j < h; ++j) {
        const float src = std::max(scale * (j + 0.5f) - 0.5f, 0.0f);
        const int i0 = static_cast<int>(src);
        const int i1 = i0 + (i0 < knots - 1 ? 1 : 0);
        const float w = src - static_cast<float>(i0);
        taps.index.insert(taps.index.end(), {i0, i1});
        taps.weight.insert(taps.weight.end(), {1.0 - w, w});
      }
      break;
    case InterpolationMode::kCubic:
      taps.taps = 4;
      for (int j = 0; j < h; ++j) {
        const float src = scale * (j + 0.5f) - 0.5f;  // not clamped for cubic
        const int i0 = static_cast<int>(std::floor(src));
        const float t = src - static_cast<float>(i0);
        const float w[4] = {CubicFar(t + 1), CubicNear(t), CubicNear(1 - t), CubicFar(2 - t)};
        for (int q = 0; q < 4; ++q) {
          taps.index.push_back(clamp(i0 - 1 + q));
          taps.weight.push_back(w[q]);
        }
      }
      break;
  }
  return taps;
}

}  // namespace nhits::layers
