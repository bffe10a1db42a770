/* SPDX-License-Identifier: MIT */
/*
 * Messages to the service manager (sd_notify's protocol: datagrams to $NOTIFY_SOCKET) that never
 * block the caller. sd_notify() blocks while the receiver's queue is full; these are sent without
 * waiting and, when the receiver is not reading, kept and sent once it reads again: a newer
 * STATUS= replaces an older one still waiting, other messages (READY=1, RELOADING=1, STOPPING=1,
 * WATCHDOG=1) wait in order. Nothing waits when no manager listens.
 */
#pragma once

#include <systemd/sd-event.h>

#include "common/macro.h"

/* Sends (or queues) one message, "KEY=VALUE\n..." as for sd_notify(). Never blocks. */
void service_notify(const char *fmt, ...) _printf_(1, 2);

/* From now on waiting messages are sent from `event`'s loop when the receiver reads again. */
int service_notify_attach(sd_event *event);

/* Drops waiting messages, closes the socket. */
void service_notify_detach(void);

/* Waiting messages (tests). */
unsigned service_notify_pending(void);
