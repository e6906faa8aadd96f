# Fault and abuse tests (issue 7): Python 3 scripts (standard library only)
# that start a real suitd from SUITD_BIN and attack it over real sockets.
# Each prints Check's summary line.  Together they take well under 3
# minutes; tests/fault/README.md lists the environment variables for the
# heavier variants and soak.sh, which is not run here.
find_program(SUITD_PYTHON3 python3)
if(SUITD_PYTHON3)
  set(_fault ${CMAKE_CURRENT_SOURCE_DIR}/fault)
  # name -> script and the cases it runs (empty: all)
  set(_fault_tests
    "fault_garbage|test_garbage.py|"
    "fault_clients|test_clients.py|"
    "fault_connections|test_connections.py|"
    "fault_rulesets|test_rulesets.py|"
    "fault_restart|test_restart.py|"
    "fault_security|test_security.py|"
    "fault_reload|test_reload.py|"
    "fault_hostile|test_hostile.py|"

    "fault_local_attacks|test_local_attacks.py|"
    "fault_decision_log|test_decision_log.py|"
    "fault_logs|test_logs.py|")
  foreach(_entry ${_fault_tests})
    string(REPLACE "|" ";" _parts "${_entry}")
    list(GET _parts 0 _name)
    list(GET _parts 1 _script)
    list(GET _parts 2 _cases)
    separate_arguments(_cases)
    if(NOT EXISTS ${_fault}/${_script})
      continue()
    endif()
    add_test(NAME ${_name} COMMAND ${SUITD_PYTHON3} ${_fault}/${_script} ${_cases})
    set_tests_properties(${_name} PROPERTIES ENVIRONMENT "${SUITD_TEST_ENV}" TIMEOUT 300
                         LABELS fault)
  endforeach()
endif()
