# plugins/: collectd glue. Each plugin is a libtool module loaded by collectd from its
# PluginDir ($(libdir)/collectd). The collectd-free logic sits in small fsp_* units,
# compiled into the modules and into their unit tests (tests/unit/test_fsp_*).
plugindir = $(libdir)/collectd
plugin_LTLIBRARIES = plugins/foresight_replay.la plugins/foresight_forecast.la
PLUGIN_LDFLAGS = -module -avoid-version -shared
PLUGIN_CPPFLAGS = $(AM_CPPFLAGS) $(COLLECTD_CPPFLAGS)

# TRACE_SOURCES (tools/tools.mk): the trace reader shared with the replay tool
FSP_REPLAY_SOURCES = plugins/fsp_replay.c plugins/fsp_replay.h $(TRACE_SOURCES)

plugins_foresight_replay_la_SOURCES = plugins/foresight_replay.c $(FSP_REPLAY_SOURCES)
plugins_foresight_replay_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_foresight_replay_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_foresight_replay_la_LIBADD = -lm

# The forecast engine: write path, stepper, workers, RRD history (no collectd).
FSP_ENGINE_SOURCES = plugins/fsp_engine.c plugins/fsp_engine.h plugins/fsp_internal.h \
	plugins/fsp_table.c plugins/fsp_store.c plugins/fsp_map.c plugins/fsp_map.h
FSP_ENGINE_LIBS = forecast/libforecast.la history/libhistory.la $(LIBRRD_LIBS) \
	$(PTHREAD_LIBS) -lm

plugins_foresight_forecast_la_SOURCES = plugins/foresight_forecast.c $(FSP_ENGINE_SOURCES)
plugins_foresight_forecast_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_foresight_forecast_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_foresight_forecast_la_LIBADD = $(FSP_ENGINE_LIBS)

plugins_unit_tests = tests/unit/test_fsp_replay tests/unit/test_fsp_map \
	tests/unit/test_fsp_engine
check_PROGRAMS += $(plugins_unit_tests)
TESTS += $(plugins_unit_tests)

tests_unit_test_fsp_replay_SOURCES = tests/unit/test_fsp_replay.c $(FSP_REPLAY_SOURCES)
tests_unit_test_fsp_replay_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_fsp_replay_LDADD = $(CMOCKA_LIBS) -lm
tests_unit_test_fsp_map_SOURCES = tests/unit/test_fsp_map.c plugins/fsp_map.c plugins/fsp_map.h
tests_unit_test_fsp_map_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_fsp_map_LDADD = $(CMOCKA_LIBS)
tests_unit_test_fsp_engine_SOURCES = tests/unit/test_fsp_engine.c $(FSP_ENGINE_SOURCES)
tests_unit_test_fsp_engine_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_fsp_engine_LDADD = $(FSP_ENGINE_LIBS) $(CMOCKA_LIBS)

# foresight's value types (conf/types.db) and the example snippet.
foresightdatadir = $(datadir)/foresight
dist_foresightdata_DATA = conf/types.db
EXTRA_DIST += conf/foresight.conf

# Integration tests: the real collectd daemon with this build's plugins
# (tests/integration/lib.sh); FS_TRACES points at ../shared/traces.
INTEGRATION_TESTS += tests/integration/forecast_restart.sh tests/integration/config_errors.sh \
	tests/integration/forecast_evict.sh
EXTRA_DIST += tests/integration/lib.sh $(INTEGRATION_TESTS)

# bench/plugins-bench.sh (run by `make bench`): the write path's cost per value and
# memory per series (fs-write-cost), and the daemon at 10,000 VMs.
noinst_PROGRAMS += bench/fs-write-cost
bench_fs_write_cost_SOURCES = bench/fs_write_cost.c $(FSP_ENGINE_SOURCES)
bench_fs_write_cost_LDADD = $(FSP_ENGINE_LIBS)
EXTRA_DIST += bench/plugins-bench.sh
