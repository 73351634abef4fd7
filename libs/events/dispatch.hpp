#pragma once
// Events dispatched by type, the table built at compile time from the contracts
// (libs/contracts): each contract names its ce_type (`Contract::type`) and its decoder
// (`Contract::decode`), so a consumer lists the contracts it handles and never writes a
// type string; a contract that does not exist, a handler missing for one, or two
// contracts of one type fail the build.
//
//   return events::dispatch<contracts::PaymentCompleted, contracts::PaymentFailed>(
//       event, "order-processor",
//       [&](const contracts::PaymentCompleted& p) { return on_completed(tx, p); },
//       [&](const contracts::PaymentFailed& p) { return on_failed(tx, p); });
//
// EventSet<Contracts...> names the set once where a consumer needs it twice (its
// types for the topics it subscribes to, and its dispatch).
//
// A type named the old way ("payment.completed", events/event_types.hpp) reaches the
// handler of its current name, like in from_record.
//
// Every handler returns the same type R, which holds either a value or a core::Error
// (core::Status, core::Result<T>). What is not handled comes back as an error, both
// invalid_input, so events::outcome_for makes them fatal (dead letter, with the reason
// in the message):
//   * a type none of the contracts has: code "unexpected-event-type",
//     "<consumer> does not handle <type>" (types no schema knows never get this far:
//     the consumer runtime dead-letters them as paypipe.events.SchemaViolation);
//   * data the contract's decoder refuses: code "undecodable-event",
//     "<type> data does not decode: <the decoder's reason>".

#include <array>
#include <concepts>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "events/envelope.hpp"  // EventContract
#include "events/event_types.hpp"

namespace paypipe::events {

namespace detail {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

template <EventContract... Contracts>
constexpr bool distinct_types() {
  constexpr std::array<std::string_view, sizeof...(Contracts)> types{Contracts::type...};
  for (std::size_t i = 0; i < types.size(); ++i) {
    for (std::size_t j = i + 1; j < types.size(); ++j) {
      if (types[i] == types[j]) return false;
    }
  }
  return true;
}

}  // namespace detail

// A set of contracts a consumer handles, named once: its types (for the topics it
// subscribes to) and its dispatch.
template <EventContract... Contracts>
struct EventSet {
  static_assert(sizeof...(Contracts) > 0, "an empty set of contracts");
  static_assert(detail::distinct_types<Contracts...>(), "two contracts of one event type");

  // The ce_type values, in the order given.
  static std::vector<std::string> types() { return {std::string(Contracts::type)...}; }

  // Decodes `event` with the decoder of the contract whose type it has and calls the
  // handler that takes that contract. See the header comment for what comes back.
  template <typename... Handlers>
  static auto dispatch(const Event& event, std::string_view consumer, Handlers&&... handlers) {
    const detail::Overloaded handle{std::forward<Handlers>(handlers)...};
    static_assert((std::is_invocable_v<decltype(handle), const Contracts&> && ...),
                  "no handler for one of the contracts");
    using First = std::tuple_element_t<0, std::tuple<Contracts...>>;
    using R = std::invoke_result_t<decltype(handle), const First&>;
    static_assert((std::is_same_v<R, std::invoke_result_t<decltype(handle), const Contracts&>> && ...),
                  "every handler returns the same type");
    static_assert(std::is_constructible_v<R, core::Error>, "a handler's result must be able to hold a core::Error");

    R result = core::make_error(core::ErrorCategory::invalid_input, "unexpected-event-type",
                                std::string(consumer) + " does not handle " + event.type);
    const std::string type = current_type(event.type);  // an old name is handled like the new one
    auto try_one = [&]<EventContract C>() {
      if (type != C::type) return false;
      auto decoded = C::decode(event.data);
      if (!decoded) {
        result = core::make_error(core::ErrorCategory::invalid_input, "undecodable-event",
                                  event.type + " data does not decode: " + decoded.error().message);
      } else {
        result = handle(*decoded);
      }
      return true;
    };
    (try_one.template operator()<Contracts>() || ...);
    return result;
  }
};

// EventSet<Contracts...>::dispatch, for a consumer that names its set once.
template <EventContract... Contracts, typename... Handlers>
auto dispatch(const Event& event, std::string_view consumer, Handlers&&... handlers) {
  return EventSet<Contracts...>::dispatch(event, consumer, std::forward<Handlers>(handlers)...);
}

}  // namespace paypipe::events
