# coupon-issuer and ranking-updater as processes against the shared stack.
paypipe_e2e(e2e_coupons_tests SOURCES coupons_e2e_test.cpp coupons_rankings_e2e_test.cpp)
