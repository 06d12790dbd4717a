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
  // A snapshot of the parse so far: the copy reads on independently (to try several endings of one text).
  OutputParser(const OutputParser& other);
  OutputParser& operator=(const OutputParser&) = delete;

  // One complete line of output, without its newline (a trailing '\r' is tolerated). A line longer than
  // 64 KiB is not pw.x's: it is skipped and counted in a warning.
  void feed(std::string_view line);
  // The unterminated end of an output (its writer died mid-line). Never read as data — a cut
  // "!    total energy = -14.4" is not an energy — but noted: the results warn, and the outcome of an output
  // without JOB DONE says it was cut mid-line. The last complete line stands.
  void feed_partial(std::string_view tail);
  // The results so far, classified as if the output ended here.
  Results finish() const;
  // Why the text fed so far is not a pw.x output (empty, another QE program's, no pw.x line at all), or
  // nullopt when it is one: pw.x's "Program PWSCF" banner, or a fragment with pw.x's own lines.
  std::optional<std::string> not_pw_output() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Parses a whole output file, reading it in large chunks. A `.gz` file is read through zlib; a FIFO or pipe
// as a stream (without a writer it is empty). Memory stays bounded whatever the file: at most 64 KiB of one
// line is buffered, longer lines are skipped. An unterminated last line goes to feed_partial().
// Throws qecloud::Error when the file cannot be read (exit code kExitFailure) and when it is not a pw.x
// output — a directory, a device, an empty file, another program's output (kExitBadInput); the message
// names the file.
Results parse_output_file(const std::string& path);

}  // namespace qecloud::qe
