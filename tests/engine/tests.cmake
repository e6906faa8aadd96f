# Engine unit tests: small dedicated rulesets under tests/engine/rulesets.
suitd_check_test(test_engine ${CMAKE_CURRENT_LIST_DIR}/test_engine.c)
target_link_libraries(test_engine PRIVATE suitengine PkgConfig::JANSSON)
target_compile_definitions(test_engine PRIVATE
  ENGINE_TEST_RULESETS="${CMAKE_CURRENT_LIST_DIR}/rulesets")

