# paypipe_service(<name>
#   SOURCES src/...                 the service's library: domain, handlers, repository, config
#   UNIT_TESTS tests/unit/...       no broker, no database (label unit)
#   INTEGRATION_TESTS tests/...     real Kafka + PostgreSQL from the shared stack (label integration)
#   [INTEGRATION_TIMEOUT seconds])
#
# Builds <ident>_lib (ident = name with '_' for '-') with the SQL files of migrations/
# compiled in as paypipe::<ident>::schema::embedded_files(), the daemon bin/<name>
# from main.cpp, and the test binaries, which link the same library: tests exercise the
# daemon's real code.
function(paypipe_service name)
  cmake_parse_arguments(S "" "INTEGRATION_TIMEOUT" "SOURCES;UNIT_TESTS;INTEGRATION_TESTS" ${ARGN})
  string(REPLACE "-" "_" ident ${name})
  add_library(${ident}_lib STATIC ${S_SOURCES})
  target_include_directories(${ident}_lib PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${ident}_lib PUBLIC paypipe_runtime paypipe_contracts paypipe_auth)
  file(GLOB migrations CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/migrations/*.sql)
  paypipe_embed(${ident}_lib paypipe::${ident}::schema "${migrations}")

  add_executable(${name} main.cpp)
  target_link_libraries(${name} PRIVATE ${ident}_lib)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)

  if(PAYPIPE_BUILD_TESTS AND S_UNIT_TESTS)
    paypipe_test(${ident}_unit_tests LABEL unit SOURCES ${S_UNIT_TESTS} LIBS ${ident}_lib)
  endif()
  if(PAYPIPE_BUILD_TESTS AND S_INTEGRATION_TESTS)
    if(NOT S_INTEGRATION_TIMEOUT)
      set(S_INTEGRATION_TIMEOUT 600)
    endif()
    paypipe_test(${ident}_integration_tests LABEL integration SOURCES ${S_INTEGRATION_TESTS}
                 LIBS ${ident}_lib paypipe_test_support TIMEOUT ${S_INTEGRATION_TIMEOUT})
  endif()
endfunction()
