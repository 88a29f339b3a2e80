#include "base/lru_cache.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fraiseql::base {
namespace {

std::shared_ptr<const std::string> Value(std::string v) {
  return std::make_shared<const std::string>(std::move(v));
}

TEST(LruCache, EvictsLeastRecentlyUsedWhenFull) {
  LruCache<std::string> cache(2);
  cache.Insert("a", Value("1"));
  cache.Insert("b", Value("2"));
  ASSERT_NE(cache.Find("a"), nullptr);  // a is now the most recent
  cache.Insert("c", Value("3"));        // evicts b
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_EQ(*cache.Find("a"), "1");
  EXPECT_EQ(*cache.Find("c"), "3");
  CacheStats stats = cache.Stats();
  EXPECT_EQ(stats.size, 2u);
  EXPECT_EQ(stats.capacity, 2u);
  EXPECT_EQ(stats.hits, 3);
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.evictions, 1);
}

TEST(LruCache, ReplacesValueWhenKeyIsInsertedAgain) {
  LruCache<std::string> cache(2);
  cache.Insert("a", Value("1"));
  auto held = cache.Find("a");
  cache.Insert("a", Value("2"));
  EXPECT_EQ(*cache.Find("a"), "2");
  EXPECT_EQ(*held, "1");  // a found value outlives its replacement
  EXPECT_EQ(cache.Stats().size, 1u);
}

TEST(LruCache, ReturnsWhatAnInsertPushedOut) {
  LruCache<std::string> cache(2);
  EXPECT_EQ(cache.Insert("a", Value("1")), nullptr);
  EXPECT_EQ(cache.Insert("b", Value("2")), nullptr);
  // Replacing a key gives back its old value; nothing else leaves.
  std::shared_ptr<const std::string> out = cache.Insert("a", Value("3"));
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out, "1");
  EXPECT_EQ(cache.size(), 2u);
  // "a" is now the most recent: a new key evicts "b".
  out = cache.Insert("c", Value("4"));
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out, "2");
  EXPECT_EQ(cache.Stats().evictions, 1);
}

TEST(LruCache, ForgetsEverythingWhenCleared) {
  LruCache<std::string> cache(2);
  cache.Insert("a", Value("1"));
  cache.Insert("b", Value("2"));
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.Insert("c", Value("3")), nullptr);
  EXPECT_EQ(*cache.Find("c"), "3");
}

TEST(LruCache, KeepsNothingWhenCapacityIsZero) {
  LruCache<std::string> cache(0);
  EXPECT_EQ(cache.Insert("a", Value("1")), nullptr);
  EXPECT_EQ(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.Stats().size, 0u);
}

TEST(LruCache, StaysConsistentWhenUsedFromManyThreads) {
  LruCache<std::string> cache(16);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string key = absl::StrCat((i * 7 + t) % 40);
        if (auto v = cache.Find(key)) {
          EXPECT_EQ(*v, key);
        } else {
          cache.Insert(key, Value(key));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits + stats.misses, 8 * 2000);
  EXPECT_LE(stats.size, 16u);
}

}  // namespace
}  // namespace fraiseql::base
