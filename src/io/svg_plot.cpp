// Forecast plots as self-contained SVG: one 960x360 panel per series, stacked vertically.
// Hand-written rather than via a plotting library so the CLI has no runtime dependencies.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <span>
#include <string_view>

#include "nhits/config.h"
#include "nhits/plot.h"

namespace nhits {
namespace {

constexpr double kWidth = 960, kPanelH = 360;
constexpr double kLeft = 72, kRight = 180, kTop = 44, kBottom = 58;  // kRight holds the legend
constexpr double kInset = 8;  // keeps end markers off the frame
constexpr const char* kHistoryColor = "#1f2937";
constexpr const char* kForecastColor = "#2563eb";
constexpr const char* kActualColor = "#111111";
constexpr const char* kBaselineColors[] = {"#ea580c", "#16a34a", "#9333ea",
                                           "#db2777", "#0891b2", "#ca8a04"};

// Coordinates and numbers. Non-finite values print as 0 so no "nan" can reach the document.
std::string Num(double v, int decimals = 1) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {  // "12.50" -> "12.5", "3.0" -> "3"
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

// About four significant digits without exponents, for captions.
std::string Short(double v) {
  if (!std::isfinite(v)) return "n/a";
  const double a = std::abs(v);
  const int d = a == 0 ? 0 : std::clamp(3 - static_cast<int>(std::floor(std::log10(a))), 0, 6);
  return Num(v, d);
}

// Bytes of the valid UTF-8 sequence starting at s[i], or 0 (RFC 3629: no overlongs, no
// surrogates, nothing past U+10FFFF).
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  std::size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  const unsigned char c1 = at(i + 1);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
    return 0;
  return n;
}

// XML text: markup characters escaped, control characters (not allowed in XML 1.0) as '?', and
// bytes that are not UTF-8 (a Latin-1 id, say) as U+FFFD, so any id gives a well-formed file.
std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const std::size_t n = Utf8Length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
      } else {
        out.append(s.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r' ? '?' : c;
    }
  }
  return out;
}

std::string Ellipsize(const std::string& s, std::size_t max_chars) {
  if (s.size() <= max_chars) return s;
  std::size_t cut = max_chars - 1;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return s.substr(0, cut) + "\u2026";
}

// A y axis whose ticks are 1, 2, 2.5 or 5 times a power of ten.
struct Axis {
  double lo = 0, hi = 1, step = 0.2;
  int decimals = 1;
  double unit = 1;  // 1, 1e3 or 1e6
  const char* suffix = "";
};

Axis NiceAxis(double mn, double mx) {
  Axis a;
  if (!std::isfinite(mn) || !std::isfinite(mx) || !std::isfinite(mx - mn)) return a;
  if (!(mx > mn)) {  // constant series: give it some room instead of a zero-height range
    const double pad = mn == 0 ? 1 : std::abs(mn) * 0.1;
    mn -= pad;
    mx += pad;
  }
  const double raw = (mx - mn) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double mult = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  a.step = mult * mag;
  a.lo = std::floor(mn / a.step + 1e-9) * a.step;
  a.hi = std::ceil(mx / a.step - 1e-9) * a.step;
  if (!(a.hi > a.lo) || !std::isfinite(a.lo) || !std::isfinite(a.hi)) return Axis{};
  const double big = std::max(std::abs(a.lo), std::abs(a.hi));
  if (big >= 1e6) {
    a.unit = 1e6;
    a.suffix = "M";
  } else if (big >= 1e4) {
    a.unit = 1e3;
    a.suffix = "k";
  }
  const double s = a.step / a.unit;
  a.decimals =
      std::max(0, -static_cast<int>(std::floor(std::log10(s) + 1e-9)) + (mult == 2.5 ? 1 : 0));
  return a;
}

struct Frame {
  double x0, x1, y0, y1;  // plot area
  std::size_t n;          // history + horizon points
  Axis axis;
  double X(double i) const {
    if (n <= 1) return (x0 + x1) / 2;
    return x0 + kInset + i * (x1 - x0 - 2 * kInset) / static_cast<double>(n - 1);
  }
  double Y(double v) const { return y1 - (v - axis.lo) / (axis.hi - axis.lo) * (y1 - y0); }
};

// Polyline path data starting at x index `first`; non-finite values break the line.
std::string LineData(const Frame& f, std::span<const double> v, std::size_t first) {
  std::string d;
  bool pen = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      pen = false;
      continue;
    }
    d += pen ? " L" : (d.empty() ? "M" : " M");
    d += Num(f.X(static_cast<double>(first + i))) + ',' + Num(f.Y(v[i]));
    pen = true;
  }
  return d;
}

// Closed band between lo and hi; one sub-path per run of finite points.
std::string BandData(const Frame& f, const PlotInterval& in, std::size_t first) {
  const std::size_t n = std::min(in.lo.size(), in.hi.size());
  std::string d;
  std::size_t i = 0;
  while (i < n) {
    if (!std::isfinite(in.lo[i]) || !std::isfinite(in.hi[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < n && std::isfinite(in.lo[j]) && std::isfinite(in.hi[j])) ++j;
    for (std::size_t k = i; k < j; ++k) {
      d += (k == i ? (d.empty() ? "M" : " M") : " L");
      d += Num(f.X(static_cast<double>(first + k))) + ',' + Num(f.Y(in.lo[k]));
    }
    for (std::size_t k = j; k-- > i;) {
      d += " L" + Num(f.X(static_cast<double>(first + k))) + ',' + Num(f.Y(in.hi[k]));
    }
    d += " Z";
    i = j;
  }
  return d;
}

double Mae(const std::vector<double>& actual, const std::vector<double>& pred) {
  double sum = 0;
  long n = 0;
  for (std::size_t i = 0; i < std::min(actual.size(), pred.size()); ++i) {
    if (!std::isfinite(actual[i]) || !std::isfinite(pred[i])) continue;
    sum += std::abs(actual[i] - pred[i]);
    ++n;
  }
  return n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

struct LegendItem {
  enum Kind { kLine, kMarkedLine, kBand } kind;
  std::string label, color, dash;
  double opacity = 1, width = 2;
};

void RenderLegend(std::string& o, const std::vector<LegendItem>& items, double x, double y) {
  for (const LegendItem& it : items) {
    if (it.kind == LegendItem::kBand) {
      o += "<rect x=\"" + Num(x) + "\" y=\"" + Num(y - 6) +
           "\" width=\"24\" height=\"12\" rx=\"2\" fill=\"" + it.color + "\" fill-opacity=\"" +
           Num(it.opacity, 2) + "\"/>\n";
    } else {
      o += "<line x1=\"" + Num(x) + "\" y1=\"" + Num(y) + "\" x2=\"" + Num(x + 24) + "\" y2=\"" +
           Num(y) + "\" stroke=\"" + it.color + "\" stroke-width=\"" + Num(it.width) + "\"" +
           (it.dash.empty() ? "" : " stroke-dasharray=\"" + it.dash + "\"") + "/>\n";
      if (it.kind == LegendItem::kMarkedLine) {
        o += "<circle cx=\"" + Num(x + 12) + "\" cy=\"" + Num(y) + "\" r=\"3\" fill=\"" + it.color +
             "\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n";
      }
    }
    o += "<text x=\"" + Num(x + 32) + "\" y=\"" + Num(y + 4) +
         "\" font-size=\"12\" fill=\"#374151\">" + Escape(Ellipsize(it.label, 20)) + "</text>\n";
    y += 22;
  }
}

void RenderPanel(std::string& o, const PlotSeries& s, const std::string& model, double top) {
  const std::size_t t = s.history_y.size();
  const std::size_t h = s.forecast.size();
  Frame f{kLeft, kWidth - kRight, top + kTop, top + kPanelH - kBottom, t + h, {}};

  // The y range covers every finite value drawn, so nothing needs clipping.
  double mn = std::numeric_limits<double>::infinity(), mx = -mn;
  auto cover = [&](const std::vector<double>& v) {
    for (double x : v) {
      if (!std::isfinite(x)) continue;
      mn = std::min(mn, x);
      mx = std::max(mx, x);
    }
  };
  cover(s.history_y);
  cover(s.forecast);
  cover(s.actual);
  for (const auto& in : s.intervals) {
    cover(in.lo);
    cover(in.hi);
  }
  for (const auto& b : s.baselines) cover(b.second);
  f.axis = mn <= mx ? NiceAxis(mn, mx) : Axis{};

  const std::string fg = "#374151", grid = "#e5e7eb";
  o += "<g class=\"panel\">\n";
  o += "<text x=\"" + Num(kLeft) + "\" y=\"" + Num(top + 26) +
       "\" font-size=\"16\" font-weight=\"600\" fill=\"#111827\">" + Escape(s.title) +
       "<tspan dx=\"8\" font-weight=\"400\" fill=\"#6b7280\">\u00b7 " +
       Escape(model.empty() ? "forecast" : model + " forecast") + "</tspan></text>\n";
  o += "<rect x=\"" + Num(f.x0) + "\" y=\"" + Num(f.y0) + "\" width=\"" + Num(f.x1 - f.x0) +
       "\" height=\"" + Num(f.y1 - f.y0) + "\" fill=\"#ffffff\" stroke=\"#d1d5db\"/>\n";

  // Shade the horizon so the forecast region reads at a glance.
  if (h > 0) {
    const double hx = t > 0 ? (f.X(t - 1.0) + f.X(static_cast<double>(t))) / 2 : f.x0;
    o += "<rect x=\"" + Num(hx) + "\" y=\"" + Num(f.y0) + "\" width=\"" + Num(f.x1 - hx) +
         "\" height=\"" + Num(f.y1 - f.y0) + "\" fill=\"#f1f5f9\"/>\n";
    if (t > 0) {
      o += "<line x1=\"" + Num(hx) + "\" y1=\"" + Num(f.y0) + "\" x2=\"" + Num(hx) + "\" y2=\"" +
           Num(f.y1) + "\" stroke=\"#94a3b8\" stroke-dasharray=\"3 3\"/>\n";
    }
  }

  // Y grid and tick labels.
  const int nticks = static_cast<int>(std::lround((f.axis.hi - f.axis.lo) / f.axis.step));
  for (int k = 0; k <= std::min(nticks, 50); ++k) {
    const double v = f.axis.lo + k * f.axis.step;
    const double y = f.Y(v);
    o += "<line x1=\"" + Num(f.x0) + "\" y1=\"" + Num(y) + "\" x2=\"" + Num(f.x1) + "\" y2=\"" +
         Num(y) + "\" stroke=\"" + grid + "\"/>\n";
    o += "<text x=\"" + Num(f.x0 - 8) + "\" y=\"" + Num(y + 4) + "\" font-size=\"11\" fill=\"" +
         fg + "\" text-anchor=\"end\">" + Num(v / f.axis.unit, f.axis.decimals) + f.axis.suffix +
         "</text>\n";
  }

  // X ticks: about 8, fewer when the labels are long (never rotated, so they cannot collide
  // with the caption), aligned so that the first forecast step gets a label.
  if (f.n > 0) {
    auto label = [&](std::size_t i) -> std::string {
      const auto& v = i < t ? s.history_x : s.future_x;
      const std::size_t j = i < t ? i : i - t;
      return Ellipsize(j < v.size() ? v[j] : std::to_string(i), 20);
    };
    std::size_t longest = 1;
    for (std::size_t i = 0; i < f.n; ++i) longest = std::max(longest, label(i).size());
    const double per_point = f.n > 1 ? f.X(1) - f.X(0) : f.x1 - f.x0;
    const double need = static_cast<double>(longest) * 6.5 + 12;  // ~6.5 px per char at 11 px
    std::size_t step = std::max<std::size_t>(1, (f.n + 7) / 8);
    while (step < f.n && per_point * static_cast<double>(step) < need) ++step;
    for (std::size_t i = t % step; i < f.n; i += step) {
      const double x = f.X(static_cast<double>(i));
      o += "<line x1=\"" + Num(x) + "\" y1=\"" + Num(f.y1) + "\" x2=\"" + Num(x) + "\" y2=\"" +
           Num(f.y1 + 4) + "\" stroke=\"#9ca3af\"/>\n";
      o += "<text x=\"" + Num(x) + "\" y=\"" + Num(f.y1 + 17) + "\" font-size=\"11\" fill=\"" + fg +
           "\" text-anchor=\"middle\">" + Escape(label(i)) + "</text>\n";
    }
  }

  std::vector<LegendItem> legend;
  // Widest interval first, each narrower one darker on top of it.
  std::vector<const PlotInterval*> bands;
  for (const auto& in : s.intervals) bands.push_back(&in);
  std::stable_sort(bands.begin(), bands.end(),
                   [](auto* a, auto* b) { return a->level > b->level; });
  for (std::size_t k = 0; k < bands.size(); ++k) {
    const double op = std::min(0.45, 0.14 + 0.1 * static_cast<double>(k));
    o += "<path class=\"interval\" d=\"" + BandData(f, *bands[k], t) + "\" fill=\"" +
         kForecastColor + "\" fill-opacity=\"" + Num(op, 2) + "\" stroke=\"none\"/>\n";
    legend.push_back({LegendItem::kBand, LevelName(bands[k]->level) + "% interval",
                      kForecastColor, "", op});
  }

  if (t > 0) {
    o += "<path class=\"history\" d=\"" + LineData(f, s.history_y, 0) +
         "\" fill=\"none\" stroke=\"" + kHistoryColor +
         "\" stroke-width=\"1.8\" stroke-linejoin=\"round\"/>\n";
    legend.insert(legend.begin(), {LegendItem::kLine, "History", kHistoryColor, "", 1, 1.8});
  }

  for (std::size_t b = 0; b < s.baselines.size(); ++b) {
    const char* color = kBaselineColors[b % std::size(kBaselineColors)];
    o += "<path class=\"baseline\" d=\"" + LineData(f, s.baselines[b].second, t) +
         "\" fill=\"none\" stroke=\"" + color +
         "\" stroke-width=\"1.3\" stroke-dasharray=\"5 3\"/>\n";
    legend.push_back({LegendItem::kLine, s.baselines[b].first, color, "5 3", 1, 1.3});
  }

  if (!s.actual.empty()) {
    // Start from the last observation so the truth reads as one continuous line.
    std::vector<double> v;
    const bool joined = t > 0 && std::isfinite(s.history_y.back());
    if (joined) v.push_back(s.history_y.back());
    v.insert(v.end(), s.actual.begin(), s.actual.end());
    o += "<path class=\"actual\" d=\"" + LineData(f, v, joined ? t - 1 : t) +
         "\" fill=\"none\" stroke=\"" + kActualColor +
         "\" stroke-width=\"1.6\" stroke-dasharray=\"6 4\"/>\n";
    legend.push_back({LegendItem::kLine, "Actual", kActualColor, "6 4", 1, 1.6});
  }

  if (h > 0) {
    o += "<path class=\"forecast\" d=\"" + LineData(f, s.forecast, t) +
         "\" fill=\"none\" stroke=\"" + kForecastColor +
         "\" stroke-width=\"2.2\" stroke-linejoin=\"round\"/>\n";
    // Markers only while they stay distinguishable.
    if (h == 1 || f.X(1) - f.X(0) >= 5) {
      for (std::size_t i = 0; i < h; ++i) {
        if (!std::isfinite(s.forecast[i])) continue;
        o += "<circle cx=\"" + Num(f.X(static_cast<double>(t + i))) + "\" cy=\"" +
             Num(f.Y(s.forecast[i])) + "\" r=\"2.8\" fill=\"" + kForecastColor +
             "\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n";
      }
    }
    legend.insert(
        legend.begin() + (t > 0 ? 1 : 0),
        {LegendItem::kMarkedLine, model.empty() ? "Forecast" : model, kForecastColor, "", 1, 2.2});
  }

  if (t == 0 && h == 0) {
    o += "<text x=\"" + Num((f.x0 + f.x1) / 2) + "\" y=\"" + Num((f.y0 + f.y1) / 2) +
         "\" font-size=\"13\" fill=\"#9ca3af\" text-anchor=\"middle\">no data</text>\n";
  }
  RenderLegend(o, legend, f.x1 + 20, f.y0 + 8);

  if (!s.actual.empty()) {
    std::string cap = "MAE over the horizon: " + (model.empty() ? std::string("forecast") : model) +
                      " " + Short(Mae(s.actual, s.forecast));
    for (const auto& [name, pred] : s.baselines)
      cap += "  \u00b7  " + name + " " + Short(Mae(s.actual, pred));
    o += "<text x=\"" + Num(kLeft) + "\" y=\"" + Num(top + kPanelH - 14) +
         "\" font-size=\"12\" fill=\"" + fg + "\">" + Escape(cap) + "</text>\n";
  }
  o += "</g>\n";
}

}  // namespace

std::string RenderForecastSvg(const std::vector<PlotSeries>& panels,
                              const std::string& model_name) {
  try {
    const double height = kPanelH * static_cast<double>(std::max<std::size_t>(1, panels.size()));
    std::string o =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Num(kWidth) + "\" height=\"" +
        Num(height) + "\" viewBox=\"0 0 " + Num(kWidth) + " " + Num(height) +
        "\" font-family=\"system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif\">\n";
    o += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
    for (std::size_t p = 0; p < panels.size(); ++p) {
      const double top = kPanelH * static_cast<double>(p);
      if (p > 0) {
        o += "<line x1=\"16\" y1=\"" + Num(top) + "\" x2=\"" + Num(kWidth - 16) + "\" y2=\"" +
             Num(top) + "\" stroke=\"#e5e7eb\"/>\n";
      }
      RenderPanel(o, panels[p], model_name, top);
    }
    if (panels.empty()) {
      o += "<text x=\"480\" y=\"180\" font-size=\"14\" fill=\"#9ca3af\" text-anchor=\"middle\">no "
           "series to plot</text>\n";
    }
    o += "</svg>";
    return o;
  } catch (const std::exception&) {  // only bad_alloc is possible; an empty plot beats a crash
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"40\"></svg>";
  }
}

}  // namespace nhits
