/*
 * wr_wake.h - let a sleeping consumer thread be woken by poll-mode producers
 * without a system call per item.
 *
 * The consumer (the fraud thread) sleeps in poll() on an eventfd only after
 * announcing it (sleeping = 1) and re-checking its rings; a producer (a
 * worker lcore) enqueues, then writes the eventfd only if the consumer
 * announced sleep. Both sides put a full fence between their store and
 * their load (the Dekker pattern), so either the consumer sees the item on
 * its re-check or the producer sees the flag: an item never waits for the
 * consumer's timeout. While the consumer is awake, producers pay one load.
 *
 * Thread safety: any number of producers, one consumer.
 */
#ifndef WR_WAKE_H
#define WR_WAKE_H

#include <stdint.h>
#include <unistd.h>

struct wr_wake {
	int fd;                      /* eventfd (EFD_NONBLOCK), -1 = none */
	uint32_t sleeping;           /* consumer: 1 while it may block on fd */
};

/* Producer, after enqueuing. */
static inline void wr_wake_notify(struct wr_wake *w)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (w->fd >= 0 && __atomic_load_n(&w->sleeping, __ATOMIC_RELAXED)) {
		__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED); /* one write per sleep */
		uint64_t one = 1;
		ssize_t rc = write(w->fd, &one, sizeof(one));
		(void)rc; /* EAGAIN: the counter is already non-zero, the consumer wakes anyway */
	}
}

/* Consumer: announce sleep, then re-check the rings before blocking. */
static inline void wr_wake_prepare(struct wr_wake *w)
{
	__atomic_store_n(&w->sleeping, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Consumer: awake again. */
static inline void wr_wake_done(struct wr_wake *w)
{
	__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
}

#endif /* WR_WAKE_H */
