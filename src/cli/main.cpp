// qecloud's main: forwards to the command table and holds the single top-level catch.
#include <exception>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "core/error.hpp"

int main(int argc, char** argv) {
  try {
    return qecloud::cli::run_cli(argc, argv);
  } catch (const qecloud::Error& e) {
    fmt::print(stderr, "qecloud: error: {}\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    fmt::print(stderr, "qecloud: internal error: {}\n", e.what());
    return qecloud::kExitFailure;
  }
}
