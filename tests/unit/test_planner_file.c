/* test_planner_file.c -- the planner's memory across a restart (act_planner_save and
 * act_planner_load): overrides and cooldowns kept, what is over dropped, a damaged or
 * cut file read as far as it goes and reported. A "restart" is a fresh planner loading
 * the file the old one saved. Fixture (act_fixture.h): set "web", cpu, Capacity 32,
 * Threshold 0.8, LowerBand 0.5, LeadTime 600, Cooldown 0 unless a test sets one; each
 * test works in a fresh temporary folder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/act_fixture.h"

typedef struct pfx {
  fx *f;
  char dir[64];
  char path[96];
  act_planner_loaded n;
} pfx;

static int setup(void **state) {
  pfx *p = calloc(1, sizeof(*p));
  p->f = fx_new();
  strcpy(p->dir, "/tmp/act_plfile_XXXXXX");
  assert_non_null(mkdtemp(p->dir));
  snprintf(p->path, sizeof(p->path), "%s/web.planner", p->dir);
  *state = p;
  return 0;
}

static int teardown(void **state) {
  pfx *p = *state;
  char other[128];
  unlink(p->path);
  rmdir(p->path); /* when a test made it a folder */
  snprintf(other, sizeof(other), "%s.bad", p->path);
  unlink(other);
  snprintf(other, sizeof(other), "%s.tmp", p->path);
  unlink(other);
  rmdir(p->dir);
  fx_free(p->f);
  free(p);
  return 0;
}

static void write_text(const char *path, const char *text, size_t n) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  assert_int_equal(fwrite(text, 1, n, fp), n);
  fclose(fp);
}

/* The file's bytes, NUL-terminated (a static buffer: one file at a time). */
static char *file_text(const char *path, size_t *n) {
  static char buf[65536];
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  *n = fread(buf, 1, sizeof(buf) - 1, fp);
  buf[*n] = '\0';
  fclose(fp);
  return buf;
}

/* CRC-32 as zlib computes it, written here independently of the library. */
static unsigned crc_of(const char *s) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint32_t crc = 0xFFFFFFFFu;
  for (const unsigned char *q = (const unsigned char *)s; *q; q++)
    crc = table[(crc ^ *q) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

static void save(pfx *p) {
  assert_true(act_planner_save(p->f->pl, p->path, &p->f->set, p->f->now, &p->f->err) >= 0);
}

/* The restart: a fresh planner at `now`, loading the file; returns what load did. */
static int restart(pfx *p, int64_t now) {
  act_planner_destroy(p->f->pl);
  p->f->pl = act_planner_create(&p->f->err);
  assert_non_null(p->f->pl);
  p->f->now = now;
  return act_planner_load(p->f->pl, p->path, &p->f->set, now, &p->n, &p->f->err);
}

static void manual(pfx *p, const char *vm, act_manual_action a, double value, int dur) {
  act_manual m = {.vm = vm, .resource = ACT_CPU, .action = a, .value = value,
                  .duration_s = dur};
  assert_int_equal(act_planner_manual(p->f->pl, &m, p->f->now, &p->f->err), 0);
}

static void set_cooldown(pfx *p, int cooldown_s, double break_even) {
  p->f->set.cooldown_s = cooldown_s;
  p->f->set.res[ACT_CPU].break_even = break_even;
  p->f->set.res[ACT_CPU].margin = 0;
  p->f->set.res[ACT_CPU].max_shrink = 1;
  assert_int_equal(fx_update_set(p->f), 0);
}

/* Two holds, web1 (set to 10 for 900 s) and web2 (hold for 600 s), saved at now. */
static void save_two_holds(pfx *p) {
  manual(p, "web1", ACT_MANUAL_SET, 10, 900);
  manual(p, "web2", ACT_MANUAL_HOLD, 0, 600);
  save(p);
}

/* ---------------------------------------------------------------- round trips */

static void test_planner_file_missing_restores_nothing(void **state) {
  pfx *p = *state;
  assert_int_equal(restart(p, p->f->now), 0);
  assert_int_equal(p->n.holds + p->n.resizes + p->n.scales + p->n.skipped, 0);
}

/* A set's end and value come back: the VM is put back to the value after a restart. */
static void test_planner_file_keeps_a_set_across_a_restart(void **state) {
  pfx *p = *state;
  int64_t t0 = p->f->now;
  manual(p, "web1", ACT_MANUAL_SET, 10, 900);
  save(p);
  assert_int_equal(restart(p, t0 + 60), 0);
  assert_int_equal(p->n.holds, 1);
  assert_int_equal(act_planner_held_until(p->f->pl, "web1", ACT_CPU, t0 + 60), t0 + 900);
  fx_row(p->f, "web1", 4, 1, 1.0);
  assert_int_equal(fx_plan(p->f), 0);
  const act_decision *d = act_plan_find(&p->f->plan, ACT_MANUAL, "web1");
  assert_non_null(d);
  assert_float_equal(d->to, 10, 1e-9);
}

/* A hold keeps the allocation it first saw (4), not the one after the restart (6). */
static void test_planner_file_keeps_the_held_allocation(void **state) {
  pfx *p = *state;
  int64_t t0 = p->f->now;
  fx_row(p->f, "web1", 4, 2, 12.0);
  manual(p, "web1", ACT_MANUAL_HOLD, 0, 3600);
  assert_int_equal(fx_plan(p->f), 0); /* takes the allocation: 4 */
  save(p);
  assert_int_equal(restart(p, t0 + 60), 0);
  p->f->rows[0].alloc = 6;
  assert_int_equal(fx_plan(p->f), 0);
  const act_decision *d = act_plan_find(&p->f->plan, ACT_MANUAL, "web1");
  assert_non_null(d);
  assert_float_equal(d->to, 4, 1e-9);
}

/* A hold saved before any cycle saw the VM takes the allocation seen after. */
static void test_planner_file_keeps_a_hold_not_yet_seen(void **state) {
  pfx *p = *state;
  int64_t t0 = p->f->now;
  manual(p, "web1", ACT_MANUAL_HOLD, 0, 3600);
  save(p);
  assert_int_equal(restart(p, t0 + 60), 0);
  fx_row(p->f, "web1", 6, 2, 12.0); /* would grow to 15 */
  assert_int_equal(fx_plan(p->f), 0);
  assert_int_equal(p->f->plan.n_decisions, 0);
  assert_int_equal(act_planner_held_until(p->f->pl, "web1", ACT_CPU, t0 + 60), t0 + 3600);
}

/* A released hold is not saved: it does not come back. */
static void test_planner_file_release_is_kept_too(void **state) {
  pfx *p = *state;
  save_two_holds(p);
  manual(p, "web1", ACT_MANUAL_RELEASE, 0, 0);
  save(p);
  assert_int_equal(restart(p, p->f->now), 0);
  assert_int_equal(act_planner_held_until(p->f->pl, "web1", ACT_CPU, p->f->now), 0);
  assert_int_equal(p->n.holds, 1);
}

/* Saving what the file already holds writes nothing. */
static void test_planner_file_save_writes_only_changes(void **state) {
  pfx *p = *state;
  manual(p, "web1", ACT_MANUAL_SET, 10, 900);
  assert_int_equal(act_planner_save(p->f->pl, p->path, &p->f->set, p->f->now, NULL), 1);
  assert_int_equal(act_planner_save(p->f->pl, p->path, &p->f->set, p->f->now, NULL), 0);
  manual(p, "web2", ACT_MANUAL_SET, 3, 900);
  assert_int_equal(act_planner_save(p->f->pl, p->path, &p->f->set, p->f->now, NULL), 1);
}

/* After a grow at t0 with Cooldown 1800 and BreakEven, a restart at t0 + 300 must not
 * shrink before t0 + 1800, though the waste pays for a shrink by t0 + 600. */
static void test_planner_file_keeps_the_cooldown_of_a_resize(void **state) {
  pfx *p = *state;
  set_cooldown(p, 1800, 60);
  int64_t t0 = p->f->now;
  fx_row(p->f, "web1", 2, 1, 6.0); /* need 7.5: grow to 8 */
  assert_int_equal(fx_plan(p->f), 0);
  assert_non_null(act_plan_find(&p->f->plan, ACT_GROW, "web1"));
  save(p);
  assert_int_equal(restart(p, t0 + 300), 0);
  assert_int_equal(p->n.resizes, 1);
  p->f->rows[0].alloc = 8;
  fx_set_hi(p->f, "web1", 1.6); /* need 2: (8 - 2) / 8 wasted per second */
  for (int64_t t = t0 + 300; t < t0 + 1800; t += 300) {
    p->f->now = t;
    assert_int_equal(fx_plan(p->f), 0);
    assert_int_equal(p->f->plan.n_decisions, 0);
  }
  p->f->now = t0 + 1800;
  assert_int_equal(fx_plan(p->f), 0);
  assert_non_null(act_plan_find(&p->f->plan, ACT_SHRINK, "web1"));
}

/* A restored cooldown outlives a cycle without the VM's row (values late after the
 * restart): the VM's next row still cannot be shrunk. */
static void test_planner_file_cooldown_survives_a_cycle_without_the_vm(void **state) {
  pfx *p = *state;
  set_cooldown(p, 1800, 60);
  int64_t t0 = p->f->now;
  fx_row(p->f, "web1", 2, 1, 6.0);
  assert_int_equal(fx_plan(p->f), 0);
  save(p);
  assert_int_equal(restart(p, t0 + 300), 0);
  p->f->n = 0; /* no rows yet */
  assert_int_equal(fx_plan(p->f), 0);
  fx_row(p->f, "web1", 8, 1, 1.6);
  for (int64_t t = t0 + 600; t < t0 + 1800; t += 300) {
    p->f->now = t;
    assert_int_equal(fx_plan(p->f), 0);
    assert_int_equal(p->f->plan.n_decisions, 0);
  }
}

/* A scale-out at t0 (ScaleCooldown 600) is not repeated after a restart at t0 + 300,
 * while the new instance has not shown up yet. */
static void test_planner_file_keeps_the_scale_cooldown(void **state) {
  pfx *p = *state;
  snprintf(p->f->set.scale_template, ACT_NAME_MAX, "web-tpl");
  p->f->set.min_instances = 2;
  p->f->set.max_instances = 3;
  p->f->set.scale_cooldown_s = 600;
  assert_int_equal(fx_update_set(p->f), 0);
  int64_t t0 = p->f->now;
  fx_row(p->f, "web1", 4, 1, 2.0);
  assert_int_equal(fx_plan(p->f), 0);
  assert_non_null(act_plan_find(&p->f->plan, ACT_SCALE_OUT, "web-tpl-1"));
  save(p);
  assert_int_equal(restart(p, t0 + 300), 0);
  assert_int_equal(p->n.scales, 1);
  assert_int_equal(fx_plan(p->f), 0);
  assert_null(act_plan_find(&p->f->plan, ACT_SCALE_OUT, NULL));
  assert_int_equal(p->f->plan.n_decisions, 0);
}

/* ---------------------------------------------------------------- expired entries */

/* At t0 + 700 the 600 s hold is over and dropped; the 900 s set still holds. */
static void test_planner_file_drops_a_hold_that_ended(void **state) {
  pfx *p = *state;
  int64_t t0 = p->f->now;
  save_two_holds(p);
  assert_int_equal(restart(p, t0 + 700), 0);
  assert_int_equal(p->n.holds, 1);
  assert_int_equal(p->n.expired, 1);
  assert_int_equal(act_planner_held_until(p->f->pl, "web1", ACT_CPU, t0 + 700), t0 + 900);
}

/* A resize 1800 s (Cooldown) or more before the restart restores no cooldown. */
static void test_planner_file_drops_a_cooldown_that_ran_out(void **state) {
  pfx *p = *state;
  set_cooldown(p, 1800, 60);
  int64_t t0 = p->f->now;
  fx_row(p->f, "web1", 2, 1, 6.0);
  assert_int_equal(fx_plan(p->f), 0);
  save(p);
  assert_int_equal(restart(p, t0 + 1800), 0);
  assert_int_equal(p->n.resizes, 0);
  assert_int_equal(p->n.expired, 1);
}

/* What is over is not written either: the file restores nothing, expired nothing. */
static void test_planner_file_save_leaves_out_what_is_over(void **state) {
  pfx *p = *state;
  int64_t t0 = p->f->now;
  save_two_holds(p);
  p->f->now = t0 + 1000;
  save(p);
  assert_int_equal(restart(p, t0), 0); /* even read as of t0 */
  assert_int_equal(p->n.holds + p->n.expired, 0);
}

/* ---------------------------------------------------------------- damage */

/* One damaged line (a flipped digit): the other hold is kept, the error names the
 * file and the line, the file is kept as .bad, and the next save repairs it. */
static void test_planner_file_damaged_line_keeps_the_rest(void **state) {
  pfx *p = *state;
  int64_t t0 = p->f->now;
  save_two_holds(p);
  size_t n;
  char *text = file_text(p->path, &n);
  char *rec = strstr(text, "hold web1 cpu ");
  assert_non_null(rec);
  rec[14] = rec[14] == '9' ? '8' : '9'; /* the end time, checksum unchanged */
  write_text(p->path, text, n);
  char original[65536];
  memcpy(original, text, n + 1);
  assert_int_equal(restart(p, t0), ACT_ECORRUPT);
  assert_non_null(strstr(p->f->err.msg, p->path));
  assert_non_null(strstr(p->f->err.msg, "line 2: checksum mismatch"));
  assert_non_null(strstr(p->f->err.msg, "1 records lost"));
  assert_int_equal(p->n.holds, 1);
  assert_int_equal(p->n.skipped, 1);
  assert_int_equal(act_planner_held_until(p->f->pl, "web1", ACT_CPU, t0), 0);
  assert_int_equal(act_planner_held_until(p->f->pl, "web2", ACT_CPU, t0), t0 + 600);
  char bad[128];
  snprintf(bad, sizeof(bad), "%s.bad", p->path);
  assert_string_equal(file_text(bad, &n), original);
  assert_int_equal(act_planner_save(p->f->pl, p->path, &p->f->set, t0, NULL), 1);
  assert_int_equal(restart(p, t0), 0);
  assert_int_equal(p->n.holds, 1);
}

/* A file cut inside its last record: what came before is kept, the cut is named. */
static void test_planner_file_cut_short_keeps_what_came_before(void **state) {
  pfx *p = *state;
  int64_t t0 = p->f->now;
  save_two_holds(p);
  size_t n;
  char *text = file_text(p->path, &n);
  char *rec = strstr(text, "hold web2 ");
  assert_non_null(rec);
  size_t cut = (size_t)(rec - text) + 6;
  write_text(p->path, text, cut);
  assert_int_equal(restart(p, t0), ACT_ECORRUPT);
  assert_non_null(strstr(p->f->err.msg, "line 3: line not terminated (file cut short?)"));
  assert_non_null(strstr(p->f->err.msg, "(and any after it)"));
  assert_int_equal(act_planner_held_until(p->f->pl, "web1", ACT_CPU, t0), t0 + 900);
  assert_int_equal(act_planner_held_until(p->f->pl, "web2", ACT_CPU, t0), 0);
}

/* A file cut at a line's end lacks its end line: reported too. */
static void test_planner_file_without_end_line_is_reported(void **state) {
  pfx *p = *state;
  int64_t t0 = p->f->now;
  save_two_holds(p);
  size_t n;
  char *text = file_text(p->path, &n);
  char *end = strstr(text, " end 2\n");
  assert_non_null(end);
  write_text(p->path, text, (size_t)(end - text) - 8);
  assert_int_equal(restart(p, t0), ACT_ECORRUPT);
  assert_non_null(strstr(p->f->err.msg, "line 4: no end line (file cut short?)"));
  assert_int_equal(p->n.holds, 2);
}

static void test_planner_file_not_ours_restores_nothing(void **state) {
  pfx *p = *state;
  write_text(p->path, "foresight-ledger 1\nnext_id 1\nend 0\n", 34);
  assert_int_equal(restart(p, p->f->now), ACT_ECORRUPT);
  assert_non_null(strstr(p->f->err.msg, "line 1: no checksum; nothing restored"));
}

static void test_planner_file_empty_is_reported(void **state) {
  pfx *p = *state;
  write_text(p->path, "", 0);
  assert_int_equal(restart(p, p->f->now), ACT_ECORRUPT);
  assert_non_null(strstr(p->f->err.msg, "line 1: empty file (no header)"));
}

/* A record naming a resource there is none of, with a good checksum (a hand edit). */
static void test_planner_file_unknown_resource_is_skipped(void **state) {
  pfx *p = *state;
  char rec[] = "hold web1 gpu 4000000000 2", text[256];
  char hdr[] = "foresight-planner 1", end[] = "end 1";
  snprintf(text, sizeof(text), "%08x %s\n%08x %s\n%08x %s\n", crc_of(hdr), hdr,
           crc_of(rec), rec, crc_of(end), end);
  write_text(p->path, text, strlen(text));
  assert_int_equal(restart(p, p->f->now), ACT_ECORRUPT);
  assert_non_null(strstr(p->f->err.msg, "line 2: bad record \"hold web1 gpu"));
}

/* A file that cannot be read is an I/O error: nothing restored, nothing copied. */
static void test_planner_file_unreadable_is_an_io_error(void **state) {
  pfx *p = *state;
  assert_int_equal(mkdir(p->path, 0700), 0);
  assert_int_equal(restart(p, p->f->now), ACT_EIO);
  assert_non_null(strstr(p->f->err.msg, p->path));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_planner_file_missing_restores_nothing),
      T(test_planner_file_keeps_a_set_across_a_restart),
      T(test_planner_file_keeps_the_held_allocation),
      T(test_planner_file_keeps_a_hold_not_yet_seen),
      T(test_planner_file_release_is_kept_too),
      T(test_planner_file_save_writes_only_changes),
      T(test_planner_file_keeps_the_cooldown_of_a_resize),
      T(test_planner_file_cooldown_survives_a_cycle_without_the_vm),
      T(test_planner_file_keeps_the_scale_cooldown),
      T(test_planner_file_drops_a_hold_that_ended),
      T(test_planner_file_drops_a_cooldown_that_ran_out),
      T(test_planner_file_save_leaves_out_what_is_over),
      T(test_planner_file_damaged_line_keeps_the_rest),
      T(test_planner_file_cut_short_keeps_what_came_before),
      T(test_planner_file_without_end_line_is_reported),
      T(test_planner_file_not_ours_restores_nothing),
      T(test_planner_file_empty_is_reported),
      T(test_planner_file_unknown_resource_is_skipped),
      T(test_planner_file_unreadable_is_an_io_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
