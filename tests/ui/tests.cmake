# The consultation page (issue 18) in a real browser: Debian's chromium
# driven by playwright-core (tests/ui/package.json, pinned by its
# package-lock.json; no browser download), against a real suitd and a real
# suit-httpd.  One ctest test per case; screenshots, and the printed
# record as PDF, go to tests/ui/artefacts in the build tree.
#
#   ui_npm_ci       installs playwright-core into the build tree (a fixture
#                   the cases require; it needs npm's registry or its cache)
#   ui_<case>       tests/ui/test_page.mjs <case>
# SUIT_UPDATE_DOCS=1 ctest -R ui_defer rewrites docs/ui-defer.png (README's
# screenshot), made small with pngquant.
set(_ui_src ${CMAKE_CURRENT_SOURCE_DIR}/ui)
set(_ui_bin ${CMAKE_CURRENT_BINARY_DIR}/ui)
configure_file(${_ui_src}/package.json ${_ui_bin}/package.json COPYONLY)
configure_file(${_ui_src}/package-lock.json ${_ui_bin}/package-lock.json COPYONLY)
find_program(SUITD_NODE node)
find_program(SUITD_NPM npm)
if(NOT SUITD_NODE OR NOT SUITD_NPM)
  message(WARNING "node or npm not found: the browser tests (ui_*) will fail; "
                  "run packaging/install-deps.sh")
  set(SUITD_NODE node)
  set(SUITD_NPM npm)
endif()

add_test(NAME ui_npm_ci
         COMMAND ${SUITD_NPM} ci --no-audit --no-fund --prefer-offline --loglevel=error
                 --prefix ${_ui_bin})
set_tests_properties(ui_npm_ci PROPERTIES FIXTURES_SETUP ui_node_modules TIMEOUT 300
                     LABELS ui)

set(_ui_env ${SUITD_TEST_ENV}
    "SUIT_HTTPD_BIN=$<TARGET_FILE:suit-httpd>"
    "SUITD_UI_NODE_MODULES=${_ui_bin}/node_modules"
    "SUITD_UI_ARTEFACTS=${_ui_bin}/artefacts")
foreach(_case suitable defer contraindicated incomplete near_miss unavailable
              ruleset_changed ruleset_unavailable field_errors relevance keyboard narrow csp token
              readme_screenshot)
  add_test(NAME ui_${_case} COMMAND ${SUITD_NODE} ${_ui_src}/test_page.mjs ${_case})
  set_tests_properties(ui_${_case} PROPERTIES ENVIRONMENT "${_ui_env}" TIMEOUT 180
                       FIXTURES_REQUIRED ui_node_modules LABELS ui)
endforeach()
