/* privlink's userspace forwarder: one worker process per core (see workers.py).
 *
 * Why C: a connection through the endpoint costs a dozen system calls and nothing
 * else here, where an asyncio forwarder spent as much CPU again in the interpreter
 * and could not keep up with HAProxy on new connections per second.
 *
 * The server process owns everything but the bytes: it binds each listener (one
 * SO_REUSEPORT socket per worker), passes it over the control channel (a Unix
 * SEQPACKET socket, fd 3 by default or argv[1]) with SCM_RIGHTS, and pushes the
 * healthy targets of each target group. One message per packet, fields separated by
 * tabs, each answered with "OK..." or "ERR\t<errno>\t<why>":
 *
 *   L addr port endpoint group pp2 rules  (+ fd)  forward a listener; rules are
 *                                          "cidr,lo,hi;..." (empty: allow all)
 *   S addr port                            stop listening (connections stay)
 *   T group targets [group targets ...]    healthy targets, "host:port,..." ("" none)
 *   E endpoint...                          reset the connections of these endpoints
 *                                          -> OK\t<endpoint>=<count>...
 *   Q [endpoint...]                        -> OK\t<buffered bytes>\t<endpoint>=<live>...
 *                                          (those endpoints, or all: as many as fit
 *                                          in REPLY bytes)
 *   B [endpoint...]                        -> OK\t<endpoint>=<in>,<out>,<total>,<errors>...
 *                                          bytes from clients, bytes to clients,
 *                                          connections accepted, connections refused or
 *                                          failed: counted since the worker started
 *                                          (those endpoints, or all that fit)
 *
 * The channel closing ends the worker. Connections: accept, check the security
 * group's rules, pick a healthy target round robin, dial it (5 s limit), optionally
 * write a Proxy Protocol v2 header with the endpoint id (AWS's TLV), then copy both
 * ways with half-close; each direction holds at most one buffer, so a slow reader
 * holds its writer back. Anything refused or failed ends with a reset.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (64 * 1024)
#define PACKET (1 << 20)
#define CONNECT_TIMEOUT_MS 5000
#define GROUP_BUCKETS 4096
#define ID 128
#define REPLY 60000 /* below a SEQPACKET socket's default send buffer */
#define METER_BUCKETS 4096

enum kind { CHANNEL, LISTENER, SIDE };

struct group {
    char *arn;
    struct sockaddr_in *targets;
    int count;
    unsigned next;
    struct group *chain;
};

struct rule {
    uint32_t net, mask;
    int low, high;
};

struct listener {
    enum kind kind;
    int fd, dead;
    struct sockaddr_in local;
    char endpoint[ID];
    struct group *group;
    int pp2;
    int rules;
    struct rule *rule;
    struct listener *next;
};

/* What went through one endpoint's listeners in this worker, kept after its connections. */
struct meter {
    char endpoint[ID];
    long long in, out, total, errors;
    struct meter *chain;
};

struct conn;
struct side {
    enum kind kind;
    int fd;
    struct conn *conn;
    char *buf; /* read from this side, not yet written to the other */
    size_t len, off;
    int eof, passed_eof;
    int readable; /* may have bytes or an EOF to read: not drained since its last event */
    int closing;  /* the peer said it ended (EPOLLRDHUP): read on to the EOF */
};

struct conn {
    struct side client, upstream;
    int connected, dead;
    long long deadline;
    char endpoint[ID];
    struct meter *meter;
    struct conn *prev, *next;
};

static int epfd, channel_fd;
static struct listener *listeners;
static struct group *groups[GROUP_BUCKETS];
static struct meter *meters[METER_BUCKETS];
static struct conn *conns;
static int connecting;
static enum kind channel_kind = CHANNEL;
/* Freed after the batch of events at hand: a later event of it may be in that batch. */
static struct conn *dead_conns;
static struct listener *dead_listeners;

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static unsigned hash(const char *text) {
    unsigned h = 5381;
    for (const char *p = text; *p; p++) h = h * 33 + (unsigned char)*p;
    return h;
}

static struct group *group_of(const char *arn) {
    struct group **slot = &groups[hash(arn) % GROUP_BUCKETS];
    for (struct group *g = *slot; g; g = g->chain)
        if (strcmp(g->arn, arn) == 0) return g;
    struct group *g = calloc(1, sizeof *g);
    g->arn = strdup(arn);
    g->chain = *slot;
    *slot = g;
    return g;
}

static struct meter *meter_of(const char *endpoint) {
    struct meter **slot = &meters[hash(endpoint) % METER_BUCKETS];
    for (struct meter *m = *slot; m; m = m->chain)
        if (strcmp(m->endpoint, endpoint) == 0) return m;
    struct meter *m = calloc(1, sizeof *m);
    snprintf(m->endpoint, ID, "%s", endpoint);
    m->chain = *slot;
    *slot = m;
    return m;
}

static int parse_addr(const char *host, int port, struct sockaddr_in *out) {
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

/* -- connections ---------------------------------------------------------- */

static void watch(struct side *s) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = s};
    epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev);
}

static void drop(struct conn *k, int reset) {
    struct side *sides[2] = {&k->client, &k->upstream};
    for (int i = 0; i < 2; i++) {
        struct side *s = sides[i];
        if (s->fd < 0) continue;
        if (reset) {
            struct linger hard = {1, 0};
            setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        }
        close(s->fd); /* also leaves the epoll set */
        free(s->buf);
    }
    if (!k->connected) connecting--;
    if (k->prev) k->prev->next = k->next; else conns = k->next;
    if (k->next) k->next->prev = k->prev;
    k->dead = 1;
    k->next = dead_conns;
    dead_conns = k;
}

static void bury(void) {
    for (struct conn *k = dead_conns, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    for (struct listener *l = dead_listeners, *next; l; l = next) {
        next = l->next;
        free(l->rule);
        free(l);
    }
    dead_conns = NULL;
    dead_listeners = NULL;
}

/* Copy what `src` has to `dst` until one would block; -1: the connection failed.
 * Few system calls per connection is the point: a read shorter than the buffer
 * drained the socket (edge-triggered epoll reports the next bytes as a new event), and
 * the last FIN goes out with close(), not a shutdown() of its own. */
static int flow(struct conn *k, struct side *src, struct side *dst) {
    for (;;) {
        if (src->len > src->off) {
            if (!k->connected) return 0;
            ssize_t w = send(dst->fd, src->buf + src->off, src->len - src->off, MSG_NOSIGNAL);
            if (w < 0) return errno == EAGAIN ? 0 : -1;
            src->off += (size_t)w;
            if (src->off < src->len) continue;
            src->off = src->len = 0;
        }
        if (src->eof) {
            if (!src->passed_eof && k->connected) {
                if (!dst->passed_eof) shutdown(dst->fd, SHUT_WR); /* half-close, as src did */
                src->passed_eof = 1;
            }
            return 0;
        }
        if (!src->readable) return 0;
        ssize_t r = recv(src->fd, src->buf, BUF, 0);
        if (r > 0) {
            src->len = (size_t)r;
            if (src == &k->client) k->meter->in += r; else k->meter->out += r;
            if (r < BUF && !src->closing) src->readable = 0;
        } else if (r == 0) {
            src->eof = 1;
        } else if (errno == EAGAIN) {
            src->readable = 0;
        } else {
            return -1;
        }
    }
}

static void pp2_header(struct conn *k, struct listener *l, struct sockaddr_in *from) {
    /* Proxy Protocol v2, PROXY over TCP/IPv4, with AWS's TLV 0xEA subtype 0x01:
     * the endpoint id, as an NLB behind an endpoint service sends it. */
    unsigned char h[16 + 12 + 3 + 1 + ID];
    static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                          0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    size_t idlen = strlen(k->endpoint);
    memcpy(h, sig, 12);
    h[12] = 0x21;
    h[13] = 0x11;
    uint16_t body = (uint16_t)(12 + 3 + 1 + idlen);
    h[14] = body >> 8;
    h[15] = body & 0xFF;
    memcpy(h + 16, &from->sin_addr, 4);
    memcpy(h + 20, &l->local.sin_addr, 4);
    memcpy(h + 24, &from->sin_port, 2);
    memcpy(h + 26, &l->local.sin_port, 2);
    h[28] = 0xEA;
    h[29] = (unsigned char)((1 + idlen) >> 8);
    h[30] = (unsigned char)((1 + idlen) & 0xFF);
    h[31] = 0x01;
    memcpy(h + 32, k->endpoint, idlen);
    size_t total = 16 + body;
    memcpy(k->client.buf, h, total); /* sent to the target before any client byte */
    k->client.len = total;
}

static int allowed(struct listener *l, struct sockaddr_in *from) {
    if (!l->rules) return 1;
    uint32_t ip = ntohl(from->sin_addr.s_addr);
    int port = ntohs(l->local.sin_port);
    for (int i = 0; i < l->rules; i++) {
        struct rule *r = &l->rule[i];
        if (port >= r->low && port <= r->high && (ip & r->mask) == r->net) return 1;
    }
    return 0;
}

static void reset_fd(int fd) {
    struct linger hard = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close(fd);
}

static void accept_on(struct listener *l) {
    for (;;) {
        struct sockaddr_in from;
        socklen_t size = sizeof from;
        int fd = accept4(l->fd, (struct sockaddr *)&from, &size, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; /* EAGAIN, or a connection that left meanwhile */
        struct group *g = l->group;
        struct meter *m = meter_of(l->endpoint);
        if (!g->count || !allowed(l, &from)) {
            m->errors++;
            reset_fd(fd);
            continue;
        }
        struct sockaddr_in *to = &g->targets[g->next++ % (unsigned)g->count];
        int up = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (up < 0) {
            reset_fd(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int rc = connect(up, (struct sockaddr *)to, sizeof *to);
        if (rc < 0 && errno != EINPROGRESS) {
            reset_fd(fd);
            close(up);
            continue;
        }
        struct conn *k = calloc(1, sizeof *k);
        k->client = (struct side){SIDE, fd, k, malloc(BUF), 0, 0, 0, 0, 1, 0};
        k->upstream = (struct side){SIDE, up, k, malloc(BUF), 0, 0, 0, 0, 1, 0};
        memcpy(k->endpoint, l->endpoint, ID);
        k->meter = m;
        m->total++;
        k->deadline = now_ms() + CONNECT_TIMEOUT_MS;
        k->next = conns;
        if (conns) conns->prev = k;
        conns = k;
        connecting++;
        if (l->pp2) pp2_header(k, l, &from);
        watch(&k->client);
        watch(&k->upstream);
    }
}

static void on_side(struct side *s, uint32_t events) {
    struct conn *k = s->conn;
    if (k->dead) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s->readable = 1;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s->closing = 1;
    if (!k->connected && s == &k->upstream) {
        if (events & (EPOLLERR | EPOLLHUP)) { /* refused or unreachable */
            k->meter->errors++;
            drop(k, 1);
            return;
        }
        if (!(events & EPOLLOUT)) return;
        k->connected = 1;
        connecting--;
    }
    if (flow(k, &k->client, &k->upstream) < 0 || flow(k, &k->upstream, &k->client) < 0) {
        k->meter->errors++;
        drop(k, 1);
        return;
    }
    if (k->client.passed_eof && k->upstream.passed_eof) drop(k, 0); /* both said all */
}

static void expire(long long now) {
    if (!connecting) return;
    for (struct conn *k = conns, *next; k; k = next) {
        next = k->next;
        if (!k->connected && k->deadline <= now) {
            k->meter->errors++; /* the target did not answer in time */
            drop(k, 1);
        }
    }
}

/* -- the control channel -------------------------------------------------- */

static char packet[PACKET + 1], reply[REPLY];

static void answer(const char *text) { send(channel_fd, text, strlen(text), MSG_NOSIGNAL); }

static void refuse(int error, const char *why) {
    snprintf(reply, sizeof reply, "ERR\t%d\t%s", error, why);
    answer(reply);
}

static struct listener **find_listener(struct sockaddr_in *at) {
    struct listener **p = &listeners;
    for (; *p; p = &(*p)->next)
        if ((*p)->local.sin_addr.s_addr == at->sin_addr.s_addr && (*p)->local.sin_port == at->sin_port)
            return p;
    return p;
}

static void close_listener(struct listener **p) {
    struct listener *l = *p;
    *p = l->next;
    close(l->fd);
    l->dead = 1;
    l->next = dead_listeners;
    dead_listeners = l;
}

static void on_listen(char **f, int n, int fd) {
    struct sockaddr_in at;
    if (n < 7 || fd < 0 || parse_addr(f[1], atoi(f[2]), &at) < 0) {
        if (fd >= 0) close(fd);
        refuse(EINVAL, "listen: addr port endpoint group pp2 rules, with a socket");
        return;
    }
    struct listener **p = find_listener(&at);
    if (*p) close_listener(p);
    struct listener *l = calloc(1, sizeof *l);
    l->kind = LISTENER;
    l->fd = fd;
    l->local = at;
    snprintf(l->endpoint, ID, "%s", f[3]);
    l->group = group_of(f[4]);
    l->pp2 = atoi(f[5]);
    for (char *r = f[6]; *r; r++) l->rules += *r == ';';
    l->rules += *f[6] != 0;
    l->rule = calloc((size_t)l->rules + 1, sizeof *l->rule);
    int i = 0;
    for (char *save = NULL, *item = strtok_r(f[6], ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char cidr[64];
        int low, high, bits = 32;
        if (sscanf(item, "%63[^,],%d,%d", cidr, &low, &high) != 3) continue;
        char *slash = strchr(cidr, '/');
        if (slash) {
            *slash = 0;
            bits = atoi(slash + 1);
        }
        struct in_addr net;
        if (inet_pton(AF_INET, cidr, &net) != 1) continue;
        uint32_t mask = bits <= 0 ? 0 : 0xFFFFFFFFu << (32 - bits);
        l->rule[i++] = (struct rule){ntohl(net.s_addr) & mask, mask, low, high};
    }
    l->rules = i;
    l->next = listeners;
    listeners = l;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = l};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    accept_on(l); /* anything that queued before we watched it */
    answer("OK");
}

static void on_stop(char **f, int n) {
    struct sockaddr_in at;
    if (n >= 3 && parse_addr(f[1], atoi(f[2]), &at) == 0) {
        struct listener **p = find_listener(&at);
        if (*p) close_listener(p);
    }
    answer("OK");
}

static void on_targets(char **f, int n) {
    static char none[1];
    for (int i = 1; i < n; i += 2) {
        struct group *g = group_of(f[i]);
        char *list = i + 1 < n ? f[i + 1] : none;
        int count = *list != 0;
        for (const char *p = list; *p; p++) count += *p == ',';
        struct sockaddr_in *targets = calloc((size_t)count + 1, sizeof *targets);
        int j = 0;
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char *colon = strrchr(t, ':');
            if (!colon) continue;
            *colon = 0;
            if (parse_addr(t, atoi(colon + 1), &targets[j]) == 0) j++;
        }
        free(g->targets);
        g->targets = targets;
        g->count = j;
    }
    answer("OK");
}

/* A string -> count table for one message: endpoints kept, connections per endpoint. */
struct tally {
    const char **keys;
    long *counts;
    size_t size;
};

static long *tally_slot(struct tally *t, const char *key, int insert) {
    for (size_t i = hash(key) % t->size;; i = (i + 1) % t->size) {
        if (!t->keys[i]) {
            if (!insert) return NULL;
            t->keys[i] = key;
            return &t->counts[i];
        }
        if (strcmp(t->keys[i], key) == 0) return &t->counts[i];
    }
}

static struct tally tally_new(size_t entries) {
    size_t size = entries * 2 + 16;
    return (struct tally){calloc(size, sizeof(char *)), calloc(size, sizeof(long)), size};
}

static size_t add(size_t at, const char *endpoint, long value) {
    int w = snprintf(reply + at, sizeof reply - at, "\t%s=%ld", endpoint, value);
    return w > 0 && (size_t)w < sizeof reply - at ? at + (size_t)w : at;
}

/* Connections per endpoint, of the endpoints in `only` (all if NULL); with `end`, those
 * connections are reset. Written to the reply from `at`. */
static size_t count_into(size_t at, struct tally *only, int end) {
    size_t live = 0;
    for (struct conn *k = conns; k; k = k->next) live++;
    struct tally seen = tally_new(live);
    for (struct conn *k = conns, *next; k; k = next) {
        next = k->next;
        if (only && !tally_slot(only, k->endpoint, 0)) continue;
        long *count = tally_slot(&seen, k->endpoint, 1);
        (*count)++;
        if (end) drop(k, 1);
    }
    for (size_t i = 0; i < seen.size; i++)
        if (seen.keys[i]) at = add(at, seen.keys[i], seen.counts[i]);
    free(seen.keys);
    free(seen.counts);
    return at;
}

static struct tally listed(char **f, int n) {
    struct tally set = tally_new((size_t)n);
    for (int i = 1; i < n; i++) *tally_slot(&set, f[i], 1) = 1;
    return set;
}

static void on_end(char **f, int n) {
    struct tally ending = listed(f, n);
    strcpy(reply, "OK");
    count_into(2, &ending, 1);
    free(ending.keys);
    free(ending.counts);
    answer(reply);
}

static void on_stats(char **f, int n) {
    long buffered = 0;
    for (struct conn *k = conns; k; k = k->next)
        buffered += (long)(k->client.len - k->client.off + k->upstream.len - k->upstream.off);
    int at = snprintf(reply, sizeof reply, "OK\t%ld", buffered);
    struct tally only = listed(f, n);
    count_into((size_t)at, n > 1 ? &only : NULL, 0);
    free(only.keys);
    free(only.counts);
    answer(reply);
}

static void on_meters(char **f, int n) {
    strcpy(reply, "OK");
    size_t at = 2;
    for (int i = 0; i < METER_BUCKETS; i++)
        for (struct meter *m = meters[i]; m; m = m->chain) {
            int wanted = n <= 1;
            for (int j = 1; j < n && !wanted; j++) wanted = strcmp(f[j], m->endpoint) == 0;
            if (!wanted) continue;
            int w = snprintf(reply + at, sizeof reply - at, "\t%s=%lld,%lld,%lld,%lld",
                             m->endpoint, m->in, m->out, m->total, m->errors);
            if (w <= 0 || (size_t)w >= sizeof reply - at) goto done;
            at += (size_t)w;
        }
done:
    answer(reply);
}

static int on_channel(void) {
    for (;;) {
        char control[CMSG_SPACE(sizeof(int) * 4)];
        struct iovec iov = {packet, PACKET};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                             .msg_controllen = sizeof control};
        ssize_t got = recvmsg(channel_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (got < 0) return errno == EAGAIN ? 0 : -1;
        if (got == 0) return -1; /* the server process ended */
        packet[got] = 0;
        int fd = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
        static char *f[PACKET / 16];
        int n = 0;
        for (char *p = packet; n < (int)(sizeof f / sizeof *f);) {
            f[n++] = p;
            char *tab = strchr(p, '\t');
            if (!tab) break;
            *tab = 0;
            p = tab + 1;
        }
        switch (packet[0]) {
        case 'L': on_listen(f, n, fd); break;
        case 'S': on_stop(f, n); break;
        case 'T': on_targets(f, n); break;
        case 'E': on_end(f, n); break;
        case 'Q': on_stats(f, n); break;
        case 'B': on_meters(f, n); break;
        default:
            if (fd >= 0) close(fd);
            refuse(EINVAL, "unknown message");
        }
    }
}

int main(int argc, char **argv) {
    channel_fd = argc > 1 ? atoi(argv[1]) : 3;
    /* Buffers come and go with connections: keep freed ones in the heap rather than
     * giving memory back to the system (and asking for it again) every time. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the group; the server process ends us */
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &channel_kind};
    epoll_ctl(epfd, EPOLL_CTL_ADD, channel_fd, &ev);
    struct epoll_event events[256];
    long long next_expiry = now_ms() + 500;
    for (;;) {
        int ready = epoll_wait(epfd, events, 256, connecting ? 100 : 1000);
        for (int i = 0; i < ready; i++) {
            enum kind *what = events[i].data.ptr;
            if (*what == CHANNEL) {
                if (on_channel() < 0) return 0;
            } else if (*what == LISTENER) {
                if (!((struct listener *)what)->dead) accept_on((struct listener *)what);
            } else {
                on_side((struct side *)what, events[i].events);
            }
        }
        bury();
        if (connecting) {
            long long now = now_ms();
            if (now >= next_expiry) {
                expire(now);
                bury();
                next_expiry = now + 100;
            }
        }
    }
}
