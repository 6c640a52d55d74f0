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
  // cgroup v1 (older Docker hosts): the quota and period are two files.
  const std::string q = ReadFirstLine("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                    p = ReadFirstLine("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  if (!q.empty() && !p.empty()) take(CoresFromCgroupCpuMax(q + " " + p));
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
  return static_cast<int>(std::max<long long>(1, (q + period - 1) / period));
}

int UsableCores() {
  // The affinity mask is what taskset, numactl and container cpusets leave us; the online count
  // (std::thread::hardware_concurrency) would oversubscribe them.
  int cores = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
  if (cores <= 0) cores = static_cast<int>(std::thread::hardware_concurrency());
  const int quota = CgroupQuotaCores();
  if (quota > 0) cores = std::min(cores, quota);
  return std::max(1, cores);
}

}  // namespace nhits
