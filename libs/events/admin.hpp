#pragma once
// Topic administration through librdkafka's Admin API: what `paypipe-admin topics`
// (and the Helm pre-install hook) runs, and what the start-up durability check reads.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
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

// A consumer group as the broker sees it: its members and, per partition it has a
// committed offset on, how far behind the end of the partition that offset is.
struct GroupMember {
  std::string client_id;
  std::string host;
  std::vector<std::string> assignment;  // "topic[partition]"
};

struct PartitionLag {
  std::string topic;
  int partition = 0;
  std::int64_t committed = -1;  // the next offset the group will read
  std::int64_t low = 0;         // the partition's first offset still kept
  std::int64_t high = 0;        // its high watermark (the next offset to be written)
  std::int64_t lag() const { return committed < 0 ? high - low : high - committed; }
};

struct GroupDescription {
  std::string group;
  std::string state;  // Stable, Empty, PreparingRebalance, ...
  std::vector<GroupMember> members;
  std::vector<PartitionLag> partitions;  // sorted by topic, partition
};

// Where `reset_group_offsets` moves a group's committed offsets.
struct OffsetReset {
  enum class To { earliest, latest, time, offset };
  To to = To::earliest;
  std::int64_t timestamp_ms = 0;  // To::time: the first record at or after it (the end if none)
  std::int64_t offset = 0;        // To::offset, with `partition`
  int partition = -1;             // To::offset: this partition only
  std::optional<std::string> topic;  // only this topic's partitions (required with To::offset)
};

struct CommittedOffset {
  std::string topic;
  int partition = 0;
  std::int64_t before = -1;
  std::int64_t after = -1;
};

// The catalogue of the system's topics: every business topic, and retry./dlq. per group.
std::vector<std::string> business_topics();
// Our daemons' consumer groups (dlq-retrier aside): only consumer_groups() reads it.
std::vector<std::string> builtin_consumer_groups();
// Every consumer group of the system: ours, then those configured
// (PAYPIPE_EXTRA_CONSUMER_GROUPS, naming.extra_groups). Whatever goes over the groups
// (topics, ACLs, dlq-retrier's subscription and durability check) goes over these.
std::vector<std::string> consumer_groups(const Naming& naming);
// business_topics() plus retry.<g> and dlq.<g> for every group, before any prefix.
std::vector<std::string> all_topics(const Naming& naming);

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

  // `group` is the full group id (prefix included). not_found when the broker knows
  // nothing of it (no members, no committed offsets).
  core::Result<GroupDescription> describe_group(const std::string& group, std::chrono::milliseconds timeout);
  // Moves the committed offsets of the partitions the group has committed on (narrowed
  // by reset.topic; with To::offset, that topic's partition, committed or not). Refuses
  // (conflict, "group-has-members") while the group has members: a running consumer
  // would overwrite the new offsets with its own. Returns each partition's move.
  core::Result<std::vector<CommittedOffset>> reset_group_offsets(const std::string& group, const OffsetReset& reset,
                                                                 std::chrono::milliseconds timeout);

 private:
  Admin() = default;
  HandlePtr handle_;
  QueuePtr queue_;
};

}  // namespace paypipe::events
