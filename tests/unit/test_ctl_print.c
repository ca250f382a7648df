/* test_ctl_print.c -- the lines foresight-ctl prints for decisions, results and
 * status. Times are rendered in UTC (TZ is set in main). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tools/ctl.h"

/* 2023-11-15 12:00:05 UTC */
#define TS "1700049605"

static const char grow[] =
    "{\"id\":17,\"ts\":" TS ",\"vm\":\"web1\",\"kind\":\"grow\",\"resource\":\"cpu\","
    "\"from\":2,\"to\":3,\"rule\":\"forecast\",\"reason\":\"rule=forecast hi=2.7@600s "
    "threshold=0.8 need=3.375 usage=1.9 min=1 max=8 step=1 priority=0 cost=0\","
    "\"dry_run\":false,\"loan\":null}";

static void test_decision_line_reads_like_the_example(void **state) {
  (void)state;
  char line[512];
  ctl_format_decision("web", grow, strlen(grow), "[applied]", line, sizeof(line));
  /* the rule that fired: the bound exceeds threshold × the allocation it had */
  assert_string_equal(line, "12:00:05 web/web1 grow cpu 2 → 3 (forecast hi 2.7 cores at "
                            "+10 min > 0.8 × 2) [applied]");
}

static void test_shrink_line_compares_with_the_lower_band(void **state) {
  (void)state;
  const char d[] = "{\"ts\":" TS ",\"vm\":\"db1\",\"kind\":\"shrink\",\"resource\":"
                   "\"memory\",\"from\":4096,\"to\":3072,\"reason\":\"rule=shrink "
                   "hi=1500@300s threshold=0.8 lower_band=0.5\"}";
  char line[512];
  ctl_format_decision("db", d, strlen(d), "[planned]", line, sizeof(line));
  assert_string_equal(line, "12:00:05 db/db1 shrink memory 4096 → 3072 (shrink hi 1500 "
                            "MiB at +5 min < 0.5 × 4096) [planned]");
}

/* A fast correction is about usage at the allocation: the forecast bound beside it
 * would read as the reason, and a false one. */
static void test_fast_grow_line_shows_usage_not_the_bound(void **state) {
  (void)state;
  const char d[] = "{\"ts\":" TS ",\"vm\":\"web1\",\"kind\":\"grow\",\"resource\":"
                   "\"cpu\",\"from\":1,\"to\":3,\"reason\":\"rule=fast hi=0.011@300s "
                   "threshold=0.8 usage=0.97\"}";
  char line[512];
  ctl_format_decision("web", d, strlen(d), "[applied]", line, sizeof(line));
  assert_string_equal(line, "12:00:05 web/web1 grow cpu 1 → 3 (fast: usage 0.97 cores at "
                            "allocation 1) [applied]");
}

static void test_decision_without_a_bound_shows_its_rule(void **state) {
  (void)state;
  const char d[] = "{\"ts\":" TS ",\"vm\":\"web1\",\"kind\":\"manual\",\"resource\":"
                   "\"cpu\",\"from\":2,\"to\":4,\"reason\":\"rule=manual held_until=1\"}";
  char line[512];
  ctl_format_decision("web", d, strlen(d), "[planned]", line, sizeof(line));
  assert_string_equal(line, "12:00:05 web/web1 manual cpu 2 → 4 (manual) [planned]");
}

static void test_result_of_a_known_decision_repeats_it_with_the_status(void **state) {
  (void)state;
  const char r[] = "{\"decision_id\":17,\"ts\":" TS ",\"vm\":\"web1\",\"status\":"
                   "\"rolled_back\",\"error\":\"setVcpus: denied\"}";
  char line[512];
  ctl_format_result("web", r, strlen(r), grow, strlen(grow), line, sizeof(line));
  assert_non_null(strstr(line, "grow cpu 2 → 3"));
  assert_non_null(strstr(line, "[rolled_back: setVcpus: denied]"));
}

static void test_result_of_an_unknown_decision_names_its_id(void **state) {
  (void)state;
  const char r[] = "{\"decision_id\":18,\"ts\":" TS ",\"vm\":\"web2\",\"status\":"
                   "\"applied\",\"error\":null}";
  char line[512];
  ctl_format_result("web", r, strlen(r), NULL, 0, line, sizeof(line));
  assert_string_equal(line, "12:00:05 web/web2 decision 18 [applied]");
}

static void test_unreadable_message_is_shown_not_fatal(void **state) {
  (void)state;
  char line[512];
  ctl_format_decision("web", "{oops", 5, "[planned]", line, sizeof(line));
  assert_string_equal(line, "web: unreadable decision: {oops");
}

static void test_message_id_reads_the_key(void **state) {
  (void)state;
  assert_int_equal(ctl_message_id(grow, strlen(grow), "id"), 17);
  assert_int_equal(ctl_message_id(grow, strlen(grow), "decision_id"), -1);
}

static void test_status_line_of_a_state(void **state) {
  (void)state;
  const char s[] = "{\"ts\":1,\"vm\":\"web1\",\"allocation\":{\"cpu\":2},\"usage\":"
                   "{\"cpu\":1.5},\"loans\":[],\"held_until\":{}}";
  char line[512];
  ctl_format_status("web/web1/state", s, strlen(s), line, sizeof(line));
  assert_string_equal(line, "  web/web1: cpu 2 (usage 1.5)");
}

static void test_status_line_of_a_forecast(void **state) {
  (void)state;
  const char f[] = "{\"ts\":1,\"horizons\":[{\"h_s\":600,\"mean\":1.8,\"lo\":1.2,"
                   "\"hi\":2.7}],\"confidence\":0.9,\"model\":\"ets\"}";
  char line[512];
  ctl_format_status("web/web1/forecast/cpu", f, strlen(f), line, sizeof(line));
  assert_string_equal(line, "    web/web1/forecast/cpu (ets): +10 min 1.8 [1.2, 2.7]");
}

int main(void) {
  setenv("TZ", "UTC", 1);
  tzset();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decision_line_reads_like_the_example),
      cmocka_unit_test(test_shrink_line_compares_with_the_lower_band),
      cmocka_unit_test(test_fast_grow_line_shows_usage_not_the_bound),
      cmocka_unit_test(test_decision_without_a_bound_shows_its_rule),
      cmocka_unit_test(test_result_of_a_known_decision_repeats_it_with_the_status),
      cmocka_unit_test(test_result_of_an_unknown_decision_names_its_id),
      cmocka_unit_test(test_unreadable_message_is_shown_not_fatal),
      cmocka_unit_test(test_message_id_reads_the_key),
      cmocka_unit_test(test_status_line_of_a_state),
      cmocka_unit_test(test_status_line_of_a_forecast),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
