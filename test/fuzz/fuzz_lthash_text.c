/*
 * libFuzzer target for the LTHash text parser and base64 of the backend-free
 * core (src/lthash_core_*.c), built with AddressSanitizer and
 * UndefinedBehaviorSanitizer.  Checks, for any input:
 *   - the parser never reads or writes out of bounds, and an error's offset
 *     lies inside the input;
 *   - an accepted input round-trips: its hex and base64 forms parse back to
 *     the same 128 bytes, and a hex input in lower case is its own output;
 *   - base64 decoding accepts only canonical text: whatever it accepts
 *     encodes back to exactly the input;
 *   - the item expansion of short inputs is the same with the SHA-NI and the
 *     libcrypto implementations (a differential check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lthash_core.h"

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); \
			abort(); \
		} \
	} while (0)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	uint8_t		out[LTHASH_BYTES],
				back[LTHASH_BYTES];
	char		hex[LTHASH_HEX_CHARS + 1];
	char		b64[LTHASH_B64_CHARS + 1];
	size_t		where;
	LthashParseStatus status;

	status = lthash_parse(text, size, out, &where);
	if (status == LTHASH_PARSE_OK)
	{
		lthash_format_hex(out, hex);
		CHECK(lthash_parse(hex, LTHASH_HEX_CHARS, back, &where) == LTHASH_PARSE_OK);
		CHECK(memcmp(out, back, LTHASH_BYTES) == 0);
		lthash_base64_encode(out, LTHASH_BYTES, b64);
		CHECK(strlen(b64) == LTHASH_B64_CHARS);
		CHECK(lthash_parse(b64, LTHASH_B64_CHARS, back, &where) == LTHASH_PARSE_OK);
		CHECK(memcmp(out, back, LTHASH_BYTES) == 0);
		if (size == LTHASH_HEX_CHARS && strspn(hex, "0123456789abcdef") == LTHASH_HEX_CHARS)
		{
			bool		lower = true;

			for (size_t i = 0; i < size; i++)
				lower &= !(text[i] >= 'A' && text[i] <= 'F');
			if (lower)
				CHECK(memcmp(hex, text, size) == 0);
		}
		if (size == LTHASH_B64_CHARS)
			CHECK(memcmp(b64, text, size) == 0);
	}
	else
	{
		CHECK(where <= size);
		CHECK(lthash_parse_message(status) != NULL);
	}

	{
		uint8_t		decoded[200];
		char		reencoded[400];
		size_t		n;

		if (size <= 260 && lthash_base64_decode(text, size, decoded, sizeof(decoded), &n))
		{
			CHECK(lthash_base64_len(n) == size);
			lthash_base64_encode(decoded, n, reencoded);
			CHECK(memcmp(reencoded, text, size) == 0);
		}
	}

	if (size <= 64)
	{
		uint8_t		a[LTHASH_BYTES],
					b[LTHASH_BYTES];
		LthashImpl	best = lthash_set_impl(LTHASH_IMPL_BEST);

		lthash_expand(data, size, a);
		lthash_set_impl(LTHASH_IMPL_LIBCRYPTO);
		lthash_expand(data, size, b);
		lthash_set_impl(best);
		CHECK(memcmp(a, b, LTHASH_BYTES) == 0);
	}
	return 0;
}
