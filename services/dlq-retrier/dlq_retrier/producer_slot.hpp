#pragma once
// dlq-retrier's producer slot: a small number that a replacement of a killed replica
// inherits, so that the replacement's Kafka transactional.id is the dead one's.
//
// Why: a transaction left open by a killed process holds back every read_committed
// reader of the partitions it wrote (retry.<group>) until someone aborts it. A new
// producer with the SAME transactional.id aborts it at once in init_transactions and
// fences the dead one; otherwise only the coordinator's transaction.timeout.ms does.
// A Deployment's replacement pod has a new name, so a hostname-derived id is never
// inherited; a slot is.
//
// How: the slot is the lowest n in [0, max_slots) for which the session advisory lock
// (hashtext(scope), n) is free; it is taken on a PostgreSQL connection of its own, held
// for the life of the process. When a process dies its connection drops and the server
// releases the lock, so the next replica to start takes that n. `scope` is the
// transactional ids' stem (<topic prefix>dlq-retrier-): deployments with different topic
// prefixes share no slots. The transactional.id is <scope><n>.
//
// If the slot connection is lost while the process lives (network, database restart),
// the lock is gone and another replica may claim the same n; its init_transactions then
// fences this process's producer, whose next transaction fails fatally: the retrier
// stops, the daemon exits 70 and Kubernetes restarts it (it then claims a free slot).
// Until that next transaction nothing is written under the shared id, so no record is
// published twice; a fenced producer cannot commit.
//
// Threading: claim() and the object from any one thread; it holds a connection only.

#include <optional>
#include <string>

#include "core/error.hpp"
#include "pg/pg.hpp"

namespace paypipe::dlq_retrier {

inline constexpr int default_max_slots = 64;

class ProducerSlot {
 public:
  // Connects and takes the lowest free slot. unavailable if the database cannot be
  // reached or all `max_slots` slots are held.
  static core::Result<ProducerSlot> claim(const pg::ConnectOptions& options, std::string scope,
                                          int max_slots = default_max_slots);

  int number() const { return number_; }
  std::string transactional_id() const { return scope_ + std::to_string(number_); }
  // Closes the connection: the server releases the slot. Also on destruction.
  void release();

 private:
  ProducerSlot(pg::Connection connection, std::string scope, int number)
      : connection_(std::move(connection)), scope_(std::move(scope)), number_(number) {}

  std::optional<pg::Connection> connection_;
  std::string scope_;
  int number_ = -1;
};

}  // namespace paypipe::dlq_retrier
