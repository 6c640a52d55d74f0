#include "backend/cuda/cublaslt_api.h"

#include <dlfcn.h>

#include <fstream>
#include <mutex>
#include <string>

namespace nhits::cuda {
namespace {

template <typename Fn>
bool Resolve(void* lib, const char* name, Fn* fn, std::string* missing) {
  *fn = reinterpret_cast<Fn>(dlsym(lib, name));
  if (*fn == nullptr) *missing += std::string(missing->empty() ? "" : ", ") + name;
  return *fn != nullptr;
}

Result<const CublasLt*> Open() {
  // The soname first (ld.so.conf, LD_LIBRARY_PATH, the binary's RUNPATH), then the toolkit this
  // engine was built against.
  std::string errors;
  void* lib = nullptr;
  for (const char* path : {NHITS_CUBLASLT_SONAME, NHITS_CUBLASLT_PATH}) {
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib != nullptr) break;
    errors += std::string(errors.empty() ? "" : "; ") + dlerror();
  }
  if (lib == nullptr) return Status::Unavailable("cannot load cuBLASLt (" + errors + ")");
  static CublasLt api;
  std::string missing;
  Resolve(lib, "cublasLtCreate", &api.Create, &missing);
  Resolve(lib, "cublasLtDestroy", &api.Destroy, &missing);
  Resolve(lib, "cublasLtMatmul", &api.Matmul, &missing);
  Resolve(lib, "cublasLtMatmulAlgoGetHeuristic", &api.MatmulAlgoGetHeuristic, &missing);
  Resolve(lib, "cublasLtMatmulDescCreate", &api.MatmulDescCreate, &missing);
  Resolve(lib, "cublasLtMatmulDescDestroy", &api.MatmulDescDestroy, &missing);
  Resolve(lib, "cublasLtMatmulDescSetAttribute", &api.MatmulDescSetAttribute, &missing);
  Resolve(lib, "cublasLtMatmulPreferenceCreate", &api.MatmulPreferenceCreate, &missing);
  Resolve(lib, "cublasLtMatmulPreferenceDestroy", &api.MatmulPreferenceDestroy, &missing);
  Resolve(lib, "cublasLtMatmulPreferenceSetAttribute", &api.MatmulPreferenceSetAttribute, &missing);
  Resolve(lib, "cublasLtMatrixLayoutCreate", &api.MatrixLayoutCreate, &missing);
  Resolve(lib, "cublasLtMatrixLayoutDestroy", &api.MatrixLayoutDestroy, &missing);
  if (!missing.empty()) return Status::Unavailable("cuBLASLt lacks " + missing + " (an older library than the build's?)");
  return static_cast<const CublasLt*>(&api);
}

}  // namespace

Result<const CublasLt*> LoadCublasLt() {
  static std::once_flag once;
  static Result<const CublasLt*> loaded = Status::Unavailable("not loaded");
  std::call_once(once, [] { loaded = Open(); });
  return loaded;
}

bool CublasLtIsMapped() {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find("libcublasLt") != std::string::npos) return true;
  return false;
}

}  // namespace nhits::cuda
