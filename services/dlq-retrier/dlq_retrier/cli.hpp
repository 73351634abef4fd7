#pragma once
// The parked-record operations as subcommands of the dlq-retrier binary, for
// `kubectl exec deploy/dlq-retrier -- dlq-retrier parked ...`. They read the same PAYPIPE_*
// configuration as the daemon and talk to PostgreSQL and Kafka directly (no HTTP, no
// admin token: whoever may exec into the pod may operate it).
//
//   dlq-retrier parked list [--group G] [--topic T] [--error-class C] [--status PARKED|REPLAYED|PURGED|ALL]
//                           [--limit N] [--cursor C] [--json]
//   dlq-retrier parked show ID [--json]
//   dlq-retrier parked replay ID [--json]
//   dlq-retrier parked replay --group G
//   dlq-retrier parked purge ID [--json]
//
// and the dead letters still waiting in dlq.<group> (waiting_operations.hpp):
//
//   dlq-retrier dead-letters summary [--group G] [--json]
//   dlq-retrier dead-letters list --group G [--limit N] [--cursor C] [--json]
//   dlq-retrier dead-letters retry --group G --partition P --offset O [--json]
//   dlq-retrier dead-letters retry --group G --all [--json]
//   dlq-retrier dead-letters skip --group G --partition P --offset O --reason TEXT [--json]
//
// Tables by default, the HTTP API's JSON with --json. Exit codes: 0 done, 1 the
// operation failed (not found, not parked, Kafka or PostgreSQL unavailable), 2 usage.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dlq_retrier/config.hpp"
#include "dlq_retrier/parked_codec.hpp"

namespace paypipe::dlq_retrier {

// nullopt unless argv[1] is "parked".
std::optional<int> parked_subcommand(int argc, char** argv, const Config& config);
// nullopt unless argv[1] is "dead-letters".
std::optional<int> dead_letters_subcommand(int argc, char** argv, const Config& config);

// The table `parked list` prints (exposed for tests).
std::string format_table(const ParkedPage& page);
// What `parked show` prints.
std::string format_record(const ParkedRecord& record);

// Parsed arguments after "parked": the command, positionals and --flags (exposed for tests).
struct CliArguments {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;  // "--group" -> "g"; "--json" -> ""
};
core::Result<CliArguments> parse_cli(const std::vector<std::string>& args);

}  // namespace paypipe::dlq_retrier
