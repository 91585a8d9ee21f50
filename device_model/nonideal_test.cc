#include "device_model/nonideal.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "device_model/random.h"
#include "gtest/gtest.h"

namespace nftcim::device {
namespace {

DeviceModel Device(const formats::DeviceModel& p) {
  absl::StatusOr<DeviceModel> d = DeviceModel::FromProto(p);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

DeviceModel Stuck(double low, double high) {
  formats::DeviceModel p;
  p.set_stuck_at_low_rate(low);
  p.set_stuck_at_high_rate(high);
  return Device(p);
}

TEST(NonIdealTest, DefaultProtoStaysEmptyAndEverythingOff) {
  const DeviceModel d = Device(formats::DeviceModel());
  EXPECT_FALSE(d.has_nonidealities());
  const formats::DeviceModel p = d.ToProto();
  formats::DeviceModel legacy;
  legacy.set_weight_bits(8);
  legacy.set_cell_bits(2);
  legacy.set_preset(formats::GAUSSIAN);
  // Byte-identical serialisation: manifests and checkpoints do not change.
  EXPECT_EQ(p.SerializeAsString(), legacy.SerializeAsString());
}

TEST(NonIdealTest, RejectsBadFieldsByName) {
  formats::DeviceModel p;
  p.set_stuck_at_low_rate(0.7);
  p.set_stuck_at_high_rate(0.4);
  absl::StatusOr<DeviceModel> d = DeviceModel::FromProto(p);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("stuck_at_low_rate + stuck_at_high_rate"),
            std::string::npos);
  formats::DeviceModel q;
  q.set_drift_nu_std(0.3);
  EXPECT_NE(DeviceModel::FromProto(q).status().message().find("drift_nu_std"),
            std::string::npos);
  formats::DeviceModel r;
  r.set_read_noise(-1);
  EXPECT_NE(DeviceModel::FromProto(r).status().message().find("read_noise"), std::string::npos);
  formats::DeviceModel s;
  s.set_drift_seconds(std::nan(""));
  EXPECT_FALSE(DeviceModel::FromProto(s).ok());
}

TEST(NonIdealTest, DriftDefaultsAndPresets) {
  formats::DeviceModel p;
  p.set_drift_seconds(3600);
  const DeviceModel d = Device(p);
  EXPECT_TRUE(d.drift_active());
  EXPECT_EQ(d.drift_t0_seconds(), 1.0);
  EXPECT_EQ(d.drift_nu_mean(), kDefaultDriftNuMean);
  EXPECT_EQ(d.drift_nu_std(), kDefaultDriftNuStd);

  formats::DeviceModel pcm;
  ApplyNonIdealityPreset(*ParseNonIdealityPreset("PCM"), &pcm);
  pcm.set_read_noise(0.03);  // an explicit field after the preset wins
  const DeviceModel dp = Device(pcm);
  EXPECT_EQ(dp.read_noise(), 0.03);
  EXPECT_FALSE(dp.drift_active());  // no time given: no drift
  EXPECT_EQ(dp.ToProto().nonideal_preset(), formats::NONIDEAL_PCM);
  EXPECT_FALSE(ParseNonIdealityPreset("pmc").ok());
  formats::DeviceModel rram;
  ApplyNonIdealityPreset(formats::NONIDEAL_RRAM, &rram);
  EXPECT_EQ(Device(rram).stuck_at_low_rate(), 0.005);
  // WithSigma keeps the non-idealities; WithoutNonidealities drops them.
  EXPECT_EQ(Device(rram).WithSigma(0.1).stuck_at_high_rate(), 0.005);
  EXPECT_FALSE(Device(rram).WithoutNonidealities().has_nonidealities());
}

TEST(NonIdealTest, StuckAtThresholdsAreExact) {
  const StuckAtThresholds t = MakeStuckAtThresholds(Stuck(0.25, 0.5));
  EXPECT_EQ(t.low, uint64_t{1} << 30);
  EXPECT_EQ(t.high, (uint64_t{1} << 30) + (uint64_t{1} << 31));
  const StuckAtThresholds all = MakeStuckAtThresholds(Stuck(0, 1));
  EXPECT_EQ(all.high, uint64_t{1} << 32);  // every 32-bit word is below it
  EXPECT_FALSE(MakeStuckAtThresholds(Stuck(0, 0)).any());
}

TEST(NonIdealTest, FaultMapIsAPureFunctionOfSeedAndCellWithTheStatedRates) {
  const StuckAtThresholds t = MakeStuckAtThresholds(Stuck(0.02, 0.05));
  int64_t low = 0, high = 0, differ = 0;
  const int64_t n = 200000;
  for (int64_t i = 0; i < n; ++i) {
    const CellId c{static_cast<uint32_t>(i % 7), static_cast<uint32_t>(i & 1),
                   static_cast<uint32_t>(i / 1000), static_cast<uint32_t>(i % 1000)};
    const CellFault f = StuckAtState(t, 42, c);
    EXPECT_EQ(f, StuckAtState(t, 42, c));
    if (f != StuckAtState(t, 43, c)) ++differ;
    low += f == CellFault::kStuckLow;
    high += f == CellFault::kStuckHigh;
  }
  // Binomial: 4.5 standard deviations.
  EXPECT_NEAR(low / double(n), 0.02, 4.5 * std::sqrt(0.02 * 0.98 / n));
  EXPECT_NEAR(high / double(n), 0.05, 4.5 * std::sqrt(0.05 * 0.95 / n));
  EXPECT_GT(differ, n / 20);  // another seed, another map
  // The map does not use the variation's bits: a different tag.
  const CellId c{1, 0, 2, 3};
  EXPECT_NE(CellBits64(42, c, kStuckAtCounterTag), CellBits64(42, c, 0x43494D00u));
}

TEST(NonIdealTest, ExpNegQ30MatchesExp) {
  for (double x = 0; x < 40; x += 0.0137) {
    const int64_t x_q40 = std::llround(std::ldexp(x, 40));
    const double want = std::ldexp(std::exp(-x), 30);
    EXPECT_NEAR(static_cast<double>(ExpNegQ30(x_q40)), want, 1.0) << x;
  }
  EXPECT_EQ(ExpNegQ30(0), int64_t{1} << 30);
  EXPECT_EQ(ExpNegQ30(-5), int64_t{1} << 30);
  EXPECT_EQ(ExpNegQ30(int64_t{60} << 40), 0);
}

TEST(NonIdealTest, DriftFollowsThePowerLaw) {
  formats::DeviceModel p;
  p.set_drift_seconds(1e4);
  p.set_drift_nu_mean(0.05);
  p.set_drift_nu_std(1e-9);  // effectively fixed nu
  const DeviceModel d = Device(p);
  absl::StatusOr<DriftConstants> dc = MakeDriftConstants(d);
  ASSERT_TRUE(dc.ok());
  EXPECT_EQ(dc->mu_q16, std::llround(0.05 * 65536));
  EXPECT_EQ(dc->lnt_q24, std::llround(std::log(1e4) * (1 << 24)));
  const int32_t nu = DriftExponentQ16(*dc, 7, CellId{0, 0, 0, 0});
  EXPECT_EQ(nu, dc->mu_q16);
  const int64_t f = DriftFactorQ30(*dc, nu);
  const double want = std::pow(1e4, -nu / 65536.0);
  EXPECT_NEAR(std::ldexp(static_cast<double>(f), -30), want, 2e-9);
  EXPECT_NEAR(std::ldexp(static_cast<double>(f), -30), DriftFactor(0.05, 1e4, 1), 2e-5);
  // Level 3 at F = 8: 768 * 10^(-0.2) = 484.6 -> 485.
  EXPECT_EQ(DriftCode(768, f), 485);
  EXPECT_EQ(DriftCode(-768, f), -485);
  EXPECT_EQ(DriftFactor(0.05, 0.5, 1), 1.0);  // before t0 nothing drifts
  formats::DeviceModel off;
  off.set_drift_seconds(0.5);  // t <= t0 = 1 s
  EXPECT_FALSE(MakeDriftConstants(Device(off))->active);
}

TEST(NonIdealTest, DriftExponentsAreClippedNormal) {
  formats::DeviceModel p;
  p.set_drift_seconds(100);
  p.set_drift_nu_mean(0.01);
  p.set_drift_nu_std(0.02);
  absl::StatusOr<DriftConstants> dc = MakeDriftConstants(Device(p));
  ASSERT_TRUE(dc.ok());
  const int n = 100000;
  int zeros = 0;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const int32_t nu = DriftExponentQ16(*dc, 9, CellId{3, 1, static_cast<uint32_t>(i), 5});
    EXPECT_GE(nu, 0);
    zeros += nu == 0;
    sum += nu / 65536.0;
  }
  // P(N(0.01, 0.02) < 0) = Phi(-0.5) = 0.3085; the clipped mean is
  // mu Phi(mu/s) + s phi(mu/s) = 0.01 * 0.6915 + 0.02 * 0.3521 = 0.013957.
  EXPECT_NEAR(zeros / double(n), 0.3085, 0.006);
  EXPECT_NEAR(sum / n, 0.013957, 0.0003);
}

TEST(NonIdealTest, DriftCompensationAndFolding) {
  EXPECT_EQ(DriftCompensationQ16(1000, 1000), 1u << 16);
  EXPECT_EQ(DriftCompensationQ16(3000, 2000), 98304u);  // 1.5
  EXPECT_EQ(DriftCompensationQ16(5, 0), 1u << 16);
  EXPECT_EQ(DriftCompensationQ16(2, 3), 43691u);  // 0.66667 rounded half up
  // alpha = 1.5: multipliers near 2^31 need one shift less of headroom.
  std::vector<int32_t> m = {1 << 30, -(1 << 30) - 12345, 3};
  std::vector<int32_t> s = {40, 40, 40};
  std::vector<int32_t> b = {3, -3, 1000};
  ASSERT_TRUE(FoldCompensation(98304u, 3, m.data(), s.data(), b.data()).ok());
  EXPECT_EQ(b[0], 2);     // 3 / 1.5
  EXPECT_EQ(b[1], -2);
  EXPECT_EQ(b[2], 667);   // 666.67
  EXPECT_EQ(m[0], 1610612736);  // 1.5 * 2^30, h = 16
  EXPECT_EQ(s[0], 40);
  for (int n = 0; n < 3; ++n) EXPECT_LE(std::llabs(int64_t{m[n]}), 2147483647);
  std::vector<int32_t> big = {2147483647};
  std::vector<int32_t> sb = {30};
  std::vector<int32_t> bb = {-1};  // -0.667 -> -1 (round half up of -0.67)
  ASSERT_TRUE(FoldCompensation(98304u, 1, big.data(), sb.data(), bb.data()).ok());
  EXPECT_EQ(bb[0], -1);
  EXPECT_EQ(sb[0], 29);  // h = 17
  EXPECT_NEAR(big[0] / std::ldexp(1.0, sb[0]), 1.5 * 2147483647 / std::ldexp(1.0, 30), 1e-8);
  std::vector<int32_t> edge = {2147483647};
  std::vector<int32_t> s0 = {0};
  std::vector<int32_t> b0 = {0};
  EXPECT_FALSE(FoldCompensation(98304u, 1, edge.data(), s0.data(), b0.data()).ok());
  EXPECT_FALSE(FoldCompensation(0u, 1, edge.data(), s0.data(), b0.data()).ok());
}

TEST(NonIdealTest, ReadNoiseIsKeyedAndHasTheStatedStd) {
  formats::DeviceModel p;
  p.set_read_noise(0.02);
  const DeviceModel d = Device(p);
  EXPECT_EQ(d.read_noise_granularity(), formats::PER_SLICE);
  absl::StatusOr<int32_t> q = ReadNoiseStdQ16(d, 8);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, std::llround(0.02 * 3 * 256 * 65536));
  const int n = 100000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const uint64_t key = ReadNoiseKey(5, i / 8, 0, i % 8);
    const double e = static_cast<double>(ReadNoiseDelta(key, CellId{0, 0, 1, 2}, *q));
    sum += e;
    sum_sq += e * e;
  }
  const double mean = sum / n, sd = std::sqrt(sum_sq / n - mean * mean);
  const double want = 0.02 * 3 * 256;  // 15.36 code units
  EXPECT_NEAR(mean, 0, 4.5 * want / std::sqrt(n));
  EXPECT_NEAR(sd, want, 0.02 * want);
  // Replayable, and distinct per image, vector and slice.
  const CellId c{2, 1, 3, 4};
  EXPECT_EQ(ReadNoiseDelta(ReadNoiseKey(5, 1, 2, 3), c, *q),
            ReadNoiseDelta(ReadNoiseKey(5, 1, 2, 3), c, *q));
  EXPECT_NE(ReadNoiseKey(5, 1, 2, 3), ReadNoiseKey(5, 1, 2, 4));
  EXPECT_NE(ReadNoiseKey(5, 1, 2, 3), ReadNoiseKey(5, 2, 2, 3));
  EXPECT_NE(ReadNoiseKey(5, 1, 2, 3), ReadNoiseKey(5, 1, 3, 3));
  EXPECT_NE(ReadNoiseKey(5, 1, 2, 3), ReadNoiseKey(6, 1, 2, 3));
  EXPECT_EQ(ReadNoiseDelta(ReadNoiseKey(5, 1, 2, 3), c, 0), 0);
}

TEST(NonIdealTest, ConventionFactors) {
  const DeviceModel d = Device(formats::DeviceModel());
  EXPECT_NEAR(NfTrainingFactor(d), 0.77763, 5e-6);
  EXPECT_NEAR(SwimWeightFactor(d), 0.25820, 5e-6);
  EXPECT_NEAR(SigmaToSwimCellSigma(d, 1.0), 3.0 * 256 / 255, 1e-12);
  EXPECT_NEAR(SwimCellSigmaToSigma(d, SigmaToSwimCellSigma(d, 0.13)), 0.13, 1e-15);
  EXPECT_NEAR(PerSliceVarianceFactor(8, 1), 21845.0 / 65025.0, 1e-15);

  // By sampling: cells with our sigma (std sigma * L in level steps) give a
  // weight std of NfTrainingFactor * sigma * W_max with w = q / 255, and
  // cells with SWIM's sigma_c (std sigma_c level steps) a std of
  // SwimWeightFactor * sigma_c with w = q / 256.
  const double sigma = 0.1, sigma_c = 0.3;
  const int n = 200000;
  double ours = 0, swim = 0;
  const rng::PhiloxStream stream(11, 12);
  std::vector<float> z(4 * static_cast<size_t>(n));
  StandardNormals(stream, 4 * n, z.data());
  for (int k = 0; k < n; ++k) {
    double a = 0, b = 0;
    for (int i = 0; i < 4; ++i) {
      a += z[4 * k + i] * sigma * 3 * (1 << (2 * i));
      b += z[4 * k + i] * sigma_c * (1 << (2 * i));
    }
    ours += (a / 255) * (a / 255);
    swim += (b / 256) * (b / 256);
  }
  EXPECT_NEAR(std::sqrt(ours / n), NfTrainingFactor(d) * sigma, 0.01 * NfTrainingFactor(d) * sigma);
  EXPECT_NEAR(std::sqrt(swim / n), SwimWeightFactor(d) * sigma_c, 0.01 * SwimWeightFactor(d) * sigma_c);
}

}  // namespace
}  // namespace nftcim::device
