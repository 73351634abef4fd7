#pragma once
// dlq-retrier's HTTP API, every route behind the admin token
// (Authorization: Bearer $PAYPIPE_ADMIN_TOKEN; 401 without it, 403 with a wrong one):
//   GET    /v1/parked?group=&topic=&errorClass=&status=&limit=&cursor=   one page, id order
//   GET    /v1/parked/{id}                   one record, value and headers included
//   POST   /v1/parked/{id}/replay            back to retry.<group> with a fresh attempt budget
//   POST   /v1/parked/replay?group=          every PARKED record of the group
//   DELETE /v1/parked/{id}                   PURGED (kept for the audit trail, never replayed)
// and the dead letters still waiting in dlq.<group> (waiting_operations.hpp):
//   GET    /v1/dead-letters?group=                          per group: count, oldest, reasons
//   GET    /v1/dead-letters/{group}?limit=&cursor=          one page of a group's waiting records
//   POST   /v1/dead-letters/{group}/retry                   retry every waiting record now
//   POST   /v1/dead-letters/{group}/{partition}/{offset}/retry   retry one now
//   POST   /v1/dead-letters/{group}/{partition}/{offset}/skip    park it: {"reason": "..."}
// The handlers are thin: parse, call ParkedOperations, write JSON (parked_codec.hpp).
// proto/http/dlq-retrier.yaml documents them; a unit test keeps the two in step.

#include <string>

#include "dlq_retrier/parked_operations.hpp"
#include "dlq_retrier/waiting_operations.hpp"
#include "http/router.hpp"

namespace paypipe::dlq_retrier {

void add_parked_routes(http::Router& router, ParkedOperations& operations, std::string admin_token);
void add_waiting_routes(http::Router& router, WaitingOperations& operations, const std::string& admin_token);

}  // namespace paypipe::dlq_retrier
