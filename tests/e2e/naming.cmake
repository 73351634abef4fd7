# The daemons as processes under the Spring services' names (docs/operations.md, "Naming topics and groups").
paypipe_e2e(e2e_naming_tests SOURCES naming_e2e_test.cpp)
