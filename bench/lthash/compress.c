/*
 * The physical limit of the LTHash expansion on this machine: the cost of
 * one SHA-256 compression, one chain at a time (each compression waits for
 * the previous one, as inside one HKDF) and four independent chains at once
 * (as the batch expansion runs them), with each implementation the CPU has;
 * and the core's own expansion rate, outside the server.
 *
 * Built by run.sh from this file and the core's files (src/lthash_core_*.c):
 * the bare compression loops are the benchmark's own and stay out of the
 * server library.
 *
 * Prints one line per implementation:
 *   <name>|<ns per compression, 1 chain>|<ns per compression, 4 chains>|<ns per item, lthash_mix>
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "lthash_core.h"
#include "lthash_core_shani.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Runs n SHA-256 compressions in all, spread over k (1..8) independent
 * states, and returns a word of the states (so that the work is not
 * optimised away).  With the SHA extensions the states stay in registers,
 * as in the core's expansion (the same inline compression); otherwise each
 * compression is a call of libcrypto's SHA256_Transform, as in the core's
 * portable expansion.
 */
#ifdef LTHASH_HAVE_SHANI
NI_TARGET static uint32_t
shani_compressions(int k, long n)
{
	NiState		c[8];
	__m128i		w = _mm_set1_epi32(0x0a5a5a5a);
	__m128i		abcd,
				efgh;
	SHA256_CTX	iv;

	SHA256_Init(&iv);
	for (int j = 0; j < k; j++)
		c[j] = ni_from_words(_mm_loadu_si128((const __m128i *) iv.h),
							 _mm_loadu_si128((const __m128i *) (iv.h + 4)));
	for (long i = 0; i < n; i += k)
		for (int j = 0; j < k; j++)
			c[j] = ni_compress(c[j], w, w, w, w);
	ni_to_words(c[0], &abcd, &efgh);
	return (uint32_t) _mm_cvtsi128_si32(abcd);
}
#endif

static uint32_t
libcrypto_compressions(int k, long n)
{
	SHA256_CTX	c[8];
	uint8_t		block[64];
	uint32_t	r = 0;

	memset(block, 0xa5, sizeof(block));
	for (int j = 0; j < k; j++)
		SHA256_Init(&c[j]);
	for (long i = 0; i < n; i += k)
		for (int j = 0; j < k; j++)
			SHA256_Transform(&c[j], block);
	for (int j = 0; j < k; j++)
		r ^= c[j].h[0];
	return r;
}

static uint32_t
run_compressions(LthashImpl impl, int k, long n)
{
#ifdef LTHASH_HAVE_SHANI
	if (impl == LTHASH_IMPL_SHANI)
		return shani_compressions(k, n);
#endif
	return libcrypto_compressions(k, n);
}

/* best of three runs, in ns per compression */
static double
compressions(LthashImpl impl, int k, long n)
{
	double		best = 1e9;
	volatile uint32_t sink = 0;

	for (int r = 0; r < 3; r++)
	{
		double		t = now();

		sink ^= run_compressions(impl, k, n);
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
			   compressions(impls[i], 1, 10000000), compressions(impls[i], 4, 20000000),
			   mix(1000000));
	}
	return 0;
}
