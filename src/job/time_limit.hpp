#pragma once
// pw.x's max_seconds from a job's time limit (`run --time`, Slurm's --time, AWS Batch's
// attemptDurationSeconds), so that pw.x stops itself — cleanly, with its restart data written — before the
// scheduler kills it. QE's INPUT_PW, max_seconds: "Jobs stops after max_seconds elapsed time (wall-clock
// time). Use this option in conjunction with option restart_mode if you need to split a job too long to
// complete into shorter jobs that fit into your batch queues." pw.x checks it at each SCF iteration and
// between ionic steps (check_stop_now), so it may stop up to one SCF iteration late, and then it still
// writes its restart data; qecloud then stores everything. The margin covers both.
#include <optional>
#include <string>

#include "qe/input_edit.hpp"

namespace qecloud {

// Seconds before the limit by which pw.x is asked to stop: a tenth of the limit, at least 60 s and at most
// 15 minutes, and never more than half the limit (a 60 s limit leaves 30 s to compute).
int stop_margin_s(int limit_s);

// The edit of the staged input that makes pw.x stop stop_margin_s(limit_s) before the limit, counting the
// `elapsed_s` already spent since the limit began (staging, waiting for nodes). nullopt when there is no
// limit (limit_s <= 0) or the input's own max_seconds already stops pw.x earlier. At least 1 s.
std::optional<qe::InputEdit> max_seconds_edit(int limit_s, double elapsed_s,
                                              std::optional<double> input_max_seconds);

// The input's own max_seconds (&CONTROL), if it sets one; nullopt when the file does not read.
std::optional<double> input_max_seconds(const std::string& input_path);

}  // namespace qecloud
