// Row-major GEMM entry points of the CPU backend (OpenBLAS underneath). Templated so the float64
// gradient checks run the very code path the float32 engine runs.
#pragma once

namespace nhits::cpu {

// C[M,N] = A[M,K] * B[N,K]^T (+ C if accumulate): a linear layer's forward with weights [out,in].
template <typename T>
void GemmNT(int m, int n, int k, const T* a, const T* b, T* c, bool accumulate);
// C[M,N] = A[M,K] * B[K,N] (+ C if accumulate): a linear layer's input gradient.
template <typename T>
void GemmNN(int m, int n, int k, const T* a, const T* b, T* c, bool accumulate);
// C[M,N] += A[K,M]^T * B[K,N]: a linear layer's weight gradient.
template <typename T>
void GemmTNAccumulate(int m, int n, int k, const T* a, const T* b, T* c);

// Threads OpenBLAS may use (0: all cores).
void SetBlasThreads(int threads);

}  // namespace nhits::cpu
