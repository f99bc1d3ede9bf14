/* Unit tests of the nested module: golden domain XML before and after
 * nl_nested_enable (with the change list and the readiness reasons),
 * idempotency, disable, the host CPU vendor, and libvirt's own schema. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <nestlab/error.h>
#include <nestlab/host.h>
#include <nestlab/nested.h>
#include <nestlab/render.h>

#include "nl-test.h"

typedef struct {
  const char *name;
  NlCpuVendor vendor;
  gboolean emulate;
  gboolean windows;
} NestedCase;

/* Each case: tests/data/nested/NAME.in.xml goes in; NAME.out.xml,
 * NAME.changes (one change a line) and NAME.check (readiness reasons of the
 * input, one a line) are expected. */
static const NestedCase nested_cases[] = {
  { "intel", NL_CPU_VENDOR_INTEL, FALSE, FALSE },
  { "amd", NL_CPU_VENDOR_AMD, FALSE, FALSE },
  { "already-nested", NL_CPU_VENDOR_INTEL, FALSE, TRUE },
  { "balloon", NL_CPU_VENDOR_INTEL, FALSE, FALSE },
  { "filterref", NL_CPU_VENDOR_INTEL, FALSE, FALSE },
  { "small-memory", NL_CPU_VENDOR_INTEL, FALSE, FALSE },
  { "evmcs-amd", NL_CPU_VENDOR_AMD, FALSE, TRUE },
  { "windows-intel", NL_CPU_VENDOR_INTEL, FALSE, TRUE },
  { "emulate", NL_CPU_VENDOR_INTEL, TRUE, TRUE },
  { "unknown-vendor", NL_CPU_VENDOR_UNKNOWN, FALSE, FALSE },
};

static NlNestedOptions
options_of (const NestedCase *c)
{
  NlNestedOptions options = {
    .vendor = c->vendor,
    .emulate = c->emulate,
    .min_memory = 0,
    .windows = c->windows,
  };
  return options;
}

static xmlDocPtr
load_domain (const char *relative)
{
  g_autofree char *path = nl_test_data_path (relative);
  g_autofree char *xml = NULL;
  g_autoptr (GError) error = NULL;
  xmlDocPtr doc;

  ck_assert_msg (g_file_get_contents (path, &xml, NULL, &error), "%s: %s", path,
                 error ? error->message : "");
  doc = nl_nested_parse_domain (xml, &error);
  ck_assert_msg (doc != NULL, "%s: %s", path, error ? error->message : "");
  return doc;
}

static char *
join_lines (GPtrArray *lines)
{
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf (text, "%s\n", (const char *) g_ptr_array_index (lines, i));
  return g_string_free (text, FALSE);
}

/* Runs virt-xml-validate on TEXT written to a temporary file. */
static gboolean
xml_validates (const char *text, const char *kind, char **output)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  int fd = g_file_open_tmp ("nl-nested-XXXXXX.xml", &tmp, &error);
  int status = -1;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  ck_assert_msg (fd >= 0, "tmp file: %s", error ? error->message : "");
  close (fd);
  ck_assert (g_file_set_contents (tmp, text, -1, NULL));
  {
    const char *argv[] = { "virt-xml-validate", tmp, kind, NULL };
    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                       &out, &err, &status, &error))
      {
        *output = g_strdup (error->message);
        g_unlink (tmp);
        return FALSE;
      }
  }
  g_unlink (tmp);
  *output = g_strconcat (out ? out : "", err ? err : "", NULL);
  return g_spawn_check_wait_status (status, NULL);
}

START_TEST (enable_matches_golden_output)
{
  const NestedCase *c = &nested_cases[_i];
  NlNestedOptions options = options_of (c);
  g_autofree char *in = g_strdup_printf ("nested/%s.in.xml", c->name);
  g_autofree char *out = g_strdup_printf ("nested/%s.out.xml", c->name);
  g_autofree char *changes_file = g_strdup_printf ("nested/%s.changes", c->name);
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  xmlDocPtr doc = load_domain (in);
  g_autofree char *text = NULL;
  g_autofree char *lines = NULL;

  ck_assert_msg (nl_nested_enable (doc, &options, changes, &error), "%s: %s", c->name,
                 error ? error->message : "");
  text = nl_render_to_string (doc);
  lines = join_lines (changes);
  ck_assert_msg (nl_test_golden (out, text), "%s: output differs", c->name);
  ck_assert_msg (nl_test_golden (changes_file, lines), "%s: changes differ", c->name);
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (enable_twice_changes_nothing)
{
  const NestedCase *c = &nested_cases[_i];
  NlNestedOptions options = options_of (c);
  g_autofree char *in = g_strdup_printf ("nested/%s.in.xml", c->name);
  g_autoptr (GPtrArray) first = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) second = g_ptr_array_new_with_free_func (g_free);
  xmlDocPtr doc = load_domain (in);
  g_autofree char *once = NULL;
  g_autofree char *twice = NULL;
  g_autofree char *lines = NULL;

  ck_assert (nl_nested_enable (doc, &options, first, NULL));
  once = nl_render_to_string (doc);
  ck_assert (nl_nested_enable (doc, &options, second, NULL));
  twice = nl_render_to_string (doc);
  lines = join_lines (second);
  ck_assert_msg (second->len == 0, "%s: second run changed:\n%s", c->name, lines);
  ck_assert_str_eq (once, twice);
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (check_lists_reasons_then_passes_after_enable)
{
  const NestedCase *c = &nested_cases[_i];
  NlNestedOptions options = options_of (c);
  g_autofree char *in = g_strdup_printf ("nested/%s.in.xml", c->name);
  g_autofree char *check_file = g_strdup_printf ("nested/%s.check", c->name);
  g_autoptr (GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) after = g_ptr_array_new_with_free_func (g_free);
  xmlDocPtr doc = load_domain (in);
  g_autofree char *lines = NULL;
  g_autofree char *after_lines = NULL;
  gboolean ready;

  ready = nl_nested_check (doc, &options, reasons);
  lines = join_lines (reasons);
  ck_assert_msg (nl_test_golden (check_file, lines), "%s: reasons differ", c->name);
  ck_assert_int_eq (ready, reasons->len == 0);

  ck_assert (nl_nested_enable (doc, &options, NULL, NULL));
  ready = nl_nested_check (doc, &options, after);
  after_lines = join_lines (after);
  ck_assert_msg (ready, "%s: not ready after enable:\n%s", c->name, after_lines);
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (golden_output_passes_libvirt_schema)
{
  const NestedCase *c = &nested_cases[_i];
  g_autofree char *in = g_strdup_printf ("nested/%s.in.xml", c->name);
  g_autofree char *out = g_strdup_printf ("nested/%s.out.xml", c->name);
  const char *files[] = { in, out };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = nl_test_data_path (files[i]);
      g_autofree char *text = NULL;
      g_autofree char *output = NULL;
      ck_assert_msg (g_file_get_contents (path, &text, NULL, NULL), "missing %s", path);
      ck_assert_msg (xml_validates (text, "domain", &output), "%s fails virt-xml-validate:\n%s",
                     path, output);
    }
}
END_TEST

/* Enables nesting on tests/data/nested/CASE.in.xml, then disables it: the
 * changes and the document must match CASE.disable.changes and
 * CASE.disable.xml, pass libvirt's schema, and a second disable must change
 * nothing. Returns the disabled document (the caller frees it) and its
 * text in *TEXT. */
static xmlDocPtr
enable_then_disable (const char *name, const NlNestedOptions *options, char **text)
{
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) again = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *input = g_strdup_printf ("nested/%s.in.xml", name);
  g_autofree char *golden_changes = g_strdup_printf ("nested/%s.disable.changes", name);
  g_autofree char *golden_xml = g_strdup_printf ("nested/%s.disable.xml", name);
  g_autofree char *lines = NULL;
  g_autofree char *output = NULL;
  xmlDocPtr doc = load_domain (input);

  ck_assert (nl_nested_enable (doc, options, NULL, NULL));
  ck_assert (nl_nested_disable (doc, options, changes, NULL));
  lines = join_lines (changes);
  ck_assert_msg (nl_test_golden (golden_changes, lines), "%s differs", golden_changes);
  *text = nl_render_to_string (doc);
  ck_assert_msg (nl_test_golden (golden_xml, *text), "%s differs", golden_xml);
  ck_assert_msg (xml_validates (*text, "domain", &output), "invalid:\n%s", output);
  ck_assert (nl_nested_disable (doc, options, again, NULL));
  ck_assert_uint_eq (again->len, 0);
  return doc;
}

START_TEST (disable_hides_extension_and_keeps_memory)
{
  NlNestedOptions options = { .vendor = NL_CPU_VENDOR_INTEL, .windows = TRUE };
  g_autoptr (GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *text = NULL;
  xmlDocPtr doc = enable_then_disable ("windows-intel", &options, &text);

  ck_assert_ptr_nonnull (strstr (text, "<feature policy=\"disable\" name=\"vmx\"/>"));
  ck_assert_ptr_null (strstr (text, "evmcs"));
  ck_assert_ptr_nonnull (strstr (text, "<memballoon model=\"none\"/>"));
  ck_assert (!nl_nested_check (doc, &options, reasons));
  ck_assert_uint_ge (reasons->len, 1);
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (disable_of_an_emulated_domain_leaves_a_cpu_that_boots)
{
  NlNestedOptions options = { .vendor = NL_CPU_VENDOR_INTEL, .emulate = TRUE };
  g_autofree char *text = NULL;
  xmlDocPtr doc = enable_then_disable ("emulate", &options, &text);

  /* Not the maximum CPU (which does not boot with svm off), and no svm. */
  ck_assert_ptr_null (strstr (text, "mode=\"maximum\""));
  ck_assert_ptr_nonnull (strstr (text, ">qemu64</model>"));
  ck_assert_ptr_nonnull (strstr (text, "<feature policy=\"disable\" name=\"svm\"/>"));
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (a_kvm_domain_is_made_to_run_under_emulation)
{
  /* A nested Windows Hyper-V host as rendered for an Intel KVM host: what a
   * replica of it needs on a host that can only emulate. */
  xmlDocPtr doc = load_domain ("nested/windows-intel.out.xml");
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) again = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *text = NULL;
  g_autofree char *lines = NULL;
  xmlChar *buf = NULL;
  int len = 0;

  ck_assert (nl_nested_emulate (doc, changes, NULL));
  xmlDocDumpFormatMemory (doc, &buf, &len, 1);
  text = g_strndup ((const char *) buf, len);
  xmlFree (buf);
  lines = join_lines (changes);
  ck_assert_ptr_nonnull (strstr (text, "<domain type=\"qemu\""));
  ck_assert_ptr_nonnull (strstr (text, "<cpu mode=\"maximum\" check=\"none\">"));
  /* Still nested: with the extension emulation offers. */
  ck_assert_ptr_nonnull (strstr (text, "<feature policy=\"require\" name=\"svm\"/>"));
  ck_assert_ptr_null (strstr (text, "migratable"));
  ck_assert_ptr_null (strstr (text, "name=\"vmx\""));
  ck_assert_ptr_null (strstr (text, "vpindex"));
  ck_assert_ptr_null (strstr (text, "synic"));
  ck_assert_ptr_null (strstr (text, "evmcs"));
  ck_assert_ptr_nonnull (strstr (text, "<relaxed state=\"on\"/>"));
  ck_assert_ptr_nonnull (strstr (lines, "domain type: kvm -> qemu (software emulation)"));
  ck_assert_ptr_nonnull (strstr (lines, "CPU: mode host-passthrough -> maximum"));
  {
    g_autofree char *output = NULL;
    ck_assert_msg (xml_validates (text, "domain", &output), "not valid libvirt XML: %s", output);
  }
  /* Once emulated, nothing more to do. */
  ck_assert (nl_nested_emulate (doc, again, NULL));
  ck_assert_uint_eq (again->len, 0);
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (disable_without_cpu_changes_nothing)
{
  NlNestedOptions options = { .vendor = NL_CPU_VENDOR_AMD };
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func (g_free);
  xmlDocPtr doc = nl_nested_parse_domain (
    "<domain type='kvm'><name>x</name><memory>1048576</memory></domain>", NULL);

  ck_assert_ptr_nonnull (doc);
  ck_assert (nl_nested_disable (doc, &options, changes, NULL));
  ck_assert_uint_eq (changes->len, 0);
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (enable_raises_to_custom_minimum)
{
  NlNestedOptions options = { .vendor = NL_CPU_VENDOR_AMD, .min_memory = G_GUINT64_CONSTANT (6) << 30 };
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func (g_free);
  xmlDocPtr doc = load_domain ("nested/amd.in.xml");
  g_autofree char *text = NULL;

  ck_assert (nl_nested_enable (doc, &options, changes, NULL));
  text = nl_render_to_string (doc);
  /* 8 GiB is already above 6 GiB: untouched. */
  ck_assert_ptr_nonnull (strstr (text, "<memory unit=\"KiB\">8388608</memory>"));
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (enable_rejects_bad_memory_and_changes_nothing)
{
  NlNestedOptions options = { .vendor = NL_CPU_VENDOR_INTEL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func (g_free);
  const char *xml = "<domain type='kvm'><name>x</name><memory unit='KiB'>1048576</memory>"
                    "<currentMemory unit='parsecs'>12</currentMemory></domain>";
  xmlDocPtr doc = nl_nested_parse_domain (xml, NULL);
  g_autofree char *before = nl_render_to_string (doc);
  g_autofree char *after = NULL;

  ck_assert (!nl_nested_enable (doc, &options, changes, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  ck_assert_uint_eq (changes->len, 0);
  after = nl_render_to_string (doc);
  ck_assert_str_eq (before, after);
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (parse_refuses_what_is_not_a_domain)
{
  const char *bad[] = {
    "<network><name>x</name></network>",
    "<domain><name>x</name>",
    "<!DOCTYPE domain [<!ENTITY x 'y'>]><domain><name>&x;</name></domain>",
    "",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      xmlDocPtr doc = nl_nested_parse_domain (bad[i], &error);
      ck_assert_msg (doc == NULL, "accepted: %s", bad[i]);
      ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
    }
}
END_TEST

START_TEST (functions_refuse_a_network_document)
{
  NlNestedOptions options = { .vendor = NL_CPU_VENDOR_INTEL };
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GError) e2 = NULL;
  g_autoptr (GError) e3 = NULL;
  g_autoptr (GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  xmlDocPtr doc = xmlReadMemory ("<network/>", 10, NULL, NULL, XML_PARSE_NONET);

  ck_assert (!nl_nested_enable (doc, &options, NULL, &e1));
  ck_assert (!nl_nested_disable (doc, &options, NULL, &e2));
  ck_assert (!nl_nested_set_hyperv (doc, &options, NULL, &e3));
  ck_assert (!nl_nested_check (doc, &options, reasons));
  ck_assert_uint_eq (reasons->len, 1);
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (host_vendor_reads_cpuinfo)
{
  static const struct {
    const char *file;
    NlCpuVendor vendor;
  } cases[] = {
    { "nested/cpuinfo-intel", NL_CPU_VENDOR_INTEL },
    { "nested/cpuinfo-amd", NL_CPU_VENDOR_AMD },
    { "nested/cpuinfo-arm", NL_CPU_VENDOR_UNKNOWN },
    { "nested/no-such-cpuinfo", NL_CPU_VENDOR_UNKNOWN },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = nl_test_data_path (cases[i].file);
      ck_assert_msg (nl_host_cpu_vendor (path) == cases[i].vendor, "%s", cases[i].file);
    }
  /* The real one answers something without crashing. */
  ck_assert_int_lt (nl_host_cpu_vendor (NULL), NL_CPU_VENDOR_LAST);
}
END_TEST

START_TEST (vendor_names_round_trip)
{
  for (int v = 0; v < NL_CPU_VENDOR_LAST; v++)
    ck_assert_int_eq (nl_cpu_vendor_from_string (nl_cpu_vendor_to_string (v)), v);
  ck_assert_int_eq (nl_cpu_vendor_from_string ("via"), -1);
}
END_TEST

static Suite *
nested_suite (void)
{
  Suite *s = suite_create ("nested");
  TCase *tc = tcase_create ("golden");
  int n = G_N_ELEMENTS (nested_cases);

  tcase_add_loop_test (tc, enable_matches_golden_output, 0, n);
  tcase_add_loop_test (tc, enable_twice_changes_nothing, 0, n);
  tcase_add_loop_test (tc, check_lists_reasons_then_passes_after_enable, 0, n);
  tcase_add_loop_test (tc, golden_output_passes_libvirt_schema, 0, n);
  suite_add_tcase (s, tc);

  tc = tcase_create ("behaviour");
  tcase_add_test (tc, disable_hides_extension_and_keeps_memory);
  tcase_add_test (tc, disable_of_an_emulated_domain_leaves_a_cpu_that_boots);
  tcase_add_test (tc, a_kvm_domain_is_made_to_run_under_emulation);
  tcase_add_test (tc, disable_without_cpu_changes_nothing);
  tcase_add_test (tc, enable_raises_to_custom_minimum);
  tcase_add_test (tc, enable_rejects_bad_memory_and_changes_nothing);
  tcase_add_test (tc, parse_refuses_what_is_not_a_domain);
  tcase_add_test (tc, functions_refuse_a_network_document);
  tcase_add_test (tc, host_vendor_reads_cpuinfo);
  tcase_add_test (tc, vendor_names_round_trip);
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (nested_suite)
