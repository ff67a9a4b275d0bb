/*-------------------------------------------------------------------------
 *
 * lthash_core.h
 *	  The LTHash and app-state crypto core, free of server calls: SHA-256,
 *	  HMAC and HKDF over libcrypto with precomputed pad states, the LTHash
 *	  lane arithmetic, the app-state MAC formulas, and the text forms of an
 *	  LTHash.
 *
 * Nothing here allocates or raises: functions return status codes, so the
 * same code runs in the server, in the unit test (test/unit) and under the
 * fuzzer (test/fuzz).
 *
 * One header for the whole core, though its code is split by job, because
 * callers use the core as one library (lthash.c and the appstate_*.c files call
 * into three of its files) and the jobs share types (LthashHmacKey,
 * LthashLanes).  The files, all named lthash_core_*, which is how the unit
 * test, the fuzzer and the benchmark find them:
 *
 *	  lthash_core_sha256.c	SHA-256, HMAC, HKDF, wipe, constant-time compare
 *	  lthash_core_expand.c	lanes, the item expansion, choice of implementation
 *	  lthash_core_shani.c	the expansion with the x86-64 SHA extensions
 *	  lthash_core_mac.c		the app-state MAC formulas
 *	  lthash_core_text.c	hex and base64
 *
 * lthash_core_int.h and lthash_core_shani.h are the files' shared internals.
 *
 * LTHash (WhatsApp's app-state "anti-tampering" hash): each item (a 32-byte
 * value MAC) is expanded with HKDF-SHA256(ikm = item, salt = empty,
 * info = "WhatsApp Patch Integrity", L = 128), and the 128 bytes are added to
 * or subtracted from the hash as 64 little-endian uint16 lanes, mod 2^16.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_LTHASH_CORE_H
#define WASTORE_LTHASH_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LTHASH_BYTES		128
#define LTHASH_LANES		64
#define LTHASH_HEX_CHARS	256		/* hex digits of the text form */
#define LTHASH_B64_CHARS	172		/* padded base64 of 128 bytes */

#define LTHASH_SHA256_BYTES 32
#define LTHASH_MAC_BYTES	32		/* index MACs, value MACs, keys */

/* items the batch expansion works on at once (interleaved for the CPU) */
#define LTHASH_BATCH		4

/*
 * The hash as the lanes the arithmetic works on, in host byte order.  The
 * wire form (LTHASH_BYTES) is the lanes little-endian; on little-endian hosts
 * the two are the same bytes.
 */
typedef struct LthashLanes
{
	uint16_t	lane[LTHASH_LANES];
} LthashLanes;

/*
 * Lanes: conversions and arithmetic
 */
extern void lthash_lanes_from_bytes(LthashLanes *h, const uint8_t bytes[LTHASH_BYTES]);
extern void lthash_lanes_to_bytes(const LthashLanes *h, uint8_t bytes[LTHASH_BYTES]);
extern void lthash_lanes_add(LthashLanes *h, const LthashLanes *d);
extern void lthash_lanes_sub(LthashLanes *h, const LthashLanes *d);

/*
 * Item expansion: HKDF-SHA256(item, empty salt, "WhatsApp Patch Integrity",
 * 128).  A 32-byte item costs 15 SHA-256 compressions, the minimum; other
 * lengths take the general HKDF.
 */
extern void lthash_expand(const uint8_t *item, size_t len, uint8_t out[LTHASH_BYTES]);

/*
 * Adds (sign > 0) or subtracts (sign < 0) the expansions of n items to h.
 * Items are expanded LTHASH_BATCH at a time with their compressions
 * interleaved, which keeps the CPU's SHA-256 units busy (one item's
 * compressions form a chain that waits on itself).
 */
extern void lthash_mix(LthashLanes *h, int sign,
					   const uint8_t *const *items, const size_t *lens, int n);

/*
 * Implementations of the 32-byte item expansion: the CPU's SHA extensions
 * (x86-64 SHA-NI, with every intermediate kept in registers) where the CPU
 * has them, else libcrypto's SHA256_Transform.  The best available is
 * chosen on first use; lthash_set_impl picks one instead (for tests and the
 * benchmark) and returns the one in use.
 */
typedef enum LthashImpl
{
	LTHASH_IMPL_BEST = 0,
	LTHASH_IMPL_LIBCRYPTO,
	LTHASH_IMPL_SHANI
} LthashImpl;

extern LthashImpl lthash_set_impl(LthashImpl impl);
extern const char *lthash_impl_name(void);

/*
 * HMAC-SHA256 with its key's pad states computed once
 */
typedef struct LthashHmacKey
{
	uint32_t	inner[8];		/* SHA-256 state after the key ^ ipad block */
	uint32_t	outer[8];		/* ... after the key ^ opad block */
} LthashHmacKey;

typedef struct LthashHmac
{
	const LthashHmacKey *key;
	uint32_t	state[8];
	uint8_t		buf[64];
	size_t		buflen;
	uint64_t	total;			/* bytes hashed, the pad block included */
} LthashHmac;

extern void lthash_hmac_key(LthashHmacKey *key, const uint8_t *k, size_t len);
extern void lthash_hmac_init(LthashHmac *ctx, const LthashHmacKey *key);
extern void lthash_hmac_update(LthashHmac *ctx, const uint8_t *data, size_t len);
extern void lthash_hmac_final(LthashHmac *ctx, uint8_t out[LTHASH_SHA256_BYTES]);
extern void lthash_hmac_sha256(const uint8_t *k, size_t klen,
							   const uint8_t *msg, size_t len,
							   uint8_t out[LTHASH_SHA256_BYTES]);

/* HKDF-SHA256 (RFC 5869); outlen at most 255 * 32 */
extern void lthash_hkdf_sha256(const uint8_t *ikm, size_t ikmlen,
							   const uint8_t *salt, size_t saltlen,
							   const uint8_t *info, size_t infolen,
							   uint8_t *out, size_t outlen);

/* SHA-256 of a message */
extern void lthash_sha256(const uint8_t *msg, size_t len, uint8_t out[LTHASH_SHA256_BYTES]);

/*
 * App-state MACs (see lthash-vectors.md for the formulas)
 */
#define LTHASH_MUTATION_KEYS_BYTES 160	/* five 32-byte keys */
extern void lthash_mutation_keys(const uint8_t *key_data, size_t len,
								 uint8_t out[LTHASH_MUTATION_KEYS_BYTES]);

#define LTHASH_OP_SET		1
#define LTHASH_OP_REMOVE	2

/*
 * The value MAC of a mutation: HMAC-SHA512(key, op || key_id || data ||
 * uint64be(1 + key_id_len)), first 32 bytes.
 */
extern void lthash_content_mac(int op, const uint8_t *data, size_t datalen,
							   const uint8_t *key_id, size_t key_id_len,
							   const uint8_t *key, size_t keylen,
							   uint8_t out[LTHASH_MAC_BYTES]);

/* HMAC-SHA256(key, hash || uint64be(version) || name) */
extern void lthash_snapshot_mac(const uint8_t hash[LTHASH_BYTES], uint64_t version,
								const uint8_t *name, size_t namelen,
								const uint8_t *key, size_t keylen,
								uint8_t out[LTHASH_MAC_BYTES]);

/*
 * HMAC-SHA256(key, snapshot_mac || value_macs[0] || ... || value_macs[n-1]
 * || uint64be(version) || name); each value MAC is LTHASH_MAC_BYTES long.
 */
extern void lthash_patch_mac(const uint8_t snapshot_mac[LTHASH_MAC_BYTES],
							 const uint8_t *const *value_macs, int n,
							 uint64_t version, const uint8_t *name, size_t namelen,
							 const uint8_t *key, size_t keylen,
							 uint8_t out[LTHASH_MAC_BYTES]);

/* uint64 big-endian */
extern void lthash_put_be64(uint8_t out[8], uint64_t v);

/* constant-time comparison */
extern bool lthash_equal_secret(const uint8_t *a, const uint8_t *b, size_t len);

/* wipes key material (not optimised away) */
extern void lthash_wipe(void *p, size_t len);

/*
 * Text forms
 */
typedef enum LthashParseStatus
{
	LTHASH_PARSE_OK = 0,
	LTHASH_PARSE_BAD_LENGTH,	/* neither 256 hex digits nor 172 base64 chars */
	LTHASH_PARSE_BAD_HEX,		/* a character that is not a hex digit */
	LTHASH_PARSE_BAD_BASE64,	/* a character outside the base64 alphabet */
	LTHASH_PARSE_BAD_PADDING	/* '=' misplaced, or non-zero pad bits */
} LthashParseStatus;

/*
 * Parses the text form: 256 hex digits (either case), the same behind a
 * "\x" prefix, or 172 characters of standard padded base64.  Nothing else,
 * no surrounding space.  On error *where is the offset of the bad character
 * (or the length, for a bad length).
 */
extern LthashParseStatus lthash_parse(const char *text, size_t len,
									  uint8_t out[LTHASH_BYTES], size_t *where);
extern const char *lthash_parse_message(LthashParseStatus status);

/* 256 lower-case hex digits and a NUL */
extern void lthash_format_hex(const uint8_t in[LTHASH_BYTES], char out[LTHASH_HEX_CHARS + 1]);

/*
 * Standard padded base64.  encode writes lthash_base64_len(len) characters
 * and a NUL.  decode accepts only canonical padded base64 (what encode
 * writes); it returns false for anything else, or when the result would not
 * fit in outcap bytes.
 */
#define lthash_base64_len(n) ((((n) + 2) / 3) * 4)
extern void lthash_base64_encode(const uint8_t *in, size_t len, char *out);
extern bool lthash_base64_decode(const char *in, size_t len,
								 uint8_t *out, size_t outcap, size_t *outlen);

#endif							/* WASTORE_LTHASH_CORE_H */
