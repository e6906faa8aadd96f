# Engine unit tests: small dedicated rulesets under tests/engine/rulesets.
suitd_check_test(test_engine ${CMAKE_CURRENT_LIST_DIR}/test_engine.c)
target_link_libraries(test_engine PRIVATE suitengine PkgConfig::JANSSON)
target_compile_definitions(test_engine PRIVATE
  ENGINE_TEST_RULESETS="${CMAKE_CURRENT_LIST_DIR}/rulesets")


# Terms as sent: normalisation and near-miss suggestions through the engine.
suitd_check_test(test_engine_match ${CMAKE_CURRENT_LIST_DIR}/test_match.c)
target_link_libraries(test_engine_match PRIVATE suitengine)
target_compile_definitions(test_engine_match PRIVATE
  ENGINE_TEST_RULESETS="${CMAKE_CURRENT_LIST_DIR}/rulesets")

# The `ruleset` method's form metadata, from the real ruleset (rules/).
suitd_check_test(test_ruleset_info ${CMAKE_CURRENT_LIST_DIR}/test_ruleset_info.c)
target_link_libraries(test_ruleset_info PRIVATE suitengine)

# Named policies (a policy folder): loading, refusals, choosing per request,
# the environments an engine keeps per policy.
suitd_check_test(test_policies ${CMAKE_CURRENT_LIST_DIR}/test_policies.c)
target_link_libraries(test_policies PRIVATE suitengine PkgConfig::JANSSON)
target_compile_definitions(test_policies PRIVATE
  ENGINE_TEST_RULESETS="${CMAKE_CURRENT_LIST_DIR}/rulesets")

# What suitd check must catch (issue 12) and every forbidden function
# (issue 13 item 11), through ruleset_check; the function tables checked
# against a live CLIPS environment's (get-function-list).
suitd_check_test(test_lint ${CMAKE_CURRENT_LIST_DIR}/test_lint.c)
target_link_libraries(test_lint PRIVATE suitengine CLIPS::CLIPS)
target_compile_definitions(test_lint PRIVATE
  ENGINE_TEST_RULESETS="${CMAKE_CURRENT_LIST_DIR}/rulesets")
