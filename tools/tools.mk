# Command-line programs. The trace reader is shared with bench/ and the unit tests.
TRACE_SOURCES = tools/trace.c tools/trace.h tools/trace_files.c tools/csv.c tools/csv.h

bin_PROGRAMS += tools/foresight-replay
tools_foresight_replay_SOURCES = tools/replay.c $(TRACE_SOURCES) $(ALLOC_SIM_SOURCES)
tools_foresight_replay_LDADD = forecast/libforecast.la actuator/libactuator.la -lm

# The allocation what-if (--alloc): the planner over a trace, and its CSV writer.
ALLOC_SIM_SOURCES = tools/alloc_sim.c tools/alloc_sim.h tools/alloc_csv.c tools/alloc_csv.h

# Unit tests of the allocation what-if: the CSV writer, and the simulation on a
# synthetic trace written at test time.
tools_unit_tests = tests/unit/test_alloc_csv tests/unit/test_alloc_sim
check_PROGRAMS += $(tools_unit_tests)
TESTS += $(tools_unit_tests)
tests_unit_test_alloc_csv_SOURCES = tests/unit/test_alloc_csv.c tools/alloc_csv.c \
	tools/alloc_csv.h
tests_unit_test_alloc_csv_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_alloc_csv_LDADD = $(CMOCKA_LIBS)
tests_unit_test_alloc_sim_SOURCES = tests/unit/test_alloc_sim.c $(ALLOC_SIM_SOURCES) \
	$(TRACE_SOURCES)
tests_unit_test_alloc_sim_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_alloc_sim_LDADD = forecast/libforecast.la actuator/libactuator.la \
	$(CMOCKA_LIBS) -lm

# End to end: the allocation CSV of a one-VM trace excerpt is accepted by alloc_eval.py.
INTEGRATION_TESTS += tests/integration/alloc_replay.sh
EXTRA_DIST += tests/integration/alloc_replay.sh
