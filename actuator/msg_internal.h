/* msg_internal.h -- inside libactuator only: what the message files (msg_*.c) share.
 *
 * Decoding untrusted JSON follows one order, so the reply can always be addressed:
 * load (size, syntax, an object) -> the request id -> unknown fields -> each field.
 * Every helper that rejects fills err with `field "PATH": must be WHAT, got VALUE`,
 * PATH dotted (e.g. "VM.web1.Limit.cpu") and VALUE the offending JSON, cut short. */
#ifndef ACT_MSG_INTERNAL_H
#define ACT_MSG_INTERNAL_H

#include <jansson.h>

#include "act_internal.h"
#include "messages.h"

/* Parses json (len bytes) into an object *out (caller's reference), enforcing the
 * size limit of ctx (ctx may be NULL: the default). */
int act__msg_load(const act_msg_ctx *ctx, const char *json, size_t len, json_t **out,
                  act_error *err);
/* `field "PATH": must be WANT, got VALUE` with ACT_EINVAL; got may be NULL (missing). */
int act__msg_bad(act_error *err, const char *path, const char *want, const json_t *got);
/* ACT_EINVAL naming the first key of obj not in allowed (a NULL-ended list). */
int act__msg_only(const json_t *obj, const char *path, const char *const allowed[],
                  act_error *err);
/* The required "request_id" of a message object; id "" until found valid. */
int act__msg_request_id(const json_t *obj, char id[ACT_MSG_ID_MAX], act_error *err);
/* A JSON number, or "inf"/"-inf" for the infinities; NAN when v is a NULL pointer is
 * not accepted: callers check presence first. */
int act__msg_get_double(const json_t *v, const char *path, double *out, act_error *err);
/* A JSON integer that fits an int. */
int act__msg_get_int(const json_t *v, const char *path, int *out, act_error *err);
/* A resource name used as a key, e.g. "cpu" under "Threshold". */
int act__msg_get_resource(const char *key, const char *path, act_resource *out,
                          act_error *err);

/* New references for encoders (NULL only when out of memory): a number as JSON, with
 * NAN as null and the infinities as "inf"/"-inf"; a string, NULL as "". */
json_t *act__msg_number(double v);
json_t *act__msg_string(const char *s);
/* The compact text of root, which it releases; NULL and err when root is NULL (an
 * earlier allocation failed) or dumping fails. `what` names the message. */
char *act__msg_dump(json_t *root, const char *what, act_error *err);

#endif /* ACT_MSG_INTERNAL_H */
