// cuBLASLt, opened with dlopen on first use instead of linked. Loading libcublasLt costs every
// process about 145 MB of resident memory (84 MB of it the library's own zeroed data, written by
// its static initialisers) and a CPU-only server or a `nhits --version` should not pay that: only
// a CUDA forecaster or trainer asks for it.
#pragma once

#include <cublasLt.h>

#include "nhits/status.h"

namespace nhits::cuda {

// The cuBLASLt entry points the backend calls, named without the "cublasLt" prefix.
struct CublasLt {
  decltype(&::cublasLtCreate) Create = nullptr;
  decltype(&::cublasLtDestroy) Destroy = nullptr;
  decltype(&::cublasLtMatmul) Matmul = nullptr;
  decltype(&::cublasLtMatmulAlgoGetHeuristic) MatmulAlgoGetHeuristic = nullptr;
  decltype(&::cublasLtMatmulDescCreate) MatmulDescCreate = nullptr;
  decltype(&::cublasLtMatmulDescDestroy) MatmulDescDestroy = nullptr;
  decltype(&::cublasLtMatmulDescSetAttribute) MatmulDescSetAttribute = nullptr;
  decltype(&::cublasLtMatmulPreferenceCreate) MatmulPreferenceCreate = nullptr;
  decltype(&::cublasLtMatmulPreferenceDestroy) MatmulPreferenceDestroy = nullptr;
  decltype(&::cublasLtMatmulPreferenceSetAttribute) MatmulPreferenceSetAttribute = nullptr;
  decltype(&::cublasLtMatrixLayoutCreate) MatrixLayoutCreate = nullptr;
  decltype(&::cublasLtMatrixLayoutDestroy) MatrixLayoutDestroy = nullptr;
};

// Opens the library once per process (thread-safe) and resolves every entry point; later calls
// return the same table. Unavailable, naming the file and the loader's error, when it cannot.
Result<const CublasLt*> LoadCublasLt();

// Whether this process has libcublasLt mapped (read from /proc/self/maps; for tests).
bool CublasLtIsMapped();

}  // namespace nhits::cuda
