# Daemon integration tests: each case starts a real suitd ($SUITD_BIN) with
# the tests' own ruleset (tests/daemon/rulesets/contract) and talks to it
# over real Unix and TCP sockets.
set(_daemon_tests ${CMAKE_CURRENT_SOURCE_DIR}/daemon)
foreach(_t basic limits ops policies)
  suitd_check_test(test_daemon_${_t} ${_daemon_tests}/test_daemon_${_t}.c
                   ${_daemon_tests}/harness.c)
  target_link_libraries(test_daemon_${_t} PRIVATE Threads::Threads)
  add_dependencies(test_daemon_${_t} suitd)
endforeach()
if(SYSTEMD_FOUND)
  target_compile_definitions(test_daemon_ops PRIVATE SUITD_TEST_SYSTEMD=1)
endif()

# The stats module on its own (histogram percentiles, packed map).
suitd_check_test(test_daemon_stats ${_daemon_tests}/test_daemon_stats.c
                 ${_daemon_tests}/harness.c)
target_link_libraries(test_daemon_stats PRIVATE suitdaemon m)

# Settings: defaults, INI file, flags (config.c on its own).
suitd_check_test(test_daemon_config ${_daemon_tests}/test_daemon_config.c)
target_link_libraries(test_daemon_config PRIVATE suitdaemon)

# The worker pool and the reload on a real loop (callback statuses).
suitd_check_test(test_daemon_runner ${_daemon_tests}/test_daemon_runner.c)
target_link_libraries(test_daemon_runner PRIVATE suitdaemon)

# PROTOCOL.md's examples are the real daemon's answers (real ruleset).
suitd_check_test(test_daemon_protocol_doc ${_daemon_tests}/test_protocol_doc.c
                 ${_daemon_tests}/harness.c)
target_link_libraries(test_daemon_protocol_doc PRIVATE PkgConfig::JANSSON)
add_dependencies(test_daemon_protocol_doc suitd)
