#pragma once
// Who writes and reads which topic: the one catalogue the Kafka ACLs come from
// (`paypipe-admin acls`, the Helm topics Job in the production profile). Each daemon
// has its own Kafka principal and gets exactly what this table says: a daemon that
// does not own payment.completed cannot announce a payment that never happened.
//
// The services' own topic lists (services/<name>/src/config.cpp: consumed_topics(),
// produced_topics()) must agree with it; tests/unit/access_test.cpp checks the parts
// the catalogue owns (every business topic has one owner, every consumer group is here).

#include <functional>
#include <string>
#include <vector>

namespace paypipe::events {

struct ServiceAccess {
  std::string service;                // also its consumer group (before any prefix)
  std::vector<std::string> produces;  // business topics it writes (outbox relay or HTTP)
  std::vector<std::string> consumes;  // business topics it reads with its group
  bool consumer_runtime = true;       // reads retry.<service>, writes dlq.<service>
};

// The seven daemons. dlq-retrier is special: it reads every dlq.* (group dlq-retrier),
// writes every retry.*, and commits through a transactional id "dlq-retrier-<host>".
std::vector<ServiceAccess> service_access();

enum class AclResource { topic, group, transactional_id, cluster };
enum class AclPattern { literal, prefixed };
enum class AclOperation { read, write, describe, describe_configs, idempotent_write };

struct Acl {
  AclResource resource = AclResource::topic;
  AclPattern pattern = AclPattern::literal;
  std::string name;  // full name, prefix included ("kafka-cluster" for the cluster)
  AclOperation operation = AclOperation::read;
  std::string principal;  // "User:paypipe-payment-api"
};

// The ALLOW bindings of every daemon, `topic_prefix` (PAYPIPE_TOPIC_PREFIX) applied to
// topic, group and transactional id names; `principal_of(service)` names its principal.
std::vector<Acl> all_acls(const std::function<std::string(const std::string&)>& principal_of,
                          const std::string& topic_prefix);

// "User:x ALLOW WRITE TOPIC(LITERAL) payment.completed", for logs and `acls print`.
std::string to_string(const Acl& acl);

}  // namespace paypipe::events
