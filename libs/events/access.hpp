#pragma once
// Who writes and reads which topic: what the Kafka ACLs come from (`paypipe-admin acls`,
// the Helm topics Job in the production profile). Each daemon has its own Kafka
// principal and gets exactly that: a daemon that does not own payment.completed cannot
// announce a payment that never happened.
//
// The catalogue here holds the owners (who writes each business topic); what a daemon
// reads comes from its own configuration (services/<name>/<name>/config.cpp:
// consumed_topics()), so a new consumer of a topic edits nothing here; a new consumer
// group (a daemon of its own) is configured (PAYPIPE_EXTRA_CONSUMER_GROUPS, naming.hpp).
// libs/events/tests/access_test.cpp checks the catalogue (every business topic has one
// owner, every consumer group is here); each service's config test its own lists.

#include <functional>
#include <string>
#include <vector>

#include "events/kafka.hpp"

namespace paypipe::events {

struct ServiceAccess {
  std::string service;                // also its logical consumer group
  std::vector<std::string> produces;  // business topics it writes (outbox relay or HTTP)
  bool consumer_runtime = true;       // reads retry.<service>, writes dlq.<service>
};

// What a daemon reads with its group, as its configuration declares it.
struct ConsumerAccess {
  std::string group;                // logical, also the daemon's name (its principal)
  std::vector<std::string> topics;  // logical business topics
  // Business topics read from their end without joining a group: the live updates' feed
  // (events::TailReader), whose group ids are "<prefix>tail-<uuid>".
  std::vector<std::string> tailed = {};
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

// The ALLOW bindings of every daemon in the catalogue, every consumer in `consumers` and
// every consumer group configured in `options.naming.extra_groups` (its principal named
// after the group, like ours), under `options`' names (PAYPIPE_TOPIC_PREFIX and the
// naming, events/naming.hpp) of topics, groups and transactional ids;
// `principal_of(service)` names its principal.
std::vector<Acl> all_acls(const std::function<std::string(const std::string&)>& principal_of,
                          const KafkaOptions& options, const std::vector<ConsumerAccess>& consumers);

// "User:x ALLOW WRITE TOPIC(LITERAL) payment.completed", for logs and `acls print`.
std::string to_string(const Acl& acl);

}  // namespace paypipe::events
