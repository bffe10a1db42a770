/* SPDX-License-Identifier: MIT */
/* Gives memory back when the till goes idle (doc/performance.md "Memory"). */
#include <malloc.h>

#include "common/log.h"
#include "common/pages.h"
#include "daemon/manager-private.h"

/*
 * Called once per return to idle, never on an order's path: the idle screen is drawn at idle
 * priority after the order's last screen, and without a display the till is idle once no order
 * is on show. The displays free the frames they keep between shows, and malloc_trim() returns
 * the free pages of the heap that start-up, the last frame and the last orders left. Then the
 * pages of every read-only file mapping leave the process (common/pages.h): the font files that
 * FreeType and HarfBuzz each keep mapped (about 3 MB with the default CJK font), the code and
 * constants of the libraries and of f2fpayd, 10 to 20 MB resident after an order, most of which
 * an idle till never runs; the next order maps back from the kernel's page cache what it runs.
 */
void
manager_memory_idle(struct manager *m)
{
	int frames = display_set_trim(m->s->display);
	int heap = malloc_trim(0);
	int files = pages_release_clean(NULL);

	log_debug("idle: %s frames, %s heap pages, %d file mappings released",
		  frames ? "released" : "no", heap ? "returned" : "no free", files);
}
