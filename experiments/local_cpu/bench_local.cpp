// Measures this machine's fp32 GEMM rate (one thread and all threads) and its memory
// bandwidth (STREAM-style triad over arrays far larger than the caches), for the
// local_cpu profile. Medians of repeated runs; the machine is shared and noisy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// C[rows x n] += A[rows x k] B[k x n], blocked so that a panel of B stays in cache and the inner
// loop is a contiguous multiply-add the compiler vectorises (AVX2 + FMA with -march=native).
void gemm(const float* __restrict a, const float* __restrict b, float* __restrict c, int n, int k, int row0, int row1) {
  constexpr int KB = 128, NB = 256;
  for (int kk = 0; kk < k; kk += KB)
    for (int jj = 0; jj < n; jj += NB)
      for (int i = row0; i < row1; ++i) {
        float* __restrict ci = c + static_cast<std::size_t>(i) * n;
        for (int p = kk; p < std::min(k, kk + KB); ++p) {
          const float aip = a[static_cast<std::size_t>(i) * k + p];
          const float* __restrict bp = b + static_cast<std::size_t>(p) * n;
          for (int j = jj; j < std::min(n, jj + NB); ++j) ci[j] += aip * bp[j];
        }
      }
}

double gemm_rate(int threads) {
  const int N = 768;
  std::vector<float> a(N * N, 1.0f), b(N * N, 0.5f), c(N * N, 0.0f);
  std::vector<double> rates;
  for (int rep = 0; rep < 7; ++rep) {
    const double t0 = now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back(gemm, a.data(), b.data(), c.data(), N, N, N * t / threads, N * (t + 1) / threads);
    for (auto& th : pool) th.join();
    rates.push_back(2.0 * N * N * N / (now() - t0));
  }
  std::printf("  checksum %.1f\n", static_cast<double>(c[N + 1]));
  return median(rates);
}

double triad_bandwidth(int threads) {
  const std::size_t n = std::size_t{1} << 24;  // 3 arrays x 64 MiB, twice the 32 MiB L3
  std::vector<float> a(n, 1.0f), b(n, 2.0f), c(n, 0.0f);
  std::vector<double> rates;
  for (int rep = 0; rep < 7; ++rep) {
    const double t0 = now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (std::size_t i = n * t / threads; i < n * (t + 1) / threads; ++i) c[i] = a[i] + 3.0f * b[i];
      });
    for (auto& th : pool) th.join();
    rates.push_back(3.0 * sizeof(float) * n / (now() - t0));  // two reads and one write
  }
  std::printf("  checksum %.1f\n", static_cast<double>(c[n / 2]));
  return median(rates);
}

}  // namespace

int main() {
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::printf("threads %d\n", threads);
  const double g1 = gemm_rate(1), gn = gemm_rate(threads);
  std::printf("fp32 GEMM 768^3, 1 thread:   %.2f GFLOP/s (median of 7)\n", g1 / 1e9);
  std::printf("fp32 GEMM 768^3, %d threads:  %.2f GFLOP/s (median of 7)\n", threads, gn / 1e9);
  const double b1 = triad_bandwidth(1), bn = triad_bandwidth(threads);
  std::printf("triad 3 x 64 MiB, 1 thread:  %.2f GB/s (median of 7)\n", b1 / 1e9);
  std::printf("triad 3 x 64 MiB, %d threads: %.2f GB/s (median of 7)\n", threads, bn / 1e9);
  return 0;
}
