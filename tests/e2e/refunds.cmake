# Refunds across the five daemons they touch, Telegram and the analytics webhook faked.
paypipe_e2e(e2e_refunds_tests SOURCES refunds_e2e_test.cpp)
