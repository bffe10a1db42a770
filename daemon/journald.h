/* SPDX-License-Identifier: MIT */
/*
 * Structured entries to journald over its native protocol, for the log layer's log_fields():
 * `journalctl -u f2fpayd ORDER=T01_20261206_4` lists one order's transitions.
 */
#pragma once

#include <stdbool.h>

/*
 * Installs the sink when stderr is connected to the journal ($JOURNAL_STREAM names it, as
 * systemd sets it for services) or $F2FPAY_JOURNAL_SOCKET names a socket to use instead of
 * /run/systemd/journal/socket. Returns true when installed.
 */
bool journald_sink_install(void);
