#pragma once
// What routes read from a request, read one way everywhere: ids in the path, the query
// of a paged list, the admin token. Every refusal is invalid_input (400) worded the
// same on every route; no Boost here.
//
// Paged lists speak one cursor dialect: `?limit=N&cursor=C` in, `"nextCursor": "C"`
// (null on the last page) out. A cursor is opaque to clients; today it is the last
// item's key. `after` (notifications, deliveries) is still read as a deprecated alias
// of `cursor`, and those pages still also carry the deprecated `next`.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "http/router.hpp"

namespace paypipe::http {

// 1 to 64 characters of [A-Za-z0-9_.:-]: user ids, product ids.
bool is_plain_id(std::string_view text);

// The path parameter `name` as a UUID, lower-cased; else invalid_input with
// `error_code` ("bad-order-id") and "<name> must be a UUID".
core::Result<std::string> uuid_param(const Request& request, const std::string& name, const std::string& error_code);
// The path parameter `name` as a plain id (is_plain_id); else invalid_input with `error_code`.
core::Result<std::string> plain_id_param(const Request& request, const std::string& name,
                                         const std::string& error_code);

struct PageLimits {
  int fallback = 50;  // when the client sends no limit
  int max = 500;
};

struct PageQuery {
  int limit = 50;
  std::optional<std::int64_t> cursor;  // resume after this key; none: the first page
};

// Reads a list route's query parameters, collecting every problem so that one 400
// names them all (code "bad-query"). Reads from the decoded query map, so the CLIs that
// take the same filters as flags use it too.
class QueryReader {
 public:
  explicit QueryReader(const std::map<std::string, std::string>& query) : query_(query) {}
  explicit QueryReader(const Request& request) : QueryReader(request.query) {}

  // A non-empty parameter of at most max_size bytes; absent or empty: nullopt.
  std::optional<std::string> text(const std::string& name, std::size_t max_size = 256);
  // A plain id (is_plain_id).
  std::optional<std::string> plain_id(const std::string& name);
  // limit (1..limits.max, default limits.fallback) and cursor (or its deprecated alias
  // after); unlike filters, an empty limit or cursor is an error, not "absent".
  PageQuery page(PageLimits limits = {});
  // Only the limit, for lists that are not paged (top-N rankings).
  int limit(PageLimits limits = {});

  void fail(std::string problem);
  // Every parameter not read so far is an error: for routes that refuse unknown filters.
  void refuse_unread();
  // ok, or invalid_input "bad-query" with every problem, "; "-separated.
  core::Status status() const;

 private:
  std::optional<std::string_view> raw(const std::string& name);

  const std::map<std::string, std::string>& query_;
  std::set<std::string> read_;
  std::vector<std::string> problems_;
};

// Writes the page's cursor member: "nextCursor" (a string, or null on the last page),
// and, while `legacy_next` is set, the same value as the deprecated "next".
void write_next_cursor(core::json::Writer& w, std::optional<std::int64_t> next, bool legacy_next = false);

// Wraps an admin route: the handler runs only with "Authorization: Bearer <token>"
// (require_bearer), so no admin route can forget the check.
Handler admin_only(std::string token, Handler handler);

}  // namespace paypipe::http
