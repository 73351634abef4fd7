#include "events/access.hpp"

#include <algorithm>
#include <set>

#include "events/admin.hpp"
#include "events/dead_letter.hpp"

namespace paypipe::events {

std::vector<ServiceAccess> service_access() {
  return {
      {"payment-api", {"payment.completed", "payment.failed", "payment.refunded"}},
      {"order-processor",
       {"order.created", "order.completed", "order.cancelled", "order.refunded", "product.sold-out",
        "payment.refund-requested"}},
      // coupon.requested: written by its HTTP API, read by its own consumer.
      {"coupon-issuer", {"coupon.requested", "coupon.issued", "coupon.rejected"}},
      {"notification-sender", {}},
      {"ranking-updater", {}},
      {"data-platform-forwarder", {}},
      {"dlq-retrier", {}, false},
  };
}

namespace {

void add(std::vector<Acl>& out, AclResource resource, AclPattern pattern, const std::string& name,
         std::initializer_list<AclOperation> operations, const std::string& principal) {
  for (const auto op : operations) out.push_back(Acl{resource, pattern, name, op, principal});
}

}  // namespace

std::vector<Acl> all_acls(const std::function<std::string(const std::string&)>& principal_of,
                          const KafkaOptions& options, const std::vector<ConsumerAccess>& consumers) {
  using enum AclOperation;
  const auto& prefix = options.topic_prefix;
  std::vector<Acl> acls;
  // A consumer runtime reads its group's retry topic and writes its dead letters.
  const auto add_runtime = [&](const std::string& group, const std::string& principal) {
    add(acls, AclResource::topic, AclPattern::literal, options.topic(retry_topic(group)), {read, describe}, principal);
    add(acls, AclResource::topic, AclPattern::literal, options.topic(dlq_topic(group)),
        {write, describe, describe_configs}, principal);
    add(acls, AclResource::group, AclPattern::literal, options.group(group), {read, describe}, principal);
  };
  // Idempotent producers (enable.idempotence): brokers before 2.8 ask for this.
  const auto add_idempotence = [&](const std::string& principal) {
    add(acls, AclResource::cluster, AclPattern::literal, "kafka-cluster", {idempotent_write}, principal);
  };
  std::set<std::string> catalogued;
  for (const auto& s : service_access()) {
    catalogued.insert(s.service);
    const auto principal = principal_of(s.service);
    // DESCRIBE_CONFIGS: the start-up durability check reads min.insync.replicas of
    // what it writes.
    for (const auto& t : s.produces) {
      add(acls, AclResource::topic, AclPattern::literal, options.topic(t), {write, describe, describe_configs},
          principal);
    }
    if (s.consumer_runtime) add_runtime(s.service, principal);
    if (s.service == "dlq-retrier") {
      // The dlq and retry topics of every group, by name; with names of a fixed beginning
      // ("dlq.%s"), those of groups added later too, by prefix.
      for (const auto& group : consumer_groups(options.naming)) {
        add(acls, AclResource::topic, AclPattern::literal, options.topic(dlq_topic(group)),
            {read, describe, describe_configs}, principal);
        add(acls, AclResource::topic, AclPattern::literal, options.topic(retry_topic(group)),
            {write, describe, describe_configs}, principal);
      }
      const auto head = [](const std::string& format) { return format.substr(0, format.find("%s")); };
      if (const auto dlq = head(options.naming.dlq_format); !dlq.empty()) {
        add(acls, AclResource::topic, AclPattern::prefixed, prefix + dlq, {read, describe, describe_configs},
            principal);
      }
      if (const auto retry = head(options.naming.retry_format); !retry.empty()) {
        add(acls, AclResource::topic, AclPattern::prefixed, prefix + retry, {write, describe, describe_configs},
            principal);
      }
      add(acls, AclResource::group, AclPattern::literal, options.group("dlq-retrier"), {read, describe}, principal);
      // PAYPIPE_RETRIER_TRANSACTIONAL_ID's default: <prefix>dlq-retrier-<n>.
      add(acls, AclResource::transactional_id, AclPattern::prefixed, prefix + "dlq-retrier-", {write, describe},
          principal);
    }
    if (!s.produces.empty() || s.consumer_runtime || s.service == "dlq-retrier") add_idempotence(principal);
  }
  // The consumer groups from configuration (PAYPIPE_EXTRA_CONSUMER_GROUPS) read like ours.
  auto readers = consumers;
  for (const auto& extra : options.naming.extra_groups) {
    // Not a structured binding: clang before 16 cannot capture one in the lambda.
    const auto& group = extra.first;
    const bool declared = std::any_of(readers.begin(), readers.end(), [&](const auto& c) { return c.group == group; });
    if (!declared) readers.push_back({group, extra.second});
  }
  for (const auto& c : readers) {
    const auto principal = principal_of(c.group);
    for (const auto& t : c.topics) {
      add(acls, AclResource::topic, AclPattern::literal, options.topic(t), {read, describe}, principal);
    }
    for (const auto& t : c.tailed) {
      add(acls, AclResource::topic, AclPattern::literal, options.topic(t), {read, describe}, principal);
    }
    if (!c.tailed.empty()) {
      add(acls, AclResource::group, AclPattern::prefixed, options.topic_prefix + "tail-", {read, describe}, principal);
    }
    // A daemon the catalogue does not know yet: its runtime's share as well.
    if (catalogued.insert(c.group).second) {
      add_runtime(c.group, principal);
      add_idempotence(principal);
    }
  }
  return acls;
}

std::string to_string(const Acl& acl) {
  static const char* resources[] = {"TOPIC", "GROUP", "TRANSACTIONAL_ID", "CLUSTER"};
  static const char* patterns[] = {"LITERAL", "PREFIXED"};
  static const char* operations[] = {"READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE"};
  return acl.principal + " ALLOW " + operations[static_cast<int>(acl.operation)] + " " +
         resources[static_cast<int>(acl.resource)] + "(" + patterns[static_cast<int>(acl.pattern)] + ") " + acl.name;
}

}  // namespace paypipe::events
