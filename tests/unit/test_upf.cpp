#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "qe/upf.hpp"

namespace fs = std::filesystem;
using namespace qecloud::qe;

namespace {
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("qecloud-upf-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& content) const {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name) << content;
  }
};
}  // namespace

TEST(Upf, InspectsTheSeedPseudopotential) {
  auto info = inspect_pseudo(std::string(QECLOUD_SOURCE_DIR) + "/examples/si/Si.pz-vbc.UPF");
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->format, "UPF v1");  // the seed's copy is v1; Debian's file of the same name is v2
  EXPECT_EQ(info->element, "Si");
  EXPECT_EQ(info->z_valence, 4.0);
}

TEST(Upf, EveryDebianPseudopotentialIsUnderstood) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/usr/share/espresso/pseudo")) {
    if (e.path().filename() == "clean_ps") continue;  // a shell script shipped beside the pseudopotentials
    auto info = inspect_pseudo(e.path().string());
    EXPECT_TRUE(info) << e.path() << ": " << info.error();
    ++n;
  }
  EXPECT_GT(n, 50) << "Debian's quantum-espresso-data must be installed";
}

TEST(Upf, RejectsWhatIsNotAPseudopotential) {
  TempDir t;
  t.write("empty.UPF", "");
  t.write("page.UPF", "<!DOCTYPE html><html>404</html>");
  t.write("text.UPF", "hello\n");
  EXPECT_EQ(inspect_pseudo((t.path / "empty.UPF").string()).error(), "the file is empty");
  EXPECT_EQ(inspect_pseudo((t.path / "page.UPF").string()).error(),
            "not a UPF file: it is an HTML page (a failed download?)");
  EXPECT_EQ(inspect_pseudo((t.path / "text.UPF").string()).error(),
            "not a UPF file: no <UPF> or <PP_HEADER> tag in the first 64 KiB");
  EXPECT_EQ(inspect_pseudo((t.path / "missing.UPF").string()).error(), "cannot be read");
}

TEST(Upf, ResolvesLikePwX) {
  TempDir t;
  t.write("run/pp/A.UPF", "x");
  t.write("env/B.UPF", "x");
  t.write("home/espresso/pseudo/C.UPF", "x");
  PseudoSearch s;
  s.base_dir = (t.path / "run").string();
  s.pseudo_dir = "pp";
  s.espresso_pseudo = (t.path / "env").string();
  s.home = (t.path / "home").string();
  EXPECT_EQ(*resolve_pseudo("A.UPF", s), (t.path / "run/pp/A.UPF").string());
  // With pseudo_dir set, pw.x looks only there.
  EXPECT_EQ(resolve_pseudo("B.UPF", s).error(), "pseudo_dir 'pp'");
  // Only the case differs: pw.x would not find it either (names are case-sensitive), and the error says so.
  EXPECT_EQ(resolve_pseudo("a.upf", s).error(),
            "pseudo_dir 'pp'; there is 'A.UPF' there: file names are case-sensitive");
  s.pseudo_dir.reset();
  EXPECT_EQ(*resolve_pseudo("B.UPF", s), (t.path / "env/B.UPF").string());
  s.espresso_pseudo.reset();
  EXPECT_EQ(*resolve_pseudo("C.UPF", s), (t.path / "home/espresso/pseudo/C.UPF").string());
  EXPECT_TRUE(directory_exists("pp", s.base_dir));
  EXPECT_FALSE(directory_exists("nope", s.base_dir));
}
