# The failure path: dlq-retrier on its own (kill -9, operator's HTTP and CLI, SIGTERM) and
# with notification-sender against the fake Telegram (the scenarios of issue 4).
paypipe_e2e(e2e_failure_path_tests
  SOURCES failure_path_retrier_test.cpp failure_path_notification_test.cpp
  TIMEOUT 900)
