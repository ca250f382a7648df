# libforecast: pure C, no collectd. Linked into the plugins, tools and tests.
noinst_LTLIBRARIES += forecast/libforecast.la
forecast_libforecast_la_SOURCES = \
	forecast/forecast.h forecast/fc_internal.h forecast/ar.h \
	forecast/error.c forecast/config.c forecast/numeric.c forecast/optim.c \
	forecast/linalg.c forecast/series.c forecast/season.c \
	forecast/naive.c forecast/ets.c forecast/fourier.c forecast/ar.c forecast/gru.c \
	forecast/kinds.c forecast/model.c forecast/forecaster.c forecast/aggregate.c
forecast_libforecast_la_CFLAGS = $(AM_CFLAGS) $(LAPACKE_CFLAGS) $(BLAS_CFLAGS)
forecast_libforecast_la_LIBADD = $(LAPACKE_LIBS) $(BLAS_LIBS) -lm
