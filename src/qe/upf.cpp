#include "qe/upf.hpp"

#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/text.hpp"

namespace fs = std::filesystem;

namespace qecloud::qe {
namespace {

fs::path resolve_dir(const std::string& dir, const std::string& base) {
  fs::path p(dir);
  return p.is_absolute() ? p : fs::path(base) / p;
}

bool is_readable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && std::ifstream(p).good();
}

// The value of attribute `name="…"` inside `tag`, or empty.
std::string attribute(std::string_view tag, std::string_view name) {
  size_t pos = 0;
  while ((pos = text::to_lower(tag).find(text::to_lower(name), pos)) != std::string::npos) {
    size_t eq = tag.find_first_not_of(" \t\r\n", pos + name.size());
    bool boundary = pos == 0 || std::isspace(static_cast<unsigned char>(tag[pos - 1]));
    if (boundary && eq != std::string::npos && tag[eq] == '=') {
      size_t q = tag.find_first_of("\"'", eq);
      if (q == std::string::npos) return {};
      size_t end = tag.find(tag[q], q + 1);
      if (end == std::string::npos) return {};
      return std::string(text::trim(tag.substr(q + 1, end - q - 1)));
    }
    pos += name.size();
  }
  return {};
}

}  // namespace

std::string_view element_symbol(int z) {
  static constexpr std::array<std::string_view, 109> kElements{
      "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",  "S",
      "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge",
      "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd",
      "In", "Sn", "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd",
      "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg",
      "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm",
      "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt"};
  return z >= 1 && z <= 109 ? kElements[static_cast<size_t>(z - 1)] : std::string_view();
}

bool directory_exists(const std::string& dir, const std::string& base_dir) {
  std::error_code ec;
  return fs::is_directory(resolve_dir(dir, base_dir), ec);
}

Expected<std::string, std::string> resolve_pseudo(const std::string& file, const PseudoSearch& s) {
  std::vector<std::pair<fs::path, std::string>> places;  // directory, how to name it to the user
  if (s.pseudo_dir) {
    places.emplace_back(resolve_dir(*s.pseudo_dir, s.base_dir),
                        fmt::format("pseudo_dir '{}'", *s.pseudo_dir));
  } else if (s.espresso_pseudo) {
    places.emplace_back(resolve_dir(*s.espresso_pseudo, s.base_dir),
                        fmt::format("$ESPRESSO_PSEUDO '{}'", *s.espresso_pseudo));
  } else if (s.home) {
    places.emplace_back(fs::path(*s.home) / "espresso" / "pseudo",
                        "~/espresso/pseudo (pw.x's default; no "
                        "pseudo_dir or $ESPRESSO_PSEUDO set)");
  }
  std::string tried;
  for (const auto& [dir, name] : places) {
    fs::path p = dir / file;
    if (is_readable_file(p)) return p.lexically_normal().string();
    tried += (tried.empty() ? "" : ", ") + name;
    // Names are case-sensitive: say so when only the case differs (Si.pz-vbc.upf for Si.pz-vbc.UPF).
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string other = e.path().filename().string();
      if (other != file && text::to_lower(other) == text::to_lower(file)) {
        tried += fmt::format("; there is '{}' there: file names are case-sensitive", other);
        break;
      }
    }
  }
  if (tried.empty()) tried = "any directory (no pseudo_dir, $ESPRESSO_PSEUDO or $HOME)";
  return unexpected(tried);
}

Expected<PseudoInfo, std::string> inspect_pseudo(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(std::string("cannot be read"));
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  if (head.empty()) return unexpected(std::string("the file is empty"));
  if (head.find('\0') != std::string::npos) return unexpected(std::string("not a UPF file: it is binary"));
  PseudoInfo info;
  const std::string low = text::to_lower(head);
  if (size_t upf = low.find("<upf version"); upf != std::string::npos) {
    info.format = "UPF v2";
    size_t h = low.find("<pp_header");
    if (h == std::string::npos) return unexpected(std::string("UPF v2 file without <PP_HEADER>"));
    size_t end = head.find('>', h);
    std::string_view tag =
        std::string_view(head).substr(h, end == std::string::npos ? std::string::npos : end - h);
    info.element = attribute(tag, "element");
    info.pseudo_type = attribute(tag, "pseudo_type");
    info.functional = attribute(tag, "functional");
    if (auto z = text::parse_fortran_real(attribute(tag, "z_valence"))) info.z_valence = *z;
    if (info.element.empty()) return unexpected(std::string("UPF v2 <PP_HEADER> has no element"));
    return info;
  }
  if (size_t h = low.find("<pp_header>"); h != std::string::npos) {
    // UPF v1: the header is a text block; line 1 version, line 2 element, line 3 type (NC/US/PAW), …,
    // each value first on its line, followed by a comment.
    info.format = "UPF v1";
    size_t pos = head.find('\n', h);
    std::vector<std::string> lines;
    while (pos != std::string::npos && lines.size() < 6) {
      size_t next = head.find('\n', pos + 1);
      lines.emplace_back(text::trim(head.substr(pos + 1, next == std::string::npos ? next : next - pos - 1)));
      pos = next;
    }
    if (lines.size() < 3) return unexpected(std::string("UPF v1 <PP_HEADER> is truncated"));
    auto first = [](const std::string& l) {
      auto w = text::split_ws(l);
      return w.empty() ? std::string() : std::string(w[0]);
    };
    info.element = first(lines[1]);
    info.pseudo_type = first(lines[2]);
    // read_upf_v1 reads the functional as the first 20 characters of its line: READ(…, '(a20,t24,a)').
    if (size_t f = head.find('\n', h); f != std::string::npos) {
      size_t line_start = f + 1;
      for (int k = 0; k < 4 && line_start != std::string::npos; ++k) {
        size_t next = head.find('\n', line_start);
        line_start = next == std::string::npos ? next : next + 1;
      }
      if (line_start != std::string::npos)
        info.functional = std::string(text::trim(std::string_view(head).substr(line_start, 20)));
    }
    if (lines.size() > 5)
      if (auto z = text::parse_fortran_real(first(lines[5]))) info.z_valence = *z;
    return info;
  }
  if (low.find("<html") != std::string::npos || low.find("<!doctype") != std::string::npos)
    return unexpected(std::string("not a UPF file: it is an HTML page (a failed download?)"));
  const std::string ext = text::to_lower(fs::path(path).extension().string());
  // Goedecker-Teter-Hutter, analytical (upflib's readgth; pw.x picks the reader by the '.gth' ending): a
  // title line, then "zatom zion pspdat", then "pspcod pspxc lmax …".
  if (fs::path(path).extension().string() == ".gth") {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (lines.size() < 3 && pos < head.size()) {
      size_t next = head.find('\n', pos);
      lines.emplace_back(head.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
      pos = next == std::string::npos ? head.size() : next + 1;
    }
    auto fields = lines.size() >= 2 ? text::split_ws(lines[1]) : std::vector<std::string_view>{};
    auto z = fields.size() >= 2 ? text::parse_fortran_real(fields[0]) : std::nullopt;
    auto zion = fields.size() >= 2 ? text::parse_fortran_real(fields[1]) : std::nullopt;
    if (!z || !zion || lines.size() < 3)
      return unexpected(std::string("not a GTH pseudopotential: line 2 must be 'zatom zion pspdat'"));
    PseudoInfo gth{"GTH", std::string(element_symbol(static_cast<int>(*z))), *zion, "NC", ""};
    return gth;
  }
  if (ext == ".van" || ext == ".vdb") return PseudoInfo{"legacy-vanderbilt", "", std::nullopt, "US", ""};
  if (ext == ".rrkj3") return PseudoInfo{"legacy-rrkj3", "", std::nullopt, "US", ""};
  // The old norm-conserving format pw.x 6.x still reads (read_ncpp): a quoted functional name on line 1,
  // then 'El', zval, … on line 2.
  if (!head.empty() && head[0] == '\'' && head.find("\n'") != std::string::npos)
    return PseudoInfo{"legacy-nc", "", std::nullopt, "NC", ""};
  return unexpected(std::string("not a UPF file: no <UPF> or <PP_HEADER> tag in the first 64 KiB"));
}

}  // namespace qecloud::qe
