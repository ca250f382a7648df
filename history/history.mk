# libhistory: librrd, no collectd. A series' RRD file in collectd's DataDir layout.
# Linked into the forecast write plugin, tools/foresight-graph and the tests.
noinst_LTLIBRARIES += history/libhistory.la
history_libhistory_la_SOURCES = \
	history/history.h history/hist_internal.h \
	history/error.c history/path.c history/layout.c history/info.c \
	history/ensure.c history/update.c history/fetch.c
history_libhistory_la_CFLAGS = $(AM_CFLAGS) $(LIBRRD_CFLAGS)
history_libhistory_la_LIBADD = $(LIBRRD_LIBS) -lm

# Unit tests (cmocka) on real RRD files in a temporary folder.
history_unit_tests = tests/unit/test_history
check_PROGRAMS += $(history_unit_tests)
TESTS += $(history_unit_tests)
tests_unit_test_history_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBRRD_CFLAGS)
tests_unit_test_history_LDADD = history/libhistory.la $(LIBRRD_LIBS) $(CMOCKA_LIBS) $(PTHREAD_LIBS) -lm
