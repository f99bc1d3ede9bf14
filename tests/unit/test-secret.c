/* Secrets: files of mode 0600 only, environment variables, generated values
 * stored 0600 and stable across runs, the digest key, and messages that
 * never hold a value. Each case uses its own state folder. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <nestlab/error.h>
#include <nestlab/secret.h>
#include <nestlab/template.h>

#include "nl-test.h"

#define VALUE "Secret-Value.Nobody-Should-See-42"

static NlLab *
lab_with (const char *name, NlSecretSource source, const char *file, const char *env)
{
  NlLab *lab = nl_lab_new ();
  NlSecret *secret = nl_secret_new ();
  NlMachine *machine = nl_machine_new ();

  lab->name = g_strdup ("seclab");
  lab->file = g_strdup ("seclab.xml");
  secret->name = g_strdup (name);
  secret->source = source;
  secret->file = g_strdup (file);
  secret->env = g_strdup (env);
  secret->src.file = g_strdup ("seclab.xml");
  secret->src.line = 7;
  g_ptr_array_add (lab->secrets, secret);
  machine->name = g_strdup ("m");
  machine->admin_password = g_strdup (name);
  g_ptr_array_add (lab->machines, machine);
  return lab;
}

static char *
write_file (const char *dir, const char *name, const char *contents, int mode)
{
  char *path = g_build_filename (dir, name, NULL);
  ck_assert (g_file_set_contents (path, contents, -1, NULL));
  ck_assert_int_eq (g_chmod (path, mode), 0);
  return path;
}

START_TEST (file_of_mode_0600_is_read)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-secret-XXXXXX");
  g_autofree char *path = write_file (dir, "pw", VALUE "\n", 0600);
  g_autoptr (NlLab) lab = lab_with ("pw", NL_SECRET_FILE, path, NULL);
  g_autoptr (GError) error = NULL;
  char *value = nl_secret_resolve (lab, g_ptr_array_index (lab->secrets, 0), dir, &error);

  ck_assert_msg (value != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (value, VALUE);
  nl_secret_value_free (value);
}
END_TEST

/* A file others may read is refused, and the message says how to fix it
 * without showing the value. */
START_TEST (file_others_may_read_is_refused)
{
  static const int modes[] = { 0644, 0640, 0604, 0660 };
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-secret-XXXXXX");

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *path = write_file (dir, "pw", VALUE, modes[i]);
      g_autoptr (NlLab) lab = lab_with ("pw", NL_SECRET_FILE, path, NULL);
      g_autoptr (GError) error = NULL;
      char *value = nl_secret_resolve (lab, g_ptr_array_index (lab->secrets, 0), dir, &error);
      g_autofree char *mode = g_strdup_printf ("mode %04o", modes[i]);

      ck_assert_ptr_null (value);
      ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
      ck_assert_msg (strstr (error->message, mode) != NULL, "%s", error->message);
      ck_assert_ptr_nonnull (strstr (error->message, "chmod 600"));
      ck_assert_ptr_nonnull (strstr (error->message, "seclab.xml:7"));
      ck_assert_ptr_null (strstr (error->message, VALUE));
    }
}
END_TEST

START_TEST (symbolic_link_and_empty_file_are_refused)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-secret-XXXXXX");
  g_autofree char *target = write_file (dir, "real", VALUE, 0600);
  g_autofree char *link = g_build_filename (dir, "link", NULL);
  g_autofree char *empty = write_file (dir, "empty", "\n", 0600);
  g_autoptr (GError) error = NULL;
  g_autoptr (NlLab) linked = lab_with ("pw", NL_SECRET_FILE, link, NULL);
  g_autoptr (NlLab) blank = lab_with ("pw", NL_SECRET_FILE, empty, NULL);

  ck_assert_int_eq (symlink (target, link), 0);
  ck_assert_ptr_null (nl_secret_resolve (linked, g_ptr_array_index (linked->secrets, 0), dir, &error));
  ck_assert_ptr_nonnull (strstr (error->message, "symbolic link"));
  g_clear_error (&error);
  ck_assert_ptr_null (nl_secret_resolve (blank, g_ptr_array_index (blank->secrets, 0), dir, &error));
  ck_assert_ptr_nonnull (strstr (error->message, "empty"));
}
END_TEST

START_TEST (environment_variable_is_read_and_unset_is_named)
{
  g_autoptr (NlLab) lab = lab_with ("pw", NL_SECRET_ENV, NULL, "NL_TEST_SECRET_VAR");
  g_autoptr (GError) error = NULL;
  char *value;

  g_setenv ("NL_TEST_SECRET_VAR", VALUE, TRUE);
  value = nl_secret_resolve (lab, g_ptr_array_index (lab->secrets, 0), NULL, &error);
  ck_assert_str_eq (value, VALUE);
  nl_secret_value_free (value);
  g_unsetenv ("NL_TEST_SECRET_VAR");
  value = nl_secret_resolve (lab, g_ptr_array_index (lab->secrets, 0), NULL, &error);
  ck_assert_ptr_null (value);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  ck_assert_ptr_nonnull (strstr (error->message, "NL_TEST_SECRET_VAR is not set"));
}
END_TEST

/* Generated once, stored 0600 in a 0700 folder, and the same on every run
 * (also through `nestlab secret show`'s loader). */
START_TEST (generated_secret_is_stored_and_stable)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-secret-XXXXXX");
  g_autoptr (NlLab) lab = lab_with ("admin", NL_SECRET_GENERATED, NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *lab_dir = nl_secret_lab_dir (dir, "seclab");
  g_autofree char *path = g_build_filename (lab_dir, "admin", NULL);
  char *first = nl_secret_resolve (lab, g_ptr_array_index (lab->secrets, 0), dir, &error);
  char *second, *shown;
  struct stat st;

  ck_assert_msg (first != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (strlen (first), NL_SECRET_GENERATED_LENGTH);
  ck_assert (g_regex_match_simple ("[A-Z]", first, 0, 0) && g_regex_match_simple ("[a-z]", first, 0, 0)
             && g_regex_match_simple ("[0-9]", first, 0, 0) && g_regex_match_simple ("[-_.+=@#]", first, 0, 0));
  ck_assert_int_eq (g_stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 07777, 0600);
  ck_assert_int_eq (g_stat (lab_dir, &st), 0);
  ck_assert_int_eq (st.st_mode & 07777, 0700);
  second = nl_secret_resolve (lab, g_ptr_array_index (lab->secrets, 0), dir, &error);
  ck_assert_str_eq (first, second);
  shown = nl_secret_load_stored (dir, "seclab", "admin", &error);
  ck_assert_str_eq (first, shown);
  nl_secret_value_free (first);
  nl_secret_value_free (second);
  nl_secret_value_free (shown);
}
END_TEST

/* A stored secret someone made readable is refused, not used. */
START_TEST (stored_secret_made_readable_is_refused)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-secret-XXXXXX");
  g_autoptr (NlLab) lab = lab_with ("admin", NL_SECRET_GENERATED, NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *lab_dir = nl_secret_lab_dir (dir, "seclab");
  g_autofree char *path = g_build_filename (lab_dir, "admin", NULL);
  char *value = nl_secret_resolve (lab, g_ptr_array_index (lab->secrets, 0), dir, &error);

  ck_assert_ptr_nonnull (value);
  ck_assert_int_eq (g_chmod (path, 0644), 0);
  ck_assert_ptr_null (nl_secret_resolve (lab, g_ptr_array_index (lab->secrets, 0), dir, &error));
  ck_assert_ptr_null (strstr (error->message, value));
  nl_secret_value_free (value);
}
END_TEST

START_TEST (state_dir_comes_from_the_environment)
{
  g_autofree char *with = NULL;
  g_autofree char *without = NULL;

  g_setenv ("NESTLAB_STATE_DIR", "/srv/state", TRUE);
  with = nl_secret_lab_dir (NULL, "demo");
  g_unsetenv ("NESTLAB_STATE_DIR");
  without = nl_secret_lab_dir (NULL, "demo");
  ck_assert_str_eq (with, "/srv/state/secrets/demo");
  ck_assert_str_eq (without, "/var/lib/nestlab/secrets/demo");
}
END_TEST

START_TEST (show_of_unknown_or_unsafe_names)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-secret-XXXXXX");
  g_autoptr (GError) error = NULL;

  ck_assert_ptr_null (nl_secret_load_stored (dir, "nolab", "admin", &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_NOT_FOUND));
  g_clear_error (&error);
  ck_assert_ptr_null (nl_secret_load_stored (dir, "..", "admin", &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_USAGE));
  g_clear_error (&error);
  ck_assert_ptr_null (nl_secret_load_stored (dir, "lab", "../../etc/shadow", &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_USAGE));
}
END_TEST

START_TEST (digest_key_is_random_and_kept)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-secret-XXXXXX");
  g_autoptr (NlTestDir) other = nl_test_dir_new ("nl-secret-XXXXXX");
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) a = nl_secret_digest_key (dir, "seclab", &error);
  g_autoptr (GBytes) b = nl_secret_digest_key (dir, "seclab", &error);
  g_autoptr (GBytes) c = nl_secret_digest_key (other, "seclab", &error);

  ck_assert_msg (a != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (g_bytes_get_size (a), 32);
  ck_assert (g_bytes_equal (a, b));
  ck_assert (!g_bytes_equal (a, c));
}
END_TEST

/* Resolving what a lab uses: only the secrets machines and the domain
 * name; an unset variable nobody uses is no error. */
START_TEST (resolve_all_takes_only_used_secrets)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-secret-XXXXXX");
  g_autoptr (NlLab) lab = lab_with ("admin", NL_SECRET_GENERATED, NULL, NULL);
  NlSecret *unused = nl_secret_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) values = NULL;

  unused->name = g_strdup ("unused");
  unused->source = NL_SECRET_ENV;
  unused->env = g_strdup ("NL_TEST_UNSET_VARIABLE");
  g_ptr_array_add (lab->secrets, unused);
  g_unsetenv ("NL_TEST_UNSET_VARIABLE");
  values = nl_secret_resolve_all (lab, dir, &error);
  ck_assert_msg (values != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (g_hash_table_size (values), 1);
  ck_assert_ptr_nonnull (g_hash_table_lookup (values, "admin"));
}
END_TEST

static Suite *
secret_suite (void)
{
  Suite *s = suite_create ("secret");
  TCase *tc = tcase_create ("sources");

  tcase_add_test (tc, file_of_mode_0600_is_read);
  tcase_add_test (tc, file_others_may_read_is_refused);
  tcase_add_test (tc, symbolic_link_and_empty_file_are_refused);
  tcase_add_test (tc, environment_variable_is_read_and_unset_is_named);
  tcase_add_test (tc, generated_secret_is_stored_and_stable);
  tcase_add_test (tc, stored_secret_made_readable_is_refused);
  tcase_add_test (tc, state_dir_comes_from_the_environment);
  tcase_add_test (tc, show_of_unknown_or_unsafe_names);
  tcase_add_test (tc, digest_key_is_random_and_kept);
  tcase_add_test (tc, resolve_all_takes_only_used_secrets);
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (secret_suite)
