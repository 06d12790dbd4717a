// Which QE release an input is judged for: versions as people and pw.x write them, the local pw.x asked
// once (a fake pw.x script stands in for it, so the test counts how often it is started), and the dated
// variable table.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/process.hpp"
#include "core/text.hpp"
#include "qe/pw_schema.hpp"
#include "qe/qe_version.hpp"

namespace fs = std::filesystem;
using namespace qecloud;
using qe::QeVersion;

namespace {

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("qecloud-qe-version-" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
};

// A stand-in for pw.x: prints pw.x's banner, counts its starts in a file, then waits for input as pw.x does.
fs::path fake_pw(const fs::path& dir, const std::string& banner) {
  fs::path p = dir / "pw.x";
  std::ofstream(p) << "#!/bin/sh\necho started >> '" << (dir / "starts").string() << "'\necho\necho '"
                   << banner << "'\nexec sleep 30\n";
  fs::permissions(p, fs::perms::owner_all);
  return p;
}

int starts(const fs::path& dir) {
  if (!fs::exists(dir / "starts")) return 0;
  return static_cast<int>(text::split_ws(text::read_file((dir / "starts").string())).size());
}

}  // namespace

TEST(QeVersion, ParsesReleasesAsWritten) {
  EXPECT_EQ(QeVersion::parse("6.7"), (QeVersion{6, 7}));
  EXPECT_EQ(QeVersion::parse("7.3.1"), (QeVersion{7, 3}));
  EXPECT_EQ(QeVersion::parse("v.6.7MaX"), (QeVersion{6, 7}));
  EXPECT_EQ(QeVersion::parse("v7.5rc"), (QeVersion{7, 5}));
  EXPECT_EQ(QeVersion::parse(" 7.0 "), (QeVersion{7, 0}));
  EXPECT_FALSE(QeVersion::parse("7"));
  EXPECT_FALSE(QeVersion::parse("seven"));
  EXPECT_FALSE(QeVersion::parse(""));
  EXPECT_FALSE(QeVersion::parse(".5"));
  EXPECT_EQ(QeVersion({6, 7}).code(), 607);
  EXPECT_EQ(QeVersion({7, 0}).str(), "7.0");
}

TEST(QeVersion, ReadsPwxBanner) {
  EXPECT_EQ(qe::version_from_banner("     Program PWSCF v.6.7MaX starts on 30Nov2026 at  9:26: 1 "),
            (QeVersion{6, 7}));
  EXPECT_EQ(qe::version_from_banner("     Program PWSCF v.7.3.1 starts on  1Jan2025"), (QeVersion{7, 3}));
  EXPECT_FALSE(qe::version_from_banner("     Program PHONON v.6.7MaX starts on"));
  EXPECT_FALSE(qe::version_from_banner("Waiting for input..."));
}

TEST(QeVersion, AsksPwxOnceAndCachesByPathAndModificationTime) {
  Scratch s;
  const fs::path pw = fake_pw(s.dir, "     Program PWSCF v.6.7MaX starts on 30Nov2026 at  9:26: 1 ");
  const std::string cache = (s.dir / "pw-versions.tsv").string();
  EXPECT_EQ(qe::ask_pw_version(pw.string(), cache), (QeVersion{6, 7}));
  EXPECT_EQ(qe::ask_pw_version(pw.string(), cache), (QeVersion{6, 7}));
  EXPECT_EQ(starts(s.dir), 1) << "the second answer must come from the cache";
  // A reinstalled pw.x (another banner, another modification time) is asked again.
  fake_pw(s.dir, "     Program PWSCF v.7.2 starts on 1Jan2026");
  struct timespec times[2] = {{0, UTIME_OMIT}, {1234567890, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, pw.c_str(), times, 0), 0);
  EXPECT_EQ(qe::ask_pw_version(pw.string(), cache), (QeVersion{7, 2}));
  EXPECT_EQ(starts(s.dir), 2);
}

TEST(QeVersion, NoAnswerFromAProgramThatIsNotPwx) {
  Scratch s;
  const fs::path pw = fake_pw(s.dir, "hello");
  std::ofstream(pw) << "#!/bin/sh\necho not pw.x\n";  // ends without a banner
  EXPECT_FALSE(qe::ask_pw_version(pw.string(), (s.dir / "cache").string()));
  EXPECT_FALSE(qe::ask_pw_version((s.dir / "missing").string(), (s.dir / "cache").string()));
}

TEST(QeVersion, FindsProgramsOnPath) {
  Scratch s;
  const fs::path pw = fake_pw(s.dir, "x");
  const char* old = std::getenv("PATH");
  const std::string saved = old ? old : "";
  ::setenv("PATH", (s.dir.string() + ":/usr/bin:/bin").c_str(), 1);
  EXPECT_EQ(find_program("pw.x"), pw.string());
  EXPECT_EQ(find_program("no-such-program.x"), "");
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(find_program(pw.string()), pw.string());
}

TEST(PwSchema, DatesVariablesValuesAndCards) {
  const auto* diag = qe::find_pw_variable("electrons", "diagonalization");
  ASSERT_TRUE(diag);
  auto value = [&](std::string_view v) -> qe::Dated {
    for (const auto& a : diag->allowed)
      if (a.value == v) return a.dated();
    ADD_FAILURE() << "no value " << v;
    return {};
  };
  EXPECT_TRUE(value("rmm-davidson").in(700));
  EXPECT_FALSE(value("rmm-davidson").in(607));
  EXPECT_EQ(value("rmm-davidson").why_not(607), "needs QE >= 7.0");
  EXPECT_EQ(value("ppcg").why_not(705), "was removed in QE 7.5");
  EXPECT_TRUE(value("rmm-davidson").in(std::nullopt)) << "no release known: any release";
  const auto* u = qe::find_pw_variable("system", "hubbard_u");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->dated().in(700));
  EXPECT_EQ(u->dated().why_not(701), "was removed in QE 7.1");
  const auto* hubbard = qe::find_pw_card("HUBBARD");
  ASSERT_TRUE(hubbard);
  EXPECT_EQ(hubbard->dated().why_not(607), "needs QE >= 7.1");
  EXPECT_EQ(qe::lower_case_cards_since(), 702);
  EXPECT_EQ(qe::oldest_known_release(), 605);
  EXPECT_EQ(qe::newest_known_release(), 705);
}
