// Joint-DetNAS hill-climbing pieces: the score H, the top-k list, teacher mutation, the student
// action sampler and the per-iteration generator.
#include "nas/search/hill_climbing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "tensor/error.h"

using namespace detforge;
using namespace detforge::nas;

TEST(HillClimbing, ScoreFollowsTheFormula) {
  // H = mAP * [(C / Cb) * (R / Rb)^beta]^-alpha
  const double h = joint_score(0.4, 30.0, 40.0, 96.0, 128.0, 0.5, 2.0);
  EXPECT_NEAR(h, 0.4 * std::pow(0.75 * std::pow(0.75, 2.0), -0.5), 1e-12);
  EXPECT_DOUBLE_EQ(joint_score(0.3, 50.0, 50.0, 128.0, 128.0, 0.7, 1.0), 0.3);
  EXPECT_DOUBLE_EQ(joint_score(0.3, 10.0, 50.0, 64.0, 128.0, 0.0, 1.0), 0.3);  // alpha 0: mAP
  // Cheaper at the same mAP scores higher.
  EXPECT_GT(joint_score(0.3, 40.0, 50.0, 128.0, 128.0, 0.5, 1.0), 0.3);
  EXPECT_THROW(joint_score(0.3, 0.0, 50.0, 128.0, 128.0, 0.5, 1.0), ConfigError);
}

TEST(HillClimbing, TopKKeepsTheBestAndReportsDrops) {
  TopKList t(2);
  int64_t dropped = 0;
  EXPECT_TRUE(t.offer({0, 0.3, {}}, &dropped));
  EXPECT_EQ(dropped, -1);
  EXPECT_TRUE(t.offer({1, 0.2, {}}, &dropped));
  EXPECT_FALSE(t.offer({2, 0.1, {}}, &dropped));  // full and worse
  EXPECT_TRUE(t.offer({3, 0.25, {}}, &dropped));
  EXPECT_EQ(dropped, 1);
  EXPECT_FALSE(t.offer({4, 0.25, {}}, &dropped));  // a tie loses to the earlier candidate
  EXPECT_TRUE(t.offer({5, 0.5, {{"x", 1}}}, &dropped));
  EXPECT_EQ(dropped, 3);
  ASSERT_EQ(t.entries().size(), 2u);
  EXPECT_EQ(t.best().id, 5);
  EXPECT_EQ(t.entries()[1].id, 0);
  EXPECT_TRUE(t.contains(0));
  EXPECT_FALSE(t.contains(3));
  const TopKList back = TopKList::from_json(t.to_json());
  EXPECT_EQ(back.to_json(), t.to_json());
  EXPECT_THROW(t.offer({6, std::nan(""), {}}), ConfigError);
  EXPECT_THROW(TopKList(0), ConfigError);
}

TEST(HillClimbing, MutateChangesExactlyOneChoiceInsideTheSpace) {
  nn::SearchSpace space;
  space.stages.resize(3);
  space.stages[0].depths = {2, 3};
  space.stages[0].width_mults = {1.0, 1.25, 1.5};
  space.stages[1].depths = {2};
  space.stages[1].width_mults = {1.0};  // fixed: never mutated
  space.stages[2].depths = {1};
  space.stages[2].width_mults = {1.0, 1.5};
  nn::ArchConfig a;
  a.stages.resize(3);
  a.stages[0] = {3, 1.5};
  a.stages[1] = {2, 1.0};
  a.stages[2] = {1, 1.5};
  std::set<std::string> seen;
  for (int64_t i = 0; i < 200; ++i) {
    auto rng = iteration_rng(7, i);
    const nn::ArchConfig m = mutate_arch(a, space, rng);
    int changes = 0;
    for (size_t s = 0; s < 3; ++s) {
      changes += m.stages[s].depth != a.stages[s].depth;
      changes += m.stages[s].width_mult != a.stages[s].width_mult;
      EXPECT_NE(std::find(space.stages[s].depths.begin(), space.stages[s].depths.end(),
                          m.stages[s].depth),
                space.stages[s].depths.end());
    }
    EXPECT_EQ(changes, 1);
    EXPECT_EQ(m.stages[1], a.stages[1]);
    seen.insert(std::to_string(m.stages[0].depth) + "/" + std::to_string(m.stages[0].width_mult) +
                "/" + std::to_string(m.stages[2].width_mult));
  }
  EXPECT_EQ(seen.size(), 4u);  // depth 2; width 1.0; width 1.25; FPN-like stage width 1.0
  nn::SearchSpace single;
  single.stages.resize(1);
  single.stages[0].depths = {2};
  single.stages[0].width_mults = {1.0};
  nn::ArchConfig one;
  one.stages = {{2, 1.0}};
  auto rng = iteration_rng(0, 0);
  EXPECT_THROW(mutate_arch(one, single, rng), ConfigError);
}

TEST(HillClimbing, StudentActionsAreValidForTheDepths) {
  StudentActionOptions o;
  o.max_depth = 3;
  std::set<std::string> types;
  for (int64_t i = 0; i < 400; ++i) {
    auto rng = iteration_rng(1, i);
    const std::vector<int64_t> depths{1, 3, 2, 1};
    const MorphAction a = sample_student_action(o, depths, rng);
    types.insert(action_type_name(a.type));
    switch (a.type) {
      case MorphActionType::kAddLayer:
        EXPECT_LT(depths[a.stage - 1], 3);  // never past max_depth
        EXPECT_TRUE(a.position == -1 || (a.position >= 1 && a.position < depths[a.stage - 1]));
        break;
      case MorphActionType::kRearrange: {
        EXPECT_GE(depths[a.stage - 1], 2);  // the source keeps a block
        const int dst = a.to_next ? a.stage + 1 : a.stage - 1;
        ASSERT_TRUE(dst >= 1 && dst <= 4);
        EXPECT_LT(depths[dst - 1], 3);
        break;
      }
      case MorphActionType::kChannelPrune:
        EXPECT_DOUBLE_EQ(a.channel.percent, 0.1);
        EXPECT_FALSE(a.channel.per_layer);  // network slimming's global ranking by default
        break;
      default:
        break;
    }
  }
  EXPECT_EQ(types.size(), 4u);
  o.types = {MorphActionType::kChannelPrune};
  o.channel_prune_per_layer = true;
  {
    auto rng = iteration_rng(1, 0);
    const MorphAction a = sample_student_action(o, {2, 2, 2, 2}, rng);
    EXPECT_EQ(a.type, MorphActionType::kChannelPrune);
    EXPECT_TRUE(a.channel.per_layer);
  }
  // Only layer pruning enabled and every stage down to one block: nothing applies.
  o.types = {MorphActionType::kLayerPrune};
  auto rng = iteration_rng(1, 0);
  EXPECT_THROW(sample_student_action(o, {1, 1, 1, 1}, rng), ConfigError);
}

TEST(HillClimbing, IterationGeneratorIsAFunctionOfSeedAndIteration) {
  auto a = iteration_rng(3, 10), b = iteration_rng(3, 10), c = iteration_rng(3, 11),
       d = iteration_rng(4, 10);
  const uint64_t x = a();
  EXPECT_EQ(x, b());
  EXPECT_NE(x, c());
  EXPECT_NE(x, d());
}
