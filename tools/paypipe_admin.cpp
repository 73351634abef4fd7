// paypipe-admin: operations on the cluster that no daemon does by itself.
//
//   paypipe-admin topics create [--partitions N] [--replication N] [--min-insync N]
//   paypipe-admin topics list
//   paypipe-admin topics describe
//   paypipe-admin wait-for-kafka [--timeout-ms N]
//   paypipe-admin outbox list [--schema S] [--limit N]
//   paypipe-admin outbox requeue [--schema S] [--all | ID ...]
//
// `outbox` lists the rows a service's outbox relay set aside (Kafka refused them, or
// kept failing them while the rest went through) and puts them back in line. It reads
// PAYPIPE_PG_DSN, PAYPIPE_PG_PASSWORD and the schema from --schema or PAYPIPE_PG_SCHEMA
// (in a daemon's pod: that daemon's schema).
//
// Reads PAYPIPE_KAFKA_BOOTSTRAP_SERVERS, PAYPIPE_KAFKA_PROPERTIES, the SASL secrets and
// PAYPIPE_TOPIC_PREFIX like the daemons. `topics create` creates every topic of the
// system (events::all_topics()) that does not exist yet; the Helm pre-install hook
// runs it.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

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
               "       paypipe-admin outbox list [--schema S] [--limit N]\n"
               "       paypipe-admin outbox requeue [--schema S] [--all | ID ...]\n";
  return 2;
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

}  // namespace

int main(int argc, char** argv) {
  (void)core::log::init("paypipe-admin", "warn", core::log::Format::text);
  if (argc < 2) return usage();
  auto env = core::Env::from_process();
  if (std::string(argv[1]) == "outbox") return outbox_command(argc, argv, env);
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
