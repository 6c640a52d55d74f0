#include <cblas.h>
#include <dnnl.h>
#include <chrono>
#include <cstdio>
#include <vector>
// oneDNN vs OpenBLAS sgemm on the training shapes (batch x 512 x 512): forward (NT) and the
// weight-gradient product (TN), GFLOP/s best-of-50 after warm-up. Usage: build/release/bench/gemm_backends
int main() {
  for (int B : {256, 1024}) {
    int M = B, N = 512, K = 512;
    std::vector<float> a(M*K, 0.5f), b(N*K, 0.25f), c(M*N);
    auto t = [&](auto f) { for (int i=0;i<5;++i) f(); auto s=std::chrono::steady_clock::now(); int n=50; for(int i=0;i<n;++i) f(); double dt=std::chrono::duration<double>(std::chrono::steady_clock::now()-s).count()/n; return 2.0*M*N*K/dt/1e9; };
    double ob = t([&]{ cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M,N,K,1.f,a.data(),K,b.data(),K,0.f,c.data(),N); });
    double dn = t([&]{ dnnl_sgemm('N','T',M,N,K,1.f,a.data(),K,b.data(),K,0.f,c.data(),N); });
    // weight grad: C[N,K] += A^T B with A [M,N], B [M,K]
    std::vector<float> g(N*K);
    double ob2 = t([&]{ cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N,K,M,1.f,c.data(),N,a.data(),K,1.f,g.data(),K); });
    double dn2 = t([&]{ dnnl_sgemm('T','N',N,K,M,1.f,c.data(),N,a.data(),K,1.f,g.data(),K); });
    printf("B=%d fwd NT: openblas %.1f GF/s, dnnl %.1f GF/s; wgrad TN: openblas %.1f, dnnl %.1f\n", B, ob, dn, ob2, dn2);
  }
}
