// paypipe-admin: operations on the cluster that no daemon does by itself.
//
//   paypipe-admin topics create [--partitions N] [--replication N] [--min-insync N]
//   paypipe-admin topics list
//   paypipe-admin topics describe
//   paypipe-admin wait-for-kafka [--timeout-ms N]
//   paypipe-admin token --key FILE --sub USER --iss ISSUER --aud AUDIENCE [--scope "a b"]
//                       [--ttl SECONDS] [--kid KID] [--not-before SECONDS]
//   paypipe-admin keygen --out FILE [--alg RS256|ES256]
//   paypipe-admin jwks --key FILE [--kid KID]
//
// token mints a bearer JWT for tests and demos: --key is a PEM private key (RSA signs
// RS256, EC P-256 signs ES256) or, with --hs256, a file holding the local profile's
// shared secret. keygen writes a fresh private key; jwks prints the JWKS of its public
// half (the file PAYPIPE_JWT_JWKS_FILE names). These three need no Kafka.
//   paypipe-admin outbox list [--schema S] [--limit N]
//   paypipe-admin outbox requeue [--schema S] [--all | ID ...]
//
// `outbox` lists the rows a service's outbox relay set aside (Kafka refused them, or
// kept failing them while the rest went through) and puts them back in line. It reads
// PAYPIPE_PG_DSN, PAYPIPE_PG_PASSWORD and the schema from --schema or PAYPIPE_PG_SCHEMA
// (in a daemon's pod: that daemon's schema).
//   paypipe-admin acls print|apply [--principal-format 'User:paypipe-{service}']
//   paypipe-admin groups describe GROUP
//   paypipe-admin groups reset-offsets GROUP --to-earliest | --to-latest | --to-datetime ISO
//                 | --partition N --offset O  [--topic T]
//
// `groups` reads a consumer group (GROUP as the daemons name it, e.g. ranking-updater;
// the naming and the topic prefix are applied): its members and each partition's
// committed offset, high watermark and lag.
// `reset-offsets` moves the committed offsets and refuses while the group has members
// (scale the daemon to zero first); --topic narrows it (and is required with
// --partition).
//
// `acls` derives every daemon's Kafka ACLs from events::service_access() (what each
// writes) and the daemons' own configurations (what each reads: daemon_consumers()),
// one principal per daemon, and those of the consumer groups configured in
// PAYPIPE_EXTRA_CONSUMER_GROUPS (events/naming.hpp); `apply` creates them (as a super user).
//
// Reads PAYPIPE_KAFKA_BOOTSTRAP_SERVERS, PAYPIPE_KAFKA_PROPERTIES, the SASL secrets,
// PAYPIPE_TOPIC_PREFIX and the naming variables (events/naming.hpp) like the daemons.
// `topics create` creates every topic of the system (events::all_topics(): with retry.<g>
// and dlq.<g> of the configured groups too, under the broker's names) that does not
// exist yet; the Helm pre-install hook runs it.
//
// The command line is parsed (CLI11) before anything else happens: an unknown flag, a
// missing or malformed value exits 2 with the usage on stderr, never with a default.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/sign.hpp"
#include "core/env.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "coupon_issuer/config.hpp"
#include "data_platform_forwarder/config.hpp"
#include "events/admin.hpp"
#include "events/outbox.hpp"
#include "notification_sender/config.hpp"
#include "order_processor/config.hpp"
#include "payment_api/config.hpp"
#include "pg/pg.hpp"
#include "ranking_updater/config.hpp"

using namespace paypipe;

namespace {

constexpr const char* usage_text =
    "usage: paypipe-admin topics create [--partitions N] [--replication N] [--min-insync N]\n"
    "       paypipe-admin topics list | topics describe\n"
    "       paypipe-admin wait-for-kafka [--timeout-ms N]\n"
    "       paypipe-admin token --key FILE [--hs256] --sub USER --iss ISSUER --aud AUDIENCE\n"
    "                           [--scope \"a b\"] [--ttl SECONDS] [--kid KID] [--not-before SECONDS]\n"
    "       paypipe-admin keygen --out FILE [--alg RS256|ES256]\n"
    "       paypipe-admin jwks --key FILE [--kid KID]\n"
    "       paypipe-admin outbox list [--schema S] [--limit N]\n"
    "       paypipe-admin outbox requeue [--schema S] [--all | ID ...]\n"
    "       paypipe-admin acls print|apply [--principal-format 'User:paypipe-{service}']\n"
    "       paypipe-admin groups describe GROUP\n"
    "       paypipe-admin groups reset-offsets GROUP --to-earliest | --to-latest | --to-datetime ISO\n"
    "                     | --partition N --offset O  [--topic T]\n";

int usage(const std::string& problem = {}) {
  if (!problem.empty()) std::cerr << "paypipe-admin: " << problem << "\n";
  std::cerr << usage_text;
  return 2;
}

struct KeyArgs {
  std::string path;
  std::string kid;
  bool hs256 = false;
};

struct TokenArgs {
  KeyArgs key;
  std::string sub, iss, aud, scope;
  long long ttl = 3600;
  long long not_before = 0;
  bool has_not_before = false;
};

std::optional<auth::SigningKey> read_key(const KeyArgs& args) {
  if (args.hs256) {
    std::ifstream in(args.path);
    std::string secret;
    std::getline(in, secret);
    if (!in || secret.empty()) {
      std::cerr << "cannot read an HS256 secret from " << args.path << "\n";
      return std::nullopt;
    }
    return auth::SigningKey::hs256(secret, args.kid);
  }
  auto key = auth::SigningKey::from_pem_file(args.path, args.kid.empty() ? "local-1" : args.kid);
  if (!key) {
    std::cerr << args.path << ": " << key.error().message << "\n";
    return std::nullopt;
  }
  return std::move(key).value();
}

int token_command(const TokenArgs& args) {
  const auto key = read_key(args.key);
  if (!key) return 2;
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auth::TokenSpec spec{
      args.sub, args.iss, args.aud, args.scope, now, now + args.ttl, args.has_not_before ? now + args.not_before : 0};
  if (!auth::valid_subject(spec.subject)) return usage("--sub is a user id: letters, digits, _ - . :");
  if (spec.issuer.empty() || spec.audience.empty()) return usage("--iss and --aud must not be empty");
  auto token = key->sign(auth::claims_json(spec));
  if (!token) {
    std::cerr << token.error().message << "\n";
    return 1;
  }
  std::cout << *token << "\n";
  return 0;
}

int keygen_command(const std::string& out, const std::string& alg) {
  auto key = auth::SigningKey::generate(alg == "RS256" ? auth::Algorithm::rs256 : auth::Algorithm::es256, "");
  auto pem = key ? key->private_pem() : core::Result<std::string>(key.error());
  if (!pem) {
    std::cerr << pem.error().message << "\n";
    return 1;
  }
  // A private key: readable by its owner only, from the moment it exists.
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::write(fd, pem->data(), pem->size()) != static_cast<ssize_t>(pem->size())) {
    std::cerr << "cannot write " << out << "\n";
    if (fd >= 0) ::close(fd);
    return 1;
  }
  ::close(fd);
  return 0;
}

int jwks_command(const KeyArgs& args) {
  const auto key = read_key(args);
  if (!key) return 2;
  auto jwk = key->public_jwk();
  if (!jwk) {
    std::cerr << jwk.error().message << "\n";
    return 2;
  }
  std::cout << auth::jwks_of({*jwk}) << "\n";
  return 0;
}

struct OutboxArgs {
  std::string schema;
  std::size_t limit = 100;
  bool all = false;
  std::vector<std::string> ids;
};

int outbox_command(const std::string& sub, const OutboxArgs& args, core::Env& env) {
  pg::ConnectOptions connect;
  connect.dsn = env.required_text("PAYPIPE_PG_DSN");
  connect.password = env.secret("PAYPIPE_PG_PASSWORD");
  connect.schema = args.schema.empty() ? env.text("PAYPIPE_PG_SCHEMA", "") : args.schema;
  connect.application_name = "paypipe-admin";
  if (auto s = env.finish(/*report_unknown=*/false); !s) {
    std::cerr << s.error().message << "\n";
    return 2;
  }
  if (connect.schema.empty()) return usage("outbox: name the service's schema with --schema (or PAYPIPE_PG_SCHEMA)");
  if (sub == "requeue" && args.ids.empty() && !args.all) return usage("outbox requeue: name the rows' ids, or --all");
  auto connection = pg::Connection::connect(connect);
  if (!connection) {
    std::cerr << connection.error().message << "\n";
    return 1;
  }
  if (sub == "list") {
    auto rows = events::list_set_aside(*connection, args.limit);
    if (!rows) {
      std::cerr << rows.error().message << "\n";
      return 1;
    }
    std::printf("%-36s %-24s %-8s %-24s %s\n", "id", "type", "attempts", "set aside at", "reason");
    for (const auto& r : *rows) {
      std::printf("%-36s %-24s %-8lld %-24s %s\n", r.id.c_str(), r.type.c_str(), static_cast<long long>(r.attempts),
                  r.set_aside_at.c_str(), r.reason.c_str());
    }
    return 0;
  }
  auto requeued = events::requeue_set_aside(*connection, args.all ? std::vector<std::string>{} : args.ids);
  if (!requeued) {
    std::cerr << requeued.error().message << "\n";
    return 1;
  }
  std::cout << "requeued " << *requeued << " row(s)\n";
  return 0;
}

// What each daemon reads with its group, as its own configuration declares it, and what
// the daemons with live updates tail (their own events).
std::vector<events::ConsumerAccess> daemon_consumers() {
  return {
      {"payment-api", payment_api::consumed_topics(), payment_api::produced_topics()},
      {"order-processor", order_processor::consumed_topics(), order_processor::produced_topics()},
      {"coupon-issuer", coupon_issuer::consumed_topics(), coupon_issuer::produced_topics()},
      {"notification-sender", notification_sender::consumed_topics()},
      {"ranking-updater", ranking_updater::consumed_topics()},
      {"data-platform-forwarder", data_platform_forwarder::consumed_topics()},
  };
}

// Every topic of the system under the broker's names, each once (two business topics
// may share a name on purpose: PAYPIPE_SHARED_TOPIC_NAMES).
std::vector<std::string> actual_topics(const events::KafkaOptions& kafka) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& t : events::all_topics(kafka.naming)) {
    if (auto name = kafka.topic(t); seen.insert(name).second) names.push_back(std::move(name));
  }
  return names;
}

int acls(const std::string& sub, const std::string& format, events::Admin& admin, const events::KafkaOptions& kafka) {
  const auto principal_of = [&](const std::string& service) {
    auto p = format;
    p.replace(p.find("{service}"), 9, service);
    return p;
  };
  std::vector<events::Acl> creatable, by_hand;
  for (auto& acl : events::all_acls(principal_of, kafka, daemon_consumers())) {
    (events::Admin::can_create(acl) ? creatable : by_hand).push_back(std::move(acl));
  }
  if (sub == "print") {
    for (const auto& acl : creatable) std::cout << events::to_string(acl) << "\n";
  } else {
    if (auto s = admin.create_acls(creatable, std::chrono::milliseconds(30000)); !s) {
      std::cerr << s.error().message << "\n";
      return 1;
    }
    std::cout << creatable.size() << " ACL bindings in place\n";
  }
  // librdkafka 2.0.2 cannot create these: the broker's kafka-acls tool can.
  for (const auto& acl : by_hand) {
    std::cout << "by hand: kafka-acls.sh --add --allow-principal " << acl.principal << " --operation "
              << (acl.operation == events::AclOperation::write ? "Write" : "Describe") << " --transactional-id "
              << acl.name << (acl.pattern == events::AclPattern::prefixed ? " --resource-pattern-type prefixed" : "")
              << "\n";
  }
  return 0;
}

int groups_describe(events::Admin& admin, const std::string& group, std::chrono::milliseconds timeout) {
  auto described = admin.describe_group(group, timeout);
  if (!described) {
    std::cerr << described.error().message << "\n";
    return 1;
  }
  std::cout << "group " << described->group << " (" << described->state << "), " << described->members.size()
            << " member(s)\n";
  for (const auto& m : described->members) {
    std::cout << "  member " << m.client_id << " " << m.host << ":";
    for (const auto& p : m.assignment) std::cout << " " << p;
    std::cout << "\n";
  }
  std::printf("%-48s %9s %12s %12s %10s\n", "topic", "partition", "committed", "end", "lag");
  std::int64_t total = 0;
  for (const auto& p : described->partitions) {
    std::printf("%-48s %9d %12s %12lld %10lld\n", p.topic.c_str(), p.partition,
                p.committed < 0 ? "-" : std::to_string(p.committed).c_str(), static_cast<long long>(p.high),
                static_cast<long long>(p.lag()));
    total += p.lag();
  }
  std::cout << "total lag " << total << "\n";
  return 0;
}

int groups_reset(events::Admin& admin, const std::string& group, const events::OffsetReset& reset,
                 std::chrono::milliseconds timeout) {
  auto moved = admin.reset_group_offsets(group, reset, timeout);
  if (!moved) {
    std::cerr << moved.error().message << " (" << moved.error().code << ")\n";
    return 1;
  }
  std::printf("%-48s %9s %12s %12s\n", "topic", "partition", "was", "now");
  for (const auto& m : *moved) {
    std::printf("%-48s %9d %12s %12lld\n", m.topic.c_str(), m.partition,
                m.before < 0 ? "-" : std::to_string(m.before).c_str(), static_cast<long long>(m.after));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  (void)core::log::init("paypipe-admin", "warn", core::log::Format::text);

  CLI::App app{"paypipe-admin: operations on the cluster that no daemon does by itself", "paypipe-admin"};
  app.require_subcommand(1);

  auto* topics = app.add_subcommand("topics", "create, list or describe the system's topics")->require_subcommand(1);
  int partitions = 3, replication = 3, min_insync = 0;
  auto* topics_create = topics->add_subcommand("create", "create every topic of the system that does not exist yet");
  topics_create->add_option("--partitions", partitions, "partitions per topic")->check(CLI::Range(1, 100000));
  topics_create->add_option("--replication", replication, "replicas per partition")->check(CLI::Range(1, 100));
  auto* min_insync_option = topics_create
                                ->add_option("--min-insync", min_insync,
                                             "min.insync.replicas (default 2, or 1 below 3 replicas)")
                                ->check(CLI::Range(1, 100));
  auto* topics_list = topics->add_subcommand("list", "list the broker's topics");
  auto* topics_describe = topics->add_subcommand("describe", "partitions, replication and min.insync of ours");

  long long timeout_ms = 60000;
  auto* wait = app.add_subcommand("wait-for-kafka", "wait until a broker answers");
  wait->add_option("--timeout-ms", timeout_ms, "give up after this long")->check(CLI::Range(0LL, 86'400'000LL));

  TokenArgs token;
  auto* token_cmd = app.add_subcommand("token", "mint a bearer JWT for tests and demos");
  token_cmd->add_option("--key", token.key.path, "PEM private key, or with --hs256 the shared secret's file")
      ->required();
  token_cmd->add_flag("--hs256", token.key.hs256, "--key holds an HS256 shared secret");
  token_cmd->add_option("--kid", token.key.kid, "key id (default local-1)");
  token_cmd->add_option("--sub", token.sub, "the user")->required();
  token_cmd->add_option("--iss", token.iss, "issuer")->required();
  token_cmd->add_option("--aud", token.aud, "audience")->required();
  token_cmd->add_option("--scope", token.scope, "space-separated scopes");
  token_cmd->add_option("--ttl", token.ttl, "seconds until exp (negative: already expired)");
  auto* not_before_option = token_cmd->add_option("--not-before", token.not_before,
                                                  "seconds from now until nbf (negative: in the past)");

  std::string keygen_out, keygen_alg = "RS256";
  auto* keygen = app.add_subcommand("keygen", "write a fresh private key");
  keygen->add_option("--out", keygen_out, "the file (mode 0600)")->required();
  keygen->add_option("--alg", keygen_alg, "RS256 or ES256")->check(CLI::IsMember({"RS256", "ES256"}));

  KeyArgs jwks_key;
  auto* jwks = app.add_subcommand("jwks", "print the JWKS of a key's public half");
  jwks->add_option("--key", jwks_key.path, "PEM private key")->required();
  jwks->add_option("--kid", jwks_key.kid, "key id (default local-1)");

  OutboxArgs outbox_args;
  auto* outbox = app.add_subcommand("outbox", "rows an outbox relay set aside")->require_subcommand(1);
  auto* outbox_list = outbox->add_subcommand("list", "list them");
  outbox_list->add_option("--schema", outbox_args.schema, "the service's schema (default PAYPIPE_PG_SCHEMA)");
  outbox_list->add_option("--limit", outbox_args.limit, "at most this many")->check(CLI::Range(1, 100000));
  auto* outbox_requeue = outbox->add_subcommand("requeue", "put them back in line");
  outbox_requeue->add_option("--schema", outbox_args.schema, "the service's schema (default PAYPIPE_PG_SCHEMA)");
  auto* all_option = outbox_requeue->add_flag("--all", outbox_args.all, "every set-aside row");
  outbox_requeue->add_option("ids", outbox_args.ids, "the rows' ids")->excludes(all_option);

  std::string principal_format = "User:paypipe-{service}";
  auto* acls_cmd = app.add_subcommand("acls", "every daemon's Kafka ACLs")->require_subcommand(1);
  for (auto* sub :
       {acls_cmd->add_subcommand("print", "print them"), acls_cmd->add_subcommand("apply", "create them")}) {
    sub->add_option("--principal-format", principal_format, "one principal per daemon")
        ->check([](const std::string& format) -> std::string {
          if (format.rfind("User:", 0) == 0 && format.find("{service}") != std::string::npos) return "";
          return "must start with User: and contain {service}";
        });
  }

  std::string group, reset_topic, reset_time;
  int reset_partition = -1;
  long long reset_offset = -1;
  bool to_earliest = false, to_latest = false;
  auto* groups = app.add_subcommand("groups", "a consumer group's lag, or moving its offsets")->require_subcommand(1);
  auto* groups_describe_cmd = groups->add_subcommand("describe", "members, committed offsets and lag per partition");
  groups_describe_cmd->add_option("group", group, "the group, as the daemons name it")->required();
  auto* reset_cmd = groups->add_subcommand("reset-offsets", "move the committed offsets (no members allowed)");
  reset_cmd->add_option("group", group, "the group, as the daemons name it")->required();
  auto* earliest_flag = reset_cmd->add_flag("--to-earliest", to_earliest, "the first offset still kept");
  auto* latest_flag = reset_cmd->add_flag("--to-latest", to_latest, "the end: skip everything not read yet");
  auto* time_option = reset_cmd
                          ->add_option("--to-datetime", reset_time, "the first record at or after this RFC 3339 time")
                          ->check([](const std::string& text) -> std::string {
                            return core::parse_rfc3339(text) ? "" : "not an RFC 3339 time (2027-01-15T08:00:00Z)";
                          });
  auto* partition_option = reset_cmd->add_option("--partition", reset_partition, "with --offset: this partition")
                               ->check(CLI::Range(0, 100000));
  auto* offset_option = reset_cmd->add_option("--offset", reset_offset, "with --partition: this offset")
                            ->check(CLI::Range(0LL, std::numeric_limits<long long>::max()));
  partition_option->needs(offset_option);
  offset_option->needs(partition_option);
  auto* topic_option = reset_cmd->add_option("--topic", reset_topic, "only this topic (required with --partition)");
  partition_option->needs(topic_option);
  earliest_flag->excludes(latest_flag)->excludes(time_option)->excludes(partition_option);
  latest_flag->excludes(time_option)->excludes(partition_option);
  time_option->excludes(partition_option);

  try {
    app.parse(argc, argv);
    if (reset_cmd->parsed() && !to_earliest && !to_latest && time_option->count() == 0 &&
        partition_option->count() == 0) {
      throw CLI::ValidationError("reset-offsets",
                                 "say where: --to-earliest, --to-latest, --to-datetime or --partition/--offset");
    }
  } catch (const CLI::CallForHelp&) {
    std::cout << usage_text;
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << usage_text;
    return 0;
  } catch (const CLI::ParseError& e) {
    return usage(e.what());
  }
  token.has_not_before = not_before_option->count() > 0;

  if (token_cmd->parsed()) return token_command(token);
  if (keygen->parsed()) return keygen_command(keygen_out, keygen_alg);
  if (jwks->parsed()) return jwks_command(jwks_key);
  auto env = core::Env::from_process();
  if (outbox->parsed()) return outbox_command(outbox_list->parsed() ? "list" : "requeue", outbox_args, env);

  events::KafkaOptions kafka;
  kafka.bootstrap_servers = env.required_text("PAYPIPE_KAFKA_BOOTSTRAP_SERVERS");
  kafka.properties = env.properties("PAYPIPE_KAFKA_PROPERTIES");
  if (auto user = env.secret("PAYPIPE_KAFKA_SASL_USERNAME"); !user.empty()) kafka.properties["sasl.username"] = user;
  if (auto pw = env.secret("PAYPIPE_KAFKA_SASL_PASSWORD"); !pw.empty()) kafka.properties["sasl.password"] = pw;
  kafka.topic_prefix = env.text("PAYPIPE_TOPIC_PREFIX", "");
  kafka.naming = events::read_naming(env);
  kafka.client_id = "paypipe-admin";
  // Run in any daemon's pod (kubectl exec), it sees that daemon's variables too.
  if (auto s = env.finish(/*report_unknown=*/false); !s) {
    std::cerr << s.error().message << "\n";
    return 2;
  }
  auto admin = events::Admin::create(kafka);
  if (!admin) {
    std::cerr << admin.error().message << "\n";
    return 1;
  }
  const auto timeout = std::chrono::milliseconds(30000);

  if (wait->parsed()) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto brokers = (*admin)->broker_count(std::chrono::milliseconds(2000)); brokers && *brokers > 0) {
        std::cout << *brokers << " broker(s) up\n";
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    std::cerr << "Kafka did not answer in time\n";
    return 1;
  }
  if (acls_cmd->parsed()) {
    const std::string sub = acls_cmd->get_subcommands().front()->get_name();
    return acls(sub, principal_format, **admin, kafka);
  }

  if (groups_describe_cmd->parsed()) return groups_describe(**admin, kafka.group(group), timeout);
  if (reset_cmd->parsed()) {
    events::OffsetReset reset;
    if (to_latest) reset.to = events::OffsetReset::To::latest;
    if (time_option->count() > 0) {
      reset.to = events::OffsetReset::To::time;
      reset.timestamp_ms = core::to_unix_ms(*core::parse_rfc3339(reset_time));
    }
    if (partition_option->count() > 0) {
      reset.to = events::OffsetReset::To::offset;
      reset.partition = reset_partition;
      reset.offset = reset_offset;
    }
    if (topic_option->count() > 0) reset.topic = kafka.topic(reset_topic);
    return groups_reset(**admin, kafka.group(group), reset, timeout);
  }

  if (topics_create->parsed()) {
    if (min_insync_option->count() == 0) min_insync = replication >= 3 ? 2 : 1;
    std::vector<events::TopicSpec> specs;
    for (const auto& name : actual_topics(kafka)) {
      specs.push_back({name, partitions, replication, {{"min.insync.replicas", std::to_string(min_insync)}}});
    }
    auto created = (*admin)->ensure_topics(specs, timeout);
    if (!created) {
      std::cerr << created.error().message << "\n";
      return 1;
    }
    std::cout << "created " << created->size() << " topic(s), " << specs.size() - created->size()
              << " already existed\n";
    for (const auto& name : *created) std::cout << "  " << name << "\n";
    return 0;
  }
  if (topics_list->parsed()) {
    auto names = (*admin)->list_topics(timeout);
    if (!names) {
      std::cerr << names.error().message << "\n";
      return 1;
    }
    for (const auto& t : *names) std::cout << t << "\n";
    return 0;
  }
  if (topics_describe->parsed()) {
    auto infos = (*admin)->describe(actual_topics(kafka), timeout);
    if (!infos) {
      std::cerr << infos.error().message << "\n";
      return 1;
    }
    std::printf("%-48s %10s %11s %10s\n", "topic", "partitions", "replication", "min.insync");
    for (const auto& i : *infos)
      std::printf("%-48s %10d %11d %10d\n", i.name.c_str(), i.partitions, i.replication, i.min_insync);
    return 0;
  }
  return usage();
}
