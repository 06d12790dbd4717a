// Reading pw.x output files and feeding the streaming parser: plain files and pipes through read() in 256 KiB
// chunks; gzip files (QE's reference outputs are .out.gz) through zlib in 1 MiB chunks. Memory is bounded by
// those buffers plus 64 KiB of one unfinished line, whatever the file holds.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "core/error.hpp"
#include "qe/output_parser.hpp"
#include "qe/output_state.hpp"

namespace qecloud::qe {
namespace {

// Cuts chunks into lines for the parser. An unfinished line is kept for the next chunk, but never more than
// kMaxOutputLineBytes + 1 bytes of it: a longer line is passed on cut to that length, which the parser
// knows to skip. The unterminated end of the text goes to feed_partial().
class LineSplitter {
 public:
  explicit LineSplitter(OutputParser& parser) : parser_(parser) {}

  void add(std::string_view chunk) {
    size_t start = 0;
    while (start < chunk.size()) {
      const char* nl =
          static_cast<const char*>(std::memchr(chunk.data() + start, '\n', chunk.size() - start));
      if (!nl) {
        keep(chunk.substr(start));
        return;
      }
      const size_t end = static_cast<size_t>(nl - chunk.data());
      if (carry_.empty()) {
        parser_.feed(chunk.substr(start, end - start));
      } else {
        keep(chunk.substr(start, end - start));
        parser_.feed(carry_);
        carry_.clear();
      }
      start = end + 1;
    }
  }

  void end() {
    if (!carry_.empty()) parser_.feed_partial(carry_);
    carry_.clear();
  }

 private:
  void keep(std::string_view piece) {
    const size_t limit = kMaxOutputLineBytes + 1;
    if (carry_.size() < limit) carry_.append(piece.substr(0, limit - carry_.size()));
  }

  OutputParser& parser_;
  std::string carry_;
};

[[noreturn]] void fail(const std::string& path, const char* what) {
  throw Error(path + ": " + what + ": " + std::strerror(errno));
}

// Reads `fd` (owned: closed here) through zlib, which reads plain text transparently.
size_t read_through_zlib(int fd, const std::string& path, LineSplitter& lines) {
  gzFile f = gzdopen(fd, "rb");
  if (!f) {
    ::close(fd);
    fail(path, "cannot read");
  }
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(f, gzclose);
  std::string buf(1 << 20, '\0');
  size_t total = 0;
  while (true) {
    int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      throw Error(path + ": cannot read: " + gzerror(f, &err));
    }
    if (n == 0) return total;
    total += static_cast<size_t>(n);
    lines.add(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
}

// A pipe or FIFO opened with O_NONBLOCK: waits up to `grace` for a writer (a named FIFO's writer may still be
// opening it), then reads on blocking while one is there. Returns false when no writer came: an empty read
// means "no writer" while O_NONBLOCK is set, and "no data yet" shows as EAGAIN instead.
bool wait_for_writer(int fd, const std::string& path, std::chrono::milliseconds grace, LineSplitter& lines,
                     size_t& bytes) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  char first[4096];
  while (true) {
    const ssize_t n = ::read(fd, first, sizeof first);
    if (n > 0) {
      bytes += static_cast<size_t>(n);
      lines.add(std::string_view(first, static_cast<size_t>(n)));
      break;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;  // a writer, not writing yet
    if (n < 0) fail(path, "cannot read");
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));  // wakes when a writer writes or comes and goes
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return true;
}

// Reads a plain regular file with read(): a buffer that stays in cache beats mmap here (page faults cost
// more than one copy).
size_t read_plain(int fd, const std::string& path, LineSplitter& lines) {
  std::string buf(1 << 18, '\0');
  size_t total = 0;
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "cannot read");
    if (n == 0) return total;
    total += static_cast<size_t>(n);
    lines.add(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
}

[[noreturn]] void not_pw_output(const std::string& path, const std::string& why) {
  throw Error(path + ": not a pw.x output: " + why, kExitBadInput);
}

}  // namespace

Results parse_output_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO that has no writer must not wait for one.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(path, "cannot open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    fail(path, "cannot stat");
  }
  const bool regular = S_ISREG(st.st_mode), pipe = S_ISFIFO(st.st_mode);
  if (!regular && !pipe) {
    ::close(fd);
    not_pw_output(path, S_ISDIR(st.st_mode) ? "it is a directory" : "it is not a regular file or a pipe");
  }
  OutputParser parser;
  LineSplitter lines(parser);
  size_t bytes = 0;
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) {
    if (*f >= 0) ::close(*f);
  });
  if (pipe) {
    // A stream: read while its writer writes (plain text; gunzip into the pipe for a .gz).
    if (!wait_for_writer(fd, path, std::chrono::seconds(1), lines, bytes))
      not_pw_output(path, "it is a FIFO that no writer opened (nothing to read)");
    bytes += read_plain(fd, path, lines);
  } else {
    unsigned char magic[2] = {0, 0};
    if (::pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
      const int owned = fd;
      fd = -1;  // zlib closes it
      bytes = read_through_zlib(owned, path, lines);
    } else {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      bytes = read_plain(fd, path, lines);
    }
  }
  lines.end();
  if (bytes == 0) not_pw_output(path, "it is empty");
  if (auto why = parser.not_pw_output()) not_pw_output(path, *why);
  return parser.finish();
}

}  // namespace qecloud::qe
