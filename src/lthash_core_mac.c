/*-------------------------------------------------------------------------
 *
 * lthash_core_mac.c
 *	  The app-state MAC formulas: mutation keys, the value (content) MAC,
 *	  the snapshot MAC and the patch MAC; backend-free.
 *
 * The formulas are WhatsApp's (see lthash-vectors.md, whose vectors the unit
 * test checks); the server's SQL functions (appstate_mac.c) only check their
 * arguments and call these.  The index MAC is plain HMAC-SHA256 of the index
 * JSON (lthash_hmac_sha256) and needs no formula of its own.
 *
 *-------------------------------------------------------------------------
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/sha.h>

#include "lthash_core.h"

static const uint8_t mutation_keys_info[22] = "WhatsApp Mutation Keys";

void
lthash_mutation_keys(const uint8_t *key_data, size_t len,
					 uint8_t out[LTHASH_MUTATION_KEYS_BYTES])
{
	lthash_hkdf_sha256(key_data, len, NULL, 0,
					   mutation_keys_info, sizeof(mutation_keys_info),
					   out, LTHASH_MUTATION_KEYS_BYTES);
}

/*
 * HMAC-SHA512, spelled out over libcrypto's SHA-512 rather than its HMAC:
 * the message is four pieces (the 8-byte tail is built here), and hashing
 * them in place spares a concatenated copy of the data.
 */
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

/*
 * HMAC-SHA256(key, head || parts[0] || ... || parts[n-1] ||
 * uint64be(version) || name), each part LTHASH_MAC_BYTES long: the two MACs
 * that bind a collection's state to its version and name differ only in
 * what comes first.
 */
static void
versioned_mac(const uint8_t *key, size_t keylen,
			  const uint8_t *head, size_t headlen,
			  const uint8_t *const *parts, int n,
			  uint64_t version, const uint8_t *name, size_t namelen,
			  uint8_t out[LTHASH_MAC_BYTES])
{
	LthashHmacKey hk;
	LthashHmac	ctx;
	uint8_t		be[8];

	lthash_put_be64(be, version);
	lthash_hmac_key(&hk, key, keylen);
	lthash_hmac_init(&ctx, &hk);
	lthash_hmac_update(&ctx, head, headlen);
	for (int i = 0; i < n; i++)
		lthash_hmac_update(&ctx, parts[i], LTHASH_MAC_BYTES);
	lthash_hmac_update(&ctx, be, sizeof(be));
	lthash_hmac_update(&ctx, name, namelen);
	lthash_hmac_final(&ctx, out);
	lthash_wipe(&hk, sizeof(hk));
}

/* the hash, then the version and the name */
void
lthash_snapshot_mac(const uint8_t hash[LTHASH_BYTES], uint64_t version,
					const uint8_t *name, size_t namelen,
					const uint8_t *key, size_t keylen,
					uint8_t out[LTHASH_MAC_BYTES])
{
	versioned_mac(key, keylen, hash, LTHASH_BYTES, NULL, 0, version, name, namelen, out);
}

/* the snapshot MAC and the patch's value MACs, then the version and the name */
void
lthash_patch_mac(const uint8_t snapshot_mac[LTHASH_MAC_BYTES],
				 const uint8_t *const *value_macs, int n,
				 uint64_t version, const uint8_t *name, size_t namelen,
				 const uint8_t *key, size_t keylen,
				 uint8_t out[LTHASH_MAC_BYTES])
{
	versioned_mac(key, keylen, snapshot_mac, LTHASH_MAC_BYTES, value_macs, n,
				  version, name, namelen, out);
}
