#include <catch2/catch.hpp>

#include <chrono>
#include <future>

#include "events/kafka.hpp"
#include "events/producer.hpp"

using namespace paypipe::events;

TEST_CASE("each Kafka option reaches its librdkafka key, extras override defaults, overrides win") {
  KafkaOptions options;
  options.bootstrap_servers = "127.0.0.1:1";
  options.client_id = "svc";
  options.properties = {{"linger.ms", "42"}, {"security.protocol", "plaintext"}, {"enable.auto.commit", "false"}};
  auto conf = make_conf(options, {{"linger.ms", "5"}, {"acks", "all"}}, {{"enable.auto.commit", "true"}});
  REQUIRE(conf.ok());
  CHECK(conf_get(conf->get(), "bootstrap.servers") == "127.0.0.1:1");
  CHECK(conf_get(conf->get(), "client.id") == "svc");
  CHECK(conf_get(conf->get(), "linger.ms") == "42");
  CHECK(conf_get(conf->get(), "security.protocol") == "plaintext");
  CHECK(conf_get(conf->get(), "enable.auto.commit") == "true");
  CHECK((conf_get(conf->get(), "acks") == "-1" || conf_get(conf->get(), "acks") == "all"));
}

TEST_CASE("unknown or invalid librdkafka properties are all named") {
  KafkaOptions options;
  options.bootstrap_servers = "127.0.0.1:1";
  options.properties = {{"no.such.property", "1"}, {"linger.ms", "soon"}};
  auto conf = make_conf(options, {}, {});
  REQUIRE_FALSE(conf.ok());
  CHECK(conf.error().message.find("no.such.property") != std::string::npos);
  CHECK(conf.error().message.find("linger.ms") != std::string::npos);
}

TEST_CASE("the producer is idempotent with acks=all by default") {
  KafkaOptions options;
  options.bootstrap_servers = "127.0.0.1:1";
  auto producer = Producer::create(options);
  REQUIRE(producer.ok());
  CHECK((*producer)->config("enable.idempotence") == "true");
  const auto acks = (*producer)->config("acks");
  CHECK((acks == "-1" || acks == "all"));
}

TEST_CASE("a record that never reached a broker fails as not written, not as an unknown outcome") {
  KafkaOptions options;
  options.bootstrap_servers = "127.0.0.1:1";  // nothing listens there
  ProducerSettings settings;
  settings.delivery_timeout = std::chrono::milliseconds(300);
  auto producer = Producer::create(options, settings);
  REQUIRE(producer.ok());
  std::promise<Delivery> reported;
  auto delivery = reported.get_future();
  OutgoingRecord record;
  record.topic = "nowhere";
  record.value = "v";
  // The call outside REQUIRE, which expands its argument more than once (a moved-from
  // record to clang-tidy).
  const auto sent = (*producer)->send(std::move(record), [&](const Delivery& d) { reported.set_value(d); });
  REQUIRE(sent.ok());
  REQUIRE(delivery.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  const auto d = delivery.get();
  CHECK_FALSE(d.status.ok());
  CHECK_FALSE(d.possibly_persisted);
}
