/* SPDX-License-Identifier: MIT */
/* The module's side: the table of display functions the daemon's loader calls. */
#include "drivers/display/display-module.h"

const struct display_module *f2fpay_display_module(void);

static const struct display_module module = {
	.size = sizeof(struct display_module),
	.version = F2FPAY_VERSION,
	.log_forward = log_set_forward,
	.set_new = display_set_new,
	.set_attach_event = display_set_attach_event,
	.set_size = display_set_size,
	.set_get = display_set_get,
	.set_show = display_set_show,
	.set_retry = display_set_retry,
	.set_next_retry_usec = display_set_next_retry_usec,
	.set_is_up = display_set_is_up,
	.set_trim = display_set_trim,
	.set_free = display_set_free,
	.is_up = display_is_up,
	.spec = display_spec,
};

const struct display_module *
f2fpay_display_module(void)
{
	return &module;
}
