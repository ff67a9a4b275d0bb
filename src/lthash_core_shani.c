/*-------------------------------------------------------------------------
 *
 * lthash_core_shani.c
 *	  The LTHash item expansion with the x86-64 SHA extensions (SHA-NI),
 *	  and the CPU check that allows it; backend-free.
 *
 * The same 15 compressions per 32-byte item as the portable expansion
 * (lthash_core_expand.c), LTHASH_BATCH items at a time, but with every
 * intermediate digest kept in vector registers (lthash_core_shani.h) and the
 * 128 bytes of output added to the lanes as vectors: nothing goes through
 * memory between the item and the sum.
 *
 * This is the one file of the core that knows about the CPU: where the
 * compiler cannot target the SHA extensions it only says so, and
 * lthash_core_expand.c chooses the portable path once.
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <string.h>

#include "lthash_core_int.h"
#include "lthash_core_shani.h"

#ifdef LTHASH_HAVE_SHANI

#include <cpuid.h>

/* the constant inputs of the expansion, as vectors */
typedef struct NiConstants
{
	NiState		iv;
	NiState		salt_inner;		/* zero salt ^ ipad, compressed */
	NiState		salt_outer;
	__m128i		pad96[2];		/* W8..W15 of a 32-byte message after a pad block */
	__m128i		t1[4];			/* info || 0x01, padded (89 bytes in all) */
	__m128i		info[2];		/* W8..W15 of T2..T4's first block, counter 0 */
	__m128i		tail[4];		/* T2..T4's second block (121 bytes in all) */
	__m128i		ipad;
	__m128i		opad;
} NiConstants;

static NiConstants ni;
static bool ni_ready = false;

/* a state in memory (eight words) as vectors */
NI_INLINE NiState
ni_load_state(const uint32_t h[8])
{
	return ni_from_words(_mm_loadu_si128((const __m128i *) h),
						 _mm_loadu_si128((const __m128i *) (h + 4)));
}

NI_TARGET static void
ni_init(const LthashExpandConsts *c)
{
	ni.iv = ni_load_state(lthash_sha256_iv);
	ni.salt_inner = ni_load_state(c->salt.inner);
	ni.salt_outer = ni_load_state(c->salt.outer);
	ni.pad96[0] = ni_load_words(c->short_block + 32);
	ni.pad96[1] = ni_load_words(c->short_block + 48);
	for (int i = 0; i < 4; i++)
		ni.t1[i] = ni_load_words(c->t1_inner + 16 * i);
	ni.info[0] = ni_load_words(c->long_block + 32);
	ni.info[1] = ni_load_words(c->long_block + 48);
	for (int i = 0; i < 4; i++)
		ni.tail[i] = ni_load_words(c->tail + 16 * i);
	ni.ipad = _mm_set1_epi32(0x36363636);
	ni.opad = _mm_set1_epi32(0x5c5c5c5c);
	ni_ready = true;
}

/*
 * Expands n (1..LTHASH_BATCH) 32-byte items and adds (sign > 0) or
 * subtracts their expansions to the 64 lanes in acc (eight vectors of eight
 * little-endian uint16: the x86 layout of LthashLanes).  Each step runs over
 * all items before the next step, so the items' chains overlap.
 */
NI_TARGET static void
ni_mix32(__m128i acc[8], int sign, const uint8_t *const *items, int n)
{
	NiState		c[LTHASH_BATCH],
				pi[LTHASH_BATCH],
				po[LTHASH_BATCH];
	__m128i		t0[LTHASH_BATCH],
				t1[LTHASH_BATCH];

	/* extract: PRK = HMAC(zero salt, item) */
	for (int j = 0; j < n; j++)
		c[j] = ni_compress(ni.salt_inner, ni_load_words(items[j]), ni_load_words(items[j] + 16),
						   ni.pad96[0], ni.pad96[1]);
	for (int j = 0; j < n; j++)
	{
		ni_to_words(c[j], &t0[j], &t1[j]);
		c[j] = ni_compress(ni.salt_outer, t0[j], t1[j], ni.pad96[0], ni.pad96[1]);
	}
	/* the PRK's pad states */
	for (int j = 0; j < n; j++)
	{
		ni_to_words(c[j], &t0[j], &t1[j]);
		pi[j] = ni_compress(ni.iv, _mm_xor_si128(t0[j], ni.ipad), _mm_xor_si128(t1[j], ni.ipad),
							ni.ipad, ni.ipad);
		po[j] = ni_compress(ni.iv, _mm_xor_si128(t0[j], ni.opad), _mm_xor_si128(t1[j], ni.opad),
							ni.opad, ni.opad);
	}
	/* T1 = HMAC(PRK, info || 1) */
	for (int j = 0; j < n; j++)
		c[j] = ni_compress(pi[j], ni.t1[0], ni.t1[1], ni.t1[2], ni.t1[3]);
	/* T1..T4: outer hash, output, and the next T's inner hash */
	for (int t = 1; t <= 4; t++)
	{
		for (int j = 0; j < n; j++)
		{
			__m128i		lo,
						hi;

			ni_to_words(c[j], &t0[j], &t1[j]);
			c[j] = ni_compress(po[j], t0[j], t1[j], ni.pad96[0], ni.pad96[1]);
			ni_to_bytes(c[j], &lo, &hi);
			if (sign >= 0)
			{
				acc[2 * (t - 1)] = _mm_add_epi16(acc[2 * (t - 1)], lo);
				acc[2 * (t - 1) + 1] = _mm_add_epi16(acc[2 * (t - 1) + 1], hi);
			}
			else
			{
				acc[2 * (t - 1)] = _mm_sub_epi16(acc[2 * (t - 1)], lo);
				acc[2 * (t - 1) + 1] = _mm_sub_epi16(acc[2 * (t - 1) + 1], hi);
			}
			if (t < 4)
				ni_to_words(c[j], &t0[j], &t1[j]);
		}
		if (t == 4)
			break;
		for (int j = 0; j < n; j++)
		{
			/* W14 holds the counter byte and the 0x80 that ends the message */
			__m128i		w3 = _mm_insert_epi32(ni.info[1], (int) (((uint32_t) (t + 1) << 24) | 0x00800000), 2);

			c[j] = ni_compress(pi[j], t0[j], t1[j], ni.info[0], w3);
		}
		for (int j = 0; j < n; j++)
			c[j] = ni_compress(c[j], ni.tail[0], ni.tail[1], ni.tail[2], ni.tail[3]);
	}
}

/* the implementation: any number of items, the lanes loaded and stored once */
NI_TARGET static void
ni_mix(LthashLanes *h, int sign, const uint8_t *const *items, int n)
{
	__m128i		acc[8];

	for (int i = 0; i < 8; i++)
		acc[i] = _mm_loadu_si128((const __m128i *) &h->lane[8 * i]);
	for (int i = 0; i < n; i += LTHASH_BATCH)
		ni_mix32(acc, sign, items + i, n - i < LTHASH_BATCH ? n - i : LTHASH_BATCH);
	for (int i = 0; i < 8; i++)
		_mm_storeu_si128((__m128i *) &h->lane[8 * i], acc[i]);
}

static bool
cpu_has_shani(void)
{
	unsigned int eax,
				ebx,
				ecx,
				edx;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return false;
	if (!(ecx & bit_SSSE3) || !(ecx & bit_SSE4_1))
		return false;
	if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
		return false;
	return (ebx & bit_SHA) != 0;
}

LthashMix32
lthash_shani_mix32(const LthashExpandConsts *consts)
{
	static int	has_shani = -1; /* -1: not asked yet */

	if (has_shani < 0)
		has_shani = cpu_has_shani();
	if (!has_shani)
		return NULL;
	if (!ni_ready)
		ni_init(consts);
	return ni_mix;
}

#else							/* !LTHASH_HAVE_SHANI */

LthashMix32
lthash_shani_mix32(const LthashExpandConsts *consts)
{
	(void) consts;
	return NULL;
}

#endif							/* LTHASH_HAVE_SHANI */
