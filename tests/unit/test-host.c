/* Host readiness checks on fixture trees (tests/data/host/<case>/ holding
 * proc/, sys/, dev/, usr/ and libvirt's domain capabilities): Intel ready,
 * Intel with nesting off, AMD ready, no KVM at all, VT-x off in the firmware. */
#include <string.h>
#include <sys/wait.h>

#include <nestlab/host.h>
#include "nl-test.h"

typedef struct {
  char *root;
  char *kvm_caps;
  char *qemu_caps;
  GPtrArray *checks;
} Fixture;

static void
fixture_free (Fixture *f)
{
  g_free (f->root);
  g_free (f->kvm_caps);
  g_free (f->qemu_caps);
  g_clear_pointer (&f->checks, g_ptr_array_unref);
  g_free (f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Fixture, fixture_free)

static char *
read_data (const char *relative)
{
  g_autofree char *path = nl_test_data_path (relative);
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

/* Runs the checks on tests/data/host/CASE with its domcaps-kvm.xml, or with
 * KVM_ERROR as the reason there are none. */
static Fixture *
run_case (const char *name, const char *kvm_error, const char *qemu_caps)
{
  Fixture *f = g_new0 (Fixture, 1);
  g_autofree char *rel = g_build_filename ("host", name, NULL);
  g_autofree char *caps_rel = g_build_filename ("host", name, "domcaps-kvm.xml", NULL);
  NlHostCheckOptions options = { 0 };

  f->root = nl_test_data_path (rel);
  ck_assert_msg (g_file_test (f->root, G_FILE_TEST_IS_DIR), "fixture %s missing", f->root);
  f->kvm_caps = kvm_error ? NULL : read_data (caps_rel);
  f->qemu_caps = qemu_caps ? read_data (qemu_caps) : NULL;
  options.root = f->root;
  options.kvm_caps_xml = f->kvm_caps;
  options.kvm_caps_error = kvm_error;
  options.qemu_caps_xml = f->qemu_caps;
  f->checks = nl_host_check_run (&options);
  return f;
}

static const NlHostCheck *
find (const Fixture *f, const char *id)
{
  for (guint i = 0; i < f->checks->len; i++)
    {
      const NlHostCheck *c = g_ptr_array_index (f->checks, i);
      if (g_str_equal (c->id, id))
        return c;
    }
  return NULL;
}

static void
assert_status (const Fixture *f, const char *id, NlHostStatus status)
{
  const NlHostCheck *c = find (f, id);
  ck_assert_msg (c != NULL, "no check '%s'", id);
  ck_assert_msg (c->status == status, "check '%s' is %s, expected %s: %s", id,
                 nl_host_status_to_string (c->status), nl_host_status_to_string (status),
                 c->message);
}

static void
assert_contains (const char *text, const char *part)
{
  ck_assert_msg (text != NULL && strstr (text, part) != NULL, "'%s' not in '%s'", part,
                 text ? text : "(null)");
}

START_TEST (intel_host_with_everything_on_is_ready)
{
  g_autoptr (Fixture) f = run_case ("intel-ready", NULL, NULL);

  ck_assert (nl_host_check_ready (f->checks));
  for (guint i = 0; i < f->checks->len; i++)
    {
      const NlHostCheck *c = g_ptr_array_index (f->checks, i);
      ck_assert_msg (c->status == NL_HOST_STATUS_OK, "%s: %s", c->id, c->message);
      ck_assert (c->fix == NULL);
    }
  assert_contains (find (f, "cpu-vendor")->message, "Intel CPU (Intel(R) Xeon(R) Gold 6230");
  assert_status (f, "nested-param", NL_HOST_STATUS_OK);
  assert_status (f, "ept", NL_HOST_STATUS_OK);
  assert_status (f, "shadow-vmcs", NL_HOST_STATUS_OK);
  assert_status (f, "apicv", NL_HOST_STATUS_OK);
  assert_status (f, "libvirt-kvm", NL_HOST_STATUS_OK);
  assert_status (f, "libvirt-host-model", NL_HOST_STATUS_OK);
  assert_contains (find (f, "firmware")->message, "OVMF_CODE_4M.secboot.fd");
  ck_assert (find (f, "npt") == NULL);
}
END_TEST

START_TEST (intel_nested_off_fails_naming_the_modprobe_file_and_command)
{
  g_autoptr (Fixture) f = run_case ("intel-nested-off", NULL, NULL);
  const NlHostCheck *nested = find (f, "nested-param");

  ck_assert (!nl_host_check_ready (f->checks));
  assert_status (f, "nested-param", NL_HOST_STATUS_FAIL);
  assert_contains (nested->message, "/sys/module/kvm_intel/parameters/nested is N");
  assert_contains (nested->fix, "options kvm_intel nested=1");
  assert_contains (nested->fix, "/etc/modprobe.d/kvm.conf");
  assert_contains (nested->fix, "modprobe -r kvm_intel && modprobe kvm_intel");
  assert_contains (nested->fix, "no VM running");
  /* Shadow VMCS off is slow, not broken. */
  assert_status (f, "shadow-vmcs", NL_HOST_STATUS_WARN);
  assert_contains (find (f, "shadow-vmcs")->fix, "enable_shadow_vmcs=1");
  assert_status (f, "ept", NL_HOST_STATUS_OK);
  assert_status (f, "apicv", NL_HOST_STATUS_OK);
  assert_status (f, "kvm-device", NL_HOST_STATUS_OK);
  assert_status (f, "libvirt-host-model", NL_HOST_STATUS_WARN);
  assert_status (f, "swtpm", NL_HOST_STATUS_WARN);
  assert_contains (find (f, "swtpm")->fix, "apt-get install swtpm");
  assert_status (f, "memory", NL_HOST_STATUS_WARN);
  assert_contains (find (f, "memory")->message, "6.0 GiB available");
  /* Exactly one failure: the nested parameter. */
  {
    guint failed = 0;
    for (guint i = 0; i < f->checks->len; i++)
      failed += ((const NlHostCheck *) g_ptr_array_index (f->checks, i))->status
                == NL_HOST_STATUS_FAIL;
    ck_assert_uint_eq (failed, 1);
  }
}
END_TEST

START_TEST (amd_host_ready_with_nested_1_and_npt)
{
  g_autoptr (Fixture) f = run_case ("amd-ready", NULL, NULL);

  ck_assert (nl_host_check_ready (f->checks));
  assert_contains (find (f, "cpu-vendor")->message, "AMD CPU (AMD EPYC 7543");
  assert_contains (find (f, "cpu-flag")->message, "svm");
  assert_contains (find (f, "nested-param")->message, "kvm_amd nested=1");
  assert_status (f, "npt", NL_HOST_STATUS_OK);
  assert_status (f, "libvirt-host-model", NL_HOST_STATUS_OK);
  /* Intel-only parameters are not asked of an AMD host. */
  ck_assert (find (f, "ept") == NULL);
  ck_assert (find (f, "shadow-vmcs") == NULL);
  ck_assert (find (f, "apicv") == NULL);
  /* The Microsoft-keys Secure Boot build counts as Secure Boot. */
  assert_status (f, "firmware", NL_HOST_STATUS_OK);
}
END_TEST

START_TEST (host_without_kvm_says_so_plainly)
{
  const char *why = "invalid argument: the accel 'kvm' is not supported by "
                    "'/usr/bin/qemu-system-x86_64' on this host";
  g_autoptr (Fixture) f = run_case ("no-kvm", why, "host/domcaps-qemu.xml");
  const NlHostCheck *flag = find (f, "cpu-flag");
  const NlHostCheck *dev = find (f, "kvm-device");
  const NlHostCheck *libvirt = find (f, "libvirt-kvm");

  ck_assert (!nl_host_check_ready (f->checks));
  assert_contains (find (f, "cpu-vendor")->message, "itself a virtual machine");
  assert_status (f, "cpu-flag", NL_HOST_STATUS_FAIL);
  assert_contains (flag->message, "svm is missing");
  /* A VM needs its own hypervisor to pass the extension down. */
  assert_contains (flag->fix, "this host is a VM");
  assert_contains (flag->fix, "ExposeVirtualizationExtensions");
  assert_status (f, "kvm-device", NL_HOST_STATUS_FAIL);
  assert_contains (dev->message, "/dev/kvm does not exist");
  assert_contains (dev->fix, "modprobe kvm_amd");
  assert_status (f, "kvm-module", NL_HOST_STATUS_FAIL);
  ck_assert (find (f, "nested-param") == NULL);
  assert_status (f, "libvirt-kvm", NL_HOST_STATUS_FAIL);
  assert_contains (libvirt->message, "libvirt cannot run KVM domains");
  assert_contains (libvirt->message, why);
  assert_contains (libvirt->fix, "--emulate");
  /* Emulation is information, not a verdict. */
  assert_status (f, "emulation", NL_HOST_STATUS_INFO);
  assert_contains (find (f, "emulation")->message, "slow, for testing only");
  assert_status (f, "memory", NL_HOST_STATUS_OK);
}
END_TEST

START_TEST (missing_vmx_flag_points_at_the_firmware_setting)
{
  g_autoptr (Fixture) f = run_case ("no-vmx", "no KVM", NULL);
  const NlHostCheck *flag = find (f, "cpu-flag");

  ck_assert (!nl_host_check_ready (f->checks));
  assert_status (f, "cpu-flag", NL_HOST_STATUS_FAIL);
  assert_contains (flag->message, "vmx is missing");
  assert_contains (flag->fix, "Intel Virtualization Technology (VT-x)");
  assert_contains (flag->fix, "firmware (BIOS/UEFI)");
  ck_assert (strstr (flag->fix, "this host is a VM") == NULL);
  assert_contains (find (f, "kvm-device")->fix, "make the CPU offer vmx");
  assert_contains (find (f, "kvm-module")->fix, "modprobe kvm_intel");
  /* Plain OVMF works but not for Secure Boot templates. */
  assert_status (f, "firmware", NL_HOST_STATUS_WARN);
  assert_contains (find (f, "firmware")->message, "OVMF_CODE.fd");
  assert_status (f, "swtpm", NL_HOST_STATUS_WARN);
  assert_status (f, "memory", NL_HOST_STATUS_FAIL);
  assert_contains (find (f, "memory")->message, "3.0 GiB available");
  /* Not asked: libvirt's capabilities for emulation. */
  ck_assert (find (f, "emulation") == NULL);
}
END_TEST

START_TEST (host_passthrough_unsupported_by_libvirt_fails)
{
  g_autofree char *caps = read_data ("host/domcaps-no-passthrough.xml");
  g_autofree char *root = nl_test_data_path ("host/amd-ready");
  g_autoptr (GPtrArray) checks = NULL;
  NlHostCheckOptions options = { .root = root, .kvm_caps_xml = caps };
  gboolean found = FALSE;

  ck_assert (caps != NULL);
  checks = nl_host_check_run (&options);
  ck_assert (!nl_host_check_ready (checks));
  for (guint i = 0; i < checks->len; i++)
    {
      const NlHostCheck *c = g_ptr_array_index (checks, i);
      if (g_str_equal (c->id, "libvirt-kvm"))
        {
          found = TRUE;
          ck_assert_int_eq (c->status, NL_HOST_STATUS_FAIL);
          assert_contains (c->message, "host-passthrough unsupported");
        }
      if (g_str_equal (c->id, "libvirt-host-model"))
        ck_assert_int_eq (c->status, NL_HOST_STATUS_WARN);
    }
  ck_assert (found);
}
END_TEST

START_TEST (malformed_capabilities_fail_without_crashing)
{
  g_autofree char *root = nl_test_data_path ("host/intel-ready");
  NlHostCheckOptions options = { .root = root, .kvm_caps_xml = "<domainCapabilities><cpu>",
                                 .qemu_caps_xml = "not xml" };
  g_autoptr (GPtrArray) checks = nl_host_check_run (&options);
  ck_assert (!nl_host_check_ready (checks));
}
END_TEST

START_TEST (unreadable_root_fails_every_file_check)
{
  NlHostCheckOptions options = { .root = "/nonexistent/nestlab-host", .kvm_caps_error = "x" };
  g_autoptr (GPtrArray) checks = nl_host_check_run (&options);
  const NlHostCheck *first = g_ptr_array_index (checks, 0);

  ck_assert (!nl_host_check_ready (checks));
  ck_assert_str_eq (first->id, "cpu-vendor");
  ck_assert_int_eq (first->status, NL_HOST_STATUS_FAIL);
  assert_contains (first->message, "cannot read /proc/cpuinfo");
}
END_TEST

START_TEST (json_report_matches_golden)
{
  g_autoptr (Fixture) f = run_case ("no-kvm", "invalid argument: the accel 'kvm' is not "
                                    "supported by '/usr/bin/qemu-system-x86_64' on this host",
                                    "host/domcaps-qemu.xml");
  g_autofree char *json = nl_host_check_to_json (f->checks);
  ck_assert (nl_test_golden ("host/no-kvm.json", json));
}
END_TEST

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
host_suite (void)
{
  Suite *s = suite_create ("host");
  TCase *tc = tcase_create ("check");

  tcase_add_test (tc, intel_host_with_everything_on_is_ready);
  tcase_add_test (tc, intel_nested_off_fails_naming_the_modprobe_file_and_command);
  tcase_add_test (tc, amd_host_ready_with_nested_1_and_npt);
  tcase_add_test (tc, host_without_kvm_says_so_plainly);
  tcase_add_test (tc, missing_vmx_flag_points_at_the_firmware_setting);
  tcase_add_test (tc, host_passthrough_unsupported_by_libvirt_fails);
  tcase_add_test (tc, malformed_capabilities_fail_without_crashing);
  tcase_add_test (tc, unreadable_root_fails_every_file_check);
  tcase_add_test (tc, json_report_matches_golden);
  tcase_add_test (tc, cli_exit_status_and_json_on_a_fixture_tree);
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (host_suite)
