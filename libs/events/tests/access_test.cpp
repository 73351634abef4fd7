#include "events/access.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "events/admin.hpp"

using namespace paypipe;
using namespace paypipe::events;

namespace {

bool has(const std::vector<Acl>& acls, const std::string& principal, AclOperation op, const std::string& name) {
  return std::any_of(acls.begin(), acls.end(),
                     [&](const Acl& a) { return a.principal == principal && a.operation == op && a.name == name; });
}

std::string principal(const std::string& service) { return "User:paypipe-" + service; }

KafkaOptions prefixed(const std::string& prefix, Naming naming = {}) {
  KafkaOptions options;
  options.topic_prefix = prefix;
  options.naming = std::move(naming);
  return options;
}

// What the daemons' configurations declare (services/*/config.cpp: consumed_topics()),
// as far as these tests need it.
const std::vector<ConsumerAccess> consumers = {
    {"notification-sender", {"payment.completed", "payment.failed"}},
    {"payment-api", {"order.created"}},
};

}  // namespace

TEST_CASE("every business topic has exactly one owner, and every consumer group is in the catalogue") {
  std::map<std::string, int> owners;
  std::set<std::string> groups;
  for (const auto& s : service_access()) {
    for (const auto& t : s.produces) ++owners[t];
    if (s.consumer_runtime) groups.insert(s.service);
  }
  for (const auto& t : business_topics()) {
    INFO(t);
    CHECK(owners[t] == 1);
  }
  CHECK(owners.size() == business_topics().size());
  const auto known = builtin_consumer_groups();
  CHECK(groups == std::set<std::string>(known.begin(), known.end()));
}

TEST_CASE("a daemon writes only what it owns and reads only what it consumes") {
  const auto acls = all_acls(principal, prefixed("pfx."), consumers);
  const auto pay = principal("payment-api"), notify = principal("notification-sender");
  CHECK(has(acls, pay, AclOperation::write, "pfx.payment.completed"));
  CHECK_FALSE(has(acls, notify, AclOperation::write, "pfx.payment.completed"));
  CHECK(has(acls, notify, AclOperation::read, "pfx.payment.completed"));
  CHECK(has(acls, notify, AclOperation::read, "pfx.notification-sender"));  // its group
  CHECK_FALSE(has(acls, notify, AclOperation::read, "pfx.payment-api"));    // not another's group
  CHECK(has(acls, notify, AclOperation::read, "pfx.retry.notification-sender"));
  CHECK(has(acls, notify, AclOperation::write, "pfx.dlq.notification-sender"));
  CHECK_FALSE(has(acls, notify, AclOperation::write, "pfx.dlq.payment-api"));
  // No daemon but its owner writes a business topic.
  for (const auto& a : acls) {
    if (a.operation != AclOperation::write || a.resource != AclResource::topic) continue;
    if (a.name.rfind("pfx.dlq.", 0) == 0 || a.name.rfind("pfx.retry.", 0) == 0) continue;
    INFO(to_string(a));
    const auto topic = a.name.substr(4);
    bool owner = false;
    for (const auto& s : service_access()) {
      owner = owner || (principal(s.service) == a.principal &&
                        std::find(s.produces.begin(), s.produces.end(), topic) != s.produces.end());
    }
    CHECK(owner);
  }
  // dlq-retrier: every dlq.* in, every retry.* out, its transactional id (made by hand).
  const auto retrier = principal("dlq-retrier");
  CHECK(has(acls, retrier, AclOperation::read, "pfx.dlq."));
  CHECK(has(acls, retrier, AclOperation::write, "pfx.retry."));
  const auto txn = std::find_if(acls.begin(), acls.end(),
                                [](const Acl& a) { return a.resource == AclResource::transactional_id; });
  REQUIRE(txn != acls.end());
  CHECK_FALSE(Admin::can_create(*txn));
  CHECK(to_string(*txn) == "User:paypipe-dlq-retrier ALLOW WRITE TRANSACTIONAL_ID(PREFIXED) pfx.dlq-retrier-");
}

TEST_CASE("under a naming, every binding names the broker's topics and groups") {
  const auto acls = all_acls(principal, prefixed("pfx.", naming_profile(spring_profile)), consumers);
  const auto pay = principal("payment-api"), notify = principal("notification-sender");
  CHECK(has(acls, pay, AclOperation::write, "pfx.payment.success"));
  CHECK_FALSE(has(acls, pay, AclOperation::write, "pfx.payment.completed"));
  CHECK(has(acls, notify, AclOperation::read, "pfx.payment.success"));
  CHECK(has(acls, notify, AclOperation::read, "pfx.payment-notification"));  // its group
  CHECK(has(acls, notify, AclOperation::read, "pfx.payment-notification.RETRY"));
  CHECK(has(acls, notify, AclOperation::write, "pfx.payment-notification.DLQ"));
  CHECK_FALSE(has(acls, notify, AclOperation::read, "pfx.notification-sender"));
  // dlq-retrier: "%s.DLQ" has no fixed beginning, so each group's topics by name, and no
  // prefixed binding that would also cover the Spring services' own <topic>.DLQ.
  const auto retrier = principal("dlq-retrier");
  CHECK(has(acls, retrier, AclOperation::read, "pfx.ranking-update-group.DLQ"));
  CHECK(has(acls, retrier, AclOperation::write, "pfx.ranking-update-group.RETRY"));
  CHECK(has(acls, retrier, AclOperation::read, "pfx.dlq-retry-group"));
  CHECK(std::none_of(acls.begin(), acls.end(), [&](const Acl& a) {
    return a.resource == AclResource::topic && a.pattern == AclPattern::prefixed;
  }));
  for (const auto& a : acls) {
    INFO(to_string(a));
    CHECK(a.name.find("dlq.") == std::string::npos);
    CHECK(a.name.find("retry.") == std::string::npos);
  }
}

TEST_CASE("a new consumer of an existing topic needs no edit of the catalogue") {
  // An e-mail on payment success: a daemon of its own that declares its group and topic.
  auto with_mailer = consumers;
  with_mailer.push_back({"payment-mailer", {"payment.completed"}});
  const auto acls = all_acls(principal, prefixed("pfx.", naming_profile(spring_profile)), with_mailer);
  const auto mailer = principal("payment-mailer");
  CHECK(has(acls, mailer, AclOperation::read, "pfx.payment.success"));
  CHECK(has(acls, mailer, AclOperation::read, "pfx.payment-mailer"));  // its group
  CHECK(has(acls, mailer, AclOperation::read, "pfx.payment-mailer.RETRY"));
  CHECK(has(acls, mailer, AclOperation::write, "pfx.payment-mailer.DLQ"));
  CHECK(has(acls, mailer, AclOperation::idempotent_write, "kafka-cluster"));
  CHECK_FALSE(has(acls, mailer, AclOperation::write, "pfx.payment.success"));
}

TEST_CASE("a consumer group from configuration gets its principal's bindings, and dlq-retrier its dead letters") {
  // PAYPIPE_EXTRA_CONSUMER_GROUPS="email-sender=payment.completed", under the spring names:
  // no list in the code names it.
  NamingOverrides overrides;
  overrides.profile = spring_profile;
  overrides.extra_groups = {{"email-sender", "payment.completed"}};
  auto naming = make_naming(overrides);
  REQUIRE(naming.ok());
  const auto acls = all_acls(principal, prefixed("pfx.", *naming), consumers);
  const auto mailer = principal("email-sender");
  CHECK(has(acls, mailer, AclOperation::read, "pfx.payment.success"));
  CHECK(has(acls, mailer, AclOperation::read, "pfx.email-sender"));  // its group
  CHECK(has(acls, mailer, AclOperation::read, "pfx.email-sender.RETRY"));
  CHECK(has(acls, mailer, AclOperation::write, "pfx.email-sender.DLQ"));
  CHECK(has(acls, mailer, AclOperation::idempotent_write, "kafka-cluster"));
  CHECK_FALSE(has(acls, mailer, AclOperation::write, "pfx.payment.success"));
  CHECK_FALSE(has(acls, mailer, AclOperation::read, "pfx.payment.failed"));
  // "%s.DLQ" has no fixed beginning: dlq-retrier's bindings name the group's topics.
  const auto retrier = principal("dlq-retrier");
  CHECK(has(acls, retrier, AclOperation::read, "pfx.email-sender.DLQ"));
  CHECK(has(acls, retrier, AclOperation::write, "pfx.email-sender.RETRY"));
  // Declared by a caller as well (its own configuration): its bindings once.
  auto declared = consumers;
  declared.push_back({"email-sender", {"payment.completed"}});
  CHECK(all_acls(principal, prefixed("pfx.", *naming), declared).size() == acls.size());
}

TEST_CASE("a daemon with live updates reads its own events from their end, under tail- group ids") {
  const std::vector<ConsumerAccess> tailing = {{"order-processor", {"payment.completed"}, {"order.completed"}}};
  const auto acls = all_acls(principal, prefixed("pfx.", naming_profile(spring_profile)), tailing);
  const auto orders = principal("order-processor");
  CHECK(has(acls, orders, AclOperation::read, "pfx.order.completed"));
  CHECK(has(acls, orders, AclOperation::read, "pfx.tail-"));
  CHECK(has(acls, orders, AclOperation::write, "pfx.order.completed"));  // its owner, as before
  CHECK_FALSE(has(acls, principal("payment-api"), AclOperation::read, "pfx.tail-"));
}
