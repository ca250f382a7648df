/* test_fsp_map.c -- plugins/fsp_map.c: which value lists the forecast plugin models
 * and as which (VM, metric, data source). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "plugins/fsp_map.h"

#include <string.h>

static const char *const one_ds[] = {"value"};
static const char *const two_ds[] = {"rx", "tx"};

static int setup(void **state) {
  fsp_map *m = fsp_map_create();
  *state = m;
  return m == NULL ? -1 : 0;
}

static int teardown(void **state) {
  fsp_map_destroy(*state);
  return 0;
}

static fsp_ident ident(const char *host, const char *plugin, const char *pi,
                       const char *type, const char *ti) {
  return (fsp_ident){host, plugin, pi, type, ti};
}

static void test_enabled_usage_metric_maps_to_host_and_metric(void **state) {
  fsp_map *m = *state;
  assert_int_equal(fsp_map_enable_metric(m, "cpu", NULL, 0), 0);
  fsp_ident id = ident("vm1", "foresight_virt", "", "fs_usage", "cpu");
  fsp_target t;
  assert_int_equal(fsp_map_match(m, &id, one_ds, 1, &t), 1);
  assert_string_equal(t.vm, "vm1");
  assert_string_equal(t.metric, "cpu");
  assert_int_equal(t.ds_index, 0);
}

static void test_usage_metric_not_enabled_is_ignored(void **state) {
  fsp_map *m = *state;
  assert_int_equal(fsp_map_enable_metric(m, "cpu", NULL, 0), 0);
  fsp_ident id = ident("vm1", "foresight_replay", "", "fs_usage", "mem");
  fsp_target t;
  assert_int_equal(fsp_map_match(m, &id, one_ds, 1, &t), 0);
}

static void test_unknown_usage_metric_is_an_error_naming_it(void **state) {
  char err[256];
  assert_int_equal(fsp_map_enable_metric(*state, "gpu", err, sizeof(err)), -1);
  assert_non_null(strstr(err, "\"gpu\""));
}

static void test_exact_rule_maps_data_source_by_name_to_literal_vm(void **state) {
  fsp_map *m = *state;
  fsp_map_rule_spec spec = {.plugin = "interface", .type = "if_octets",
                            .data_source = "tx", .vm = "web1", .metric = "egress"};
  assert_int_equal(fsp_map_add_rule(m, &spec, NULL, 0), 0);
  fsp_ident id = ident("host9", "interface", "eth0", "if_octets", "");
  fsp_target t;
  assert_int_equal(fsp_map_match(m, &id, two_ds, 2, &t), 1);
  assert_string_equal(t.vm, "web1");
  assert_string_equal(t.metric, "egress");
  assert_int_equal(t.ds_index, 1);
}

static void test_regex_rule_matches_and_takes_vm_from_host(void **state) {
  fsp_map *m = *state;
  fsp_map_rule_spec spec = {.plugin = "curl_json", .type_instance = "/^api_latency_(p95|p99)$/",
                            .metric = "latency"};
  assert_int_equal(fsp_map_add_rule(m, &spec, NULL, 0), 0);
  fsp_ident hit = ident("web2", "curl_json", "app", "gauge", "api_latency_p95");
  fsp_ident miss = ident("web2", "curl_json", "app", "gauge", "api_latency_p50");
  fsp_target t;
  assert_int_equal(fsp_map_match(m, &hit, one_ds, 1, &t), 1);
  assert_string_equal(t.vm, "web2");
  assert_int_equal(fsp_map_match(m, &miss, one_ds, 1, &t), 0);
}

static void test_rule_with_unknown_data_source_does_not_match(void **state) {
  fsp_map *m = *state;
  fsp_map_rule_spec spec = {.type = "if_octets", .data_source = "bytes", .metric = "x"};
  assert_int_equal(fsp_map_add_rule(m, &spec, NULL, 0), 0);
  fsp_ident id = ident("h", "interface", "", "if_octets", "");
  fsp_target t;
  assert_int_equal(fsp_map_match(m, &id, two_ds, 2, &t), 0);
}

static void test_first_matching_rule_wins(void **state) {
  fsp_map *m = *state;
  fsp_map_rule_spec a = {.type = "gauge", .metric = "first"};
  fsp_map_rule_spec b = {.type = "/.*/", .metric = "second"};
  assert_int_equal(fsp_map_add_rule(m, &a, NULL, 0), 0);
  assert_int_equal(fsp_map_add_rule(m, &b, NULL, 0), 0);
  fsp_ident id = ident("h", "statsd", "", "gauge", "");
  fsp_target t;
  assert_int_equal(fsp_map_match(m, &id, one_ds, 1, &t), 1);
  assert_string_equal(t.metric, "first");
}

/* The plugin's own fs_forecast output never feeds back, whatever the rules say. */
static void test_own_forecasts_are_never_modelled(void **state) {
  fsp_map *m = *state;
  fsp_map_rule_spec any = {.type = "/.*/", .metric = "all"};
  assert_int_equal(fsp_map_add_rule(m, &any, NULL, 0), 0);
  const char *const band[] = {"mean", "lo", "hi"};
  fsp_ident id = ident("vm1", "foresight_forecast", "cpu", "fs_forecast", "h300");
  fsp_target t;
  assert_int_equal(fsp_map_match(m, &id, band, 3, &t), 0);
}

static void test_bad_regex_is_an_error_naming_the_field(void **state) {
  char err[256];
  fsp_map_rule_spec spec = {.plugin_instance = "/(unclosed/", .metric = "x"};
  assert_int_equal(fsp_map_add_rule(*state, &spec, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "PluginInstance"));
  assert_int_equal(fsp_map_n_rules(*state), 0);
}

static void test_rule_without_metric_or_with_bad_metric_is_an_error(void **state) {
  char err[256];
  fsp_map_rule_spec none = {.type = "gauge"};
  assert_int_equal(fsp_map_add_rule(*state, &none, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "Metric"));
  fsp_map_rule_spec slash = {.type = "gauge", .metric = "a/b"};
  assert_int_equal(fsp_map_add_rule(*state, &slash, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "a/b"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_enabled_usage_metric_maps_to_host_and_metric, setup, teardown),
      cmocka_unit_test_setup_teardown(test_usage_metric_not_enabled_is_ignored, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_usage_metric_is_an_error_naming_it, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exact_rule_maps_data_source_by_name_to_literal_vm, setup, teardown),
      cmocka_unit_test_setup_teardown(test_regex_rule_matches_and_takes_vm_from_host, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_with_unknown_data_source_does_not_match, setup, teardown),
      cmocka_unit_test_setup_teardown(test_first_matching_rule_wins, setup, teardown),
      cmocka_unit_test_setup_teardown(test_own_forecasts_are_never_modelled, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_regex_is_an_error_naming_the_field, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_without_metric_or_with_bad_metric_is_an_error, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
