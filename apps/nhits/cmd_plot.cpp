#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "plotting.h"

namespace nhits::cli {

Action RegisterPlot(CLI::App& app) {
  struct Args {
    std::string model, data, out, freq, series, futr_data, static_data;
    bool holdout = false;
    int max_series = 4, history = 0, season_length = 0;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model", a->model, "Checkpoint (.safetensors)")->required();
  app.add_option("--data", a->data, "Long-format CSV")->required();
  app.add_option("--out", a->out, "SVG file to write")->required();
  app.add_option("--futr-data", a->futr_data,
                 "Models with futr_exog_list, without --holdout: each series' next h values (unique_id,ds,<columns>)");
  app.add_option("--static-data", a->static_data, "Models with stat_exog_list: CSV unique_id,<static columns>");
  app.add_flag("--holdout", a->holdout,
               "Forecast the last h points of each series from before them and draw the truth and baselines");
  app.add_option("--series", a->series, "Comma-separated unique_ids to draw (default: the first --max-series)");
  app.add_option("--max-series", a->max_series, "Panels to draw when --series is not given")
      ->check(AtLeast(1))
      ->capture_default_str();
  app.add_option("--history", a->history, "History points to draw (0: max(3*input_size, 4*h))")
      ->check(AtLeast(0))
      ->capture_default_str();
  app.add_option("--season-length", a->season_length, "SeasonalNaive season (default: from the frequency)")
      ->check(AtLeast(1));
  app.add_option("--freq", a->freq, "Frequency of ds (default: inferred)");
  return [a] {
    CheckOutputPath({"--out", a->out},
                    {{"--data", a->data}, {"--model", a->model}, {"--futr-data", a->futr_data}, {"--static-data", a->static_data}});
    // The file is SVG whatever its name; a .png that no image viewer opens would be a surprise.
    std::string ext = std::filesystem::path(a->out).extension().string();
    for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (ext != ".svg")
      Fail(a->out + ": plot writes SVG; name the file *.svg (e.g. " +
           std::filesystem::path(a->out).replace_extension(".svg").string() + ")");
    const Model model = Unwrap(LoadCheckpoint(a->model));
    Panel panel = LoadPanelFor(model.config(), a->data, a->static_data);
    const Frequency freq = ResolveFrequency(panel, a->freq);
    NoteGaps(panel, freq);
    // With --holdout the futr values of the forecast steps are in the data itself.
    if (!a->holdout) {
      AttachFutureFor(model.config(), a->futr_data, freq, &panel);
    } else if (!a->futr_data.empty()) {
      Fail("--futr-data " + a->futr_data + ": with --holdout the futr values come from --data, so it would be ignored");
    }
    std::vector<int> chosen;
    if (!a->series.empty()) {
      std::size_t pos = 0;
      while (pos <= a->series.size()) {
        const std::size_t next = std::min(a->series.find(',', pos), a->series.size());
        const std::string id = a->series.substr(pos, next - pos);
        auto it = std::find_if(panel.series.begin(), panel.series.end(), [&](const Series& s) { return s.unique_id == id; });
        if (it == panel.series.end()) Fail("--series: no series '" + id + "' in " + a->data);
        chosen.push_back(static_cast<int>(it - panel.series.begin()));
        pos = next + 1;
      }
    } else {
      for (int s = 0; s < std::min<int>(a->max_series, static_cast<int>(panel.series.size())); ++s) chosen.push_back(s);
    }
    Panel drawn;  // only the series drawn need every point observed
    drawn.time_kind = panel.time_kind;
    for (int s : chosen) drawn.series.push_back(panel.series[static_cast<std::size_t>(s)]);
    RefuseMissingPoints(drawn, a->data, "the plot would draw the placeholder values as history (--series can pick others)");
    const NhitsConfig& c = model.config();
    const int history = a->history > 0 ? a->history : std::max(3 * c.input_size, 4 * c.h);
    const int m = a->season_length > 0 ? a->season_length : SeasonLength(freq);
    const auto panels = MakePlotPanels(model, panel, chosen, a->holdout, freq, m, history);
    WriteTextAtomic(a->out, RenderForecastSvg(panels, "NHITS"));
    std::fprintf(stderr, "wrote %zu panel%s to %s\n", panels.size(), panels.size() == 1 ? "" : "s", a->out.c_str());
  };
}

}  // namespace nhits::cli
