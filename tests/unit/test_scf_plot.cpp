#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/text.hpp"
#include "report/scf_plot.hpp"

namespace fs = std::filesystem;
using namespace qecloud;

TEST(ScfPlot, WritesPngAndSvg) {
  const fs::path dir = fs::temp_directory_path() / ("qecloud-plot-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<report::ScfSeries> s{{"", {6.1e-2, 1.9e-3, 4.9e-5, 3.3e-7, 9.5e-9}}};
  report::plot_scf_convergence(s, 1e-8, "silicon", (dir / "p.png").string());
  report::plot_scf_convergence(s, 1e-8, "silicon", (dir / "p.svg").string());
  const std::string png = text::read_file((dir / "p.png").string());
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_GT(png.size(), 5000u);
  EXPECT_NE(text::read_file((dir / "p.svg").string()).find("<svg"), std::string::npos);
  EXPECT_THROW(report::plot_scf_convergence(s, 1e-8, "x", (dir / "p.jpg").string()), UsageError);
  fs::remove_all(dir);
}
