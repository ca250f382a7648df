/* broker.h -- a real mosquitto for the integration tests, one per case: the demo
 * config (FS_MQTT_CONF_TEMPLATE) on a fresh loopback port, with the accounts and ACL
 * that mqtt_env.sh prepared in FS_MQTT_DIR, optionally a TLS listener. */
#ifndef FS_TEST_BROKER_H
#define FS_TEST_BROKER_H

#include <sys/types.h>

typedef struct broker {
  pid_t pid;   /* 0 when not running */
  int port;
  char conf[512];
  char log[512];
} broker;

/* Picks a free port and writes the config (tls: a TLS listener that requires a client
 * certificate from FS_MQTT_DIR/ca.crt). 0 or -1. */
int broker_init(broker *b, int tls);
/* Starts mosquitto and waits (5 s at most) until it accepts connections. 0 or -1. */
int broker_start(broker *b);
/* Sends sig (SIGKILL: a crash, SIGTERM: a stop) and waits for the process. */
void broker_stop(broker *b, int sig);
/* A file in FS_MQTT_DIR, e.g. broker_file("ca.crt"); a static buffer per call slot. */
const char *broker_file(const char *name);

#endif
