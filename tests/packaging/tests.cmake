# The daemon as the Debian package runs it (packaging/): socket activation
# with both listeners of suitd.socket, through systemd-socket-activate.
add_test(NAME socket_activation
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/packaging/socket_activation.sh
                 $<TARGET_FILE:suitd> $<TARGET_FILE:suit> ${CMAKE_SOURCE_DIR}/rules)
set_tests_properties(socket_activation PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
