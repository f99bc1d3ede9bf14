/* Template loading: expansion (params, includes, profiles, counts) against
 * model dumps, a corpus of bad templates with their expected messages, and
 * hostile input generated here. Windows minimums come from a fixed
 * osinfo-db (tests/data/osinfo), and from the installed one only where the
 * expectation is read from it too. */
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include <glib/gstdio.h>
#include <osinfo/osinfo.h>
#include <sys/wait.h>
#include <nestlab/error.h>
#include <nestlab/template.h>
#include "nl-config.h"
#include "nl-test.h"

/* A stable text form of a lab model, for golden comparison. */
static char *
dump_lab (const NlLab *lab)
{
  GString *s = g_string_new (NULL);
  g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (lab->params), (GCompareFunc) strcmp);

  g_string_append_printf (s, "lab %s pool=%s waves=%u\n", lab->name, lab->pool, lab->n_waves);
  g_string_append_printf (s, "description %s\n", lab->description ? lab->description : "-");
  for (GList *l = keys; l; l = l->next)
    g_string_append_printf (s, "param %s=%s\n", (char *) l->data,
                            (char *) g_hash_table_lookup (lab->params, l->data));
  for (guint i = 0; i < lab->images->len; i++)
    {
      NlImage *img = g_ptr_array_index (lab->images, i);
      g_string_append_printf (s, "image %s os=%s pool=%s volume=%s path=%s format=%s\n", img->name,
                              img->os, img->pool ? img->pool : "-", img->volume ? img->volume : "-",
                              img->path ? img->path : "-", img->format);
    }
  for (guint i = 0; i < lab->networks->len; i++)
    {
      NlNetwork *n = g_ptr_array_index (lab->networks, i);
      g_string_append_printf (s, "network %s mode=%s subnet=%s gateway=%s dhcp=%s-%s domain=%s\n",
                              n->name, nl_network_mode_to_string (n->mode), n->subnet, n->gateway,
                              n->dhcp_start ? n->dhcp_start : "-", n->dhcp_end ? n->dhcp_end : "-",
                              n->domain ? n->domain : "-");
      for (guint r = 0; r < n->reservations->len; r++)
        {
          NlReservation *res = g_ptr_array_index (n->reservations, r);
          g_string_append_printf (s, "  reservation %s ip=%s mac=%s machine=%s nic=%u\n", res->name,
                                  res->ip, res->mac ? res->mac : "-",
                                  res->machine ? res->machine->name : "-", res->nic_index);
        }
    }
  for (guint i = 0; i < lab->shared_disks->len; i++)
    {
      NlSharedDisk *d = g_ptr_array_index (lab->shared_disks, i);
      g_string_append_printf (s, "shared-disk %s size=%" G_GUINT64_FORMAT "\n", d->name, d->size);
    }
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      g_autofree char *after = m->after ? g_strjoinv (",", m->after) : g_strdup ("-");
      g_autofree char *file = g_path_get_basename (m->src.file);
      g_string_append_printf (s, "machine %s (%s:%d) os=%s family=%s role=%s vcpus=%u memory=%" G_GUINT64_FORMAT
                              " firmware=%s secure-boot=%d tpm=%d nested=%d after=%s delay=%u wave=%u\n",
                              m->name, file, m->src.line, m->os, nl_os_family_to_string (m->os_family),
                              nl_role_to_string (m->role), m->vcpus, m->memory,
                              nl_firmware_to_string (m->firmware), m->secure_boot, m->tpm, m->nested,
                              after, m->delay, m->wave);
      if (m->has_boot_disk)
        g_string_append_printf (s, "  disk %s image=%s size=%" G_GUINT64_FORMAT " bus=%s\n",
                                nl_disk_source_to_string (m->boot_disk.source),
                                m->boot_disk.image ? m->boot_disk.image : "-", m->boot_disk.size,
                                nl_disk_bus_to_string (m->boot_disk.bus));
      for (guint d = 0; d < m->data_disks->len; d++)
        {
          NlDataDisk *dd = g_ptr_array_index (m->data_disks, d);
          g_string_append_printf (s, "  data-disk size=%" G_GUINT64_FORMAT " bus=%s\n", dd->size,
                                  nl_disk_bus_to_string (dd->bus));
        }
      for (guint d = 0; d < m->shared_disks->len; d++)
        g_string_append_printf (s, "  shared-disk %s\n", (char *) g_ptr_array_index (m->shared_disks, d));
      for (guint n = 0; n < m->nics->len; n++)
        {
          NlNic *nic = g_ptr_array_index (m->nics, n);
          g_string_append_printf (s, "  nic %s ip=%s mac=%s model=%s\n", nic->network,
                                  nic->ip ? nic->ip : "-", nic->mac ? nic->mac : "-",
                                  nl_nic_model_to_string (nic->model));
        }
      if (m->kernel)
        g_string_append_printf (s, "  kernel %s initrd=%s cmdline=%s\n", m->kernel,
                                m->initrd ? m->initrd : "-", m->cmdline ? m->cmdline : "-");
    }
  return g_string_free (s, FALSE);
}

/* The identity part of a lab model (domain, secrets, time zones, per-NIC
 * addresses), for golden comparison. */
static char *
dump_identity (const NlLab *lab)
{
  GString *s = g_string_new (NULL);
  NlMachine *dc = nl_lab_domain_controller (lab);

  g_string_append_printf (s, "lab %s timezone=%s\n", lab->name, lab->timezone);
  if (lab->domain != NULL)
    g_string_append_printf (s, "domain %s netbios=%s controller=%s admin-password=%s safe-mode-password=%s\n",
                            lab->domain->name, lab->domain->netbios,
                            dc ? dc->name : "-", lab->domain->admin_password,
                            lab->domain->safe_mode_password);
  for (guint i = 0; i < lab->secrets->len; i++)
    {
      NlSecret *secret = g_ptr_array_index (lab->secrets, i);
      g_autofree char *file = secret->file ? g_path_get_basename (secret->file) : g_strdup ("-");
      g_string_append_printf (s, "secret %s source=%s file=%s env=%s\n", secret->name,
                              nl_secret_source_to_string (secret->source), file,
                              secret->env ? secret->env : "-");
    }
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      const NlDomain *joins = nl_lab_machine_joins (lab, m);
      g_autofree char *dns = m->dns ? g_strjoinv (",", m->dns) : g_strdup ("-");
      g_string_append_printf (s, "machine %s timezone=%s workgroup=%s joins=%s dns=%s rdp=%d admin-password=%s\n",
                              m->name, m->timezone, m->workgroup ? m->workgroup : "-",
                              joins ? joins->name : "-", dns, m->rdp, m->admin_password);
      for (char **k = m->ssh_keys; k && *k; k++)
        g_string_append_printf (s, "  ssh-key %s\n", *k);
      for (guint n = 0; n < m->nics->len; n++)
        {
          NlNic *nic = g_ptr_array_index (m->nics, n);
          g_autofree char *mac = nic->mac ? g_strdup (nic->mac) : nl_lab_nic_mac (lab, m, n, NULL);
          g_string_append_printf (s, "  nic %s mac=%s ip=%s/%u gateway=%s\n", nic->network, mac,
                                  nic->ip ? nic->ip : "-", nic->prefix, nic->gateway ? nic->gateway : "-");
        }
    }
  return g_string_free (s, FALSE);
}

static GHashTable *
overrides_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/* Loads tests/data/template/RELATIVE, expecting failure; returns the
 * message with the data folder's path taken out. */
static char *
load_error (const char *relative, GHashTable *overrides)
{
  g_autofree char *path = nl_test_data_path (relative);
  g_autofree char *prefix = nl_test_data_path ("template/");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlLab) lab = nl_template_load (path, overrides, &error);
  g_auto (GStrv) parts = NULL;

  ck_assert_msg (lab == NULL, "%s loaded but is invalid", relative);
  ck_assert_msg (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID), "%s: wrong error code", relative);
  parts = g_strsplit (error->message, prefix, -1);
  return g_strjoinv ("", parts);
}

START_TEST (expansion_applies_params_includes_profiles_and_counts)
{
  g_autofree char *path = nl_test_data_path ("template/good/expansion.xml");
  g_autoptr (GHashTable) overrides = overrides_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (NlLab) lab = NULL;
  g_autofree char *dump = NULL;

  g_hash_table_insert (overrides, g_strdup ("hosts"), g_strdup ("3"));
  lab = nl_template_load (path, overrides, &error);
  ck_assert_msg (lab != NULL, "%s", error ? error->message : "");
  dump = dump_lab (lab);
  ck_assert (nl_test_golden ("template/good/expansion.model", dump));
}
END_TEST

START_TEST (identity_settings_reach_the_model)
{
  g_autofree char *path = nl_test_data_path ("template/good/identity.xml");
  g_autoptr (GError) error = NULL;
  g_autoptr (NlLab) lab = nl_template_load (path, NULL, &error);
  g_autofree char *dump = NULL;

  ck_assert_msg (lab != NULL, "%s", error ? error->message : "");
  dump = dump_identity (lab);
  ck_assert (nl_test_golden ("template/good/identity.model", dump));
}
END_TEST

/* A lab that names no password secret gets a generated one, "admin". */
START_TEST (labs_without_a_password_get_a_generated_admin_secret)
{
  g_autofree char *path = nl_test_data_path ("template/good/expansion.xml");
  g_autoptr (NlLab) lab = nl_template_load (path, NULL, NULL);
  NlSecret *admin;

  ck_assert_ptr_nonnull (lab);
  admin = nl_lab_find_secret (lab, NL_SECRET_DEFAULT_ADMIN);
  ck_assert_ptr_nonnull (admin);
  ck_assert_int_eq (admin->source, NL_SECRET_GENERATED);
  ck_assert_str_eq (nl_lab_find_machine (lab, "dc01")->admin_password, NL_SECRET_DEFAULT_ADMIN);
  ck_assert_str_eq (lab->timezone, "UTC");
  ck_assert_ptr_null (lab->domain);
}
END_TEST

START_TEST (counted_machines_take_consecutive_addresses)
{
  g_autofree char *path = nl_test_data_path ("template/good/expansion.xml");
  g_autoptr (NlLab) lab = nl_template_load (path, NULL, NULL);
  NlMachine *hv02;

  ck_assert_ptr_nonnull (lab);
  hv02 = nl_lab_find_machine (lab, "hv02");
  ck_assert_ptr_nonnull (hv02);
  ck_assert_str_eq (((NlNic *) g_ptr_array_index (hv02->nics, 0))->ip, "10.20.0.22");
  ck_assert_str_eq (((NlNic *) g_ptr_array_index (hv02->nics, 0))->mac, "52:54:00:aa:00:ff");
  ck_assert_ptr_null (nl_lab_find_machine (lab, "hv03"));
}
END_TEST

START_TEST (digest_changes_with_params_only_when_values_change)
{
  g_autofree char *path = nl_test_data_path ("template/good/expansion.xml");
  g_autoptr (GHashTable) same = overrides_new ();
  g_autoptr (GHashTable) other = overrides_new ();
  g_autoptr (NlLab) a = NULL, b = NULL, c = NULL;

  g_hash_table_insert (same, g_strdup ("hosts"), g_strdup ("2"));
  g_hash_table_insert (other, g_strdup ("hosts"), g_strdup ("4"));
  a = nl_template_load (path, NULL, NULL);
  b = nl_template_load (path, same, NULL);
  c = nl_template_load (path, other, NULL);
  ck_assert (a && b && c);
  ck_assert_str_eq (a->digest, b->digest);
  ck_assert_str_ne (a->digest, c->digest);
}
END_TEST

START_TEST (unknown_override_is_named)
{
  g_autoptr (GHashTable) overrides = overrides_new ();
  g_autofree char *msg = NULL;
  g_hash_table_insert (overrides, g_strdup ("hostz"), g_strdup ("3"));
  msg = load_error ("template/good/expansion.xml", overrides);
  ck_assert_str_eq (msg, "good/expansion.xml: --set hostz: the template declares no parameter 'hostz'");
}
END_TEST

START_TEST (override_argument_must_be_name_equals_value)
{
  g_autoptr (GHashTable) overrides = overrides_new ();
  g_autoptr (GError) error = NULL;
  ck_assert (nl_template_parse_override (overrides, "a=b=c", NULL));
  ck_assert_str_eq (g_hash_table_lookup (overrides, "a"), "b=c");
  ck_assert (!nl_template_parse_override (overrides, "=x", &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_USAGE));
}
END_TEST

/* tests/data/template/bad/NAME.xml with its expected message NAME.err,
 * one Check case each so that one failure hides no other. The other files
 * there are parts the cases include. Listed when the suite is built. */
static GPtrArray *bad_templates;
static GPtrArray *bad_parts;

static void
list_bad_templates (void)
{
  g_autoptr (GPtrArray) all = nl_test_data_list ("template/bad", ".xml");

  bad_templates = g_ptr_array_new_with_free_func (g_free);
  bad_parts = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < all->len; i++)
    {
      const char *xml = all->pdata[i];
      g_autofree char *stem = g_strndup (xml, strlen (xml) - 4);
      g_autofree char *err_rel = g_strdup_printf ("template/bad/%s.err", stem);
      g_autofree char *err = nl_test_data_path (err_rel);
      g_ptr_array_add (g_file_test (err, G_FILE_TEST_EXISTS) ? bad_templates : bad_parts,
                       g_strdup (xml));
    }
}

/* The corpus is there, every expected message has its template, and every
 * file without one is a part that a case includes, not a case whose
 * expectation was forgotten. */
START_TEST (bad_template_corpus_is_complete)
{
  g_autoptr (GPtrArray) errs = nl_test_data_list ("template/bad", ".err");

  ck_assert_uint_ge (bad_templates->len, 30);
  ck_assert_uint_eq (errs->len, bad_templates->len);
  for (guint i = 0; i < bad_parts->len; i++)
    {
      g_autofree char *rel = g_strdup_printf ("template/bad/%s", (char *) bad_parts->pdata[i]);
      g_autofree char *path = nl_test_data_path (rel);
      g_autofree char *text = NULL;
      ck_assert (g_file_get_contents (path, &text, NULL, NULL));
      ck_assert_msg (g_str_has_prefix (text, "<lab-part>"),
                     "%s has no expected message (.err) and is not a part", rel);
    }
}
END_TEST

/* Each bad template fails with the message, file and line in its .err
 * golden file. */
START_TEST (bad_template_fails_with_its_message)
{
  const char *xml = bad_templates->pdata[_i];
  g_autofree char *rel = g_strdup_printf ("template/bad/%s", xml);
  g_autofree char *base = g_strndup (xml, strlen (xml) - 4);
  g_autofree char *err_rel = g_strdup_printf ("template/bad/%s.err", base);
  g_autofree char *msg = load_error (rel, NULL);
  g_autofree char *text = g_strconcat (msg, "\n", NULL);

  ck_assert_msg (nl_test_golden (err_rel, text), "%s: unexpected message: %s", rel, msg);
}
END_TEST

static char *
write_temp (const char *contents, gssize length)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("nl-template-XXXXXX.xml", &path, NULL);
  ck_assert_int_ge (fd, 0);
  close (fd);
  ck_assert (g_file_set_contents (path, contents, length, NULL));
  return g_steal_pointer (&path);
}

static void
assert_refused (const char *contents, gssize length, const char *expected_part)
{
  g_autofree char *path = write_temp (contents, length);
  g_autoptr (GError) error = NULL;
  g_autoptr (NlLab) lab = nl_template_load (path, NULL, &error);

  g_unlink (path); /* before any assertion can end the case */
  ck_assert_ptr_null (lab);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, expected_part) != NULL, "message '%s' lacks '%s'",
                 error->message, expected_part);
  ck_assert_msg (strstr (error->message, path) != NULL, "message '%s' does not name the file", error->message);
}

START_TEST (binary_input_is_refused)
{
  static const char data[] = "<lab name=\"x\">\n\0\1\2\3</lab>";
  assert_refused (data, sizeof data, ":2: binary content");
}
END_TEST

START_TEST (invalid_utf8_is_refused)
{
  assert_refused ("<lab name=\"\xff\xfe\"/>", -1, "not valid UTF-8");
}
END_TEST

START_TEST (absurd_nesting_is_refused)
{
  GString *s = g_string_new ("<lab name=\"x\">");
  for (int i = 0; i < 5000; i++)
    g_string_append (s, "<description>");
  for (int i = 0; i < 5000; i++)
    g_string_append (s, "</description>");
  g_string_append (s, "</lab>");
  /* libxml2 stops at its own depth limit (256) before ours; either way the
   * file is refused with its name. */
  assert_refused (s->str, s->len, "");
  g_string_free (s, TRUE);
}
END_TEST

START_TEST (moderate_nesting_is_refused_by_our_limit)
{
  GString *s = g_string_new ("<lab name=\"x\"><description>");
  for (int i = 0; i < 40; i++)
    g_string_append (s, "<b>");
  for (int i = 0; i < 40; i++)
    g_string_append (s, "</b>");
  g_string_append (s, "</description></lab>");
  assert_refused (s->str, s->len, "nested deeper than 32");
  g_string_free (s, TRUE);
}
END_TEST

START_TEST (oversized_input_is_refused_unread)
{
  gsize size = NL_TEMPLATE_MAX_SIZE + 1;
  g_autofree char *big = g_malloc (size);
  memset (big, ' ', size);
  memcpy (big, "<lab name=\"x\">", 14);
  assert_refused (big, size, "templates are at most");
}
END_TEST

START_TEST (missing_file_is_reported)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NlLab) lab = nl_template_load ("/nonexistent/lab.xml", NULL, &error);
  ck_assert_ptr_null (lab);
  ck_assert_str_eq (error->message, "/nonexistent/lab.xml: cannot read: No such file or directory");
}
END_TEST

/* The osinfo-db the template loader reads: tests/data/osinfo for this
 * program, so the expected messages do not change with the machine's
 * osinfo-db (newer ones know win2k25, and may change a minimum). The
 * machine's own settings are kept for the case that checks against the
 * installed database. */
static const char *const osinfo_vars[] = { "OSINFO_SYSTEM_DIR", "OSINFO_LOCAL_DIR", "OSINFO_USER_DIR" };
static char *installed_osinfo[G_N_ELEMENTS (osinfo_vars)];

/* Local and user overrides (/etc/osinfo, ~/.config/osinfo) are left out
 * too: a folder that does not exist. */
static void
set_fixed_osinfo_db (void)
{
  g_autofree char *fixed = nl_test_data_path ("osinfo");
  g_autofree char *none = nl_test_data_path ("osinfo/none");

  g_setenv ("OSINFO_SYSTEM_DIR", fixed, TRUE);
  g_setenv ("OSINFO_LOCAL_DIR", none, TRUE);
  g_setenv ("OSINFO_USER_DIR", none, TRUE);
}

/* Before the first template is loaded: the loader reads the database once
 * per process. */
static void
use_fixed_osinfo_db (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (osinfo_vars); i++)
    installed_osinfo[i] = g_strdup (g_getenv (osinfo_vars[i]));
  set_fixed_osinfo_db ();
}

/* ENVP with the machine's own osinfo settings (a new array). */
static char **
installed_osinfo_environ (char **envp)
{
  for (guint i = 0; i < G_N_ELEMENTS (osinfo_vars); i++)
    envp = installed_osinfo[i] != NULL
             ? g_environ_setenv (envp, osinfo_vars[i], installed_osinfo[i], TRUE)
             : g_environ_unsetenv (envp, osinfo_vars[i]);
  return envp;
}

/* The x86_64 minimum memory libosinfo's whole default database (read with
 * the machine's own settings) gives SHORT_ID; 0 when it has none. */
static guint64
installed_osinfo_minimum_memory (const char *short_id)
{
  g_autoptr (OsinfoLoader) loader = osinfo_loader_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (OsinfoOsList) oses = NULL;
  guint64 memory = 0;

  /* libosinfo takes its paths from the environment only: the machine's for
   * this one load, then the fixed database's again. */
  for (guint i = 0; i < G_N_ELEMENTS (osinfo_vars); i++)
    if (installed_osinfo[i] != NULL)
      g_setenv (osinfo_vars[i], installed_osinfo[i], TRUE);
    else
      g_unsetenv (osinfo_vars[i]);
  osinfo_loader_process_default_path (loader, &error);
  set_fixed_osinfo_db ();
  ck_assert_msg (error == NULL, "osinfo-db: %s", error ? error->message : "");

  oses = osinfo_db_get_os_list (osinfo_loader_get_db (loader));
  for (int i = 0; i < osinfo_list_get_length (OSINFO_LIST (oses)); i++)
    {
      OsinfoOs *os = OSINFO_OS (osinfo_list_get_nth (OSINFO_LIST (oses), i));
      g_autoptr (OsinfoResourcesList) minimum = NULL;
      if (g_strcmp0 (osinfo_product_get_short_id (OSINFO_PRODUCT (os)), short_id) != 0)
        continue;
      minimum = osinfo_os_get_minimum_resources (os);
      for (int j = 0; j < osinfo_list_get_length (OSINFO_LIST (minimum)); j++)
        {
          OsinfoResources *r = OSINFO_RESOURCES (osinfo_list_get_nth (OSINFO_LIST (minimum), j));
          const char *arch = osinfo_resources_get_architecture (r);
          if ((g_strcmp0 (arch, "x86_64") == 0 || g_strcmp0 (arch, "all") == 0)
              && osinfo_resources_get_ram (r) > 0)
            memory = osinfo_resources_get_ram (r);
        }
    }
  return memory;
}

/* `nestlab validate` with the installed osinfo-db applies the minimum that
 * libosinfo reads from it (nestlab reads only part of the database, for
 * speed), or, where it has none, nestlab's own table (512 MiB for
 * win2k22), and names which. */
START_TEST (installed_osinfo_db_minimum_is_applied)
{
  const char *nestlab = g_getenv ("NESTLAB");
  g_autofree char *path = nl_test_data_path ("template/bad/windows-below-minimum.xml");
  guint64 memory = installed_osinfo_minimum_memory ("win2k22");
  g_auto (GStrv) envp = installed_osinfo_environ (g_get_environ ());
  g_autofree char *need = nl_format_size (memory > 0 ? memory : G_GUINT64_CONSTANT (512) << 20);
  g_autofree char *expected = g_strdup_printf (
    "%s:2: machine 'dc01': win2k22 needs at least %s of memory (it has 256 MiB; minimum from %s)\n",
    path, need,
    memory > 0 ? "osinfo-db"
               : "nestlab's table of Microsoft's published minimums, as the installed osinfo-db does not know this OS");
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  const char *argv[] = { nestlab, "validate", path, NULL };

  ck_assert_msg (nestlab != NULL, "NESTLAB must name the nestlab binary (meson test sets it)");
  /* A minimum at or below 256 MiB would make the template valid. */
  ck_assert_msg (memory == 0 || memory > (G_GUINT64_CONSTANT (256) << 20),
                 "the installed osinfo-db's win2k22 minimum is %s", need);
  ck_assert (g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                           &status, &error));
  ck_assert_int_eq (WEXITSTATUS (status), 2);
  ck_assert_msg (g_str_has_prefix (err, expected), "expected:\n%s\ngot:\n%s", expected, err);
}
END_TEST

/* Every shipped template validates. */
START_TEST (shipped_templates_validate)
{
  static const char *const shipped[] = {
    "scvmm-demo.xml", "failover-cluster.xml", "patch-ring.xml", "tiny-lab.xml",
  };
  g_autoptr (GHashTable) overrides = overrides_new ();
  g_hash_table_insert (overrides, g_strdup ("guest_dir"), g_strdup ("/var/lib/nestlab/guest"));
  for (guint i = 0; i < G_N_ELEMENTS (shipped); i++)
    {
      g_autofree char *path = g_build_filename (NL_SOURCE_ROOT, "templates", shipped[i], NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (NlLab) lab = nl_template_load (path, g_str_equal (shipped[i], "tiny-lab.xml") ? overrides : NULL,
                                                &error);
      ck_assert_msg (lab != NULL, "%s: %s", shipped[i], error ? error->message : "");
      ck_assert_uint_gt (lab->machines->len, 0);
    }
}
END_TEST

/* Steps: the template's before-role steps, the role's recipe, the
 * template's other steps, in that order; @ROLE:STEP resolved to every
 * machine of the role; recipe="none" leaves the role's recipe out. */
START_TEST (steps_expand_with_the_roles_recipe)
{
  g_autofree char *roles = nl_test_data_path ("steps/roles");
  g_autofree char *path = nl_test_data_path ("steps/lab.xml");
  g_autoptr (NlLab) lab = NULL;
  g_autoptr (GError) error = NULL;
  const char *db_order[] = { "prep", "install", "ready", "finish" };
  NlMachine *db, *bare, *app;
  NlStep *use, *install;

  g_setenv ("NESTLAB_ROLES_DIR", roles, TRUE);
  lab = nl_template_load (path, NULL, &error);
  g_unsetenv ("NESTLAB_ROLES_DIR");
  ck_assert_msg (lab != NULL, "%s", error ? error->message : "");
  db = nl_lab_find_machine (lab, "db");
  bare = nl_lab_find_machine (lab, "bare");
  app = nl_lab_find_machine (lab, "app");
  ck_assert_uint_eq (db->steps->len, G_N_ELEMENTS (db_order));
  for (guint i = 0; i < G_N_ELEMENTS (db_order); i++)
    ck_assert_str_eq (((NlStep *) db->steps->pdata[i])->name, db_order[i]);
  install = nl_machine_find_step (db, "install");
  ck_assert_int_eq (install->kind, NL_STEP_SCRIPT);
  ck_assert_msg (strstr (install->text, "echo installing") != NULL, "%s", install->text);
  ck_assert_uint_eq (install->timeout, 20 * 60);
  ck_assert_ptr_nonnull (install->origin);
  ck_assert_uint_eq (nl_machine_find_step (db, "ready")->interval, 2);
  ck_assert_uint_eq (bare->steps->len, 1);
  ck_assert_str_eq (((NlStep *) bare->steps->pdata[0])->name, "only");
  use = nl_machine_find_step (app, "use");
  ck_assert_uint_eq (g_strv_length (use->after), 2);
  ck_assert_str_eq (use->after[0], "db:ready");
  ck_assert_str_eq (use->after[1], "db:finish");
  ck_assert_uint_eq (use->retries, 2);
  ck_assert (!use->idempotent);
  /* Each step's digest is its own, and steady. */
  ck_assert_uint_eq (strlen (use->digest), 64);
  ck_assert_str_ne (use->digest, install->digest);
  {
    g_autoptr (NlLab) again = NULL;
    g_setenv ("NESTLAB_ROLES_DIR", roles, TRUE);
    again = nl_template_load (path, NULL, NULL);
    g_unsetenv ("NESTLAB_ROLES_DIR");
    ck_assert_str_eq (nl_machine_find_step (nl_lab_find_machine (again, "app"), "use")->digest, use->digest);
  }
}
END_TEST

static Suite *
template_suite (void)
{
  Suite *s = suite_create ("template");
  TCase *tc = tcase_create ("expansion");
  TCase *bad = tcase_create ("bad-input");

  use_fixed_osinfo_db ();

  tcase_add_test (tc, expansion_applies_params_includes_profiles_and_counts);
  tcase_add_test (tc, counted_machines_take_consecutive_addresses);
  tcase_add_test (tc, identity_settings_reach_the_model);
  tcase_add_test (tc, labs_without_a_password_get_a_generated_admin_secret);
  tcase_add_test (tc, digest_changes_with_params_only_when_values_change);
  tcase_add_test (tc, unknown_override_is_named);
  tcase_add_test (tc, override_argument_must_be_name_equals_value);
  tcase_add_test (tc, shipped_templates_validate);
  suite_add_tcase (s, tc);

  list_bad_templates ();
  tcase_add_test (bad, bad_template_corpus_is_complete);
  tcase_add_loop_test (bad, bad_template_fails_with_its_message, 0, bad_templates->len);
  tcase_add_test (bad, binary_input_is_refused);
  tcase_add_test (bad, invalid_utf8_is_refused);
  tcase_add_test (bad, absurd_nesting_is_refused);
  tcase_add_test (bad, moderate_nesting_is_refused_by_our_limit);
  tcase_add_test (bad, oversized_input_is_refused_unread);
  tcase_add_test (bad, missing_file_is_reported);
  tcase_add_test (bad, installed_osinfo_db_minimum_is_applied);
  tcase_add_test (bad, steps_expand_with_the_roles_recipe);
  suite_add_tcase (s, bad);
  return s;
}

NL_TEST_MAIN (template_suite)
