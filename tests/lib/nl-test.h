/* Shared helpers for nestlab's Check suites (unit and integration): a
 * main() that writes TAP for meson and keeps /tmp clean, golden-file
 * comparison (NESTLAB_REGENERATE=1 rewrites), lists of test data files and
 * temporary folders that remove themselves. */
#pragma once

#include <check.h>
#include <glib.h>

/* Absolute path of a file under tests/data (newly allocated). */
char *nl_test_data_path (const char *relative);

/* The names of the entries of the folder tests/data/RELATIVE_DIR that end
 * in SUFFIX, sorted (a new array of new strings). A missing folder gives an
 * empty array: callers assert on the count. Meant for building a suite, one
 * loop case per file, so the file's name is the case's. */
GPtrArray *nl_test_data_list (const char *relative_dir, const char *suffix);

/* Compares ACTUAL with the golden file tests/data/RELATIVE. On mismatch,
 * prints a unified diff to stderr and returns FALSE; with NESTLAB_REGENERATE=1
 * rewrites the file instead and returns TRUE. */
gboolean nl_test_golden (const char *relative, const char *actual);

/* Removes PATH and, for a folder, everything in it, never following a
 * symbolic link. */
void nl_test_remove_tree (const char *path);

/* A temporary folder, made with g_dir_make_tmp (TEMPLATE). Held in a
 * g_autoptr (NlTestDir), it is removed with its contents when the case
 * leaves its scope, in the process that made it: a child the case forks
 * and ends with _exit() or a signal leaves it alone. */
typedef char NlTestDir;
NlTestDir *nl_test_dir_new (const char *template);
void nl_test_dir_free (NlTestDir *dir);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlTestDir, nl_test_dir_free)

/* Runs the suite MAKE_SUITE builds, with TAP output on stdout; the exit
 * status is 0 when all passed. Cases run with TMPDIR set to a folder of the
 * run's own, removed at the end: a forked case that fails is ended by
 * Check with _exit() before it can clean up. When every case passed, that
 * folder must be empty by then, or the run fails naming what was left. */
int nl_test_run (Suite *(*make_suite) (void));

#define NL_TEST_MAIN(make_suite) \
  int main (void) { return nl_test_run (make_suite); }
