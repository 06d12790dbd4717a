#pragma once
// Exchange-correlation functionals as pw.x names them (set_dft_from_name, Modules/funct.f90 and
// XClib/qe_dft_list.f90): `input_dft` and the functional each pseudopotential file states.
#include <array>
#include <optional>
#include <string_view>

namespace qecloud::qe {

// What set_dft_from_name makes of a name. Recognized when it is a short name of the given release (any
// release when none is given) or when it contains the name of at least one term (`sla+pw+pbx+pbc`,
// `SLA PZ NOGX NOGC`); indices are known for short names with a fixed meaning and for composite names
// (family by family, the highest-numbered term the name contains, as pw.x built with libxc matches).
struct Functional {
  bool recognized = false;
  std::optional<std::array<int, 6>> ids;
};

Functional resolve_functional(std::string_view name, std::optional<int> release);

// Two functionals that set_dft_from_name would call conflicting ("conflicting values for icorr"): both
// resolved and some index differs. Unresolved ones never conflict (nothing is claimed about them).
bool functionals_conflict(const Functional& a, const Functional& b);

}  // namespace qecloud::qe
