#include "ranking_updater/config.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;

namespace {

std::map<std::string, std::string> required() {
  return {{"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9"}, {"PAYPIPE_PG_DSN", "postgresql://localhost/paypipe"}};
}

}  // namespace

TEST_CASE("ranking-updater's defaults: days in Asia/Seoul, batches of 5000, its three topics") {
  core::Env env(required());
  const auto c = ranking_updater::Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.time_zone == "Asia/Seoul");
  CHECK(c.consumer.batch_size == 5000);
  CHECK(c.consumer.consumer.group == "ranking-updater");
  CHECK(c.consumer.consumer.topics ==
        std::vector<std::string>{"order.completed", "order.refunded", "product.sold-out"});
  CHECK(c.common.database.connect.schema == "ranking_updater");
}

TEST_CASE("the ranking time zone and batch size reach their fields; a zone that is no zone name is refused") {
  auto vars = required();
  vars.insert({{"PAYPIPE_RANKING_TIME_ZONE", "America/New_York"}, {"PAYPIPE_CONSUMER_BATCH_SIZE", "100"}});
  core::Env env(vars);
  const auto c = ranking_updater::Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.time_zone == "America/New_York");
  CHECK(c.consumer.batch_size == 100);

  for (const char* bad : {"", "Asia/Seoul; DROP TABLE x", "../../etc/passwd "}) {
    auto bad_vars = required();
    bad_vars["PAYPIPE_RANKING_TIME_ZONE"] = bad;
    core::Env bad_env(bad_vars);
    (void)ranking_updater::Config::read(bad_env);
    const auto status = bad_env.finish();
    INFO(bad);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message.find("PAYPIPE_RANKING_TIME_ZONE") != std::string::npos);
  }
}

TEST_CASE("under the spring names ranking-updater reads its topics with ranking-update-group") {
  auto vars = required();
  vars.insert({{"PAYPIPE_NAMING_PROFILE", "spring"}, {"PAYPIPE_TOPIC_PREFIX", "p."}});
  core::Env env(vars);
  const auto c = ranking_updater::Config::read(env);
  REQUIRE(env.finish().ok());
  // Logical names in the settings; the broker's names from the Kafka options.
  CHECK(c.consumer.consumer.group == "ranking-updater");
  CHECK(c.common.kafka.group(c.consumer.consumer.group) == "p.ranking-update-group");
  CHECK(c.common.kafka.topic("retry.ranking-updater") == "p.ranking-update-group.RETRY");
  CHECK(c.common.kafka.topic("dlq.ranking-updater") == "p.ranking-update-group.DLQ");

  auto bad_vars = required();
  bad_vars["PAYPIPE_GROUP_NAMES"] = "ranking=ranking-update-group";
  core::Env bad_env(bad_vars);
  (void)ranking_updater::Config::read(bad_env);
  const auto status = bad_env.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("PAYPIPE_GROUP_NAMES: unknown group \"ranking\"") != std::string::npos);
}
