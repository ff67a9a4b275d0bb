/*-------------------------------------------------------------------------
 *
 * lthash_core_shani.h
 *	  The SHA-256 compression with the x86-64 SHA extensions, as inline
 *	  functions on a state held in two vectors; backend-free.
 *
 * The SHA extensions hold a state as two vectors, ABEF and CDGH; a digest
 * that feeds the next block (HMAC's outer hash, HKDF's T(i-1)) becomes that
 * block's first eight message words with a few shuffles, so a chain of
 * compressions never goes through memory.
 *
 * Inline in a header, not beside the expansion that uses it, because two
 * places build on the same primitive: the core's SHA-NI item expansion, and
 * the benchmark (bench/lthash/compress.c), which times bare compressions to
 * measure the machine's limit: code with no business in the server library.
 *
 * Defines LTHASH_HAVE_SHANI where the compiler can target the extensions
 * (x86-64, GCC or Clang); whether the CPU has them is checked at run time.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_LTHASH_CORE_SHANI_H
#define WASTORE_LTHASH_CORE_SHANI_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LTHASH_HAVE_SHANI 1

#include <stdint.h>

#include <immintrin.h>

#define NI_TARGET __attribute__((target("sha,ssse3,sse4.1")))
#define NI_INLINE static inline __attribute__((always_inline)) NI_TARGET

/* the round constants, K of FIPS 180-4 */
static const uint32_t sha256_k[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

typedef struct NiState
{
	__m128i		abef;
	__m128i		cdgh;
} NiState;

/* big-endian words of 16 bytes, as the message schedule takes them */
NI_INLINE __m128i
ni_load_words(const uint8_t *p)
{
	const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);

	return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *) p), mask);
}

/* words A..D and E..H to the ABEF/CDGH form */
NI_INLINE NiState
ni_from_words(__m128i abcd, __m128i efgh)
{
	NiState		st;
	__m128i		cdab = _mm_shuffle_epi32(abcd, 0xB1);

	efgh = _mm_shuffle_epi32(efgh, 0x1B);
	st.abef = _mm_alignr_epi8(cdab, efgh, 8);
	st.cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
	return st;
}

/* the state's digest as words A..D and E..H: a next block's W0..W7 */
NI_INLINE void
ni_to_words(NiState st, __m128i *abcd, __m128i *efgh)
{
	__m128i		feba = _mm_shuffle_epi32(st.abef, 0x1B);
	__m128i		dchg = _mm_shuffle_epi32(st.cdgh, 0xB1);

	*abcd = _mm_blend_epi16(feba, dchg, 0xF0);
	*efgh = _mm_alignr_epi8(dchg, feba, 8);
}

/* the state's digest as bytes (two vectors of 16) */
NI_INLINE void
ni_to_bytes(NiState st, __m128i *lo, __m128i *hi)
{
	const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i		abcd,
				efgh;

	ni_to_words(st, &abcd, &efgh);
	*lo = _mm_shuffle_epi8(abcd, mask);
	*hi = _mm_shuffle_epi8(efgh, mask);
}

#define NI_ROUNDS(W, k) \
	do { \
		__m128i m_ = _mm_add_epi32((W), _mm_load_si128((const __m128i *) &sha256_k[k])); \
		s1 = _mm_sha256rnds2_epu32(s1, s0, m_); \
		m_ = _mm_shuffle_epi32(m_, 0x0E); \
		s0 = _mm_sha256rnds2_epu32(s0, s1, m_); \
	} while (0)

/* W[4i..4i+3] from the four groups before it */
#define NI_SCHEDULE(X0, X1, X2, X3) \
	(X0) = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((X0), (X1)), \
											  _mm_alignr_epi8((X3), (X2), 4)), (X3))

/* one compression of the block W0..W15 (four vectors of words) */
NI_INLINE NiState
ni_compress(NiState st, __m128i w0, __m128i w1, __m128i w2, __m128i w3)
{
	__m128i		s0 = st.abef;
	__m128i		s1 = st.cdgh;

	NI_ROUNDS(w0, 0);
	NI_ROUNDS(w1, 4);
	NI_ROUNDS(w2, 8);
	NI_ROUNDS(w3, 12);
	for (int k = 16; k < 64; k += 16)
	{
		NI_SCHEDULE(w0, w1, w2, w3);
		NI_ROUNDS(w0, k);
		NI_SCHEDULE(w1, w2, w3, w0);
		NI_ROUNDS(w1, k + 4);
		NI_SCHEDULE(w2, w3, w0, w1);
		NI_ROUNDS(w2, k + 8);
		NI_SCHEDULE(w3, w0, w1, w2);
		NI_ROUNDS(w3, k + 12);
	}
	st.abef = _mm_add_epi32(st.abef, s0);
	st.cdgh = _mm_add_epi32(st.cdgh, s1);
	return st;
}

#endif							/* x86-64 */

#endif							/* WASTORE_LTHASH_CORE_SHANI_H */
