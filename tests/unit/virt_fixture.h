/* virt_fixture.h -- stats records for the virt unit tests, read from text in the format
 * of `virsh domstats --raw` (tests/unit/fixtures/NAME.stats):
 *     Domain: 'web1'
 *       cpu.time=19560000000
 *       block.0.name=vda
 * '#' starts a comment line. A value's type is inferred: digits -> ULLONG, '-' and digits
 * -> LLONG, a number with '.' -> DOUBLE, anything else -> STRING (libvirt's readers in
 * virt_sample.c accept any integer type, so nothing depends on the exact type).
 */
#ifndef VIRT_FIXTURE_H
#define VIRT_FIXTURE_H

#include <libvirt/libvirt.h>

typedef struct vf_record {
  char name[64];             /* the domain's name */
  virTypedParameter *params; /* owned */
  int n;
} vf_record;

/* Parses text into *recs (n records); returns 0, or -1 on a malformed line (printed). */
int vf_parse(const char *text, vf_record **recs, int *n);
/* Reads fixtures/<name> (FS_FIXTURES is the fixture folder); returns 0 or -1. */
int vf_load(const char *name, vf_record **recs, int *n);
void vf_free(vf_record *recs, int n);

#endif
