/*
 * loadgen: the WebSocket load generator of the ironsock benchmarks.
 *
 * One epoll loop, no WebSocket library. Client frames are encoded (and masked, RFC 6455 §5.3)
 * once at start-up and then written from a pre-built buffer; the server's echoes are parsed only
 * as far as needed to count frames and bytes (§5.2 header, no payload inspection). The same
 * binary drives every server under test, so its cost is the same for all of them; it reports
 * its own CPU time so a result can be discarded when the generator was the bottleneck.
 *
 * Modes (first argument):
 *   echo   N connections, each keeping a window of W messages in flight; counts echoed
 *          messages and bytes in the measurement window and records round-trip times.
 *   storm  C concurrent slots doing full cycles: TCP connect, upgrade (Accept checked),
 *          client Close, wait for the server's Close and its TCP close, then reset (so no
 *          TIME_WAIT entries pile up on the server's side); with -F the client closes its side
 *          normally instead (FIN), as a real client does, and the TIME_WAIT entries stay.
 *   idle   open N connections and hold them; on the stdin line "check" every connection sends
 *          one message and the number echoed is reported; exits on "quit" or stdin EOF.
 *   bcast  open N connections; report when every connection has received message k
 *          (k = 1..R), with CLOCK_MONOTONIC timestamps (the same clock as Node's hrtime).
 *
 * Options: -p port (required) -c connections -s payload bytes -w window -d measure ms
 *          -W warm-up ms -r (raw TCP: no handshake, no framing; a "message" is s bytes)
 *          -k concurrency (storm slots / handshakes in flight) -R rounds (bcast)
 *          -F (storm: end each cycle with a normal close instead of a reset)
 *
 * Output: lines on stdout. "PHASE measure" when the measurement window opens, "PHASE end" when
 * it closes, "PHASE connected <n>" (idle, bcast), "ROUND <k> <last_ns> <first_ns>" (bcast) and
 * finally "RESULT {json}". Errors go to stderr; the exit code is 0 only when no error occurred.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { M_ECHO, M_STORM, M_IDLE, M_BCAST };
enum { S_FREE, S_CONNECTING, S_HANDSHAKE, S_OPEN, S_CLOSE_SENT, S_WAIT_EOF, S_RAW_RT };

/* RFC 6455 §1.3 example key and its accept value. */
static const char *KEY = "dGhlIHNhbXBsZSBub25jZQ==";
static const char *ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

typedef struct {
  int fd;
  int state;
  int hs_sent;
  int hs_len;
  char hs[1024];
  uint64_t to_send;  /* bytes queued, not yet written */
  uint64_t send_pos; /* position in the periodic frame stream (mod frame_len) */
  uint8_t hdr[14];
  int hdr_len;
  uint64_t payload_left;
  uint64_t msg_bytes;
  uint8_t op;
  uint8_t fin;
  uint8_t got_close;
  uint8_t pong_pending; /* a ping arrived: answer with a pong between our own frames */
  uint8_t ctl_len;
  uint8_t ctl[125]; /* payload of the control frame being read (a ping's is echoed) */
  uint64_t raw_acc;
  uint64_t *ts; /* ring of send times for in-flight messages */
  int ts_head, ts_count;
  uint32_t received;
  uint64_t deadline;
} conn_t;

static int mode, raw, fin_close, port = 0, nconns = 1, window = 1, concurrency = 64, rounds = 5;
static uint64_t size = 16, measure_ms = 2000, warm_ms = 500;
static int ep;
static conn_t *conns;
static uint8_t *batch;
static uint64_t frame_len;
static char request[512];
static int request_len;
static struct sockaddr_in addr;

static int measuring;
static uint64_t msgs, bytes, errors, cycles, opened;
static uint64_t *bcast_count;
static uint64_t *bcast_first;
static uint32_t bcast_done;

/* Log-linear latency histogram: 32 sub-buckets per power of two (about 3% resolution). */
#define HBUCKETS (64 * 32)
static uint64_t hist[HBUCKETS];
static uint64_t hist_n;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t cpu_ns(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (uint64_t)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000000ull +
         (uint64_t)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1000ull;
}

static int bucket_of(uint64_t v) {
  if (v < 32) return (int)v;
  int msb = 63 - __builtin_clzll(v);
  return ((msb - 4) << 5) | (int)((v >> (msb - 5)) & 31);
}

static uint64_t bucket_value(int b) {
  if (b < 32) return (uint64_t)b;
  int msb = (b >> 5) + 4;
  return ((uint64_t)(32 | (b & 31)) << (msb - 5)) + ((1ull << (msb - 5)) >> 1);
}

static void record(uint64_t v) {
  int b = bucket_of(v);
  if (b >= HBUCKETS) b = HBUCKETS - 1;
  hist[b]++;
  hist_n++;
}

static uint64_t percentile(double p) {
  if (hist_n == 0) return 0;
  uint64_t want = (uint64_t)(p * (double)hist_n);
  if (want >= hist_n) want = hist_n - 1;
  uint64_t seen = 0;
  for (int b = 0; b < HBUCKETS; b++) {
    seen += hist[b];
    if (seen > want) return bucket_value(b);
  }
  return 0;
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void start_conn(conn_t *c) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  set_nonblock(fd);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint64_t *ts = c->ts;
  memset(c, 0, sizeof *c);
  c->ts = ts;
  c->fd = fd;
  c->state = S_CONNECTING;
  c->deadline = now_ns() + 10000000000ull;
  if (mode == M_STORM && addr.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
    /* Rotate the source over 127.0.0.2-127.0.0.251 so that a new connection never reuses the
     * 4-tuple of a recent one that the server may still hold (a server whose close is
     * interrupted keeps TIME_WAIT entries); the port is still chosen at connect time
     * (IP_BIND_ADDRESS_NO_PORT). */
    static uint32_t next_source = 0;
    struct sockaddr_in source = {.sin_family = AF_INET};
    source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + (next_source++ % 250));
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&source, sizeof source) < 0) die("bind");
  }
  int r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  if (r < 0 && errno != EINPROGRESS) die("connect");
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
}

static void close_conn(conn_t *c, int reset) {
  if (c->fd < 0) return;
  if (reset) {
    struct linger l = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  c->state = S_FREE;
}

static void fail(conn_t *c, const char *why) {
  errors++;
  if (errors <= 5) fprintf(stderr, "loadgen: %s\n", why);
  close_conn(c, 1);
}

/* Queues one more message on `c` and remembers when (for the round-trip time). */
static void queue_message(conn_t *c, uint64_t t) {
  c->to_send += frame_len;
  if (c->ts_count < window) {
    c->ts[(c->ts_head + c->ts_count) % window] = t;
    c->ts_count++;
  }
}

static void on_message(conn_t *c, uint64_t len, uint64_t t) {
  c->received++;
  if (mode == M_ECHO || mode == M_IDLE) {
    if (c->ts_count > 0) {
      uint64_t sent = c->ts[c->ts_head];
      c->ts_head = (c->ts_head + 1) % window;
      c->ts_count--;
      if (measuring) record(t - sent);
    }
    if (measuring) {
      msgs++;
      bytes += len;
    }
    if (mode == M_ECHO) queue_message(c, t);
  } else if (mode == M_BCAST) {
    uint32_t k = c->received;
    if (k <= (uint32_t)rounds) {
      if (bcast_count[k] == 0) bcast_first[k] = t;
      if (++bcast_count[k] == (uint64_t)nconns) {
        printf("ROUND %u %llu %llu\n", k, (unsigned long long)t, (unsigned long long)bcast_first[k]);
        fflush(stdout);
        bcast_done = k;
      }
    }
  }
}

/* Parses server frames (unmasked, §5.1) just enough to find message boundaries. */
static int feed(conn_t *c, const uint8_t *p, size_t n, uint64_t t) {
  if (raw) {
    c->raw_acc += n;
    while (c->raw_acc >= size) {
      c->raw_acc -= size;
      on_message(c, size, t);
    }
    return 0;
  }
  size_t i = 0;
  while (i < n) {
    if (c->payload_left > 0) {
      uint64_t take = n - i < c->payload_left ? n - i : c->payload_left;
      if (c->op >= 8 && c->ctl_len + take <= sizeof c->ctl) {
        memcpy(c->ctl + c->ctl_len, p + i, take);
        c->ctl_len += (uint8_t)take;
      }
      c->payload_left -= take;
      i += take;
      if (c->payload_left > 0) break;
    } else {
      c->hdr[c->hdr_len++] = p[i++];
      if (c->hdr_len < 2) continue;
      if (c->hdr[1] & 0x80) return -1; /* a server MUST NOT mask (§5.1) */
      int l7 = c->hdr[1] & 0x7f;
      int need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
      if (c->hdr_len < need) continue;
      uint64_t len = l7;
      if (l7 == 126) len = ((uint64_t)c->hdr[2] << 8) | c->hdr[3];
      if (l7 == 127) {
        len = 0;
        for (int j = 2; j < 10; j++) len = (len << 8) | c->hdr[j];
      }
      c->op = c->hdr[0] & 0x0f;
      c->fin = c->hdr[0] & 0x80;
      c->hdr_len = 0;
      c->payload_left = len;
      if (c->op >= 8) c->ctl_len = 0;
      if (c->op < 8) c->msg_bytes += len;
      if (len > 0) continue;
    }
    /* frame complete */
    if (c->op == 8) {
      c->got_close = 1;
    } else if (c->op == 9) {
      /* §5.5.2: a Ping is answered with a Pong carrying the same payload (servers ping idle
       * connections to keep proxies open and find dead peers; one pending pong is enough,
       * §5.5.3). Written by send_pong() from do_write. */
      c->pong_pending = 1;
    } else if (c->op < 8 && c->fin) {
      uint64_t len = c->msg_bytes;
      c->msg_bytes = 0;
      on_message(c, len, t);
    }
  }
  return 0;
}

/* Writes the pending Pong, only between two of our own frames (send_pos 0): inside a partly
 * written frame it would corrupt the stream. */
static void send_pong(conn_t *c) {
  if (!c->pong_pending || c->send_pos != 0 || c->fd < 0) return;
  uint8_t f[6 + sizeof c->ctl];
  size_t n = c->ctl_len;
  f[0] = 0x8a;
  f[1] = (uint8_t)(0x80 | n);
  memcpy(f + 2, MASK, 4);
  for (size_t j = 0; j < n; j++) f[6 + j] = c->ctl[j] ^ MASK[j & 3];
  ssize_t w = write(c->fd, f, 6 + n);
  if (w < 0 && errno == EAGAIN) return;
  if (w != (ssize_t)(6 + n)) {
    fail(c, "pong write failed");
    return;
  }
  c->pong_pending = 0;
}

static void do_write(conn_t *c) {
  send_pong(c);
  while (c->to_send > 0 && c->fd >= 0) {
    uint64_t n = c->to_send < (1u << 20) ? c->to_send : (1u << 20);
    ssize_t r = write(c->fd, batch + c->send_pos, n);
    if (r < 0) {
      if (errno == EAGAIN) return;
      fail(c, "write failed");
      return;
    }
    c->to_send -= (uint64_t)r;
    c->send_pos = (c->send_pos + (uint64_t)r) % frame_len;
  }
  send_pong(c);
}

static int check_response(conn_t *c, int head_len) {
  if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0) return -1;
  const char *p = c->hs;
  const char *end = c->hs + head_len;
  while (p < end) {
    const char *line = memchr(p, '\n', (size_t)(end - p));
    if (line == NULL) break;
    p = line + 1;
    if (end - p > 21 && strncasecmp(p, "sec-websocket-accept:", 21) == 0) {
      const char *v = p + 21;
      while (*v == ' ' || *v == '\t') v++;
      return strncmp(v, ACCEPT, 28) == 0 && (v[28] == '\r' || v[28] == ' ') ? 0 : -1;
    }
  }
  return -1;
}

static uint8_t rbuf[1 << 18];

static void on_open(conn_t *c);

/* Reads until EAGAIN. Returns 1 on EOF, -1 on error, 0 otherwise. */
static int do_read(conn_t *c) {
  for (;;) {
    ssize_t r = read(c->fd, rbuf, sizeof rbuf);
    if (r == 0) return 1;
    if (r < 0) return errno == EAGAIN ? 0 : -1;
    uint64_t t = now_ns();
    const uint8_t *p = rbuf;
    size_t n = (size_t)r;
    if (c->state == S_HANDSHAKE) {
      size_t room = sizeof c->hs - 1 - (size_t)c->hs_len;
      size_t take = n < room ? n : room;
      memcpy(c->hs + c->hs_len, p, take);
      int old = c->hs_len;
      c->hs_len += (int)take;
      c->hs[c->hs_len] = 0;
      char *e = strstr(c->hs, "\r\n\r\n");
      if (e == NULL) {
        if (c->hs_len >= (int)sizeof c->hs - 1) return -1;
        continue;
      }
      int head_len = (int)(e + 4 - c->hs);
      if (check_response(c, head_len) < 0) return -2;
      p += head_len - old;
      n -= (size_t)(head_len - old);
      on_open(c);
      if (c->fd < 0) return 0;
    }
    if (c->state == S_RAW_RT) {
      c->raw_acc += n;
      if (c->raw_acc >= size) {
        cycles += measuring;
        close_conn(c, !fin_close);
        return 0;
      }
      continue;
    }
    if (feed(c, p, n, t) < 0) return -1;
  }
}

static uint8_t close_frame[8];

static void on_open(conn_t *c) {
  c->state = S_OPEN;
  opened++;
  if (mode == M_STORM) {
    /* Client Close 1000 (§5.5.1), masked. */
    ssize_t w = write(c->fd, close_frame, sizeof close_frame);
    if (w != (ssize_t)sizeof close_frame) {
      fail(c, "close write failed");
      return;
    }
    c->state = S_CLOSE_SENT;
  }
}

static void handle(conn_t *c, uint32_t events) {
  if (c->fd < 0) return;
  if (c->state == S_CONNECTING) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail(c, "connect failed");
      return;
    }
    if (raw) {
      if (mode == M_STORM) {
        if (write(c->fd, batch, size) != (ssize_t)size) {
          fail(c, "write failed");
          return;
        }
        c->state = S_RAW_RT;
      } else {
        c->state = S_OPEN;
        opened++;
      }
    } else {
      ssize_t w = write(c->fd, request, (size_t)request_len);
      if (w != request_len) {
        fail(c, "request write failed");
        return;
      }
      c->state = S_HANDSHAKE;
    }
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    int r = do_read(c);
    if (c->fd < 0) return;
    if (r == -2) {
      fail(c, "bad handshake response (status or Sec-WebSocket-Accept)");
      return;
    }
    if (r < 0) {
      fail(c, "read failed or protocol error");
      return;
    }
    if (mode == M_STORM && c->state == S_CLOSE_SENT && c->got_close) c->state = S_WAIT_EOF;
    if (r == 1) {
      if (mode == M_STORM && c->state == S_WAIT_EOF) {
        cycles += measuring;
        /* Both Close frames are exchanged and the server has closed TCP first (§7.1.1): the
         * cycle is complete. Reset rather than FIN, so the server's socket ends at once instead
         * of in TIME_WAIT: tens of thousands of TIME_WAIT entries from earlier cycles slow the
         * kernel down by a third and would penalise whichever server is measured later. With -F
         * the client closes normally, as a browser does (the rotating source address keeps
         * 4-tuples from colliding with the TIME_WAIT entries). */
        close_conn(c, !fin_close);
      } else {
        fail(c, "server closed the connection");
      }
      return;
    }
    if (c->got_close && mode != M_STORM) {
      fail(c, "server sent a Close frame");
      return;
    }
  }
  if (c->state == S_OPEN) do_write(c);
}

static int loop_once(int timeout_ms) {
  static struct epoll_event evs[1024];
  int n = epoll_wait(ep, evs, 1024, timeout_ms);
  if (n < 0 && errno != EINTR) die("epoll_wait");
  for (int i = 0; i < n; i++) handle(evs[i].data.ptr, evs[i].events);
  return n;
}

/* Opens every connection, at most `concurrency` connects/handshakes in flight. */
static void establish(void) {
  int started = 0;
  uint64_t give_up = now_ns() + 60000000000ull;
  while (opened + errors < (uint64_t)nconns) {
    while (started < nconns && (uint64_t)started - opened - errors < (uint64_t)concurrency) {
      start_conn(&conns[started]);
      started++;
    }
    loop_once(5);
    if (now_ns() > give_up) {
      fprintf(stderr, "loadgen: gave up connecting (%llu open)\n", (unsigned long long)opened);
      break;
    }
  }
}

static void print_result(uint64_t wall_ns, uint64_t cpu) {
  double secs = (double)wall_ns / 1e9;
  printf("RESULT {\"mode\":\"%s\",\"connections\":%d,\"opened\":%llu,\"size\":%llu,\"window\":%d,"
         "\"seconds\":%.4f,\"messages\":%llu,\"bytes\":%llu,\"msgsPerSec\":%.1f,\"mbPerSec\":%.3f,"
         "\"cycles\":%llu,\"cyclesPerSec\":%.1f,\"p50us\":%.2f,\"p99us\":%.2f,\"samples\":%llu,"
         "\"errors\":%llu,\"cpuShare\":%.4f}\n",
         mode == M_ECHO ? "echo" : mode == M_STORM ? "storm" : mode == M_IDLE ? "idle" : "bcast",
         nconns, (unsigned long long)opened, (unsigned long long)size, window, secs,
         (unsigned long long)msgs, (unsigned long long)bytes, (double)msgs / secs,
         (double)bytes / secs / 1e6, (unsigned long long)cycles, (double)cycles / secs,
         (double)percentile(0.5) / 1e3, (double)percentile(0.99) / 1e3, (unsigned long long)hist_n,
         (unsigned long long)errors, (double)cpu / (double)wall_ns);
  fflush(stdout);
}

static void run_echo(void) {
  establish();
  uint64_t t = now_ns();
  for (int i = 0; i < nconns; i++) {
    conn_t *c = &conns[i];
    if (c->fd < 0) continue;
    for (int j = 0; j < window; j++) queue_message(c, t);
    do_write(c);
  }
  uint64_t start = now_ns() + warm_ms * 1000000ull;
  while (now_ns() < start) loop_once(1);
  printf("PHASE measure\n");
  fflush(stdout);
  measuring = 1;
  uint64_t t0 = now_ns(), c0 = cpu_ns();
  uint64_t end = t0 + measure_ms * 1000000ull;
  while (now_ns() < end) loop_once(1);
  measuring = 0;
  uint64_t t1 = now_ns(), c1 = cpu_ns();
  printf("PHASE end\n");
  fflush(stdout);
  print_result(t1 - t0, c1 - c0);
}

static void run_storm(void) {
  /* nconns here is the number of concurrent slots. */
  for (int i = 0; i < nconns; i++) start_conn(&conns[i]);
  uint64_t t0 = 0, c0 = 0;
  uint64_t start = now_ns() + warm_ms * 1000000ull;
  uint64_t end = start + measure_ms * 1000000ull;
  for (;;) {
    loop_once(1);
    uint64_t t = now_ns();
    if (!measuring && t0 == 0 && t >= start) {
      measuring = 1;
      t0 = t;
      c0 = cpu_ns();
      printf("PHASE measure\n");
      fflush(stdout);
    }
    if (t >= end) break;
    for (int i = 0; i < nconns; i++) {
      conn_t *c = &conns[i];
      if (c->fd >= 0 && t > c->deadline) fail(c, "storm cycle timed out");
      if (c->fd < 0) start_conn(c);
    }
  }
  measuring = 0;
  uint64_t t1 = now_ns(), c1 = cpu_ns();
  printf("PHASE end\n");
  fflush(stdout);
  print_result(t1 - t0, c1 - c0);
}

static void run_idle(void) {
  establish();
  printf("PHASE connected %llu\n", (unsigned long long)opened);
  fflush(stdout);
  char line[64];
  for (;;) {
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    int pr = poll(&pfd, 1, 10);
    if (pr > 0) {
      if (fgets(line, sizeof line, stdin) == NULL) break;
      if (strncmp(line, "check", 5) == 0) {
        uint64_t t = now_ns();
        measuring = 1;
        for (int i = 0; i < nconns; i++) {
          if (conns[i].fd < 0) continue;
          queue_message(&conns[i], t);
          do_write(&conns[i]);
        }
        uint64_t give_up = t + 30000000000ull;
        while (msgs + errors < opened && now_ns() < give_up) loop_once(5);
        measuring = 0;
        print_result(now_ns() - t, 0);
      } else if (strncmp(line, "quit", 4) == 0) {
        break;
      }
    }
    loop_once(0);
  }
}

static void run_bcast(void) {
  establish();
  bcast_count = calloc((size_t)rounds + 2, sizeof *bcast_count);
  bcast_first = calloc((size_t)rounds + 2, sizeof *bcast_first);
  printf("PHASE connected %llu\n", (unsigned long long)opened);
  fflush(stdout);
  nconns = (int)opened;
  uint64_t t0 = now_ns(), c0 = cpu_ns();
  uint64_t last_progress = t0;
  uint32_t seen = 0;
  while (bcast_done < (uint32_t)rounds) {
    loop_once(5);
    if (bcast_done != seen) {
      seen = bcast_done;
      last_progress = now_ns();
    }
    if (now_ns() - last_progress > 60000000000ull) {
      fprintf(stderr, "loadgen: broadcast round %u never completed\n", seen + 1);
      errors++;
      break;
    }
  }
  print_result(now_ns() - t0, cpu_ns() - c0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: loadgen echo|storm|idle|bcast -p port [options]\n");
    return 64;
  }
  const char *m = argv[1];
  mode = !strcmp(m, "echo") ? M_ECHO : !strcmp(m, "storm") ? M_STORM : !strcmp(m, "idle") ? M_IDLE
         : !strcmp(m, "bcast") ? M_BCAST : -1;
  if (mode < 0) {
    fprintf(stderr, "loadgen: unknown mode %s\n", m);
    return 64;
  }
  int opt;
  optind = 2;
  while ((opt = getopt(argc, argv, "p:c:s:w:d:W:rFk:R:")) != -1) {
    switch (opt) {
      case 'p': port = atoi(optarg); break;
      case 'c': nconns = atoi(optarg); break;
      case 's': size = strtoull(optarg, NULL, 10); break;
      case 'w': window = atoi(optarg); break;
      case 'd': measure_ms = strtoull(optarg, NULL, 10); break;
      case 'W': warm_ms = strtoull(optarg, NULL, 10); break;
      case 'r': raw = 1; break;
      case 'F': fin_close = 1; break;
      case 'k': concurrency = atoi(optarg); break;
      case 'R': rounds = atoi(optarg); break;
      default: return 64;
    }
  }
  if (port <= 0 || nconns <= 0 || window <= 0 || size == 0) {
    fprintf(stderr, "loadgen: bad arguments\n");
    return 64;
  }
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  request_len = snprintf(request, sizeof request,
                         "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n",
                         port, KEY);
  /* Client Close frame: FIN + opcode 8, masked, payload = 1000 (§5.5.1, §7.4.1). */
  close_frame[0] = 0x88;
  close_frame[1] = 0x82;
  memcpy(close_frame + 2, MASK, 4);
  close_frame[6] = 0x03 ^ MASK[0];
  close_frame[7] = 0xe8 ^ MASK[1];

  /* One masked binary frame (or `size` raw bytes), repeated window+1 times. */
  uint64_t hlen = raw ? 0 : (size <= 125 ? 2 : size <= 0xffff ? 4 : 10) + 4;
  frame_len = hlen + size;
  int copies = window + 1;
  batch = malloc(frame_len * (uint64_t)copies);
  if (batch == NULL) die("malloc");
  uint8_t *f = batch;
  if (!raw) {
    f[0] = 0x82;
    int o = 2;
    if (size <= 125) {
      f[1] = 0x80 | (uint8_t)size;
    } else if (size <= 0xffff) {
      f[1] = 0x80 | 126;
      f[2] = (uint8_t)(size >> 8);
      f[3] = (uint8_t)size;
      o = 4;
    } else {
      f[1] = 0x80 | 127;
      for (int j = 0; j < 8; j++) f[2 + j] = (uint8_t)(size >> (56 - 8 * j));
      o = 10;
    }
    memcpy(f + o, MASK, 4);
  }
  for (uint64_t j = 0; j < size; j++) {
    uint8_t plain = (uint8_t)('a' + j % 26);
    f[hlen + j] = raw ? plain : plain ^ MASK[j & 3];
  }
  for (int j = 1; j < copies; j++) memcpy(batch + frame_len * (uint64_t)j, batch, frame_len);

  ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  conns = calloc((size_t)nconns, sizeof *conns);
  uint64_t *ts = calloc((size_t)nconns * (size_t)window, sizeof *ts);
  if (conns == NULL || ts == NULL) die("calloc");
  for (int i = 0; i < nconns; i++) conns[i].fd = -1;
  for (int i = 0; i < nconns; i++) conns[i].ts = ts + (size_t)i * (size_t)window;

  switch (mode) {
    case M_ECHO: run_echo(); break;
    case M_STORM: run_storm(); break;
    case M_IDLE: run_idle(); break;
    case M_BCAST: run_bcast(); break;
  }
  return errors == 0 ? 0 : 1;
}
