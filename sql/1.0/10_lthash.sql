
--------------------------------------------------------------------------
-- LTHash: WhatsApp's app-state integrity hash, a fixed 128-byte type
--------------------------------------------------------------------------

CREATE TYPE wastore.lthash;

CREATE FUNCTION wastore.lthash_in(cstring)
RETURNS wastore.lthash
AS 'MODULE_PATHNAME', 'lthash_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_in(cstring) IS
	'Input of wastore.lthash: 256 hex digits, \x and 256 hex digits, or 172 characters of padded base64';

CREATE FUNCTION wastore.lthash_out(wastore.lthash)
RETURNS cstring
AS 'MODULE_PATHNAME', 'lthash_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_out(wastore.lthash) IS
	'Output of wastore.lthash: 256 lower-case hex digits';

CREATE FUNCTION wastore.lthash_recv(internal)
RETURNS wastore.lthash
AS 'MODULE_PATHNAME', 'lthash_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_recv(internal) IS
	'Binary input of wastore.lthash: the raw 128 bytes';

CREATE FUNCTION wastore.lthash_send(wastore.lthash)
RETURNS bytea
AS 'MODULE_PATHNAME', 'lthash_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_send(wastore.lthash) IS
	'Binary output of wastore.lthash: the raw 128 bytes';

CREATE TYPE wastore.lthash (
	INPUT = wastore.lthash_in,
	OUTPUT = wastore.lthash_out,
	RECEIVE = wastore.lthash_recv,
	SEND = wastore.lthash_send,
	INTERNALLENGTH = 128,
	ALIGNMENT = char,
	STORAGE = plain
);
COMMENT ON TYPE wastore.lthash IS
	'LTHash (64 little-endian uint16 lanes, 128 bytes): text is 256 hex digits; input also takes \x hex and padded base64';

-- casts to and from bytea (exactly 128 bytes)
CREATE FUNCTION wastore.lthash_from_bytea(bytea)
RETURNS wastore.lthash
AS 'MODULE_PATHNAME', 'lthash_from_bytea'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_from_bytea(bytea) IS
	'The LTHash of 128 raw bytes; any other length is an error (22023)';

CREATE FUNCTION wastore.lthash_to_bytea(wastore.lthash)
RETURNS bytea
AS 'MODULE_PATHNAME', 'lthash_to_bytea'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_to_bytea(wastore.lthash) IS
	'The 128 raw bytes of an LTHash';

CREATE CAST (bytea AS wastore.lthash) WITH FUNCTION wastore.lthash_from_bytea(bytea) AS ASSIGNMENT;
CREATE CAST (wastore.lthash AS bytea) WITH FUNCTION wastore.lthash_to_bytea(wastore.lthash) AS ASSIGNMENT;
COMMENT ON CAST (bytea AS wastore.lthash) IS 'The LTHash of exactly 128 raw bytes (22023 otherwise)';
COMMENT ON CAST (wastore.lthash AS bytea) IS 'The 128 raw bytes of an LTHash';

-- equality, usable in hash joins, hash aggregation and hash indexes
CREATE FUNCTION wastore.lthash_eq(wastore.lthash, wastore.lthash)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lthash_eq'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION wastore.lthash_eq(wastore.lthash, wastore.lthash) IS
	'Whether two LTHashes are equal (implements =)';

CREATE FUNCTION wastore.lthash_ne(wastore.lthash, wastore.lthash)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lthash_ne'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION wastore.lthash_ne(wastore.lthash, wastore.lthash) IS
	'Whether two LTHashes differ (implements <>)';

CREATE FUNCTION wastore.lthash_hash(wastore.lthash)
RETURNS integer
AS 'MODULE_PATHNAME', 'lthash_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_hash(wastore.lthash) IS
	'Hash support of the lthash hash operator class';

CREATE FUNCTION wastore.lthash_hash_extended(wastore.lthash, bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'lthash_hash_extended'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_hash_extended(wastore.lthash, bigint) IS
	'Seeded 64-bit hash support of the lthash hash operator class';

-- byte order, for btree indexes, unique constraints, ORDER BY, DISTINCT and
-- merge joins (the order means nothing as arithmetic)
CREATE FUNCTION wastore.lthash_cmp(wastore.lthash, wastore.lthash)
RETURNS integer
AS 'MODULE_PATHNAME', 'lthash_cmp'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION wastore.lthash_cmp(wastore.lthash, wastore.lthash) IS
	'Byte-order comparison of two LTHashes (btree support)';

CREATE FUNCTION wastore.lthash_lt(wastore.lthash, wastore.lthash)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lthash_lt'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION wastore.lthash_lt(wastore.lthash, wastore.lthash) IS 'Implements < (byte order)';

CREATE FUNCTION wastore.lthash_le(wastore.lthash, wastore.lthash)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lthash_le'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION wastore.lthash_le(wastore.lthash, wastore.lthash) IS 'Implements <= (byte order)';

CREATE FUNCTION wastore.lthash_gt(wastore.lthash, wastore.lthash)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lthash_gt'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION wastore.lthash_gt(wastore.lthash, wastore.lthash) IS 'Implements > (byte order)';

CREATE FUNCTION wastore.lthash_ge(wastore.lthash, wastore.lthash)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lthash_ge'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION wastore.lthash_ge(wastore.lthash, wastore.lthash) IS 'Implements >= (byte order)';

CREATE OPERATOR wastore.< (
	LEFTARG = wastore.lthash, RIGHTARG = wastore.lthash, FUNCTION = wastore.lthash_lt,
	COMMUTATOR = OPERATOR(wastore.>), NEGATOR = OPERATOR(wastore.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR wastore.< (wastore.lthash, wastore.lthash) IS 'less than (byte order)';

CREATE OPERATOR wastore.<= (
	LEFTARG = wastore.lthash, RIGHTARG = wastore.lthash, FUNCTION = wastore.lthash_le,
	COMMUTATOR = OPERATOR(wastore.>=), NEGATOR = OPERATOR(wastore.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR wastore.<= (wastore.lthash, wastore.lthash) IS 'less than or equal (byte order)';

CREATE OPERATOR wastore.> (
	LEFTARG = wastore.lthash, RIGHTARG = wastore.lthash, FUNCTION = wastore.lthash_gt,
	COMMUTATOR = OPERATOR(wastore.<), NEGATOR = OPERATOR(wastore.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR wastore.> (wastore.lthash, wastore.lthash) IS 'greater than (byte order)';

CREATE OPERATOR wastore.>= (
	LEFTARG = wastore.lthash, RIGHTARG = wastore.lthash, FUNCTION = wastore.lthash_ge,
	COMMUTATOR = OPERATOR(wastore.<=), NEGATOR = OPERATOR(wastore.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR wastore.>= (wastore.lthash, wastore.lthash) IS 'greater than or equal (byte order)';

CREATE OPERATOR wastore.= (
	LEFTARG = wastore.lthash,
	RIGHTARG = wastore.lthash,
	FUNCTION = wastore.lthash_eq,
	COMMUTATOR = OPERATOR(wastore.=),
	NEGATOR = OPERATOR(wastore.<>),
	RESTRICT = eqsel,
	JOIN = eqjoinsel,
	HASHES,
	MERGES
);
COMMENT ON OPERATOR wastore.= (wastore.lthash, wastore.lthash) IS 'equal';

CREATE OPERATOR wastore.<> (
	LEFTARG = wastore.lthash,
	RIGHTARG = wastore.lthash,
	FUNCTION = wastore.lthash_ne,
	COMMUTATOR = OPERATOR(wastore.<>),
	NEGATOR = OPERATOR(wastore.=),
	RESTRICT = neqsel,
	JOIN = neqjoinsel
);
COMMENT ON OPERATOR wastore.<> (wastore.lthash, wastore.lthash) IS 'not equal';

CREATE OPERATOR CLASS wastore.lthash_ops
DEFAULT FOR TYPE wastore.lthash USING btree AS
	OPERATOR 1 wastore.< (wastore.lthash, wastore.lthash),
	OPERATOR 2 wastore.<= (wastore.lthash, wastore.lthash),
	OPERATOR 3 wastore.= (wastore.lthash, wastore.lthash),
	OPERATOR 4 wastore.>= (wastore.lthash, wastore.lthash),
	OPERATOR 5 wastore.> (wastore.lthash, wastore.lthash),
	FUNCTION 1 wastore.lthash_cmp(wastore.lthash, wastore.lthash);
COMMENT ON OPERATOR CLASS wastore.lthash_ops USING btree IS
	'Byte order of LTHashes (btree indexes, unique constraints, sorting)';

CREATE OPERATOR CLASS wastore.lthash_ops
DEFAULT FOR TYPE wastore.lthash USING hash AS
	OPERATOR 1 wastore.= (wastore.lthash, wastore.lthash),
	FUNCTION 1 wastore.lthash_hash(wastore.lthash),
	FUNCTION 2 wastore.lthash_hash_extended(wastore.lthash, bigint);
COMMENT ON OPERATOR CLASS wastore.lthash_ops USING hash IS
	'Hash equality of LTHashes (hash joins, hash aggregation, hash indexes)';

-- arithmetic: not STRICT, a NULL hash or item raises 22004
CREATE FUNCTION wastore.lthash_zero()
RETURNS wastore.lthash
AS 'MODULE_PATHNAME', 'lthash_zero'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_zero() IS
	'The LTHash of nothing: 128 zero bytes';

CREATE FUNCTION wastore.lthash_add(h wastore.lthash, items bytea[])
RETURNS wastore.lthash
AS 'MODULE_PATHNAME', 'lthash_add'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_add(wastore.lthash, bytea[]) IS
	'h plus the HKDF expansion of every item (lane-wise mod 2^16); NULL h, items or elements raise 22004';

CREATE FUNCTION wastore.lthash_subtract(h wastore.lthash, items bytea[])
RETURNS wastore.lthash
AS 'MODULE_PATHNAME', 'lthash_subtract'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_subtract(wastore.lthash, bytea[]) IS
	'h minus the HKDF expansion of every item (lane-wise mod 2^16); NULL h, items or elements raise 22004';

CREATE FUNCTION wastore.lthash_subtract_then_add(h wastore.lthash, subtract bytea[], add bytea[])
RETURNS wastore.lthash
AS 'MODULE_PATHNAME', 'lthash_subtract_then_add'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_subtract_then_add(wastore.lthash, bytea[], bytea[]) IS
	'h minus the subtract items plus the add items; note the argument order: subtract list first (whatsmeow, current Baileys core)';

CREATE FUNCTION wastore.lthash_plus(h wastore.lthash, item bytea)
RETURNS wastore.lthash
AS 'MODULE_PATHNAME', 'lthash_plus'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_plus(wastore.lthash, bytea) IS
	'h plus one item (implements lthash + bytea)';

CREATE FUNCTION wastore.lthash_minus(h wastore.lthash, item bytea)
RETURNS wastore.lthash
AS 'MODULE_PATHNAME', 'lthash_minus'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_minus(wastore.lthash, bytea) IS
	'h minus one item (implements lthash - bytea)';

CREATE OPERATOR wastore.+ (
	LEFTARG = wastore.lthash,
	RIGHTARG = bytea,
	FUNCTION = wastore.lthash_plus
);
COMMENT ON OPERATOR wastore.+ (wastore.lthash, bytea) IS 'add one item to an LTHash';

CREATE OPERATOR wastore.- (
	LEFTARG = wastore.lthash,
	RIGHTARG = bytea,
	FUNCTION = wastore.lthash_minus
);
COMMENT ON OPERATOR wastore.- (wastore.lthash, bytea) IS 'subtract one item from an LTHash';

CREATE FUNCTION wastore.lthash_implementation()
RETURNS text
AS 'MODULE_PATHNAME', 'lthash_implementation'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_implementation() IS
	'Which SHA-256 implementation expands LTHash items in this server: the CPU''s SHA extensions or libcrypto';

-- the aggregate: sum over rows, from zero
CREATE FUNCTION wastore.lthash_agg_transfn(internal, bytea)
RETURNS internal
AS 'MODULE_PATHNAME', 'lthash_agg_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_agg_transfn(internal, bytea) IS
	'Transition function of lthash_agg';

CREATE FUNCTION wastore.lthash_agg_invfn(internal, bytea)
RETURNS internal
AS 'MODULE_PATHNAME', 'lthash_agg_invfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_agg_invfn(internal, bytea) IS
	'Inverse transition function of lthash_agg (moving window frames)';

CREATE FUNCTION wastore.lthash_agg_finalfn(internal)
RETURNS wastore.lthash
AS 'MODULE_PATHNAME', 'lthash_agg_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_agg_finalfn(internal) IS
	'Final function of lthash_agg';

CREATE FUNCTION wastore.lthash_agg_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'lthash_agg_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_agg_combinefn(internal, internal) IS
	'Combine function of lthash_agg (parallel aggregation)';

CREATE FUNCTION wastore.lthash_agg_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'lthash_agg_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_agg_serialfn(internal) IS
	'Serialization function of lthash_agg (parallel aggregation)';

CREATE FUNCTION wastore.lthash_agg_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'lthash_agg_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.lthash_agg_deserialfn(bytea, internal) IS
	'Deserialization function of lthash_agg (parallel aggregation)';

CREATE AGGREGATE wastore.lthash_agg(bytea) (
	SFUNC = wastore.lthash_agg_transfn,
	STYPE = internal,
	SSPACE = 272,
	FINALFUNC = wastore.lthash_agg_finalfn,
	COMBINEFUNC = wastore.lthash_agg_combinefn,
	SERIALFUNC = wastore.lthash_agg_serialfn,
	DESERIALFUNC = wastore.lthash_agg_deserialfn,
	MSFUNC = wastore.lthash_agg_transfn,
	MINVFUNC = wastore.lthash_agg_invfn,
	MSTYPE = internal,
	MSSPACE = 272,
	MFINALFUNC = wastore.lthash_agg_finalfn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE wastore.lthash_agg(bytea) IS
	'The LTHash of the rows'' items: their sum from zero (zero for no rows); a NULL item raises 22004';
