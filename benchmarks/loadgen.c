/* Load generator and backend for `make bench-dataplane`.
 *
 *   loadgen serve PORT            echo on PORT, sink on PORT+1 (127.0.0.1)
 *   loadgen bulk HOST PORT STREAMS SECONDS   -> Gbit/s sent to a sink
 *   loadgen conn HOST PORT THREADS SECONDS   -> connections/s (64-byte req/resp, close)
 *   loadgen ping HOST PORT COUNT             -> p50_us p99_us of 64-byte round trips
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *g_host;
static int g_port, g_seconds;
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static int dial(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(g_port)};
  inet_pton(AF_INET, g_host, &a.sin_addr);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
  return fd;
}
static int readn(int fd, char *buf, int n) {
  int got = 0;
  while (got < n) { int r = read(fd, buf + got, n - got); if (r <= 0) return -1; got += r; }
  return got;
}
static void *echo_conn(void *arg) {
  int fd = (int)(long)arg; char buf[65536]; ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) if (write(fd, buf, n) != n) break;
  close(fd); return NULL;
}
static void *sink_conn(void *arg) {
  int fd = (int)(long)arg; char *buf = malloc(1 << 20);
  while (read(fd, buf, 1 << 20) > 0) {}
  free(buf); close(fd); return NULL;
}
struct srv { int port; void *(*fn)(void *); };
static void *serve(void *arg) {
  struct srv *s = arg; int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s->port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096)) { perror("bind"); exit(1); }
  pthread_attr_t at; pthread_attr_init(&at); pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&at, 1 << 21);
  for (;;) {
    int c = accept(fd, NULL, NULL); if (c < 0) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t t; pthread_create(&t, &at, s->fn, (void *)(long)c);
  }
}
static double results[64];
static void *bulk(void *arg) {
  char *buf = calloc(1, 1 << 20); double end = now() + g_seconds, sent = 0;
  int fd = dial(); if (fd < 0) { free(buf); return NULL; }
  while (now() < end) { ssize_t n = write(fd, buf, 1 << 20); if (n <= 0) break; sent += n; }
  close(fd); free(buf); results[(long)arg] = sent; return NULL;
}
static void *conns(void *arg) {
  char buf[64] = {0}; double end = now() + g_seconds, count = 0;
  while (now() < end) {
    int fd = dial(); if (fd < 0) continue;
    if (write(fd, buf, 64) == 64 && readn(fd, buf, 64) == 64) count++;
    close(fd);
  }
  results[(long)arg] = count; return NULL;
}
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y);
}
int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "serve")) {
    static struct srv e, s; e.port = atoi(argv[2]); e.fn = echo_conn; s.port = e.port + 1; s.fn = sink_conn;
    pthread_t t; pthread_create(&t, NULL, serve, &s); serve(&e);
  }
  if (argc < 5) { fprintf(stderr, "usage: see loadgen.c\n"); return 2; }
  g_host = argv[2]; g_port = atoi(argv[3]);
  if (!strcmp(argv[1], "ping")) {
    int count = atoi(argv[4]), fd = dial(); char buf[64] = {0};
    double *lat = malloc(sizeof(double) * count);
    if (fd < 0) { perror("connect"); return 1; }
    for (int i = 0; i < count; i++) {
      double t0 = now();
      if (write(fd, buf, 64) != 64 || readn(fd, buf, 64) != 64) { perror("ping"); return 1; }
      lat[i] = (now() - t0) * 1e6;
    }
    qsort(lat, count, sizeof(double), cmp);
    printf("%.1f %.1f\n", lat[count / 2], lat[(int)(count * 0.99)]);
    return 0;
  }
  int n = atoi(argv[4]); g_seconds = argc > 5 ? atoi(argv[5]) : 3; if (n > 64) n = 64;
  pthread_t th[64]; void *(*fn)(void *) = !strcmp(argv[1], "bulk") ? bulk : conns;
  double t0 = now();
  for (long i = 0; i < n; i++) pthread_create(&th[i], NULL, fn, (void *)i);
  double total = 0;
  for (int i = 0; i < n; i++) { pthread_join(th[i], NULL); total += results[i]; }
  double elapsed = now() - t0;
  if (fn == bulk) printf("%.2f\n", total * 8 / elapsed / 1e9); else printf("%.0f\n", total / elapsed);
  return 0;
}
