#include "events/access.hpp"

#include "events/dead_letter.hpp"

namespace paypipe::events {

std::vector<ServiceAccess> service_access() {
  return {
      {"payment-api",
       {"payment.completed", "payment.failed", "payment.refunded"},
       {"order.created", "order.cancelled", "payment.refund-requested"}},
      {"order-processor",
       {"order.created", "order.completed", "order.cancelled", "order.refunded", "product.sold-out",
        "payment.refund-requested"},
       {"payment.completed", "payment.failed", "payment.refunded"}},
      // coupon.requested: written by its HTTP API, read by its own consumer.
      {"coupon-issuer", {"coupon.requested", "coupon.issued", "coupon.rejected"}, {"coupon.requested"}},
      {"notification-sender",
       {},
       {"payment.completed", "payment.failed", "order.cancelled", "order.refunded", "coupon.issued",
        "coupon.rejected"}},
      {"ranking-updater", {}, {"order.completed", "order.refunded", "product.sold-out"}},
      {"data-platform-forwarder", {}, {"payment.completed", "order.completed", "order.refunded"}},
      {"dlq-retrier", {}, {}, false},
  };
}

namespace {

void add(std::vector<Acl>& out, AclResource resource, AclPattern pattern, const std::string& name,
         std::initializer_list<AclOperation> operations, const std::string& principal) {
  for (const auto op : operations) out.push_back(Acl{resource, pattern, name, op, principal});
}

}  // namespace

std::vector<Acl> all_acls(const std::function<std::string(const std::string&)>& principal_of,
                          const std::string& prefix) {
  using enum AclOperation;
  std::vector<Acl> acls;
  for (const auto& s : service_access()) {
    const auto principal = principal_of(s.service);
    // DESCRIBE_CONFIGS: the start-up durability check reads min.insync.replicas of
    // what it writes.
    for (const auto& t : s.produces) {
      add(acls, AclResource::topic, AclPattern::literal, prefix + t, {write, describe, describe_configs}, principal);
    }
    for (const auto& t : s.consumes)
      add(acls, AclResource::topic, AclPattern::literal, prefix + t, {read, describe}, principal);
    if (s.consumer_runtime) {
      add(acls, AclResource::topic, AclPattern::literal, prefix + retry_topic(s.service), {read, describe}, principal);
      add(acls, AclResource::topic, AclPattern::literal, prefix + dlq_topic(s.service),
          {write, describe, describe_configs}, principal);
      add(acls, AclResource::group, AclPattern::literal, prefix + s.service, {read, describe}, principal);
    }
    if (s.service == "dlq-retrier") {
      add(acls, AclResource::topic, AclPattern::prefixed, prefix + "dlq.", {read, describe, describe_configs},
          principal);
      add(acls, AclResource::topic, AclPattern::prefixed, prefix + "retry.", {write, describe, describe_configs},
          principal);
      add(acls, AclResource::group, AclPattern::literal, prefix + "dlq-retrier", {read, describe}, principal);
      // PAYPIPE_RETRIER_TRANSACTIONAL_ID's default: <prefix>dlq-retrier-<hostname>.
      add(acls, AclResource::transactional_id, AclPattern::prefixed, prefix + "dlq-retrier-", {write, describe},
          principal);
    }
    // Idempotent producers (enable.idempotence): brokers before 2.8 ask for this.
    if (!s.produces.empty() || s.consumer_runtime || s.service == "dlq-retrier") {
      add(acls, AclResource::cluster, AclPattern::literal, "kafka-cluster", {idempotent_write}, principal);
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
