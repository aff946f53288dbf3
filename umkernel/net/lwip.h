// lwIP's headers, in one place (Debian's liblwip-dev: the include directory carries the
// lwipopts.h the library was built with, so struct layouts agree).
#pragma once
// lwipopts.h declares the core-lock functions without C linkage of its own.
extern "C" {
#include <lwipopts.h>
}
#include <lwip/init.h>
#include <lwip/ip.h>
#include <lwip/ip_addr.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/raw.h>
#include <lwip/tcp.h>
#include <lwip/tcpip.h>
#include <lwip/udp.h>
#include <lwip/etharp.h>
#include <lwip/ethip6.h>
#include <lwip/priv/tcp_priv.h>  // tcp_recv_null, TCP_SLOW_INTERVAL
#include <netif/ethernet.h>
