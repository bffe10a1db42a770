/* SPDX-License-Identifier: MIT */
/* A thread kept for one job at a time (worker.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/worker.h"

struct worker {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a job or the stop for the thread */
	pthread_cond_t done; /* the job ran */
	pthread_t thread;
	bool started, stop;
	int off_cpu;    /* the CPU the thread is kept off, or -1 */
	worker_fn_t fn; /* the job handed and not yet run to its end */
	void *userdata;
};

int
worker_new(struct worker **ret)
{
	struct worker *w = malloc(sizeof(*w));

	if (!w)
		return -ENOMEM;
	/* Static initializers: nothing to allocate, nothing that can fail. */
	*w = (struct worker){
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.wake = PTHREAD_COND_INITIALIZER,
		.done = PTHREAD_COND_INITIALIZER,
		.off_cpu = -1,
	};
	*ret = w;
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->fn && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->fn)
			break;
		pthread_mutex_unlock(&w->lock);
		w->fn(w->userdata);
		pthread_mutex_lock(&w->lock);
		w->fn = NULL;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* The thread, with every signal blocked from its first instruction. */
static int
worker_thread_start(struct worker *w)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	w->started = true;
	return 0;
}

/*
 * Keeps the thread off the CPU the caller runs on, when another is allowed: the job runs while
 * the caller waits for the disk, and the caller needs its CPU back the moment the disk answers.
 * Sharing it, the job held it in the way: a pay's commit took 0.6–0.7 ms rather than 0.3 ms
 * (doc/performance.md). Set again only when the caller moved to another CPU.
 */
static void
worker_keep_off_caller(struct worker *w)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0 || cpu == w->off_cpu || cpu >= CPU_SETSIZE ||
	    sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	CPU_CLR(cpu, &set);
	if (CPU_COUNT(&set) == 0)
		return; /* one CPU only: the thread shares it */
	if (pthread_setaffinity_np(w->thread, sizeof(set), &set) == 0)
		w->off_cpu = cpu;
}

int
worker_cpu_kept_off(const struct worker *w)
{
	return w ? w->off_cpu : -1;
}

int
worker_start(struct worker *w, worker_fn_t fn, void *userdata)
{
	int r = 0;

	if (!w || !fn)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	if (w->fn)
		r = -EBUSY;
	else if (!w->started)
		r = worker_thread_start(w);
	if (r == 0) {
		worker_keep_off_caller(w);
		w->fn = fn;
		w->userdata = userdata;
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

void
worker_wait(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	while (w->fn)
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

struct worker *
worker_free(struct worker *w)
{
	if (!w)
		return NULL;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		(void)pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->done);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return NULL;
}
