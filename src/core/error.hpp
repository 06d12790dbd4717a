#pragma once
// Exceptions for programming and configuration errors; caught once, in main(). ExitCode carries the
// process exit status the error should produce.
#include <stdexcept>
#include <string>

namespace qecloud {

// Process exit codes. Stable: scripts and the job database rely on them.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,   // generic failure (I/O, internal)
  kExitUsage = 2,     // bad command line
  kExitBadInput = 3,  // the QE input (or a file it names) is invalid
  kExitNotConverged = 4,
  kExitStopped = 5,  // stopped by signal or by the user; restart data kept
  kExitCrashed = 6,  // pw.x or MPI died
  // The infrastructure, not the job: a node was lost or never joined. Worth another attempt (sysexits'
  // EX_TEMPFAIL); AWS Batch's retry strategy retries on it.
  kExitNodeLost = 75,
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, int exit_code = kExitFailure)
      : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what, kExitUsage) {}
};

}  // namespace qecloud
