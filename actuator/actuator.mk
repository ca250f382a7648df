# libactuator: pure C, no collectd, no libvirt: policy, quantisation, planner, loan
# ledger, decisions, and the applier (write-ahead journal, transactions, recovery)
# written against the hypervisor interface hv.h. Linked into the actuator plugin, the
# replay tool and tests.
noinst_LTLIBRARIES += actuator/libactuator.la
actuator_libactuator_la_SOURCES = \
	actuator/actuator.h actuator/act_internal.h \
	actuator/error.c actuator/resource.c actuator/quantize.c \
	actuator/policy.c actuator/validate.c \
	actuator/ledger.c actuator/ledger_file.c actuator/decision.c \
	actuator/planner.c actuator/planner_file.c actuator/resize.c actuator/capacity.c actuator/borrow.c \
	actuator/scale.c \
	actuator/durable.c actuator/hv.h actuator/hv.c \
	actuator/apply.h actuator/journal.c actuator/apply.c actuator/apply_steps.c
actuator_libactuator_la_LIBADD = -lm

# libactuator_hv: the libvirt implementation of hv.h, kept apart so that what needs no
# hypervisor (the replay tool, the planner's tests) links neither libvirt nor libxml2.
# Link it *before* libactuator.la: it uses libactuator's helpers.
noinst_LTLIBRARIES += actuator/libactuator_hv.la
actuator_libactuator_hv_la_SOURCES = actuator/hv_libvirt.h actuator/hv_libvirt.c
actuator_libactuator_hv_la_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(LIBXML_CFLAGS)
actuator_libactuator_hv_la_LIBADD = $(LIBVIRT_LIBS) $(LIBXML_LIBS)

# Unit tests (cmocka): one program per idea, one behaviour per test.
actuator_unit_tests = \
	tests/unit/test_quantize tests/unit/test_policy tests/unit/test_ledger \
	tests/unit/test_planner tests/unit/test_borrow tests/unit/test_scale \
	tests/unit/test_break_even tests/unit/test_planner_file \
	tests/unit/test_journal tests/unit/test_hv_libvirt tests/unit/test_apply
check_PROGRAMS += $(actuator_unit_tests)
TESTS += $(actuator_unit_tests)
EXTRA_DIST += tests/unit/act_fixture.h
ACT_UNIT_LDADD = actuator/libactuator.la $(CMOCKA_LIBS) -lm
# The applier's tests drive libvirt's real test driver (test:///<node XML they write>).
ACT_HV_UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBVIRT_CFLAGS)
ACT_HV_UNIT_LDADD = actuator/libactuator_hv.la actuator/libactuator.la \
	$(LIBVIRT_LIBS) $(CMOCKA_LIBS) -lm
ACT_HV_UNIT_FIXTURE = tests/unit/lv_fixture.h tests/unit/lv_fixture.c \
	tests/unit/hv_fault.h tests/unit/hv_fault.c

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
tests_unit_test_break_even_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_break_even_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_planner_file_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_planner_file_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_journal_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_journal_LDADD = $(ACT_UNIT_LDADD)
tests_unit_test_hv_libvirt_SOURCES = tests/unit/test_hv_libvirt.c $(ACT_HV_UNIT_FIXTURE)
tests_unit_test_hv_libvirt_CFLAGS = $(ACT_HV_UNIT_CFLAGS)
tests_unit_test_hv_libvirt_LDADD = $(ACT_HV_UNIT_LDADD)
tests_unit_test_apply_SOURCES = tests/unit/test_apply.c $(ACT_HV_UNIT_FIXTURE)
tests_unit_test_apply_CFLAGS = $(ACT_HV_UNIT_CFLAGS)
tests_unit_test_apply_LDADD = $(ACT_HV_UNIT_LDADD)
