# suit-httpd (issue 14).
#   test_httpd_unit   settings, the JSON request path, answers, metrics (no sockets)
#   http_*            Python 3 scripts (standard library only) that start a real
#                     suitd and a real suit-httpd and speak HTTP to it; each prints
#                     Check's summary line
set(_http_tests ${CMAKE_CURRENT_SOURCE_DIR}/http)
suitd_check_test(test_httpd_unit ${_http_tests}/test_httpd_unit.c)
target_link_libraries(test_httpd_unit PRIVATE suithttpd PkgConfig::JANSSON)
# The CDS Hooks service's pure parts: terminology map, FHIR mapper, cards,
# JWT checks (http/cds_*.c).
suitd_check_test(test_cds_unit ${_http_tests}/test_cds_unit.c)
target_link_libraries(test_cds_unit PRIVATE suithttpd PkgConfig::JANSSON)

set(_httpd_env ${SUITD_TEST_ENV} "SUIT_HTTPD_BIN=$<TARGET_FILE:suit-httpd>")
find_program(SUITD_PYTHON3 python3)
if(SUITD_PYTHON3)
  foreach(_t api transport upstream security example ui)
    add_test(NAME http_${_t} COMMAND ${SUITD_PYTHON3} ${_http_tests}/test_${_t}.py)
    set_tests_properties(http_${_t} PROPERTIES ENVIRONMENT "${_httpd_env}" TIMEOUT 300
                         LABELS http)
  endforeach()
endif()

# The CDS Hooks EHR simulator (test_cds.py) needs Debian's python3-jwt,
# python3-jwcrypto and python3-jsonschema (packaging/install-deps.sh), so it
# runs on the system's Python, not whatever python3 comes first in PATH.
find_program(SUITD_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(SUITD_SYSTEM_PYTHON3)
  add_test(NAME http_cds COMMAND ${SUITD_SYSTEM_PYTHON3} ${_http_tests}/test_cds.py)
  set_tests_properties(http_cds PROPERTIES ENVIRONMENT "${_httpd_env}" TIMEOUT 300 LABELS http)
endif()
