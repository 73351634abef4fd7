# Live updates: the streams of order-processor, payment-api and coupon-issuer watched by
# SSE and WebSocket clients. Needs only those daemons, not the whole system.
if(PAYPIPE_BUILD_TESTS)
  paypipe_test(e2e_live_updates_tests LABEL e2e SOURCES live_updates_e2e_test.cpp
    LIBS paypipe_test_support paypipe_contracts TIMEOUT 600)
  add_dependencies(e2e_live_updates_tests payment-api order-processor coupon-issuer)
endif()

# The live-update triggers themselves, in plain SQL on each streaming service's migrated
# schema (label integration: PostgreSQL only, no daemon).
if(PAYPIPE_BUILD_TESTS)
  paypipe_test(live_update_triggers_tests LABEL integration SOURCES live_update_triggers_test.cpp
    LIBS paypipe_test_support payment_api_lib order_processor_lib coupon_issuer_lib)
endif()
