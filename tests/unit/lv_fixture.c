/* lv_fixture.c -- see lv_fixture.h. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libvirt/virterror.h>

#include "lv_fixture.h"

#define META(set) \
  "<metadata><foresight:vm xmlns:foresight='http://foresight.invalid/xmlns/1' " \
  "set='" set "'/></metadata>"
#define OS "<os><type arch='i686'>hvm</type></os>"

static const char node_xml[] =
    "<node>\n"
    "<cpu><mode>paravirt</mode><nodes>1</nodes><sockets>1</sockets><cores>16</cores>"
    "<threads>1</threads><active>16</active><mhz>2000</mhz><model>i686</model></cpu>\n"
    "<memory>33554432</memory>\n"
    "<domain type='test'>\n"
    "  <name>web1</name><uuid>" LVFX_WEB1_UUID "</uuid>" META("web") "\n"
    "  <memory unit='KiB'>2097152</memory><currentMemory unit='KiB'>1048576"
    "</currentMemory>\n"
    "  <vcpu placement='static' current='2'>4</vcpu>" OS "\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'><source file='/guest/web1-a.img'/>"
    "<target dev='vda' bus='virtio'/><iotune><total_iops_sec>100</total_iops_sec>"
    "<total_iops_sec_max>200</total_iops_sec_max></iotune></disk>\n"
    "    <disk type='file' device='disk'><source file='/guest/web1-b.img'/>"
    "<target dev='vdb' bus='virtio'/></disk>\n"
    "    <disk type='file' device='cdrom'><source file='/guest/tools.iso'/>"
    "<target dev='hdc' bus='ide'/><readonly/></disk>\n"
    "    <interface type='network'><mac address='" LVFX_WEB1_MAC1 "'/>"
    "<source network='default'/><bandwidth><inbound average='1000'/>"
    "<outbound average='2000'/></bandwidth></interface>\n"
    "    <interface type='network'><mac address='" LVFX_WEB1_MAC2 "'/>"
    "<source network='default'/></interface>\n"
    "  </devices>\n"
    "</domain>\n"
    "<domain type='test'>\n"
    "  <name>web2</name><uuid>00000000-0000-4000-8000-000000000002</uuid>" META("web")
    "\n"
    "  <memory unit='KiB'>4194304</memory><currentMemory unit='KiB'>2097152"
    "</currentMemory>\n"
    "  <vcpu placement='static' current='4'>8</vcpu>" OS "\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'><source file='/guest/web2.img'/>"
    "<target dev='vda' bus='virtio'/></disk>\n"
    "    <interface type='network'><mac address='52:54:00:00:02:01'/>"
    "<source network='default'/></interface>\n"
    "  </devices>\n"
    "</domain>\n"
    "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
    "  <name>web-tmpl</name><uuid>00000000-0000-4000-8000-000000000003</uuid>"
    META("web") "\n"
    "  <memory unit='KiB'>524288</memory>\n"
    "  <vcpu placement='static'>1</vcpu>" OS "\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'><source file='/guest/web-base.img'/>"
    "<target dev='vda' bus='virtio'/><readonly/></disk>\n"
    "    <interface type='network'><mac address='" LVFX_TMPL_MAC "'/>"
    "<source network='default'/></interface>\n"
    "  </devices>\n"
    "  <test:runstate>5</test:runstate>\n"
    "</domain>\n"
    "<domain type='test'>\n"
    "  <name>db1</name><uuid>00000000-0000-4000-8000-000000000004</uuid>" META("db") "\n"
    "  <memory unit='KiB'>524288</memory>\n"
    "  <vcpu placement='static'>1</vcpu>" OS "\n"
    "</domain>\n"
    "</node>\n";

static void quiet(void *user, virErrorPtr e) {
  (void)user;
  (void)e;
}

void lvfx_write_file(const char *path, const char *data, size_t len) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(data, 1, len, fp), len);
  assert_int_equal(fclose(fp), 0);
}

char *lvfx_read_file(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  assert_non_null(buf);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
    n += got;
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      assert_non_null(buf);
    }
  }
  fclose(fp);
  buf[n] = '\0';
  if (len != NULL)
    *len = n;
  return buf;
}

lvfx *lvfx_new(void) {
  virSetErrorFunc(NULL, quiet); /* the tests read errors from act_error, not stderr */
  lvfx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  strcpy(f->dir, "/tmp/act_apply_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->node, sizeof(f->node), "%s/node.xml", f->dir);
  snprintf(f->journal, sizeof(f->journal), "%s/journal", f->dir);
  snprintf(f->ledger, sizeof(f->ledger), "%s/ledger", f->dir);
  lvfx_write_file(f->node, node_xml, strlen(node_xml));
  char uri[160];
  snprintf(uri, sizeof(uri), "test://%s", f->node);
  f->conn = virConnectOpen(uri);
  assert_non_null(f->conn);
  return f;
}

void lvfx_free(lvfx *f) {
  if (f == NULL)
    return;
  if (f->conn != NULL)
    virConnectClose(f->conn);
  DIR *d = opendir(f->dir);
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
    unlink(path);
  }
  if (d != NULL)
    closedir(d);
  rmdir(f->dir);
  free(f);
}

static virDomainPtr dom_of(virConnectPtr conn, const char *vm) {
  virDomainPtr dom = virDomainLookupByName(conn, vm);
  if (dom == NULL)
    fail_msg("libvirt: no domain %s: %s", vm, virGetLastErrorMessage());
  return dom;
}

int lvfx_exists(virConnectPtr conn, const char *vm) {
  virDomainPtr dom = virDomainLookupByName(conn, vm);
  if (dom != NULL)
    virDomainFree(dom);
  return dom != NULL;
}

int lvfx_vcpus(virConnectPtr conn, const char *vm, unsigned flags) {
  virDomainPtr dom = dom_of(conn, vm);
  int n = virDomainGetVcpusFlags(dom, flags);
  virDomainFree(dom);
  assert_true(n >= 0);
  return n;
}

unsigned long lvfx_mem_kib(virConnectPtr conn, const char *vm) {
  virDomainPtr dom = dom_of(conn, vm);
  virDomainInfo info;
  assert_int_equal(virDomainGetInfo(dom, &info), 0);
  virDomainFree(dom);
  return info.memory;
}

char *lvfx_xml(virConnectPtr conn, const char *vm, unsigned flags) {
  virDomainPtr dom = dom_of(conn, vm);
  char *xml = virDomainGetXMLDesc(dom, flags);
  virDomainFree(dom);
  assert_non_null(xml);
  return xml;
}

unsigned long long lvfx_iotune(virConnectPtr conn, const char *vm, const char *dev,
                               const char *field) {
  virDomainPtr dom = dom_of(conn, vm);
  virTypedParameter p[64];
  int n = 64;
  memset(p, 0, sizeof(p));
  assert_int_equal(virDomainGetBlockIoTune(dom, dev, p, &n, 0), 0);
  unsigned long long v = 0;
  virTypedParamsGetULLong(p, n, field, &v);
  virTypedParamsClear(p, n);
  virDomainFree(dom);
  return v;
}

unsigned lvfx_bandwidth(virConnectPtr conn, const char *vm, const char *mac,
                        const char *field) {
  virDomainPtr dom = dom_of(conn, vm);
  virTypedParameter p[32];
  int n = 32;
  memset(p, 0, sizeof(p));
  assert_int_equal(virDomainGetInterfaceParameters(dom, mac, p, &n, 0), 0);
  unsigned v = 0;
  virTypedParamsGetUInt(p, n, field, &v);
  virTypedParamsClear(p, n);
  virDomainFree(dom);
  return v;
}

static int by_name(const void *a, const void *b) {
  return strcmp(virDomainGetName(*(virDomainPtr const *)a),
                virDomainGetName(*(virDomainPtr const *)b));
}

/* Appends s to the growing buffer *buf. */
static void add(char **buf, size_t *len, const char *s) {
  size_t n = strlen(s);
  *buf = realloc(*buf, *len + n + 1);
  assert_non_null(*buf);
  memcpy(*buf + *len, s, n + 1);
  *len += n;
}

/* The run id (<domain ... id='3'>) changes at every start; it is not allocation. */
static void drop_run_id(char *xml) {
  char *end = strchr(xml, '>'), *id = strstr(xml, " id='");
  if (id != NULL && end != NULL && id < end) {
    char *close = strchr(id + 5, '\'');
    memmove(id, close + 1, strlen(close + 1) + 1);
  }
}

/* Clearing an interface's averages (0) leaves an empty <bandwidth></bandwidth> behind in
 * libvirt's XML: the same allocation (none) as no element at all, so it is dropped
 * here, whitespace and all. The averages themselves stay compared. */
static void drop_empty_bandwidth(char *xml) {
  char *at;
  while ((at = strstr(xml, "<bandwidth>")) != NULL) {
    char *p = at + strlen("<bandwidth>");
    while (*p == ' ' || *p == '\n')
      p++;
    if (strncmp(p, "</bandwidth>", strlen("</bandwidth>")) != 0) {
      xml = p; /* a bandwidth with content: keep it, look further */
      continue;
    }
    p += strlen("</bandwidth>");
    if (*p == '\n')
      p++;
    while (at > xml && at[-1] == ' ') /* the line's indentation */
      at--;
    memmove(at, p, strlen(p) + 1);
  }
}

char *lvfx_snapshot(virConnectPtr conn) {
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains(conn, &doms, 0);
  assert_true(n >= 0);
  qsort(doms, (size_t)n, sizeof(*doms), by_name);
  char *buf = NULL;
  size_t len = 0;
  add(&buf, &len, "");
  for (int i = 0; i < n; i++) {
    char head[256], uuid[VIR_UUID_STRING_BUFLEN];
    assert_int_equal(virDomainGetUUIDString(doms[i], uuid), 0);
    snprintf(head, sizeof(head), "== %s %s active=%d persistent=%d\n",
             virDomainGetName(doms[i]), uuid, virDomainIsActive(doms[i]),
             virDomainIsPersistent(doms[i]));
    add(&buf, &len, head);
    char *live = virDomainGetXMLDesc(doms[i], 0);
    assert_non_null(live);
    drop_run_id(live);
    drop_empty_bandwidth(live);
    add(&buf, &len, live);
    free(live);
    if (virDomainIsPersistent(doms[i]) == 1) {
      char *config = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
      assert_non_null(config);
      drop_empty_bandwidth(config);
      add(&buf, &len, "-- persistent\n");
      add(&buf, &len, config);
      free(config);
    }
    virDomainFree(doms[i]);
  }
  free(doms);
  return buf;
}
