# Protocol library tests: one binary per module.
set(_proto_tests ${CMAKE_CURRENT_SOURCE_DIR}/proto)
suitd_check_test(test_proto_decoder ${_proto_tests}/test_decoder.c)
suitd_check_test(test_proto_message ${_proto_tests}/test_message.c)
suitd_check_test(test_proto_patient ${_proto_tests}/test_patient.c)
suitd_check_test(test_proto_term ${_proto_tests}/test_term.c)
suitd_check_test(test_proto_json ${_proto_tests}/test_json.c)
suitd_check_test(test_proto_rpc_client ${_proto_tests}/test_rpc_client.c)
target_link_libraries(test_proto_json PRIVATE PkgConfig::JANSSON)
suitd_check_test(test_proto_example ${_proto_tests}/test_protocol_example.c)
# The Prometheus text shared by `suit stats --prometheus` and suit-httpd.
suitd_check_test(test_proto_prom ${_proto_tests}/test_prom.c)
target_link_libraries(test_proto_prom PRIVATE PkgConfig::JANSSON)
# TCP listen addresses and the loopback rule (suitd's and suit-httpd's).
suitd_check_test(test_proto_addr ${_proto_tests}/test_addr.c)
# The settings reader suitd and suit-httpd share (flags, INI file, --help).
suitd_check_test(test_proto_settings ${_proto_tests}/test_settings.c)
