# foresight-graph: a VM's usage, forecast band and allocation from its RRD files.
bin_PROGRAMS += tools/foresight-graph
tools_foresight_graph_SOURCES = \
	tools/graph.c tools/graph.h tools/graph_plan.c tools/graph_draw.c
tools_foresight_graph_CFLAGS = $(AM_CFLAGS) $(LIBRRD_CFLAGS)
tools_foresight_graph_LDADD = history/libhistory.la $(LIBRRD_LIBS) -lm

# Integration test: RRD files from a real trace (tests/integration/graph_fixture.c, built
# for the test only), then pictures and errors of foresight-graph.
check_PROGRAMS += tests/integration/graph-fixture
tests_integration_graph_fixture_SOURCES = tests/integration/graph_fixture.c $(TRACE_SOURCES)
tests_integration_graph_fixture_LDADD = history/libhistory.la $(LIBRRD_LIBS) -lm
INTEGRATION_TESTS += tests/integration/graph.sh
EXTRA_DIST += tests/integration/graph.sh tests/integration/lsan-librrd.supp
