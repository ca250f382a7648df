# libfsmqtt: the broker link (libmosquitto), no collectd. Linked into the actuator
# plugin (later) and used by foresight-ctl's tests.
noinst_LTLIBRARIES += mqtt/libfsmqtt.la
mqtt_libfsmqtt_la_SOURCES = \
	mqtt/mqtt.h mqtt/mqtt_internal.h mqtt/link.c mqtt/queue.c mqtt/retained.c
mqtt_libfsmqtt_la_CPPFLAGS = $(AM_CPPFLAGS) $(LIBMOSQUITTO_CFLAGS)
mqtt_libfsmqtt_la_LIBADD = $(LIBMOSQUITTO_LIBS) $(PTHREAD_LIBS)

# Unit tests: the queue and the retained cache, without a broker.
check_PROGRAMS += tests/unit/test_mqtt_queue
TESTS += tests/unit/test_mqtt_queue
tests_unit_test_mqtt_queue_SOURCES = tests/unit/test_mqtt_queue.c mqtt/queue.c mqtt/retained.c
tests_unit_test_mqtt_queue_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_mqtt_queue_LDADD = $(CMOCKA_LIBS)

# Integration: the link against a real mosquitto on a loopback port (the script makes
# the accounts, the certificates and the temp folder; the C program runs the cases).
check_PROGRAMS += tests/integration/mqtt_link_test
tests_integration_mqtt_link_test_SOURCES = \
	tests/integration/mqtt_link_test.c tests/integration/broker.c tests/integration/broker.h
tests_integration_mqtt_link_test_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_integration_mqtt_link_test_LDADD = mqtt/libfsmqtt.la $(CMOCKA_LIBS) $(PTHREAD_LIBS)
INTEGRATION_TESTS += tests/integration/mqtt_link.sh
EXTRA_DIST += tests/integration/mqtt_link.sh tests/integration/mqtt_env.sh \
	conf/mosquitto-demo.conf conf/mosquitto-demo.acl scripts/mosquitto-demo.sh
