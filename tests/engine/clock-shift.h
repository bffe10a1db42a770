/* SPDX-License-Identifier: MIT */
/* Tests: a wall-clock step on demand for this process (clock-shift.c). */
#pragma once

#include <stdint.h>

/* From now on CLOCK_REALTIME, gettimeofday() and time() answer true time + usec. */
void clock_shift_set_usec(int64_t usec);
