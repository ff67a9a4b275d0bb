/*
 * The physical limit of the LTHash expansion on this machine: the cost of
 * one SHA-256 compression, one chain at a time (each compression waits for
 * the previous one, as inside one HKDF) and four independent chains at once
 * (as the batch expansion runs them), with each implementation the CPU has;
 * and the core's own expansion rate, outside the server.
 *
 * Prints one line per implementation:
 *   <name>|<ns per compression, 1 chain>|<ns per compression, 4 chains>|<ns per item, lthash_mix>
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lthash_core.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* best of three runs, in ns per compression */
static double
compressions(int k, long n)
{
	double		best = 1e9;
	volatile uint32_t sink = 0;

	for (int r = 0; r < 3; r++)
	{
		double		t = now();

		sink ^= lthash_sha256_compressions(k, n);
		t = now() - t;
		if (t / n * 1e9 < best)
			best = t / n * 1e9;
	}
	(void) sink;
	return best;
}

static double
mix(int n)
{
	uint8_t    *buf = malloc((size_t) n * 32);
	const uint8_t **items = malloc(sizeof(*items) * n);
	size_t	   *lens = malloc(sizeof(*lens) * n);
	double		best = 1e9;

	for (long i = 0; i < (long) n * 32; i++)
		buf[i] = (uint8_t) (i * 2654435761u >> 13);
	for (int i = 0; i < n; i++)
	{
		items[i] = buf + 32 * i;
		lens[i] = 32;
	}
	for (int r = 0; r < 3; r++)
	{
		LthashLanes h = {{0}};
		double		t = now();

		lthash_mix(&h, 1, items, lens, n);
		t = now() - t;
		if (t / n * 1e9 < best)
			best = t / n * 1e9;
	}
	free(buf);
	free(items);
	free(lens);
	return best;
}

int
main(void)
{
	LthashImpl	impls[2] = {LTHASH_IMPL_SHANI, LTHASH_IMPL_LIBCRYPTO};

	for (int i = 0; i < 2; i++)
	{
		if (lthash_set_impl(impls[i]) != impls[i])
			continue;
		printf("%s|%.2f|%.2f|%.1f\n", lthash_impl_name(),
			   compressions(1, 10000000), compressions(4, 20000000), mix(1000000));
	}
	return 0;
}
