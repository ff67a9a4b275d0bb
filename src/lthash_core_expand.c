/*-------------------------------------------------------------------------
 *
 * lthash_core_expand.c
 *	  The LTHash item expansion and lane arithmetic, with the portable
 *	  (libcrypto) implementation and the choice of implementation;
 *	  backend-free.
 *
 * An item is expanded with HKDF-SHA256(item, empty salt, "WhatsApp Patch
 * Integrity", 128).  For a 32-byte item (every value MAC) the HKDF is
 * written out block by block, so that it costs exactly the 15 compressions
 * it needs:
 *
 *	  extract  PRK = HMAC(zero salt, item)          2 (the salt's pads are
 *	                                                   computed once)
 *	  PRK pad states (inner, outer)                  2
 *	  T1 = HMAC(PRK, info || 1)                      2 (25 bytes: one block)
 *	  T2..T4 = HMAC(PRK, T(i-1) || info || i)        3 each (57 bytes: the
 *	                                                   padding spills into a
 *	                                                   second block)
 *
 * One item's compressions form a chain, each waiting for the previous one;
 * the SHA units of a modern core can run several independent chains at once,
 * so items are expanded LTHASH_BATCH at a time, step by step.
 *
 * Two implementations do this: the portable one here (libcrypto's
 * SHA256_Transform) and the SHA-NI one (lthash_core_shani.c).  The choice is
 * made once, on first use or by lthash_set_impl, and kept in a function
 * pointer, so the per-item paths carry no test of the CPU.  Items of other
 * lengths take the general HKDF (lthash_core_sha256.c).
 *
 *-------------------------------------------------------------------------
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/sha.h>

#include "lthash_core_int.h"

static const uint8_t lthash_info[24] = "WhatsApp Patch Integrity";

/*
 * Lanes
 */

void
lthash_lanes_from_bytes(LthashLanes *h, const uint8_t bytes[LTHASH_BYTES])
{
	for (int i = 0; i < LTHASH_LANES; i++)
		h->lane[i] = (uint16_t) (bytes[2 * i] | (bytes[2 * i + 1] << 8));
}

void
lthash_lanes_to_bytes(const LthashLanes *h, uint8_t bytes[LTHASH_BYTES])
{
	for (int i = 0; i < LTHASH_LANES; i++)
	{
		bytes[2 * i] = (uint8_t) h->lane[i];
		bytes[2 * i + 1] = (uint8_t) (h->lane[i] >> 8);
	}
}

void
lthash_lanes_add(LthashLanes *h, const LthashLanes *d)
{
	for (int i = 0; i < LTHASH_LANES; i++)
		h->lane[i] = (uint16_t) (h->lane[i] + d->lane[i]);
}

void
lthash_lanes_sub(LthashLanes *h, const LthashLanes *d)
{
	for (int i = 0; i < LTHASH_LANES; i++)
		h->lane[i] = (uint16_t) (h->lane[i] - d->lane[i]);
}

/* h +/-= the lanes of an expansion, straight from its bytes */
static inline void
mix_bytes(LthashLanes *h, int sign, const uint8_t bytes[LTHASH_BYTES])
{
	LthashLanes d;

	lthash_lanes_from_bytes(&d, bytes);
	if (sign >= 0)
		lthash_lanes_add(h, &d);
	else
		lthash_lanes_sub(h, &d);
}

/*
 * The constant blocks, built by lthash_set_impl before any expansion
 */
static LthashExpandConsts consts;
static bool consts_ready = false;

static void
build_consts(void)
{
	LthashExpandConsts *c = &consts;

	memset(c, 0, sizeof(*c));
	lthash_hmac_key(&c->salt, NULL, 0);

	c->short_block[32] = 0x80;
	lthash_put_be64(c->short_block + 56, (64 + 32) * 8);

	memcpy(c->t1_inner, lthash_info, 24);
	c->t1_inner[24] = 0x01;
	c->t1_inner[25] = 0x80;
	lthash_put_be64(c->t1_inner + 56, (64 + 25) * 8);

	memcpy(c->long_block + 32, lthash_info, 24);
	c->long_block[57] = 0x80;

	lthash_put_be64(c->tail + 56, (64 + 57) * 8);
	consts_ready = true;
}

/*
 * The portable implementation
 */

/* per-item working state of the batch expansion */
typedef struct Expansion
{
	SHA256_CTX	c;				/* the hash under way */
	SHA256_CTX	prk_inner;		/* PRK ^ ipad state */
	SHA256_CTX	prk_outer;		/* PRK ^ opad state */
	uint8_t		short_block[64];	/* 32 bytes || padding of a 96-byte message */
	uint8_t		long_block[64]; /* T(i-1) || info || i || 0x80 || zeros */
	uint8_t		out[LTHASH_BYTES];
} Expansion;

/*
 * Expands n (1..LTHASH_BATCH) 32-byte items.  Each step runs over all items
 * before the next step, so the items' chains interleave.
 */
static void
expand32_batch(Expansion *x, const uint8_t *const *items, int n)
{
	uint8_t		pad[64];

	/* extract, inner: salt ^ ipad (precomputed), then the item */
	for (int j = 0; j < n; j++)
	{
		memcpy(x[j].short_block, consts.short_block, 64);
		memcpy(x[j].short_block, items[j], 32);
		memcpy(x[j].c.h, consts.salt.inner, 32);
		SHA256_Transform(&x[j].c, x[j].short_block);
	}
	/* extract, outer */
	for (int j = 0; j < n; j++)
	{
		lthash_state_bytes(x[j].c.h, x[j].short_block);
		memcpy(x[j].c.h, consts.salt.outer, 32);
		SHA256_Transform(&x[j].c, x[j].short_block);
	}
	/* the PRK's pad states */
	for (int j = 0; j < n; j++)
	{
		lthash_state_bytes(x[j].c.h, pad);
		memset(pad + 32, 0, 32);
		for (int i = 0; i < 64; i++)
			pad[i] ^= 0x36;
		memcpy(x[j].prk_inner.h, lthash_sha256_iv, 32);
		SHA256_Transform(&x[j].prk_inner, pad);
		for (int i = 0; i < 64; i++)
			pad[i] ^= 0x36 ^ 0x5c;
		memcpy(x[j].prk_outer.h, lthash_sha256_iv, 32);
		SHA256_Transform(&x[j].prk_outer, pad);
	}
	/* T1 = HMAC(PRK, info || 1) */
	for (int j = 0; j < n; j++)
	{
		memcpy(x[j].c.h, x[j].prk_inner.h, 32);
		SHA256_Transform(&x[j].c, consts.t1_inner);
	}
	for (int j = 0; j < n; j++)
	{
		lthash_state_bytes(x[j].c.h, x[j].short_block);
		memcpy(x[j].c.h, x[j].prk_outer.h, 32);
		SHA256_Transform(&x[j].c, x[j].short_block);
		lthash_state_bytes(x[j].c.h, x[j].out);
	}
	/* T2..T4 = HMAC(PRK, T(i-1) || info || i) */
	for (int j = 0; j < n; j++)
		memcpy(x[j].long_block, consts.long_block, 64);
	for (int t = 2; t <= 4; t++)
	{
		for (int j = 0; j < n; j++)
		{
			memcpy(x[j].long_block, x[j].out + 32 * (t - 2), 32);
			x[j].long_block[56] = (uint8_t) t;
			memcpy(x[j].c.h, x[j].prk_inner.h, 32);
			SHA256_Transform(&x[j].c, x[j].long_block);
		}
		for (int j = 0; j < n; j++)
			SHA256_Transform(&x[j].c, consts.tail);
		for (int j = 0; j < n; j++)
		{
			lthash_state_bytes(x[j].c.h, x[j].short_block);
			memcpy(x[j].c.h, x[j].prk_outer.h, 32);
			SHA256_Transform(&x[j].c, x[j].short_block);
			lthash_state_bytes(x[j].c.h, x[j].out + 32 * (t - 1));
		}
	}
}

static void
mix32_portable(LthashLanes *h, int sign, const uint8_t *const *items, int n)
{
	Expansion	x[LTHASH_BATCH];

	for (int i = 0; i < n; i += LTHASH_BATCH)
	{
		int			k = n - i < LTHASH_BATCH ? n - i : LTHASH_BATCH;

		expand32_batch(x, items + i, k);
		for (int j = 0; j < k; j++)
			mix_bytes(h, sign, x[j].out);
	}
}

/*
 * Choosing the implementation
 */

static void mix32_first(LthashLanes *h, int sign, const uint8_t *const *items, int n);

/* the implementation in use; the first call goes to mix32_first, which chooses */
static LthashMix32 mix32 = mix32_first;
static LthashImpl impl = LTHASH_IMPL_BEST;	/* BEST: not chosen yet */

static void
mix32_first(LthashLanes *h, int sign, const uint8_t *const *items, int n)
{
	lthash_set_impl(LTHASH_IMPL_BEST);
	mix32(h, sign, items, n);
}

LthashImpl
lthash_set_impl(LthashImpl want)
{
	LthashMix32 shani = NULL;

	if (!consts_ready)
		build_consts();
	if (want != LTHASH_IMPL_LIBCRYPTO)
		shani = lthash_shani_mix32(&consts);
	if (shani != NULL)
	{
		mix32 = shani;
		impl = LTHASH_IMPL_SHANI;
	}
	else
	{
		mix32 = mix32_portable;
		impl = LTHASH_IMPL_LIBCRYPTO;
	}
	return impl;
}

const char *
lthash_impl_name(void)
{
	if (impl == LTHASH_IMPL_BEST)
		lthash_set_impl(LTHASH_IMPL_BEST);
	return impl == LTHASH_IMPL_SHANI ? "x86-64 SHA extensions" : "libcrypto SHA256_Transform";
}

/*
 * Expansion
 */

void
lthash_expand(const uint8_t *item, size_t len, uint8_t out[LTHASH_BYTES])
{
	if (len == 32)
	{
		LthashLanes h;

		/* zero plus the expansion is the expansion */
		memset(&h, 0, sizeof(h));
		mix32(&h, 1, &item, 1);
		lthash_lanes_to_bytes(&h, out);
	}
	else
		lthash_hkdf_sha256(item, len, NULL, 0, lthash_info, sizeof(lthash_info),
						   out, LTHASH_BYTES);
}

void
lthash_mix(LthashLanes *h, int sign, const uint8_t *const *items, const size_t *lens, int n)
{
	int			i = 0;

	while (i < n)
	{
		int			run = 0;

		/* a run of 32-byte items goes to the implementation in one call */
		while (i + run < n && lens[i + run] == 32)
			run++;
		if (run > 0)
		{
			mix32(h, sign, items + i, run);
			i += run;
			continue;
		}

		{
			uint8_t		out[LTHASH_BYTES];

			lthash_expand(items[i], lens[i], out);
			mix_bytes(h, sign, out);
			i++;
		}
	}
}
