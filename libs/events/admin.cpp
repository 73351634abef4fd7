#include "events/admin.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "events/dead_letter.hpp"
#include "events/producer.hpp"

namespace paypipe::events {

std::vector<std::string> business_topics() {
  return {"order.created",     "order.completed", "order.cancelled",          "order.refunded",
          "payment.completed", "payment.failed",  "payment.refund-requested", "payment.refunded",
          "coupon.requested",  "coupon.issued",   "coupon.rejected",          "product.sold-out"};
}

std::vector<std::string> builtin_consumer_groups() {
  return {"payment-api",         "order-processor", "coupon-issuer",
          "notification-sender", "ranking-updater", "data-platform-forwarder"};
}

std::vector<std::string> consumer_groups(const Naming& naming) {
  auto groups = builtin_consumer_groups();
  for (const auto& [group, topics] : naming.extra_groups) groups.push_back(group);
  return groups;
}

std::vector<std::string> all_topics(const Naming& naming) {
  auto topics = business_topics();
  for (const auto& group : consumer_groups(naming)) {
    topics.push_back(retry_topic(group));
    topics.push_back(dlq_topic(group));
  }
  return topics;
}

namespace {

using AdminOptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t, decltype(&rd_kafka_AdminOptions_destroy)>;

AdminOptionsPtr admin_options(rd_kafka_t* handle, rd_kafka_admin_op_t op, std::chrono::milliseconds timeout) {
  AdminOptionsPtr options(rd_kafka_AdminOptions_new(handle, op), &rd_kafka_AdminOptions_destroy);
  char error[256];
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()), error, sizeof error);
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), static_cast<int>(timeout.count()), error, sizeof error);
  return options;
}

core::Result<EventPtr> wait_result(rd_kafka_queue_t* queue, rd_kafka_event_type_t type,
                                   std::chrono::milliseconds timeout) {
  EventPtr event(rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 2000));
  if (!event)
    return core::make_error(core::ErrorCategory::unavailable, "kafka-admin-timeout", "admin request timed out");
  if (rd_kafka_event_type(event.get()) != type) {
    return core::make_error(core::ErrorCategory::internal, "kafka-admin", "unexpected admin result");
  }
  if (rd_kafka_event_error(event.get())) {
    return kafka_error(rd_kafka_event_error(event.get()), rd_kafka_event_error_string(event.get()));
  }
  return event;
}

}  // namespace

core::Result<std::unique_ptr<Admin>> Admin::create(const KafkaOptions& options) {
  std::unique_ptr<Admin> admin(new Admin());
  auto conf = make_conf(options, {}, {});
  if (!conf) return conf.error();
  auto handle = make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "the admin client");
  if (!handle) return handle.error();
  admin->handle_ = std::move(*handle);
  admin->queue_.reset(rd_kafka_queue_new(admin->handle_.get()));
  return admin;
}

Admin::~Admin() {
  queue_.reset();
  handle_.reset();
}

core::Result<std::vector<std::string>> Admin::ensure_topics(const std::vector<TopicSpec>& topics,
                                                            std::chrono::milliseconds timeout) {
  if (topics.empty()) return std::vector<std::string>{};
  std::vector<rd_kafka_NewTopic_t*> requests;
  char error[512];
  for (const auto& spec : topics) {
    auto* topic = rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions, spec.replication, error, sizeof error);
    if (topic == nullptr) {
      for (auto* t : requests) rd_kafka_NewTopic_destroy(t);
      return core::make_error(core::ErrorCategory::invalid_input, "kafka-admin", spec.name + ": " + error);
    }
    for (const auto& [key, value] : spec.configs) rd_kafka_NewTopic_set_config(topic, key.c_str(), value.c_str());
    requests.push_back(topic);
  }
  auto options = admin_options(handle_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
  rd_kafka_CreateTopics(handle_.get(), requests.data(), requests.size(), options.get(), queue_.get());
  rd_kafka_NewTopic_destroy_array(requests.data(), requests.size());
  auto event = wait_result(queue_.get(), RD_KAFKA_EVENT_CREATETOPICS_RESULT, timeout);
  if (!event) return event.error();
  const auto* result = rd_kafka_event_CreateTopics_result(event->get());
  size_t count = 0;
  const auto** results = rd_kafka_CreateTopics_result_topics(result, &count);
  std::vector<std::string> created;
  std::string failures;
  for (size_t i = 0; i < count; ++i) {
    const auto err = rd_kafka_topic_result_error(results[i]);
    const std::string name = rd_kafka_topic_result_name(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      created.push_back(name);
    } else if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* why = rd_kafka_topic_result_error_string(results[i]);
      failures += (failures.empty() ? "" : "; ") + name + ": " + (why ? why : rd_kafka_err2str(err));
    }
  }
  if (!failures.empty()) {
    return core::make_error(core::ErrorCategory::unavailable, "kafka-create-topics", failures);
  }
  return created;
}

core::Status Admin::delete_topics(const std::vector<std::string>& names, std::chrono::milliseconds timeout) {
  std::vector<rd_kafka_DeleteTopic_t*> requests;
  for (const auto& name : names) requests.push_back(rd_kafka_DeleteTopic_new(name.c_str()));
  auto options = admin_options(handle_.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout);
  rd_kafka_DeleteTopics(handle_.get(), requests.data(), requests.size(), options.get(), queue_.get());
  rd_kafka_DeleteTopic_destroy_array(requests.data(), requests.size());
  auto event = wait_result(queue_.get(), RD_KAFKA_EVENT_DELETETOPICS_RESULT, timeout);
  if (!event) return event.error();
  return {};
}

core::Result<std::vector<std::string>> Admin::list_topics(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err = rd_kafka_metadata(handle_.get(), 1, nullptr, &metadata, static_cast<int>(timeout.count()));
  if (err) return kafka_error(err, "metadata");
  std::vector<std::string> names;
  for (int i = 0; i < metadata->topic_cnt; ++i) names.emplace_back(metadata->topics[i].topic);
  rd_kafka_metadata_destroy(metadata);
  std::sort(names.begin(), names.end());
  return names;
}

core::Result<int> Admin::broker_count(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err = rd_kafka_metadata(handle_.get(), 0, nullptr, &metadata, static_cast<int>(timeout.count()));
  if (err) return kafka_error(err, "metadata");
  const int count = metadata->broker_cnt;
  rd_kafka_metadata_destroy(metadata);
  return count;
}

core::Result<std::vector<TopicInfo>> Admin::describe(const std::vector<std::string>& names,
                                                     std::chrono::milliseconds timeout) {
  std::vector<TopicInfo> infos;
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err = rd_kafka_metadata(handle_.get(), 1, nullptr, &metadata, static_cast<int>(timeout.count()));
  if (err) return kafka_error(err, "metadata");
  const std::set<std::string> wanted(names.begin(), names.end());
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const auto& topic = metadata->topics[i];
    if (!wanted.count(topic.topic) || topic.err) continue;
    TopicInfo info;
    info.name = topic.topic;
    info.partitions = topic.partition_cnt;
    info.replication = topic.partition_cnt > 0 ? topic.partitions[0].replica_cnt : 0;
    infos.push_back(info);
  }
  rd_kafka_metadata_destroy(metadata);
  if (infos.empty()) return infos;

  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const auto& info : infos)
    resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, info.name.c_str()));
  auto options = admin_options(handle_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  rd_kafka_DescribeConfigs(handle_.get(), resources.data(), resources.size(), options.get(), queue_.get());
  rd_kafka_ConfigResource_destroy_array(resources.data(), resources.size());
  auto event = wait_result(queue_.get(), RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, timeout);
  if (!event) return event.error();
  const auto* result = rd_kafka_event_DescribeConfigs_result(event->get());
  size_t count = 0;
  const auto** described = rd_kafka_DescribeConfigs_result_resources(result, &count);
  for (size_t i = 0; i < count; ++i) {
    const std::string name = rd_kafka_ConfigResource_name(described[i]);
    size_t entries = 0;
    const auto** configs = rd_kafka_ConfigResource_configs(described[i], &entries);
    for (size_t j = 0; j < entries; ++j) {
      if (std::string_view(rd_kafka_ConfigEntry_name(configs[j])) != "min.insync.replicas") continue;
      const char* value = rd_kafka_ConfigEntry_value(configs[j]);
      for (auto& info : infos) {
        if (info.name == name && value) info.min_insync = std::atoi(value);
      }
    }
  }
  return infos;
}

core::Status Admin::create_acls(const std::vector<Acl>& acls, std::chrono::milliseconds timeout) {
  if (acls.empty()) return {};
  std::vector<rd_kafka_AclBinding_t*> bindings;
  char error[512];
  const auto destroy = [&] { rd_kafka_AclBinding_destroy_array(bindings.data(), bindings.size()); };
  for (const auto& acl : acls) {
    if (!can_create(acl)) {
      destroy();
      return core::make_error(core::ErrorCategory::invalid_input, "kafka-acl",
                              to_string(acl) + ": librdkafka's Admin API has no TRANSACTIONAL_ID resource");
    }
    // Kafka's CLUSTER resource is librdkafka's BROKER (protocol value 4).
    const auto restype = acl.resource == AclResource::topic   ? RD_KAFKA_RESOURCE_TOPIC
                         : acl.resource == AclResource::group ? RD_KAFKA_RESOURCE_GROUP
                                                              : RD_KAFKA_RESOURCE_BROKER;
    const auto pattern = acl.pattern == AclPattern::prefixed ? RD_KAFKA_RESOURCE_PATTERN_PREFIXED
                                                             : RD_KAFKA_RESOURCE_PATTERN_LITERAL;
    static const rd_kafka_AclOperation_t operations[] = {
        RD_KAFKA_ACL_OPERATION_READ, RD_KAFKA_ACL_OPERATION_WRITE, RD_KAFKA_ACL_OPERATION_DESCRIBE,
        RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS, RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE};
    auto* binding = rd_kafka_AclBinding_new(restype, acl.name.c_str(), pattern, acl.principal.c_str(), "*",
                                            operations[static_cast<int>(acl.operation)],
                                            RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, error, sizeof error);
    if (binding == nullptr) {
      destroy();
      return core::make_error(core::ErrorCategory::invalid_input, "kafka-acl", to_string(acl) + ": " + error);
    }
    bindings.push_back(binding);
  }
  auto options = admin_options(handle_.get(), RD_KAFKA_ADMIN_OP_CREATEACLS, timeout);
  rd_kafka_CreateAcls(handle_.get(), bindings.data(), bindings.size(), options.get(), queue_.get());
  destroy();
  auto event = wait_result(queue_.get(), RD_KAFKA_EVENT_CREATEACLS_RESULT, timeout);
  if (!event) return event.error();
  const auto* result = rd_kafka_event_CreateAcls_result(event->get());
  size_t count = 0;
  const auto** results = rd_kafka_CreateAcls_result_acls(result, &count);
  std::string failures;
  for (size_t i = 0; i < count; ++i) {
    if (const auto* e = rd_kafka_acl_result_error(results[i]); e != nullptr) {
      failures += (failures.empty() ? "" : "; ") + (i < acls.size() ? to_string(acls[i]) : std::string("?")) + ": " +
                  rd_kafka_error_string(e);
    }
  }
  if (!failures.empty()) return core::make_error(core::ErrorCategory::unavailable, "kafka-create-acls", failures);
  return {};
}

namespace {

core::Error unknown_group(const std::string& group) {
  return core::make_error(core::ErrorCategory::not_found, "unknown-group", "the broker knows no group " + group);
}

// The first error of a group result or of one of its partitions, as text.
std::string group_result_failures(const rd_kafka_group_result_t* result) {
  if (const auto* e = rd_kafka_group_result_error(result)) return rd_kafka_error_string(e);
  std::string failures;
  if (const auto* list = rd_kafka_group_result_partitions(result)) {
    for (int i = 0; i < list->cnt; ++i) {
      const auto& p = list->elems[i];
      if (p.err) {
        failures += (failures.empty() ? "" : "; ") + std::string(p.topic) + "[" + std::to_string(p.partition) +
                    "]: " + rd_kafka_err2str(p.err);
      }
    }
  }
  return failures;
}

}  // namespace

core::Result<GroupDescription> Admin::describe_group(const std::string& group, std::chrono::milliseconds timeout) {
  GroupDescription description;
  description.group = group;
  {
    const char* groups[] = {group.c_str()};
    auto options = admin_options(handle_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout);
    rd_kafka_DescribeConsumerGroups(handle_.get(), groups, 1, options.get(), queue_.get());
    auto event = wait_result(queue_.get(), RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, timeout);
    if (!event) return event.error();
    size_t count = 0;
    const auto** described = rd_kafka_DescribeConsumerGroups_result_groups(
        rd_kafka_event_DescribeConsumerGroups_result(event->get()), &count);
    if (count != 1) return core::make_error(core::ErrorCategory::internal, "kafka-admin", "no description of " + group);
    if (const auto* e = rd_kafka_ConsumerGroupDescription_error(described[0])) {
      if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) return unknown_group(group);
      return core::make_error(core::ErrorCategory::unavailable, "kafka-describe-group",
                              group + ": " + rd_kafka_error_string(e));
    }
    description.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(described[0]));
    const auto members = rd_kafka_ConsumerGroupDescription_member_count(described[0]);
    for (size_t i = 0; i < members; ++i) {
      const auto* m = rd_kafka_ConsumerGroupDescription_member(described[0], i);
      GroupMember member{rd_kafka_MemberDescription_client_id(m), rd_kafka_MemberDescription_host(m), {}};
      if (const auto* list = rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m))) {
        for (int j = 0; j < list->cnt; ++j) {
          member.assignment.push_back(std::string(list->elems[j].topic) + "[" +
                                      std::to_string(list->elems[j].partition) + "]");
        }
      }
      description.members.push_back(std::move(member));
    }
  }
  {
    auto* request = rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);  // every committed partition
    auto options = admin_options(handle_.get(), RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout);
    rd_kafka_ListConsumerGroupOffsets(handle_.get(), &request, 1, options.get(), queue_.get());
    rd_kafka_ListConsumerGroupOffsets_destroy(request);
    auto event = wait_result(queue_.get(), RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, timeout);
    if (!event) return event.error();
    size_t count = 0;
    const auto** groups = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(event->get()), &count);
    if (count != 1) return core::make_error(core::ErrorCategory::internal, "kafka-admin", "no offsets of " + group);
    if (auto failures = group_result_failures(groups[0]); !failures.empty()) {
      return core::make_error(core::ErrorCategory::unavailable, "kafka-group-offsets", group + ": " + failures);
    }
    const auto* list = rd_kafka_group_result_partitions(groups[0]);
    for (int i = 0; list != nullptr && i < list->cnt; ++i) {
      PartitionLag lag;
      lag.topic = list->elems[i].topic;
      lag.partition = list->elems[i].partition;
      lag.committed = list->elems[i].offset;  // negative: nothing committed
      const auto err = rd_kafka_query_watermark_offsets(handle_.get(), lag.topic.c_str(), lag.partition, &lag.low,
                                                        &lag.high, static_cast<int>(timeout.count()));
      if (err) return kafka_error(err, "watermarks of " + lag.topic + "[" + std::to_string(lag.partition) + "]");
      description.partitions.push_back(std::move(lag));
    }
  }
  std::sort(description.partitions.begin(), description.partitions.end(),
            [](const PartitionLag& a, const PartitionLag& b) {
              return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
            });
  if (description.members.empty() && description.partitions.empty() && description.state == "Dead") {
    return unknown_group(group);
  }
  return description;
}

core::Result<std::vector<CommittedOffset>> Admin::reset_group_offsets(const std::string& group,
                                                                      const OffsetReset& reset,
                                                                      std::chrono::milliseconds timeout) {
  if (reset.to == OffsetReset::To::offset && (!reset.topic || reset.partition < 0 || reset.offset < 0)) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-reset",
                            "an exact offset needs a topic, a partition and an offset >= 0");
  }
  auto described = describe_group(group, timeout);
  if (!described && described.error().category != core::ErrorCategory::not_found) return described.error();
  if (described && !described->members.empty()) {
    return core::make_error(core::ErrorCategory::conflict, "group-has-members",
                            group + " has " + std::to_string(described->members.size()) +
                                " member(s): stop its consumers first, or they overwrite the new offsets");
  }
  std::vector<CommittedOffset> moves;
  if (reset.to == OffsetReset::To::offset) {
    CommittedOffset move{*reset.topic, reset.partition, -1, reset.offset};
    for (const auto& p : described ? described->partitions : std::vector<PartitionLag>{}) {
      if (p.topic == move.topic && p.partition == move.partition) move.before = p.committed;
    }
    moves.push_back(move);
  } else if (described) {
    for (const auto& p : described->partitions) {
      if (!reset.topic || *reset.topic == p.topic) moves.push_back({p.topic, p.partition, p.committed, -1});
    }
  }
  if (moves.empty()) {
    return core::make_error(
        core::ErrorCategory::not_found, "no-committed-offsets",
        group + " has no committed offsets" + (reset.topic ? " on " + *reset.topic : std::string()));
  }

  if (reset.to == OffsetReset::To::time) {
    PartitionListPtr query(rd_kafka_topic_partition_list_new(static_cast<int>(moves.size())));
    for (const auto& m : moves) {
      rd_kafka_topic_partition_list_add(query.get(), m.topic.c_str(), m.partition)->offset = reset.timestamp_ms;
    }
    if (const auto err = rd_kafka_offsets_for_times(handle_.get(), query.get(), static_cast<int>(timeout.count()))) {
      return kafka_error(err, "offsets for the time");
    }
    for (int i = 0; i < query->cnt; ++i) moves[static_cast<size_t>(i)].after = query->elems[i].offset;
  }
  for (auto& m : moves) {
    if (reset.to == OffsetReset::To::offset) continue;
    std::int64_t low = 0, high = 0;
    const auto err = rd_kafka_query_watermark_offsets(handle_.get(), m.topic.c_str(), m.partition, &low, &high,
                                                      static_cast<int>(timeout.count()));
    if (err) return kafka_error(err, "watermarks of " + m.topic + "[" + std::to_string(m.partition) + "]");
    if (reset.to == OffsetReset::To::earliest) m.after = low;
    if (reset.to == OffsetReset::To::latest) m.after = high;
    if (reset.to == OffsetReset::To::time && m.after < 0) m.after = high;  // nothing at or after it: the end
  }

  PartitionListPtr offsets(rd_kafka_topic_partition_list_new(static_cast<int>(moves.size())));
  for (const auto& m : moves)
    rd_kafka_topic_partition_list_add(offsets.get(), m.topic.c_str(), m.partition)->offset = m.after;
  auto* request = rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), offsets.get());
  auto options = admin_options(handle_.get(), RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, timeout);
  rd_kafka_AlterConsumerGroupOffsets(handle_.get(), &request, 1, options.get(), queue_.get());
  rd_kafka_AlterConsumerGroupOffsets_destroy(request);
  auto event = wait_result(queue_.get(), RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT, timeout);
  if (!event) return event.error();
  size_t count = 0;
  const auto** groups = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(event->get()), &count);
  if (count != 1) return core::make_error(core::ErrorCategory::internal, "kafka-admin", "no answer for " + group);
  if (auto failures = group_result_failures(groups[0]); !failures.empty()) {
    // UNKNOWN_MEMBER_ID / REBALANCE_IN_PROGRESS: a consumer joined meanwhile.
    return core::make_error(core::ErrorCategory::conflict, "kafka-reset-offsets", group + ": " + failures);
  }
  return moves;
}

}  // namespace paypipe::events
