// Throughput of the trainer/nn kernels and models.
//
//   bazel run -c opt //trainer/nn:nn_bench [-- --threads=1,2 --iters=15
//       --batch=128 --width=0.25 --arch=vgg8 --in_channels=1 --layers=1
//       --profile=0 --elementwise=0]
//
// Reports, for each thread count: VGG-8 (default width 0.25, batch 128,
// 1x32x32 input) inference images/s (eval forward, no cache) and training
// images/s (train-mode forward with cache + softmax cross-entropy + backward
// + nothing else), and per convolution layer the GFLOP/s of the forward,
// backward-data and backward-weights kernels next to a plain Eigen SGEMM of
// the same M x N x K (split in row halves over the threads). Times are
// medians over --iters runs after warm-up runs.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "trainer/nn/kernels.h"
#include "trainer/nn/layers.h"
#include "trainer/nn/network.h"
#include "trainer/nn/parallel.h"
#include "trainer/nn/random.h"
#include "trainer/nn/tensor.h"

namespace nftcim::trainer::nn {
namespace {

struct Args {
  std::vector<int> threads = {1, 2};
  int iters = 15;
  int batch = 128;
  double width = 0.25;
  std::string arch = "vgg8";
  int in_channels = 1;
  bool layers = true;
  bool profile = false;
  bool elementwise = false;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&](const std::string& key) -> std::string {
      return s.rfind(key + "=", 0) == 0 ? s.substr(key.size() + 1) : "";
    };
    std::string v;
    if (!(v = value("--threads")).empty()) {
      a.threads.clear();
      for (absl::string_view t : absl::StrSplit(v, ',')) {
        int n;
        if (absl::SimpleAtoi(t, &n)) a.threads.push_back(n);
      }
    } else if (!(v = value("--iters")).empty()) {
      a.iters = std::atoi(v.c_str());
    } else if (!(v = value("--batch")).empty()) {
      a.batch = std::atoi(v.c_str());
    } else if (!(v = value("--width")).empty()) {
      a.width = std::atof(v.c_str());
    } else if (!(v = value("--arch")).empty()) {
      a.arch = v;
    } else if (!(v = value("--in_channels")).empty()) {
      a.in_channels = std::atoi(v.c_str());
    } else if (!(v = value("--elementwise")).empty()) {
      a.elementwise = v != "0";
    } else if (!(v = value("--profile")).empty()) {
      a.profile = v != "0";
    } else if (!(v = value("--layers")).empty()) {
      a.layers = v != "0";
    } else {
      std::fprintf(stderr, "unknown argument %s\n", s.c_str());
      std::exit(2);
    }
  }
  return a;
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Median wall-clock time of fn over iters runs after `warmup` runs. If
// cpu is not null it gets the median CPU time of the process over the same
// runs (all threads): on a loaded machine, cpu / threads is closer to what
// the code would take on idle cores than the wall time is.
double Median(int warmup, int iters, const std::function<void()>& fn,
              double* cpu = nullptr) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t, c;
  for (int i = 0; i < iters; ++i) {
    const double c0 = ProcessCpuSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    c.push_back(ProcessCpuSeconds() - c0);
  }
  std::sort(t.begin(), t.end());
  std::sort(c.begin(), c.end());
  if (cpu != nullptr) *cpu = c[c.size() / 2];
  return t[t.size() / 2];
}

Tensor Random(Shape shape, uint64_t seed) {
  Tensor t(std::move(shape));
  Rng rng(seed);
  for (float& v : t) v = static_cast<float>(rng.Gaussian());
  return t;
}

void BenchModel(const Args& a) {
  ModelConfig cfg;
  cfg.arch = a.arch;
  cfg.width = a.width;
  cfg.in_channels = a.in_channels;
  cfg.num_classes = 10;
  cfg.seed = 1;
  auto made = MakeNetwork(cfg);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", made.status().ToString().c_str());
    std::exit(1);
  }
  std::unique_ptr<Network> net = std::move(made).value();
  const Tensor x = Random({a.batch, a.in_channels, 32, 32}, 2);
  std::vector<int32_t> labels(a.batch);
  for (int i = 0; i < a.batch; ++i) labels[i] = i % 10;

  Tensor logits, dlogits;
  ForwardOptions eval;
  eval.training = false;
  double c_infer, c_train;
  const double t_infer = Median(
      3, a.iters, [&] { net->Forward(x, eval, nullptr, &logits, nullptr); }, &c_infer);

  ForwardCache cache;
  ForwardOptions train;
  const double t_train = Median(3, a.iters, [&] {
    net->ZeroGrad();
    net->Forward(x, train, &cache, &logits, nullptr);
    SoftmaxCrossEntropy(logits, labels, &dlogits);
    net->Backward(cache, dlogits, {});
  }, &c_train);
  // The forward and backward halves of a training step, for the breakdown.
  const double t_train_fwd =
      Median(2, a.iters, [&] { net->Forward(x, train, &cache, &logits, nullptr); });
  if (a.profile) {
    EnableProfiling(true);
    for (int i = 0; i < a.iters; ++i) {
      net->Forward(x, eval, nullptr, &logits, nullptr);
    }
    std::printf("inference profile (%d batches):\n%s", a.iters, ProfileReport().c_str());
    EnableProfiling(true);
    for (int i = 0; i < a.iters; ++i) {
      net->Forward(x, train, &cache, &logits, nullptr);
      SoftmaxCrossEntropy(logits, labels, &dlogits);
      net->Backward(cache, dlogits, {});
    }
    std::printf("training profile (%d steps):\n%s", a.iters, ProfileReport().c_str());
    EnableProfiling(false);
  }
  std::printf("  %s width %.3g batch %d: inference %8.0f images/s (%.1f ms)   "
              "training step %7.0f images/s (%.1f ms; forward %.1f ms)\n",
              a.arch.c_str(), a.width, a.batch, a.batch / t_infer, 1e3 * t_infer,
              a.batch / t_train, 1e3 * t_train, 1e3 * t_train_fwd);
  std::printf("  (process CPU time per batch: inference %.1f ms, training step %.1f ms)\n",
              1e3 * c_infer, 1e3 * c_train);
}

// Plain Eigen SGEMM C[m,n] = A[m,k] B[k,n] (row-major), rows split over the
// threads.
double SgemmGflops(int64_t m, int64_t n, int64_t k, int iters) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Mat A = Mat::Random(m, k), B = Mat::Random(k, n), C(m, n);
  const int pieces = NumThreads();
  const double t = Median(2, iters, [&] {
    ParallelFor(pieces, [&](int64_t p0, int64_t p1, int) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t r0 = m * p / pieces, r1 = m * (p + 1) / pieces;
        C.middleRows(r0, r1 - r0).noalias() = A.middleRows(r0, r1 - r0) * B;
      }
    });
  });
  return 2.0 * m * n * k / t / 1e9;
}

void BenchLayers(const Args& a) {
  const int b = a.batch;
  const int base[6] = {64, 128, 256, 256, 512, 512};
  const int sizes[6] = {32, 32, 16, 16, 8, 8};
  int cin = a.in_channels;
  std::printf("  %-6s %-22s %9s %9s %9s %9s   (GFLOP/s)\n", "layer", "shape", "fwd",
              "bwd-data", "bwd-wgt", "sgemm");
  for (int i = 0; i < 6; ++i) {
    const int cout = ScaledWidth(base[i], a.width);
    kernels::ConvGeometry g;
    g.batch = b;
    g.in_h = g.in_w = sizes[i];
    g.in_c = cin;
    g.out_c = cout;
    g.kernel_h = g.kernel_w = 3;
    g.pad = 1;
    const Tensor x = Random({b, sizes[i], sizes[i], cin}, 3);
    const Tensor w = Random({cout, cin, 3, 3}, 4);
    const Tensor dy = Random({b, sizes[i], sizes[i], cout}, 5);
    Tensor y(dy.shape()), dx(x.shape()), dw(w.shape());
    const double f = g.Flops();
    const double t_f = Median(2, a.iters, [&] {
      kernels::ConvForward(g, x.data(), w.data(), y.data());
    });
    const double t_d = Median(2, a.iters, [&] {
      kernels::ConvBackwardData(g, dy.data(), w.data(), dx.data(), false);
    });
    const double t_w = Median(2, a.iters, [&] {
      kernels::ConvBackwardWeights(g, x.data(), dy.data(), dw.data());
    });
    const double sgemm =
        SgemmGflops(static_cast<int64_t>(b) * sizes[i] * sizes[i], cout, 9 * cin, a.iters);
    char shape[64];
    std::snprintf(shape, sizeof(shape), "%dx%dx%d->%d", cin, sizes[i], sizes[i], cout);
    std::printf("  conv%d  %-22s %9.1f %9.1f %9.1f %9.1f\n", i + 1, shape, f / t_f / 1e9,
                i == 0 ? 0.0 : f / t_d / 1e9, f / t_w / 1e9, sgemm);
    cin = cout;
  }
  // fc1
  const int in = ScaledWidth(512, a.width) * 16, out = ScaledWidth(1024, a.width);
  const Tensor x = Random({b, in}, 6), w = Random({out, in}, 7), dy = Random({b, out}, 8);
  Tensor y({b, out}), dx({b, in}), dw({out, in}), db({out});
  const double f = 2.0 * b * in * out;
  const double t_f = Median(2, a.iters, [&] {
    kernels::LinearForward(b, in, out, x.data(), w.data(), nullptr, false, y.data());
  });
  const double t_d = Median(2, a.iters, [&] {
    kernels::LinearBackwardData(b, in, out, dy.data(), w.data(), dx.data(), false);
  });
  const double t_w = Median(2, a.iters, [&] {
    kernels::LinearBackwardWeights(b, in, out, x.data(), dy.data(), dw.data(), db.data());
  });
  char shape[64];
  std::snprintf(shape, sizeof(shape), "%d->%d", in, out);
  std::printf("  fc1    %-22s %9.1f %9.1f %9.1f %9.1f\n", shape, f / t_f / 1e9,
              f / t_d / 1e9, f / t_w / 1e9, SgemmGflops(b, out, in, a.iters));
}

// The memory-bound kernels on conv2's output (batch x 32 x 32 x 32 at
// width 0.25), in GB/s of data touched.
void BenchElementwise(const Args& a) {
  const int c = ScaledWidth(128, a.width);
  const int64_t rows = static_cast<int64_t>(a.batch) * 32 * 32;
  const Tensor z = Random({rows, c}, 9), dy = Random({rows, c}, 10);
  Tensor y({rows, c}), dz({rows, c}), pooled({rows / 4, c}), t({rows, c});
  std::vector<double> mean(c), var(c);
  std::vector<float> scale(c, 1.1f), shift(c, 0.1f), meanf(c, 0.f), inv(c, 1.f),
      dg(c), db(c);
  const double mb = rows * c * 4.0 / 1e9;
  auto report = [&](const char* name, double t_s, double streams) {
    std::printf("  %-28s %7.2f ms %7.1f GB/s\n", name, 1e3 * t_s, streams * mb / t_s);
  };
  report("ChannelMeanVar", Median(2, a.iters, [&] {
           kernels::ChannelMeanVar(rows, c, z.data(), mean.data(), var.data());
         }), 1);
  report("ChannelAffine+relu", Median(2, a.iters, [&] {
           kernels::ChannelAffine(rows, c, z.data(), scale.data(), shift.data(),
                                  nullptr, true, y.data());
         }), 2);
  kernels::BatchNormBackwardArgs bn;
  bn.rows = rows;
  bn.c = c;
  bn.z = z.data();
  bn.out = y.data();
  bn.dout = dy.data();
  bn.mean = meanf.data();
  bn.invstd = inv.data();
  bn.gamma = scale.data();
  bn.dz = dz.data();
  bn.dgamma = dg.data();
  bn.dbeta = db.data();
  report("BatchNormBackward (relu)", Median(2, a.iters, [&] {
           kernels::BatchNormBackward(bn);
         }), 7);
  report("MaxPool2x2Forward", Median(2, a.iters, [&] {
           kernels::MaxPool2x2Forward(a.batch, 32, 32, c, z.data(), pooled.data());
         }), 1.25);
  report("MaxPool2x2Backward", Median(2, a.iters, [&] {
           kernels::MaxPool2x2Backward(a.batch, 32, 32, c, z.data(), pooled.data(),
                                       dz.data());
         }), 2.25);
  report("NhwcToNchw", Median(2, a.iters, [&] {
           kernels::NhwcToNchw(a.batch, c, 1024, z.data(), t.data());
         }), 2);
  report("memcpy", Median(2, a.iters, [&] {
           std::memcpy(t.data(), z.data(), sizeof(float) * z.size());
         }), 2);
}

}  // namespace
}  // namespace nftcim::trainer::nn

int main(int argc, char** argv) {
  using namespace nftcim::trainer::nn;  // NOLINT
  const Args a = Parse(argc, argv);
  if (std::getenv("NN_BENCH_CONV1") != nullptr) {  // for profiling one kernel
    kernels::ConvGeometry g;
    g.batch = a.batch;
    g.in_h = g.in_w = 32;
    g.in_c = 1;
    g.out_c = 16;
    g.kernel_h = g.kernel_w = 3;
    g.pad = 1;
    Tensor x({a.batch, 32, 32, 1}), w({16, 1, 3, 3}), y({a.batch, 32, 32, 16});
    const double t = Median(2, a.iters, [&] {
      kernels::ConvForward(g, x.data(), w.data(), y.data());
    });
    std::printf("conv1 forward %.2f ms, %.1f GFLOP/s\n", 1e3 * t, g.Flops() / t / 1e9);
    return 0;
  }
  for (int t : a.threads) {
    SetNumThreads(t);
    std::printf("threads = %d\n", t);
    BenchModel(a);
    if (a.layers && a.arch == "vgg8") BenchLayers(a);
    if (a.elementwise) BenchElementwise(a);
  }
  return 0;
}
