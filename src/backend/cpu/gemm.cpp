#include "backend/cpu/gemm.h"

#include <cblas.h>

#include <thread>

namespace nhits::cpu {

template <>
void GemmNT<float>(int m, int n, int k, const float* a, const float* b, float* c, bool acc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, acc ? 1.0f : 0.0f, c, n);
}
template <>
void GemmNT<double>(int m, int n, int k, const double* a, const double* b, double* c, bool acc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, a, k, b, k, acc ? 1.0 : 0.0, c, n);
}
template <>
void GemmNN<float>(int m, int n, int k, const float* a, const float* b, float* c, bool acc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, acc ? 1.0f : 0.0f, c, n);
}
template <>
void GemmNN<double>(int m, int n, int k, const double* a, const double* b, double* c, bool acc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, acc ? 1.0 : 0.0, c, n);
}
template <>
void GemmTNAccumulate<float>(int m, int n, int k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0f, a, m, b, n, 1.0f, c, n);
}
template <>
void GemmTNAccumulate<double>(int m, int n, int k, const double* a, const double* b, double* c) {
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0, a, m, b, n, 1.0, c, n);
}

void SetBlasThreads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  openblas_set_num_threads(threads > 0 ? threads : 1);
}

}  // namespace nhits::cpu
