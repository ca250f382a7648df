/* ctl.h -- foresight-ctl's human-readable lines, apart from its MQTT plumbing so they
 * can be tested alone. Every function takes a message as received (JSON text, not
 * NUL-terminated) and writes one line without newline into buf; a message that does
 * not parse or lacks a field prints what it has, never fails. Times are local
 * (HH:MM:SS), so tests set TZ. */
#ifndef FS_CTL_H
#define FS_CTL_H

#include <stddef.h>

/* `12:00:05 web/web1 grow cpu 2 → 3 (forecast hi 2.7 cores at +10 min > 0.8 × 3)`
 * followed by tag, e.g. "[planned]" (decision) or "[applied]" (its result). */
void ctl_format_decision(const char *set, const char *json, size_t len, const char *tag,
                         char *buf, size_t n);
/* A result: the decision's line with "[status]" or "[status: error]" when the decision
 * (decision_json, may be NULL) is known, else `12:00:07 web/web1 decision 17 [...]`. */
void ctl_format_result(const char *set, const char *json, size_t len,
                       const char *decision_json, size_t decision_len, char *buf,
                       size_t n);
/* The decision id of a decision or result message, or -1. */
long long ctl_message_id(const char *json, size_t len, const char *key);
/* One retained message of `foresight-ctl status`, by what its topic ends in: a policy,
 * a VM's state or one of its forecasts. rest is the topic after the prefix. */
void ctl_format_status(const char *rest, const char *json, size_t len, char *buf,
                       size_t n);

#endif
