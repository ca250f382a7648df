/* gru.c -- FC_KIND_GRU: a small gated recurrent network, trained per series.
 *
 * The network reads the series one slot at a time and keeps a hidden state h_t of
 * GRU_HIDDEN units; a linear head reads all horizons at once from that state and the
 * step's inputs, so a forecast is one matrix-vector product and an observation one
 * recurrent step.
 *
 * Cell: the gated recurrent unit of Cho, van Merrienboer, Gulcehre, Bahdanau, Bougares,
 * Schwenk & Bengio, "Learning Phrase Representations using RNN Encoder-Decoder for
 * Statistical Machine Translation", EMNLP 2014, pp. 1724-1734, eq. (5)-(8), with the
 * reset gate applied before the recurrent product, as there:
 *   r_t = sigma(W_r x_t + U_r h_{t-1} + b_r)                 reset gate
 *   u_t = sigma(W_u x_t + U_u h_{t-1} + b_u)                 update gate (Cho's z)
 *   n_t = tanh (W_n x_t + U_n (r_t . h_{t-1}) + b_n)         candidate state
 *   h_t = u_t . h_{t-1} + (1 - u_t) . n_t                    ('.' = elementwise)
 * Head (direct multi-horizon, one row per horizon k = 1..K, K = h_max of the fit):
 *   zhat_{t+k|t} = V_k . [h_t ; x_t] + c_k,   yhat_{t+k|t} = mean + sd * zhat_{t+k|t}
 * The head also reads the inputs x_t directly, a linear path beside the network like
 * the autoregressive component of LSTNet (Lai, Chang, Yang & Liu, "Modeling Long- and
 * Short-Term Temporal Patterns with Deep Neural Networks", SIGIR 2018): persistence
 * (zhat = z_t), the daily profile and yesterday's value are then linear in what the
 * head sees, and the recurrent part learns what they miss (on four Azure CPU traces
 * it lowered the h = 1 error by up to a fifth).
 * The loss is squared error, so forecasts aim at the conditional mean: on a series
 * idling at a floor with rare spikes they sit above the floor, and lose to the last
 * value in absolute error while matching it in squared error.
 * Inputs x_t: z_t = (y_t - mean) / sd with mean and sd of the fit window's valid
 * samples; sin and cos of 2 pi (slot mod day_slots) / day_slots, the time of day of
 * the absolute slot; and, when a daily cycle was detected (season > 0), z_{t-day_slots},
 * the input of the same slot a day earlier (0 in the first day). A missing input (weight
 * < 0.5 in the fit, NaN in observe) is replaced by the network's own one-step forecast
 * zhat_{t|t-1}; that imputed value is also what a day later serves as the lag input.
 *
 * Training: mean squared error over all (origin t, horizon k) pairs whose target is
 * valid, in normalised units, minimised by truncated backpropagation through time
 * (Williams & Peng, "An efficient gradient-based algorithm for on-line training of
 * recurrent network trajectories", Neural Computation 2(4), 1990, pp. 490-501): the
 * window is cut into chunks of GRU_BPTT steps, the hidden state carries over between
 * chunks but the gradient does not, and each chunk makes one Adam step (Kingma & Ba,
 * "Adam: A Method for Stochastic Optimization", ICLR 2015, Algorithm 1) after clipping
 * the gradient's global norm (Pascanu, Mikolov & Bengio, "On the difficulty of training
 * recurrent neural networks", ICML 2013, pp. 1310-1318). The first chunk
 * of every epoch has a random length so that the cuts move between epochs. The imputed
 * inputs are treated as constants by the gradient. Initial weights: Glorot uniform
 * (Glorot & Bengio, AISTATS 2010) for W and U, zeros for the biases and for the head,
 * so the untrained network forecasts the window mean and its loss starts at the
 * normalised variance of the targets (about 1).
 *
 * Early stopping: the last GRU_VAL_SHARE of the window (at least h_max slots) is held
 * out; training targets stop before it. After each epoch the network runs on from the
 * end of the training part over the held-out part, and the weights with the lowest
 * held-out loss are kept. Training stops after GRU_PATIENCE epochs without improvement
 * or when the work budget is spent: GRU_BUDGET_MACS multiply-adds per fit, converted to
 * a number of epochs from the window length, so a fit costs about the same whatever n
 * (0.3-0.45 s on one core for n = 3200, h_max = 12, measured when written) and is
 * deterministic (no clock is read). With long horizons the head would dominate the cost
 * (K (H + d) per step); each step then trains only every stride-th horizon, so that at
 * most GRU_K_TRAIN horizons are trained per step and every horizon still sees
 * n / stride targets per epoch.
 *
 * Invariants of the fitted state: sd > 0; every normalised value that enters the network
 * or leaves the head is clamped to [z_min, z_max] (the window's range widened by its
 * width on both sides), so h stays in (-1, 1) and every forecast is finite.
 * Determinism: everything random comes from a splitmix64 generator seeded by in->seed.
 *
 * Not here: trend extrapolation (a level far outside the window's range is clamped),
 * weekly seasonality (in->season_week is not used), intervals (model.c calibrates them
 * on backtest errors).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/fc_internal.h"

#define GRU_HIDDEN 12          /* hidden units H */
#define GRU_MAX_INPUTS 4       /* z, sin, cos, and the day-lag input */
#define GRU_MAX_FEAT (GRU_HIDDEN + GRU_MAX_INPUTS) /* what the head reads: [h ; x] */
#define GRU_BPTT 64            /* truncation length, steps */
#define GRU_K_TRAIN 24         /* at most this many horizons trained per step */
#define GRU_VAL_SHARE 0.15     /* held-out share of the window, for early stopping */
#define GRU_MIN_TRAIN (2 * GRU_BPTT) /* fewest training slots (and valid samples) */
#define GRU_MIN_EPOCHS 8
#define GRU_MAX_EPOCHS 150
#define GRU_PATIENCE 10        /* epochs without a held-out improvement before stopping */
#define GRU_BUDGET_MACS 4.0e8  /* work budget per fit, multiply-adds */
#define GRU_LEARN_RATE 0.01    /* Adam step size alpha */
#define GRU_BETA1 0.9          /* Adam decay of the first moment */
#define GRU_BETA2 0.999        /* Adam decay of the second moment */
#define GRU_ADAM_EPS 1e-8
#define GRU_CLIP_NORM 5.0      /* gradient global-norm bound */
#define GRU_TWO_PI 6.283185307179586476925

enum { GATE_R = 0, GATE_U = 1, GATE_N = 2, GATE_COUNT = 3 };

/* Views into a flat parameter (or gradient) vector of param_count(d, k) doubles:
 * for each gate W (H x d, row-major), U (H x H), b (H); then the head V (k x (H + d)),
 * c (k). */
typedef struct gru_view {
  double *W[GATE_COUNT];
  double *U[GATE_COUNT];
  double *b[GATE_COUNT];
  double *V;
  double *c;
} gru_view;

typedef struct gru_state {
  int d_in;               /* inputs per step: 3, or 4 with the day-lag input */
  int k_out;              /* horizons of the head: in->h_max */
  int day;                /* slots per day: period of the time of day and of the lag */
  double mean, sd;        /* z = (y - mean) / sd, from the fit window; sd > 0 */
  double z_min, z_max;    /* clamp range of normalised values (see top comment) */
  double *param;          /* owned: param_count(d_in, k_out) weights */
  gru_view p;             /* views into param */
  double feat[GRU_MAX_FEAT]; /* [h ; x] of the last slot seen: hidden state, inputs */
  double *ring;           /* owned when d_in == 4: inputs of the last `day` slots */
  int ring_pos;           /* ring[ring_pos] is the input one day before the next slot */
  int64_t slot;           /* grid slot of the next observation */
  double loss;            /* training MSE of the kept weights, normalised units */
} gru_state;

/* What only fitting needs; freed before fit returns. */
typedef struct gru_trainer {
  const double *w;        /* borrowed: in->w (may be NULL: all valid) */
  int n;                  /* window length */
  int n_train;            /* origins and targets [0, n_train) train; the rest validates */
  int stride;             /* origin t trains horizon k iff (t + k) % stride == 0 */
  uint64_t rng;           /* splitmix64 state */
  long adam_t;            /* Adam steps taken */
  size_t n_param;
  double *z;              /* n normalised, clamped values */
  double *used;           /* n inputs actually fed: z or the imputed one-step forecast */
  double *grad, *adam_m, *adam_v, *best;  /* n_param each */
  gru_view g;             /* views into grad */
  double *cache;          /* GRU_BPTT steps x cache_stride(): h_prev, r, u, n, [h ; x] */
} gru_trainer;

/* ---- small numeric helpers ---- */

static double dot(const double *a, const double *b, int n) {
  double s = 0.0;
  for (int i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

static double sigmoid(double a) { return 1.0 / (1.0 + exp(-a)); }

/* splitmix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014): a 64-bit state, one multiply-xorshift chain per draw. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t x = (*s += 0x9E3779B97F4A7C15ull);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* Uniform in [-a, a). */
static double rng_uniform(uint64_t *s, double a) {
  double u = (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
  return a * (2.0 * u - 1.0);
}

/* NaN and infinities included: the result lies in [z_min, z_max]. */
static double z_clamp(const gru_state *st, double z) {
  if (isnan(z))
    return 0.0;
  return z < st->z_min ? st->z_min : (z > st->z_max ? st->z_max : z);
}

/* ---- parameters ---- */

static size_t param_count(int d, int k) {
  const size_t H = GRU_HIDDEN;
  return GATE_COUNT * (H * (size_t)d + H * H + H) + (size_t)k * (H + (size_t)d + 1);
}

static void view_bind(gru_view *v, double *base, int d, int k) {
  const int H = GRU_HIDDEN;
  for (int g = 0; g < GATE_COUNT; g++) {
    v->W[g] = base;
    base += H * d;
    v->U[g] = base;
    base += H * H;
    v->b[g] = base;
    base += H;
  }
  v->V = base;
  base += (size_t)k * (H + d);
  v->c = base;
}

/* Glorot uniform for W and U (fan in + fan out = d + H, resp. 2H); zeros elsewhere. */
static void params_init(gru_state *st, uint64_t *rng) {
  const int H = GRU_HIDDEN, d = st->d_in;
  memset(st->param, 0, param_count(d, st->k_out) * sizeof(double));
  double a_w = sqrt(6.0 / (d + H)), a_u = sqrt(6.0 / (2.0 * H));
  for (int g = 0; g < GATE_COUNT; g++) {
    for (int i = 0; i < H * d; i++)
      st->p.W[g][i] = rng_uniform(rng, a_w);
    for (int i = 0; i < H * H; i++)
      st->p.U[g][i] = rng_uniform(rng, a_u);
  }
}

/* ---- the network ---- */

static int feat_len(const gru_state *st) { return GRU_HIDDEN + st->d_in; }

/* Normalised forecast for horizon k + 1 from feat = [h ; x] (not clamped). */
static double head_out(const gru_state *st, int k, const double *feat) {
  int nf = feat_len(st);
  return st->p.c[k] + dot(st->p.V + (size_t)k * nf, feat, nf);
}

/* The input vector of the step at grid slot `slot`, given its normalised value z and
 * the input one day earlier. */
static void make_input(const gru_state *st, int64_t slot, double z, double lag,
                       double *x) {
  int64_t phase = slot % st->day;
  if (phase < 0)
    phase += st->day;
  double angle = GRU_TWO_PI * (double)phase / (double)st->day;
  x[0] = z;
  x[1] = sin(angle);
  x[2] = cos(angle);
  if (st->d_in > 3)
    x[3] = lag;
}

/* One GRU step (equations in the top comment): from input x and previous state hp,
 * writes the gates r, u, the candidate n and the new state h (h may not alias hp). */
static void cell_forward(const gru_view *p, int d, const double *x, const double *hp,
                         double *r, double *u, double *n, double *h) {
  const int H = GRU_HIDDEN;
  double rh[GRU_HIDDEN];
  for (int i = 0; i < H; i++) {
    r[i] = sigmoid(p->b[GATE_R][i] + dot(p->W[GATE_R] + i * d, x, d) +
                   dot(p->U[GATE_R] + i * H, hp, H));
    u[i] = sigmoid(p->b[GATE_U][i] + dot(p->W[GATE_U] + i * d, x, d) +
                   dot(p->U[GATE_U] + i * H, hp, H));
    rh[i] = r[i] * hp[i];
  }
  for (int i = 0; i < H; i++) {
    n[i] = tanh(p->b[GATE_N][i] + dot(p->W[GATE_N] + i * d, x, d) +
                dot(p->U[GATE_N] + i * H, rh, H));
    h[i] = u[i] * hp[i] + (1.0 - u[i]) * n[i];
  }
}

/* For a gate's pre-activation a = W x + U hin + b with gradient da: accumulates the
 * parameter gradients gW += da x', gU += da hin', gb += da, and dhin += U' da. */
static void gate_backward(const gru_view *p, const gru_view *g, int gate, int d,
                          const double *da, const double *x, const double *hin,
                          double *dhin) {
  const int H = GRU_HIDDEN;
  const double *U = p->U[gate];
  for (int i = 0; i < H; i++) {
    double *gW = g->W[gate] + i * d, *gU = g->U[gate] + i * H;
    for (int j = 0; j < d; j++)
      gW[j] += da[i] * x[j];
    for (int j = 0; j < H; j++) {
      gU[j] += da[i] * hin[j];
      dhin[j] += U[i * H + j] * da[i];
    }
    g->b[gate][i] += da[i];
  }
}

/* Backward through one step: given dL/dh_t (dh), accumulates parameter gradients into
 * g and writes dL/dh_{t-1} (dhp). Derivatives of the top comment's equations:
 *   dn = dh (1 - u),  du = dh (h_{t-1} - n),  dh_{t-1} = dh u + (paths through gates)
 *   da_n = dn (1 - n^2),  da_u = du u (1 - u),  d(r.h_{t-1}) = U_n' da_n,
 *   da_r = d(r.h_{t-1}) h_{t-1} r (1 - r). */
static void cell_backward(const gru_view *p, const gru_view *g, int d, const double *x,
                          const double *hp, const double *r, const double *u,
                          const double *n, const double *dh, double *dhp) {
  const int H = GRU_HIDDEN;
  double da_n[GRU_HIDDEN], da_u[GRU_HIDDEN], da_r[GRU_HIDDEN];
  double rh[GRU_HIDDEN], drh[GRU_HIDDEN] = {0};
  for (int i = 0; i < H; i++) {
    dhp[i] = dh[i] * u[i];
    da_n[i] = dh[i] * (1.0 - u[i]) * (1.0 - n[i] * n[i]);
    da_u[i] = dh[i] * (hp[i] - n[i]) * u[i] * (1.0 - u[i]);
    rh[i] = r[i] * hp[i];
  }
  gate_backward(p, g, GATE_N, d, da_n, x, rh, drh);
  for (int j = 0; j < H; j++) {
    da_r[j] = drh[j] * hp[j] * r[j] * (1.0 - r[j]);
    dhp[j] += drh[j] * r[j];
  }
  gate_backward(p, g, GATE_U, d, da_u, x, hp, dhp);
  gate_backward(p, g, GATE_R, d, da_r, x, hp, dhp);
}

/* ---- training ---- */

static size_t cache_stride(int d) { return (size_t)d + 5 * GRU_HIDDEN; }

static int valid_at(const gru_trainer *tr, int i) {
  return tr->w == NULL || tr->w[i] >= 0.5;
}

/* The input fed at step t: the value if valid, else the one-step forecast from the
 * previous step's [h ; x]. */
static double train_input(const gru_state *st, gru_trainer *tr, int t,
                          const double *prev) {
  double z = valid_at(tr, t) ? tr->z[t] : z_clamp(st, head_out(st, 0, prev));
  tr->used[t] = z;
  return z;
}

/* One forward step at window position t from the previous [h ; x] (prev): writes the
 * gates r, u, the candidate n (H each) and the new [h ; x] (feat, may not alias prev). */
static void train_step(const gru_state *st, gru_trainer *tr, int64_t slot0, int t,
                       const double *prev, double *r, double *u, double *n,
                       double *feat) {
  double z = train_input(st, tr, t, prev);
  double lag = (st->d_in > 3 && t >= st->day) ? tr->used[t - st->day] : 0.0;
  double *x = feat + GRU_HIDDEN;
  make_input(st, slot0 + t, z, lag, x);
  cell_forward(&st->p, st->d_in, x, prev, r, u, n, feat);
}

/* Squared errors of the forecasts made at origin t from its [h ; x] whose targets lie
 * in [j_lo, j_hi) and are valid, over horizons k with (t + k) % stride == 0. */
static void origin_loss(const gru_state *st, const gru_trainer *tr, int t,
                        const double *feat, int j_lo, int j_hi, int stride, double *sse,
                        long *count) {
  for (int k = (stride - t % stride) % stride; k < st->k_out; k += stride) {
    int j = t + k + 1;
    if (j >= j_hi)
      break;
    if (j < j_lo || !valid_at(tr, j))
      continue;
    double e = head_out(st, k, feat) - tr->z[j];
    *sse += e * e;
    (*count)++;
  }
}

/* Head backward at origin t: with dL/dzhat = 2 e / count, accumulates gV, gc and adds
 * the h part of V_k' dL/dzhat into dh (x is data: no gradient flows into it). Same
 * (origin, horizon) pairs as origin_loss() on training. */
static void origin_backward(const gru_state *st, gru_trainer *tr, int t,
                            const double *feat, double scale, double *dh) {
  const int H = GRU_HIDDEN, nf = feat_len(st), stride = tr->stride;
  for (int k = (stride - t % stride) % stride; k < st->k_out; k += stride) {
    int j = t + k + 1;
    if (j >= tr->n_train)
      break;
    if (!valid_at(tr, j))
      continue;
    double dy = scale * (head_out(st, k, feat) - tr->z[j]);
    const double *V = st->p.V + (size_t)k * nf;
    double *gV = tr->g.V + (size_t)k * nf;
    for (int i = 0; i < nf; i++)
      gV[i] += dy * feat[i];
    for (int i = 0; i < H; i++)
      dh[i] += dy * V[i];
    tr->g.c[k] += dy;
  }
}

/* Adam with global-norm clipping; skips the step if the gradient is not finite. */
static void adam_step(gru_state *st, gru_trainer *tr) {
  double norm2 = dot(tr->grad, tr->grad, (int)tr->n_param);
  if (!isfinite(norm2))
    return;
  double clip2 = GRU_CLIP_NORM * GRU_CLIP_NORM;
  double scale = norm2 > clip2 ? GRU_CLIP_NORM / sqrt(norm2) : 1.0;
  tr->adam_t++;
  double c1 = 1.0 - pow(GRU_BETA1, (double)tr->adam_t);
  double c2 = 1.0 - pow(GRU_BETA2, (double)tr->adam_t);
  for (size_t i = 0; i < tr->n_param; i++) {
    double gi = scale * tr->grad[i];
    tr->adam_m[i] = GRU_BETA1 * tr->adam_m[i] + (1.0 - GRU_BETA1) * gi;
    tr->adam_v[i] = GRU_BETA2 * tr->adam_v[i] + (1.0 - GRU_BETA2) * gi * gi;
    st->param[i] -= GRU_LEARN_RATE * (tr->adam_m[i] / c1) /
                    (sqrt(tr->adam_v[i] / c2) + GRU_ADAM_EPS);
  }
}

/* One truncated-BPTT chunk: steps [t0, t0 + len) from [h ; x] in feat (updated to the
 * chunk's last), one Adam step. Returns the chunk's squared error; *count its terms. */
static double train_chunk(gru_state *st, gru_trainer *tr, int64_t slot0, int t0, int len,
                          double *feat, long *count) {
  const int H = GRU_HIDDEN, d = st->d_in;
  const size_t cs = cache_stride(d);
  double sse = 0.0;
  long cnt = 0;
  for (int s = 0; s < len; s++) {
    double *hp = tr->cache + s * cs, *r = hp + H, *u = r + H, *n = u + H, *fs = n + H;
    memcpy(hp, feat, sizeof(double) * H);
    train_step(st, tr, slot0, t0 + s, feat, r, u, n, fs);
    memcpy(feat, fs, sizeof(double) * (size_t)(H + d));
    origin_loss(st, tr, t0 + s, fs, 0, tr->n_train, tr->stride, &sse, &cnt);
  }
  *count = cnt;
  if (cnt == 0)
    return 0.0;
  memset(tr->grad, 0, tr->n_param * sizeof(double));
  double dh[GRU_HIDDEN] = {0}, dhp[GRU_HIDDEN];
  for (int s = len - 1; s >= 0; s--) {
    double *hp = tr->cache + s * cs, *r = hp + H, *u = r + H, *n = u + H, *fs = n + H;
    origin_backward(st, tr, t0 + s, fs, 2.0 / (double)cnt, dh);
    cell_backward(&st->p, &tr->g, d, fs + H, hp, r, u, n, dh, dhp);
    memcpy(dh, dhp, sizeof(dh));
  }
  adam_step(st, tr);
  return sse;
}

/* One pass of training over [0, n_train) from a zero [h ; x]; leaves in feat that of
 * the last training step. Returns the epoch's mean training loss (weights moving). */
static double train_epoch(gru_state *st, gru_trainer *tr, int64_t slot0, double *feat) {
  double sse = 0.0;
  long count = 0;
  memset(feat, 0, sizeof(double) * GRU_MAX_FEAT);
  int len = 1 + (int)(rng_next(&tr->rng) % GRU_BPTT); /* move the cuts each epoch */
  for (int t = 0; t < tr->n_train; t += len, len = GRU_BPTT) {
    long c = 0;
    if (len > tr->n_train - t)
      len = tr->n_train - t;
    sse += train_chunk(st, tr, slot0, t, len, feat, &c);
    count += c;
  }
  return count > 0 ? sse / (double)count : NAN;
}

/* Runs steps [t0, t1) from [h ; x] in feat (updated), scoring every origin from
 * t0 - 1 on targets in [j_lo, j_hi), all horizons. Returns the MSE (NaN without
 * targets). */
static double run_and_score(const gru_state *st, gru_trainer *tr, int64_t slot0, int t0,
                            int t1, double *feat, int j_lo, int j_hi) {
  double r[GRU_HIDDEN], u[GRU_HIDDEN], n[GRU_HIDDEN], next[GRU_MAX_FEAT];
  double sse = 0.0;
  long count = 0;
  if (t0 > 0)
    origin_loss(st, tr, t0 - 1, feat, j_lo, j_hi, 1, &sse, &count);
  for (int t = t0; t < t1; t++) {
    train_step(st, tr, slot0, t, feat, r, u, n, next);
    memcpy(feat, next, sizeof(next));
    origin_loss(st, tr, t, feat, j_lo, j_hi, 1, &sse, &count);
  }
  return count > 0 ? sse / (double)count : NAN;
}

/* Number of epochs the work budget pays for: a training step costs about three times
 * its forward work (the cell's 3 H (d + H) plus the trained head rows), validation
 * one forward step per held-out slot with the full head. */
static int epoch_budget(const gru_state *st, const gru_trainer *tr) {
  const double H = GRU_HIDDEN;
  double cell = GATE_COUNT * H * (st->d_in + H), nf = feat_len(st);
  double k_train = ceil((double)st->k_out / tr->stride);
  double per_epoch = 3.0 * tr->n_train * (cell + k_train * nf) +
                     (double)(tr->n - tr->n_train) * (cell + st->k_out * nf);
  double e = floor(GRU_BUDGET_MACS / per_epoch);
  if (e < GRU_MIN_EPOCHS)
    return GRU_MIN_EPOCHS;
  return e > GRU_MAX_EPOCHS ? GRU_MAX_EPOCHS : (int)e;
}

/* Trains st->param with early stopping; leaves the best weights in st->param. */
static void train(gru_state *st, gru_trainer *tr, int64_t slot0) {
  double feat[GRU_MAX_FEAT], best_loss = INFINITY;
  int max_epochs = epoch_budget(st, tr), stale = 0;
  memcpy(tr->best, st->param, tr->n_param * sizeof(double)); /* the mean forecast */
  for (int e = 0; e < max_epochs; e++) {
    double fit_loss = train_epoch(st, tr, slot0, feat);
    double val =
        run_and_score(st, tr, slot0, tr->n_train, tr->n, feat, tr->n_train, tr->n);
    if (!isfinite(fit_loss) || !isfinite(val))
      break; /* diverged (or nothing to score): keep the best so far */
    if (val < best_loss) {
      best_loss = val;
      memcpy(tr->best, st->param, tr->n_param * sizeof(double));
      stale = 0;
    } else if (++stale >= GRU_PATIENCE && e + 1 >= GRU_MIN_EPOCHS) {
      break;
    }
  }
  memcpy(st->param, tr->best, tr->n_param * sizeof(double));
}

/* Runs the kept weights over the whole window: the training loss over the training
 * targets, and the state (hidden units, lag ring, next slot) after y[n-1]. */
static void position_state(gru_state *st, gru_trainer *tr, int64_t slot0) {
  memset(st->feat, 0, sizeof(st->feat));
  double train_mse =
      run_and_score(st, tr, slot0, 0, tr->n_train, st->feat, 0, tr->n_train);
  run_and_score(st, tr, slot0, tr->n_train, tr->n, st->feat, tr->n, tr->n);
  st->loss = train_mse;
  st->slot = slot0 + tr->n;
  if (st->ring != NULL) {
    for (int i = 0; i < st->day; i++) {
      int t = tr->n - st->day + i;                /* oldest first */
      st->ring[i] = t >= 0 ? tr->used[t] : 0.0;
    }
    st->ring_pos = 0;
  }
}

/* ---- fit: checks, normalisation, allocation ---- */

static void trainer_free(gru_trainer *tr) {
  free(tr->z);
  free(tr->used);
  free(tr->grad);
  free(tr->adam_m);
  free(tr->adam_v);
  free(tr->best);
  free(tr->cache);
}

static void gru_destroy(void *vst) {
  gru_state *st = vst;
  if (st == NULL)
    return;
  free(st->param);
  free(st->ring);
  free(st);
}

/* Slots held out for validation: GRU_VAL_SHARE of n, at least h_max so that every
 * horizon has a held-out target. */
static int held_out(int n, int h_max) {
  int v = (int)ceil(GRU_VAL_SHARE * n);
  return v > h_max ? v : h_max;
}

static int check_input(const fc__fit_input *in, fc_error *err) {
  if (in == NULL || in->y == NULL || in->n < 0)
    return fc__fail(err, FC_EINVAL, "gru: no input window");
  if (in->h_max < 1)
    return fc__fail(err, FC_EINVAL, "gru: h_max %d (must be >= 1)", in->h_max);
  if (in->day_slots < 2)
    return fc__fail(err, FC_EINVAL, "gru: day_slots %d (must be >= 2)", in->day_slots);
  int n_train = in->n - held_out(in->n, in->h_max);
  int need = GRU_MIN_TRAIN > 2 * in->h_max ? GRU_MIN_TRAIN : 2 * in->h_max;
  if (n_train < need)
    return fc__fail(err, FC_ENODATA,
                    "gru: window of %d slots leaves %d for training "
                    "(needs %d for h_max %d)",
                    in->n, n_train, need, in->h_max);
  int valid = 0;
  for (int i = 0; i < in->n; i++)
    valid += (in->w == NULL || in->w[i] >= 0.5) && isfinite(in->y[i]);
  if (valid < GRU_MIN_TRAIN)
    return fc__fail(err, FC_ENODATA, "gru: %d valid samples in %d slots (needs %d)",
                    valid, in->n, GRU_MIN_TRAIN);
  return 0;
}

/* Sets mean, sd (population, valid samples only; 1 for a constant series) and the
 * clamp range, and fills tr->z. */
static void normalise(gru_state *st, gru_trainer *tr, const double *y) {
  double sum = 0.0, sum2 = 0.0;
  long cnt = 0;
  for (int i = 0; i < tr->n; i++)
    if (valid_at(tr, i) && isfinite(y[i])) {
      sum += y[i];
      cnt++;
    }
  st->mean = sum / (double)cnt;
  for (int i = 0; i < tr->n; i++)
    if (valid_at(tr, i) && isfinite(y[i]))
      sum2 += (y[i] - st->mean) * (y[i] - st->mean);
  st->sd = sqrt(sum2 / (double)cnt);
  if (!(st->sd > 1e-12 * (fabs(st->mean) + 1.0)))
    st->sd = 1.0; /* constant: any scale will do, the network forecasts the mean */
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < tr->n; i++) {
    tr->z[i] = isfinite(y[i]) ? (y[i] - st->mean) / st->sd : 0.0;
    if (valid_at(tr, i)) {
      lo = fmin(lo, tr->z[i]);
      hi = fmax(hi, tr->z[i]);
    }
  }
  double width = hi - lo > 1.0 ? hi - lo : 1.0;
  st->z_min = lo - width;
  st->z_max = hi + width;
  for (int i = 0; i < tr->n; i++)
    tr->z[i] = z_clamp(st, tr->z[i]);
}

static int allocate(gru_state *st, gru_trainer *tr, fc_error *err) {
  size_t np = param_count(st->d_in, st->k_out), n = (size_t)tr->n;
  tr->n_param = np;
  st->param = calloc(np, sizeof(double));
  st->ring = st->d_in > 3 ? calloc((size_t)st->day, sizeof(double)) : NULL;
  tr->z = malloc(n * sizeof(double));
  tr->used = calloc(n, sizeof(double));
  tr->grad = calloc(np, sizeof(double));
  tr->adam_m = calloc(np, sizeof(double));
  tr->adam_v = calloc(np, sizeof(double));
  tr->best = calloc(np, sizeof(double));
  tr->cache = calloc(GRU_BPTT * cache_stride(st->d_in), sizeof(double));
  if (st->param == NULL || (st->d_in > 3 && st->ring == NULL) || tr->z == NULL ||
      tr->used == NULL || tr->grad == NULL || tr->adam_m == NULL || tr->adam_v == NULL ||
      tr->best == NULL || tr->cache == NULL) {
    fc__fail(err, FC_ENOMEM, "gru: out of memory for %zu weights, %d slots", np, tr->n);
    return FC_ENOMEM; /* not fc__fail's value: the caller dereferences on 0 */
  }
  view_bind(&st->p, st->param, st->d_in, st->k_out);
  view_bind(&tr->g, tr->grad, st->d_in, st->k_out);
  return 0;
}

static void *gru_fit(const fc__fit_input *in, fc_error *err) {
  if (check_input(in, err) != 0)
    return NULL;
  gru_state *st = calloc(1, sizeof(*st));
  if (st == NULL) {
    fc__fail(err, FC_ENOMEM, "gru: out of memory");
    return NULL;
  }
  st->d_in = in->season > 0 ? 4 : 3;
  st->k_out = in->h_max;
  st->day = in->day_slots;
  gru_trainer tr = {.w = in->w, .n = in->n, .rng = in->seed};
  tr.n_train = in->n - held_out(in->n, in->h_max);
  tr.stride = (in->h_max + GRU_K_TRAIN - 1) / GRU_K_TRAIN;
  if (allocate(st, &tr, err) != 0) {
    trainer_free(&tr);
    gru_destroy(st);
    return NULL;
  }
  normalise(st, &tr, in->y);
  params_init(st, &tr.rng);
  train(st, &tr, in->slot0);
  position_state(st, &tr, in->slot0);
  trainer_free(&tr);
  return st;
}

/* ---- the running model ---- */

/* One GRU step on y (NaN: missing, the own one-step forecast is fed instead). */
static void gru_observe(void *vst, double y) {
  gru_state *st = vst;
  double r[GRU_HIDDEN], u[GRU_HIDDEN], n[GRU_HIDDEN], next[GRU_MAX_FEAT];
  double z = isfinite(y) ? (y - st->mean) / st->sd : head_out(st, 0, st->feat);
  z = z_clamp(st, z);
  double lag = st->ring != NULL ? st->ring[st->ring_pos] : 0.0;
  make_input(st, st->slot, z, lag, next + GRU_HIDDEN);
  cell_forward(&st->p, st->d_in, next + GRU_HIDDEN, st->feat, r, u, n, next);
  memcpy(st->feat, next, sizeof(next));
  if (st->ring != NULL) {
    st->ring[st->ring_pos] = z;
    st->ring_pos = (st->ring_pos + 1) % st->day;
  }
  st->slot++;
}

/* Horizons beyond the fitted h_max (the engine never asks) repeat the last one. */
static void gru_predict(const void *vst, int h_max, double *mean) {
  const gru_state *st = vst;
  for (int i = 0; i < h_max; i++) {
    int k = i < st->k_out ? i : st->k_out - 1;
    double v = st->mean + st->sd * z_clamp(st, head_out(st, k, st->feat));
    mean[i] = isfinite(v) ? v : st->mean;
  }
}

static double gru_train_loss(const void *vst) {
  const gru_state *st = vst;
  return st->loss;
}

const fc__model_ops fc__gru_ops = {
    .kind = FC_KIND_GRU,
    .name = "gru",
    .fit = gru_fit,
    .observe = gru_observe,
    .predict = gru_predict,
    .destroy = gru_destroy,
    .train_loss = gru_train_loss,
};
