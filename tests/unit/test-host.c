/* Host readiness checks on fixture trees (tests/data/host/<case>/ holding
 * proc/, sys/, dev/, usr/ and libvirt's domain capabilities): Intel ready,
 * Intel with nesting off, AMD ready, no KVM at all, VT-x off in the firmware.
 * And the one decision of KVM or emulation, on trees built per test (git
 * cannot hold a device's owner and mode). */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <nestlab/error.h>
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
  g_autoptr (NlKvmFacts) facts = NULL;

  f->root = nl_test_data_path (rel);
  ck_assert_msg (g_file_test (f->root, G_FILE_TEST_IS_DIR), "fixture %s missing", f->root);
  f->kvm_caps = kvm_error ? NULL : read_data (caps_rel);
  f->qemu_caps = qemu_caps ? read_data (qemu_caps) : NULL;
  /* Git keeps no owner or mode, so the fixtures' /dev/kvm stands for one
   * that QEMU's user can open; the access rules are tested below. */
  facts = nl_kvm_facts_read (f->root, FALSE);
  facts->device_access = facts->device;
  options.facts = facts;
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
  assert_contains (libvirt->fix, "software emulation by itself");
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
  g_autofree char *json = nl_host_check_to_json (f->checks, NULL);
  ck_assert (nl_test_golden ("host/no-kvm.json", json));
}
END_TEST

/* ---- the decision of KVM or emulation -------------------------------- */

/* A host tree in a temporary folder. This process's user plays root and its
 * group plays DEVICE_GROUP ("kvm" or "root"): the group /dev/kvm has. */
typedef struct {
  char *root;
} Tree;

static void
rm_rf (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        rm_rf (child);
      else
        g_unlink (child);
    }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (path);
}

static void
tree_free (Tree *t)
{
  rm_rf (t->root);
  g_free (t->root);
  g_free (t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Tree, tree_free)

static void
tree_write (const Tree *t, const char *rel, const char *text)
{
  g_autofree char *path = g_build_filename (t->root, rel, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  ck_assert_int_eq (g_mkdir_with_parents (dir, 0755), 0);
  ck_assert (g_file_set_contents (path, text, -1, NULL));
}

/* FLAGS: the CPU's flags; KVM_MODE: /dev/kvm's mode, or 0 for none;
 * DEVICE_GROUP: the name of /dev/kvm's group; QEMU_PRIMARY: the name of
 * libvirt-qemu's primary group; KVM_MEMBERS: the kvm group's member list. */
static Tree *
tree_new (const char *flags, guint kvm_mode, const char *device_group,
          const char *qemu_primary, const char *kvm_members)
{
  Tree *t = g_new0 (Tree, 1);
  guint me = getgid ();
  gboolean dev_is_kvm = g_str_equal (device_group, "kvm");
  guint kvm_gid = dev_is_kvm ? me : 64100;
  guint root_gid = dev_is_kvm ? 64101 : me;
  guint primary = g_str_equal (qemu_primary, "kvm") ? kvm_gid
                  : g_str_equal (qemu_primary, "root") ? root_gid : 64055;
  g_autofree char *cpuinfo = g_strdup_printf (
    "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\nflags\t\t: fpu "
    "hypervisor %s\n\nprocessor\t: 1\nflags\t\t: fpu vmx\n", flags);
  g_autofree char *passwd = g_strdup_printf (
    "root:x:%u:%u:root:/root:/bin/sh\nlibvirt-qemu:x:64055:%u:Libvirt Qemu:/var/lib/libvirt:"
    "/usr/sbin/nologin\n", getuid (), root_gid, primary);
  g_autofree char *group = g_strdup_printf (
    "root:x:%u:\nkvm:x:%u:%s\nlibvirt-qemu:x:64055:libvirt-qemu\n", root_gid, kvm_gid,
    kvm_members);

  t->root = g_dir_make_tmp ("nl-host-XXXXXX", NULL);
  ck_assert (t->root != NULL);
  tree_write (t, "proc/cpuinfo", cpuinfo);
  tree_write (t, "etc/passwd", passwd);
  tree_write (t, "etc/group", group);
  if (kvm_mode != 0)
    {
      g_autofree char *dev = g_build_filename (t->root, "dev/kvm", NULL);
      tree_write (t, "dev/kvm", "");
      ck_assert_int_eq (g_chmod (dev, (int) kvm_mode), 0);
    }
  return t;
}

static NlAccel *
decide (const Tree *t, gboolean kvm_offered, NlAccelMode mode, GError **error)
{
  g_autoptr (NlKvmFacts) facts = nl_kvm_facts_read (t->root, FALSE);
  return nl_accel_decide (facts, kvm_offered, mode, error);
}

START_TEST (kvm_without_vmx_on_a_root_only_device_means_emulation_for_both_reasons)
{
  /* Today's machines: kvm_pvm gives /dev/kvm root:root 0600 on a CPU without
   * vmx or svm, and libvirt still offers kvm. */
  g_autoptr (Tree) t = tree_new ("sse2", 0600, "root", "kvm", "");
  g_autoptr (NlKvmFacts) facts = nl_kvm_facts_read (t->root, FALSE);
  g_autoptr (NlAccel) accel = nl_accel_decide (facts, TRUE, NL_ACCEL_AUTO, NULL);
  g_autoptr (NlAccel) forced = NULL;
  g_autoptr (GError) error = NULL;

  ck_assert (facts->cpu_known && !facts->hw_virt);
  ck_assert (facts->device && !facts->device_access);
  ck_assert_str_eq (facts->device_owner, "root:root 0600");
  ck_assert_str_eq (facts->qemu_user, "libvirt-qemu");
  ck_assert_str_eq (facts->qemu_group, "kvm");
  ck_assert (accel != NULL && !accel->kvm);
  assert_contains (accel->reason, "software emulation (domain type qemu)");
  assert_contains (accel->reason, "neither vmx nor svm (/proc/cpuinfo)");
  assert_contains (accel->reason, "QEMU runs as libvirt-qemu:kvm");
  assert_contains (accel->reason, "cannot open /dev/kvm (root:root 0600)");
  forced = decide (t, TRUE, NL_ACCEL_KVM, &error);
  ck_assert (forced == NULL);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_UNSUPPORTED));
  assert_contains (error->message, "--kvm cannot work here");
  assert_contains (error->message, "cannot open /dev/kvm");
}
END_TEST

START_TEST (kvm_without_vmx_on_an_open_device_still_emulates_and_kvm_forces_with_a_warning)
{
  g_autoptr (Tree) t = tree_new ("sse2 svm_lock", 0660, "kvm", "kvm", "");
  g_autoptr (NlAccel) accel = decide (t, TRUE, NL_ACCEL_AUTO, NULL);
  g_autoptr (NlAccel) forced = decide (t, TRUE, NL_ACCEL_KVM, NULL);

  ck_assert (!accel->kvm);
  assert_contains (accel->reason, "neither vmx nor svm");
  assert_contains (accel->reason, "--kvm overrides");
  ck_assert (strstr (accel->reason, "cannot open") == NULL);
  ck_assert (forced != NULL && forced->kvm);
  ck_assert_int_eq (forced->mode, NL_ACCEL_KVM);
  assert_contains (forced->warning, "only guests built for this KVM will boot");
}
END_TEST

START_TEST (vmx_and_a_device_in_the_qemu_users_group_mean_kvm)
{
  g_autoptr (Tree) t = tree_new ("vmx sse2", 0660, "kvm", "kvm", "");
  g_autoptr (NlKvmFacts) facts = nl_kvm_facts_read (t->root, FALSE);
  g_autoptr (NlAccel) accel = nl_accel_decide (facts, TRUE, NL_ACCEL_AUTO, NULL);
  g_autoptr (NlAccel) no_offer = nl_accel_decide (facts, FALSE, NL_ACCEL_AUTO, NULL);
  g_autoptr (NlAccel) emulated = nl_accel_decide (facts, TRUE, NL_ACCEL_EMULATE, NULL);

  ck_assert (facts->hw_virt && facts->device_access);
  ck_assert_str_eq (facts->device_owner, "root:kvm 0660");
  ck_assert (accel->kvm);
  ck_assert (accel->warning == NULL);
  assert_contains (accel->reason, "KVM (domain type kvm)");
  assert_contains (accel->reason, "/dev/kvm opens for QEMU's libvirt-qemu:kvm");
  /* libvirt has the last word. */
  ck_assert (!no_offer->kvm);
  assert_contains (no_offer->reason, "libvirt offers no 'kvm' domain type");
  ck_assert (!emulated->kvm);
  assert_contains (emulated->reason, "--emulate given");
}
END_TEST

START_TEST (a_supplementary_group_opens_the_device_as_libvirt_gives_it_to_qemu)
{
  g_autoptr (Tree) member = tree_new ("vmx", 0660, "kvm", "other", "someone,libvirt-qemu");
  g_autoptr (Tree) stranger = tree_new ("vmx", 0660, "kvm", "other", "someone");
  g_autoptr (NlKvmFacts) yes = NULL;
  g_autoptr (NlKvmFacts) no = NULL;
  const char *conf = "user = \"libvirt-qemu\"\ngroup = \"libvirt-qemu\"\n";

  /* Not the kvm group itself, which would open the device anyway. */
  tree_write (member, "etc/libvirt/qemu.conf", conf);
  tree_write (stranger, "etc/libvirt/qemu.conf", conf);
  yes = nl_kvm_facts_read (member->root, FALSE);
  no = nl_kvm_facts_read (stranger->root, FALSE);
  ck_assert (yes->device_access);
  ck_assert (!no->device_access);
}
END_TEST

START_TEST (qemu_conf_names_the_user_and_group_qemu_runs_as)
{
  g_autoptr (Tree) t = tree_new ("vmx", 0660, "kvm", "kvm", "");
  g_autoptr (NlKvmFacts) facts = NULL;
  g_autoptr (NlAccel) accel = NULL;

  tree_write (t, "etc/libvirt/qemu.conf",
              "# user = \"root\"\nuser = \"libvirt-qemu\"\ngroup = \"+4243\"\n"
              "user = \"+4242\" # the last one wins\n");
  facts = nl_kvm_facts_read (t->root, FALSE);
  ck_assert_str_eq (facts->qemu_user, "+4242");
  ck_assert_str_eq (facts->qemu_group, "+4243");
  ck_assert (!facts->device_access);
  accel = nl_accel_decide (facts, TRUE, NL_ACCEL_AUTO, NULL);
  ck_assert (!accel->kvm);
  assert_contains (accel->reason, "QEMU runs as +4242:+4243 (/etc/libvirt/qemu.conf)");
}
END_TEST

START_TEST (no_device_means_emulation_and_kvm_is_refused)
{
  g_autoptr (Tree) t = tree_new ("vmx", 0, "kvm", "kvm", "");
  g_autoptr (NlAccel) accel = decide (t, FALSE, NL_ACCEL_AUTO, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NlAccel) forced = decide (t, FALSE, NL_ACCEL_KVM, &error);

  ck_assert (!accel->kvm);
  assert_contains (accel->reason, "/dev/kvm does not exist");
  ck_assert (forced == NULL);
  assert_contains (error->message, "/dev/kvm does not exist");
}
END_TEST

START_TEST (the_decision_as_json)
{
  g_autoptr (Tree) t = tree_new ("sse2", 0660, "kvm", "kvm", "");
  g_autoptr (NlAccel) forced = decide (t, TRUE, NL_ACCEL_KVM, NULL);
  g_autoptr (GString) out = g_string_new (NULL);

  nl_accel_append_json (out, forced);
  assert_contains (out->str, "{\"domain_type\": \"kvm\", \"mode\": \"kvm\", \"reason\": "
                             "\"KVM (domain type kvm): --kvm given\", \"warning\": \"--kvm: "
                             "the CPU offers neither vmx nor svm");
}
END_TEST

START_TEST (host_check_judges_the_device_as_qemus_user_and_names_kvm_without_hardware)
{
  g_autoptr (Tree) t = tree_new ("sse2", 0600, "root", "kvm", "");
  g_autoptr (GPtrArray) checks = NULL;
  NlHostCheckOptions options = { 0 };
  g_autofree char *pvm = g_build_filename (t->root, "sys/module/kvm_pvm", NULL);
  const NlHostCheck *dev = NULL;
  const NlHostCheck *hw = NULL;

  ck_assert_int_eq (g_mkdir_with_parents (pvm, 0755), 0);
  options.root = t->root;
  options.kvm_caps_error = "no caps in this test";
  checks = nl_host_check_run (&options);
  for (guint i = 0; i < checks->len; i++)
    {
      const NlHostCheck *c = g_ptr_array_index (checks, i);
      if (g_str_equal (c->id, "kvm-device"))
        dev = c;
      else if (g_str_equal (c->id, "kvm-hardware"))
        hw = c;
    }
  ck_assert (dev != NULL && hw != NULL);
  ck_assert_int_eq (dev->status, NL_HOST_STATUS_FAIL);
  assert_contains (dev->message, "/dev/kvm is root:root 0600: QEMU runs as libvirt-qemu:kvm");
  assert_contains (dev->fix, "chgrp kvm /dev/kvm && chmod 0660 /dev/kvm");
  ck_assert_int_eq (hw->status, NL_HOST_STATUS_FAIL);
  assert_contains (hw->message, "KVM without hardware virtualization: ordinary guests cannot run");
  assert_contains (hw->message, "kvm_pvm");
  assert_contains (hw->fix, "software emulation here by itself");
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
  suite_add_tcase (s, tc);

  tc = tcase_create ("accel");
  tcase_add_test (tc, kvm_without_vmx_on_a_root_only_device_means_emulation_for_both_reasons);
  tcase_add_test (tc, kvm_without_vmx_on_an_open_device_still_emulates_and_kvm_forces_with_a_warning);
  tcase_add_test (tc, vmx_and_a_device_in_the_qemu_users_group_mean_kvm);
  tcase_add_test (tc, a_supplementary_group_opens_the_device_as_libvirt_gives_it_to_qemu);
  tcase_add_test (tc, qemu_conf_names_the_user_and_group_qemu_runs_as);
  tcase_add_test (tc, no_device_means_emulation_and_kvm_is_refused);
  tcase_add_test (tc, the_decision_as_json);
  tcase_add_test (tc, host_check_judges_the_device_as_qemus_user_and_names_kvm_without_hardware);
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (host_suite)
