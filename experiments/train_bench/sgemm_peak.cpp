// fp32 GEMM peak of this machine: OpenBLAS sgemm on 1024^3 (and 256^3) operands, 1 and 2
// threads; prints one JSON line. OpenBLAS reads OPENBLAS_CORETYPE when it loads, so the
// script runs this once per core type.
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <vector>

extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_corename(void);

int main() {
  std::printf("{\"core\": \"%s\"", openblas_get_corename());
  for (int n : {256, 1024})
    for (int threads : {1, 2}) {
      openblas_set_num_threads(threads);
      std::vector<float> a(static_cast<std::size_t>(n) * n, 1.0f), b(a), c(a);
      double best = 0;
      for (int rep = 0; rep < 5; ++rep) {
        const int iters = n == 256 ? 200 : 8;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < iters; ++i)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, 2.0 * n * n * n * iters / s);
      }
      std::printf(", \"gflops_n%d_t%d\": %.1f", n, threads, best / 1e9);
    }
  std::printf("}\n");
}
