/* nestlab nested enable|disable|status: make any libvirt domain able to run a
 * hypervisor inside it (libvirt's Enable-NestedVm.ps1), undo that, and report
 * readiness (Get-NestedVirtStatus.ps1). The XML rules are the nested
 * module's; this file asks, prints and maps results to exit statuses. */
#include <stdio.h>
#include <string.h>

#include <nestlab/error.h>
#include <nestlab/host.h>
#include <nestlab/json.h>
#include <nestlab/model.h>
#include <nestlab/nested.h>
#include <nestlab/virt.h>
#include <nestlab/virt-nested.h>
#include "cli.h"

#define NL_NESTED_SHUTDOWN_TIMEOUT 60

static void
print_progress (const char *line, gpointer data)
{
  (void) data;
  printf ("%s\n", line);
  fflush (stdout);
}

static gboolean
parse_memory (const char *text, guint64 *bytes, GError **error)
{
  if (text == NULL)
    {
      *bytes = NL_NESTED_MIN_MEMORY;
      return TRUE;
    }
  if (!nl_parse_size (text, bytes, error))
    {
      g_prefix_error (error, "--memory: ");
      return FALSE;
    }
  if (*bytes < (G_GUINT64_CONSTANT (64) << 20))
    {
      nl_cli_usage_error (error, "--memory '%s': expected at least 64 MiB, the least any "
                          "hypervisor needs", text);
      return FALSE;
    }
  return TRUE;
}

/* The host's decision of KVM or emulation (nl_virt_accel_decide), said
 * before anything else: a nested hypervisor under emulation is slow. */
static gboolean
decide_accel (NlVirtConn *conn, NlNestedOptions *options, NlAccelMode mode, GError **error)
{
  g_autoptr (NlAccel) accel = nl_virt_accel_decide (conn, mode, NULL, error);

  if (accel == NULL)
    return FALSE;
  options->emulate = !accel->kvm;
  nl_cli_print_accel (accel);
  return TRUE;
}

/* The options of enable; disable has the ones that make sense for it. */
typedef struct {
  char *memory;
  gboolean force;
  gboolean yes;
  gboolean dry_run;
  gboolean emulate;
  gboolean kvm;
  gint timeout;
} NestedOptions;

#define NESTED_CHANGE_OPTIONS \
  NL_CLI_FLAG (NestedOptions, force, "force", 0, \
               "Shut a running domain down (gracefully, then power off)"), \
  NL_CLI_FLAG (NestedOptions, yes, "yes", 'y', "Apply without asking"), \
  NL_CLI_FLAG (NestedOptions, dry_run, "dry-run", 'n', "Print the changes only")
#define NESTED_TIMEOUT_OPTION \
  NL_CLI_INT (NestedOptions, timeout, "timeout", 0, \
              "Seconds to wait for a graceful shutdown before powering off (default 60)", "SECONDS")

const NlCliOption nl_nested_enable_options[] = {
  NL_CLI_STRING (NestedOptions, memory, "memory", 0,
                 "Minimum memory to give the domain (default 4GiB; raised, never lowered)", "SIZE"),
  NESTED_CHANGE_OPTIONS,
  NL_CLI_FLAG (NestedOptions, emulate, "emulate", 0,
               "QEMU software emulation, CPU mode maximum, whatever the host offers (slow, for "
               "testing only; automatic where KVM cannot run guests)"),
  NL_CLI_FLAG (NestedOptions, kvm, "kvm", 0,
               "KVM even where the host check advises emulation (refused when KVM cannot work)"),
  NESTED_TIMEOUT_OPTION,
  NL_CLI_OPTION_END,
};

const NlCliOption nl_nested_disable_options[] = {
  NESTED_CHANGE_OPTIONS,
  NESTED_TIMEOUT_OPTION,
  NL_CLI_OPTION_END,
};

/* Shared by enable and disable: plan, print, ask, apply. */
static int
change_domain (NlCli *cli, NlNestedAction action, const char *name, NlNestedOptions *options,
               NlAccelMode mode, const NestedOptions *opts, GError **error)
{
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlNestedPlan) plan = NULL;
  const char *verb = action == NL_NESTED_ACTION_ENABLE ? "enable" : "disable";

  if ((conn = nl_virt_connect (cli->uri, error)) == NULL)
    return -1;
  if (action == NL_NESTED_ACTION_ENABLE && !decide_accel (conn, options, mode, error))
    return -1;
  plan = nl_virt_nested_plan (conn, name, action, options, error);
  if (plan == NULL)
    return -1;

  if (plan->new_xml == NULL)
    {
      if (action == NL_NESTED_ACTION_ENABLE)
        printf ("Domain '%s' is already set up for nesting: nothing to change.\n", name);
      else
        printf ("Domain '%s' does not expose virtualization extensions: nothing to change.\n",
                name);
      return 0;
    }

  printf ("Domain '%s' (%s): %s\n", name, plan->running ? "running" : "shut off",
          action == NL_NESTED_ACTION_ENABLE ? "changes to make it nested-ready:"
                                            : "changes to hide virtualization extensions:");
  for (guint i = 0; i < plan->changes->len; i++)
    printf ("  - %s\n", (const char *) g_ptr_array_index (plan->changes, i));
  if (plan->options.emulate && action == NL_NESTED_ACTION_ENABLE)
    printf ("Emulation mode: QEMU software emulation (TCG), CPU mode maximum: slow, for "
            "testing only.\n");
  if (plan->options.windows)
    printf ("Windows guest: Hyper-V enlightenments are made nested-safe.\n");
  if (action == NL_NESTED_ACTION_ENABLE && plan->options.min_memory < NL_NESTED_MIN_MEMORY)
    {
      g_autofree char *min = nl_format_size (plan->options.min_memory);
      fprintf (stderr, "warning: minimum memory %s is below the 4 GiB a nested Hyper-V host "
               "needs (enough for a small KVM guest)\n", min);
    }
  for (guint i = 0; i < plan->warnings->len; i++)
    fprintf (stderr, "warning: %s\n", (const char *) g_ptr_array_index (plan->warnings, i));

  if (opts->dry_run)
    {
      if (plan->running && !opts->force)
        printf ("It is running: `nested %s` will refuse without --force (which shuts it "
                "down).\n", verb);
      printf ("Dry run: nothing changed.\n");
      return 0;
    }
  if (plan->running && !opts->force)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED,
                   "domain '%s' is running: shut it down first, or pass --force to shut it "
                   "down (gracefully, then powered off after %d s); nothing changed",
                   name, opts->timeout);
      return -1;
    }
  if (!opts->yes)
    {
      g_autofree char *question = g_strdup_printf ("Apply these changes to '%s'%s?", name,
                                                   plan->running ? " (it will be shut down)" : "");
      if (!nl_cli_confirm (question, "apply these changes", error))
        return -1;
    }
  if (!nl_virt_nested_apply (conn, plan, opts->force, (guint) opts->timeout, print_progress, NULL,
                             error))
    return -1;
  if (action == NL_NESTED_ACTION_ENABLE)
    printf ("Domain '%s' is nested-ready%s. It was not started: virsh start %s\n", name,
            plan->options.emulate ? " (emulated: slow, for testing only)" : "", name);
  else
    printf ("Domain '%s' no longer exposes virtualization extensions (memory left as it "
            "is). It was not started: virsh start %s\n", name, name);
  return 0;
}

int
nl_cmd_nested_enable (NlCli *cli, int argc, char **argv, GError **error)
{
  NestedOptions opts = { .timeout = NL_NESTED_SHUTDOWN_TIMEOUT };
  NlAccelMode mode = NL_ACCEL_AUTO;
  NlNestedOptions options = { 0 };

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  if (!parse_memory (opts.memory, &options.min_memory, error))
    return -1;
  if (!nl_cli_accel_mode (opts.kvm, opts.emulate, &mode, error))
    return -1;
  options.vendor = nl_host_cpu_vendor (NULL);
  return change_domain (cli, NL_NESTED_ACTION_ENABLE, argv[1], &options, mode, &opts, error);
}

int
nl_cmd_nested_disable (NlCli *cli, int argc, char **argv, GError **error)
{
  NestedOptions opts = { .timeout = NL_NESTED_SHUTDOWN_TIMEOUT };
  NlNestedOptions options = { 0 };

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  options.vendor = nl_host_cpu_vendor (NULL);
  return change_domain (cli, NL_NESTED_ACTION_DISABLE, argv[1], &options, NL_ACCEL_AUTO, &opts,
                        error);
}

static void
print_status_json (const GPtrArray *list)
{
  GString *out = g_string_new ("{\n  \"domains\": [");

  for (guint i = 0; i < list->len; i++)
    {
      const NlNestedStatus *s = g_ptr_array_index (list, i);
      g_string_append (out, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
      nl_json_append_string (out, s->name);
      g_string_append_printf (out, ", \"active\": %s, \"ready\": %s, \"emulated\": %s, "
                              "\"windows\": %s, \"reasons\": [",
                              s->active ? "true" : "false", s->ready ? "true" : "false",
                              s->emulated ? "true" : "false", s->windows ? "true" : "false");
      for (guint r = 0; r < s->reasons->len; r++)
        {
          if (r > 0)
            g_string_append (out, ", ");
          nl_json_append_string (out, g_ptr_array_index (s->reasons, r));
        }
      g_string_append (out, "]}");
    }
  g_string_append (out, list->len ? "\n  ]\n}\n" : "]\n}\n");
  fputs (out->str, stdout);
  g_string_free (out, TRUE);
}

static void
print_status_text (const GPtrArray *list)
{
  if (list->len == 0)
    printf ("No domains.\n");
  for (guint i = 0; i < list->len; i++)
    {
      const NlNestedStatus *s = g_ptr_array_index (list, i);
      printf ("%s: nested-ready: %s (%s%s%s)\n", s->name, s->ready ? "yes" : "no",
              s->active ? "running" : "shut off",
              s->emulated ? "; emulated: QEMU software emulation, slow, for testing only" : "",
              s->windows ? "; Windows" : "");
      for (guint r = 0; r < s->reasons->len; r++)
        printf ("  - %s\n", (const char *) g_ptr_array_index (s->reasons, r));
    }
}

typedef struct {
  gboolean all;
  gboolean json;
  char *memory;
} NestedStatusOptions;

const NlCliOption nl_nested_status_options[] = {
  NL_CLI_FLAG (NestedStatusOptions, all, "all", 'a', "Every domain on the connection"),
  NL_CLI_FLAG (NestedStatusOptions, json, "json", 0, "Print JSON"),
  NL_CLI_STRING (NestedStatusOptions, memory, "memory", 0,
                 "The minimum memory to expect (default 4GiB, as `nested enable`)", "SIZE"),
  NL_CLI_OPTION_END,
};

int
nl_cmd_nested_status (NlCli *cli, int argc, char **argv, GError **error)
{
  NestedStatusOptions opts = { 0 };
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (GPtrArray) list = NULL;
  NlNestedOptions options = { 0 };

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  if ((opts.all && argc != 1) || (!opts.all && argc != 2))
    {
      nl_cli_usage_error (error, "expected one DOMAIN, or --all");
      return -1;
    }
  if (!parse_memory (opts.memory, &options.min_memory, error))
    return -1;
  options.vendor = nl_host_cpu_vendor (NULL);
  if ((conn = nl_virt_connect (cli->uri, error)) == NULL)
    return -1;
  list = nl_virt_nested_status (conn, opts.all ? NULL : argv[1], &options, error);
  if (list == NULL)
    return -1;
  if (opts.json)
    print_status_json (list);
  else
    print_status_text (list);
  for (guint i = 0; i < list->len; i++)
    if (!((const NlNestedStatus *) g_ptr_array_index (list, i))->ready)
      return 1;
  return 0;
}
