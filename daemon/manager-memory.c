/* SPDX-License-Identifier: MIT */
/* Gives memory back when the till goes idle (doc/performance.md "Memory"). */
#include <malloc.h>

#include "common/log.h"
#include "daemon/manager-private.h"

/*
 * Called once per return to idle, never on an order's path: the idle screen is drawn at idle
 * priority after the order's last screen, and without a display the till is idle once no order
 * is on show. The pages of the font files that FreeType and HarfBuzz each keep mapped (about
 * 3 MB with the default CJK font) leave the process; the next frame maps again from the
 * kernel's page cache the few it reads. malloc_trim() returns the free pages of the heap that
 * start-up, the last frame and the last orders left.
 */
void
manager_memory_idle(struct manager *m)
{
	int fonts = display_set_trim(m->s->display);
	int heap = malloc_trim(0);

	log_debug("idle: %s frames and font pages, %s heap pages", fonts ? "released" : "no",
		  heap ? "returned" : "no free");
}
