/*-------------------------------------------------------------------------
 *
 * lthash_core_int.h
 *	  What the files of the backend-free core share with one another and
 *	  with nobody else: the SHA-256 initial state and byte-order helpers, the
 *	  constant blocks of the LTHash item expansion, and the interface of an
 *	  expansion implementation.
 *
 * Callers use lthash_core.h; this header is for lthash_core_*.c (and the
 * benchmark, which measures the primitives underneath).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_LTHASH_CORE_INT_H
#define WASTORE_LTHASH_CORE_INT_H

#include "lthash_core.h"

/*
 * SHA-256 (lthash_core_sha256.c)
 */

/* the initial hash value, H(0) of FIPS 180-4 */
extern const uint32_t lthash_sha256_iv[8];

static inline void
lthash_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/* a SHA-256 state as its 32 digest bytes */
static inline void
lthash_state_bytes(const uint32_t h[8], uint8_t out[LTHASH_SHA256_BYTES])
{
	for (int i = 0; i < 8; i++)
		lthash_put_be32(out + 4 * i, h[i]);
}

/*
 * The LTHash item expansion (lthash_core_expand.c)
 *
 * For a 32-byte item every block the expansion hashes is either derived from
 * the item or one of these constants (SHA-256 padding included; the message
 * lengths in the padding count the 64-byte HMAC pad block in front).  They
 * are built once, before the first expansion, and each implementation takes
 * them from here, so that the portable and the SHA-NI paths cannot disagree
 * on a constant.
 */
typedef struct LthashExpandConsts
{
	LthashHmacKey salt;			/* the empty salt's pad states */
	uint8_t		short_block[64];	/* zeros (for a 32-byte message), then the
									 * padding of a 96-byte message */
	uint8_t		t1_inner[64];	/* info || 0x01, padded: T1's inner block */
	uint8_t		long_block[64]; /* zeros (for T(i-1)), info, counter 0, 0x80:
								 * T2..T4's first inner block */
	uint8_t		tail[64];		/* T2..T4's second inner block: padding only */
} LthashExpandConsts;

/*
 * An implementation of the 32-byte item expansion: adds (sign >= 0) or
 * subtracts (sign < 0) the expansions of the n (>= 0) items to h.  Chosen
 * once and called through a pointer (lthash_core_expand.c).
 */
typedef void (*LthashMix32) (LthashLanes *h, int sign,
							 const uint8_t *const *items, int n);

/*
 * The SHA-NI implementation (lthash_core_shani.c): NULL where the CPU, or
 * the compiler, has no SHA extensions.  The first call that finds them
 * builds the implementation's vector constants from consts.
 */
extern LthashMix32 lthash_shani_mix32(const LthashExpandConsts *consts);

#endif							/* WASTORE_LTHASH_CORE_INT_H */
