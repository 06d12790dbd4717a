#include "job/recovery.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/text.hpp"
#include "qe/pw_input.hpp"

namespace qecloud {
namespace {

// INPUT_PW: mixing_beta's default, and the factor each SCF recovery applies (issue 15).
constexpr double kBetaFactor = 0.7;

qe::InputEdit edit(const char* nl, const char* var, std::string value, std::string why) {
  return {nl, var, std::move(value), std::move(why)};
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

// A mixing_beta as pw.x reads it and people read it: 0.7 × 0.7 is "0.49", not 0.48999999999999994.
std::string beta_text(double beta) {
  return fmt::format("{:.4g}", beta);
}

std::optional<RecoveryStep> scf_step(const RecoveryFacts& f) {
  const std::string from = beta_text(f.mixing_beta), to = beta_text(f.mixing_beta * kBetaFactor);
  const std::string why = fmt::format("SCF not converged after {} iterations", f.scf_iterations);
  RecoveryStep s;
  s.edits.push_back(edit("electrons", "mixing_beta", to, why));
  if (f.charge_density) {
    s.edits.push_back(edit("electrons", "startingpot", "'file'", why));
    s.note =
        fmt::format("{}: restarting from the last charge density with mixing_beta {} → {}", why, from, to);
  } else {
    s.note = fmt::format("{}: rerunning with mixing_beta {} → {} (no charge density every rank can read)",
                         why, from, to);
  }
  return s;
}

// david → ppcg → cg; paro and the rmm-* solvers (QE ≥ 6.6, 7.x) are Davidson-like and go to ppcg too.
std::optional<RecoveryStep> diagonalization_step(const RecoveryFacts& f) {
  const std::string& d = f.diagonalization;
  if (d == "cg") return std::nullopt;
  const std::string next = d == "ppcg" ? "cg" : "ppcg";
  const std::string why =
      "diagonalization failed" + (f.error_message.empty() ? "" : " (" + f.error_message + ")");
  return RecoveryStep{{edit("electrons", "diagonalization", quoted(next), why)},
                      fmt::format("{}: rerunning with diagonalization '{}' → '{}'", why, d, next)};
}

// PW/src/setup.f90's default with smearing: 20 % more bands than the occupied ones, at least 4 more.
std::optional<RecoveryStep> bands_step(const RecoveryFacts& f) {
  if (!f.nbnd) return std::nullopt;
  const int more = std::max(static_cast<int>(std::ceil(1.2 * *f.nbnd)), *f.nbnd + 4);
  const std::string why = "too few bands" + (f.error_message.empty() ? "" : " (" + f.error_message + ")");
  return RecoveryStep{{edit("system", "nbnd", std::to_string(more), why)},
                      fmt::format("{}: rerunning with nbnd {} → {}", why, *f.nbnd, more)};
}

bool same_edits(const RecoveryStep& a, const RecoveryStep& b) {
  return std::equal(a.edits.begin(), a.edits.end(), b.edits.begin(), b.edits.end(),
                    [](const qe::InputEdit& x, const qe::InputEdit& y) {
                      return x.namelist == y.namelist && x.variable == y.variable && x.value == y.value;
                    });
}

// Why a failure that recovery handles gets no step; empty when it gets one.
std::string no_step_reason(const RecoveryFacts& f) {
  switch (f.error) {
    case qe::ErrorKind::kDiagonalizationFailed:
      return "cg, the last of david → ppcg → cg, failed too";
    case qe::ErrorKind::kTooFewBands:
      return "pw.x chose nbnd itself, so there is no setting to raise";
    default:
      return "";
  }
}

}  // namespace

std::string RecoveryStep::history() const {
  std::string edits_text;
  for (const auto& e : edits) edits_text += (edits_text.empty() ? "" : ", ") + e.display();
  return edits_text.empty() ? note : fmt::format("{}; staged input: {}", note, edits_text);
}

RecoveryDecision decide_recovery(const RecoveryFacts& f, std::span<const RecoveryStep> tried,
                                 const RecoveryPolicy& policy) {
  if (f.interrupted) return {};  // a stop signal, a lost node: what happened is not pw.x's to cure
  std::optional<RecoveryStep> step;
  switch (f.error) {
    case qe::ErrorKind::kScfNotConverged:
      step = scf_step(f);
      break;
    case qe::ErrorKind::kDiagonalizationFailed:
      step = diagonalization_step(f);
      break;
    case qe::ErrorKind::kTooFewBands:
      step = bands_step(f);
      break;
    case qe::ErrorKind::kOutOfWalltime:
      return {std::nullopt,
              fmt::format("pw.x reached max_seconds: not rerun in this job; `qecloud resume {}` "
                          "continues from its restart data",
                          f.job_id)};
    default:  // success, the input's fault (bad_input), a crash, a relaxation short of its thresholds
      return {};
  }
  if (!policy.enabled) return {std::nullopt, "automatic recovery is off (--no-recover)"};
  if (!step) return {std::nullopt, "no recovery left: " + no_step_reason(f)};
  if (static_cast<int>(tried.size()) >= policy.max_attempts)
    return {std::nullopt, fmt::format("gave up: {} recover{} the most a job gets", policy.max_attempts,
                                      policy.max_attempts == 1 ? "y is" : "ies are")};
  for (const auto& t : tried)
    if (same_edits(t, *step))
      return {std::nullopt, fmt::format("gave up: the next step was tried already ({})", step->note)};
  step->note += fmt::format(" (recovery {} of {})", tried.size() + 1, policy.max_attempts);
  return {std::move(step), ""};
}

std::string recovery_message(const std::string& outcome_message, std::span<const RecoveryStep> steps,
                             const std::string& reason) {
  std::string out = outcome_message;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
  if (!steps.empty()) {
    std::string notes;
    for (const auto& s : steps) notes += (notes.empty() ? "" : "; ") + s.note;
    add((outcome_message.empty() ? "recovered: " : "recoveries tried: ") + notes);
  }
  if (!reason.empty()) add(reason);
  return out;
}

RecoveryFacts recovery_facts(const PwRunResult& run, std::string_view input_text, bool charge_density,
                             const std::string& job_id) {
  RecoveryFacts f;
  f.error = run.results.error_kind;
  f.error_message = run.results.error_message;
  f.scf_iterations = run.results.scf_iterations;
  f.interrupted = run.stop_signal != 0 || run.lost.has_value() || run.killed;
  f.charge_density = charge_density;
  f.job_id = job_id;
  const qe::PwInput in = qe::parse_pw_input(input_text, "input").input;
  f.mixing_beta = in.get_real("electrons", "mixing_beta").value_or(f.mixing_beta);
  if (auto d = in.get_string("electrons", "diagonalization")) f.diagonalization = text::to_lower(*d);
  if (auto n = in.get_int("system", "nbnd"); n && *n > 0) f.nbnd = static_cast<int>(*n);
  return f;
}

}  // namespace qecloud
