/* broker.c -- start and kill a real mosquitto for the integration tests. The broker
 * dies with the test (PR_SET_PDEATHSIG), and mqtt_link.sh runs the test in its own
 * process group as a second line of defence. */
#define _GNU_SOURCE
#include "tests/integration/broker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *env(const char *name) {
  const char *v = getenv(name);
  if (v == NULL) {
    fprintf(stderr, "broker: %s is not set (run me through mqtt_link.sh)\n", name);
    exit(1);
  }
  return v;
}

const char *broker_file(const char *name) {
  static char bufs[8][512];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, 512, "%s/%s", env("FS_MQTT_DIR"), name);
  return b;
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

/* Copies the template to conf with @PORT@, @DIR@ and @ACL@ filled in. */
static int write_conf(broker *b, int tls) {
  FILE *in = fopen(env("FS_MQTT_CONF_TEMPLATE"), "r");
  FILE *out = fopen(b->conf, "w");
  if (in == NULL || out == NULL) {
    if (in) fclose(in);
    if (out) fclose(out);
    return -1;
  }
  char line[512];
  while (fgets(line, sizeof(line), in) != NULL) {
    char *at;
    if ((at = strstr(line, "@PORT@")) != NULL)
      fprintf(out, "%.*s%d%s", (int)(at - line), line, b->port, at + 6);
    else if ((at = strstr(line, "@DIR@")) != NULL)
      fprintf(out, "%.*s%s%s", (int)(at - line), line, env("FS_MQTT_DIR"), at + 5);
    else if ((at = strstr(line, "@ACL@")) != NULL)
      fprintf(out, "%.*s%s%s", (int)(at - line), line, env("FS_MQTT_ACL"), at + 5);
    else
      fputs(line, out);
  }
  /* mosquitto started as root drops to user "mosquitto", who cannot read our 0700
   * temp folder: stay who we are */
  struct passwd *pw = getpwuid(geteuid());
  if (pw != NULL)
    fprintf(out, "user %s\n", pw->pw_name);
  if (tls)
    fprintf(out, "cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n",
            broker_file("ca.crt"), broker_file("server.crt"), broker_file("server.key"));
  fclose(in);
  return fclose(out) == 0 ? 0 : -1;
}

int broker_init(broker *b, int tls) {
  memset(b, 0, sizeof(*b));
  if ((b->port = free_port()) < 0)
    return -1;
  snprintf(b->conf, sizeof(b->conf), "%s/broker-%d.conf", env("FS_MQTT_DIR"), b->port);
  snprintf(b->log, sizeof(b->log), "%s/broker-%d.log", env("FS_MQTT_DIR"), b->port);
  return write_conf(b, tls);
}

static int accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

int broker_start(broker *b) {
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execlp("mosquitto", "mosquitto", "-c", b->conf, (char *)NULL);
    _exit(127);
  }
  b->pid = pid;
  for (int i = 0; i < 250; i++) {
    if (accepts(b->port))
      return 0;
    if (waitpid(pid, NULL, WNOHANG) == pid) {
      b->pid = 0;
      return -1;
    }
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
  }
  broker_stop(b, SIGKILL);
  return -1;
}

void broker_stop(broker *b, int sig) {
  if (b->pid <= 0)
    return;
  kill(b->pid, sig);
  waitpid(b->pid, NULL, 0);
  b->pid = 0;
}
