# Live updates: the streams of order-processor, payment-api and coupon-issuer watched by
# SSE and WebSocket clients. Needs only those daemons, not the whole system.
if(PAYPIPE_BUILD_TESTS)
  paypipe_test(e2e_live_updates_tests LABEL e2e SOURCES live_updates_e2e_test.cpp
    LIBS paypipe_test_support paypipe_contracts TIMEOUT 600)
  add_dependencies(e2e_live_updates_tests payment-api order-processor coupon-issuer)
endif()
