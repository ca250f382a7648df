# libactuator's JSON messages (actuator/messages.h): kept in a fragment of their own so
# the jansson dependency and its tests sit together.
actuator_libactuator_la_SOURCES += \
	actuator/messages.h actuator/msg_internal.h actuator/msg_json.c \
	actuator/msg_encode.c actuator/msg_policy.c actuator/msg_command.c
actuator_libactuator_la_LIBADD += $(JANSSON_LIBS)
AM_CPPFLAGS += $(JANSSON_CFLAGS)

msg_unit_tests = tests/unit/test_messages tests/unit/test_messages_fuzz
check_PROGRAMS += $(msg_unit_tests)
TESTS += $(msg_unit_tests)
EXTRA_DIST += tests/unit/msg_fixture.h

tests_unit_test_messages_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_messages_LDADD = actuator/libactuator.la $(JANSSON_LIBS) $(CMOCKA_LIBS) -lm
tests_unit_test_messages_fuzz_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_messages_fuzz_LDADD = actuator/libactuator.la $(JANSSON_LIBS) $(CMOCKA_LIBS) -lm
