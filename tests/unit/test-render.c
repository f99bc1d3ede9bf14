/* Unit tests of rendering: lab templates in tests/data/render/ go through
 * nl_template_load and the renderers; every object must match its golden
 * file (tests/data/render/CASE/KIND-NAME.xml) and pass libvirt's own schema
 * (virt-xml-validate). Also determinism, salts and errors. That libvirt's
 * test driver accepts the golden domains and networks is an integration
 * test (tests/integration/test-render-accepted.c). */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libxml/xpath.h>

#include <nestlab/error.h>
#include <nestlab/render.h>
#include <nestlab/template.h>

#include "nl-config.h"
#include "nl-test.h"

typedef struct {
  const char *name;       /* output folder tests/data/render/NAME/ */
  const char *template;   /* tests/data/render/TEMPLATE */
  NlCpuVendor vendor;
  gboolean emulate;
  const char *salt;
  gboolean config_disk;   /* attach config disks */
} RenderCase;

static const RenderCase render_cases[] = {
  { "windows-dc", "windows-dc.xml", NL_CPU_VENDOR_INTEL, FALSE, NULL, FALSE },
  { "hyperv-intel", "hyperv.xml", NL_CPU_VENDOR_INTEL, FALSE, NULL, FALSE },
  { "hyperv-amd", "hyperv.xml", NL_CPU_VENDOR_AMD, FALSE, NULL, FALSE },
  { "hyperv-emulate", "hyperv.xml", NL_CPU_VENDOR_INTEL, TRUE, NULL, FALSE },
  { "linux-kernel", "linux-kernel.xml", NL_CPU_VENDOR_AMD, FALSE, NULL, FALSE },
  { "shared-disks", "shared-disks.xml", NL_CPU_VENDOR_INTEL, FALSE, NULL, FALSE },
  { "networks", "networks.xml", NL_CPU_VENDOR_INTEL, FALSE, NULL, FALSE },
  { "replica", "windows-dc.xml", NL_CPU_VENDOR_INTEL, FALSE, "replica-1", FALSE },
  { "config-disk-windows", "hyperv.xml", NL_CPU_VENDOR_INTEL, FALSE, NULL, TRUE },
  { "config-disk-linux", "linux-kernel.xml", NL_CPU_VENDOR_AMD, FALSE, NULL, TRUE },
  { "install-media", "install-media.xml", NL_CPU_VENDOR_INTEL, FALSE, NULL, TRUE },
};

/* One rendered object: its golden file name and libvirt schema kind. */
typedef struct {
  char *file;             /* KIND-NAME.xml */
  const char *schema;     /* domain, network, storagevol */
  char *text;
} Rendered;

static void
rendered_free (Rendered *r)
{
  g_free (r->file);
  g_free (r->text);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Rendered, rendered_free)

static NlLab *
load_lab (const char *template)
{
  g_autofree char *relative = g_build_filename ("render", template, NULL);
  g_autofree char *path = nl_test_data_path (relative);
  g_autoptr (GError) error = NULL;
  NlLab *lab = nl_template_load (path, NULL, &error);

  ck_assert_msg (lab != NULL, "%s: %s", path, error ? error->message : "");
  return lab;
}

/* Labs loaded once, before Check forks each test (an unchecked fixture), so
 * that the OS database behind Windows templates is read once, not per test.
 * Borrowed; tests that change a lab load their own with load_lab(). */
static GHashTable *shared_labs;

static void
setup_labs (void)
{
  shared_labs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) nl_lab_free);
  for (guint i = 0; i < G_N_ELEMENTS (render_cases); i++)
    if (!g_hash_table_contains (shared_labs, render_cases[i].template))
      g_hash_table_insert (shared_labs, (char *) render_cases[i].template,
                           load_lab (render_cases[i].template));
}

static void
teardown_labs (void)
{
  g_clear_pointer (&shared_labs, g_hash_table_unref);
}

static const NlLab *
shared_lab (const char *template)
{
  NlLab *lab = g_hash_table_lookup (shared_labs, template);
  ck_assert_msg (lab != NULL, "template %s not loaded", template);
  return lab;
}

static void
add_rendered (GPtrArray *out, const char *kind, const char *schema, const char *name,
              xmlDocPtr doc)
{
  Rendered *r = g_new0 (Rendered, 1);
  r->file = g_strdup_printf ("%s-%s.xml", kind, name);
  r->schema = schema;
  r->text = nl_render_to_string (doc);
  g_ptr_array_add (out, r);
  xmlFreeDoc (doc);
}

/* Everything `nestlab render` would print for LAB: networks, volumes,
 * domains. */
static GPtrArray *
render_all (const NlLab *lab, const NlRenderOptions *options)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) rendered_free);
  g_autoptr (GPtrArray) specs = NULL;

  for (guint i = 0; i < lab->networks->len; i++)
    {
      NlNetwork *network = g_ptr_array_index (lab->networks, i);
      g_autoptr (GError) error = NULL;
      g_autofree char *name = nl_lab_network_name (lab, network);
      xmlDocPtr doc = nl_render_network (lab, network, options, &error);
      ck_assert_msg (doc != NULL, "network %s: %s", name, error ? error->message : "");
      add_rendered (out, "network", "network", name, doc);
    }
  specs = nl_render_volume_specs (lab, options);
  for (guint i = 0; i < specs->len; i++)
    {
      NlVolumeSpec *spec = g_ptr_array_index (specs, i);
      g_autoptr (GError) error = NULL;
      xmlDocPtr doc = nl_render_volume (spec, &error);
      ck_assert_msg (doc != NULL, "volume %s: %s", spec->name, error ? error->message : "");
      add_rendered (out, "volume", "storagevol", spec->name, doc);
    }
  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *machine = g_ptr_array_index (lab->machines, i);
      g_autoptr (GError) error = NULL;
      g_autofree char *name = nl_lab_domain_name (lab, machine);
      xmlDocPtr doc = nl_render_domain (lab, machine, options, &error);
      ck_assert_msg (doc != NULL, "domain %s: %s", name, error ? error->message : "");
      add_rendered (out, "domain", "domain", name, doc);
    }
  return out;
}

static NlRenderOptions
options_of (const RenderCase *c)
{
  NlRenderOptions options = {
    .vendor = c->vendor,
    .emulate = c->emulate,
    .salt = c->salt,
    .config_disk = c->config_disk,
    .image_paths = NULL,
  };
  return options;
}

/* Runs ARGV; TRUE when it exits 0. OUTPUT gets its stdout and stderr. */
static gboolean
run (const char *const *argv, char **output)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = -1;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     &out, &err, &status, &error))
    {
      *output = g_strdup (error->message);
      return FALSE;
    }
  *output = g_strconcat (out ? out : "", err ? err : "", NULL);
  return g_spawn_check_wait_status (status, NULL);
}

static char *
write_tmp (const char *text)
{
  g_autoptr (GError) error = NULL;
  char *tmp = NULL;
  int fd = g_file_open_tmp ("nl-render-XXXXXX.xml", &tmp, &error);

  ck_assert_msg (fd >= 0, "tmp file: %s", error ? error->message : "");
  close (fd);
  ck_assert (g_file_set_contents (tmp, text, -1, NULL));
  return tmp;
}

START_TEST (render_matches_golden_files)
{
  const RenderCase *c = &render_cases[_i];
  NlRenderOptions options = options_of (c);
  const NlLab *lab = shared_lab (c->template);
  g_autoptr (GPtrArray) out = render_all (lab, &options);
  g_autofree char *dir_rel = g_build_filename ("render", c->name, NULL);
  g_autofree char *dir = nl_test_data_path (dir_rel);
  g_autoptr (GHashTable) expected = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean ok = TRUE;

  for (guint i = 0; i < out->len; i++)
    {
      Rendered *r = g_ptr_array_index (out, i);
      g_autofree char *relative = g_build_filename (dir_rel, r->file, NULL);
      if (!nl_test_golden (relative, r->text))
        ok = FALSE;
      g_hash_table_add (expected, r->file);
    }
  ck_assert_msg (ok, "%s: rendered XML differs from the golden files", c->name);

  /* A golden file that nothing renders any more is stale. */
  {
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *entry;
    ck_assert_msg (d != NULL, "no folder %s", dir);
    while ((entry = g_dir_read_name (d)) != NULL)
      ck_assert_msg (g_hash_table_contains (expected, entry), "%s: stale golden file %s",
                     c->name, entry);
  }
}
END_TEST

START_TEST (render_passes_libvirt_schema)
{
  const RenderCase *c = &render_cases[_i];
  NlRenderOptions options = options_of (c);
  const NlLab *lab = shared_lab (c->template);
  g_autoptr (GPtrArray) out = render_all (lab, &options);

  for (guint i = 0; i < out->len; i++)
    {
      Rendered *r = g_ptr_array_index (out, i);
      g_autofree char *tmp = write_tmp (r->text);
      g_autofree char *output = NULL;
      const char *argv[] = { "virt-xml-validate", tmp, r->schema, NULL };
      gboolean valid = run (argv, &output);
      g_unlink (tmp);
      ck_assert_msg (valid, "%s/%s fails virt-xml-validate:\n%s\n%s", c->name, r->file,
                     output, r->text);
    }
}
END_TEST

START_TEST (render_is_deterministic)
{
  const RenderCase *c = &render_cases[_i];
  NlRenderOptions options = options_of (c);
  const NlLab *lab = shared_lab (c->template);
  g_autoptr (NlLab) again = load_lab (c->template);
  g_autoptr (GPtrArray) first = render_all (lab, &options);
  g_autoptr (GPtrArray) second = render_all (lab, &options);
  g_autoptr (GPtrArray) third = render_all (again, &options);

  ck_assert_uint_eq (first->len, second->len);
  ck_assert_uint_eq (first->len, third->len);
  for (guint i = 0; i < first->len; i++)
    {
      Rendered *a = g_ptr_array_index (first, i);
      Rendered *b = g_ptr_array_index (second, i);
      Rendered *d = g_ptr_array_index (third, i);
      ck_assert_str_eq (a->file, b->file);
      ck_assert_str_eq (a->text, b->text);
      ck_assert_str_eq (a->text, d->text);
    }
}
END_TEST

static char *
xpath_string (xmlDocPtr doc, const char *expr)
{
  xmlXPathContextPtr ctx = xmlXPathNewContext (doc);
  xmlXPathObjectPtr obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  char *result = NULL;

  if (obj != NULL && obj->type == XPATH_STRING)
    result = g_strdup ((const char *) obj->stringval);
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (ctx);
  return result;
}

START_TEST (salt_changes_uuid_and_mac_but_reservations_follow)
{
  const NlLab *lab = shared_lab ("windows-dc.xml");
  NlMachine *dc = nl_lab_find_machine (lab, "dc01");
  NlNetwork *mgmt = nl_lab_find_network (lab, "mgmt");
  NlRenderOptions plain = { .vendor = NL_CPU_VENDOR_INTEL };
  NlRenderOptions salted = { .vendor = NL_CPU_VENDOR_INTEL, .salt = "replica-1" };
  xmlDocPtr d1 = nl_render_domain (lab, dc, &plain, NULL);
  xmlDocPtr d2 = nl_render_domain (lab, dc, &salted, NULL);
  xmlDocPtr n1 = nl_render_network (lab, mgmt, &plain, NULL);
  xmlDocPtr n2 = nl_render_network (lab, mgmt, &salted, NULL);
  g_autofree char *uuid1 = xpath_string (d1, "string(/domain/uuid)");
  g_autofree char *uuid2 = xpath_string (d2, "string(/domain/uuid)");
  g_autofree char *genid1 = xpath_string (d1, "string(/domain/genid)");
  g_autofree char *genid2 = xpath_string (d2, "string(/domain/genid)");
  g_autofree char *mac1 = xpath_string (d1, "string(/domain/devices/interface/mac/@address)");
  g_autofree char *mac2 = xpath_string (d2, "string(/domain/devices/interface/mac/@address)");
  g_autofree char *host1 = xpath_string (n1, "string(/network/ip/dhcp/host[@name='dc01']/@mac)");
  g_autofree char *host2 = xpath_string (n2, "string(/network/ip/dhcp/host[@name='dc01']/@mac)");
  g_autofree char *nuuid1 = xpath_string (n1, "string(/network/uuid)");
  g_autofree char *nuuid2 = xpath_string (n2, "string(/network/uuid)");

  ck_assert_str_ne (uuid1, uuid2);
  ck_assert_str_ne (genid1, genid2);
  ck_assert_str_ne (mac1, mac2);
  ck_assert_str_ne (nuuid1, nuuid2);
  ck_assert_str_eq (mac1, host1);
  ck_assert_str_eq (mac2, host2);
  ck_assert_int_eq (strlen (mac2), 17);
  ck_assert (g_str_has_prefix (mac2, "02:"));
  xmlFreeDoc (d1);
  xmlFreeDoc (d2);
  xmlFreeDoc (n1);
  xmlFreeDoc (n2);
}
END_TEST

/* Every DHCP reservation made for a machine names a MAC that machine's
 * rendered domain really has, with and without a salt. */
START_TEST (reservations_match_domain_macs)
{
  const RenderCase *c = &render_cases[_i];
  NlRenderOptions options = options_of (c);
  const NlLab *lab = shared_lab (c->template);
  g_autoptr (GHashTable) macs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint checked = 0;

  for (guint m = 0; m < lab->machines->len; m++)
    {
      NlMachine *machine = g_ptr_array_index (lab->machines, m);
      xmlDocPtr doc = nl_render_domain (lab, machine, &options, NULL);
      xmlXPathContextPtr ctx = xmlXPathNewContext (doc);
      xmlXPathObjectPtr set = xmlXPathEvalExpression (
        (const xmlChar *) "/domain/devices/interface/mac/@address", ctx);
      for (int i = 0; set->nodesetval && i < set->nodesetval->nodeNr; i++)
        {
          xmlChar *mac = xmlNodeGetContent (set->nodesetval->nodeTab[i]);
          g_hash_table_add (macs, g_strdup_printf ("%s %s", machine->name, (char *) mac));
          xmlFree (mac);
        }
      xmlXPathFreeObject (set);
      xmlXPathFreeContext (ctx);
      xmlFreeDoc (doc);
    }
  for (guint n = 0; n < lab->networks->len; n++)
    {
      xmlDocPtr doc = nl_render_network (lab, g_ptr_array_index (lab->networks, n), &options, NULL);
      for (xmlNodePtr host = xmlDocGetRootElement (doc)->children; host; host = host->next)
        {
          /* Walk network/ip/dhcp/host. */
          if (host->type != XML_ELEMENT_NODE || !xmlStrEqual (host->name, (const xmlChar *) "ip"))
            continue;
          for (xmlNodePtr dhcp = host->children; dhcp; dhcp = dhcp->next)
            for (xmlNodePtr h = dhcp->children; h; h = h->next)
              {
                g_autofree char *name = (char *) xmlGetProp (h, (const xmlChar *) "name");
                g_autofree char *mac = (char *) xmlGetProp (h, (const xmlChar *) "mac");
                g_autofree char *key = NULL;
                if (!xmlStrEqual (h->name, (const xmlChar *) "host")
                    || nl_lab_find_machine (lab, name) == NULL)
                  continue;
                key = g_strdup_printf ("%s %s", name, mac);
                ck_assert_msg (g_hash_table_contains (macs, key),
                               "%s: reservation %s has no NIC in the domain", c->name, key);
                checked++;
              }
        }
      xmlFreeDoc (doc);
    }
  if (g_str_equal (c->name, "networks") || g_str_equal (c->name, "shared-disks"))
    ck_assert_uint_gt (checked, 0);
}
END_TEST

START_TEST (to_string_has_no_declaration_and_ends_with_newline)
{
  const NlLab *lab = shared_lab ("networks.xml");
  NlRenderOptions options = { .vendor = NL_CPU_VENDOR_INTEL };
  xmlDocPtr doc = nl_render_network (lab, g_ptr_array_index (lab->networks, 0), &options, NULL);
  g_autofree char *text = nl_render_to_string (doc);

  ck_assert (g_str_has_prefix (text, "<network>\n  <name>"));
  ck_assert (g_str_has_suffix (text, "</network>\n"));
  ck_assert_ptr_null (strstr (text, "<?xml"));
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (volume_specs_resolve_backing_images)
{
  const NlLab *lab = shared_lab ("shared-disks.xml");
  g_autoptr (GHashTable) paths = g_hash_table_new (g_str_hash, g_str_equal);
  NlRenderOptions plain = { .vendor = NL_CPU_VENDOR_INTEL };
  NlRenderOptions mapped = { .vendor = NL_CPU_VENDOR_INTEL, .image_paths = paths };
  g_autoptr (GPtrArray) specs = nl_render_volume_specs (lab, &plain);
  g_autoptr (GPtrArray) remapped = NULL;
  NlVolumeSpec *boot;
  NlVolumeSpec *shared;

  /* Two boot disks, then the two shared disks. */
  ck_assert_uint_eq (specs->len, 4);
  boot = g_ptr_array_index (specs, 0);
  ck_assert_str_eq (boot->name, "clu-node01-disk0.qcow2");
  ck_assert_str_eq (boot->machine, "node01");
  ck_assert_str_eq (boot->pool, "default");
  ck_assert_str_eq (boot->format, "qcow2");
  ck_assert_str_eq (boot->backing_path, "/var/lib/libvirt/images/ws2022.qcow2");
  ck_assert_str_eq (boot->backing_format, "qcow2");
  ck_assert_uint_eq (boot->capacity, 0);
  shared = g_ptr_array_index (specs, 3);
  ck_assert_str_eq (shared->name, "clu-shared-data.raw");
  ck_assert_ptr_null (shared->machine);
  ck_assert_str_eq (shared->format, "raw");
  ck_assert_ptr_null (shared->backing_path);
  ck_assert_uint_eq (shared->capacity, G_GUINT64_CONSTANT (20) << 30);

  g_hash_table_insert (paths, (char *) "ws2022", (char *) "/pools/gold/ws2022-v3.qcow2");
  remapped = nl_render_volume_specs (lab, &mapped);
  boot = g_ptr_array_index (remapped, 1);
  ck_assert_str_eq (boot->backing_path, "/pools/gold/ws2022-v3.qcow2");
}
END_TEST

START_TEST (volume_without_size_or_backing_is_refused)
{
  NlVolumeSpec spec = { .name = (char *) "x.qcow2", .pool = (char *) "default",
                        .format = (char *) "qcow2" };
  g_autoptr (GError) error = NULL;

  ck_assert_ptr_null (nl_render_volume (&spec, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
}
END_TEST

START_TEST (unknown_network_is_an_error)
{
  g_autoptr (NlLab) lab = load_lab ("networks.xml");
  NlMachine *gw = nl_lab_find_machine (lab, "gw");
  NlNic *nic = g_ptr_array_index (gw->nics, 0);
  NlRenderOptions options = { .vendor = NL_CPU_VENDOR_INTEL };
  g_autoptr (GError) error = NULL;

  g_free (nic->network);
  nic->network = g_strdup ("nowhere");
  ck_assert_ptr_null (nl_render_domain (lab, gw, &options, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  ck_assert_ptr_nonnull (strstr (error->message, "nowhere"));
}
END_TEST

START_TEST (model_built_in_code_renders)
{
  /* A lab made in C, without the template loader: the smallest machine. */
  g_autoptr (NlLab) lab = nl_lab_new ();
  NlMachine *m = nl_machine_new ();
  NlRenderOptions options = { .vendor = NL_CPU_VENDOR_AMD };
  g_autoptr (GError) error = NULL;
  xmlDocPtr doc;
  g_autofree char *text = NULL;
  g_autofree char *cpu = NULL;

  lab->name = g_strdup ("c");
  lab->pool = g_strdup ("default");
  m->name = g_strdup ("m");
  m->os = g_strdup ("linux");
  m->os_family = NL_OS_FAMILY_LINUX;
  m->vcpus = 1;
  m->memory = 256 << 20;
  m->nested = TRUE;
  g_ptr_array_add (lab->machines, m);
  doc = nl_render_domain (lab, m, &options, &error);
  ck_assert_msg (doc != NULL, "%s", error ? error->message : "");
  text = nl_render_to_string (doc);
  cpu = xpath_string (doc, "string(/domain/cpu/feature[@policy='require']/@name)");
  ck_assert_str_eq (cpu, "svm");
  /* Nested raises memory to 4 GiB and drops the balloon. */
  ck_assert_ptr_nonnull (strstr (text, "<memory unit=\"KiB\">4194304</memory>"));
  ck_assert_ptr_nonnull (strstr (text, "<memballoon model=\"none\"/>"));
  ck_assert_ptr_null (strstr (text, "hyperv"));
  xmlFreeDoc (doc);
}
END_TEST

/* The templates nestlab ships render to XML that libvirt's schema accepts. */
static const struct {
  const char *file;
  const char *overrides[3];
} shipped_templates[] = {
  { "scvmm-demo.xml", { NULL } },
  { "failover-cluster.xml", { NULL } },
  { "patch-ring.xml", { NULL } },
  { "tiny-lab.xml", { "guest_dir=/srv/nestlab/guest", NULL } },
};

START_TEST (shipped_templates_render_valid_xml)
{
  g_autofree char *path = g_build_filename (NL_SOURCE_ROOT, "templates",
                                            shipped_templates[_i].file, NULL);
  g_autoptr (GHashTable) overrides = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                            g_free, g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (NlLab) lab = NULL;
  g_autoptr (GPtrArray) out = NULL;
  NlRenderOptions options = { .vendor = NL_CPU_VENDOR_INTEL };

  for (guint i = 0; shipped_templates[_i].overrides[i] != NULL; i++)
    ck_assert (nl_template_parse_override (overrides, shipped_templates[_i].overrides[i], NULL));
  lab = nl_template_load (path, overrides, &error);
  ck_assert_msg (lab != NULL, "%s: %s", path, error ? error->message : "");
  out = render_all (lab, &options);
  ck_assert_uint_gt (out->len, 0);
  for (guint i = 0; i < out->len; i++)
    {
      Rendered *r = g_ptr_array_index (out, i);
      g_autofree char *tmp = write_tmp (r->text);
      g_autofree char *output = NULL;
      const char *argv[] = { "virt-xml-validate", tmp, r->schema, NULL };
      gboolean valid = run (argv, &output);
      g_unlink (tmp);
      ck_assert_msg (valid, "%s: %s fails virt-xml-validate:\n%s", shipped_templates[_i].file,
                     r->file, output);
    }
}
END_TEST

static Suite *
render_suite (void)
{
  Suite *s = suite_create ("render");
  TCase *tc = tcase_create ("golden");
  int n = G_N_ELEMENTS (render_cases);

  tcase_add_unchecked_fixture (tc, setup_labs, teardown_labs);
  tcase_add_loop_test (tc, render_matches_golden_files, 0, n);
  tcase_add_loop_test (tc, render_passes_libvirt_schema, 0, n);
  tcase_add_loop_test (tc, render_is_deterministic, 0, n);
  tcase_add_loop_test (tc, reservations_match_domain_macs, 0, n);
  suite_add_tcase (s, tc);

  tc = tcase_create ("behaviour");
  tcase_add_unchecked_fixture (tc, setup_labs, teardown_labs);
  tcase_add_test (tc, salt_changes_uuid_and_mac_but_reservations_follow);
  tcase_add_test (tc, to_string_has_no_declaration_and_ends_with_newline);
  tcase_add_test (tc, volume_specs_resolve_backing_images);
  tcase_add_test (tc, volume_without_size_or_backing_is_refused);
  tcase_add_test (tc, unknown_network_is_an_error);
  tcase_add_test (tc, model_built_in_code_renders);
  suite_add_tcase (s, tc);

  tc = tcase_create ("shipped");
  tcase_add_loop_test (tc, shipped_templates_render_valid_xml, 0,
                       G_N_ELEMENTS (shipped_templates));
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (render_suite)
