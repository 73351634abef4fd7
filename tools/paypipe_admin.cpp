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
//
// `acls` derives every daemon's Kafka ACLs from events::service_access() (what each
// writes and reads), one principal per daemon; `apply` creates them (as a super user).
//
// Reads PAYPIPE_KAFKA_BOOTSTRAP_SERVERS, PAYPIPE_KAFKA_PROPERTIES, the SASL secrets and
// PAYPIPE_TOPIC_PREFIX like the daemons. `topics create` creates every topic of the
// system (events::all_topics()) that does not exist yet; the Helm pre-install hook
// runs it.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "auth/sign.hpp"
#include "core/env.hpp"
#include "core/log.hpp"
#include "events/admin.hpp"
#include "events/outbox.hpp"
#include "pg/pg.hpp"

using namespace paypipe;

namespace {

int usage() {
  std::cerr << "usage: paypipe-admin topics create [--partitions N] [--replication N] [--min-insync N]\n"
               "       paypipe-admin topics list | topics describe\n"
               "       paypipe-admin wait-for-kafka [--timeout-ms N]\n"
               "       paypipe-admin token --key FILE [--hs256] --sub USER --iss ISSUER --aud AUDIENCE\n"
               "                           [--scope \"a b\"] [--ttl SECONDS] [--kid KID] [--not-before SECONDS]\n"
               "       paypipe-admin keygen --out FILE [--alg RS256|ES256]\n"
               "       paypipe-admin jwks --key FILE [--kid KID]\n"
               "       paypipe-admin outbox list [--schema S] [--limit N]\n"
               "       paypipe-admin outbox requeue [--schema S] [--all | ID ...]\n"
               "       paypipe-admin acls print|apply [--principal-format 'User:paypipe-{service}']\n";
  return 2;
}

// "--name value" options and "--flag" switches; an unknown option or a missing value is
// an error, so a typo never mints a token with a default.
struct Options {
  std::map<std::string, std::string> values;
  std::set<std::string> switches;
  std::string error;

  Options(int argc, char** argv, int first, const std::set<std::string>& with_value, const std::set<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
      const std::string arg = argv[i];
      if (flags.count(arg)) {
        switches.insert(arg);
      } else if (with_value.count(arg) && i + 1 < argc) {
        values[arg] = argv[++i];
      } else {
        error = with_value.count(arg) ? arg + " needs a value" : "unknown option " + arg;
        return;
      }
    }
  }
  std::string get(const std::string& name, std::string fallback = {}) const {
    const auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

std::optional<long long> number(const std::string& text) {
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<auth::SigningKey> read_key(const Options& o) {
  const auto path = o.get("--key");
  if (path.empty()) {
    std::cerr << "--key is required\n";
    return std::nullopt;
  }
  if (o.switches.count("--hs256")) {
    std::ifstream in(path);
    std::string secret;
    std::getline(in, secret);
    if (!in || secret.empty()) {
      std::cerr << "cannot read an HS256 secret from " << path << "\n";
      return std::nullopt;
    }
    return auth::SigningKey::hs256(secret, o.get("--kid"));
  }
  auto key = auth::SigningKey::from_pem_file(path, o.get("--kid", "local-1"));
  if (!key) {
    std::cerr << path << ": " << key.error().message << "\n";
    return std::nullopt;
  }
  return std::move(key).value();
}

int token_command(int argc, char** argv) {
  const Options o(argc, argv, 2, {"--key", "--sub", "--iss", "--aud", "--scope", "--ttl", "--kid", "--not-before"},
                  {"--hs256"});
  if (!o.error.empty()) {
    std::cerr << o.error << "\n";
    return usage();
  }
  const auto key = read_key(o);
  if (!key) return 2;
  const auto ttl = number(o.get("--ttl", "3600"));
  const auto not_before = number(o.get("--not-before", "0"));
  if (!ttl || !not_before) {
    std::cerr << "--ttl and --not-before are seconds (integers; negative moves them into the past)\n";
    return 2;
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auth::TokenSpec spec{o.get("--sub"), o.get("--iss"), o.get("--aud"), o.get("--scope"), now, now + *ttl,
                       o.values.count("--not-before") ? now + *not_before : 0};
  if (!auth::valid_subject(spec.subject) || spec.issuer.empty() || spec.audience.empty()) {
    std::cerr << "--sub (a user id: letters, digits, _ - . :), --iss and --aud are required\n";
    return 2;
  }
  auto token = key->sign(auth::claims_json(spec));
  if (!token) {
    std::cerr << token.error().message << "\n";
    return 1;
  }
  std::cout << *token << "\n";
  return 0;
}

int keygen_command(int argc, char** argv) {
  const Options o(argc, argv, 2, {"--out", "--alg"}, {});
  if (!o.error.empty() || o.get("--out").empty()) {
    std::cerr << (o.error.empty() ? "--out is required" : o.error) << "\n";
    return usage();
  }
  const auto alg = o.get("--alg", "RS256");
  if (alg != "RS256" && alg != "ES256") {
    std::cerr << "--alg is RS256 or ES256\n";
    return 2;
  }
  auto key = auth::SigningKey::generate(alg == "RS256" ? auth::Algorithm::rs256 : auth::Algorithm::es256, "");
  auto pem = key ? key->private_pem() : core::Result<std::string>(key.error());
  if (!pem) {
    std::cerr << pem.error().message << "\n";
    return 1;
  }
  // A private key: readable by its owner only, from the moment it exists.
  const int fd = ::open(o.get("--out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::write(fd, pem->data(), pem->size()) != static_cast<ssize_t>(pem->size())) {
    std::cerr << "cannot write " << o.get("--out") << "\n";
    if (fd >= 0) ::close(fd);
    return 1;
  }
  ::close(fd);
  return 0;
}

int jwks_command(int argc, char** argv) {
  const Options o(argc, argv, 2, {"--key", "--kid"}, {});
  if (!o.error.empty()) {
    std::cerr << o.error << "\n";
    return usage();
  }
  const auto key = read_key(o);
  if (!key) return 2;
  auto jwk = key->public_jwk();
  if (!jwk) {
    std::cerr << jwk.error().message << "\n";
    return 2;
  }
  std::cout << auth::jwks_of({*jwk}) << "\n";
  return 0;
}

int flag(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 0; i + 1 < argc; ++i) {
    if (argv[i] == name) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

std::string text_flag(int argc, char** argv, const std::string& name, std::string fallback) {
  for (int i = 0; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

int outbox_command(int argc, char** argv, core::Env& env) {
  pg::ConnectOptions connect;
  connect.dsn = env.required_text("PAYPIPE_PG_DSN");
  connect.password = env.secret("PAYPIPE_PG_PASSWORD");
  connect.schema = text_flag(argc, argv, "--schema", env.text("PAYPIPE_PG_SCHEMA", ""));
  connect.application_name = "paypipe-admin";
  if (auto s = env.finish(/*report_unknown=*/false); !s) {
    std::cerr << s.error().message << "\n";
    return 2;
  }
  if (connect.schema.empty()) {
    std::cerr << "outbox: name the service's schema with --schema (or PAYPIPE_PG_SCHEMA)\n";
    return 2;
  }
  auto connection = pg::Connection::connect(connect);
  if (!connection) {
    std::cerr << connection.error().message << "\n";
    return 1;
  }
  const std::string sub = argc > 2 ? argv[2] : "";
  if (sub == "list") {
    auto rows = events::list_set_aside(*connection, static_cast<std::size_t>(flag(argc, argv, "--limit", 100)));
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
  if (sub == "requeue") {
    std::vector<std::string> ids;
    bool all = false;
    for (int i = 3; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--schema") {
        ++i;
      } else if (arg == "--all") {
        all = true;
      } else {
        ids.push_back(arg);
      }
    }
    if (ids.empty() && !all) {
      std::cerr << "outbox requeue: name the rows' ids, or --all\n";
      return 2;
    }
    auto requeued = events::requeue_set_aside(*connection, ids);
    if (!requeued) {
      std::cerr << requeued.error().message << "\n";
      return 1;
    }
    std::cout << "requeued " << *requeued << " row(s)\n";
    return 0;
  }
  return usage();
}

int acls(const std::string& sub, int argc, char** argv, events::Admin& admin, const std::string& prefix) {
  const auto format = text_flag(argc, argv, "--principal-format", "User:paypipe-{service}");
  if (format.find("{service}") == std::string::npos || format.rfind("User:", 0) != 0) {
    std::cerr << "--principal-format must start with User: and contain {service}\n";
    return 2;
  }
  const auto principal_of = [&](const std::string& service) {
    auto p = format;
    p.replace(p.find("{service}"), 9, service);
    return p;
  };
  std::vector<events::Acl> creatable, by_hand;
  for (auto& acl : events::all_acls(principal_of, prefix)) {
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

}  // namespace

int main(int argc, char** argv) {
  (void)core::log::init("paypipe-admin", "warn", core::log::Format::text);
  if (argc < 2) return usage();
  const std::string first = argv[1];
  if (first == "token") return token_command(argc, argv);
  if (first == "keygen") return keygen_command(argc, argv);
  if (first == "jwks") return jwks_command(argc, argv);
  auto env = core::Env::from_process();
  if (first == "outbox") return outbox_command(argc, argv, env);
  events::KafkaOptions kafka;
  kafka.bootstrap_servers = env.required_text("PAYPIPE_KAFKA_BOOTSTRAP_SERVERS");
  kafka.properties = env.properties("PAYPIPE_KAFKA_PROPERTIES");
  if (auto user = env.secret("PAYPIPE_KAFKA_SASL_USERNAME"); !user.empty()) kafka.properties["sasl.username"] = user;
  if (auto pw = env.secret("PAYPIPE_KAFKA_SASL_PASSWORD"); !pw.empty()) kafka.properties["sasl.password"] = pw;
  kafka.topic_prefix = env.text("PAYPIPE_TOPIC_PREFIX", "");
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
  const std::string command = argv[1];
  const std::string sub = argc > 2 ? argv[2] : "";
  const auto timeout = std::chrono::milliseconds(30000);

  if (command == "wait-for-kafka") {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(flag(argc, argv, "--timeout-ms", 60000));
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
  if (command == "acls" && (sub == "print" || sub == "apply")) return acls(sub, argc, argv, **admin, kafka.topic_prefix);
  if (command != "topics") return usage();

  if (sub == "create") {
    const int partitions = flag(argc, argv, "--partitions", 3);
    const int replication = flag(argc, argv, "--replication", 3);
    const int min_insync = flag(argc, argv, "--min-insync", replication >= 3 ? 2 : 1);
    std::vector<events::TopicSpec> specs;
    for (const auto& t : events::all_topics()) {
      specs.push_back({kafka.topic(t), partitions, replication, {{"min.insync.replicas", std::to_string(min_insync)}}});
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
  if (sub == "list") {
    auto topics = (*admin)->list_topics(timeout);
    if (!topics) {
      std::cerr << topics.error().message << "\n";
      return 1;
    }
    for (const auto& t : *topics) std::cout << t << "\n";
    return 0;
  }
  if (sub == "describe") {
    std::vector<std::string> names;
    for (const auto& t : events::all_topics()) names.push_back(kafka.topic(t));
    auto infos = (*admin)->describe(names, timeout);
    if (!infos) {
      std::cerr << infos.error().message << "\n";
      return 1;
    }
    std::printf("%-48s %10s %11s %10s\n", "topic", "partitions", "replication", "min.insync");
    for (const auto& i : *infos) std::printf("%-48s %10d %11d %10d\n", i.name.c_str(), i.partitions, i.replication, i.min_insync);
    return 0;
  }
  return usage();
}
