# The rule-author subcommands (tools/) driven in-process through their
# main functions; small rulesets from tests/engine/rulesets.
suitd_check_test(test_tools ${CMAKE_CURRENT_LIST_DIR}/test_tools.c)
target_link_libraries(test_tools PRIVATE suittools PkgConfig::JANSSON)
target_compile_definitions(test_tools PRIVATE
  ENGINE_TEST_RULESETS="${CMAKE_CURRENT_LIST_DIR}/../engine/rulesets")

# suitd diff ($SUITD_BIN): small rulesets with known changes, and the
# bundled ruleset with the README's example.
suitd_check_test(test_diff ${CMAKE_CURRENT_LIST_DIR}/test_diff.c)
target_link_libraries(test_diff PRIVATE PkgConfig::JANSSON)
target_compile_definitions(test_diff PRIVATE
  ENGINE_TEST_RULESETS="${CMAKE_CURRENT_LIST_DIR}/../engine/rulesets")
add_dependencies(test_diff suitd)
