// frame_fuzz IFNAME DSTMAC DSTIP COUNT SEED: sends COUNT random Ethernet frames out of IFNAME
// through an AF_PACKET socket: mostly IPv4 to DSTIP (headers close to valid, with lengths,
// options, fragments, protocols and checksums gone wrong), some ARP, IPv6 and junk types.
// The machine at DSTMAC must survive them. Prints how many frames were sent.
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t state;
static uint32_t rnd(void) {  // xorshift: the same frames for the same seed
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

static uint16_t csum(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) s += (uint32_t)(p[n - 1] << 8);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: frame_fuzz IFNAME DSTMAC DSTIP COUNT SEED\n");
    return 2;
  }
  unsigned mac[6];
  uint8_t dst[6];
  if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) return 2;
  for (int i = 0; i < 6; i++) dst[i] = (uint8_t)mac[i];
  struct in_addr dip;
  if (inet_pton(AF_INET, argv[3], &dip) != 1) return 2;
  long count = atol(argv[4]);
  state = (uint32_t)atol(argv[5]) | 1;

  int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (s < 0) {
    perror("socket");
    return 1;
  }
  struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1]), .sll_halen = 6};
  memcpy(to.sll_addr, dst, 6);
  long sent = 0;
  for (long n = 0; n < count; n++) {
    uint8_t f[1514];
    size_t len = 14 + rnd() % 1500;
    for (size_t i = 0; i < len; i++) f[i] = (uint8_t)rnd();
    memcpy(f, (rnd() % 8) ? dst : (const uint8_t*)"\xff\xff\xff\xff\xff\xff", 6);
    f[6] = 0x02;  // a unicast source
    uint32_t kind = rnd() % 100;
    uint16_t type = kind < 75 ? ETH_P_IP : kind < 88 ? ETH_P_ARP : kind < 96 ? ETH_P_IPV6 : (uint16_t)rnd();
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
    if (type == ETH_P_IP && len >= 34) {
      uint8_t* ip = f + 14;
      size_t room = len - 14;
      ip[0] = (uint8_t)(0x40 | ((rnd() % 6) ? 5 : rnd() % 16));  // mostly no options
      uint16_t tot = (rnd() % 4) ? (uint16_t)room : (uint16_t)rnd();
      ip[2] = (uint8_t)(tot >> 8);
      ip[3] = (uint8_t)tot;
      if (rnd() % 3) ip[6] = ip[7] = 0;  // mostly not fragments
      static const uint8_t protos[] = {1, 6, 17, 2, 58};
      ip[9] = (rnd() % 5) ? protos[rnd() % 5] : (uint8_t)rnd();
      memcpy(ip + 16, &dip, 4);
      ip[10] = ip[11] = 0;
      if (rnd() % 5) {
        uint16_t c = csum(ip, (size_t)(ip[0] & 15) * 4 <= room ? (size_t)(ip[0] & 15) * 4 : 20);
        ip[10] = (uint8_t)(c >> 8);
        ip[11] = (uint8_t)c;
      }
      if (ip[9] == 6 && room >= 40 && (rnd() % 2)) {  // TCP to a listening port with odd flags
        ip[22] = 0;
        ip[23] = 80;
      }
    }
    if (sendto(s, f, len, 0, (struct sockaddr*)&to, sizeof to) == (ssize_t)len) sent++;
  }
  printf("sent %ld\n", sent);
  return 0;
}
