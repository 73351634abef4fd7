#include "support/daemon.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/env.hpp"
#include "events/admin.hpp"
#include "events/naming.hpp"
#include "support/child_process.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

namespace paypipe::testing {

std::string build_dir() {
  const char* dir = std::getenv("PAYPIPE_BUILD_DIR");
  if (dir == nullptr) throw std::runtime_error("PAYPIPE_BUILD_DIR is not set: run the tests through ctest");
  return dir;
}

std::string source_dir() {
  const char* dir = std::getenv("PAYPIPE_SOURCE_DIR");
  if (dir == nullptr) throw std::runtime_error("PAYPIPE_SOURCE_DIR is not set: run the tests through ctest");
  return dir;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

System::System(int partitions, std::map<std::string, std::string> naming) : naming_(std::move(naming)) {
  const auto name = unique_name("e2e");
  prefix_ = name + ".";
  suffix_ = name.substr(4);
  kafka_ = kafka_options(prefix_);
  core::Env naming_env(naming_);
  kafka_.naming = events::read_naming(naming_env);
  if (auto s = naming_env.finish(); !s) throw std::runtime_error(s.error().message);
  create_topics(kafka_, events::all_topics(kafka_.naming), partitions);
  log_dir_ = build_dir() + "/test-logs/" + name;
  std::filesystem::create_directories(log_dir_);
}

std::string System::schema(const std::string& service) const {
  std::string schema = service + "_" + suffix_;
  for (char& c : schema) c = c == '-' ? '_' : c;
  return schema;
}

std::map<std::string, std::string> System::environment(const std::string& service,
                                                       const std::map<std::string, std::string>& extra) const {
  std::map<std::string, std::string> env{
      {"PAYPIPE_PROFILE", "local"},
      {"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", stack().kafka_bootstrap},
      {"PAYPIPE_TOPIC_PREFIX", prefix_},
      {"PAYPIPE_PG_DSN", stack().pg_dsn},
      {"PAYPIPE_PG_SCHEMA", schema(service)},
      {"PAYPIPE_HTTP_ADDRESS", "127.0.0.1"},
      {"PAYPIPE_LOG_LEVEL", "info"},
      {"PAYPIPE_SHUTDOWN_TIMEOUT_MS", "10000"},
      {"PAYPIPE_OUTBOX_POLL_INTERVAL_MS", "200"},
  };
  // The daemons with end-user routes trust the tests' identity provider (support/identity.hpp).
  if (service == "payment-api" || service == "order-processor" || service == "coupon-issuer" ||
      service == "notification-sender") {
    for (const auto& [k, v] : Identity::shared().environment()) env[k] = v;
  }
  for (const auto& [k, v] : naming_) env[k] = v;
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

Daemon::Daemon(const System& system, std::string service, std::map<std::string, std::string> extra_env,
               std::vector<std::string> args)
    : service_(std::move(service)), args_(std::move(args)) {
  env_ = system.environment(service_, extra_env);
  port_ = env_.count("PAYPIPE_HTTP_PORT") ? static_cast<std::uint16_t>(std::stoi(env_["PAYPIPE_HTTP_PORT"]))
                                          : free_port();
  env_["PAYPIPE_HTTP_PORT"] = std::to_string(port_);
  binary_ = build_dir() + "/bin/" + service_;
  log_path_ = system.log_dir() + "/" + service_ + ".log";
  client_ = std::make_unique<http::Client>(
      http::ClientOptions{std::chrono::milliseconds(2000), std::chrono::milliseconds(30000)});
  start();
}

Daemon::~Daemon() {
  if (pid_ > 0) kill();
}

void Daemon::start() {
  REQUIRE(pid_ <= 0);
  std::vector<std::string> env{"PATH=/usr/bin:/bin"};
  for (const auto& [k, v] : env_) env.push_back(k + "=" + v);
  std::vector<std::string> args{binary_};
  args.insert(args.end(), args_.begin(), args_.end());
  pid_ = spawn_logged(args, env, log_path_, true);
}

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    exit_code_ = exit_code_of(status);
    return false;
  }
  return true;
}

void Daemon::wait_ready(std::chrono::milliseconds timeout) {
  const bool ready = eventually(
      [&] {
        if (!running()) return false;
        auto r = client_->send({"GET", url("/readyz"), {}, "", std::chrono::milliseconds(3000)});
        return r.ok() && r->status == 200;
      },
      timeout, std::chrono::milliseconds(10));
  if (!ready) {
    std::ifstream log(log_path_);
    std::string tail((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    if (tail.size() > 4000) tail = tail.substr(tail.size() - 4000);
    FAIL(service_ << " not ready within " << timeout.count() << " ms; log tail:\n" << tail);
  }
}

int Daemon::stop(std::chrono::milliseconds timeout) {
  REQUIRE(pid_ > 0);
  ::kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return exit_code_of(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill();
  FAIL(service_ << " did not stop within " << timeout.count() << " ms of SIGTERM");
  return -1;
}

void Daemon::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void Daemon::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void Daemon::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

long Daemon::rss_kib() const {
  if (pid_ <= 0) return 0;
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

std::string Daemon::url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

core::Result<http::ClientResponse> Daemon::get(const std::string& path, std::vector<http::Header> headers) {
  return request("GET", path, "", std::move(headers));
}

core::Result<http::ClientResponse> Daemon::post(const std::string& path, const std::string& body,
                                                std::vector<http::Header> headers) {
  headers.push_back({"Content-Type", "application/json"});
  return request("POST", path, body, std::move(headers));
}

core::Result<http::ClientResponse> Daemon::request(const std::string& method, const std::string& path,
                                                   const std::string& body, std::vector<http::Header> headers) {
  return client_->send({method, url(path), std::move(headers), body, std::nullopt});
}

}  // namespace paypipe::testing
