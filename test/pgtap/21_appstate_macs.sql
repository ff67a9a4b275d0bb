-- App-state MAC functions: every MAC vector of lthash-vectors.md, and bad
-- input.
BEGIN;
SELECT plan(36);
SET LOCAL search_path = wastore, public;

-- set A
CREATE TEMP TABLE ka ON COMMIT DROP AS
	SELECT * FROM expand_app_state_keys('\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
SELECT is((SELECT count(*)::int FROM ka), 1, 'expand_app_state_keys returns one row');
SELECT is((SELECT index_key FROM ka), '\x61387bcf643616a68bd611a45516b3980418323087d78bf08c615645549434b4'::bytea, 'A: index key');
SELECT is((SELECT value_encryption_key FROM ka), '\x900ba2843ba5fb0cee55cf2a4de9503dce68187d3f6b95b420b008bde66f5a20'::bytea, 'A: value encryption key');
SELECT is((SELECT value_mac_key FROM ka), '\xd0879f6b61f0bcba79faad3f47a8a768fd7fc04a6cc8b3ecefedfa087413226f'::bytea, 'A: value MAC key');
SELECT is((SELECT snapshot_mac_key FROM ka), '\x69b2e91be6587307c43c29b027a71fdd55be25f07ca726714115430d23093071'::bytea, 'A: snapshot MAC key');
SELECT is((SELECT patch_mac_key FROM ka), '\x693845bdd996652aca9ca0b96d0f081abf29943303c5eb19bdb84f38b24c32ab'::bytea, 'A: patch MAC key');

SELECT is(content_mac('set', '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', '\x000000000001', (SELECT value_mac_key FROM ka)),
	'\xd8cf32b0b13679b134594027175cb9c11ac62985f35ed7f4ced0e6485f1f1d80'::bytea, 'A: value MAC of a SET');
SELECT is(content_mac('remove', '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', decode('AAAAAAAB', 'base64'), (SELECT value_mac_key FROM ka)),
	'\xc919cb312a7b61a7887a0950ad002cd880f5b8fd460fdb7524204c6a9338b1c4'::bytea, 'A: value MAC of a REMOVE (key id from base64 "AAAAAAAB")');
SELECT is(content_mac('SET', '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', '\x000000000001', (SELECT value_mac_key FROM ka)),
	'\xd8cf32b0b13679b134594027175cb9c11ac62985f35ed7f4ced0e6485f1f1d80'::bytea, 'the operation is case-insensitive (SET, as the protobuf enum spells it)');
SELECT is(index_mac(convert_to('["mute","123@s.whatsapp.net"]', 'UTF8'), (SELECT index_key FROM ka)),
	'\x995a77c7387bc9166a176e840f16a184597c12a490ac0d2a1eec26aef05d5a93'::bytea, 'A: index MAC');
SELECT is(snapshot_mac(lthash_add(lthash_zero(), ARRAY[decode(repeat('01', 32), 'hex')]), 5, 'regular_high', (SELECT snapshot_mac_key FROM ka)),
	'\x9f6b89168be30e5cadad3cdfd0606a9563d7b1adeae9067859911fb598fad3a6'::bytea, 'A: snapshot MAC');
SELECT is(patch_mac('\x9f6b89168be30e5cadad3cdfd0606a9563d7b1adeae9067859911fb598fad3a6',
		ARRAY[decode(repeat('01', 32), 'hex'), decode(repeat('02', 32), 'hex')], 5, 'regular_high', (SELECT patch_mac_key FROM ka)),
	'\x3f8e1eae6ecf582b38cbf8f86d5722db5912925a25198a92e124acafc87dab23'::bytea, 'A: patch MAC');

-- set B
CREATE TEMP TABLE kb ON COMMIT DROP AS SELECT * FROM expand_app_state_keys(decode(repeat('ab', 32), 'hex'));
SELECT is((SELECT index_key FROM kb), '\x1a2f88aa8e3eb24ca402db696de12c1086a276abdba2c47e26c06364b93f3b3d'::bytea, 'B: index key');
SELECT is((SELECT value_encryption_key FROM kb), '\x77a7ec8c43abb19447f8d835c13969879bd93002c98f26208d333f6f1cf164e6'::bytea, 'B: value encryption key');
SELECT is((SELECT value_mac_key FROM kb), '\x727f48e2dc0c564ef1afdcc4970a7b33e2cf0755023a54c86b5e98ec87d95806'::bytea, 'B: value MAC key');
SELECT is((SELECT snapshot_mac_key FROM kb), '\x594042c35c7f491a06f8db5700e83979b43731e1577ad5b1ebadf65777a0c974'::bytea, 'B: snapshot MAC key');
SELECT is((SELECT patch_mac_key FROM kb), '\x1e554669bd64c63bfc9baf191288ab37093c166447194defc98de6c53d86fa9c'::bytea, 'B: patch MAC key');
SELECT is(content_mac('set', convert_to('test payload', 'UTF8'), '\x01020304', (SELECT value_mac_key FROM kb)),
	'\x97cbe88c1699f9f1234d1dbd7ef8b093c7b2fbc8ff3d6efcde41849ad1828569'::bytea, 'B: value MAC of a SET');
SELECT is(content_mac('remove', convert_to('test payload', 'UTF8'), '\x01020304', (SELECT value_mac_key FROM kb)),
	'\xd313e752b853225c8fcb93765d5fdb03cd16a509f7eb806ca8c705e9ededb3b4'::bytea, 'B: value MAC of a REMOVE');
SELECT is(snapshot_mac(lthash_zero(), 1, 'regular_high', (SELECT snapshot_mac_key FROM kb)),
	'\x6875d29d0db3cca9ccaff28976ee3158941e5a6ea1aa306eb67b4a48b10cbce9'::bytea, 'B: snapshot MAC of the zero hash');
SELECT is(patch_mac('\x6875d29d0db3cca9ccaff28976ee3158941e5a6ea1aa306eb67b4a48b10cbce9',
		ARRAY['\x97cbe88c1699f9f1234d1dbd7ef8b093c7b2fbc8ff3d6efcde41849ad1828569'::bytea], 1, 'regular_high', (SELECT patch_mac_key FROM kb)),
	'\xb95f06307d7ee8d6cb5496cf3224c62f1a753fbf367fc0fc82b3bd0a203595e3'::bytea, 'B: patch MAC');

-- bad input
SELECT throws_ok($$ SELECT * FROM wastore.expand_app_state_keys('\x0102') $$, '22023', 'key_data must be 32 bytes', 'key data of 2 bytes');
SELECT throws_ok($$ SELECT * FROM wastore.expand_app_state_keys(NULL) $$, '22004', 'key_data must not be NULL', 'NULL key data');
SELECT throws_ok($$ SELECT wastore.content_mac('update', '\x00', '\x01', decode(repeat('00', 32), 'hex')) $$,
	'22023', 'operation must be set or remove', 'an operation other than set or remove');
SELECT throws_ok($$ SELECT wastore.content_mac(NULL, '\x00', '\x01', decode(repeat('00', 32), 'hex')) $$,
	'22004', 'operation must not be NULL', 'a NULL operation');
SELECT throws_ok($$ SELECT wastore.content_mac('set', NULL, '\x01', decode(repeat('00', 32), 'hex')) $$,
	'22004', 'data must not be NULL', 'NULL data');
SELECT throws_ok($$ SELECT wastore.content_mac('set', '\x00', '\x01', '\x00') $$, '22023', 'key must be 32 bytes', 'a 1-byte key');
SELECT throws_ok($$ SELECT wastore.index_mac('\x00', decode(repeat('00', 33), 'hex')) $$, '22023', 'key must be 32 bytes', 'a 33-byte index key');
SELECT throws_ok($$ SELECT wastore.index_mac(NULL, decode(repeat('00', 32), 'hex')) $$, '22004', 'index must not be NULL', 'a NULL index');
SELECT throws_ok($$ SELECT wastore.snapshot_mac(wastore.lthash_zero(), -1, 'regular', decode(repeat('00', 32), 'hex')) $$,
	'22023', 'version must not be negative', 'a negative version');
SELECT throws_ok($$ SELECT wastore.snapshot_mac(NULL, 1, 'regular', decode(repeat('00', 32), 'hex')) $$,
	'22004', 'hash must not be NULL', 'a NULL hash');
SELECT throws_ok($$ SELECT wastore.snapshot_mac(wastore.lthash_zero(), 1, NULL, decode(repeat('00', 32), 'hex')) $$,
	'22004', 'collection must not be NULL', 'a NULL collection');
SELECT throws_ok($$ SELECT wastore.patch_mac('\x00', ARRAY[]::bytea[], 1, 'regular', decode(repeat('00', 32), 'hex')) $$,
	'22023', 'snapshot_mac must be 32 bytes', 'a short snapshot MAC');
SELECT throws_ok($$ SELECT wastore.patch_mac(decode(repeat('00', 32), 'hex'), ARRAY['\x01'::bytea], 1, 'regular', decode(repeat('00', 32), 'hex')) $$,
	'22023', 'every element of value_macs must be 32 bytes', 'a short value MAC');
SELECT throws_ok($$ SELECT wastore.patch_mac(decode(repeat('00', 32), 'hex'), ARRAY[NULL::bytea], 1, 'regular', decode(repeat('00', 32), 'hex')) $$,
	'22004', 'value_macs must not contain NULL elements', 'a NULL value MAC');
SELECT throws_ok($$ SELECT wastore.patch_mac(decode(repeat('00', 32), 'hex'), ARRAY[]::bytea[], NULL, 'regular', decode(repeat('00', 32), 'hex')) $$,
	'22004', 'version must not be NULL', 'a NULL version');

SELECT * FROM finish();
ROLLBACK;
