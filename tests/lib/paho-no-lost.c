// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fault injection for tests/it-mqtt-no-lost.sh, loaded with LD_PRELOAD into
 * gaitkeeperd: Paho never learns of the connectionLost callback, as when
 * Paho closes its socket without calling it (docs/reliability.md, "The
 * link"). Everything else is the real Paho; only the callback is withheld.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <MQTTAsync.h>

typedef int set_callbacks_fn(MQTTAsync, void *, MQTTAsync_connectionLost *,
			     MQTTAsync_messageArrived *, MQTTAsync_deliveryComplete *);

int MQTTAsync_setCallbacks(MQTTAsync handle, void *context, MQTTAsync_connectionLost *cl,
			   MQTTAsync_messageArrived *ma, MQTTAsync_deliveryComplete *dc)
{
	set_callbacks_fn *real = (set_callbacks_fn *)dlsym(RTLD_NEXT, "MQTTAsync_setCallbacks");

	if (!real)
		return MQTTASYNC_FAILURE;
	fprintf(stderr, "paho-no-lost: connectionLost withheld from Paho\n");
	return real(handle, context, NULL, ma, dc);
}
