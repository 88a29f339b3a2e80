#include "plugins/backend_registry.h"

#include <memory>

#include "gtest/gtest.h"

namespace fraiseql::plugins {
namespace {

// A backend with no rows, enough to tell which factory made it.
class EmptyBackend : public Backend {
 public:
  explicit EmptyBackend(std::string url) : url_(std::move(url)) {}
  absl::string_view name() const override { return "backend.empty"; }
  using Backend::Execute;
  absl::Status Execute(const exec::Plan&, const exec::RequestContext&,
                       exec::RowSink*) override {
    return absl::OkStatus();
  }
  const std::string& url() const { return url_; }

 private:
  std::string url_;
};

BackendFactory EmptyFactory() {
  return [](const BackendConfig& config)
             -> absl::StatusOr<std::shared_ptr<Backend>> {
    if (config.options.count("fail") > 0) {
      return absl::InvalidArgumentError("invalid backend option 'fail'");
    }
    return std::make_shared<EmptyBackend>(config.url);
  };
}

TEST(BackendRegistry, CreatesARegisteredBackendFromItsConfig) {
  BackendRegistry registry;
  ASSERT_TRUE(registry.Register("empty", EmptyFactory()).ok());
  BackendConfig config;
  config.url = "postgresql://example/db";
  absl::StatusOr<std::shared_ptr<Backend>> backend =
      registry.Create("empty", config);
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_EQ(static_cast<EmptyBackend&>(**backend).url(),
            "postgresql://example/db");
}

TEST(BackendRegistry, RefusesADuplicateName) {
  BackendRegistry registry;
  ASSERT_TRUE(registry.Register("empty", EmptyFactory()).ok());
  absl::Status status = registry.Register("empty", EmptyFactory());
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), "backend 'empty' is already registered");
}

TEST(BackendRegistry, RefusesMalformedNames) {
  BackendRegistry registry;
  for (absl::string_view name :
       {absl::string_view(""), absl::string_view("Native"),
        absl::string_view("-x"), absl::string_view("a b"),
        absl::string_view("a\0b", 3)}) {
    EXPECT_EQ(registry.Register(name, EmptyFactory()).code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
  EXPECT_EQ(registry.Register(std::string(65, 'a'), EmptyFactory()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry.Register("legacy-psycopg", EmptyFactory()).ok());
  EXPECT_TRUE(registry.Register("my.backend_2", EmptyFactory()).ok());
}

TEST(BackendRegistry, UnknownNameListsTheRegisteredOnes) {
  BackendRegistry registry;
  ASSERT_TRUE(registry.Register("zeta", EmptyFactory()).ok());
  ASSERT_TRUE(registry.Register("alpha", EmptyFactory()).ok());
  absl::StatusOr<std::shared_ptr<Backend>> backend =
      registry.Create("nativ", BackendConfig());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(backend.status().message(),
            "unknown backend 'nativ'; registered: alpha, zeta");
  // A name that is not even well formed is not echoed.
  EXPECT_EQ(registry.Create("x\n'; drop", BackendConfig()).status().message(),
            "unknown backend; registered: alpha, zeta");
  EXPECT_EQ(registry.Names(), (std::vector<std::string>{"alpha", "zeta"}));
}

TEST(BackendRegistry, PassesTheFactorysErrorsThrough) {
  BackendRegistry registry;
  ASSERT_TRUE(registry.Register("empty", EmptyFactory()).ok());
  BackendConfig config;
  config.options["fail"] = "1";
  EXPECT_EQ(registry.Create("empty", config).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BackendRegistry, AFactoryThatReturnsNothingIsAnError) {
  BackendRegistry registry;
  ASSERT_TRUE(registry
                  .Register("null",
                            [](const BackendConfig&)
                                -> absl::StatusOr<std::shared_ptr<Backend>> {
                              return std::shared_ptr<Backend>();
                            })
                  .ok());
  EXPECT_EQ(registry.Create("null", BackendConfig()).status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace fraiseql::plugins
