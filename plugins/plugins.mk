# plugins/: collectd glue. Each plugin is a libtool module loaded by collectd from its
# PluginDir ($(libdir)/collectd). The collectd-free logic sits in small fsp_* units,
# compiled into the modules and into their unit tests (tests/unit/test_fsp_*).
plugindir = $(libdir)/collectd
plugin_LTLIBRARIES = plugins/foresight_replay.la
PLUGIN_LDFLAGS = -module -avoid-version -shared
PLUGIN_CPPFLAGS = $(AM_CPPFLAGS) $(COLLECTD_CPPFLAGS)

# TRACE_SOURCES (tools/tools.mk): the trace reader shared with the replay tool
FSP_REPLAY_SOURCES = plugins/fsp_replay.c plugins/fsp_replay.h $(TRACE_SOURCES)

plugins_foresight_replay_la_SOURCES = plugins/foresight_replay.c $(FSP_REPLAY_SOURCES)
plugins_foresight_replay_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_foresight_replay_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_foresight_replay_la_LIBADD = -lm

plugins_unit_tests = tests/unit/test_fsp_replay
check_PROGRAMS += $(plugins_unit_tests)
TESTS += $(plugins_unit_tests)

tests_unit_test_fsp_replay_SOURCES = tests/unit/test_fsp_replay.c $(FSP_REPLAY_SOURCES)
tests_unit_test_fsp_replay_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_fsp_replay_LDADD = $(CMOCKA_LIBS) -lm

# foresight's value types (conf/types.db) and the example snippet.
foresightdatadir = $(datadir)/foresight
dist_foresightdata_DATA = conf/types.db
EXTRA_DIST += conf/foresight.conf
