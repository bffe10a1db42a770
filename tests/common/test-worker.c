/* SPDX-License-Identifier: MIT */
/* The kept worker thread: one job at a time, the same thread for every job, signals blocked. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/worker.h"
#include "test.h"

struct job {
	pthread_t ran_on;
	unsigned runs;
	bool term_blocked;
	/* held by the test: the job waits on it, so that it is still running */
	pthread_mutex_t *gate;
};

static void
job_fn(void *userdata)
{
	struct job *j = userdata;
	sigset_t mask;

	if (j->gate) {
		pthread_mutex_lock(j->gate);
		pthread_mutex_unlock(j->gate);
	}
	j->ran_on = pthread_self();
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	j->term_blocked = sigismember(&mask, SIGTERM) == 1;
	j->runs++;
}

static unsigned
threads(void)
{
	char line[256];
	unsigned n = 0;
	FILE *f = fopen("/proc/self/status", "re");

	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %u", &n) == 1)
			break;
	fclose(f);
	return n;
}

static void
test_jobs(void)
{
	struct worker *w = NULL;
	struct job a = {}, b = {};
	unsigned base = threads(), started; /* a sanitizer may start threads of its own */
	sigset_t none;

	sigemptyset(&none);
	CHECK(pthread_sigmask(SIG_SETMASK, &none, NULL) == 0);
	CHECK_INT_EQ(worker_new(&w), 0);
	/* Nothing handed: no thread yet, and a wait returns at once. */
	worker_wait(w);
	CHECK_INT_EQ(threads(), base);

	CHECK_INT_EQ(worker_start(w, job_fn, &a), 0);
	worker_wait(w);
	CHECK_INT_EQ(a.runs, 1);
	CHECK(!pthread_equal(a.ran_on, pthread_self()));
	/* A signal meant for the process never lands on the worker. */
	CHECK(a.term_blocked);
	started = threads();
	CHECK(started > base);

	/* Every job on the same thread: none started or ended per job. */
	for (unsigned i = 0; i < 2000; i++) {
		CHECK_INT_EQ(worker_start(w, job_fn, &b), 0);
		worker_wait(w);
		CHECK(pthread_equal(b.ran_on, a.ran_on));
	}
	CHECK_INT_EQ(b.runs, 2000);
	CHECK_INT_EQ(threads(), started);
	w = worker_free(w);
	CHECK(!w);
	CHECK_INT_EQ(threads(), started - 1);
	CHECK_INT_EQ(worker_start(NULL, job_fn, &a), -EINVAL);
}

static void
test_busy_and_free(void)
{
	pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
	struct job a = {.gate = &gate}, b = {};
	struct worker *w = NULL;

	CHECK_INT_EQ(worker_new(&w), 0);
	pthread_mutex_lock(&gate);
	CHECK_INT_EQ(worker_start(w, job_fn, &a), 0);
	/* One job at a time: a second one waits for the first to be waited for. */
	CHECK_INT_EQ(worker_start(w, job_fn, &b), -EBUSY);
	CHECK_INT_EQ(a.runs, 0);
	pthread_mutex_unlock(&gate);
	worker_wait(w);
	CHECK_INT_EQ(a.runs, 1);
	CHECK_INT_EQ(b.runs, 0);

	/* Freed with a job running: the job runs to its end first. */
	a.runs = 0;
	pthread_mutex_lock(&gate);
	CHECK_INT_EQ(worker_start(w, job_fn, &a), 0);
	pthread_mutex_unlock(&gate);
	w = worker_free(w);
	CHECK_INT_EQ(a.runs, 1);

	/* Freed without ever a job. */
	CHECK_INT_EQ(worker_new(&w), 0);
	worker_free(w);
}

struct placed {
	cpu_set_t mask; /* the job's thread's allowed CPUs */
	int cpu;        /* where it ran */
};

static void
placed_fn(void *userdata)
{
	struct placed *p = userdata;

	CHECK_INT_EQ(pthread_getaffinity_np(pthread_self(), sizeof(p->mask), &p->mask), 0);
	p->cpu = sched_getcpu();
}

/*
 * A job runs off the CPU it was handed from, on any other the process may use; with one CPU
 * allowed, it shares that one.
 */
static void
test_off_caller(void)
{
	struct worker *w = NULL;
	struct placed p = {};
	cpu_set_t all, one;
	int before, after, off;

	CHECK_INT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
	CHECK_INT_EQ(worker_new(&w), 0);
	CHECK_INT_EQ(worker_cpu_kept_off(w), -1);
	before = sched_getcpu();
	CHECK_INT_EQ(worker_start(w, placed_fn, &p), 0);
	after = sched_getcpu();
	worker_wait(w);
	off = worker_cpu_kept_off(w);
	if (CPU_COUNT(&all) < 2 || before < 0) {
		fprintf(stderr, "one CPU allowed, or no sched_getcpu(): the job shares the CPU\n");
		CHECK_INT_EQ(off, -1);
	} else {
		CHECK(off == before || off == after);
		CHECK(!CPU_ISSET(off, &p.mask));
		CHECK_INT_EQ(CPU_COUNT(&p.mask), CPU_COUNT(&all) - 1);
		CHECK(p.cpu != off);
	}
	worker_free(w);
	if (before < 0)
		return;

	/* The caller allowed one CPU only: nothing to keep the job off. */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	CHECK_INT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
	CHECK_INT_EQ(worker_new(&w), 0);
	CHECK_INT_EQ(worker_start(w, placed_fn, &p), 0);
	worker_wait(w);
	CHECK_INT_EQ(worker_cpu_kept_off(w), -1);
	CHECK_INT_EQ(CPU_COUNT(&p.mask), 1);
	worker_free(w);
	CHECK_INT_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
}

int
main(void)
{
	test_jobs();
	test_busy_and_free();
	test_off_caller();
	return 0;
}
