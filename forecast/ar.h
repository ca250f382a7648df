/* ar.h -- a window into ar.c's fitted model, for unit tests only.
 * Library code reaches a kind through fc__model_ops alone; this exists so that a test
 * can check an estimate (the AR(1) coefficient of a simulated series) rather than only
 * its forecasts. */
#ifndef FC_AR_H
#define FC_AR_H

#include "forecast/fc_internal.h"

/* The fitted coefficient of y_{t-lag} in a state returned by fc__ar_ops.fit(); 0 when
 * the lag is not in the selected model. */
double fc__ar_coef(const void *st, int lag);

/* The number of lags in the selected model (recent and seasonal). */
int fc__ar_nlags(const void *st);

#endif /* FC_AR_H */
