/* libvirt's test driver accepts what nestlab renders: every golden domain
 * and network under tests/data/render/CASE/ (the unit suite checks that
 * rendering gives exactly those files) is defined with virsh on a fresh
 * test:///default, which parses it with libvirt's own code, a check beyond
 * the schema (it knows, for example, which devices need which bus). One
 * case per file. */
#include <string.h>

#include "nl-test.h"

/* "CASE/KIND-NAME.xml" under tests/data/render/, built with the suite. */
static GPtrArray *golden;

static void
list_golden (void)
{
  g_autoptr (GPtrArray) cases = nl_test_data_list ("render", "");

  golden = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < cases->len; i++)
    {
      const char *name = cases->pdata[i];
      g_autofree char *relative = g_build_filename ("render", name, NULL);
      g_autofree char *path = nl_test_data_path (relative);
      g_autoptr (GPtrArray) files = NULL;

      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      files = nl_test_data_list (relative, ".xml");
      for (guint j = 0; j < files->len; j++)
        {
          const char *file = files->pdata[j];
          if (g_str_has_prefix (file, "domain-") || g_str_has_prefix (file, "network-"))
            g_ptr_array_add (golden, g_build_filename (name, file, NULL));
        }
    }
}

START_TEST (golden_files_are_there)
{
  /* Eight render cases, each with a domain and a network at least. */
  ck_assert_uint_ge (golden->len, 16);
}
END_TEST

START_TEST (golden_object_is_accepted_by_libvirt_test_driver)
{
  const char *file = golden->pdata[_i];
  g_autofree char *relative = g_build_filename ("render", file, NULL);
  g_autofree char *path = nl_test_data_path (relative);
  g_autofree char *base = g_path_get_basename (file);
  const char *command = g_str_has_prefix (base, "domain-") ? "define" : "net-define";
  const char *argv[] = { "virsh", "-q", "-c", "test:///default", command, path, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = -1;

  ck_assert_msg (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error),
                 "%s: cannot run virsh: %s", file, error ? error->message : "");
  ck_assert_msg (g_spawn_check_wait_status (status, NULL), "%s refused by libvirt: %s%s", file,
                 out, err);
}
END_TEST

static Suite *
render_accepted_suite (void)
{
  Suite *s = suite_create ("render-accepted");
  TCase *tc = tcase_create ("golden");

  list_golden ();
  tcase_add_test (tc, golden_files_are_there);
  tcase_add_loop_test (tc, golden_object_is_accepted_by_libvirt_test_driver, 0, golden->len);
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (render_accepted_suite)
