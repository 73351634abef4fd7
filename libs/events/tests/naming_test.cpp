#include "events/naming.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <set>

#include "core/env.hpp"
#include "events/admin.hpp"
#include "events/kafka.hpp"

using namespace paypipe;
using namespace paypipe::events;

namespace {

// The naming the variables make, and every error Env::finish reports about them.
std::pair<Naming, std::string> read(std::map<std::string, std::string> variables) {
  core::Env env(std::move(variables));
  auto naming = read_naming(env);
  const auto status = env.finish();
  return {std::move(naming), status ? std::string{} : status.error().message};
}

}  // namespace

TEST_CASE("without any naming variable every name is the logical one") {
  const auto [naming, errors] = read({});
  CHECK(errors.empty());
  CHECK(naming == Naming{});
  CHECK(naming.topic("payment.completed") == "payment.completed");
  CHECK(naming.topic("retry.ranking-updater") == "retry.ranking-updater");
  CHECK(naming.topic("dlq.ranking-updater") == "dlq.ranking-updater");
  CHECK(naming.group("ranking-updater") == "ranking-updater");
  CHECK(naming.dlq_subscription() == std::vector<std::string>{"^dlq\\..+"});
}

TEST_CASE("topics and groups are renamed; retry and dlq follow the group's name") {
  const auto [naming, errors] = read({{"PAYPIPE_TOPIC_NAMES", "payment.completed=payment.success;order.created=orders"},
                                      {"PAYPIPE_GROUP_NAMES", "ranking-updater=ranking-update-group"}});
  REQUIRE(errors.empty());
  CHECK(naming.topic("payment.completed") == "payment.success");
  CHECK(naming.topic("order.created") == "orders");
  CHECK(naming.topic("payment.failed") == "payment.failed");
  CHECK(naming.group("ranking-updater") == "ranking-update-group");
  CHECK(naming.topic("retry.ranking-updater") == "retry.ranking-update-group");
  CHECK(naming.topic("dlq.ranking-updater") == "dlq.ranking-update-group");
  CHECK(naming.group_of_dlq_topic("dlq.ranking-update-group") == "ranking-updater");

  KafkaOptions options;
  options.topic_prefix = "t.";
  options.naming = naming;
  CHECK(options.topic("payment.completed") == "t.payment.success");
  CHECK(options.group("ranking-updater") == "t.ranking-update-group");
}

TEST_CASE("retry and dlq topics take a format, or a name of their own") {
  const auto [naming, errors] = read({{"PAYPIPE_DLQ_TOPIC_FORMAT", "%s.DLQ"},
                                      {"PAYPIPE_RETRY_TOPIC_FORMAT", "%s-retry"},
                                      {"PAYPIPE_TOPIC_NAMES", "dlq.payment-api=payments.DLT"}});
  REQUIRE(errors.empty());
  CHECK(naming.topic("dlq.order-processor") == "order-processor.DLQ");
  CHECK(naming.topic("retry.order-processor") == "order-processor-retry");
  CHECK(naming.topic("dlq.payment-api") == "payments.DLT");
  CHECK(naming.group_of_dlq_topic("order-processor.DLQ") == "order-processor");
  CHECK(naming.group_of_dlq_topic("payments.DLT") == "payment-api");
  CHECK_FALSE(naming.group_of_dlq_topic("order-processor-retry").has_value());
  // "%s.DLQ" matches the Spring services' own dead-letter topics too: dlq-retrier reads
  // the catalogue's groups' by name instead of by pattern.
  const auto subscription = naming.dlq_subscription();
  CHECK(subscription.size() == consumer_groups(naming).size());
  for (const auto& entry : subscription) CHECK(entry.rfind("dlq.", 0) == 0);
}

TEST_CASE("unknown names, bad names and bad formats are errors, each by variable") {
  const auto [naming, errors] = read({{"PAYPIPE_TOPIC_NAMES", "payment.complete=x;dlq.nobody=y;order.created=a b"},
                                      {"PAYPIPE_GROUP_NAMES", "ranking-update=z"},
                                      {"PAYPIPE_DLQ_TOPIC_FORMAT", "dlq"},
                                      {"PAYPIPE_RETRY_TOPIC_FORMAT", "%s.%s"},
                                      {"PAYPIPE_NAMING_PROFILE", "spring-boot"}});
  INFO(errors);
  CHECK(errors.find("PAYPIPE_TOPIC_NAMES: unknown topic \"payment.complete\"") != std::string::npos);
  CHECK(errors.find("PAYPIPE_TOPIC_NAMES: unknown topic \"dlq.nobody\"") != std::string::npos);
  CHECK(errors.find("\"order.created=a b\"") != std::string::npos);
  CHECK(errors.find("PAYPIPE_GROUP_NAMES: unknown group \"ranking-update\"") != std::string::npos);
  CHECK(errors.find("PAYPIPE_DLQ_TOPIC_FORMAT") != std::string::npos);
  CHECK(errors.find("PAYPIPE_RETRY_TOPIC_FORMAT") != std::string::npos);
  CHECK(errors.find("PAYPIPE_NAMING_PROFILE") != std::string::npos);
  CHECK(naming == Naming{});  // nothing half-applied
}

TEST_CASE("two logical topics on one actual topic are refused unless listed as shared") {
  {
    const auto [naming, errors] = read({{"PAYPIPE_TOPIC_NAMES", "payment.completed=payments;payment.failed=payments"}});
    CHECK(errors.find("topics \"payment.completed\" and \"payment.failed\" are both named \"payments\"") !=
          std::string::npos);
    CHECK(errors.find("PAYPIPE_SHARED_TOPIC_NAMES") != std::string::npos);
  }
  {
    const auto [naming, errors] = read({{"PAYPIPE_TOPIC_NAMES", "payment.completed=payments;payment.failed=payments"},
                                        {"PAYPIPE_SHARED_TOPIC_NAMES", "payments"}});
    CHECK(errors.empty());
    CHECK(naming.topic("payment.failed") == "payments");
  }
  {  // a dead-letter topic is never shared, listed or not
    const auto [naming, errors] = read(
        {{"PAYPIPE_TOPIC_NAMES", "dlq.payment-api=payment.failed"}, {"PAYPIPE_SHARED_TOPIC_NAMES", "payment.failed"}});
    CHECK(errors.find("both named \"payment.failed\"") != std::string::npos);
  }
  {  // nor are two groups
    const auto [naming, errors] = read({{"PAYPIPE_GROUP_NAMES", "payment-api=g;order-processor=g"}});
    CHECK(errors.find("groups \"payment-api\" and \"order-processor\" are both named \"g\"") != std::string::npos);
  }
  {  // a shared name must be one
    const auto [naming, errors] = read({{"PAYPIPE_SHARED_TOPIC_NAMES", "payment.completed"}});
    CHECK(errors.find("PAYPIPE_SHARED_TOPIC_NAMES") != std::string::npos);
  }
}

TEST_CASE("the spring profile names every topic and group the Spring services' way") {
  const auto [naming, errors] = read({{"PAYPIPE_NAMING_PROFILE", "spring"}});
  REQUIRE(errors.empty());
  // Complete: every logical topic and group has a name of its own in the profile.
  for (const auto& topic : business_topics()) {
    INFO(topic);
    CHECK(naming.topics.contains(topic));
  }
  CHECK(naming.topics.size() == business_topics().size());
  for (const auto& group : all_group_names(naming)) {
    INFO(group);
    CHECK(naming.groups.contains(group));
  }
  CHECK(naming.groups.size() == all_group_names(naming).size());
  // Every actual name once (make_naming checked it): the profile needs no sharing.
  std::set<std::string> actual;
  for (const auto& t : all_topics(naming)) CHECK(actual.insert(naming.topic(t)).second);

  CHECK(naming.topic("payment.completed") == "payment.success");
  CHECK(naming.topic("payment.failed") == "payment.failed");
  CHECK(naming.topic("coupon.requested") == "coupon-requests");
  CHECK(naming.group("notification-sender") == "payment-notification");
  CHECK(naming.group("ranking-updater") == "ranking-update-group");
  CHECK(naming.group("data-platform-forwarder") == "data-platform-group");
  CHECK(naming.topic("dlq.ranking-updater") == "ranking-update-group.DLQ");
  CHECK(naming.topic("retry.ranking-updater") == "ranking-update-group.RETRY");
}

TEST_CASE("the profile's names can still be overridden one by one") {
  const auto [naming, errors] = read({{"PAYPIPE_NAMING_PROFILE", "spring"},
                                      {"PAYPIPE_TOPIC_NAMES", "order.completed=order-complete"},
                                      {"PAYPIPE_GROUP_NAMES", "payment-api=payments"},
                                      {"PAYPIPE_DLQ_TOPIC_FORMAT", "%s.DLT"}});
  REQUIRE(errors.empty());
  CHECK(naming.topic("order.completed") == "order-complete");
  CHECK(naming.topic("payment.completed") == "payment.success");
  CHECK(naming.group("payment-api") == "payments");
  CHECK(naming.topic("dlq.payment-api") == "payments.DLT");
}

TEST_CASE("consumer groups from configuration: named like ours, with retry and dlq topics of their own") {
  const auto [naming, errors] = read(
      {{"PAYPIPE_EXTRA_CONSUMER_GROUPS", "email-sender=payment.completed, order.refunded;sms-sender=payment.failed"}});
  REQUIRE(errors.empty());
  CHECK(naming.extra_groups == std::map<std::string, std::vector<std::string>, std::less<>>{
                                   {"email-sender", {"payment.completed", "order.refunded"}},
                                   {"sms-sender", {"payment.failed"}}});
  auto groups = consumer_groups(naming);
  CHECK(groups.size() == builtin_consumer_groups().size() + 2);
  CHECK(std::find(groups.begin(), groups.end(), "email-sender") != groups.end());
  const auto names = all_group_names(naming);
  CHECK(std::find(names.begin(), names.end(), "sms-sender") != names.end());
  const auto topics = all_topics(naming);
  for (const auto* t : {"retry.email-sender", "dlq.email-sender", "retry.sms-sender", "dlq.sms-sender"}) {
    INFO(t);
    CHECK(std::find(topics.begin(), topics.end(), t) != topics.end());
  }
  CHECK(naming.group_of_dlq_topic("dlq.email-sender") == "email-sender");
}

TEST_CASE("a configured group is renamed like ours, and the profile's formats name its topics") {
  const auto [naming, errors] = read({{"PAYPIPE_NAMING_PROFILE", "spring"},
                                      {"PAYPIPE_EXTRA_CONSUMER_GROUPS", "email-sender=payment.completed"},
                                      {"PAYPIPE_GROUP_NAMES", "email-sender=email-group"},
                                      {"PAYPIPE_TOPIC_NAMES", "retry.email-sender=email-retries"}});
  REQUIRE(errors.empty());
  CHECK(naming.group("email-sender") == "email-group");
  CHECK(naming.topic("dlq.email-sender") == "email-group.DLQ");
  CHECK(naming.topic("retry.email-sender") == "email-retries");
  CHECK(naming.group_of_dlq_topic("email-group.DLQ") == "email-sender");
  // "%s.DLQ": dlq-retrier names every group's dead-letter topic, the configured one too.
  const auto subscription = naming.dlq_subscription();
  CHECK(std::find(subscription.begin(), subscription.end(), "dlq.email-sender") != subscription.end());
  // Without the variable, its names are unknown.
  const auto [without, refused] = read({{"PAYPIPE_GROUP_NAMES", "email-sender=email-group"}});
  CHECK(refused.find("PAYPIPE_GROUP_NAMES: unknown group \"email-sender\"") != std::string::npos);
}

TEST_CASE("a configured group with a bad name, an unknown topic or one of our names is refused, each on its line") {
  const auto [naming, errors] = read(
      {{"PAYPIPE_EXTRA_CONSUMER_GROUPS",
        "email sender=payment.completed;mailer=payment.complete,payment.failed;notification-sender=payment.failed;"
        "dlq-retrier=payment.failed;empty=;retry.x=payment.completed"}});
  INFO(errors);
  const auto has = [&](const std::string& line) { return errors.find(line) != std::string::npos; };
  CHECK(has("PAYPIPE_EXTRA_CONSUMER_GROUPS: group \"email sender\": a group's name is 1-249 of [a-zA-Z0-9._-]"));
  CHECK(has("PAYPIPE_EXTRA_CONSUMER_GROUPS: group \"mailer\": unknown topic \"payment.complete\""));
  CHECK(has("PAYPIPE_EXTRA_CONSUMER_GROUPS: group \"notification-sender\": is one of our daemons' groups"));
  CHECK(has("PAYPIPE_EXTRA_CONSUMER_GROUPS: group \"dlq-retrier\": is one of our daemons' groups"));
  CHECK(has("PAYPIPE_EXTRA_CONSUMER_GROUPS: group \"empty\": names no topic"));
  CHECK_FALSE(has("\"retry.x\""));  // a group may hold a dot; its topics are retry.retry.x
  CHECK(naming == Naming{});
  // Malformed entries, and a clash with one of our groups under its broker name.
  const auto [malformed, why] = read({{"PAYPIPE_EXTRA_CONSUMER_GROUPS", "email-sender"}});
  CHECK(why.find("PAYPIPE_EXTRA_CONSUMER_GROUPS") != std::string::npos);
  const auto [clash, clashes] = read(
      {{"PAYPIPE_NAMING_PROFILE", "spring"}, {"PAYPIPE_EXTRA_CONSUMER_GROUPS", "payment-group=payment.completed"}});
  CHECK(clashes.find("groups \"payment-api\" and \"payment-group\" are both named \"payment-group\"") !=
        std::string::npos);
}

TEST_CASE("a consumer runtime's topics: consumed, retry and dlq of its group") {
  CHECK(group_topics("g", {"a", "b"}) == std::vector<std::string>{"a", "b", "retry.g", "dlq.g"});
}

TEST_CASE("the chart's spring values name the groups as the profile does") {
  // k8s/values-spring-names.yaml spells the groups out for the chart's own use (the
  // kafka-exporter filter, KEDA): "  groups:" then "    <logical>: <actual>" lines.
  std::ifstream file(std::string(PAYPIPE_SOURCE_DIR) + "/k8s/values-spring-names.yaml");
  REQUIRE(file.good());
  std::map<std::string, std::string, std::less<>> groups;
  bool in_groups = false;
  for (std::string line; std::getline(file, line);) {
    if (line == "  groups:") {
      in_groups = true;
    } else if (in_groups && line.starts_with("    ") && line.find(": ") != std::string::npos) {
      const auto colon = line.find(": ");
      groups[line.substr(4, colon - 4)] = line.substr(colon + 2);
    } else if (!line.starts_with("    ")) {
      in_groups = false;
    }
  }
  CHECK(groups == naming_profile(spring_profile).groups);
}
