paypipe_e2e(e2e_orders_tests SOURCES orders_e2e_test.cpp)
