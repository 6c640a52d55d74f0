// WriteFileAtomic: temp file + fsync + rename + directory fsync, so readers (and a crash) only
// ever see the old file or the complete new one. A symbolic link is written through (its target
// is replaced, the link stays), and a target that is not a regular file (a FIFO, /dev/stdout) is
// written in place: renaming over those would replace the link or the device node itself.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "nhits/safetensors.h"

namespace nhits {
namespace {

std::string Errno(int err) { return std::strerror(err); }

// Splits "dir/name" into ("dir", "name"); a bare name lives in ".".
void SplitPath(const std::string& path, std::string* dir, std::string* base) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    *dir = ".";
    *base = path;
  } else {
    *dir = slash == 0 ? "/" : path.substr(0, slash);
    *base = path.substr(slash + 1);
  }
}

Status WriteAll(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(Errno(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

// Writes straight into an existing non-regular file (no temp file, no rename).
Status WriteInPlace(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": cannot open for writing: " + Errno(errno));
  Status st = WriteAll(fd, bytes);
  ::close(fd);
  return st.ok() ? st : Status::IoError(path + ": cannot write: " + st.message());
}

}  // namespace

Status WriteFileAtomic(const std::string& given, const std::string& bytes) {
  struct stat st {};
  // What the name reaches, links followed: a FIFO, a terminal or /dev/stdout (which may be a pipe
  // or a file opened for appending) is written as it is, never replaced.
  const bool exists = ::stat(given.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return Status::IoError(given + ": is a directory; a file cannot replace it");
  if (exists && !S_ISREG(st.st_mode)) return WriteInPlace(given, bytes);
  // A regular file (or nothing yet) behind links: replace the final target, so the links stay.
  std::filesystem::path resolved = given;
  for (int depth = 0; ::lstat(resolved.c_str(), &st) == 0 && S_ISLNK(st.st_mode); ++depth) {
    std::error_code ec;
    const std::filesystem::path next = std::filesystem::read_symlink(resolved, ec);
    if (ec || depth == 40)
      return Status::IoError(given + ": cannot follow the symbolic link" + (ec ? ": " + ec.message() : std::string(" (a loop?)")));
    resolved = next.is_absolute() ? next : resolved.parent_path() / next;
  }
  const std::string path = resolved.string();
  std::string dir, base;
  SplitPath(path, &dir, &base);
  if (base.empty()) return Status::InvalidArgument(path + ": not a file name");
  // Same directory as the target so that rename() stays within one file system. O_EXCL and
  // O_NOFOLLOW: a name planted in a shared folder (a link to another file) is never written.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = (dir == "/" ? "" : dir) + "/." + base + ".tmp." + std::to_string(::getpid()) + "." +
          std::to_string(counter.fetch_add(1));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  // The replaced file keeps its permissions (a 0600 secret stays 0600).
  if (fd >= 0 && exists && ::stat(path.c_str(), &st) == 0) (void)::fchmod(fd, st.st_mode & 0777);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Status::NotFound(path + ": cannot create a file in directory " + dir + ": " +
                              Errno(err));
    }
    return Status::IoError(path + ": cannot create " + tmp + ": " + Errno(err));
  }
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return Status::IoError(path + ": " + what + " " + tmp + ": " + Errno(err));
  };

  if (Status st = WriteAll(fd, bytes); !st.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::IoError(path + ": cannot write " + tmp + ": " + st.message());
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("cannot fsync", err);
  }
  // close() can report deferred write errors (e.g. on NFS), so it is checked too.
  if (::close(fd) != 0) return fail("cannot close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::IoError(path + ": cannot rename " + tmp + " over it: " + Errno(err));
  }

  // Without this the rename itself may be lost on power failure.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return Status::IoError(path + ": cannot open directory " + dir + ": " + Errno(errno));
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  // Some file systems cannot fsync a directory (EINVAL); the data itself is already durable.
  if (rc != 0 && err != EINVAL) {
    return Status::IoError(path + ": cannot fsync directory " + dir + ": " + Errno(err));
  }
  return Status::Ok();
}

}  // namespace nhits
