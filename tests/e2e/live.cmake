# Live updates: order-processor's streams watched by SSE and WebSocket clients. Needs
# only the two daemons an order goes through, not the whole system.
if(PAYPIPE_BUILD_TESTS)
  paypipe_test(e2e_live_updates_tests LABEL e2e SOURCES live_updates_e2e_test.cpp
    LIBS paypipe_test_support paypipe_contracts TIMEOUT 600)
  add_dependencies(e2e_live_updates_tests payment-api order-processor)
endif()
