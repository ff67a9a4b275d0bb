/*-------------------------------------------------------------------------
 *
 * lthash_core_sha256.c
 *	  SHA-256, HMAC-SHA256 with precomputed pad states, and HKDF-SHA256,
 *	  over libcrypto's compression function; backend-free.
 *
 * Everything SHA-256 in the core goes through one primitive, the compression
 * function (libcrypto's SHA256_Transform, which uses the CPU's SHA extensions
 * where there are some).  Owning the padding and the HMAC layering, instead
 * of calling libcrypto's HMAC, lets a key be turned into its two pad states
 * once and reused for any number of messages: the app-state MACs and HKDF's
 * expand step hash many short messages under one key.
 *
 * Also here: the other two things the core takes from libcrypto, the
 * constant-time comparison and the wipe.
 *
 *-------------------------------------------------------------------------
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "lthash_core_int.h"

#ifdef OPENSSL_NO_DEPRECATED_3_0
#error "wastore needs libcrypto's SHA256_Transform (OpenSSL built without deprecated APIs)"
#endif

_Static_assert(sizeof(SHA_LONG) == sizeof(uint32_t), "SHA_LONG is 32 bits");

const uint32_t lthash_sha256_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
};

static inline void
compress(uint32_t h[8], const uint8_t block[64])
{
	SHA256_CTX	c;

	memcpy(c.h, h, 32);
	SHA256_Transform(&c, block);
	memcpy(h, c.h, 32);
}

void
lthash_put_be64(uint8_t out[8], uint64_t v)
{
	lthash_put_be32(out, (uint32_t) (v >> 32));
	lthash_put_be32(out + 4, (uint32_t) v);
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
 * Pads a message's last block(s) and compresses them.  total counts every
 * byte hashed, an HMAC pad block included.
 */
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
lthash_sha256(const uint8_t *msg, size_t len, uint8_t out[LTHASH_SHA256_BYTES])
{
	uint32_t	state[8];
	uint8_t		buf[64];
	size_t		rest = len % 64;

	memcpy(state, lthash_sha256_iv, 32);
	for (size_t off = 0; off + 64 <= len; off += 64)
		compress(state, msg + off);
	if (rest > 0)
		memcpy(buf, msg + len - rest, rest);
	sha256_pad(state, buf, rest, len);
	lthash_state_bytes(state, out);
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
	memcpy(key->inner, lthash_sha256_iv, 32);
	compress(key->inner, block);

	for (int i = 0; i < 64; i++)
		block[i] ^= 0x36 ^ 0x5c;
	memcpy(key->outer, lthash_sha256_iv, 32);
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

void
lthash_hmac_final(LthashHmac *ctx, uint8_t out[LTHASH_SHA256_BYTES])
{
	uint8_t		block[64];

	sha256_pad(ctx->state, ctx->buf, ctx->buflen, ctx->total);

	/* outer: key ^ opad (precomputed), then the 32-byte inner digest */
	lthash_state_bytes(ctx->state, block);
	memcpy(ctx->state, ctx->key->outer, 32);
	sha256_pad(ctx->state, block, 32, 64 + 32);

	lthash_state_bytes(ctx->state, out);
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
