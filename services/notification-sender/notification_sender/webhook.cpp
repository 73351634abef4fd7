#include "notification_sender/webhook.hpp"

#include "core/json.hpp"

namespace paypipe::notification_sender {

namespace {

const core::json::Value* member(const core::json::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

core::Error not_an_update(std::string why) {
  return core::make_error(core::ErrorCategory::invalid_input, "bad-update", "not a Telegram update: " + std::move(why));
}

}  // namespace

core::Result<BotCommand> parse_update(std::string_view body) {
  auto doc = core::json::parse(body);
  if (!doc) return not_an_update(doc.error().message);
  const auto* update_id = member(*doc, "update_id");
  if (update_id == nullptr || !update_id->IsInt64()) return not_an_update("update_id must be an integer");

  BotCommand command;
  const auto* message = member(*doc, "message");
  if (message == nullptr) return command;  // another kind of update
  const auto* chat = member(*message, "chat");
  const auto* chat_id = chat ? member(*chat, "id") : nullptr;
  const auto* text = member(*message, "text");
  if (chat_id == nullptr || !chat_id->IsInt64() || text == nullptr || !text->IsString()) return command;
  const std::string_view words(text->GetString(), text->GetStringLength());
  if (words.empty() || words.front() != '/') return command;

  // "/start@paypipe_bot abc": the command, its bot, its argument.
  const auto space = words.find(' ');
  auto name = words.substr(1, space == std::string_view::npos ? std::string_view::npos : space - 1);
  name = name.substr(0, name.find('@'));
  auto argument = space == std::string_view::npos ? std::string_view() : words.substr(space + 1);
  while (!argument.empty() && argument.front() == ' ') argument.remove_prefix(1);
  while (!argument.empty() && argument.back() == ' ') argument.remove_suffix(1);

  command.chat_id = std::to_string(chat_id->GetInt64());
  command.kind = name == "start"  ? BotCommand::Kind::start
                 : name == "stop" ? BotCommand::Kind::stop
                                  : BotCommand::Kind::other;
  if (command.kind == BotCommand::Kind::start) command.argument = std::string(argument);
  const auto* from = member(*message, "from");
  const auto* language = from ? member(*from, "language_code") : nullptr;
  if (language != nullptr && language->IsString()) {
    command.locale = locale_of_language_code(std::string_view(language->GetString(), language->GetStringLength()));
  }
  return command;
}

}  // namespace paypipe::notification_sender
