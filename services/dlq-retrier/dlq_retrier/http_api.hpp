#pragma once
// dlq-retrier's HTTP API, every route behind the admin token
// (Authorization: Bearer $PAYPIPE_ADMIN_TOKEN; 401 without it, 403 with a wrong one):
//   GET    /v1/parked?group=&topic=&errorClass=&status=&limit=&cursor=   one page, id order
//   GET    /v1/parked/{id}                   one record, value and headers included
//   POST   /v1/parked/{id}/replay            back to retry.<group> with a fresh attempt budget
//   POST   /v1/parked/replay?group=          every PARKED record of the group
//   DELETE /v1/parked/{id}                   PURGED (kept for the audit trail, never replayed)
// The handlers are thin: parse, call ParkedOperations, write JSON (parked_codec.hpp).
// proto/http/dlq-retrier.yaml documents them; a unit test keeps the two in step.

#include <string>

#include "dlq_retrier/parked_operations.hpp"
#include "http/router.hpp"

namespace paypipe::dlq_retrier {

void add_parked_routes(http::Router& router, ParkedOperations& operations, std::string admin_token);

}  // namespace paypipe::dlq_retrier
