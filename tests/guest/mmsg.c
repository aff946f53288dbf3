// sendmmsg/recvmmsg over an AF_UNIX datagram pair and UDP on 127.0.0.1: several messages per
// call, msg_len filled in, MSG_WAITFORONE, a partial batch when the receiver has fewer, bad
// pointers. Prints facts only: the same natively and under umkernel.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void run(const char* name, int tx, int rx) {
  char bufs[4][32];
  struct iovec iov[4];
  struct mmsghdr msgs[4];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < 4; i++) {
    snprintf(bufs[i], sizeof bufs[i], "message %d%.*s", i, i, "xxxx");
    iov[i] = (struct iovec){bufs[i], strlen(bufs[i])};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = sendmmsg(tx, msgs, 3, 0);
  printf("%s sendmmsg 3: %d, lens %u %u %u\n", name, n, msgs[0].msg_len, msgs[1].msg_len, msgs[2].msg_len);
  char in[4][64];
  struct iovec riov[4];
  struct mmsghdr r[4];
  memset(r, 0, sizeof r);
  for (int i = 0; i < 4; i++) {
    riov[i] = (struct iovec){in[i], sizeof in[i]};
    r[i].msg_hdr.msg_iov = &riov[i];
    r[i].msg_hdr.msg_iovlen = 1;
  }
  n = recvmmsg(rx, r, 4, MSG_WAITFORONE, NULL);
  printf("%s recvmmsg 4 (3 there, WAITFORONE): %d", name, n);
  for (int i = 0; i < n; i++) printf(" [%.*s]", (int)r[i].msg_len, in[i]);
  printf("\n");
  n = recvmmsg(rx, r, 4, MSG_DONTWAIT, NULL);
  printf("%s recvmmsg on empty, DONTWAIT: %d %s\n", name, n, n < 0 ? strerror(errno) : "");
  n = sendmmsg(tx, (struct mmsghdr*)8, 2, 0);
  printf("%s sendmmsg bad vector: %d %s\n", name, n, n < 0 ? strerror(errno) : "");
  n = sendmmsg(tx, msgs, 0, 0);
  printf("%s sendmmsg 0 messages: %d\n", name, n);
}

int main(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  run("unix", sv[0], sv[1]);
  int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(b, (struct sockaddr*)&sin, sizeof sin);
  socklen_t len = sizeof sin;
  getsockname(b, (struct sockaddr*)&sin, &len);
  connect(a, (struct sockaddr*)&sin, sizeof sin);
  run("udp", a, b);
  return 0;
}
