/* hv_libvirt.h -- act_hv (hv.h) over a libvirt connection; in libactuator_hv.la, which
 * links libvirt and libxml2 (libactuator.la itself links neither).
 *
 * What each knob is in libvirt, and what libvirt's test driver (9.0) does with it, is
 * written at the top of hv_libvirt.c. */
#ifndef ACTUATOR_HV_LIBVIRT_H
#define ACTUATOR_HV_LIBVIRT_H

#include <libvirt/libvirt.h>

#include "hv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* foresight's namespace in libvirt domain metadata, and its prefix:
 * <foresight:vm set="web"/> (docs/contracts.md, "libvirt domain metadata"). */
#define ACT_HV_XMLNS "http://foresight.invalid/xmlns/1"
#define ACT_HV_XMLNS_PREFIX "foresight"

/* Opens `uri` (e.g. "qemu:///system", "test:///default") read-write. libvirt's error
 * reports on this connection are kept out of stderr; they reach the caller through
 * act_error. The handle owns the connection. NULL and err on failure. */
act_hv *act_hv_libvirt_open(const char *uri, act_error *err);

/* Over a connection the caller opened, taking a reference of its own (virConnectRef):
 * the caller may close its reference at any time. Its error handler settings are left
 * alone. Useful when the connection holds state, as the test driver's does. */
act_hv *act_hv_libvirt_wrap(virConnectPtr conn, act_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ACTUATOR_HV_LIBVIRT_H */
