# The actuator plugin's room: the collectd-free helpers it needs (in libactuator: the
# board of latest values, config keys, persisted decision ids), their unit tests, the
# plugin module itself and its integration tests.
actuator_libactuator_la_SOURCES += \
	actuator/board.h actuator/board.c \
	actuator/policy_keys.h actuator/policy_keys.c \
	actuator/idseq.h actuator/idseq.c

actplugin_unit_tests = \
	tests/unit/test_board tests/unit/test_policy_keys tests/unit/test_idseq
check_PROGRAMS += $(actplugin_unit_tests)
TESTS += $(actplugin_unit_tests)

tests_unit_test_board_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_board_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_policy_keys_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_policy_keys_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_idseq_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_idseq_LDADD = $(ACT_UNIT_LDADD)
