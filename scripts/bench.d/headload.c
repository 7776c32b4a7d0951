/* bench.d/headload.c : keep-alive HEAD load for scripts/bench row 7, shaped like wrk -tT -cC -dD
 * (wrk 4.1 cannot do HEAD: its parser waits for the body that Content-Length announces; ab -k needs
 * a Connection: keep-alive header in the response, which an HTTP/1.1 server need not send).
 *
 *   headload [-t THREADS] [-c CONNECTIONS] [-d SECONDS] [-H 'Name: value']... http://HOST:PORT/PATH
 *
 * HOST must be a numeric IPv4 address; HTTP/1.1 only, one request in flight per connection, each
 * response must be headers only (no bytes after the blank line). Prints wrk's summary lines
 * ("N requests in S s", "Requests/sec:", "50%", "Non-2xx or 3xx responses:", "Socket errors:") so
 * the same parser reads both. Build: cc -O2 -pthread -o headload headload.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 1024
#define BUF 16384
#define HIST_US 1000000 /* latency histogram: 1 µs buckets up to 1 s, the rest in the last one */

static struct sockaddr_in addr;
static char request[8192];
static size_t request_len;
static double deadline;

typedef struct {
    int fd;
    size_t sent, got;
    double start;
    char buf[BUF];
} conn;

typedef struct {
    int nconn;
    conn *c;
    uint64_t requests, non2xx, e_connect, e_read, e_write, e_timeout;
    uint32_t *hist;
} worker;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_one(conn *c) {
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->sent = c->got = 0;
    c->start = now();
    return 0;
}

static void reconnect(worker *w, conn *c) {
    if (c->fd >= 0) close(c->fd);
    while (connect_one(c) < 0) {
        w->e_connect++;
        if (now() >= deadline) return;
        usleep(1000);
    }
}

static void *run(void *arg) {
    worker *w = arg;
    struct pollfd *p = calloc(w->nconn, sizeof *p);
    for (int i = 0; i < w->nconn; i++) reconnect(w, &w->c[i]);
    while (now() < deadline) {
        for (int i = 0; i < w->nconn; i++) {
            p[i].fd = w->c[i].fd;
            p[i].events = w->c[i].sent < request_len ? POLLOUT : POLLIN;
        }
        if (poll(p, w->nconn, 100) < 0 && errno != EINTR) break;
        for (int i = 0; i < w->nconn; i++) {
            conn *c = &w->c[i];
            if (c->fd < 0) { reconnect(w, c); continue; }
            if (!p[i].revents) {
                if (now() - c->start > 10) { w->e_timeout++; reconnect(w, c); }
                continue;
            }
            if (c->sent < request_len) {
                ssize_t n = write(c->fd, request + c->sent, request_len - c->sent);
                if (n <= 0) { if (n < 0 && errno == EAGAIN) continue; w->e_write++; reconnect(w, c); continue; }
                c->sent += n;
                continue;
            }
            ssize_t n = read(c->fd, c->buf + c->got, BUF - 1 - c->got);
            if (n <= 0) { if (n < 0 && errno == EAGAIN) continue; w->e_read++; reconnect(w, c); continue; }
            size_t from = c->got > 3 ? c->got - 3 : 0;
            c->got += n;
            c->buf[c->got] = 0;
            char *end = memmem(c->buf + from, c->got - from, "\r\n\r\n", 4);
            if (!end) {
                if (c->got >= BUF - 1) { w->e_read++; reconnect(w, c); }
                continue;
            }
            double t = now();
            int status = 0;
            if (strncmp(c->buf, "HTTP/1.", 7) != 0 || sscanf(c->buf + 8, " %d", &status) != 1 ||
                (size_t)(end + 4 - c->buf) != c->got) {     /* not HTTP, or bytes after the headers */
                w->e_read++;
                reconnect(w, c);
                continue;
            }
            w->requests++;
            if (status < 200 || status > 399) w->non2xx++;
            uint64_t us = (uint64_t)((t - c->start) * 1e6);
            w->hist[us < HIST_US ? us : HIST_US - 1]++;
            *end = 0;
            if (strcasestr(c->buf, "\r\nconnection: close")) { reconnect(w, c); continue; }
            c->sent = c->got = 0;
            c->start = t;
            ssize_t m = write(c->fd, request, request_len);    /* the next one at once (small, fits) */
            if (m < 0) { w->e_write++; reconnect(w, c); continue; }
            c->sent = m;
        }
    }
    for (int i = 0; i < w->nconn; i++) if (w->c[i].fd >= 0) close(w->c[i].fd);
    free(p);
    return NULL;
}

int main(int argc, char **argv) {
    int threads = 2, conns = 32, opt;
    double seconds = 10;
    char headers[4096] = "";
    while ((opt = getopt(argc, argv, "t:c:d:H:")) != -1) {
        switch (opt) {
        case 't': threads = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'H':
            if (strlen(headers) + strlen(optarg) + 3 >= sizeof headers) { fprintf(stderr, "headers too long\n"); return 2; }
            strcat(headers, optarg);
            strcat(headers, "\r\n");
            break;
        default: goto usage;
        }
    }
    if (optind != argc - 1 || threads < 1 || conns < threads || conns > MAXCONN || seconds <= 0) goto usage;
    char host[256], path[4096] = "/";
    int port = 80;
    if (sscanf(argv[optind], "http://%255[0-9.]:%d%4095s", host, &port, path) < 2) goto usage;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) goto usage;
    request_len = snprintf(request, sizeof request, "HEAD %s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n", path, host, port, headers);
    if (request_len >= sizeof request) { fprintf(stderr, "request too long\n"); return 2; }

    worker *w = calloc(threads, sizeof *w);
    pthread_t *tid = calloc(threads, sizeof *tid);
    double t0 = now();
    deadline = t0 + seconds;
    for (int i = 0; i < threads; i++) {
        w[i].nconn = conns / threads + (i < conns % threads);
        w[i].c = calloc(w[i].nconn, sizeof(conn));
        for (int j = 0; j < w[i].nconn; j++) w[i].c[j].fd = -1;
        w[i].hist = calloc(HIST_US, sizeof(uint32_t));
        pthread_create(&tid[i], NULL, run, &w[i]);
    }
    uint64_t req = 0, non2xx = 0, ec = 0, er = 0, ew = 0, et = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        req += w[i].requests; non2xx += w[i].non2xx;
        ec += w[i].e_connect; er += w[i].e_read; ew += w[i].e_write; et += w[i].e_timeout;
    }
    double elapsed = now() - t0;
    uint64_t seen = 0, p50 = 0;
    for (uint64_t us = 0; us < HIST_US && req; us++) {
        for (int i = 0; i < threads; i++) seen += w[i].hist[us];
        if (seen * 2 >= req) { p50 = us; break; }
    }
    printf("headload: HEAD %s, %d threads and %d connections\n", argv[optind], threads, conns);
    printf("  Latency Distribution\n     50%%   %.2fms\n", p50 / 1000.0);
    printf("  %llu requests in %.2fs\n", (unsigned long long)req, elapsed);
    if (ec || er || ew || et)
        printf("  Socket errors: connect %llu, read %llu, write %llu, timeout %llu\n", (unsigned long long)ec,
               (unsigned long long)er, (unsigned long long)ew, (unsigned long long)et);
    if (non2xx) printf("  Non-2xx or 3xx responses: %llu\n", (unsigned long long)non2xx);
    printf("Requests/sec: %.2f\n", req / elapsed);
    return 0;
usage:
    fprintf(stderr, "usage: headload [-t THREADS] [-c CONNECTIONS] [-d SECONDS] [-H 'Name: value']... http://IPV4:PORT/PATH\n");
    return 2;
}
