/* durable.c -- writing files so they survive a crash: every byte written (write may
 * write less than asked), data synced, and the folder synced after a file appears or a
 * rename, since the directory entry is what makes it findable after a power cut. Also
 * the checksum that lets the journal tell a damaged line from a good one. Shared by
 * the ledger (ledger_file.c) and the journal (journal.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act_internal.h"

int act__write_all(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

int act__sync_folder(const char *path) {
  char *dir = strdup(path);
  if (dir == NULL)
    return -1;
  char *slash = strrchr(dir, '/');
  const char *name = slash == NULL ? "." : (slash == dir ? "/" : dir);
  if (slash != NULL && slash != dir)
    *slash = '\0';
  int fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = fd < 0 ? -1 : fsync(fd);
  int saved = errno;
  if (fd >= 0)
    close(fd);
  free(dir);
  errno = saved;
  return rc;
}

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32): bitwise, since journal lines are
 * short and written once per hypervisor call, so a table buys nothing. */
uint32_t act__crc32(const void *data, size_t n) {
  const unsigned char *p = data;
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int b = 0; b < 8; b++)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}
