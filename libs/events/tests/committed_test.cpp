// The in-process signal of committed events (events/committed.hpp): every listener hears
// each commit until it is removed, and a listener may remove itself while it runs.
#include "events/committed.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace paypipe;

namespace {

std::vector<events::Event> with_ids(std::initializer_list<const char*> ids) {
  std::vector<events::Event> out;
  for (const auto* id : ids) {
    events::Event event;
    event.id = id;
    out.push_back(event);
  }
  return out;
}

}  // namespace

TEST_CASE("committed events reach every listener until it is removed") {
  std::vector<std::string> first;
  std::vector<std::string> second;
  const auto a = events::add_committed_listener([&](const std::vector<events::Event>& committed) {
    for (const auto& e : committed) first.push_back(e.id);
  });
  const auto b = events::add_committed_listener([&](const std::vector<events::Event>& committed) {
    for (const auto& e : committed) second.push_back(e.id);
  });
  events::tell_committed(with_ids({"1", "2"}));
  CHECK(first == std::vector<std::string>{"1", "2"});
  CHECK(second == std::vector<std::string>{"1", "2"});

  events::remove_committed_listener(a);
  events::tell_committed(with_ids({"3"}));
  CHECK(first.size() == 2);
  CHECK(second == std::vector<std::string>{"1", "2", "3"});
  events::remove_committed_listener(b);
  events::tell_committed(with_ids({"4"}));
  CHECK(second.size() == 3);
}

TEST_CASE("a committed-events listener may remove itself while it runs") {
  int heard = 0;
  std::uint64_t self = 0;
  self = events::add_committed_listener([&](const std::vector<events::Event>&) {
    ++heard;
    events::remove_committed_listener(self);
  });
  events::tell_committed(with_ids({"1"}));
  events::tell_committed(with_ids({"2"}));
  CHECK(heard == 1);
}
