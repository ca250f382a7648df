# plugins/virt.mk: foresight_virt, the libvirt read plugin (a libtool module loaded by
# collectd from its PluginDir), its collectd-free units virt_sample (rates),
# virt_domain (per-domain libvirt calls) and virt_call (the bulk call with a deadline),
# their unit tests and integration tests.
# Variables are prefixed virt_ so this fragment sits beside plugins/plugins.mk.
virtplugindir = $(libdir)/collectd
virtplugin_LTLIBRARIES = plugins/foresight_virt.la

VIRT_UNIT_SOURCES = \
	plugins/virt_sample.c plugins/virt_sample.h \
	plugins/virt_domain.c plugins/virt_domain.h \
	plugins/virt_call.c plugins/virt_call.h

plugins_foresight_virt_la_SOURCES = plugins/foresight_virt.c $(VIRT_UNIT_SOURCES)
plugins_foresight_virt_la_CPPFLAGS = $(AM_CPPFLAGS) $(COLLECTD_CPPFLAGS) $(LIBVIRT_CFLAGS)
plugins_foresight_virt_la_LDFLAGS = -module -avoid-version -shared
plugins_foresight_virt_la_LIBADD = $(LIBVIRT_LIBS) $(PTHREAD_LIBS) -lm

# Unit tests: recorded stats records (tests/unit/fixtures/NAME.stats, virsh domstats --raw
# format) parsed into virTypedParameter arrays.
virt_unit_tests = tests/unit/test_virt_sample tests/unit/test_virt_domain \
	tests/unit/test_virt_call
check_PROGRAMS += $(virt_unit_tests)
TESTS += $(virt_unit_tests)
VIRT_TEST_SOURCES = tests/unit/virt_fixture.c tests/unit/virt_fixture.h $(VIRT_UNIT_SOURCES)
VIRT_TEST_CPPFLAGS = $(AM_CPPFLAGS) $(LIBVIRT_CFLAGS) \
	-DFS_FIXTURES='"$(abs_top_srcdir)/tests/unit/fixtures"'

tests_unit_test_virt_sample_SOURCES = tests/unit/test_virt_sample.c $(VIRT_TEST_SOURCES)
tests_unit_test_virt_sample_CPPFLAGS = $(VIRT_TEST_CPPFLAGS)
tests_unit_test_virt_sample_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_virt_sample_LDADD = $(CMOCKA_LIBS) $(LIBVIRT_LIBS) -lm

tests_unit_test_virt_domain_SOURCES = tests/unit/test_virt_domain.c $(VIRT_TEST_SOURCES)
tests_unit_test_virt_domain_CPPFLAGS = $(VIRT_TEST_CPPFLAGS)
tests_unit_test_virt_domain_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_virt_domain_LDADD = $(CMOCKA_LIBS) $(LIBVIRT_LIBS) -lm

tests_unit_test_virt_call_SOURCES = tests/unit/test_virt_call.c $(VIRT_TEST_SOURCES)
tests_unit_test_virt_call_CPPFLAGS = $(VIRT_TEST_CPPFLAGS)
tests_unit_test_virt_call_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_virt_call_LDADD = $(CMOCKA_LIBS) $(LIBVIRT_LIBS) $(PTHREAD_LIBS) -lm

EXTRA_DIST += \
	tests/unit/fixtures/qemu_burn_1.stats tests/unit/fixtures/qemu_burn_2.stats \
	tests/unit/fixtures/qemu_idle_1.stats tests/unit/fixtures/qemu_idle_2.stats \
	tests/unit/fixtures/qemu_restarted.stats tests/unit/fixtures/testdriver.stats

# Integration tests: the real collectd daemon with the built module.
INTEGRATION_TESTS += tests/integration/virt_testdriver.sh tests/integration/virt_realvm.sh
EXTRA_DIST += tests/integration/virt_testdriver.sh tests/integration/virt_realvm.sh \
	tests/integration/virt_lib.sh tests/integration/virt_guest.sh conf/testnode.xml conf/types.db
