// Row-parallel loops for the large-batch path, on OpenMP: the same threads oneDNN's GEMMs run on,
// so the element-wise work between GEMMs (scaling, pooling, bias + activation, residual update)
// uses both cores without a second set of threads competing for them. Small batches run inline:
// their cost is the weights, and a fork/join would cost more than the loop.
#pragma once

#include <omp.h>

#include "backend/cpu/small_batch_linear.h"

namespace nhits::cpu {

// Calls f(begin, end) over disjoint row ranges covering [0, rows).
template <typename F>
void ForRows(int rows, F&& f) {
  if (rows <= kSmallBatchMax) {
    f(0, rows);
    return;
  }
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    const int begin = static_cast<int>(static_cast<long long>(rows) * t / n);
    const int end = static_cast<int>(static_cast<long long>(rows) * (t + 1) / n);
    if (begin < end) f(begin, end);
  }
}

}  // namespace nhits::cpu
