/* lv_fixture.h -- libvirt's real test driver as the hypervisor of a test: a temporary
 * folder holding a node XML (four domains, below), the connection test:///<that file>,
 * and independent ways to look at the domains with plain libvirt calls, so a test's
 * oracle never goes through the code under test.
 *
 * The test driver keeps its state in the connection: each new connection to the file
 * starts from the file again. So a test that "restarts" the applier keeps this one
 * connection and wraps it in a new act_hv (act_hv_libvirt_wrap).
 *
 * Domains (set = foresight metadata):
 *   web1      runs; set web; 2 of 4 vCPUs; 1 GiB of 2 GiB; disks vda (total_iops_sec
 *             100, _max 200), vdb (no tune), cdrom hdc; interfaces 52:54:00:00:01:01
 *             (inbound 1000, outbound 2000 KiB/s) and 52:54:00:00:01:02 (none)
 *   web2      runs; set web; 4 of 8 vCPUs; 2 GiB of 4 GiB; disk vda; one interface
 *   web-tmpl  shut off; set web; the scale-out template: 1 vCPU, 512 MiB, disk vda,
 *             interface 52:54:00:00:03:01
 *   db1       runs; set db; 1 vCPU, 512 MiB; no template mark
 */
#ifndef LV_FIXTURE_H
#define LV_FIXTURE_H

#include <stddef.h>

#include <libvirt/libvirt.h>

#define LVFX_WEB1_UUID "00000000-0000-4000-8000-000000000001"
#define LVFX_WEB1_MAC1 "52:54:00:00:01:01"
#define LVFX_WEB1_MAC2 "52:54:00:00:01:02"
#define LVFX_TMPL_MAC "52:54:00:00:03:01"

typedef struct lvfx {
  char dir[64];
  char node[128];    /* the node XML */
  char journal[128]; /* paths for the test's journal and ledger (not created) */
  char ledger[128];
  virConnectPtr conn;
} lvfx;

lvfx *lvfx_new(void);     /* fails the test if it cannot be made */
void lvfx_free(lvfx *f);  /* closes the connection, removes the folder */

/* Every domain, sorted by name: name, UUID, state, live XML (without the run id) and
 * persistent XML, as one malloc'd string: equal strings mean equal domains. */
char *lvfx_snapshot(virConnectPtr conn);

/* Plain libvirt readers; each fails the test when libvirt does. */
int lvfx_vcpus(virConnectPtr conn, const char *vm, unsigned flags);
unsigned long lvfx_mem_kib(virConnectPtr conn, const char *vm); /* live */
char *lvfx_xml(virConnectPtr conn, const char *vm, unsigned flags); /* malloc'd */
unsigned long long lvfx_iotune(virConnectPtr conn, const char *vm, const char *dev,
                               const char *field);
unsigned lvfx_bandwidth(virConnectPtr conn, const char *vm, const char *mac,
                        const char *field);
int lvfx_exists(virConnectPtr conn, const char *vm);

/* Whole-file helpers: the file's bytes (malloc'd, NUL added; *len without it), and
 * writing bytes over a file. */
char *lvfx_read_file(const char *path, size_t *len);
void lvfx_write_file(const char *path, const char *data, size_t len);

#endif /* LV_FIXTURE_H */
