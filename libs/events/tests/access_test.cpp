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
  const auto known = consumer_groups();
  CHECK(groups == std::set<std::string>(known.begin(), known.end()));
}

TEST_CASE("a daemon writes only what it owns and reads only what it consumes") {
  const auto acls = all_acls(principal, "pfx.");
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
