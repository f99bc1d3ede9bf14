/* nestlab host check [--json]: can this host run Hyper-V or KVM inside its
 * VMs? Prints every check, and for each failure why and how to fix it.
 * Exit 0 when ready, 1 when not. */
#include <stdio.h>
#include <string.h>

#include <nestlab/error.h>
#include <nestlab/host.h>
#include <nestlab/virt.h>
#include <nestlab/virt-nested.h>
#include "cli.h"

static const char *
label (NlHostStatus status)
{
  switch (status)
    {
    case NL_HOST_STATUS_OK:
      return "ok";
    case NL_HOST_STATUS_INFO:
      return "info";
    case NL_HOST_STATUS_WARN:
      return "WARN";
    case NL_HOST_STATUS_FAIL:
    case NL_HOST_STATUS_LAST:
    default:
      return "FAIL";
    }
}

static void
print_text (const GPtrArray *checks, const NlAccel *accel, const char *uri)
{
  guint failed = 0;
  guint warned = 0;
  gboolean emulation = FALSE;

  printf ("Can this host run hypervisors (Hyper-V, KVM) inside its VMs? (libvirt: %s)\n\n",
          uri ? uri : "default URI");
  for (guint i = 0; i < checks->len; i++)
    {
      const NlHostCheck *c = g_ptr_array_index (checks, i);
      printf ("  %-4s  %-18s %s\n", label (c->status), c->id, c->message);
      if (c->fix != NULL && c->status != NL_HOST_STATUS_OK)
        printf ("  %-4s  %-18s fix: %s\n", "", "", c->fix);
      if (c->status == NL_HOST_STATUS_FAIL)
        failed++;
      else if (c->status == NL_HOST_STATUS_WARN)
        warned++;
      else if (c->status == NL_HOST_STATUS_INFO && g_str_equal (c->id, "emulation")
               && c->fix == NULL)
        emulation = TRUE;
    }
  printf ("\n");
  if (accel != NULL)
    nl_cli_print_accel (accel);
  if (failed == 0)
    {
      printf ("Ready: this host can run nested hypervisors");
      if (warned > 0)
        printf (" (%u warning%s above)", warned, warned == 1 ? "" : "s");
      printf (".\n");
      return;
    }
  printf ("Not ready: %u check%s failed; this host cannot run hypervisors inside its VMs.\n",
          failed, failed == 1 ? "" : "s");
  if (emulation)
    printf ("Only software emulation works here: up and nested enable choose it by "
            "themselves (QEMU TCG, slow, for testing only).\n");
}

typedef struct {
  gboolean json;
  char *root;
} HostCheckOptions;

const NlCliOption nl_host_check_options[] = {
  NL_CLI_FLAG (HostCheckOptions, json, "json", 0, "Print the checks as JSON"),
  /* For tests and for checking a mounted system image. */
  { "root", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME,
    NL_CLI_FIELD (HostCheckOptions, root, char *), "Read /proc, /sys, /dev and /usr under ROOT", "ROOT" },
  NL_CLI_OPTION_END,
};

int
nl_cmd_host_check (NlCli *cli, int argc, char **argv, GError **error)
{
  HostCheckOptions opts = { 0 };
  const char *root;
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (GError) conn_error = NULL;
  g_autoptr (GError) kvm_error = NULL;
  g_autoptr (GError) qemu_error = NULL;
  g_autofree char *kvm_caps = NULL;
  g_autofree char *qemu_caps = NULL;
  g_autoptr (GPtrArray) checks = NULL;
  g_autoptr (NlKvmFacts) facts = NULL;
  g_autoptr (NlAccel) accel = NULL;
  NlHostCheckOptions options = { 0 };

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  root = opts.root;

  conn = nl_virt_connect (cli->uri, &conn_error);
  if (conn != NULL)
    {
      kvm_caps = nl_virt_domain_caps (conn, "kvm", &kvm_error);
      qemu_caps = nl_virt_domain_caps (conn, "qemu", &qemu_error);
    }
  /* The same decision up makes; under --root, on the fixture's files. */
  if (root != NULL)
    {
      facts = nl_kvm_facts_read (root, FALSE);
      accel = nl_accel_decide (facts, kvm_caps != NULL, NL_ACCEL_AUTO, NULL);
    }
  else if (conn != NULL)
    accel = nl_virt_accel_decide (conn, NL_ACCEL_AUTO, &facts, NULL);
  options.root = root;
  options.kvm_caps_xml = kvm_caps;
  options.kvm_caps_error = conn_error ? conn_error->message
                           : kvm_error ? kvm_error->message : NULL;
  options.qemu_caps_xml = qemu_caps;
  options.qemu_caps_error = conn_error ? conn_error->message
                            : qemu_error ? qemu_error->message : NULL;
  /* A remote host's facts are libvirt's guesses: the checks read the files. */
  options.facts = facts != NULL && facts->device_known ? facts : NULL;
  checks = nl_host_check_run (&options);

  if (opts.json)
    {
      g_autofree char *text = nl_host_check_to_json (checks, accel);
      fputs (text, stdout);
    }
  else
    print_text (checks, accel, cli->uri);
  return nl_host_check_ready (checks) ? 0 : 1;
}
