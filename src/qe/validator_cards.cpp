// Card checks: which cards, in which order and case for the release that will run the input (read_cards),
// rows against nat/ntyp, species declared and used. The cell is validator_cell.cpp's; pseudopotentials and
// k-points are validator_resources.cpp's.
#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>

#include "core/text.hpp"
#include "qe/pw_schema.hpp"
#include "qe/validator_checks.hpp"

namespace qecloud::qe::detail {
namespace {

// upflib's atomic_number: the element a species label names — its first letter, plus its second in lower
// case unless that is a digit, '-' or '_' ("Fe1" -> Fe, "O_up" -> O, "SI" -> Si).
std::string element_of_label(std::string_view label) {
  if (label.empty()) return {};
  std::string e(1, static_cast<char>(std::toupper(static_cast<unsigned char>(label[0]))));
  if (label.size() > 1 && std::isalpha(static_cast<unsigned char>(label[1])))
    e += static_cast<char>(std::tolower(static_cast<unsigned char>(label[1])));
  return e;
}

bool is_element(std::string_view symbol) {
  for (int z = 1; !element_symbol(z).empty(); ++z)
    if (element_symbol(z) == symbol) return true;
  return false;
}

void check_species(Checks& c) {
  const PwInput& in = c.in;
  const Card* card = in.card("ATOMIC_SPECIES");
  if (!card)
    return c.error({1, 0},
                   "missing card ATOMIC_SPECIES (one row per species: label, mass, "
                   "pseudopotential file)",
                   "ATOMIC_SPECIES");
  const int ntyp = c.needs.n_species;
  const int rows = static_cast<int>(card->rows.size());
  if (ntyp > 0 && rows != ntyp)
    c.error(card->loc,
            fmt::format("ATOMIC_SPECIES has {} row{} but ntyp = {}", rows, rows == 1 ? "" : "s", ntyp),
            "ATOMIC_SPECIES");
  std::map<std::string, int> seen;
  for (const auto& s : in.species) {
    if (auto [it, fresh] = seen.emplace(s.label, s.loc.line); !fresh)
      c.error(s.loc, fmt::format("species '{}' is declared twice (first at line {})", s.label, it->second),
              "ATOMIC_SPECIES");
    // QE 6.x keeps 3 characters of a label; longer ones collide silently ("Fe_up" and "Fe_dw" -> "Fe_").
    if (s.label.size() > 3)
      c.warn(s.loc,
             fmt::format("species label '{}' is longer than 3 characters; QE 6.x truncates it to '{}'",
                         s.label, s.label.substr(0, 3)),
             "ATOMIC_SPECIES");
    if (s.extra_loc)
      c.warn(*s.extra_loc, "pw.x reads the first three fields of an ATOMIC_SPECIES row and ignores the rest",
             "ATOMIC_SPECIES");
    // init_pos: a mass <= 0 is replaced by the standard atomic weight of the element the label names; a
    // label that names no element leaves nothing to replace it with ("invalid mass").
    if (s.mass <= 0 && !is_element(element_of_label(s.label)))
      c.error(s.loc,
              fmt::format("mass of '{}' is not positive and '{}' is no element to take a mass from", s.label,
                          s.label),
              "ATOMIC_SPECIES");
  }
}

void check_positions(Checks& c) {
  const PwInput& in = c.in;
  const Card* card = in.card("ATOMIC_POSITIONS");
  if (!card)
    return c.error({1, 0}, "missing card ATOMIC_POSITIONS (one row per atom: label x y z)",
                   "ATOMIC_POSITIONS");
  const int nat = c.needs.n_atoms;
  const int rows = static_cast<int>(card->rows.size());
  if (nat > 0 && rows != nat)
    c.error(card->loc,
            fmt::format("ATOMIC_POSITIONS has {} row{} but nat = {}", rows, rows == 1 ? "" : "s", nat),
            "ATOMIC_POSITIONS");
  if (card->option.empty())
    c.warn(card->loc,
           "ATOMIC_POSITIONS without units: pw.x assumes alat (deprecated); write "
           "ATOMIC_POSITIONS {alat}",
           "ATOMIC_POSITIONS");
  // init_pos (input.f90): crystal_sg needs space_group, and space_group needs crystal_sg.
  const bool sg = c.is_set("system", "space_group");
  if (card->option == "crystal_sg" && !sg)
    c.error(card->option_loc, "ATOMIC_POSITIONS {crystal_sg} needs 'space_group' in &system", "space_group");
  if (card->option != "crystal_sg" && sg && in.get_int("system", "space_group").value_or(0) != 0)
    c.error(c.where("system", "space_group"), "'space_group' needs ATOMIC_POSITIONS {crystal_sg}",
            "space_group");
  std::vector<std::string_view> labels;
  for (const auto& s : in.species) labels.push_back(s.label);
  for (const auto& a : in.atoms) {
    if (std::find(labels.begin(), labels.end(), a.label) != labels.end()) continue;
    if (in.species.empty()) break;
    std::string hint = text::closest_match(a.label, labels);
    c.error(a.loc,
            fmt::format("species '{}' is not declared in ATOMIC_SPECIES{}", a.label,
                        hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)),
            "ATOMIC_POSITIONS");
  }
  for (const auto& s : in.species) {
    bool used =
        std::any_of(in.atoms.begin(), in.atoms.end(), [&](const Atom& a) { return a.label == s.label; });
    if (!used && !in.atoms.empty())
      c.warn(s.loc, fmt::format("species '{}' is declared but no atom uses it", s.label), "ATOMIC_SPECIES");
  }
  // if_pos multiplies the force on a coordinate: 0 fixes it, 1 leaves it, other values scale it (pw.x
  // does not check them).
  for (const auto& a : in.atoms)
    for (int f : a.if_pos)
      if (f != 0 && f != 1) {
        c.warn(a.loc, "fixed-coordinate flags (if_pos) other than 0 or 1 scale the force on that coordinate",
               "ATOMIC_POSITIONS");
        break;
      }
}

// read_cards of the release that will run the input: a card it does not know, or a card name not in upper
// case before QE 7.2, is skipped with "card … ignored" — the run goes on without it (a HUBBARD card read by
// QE 6.7 runs plain DFT).
void check_card_names(Checks& c) {
  const std::optional<int> release = c.release();
  for (const auto& card : c.in.cards) {
    const PwCard* known = find_pw_card(card.name);
    if (card.name == "DIPOLE" || card.name == "ESR")
      c.error(card.loc, fmt::format("card {} no longer exists: pw.x stops (read_cards)", card.name),
              card.name);
    else if (card.name == "AUTOPILOT" || card.name == "KSOUT" || card.name == "WANNIER_AC")
      c.warn(card.loc, fmt::format("card {} is for cp.x: pw.x skips it", card.name), card.name);
    if (!known) {
      std::string hint = text::closest_match(card.name, pw_card_names());
      c.error(card.loc,
              fmt::format("unknown card '{}'{} (pw.x would skip it and its rows)", card.written,
                          hint.empty() ? "" : fmt::format(" (did you mean {}?)", hint)),
              card.name);
      continue;
    }
    if (!known->dated().in(release)) {
      c.error(card.loc,
              fmt::format("card {} {}{}: it would skip the card and run without it", card.name,
                          known->dated().why_not(*release), c.judged_for()),
              card.name);
      continue;
    }
    if (card.written != card.name && (!release || *release < lower_case_cards_since())) {
      const int since = lower_case_cards_since();
      std::string needs = fmt::format("card names in lower case need QE >= {}.{}", since / 100, since % 100);
      if (release)
        c.error(card.loc,
                fmt::format("{}{}: it would skip '{}' and its rows; write {}", needs, c.judged_for(),
                            card.written, card.name),
                card.name);
      else
        c.warn(card.loc, fmt::format("{}; older pw.x skip '{}': write {}", needs, card.written, card.name),
               card.name);
    }
  }
  // card_atomic_positions: "ATOMIC_SPECIES must be present before"; card_atomic_forces wants the positions.
  auto index_of = [&](std::string_view name) {
    for (size_t i = 0; i < c.in.cards.size(); ++i)
      if (c.in.cards[i].name == name) return static_cast<int>(i);
    return -1;
  };
  const int species = index_of("ATOMIC_SPECIES"), positions = index_of("ATOMIC_POSITIONS");
  if (species >= 0 && positions >= 0 && positions < species)
    c.error(c.in.cards[static_cast<size_t>(positions)].loc,
            "ATOMIC_POSITIONS must come after ATOMIC_SPECIES: pw.x reads the species first",
            "ATOMIC_POSITIONS");
  for (std::string_view after : {"ATOMIC_FORCES", "ATOMIC_VELOCITIES"})
    if (int i = index_of(after); i >= 0 && positions >= 0 && i < positions)
      c.error(c.in.cards[static_cast<size_t>(i)].loc,
              fmt::format("{} must come after ATOMIC_POSITIONS", after), std::string(after));
}

void check_other_cards(Checks& c) {
  const PwInput& in = c.in;
  const Card* k = in.card("K_POINTS");
  if (!k) c.warn({1, 0}, "no K_POINTS card: pw.x uses the Gamma point only", "K_POINTS");
  if (in.kpoints) {
    c.needs.kpoints_mode = in.kpoints->mode;
    if (in.kpoints->mode == "automatic") {
      c.needs.kpoint_grid = in.kpoints->grid;
      c.needs.kpoint_shift = in.kpoints->shift;
    } else if (in.kpoints->mode == "gamma") {
      c.needs.kpoints_listed = 1;
    } else {
      c.needs.kpoints_listed = static_cast<int>(in.kpoints->list.size());
    }
  } else if (!k) {
    c.needs.kpoints_mode = "gamma";
    c.needs.kpoints_listed = 1;
  }
  if (const Card* occ = in.card("OCCUPATIONS"); occ) {
    auto o = in.get_string("system", "occupations");
    if (!o || *o != "from_input")
      c.warn(occ->loc, "OCCUPATIONS card is ignored unless occupations = 'from_input'", "OCCUPATIONS");
  }
  if (const Card* cons = in.card("CONSTRAINTS"); cons && !cons->rows.empty()) {
    auto n = text::parse_int(cons->rows[0][0].text);
    if (!n)
      c.error(cons->rows[0][0].loc, "CONSTRAINTS must start with the number of constraints", "CONSTRAINTS");
    else if (static_cast<size_t>(*n) + 1 != cons->rows.size())
      c.error(cons->loc,
              fmt::format("CONSTRAINTS says {} constraint{} but lists {}", *n, *n == 1 ? "" : "s",
                          cons->rows.size() - 1),
              "CONSTRAINTS");
  }
}

}  // namespace

void check_cards(Checks& c) {
  check_card_names(c);
  check_species(c);
  check_positions(c);
  check_other_cards(c);
}

}  // namespace qecloud::qe::detail
