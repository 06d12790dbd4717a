#include "qe/functionals.hpp"

#include <cctype>
#include <string>

#include "qe/pw_schema.hpp"

namespace qecloud::qe {

Functional resolve_functional(std::string_view name, std::optional<int> release) {
  std::string up;
  for (char c : name) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  while (!up.empty() && (up.back() == ' ' || up.back() == '\t')) up.pop_back();
  while (!up.empty() && (up.front() == ' ' || up.front() == '\t')) up.erase(up.begin());
  Functional f;
  if (const PwFunctional* s = find_functional(up); s && s->dated().in(release)) {
    f.recognized = true;
    if (s->ids[0] >= 0) f.ids = s->ids;
    return f;
  }
  // Index notation (old RRKJ files: 'INDEX:…') and libxc's 'XC-…' are taken as given.
  if (up.rfind("INDEX:", 0) == 0 || up.rfind("XC-", 0) == 0) {
    f.recognized = true;
    return f;
  }
  std::array<int, 6> ids{};
  bool any = false;
  auto families = functional_terms();
  for (size_t fam = 0; fam < families.size() && fam < ids.size(); ++fam) {
    const auto& terms = families[fam];
    for (size_t i = terms.size(); i-- > 0;) {
      if (terms[i] == "XXXX" || terms[i].empty()) continue;
      if (up.find(terms[i]) == std::string::npos) continue;
      ids[fam] = static_cast<int>(i);
      break;
    }
    any = any || ids[fam] > 0;
  }
  // Back compatibility in set_dft_from_name: gradient terms named 'PBE' mean PBX and PBC.
  if (ids[2] == 14) ids[2] = 3;
  if (ids[3] == 9) ids[3] = 4;
  f.recognized = any || up == "NOX-NOC";
  if (f.recognized) f.ids = ids;
  return f;
}

bool functionals_conflict(const Functional& a, const Functional& b) {
  if (!a.ids || !b.ids) return false;
  // The first four indices (exchange, correlation and their gradient corrections) mean the same in every
  // release's numbering; the last two moved between 6.x and 7.x, so they are not compared.
  for (size_t i = 0; i < 4; ++i)
    if ((*a.ids)[i] != (*b.ids)[i]) return true;
  return false;
}

}  // namespace qecloud::qe
