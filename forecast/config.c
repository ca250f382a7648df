/* config.c -- the forecaster configuration: defaults and validation.
 * Defaults follow PROTOCOL.md: 5-minute steps, horizons of 5, 15 and 60 minutes, a central
 * 90 % interval, a 14-day training window of which the last 3 days are held out for
 * model selection and interval calibration. The GRU is off by default: it costs ~0.5 s
 * per fit and wins rarely (see bench/); a user enables it with Models in the config. */
#include <math.h>

#include "forecast/fc_internal.h"

enum { MAX_HISTORY_DAYS = 28 };

void fc_config_default(fc_config *cfg) {
  *cfg = (fc_config){
      .step_s = 300,
      .n_horizons = 3,
      .horizons = {1, 3, 12},
      .confidence = 0.9,
      .history_slots = 14 * 288,
      .backtest_slots = 3 * 288,
      .kinds = FC_KINDS_ALL & ~FC_KIND_BIT(FC_KIND_GRU),
      .anomaly_factor = 3.0,
      .seed = 1,
  };
}

int fc_config_season(const fc_config *cfg) { return 86400 / cfg->step_s; }

static int validate_horizons(const fc_config *cfg, fc_error *err) {
  int day = fc_config_season(cfg);
  if (cfg->n_horizons < 1 || cfg->n_horizons > FC_MAX_HORIZONS)
    return fc__fail(err, FC_EINVAL, "horizon count %d (must be in [1, %d])",
                    cfg->n_horizons, FC_MAX_HORIZONS);
  for (int i = 0; i < cfg->n_horizons; i++) {
    int h = cfg->horizons[i];
    if (h < 1 || h > day)
      return fc__fail(err, FC_EINVAL, "horizon %d slots (must be in [1, %d], one day)", h,
                      day);
    if (i > 0 && h <= cfg->horizons[i - 1])
      return fc__fail(err, FC_EINVAL, "horizon %d slots after %d (must increase)", h,
                      cfg->horizons[i - 1]);
  }
  return 0;
}

int fc_config_validate(const fc_config *cfg, fc_error *err) {
  if (cfg->step_s < 1 || cfg->step_s > 3600 || 86400 % cfg->step_s != 0)
    return fc__fail(err, FC_EINVAL, "step %d s (must divide a day, 1..3600 s)", cfg->step_s);
  int rc = validate_horizons(cfg, err);
  if (rc != 0)
    return rc;
  if (!(cfg->confidence > 0.0 && cfg->confidence < 1.0))
    return fc__fail(err, FC_EINVAL, "confidence %g (must be in (0, 1))", cfg->confidence);
  int day = fc_config_season(cfg);
  if (cfg->history_slots < 2 * day || cfg->history_slots > MAX_HISTORY_DAYS * day)
    return fc__fail(err, FC_EINVAL, "history %d slots (must be %d..%d, 2 to %d days)",
                    cfg->history_slots, 2 * day, MAX_HISTORY_DAYS * day, MAX_HISTORY_DAYS);
  if (cfg->backtest_slots < 4 * cfg->horizons[cfg->n_horizons - 1] ||
      cfg->backtest_slots > cfg->history_slots / 2)
    return fc__fail(err, FC_EINVAL,
                    "backtest %d slots (must be %d..%d: 4 x the longest horizon to half "
                    "the history)",
                    cfg->backtest_slots, 4 * cfg->horizons[cfg->n_horizons - 1],
                    cfg->history_slots / 2);
  if ((cfg->kinds & FC_KINDS_ALL) == 0 || (cfg->kinds & ~FC_KINDS_ALL) != 0)
    return fc__fail(err, FC_EINVAL, "model set 0x%x (must enable at least one known kind)",
                    cfg->kinds);
  if (!(cfg->anomaly_factor >= 1.0) || !isfinite(cfg->anomaly_factor))
    return fc__fail(err, FC_EINVAL, "anomaly factor %g (must be >= 1)", cfg->anomaly_factor);
  return 0;
}
