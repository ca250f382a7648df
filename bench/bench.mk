# bench/: fc-peers and fc-score, the C twins of ../shared/yardstick (PROTOCOL.md C, A.1),
# and the check that fc-score agrees with score_forecasts.py. Included from Makefile.am;
# the `bench` target itself is defined there.
noinst_PROGRAMS += bench/fc-score bench/fc-peers

# TRACE_SOURCES (tools/tools.mk): the trace reader and its CSV reader
bench_trace_sources = $(TRACE_SOURCES) bench/trace_set.c bench/trace_set.h

bench_fc_score_SOURCES = \
	bench/score.c bench/scores.c bench/scores.h \
	bench/forecast_file.c bench/forecast_file.h $(bench_trace_sources)
bench_fc_score_LDADD = -lm

bench_fc_peers_SOURCES = bench/peers.c $(bench_trace_sources)
bench_fc_peers_LDADD = -lm

EXTRA_DIST += bench/check_yardstick.sh bench/compare_scores.py

noinst_PROGRAMS += bench/fc-speed
bench_fc_speed_SOURCES = bench/speed.c $(bench_trace_sources)
bench_fc_speed_LDADD = forecast/libforecast.la -lm
EXTRA_DIST += bench/run-bench.sh bench/targets.csv
EXTRA_DIST += bench/alloc-bench.sh bench/alloc_report.py
