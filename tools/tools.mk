# Command-line programs. The trace reader is shared with bench/ and the unit tests.
TRACE_SOURCES = tools/trace.c tools/trace.h tools/trace_files.c tools/csv.c tools/csv.h

bin_PROGRAMS += tools/foresight-replay
tools_foresight_replay_SOURCES = tools/replay.c $(TRACE_SOURCES) $(ALLOC_SIM_SOURCES)
tools_foresight_replay_LDADD = forecast/libforecast.la actuator/libactuator.la -lm

# The allocation what-if (--alloc): the planner over a trace, and its CSV writer.
ALLOC_SIM_SOURCES = tools/alloc_sim.c tools/alloc_sim.h tools/alloc_csv.c tools/alloc_csv.h
