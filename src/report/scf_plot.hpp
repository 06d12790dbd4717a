#pragma once
// The SCF convergence plot of `qecloud show JOB --plot FILE`: estimated scf accuracy (Ry) per iteration on
// a log scale, with conv_thr as a dashed line. PNG or SVG by the file's extension (cairo).
#include <optional>
#include <string>
#include <vector>

namespace qecloud::report {

struct ScfSeries {
  std::string label;  // e.g. "ionic step 3"; empty for a single SCF
  std::vector<double> accuracy_ry;
};

// Throws qecloud::Error when the file cannot be written or the extension is neither .png nor .svg.
void plot_scf_convergence(const std::vector<ScfSeries>& series, std::optional<double> conv_thr_ry,
                          const std::string& title, const std::string& path);

}  // namespace qecloud::report
