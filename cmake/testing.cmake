# Test tiers, as ctest labels:
#   unit         no broker, no database, no network beyond loopback servers inside the test
#   integration  the real Kafka broker and PostgreSQL of the shared `stack` fixture
#   e2e          daemons started as processes against the shared stack
#   faults       private stacks (three brokers, restarts); started by the test itself
#   interop      tools that are not ours (Debezium on Kafka Connect) against the shared stack
#
# The `stack` fixture starts one single-broker stack for the whole ctest run
# (scripts/stack.py) and stops it at the end; tests find it through PAYPIPE_STACK_ENV.
find_package(Catch2 REQUIRED)
find_package(Python3 REQUIRED COMPONENTS Interpreter)

set(PAYPIPE_TEST_STACK_DIR ${CMAKE_BINARY_DIR}/test-stack)
add_test(NAME stack.start
         COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/stack.py start
                 --dir ${PAYPIPE_TEST_STACK_DIR} --replace)
set_tests_properties(stack.start PROPERTIES FIXTURES_SETUP stack LABELS "integration;e2e" TIMEOUT 180)
add_test(NAME stack.stop
         COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/stack.py stop --dir ${PAYPIPE_TEST_STACK_DIR})
set_tests_properties(stack.stop PROPERTIES FIXTURES_CLEANUP stack LABELS "integration;e2e" TIMEOUT 120)
# The stop above is bounded even when a broker ignores SIGTERM (it starts its own stack).
add_test(NAME harness.stack_stop
         COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/harness/stack_stop_test.py ${PROJECT_SOURCE_DIR})
set_tests_properties(harness.stack_stop PROPERTIES LABELS integration TIMEOUT 180)

# paypipe_test(<name> LABEL unit|integration|e2e|faults SOURCES ... LIBS ... [TIMEOUT s])
function(paypipe_test name)
  cmake_parse_arguments(T "" "LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE paypipe_catch_main ${T_LIBS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${name} --durations yes)
  set_tests_properties(${name} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "PAYPIPE_STACK_ENV=${PAYPIPE_TEST_STACK_DIR}/env;PAYPIPE_BUILD_DIR=${CMAKE_BINARY_DIR};PAYPIPE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(T_LABEL STREQUAL "integration" OR T_LABEL STREQUAL "e2e")
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED stack)
  endif()
endfunction()
