#include "ranking_updater/ranking_consumer.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <set>
#include <variant>

#include "contracts/order_completed.hpp"
#include "contracts/order_refunded.hpp"
#include "contracts/product_sold_out.hpp"
#include "core/metrics.hpp"
#include "events/decoded_batch.hpp"
#include "events/dispatch.hpp"
#include "ranking_updater/ranking_store.hpp"

namespace paypipe::ranking_updater {

namespace {

constexpr std::string_view consumer_name = "ranking-updater";

struct ConsumerMetrics {
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Counter& replays;

  static ConsumerMetrics& get() {
    auto& r = core::metrics::registry();
    static ConsumerMetrics m{
        prometheus::BuildCounter()
            .Name("ranking_events_applied_total")
            .Help("Events counted into the rankings (duplicates excluded), by type")
            .Register(r),
        prometheus::BuildCounter()
            .Name("ranking_batch_replays_total")
            .Help("Batches replayed with a savepoint per event")
            .Register(r)
            .Add({}),
    };
    return m;
  }
};

struct Incoming {
  std::string event_id;  // lower case, as processed_events stores it
  std::variant<contracts::OrderCompleted, contracts::OrderRefunded, SoldOutSale> data;
};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

core::Result<Incoming> decode(const events::ConsumedEvent& consumed) {
  const auto& e = consumed.event;
  return events::dispatch<contracts::OrderCompleted, contracts::OrderRefunded, contracts::ProductSoldOut>(
      e, consumer_name,
      [&](const contracts::OrderCompleted& order) -> core::Result<Incoming> { return Incoming{lower(e.id), order}; },
      [&](const contracts::OrderRefunded& refund) -> core::Result<Incoming> { return Incoming{lower(e.id), refund}; },
      [&](const contracts::ProductSoldOut& sold) -> core::Result<Incoming> {
        const auto opens = core::parse_rfc3339(sold.sale_opens_at);
        const auto out = core::parse_rfc3339(sold.sold_out_at);
        if (!opens || !out) {
          return core::make_error(core::ErrorCategory::invalid_input, "bad-time",
                                  "saleOpensAt and soldOutAt must be RFC 3339");
        }
        return Incoming{lower(e.id), SoldOutSale{sold.product_id, sold.name, sold.total_stock, *opens, *out,
                                                 sold.event_date ? std::optional(contracts::event_day(*sold.event_date))
                                                                 : std::nullopt}};
      });
}

core::Status apply(pg::Transaction& tx, std::span<const Incoming> batch, const std::string& zone) {
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  for (const auto& in : batch) ids.push_back(in.event_id);
  auto fresh = events::mark_processed(tx, consumer_name, ids);
  if (!fresh) return fresh.error();

  std::vector<OrderChange> changes;  // completions and refunds, in batch order
  std::vector<std::string> completed_at;
  std::vector<SoldOutSale> sold_out;
  std::set<std::string> seen;
  std::size_t refunds = 0;
  for (const auto& in : batch) {
    // Seen in an earlier batch, or earlier in this one.
    if (!fresh->count(in.event_id) || !seen.insert(in.event_id).second) continue;
    if (const auto* order = std::get_if<contracts::OrderCompleted>(&in.data)) {
      changes.push_back(OrderChange{order->order_id, false, &order->items, {}});
      completed_at.push_back(order->completed_at);
    } else if (const auto* refund = std::get_if<contracts::OrderRefunded>(&in.data)) {
      changes.push_back(OrderChange{refund->order_id, true, &refund->items, {}});
      ++refunds;
    } else {
      sold_out.push_back(std::get<SoldOutSale>(in.data));
    }
  }
  const std::size_t orders = changes.size() - refunds;
  if (!changes.empty()) {
    auto days = local_days(tx, completed_at, zone);
    if (!days) return days.error();
    std::vector<std::string> ids;
    for (std::size_t i = 0, next_day = 0; i < changes.size(); ++i) {
      if (!changes[i].refund) changes[i].day = (*days)[next_day++];
      ids.push_back(lower(changes[i].order_id));
      changes[i].order_id = ids.back();
    }
    auto tallies = take_tallies(tx, ids);
    if (!tallies) return tallies.error();
    const auto counted = tally_orders(changes, *tallies);
    if (auto s = add_sales(tx, aggregate(counted)); !s) return s;
    if (auto s = save_tallies(tx, *tallies); !s) return s;
  }
  if (!sold_out.empty()) {
    if (auto s = record_sold_out(tx, merge_sold_out(sold_out)); !s) return s;
  }
  tx.after_commit([orders, refunds, sold = sold_out.size()] {
    auto& m = ConsumerMetrics::get();
    if (orders)
      m.events.Add({{"type", std::string(contracts::OrderCompleted::type)}}).Increment(static_cast<double>(orders));
    if (refunds)
      m.events.Add({{"type", std::string(contracts::OrderRefunded::type)}}).Increment(static_cast<double>(refunds));
    if (sold)
      m.events.Add({{"type", std::string(contracts::ProductSoldOut::type)}}).Increment(static_cast<double>(sold));
  });
  return {};
}

void count_replay(const core::Error& error, std::size_t batch_size) {
  ConsumerMetrics::get().replays.Increment();
  spdlog::warn("ranking batch of {} replayed event by event: {}", batch_size, error.message);
}

}  // namespace

RankingConsumer::RankingConsumer(pg::Pool& pool, std::string time_zone)
    : pool_(pool), time_zone_(std::move(time_zone)) {}

events::BatchHandler RankingConsumer::handler() {
  return [this](std::span<const events::ConsumedEvent> events) { return handle(events); };
}

std::vector<events::Outcome> RankingConsumer::handle(std::span<const events::ConsumedEvent> events) {
  return events::apply_decoded_batch<Incoming>(
      pool_, events,
      {decode, [this](pg::Transaction& tx, std::span<const Incoming> batch) { return apply(tx, batch, time_zone_); },
       count_replay, std::string(consumer_name)});
}

}  // namespace paypipe::ranking_updater
