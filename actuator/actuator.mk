# libactuator: pure C, no collectd, no libvirt (yet): policy, quantisation, planner,
# loan ledger, decisions. Linked into the actuator plugin, the replay tool and tests.
noinst_LTLIBRARIES += actuator/libactuator.la
actuator_libactuator_la_SOURCES = \
	actuator/actuator.h actuator/act_internal.h \
	actuator/error.c actuator/resource.c actuator/quantize.c \
	actuator/policy.c actuator/validate.c \
	actuator/ledger.c actuator/ledger_file.c actuator/decision.c \
	actuator/planner.c actuator/resize.c actuator/capacity.c actuator/borrow.c \
	actuator/scale.c
actuator_libactuator_la_LIBADD = -lm

# Unit tests (cmocka): one program per idea, one behaviour per test.
actuator_unit_tests = \
	tests/unit/test_quantize tests/unit/test_policy tests/unit/test_ledger \
	tests/unit/test_planner tests/unit/test_borrow tests/unit/test_scale
check_PROGRAMS += $(actuator_unit_tests)
TESTS += $(actuator_unit_tests)
EXTRA_DIST += tests/unit/act_fixture.h
ACT_UNIT_LDADD = actuator/libactuator.la $(CMOCKA_LIBS) -lm

tests_unit_test_quantize_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_quantize_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_policy_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_policy_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_ledger_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_ledger_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_planner_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_planner_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_borrow_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_borrow_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_scale_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_scale_LDADD = $(ACT_UNIT_LDADD)
