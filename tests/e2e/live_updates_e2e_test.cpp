// Live order updates end to end: order-processor and payment-api as processes, watched
// by real stream clients on plain sockets (an SSE reader, and a minimal RFC 6455
// WebSocket client). Every step of an order arrives once and in order; a stream resumes
// after a restart of the daemon without losing or repeating an update; a user's stream
// never carries another user's orders; the caps and the refusals answer as documented.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <set>

#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

const std::string admin_token = "e2e-live-admin-token";

struct Update {
  std::int64_t id = 0;
  std::string type;
  std::string order_id;
  std::string status;
};

Update from_data(std::int64_t id, std::string type, const rapidjson::Value& data) {
  REQUIRE(data.IsObject());
  Update u{id, std::move(type), "", ""};
  if (data.HasMember("orderId")) u.order_id = data["orderId"].GetString();
  if (data.HasMember("requestId")) u.order_id = data["requestId"].GetString();  // coupon requests
  if (data.HasMember("status")) u.status = data["status"].GetString();
  return u;
}

Update parse_update(std::int64_t id, std::string type, const std::string& data) {
  auto doc = core::json::parse(data);
  REQUIRE(doc.ok());
  return from_data(id, std::move(type), *doc);
}

// A blocking TCP connection to the daemon with reads bounded by a deadline.
class Socket {
 public:
  explicit Socket(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~Socket() { close(); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // Appends what arrives to `buffer_` until `enough()` or the deadline; false on timeout or close.
  bool read_until(const std::function<bool()>& enough, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!enough()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                              std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        closed_ = true;
        return enough();
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }
  std::string& buffer() { return buffer_; }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  std::string buffer_;
  bool closed_ = false;
};

std::string request_head(const std::string& user, const std::vector<std::string>& extra, const std::string& path) {
  std::string head = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " +
                     testing::Identity::shared().token(user) + "\r\n";
  for (const auto& line : extra) head += line + "\r\n";
  return head + "\r\n";
}

// Reads the status line and headers; returns the status.
int read_head(Socket& socket) {
  REQUIRE(socket.read_until([&] { return socket.buffer().find("\r\n\r\n") != std::string::npos; }, 10s));
  const auto& b = socket.buffer();
  const int status = std::stoi(b.substr(b.find(' ') + 1, 3));
  socket.buffer().erase(0, b.find("\r\n\r\n") + 4);
  return status;
}

class SseClient {
 public:
  SseClient(std::uint16_t port, const std::string& user, std::optional<std::int64_t> last_id = std::nullopt,
            const std::string& path = "/v1/orders/stream")
      : socket_(port) {
    std::vector<std::string> extra{"Accept: text/event-stream"};
    if (last_id) extra.push_back("Last-Event-ID: " + std::to_string(*last_id));
    socket_.send(request_head(user, extra, path));
    status_ = read_head(socket_);
    if (status_ == 200) {  // the ": open" comment: the hub holds the stream now
      REQUIRE(socket_.read_until([&] { return socket_.buffer().find("\n\n") != std::string::npos; }, 10s));
    }
  }
  int status() const { return status_; }

  // The next update (comments skipped), or nullopt when none arrives in time.
  std::optional<Update> next(std::chrono::milliseconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto& b = socket_.buffer();
      const auto end = b.find("\n\n");
      if (end != std::string::npos) {
        const auto frame = b.substr(0, end);
        b.erase(0, end + 2);
        if (frame.rfind(':', 0) == 0) continue;  // heartbeat or open comment
        std::int64_t id = 0;
        std::string type;
        std::string data;
        std::size_t start = 0;
        while (start < frame.size()) {
          auto line_end = frame.find('\n', start);
          if (line_end == std::string::npos) line_end = frame.size();
          const auto line = frame.substr(start, line_end - start);
          if (line.rfind("id: ", 0) == 0) id = std::stoll(line.substr(4));
          if (line.rfind("event: ", 0) == 0) type = line.substr(7);
          if (line.rfind("data: ", 0) == 0) data = line.substr(6);
          start = line_end + 1;
        }
        return parse_update(id, type, data);
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                              std::chrono::steady_clock::now());
      if (left.count() <= 0 || socket_.closed()) return std::nullopt;
      (void)socket_.read_until([&] { return socket_.buffer().find("\n\n") != std::string::npos; }, left);
    }
  }
  void close() { socket_.close(); }

 private:
  Socket socket_;
  int status_ = 0;
};

// Just enough RFC 6455 for a client: the upgrade, unmasked server frames in, masked
// pongs out.
class WsClient {
 public:
  WsClient(std::uint16_t port, const std::string& user, std::optional<std::int64_t> last_id = std::nullopt)
      : socket_(port) {
    const std::string path = "/v1/orders/stream" + (last_id ? "?lastEventId=" + std::to_string(*last_id) : "");
    socket_.send(request_head(user,
                              {"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="},
                              path));
    status_ = read_head(socket_);
  }
  int status() const { return status_; }

  std::optional<Update> next(std::chrono::milliseconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto& b = socket_.buffer();
      if (b.size() >= 2) {
        const auto opcode = static_cast<unsigned char>(b[0]) & 0x0f;
        std::size_t length = static_cast<unsigned char>(b[1]) & 0x7f;
        std::size_t header = 2;
        if (length == 126 && b.size() >= 4) {
          length = (static_cast<unsigned char>(b[2]) << 8) | static_cast<unsigned char>(b[3]);
          header = 4;
        } else if (length == 127) {
          FAIL("a frame over 64 KiB");
        }
        if (length != 126 && b.size() >= header + length) {
          const auto payload = b.substr(header, length);
          b.erase(0, header + length);
          if (opcode == 0x9) {  // ping: answer pong, masked with a zero key
            std::string pong{static_cast<char>(0x8a), static_cast<char>(0x80 | payload.size()), 0, 0, 0, 0};
            socket_.send(pong + payload);
            continue;
          }
          if (opcode == 0x8) return std::nullopt;  // close
          if (opcode != 0x1) continue;
          auto doc = core::json::parse(payload);
          REQUIRE(doc.ok());
          return from_data((*doc)["id"].GetInt64(), (*doc)["type"].GetString(), (*doc)["data"]);
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                              std::chrono::steady_clock::now());
      if (left.count() <= 0 || socket_.closed()) return std::nullopt;
      const auto had = b.size();
      (void)socket_.read_until([&] { return socket_.buffer().size() > had; }, left);
    }
  }

 private:
  Socket socket_;
  int status_ = 0;
};

std::string text_field(const std::string& body, const char* name) {
  auto doc = core::json::parse(body);
  REQUIRE(doc.ok());
  REQUIRE(doc->HasMember(name));
  return (*doc)[name].GetString();
}

struct Shop {
  testing::System system;
  testing::Daemon payments;
  testing::Daemon orders;

  Shop()
      : payments(system, "payment-api", {{"PAYPIPE_STREAM_HEARTBEAT_MS", "500"}, {"PAYPIPE_STREAM_POLL_MS", "200"}}),
        orders(system, "order-processor",
               {{"PAYPIPE_ADMIN_TOKEN", admin_token},
                {"PAYPIPE_STREAM_HEARTBEAT_MS", "500"},
                {"PAYPIPE_STREAM_POLL_MS", "200"},
                {"PAYPIPE_STREAM_MAX_PER_USER", "3"}}) {
    payments.wait_ready();
    orders.wait_ready();
  }

  void product(const std::string& id, std::int64_t stock) {
    const auto body = R"({"productId":")" + id + R"(","name":"Product )" + id + R"(","unitPrice":1000,"totalStock":)" +
                      std::to_string(stock) + R"(,"saleOpensAt":")" + core::format_rfc3339(core::now_ms() - 1h) + "\"}";
    auto r = orders.post("/v1/products", body, {{"Authorization", "Bearer " + admin_token}});
    REQUIRE(r.ok());
    REQUIRE(r->status == 201);
  }

  std::string place(const std::string& user, const std::string& product, const std::string& fulfilment = "WAREHOUSE") {
    auto r = orders.post("/v1/orders",
                         R"({"items":[{"productId":")" + product +
                             R"(","quantity":1,"unitPrice":1000}],)"
                             R"("fulfilment":")" +
                             fulfilment + "\"}",
                         {testing::bearer(user)});
    REQUIRE(r.ok());
    INFO(r->body);
    REQUIRE(r->status == 201);
    const auto id = text_field(r->body, "orderId");
    CHECK(text_field(r->body, "statusUrl") == "/v1/orders/" + id);
    CHECK(text_field(r->body, "streamUrl") == "/v1/orders/stream");
    return id;
  }

  void deposit(const std::string& user, std::int64_t amount) {
    auto r = payments.post("/v1/wallets/" + user + "/deposits", R"({"amount":)" + std::to_string(amount) + "}",
                           {{"Idempotency-Key", core::new_uuid_v7()}, testing::deposit_credential()});
    REQUIRE(r.ok());
    REQUIRE(r->status == 201);
  }

  void pay(const std::string& order_id, const std::string& user) {
    const auto key = core::new_uuid_v7();
    REQUIRE(testing::eventually(
        [&] {
          auto paid = payments.post("/v1/payments", R"({"orderId":")" + order_id + R"(","userId":")" + user + "\"}",
                                    {{"Idempotency-Key", key}, testing::bearer(user)});
          return paid.ok() && paid->status != 404;
        },
        20s, 50ms));
  }
};

std::string user_name(const std::string& who) { return who + "-" + core::new_uuid_v7().substr(0, 8); }

}  // namespace

TEST_CASE("live order updates over SSE and WebSocket: once, in order, own orders only, resumed across a restart") {
  Shop shop;
  const auto product = "live-" + core::new_uuid_v7().substr(0, 8);
  shop.product(product, 100);
  const auto alice = user_name("alice");
  const auto bob = user_name("bob");
  shop.deposit(alice, 100000);

  SseClient alice_sse(shop.orders.port(), alice);
  WsClient alice_ws(shop.orders.port(), alice);
  SseClient bob_sse(shop.orders.port(), bob);
  SseClient alice_payments(shop.payments.port(), alice, std::nullopt, "/v1/payments/stream");
  REQUIRE(alice_payments.status() == 200);
  REQUIRE(alice_sse.status() == 200);
  REQUIRE(alice_ws.status() == 101);
  REQUIRE(bob_sse.status() == 200);

  // Placed, then paid: PENDING_PAYMENT then COMPLETED (WAREHOUSE), ids consecutive, on both.
  const auto order = shop.place(alice, product);
  shop.pay(order, alice);
  std::vector<Update> over_sse;
  std::vector<Update> over_ws;
  while (over_sse.empty() || over_sse.back().status != "COMPLETED") {
    auto u = alice_sse.next();
    REQUIRE(u);
    over_sse.push_back(*u);
  }
  while (over_ws.empty() || over_ws.back().status != "COMPLETED") {
    auto u = alice_ws.next();
    REQUIRE(u);
    over_ws.push_back(*u);
  }
  REQUIRE(over_sse.size() >= 2);
  CHECK(over_sse.front().status == "PENDING_PAYMENT");
  for (std::size_t i = 0; i < over_sse.size(); ++i) {
    CHECK(over_sse[i].order_id == order);
    CHECK(over_sse[i].type == "order.status");
    if (i > 0) CHECK(over_sse[i].id == over_sse[i - 1].id + 1);
    REQUIRE(i < over_ws.size());
    CHECK(over_ws[i].id == over_sse[i].id);
    CHECK(over_ws[i].status == over_sse[i].status);
  }
  CHECK(over_ws.size() == over_sse.size());
  CHECK_FALSE(alice_sse.next(1500ms));  // nothing twice (heartbeats only)

  // payment-api streams the payment the same way.
  auto payment = alice_payments.next();
  REQUIRE(payment);
  CHECK(payment->type == "payment.status");
  CHECK(payment->order_id == order);
  CHECK(payment->status == "COMPLETED");
  CHECK(payment->id == 1);

  // Bob's stream carried none of it: his first update is his own order's.
  const auto bobs = shop.place(bob, product);
  auto first = bob_sse.next();
  REQUIRE(first);
  CHECK(first->order_id == bobs);
  CHECK(first->id == 1);

  // Restart order-processor while alice is away; her order changes meanwhile (a second
  // order paid while the daemon is down completes when it is back). Resuming from the
  // last id she saw gives exactly what she missed.
  const auto last_seen = over_sse.back().id;
  alice_sse.close();
  const auto second = shop.place(alice, product);
  REQUIRE(shop.orders.stop() == 0);
  shop.pay(second, alice);
  shop.orders.start();
  shop.orders.wait_ready();
  SseClient resumed(shop.orders.port(), alice, last_seen);
  REQUIRE(resumed.status() == 200);
  std::vector<Update> missed;
  while (missed.empty() || missed.back().status != "COMPLETED") {
    auto u = resumed.next();
    REQUIRE(u);
    missed.push_back(*u);
  }
  REQUIRE(missed.size() >= 2);
  CHECK(missed.front().id == last_seen + 1);
  CHECK(missed.front().status == "PENDING_PAYMENT");
  for (std::size_t i = 0; i < missed.size(); ++i) {
    CHECK(missed[i].order_id == second);
    if (i > 0) CHECK(missed[i].id == missed[i - 1].id + 1);
  }
  // The WebSocket resume token works the same way.
  WsClient resumed_ws(shop.orders.port(), alice, last_seen);
  REQUIRE(resumed_ws.status() == 101);
  auto again = resumed_ws.next();
  REQUIRE(again);
  CHECK(again->id == last_seen + 1);
  CHECK(again->order_id == second);
}

TEST_CASE("a shipping order's every step arrives once and in order, the admin's advances included") {
  Shop shop;
  const auto product = "ship-" + core::new_uuid_v7().substr(0, 8);
  shop.product(product, 10);
  const auto erin = user_name("erin");
  shop.deposit(erin, 100000);
  WsClient watch(shop.orders.port(), erin);
  REQUIRE(watch.status() == 101);
  const auto order = shop.place(erin, product, "SHIPPING");
  shop.pay(order, erin);
  std::vector<Update> seen;
  auto until = [&](const std::string& status) {
    while (seen.empty() || seen.back().status != status) {
      auto u = watch.next();
      REQUIRE(u);
      seen.push_back(*u);
    }
  };
  until("PREPARING");
  const auto path = "/v1/orders/" + order + "/fulfilment";
  for (const auto* step : {"SHIPMENT_STARTED", "IN_TRANSIT", "COMPLETED"}) {
    auto r = shop.orders.post(path, std::string(R"({"status":")") + step + "\"}",
                              {{"Authorization", "Bearer " + admin_token}});
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    until(step);  // no event announces an advance: the table's tail brings it
  }
  CHECK(seen.front().status == "PENDING_PAYMENT");
  std::set<std::string> statuses;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].order_id == order);
    CHECK(statuses.insert(seen[i].status).second);  // each step once
    if (i > 0) CHECK(seen[i].id == seen[i - 1].id + 1);
  }
  CHECK_FALSE(watch.next(1500ms));
}

TEST_CASE("stream refusals: no token 401, no stream asked for 406, bad id 400, past the per-user cap 503") {
  Shop shop;
  const auto carol = user_name("carol");
  {
    Socket socket(shop.orders.port());
    socket.send("GET /v1/orders/stream HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n");
    CHECK(read_head(socket) == 401);
  }
  {
    Socket socket(shop.orders.port());
    socket.send(request_head(carol, {"Accept: application/json"}, "/v1/orders/stream"));
    CHECK(read_head(socket) == 406);
  }
  {
    Socket socket(shop.orders.port());
    socket.send(request_head(carol, {"Accept: text/event-stream"}, "/v1/orders/stream?lastEventId=x1"));
    CHECK(read_head(socket) == 400);
  }
  std::vector<std::unique_ptr<SseClient>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<SseClient>(shop.orders.port(), carol));
    REQUIRE(open.back()->status() == 200);
  }
  SseClient fourth(shop.orders.port(), carol);
  CHECK(fourth.status() == 503);
  // A client that leaves frees its place (noticed at once: the server reads the socket).
  open.back()->close();
  open.pop_back();
  CHECK(testing::eventually([&] { return SseClient(shop.orders.port(), carol).status() == 200; }, 10s, 100ms));
}

TEST_CASE("a coupon decision arrives on the requester's stream by its signal alone, and marks the request NOTIFIED") {
  testing::System system;
  // The table's tail every minute only: what arrives in time came by a signal (the
  // decision's commit in this replica, or the Kafka feed).
  testing::Daemon issuer(system, "coupon-issuer",
                         {{"PAYPIPE_ADMIN_TOKEN", admin_token}, {"PAYPIPE_STREAM_POLL_MS", "60000"}});
  issuer.wait_ready();
  const auto dave = user_name("dave");
  const auto body = R"({"name":"live","discount":1000,"totalStock":5,"validFrom":")" +
                    core::format_rfc3339(core::now_ms() - 1h) + R"(","validUntil":")" +
                    core::format_rfc3339(core::now_ms() + 24h) + R"("})";
  auto created = issuer.post("/v1/coupons", body, {{"Authorization", "Bearer " + admin_token}});
  REQUIRE(created.ok());
  REQUIRE(created->status == 201);
  const auto coupon = text_field(created->body, "couponId");

  SseClient stream(issuer.port(), dave, std::nullopt, "/v1/coupon-requests/stream");
  REQUIRE(stream.status() == 200);
  auto asked = issuer.post("/v1/coupons/" + coupon + "/issue", "", {testing::bearer(dave)});
  REQUIRE(asked.ok());
  REQUIRE(asked->status == 202);
  CHECK(text_field(asked->body, "streamUrl") == "/v1/coupon-requests/stream");
  const auto status_url = text_field(asked->body, "statusUrl");
  const auto request_id = text_field(asked->body, "requestId");

  std::optional<Update> decided;
  while (!decided || decided->status == "PENDING") {
    decided = stream.next(20s);
    REQUIRE(decided);
    CHECK(decided->type == "coupon-request.status");
    CHECK(decided->order_id == request_id);
  }
  CHECK(decided->status == "ISSUED");
  CHECK(testing::eventually(
      [&] {
        auto r = issuer.get(status_url, {testing::bearer(dave)});
        return r.ok() && r->status == 200 && r->body.find("notifiedAt") != std::string::npos;
      },
      10s, 50ms));
}

TEST_CASE("resuming across pruned updates: a reset first, even when every row the client missed is gone") {
  Shop shop;
  const auto product = "pruned-" + core::new_uuid_v7().substr(0, 8);
  shop.product(product, 10);
  const auto frank = user_name("frank");
  for (int i = 0; i < 3; ++i) (void)shop.place(frank, product);  // updates 1, 2, 3
  auto db = testing::connect(shop.system.schema("order-processor"));
  // frank's updates with an id below `below`.
  auto kept = [&](std::int64_t below) {
    auto rows = db.exec("SELECT count(*) FROM order_updates WHERE user_id = $1 AND id < $2", frank, below);
    REQUIRE(rows.ok());
    return rows->integer(0, 0);
  };
  REQUIRE(kept(4) == 3);

  // Every one of frank's updates past retention; the prune runs as the daemon starts.
  REQUIRE(db.exec("UPDATE order_updates SET created_at = now() - interval '30 days' WHERE user_id = $1", frank).ok());
  REQUIRE(shop.orders.stop() == 0);
  shop.orders.start();
  shop.orders.wait_ready();
  REQUIRE(testing::eventually([&] { return kept(3) == 0; }, 20s, 100ms));

  // A client that saw 1 missed 2 and 3: whatever was pruned, it is told to read the state again.
  SseClient resumed(shop.orders.port(), frank, 1);
  REQUIRE(resumed.status() == 200);
  auto first = resumed.next(10s);
  REQUIRE(first);
  CHECK(first->type == "reset");
  // A stream from now is not reset by the pruning: its first update is the next change.
  SseClient from_now(shop.orders.port(), frank);
  REQUIRE(from_now.status() == 200);
  const auto fourth = shop.place(frank, product);
  auto next = from_now.next(10s);
  REQUIRE(next);
  CHECK(next->type == "order.status");
  CHECK(next->order_id == fourth);
  CHECK(next->id == 4);
  // And the resumed stream continues after its reset, with every later id once.
  std::vector<Update> after_reset;
  while (after_reset.empty() || after_reset.back().order_id != fourth) {
    auto u = resumed.next(10s);
    REQUIRE(u);
    after_reset.push_back(*u);
  }
  CHECK(after_reset.back().id == 4);
  for (std::size_t i = 1; i < after_reset.size(); ++i) CHECK(after_reset[i].id == after_reset[i - 1].id + 1);
}

TEST_CASE(
    "another replica's change arrives by the Kafka feed: a stream on one replica, the order placed on the other") {
  testing::System system;
  // The table's tail every minute only, and the commit hook tells only the committing
  // replica's hub: an update in time on the other replica came through Kafka.
  const std::map<std::string, std::string> env{{"PAYPIPE_ADMIN_TOKEN", admin_token},
                                               {"PAYPIPE_STREAM_POLL_MS", "60000"}};
  testing::Daemon placing(system, "order-processor", env);
  testing::Daemon watching(system, "order-processor", env);
  placing.wait_ready();
  watching.wait_ready();
  const auto body = R"({"productId":"feed-1","name":"Feed","unitPrice":1000,"totalStock":5,"saleOpensAt":")" +
                    core::format_rfc3339(core::now_ms() - 1h) + "\"}";
  auto product = placing.post("/v1/products", body, {{"Authorization", "Bearer " + admin_token}});
  REQUIRE(product.ok());
  REQUIRE(product->status == 201);

  const auto erin = user_name("erin");
  SseClient stream(watching.port(), erin);
  REQUIRE(stream.status() == 200);
  auto placed = placing.post(
      "/v1/orders", R"({"items":[{"productId":"feed-1","quantity":1,"unitPrice":1000}],"fulfilment":"WAREHOUSE"})",
      {testing::bearer(erin)});
  REQUIRE(placed.ok());
  INFO(placed->body);
  REQUIRE(placed->status == 201);
  const auto order_id = text_field(placed->body, "orderId");
  const auto update = stream.next(20s);
  REQUIRE(update);
  CHECK(update->order_id == order_id);
  CHECK(update->status == "PENDING_PAYMENT");
}
