/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One thread kept for jobs handed to it one at a time. A job that would otherwise start a thread
 * of its own (clone, a stack mapped and unmapped, the thread's malloc cache freed at its end)
 * pays none of that: the thread waits, blocked, between jobs. It starts with the first job and
 * every signal blocked (the loop's signals stay with the loop's thread). Each job runs off the
 * CPU of the thread that hands it, where the process may use another.
 */
struct worker;

typedef void (*worker_fn_t)(void *userdata);

int worker_new(struct worker **ret);

/* Hands fn(userdata) to the thread. -EBUSY while the last job has not been waited for. */
int worker_start(struct worker *w, worker_fn_t fn, void *userdata);

/* The CPU the thread is kept off (the one the last job was handed from), or -1 for none. */
int worker_cpu_kept_off(const struct worker *w);

/* Returns once the job handed last has run (at once if there is none). */
void worker_wait(struct worker *w);

/* Waits for the job, stops the thread and frees w. Returns NULL. */
struct worker *worker_free(struct worker *w);
