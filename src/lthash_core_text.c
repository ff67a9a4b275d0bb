/*-------------------------------------------------------------------------
 *
 * lthash_core_text.c
 *	  The text forms of an LTHash (hex, \x and hex, padded base64) and the
 *	  base64 codec the app-state JSON uses; backend-free.
 *
 * Parsing reports a status and the offset of the first bad character
 * instead of raising, so that the server (lthash.c) words the error and the
 * fuzzer (test/fuzz) can run the parser on its own.  base64 is strict:
 * only the canonical padded form is accepted, so that every accepted text
 * is the one encode writes and a value has one spelling.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "lthash_core.h"

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
