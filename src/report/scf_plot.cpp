#include "report/scf_plot.hpp"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "core/dynamic_library.hpp"
#include "core/error.hpp"

namespace qecloud::report {
namespace {

// One name per line; clang-format 14 reflows X-macro lists differently on every pass.
// clang-format off
#define QECLOUD_CAIRO_FUNCTIONS(X) \
  X(cairo_arc)                     \
  X(cairo_create)                  \
  X(cairo_destroy)                 \
  X(cairo_fill)                    \
  X(cairo_image_surface_create)    \
  X(cairo_line_to)                 \
  X(cairo_move_to)                 \
  X(cairo_paint)                   \
  X(cairo_rectangle)               \
  X(cairo_restore)                 \
  X(cairo_rotate)                  \
  X(cairo_save)                    \
  X(cairo_select_font_face)        \
  X(cairo_set_dash)                \
  X(cairo_set_font_size)           \
  X(cairo_set_line_width)          \
  X(cairo_set_source_rgb)          \
  X(cairo_show_text)               \
  X(cairo_status_to_string)        \
  X(cairo_stroke)                  \
  X(cairo_surface_destroy)         \
  X(cairo_surface_finish)          \
  X(cairo_surface_flush)           \
  X(cairo_surface_status)          \
  X(cairo_surface_write_to_png)    \
  X(cairo_svg_surface_create)
// clang-format on

// cairo is loaded the first time a plot is drawn, not at start (see core/dynamic_library.hpp).
QECLOUD_DL_API(CairoApi, cairo, "libcairo.so.2", "SCF plots (--plot); Debian package libcairo2",
               QECLOUD_CAIRO_FUNCTIONS)

constexpr double kWidth = 720, kHeight = 460;
constexpr double kLeft = 80, kRight = 30, kTop = 50, kBottom = 60;

struct Axes {
  double x_max, y_lo, y_hi;  // y in log10
  double px(double iteration) const {
    return kLeft + (iteration - 1) / std::max(1.0, x_max - 1) * (kWidth - kLeft - kRight);
  }
  double py(double value) const {
    double l = std::log10(std::max(value, 1e-300));
    return kTop + (y_hi - l) / (y_hi - y_lo) * (kHeight - kTop - kBottom);
  }
};

void draw(cairo_t* cr, const std::vector<ScfSeries>& series, std::optional<double> thr,
          const std::string& title) {
  cairo().cairo_set_source_rgb(cr, 1, 1, 1);
  cairo().cairo_paint(cr);
  double lo = 1e300, hi = 0;
  size_t n = 1;
  for (const auto& s : series)
    for (double v : s.accuracy_ry)
      if (v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
  for (const auto& s : series) n = std::max(n, s.accuracy_ry.size());
  if (thr) lo = std::min(lo, *thr), hi = std::max(hi, *thr);
  if (hi <= 0) lo = 1e-10, hi = 1;
  Axes ax{static_cast<double>(n), std::floor(std::log10(lo)), std::ceil(std::log10(hi))};
  if (ax.y_hi <= ax.y_lo) ax.y_hi = ax.y_lo + 1;

  cairo().cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo().cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  cairo().cairo_set_font_size(cr, 16);
  cairo().cairo_move_to(cr, kLeft, 30);
  cairo().cairo_show_text(cr, title.c_str());
  // Decade grid lines and labels.
  cairo().cairo_set_font_size(cr, 11);
  cairo().cairo_set_line_width(cr, 1);
  // y_lo and y_hi are whole decades (floor/ceil of log10).
  for (int d = static_cast<int>(ax.y_lo); d <= static_cast<int>(ax.y_hi); ++d) {
    double y = ax.py(std::pow(10.0, d));
    cairo().cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo().cairo_move_to(cr, kLeft, y), cairo().cairo_line_to(cr, kWidth - kRight, y),
        cairo().cairo_stroke(cr);
    cairo().cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    std::string label = fmt::format("1e{}", d);
    cairo().cairo_move_to(cr, kLeft - 42, y + 4), cairo().cairo_show_text(cr, label.c_str());
  }
  const size_t step = std::max<size_t>(1, n / 12);
  for (size_t i = 1; i <= n; i += step) {
    std::string label = std::to_string(i);
    cairo().cairo_move_to(cr, ax.px(static_cast<double>(i)) - 3, kHeight - kBottom + 18),
        cairo().cairo_show_text(cr, label.c_str());
  }
  cairo().cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo().cairo_rectangle(cr, kLeft, kTop, kWidth - kLeft - kRight, kHeight - kTop - kBottom);
  cairo().cairo_stroke(cr);
  cairo().cairo_set_font_size(cr, 12);
  cairo().cairo_move_to(cr, kWidth / 2 - 40, kHeight - 18), cairo().cairo_show_text(cr, "SCF iteration");
  cairo().cairo_save(cr);
  cairo().cairo_move_to(cr, 22, kHeight / 2 + 80), cairo().cairo_rotate(cr, -M_PI / 2);
  cairo().cairo_show_text(cr, "estimated scf accuracy (Ry)");
  cairo().cairo_restore(cr);
  if (thr) {
    const double dash[] = {6, 4};
    cairo().cairo_set_source_rgb(cr, 0.8, 0.1, 0.1);
    cairo().cairo_set_dash(cr, dash, 2, 0);
    cairo().cairo_move_to(cr, kLeft, ax.py(*thr)), cairo().cairo_line_to(cr, kWidth - kRight, ax.py(*thr)),
        cairo().cairo_stroke(cr);
    cairo().cairo_set_dash(cr, nullptr, 0, 0);
    std::string label = fmt::format("conv_thr {:.0e}", *thr);
    cairo().cairo_move_to(cr, kWidth - kRight - 110, ax.py(*thr) - 6),
        cairo().cairo_show_text(cr, label.c_str());
  }
  // One line per SCF cycle, from light to dark so the last ionic step stands out.
  for (size_t s = 0; s < series.size(); ++s) {
    const double shade = series.size() == 1 ? 0 : 0.75 * (1.0 - static_cast<double>(s) / (series.size() - 1));
    cairo().cairo_set_source_rgb(cr, 0.1 + shade * 0.8, 0.3 + shade * 0.6, 0.7 + shade * 0.3);
    cairo().cairo_set_line_width(cr, 2);
    const auto& a = series[s].accuracy_ry;
    for (size_t i = 0; i < a.size(); ++i) {
      double x = ax.px(static_cast<double>(i + 1)), y = ax.py(a[i]);
      i == 0 ? cairo().cairo_move_to(cr, x, y) : cairo().cairo_line_to(cr, x, y);
    }
    cairo().cairo_stroke(cr);
    for (size_t i = 0; i < a.size(); ++i) {
      cairo().cairo_arc(cr, ax.px(static_cast<double>(i + 1)), ax.py(a[i]), 3.5, 0, 2 * M_PI);
      cairo().cairo_fill(cr);
    }
  }
}

}  // namespace

void plot_scf_convergence(const std::vector<ScfSeries>& series, std::optional<double> thr,
                          const std::string& title, const std::string& path) {
  const bool svg = path.size() > 4 && path.substr(path.size() - 4) == ".svg";
  const bool png = path.size() > 4 && path.substr(path.size() - 4) == ".png";
  if (!svg && !png) throw UsageError(fmt::format("plot file '{}' must end in .png or .svg", path));
  cairo_surface_t* surface =
      svg ? cairo().cairo_svg_surface_create(path.c_str(), kWidth, kHeight)
          : cairo().cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(kWidth),
                                               static_cast<int>(kHeight));
  std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> guard(surface, cairo().cairo_surface_destroy);
  if (cairo().cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
    throw Error(fmt::format("cannot create {}: {}", path,
                            cairo().cairo_status_to_string(cairo().cairo_surface_status(surface))));
  cairo_t* cr = cairo().cairo_create(surface);
  draw(cr, series, thr, title);
  cairo().cairo_destroy(cr);
  cairo().cairo_surface_flush(surface);
  if (png) {
    auto st = cairo().cairo_surface_write_to_png(surface, path.c_str());
    if (st != CAIRO_STATUS_SUCCESS)
      throw Error(fmt::format("cannot write {}: {}", path, cairo().cairo_status_to_string(st)));
  } else {
    cairo().cairo_surface_finish(surface);
    if (cairo().cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
      throw Error(fmt::format("cannot write {}: {}", path,
                              cairo().cairo_status_to_string(cairo().cairo_surface_status(surface))));
  }
}

}  // namespace qecloud::report
