#include "backend/cpu/gemm.h"

#include <cblas.h>
#include <dnnl.h>
#include <omp.h>

#include <thread>

#include "nhits/hw.h"

namespace nhits::cpu {

// float goes to oneDNN's row-major sgemm: with it, end-to-end training ran 1.2-1.3x faster than
// with OpenBLAS (docs/PERFORMANCE.md; bench/gemm_backends compares the two per product). double
// stays on OpenBLAS; it only serves the gradient checks.
template <>
void GemmNT<float>(int m, int n, int k, const float* a, const float* b, float* c, bool acc) {
  dnnl_sgemm('N', 'T', m, n, k, 1.0f, a, k, b, k, acc ? 1.0f : 0.0f, c, n);
}
template <>
void GemmNT<double>(int m, int n, int k, const double* a, const double* b, double* c, bool acc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, a, k, b, k, acc ? 1.0 : 0.0, c, n);
}
template <>
void GemmNN<float>(int m, int n, int k, const float* a, const float* b, float* c, bool acc) {
  dnnl_sgemm('N', 'N', m, n, k, 1.0f, a, k, b, n, acc ? 1.0f : 0.0f, c, n);
}
template <>
void GemmNN<double>(int m, int n, int k, const double* a, const double* b, double* c, bool acc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, acc ? 1.0 : 0.0, c, n);
}
template <>
void GemmTNAccumulate<float>(int m, int n, int k, const float* a, const float* b, float* c) {
  dnnl_sgemm('T', 'N', m, n, k, 1.0f, a, m, b, n, 1.0f, c, n);
}
template <>
void GemmTNAccumulate<double>(int m, int n, int k, const double* a, const double* b, double* c) {
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0, a, m, b, n, 1.0, c, n);
}

void SetBlasThreads(int threads) {
  if (threads <= 0) threads = UsableCores();
  threads = threads > 0 ? threads : 1;
  openblas_set_num_threads(threads);
  omp_set_num_threads(threads);  // oneDNN's OpenMP runtime
}

}  // namespace nhits::cpu
