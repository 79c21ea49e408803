// nas/sampler + nas/progressive_shrinking: sandwich order and counts, reproducibility, samples
// inside the phase's narrowed space, phases widening monotonically, IPS vs OFA phase tables.
#include <gtest/gtest.h>

#include "nas/progressive_shrinking.h"
#include "nas/sampler.h"
#include "tensor/error.h"

using namespace detforge;
using namespace detforge::nas;
using detforge::nn::ArchConfig;
using detforge::nn::SearchSpace;

namespace {

SearchSpace test_space() {
  SearchSpace sp;
  sp.block_type = "bottleneck";
  for (int s = 0; s < 3; ++s) {
    nn::StageChoices c;
    c.depths = s == 1 ? std::vector<int64_t>{2, 3, 4, 5} : std::vector<int64_t>{2, 3};
    c.width_mults = {1.0, 1.25, 1.5};
    c.expand_ratios = {0.2, 0.25, 0.35};
    c.kernel_sizes = {3, 5, 7};
    sp.stages.push_back(c);
  }
  return sp;
}

TEST(NasSampler, SandwichOrderAndCounts) {
  SearchSpace sp = test_space();
  SubnetSampler s({SamplerKind::sandwich, 3}, 7);
  EXPECT_EQ(s.subnets_per_step(), 5);
  for (int step = 0; step < 5; ++step) {
    auto archs = s.sample(sp);
    ASSERT_EQ(archs.size(), 5u);
    EXPECT_EQ(archs[0], sp.largest());
    EXPECT_EQ(archs[1], sp.smallest());
    for (const auto& a : archs) EXPECT_TRUE(sp.contains(a)) << sp.violation(a);
  }
  SubnetSampler u({SamplerKind::uniform, 2}, 7);
  EXPECT_EQ(u.sample(sp).size(), 2u);
  SubnetSampler s0({SamplerKind::sandwich, 0}, 1);
  EXPECT_EQ(s0.sample(sp).size(), 2u);
  // A single-architecture space (the fullnet phase) trains that net once per step.
  SearchSpace one = largest_only(sp);
  for (auto* smp : {&s, &u}) {
    auto archs = smp->sample(one);
    ASSERT_EQ(archs.size(), 1u);
    EXPECT_EQ(archs[0], sp.largest());
  }
}

TEST(NasSampler, ReproducibleAndResumable) {
  SearchSpace sp = test_space();
  SubnetSampler a({SamplerKind::sandwich, 2}, 42), b({SamplerKind::sandwich, 2}, 42),
      c({SamplerKind::sandwich, 2}, 43);
  bool differs = false;
  for (int i = 0; i < 4; ++i) {
    auto x = a.sample(sp), y = b.sample(sp), z = c.sample(sp);
    EXPECT_EQ(x, y);
    differs = differs || x != z;
  }
  EXPECT_TRUE(differs);
  // The rng state round-trips: a restored sampler continues identically.
  SubnetSampler d({SamplerKind::sandwich, 2}, 0);
  d.set_rng_state(a.rng_state());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a.sample(sp), d.sample(sp));
  EXPECT_THROW(d.set_rng_state("not a state"), ConfigError);
}

TEST(NasSampler, OptionsFromJsonNameTheKey) {
  auto o = sampler_options_from_json(nlohmann::json::parse(R"({"kind":"uniform","num_random":4})"));
  EXPECT_EQ(o.kind, SamplerKind::uniform);
  EXPECT_EQ(o.num_random, 4);
  try {
    sampler_options_from_json(nlohmann::json::parse(R"({"kind":"sandwitch"})"), "supernet.sampler");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("supernet.sampler.kind"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sampler_options_from_json(nlohmann::json::parse(R"({"num_random":-1})")),
               ConfigError);
  EXPECT_THROW(sampler_options_from_json(nlohmann::json::parse(R"({"extra":1})")), ConfigError);
}

void expect_monotone(const std::vector<ShrinkPhase>& ph, const SearchSpace& full) {
  ASSERT_FALSE(ph.empty());
  EXPECT_EQ(ph.front().space.size(), 1.0) << "phase 0 trains only the largest net";
  EXPECT_EQ(ph.front().space.largest(), full.largest());
  for (size_t p = 1; p < ph.size(); ++p) {
    EXPECT_TRUE(space_within(ph[p - 1].space, ph[p].space)) << ph[p].name;
    EXPECT_GT(ph[p].space.size(), ph[p - 1].space.size()) << ph[p].name;
    EXPECT_EQ(ph[p].space.largest(), full.largest()) << ph[p].name;
  }
  EXPECT_TRUE(space_within(full, ph.back().space)) << "the last phase is the full space";
  EXPECT_TRUE(space_within(ph.back().space, full));
}

TEST(NasShrinking, PhasesWidenMonotonically) {
  SearchSpace full = test_space();
  expect_monotone(ofa_phases(full), full);
  expect_monotone(ips_phases(full), full);
}

TEST(NasShrinking, OfaVersusIpsOrder) {
  SearchSpace full = test_space();
  auto ofa = ofa_phases(full);
  auto ips = ips_phases(full);
  // OFA: 1 + (3-1 kernel) + (4-1 depth) + (3-1 expand) + (3-1 width); IPS: max choices = 4.
  EXPECT_EQ(ofa.size(), 1u + 2 + 3 + 2 + 2);
  EXPECT_EQ(ips.size(), 4u);
  // OFA phase 1 opens only the kernel; depth and width stay at their largest.
  const auto& o1 = ofa[1].space.stages[1];
  EXPECT_EQ(o1.kernel_sizes, (std::vector<int64_t>{7, 5}));
  EXPECT_EQ(o1.depths, (std::vector<int64_t>{5}));
  EXPECT_EQ(o1.width_mults, (std::vector<double>{1.5}));
  // Depth only opens after the kernel is complete, width last.
  EXPECT_EQ(ofa[3].space.stages[1].kernel_sizes.size(), 3u);
  EXPECT_EQ(ofa[3].space.stages[1].depths, (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(ofa[7].space.stages[1].width_mults.size(), 1u);
  EXPECT_EQ(ofa[8].space.stages[1].width_mults.size(), 2u);
  // IPS phase 1 shrinks depth and width (and expand, kernel) jointly.
  const auto& i1 = ips[1].space.stages[1];
  EXPECT_EQ(i1.depths, (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(i1.width_mults, (std::vector<double>{1.5, 1.25}));
  EXPECT_EQ(i1.kernel_sizes, (std::vector<int64_t>{7, 5}));
  // Stages with fewer depth choices are complete sooner.
  EXPECT_EQ(ips[1].space.stages[0].depths, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(ips[2].space.stages[1].depths, (std::vector<int64_t>{5, 4, 3}));
}

TEST(NasShrinking, DetOfaTableA1) {
  // detofa.txt Table A1: D full from the start, then W, then E, one choice per stage.
  SearchSpace full;
  full.block_type = "bottleneck";
  nn::StageChoices c;
  c.depths = {2, 3, 4};
  c.width_mults = {0.65, 0.8, 1.0};
  c.expand_ratios = {0.2, 0.25, 0.35};
  full.stages = {c, c};
  auto ph = ofa_phases(full, {ShrinkDim::width, ShrinkDim::expand});
  ASSERT_EQ(ph.size(), 5u);
  using D = std::vector<double>;
  const D w[5] = {{1.0}, {1.0, 0.8}, {1.0, 0.8, 0.65}, {1.0, 0.8, 0.65}, {1.0, 0.8, 0.65}};
  const D e[5] = {{0.35}, {0.35}, {0.35}, {0.35, 0.25}, {0.35, 0.25, 0.2}};
  for (int p = 0; p < 5; ++p) {
    EXPECT_EQ(ph[p].space.stages[0].depths, (std::vector<int64_t>{4, 3, 2})) << p;
    EXPECT_EQ(ph[p].space.stages[0].width_mults, w[p]) << p;
    EXPECT_EQ(ph[p].space.stages[0].expand_ratios, e[p]) << p;
  }
}

TEST(NasShrinking, SamplesStayInsideThePhase) {
  SearchSpace full = test_space();
  ShrinkOptions o;
  o.order = ShrinkOrder::ips;
  ProgressiveShrinking ps(full, o, 10);  // 4 phases over 10 epochs: 3, 3, 2, 2
  EXPECT_EQ(ps.phase_starts(), (std::vector<int64_t>{0, 3, 6, 8}));
  SubnetSampler s({SamplerKind::sandwich, 4}, 3);
  for (int64_t epoch = 0; epoch < 12; ++epoch) {
    const SearchSpace& sp = ps.space_at(epoch);
    for (int i = 0; i < 5; ++i)
      for (const auto& a : s.sample(sp)) EXPECT_TRUE(sp.contains(a)) << sp.violation(a);
  }
  EXPECT_EQ(ps.phase_at(0), 0);
  EXPECT_EQ(ps.phase_at(7), 2);
  EXPECT_EQ(ps.phase_at(100), 3);
  o.phase_epochs = {1, 1, 1, 5};
  ProgressiveShrinking ps2(full, o, 8);
  EXPECT_EQ(ps2.phase_at(2), 2);
  o.phase_epochs = {1, 1};
  EXPECT_THROW(ProgressiveShrinking(full, o, 8), ConfigError);
  EXPECT_THROW(shrink_options_from_json(nlohmann::json::parse(R"({"order":"bfs"})")), ConfigError);
  auto od = shrink_options_from_json(
      nlohmann::json::parse(R"({"order":"ofa","ofa_dims":["width","expand"]})"));
  EXPECT_EQ(od.ofa_dims, (std::vector<ShrinkDim>{ShrinkDim::width, ShrinkDim::expand}));
  EXPECT_EQ(ProgressiveShrinking(full, od, 10).phases().size(), 1u + 2 + 2);
  EXPECT_THROW(shrink_options_from_json(nlohmann::json::parse(R"({"ofa_dims":["depht"]})")),
               ConfigError);
}

}  // namespace
