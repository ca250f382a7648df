# foresight-ctl: status, policy and manual commands over MQTT (libfsmqtt + jansson).
bin_PROGRAMS += tools/foresight-ctl
tools_foresight_ctl_SOURCES = tools/ctl.c tools/ctl_print.c tools/ctl.h
tools_foresight_ctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_foresight_ctl_LDADD = mqtt/libfsmqtt.la $(JANSSON_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/unit/test_ctl_print
TESTS += tests/unit/test_ctl_print
tests_unit_test_ctl_print_SOURCES = tests/unit/test_ctl_print.c tools/ctl_print.c
tests_unit_test_ctl_print_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_ctl_print_LDADD = $(JANSSON_LIBS) $(CMOCKA_LIBS)

# Integration: foresight-ctl against a real mosquitto and a responder that answers
# with libactuator's messages, as the actuator plugin will.
check_PROGRAMS += tests/integration/responder
tests_integration_responder_SOURCES = tests/integration/responder.c
tests_integration_responder_LDADD = actuator/libactuator.la mqtt/libfsmqtt.la \
	$(JANSSON_LIBS) $(PTHREAD_LIBS) -lm
INTEGRATION_TESTS += tests/integration/ctl.sh
EXTRA_DIST += tests/integration/ctl.sh
