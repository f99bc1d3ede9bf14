/* `nestlab host check` as a user runs it, on a fixture host tree
 * (tests/data/host/<case>/) with libvirt's test driver behind it: exit
 * status and the JSON report. The checks themselves are unit-tested in
 * tests/unit/test-host.c. */
#include <string.h>
#include <sys/wait.h>

#include "nl-test.h"

static void
assert_contains (const char *text, const char *part)
{
  ck_assert_msg (text != NULL && strstr (text, part) != NULL, "'%s' not in '%s'", part,
                 text ? text : "(null)");
}

START_TEST (cli_exit_status_and_json_on_a_fixture_tree)
{
  const char *nestlab = g_getenv ("NESTLAB");
  g_autofree char *root = nl_test_data_path ("host/no-kvm");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;
  const char *argv[] = { nestlab, "-c", "test:///default", "host", "check", "--json",
                         "--root", root, NULL };

  ck_assert (nestlab != NULL);
  ck_assert (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                           &status, &error));
  /* Not ready: exit 1, and the report still printed. */
  ck_assert_int_eq (WEXITSTATUS (status), 1);
  assert_contains (out, "\"ready\": false");
  assert_contains (out, "\"id\": \"kvm-device\", \"status\": \"fail\"");
}
END_TEST

static Suite *
host_cli_suite (void)
{
  Suite *s = suite_create ("host-cli");
  TCase *tc = tcase_create ("cli");

  tcase_add_test (tc, cli_exit_status_and_json_on_a_fixture_tree);
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (host_cli_suite)
