/* ISO 9660 images of config media, made in-process with libisofs (the
 * library behind xorriso): ISO 9660 with Joliet and Rock Ridge, from files
 * in memory, reproducible (fixed timestamps and volume UUID, so the same
 * files give the same bytes). Also reads an image's directory back. The
 * only module that links libisofs. */
#pragma once

#include <glib.h>
#include <nestlab/media.h>

G_BEGIN_DECLS

/* Which directory tree of an image to read. */
typedef enum {
  NL_ISO_TREE_ISO9660,   /* plain ISO 9660 names (upper case 8.3) */
  NL_ISO_TREE_JOLIET,    /* Joliet: what Windows reads */
  NL_ISO_TREE_ROCK_RIDGE /* Rock Ridge: what Linux reads */
} NlIsoTree;

/* The image of FILES (NlMediaFile*, relative paths, e.g.
 * "nestlab/SetupComplete.cmd"; folders are made as needed) with volume
 * label LABEL (at most 32 characters). A new GBytes, or NULL with ERROR
 * set. */
GBytes *nl_iso_build (const char *label, GPtrArray *files, GError **error);

/* The image of MEDIA (its label and files), written to PATH: through a
 * temporary file of mode MODE in the same folder, renamed over PATH, so
 * a reader never sees half an image. */
gboolean nl_iso_write (const NlMedia *media, const char *path, int mode, GError **error);

/* The volume label of the image at PATH, and its files as paths ("a",
 * "dir/b", sorted) as TREE names them. NULL with ERROR when it is not an
 * image libisofs can read or lacks the tree. */
GPtrArray *nl_iso_list (const char *path, NlIsoTree tree, char **label, GError **error);

/* The contents of the file at FILE_PATH (a path nl_iso_list gave for TREE)
 * in the image at PATH. */
GBytes *nl_iso_read_file (const char *path, NlIsoTree tree, const char *file_path, GError **error);

/* Copies the file at FILE_PATH (as TREE names it) out of the image at
 * PATH into a new file DEST (mode 0600; it must not exist), streaming:
 * an install.wim of several GiB never sits in memory. NL_ERROR_NOT_FOUND
 * when the image has no such file; on any failure DEST is removed. */
gboolean nl_iso_extract_file (const char *path, NlIsoTree tree, const char *file_path, const char *dest,
                              GError **error);

G_END_DECLS
