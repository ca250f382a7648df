# Unit tests (cmocka): one program per library file, one behaviour per test.
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
UNIT_FORECAST_LDADD = forecast/libforecast.la $(CMOCKA_LIBS) -lm

forecast_unit_tests = \
	tests/unit/test_series tests/unit/test_numeric tests/unit/test_season \
	tests/unit/test_naive tests/unit/test_ets tests/unit/test_fourier tests/unit/test_ar \
	tests/unit/test_gru tests/unit/test_model tests/unit/test_aggregate \
	tests/unit/test_trace
check_PROGRAMS += $(forecast_unit_tests)
TESTS += $(forecast_unit_tests)
EXTRA_DIST += tests/unit/synth.h

tests_unit_test_series_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_series_LDADD = $(UNIT_FORECAST_LDADD)
tests_unit_test_numeric_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_numeric_LDADD = $(UNIT_FORECAST_LDADD)
tests_unit_test_season_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_season_LDADD = $(UNIT_FORECAST_LDADD)
tests_unit_test_naive_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_naive_LDADD = $(UNIT_FORECAST_LDADD)
tests_unit_test_ets_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ets_LDADD = $(UNIT_FORECAST_LDADD)
tests_unit_test_fourier_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_fourier_LDADD = $(UNIT_FORECAST_LDADD)
tests_unit_test_ar_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ar_LDADD = $(UNIT_FORECAST_LDADD)
tests_unit_test_gru_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_gru_LDADD = $(UNIT_FORECAST_LDADD)
tests_unit_test_model_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_model_LDADD = $(UNIT_FORECAST_LDADD)
tests_unit_test_aggregate_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_aggregate_LDADD = $(UNIT_FORECAST_LDADD)
tests_unit_test_trace_SOURCES = tests/unit/test_trace.c $(TRACE_SOURCES)
tests_unit_test_trace_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_trace_LDADD = $(CMOCKA_LIBS) -lm
