// SPDX-License-Identifier: GPL-2.0-or-later
/* bench-nodelay.so: LD_PRELOAD shim setting TCP_NODELAY on every TCP socket a process connects. */

/*
 * Only for make bench-daemon's third run: Paho MQTT C 1.3.12 never sets
 * TCP_NODELAY on its broker socket, so a small publish written while an
 * earlier segment is still unacknowledged waits for the broker's delayed
 * ACK (daemon/mqtt.c now sets it itself). Running the daemon once with this
 * shim checks that nothing is left to gain.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	static int (*real_connect)(int, const struct sockaddr *, socklen_t);
	int one = 1;

	if (!real_connect)
		real_connect = (int (*)(int, const struct sockaddr *, socklen_t))
			dlsym(RTLD_NEXT, "connect");
	if (!real_connect)
		return -1;
	if (addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6))
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return real_connect(fd, addr, len);
}
