/*-------------------------------------------------------------------------
 *
 * lthash_core.c
 *	  The LTHash and app-state crypto core, free of server calls.
 *
 * Everything SHA-256 goes through one primitive, the compression function
 * (libcrypto's SHA256_Transform, which uses the CPU's SHA extensions where
 * there are some).  HMAC keys are turned into their two pad states once, and
 * the LTHash item expansion is written out block by block, so that a 32-byte
 * item costs exactly the 15 compressions HKDF needs:
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
 * No allocation, no errors: callers validate lengths.
 *
 *-------------------------------------------------------------------------
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "lthash_core.h"

#ifdef OPENSSL_NO_DEPRECATED_3_0
#error "wastore needs libcrypto's SHA256_Transform (OpenSSL built without deprecated APIs)"
#endif

_Static_assert(sizeof(SHA_LONG) == sizeof(uint32_t), "SHA_LONG is 32 bits");

static const uint32_t sha256_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
};

static const uint8_t lthash_info[24] = "WhatsApp Patch Integrity";
static const uint8_t mutation_keys_info[22] = "WhatsApp Mutation Keys";

/*
 * Small helpers
 */

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

void
lthash_put_be64(uint8_t out[8], uint64_t v)
{
	put_be32(out, (uint32_t) (v >> 32));
	put_be32(out + 4, (uint32_t) v);
}

/* a SHA-256 state as its 32 digest bytes */
static inline void
state_bytes(const SHA_LONG h[8], uint8_t out[32])
{
	for (int i = 0; i < 8; i++)
		put_be32(out + 4 * i, h[i]);
}

static inline void
compress(uint32_t h[8], const uint8_t block[64])
{
	SHA256_CTX	c;

	memcpy(c.h, h, 32);
	SHA256_Transform(&c, block);
	memcpy(h, c.h, 32);
}

bool
lthash_equal_secret(const uint8_t *a, const uint8_t *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void
lthash_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

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
 * HMAC-SHA256
 */

void
lthash_hmac_key(LthashHmacKey *key, const uint8_t *k, size_t len)
{
	uint8_t		block[64];

	memset(block, 0, sizeof(block));
	if (len > 64)
		lthash_sha256(k, len, block);
	else if (len > 0)
		memcpy(block, k, len);

	for (int i = 0; i < 64; i++)
		block[i] ^= 0x36;
	memcpy(key->inner, sha256_iv, 32);
	compress(key->inner, block);

	for (int i = 0; i < 64; i++)
		block[i] ^= 0x36 ^ 0x5c;
	memcpy(key->outer, sha256_iv, 32);
	compress(key->outer, block);

	lthash_wipe(block, sizeof(block));
}

void
lthash_hmac_init(LthashHmac *ctx, const LthashHmacKey *key)
{
	ctx->key = key;
	memcpy(ctx->state, key->inner, 32);
	ctx->buflen = 0;
	ctx->total = 64;
}

void
lthash_hmac_update(LthashHmac *ctx, const uint8_t *data, size_t len)
{
	ctx->total += len;
	if (ctx->buflen > 0)
	{
		size_t		take = 64 - ctx->buflen;

		if (take > len)
			take = len;
		memcpy(ctx->buf + ctx->buflen, data, take);
		ctx->buflen += take;
		data += take;
		len -= take;
		if (ctx->buflen < 64)
			return;
		compress(ctx->state, ctx->buf);
		ctx->buflen = 0;
	}
	while (len >= 64)
	{
		compress(ctx->state, data);
		data += 64;
		len -= 64;
	}
	if (len > 0)
	{
		memcpy(ctx->buf, data, len);
		ctx->buflen = len;
	}
}

/* pads the inner hash's last block(s) and compresses them */
static void
sha256_pad(uint32_t state[8], uint8_t buf[64], size_t buflen, uint64_t total)
{
	buf[buflen++] = 0x80;
	if (buflen > 56)
	{
		memset(buf + buflen, 0, 64 - buflen);
		compress(state, buf);
		buflen = 0;
	}
	memset(buf + buflen, 0, 56 - buflen);
	lthash_put_be64(buf + 56, total * 8);
	compress(state, buf);
}

void
lthash_hmac_final(LthashHmac *ctx, uint8_t out[LTHASH_SHA256_BYTES])
{
	uint8_t		block[64];

	sha256_pad(ctx->state, ctx->buf, ctx->buflen, ctx->total);

	/* outer: key ^ opad (precomputed), then the 32-byte inner digest */
	for (int i = 0; i < 8; i++)
		put_be32(block + 4 * i, ctx->state[i]);
	memcpy(ctx->state, ctx->key->outer, 32);
	sha256_pad(ctx->state, block, 32, 64 + 32);

	for (int i = 0; i < 8; i++)
		put_be32(out + 4 * i, ctx->state[i]);
	lthash_wipe(ctx, sizeof(*ctx));
}

void
lthash_hmac_sha256(const uint8_t *k, size_t klen, const uint8_t *msg, size_t len,
				   uint8_t out[LTHASH_SHA256_BYTES])
{
	LthashHmacKey key;
	LthashHmac	ctx;

	lthash_hmac_key(&key, k, klen);
	lthash_hmac_init(&ctx, &key);
	lthash_hmac_update(&ctx, msg, len);
	lthash_hmac_final(&ctx, out);
	lthash_wipe(&key, sizeof(key));
}

void
lthash_sha256(const uint8_t *msg, size_t len, uint8_t out[LTHASH_SHA256_BYTES])
{
	uint32_t	state[8];
	uint8_t		buf[64];
	size_t		rest = len % 64;

	memcpy(state, sha256_iv, 32);
	for (size_t off = 0; off + 64 <= len; off += 64)
		compress(state, msg + off);
	if (rest > 0)
		memcpy(buf, msg + len - rest, rest);
	sha256_pad(state, buf, rest, len);
	for (int i = 0; i < 8; i++)
		put_be32(out + 4 * i, state[i]);
}

/*
 * HKDF-SHA256 (RFC 5869).  An empty salt is HashLen zero bytes, which as an
 * HMAC key pads to the same block as no key at all.
 */
void
lthash_hkdf_sha256(const uint8_t *ikm, size_t ikmlen,
				   const uint8_t *salt, size_t saltlen,
				   const uint8_t *info, size_t infolen,
				   uint8_t *out, size_t outlen)
{
	LthashHmacKey key;
	LthashHmac	ctx;
	uint8_t		prk[32];
	uint8_t		t[32];
	size_t		done = 0;

	/* extract */
	lthash_hmac_key(&key, salt, saltlen);
	lthash_hmac_init(&ctx, &key);
	lthash_hmac_update(&ctx, ikm, ikmlen);
	lthash_hmac_final(&ctx, prk);

	/* expand */
	lthash_hmac_key(&key, prk, sizeof(prk));
	for (uint8_t i = 1; done < outlen; i++)
	{
		size_t		take = outlen - done < 32 ? outlen - done : 32;

		lthash_hmac_init(&ctx, &key);
		if (i > 1)
			lthash_hmac_update(&ctx, t, 32);
		lthash_hmac_update(&ctx, info, infolen);
		lthash_hmac_update(&ctx, &i, 1);
		lthash_hmac_final(&ctx, t);
		memcpy(out + done, t, take);
		done += take;
	}

	lthash_wipe(&key, sizeof(key));
	lthash_wipe(prk, sizeof(prk));
	lthash_wipe(t, sizeof(t));
}

/*
 * LTHash item expansion
 */

/* the zero salt's pad states, computed on first use */
static LthashHmacKey salt_key;
static bool salt_key_ready = false;

static inline const LthashHmacKey *
zero_salt_key(void)
{
	if (!salt_key_ready)
	{
		lthash_hmac_key(&salt_key, NULL, 0);
		salt_key_ready = true;
	}
	return &salt_key;
}

/*
 * Constant blocks of the expansion (SHA-256 padding included; lengths count
 * the 64-byte pad block in front):
 *	 t1_inner: info || 0x01, 25 bytes of message
 *	 tail:	   the second block of T2..T4's inner hash (57 bytes of message)
 */
typedef struct ExpandBlocks
{
	uint8_t		t1_inner[64];
	uint8_t		tail[64];
} ExpandBlocks;

static ExpandBlocks expand_blocks;
static bool expand_blocks_ready = false;

static const ExpandBlocks *
get_expand_blocks(void)
{
	if (!expand_blocks_ready)
	{
		ExpandBlocks *b = &expand_blocks;

		memset(b, 0, sizeof(*b));
		memcpy(b->t1_inner, lthash_info, 24);
		b->t1_inner[24] = 0x01;
		b->t1_inner[25] = 0x80;
		lthash_put_be64(b->t1_inner + 56, (64 + 25) * 8);
		lthash_put_be64(b->tail + 56, (64 + 57) * 8);
		expand_blocks_ready = true;
	}
	return &expand_blocks;
}

/* per-item working state of the batch expansion */
typedef struct Expansion
{
	SHA256_CTX	c;				/* the hash under way */
	SHA256_CTX	prk_inner;		/* PRK ^ ipad state */
	SHA256_CTX	prk_outer;		/* PRK ^ opad state */
	uint8_t		short_block[64];	/* 32 bytes || padding of a 96-byte message */
	uint8_t		long_block[64];	/* T(i-1) || info || i || 0x80 || zeros */
	uint8_t		out[LTHASH_BYTES];
} Expansion;

/* a block for a 32-byte message behind a pad block: data || 0x80 || len */
static void
init_short_block(uint8_t block[64])
{
	memset(block + 32, 0, 32);
	block[32] = 0x80;
	lthash_put_be64(block + 56, (64 + 32) * 8);
}

/*
 * Expands n (1..LTHASH_BATCH) 32-byte items.  Each step runs over all items
 * before the next step, so the items' chains interleave.
 */
static void
expand32_batch(Expansion *x, const uint8_t *const *items, int n)
{
	const LthashHmacKey *salt = zero_salt_key();
	const ExpandBlocks *blocks = get_expand_blocks();
	uint8_t		pad[64];

	/* extract, inner: salt ^ ipad (precomputed), then the item */
	for (int j = 0; j < n; j++)
	{
		init_short_block(x[j].short_block);
		memcpy(x[j].short_block, items[j], 32);
		memcpy(x[j].c.h, salt->inner, 32);
		SHA256_Transform(&x[j].c, x[j].short_block);
	}
	/* extract, outer */
	for (int j = 0; j < n; j++)
	{
		state_bytes(x[j].c.h, x[j].short_block);
		memcpy(x[j].c.h, salt->outer, 32);
		SHA256_Transform(&x[j].c, x[j].short_block);
	}
	/* the PRK's pad states */
	for (int j = 0; j < n; j++)
	{
		state_bytes(x[j].c.h, pad);
		memset(pad + 32, 0, 32);
		for (int i = 0; i < 64; i++)
			pad[i] ^= 0x36;
		memcpy(x[j].prk_inner.h, sha256_iv, 32);
		SHA256_Transform(&x[j].prk_inner, pad);
		for (int i = 0; i < 64; i++)
			pad[i] ^= 0x36 ^ 0x5c;
		memcpy(x[j].prk_outer.h, sha256_iv, 32);
		SHA256_Transform(&x[j].prk_outer, pad);
	}
	/* T1 = HMAC(PRK, info || 1) */
	for (int j = 0; j < n; j++)
	{
		memcpy(x[j].c.h, x[j].prk_inner.h, 32);
		SHA256_Transform(&x[j].c, blocks->t1_inner);
	}
	for (int j = 0; j < n; j++)
	{
		state_bytes(x[j].c.h, x[j].short_block);
		memcpy(x[j].c.h, x[j].prk_outer.h, 32);
		SHA256_Transform(&x[j].c, x[j].short_block);
		state_bytes(x[j].c.h, x[j].out);
	}
	/* T2..T4 = HMAC(PRK, T(i-1) || info || i) */
	for (int j = 0; j < n; j++)
	{
		memcpy(x[j].long_block + 32, lthash_info, 24);
		x[j].long_block[57] = 0x80;
		memset(x[j].long_block + 58, 0, 6);
	}
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
			SHA256_Transform(&x[j].c, blocks->tail);
		for (int j = 0; j < n; j++)
		{
			state_bytes(x[j].c.h, x[j].short_block);
			memcpy(x[j].c.h, x[j].prk_outer.h, 32);
			SHA256_Transform(&x[j].c, x[j].short_block);
			state_bytes(x[j].c.h, x[j].out + 32 * (t - 1));
		}
	}
}

/*
 * The SHA-NI expansion (x86-64)
 *
 * Built on the inline compression of lthash_core_shani.h; the 128 bytes of
 * output are added to the lanes as vectors: nothing goes through memory.
 */
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

NI_TARGET static void
ni_init(void)
{
	const LthashHmacKey *salt = zero_salt_key();
	const ExpandBlocks *blocks = get_expand_blocks();
	uint8_t		block[64];

	ni.iv = ni_from_words(_mm_loadu_si128((const __m128i *) sha256_iv),
						  _mm_loadu_si128((const __m128i *) (sha256_iv + 4)));
	ni.salt_inner = ni_from_words(_mm_loadu_si128((const __m128i *) salt->inner),
								  _mm_loadu_si128((const __m128i *) (salt->inner + 4)));
	ni.salt_outer = ni_from_words(_mm_loadu_si128((const __m128i *) salt->outer),
								  _mm_loadu_si128((const __m128i *) (salt->outer + 4)));
	init_short_block(block);
	ni.pad96[0] = ni_load_words(block + 32);
	ni.pad96[1] = ni_load_words(block + 48);
	for (int i = 0; i < 4; i++)
		ni.t1[i] = ni_load_words(blocks->t1_inner + 16 * i);
	memset(block, 0, sizeof(block));
	memcpy(block + 32, lthash_info, 24);
	block[57] = 0x80;
	ni.info[0] = ni_load_words(block + 32);
	ni.info[1] = ni_load_words(block + 48);
	for (int i = 0; i < 4; i++)
		ni.tail[i] = ni_load_words(blocks->tail + 16 * i);
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

NI_TARGET static void
ni_mix(LthashLanes *h, int sign, const uint8_t *const *items, int n)
{
	__m128i		acc[8];

	if (!ni_ready)
		ni_init();
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
#endif							/* LTHASH_HAVE_SHANI */

/*
 * Choosing the implementation
 */
static LthashImpl impl = LTHASH_IMPL_BEST;	/* BEST: not chosen yet */

static inline LthashImpl
current_impl(void)
{
	if (impl == LTHASH_IMPL_BEST)
		lthash_set_impl(LTHASH_IMPL_BEST);
	return impl;
}

LthashImpl
lthash_set_impl(LthashImpl want)
{
#ifdef LTHASH_HAVE_SHANI
	bool		shani = cpu_has_shani();
#else
	bool		shani = false;
#endif

	if (want == LTHASH_IMPL_LIBCRYPTO || !shani)
		impl = LTHASH_IMPL_LIBCRYPTO;
	else
		impl = LTHASH_IMPL_SHANI;
	return impl;
}

const char *
lthash_impl_name(void)
{
	return current_impl() == LTHASH_IMPL_SHANI ? "x86-64 SHA extensions" : "libcrypto SHA256_Transform";
}

void
lthash_expand(const uint8_t *item, size_t len, uint8_t out[LTHASH_BYTES])
{
	if (len == 32)
	{
#ifdef LTHASH_HAVE_SHANI
		if (current_impl() == LTHASH_IMPL_SHANI)
		{
			LthashLanes h;

			memset(&h, 0, sizeof(h));
			ni_mix(&h, 1, &item, 1);
			lthash_lanes_to_bytes(&h, out);
			return;
		}
#endif
		{
			Expansion	x;

			expand32_batch(&x, &item, 1);
			memcpy(out, x.out, LTHASH_BYTES);
		}
	}
	else
		lthash_hkdf_sha256(item, len, NULL, 0, lthash_info, sizeof(lthash_info),
						   out, LTHASH_BYTES);
}

void
lthash_mix(LthashLanes *h, int sign, const uint8_t *const *items, const size_t *lens, int n)
{
	Expansion	x[LTHASH_BATCH];
	const uint8_t *batch[LTHASH_BATCH];
	int			nbatch = 0;
#ifdef LTHASH_HAVE_SHANI
	bool		shani = current_impl() == LTHASH_IMPL_SHANI;
#endif

	for (int i = 0; i < n; i++)
	{
		if (lens[i] != 32)
		{
			uint8_t		out[LTHASH_BYTES];

			lthash_expand(items[i], lens[i], out);
			mix_bytes(h, sign, out);
			continue;
		}
		batch[nbatch++] = items[i];
		if (nbatch == LTHASH_BATCH)
		{
#ifdef LTHASH_HAVE_SHANI
			if (shani)
			{
				ni_mix(h, sign, batch, nbatch);
				nbatch = 0;
				continue;
			}
#endif
			expand32_batch(x, batch, nbatch);
			for (int j = 0; j < nbatch; j++)
				mix_bytes(h, sign, x[j].out);
			nbatch = 0;
		}
	}
	if (nbatch > 0)
	{
#ifdef LTHASH_HAVE_SHANI
		if (shani)
		{
			ni_mix(h, sign, batch, nbatch);
			return;
		}
#endif
		expand32_batch(x, batch, nbatch);
		for (int j = 0; j < nbatch; j++)
			mix_bytes(h, sign, x[j].out);
	}
}

/*
 * App-state MACs
 */

void
lthash_mutation_keys(const uint8_t *key_data, size_t len,
					 uint8_t out[LTHASH_MUTATION_KEYS_BYTES])
{
	lthash_hkdf_sha256(key_data, len, NULL, 0,
					   mutation_keys_info, sizeof(mutation_keys_info),
					   out, LTHASH_MUTATION_KEYS_BYTES);
}

void
lthash_content_mac(int op, const uint8_t *data, size_t datalen,
				   const uint8_t *key_id, size_t key_id_len,
				   const uint8_t *key, size_t keylen,
				   uint8_t out[LTHASH_MAC_BYTES])
{
	SHA512_CTX	c;
	uint8_t		block[128];
	uint8_t		digest[64];
	uint8_t		opbyte = (uint8_t) op;
	uint8_t		tail[8];

	memset(block, 0, sizeof(block));
	if (keylen > sizeof(block))
		SHA512(key, keylen, block);
	else if (keylen > 0)
		memcpy(block, key, keylen);

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] ^= 0x36;
	SHA512_Init(&c);
	SHA512_Update(&c, block, sizeof(block));
	SHA512_Update(&c, &opbyte, 1);
	SHA512_Update(&c, key_id, key_id_len);
	SHA512_Update(&c, data, datalen);
	lthash_put_be64(tail, (uint64_t) key_id_len + 1);
	SHA512_Update(&c, tail, sizeof(tail));
	SHA512_Final(digest, &c);

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] ^= 0x36 ^ 0x5c;
	SHA512_Init(&c);
	SHA512_Update(&c, block, sizeof(block));
	SHA512_Update(&c, digest, sizeof(digest));
	SHA512_Final(digest, &c);

	memcpy(out, digest, LTHASH_MAC_BYTES);
	lthash_wipe(block, sizeof(block));
	lthash_wipe(digest, sizeof(digest));
	lthash_wipe(&c, sizeof(c));
}

void
lthash_snapshot_mac(const uint8_t hash[LTHASH_BYTES], uint64_t version,
					const uint8_t *name, size_t namelen,
					const uint8_t *key, size_t keylen,
					uint8_t out[LTHASH_MAC_BYTES])
{
	LthashHmacKey hk;
	LthashHmac	ctx;
	uint8_t		be[8];

	lthash_hmac_key(&hk, key, keylen);
	lthash_hmac_init(&ctx, &hk);
	lthash_hmac_update(&ctx, hash, LTHASH_BYTES);
	lthash_put_be64(be, version);
	lthash_hmac_update(&ctx, be, sizeof(be));
	lthash_hmac_update(&ctx, name, namelen);
	lthash_hmac_final(&ctx, out);
	lthash_wipe(&hk, sizeof(hk));
}

/*
 * Text forms
 */

static const char hex_digits[] = "0123456789abcdef";
static const char b64_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static inline int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void
lthash_format_hex(const uint8_t in[LTHASH_BYTES], char out[LTHASH_HEX_CHARS + 1])
{
	for (int i = 0; i < LTHASH_BYTES; i++)
	{
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 0x0f];
	}
	out[LTHASH_HEX_CHARS] = '\0';
}

void
lthash_base64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t		o = 0;
	size_t		i;

	for (i = 0; i + 3 <= len; i += 3)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8) | in[i + 2];

		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (len - i == 1)
	{
		uint32_t	v = (uint32_t) in[i] << 16;

		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	}
	else if (len - i == 2)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8);

		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

bool
lthash_base64_decode(const char *in, size_t len, uint8_t *out, size_t outcap,
					 size_t *outlen)
{
	size_t		pad = 0;
	size_t		n;
	size_t		o = 0;

	if (len % 4 != 0)
		return false;
	if (len > 0 && in[len - 1] == '=')
		pad = (len > 1 && in[len - 2] == '=') ? 2 : 1;
	n = len / 4 * 3 - pad;
	if (n > outcap)
		return false;

	for (size_t i = 0; i < len; i += 4)
	{
		int			v[4];
		bool		last = (i + 4 == len);

		for (int k = 0; k < 4; k++)
		{
			if (last && k >= 4 - (int) pad)
				v[k] = 0;
			else if ((v[k] = b64_value(in[i + k])) < 0)
				return false;
		}
		if (!last || pad == 0)
		{
			out[o++] = (uint8_t) ((v[0] << 2) | (v[1] >> 4));
			out[o++] = (uint8_t) ((v[1] << 4) | (v[2] >> 2));
			out[o++] = (uint8_t) ((v[2] << 6) | v[3]);
		}
		else if (pad == 1)
		{
			if (v[2] & 0x03)
				return false;	/* non-zero pad bits: not canonical */
			out[o++] = (uint8_t) ((v[0] << 2) | (v[1] >> 4));
			out[o++] = (uint8_t) ((v[1] << 4) | (v[2] >> 2));
		}
		else
		{
			if (v[1] & 0x0f)
				return false;
			out[o++] = (uint8_t) ((v[0] << 2) | (v[1] >> 4));
		}
	}
	*outlen = o;
	return true;
}

LthashParseStatus
lthash_parse(const char *text, size_t len, uint8_t out[LTHASH_BYTES], size_t *where)
{
	*where = 0;

	if (len == LTHASH_HEX_CHARS + 2 && text[0] == '\\' && text[1] == 'x')
	{
		LthashParseStatus status = lthash_parse(text + 2, len - 2, out, where);

		*where += 2;
		return status;
	}

	if (len == LTHASH_HEX_CHARS)
	{
		for (size_t i = 0; i < LTHASH_BYTES; i++)
		{
			int			hi = hex_value(text[2 * i]);
			int			lo = hex_value(text[2 * i + 1]);

			if (hi < 0 || lo < 0)
			{
				*where = 2 * i + (hi < 0 ? 0 : 1);
				return LTHASH_PARSE_BAD_HEX;
			}
			out[i] = (uint8_t) ((hi << 4) | lo);
		}
		return LTHASH_PARSE_OK;
	}

	if (len == LTHASH_B64_CHARS)
	{
		size_t		outlen;

		for (size_t i = 0; i < len; i++)
		{
			if (b64_value(text[i]) < 0 && text[i] != '=')
			{
				*where = i;
				return LTHASH_PARSE_BAD_BASE64;
			}
			if (text[i] == '=' && i != len - 1)
			{
				*where = i;
				return LTHASH_PARSE_BAD_PADDING;
			}
		}
		if (text[len - 1] != '=' ||
			!lthash_base64_decode(text, len, out, LTHASH_BYTES, &outlen) ||
			outlen != LTHASH_BYTES)
		{
			*where = len - 1;
			return LTHASH_PARSE_BAD_PADDING;
		}
		return LTHASH_PARSE_OK;
	}

	*where = len;
	return LTHASH_PARSE_BAD_LENGTH;
}

const char *
lthash_parse_message(LthashParseStatus status)
{
	switch (status)
	{
		case LTHASH_PARSE_OK:
			return "ok";
		case LTHASH_PARSE_BAD_LENGTH:
			return "An LTHash is 256 hex digits, \\x and 256 hex digits, or 172 characters of padded base64";
		case LTHASH_PARSE_BAD_HEX:
			return "Not a hex digit";
		case LTHASH_PARSE_BAD_BASE64:
			return "Not a base64 character";
		case LTHASH_PARSE_BAD_PADDING:
			return "Bad base64 padding";
	}
	return "unknown error";
}
