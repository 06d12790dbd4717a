#pragma once
// Pseudopotential files as pw.x finds and reads them.
#include <optional>
#include <string>
#include <vector>

#include "core/expected.hpp"

namespace qecloud::qe {

// Where pw.x looks: pseudo_dir when the input gives one (only there), else $ESPRESSO_PSEUDO, else
// $HOME/espresso/pseudo. Relative directories resolve against base_dir, the directory pw.x runs in.
struct PseudoSearch {
  std::optional<std::string> pseudo_dir;
  std::optional<std::string> espresso_pseudo;
  std::optional<std::string> home;
  std::string base_dir = ".";
};

bool directory_exists(const std::string& dir, const std::string& base_dir);

// The path of `file`, or an error naming where it was looked for ("pseudo_dir './'" and the like; never
// absolute paths the user did not write, so messages are the same on every machine).
Expected<std::string, std::string> resolve_pseudo(const std::string& file, const PseudoSearch& search);

struct PseudoInfo {
  std::string format;   // "UPF v2", "UPF v1", "GTH", or "legacy-vanderbilt", "legacy-rrkj3", "legacy-nc"
  std::string element;  // as the file states it; may be empty for legacy formats
  std::optional<double> z_valence;
  std::string pseudo_type;  // NC, US, PAW, … when stated
  std::string
      functional;  // the exchange-correlation name the file states ("SLA PZ NOGX NOGC", "PBE"); may be empty
};

// The element of atomic number z (1 – 109, as upflib's atomic_number knows them), or empty.
std::string_view element_symbol(int z);

// Reads the head of a pseudopotential file (at most 64 KiB) and says what it is, or why it is unusable.
Expected<PseudoInfo, std::string> inspect_pseudo(const std::string& path);

}  // namespace qecloud::qe
