#pragma once
// Topic administration through librdkafka's Admin API: what `paypipe-admin topics`
// (and the Helm pre-install hook) runs, and what the start-up durability check reads.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "events/access.hpp"
#include "events/kafka.hpp"

namespace paypipe::events {

struct TopicSpec {
  std::string name;  // full name (prefix included)
  int partitions = 3;
  int replication = 1;
  std::map<std::string, std::string> configs;  // e.g. min.insync.replicas
};

struct TopicInfo {
  std::string name;
  int partitions = 0;
  int replication = 0;   // replicas of partition 0
  int min_insync = 0;    // min.insync.replicas (0 if unknown)
};

// The catalogue of the system's topics: every business topic, and retry./dlq. per group.
std::vector<std::string> business_topics();
std::vector<std::string> consumer_groups();
// business_topics() plus retry.<g> and dlq.<g> for every group, before any prefix.
std::vector<std::string> all_topics();

class Admin {
 public:
  static core::Result<std::unique_ptr<Admin>> create(const KafkaOptions& options);
  ~Admin();

  // Creates the topics that do not exist; returns the names created. Existing topics
  // are left as they are.
  core::Result<std::vector<std::string>> ensure_topics(const std::vector<TopicSpec>& topics,
                                                       std::chrono::milliseconds timeout);
  core::Status delete_topics(const std::vector<std::string>& names, std::chrono::milliseconds timeout);
  core::Result<std::vector<TopicInfo>> describe(const std::vector<std::string>& names,
                                                std::chrono::milliseconds timeout);
  core::Result<std::vector<std::string>> list_topics(std::chrono::milliseconds timeout);
  // Brokers in the cluster metadata.
  core::Result<int> broker_count(std::chrono::milliseconds timeout);
  // Creates ALLOW bindings for any host (creating one that exists is a no-op on the
  // broker). Needs an authorizer on the broker and ALTER on the cluster (a super user).
  // librdkafka 2.0.2 knows no TRANSACTIONAL_ID resource: such a binding is refused
  // (invalid_input) before anything is sent; filter them out with can_create().
  core::Status create_acls(const std::vector<Acl>& acls, std::chrono::milliseconds timeout);
  static bool can_create(const Acl& acl) { return acl.resource != AclResource::transactional_id; }

 private:
  Admin() = default;
  HandlePtr handle_;
  QueuePtr queue_;
};

}  // namespace paypipe::events
