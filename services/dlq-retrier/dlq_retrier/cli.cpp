#include "dlq_retrier/cli.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iomanip>
#include <iostream>
#include <sstream>

#include "core/time.hpp"
#include "dlq_retrier/parked_operations.hpp"
#include "dlq_retrier/waiting_operations.hpp"
#include "events/dead_letter.hpp"
#include "events/producer.hpp"
#include "pg/pool.hpp"

namespace paypipe::dlq_retrier {

namespace {

constexpr const char* usage_text =
    "usage: dlq-retrier parked list [--group G] [--topic T] [--error-class C] [--status PARKED|REPLAYED|PURGED|ALL]\n"
    "                               [--limit N] [--cursor C] [--json]\n"
    "       dlq-retrier parked show ID [--json]\n"
    "       dlq-retrier parked replay ID [--json]\n"
    "       dlq-retrier parked replay --group G\n"
    "       dlq-retrier parked purge ID [--json]\n";

int usage(const std::string& problem = {}) {
  if (!problem.empty()) std::cerr << "dlq-retrier parked: " << problem << "\n";
  std::cerr << usage_text;
  return 2;
}

int failed(const core::Error& error) {
  std::cerr << "dlq-retrier parked: " << error.message << " (" << error.code << ")\n";
  return 1;
}

std::string shorten(std::string text, std::size_t width) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() <= width) return text;
  // Cut on a UTF-8 boundary.
  std::size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

// Error classes end in what matters ("paypipe.<service>.<Code>"): cut them on the left.
std::string shorten_left(std::string text, std::size_t width) {
  if (text.size() <= width) return text;
  std::size_t cut = text.size() - (width - 3);
  while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) ++cut;
  return "..." + text.substr(cut);
}

std::string original_of(const ParkedRecord& r) {
  if (r.original_topic.empty()) return "-";
  return sanitize_utf8(r.original_topic) + "[" + std::to_string(r.original_partition) + "]@" +
         std::to_string(r.original_offset);
}

std::string bytes_for_humans(const std::optional<std::string>& bytes) {
  if (!bytes) return "(null)";
  if (is_utf8(*bytes)) return *bytes;
  return "base64:" + base64_encode(*bytes);
}

}  // namespace

core::Result<CliArguments> parse_cli(const std::vector<std::string>& args) {
  CLI::App app{"parked-record operations", "dlq-retrier parked"};
  app.require_subcommand(1);
  CliArguments parsed;
  std::map<std::string, std::string> values;  // stable addresses for CLI11 to fill
  std::vector<std::pair<std::string, CLI::Option*>> value_options;
  bool json = false;
  auto value = [&](CLI::App* command, const std::string& flag) {
    value_options.emplace_back(flag, command->add_option(flag, values[flag]));
  };
  auto* list = app.add_subcommand("list", "list parked records");
  for (const auto* flag : {"--group", "--topic", "--error-class", "--status", "--limit", "--cursor"}) value(list, flag);
  auto* show = app.add_subcommand("show", "one record, with its value and headers");
  auto* replay = app.add_subcommand("replay", "send a record (or a group's) back to its retry topic");
  value(replay, "--group");
  auto* purge = app.add_subcommand("purge", "mark a record purged")->alias("delete");
  for (auto* command : {show, replay, purge}) command->add_option("id", parsed.positional, "a parked id");
  for (auto* command : {list, show, replay, purge}) command->add_flag("--json", json, "the HTTP API's JSON");

  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return core::make_error(core::ErrorCategory::invalid_input, "help", "");
  } catch (const CLI::ParseError& e) {
    return core::make_error(core::ErrorCategory::invalid_input, "usage", e.what());
  }
  parsed.command = app.get_subcommands().front()->get_name();
  for (const auto& [flag, option] : value_options) {
    if (option->count() > 0) parsed.flags[flag] = values[flag];
  }
  if (json) parsed.flags["--json"] = "";
  return parsed;
}

std::string format_table(const ParkedPage& page) {
  std::ostringstream out;
  out << std::left << std::setw(8) << "ID" << std::setw(26) << "GROUP" << std::setw(10) << "STATUS" << std::setw(11)
      << "REASON" << std::setw(8) << "ATTEMPT" << std::setw(42) << "ERROR CLASS" << std::setw(40) << "ORIGINAL"
      << std::setw(26) << "FAILED AT"
      << "MESSAGE\n";
  for (const auto& r : page.items) {
    out << std::left << std::setw(8) << r.id << std::setw(26) << shorten(r.group, 25) << std::setw(10) << r.status
        << std::setw(11) << r.reason << std::setw(8) << r.attempt << std::setw(42)
        << shorten_left(sanitize_utf8(r.error_class), 41) << std::setw(40) << shorten(original_of(r), 39)
        << std::setw(26) << (r.failed_at.empty() ? "-" : r.failed_at) << shorten(sanitize_utf8(r.message), 80) << "\n";
  }
  out << page.items.size() << " record(s)";
  if (page.next_after_id) out << "; more with --cursor " << *page.next_after_id;
  out << "\n";
  return out.str();
}

std::string format_record(const ParkedRecord& r) {
  std::ostringstream out;
  auto line = [&](const char* name, const std::string& value) {
    out << std::left << std::setw(20) << name << (value.empty() ? "-" : value) << "\n";
  };
  line("id", std::to_string(r.id));
  line("group", r.group);
  line("status", r.status);
  line("reason", r.reason + ": " + sanitize_utf8(r.reason_detail));
  line("error class", sanitize_utf8(r.error_class));
  line("message", sanitize_utf8(r.message));
  line("attempt", std::to_string(r.attempt));
  line("original", original_of(r));
  if (r.original_timestamp_ms)
    line("original time", core::format_rfc3339(core::from_unix_ms(*r.original_timestamp_ms)));
  line("dead letter", r.dlq_topic + "[" + std::to_string(r.dlq_partition) + "]@" + std::to_string(r.dlq_offset));
  line("first failed at", r.first_failed_at);
  line("failed at", r.failed_at);
  line("parked at", r.parked_at);
  line("replayed at", r.replayed_at);
  line("replay count", std::to_string(r.replay_count));
  line("purged at", r.purged_at);
  line("key", bytes_for_humans(r.key));
  line("value", bytes_for_humans(r.value));
  out << "headers\n";
  for (const auto& h : r.headers) {
    std::string shown = h.value;
    if (h.name == events::dlt::original_partition) {
      if (auto v = events::decode_int32(h.value)) shown = std::to_string(*v);
    } else if (h.name == events::dlt::original_offset || h.name == events::dlt::original_timestamp) {
      if (auto v = events::decode_int64(h.value)) shown = std::to_string(*v);
    }
    out << "  " << sanitize_utf8(h.name) << ": " << bytes_for_humans(shown) << "\n";
  }
  return out.str();
}

std::optional<int> parked_subcommand(int argc, char** argv, const Config& config) {
  if (argc < 2 || std::string(argv[1]) != "parked") return std::nullopt;
  // The operator reads tables on stdout; keep the library chatter to warnings.
  spdlog::set_level(spdlog::level::warn);
  auto args = parse_cli(std::vector<std::string>(argv + 2, argv + argc));
  if (!args && args.error().code == "help") {
    std::cout << usage_text;
    return 0;
  }
  if (!args) return usage(args.error().message);
  const bool json = args->flags.count("--json") > 0;
  const auto& cmd = args->command;

  pg::PoolOptions pool_options = config.common.database;
  pool_options.size = 2;
  pg::Pool pool(pool_options);
  // librdkafka connects lazily: only `replay` ever reaches the brokers.
  auto producer = events::Producer::create(config.common.kafka);
  if (!producer) return failed(producer.error());
  ParkedOperations operations(pool, **producer, config.common.kafka);

  auto print_record = [&](const core::Result<ParkedRecord>& record) {
    if (!record) return failed(record.error());
    std::cout << (json ? detail_json(*record) + "\n" : format_record(*record));
    return 0;
  };
  auto id_argument = [&]() -> core::Result<std::int64_t> {
    if (args->positional.size() != 1) {
      return core::make_error(core::ErrorCategory::invalid_input, "usage", cmd + " takes one parked id");
    }
    return parse_parked_id(args->positional[0]);
  };

  if (cmd == "list") {
    std::map<std::string, std::string> params;
    const std::map<std::string, std::string> names{
        {"--group", "group"},   {"--topic", "topic"}, {"--error-class", "errorClass"},
        {"--status", "status"}, {"--limit", "limit"}, {"--cursor", "cursor"}};
    for (const auto& [flag, value] : args->flags) {
      if (const auto it = names.find(flag); it != names.end()) params[it->second] = value;
    }
    if (!args->positional.empty()) return usage("list takes no positional arguments");
    auto query = parse_parked_query(params);
    if (!query) return usage(query.error().message);
    auto page = operations.list(*query);
    if (!page) return failed(page.error());
    std::cout << (json ? page_json(*page) + "\n" : format_table(*page));
    return 0;
  }
  if (cmd == "show") {
    auto id = id_argument();
    if (!id) return usage(id.error().message);
    return print_record(operations.get(*id));
  }
  if (cmd == "purge" || cmd == "delete") {
    auto id = id_argument();
    if (!id) return usage(id.error().message);
    return print_record(operations.purge(*id));
  }
  if (cmd == "replay") {
    if (const auto it = args->flags.find("--group"); it != args->flags.end()) {
      if (!args->positional.empty()) return usage("replay takes an id or --group, not both");
      auto replayed = operations.replay_group(it->second);
      if (!replayed) return failed(replayed.error());
      if (json) std::cout << replay_group_json(it->second, *replayed) << "\n";
      else
        std::cout << "replayed " << *replayed << " record(s) of group " << it->second << " to retry." << it->second
                  << "\n";
      return 0;
    }
    auto id = id_argument();
    if (!id) return usage(id.error().message);
    return print_record(operations.replay(*id));
  }
  return usage("unknown command " + cmd);
}

std::optional<int> dead_letters_subcommand(int argc, char** argv, const Config& config) {
  if (argc < 2 || std::string(argv[1]) != "dead-letters") return std::nullopt;
  spdlog::set_level(spdlog::level::warn);
  CLI::App app{"dead letters waiting in dlq.<group>, before dlq-retrier handles them", "dlq-retrier dead-letters"};
  app.require_subcommand(1);
  std::string group, cursor, reason;
  std::int64_t limit = 50, offset = -1;
  std::int32_t partition = -1;
  bool json = false, all = false;
  auto* summary = app.add_subcommand("summary", "per group: how many wait, the oldest, the reasons");
  summary->add_option("--group", group, "only this group");
  auto* list = app.add_subcommand("list", "one page of a group's waiting records");
  list->add_option("--group", group)->required();
  list->add_option("--limit", limit)->check(CLI::Range(1, static_cast<int>(max_page_size)));
  list->add_option("--cursor", cursor, "nextCursor of the previous page");
  auto* retry = app.add_subcommand("retry", "send one record (or --all) to retry.<group> now");
  retry->add_option("--group", group)->required();
  auto* skip = app.add_subcommand("skip", "park one record with a reason; it is never retried");
  skip->add_option("--group", group)->required();
  skip->add_option("--reason", reason)->required();
  for (auto* command : {retry, skip}) {
    command->add_option("--partition", partition)->check(CLI::NonNegativeNumber);
    command->add_option("--offset", offset)->check(CLI::NonNegativeNumber);
  }
  retry->add_flag("--all", all, "every record of the group waiting now");
  for (auto* command : {summary, list, retry, skip}) command->add_flag("--json", json, "the HTTP API's JSON");
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help, or the problem and the usage
    return code == 0 ? 0 : 2;
  }
  const auto* command = app.get_subcommands().front();
  const std::string name = command->get_name();
  const bool one_record = partition >= 0 && offset >= 0;
  if (name == "retry" && all == one_record) {
    std::cerr << "dlq-retrier dead-letters retry: give --partition and --offset, or --all\n";
    return 2;
  }
  if (name == "skip" && !one_record) {
    std::cerr << "dlq-retrier dead-letters skip: give --partition and --offset\n";
    return 2;
  }
  if (!group.empty()) {
    if (auto g = parse_group(group); !g) {
      std::cerr << "dlq-retrier dead-letters: " << g.error().message << "\n";
      return 2;
    }
  }
  if (name == "skip") {
    if (auto r = parse_skip_reason(reason); !r) {
      std::cerr << "dlq-retrier dead-letters: " << r.error().message << "\n";
      return 2;
    }
  }
  std::optional<WaitingCursor> page_cursor;
  if (!cursor.empty()) {
    auto c = parse_waiting_cursor(cursor);
    if (!c) {
      std::cerr << "dlq-retrier dead-letters: " << c.error().message << "\n";
      return 2;
    }
    page_cursor = *c;
  }

  pg::PoolOptions pool_options = config.common.database;
  pool_options.size = 2;
  pg::Pool pool(pool_options);
  auto producer = events::Producer::create(config.common.kafka);
  if (!producer) return failed(producer.error());
  WaitingOperations operations(pool, **producer, config.common.kafka, config.schedule, consumer_group);
  auto fail = [](const core::Error& error) {
    std::cerr << "dlq-retrier dead-letters: " << error.message << " (" << error.code << ")\n";
    return 1;
  };

  if (name == "summary") {
    auto summaries = operations.summaries(group.empty() ? std::nullopt : std::optional<std::string>(group));
    if (!summaries) return fail(summaries.error());
    std::cout << (json ? summaries_json(*summaries) + "\n" : format_summaries(*summaries));
    return 0;
  }
  if (name == "list") {
    auto page = operations.list(group, static_cast<std::size_t>(limit), page_cursor);
    if (!page) return fail(page.error());
    std::cout << (json ? waiting_page_json(*page) + "\n" : format_waiting_page(*page));
    return 0;
  }
  if (name == "retry" && all) {
    auto retried = operations.retry_all(group);
    if (!retried) return fail(retried.error());
    if (json) std::cout << retry_all_json(group, *retried) << "\n";
    else std::cout << "retried " << *retried << " waiting record(s) of group " << group << " now\n";
    return 0;
  }
  if (name == "retry") {
    auto retried = operations.retry(group, partition, offset);
    if (!retried) return fail(retried.error());
    if (json) {
      std::cout << retried_json(*retried) << "\n";
    } else {
      std::cout << (retried->already ? "retried already at " + retried->retried_at + ": " : "retried now: ")
                << retried->topic << "[" << retried->partition << "]@" << retried->offset << " to "
                << retried->retry_topic << " as attempt " << retried->attempt << "\n";
    }
    return 0;
  }
  auto parked = operations.skip(group, partition, offset, reason);
  if (!parked) return fail(parked.error());
  std::cout << (json ? detail_json(*parked) + "\n" : format_record(*parked));
  return 0;
}

}  // namespace paypipe::dlq_retrier
