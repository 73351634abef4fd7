#pragma once
// Topic and consumer-group names from configuration: every name the code uses is a
// logical one (a business topic "payment.completed", "retry.<group>", "dlq.<group>", a
// group "ranking-updater"); the broker sees the actual one, mapped here and prefixed
// with PAYPIPE_TOPIC_PREFIX (KafkaOptions::topic / group apply both).
//
//   PAYPIPE_NAMING_PROFILE      default | spring: the names to start from (spring: the
//                               Spring services' names, docs/operations.md "Naming
//                               topics and groups"); the variables below override them
//   PAYPIPE_TOPIC_NAMES         "logical=actual;...": business topics, and retry.<group>
//                               or dlq.<group> of one group (e.g. "payment.completed=payment.success")
//   PAYPIPE_GROUP_NAMES         "logical=actual;..." (e.g. "ranking-updater=ranking-update-group")
//   PAYPIPE_RETRY_TOPIC_FORMAT  retry.<group>'s name from the group's actual name: one %s
//                               (default "retry.%s"; spring "%s.RETRY")
//   PAYPIPE_DLQ_TOPIC_FORMAT    dlq.<group>'s likewise (default "dlq.%s"; spring "%s.DLQ")
//   PAYPIPE_SHARED_TOPIC_NAMES  "a,b": actual names that two business topics may share on
//                               purpose (every consumer of such a topic then receives both
//                               types and dead-letters the one it does not handle)
//   PAYPIPE_EXTRA_CONSUMER_GROUPS  "group=topic,topic;...": consumer groups beyond our
//                               daemons' (a new daemon built on our libs, e.g.
//                               "email-sender=payment.completed"), each with the logical
//                               business topics it consumes. Each is a group like ours: it
//                               has retry.<group> and dlq.<group> (created by `paypipe-admin
//                               topics create`, re-delivered by dlq-retrier), may be renamed
//                               in PAYPIPE_GROUP_NAMES, and its Kafka principal is named
//                               after it (`paypipe-admin acls`)
//
// Checked at start: an unknown logical name, a format without exactly one %s, an empty
// or malformed actual name, two groups with one actual name, and two logical topics
// with one actual name (unless it is a shared business topic) are errors; so are an
// extra group named like one of ours, with a malformed name, or with no topic or an
// unknown one.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.hpp"
#include "core/error.hpp"

namespace paypipe::events {

struct Naming {
  std::map<std::string, std::string, std::less<>> topics;  // logical -> actual, only those renamed
  std::map<std::string, std::string, std::less<>> groups;  // logical -> actual, only those renamed
  std::string retry_format = "retry.%s";
  std::string dlq_format = "dlq.%s";
  // Consumer groups from configuration (PAYPIPE_EXTRA_CONSUMER_GROUPS): logical group ->
  // the logical business topics it consumes. consumer_groups(naming) lists them with ours.
  std::map<std::string, std::vector<std::string>, std::less<>> extra_groups;

  // The actual name of a logical topic (business, retry.<group> or dlq.<group>).
  std::string topic(std::string_view logical) const;
  // The actual name of a logical group.
  std::string group(std::string_view logical) const;
  // The logical group whose dead letters the topic `actual` (no prefix) holds, if any.
  std::optional<std::string> group_of_dlq_topic(std::string_view actual) const;
  // What dlq-retrier subscribes to: with a format of a fixed beginning ("dlq.%s"), a regex
  // on actual names matching every dlq topic of the format, and the dlq topics named one
  // by one; with a format that begins with the group ("%s.DLQ", which the Spring services'
  // own <topic>.DLQ topics match too), dlq.<group> of every group (consumer_groups()).
  std::vector<std::string> dlq_subscription() const;

  bool operator==(const Naming&) const = default;
};

inline constexpr std::string_view default_profile = "default";
inline constexpr std::string_view spring_profile = "spring";

// The names of a profile ("default": every name as it is; "spring").
Naming naming_profile(std::string_view profile);

// Every logical group of the system: the consumer groups (consumer_groups(naming): ours
// and the configured ones) and dlq-retrier.
std::vector<std::string> all_group_names(const Naming& naming);

// What the variables say, before the checks.
struct NamingOverrides {
  std::string profile{default_profile};
  std::map<std::string, std::string> topics;
  std::map<std::string, std::string> groups;
  std::optional<std::string> retry_format;
  std::optional<std::string> dlq_format;
  std::set<std::string> shared_topics;
  // PAYPIPE_EXTRA_CONSUMER_GROUPS: group -> its topics as written ("a,b").
  std::map<std::string, std::string> extra_groups;
};

// The profile with the overrides applied, checked (see above). Each problem is one
// line of the error's message, "VARIABLE: what is wrong".
core::Result<Naming> make_naming(const NamingOverrides& overrides);

// What a group's consumer runtime reads and writes, in logical names: the topics it
// consumes, retry.<group> and dlq.<group>.
std::vector<std::string> group_topics(std::string_view group, std::vector<std::string> consumed);

// Reads the variables above; a problem is recorded on `env` (finish() reports it).
Naming read_naming(core::Env& env);

}  // namespace paypipe::events
