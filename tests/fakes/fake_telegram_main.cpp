// fake-telegram --port N [--token T]: the fake Telegram Bot API as a process, for the
// benchmark and the local run. Control it over HTTP (see fake_telegram.hpp).
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "fakes/fake_telegram.hpp"

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  std::string token = "123456:LOCAL";
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--port") port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
    if (arg == "--token") token = argv[i + 1];
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  paypipe::testing::FakeTelegram telegram(token, port);
  std::cout << "fake-telegram listening on " << telegram.base_url() << std::endl;
  int signal_number = 0;
  sigwait(&set, &signal_number);
  return 0;
}
