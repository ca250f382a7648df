/* forecaster.c -- a series and its current model, as a plugin keeps them per (VM, metric).
 *
 * The model observes each slot as soon as its first sample arrives, so forecasts never
 * lag the data; a nearer sample for the same slot that arrives later updates the store
 * (and so the next fit) but not the running model. Slots skipped by a gap are observed as
 * missing. A model fitted elsewhere on a clone is brought up to date by replaying the
 * slots the clone did not have before it replaces the current one.
 */
#include <math.h>
#include <stdlib.h>

#include "forecast/fc_internal.h"

struct fc_forecaster {
  fc_config cfg;
  fc_series *series;
  fc_model *model; /* NULL until the first fit */
};

fc_forecaster *fc_forecaster_create(const fc_config *cfg, fc_series_kind kind,
                                    fc_error *err) {
  if (fc_config_validate(cfg, err) != 0)
    return NULL;
  fc_forecaster *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    fc__fail(err, FC_ENOMEM, "forecaster: out of memory");
    return NULL;
  }
  f->cfg = *cfg;
  f->series = fc_series_create(cfg->step_s, cfg->history_slots, kind, err);
  if (f->series == NULL) {
    free(f);
    return NULL;
  }
  return f;
}

void fc_forecaster_destroy(fc_forecaster *f) {
  if (f == NULL)
    return;
  fc_series_destroy(f->series);
  fc_model_destroy(f->model);
  free(f);
}

/* Advances the model to the series' newest slot, flagging anomalies in the series. */
static void catch_up(fc_series *s, fc_model *m) {
  int64_t last = fc_series_last_slot(s);
  for (int64_t slot = fc_model_slot(m) + 1; slot <= last; slot++)
    if (fc_model_observe(m, fc_series_at(s, slot)) == 1)
      fc_series_flag_anomaly(s, slot);
}

int fc_forecaster_add(fc_forecaster *f, double ts_s, double value) {
  int bits = fc_series_add(f->series, ts_s, value);
  if (f->model != NULL && (bits & FC_SAMPLE_STORED) && !(bits & FC_SAMPLE_REPLACED))
    catch_up(f->series, f->model);
  return bits;
}

void fc_forecaster_tick(fc_forecaster *f, int64_t slot) {
  fc_series_advance(f->series, slot);
  if (f->model != NULL)
    catch_up(f->series, f->model);
}

int fc_forecaster_retrain(fc_forecaster *f, fc_error *err) {
  fc_model *m = fc_model_fit(&f->cfg, f->series, err);
  if (m == NULL)
    return err != NULL ? err->code : FC_ENODATA;
  fc_model_destroy(f->model);
  f->model = m;
  return 0;
}

int fc_forecaster_install(fc_forecaster *f, fc_model *m, fc_error *err) {
  if (fc_model_slot(m) > fc_series_last_slot(f->series)) {
    int rc = fc__fail(err, FC_EINVAL, "model at slot %lld is newer than the series (%lld)",
                      (long long)fc_model_slot(m),
                      (long long)fc_series_last_slot(f->series));
    fc_model_destroy(m);
    return rc;
  }
  catch_up(f->series, m);
  fc_model_destroy(f->model);
  f->model = m;
  return 0;
}

int fc_forecaster_forecast(const fc_forecaster *f, fc_point out[], fc_error *err) {
  if (f->model == NULL)
    return fc__fail(err, FC_ESTATE, "no model fitted yet");
  fc_model_forecast(f->model, out);
  return 0;
}

const fc_series *fc_forecaster_series(const fc_forecaster *f) { return f->series; }
const fc_model *fc_forecaster_model(const fc_forecaster *f) { return f->model; }
