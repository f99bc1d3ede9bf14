/* `nested enable/disable/status` against libvirt's test driver: each forked
 * test defines its own domain on a fresh test:///default, plans and applies,
 * and reads back the redefined XML. The CLI cases run the nestlab binary on
 * the test driver's built-in (running) domain. */
#include <string.h>
#include <sys/wait.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include <nestlab/error.h>
#include "virt-private.h"
#include <nestlab/virt-nested.h>
#include "nl-test.h"

#define DOMAIN_UUID "0b5b2f6e-6a43-4d7e-9a63-3c3c1f0a7e11"

/* A small Linux-like guest: custom CPU, 256 MiB with a balloon, a NIC with a
 * MAC-spoofing filter. */
static const char *const plain_domain =
  "<domain type='test'>\n"
  "  <name>nl-nested-guest</name>\n"
  "  <uuid>" DOMAIN_UUID "</uuid>\n"
  "  <memory unit='MiB'>256</memory>\n"
  "  <currentMemory unit='MiB'>128</currentMemory>\n"
  "  <vcpu>2</vcpu>\n"
  "  <os><type arch='x86_64'>hvm</type></os>\n"
  "  <cpu mode='custom' match='exact'><model>qemu64</model></cpu>\n"
  "  <devices>\n"
  "    <interface type='network'>\n"
  "      <mac address='52:54:00:aa:bb:01'/>\n"
  "      <source network='default'/>\n"
  "      <filterref filter='clean-traffic'/>\n"
  "    </interface>\n"
  "    <memballoon model='virtio'/>\n"
  "  </devices>\n"
  "</domain>\n";

static const char *const windows_domain =
  "<domain type='test'>\n"
  "  <name>nl-nested-win</name>\n"
  "  <memory unit='GiB'>8</memory>\n"
  "  <vcpu>2</vcpu>\n"
  "  <os><type arch='x86_64'>hvm</type></os>\n"
  "  <features><acpi/><hyperv mode='custom'><relaxed state='on'/><evmcs state='on'/></hyperv></features>\n"
  "  <devices/>\n"
  "</domain>\n";

static const NlNestedOptions amd = { .vendor = NL_CPU_VENDOR_AMD };

static virConnectPtr
open_test (void)
{
  g_autoptr (GError) error = NULL;
  virConnectPtr conn = nl_virt_connect ("test:///default", &error);
  ck_assert_msg (conn != NULL, "%s", error ? error->message : "");
  return conn;
}

/* Domains the tests define are held only so that they are released at the
 * end of the test, hence G_GNUC_UNUSED where they are declared. */
static virDomainPtr
define (virConnectPtr conn, const char *xml)
{
  virDomainPtr dom = virDomainDefineXML (conn, xml);
  ck_assert_msg (dom != NULL, "define: %s", virGetLastErrorMessage ());
  return dom;
}

static char *
xpath_string (virConnectPtr conn, const char *name, const char *expr)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, name);
  g_autofree char *xml = NULL;
  xmlDocPtr doc;
  xmlXPathContextPtr xp;
  xmlXPathObjectPtr obj;
  char *result;

  ck_assert (dom != NULL);
  xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  ck_assert (xml != NULL);
  doc = xmlReadMemory (xml, strlen (xml), "d.xml", NULL, XML_PARSE_NONET);
  xp = xmlXPathNewContext (doc);
  obj = xmlXPathEvalExpression ((const xmlChar *) expr, xp);
  result = (char *) xmlXPathCastToString (obj);
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (xp);
  xmlFreeDoc (doc);
  return result;
}

#define assert_xpath(conn, name, expr, expected) \
  do { \
    g_autofree char *got_ = xpath_string ((conn), (name), (expr)); \
    ck_assert_msg (g_strcmp0 (got_, (expected)) == 0, "%s: got '%s', expected '%s'", \
                   (expr), got_, (expected)); \
  } while (0)

static gboolean
lines_contain (const GPtrArray *lines, const char *part)
{
  for (guint i = 0; i < lines->len; i++)
    if (strstr (g_ptr_array_index (lines, i), part) != NULL)
      return TRUE;
  return FALSE;
}

static void
apply_ok (virConnectPtr conn, const NlNestedPlan *plan, gboolean force)
{
  g_autoptr (GError) error = NULL;
  ck_assert_msg (nl_virt_nested_apply (conn, plan, force, 5, NULL, NULL, &error),
                 "apply: %s", error ? error->message : "");
}

START_TEST (enable_redefines_a_shut_off_domain_for_nesting)
{
  g_autoptr (virConnect) conn = open_test ();
  g_autoptr (virDomain) dom = define (conn, plain_domain);
  g_autoptr (GError) error = NULL;
  g_autoptr (NlNestedPlan) plan = nl_virt_nested_plan (conn, "nl-nested-guest",
                                                        NL_NESTED_ACTION_ENABLE, &amd, &error);

  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  ck_assert (plan->new_xml != NULL);
  ck_assert (!plan->running);
  ck_assert (!plan->managed_save);
  ck_assert (!plan->options.windows);
  ck_assert (lines_contain (plan->changes, "CPU: mode custom -> host-passthrough"));
  ck_assert (lines_contain (plan->changes, "svm required"));
  ck_assert (lines_contain (plan->changes, "memory: 256 MiB -> 4 GiB"));
  ck_assert (lines_contain (plan->changes, "removed filter clean-traffic"));
  ck_assert (lines_contain (plan->changes, "balloon"));
  /* Planning changes nothing. */
  assert_xpath (conn, "nl-nested-guest", "string(/domain/cpu/@mode)", "custom");

  apply_ok (conn, plan, FALSE);
  assert_xpath (conn, "nl-nested-guest", "string(/domain/uuid)", DOMAIN_UUID);
  assert_xpath (conn, "nl-nested-guest", "string(/domain/cpu/@mode)", "host-passthrough");
  assert_xpath (conn, "nl-nested-guest",
                "string(/domain/cpu/feature[@name='svm']/@policy)", "require");
  assert_xpath (conn, "nl-nested-guest", "string(/domain/memory)", "4194304");
  assert_xpath (conn, "nl-nested-guest", "string(/domain/currentMemory)", "4194304");
  assert_xpath (conn, "nl-nested-guest", "string(/domain/devices/memballoon/@model)", "none");
  assert_xpath (conn, "nl-nested-guest", "string(count(//filterref))", "0");
  /* Not started. */
  ck_assert_int_eq (virDomainIsActive (dom), 0);
}
END_TEST

START_TEST (enable_twice_changes_nothing_the_second_time)
{
  g_autoptr (virConnect) conn = open_test ();
  G_GNUC_UNUSED g_autoptr (virDomain) dom = define (conn, plain_domain);
  g_autoptr (NlNestedPlan) first = NULL;
  g_autoptr (NlNestedPlan) second = NULL;

  first = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_ENABLE, &amd, NULL);
  ck_assert (first != NULL);
  apply_ok (conn, first, FALSE);
  second = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_ENABLE, &amd, NULL);
  ck_assert (second != NULL);
  ck_assert_msg (second->new_xml == NULL, "second run changes: %s",
                 second->changes->len ? (char *) g_ptr_array_index (second->changes, 0) : "");
  ck_assert_uint_eq (second->changes->len, 0);
  /* Applying an empty plan is a no-op. */
  apply_ok (conn, second, FALSE);
}
END_TEST

START_TEST (memory_option_raises_the_minimum_and_never_lowers)
{
  g_autoptr (virConnect) conn = open_test ();
  G_GNUC_UNUSED g_autoptr (virDomain) dom = define (conn, plain_domain);
  NlNestedOptions options = { .vendor = NL_CPU_VENDOR_INTEL,
                              .min_memory = G_GUINT64_CONSTANT (512) << 20 };
  g_autoptr (NlNestedPlan) plan = NULL;
  g_autoptr (NlNestedPlan) lower = NULL;

  plan = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_ENABLE, &options, NULL);
  ck_assert (plan != NULL);
  apply_ok (conn, plan, FALSE);
  assert_xpath (conn, "nl-nested-guest", "string(/domain/memory)", "524288");
  assert_xpath (conn, "nl-nested-guest",
                "string(/domain/cpu/feature[@name='vmx']/@policy)", "require");
  options.min_memory = G_GUINT64_CONSTANT (256) << 20;
  lower = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_ENABLE, &options, NULL);
  ck_assert (lower != NULL && lower->new_xml == NULL);
}
END_TEST

START_TEST (running_domain_is_refused_unless_forced)
{
  g_autoptr (virConnect) conn = open_test ();
  g_autoptr (virDomain) dom = define (conn, plain_domain);
  g_autoptr (NlNestedPlan) plan = NULL;
  g_autoptr (GError) error = NULL;

  ck_assert_int_eq (virDomainCreate (dom), 0);
  plan = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_ENABLE, &amd, NULL);
  ck_assert (plan != NULL && plan->running);
  ck_assert (!nl_virt_nested_apply (conn, plan, FALSE, 5, NULL, NULL, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_FAILED));
  ck_assert_msg (strstr (error->message, "--force") != NULL, "%s", error->message);
  ck_assert_int_eq (virDomainIsActive (dom), 1);
  assert_xpath (conn, "nl-nested-guest", "string(/domain/cpu/@mode)", "custom");

  apply_ok (conn, plan, TRUE);
  ck_assert_int_eq (virDomainIsActive (dom), 0);
  assert_xpath (conn, "nl-nested-guest", "string(/domain/cpu/@mode)", "host-passthrough");
}
END_TEST

START_TEST (managed_save_image_is_removed)
{
  g_autoptr (virConnect) conn = open_test ();
  g_autoptr (virDomain) dom = define (conn, plain_domain);
  g_autoptr (NlNestedPlan) plan = NULL;

  ck_assert_int_eq (virDomainCreate (dom), 0);
  ck_assert_int_eq (virDomainManagedSave (dom, 0), 0);
  ck_assert_int_eq (virDomainHasManagedSaveImage (dom, 0), 1);
  plan = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_ENABLE, &amd, NULL);
  ck_assert (plan != NULL && plan->managed_save && !plan->running);
  ck_assert (lines_contain (plan->warnings, "managed save"));
  apply_ok (conn, plan, FALSE);
  ck_assert_int_eq (virDomainHasManagedSaveImage (dom, 0), 0);
  assert_xpath (conn, "nl-nested-guest", "string(/domain/cpu/@mode)", "host-passthrough");
}
END_TEST

START_TEST (snapshots_are_warned_about)
{
  g_autoptr (virConnect) conn = open_test ();
  g_autoptr (virDomain) dom = define (conn, plain_domain);
  g_autoptr (virDomainSnapshot) snap = NULL;
  g_autoptr (NlNestedPlan) plan = NULL;

  snap = virDomainSnapshotCreateXML (dom, "<domainsnapshot><name>before</name></domainsnapshot>", 0);
  ck_assert_msg (snap != NULL, "%s", virGetLastErrorMessage ());
  plan = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_ENABLE, &amd, NULL);
  ck_assert (plan != NULL);
  ck_assert_int_eq (plan->snapshots, 1);
  ck_assert (lines_contain (plan->warnings, "1 snapshot:"));
  ck_assert (lines_contain (plan->warnings, "on AMD"));
  apply_ok (conn, plan, FALSE);
  /* The snapshot is kept. */
  ck_assert_int_eq (virDomainSnapshotNum (dom, 0), 1);
}
END_TEST

START_TEST (disable_hides_the_extension_and_keeps_memory)
{
  g_autoptr (virConnect) conn = open_test ();
  G_GNUC_UNUSED g_autoptr (virDomain) dom = define (conn, plain_domain);
  g_autoptr (NlNestedPlan) on = NULL;
  g_autoptr (NlNestedPlan) off = NULL;
  g_autoptr (NlNestedPlan) again = NULL;

  on = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_ENABLE, &amd, NULL);
  apply_ok (conn, on, FALSE);
  off = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_DISABLE, &amd, NULL);
  ck_assert (off != NULL && off->new_xml != NULL);
  apply_ok (conn, off, FALSE);
  assert_xpath (conn, "nl-nested-guest",
                "string(/domain/cpu/feature[@name='svm']/@policy)", "disable");
  assert_xpath (conn, "nl-nested-guest", "string(/domain/memory)", "4194304");
  again = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_DISABLE, &amd, NULL);
  ck_assert (again != NULL && again->new_xml == NULL);
}
END_TEST

START_TEST (windows_domain_gets_nested_safe_enlightenments)
{
  g_autoptr (virConnect) conn = open_test ();
  G_GNUC_UNUSED g_autoptr (virDomain) dom = define (conn, windows_domain);
  g_autoptr (NlNestedPlan) plan = NULL;

  plan = nl_virt_nested_plan (conn, "nl-nested-win", NL_NESTED_ACTION_ENABLE, &amd, NULL);
  ck_assert (plan != NULL && plan->options.windows);
  /* evmcs is Intel-only: on AMD it goes. */
  ck_assert (lines_contain (plan->changes, "removed evmcs"));
  apply_ok (conn, plan, FALSE);
  assert_xpath (conn, "nl-nested-win", "string(count(/domain/features/hyperv/evmcs))", "0");
  assert_xpath (conn, "nl-nested-win", "string(/domain/features/hyperv/vapic/@state)", "on");
  /* 8 GiB stays 8 GiB. */
  assert_xpath (conn, "nl-nested-win", "string(/domain/memory)", "8388608");
}
END_TEST

START_TEST (status_reports_ready_and_every_reason)
{
  g_autoptr (virConnect) conn = open_test ();
  G_GNUC_UNUSED g_autoptr (virDomain) guest = define (conn, plain_domain);
  G_GNUC_UNUSED g_autoptr (virDomain) win = define (conn, windows_domain);
  g_autoptr (NlNestedPlan) plan = NULL;
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GPtrArray) one = NULL;
  const NlNestedStatus *s;

  plan = nl_virt_nested_plan (conn, "nl-nested-guest", NL_NESTED_ACTION_ENABLE, &amd, NULL);
  apply_ok (conn, plan, FALSE);

  all = nl_virt_nested_status (conn, NULL, &amd, NULL);
  ck_assert (all != NULL);
  ck_assert_uint_eq (all->len, 3);   /* with the test driver's own "test" */
  s = g_ptr_array_index (all, 0);
  ck_assert_str_eq (s->name, "nl-nested-guest");
  ck_assert (s->ready);
  ck_assert_uint_eq (s->reasons->len, 0);
  s = g_ptr_array_index (all, 1);
  ck_assert_str_eq (s->name, "nl-nested-win");
  ck_assert (!s->ready && s->windows);
  ck_assert (lines_contain (s->reasons, "CPU"));
  ck_assert (lines_contain (s->reasons, "evmcs"));
  s = g_ptr_array_index (all, 2);
  ck_assert_str_eq (s->name, "test");
  ck_assert (!s->ready && s->active);
  ck_assert (lines_contain (s->reasons, "memory balloon"));

  one = nl_virt_nested_status (conn, "nl-nested-guest", &amd, NULL);
  ck_assert (one != NULL && one->len == 1);
}
END_TEST

START_TEST (unknown_domain_is_not_found)
{
  g_autoptr (virConnect) conn = open_test ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) error2 = NULL;

  ck_assert (nl_virt_nested_plan (conn, "no-such", NL_NESTED_ACTION_ENABLE, &amd, &error) == NULL);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_NOT_FOUND));
  ck_assert (nl_virt_nested_status (conn, "no-such", &amd, &error2) == NULL);
  ck_assert (g_error_matches (error2, NL_ERROR, NL_ERROR_NOT_FOUND));
}
END_TEST

START_TEST (domain_capabilities_error_on_the_test_driver)
{
  g_autoptr (virConnect) conn = open_test ();
  g_autoptr (GError) error = NULL;
  ck_assert (nl_virt_domain_caps (conn, "kvm", &error) == NULL);
  ck_assert (error != NULL);
}
END_TEST

/* ---- the CLI, on the test driver's running "test" domain ------------- */

static int
run_cli (char **out, char **err, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  const char *arg;
  int status = 0;
  va_list ap;

  g_ptr_array_add (argv, (char *) g_getenv ("NESTLAB"));
  g_ptr_array_add (argv, (char *) "-c");
  g_ptr_array_add (argv, (char *) "test:///default");
  va_start (ap, err);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  /* stdin from /dev/null: never a terminal. */
  ck_assert (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                           out, err, &status, &error));
  return WEXITSTATUS (status);
}

START_TEST (cli_dry_run_prints_the_changes_and_changes_nothing)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  ck_assert_int_eq (run_cli (&out, &err, "nested", "enable", "test", "--dry-run", NULL), 0);
  ck_assert_msg (strstr (out, "Domain 'test' (running): changes to make it nested-ready:"),
                 "%s", out);
  ck_assert (strstr (out, "CPU: mode custom -> host-passthrough"));
  ck_assert (strstr (out, "will refuse without --force"));
  ck_assert (strstr (out, "Dry run: nothing changed."));
}
END_TEST

START_TEST (cli_refuses_a_running_domain_without_force)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  ck_assert_int_eq (run_cli (&out, &err, "nested", "enable", "test", "--yes", NULL), 1);
  ck_assert_msg (strstr (err, "is running: shut it down first, or pass --force"), "%s", err);
}
END_TEST

START_TEST (cli_without_a_terminal_needs_yes)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  ck_assert_int_eq (run_cli (&out, &err, "nested", "enable", "test", "--force", NULL), 2);
  ck_assert_msg (strstr (err, "pass --yes"), "%s", err);
}
END_TEST

START_TEST (cli_force_yes_enables_and_reports)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  ck_assert_int_eq (run_cli (&out, &err, "nested", "enable", "test", "--force", "--yes",
                             "--timeout", "2", NULL), 0);
  ck_assert_msg (strstr (out, "shutting down 'test'"), "%s", out);
  ck_assert (strstr (out, "redefined 'test'"));
  ck_assert (strstr (out, "Domain 'test' is nested-ready. It was not started"));
}
END_TEST

START_TEST (cli_status_and_usage_errors)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out2 = NULL;
  g_autofree char *err2 = NULL;
  g_autofree char *out3 = NULL;
  g_autofree char *err3 = NULL;
  g_autofree char *out4 = NULL;
  g_autofree char *err4 = NULL;

  ck_assert_int_eq (run_cli (&out, &err, "nested", "status", "--all", "--json", NULL), 1);
  ck_assert_msg (strstr (out, "{\"name\": \"test\", \"active\": true, \"ready\": false"), "%s", out);
  ck_assert_int_eq (run_cli (&out2, &err2, "nested", "status", NULL), 2);
  ck_assert (strstr (err2, "expected one DOMAIN, or --all"));
  ck_assert_int_eq (run_cli (&out3, &err3, "nested", "enable", "test", "--memory", "lots", NULL), 2);
  ck_assert_int_eq (run_cli (&out4, &err4, "nested", "enable", "missing", "--emulate", NULL), 1);
  ck_assert_msg (strstr (err4, "missing"), "%s", err4);
}
END_TEST

static Suite *
nested_domain_suite (void)
{
  Suite *s = suite_create ("nested-domain");
  TCase *tc = tcase_create ("test-driver");
  TCase *cli = tcase_create ("cli");

  tcase_add_test (tc, enable_redefines_a_shut_off_domain_for_nesting);
  tcase_add_test (tc, enable_twice_changes_nothing_the_second_time);
  tcase_add_test (tc, memory_option_raises_the_minimum_and_never_lowers);
  tcase_add_test (tc, running_domain_is_refused_unless_forced);
  tcase_add_test (tc, managed_save_image_is_removed);
  tcase_add_test (tc, snapshots_are_warned_about);
  tcase_add_test (tc, disable_hides_the_extension_and_keeps_memory);
  tcase_add_test (tc, windows_domain_gets_nested_safe_enlightenments);
  tcase_add_test (tc, status_reports_ready_and_every_reason);
  tcase_add_test (tc, unknown_domain_is_not_found);
  tcase_add_test (tc, domain_capabilities_error_on_the_test_driver);
  suite_add_tcase (s, tc);
  tcase_add_test (cli, cli_dry_run_prints_the_changes_and_changes_nothing);
  tcase_add_test (cli, cli_refuses_a_running_domain_without_force);
  tcase_add_test (cli, cli_without_a_terminal_needs_yes);
  tcase_add_test (cli, cli_force_yes_enables_and_reports);
  tcase_add_test (cli, cli_status_and_usage_errors);
  suite_add_tcase (s, cli);
  return s;
}

NL_TEST_MAIN (nested_domain_suite)
