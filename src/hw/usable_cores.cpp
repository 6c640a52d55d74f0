#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "nhits/hw.h"

namespace nhits {
namespace {

std::string ReadFirstLine(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

// The cgroup (v2) the process lives in, from /proc/self/cgroup's "0::/path" line.
std::string OwnCgroupV2Dir() {
  std::ifstream f("/proc/self/cgroup");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
  return "";
}

// The cgroup v1 directory of the cpu controller the process lives in ("N:cpu,cpuacct:/path"),
// under whichever mount name the host uses ("cpu", "cpu,cpuacct"); "" when there is none.
std::string OwnCgroupV1CpuDir() {
  std::ifstream f("/proc/self/cgroup");
  for (std::string line; std::getline(f, line);) {
    const std::size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    std::stringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');)
      if (name == "cpu")
        for (const std::string& mount : {std::string("/sys/fs/cgroup/cpu"), "/sys/fs/cgroup/" + controllers})
          if (std::ifstream(mount + "/cpu.cfs_period_us")) return mount + (path == "/" ? "" : path);
  }
  return "";
}

// The tightest CPU quota on the way from the process's cgroup to the root (a parent's limit
// binds its children), in whole cores; 0 when none is set.
int CgroupQuotaCores() {
  int cores = 0;
  auto take = [&](int c) {
    if (c > 0) cores = cores == 0 ? c : std::min(cores, c);
  };
  std::string dir = OwnCgroupV2Dir();
  while (!dir.empty() && dir.size() >= std::string("/sys/fs/cgroup").size()) {
    take(CoresFromCgroupCpuMax(ReadFirstLine(dir + "/cpu.max")));
    if (dir == "/sys/fs/cgroup") break;
    dir = dir.substr(0, dir.find_last_of('/'));
  }
  // cgroup v1 (older Docker hosts, systemd CPUQuota= on v1): the quota and period are two files,
  // in the process's own cgroup and each parent up to the controller's mount.
  const std::string v1 = OwnCgroupV1CpuDir();
  const std::string mount = v1.empty() ? "" : v1.substr(0, v1.find('/', std::string("/sys/fs/cgroup/").size()));
  for (dir = v1; !dir.empty() && dir.size() >= mount.size();) {
    const std::string q = ReadFirstLine(dir + "/cpu.cfs_quota_us"), p = ReadFirstLine(dir + "/cpu.cfs_period_us");
    if (!q.empty() && !p.empty()) take(CoresFromCgroupCpuMax(q + " " + p));
    if (dir == mount) break;
    dir = dir.substr(0, dir.find_last_of('/'));
  }
  return cores;
}

}  // namespace

int CoresFromCgroupCpuMax(const std::string& cpu_max) {
  std::istringstream in(cpu_max);
  std::string quota;
  long long period = 0;
  if (!(in >> quota >> period) || period <= 0 || quota == "max") return 0;
  char* end = nullptr;
  const long long q = std::strtoll(quota.c_str(), &end, 10);
  if (end == quota.c_str() || *end != '\0' || q <= 0) return 0;  // v1 writes -1 for "no limit"
  return static_cast<int>(std::clamp<long long>(q / period + (q % period != 0), 1, 1 << 20));  // round up, no overflow
}

int UsableCores() {
  // The affinity mask is what taskset, numactl and container cpusets leave us; the online count
  // (std::thread::hardware_concurrency) would oversubscribe them.
  // A set sized for 16384 CPUs: the fixed cpu_set_t holds 1024, and the call fails beyond.
  int cores = 0;
  constexpr int kMaxCpus = 16384;
  if (cpu_set_t* set = CPU_ALLOC(kMaxCpus)) {
    const std::size_t bytes = CPU_ALLOC_SIZE(kMaxCpus);
    CPU_ZERO_S(bytes, set);
    if (sched_getaffinity(0, bytes, set) == 0) cores = CPU_COUNT_S(bytes, set);
    CPU_FREE(set);
  }
  if (cores <= 0) cores = static_cast<int>(std::thread::hardware_concurrency());
  const int quota = CgroupQuotaCores();
  if (quota > 0) cores = std::min(cores, quota);
  return std::max(1, cores);
}

}  // namespace nhits
