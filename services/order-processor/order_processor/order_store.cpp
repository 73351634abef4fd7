#include "order_processor/order_store.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "contracts/order_cancelled.hpp"
#include "contracts/order_completed.hpp"
#include "contracts/order_created.hpp"
#include "contracts/payment_refund_requested.hpp"
#include "contracts/product_sold_out.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "core/trace.hpp"
#include "core/uuid.hpp"
#include "events/outbox.hpp"

namespace paypipe::order_processor {

namespace {

using Statement = pg::Connection::Statement;

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
        prometheus::BuildCounter().Name("products_sold_out_total").Help("Products whose last unit was sold").Register(r).Add({}),
        prometheus::BuildHistogram().Name("order_batch_size").Help("Order requests placed per transaction").Register(r).Add(
            {}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256}),
        prometheus::BuildCounter().Name("order_batch_replays_total").Help("Order batches placed request by request after a race").Register(r).Add({}),
    };
    return m;
  }
};

const std::string product_columns =
    "id, name, unit_price, currency, total_stock, held, sold, (extract(epoch FROM sale_opens_at) * 1000)::bigint, " +
    pg::rfc3339_sql("sold_out_at") + ", " + pg::rfc3339_sql("created_at") + ", " + pg::rfc3339_sql("updated_at");

Product product_from(const pg::Rows& rows, int row) {
  return Product{rows.str(row, 0),     rows.str(row, 1),     rows.integer(row, 2),
                 rows.str(row, 3),     rows.integer(row, 4), rows.integer(row, 5),
                 rows.integer(row, 6), core::from_unix_ms(rows.integer(row, 7)),
                 rows.optional_str(row, 8), rows.str(row, 9), rows.str(row, 10)};
}

// The items come back as one JSON array per order, read with the contract's own reader.
const std::string order_columns =
    "o.id::text, o.user_id, o.status, o.fulfilment, o.total_amount, o.currency, " + pg::rfc3339_sql("o.expires_at") +
    ", " + pg::rfc3339_sql("o.created_at") + ", " + pg::rfc3339_sql("o.updated_at") +
    ", o.payment_id::text, o.cancel_reason, "
    "(SELECT coalesce(json_agg(json_build_object('productId', i.product_id, 'quantity', i.quantity, "
    "'unitPrice', i.unit_price) ORDER BY i.line), '[]') FROM order_items i WHERE i.order_id = o.id)";

core::Result<Order> order_from(const pg::Rows& rows, int row) {
  Order o;
  o.id = rows.str(row, 0);
  o.user_id = rows.str(row, 1);
  const auto status = parse_status(rows.text(row, 2));
  if (!status) {
    return core::make_error(core::ErrorCategory::internal, "bad-stored-status", "order " + o.id + " has status " + rows.str(row, 2));
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
  auto doc = core::json::parse("{\"items\":" + rows.str(row, 11) + "}");
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  o.items = contracts::read_items(in, "items");
  if (auto s = in.status(); !s) {
    return core::make_error(core::ErrorCategory::internal, "bad-stored-items", "order " + o.id + ": " + s.error().message);
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

// The first real error of a pipeline (statements skipped after it only say "aborted").
core::Status first_error(const std::vector<core::Result<pg::Rows>>& results) {
  for (const auto& r : results) {
    if (!r && r.error().code != "pg-pipeline-aborted") return r.error();
  }
  for (const auto& r : results) {
    if (!r) return r.error();
  }
  return {};
}

core::Result<std::vector<core::Result<pg::Rows>>> run(pg::Connection& connection, const std::vector<Statement>& statements) {
  auto results = connection.exec_pipeline(statements);
  if (!results) return results.error();
  if (auto s = first_error(*results); !s) return s.error();
  return results;
}

void roll_back(pg::Connection& connection) {
  if (PQtransactionStatus(connection.native()) != PQTRANS_IDLE) (void)connection.exec("ROLLBACK");
}

// Per product, the quantity the orders hold; a std::map keeps the product ids sorted.
std::map<std::string, std::int64_t> quantities(const std::vector<const Order*>& orders) {
  std::map<std::string, std::int64_t> by_product;
  for (const auto* order : orders) {
    for (const auto& item : order->items) by_product[item.product_id] += item.quantity;
  }
  return by_product;
}

// Locks the products in id order, then moves `by_product` out of `held`, into `sold`
// when `sell` (a paid order) or back to available (a released hold).
void move_held(std::vector<Statement>& statements, const std::map<std::string, std::int64_t>& by_product, bool sell) {
  std::vector<std::string> ids, counts;
  for (const auto& [id, quantity] : by_product) {
    ids.push_back(id);
    counts.push_back(std::to_string(quantity));
  }
  statements.push_back({"SELECT id FROM products WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", {pg::to_param(ids)}});
  statements.push_back(
      {sell ? "UPDATE products p SET held = p.held - m.q, sold = p.sold + m.q, updated_at = now() "
              "FROM unnest($1::text[], $2::bigint[]) AS m(id, q) WHERE p.id = m.id"
            : "UPDATE products p SET held = p.held - m.q, updated_at = now() "
              "FROM unnest($1::text[], $2::bigint[]) AS m(id, q) WHERE p.id = m.id",
       {pg::to_param(ids), pg::to_param(counts)}});
}

events::Event order_event(std::string type, const std::string& key, std::string data) {
  return events::make_event(std::move(type), std::string(event_source), key, std::move(data));
}

contracts::OrderCancelled cancelled_data(const Order& order, const std::string& reason, const std::string& at) {
  return contracts::OrderCancelled{order.id, order.user_id, reason, order.items, order.total_amount, order.currency, at};
}

}  // namespace

core::Result<ProductWrite> create_product(pg::Connection& connection, const ProductSpec& spec,
                                          const std::string& currency) {
  static const std::string insert =
      "INSERT INTO products (id, name, unit_price, currency, total_stock, sale_opens_at) "
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING " + product_columns;
  auto inserted = connection.exec(insert, spec.id, spec.name, spec.unit_price, currency, spec.total_stock,
                                  core::format_rfc3339(spec.sale_opens_at));
  if (!inserted) return inserted.error();
  if (!inserted->empty()) return ProductWrite{product_from(*inserted, 0), true};
  auto existing = find_product(connection, spec.id);
  if (!existing) return existing.error();
  if (!*existing) {
    return core::make_error(core::ErrorCategory::unavailable, "product-vanished", "product " + spec.id + " vanished; retry");
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
  std::vector<Statement> reads{{products_sql, {pg::to_param(std::vector<std::string>(ids.begin(), ids.end()))}}};
  if (!keys.empty()) reads.push_back({by_key_sql, {pg::to_param(users), pg::to_param(keys)}});
  auto read = run(connection, reads);
  if (!read) return read.error();
  const auto& products = *(*read)[0];
  for (int i = 0; i < products.size(); ++i) view.products.emplace(products.str(i, 0), product_from(products, i));
  if (!keys.empty()) {
    const auto& earlier = *(*read)[1];
    for (int i = 0; i < earlier.size(); ++i) {
      auto order = order_from(earlier, i);
      if (!order) return order.error();
      view.by_key.emplace(std::pair{order->user_id, earlier.str(i, 12)}, std::move(order).value());
    }
  }
  return {};
}

// The write of a placement, one pipelined round trip ending in COMMIT: lock the
// products in id order, hold every order's stock with one conditional UPDATE, insert
// the orders only if every product could be held (the CTE), their items (whose
// foreign key fails, aborting everything, if the orders were not inserted), and
// order.created for each. All or nothing: out-of-stock (conflict) if another
// transaction took the stock since the read.
core::Status write_orders(pg::Connection& connection, const std::vector<const Placement*>& placed,
                          std::span<const OrderRequest> requests, std::span<const core::TraceContext> traces,
                          const std::vector<std::size_t>& request_of) {
  std::map<std::string, std::int64_t> hold;
  std::vector<std::string> o_id, o_user, o_status, o_fulfilment, o_total, o_currency, o_expires, o_key, o_at;
  std::vector<std::string> i_order, i_line, i_product, i_quantity, i_price;
  std::vector<events::Event> announcements;
  for (std::size_t n = 0; n < placed.size(); ++n) {
    const auto& order = placed[n]->order;
    const auto& request = requests[request_of[n]];
    // CREATED -> PENDING_PAYMENT happens inside this transaction: CREATED is never stored.
    if (auto ok = walk(OrderStatus::created, std::vector{order.status}); !ok) return ok.error();
    o_id.push_back(order.id);
    o_user.push_back(order.user_id);
    o_status.push_back(std::string(to_string(order.status)));
    o_fulfilment.push_back(order.fulfilment);
    o_total.push_back(std::to_string(order.total_amount));
    o_currency.push_back(order.currency);
    o_expires.push_back(order.expires_at);
    o_key.push_back(request.idempotency_key.value_or(""));  // keys are never empty: "" stands for none
    o_at.push_back(order.created_at);
    for (std::size_t line = 0; line < order.items.size(); ++line) {
      const auto& item = order.items[line];
      hold[item.product_id] += item.quantity;
      i_order.push_back(order.id);
      i_line.push_back(std::to_string(line + 1));
      i_product.push_back(item.product_id);
      i_quantity.push_back(std::to_string(item.quantity));
      i_price.push_back(std::to_string(item.unit_price));
    }
    core::TraceScope scope(traces[request_of[n]]);
    announcements.push_back(order_event(
        "order.created", order.id,
        contracts::encode(contracts::OrderCreated{order.id, order.user_id, order.items, order.total_amount,
                                                  order.currency, order.fulfilment, order.expires_at,
                                                  order.created_at})));
  }
  std::vector<std::string> h_id, h_quantity;
  for (const auto& [id, quantity] : hold) {
    h_id.push_back(id);
    h_quantity.push_back(std::to_string(quantity));
  }
  auto outbox = events::outbox_insert(announcements, "order");
  if (!outbox) return outbox.error();

  const std::vector<Statement> statements{
      {"BEGIN", {}},
      {"SELECT id FROM products WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", {pg::to_param(h_id)}},
      {"WITH held AS ("
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
       {pg::to_param(h_id), pg::to_param(h_quantity), pg::to_param(o_id), pg::to_param(o_user),
        pg::to_param(o_status), pg::to_param(o_fulfilment), pg::to_param(o_total), pg::to_param(o_currency),
        pg::to_param(o_expires), pg::to_param(o_key), pg::to_param(o_at)}},
      {"INSERT INTO order_items (order_id, line, product_id, quantity, unit_price) "
       "SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::bigint[], $5::bigint[])",
       {pg::to_param(i_order), pg::to_param(i_line), pg::to_param(i_product), pg::to_param(i_quantity),
        pg::to_param(i_price)}},
      std::move(outbox).value(),
      {"COMMIT", {}},
  };
  auto results = connection.exec_pipeline(statements);
  if (!results) {
    roll_back(connection);
    return results.error();
  }
  const auto& inserted = (*results)[2];
  if (inserted && inserted->affected() == 0) {
    roll_back(connection);
    return core::make_error(core::ErrorCategory::conflict, "out-of-stock",
                            "not enough stock: another order took it first");
  }
  if (auto s = first_error(*results); !s) {
    roll_back(connection);
    return s.error();
  }
  if ((*results)[5]->command() == "ROLLBACK") {
    return core::make_error(core::ErrorCategory::unavailable, "commit-failed", "the commit failed; retry");
  }
  events::notify_outbox_committed();
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
    if (error.code == "unique-violation:orders_idempotency_key") {
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

core::Result<Order> apply_decision(pg::Transaction& tx, const Order& order, const Decision& decision,
                                   const std::optional<PaymentRef>& payment, core::SystemTime now) {
  if (decision.effect == Effect::none) return order;
  auto final_status = walk(order.status, decision.path);
  if (!final_status) return final_status.error();
  Order after = order;
  after.status = *final_status;
  after.updated_at = core::format_rfc3339(now);
  const bool records_payment = decision.effect == Effect::complete || decision.effect == Effect::request_refund;
  if (records_payment) {
    if (!payment) {
      return core::make_error(core::ErrorCategory::internal, "payment-missing", "a payment is needed to complete or refund");
    }
    after.payment_id = payment->payment_id;
  }
  if (decision.effect == Effect::cancel) after.cancel_reason = decision.reason;

  std::vector<Statement> statements{
      {"UPDATE orders SET status = $2, payment_id = $3, cancel_reason = $4, updated_at = $5 WHERE id = $1",
       {pg::to_param(after.id), pg::to_param(to_string(after.status)), pg::to_param(after.payment_id),
        pg::to_param(after.cancel_reason), pg::to_param(after.updated_at)}}};
  std::vector<events::Event> announcements;
  std::size_t sold_out_query = 0;
  switch (decision.effect) {
    case Effect::complete: {
      move_held(statements, quantities({&order}), true);
      std::vector<std::string> ids;
      for (const auto& item : order.items) ids.push_back(item.product_id);
      // sold_out_at goes from NULL to a time once, under the product's lock: one
      // product.sold-out per product, whatever order sells its last unit.
      static const std::string sold_out_sql =
          "UPDATE products SET sold_out_at = $2 WHERE id = ANY($1::text[]) AND sold_out_at IS NULL "
          "AND sold >= total_stock RETURNING id, name, total_stock, " +
          pg::rfc3339_sql("sale_opens_at") + ", " + pg::rfc3339_sql("sold_out_at");
      statements.push_back({sold_out_sql, {pg::to_param(ids), pg::to_param(after.updated_at)}});
      sold_out_query = statements.size() - 1;
      announcements.push_back(order_event(
          "order.completed", order.id,
          contracts::encode(contracts::OrderCompleted{order.id, order.user_id, order.items, order.total_amount,
                                                      order.currency, order.fulfilment, payment->payment_id,
                                                      after.updated_at})));
      break;
    }
    case Effect::cancel:
      move_held(statements, quantities({&order}), false);
      announcements.push_back(
          order_event("order.cancelled", order.id, contracts::encode(cancelled_data(order, decision.reason, after.updated_at))));
      break;
    case Effect::request_refund:
      announcements.push_back(order_event(
          "payment.refund-requested", order.id,
          contracts::encode(contracts::PaymentRefundRequested{payment->payment_id, order.id, order.user_id,
                                                              payment->amount, payment->currency, decision.reason,
                                                              after.updated_at})));
      break;
    case Effect::mark_refunded:
    case Effect::advance:
    case Effect::none:
      break;
  }
  if (!announcements.empty()) {
    auto outbox = events::outbox_insert(announcements, "order");
    if (!outbox) return outbox.error();
    statements.push_back(std::move(outbox).value());
  }
  auto results = run(tx.connection(), statements);
  if (!results) return results.error();

  if (sold_out_query != 0) {
    const auto& sold_out = *(*results)[sold_out_query];
    std::vector<events::Event> products;
    for (int i = 0; i < sold_out.size(); ++i) {
      const contracts::ProductSoldOut data{sold_out.str(i, 0), sold_out.str(i, 1), sold_out.integer(i, 2),
                                           sold_out.str(i, 3), sold_out.str(i, 4)};
      products.push_back(order_event("product.sold-out", data.product_id, contracts::encode(data)));
      spdlog::info("product {} sold out", data.product_id);
    }
    if (!products.empty()) {
      auto outbox = events::outbox_insert(products, "product");
      if (!outbox) return outbox.error();
      auto inserted = tx.connection().exec_params(outbox->sql, outbox->params);
      if (!inserted) return inserted.error();
      StoreMetrics::get().sold_out.Increment(static_cast<double>(products.size()));
    }
  }
  tx.after_commit([] { events::notify_outbox_committed(); });
  return after;
}

core::Result<std::size_t> expire_batch(pg::Connection& connection, core::SystemTime deadline, std::size_t limit,
                                       core::SystemTime now) {
  static const std::string due_sql =
      "SELECT " + order_columns +
      " FROM orders o WHERE o.status = 'PENDING_PAYMENT' AND o.expires_at <= $1 "
      "ORDER BY o.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED";
  auto tx = pg::Transaction::begin(connection);
  if (!tx) return tx.error();
  auto due = tx->exec(due_sql, core::format_rfc3339(deadline), static_cast<std::int64_t>(limit));
  if (!due) return due.error();
  if (due->empty()) return std::size_t{0};

  const auto at = core::format_rfc3339(now);
  std::vector<Order> orders;
  std::vector<std::string> ids;
  std::vector<events::Event> announcements;
  for (int i = 0; i < due->size(); ++i) {
    auto order = order_from(*due, i);
    if (!order) return order.error();
    const auto decision = decide_expiry(*order);
    if (decision.effect != Effect::cancel) {  // cannot happen: the query took PENDING_PAYMENT orders only
      spdlog::error("expiry of order {} refused: {}", order->id, decision.note);
      continue;
    }
    ids.push_back(order->id);
    announcements.push_back(order_event("order.cancelled", order->id,
                                        contracts::encode(cancelled_data(*order, decision.reason, at))));
    orders.push_back(std::move(order).value());
  }
  if (orders.empty()) return std::size_t{0};
  std::vector<const Order*> expiring;
  for (const auto& o : orders) expiring.push_back(&o);

  std::vector<Statement> statements{
      {"UPDATE orders SET status = $2, cancel_reason = $3, updated_at = $4 WHERE id = ANY($1::uuid[])",
       {pg::to_param(ids), pg::to_param(to_string(OrderStatus::expired)), pg::to_param("EXPIRED"), pg::to_param(at)}}};
  move_held(statements, quantities(expiring), false);
  auto outbox = events::outbox_insert(announcements, "order");
  if (!outbox) return outbox.error();
  statements.push_back(std::move(outbox).value());
  auto results = run(tx->connection(), statements);
  if (!results) return results.error();
  tx->after_commit([] { events::notify_outbox_committed(); });
  if (auto s = tx->commit(); !s) return s.error();
  StoreMetrics::get().expired.Increment(static_cast<double>(orders.size()));
  return orders.size();
}

}  // namespace paypipe::order_processor
