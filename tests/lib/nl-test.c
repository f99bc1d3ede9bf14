/* Test helpers: TAP runner, golden files, test data lists and temporary
 * folders. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "nl-test.h"

#ifndef NL_TEST_DATA_DIR
#error NL_TEST_DATA_DIR must be defined by the build
#endif

char *
nl_test_data_path (const char *relative)
{
  return g_build_filename (NL_TEST_DATA_DIR, relative, NULL);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
nl_test_data_list (const char *relative_dir, const char *suffix)
{
  g_autofree char *path = nl_test_data_path (relative_dir);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, suffix))
      g_ptr_array_add (names, g_strdup (name));
  /* Readdir order differs between file systems; case numbers should not. */
  g_ptr_array_sort (names, compare_names);
  return names;
}

gboolean
nl_test_golden (const char *relative, const char *actual)
{
  g_autofree char *path = nl_test_data_path (relative);
  g_autofree char *expected = NULL;
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (g_getenv ("NESTLAB_REGENERATE"), "1") == 0)
    {
      g_autofree char *dir = g_path_get_dirname (path);
      g_mkdir_with_parents (dir, 0755);
      if (!g_file_set_contents (path, actual, -1, &error))
        {
          fprintf (stderr, "cannot write %s: %s\n", path, error->message);
          return FALSE;
        }
      return TRUE;
    }
  if (!g_file_get_contents (path, &expected, NULL, &error))
    {
      fprintf (stderr, "golden file missing: %s (NESTLAB_REGENERATE=1 writes it)\n", path);
      return FALSE;
    }
  if (g_strcmp0 (expected, actual) == 0)
    return TRUE;

  /* Show what differs with diff(1). */
  {
    g_autofree char *tmp = NULL;
    int fd = g_file_open_tmp ("nl-golden-XXXXXX", &tmp, NULL);
    if (fd >= 0)
      {
        g_autofree char *cmd = NULL;
        FILE *f = fdopen (fd, "w");
        fputs (actual, f);
        fclose (f);
        cmd = g_strdup_printf ("diff -u '%s' '%s' >&2", path, tmp);
        if (system (cmd) < 0)
          fprintf (stderr, "golden mismatch: %s\n", path);
        g_unlink (tmp);
      }
  }
  fprintf (stderr, "golden mismatch: %s\n", path);
  return FALSE;
}

static int
remove_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  if (remove (path) != 0)
    fprintf (stderr, "cannot remove %s: %s\n", path, g_strerror (errno));
  return 0;
}

void
nl_test_remove_tree (const char *path)
{
  nftw (path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

NlTestDir *
nl_test_dir_new (const char *template)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp (template, &error);
  ck_assert_msg (dir != NULL, "%s", error ? error->message : "");
  return dir;
}

void
nl_test_dir_free (NlTestDir *dir)
{
  nl_test_remove_tree (dir);
  g_free (dir);
}

/* Names what is left in DIR on stderr; TRUE when something is. */
static gboolean
report_leftovers (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  gboolean any = FALSE;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      fprintf (stderr, "# left behind in TMPDIR: %s\n", name);
      any = TRUE;
    }
  return any;
}

int
nl_test_run (Suite *(*make_suite) (void))
{
  const char *outer = g_getenv ("TMPDIR");
  g_autofree char *scratch = g_build_filename (outer && *outer ? outer : "/tmp", "nl-test-XXXXXX", NULL);
  SRunner *runner;
  int failed;

  /* Before anything asks GLib for the temporary folder: it keeps the first
   * answer. */
  if (g_mkdtemp (scratch) == NULL)
    {
      fprintf (stderr, "cannot make %s: %s\n", scratch, g_strerror (errno));
      return 1;
    }
  g_setenv ("TMPDIR", scratch, TRUE);
  if (!g_str_equal (g_get_tmp_dir (), scratch))
    {
      fprintf (stderr, "g_get_tmp_dir () was called before the run set TMPDIR\n");
      nl_test_remove_tree (scratch);
      return 1;
    }
  runner = srunner_create (make_suite ());
  srunner_set_tap (runner, "-");
  srunner_run_all (runner, CK_SILENT);
  failed = srunner_ntests_failed (runner);
  srunner_free (runner);
  if (failed == 0 && report_leftovers (scratch))
    failed = 1;
  nl_test_remove_tree (scratch);
  return failed == 0 ? 0 : 1;
}
