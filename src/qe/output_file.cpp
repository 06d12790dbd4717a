// Reading pw.x output files and feeding the streaming parser: plain files through read() in 256 KiB chunks;
// gzip files (QE's reference outputs are .out.gz) are inflated through zlib in 1 MiB chunks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.hpp"
#include "qe/output_parser.hpp"

namespace qecloud::qe {
namespace {

// Feeds complete lines of `chunk` and keeps an unfinished last line in `carry` for the next chunk.
void feed_lines(OutputParser& parser, std::string_view chunk, std::string& carry) {
  size_t start = 0;
  while (start < chunk.size()) {
    const char* nl = static_cast<const char*>(std::memchr(chunk.data() + start, '\n', chunk.size() - start));
    if (!nl) {
      carry.append(chunk.substr(start));
      return;
    }
    const size_t end = static_cast<size_t>(nl - chunk.data());
    if (carry.empty()) {
      parser.feed(chunk.substr(start, end - start));
    } else {
      carry.append(chunk.substr(start, end - start));
      parser.feed(carry);
      carry.clear();
    }
    start = end + 1;
  }
}

[[noreturn]] void fail(const std::string& path, const char* what) {
  throw Error(path + ": " + what + ": " + std::strerror(errno));
}

Results parse_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail(path, "cannot open");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(f, gzclose);
  OutputParser parser;
  std::string buf(1 << 20, '\0'), carry;
  while (true) {
    int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      throw Error(path + ": cannot read: " + gzerror(f, &err));
    }
    if (n == 0) break;
    feed_lines(parser, std::string_view(buf.data(), static_cast<size_t>(n)), carry);
  }
  if (!carry.empty()) parser.feed(carry);
  return parser.finish();
}

}  // namespace

Results parse_output_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    fail(path, "cannot stat");
  }
  unsigned char magic[2] = {0, 0};
  const bool gzip = ::pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (gzip || !S_ISREG(st.st_mode) || st.st_size == 0) {
    ::close(fd);
    if (!gzip && S_ISREG(st.st_mode)) return OutputParser().finish();  // an empty file: nothing was printed
    return parse_gzip(path);  // gzip, or a pipe/FIFO (zlib reads those transparently)
  }
  // read() into a buffer that stays in cache beats mmap here (page faults cost more than one copy).
  OutputParser parser;
  std::string buf(1 << 18, '\0'), carry;
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      fail(path, "cannot read");
    }
    if (n == 0) break;
    feed_lines(parser, std::string_view(buf.data(), static_cast<size_t>(n)), carry);
  }
  ::close(fd);
  if (!carry.empty()) parser.feed(carry);
  return parser.finish();
}

}  // namespace qecloud::qe
