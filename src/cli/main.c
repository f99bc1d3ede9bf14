/* nestlab's entry point: global options, dispatch through the command table,
 * and the one place where error codes become exit statuses. */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nestlab/error.h>
#include "cli.h"
#include "nl-config.h"
#include "options.h"

static int nl_cmd_help (NlCli *cli, int argc, char **argv, GError **error);

const NlCommand nl_commands[] = {
  { "validate", "FILE...", "Check lab templates and report every error",
    nl_cmd_validate, nl_validate_options, NL_CLI_ARG_TEMPLATE, 1, -1 },
  { "render", "FILE", "Print (or write) the libvirt XML a lab template makes",
    nl_cmd_render, nl_render_options, NL_CLI_ARG_TEMPLATE, 1, 1 },
  { "up", "TEMPLATE", "Create or update a lab and start its machines in order",
    nl_cmd_up, nl_up_options, NL_CLI_ARG_TEMPLATE, 1, 1 },
  { "provision", "TEMPLATE [MACHINE]", "Run a lab's provisioning steps that are not done (or again, --from)",
    nl_cmd_provision, nl_provision_options, NL_CLI_ARG_TEMPLATE, 1, 2 },
  { "status", "[LAB]", "Show every lab (or one): machines, state, addresses, checkpoints, patches",
    nl_cmd_status, nl_status_options, NL_CLI_ARG_LAB, 0, 1 },
  { "down", "LAB", "Shut a lab's machines down in reverse start order",
    nl_cmd_down, nl_down_options, NL_CLI_ARG_LAB, 1, 1 },
  { "destroy", "LAB", "Remove exactly what a lab owns",
    nl_cmd_destroy, nl_destroy_options, NL_CLI_ARG_LAB, 1, 1 },
  { "rebuild", "TEMPLATE", "Destroy a lab and bring it up again",
    nl_cmd_rebuild, nl_rebuild_options, NL_CLI_ARG_TEMPLATE, 1, 1 },
  /* LAB NAME, or LAB with --list or --delete: the handler checks which. */
  { "checkpoint", "LAB NAME|--list|--delete NAME", "Checkpoint a whole lab (domain controllers last)",
    nl_cmd_checkpoint, nl_checkpoint_options, NL_CLI_ARG_LAB, 1, 2 },
  { "revert", "LAB NAME", "Revert a whole lab to a checkpoint (domain controllers first)",
    nl_cmd_revert, NULL, NL_CLI_ARG_LAB, 2, 2 },
  { "host check", "[--json]", "Say whether this host can run hypervisors inside its VMs",
    nl_cmd_host_check, nl_host_check_options, NL_CLI_ARG_NONE, 0, 0 },
  { "nested enable", "DOMAIN", "Make a libvirt domain able to run a hypervisor inside it",
    nl_cmd_nested_enable, nl_nested_enable_options, NL_CLI_ARG_DOMAIN, 1, 1 },
  { "nested disable", "DOMAIN", "Hide the virtualization extensions from a domain again",
    nl_cmd_nested_disable, nl_nested_disable_options, NL_CLI_ARG_DOMAIN, 1, 1 },
  /* DOMAIN, or none with --all: the handler checks which. */
  { "nested status", "DOMAIN|--all", "Whether domains are nested-ready, and every reason not",
    nl_cmd_nested_status, nl_nested_status_options, NL_CLI_ARG_DOMAIN, 0, 1 },
  { "rollout plan", "FILE", "Show what a rollout plan will do, in order, with its window times",
    nl_cmd_rollout_plan, nl_rollout_plan_options, NL_CLI_ARG_PLAN, 1, 1 },
  { "rollout run", "FILE", "Run a rollout: replica first, then production ring by ring",
    nl_cmd_rollout_run, nl_rollout_run_options, NL_CLI_ARG_PLAN, 1, 1 },
  { "rollout status", "[ID] [--json]", "List rollouts, or report one per machine and ring",
    nl_cmd_rollout_status, nl_rollout_status_options, NL_CLI_ARG_ROLLOUT, 0, 1 },
  { "rollout resume", "ID", "Continue an interrupted or waiting rollout",
    nl_cmd_rollout_resume, nl_rollout_resume_options, NL_CLI_ARG_ROLLOUT, 1, 1 },
  { "rollout abort", "ID", "Stop a rollout before its next machine",
    nl_cmd_rollout_abort, NULL, NL_CLI_ARG_ROLLOUT, 1, 1 },
  { "image import", "FILE", "Import a disk (VHD, VHDX, VMDK, qcow2, raw) as a golden image",
    nl_cmd_image_import, nl_image_import_options, NL_CLI_ARG_NONE, 1, 1 },
  { "image list", "[--json]", "List the golden images nestlab knows",
    nl_cmd_image_list, nl_image_list_options, NL_CLI_ARG_NONE, 0, 0 },
  { "image remove", "NAME", "Remove a golden image no lab uses",
    nl_cmd_image_remove, NULL, NL_CLI_ARG_NONE, 1, 1 },
  { "image build", "--iso FILE --os ID [--edition NAME] [--drivers FILE] [--name NAME]",
    "Install Windows from its media into a new golden image, unattended",
    nl_cmd_image_build, nl_image_build_options, NL_CLI_ARG_NONE, 0, 0 },
  { "secret show", "LAB NAME", "Print a secret nestlab generated and keeps for a lab",
    nl_cmd_secret_show, NULL, NL_CLI_ARG_LAB, 2, 2 },
  { "help", "[COMMAND]", "Show help for nestlab or one command",
    nl_cmd_help, NULL, NL_CLI_ARG_COMMAND, 0, 2 },
  /* Hidden: what shell completion asks (cmd-complete.c). */
  { "_complete", "WHAT [COMMAND]", "Words for shell completion",
    nl_cmd_complete, NULL, NL_CLI_ARG_NONE, 1, 3 },
  { NULL, NULL, NULL, NULL, NULL, NL_CLI_ARG_NONE, 0, 0 },
};

/* Exit statuses: 0 success, 1 operation failed, 2 bad usage or invalid input. */
static int
exit_status_for (const GError *error)
{
  if (error->domain == G_OPTION_ERROR)
    return 2;
  if (error->domain == NL_ERROR
      && (error->code == NL_ERROR_INVALID || error->code == NL_ERROR_USAGE))
    return 2;
  return 1;
}

const NlCommand *
nl_cli_find_command (int argc, char **argv, int *words)
{
  /* Two-word commands ("host check") win over one-word ones. */
  if (argc >= 2)
    {
      g_autofree char *two = g_strdup_printf ("%s %s", argv[0], argv[1]);
      for (const NlCommand *c = nl_commands; c->name; c++)
        if (strcmp (c->name, two) == 0)
          {
            *words = 2;
            return c;
          }
    }
  for (const NlCommand *c = nl_commands; c->name; c++)
    if (strcmp (c->name, argv[0]) == 0)
      {
        *words = 1;
        return c;
      }
  return NULL;
}

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: nestlab [-c URI] [--debug] COMMAND [ARGS...]\n\n"
           "Build nested Windows/Hyper-V labs on libvirt and rehearse patches on them.\n\n"
           "Commands:\n");
  for (const NlCommand *c = nl_commands; c->name; c++)
    {
      g_autofree char *left = NULL;
      if (c->name[0] == '_')
        continue;
      left = g_strdup_printf ("%s %s", c->name, c->params);
      /* A long synopsis gets its summary on the next line. */
      if (strlen (left) > 36)
        fprintf (out, "  %s\n  %-36s %s\n", left, "", c->summary);
      else
        fprintf (out, "  %-36s %s\n", left, c->summary);
    }
  fprintf (out,
           "\nGlobal options:\n"
           "  -c, --connect URI   libvirt connection URI (default: $LIBVIRT_DEFAULT_URI)\n"
           "  --debug             print debug messages\n"
           "  --version           print the version\n"
           "\nExit status: 0 success, 1 operation failed, 2 bad usage or invalid input.\n");
}

static int
nl_cmd_help (NlCli *cli, int argc, char **argv, GError **error)
{
  const NlCommand *cmd;
  int words = 0;

  if (!nl_cli_parse (cli, NULL, &argc, &argv, error))
    return -1;
  if (argc < 2)
    {
      print_usage (stdout);
      return 0;
    }
  cmd = nl_cli_find_command (argc - 1, argv + 1, &words);
  if (cmd == NULL || cmd->run == nl_cmd_help || cmd->name[0] == '_' || words != argc - 1)
    {
      g_autofree char *name = g_strjoinv (" ", argv + 1);
      nl_cli_usage_error (error, "unknown command '%s' (see 'nestlab help')", name);
      return -1;
    }
  /* The same text as COMMAND --help. */
  {
    g_autoptr (GOptionContext) ctx = nl_cli_option_context (cmd, NULL, NULL);
    g_autofree char *text = g_option_context_get_help (ctx, TRUE, NULL);
    fputs (text, stdout);
  }
  return 0;
}

gboolean
nl_cli_accel_mode (gboolean kvm, gboolean emulate, NlAccelMode *mode, GError **error)
{
  if (kvm && emulate)
    {
      nl_cli_usage_error (error, "--kvm and --emulate contradict each other: give one, or "
                          "neither to let the host decide");
      return FALSE;
    }
  *mode = kvm ? NL_ACCEL_KVM : emulate ? NL_ACCEL_EMULATE : NL_ACCEL_AUTO;
  return TRUE;
}

void
nl_cli_print_accel (const NlAccel *accel)
{
  printf ("machines: %s\n", accel->reason);
  if (accel->warning)
    fprintf (stderr, "warning: %s\n", accel->warning);
  fflush (stdout);
}

gboolean
nl_cli_confirm (const char *question, const char *what, GError **error)
{
  char answer[16];

  if (!isatty (STDIN_FILENO))
    {
      nl_cli_usage_error (error, "standard input is not a terminal, so nestlab cannot ask: "
                          "pass --yes to %s; nothing changed", what);
      return FALSE;
    }
  fprintf (stderr, "%s [y/N] ", question);
  fflush (stderr);
  if (fgets (answer, sizeof answer, stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CANCELLED, "cancelled: nothing changed");
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  NlCli cli = { 0 };
  g_autoptr (GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  const NlCommand *cmd;
  int words = 0;
  int i = 1;
  int status;

  setlocale (LC_ALL, "");
  /* A connection to libvirtd that drops makes the next write to its socket
   * raise SIGPIPE, which would kill nestlab mid-operation without a word;
   * ignored, the write fails and libvirt reports the lost connection. */
  signal (SIGPIPE, SIG_IGN);
  /* Every command's --help reads "nestlab [OPTION…] COMMAND ARGS". */
  g_set_prgname ("nestlab");
  cli.prog = "nestlab";
  cli.owned = owned;

  /* Global options come before the command. */
  for (; i < argc && argv[i][0] == '-'; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--version") == 0)
        {
          printf ("nestlab %s\n", NL_VERSION);
          return 0;
        }
      else if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0)
        {
          print_usage (stdout);
          return 0;
        }
      else if (strcmp (a, "--debug") == 0)
        cli.debug = TRUE;
      else if ((strcmp (a, "-c") == 0 || strcmp (a, "--connect") == 0) && i + 1 < argc)
        cli.uri = argv[++i];
      else if (g_str_has_prefix (a, "--connect="))
        cli.uri = (char *) a + strlen ("--connect=");
      else
        {
          fprintf (stderr, "nestlab: unknown option '%s' (see 'nestlab help')\n", a);
          print_usage (stderr);
          return 2;
        }
    }
  if (cli.uri == NULL)
    cli.uri = (char *) g_getenv ("LIBVIRT_DEFAULT_URI");
  if (cli.debug)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);

  if (i >= argc)
    {
      print_usage (stderr);
      return 2;
    }
  cmd = nl_cli_find_command (argc - i, argv + i, &words);
  if (cmd == NULL)
    {
      fprintf (stderr, "nestlab: unknown command '%s' (see 'nestlab help')\n", argv[i]);
      return 2;
    }

  /* The handler sees its (possibly two-word) name as argv[0]. */
  {
    int cargc = argc - i - words + 1;
    g_autofree char **cargv = g_new0 (char *, cargc + 1);
    cargv[0] = (char *) cmd->name;
    for (int k = 1; k < cargc; k++)
      cargv[k] = argv[i + words + k - 1];
    cli.cmd = cmd;
    status = cmd->run (&cli, cargc, cargv, &error);
  }
  if (status < 0)
    {
      g_assert (error != NULL);
      fprintf (stderr, "nestlab %s: %s\n", cmd->name, error->message);
      return exit_status_for (error);
    }
  return status;
}
