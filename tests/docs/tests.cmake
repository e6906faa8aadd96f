# README.md checked against the real daemon and client (tests/docs/test_readme.py):
# every `$ suit ...` session regenerated and compared (dates and round trips
# masked), every other suit command line accepted by suit, the layout table
# complete.  SUIT_UPDATE_DOCS=1 rewrites the sessions.
if(SUITD_PYTHON3)
  add_test(NAME docs_readme COMMAND ${SUITD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/docs/test_readme.py)
  set_tests_properties(docs_readme PROPERTIES ENVIRONMENT "${SUITD_TEST_ENV}" TIMEOUT 300)
endif()
