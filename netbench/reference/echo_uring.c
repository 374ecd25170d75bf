// A reference echo server in C, for measuring rentio against the io_uring
// limit on the same machine (issue 17): multishot accept, multishot recv
// into a provided buffer ring of 512 x 16 KiB (as rentio-uring-mshot),
// each buffer sent straight back, SINGLE_ISSUER|DEFER_TASKRUN, one
// io_uring_submit_and_wait per loop. Not part of `cargo xtask bench` (it
// needs liburing); to compare by hand (Debian: apt-get install liburing-dev):
//
//   gcc -O2 -o target/release/server-c netbench/reference/echo_uring.c -luring
//   taskset -c 0 target/release/server-c echo 127.0.0.1:9000 &
//   taskset -c 1 target/release/loadgen 127.0.0.1:9000 echo --conns 128
//       --size 4096 --depth 1 --warmup 1 --duration 4 --server-pid $!
//   (one command line)
//
// Echo only; no error handling beyond closing a failed connection.
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#define NBUF 512
#define BSZ 16384
#define BGID 1
enum { ACCEPT = 1, RECV = 2, SEND = 3 };
struct sendop { int kind; int fd; int bid; int off; int len; };
static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static __u64 tag(int kind, int fd) { return ((__u64)kind << 32) | (unsigned)fd; }

static void arm_recv(int fd) {
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT; s->buf_group = BGID;
    io_uring_sqe_set_data64(s, tag(RECV, fd));
}
static void arm_accept(int lfd) {
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    io_uring_prep_multishot_accept(s, lfd, NULL, NULL, 0);
    io_uring_sqe_set_data64(s, tag(ACCEPT, lfd));
}
static void send_part(struct sendop *op) {
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    io_uring_prep_send(s, op->fd, bufs + (size_t)op->bid * BSZ + op->off, op->len - op->off, MSG_NOSIGNAL);
    io_uring_sqe_set_data(s, op);
}
static void give_back(int bid) {
    io_uring_buf_ring_add(br, bufs + (size_t)bid * BSZ, BSZ, bid, io_uring_buf_ring_mask(NBUF), 0);
    io_uring_buf_ring_advance(br, 1);
}
int main(int argc, char **argv) {
    char *mode = argv[1]; char *addr = argv[2];
    (void)mode;
    char host[64]; strncpy(host, addr, 63); char *colon = strrchr(host, ':'); *colon = 0;
    int port = atoi(colon + 1);
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN;
    if (io_uring_queue_init_params(1024, &ring, &p) < 0) { perror("init"); return 1; }
    posix_memalign((void **)&br, 4096, NBUF * sizeof(struct io_uring_buf));
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg = { .ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = BGID };
    if (io_uring_register_buf_ring(&ring, &reg, 0)) { perror("bufring"); return 1; }
    bufs = malloc((size_t)NBUF * BSZ);
    for (int i = 0; i < NBUF; i++) io_uring_buf_ring_add(br, bufs + (size_t)i * BSZ, BSZ, i, io_uring_buf_ring_mask(NBUF), i);
    io_uring_buf_ring_advance(br, NBUF);
    int lfd = socket(AF_INET, SOCK_STREAM, 0); int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, host, &sa.sin_addr);
    if (bind(lfd, (void *)&sa, sizeof sa) || listen(lfd, 1024)) { perror("bind"); return 1; }
    arm_accept(lfd);
    for (;;) {
        io_uring_submit_and_wait(&ring, 1);
        struct io_uring_cqe *c; unsigned head, n = 0;
        io_uring_for_each_cqe(&ring, head, c) {
            n++;
            __u64 ud = c->user_data;
            // Accepts and receives carry (kind << 32 | fd); a send carries
            // its heap struct, whose address is never below 3 << 32.
            if ((ud >> 32) == ACCEPT) {
                if (c->res >= 0) { setsockopt(c->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); arm_recv(c->res); }
                if (!(c->flags & IORING_CQE_F_MORE)) arm_accept(lfd);
            } else if ((ud >> 32) == RECV) {
                int fd = (int)(ud & 0xffffffff);
                if (c->res > 0) {
                    struct sendop *op = malloc(sizeof *op);
                    *op = (struct sendop){ SEND, fd, c->flags >> IORING_CQE_BUFFER_SHIFT, 0, c->res };
                    send_part(op);
                    if (!(c->flags & IORING_CQE_F_MORE)) arm_recv(fd);
                } else if (c->res == -ENOBUFS) { arm_recv(fd); }
                else { if (c->flags & IORING_CQE_F_BUFFER) give_back(c->flags >> IORING_CQE_BUFFER_SHIFT); close(fd); }
            } else {
                struct sendop *op = io_uring_cqe_get_data(c);
                if (c->res > 0 && op->off + c->res < op->len) { op->off += c->res; send_part(op); }
                else { give_back(op->bid); free(op); }
            }
        }
        io_uring_cq_advance(&ring, n);
    }
}
