/* Test helpers: TAP runner and golden files. */
#include <stdio.h>
#include <stdlib.h>

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

int
nl_test_run (Suite *suite)
{
  SRunner *runner = srunner_create (suite);
  int failed;

  srunner_set_tap (runner, "-");
  srunner_run_all (runner, CK_SILENT);
  failed = srunner_ntests_failed (runner);
  srunner_free (runner);
  return failed == 0 ? 0 : 1;
}
