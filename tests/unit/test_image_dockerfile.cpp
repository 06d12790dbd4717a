// The container recipe (image/dockerfile): what the Dockerfile holds and, above all, what it must not hold
// (the tutorial's sshd, keys, supervisord, AWS CLI, ENTRYPOINT); how qecloud gets into the image; the build
// context on disk.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "core/error.hpp"
#include "core/text.hpp"
#include "image/dockerfile.hpp"

namespace fs = std::filesystem;

namespace qecloud {
namespace {

image::RecipeOptions options(image::QecloudSource source) {
  image::RecipeOptions o;
  o.source = source;
  o.qecloud_version = "9.9.9";
  return o;
}

// Instruction lines (comments and continuations left out), as an engine reads them.
std::vector<std::string> instructions(const std::string& dockerfile) {
  std::vector<std::string> out;
  std::istringstream in(dockerfile);
  bool continued = false;
  for (std::string line; std::getline(in, line);) {
    const bool was_continued = continued;
    continued = !line.empty() && line.back() == '\\';
    if (was_continued || line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return out;
}

int count_starting(const std::vector<std::string>& lines, const std::string& word) {
  int n = 0;
  for (const auto& l : lines) n += l.rfind(word + " ", 0) == 0;
  return n;
}

TEST(ImageDockerfile, HostBinaryRecipe) {
  const std::string d = image::dockerfile(options(image::QecloudSource::kHostBinary));
  const auto lines = instructions(d);
  EXPECT_EQ(count_starting(lines, "FROM"), 1);
  EXPECT_TRUE(text::contains(d, "ARG BASE=docker.io/library/debian:bookworm-slim\n"));
  EXPECT_TRUE(text::contains(d, "\nCOPY qecloud /usr/local/bin/qecloud\n"));
  EXPECT_FALSE(text::contains(d, "builder"));
  EXPECT_EQ(lines.back(), R"(CMD ["qecloud", "agent"])");
  EXPECT_TRUE(text::contains(d, "org.opencontainers.image.version=\"9.9.9\""));
  EXPECT_TRUE(text::contains(d, "org.qecloud.recipe=\"host-binary\""));
  // OpenBLAS must win the alternatives, or the build fails.
  EXPECT_TRUE(text::contains(d,
                             "update-alternatives --query libblas.so.3-$(uname -m)-linux-gnu | grep -q "
                             "'^Value: .*openblas'"));
}

TEST(ImageDockerfile, FromSourceRecipeHasABuilderStage) {
  const std::string d = image::dockerfile(options(image::QecloudSource::kFromSource));
  const auto lines = instructions(d);
  EXPECT_EQ(count_starting(lines, "FROM"), 2);
  EXPECT_TRUE(text::contains(d, "FROM ${BASE} AS builder\n"));
  EXPECT_TRUE(text::contains(d, "COPY source/ /src/\n"));
  EXPECT_TRUE(text::contains(d, "-DQECLOUD_TESTS=OFF"));
  EXPECT_TRUE(text::contains(d, "\nCOPY --from=builder /build/qecloud /usr/local/bin/qecloud\n"));
  EXPECT_FALSE(text::contains(d, "\nCOPY qecloud "));
  EXPECT_TRUE(text::contains(d, "org.qecloud.recipe=\"from-source\""));
  // The compilers stay in the builder: the final stage installs runtime packages only.
  const std::string final_stage = d.substr(d.rfind("\nFROM "));
  for (const auto& p : image::build_packages()) EXPECT_FALSE(text::contains(final_stage, " " + p + " ")) << p;
}

TEST(ImageDockerfile, NothingTheTutorialsImageNeededForSsh) {
  for (auto source : {image::QecloudSource::kHostBinary, image::QecloudSource::kFromSource}) {
    const std::string d = image::dockerfile(options(source));
    const auto lines = instructions(d);
    EXPECT_EQ(count_starting(lines, "ENTRYPOINT"), 0);
    EXPECT_EQ(count_starting(lines, "USER"), 0);  // root, as Batch runs containers
    EXPECT_EQ(count_starting(lines, "EXPOSE"), 0);
    std::string commands;
    for (const auto& l : lines) commands += l + "\n";
    // Every word the tutorial's image needed for sshd, keys, supervisord or the AWS CLI, in what runs.
    static const std::regex forbidden(
        R"(ssh|supervisor|awscli|aws-cli|PermitRootLogin|id_rsa|authorized_keys|PRIVATE KEY|password|pip )",
        std::regex::icase);
    EXPECT_FALSE(std::regex_search(commands, forbidden)) << commands;
    for (const auto& p : image::runtime_packages()) EXPECT_FALSE(std::regex_search(p, forbidden)) << p;
  }
}

TEST(ImageDockerfile, RuntimePackages) {
  const auto& p = image::runtime_packages();
  for (const char* want : {"quantum-espresso", "openmpi-bin", "libopenblas0-serial", "ca-certificates",
                           "libcurl4", "libfmt9", "libsqlite3-0", "libssl3"})
    EXPECT_NE(std::find(p.begin(), p.end(), want), p.end()) << want;
  const std::string d = image::dockerfile(options(image::QecloudSource::kHostBinary));
  EXPECT_TRUE(text::contains(d, "--no-install-recommends"));
  for (const auto& name : p) EXPECT_TRUE(text::contains(d, " " + name)) << name;
}

TEST(ImageDockerfile, HostBinaryOnlyOnTheImagesOwnSystem) {
  std::string why;
  EXPECT_EQ(image::choose_qecloud_source({"debian", "12", "x86_64"}, why), image::QecloudSource::kHostBinary);
  EXPECT_EQ(why, "this host runs Debian 12 on x86_64, as the image does: its qecloud binary is copied in");
  EXPECT_EQ(image::choose_qecloud_source({"debian", "12", "aarch64"}, why),
            image::QecloudSource::kHostBinary);
  EXPECT_EQ(image::choose_qecloud_source({"debian", "13", "x86_64"}, why), image::QecloudSource::kFromSource);
  EXPECT_EQ(
      why, "this host runs debian 13 on x86_64, not the image's Debian 12: a builder stage compiles qecloud");
  EXPECT_EQ(image::choose_qecloud_source({"ubuntu", "22.04", "x86_64"}, why),
            image::QecloudSource::kFromSource);
  EXPECT_EQ(image::choose_qecloud_source({"debian", "12", "riscv64"}, why),
            image::QecloudSource::kFromSource);
  EXPECT_EQ(image::choose_qecloud_source({}, why), image::QecloudSource::kFromSource);
  EXPECT_EQ(why,
            "this host runs an unknown system  on an unknown machine, not the image's Debian 12: a builder "
            "stage compiles qecloud");
}

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("qecloud-ctx-" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
};

TEST(ImageDockerfile, ContextWithTheHostBinary) {
  Scratch s;
  const fs::path bin = s.dir / "fake-qecloud";
  std::ofstream(bin) << "#!/bin/sh\n";
  image::write_context((s.dir / "ctx").string(), options(image::QecloudSource::kHostBinary), bin.string(),
                       "");
  EXPECT_TRUE(fs::is_regular_file(s.dir / "ctx" / "Dockerfile"));
  EXPECT_TRUE(fs::is_regular_file(s.dir / "ctx" / "qecloud"));
  EXPECT_EQ(fs::status(s.dir / "ctx" / "qecloud").permissions() & fs::perms::owner_exec,
            fs::perms::owner_exec);
  EXPECT_FALSE(fs::exists(s.dir / "ctx" / "source"));
  EXPECT_EQ(text::read_file((s.dir / "ctx" / "Dockerfile").string()),
            image::dockerfile(options(image::QecloudSource::kHostBinary)));
}

TEST(ImageDockerfile, ContextWithTheSource) {
  Scratch s;
  image::write_context((s.dir / "ctx").string(), options(image::QecloudSource::kFromSource), "",
                       QECLOUD_SOURCE_DIR);
  EXPECT_TRUE(fs::is_regular_file(s.dir / "ctx" / "source" / "CMakeLists.txt"));
  EXPECT_TRUE(fs::is_regular_file(s.dir / "ctx" / "source" / "src" / "image" / "dockerfile.cpp"));
  EXPECT_FALSE(fs::exists(s.dir / "ctx" / "source" / "tests"));
  EXPECT_FALSE(fs::exists(s.dir / "ctx" / "qecloud"));
  // Without the tree, the error says what is missing.
  try {
    image::write_context((s.dir / "ctx2").string(), options(image::QecloudSource::kFromSource), "",
                         (s.dir / "nowhere").string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(text::contains(e.what(), "--from-source needs the source tree qecloud was built from"))
        << e.what();
  }
}

}  // namespace
}  // namespace qecloud
