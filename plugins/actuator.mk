# The actuator plugin's room: the collectd-free helpers it needs (in libactuator: the
# board of latest values, config keys, persisted decision ids), their unit tests, the
# plugin module itself and its integration tests.
actuator_libactuator_la_SOURCES += \
	actuator/board.h actuator/board.c \
	actuator/policy_keys.h actuator/policy_keys.c \
	actuator/idseq.h actuator/idseq.c \
	actuator/runner.h actuator/runner.c

actplugin_unit_tests = \
	tests/unit/test_board tests/unit/test_policy_keys tests/unit/test_idseq \
	tests/unit/test_runner
check_PROGRAMS += $(actplugin_unit_tests)
TESTS += $(actplugin_unit_tests)

tests_unit_test_board_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_board_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_policy_keys_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_policy_keys_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_idseq_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_idseq_LDADD = $(ACT_UNIT_LDADD)
# the runner against libvirt's real test driver, as the applier's tests
tests_unit_test_runner_SOURCES = tests/unit/test_runner.c $(ACT_HV_UNIT_FIXTURE)
tests_unit_test_runner_CFLAGS = $(ACT_HV_UNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_runner_LDADD = $(ACT_HV_UNIT_LDADD) $(JANSSON_LIBS)

# The plugin: glue over libactuator (with its libvirt hypervisor) and libfsmqtt.
# fsa_killhv is a test-only hypervisor wrapper (see plugins/fsa_killhv.h).
plugin_LTLIBRARIES += plugins/foresight_actuator.la
plugins_foresight_actuator_la_SOURCES = plugins/foresight_actuator.c \
	plugins/fsa_killhv.h plugins/fsa_killhv.c
plugins_foresight_actuator_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBVIRT_CFLAGS)
plugins_foresight_actuator_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_foresight_actuator_la_LIBADD = actuator/libactuator_hv.la actuator/libactuator.la \
	mqtt/libfsmqtt.la $(LIBVIRT_LIBS) $(PTHREAD_LIBS) -lm

EXTRA_DIST += conf/foresight-actuator.conf tests/integration/act_lib.sh
INTEGRATION_TESTS += tests/integration/actuator_replay.sh \
	tests/integration/actuator_restart.sh tests/integration/actuator_mqtt.sh \
	tests/integration/actuator_config.sh tests/integration/mqtt_api.sh
EXTRA_DIST += tests/integration/mqtt_fuzz.py
