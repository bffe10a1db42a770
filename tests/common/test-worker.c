/* SPDX-License-Identifier: MIT */
/* The kept worker thread: one job at a time, the same thread for every job, signals blocked. */
#include <errno.h>
#include <pthread.h>
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

int
main(void)
{
	test_jobs();
	test_busy_and_free();
	return 0;
}
