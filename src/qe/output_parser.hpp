#pragma once
// A streaming parser of pw.x's standard output (QE 6.x and 7.x). It is fed one line at a time, so it can
// follow a running pw.x (live progress) as well as read a finished file; it keeps only the state the results
// need, never the whole text.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "qe/results.hpp"

namespace qecloud::qe {

struct ProgressEvent {
  enum class Kind {
    kScfIteration,  // an SCF iteration finished: iteration, scf_accuracy_ry, energy_ry when printed
    kScfConverged,  // the SCF cycle converged: iteration = number of iterations, energy_ry = '!' energy
    kScfFailed,     // convergence NOT achieved
    kIonicStep,     // a new ionic step starts: ionic_step (1-based)
    kJobDone,
  };
  Kind kind;
  int iteration = 0;
  int ionic_step = 0;
  std::optional<double> scf_accuracy_ry;
  std::optional<double> energy_ry;
};

class OutputParser {
 public:
  using ProgressFn = std::function<void(const ProgressEvent&)>;

  explicit OutputParser(ProgressFn on_progress = {});
  ~OutputParser();
  OutputParser(const OutputParser&) = delete;
  OutputParser& operator=(const OutputParser&) = delete;

  // One line of output, without its newline (a trailing '\r' is tolerated).
  void feed(std::string_view line);
  // The results so far, classified as if the output ended here.
  Results finish() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Parses a whole output file, reading it in large chunks. A `.gz` file is read through zlib.
// Throws qecloud::Error when the file cannot be read.
Results parse_output_file(const std::string& path);

}  // namespace qecloud::qe
