/*
 * Unit test of the backend-free LTHash core (src/lthash_core_*.c), outside
 * the server: every vector of lthash-vectors.md, then the core's SHA-256,
 * HMAC, HKDF, MACs and base64 against libcrypto's own over random inputs,
 * the batch expansion against the one-item path, the lane arithmetic's laws,
 * the choice of implementation, and the text parser.  Prints TAP; exits non-zero on any failure.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>

#include "lthash_core.h"

static int	ntests = 0;
static int	nfailed = 0;

static void
ok(int cond, const char *name)
{
	ntests++;
	if (!cond)
		nfailed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntests, name);
}

static size_t
unhex(const char *hex, uint8_t *out)
{
	size_t		n = 0;

	for (; hex[0] && hex[1]; hex += 2)
	{
		unsigned	v;

		if (sscanf(hex, "%2x", &v) != 1)
			abort();
		out[n++] = (uint8_t) v;
	}
	return n;
}

static int
eq_hex(const uint8_t *bytes, size_t len, const char *hex)
{
	uint8_t		want[512];

	return unhex(hex, want) == len && memcmp(bytes, want, len) == 0;
}

/* deterministic pseudo-random bytes (xorshift) */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static void
random_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		p[i] = (uint8_t) rng;
	}
}

static void
add_items(uint8_t hash[LTHASH_BYTES], int sign, const uint8_t *const *items, int n)
{
	LthashLanes h;
	size_t		lens[16];

	for (int i = 0; i < n; i++)
		lens[i] = 32;
	lthash_lanes_from_bytes(&h, hash);
	lthash_mix(&h, sign, items, lens, n);
	lthash_lanes_to_bytes(&h, hash);
}

static void
fill(uint8_t *p, uint8_t v, size_t n)
{
	memset(p, v, n);
}

/* HKDF by libcrypto, the reference */
static void
openssl_hkdf(const uint8_t *ikm, size_t ikmlen, const char *info, uint8_t *out, size_t outlen)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t		len = outlen;

	if (!pctx || EVP_PKEY_derive_init(pctx) <= 0 ||
		EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) <= 0 ||
		EVP_PKEY_CTX_set1_hkdf_key(pctx, ikm, (int) ikmlen) <= 0 ||
		EVP_PKEY_CTX_add1_hkdf_info(pctx, (const unsigned char *) info, (int) strlen(info)) <= 0 ||
		EVP_PKEY_derive(pctx, out, &len) <= 0)
	{
		/* libcrypto refuses an empty key; zero bytes of output mark it */
		memset(out, 0, outlen);
	}
	EVP_PKEY_CTX_free(pctx);
}

static void
test_vectors_a(void)
{
	uint8_t		key_data[32],
				keys[160],
				one[32],
				two[32],
				hash[LTHASH_BYTES],
				mac[32],
				key_id[6],
				data[32];
	const uint8_t *items[2] = {one, two};
	const char *index_json = "[\"mute\",\"123@s.whatsapp.net\"]";

	unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", key_data);
	lthash_mutation_keys(key_data, 32, keys);
	ok(eq_hex(keys, 32, "61387bcf643616a68bd611a45516b3980418323087d78bf08c615645549434b4"), "A: index key");
	ok(eq_hex(keys + 32, 32, "900ba2843ba5fb0cee55cf2a4de9503dce68187d3f6b95b420b008bde66f5a20"), "A: value encryption key");
	ok(eq_hex(keys + 64, 32, "d0879f6b61f0bcba79faad3f47a8a768fd7fc04a6cc8b3ecefedfa087413226f"), "A: value MAC key");
	ok(eq_hex(keys + 96, 32, "69b2e91be6587307c43c29b027a71fdd55be25f07ca726714115430d23093071"), "A: snapshot MAC key");
	ok(eq_hex(keys + 128, 32, "693845bdd996652aca9ca0b96d0f081abf29943303c5eb19bdb84f38b24c32ab"), "A: patch MAC key");

	unhex("000000000001", key_id);
	unhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", data);
	lthash_content_mac(LTHASH_OP_SET, data, 32, key_id, 6, keys + 64, 32, mac);
	ok(eq_hex(mac, 32, "d8cf32b0b13679b134594027175cb9c11ac62985f35ed7f4ced0e6485f1f1d80"), "A: value MAC, set");
	lthash_content_mac(LTHASH_OP_REMOVE, data, 32, key_id, 6, keys + 64, 32, mac);
	ok(eq_hex(mac, 32, "c919cb312a7b61a7887a0950ad002cd880f5b8fd460fdb7524204c6a9338b1c4"), "A: value MAC, remove");

	lthash_hmac_sha256(keys, 32, (const uint8_t *) index_json, strlen(index_json), mac);
	ok(eq_hex(mac, 32, "995a77c7387bc9166a176e840f16a184597c12a490ac0d2a1eec26aef05d5a93"), "A: index MAC");

	fill(one, 1, 32);
	fill(two, 2, 32);
	fill(hash, 0, sizeof(hash));
	add_items(hash, 1, items, 1);
	ok(eq_hex(hash, 128, "480731be8120f60bc4ec932b3d4a39963619f5159f1b76eb47c202e2015b5eacfaeb9739457e87ebe9b32113d372c334184c526cb53a7b3a62ec3732838ee43b94d8b11eeb4c6a278ac31f15e3d4b26e23f637f31e278ff399d2141a81dbc5f400aa882afeff5deeedd3ebcdd7e6e0757b7f0fb0595de01935b2819f1ab58173"),
	   "A: add(zero, [01x32])");

	{
		uint8_t		exp[LTHASH_BYTES];

		lthash_expand(one, 32, exp);
		ok(memcmp(exp, hash, LTHASH_BYTES) == 0, "A: add(zero, [x]) is the expansion of x");
	}

	/* snapshot MAC over add(zero, [01x32]), version 5 */
	{
		uint8_t		snap[32];

		lthash_snapshot_mac(hash, 5, (const uint8_t *) "regular_high", 12, keys + 96, 32, snap);
		ok(eq_hex(snap, 32, "9f6b89168be30e5cadad3cdfd0606a9563d7b1adeae9067859911fb598fad3a6"), "A: snapshot MAC");

		lthash_patch_mac(snap, items, 2, 5, (const uint8_t *) "regular_high", 12, keys + 128, 32, mac);
		ok(eq_hex(mac, 32, "3f8e1eae6ecf582b38cbf8f86d5722db5912925a25198a92e124acafc87dab23"), "A: patch MAC");
	}

	fill(hash, 0, sizeof(hash));
	add_items(hash, 1, items, 2);
	ok(eq_hex(hash, 128, "530d65c5e08d8d0a3accb9e7b460caecbd83baba3240092381e5c30f7184d83ab5005be5ffb6764e69de87199bb35696e25c322762752ee97a3eea10a2f6bee5975b981c2445d73080f6c9a0a3b74d506bada8b1448e1d300e636ecb4cc782deaf512e1c7d489d23904966e24f3f153d22693053f7780deb018d7158d0ab517e"),
	   "A: add(zero, [01x32, 02x32])");

	fill(hash, 0, sizeof(hash));
	add_items(hash, -1, items, 1);
	ok(eq_hex(hash, 128, "b8f8cf417fdf0af43c136dd4c3b5c769cae60bea61e48a14b93dfe1dffa4a253061469c6bb817914174cdfec2d8d3dcbe8b3ae934bc585c59e13c9cd7d711cc46c274fe115b396d8763ce1ea1d2b4e91dd09c90ce2d8710c672dece57f243b0b005678d50200a311132c15322919208a8580f14fa7a220e6cb4d7f60e64a7f8c"),
	   "A: subtract(zero, [01x32]) wraps around");

	fill(hash, 0, sizeof(hash));
	add_items(hash, 1, items, 1);
	add_items(hash, -1, items, 1);
	add_items(hash, 1, items + 1, 1);
	ok(eq_hex(hash, 128, "0b0634075f6d97fe76df26bc77169156876ac5a4932493373a23c12d70297a8ebb14c4abba38ef62802a6606c8409361ca10e0baad3ab3ae1852b3de1f68daa90383e7fd39f86d09f632aa8bc0e29be148b771be26678e3c75905ab1cbebbde9afa7a6f17f484035a3757b14785835c7a7e921a39e1b2dd1ccdaf0b8b6f6d00a"),
	   "A: subtractThenAdd");
}

static void
test_vectors_b(void)
{
	uint8_t		key_data[32],
				keys[160],
				mac[32],
				set_mac[32],
				snap[32],
				hash[LTHASH_BYTES],
				mac_a[32],
				mac_b[32],
				key_id[4] = {1, 2, 3, 4};
	const char *payload = "test payload";
	const uint8_t *a[1] = {mac_a};
	const uint8_t *ab[2] = {mac_a, mac_b};
	const uint8_t *b[1] = {mac_b};

	fill(key_data, 0xab, 32);
	lthash_mutation_keys(key_data, 32, keys);
	ok(eq_hex(keys, 32, "1a2f88aa8e3eb24ca402db696de12c1086a276abdba2c47e26c06364b93f3b3d"), "B: index key");
	ok(eq_hex(keys + 32, 32, "77a7ec8c43abb19447f8d835c13969879bd93002c98f26208d333f6f1cf164e6"), "B: value encryption key");
	ok(eq_hex(keys + 64, 32, "727f48e2dc0c564ef1afdcc4970a7b33e2cf0755023a54c86b5e98ec87d95806"), "B: value MAC key");
	ok(eq_hex(keys + 96, 32, "594042c35c7f491a06f8db5700e83979b43731e1577ad5b1ebadf65777a0c974"), "B: snapshot MAC key");
	ok(eq_hex(keys + 128, 32, "1e554669bd64c63bfc9baf191288ab37093c166447194defc98de6c53d86fa9c"), "B: patch MAC key");

	lthash_content_mac(LTHASH_OP_SET, (const uint8_t *) payload, strlen(payload), key_id, 4, keys + 64, 32, set_mac);
	ok(eq_hex(set_mac, 32, "97cbe88c1699f9f1234d1dbd7ef8b093c7b2fbc8ff3d6efcde41849ad1828569"), "B: value MAC, set");
	lthash_content_mac(LTHASH_OP_REMOVE, (const uint8_t *) payload, strlen(payload), key_id, 4, keys + 64, 32, mac);
	ok(eq_hex(mac, 32, "d313e752b853225c8fcb93765d5fdb03cd16a509f7eb806ca8c705e9ededb3b4"), "B: value MAC, remove");

	fill(hash, 0, sizeof(hash));
	lthash_snapshot_mac(hash, 1, (const uint8_t *) "regular_high", 12, keys + 96, 32, snap);
	ok(eq_hex(snap, 32, "6875d29d0db3cca9ccaff28976ee3158941e5a6ea1aa306eb67b4a48b10cbce9"), "B: snapshot MAC");
	{
		const uint8_t *set[1] = {set_mac};

		lthash_patch_mac(snap, set, 1, 1, (const uint8_t *) "regular_high", 12, keys + 128, 32, mac);
		ok(eq_hex(mac, 32, "b95f06307d7ee8d6cb5496cf3224c62f1a753fbf367fc0fc82b3bd0a203595e3"), "B: patch MAC");
	}

	lthash_sha256((const uint8_t *) "value_mac_a", 11, mac_a);
	lthash_sha256((const uint8_t *) "value_mac_b", 11, mac_b);
	ok(eq_hex(mac_a, 32, "aba8b9c205e5542477c5eba406bc266dae3544d73add097cbbac08d2b36967c7"), "B: mac_a");
	ok(eq_hex(mac_b, 32, "9b94d218f15f2c92a8177663ab394bd482e022206d7079207bc055402cb8bf16"), "B: mac_b");

	fill(hash, 0, sizeof(hash));
	add_items(hash, 1, a, 1);
	ok(eq_hex(hash, 128, "a1e55bb204e701f072e19f5f863098f158eef7272075f13cfa8aec059e52ccaa9e582e1328d956b0ef0e4d793429390152f33b38c5784cce96d5ea3274433f8ef733e23c5c6b28d67ef6211be04ad7f8e6cb1ceba0dffae63122fd5c43c55ad9bc4075796aa0487faa3e135eea790e65cd7c2854455fa1d988b3ef42fd2c856f"),
	   "B: add(zero, [mac_a])");
	ok(!eq_hex(hash, 128, "5c9685d63228e2f99d3e14f51a1015cd89253466915b9d569712d6e408a2f885084f4fa440788cd185d264be2b03aa4b7aed8d31b894e6e39993556d1c6a6924520847b8a4393a9fc2af208e8709b2b549a3e6b087d8e4cffe021e59c8ea002bcb1a64feb57c8c5ea160aa271d549e991e827994394453d5636120283500b1d5"),
	   "B: not the wrong value of the SHA-256 counter expansion");
	fill(hash, 0, sizeof(hash));
	add_items(hash, 1, ab, 2);
	ok(eq_hex(hash, 128, "74c4f3abbedcd83267fee58512f10f9f2e685a55904f2bd51da8c5b2767df37bc5854e22db0c143f41ceabf9f606ed6d712628c8d20d67d586154beb3c8e2c9231c57000dbe17781eae4ecc27cddc7d10281c273c64a8e0a8273320446cbc04473fa8a59ff5b40c6219029e542467beaea79aeab27883269723be11944bfda4d"),
	   "B: add(zero, [mac_a, mac_b])");
	fill(hash, 0, sizeof(hash));
	add_items(hash, 1, a, 1);
	add_items(hash, -1, a, 1);
	add_items(hash, 1, b, 1);
	ok(eq_hex(hash, 128, "d3de98f9baf5d742f51c46268cc077add679632d70da3a98231dd9acd82a27d1272d200fb333be8e52bf5e80c2ddb46c1f33ed8f0d951b07f03f61b8c84aed033a918ec37f764fab6ceecba79c92f0d81cb5a688266b9423515135a70306666bb7b915e095bbf8467751168758cc6d851dfd8657e228918fea87f2d6479255de"),
	   "B: subtractThenAdd");
}

/* the core's primitives against libcrypto's, over random inputs */
static void
test_against_libcrypto(void)
{
	uint8_t		key[300],
				msg[700],
				ours[LTHASH_BYTES],
				theirs[LTHASH_BYTES];
	unsigned int len;
	int			sha_ok = 1,
				hmac_ok = 1,
				hkdf_ok = 1,
				cmac_ok = 1;

	for (int round = 0; round < 2000; round++)
	{
		size_t		klen = (size_t) (round * 7) % 200;
		size_t		mlen = (size_t) (round * 13) % 700;

		random_bytes(key, klen);
		random_bytes(msg, mlen);

		lthash_sha256(msg, mlen, ours);
		SHA256(msg, mlen, theirs);
		sha_ok &= memcmp(ours, theirs, 32) == 0;

		lthash_hmac_sha256(key, klen, msg, mlen, ours);
		HMAC(EVP_sha256(), key, (int) klen, msg, mlen, theirs, &len);
		hmac_ok &= memcmp(ours, theirs, 32) == 0;

		/* HMAC-SHA512 in the content MAC's layout */
		{
			uint8_t		buf[1000];
			uint8_t		be[8];
			size_t		kid = klen % 17;

			buf[0] = (uint8_t) (1 + round % 2);
			memcpy(buf + 1, key, kid);
			memcpy(buf + 1 + kid, msg, mlen);
			lthash_put_be64(be, kid + 1);
			memcpy(buf + 1 + kid + mlen, be, 8);
			HMAC(EVP_sha512(), msg, (int) (mlen % 150), buf, 1 + kid + mlen + 8, theirs, &len);
			lthash_content_mac(1 + round % 2, msg, mlen, key, kid, msg, mlen % 150, ours);
			cmac_ok &= memcmp(ours, theirs, 32) == 0;
		}

		if (klen > 0 && round < 500)
		{
			lthash_expand(key, klen, ours);
			openssl_hkdf(key, klen, "WhatsApp Patch Integrity", theirs, LTHASH_BYTES);
			hkdf_ok &= memcmp(ours, theirs, LTHASH_BYTES) == 0;
		}
	}
	ok(sha_ok, "SHA-256 equals libcrypto's over 2000 random messages");
	ok(hmac_ok, "HMAC-SHA256 equals libcrypto's over 2000 random keys and messages");
	ok(cmac_ok, "content MAC equals libcrypto's HMAC-SHA512, truncated");
	ok(hkdf_ok, "item expansion equals libcrypto's HKDF for items of 1..199 bytes");
}

/*
 * The snapshot and patch MACs against libcrypto's HMAC over the message laid
 * out whole: 0..20 value MACs, versions across the 64 bits, names of 0..299
 * bytes (the message crosses many block boundaries), keys of several lengths
 */
static void
test_macs_against_libcrypto(void)
{
	uint8_t		key[100],
				snap[32],
				hash[LTHASH_BYTES],
				name[300],
				value_macs[20][32],
				msg[32 + 20 * 32 + 8 + 300],
				ours[32],
				theirs[32];
	const uint8_t *ptrs[20];
	unsigned int len;
	int			snap_ok = 1,
				patch_ok = 1;

	for (int i = 0; i < 20; i++)
		ptrs[i] = value_macs[i];
	for (int round = 0; round < 500; round++)
	{
		int			n = round % 21;
		size_t		klen = (size_t) (round * 11) % 100;
		size_t		namelen = (size_t) (round * 37) % 300;
		uint64_t	version;
		size_t		off = 0;

		random_bytes(key, klen);
		random_bytes(snap, sizeof(snap));
		random_bytes(hash, sizeof(hash));
		random_bytes(name, namelen);
		random_bytes(&value_macs[0][0], sizeof(value_macs));
		random_bytes((uint8_t *) &version, sizeof(version));
		version >>= round % 64;

		memcpy(msg, hash, LTHASH_BYTES);
		lthash_put_be64(msg + LTHASH_BYTES, version);
		memcpy(msg + LTHASH_BYTES + 8, name, namelen);
		HMAC(EVP_sha256(), key, (int) klen, msg, LTHASH_BYTES + 8 + namelen, theirs, &len);
		lthash_snapshot_mac(hash, version, name, namelen, key, klen, ours);
		snap_ok &= memcmp(ours, theirs, 32) == 0;

		memcpy(msg + off, snap, 32);
		off += 32;
		for (int i = 0; i < n; i++, off += 32)
			memcpy(msg + off, value_macs[i], 32);
		lthash_put_be64(msg + off, version);
		off += 8;
		memcpy(msg + off, name, namelen);
		off += namelen;
		HMAC(EVP_sha256(), key, (int) klen, msg, off, theirs, &len);
		lthash_patch_mac(snap, ptrs, n, version, name, namelen, key, klen, ours);
		patch_ok &= memcmp(ours, theirs, 32) == 0;
	}
	ok(snap_ok, "snapshot MAC equals libcrypto's HMAC over 500 random hashes, versions and names");
	ok(patch_ok, "patch MAC equals libcrypto's HMAC over 0..20 random value MACs, versions and names");
}

/* the 4-way batch against one item at a time, and the laws of the lanes */
static void
test_mix(void)
{
	uint8_t		items[11][32];
	const uint8_t *ptrs[11];
	size_t		lens[11];
	int			batch_ok = 1;

	random_bytes(&items[0][0], sizeof(items));
	for (int i = 0; i < 11; i++)
	{
		ptrs[i] = items[i];
		lens[i] = 32;
	}

	for (int n = 0; n <= 11; n++)
	{
		LthashLanes batch,
					single;

		memset(&batch, 0, sizeof(batch));
		memset(&single, 0, sizeof(single));
		lthash_mix(&batch, 1, ptrs, lens, n);
		for (int i = 0; i < n; i++)
		{
			uint8_t		exp[LTHASH_BYTES];
			uint8_t		ref[LTHASH_BYTES];
			LthashLanes d;

			lthash_expand(items[i], 32, exp);
			openssl_hkdf(items[i], 32, "WhatsApp Patch Integrity", ref, LTHASH_BYTES);
			batch_ok &= memcmp(exp, ref, LTHASH_BYTES) == 0;
			lthash_lanes_from_bytes(&d, exp);
			lthash_lanes_add(&single, &d);
		}
		batch_ok &= memcmp(&batch, &single, sizeof(batch)) == 0;
	}
	ok(batch_ok, "batches of 0..11 items equal one item at a time, and libcrypto's HKDF");

	{
		LthashLanes h,
					start;
		uint8_t		bytes[LTHASH_BYTES];
		size_t		mixed_lens[11];

		random_bytes(bytes, sizeof(bytes));
		lthash_lanes_from_bytes(&h, bytes);
		start = h;
		for (int i = 0; i < 11; i++)
			mixed_lens[i] = (size_t) (i * 3);	/* 0, 3, ..., 30 bytes: the general path */
		mixed_lens[5] = 32;
		lthash_mix(&h, 1, ptrs, mixed_lens, 11);
		ok(memcmp(&h, &start, sizeof(h)) != 0, "adding items changes the hash");
		lthash_mix(&h, -1, ptrs, mixed_lens, 11);
		ok(memcmp(&h, &start, sizeof(h)) == 0, "add then subtract returns the start (mixed lengths)");

		/* order does not matter */
		{
			const uint8_t *rev[11];
			LthashLanes fwd,
						bwd;

			for (int i = 0; i < 11; i++)
				rev[i] = ptrs[10 - i];
			memset(&fwd, 0, sizeof(fwd));
			memset(&bwd, 0, sizeof(bwd));
			lthash_mix(&fwd, 1, ptrs, lens, 11);
			lthash_mix(&bwd, 1, rev, lens, 11);
			ok(memcmp(&fwd, &bwd, sizeof(fwd)) == 0, "the order of the items does not matter");
		}

		lthash_lanes_to_bytes(&h, bytes);
		{
			LthashLanes back;

			lthash_lanes_from_bytes(&back, bytes);
			ok(memcmp(&back, &h, sizeof(h)) == 0, "lanes round-trip through their little-endian bytes");
		}
	}

	{
		LthashLanes a,
					b;
		uint8_t		bytes[LTHASH_BYTES];

		memset(bytes, 0xff, sizeof(bytes));
		lthash_lanes_from_bytes(&a, bytes);
		memset(bytes, 0, sizeof(bytes));
		bytes[0] = 1;
		lthash_lanes_from_bytes(&b, bytes);
		lthash_lanes_add(&a, &b);
		lthash_lanes_to_bytes(&a, bytes);
		ok(bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0xff && bytes[3] == 0xff,
		   "lanes add mod 2^16, without carry into the next lane");
	}
}

static void
test_text(void)
{
	uint8_t		bytes[LTHASH_BYTES],
				back[LTHASH_BYTES];
	char		hex[LTHASH_HEX_CHARS + 1],
				text[400],
				b64[LTHASH_B64_CHARS + 1];
	size_t		where;
	int			fmt_ok = 1;

	for (int round = 0; round < 200; round++)
	{
		unsigned char ref[200];

		random_bytes(bytes, sizeof(bytes));
		lthash_format_hex(bytes, hex);
		fmt_ok &= lthash_parse(hex, LTHASH_HEX_CHARS, back, &where) == LTHASH_PARSE_OK &&
			memcmp(bytes, back, LTHASH_BYTES) == 0;

		snprintf(text, sizeof(text), "\\x%s", hex);
		fmt_ok &= lthash_parse(text, strlen(text), back, &where) == LTHASH_PARSE_OK &&
			memcmp(bytes, back, LTHASH_BYTES) == 0;

		for (int i = 0; hex[i]; i++)
			text[i] = (char) ((hex[i] >= 'a') ? hex[i] - 32 : hex[i]);
		fmt_ok &= lthash_parse(text, LTHASH_HEX_CHARS, back, &where) == LTHASH_PARSE_OK &&
			memcmp(bytes, back, LTHASH_BYTES) == 0;

		lthash_base64_encode(bytes, LTHASH_BYTES, b64);
		EVP_EncodeBlock(ref, bytes, LTHASH_BYTES);
		fmt_ok &= strlen(b64) == LTHASH_B64_CHARS && strcmp(b64, (char *) ref) == 0;
		fmt_ok &= lthash_parse(b64, LTHASH_B64_CHARS, back, &where) == LTHASH_PARSE_OK &&
			memcmp(bytes, back, LTHASH_BYTES) == 0;
	}
	ok(fmt_ok, "hex, upper-case hex, \\x hex and base64 round-trip; base64 equals libcrypto's");

	{
		int			b64_ok = 1;

		for (size_t n = 0; n < 70; n++)
		{
			uint8_t		in[70],
						out[70];
			char		enc[100];
			unsigned char ref[100];
			size_t		outlen;

			random_bytes(in, n);
			lthash_base64_encode(in, n, enc);
			EVP_EncodeBlock(ref, in, (int) n);
			b64_ok &= strcmp(enc, (char *) ref) == 0;
			b64_ok &= lthash_base64_decode(enc, strlen(enc), out, sizeof(out), &outlen) &&
				outlen == n && memcmp(in, out, n) == 0;
			if (n > 0)
				b64_ok &= !lthash_base64_decode(enc, strlen(enc), out, n - 1, &outlen);
		}
		ok(b64_ok, "base64 of 0..69 bytes round-trips and respects the output size");
	}

	lthash_format_hex(bytes, hex);
	ok(lthash_parse(hex, 255, back, &where) == LTHASH_PARSE_BAD_LENGTH && where == 255, "255 hex digits: bad length");
	ok(lthash_parse("", 0, back, &where) == LTHASH_PARSE_BAD_LENGTH, "empty: bad length");
	memcpy(text, hex, 257);
	text[100] = 'g';
	ok(lthash_parse(text, 256, back, &where) == LTHASH_PARSE_BAD_HEX && where == 100, "a non-hex digit, at its offset");
	text[100] = ' ';
	ok(lthash_parse(text, 256, back, &where) == LTHASH_PARSE_BAD_HEX, "a space inside is not hex");
	snprintf(text, sizeof(text), "\\X%s", hex);
	ok(lthash_parse(text, 258, back, &where) == LTHASH_PARSE_BAD_LENGTH, "\\X (capital) is not a prefix");
	snprintf(text, sizeof(text), "\\x%s", hex);
	text[7] = 'z';
	ok(lthash_parse(text, 258, back, &where) == LTHASH_PARSE_BAD_HEX && where == 7, "\\x: offsets count the prefix");

	lthash_base64_encode(bytes, LTHASH_BYTES, b64);
	memcpy(text, b64, 173);
	text[10] = '-';
	ok(lthash_parse(text, 172, back, &where) == LTHASH_PARSE_BAD_BASE64 && where == 10, "base64url is not base64");
	memcpy(text, b64, 173);
	text[171] = 'A';
	ok(lthash_parse(text, 172, back, &where) == LTHASH_PARSE_BAD_PADDING, "172 base64 chars without the pad: bad padding");
	memcpy(text, b64, 173);
	text[170] = '=';
	ok(lthash_parse(text, 172, back, &where) == LTHASH_PARSE_BAD_PADDING, "two pads (127 bytes): bad padding");
	memcpy(text, b64, 173);
	text[20] = '=';
	ok(lthash_parse(text, 172, back, &where) == LTHASH_PARSE_BAD_PADDING && where == 20, "a pad in the middle");
	memcpy(text, b64, 173);
	text[170] = text[170] == 'B' ? 'C' : 'B';	/* low bits of the last digit: 0b01 or 0b10 */
	ok(lthash_parse(text, 172, back, &where) == LTHASH_PARSE_BAD_PADDING, "non-zero pad bits: not canonical");
	ok(lthash_parse(b64, 171, back, &where) == LTHASH_PARSE_BAD_LENGTH, "unpadded base64 (171): bad length");
}

static void
test_hkdf_general(void)
{
	uint8_t		ikm[32],
				out[200],
				ref[200];

	random_bytes(ikm, sizeof(ikm));
	lthash_hkdf_sha256(ikm, 32, NULL, 0, (const uint8_t *) "WhatsApp Mutation Keys", 22, out, 200);
	openssl_hkdf(ikm, 32, "WhatsApp Mutation Keys", ref, 200);
	ok(memcmp(out, ref, 200) == 0, "HKDF of 200 bytes (not a whole number of blocks) equals libcrypto's");
}

int
main(void)
{
	LthashImpl	impls[2] = {LTHASH_IMPL_LIBCRYPTO, LTHASH_IMPL_SHANI};
	uint8_t		item[32] = {1},
				first[LTHASH_BYTES],
				again[LTHASH_BYTES];
	const char *first_name;

	/* the first expansion chooses the implementation: the best one */
	lthash_expand(item, 32, first);
	first_name = lthash_impl_name();
	ok(lthash_set_impl(LTHASH_IMPL_BEST) == (strcmp(first_name, "x86-64 SHA extensions") == 0 ?
											 LTHASH_IMPL_SHANI : LTHASH_IMPL_LIBCRYPTO) &&
	   strcmp(lthash_impl_name(), first_name) == 0,
	   "the first use chooses what lthash_set_impl(BEST) chooses");
	lthash_set_impl(LTHASH_IMPL_LIBCRYPTO);
	lthash_expand(item, 32, again);
	ok(memcmp(first, again, LTHASH_BYTES) == 0 &&
	   strcmp(lthash_impl_name(), "libcrypto SHA256_Transform") == 0,
	   "lthash_set_impl switches to libcrypto, with the same expansion");

	/* the vectors and the expansion with each implementation this CPU has */
	for (int i = 0; i < 2; i++)
	{
		if (lthash_set_impl(impls[i]) != impls[i])
		{
			printf("# %s: not on this CPU, skipped\n", impls[i] == LTHASH_IMPL_SHANI ? "SHA-NI" : "?");
			continue;
		}
		printf("# implementation: %s\n", lthash_impl_name());
		test_vectors_a();
		test_vectors_b();
		test_against_libcrypto();
		test_mix();
	}
	lthash_set_impl(LTHASH_IMPL_BEST);
	test_macs_against_libcrypto();
	test_text();
	test_hkdf_general();
	printf("1..%d\n", ntests);
	if (nfailed)
		fprintf(stderr, "test_lthash_core: %d of %d failed\n", nfailed, ntests);
	return nfailed ? 1 : 0;
}
