#include "order_processor/order_store.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "contracts/product_sold_out.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/trace.hpp"
#include "core/uuid.hpp"
#include "events/outbox.hpp"
#include "order_processor/order_effects.hpp"

namespace paypipe::order_processor {

namespace {

struct StoreMetrics {
  prometheus::Counter& created;
  prometheus::Counter& out_of_stock;
  prometheus::Counter& expired;
  prometheus::Counter& sold_out;
  prometheus::Histogram& batch_size;
  prometheus::Counter& batch_replays;

  static StoreMetrics& get() {
    auto& r = core::metrics::registry();
    auto& orders = prometheus::BuildCounter().Name("orders_total").Help("Orders by what happened to them").Register(r);
    static StoreMetrics m{
        orders.Add({{"event", "created"}}),
        orders.Add({{"event", "out_of_stock"}}),
        orders.Add({{"event", "expired"}}),
        prometheus::BuildCounter()
            .Name("products_sold_out_total")
            .Help("Products whose last unit was sold")
            .Register(r)
            .Add({}),
        prometheus::BuildHistogram()
            .Name("order_batch_size")
            .Help("Order requests placed per transaction")
            .Register(r)
            .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256}),
        prometheus::BuildCounter()
            .Name("order_batch_replays_total")
            .Help("Order batches placed request by request after a race")
            .Register(r)
            .Add({}),
    };
    return m;
  }
};

const std::string product_columns =
    "id, name, unit_price, currency, total_stock, held, sold, (extract(epoch FROM sale_opens_at) * 1000)::bigint, " +
    pg::rfc3339_sql("sold_out_at") + ", " + pg::rfc3339_sql("created_at") + ", " + pg::rfc3339_sql("updated_at") +
    ", event_date, venue";

Product product_from(const pg::Rows& rows, int row) {
  return Product{
      rows.str(row, 0),          rows.str(row, 1),     rows.integer(row, 2), rows.str(row, 3),
      rows.integer(row, 4),      rows.integer(row, 5), rows.integer(row, 6), core::from_unix_ms(rows.integer(row, 7)),
      rows.optional_str(row, 8), rows.str(row, 9),     rows.str(row, 10),    rows.optional_str(row, 11),
      rows.optional_str(row, 12)};
}

// The items come back as one JSON array per order, read with the contract's own reader,
// each with its product's name, event date and venue (for the messages the order's
// events lead to).
const std::string order_columns =
    "o.id::text, o.user_id, o.status, o.fulfilment, o.total_amount, o.currency, " + pg::rfc3339_sql("o.expires_at") +
    ", " + pg::rfc3339_sql("o.created_at") + ", " + pg::rfc3339_sql("o.updated_at") +
    ", o.payment_id::text, o.cancel_reason, "
    "(SELECT coalesce(json_agg(json_strip_nulls(json_build_object('productId', i.product_id, 'quantity', i.quantity, "
    "'unitPrice', i.unit_price, 'name', nullif(p.name, ''), 'eventDate', p.event_date, 'venue', nullif(p.venue, ''))) "
    "ORDER BY i.line), '[]') "
    "FROM order_items i LEFT JOIN products p ON p.id = i.product_id WHERE i.order_id = o.id), " +
    pg::rfc3339_sql("o.paid_at") + ", o.refund_reason";
// The column after order_columns.
constexpr int order_column_count = 14;

core::Result<Order> order_from(const pg::Rows& rows, int row) {
  Order o;
  o.id = rows.str(row, 0);
  o.user_id = rows.str(row, 1);
  const auto status = parse_status(rows.text(row, 2));
  if (!status) {
    return core::make_error(core::ErrorCategory::internal, "bad-stored-status",
                            "order " + o.id + " has status " + rows.str(row, 2));
  }
  o.status = *status;
  o.fulfilment = rows.str(row, 3);
  o.total_amount = rows.integer(row, 4);
  o.currency = rows.str(row, 5);
  o.expires_at = rows.str(row, 6);
  o.created_at = rows.str(row, 7);
  o.updated_at = rows.str(row, 8);
  o.payment_id = rows.optional_str(row, 9);
  o.cancel_reason = rows.optional_str(row, 10);
  o.paid_at = rows.optional_str(row, 12);
  o.refund_reason = rows.optional_str(row, 13);
  auto doc = core::json::parse("{\"items\":" + rows.str(row, 11) + "}");
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  o.items = contracts::read_items(in, "items");
  if (auto s = in.status(); !s) {
    return core::make_error(core::ErrorCategory::internal, "bad-stored-items",
                            "order " + o.id + ": " + s.error().message);
  }
  return o;
}

core::Result<std::optional<Order>> one_order(const core::Result<pg::Rows>& rows) {
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Order>{};
  auto order = order_from(*rows, 0);
  if (!order) return order.error();
  return std::optional<Order>{std::move(order).value()};
}

// Per product, the quantity the orders hold; a std::map keeps the product ids sorted.
std::map<std::string, std::int64_t> quantities(const std::vector<const Order*>& orders) {
  std::map<std::string, std::int64_t> by_product;
  for (const auto* order : orders) {
    for (const auto& item : order->items) by_product[item.product_id] += item.quantity;
  }
  return by_product;
}

// Locks the products in id order: every transaction that changes their counters takes
// them this way first, so none waits for another in a cycle.
void lock_products(pg::Pipeline& pipeline, const std::vector<std::string>& sorted_ids) {
  pipeline.add("SELECT id FROM products WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", sorted_ids);
}

// Moves `by_product` (products locked) out of `held`, into `sold` (a paid order) or back
// to available (a released hold), or out of `sold` back to available (a refund; a
// product that had sold out is on sale again, and sells out anew).
void move_stock(pg::Pipeline& pipeline, const std::map<std::string, std::int64_t>& by_product, StockMove move) {
  if (move == StockMove::none || by_product.empty()) return;
  std::vector<std::string> ids, counts;
  for (const auto& [id, quantity] : by_product) {
    ids.push_back(id);
    counts.push_back(std::to_string(quantity));
  }
  const char* sql = nullptr;
  switch (move) {
    case StockMove::sell:
      sql =
          "UPDATE products p SET held = p.held - m.q, sold = p.sold + m.q, updated_at = now() "
          "FROM unnest($1::text[], $2::bigint[]) AS m(id, q) WHERE p.id = m.id";
      break;
    case StockMove::release:
      sql =
          "UPDATE products p SET held = p.held - m.q, updated_at = now() "
          "FROM unnest($1::text[], $2::bigint[]) AS m(id, q) WHERE p.id = m.id";
      break;
    case StockMove::unsell:
      sql =
          "UPDATE products p SET sold = p.sold - m.q, sold_out_at = NULL, updated_at = now() "
          "FROM unnest($1::text[], $2::bigint[]) AS m(id, q) WHERE p.id = m.id";
      break;
    case StockMove::none: return;
  }
  pipeline.add(sql, ids, counts);
}

// lock_products, then move_stock.
void move_held(pg::Pipeline& pipeline, const std::map<std::string, std::int64_t>& by_product, StockMove move) {
  if (move == StockMove::none) return;
  std::vector<std::string> ids;
  for (const auto& entry : by_product) ids.push_back(entry.first);
  lock_products(pipeline, ids);
  move_stock(pipeline, by_product, move);
}

// Queues the outbox insert of `announcements` (validated first: an invalid event queues nothing).
core::Status queue_outbox(pg::Pipeline& pipeline, std::span<const events::Event> announcements,
                          std::string_view aggregate_type) {
  if (announcements.empty()) return {};
  auto insert = events::OutboxInsert::prepare({announcements.begin(), announcements.end()}, aggregate_type);
  if (!insert) return insert.error();
  std::move(insert).value().queue(pipeline);
  return {};
}

}  // namespace

core::Result<ProductWrite> create_product(pg::Connection& connection, const ProductSpec& spec,
                                          const std::string& currency) {
  static const std::string insert =
      "INSERT INTO products (id, name, unit_price, currency, total_stock, sale_opens_at, event_date, venue) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING " +
      product_columns;
  auto inserted = connection.exec(insert, spec.id, spec.name, spec.unit_price, currency, spec.total_stock,
                                  core::format_rfc3339(spec.sale_opens_at), spec.event_date, spec.venue);
  if (!inserted) return inserted.error();
  if (!inserted->empty()) return ProductWrite{product_from(*inserted, 0), true};
  auto existing = find_product(connection, spec.id);
  if (!existing) return existing.error();
  if (!*existing) {
    return core::make_error(core::ErrorCategory::unavailable, "product-vanished",
                            "product " + spec.id + " vanished; retry");
  }
  if (!same_product(spec, **existing) || (*existing)->currency != currency) {
    return core::make_error(core::ErrorCategory::conflict, "product-exists",
                            "product " + spec.id + " already exists with other values");
  }
  return ProductWrite{**existing, false};
}

core::Result<std::optional<Product>> find_product(pg::Connection& connection, const std::string& product_id) {
  static const std::string sql = "SELECT " + product_columns + " FROM products WHERE id = $1";
  auto rows = connection.exec(sql, product_id);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Product>{};
  return std::optional<Product>{product_from(*rows, 0)};
}

core::Result<std::optional<Order>> find_order(pg::Connection& connection, const std::string& order_id) {
  static const std::string sql = "SELECT " + order_columns + " FROM orders o WHERE o.id = $1";
  return one_order(connection.exec(sql, order_id));
}

core::Result<std::optional<Order>> lock_order(pg::Transaction& tx, const std::string& order_id) {
  static const std::string sql = "SELECT " + order_columns + " FROM orders o WHERE o.id = $1 FOR UPDATE";
  return one_order(tx.exec(sql, order_id));
}

namespace {

// The read of a placement: the products (no locks: what is checked here never changes,
// except the stock, which the conditional UPDATE decides for good) and the orders the
// requests' Idempotency-Keys placed before. One round trip.
core::Status read_view(pg::Connection& connection, std::span<const OrderRequest> requests, PlacementView& view) {
  static const std::string products_sql = "SELECT " + product_columns + " FROM products WHERE id = ANY($1::text[])";
  static const std::string by_key_sql = "SELECT " + order_columns +
                                        ", o.idempotency_key FROM orders o WHERE (o.user_id, o.idempotency_key) IN "
                                        "(SELECT * FROM unnest($1::text[], $2::text[]))";
  std::set<std::string> ids;
  std::vector<std::string> users, keys;
  for (const auto& request : requests) {
    for (const auto& item : request.items) ids.insert(item.product_id);
    if (request.idempotency_key) {
      users.push_back(request.user_id);
      keys.push_back(*request.idempotency_key);
    }
  }
  auto pipeline = pg::Pipeline::autocommit(connection);
  const auto products = pipeline.add(products_sql, std::vector<std::string>(ids.begin(), ids.end()));
  const auto earlier = keys.empty() ? pg::Pipeline::Handle{} : pipeline.add(by_key_sql, users, keys);
  if (auto read = pipeline.flush(); !read) return read.error();
  const auto& product_rows = pipeline.rows(products);
  for (int i = 0; i < product_rows.size(); ++i) {
    view.products.emplace(product_rows.str(i, 0), product_from(product_rows, i));
  }
  const auto& earlier_rows = pipeline.rows(earlier);
  for (int i = 0; i < earlier_rows.size(); ++i) {
    auto order = order_from(earlier_rows, i);
    if (!order) return order.error();
    auto key = std::pair{order->user_id, earlier_rows.str(i, order_column_count)};  // before the order moves
    view.by_key.emplace(std::move(key), std::move(order).value());
  }
  return {};
}

// The placed orders and their items as column arrays, for set-based inserts.
struct OrderColumns {
  std::vector<std::string> id, user, status, fulfilment, total, currency, expires, key, at;
  std::vector<std::string> item_order, item_line, item_product, item_quantity, item_price;
  std::map<std::string, std::int64_t> hold;  // per product, sorted by id

  void add(const Order& order, const std::optional<std::string>& idempotency_key) {
    id.push_back(order.id);
    user.push_back(order.user_id);
    status.emplace_back(to_string(order.status));
    fulfilment.push_back(order.fulfilment);
    total.push_back(std::to_string(order.total_amount));
    currency.push_back(order.currency);
    expires.push_back(order.expires_at);
    key.push_back(idempotency_key.value_or(""));  // keys are never empty: "" stands for none
    at.push_back(order.created_at);
    for (std::size_t line = 0; line < order.items.size(); ++line) {
      const auto& item = order.items[line];
      hold[item.product_id] += item.quantity;
      item_order.push_back(order.id);
      item_line.push_back(std::to_string(line + 1));
      item_product.push_back(item.product_id);
      item_quantity.push_back(std::to_string(item.quantity));
      item_price.push_back(std::to_string(item.unit_price));
    }
  }
};

// The write of a placement, one pipelined round trip ending in COMMIT: lock the
// products in id order, hold every order's stock with one conditional UPDATE, insert
// the orders only if every product could be held (the CTE), their items (whose
// foreign key fails, aborting everything, if the orders were not inserted), and
// order.created for each. All or nothing: out-of-stock (conflict) if another
// transaction took the stock since the read.
core::Status write_orders(pg::Connection& connection, const std::vector<const Placement*>& placed,
                          std::span<const OrderRequest> requests, std::span<const core::TraceContext> traces,
                          const std::vector<std::size_t>& request_of) {
  OrderColumns columns;
  std::vector<events::Event> announcements;
  for (std::size_t n = 0; n < placed.size(); ++n) {
    const auto& order = placed[n]->order;
    // CREATED -> PENDING_PAYMENT happens inside this transaction: CREATED is never stored.
    if (auto ok = walk(OrderStatus::created, std::vector{order.status}); !ok) return ok.error();
    columns.add(order, requests[request_of[n]].idempotency_key);
    core::TraceScope scope(traces[request_of[n]]);
    announcements.push_back(created_event(order));
  }
  std::vector<std::string> hold_id, hold_quantity;
  for (const auto& [id, quantity] : columns.hold) {
    hold_id.push_back(id);
    hold_quantity.push_back(std::to_string(quantity));
  }

  auto pipeline = pg::Pipeline::begin(connection);
  pipeline.add("SELECT id FROM products WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", hold_id);
  const auto inserted = pipeline.add(
      "WITH held AS ("
      "  UPDATE products p SET held = p.held + w.q, updated_at = now() "
      "  FROM unnest($1::text[], $2::bigint[]) AS w(id, q) "
      "  WHERE p.id = w.id AND p.total_stock - p.held - p.sold >= w.q RETURNING p.id) "
      "INSERT INTO orders (id, user_id, status, fulfilment, total_amount, currency, expires_at, idempotency_key, "
      "created_at, updated_at) "
      "SELECT o.id, o.user_id, o.status, o.fulfilment, o.total, o.currency, o.expires_at, NULLIF(o.key, ''), "
      "o.created_at, o.created_at "
      "FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::timestamptz[], "
      "$10::text[], $11::timestamptz[]) "
      "AS o(id, user_id, status, fulfilment, total, currency, expires_at, key, created_at) "
      "WHERE (SELECT count(*) FROM held) = cardinality($1::text[])",
      hold_id, hold_quantity, columns.id, columns.user, columns.status, columns.fulfilment, columns.total,
      columns.currency, columns.expires, columns.key, columns.at);
  pipeline.add(
      "INSERT INTO order_items (order_id, line, product_id, quantity, unit_price) "
      "SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::bigint[], $5::bigint[])",
      columns.item_order, columns.item_line, columns.item_product, columns.item_quantity, columns.item_price);
  if (auto queued = queue_outbox(pipeline, announcements, "order"); !queued) return queued;
  if (auto committed = pipeline.commit(); !committed) {
    // No order row inserted: a hold failed, and the items' foreign key aborted the rest.
    if (pipeline.ran(inserted) && pipeline.rows(inserted).affected() == 0) {
      return core::make_error(core::ErrorCategory::conflict, "out-of-stock",
                              "not enough stock: another order took it first");
    }
    return committed;
  }
  StoreMetrics::get().created.Increment(static_cast<double>(placed.size()));
  return {};
}

// Reads, decides and writes `requests` together. nullopt: the write failed (a race
// with another transaction); `error` then says why.
std::optional<std::vector<core::Result<PlacedOrder>>> place_together(pg::Connection& connection,
                                                                     std::span<const OrderRequest> requests,
                                                                     std::span<const core::TraceContext> traces,
                                                                     const OrderSettings& settings,
                                                                     core::SystemTime now, core::Error& error) {
  PlacementView view;
  if (auto read = read_view(connection, requests, view); !read) {
    return std::vector<core::Result<PlacedOrder>>(requests.size(), read.error());
  }
  std::vector<Order> drafts;
  drafts.reserve(requests.size());
  for (const auto& request : requests) {
    drafts.push_back(new_order(request, core::new_uuid_v7(), now, settings.ttl, settings.currency));
  }
  const auto placements = decide_orders(requests, drafts, view, now);
  std::vector<const Placement*> placed;
  std::vector<std::size_t> request_of;
  for (std::size_t i = 0; i < placements.size(); ++i) {
    if (placements[i].verdict == Verdict::place) {
      placed.push_back(&placements[i]);
      request_of.push_back(i);
    }
  }
  if (!placed.empty()) {
    if (auto written = write_orders(connection, placed, requests, traces, request_of); !written) {
      error = written.error();
      return std::nullopt;
    }
  }
  std::vector<core::Result<PlacedOrder>> results;
  results.reserve(placements.size());
  for (const auto& p : placements) {
    if (p.verdict == Verdict::refuse) {
      results.emplace_back(p.error);
    } else {
      results.emplace_back(PlacedOrder{p.order, p.verdict == Verdict::replay});
    }
  }
  return results;
}

void count_refusals(const std::vector<core::Result<PlacedOrder>>& results) {
  for (const auto& r : results) {
    if (!r && r.error().code == "out-of-stock") StoreMetrics::get().out_of_stock.Increment();
  }
}

}  // namespace

std::vector<core::Result<PlacedOrder>> place_orders(pg::Connection& connection, std::span<const OrderRequest> requests,
                                                    std::span<const core::TraceContext> traces,
                                                    const OrderSettings& settings, core::SystemTime now) {
  StoreMetrics::get().batch_size.Observe(static_cast<double>(requests.size()));
  core::Error error;
  if (auto together = place_together(connection, requests, traces, settings, now, error)) {
    count_refusals(*together);
    return std::move(*together);
  }
  std::vector<core::Result<PlacedOrder>> results;
  if (requests.size() == 1) {
    // Two requests racing with one Idempotency-Key: the loser hits the unique
    // constraint, then its second read finds the winner's order and replays it.
    if (pg::is_unique_violation(error, "orders_idempotency_key")) {
      if (auto again = place_together(connection, requests, traces, settings, now, error)) results = std::move(*again);
    }
    if (results.empty()) results.emplace_back(error);
  } else {
    // Another transaction took stock (or a key) this batch counted on: each request on
    // its own, so one's failure never decides another's answer.
    StoreMetrics::get().batch_replays.Increment();
    spdlog::debug("order batch of {} placed request by request: {}", requests.size(), error.message);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto one = place_orders(connection, requests.subspan(i, 1), traces.subspan(i, 1), settings, now);
      results.push_back(std::move(one.front()));
    }
    return results;  // each counted in its own call
  }
  count_refusals(results);
  return results;
}

core::Result<PlacedOrder> place_order(pg::Connection& connection, const OrderRequest& request,
                                      const OrderSettings& settings, core::SystemTime now) {
  const auto trace = core::current_trace().trace_id.empty() ? core::TraceContext::generate() : core::current_trace();
  return place_orders(connection, std::span(&request, 1), std::span(&trace, 1), settings, now).front();
}

core::Result<std::map<std::string, Order>> lock_orders(pg::Transaction& tx, const std::set<std::string>& order_ids) {
  static const std::string sql =
      "SELECT " + order_columns +
      ", asked.id FROM orders o JOIN unnest($1::text[]) AS asked(id) ON o.id = asked.id::uuid "
      "ORDER BY o.id FOR UPDATE OF o";
  auto rows = tx.exec(sql, std::vector<std::string>(order_ids.begin(), order_ids.end()));
  if (!rows) return rows.error();
  std::map<std::string, Order> locked;
  for (int i = 0; i < rows->size(); ++i) {
    auto order = order_from(*rows, i);
    if (!order) return order.error();
    locked.emplace(rows->str(i, order_column_count), std::move(order).value());
  }
  return locked;
}

core::Status write_changes(pg::Transaction& tx, std::span<const Change> changes, core::SystemTime now) {
  // Each order's last state: a later change of an order was decided on the earlier's.
  std::map<std::string, const Order*> last;
  std::map<StockMove, std::map<std::string, std::int64_t>> moves;  // per product, sorted by id
  std::set<std::string> moved, sold;
  std::vector<events::Event> announcements;
  for (const auto& change : changes) {
    last[change.after.id] = &change.after;
    if (change.stock != StockMove::none) {
      for (const auto& item : change.after.items) {
        moves[change.stock][item.product_id] += item.quantity;
        moved.insert(item.product_id);
        if (change.stock == StockMove::sell) sold.insert(item.product_id);
      }
    }
    announcements.insert(announcements.end(), change.events.begin(), change.events.end());
  }
  if (last.empty()) return {};
  std::vector<std::string> ids, statuses, payments, reasons, updated, paid, refunds;  // "" stands for NULL
  for (const auto& [id, after] : last) {
    ids.push_back(id);
    statuses.emplace_back(to_string(after->status));
    payments.push_back(after->payment_id.value_or(""));
    reasons.push_back(after->cancel_reason.value_or(""));
    updated.push_back(after->updated_at);
    paid.push_back(after->paid_at.value_or(""));
    refunds.push_back(after->refund_reason.value_or(""));
  }

  auto pipeline = pg::Pipeline::within(tx);
  pipeline.add(
      "UPDATE orders o SET status = v.status, payment_id = NULLIF(v.payment, '')::uuid, "
      "cancel_reason = NULLIF(v.reason, ''), updated_at = v.updated, paid_at = NULLIF(v.paid, '')::timestamptz, "
      "refund_reason = NULLIF(v.refund, '') "
      "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[]) "
      "AS v(id, status, payment, reason, updated, paid, refund) WHERE o.id = v.id",
      ids, statuses, payments, reasons, updated, paid, refunds);
  pg::Pipeline::Handle sold_out;
  if (!moved.empty()) {
    lock_products(pipeline, std::vector<std::string>(moved.begin(), moved.end()));
    // A refund first: a sale in the same call may sell out again what it put back.
    for (const auto move : {StockMove::unsell, StockMove::release, StockMove::sell}) {
      move_stock(pipeline, moves[move], move);
    }
  }
  if (!sold.empty()) {
    // sold_out_at goes from NULL to a time once, under the product's lock: one
    // product.sold-out per product, whatever order sells its last unit.
    static const std::string sold_out_sql =
        "UPDATE products SET sold_out_at = $2 WHERE id = ANY($1::text[]) AND sold_out_at IS NULL "
        "AND sold >= total_stock RETURNING id, name, total_stock, " +
        pg::rfc3339_sql("sale_opens_at") + ", " + pg::rfc3339_sql("sold_out_at") + ", event_date";
    sold_out = pipeline.add(sold_out_sql, std::vector<std::string>(sold.begin(), sold.end()),
                            core::format_rfc3339(now));
  }
  if (auto queued = queue_outbox(pipeline, announcements, "order"); !queued) return queued;
  if (auto written = pipeline.flush(); !written) return written;

  const auto& rows = pipeline.rows(sold_out);
  if (!rows.empty()) {
    std::vector<contracts::ProductSoldOut> products;
    for (int i = 0; i < rows.size(); ++i) {
      products.push_back({rows.str(i, 0), rows.str(i, 1), rows.integer(i, 2), rows.str(i, 3), rows.str(i, 4),
                          rows.optional_str(i, 5)});
      spdlog::info("product {} sold out", products.back().product_id);
    }
    if (auto queued = queue_outbox(pipeline, sold_out_events(products), "product"); !queued) return queued;
    if (auto written = pipeline.flush(); !written) return written;
    StoreMetrics::get().sold_out.Increment(static_cast<double>(products.size()));
  }
  return {};
}

core::Result<Order> apply_decision(pg::Transaction& tx, const Order& order, const Decision& decision,
                                   const std::optional<PaymentRef>& payment, core::SystemTime now) {
  if (decision.effect == Effect::none) return order;
  auto change = change_for(order, decision, payment, now);
  if (!change) return change.error();
  if (auto written = write_changes(tx, std::span(&*change, 1), now); !written) return written.error();
  return change->after;
}

core::Result<std::size_t> expire_batch(pg::Connection& connection, core::SystemTime deadline, std::size_t limit,
                                       core::SystemTime now) {
  static const std::string due_sql = "SELECT " + order_columns +
                                     " FROM orders o WHERE o.status = 'PENDING_PAYMENT' AND o.expires_at <= $1 "
                                     "ORDER BY o.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED";
  auto pipeline = pg::Pipeline::begin(connection);
  auto due = pipeline.exec(due_sql, core::format_rfc3339(deadline), static_cast<std::int64_t>(limit));
  if (!due) return due.error();

  std::vector<Order> expiring;
  std::vector<std::string> ids, statuses, reasons;
  std::vector<events::Event> announcements;
  for (int i = 0; i < due->size(); ++i) {
    auto order = order_from(*due, i);
    if (!order) return order.error();
    const auto decision = decide_expiry(*order);
    auto change = change_for(*order, decision, std::nullopt, now);
    if (!change || change->stock != StockMove::release) {  // cannot happen: the query took PENDING_PAYMENT orders only
      core::log::error({{core::log::key::order_id, order->id}}, "order expiry refused: {}",
                       change ? decision.note : change.error().message);
      continue;
    }
    ids.push_back(change->after.id);
    statuses.emplace_back(to_string(change->after.status));
    reasons.push_back(change->after.cancel_reason.value_or(""));
    for (auto& event : change->events) announcements.push_back(std::move(event));
    expiring.push_back(std::move(order).value());
  }
  if (expiring.empty()) return std::size_t{0};
  std::vector<const Order*> released;
  for (const auto& o : expiring) released.push_back(&o);

  pipeline.add(
      "UPDATE orders o SET status = v.status, cancel_reason = v.reason, updated_at = $4 "
      "FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, status, reason) WHERE o.id = v.id",
      ids, statuses, reasons, core::format_rfc3339(now));
  move_held(pipeline, quantities(released), StockMove::release);
  if (auto queued = queue_outbox(pipeline, announcements, "order"); !queued) return queued.error();
  if (auto committed = pipeline.commit(); !committed) return committed.error();
  StoreMetrics::get().expired.Increment(static_cast<double>(expiring.size()));
  return expiring.size();
}

}  // namespace paypipe::order_processor
