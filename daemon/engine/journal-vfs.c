/* SPDX-License-Identifier: MIT */
/*
 * doc/engine.md "One write a commit". SQLite writes each frame of the write-ahead file in two
 * system calls, its 24-byte header and its page: a commit of ten pages costs twenty writes.
 * This VFS passes everything to the system's VFS, except that frames appended to the end of the
 * write-ahead file wait in a buffer and go in one write when their commit's last frame is
 * written — before SQLite syncs the file or publishes the commit to readers, which it does only
 * after that write returns. Anything else flushes the buffer first: a read, a sync, a size, a
 * truncation, a file control, a write anywhere but the end (SQLite rewriting a frame of the same
 * transaction), the close.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine/journal-vfs.h"

#define VFS_NAME        "f2fpay-journal"
#define WAL_HDR_SIZE    32    /* the write-ahead file's header, at offset 0 */
#define FRAME_HDR_SIZE  24    /* each frame's header, before its page */
#define WAL_BUFFER_SIZE 65536 /* a commit of an order is about 20 KB (2 KiB pages) */

struct vfs_file {
	sqlite3_file base;
	sqlite3_file *real; /* the system VFS's file, right after this struct */
	/* The write-ahead file's appends not written yet: len bytes for offset off. NULL for
	 * every other file, and for a write-ahead file whose buffer could not be had: then
	 * every write goes at once, slower and as correct. */
	unsigned char *buf;
	size_t len;
	sqlite3_int64 off;
	/* The end of what was appended since the header was last written: a write below it
	 * rewrites a frame and goes at once. */
	sqlite3_int64 end;
	/* The frame header just buffered is a commit's: its page completes the commit. */
	bool commit_page_next;
};

static sqlite3_vfs *vfs_real;

static int
flush(struct vfs_file *f)
{
	int rc;

	if (f->len == 0)
		return SQLITE_OK;
	rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
	/* Written or not, the bytes leave the buffer: on a failure SQLite abandons the
	 * transaction, and its frames are never published. */
	f->len = 0;
	return rc;
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
wal_write(struct vfs_file *f, const void *data, int amt, sqlite3_int64 off)
{
	bool frame_hdr = amt == FRAME_HDR_SIZE && off >= WAL_HDR_SIZE;
	bool completes = f->commit_page_next && !frame_hdr;
	int rc;

	if (amt == WAL_HDR_SIZE && off == 0)
		f->end = 0; /* a new header: the file starts again */
	f->commit_page_next = false;
	if (off < f->end || (size_t)amt > WAL_BUFFER_SIZE) {
		rc = flush(f);
		if (rc == SQLITE_OK)
			rc = f->real->pMethods->xWrite(f->real, data, amt, off);
		if (rc == SQLITE_OK && off + amt > f->end)
			f->end = off + amt;
		return rc;
	}
	if (f->len > 0 &&
	    (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)amt > WAL_BUFFER_SIZE)) {
		rc = flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, data, (size_t)amt);
	f->len += (size_t)amt;
	f->end = off + amt;
	if (frame_hdr && get_be32((const unsigned char *)data + 4) != 0)
		f->commit_page_next = true; /* bytes 4-7: the database's size after a commit */
	return completes ? flush(f) : SQLITE_OK;
}

static int
vf_close(sqlite3_file *file)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = flush(f), rc2 = f->real->pMethods->xClose(f->real);

	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int
vf_read(sqlite3_file *file, void *data, int amt, sqlite3_int64 off)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, data, amt, off);
}

static int
vf_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
	struct vfs_file *f = (struct vfs_file *)file;

	if (f->buf)
		return wal_write(f, data, amt, off);
	return f->real->pMethods->xWrite(f->real, data, amt, off);
}

static int
vf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = flush(f);

	if (rc != SQLITE_OK)
		return rc;
	if (f->end > size)
		f->end = size;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int
vf_sync(sqlite3_file *file, int flags)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int
vf_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int
vf_lock(sqlite3_file *file, int lock)
{
	struct vfs_file *f = (struct vfs_file *)file;

	return f->real->pMethods->xLock(f->real, lock);
}

static int
vf_unlock(sqlite3_file *file, int lock)
{
	struct vfs_file *f = (struct vfs_file *)file;

	return f->real->pMethods->xUnlock(f->real, lock);
}

static int
vf_check_reserved_lock(sqlite3_file *file, int *out)
{
	struct vfs_file *f = (struct vfs_file *)file;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
vf_file_control(sqlite3_file *file, int op, void *arg)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
vf_sector_size(sqlite3_file *file)
{
	struct vfs_file *f = (struct vfs_file *)file;

	return f->real->pMethods->xSectorSize(f->real);
}

static int
vf_device_characteristics(sqlite3_file *file)
{
	struct vfs_file *f = (struct vfs_file *)file;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int
vf_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
	struct vfs_file *f = (struct vfs_file *)file;

	return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}

static int
vf_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct vfs_file *f = (struct vfs_file *)file;

	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void
vf_shm_barrier(sqlite3_file *file)
{
	struct vfs_file *f = (struct vfs_file *)file;

	f->real->pMethods->xShmBarrier(f->real);
}

static int
vf_shm_unmap(sqlite3_file *file, int delete_flag)
{
	struct vfs_file *f = (struct vfs_file *)file;

	return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int
vf_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **out)
{
	struct vfs_file *f = (struct vfs_file *)file;

	return f->real->pMethods->xFetch(f->real, off, amt, out);
}

static int
vf_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	struct vfs_file *f = (struct vfs_file *)file;

	return f->real->pMethods->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods vfs_methods = {
	.iVersion = 3,
	.xClose = vf_close,
	.xRead = vf_read,
	.xWrite = vf_write,
	.xTruncate = vf_truncate,
	.xSync = vf_sync,
	.xFileSize = vf_file_size,
	.xLock = vf_lock,
	.xUnlock = vf_unlock,
	.xCheckReservedLock = vf_check_reserved_lock,
	.xFileControl = vf_file_control,
	.xSectorSize = vf_sector_size,
	.xDeviceCharacteristics = vf_device_characteristics,
	.xShmMap = vf_shm_map,
	.xShmLock = vf_shm_lock,
	.xShmBarrier = vf_shm_barrier,
	.xShmUnmap = vf_shm_unmap,
	.xFetch = vf_fetch,
	.xUnfetch = vf_unfetch,
};

static int
vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags)
{
	struct vfs_file *f = (struct vfs_file *)file;
	int rc;

	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	rc = vfs_real->xOpen(vfs_real, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc; /* pMethods NULL: SQLite closes nothing */
	if (!f->real->pMethods || f->real->pMethods->iVersion < 3) {
		/* Not a file this VFS can stand in front of: close it and say so. */
		if (f->real->pMethods)
			(void)f->real->pMethods->xClose(f->real);
		return SQLITE_CANTOPEN;
	}
	if (flags & SQLITE_OPEN_WAL)
		f->buf = malloc(WAL_BUFFER_SIZE);
	f->base.pMethods = &vfs_methods;
	return SQLITE_OK;
}

static int
vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return vfs_real->xDelete(vfs_real, name, sync_dir);
}

static int
vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return vfs_real->xAccess(vfs_real, name, flags, out);
}

static int
vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return vfs_real->xFullPathname(vfs_real, name, n, out);
}

static void *
vfs_dl_open(sqlite3_vfs *vfs, const char *name)
{
	return vfs_real->xDlOpen(vfs_real, name);
}

static void
vfs_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
	vfs_real->xDlError(vfs_real, n, out);
}

static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return vfs_real->xDlSym(vfs_real, h, sym);
}

static void
vfs_dl_close(sqlite3_vfs *vfs, void *h)
{
	vfs_real->xDlClose(vfs_real, h);
}

static int
vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return vfs_real->xRandomness(vfs_real, n, out);
}

static int
vfs_sleep(sqlite3_vfs *vfs, int usec)
{
	return vfs_real->xSleep(vfs_real, usec);
}

static int
vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	return vfs_real->xCurrentTime(vfs_real, out);
}

static int
vfs_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return vfs_real->xGetLastError(vfs_real, n, out);
}

static int
vfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return vfs_real->xCurrentTimeInt64(vfs_real, out);
}

static sqlite3_vfs vfs = {
	.iVersion = 2,
	.zName = VFS_NAME,
	.xOpen = vfs_open,
	.xDelete = vfs_delete,
	.xAccess = vfs_access,
	.xFullPathname = vfs_full_pathname,
	.xDlOpen = vfs_dl_open,
	.xDlError = vfs_dl_error,
	.xDlSym = vfs_dl_sym,
	.xDlClose = vfs_dl_close,
	.xRandomness = vfs_randomness,
	.xSleep = vfs_sleep,
	.xCurrentTime = vfs_current_time,
	.xGetLastError = vfs_get_last_error,
	.xCurrentTimeInt64 = vfs_current_time_int64,
};

static bool vfs_registered;

static void
vfs_register(void)
{
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);

	if (!real || real->iVersion < 2)
		return;
	vfs_real = real;
	vfs.szOsFile = (int)sizeof(struct vfs_file) + real->szOsFile;
	vfs.mxPathname = real->mxPathname;
	vfs_registered = sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
}

const char *
journal_vfs_name(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, vfs_register);
	return vfs_registered ? VFS_NAME : NULL;
}
