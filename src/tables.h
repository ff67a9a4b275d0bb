/*-------------------------------------------------------------------------
 *
 * tables.h
 *	  Column numbers of wastore's tables, for the code that reads them
 *	  directly rather than through SQL.
 *
 * Attribute numbers count dropped columns too: 1.2 replaced each table's
 * store column by an incarnation column added at the end, so the numbers
 * below are those of every install, fresh or upgraded (a fresh install runs
 * the same scripts).  A pgTAP test pins them to the catalog.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_TABLES_H
#define WASTORE_TABLES_H

/* wastore.store_owners */
#define Anum_store_owners_store			1
#define Anum_store_owners_owner			2
#define Anum_store_owners_created_at	3
#define Anum_store_owners_incarnation	4
#define Anum_store_owners_lock_salt		5

/* wastore.keys, and the columns of its primary key index */
#define Anum_keys_family				2
#define Anum_keys_id					3
#define Anum_keys_value					4
#define Anum_keys_incarnation			5
#define Anum_keys_pkey_incarnation		1
#define Anum_keys_pkey_family			2
#define Anum_keys_pkey_id				3

/* wastore.leases (1.2) */
#define Anum_leases_incarnation			1
#define Anum_leases_holder				2
#define Anum_leases_token				3
#define Anum_leases_acquired_at			4
#define Anum_leases_expires_at			5

#endif							/* WASTORE_TABLES_H */
