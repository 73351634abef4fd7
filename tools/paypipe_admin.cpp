// paypipe-admin: operations on the cluster that no daemon does by itself.
//
//   paypipe-admin topics create [--partitions N] [--replication N] [--min-insync N]
//   paypipe-admin topics list
//   paypipe-admin topics describe
//   paypipe-admin wait-for-kafka [--timeout-ms N]
//   paypipe-admin acls print|apply [--principal-format 'User:paypipe-{service}']
//
// `acls` derives every daemon's Kafka ACLs from events::service_access() (what each
// writes and reads), one principal per daemon; `apply` creates them (as a super user).
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

using namespace paypipe;

namespace {

int usage() {
  std::cerr << "usage: paypipe-admin topics create [--partitions N] [--replication N] [--min-insync N]\n"
               "       paypipe-admin topics list | topics describe\n"
               "       paypipe-admin wait-for-kafka [--timeout-ms N]\n"
               "       paypipe-admin acls print|apply [--principal-format 'User:paypipe-{service}']\n";
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
  auto env = core::Env::from_process();
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
