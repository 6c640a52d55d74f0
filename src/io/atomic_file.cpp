// WriteFileAtomic: temp file + fsync + rename + directory fsync, so readers (and a crash) only
// ever see the old file or the complete new one.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

}  // namespace

Status WriteFileAtomic(const std::string& path, const std::string& bytes) {
  std::string dir, base;
  SplitPath(path, &dir, &base);
  if (base.empty()) return Status::InvalidArgument(path + ": not a file name");
  // Same directory as the target so that rename() stays within one file system.
  const std::string tmp =
      (dir == "/" ? "" : dir) + "/." + base + ".tmp." + std::to_string(::getpid());

  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
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
