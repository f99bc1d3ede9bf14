/* Config media: golden Unattend.xml files (domain controller, member,
 * Hyper-V host, workgroup machine) and cloud-init seeds, all masked; the
 * unmasked media equal to them but for the secrets; a structural check of
 * every answer file nestlab makes for the test and shipped templates; the
 * digests; and ISO images read back through libisofs. */
#include <crypt.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <nestlab/error.h>
#include <nestlab/iso.h>
#include <nestlab/media.h>
#include <nestlab/render.h>
#include <nestlab/template.h>

#include "nl-config.h"
#include "nl-test.h"

#define LOCAL_ADMIN "Local-Adm1n.Value#one"
#define DOMAIN_ADMIN "D0main-Adm1n.Value@two"
#define TEST_SALT "$6$nestlabtestsalt$"

static NlLab *
load (const char *relative)
{
  g_autofree char *path = nl_test_data_path (relative);
  g_autoptr (GError) error = NULL;
  NlLab *lab = nl_template_load (path, NULL, &error);
  ck_assert_msg (lab != NULL, "%s: %s", relative, error ? error->message : "");
  return lab;
}

static NlLab *
load_shipped (const char *name)
{
  g_autofree char *path = g_build_filename (NL_SOURCE_ROOT, "templates", name, NULL);
  g_autoptr (GHashTable) overrides = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GError) error = NULL;
  NlLab *lab;

  g_hash_table_insert (overrides, (gpointer) "guest_dir", (gpointer) "/var/lib/nestlab/guest");
  lab = nl_template_load (path, g_str_equal (name, "tiny-lab.xml") ? overrides : NULL, &error);
  ck_assert_msg (lab != NULL, "%s: %s", name, error ? error->message : "");
  return lab;
}

/* Values for every secret the lab uses: the two named above, and a
 * made-up one for the rest. */
static GHashTable *
test_secrets (const NlLab *lab)
{
  GHashTable *secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < lab->secrets->len; i++)
    {
      NlSecret *s = g_ptr_array_index (lab->secrets, i);
      const char *value = g_str_equal (s->name, "local-admin") ? LOCAL_ADMIN
                          : g_str_equal (s->name, "domain-admin") ? DOMAIN_ADMIN : NULL;
      g_hash_table_insert (secrets, g_strdup (s->name),
                           value ? g_strdup (value) : g_strdup_printf ("Other-%s-9x", s->name));
    }
  return secrets;
}

static GBytes *
test_key (void)
{
  static const char key[] = "0123456789abcdef0123456789abcdef";
  return g_bytes_new_static (key, 32);
}

static NlMedia *
build (const NlLab *lab, const char *machine, gboolean masked, GHashTable *secrets, GBytes *key)
{
  NlMediaOptions options = { .secrets = secrets, .digest_key = key, .masked = masked,
                             .crypt_salt = TEST_SALT };
  g_autoptr (GError) error = NULL;
  NlMachine *m = nl_lab_find_machine (lab, machine);
  NlMedia *media;

  ck_assert_msg (m != NULL, "no machine %s", machine);
  media = nl_media_build (lab, m, &options, &error);
  ck_assert_msg (media != NULL, "%s: %s", machine, error ? error->message : "");
  return media;
}

static char *
text_of (GBytes *bytes)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  return g_strndup (data, len);
}

static gboolean
bytes_contain (GBytes *bytes, const char *needle)
{
  g_autofree char *text = text_of (bytes);
  return strstr (text, needle) != NULL;
}

/* ---- golden files ----------------------------------------------------- */

static const char *const golden_machines[] = { "dc01", "vmm01", "hv01", "kiosk", "web01", "tools" };

/* Masked media of each machine match tests/data/media/MACHINE/FILE. */
START_TEST (masked_media_match_golden_files)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  const char *name = golden_machines[_i];
  g_autoptr (NlMedia) media = build (lab, name, TRUE, NULL, NULL);
  gboolean ok = TRUE;

  ck_assert_ptr_null (media->digest);
  for (guint i = 0; i < media->files->len; i++)
    {
      NlMediaFile *file = g_ptr_array_index (media->files, i);
      g_autofree char *flat = g_strdup (file->path);
      g_autofree char *relative = NULL;
      g_autofree char *text = text_of (file->data);
      g_strdelimit (flat, "/", '-');
      relative = g_strdup_printf ("media/%s/%s", name, flat);
      ok = nl_test_golden (relative, text) && ok;
    }
  ck_assert_msg (ok, "%s: media differ from the golden files", name);
}
END_TEST

/* Unmasked Windows media are the masked ones with each marker replaced by
 * the secret's value; nothing else differs. */
START_TEST (unmasked_answer_files_differ_only_in_secrets)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  g_autoptr (GHashTable) secrets = test_secrets (lab);
  g_autoptr (GBytes) key = test_key ();
  static const char *const windows[] = { "dc01", "vmm01", "hv01", "kiosk" };

  for (guint w = 0; w < G_N_ELEMENTS (windows); w++)
    {
      g_autoptr (NlMedia) masked = build (lab, windows[w], TRUE, NULL, NULL);
      g_autoptr (NlMedia) real = build (lab, windows[w], FALSE, secrets, key);
      g_autofree char *expected = text_of (nl_media_lookup (masked, "Unattend.xml"));
      g_autofree char *actual = text_of (nl_media_lookup (real, "Unattend.xml"));
      GHashTableIter iter;
      gpointer k, v;

      g_hash_table_iter_init (&iter, secrets);
      while (g_hash_table_iter_next (&iter, &k, &v))
        {
          g_autofree char *marker = nl_media_secret_marker (k);
          g_auto (GStrv) parts = g_strsplit (expected, marker, -1);
          g_free (expected);
          expected = g_strjoinv (v, parts);
        }
      ck_assert_str_eq (actual, expected);
      ck_assert_str_eq (masked->config_digest, real->config_digest);
      ck_assert_ptr_nonnull (real->digest);
    }
}
END_TEST

/* The first controller's Administrator password is the domain's; the
 * others' is their own; members join with the domain's. */
START_TEST (passwords_go_where_windows_needs_them)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  g_autoptr (GHashTable) secrets = test_secrets (lab);
  g_autoptr (GBytes) key = test_key ();
  g_autoptr (NlMedia) dc = build (lab, "dc01", FALSE, secrets, key);
  g_autoptr (NlMedia) member = build (lab, "vmm01", FALSE, secrets, key);
  g_autoptr (NlMedia) kiosk = build (lab, "kiosk", FALSE, secrets, key);

  ck_assert (bytes_contain (nl_media_lookup (dc, "Unattend.xml"), DOMAIN_ADMIN));
  ck_assert (!bytes_contain (nl_media_lookup (dc, "Unattend.xml"), LOCAL_ADMIN));
  ck_assert (bytes_contain (nl_media_lookup (member, "Unattend.xml"), LOCAL_ADMIN));
  ck_assert (bytes_contain (nl_media_lookup (member, "Unattend.xml"), DOMAIN_ADMIN));
  ck_assert (bytes_contain (nl_media_lookup (kiosk, "Unattend.xml"), LOCAL_ADMIN));
  ck_assert (!bytes_contain (nl_media_lookup (kiosk, "Unattend.xml"), DOMAIN_ADMIN));
}
END_TEST

/* user-data holds a SHA-512 crypt hash of the password (which crypt(3)
 * verifies), never the password; without a fixed salt, each build draws a
 * new one while the digest stays put. */
START_TEST (cloud_init_gets_a_password_hash_only)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  g_autoptr (GHashTable) secrets = test_secrets (lab);
  g_autoptr (GBytes) key = test_key ();
  g_autoptr (NlMedia) media = build (lab, "web01", FALSE, secrets, key);
  g_autofree char *user_data = text_of (nl_media_lookup (media, "user-data"));
  g_autofree char *expected_hash = g_strdup (crypt (LOCAL_ADMIN, TEST_SALT));
  NlMediaOptions options = { .secrets = secrets, .digest_key = key };
  g_autoptr (NlMedia) a = nl_media_build (lab, nl_lab_find_machine (lab, "web01"), &options, NULL);
  g_autoptr (NlMedia) b = nl_media_build (lab, nl_lab_find_machine (lab, "web01"), &options, NULL);
  g_autofree char *ua = text_of (nl_media_lookup (a, "user-data"));
  g_autofree char *ub = text_of (nl_media_lookup (b, "user-data"));
  const char *hash_a;
  char hash[128] = { 0 };

  ck_assert_ptr_null (strstr (user_data, LOCAL_ADMIN));
  ck_assert_ptr_nonnull (strstr (user_data, expected_hash));
  ck_assert (g_str_has_prefix (expected_hash, "$6$"));
  ck_assert_str_ne (ua, ub);
  ck_assert_str_eq (a->digest, b->digest);
  /* A random salt still hashes the same password. */
  hash_a = strstr (ua, "password: \"") + strlen ("password: \"");
  memcpy (hash, hash_a, strcspn (hash_a, "\""));
  ck_assert_str_eq (crypt (LOCAL_ADMIN, hash), hash);
}
END_TEST

/* ---- digests ---------------------------------------------------------- */

START_TEST (digest_follows_configuration_and_secrets)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  g_autoptr (GHashTable) secrets = test_secrets (lab);
  g_autoptr (GBytes) key = test_key ();
  g_autoptr (GBytes) other_key = g_bytes_new_static ("fedcba9876543210fedcba9876543210", 32);
  g_autoptr (NlMedia) base = build (lab, "vmm01", FALSE, secrets, key);
  g_autoptr (NlMedia) again = build (lab, "vmm01", FALSE, secrets, key);
  g_autoptr (NlMedia) rekeyed = build (lab, "vmm01", FALSE, secrets, other_key);
  g_autoptr (NlMedia) changed_secret = NULL;
  g_autoptr (NlMedia) changed_config = NULL;
  g_autoptr (NlMedia) unrelated = NULL;
  NlMachine *vmm01 = nl_lab_find_machine (lab, "vmm01");

  ck_assert_str_eq (base->digest, again->digest);
  ck_assert_str_ne (base->digest, rekeyed->digest);
  ck_assert_str_eq (base->config_digest, rekeyed->config_digest);
  ck_assert_ptr_null (strstr (base->digest, LOCAL_ADMIN));

  g_hash_table_insert (secrets, g_strdup ("domain-admin"), g_strdup ("Changed-Passw0rd"));
  changed_secret = build (lab, "vmm01", FALSE, secrets, key);
  ck_assert_str_ne (base->digest, changed_secret->digest);
  ck_assert_str_eq (base->config_digest, changed_secret->config_digest);

  /* A secret the machine does not use changes nothing. */
  g_hash_table_insert (secrets, g_strdup ("domain-admin"), g_strdup (DOMAIN_ADMIN));
  g_hash_table_insert (secrets, g_strdup ("dsrm"), g_strdup ("Changed-Dsrm-1"));
  unrelated = build (lab, "vmm01", FALSE, secrets, key);
  ck_assert_str_eq (base->digest, unrelated->digest);

  vmm01->rdp = FALSE;
  changed_config = build (lab, "vmm01", FALSE, secrets, key);
  ck_assert_str_ne (base->config_digest, changed_config->config_digest);
  ck_assert_str_ne (base->digest, changed_config->digest);
}
END_TEST

/* cloud-init's instance-id comes from the configuration, so it changes with
 * it and not with a new salt or a new secret. */
START_TEST (instance_id_follows_configuration)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  g_autoptr (NlMedia) before = build (lab, "web01", TRUE, NULL, NULL);
  g_autoptr (NlMedia) after = NULL;
  g_autofree char *meta_before = text_of (nl_media_lookup (before, "meta-data"));
  g_autofree char *meta_after = NULL;
  g_autofree char *expected = g_strdup_printf ("instance-id: nestlab-%.16s\n", before->config_digest);
  NlMachine *web01 = nl_lab_find_machine (lab, "web01");

  ck_assert (g_str_has_prefix (meta_before, expected));
  g_free (web01->timezone);
  web01->timezone = g_strdup ("Europe/Paris");
  after = build (lab, "web01", TRUE, NULL, NULL);
  meta_after = text_of (nl_media_lookup (after, "meta-data"));
  ck_assert_str_ne (meta_before, meta_after);
}
END_TEST

START_TEST (missing_secret_is_an_error_without_values)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  g_autoptr (GHashTable) secrets = test_secrets (lab);
  g_autoptr (GBytes) key = test_key ();
  NlMediaOptions options = { .secrets = secrets, .digest_key = key };
  g_autoptr (GError) error = NULL;
  g_autoptr (NlMedia) media = NULL;

  g_hash_table_remove (secrets, "domain-admin");
  media = nl_media_build (lab, nl_lab_find_machine (lab, "vmm01"), &options, &error);
  ck_assert_ptr_null (media);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  ck_assert_ptr_nonnull (strstr (error->message, "domain-admin"));
  ck_assert_ptr_null (strstr (error->message, LOCAL_ADMIN));
}
END_TEST

/* ---- structure of every answer file ----------------------------------- */

static char *
xpath_string (xmlXPathContextPtr ctx, const char *expr)
{
  xmlXPathObjectPtr obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  xmlChar *s = xmlXPathCastToString (obj);
  char *out = g_strdup ((const char *) s);
  xmlFree (s);
  xmlXPathFreeObject (obj);
  return out;
}

static double
xpath_number (xmlXPathContextPtr ctx, const char *expr)
{
  xmlXPathObjectPtr obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  double n = xmlXPathCastToNumber (obj);
  xmlXPathFreeObject (obj);
  return n;
}

/* The MACs the rendered domain XML gives MACHINE, in order. */
static GPtrArray *
domain_macs (const NlLab *lab, const NlMachine *machine)
{
  NlRenderOptions options = { .vendor = NL_CPU_VENDOR_INTEL };
  g_autoptr (GError) error = NULL;
  xmlDocPtr doc = nl_render_domain (lab, machine, &options, &error);
  xmlXPathContextPtr ctx;
  xmlXPathObjectPtr obj;
  GPtrArray *macs = g_ptr_array_new_with_free_func (g_free);

  ck_assert_msg (doc != NULL, "%s", error ? error->message : "");
  ctx = xmlXPathNewContext (doc);
  obj = xmlXPathEvalExpression ((const xmlChar *) "/domain/devices/interface/mac/@address", ctx);
  for (int i = 0; obj->nodesetval && i < obj->nodesetval->nodeNr; i++)
    {
      xmlChar *s = xmlNodeGetContent (obj->nodesetval->nodeTab[i]);
      g_ptr_array_add (macs, g_strdup ((const char *) s));
      xmlFree (s);
    }
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (ctx);
  xmlFreeDoc (doc);
  return macs;
}

static void
check_answer_file (const NlLab *lab, const NlMachine *machine, GBytes *unattend)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (unattend, &len);
  xmlDocPtr doc = xmlReadMemory (data, len, "Unattend.xml", NULL, XML_PARSE_NONET);
  xmlXPathContextPtr ctx;
  g_autoptr (GPtrArray) macs = domain_macs (lab, machine);
  const char *m = machine->name;

  ck_assert_msg (doc != NULL, "%s: Unattend.xml is not well-formed", m);
  ctx = xmlXPathNewContext (doc);
  xmlXPathRegisterNs (ctx, (const xmlChar *) "u", (const xmlChar *) "urn:schemas-microsoft-com:unattend");
  xmlXPathRegisterNs (ctx, (const xmlChar *) "wcm", (const xmlChar *) "http://schemas.microsoft.com/WMIConfig/2002/State");

  ck_assert_msg (xpath_number (ctx, "count(/u:unattend)") == 1, "%s: root is not unattend in its namespace", m);
  ck_assert_msg (xpath_number (ctx, "count(/u:unattend/u:settings)") == 2, "%s: not two passes", m);
  ck_assert_msg (xpath_number (ctx, "count(/u:unattend/u:settings[@pass='specialize'])") == 1, "%s: no specialize", m);
  ck_assert_msg (xpath_number (ctx, "count(/u:unattend/u:settings[@pass='oobeSystem'])") == 1, "%s: no oobeSystem", m);
  ck_assert_msg (xpath_number (ctx, "count(//u:component)") > 0, "%s: no components", m);
  ck_assert_msg (xpath_number (ctx, "count(//u:component[not(@processorArchitecture='amd64') "
                                    "or not(@publicKeyToken='31bf3856ad364e35') or not(@language='neutral') "
                                    "or not(@versionScope='nonSxS') or not(@name)])") == 0,
                 "%s: a component lacks Windows' attributes", m);
  ck_assert_msg (xpath_number (ctx, "count(//*[namespace-uri() != 'urn:schemas-microsoft-com:unattend'])") == 0,
                 "%s: an element outside the unattend namespace", m);
  ck_assert_msg (xpath_number (ctx, "count(//u:Interface[not(@wcm:action='add')])") == 0,
                 "%s: an Interface without wcm:action", m);
  {
    g_autofree char *name = xpath_string (ctx, "string(//u:settings[@pass='specialize']/"
                                               "u:component[@name='Microsoft-Windows-Shell-Setup']/u:ComputerName)");
    ck_assert_str_eq (name, m);
  }
  ck_assert_msg (xpath_number (ctx, "count(//u:AdministratorPassword/u:Value)") == 1, "%s: no password", m);
  /* Domain members join; domain controllers never do. */
  ck_assert_msg (xpath_number (ctx, "count(//u:JoinDomain)") == (nl_lab_machine_joins (lab, machine) ? 1 : 0),
                 "%s: domain join where it does not belong", m);
  if (machine->role == NL_ROLE_DOMAIN_CONTROLLER)
    ck_assert_msg (xpath_number (ctx, "count(//u:component[@name='Microsoft-Windows-UnattendedJoin'])") == 0,
                   "%s: a domain controller joins", m);
  /* One Interface per NIC in each of TCPIP and DNS-Client, keyed by the
   * MAC libvirt gives that NIC. */
  ck_assert_uint_eq (macs->len, machine->nics->len);
  for (const char *const *c = (const char *const[]) { "Microsoft-Windows-TCPIP", "Microsoft-Windows-DNS-Client", NULL };
       macs->len > 0 && *c; c++)
    {
      g_autofree char *count = g_strdup_printf ("count(//u:component[@name='%s']/u:Interfaces/u:Interface)", *c);
      ck_assert_msg (xpath_number (ctx, count) == macs->len, "%s: %s: not one Interface per NIC", m, *c);
      for (guint i = 0; i < macs->len; i++)
        {
          g_autofree char *id = nl_media_windows_mac (g_ptr_array_index (macs, i));
          g_autofree char *expr = g_strdup_printf ("string(//u:component[@name='%s']/u:Interfaces/u:Interface[%u]/u:Identifier)",
                                                   *c, i + 1);
          g_autofree char *got = xpath_string (ctx, expr);
          ck_assert_msg (g_str_equal (got, id), "%s: %s Interface %u is %s, NIC has %s", m, *c, i + 1, got, id);
          ck_assert_msg (g_regex_match_simple ("^([0-9A-F]{2}-){5}[0-9A-F]{2}$", got, 0, 0), "%s: identifier %s", m, got);
        }
    }
  xmlXPathFreeContext (ctx);
  xmlFreeDoc (doc);
}

static const char *const structure_labs[] = {
  "media/corp.xml", "template/good/identity.xml", "render/windows-dc.xml", "render/hyperv.xml",
  "scvmm-demo.xml", "failover-cluster.xml", "patch-ring.xml",
};

START_TEST (every_answer_file_has_windows_structure)
{
  const char *which = structure_labs[_i];
  g_autoptr (NlLab) lab = strchr (which, '/') ? load (which) : load_shipped (which);
  g_autoptr (GHashTable) secrets = test_secrets (lab);
  g_autoptr (GBytes) key = test_key ();
  guint checked = 0;

  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      if (m->os_family != NL_OS_FAMILY_WINDOWS)
        continue;
      for (int masked = 0; masked <= 1; masked++)
        {
          g_autoptr (NlMedia) media = build (lab, m->name, masked, masked ? NULL : secrets, key);
          ck_assert_int_eq (media->kind, NL_MEDIA_UNATTEND);
          check_answer_file (lab, m, nl_media_lookup (media, "Unattend.xml"));
          checked++;
        }
    }
  ck_assert_msg (checked > 0, "%s has no Windows machine", which);
}
END_TEST

/* Linux media: the NoCloud files, every NIC matched by the MAC libvirt
 * gives it. */
START_TEST (cloud_init_seeds_match_nics_by_mac)
{
  g_autoptr (NlLab) lab = load_shipped ("tiny-lab.xml");
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      g_autoptr (NlMedia) media = build (lab, m->name, TRUE, NULL, NULL);
      g_autoptr (GPtrArray) macs = domain_macs (lab, m);
      g_autofree char *network = text_of (nl_media_lookup (media, "network-config"));
      g_autofree char *meta = text_of (nl_media_lookup (media, "meta-data"));
      g_autofree char *host = g_strdup_printf ("local-hostname: %s\n", m->name);

      ck_assert_int_eq (media->kind, NL_MEDIA_CLOUD_INIT);
      ck_assert_str_eq (media->label, "cidata");
      ck_assert_str_eq (((NlMediaFile *) g_ptr_array_index (media->files, 0))->path, "meta-data");
      ck_assert_ptr_nonnull (strstr (meta, host));
      ck_assert (g_str_has_prefix (network, "version: 2\n"));
      for (guint n = 0; n < macs->len; n++)
        {
          g_autofree char *match = g_strdup_printf ("macaddress: \"%s\"", (char *) g_ptr_array_index (macs, n));
          ck_assert_msg (strstr (network, match) != NULL, "%s: no NIC matched by %s", m->name, match);
        }
      ck_assert_ptr_nonnull (strstr (network, "addresses:\n      - \""));
    }
}
END_TEST

START_TEST (other_os_gets_no_media)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  NlMachine *m = nl_lab_find_machine (lab, "tools");
  NlMediaOptions options = { .masked = TRUE };
  g_autoptr (GError) error = NULL;
  g_autoptr (NlMedia) media = NULL;

  m->os_family = NL_OS_FAMILY_OTHER;
  ck_assert (!nl_media_kind_of (m, NULL));
  media = nl_media_build (lab, m, &options, &error);
  ck_assert_ptr_null (media);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
}
END_TEST

/* ---- ISO images ------------------------------------------------------- */

static char *
strv_text (GPtrArray *names)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (s, "%s%s", i ? " " : "", (char *) g_ptr_array_index (names, i));
  return g_string_free (s, FALSE);
}

static void
assert_tree (const char *path, NlIsoTree tree, const char *label, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *got_label = NULL;
  g_autoptr (GPtrArray) names = nl_iso_list (path, tree, &got_label, &error);
  g_autofree char *text = NULL;

  ck_assert_msg (names != NULL, "%s", error ? error->message : "");
  text = strv_text (names);
  ck_assert_str_eq (text, expected);
  ck_assert_str_eq (got_label, label);
}

/* A Windows config disk: Joliet names as given (what Windows reads), 8.3
 * upper case in plain ISO 9660, Rock Ridge for Linux; the files' bytes come
 * back unchanged; the file on the host is 0600. */
START_TEST (windows_iso_reads_back)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  g_autoptr (GHashTable) secrets = test_secrets (lab);
  g_autoptr (GBytes) key = test_key ();
  g_autoptr (NlMedia) media = build (lab, "vmm01", FALSE, secrets, key);
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-iso-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "vmm01.iso", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) back = NULL;
  struct stat st;

  ck_assert_msg (nl_iso_write (media, path, 0600, &error), "%s", error ? error->message : "");
  ck_assert_int_eq (g_stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 07777, 0600);
  ck_assert_int_eq (st.st_size % 2048, 0);
  assert_tree (path, NL_ISO_TREE_JOLIET, "NESTLAB", "Unattend.xml nestlab/SetupComplete.cmd");
  assert_tree (path, NL_ISO_TREE_ROCK_RIDGE, "NESTLAB", "Unattend.xml nestlab/SetupComplete.cmd");
  assert_tree (path, NL_ISO_TREE_ISO9660, "NESTLAB", "NESTLAB/SETUPCOM.CMD UNATTEND.XML");
  back = nl_iso_read_file (path, NL_ISO_TREE_JOLIET, "Unattend.xml", &error);
  ck_assert_msg (back != NULL, "%s", error ? error->message : "");
  ck_assert (g_bytes_equal (back, nl_media_lookup (media, "Unattend.xml")));
}
END_TEST

START_TEST (cidata_iso_reads_back)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  g_autoptr (NlMedia) media = build (lab, "web01", TRUE, NULL, NULL);
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-iso-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "web01.iso", NULL);
  g_autoptr (GError) error = NULL;

  ck_assert_msg (nl_iso_write (media, path, 0600, &error), "%s", error ? error->message : "");
  assert_tree (path, NL_ISO_TREE_ROCK_RIDGE, "cidata", "meta-data network-config user-data");
  assert_tree (path, NL_ISO_TREE_JOLIET, "cidata", "meta-data network-config user-data");
  for (guint i = 0; i < media->files->len; i++)
    {
      NlMediaFile *file = g_ptr_array_index (media->files, i);
      g_autoptr (GBytes) back = nl_iso_read_file (path, NL_ISO_TREE_ROCK_RIDGE, file->path, &error);
      ck_assert_msg (back != NULL, "%s", error ? error->message : "");
      ck_assert (g_bytes_equal (back, file->data));
    }
}
END_TEST

/* The same files make the same image, byte for byte. */
START_TEST (iso_is_reproducible)
{
  g_autoptr (NlLab) lab = load ("media/corp.xml");
  g_autoptr (NlMedia) media = build (lab, "hv01", TRUE, NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) a = nl_iso_build (media->label, media->files, &error);
  g_autoptr (GBytes) b = nl_iso_build (media->label, media->files, &error);

  ck_assert_ptr_nonnull (a);
  ck_assert (g_bytes_equal (a, b));
}
END_TEST

START_TEST (iso_refuses_bad_names_and_labels)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_media_file_free);
  NlMediaFile *file = g_new0 (NlMediaFile, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) image = NULL;

  file->path = g_strdup ("a//c");
  file->data = g_bytes_new_static ("x", 1);
  g_ptr_array_add (files, file);
  image = nl_iso_build ("label", files, &error);
  ck_assert_ptr_null (image);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  g_clear_error (&error);
  image = nl_iso_build ("a-label-that-is-longer-than-32-characters", files, &error);
  ck_assert_ptr_null (image);
}
END_TEST

static Suite *
media_suite (void)
{
  Suite *s = suite_create ("media");
  TCase *tc = tcase_create ("contents");
  TCase *iso = tcase_create ("iso");

  tcase_add_loop_test (tc, masked_media_match_golden_files, 0, G_N_ELEMENTS (golden_machines));
  tcase_add_test (tc, unmasked_answer_files_differ_only_in_secrets);
  tcase_add_test (tc, passwords_go_where_windows_needs_them);
  tcase_add_test (tc, cloud_init_gets_a_password_hash_only);
  tcase_add_test (tc, digest_follows_configuration_and_secrets);
  tcase_add_test (tc, instance_id_follows_configuration);
  tcase_add_test (tc, missing_secret_is_an_error_without_values);
  tcase_add_loop_test (tc, every_answer_file_has_windows_structure, 0, G_N_ELEMENTS (structure_labs));
  tcase_add_test (tc, cloud_init_seeds_match_nics_by_mac);
  tcase_add_test (tc, other_os_gets_no_media);
  suite_add_tcase (s, tc);

  tcase_add_test (iso, windows_iso_reads_back);
  tcase_add_test (iso, cidata_iso_reads_back);
  tcase_add_test (iso, iso_is_reproducible);
  tcase_add_test (iso, iso_refuses_bad_names_and_labels);
  suite_add_tcase (s, iso);
  return s;
}

NL_TEST_MAIN (media_suite)
