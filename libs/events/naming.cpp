#include "events/naming.hpp"

#include <algorithm>

#include "events/admin.hpp"

namespace paypipe::events {

namespace {

constexpr std::string_view retry_stem = "retry.";
constexpr std::string_view dlq_stem = "dlq.";

// The Spring services' names (docs/operations.md, "Naming topics and groups").
Naming spring_names() {
  Naming n;
  n.topics = {
      {"order.created", "order.created"},
      {"order.completed", "order.completed"},
      {"order.cancelled", "order.cancelled"},
      {"order.refunded", "order.refunded"},
      {"payment.completed", "payment.success"},
      {"payment.failed", "payment.failed"},
      {"payment.refund-requested", "refund-requests"},
      {"payment.refunded", "payment.refunded"},
      {"coupon.requested", "coupon-requests"},
      {"coupon.issued", "coupon.issued"},
      {"coupon.rejected", "coupon.rejected"},
      {"product.sold-out", "product.sold-out"},
  };
  n.groups = {
      {"payment-api", "payment-group"},
      {"order-processor", "order-group"},
      {"coupon-issuer", "coupon-group"},
      {"notification-sender", "payment-notification"},
      {"ranking-updater", "ranking-update-group"},
      {"data-platform-forwarder", "data-platform-group"},
      {"dlq-retrier", "dlq-retry-group"},
  };
  n.retry_format = "%s.RETRY";
  n.dlq_format = "%s.DLQ";
  return n;
}

std::string apply_format(std::string_view format, std::string_view group) {
  const auto at = format.find("%s");
  return std::string(format.substr(0, at)) + std::string(group) + std::string(format.substr(at + 2));
}

std::string regex_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Kafka's own rule for topic names, which we hold group names to as well.
bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

bool one_placeholder(std::string_view format) {
  const auto at = format.find("%s");
  return at != std::string_view::npos && format.find('%', at + 2) == std::string_view::npos &&
         format.substr(0, at).find('%') == std::string_view::npos;
}

template <typename Map>
const std::string* find(const Map& map, std::string_view key) {
  const auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// "a, b,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

// PAYPIPE_EXTRA_CONSUMER_GROUPS into naming.extra_groups: a group of ours (or
// dlq-retrier) is refused, as are a malformed name and a topic that is not a business one.
void add_extra_groups(const std::map<std::string, std::string>& entries, Naming& naming,
                      std::vector<std::string>& problems) {
  const auto ours = all_group_names(naming);
  const auto business = business_topics();
  for (const auto& entry : entries) {
    const std::string& group = entry.first;
    const auto problem = [&](const std::string& what) {
      problems.push_back("PAYPIPE_EXTRA_CONSUMER_GROUPS: group \"" + group + "\": " + what);
    };
    if (!valid_name(group)) {
      problem("a group's name is 1-249 of [a-zA-Z0-9._-]");
      continue;
    }
    if (contains(ours, group)) {
      problem("is one of our daemons' groups (configure only groups beyond them)");
      continue;
    }
    std::vector<std::string> topics;
    bool known = true;
    for (auto& topic : split_list(entry.second)) {
      if (!contains(business, topic)) {
        problem("unknown topic \"" + topic + "\" (a business topic)");
        known = false;
      } else if (!contains(topics, topic)) {
        topics.push_back(std::move(topic));
      }
    }
    if (!known) continue;
    if (topics.empty()) {
      problem("names no topic (\"group=topic,topic\")");
      continue;
    }
    naming.extra_groups[group] = std::move(topics);
  }
}

}  // namespace

std::string Naming::group(std::string_view logical) const {
  if (const auto* actual = find(groups, logical)) return *actual;
  return std::string(logical);
}

std::string Naming::topic(std::string_view logical) const {
  if (const auto* actual = find(topics, logical)) return *actual;
  if (logical.starts_with(retry_stem)) return apply_format(retry_format, group(logical.substr(retry_stem.size())));
  if (logical.starts_with(dlq_stem)) return apply_format(dlq_format, group(logical.substr(dlq_stem.size())));
  return std::string(logical);
}

std::optional<std::string> Naming::group_of_dlq_topic(std::string_view actual) const {
  for (const auto& [logical, name] : topics) {
    if (name == actual && logical.starts_with(dlq_stem)) return logical.substr(dlq_stem.size());
  }
  const auto at = dlq_format.find("%s");
  const auto head = std::string_view(dlq_format).substr(0, at);
  const auto tail = std::string_view(dlq_format).substr(at + 2);
  if (actual.size() <= head.size() + tail.size() || !actual.starts_with(head) || !actual.ends_with(tail)) {
    return std::nullopt;
  }
  const auto actual_group = actual.substr(head.size(), actual.size() - head.size() - tail.size());
  for (const auto& [logical, name] : groups) {
    if (name == actual_group) return logical;
  }
  return std::string(actual_group);
}

std::vector<std::string> Naming::dlq_subscription() const {
  const auto at = dlq_format.find("%s");
  const auto head = dlq_format.substr(0, at), tail = dlq_format.substr(at + 2);
  std::vector<std::string> out;
  if (!head.empty()) {
    // A fixed beginning ("dlq.") marks ours: a group added later is picked up unnamed.
    out.push_back("^" + regex_escape(head) + ".+" + (tail.empty() ? "" : regex_escape(tail) + "$"));
    for (const auto& [logical, name] : topics) {
      if (logical.starts_with(dlq_stem)) out.push_back(logical);
    }
  } else {
    // "%s.DLQ" would also match the Spring services' own <topic>.DLQ: the catalogue's only.
    for (const auto& group : consumer_groups(*this)) out.push_back(std::string(dlq_stem) + group);
  }
  return out;
}

std::vector<std::string> group_topics(std::string_view group, std::vector<std::string> consumed) {
  consumed.push_back(std::string(retry_stem) + std::string(group));
  consumed.push_back(std::string(dlq_stem) + std::string(group));
  return consumed;
}

Naming naming_profile(std::string_view profile) {
  if (profile == spring_profile) return spring_names();
  return Naming{};
}

std::vector<std::string> all_group_names(const Naming& naming) {
  auto groups = consumer_groups(naming);
  groups.emplace_back("dlq-retrier");
  return groups;
}

core::Result<Naming> make_naming(const NamingOverrides& overrides) {
  std::vector<std::string> problems;
  if (overrides.profile != default_profile && overrides.profile != spring_profile) {
    problems.push_back("PAYPIPE_NAMING_PROFILE: must be one of default, spring; got \"" + overrides.profile + "\"");
  }
  Naming naming = naming_profile(overrides.profile);
  // First: the names below may rename the configured groups and their topics.
  add_extra_groups(overrides.extra_groups, naming, problems);
  const auto business = business_topics();
  const auto groups = all_group_names(naming);
  const auto runtime_groups = consumer_groups(naming);  // the groups with retry.<g> and dlq.<g>

  for (const auto& [logical, actual] : overrides.groups) {
    if (!contains(groups, logical)) {
      problems.push_back("PAYPIPE_GROUP_NAMES: unknown group \"" + logical + "\"");
    } else if (!valid_name(actual)) {
      problems.push_back("PAYPIPE_GROUP_NAMES: \"" + logical + "=" + actual + "\": a name is 1-249 of [a-zA-Z0-9._-]");
    } else {
      naming.groups[logical] = actual;
    }
  }
  for (const auto& [logical, actual] : overrides.topics) {
    const bool known = contains(business, logical) ||
                       (logical.starts_with(retry_stem) &&
                        contains(runtime_groups, logical.substr(retry_stem.size()))) ||
                       (logical.starts_with(dlq_stem) && contains(runtime_groups, logical.substr(dlq_stem.size())));
    if (!known) {
      problems.push_back("PAYPIPE_TOPIC_NAMES: unknown topic \"" + logical +
                         "\" (a business topic, retry.<group> or dlq.<group>)");
    } else if (!valid_name(actual)) {
      problems.push_back("PAYPIPE_TOPIC_NAMES: \"" + logical + "=" + actual + "\": a name is 1-249 of [a-zA-Z0-9._-]");
    } else {
      naming.topics[logical] = actual;
    }
  }
  for (const auto& [variable, format, target] :
       {std::tuple{"PAYPIPE_RETRY_TOPIC_FORMAT", overrides.retry_format, &naming.retry_format},
        std::tuple{"PAYPIPE_DLQ_TOPIC_FORMAT", overrides.dlq_format, &naming.dlq_format}}) {
    if (!format) continue;
    if (!one_placeholder(*format) || !valid_name(apply_format(*format, "g"))) {
      problems.push_back(std::string(variable) + ": must hold exactly one %s (the group's name) and otherwise " +
                         "[a-zA-Z0-9._-], got \"" + *format + "\"");
    } else {
      *target = *format;
    }
  }
  if (naming.retry_format == naming.dlq_format) {
    problems.push_back("PAYPIPE_DLQ_TOPIC_FORMAT: must differ from PAYPIPE_RETRY_TOPIC_FORMAT");
  }

  // One actual name, one logical name: else a consumer would read another's records.
  std::map<std::string, std::string> group_owner;
  for (const auto& g : groups) {
    auto [it, fresh] = group_owner.emplace(naming.group(g), g);
    if (!fresh) {
      problems.push_back("PAYPIPE_GROUP_NAMES: groups \"" + it->second + "\" and \"" + g + "\" are both named \"" +
                         it->first + "\"");
    }
  }
  std::map<std::string, std::string> topic_owner;
  auto claim = [&](const std::string& logical, bool may_share) {
    const auto actual = naming.topic(logical);
    auto [it, fresh] = topic_owner.emplace(actual, logical);
    if (fresh) return;
    const bool both_business = contains(business, it->second) && contains(business, logical);
    if (may_share && both_business && overrides.shared_topics.contains(actual)) return;
    problems.push_back("PAYPIPE_TOPIC_NAMES: topics \"" + it->second + "\" and \"" + logical + "\" are both named \"" +
                       actual + "\"" +
                       (both_business ? " (list it in PAYPIPE_SHARED_TOPIC_NAMES if that is meant)" : ""));
  };
  for (const auto& t : business) claim(t, true);
  for (const auto& g : runtime_groups) {
    claim(std::string(retry_stem) + g, false);
    claim(std::string(dlq_stem) + g, false);
  }
  for (const auto& name : overrides.shared_topics) {
    if (std::count_if(business.begin(), business.end(), [&](const auto& t) { return naming.topic(t) == name; }) < 2) {
      problems.push_back("PAYPIPE_SHARED_TOPIC_NAMES: \"" + name + "\" is not the name of two business topics");
    }
  }

  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) message += (message.empty() ? "" : "\n") + p;
    return core::make_error(core::ErrorCategory::invalid_input, "naming", std::move(message));
  }
  return naming;
}

Naming read_naming(core::Env& env) {
  NamingOverrides o;
  o.profile = env.text("PAYPIPE_NAMING_PROFILE", std::string(default_profile));
  o.topics = env.properties("PAYPIPE_TOPIC_NAMES");
  o.groups = env.properties("PAYPIPE_GROUP_NAMES");
  if (env.has("PAYPIPE_RETRY_TOPIC_FORMAT")) o.retry_format = env.text("PAYPIPE_RETRY_TOPIC_FORMAT", "");
  if (env.has("PAYPIPE_DLQ_TOPIC_FORMAT")) o.dlq_format = env.text("PAYPIPE_DLQ_TOPIC_FORMAT", "");
  for (auto& name : env.list("PAYPIPE_SHARED_TOPIC_NAMES", {})) o.shared_topics.insert(std::move(name));
  o.extra_groups = env.properties("PAYPIPE_EXTRA_CONSUMER_GROUPS");
  auto naming = make_naming(o);
  if (naming) return std::move(naming).value();
  // One error per problem, each under its variable.
  std::string_view rest = naming.error().message;
  while (!rest.empty()) {
    const auto line = rest.substr(0, rest.find('\n'));
    rest = line.size() == rest.size() ? std::string_view{} : rest.substr(line.size() + 1);
    const auto colon = line.find(": ");
    env.fail(line.substr(0, colon), std::string(line.substr(colon + 2)));
  }
  return naming_profile(default_profile);
}

}  // namespace paypipe::events
