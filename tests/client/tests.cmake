# `suit` client tests.
#   test_client_unit         pure parts (flags, report, renderers), no daemon
#   test_client_integration  the suit binary against a real suitd; golden
#                            files in tests/client/golden (regenerate with
#                            SUIT_UPDATE_GOLDEN=1, see test_client_integration.c)
set(_client_tests ${CMAKE_CURRENT_SOURCE_DIR}/client)
suitd_check_test(test_client_unit ${_client_tests}/test_client_unit.c)
target_link_libraries(test_client_unit PRIVATE suitclient PkgConfig::JANSSON)
suitd_check_test(test_client_integration ${_client_tests}/test_client_integration.c)
target_link_libraries(test_client_integration PRIVATE PkgConfig::JANSSON)
target_compile_definitions(test_client_integration PRIVATE
  SUIT_GOLDEN_DIR="${_client_tests}/golden")
add_dependencies(test_client_integration suit suit-bench)
