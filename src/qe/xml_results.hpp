#pragma once
// pw.x's data-file-schema.xml (QE 6.x/7.x "qes" schema): the machine-readable record of a finished run.
#include <string>

#include "core/expected.hpp"
#include "qe/results.hpp"

namespace qecloud::qe {

// Fills what `r` lacks from the XML file: values parsed from stdout are kept (they carry pw.x's printed
// precision); the XML adds what stdout did not show. Hartree atomic units are converted to the units of
// the results contract (Ry, Ry/bohr, kbar, eV). Returns an error message when the file is unreadable or
// not a QE data file; `r` is then unchanged.
Expected<bool, std::string> merge_xml_results(const std::string& path, Results& r);

}  // namespace qecloud::qe
