# The rule-author subcommands (tools/) driven in-process through their
# main functions; small rulesets from tests/engine/rulesets.
suitd_check_test(test_tools ${CMAKE_CURRENT_LIST_DIR}/test_tools.c)
target_link_libraries(test_tools PRIVATE suittools)
target_compile_definitions(test_tools PRIVATE
  ENGINE_TEST_RULESETS="${CMAKE_CURRENT_LIST_DIR}/../engine/rulesets")
